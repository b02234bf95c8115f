//! The intake benchmark: a real server on a loopback socket, a database with a durable
//! commit per ticket, and concurrent HTTP clients creating tickets that get placed and
//! routed. Prints throughput and latency percentiles.

use crate::harness::{self, Place};
use minhu_core::SystemClock;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

const WARM_UP: usize = 500;

/// Demands of the demo city that routing can place and send to a unit.
pub const SAMPLES: &[(&str, &str, &str, &str)] = &[
    (
        "小区物业不作为",
        "电梯坏了一个月物业不修",
        "A3区天顶街道尖山社区",
        "城乡建设/住房保障与房地产/物业服务",
    ),
    (
        "拖欠工资",
        "公司拖欠三个月工资不发",
        "A1区马坡岭街道",
        "劳动和社会保障",
    ),
    (
        "夜间施工噪音扰民",
        "工地每天夜里施工到凌晨两点",
        "A5区",
        "环境保护",
    ),
    ("学校乱收费", "学校要求购买指定教辅", "A2区", "教育文体"),
    ("公交线路咨询", "请问到高铁站的公交线路", "", "交通运输"),
    ("路灯不亮", "小区门口路灯坏了一周", "A4区", "城乡建设"),
];

/// The benchmark on the demo city; with `province`, then again in the same run with
/// the demo province's thirteen cities configured (a fresh store each; on SQLite only,
/// as a PostgreSQL database given is used once).
pub async fn run(
    clients: usize,
    tickets: usize,
    database: Option<String>,
    province: bool,
) -> anyhow::Result<()> {
    if province && database.is_some() {
        anyhow::bail!(
            "--province runs twice on fresh stores: measure it on SQLite (no --database)"
        );
    }
    measure(clients, tickets, database.clone(), false).await?;
    if province {
        measure(clients, tickets, database, true).await?;
    }
    Ok(())
}

async fn measure(
    clients: usize,
    tickets: usize,
    database: Option<String>,
    province: bool,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let place = Place {
        config: dir.path().join(if province { "province" } else { "city" }),
        database: database.clone(),
        data_dir: dir.path().to_owned(),
        model: None,
    };
    if province {
        minhu::demo::write_province(&place.config, true)?;
    } else {
        minhu::demo::write_city(&place.config, true)?;
    }
    let (engine, store) = harness::open(&place, Arc::new(SystemClock)).await?;
    let backend = format!("{:?}", store.backend());
    let engine = Arc::new(engine.build());
    // The clients are an intake gateway with its own token: anonymous intake is
    // rate-limited per address, which is not what this measures.
    let permissions = [minhu_core::access::Permission::CreateTickets];
    let token = harness::token(&engine, "bench", &permissions, None).await?;
    let url = format!("{}/api/v1/tickets", harness::serve(engine, &place).await?);
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse()?,
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .default_headers(headers)
        .build()?;
    let cities = if province {
        "the demo province's 13 cities"
    } else {
        "the demo city"
    };
    println!(
        "intake benchmark: {backend}, {cities}, {clients} clients, {tickets} tickets (+{WARM_UP} warm-up), {}",
        std::env::consts::ARCH
    );
    fire(&client, &url, clients, WARM_UP, "warm").await?;
    let started = Instant::now();
    let (mut latencies, errors) = fire(&client, &url, clients, tickets, "run").await?;
    let elapsed = started.elapsed();
    let at = harness::percentiles(&mut latencies);
    println!(
        "tickets/s={:.0} p50_ms={:.2} p90_ms={:.2} p99_ms={:.2} max_ms={:.2} errors={errors} elapsed_s={:.2}",
        at.n as f64 / elapsed.as_secs_f64(),
        at.p50,
        at.p90,
        at.p99,
        at.max,
        elapsed.as_secs_f64()
    );
    let backend = backend.to_lowercase() + if province { ".province" } else { "" };
    harness::figure(
        &format!("intake.{backend}.tickets_per_s"),
        at.n as f64 / elapsed.as_secs_f64(),
        "tickets/s",
    );
    harness::figure(&format!("intake.{backend}.p99"), at.p99, "ms");
    if errors > 0 {
        anyhow::bail!("{errors} requests failed");
    }
    Ok(())
}

/// Sends `count` creates from `clients` concurrent loops; returns each latency (in
/// milliseconds) and the number of failures.
async fn fire(
    client: &reqwest::Client,
    url: &str,
    clients: usize,
    count: usize,
    label: &str,
) -> anyhow::Result<(Vec<f64>, usize)> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut loops = Vec::new();
    for _ in 0..clients {
        let (client, url, next, label) = (
            client.clone(),
            url.to_owned(),
            next.clone(),
            label.to_owned(),
        );
        loops.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                let (title, description, address, category) = SAMPLES[i % SAMPLES.len()];
                let body = serde_json::json!({
                    "channel": "web", "kind": "complaint", "title": title, "description": description,
                    "address": address, "category": category, "citizen": {"phone": format!("138{:08}", i % 100_000_000)},
                });
                let sent = Instant::now();
                let response = client.post(&url).header("Idempotency-Key", format!("bench-{label}-{i}")).json(&body).send().await;
                match response {
                    Ok(r) if r.status() == reqwest::StatusCode::CREATED => latencies.push(harness::elapsed_ms(sent)),
                    Ok(r) => {
                        errors += 1;
                        if errors == 1 {
                            eprintln!("HTTP {}: {}", r.status(), r.text().await.unwrap_or_default());
                        }
                    }
                    Err(e) => {
                        errors += 1;
                        if errors == 1 {
                            eprintln!("request failed: {e}");
                        }
                    }
                }
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::with_capacity(count);
    let mut errors = 0;
    for handle in loops {
        let (latencies, failed) = handle.await?;
        all.extend(latencies);
        errors += failed;
    }
    Ok((all, errors))
}
