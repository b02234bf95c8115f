//! `minhu-bench day`: a megacity's day replayed at high speed against two `minhu serve`
//! nodes on one PostgreSQL database holding years of history.
//!
//! Why this shape: the other benches each time one step alone on an idle server; a
//! 12345 centre lives all of them at once. Here every demand of a Beijing-class day
//! (66,000 by default) comes in over HTTP at the moment the real messages' hour-of-day
//! curve gives it, by the channel mix of Fuzhou's 信息来源, and then lives its whole
//! life through the API as the people of the centre would move it: a dispatcher reads
//! routing's suggestion and dispatches what routing left, the unit accepts, some return
//! it, summon departments, ask for more time, get urged; the unit replies, the citizen
//! is called back and rates, some reopen, the dispatcher closes. Meanwhile hundreds of
//! seats refresh their pages, the nodes' timer workers fire the deadlines falling due,
//! their notifiers deliver what each step tells, and their search followers index.
//!
//! The day is compressed: `--minutes` of wall time stand for 24 hours of arrivals, and
//! each life is compressed the same way (its steps are minutes of the simulated day
//! apart, see [`plan`]). The store is first filled with `--history` tickets of the year
//! before, each with a whole closed life, written through the engine's own bulk path
//! (`Engine::intake_many`) and kept in the database and `--dir` for later runs.
//!
//! Reported: the replay's wall time, each step's and page's count, p50 and p99 (client
//! side, over loopback), errors, the timers fired, the notifications left undelivered,
//! and CPU seconds and peak memory of each node, of PostgreSQL and of this process.
//! The goal (issue 22): the day in under 10 minutes with every page's p99 < 200 ms.

use crate::harness::{self, Place};
use jiff::{SignedDuration, Timestamp};
use minhu_core::ManualClock;
use minhu_core::access::{Permission, Role};
use minhu_core::deadline::TierCode;
use minhu_core::event::Actor;
use minhu_core::ticket::{Channel, Intake, Kind, Rating, Satisfaction};
use minhu_core::unit::UnitLevel;
use minhu_core::workflow::Command;
use minhu_engine::timers::TimerWorker;
use minhu_engine::{Engine, Lived, Step};
use minhu_store::Store;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// The wall-time goal of the whole day, and of each page's p99.
const DAY_GOAL: Duration = Duration::from_secs(600);
const PAGE_GOAL_MS: f64 = 200.0;
/// History tickets written per transaction.
const BATCH: usize = 1000;
/// The history's year ends this long before the day starts.
const HISTORY_DAYS: i64 = 365;

/// What the day replays, and on what.
pub struct Settings {
    pub history: u64,
    pub demands: usize,
    pub minutes: f64,
    pub seats: usize,
    pub nodes: usize,
    /// Open tickets seeded so that a timer of each falls due during the replay.
    pub due: usize,
    /// Requests in flight at once, all simulated people together.
    pub hands: usize,
    /// Seconds between two refreshes of one seat's page.
    pub refresh: f64,
    pub data: PathBuf,
    pub minhu: Option<PathBuf>,
}

pub async fn run(settings: Settings, database: String, dir: PathBuf) -> anyhow::Result<()> {
    std::fs::create_dir_all(&dir)?;
    let (_temporary, place) = harness::demo_place(Some(database.clone()), Some(dir.clone()), true)?;
    let clock = Arc::new(ManualClock::new(Timestamp::now()));
    let (builder, store) = harness::open(&place, clock.clone()).await?;
    let engine = Arc::new(builder.build());
    let backend = format!("{:?}", store.backend());
    let minhu = match &settings.minhu {
        Some(path) => path.clone(),
        None => std::env::current_exe()?.with_file_name("minhu"),
    };
    anyhow::ensure!(
        minhu.is_file(),
        "no minhu binary at {} (build it with `cargo build --release -p minhu`, or give --minhu)",
        minhu.display()
    );
    let day = Day::read(&settings.data, settings.demands)?;
    println!(
        "day benchmark: {backend}, {} demands in {:.1} min, {} nodes, {} seats; {} real texts, channels {}",
        settings.demands,
        settings.minutes,
        settings.nodes,
        settings.seats,
        day.texts.len(),
        day.mix_text()
    );

    let removed = forget_earlier_days(&database, &dir, engine.city()).await?;
    if removed > 0 {
        println!("reset: {removed} tickets of earlier replays removed, the history alone is left");
    }
    fill_history(&engine, &*store, settings.history, &dir).await?;
    harness::analyze(&place).await?;
    // What fell due since the last run (its backlog's later deadlines) is settled
    // before the day starts, so the nodes begin with the day's own timers.
    clock.set(Timestamp::now());
    let settled = TimerWorker::new(engine.clone()).run_due().await?;
    if settled.fired + settled.voided > 0 {
        println!(
            "settled {} timers due since the last run",
            settled.fired + settled.voided
        );
    }
    let replay = Duration::from_secs_f64(settings.minutes * 60.0);
    let nodes = node_dirs(&dir, settings.nodes);
    index_for_nodes(engine.city(), store.clone(), &nodes).await?;
    let people = Arc::new(People::issue(&engine).await?);

    let mut running = Vec::new();
    for (i, data_dir) in nodes.iter().enumerate() {
        running.push(Node::start(&minhu, &place, data_dir, i + 1).await?);
    }
    let urls: Vec<String> = running.iter().map(|n| n.url.clone()).collect();
    // Seeded once the nodes serve (a first index of a large history takes minutes), so
    // that the backlog's timers fall due over the replay itself.
    let day_start = Timestamp::now() + SignedDuration::from_secs(2);
    let backlog = seed_backlog(&engine, settings.due, day_start, replay).await?;
    let before = Usage::now(&running);
    let report = replay_day(&engine, &people, &day, &urls, &settings, replay).await;
    let after = Usage::now(&running);
    let fired = backlog.fired(&*store).await?;
    let undelivered = store.outbox_backlog().await?;
    for node in running {
        node.stop().await;
    }
    let report = report?;
    report.print(replay, &settings);
    println!(
        "timers: {} of the backlog's {} first timers fired by the nodes during the day; notifications not yet delivered at the end: {undelivered}",
        fired,
        backlog.tickets.len()
    );
    after.print_since(&before);
    Ok(())
}

// ---- The real messages: texts, hour-of-day curve, channel mix ----

/// What the real messages say about a day: their texts, the hour each arrived, and the
/// channels they came by.
struct Day {
    texts: Vec<Text>,
    /// Messages per hour of the day (local time; rows without a time of day left out).
    hours: [u64; 24],
    /// Channels with their share of Fuzhou's messages.
    mix: Vec<(Channel, f64)>,
}

struct Text {
    title: String,
    description: String,
    /// The first level, where the file gives it: an agent classifies on the call.
    category: Option<String>,
}

impl Day {
    fn read(data: &Path, demands: usize) -> anyhow::Result<Self> {
        let files = [
            "teddycup2020/validation.csv",
            "teddycup2020/hotspots.csv",
            "teddycup2020/replies.csv",
            "fuzhou12345/requests.csv",
        ];
        let mut texts = Vec::new();
        let mut hours = [0u64; 24];
        let mut channels: BTreeMap<&'static str, (Channel, u64)> = BTreeMap::new();
        for file in files {
            let path = data.join(file);
            let reader = minhu_import::Reader::open(&path)
                .map_err(|e| anyhow::anyhow!("{e} (give --data, the folder of ../shared/data)"))?;
            for row in reader.flatten() {
                if let Some(at) = row.created_at
                    && (at.hour(), at.minute(), at.second()) != (0, 0, 0)
                {
                    hours[at.hour() as usize] += 1;
                }
                if let Some(source) = row.channel.as_deref() {
                    // Rows from sources without an adapter (QQ, 微博) came in online.
                    let channel = match minhu::import::channel_of(Some(source)) {
                        Channel::Import => Channel::Web,
                        channel => channel,
                    };
                    channels.entry(channel.code()).or_insert((channel, 0)).1 += 1;
                }
                texts.push(Text {
                    title: cut(&row.title, 100),
                    description: cut(&row.description, 1500),
                    category: row
                        .category
                        .as_deref()
                        .and_then(|c| c.split('/').next())
                        .map(str::to_owned),
                });
            }
        }
        anyhow::ensure!(
            !texts.is_empty() && demands > 0,
            "no messages read from {}",
            data.display()
        );
        anyhow::ensure!(
            hours.iter().sum::<u64>() > 0 && !channels.is_empty(),
            "the messages carry no time of day or no channel"
        );
        let total: u64 = channels.values().map(|(_, n)| n).sum();
        let mut mix: Vec<(Channel, f64)> = channels
            .into_values()
            .map(|(channel, n)| (channel, n as f64 / total as f64))
            .collect();
        mix.sort_by(|a, b| b.1.total_cmp(&a.1));
        Ok(Self { texts, hours, mix })
    }

    fn mix_text(&self) -> String {
        self.mix
            .iter()
            .map(|(c, share)| format!("{} {:.0}%", c.code(), share * 100.0))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// When demand `k` of `n` arrives, as a share of the day: spread by the hour-of-day
    /// curve (the inverse of its cumulative share at evenly spaced points).
    fn arrival(&self, k: usize, n: usize) -> f64 {
        let total: u64 = self.hours.iter().sum();
        let mut target = (k as f64 + 0.5) / n as f64 * total as f64;
        for (hour, &count) in self.hours.iter().enumerate() {
            if target < count as f64 {
                return (hour as f64 + target / count as f64) / 24.0;
            }
            target -= count as f64;
        }
        1.0
    }

    /// The channel of demand `k`: the mix's shares in turn, by a scrambled position.
    fn channel(&self, k: usize) -> Channel {
        let mut u = scramble(k as u64) as f64 / u64::MAX as f64;
        for (channel, share) in &self.mix {
            if u < *share {
                return *channel;
            }
            u -= share;
        }
        self.mix[0].0
    }
}

fn cut(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}

/// A fixed, well-spread hash of a position (SplitMix64's finaliser): which demands
/// return, reopen, ... without a random number generator to seed.
fn scramble(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

// ---- History: a year of closed tickets ----

/// Where the bench keeps when the history's last ticket was taken in (milliseconds since
/// the epoch): what was created after it belongs to earlier replays.
fn history_end_file(dir: &Path) -> PathBuf {
    dir.join("history-end")
}

/// Deletes what earlier replays left in the store (their demands, backlogs and
/// everything of them), so every replay starts from the history alone: a day's leftovers
/// are open tickets no person will act on, and a few runs' worth made every queue page
/// read ~180k of them. Ticket numbers are never handed out again (the day counters are
/// kept), so the nodes' search indexes, which may still hold the deleted tickets, only
/// find ghosts the pages drop. The monthly rollups keep what the deleted tickets added.
async fn forget_earlier_days(
    database: &str,
    dir: &Path,
    city: &minhu_core::City,
) -> anyhow::Result<u64> {
    let Ok(end) = std::fs::read_to_string(history_end_file(dir)) else {
        return Ok(0);
    };
    let end: i64 = end.trim().parse()?;
    anyhow::ensure!(
        database.starts_with("postgres"),
        "the day replays on PostgreSQL (its store holds a day's leftovers to reset)"
    );
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(database).await?;
    let later = format!("SELECT number FROM tickets WHERE created_at > {end}");
    let end_at = Timestamp::from_millisecond(end)?;
    let day = end_at
        .to_zoned(city.timezone.clone())
        .strftime("%Y-%m-%d")
        .to_string();
    // The log refuses deletes; lifted inside the transaction, so nothing else slips
    // through, as an erasure lifts it for its updates.
    let mut deletes = vec![
        "ALTER TABLE events DISABLE TRIGGER events_are_append_only".to_owned(),
        format!("DELETE FROM events WHERE ticket IN ({later})"),
        "ALTER TABLE events ENABLE TRIGGER events_are_append_only".to_owned(),
        format!("DELETE FROM timers WHERE ticket IN ({later})"),
        format!("DELETE FROM ticket_parts WHERE ticket IN ({later})"),
        format!("DELETE FROM notifications WHERE ticket IN ({later}) OR alert IS NOT NULL"),
        format!("DELETE FROM follow_codes WHERE ticket IN ({later})"),
        format!("DELETE FROM idempotency_keys WHERE ticket IN ({later})"),
        format!("DELETE FROM channel_tickets WHERE ticket IN ({later})"),
        format!("DELETE FROM channel_threads WHERE ticket IN ({later})"),
        "DELETE FROM analytics_alerts".to_owned(),
        format!("DELETE FROM rollup_hourly WHERE hour > {}", end / 3_600_000),
    ];
    for table in [
        "rollup_daily",
        "rollup_daily_category",
        "rollup_daily_place",
        "rollup_daily_total",
    ] {
        deletes.push(format!("DELETE FROM {table} WHERE day > '{day}'"));
    }
    // The statements hold only the bench's own numbers and table names.
    let mut transaction = pool.begin().await?;
    for delete in deletes {
        sqlx::query(sqlx::AssertSqlSafe(delete))
            .execute(&mut *transaction)
            .await?;
    }
    let removed = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM tickets WHERE created_at > {end}"
    )))
    .execute(&mut *transaction)
    .await?
    .rows_affected();
    transaction.commit().await?;
    pool.close().await;
    Ok(removed)
}

/// Fills the store up to `history` tickets, each received in the year before today and
/// closed after a whole life (dispatched, accepted, replied, rated, one in twenty
/// reopened first). Resumable: a run that stopped is continued where it stopped.
async fn fill_history(
    engine: &Arc<Engine>,
    store: &dyn Store,
    history: u64,
    dir: &Path,
) -> anyhow::Result<()> {
    let stored = harness::stored_tickets(store).await?;
    if stored >= history {
        println!("history: {stored} tickets stored already");
        return Ok(());
    }
    let city = engine.city();
    let end = Timestamp::now() - SignedDuration::from_hours(24);
    let start = end - SignedDuration::from_hours(24 * HISTORY_DAYS);
    let step = SignedDuration::from_hours(24 * HISTORY_DAYS) / history.max(1) as i32;
    let samples = history_samples(engine)?;
    let fallback = fallback_units(city);
    let started = Instant::now();
    let bar = harness::progress_bar(Some(history - stored), "history");
    let mut next = stored;
    while next < history {
        let last = history.min(next + BATCH as u64);
        let lives = (next..last)
            .map(|i| {
                let (intake, routed) = &samples[i as usize % samples.len()];
                let at = start + step * i as i32;
                let unit = &fallback[i as usize % fallback.len()];
                past_life(intake.clone(), *routed, at, unit, i)
            })
            .collect();
        engine.intake_many(lives, Actor::citizen()).await?;
        let newest = start + step * (last as i32 - 1);
        std::fs::write(history_end_file(dir), newest.as_millisecond().to_string())?;
        bar.inc(last - next);
        next = last;
    }
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "history: {} tickets stored in {seconds:.0} s ({:.0}/s), now {history}",
        history - stored,
        (history - stored) as f64 / seconds
    );
    Ok(())
}

/// The demo's benchmark demands, each with whether routing dispatches it; half of them
/// without place or category, so a dispatcher has to.
fn history_samples(engine: &Engine) -> anyhow::Result<Vec<(Intake, bool)>> {
    crate::timers::demo_intakes_half_undecided()
        .into_iter()
        .map(|intake| {
            let (_, decision) = engine.preview(intake.clone())?;
            Ok((intake, decision.assignment.is_some()))
        })
        .collect()
}

/// Units a dispatcher sends what routing left: the districts' departments.
fn fallback_units(city: &minhu_core::City) -> Vec<minhu_core::ids::UnitId> {
    let units: Vec<_> = city
        .units
        .all()
        .iter()
        .filter(|u| u.level == UnitLevel::DistrictDepartment)
        .map(|u| u.id.clone())
        .collect();
    if units.is_empty() {
        city.units.all().iter().map(|u| u.id.clone()).collect()
    } else {
        units
    }
}

fn past_life(
    intake: Intake,
    routed: bool,
    at: Timestamp,
    unit: &minhu_core::ids::UnitId,
    i: u64,
) -> Lived {
    let dispatcher = Actor::user("dispatcher");
    let handler = Actor::user("unit-handler");
    let mut later = Vec::new();
    let mut push = |minutes: i64, actor: &Actor, command: Command| {
        later.push(Step {
            at: at + SignedDuration::from_mins(minutes),
            actor: actor.clone(),
            command,
        });
    };
    if !routed {
        push(
            20,
            &dispatcher,
            Command::Dispatch {
                unit: unit.clone(),
                reason: None,
            },
        );
    }
    push(90, &handler, Command::Accept);
    push(
        2 * 1440,
        &handler,
        Command::Resolve {
            reply: "经核实，已安排处理完毕。".into(),
        },
    );
    let citizen = Actor::citizen();
    let happy = Rating {
        solved: true,
        satisfaction: Satisfaction::Satisfied,
    };
    if scramble(i).is_multiple_of(20) {
        push(
            3 * 1440,
            &citizen,
            Command::Rate(Rating {
                solved: false,
                satisfaction: Satisfaction::Unsatisfied,
            }),
        );
        push(
            3 * 1440 + 5,
            &citizen,
            Command::Reopen {
                reason: "问题仍未解决".into(),
            },
        );
        push(3 * 1440 + 60, &handler, Command::Accept);
        push(
            5 * 1440,
            &handler,
            Command::Resolve {
                reply: "已再次处理。".into(),
            },
        );
        push(6 * 1440, &citizen, Command::Rate(happy));
        push(6 * 1440 + 10, &dispatcher, Command::Close { reason: None });
    } else {
        push(3 * 1440, &citizen, Command::Rate(happy));
        push(3 * 1440 + 10, &dispatcher, Command::Close { reason: None });
    }
    Lived { intake, at, later }
}

// ---- The backlog whose timers fall due during the day ----

/// Open tickets received before the day, each on the 24h tier (a wall clock), placed so
/// that its first timer falls due at its turn during the replay.
struct Backlog {
    tickets: Vec<String>,
}

impl Backlog {
    /// How many of the backlog's tickets had a timer fired (by anyone: the nodes).
    async fn fired(&self, store: &dyn Store) -> anyhow::Result<usize> {
        let mut fired = 0;
        for number in &self.tickets {
            let number = minhu_core::ids::TicketNumber::parse(number)?;
            let rows = store.timers_of(&number).await?;
            if rows.iter().any(|r| r.outcome.as_deref() == Some("fired")) {
                fired += 1;
            }
        }
        Ok(fired)
    }
}

async fn seed_backlog(
    engine: &Arc<Engine>,
    due: usize,
    day_start: Timestamp,
    replay: Duration,
) -> anyhow::Result<Backlog> {
    if due == 0 {
        return Ok(Backlog {
            tickets: Vec::new(),
        });
    }
    let mut intake = crate::timers::demo_intakes()
        .into_iter()
        .find(|i| i.address.is_some())
        .ok_or_else(|| anyhow::anyhow!("no demo sample with an address"))?;
    intake.tier = TierCode("24h".into());
    // The first timer's distance from intake, read from one probe ticket.
    let probe_at = day_start - SignedDuration::from_hours(24);
    let probe = engine
        .intake_many(
            vec![Lived::received(intake.clone(), probe_at)],
            Actor::citizen(),
        )
        .await?;
    let first = minhu_core::timer::pending(&probe[0], engine.city())
        .iter()
        .map(|t| t.due_at)
        .min()
        .ok_or_else(|| anyhow::anyhow!("a 24h ticket has no timer: is it dispatched?"))?;
    let lead = first.duration_since(probe_at);
    let spacing = SignedDuration::try_from(replay)? / due as i32;
    let mut tickets = Vec::with_capacity(due);
    for chunk in (0..due).collect::<Vec<_>>().chunks(BATCH) {
        let lives = chunk
            .iter()
            .map(|&k| Lived::received(intake.clone(), day_start + spacing * k as i32 - lead))
            .collect();
        let stored = engine.intake_many(lives, Actor::citizen()).await?;
        tickets.extend(stored.into_iter().map(|t| t.number.to_string()));
    }
    println!(
        "backlog: {due} open tickets whose first timer ({:.0} min after intake) falls due during the day",
        lead.as_secs_f64() / 60.0
    );
    Ok(Backlog { tickets })
}

// ---- The nodes ----

fn node_dirs(dir: &Path, nodes: usize) -> Vec<PathBuf> {
    (1..=nodes.max(1))
        .map(|i| dir.join(format!("node-{i}")))
        .collect()
}

/// Brings the first node's search index up to the store (a first run indexes the whole
/// history) and gives every other node a copy, so no node indexes history while the
/// day is timed.
async fn index_for_nodes(
    city: &minhu_core::City,
    store: Arc<dyn Store>,
    nodes: &[PathBuf],
) -> anyhow::Result<()> {
    let first = minhu::server::search_dir(&nodes[0]);
    std::fs::create_dir_all(&first)?;
    let started = Instant::now();
    let index =
        Arc::new(minhu_search::SearchIndex::open(&first)?.with_privacy(city.privacy.clone()));
    let bar = harness::progress_bar(None, "indexing");
    let indexed = minhu_search::catch_up(&*store, &index, |n| bar.inc(n as u64)).await?;
    bar.finish_and_clear();
    Arc::into_inner(index)
        .expect("no one else holds the index")
        .close()?;
    println!(
        "search: {indexed} tickets indexed in {:.0} s for the nodes",
        started.elapsed().as_secs_f64()
    );
    for other in &nodes[1..] {
        let copy = minhu::server::search_dir(other);
        if copy.exists() {
            std::fs::remove_dir_all(&copy)?;
        }
        std::fs::create_dir_all(&copy)?;
        for entry in std::fs::read_dir(&first)? {
            let entry = entry?;
            std::fs::copy(entry.path(), copy.join(entry.file_name()))?;
        }
    }
    Ok(())
}

/// One `minhu serve` process.
struct Node {
    child: tokio::process::Child,
    pid: u32,
    url: String,
}

impl Node {
    /// Starts node `number` (1, 2, ...: as its messages name it).
    async fn start(
        minhu: &Path,
        place: &Place,
        data_dir: &Path,
        number: usize,
    ) -> anyhow::Result<Self> {
        use tokio::io::AsyncBufReadExt;
        let log = std::fs::File::create(data_dir.join("serve.log"))?;
        let mut child = tokio::process::Command::new(minhu)
            .arg("serve")
            .arg("--config")
            .arg(&place.config)
            .arg("--database")
            .arg(place.database_url())
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--listen")
            .arg("127.0.0.1:0")
            // The seats and hands all come from loopback.
            .arg("--max-connections-per-address")
            .arg("100000")
            .env("MINHU_LOG", "warn")
            // The demo city connects its channels' adapters, whose secrets a city
            // keeps in the environment; nobody calls them here.
            .envs(
                [
                    "MINHU_WECHAT_TOKEN",
                    "MINHU_SMS_SECRET",
                    "MINHU_SENSOR_SECRET",
                    "MINHU_CTI_SECRET",
                ]
                .map(|name| {
                    (
                        name,
                        format!("{:016x}", scramble(u64::from(std::process::id()))),
                    )
                }),
            )
            .stdout(std::process::Stdio::piped())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()?;
        let pid = child
            .id()
            .ok_or_else(|| anyhow::anyhow!("node {number} did not start"))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let url = tokio::time::timeout(Duration::from_secs(120), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(url) = line.strip_prefix("minhu listening on ") {
                    return Ok(url.trim().to_owned());
                }
            }
            anyhow::bail!(
                "node {number} ended before listening (see {}/serve.log)",
                data_dir.display()
            )
        })
        .await
        .map_err(|_| anyhow::anyhow!("node {number} did not listen within 120 s"))??;
        // Keep reading its standard output so the pipe never fills.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        println!("node {number} listening on {url} (pid {pid})");
        Ok(Self { child, pid, url })
    }

    async fn stop(mut self) {
        // SIGTERM: the node finishes its requests and stops its workers.
        let _ = std::process::Command::new("kill")
            .arg(self.pid.to_string())
            .status();
        if tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

/// CPU seconds and peak memory of the nodes, PostgreSQL's processes and this one.
struct Usage {
    nodes: Vec<(f64, u64)>,
    postgres: f64,
    bench: f64,
}

impl Usage {
    fn now(nodes: &[Node]) -> Self {
        Self {
            nodes: nodes
                .iter()
                .map(|n| {
                    (
                        cpu_seconds(n.pid).unwrap_or(0.0),
                        peak_mb(n.pid).unwrap_or(0),
                    )
                })
                .collect(),
            postgres: postgres_cpu_seconds(),
            bench: cpu_seconds(std::process::id()).unwrap_or(0.0),
        }
    }

    fn print_since(&self, before: &Usage) {
        for (i, ((cpu, peak), (cpu0, _))) in self.nodes.iter().zip(&before.nodes).enumerate() {
            println!(
                "node {}: {:.1} CPU s during the day, peak memory {peak} MB",
                i + 1,
                cpu - cpu0
            );
            harness::figure(&format!("day.node{}.cpu", i + 1), cpu - cpu0, "s");
            harness::figure(&format!("day.node{}.peak", i + 1), *peak as f64, "MB");
        }
        println!(
            "postgresql: {:.1} CPU s (its processes alive at the end); this bench: {:.1} CPU s",
            self.postgres - before.postgres,
            self.bench - before.bench
        );
    }
}

/// utime + stime of a process, in seconds (at the kernel's usual 100 ticks a second).
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which may hold spaces, in parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn peak_mb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? / 1024)
}

fn postgres_cpu_seconds() -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
        })
        .filter_map(cpu_seconds)
        .sum()
}

// ---- The people and their tokens ----

/// The API tokens the simulated people use: the intake gateways (console and
/// channels), dispatchers, supervisors, the callback agents, and each unit's handlers
/// (made when a unit first gets a ticket).
struct People {
    run: i64,
    agent: String,
    dispatcher: String,
    supervisor: String,
    admin: String,
    units: tokio::sync::Mutex<HashMap<String, String>>,
}

impl People {
    async fn issue(engine: &Arc<Engine>) -> anyhow::Result<Self> {
        // Names of this run: a kept database holds the tokens of earlier runs.
        let run = Timestamp::now().as_second();
        let token = |name: &'static str, permissions: Vec<Permission>| {
            let engine = engine.clone();
            let name = format!("day-{run}-{name}");
            async move { harness::token(&engine, &name, &permissions, None).await }
        };
        let role = |role: Role| role.permissions().to_vec();
        // The intake gateway relays the app, WeChat, SMS and e-mail channels too, which
        // only a token naming them may claim.
        let mut gateway = role(Role::HotlineAgent);
        gateway.extend([
            Permission::ChannelApp,
            Permission::ChannelWechat,
            Permission::ChannelSms,
            Permission::ChannelEmail,
        ]);
        Ok(Self {
            run,
            agent: token("agent", gateway).await?,
            dispatcher: token("dispatcher", role(Role::Dispatcher)).await?,
            supervisor: token("supervisor", role(Role::Supervisor)).await?,
            admin: token("admin", role(Role::Administrator)).await?,
            units: tokio::sync::Mutex::new(HashMap::new()),
        })
    }

    async fn unit(&self, engine: &Engine, unit: &str) -> anyhow::Result<String> {
        let mut units = self.units.lock().await;
        if let Some(token) = units.get(unit) {
            return Ok(token.clone());
        }
        let permissions: &[Permission] = Role::UnitHandler.permissions();
        let token = harness::token(
            engine,
            &format!("day-{}-unit-{unit}", self.run),
            permissions,
            Some(unit),
        )
        .await?;
        units.insert(unit.to_owned(), token.clone());
        Ok(token)
    }
}

// ---- The replay ----

/// The steps a demand's life takes after intake, each with the minutes of the
/// simulated day since the step before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Stage {
    Suggest,
    Dispatch,
    Accept,
    Return,
    Summon,
    AcceptPart,
    ReportPart,
    RequestExtension,
    DecideExtension,
    Urge,
    Resolve,
    Rate,
    RateUnhappy,
    Reopen,
    Close,
}

impl Stage {
    fn name(self) -> &'static str {
        match self {
            Stage::Suggest => "suggestion (dispatcher reads)",
            Stage::Dispatch => "dispatch",
            Stage::Accept => "accept",
            Stage::Return => "return",
            Stage::Summon => "summon",
            Stage::AcceptPart => "accept part",
            Stage::ReportPart => "report part",
            Stage::RequestExtension => "request extension",
            Stage::DecideExtension => "decide extension",
            Stage::Urge => "urge",
            Stage::Resolve => "resolve",
            Stage::Rate | Stage::RateUnhappy => "rate",
            Stage::Reopen => "reopen",
            Stage::Close => "close",
        }
    }
}

/// The life of demand `k` after its intake: `routed` when routing dispatched it.
fn plan(k: usize, routed: bool) -> Vec<(u32, Stage)> {
    let roll = scramble(k as u64 ^ 0xDA7);
    let chance = |per_mille: u64, salt: u64| (roll >> salt) % 1000 < per_mille;
    let mut steps = Vec::new();
    if !routed {
        steps.extend([(3, Stage::Suggest), (2, Stage::Dispatch)]);
    }
    steps.push((10, Stage::Accept));
    if chance(80, 0) {
        steps.extend([
            (5, Stage::Return),
            (5, Stage::Dispatch),
            (10, Stage::Accept),
        ]);
    }
    if chance(40, 10) {
        steps.extend([
            (10, Stage::Summon),
            (10, Stage::AcceptPart),
            (20, Stage::ReportPart),
        ]);
    }
    if chance(40, 20) {
        steps.extend([(10, Stage::RequestExtension), (10, Stage::DecideExtension)]);
    }
    if chance(30, 30) {
        steps.push((5, Stage::Urge));
    }
    steps.extend([(30, Stage::Resolve)]);
    if chance(60, 40) {
        steps.extend([
            (20, Stage::RateUnhappy),
            (5, Stage::Reopen),
            (5, Stage::Accept),
            (15, Stage::Resolve),
        ]);
    }
    steps.extend([(20, Stage::Rate), (5, Stage::Close)]);
    steps
}

/// Times of each step or page, and the errors met.
#[derive(Default)]
struct Tally {
    times: BTreeMap<String, Vec<f64>>,
    errors: BTreeMap<String, (u64, String)>,
}

struct Report {
    tally: Tally,
    wall: Duration,
    demands: usize,
    finished: usize,
}

impl Report {
    fn print(&self, replay: Duration, settings: &Settings) {
        let wall = self.wall.as_secs_f64();
        println!(
            "the day: {} of {} demands lived their whole life in {wall:.0} s (arrivals over {:.0} s; goal under {} s)",
            self.finished,
            self.demands,
            replay.as_secs_f64(),
            DAY_GOAL.as_secs()
        );
        harness::figure("day.wall", wall, "s");
        println!(
            "{:<32} {:>8} {:>9} {:>8} {:>8} {:>8}",
            "step or page", "count", "per s", "p50 ms", "p99 ms", "max ms"
        );
        let mut slow = Vec::new();
        for (what, times) in &self.tally.times {
            let mut times = times.clone();
            let at = harness::percentiles(&mut times);
            println!(
                "{what:<32} {:>8} {:>9.1} {:>8.1} {:>8.1} {:>8.1}",
                at.n,
                at.n as f64 / wall,
                at.p50,
                at.p99,
                at.max
            );
            harness::figure(&format!("day.{}.p99", harness::slug(what)), at.p99, "ms");
            if what.starts_with("page ") && at.p99 > PAGE_GOAL_MS {
                slow.push(what.clone());
            }
        }
        for (what, (count, sample)) in &self.tally.errors {
            println!("errors: {what}: {count} (e.g. {sample})");
        }
        println!(
            "{} seats refreshing every {:.0} s; pages with p99 over {PAGE_GOAL_MS} ms: {slow:?}; day {} the {}-minute goal",
            settings.seats,
            settings.refresh,
            if self.wall <= DAY_GOAL {
                "within"
            } else {
                "OVER"
            },
            DAY_GOAL.as_secs() / 60
        );
    }
}

/// What the replay's tasks share.
struct Replay {
    engine: Arc<Engine>,
    client: reqwest::Client,
    urls: Vec<String>,
    hands: Semaphore,
    tally: Mutex<Tally>,
    /// Tickets made during the day, for the seats that open a ticket's page.
    recent: Mutex<Vec<String>>,
    others: Vec<String>,
    scale: f64,
}

impl Replay {
    fn record(&self, what: &str, started: Instant) {
        let ms = harness::elapsed_ms(started);
        self.tally
            .lock()
            .expect("tally")
            .times
            .entry(what.to_owned())
            .or_default()
            .push(ms);
    }

    fn error(&self, what: &str, message: String) {
        let mut tally = self.tally.lock().expect("tally");
        let entry = tally.errors.entry(what.to_owned()).or_insert((0, message));
        entry.0 += 1;
    }

    /// One request by `token`, timed under `what`; the JSON answer.
    async fn call(
        &self,
        what: &str,
        node: usize,
        token: &str,
        path: &str,
        body: Option<Value>,
    ) -> Option<Value> {
        let url = format!("{}{path}", self.urls[node % self.urls.len()]);
        let _hand = self.hands.acquire().await.expect("open semaphore");
        let started = Instant::now();
        let request = match &body {
            Some(body) => self.client.post(&url).json(body),
            None => self.client.get(&url),
        };
        let answer = request.bearer_auth(token).send().await;
        match answer {
            Ok(response) if response.status().is_success() => {
                let bytes = response.bytes().await;
                self.record(what, started);
                bytes
                    .ok()
                    .map(|b| serde_json::from_slice(&b).unwrap_or(Value::Null))
            }
            Ok(response) => {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                self.error(what, format!("HTTP {status}: {}", cut(&text, 160)));
                None
            }
            Err(e) => {
                self.error(what, e.to_string());
                None
            }
        }
    }

    /// Waits `minutes` of the simulated day.
    async fn wait(&self, minutes: u32) {
        tokio::time::sleep(Duration::from_secs_f64(minutes as f64 * 60.0 / self.scale)).await;
    }
}

async fn replay_day(
    engine: &Arc<Engine>,
    people: &Arc<People>,
    day: &Day,
    urls: &[String],
    settings: &Settings,
    replay: Duration,
) -> anyhow::Result<Report> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(settings.hands)
        .build()?;
    let shared = Arc::new(Replay {
        engine: engine.clone(),
        client,
        urls: urls.to_vec(),
        hands: Semaphore::new(settings.hands.max(1)),
        tally: Mutex::new(Tally::default()),
        recent: Mutex::new(Vec::new()),
        others: fallback_units(engine.city())
            .into_iter()
            .map(|u| u.to_string())
            .collect(),
        scale: 86_400.0 / replay.as_secs_f64(),
    });
    let started = tokio::time::Instant::now();
    let (stop_seats, seats_stopped) = tokio::sync::watch::channel(false);
    let mut seats = tokio::task::JoinSet::new();
    for seat in 0..settings.seats {
        let shared = shared.clone();
        let people = people.clone();
        let mut stopped = seats_stopped.clone();
        let refresh = Duration::from_secs_f64(settings.refresh.max(0.1));
        seats.spawn(async move {
            // Seats start spread over one refresh, not all at once.
            let offset = refresh.mul_f64((scramble(seat as u64) % 1000) as f64 / 1000.0);
            let mut next = tokio::time::Instant::now() + offset;
            loop {
                tokio::select! {
                    _ = tokio::time::sleep_until(next) => {}
                    _ = stopped.changed() => return,
                }
                refresh_page(&shared, &people, seat).await;
                next += refresh;
            }
        });
    }
    let bar = harness::progress_bar(Some(settings.demands as u64), "the day");
    let mut lives = tokio::task::JoinSet::new();
    for k in 0..settings.demands {
        let shared = shared.clone();
        let people = people.clone();
        let at = started + replay.mul_f64(day.arrival(k, settings.demands));
        let text = &day.texts[scramble(k as u64 ^ 0x7E57) as usize % day.texts.len()];
        let body = intake_body(k, text, day.channel(k));
        let bar = bar.clone();
        lives.spawn(async move {
            tokio::time::sleep_until(at).await;
            let lived = live(&shared, &people, k, body).await;
            bar.inc(1);
            lived
        });
    }
    let mut finished = 0;
    while let Some(lived) = lives.join_next().await {
        if lived? {
            finished += 1;
        }
    }
    let wall = started.elapsed();
    bar.finish_and_clear();
    let _ = stop_seats.send(true);
    while seats.join_next().await.is_some() {}
    let tally = std::mem::take(&mut *shared.tally.lock().expect("tally"));
    Ok(Report {
        tally,
        wall,
        demands: settings.demands,
        finished,
    })
}

fn intake_body(k: usize, text: &Text, channel: Channel) -> Value {
    // One caller in ten has called before today.
    let phone = format!(
        "139{:08}",
        scramble(k as u64)
            % if k.is_multiple_of(10) {
                5_000
            } else {
                100_000_000
            }
    );
    json!({
        "channel": channel.code(),
        "kind": Kind::Complaint.code(),
        "title": if text.title.is_empty() { cut(&text.description, 30) } else { text.title.clone() },
        "description": if text.description.is_empty() { text.title.clone() } else { text.description.clone() },
        "citizen": {"phone": phone},
        "category": text.category,
    })
}

/// One demand's whole life; true when it ended closed.
async fn live(shared: &Replay, people: &People, k: usize, body: Value) -> bool {
    let node = k;
    let Some(ticket) = shared
        .call("intake", node, &people.agent, "/api/v1/tickets", Some(body))
        .await
    else {
        return false;
    };
    let Some(number) = ticket["number"].as_str().map(str::to_owned) else {
        shared.error("intake", format!("no number in {ticket}"));
        return false;
    };
    shared.recent.lock().expect("recent").push(number.clone());
    let mut unit = ticket["unit"].as_str().map(str::to_owned);
    let mut summoned: Option<String> = None;
    let actions = format!("/api/v1/tickets/{number}/actions");
    for (minutes, stage) in plan(k, unit.is_some()) {
        shared.wait(minutes).await;
        let other = |avoid: Option<&str>| {
            let pick = scramble(k as u64 ^ stage as u64) as usize % shared.others.len();
            let mut chosen = shared.others[pick].clone();
            if avoid == Some(chosen.as_str()) {
                chosen = shared.others[(pick + 1) % shared.others.len()].clone();
            }
            chosen
        };
        let (token, command) = match stage {
            Stage::Suggest => {
                let path = format!("/api/v1/tickets/{number}/suggestion");
                let suggestion = shared
                    .call(stage.name(), node, &people.dispatcher, &path, None)
                    .await;
                unit = suggestion
                    .as_ref()
                    .and_then(|s| s["assignment"]["unit"].as_str())
                    .map(str::to_owned);
                continue;
            }
            Stage::Dispatch => {
                let to = unit.take().unwrap_or_else(|| other(None));
                unit = Some(to.clone());
                (
                    people.dispatcher.clone(),
                    json!({"action": "dispatch", "unit": to}),
                )
            }
            Stage::Return => {
                let token = holder(shared, people, unit.as_deref()).await;
                let returned = unit.take();
                unit = Some(other(returned.as_deref()));
                (
                    token,
                    json!({"action": "return", "reason": "不属于本单位职责"}),
                )
            }
            Stage::Accept | Stage::Resolve | Stage::RequestExtension | Stage::Summon => {
                let token = holder(shared, people, unit.as_deref()).await;
                let command = match stage {
                    Stage::Accept => json!({"action": "accept"}),
                    Stage::Resolve => {
                        json!({"action": "resolve", "reply": "经核实，已安排处理，问题已解决。"})
                    }
                    Stage::RequestExtension => {
                        json!({"action": "request_extension", "days": 3, "reason": "需协调多个部门"})
                    }
                    _ => {
                        let part = other(unit.as_deref());
                        summoned = Some(part.clone());
                        json!({"action": "summon", "units": [part], "note": "请协同处置"})
                    }
                };
                (token, command)
            }
            Stage::AcceptPart | Stage::ReportPart => {
                let token = holder(shared, people, summoned.as_deref()).await;
                let command = if stage == Stage::AcceptPart {
                    json!({"action": "accept_part"})
                } else {
                    json!({"action": "report_part", "report": "已到场配合处置"})
                };
                (token, command)
            }
            Stage::DecideExtension => (
                people.supervisor.clone(),
                json!({"action": "decide_extension", "approve": true}),
            ),
            Stage::Urge => (
                people.supervisor.clone(),
                json!({"action": "urge", "note": "请加快办理"}),
            ),
            Stage::Rate => (
                people.agent.clone(),
                json!({"action": "rate", "solved": true, "satisfaction": "satisfied"}),
            ),
            Stage::RateUnhappy => (
                people.agent.clone(),
                json!({"action": "rate", "solved": false, "satisfaction": "unsatisfied"}),
            ),
            Stage::Reopen => (
                people.agent.clone(),
                json!({"action": "reopen", "reason": "问题没有解决"}),
            ),
            Stage::Close => (people.dispatcher.clone(), json!({"action": "close"})),
        };
        if shared
            .call(stage.name(), node, &token, &actions, Some(command))
            .await
            .is_none()
        {
            return false;
        }
    }
    true
}

/// The token of the unit holding the ticket (made when first needed).
async fn holder(shared: &Replay, people: &People, unit: Option<&str>) -> String {
    match unit {
        Some(unit) => match people.unit(&shared.engine, unit).await {
            Ok(token) => token,
            Err(e) => {
                shared.error("unit token", e.to_string());
                people.admin.clone()
            }
        },
        None => people.admin.clone(),
    }
}

/// One seat refreshes the page of its role: agents their console, dispatchers the
/// queue and lists, units their inbox, supervisors the dashboard and their work list,
/// the centre's administrator the overdue tickets.
async fn refresh_page(shared: &Replay, people: &People, seat: usize) {
    let recent = shared.recent.lock().expect("recent").last().cloned();
    let (token, path) = match seat % 20 {
        0..=9 => (people.agent.clone(), "/console".to_owned()),
        10 | 11 => (people.dispatcher.clone(), "/dispatch".to_owned()),
        12 => (people.dispatcher.clone(), "/tickets".to_owned()),
        13 => match recent {
            Some(number) => (people.dispatcher.clone(), format!("/tickets/{number}")),
            None => (people.dispatcher.clone(), "/tickets".to_owned()),
        },
        14..=16 => {
            let unit = &shared.others[seat % shared.others.len()];
            (
                holder(shared, people, Some(unit)).await,
                "/inbox".to_owned(),
            )
        }
        17 => (people.supervisor.clone(), "/dashboard".to_owned()),
        18 => (people.supervisor.clone(), "/supervise".to_owned()),
        _ => (people.admin.clone(), "/overdue".to_owned()),
    };
    let name = match path.rsplit_once('/') {
        Some(("/tickets", n)) if n.starts_with(char::is_numeric) => {
            "page /tickets/{number}".to_owned()
        }
        _ => format!("page {path}"),
    };
    let url = format!("{}{path}", shared.urls[seat % shared.urls.len()]);
    let _hand = shared.hands.acquire().await.expect("open semaphore");
    let started = Instant::now();
    match shared.client.get(&url).bearer_auth(&token).send().await {
        Ok(response) if response.status().is_success() => {
            let _ = response.bytes().await;
            shared.record(&name, started);
        }
        Ok(response) => shared.error(&name, format!("HTTP {}", response.status())),
        Err(e) => shared.error(&name, e.to_string()),
    }
}
