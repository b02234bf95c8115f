//! The engine's figures for Prometheus (`GET /metrics`, served by `minhu-web`).
//!
//! What happens is counted as it happens, in the process's default registry
//! (`prometheus::gather` reads every crate's): demands taken in by channel, actions by
//! name and outcome, timers fired or voided, and how long each pass of the background
//! watches took. What is a state rather than an event (the outbox's backlog, the search
//! index's lag, the database pools) is read when scraped, by [`Engine::measure`].
//!
//! Intake is the hot path (thousands a second): its counters are registered once, one
//! per channel, and counting is one atomic add. The rest are rarer and look their
//! handle up by label.

use crate::Engine;
use minhu_core::ticket::Channel;
use minhu_store::StoreError;
use prometheus::{
    HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, register_histogram_vec,
    register_int_counter_vec, register_int_gauge, register_int_gauge_vec,
};
use std::sync::LazyLock;
use std::time::Duration;

/// A figure's registration fails only if its name is taken twice in this process:
/// a programming error, found by the first scrape of any test.
const REGISTERED: &str = "each figure is registered once, under its own name";

static INTAKE: LazyLock<Vec<IntCounter>> = LazyLock::new(|| {
    let vec = register_int_counter_vec!(
        "minhu_intake_total",
        "Demands taken in (new tickets; a retried request counts once), by channel.",
        &["channel"]
    )
    .expect(REGISTERED);
    Channel::ALL
        .iter()
        .map(|channel| vec.with_label_values(&[channel.code()]))
        .collect()
});

static ACTIONS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "minhu_actions_total",
        "Workflow commands on stored tickets, by action and outcome (done, refused, failed).",
        &["action", "outcome"]
    )
    .expect(REGISTERED)
});

static TIMERS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "minhu_timers_total",
        "Due timers handled by this process's timer worker, by kind and outcome (fired: the \
         event was recorded; voided: the ticket no longer had it).",
        &["kind", "outcome"]
    )
    .expect(REGISTERED)
});

static PASSES: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "minhu_watch_pass_seconds",
        "How long one pass of a background watch took (timers, alerts, hotspots).",
        &["watch"],
        vec![
            0.001, 0.005, 0.025, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0
        ]
    )
    .expect(REGISTERED)
});

static PASS_FAILURES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "minhu_watch_failures_total",
        "Passes of a background watch that failed (timers, alerts, hotspots).",
        &["watch"]
    )
    .expect(REGISTERED)
});

static OUTBOX_BACKLOG: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "minhu_outbox_backlog",
        "Notifications neither delivered nor given up (all nodes: read from the store)."
    )
    .expect(REGISTERED)
});

static SEARCH_LAG: LazyLock<prometheus::Gauge> = LazyLock::new(|| {
    prometheus::register_gauge!(
        "minhu_search_index_lag_seconds",
        "Seconds since this node's search index last held every stored change (-1: not \
         caught up yet, or no index)."
    )
    .expect(REGISTERED)
});

static POOLS: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    register_int_gauge_vec!(
        "minhu_db_pool_connections",
        "Database connections of this node, by pool and state (open, idle, max).",
        &["pool", "state"]
    )
    .expect(REGISTERED)
});

/// A demand was taken in (a fresh ticket, not a retry's).
pub(crate) fn count_intake(channel: Channel) {
    // `code_enum!` lists the variants in declaration order, as they are numbered.
    INTAKE[channel as usize].inc();
}

/// A workflow command came to an end: `outcome` is `done`, `refused` (the rules or
/// the input said no) or `failed` (storage).
pub(crate) fn count_action(action: &str, outcome: &str) {
    ACTIONS.with_label_values(&[action, outcome]).inc();
}

pub(crate) fn count_timer(kind: &str, outcome: &str) {
    TIMERS.with_label_values(&[kind, outcome]).inc();
}

/// Times one pass of the watch named `watch`; `ok` says whether it succeeded.
pub(crate) async fn timed_pass<T, E>(
    watch: &str,
    pass: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let started = std::time::Instant::now();
    let result = pass.await;
    PASSES
        .with_label_values(&[watch])
        .observe(started.elapsed().as_secs_f64());
    if result.is_err() {
        PASS_FAILURES.with_label_values(&[watch]).inc();
    }
    result
}

impl Engine {
    /// Reads the figures that are states, not events, into their gauges (see the
    /// module's docs): called by `GET /metrics` before it gathers every figure.
    pub async fn measure(&self) -> Result<(), StoreError> {
        OUTBOX_BACKLOG.set(i64::try_from(self.store.outbox_backlog().await?).unwrap_or(i64::MAX));
        let lag = self.search.as_ref().and_then(|search| search.lag());
        SEARCH_LAG.set(lag.map_or(-1.0, |lag: Duration| lag.as_secs_f64()));
        for pool in self.store.pools() {
            for (state, n) in [("open", pool.size), ("idle", pool.idle), ("max", pool.max)] {
                POOLS
                    .with_label_values(&[pool.name, state])
                    .set(i64::from(n));
            }
        }
        // Registered now, so a scrape before the first demand shows every channel at 0.
        LazyLock::force(&INTAKE);
        Ok(())
    }
}
