//! A province as its officials and its public see it: pages name a ticket's units and
//! places by the ticket's own city, a city's officials work under their city's
//! configuration, a city's administrator and auditor see their city's accounts and
//! audit entries only (the province's see all, with the city), and Open311 answers per
//! jurisdiction - on SQLite and PostgreSQL where the store narrows.

use super::admin::form;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use minhu_core::access::Role;
use minhu_testkit::db::TestDb;
use minhu_testkit::web::TestApp;
use serde_json::{Value, json};

/// A demand for `city`, its category one of Open311's services.
fn demand(title: &str, city: &str) -> Value {
    json!({
        "channel": "web", "kind": "complaint", "title": title,
        "description": format!("{title}，请尽快处理"), "city": city,
        "category": "城乡建设/住房保障与房地产/物业服务",
        "citizen": {"phone": "13812345678", "name": "张三"}
    })
}

async fn created(app: &TestApp, body: Value) -> String {
    let (status, ticket) = app.post("/api/v1/tickets", &body.to_string(), None).await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    ticket["number"].as_str().unwrap().to_owned()
}

/// A page as `token` reads it, in English with `en`.
async fn page(app: &TestApp, token: &str, uri: &str, en: bool) -> (StatusCode, String) {
    let mut request = Request::get(uri);
    if en {
        request = request.header(header::COOKIE, "minhu_lang=en");
    }
    let request = request.body(Body::empty()).unwrap();
    let (status, body, _) = app.send_as(Some(token), request).await;
    let text = body
        .as_str()
        .map_or_else(|| body.to_string(), str::to_owned);
    (status, text)
}

#[tokio::test]
async fn pages_name_things_by_each_tickets_city() {
    let db = TestDb::sqlite().await;
    let app = TestApp::province_on(db.store.clone()).await;
    let held = created(&app, demand("B5县某小区电梯坏了", "B")).await;
    let (_, ticket) = app.get(&format!("/api/v1/tickets/{held}")).await;
    if ticket["status"] == "pending" {
        let dispatch = json!({"action": "dispatch", "unit": "dept-B-housing"});
        let (status, moved) = app.act(&held, dispatch).await;
        assert_eq!(status, StatusCode::OK, "{moved}");
    }
    let (_, ticket) = app.get(&format!("/api/v1/tickets/{held}")).await;
    let unit = ticket["unit"].as_str().expect("dispatched").to_owned();
    assert!(unit.starts_with("dept-B-") || unit == "desk-B", "{ticket}");

    // The province's supervisor: B's unit by its name, B's county with its city.
    let admin = app.admin.clone();
    let (status, shown) = page(&app, &admin, &format!("/tickets/{held}"), false).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert!(shown.contains("B市"), "{shown}");
    assert!(
        !shown.contains(&format!(">{unit}<")),
        "a unit shown by its id: {shown}"
    );
    let (_, listed) = page(&app, &admin, "/tickets", false).await;
    assert!(!listed.contains(&format!(">{unit}<")), "{listed}");
    assert!(
        listed.contains("B市 B5县"),
        "the place with its city: {listed}"
    );
    let (_, english) = page(&app, &admin, &format!("/tickets/{held}"), true).await;
    assert!(english.contains("City B "), "{english}");

    // B's dispatcher works under B's configuration: the header is B市's, a waiting
    // demand is offered B's units, never A's.
    let b_dispatcher = app
        .token("b-dispatcher", Role::Dispatcher, None, Some("B"))
        .await;
    let waiting = created(
        &app,
        json!({"channel": "web", "kind": "consultation", "title": "咨询居住证",
               "description": "请问怎么办理居住证", "city": "B"}),
    )
    .await;
    let (status, shown) = page(&app, &b_dispatcher, &format!("/tickets/{waiting}"), false).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert!(shown.contains("民呼 · B市 12345"), "B's header: {shown}");
    assert!(
        shown.contains("B市住房和城乡建设局"),
        "B's units offered: {shown}"
    );
    assert!(
        !shown.contains("天顶街道办事处"),
        "A's units offered to B: {shown}"
    );
    let (status, queue) = page(&app, &b_dispatcher, "/dispatch", true).await;
    assert_eq!(status, StatusCode::OK, "{queue}");
    assert!(queue.contains("minhu · City B 12345"), "{queue}");
    // A phone's width reads the same page: nothing but the words changes.
    let (status, _) = page(&app, &b_dispatcher, "/tickets", true).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_city_manages_and_audits_its_own_on_sqlite() {
    a_city_manages_and_audits_its_own(TestDb::sqlite().await).await;
}

#[tokio::test]
async fn a_city_manages_and_audits_its_own_on_postgres() {
    a_city_manages_and_audits_its_own(TestDb::postgres().await).await;
}

async fn a_city_manages_and_audits_its_own(db: TestDb) {
    let app = TestApp::province_on(db.store.clone()).await;
    let b_admin = app
        .token("b-admin", Role::Administrator, None, Some("B"))
        .await;
    let b_auditor = app.token("b-auditor", Role::Auditor, None, Some("B")).await;
    app.add_user("b-handler", Role::UnitHandler, Some("dept-B-housing"))
        .await;
    app.add_user("a-handler", Role::UnitHandler, Some("street-A3-01"))
        .await;
    app.add_user("prov-watch", Role::Supervisor, None).await;

    // B's administrator: B's accounts and configuration only.
    let (status, users) = page(&app, &b_admin, "/admin/users", false).await;
    assert_eq!(status, StatusCode::OK, "{users}");
    assert!(users.contains("b-handler"), "{users}");
    assert!(
        !users.contains("a-handler"),
        "A's account shown to B: {users}"
    );
    assert!(
        !users.contains("prov-watch"),
        "the province's shown to B: {users}"
    );
    let (_, overview) = page(&app, &b_admin, "/admin", false).await;
    assert!(overview.contains("<dd>B市</dd>"), "{overview}");
    let (_, editing) = page(&app, &b_admin, "/admin/users?edit=a-handler", false).await;
    assert!(!editing.contains("street-A3-01"), "{editing}");

    let save = |fields: Vec<(&'static str, &'static str)>| {
        let mut all = vec![
            ("login", "b.new"),
            ("name", "新人"),
            ("role", "dispatcher"),
            ("unit", ""),
            ("region", ""),
            ("password", ""),
        ];
        for (key, value) in fields {
            all.iter_mut().find(|(k, _)| *k == key).unwrap().1 = value;
        }
        app.send_as(Some(&b_admin), form("/admin/users", &all))
    };
    for (fields, what) in [
        (vec![], "an account over the whole province"),
        (vec![("region", "A3")], "an account of A"),
        (vec![("unit", "street-A3-01")], "an account of A's unit"),
        (
            vec![("login", "a-handler"), ("unit", "dept-B-housing")],
            "A's account taken over",
        ),
    ] {
        let (status, body, _) = save(fields).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {body}");
    }
    let (status, body, _) = save(vec![("region", "B")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let disable = form("/admin/users/a-handler/disabled", &[("disabled", "true")]);
    let (status, _, _) = app.send_as(Some(&b_admin), disable).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "A's account is none of B's");
    let a_handler = app.store.user("a-handler").await.unwrap().unwrap();
    assert!(!a_handler.disabled);

    // The province's administrator: every account with its city, and a city's alone.
    let (_, all) = app.get("/admin/users").await;
    let all = all.as_str().unwrap();
    for login in ["a-handler", "b-handler", "b.new", "prov-watch"] {
        assert!(all.contains(login), "{login}: {all}");
    }
    assert!(
        all.contains("<td>B市</td>") && all.contains("<td>全省</td>"),
        "{all}"
    );
    let (_, only_b) = app.get("/admin/users?city=B").await;
    let only_b = only_b.as_str().unwrap();
    assert!(
        only_b.contains("b-handler") && !only_b.contains("a-handler"),
        "{only_b}"
    );

    // B's auditor: what B's people did and what was done to B's accounts and tickets.
    let a = created(&app, demand("A3区某小区电梯坏了", "A")).await;
    let b = created(&app, demand("B5县某小区电梯坏了", "B")).await;
    let (status, log) = app
        .get_as(Some(&b_auditor), "/api/v1/audit?limit=1000")
        .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let targets: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["target"].as_str())
        .collect();
    assert!(targets.contains(&b.as_str()), "{log}");
    assert!(targets.contains(&"b.new"), "{log}");
    assert!(
        !targets.contains(&a.as_str()),
        "A's ticket in B's log: {log}"
    );
    let actors: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    assert!(actors.contains(&"token:b-admin"), "{log}");
    let auditor = app.token("auditor", Role::Auditor, None, None).await;
    let (_, province_log) = app.get_as(Some(&auditor), "/api/v1/audit?limit=1000").await;
    let everything = province_log.to_string();
    assert!(
        everything.contains(&a) && everything.contains(&b),
        "{province_log}"
    );
    // The province's auditor narrows the log to one city.
    let (status, only_b) = app
        .get_as(Some(&auditor), "/api/v1/audit?city=B&limit=1000")
        .await;
    assert_eq!(status, StatusCode::OK, "{only_b}");
    let only_b = only_b.to_string();
    assert!(only_b.contains(&b) && !only_b.contains(&a), "{only_b}");
    let (status, refused) = app.get_as(Some(&auditor), "/api/v1/audit?city=Z").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let (status, shown) = page(&app, &b_auditor, "/audit", false).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert!(shown.contains(&b) && !shown.contains(&a), "{shown}");
}

#[tokio::test]
async fn open311_answers_per_jurisdiction_on_sqlite() {
    open311_answers_per_jurisdiction(TestDb::sqlite().await).await;
}

#[tokio::test]
async fn open311_answers_per_jurisdiction_on_postgres() {
    open311_answers_per_jurisdiction(TestDb::postgres().await).await;
}

/// An Open311 read by anyone.
async fn get(app: &TestApp, uri: String) -> (StatusCode, Value) {
    let request = Request::get(uri).body(Body::empty()).unwrap();
    let (status, body, _) = app.send_as(None, request).await;
    (status, body)
}

async fn open311_answers_per_jurisdiction(db: TestDb) {
    let app = TestApp::province_on(db.store.clone()).await;
    let a = created(&app, demand("A3区某小区电梯坏了", "A")).await;
    let b = created(&app, demand("B5县某小区电梯坏了", "B")).await;
    let numbers = |body: &Value| -> Vec<String> {
        body.as_array()
            .unwrap()
            .iter()
            .map(|r| r["service_request_id"].as_str().unwrap().to_owned())
            .collect()
    };

    // Several cities: the jurisdiction is required, and each city offers its services.
    let (status, _) = get(&app, "/open311/v2/services.json".into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, services) = get(&app, "/open311/v2/services.json?jurisdiction_id=B".into()).await;
    assert_eq!(status, StatusCode::OK, "{services}");
    assert!(!services.as_array().unwrap().is_empty(), "{services}");
    let code = services[0]["service_code"].as_str().unwrap().to_owned();
    let (status, _) = get(
        &app,
        format!("/open311/v2/services/{code}.json?jurisdiction_id=B"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // Requests: a jurisdiction's own.
    for (city, own, other) in [("A", &a, &b), ("B", &b, &a)] {
        let (status, list) = get(
            &app,
            format!("/open311/v2/requests.json?jurisdiction_id={city}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{list}");
        let listed = numbers(&list);
        assert!(listed.contains(own), "{city}: {list}");
        assert!(
            !listed.contains(other),
            "{city} lists another city's: {list}"
        );
        let (status, _) = get(
            &app,
            format!("/open311/v2/requests/{own}.json?jurisdiction_id={city}"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = get(
            &app,
            format!("/open311/v2/requests/{other}.json?jurisdiction_id={city}"),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{city} reads {other}");
        let both =
            format!("/open311/v2/requests.json?jurisdiction_id={city}&service_request_id={a},{b}");
        let (_, list) = get(&app, both).await;
        assert_eq!(numbers(&list), vec![own.clone()], "{list}");
        let (status, _) = get(
            &app,
            format!("/open311/v2/requests/{own}.json?jurisdiction_id=Z"),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
}

#[tokio::test]
async fn a_citys_administrator_edits_its_own_configuration() {
    let db = TestDb::sqlite().await;
    let app = TestApp::province_on(db.store.clone()).await;
    let b_admin = app
        .token("b-admin", Role::Administrator, None, Some("B"))
        .await;
    let (status, units) = page(&app, &b_admin, "/admin/config?file=units.toml", false).await;
    assert_eq!(status, StatusCode::OK, "{units}");
    assert!(units.contains("dept-B-housing"), "B's units.toml: {units}");
    assert!(
        !units.contains("street-A3-01"),
        "A's units.toml shown to B: {units}"
    );
    // A file B takes from the province opens as the province's ...
    let (_, taxonomy) = page(&app, &b_admin, "/admin/config?file=taxonomy.csv", false).await;
    assert!(taxonomy.contains("物业服务"), "{taxonomy}");
    // ... and a save makes it B's own, checked as B loads it.
    let home = app.state.config_dir.clone().unwrap();
    let b_dir = minhu_config::sibling_dir(&home, &minhu_core::ids::CityId::new("B")).unwrap();
    let text = std::fs::read_to_string(b_dir.join("units.toml")).unwrap();
    let edited = text.replace("B市住房和城乡建设局", "B市住房和城乡建设局（新）");
    let fields = [
        ("file", "units.toml"),
        ("text", edited.as_str()),
        ("action", "save"),
    ];
    let (status, body, _) = app
        .send_as(Some(&b_admin), form("/admin/config", &fields))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let saved = std::fs::read_to_string(b_dir.join("units.toml")).unwrap();
    assert!(saved.contains("（新）"));
    let a_units = std::fs::read_to_string(home.join("units.toml")).unwrap();
    assert!(!a_units.contains("（新）"), "A's file untouched");
    // The province's administrator edits the home city's directory, as before.
    let (_, home_units) = app.get("/admin/config?file=units.toml").await;
    assert!(home_units.as_str().unwrap().contains("street-A3-01"));
}

#[tokio::test]
async fn hotspots_are_each_citys_and_named_by_it() {
    let db = TestDb::sqlite().await;
    let app = TestApp::province_on(db.store.clone()).await;
    for (title, city) in [
        ("B5县某小区电梯坏了", "B"),
        ("B5县某小区电梯又坏了", "B"),
        ("B5县某小区电梯坏了没人修", "B"),
        ("A3区天顶街道路灯不亮", "A"),
        ("A3区天顶街道路灯不亮了", "A"),
    ] {
        created(&app, demand(title, city)).await;
    }
    // The province's supervisor: both cities' hotspots, each place by its city's name.
    let (status, all) = app.get("/api/v1/analytics/hotspots").await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let places: Vec<&str> = all["hotspots"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["place_name"].as_str())
        .collect();
    assert!(places.contains(&"B5县"), "B's place unnamed: {all}");
    // B's supervisor: B's alone, with B's districts as the filter's.
    let b = app
        .token("b-supervisor", Role::Supervisor, None, Some("B"))
        .await;
    let (status, own) = app.get_as(Some(&b), "/api/v1/analytics/hotspots").await;
    assert_eq!(status, StatusCode::OK, "{own}");
    let hotspots = own["hotspots"].as_array().unwrap();
    assert!(!hotspots.is_empty(), "{own}");
    assert!(hotspots.iter().all(|h| h["place_name"] == "B5县"), "{own}");
    let (status, narrowed) = app
        .get_as(Some(&b), "/api/v1/analytics/hotspots?region=B5")
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "B's district as a filter: {narrowed}"
    );
    let (status, _) = app.get("/api/v1/analytics/hotspots?region=B5").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the province narrows to B's district"
    );
}
