//! What every benchmark shares, so each bench file holds only what it measures: the
//! demo city opened as `minhu serve` opens it (through the `minhu` library, so a bench
//! measures the product's own setup), a loopback server with unlimited API tokens, the
//! timing of requests, percentiles and their printout, the progress bar and the memory
//! figures.
//!
//! The benches read and fill the store under the engine directly (a million tickets
//! are written in batches no engine call offers): [`open`] hands them the store beside
//! the engine's builder, as `minhu serve` opens both, and is the one place a bench
//! reaches below the engine.

use jiff::Timestamp;
use minhu_core::access::Permission;
use minhu_core::{Clock, ManualClock};
use minhu_engine::{Engine, EngineBuilder};
use minhu_store::Store;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

pub use minhu::Place;

// ---- The city ----

/// Opens `place` exactly as `minhu serve` does, on `clock`: the engine to build (with
/// a search index, say) and the store under it, for the fills and the baselines.
pub async fn open(
    place: &Place,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<(EngineBuilder, Arc<dyn Store>)> {
    let opened = minhu::server::open(place, clock).await?;
    Ok((opened.engine, opened.store))
}

/// The demo city in `keep` (kept after the run for a later one), or in a temporary
/// directory that lives as long as the returned guard; on `database` when given
/// (else a SQLite file in the directory). `overwrite`: write the city's files even if
/// `keep` holds them already.
pub fn demo_place(
    database: Option<String>,
    keep: Option<PathBuf>,
    overwrite: bool,
) -> anyhow::Result<(tempfile::TempDir, Place)> {
    demo_place_of(database, keep, overwrite, false)
}

/// [`demo_place`], or with `province` the demo province (its thirteen cities) in
/// `province/` beside the city's directory, on the same store.
pub fn demo_place_of(
    database: Option<String>,
    keep: Option<PathBuf>,
    overwrite: bool,
    province: bool,
) -> anyhow::Result<(tempfile::TempDir, Place)> {
    let temporary = tempfile::tempdir()?;
    let dir = keep.unwrap_or_else(|| temporary.path().to_owned());
    let place = Place {
        config: dir.join(if province { "province" } else { "city" }),
        database,
        data_dir: dir,
        model: None,
    };
    if province {
        minhu::demo::write_province(&place.config, overwrite)?;
    } else {
        minhu::demo::write_city(&place.config, overwrite)?;
    }
    Ok((temporary, place))
}

/// The demo city on a controllable clock set to a Monday: the setting the store
/// benchmarks start from.
pub struct BenchCity {
    /// Kept so the directory lives as long as the benchmark.
    pub _dir: tempfile::TempDir,
    pub place: Place,
    pub start: Timestamp,
    pub clock: Arc<ManualClock>,
    pub engine: Arc<Engine>,
    /// What the benchmarks fill and measure below the engine.
    pub store: Arc<dyn Store>,
}

impl BenchCity {
    /// The demo city with its store in `keep` (kept after the run), or in a temporary
    /// directory; on `database` when given.
    pub async fn open(database: Option<String>, keep: Option<PathBuf>) -> anyhow::Result<Self> {
        Self::open_of(database, keep, false).await
    }

    /// [`BenchCity::open`], with `province` serving the demo province instead.
    pub async fn open_of(
        database: Option<String>,
        keep: Option<PathBuf>,
        province: bool,
    ) -> anyhow::Result<Self> {
        let (dir, place) = demo_place_of(database, keep, true, province)?;
        let start: Timestamp = "2026-03-02T00:00:00+08:00".parse()?;
        let clock = Arc::new(ManualClock::new(start));
        let (engine, store) = open(&place, clock.clone()).await?;
        Ok(Self {
            _dir: dir,
            place,
            start,
            clock,
            engine: Arc::new(engine.build()),
            store,
        })
    }
}

/// How many tickets the store holds: a kept benchmark store is reused when it holds
/// the number asked for.
pub use minhu::server::stored_tickets;

/// Fresh planner statistics, as a database that has grown over months would have.
pub async fn analyze(place: &Place) -> anyhow::Result<()> {
    let store = minhu_store::SqlStore::connect(&place.database_url()).await?;
    store.analyze().await?;
    store.close().await;
    Ok(())
}

// ---- Over HTTP ----

/// Serves `engine` as `minhu serve` does (without notifications) on a loopback port
/// in this process; returns the base URL.
pub async fn serve(engine: Arc<Engine>, place: &Place) -> anyhow::Result<String> {
    let notify = minhu_notify::NotifyConfig::default();
    // The demo city connects its channels' adapters; their secrets are the
    // environment's where set, else the bench's own (nobody calls the adapters here).
    let secret = |name: &str| {
        minhu::server::environment(name).or_else(|| {
            matches!(
                name,
                "MINHU_WECHAT_TOKEN"
                    | "MINHU_SMS_SECRET"
                    | "MINHU_SENSOR_SECRET"
                    | "MINHU_CTI_SECRET"
            )
            .then(|| "benchsecret20261207".to_owned())
        })
    };
    let state = minhu::server::app_state(engine, place, &notify, &secret)?;
    let (ready, url) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        // Every bench client connects from loopback: no per-address cap.
        let options = minhu_web::serve::ServeOptions {
            max_connections_per_address: usize::MAX,
            ..Default::default()
        };
        let served = minhu::server::serve_state(state, "127.0.0.1:0", options, |url| {
            let _ = ready.send(url.to_owned());
        })
        .await;
        if let Err(error) = served {
            eprintln!("bench server stopped: {error:#}");
        }
    });
    Ok(url.await?)
}

/// An API token for a bench client with these permissions, limited to `unit` if given.
pub async fn token(
    engine: &Engine,
    name: &str,
    permissions: &[Permission],
    unit: Option<&str>,
) -> anyhow::Result<String> {
    // Unlimited in rate: a benchmark measures the server, not the token's limit.
    let grant = minhu_engine::accounts::TokenGrant {
        permissions,
        unit,
        region: None,
        rate_per_min: Some(u32::MAX),
    };
    Ok(engine.accounts().issue_token(name, &grant).await?)
}

/// GETs `url` as `token` `runs` times after one warm-up: each time in milliseconds,
/// and the last answer's body. Any answer but a success is an error.
pub async fn time_gets(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    runs: usize,
) -> anyhow::Result<(Vec<f64>, Vec<u8>)> {
    let mut times = Vec::with_capacity(runs);
    let mut body = Vec::new();
    for run in 0..=runs {
        let started = Instant::now();
        let response = client.get(url).bearer_auth(token).send().await?;
        anyhow::ensure!(
            response.status().is_success(),
            "{url}: HTTP {}",
            response.status()
        );
        body = response.bytes().await?.to_vec();
        if run > 0 {
            times.push(elapsed_ms(started));
        }
    }
    Ok((times, body))
}

// ---- Timing and the printout ----

/// Milliseconds since `started`.
pub fn elapsed_ms(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1e3
}

/// A sample of times in milliseconds, summed up.
pub struct Percentiles {
    pub n: usize,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl std::fmt::Display for Percentiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            self.p50, self.p90, self.p99, self.max
        )
    }
}

/// The percentiles of `ms` (sorted in place); all zero when it is empty.
pub fn percentiles(ms: &mut [f64]) -> Percentiles {
    if ms.is_empty() {
        return Percentiles {
            n: 0,
            mean: 0.0,
            p50: 0.0,
            p90: 0.0,
            p99: 0.0,
            max: 0.0,
        };
    }
    ms.sort_by(f64::total_cmp);
    let at = |p: f64| ms[((ms.len() as f64 * p) as usize).min(ms.len() - 1)];
    Percentiles {
        n: ms.len(),
        mean: ms.iter().sum::<f64>() / ms.len() as f64,
        p50: at(0.50),
        p90: at(0.90),
        p99: at(0.99),
        max: ms[ms.len() - 1],
    }
}

/// One figure in the form `scripts/bench-smoke` reads (`figure NAME VALUE UNIT`):
/// the benches print it beside their tables, so the smoke run compares like with like.
/// A unit ending in `/s` is better higher, any other better lower.
pub fn figure(name: &str, value: f64, unit: &str) {
    println!("figure {} {value:.2} {unit}", name.replace(' ', "_"));
}

/// `rates: this month, by district` as `rates_this_month_by_district`: a figure's name.
pub fn slug(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join("_")
        .to_lowercase()
}

/// One summary line of `ms` (nothing when it is empty): count, mean and percentiles.
pub fn print_times(what: &str, ms: &mut [f64]) {
    if ms.is_empty() {
        return;
    }
    let at = percentiles(ms);
    println!(
        "{what}: n={} mean {:.2} ms, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        at.n, at.mean, at.p50, at.p99, at.max
    );
}

/// A progress bar on standard error, as the product's long jobs show.
pub fn progress_bar(total: Option<u64>, what: &str) -> indicatif::ProgressBar {
    minhu::import::progress_bar(total, what)
}

/// The CPU seconds this process has used so far (user and system, all threads), from
/// /proc/self/stat (in USER_HZ ticks, 100 a second on Linux): on a shared machine a
/// pass's CPU time says what its wall time cannot.
pub fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // After the command's name in parentheses: state, ..., utime (the 12th), stime.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some((user + system) as f64 / 100.0)
}

/// A memory figure of /proc/self/status (`VmRSS:` now, `VmHWM:` the peak), in MB.
pub fn memory_mb(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}
