//! Delivery over real sockets: a local axum server stands in for the webhook receiver
//! and the SMS gateway, in-process SMTP servers over TCP for the mail relay; each also
//! over TLS, with a CA and a certificate for 127.0.0.1 made at test time. The store is
//! a real SQLite file, the clock a manual one.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use jiff::SignedDuration;
use minhu_core::event::Actor;
use minhu_core::ids::{TicketNumber, UnitId};
use minhu_core::rollup::{DailyKey, HourlyKey, Metric, Rollup, epoch_hour};
use minhu_core::ticket::{Channel, Citizen, Intake, Kind, Rating, Satisfaction};
use minhu_core::workflow::Command;
use minhu_core::{Clock, ManualClock};
use minhu_engine::Engine;
use minhu_notify::{DeliveryReport, Notifier, NotifyConfig, Outbox};
use minhu_store::{SqlStore, Store};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

const SECRET: &str = "a-webhook-secret-of-some-length";

/// What the local receivers got, and how many webhook calls should fail first.
#[derive(Clone, Default)]
struct Received {
    webhooks: Vec<(HeaderMap, String)>,
    sms: Vec<String>,
    mails: Vec<Mail>,
    /// The AUTH commands SMTP servers got, and whether over TLS.
    logins: Vec<(String, bool)>,
    fail_webhooks: usize,
}

#[derive(Clone)]
struct Mail {
    text: String,
    /// Whether it came over TLS (STARTTLS or implicit).
    over_tls: bool,
}

type Shared = Arc<Mutex<Received>>;

/// A copy of what was received so far (no lock held across awaits).
fn received(got: &Shared) -> Received {
    got.lock().unwrap().clone()
}

async fn webhook(State(got): State<Shared>, headers: HeaderMap, body: String) -> StatusCode {
    let mut got = got.lock().unwrap();
    if got.fail_webhooks > 0 {
        got.fail_webhooks -= 1;
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    got.webhooks.push((headers, body));
    StatusCode::NO_CONTENT
}

async fn sms(State(got): State<Shared>, body: String) -> StatusCode {
    got.lock().unwrap().sms.push(body);
    StatusCode::OK
}

/// How a test SMTP server meets its clients.
#[derive(Clone, Copy)]
enum SmtpMode {
    /// Plain SMTP, STARTTLS not offered.
    Plain,
    /// Plain SMTP offering STARTTLS.
    Starttls,
    /// TLS from the first byte.
    Implicit,
}

/// A minimal SMTP server: enough of RFC 5321 (and 3207, STARTTLS) for one client to
/// hand over mail.
async fn smtp_sink(listener: TcpListener, got: Shared, mode: SmtpMode, tls: TlsAcceptor) {
    loop {
        let Ok((socket, _)) = listener.accept().await else {
            return;
        };
        let (got, tls) = (got.clone(), tls.clone());
        tokio::spawn(async move {
            match mode {
                SmtpMode::Plain => {
                    smtp_session(socket, &got, Stage::Plain).await;
                }
                SmtpMode::Implicit => {
                    if let Ok(socket) = tls.accept(socket).await {
                        smtp_session(socket, &got, Stage::Tls).await;
                    }
                }
                SmtpMode::Starttls => {
                    let Some(socket) = smtp_session(socket, &got, Stage::OfferingTls).await else {
                        return;
                    };
                    if let Ok(socket) = tls.accept(socket).await {
                        smtp_session(socket, &got, Stage::Upgraded).await;
                    }
                }
            }
        });
    }
}

/// Where an SMTP conversation stands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Plain, STARTTLS not offered.
    Plain,
    /// Plain, STARTTLS offered.
    OfferingTls,
    /// TLS from the start.
    Tls,
    /// TLS after STARTTLS: no second greeting, the client starts with EHLO.
    Upgraded,
}

/// One conversation; returns the connection when the client takes up STARTTLS, to go
/// on in TLS.
async fn smtp_session<S: AsyncRead + AsyncWrite + Unpin>(
    socket: S,
    got: &Shared,
    stage: Stage,
) -> Option<S> {
    let mut socket = BufReader::new(socket);
    if stage != Stage::Upgraded {
        socket.write_all(b"220 sink ESMTP\r\n").await.ok()?;
    }
    let offer_starttls = stage == Stage::OfferingTls;
    let over_tls = matches!(stage, Stage::Tls | Stage::Upgraded);
    let mut data: Option<String> = None;
    let mut buffer = String::new();
    loop {
        buffer.clear();
        if socket.read_line(&mut buffer).await.ok()? == 0 {
            return None;
        }
        let line = buffer.trim_end_matches(['\r', '\n']);
        if let Some(mail) = &mut data {
            if line == "." {
                let text = std::mem::take(mail);
                got.lock().unwrap().mails.push(Mail { text, over_tls });
                data = None;
                socket.write_all(b"250 queued\r\n").await.ok()?;
            } else {
                mail.push_str(line);
                mail.push('\n');
            }
            continue;
        }
        let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
        let answer: &[u8] = match verb.as_str() {
            "EHLO" if offer_starttls => b"250-sink\r\n250 STARTTLS\r\n",
            "EHLO" if over_tls => b"250-sink\r\n250 AUTH PLAIN LOGIN\r\n",
            "AUTH" => {
                got.lock().unwrap().logins.push((line.to_owned(), over_tls));
                b"235 welcome\r\n"
            }
            "STAR" if offer_starttls => {
                socket.write_all(b"220 go ahead\r\n").await.ok()?;
                return Some(socket.into_inner());
            }
            "DATA" => {
                data = Some(String::new());
                b"354 go on\r\n"
            }
            "QUIT" => {
                socket.write_all(b"221 bye\r\n").await.ok()?;
                return None;
            }
            _ => b"250 ok\r\n",
        };
        socket.write_all(answer).await.ok()?;
    }
}

/// A CA named `ca_name` made for this test and, signed by it, a certificate for
/// 127.0.0.1 that the local TLS servers present. Nothing outside the test trusts the CA.
struct Pki {
    ca_pem: String,
    server: Arc<ServerConfig>,
}

fn pki(ca_name: &str) -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, ca_name);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf = leaf.signed_by(&key, &ca).unwrap();
    let server =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(leaf.der().to_vec())],
                PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
            )
            .unwrap();
    Pki {
        ca_pem: ca.pem(),
        server: Arc::new(server),
    }
}

/// Accepts TCP connections and completes a TLS handshake on each: axum over TLS.
struct TlsListener {
    tcp: TcpListener,
    tls: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((socket, at)) = self.tcp.accept().await else {
                continue;
            };
            // A client that refuses the certificate ends the handshake: wait for the next.
            if let Ok(socket) = self.tls.accept(socket).await {
                return (socket, at);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}

/// Where the local receivers listen, the file holding their CA and one holding a CA
/// that did not sign their certificate.
struct Servers {
    http: SocketAddr,
    https: SocketAddr,
    smtp: SocketAddr,
    starttls: SocketAddr,
    smtps: SocketAddr,
    ca_file: PathBuf,
    other_ca_file: PathBuf,
}

async fn start_servers(got: &Shared, dir: &Path) -> Servers {
    let servers_pki = pki("A市 12345 test CA");
    let ca_file = dir.join("city-ca.pem");
    std::fs::write(&ca_file, &servers_pki.ca_pem).unwrap();
    let other_ca_file = dir.join("other-ca.pem");
    std::fs::write(&other_ca_file, pki("another CA").ca_pem).unwrap();
    let tls = TlsAcceptor::from(servers_pki.server);
    let app = Router::new()
        .route("/hook", post(webhook))
        .route("/sms", post(sms))
        .with_state(got.clone());
    let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http_at = http.local_addr().unwrap();
    tokio::spawn(axum::serve(http, app.clone()).into_future());
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let https_at = tcp.local_addr().unwrap();
    let https = TlsListener {
        tcp,
        tls: tls.clone(),
    };
    tokio::spawn(axum::serve(https, app).into_future());
    let mut smtp = Vec::new();
    for mode in [SmtpMode::Plain, SmtpMode::Starttls, SmtpMode::Implicit] {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        smtp.push(listener.local_addr().unwrap());
        tokio::spawn(smtp_sink(listener, got.clone(), mode, tls.clone()));
    }
    Servers {
        http: http_at,
        https: https_at,
        smtp: smtp[0],
        starttls: smtp[1],
        smtps: smtp[2],
        ca_file,
        other_ca_file,
    }
}

/// The channels of most tests: all plain, to local receivers.
fn plain_channels(at: &Servers) -> String {
    let Servers { http, smtp, .. } = at;
    format!(
        r#"
        [[channel]]
        name = "integration"
        kind = "webhook"
        url = "http://{http}/hook"
        secret = "{SECRET}"
        alerts = true

        [[channel]]
        name = "citizen-sms"
        kind = "sms"
        url = "http://{http}/sms"
        body = '{{"mobile":"{{phone}}","content":"{{text}}"}}'
        milestones = ["received", "resolved", "case_replied"]
        alerts = true
        alert_recipients = ["{DUTY_OFFICER}"]

        [[channel]]
        name = "citizen-mail"
        kind = "email"
        smtp = "smtp://{smtp}"
        tls = "none"
        from = "12345 <noreply@city-a.example.cn>"
        locale = "en"
        milestones = ["received"]
        "#
    )
}

/// The retry settings of every test, then `channels`.
fn notify_config(channels: &str) -> NotifyConfig {
    NotifyConfig::parse(&format!(
        r#"
        locale = "zh-CN"
        [retry]
        max_attempts = 4
        first_delay = "30s"
        max_delay = "10m"
        {channels}
        "#
    ))
    .unwrap()
}

struct Setup {
    /// The store under the engine: the tests read the outbox rows the engine wrote.
    store: Arc<dyn Store>,
    engine: Arc<Engine>,
    clock: Arc<ManualClock>,
    notifier: Notifier,
    got: Shared,
    servers: Servers,
    _dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    setup_with(plain_channels).await
}

/// An engine telling the channels that `channels` writes for the local receivers, and
/// its delivery worker.
async fn setup_with(channels: impl FnOnce(&Servers) -> String) -> Setup {
    let got = Shared::default();
    let dir = tempfile::tempdir().unwrap();
    let servers = start_servers(&got, dir.path()).await;
    let config = notify_config(&channels(&servers));
    let city =
        minhu_config::load_city(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/city"))
            .unwrap();
    let store: Arc<dyn Store> = Arc::new(
        SqlStore::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
            .await
            .unwrap(),
    );
    let clock = Arc::new(ManualClock::new("2026-11-23T02:00:00Z".parse().unwrap()));
    let city = Arc::new(city);
    let config = Arc::new(config);
    let engine = Engine::builder(store.clone(), city.clone(), clock.clone())
        .announce(Arc::new(Outbox::new(config.clone(), city)))
        .build();
    let notifier = Notifier::new(
        store.clone(),
        clock.clone(),
        &config,
        engine.outbox_changed().clone(),
    )
    .unwrap();
    Setup {
        store,
        engine: Arc::new(engine),
        clock,
        notifier,
        got,
        servers,
        _dir: dir,
    }
}

fn demand(phone: &str, email: Option<&str>) -> Intake {
    Intake {
        channel: Channel::Web,
        kind: Kind::Complaint,
        title: "电梯停运".into(),
        description: "小区电梯停运一周".into(),
        address: Some("A3区".into()),
        location: None,
        citizen: Citizen {
            phone: Some(phone.into()),
            email: email.map(str::to_owned),
            ..Citizen::default()
        },
        category: None,
        region: None,
        tier: minhu_core::deadline::TierCode("7d".into()),
        external_ref: None,
        city: None,
    }
}

async fn take_in(s: &Setup, phone: &str, email: Option<&str>) -> TicketNumber {
    s.engine
        .intake(demand(phone, email), Actor::citizen(), None)
        .await
        .unwrap()
        .ticket
        .number
}

#[tokio::test]
async fn each_channel_gets_each_event_once_signed_and_in_its_language() {
    let s = setup().await;
    let number = take_in(&s, "13812345678", Some("li@example.cn")).await;
    let report = s.notifier.run_due().await.unwrap();
    assert_eq!(
        report,
        DeliveryReport {
            delivered: 3,
            retried: 0,
            failed: 0
        }
    );
    // A second pass finds nothing: each row went once.
    assert_eq!(
        s.notifier.run_due().await.unwrap(),
        DeliveryReport::default()
    );
    let got = received(&s.got);
    let (headers, body) = &got.webhooks[0];
    assert_eq!(got.webhooks.len(), 1);
    let expected = minhu_notify::channel::signature(SECRET, body.as_bytes());
    assert_eq!(headers["x-minhu-signature"], expected.as_str());
    assert_ne!(
        minhu_notify::channel::signature("another secret entirely", body.as_bytes()),
        expected
    );
    let payload: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(payload["ticket"], number.as_str());
    assert_eq!(payload["milestone"], "received");
    assert!(
        !body.contains("13812345678"),
        "a webhook carries no phone: {body}"
    );
    let sms: serde_json::Value = serde_json::from_str(&got.sms[0]).unwrap();
    assert_eq!(sms["mobile"], "13812345678");
    let text = sms["content"].as_str().unwrap();
    assert!(
        text.contains(number.as_str()) && text.contains("已受理"),
        "{text}"
    );
    assert_eq!(got.mails.len(), 1);
    let mail = &got.mails[0].text;
    assert!(mail.contains("To: li@example.cn"), "{mail}");
    assert!(
        mail.contains("Content-Type: text/plain; charset=utf-8"),
        "a charset, so strict clients read the Chinese: {mail}"
    );
    let root = format!("<ticket-{number}@city-a.example.cn>");
    assert!(mail.contains(&format!("In-Reply-To: {root}")), "{mail}");
    assert!(mail.contains(&format!("References: {root}")), "{mail}");
    assert!(
        mail.contains(&format!("Message-ID: <ticket-{number}.")),
        "{mail}"
    );
    assert!(
        mail.contains(&format!("Subject: [12345] Ticket {number}")),
        "{mail}"
    );
    let rows = s.store.notifications_of(&number).await.unwrap();
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter()
            .all(|r| r.delivered_at.is_some() && r.attempts == 1)
    );
}

/// The texts the citizen at `phone` received, in order.
fn texts_to(got: &Received, phone: &str) -> Vec<String> {
    got.sms
        .iter()
        .map(|body| serde_json::from_str::<serde_json::Value>(body).unwrap())
        .filter(|sms| sms["mobile"] == phone)
        .map(|sms| sms["content"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_citizen_hears_of_a_new_unit_more_time_a_reopen_and_a_merge_but_not_of_an_agents_rating()
 {
    // A text channel that tells every step.
    let s = setup_with(|at| {
        format!(
            r#"
            [[channel]]
            name = "citizen-sms"
            kind = "sms"
            url = "http://{}/sms"
            body = '{{"mobile":"{{phone}}","content":"{{text}}"}}'
            "#,
            at.http
        )
    })
    .await;
    let number = take_in(&s, "13812340000", None).await;
    let dispatcher = Actor::user("dispatcher");
    let handler = Actor::user("handler");
    let city = s.engine.city().clone();
    let name = |id: &str| city.units.get(&UnitId::new(id)).unwrap().name.clone();
    let steps = [
        (
            Command::Dispatch {
                unit: UnitId::new("street-A3-01"),
                reason: None,
            },
            &dispatcher,
        ),
        (
            Command::Return {
                reason: "不属于本街道".into(),
            },
            &handler,
        ),
        (
            Command::Dispatch {
                unit: UnitId::new("street-A3-02"),
                reason: None,
            },
            &dispatcher,
        ),
        (Command::Accept, &handler),
        (
            Command::RequestExtension {
                days: Some(5),
                resolve_by: None,
                reason: "需要协调物业".into(),
            },
            &handler,
        ),
        (
            Command::DecideExtension {
                approve: true,
                days: None,
                resolve_by: None,
                reason: None,
            },
            &Actor::user("supervisor"),
        ),
        (
            Command::Resolve {
                reply: "已协调物业修复".into(),
            },
            &handler,
        ),
    ];
    for (command, actor) in steps {
        s.engine.act(&number, command, actor.clone()).await.unwrap();
    }
    // The agent records the citizen's verdict on the phone: no thanks by text.
    let rating = Rating {
        solved: false,
        satisfaction: Satisfaction::Unsatisfied,
    };
    s.engine
        .act(&number, Command::Rate(rating), Actor::user("agent"))
        .await
        .unwrap();
    s.engine
        .act(
            &number,
            Command::Reopen {
                reason: "电梯又坏了".into(),
            },
            Actor::user("agent"),
        )
        .await
        .unwrap();
    let main = take_in(&s, "13812349999", None).await;
    let other = take_in(&s, "13812341111", None).await;
    s.engine
        .act(
            &other,
            Command::Merge {
                into: main.clone(),
                reason: "同一部电梯".into(),
            },
            dispatcher,
        )
        .await
        .unwrap();
    s.notifier.run_due().await.unwrap();
    let got = received(&s.got);

    let texts = texts_to(&got, "13812340000");
    let told = |words: &str| texts.iter().filter(|t| t.contains(words)).count();
    assert_eq!(told(&name("street-A3-01")), 1, "{texts:#?}");
    assert_eq!(
        told(&name("street-A3-02")),
        1,
        "the new unit is named: {texts:#?}"
    );
    let ticket = s.engine.ticket(&number).await.unwrap();
    let extended = texts
        .iter()
        .find(|t| t.contains("延长"))
        .expect("told of more time");
    let until = ticket.deadlines.map(|d| d.resolve_by);
    assert!(until.is_some());
    assert!(
        !extended.contains('Z') && extended.contains(" 前答复"),
        "{extended}"
    );
    assert_eq!(told("重新办理"), 1, "{texts:#?}");
    assert_eq!(
        told("感谢"),
        0,
        "an agent's recording is not thanked for: {texts:#?}"
    );
    let merged = texts_to(&got, "13812341111");
    assert!(
        merged
            .iter()
            .any(|t| t.contains("一并办理") && t.contains(main.as_str())),
        "{merged:#?}"
    );
}

#[tokio::test]
async fn a_failing_receiver_is_retried_with_growing_delays_then_given_up() {
    let s = setup().await;
    s.got.lock().unwrap().fail_webhooks = 2;
    let number = take_in(&s, "13812345678", None).await;
    let webhook_row = |s: &Setup| {
        let store = s.store.clone();
        let number = number.clone();
        async move {
            store
                .notifications_of(&number)
                .await
                .unwrap()
                .into_iter()
                .find(|r| r.channel == "integration")
                .unwrap()
        }
    };
    let first = s.notifier.run_due().await.unwrap();
    assert_eq!((first.delivered, first.retried), (1, 1)); // the SMS went; the hook failed
    let row = webhook_row(&s).await;
    assert_eq!(row.next_at, s.clock.now() + SignedDuration::from_secs(30));
    assert!(
        row.last_error.as_deref().unwrap().contains("503"),
        "{row:?}"
    );
    // Not due yet: nothing is tried.
    assert_eq!(
        s.notifier.run_due().await.unwrap(),
        DeliveryReport::default()
    );
    s.clock.advance(SignedDuration::from_secs(30));
    assert_eq!(s.notifier.run_due().await.unwrap().retried, 1);
    assert_eq!(
        webhook_row(&s).await.next_at,
        s.clock.now() + SignedDuration::from_secs(60)
    );
    s.clock.advance(SignedDuration::from_secs(60));
    assert_eq!(s.notifier.run_due().await.unwrap().delivered, 1);
    let row = webhook_row(&s).await;
    assert_eq!((row.attempts, row.delivered_at), (3, Some(s.clock.now())));
    assert_eq!(s.got.lock().unwrap().webhooks.len(), 1);

    // A receiver that never answers well: given up after max_attempts (4).
    s.got.lock().unwrap().fail_webhooks = usize::MAX;
    let other = take_in(&s, "13900000000", None).await;
    let mut failed = 0;
    for _ in 0..4 {
        failed += s.notifier.run_due().await.unwrap().failed;
        s.clock.advance(SignedDuration::from_mins(10));
    }
    assert_eq!(failed, 1);
    let rows = s.store.notifications_of(&other).await.unwrap();
    let hook = rows.iter().find(|r| r.channel == "integration").unwrap();
    assert_eq!((hook.attempts, hook.delivered_at), (4, None));
    assert!(hook.failed_at.is_some());
}

#[tokio::test]
async fn a_case_reply_reaches_the_citizen_of_every_merged_ticket() {
    let s = setup().await;
    let main = take_in(&s, "13800000001", None).await;
    let mut merged = Vec::new();
    for phone in ["13800000002", "13800000003"] {
        let number = take_in(&s, phone, None).await;
        let merge = Command::Merge {
            into: main.clone(),
            reason: "同一部电梯".into(),
        };
        s.engine
            .act(&number, merge, Actor::user("dispatcher"))
            .await
            .unwrap();
        merged.push(number);
    }
    let dispatch = Command::Dispatch {
        unit: UnitId::new("street-A3-01"),
        reason: None,
    };
    let handler = Actor::user("handler");
    s.engine
        .act(&main, dispatch, Actor::user("dispatcher"))
        .await
        .unwrap();
    s.engine
        .act(&main, Command::Accept, handler.clone())
        .await
        .unwrap();
    s.clock.advance(SignedDuration::from_hours(1));
    let resolve = Command::Resolve {
        reply: "电梯已修复，已电话13800000001告知".into(),
    };
    s.engine.act(&main, resolve, handler).await.unwrap();
    s.notifier.run_due().await.unwrap();
    let got = received(&s.got);
    // The integration hears of the reply without the personal data in it; the
    // citizens' own messages carry it whole.
    let replies: Vec<&String> = got
        .webhooks
        .iter()
        .map(|(_, body)| body)
        .filter(|body| body.contains("电梯已修复"))
        .collect();
    assert_eq!(replies.len(), 3, "{:?}", got.webhooks);
    assert!(
        replies.iter().all(|body| !body.contains("13800000001")),
        "{replies:?}"
    );
    for (number, phone) in merged.iter().zip(["13800000002", "13800000003"]) {
        let text = got
            .sms
            .iter()
            .map(|body| serde_json::from_str::<serde_json::Value>(body).unwrap())
            .find(|sms| {
                sms["mobile"] == phone && sms["content"].as_str().unwrap().contains("合并办理")
            })
            .unwrap_or_else(|| panic!("no case reply to {phone}: {:?}", got.sms))["content"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            text.contains(number.as_str()) && text.contains("电梯已修复"),
            "{text}"
        );
    }
    // The reply's row belongs to the merged ticket's own case_replied event.
    for number in &merged {
        let last = s.engine.events(number).await.unwrap().pop().unwrap();
        assert_eq!(last.change.name(), "case_replied");
        let rows = s.store.notifications_of(number).await.unwrap();
        assert!(
            rows.iter()
                .any(|r| r.seq == last.seq && r.channel == "citizen-sms")
        );
    }
}

/// The duty officer's phone in the test configuration.
const DUTY_OFFICER: &str = "13900000000";

/// Four weeks and a day of one community's water complaints, hour by hour: one to
/// three an hour, and every Monday from 09:00 to 12:00 (local) a usual peak of 12 to
/// 14; up to `until_hour` (excluded).
fn background(until_hour: i64) -> Rollup {
    let mut rollup = Rollup::default();
    for hour in until_hour - 29 * 24..until_hour {
        // Asia/Shanghai is 8 hours ahead; the week of 1970-01-01 began on a Thursday.
        let local = hour + 8;
        let (day_of_week, hour_of_day) = ((local / 24 + 3) % 7, local % 24);
        let n = if day_of_week == 0 && (9..12).contains(&hour_of_day) {
            12 + hour % 3
        } else {
            1 + hour % 3
        };
        rollup.hourly.insert(water(hour), n);
    }
    rollup
}

fn water(hour: i64) -> HourlyKey {
    HourlyKey {
        hour,
        region: "A3-01".into(),
        category: "城乡建设/供水".into(),
    }
}

#[tokio::test]
async fn a_surge_and_a_buck_passing_unit_are_told_once_and_a_weekly_peak_never() {
    let s = setup().await;
    // Monday 2026-11-23 10:00 in A市: the middle of the usual Monday peak.
    let now = s.clock.now();
    let peak_hour = epoch_hour(now);
    s.store
        .add_rollup(&background(peak_hour + 1))
        .await
        .unwrap();
    assert_eq!(s.engine.raise_alerts().await.unwrap(), Vec::<String>::new());

    // 14:00: fifteen calls where one to three are usual (and the background so far).
    s.clock.set("2026-11-23T06:30:00Z".parse().unwrap());
    let burst_hour = epoch_hour(s.clock.now());
    let mut rest = background(burst_hour + 1);
    rest.hourly.retain(|key, _| key.hour > peak_hour);
    rest.hourly.insert(water(burst_hour), 15);
    // And a unit whose tickets come back: 5 returns and redispatches in 20 (25 per
    // 100, above the city's 15), beside one with 1 in 20.
    let today = jiff::civil::date(2026, 11, 23);
    for (unit, metric, n) in [
        ("street-A1-01", Metric::Assigned, 20),
        ("street-A1-01", Metric::Returned, 3),
        ("street-A1-01", Metric::Redispatched, 2),
        ("street-A1-02", Metric::Assigned, 20),
        ("street-A1-02", Metric::Returned, 1),
    ] {
        let key = DailyKey {
            day: today,
            unit: unit.into(),
            region: "A1-01".into(),
            category: "城乡建设/供水".into(),
            metric,
        };
        rest.daily.insert(key, n);
    }
    s.store.add_rollup(&rest).await.unwrap();
    let mut raised = s.engine.raise_alerts().await.unwrap();
    raised.sort();
    assert_eq!(
        raised,
        [
            "buck_passing|street-A1-01|2026-11".to_owned(),
            format!("surge|A3-01|城乡建设/供水|{burst_hour}"),
        ]
    );
    let report = s.notifier.run_due().await.unwrap();
    // Each alert to the webhook and to the duty officer's phone.
    assert_eq!(report.delivered, 4, "{report:?}");
    let got = received(&s.got);
    let surge = got
        .webhooks
        .iter()
        .map(|(_, body)| serde_json::from_str::<serde_json::Value>(body).unwrap())
        .find(|payload| payload["kind"] == "surge")
        .unwrap();
    assert_eq!(surge["observed"], 15.0);
    assert_eq!(surge["category"], "城乡建设/供水");
    let texts: Vec<serde_json::Value> = got
        .sms
        .iter()
        .map(|body| serde_json::from_str(body).unwrap())
        .collect();
    assert!(texts.iter().all(|sms| sms["mobile"] == DUTY_OFFICER));
    assert!(
        texts
            .iter()
            .any(|sms| sms["content"].as_str().unwrap().contains("突发预警")),
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|sms| sms["content"].as_str().unwrap().contains("推诿预警")),
        "{texts:?}"
    );

    // Half an hour later the surge goes on: the same alerts, raised and told once.
    s.clock.set("2026-11-23T06:59:00Z".parse().unwrap());
    assert!(s.engine.raise_alerts().await.unwrap().is_empty());
    assert_eq!(
        s.notifier.run_due().await.unwrap(),
        DeliveryReport::default()
    );
    let since = "2026-11-23T00:00:00Z".parse().unwrap();
    assert_eq!(s.store.alerts_since(since).await.unwrap().len(), 2);
}

/// The TLS receivers: a webhook and an SMS gateway over https, mail over STARTTLS (the
/// default) and implicit TLS; each channel names the servers' CA when `trusted`, else
/// another (neither is among the host's roots, which the channels trust too).
fn tls_channels(at: &Servers, trusted: bool) -> String {
    let Servers {
        https,
        starttls,
        smtps,
        ..
    } = at;
    let ca = trust(at, trusted);
    format!(
        r#"
        [[channel]]
        name = "integration"
        kind = "webhook"
        url = "https://{https}/hook"
        secret = "{SECRET}"
        {ca}

        [[channel]]
        name = "citizen-sms"
        kind = "sms"
        url = "https://{https}/sms"
        {ca}

        [[channel]]
        name = "mail-starttls"
        kind = "email"
        smtp = "smtp://{starttls}"
        from = "12345 <noreply@city-a.example.cn>"
        username = "noreply@city-a.example.cn"
        password = "a mail password"
        {ca}

        [[channel]]
        name = "mail-implicit"
        kind = "email"
        smtp = "smtp://{smtps}"
        tls = "implicit"
        from = "12345 <noreply@city-a.example.cn>"
        {ca}
        "#
    )
}

/// A channel's `ca_file` line: the servers' CA, or another.
fn trust(at: &Servers, trusted: bool) -> String {
    let file = if trusted {
        &at.ca_file
    } else {
        &at.other_ca_file
    };
    format!("ca_file = '{}'", file.display())
}

/// Requires STARTTLS (the default) of the plain SMTP server, which does not offer it.
fn starttls_to_a_plain_server(at: &Servers) -> String {
    format!(
        r#"
        [[channel]]
        name = "mail-plain-server"
        kind = "email"
        smtp = "smtp://{}"
        from = "12345 <noreply@city-a.example.cn>"
        {}
        "#,
        at.smtp,
        trust(at, true)
    )
}

#[tokio::test]
async fn over_tls_each_channel_delivers_when_it_trusts_the_servers_ca() {
    let s = setup_with(|at| tls_channels(at, true)).await;
    let number = take_in(&s, "13812345678", Some("li@example.cn")).await;
    let report = s.notifier.run_due().await.unwrap();
    assert_eq!(report.delivered, 4, "{report:?}");
    let got = received(&s.got);
    let (headers, body) = &got.webhooks[0];
    assert_eq!(
        headers["x-minhu-signature"],
        minhu_notify::channel::signature(SECRET, body.as_bytes()).as_str()
    );
    assert!(body.contains(number.as_str()), "{body}");
    assert_eq!(got.sms.len(), 1);
    assert!(got.sms[0].contains("13812345678"), "{}", got.sms[0]);
    assert_eq!(got.mails.len(), 2);
    assert!(got.mails.iter().all(|mail| mail.over_tls));
    assert!(
        got.mails
            .iter()
            .all(|mail| mail.text.contains("To: li@example.cn"))
    );
    // The STARTTLS channel logged in, once encrypted: "\0user\0password" in base64.
    let login = "AUTH PLAIN AG5vcmVwbHlAY2l0eS1hLmV4YW1wbGUuY24AYSBtYWlsIHBhc3N3b3Jk";
    assert_eq!(got.logins, [(login.to_owned(), true)]);
}

#[tokio::test]
async fn an_untrusted_certificate_or_no_starttls_fails_the_attempt_which_is_retried() {
    let s = setup_with(|at| tls_channels(at, false) + &starttls_to_a_plain_server(at)).await;
    let number = take_in(&s, "13812345678", Some("li@example.cn")).await;
    let report = s.notifier.run_due().await.unwrap();
    assert_eq!((report.delivered, report.retried), (0, 5), "{report:?}");
    let got = received(&s.got);
    assert!(got.webhooks.is_empty() && got.sms.is_empty() && got.mails.is_empty());
    assert!(
        got.logins.is_empty(),
        "a password went out: {:?}",
        got.logins
    );
    let retry_at = s.clock.now() + SignedDuration::from_secs(30);
    for row in s.store.notifications_of(&number).await.unwrap() {
        let error = row.last_error.as_deref().unwrap_or_default();
        let why = if row.channel == "mail-plain-server" {
            "STARTTLS"
        } else {
            "UnknownIssuer"
        };
        assert!(error.contains(why), "{}: {error}", row.channel);
        assert_eq!((row.attempts, row.next_at), (1, retry_at), "{row:?}");
        assert!(row.delivered_at.is_none());
    }

    // The city names its CA and restarts: at their retry the rows go out over TLS;
    // mail is never sent in clear to the server without STARTTLS.
    let fixed =
        notify_config(&(tls_channels(&s.servers, true) + &starttls_to_a_plain_server(&s.servers)));
    let restarted = Notifier::new(
        s.store.clone(),
        s.clock.clone(),
        &fixed,
        s.engine.outbox_changed().clone(),
    )
    .unwrap();
    assert_eq!(
        restarted.run_due().await.unwrap(),
        DeliveryReport::default()
    );
    s.clock.advance(SignedDuration::from_secs(30));
    let report = restarted.run_due().await.unwrap();
    assert_eq!((report.delivered, report.retried), (4, 1), "{report:?}");
    let got = received(&s.got);
    assert_eq!((got.webhooks.len(), got.sms.len()), (1, 1));
    assert_eq!(got.mails.len(), 2);
    assert!(got.mails.iter().all(|mail| mail.over_tls));
}

#[test]
fn a_relative_ca_file_is_read_beside_notify_toml_and_a_missing_one_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("city-ca.pem"), pki("A市 12345 CA").ca_pem).unwrap();
    let path = dir.path().join("notify.toml");
    let hook = "[[channel]]\nname = \"hook\"\nkind = \"webhook\"\n\
                url = \"https://crm.example.cn/minhu\"\nsecret = \"0123456789abcdef\"\n";
    std::fs::write(&path, format!("{hook}ca_file = \"city-ca.pem\"\n")).unwrap();
    let config = NotifyConfig::load(&path).unwrap();
    assert_eq!(
        config.channels[0].ca_file.as_deref(),
        Some(dir.path().join("city-ca.pem").as_path())
    );
    std::fs::write(&path, format!("{hook}ca_file = \"other-ca.pem\"\n")).unwrap();
    let error = NotifyConfig::load(&path).unwrap_err().to_string();
    assert!(
        error.contains("channel[0].ca_file") && error.contains("other-ca.pem"),
        "{error}"
    );
}

/// A `notify.toml` with one SMS channel for the officials (no citizen's milestone) and
/// these `[[official]]`s: their role, where they sit (`unit = ..`, `region = ..` or
/// nothing: the whole city) and their phone.
fn duty_sms(http: &impl std::fmt::Display, officials: &[(&str, &str, &str)]) -> String {
    let mut config = format!(
        r#"
        [[channel]]
        name = "duty-sms"
        kind = "sms"
        url = "http://{http}/sms"
        body = '{{"mobile":"{{phone}}","content":"{{text}}"}}'
        milestones = []
        officials = true
        "#
    );
    for (role, place, phone) in officials {
        config.push_str(&format!(
            "\n[[official]]\nrole = \"{role}\"\n{place}\nphone = \"{phone}\"\n"
        ));
    }
    config
}

/// Issue 18: an overdue ticket is told to its unit's leader and the supervisors of its
/// place (the city's too), an escalation to those it went up to; never to another
/// district's supervisor, nor to the citizen.
#[tokio::test]
async fn an_overdue_ticket_is_told_to_its_unit_leader_and_the_supervisors_of_its_place() {
    const LEADER: &str = "13900000101";
    const A3: &str = "13900000102";
    const A1: &str = "13900000103";
    const CITY: &str = "13900000104";
    let s = setup_with(|at| {
        duty_sms(
            &at.http,
            &[
                ("unit_leader", "unit = \"street-A3-01\"", LEADER),
                ("supervisor", "region = \"A3\"", A3),
                ("supervisor", "region = \"A1\"", A1),
                ("supervisor", "", CITY),
            ],
        )
    })
    .await;
    let number = take_in(&s, "13812345678", None).await;
    for command in [
        Command::Dispatch {
            unit: UnitId::new("street-A3-01"),
            reason: None,
        },
        Command::Accept,
    ] {
        s.engine
            .act(&number, command, Actor::user("test"))
            .await
            .unwrap();
    }
    // The 7-day tier's deadline, then both escalation steps (4 hours, a day), pass.
    s.clock.advance(SignedDuration::from_hours(24 * 30));
    minhu_engine::timers::TimerWorker::new(s.engine.clone())
        .run_due()
        .await
        .unwrap();
    s.notifier.run_due().await.unwrap();
    let told: Vec<(String, String)> = received(&s.got)
        .sms
        .iter()
        .map(|body| {
            let sms: serde_json::Value = serde_json::from_str(body).unwrap();
            (
                sms["mobile"].as_str().unwrap().to_owned(),
                sms["content"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let to = |what: &str| -> Vec<&str> {
        let mut phones: Vec<&str> = told
            .iter()
            .filter(|(_, text)| text.contains(what))
            .map(|(phone, _)| phone.as_str())
            .collect();
        phones.sort();
        phones
    };
    assert_eq!(to("已超过办结时限"), [LEADER, A3, CITY], "{told:?}");
    assert_eq!(to("已升级至单位领导"), [LEADER], "{told:?}");
    assert_eq!(to("已升级至督办人员"), [A3, CITY], "{told:?}");
    assert!(
        told.iter()
            .all(|(_, text)| text.contains(number.as_str()) && text.contains("天顶街道")),
        "{told:?}"
    );
    assert_eq!(told.len(), 6, "nobody else, the citizen neither: {told:?}");
}

/// Issue 18: on a long-term ticket's review date the supervisors of its place are
/// reminded (挂账复核); another district's are not, nor the unit's leader or the citizen.
#[tokio::test]
async fn a_long_term_tickets_review_date_reminds_the_supervisors_of_its_place() {
    const LEADER: &str = "13900000201";
    const A3: &str = "13900000202";
    const A1: &str = "13900000203";
    let s = setup_with(|at| {
        duty_sms(
            &at.http,
            &[
                ("unit_leader", "unit = \"street-A3-01\"", LEADER),
                ("supervisor", "region = \"A3\"", A3),
                ("supervisor", "region = \"A1\"", A1),
            ],
        )
    })
    .await;
    let number = take_in(&s, "13812345678", None).await;
    let review_on = s
        .engine
        .today()
        .checked_add(jiff::Span::new().days(20))
        .unwrap();
    for command in [
        Command::Dispatch {
            unit: UnitId::new("street-A3-01"),
            reason: None,
        },
        Command::Accept,
        Command::MarkLongTerm {
            reason: "需纳入明年改造计划".into(),
            review_on,
        },
    ] {
        s.engine
            .act(&number, command, Actor::user("test"))
            .await
            .unwrap();
    }
    let worker = minhu_engine::timers::TimerWorker::new(s.engine.clone());
    s.clock.advance(SignedDuration::from_hours(24 * 19));
    worker.run_due().await.unwrap();
    s.notifier.run_due().await.unwrap();
    assert!(received(&s.got).sms.is_empty(), "not before its day");
    s.clock.advance(SignedDuration::from_hours(24));
    worker.run_due().await.unwrap();
    s.notifier.run_due().await.unwrap();
    let told: Vec<serde_json::Value> = received(&s.got)
        .sms
        .iter()
        .map(|body| serde_json::from_str(body).unwrap())
        .collect();
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0]["mobile"], A3);
    let text = told[0]["content"].as_str().unwrap();
    assert!(
        text.contains(number.as_str()) && text.contains("复核") && text.contains("天顶街道"),
        "{text}"
    );
}

#[test]
fn an_official_without_a_unit_or_a_way_to_reach_them_is_named() {
    for (official, problem) in [
        ("role = \"unit_leader\"\nphone = \"1\"", "official[0].unit"),
        (
            "role = \"supervisor\"\nunit = \"street-A3-01\"\nphone = \"1\"",
            "official[0].unit",
        ),
        ("role = \"supervisor\"", "official[0].phone"),
    ] {
        let error = NotifyConfig::parse(&format!("[[official]]\n{official}")).unwrap_err();
        assert!(error.starts_with(problem), "{error}");
    }
    let city =
        minhu_config::load_city(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/city"))
            .unwrap();
    let config = NotifyConfig::parse(
        "[[official]]\nrole = \"unit_leader\"\nunit = \"nowhere\"\nphone = \"1\"",
    )
    .unwrap();
    let error = config.check_city(&city).unwrap_err().to_string();
    assert!(
        error.contains("official[0].unit") && error.contains("nowhere"),
        "{error}"
    );
}
