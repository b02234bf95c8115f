//! `minhu-bench analytics`: how fast the dashboards answer over the rollups of a large
//! store.
//!
//! Synthetic tickets (a year of intake by default) are filed in 200 communities of the
//! demo city, handled by each community's own unit (a returned one goes to its street
//! office), in 40 of its third-level categories, with returns, late replies, callbacks
//! and reopenings. Each ticket's log is counted by `minhu_core::rollup::Rollup::of`, the
//! function whose difference the store adds in every change's transaction; the counts are
//! summed a month at a time and written with `Store::add_rollup`, the same code that
//! writes every rollup table (the fine daily one and its coarser copies) in a change's
//! transaction. The tickets themselves are not written: the dashboards read only the
//! rollup tables (the hotspot list, which reads tickets, has its own bench), and ten
//! million intakes would take most of a day on a small machine.
//!
//! Then a real server answers on a loopback port and every analytics route is asked
//! for, with the city's own ids, by a supervisor and by a unit's leader: the figures
//! are server time plus a loopback round trip, the goal 300 ms. The alert watch's pass
//! (a background job every five minutes, not a dashboard read) is timed apart. Last, as
//! a baseline in the same go, the store's reads are timed on the tables it picks and on
//! the full daily table alone (the reads before migration 0011).
//!
//! First, `--real` tickets go through the store itself (created, then each event
//! appended in its own transaction, as the engine does), and the rollup tables kept that
//! way are compared with a recount from the event log (`Store::rebuild_rollups`). With
//! `--dir`, a later run finds the rollups already loaded and measures them again.

use crate::harness::{self, BenchCity, elapsed_ms, percentiles, time_gets, token};
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use minhu_analytics::Tally;
use minhu_analytics::rates::rank;
use minhu_core::City;
use minhu_core::access::{Role, Scope};
use minhu_core::city::AnalyticsRules;
use minhu_core::deadline::{Deadlines, TierCode};
use minhu_core::event::{Actor, Change, Event, SystemPart};
use minhu_core::ids::{RegionId, TicketNumber, UnitId};
use minhu_core::region::RegionLevel;
use minhu_core::rollup::{Metric, Rollup, epoch_hour};
use minhu_core::taxonomy::CategoryPath;
use minhu_core::ticket::{Channel, Citizen, Intake, Kind, Rating, Satisfaction, Ticket};
use minhu_core::unit::UnitLevel;
use minhu_store::{Appended, HourlyQuery, NewTicket, RollupQuery, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const PLACES: usize = 200;
const CATEGORIES: usize = 40;
/// The answer-time goal of every dashboard read.
const GOAL: Duration = Duration::from_millis(300);

/// What to load and how often to ask.
pub struct Load {
    /// Tickets counted, spread evenly over `days`.
    pub tickets: u64,
    pub days: u32,
    /// Tickets first written through the store, event by event, then recounted.
    pub real: u64,
    /// Requests timed per route (after one warm-up).
    pub runs: usize,
}

pub async fn run(
    load: Load,
    database: Option<String>,
    keep: Option<PathBuf>,
) -> anyhow::Result<()> {
    let BenchCity {
        _dir,
        place,
        clock,
        engine,
        store: bench_store,
        ..
    } = BenchCity::open(database, keep).await?;
    let city = engine.city().clone();
    let cells = Cells::of(&city)?;
    // A year of intake up to the end of February 2026, read on its last evening: the
    // month so far is a whole month, and the alert watch sees the last day's hours.
    let last = jiff::civil::date(2026, 2, 28);
    let first = last - jiff::Span::new().days(i64::from(load.days.max(1)) - 1);
    let end = last.tomorrow()?;
    clock.set(
        last.at(20, 0, 0, 0)
            .to_zoned(city.timezone.clone())?
            .timestamp(),
    );
    let store = &*bench_store;
    let backend = format!("{:?}", store.backend());
    let stored = received(store, first, end).await?;
    if stored == 0 {
        let mut rng = StdRng::seed_from_u64(2026);
        if load.real > 0 {
            recount_check(store, &cells, load.real, first, &mut rng).await?;
        }
        fill(store, &cells, load.tickets, first, load.days, &mut rng).await?;
        harness::analyze(&place).await?;
    } else {
        println!("analytics benchmark: {backend}, {stored} tickets' rollups already stored");
    }
    for (table, rows) in store.rollup_sizes().await? {
        println!("  {table:<22} {rows:>12} rows");
    }

    let started = Instant::now();
    let raised = engine.raise_alerts().await?;
    println!(
        "alert watch, one pass (background, every 5 min; not a dashboard read): {:.1} ms, {} alerts raised",
        elapsed_ms(started),
        raised.len()
    );

    let slow = over_http(&engine, &place, &cells, first, last, load.runs).await?;
    store_baseline(store, &cells, first, last, &city.analytics).await?;
    println!("p99 over {} ms: {slow:?}", GOAL.as_millis());
    Ok(())
}

/// One community of the synthetic city: where demands are filed, the unit that gets
/// them first and the one that takes those returned.
struct Community {
    region: RegionId,
    unit: UnitId,
    street: UnitId,
}

/// The demo city's cells the synthetic demands are spread over.
struct Cells {
    communities: Vec<Community>,
    categories: Vec<CategoryPath>,
}

impl Cells {
    fn of(city: &City) -> anyhow::Result<Self> {
        let serving = |level, region: &RegionId| {
            city.units
                .serving(level, None, region, &city.regions)
                .map(|u| u.id.clone())
        };
        let communities: Vec<Community> = city
            .regions
            .all()
            .iter()
            .filter(|r| r.level == RegionLevel::Community)
            .filter_map(|r| {
                let street = serving(UnitLevel::Street, &r.id)?;
                Some(Community {
                    region: r.id.clone(),
                    unit: serving(UnitLevel::Community, &r.id).unwrap_or_else(|| street.clone()),
                    street,
                })
            })
            .take(PLACES)
            .collect();
        let leaves: Vec<&CategoryPath> = city
            .taxonomy
            .paths()
            .filter(|p| p.levels().count() == 3)
            .collect();
        let categories: Vec<CategoryPath> = leaves
            .iter()
            .step_by((leaves.len() / CATEGORIES).max(1))
            .take(CATEGORIES)
            .map(|p| (*p).clone())
            .collect();
        anyhow::ensure!(
            communities.len() == PLACES && categories.len() == CATEGORIES,
            "the demo city has {} communities with a street office and {} third-level \
             categories to spread over; the bench wants {PLACES} and {CATEGORIES}",
            communities.len(),
            categories.len()
        );
        Ok(Self {
            communities,
            categories,
        })
    }
}

/// Demands received from `first` to before `end` by the rollups' count.
async fn received(store: &dyn Store, first: Date, end: Date) -> anyhow::Result<i64> {
    Ok(store
        .rollup_daily(&RollupQuery::city_totals(first, end))
        .await?
        .iter()
        .filter(|row| row.metric == Metric::Received)
        .map(|row| row.n)
        .sum())
}

/// Counts `tickets` synthetic logs a month at a time and adds each month's sums.
async fn fill(
    store: &dyn Store,
    cells: &Cells,
    tickets: u64,
    first: Date,
    days: u32,
    rng: &mut StdRng,
) -> anyhow::Result<()> {
    let per_day = tickets / u64::from(days);
    let bar = harness::progress_bar(Some(per_day * u64::from(days)), "counting");
    let (mut counting, mut writing) = (Duration::ZERO, Duration::ZERO);
    let mut month = Rollup::default();
    let mut rows = 0usize;
    for d in 0..days {
        let day = first + jiff::Span::new().days(i64::from(d));
        let started = Instant::now();
        for n in 0..per_day {
            let number = TicketNumber::compose(day, n + 1);
            month.add(&Rollup::of(&number, &synthetic_log(rng, cells, day)));
        }
        counting += started.elapsed();
        bar.inc(per_day);
        if day.tomorrow()?.day() == 1 || d + 1 == days {
            rows += month.daily.len() + month.hourly.len();
            let started = Instant::now();
            store.add_rollup(&std::mem::take(&mut month)).await?;
            writing += started.elapsed();
        }
    }
    bar.finish_and_clear();
    let total = per_day * u64::from(days);
    let load_s = (counting + writing).as_secs_f64();
    println!(
        "loaded {total} tickets over {days} days: {rows} daily and hourly rollup rows (plus \
         their coarser copies) in {load_s:.1} s ({:.0} tickets/s): counting {:.1} s, \
         writing {:.1} s",
        total as f64 / load_s,
        counting.as_secs_f64(),
        writing.as_secs_f64()
    );
    Ok(())
}

/// Asks for every dashboard read over HTTP, `runs` times each after a warm-up, and
/// prints p50, p99 and the worst; returns the reads whose p99 missed the goal.
async fn over_http(
    engine: &std::sync::Arc<minhu_engine::Engine>,
    place: &harness::Place,
    cells: &Cells,
    first: Date,
    last: Date,
    runs: usize,
) -> anyhow::Result<Vec<String>> {
    let community = &cells.communities[7];
    let (supervisor, leader) = (Role::Supervisor, Role::UnitLeader);
    let supervisor = token(engine, supervisor.code(), supervisor.permissions(), None).await?;
    let unit = Some(community.unit.as_str());
    let leader = token(engine, leader.code(), leader.permissions(), unit).await?;
    let district = engine
        .city()
        .regions
        .ancestry(&community.region)
        .find(|r| r.level == RegionLevel::District)
        .map(|r| r.id.to_string())
        .unwrap_or_default();
    let category = cells.categories[2].first_level().to_owned();
    let previous = last.first_of_month().yesterday()?.strftime("%Y-%m");
    let api = "/api/v1/analytics";
    let reads = [
        (
            &supervisor,
            format!("{api}/rates"),
            "rates: this month, units ranked",
        ),
        (
            &supervisor,
            format!("{api}/rates?by=region"),
            "rates: this month, by district",
        ),
        (
            &supervisor,
            format!("{api}/rates?category={category}"),
            "rates: this month, one category",
        ),
        (
            &supervisor,
            format!("{api}/rates?month={previous}&region={district}"),
            "rates: last month, one district",
        ),
        (
            &supervisor,
            format!(
                "{api}/rates?from={}&to={last}",
                last - jiff::Span::new().days(45)
            ),
            "rates: 46 days (days + a month)",
        ),
        (
            &supervisor,
            format!("{api}/rates?format=xlsx"),
            "rates: this month as XLSX",
        ),
        (
            &supervisor,
            format!("{api}/trends?from={first}&to={last}"),
            "trends: every day of the year",
        ),
        (
            &supervisor,
            format!("{api}/trends?from={first}&to={last}&category={category}"),
            "trends: one category, the year",
        ),
        (
            &supervisor,
            format!("{api}/trends?from={first}&to={last}&region={district}"),
            "trends: one district, the year",
        ),
        (
            &leader,
            format!("{api}/trends"),
            "trends: one unit, this month",
        ),
        (
            &supervisor,
            format!("{api}/monthly-topic"),
            "monthly topic (6 months)",
        ),
        (&supervisor, format!("{api}/alerts"), "alerts: last 24 h"),
        (
            &supervisor,
            "/public".to_owned(),
            "public page: 12 months by district",
        ),
    ];
    let base = harness::serve(engine.clone(), place).await?;
    let client = reqwest::Client::new();
    println!(
        "dashboard read over HTTP                     p50 ms   p99 ms   max ms  ({runs} runs after 1)"
    );
    let mut slow = Vec::new();
    for (token, path, name) in &reads {
        let url = format!("{base}{path}");
        let (mut times, _) = time_gets(&client, &url, token, runs).await?;
        let at = percentiles(&mut times);
        println!("{name:<44} {:>7.1} {:>8.1} {:>8.1}", at.p50, at.p99, at.max);
        harness::figure(
            &format!("analytics.{}.p50", harness::slug(name)),
            at.p50,
            "ms",
        );
        if at.p99 > GOAL.as_secs_f64() * 1e3 {
            slow.push(path.clone());
        }
    }
    Ok(slow)
}

/// The store's sums behind the dashboards, five times each, on the tables the store
/// picks and on the full daily table alone: the baseline of migration 0011.
async fn store_baseline(
    store: &dyn Store,
    cells: &Cells,
    first: Date,
    last: Date,
    rules: &AnalyticsRules,
) -> anyhow::Result<()> {
    let mut timings: Vec<(&str, Vec<f64>, Vec<f64>)> = Vec::new();
    for _ in 0..5 {
        for finest_only in [false, true] {
            let round = store_round(store, cells, first, last, rules, finest_only).await?;
            for (name, ms) in round {
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
    println!(
        "store read                               picked table: median ms  max ms | \
         full daily table: median ms | ratio (5 runs each)"
    );
    for (name, mut picked, mut fine) in timings {
        let (p, f) = (percentiles(&mut picked), percentiles(&mut fine).p50);
        println!(
            "{name:<40} {:>10.1} {:>8.1} | {f:>10.1} | {:>6.1}x",
            p.p50,
            p.max,
            f / p.p50.max(0.001)
        );
    }
    Ok(())
}

/// Each store read once: its name and milliseconds.
async fn store_round(
    store: &dyn Store,
    cells: &Cells,
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
    let mut units: BTreeMap<String, Tally> = BTreeMap::new();
    for row in &month_by_unit {
        units
            .entry(row.unit.clone().unwrap_or_default())
            .or_default()
            .add(row.metric, row.n);
    }
    rank(units.into_iter().collect(), rules);
    round.push(("rates: this month, units ranked", elapsed_ms(started)));

    let started = Instant::now();
    store
        .rollup_daily(&RollupQuery {
            by_region: true,
            ..query(month_start, end)
        })
        .await?;
    round.push(("rates: this month, by region", elapsed_ms(started)));

    let started = Instant::now();
    store
        .rollup_daily(&RollupQuery {
            by_unit: true,
            category: Some(cells.categories[2].first_level().to_owned()),
            ..query(month_start, end)
        })
        .await?;
    round.push(("rates: this month, one category", elapsed_ms(started)));

    let started = Instant::now();
    store
        .rollup_daily(&RollupQuery {
            by_unit: true,
            ..query(last - jiff::Span::new().days(45), end)
        })
        .await?;
    round.push(("rates: 46 days (days + a month)", elapsed_ms(started)));

    let started = Instant::now();
    store
        .rollup_daily(&RollupQuery {
            by_day: true,
            ..query(first, end)
        })
        .await?;
    round.push(("trends: every day of the year", elapsed_ms(started)));

    let started = Instant::now();
    store
        .rollup_daily(&RollupQuery {
            scope: Scope::Units(vec![cells.communities[7].unit.clone()]),
            by_day: true,
            ..query(month_start, end)
        })
        .await?;
    round.push(("trends: one unit, this month", elapsed_ms(started)));

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
    round.push(("alert watch: 24 h against 4 weeks", elapsed_ms(started)));
    Ok(round)
}

/// Puts `count` synthetic tickets through the store as the engine writes them (each
/// event appended in its own transaction, which keeps the rollups), then recounts the
/// rollups from the event log and checks that every table is unchanged.
async fn recount_check(
    store: &dyn Store,
    cells: &Cells,
    count: u64,
    first: Date,
    rng: &mut StdRng,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let bar = harness::progress_bar(Some(count), "real tickets");
    for i in 0..count {
        let day = first + jiff::Span::new().days((i % 28) as i64);
        let log = synthetic_log(rng, cells, day);
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
                audit: None,
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
fn synthetic_log(rng: &mut StdRng, cells: &Cells, day: Date) -> Vec<Event> {
    let community = &cells.communities[rng.random_range(0..cells.communities.len())];
    let category = &cells.categories[rng.random_range(0..cells.categories.len())];
    let minute = rng.random_range(0..24 * 60);
    let start = day
        .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
        .map(|z| z.timestamp())
        .unwrap_or(Timestamp::UNIX_EPOCH)
        + SignedDuration::from_mins(minute);
    let mut events = Vec::with_capacity(10);
    let mut at = start;
    let mut push = |events: &mut Vec<Event>, minutes: i64, change: Change| {
        at += SignedDuration::from_mins(minutes);
        events.push(Event {
            seq: events.len() as u32 + 1,
            at,
            actor: Actor::system(SystemPart::Bench),
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
            city: None,
        }),
    );
    push(
        &mut events,
        1,
        Change::Reclassified {
            category: Some(category.clone()),
            region: Some(community.region.clone()),
            tier: None,
            reason: None,
        },
    );
    let deadlines = Deadlines {
        respond_by: start + SignedDuration::from_hours(24),
        resolve_by: start + SignedDuration::from_hours(15 * 24),
    };
    let dispatch = |unit: &UnitId| Change::Dispatched {
        unit: unit.clone(),
        deadlines,
        reason: "bench".into(),
        basis: None,
    };
    push(&mut events, 2, dispatch(&community.unit));
    if rng.random_bool(0.05) {
        push(
            &mut events,
            60,
            Change::Returned {
                reason: "bench".into(),
            },
        );
        push(&mut events, 30, dispatch(&community.street));
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
