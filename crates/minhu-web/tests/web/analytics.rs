//! The analytics API over HTTP: figures from the rollups the engine keeps, within the
//! caller's scope, as JSON and CSV.

use axum::http::StatusCode;
use minhu_core::Clock;
use minhu_core::access::Role;
use minhu_testkit::web::{TestApp, demand};
use serde_json::{Value, json};

/// Three tickets to one unit: all accepted and replied; two called back (one satisfied
/// and solved, one unsatisfied and not solved).
async fn handled_month(app: &TestApp) -> String {
    let mut unit = String::new();
    for (i, verdict) in [
        Some(("satisfied", true)),
        Some(("unsatisfied", false)),
        None,
    ]
    .into_iter()
    .enumerate()
    {
        let (status, ticket) = app
            .post("/api/v1/tickets", &demand(&format!("电梯坏了{i}")), None)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{ticket}");
        let number = ticket["number"].as_str().unwrap().to_owned();
        unit = ticket["unit"].as_str().unwrap().to_owned();
        for action in [
            json!({"action": "accept"}),
            json!({"action": "resolve", "reply": "已修好"}),
        ] {
            let (status, body) = app.act(&number, action).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        if let Some((satisfaction, solved)) = verdict {
            let rate = json!({"action": "rate", "solved": solved, "satisfaction": satisfaction});
            let (status, body) = app.act(&number, rate).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    }
    unit
}

fn line<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["id"] == id)
        .unwrap_or_else(|| panic!("no line {id} in {report}"))
}

#[tokio::test]
async fn rates_come_from_the_handled_tickets_and_respect_scope() {
    let app = TestApp::new().await;
    let unit = handled_month(&app).await;
    let (status, report) = app.get("/api/v1/analytics/rates?month=2026-11").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let mine = line(&report, &unit);
    assert_eq!(mine["counts"]["assigned"], 3);
    assert_eq!(mine["counts"]["resolved"], 3);
    assert_eq!(mine["counts"]["rated"], 2);
    assert_eq!(mine["counts"]["answered"], 3);
    // Percentages, as every page and export shows them.
    assert_eq!(mine["rates"]["satisfaction"], 50.0);
    assert_eq!(mine["rates"]["resolution"], 50.0);
    assert_eq!(mine["rates"]["response"], 100.0);
    // A unit receives nothing (the intake desk does): no answered share of its own.
    assert_eq!(mine["rates"]["answered"], Value::Null);
    // 0.1 x 100 + 0.45 x 50 + 0.45 x 50 (the demo's Beijing weights)
    assert!((mine["rates"]["score"].as_f64().unwrap() - 55.0).abs() < 1e-9);
    // Fewer than rank_min_assigned (10) assignments: listed, not ranked.
    assert_eq!(mine["rank"], Value::Null);
    assert_eq!(report["total"]["counts"]["received"], 3);
    assert_eq!(report["total"]["rates"]["answered"], 100.0);
    // The intake desk received them all: shown apart, never ranked.
    assert!(
        report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["id"] != "")
    );
    assert_eq!(report["apart"][0]["apart"], "intake");
    assert_eq!(report["apart"][0]["counts"]["received"], 3);
    assert_eq!(report["apart"][0]["rank"], Value::Null);

    let (status, by_region) = app
        .get("/api/v1/analytics/rates?month=2026-11&by=region")
        .await;
    assert_eq!(status, StatusCode::OK, "{by_region}");
    let district = line(&by_region, "A3");
    assert_eq!(district["counts"]["received"], 3);
    // Per 10,000 of the district's population in regions.toml.
    assert!(district["per_10k"].as_f64().unwrap() > 0.0, "{district}");
    assert_eq!(by_region["unplaced"], 0.0);

    // 天顶街道 (A3-01) by street: its residents, and no street is unplaced.
    let (status, by_street) = app
        .get("/api/v1/analytics/rates?month=2026-11&by=street")
        .await;
    assert_eq!(status, StatusCode::OK, "{by_street}");
    assert_eq!(by_street["by"], "street");
    let street = line(&by_street, "A3-01");
    assert_eq!(street["counts"]["received"], 3);
    assert!(street["per_10k"].as_f64().unwrap() > district["per_10k"].as_f64().unwrap());
    assert_eq!(by_street["apart"], json!([]));

    let other_unit = app
        .token("other", Role::UnitLeader, Some("dept-A-housing"), None)
        .await;
    let (status, theirs) = app
        .get_as(Some(&other_unit), "/api/v1/analytics/rates?month=2026-11")
        .await;
    assert_eq!(status, StatusCode::OK, "{theirs}");
    assert!(
        theirs["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["id"] != unit.as_str()),
        "another unit's figures leak: {theirs}"
    );
    assert_eq!(theirs["total"]["counts"]["received"], 0);

    let handler = app
        .token("handler", Role::UnitHandler, Some(&unit), None)
        .await;
    let (status, _) = app.get_as(Some(&handler), "/api/v1/analytics/rates").await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "handlers hold no report.view"
    );
}

#[tokio::test]
async fn trends_fill_every_day_and_export_as_csv() {
    let app = TestApp::new().await;
    handled_month(&app).await;
    let (status, trends) = app
        .get("/api/v1/analytics/trends?from=2026-11-20&to=2026-11-23")
        .await;
    assert_eq!(status, StatusCode::OK, "{trends}");
    let days = trends["days"].as_array().unwrap();
    assert_eq!(days.len(), 4);
    assert_eq!(days[2]["day"], "2026-11-22");
    assert_eq!(days[2]["counts"]["received"], 3);
    assert_eq!(days[0]["counts"]["received"], 0);

    let (status, csv) = app
        .get("/api/v1/analytics/trends?from=2026-11-22&to=2026-11-22&format=csv")
        .await;
    assert_eq!(status, StatusCode::OK);
    let csv = csv.as_str().unwrap();
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("day,received,answered,assigned,")
    );
    assert!(
        lines.next().unwrap().starts_with("2026-11-22,3,3,3,"),
        "{csv}"
    );
}

#[tokio::test]
async fn bad_filters_name_the_field() {
    let app = TestApp::new().await;
    for (query, field) in [
        ("month=2026-13", "month"),
        ("from=yesterday", "from"),
        ("from=2026-11-10&to=2026-11-01", "to"),
        ("region=nowhere", "region"),
        ("unit=nobody", "unit"),
        ("category=不存在", "category"),
        ("format=pdf", "format"),
        ("by=district", "by"),
    ] {
        let (status, body) = app.get(&format!("/api/v1/analytics/rates?{query}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
        assert_eq!(body["error"]["field"], field, "{query}: {body}");
    }
}

#[tokio::test]
async fn a_burst_of_calls_from_one_place_is_one_alert_within_scope() {
    let app = TestApp::new().await;
    let (_, quiet) = app.get("/api/v1/analytics/alerts").await;
    assert_eq!(quiet["alerts"], json!([]), "{quiet}");
    // Ten calls about one thing from one community within the hour, none before.
    let mut unit = String::new();
    for i in 0..10 {
        let (status, ticket) = app
            .post("/api/v1/tickets", &demand(&format!("电梯又坏了{i}")), None)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{ticket}");
        unit = ticket["unit"].as_str().unwrap().to_owned();
    }
    // The engine's alert watch raises it once; a second pass finds nothing new.
    let raised = app.state.engine.raise_alerts().await.unwrap();
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert!(app.state.engine.raise_alerts().await.unwrap().is_empty());
    let (status, report) = app.get("/api/v1/analytics/alerts?hours=6").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let alerts = report["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{report}");
    assert_eq!(alerts[0]["kind"], "surge");
    assert_eq!(alerts[0]["observed"], 10.0);
    assert_eq!(alerts[0]["category"], "城乡建设/住房保障与房地产/物业服务");
    assert_eq!(alerts[0]["first_at"], "2026-11-22T02:00:00Z");

    let (_, csv) = app.get("/api/v1/analytics/alerts?format=csv").await;
    assert_eq!(csv.as_str().unwrap().lines().count(), 2, "{csv}");

    let elsewhere = app.token("far", Role::Supervisor, None, Some("A5")).await;
    let (_, theirs) = app
        .get_as(Some(&elsewhere), "/api/v1/analytics/alerts")
        .await;
    assert_eq!(
        theirs["alerts"],
        json!([]),
        "another district's alert leaks: {theirs}"
    );
    let unit_leader = app
        .token("leader", Role::UnitLeader, Some(&unit), None)
        .await;
    let (status, by_unit) = app
        .get_as(Some(&unit_leader), "/api/v1/analytics/alerts")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        by_unit["alerts"],
        json!([]),
        "a surge is seen by place, not by unit"
    );
    let (status, body) = app.get("/api/v1/analytics/alerts?hours=0").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "hours");
}

/// A ticket about something else, placed elsewhere.
fn other_demand() -> String {
    json!({
        "channel": "phone", "kind": "complaint", "title": "公司拖欠工资",
        "description": "公司拖欠工资三个月不发", "address": "A5区",
        "category": "劳动和社会保障/城镇居民社会保险/其他", "citizen": {"phone": "139 0000 0001"}
    })
    .to_string()
}

#[tokio::test]
async fn hotspots_group_the_weeks_tickets_and_link_them() {
    let app = TestApp::new().await;
    let unit = handled_month(&app).await;
    let (status, body) = app.post("/api/v1/tickets", &other_demand(), None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let (status, report) = app.get("/api/v1/analytics/hotspots").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["days"], 7);
    assert_eq!(report["tickets"], 4);
    let hotspots = report["hotspots"].as_array().unwrap();
    // The three lift complaints of one estate; the single wage claim is no hotspot.
    assert_eq!(hotspots.len(), 1, "{report}");
    let lift = &hotspots[0];
    assert_eq!(lift["rank"], 1);
    assert_eq!(lift["count"], 3);
    assert_eq!(lift["tickets"].as_array().unwrap().len(), 3);
    assert!(
        lift["words"].as_array().unwrap().contains(&json!("电梯")),
        "{lift}"
    );
    assert_eq!(lift["place_name"], "尖山社区");
    // Named as a person would, with the unit that handles them (issue 20).
    assert!(lift["name"].as_str().unwrap().contains("电梯"), "{lift}");
    assert_eq!(lift["units"].as_array().unwrap().len(), 1, "{lift}");
    assert_eq!(lift["units"][0]["id"], unit.as_str());
    assert_eq!(lift["units"][0]["tickets"], 3);
    assert_eq!(lift["previous"], 0);
    // One citizen called three times: repeats count no more than the people
    // (1 + 0.5 x 1), rising from nothing (x 2).
    assert_eq!(lift["citizens"], 1);
    assert_eq!(lift["heat"], 3.0);

    let (status, csv) = app.get("/api/v1/analytics/hotspots?format=csv").await;
    assert_eq!(status, StatusCode::OK);
    let csv = csv.as_str().unwrap();
    assert!(csv.starts_with("rank,heat,name,words,"), "{csv}");
    assert_eq!(csv.lines().count(), 2);

    // A region elsewhere sees none of them; a bad window is named.
    let (_, elsewhere) = app.get("/api/v1/analytics/hotspots?region=A5").await;
    assert_eq!(elsewhere["hotspots"], json!([]));
    let (status, body) = app.get("/api/v1/analytics/hotspots?days=0").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.to_string().contains("days"), "{body}");
}

#[tokio::test]
async fn the_kept_hotspot_list_serves_the_default_window_within_scope() {
    let app = TestApp::new().await;
    let unit = handled_month(&app).await;
    // The same complaint placed only to the street: another unit holds it.
    let street = json!({
        "channel": "phone", "kind": "complaint", "title": "电梯坏了",
        "description": "小区电梯坏了一个月物业不修", "address": "A3区天顶街道",
        "category": "城乡建设/住房保障与房地产/物业服务", "citizen": {"phone": "139 0000 0002"}
    });
    let (status, theirs) = app.post("/api/v1/tickets", &street.to_string(), None).await;
    assert_eq!(status, StatusCode::CREATED, "{theirs}");
    let other_unit = theirs["unit"].as_str().unwrap().to_owned();
    let other_number = theirs["number"].as_str().unwrap().to_owned();
    assert_ne!(other_unit, unit);

    let engine = &app.state.engine;
    let first = engine.refresh_hotspots().await.unwrap();
    assert_eq!((first.full, first.read, first.hotspots), (true, 4, 1));
    let (status, kept) = app.get("/api/v1/analytics/hotspots").await;
    assert_eq!(status, StatusCode::OK, "{kept}");
    assert_eq!(kept["computed_at"], "2026-11-22T02:00:00Z");
    assert_eq!(
        (kept["tickets"].clone(), kept["total"].clone()),
        (json!(4), json!(1))
    );
    let all = &kept["hotspots"][0];
    assert_eq!(all["count"], 4);
    // The same window computed on request gives the same list.
    let (_, fresh) = app.get("/api/v1/analytics/hotspots?to=2026-11-22").await;
    assert_eq!(fresh["computed_at"], Value::Null, "{fresh}");
    assert_eq!(fresh["hotspots"], kept["hotspots"]);

    // Each unit sees the hotspot with its own tickets, never the other's numbers.
    let mine: Vec<Value> = all["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| **n != other_number)
        .cloned()
        .collect();
    let leader = app
        .token("leader", Role::UnitLeader, Some(&unit), None)
        .await;
    let (_, seen) = app
        .get_as(Some(&leader), "/api/v1/analytics/hotspots")
        .await;
    assert_eq!(seen["hotspots"][0]["tickets"], json!(mine), "{seen}");
    assert_eq!(seen["hotspots"][0]["count"], 3);
    assert_eq!(seen["hotspots"][0]["words"], all["words"]);
    assert!(!seen.to_string().contains(&other_number), "{seen}");
    // The street office is above the estate's property company: it sees both.
    let street_leader = app
        .token("street", Role::UnitLeader, Some(&other_unit), None)
        .await;
    let (_, seen) = app
        .get_as(Some(&street_leader), "/api/v1/analytics/hotspots")
        .await;
    assert_eq!(seen["hotspots"][0]["count"], 4, "{seen}");
    // Filters narrow the kept list as they narrow a computed one.
    let (_, by_unit) = app
        .get(&format!("/api/v1/analytics/hotspots?unit={unit}"))
        .await;
    assert_eq!(by_unit["hotspots"][0]["tickets"], json!(mine), "{by_unit}");
    let far = app.token("far", Role::Supervisor, None, Some("A5")).await;
    let (_, none) = app.get_as(Some(&far), "/api/v1/analytics/hotspots").await;
    assert_eq!(none["hotspots"], json!([]), "{none}");

    // A new ticket comes with the next pass, which reads only it.
    let (status, body) = app
        .post("/api/v1/tickets", &demand("电梯又坏了"), None)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let next = engine.refresh_hotspots().await.unwrap();
    assert_eq!((next.full, next.read, next.segmented), (false, 1, 1));
    let (_, kept) = app.get("/api/v1/analytics/hotspots").await;
    assert_eq!(kept["hotspots"][0]["count"], 5, "{kept}");

    let (status, body) = app.get("/api/v1/analytics/hotspots?limit=0").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "limit", "{body}");
}

#[tokio::test]
async fn the_monthly_topic_ranks_the_months_unsatisfying_problems() {
    let app = TestApp::new().await;
    // Five lift complaints (the least that counts), one called back unsatisfied.
    handled_month(&app).await;
    for i in 3..5 {
        let (status, body) = app
            .post("/api/v1/tickets", &demand(&format!("电梯坏了{i}")), None)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, report) = app
        .get("/api/v1/analytics/monthly-topic?month=2026-11")
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["month"], "2026-11");
    let topics = report["topics"].as_array().unwrap();
    assert_eq!(topics.len(), 1, "{report}");
    let lift = &topics[0];
    assert_eq!(lift["category"], "城乡建设/住房保障与房地产/物业服务");
    assert_eq!(lift["received"], 5);
    // Two callbacks, one satisfied: 5 x (1 - 0.5) x (1 + 0 months before).
    assert_eq!(lift["satisfaction"], 50.0);
    assert_eq!(lift["score"], 2.5);
    assert_eq!(lift["trend"].as_array().unwrap().len(), 6);
    assert_eq!(lift["trend"][5], json!({"month": "2026-11", "received": 5}));
    assert_eq!(lift["units"][0]["assigned"], 5);
    assert_eq!(
        lift["places"][0],
        json!({"id": "A3", "name": "A3区", "name_en": "A3区", "count": 5})
    );
    assert_ne!(lift["units"][0]["name"], lift["units"][0]["unit"]);

    let (_, october) = app
        .get("/api/v1/analytics/monthly-topic?month=2026-10")
        .await;
    assert_eq!(october["topics"], json!([]));
    let (status, _) = app
        .get("/api/v1/analytics/monthly-topic?month=2026-13")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// Last December brought six lift complaints in A3, nothing else that year: before
/// this December comes, they are listed, with the district and the unit they concerned.
#[tokio::test]
async fn the_seasonal_view_lists_what_last_years_coming_month_brought() {
    let app = TestApp::new().await;
    let now = app.clock.now();
    app.clock.set("2025-12-10T02:00:00Z".parse().unwrap());
    for i in 0..6 {
        let (status, body) = app
            .post("/api/v1/tickets", &demand(&format!("电梯坏了{i}")), None)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    app.clock.set(now);
    let (status, report) = app.get("/api/v1/analytics/seasonal").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        (report["ahead"].as_str(), report["last_year"].as_str()),
        (Some("2026-12"), Some("2025-12"))
    );
    let problems = report["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{report}");
    let lift = &problems[0];
    assert_eq!(lift["category"], "城乡建设/住房保障与房地产/物业服务");
    assert_eq!(lift["last_year"], 6);
    // The usual month of that year: 6 / 12; last December was 12 times that.
    assert_eq!(lift["usual"], 0.5);
    assert_eq!(lift["ratio"], 12.0);
    assert_eq!(lift["places"][0]["name"], "A3区");
    assert_eq!(lift["units"][0]["count"], 6);
    // Cut to the first level, the same demands under 城乡建设.
    let (_, first) = app.get("/api/v1/analytics/seasonal?level=1").await;
    assert_eq!(first["problems"][0]["category"], "城乡建设", "{first}");
    // Nothing last January: nothing to prepare for it.
    let (_, january) = app.get("/api/v1/analytics/seasonal?ahead=2027-01").await;
    assert_eq!(january["problems"], json!([]));
    for (query, field) in [("ahead=2026-13", "ahead"), ("level=4", "level")] {
        let (status, body) = app
            .get(&format!("/api/v1/analytics/seasonal?{query}"))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
        assert_eq!(body["error"]["field"], field, "{query}: {body}");
    }
}

#[tokio::test]
async fn every_analytics_table_exports_as_a_workbook() {
    use axum::body::Body;
    use axum::http::{Request, header};
    use calamine::{Data, Reader, Xlsx};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    let app = TestApp::new().await;
    let unit = handled_month(&app).await;
    for (path, sheet) in [
        ("rates?month=2026-11", "rates"),
        ("trends?from=2026-11-22&to=2026-11-22", "trends"),
        ("alerts", "alerts"),
        ("hotspots", "hotspots"),
        ("monthly-topic?month=2026-11", "monthly-topic"),
        ("seasonal", "seasonal"),
    ] {
        let sep = if path.contains('?') { '&' } else { '?' };
        let request = Request::get(format!("/api/v1/analytics/{path}{sep}format=xlsx"))
            .header(header::AUTHORIZATION, format!("Bearer {}", app.admin))
            .body(Body::empty())
            .unwrap();
        let response = app.router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        );
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let mut book = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
        let range = book.worksheet_range(sheet).unwrap();
        let header: Vec<String> = range
            .rows()
            .next()
            .unwrap()
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert!(!header.is_empty(), "{path}");
        if sheet == "rates" {
            assert_eq!(header[0], "id");
            let line = range
                .rows()
                .find(|row| row[0] == Data::String(unit.clone()))
                .unwrap_or_else(|| panic!("no line for {unit}"));
            let assigned = header.iter().position(|h| h == "assigned").unwrap();
            // Numbers are numbers, not text.
            assert_eq!(line[assigned], Data::Float(3.0));
        }
        if sheet == "trends" {
            let day = range.rows().nth(1).unwrap();
            assert_eq!(day[0], Data::String("2026-11-22".into()));
            assert_eq!(day[1], Data::Float(3.0));
        }
    }
    let (status, body) = app.get("/api/v1/analytics/rates?format=pdf").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.to_string().contains("xlsx"), "{body}");
}

/// Issue 20: an English dashboard shows units and categories by their English names
/// (the city's `name_en` and taxonomy `english`), as the other English pages do; the
/// Chinese page keeps the Chinese ones.
#[tokio::test]
async fn the_english_dashboard_names_units_and_categories_in_english() {
    let app = TestApp::new().await;
    let (status, ticket) = app.post("/api/v1/tickets", &demand("电梯坏了"), None).await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    let number = ticket["number"].as_str().unwrap();
    let unit = "dept-A1-housing";
    let moved = json!({"action": "reassign", "unit": unit, "reason": "住建局管辖"});
    let (status, body) = app.act(number, moved).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let english = "A1 District Housing and Urban-Rural Development Bureau";
    let (status, rates) = app.get("/api/v1/analytics/rates?by=unit").await;
    assert_eq!(status, StatusCode::OK, "{rates}");
    let line = rates["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|line| line["id"] == unit)
        .unwrap_or_else(|| panic!("{rates}"));
    assert_eq!(line["name_en"], english);
    assert_ne!(line["name"], line["name_en"]);

    let page = |lang: &'static str| {
        let app = &app;
        async move {
            let request = axum::http::Request::get("/dashboard")
                .header(axum::http::header::COOKIE, format!("minhu_lang={lang}"))
                .body(axum::body::Body::empty())
                .unwrap();
            let (status, body, _) = app.send(request).await;
            assert_eq!(status, StatusCode::OK);
            body.as_str().unwrap().to_owned()
        }
    };
    let (en, zh) = (page("en").await, page("zh").await);
    for (id, columns) in [
        ("ranking", "data-columns=\"name_en,"),
        ("monthly-topic", "data-columns=\"category_en,"),
        ("seasonal", "data-columns=\"category_en,"),
        ("alerts", "data-columns=\"name_en,"),
    ] {
        let figure = |html: &str| {
            let at = html.find(&format!("id=\"{id}\"")).unwrap();
            html[..at].rsplit("<figure").next().unwrap().to_owned()
        };
        assert!(figure(&en).contains(columns), "{id}: {}", figure(&en));
        assert!(!figure(&zh).contains("_en"), "{id}: {}", figure(&zh));
    }
    assert!(en.contains("units.name_en"));
    assert!(!zh.contains("units.name_en"));
}
