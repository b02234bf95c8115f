//! The intake benchmark: a real server on a loopback socket, a database with a durable
//! commit per ticket, and concurrent HTTP clients creating tickets that get placed and
//! routed. Prints throughput and latency percentiles.

use crate::Place;
use minhu_core::SystemClock;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const WARM_UP: usize = 500;

/// Demands of the demo city that routing can place and send to a unit.
pub(crate) const SAMPLES: &[(&str, &str, &str, &str)] = &[
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

pub async fn run(clients: usize, tickets: usize, database: Option<String>) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let place = Place {
        config: dir.path().join("city"),
        database: database.clone(),
        data_dir: dir.path().to_owned(),
        model: None,
    };
    crate::demo::write_city(&place.config, true)?;
    let opened = crate::server::open(&place, Arc::new(SystemClock)).await?;
    let backend = format!("{:?}", minhu_store::StoreBackend::backend(&*opened.store));
    let engine = Arc::new(opened.engine.build());
    // The clients are an intake gateway with its own token: anonymous intake is
    // rate-limited per address, which is not what this measures.
    let permissions = [minhu_core::access::Permission::CreateTickets];
    let token = token(&engine, "bench", &permissions, None).await?;
    let url = format!("{}/api/v1/tickets", serve(engine, &place).await?);
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse()?,
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .default_headers(headers)
        .build()?;
    println!(
        "intake benchmark: {backend}, {clients} clients, {tickets} tickets (+{WARM_UP} warm-up), {}",
        std::env::consts::ARCH
    );
    fire(&client, &url, clients, WARM_UP, "warm").await?;
    let started = Instant::now();
    let (mut latencies, errors) = fire(&client, &url, clients, tickets, "run").await?;
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "tickets/s={:.0} p50_ms={:.2} p90_ms={:.2} p99_ms={:.2} max_ms={:.2} errors={errors} elapsed_s={:.2}",
        latencies.len() as f64 / elapsed.as_secs_f64(),
        ms(pct(0.50)),
        ms(pct(0.90)),
        ms(pct(0.99)),
        ms(latencies.last().copied().unwrap_or_default()),
        elapsed.as_secs_f64()
    );
    if errors > 0 {
        anyhow::bail!("{errors} requests failed");
    }
    Ok(())
}

/// Serves `engine` as `minhu serve` does (without notifications) on a loopback port
/// in this process; returns the base URL.
pub(crate) async fn serve(
    engine: Arc<minhu_engine::Engine>,
    place: &Place,
) -> anyhow::Result<String> {
    let state = crate::server::app_state(engine, place, &minhu_notify::NotifyConfig::default())?;
    let (ready, url) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        // Every bench client connects from loopback: no per-address cap.
        let options = minhu_web::serve::ServeOptions {
            max_connections_per_address: usize::MAX,
            ..Default::default()
        };
        let served = crate::server::serve_state(state, "127.0.0.1:0", options, |url| {
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
pub(crate) async fn token(
    engine: &minhu_engine::Engine,
    name: &str,
    permissions: &[minhu_core::access::Permission],
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
pub(crate) async fn time_gets(
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
            times.push(started.elapsed().as_secs_f64() * 1e3);
        }
    }
    Ok((times, body))
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Sends `count` creates from `clients` concurrent loops; returns each latency and the
/// number of failures.
async fn fire(
    client: &reqwest::Client,
    url: &str,
    clients: usize,
    count: usize,
    label: &str,
) -> anyhow::Result<(Vec<Duration>, usize)> {
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
                    Ok(r) if r.status() == reqwest::StatusCode::CREATED => latencies.push(sent.elapsed()),
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
