//! No secret reaches the logs: passwords, tokens, session cookies, CSRF tokens, nor a
//! citizen's phone while a unit works on the ticket. Every log line of every level is
//! captured while a whole working session runs.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use minhu_core::access::Role;
use minhu_testkit::web::{PASSWORD, TestApp};
use serde_json::json;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn secrets_and_personal_data_never_reach_the_logs() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish(),
    )
    .unwrap();

    let app = TestApp::new().await;
    const PHONE: &str = "13912345678";
    app.add_user("zhang", Role::Dispatcher, None).await;
    let (status, created) = app
        .post_as(
            None,
            "/api/v1/tickets",
            &json!({"channel": "web", "kind": "complaint", "title": "电梯坏了",
                    "description": "电梯坏了一个月", "address": "A3区天顶街道尖山社区",
                    "category": "城乡建设/住房保障与房地产/物业服务",
                    "citizen": {"phone": PHONE}})
            .to_string(),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let number = created["number"].as_str().unwrap();
    let unit = created["unit"].as_str().unwrap();
    let handler = app.token("h", Role::UnitHandler, Some(unit), None).await;
    for action in [
        json!({"action": "accept"}),
        json!({"action": "resolve", "reply": "已修好"}),
    ] {
        let (status, body) = app.act_as(Some(&handler), number, action).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    app.get_as(Some(&handler), &format!("/api/v1/tickets/{number}/events"))
        .await;
    app.get_as(Some("mh_wrong_token"), "/api/v1/tickets").await;

    let login = |password: &str| {
        Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "login=zhang&password={}",
                password.replace(' ', "+")
            )))
            .unwrap()
    };
    let (status, _, _) = app.send_as(None, login("wrong password here")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, headers) = app.send_as(None, login(PASSWORD)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let cookie = headers[header::SET_COOKIE].to_str().unwrap();
    let session = cookie.split(';').next().unwrap().split('=').nth(1).unwrap();
    let (status, page, _) = app
        .send_as(
            None,
            Request::get("/tickets")
                .header(header::COOKIE, format!("minhu_session={session}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let csrf = page
        .as_str()
        .unwrap()
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.len() > 100, "the subscriber captured the run: {logs}");
    for (what, secret) in [
        ("password", PASSWORD),
        ("wrong password", "wrong password here"),
        ("API token", handler.as_str()),
        ("admin token", app.admin.as_str()),
        ("session cookie", session),
        ("CSRF token", csrf.as_str()),
        ("citizen's phone", PHONE),
    ] {
        assert!(!logs.contains(secret), "the {what} is in the logs");
    }
    let plus = PASSWORD.replace(' ', "+");
    assert!(
        !logs.contains(&plus),
        "the form-encoded password is in the logs"
    );
}
