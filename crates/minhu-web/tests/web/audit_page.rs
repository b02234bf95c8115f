//! The auditors' page in a real browser: the log filtered by action, in words, its CSV
//! holding the same entries, and reading it audited.

use minhu_core::access::Role;
use minhu_testkit::browser::{Browser, serve};
use minhu_testkit::web::TestApp;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditor_filters_the_log_reads_it_in_words_and_downloads_the_same_entries() {
    let app = TestApp::new().await;
    app.add_user("shen", Role::Auditor, None).await;
    // Something worth auditing: a demand taken in, and an API client reading the list.
    let demand = json!({
        "channel": "web", "kind": "complaint", "title": "噪音扰民",
        "description": "楼下商铺夜间噪音", "citizen": {"phone": "13800001234"}
    });
    app.post("/api/v1/tickets", &demand.to_string(), None).await;
    app.get("/api/v1/tickets?phone=13800001234").await;

    let browser = Browser::open(serve(&app).await).await;
    browser.sign_in("shen", "/audit").await;
    browser.element("table#audit").await;
    browser.check_accessibility("/audit").await;
    let nav = browser.text("header nav").await;
    assert!(
        nav.contains("审计"),
        "the page is in the auditor's header: {nav}"
    );

    browser
        .script("document.getElementById('action').value = 'ticket.create'; return true")
        .await;
    browser
        .click("form[action='/audit'] button[type=submit]")
        .await;
    browser
        .element("select#action option[value='ticket.create'][selected]")
        .await;
    let rows = browser
        .script("return [...document.querySelectorAll('#audit tbody tr')].map(r => r.textContent)")
        .await;
    let rows: Vec<String> = serde_json::from_value(rows).unwrap();
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|r| r.contains("受理诉求") && !r.contains("ticket.create")),
        "each entry in words, only the action asked for: {rows:?}"
    );
    assert!(
        rows.iter().all(|r| !r.contains('Z') && !r.contains("T0")),
        "times on the city's clock: {rows:?}"
    );

    // The CSV link asks the API for the same filter.
    let csv = browser
        .script(
            "var x = new XMLHttpRequest(); x.open('GET', document.getElementById('audit-csv').href, false); x.send(); return [x.status, x.responseText];",
        )
        .await;
    assert_eq!(csv[0], 200, "{csv}");
    let body = csv[1].as_str().unwrap();
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines[0], "seq,at,actor,action,target,detail,client");
    assert_eq!(lines.len() - 1, rows.len(), "{body}");
    assert!(
        lines[1..].iter().all(|l| l.contains(",ticket.create,")),
        "{body}"
    );

    // Reading the log is in the log.
    let reads = app
        .state
        .engine
        .audit()
        .log(&minhu_engine::records::AuditFilter {
            actor: Some("user:shen".into()),
            action: None,
            target: None,
            from: None,
            to: None,
            after: None,
            limit: 100,
            city: None,
        })
        .await
        .unwrap();
    let actions: Vec<&str> = reads.iter().map(|e| e.action.as_str()).collect();
    assert!(
        actions.contains(&"audit.read") && actions.contains(&"audit.export"),
        "{actions:?}"
    );

    // A last day before the first is refused by name.
    browser.goto("/audit?from=2026-12-05&to=2026-12-01").await;
    let said = browser.text("main").await;
    assert!(said.contains("to"), "{said}");
    browser.close().await;
}
