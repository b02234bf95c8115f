//! The SMS uplink: a gateway's signed JSON, Aliyun's and Tencent Cloud's callbacks as
//! their documentation gives them, retries that file nothing twice, and the 1/2/3
//! answer to the reply's SMS recorded as the citizen's rating; SQLite and PostgreSQL.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use minhu_testkit::db::TestDb;
use minhu_testkit::web::{SMS_SECRET, TestApp, demand};
use minhu_web::channels::webhook_signature;
use serde_json::{Value, json};

async fn post(
    app: &TestApp,
    uri: &str,
    body: &str,
    signature: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = Request::post(uri).header("content-type", "application/json");
    if let Some(signature) = signature {
        request = request.header("x-minhu-signature", signature);
    }
    let (status, body, _) = app
        .send_from(
            "47.100.1.1",
            None,
            request.body(Body::from(body.to_owned())).unwrap(),
        )
        .await;
    (status, body)
}

/// A generic gateway's SMS, signed with the shared secret.
pub(crate) async fn sms(app: &TestApp, id: &str, from: &str, text: &str) -> Value {
    let body = json!({"id": id, "from": from, "text": text}).to_string();
    let signature = webhook_signature(SMS_SECRET, body.as_bytes());
    let (status, answer) = post(app, "/channels/sms", &body, Some(&signature)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer
}

async fn sms_tickets(app: &TestApp) -> Vec<Value> {
    let (_, page) = app.get("/api/v1/tickets?channel=sms&limit=100").await;
    page["tickets"].as_array().unwrap().clone()
}

async fn an_sms_is_filed_once_and_answered(app: &TestApp) {
    let answer = sms(
        app,
        "gw-0001",
        "+86 139-0000-0001",
        "我家楼下的路灯坏了三天了",
    )
    .await;
    let number = answer["ticket"].as_str().unwrap().to_owned();
    assert!(
        answer["answer"].as_str().unwrap().contains(&number),
        "{answer}"
    );
    for _ in 0..2 {
        let again = sms(
            app,
            "gw-0001",
            "+86 139-0000-0001",
            "我家楼下的路灯坏了三天了",
        )
        .await;
        assert_eq!(again["ticket"], number.as_str());
    }
    let tickets = sms_tickets(app).await;
    assert_eq!(tickets.len(), 1);
    let (_, ticket) = app.get(&format!("/api/v1/tickets/{number}")).await;
    assert_eq!(ticket["channel"], "sms");
    // (The administrator sees it masked; the number is the sender's.)
    assert_eq!(ticket["citizen"]["phone"], "139****0001");
    let texts = app.sms.texts();
    assert!(
        texts
            .iter()
            .any(|(to, text)| to == "13900000001" && text.contains(&number)),
        "{texts:?}"
    );
    // The next SMS soon after is the same demand's follow-up.
    let more = sms(app, "gw-0002", "13900000001", "是朝阳路12号").await;
    assert_eq!(more["ticket"], number.as_str());
    let (_, events) = app.get(&format!("/api/v1/tickets/{number}/events")).await;
    assert!(
        events
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "followed_up"
                && e["text"] == "是朝阳路12号"
                && e["channel"] == "sms"),
        "{events}"
    );
}

/// The reply's SMS asks for 1, 2 or 3; the answer is the rating, recorded once.
async fn an_answer_to_the_reply_is_the_rating(app: &TestApp) {
    let (_, created) = app.post("/api/v1/tickets", &demand("电梯坏了"), None).await;
    let number = created["number"].as_str().unwrap().to_owned();
    for action in [
        json!({"action": "accept"}),
        json!({"action": "resolve", "reply": "已督促物业更换电梯主板"}),
    ] {
        let (status, answer) = app.act(&number, action).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let rated = sms(app, "gw-0100", "13812345678", "3").await;
    assert_eq!(rated["ticket"], number.as_str(), "{rated}");
    // The gateway's retry rates nothing twice and files nothing.
    let again = sms(app, "gw-0100", "13812345678", "3").await;
    assert!(
        again["ticket"].is_null() || again["ticket"] == number.as_str(),
        "{again}"
    );
    let (_, ticket) = app.get(&format!("/api/v1/tickets/{number}")).await;
    assert_eq!(ticket["rating"]["satisfaction"], "unsatisfied", "{ticket}");
    assert_eq!(ticket["rating"]["solved"], false);
    assert!(
        sms_tickets(app).await.len() <= 1,
        "a rating files no demand"
    );
}

#[tokio::test]
async fn sms_on_sqlite() {
    let db = TestDb::sqlite().await;
    let app = TestApp::on(db.store.clone()).await;
    an_sms_is_filed_once_and_answered(&app).await;
    an_answer_to_the_reply_is_the_rating(&app).await;
    drop(app);
    db.close().await;
}

#[tokio::test]
async fn sms_on_postgres() {
    let db = TestDb::postgres().await;
    let app = TestApp::on(db.store.clone()).await;
    an_sms_is_filed_once_and_answered(&app).await;
    an_answer_to_the_reply_is_the_rating(&app).await;
    drop(app);
    db.close().await;
}

#[tokio::test]
async fn unsigned_sms_and_wrong_keys_are_refused() {
    let app = TestApp::new().await;
    let body = json!({"id": "x1", "from": "13900000001", "text": "假的"}).to_string();
    let (status, answer) = post(&app, "/channels/sms", &body, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert_eq!(answer["error"]["code"], "bad_signature");
    let forged = webhook_signature("another-secret-entirely", body.as_bytes());
    let (status, _) = post(&app, "/channels/sms", &body, Some(&forged)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = post(&app, "/channels/sms/tencent?key=wrong", "{}", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let bad = json!({"id": "x2", "from": "12345", "text": "号码不对"}).to_string();
    let signature = webhook_signature(SMS_SECRET, bad.as_bytes());
    let (status, answer) = post(&app, "/channels/sms", &bad, Some(&signature)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["error"]["field"], "from");
    assert!(sms_tickets(&app).await.is_empty());
}

#[tokio::test]
async fn aliyun_and_tencent_callbacks_file_demands_once() {
    let app = TestApp::new().await;
    // Aliyun's SmsUp push, as its documentation shows it: a JSON array.
    let aliyun = json!([
        {"phone_number": "13900000011", "send_time": "2026-11-22 10:00:00",
         "content": "小区门口的井盖丢了", "sign_name": "12345", "dest_code": "1234",
         "sequence_id": 1234567890u64},
        {"phone_number": "13900000012", "send_time": "2026-11-22 10:00:05",
         "content": "公园里的健身器材坏了", "sign_name": "12345", "dest_code": "1234",
         "sequence_id": 1234567891u64}
    ])
    .to_string();
    let uri = format!("/channels/sms/aliyun?key={SMS_SECRET}");
    for _ in 0..2 {
        let (status, answer) = post(&app, &uri, &aliyun, None).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer, json!({"code": 0, "msg": "接收成功"}));
    }
    assert_eq!(sms_tickets(&app).await.len(), 2);
    // Tencent Cloud's reply callback.
    let tencent = json!({"extend": "", "mobile": "13900000013", "nationcode": "86",
                         "sign": "12345", "text": "楼道里堆满了杂物", "time": 1763776800})
    .to_string();
    let uri = format!("/channels/sms/tencent?key={SMS_SECRET}");
    for _ in 0..2 {
        let (status, answer) = post(&app, &uri, &tencent, None).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer, json!({"result": 0, "errmsg": "OK"}));
    }
    let tickets = sms_tickets(&app).await;
    assert_eq!(tickets.len(), 3);
    assert!(
        tickets
            .iter()
            .any(|t| t["description"] == "楼道里堆满了杂物")
    );
}
