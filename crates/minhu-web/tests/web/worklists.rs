//! Issue 18's work lists in a real browser and through the API: the dispatchers' queue
//! (a page at a time, most urgent first and the longest waiting first, bulk dispatch,
//! returns to arbitrate), the supervisors' desk (an extension decided from the list)
//! and a unit leader's overdue list, each page checked with axe-core.

use jiff::SignedDuration;
use minhu_core::access::Role;
use minhu_core::ids::TicketNumber;
use minhu_core::ticket::{Status, Ticket};
use minhu_engine::timers::TimerWorker;
use minhu_testkit::browser::{Browser, serve, wait_for};
use minhu_testkit::web::TestApp;
use serde_json::{Value, json};
use std::sync::Arc;

/// A demand placed in 尖山社区 that routing cannot decide (no category): it waits.
async fn pending(app: &TestApp, title: &str) -> String {
    let (status, body) = app
        .post(
            "/api/v1/tickets",
            &json!({"channel": "phone", "kind": "complaint", "title": title,
                    "description": format!("{title}，请尽快处理"),
                    "address": "A3区天顶街道尖山社区", "citizen": {"phone": "13900001111"}})
            .to_string(),
            None,
        )
        .await;
    assert!(status.is_success(), "{body}");
    assert_eq!(body["status"], "pending", "{body}");
    body["number"].as_str().unwrap().to_owned()
}

async fn ticket(app: &TestApp, number: &str) -> Ticket {
    app.state
        .engine
        .ticket(&TicketNumber::parse(number).unwrap())
        .await
        .unwrap()
}

async fn becomes(app: &TestApp, number: &str, wanted: impl Fn(&Ticket) -> bool, what: &str) {
    let number = TicketNumber::parse(number).unwrap();
    wait_for(&format!("{number}: {what}"), || async {
        let ticket = app.state.engine.ticket(&number).await.ok()?;
        wanted(&ticket).then_some(())
    })
    .await;
}

async fn act(app: &TestApp, number: &str, action: Value) -> Value {
    let (status, body) = app.act(number, action).await;
    assert!(status.is_success(), "{body}");
    body
}

/// The ticket numbers of the queue's rows, in order.
async fn queue_rows(browser: &Browser) -> Vec<String> {
    let rows = browser
        .script("return [...document.querySelectorAll('input[name=tickets]')].map(b => b.value);")
        .await;
    serde_json::from_value(rows).unwrap()
}

/// The page at a phone's width, in English: it fits (tables scroll inside their own
/// region), axe-core finds nothing serious, and it reads in English.
async fn fits_a_phone_in_english(browser: &Browser, path: &str, heading: &str) {
    browser.client.set_window_size(390, 844).await.unwrap();
    browser.goto(&format!("/lang/en?next={path}")).await;
    assert_eq!(browser.text("h1").await, heading);
    let fits = browser
        .script("return document.documentElement.scrollWidth <= window.innerWidth;")
        .await;
    assert_eq!(fits, json!(true), "{path} is wider than a phone");
    browser
        .check_accessibility(&format!("{path} at 390 px, in English"))
        .await;
    browser.goto(&format!("/lang/zh?next={path}")).await;
    browser.client.set_window_size(1280, 900).await.unwrap();
}

const PROPERTY: &str = "城乡建设/住房保障与房地产/物业服务";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatcher_works_the_whole_queue_in_the_browser() {
    let app = TestApp::new().await;
    app.add_user("zhang", Role::Dispatcher, None).await;
    // More than a page: the oldest first, then 51 more a minute apart, then an urgent
    // one (燃气泄漏 puts it in the 2-hour tier).
    let oldest = pending(&app, "最早的诉求").await;
    let mut numbers = vec![oldest.clone()];
    for i in 0..51 {
        app.clock.advance(SignedDuration::from_mins(1));
        numbers.push(pending(&app, &format!("第{i}件诉求")).await);
    }
    app.clock.advance(SignedDuration::from_mins(1));
    let urgent = pending(&app, "楼道里燃气泄漏").await;
    // Half an hour on: the first half of them have waited over an hour.
    app.clock.advance(SignedDuration::from_mins(30));
    assert_eq!(ticket(&app, &urgent).await.intake.tier.as_str(), "2h");
    // Three get their category, so routing has a unit to suggest.
    for number in [&oldest, &numbers[1], &numbers[2]] {
        act(
            &app,
            number,
            json!({"action": "reclassify", "category": PROPERTY}),
        )
        .await;
    }
    let browser = Browser::open(serve(&app).await).await;
    browser.sign_in("zhang", "/dispatch").await;
    browser.check_accessibility("/dispatch").await;
    browser.snap("dispatch").await;
    let rows = queue_rows(&browser).await;
    assert_eq!(rows.len(), 50, "a page of the queue");
    assert_eq!(rows[0], urgent, "the most urgent tier first");
    assert_eq!(rows[1], oldest, "then the longest waiting");
    assert_eq!(rows[2..], numbers[1..49]);
    // The rest are a click away.
    browser.click("a[rel=next]").await;
    browser.element("input[name=tickets]").await;
    browser.check_accessibility("/dispatch next page").await;
    assert_eq!(queue_rows(&browser).await, numbers[49..]);
    // A filter keeps what it names (blank fields filter nothing).
    browser
        .goto("/dispatch?district=&category=&channel=web&kind=&age=")
        .await;
    assert!(queue_rows(&browser).await.is_empty());
    browser.goto("/dispatch?channel=phone&age=1h").await;
    let older: Vec<String> = queue_rows(&browser).await;
    assert_eq!(
        older.first(),
        Some(&oldest),
        "waiting over an hour: {older:?}"
    );
    assert!(!older.contains(&urgent));

    // The oldest goes to the unit routing suggests, with its reasons in sight.
    browser.goto("/dispatch").await;
    let offer = format!("form[data-api='/api/v1/tickets/{oldest}/actions'].offer");
    let reasons = browser.text(&format!("{offer} .reasons")).await;
    assert!(
        reasons.contains("城乡建设 / 住房保障与房地产 / 物业服务")
            && reasons.contains("按派单目录第"),
        "{reasons}"
    );
    browser.click(&format!("{offer} button[type=submit]")).await;
    becomes(
        &app,
        &oldest,
        |t| t.status == Status::Dispatched,
        "dispatched",
    )
    .await;
    let unit = ticket(&app, &oldest).await.unit.unwrap();

    // Two more in one go, to the suggested unit.
    browser.element("input[name=tickets]").await;
    for number in &numbers[1..3] {
        browser.click(&format!("#pick-{number}")).await;
    }
    browser
        .element(&format!("#bulk select[name=unit] option[value='{unit}']"))
        .await
        .click()
        .await
        .unwrap();
    browser.click("#bulk button[type=submit]").await;
    let said = browser.text("#bulk-result p").await;
    assert!(said.contains('2'), "{said}");
    for number in &numbers[1..3] {
        assert_eq!(ticket(&app, number).await.unit.as_ref(), Some(&unit));
    }
    browser
        .check_accessibility("/dispatch after a bulk dispatch")
        .await;

    // The unit returns one; the dispatcher reads why, is not offered that unit again,
    // and refuses the return.
    let handler = app
        .token("handler", Role::UnitHandler, Some(unit.as_str()), None)
        .await;
    let (status, body) = app
        .act_as(
            Some(&handler),
            &numbers[1],
            json!({"action": "return", "reason": "此处不是本物业管理的小区"}),
        )
        .await;
    assert!(status.is_success(), "{body}");
    browser.goto("/dispatch").await;
    let returns = browser.text("#returns + .wide table").await;
    assert!(returns.contains("此处不是本物业管理的小区"), "{returns}");
    let offered = browser
        .script(&format!(
            "return [...document.querySelectorAll(\"form[data-api='/api/v1/tickets/{}/actions'] input[name=unit]\")].map(i => i.value);",
            numbers[1]
        ))
        .await;
    assert!(
        !offered.as_array().unwrap().contains(&json!(unit.as_str())),
        "the unit that returned it is offered again: {offered}"
    );
    browser.check_accessibility("/dispatch with a return").await;
    browser
        .fill(
            &format!("#reject-{}", numbers[1]),
            "该小区由本物业管理，请办理",
        )
        .await;
    browser
        .click(&format!("#reject-{} ~ button[type=submit]", numbers[1]))
        .await;
    becomes(
        &app,
        &numbers[1],
        |t| t.status == Status::Dispatched && t.dispute_count == 1,
        "back with its unit, disputed",
    )
    .await;
    fits_a_phone_in_english(&browser, "/dispatch", "To dispatch (50)").await;
    browser.close().await;
}

/// Bulk dispatch over the API: each ticket's outcome, nothing done twice on a retry,
/// every outcome audited, bad input named.
#[tokio::test]
async fn bulk_dispatch_reports_each_ticket_and_a_retry_changes_nothing() {
    let app = TestApp::new().await;
    let first = pending(&app, "楼下噪音").await;
    let second = pending(&app, "路灯不亮").await;
    let unit = "street-A3-01";
    let body = json!({"unit": unit, "tickets": [first, second, "2026112299999"]}).to_string();
    let (status, answer) = app.post("/api/v1/dispatch", &body, None).await;
    assert!(status.is_success(), "{answer}");
    assert_eq!(
        (answer["dispatched"].clone(), answer["refused"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(answer["results"][2]["outcome"], "not_found");
    let (status, again) = app.post("/api/v1/dispatch", &body, None).await;
    assert!(status.is_success(), "{again}");
    assert_eq!(
        (again["dispatched"].clone(), again["already"].clone()),
        (json!(0), json!(2))
    );
    let events = app
        .state
        .engine
        .events(&TicketNumber::parse(&first).unwrap())
        .await
        .unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e.change.name() == "dispatched")
            .count(),
        1
    );
    let auditor = app.token("auditor", Role::Auditor, None, None).await;
    let (status, audit) = app
        .get_as(
            Some(&auditor),
            &format!("/api/v1/audit?action=ticket.dispatch.bulk&target={first}"),
        )
        .await;
    assert!(status.is_success(), "{audit}");
    assert_eq!(audit["entries"].as_array().unwrap().len(), 2, "{audit}");
    for (body, field) in [
        (json!({"unit": unit, "tickets": []}), "tickets"),
        (json!({"unit": "nobody", "tickets": [first]}), "unit"),
        (
            json!({"unit": unit, "tickets": ["not a number"]}),
            "tickets[0]",
        ),
    ] {
        let (status, answer) = app.post("/api/v1/dispatch", &body.to_string(), None).await;
        assert_eq!(status.as_u16(), 422, "{answer}");
        assert_eq!(answer["error"]["field"], field, "{answer}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_and_a_unit_leader_work_their_lists_in_the_browser() {
    let app = TestApp::new().await;
    app.add_user("jiandu", Role::Supervisor, None).await;
    app.add_user("lingdao", Role::UnitLeader, Some("street-A3-01"))
        .await;
    let handler = app
        .token("handler", Role::UnitHandler, Some("street-A3-01"), None)
        .await;
    let unit_acts = |number: String, action: Value| {
        let handler = handler.clone();
        let app = &app;
        async move {
            let (status, body) = app.act_as(Some(&handler), &number, action).await;
            assert!(status.is_success(), "{body}");
        }
    };
    // One ticket asks for more time; one will go overdue; one of another unit too.
    let longer = pending(&app, "道路大修需要更久").await;
    let late = pending(&app, "井盖缺失").await;
    let theirs = pending(&app, "别的街道的事").await;
    // An urgent one (the 2-hour tier) goes overdue within the supervisor's session.
    let urgent = pending(&app, "楼道里燃气泄漏").await;
    for number in [&longer, &late, &urgent] {
        act(
            &app,
            number,
            json!({"action": "dispatch", "unit": "street-A3-01"}),
        )
        .await;
        unit_acts(number.clone(), json!({"action": "accept"})).await;
    }
    act(
        &app,
        &theirs,
        json!({"action": "dispatch", "unit": "street-A1-01"}),
    )
    .await;
    unit_acts(
        longer.clone(),
        json!({"action": "request_extension", "days": 5, "reason": "需要协调施工单位"}),
    )
    .await;
    let browser = Browser::open(serve(&app).await).await;
    browser.sign_in("jiandu", "/supervise").await;
    browser.check_accessibility("/supervise").await;
    let asked = browser.text("#extensions + .wide table").await;
    assert!(asked.contains("需要协调施工单位"), "{asked}");
    // The extension, decided in one click from the list.
    browser
        .click(&format!(
            "form[data-api='/api/v1/tickets/{longer}/actions'] button.primary"
        ))
        .await;
    becomes(
        &app,
        &longer,
        |t| t.extension.is_none() && t.extension_count == 1,
        "the extension approved",
    )
    .await;
    browser.element("#extensions").await;

    // Three hours on, the urgent ticket is overdue: the desk says its lists changed,
    // live (whenever its stream connected: it compares with what the page showed).
    app.clock.advance(SignedDuration::from_hours(3));
    let timers = TimerWorker::new(Arc::clone(&app.state.engine));
    timers.run_due().await.unwrap();
    assert!(ticket(&app, &urgent).await.alerts.flag().is_some());
    wait_for("the desk to say it changed", || async {
        let notice = browser
            .client
            .find(fantoccini::Locator::Css(".live"))
            .await
            .ok()?;
        notice.is_displayed().await.ok()?.then_some(())
    })
    .await;

    // A month on, every deadline has run out and the timers fired.
    app.clock.advance(SignedDuration::from_hours(24 * 30));
    timers.run_due().await.unwrap();
    assert!(ticket(&app, &late).await.alerts.flag().is_some());
    // A month on, the session has long ended: the supervisor signs in again.
    browser.sign_in("jiandu", "/supervise").await;
    browser.snap("supervise").await;
    let overdue = browser.text("#overdue + .wide table").await;
    assert!(
        overdue.contains(&late) && overdue.contains(&theirs),
        "{overdue}"
    );
    browser
        .check_accessibility("/supervise with overdue tickets")
        .await;
    browser.sign_out().await;

    // The unit's leader sees the unit's overdue ticket, not the other unit's.
    browser.sign_in("lingdao", "/overdue").await;
    browser.check_accessibility("/overdue").await;
    browser.snap("overdue").await;
    let list = browser.text("main table").await;
    assert!(list.contains(&late), "{list}");
    assert!(!list.contains(&theirs), "another unit's ticket: {list}");
    fits_a_phone_in_english(
        &browser,
        "/overdue",
        "My unit's overdue and escalated tickets (3)",
    )
    .await;
    browser.sign_out().await;
    browser.sign_in("jiandu", "/supervise").await;
    fits_a_phone_in_english(&browser, "/supervise", "Supervision desk").await;
    browser.close().await;
}
