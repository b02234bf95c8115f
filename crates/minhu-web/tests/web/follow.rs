//! Citizens follow their ticket with its number, their phone and a one-time code:
//! they see the reply, rate it and ask for it to be reopened, and nothing else.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use minhu_testkit::web::TestApp;
use serde_json::{Value, json};

const PHONE: &str = "13812345678";

async fn reported(app: &TestApp) -> String {
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
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["number"].as_str().unwrap().to_owned()
}

async fn ask_code(app: &TestApp, number: &str, phone: &str) -> StatusCode {
    app.post_as(
        None,
        "/api/v1/follow/code",
        &json!({"number": number, "phone": phone}).to_string(),
        None,
    )
    .await
    .0
}

/// Opens a follow session with a one-time code: the status, the answer, the cookie.
pub(crate) async fn open(app: &TestApp, number: &str, code: &str) -> (StatusCode, Value, String) {
    let (status, body, headers) = app
        .send_as(
            None,
            Request::post("/api/v1/follow/session")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    json!({"number": number, "code": code}).to_string(),
                ))
                .unwrap(),
        )
        .await;
    let cookie = headers
        .get(header::SET_COOKIE)
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned())
        .unwrap_or_default();
    (status, body, cookie)
}

fn as_citizen(
    method: &str,
    uri: &str,
    cookie: &str,
    csrf: Option<&str>,
    body: Value,
) -> Request<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(csrf) = csrf {
        request = request.header("x-csrf-token", csrf);
    }
    let body = if body.is_null() {
        Body::empty()
    } else {
        Body::from(body.to_string())
    };
    request.body(body).unwrap()
}

#[tokio::test]
async fn a_citizen_follows_rates_and_sees_nothing_else() {
    let app = TestApp::new().await;
    let number = reported(&app).await;

    // The answer never says whether number and phone matched.
    assert_eq!(
        ask_code(&app, &number, "13900000000").await,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        ask_code(&app, "2026010100001", PHONE).await,
        StatusCode::ACCEPTED
    );
    assert!(app.sms.sent().is_empty());
    assert_eq!(
        ask_code(&app, &number, "138 1234 5678").await,
        StatusCode::ACCEPTED
    );
    let sent = app.sms.sent();
    assert_eq!(sent.len(), 1);
    let (phone, ticket, code) = sent[0].clone();
    assert_eq!((phone.as_str(), ticket.as_str()), (PHONE, number.as_str()));
    assert_eq!(code.len(), 6);

    let wrong = if code == "000000" { "000001" } else { "000000" };
    let (status, answer, cookie) = open(&app, &number, wrong).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert!(cookie.is_empty());
    let (status, opened, cookie) = open(&app, &number, &code).await;
    assert_eq!(status, StatusCode::OK, "{opened}");
    assert_eq!(opened["ticket"]["number"], number.as_str());
    let csrf = opened["csrf"].as_str().unwrap().to_owned();
    let (status, _, _) = open(&app, &number, &code).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a code works once");

    let (status, mine, _) = app
        .send_as(
            None,
            as_citizen("GET", "/api/v1/follow", &cookie, None, Value::Null),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mine["can_rate"], false);
    // The citizen's session opens nothing of the officials'.
    for uri in [
        "/api/v1/tickets".to_owned(),
        format!("/api/v1/tickets/{number}"),
    ] {
        let (status, _, _) = app
            .send_as(None, as_citizen("GET", &uri, &cookie, None, Value::Null))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{uri}");
    }
    let (status, _) = app.get("/api/v1/follow").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "officials do not follow");

    for action in [
        json!({"action": "accept"}),
        json!({"action": "resolve", "reply": "已更换电梯主板"}),
    ] {
        assert_eq!(app.act(&number, action).await.0, StatusCode::OK);
    }
    let rating = json!({"solved": true, "satisfaction": "satisfied"});
    let (status, answer, _) = app
        .send_as(
            None,
            as_citizen("POST", "/api/v1/follow/rate", &cookie, None, rating.clone()),
        )
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("csrf"))
    );
    let (status, rated, _) = app
        .send_as(
            None,
            as_citizen("POST", "/api/v1/follow/rate", &cookie, Some(&csrf), rating),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rated}");
    assert_eq!(rated["reply"], "已更换电梯主板");
    assert_eq!(rated["rating"]["satisfaction"], "satisfied");
    let (_, events) = app.get(&format!("/api/v1/tickets/{number}/events")).await;
    assert_eq!(
        events.as_array().unwrap().last().unwrap()["actor"],
        "citizen"
    );
}

#[tokio::test]
async fn a_citizen_asks_to_reopen_and_guessing_codes_is_cut_short() {
    let app = TestApp::new().await;
    let number = reported(&app).await;
    ask_code(&app, &number, PHONE).await;
    let code = app.sms.sent()[0].2.clone();
    for attempt in 0..minhu_web::api::follow::CODE_TRIES {
        let guess = format!(
            "{:06}",
            (code.parse::<u32>().unwrap() + 1 + attempt) % 1_000_000
        );
        assert_eq!(
            open(&app, &number, &guess).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        open(&app, &number, &code).await.0,
        StatusCode::UNAUTHORIZED,
        "after five wrong tries even the right code is void"
    );
    ask_code(&app, &number, PHONE).await;
    let code = app.sms.sent()[1].2.clone();
    let (status, opened, cookie) = open(&app, &number, &code).await;
    assert_eq!(status, StatusCode::OK);
    let csrf = opened["csrf"].as_str().unwrap();
    for action in [
        json!({"action": "accept"}),
        json!({"action": "resolve", "reply": "已处理"}),
    ] {
        app.act(&number, action).await;
    }
    let (status, reopened, _) = app
        .send_as(
            None,
            as_citizen(
                "POST",
                "/api/v1/follow/reopen",
                &cookie,
                Some(csrf),
                json!({"reason": "电梯还是坏的"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reopened}");
    assert_eq!(reopened["status"], "dispatched");
    let (status, answer, _) = app
        .send_as(
            None,
            as_citizen(
                "POST",
                "/api/v1/follow/reopen",
                &cookie,
                Some(csrf),
                json!({"reason": "再次"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
}

#[tokio::test]
async fn thirty_parallel_wrong_codes_from_thirty_addresses_exhaust_the_code() {
    let app = TestApp::new().await;
    let number = reported(&app).await;
    ask_code(&app, &number, PHONE).await;
    let code = app.sms.sent()[0].2.clone();
    let right: u32 = code.parse().unwrap();
    let guesses = (0..30u32).map(|i| {
        let guess = format!("{:06}", (right + 1 + i) % 1_000_000);
        let address = format!("10.7.0.{i}");
        let (app, number) = (&app, &number);
        async move {
            let request = Request::post("/api/v1/follow/session")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    json!({"number": number, "code": guess}).to_string(),
                ))
                .unwrap();
            app.send_from(&address, None, request).await.0
        }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    assert!(statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED));
    let stored = app.store.follow_code(&number).await.unwrap();
    assert_eq!(
        stored.unwrap().attempts,
        minhu_web::api::follow::CODE_TRIES,
        "only the allowed tries were compared"
    );
    assert_eq!(
        open(&app, &number, &code).await.0,
        StatusCode::UNAUTHORIZED,
        "the right code is void after the parallel guesses"
    );
    let log = app
        .store
        .audit_log(&minhu_store::AuditFilter {
            action: Some("follow.code_wrong".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(log.len(), minhu_web::api::follow::CODE_TRIES as usize);
}

#[tokio::test]
async fn a_used_code_opens_one_session_only() {
    let app = TestApp::new().await;
    let number = reported(&app).await;
    ask_code(&app, &number, PHONE).await;
    let code = app.sms.sent()[0].2.clone();
    let opens = (0..5).map(|_| open(&app, &number, &code));
    let statuses: Vec<StatusCode> = futures_util::future::join_all(opens)
        .await
        .into_iter()
        .map(|(status, _, _)| status)
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1);
    assert!(app.store.follow_code(&number).await.unwrap().is_none());
}

#[tokio::test]
async fn codes_are_capped_per_ticket_and_phone_a_day() {
    let app = TestApp::new().await;
    let number = reported(&app).await;
    for _ in 0..minhu_web::api::follow::CODES_PER_TICKET_DAY + 2 {
        assert_eq!(
            ask_code_from(&app, &next_address(), &number, PHONE).await,
            StatusCode::ACCEPTED
        );
    }
    assert_eq!(
        app.sms.sent().len(),
        minhu_web::api::follow::CODES_PER_TICKET_DAY as usize,
        "no more SMS to the phone once the ticket's cap is reached"
    );
    // Other tickets of the same phone share the phone's cap.
    let others = minhu_web::api::follow::CODES_PER_PHONE_DAY;
    for _ in 0..others {
        let other = reported(&app).await;
        ask_code_from(&app, &next_address(), &other, PHONE).await;
    }
    assert_eq!(
        app.sms.sent().len(),
        minhu_web::api::follow::CODES_PER_PHONE_DAY as usize
    );
    // A stranger's wrong phone counts for nothing.
    let fresh = reported(&app).await;
    ask_code_from(&app, &next_address(), &fresh, "13900000000").await;
    app.clock.advance(jiff::SignedDuration::from_hours(24));
    ask_code_from(&app, &next_address(), &number, PHONE).await;
    assert_eq!(
        app.sms.sent().len(),
        minhu_web::api::follow::CODES_PER_PHONE_DAY as usize + 1,
        "a new day, a new allowance"
    );
}

/// Asks for a code from `address` (each its own rate limit).
async fn ask_code_from(app: &TestApp, address: &str, number: &str, phone: &str) -> StatusCode {
    let request = Request::post("/api/v1/follow/code")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"number": number, "phone": phone}).to_string(),
        ))
        .unwrap();
    app.send_from(address, None, request).await.0
}

/// A new client address each call.
fn next_address() -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("10.8.{}.{}", n / 250, n % 250)
}
