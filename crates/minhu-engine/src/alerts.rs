//! The alert watch: surges (突发预警) and buck-passing warnings (推诿预警) raised once
//! and told to the people on duty.
//!
//! Each pass reads the rollups the store keeps current with every change: the hourly
//! counts of the last [`WATCHED_HOURS`] hours (and the weeks before them, for each
//! cell's baseline), judged by `minhu_analytics::surge`; and each unit's counts of the
//! month so far, ranked by `minhu_analytics::rates::rank`, whose warning marks a unit
//! whose returns, disputes and redispatches per 100 assignments crossed the city's
//! `buck_passing_warn`. Every alert has an id made of its kind, cell and window (a
//! surge: place, category and first hour; a warning: unit and month), so a later pass
//! that finds it again raises nothing: one alert per cell per window. The engine's
//! [`Announce`](crate::Announce) plug says whom to tell; the store writes the alert
//! and its outbox rows in one transaction, and the notifier delivers them.

use crate::Engine;
use jiff::Timestamp;
use minhu_analytics::Tally;
use minhu_analytics::rates::rank;
use minhu_analytics::surge::surges;
use minhu_core::access::Scope;
use minhu_core::rollup::epoch_hour;
use minhu_store::{Alert, HourlyQuery, NewAlert, RollupQuery, StoreError};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// How many hours (up to the current one, included) each pass judges: a surge that
/// began within them keeps its id from pass to pass.
pub const WATCHED_HOURS: i64 = 24;
/// How often the watch looks (a surge is hours long; a few minutes' delay is fine).
pub const EVERY: Duration = Duration::from_secs(300);

/// `surge`: a place and category far above its normal for that hour of the week
/// (the code of [`minhu_core::rollup::AlertKind::Surge`]).
pub const SURGE: &str = "surge";
/// `buck_passing`: a unit above the city's buck-passing threshold this month
/// (the code of [`minhu_core::rollup::AlertKind::BuckPassing`]).
pub const BUCK_PASSING: &str = "buck_passing";

fn hour_start(hour: i64) -> Timestamp {
    Timestamp::from_second(hour * 3600).unwrap_or(Timestamp::UNIX_EPOCH)
}

impl Engine {
    /// The alerts the rollups show now, raised or not (see the module's docs).
    /// In a province each city's cells and units are judged by that city's rules
    /// (`[analytics]` of its `city.toml`); a unit of the province's own, by the home
    /// city's.
    pub async fn current_alerts(&self) -> Result<Vec<Alert>, StoreError> {
        let now = self.clock.now();
        let rules = &self.city.analytics;
        let to_hour = epoch_hour(now) + 1;
        let from_hour = to_hour - WATCHED_HOURS;
        let weeks = self
            .province
            .cities()
            .iter()
            .map(|c| c.city.analytics.surge.weeks)
            .max()
            .unwrap_or(rules.surge.weeks);
        let counts = self
            .store
            .rollup_hourly(&HourlyQuery {
                from_hour: from_hour - i64::from(weeks) * 7 * 24 - 1,
                to_hour,
                scope: Scope::All,
                regions: Vec::new(),
                category: None,
            })
            .await?;
        let mut found = Vec::new();
        if self.province.has_several_cities() {
            // Each cell to its city (a region's id is unique in the province).
            let mut per_city: BTreeMap<usize, Vec<_>> = BTreeMap::new();
            for (key, n) in counts {
                let region = minhu_core::ids::RegionId::new(key.region.as_str());
                let at = self.city_index(|c| c.regions.get(&region).is_some());
                per_city.entry(at).or_default().push((key, n));
            }
            for (at, counts) in per_city {
                let city = &self.province.cities()[at].city;
                found.extend(surges(&counts, from_hour, to_hour, &city.analytics.surge));
            }
        } else {
            found = surges(&counts, from_hour, to_hour, &rules.surge);
        }
        let mut alerts: Vec<Alert> = found
            .into_iter()
            .map(|surge| Alert {
                id: format!("{SURGE}|{}", surge.id),
                kind: SURGE.into(),
                region: Some(surge.region),
                unit: None,
                category: Some(surge.category),
                window_from: hour_start(surge.first_hour),
                window_to: hour_start(surge.last_hour + 1),
                observed: surge.observed as f64,
                expected: surge.expected,
                raised_at: now,
            })
            .collect();

        let today = self.city.local_date(now);
        let month = today.first_of_month();
        let rows = self
            .store
            .rollup_daily(&RollupQuery {
                by_unit: true,
                ..RollupQuery::city_totals(month, today.tomorrow().unwrap_or(today))
            })
            .await?;
        let mut units: BTreeMap<String, Tally> = BTreeMap::new();
        for row in rows {
            if let Some(unit) = row.unit {
                units.entry(unit).or_default().add(row.metric, row.n);
            }
        }
        let month_start = month
            .to_zoned(self.city.timezone.clone())
            .map_or(now, |zoned| zoned.timestamp());
        // Each unit ranked among its city's, by its city's threshold.
        let mut per_city: BTreeMap<usize, Vec<(String, Tally)>> = BTreeMap::new();
        for (unit, tally) in units {
            let id = minhu_core::ids::UnitId::new(unit.as_str());
            let at = self.city_index(|c| c.units.get(&id).is_some());
            per_city.entry(at).or_default().push((unit, tally));
        }
        let lines = per_city.into_iter().flat_map(|(at, units)| {
            let rules = &self.province.cities()[at].city.analytics;
            rank(units, rules)
        });
        alerts.extend(
            lines
                .filter(|line| line.buck_passing_warning)
                .map(|line| Alert {
                    id: format!("{BUCK_PASSING}|{}|{}", line.unit, month.strftime("%Y-%m")),
                    kind: BUCK_PASSING.into(),
                    region: None,
                    category: None,
                    window_from: month_start,
                    window_to: now,
                    observed: line.rates.buck_passing.unwrap_or_default(),
                    expected: self.rules_of_unit(&line.unit).buck_passing_warn,
                    unit: Some(line.unit),
                    raised_at: now,
                }),
        );
        Ok(alerts)
    }

    /// The index among the province's cities of the first for which `has` holds, else
    /// the home city's (0).
    fn city_index(&self, has: impl Fn(&minhu_core::City) -> bool) -> usize {
        let cities = self.province.cities();
        cities.iter().position(|c| has(&c.city)).unwrap_or(0)
    }

    /// The analytics rules `unit` is judged by: its city's.
    fn rules_of_unit(&self, unit: &str) -> &minhu_core::city::AnalyticsRules {
        let id = minhu_core::ids::UnitId::new(unit);
        let at = self.city_index(|c| c.units.get(&id).is_some());
        &self.province.cities()[at].city.analytics
    }

    /// One pass of the watch: raises the current alerts not raised before, with what
    /// the announce plug says to tell of each, and wakes the notifier. Returns the ids
    /// it raised.
    pub async fn raise_alerts(&self) -> Result<Vec<String>, StoreError> {
        let new: Vec<NewAlert> = self
            .current_alerts()
            .await?
            .into_iter()
            .map(|alert| NewAlert {
                notifications: self.announce.announce_alert(&alert),
                alert,
            })
            .collect();
        if new.is_empty() {
            return Ok(Vec::new());
        }
        let raised = self.store.raise_alerts(&new).await?;
        if !raised.is_empty() {
            self.outbox_changed.notify_one();
        }
        Ok(raised)
    }
}

/// Runs the watch until the process ends: a pass every [`EVERY`].
pub async fn watch(engine: Arc<Engine>) {
    loop {
        match crate::metrics::timed_pass("alerts", engine.raise_alerts()).await {
            Ok(raised) if !raised.is_empty() => {
                tracing::info!(alerts = ?raised, "alerts raised");
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "the alert pass failed"),
        }
        tokio::time::sleep(EVERY).await;
    }
}

#[cfg(test)]
mod kinds {
    use super::*;
    use minhu_core::rollup::AlertKind;

    #[test]
    fn the_stored_kinds_are_the_labelled_codes() {
        assert_eq!(SURGE, AlertKind::Surge.code());
        assert_eq!(BUCK_PASSING, AlertKind::BuckPassing.code());
    }
}
