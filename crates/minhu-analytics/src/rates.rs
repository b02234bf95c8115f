//! Rates, the composite score, rankings and the buck-passing index: one definition of
//! each, used by the dashboard, the public page, the rankings, the alerts and the
//! exports alike (README "Figures" says the same for the people who read them).
//!
//! Every figure counts the tickets received in the period (their cohort: filed under
//! their intake day, see `minhu_core::rollup`), whatever happened to them later, and
//! every rate is a percentage (0 to 100) whose numerator is a subset of its
//! denominator, so none can exceed 100. A rate is `None` where its denominator is zero:
//! a unit with no callbacks has no satisfaction rate, which is not the same as 0%.
//!
//! | rate | numerator / denominator (x 100) |
//! | --- | --- |
//! | answered (答复率) | tickets whose latest state is an answer / tickets received (per ticket) |
//! | response (响应率) | assignments accepted before the response deadline / assignments settled (accepted, returned, passed down, or past the deadline) |
//! | resolution (解决率) | callbacks where the citizen says it is solved / callbacks |
//! | satisfaction (满意率) | callbacks satisfied or basically satisfied / callbacks |
//! | on-time (按期办结率) | replies before the resolution deadline / replies |
//! | reopen (重办率) | replies reopened / replies |
//! | returns (退单率) | assignments returned / assignments |
//! | buck-passing index (推诿指数) | assignments returned or passed down / assignments |
//! | on the spot (即查即办率) | grid workers' reports handled on the spot / grid workers' reports (per ticket) |
//! | found first (主动发现率) | problems first raised by a grid worker or a city system / problems: tickets not merged into another (per ticket) |
//!
//! An assignment is each time a unit starts holding a ticket (see
//! `minhu_core::rollup`), and each one ends in at most one acceptance and at most one
//! return or pass down. The response rate counts only settled assignments: one still
//! within its response time is neither on time nor late yet, so it is in neither
//! count (a month under way is not marked down for the tickets just sent). Refused returns (disputes) are counted and shown beside the
//! index, not in it: the return they refused is already there.

use minhu_core::city::{AnalyticsRules, ScoreWeights};
use minhu_core::rollup::Metric;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

const METRICS: usize = Metric::ALL.len();

/// Counts of every [`Metric`] for one cell (a unit, a region, a month...).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    counts: [i64; METRICS],
}

impl Tally {
    pub fn get(&self, metric: Metric) -> i64 {
        self.counts[metric.index()]
    }

    pub fn add(&mut self, metric: Metric, n: i64) {
        self.counts[metric.index()] += n;
    }

    pub fn merge(&mut self, other: &Tally) {
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts) {
            *mine += theirs;
        }
    }

    pub fn from_pairs(pairs: &[(Metric, i64)]) -> Tally {
        let mut tally = Tally::default();
        for &(metric, n) in pairs {
            tally.add(metric, n);
        }
        tally
    }
}

/// Written as `{ "received": 12, "assigned": 10, ... }`, every metric present.
impl Serialize for Tally {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(METRICS))?;
        for metric in Metric::ALL {
            map.serialize_entry(metric.code(), &self.get(*metric))?;
        }
        map.end()
    }
}

/// 100 x `numerator` / `denominator`, `None` when the denominator is zero.
pub fn percent(numerator: i64, denominator: i64) -> Option<f64> {
    (denominator > 0).then(|| 100.0 * numerator as f64 / denominator as f64)
}

/// Callbacks satisfied or basically satisfied, in percent of callbacks.
pub fn satisfaction(tally: &Tally) -> Option<f64> {
    percent(
        tally.get(Metric::Satisfied) + tally.get(Metric::Basically),
        tally.get(Metric::Rated),
    )
}

/// The rates of one cell, each a percentage from 0 to 100 (see the module's table).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Rates {
    /// Only where tickets are received: a place, a category, the city (a unit's cells
    /// count what it was assigned, not what came in).
    pub answered: Option<f64>,
    pub response: Option<f64>,
    pub resolution: Option<f64>,
    pub satisfaction: Option<f64>,
    pub on_time: Option<f64>,
    pub reopen: Option<f64>,
    pub returns: Option<f64>,
    pub buck_passing: Option<f64>,
    /// Grid workers' reports handled on the spot (即查即办).
    pub on_the_spot: Option<f64>,
    /// Problems found by a grid worker or a city system before any citizen called.
    pub found_first: Option<f64>,
    /// The composite score (综合得分), 0 to 100.
    pub score: Option<f64>,
}

impl Rates {
    pub fn of(tally: &Tally, weights: &ScoreWeights) -> Rates {
        use Metric::*;
        let assigned = tally.get(Assigned);
        let rated = tally.get(Rated);
        let resolved = tally.get(Resolved);
        let mut rates = Rates {
            answered: percent(tally.get(Answered), tally.get(Received)),
            response: percent(tally.get(RespondedOnTime), tally.get(ResponseSettled)),
            resolution: percent(tally.get(Solved), rated),
            satisfaction: satisfaction(tally),
            on_time: percent(tally.get(ResolvedOnTime), resolved),
            reopen: percent(tally.get(Reopened), resolved),
            returns: percent(tally.get(Returned), assigned),
            buck_passing: percent(tally.get(Returned) + tally.get(Redispatched), assigned),
            on_the_spot: percent(tally.get(HandledOnSpot), tally.get(Patrolled)),
            found_first: percent(tally.get(FoundFirst), tally.get(Problem)),
            score: None,
        };
        rates.score = score(&rates, weights);
        rates
    }
}

/// The weighted mean of the rates the cell has (0 to 100); the weights of missing rates are
/// left out rather than counted as zero, so a unit is not punished for a step that no
/// ticket of its reached. `None` when no weighted rate is known.
pub fn score(rates: &Rates, weights: &ScoreWeights) -> Option<f64> {
    let parts = [
        (rates.response, weights.response),
        (rates.resolution, weights.resolution),
        (rates.satisfaction, weights.satisfaction),
        (rates.on_time, weights.on_time),
    ];
    let (sum, weight) = parts
        .iter()
        .filter(|(_, weight)| *weight > 0.0)
        .filter_map(|(rate, weight)| rate.map(|rate| (rate * weight, *weight)))
        .fold((0.0, 0.0), |(s, w), (rs, rw)| (s + rs, w + rw));
    (weight > 0.0).then(|| sum / weight)
}

/// Demand per 10,000 residents, where the population is known.
pub fn per_10k(count: i64, population: Option<u64>) -> Option<f64> {
    population
        .filter(|&p| p > 0)
        .map(|p| count as f64 * 10_000.0 / p as f64)
}

/// One unit's line in a ranking.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Ranked {
    pub unit: String,
    /// 1 for the best; `None` for a unit with too few assignments to be ranked.
    pub rank: Option<usize>,
    pub counts: Tally,
    pub rates: Rates,
    /// Among the lowest scores, named in the monthly report (通报).
    pub named: bool,
    /// Its buck-passing index is above the city's threshold.
    pub buck_passing_warning: bool,
}

impl Ranked {
    /// A line with its rates and nothing decided yet: no rank, not named, no warning
    /// (how the intake desk and unplaced demands are shown, never ranked).
    pub fn unranked(unit: String, counts: Tally, weights: &ScoreWeights) -> Ranked {
        Ranked {
            unit,
            rank: None,
            rates: Rates::of(&counts, weights),
            counts,
            named: false,
            buck_passing_warning: false,
        }
    }
}

/// Ranks units by composite score, best first. Units with fewer than
/// `rank_min_assigned` assignments (or no score) follow unranked, by id, with their
/// rates shown but no rank, name or warning (too few tickets to judge). Every ranked
/// unit whose score is at or below the `name_bottom`-th lowest is named: units tied at
/// the cut are named together, since nothing tells them apart. The line of id `""`
/// (what no unit holds: the intake desk; what no place holds: unplaced) is never
/// ranked: it is no one to compare.
pub fn rank(units: Vec<(String, Tally)>, rules: &AnalyticsRules) -> Vec<Ranked> {
    // A unit with enough assigned tickets to judge; ranked once it has a score.
    let judged = |line: &Ranked| {
        !line.unit.is_empty() && line.counts.get(Metric::Assigned) >= rules.rank_min_assigned as i64
    };
    let eligible = |line: &Ranked| judged(line) && line.rates.score.is_some();
    let mut lines: Vec<Ranked> = units
        .into_iter()
        .map(|(unit, counts)| Ranked::unranked(unit, counts, &rules.weights))
        .collect();
    // Ranked lines first, best score first; then the rest by id.
    lines.sort_by(|a, b| {
        let key = |l: &Ranked| eligible(l).then(|| l.rates.score.unwrap_or_default());
        match (key(a), key(b)) {
            (Some(x), Some(y)) => y.total_cmp(&x).then_with(|| a.unit.cmp(&b.unit)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.unit.cmp(&b.unit),
        }
    });
    let ranked = lines.iter().filter(|l| eligible(l)).count();
    let cut = (rules.name_bottom > 0 && ranked > 0)
        .then(|| lines[ranked - rules.name_bottom.min(ranked)].rates.score)
        .flatten();
    for (i, line) in lines.iter_mut().enumerate().take(ranked) {
        line.rank = Some(i + 1);
        line.named = cut.is_some_and(|cut| line.rates.score.is_some_and(|s| s <= cut));
    }
    // A unit that passes tickets on is warned of whether or not it has a score yet (a
    // month's first days, when no response has settled, leave the score empty).
    for line in &mut lines {
        line.buck_passing_warning = judged(line)
            && line
                .rates
                .buck_passing
                .is_some_and(|index| index > rules.buck_passing_warn);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use Metric::*;

    /// A unit's month, worked by hand: 20 assignments, 18 of them settled (2 still
    /// within their response time), 16 accepted in time, 18 replies
    /// of which 15 on time, 2 reopened; 12 callbacks: 7 satisfied, 3 basically, 2 not,
    /// 9 say solved; 3 returns, 1 refused return, 2 redispatches.
    fn month() -> Tally {
        Tally::from_pairs(&[
            (Received, 20),
            (Assigned, 20),
            (Accepted, 16),
            (ResponseSettled, 18),
            (RespondedOnTime, 16),
            (Resolved, 18),
            (ResolvedOnTime, 15),
            (Reopened, 2),
            (Rated, 12),
            (Satisfied, 7),
            (Basically, 3),
            (Unsatisfied, 2),
            (Solved, 9),
            (Returned, 3),
            (Disputed, 1),
            (Redispatched, 2),
        ])
    }

    fn close(a: Option<f64>, b: f64) {
        let a = a.expect("a rate");
        assert!((a - b).abs() < 1e-9, "{a} != {b}");
    }

    #[test]
    fn rates_match_the_hand_computed_month() {
        let rates = Rates::of(&month(), &ScoreWeights::default());
        close(rates.answered, 0.0);
        // The two assignments still within their response time count in neither.
        close(rates.response, 100.0 * 16.0 / 18.0);
        close(rates.resolution, 100.0 * 9.0 / 12.0);
        close(rates.satisfaction, 100.0 * 10.0 / 12.0);
        close(rates.on_time, 100.0 * 15.0 / 18.0);
        close(rates.reopen, 100.0 * 2.0 / 18.0);
        close(rates.returns, 100.0 * 3.0 / 20.0);
        // Returns and pass downs; the refused return is not counted twice.
        close(rates.buck_passing, 100.0 * 5.0 / 20.0);
        // Beijing weights: 0.1 x 16/18 + 0.45 x 0.75 + 0.45 x 10/12
        close(rates.score, 100.0 * (0.1 * 16.0 / 18.0 + 0.3375 + 0.375));
    }

    #[test]
    fn missing_rates_leave_their_weight_out() {
        let no_callbacks =
            Tally::from_pairs(&[(Assigned, 10), (ResponseSettled, 10), (RespondedOnTime, 5)]);
        let rates = Rates::of(&no_callbacks, &ScoreWeights::default());
        assert_eq!(rates.satisfaction, None);
        assert_eq!(rates.resolution, None);
        close(rates.score, 50.0);
        let empty = Rates::of(&Tally::default(), &ScoreWeights::default());
        assert_eq!(empty, Rates::default());
        let only_on_time = ScoreWeights {
            response: 0.0,
            resolution: 0.0,
            satisfaction: 0.0,
            on_time: 1.0,
        };
        assert_eq!(Rates::of(&no_callbacks, &only_on_time).score, None);
    }

    #[test]
    fn demand_per_ten_thousand_residents() {
        close(per_10k(45, Some(90_000)), 5.0);
        assert_eq!(per_10k(45, None), None);
    }

    fn unit(satisfied_of_10: i64, assigned: i64) -> Tally {
        Tally::from_pairs(&[
            (Assigned, assigned),
            (ResponseSettled, assigned),
            (RespondedOnTime, assigned),
            (Rated, 10),
            (Solved, 10),
            (Satisfied, satisfied_of_10),
        ])
    }

    #[test]
    fn ranking_names_the_bottom_and_skips_small_units() {
        let rules = AnalyticsRules {
            name_bottom: 2,
            rank_min_assigned: 10,
            ..AnalyticsRules::default()
        };
        let lines = rank(
            vec![
                ("u-good".into(), unit(10, 10)),
                ("u-small".into(), unit(0, 3)),
                ("u-worst".into(), unit(2, 12)),
                ("u-mid".into(), unit(8, 10)),
                ("u-low".into(), unit(5, 10)),
                // The intake desk: the most assignments and the worst score, no rank.
                ("".into(), unit(0, 40)),
            ],
            &rules,
        );
        let order: Vec<(&str, Option<usize>, bool)> = lines
            .iter()
            .map(|l| (l.unit.as_str(), l.rank, l.named))
            .collect();
        assert_eq!(
            order,
            [
                ("u-good", Some(1), false),
                ("u-mid", Some(2), false),
                ("u-low", Some(3), true),
                ("u-worst", Some(4), true),
                ("", None, false),
                ("u-small", None, false),
            ]
        );
        // satisfaction 0.2, response and resolution 1: 0.1 + 0.45 + 0.45 x 0.2 = 0.64
        close(lines[3].rates.score, 64.0);
    }

    #[test]
    fn ties_at_the_cut_are_named_together() {
        let rules = AnalyticsRules {
            name_bottom: 1,
            ..AnalyticsRules::default()
        };
        let lines = rank(
            vec![
                ("a".into(), unit(9, 10)),
                ("b".into(), unit(4, 10)),
                ("c".into(), unit(4, 10)),
            ],
            &rules,
        );
        let named: Vec<&str> = lines
            .iter()
            .filter(|l| l.named)
            .map(|l| l.unit.as_str())
            .collect();
        assert_eq!(named, ["b", "c"]);
    }

    #[test]
    fn buck_passing_warns_above_the_threshold() {
        let rules = AnalyticsRules::default();
        let mut passer = unit(10, 20);
        passer.add(Returned, 3);
        passer.add(Redispatched, 1);
        let mut fair = unit(10, 20);
        fair.add(Returned, 3);
        let lines = rank(
            vec![("passer".into(), passer), ("fair".into(), fair)],
            &rules,
        );
        let warned: Vec<(&str, bool)> = lines
            .iter()
            .map(|l| (l.unit.as_str(), l.buck_passing_warning))
            .collect();
        // 4 of 20 = 20 per 100 > 15; 3 of 20 = 15, not above it.
        assert!(warned.contains(&("passer", true)));
        assert!(warned.contains(&("fair", false)));
    }
}
