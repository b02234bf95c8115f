//! Officials' sessions: sign in, cookies, CSRF on writes, lockout, sign out, and the
//! audit trail of it all.

mod support;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use minhu_core::access::Role;
use minhu_store::AuditFilter;
use serde_json::json;
use support::TestApp;

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

#[tokio::test]
async fn five_failures_lock_the_account_and_everything_is_audited() {
    let app = TestApp::new().await;
    app.add_user("li", Role::HotlineAgent, None).await;
    for _ in 0..minhu_web::login::MAX_FAILED_LOGINS {
        let (status, _, headers) = app.send_as(None, login_request("li", "guess")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(headers.get(header::SET_COOKIE).is_none());
    }
    let (status, page, _) = app
        .send_as(None, login_request("li", "correct horse battery"))
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "locked, even with the right password"
    );
    assert!(page.as_str().unwrap().contains("锁定"));
    let (status, _, _) = app
        .send_as(None, login_request("nobody", "correct horse battery"))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let log = app
        .state
        .engine
        .store
        .audit_log(&AuditFilter {
            target: Some("li".into()),
            limit: 100,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "login_failed").count(), 5);
    assert!(actions.contains(&"account_locked"));
    assert!(actions.contains(&"login_refused"));
    assert!(
        log.iter().all(|e| !e.detail.contains("guess")),
        "passwords never reach the log"
    );
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
