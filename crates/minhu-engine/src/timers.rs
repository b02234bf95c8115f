//! The timer worker: fires due timers through the same path as any action.
//!
//! It claims due rows of the store's timer index in batches and sends each one as
//! `Command::Fire` by `system:timers` through [`Engine::act`], which appends the event
//! and marks the row fired in one transaction. A timer the ticket no longer has (it was
//! accepted, extended, or another worker fired it first) is refused by the core and
//! voided. Several workers - in one process or in several `minhu serve` processes on one
//! PostgreSQL - may run at once: claims skip each other's rows, and the version check on
//! append plus the core's refusal make each timer fire once. After downtime the first
//! pass catches up on everything that fell due meanwhile.

use crate::{Engine, EngineError};
use jiff::SignedDuration;
use minhu_core::event::{Actor, SystemPart};
use minhu_core::workflow::Command;
use minhu_store::DueTimer;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How many due timers one claim takes.
const BATCH: u32 = 500;
/// How long a claim holds before another worker may take the row (a crashed worker).
const LEASE: SignedDuration = SignedDuration::from_secs(120);
/// The longest the worker sleeps without looking (a timer added by another process
/// wakes no one here).
const MAX_SLEEP: Duration = Duration::from_secs(30);
const MIN_SLEEP: Duration = Duration::from_millis(500);

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FireReport {
    /// Timers that recorded their event.
    pub fired: u64,
    /// Timers the ticket no longer had.
    pub voided: u64,
    /// Timers left for a later pass (the ticket was busy, or storage failed).
    pub deferred: u64,
}

pub struct TimerWorker {
    engine: Arc<Engine>,
    id: String,
}

impl TimerWorker {
    pub fn new(engine: Arc<Engine>) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        // Unique across processes sharing a database: the process id, the start moment
        // and a counter for several workers in one process.
        let id = format!(
            "{}-{}-{}",
            std::process::id(),
            jiff::Timestamp::now().as_millisecond(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        Self { engine, id }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Fires every timer due by the engine's clock, batch after batch, until none is
    /// left that this worker can claim.
    pub async fn run_due(&self) -> Result<FireReport, EngineError> {
        let mut report = FireReport::default();
        loop {
            let now = self.engine.now();
            let claimed = self
                .engine
                .store
                .claim_timers(&self.id, now, LEASE, BATCH)
                .await?;
            if claimed.is_empty() {
                return Ok(report);
            }
            let mut progress = false;
            for due in &claimed {
                match self.fire(due).await {
                    Outcome::Fired => report.fired += 1,
                    Outcome::Voided => report.voided += 1,
                    Outcome::Deferred => {
                        report.deferred += 1;
                        continue;
                    }
                }
                progress = true;
            }
            // Everything claimed was deferred: its claims hold it until the lease ends,
            // so stop here rather than spin.
            if !progress {
                return Ok(report);
            }
        }
    }

    async fn fire(&self, due: &DueTimer) -> Outcome {
        let command = Command::Fire {
            timer: due.timer.kind,
        };
        let now = self.engine.now();
        match self
            .engine
            .act(&due.ticket, command, Actor::system(SystemPart::Timers))
            .await
        {
            Ok(_) => {
                crate::metrics::count_timer(due.timer.kind.code(), "fired");
                Outcome::Fired
            }
            Err(EngineError::Invalid(_) | EngineError::NotAllowed { .. }) => {
                match self.engine.store.void_timer(due, now).await {
                    Ok(()) => {
                        crate::metrics::count_timer(due.timer.kind.code(), "voided");
                        Outcome::Voided
                    }
                    Err(error) => {
                        tracing::warn!(%error, ticket = %due.ticket, "could not void a timer");
                        Outcome::Deferred
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%error, ticket = %due.ticket, kind = due.timer.kind.code(), "a timer could not fire; it is retried when its claim ends");
                Outcome::Deferred
            }
        }
    }

    /// Runs until the process ends: a tick, then sleep until the next timer is due, a
    /// change wakes it, or `MAX_SLEEP` passes.
    pub async fn run(self) {
        loop {
            let wait = self.tick().await;
            tokio::select! {
                _ = self.engine.timers_changed.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// One turn of the worker's loop: fire what is due ([`TimerWorker::run_due`]), then
    /// read when the next timer is due and say how long to sleep. This is what every
    /// idle tick costs the database (`minhu bench timers` measures it).
    pub async fn tick(&self) -> Duration {
        match crate::metrics::timed_pass("timers", self.run_due()).await {
            Ok(report) if report != FireReport::default() => {
                tracing::info!(
                    fired = report.fired,
                    voided = report.voided,
                    deferred = report.deferred,
                    "timers"
                );
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "the timer pass failed"),
        }
        match self.engine.store.next_timer_due().await {
            Ok(Some(next)) => {
                let left = next.duration_since(self.engine.now());
                // A floor: rows due but claimed by another worker must not spin us.
                Duration::try_from(left.max(SignedDuration::ZERO))
                    .unwrap_or(MAX_SLEEP)
                    .clamp(MIN_SLEEP, MAX_SLEEP)
            }
            Ok(None) => MAX_SLEEP,
            Err(error) => {
                tracing::warn!(%error, "cannot read the next timer");
                MAX_SLEEP
            }
        }
    }
}

enum Outcome {
    Fired,
    Voided,
    Deferred,
}
