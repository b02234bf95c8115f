//! Abuse limits: who may create tickets and how often, and that every creation is
//! audited with its real actor.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use minhu_core::access::{Permission, Role};
use minhu_engine::accounts::TokenGrant;
use minhu_store::AuditFilter;
use minhu_testkit::web::TestApp;
use serde_json::{Value, json};

fn demand() -> Value {
    json!({"channel": "web", "kind": "complaint", "title": "路灯坏了",
           "description": "小区门口路灯坏了一周", "address": "A3区天顶街道尖山社区",
           "citizen": {"phone": "13812345678"}})
}

fn intake_request(cookie: Option<&str>, csrf: Option<&str>) -> Request<Body> {
    let mut request =
        Request::post("/api/v1/tickets").header(header::CONTENT_TYPE, "application/json");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    if let Some(csrf) = csrf {
        request = request.header("x-csrf-token", csrf);
    }
    request.body(Body::from(demand().to_string())).unwrap()
}

async fn creations(app: &TestApp) -> Vec<minhu_store::AuditEntry> {
    app.store
        .audit_log(&AuditFilter {
            action: Some("ticket.create".into()),
            limit: 1000,
            ..AuditFilter::default()
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_token_without_create_cannot_create_and_every_creation_names_its_actor() {
    let app = TestApp::new().await;
    let auditor = app.token("auditor", Role::Auditor, None, None).await;
    let (status, body, _) = app
        .send_from("10.5.0.1", Some(&auditor), intake_request(None, None))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let refusals = app
        .store
        .audit_log(&AuditFilter {
            actor: Some("token:auditor".into()),
            limit: 10,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(refusals.len(), 1, "the refusal is audited");

    let crm = app
        .token_with("crm", &[Permission::CreateTickets], None, None)
        .await;
    let (status, by_token, _) = app
        .send_from("10.5.0.2", Some(&crm), intake_request(None, None))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{by_token}");
    let (status, by_citizen, _) = app
        .send_from("10.5.0.3", None, intake_request(None, None))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{by_citizen}");
    // A retry with the same key makes no ticket and no second entry.
    for _ in 0..2 {
        let mut request = intake_request(None, None);
        request
            .headers_mut()
            .insert("idempotency-key", "same".parse().unwrap());
        let (status, _, _) = app.send_from("10.5.0.4", Some(&crm), request).await;
        assert!(status.is_success());
    }
    let log = creations(&app).await;
    let seen: Vec<(&str, Option<&str>, Option<&str>)> = log
        .iter()
        .map(|e| (e.actor.as_str(), e.target.as_deref(), e.client.as_deref()))
        .collect();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(
        seen[0],
        ("token:crm", by_token["number"].as_str(), Some("10.5.0.2"))
    );
    assert_eq!(
        seen[1],
        ("anonymous", by_citizen["number"].as_str(), Some("10.5.0.3"))
    );
    assert_eq!(seen[2].0, "token:crm");
}

/// A channel with an adapter (or the app's back end) is claimed only through it or by a
/// token whose permissions name it: nobody else passes a web report off as WeChat's.
#[tokio::test]
async fn a_channel_with_an_adapter_is_claimed_only_by_a_token_named_for_it() {
    let app = TestApp::new().await;
    let as_channel = |channel: &str| {
        let mut body = demand();
        body["channel"] = json!(channel);
        body.to_string()
    };
    for channel in ["wechat", "email", "sms", "app", "open311", "sensor"] {
        let (status, body) = app
            .post_as(None, "/api/v1/tickets", &as_channel(channel), None)
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{channel}: {body}"
        );
        assert_eq!(body["error"]["field"], "channel", "{body}");
        // An administrator's token may create, but does not speak for a platform.
        let (status, body) = app
            .post_as(
                Some(&app.admin),
                "/api/v1/tickets",
                &as_channel(channel),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{channel}: {body}");
    }
    let wechat = app
        .token_with(
            "wechat-bridge",
            &[Permission::CreateTickets, Permission::ChannelWechat],
            None,
            None,
        )
        .await;
    let (status, body) = app
        .post_as(
            Some(&wechat),
            "/api/v1/tickets",
            &as_channel("wechat"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = app
        .post_as(Some(&wechat), "/api/v1/tickets", &as_channel("sms"), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the token names WeChat only");
    // The web channel stays open to anyone.
    let (status, body) = app
        .post_as(None, "/api/v1/tickets", &as_channel("web"), None)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn tokens_that_may_create_have_their_own_rate_not_the_address_limit() {
    let app = TestApp::new().await;
    let crm = app
        .token_with("crm", &[Permission::CreateTickets], None, None)
        .await;
    // More than anonymous intake lets one address file at once.
    for _ in 0..25 {
        let (status, body, _) = app
            .send_from("10.6.0.1", Some(&crm), intake_request(None, None))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    // A token with a rate of its own is held to it: 10 at once, then one a minute.
    let grant = TokenGrant {
        permissions: &[Permission::CreateTickets],
        rate_per_min: Some(1),
        ..Default::default()
    };
    let slow = app
        .state
        .engine
        .accounts()
        .issue_token("slow", &grant)
        .await
        .unwrap();
    let mut statuses = Vec::new();
    for i in 0..11 {
        let address = format!("10.6.1.{i}");
        let request = intake_request(None, None);
        statuses.push(app.send_from(&address, Some(&slow), request).await.0);
    }
    assert!(statuses[..10].iter().all(|s| *s == StatusCode::CREATED));
    assert_eq!(statuses[10], StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn tokens_without_create_and_follow_sessions_have_the_anonymous_intake_limit() {
    let app = TestApp::new().await;
    let viewer = app
        .token_with("viewer", &[Permission::ViewTickets], None, None)
        .await;
    // 20 at once, then one every 3 seconds: 30 in a row meet the limit.
    let mut statuses = Vec::new();
    for _ in 0..30 {
        let request = intake_request(None, None);
        statuses.push(app.send_from("10.6.2.1", Some(&viewer), request).await.0);
    }
    let refused = statuses
        .iter()
        .position(|s| *s == StatusCode::TOO_MANY_REQUESTS)
        .expect("the address's intake limit");
    assert!(refused >= 20, "{statuses:?}");
    assert!(
        statuses[..refused]
            .iter()
            .all(|s| *s == StatusCode::FORBIDDEN)
    );

    // A citizen following a ticket files as a citizen, as often as anyone anonymous.
    let (status, created, _) = app
        .send_from("10.6.3.1", None, intake_request(None, None))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let number = created["number"].as_str().unwrap().to_owned();
    let code_request = Request::post("/api/v1/follow/code")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"number": number, "phone": "13812345678"}).to_string(),
        ))
        .unwrap();
    app.send_from("10.6.3.1", None, code_request).await;
    let code = app.sms.sent()[0].2.clone();
    let open = Request::post("/api/v1/follow/session")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"number": number, "code": code}).to_string(),
        ))
        .unwrap();
    let (status, opened, headers) = app.send_from("10.6.3.1", None, open).await;
    assert_eq!(status, StatusCode::OK, "{opened}");
    let cookie = headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let csrf = opened["csrf"].as_str().unwrap().to_owned();
    let mut statuses = Vec::new();
    for _ in 0..30 {
        let request = intake_request(Some(&cookie), Some(&csrf));
        statuses.push(app.send_from("10.6.3.1", None, request).await.0);
    }
    // One of the address's 20 went to the first report.
    let refused = statuses
        .iter()
        .position(|s| *s == StatusCode::TOO_MANY_REQUESTS)
        .expect("the address's intake limit");
    assert!(refused >= 19, "{statuses:?}");
    assert!(
        statuses[..refused]
            .iter()
            .all(|s| *s == StatusCode::CREATED)
    );
    let log = creations(&app).await;
    let citizens = log.iter().filter(|e| e.actor == "citizen").count();
    assert_eq!(citizens, refused);
}

#[tokio::test]
async fn a_token_has_a_default_rate() {
    let app = TestApp::new().await;
    let grant = TokenGrant {
        permissions: &[Permission::ViewAudit],
        ..TokenGrant::default()
    };
    let token = app
        .state
        .engine
        .accounts()
        .issue_token("plain", &grant)
        .await
        .unwrap();
    // 100 at once and 50 a second: a thousand in a row meet the limit unless they
    // took 18 seconds.
    let mut refused = None;
    for i in 0..1000 {
        let (status, _) = app.get_as(Some(&token), "/api/v1/audit?limit=1").await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(i);
            break;
        }
        assert_eq!(status, StatusCode::OK);
    }
    assert!(refused.is_some_and(|i| i >= 100), "{refused:?}");
}

mod connections {
    //! The accept loop on a real port: timeouts, the per-address cap, trusted proxies.

    use super::*;
    use minhu_web::serve::{ServeOptions, TrustedProxies};
    use std::net::SocketAddr;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    /// The longest any of these waits for the server: a bound, not a guess.
    const PATIENCE: Duration = Duration::from_secs(20);

    async fn serving(app: &TestApp, options: ServeOptions) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let router = app.router.clone();
        tokio::spawn(minhu_web::serve::serve(
            listener,
            router,
            options,
            std::future::pending(),
        ));
        address
    }

    /// Reads until the server closes the connection; what it said.
    async fn until_closed(stream: &mut TcpStream) -> String {
        let mut answer = Vec::new();
        let read = tokio::time::timeout(PATIENCE, async {
            let mut buf = [0u8; 4096];
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => answer.extend_from_slice(&buf[..n]),
                }
            }
        })
        .await;
        assert!(read.is_ok(), "the server kept the connection open");
        String::from_utf8_lossy(&answer).into_owned()
    }

    async fn exchange(address: SocketAddr, request: &str) -> String {
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        until_closed(&mut stream).await
    }

    const HEALTH: &str = "GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";

    #[tokio::test]
    async fn slow_headers_and_idle_connections_are_closed() {
        let app = TestApp::new().await;
        let address = serving(
            &app,
            ServeOptions {
                header_read_timeout: Duration::from_millis(300),
                idle_timeout: Duration::from_secs(600),
                ..ServeOptions::default()
            },
        )
        .await;
        let started = std::time::Instant::now();
        let answer = exchange(address, "GET /healthz HTTP/1.1\r\nhost: x\r\n").await;
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert!(!answer.contains("200 OK"), "{answer}");
        assert!(exchange(address, HEALTH).await.starts_with("HTTP/1.1 200"));

        let address = serving(
            &app,
            ServeOptions {
                header_read_timeout: Duration::from_secs(600),
                idle_timeout: Duration::from_millis(300),
                ..ServeOptions::default()
            },
        )
        .await;
        // Headers in time, then a body that never comes: nothing moves, so it closes.
        let started = std::time::Instant::now();
        let answer = exchange(
            address,
            "POST /api/v1/tickets HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
             content-length: 100\r\n\r\n{",
        )
        .await;
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert!(!answer.contains("201"), "{answer}");
        assert!(exchange(address, HEALTH).await.starts_with("HTTP/1.1 200"));
    }

    #[tokio::test]
    async fn an_address_holds_a_limited_number_of_connections() {
        let app = TestApp::new().await;
        let address = serving(
            &app,
            ServeOptions {
                max_connections_per_address: 2,
                ..ServeOptions::default()
            },
        )
        .await;
        let mut held = Vec::new();
        for _ in 0..2 {
            let mut stream = TcpStream::connect(address).await.unwrap();
            // A kept-alive exchange: the connection is surely accepted and counted.
            stream
                .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
                .await
                .unwrap();
            let mut buf = [0u8; 1024];
            let n = stream.read(&mut buf).await.unwrap();
            assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
            held.push(stream);
        }
        let refused = exchange(address, HEALTH).await;
        assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
        assert!(refused.contains("too_many_connections"), "{refused}");
        // One closed, a place is free again (once the server has seen the close).
        drop(held.pop());
        let freed = tokio::time::timeout(PATIENCE, async {
            loop {
                let answer = exchange(address, HEALTH).await;
                if answer.starts_with("HTTP/1.1 200") {
                    break;
                }
                tokio::task::yield_now().await;
            }
        })
        .await;
        assert!(
            freed.is_ok(),
            "the closed connection's place never came back"
        );
    }

    async fn reported_from(address: SocketAddr, forwarded: &str) -> String {
        let body = demand().to_string();
        let answer = exchange(
            address,
            &format!(
                "POST /api/v1/tickets HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\
                 content-type: application/json\r\nx-forwarded-for: {forwarded}\r\n\
                 content-length: {}\r\n\r\n{body}",
                body.len()
            ),
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
        answer
    }

    #[tokio::test]
    async fn x_forwarded_for_counts_only_from_a_trusted_proxy() {
        let app = TestApp::new().await;
        let direct = serving(&app, ServeOptions::default()).await;
        reported_from(direct, "203.0.113.7").await;
        let proxied = serving(
            &app,
            ServeOptions {
                trusted_proxies: TrustedProxies::parse("127.0.0.1/32").unwrap(),
                ..ServeOptions::default()
            },
        )
        .await;
        reported_from(proxied, "6.6.6.6, 203.0.113.7").await;
        let clients: Vec<Option<String>> = creations(&app)
            .await
            .into_iter()
            .map(|e| e.client)
            .collect();
        assert_eq!(
            clients,
            [Some("127.0.0.1".to_owned()), Some("203.0.113.7".to_owned())]
        );
    }
}
