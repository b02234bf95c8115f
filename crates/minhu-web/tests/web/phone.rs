//! The phone line: the CTI's signed webhook reports a ringing call, the agent's console
//! hears of it through server-sent events with the caller's history, opens it by the
//! call's id (the phone in no URL) and files the ticket with the call id and the
//! recording's reference; SQLite and PostgreSQL.

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use minhu_core::access::Role;
use minhu_testkit::db::TestDb;
use minhu_testkit::web::{CTI_SECRET, PASSWORD, TestApp, demand};
use minhu_web::channels::webhook_signature;
use serde_json::{Value, json};
use tower::ServiceExt;

const CALLER: &str = "13812345678";

pub(crate) async fn cti(app: &TestApp, event: &Value, secret: &str) -> (StatusCode, Value) {
    let body = event.to_string();
    let request = Request::post("/channels/phone")
        .header(header::CONTENT_TYPE, "application/json")
        .header(
            "x-minhu-signature",
            webhook_signature(secret, body.as_bytes()),
        )
        .body(Body::from(body))
        .unwrap();
    let (status, answer, _) = app.send_from("10.9.0.1", None, request).await;
    (status, answer)
}

/// Signs `login` in: the session cookie and the CSRF token its pages carry.
pub(crate) async fn sign_in(app: &TestApp, login: &str) -> (String, String) {
    let form = serde_urlencoded::to_string([("login", login), ("password", PASSWORD)]).unwrap();
    let request = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .unwrap();
    let (status, _, headers) = app.send_as(None, request).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let cookie = cookie(&headers);
    let (_, page, _) = app.send_as(None, get("/console", &cookie)).await;
    let csrf = page
        .as_str()
        .unwrap()
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    (cookie, csrf)
}

fn cookie(headers: &HeaderMap) -> String {
    let set = headers[header::SET_COOKIE].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

pub(crate) fn get(uri: &str, cookie: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap()
}

/// The data of the next `call` event on an open stream.
async fn next_call(body: &mut Body) -> Value {
    let mut text = String::new();
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), body.frame())
            .await
            .expect("a call event within 10 s")
            .unwrap()
            .unwrap();
        if let Ok(data) = frame.into_data() {
            text.push_str(std::str::from_utf8(&data).unwrap());
        }
        if let Some(at) = text.find("event: call\n") {
            let data = text[at..]
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .expect("the event's data");
            return serde_json::from_str(data).unwrap();
        }
    }
}

async fn a_ringing_call_reaches_its_agent_and_files_with_its_call_id(app: &TestApp) {
    // The caller's earlier ticket.
    let (status, earlier) = app.post("/api/v1/tickets", &demand("电梯坏了"), None).await;
    assert_eq!(status, StatusCode::CREATED);
    let earlier = earlier["number"].as_str().unwrap().to_owned();
    app.add_user("li", Role::HotlineAgent, None).await;
    let (cookie, csrf) = sign_in(app, "li").await;
    let stream = app
        .router
        .clone()
        .oneshot(get("/console/calls", &cookie))
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let mut events = stream.into_body();

    let ring = json!({"call_id": "C-20261122-0001", "event": "ringing", "caller": CALLER,
                      "agent": "li", "recording": "rec/2026/11/22/C-0001.wav"});
    let (status, answer) = cti(app, &ring, CTI_SECRET).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let call = next_call(&mut events).await;
    assert_eq!(call["call_id"], "C-20261122-0001");
    assert_eq!(call["caller"], CALLER, "an agent sees the caller's number");
    assert_eq!(call["history"][0]["number"], earlier.as_str(), "{call}");

    // The console opened for the call: the phone in the page, not in the URL.
    let (status, page, _) = app
        .send_as(None, get("/console?call=C-20261122-0001", &cookie))
        .await;
    assert_eq!(status, StatusCode::OK);
    let page = page.as_str().unwrap();
    assert!(
        page.contains(&format!("value=\"{CALLER}\"")),
        "the form holds the phone"
    );
    assert!(page.contains(&earlier), "the history is on the page");

    // Filed from the console: no phone typed, the call gives it and its reference.
    let body = json!({"channel": "phone", "kind": "complaint", "title": "楼道灯坏了",
                      "description": "三楼楼道灯坏了一周", "call": "C-20261122-0001"});
    let request = Request::post("/api/v1/tickets")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::COOKIE, &cookie)
        .header("x-csrf-token", &csrf)
        .body(Body::from(body.to_string()))
        .unwrap();
    let (status, ticket, _) = app.send_as(None, request).await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    assert_eq!(
        ticket["external_ref"],
        "cti:C-20261122-0001 rec:rec/2026/11/22/C-0001.wav"
    );
    assert_eq!(ticket["citizen"]["phone"], CALLER);

    // Another agent cannot open or file li's call.
    app.add_user("wang", Role::HotlineAgent, None).await;
    let (other, _) = sign_in(app, "wang").await;
    let (status, _, _) = app
        .send_as(None, get("/console?call=C-20261122-0001", &other))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn calls_on_sqlite() {
    let db = TestDb::sqlite().await;
    let app = TestApp::on(db.store.clone()).await;
    a_ringing_call_reaches_its_agent_and_files_with_its_call_id(&app).await;
    drop(app);
    db.close().await;
}

#[tokio::test]
async fn calls_on_postgres() {
    let db = TestDb::postgres().await;
    let app = TestApp::on(db.store.clone()).await;
    a_ringing_call_reaches_its_agent_and_files_with_its_call_id(&app).await;
    drop(app);
    db.close().await;
}

#[tokio::test]
async fn unsigned_or_bad_call_events_are_refused() {
    let app = TestApp::new().await;
    let ring = json!({"call_id": "C-1", "event": "ringing", "caller": CALLER, "agent": "li"});
    let (status, answer) = cti(&app, &ring, "not-the-cti-secret-at-all").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert_eq!(answer["error"]["code"], "bad_signature");
    let no_caller = json!({"call_id": "C-2", "event": "ringing", "agent": "li"});
    let (status, answer) = cti(&app, &no_caller, CTI_SECRET).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"]["field"], "caller");
    let unknown = json!({"call_id": "C-3", "event": "ended", "recording": "r.wav"});
    let (status, _) = cti(&app, &unknown, CTI_SECRET).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A call id nobody reported files nothing.
    let body = json!({"channel": "phone", "kind": "complaint", "title": "t",
                      "description": "d", "call": "C-404"});
    let (status, answer) = app.post("/api/v1/tickets", &body.to_string(), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["error"]["field"], "call");
}
