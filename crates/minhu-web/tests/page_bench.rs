//! How long the pages take to answer with many tickets in the database (server time:
//! the full router in-process, no network). Not part of the normal run: it fills the
//! database with `MINHU_BENCH_TICKETS` tickets (default 1,000,000) first.
//!
//! `cargo test --release -p minhu-web --test page_bench -- --ignored --nocapture`
//!
//! The tickets are copies of real ones (made through the API, one per status) written
//! with one SQL statement, each with its own number and intake time, so the lists,
//! counts and indexes see a million distinct rows.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use minhu_core::access::Role;
use serde_json::json;
use std::time::{Duration, Instant};
use support::TestApp;

async fn time_page(app: &TestApp, token: &str, uri: &str) -> Duration {
    let mut runs = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let (status, _, _) = app
            .send_as(Some(token), Request::get(uri).body(Body::empty()).unwrap())
            .await;
        runs.push(start.elapsed());
        assert_eq!(status, StatusCode::OK, "{uri}");
    }
    runs.sort();
    runs[runs.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "fills a database with a million tickets; run by hand"]
async fn pages_answer_quickly_with_many_tickets() {
    let count: u64 = std::env::var("MINHU_BENCH_TICKETS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let app = TestApp::new().await;
    let mut numbers = Vec::new();
    for step in ["pending", "dispatched", "accepted", "resolved"] {
        let (_, created) = app
            .post(
                "/api/v1/tickets",
                &json!({"channel": "phone", "kind": "complaint", "title": "路灯不亮",
                        "description": "天顶街道尖山社区路灯不亮", "address": "A3区天顶街道尖山社区",
                        "citizen": {"phone": "13900001111"}})
                .to_string(),
                None,
            )
            .await;
        let number = created["number"].as_str().unwrap().to_owned();
        let actions: &[serde_json::Value] = match step {
            "pending" => &[],
            "dispatched" => &[json!({"action": "dispatch", "unit": "street-A3-01"})],
            "accepted" => &[
                json!({"action": "dispatch", "unit": "street-A3-01"}),
                json!({"action": "accept"}),
            ],
            _ => &[
                json!({"action": "dispatch", "unit": "street-A3-01"}),
                json!({"action": "accept"}),
                json!({"action": "resolve", "reply": "已修复"}),
            ],
        };
        for action in actions {
            let (status, body) = app.act(&number, action.clone()).await;
            assert!(status.is_success(), "{body}");
        }
        numbers.push(number);
    }
    let file = app.database_url();
    let pool = sqlx::SqlitePool::connect(&file).await.unwrap();
    let start = Instant::now();
    // Numbers 2025000000001..: a day part no real ticket has, distinct per copy; the
    // intake time goes back a minute per copy, so the newest-first lists reach deep.
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1), \
         src AS MATERIALIZED (SELECT *, ROW_NUMBER() OVER (ORDER BY number) - 1 AS k \
           FROM tickets) \
         INSERT INTO tickets (number, version, status, channel, kind, category, region, \
           region_path, unit, title, description, citizen_phone, external_ref, created_at, \
           updated_at, resolve_by, state) \
         SELECT printf('2025%09d', i), t.version, t.status, t.channel, t.kind, t.category, \
           t.region, t.region_path, t.unit, t.title, t.description, t.citizen_phone, \
           t.external_ref, t.created_at - i * 60000, t.updated_at, t.resolve_by, \
           replace(t.state, t.number, printf('2025%09d', i)) \
         FROM n JOIN src t ON t.k = n.i % 4",
    )
    .bind(count as i64)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("ANALYZE").execute(&pool).await.unwrap();
    eprintln!("filled {count} tickets in {:.1?}", start.elapsed());

    let dispatcher = app.token("d", Role::Dispatcher, None, None).await;
    let unit = app
        .token("u", Role::UnitHandler, Some("street-A3-01"), None)
        .await;
    let supervisor = app.token("s", Role::Supervisor, None, None).await;
    let admin = app.admin.clone();
    let pages = [
        (&admin, "/".to_owned()),
        (&dispatcher, "/tickets".to_owned()),
        (&dispatcher, format!("/tickets/{}", numbers[0])),
        (&dispatcher, "/console".to_owned()),
        (&dispatcher, "/dispatch".to_owned()),
        (&unit, "/inbox".to_owned()),
        (&supervisor, "/dashboard".to_owned()),
        (&admin, "/admin".to_owned()),
        (&admin, "/public".to_owned()),
    ];
    let mut slow = Vec::new();
    for (token, uri) in &pages {
        let median = time_page(&app, token, uri).await;
        eprintln!(
            "{uri:<28} median of 5: {:>8.1} ms",
            median.as_secs_f64() * 1000.0
        );
        if median > Duration::from_millis(200) {
            slow.push(uri.clone());
        }
    }
    eprintln!("over 200 ms: {slow:?}");
}
