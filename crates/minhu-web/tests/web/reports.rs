//! Citizens' reports with photos (`POST /api/v1/reports`, what the portal sends when
//! photos are chosen): every photo is checked before anything is stored, and a retry
//! with the same Idempotency-Key completes the first report instead of doubling it.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use minhu_testkit::web::{PNG, TestApp};
use serde_json::Value;

/// Enough of each format for its content to be recognised.
const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0, 1,
];
const PDF: &[u8] = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n1 0 obj\n<<>>\nendobj\n";

const BOUNDARY: &str = "minhu-test-boundary";

fn ticket_json(title: &str) -> String {
    serde_json::json!({
        "channel": "web", "kind": "report", "title": title,
        "description": "路口井盖不见了，晚上很危险", "address": "A3区天顶街道尖山社区",
        "citizen": {"phone": "13812345678"}
    })
    .to_string()
}

/// A multipart body with a `ticket` part (when given) and `photo` parts.
fn report(ticket: Option<&str>, photos: &[(&str, &[u8])], key: Option<&str>) -> Request<Body> {
    let mut body = Vec::new();
    let mut part = |headers: String, bytes: &[u8]| {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n{headers}\r\n\r\n").as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    };
    if let Some(ticket) = ticket {
        part(
            "Content-Disposition: form-data; name=\"ticket\"\r\nContent-Type: application/json"
                .into(),
            ticket.as_bytes(),
        );
    }
    for (name, bytes) in photos {
        part(
            format!("Content-Disposition: form-data; name=\"photo\"; filename=\"{name}\""),
            bytes,
        );
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    let mut request = Request::post("/api/v1/reports").header(
        header::CONTENT_TYPE,
        format!("multipart/form-data; boundary={BOUNDARY}"),
    );
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    request.body(Body::from(body)).unwrap()
}

async fn ticket_count(app: &TestApp) -> usize {
    let (_, list) = app.get("/api/v1/tickets?limit=100").await;
    list["tickets"].as_array().unwrap().len()
}

fn attachment_types(ticket: &Value) -> Vec<&str> {
    ticket["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["media_type"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_report_keeps_its_photos_and_a_retry_completes_it_without_doubles() {
    let app = TestApp::new().await;
    let (status, first, _) = app
        .send_as(
            None,
            report(
                Some(&ticket_json("井盖缺失")),
                &[("a.png", PNG)],
                Some("r-1"),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(attachment_types(&first), ["image/png"]);
    assert_eq!(first["attachments"][0]["name"], "a.png");
    assert!(
        first["citizen"]["phone"].is_null(),
        "an anonymous caller sees no phone: {first}"
    );

    // The first answer was lost, the citizen sends again with a second photo.
    let (status, again, _) = app
        .send_as(
            None,
            report(
                Some(&ticket_json("井盖缺失")),
                &[("a.png", PNG), ("b.jpg", JPEG)],
                Some("r-1"),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["number"], first["number"]);
    assert_eq!(attachment_types(&again), ["image/png", "image/jpeg"]);
    assert_eq!(ticket_count(&app).await, 1);

    let number = first["number"].as_str().unwrap();
    let (_, events) = app.get(&format!("/api/v1/tickets/{number}/events")).await;
    let attached: Vec<&Value> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "attachment_added")
        .collect();
    assert_eq!(attached.len(), 2, "{events}");
    assert!(attached.iter().all(|e| e["actor"] == "citizen"), "{events}");

    let sha = again["attachments"][1]["sha256"].as_str().unwrap();
    let (status, _, headers) = app
        .send(
            Request::get(format!(
                "/api/v1/tickets/{}/attachments/{sha}",
                again["number"].as_str().unwrap()
            ))
            .body(Body::empty())
            .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "image/jpeg");
}

#[tokio::test]
async fn a_bad_photo_or_part_names_itself_and_stores_nothing() {
    let app = TestApp::new().await;
    let ticket = ticket_json("井盖缺失");
    let four: Vec<(&str, &[u8])> = vec![("1.png", PNG); 4];
    for (request, field) in [
        (
            report(Some(&ticket), &[("a.png", PNG), ("scan.pdf", PDF)], None),
            "photo[1].file",
        ),
        (
            report(Some(&ticket), &[("empty.png", b"")], None),
            "photo[0].file",
        ),
        (
            report(Some(&ticket), &[("notes.txt", b"just words")], None),
            "photo[0].file",
        ),
        (report(Some(&ticket), &four, None), "photo[3]"),
        (report(None, &[("a.png", PNG)], None), "ticket"),
        (
            report(Some(r#"{"channel": "web", "kind": "report"}"#), &[], None),
            "title",
        ),
    ] {
        let (status, body, _) = app.send_as(None, request).await;
        assert!(
            [StatusCode::UNPROCESSABLE_ENTITY, StatusCode::BAD_REQUEST].contains(&status),
            "{field}: {status} {body}"
        );
        assert_eq!(body["error"]["field"], field, "{body}");
    }
    let not_multipart = Request::post("/api/v1/reports")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(ticket.clone()))
        .unwrap();
    let (status, body, _) = app.send_as(None, not_multipart).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    assert_eq!(ticket_count(&app).await, 0, "nothing was stored");
}
