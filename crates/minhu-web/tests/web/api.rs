//! The HTTP API in-process (tower `oneshot`) against a real SQLite file and the demo
//! city's configuration.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use minhu_core::access::Role;
use minhu_testkit::web::{TestApp, demand};
use serde_json::json;
use tower::ServiceExt;

#[tokio::test]
async fn create_then_retry_returns_the_same_ticket() {
    let app = TestApp::new().await;
    let (status, first) = app
        .post("/api/v1/tickets", &demand("电梯坏了"), Some("abc-1"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let number = first["number"].as_str().unwrap().to_owned();
    assert_eq!(number.len(), 13);
    assert_eq!(first["status"], "dispatched");
    assert_eq!(
        first["citizen"]["phone"], "138****5678",
        "an administrator sees citizens masked, like a unit"
    );
    let (status, again) = app
        .post("/api/v1/tickets", &demand("电梯坏了"), Some("abc-1"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["number"], number.as_str());
    let (status, reused) = app
        .post("/api/v1/tickets", &demand("别的事情"), Some("abc-1"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reused["error"]["field"], "Idempotency-Key");
    let (_, list) = app.get("/api/v1/tickets").await;
    assert_eq!(list["tickets"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn bad_input_names_the_field() {
    let app = TestApp::new().await;
    let cases = [
        (
            r#"{"channel":"fax","kind":"complaint","title":"t","description":"d"}"#,
            StatusCode::BAD_REQUEST,
            "channel",
        ),
        (
            r#"{"channel":"web","kind":"complaint","description":"d"}"#,
            StatusCode::BAD_REQUEST,
            "title",
        ),
        (
            r#"{"channel":"web","kind":"complaint","title":"t","description":"d","citizen":{"phone":5}}"#,
            StatusCode::BAD_REQUEST,
            "citizen.phone",
        ),
        (
            r#"{"channel":"web","kind":"complaint","title":"t","description":"d","colour":"red"}"#,
            StatusCode::BAD_REQUEST,
            "colour",
        ),
        (
            r#"{"channel":"web","kind":"complaint","title":" ","description":"d"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "title",
        ),
        (
            r#"{"channel":"web","kind":"complaint","title":"t","description":"d","tier":"3d"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "tier",
        ),
        (
            r#"{"channel":"web","kind":"complaint","title":"t","description":"d","region":"Z9"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "region",
        ),
        (
            r#"{"channel":"web","kind":"complaint","title":"t","description":"d","location":{"lat":91,"lon":0}}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "location.lat",
        ),
        (
            r#"{"channel":"web","kind":"complaint","title":"t","description":"d","citizen":{"anonymous":true,"phone":"13800000000"}}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "citizen.phone",
        ),
    ];
    for (body, expected_status, field) in cases {
        let (status, answer) = app.post("/api/v1/tickets", body, None).await;
        assert_eq!(status, expected_status, "{body} -> {answer}");
        let named = answer["error"]["field"].as_str().unwrap_or_default();
        assert!(
            named.contains(field),
            "{body}: expected field {field}, got {answer}"
        );
    }
    let (status, answer) = app.post("/api/v1/tickets", "{not json", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"]["code"], "malformed");
    let (status, _) = app
        .post("/api/v1/tickets", &"x".repeat(300 * 1024), None)
        .await;
    assert!(status.is_client_error(), "{status}");
    let (_, list) = app.get("/api/v1/tickets").await;
    assert!(
        list["tickets"].as_array().unwrap().is_empty(),
        "nothing was stored"
    );
}

#[tokio::test]
async fn the_loop_over_http_with_its_event_log() {
    let app = TestApp::new().await;
    let (_, created) = app.post("/api/v1/tickets", &demand("电梯坏了"), None).await;
    let number = created["number"].as_str().unwrap();
    let (status, answer) = app
        .act(number, json!({"action": "resolve", "reply": "修好了"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(answer["error"]["code"], "not_allowed");
    for action in [
        json!({"action": "accept"}),
        json!({"action": "resolve", "reply": "已督促物业更换电梯主板"}),
        json!({"action": "rate", "solved": true, "satisfaction": "satisfied"}),
        json!({"action": "close"}),
    ] {
        let (status, answer) = app.act(number, action.clone()).await;
        assert_eq!(status, StatusCode::OK, "{action} -> {answer}");
    }
    let (_, ticket) = app.get(&format!("/api/v1/tickets/{number}")).await;
    assert_eq!(ticket["status"], "closed");
    assert_eq!(ticket["rating"]["satisfaction"], "satisfied");
    let (_, events) = app.get(&format!("/api/v1/tickets/{number}/events")).await;
    let types: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "created",
            "place_read",
            "reclassified",
            "dispatched",
            "accepted",
            "resolved",
            "rated",
            "closed"
        ]
    );
    let (status, answer) = app.act(number, json!({"action": "teleport"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"]["field"], "action");
    let (status, _) = app.get("/api/v1/tickets/2026010199999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn list_filters_are_checked() {
    let app = TestApp::new().await;
    app.post("/api/v1/tickets", &demand("电梯坏了"), None).await;
    let (_, hit) = app
        .get("/api/v1/tickets?region=A3&status=dispatched&q=%E7%94%B5%E6%A2%AF")
        .await;
    assert_eq!(hit["tickets"].as_array().unwrap().len(), 1, "{hit}");
    let (_, miss) = app.get("/api/v1/tickets?region=A5").await;
    assert!(miss["tickets"].as_array().unwrap().is_empty());
    // A filter form sends the fields left empty: they filter nothing.
    let (status, all) = app
        .get("/api/v1/tickets?status=&region=%20&limit=&q=")
        .await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(all["tickets"].as_array().unwrap().len(), 1, "{all}");
    for (query, field) in [
        ("status=lost", "status"),
        ("region=Z9", "region"),
        ("limit=9999", "limit"),
        ("limit=ten", "limit"),
        ("from=yesterday", "from"),
        ("colour=red", "colour"),
        ("cursor=abc", "cursor"),
    ] {
        let (status, answer) = app.get(&format!("/api/v1/tickets?{query}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(answer["error"]["field"], field, "{query}");
    }
}

#[tokio::test]
async fn pages_pass_over_parameters_a_messenger_adds_but_the_api_refuses_them() {
    let app = TestApp::new().await;
    // WeChat appends these to every link shared in a chat.
    let (status, page) = app
        .get_as(None, "/track?number=&from=singlemessage&isappinstalled=0")
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let (status, answer) = app
        .get_as(
            None,
            "/api/v1/suggest?title=%E8%B7%AF%E7%81%AF&from=singlemessage",
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["error"]["field"], "from", "{answer}");
}

#[tokio::test]
async fn photos_are_sniffed_and_stored_by_content() {
    let app = TestApp::new().await;
    let (_, created) = app.post("/api/v1/tickets", &demand("电梯坏了"), None).await;
    let number = created["number"].as_str().unwrap();
    let png: &[u8] = &[
        0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, b'I', b'H', b'D', b'R', 0,
        0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0,
    ];
    let upload = |bytes: &'static [u8]| {
        Request::post(format!(
            "/api/v1/tickets/{number}/attachments?name=lift.png"
        ))
        .body(Body::from(bytes))
        .unwrap()
    };
    let (status, ticket, _) = app.send(upload(png)).await;
    assert_eq!(status, StatusCode::OK, "{ticket}");
    let attachment = &ticket["attachments"][0];
    assert_eq!(attachment["media_type"], "image/png");
    let response = app
        .router
        .clone()
        .oneshot(
            Request::get(format!(
                "/api/v1/tickets/{}/attachments/{}",
                ticket["number"].as_str().unwrap(),
                attachment["sha256"].as_str().unwrap()
            ))
            .header("authorization", format!("Bearer {}", app.admin))
            .body(Body::empty())
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "image/png");
    let (status, answer, _) = app.send(upload(b"#!/bin/sh\nrm -rf /")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer["error"]["field"], "file");
}

#[tokio::test]
async fn openapi_and_pages() {
    let app = TestApp::new().await;
    let (_, doc) = app.get("/api/openapi.json").await;
    for path in [
        "/api/v1/tickets",
        "/api/v1/tickets/{number}",
        "/api/v1/tickets/{number}/events",
        "/api/v1/tickets/{number}/actions",
        "/api/v1/tickets/{number}/duplicates",
        "/api/v1/tickets/{number}/timers",
        "/api/v1/timers/due",
        "/api/v1/tickets/{number}/notifications",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    for schema in ["Command", "TimerRow", "NotificationView"] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "{schema} missing"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer",
        "{}",
        doc["components"]
    );
    let (_, created) = app
        .post(
            "/api/v1/tickets",
            &demand("<script>alert(1)</script>"),
            None,
        )
        .await;
    let number = created["number"].as_str().unwrap();
    let (status, page) = app.get(&format!("/tickets/{number}")).await;
    assert_eq!(status, StatusCode::OK);
    let html = page.as_str().unwrap();
    assert!(html.contains("alert(1)"), "the title is shown");
    assert!(!html.contains("<script>"), "titles are escaped");
    assert!(
        html.contains("138****5678"),
        "the phone is masked on the page"
    );
    let (_, list) = app.get("/tickets").await;
    assert!(list.as_str().unwrap().contains(number));
}

#[tokio::test]
async fn a_second_report_of_one_event_lists_the_first() {
    let app = TestApp::new().await;
    let (_, first) = app.post("/api/v1/tickets", &demand("电梯坏了"), None).await;
    let (_, second) = app
        .post("/api/v1/tickets", &demand("电梯又坏了"), None)
        .await;
    let (status, found) = app
        .get(&format!(
            "/api/v1/tickets/{}/duplicates",
            second["number"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let found = found.as_array().unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["number"], first["number"]);
    assert!(found[0]["similarity"].as_f64().unwrap() > 0.5);
}

#[tokio::test]
async fn a_refused_return_and_an_approved_extension_over_http() {
    let app = TestApp::new().await;
    let (_, created) = app.post("/api/v1/tickets", &demand("电梯坏了"), None).await;
    let number = created["number"].as_str().unwrap();
    let unit = created["unit"].clone();
    let (status, _) = app
        .act(
            number,
            json!({"action": "return", "reason": "不属于本单位"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, ticket) = app
        .act(
            number,
            json!({"action": "reject_return", "reason": "属于物业职责"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{ticket}");
    assert_eq!(
        (ticket["unit"].clone(), ticket["dispute_count"].clone()),
        (unit, json!(1))
    );
    app.act(number, json!({"action": "accept"})).await;
    // No extension pushes the deadline out of sight ([workflow] max_extension_days).
    let (status, answer) = app.act(number, json!({"action": "request_extension", "resolve_by": "2099-01-01T00:00:00Z", "reason": "需要更换主板"})).await;
    assert_eq!(
        (status, answer["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("resolve_by")),
        "{answer}"
    );
    let (status, answer) = app
        .act(
            number,
            json!({"action": "request_extension", "days": 5, "reason": "需要更换主板"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let asked = answer["extension"]["resolve_by"].clone();
    let (status, answer) = app
        .act(
            number,
            json!({"action": "request_extension", "resolve_by": "tomorrow", "reason": "x"}),
        )
        .await;
    assert_eq!(
        (status, answer["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("resolve_by"))
    );
    let (_, ticket) = app
        .act(
            number,
            json!({"action": "decide_extension", "approve": true}),
        )
        .await;
    assert_eq!(ticket["deadlines"]["resolve_by"], asked);
    assert_eq!(ticket["extension_count"], 1);
    let forged = json!({"action": "add_attachment", "sha256": "0".repeat(64), "media_type": "image/png", "size": 1});
    let (status, answer) = app.act(number, forged).await;
    assert_eq!(
        (status, answer["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("action"))
    );
}

#[tokio::test]
async fn a_tickets_timers_and_the_due_timers_are_listed() {
    let app = TestApp::new().await;
    let (status, ticket) = app.post("/api/v1/tickets", &demand("电梯坏了"), None).await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    let number = ticket["number"].as_str().unwrap();
    let (status, timers) = app.get(&format!("/api/v1/tickets/{number}/timers")).await;
    assert_eq!(status, StatusCode::OK, "{timers}");
    let kinds: Vec<&str> = timers
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    assert!(
        !kinds.is_empty(),
        "a dispatched ticket has timers: {timers}"
    );
    assert!(
        timers
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["ticket"] == number)
    );
    let (status, none) = app.get("/api/v1/timers/due").await;
    assert_eq!(
        (status, none.as_array().unwrap().len()),
        (StatusCode::OK, 0)
    );
    let (status, due) = app
        .get("/api/v1/timers/due?before=2100-01-01T00:00:00Z&limit=500")
        .await;
    assert_eq!(status, StatusCode::OK, "{due}");
    assert_eq!(due.as_array().unwrap().len(), kinds.len());
    let (status, bad) = app.get("/api/v1/timers/due?limit=0").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad["error"]["field"], "limit");
}

/// Tells the citizen by SMS and an integration by e-mail of every event, with the
/// follow code in the text, as the notify crate's templates do.
struct Tell;

impl minhu_engine::Announce for Tell {
    fn announce(
        &self,
        ticket: &minhu_core::Ticket,
        events: &[minhu_core::Event],
    ) -> Vec<minhu_store::Outgoing> {
        events
            .iter()
            .flat_map(|event| {
                [
                    ("sms", ticket.intake.citizen.phone.clone()),
                    ("email", Some("zhang.san@example.cn".to_owned())),
                ]
                .map(|(channel, recipient)| minhu_store::Outgoing {
                    seq: event.seq,
                    channel: channel.into(),
                    recipient,
                    message: "您的工单已受理，查询码 483920".into(),
                })
            })
            .collect()
    }
}

#[tokio::test]
async fn a_tickets_notifications_show_where_delivery_stands_masked() {
    let app = TestApp::with_announce(std::sync::Arc::new(Tell)).await;
    let (status, ticket) = app.post("/api/v1/tickets", &demand("电梯坏了"), None).await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    let number = ticket["number"].as_str().unwrap();
    // One SMS attempt fails with a gateway that quotes the number; the e-mails go out.
    let store = &app.store;
    let now = app.state.engine.now();
    let lease = jiff::SignedDuration::from_secs(60);
    for delivery in store
        .claim_notifications("w", now, lease, 100)
        .await
        .unwrap()
    {
        let outcome = if delivery.channel == "sms" {
            Err(("gateway refused 13812345678", Some(now + lease)))
        } else {
            Ok(())
        };
        assert!(
            store
                .settle_notification(&delivery, "w", now, outcome)
                .await
                .unwrap()
        );
    }
    let (status, rows) = app
        .get(&format!("/api/v1/tickets/{number}/notifications"))
        .await;
    assert_eq!(status, StatusCode::OK, "{rows}");
    let rows = rows.as_array().unwrap();
    let events = ticket["version"].as_u64().unwrap() as usize;
    assert_eq!(rows.len(), 2 * events, "{rows:?}");
    for row in rows {
        match row["channel"].as_str().unwrap() {
            "sms" => {
                assert_eq!(row["status"], "retrying");
                assert_eq!(row["recipient"], "138****5678");
                assert_eq!(row["last_error"], "gateway refused 138****5678");
            }
            _ => {
                assert_eq!(row["status"], "delivered");
                assert_eq!(row["recipient"], "z***@example.cn");
                assert!(row["sent_at"].is_string());
            }
        }
        assert_eq!(row["attempts"], 1);
    }
    let body = serde_json::to_string(&rows).unwrap();
    for secret in ["483920", "13812345678", "zhang.san", "message"] {
        assert!(!body.contains(secret), "{secret} leaked: {body}");
    }
    // Scoped like the ticket: a unit that does not handle it gets 404.
    let other = app
        .token(
            "other",
            minhu_core::access::Role::UnitHandler,
            Some("street-A1-01"),
            None,
        )
        .await;
    let (status, _) = app
        .get_as(
            Some(&other),
            &format!("/api/v1/tickets/{number}/notifications"),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// A file is reached through a ticket the caller may open, never by its hash alone: a
/// unit that knows the hash of another unit's photo gets nothing, through its own
/// ticket or the other.
#[tokio::test]
async fn an_attachment_is_read_only_through_a_ticket_in_scope() {
    let app = TestApp::new().await;
    let (_, mine) = app.post("/api/v1/tickets", &demand("电梯坏了"), None).await;
    let other = json!({
        "channel": "web", "kind": "report", "title": "拖欠工资",
        "description": "公司拖欠工资三个月", "address": "A1区马坡岭街道",
        "category": "劳动和社会保障", "citizen": {"phone": "13912345678"}
    });
    let (_, theirs) = app.post("/api/v1/tickets", &other.to_string(), None).await;
    assert_ne!(mine["unit"], theirs["unit"], "{mine} {theirs}");
    let upload = Request::post(format!(
        "/api/v1/tickets/{}/attachments?name=evidence.png",
        theirs["number"].as_str().unwrap()
    ))
    .body(Body::from(minhu_testkit::web::PNG))
    .unwrap();
    let (status, attached, _) = app.send(upload).await;
    assert_eq!(status, StatusCode::OK, "{attached}");
    let sha = attached["attachments"][0]["sha256"].as_str().unwrap();
    let unit = app
        .token(
            "unit",
            Role::UnitHandler,
            Some(mine["unit"].as_str().unwrap()),
            None,
        )
        .await;
    for number in [&mine["number"], &theirs["number"]] {
        let uri = format!(
            "/api/v1/tickets/{}/attachments/{sha}",
            number.as_str().unwrap()
        );
        let (status, body) = app.get_as(Some(&unit), &uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}: {body}");
        let (status, _) = app.get(&uri).await;
        let expected = if *number == theirs["number"] {
            StatusCode::OK
        } else {
            StatusCode::NOT_FOUND
        };
        assert_eq!(status, expected, "the administrator, {uri}");
    }
}

#[tokio::test]
async fn a_demand_is_placed_by_its_estate_or_read_as_another_city() {
    let app = TestApp::new().await;
    let post = |title: &str, description: &str| {
        json!({"channel": "web", "kind": "complaint", "title": title,
               "description": description, "citizen": {"phone": "13812345678"}})
        .to_string()
    };
    // The estate alone (places.csv) places it in its community.
    let (status, created) = app
        .post(
            "/api/v1/tickets",
            &post("青青家园小区水压特别小", "家住6楼，水压特别小"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let number = created["number"].as_str().unwrap();
    let (_, events) = app.get(&format!("/api/v1/tickets/{number}/events")).await;
    let placed = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "reclassified")
        .unwrap_or_else(|| panic!("{events}"));
    assert_eq!(placed["region"], "A3-01-01", "{placed}");
    // Another city: the suggestion says so, and nothing is routed.
    let (_, created) = app
        .post(
            "/api/v1/tickets",
            &post(
                "K市楚江东路店外经营修理汽车多年",
                "都无任何部门出来取缔和监管吗？",
            ),
            None,
        )
        .await;
    assert_eq!(created["status"], "pending", "{created}");
    let number = created["number"].as_str().unwrap();
    let (status, suggestion) = app
        .get(&format!("/api/v1/tickets/{number}/suggestion"))
        .await;
    assert_eq!(status, StatusCode::OK, "{suggestion}");
    assert_eq!(suggestion["elsewhere"], "K市", "{suggestion}");
    assert!(suggestion["region"].is_null() && suggestion["assignment"].is_null());
    // The reading is kept on the ticket: its JSON says which city.
    let (_, ticket) = app.get(&format!("/api/v1/tickets/{number}")).await;
    assert_eq!(ticket["place_reading"]["elsewhere"], "K市", "{ticket}");
}
