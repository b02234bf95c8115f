//! `minhu bench pages`: how long each page takes to answer with many tickets stored.
//!
//! The store is filled as `bench timers` fills it: real intakes of the demo city
//! (placed and routed by the engine, with their events, timers and rollups) stored a
//! thousand per transaction, spread over `days` of intake; then some are accepted and
//! some resolved through the engine. A real server answers on a loopback port in this
//! process and each page is asked for by an official of the role that uses it; the
//! figure is the median of five round trips after one warm-up (loopback HTTP adds a
//! fraction of a millisecond to the server's time).

use crate::bench_timers::BenchCity;
use jiff::SignedDuration;
use minhu_core::access::{Permission, Role, Scope};
use minhu_core::event::Actor;
use minhu_core::ticket::Status;
use minhu_core::workflow::Command;
use minhu_store::TicketFilter;
use std::time::{Duration, Instant};

/// The server-time goal of every page.
const GOAL: Duration = Duration::from_millis(200);

pub async fn run(
    tickets: usize,
    days: u32,
    handled: usize,
    database: Option<String>,
) -> anyhow::Result<()> {
    let BenchCity {
        _dir,
        place,
        start,
        clock,
        engine,
    } = BenchCity::open(database).await?;
    let backend = format!("{:?}", engine.store.backend());
    let seeding = Instant::now();
    let window = SignedDuration::from_hours(24 * i64::from(days.max(1)));
    // Half the demands as the demo's samples (routed to a unit), half without place
    // or category: routing cannot decide them, so they wait for the dispatchers.
    let mut samples = crate::bench_timers::demo_intakes();
    let undecided: Vec<_> = samples
        .iter()
        .cloned()
        .map(|mut intake| {
            intake.address = None;
            intake.category = None;
            intake
        })
        .collect();
    samples.extend(undecided);
    crate::bench_timers::seed(&engine, &samples, tickets, start, window).await?;
    clock.set(start + window);
    // Move the newest dispatched tickets along: accepted, and every other one resolved.
    let recent = engine
        .store
        .list(&TicketFilter {
            status: Some(Status::Dispatched),
            limit: 500,
            ..TicketFilter::default()
        })
        .await?;
    let unit = recent
        .tickets
        .first()
        .and_then(|t| t.unit.clone())
        .ok_or_else(|| anyhow::anyhow!("routing dispatched no ticket"))?;
    let mut moved = 0;
    let mut page = recent;
    while moved < handled && !page.tickets.is_empty() {
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
        page = engine
            .store
            .list(&TicketFilter {
                status: Some(Status::Dispatched),
                limit: 500,
                ..TicketFilter::default()
            })
            .await?;
    }
    crate::bench_timers::analyze(&place).await?;
    println!(
        "page benchmark: {backend}, {tickets} tickets over {days} days ({moved} accepted, half of them resolved), stored in {:.0} s",
        seeding.elapsed().as_secs_f64()
    );

    let number = engine
        .store
        .list(&TicketFilter {
            status: Some(Status::Resolved),
            limit: 1,
            ..TicketFilter::default()
        })
        .await?
        .tickets
        .first()
        .map(|t| t.number.to_string())
        .ok_or_else(|| anyhow::anyhow!("no ticket was resolved"))?;
    let now = engine.now();
    let token = |name: &'static str, permissions: &'static [Permission], unit: Option<String>| {
        let store = engine.store.clone();
        async move {
            minhu_web::auth::issue_token(
                store.as_ref(),
                name,
                permissions,
                unit.as_deref(),
                None,
                now,
            )
            .await
        }
    };
    let admin = token("admin", Role::Administrator.permissions(), None).await?;
    let dispatcher = token("dispatcher", Role::Dispatcher.permissions(), None).await?;
    let handler = token(
        "unit",
        Role::UnitHandler.permissions(),
        Some(unit.to_string()),
    )
    .await?;
    let supervisor = token("supervisor", Role::Supervisor.permissions(), None).await?;
    let base = crate::bench_intake::serve(engine.clone(), &place).await?;
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
    println!("page                         median ms   max ms  (5 runs after 1)");
    let mut slow = Vec::new();
    for (token, path) in &pages {
        let mut runs = Vec::new();
        for run in 0..6 {
            let started = Instant::now();
            let response = client
                .get(format!("{base}{path}"))
                .bearer_auth(token.as_str())
                .send()
                .await?;
            anyhow::ensure!(
                response.status().is_success(),
                "{path}: HTTP {}",
                response.status()
            );
            response.bytes().await?;
            if run > 0 {
                runs.push(started.elapsed());
            }
        }
        runs.sort();
        let median = runs[runs.len() / 2];
        println!(
            "{path:<28} {:>9.1} {:>8.1}",
            median.as_secs_f64() * 1e3,
            runs[runs.len() - 1].as_secs_f64() * 1e3
        );
        if median > GOAL {
            slow.push(path.clone());
        }
    }
    let mut counters = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        engine.store.count_by_status(&Scope::All).await?;
        counters.push(started.elapsed());
    }
    counters.sort();
    println!(
        "tickets by status, city-wide, from the counters of migration 0009: median of 5 {:.2} ms",
        counters[2].as_secs_f64() * 1e3
    );
    println!("over {} ms: {slow:?}", GOAL.as_millis());
    Ok(())
}
