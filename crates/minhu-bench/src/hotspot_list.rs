//! `minhu-bench hotspot-list`: the hotspot list at a province's volume, kept by the
//! engine's watch (`minhu_engine::hotspots`) against the list computed on request.
//!
//! The store is filled as `minhu-bench search` fills it (the demo's real messages, each with
//! a sentence of another, placed in the demo city's streets, half dispatched to the
//! street's office), with `tickets` received evenly over the default window and the
//! window before it (14 days: a city of 10M tickets a year has ~380k). Then, with the
//! engine's clock at the end of those days:
//!
//! 1. one full pass of the watch (read the two windows, segment every ticket, group);
//! 2. `new` more tickets, a few minutes later, and an incremental pass (reads, segments
//!    and assigns only those to the kept groups, ranks the groups), then a pass with
//!    nothing new; then `regroup_new` more (a tenth of the window: the watch groups
//!    every kept ticket afresh, its occasional pass). Each pass's wall time, its CPU
//!    seconds (the process's, all threads) and the memory after it (and the peak);
//! 3. the route's answer from the kept list over a loopback socket, p50 and p99 of
//!    `runs` after one warm-up, for an administrator (the whole city) and a street
//!    office's leader (narrowed to its tickets); and, in the same run, the list
//!    computed on request (the same window asked for with `to`: the old path, which
//!    reads at most 20,000 tickets), `old_runs` times.
//!
//! With `--dir` the city and its SQLite store are kept, so a later run measures the
//! same tickets (and the earlier runs' new ones) again without storing them anew.

use crate::harness;
use jiff::{SignedDuration, Timestamp};
use minhu_core::ManualClock;
use minhu_core::access::Role;
use minhu_engine::hotspots::DAYS;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

pub struct Settings {
    pub tickets: usize,
    pub new: usize,
    pub regroup_new: usize,
    pub runs: usize,
    pub old_runs: usize,
}

pub async fn run(settings: Settings, keep: Option<PathBuf>) -> anyhow::Result<()> {
    let (_temporary, place) = harness::demo_place(None, keep, false)?;
    let dir = place.data_dir.clone();
    let start: Timestamp = "2026-03-01T00:00:00+08:00".parse()?;
    let window = SignedDuration::from_hours(DAYS * 24);
    let end = start + window + window;
    let clock = Arc::new(ManualClock::new(end));
    let (engine, store) = harness::open(&place, clock.clone()).await?;
    let engine = Arc::new(engine.build());
    let texts: Vec<(String, String)> = minhu::demo::demo_messages()?
        .into_iter()
        .map(|row| (row.title, row.description))
        .collect();
    anyhow::ensure!(!texts.is_empty(), "the demo has no messages");
    match harness::stored_tickets(&*store).await? {
        0 => {
            let started = Instant::now();
            let span = window + window;
            crate::search::fill(&store, &texts, settings.tickets, start, span, 1).await?;
            harness::analyze(&place).await?;
            println!(
                "stored {} tickets over {} days in {:.0} s",
                settings.tickets,
                2 * DAYS,
                started.elapsed().as_secs_f64()
            );
        }
        // Earlier runs' new tickets stay too.
        n if n >= settings.tickets as u64 => {
            println!("{n} tickets already stored in {}", dir.display());
        }
        n => anyhow::bail!(
            "{} already holds {n} tickets, fewer than {}: give --tickets {n} or a fresh --dir",
            dir.display(),
            settings.tickets
        ),
    }

    let started = Instant::now();
    engine.hotspot_lexicon();
    println!(
        "lexicon (the city's place names in the segmenter): {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let rss = || {
        format!(
            "RSS {} MB, peak {} MB",
            harness::memory_mb("VmRSS:").unwrap_or(0),
            harness::memory_mb("VmHWM:").unwrap_or(0)
        )
    };
    println!("before the first pass: {}", rss());
    let pass = |what: &'static str| {
        let engine = engine.clone();
        async move {
            let started = Instant::now();
            let cpu = harness::cpu_seconds().unwrap_or(0.0);
            let done = engine.refresh_hotspots().await?;
            println!(
                "{what:<28} {:>8.2} s, CPU {:>7.2} s{}: read {}, segmented {}, kept {}, {} hotspots; {}",
                started.elapsed().as_secs_f64(),
                harness::cpu_seconds().unwrap_or(0.0) - cpu,
                if done.regrouped {
                    " (grouped afresh)"
                } else {
                    ""
                },
                done.read,
                done.segmented,
                done.kept,
                done.hotspots,
                rss()
            );
            anyhow::Ok(())
        }
    };
    pass("full pass").await?;
    // New tickets of the last three minutes, then the next pass.
    let minutes = SignedDuration::from_mins(3);
    crate::search::fill(&store, &texts, settings.new, end, minutes, 2).await?;
    clock.set(end + minutes);
    pass("incremental pass").await?;
    pass("pass with nothing new").await?;
    if settings.regroup_new > 0 {
        let later = end + minutes + minutes;
        crate::search::fill(&store, &texts, settings.regroup_new, later, minutes, 3).await?;
        clock.set(later + minutes);
        pass("a tenth new: grouped afresh").await?;
        pass("pass with nothing new").await?;
    }

    let token = harness::token;
    let admin = token(&engine, "admin", Role::Administrator.permissions(), None).await?;
    // The fill dispatches to street offices `street-<district>-<street>`.
    let street = Some("street-A3-01");
    let leader = token(&engine, "leader", Role::UnitLeader.permissions(), street).await?;
    let base = harness::serve(engine.clone(), &place).await?;
    let client = reqwest::Client::new();
    let today = engine.city().local_date(engine.now());
    let kept = "/api/v1/analytics/hotspots".to_owned();
    let old = format!("/api/v1/analytics/hotspots?to={today}");
    println!(
        "route                                           p50 ms   p99 ms   max ms  tickets  hotspots"
    );
    let mut p50 = Vec::new();
    for (who, token, path, runs) in [
        ("administrator, kept", &admin, &kept, settings.runs),
        ("street office leader, kept", &leader, &kept, settings.runs),
        ("administrator, on request", &admin, &old, settings.old_runs),
        (
            "street office leader, on request",
            &leader,
            &old,
            settings.old_runs,
        ),
    ] {
        let url = format!("{base}{path}");
        let (mut times, body) = harness::time_gets(&client, &url, token, runs.max(1)).await?;
        let last: serde_json::Value = serde_json::from_slice(&body)?;
        let at = harness::percentiles(&mut times);
        let truncated = if last["truncated"] == true {
            " (truncated)"
        } else {
            ""
        };
        println!(
            "{who:<46} {:>7.1} {:>8.1} {:>8.1} {:>8}{truncated} {:>6}",
            at.p50, at.p99, at.max, last["tickets"], last["total"]
        );
        p50.push(at.p50);
    }
    println!(
        "p50 ratio, on request / kept: administrator {:.0}x, street office leader {:.0}x",
        p50[2] / p50[0].max(1e-6),
        p50[3] / p50[1].max(1e-6)
    );
    Ok(())
}
