//! Officials' sessions: sign in, cookies, CSRF on writes, lockout, sign out, and the
//! audit trail of it all.

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use minhu_core::access::Role;
use minhu_store::AuditFilter;
use minhu_testkit::web::TestApp;
use serde_json::json;

fn login_request(login: &str, password: &str) -> Request<Body> {
    Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "login={login}&password={}&next=%2Ftickets%2F1",
            password.replace(' ', "+")
        )))
        .unwrap()
}

fn session_of(headers: &HeaderMap) -> String {
    let cookie = headers[header::SET_COOKIE].to_str().unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    cookie.split(';').next().unwrap().trim().to_owned()
}

#[tokio::test]
async fn sign_in_act_with_csrf_and_sign_out() {
    let app = TestApp::new().await;
    app.add_user("zhang", Role::Dispatcher, None).await;
    let (status, page, _) = app
        .send_as(None, Request::get("/login").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.as_str().unwrap().contains("name=\"password\""));

    let (status, _, headers) = app
        .send_as(None, login_request("zhang", "correct horse battery"))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/tickets/1");
    let cookie = session_of(&headers);

    let page = |uri: &str| {
        Request::get(uri)
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap()
    };
    let (status, html, _) = app.send_as(None, page("/tickets")).await;
    assert_eq!(status, StatusCode::OK);
    let html = html.as_str().unwrap().to_owned();
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page carries the CSRF token for its forms")
        .to_owned();

    let (_, created) = app
        .post(
            "/api/v1/tickets",
            &json!({"channel": "web", "kind": "complaint", "title": "路灯不亮",
                    "description": "路灯坏了", "address": "A3区天顶街道"})
            .to_string(),
            None,
        )
        .await;
    let number = created["number"].as_str().unwrap();
    let act = |csrf: Option<&str>| {
        let mut request = Request::post(format!("/api/v1/tickets/{number}/actions"))
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        request
            .body(Body::from(
                json!({"action": "reclassify", "tier": "15d"}).to_string(),
            ))
            .unwrap()
    };
    let (status, answer, _) = app.send_as(None, act(None)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(answer["error"]["code"], "csrf");
    let (status, _, _) = app.send_as(None, act(Some("forged"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, answer, _) = app.send_as(None, act(Some(&csrf))).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (_, events) = app.get(&format!("/api/v1/tickets/{number}/events")).await;
    assert_eq!(
        events.as_array().unwrap().last().unwrap()["actor"],
        "user:zhang"
    );

    let logout = Request::post("/logout")
        .header(header::COOKIE, &cookie)
        .body(Body::empty())
        .unwrap();
    let (status, _, headers) = app.send_as(None, logout).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let (status, _, headers) = app.send_as(None, page("/tickets")).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "the session has ended");
    assert!(
        headers[header::LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );
}

async fn audit_of(app: &TestApp, login: &str) -> Vec<minhu_store::AuditEntry> {
    app.store
        .audit_log(&AuditFilter {
            target: Some(login.into()),
            limit: 1000,
            ..AuditFilter::default()
        })
        .await
        .unwrap()
}

/// A refusal's page with the login it echoes blanked out, to compare refusals.
fn refusal(page: &serde_json::Value, login: &str) -> String {
    page.as_str()
        .unwrap()
        .replace(&format!("value=\"{login}\""), "value=\"\"")
}

#[tokio::test]
async fn five_failures_lock_the_pair_not_the_official_and_everything_is_audited() {
    let app = TestApp::new().await;
    app.add_user("li", Role::HotlineAgent, None).await;
    let mut wrong = None;
    for _ in 0..minhu_web::pages::login::MAX_FAILED_LOGINS {
        let (status, page, headers) = app
            .send_from("10.0.0.1", None, login_request("li", "guess"))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(headers.get(header::SET_COOKIE).is_none());
        wrong = Some(refusal(&page, "li"));
    }
    let (status, page, _) = app
        .send_from(
            "10.0.0.1",
            None,
            login_request("li", "correct horse battery"),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "locked at this address, even with the right password"
    );
    let locked = refusal(&page, "li");
    let (status, page, _) = app
        .send_from(
            "10.0.0.3",
            None,
            login_request("nobody", "correct horse battery"),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let unknown = refusal(&page, "nobody");
    // A wrong password, a locked pair and a login without an account read alike.
    assert_eq!(wrong.as_deref(), Some(locked.as_str()));
    assert_eq!(locked, unknown);
    assert!(locked.contains(minhu_web::pages::login::REFUSED.zh));

    // Five requests from one address do not lock the official out.
    let (status, _, headers) = app
        .send_from(
            "10.0.0.2",
            None,
            login_request("li", "correct horse battery"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    session_of(&headers);

    let log = audit_of(&app, "li").await;
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "login_failed").count(), 5);
    assert!(actions.contains(&"account_locked"));
    assert!(actions.contains(&"login_refused"));
    assert!(actions.contains(&"login"));
    assert!(
        log.iter().all(|e| !e.detail.contains("guess")),
        "passwords never reach the log"
    );
    // The lock ends with its quarter of an hour.
    app.clock.advance(jiff::SignedDuration::from_mins(16));
    let (status, _, _) = app
        .send_from(
            "10.0.0.1",
            None,
            login_request("li", "correct horse battery"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_unknown_login_is_locked_like_a_known_one() {
    let app = TestApp::new().await;
    app.add_user("li", Role::HotlineAgent, None).await;
    let mut pages = Vec::new();
    // Each from its own address: the form's rate limit is per address.
    for (login, address) in [("li", "10.0.0.1"), ("nobody", "10.0.0.2")] {
        for _ in 0..=minhu_web::pages::login::MAX_FAILED_LOGINS {
            let (status, page, _) = app
                .send_from(address, None, login_request(login, "guess"))
                .await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
            pages.push(refusal(&page, login));
        }
    }
    assert!(pages.windows(2).all(|w| w[0] == w[1]), "one answer to all");
    let locks = |login: &'static str| {
        let app = &app;
        async move {
            audit_of(app, login)
                .await
                .iter()
                .filter(|e| e.action == "account_locked")
                .count()
        }
    };
    assert_eq!(locks("li").await, 1);
    assert_eq!(locks("nobody").await, 1, "counted whether or not it exists");
}

#[tokio::test]
async fn twenty_parallel_wrong_passwords_from_twenty_addresses_reach_the_ceiling() {
    let app = TestApp::new().await;
    app.add_user("zhao", Role::Dispatcher, None).await;
    let tries = (0..minhu_web::pages::login::LOGIN_CEILING).map(|i| {
        let address = format!("10.9.0.{i}");
        let app = &app;
        async move {
            app.send_from(&address, None, login_request("zhao", "guess"))
                .await
                .0
        }
    });
    let statuses = futures_util::future::join_all(tries).await;
    assert!(statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED));
    // Delayed from everywhere: the right password from a fresh address too.
    let (status, _, headers) = app
        .send_from(
            "10.9.1.1",
            None,
            login_request("zhao", "correct horse battery"),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.get(header::SET_COOKIE).is_none());
    let log = audit_of(&app, "zhao").await;
    assert_eq!(
        log.iter().filter(|e| e.action == "login_failed").count(),
        20
    );
    assert_eq!(
        log.iter().filter(|e| e.action == "login_delayed").count(),
        1
    );
    // The accounts page shows the delay.
    let user = app.store.user("zhao").await.unwrap().unwrap();
    assert!(user.locked_until.unwrap() > app.state.engine.now());

    // After the delay the official signs in and is told what happened.
    app.clock.advance(jiff::SignedDuration::from_secs(61));
    let (status, page, headers) = app
        .send_from(
            "10.9.1.1",
            None,
            login_request("zhao", "correct horse battery"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    session_of(&headers);
    let page = page.as_str().unwrap();
    assert!(page.contains("20 次登录失败"), "{page}");
    assert!(page.contains("href=\"/tickets/1\""), "{page}");
    // Told once.
    let (status, _, _) = app
        .send_from(
            "10.9.1.1",
            None,
            login_request("zhao", "correct horse battery"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_disable_is_not_undone_by_a_sign_in() {
    let app = TestApp::new().await;
    app.add_user("qian", Role::Dispatcher, None).await;
    let admin = minhu_engine::accounts::Admin {
        actor: "user:admin".into(),
        client: None,
    };
    app.state
        .engine
        .accounts()
        .set_disabled("qian", true, &admin)
        .await
        .unwrap();
    let (status, _, _) = app
        .send_from(
            "10.0.0.1",
            None,
            login_request("qian", "correct horse battery"),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(app.store.user("qian").await.unwrap().unwrap().disabled);
}

#[tokio::test]
async fn a_sign_in_from_another_site_is_refused() {
    let app = TestApp::new().await;
    app.add_user("wang", Role::Dispatcher, None).await;
    let mut request = login_request("wang", "correct horse battery");
    request
        .headers_mut()
        .insert(header::HOST, "minhu.example".parse().unwrap());
    request
        .headers_mut()
        .insert(header::ORIGIN, "https://evil.example".parse().unwrap());
    let (status, _, headers) = app.send_as(None, request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(headers.get(header::SET_COOKIE).is_none());
    // Fetch Metadata decides when a browser sends it: Chromium's own-site form under
    // no-referrer says `Origin: null`, another site's says cross-site.
    for (site, expected) in [
        ("cross-site", StatusCode::FORBIDDEN),
        ("same-origin", StatusCode::SEE_OTHER),
    ] {
        let mut request = login_request("wang", "correct horse battery");
        let headers = request.headers_mut();
        headers.insert(header::ORIGIN, "null".parse().unwrap());
        headers.insert("sec-fetch-site", site.parse().unwrap());
        let (status, _, _) = app.send_as(None, request).await;
        assert_eq!(status, expected, "Sec-Fetch-Site: {site}");
    }
    let mut next = login_request("wang", "correct horse battery");
    *next.body_mut() =
        Body::from("login=wang&password=correct+horse+battery&next=https://evil.example");
    let (status, _, headers) = app.send_as(None, next).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/tickets", "no open redirect");
}
