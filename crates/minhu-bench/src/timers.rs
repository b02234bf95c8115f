//! `minhu-bench timers`: the timer worker against a store of many open tickets.
//!
//! The tickets are real intakes of the demo city (checked, placed, routed and dispatched
//! to a street's unit by the engine, with the timers the core gives them: respond and
//! resolve warnings and deadlines), stored with `Store::create_tickets` a thousand per
//! transaction, so a million fit in minutes rather than hours. An engine on a
//! [`ManualClock`](minhu_core::ManualClock) then runs the real [`TimerWorker`]: idle ticks (nothing due), ticks
//! with a few timers due, and one catch-up of `due` timers after the clock jumps, which
//! fire through `Engine::act` like any action. Each fired timer must have written exactly
//! one event, and a second pass must find nothing: the benchmark fails otherwise.

use crate::harness::{self, BenchCity, print_times};
use crate::intake::SAMPLES;
use jiff::{SignedDuration, Timestamp};
use minhu_core::deadline::TierCode;
use minhu_core::event::{Actor, SystemPart};
use minhu_core::ids::TicketNumber;
use minhu_core::taxonomy::CategoryPath;
use minhu_core::ticket::{Channel, Citizen, Intake, Kind};
use minhu_engine::timers::{FireReport, TimerWorker};
use minhu_engine::{Engine, Lived};
use std::collections::BTreeSet;
use std::time::Instant;

/// Tickets per transaction while seeding.
const BATCH: usize = 1000;
/// Intake is spread over this many hours: less than the earliest timer a ticket gets
/// (the 15d tier's response warning, 80% of 24 h), so nothing is due when seeding ends.
const INTAKE_HOURS: i64 = 18;

pub async fn run(
    tickets: usize,
    due: usize,
    ticks: usize,
    workers: usize,
    database: Option<String>,
) -> anyhow::Result<()> {
    let BenchCity {
        _dir,
        place,
        start,
        clock,
        engine,
        store,
    } = BenchCity::open(database, None).await?;
    let backend = format!("{:?}", store.backend());
    let samples = dispatched_samples(&engine)?;

    let seeding = Instant::now();
    let window = SignedDuration::from_hours(INTAKE_HOURS);
    let timers = seed(&engine, &samples, tickets, start, window).await?;
    let seed_s = seeding.elapsed().as_secs_f64();
    println!(
        "timer benchmark: {backend}, {tickets} open tickets with {timers} timers, seeded in {seed_s:.0} s ({:.0} tickets/s)",
        tickets as f64 / seed_s
    );
    harness::analyze(&place).await?;
    let end_of_intake = start + SignedDuration::from_hours(INTAKE_HOURS);
    clock.set(end_of_intake);
    anyhow::ensure!(
        store.due_timers(end_of_intake, 1).await?.is_empty(),
        "timers were due before the benchmark moved the clock"
    );

    let worker = TimerWorker::new(engine.clone());
    let mut idle = Vec::with_capacity(ticks);
    for _ in 0..ticks {
        let started = Instant::now();
        worker.tick().await;
        idle.push(started.elapsed().as_secs_f64() * 1e3);
    }
    print_times("idle tick (nothing due)", &mut idle);

    // A few due at a time: the clock moves to the tenth earliest due moment each round.
    let mut few = Vec::with_capacity(ticks);
    for _ in 0..ticks.min(50) {
        let next = store.due_timers(Timestamp::MAX, 10).await?;
        let Some(last) = next.last() else { break };
        clock.set(last.due_at + SignedDuration::from_millis(1));
        let started = Instant::now();
        worker.tick().await;
        few.push(started.elapsed().as_secs_f64() * 1e3);
    }
    print_times("tick with the 10 earliest timers due", &mut few);

    // The catch-up: the clock jumps past the `due` earliest timers.
    let next = store.due_timers(Timestamp::MAX, due as u32).await?;
    let last = next
        .last()
        .ok_or_else(|| anyhow::anyhow!("no timers left to fire"))?;
    clock.set(last.due_at + SignedDuration::from_millis(1));
    let waiting = engine
        .due_timers(
            engine.now() + SignedDuration::from_millis(1),
            (2 * due) as u32,
        )
        .await?;
    let touched: BTreeSet<String> = waiting.iter().map(|row| row.ticket.clone()).collect();
    let started = Instant::now();
    let mut passes = tokio::task::JoinSet::new();
    for _ in 0..workers.max(1) {
        let worker = TimerWorker::new(engine.clone());
        passes.spawn(async move { worker.run_due().await });
    }
    let mut total = FireReport::default();
    while let Some(report) = passes.join_next().await {
        let report = report??;
        total.fired += report.fired;
        total.voided += report.voided;
        total.deferred += report.deferred;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "catch-up: {} due timers on {} tickets, {workers} workers: {:.2} s ({:.0} timers/s): fired {}, voided {}, deferred {}",
        waiting.len(),
        touched.len(),
        seconds,
        waiting.len() as f64 / seconds,
        total.fired,
        total.voided,
        total.deferred
    );
    let again = worker.run_due().await?;
    anyhow::ensure!(
        again == FireReport::default(),
        "a second pass found work: {again:?}"
    );
    exactly_once(&engine, &touched).await?;
    println!(
        "exactly once: each of the {} tickets has one event per fired timer row; a second pass fired nothing",
        touched.len()
    );
    Ok(())
}

/// Stores `tickets` demands, `samples` in turn, through [`Engine::intake_many`]
/// ([`BATCH`] per transaction), received one after another evenly over `window` from
/// `start`, with a progress bar. Returns how many timers the stored tickets have.
pub async fn seed(
    engine: &Engine,
    samples: &[Intake],
    tickets: usize,
    start: Timestamp,
    window: SignedDuration,
) -> anyhow::Result<usize> {
    let bar = harness::progress_bar(Some(tickets as u64), "seeding");
    let step = window / tickets.max(1) as i32;
    let mut timers = 0;
    for first in (0..tickets).step_by(BATCH) {
        let intakes = (first..tickets.min(first + BATCH))
            .map(|i| Lived::received(samples[i % samples.len()].clone(), start + step * i as i32))
            .collect::<Vec<_>>();
        let count = intakes.len();
        let stored = engine.intake_many(intakes, Actor::citizen()).await?;
        timers += stored
            .iter()
            .map(|t| minhu_core::timer::pending(t, engine.city()).len())
            .sum::<usize>();
        bar.inc(count as u64);
    }
    bar.finish_and_clear();
    Ok(timers)
}

/// The benchmark demands of the demo city (`minhu-bench intake`'s samples) as intakes, each
/// with its own phone number.
pub fn demo_intakes() -> Vec<Intake> {
    SAMPLES
        .iter()
        .enumerate()
        .map(|(i, (title, description, address, category))| Intake {
            channel: Channel::Web,
            kind: Kind::Complaint,
            title: (*title).into(),
            description: (*description).into(),
            address: Some((*address).to_owned()).filter(|a| !a.is_empty()),
            location: None,
            citizen: Citizen {
                phone: Some(format!("1380000{i:04}")),
                ..Citizen::default()
            },
            category: Some(CategoryPath::new(category)),
            region: None,
            tier: TierCode("15d".into()),
            external_ref: None,
            city: None,
        })
        .collect()
}

/// The demo's samples, then each again without place or category: routing cannot
/// decide those, so they wait for the dispatchers.
pub fn demo_intakes_half_undecided() -> Vec<Intake> {
    let mut samples = demo_intakes();
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
    samples
}

/// The demo samples that routing dispatches on the 15d tier (so each gets timers and
/// the intake window stays before the earliest of them).
fn dispatched_samples(engine: &Engine) -> anyhow::Result<Vec<Intake>> {
    let mut kept = Vec::new();
    for intake in demo_intakes() {
        let (_, decision) = engine.preview(intake.clone())?;
        if decision.assignment.is_some() && decision.tier.is_none() {
            kept.push(intake);
        }
    }
    anyhow::ensure!(!kept.is_empty(), "no demo sample is dispatched by routing");
    Ok(kept)
}

/// Every touched ticket has as many events by `system:timers` as fired rows in the
/// timer index: no timer fired twice, none fired without its event.
async fn exactly_once(engine: &Engine, touched: &BTreeSet<String>) -> anyhow::Result<()> {
    let timers = Actor::system(SystemPart::Timers);
    for number in touched {
        let number = TicketNumber::parse(number)?;
        let events = engine
            .events(&number)
            .await?
            .into_iter()
            .filter(|e| e.actor == timers)
            .count();
        let fired = engine
            .timers_of(&number)
            .await?
            .into_iter()
            .filter(|row| row.outcome.as_deref() == Some("fired"))
            .count();
        anyhow::ensure!(
            events == fired,
            "ticket {number}: {events} timer events for {fired} fired timers"
        );
    }
    Ok(())
}
