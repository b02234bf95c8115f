//! `minhu bench analytics`: how fast dashboards read the rollups of a large store.
//!
//! Synthetic tickets (a year of intake by default, in 200 communities, 200 units and 40
//! categories, with returns, late replies, callbacks and reopenings) are replayed through
//! `minhu_core::rollup::Rollup::of`, the same function the store applies in every
//! change's transaction, summed a month at a time and loaded with `Store::add_rollup`,
//! which writes every rollup table (the fine daily one and its coarser copies) through the
//! same code as a change's transaction. The tickets themselves are not written: only the
//! rollup tables are read by the dashboards, and ten million intakes would take days on
//! a small machine. Then each dashboard query is timed as the API runs it: the store's
//! sums plus the pure ranking, trend and surge code, once on the tables the store picks
//! and once on the full daily table alone (the reads before migration 0011).
//!
//! First, `--real` tickets go through the store itself (created, then each event
//! appended in its own transaction, as the engine does), and the rollup tables kept that
//! way are compared with a recount from the event log (`Store::rebuild_rollups`).

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
use minhu_core::ticket::{Channel, Citizen, Intake, Kind, Rating, Satisfaction, Ticket};
use minhu_store::{Appended, HourlyQuery, NewTicket, RollupQuery, SqlStore, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::time::Instant;

const PLACES: usize = 200;
const CATEGORIES: usize = 40;

pub async fn run(
    tickets: u64,
    days: u32,
    real: u64,
    database: Option<String>,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let url = database
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("analytics.db").display()));
    let store = SqlStore::connect(&url).await?;
    let first = jiff::civil::date(2025, 1, 1);
    let mut rng = StdRng::seed_from_u64(2026);
    if real > 0 {
        recount_check(&store, real, first, &mut rng).await?;
    }
    let per_day = tickets / u64::from(days);
    let loading = Instant::now();
    let bar = crate::import::progress_bar(Some(per_day * u64::from(days)), "counting");
    let mut month = Rollup::default();
    let mut rows = 0usize;
    for d in 0..days {
        let day = first + jiff::Span::new().days(i64::from(d));
        for n in 0..per_day {
            let number = TicketNumber::compose(day, n + 1);
            month.add(&Rollup::of(&number, &synthetic_log(&mut rng, day)));
        }
        bar.inc(per_day);
        let last_of_month = day.tomorrow()?.day() == 1 || d + 1 == days;
        if last_of_month {
            rows += month.daily.len() + month.hourly.len();
            store.add_rollup(&std::mem::take(&mut month)).await?;
        }
    }
    bar.finish_and_clear();
    let load_s = loading.elapsed().as_secs_f64();
    println!(
        "loaded {} tickets over {days} days: {rows} daily and hourly rollup rows (plus their \
         coarser copies) in {load_s:.1} s ({:.0} tickets/s)",
        per_day * u64::from(days),
        (per_day * u64::from(days)) as f64 / load_s
    );
    for (table, rollup) in store.rollup_tables().await? {
        println!(
            "  {table:<22} {:>10} rows",
            rollup.daily.len() + rollup.hourly.len()
        );
    }

    let last = first + jiff::Span::new().days(i64::from(days) - 1);
    let rules = AnalyticsRules::default();
    let mut timings: Vec<(&str, Vec<f64>, Vec<f64>)> = Vec::new();
    for _ in 0..5 {
        for finest_only in [false, true] {
            for (name, ms) in dashboard_round(&store, first, last, &rules, finest_only).await? {
                let line = match timings.iter().position(|(n, _, _)| *n == name) {
                    Some(at) => &mut timings[at],
                    None => {
                        timings.push((name, Vec::new(), Vec::new()));
                        timings.last_mut().expect("just pushed")
                    }
                };
                if finest_only {
                    &mut line.2
                } else {
                    &mut line.1
                }
                .push(ms);
            }
        }
    }
    let median = |all: &mut Vec<f64>| {
        all.sort_by(f64::total_cmp);
        all[all.len() / 2]
    };
    println!(
        "query                                    coarsest table: median ms  max ms | \
         full daily table: median ms | ratio (5 runs each)"
    );
    for (name, mut coarse, mut fine) in timings {
        let (c, f) = (median(&mut coarse), median(&mut fine));
        println!(
            "{name:<40} {c:>10.1} {:>8.1} | {f:>10.1} | {:>6.1}x",
            coarse[coarse.len() - 1],
            f / c.max(0.001)
        );
    }
    store.close().await;
    Ok(())
}

/// Each dashboard query once, as the API runs it: its name and milliseconds.
async fn dashboard_round(
    store: &SqlStore,
    first: Date,
    last: Date,
    rules: &AnalyticsRules,
    finest_only: bool,
) -> anyhow::Result<Vec<(&'static str, f64)>> {
    let month_start = last.first_of_month();
    let end = last.tomorrow()?;
    let query = |from, to| RollupQuery {
        finest_only,
        ..RollupQuery::city_totals(from, to)
    };
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
    rank(cells.into_iter().collect(), rules);
    round.push(("rates: last month, ranked by unit", elapsed_ms(started)));

    let started = Instant::now();
    store
        .rollup_daily(&RollupQuery {
            by_region: true,
            ..query(month_start, end)
        })
        .await?;
    round.push(("rates: last month, by region", elapsed_ms(started)));

    let started = Instant::now();
    store
        .rollup_daily(&RollupQuery {
            by_unit: true,
            category: Some("C2".into()),
            ..query(month_start, end)
        })
        .await?;
    round.push((
        "rates: last month, one category by unit",
        elapsed_ms(started),
    ));

    let started = Instant::now();
    let mid = last - jiff::Span::new().days(45);
    store
        .rollup_daily(&RollupQuery {
            by_unit: true,
            ..query(mid, end)
        })
        .await?;
    round.push(("rates: last 46 days (days + a month)", elapsed_ms(started)));

    let started = Instant::now();
    store
        .rollup_daily(&RollupQuery {
            by_day: true,
            ..query(first, end)
        })
        .await?;
    round.push(("trends: every day of the period", elapsed_ms(started)));

    let started = Instant::now();
    store
        .rollup_daily(&RollupQuery {
            scope: Scope::Units(vec![UnitId::new("U7")]),
            by_day: true,
            ..query(month_start, end)
        })
        .await?;
    round.push(("trends: one unit's scope, last month", elapsed_ms(started)));

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
    minhu_analytics::surge::surges(&hours, from_hour, to_hour, &rules.surge);
    round.push(("alerts: last 24 h against 4 weeks", elapsed_ms(started)));
    Ok(round)
}

/// Milliseconds since `started`, read as soon as a query is done: each query's own time.
fn elapsed_ms(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1000.0
}

/// Puts `count` synthetic tickets through the store as the engine writes them (each
/// event appended in its own transaction, which keeps the rollups), then recounts the
/// rollups from the event log and checks that every table is unchanged.
async fn recount_check(
    store: &SqlStore,
    count: u64,
    first: Date,
    rng: &mut StdRng,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let bar = crate::import::progress_bar(Some(count), "real tickets");
    for i in 0..count {
        let day = first + jiff::Span::new().days((i % 28) as i64);
        let log = synthetic_log(rng, day);
        let Some((created, rest)) = log.split_first() else {
            continue;
        };
        let mut ticket: Ticket = store
            .create_ticket(NewTicket {
                day,
                events: vec![created.clone()],
                region_path: None,
                idempotency: None,
                timers: Vec::new(),
                notifications: Vec::new(),
            })
            .await?
            .ticket;
        for event in rest {
            ticket.apply(event);
            store
                .append(Appended {
                    ticket: &ticket,
                    events: std::slice::from_ref(event),
                    region_path: None,
                    timers: &[],
                    fired: None,
                    notifications: &[],
                })
                .await?;
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let kept = store.rollup_tables().await?;
    let written_s = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let recounted = store.rebuild_rollups(&|_| {}).await?;
    let recount_s = started.elapsed().as_secs_f64();
    let fresh = store.rollup_tables().await?;
    anyhow::ensure!(
        recounted == count,
        "recounted {recounted} of {count} tickets"
    );
    for ((table, kept), (_, fresh)) in kept.iter().zip(&fresh) {
        anyhow::ensure!(
            kept == fresh,
            "{table}: the rollups kept by each change differ from a recount"
        );
    }
    let rows: usize = kept
        .iter()
        .map(|(_, r)| r.daily.len() + r.hourly.len())
        .sum();
    println!(
        "real run: {count} tickets written event by event in {written_s:.1} s; recounted \
         from the event log in {recount_s:.1} s: all {} rollup tables equal ({rows} rows)",
        kept.len()
    );
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
