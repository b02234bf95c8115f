//! The log of a real `minhu serve` whose standard error is not a terminal: no colour
//! codes, one JSON object a line with `MINHU_LOG_FORMAT=json`, and an access line per
//! request that names the route's template and holds no query string, no number of a
//! path and no personal data.

use crate::server::{admin_token, client, listening, post_json, serve_command, terminate};
use std::process::Stdio;
use tokio::io::AsyncReadExt;

/// Runs a server with `format`, sends it a working session's requests, stops it and
/// returns what it wrote on standard error, and the new ticket's number.
async fn logged_session(format: &str) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let client = client(&admin_token(dir.path()));
    let mut server = serve_command(dir.path())
        .env("MINHU_LOG_FORMAT", format)
        .env_remove("MINHU_LOG")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = server.stderr.take().unwrap();
    let log = tokio::spawn(async move {
        let mut text = String::new();
        stderr.read_to_string(&mut text).await.unwrap();
        text
    });
    let url = listening(&mut server).await;
    let demand = serde_json::json!({
        "channel": "phone", "kind": "complaint", "title": "路灯不亮",
        "description": "小区门口路灯坏了，电话13812345678", "address": "A3区天顶街道尖山社区",
        "category": "城乡建设/住房保障与房地产/物业服务",
        "citizen": {"phone": "13812345678", "name": "张三"}
    });
    let created = post_json(&client, &format!("{url}/api/v1/tickets"), &demand).await;
    let number = created["number"].as_str().unwrap().to_owned();
    for path in [
        format!("/api/v1/tickets/{number}"),
        "/api/v1/tickets?q=13812345678".to_owned(),
    ] {
        let status = client
            .get(format!("{url}{path}"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, reqwest::StatusCode::OK, "{path}");
    }
    // GET /metrics from this host, directly (200) and as a proxy would forward it (401).
    let scrape = reqwest::Client::new();
    let direct = scrape.get(format!("{url}/metrics")).send().await.unwrap();
    assert_eq!(direct.status(), reqwest::StatusCode::OK);
    let text = direct.text().await.unwrap();
    assert!(
        text.contains("minhu_intake_total{channel=\"phone\"} 1"),
        "{text}"
    );
    let forwarded = scrape
        .get(format!("{url}/metrics"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(forwarded.status(), reqwest::StatusCode::UNAUTHORIZED);
    terminate(&mut server).await;
    (log.await.unwrap(), number)
}

/// What no line may hold: the citizen's phone and name, a query string.
/// (The ticket's number may appear where a notification is logged, not in an access
/// line.)
const PRIVATE: [&str; 3] = ["13812345678", "q=", "张三"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_hold_an_access_line_per_request_without_personal_data() {
    let (log, number) = logged_session("json").await;
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let access: Vec<(String, String, u64)> = lines
        .iter()
        .filter(|line| line["target"] == "minhu::access")
        .map(|line| {
            (
                line["method"].as_str().unwrap().to_owned(),
                line["route"].as_str().unwrap().to_owned(),
                line["status"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("POST", "/api/v1/tickets", 201),
        ("GET", "/api/v1/tickets/{number}", 200),
        ("GET", "/api/v1/tickets", 200),
        ("GET", "/metrics", 200),
        ("GET", "/metrics", 401),
    ];
    let expected: Vec<(String, String, u64)> = expected
        .iter()
        .map(|(m, r, s)| (m.to_string(), r.to_string(), *s))
        .collect();
    assert_eq!(access, expected, "{log}");
    assert!(lines.iter().all(|line| line["level"].is_string()), "{log}");
    for private in PRIVATE {
        assert!(!log.contains(private), "{private} in the log: {log}");
    }
    let access_lines = log.lines().filter(|l| l.contains("minhu::access"));
    assert!(access_lines.clone().all(|l| !l.contains(&number)), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_logs_to_a_file_carry_no_colour_codes() {
    let (log, number) = logged_session("text").await;
    assert!(!log.contains('\u{1b}'), "colour codes: {log:?}");
    let access: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("minhu::access"))
        .collect();
    assert_eq!(access.len(), 5, "{log}");
    assert!(access.iter().all(|l| !l.contains(&number)), "{log}");
    for private in PRIVATE {
        assert!(!log.contains(private), "{private} in the log: {log}");
    }
}

#[test]
fn an_unknown_log_format_is_named() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_minhu"))
        .args(["admin", "users"])
        .env("MINHU_LOG_FORMAT", "xml")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("MINHU_LOG_FORMAT") && stderr.contains("xml"),
        "{stderr}"
    );
}
