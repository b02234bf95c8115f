//! `GET /metrics`: Prometheus's text, read back by the Prometheus project's own Python
//! client's parser (Debian's `python3-prometheus-client`, installed by
//! `scripts/ensure-prometheus-client`); counters that move with requests, labelled by
//! route template; and who may read it.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use minhu_core::access::Permission;
use minhu_testkit::web::{TestApp, demand};
use std::collections::BTreeMap;

type Labels = BTreeMap<String, String>;

/// Every sample of `text` as Prometheus's parser reads it: (name, labels, value).
fn parse(text: &str) -> Vec<(String, Labels, f64)> {
    use std::io::Write;
    const READ: &str = "import json, sys\n\
        from prometheus_client.parser import text_string_to_metric_families\n\
        out = [[s.name, s.labels, s.value] for f in text_string_to_metric_families(sys.stdin.read()) for s in f.samples]\n\
        json.dump(out, sys.stdout)\n";
    // scripts/test names the interpreter that has the parser (MINHU_PYTHON).
    let python = std::env::var("MINHU_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut python = std::process::Command::new(python)
        .args(["-c", READ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    python
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = python.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("No module named 'prometheus_client'"),
        "run scripts/ensure-prometheus-client and set MINHU_PYTHON to the path it prints: {stderr}"
    );
    assert!(
        output.status.success(),
        "the parser refused /metrics: {stderr}\n{text}"
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The value of the sample `name` whose labels include `labels` (0 when none has).
fn value(samples: &[(String, Labels, f64)], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|(n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, _, v)| v)
        .sum()
}

async fn scrape(app: &TestApp, token: &str) -> String {
    let request = Request::get("/metrics").body(Body::empty()).unwrap();
    let (status, body, headers) = app.send_as(Some(token), request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "{headers:?}"
    );
    body.as_str().unwrap().to_owned()
}

#[tokio::test]
async fn metrics_parse_and_move_with_requests_labelled_by_route_template() {
    let app = TestApp::new().await;
    let token = app
        .token_with("prometheus", &[Permission::ViewMetrics], None, None)
        .await;
    let before = parse(&scrape(&app, &token).await);
    let (status, created) = app
        .post("/api/v1/tickets", &demand("小区路灯不亮"), None)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let number = created["number"].as_str().unwrap().to_owned();
    let (status, body) = app.get(&format!("/api/v1/tickets/{number}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app.get("/api/v1/tickets?q=13812345678").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = app.get("/no/such/13812345678").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .act(
            &number,
            serde_json::json!({"action": "urge", "note": "请加快"}),
        )
        .await;
    assert!(status.is_success() || status.is_client_error(), "{status}");

    let text = scrape(&app, &token).await;
    let after = parse(&text);
    let moved = |name: &str, labels: &[(&str, &str)]| {
        value(&after, name, labels) - value(&before, name, labels)
    };
    let requests = "minhu_http_requests_total";
    let created = [
        ("route", "/api/v1/tickets"),
        ("method", "POST"),
        ("status", "201"),
    ];
    assert!(moved(requests, &created) >= 1.0, "{text}");
    let read = [
        ("route", "/api/v1/tickets/{number}"),
        ("method", "GET"),
        ("status", "200"),
    ];
    assert!(moved(requests, &read) >= 1.0, "{text}");
    let nowhere = [("route", "unmatched"), ("method", "GET"), ("status", "404")];
    assert!(moved(requests, &nowhere) >= 1.0, "{text}");
    let timed = [("route", "/api/v1/tickets"), ("method", "POST")];
    assert!(moved("minhu_http_request_duration_seconds_count", &timed) >= 1.0);
    assert!(
        moved("minhu_intake_total", &[("channel", "web")]) >= 1.0,
        "{text}"
    );
    assert!(
        moved("minhu_actions_total", &[("action", "urge")]) >= 1.0,
        "{text}"
    );
    // Paths, numbers and query strings never become labels.
    for private in [number.as_str(), "13812345678", "/no/such"] {
        assert!(!text.contains(private), "{private} in /metrics");
    }
    // What is read when scraped: the outbox, the pools (SQLite: one writer).
    assert_eq!(value(&after, "minhu_outbox_backlog", &[]), 0.0);
    let writer = [("pool", "writer"), ("state", "max")];
    assert_eq!(value(&after, "minhu_db_pool_connections", &writer), 1.0);
    // No search index in this app: its lag says so.
    assert_eq!(value(&after, "minhu_search_index_lag_seconds", &[]), -1.0);
}

#[tokio::test]
async fn metrics_are_for_a_metrics_token_or_the_servers_own_host() {
    let app = TestApp::new().await;
    let get = || Request::get("/metrics").body(Body::empty()).unwrap();
    let forwarded = || {
        Request::get("/metrics")
            .header("x-forwarded-for", "203.0.113.9")
            .body(Body::empty())
            .unwrap()
    };
    let (status, ..) = app.send_from("203.0.113.9", None, get()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "anonymous from afar");
    let (status, ..) = app.send_from("203.0.113.9", Some(&app.admin), get()).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "an administrator lacks metrics.view"
    );
    let token = app
        .token_with("prometheus", &[Permission::ViewMetrics], None, None)
        .await;
    let (status, ..) = app.send_from("203.0.113.9", Some(&token), get()).await;
    assert_eq!(status, StatusCode::OK, "a metrics token from anywhere");
    for local in ["127.0.0.1", "::1"] {
        let (status, body, _) = app.send_from(local, None, get()).await;
        assert_eq!(status, StatusCode::OK, "the server's own host ({local})");
        assert!(body.as_str().unwrap().contains("minhu_outbox_backlog"));
        // A proxy on the same host forwards the internet: not local.
        let (status, ..) = app.send_from(local, None, forwarded()).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "forwarded through {local}"
        );
    }
}
