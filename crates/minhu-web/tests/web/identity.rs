//! One citizen across channels: a WeChat user links their phone with a code sent to it
//! by SMS, and the agent's console then shows the phone's and the WeChat account's
//! demands as one history; codes expire, are used once and allow five tries, and the
//! link is audited; SQLite and PostgreSQL.

use crate::phone::{cti, get, sign_in};
use crate::sms::sms;
use crate::wechat::{say, text};
use axum::http::StatusCode;
use jiff::SignedDuration;
use minhu_core::access::Role;
use minhu_engine::records::AuditFilter;
use minhu_testkit::db::TestDb;
use minhu_testkit::web::{CTI_SECRET, TestApp};
use serde_json::json;

const OPENID: &str = "oLinkTest000000000000000001";
const PHONE: &str = "13955556666";

/// The console page opened for a new call from `PHONE`.
async fn console_for_a_call(app: &TestApp, cookie: &str, id: &str) -> String {
    let ring = json!({"call_id": id, "event": "ringing", "caller": PHONE, "agent": "wu"});
    let (status, answer) = cti(app, &ring, CTI_SECRET).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, page, _) = app
        .send_as(None, get(&format!("/console?call={id}"), cookie))
        .await;
    assert_eq!(status, StatusCode::OK);
    page.as_str().unwrap().to_owned()
}

/// The last link code sent to `to`.
fn code_sent_to(app: &TestApp, to: &str) -> String {
    app.sms
        .link_codes()
        .into_iter()
        .rev()
        .find(|(sent_to, _)| sent_to == to)
        .unwrap_or_else(|| panic!("no code sent to {to}"))
        .1
}

fn another(code: &str) -> &'static str {
    if code == "000000" { "111111" } else { "000000" }
}

async fn a_linked_phone_shows_the_wechat_demands_too(app: &TestApp) {
    let on_wechat = say(app, OPENID, 9001, &text("小区垃圾三天没人清运"))
        .await
        .number();
    let by_sms = sms(app, "gw-link-1", PHONE, "路口红绿灯坏了").await["ticket"]
        .as_str()
        .unwrap()
        .to_owned();
    app.add_user("wu", Role::HotlineAgent, None).await;
    let (cookie, _) = sign_in(app, "wu").await;
    let page = console_for_a_call(app, &cookie, "L-0001").await;
    assert!(page.contains(&by_sms), "the phone's own demand");
    assert!(!page.contains(&on_wechat), "not yet linked");

    // Asked on WeChat: the code goes to the phone, the reply names it masked.
    let asked = say(app, OPENID, 9002, &text(&format!("绑定手机 {PHONE}"))).await;
    assert!(asked.content.contains("139****6666"), "{}", asked.content);
    assert!(!asked.content.contains(PHONE), "{}", asked.content);
    let code = code_sent_to(app, PHONE);
    let wrong = say(app, OPENID, 9003, &text(another(&code))).await;
    assert!(wrong.content.contains("不正确"), "{}", wrong.content);
    let linked = say(app, OPENID, 9004, &text(&code)).await;
    assert!(linked.content.contains("绑定成功"), "{}", linked.content);
    let again = say(app, OPENID, 9005, &text(&code)).await;
    assert!(
        again.content.contains("无效"),
        "a code is used once: {}",
        again.content
    );

    let log = app
        .state
        .engine
        .audit()
        .log(&AuditFilter {
            action: Some("identity.link".into()),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].actor, "channel:wechat");
    assert!(log[0].detail.contains("139****6666"), "{}", log[0].detail);
    assert!(!log[0].detail.contains(PHONE), "{}", log[0].detail);

    let page = console_for_a_call(app, &cookie, "L-0002").await;
    assert!(
        page.contains(&by_sms) && page.contains(&on_wechat),
        "one history"
    );
    // The SMS demand's page lists the WeChat one as the citizen's.
    let (status, page, _) = app
        .send_as(None, get(&format!("/tickets/{by_sms}"), &cookie))
        .await;
    assert_eq!(status, StatusCode::OK);
    let page = page.as_str().unwrap();
    let history = page
        .split("id=\"citizen-history\"")
        .nth(1)
        .expect("the citizen's history");
    assert!(history.contains(&on_wechat), "{history}");

    // A code expires after ten minutes.
    say(app, OPENID, 9006, &text("绑定邮箱 Wu@Example.cn")).await;
    let code = code_sent_to(app, "wu@example.cn");
    app.clock.advance(SignedDuration::from_mins(11));
    let late = say(app, OPENID, 9007, &text(&code)).await;
    assert!(late.content.contains("过期"), "{}", late.content);
    // Five tries, then even the right code is refused.
    say(app, OPENID, 9008, &text("绑定邮箱 wu@example.cn")).await;
    let code = code_sent_to(app, "wu@example.cn");
    for id in 9010..9015 {
        let reply = say(app, OPENID, id, &text(another(&code))).await;
        assert!(reply.content.contains("不正确"), "{}", reply.content);
    }
    let spent = say(app, OPENID, 9020, &text(&code)).await;
    assert!(spent.content.contains("无效"), "{}", spent.content);
}

#[tokio::test]
async fn identities_on_sqlite() {
    let db = TestDb::sqlite().await;
    let app = TestApp::on(db.store.clone()).await;
    a_linked_phone_shows_the_wechat_demands_too(&app).await;
    drop(app);
    db.close().await;
}

#[tokio::test]
async fn identities_on_postgres() {
    let db = TestDb::postgres().await;
    let app = TestApp::on(db.store.clone()).await;
    a_linked_phone_shows_the_wechat_demands_too(&app).await;
    drop(app);
    db.close().await;
}
