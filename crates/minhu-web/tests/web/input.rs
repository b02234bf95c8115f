//! Strict input (issue 17): what a request may hold, and how every refusal reads.
//! JSON comes as JSON with nothing after it; unknown fields are refused by name; U+0000
//! is refused everywhere with a 422 before it reaches the store; `next` stays on this
//! site; HEAD is GET; every error of the API is its JSON error, pages answer HTML.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use minhu_testkit::web::{PNG, TestApp, demand};
use serde_json::{Value, json};

fn post(uri: &str, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, content_type)
        .body(body.into())
        .unwrap()
}

async fn ticket_count(app: &TestApp) -> usize {
    let (status, list) = app.get("/api/v1/tickets?limit=500").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["tickets"].as_array().unwrap().len()
}

fn field(body: &Value) -> Option<&str> {
    body["error"]["field"].as_str()
}

/// Nothing in an error's words tells how the server is built.
fn names_no_internals(body: &Value) {
    let text = body.to_string();
    for inside in ["::", "minhu_", "axum", "serde", "ROUTES", "Rejection"] {
        assert!(!text.contains(inside), "{inside} in {text}");
    }
}

#[tokio::test]
async fn a_json_body_is_one_json_value_sent_as_json() {
    let app = TestApp::new().await;
    for trailing in [
        format!("{} x", demand("尾巴")),
        format!("{}{}", demand("两个"), demand("两个")),
        format!("{}\0", demand("零")),
    ] {
        let (status, body) = app.post("/api/v1/tickets", &trailing, None).await;
        assert!(status.is_client_error(), "{status} {body}");
        assert!(body["error"]["code"].as_str().is_some(), "{body}");
    }
    let action = format!("{} {{}}", json!({"action": "accept"}));
    let (status, body) = app
        .post("/api/v1/tickets/2026112200001/actions", &action, None)
        .await;
    assert!(status.is_client_error(), "{body}");
    assert_eq!(ticket_count(&app).await, 0, "nothing was taken in");

    // A cross-site form can post text/plain (or a form) without asking first; JSON
    // routes take only JSON.
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "text/plain; application/json",
    ] {
        let (status, body, _) = app
            .send_as(None, post("/api/v1/tickets", content_type, demand("表单")))
            .await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{content_type}");
        assert_eq!(body["error"]["code"], "unsupported_media_type");
        assert_eq!(field(&body), Some("Content-Type"));
    }
    let no_type = Request::post("/api/v1/follow/code")
        .body(Body::from(json!({"number": "x", "phone": "1"}).to_string()))
        .unwrap();
    let (status, _, _) = app.send_as(None, no_type).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(ticket_count(&app).await, 0);
    let (status, _, _) = app
        .send_as(
            None,
            post(
                "/api/v1/tickets",
                "application/json; charset=utf-8",
                demand("好的"),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn unknown_fields_are_refused_by_name() {
    let app = TestApp::new().await;
    let mut misspelt: Value = serde_json::from_str(&demand("举报")).unwrap();
    misspelt["kind"] = json!("report");
    misspelt["citizen"] = json!({"phone": "13812345678", "confidental": true});
    let (status, body) = app
        .post("/api/v1/tickets", &misspelt.to_string(), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(field(&body), Some("citizen.confidental"), "{body}");
    let mut located: Value = serde_json::from_str(&demand("定位")).unwrap();
    located["location"] = json!({"lat": 28.2, "lon": 112.9, "altitude": 50});
    let (status, body) = app
        .post("/api/v1/tickets", &located.to_string(), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(field(&body), Some("location.altitude"), "{body}");
    assert_eq!(ticket_count(&app).await, 0, "no report was taken in");

    let (_, ticket) = app.post("/api/v1/tickets", &demand("电梯"), None).await;
    let number = ticket["number"].as_str().unwrap();
    for (action, stray) in [
        (json!({"action": "accept", "note": "马上去"}), "note"),
        (
            json!({"action": "return", "reason": "不归我们", "unit": "S-yanghu"}),
            "unit",
        ),
        (
            json!({"action": "dispatch", "unit": "S-yanghu", "reasn": "x"}),
            "reasn",
        ),
        (
            json!({"action": "rate", "solved": true, "satisfaction": "satisfied", "comment": "好"}),
            "comment",
        ),
    ] {
        let (status, body) = app.act(number, action.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{action}: {body}");
        assert_eq!(field(&body), Some(stray), "{action}: {body}");
    }
    let (status, body) = app
        .act(
            number,
            json!({"action": "urge", "note": "请尽快", "extra": null}),
        )
        .await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::BAD_REQUEST, Some("extra"))
    );
    let (_, events) = app.get(&format!("/api/v1/tickets/{number}/events")).await;
    assert!(
        events
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["type"] != "urged" && e["type"] != "accepted"),
        "no refused action was recorded: {events}"
    );
}

#[tokio::test]
async fn nul_is_refused_everywhere_with_422() {
    let app = TestApp::new().await;
    let mut nul: Value = serde_json::from_str(&demand("标题\u{0}")).unwrap();
    let (status, body) = app.post("/api/v1/tickets", &nul.to_string(), None).await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("title")),
        "{body}"
    );
    nul["title"] = json!("标题");
    nul["citizen"]["name"] = json!("张\u{0}三");
    let (status, body) = app.post("/api/v1/tickets", &nul.to_string(), None).await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("citizen.name")),
        "{body}"
    );
    // Written as text, `\u0000` is no NUL.
    let escaped = demand("\\u0000");
    let (status, body) = app.post("/api/v1/tickets", &escaped, None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let number = body["number"].as_str().unwrap().to_owned();
    let (status, body) = app
        .act(&number, json!({"action": "urge", "note": "快\u{0}"}))
        .await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("note"))
    );

    for (uri, named) in [
        ("/api/v1/tickets?q=%00", "q"),
        ("/api/v1/tickets?phone=138%0012345678", "phone"),
        ("/api/v1/kb/articles/a%00b", "path"),
        ("/open311/v2/requests.json?service_code=%00", "service_code"),
    ] {
        let (status, body) = app.get(uri).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{uri}: {body}");
        if uri.starts_with("/api/") {
            assert_eq!(field(&body), Some(named), "{uri}: {body}");
        } else {
            // Open311 clients read Open311's error list.
            let description = body[0]["description"].as_str().unwrap_or_default();
            assert!(description.contains(named), "{uri}: {body}");
        }
    }
    let form = "application/x-www-form-urlencoded";
    let (status, page, _) = app
        .send_as(None, post("/login", form, "login=a%00&password=b"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(
        page.as_str().unwrap().contains("<html"),
        "pages answer HTML"
    );
    let (status, _, _) = app
        .send(post("/admin/users/li%00si/disabled", form, "disabled=true"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, body, _) = app
        .send_as(
            None,
            post(
                "/open311/v2/requests.json",
                form,
                "api_key=x&service_code=property&lat=28.2&long=112.9&description=%E7%94%B5%00",
            ),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body[0]["description"]
            .as_str()
            .unwrap()
            .contains("description")
    );

    // In a report: the demand's JSON part as any JSON body; a raw NUL in a part's
    // headers (a file name) leaves them unreadable, refused as malformed.
    let report = |ticket: &str, filename: &str| {
        let boundary = "nul-boundary";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"ticket\"\r\n\
             Content-Type: application/json\r\n\r\n{ticket}\r\n--{boundary}\r\n\
             Content-Disposition: form-data; name=\"photo\"; filename=\"{filename}\"\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(PNG);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        post(
            "/api/v1/reports",
            &format!("multipart/form-data; boundary={boundary}"),
            body,
        )
    };
    let (status, body, _) = app
        .send_as(None, report(&demand("照片\u{0}"), "a.png"))
        .await;
    assert_eq!(
        (status, field(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("title")),
        "{body}"
    );
    let (status, body, _) = app.send_as(None, report(&demand("照片"), "a\0.png")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        ticket_count(&app).await,
        1,
        "only the escaped text was taken in"
    );
}

#[tokio::test]
async fn next_stays_on_this_site() {
    let app = TestApp::new().await;
    app.add_user("wang", minhu_core::access::Role::Dispatcher, None)
        .await;
    for next in [
        "%2F%09%2Fevil.example",
        "%2F%0A%2Fevil.example",
        "%2F%0D%0ASet-Cookie:x=1",
        "%2F%5Cevil.example",
        "%2F%2Fevil.example",
        "https%3A%2F%2Fevil.example",
        "%2F%20%2Fevil.example",
        "%2F%E7%94%B5",
        "%2Ftickets%00",
    ] {
        let body = format!("login=wang&password=correct+horse+battery&next={next}");
        let (status, page, headers) = app
            .send_as(
                None,
                post("/login", "application/x-www-form-urlencoded", body),
            )
            .await;
        if next.ends_with("%00") {
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{next}");
            continue;
        }
        assert_eq!(status, StatusCode::SEE_OTHER, "{next}: {page}");
        assert_eq!(headers[header::LOCATION], "/tickets", "{next}");
        let (status, page, _) = app
            .send_as(
                None,
                Request::get(format!("/login?next={next}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{next}");
        assert!(
            page.as_str()
                .unwrap()
                .contains("name=\"next\" value=\"/tickets\""),
            "{next}: {page}"
        );
        let (status, _, headers) = app
            .send_as(
                None,
                Request::get(format!("/lang/en?next={next}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert!(status.is_redirection(), "{next}");
        assert_eq!(headers[header::LOCATION], "/tickets", "{next}");
    }
    let body = "login=wang&password=correct+horse+battery&next=%2Ftickets%3Fstatus%3Dpending";
    let (_, _, headers) = app
        .send_as(
            None,
            post("/login", "application/x-www-form-urlencoded", body),
        )
        .await;
    assert_eq!(headers[header::LOCATION], "/tickets?status=pending");
}

#[tokio::test]
async fn head_is_get_without_the_body() {
    let app = TestApp::new().await;
    let head = |uri: &str| Request::head(uri).body(Body::empty()).unwrap();
    for uri in [
        "/healthz",
        "/api/openapi.json",
        "/",
        "/public",
        "/api/v1/tickets",
    ] {
        let (status, body, _) = app.send(head(uri)).await;
        assert_eq!(status, StatusCode::OK, "HEAD {uri}: {body}");
        assert_eq!(body, Value::String(String::new()), "HEAD {uri} has no body");
    }
    // HEAD has GET's rule: no credentials, no list.
    let (status, _, _) = app.send_as(None, head("/api/v1/tickets")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, headers) = app.send_as(None, head("/tickets")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(headers[header::LOCATION].as_bytes().starts_with(b"/login"));
}

#[tokio::test]
async fn every_api_error_is_the_apis_json_and_pages_answer_html() {
    let app = TestApp::new().await;
    let (_, ticket) = app.post("/api/v1/tickets", &demand("电梯"), None).await;
    let number = ticket["number"].as_str().unwrap();
    let send = |method: Method, uri: &str, content_type: &str, body: Vec<u8>| {
        Request::builder()
            .method(method)
            .uri(uri)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap()
    };
    let json = "application/json";
    let huge = vec![b' '; 300 * 1024];
    let cases = [
        (
            send(Method::PUT, "/api/v1/tickets", json, b"{}".to_vec()),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            send(
                Method::DELETE,
                "/api/v1/tickets/2026112200001",
                json,
                vec![],
            ),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            send(Method::GET, "/api/v1/no-such-thing", json, vec![]),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            send(Method::GET, "/api/v2/tickets", json, vec![]),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            send(
                Method::POST,
                &format!("/api/v1/tickets/{number}/actions"),
                json,
                huge.clone(),
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
        ),
        (
            send(
                Method::POST,
                &format!("/api/v1/tickets/{number}/attachments"),
                "application/octet-stream",
                vec![0; minhu_engine::attachments::MAX_ATTACHMENT_BYTES + 2],
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
        ),
        (
            send(
                Method::POST,
                "/api/v1/reports",
                "multipart/form-data",
                b"x".to_vec(),
            ),
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
        (
            send(
                Method::GET,
                &format!("/api/v1/tickets/{number}/attachments/%FF%FE"),
                json,
                vec![],
            ),
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
    ];
    for (request, status, code) in cases {
        let what = format!("{} {}", request.method(), request.uri());
        let (got, body, headers) = app.send(request).await;
        assert_eq!(got, status, "{what}: {body}");
        assert_eq!(body["error"]["code"], code, "{what}: {body}");
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{what}"
        );
        names_no_internals(&body);
        if status == StatusCode::METHOD_NOT_ALLOWED {
            assert!(headers.contains_key(header::ALLOW), "{what}");
        }
    }
    let (_, body, headers) = app
        .send(send(Method::PUT, "/api/v1/tickets", json, vec![]))
        .await;
    let allow = headers[header::ALLOW].to_str().unwrap();
    for method in ["GET", "POST", "HEAD"] {
        assert!(allow.contains(method), "{allow}: {body}");
    }
    assert!(!allow.contains("PUT"), "{allow}");

    // Open311 clients read Open311's errors, in the format of the path.
    let (status, body, _) = app
        .send_as(
            None,
            send(
                Method::POST,
                "/open311/v2/requests.json",
                "application/x-www-form-urlencoded",
                huge.clone(),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body[0]["code"], 413, "{body}");
    let (status, body, _) = app
        .send_as(
            None,
            send(Method::DELETE, "/open311/v2/requests.xml", json, vec![]),
        )
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(body.as_str().unwrap().contains("<errors>"), "{body}");

    // Pages answer a page.
    for (request, status) in [
        (
            send(Method::GET, "/no-such-page", "text/html", vec![]),
            StatusCode::NOT_FOUND,
        ),
        (
            send(Method::PUT, "/tickets", "text/html", vec![]),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            send(Method::GET, "/tickets/not-a-number", "text/html", vec![]),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let what = format!("{} {}", request.method(), request.uri());
        let (got, page, headers) = app.send(request).await;
        assert_eq!(got, status, "{what}");
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{what}"
        );
        let page = page.as_str().unwrap();
        assert!(
            page.contains("<html") && page.contains(&status.as_u16().to_string()),
            "{page}"
        );
        assert!(!page.contains("::") && !page.contains("ROUTES"), "{page}");
        assert!(headers.contains_key("content-security-policy"), "{what}");
    }
}

#[tokio::test]
async fn idempotency_keys_belong_to_their_caller() {
    let app = TestApp::new().await;
    let agent = app
        .token("agent", minhu_core::access::Role::HotlineAgent, None, None)
        .await;
    let other = app
        .token("other", minhu_core::access::Role::HotlineAgent, None, None)
        .await;
    let body = demand("同一个键");
    let (status, first) = app
        .post_as(Some(&agent), "/api/v1/tickets", &body, Some("key-1"))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, again) = app
        .post_as(Some(&agent), "/api/v1/tickets", &body, Some("key-1"))
        .await;
    assert_eq!(
        (status, &again["number"]),
        (StatusCode::OK, &first["number"])
    );
    for caller in [Some(other.as_str()), None] {
        let (status, theirs) = app
            .post_as(caller, "/api/v1/tickets", &body, Some("key-1"))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{caller:?}: {theirs}");
        assert_ne!(theirs["number"], first["number"], "{caller:?}");
        // Another caller's key is no oracle either: other content is simply new.
        let (status, _) = app
            .post_as(caller, "/api/v1/tickets", &demand("别的"), Some("key-2"))
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, _) = app
        .post_as(
            Some(&agent),
            "/api/v1/tickets",
            &demand("别的"),
            Some("key-1"),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the caller's own key reused"
    );
    // A client's key never names the server's own (Open311 tokens, imports).
    let (status, _) = app
        .post_as(None, "/api/v1/tickets", &body, Some("open311:abc"))
        .await;
    assert_eq!(status, StatusCode::CREATED);
}
