//! The WeChat official account adapter, spoken to as WeChat's servers do: requests
//! built from the protocol (the URL check, signed XML messages, the safe mode's
//! AES-256-CBC envelope, written here from the protocol's description and not with the
//! adapter's own code), on SQLite and PostgreSQL.

use aes::Aes256;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use jiff::SignedDuration;
use minhu_engine::records::AuditFilter;
use minhu_testkit::db::TestDb;
use minhu_testkit::web::{TestApp, WECHAT_AES_KEY, WECHAT_APP_ID, WECHAT_TOKEN};
use serde_json::Value;
use sha1::{Digest, Sha1};

const ACCOUNT: &str = "gh_0123456789ab";

/// WeChat's signature: SHA-1 of the sorted parts, joined, in hex.
fn sign(parts: &[&str]) -> String {
    let mut parts = parts.to_vec();
    parts.sort();
    hex::encode(Sha1::digest(parts.concat()))
}

/// A moment as WeChat stamps its requests (the app's clock).
fn now(app: &TestApp) -> String {
    app.state.engine.now().as_second().to_string()
}

fn signed_query(app: &TestApp, nonce: &str) -> String {
    let timestamp = now(app);
    let signature = sign(&[WECHAT_TOKEN, &timestamp, nonce]);
    format!("signature={signature}&timestamp={timestamp}&nonce={nonce}")
}

/// A message as WeChat POSTs it in plain mode.
fn message_xml(openid: &str, msg_id: u64, body: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>\
         <CreateTime>1764900000</CreateTime>{body}<MsgId>{msg_id}</MsgId></xml>"
    )
}

pub(crate) fn text(content: &str) -> String {
    format!("<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>")
}

fn image(url: &str) -> String {
    format!(
        "<MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[{url}]]></PicUrl><MediaId><![CDATA[media_1]]></MediaId>"
    )
}

fn location(lat: f64, lon: f64, label: &str) -> String {
    format!(
        "<MsgType><![CDATA[location]]></MsgType><Location_X>{lat}</Location_X><Location_Y>{lon}</Location_Y>\
         <Scale>15</Scale><Label><![CDATA[{label}]]></Label>"
    )
}

/// POSTs a plain-mode message; the status and the reply's body.
async fn post(app: &TestApp, query: &str, xml: &str) -> (StatusCode, String) {
    let request = Request::post(format!("/channels/wechat?{query}&openid=x"))
        .header("content-type", "text/xml")
        .body(Body::from(xml.to_owned()))
        .unwrap();
    let (status, body, _) = app.send_from("101.226.103.1", None, request).await;
    let body = match body {
        Value::String(text) => text,
        other => other.to_string(),
    };
    (status, body)
}

pub(crate) async fn say(app: &TestApp, openid: &str, msg_id: u64, body: &str) -> Reply {
    let xml = message_xml(openid, msg_id, body);
    let (status, reply) = post(app, &signed_query(app, "nonce1"), &xml).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    Reply::read(&reply)
}

/// A passive text reply, read with an XML parser.
#[derive(Debug)]
pub(crate) struct Reply {
    to: String,
    from: String,
    msg_type: String,
    pub(crate) content: String,
}

impl Reply {
    fn read(xml: &str) -> Reply {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Xml {
            to_user_name: String,
            from_user_name: String,
            msg_type: String,
            content: String,
        }
        let x: Xml = quick_xml::de::from_str(xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
        Reply {
            to: x.to_user_name,
            from: x.from_user_name,
            msg_type: x.msg_type,
            content: x.content,
        }
    }

    /// The ticket number the reply names.
    pub(crate) fn number(&self) -> String {
        self.content
            .split(|c: char| !c.is_ascii_alphanumeric() && c != '-')
            .find(|w| minhu_core::ids::TicketNumber::parse(w).is_ok())
            .unwrap_or_else(|| panic!("no ticket number in {:?}", self.content))
            .to_owned()
    }
}

async fn ticket(app: &TestApp, number: &str) -> Value {
    let (status, ticket) = app.get(&format!("/api/v1/tickets/{number}")).await;
    assert_eq!(status, StatusCode::OK, "{ticket}");
    ticket
}

async fn follow_ups(app: &TestApp, number: &str) -> Vec<String> {
    let (status, events) = app.get(&format!("/api/v1/tickets/{number}/events")).await;
    assert_eq!(status, StatusCode::OK, "{events}");
    events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "followed_up")
        .map(|e| e["text"].as_str().unwrap().to_owned())
        .collect()
}

async fn count(app: &TestApp) -> u64 {
    let (_, page) = app.get("/api/v1/tickets?channel=wechat&limit=100").await;
    page["tickets"].as_array().map_or(0, |i| i.len() as u64)
}

#[tokio::test]
async fn the_url_check_echoes_only_a_signed_echostr() {
    let app = TestApp::new().await;
    let query = signed_query(&app, "20261207");
    let request = Request::get(format!(
        "/channels/wechat?{query}&echostr=5837916382019562917"
    ))
    .body(Body::empty())
    .unwrap();
    let (status, body, headers) = app.send_as(None, request).await;
    assert_eq!(status, StatusCode::OK);
    // (The test client reads a body that parses as JSON as JSON: a number here.)
    assert_eq!(body.to_string(), "5837916382019562917");
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let forged = format!(
        "/channels/wechat?signature={}&timestamp=1&nonce=2&echostr=1",
        sign(&["another-token", "1", "2"])
    );
    let (status, body, _) = app
        .send_as(None, Request::get(forged).body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let refused = app
        .state
        .engine
        .audit()
        .log(&AuditFilter {
            action: Some("channel.refused".into()),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].actor, "channel:wechat");
}

/// A text message files a demand on the wechat channel; WeChat's three retries of it
/// (same MsgId) get the same ticket number and file nothing more.
async fn a_text_message_is_filed_once(app: &TestApp) {
    let openid = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o";
    let reply = say(
        app,
        openid,
        6_000_000_001,
        &text("朝阳路12号路灯坏了，晚上很黑"),
    )
    .await;
    assert_eq!(reply.to, openid);
    assert_eq!(reply.from, ACCOUNT);
    assert_eq!(reply.msg_type, "text");
    let number = reply.number();
    assert!(
        reply
            .content
            .contains(&format!("https://12345.example.cn/track?number={number}")),
        "{reply:?}"
    );
    for _ in 0..3 {
        let again = say(
            app,
            openid,
            6_000_000_001,
            &text("朝阳路12号路灯坏了，晚上很黑"),
        )
        .await;
        assert_eq!(again.number(), number, "{again:?}");
    }
    assert_eq!(count(app).await, 1);
    let filed = ticket(app, &number).await;
    assert_eq!(filed["channel"], "wechat");
    assert_eq!(filed["description"], "朝阳路12号路灯坏了，晚上很黑");
    let created = app
        .state
        .engine
        .audit()
        .log(&AuditFilter {
            action: Some("ticket.create".into()),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert!(
        created
            .iter()
            .any(|e| e.actor == "channel:wechat" && e.target.as_deref() == Some(number.as_str())),
        "{created:?}"
    );
}

/// Photos and places sent right after go to the same demand; later messages ask "new
/// or existing?", and the answer files them there or as a new demand.
async fn follow_ups_join_the_open_demand_or_ask(app: &TestApp) {
    let openid = "oFollowUp000000000000000001";
    let first = say(
        app,
        openid,
        7_000_000_001,
        &text("小区门口垃圾堆了一周没人清"),
    )
    .await;
    let number = first.number();
    let photo = say(
        app,
        openid,
        7_000_000_002,
        &image("http://mmbiz.qpic.cn/mmbiz/abc/0"),
    )
    .await;
    assert!(photo.content.contains(&number), "{photo:?}");
    let place = say(
        app,
        openid,
        7_000_000_003,
        &location(39.9087, 116.3975, "东城区天安门广场"),
    )
    .await;
    assert!(place.content.contains(&number), "{place:?}");
    let added = follow_ups(app, &number).await;
    assert_eq!(added.len(), 2, "{added:?}");
    assert!(
        added[0].contains("http://mmbiz.qpic.cn/mmbiz/abc/0"),
        "{added:?}"
    );
    assert!(added[1].contains("东城区天安门广场"), "{added:?}");

    // An hour later: asked, the message held until the answer.
    app.clock.advance(SignedDuration::from_hours(1));
    let asked = say(app, openid, 7_000_000_004, &text("今天又堆了很多")).await;
    assert!(
        asked.content.contains("回复 1") && asked.content.contains(&number),
        "{asked:?}"
    );
    assert_eq!(follow_ups(app, &number).await.len(), 2);
    let one = say(app, openid, 7_000_000_005, &text("1")).await;
    assert!(one.content.contains(&number), "{one:?}");
    let added = follow_ups(app, &number).await;
    assert_eq!(added.last().unwrap(), "今天又堆了很多", "{added:?}");

    app.clock.advance(SignedDuration::from_hours(1));
    let asked = say(app, openid, 7_000_000_006, &text("另外楼道灯也不亮")).await;
    assert!(asked.content.contains("回复 2"), "{asked:?}");
    let two = say(app, openid, 7_000_000_007, &text("2")).await;
    let second = two.number();
    assert_ne!(second, number);
    assert_eq!(
        ticket(app, &second).await["description"],
        "另外楼道灯也不亮"
    );
    assert_eq!(follow_ups(app, &number).await.len(), 3);
    // A retry of the "2" files nothing more.
    say(app, openid, 7_000_000_007, &text("2")).await;
    assert_eq!(
        count(app).await,
        2 + 1,
        "the other test's ticket, and these two"
    );
}

#[tokio::test]
async fn wechat_on_sqlite() {
    let db = TestDb::sqlite().await;
    let app = TestApp::on(db.store.clone()).await;
    a_text_message_is_filed_once(&app).await;
    follow_ups_join_the_open_demand_or_ask(&app).await;
    drop(app);
    db.close().await;
}

#[tokio::test]
async fn wechat_on_postgres() {
    let db = TestDb::postgres().await;
    let app = TestApp::on(db.store.clone()).await;
    a_text_message_is_filed_once(&app).await;
    follow_ups_join_the_open_demand_or_ask(&app).await;
    drop(app);
    db.close().await;
}

#[tokio::test]
async fn a_place_without_words_is_held_until_the_citizen_says_what_it_is() {
    let app = TestApp::new().await;
    let openid = "oPlaceFirst0000000000000001";
    let held = say(
        &app,
        openid,
        8_000_000_001,
        &location(39.9, 116.4, "A3区天顶街道尖山社区"),
    )
    .await;
    assert!(held.content.contains("请用文字"), "{held:?}");
    assert_eq!(count(&app).await, 0);
    let filed = say(&app, openid, 8_000_000_002, &text("这里的井盖丢了，很危险")).await;
    let ticket = ticket(&app, &filed.number()).await;
    assert_eq!(ticket["address"], "A3区天顶街道尖山社区");
    assert_eq!(ticket["location"]["lat"], 39.9);
    assert_eq!(ticket["title"], "这里的井盖丢了，很危险");
}

#[tokio::test]
async fn subscribing_is_welcomed_and_other_events_get_no_reply() {
    let app = TestApp::new().await;
    let event = |name: &str| {
        format!(
            "<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[oNew]]></FromUserName>\
             <CreateTime>1764900000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{name}]]></Event></xml>"
        )
    };
    let (status, body) = post(&app, &signed_query(&app, "n"), &event("subscribe")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(Reply::read(&body).content.contains("欢迎"), "{body}");
    let (status, body) = post(&app, &signed_query(&app, "n"), &event("unsubscribe")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "success");
    assert_eq!(count(&app).await, 0);
}

#[tokio::test]
async fn unsigned_or_broken_messages_are_refused_and_file_nothing() {
    let app = TestApp::new().await;
    let xml = message_xml("oX", 1, &text("假消息"));
    let (status, body) = post(&app, "signature=00&timestamp=1&nonce=2", &xml).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, body) = post(&app, &signed_query(&app, "n"), "<xml><ToUserName>").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let no_place = message_xml("oX", 2, "<MsgType>location</MsgType><Label>x</Label>");
    let (status, body) = post(&app, &signed_query(&app, "n"), &no_place).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("Location_X"), "{body}");
    assert_eq!(count(&app).await, 0);
}

/// The safe mode's envelope, as WeChat's documentation describes it.
fn aes_key() -> [u8; 32] {
    // WeChat's sample key (the tests' too) has bits past the 256 in its last character.
    base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
    )
    .decode(format!("{WECHAT_AES_KEY}="))
    .unwrap()
    .try_into()
    .unwrap()
}

fn seal(message: &str, app_id: &str) -> String {
    let key = aes_key();
    let mut plain = b"0123456789abcdef".to_vec();
    plain.extend((message.len() as u32).to_be_bytes());
    plain.extend(message.as_bytes());
    plain.extend(app_id.as_bytes());
    let pad = 32 - plain.len() % 32;
    plain.extend(std::iter::repeat_n(pad as u8, pad));
    let sealed = cbc::Encryptor::<Aes256>::new_from_slices(&key, &key[..16])
        .unwrap()
        .encrypt_padded_vec::<NoPadding>(&plain);
    BASE64.encode(sealed)
}

fn unseal(sealed: &str) -> (String, String) {
    let key = aes_key();
    let plain = cbc::Decryptor::<Aes256>::new_from_slices(&key, &key[..16])
        .unwrap()
        .decrypt_padded_vec::<NoPadding>(&BASE64.decode(sealed).unwrap())
        .unwrap();
    let pad = *plain.last().unwrap() as usize;
    assert!((1..=32).contains(&pad));
    let plain = &plain[..plain.len() - pad];
    let len = u32::from_be_bytes(plain[16..20].try_into().unwrap()) as usize;
    (
        String::from_utf8(plain[20..20 + len].to_vec()).unwrap(),
        String::from_utf8(plain[20 + len..].to_vec()).unwrap(),
    )
}

async fn post_sealed(app: &TestApp, sealed: &str, msg_signature: &str) -> (StatusCode, String) {
    let timestamp = now(app);
    let nonce = "1320562132";
    let signature = sign(&[WECHAT_TOKEN, &timestamp, nonce]);
    let query = format!(
        "signature={signature}&timestamp={timestamp}&nonce={nonce}&encrypt_type=aes&msg_signature={msg_signature}"
    );
    let body = format!(
        "<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{sealed}]]></Encrypt></xml>"
    );
    post(app, &query, &body).await
}

#[tokio::test]
async fn safe_mode_envelopes_are_opened_checked_and_the_reply_sealed() {
    let app = TestApp::new().await;
    let openid = "oSafeMode000000000000000001";
    let sealed = seal(
        &message_xml(openid, 9_000_000_001, &text("楼上漏水到我家")),
        WECHAT_APP_ID,
    );
    let timestamp = now(&app);
    let msg_signature = sign(&[WECHAT_TOKEN, &timestamp, "1320562132", &sealed]);
    let (status, body) = post_sealed(&app, &sealed, &msg_signature).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Sealed {
        encrypt: String,
        msg_signature: String,
        time_stamp: String,
        nonce: String,
    }
    let reply: Sealed = quick_xml::de::from_str(&body).unwrap();
    assert_eq!(
        reply.msg_signature,
        sign(&[
            WECHAT_TOKEN,
            &reply.time_stamp,
            &reply.nonce,
            &reply.encrypt
        ])
    );
    let (inner, app_id) = unseal(&reply.encrypt);
    assert_eq!(app_id, WECHAT_APP_ID);
    let reply = Reply::read(&inner);
    assert_eq!(reply.to, openid);
    let filed = ticket(&app, &reply.number()).await;
    assert_eq!(filed["description"], "楼上漏水到我家");

    // A wrong msg_signature, or an envelope sealed for another account: refused.
    let (status, _) = post_sealed(&app, &sealed, &"0".repeat(40)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let other = seal(
        &message_xml(openid, 9_000_000_002, &text("x")),
        "wx9999999999999999",
    );
    let signature = sign(&[WECHAT_TOKEN, &now(&app), "1320562132", &other]);
    let (status, body) = post_sealed(&app, &other, &signature).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(count(&app).await, 1);
}
