//! The ticket page in a real browser: every role finishes its part of a ticket there,
//! through the page's forms alone (the API only sets the scene), and axe-core checks
//! the page in each state it reaches.

use axum::body::Body;
use axum::http::Request;
use minhu_core::access::Role;
use minhu_core::ids::TicketNumber;
use minhu_core::ticket::{PartState, Satisfaction, Status, Ticket};
use minhu_engine::timers::TimerWorker;
use minhu_testkit::browser::{Browser, serve, wait_for};
use minhu_testkit::web::{PNG, TestApp};
use serde_json::{Value, json};

/// A citizen's demand in A3区天顶街道, left to the dispatchers (no category), with a
/// photo; its number.
async fn demand(app: &TestApp, title: &str, phone: &str) -> String {
    let (status, body) = app
        .post(
            "/api/v1/tickets",
            &json!({"channel": "web", "kind": "complaint", "title": title,
                    "description": format!("{title}，在天顶街道尖山社区路口，很危险。"),
                    "address": "A3区天顶街道", "citizen": {"phone": phone}})
            .to_string(),
            None,
        )
        .await;
    assert!(status.is_success(), "{body}");
    let number = body["number"].as_str().unwrap().to_owned();
    let upload = Request::post(format!(
        "/api/v1/tickets/{number}/attachments?name=lamp.png"
    ))
    .body(Body::from(PNG))
    .unwrap();
    let (status, body, _) = app.send(upload).await;
    assert!(status.is_success(), "{body}");
    number
}

async fn ticket(app: &TestApp, number: &str) -> Ticket {
    app.state
        .engine
        .ticket(&TicketNumber::parse(number).unwrap())
        .await
        .unwrap()
}

/// The ticket once `done` says so (the page reloads after each action).
async fn becomes(
    app: &TestApp,
    number: &str,
    what: &str,
    done: impl Fn(&Ticket) -> bool,
) -> Ticket {
    wait_for(&format!("{number}: {what}"), || async {
        let ticket = ticket(app, number).await;
        done(&ticket).then_some(ticket)
    })
    .await
}

/// Whether the page has an element matching `css`, now.
async fn has(browser: &Browser, css: &str) -> bool {
    browser
        .script(&format!("return document.querySelector({css:?}) !== null;"))
        .await
        == json!(true)
}

/// Opens the ticket's page and checks it with axe-core, naming the state.
async fn open(browser: &Browser, number: &str, state: &str) {
    browser.goto(&format!("/tickets/{number}")).await;
    browser.element("h1").await;
    browser
        .check_accessibility(&format!("/tickets/{number} ({state})"))
        .await;
}

/// Signs `login` in onto the ticket's page and checks it with axe-core.
async fn enter(browser: &Browser, login: &str, number: &str, state: &str) {
    browser.sign_in(login, &format!("/tickets/{number}")).await;
    browser
        .check_accessibility(&format!("/tickets/{number} ({state}, {login})"))
        .await;
}

/// Sets a field the way a browser's own picker would (a date input's text depends on
/// the machine's locale) and tells the page it changed.
async fn set_value(browser: &Browser, css: &str, value: &str) {
    browser
        .script(&format!(
            "const f = document.querySelector({css:?}); f.value = {value:?}; f.dispatchEvent(new Event('change', {{bubbles: true}})); return true;"
        ))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_summoned_case_is_finished_in_the_pages_by_every_unit_and_the_centre() {
    let app = TestApp::new().await;
    app.add_user("paidan", Role::Dispatcher, None).await;
    app.add_user("huawu", Role::HotlineAgent, None).await;
    app.add_user("jiedao", Role::UnitHandler, Some("street-A3-01"))
        .await;
    app.add_user("chengguan", Role::UnitHandler, Some("dept-A3-urban"))
        .await;
    app.add_user("huanbao", Role::UnitHandler, Some("dept-A-environment"))
        .await;
    let number = demand(&app, "井盖缺失", "13900001111").await;
    let browser = Browser::open(serve(&app).await).await;

    // The dispatcher classifies it (the category searched by any level's words), and
    // the unit picker then offers routing's unit first, chosen, with its reason.
    enter(&browser, "paidan", &number, "pending").await;
    let photo = browser
        .script("return document.querySelector('.photos img').getAttribute('src');")
        .await;
    let fetched = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1]; fetch(arguments[0]).then(r => done([r.status, r.headers.get('content-type')]));",
            vec![photo.clone()],
        )
        .await
        .unwrap();
    assert_eq!(fetched, json!([200, "image/png"]), "the photo at {photo}");
    let offered = browser
        .script("return document.querySelectorAll('#categories option').length;")
        .await;
    assert!(
        offered.as_u64().unwrap() > 500,
        "every level of the taxonomy: {offered}"
    );
    browser
        .fill(
            "#reclassify-category",
            "城乡建设/城市建设和市政管理/城管执法",
        )
        .await;
    browser.click("#reclassify button[type=submit]").await;
    becomes(&app, &number, "classified", |t| t.intake.category.is_some()).await;
    open(&browser, &number, "classified, dispatcher").await;
    let picked = browser
        .script("const s = document.querySelector('#dispatch-unit'); return [s.value, s.options.length, document.querySelector('#dispatch .reasons li').textContent];")
        .await;
    assert_eq!(
        picked[0],
        json!("street-A3-01"),
        "routing's unit is chosen: {picked}"
    );
    assert!(
        picked[1].as_u64().unwrap() < 100,
        "the district's units, not the city's 750: {picked}"
    );
    assert!(picked[2].as_str().unwrap().contains("天顶街道"), "{picked}");
    // Any other unit is a search away; the search's pick becomes the choice.
    browser.fill("#dispatch-search", "马坡岭街道办事处").await;
    browser.click("#dispatch-reason").await;
    let chosen = browser
        .script("return document.querySelector('#dispatch-unit').value;")
        .await;
    assert_eq!(chosen, json!("street-A1-01"));
    set_value(&browser, "#dispatch-unit", "street-A3-01").await;
    browser.click("#dispatch button[type=submit]").await;
    becomes(&app, &number, "dispatched", |t| {
        t.status == Status::Dispatched
    })
    .await;
    browser.sign_out().await;

    // The street accepts, then blows the whistle for two district departments.
    enter(&browser, "jiedao", &number, "dispatched").await;
    browser.click("#accept button[type=submit]").await;
    becomes(&app, &number, "accepted", |t| t.status == Status::Accepted).await;
    open(&browser, &number, "accepted, unit").await;
    // The district's department from the list, the city's bureau by searching it.
    browser
        .script("const s = document.querySelector('#summon-units'); for (const o of s.options) o.selected = o.value === 'dept-A3-urban'; return true;")
        .await;
    browser.fill("#summon-search", "A市生态环境局").await;
    browser
        .fill("#summon-note", "请城管和环保部门到现场处置")
        .await;
    browser.click("#summon button[type=submit]").await;
    let summoned = becomes(&app, &number, "summoned", |t| t.parts.len() == 2).await;
    let units: Vec<&str> = summoned.parts.iter().map(|p| p.unit.as_str()).collect();
    assert_eq!(units, ["dept-A3-urban", "dept-A-environment"]);
    open(&browser, &number, "summoned, lead unit").await;
    assert!(
        !has(&browser, "form.accept-part").await,
        "the lead does not report for the departments"
    );
    browser.sign_out().await;

    // Each department reports for duty and reports its part from the same page; it
    // cannot reply for the lead.
    for (login, unit, report) in [
        ("chengguan", "dept-A3-urban", "已安排执法队员设置围挡"),
        ("huanbao", "dept-A-environment", "已清理井口周边垃圾"),
    ] {
        enter(&browser, login, &number, "summoned").await;
        assert!(!has(&browser, "#resolve").await && !has(&browser, "#accept").await);
        let forms = browser
            .script("return [...document.querySelectorAll('form.accept-part input[name=unit]')].map(i => i.value);")
            .await;
        assert_eq!(forms, json!([unit]), "only its own part");
        browser.click("form.accept-part button[type=submit]").await;
        let part = |t: &Ticket| {
            t.parts
                .iter()
                .find(|p| p.unit.as_str() == unit)
                .unwrap()
                .state
        };
        becomes(&app, &number, "part accepted", |t| {
            part(t) == PartState::Accepted
        })
        .await;
        open(&browser, &number, &format!("part accepted, {login}")).await;
        browser
            .script("document.getElementById('parts').scrollIntoView(); return true;")
            .await;
        browser.snap("ticket-summoned").await;
        // Its photo of the site goes with its part.
        let before = ticket(&app, &number).await.attachments.len();
        let photo = tempfile::Builder::new().suffix(".png").tempfile().unwrap();
        std::fs::write(photo.path(), PNG).unwrap();
        browser
            .element("#attach-files")
            .await
            .send_keys(photo.path().to_str().unwrap())
            .await
            .unwrap();
        browser.click("#attach button[type=submit]").await;
        becomes(&app, &number, "photo added", |t| {
            t.attachments.len() == before + 1
        })
        .await;
        open(&browser, &number, &format!("photo added, {login}")).await;
        browser.fill("form.report-part textarea", report).await;
        browser.click("form.report-part button[type=submit]").await;
        let done = becomes(&app, &number, "part reported", |t| {
            part(t) == PartState::Reported
        })
        .await;
        let reported = done.part(&minhu_core::UnitId::new(unit)).unwrap();
        assert_eq!(reported.report.as_deref(), Some(report));
        open(&browser, &number, &format!("part reported, {login}")).await;
        let row = browser
            .text(&format!("tr[data-part='{unit}'] .part-state"))
            .await;
        assert_eq!(row, PartState::Reported.label_zh());
        browser.sign_out().await;
    }

    // The lead replies once every part is in.
    enter(&browser, "jiedao", &number, "all parts reported").await;
    // On a phone, in English: every part's state in words, nothing wider than the screen.
    browser.client.set_window_size(390, 844).await.unwrap();
    browser.click("a[lang=en]").await;
    browser.element("html[lang=en]").await;
    browser
        .check_accessibility(&format!("/tickets/{number} (English, 390 px)"))
        .await;
    let (states, fits) = {
        let seen = browser
            .script("return [[...document.querySelectorAll('.part-state')].map(c => c.textContent), document.documentElement.scrollWidth <= window.innerWidth, [...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > window.innerWidth && !e.closest('.wide')).map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 8)];")
            .await;
        (seen[0].clone(), (seen[1].clone(), seen[2].clone()))
    };
    let reported = minhu_core::label::Labelled::label(PartState::Reported).en;
    assert_eq!(states, json!([reported, reported]));
    assert_eq!(fits.0, json!(true), "the page fits 390 px: {}", fits.1);
    browser.snap("ticket-en-390").await;
    browser.click("a[lang=zh-CN]").await;
    browser.element("html[lang=zh-CN]").await;
    browser.client.set_window_size(1280, 900).await.unwrap();
    browser
        .fill("#reply-text", "已补装井盖，城管设置围挡，环保清理了垃圾。")
        .await;
    browser.click("#resolve button[type=submit]").await;
    becomes(&app, &number, "resolved", |t| t.status == Status::Resolved).await;
    browser.sign_out().await;

    // The agent calls the citizen back: nothing is chosen for them beforehand.
    enter(&browser, "huawu", &number, "resolved").await;
    let checked = browser
        .script("return document.querySelectorAll('#callback input[type=radio]:checked').length;")
        .await;
    assert_eq!(
        checked,
        json!(0),
        "the callback form comes with nothing chosen"
    );
    assert!(!has(&browser, "#close").await, "agents do not close");
    browser.click("#callback button[type=submit]").await;
    let refused = browser
        .script("return document.querySelector('#callback').checkValidity();")
        .await;
    assert_eq!(refused, json!(false), "the citizen's answers are required");
    browser
        .click("#callback input[name=solved][value=true]")
        .await;
    browser
        .click("#callback input[name=satisfaction][value=satisfied]")
        .await;
    browser.click("#callback button[type=submit]").await;
    let rated = becomes(&app, &number, "rated", |t| t.rating.is_some()).await;
    let rating = rated.rating.unwrap();
    assert!(rating.solved && rating.satisfaction == Satisfaction::Satisfied);
    browser.sign_out().await;

    // The dispatcher closes it.
    enter(&browser, "paidan", &number, "rated").await;
    browser.click("#close button[type=submit]").await;
    becomes(&app, &number, "closed", |t| t.status == Status::Closed).await;
    open(&browser, &number, "closed").await;
    assert!(!has(&browser, "#actions").await, "nothing is left to do");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extensions_long_term_reopening_and_reveal_are_done_in_the_pages() {
    let app = TestApp::new().await;
    app.add_user("jiedao", Role::UnitHandler, Some("street-A3-01"))
        .await;
    app.add_user("dudu", Role::Supervisor, None).await;
    app.add_user("huawu", Role::HotlineAgent, None).await;
    let number = demand(&app, "路灯不亮", "13900003333").await;
    for action in [
        json!({"action": "dispatch", "unit": "street-A3-01"}),
        json!({"action": "accept"}),
    ] {
        let (status, body) = app.act(&number, action).await;
        assert!(status.is_success(), "{body}");
    }
    let first_deadline = ticket(&app, &number).await.deadlines.unwrap().resolve_by;
    let browser = Browser::open(serve(&app).await).await;

    // The unit asks for three more working days; it reveals the citizen's number to
    // call them, giving a reason (the masked page never shows it).
    enter(&browser, "jiedao", &number, "accepted").await;
    let page = browser.text("main").await;
    assert!(!page.contains("13900003333"), "masked for the unit");
    browser.click("details.card summary").await;
    browser.fill("#reveal-reason", "回访核实办理情况").await;
    browser.click("#reveal button[type=submit]").await;
    assert_eq!(browser.text("#revealed-out dd").await, "13900003333");
    browser
        .check_accessibility("/tickets/{number} (revealed)")
        .await;
    browser.fill("#extend-days", "3").await;
    browser
        .fill("#extend-reason", "需协调供电公司更换线路")
        .await;
    browser.click("#extend button[type=submit]").await;
    becomes(&app, &number, "extension asked", |t| t.extension.is_some()).await;
    browser.sign_out().await;

    // The supervisor sees what was asked and approves it as asked.
    enter(&browser, "dudu", &number, "extension asked").await;
    browser
        .script("document.getElementById('actions').scrollIntoView(); return true;")
        .await;
    browser.snap("ticket-supervisor").await;
    let asked = browser.text("#extension").await;
    assert!(asked.contains("需协调供电公司更换线路"), "{asked}");
    browser
        .click("#approve-extension button[type=submit]")
        .await;
    let extended = becomes(&app, &number, "extension decided", |t| {
        t.extension.is_none()
    })
    .await;
    assert!(extended.deadlines.unwrap().resolve_by > first_deadline);
    assert_eq!(extended.extension_count, 1);

    // 挂账 with a review date; on that day the timer flags it for review.
    open(&browser, &number, "extended, supervisor").await;
    browser
        .fill("#long-term-reason", "线路改造需纳入明年计划")
        .await;
    set_value(&browser, "#long-term-review", "2026-12-15").await;
    browser.click("#mark-long-term button[type=submit]").await;
    becomes(&app, &number, "long-term", |t| t.long_term.is_some()).await;
    open(&browser, &number, "long-term, supervisor").await;
    assert!(browser.text("#long-term").await.contains("2026-12-15"));
    let worker = TimerWorker::new(app.state.engine.clone());
    worker.run_due().await.unwrap();
    assert!(
        !ticket(&app, &number).await.alerts.review_due,
        "not before its day"
    );
    app.clock.set("2026-12-14T16:00:00Z".parse().unwrap());
    worker.run_due().await.unwrap();
    assert!(
        ticket(&app, &number).await.alerts.review_due,
        "reminded on its day"
    );
    // Three weeks on, the supervisor signs in again.
    enter(&browser, "dudu", &number, "signed in").await;
    let (status, listed) = app.get("/api/v1/tickets?flag=review_due").await;
    assert!(status.is_success(), "{listed}");
    assert_eq!(listed["tickets"][0]["number"], json!(number));
    open(&browser, &number, "review due, supervisor").await;
    assert!(has(&browser, "#long-term .flag").await);
    browser.fill("#lift-reason", "改造资金已到位").await;
    browser.click("#lift-long-term button[type=submit]").await;
    let lifted = becomes(&app, &number, "lifted", |t| t.long_term.is_none()).await;
    assert!(lifted.deadlines.unwrap().resolve_by > app.state.engine.now());
    browser.sign_out().await;

    // The unit replies; the citizen says it is not solved, and the agent reopens it.
    enter(&browser, "jiedao", &number, "signed in").await;
    browser.fill("#reply-text", "已更换路灯线路。").await;
    browser.click("#resolve button[type=submit]").await;
    becomes(&app, &number, "resolved", |t| t.status == Status::Resolved).await;
    browser.sign_out().await;
    enter(&browser, "huawu", &number, "signed in").await;
    browser
        .click("#callback input[name=solved][value=false]")
        .await;
    browser
        .click("#callback input[name=satisfaction][value=unsatisfied]")
        .await;
    browser.click("#callback button[type=submit]").await;
    becomes(&app, &number, "rated", |t| t.rating.is_some()).await;
    open(&browser, &number, "rated unsolved, agent").await;
    browser.fill("#reopen-reason", "路灯晚上还是不亮").await;
    browser.click("#reopen button[type=submit]").await;
    let reopened = becomes(&app, &number, "reopened", |t| t.reopen_count == 1).await;
    assert_eq!(reopened.status, Status::Dispatched);
    open(&browser, &number, "reopened, agent").await;
    browser.close().await;
}

#[tokio::test]
async fn a_summoned_unit_acts_only_on_its_own_part_through_the_api() {
    let app = TestApp::new().await;
    let number = demand(&app, "路口井盖缺失", "13900004444").await;
    for action in [
        json!({"action": "dispatch", "unit": "street-A3-01"}),
        json!({"action": "accept"}),
        json!({"action": "summon", "units": ["dept-A3-urban"], "note": "请到现场"}),
    ] {
        let (status, body) = app.act(&number, action).await;
        assert!(status.is_success(), "{body}");
    }
    let urban = app
        .token("urban", Role::UnitHandler, Some("dept-A3-urban"), None)
        .await;
    let act = |action: Value| app.act_as(Some(&urban), &number, action);
    // Its part, without naming it.
    let (status, body) = act(json!({"action": "accept_part"})).await;
    assert!(status.is_success(), "{body}");
    // Not the lead's reply, nor another unit's part.
    let (status, body) = act(json!({"action": "resolve", "reply": "已办"})).await;
    assert_eq!(status, axum::http::StatusCode::FORBIDDEN, "{body}");
    let (status, body) =
        act(json!({"action": "report_part", "unit": "street-A3-01", "report": "已办"})).await;
    assert_eq!(status, axum::http::StatusCode::FORBIDDEN, "{body}");
    let (status, body) = act(json!({"action": "report_part", "report": "已设置围挡"})).await;
    assert!(status.is_success(), "{body}");
    assert_eq!(body["parts"][0]["state"], json!("reported"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_passes_a_ticket_down_the_dispatcher_reassigns_it_and_a_supervisor_refuses_more_time()
 {
    let app = TestApp::new().await;
    app.add_user("lingdao", Role::UnitLeader, Some("street-A3-01"))
        .await;
    app.add_user("paidan", Role::Dispatcher, None).await;
    app.add_user("dudu", Role::Supervisor, None).await;
    let number = demand(&app, "楼道堆物", "13900005555").await;
    let (status, body) = app
        .act(
            &number,
            json!({"action": "dispatch", "unit": "street-A3-01"}),
        )
        .await;
    assert!(status.is_success(), "{body}");
    let browser = Browser::open(serve(&app).await).await;

    // The street's leader passes it down to one of its communities (转派).
    enter(&browser, "lingdao", &number, "dispatched").await;
    let offered = browser
        .script("return [...document.querySelectorAll('#redispatch-unit option')].map(o => o.value).filter(v => v);")
        .await;
    let city = app.state.engine.city();
    let street = minhu_core::UnitId::new("street-A3-01");
    let offered: Vec<String> = serde_json::from_value(offered).unwrap();
    assert!(
        offered.len() > 1
            && offered.iter().all(|u| *u != street.as_str()
                && city.units.is_under(&minhu_core::UnitId::new(u), &street)),
        "only its own sub-units: {offered:?}"
    );
    set_value(&browser, "#redispatch-unit", "cc-A3-01-02").await;
    browser.click("#redispatch button[type=submit]").await;
    becomes(&app, &number, "passed down", |t| {
        t.unit.as_ref().is_some_and(|u| u.as_str() == "cc-A3-01-02")
    })
    .await;
    browser.sign_out().await;

    // The dispatchers move it to another street, found by searching its name (改派).
    enter(&browser, "paidan", &number, "redispatched").await;
    browser.fill("#reassign-search", "马坡岭街道办事处").await;
    browser.fill("#reassign-reason", "事发地属马坡岭街道").await;
    let found = browser.text("#reassign-found").await;
    assert!(found.contains("马坡岭街道办事处"), "{found}");
    browser.click("#reassign button[type=submit]").await;
    becomes(&app, &number, "reassigned", |t| {
        t.unit
            .as_ref()
            .is_some_and(|u| u.as_str() == "street-A1-01")
    })
    .await;
    // A call merged into it by mistake is taken out again (撤销并单).
    let other = demand(&app, "电动车充电", "13900006666").await;
    let (status, body) = app
        .act(
            &other,
            json!({"action": "merge", "into": number, "reason": "同一诉求"}),
        )
        .await;
    assert!(status.is_success(), "{body}");
    open(&browser, &other, "merged, dispatcher").await;
    browser.fill("#unmerge-reason", "不是同一件事").await;
    browser.click("#unmerge button[type=submit]").await;
    becomes(&app, &other, "unmerged", |t| t.status == Status::Pending).await;
    // Now it turns out to be a repeated call: closed without handling, with the reason.
    open(&browser, &other, "unmerged, dispatcher").await;
    browser
        .fill("#close-unhandled-reason", "重复来电，已在原工单办理")
        .await;
    browser.click("#close-unhandled button[type=submit]").await;
    becomes(&app, &other, "closed", |t| t.status == Status::Closed).await;
    browser.sign_out().await;

    // The new unit asks for more time; the supervisor refuses, saying why.
    for action in [
        json!({"action": "accept"}),
        json!({"action": "request_extension", "days": 5, "reason": "需要协调"}),
    ] {
        let (status, body) = app.act(&number, action).await;
        assert!(status.is_success(), "{body}");
    }
    let deadline = ticket(&app, &number).await.deadlines.unwrap().resolve_by;
    enter(&browser, "dudu", &number, "extension asked").await;
    browser.fill("#refuse-reason", "时限内可以办结").await;
    browser.click("#refuse-extension button[type=submit]").await;
    let refused = becomes(&app, &number, "extension refused", |t| {
        t.extension.is_none()
    })
    .await;
    assert_eq!(refused.deadlines.unwrap().resolve_by, deadline);
    assert_eq!(refused.extension_count, 0);
    open(&browser, &number, "extension refused, supervisor").await;
    browser.close().await;
}
