//! The grid worker's app in a real browser at a phone's width: installable (manifest,
//! service worker), opened with the server down (the app's shell from the service
//! worker's cache), a report written offline kept as a draft (IndexedDB, across a
//! reload) and sent exactly once when the server answers again.

use fantoccini::Locator;
use minhu_core::access::Role;
use minhu_core::event::Change;
use minhu_core::ticket::{Channel, Status};
use minhu_engine::records::TicketFilter;
use minhu_testkit::browser::{Browser, Server, wait_for};
use minhu_testkit::web::{PNG, TestApp};
use serde_json::{Value, json};

/// The grid reports the store holds.
async fn grid_tickets(app: &TestApp) -> Vec<minhu_core::ticket::Ticket> {
    app.state
        .engine
        .list(&TicketFilter {
            channel: Some(Channel::Grid),
            ..TicketFilter::default()
        })
        .await
        .unwrap()
        .tickets
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_written_offline_is_sent_once_when_the_network_returns() {
    let app = TestApp::new().await;
    app.add_user_in("grid", Role::GridWorker, None, Some("A3-01-02-1"))
        .await;
    let mut server = Server::start(&app).await;
    let browser = Browser::open(server.base.clone()).await;
    browser.client.set_window_size(390, 844).await.unwrap();
    browser.sign_in("grid", "/grid").await;
    assert_eq!(
        browser.text("#grid-place").await,
        "A3区 天顶街道 尖山社区 第1网格"
    );

    // Installable: the page names its manifest, which a phone reads to install the
    // app, and the service worker takes the page over.
    let manifest = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const link = document.querySelector('link[rel=manifest]');
             fetch(link.href).then(r => r.json()).then(done, e => done(String(e)));",
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(manifest["start_url"], "/grid", "{manifest}");
    assert_eq!(manifest["display"], "standalone", "{manifest}");
    let sizes: Vec<&str> = manifest["icons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["sizes"].as_str().unwrap())
        .collect();
    assert_eq!(sizes, ["192x192", "512x512"], "{manifest}");
    wait_for("the service worker to control /grid", || async {
        let controlled = browser
            .script("return navigator.serviceWorker.controller !== null;")
            .await;
        (controlled == json!(true)).then_some(())
    })
    .await;
    browser.check_accessibility("/grid").await;

    // The network goes: the app still opens, from the service worker's cache.
    server.stop().await;
    browser.goto("/grid").await;
    browser.element("#patrol").await;
    browser.check_accessibility("/grid offline").await;
    browser.fill("#patrol-title", "楼道堆放杂物").await;
    browser
        .fill(
            "#patrol-description",
            "尖山社区3栋楼道堆满纸箱，堵住消防通道。",
        )
        .await;
    browser
        .script(
            "const s = document.getElementById('patrol-category');
             s.value = s.options[1].value; return s.value;",
        )
        .await;
    let photo = tempfile::Builder::new().suffix(".png").tempfile().unwrap();
    std::fs::write(photo.path(), PNG).unwrap();
    browser
        .element("#patrol-photo")
        .await
        .send_keys(photo.path().to_str().unwrap())
        .await
        .unwrap();
    browser.click("#patrol-handled").await;
    browser.fill("#patrol-note", "已通知住户当场清理完毕").await;
    browser.click("#patrol button[type=submit]").await;
    wait_for("the report to wait as a draft", || async {
        let count = browser.text("#draft-count").await;
        (count == "1").then_some(())
    })
    .await;
    let offline = browser.text("#net").await;
    assert!(
        offline.contains("离线"),
        "the page says it is offline: {offline}"
    );
    assert!(
        grid_tickets(&app).await.is_empty(),
        "nothing reached the server"
    );
    // The draft outlives the page.
    browser.goto("/grid").await;
    wait_for("the draft after a reload", || async {
        let count = browser.text("#draft-count").await;
        (count == "1").then_some(())
    })
    .await;
    browser.check_accessibility("/grid with a draft").await;

    // The network returns: the draft is sent, once.
    server.restart().await;
    let number = wait_for("the draft to be sent", || async {
        let sent = browser.text("#draft-count").await == "0";
        let result = browser
            .client
            .find(Locator::Css("#patrol-result"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        let number = result.split_whitespace().last()?.to_owned();
        (sent && number.len() == 13).then_some(number)
    })
    .await;
    // Later visits send nothing more.
    browser.goto("/grid").await;
    browser.element("#patrol").await;
    let flushed = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             setTimeout(() => done(document.getElementById('draft-count').textContent), 3500);",
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(flushed, Value::String("0".into()));
    let tickets = grid_tickets(&app).await;
    assert_eq!(tickets.len(), 1, "exactly one ticket: {tickets:?}");
    let ticket = &tickets[0];
    assert_eq!(ticket.number.to_string(), number);
    assert_eq!(ticket.intake.title, "楼道堆放杂物");
    assert_eq!(
        ticket.intake.region.as_ref().map(|r| r.as_str()),
        Some("A3-01-02-1")
    );
    assert!(ticket.intake.category.is_some(), "the category picked");
    assert_eq!(ticket.status, Status::Closed, "handled on the spot");
    assert_eq!(ticket.attachments.len(), 1, "the photo is on the ticket");
    let events = app.state.engine.events(&ticket.number).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| matches!(&e.change, Change::HandledOnSpot { note } if note == "已通知住户当场清理完毕")),
        "{events:?}"
    );

    // A check the unit asks for (核查) waits in the app, and is finished there with a
    // photo and a note.
    let demand = json!({
        "channel": "web", "kind": "complaint", "title": "楼道灯不亮",
        "description": "3栋楼道灯坏了", "region": "A3-01-02-1",
    });
    let (_, asked) = app.post("/api/v1/tickets", &demand.to_string(), None).await;
    let asked = asked["number"].as_str().unwrap().to_owned();
    let (status, _) = app
        .act(
            &asked,
            json!({"action": "assign_check", "kind": "verify", "note": "看看楼道灯是否已修好"}),
        )
        .await;
    assert!(status.is_success());
    browser.goto("/grid").await;
    let form = format!("#check-{asked}-1");
    browser.element(&form).await;
    browser.check_accessibility("/grid with a task").await;
    browser
        .element(&format!("#check-photo-{asked}-1"))
        .await
        .send_keys(photo.path().to_str().unwrap())
        .await
        .unwrap();
    browser
        .fill(&format!("#check-note-{asked}-1"), "灯已修好")
        .await;
    browser.click(&format!("{form} button[type=submit]")).await;
    wait_for("the check to be reported", || async {
        let ticket = app
            .state
            .engine
            .ticket(&minhu_core::ids::TicketNumber::parse(&asked).unwrap())
            .await
            .ok()?;
        let done = ticket.checks.first()?.done.clone()?;
        (done.note == "灯已修好" && ticket.attachments.len() == 1).then_some(())
    })
    .await;
    browser.element("#tasks-title").await;
    let fits = browser
        .script("return document.documentElement.scrollWidth <= window.innerWidth;")
        .await;
    assert_eq!(fits, json!(true), "/grid fits 390 px");
    browser.check_accessibility("/grid after sending").await;
    browser.close().await;
}
