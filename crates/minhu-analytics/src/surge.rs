//! Surge alerts (突发预警): a place and category receiving far more demands in an hour
//! than it normally does at that hour of the week.
//!
//! The baseline of a cell (region x category) for an hour comes from its counts at the
//! same hour of the week in the `weeks` weeks before (`baseline`), so a Monday-morning
//! peak that comes every week is its own normal. An hour is abnormal when its count
//! reaches `min_count`, `ratio` times the baseline ("far above normal"), and
//! `upper + z x sqrt(upper)`, where `upper` is the baseline plus two of its standard
//! errors (a Poisson-like tolerance that widens with the volume and with how little
//! history there is). Consecutive abnormal hours of one cell make one alert
//! (deduplicated: its id is the cell and its first hour), so a surge that lasts three
//! hours is reported once, with its total and peak.

use minhu_core::city::SurgeRules;
use minhu_core::rollup::HourlyKey;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

const WEEK: i64 = 7 * 24;

/// One surge: a cell's run of abnormal hours.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Surge {
    /// Stable for the same surge however often it is computed: `region|category|hour`.
    pub id: String,
    pub region: String,
    pub category: String,
    /// The first and last abnormal hour (whole hours since the Unix epoch).
    pub first_hour: i64,
    pub last_hour: i64,
    /// Demands received in those hours.
    pub observed: i64,
    /// What those hours normally bring, summed.
    pub expected: f64,
    /// The busiest hour's count.
    pub peak: i64,
}

/// The surges among the hours `from_hour..to_hour` (exclusive), given hourly counts
/// that also cover the `rules.weeks` weeks before `from_hour`. Ordered by how far the
/// surge is above normal, largest first.
pub fn surges(
    counts: &[(HourlyKey, i64)],
    from_hour: i64,
    to_hour: i64,
    rules: &SurgeRules,
) -> Vec<Surge> {
    let mut cells: HashMap<(&str, &str), HashMap<i64, i64>> = HashMap::new();
    for (key, n) in counts {
        *cells
            .entry((key.region.as_str(), key.category.as_str()))
            .or_default()
            .entry(key.hour)
            .or_default() += n;
    }
    let mut found = Vec::new();
    for ((region, category), hours) in &cells {
        let mut run: Option<Surge> = None;
        for hour in from_hour..to_hour {
            let observed = hours.get(&hour).copied().unwrap_or(0);
            let expected = baseline(hours, hour, rules.weeks);
            // The baseline is itself an estimate from 3 x weeks hours: judge against its
            // upper bound (two standard errors), since a false alarm costs trust.
            let samples = 3.0 * f64::from(rules.weeks.max(1));
            let upper = expected + 2.0 * (expected.max(1.0) / samples).sqrt();
            let threshold = upper + rules.z * upper.sqrt();
            let abnormal = observed >= rules.min_count
                && observed as f64 >= threshold
                && observed as f64 >= rules.ratio * expected;
            match (&mut run, abnormal) {
                (Some(surge), true) => {
                    surge.last_hour = hour;
                    surge.observed += observed;
                    surge.expected += expected;
                    surge.peak = surge.peak.max(observed);
                }
                (None, true) => {
                    run = Some(Surge {
                        id: format!("{region}|{category}|{hour}"),
                        region: (*region).to_owned(),
                        category: (*category).to_owned(),
                        first_hour: hour,
                        last_hour: hour,
                        observed,
                        expected,
                        peak: observed,
                    });
                }
                (_, false) => found.extend(run.take()),
            }
        }
        found.extend(run);
    }
    found.sort_by(|a, b| {
        let excess = |s: &Surge| s.observed as f64 - s.expected;
        excess(b)
            .total_cmp(&excess(a))
            .then_with(|| a.id.cmp(&b.id))
    });
    found
}

/// What `hour` normally brings: the mean count of the same hour of the week in the
/// `weeks` weeks before, or, when higher, the mean of that hour and its two neighbours
/// in those weeks. Four samples alone are too few (a cell that usually gets five calls
/// can average two over four weeks by chance and then alert on a normal hour); twelve
/// are steadier, and taking the higher of the two keeps a sharp weekly peak its own
/// normal.
fn baseline(hours: &HashMap<i64, i64>, hour: i64, weeks: u32) -> f64 {
    if weeks == 0 {
        return 0.0;
    }
    let mean = |offsets: &[i64]| {
        let total: i64 = (1..=i64::from(weeks))
            .flat_map(|w| offsets.iter().map(move |o| hour - w * WEEK + o))
            .map(|h| hours.get(&h).copied().unwrap_or(0))
            .sum();
        total as f64 / (f64::from(weeks) * offsets.len() as f64)
    };
    mean(&[0]).max(mean(&[-1, 0, 1]))
}

/// Counts per hour of one cell, for charts: `hour -> n` over `from_hour..to_hour`.
pub fn series(counts: &[(HourlyKey, i64)], from_hour: i64, to_hour: i64) -> BTreeMap<i64, i64> {
    let mut series: BTreeMap<i64, i64> = (from_hour..to_hour).map(|h| (h, 0)).collect();
    for (key, n) in counts {
        if let Some(slot) = series.get_mut(&key.hour) {
            *slot += n;
        }
    }
    series
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random stream (no seedless randomness in tests).
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }

        /// A Poisson draw by inversion (small means only).
        fn poisson(&mut self, mean: f64) -> i64 {
            let (mut k, mut p, limit) = (0, 1.0, (-mean).exp());
            loop {
                p *= self.next();
                if p <= limit {
                    return k;
                }
                k += 1;
            }
        }
    }

    /// A realistic week's shape for one busy cell: quiet nights, a morning peak on
    /// weekdays, a big Monday 9-10h peak every week (people call after the weekend).
    fn normal_mean(hour: i64) -> f64 {
        let hour_of_week = hour.rem_euclid(WEEK);
        let (day, hour_of_day) = (hour_of_week / 24, hour_of_week % 24);
        let base = match hour_of_day {
            0..=6 => 0.3,
            7..=8 => 2.0,
            9..=11 => 5.0,
            12..=17 => 3.5,
            18..=21 => 2.0,
            _ => 0.8,
        };
        // Epoch hour 0 is a Thursday; day 4 is then a Monday.
        if day == 4 && (9..=10).contains(&hour_of_day) {
            base * 3.0
        } else if (2..=3).contains(&day) {
            base * 0.6
        } else {
            base
        }
    }

    /// Five weeks of background traffic in three cells, starting on a week boundary.
    fn background(rng: &mut Lcg, start: i64) -> Vec<(HourlyKey, i64)> {
        let mut counts = Vec::new();
        for (region, scale) in [("A3-01", 1.0), ("A3-02", 0.5), ("A5-07", 2.0)] {
            for hour in start..start + 5 * WEEK {
                let n = rng.poisson(normal_mean(hour) * scale);
                if n > 0 {
                    counts.push((key(region, hour), n));
                }
            }
        }
        counts
    }

    fn key(region: &str, hour: i64) -> HourlyKey {
        HourlyKey {
            hour,
            region: region.into(),
            category: "城乡建设/供水".into(),
        }
    }

    /// A week boundary (from the epoch's Thursday) in 2025.
    const START: i64 = 2920 * WEEK;

    #[test]
    fn normal_weeks_raise_no_alert_even_at_their_peaks() {
        // Twenty different weeks of traffic: 20 x 3 cells x 168 hours judged.
        for seed in 1..=20 {
            let mut rng = Lcg(seed);
            let counts = background(&mut rng, START);
            let last_week = START + 4 * WEEK;
            let alerts = surges(&counts, last_week, last_week + WEEK, &SurgeRules::default());
            assert!(alerts.is_empty(), "seed {seed}: {alerts:#?}");
        }
    }

    #[test]
    fn a_burst_is_caught_in_its_hour_and_reported_once() {
        let mut rng = Lcg(11);
        let mut counts = background(&mut rng, START);
        // 15 "no water" calls in one community within one hour, on a Wednesday night.
        let burst = START + 4 * WEEK + 6 * 24 + 22;
        counts.push((key("A3-02", burst), 15));
        counts.push((key("A3-02", burst + 1), 12));
        let last_week = START + 4 * WEEK;
        // Judged hour by hour as time passes: caught in the burst's own hour.
        let now = surges(&counts, burst, burst + 1, &SurgeRules::default());
        assert_eq!(now.len(), 1, "{now:#?}");
        assert_eq!(now[0].region, "A3-02");
        let week = surges(&counts, last_week, last_week + WEEK, &SurgeRules::default());
        assert_eq!(week.len(), 1, "two abnormal hours, one alert: {week:#?}");
        let surge = &week[0];
        assert_eq!((surge.first_hour, surge.last_hour), (burst, burst + 1));
        assert!(surge.observed >= 27 && surge.peak >= 15, "{surge:?}");
        assert_eq!(surge.id, format!("A3-02|城乡建设/供水|{burst}"));
    }

    #[test]
    fn a_burst_at_the_usual_peak_must_clear_the_peak() {
        let mut rng = Lcg(13);
        let mut counts = background(&mut rng, START);
        // Monday 9h in the busiest cell: normally ~30 calls; 8 more is not a surge,
        // 40 more is.
        let monday_nine = START + 4 * WEEK + 4 * 24 + 9;
        counts.push((key("A5-07", monday_nine), 8));
        assert!(
            surges(
                &counts,
                monday_nine,
                monday_nine + 1,
                &SurgeRules::default()
            )
            .is_empty()
        );
        counts.push((key("A5-07", monday_nine), 32));
        let alerts = surges(
            &counts,
            monday_nine,
            monday_nine + 1,
            &SurgeRules::default(),
        );
        assert_eq!(alerts.len(), 1, "{alerts:#?}");
    }

    #[test]
    fn series_fills_empty_hours() {
        let counts = vec![
            (key("A3-01", 5), 2),
            (key("A3-02", 5), 1),
            (key("A3-01", 7), 4),
        ];
        let s = series(&counts, 4, 8);
        assert_eq!(
            s.into_iter().collect::<Vec<_>>(),
            [(4, 0), (5, 3), (6, 0), (7, 4)]
        );
    }
}
