//! The search benchmark: a store of synthetic tickets made from the real messages of
//! the demo (varied places, units, statuses and dates over two years), indexed from the
//! store as `minhu admin reindex` does, then realistic `q` lists through
//! `Engine::list` (index + store fetch), beside the store's `LIKE` scan on the same data.
//! With `--dir` the store and index are kept, so a later run (another build, another
//! query mix) searches the same million tickets without generating them again.

use crate::harness;
use jiff::{SignedDuration, Timestamp};
use minhu_core::SystemClock;
use minhu_core::deadline::{Deadlines, TierCode};
use minhu_core::event::{Actor, Change, Event, SystemPart};
use minhu_core::ids::{RegionId, UnitId};
use minhu_core::taxonomy::CategoryPath;
use minhu_core::ticket::{Channel, Citizen, Intake, Kind, Status};
use minhu_search::{LiveIndex, SearchIndex};
use minhu_store::{NewTicket, Store, TicketFilter};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

const DISTRICTS: &[&str] = &["A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "A9"];
const CATEGORIES: &[&str] = &[
    "城乡建设",
    "环境保护",
    "交通运输",
    "劳动和社会保障",
    "教育文体",
    "商贸旅游",
    "卫生计生",
];

pub async fn run(
    tickets: usize,
    queries: usize,
    scans: usize,
    keep: Option<PathBuf>,
) -> anyhow::Result<()> {
    let (_temporary, place) = harness::demo_place(None, keep, false)?;
    let dir = place.data_dir.clone();
    let (engine, store) = harness::open(&place, Arc::new(SystemClock)).await?;
    let rows = minhu::demo::demo_messages()?;
    anyhow::ensure!(!rows.is_empty(), "the demo has no messages");
    let texts: Vec<(String, String)> = rows
        .into_iter()
        .map(|row| (row.title, row.description))
        .collect();

    let stored = harness::stored_tickets(&*store).await?;
    let started = Instant::now();
    let filled = match stored {
        0 => {
            let start: Timestamp = "2024-11-01T00:00:00Z".parse()?;
            let span = SignedDuration::from_hours(2 * 365 * 24);
            fill(&store, &texts, tickets, start, span, 1).await?;
            true
        }
        n if n == tickets as u64 => false,
        n => anyhow::bail!(
            "{} already holds {n} tickets, not {tickets}: give --tickets {n} or a fresh --dir",
            dir.display()
        ),
    };
    let fill_seconds = started.elapsed().as_secs_f64();

    let index = Arc::new(SearchIndex::open_with(
        &minhu::server::search_dir(&place.data_dir),
        256_000_000,
        2,
    )?);
    let bar = harness::progress_bar(Some(tickets as u64), "indexing");
    let started = Instant::now();
    let indexed = minhu_search::catch_up(&*store, &index, |n| bar.inc(n as u64)).await?;
    bar.finish_and_clear();
    let index_seconds = started.elapsed().as_secs_f64();

    let words = frequent_words(&texts);
    let mut rng = StdRng::seed_from_u64(7);
    let asked: Vec<TicketFilter> = (0..queries).map(|_| query(&mut rng, &words)).collect();
    let (live, follower) = LiveIndex::follow(store.clone(), index.clone());
    let following = tokio::spawn(follower);
    let engine = engine.search(live).build();
    let mut search_ms = Vec::with_capacity(queries);
    // Lists with a status, region or category filter apart: the store fetches their
    // matches differently (they were the slow tail once).
    let (mut plain_ms, mut filtered_ms) = (Vec::new(), Vec::new());
    let mut found = 0;
    for filter in &asked {
        let started = Instant::now();
        found += engine.list(filter).await?.tickets.len();
        let ms = started.elapsed().as_secs_f64() * 1e3;
        search_ms.push(ms);
        let filtered =
            filter.status.is_some() || filter.region_path.is_some() || filter.category.is_some();
        let kind = if filtered {
            &mut filtered_ms
        } else {
            &mut plain_ms
        };
        kind.push(ms);
    }
    let mut scan_ms = Vec::with_capacity(scans);
    for filter in asked.iter().take(scans) {
        let started = Instant::now();
        store.list(filter).await?;
        scan_ms.push(started.elapsed().as_secs_f64() * 1e3);
    }
    let search = harness::percentiles(&mut search_ms);
    let (plain, filtered) = (plain_ms.len(), filtered_ms.len());
    let (plain_ms, filtered_ms) = (
        harness::percentiles(&mut plain_ms),
        harness::percentiles(&mut filtered_ms),
    );
    let scan = harness::percentiles(&mut scan_ms);
    following.abort();
    if filled {
        println!("tickets            {tickets} (stored in {fill_seconds:.0} s)");
    } else {
        println!(
            "tickets            {tickets} (already stored in {})",
            dir.display()
        );
    }
    println!(
        "indexing           {indexed} tickets in {index_seconds:.1} s ({:.0} tickets/s), index {:.1} MB",
        indexed as f64 / index_seconds.max(1e-9),
        index.size_on_disk()? as f64 / 1e6
    );
    println!(
        "search lists       {queries} queries (1 word, 2 words, word + filter; limit 50), {:.1} rows each: {search}",
        found as f64 / queries.max(1) as f64
    );
    harness::figure("search.lists.p50", search.p50, "ms");
    harness::figure("search.lists.p99", search.p99, "ms");
    println!("  words only       {plain} of them: {plain_ms}");
    println!("  word + filter    {filtered} of them: {filtered_ms}");
    println!("LIKE scan lists    first {scans} of the same queries: {scan}");
    println!(
        "p50 ratio          LIKE / search = {:.0}x",
        scan.p50 / search.p50.max(1e-6)
    );
    println!(
        "memory (RSS)       {} MB after the queries, peak {} MB",
        harness::memory_mb("VmRSS:").unwrap_or(0),
        harness::memory_mb("VmHWM:").unwrap_or(0)
    );
    Ok(())
}

/// Stores `count` tickets received evenly over `span` from `start`, half of them
/// dispatched to a unit, 64 intakes at a time so SQLite's group commit batches them;
/// texts, places and categories drawn with `seed`.
pub async fn fill(
    store: &Arc<dyn Store>,
    texts: &[(String, String)],
    count: usize,
    start: Timestamp,
    span: SignedDuration,
    seed: u64,
) -> anyhow::Result<()> {
    let bar = harness::progress_bar(Some(count as u64), "storing");
    let step = span / count.max(1) as i32;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..count {
        // A real message with a sentence of another one: as many distinct texts as
        // tickets, with the words and lengths of real demands.
        let (title, description) = &texts[rng.random_range(0..texts.len())];
        let (_, other) = &texts[rng.random_range(0..texts.len())];
        let extra = other.split('。').next().unwrap_or_default();
        let description = format!("{description}。{extra}");
        let district = DISTRICTS[rng.random_range(0..DISTRICTS.len())];
        let street = rng.random_range(1..=6);
        let at = start + step * i as i32;
        let intake = Intake {
            channel: Channel::Web,
            kind: Kind::Complaint,
            title: title.clone(),
            description,
            address: Some(format!("{district}区{street}街道")),
            location: None,
            citizen: Citizen::default(),
            category: Some(CategoryPath::new(
                CATEGORIES[rng.random_range(0..CATEGORIES.len())],
            )),
            region: Some(RegionId::new(format!("{district}-{street:02}"))),
            tier: TierCode("15d".into()),
            external_ref: None,
            city: None,
        };
        let mut events = vec![Event {
            seq: 1,
            at,
            actor: Actor::citizen(),
            change: Change::Created(intake),
        }];
        if rng.random_bool(0.5) {
            events.push(Event {
                seq: 2,
                at,
                actor: Actor::system(SystemPart::Bench),
                change: Change::Dispatched {
                    unit: UnitId::new(format!("street-{district}-{street:02}")),
                    deadlines: Deadlines {
                        respond_by: at,
                        resolve_by: at,
                    },
                    reason: "bench".into(),
                    basis: None,
                },
            });
        }
        let new = NewTicket {
            day: at.to_zoned(jiff::tz::TimeZone::UTC).date(),
            events,
            region_path: Some(format!("/A/{district}/{district}-{street:02}/")),
            idempotency: None,
            timers: Vec::new(),
            notifications: Vec::new(),
            audit: None,
        };
        let store = store.clone();
        tasks.spawn(async move { store.create_ticket(new).await });
        if tasks.len() >= 64 {
            tasks.join_next().await.expect("a task")??;
            bar.inc(1);
        }
    }
    while let Some(done) = tasks.join_next().await {
        done??;
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(())
}

/// The 300 most frequent words of two or more characters in the messages: what people
/// search for.
fn frequent_words(texts: &[(String, String)]) -> Vec<String> {
    let segmenter = minhu_text::Segmenter::default();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for (title, description) in texts {
        for text in [title, description] {
            for word in segmenter.words(text) {
                if word.chars().count() >= 2 {
                    *counts.entry(word).or_default() += 1;
                }
            }
        }
    }
    let mut words: Vec<(&str, usize)> = counts.into_iter().collect();
    words.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    words
        .into_iter()
        .take(300)
        .map(|(w, _)| w.to_owned())
        .collect()
}

/// One list request: 40 % one word, 30 % two words, 30 % a word and a filter.
fn query(rng: &mut StdRng, words: &[String]) -> TicketFilter {
    let mut word = || words[rng.random_range(0..words.len())].clone();
    let first = word();
    let second = word();
    let mut filter = TicketFilter {
        limit: 50,
        ..TicketFilter::default()
    };
    match rng.random_range(0..10) {
        0..4 => filter.text = Some(first),
        4..7 => filter.text = Some(format!("{first} {second}")),
        7 => {
            filter.text = Some(first);
            filter.status = Some(Status::Dispatched);
        }
        8 => {
            filter.text = Some(first);
            filter.region_path = Some(format!("/A/{}/", DISTRICTS[rng.random_range(0..9)]));
        }
        _ => {
            filter.text = Some(first);
            filter.category = Some(CATEGORIES[rng.random_range(0..CATEGORIES.len())].into());
        }
    }
    filter
}
