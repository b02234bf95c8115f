//! The background work of a serving engine, held in one set so that it stops cleanly.
//!
//! A server runs the timer worker, the alert and hotspot watches, the search index's
//! follower and the notifier. Spawned loose, they were cut off wherever they stood when
//! the process ended; here each runs in one [`Workers`] set, and [`Workers::stop`] ends
//! them at their next await point and waits until they are gone. `minhu serve` stops
//! them on SIGTERM after the HTTP side has finished its requests, then closes the store
//! (the SQLite writer drains). Ending a worker mid-pass loses nothing: every write it
//! makes is one transaction (dropped unfinished, it rolls back), and a message being
//! sent stays in the outbox to go again (delivery is at least once).

use crate::Engine;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

pub struct Workers {
    tasks: JoinSet<()>,
    stop: watch::Sender<bool>,
}

impl Default for Workers {
    fn default() -> Self {
        Self {
            tasks: JoinSet::new(),
            stop: watch::channel(false).0,
        }
    }
}

impl Workers {
    /// The engine's own workers: the timers, the alert watch and the hotspot watch.
    pub fn of(engine: &Arc<Engine>) -> Self {
        let mut workers = Self::default();
        workers.spawn(
            "timers",
            crate::timers::TimerWorker::new(engine.clone()).run(),
        );
        workers.spawn("alerts", crate::alerts::watch(engine.clone()));
        workers.spawn("hotspots", crate::hotspots::watch(engine.clone()));
        workers
    }

    /// Runs `work` (a loop that never ends by itself) until [`Workers::stop`].
    pub fn spawn(&mut self, name: &'static str, work: impl Future<Output = ()> + Send + 'static) {
        let mut stopping = self.stop.subscribe();
        self.tasks.spawn(async move {
            tokio::select! {
                () = work => tracing::warn!(worker = name, "a worker ended on its own"),
                _ = stopping.wait_for(|stop| *stop) => tracing::debug!(worker = name, "worker stopped"),
            }
        });
    }

    /// How many workers are running.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Stops every worker and waits for them, at most `grace`; returns how many were
    /// still running then (and were aborted).
    pub async fn stop(mut self, grace: Duration) -> usize {
        self.stop.send_replace(true);
        let all_done = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(grace, all_done).await.is_ok() {
            return 0;
        }
        let left = self.tasks.len();
        self.tasks.shutdown().await;
        left
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Set when dropped: a worker's state is dropped when the worker is stopped.
    struct Dropped(Arc<AtomicBool>);

    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn stop_ends_every_worker_and_waits_for_it() {
        let mut workers = Workers::default();
        let flags: Vec<Arc<AtomicBool>> = (0..3).map(|_| Arc::default()).collect();
        for flag in &flags {
            let held = Dropped(flag.clone());
            workers.spawn("forever", async move {
                let _held = held;
                std::future::pending::<()>().await;
            });
        }
        assert_eq!(workers.len(), 3);
        // A minute of grace: stopping takes no time, so nothing is aborted.
        assert_eq!(workers.stop(Duration::from_secs(60)).await, 0);
        assert!(flags.iter().all(|f| f.load(Ordering::SeqCst)));
    }
}
