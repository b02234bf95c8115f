//! The field (网格化, 一网统管): the sensor webhook (its signature, its replay window,
//! deduplication by device and window, its rate per device), grid workers' reports
//! handled on the spot, and the figures they make per grid, street and district.

use axum::http::StatusCode;
use minhu_core::access::Role;
use minhu_core::ticket::Status;
use minhu_testkit::db::TestDb;
use minhu_testkit::web::{SENSOR_SECRET, TestApp, sensor_request};
use minhu_web::api::sensors::SensorGate;
use serde_json::{Value, json};
use tower::ServiceExt;

/// `TestApp`'s clock (2026-11-22T02:00:00Z) in Unix seconds.
const NOW: i64 = 1_795_312_800;

fn alarm(device: &str, observed_at: &str, value: f64) -> String {
    json!({
        "system": "manhole-platform", "device": device, "kind": "manhole_cover",
        "observed_at": observed_at, "location": {"lat": 28.19, "lon": 112.94},
        "reading": {"value": value, "unit": "°", "threshold": 15},
        "address": "A3区天顶街道尖山社区"
    })
    .to_string()
}

async fn send(app: &TestApp, body: &str, at: i64) -> (StatusCode, Value) {
    let (status, body, _) = app.send_as(None, sensor_request(body, at)).await;
    (status, body)
}

#[tokio::test]
async fn a_signed_alarm_is_a_sensor_ticket_with_its_device_position_and_reading() {
    let app = TestApp::new().await;
    let (status, receipt) = send(&app, &alarm("MC-0042", "2026-11-22T01:58:00Z", 35.0), NOW).await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    assert_eq!(receipt["duplicate"], false);
    let ticket = &receipt["ticket"];
    assert_eq!(ticket["number"], receipt["number"]);
    assert_eq!(ticket["channel"], "sensor");
    assert_eq!(ticket["location"], json!({"lat": 28.19, "lon": 112.94}));
    assert_eq!(ticket["external_ref"], "sensor:manhole-platform:MC-0042");
    let description = ticket["description"].as_str().unwrap();
    for said in ["MC-0042", "读数 35°", "阈值 15°", "28.190000, 112.940000"] {
        assert!(description.contains(said), "{said} in {description}");
    }
    assert_eq!(ticket["title"], "井盖监测：MC-0042");
    // It takes the loop's path: placed by its address, ready for routing.
    assert!(ticket["region"].is_string(), "{ticket}");
}

#[tokio::test]
async fn repeats_of_a_device_within_its_window_are_one_ticket() {
    let app = TestApp::new().await;
    let (status, first) = send(&app, &alarm("MC-0042", "2026-11-22T01:31:00Z", 35.0), NOW).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    // The same device again in the same half hour, another reading: the same ticket.
    let (status, again) = send(&app, &alarm("MC-0042", "2026-11-22T01:59:59Z", 40.0), NOW).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["number"], first["number"]);
    // The exact event re-sent (a retry): the same ticket.
    let (status, resent) = send(&app, &alarm("MC-0042", "2026-11-22T01:31:00Z", 35.0), NOW).await;
    assert_eq!(
        (status, &resent["number"]),
        (StatusCode::OK, &first["number"])
    );
    // Another device, or the next window: tickets of their own.
    let (status, other) = send(&app, &alarm("MC-0043", "2026-11-22T01:31:00Z", 35.0), NOW).await;
    assert_eq!(status, StatusCode::CREATED, "{other}");
    let (status, later) = send(&app, &alarm("MC-0042", "2026-11-22T02:00:00Z", 35.0), NOW).await;
    assert_eq!(status, StatusCode::CREATED, "{later}");
    let numbers = [&first, &other, &later].map(|r| r["number"].as_str().unwrap().to_owned());
    assert!(numbers[0] != numbers[1] && numbers[1] != numbers[2] && numbers[0] != numbers[2]);
    let (_, list) = app.get("/api/v1/tickets?channel=sensor").await;
    assert_eq!(list["tickets"].as_array().unwrap().len(), 3, "{list}");
}

#[tokio::test]
async fn concurrent_repeats_make_one_ticket_on_sqlite() {
    let db = TestDb::sqlite().await;
    concurrent_repeats_make_one_ticket(&TestApp::on(db.store.clone()).await).await;
    db.close().await;
}

#[tokio::test]
async fn concurrent_repeats_make_one_ticket_on_postgres() {
    let db = TestDb::postgres().await;
    concurrent_repeats_make_one_ticket(&TestApp::on(db.store.clone()).await).await;
    db.close().await;
}

async fn concurrent_repeats_make_one_ticket(app: &TestApp) {
    let sends = (0..5).map(|n| {
        let body = alarm("WL-0007", "2026-11-22T01:40:00Z", 40.0 + f64::from(n));
        async move { send(app, &body, NOW).await }
    });
    let answers = futures_util::future::join_all(sends).await;
    let numbers: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|(status, body)| {
            assert!(status.is_success(), "{status} {body}");
            body["number"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(numbers.len(), 1, "{answers:?}");
    let created = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1, "{answers:?}");
}

#[tokio::test]
async fn unsigned_stale_or_tampered_events_are_refused_naming_the_header() {
    let app = TestApp::new().await;
    let body = alarm("MC-0042", "2026-11-22T01:58:00Z", 35.0);
    // Another secret.
    let stamp = NOW.to_string();
    let forged = minhu_engine::signing::signature(
        "not the secret",
        &[stamp.as_bytes(), b".", body.as_bytes()],
    );
    let mut request = sensor_request(&body, NOW);
    request
        .headers_mut()
        .insert("x-minhu-signature", forged.parse().unwrap());
    let (status, answer, _) = app.send_as(None, request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert_eq!(answer["error"]["field"], "X-Minhu-Signature");
    // The body changed after signing.
    let mut request = sensor_request(&body, NOW);
    *request.body_mut() = body.replace("35", "5").into();
    let (status, answer, _) = app.send_as(None, request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    // Signed six minutes ago (a captured request replayed), or in the future.
    for at in [NOW - 301, NOW + 301] {
        let (status, answer) = send(&app, &body, at).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
        assert_eq!(answer["error"]["field"], "X-Minhu-Timestamp", "{answer}");
    }
    // Within the window it holds.
    let (status, answer) = send(&app, &body, NOW - 299).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    // No signature at all.
    let mut request = sensor_request(&body, NOW);
    request.headers_mut().remove("x-minhu-signature");
    let (status, answer, _) = app.send_as(None, request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert_eq!(answer["error"]["field"], "X-Minhu-Signature");
    let (_, list) = app.get("/api/v1/tickets?channel=sensor").await;
    assert_eq!(list["tickets"].as_array().unwrap().len(), 1, "{list}");
}

#[tokio::test]
async fn bad_events_are_refused_naming_the_field() {
    let app = TestApp::new().await;
    let cases = [
        (alarm("MC 42", "2026-11-22T01:58:00Z", 35.0), "device"),
        (
            alarm("MC-0042", "2026-11-22T02:30:00Z", 35.0),
            "observed_at",
        ),
        (
            alarm("MC-0042", "2026-11-20T01:58:00Z", 35.0),
            "observed_at",
        ),
        (
            alarm("MC-0042", "2026-11-22T01:58:00Z", 35.0).replace("manhole_cover", "toaster"),
            "kind",
        ),
        (
            alarm("MC-0042", "2026-11-22T01:58:00Z", 35.0)
                .replace("\"lat\":28.19", "\"lat\":128.19"),
            "location.lat",
        ),
    ];
    for (body, field) in cases {
        let (status, answer) = send(&app, &body, NOW).await;
        // A value of the wrong form is malformed (400), a wrong value invalid (422):
        // either names the field.
        assert!(
            [StatusCode::BAD_REQUEST, StatusCode::UNPROCESSABLE_ENTITY].contains(&status),
            "{field}: {status} {answer}"
        );
        assert_eq!(answer["error"]["field"], field, "{answer}");
    }
}

#[tokio::test]
async fn a_device_sending_too_often_is_slowed_and_no_secret_lets_nothing_in() {
    let app = TestApp::new().await;
    let body = alarm("CAM-0001", "2026-11-22T01:58:00Z", 35.0);
    for _ in 0..6 {
        let (status, answer) = send(&app, &body, NOW).await;
        assert!(status.is_success(), "{answer}");
    }
    let (status, answer) = send(&app, &body, NOW).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("manhole-platform:CAM-0001"),
        "{answer}"
    );
    // Another device of the same system is not held back.
    let (status, answer) = send(&app, &alarm("CAM-0002", "2026-11-22T01:58:00Z", 1.0), NOW).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    // A server started without MINHU_SENSOR_SECRET refuses even a well-signed event.
    let state = minhu_web::AppState {
        sensors: SensorGate::new(None),
        ..app.state.clone()
    };
    let response = minhu_web::app(state)
        .oneshot(sensor_request(&body, NOW))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(!SENSOR_SECRET.is_empty());
}

fn patrol(title: &str, on_the_spot: Option<&str>) -> String {
    let mut report = json!({
        "channel": "grid", "kind": "help", "title": title,
        "description": format!("{title}，巡查发现"), "region": "A3-01-02-1",
        "location": {"lat": 28.19, "lon": 112.94},
    });
    if let Some(note) = on_the_spot {
        report["on_the_spot"] = json!({"note": note});
    }
    report.to_string()
}

#[tokio::test]
async fn a_grid_workers_report_handled_on_the_spot_is_closed_and_counted_on_sqlite() {
    let db = TestDb::sqlite().await;
    handled_on_the_spot_and_counted(&TestApp::on(db.store.clone()).await).await;
    db.close().await;
}

#[tokio::test]
async fn a_grid_workers_report_handled_on_the_spot_is_closed_and_counted_on_postgres() {
    let db = TestDb::postgres().await;
    handled_on_the_spot_and_counted(&TestApp::on(db.store.clone()).await).await;
    db.close().await;
}

async fn handled_on_the_spot_and_counted(app: &TestApp) {
    let worker = app
        .token("grid", Role::GridWorker, None, Some("A3-01-02-1"))
        .await;
    let (status, handled) = app
        .post_as(
            Some(&worker),
            "/api/v1/tickets",
            &patrol("楼道堆放杂物", Some("已督促住户清理完毕")),
            Some("draft-1"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{handled}");
    assert_eq!(handled["status"], Status::Closed.code());
    assert_eq!(handled["reply"], "已督促住户清理完毕");
    assert!(handled["unit"].is_null(), "never dispatched: {handled}");
    let number = handled["number"].as_str().unwrap();
    let (_, events) = app.get(&format!("/api/v1/tickets/{number}/events")).await;
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default())
        .collect();
    assert!(kinds.contains(&"handled_on_spot"), "{events}");
    // The same draft again: the same ticket.
    let (status, again) = app
        .post_as(
            Some(&worker),
            "/api/v1/tickets",
            &patrol("楼道堆放杂物", Some("已督促住户清理完毕")),
            Some("draft-1"),
        )
        .await;
    assert_eq!(
        (status, &again["number"]),
        (StatusCode::OK, &handled["number"])
    );
    // A report left for the units.
    let (status, open) = app
        .post_as(
            Some(&worker),
            "/api/v1/tickets",
            &patrol("路灯不亮", None),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{open}");
    assert_ne!(open["status"], Status::Closed.code());
    // Only a patrol report is handled on the spot, and only by a grid worker.
    let phone = patrol("噪音扰民", Some("已处理")).replace("\"grid\"", "\"phone\"");
    let (status, refused) = app
        .post_as(Some(&worker), "/api/v1/tickets", &phone, None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let agent = app.token("agent", Role::HotlineAgent, None, None).await;
    let (status, refused) = app
        .post_as(
            Some(&agent),
            "/api/v1/tickets",
            &patrol("噪音扰民", Some("已处理")),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    // A citizen's demand about the same grid, and a sensor's alarm there.
    let (status, _) = app
        .post_as(
            None,
            "/api/v1/tickets",
            &patrol("垃圾没人清", None)
                .replace("\"grid\"", "\"web\"")
                .replace("\"help\"", "\"complaint\""),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // The figures, per grid: 2 reports, 1 on the spot (50%); 3 problems, 2 found by
    // the grid worker before any citizen called.
    let (status, rates) = app
        .get("/api/v1/analytics/rates?by=grid&from=2026-11-01")
        .await;
    assert_eq!(status, StatusCode::OK, "{rates}");
    let line = rates["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "A3-01-02-1")
        .unwrap_or_else(|| panic!("the grid's line: {rates}"));
    assert_eq!(line["counts"]["patrolled"], 2, "{line}");
    assert_eq!(line["counts"]["handled_on_spot"], 1, "{line}");
    assert_eq!(line["rates"]["on_the_spot"], 50.0, "{line}");
    assert_eq!(line["counts"]["problem"], 3, "{line}");
    assert_eq!(line["counts"]["found_first"], 2, "{line}");
    let share = line["rates"]["found_first"].as_f64().unwrap();
    assert!((share - 200.0 / 3.0).abs() < 1e-9, "{line}");
    // The same counts roll up to its street and district.
    for by in ["street", "region"] {
        let (_, rates) = app
            .get(&format!("/api/v1/analytics/rates?by={by}&from=2026-11-01"))
            .await;
        let total: i64 = rates["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["counts"]["handled_on_spot"].as_i64().unwrap())
            .sum();
        assert_eq!(total, 1, "{by}: {rates}");
    }
}

#[tokio::test]
async fn a_grid_worker_works_in_a_grid_or_community() {
    let app = TestApp::new().await;
    let hash = minhu_web::pages::login::hash_password("a good long password".into())
        .await
        .unwrap();
    for (region, expected) in [
        (None, StatusCode::UNPROCESSABLE_ENTITY),
        (Some("A3"), StatusCode::UNPROCESSABLE_ENTITY),
        (Some("A3-01-02"), StatusCode::OK),
        (Some("A3-01-02-1"), StatusCode::OK),
    ] {
        let change = minhu_engine::accounts::AccountChange {
            login: format!("grid-{}", region.unwrap_or("none")),
            display_name: None,
            role: "grid_worker".into(),
            unit: None,
            region: region.map(str::to_owned),
            password_hash: Some(hash.clone()),
        };
        let admin = minhu_engine::accounts::Admin {
            actor: "user:admin".into(),
            client: None,
        };
        let saved = app.state.engine.accounts().save(change, &admin).await;
        match expected {
            StatusCode::OK => assert!(saved.is_ok(), "{region:?}: {saved:?}"),
            _ => assert!(
                matches!(&saved, Err(minhu_engine::EngineError::Invalid(e)) if e.field == "region"),
                "{region:?}: {saved:?}"
            ),
        }
    }
}

/// A grid worker's finding on check `task` of ticket `number`: a note and a photo.
fn check_report(
    number: &str,
    task: u32,
    note: &str,
    photo: &[u8],
) -> axum::http::Request<axum::body::Body> {
    const BOUNDARY: &str = "minhu-check-boundary";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n{note}\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"site.png\"\r\n\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(photo);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    axum::http::Request::post(format!("/api/v1/tickets/{number}/checks/{task}"))
        .header(
            axum::http::header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(axum::body::Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn a_unit_sends_the_grid_worker_to_check_and_the_check_ends_with_a_photo_and_a_note() {
    let app = TestApp::new().await;
    let worker = app
        .token("grid", Role::GridWorker, None, Some("A3-01-02-1"))
        .await;
    let elsewhere = app
        .token("grid-2", Role::GridWorker, None, Some("A3-01-02-2"))
        .await;
    let demand = patrol("楼道灯不亮", None)
        .replace("\"grid\"", "\"web\"")
        .replace("\"help\"", "\"complaint\"");
    let (status, ticket) = app.post("/api/v1/tickets", &demand, None).await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    let number = ticket["number"].as_str().unwrap().to_owned();
    // The holder asks for a check on the spot (核查).
    let (status, assigned) = app
        .act(
            &number,
            json!({"action": "assign_check", "kind": "verify", "note": "看看楼道灯是否已修好"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{assigned}");
    assert_eq!(assigned["checks"][0]["task"], 1);
    assert!(assigned["checks"][0]["done"].is_null());
    // The grid worker of another grid does not see it; a report without a photo, or
    // with a file that is no photo, is refused naming the part.
    let (status, _, _) = app
        .send_as(
            Some(&elsewhere),
            check_report(&number, 1, "已修好", minhu_testkit::web::PNG),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, refused, _) = app
        .send_as(
            Some(&worker),
            check_report(&number, 1, "已修好", b"%PDF-1.4 not a photo"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(
        refused["error"]["field"]
            .as_str()
            .unwrap()
            .starts_with("photo"),
        "{refused}"
    );
    // A check's photo cannot come as JSON through the actions route.
    let (status, refused) = app
        .act_as(
            Some(&worker),
            &number,
            json!({"action": "report_check", "task": 1, "note": "x",
                   "photo": {"sha256": "00", "media_type": "image/png", "size": 1}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let (status, done, _) = app
        .send_as(
            Some(&worker),
            check_report(&number, 1, "灯已修好，现场拍照", minhu_testkit::web::PNG),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["checks"][0]["done"]["note"], "灯已修好，现场拍照");
    assert_eq!(
        done["checks"][0]["done"]["photo"]["media_type"],
        "image/png"
    );
    assert_eq!(done["attachments"].as_array().unwrap().len(), 1, "{done}");
    // Once reported, it stays reported; and there is no check 2.
    for task in [1, 2] {
        let (status, refused, _) = app
            .send_as(
                Some(&worker),
                check_report(&number, task, "again", minhu_testkit::web::PNG),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{task}: {refused}"
        );
        assert_eq!(refused["error"]["field"], "task", "{refused}");
    }
    // A grid worker may not send checks; a ticket placed no closer than a street has no
    // grid worker to send.
    let (status, _) = app
        .act_as(
            Some(&worker),
            &number,
            json!({"action": "assign_check", "kind": "revisit", "note": "回访"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let street = demand.replace("A3-01-02-1", "A3-01");
    let (_, ticket) = app.post("/api/v1/tickets", &street, None).await;
    let (status, refused) = app
        .act(
            ticket["number"].as_str().unwrap(),
            json!({"action": "assign_check", "kind": "revisit", "note": "回访"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["field"], "region", "{refused}");
}
