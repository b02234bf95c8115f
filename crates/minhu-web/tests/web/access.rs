//! The authorization matrix: every route x every role x a ticket in scope and one out of
//! scope, generated from the routes as `minhu_web::routes()` declares them (each with its
//! rule), so a new route is checked here as soon as it is declared. Then sign-in, sessions,
//! CSRF and lockout.

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use minhu_core::access::{Permission, Role, command_permission};
use minhu_core::workflow::Command;
use minhu_testkit::web::{PNG, TestApp, sensor_request};
use minhu_web::middleware::auth::Rule;
use minhu_web::routes::RouteRule;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::LazyLock;

/// The action the matrix sends to the actions route: it changes no unit or region,
/// so the tickets stay where the matrix expects them.
fn sample_action() -> Value {
    json!({"action": "urge", "note": "请加快办理"})
}

fn demand(title: &str, address: &str, category: &str) -> String {
    json!({
        "channel": "web", "kind": "complaint", "title": title,
        "description": format!("{title}，请尽快处理"), "address": address,
        "category": category, "citizen": {"phone": "13812345678", "name": "张三"}
    })
    .to_string()
}

/// What sample requests need besides a ticket number: an attachment's hash, an Open311
/// API key and the token of an Open311 request.
#[derive(Default)]
pub(super) struct Fixtures {
    pub(super) sha256: String,
    pub(super) open311_key: String,
    pub(super) open311_token: String,
}

/// A request a caller would plausibly send to `method path`.
pub(super) fn sample(method: &Method, pattern: &str, number: &str, f: &Fixtures) -> Request<Body> {
    let path: String = pattern
        .split('/')
        .map(|segment| match segment {
            "{number}" => number.to_owned(),
            // Knowledge-base articles: the matrix deletes (and re-creates with POST) one
            // article and reads and replaces another that stays.
            "{id}" if pattern.starts_with("/api/v1/kb/") && *method == Method::DELETE => {
                KB_DELETED.to_owned()
            }
            "{id}" if pattern.starts_with("/api/v1/kb/") => KB_KEPT.to_owned(),
            "{sha256}" => f.sha256.clone(),
            "{service_code}" => "property.json".to_owned(),
            "{id}" => format!("{number}.json"),
            "{token}" => format!("{}.json", f.open311_token),
            "{file}" => "minhu.css".to_owned(),
            "{lang}" => "en".to_owned(),
            // The administrators' matrix disables and enables an account that exists.
            "{login}" => ACCOUNT.to_owned(),
            s if s.starts_with('{') => "x".to_owned(),
            s => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/");
    if *method == Method::POST && pattern == "/api/v1/sensors/events" {
        // A city system's alarm, signed at the test clock's moment.
        return sensor_request(&SENSOR_EVENT.to_string(), CLOCK_S);
    }
    let builder = Request::builder().method(method.clone()).uri(&path);
    let (content_type, body): (&str, Body) = match (method.as_str(), pattern) {
        ("POST", "/api/v1/tickets") => (
            "application/json",
            demand(
                "电梯坏了",
                "A3区天顶街道尖山社区",
                "城乡建设/住房保障与房地产/物业服务",
            )
            .into(),
        ),
        ("POST", "/api/v1/kb/articles") => ("application/json", kb_article(KB_DELETED).into()),
        ("PUT", "/api/v1/kb/articles/{id}") => ("application/json", kb_article(KB_KEPT).into()),
        ("POST", p) if p.ends_with("/actions") => {
            ("application/json", sample_action().to_string().into())
        }
        ("POST", p) if p.ends_with("/attachments") => ("application/octet-stream", PNG.into()),
        ("POST", "/api/v1/follow/code") => (
            "application/json",
            json!({"number": number, "phone": "13800000000"})
                .to_string()
                .into(),
        ),
        ("POST", "/api/v1/follow/session") => (
            "application/json",
            json!({"number": number, "code": "000000"})
                .to_string()
                .into(),
        ),
        ("POST", p) if p.starts_with("/open311/") => (
            "application/x-www-form-urlencoded",
            open311_form(&f.open311_key).into(),
        ),
        ("POST", "/login") => (
            "application/x-www-form-urlencoded",
            "login=nobody&password=wrong-password".into(),
        ),
        ("GET", _) | ("HEAD", _) => ("application/json", Body::empty()),
        _ => ("application/json", "{}".into()),
    };
    builder
        .header(header::CONTENT_TYPE, content_type)
        .body(body)
        .unwrap()
}

/// `TestApp`'s clock (2026-11-22T02:00:00Z) in Unix seconds.
const CLOCK_S: i64 = 1_795_312_800;

static SENSOR_EVENT: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "system": "manhole-platform", "device": "MC-0001", "kind": "manhole_cover",
        "observed_at": "2026-11-22T01:59:00Z", "location": {"lat": 28.19, "lon": 112.94},
        "reading": {"value": 35, "unit": "°", "threshold": 15}
    })
});

pub(super) const KB_KEPT: &str = "kb-matrix";
const KB_DELETED: &str = "kb-matrix-deleted";

pub(super) fn kb_article(id: &str) -> String {
    json!({"id": id, "title": "公积金提取", "body": "带身份证到公积金中心办理。"}).to_string()
}

pub(super) fn open311_form(key: &str) -> String {
    serde_urlencoded::to_string([
        ("api_key", key),
        ("service_code", "property"),
        // Coordinates only: the ticket is placed in no region and stays with the
        // dispatchers, out of every scoped list the tests count.
        ("lat", "28.2"),
        ("long", "112.9"),
        ("description", "电梯坏了"),
    ])
    .unwrap()
}

/// Every path the web crate's source registers with `.route("...")`.
/// Every route the application declares, with its rule.
pub(super) static ROUTES: LazyLock<Vec<RouteRule>> =
    LazyLock::new(|| minhu_web::routes().table().routes().to_vec());

const METHODS: &[Method] = &[
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

struct World {
    app: TestApp,
    inside: String,
    outside: String,
    unit: String,
    fixtures: Fixtures,
}

/// Two tickets in different districts and an attachment.
/// The account `/admin/users/{login}/...` routes act on.
const ACCOUNT: &str = "matrix-account";

async fn world() -> World {
    let app = TestApp::new().await;
    app.add_user(ACCOUNT, Role::HotlineAgent, None).await;
    let (status, inside) = app
        .post(
            "/api/v1/tickets",
            &demand(
                "电梯坏了",
                "A3区天顶街道尖山社区",
                "城乡建设/住房保障与房地产/物业服务",
            ),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{inside}");
    let (status, outside) = app
        .post(
            "/api/v1/tickets",
            &demand("拖欠工资", "A1区马坡岭街道", "劳动和社会保障"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{outside}");
    let unit = inside["unit"]
        .as_str()
        .expect("routed to a unit")
        .to_owned();
    assert_ne!(outside["unit"], inside["unit"]);
    let number = inside["number"].as_str().unwrap().to_owned();
    let (status, with_file, _) = app
        .send(sample(
            &Method::POST,
            "/api/v1/tickets/{number}/attachments",
            &number,
            &Fixtures::default(),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{with_file}");
    let open311_key = app
        .state
        .engine
        .accounts()
        .issue_open311_key("matrix")
        .await
        .unwrap();
    let post = Request::post("/open311/v2/requests.json")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(open311_form(&open311_key)))
        .unwrap();
    let (status, posted, _) = app.send_as(None, post).await;
    assert_eq!(status, StatusCode::CREATED, "{posted}");
    let (status, article) = app
        .post("/api/v1/kb/articles", &kb_article(KB_KEPT), None)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{article}");
    World {
        fixtures: Fixtures {
            sha256: with_file["attachments"][0]["sha256"]
                .as_str()
                .unwrap()
                .to_owned(),
            open311_key,
            open311_token: posted[0]["token"].as_str().unwrap().to_owned(),
        },
        inside: number,
        outside: outside["number"].as_str().unwrap().to_owned(),
        unit,
        app,
    }
}

/// What `permissions` may expect from `rule` on a ticket in or out of scope.
fn expectation(
    rule: Rule,
    permissions: &[Permission],
    in_scope: bool,
    about_ticket: bool,
) -> Expect {
    let out_of_sight = about_ticket && !in_scope;
    match rule {
        // An adapter checks its platform's signature itself (401 bad_signature).
        Rule::Public | Rule::Open | Rule::Adapter(_) => Expect::Through,
        Rule::Permission(p) if !permissions.contains(&p) => Expect::Status(StatusCode::FORBIDDEN),
        // The test's requests come from no socket, so never from the server's host.
        Rule::Metrics if !permissions.contains(&Permission::ViewMetrics) => {
            Expect::Status(StatusCode::FORBIDDEN)
        }
        Rule::Metrics => Expect::Through,
        Rule::Official => Expect::Through,
        // Officials do not follow tickets as citizens do.
        Rule::Citizen => Expect::Status(StatusCode::FORBIDDEN),
        Rule::Permission(_) | Rule::Action if out_of_sight => Expect::Status(StatusCode::NOT_FOUND),
        Rule::Action => {
            let command: Command = serde_json::from_value(sample_action()).unwrap();
            if permissions.contains(&command_permission(&command)) {
                Expect::Through
            } else {
                Expect::Status(StatusCode::FORBIDDEN)
            }
        }
        Rule::Permission(_) => Expect::Through,
    }
}

/// The guard let the request through and the handler did not fail. (A handler may
/// still say 401 for its own reasons: a wrong password on the login form.)
pub(super) fn passed(status: StatusCode, body: &Value, headers: &HeaderMap) -> bool {
    // A wrong one-time code is the handler's 401, about the field `code`.
    let refused_by_guard = body["error"]["code"] == "unauthenticated"
        && body["error"]["field"] != "code"
        || headers
            .get(header::LOCATION)
            .is_some_and(|to| to.to_str().unwrap().starts_with("/login?next="));
    !refused_by_guard
        && ![StatusCode::FORBIDDEN, StatusCode::NOT_FOUND].contains(&status)
        && !status.is_server_error()
}

#[derive(Debug, PartialEq)]
enum Expect {
    /// Past the guard: anything but 401, 403, 404 or a server error.
    Through,
    Status(StatusCode),
}

#[tokio::test]
async fn every_route_every_role_in_and_out_of_scope() {
    let w = world().await;
    let mut checked = 0;
    // Every role limited to the unit holding one ticket and not the other, then to the
    // district of one and not the other.
    let scopes = [(Some(w.unit.as_str()), None), (None, Some("A3"))];
    for (caller, (role, (unit, region))) in Role::ALL
        .iter()
        .flat_map(|role| scopes.iter().map(move |scope| (role, *scope)))
        .enumerate()
    {
        // Each caller from its own address: the open routes' per-address limit is
        // not what this checks.
        let address = format!("10.20.{caller}.1");
        let token = w
            .app
            .token(&format!("matrix-{role}-{region:?}"), *role, unit, region)
            .await;
        for route in ROUTES.iter() {
            let about_ticket = route.path.contains("{number}");
            for (number, in_scope) in [(&w.inside, true), (&w.outside, false)] {
                if !about_ticket && !in_scope {
                    continue;
                }
                let request = sample(&route.method, &route.path, number, &w.fixtures);
                let (status, body, headers) =
                    w.app.send_from(&address, Some(&token), request).await;
                // Creating is open to anonymous citizens, not to a signed-in caller
                // without ticket.create.
                let creates = route.method == Method::POST
                    && matches!(route.path.as_str(), "/api/v1/tickets" | "/api/v1/reports");
                let expected =
                    match expectation(route.rule, role.permissions(), in_scope, about_ticket) {
                        Expect::Through
                            if creates
                                && !role.permissions().contains(&Permission::CreateTickets) =>
                        {
                            Expect::Status(StatusCode::FORBIDDEN)
                        }
                        expected => expected,
                    };
                let what = format!(
                    "{role} of {unit:?}/{region:?} {} {} ({}) -> {status} {body}",
                    route.method,
                    route.path,
                    if in_scope { "in scope" } else { "out of scope" }
                );
                match expected {
                    Expect::Status(code) => assert_eq!(status, code, "{what}"),
                    Expect::Through => assert!(passed(status, &body, &headers), "{what}"),
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 2 * ROUTES.len() * Role::ALL.len());
}

#[tokio::test]
async fn anonymous_callers_reach_only_public_and_open_routes() {
    let w = world().await;
    for route in ROUTES.iter() {
        let request = sample(&route.method, &route.path, &w.inside, &w.fixtures);
        let (status, body, headers) = w.app.send_as(None, request).await;
        let what = format!(
            "anonymous {} {} -> {status} {body}",
            route.method, route.path
        );
        match route.rule {
            Rule::Public | Rule::Open | Rule::Adapter(_) => {
                assert!(passed(status, &body, &headers), "{what}")
            }
            // Scrapers of /metrics are told by status, not sent to a login form.
            Rule::Metrics => assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}"),
            _ if route.path.starts_with("/api/") => {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}");
                assert_eq!(body["error"]["code"], "unauthenticated", "{what}");
            }
            _ => {
                assert_eq!(status, StatusCode::SEE_OTHER, "{what}");
                let to = headers[header::LOCATION].to_str().unwrap();
                assert!(to.starts_with("/login?next="), "{what}: {to}");
            }
        }
    }
    // The contract: the list is closed, intake is open.
    let (status, _) = w.app.get_as(None, "/api/v1/tickets").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = w.app.get_as(Some("mh_forged"), "/api/v1/tickets").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn every_declared_route_is_served_and_nothing_else_at_its_path() {
    let w = world().await;
    let routes = minhu_web::routes();
    let table = routes.table();
    let paths: BTreeSet<&str> = ROUTES.iter().map(|r| r.path.as_str()).collect();
    assert!(paths.contains("/api/v1/tickets"), "{paths:?}");
    for path in paths {
        for method in METHODS {
            let request = sample(method, path, &w.inside, &w.fixtures);
            let (status, body, headers) = w.app.send(request).await;
            let what = format!("{method} {path} -> {status} {body}");
            assert_ne!(body["error"]["code"], "no_access_rule", "{what}");
            if table.rule_of(method, path).is_some() {
                assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{what}");
            } else {
                // A method the path was not declared with is not served, and the
                // answer lists the methods it was declared with.
                assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{what}");
                let allow = headers[header::ALLOW].to_str().unwrap();
                assert_eq!(allow, table.methods_of(path).join(", "), "{what}");
            }
        }
    }
}

#[tokio::test]
async fn lists_show_only_the_scope() {
    let w = world().await;
    let unit = w
        .app
        .token("unit", Role::UnitHandler, Some(&w.unit), None)
        .await;
    let (_, list) = w.app.get_as(Some(&unit), "/api/v1/tickets").await;
    let numbers: Vec<&str> = list["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, [w.inside.as_str()]);
    let district = w
        .app
        .token("district", Role::Supervisor, None, Some("A1"))
        .await;
    let (_, list) = w.app.get_as(Some(&district), "/api/v1/tickets").await;
    assert_eq!(list["tickets"][0]["number"], w.outside.as_str());
    assert_eq!(list["tickets"].as_array().unwrap().len(), 1);
    let (status, _) = w
        .app
        .get_as(Some(&district), &format!("/api/v1/tickets/{}", w.inside))
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "out of scope reads as absent"
    );
    let (_, page) = w.app.get_as(Some(&unit), "/tickets").await;
    let html = page.as_str().unwrap();
    assert!(html.contains(&w.inside) && !html.contains(&w.outside));
}

#[tokio::test]
async fn each_command_needs_its_permission() {
    let w = world().await;
    let commands = [
        json!({"action": "accept"}),
        json!({"action": "dispatch", "unit": w.unit}),
        json!({"action": "urge", "note": "快"}),
        json!({"action": "reopen", "reason": "没修好"}),
        json!({"action": "answer_at_intake", "answer": "已答复"}),
        json!({"action": "redispatch", "unit": w.unit}),
        json!({"action": "reclassify", "tier": "15d"}),
    ];
    for role in Role::ALL {
        let token = w.app.token(&format!("cmd-{role}"), *role, None, None).await;
        for body in &commands {
            let command: Command = serde_json::from_value(body.clone()).unwrap();
            let (status, answer) = w.app.act_as(Some(&token), &w.inside, body.clone()).await;
            let allowed = role.may(command_permission(&command));
            assert_eq!(
                status == StatusCode::FORBIDDEN,
                !allowed,
                "{role} {body} -> {status} {answer}"
            );
        }
    }
    // A citizen's own channel stays open; a phone intake needs an official.
    let phone = demand("电话受理", "A3区", "城乡建设").replace("\"web\"", "\"phone\"");
    let (status, _) = w.app.post_as(None, "/api/v1/tickets", &phone, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let unit = w
        .app
        .token("u", Role::UnitHandler, Some(&w.unit), None)
        .await;
    let (status, _) = w
        .app
        .post_as(Some(&unit), "/api/v1/tickets", &phone, None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn tokens_act_under_their_own_name() {
    let w = world().await;
    let token = w
        .app
        .token_with(
            "crm",
            &[Permission::ViewTickets, Permission::Supervise],
            None,
            None,
        )
        .await;
    let (status, _) = w.app.act_as(Some(&token), &w.inside, sample_action()).await;
    assert_eq!(status, StatusCode::OK);
    let (_, events) = w
        .app
        .get_as(
            Some(&token),
            &format!("/api/v1/tickets/{}/events", w.inside),
        )
        .await;
    let last = events.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["actor"], "token:crm");
    // Renewing a token replaces the old one.
    let renewed = w
        .app
        .token_with("crm", &[Permission::ViewTickets], None, None)
        .await;
    let (status, _) = w.app.get_as(Some(&token), "/api/v1/tickets").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = w.app.get_as(Some(&renewed), "/api/v1/tickets").await;
    assert_eq!(status, StatusCode::OK);
}

#[test]
fn the_readme_role_table_is_the_code_table() {
    let mut table = String::from("| role | permissions |\n| --- | --- |\n");
    for (role, permissions) in minhu_core::access::PERMISSIONS {
        let codes: Vec<String> = permissions.iter().map(|p| format!("`{p}`")).collect();
        table.push_str(&format!("| `{role}` | {} |\n", codes.join(", ")));
    }
    let readme = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"),
    )
    .unwrap();
    let written = readme
        .split("<!-- roles:begin -->\n")
        .nth(1)
        .and_then(|rest| rest.split("<!-- roles:end -->").next())
        .expect("README has the role table between its markers");
    assert_eq!(written, table, "update README.md's role table to:\n{table}");
}

/// Personal data a citizen wrote into a demand, each kind in a common writing.
const MOBILE: &str = "+86 139-7531-8642";
const LANDLINE: &str = "(0731)84261937";
const ID_CARD: &str = "430102199003074515";
const EMAIL: &str = "wangjg1975@163.com";
const BANK_CARD: &str = "6222 0212 3456 7890 128";

/// A demand by `name` whose text holds every kind of personal data above.
fn revealing(name: &str, kind: &str, confidential: bool) -> String {
    json!({
        "channel": "web", "kind": kind,
        "title": format!("{name}反映电梯坏了，电话{MOBILE}"),
        "description": format!(
            "我是{name}，手机{MOBILE}，家里电话{LANDLINE}，身份证{ID_CARD}，邮箱{EMAIL}，\
             工资卡{BANK_CARD}。小区电梯坏了一个月物业不修"
        ),
        "address": "A3区天顶街道尖山社区",
        "category": "城乡建设/住房保障与房地产/物业服务",
        "citizen": {
            "phone": "13975318642", "name": name, "email": EMAIL,
            "confidential": confidential
        }
    })
    .to_string()
}

/// What of the personal data `body` shows, if anything: seven digits in a row of one of
/// the numbers (whatever separators were put between them), the e-mail's name, or the
/// citizen's name beyond its first character.
fn leak(body: &str, name: &str) -> Option<String> {
    let joined: String = body
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '+' | '（' | '）'))
        .collect();
    for number in ["139-7531-8642", LANDLINE, ID_CARD, BANK_CARD] {
        let digits: String = number.chars().filter(char::is_ascii_digit).collect();
        for run in digits.as_bytes().windows(7) {
            let run = std::str::from_utf8(run).unwrap();
            if joined.contains(run) {
                return Some(format!("{run} of {number}"));
            }
        }
    }
    let given: String = name.chars().skip(1).collect();
    ["wangjg1975", given.as_str()]
        .into_iter()
        .find(|secret| body.contains(secret))
        .map(str::to_owned)
}

fn text_of(body: &Value) -> String {
    match body {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The privacy matrix: every route that can return ticket text, as every role that may
/// not see identities (in a unit's scope and the whole city's) and as anyone on the
/// internet, over a 举报, a confidential demand and an ordinary demand whose text holds
/// a mobile, a landline, an ID card, an e-mail and a bank card: nothing of them shows,
/// and searching for them finds nothing.
#[tokio::test]
async fn no_reader_sees_personal_data_they_may_not() {
    let app = TestApp::new().await;
    let mut tickets = Vec::new();
    for (name, kind, confidential) in [
        ("王建国", "report", false),
        ("赵志刚", "complaint", true),
        ("李秀英", "complaint", false),
    ] {
        let (status, ticket) = app
            .post(
                "/api/v1/tickets",
                &revealing(name, kind, confidential),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{ticket}");
        tickets.push((ticket["number"].as_str().unwrap().to_owned(), name));
    }
    let (_, held) = app.get(&format!("/api/v1/tickets/{}", tickets[2].0)).await;
    let unit = held["unit"].as_str().expect("routed to a unit").to_owned();
    // The public never learns that a 举报 or a confidential demand exists.
    for (number, _) in &tickets[..2] {
        let uri = format!("/open311/v2/requests/{number}.json");
        let (status, body) = app.get_as(None, &uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}: {body}");
        for uri in [
            "/open311/v2/requests.json",
            "/open311/v2/servicerequestupdates.json",
        ] {
            let (_, body) = app.get_as(None, uri).await;
            assert!(!text_of(&body).contains(number.as_str()), "{uri}: {body}");
        }
    }
    let (status, listed) = app.get_as(None, "/open311/v2/requests.json").await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert!(listed.to_string().contains(&tickets[2].0), "{listed}");
    let fixtures = Fixtures::default();
    let mut readers = Vec::new();
    for role in Role::ALL
        .iter()
        .filter(|r| !r.may(Permission::ViewIdentity))
    {
        readers.push(
            app.token(&format!("privacy-{role}-unit"), *role, Some(&unit), None)
                .await,
        );
        if !role.needs_unit() {
            readers.push(
                app.token(&format!("privacy-{role}-city"), *role, None, None)
                    .await,
            );
        }
    }
    let mut checked = 0;
    for token in readers.iter().map(Some).chain([None]) {
        for route in ROUTES.iter().filter(|r| r.method == Method::GET) {
            for (number, name) in &tickets {
                let request = sample(&route.method, &route.path, number, &fixtures);
                let (status, body, _) = app.send_as(token.map(String::as_str), request).await;
                if let Some(leaked) = leak(&text_of(&body), name) {
                    panic!(
                        "{} {} of {name}'s ticket ({}) shows {leaked}: {status} {body}",
                        route.method,
                        route.path,
                        if token.is_some() {
                            "official"
                        } else {
                            "anonymous"
                        },
                    );
                }
                checked += 1;
            }
        }
        // Searching for the data finds no ticket (the search box may repeat the words).
        for words in [
            "13975318642",
            "139-7531-8642",
            ID_CARD,
            "wangjg1975",
            "王建国",
        ] {
            for list in ["/api/v1/tickets", "/tickets"] {
                let uri = format!("{list}?q={}", urlencode(words));
                let (_, body) = app.get_as(token.map(String::as_str), &uri).await;
                let body = text_of(&body);
                for (number, _) in &tickets {
                    assert!(
                        !body.contains(number.as_str()),
                        "{uri} finds {number}: {body}"
                    );
                }
            }
        }
    }
    assert!(checked > 100, "{checked}");
}

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("q", text)]).unwrap()[2..].to_owned()
}
