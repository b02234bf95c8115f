//! Timers fire through the engine on a manual clock: catch-up after downtime on SQLite,
//! and two engines sharing one PostgreSQL database firing each timer exactly once.

use jiff::SignedDuration;
use minhu_core::ManualClock;
use minhu_core::event::{Actor, Event};
use minhu_core::taxonomy::CategoryPath;
use minhu_core::ticket::{Channel, Citizen, Intake, Kind, Status};
use minhu_engine::Engine;
use minhu_engine::timers::TimerWorker;
use minhu_store::SqlStore;
use minhu_testkit::city::demo_city;
use minhu_testkit::db::TestDb;
use std::collections::HashMap;
use std::sync::Arc;

fn complaint(n: usize) -> Intake {
    Intake {
        channel: Channel::Phone,
        kind: Kind::Complaint,
        title: format!("物业不作为 {n}"),
        description: "小区电梯坏了一个月物业不修".into(),
        address: Some("A3区天顶街道尖山社区".into()),
        location: None,
        citizen: Citizen {
            phone: Some("13812345678".into()),
            ..Citizen::default()
        },
        category: Some(CategoryPath::new("城乡建设/住房保障与房地产/物业服务")),
        region: None,
        tier: minhu_core::deadline::TierCode("2h".into()),
        external_ref: None,
        city: None,
    }
}

fn start() -> Arc<ManualClock> {
    minhu_testkit::clock("2026-11-23T02:00:00Z")
}

/// How many events of each type the log holds.
fn counts(events: &[Event]) -> HashMap<&'static str, usize> {
    let mut counts = HashMap::new();
    for event in events {
        *counts.entry(event.change.name()).or_default() += 1;
    }
    counts
}

#[tokio::test]
async fn timers_catch_up_after_downtime_and_fire_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = SqlStore::connect(&url).await.unwrap();
    let clock = start();
    let engine = Arc::new(Engine::new(Arc::new(store), demo_city(), clock.clone()));
    let ticket = engine
        .intake(complaint(0), Actor::citizen(), None)
        .await
        .unwrap()
        .ticket;
    assert_eq!(ticket.status, Status::Dispatched);
    let worker = TimerWorker::new(engine.clone());
    assert_eq!(
        worker.run_due().await.unwrap().fired,
        0,
        "nothing is due yet"
    );
    // Two days of downtime: every timer of the 2h tier is long due.
    clock.advance(SignedDuration::from_hours(48));
    let report = worker.run_due().await.unwrap();
    let events = engine.events(&ticket.number).await.unwrap();
    let seen = counts(&events);
    // respond warning + overdue, resolve warning + overdue, two escalations.
    assert_eq!(seen.get("warned"), Some(&2), "{seen:?}");
    assert_eq!(seen.get("overdue"), Some(&2), "{seen:?}");
    assert_eq!(seen.get("escalated"), Some(&2), "{seen:?}");
    assert_eq!(report.fired, 6);
    assert_eq!(
        worker.run_due().await.unwrap().fired,
        0,
        "nothing fires twice"
    );
    let ticket = engine.ticket(&ticket.number).await.unwrap();
    assert_eq!(
        ticket.alerts.flag(),
        Some(minhu_core::timer::Flag::Escalated)
    );
    // Accepting clears the response clock; resolving leaves only the callback timer.
    engine
        .act(
            &ticket.number,
            minhu_core::workflow::Command::Accept,
            Actor::user("h"),
        )
        .await
        .unwrap();
    let resolve = minhu_core::workflow::Command::Resolve {
        reply: "已修好".into(),
    };
    engine
        .act(&ticket.number, resolve, Actor::user("h"))
        .await
        .unwrap();
    let timers = engine.timers_of(&ticket.number).await.unwrap();
    let open: Vec<_> = timers.iter().filter(|t| t.fired_at.is_none()).collect();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].kind, minhu_core::timer::TimerKind::CallbackDue);
    clock.advance(SignedDuration::from_hours(73));
    assert_eq!(worker.run_due().await.unwrap().fired, 1);
    let ticket = engine.ticket(&ticket.number).await.unwrap();
    assert!(ticket.alerts.callback_due);
}

#[tokio::test]
async fn two_engines_on_one_postgres_fire_each_timer_once() {
    let db = TestDb::postgres().await;
    let clock = start();
    let engine =
        |store: SqlStore| Arc::new(Engine::new(Arc::new(store), demo_city(), clock.clone()));
    let one = engine(SqlStore::connect(&db.url).await.unwrap());
    let two = engine(SqlStore::connect(&db.url).await.unwrap());
    const TICKETS: usize = 60;
    let mut numbers = Vec::new();
    for n in 0..TICKETS {
        let created = one
            .intake(complaint(n), Actor::citizen(), None)
            .await
            .unwrap();
        numbers.push(created.ticket.number);
    }
    clock.advance(SignedDuration::from_hours(48));
    let (a, b) = (TimerWorker::new(one.clone()), TimerWorker::new(two.clone()));
    let (ra, rb) = tokio::join!(a.run_due(), b.run_due());
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.fired + rb.fired, 6 * TICKETS as u64, "{ra:?} {rb:?}");
    for number in &numbers {
        let seen = counts(&two.events(number).await.unwrap());
        assert_eq!(seen.get("warned"), Some(&2), "{number}: {seen:?}");
        assert_eq!(seen.get("overdue"), Some(&2), "{number}: {seen:?}");
        assert_eq!(seen.get("escalated"), Some(&2), "{number}: {seen:?}");
    }
    assert_eq!(
        one.due_timers(jiff::Timestamp::MAX, 10).await.unwrap(),
        Vec::new(),
        "timers left unfired"
    );
    db.close().await;
}
