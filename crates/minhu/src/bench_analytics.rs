//! `minhu bench analytics`: how fast dashboards read the rollups of a large store.
//!
//! Synthetic tickets (a year of intake by default, in 200 communities, 200 units and 40
//! categories, with returns, late replies, callbacks and reopenings) are replayed through
//! `minhu_core::rollup::Rollup::of`, the same function the store applies in every
//! change's transaction, and their counts are loaded a day at a time with
//! `Store::add_rollup`. The tickets themselves are not written: only the rollup tables
//! are read by the dashboards. Then each dashboard query is timed as the API runs it:
//! the store's sums plus the pure ranking, trend and surge code.

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use minhu_analytics::Tally;
use minhu_analytics::rates::rank;
use minhu_core::access::Scope;
use minhu_core::city::AnalyticsRules;
use minhu_core::deadline::{Deadlines, TierCode};
use minhu_core::event::{Actor, Change, Event};
use minhu_core::ids::{RegionId, TicketNumber, UnitId};
use minhu_core::rollup::{Rollup, epoch_hour};
use minhu_core::taxonomy::CategoryPath;
use minhu_core::ticket::{Channel, Citizen, Intake, Kind, Rating, Satisfaction};
use minhu_store::{HourlyQuery, RollupQuery, SqlStore, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::time::Instant;

const PLACES: usize = 200;
const CATEGORIES: usize = 40;

pub async fn run(tickets: u64, days: u32, database: Option<String>) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let url = database
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("analytics.db").display()));
    let store = SqlStore::connect(&url).await?;
    let first = jiff::civil::date(2025, 1, 1);
    let per_day = tickets / u64::from(days);
    let mut rng = StdRng::seed_from_u64(2026);
    let loading = Instant::now();
    let mut rows = 0usize;
    for d in 0..days {
        let day = first + jiff::Span::new().days(i64::from(d));
        let mut rollup = Rollup::default();
        for n in 0..per_day {
            let number = TicketNumber::compose(day, n + 1);
            rollup.add(&Rollup::of(&number, &synthetic_log(&mut rng, day)));
        }
        rows += rollup.daily.len() + rollup.hourly.len();
        store.add_rollup(&rollup).await?;
    }
    let load_s = loading.elapsed().as_secs_f64();
    println!(
        "loaded {} tickets over {days} days: {rows} rollup rows in {load_s:.1} s ({:.0} tickets/s)",
        per_day * u64::from(days),
        (per_day * u64::from(days)) as f64 / load_s
    );

    let last = first + jiff::Span::new().days(i64::from(days) - 1);
    let month_start = last.first_of_month();
    let rules = AnalyticsRules::default();
    let query = RollupQuery::city_totals;
    let end = last.tomorrow()?;
    let mut timings: Vec<(&str, Vec<f64>)> = Vec::new();
    for _ in 0..5 {
        let mut round = Vec::new();
        let started = Instant::now();
        let month_by_unit = store
            .rollup_daily(&RollupQuery {
                by_unit: true,
                ..query(month_start, end)
            })
            .await?;
        let mut cells: BTreeMap<String, Tally> = BTreeMap::new();
        for row in &month_by_unit {
            cells
                .entry(row.unit.clone().unwrap_or_default())
                .or_default()
                .add(row.metric, row.n);
        }
        let ranking = rank(cells.into_iter().collect(), &rules);
        round.push(("rates: last month, ranked by unit", started, ranking.len()));

        let started = Instant::now();
        let by_region = store
            .rollup_daily(&RollupQuery {
                by_region: true,
                ..query(month_start, end)
            })
            .await?;
        round.push(("rates: last month, by region", started, by_region.len()));

        let started = Instant::now();
        let year = store
            .rollup_daily(&RollupQuery {
                by_day: true,
                ..query(first, end)
            })
            .await?;
        round.push(("trends: every day of the period", started, year.len()));

        let started = Instant::now();
        let one_unit = store
            .rollup_daily(&RollupQuery {
                scope: Scope::Units(vec![UnitId::new("U7")]),
                by_day: true,
                ..query(month_start, end)
            })
            .await?;
        round.push((
            "trends: one unit's scope, last month",
            started,
            one_unit.len(),
        ));

        let started = Instant::now();
        let to_hour = epoch_hour(end.to_zoned(jiff::tz::TimeZone::UTC)?.timestamp());
        let from_hour = to_hour - 24;
        let hours = store
            .rollup_hourly(&HourlyQuery {
                from_hour: from_hour - 4 * 7 * 24 - 1,
                to_hour,
                scope: Scope::All,
                regions: Vec::new(),
                category: None,
            })
            .await?;
        let surges = minhu_analytics::surge::surges(&hours, from_hour, to_hour, &rules.surge);
        round.push((
            "alerts: last 24 h against 4 weeks",
            started,
            surges.len() + hours.len(),
        ));

        for (name, started, _) in round {
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            match timings.iter_mut().find(|(n, _)| *n == name) {
                Some((_, all)) => all.push(ms),
                None => timings.push((name, vec![ms])),
            }
        }
    }
    println!("query                                   median ms   max ms  (5 runs)");
    for (name, mut all) in timings {
        all.sort_by(f64::total_cmp);
        println!(
            "{name:<40} {:>9.1} {:>8.1}",
            all[all.len() / 2],
            all[all.len() - 1]
        );
    }
    store.close().await;
    Ok(())
}

/// One ticket's plausible log: intake, placing, dispatch, sometimes a return and a
/// second dispatch, acceptance and reply (mostly in time), often a callback, rarely a
/// reopening.
fn synthetic_log(rng: &mut StdRng, day: Date) -> Vec<Event> {
    let place = rng.random_range(0..PLACES);
    let category = rng.random_range(0..CATEGORIES);
    let hour = rng.random_range(0..24 * 60);
    let start = day
        .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
        .map(|z| z.timestamp())
        .unwrap_or(Timestamp::UNIX_EPOCH)
        + SignedDuration::from_mins(hour);
    let mut events = Vec::with_capacity(10);
    let mut at = start;
    let mut push = |events: &mut Vec<Event>, minutes: i64, change: Change| {
        at += SignedDuration::from_mins(minutes);
        events.push(Event {
            seq: events.len() as u32 + 1,
            at,
            actor: Actor::system("bench"),
            change,
        });
    };
    push(
        &mut events,
        0,
        Change::Created(Intake {
            channel: Channel::Phone,
            kind: Kind::Complaint,
            title: String::new(),
            description: String::new(),
            address: None,
            location: None,
            citizen: Citizen::default(),
            category: None,
            region: None,
            tier: TierCode("15d".into()),
            external_ref: None,
        }),
    );
    push(
        &mut events,
        1,
        Change::Reclassified {
            category: Some(CategoryPath::new(&format!(
                "C{}/S{}",
                category / 8,
                category
            ))),
            region: Some(RegionId::new(format!("R{place}"))),
            tier: None,
        },
    );
    let deadlines = Deadlines {
        respond_by: start + SignedDuration::from_hours(24),
        resolve_by: start + SignedDuration::from_hours(15 * 24),
    };
    let mut unit = place;
    let dispatch = |unit: usize| Change::Dispatched {
        unit: UnitId::new(format!("U{unit}")),
        deadlines,
        reason: "bench".into(),
    };
    push(&mut events, 2, dispatch(unit));
    if rng.random_bool(0.05) {
        push(
            &mut events,
            60,
            Change::Returned {
                reason: "bench".into(),
            },
        );
        unit = (unit + 1) % PLACES;
        push(&mut events, 30, dispatch(unit));
    }
    let respond = if rng.random_bool(0.9) { 120 } else { 30 * 60 };
    push(&mut events, respond, Change::Accepted);
    let reply = if rng.random_bool(0.85) {
        3 * 24 * 60
    } else {
        20 * 24 * 60
    };
    push(
        &mut events,
        reply,
        Change::Resolved {
            reply: String::new(),
        },
    );
    if rng.random_bool(0.7) {
        let satisfaction = match rng.random_range(0..10) {
            0..=6 => Satisfaction::Satisfied,
            7..=8 => Satisfaction::Basically,
            _ => Satisfaction::Unsatisfied,
        };
        push(
            &mut events,
            24 * 60,
            Change::Rated(Rating {
                solved: satisfaction != Satisfaction::Unsatisfied,
                satisfaction,
            }),
        );
        if satisfaction == Satisfaction::Unsatisfied && rng.random_bool(0.3) {
            push(
                &mut events,
                60,
                Change::Reopened {
                    reason: "bench".into(),
                    deadlines: Some(deadlines),
                    escalated: false,
                },
            );
        }
    }
    events
}
