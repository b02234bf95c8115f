//! Delivery over real sockets: a local axum server stands in for the webhook receiver
//! and the SMS gateway, an in-process SMTP server over TCP for the mail relay. The
//! store is a real SQLite file, the clock a manual one.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use jiff::SignedDuration;
use minhu_core::event::Actor;
use minhu_core::ids::{TicketNumber, UnitId};
use minhu_core::rollup::{DailyKey, HourlyKey, Metric, Rollup, epoch_hour};
use minhu_core::ticket::{Channel, Citizen, Intake, Kind};
use minhu_core::workflow::Command;
use minhu_core::{Clock, ManualClock};
use minhu_engine::Engine;
use minhu_notify::{DeliveryReport, Notifier, NotifyConfig, Outbox};
use minhu_store::{SqlStore, Store};
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

const SECRET: &str = "a-webhook-secret-of-some-length";

/// What the local receivers got, and how many webhook calls should fail first.
#[derive(Clone, Default)]
struct Received {
    webhooks: Vec<(HeaderMap, String)>,
    sms: Vec<String>,
    mails: Vec<String>,
    fail_webhooks: usize,
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

/// A minimal SMTP server: enough of RFC 5321 for one client to hand over mail.
async fn smtp_sink(listener: TcpListener, got: Shared) {
    loop {
        let Ok((socket, _)) = listener.accept().await else {
            return;
        };
        let got = got.clone();
        tokio::spawn(async move {
            let (read, mut write) = socket.into_split();
            let mut lines = BufReader::new(read).lines();
            write.write_all(b"220 sink ESMTP\r\n").await.unwrap();
            let mut data: Option<String> = None;
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(mail) = &mut data {
                    if line == "." {
                        got.lock().unwrap().mails.push(std::mem::take(mail));
                        data = None;
                        write.write_all(b"250 queued\r\n").await.unwrap();
                    } else {
                        mail.push_str(&line);
                        mail.push('\n');
                    }
                    continue;
                }
                let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
                let answer: &[u8] = match verb.as_str() {
                    "DATA" => {
                        data = Some(String::new());
                        b"354 go on\r\n"
                    }
                    "QUIT" => {
                        write.write_all(b"221 bye\r\n").await.unwrap();
                        return;
                    }
                    _ => b"250 ok\r\n",
                };
                write.write_all(answer).await.unwrap();
            }
        });
    }
}

struct Setup {
    engine: Arc<Engine>,
    clock: Arc<ManualClock>,
    notifier: Notifier,
    got: Shared,
    _dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let got = Shared::default();
    let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http_at = http.local_addr().unwrap();
    let app = Router::new()
        .route("/hook", post(webhook))
        .route("/sms", post(sms))
        .with_state(got.clone());
    tokio::spawn(async move { axum::serve(http, app).await.unwrap() });
    let mail = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mail_at = mail.local_addr().unwrap();
    tokio::spawn(smtp_sink(mail, got.clone()));
    let config = NotifyConfig::parse(&format!(
        r#"
        locale = "zh-CN"
        [retry]
        max_attempts = 4
        first_delay = "30s"
        max_delay = "10m"

        [[channel]]
        name = "integration"
        kind = "webhook"
        url = "http://{http_at}/hook"
        secret = "{SECRET}"
        alerts = true

        [[channel]]
        name = "citizen-sms"
        kind = "sms"
        url = "http://{http_at}/sms"
        body = '{{"mobile":"{{phone}}","content":"{{text}}"}}'
        milestones = ["received", "resolved", "case_replied"]
        alerts = true
        alert_recipients = ["{DUTY_OFFICER}"]

        [[channel]]
        name = "citizen-mail"
        kind = "email"
        smtp = "smtp://{mail_at}"
        from = "12345 <noreply@city-a.example.cn>"
        locale = "en"
        milestones = ["received"]
        "#
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
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
    let mut engine = Engine::new(store.clone(), city.clone(), clock.clone());
    let config = Arc::new(config);
    engine.announce = Arc::new(Outbox::new(config.clone(), city));
    let notifier =
        Notifier::new(store, clock.clone(), &config, engine.outbox_changed.clone()).unwrap();
    Setup {
        engine: Arc::new(engine),
        clock,
        notifier,
        got,
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
    let mail = &got.mails[0];
    assert!(mail.contains("To: li@example.cn"), "{mail}");
    assert!(
        mail.contains(&format!("Subject: [12345] Ticket {number}")),
        "{mail}"
    );
    let rows = s.engine.store.notifications_of(&number).await.unwrap();
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter()
            .all(|r| r.delivered_at.is_some() && r.attempts == 1)
    );
}

#[tokio::test]
async fn a_failing_receiver_is_retried_with_growing_delays_then_given_up() {
    let s = setup().await;
    s.got.lock().unwrap().fail_webhooks = 2;
    let number = take_in(&s, "13812345678", None).await;
    let webhook_row = |s: &Setup| {
        let store = s.engine.store.clone();
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
    let rows = s.engine.store.notifications_of(&other).await.unwrap();
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
        reply: "电梯已修复".into(),
    };
    s.engine.act(&main, resolve, handler).await.unwrap();
    s.notifier.run_due().await.unwrap();
    let got = received(&s.got);
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
        let rows = s.engine.store.notifications_of(number).await.unwrap();
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
    s.engine
        .store
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
    s.engine.store.add_rollup(&rest).await.unwrap();
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
    assert_eq!(s.engine.store.alerts_since(since).await.unwrap().len(), 2);
}
