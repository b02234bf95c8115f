//! The administrators' pages over HTTP: accounts made, changed and disabled with the
//! same rules as `minhu admin`, and the configuration editor, which checks an edit with
//! the server's own loader, previews routing under it, and keeps the old file on save.

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};

use minhu_store::AuditFilter;
use minhu_testkit::web::TestApp;
use serde_json::Value;

/// 天顶街道办事处, the street office of the demo city.
const UNIT: &str = "street-A3-01";

/// A form posted to `uri`, as a browser sends it.
pub(super) fn form(uri: &str, fields: &[(&str, &str)]) -> Request<Body> {
    let body = serde_urlencoded::to_string(fields).unwrap();
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap()
}

fn html(body: &Value) -> &str {
    body.as_str().expect("an HTML page")
}

/// Signs in and returns the session cookie, or the refusal's status.
async fn sign_in(app: &TestApp, login: &str, password: &str) -> Result<String, StatusCode> {
    let (status, _, headers) = app
        .send_as(
            None,
            form("/login", &[("login", login), ("password", password)]),
        )
        .await;
    if status != StatusCode::SEE_OTHER {
        return Err(status);
    }
    Ok(cookie(&headers))
}

fn cookie(headers: &HeaderMap) -> String {
    let set = headers[header::SET_COOKIE].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

async fn page_with(app: &TestApp, cookie: &str, uri: &str) -> StatusCode {
    let request = Request::get(uri)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap();
    app.send_as(None, request).await.0
}

async fn audit_log(app: &TestApp, filter: AuditFilter) -> Vec<minhu_store::AuditEntry> {
    let filter = AuditFilter {
        limit: 100,
        ..filter
    };
    app.store.audit_log(&filter).await.unwrap()
}

fn account<'a>(fields: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all = vec![
        ("login", "li.si"),
        ("name", "李四"),
        ("role", "dispatcher"),
        ("unit", ""),
        ("region", ""),
        ("password", ""),
    ];
    for (key, value) in fields {
        all.iter_mut().find(|(k, _)| k == key).unwrap().1 = value;
    }
    all
}

#[tokio::test]
async fn an_administrator_makes_changes_and_disables_accounts() {
    let app = TestApp::new().await;
    let save = |fields: Vec<(&str, &str)>| app.send(form("/admin/users", &fields));

    for (fields, problem) in [
        (account(&[("role", "mayor")]), "is not a role"),
        (
            account(&[("role", "unit_handler")]),
            "unit: a unit_handler works for one unit",
        ),
        (
            account(&[("unit", "no-such-unit")]),
            "is not a unit of units.toml",
        ),
        (account(&[("login", "李 四")]), "login:"),
        (
            account(&[("password", "short")]),
            "password: use at least 10 characters",
        ),
    ] {
        let (status, page, _) = save(fields).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert!(html(&page).contains(problem), "{problem} in {page}");
    }
    let (_, users) = app.get("/admin/users").await;
    assert!(!html(&users).contains("li.si"), "nothing was saved");

    let (status, page, _) = save(account(&[("password", "correct horse battery")])).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(html(&page).contains("已保存 li.si"));
    let session = sign_in(&app, "li.si", "correct horse battery")
        .await
        .unwrap();
    assert_eq!(page_with(&app, &session, "/dispatch").await, StatusCode::OK);

    // A new role ends the session; the password stays.
    let (status, _, _) = save(account(&[("role", "hotline_agent")])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        page_with(&app, &session, "/dispatch").await,
        StatusCode::SEE_OTHER
    );
    let session = sign_in(&app, "li.si", "correct horse battery")
        .await
        .unwrap();
    assert_eq!(page_with(&app, &session, "/console").await, StatusCode::OK);
    assert_eq!(
        page_with(&app, &session, "/dispatch").await,
        StatusCode::FORBIDDEN
    );
    let (status, _, _) = app
        .send_as(None, {
            let mut request = Request::get("/admin/users").body(Body::empty()).unwrap();
            request
                .headers_mut()
                .insert(header::COOKIE, session.parse().unwrap());
            request
        })
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "an agent manages no accounts"
    );

    // Without a password a new account gets one, shown once.
    let (status, page, _) = save(account(&[
        ("login", "wang.wu"),
        ("role", "unit_handler"),
        ("unit", UNIT),
    ]))
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let shown = html(&page)
        .split("初始密码（只显示这一次，请转交本人）： ")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("the first password is shown")
        .trim()
        .to_owned();
    assert_eq!(shown.chars().count(), 16);
    sign_in(&app, "wang.wu", &shown).await.unwrap();

    let (status, _, headers) = app
        .send(form("/admin/users/li.si/disabled", &[("disabled", "true")]))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/admin/users");
    assert_eq!(
        page_with(&app, &session, "/console").await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        sign_in(&app, "li.si", "correct horse battery").await,
        Err(StatusCode::UNAUTHORIZED)
    );
    let (_, users) = app.get("/admin/users").await;
    assert!(html(&users).contains("已停用"));
    app.send(form(
        "/admin/users/li.si/disabled",
        &[("disabled", "false")],
    ))
    .await;
    sign_in(&app, "li.si", "correct horse battery")
        .await
        .unwrap();
    let (status, _, _) = app
        .send(form(
            "/admin/users/nobody/disabled",
            &[("disabled", "true")],
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let trail: Vec<(String, String)> = audit_log(
        &app,
        AuditFilter {
            target: Some("li.si".into()),
            ..AuditFilter::default()
        },
    )
    .await
    .into_iter()
    .filter(|e| e.action.starts_with("user."))
    .map(|e| (e.actor, e.action))
    .collect();
    let actions: Vec<&str> = trail.iter().map(|(_, a)| a.as_str()).collect();
    assert_eq!(
        actions,
        ["user.saved", "user.saved", "user.disabled", "user.enabled"]
    );
    assert!(
        trail.iter().all(|(actor, _)| actor == "token:admin"),
        "{trail:?}"
    );
}

/// The place routing found, from a page's preview.
fn preview_place(page: &Value) -> String {
    html(page)
        .split("<dt>属地</dt><dd>")
        .nth(1)
        .and_then(|rest| rest.split("</dd>").next())
        .expect("a preview")
        .to_owned()
}

#[tokio::test]
async fn the_configuration_editor_checks_previews_and_keeps_the_old_file() {
    let app = TestApp::new().await;
    let dir = app.state.config_dir.clone().unwrap();
    let regions = std::fs::read_to_string(dir.join("regions.toml")).unwrap();

    let (status, page) = app.get("/admin/config?file=regions.toml").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html(&page).contains("尖山社区"));
    let (status, page) = app.get("/admin/config?file=notify.toml").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    // A page's refusal is a page, naming the field.
    assert!(html(&page).contains("file: "), "{page}");

    let edit = |text: &str, action: &str| {
        form(
            "/admin/config",
            &[
                ("file", "regions.toml"),
                ("text", text),
                ("action", action),
                ("title", "井盖缺失"),
                ("description", "路口井盖不见了"),
                ("address", "A3区天顶街道尖山社区"),
            ],
        )
    };
    let broken = regions.replacen("parent = \"A3-01\"", "parent = \"A3-99\"", 1);
    let (status, page, _) = app.send(edit(&broken, "save")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&page).contains("regions.toml:"), "{page}");
    assert!(html(&page).contains("A3-99"));
    assert_eq!(
        std::fs::read_to_string(dir.join("regions.toml")).unwrap(),
        regions,
        "a refused edit writes nothing"
    );

    let (_, page, _) = app.send(edit(&regions, "check")).await;
    assert!(preview_place(&page).contains("尖山社区"), "{page}");
    // Browsers send a textarea's lines with CRLF.
    let renamed = regions.replace("name = \"尖山社区\"", "name = \"尖峰社区\"");
    let (status, page, _) = app
        .send(edit(&renamed.replace('\n', "\r\n"), "check"))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let place = preview_place(&page);
    assert!(
        place.contains("天顶街道") && !place.contains("尖山社区"),
        "{place}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("regions.toml")).unwrap(),
        regions,
        "a check writes nothing"
    );

    let (status, page, _) = app.send(edit(&renamed, "save")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(
        std::fs::read_to_string(dir.join("regions.toml")).unwrap(),
        renamed
    );
    let kept: Vec<_> = std::fs::read_dir(dir.join(".history"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(kept.len(), 1);
    assert_eq!(std::fs::read_to_string(&kept[0]).unwrap(), regions);
    minhu_config::load_city(&dir).expect("the saved directory loads");
    let saved = audit_log(
        &app,
        AuditFilter {
            action: Some("config.saved".into()),
            ..AuditFilter::default()
        },
    )
    .await;
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].target.as_deref(), Some("regions.toml"));

    let (status, page, _) = app.send(edit(&renamed, "delete")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&page).contains("action: "), "{page}");
    let (status, page, _) = app
        .send(form(
            "/admin/config",
            &[("file", "regions.toml"), ("action", "check")],
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    assert!(html(&page).contains("missing field `text`"), "{page}");
}
