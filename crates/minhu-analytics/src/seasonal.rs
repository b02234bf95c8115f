//! The seasonal view (未诉先办): what the coming month brought last year above its usual,
//! with the places and units it concerned, so that a city acts before the complaints
//! come ("last December: heating, 1.4 times its usual month").
//!
//! For a month ahead, per category (as asked: filed, or cut to a level):
//!
//! ```text
//! last year = demands received in the same month a year before
//! usual     = the mean month of the twelve months from that one on
//! ratio     = last year / usual (1.4: 40% above the usual month)
//! ```
//!
//! Categories with fewer than `min_volume` demands last year, or a ratio below
//! `min_ratio`, are left out; the rest come highest ratio first. (A ratio, not a
//! percentage: a rise can pass 100%, and percentages on the pages are shares.)

use serde::Serialize;
use std::collections::BTreeMap;

/// What the seasonal view lists.
#[derive(Clone, Debug)]
pub struct SeasonRules {
    /// The fewest demands of a category in last year's month for it to count.
    pub min_volume: i64,
    /// The least ratio to the usual month.
    pub min_ratio: f64,
    /// How many categories to list.
    pub top: usize,
    /// How many places and units to list under each.
    pub concerned: usize,
}

impl Default for SeasonRules {
    fn default() -> Self {
        Self {
            min_volume: 5,
            min_ratio: 1.2,
            top: 10,
            concerned: 3,
        }
    }
}

/// A place or unit a seasonal problem concerned last year.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Concerned {
    pub id: String,
    /// Its name where the caller knows it; its id until then.
    pub name: String,
    /// Its English name where the caller knows one; as `name` until then.
    pub name_en: String,
    /// Demands received (a place) or assignments (a unit).
    pub count: i64,
}

/// One problem to act on before its month comes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Seasonal {
    pub category: String,
    /// The category in English where the caller knows it; as `category` until then.
    pub category_en: String,
    /// Demands received in the same month last year.
    pub last_year: i64,
    /// The mean month of the year from then on.
    pub usual: f64,
    /// Last year's month over the usual month.
    pub ratio: f64,
    /// The places (districts) with the most of them last year, most first.
    pub places: Vec<Concerned>,
    /// The units assigned the most of them last year, most first.
    pub units: Vec<Concerned>,
}

/// The `top` ids with the most for `category` in `of` (keyed by category and id; the
/// empty id, nothing known, left out), most first.
pub(crate) fn concerned(
    of: &BTreeMap<(String, String), i64>,
    category: &str,
    top: usize,
) -> Vec<Concerned> {
    let mut list: Vec<Concerned> = of
        .iter()
        .filter(|((c, id), n)| c == category && !id.is_empty() && **n > 0)
        .map(|((_, id), n)| Concerned {
            id: id.clone(),
            name: id.clone(),
            name_en: id.clone(),
            count: *n,
        })
        .collect();
    list.sort_by(|a, b| b.count.cmp(&a.count).then(a.id.cmp(&b.id)));
    list.truncate(top);
    list
}

/// The problems of the coming month: `year` holds the twelve months from last year's
/// same month on (oldest first, each month's count per category); `places` and `units`
/// last year's month per (category, place) and (category, unit).
pub fn seasonal(
    year: &[BTreeMap<String, i64>],
    places: &BTreeMap<(String, String), i64>,
    units: &BTreeMap<(String, String), i64>,
    rules: &SeasonRules,
) -> Vec<Seasonal> {
    let Some(then) = year.first() else {
        return Vec::new();
    };
    let months = year.len() as f64;
    let mut found: Vec<Seasonal> = then
        .iter()
        .filter(|(_, n)| **n >= rules.min_volume)
        .filter_map(|(category, &last_year)| {
            let total: i64 = year.iter().filter_map(|m| m.get(category)).sum();
            let usual = total as f64 / months;
            let ratio = last_year as f64 / usual;
            (ratio >= rules.min_ratio).then(|| Seasonal {
                category: category.clone(),
                category_en: category.clone(),
                last_year,
                usual,
                ratio,
                places: concerned(places, category, rules.concerned),
                units: concerned(units, category, rules.concerned),
            })
        })
        .collect();
    found.sort_by(|a, b| {
        b.ratio
            .total_cmp(&a.ratio)
            .then(b.last_year.cmp(&a.last_year))
            .then(a.category.cmp(&b.category))
    });
    found.truncate(rules.top);
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn month(cells: &[(&str, i64)]) -> BTreeMap<String, i64> {
        cells.iter().map(|(c, n)| ((*c).to_owned(), *n)).collect()
    }

    #[test]
    fn last_years_month_above_its_usual_is_listed_with_who_it_concerned() {
        // Heating: 16 last December, 4 a month after: usual (16 + 11 x 4) / 12 = 5,
        // 3.2 times. Water: steady 10 a month. Noise: 1.3 times but only 4.
        let mut year = vec![month(&[("供暖", 16), ("供水", 10), ("噪音", 4)])];
        for _ in 0..11 {
            year.push(month(&[("供暖", 4), ("供水", 10), ("噪音", 3)]));
        }
        let mut places = BTreeMap::new();
        places.insert(("供暖".to_owned(), "A3".to_owned()), 10);
        places.insert(("供暖".to_owned(), "A1".to_owned()), 6);
        places.insert(("供暖".to_owned(), String::new()), 9);
        let mut units = BTreeMap::new();
        units.insert(("供暖".to_owned(), "heat-co".to_owned()), 12);
        units.insert(("供水".to_owned(), "water-co".to_owned()), 10);
        let found = seasonal(&year, &places, &units, &SeasonRules::default());
        assert_eq!(found.len(), 1, "{found:?}");
        let heating = &found[0];
        assert_eq!(heating.category, "供暖");
        assert_eq!(heating.last_year, 16);
        assert!((heating.usual - 5.0).abs() < 1e-9);
        assert!((heating.ratio - 3.2).abs() < 1e-9);
        let places: Vec<(&str, i64)> = heating
            .places
            .iter()
            .map(|p| (p.id.as_str(), p.count))
            .collect();
        assert_eq!(places, [("A3", 10), ("A1", 6)]);
        assert_eq!(heating.units[0].id, "heat-co");
    }

    #[test]
    fn no_history_no_season() {
        let rules = SeasonRules::default();
        assert!(seasonal(&[], &BTreeMap::new(), &BTreeMap::new(), &rules).is_empty());
    }
}
