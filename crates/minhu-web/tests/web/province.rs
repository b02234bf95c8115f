//! A province on one platform: the cities a caller may see, each ticket's city,
//! Open311's `jurisdiction_id`, and isolation: every route the application declares
//! (the access matrix's list, from `minhu_web::routes()`), as every role of city B,
//! against a ticket of city A - on SQLite and on PostgreSQL.

use super::access::{Fixtures, ROUTES, passed, sample};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use minhu_core::access::Role;
use minhu_core::ids::TicketNumber;
use minhu_core::timer::TimerKind;
use minhu_engine::timers::TimerWorker;
use minhu_testkit::db::TestDb;
use minhu_testkit::web::TestApp;
use minhu_web::middleware::auth::Rule;
use serde_json::{Value, json};

fn demand(title: &str, address: &str) -> String {
    json!({
        "channel": "web", "kind": "complaint", "title": title,
        "description": format!("{title}，请尽快处理"), "address": address,
        "category": "城乡建设/住房保障与房地产/物业服务",
        "citizen": {"phone": "13812345678", "name": "张三"}
    })
    .to_string()
}

/// A demand taken in for A (its channel names it) whose words are about B市 (B5县):
/// handed over to B's desk at intake (转办).
fn handed_to_b() -> String {
    json!({"channel": "web", "kind": "complaint", "title": "小区电梯坏了",
           "description": "B5县某小区电梯坏了一个月", "city": "A",
           "category": "城乡建设/住房保障与房地产/物业服务"})
    .to_string()
}

async fn created(app: &TestApp, body: &str) -> Value {
    let (status, ticket) = app.post("/api/v1/tickets", body, None).await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    ticket
}

#[tokio::test]
async fn one_city_is_a_province_of_one() {
    let app = TestApp::new().await;
    let (status, cities) = app.get("/api/v1/cities").await;
    assert_eq!(status, StatusCode::OK, "{cities}");
    assert_eq!(cities, json!({"cities": [{"id": "A", "name": "A市"}]}));
    let ticket = created(&app, &demand("电梯坏了", "A3区天顶街道尖山社区")).await;
    assert_eq!(ticket["city"], "A");
    // A demand about another city stays here, for a dispatcher to hand over.
    let elsewhere = created(&app, &demand("电梯坏了", "B1区某小区")).await;
    assert_eq!(elsewhere["city"], "A");
    assert_eq!(elsewhere["status"], "pending");
    let (status, refused) = app
        .post(
            "/api/v1/tickets",
            &json!({"channel": "web", "kind": "complaint", "title": "t", "description": "d",
                    "city": "B"})
            .to_string(),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["field"], "city", "{refused}");
}

#[tokio::test]
async fn cities_stay_apart_on_sqlite() {
    cities_stay_apart(TestDb::sqlite().await).await;
}

#[tokio::test]
async fn cities_stay_apart_on_postgres() {
    cities_stay_apart(TestDb::postgres().await).await;
}

async fn cities_stay_apart(db: TestDb) {
    let app = TestApp::province_on(db.store.clone()).await;
    let (status, all) = app.get("/api/v1/cities").await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let ids: Vec<&str> = all["cities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.first(), Some(&"A"), "the home city first: {all}");
    assert!(ids.contains(&"B") && ids.contains(&"K"), "{all}");

    let a = created(&app, &demand("电梯坏了", "A3区天顶街道尖山社区")).await;
    assert_eq!(a["city"], "A", "{a}");
    // Read as about B市 (its county B5县): taken in for B, under B's configuration.
    let b = created(&app, &demand("小区电梯坏了", "B5县某小区")).await;
    assert_eq!(b["city"], "B", "{b}");
    assert_eq!(b["region"], "B5", "placed by B's regions: {b}");
    let named = created(
        &app,
        &json!({"channel": "web", "kind": "complaint", "title": "路灯不亮",
                "description": "路灯不亮很久了", "city": "K"})
        .to_string(),
    )
    .await;
    assert_eq!(named["city"], "K", "{named}");
    let a_number = a["number"].as_str().unwrap().to_owned();
    let b_number = b["number"].as_str().unwrap().to_owned();

    // B's centre (region B: the whole city) and a department of B, in every role.
    let scopes = [(None, Some("B")), (Some("dept-B-housing"), None)];
    let mut checked = 0;
    for (caller, (role, (unit, region))) in Role::ALL
        .iter()
        .flat_map(|role| scopes.iter().map(move |scope| (role, *scope)))
        .enumerate()
    {
        let address = format!("10.30.{caller}.1");
        let token = app
            .token(&format!("b-{role}-{caller}"), *role, unit, region)
            .await;
        let (_, cities) = app.get_as(Some(&token), "/api/v1/cities").await;
        assert_eq!(
            cities,
            json!({"cities": [{"id": "B", "name": "B市"}]}),
            "{role} of B"
        );
        for route in ROUTES.iter() {
            // The public's routes (Open311's reads, the portal) show any city's public
            // demands, as each city's own site would; the audit log is the province's.
            if matches!(route.rule, Rule::Public | Rule::Open | Rule::Adapter(_))
                || route.path.contains("audit")
            {
                continue;
            }
            let about_ticket = route.path.contains("{number}");
            let what = |number: &str, status: StatusCode, body: &Value| {
                format!(
                    "{role} of {unit:?}/{region:?} {} {} on {number} -> {status} {body}",
                    route.method, route.path
                )
            };
            if about_ticket {
                let request = sample(&route.method, &route.path, &a_number, &Fixtures::default());
                let (status, body, _) = app.send_from(&address, Some(&token), request).await;
                assert!(
                    [StatusCode::NOT_FOUND, StatusCode::FORBIDDEN].contains(&status),
                    "A's ticket must not exist for B: {}",
                    what(&a_number, status, &body)
                );
                checked += 1;
            }
            let number = if about_ticket { &b_number } else { &a_number };
            let request = sample(&route.method, &route.path, number, &Fixtures::default());
            let (status, body, headers) = app.send_from(&address, Some(&token), request).await;
            if passed(status, &body, &headers) {
                assert!(
                    !body.to_string().contains(&a_number),
                    "A's ticket shown to B: {}",
                    what(number, status, &body)
                );
            }
            checked += 1;
        }
    }
    assert!(checked > ROUTES.len() * Role::ALL.len());

    // B's dispatcher finds B's demand in the list and its queue; A's dispatcher not.
    let b_dispatcher = app
        .token("b-dispatcher", Role::Dispatcher, None, Some("B"))
        .await;
    let (_, listed) = app.get_as(Some(&b_dispatcher), "/api/v1/tickets").await;
    let numbers: Vec<&str> = listed["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["number"].as_str().unwrap())
        .collect();
    assert!(numbers.contains(&b_number.as_str()), "{listed}");
    assert!(!numbers.contains(&a_number.as_str()), "{listed}");
    let a_dispatcher = app
        .token("a-dispatcher", Role::Dispatcher, None, Some("A"))
        .await;
    let (status, _) = app
        .get_as(Some(&a_dispatcher), &format!("/api/v1/tickets/{b_number}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The province sees both.
    let (status, _) = app.get(&format!("/api/v1/tickets/{a_number}")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, seen) = app.get(&format!("/api/v1/tickets/{b_number}")).await;
    assert_eq!((status, &seen["city"]), (StatusCode::OK, &json!("B")));

    // 转办: taken in for A (its own channel names it) but about B市: handed to B's
    // desk with the reason and B's clock, in sight of both cities.
    let handed = created(&app, &handed_to_b()).await;
    assert_eq!(handed["city"], "B", "{handed}");
    assert_eq!(handed["status"], "pending", "{handed}");
    assert_eq!(handed["transfer"]["from"], "A", "{handed}");
    assert!(
        handed["transfer"]["reason"]
            .as_str()
            .unwrap()
            .contains("B市"),
        "{handed}"
    );
    assert!(handed["transfer"]["respond_by"].is_string(), "{handed}");
    let handed_number = handed["number"].as_str().unwrap();
    for token in [&a_dispatcher, &b_dispatcher] {
        let (status, seen) = app
            .get_as(Some(token), &format!("/api/v1/tickets/{handed_number}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{seen}");
    }
    // A dispatcher hands a waiting demand on by hand; only to a city served here.
    let waiting = created(
        &app,
        &json!({"channel": "web", "kind": "consultation", "title": "咨询",
                "description": "请问怎么办理居住证", "city": "A"})
        .to_string(),
    )
    .await;
    let waiting_number = waiting["number"].as_str().unwrap();
    let to =
        |city: &str| json!({"action": "transfer_city", "city": city, "reason": "市民在K市居住"});
    let (status, refused) = app
        .act_as(Some(&a_dispatcher), waiting_number, to("Z"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["field"], "city", "{refused}");
    let (status, moved) = app
        .act_as(Some(&a_dispatcher), waiting_number, to("K"))
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(
        (&moved["city"], &moved["transfer"]["from"]),
        (&json!("K"), &json!("A"))
    );

    // Figures side by side: the province's cities ranked against each other, and a
    // city's supervisor sees only their own.
    let cities_of = |report: &Value| -> Vec<String> {
        report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, report) = app.get("/api/v1/analytics/rates?by=city").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let ranked = cities_of(&report);
    assert!(
        ranked.contains(&"A".into()) && ranked.contains(&"B".into()),
        "{report}"
    );
    let b_supervisor = app
        .token("b-supervisor", Role::Supervisor, None, Some("B"))
        .await;
    let (_, report) = app
        .get_as(Some(&b_supervisor), "/api/v1/analytics/rates?by=city")
        .await;
    assert_eq!(cities_of(&report), ["B"], "{report}");

    // Open311 must be told the city when several are served.
    let key = app
        .state
        .engine
        .accounts()
        .issue_open311_key("province")
        .await
        .unwrap();
    let post = |form: Vec<(&str, &str)>| {
        Request::post("/open311/v2/requests.json")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(serde_urlencoded::to_string(form).unwrap()))
            .unwrap()
    };
    let form = |jurisdiction: Option<&'static str>| {
        let mut form = vec![
            ("api_key", key.as_str()),
            ("service_code", "property"),
            ("address_string", "B1区某小区"),
            ("description", "电梯坏了"),
        ];
        if let Some(j) = jurisdiction {
            form.push(("jurisdiction_id", j));
        }
        form
    };
    let (status, body, _) = app.send_as(None, post(form(None))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.to_string().contains("jurisdiction_id"), "{body}");
    let (status, body, _) = app.send_as(None, post(form(Some("Z")))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body, _) = app.send_as(None, post(form(Some("B")))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    drop(app);
    db.close().await;
}

#[tokio::test]
async fn a_handover_not_taken_in_time_is_overdue_in_both_cities_on_sqlite() {
    a_handover_not_taken_in_time_is_overdue_in_both_cities(TestDb::sqlite().await).await;
}

#[tokio::test]
async fn a_handover_not_taken_in_time_is_overdue_in_both_cities_on_postgres() {
    a_handover_not_taken_in_time_is_overdue_in_both_cities(TestDb::postgres().await).await;
}

/// 转办's clock: when the receiving city's desk has not taken a demand handed over by
/// the time the sending city gave, the timer worker records it overdue on the ticket,
/// in sight of both cities' dispatchers (the event, the ticket's alert, the overdue
/// list); once taken, the clock is gone for good, even if the demand comes back to
/// the queue.
async fn a_handover_not_taken_in_time_is_overdue_in_both_cities(db: TestDb) {
    let app = TestApp::province_on(db.store.clone()).await;
    let worker = TimerWorker::new(app.state.engine.clone());
    let handed = created(&app, &handed_to_b()).await;
    assert_eq!(
        (&handed["city"], &handed["status"]),
        (&json!("B"), &json!("pending")),
        "{handed}"
    );
    let number = handed["number"].as_str().unwrap().to_owned();
    let respond_by: jiff::Timestamp = handed["transfer"]["respond_by"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let a_dispatcher = app
        .token("a-dispatcher", Role::Dispatcher, None, Some("A"))
        .await;
    let b_dispatcher = app
        .token("b-dispatcher", Role::Dispatcher, None, Some("B"))
        .await;
    let overdue_for = |token: String| {
        let (app, number) = (&app, number.clone());
        async move {
            let (status, ticket) = app
                .get_as(Some(&token), &format!("/api/v1/tickets/{number}"))
                .await;
            assert_eq!(status, StatusCode::OK, "{ticket}");
            let (status, events) = app
                .get_as(Some(&token), &format!("/api/v1/tickets/{number}/events"))
                .await;
            assert_eq!(status, StatusCode::OK, "{events}");
            let (_, listed) = app
                .get_as(Some(&token), "/api/v1/tickets?flag=overdue")
                .await;
            let in_list = listed["tickets"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["number"] == json!(number));
            let event = events
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["type"] == "overdue")
                .cloned();
            (ticket["alerts"]["transfer"].clone(), event, in_list)
        }
    };

    worker.run_due().await.unwrap();
    for token in [&a_dispatcher, &b_dispatcher] {
        assert_eq!(
            overdue_for(token.clone()).await,
            (Value::Null, None, false),
            "not before its time"
        );
    }
    app.clock
        .set(respond_by + jiff::SignedDuration::from_secs(1));
    let fired = worker.run_due().await.unwrap();
    assert!(fired.fired >= 1, "{fired:?}");
    for token in [&a_dispatcher, &b_dispatcher] {
        let (alert, event, in_list) = overdue_for(token.clone()).await;
        assert_eq!(alert, json!("overdue"));
        let event = event.expect("an overdue event");
        assert_eq!(
            (&event["deadline"], &event["due_by"]),
            (&json!("transfer"), &json!(respond_by.to_string())),
            "{event}"
        );
        assert!(in_list, "in the overdue list of both cities");
    }

    // B's desk takes it: the alert goes; a unit's return brings it back to B's queue,
    // and its handover clock does not start again.
    let (status, dispatched) = app
        .act_as(
            Some(&b_dispatcher),
            &number,
            json!({"action": "dispatch", "unit": "dept-B-housing"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{dispatched}");
    assert!(dispatched["alerts"]["transfer"].is_null(), "{dispatched}");
    assert!(
        dispatched["transfer"]["taken_at"].is_string(),
        "{dispatched}"
    );
    let unit = app
        .token("b-housing", Role::UnitHandler, Some("dept-B-housing"), None)
        .await;
    let (status, returned) = app
        .act_as(
            Some(&unit),
            &number,
            json!({"action": "return", "reason": "不属于本单位"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{returned}");
    assert_eq!(returned["status"], "pending", "{returned}");
    let ticket = app
        .state
        .engine
        .ticket(&TicketNumber::parse(&number).unwrap())
        .await
        .unwrap();
    let city = app.state.engine.city_of(&ticket);
    assert!(
        !minhu_core::timer::pending(&ticket, city)
            .iter()
            .any(|t| t.kind == TimerKind::TransferOverdue),
        "taken: no handover clock"
    );
    drop(app);
    db.close().await;
}
