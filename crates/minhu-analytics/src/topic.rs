//! The monthly topic (每月一题): the problems of a month that are many, keep coming back
//! and leave citizens unsatisfied, with their trend and the units that handle them - the
//! list a city takes on before the complaints arrive (未诉先办).
//!
//! Per category (as tickets are filed), for the month asked:
//!
//! ```text
//! satisfaction = (satisfied + basically satisfied) / callbacks, in percent (the
//!                rates' definition; the whole selection's when the category has no
//!                callbacks)
//! recurring    = of the three months before, those with at least `min_volume` demands
//! score        = received x (1 - satisfaction / 100) x (1 + recurring)
//! ```
//!
//! Categories with fewer than `min_volume` demands in the month are left out; the rest
//! are ranked by score, highest first.

use crate::rates::{Tally, satisfaction};
use crate::seasonal::{Concerned, concerned};
use minhu_core::rollup::Metric;
use serde::Serialize;
use std::collections::BTreeMap;

/// How the monthly topic is chosen.
#[derive(Clone, Debug)]
pub struct TopicRules {
    /// The fewest demands of a category in a month for it to count there.
    pub min_volume: i64,
    /// How many topics to list.
    pub top: usize,
    /// How many units to list under each topic.
    pub units: usize,
}

impl Default for TopicRules {
    fn default() -> Self {
        Self {
            min_volume: 5,
            top: 10,
            units: 5,
        }
    }
}

/// How many demands of a topic came in one month.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MonthCount {
    /// `YYYY-MM`.
    pub month: String,
    pub received: i64,
}

/// A unit that handled a topic's tickets in the month.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UnitShare {
    pub unit: String,
    /// The unit's name where the caller knows it; its id until then.
    pub name: String,
    /// The unit's English name where the caller knows one; as `name` until then.
    pub name_en: String,
    pub assigned: i64,
    pub resolved: i64,
    pub satisfaction: Option<f64>,
}

/// One problem of the monthly topic list.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Topic {
    pub rank: usize,
    pub category: String,
    /// The category in English where the caller knows it; as `category` until then.
    pub category_en: String,
    pub received: i64,
    pub rated: i64,
    pub unsatisfied: i64,
    pub reopened: i64,
    /// `None` when neither the category nor the selection had a callback.
    pub satisfaction: Option<f64>,
    pub recurring_months: usize,
    pub score: f64,
    /// The month and the months before it, oldest first.
    pub trend: Vec<MonthCount>,
    /// The units with the most assignments, most first.
    pub units: Vec<UnitShare>,
    /// The districts with the most of its demands, most first.
    pub places: Vec<Concerned>,
}

/// The topics of the last month in `months` (oldest first, each a month's label and its
/// counts per category); `units` holds the last month's counts per category and unit,
/// `places` its demands per category and district.
pub fn monthly_topics(
    months: &[(String, BTreeMap<String, Tally>)],
    units: &BTreeMap<(String, String), Tally>,
    places: &BTreeMap<(String, String), i64>,
    rules: &TopicRules,
) -> Vec<Topic> {
    let Some(((_, month), before)) = months.split_last() else {
        return Vec::new();
    };
    let mut whole = Tally::default();
    for tally in month.values() {
        whole.merge(tally);
    }
    let fallback = satisfaction(&whole);
    let mut topics: Vec<Topic> = month
        .iter()
        .filter(|(_, tally)| tally.get(Metric::Received) >= rules.min_volume)
        .map(|(category, tally)| {
            let received = tally.get(Metric::Received);
            let satisfied = satisfaction(tally).or(fallback);
            let recurring_months = before
                .iter()
                .rev()
                .take(3)
                .filter(|(_, m)| {
                    m.get(category)
                        .is_some_and(|t| t.get(Metric::Received) >= rules.min_volume)
                })
                .count();
            let score = received as f64
                * (1.0 - satisfied.unwrap_or(0.0) / 100.0)
                * (1 + recurring_months) as f64;
            let mut shares: Vec<UnitShare> = units
                .iter()
                .filter(|((c, unit), _)| c == category && !unit.is_empty())
                .map(|((_, unit), t)| UnitShare {
                    unit: unit.clone(),
                    name: unit.clone(),
                    name_en: unit.clone(),
                    assigned: t.get(Metric::Assigned),
                    resolved: t.get(Metric::Resolved),
                    satisfaction: satisfaction(t),
                })
                .filter(|share| share.assigned > 0)
                .collect();
            shares.sort_by(|a, b| b.assigned.cmp(&a.assigned).then(a.unit.cmp(&b.unit)));
            shares.truncate(rules.units);
            Topic {
                rank: 0,
                category: category.clone(),
                category_en: category.clone(),
                received,
                rated: tally.get(Metric::Rated),
                unsatisfied: tally.get(Metric::Unsatisfied),
                reopened: tally.get(Metric::Reopened),
                satisfaction: satisfied,
                recurring_months,
                score,
                trend: months
                    .iter()
                    .map(|(label, m)| MonthCount {
                        month: label.clone(),
                        received: m.get(category).map_or(0, |t| t.get(Metric::Received)),
                    })
                    .collect(),
                units: shares,
                places: concerned(places, category, rules.units),
            }
        })
        .collect();
    topics.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(b.received.cmp(&a.received))
            .then(a.category.cmp(&b.category))
    });
    topics.truncate(rules.top);
    for (i, topic) in topics.iter_mut().enumerate() {
        topic.rank = i + 1;
    }
    topics
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(received: i64, rated: i64, satisfied: i64, unsatisfied: i64) -> Tally {
        Tally::from_pairs(&[
            (Metric::Received, received),
            (Metric::Rated, rated),
            (Metric::Satisfied, satisfied),
            (Metric::Unsatisfied, unsatisfied),
        ])
    }

    fn month(label: &str, cells: &[(&str, Tally)]) -> (String, BTreeMap<String, Tally>) {
        (
            label.to_owned(),
            cells.iter().map(|(c, t)| ((*c).to_owned(), *t)).collect(),
        )
    }

    #[test]
    fn many_recurring_and_unsatisfying_problems_come_first() {
        let months = vec![
            month("2026-07", &[("供水", tally(9, 0, 0, 0))]),
            month(
                "2026-08",
                &[("供水", tally(6, 0, 0, 0)), ("噪音", tally(2, 0, 0, 0))],
            ),
            month(
                "2026-09",
                &[("供水", tally(4, 0, 0, 0)), ("噪音", tally(5, 0, 0, 0))],
            ),
            month(
                "2026-10",
                &[("供水", tally(7, 0, 0, 0)), ("噪音", tally(6, 0, 0, 0))],
            ),
            month(
                "2026-11",
                &[
                    // 10 demands, 8 callbacks, 2 satisfied: 10 x 0.75 x (1 + 2) = 22.5
                    ("供水", tally(10, 8, 2, 6)),
                    // 20 demands, 10 callbacks, 8 satisfied: 20 x 0.2 x (1 + 2) = 12
                    ("噪音", tally(20, 10, 8, 2)),
                    // 6 demands, no callbacks: the month's 10 of 22 callbacks
                    // satisfied, never before: 6 x (12 / 22) x 1
                    ("停车", tally(6, 0, 0, 0)),
                    // Too few to count.
                    ("路灯", tally(4, 4, 0, 4)),
                ],
            ),
        ];
        let mut units = BTreeMap::new();
        let assigned =
            |n, resolved| Tally::from_pairs(&[(Metric::Assigned, n), (Metric::Resolved, resolved)]);
        units.insert(("供水".to_owned(), "U-water".to_owned()), assigned(7, 6));
        units.insert(("供水".to_owned(), "U-street".to_owned()), assigned(3, 3));
        units.insert(("供水".to_owned(), String::new()), assigned(0, 0));
        units.insert(("噪音".to_owned(), "U-police".to_owned()), assigned(20, 18));

        let mut places = BTreeMap::new();
        places.insert(("供水".to_owned(), "A3".to_owned()), 6);
        places.insert(("供水".to_owned(), "A1".to_owned()), 4);
        let topics = monthly_topics(&months, &units, &places, &TopicRules::default());
        let order: Vec<&str> = topics.iter().map(|t| t.category.as_str()).collect();
        assert_eq!(order, ["供水", "噪音", "停车"]);
        let water = &topics[0];
        assert_eq!(water.rank, 1);
        assert!((water.score - 22.5).abs() < 1e-9, "{}", water.score);
        // August and October had at least 5; September's 4 did not count.
        assert_eq!(water.recurring_months, 2);
        assert_eq!(water.satisfaction, Some(25.0));
        assert_eq!(
            water.trend.iter().map(|m| m.received).collect::<Vec<_>>(),
            [9, 6, 4, 7, 10]
        );
        assert_eq!(water.units.len(), 2);
        let places: Vec<(&str, i64)> = water
            .places
            .iter()
            .map(|p| (p.id.as_str(), p.count))
            .collect();
        assert_eq!(places, [("A3", 6), ("A1", 4)]);
        assert!(topics[1].places.is_empty());
        assert_eq!(
            (water.units[0].unit.as_str(), water.units[0].assigned),
            ("U-water", 7)
        );
        let noise = &topics[1];
        assert!((noise.score - 12.0).abs() < 1e-9, "{}", noise.score);
        assert_eq!(noise.recurring_months, 2);
        let parking = &topics[2];
        assert_eq!(parking.recurring_months, 0);
        assert_eq!(parking.satisfaction, Some(100.0 * 10.0 / 22.0));
        assert!((parking.score - 6.0 * 12.0 / 22.0).abs() < 1e-9);
    }

    #[test]
    fn nothing_asked_nothing_listed() {
        let none = BTreeMap::new();
        assert!(monthly_topics(&[], &BTreeMap::new(), &none, &TopicRules::default()).is_empty());
    }
}
