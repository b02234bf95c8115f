//! `minhu-bench pages`: how long each page takes to answer with many tickets stored.
//!
//! The store is filled as `minhu-bench timers` fills it: real intakes of the demo city
//! (placed and routed by the engine, with their events, timers and rollups) stored a
//! thousand per transaction, spread over `days` of intake; then some are accepted and
//! some resolved through the engine. A real server answers on a loopback port in this
//! process and each page is asked for by an official of the role that uses it; the
//! figures are the p50 and p99 of `runs` round trips after one warm-up (loopback HTTP
//! adds a fraction of a millisecond to the server's time). With `--dir` (or a
//! `--database` already filled) a later run measures the same stored tickets again, so
//! two builds can be compared on one million tickets stored once.

use crate::harness::{self, BenchCity};
use jiff::{SignedDuration, Timestamp};
use minhu_core::access::{Role, Scope};
use minhu_core::event::Actor;
use minhu_core::ticket::Status;
use minhu_core::workflow::Command;
use minhu_engine::Engine;
use minhu_store::TicketFilter;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The server-time goal of every page.
const GOAL: Duration = Duration::from_millis(200);

/// What the store is filled with.
pub struct Fill {
    /// Tickets stored.
    pub tickets: usize,
    /// Over how many days of intake.
    pub days: u32,
    /// Dispatched tickets then accepted (every other one also resolved).
    pub handled: usize,
}

/// With `province`, the server serves the demo province (the same tickets, all
/// of A市's, with the other twelve cities configured beside it): run once without and
/// once with on one `--dir` to compare them on the same store.
pub async fn run(
    fill: Fill,
    runs: usize,
    database: Option<String>,
    keep: Option<PathBuf>,
    province: bool,
) -> anyhow::Result<()> {
    let BenchCity {
        _dir,
        place,
        start,
        clock,
        engine,
        store: stored,
    } = BenchCity::open_of(database, keep, province).await?;
    let backend = format!("{:?}", stored.backend());
    let window = SignedDuration::from_hours(24 * i64::from(fill.days.max(1)));
    match harness::stored_tickets(&*stored).await? {
        0 => store(&engine, &backend, &fill, start, window).await?,
        n if n == fill.tickets as u64 => {
            println!("page benchmark: {backend}, the {n} tickets already stored");
        }
        n => anyhow::bail!(
            "the store already holds {n} tickets, not {}: give --tickets {n} or a fresh --dir",
            fill.tickets
        ),
    }
    clock.set(start + window);
    harness::analyze(&place).await?;
    measure(&engine, &place, runs).await
}

/// Fills the store: the demands, then some accepted and resolved.
async fn store(
    engine: &Arc<Engine>,
    backend: &str,
    fill: &Fill,
    start: Timestamp,
    window: SignedDuration,
) -> anyhow::Result<()> {
    let Fill {
        tickets,
        days,
        handled,
    } = *fill;
    let seeding = Instant::now();
    // Half the demands routed to a unit, half waiting for the dispatchers.
    let samples = crate::timers::demo_intakes_half_undecided();
    crate::timers::seed(engine, &samples, tickets, start, window).await?;
    // Move the newest dispatched tickets along: accepted, and every other one resolved.
    let mut moved = 0;
    loop {
        let page = engine
            .list(&TicketFilter {
                status: Some(Status::Dispatched),
                limit: 500,
                ..TicketFilter::default()
            })
            .await?;
        anyhow::ensure!(
            moved > 0 || !page.tickets.is_empty(),
            "routing dispatched no ticket"
        );
        if moved == handled || page.tickets.is_empty() {
            break;
        }
        for ticket in &page.tickets {
            let actor = Actor::user("bench-unit");
            engine
                .act(&ticket.number, Command::Accept, actor.clone())
                .await?;
            if moved % 2 == 0 {
                let reply = Command::Resolve {
                    reply: "已处理 handled".into(),
                };
                engine.act(&ticket.number, reply, actor).await?;
            }
            moved += 1;
            if moved == handled {
                break;
            }
        }
    }
    println!(
        "page benchmark: {backend}, {tickets} tickets over {days} days ({moved} accepted, half of them resolved), stored in {:.0} s",
        seeding.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Times each role's page `runs` times over a loopback socket and prints p50 and p99.
async fn measure(engine: &Arc<Engine>, place: &harness::Place, runs: usize) -> anyhow::Result<()> {
    let runs = runs.max(1);
    let newest = |status: Status| async move {
        let page = engine
            .list(&TicketFilter {
                status: Some(status),
                limit: 1,
                ..TicketFilter::default()
            })
            .await?;
        page.tickets
            .into_iter()
            .next()
            .ok_or_else(|| anyhow::anyhow!("no ticket is {}", status.code()))
    };
    let number = newest(Status::Resolved).await?.number.to_string();
    // The inbox of the unit that accepted the newest ticket.
    let unit = newest(Status::Accepted)
        .await?
        .unit
        .ok_or_else(|| anyhow::anyhow!("an accepted ticket has no unit"))?;
    let token = harness::token;
    let admin = token(engine, "admin", Role::Administrator.permissions(), None).await?;
    let dispatcher = token(engine, "dispatcher", Role::Dispatcher.permissions(), None).await?;
    let handler = token(
        engine,
        "unit",
        Role::UnitHandler.permissions(),
        Some(unit.as_str()),
    )
    .await?;
    let supervisor = token(engine, "supervisor", Role::Supervisor.permissions(), None).await?;
    let base = harness::serve(engine.clone(), place).await?;
    let client = reqwest::Client::new();
    let pages = [
        (&admin, "/".to_owned()),
        (&dispatcher, "/tickets".to_owned()),
        (&dispatcher, format!("/tickets/{number}")),
        (&dispatcher, "/console".to_owned()),
        (&dispatcher, "/dispatch".to_owned()),
        (&handler, "/inbox".to_owned()),
        (&supervisor, "/dashboard".to_owned()),
        (&admin, "/admin".to_owned()),
        (&admin, "/public".to_owned()),
    ];
    println!("page                          p50 ms   p99 ms   max ms  ({runs} runs after 1)");
    let mut slow = Vec::new();
    for (token, path) in &pages {
        let url = format!("{base}{path}");
        let (mut times, _) = harness::time_gets(&client, &url, token, runs).await?;
        let at = harness::percentiles(&mut times);
        println!("{path:<28} {:>7.1} {:>8.1} {:>8.1}", at.p50, at.p99, at.max);
        // `/tickets/2026...` is "the ticket page", not one ticket's number.
        let page = match path.rsplit_once('/') {
            Some((list, number)) if number.starts_with(char::is_numeric) => format!("{list}/one"),
            _ => path.clone(),
        };
        let name = match harness::slug(&page) {
            name if name.is_empty() => "home".to_owned(),
            name => name,
        };
        harness::figure(&format!("pages.{name}.p50"), at.p50, "ms");
        if at.p99 > GOAL.as_secs_f64() * 1e3 {
            slow.push(path.clone());
        }
    }
    let mut counters = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        engine.analytics().counts(&Scope::All).await?;
        counters.push(started.elapsed());
    }
    counters.sort();
    println!(
        "tickets by status, city-wide, from the counters of migration 0009: median of 5 {:.2} ms",
        counters[2].as_secs_f64() * 1e3
    );
    println!("p99 over {} ms: {slow:?}", GOAL.as_millis());
    Ok(())
}
