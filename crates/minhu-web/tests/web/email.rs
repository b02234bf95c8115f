//! The e-mail channel against a real IMAP server: Debian's dovecot, started with a test
//! user and its own CA by `scripts/ensure-dovecot` (which fails rather than skips).
//! Mails are delivered into a folder of their own with IMAP APPEND; two watchers read
//! it at once (two nodes), through a server restart; SQLite and PostgreSQL.

use async_imap::Session;
use base64::Engine as _;
use minhu_config::channels::EmailSettings;
use minhu_core::event::{Change, Event};
use minhu_core::ticket::{Channel, Ticket};
use minhu_engine::records::TicketFilter;
use minhu_testkit::browser::wait_for;
use minhu_testkit::db::TestDb;
use minhu_testkit::web::{PNG, TestApp};
use minhu_web::channels::{Adapters, email};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// The dovecot instance is shared: one test at a time restarts it and fills folders.
static DOVECOT: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs `scripts/ensure-dovecot <what>` and reads the `NAME=value` lines it prints.
fn dovecot(what: &str) -> HashMap<String, String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/ensure-dovecot");
    let out = std::process::Command::new(script)
        .arg(what)
        .output()
        .expect("scripts/ensure-dovecot runs");
    assert!(
        out.status.success(),
        "scripts/ensure-dovecot {what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn settings(server: &HashMap<String, String>, folder: &str) -> EmailSettings {
    EmailSettings {
        server: server["MINHU_TEST_IMAP_HOST"].clone(),
        port: server["MINHU_TEST_IMAP_PORT"].parse().unwrap(),
        user: server["MINHU_TEST_IMAP_USER"].clone(),
        mailbox: folder.to_owned(),
        processed_mailbox: None,
        poll_seconds: 30,
        ca_file: Some(server["MINHU_TEST_IMAP_CA"].clone().into()),
    }
}

/// The test's own IMAP session, to deliver mails and look at their flags.
async fn session(server: &HashMap<String, String>) -> Session<TlsStream<TcpStream>> {
    let config =
        minhu_notify::tls::client_config_with(Some(server["MINHU_TEST_IMAP_CA"].as_ref())).unwrap();
    let tcp = TcpStream::connect(format!(
        "{}:{}",
        server["MINHU_TEST_IMAP_HOST"], server["MINHU_TEST_IMAP_PORT"]
    ))
    .await
    .unwrap();
    let name =
        rustls::pki_types::ServerName::try_from(server["MINHU_TEST_IMAP_HOST"].clone()).unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .unwrap();
    let mut client = async_imap::Client::new(tls);
    client.read_response().await.unwrap().unwrap();
    client
        .login(
            &server["MINHU_TEST_IMAP_USER"],
            &server["MINHU_TEST_IMAP_PASSWORD"],
        )
        .await
        .map_err(|(e, _)| e)
        .unwrap()
}

fn encoded(text: &str) -> String {
    format!(
        "=?UTF-8?B?{}?=",
        base64::engine::general_purpose::STANDARD.encode(text)
    )
}

/// A plain UTF-8 mail; `headers` adds lines (In-Reply-To, Auto-Submitted, ...).
fn plain(id: &str, from: &str, subject: &str, headers: &str, body: &str) -> String {
    format!(
        "From: {from}\r\nTo: 12345@city.example.cn\r\nSubject: {}\r\nMessage-ID: <{id}>\r\n\
         Date: Sun, 22 Nov 2026 10:00:00 +0800\r\n{headers}MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n",
        encoded(subject)
    )
}

/// An HTML-only mail with a photo attached.
fn html_with_photo(id: &str) -> String {
    let photo = base64::engine::general_purpose::STANDARD.encode(PNG);
    format!(
        "From: Wang <wang@example.cn>\r\nTo: 12345@city.example.cn\r\nSubject: {}\r\n\
         Message-ID: <{id}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n\
         Content-Type: text/html; charset=UTF-8\r\n\r\n\
         <html><body><p>公园的<b>长椅</b>断了</p><p>请尽快修理</p></body></html>\r\n--b1\r\n\
         Content-Type: image/png; name=\"bench.png\"\r\n\
         Content-Disposition: attachment; filename=\"bench.png\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{photo}\r\n--b1--\r\n",
        encoded("公园长椅断了")
    )
}

async fn email_tickets(app: &TestApp) -> Vec<Ticket> {
    let filter = TicketFilter {
        channel: Some(Channel::Email),
        identity: true,
        limit: 100,
        ..TicketFilter::default()
    };
    let mut tickets = app.state.engine.list(&filter).await.unwrap().tickets;
    tickets.sort_by_key(|t| t.number.to_string());
    tickets
}

async fn ticket_from(app: &TestApp, email: &str) -> Option<Ticket> {
    email_tickets(app)
        .await
        .into_iter()
        .find(|t| t.intake.citizen.email.as_deref() == Some(email))
}

fn follow_ups(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match &e.change {
            Change::FollowedUp { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

async fn mails_become_demands_and_replies_follow_ups(app: &TestApp) {
    let _one = DOVECOT.lock().await;
    let server = dovecot("start");
    let folder = format!("test-{:016x}", rand::random::<u64>());
    let mut imap = session(&server).await;
    imap.create(&folder).await.unwrap();
    let tag = &folder;
    // Two nodes read the same mailbox.
    let mut state = app.state.clone();
    state.channels = Arc::new(Adapters {
        email: Some(
            email::Mailbox::new(
                &settings(&server, &folder),
                &server["MINHU_TEST_IMAP_PASSWORD"],
            )
            .unwrap(),
        ),
        ..Adapters::default()
    });
    let watchers = [
        tokio::spawn(email::watch(state.clone())),
        tokio::spawn(email::watch(state)),
    ];

    let first = plain(
        &format!("m1.{tag}@example.cn"),
        "=?UTF-8?B?5p2O5piO?= <LiMing@Example.cn>",
        "小区门口路灯不亮",
        "",
        "朝阳区望京西园三区门口的路灯坏了一周，晚上很黑。",
    );
    imap.append(&folder, None, None, &first).await.unwrap();
    let ticket = wait_for("the first mail's demand", || {
        ticket_from(app, "liming@example.cn")
    })
    .await;
    assert_eq!(ticket.intake.title, "小区门口路灯不亮");
    assert!(
        ticket.intake.description.contains("路灯坏了一周"),
        "{ticket:?}"
    );
    assert_eq!(ticket.intake.citizen.name.as_deref(), Some("李明"));
    let number = ticket.number.to_string();

    // The reply to minhu-notify's mail about it (its thread headers), the same mail
    // delivered twice, a stranger naming the number, an HTML mail with a photo and an
    // auto-reply.
    let domain = "city.example.cn";
    let reply = plain(
        &format!("m2.{tag}@example.cn"),
        "liming@example.cn",
        "Re: 您的诉求已受理",
        &format!(
            "In-Reply-To: <{}>\r\nReferences: <{}>\r\n",
            minhu_notify::channel::thread_id(&number, Some(7), domain),
            minhu_notify::channel::thread_id(&number, None, domain)
        ),
        "灯还是不亮。\r\n\r\n> 您的诉求已受理",
    );
    let stranger = plain(
        &format!("m3.{tag}@example.cn"),
        "stranger@example.cn",
        &format!("Re: 工单 {number}"),
        "",
        "我也看到这盏灯坏了。",
    );
    let auto = plain(
        &format!("m4.{tag}@example.cn"),
        "liming@example.cn",
        "自动回复: 我在休假",
        "Auto-Submitted: auto-replied\r\n",
        "我在休假。",
    );
    for mail in [
        &reply,
        &first,
        &stranger,
        &html_with_photo(&format!("m5.{tag}@example.cn")),
        &auto,
    ] {
        imap.append(&folder, None, None, mail).await.unwrap();
    }
    wait_for("the HTML mail's demand", || {
        ticket_from(app, "wang@example.cn")
    })
    .await;

    // The server restarts; the watchers come back on their own.
    drop(imap);
    let server = dovecot("restart");
    let mut imap = session(&server).await;
    let after = plain(
        &format!("m6.{tag}@example.cn"),
        "zhao@example.cn",
        "restart",
        "",
        "垃圾站满了",
    );
    imap.append(&folder, None, None, &after).await.unwrap();
    wait_for("the mail sent after the restart", || {
        ticket_from(app, "zhao@example.cn")
    })
    .await;

    let tickets = email_tickets(app).await;
    let senders: Vec<_> = tickets
        .iter()
        .map(|t| t.intake.citizen.email.clone().unwrap())
        .collect();
    assert_eq!(
        senders.len(),
        4,
        "one demand per new mail, none for the repeat, the reply or the auto-reply: {senders:?}"
    );
    let events = app.state.engine.events(&ticket.number).await.unwrap();
    assert_eq!(follow_ups(&events), vec!["灯还是不亮。".to_owned()]);
    let html = ticket_from(app, "wang@example.cn").await.unwrap();
    assert!(
        html.intake.description.contains("公园的长椅断了"),
        "{:?}",
        html.intake.description
    );
    assert!(
        !html.intake.description.contains('<'),
        "{:?}",
        html.intake.description
    );
    assert_eq!(html.attachments.len(), 1, "the photo, once");
    assert_eq!(html.attachments[0].media_type, "image/png");
    let stranger_ticket = ticket_from(app, "stranger@example.cn").await.unwrap();
    assert_ne!(stranger_ticket.number, ticket.number);

    // Every mail handled is flagged \Seen.
    imap.select(&folder).await.unwrap();
    let unseen = imap.search("UNSEEN").await.unwrap();
    assert!(unseen.is_empty(), "unseen left: {unseen:?}");
    for watcher in watchers {
        watcher.abort();
    }
    // (Deleting the selected folder ends the session too.)
    imap.delete(&folder).await.unwrap();
}

#[tokio::test]
async fn email_on_sqlite() {
    let db = TestDb::sqlite().await;
    let app = TestApp::on(db.store.clone()).await;
    mails_become_demands_and_replies_follow_ups(&app).await;
    drop(app);
    db.close().await;
}

#[tokio::test]
async fn email_on_postgres() {
    let db = TestDb::postgres().await;
    let app = TestApp::on(db.store.clone()).await;
    mails_become_demands_and_replies_follow_ups(&app).await;
    drop(app);
    db.close().await;
}
