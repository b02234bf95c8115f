//! Two real `minhu serve` processes on one PostgreSQL database (README "Several
//! nodes"): timers that fell due fire once and notifications go out once, though
//! both nodes' workers claim them; a ticket taken in by one node is found by its
//! words on the other, and both keep the hotspot list; a session opened on one node
//! is valid on the other; and one node killed in the middle of intake loses nothing
//! it acknowledged, the clients' retries on the other making no duplicates.

use crate::server::{
    admin_token_on, client, finds, get_json, listening, post_json, serve_city, terminate, until,
};
use axum::http::HeaderMap;
use jiff::{SignedDuration, Timestamp};
use minhu::Place;
use minhu_core::SystemClock;
use minhu_core::event::{Actor, SystemPart};
use minhu_core::ids::RegionId;
use minhu_core::taxonomy::CategoryPath;
use minhu_core::ticket::{Channel, Citizen, Intake, Kind};
use minhu_engine::Lived;
use minhu_store::{ChangeMark, OutboxStore, TicketStore, TimerStore};
use minhu_testkit::db::TestDb;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::process::Child;

/// A webhook receiver: the `X-Minhu-Delivery` id of every POST it gets.
async fn receiver() -> (String, Arc<Mutex<Vec<i64>>>) {
    let got: Arc<Mutex<Vec<i64>>> = Arc::default();
    let kept = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap| {
            let kept = kept.clone();
            async move {
                let id = headers["x-minhu-delivery"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                kept.lock().unwrap().push(id);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

/// The demo city with one webhook channel (to `hook`) that hears every step and
/// every overdue ticket.
fn city_with_webhook(dir: &Path, hook: &str) -> PathBuf {
    let city = minhu_testkit::city::copy_of_demo_city(dir);
    let notify = format!(
        "locale = \"zh-CN\"\n\
         [[channel]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{hook}\"\n\
         secret = \"two nodes, one outbox\"\nofficials = true\n\
         [[official]]\nrole = \"supervisor\"\nphone = \"13800000103\"\n"
    );
    std::fs::write(city.join("notify.toml"), notify).unwrap();
    city
}

fn intake(title: &str, description: &str, phone: &str) -> Intake {
    Intake {
        channel: Channel::Phone,
        kind: Kind::Complaint,
        title: title.into(),
        description: description.into(),
        address: Some("A3区天顶街道尖山社区".into()),
        location: None,
        citizen: Citizen {
            phone: Some(phone.into()),
            ..Citizen::default()
        },
        category: Some(CategoryPath::new("城乡建设/住房保障与房地产/物业服务")),
        region: Some(RegionId::new("A3-01-02")),
        tier: minhu_core::deadline::TierCode("24h".into()),
        external_ref: None,
        city: None,
    }
}

/// Before the nodes start: tickets dispatched twenty days ago, whose timers are all
/// due, and a burst of the same demand in the last hours (a hotspot).
async fn history(config: &Path, database: &str, dir: &Path) -> BTreeSet<String> {
    let place = Place {
        config: config.to_owned(),
        database: Some(database.to_owned()),
        data_dir: dir.to_owned(),
        model: None,
    };
    let engine = minhu::server::open_engine(&place, Arc::new(SystemClock))
        .await
        .unwrap();
    let now = Timestamp::now();
    let mut lives: Vec<Lived> = (0..40)
        .map(|i| {
            let at = now - SignedDuration::from_hours(24 * 20) + SignedDuration::from_mins(i);
            Lived::received(
                intake("楼道灯坏了", "楼道的灯坏了很久没人修", "13900000001"),
                at,
            )
        })
        .collect();
    // Fifteen: a word of every message of the window is too common to group by.
    lives.extend((0..15).map(|i| {
        let at = now - SignedDuration::from_mins(120 - i);
        // Fifteen citizens: a hotspot is many people's.
        let phone = format!("1390001{i:04}");
        Lived::received(
            intake("小区停水", "尖山社区一早开始停水，至今没有来水", &phone),
            at,
        )
    }));
    let tickets = engine
        .intake_many(lives, Actor::system(SystemPart::Import))
        .await
        .unwrap();
    tickets[..40].iter().map(|t| t.number.to_string()).collect()
}

async fn node(config: &Path, database: &str, dir: &Path) -> (Child, String) {
    let mut command = serve_city(config, dir);
    command.arg("--database").arg(database);
    let mut child = command.spawn().unwrap();
    let url = listening(&mut child).await;
    (child, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_on_one_postgres_share_the_work_once() {
    let db = TestDb::postgres().await;
    let dir = tempfile::tempdir().unwrap();
    let (hook, delivered) = receiver().await;
    let config = city_with_webhook(dir.path(), &hook);
    let due = history(&config, &db.url, &dir.path().join("setup")).await;
    let token = admin_token_on(dir.path(), Some(&db.url));
    let (dirs, store) = (
        [dir.path().join("node1"), dir.path().join("node2")],
        &db.store,
    );
    let (mut first, one) = node(&config, &db.url, &dirs[0]).await;
    let (mut second, two) = node(&config, &db.url, &dirs[1]).await;
    let api = client(&token);

    // Timers: every one that fell due fires, each once, between the two nodes.
    until("the due timers to fire", async || {
        let next = store.next_timer_due().await.unwrap();
        next.is_none_or(|at| at > Timestamp::now())
    })
    .await;
    let mut fired = 0;
    for number in &due {
        let number = minhu_core::ids::TicketNumber::parse(number).unwrap();
        let events = store.events(&number).await.unwrap();
        let timers: Vec<String> = events
            .iter()
            .filter(|e| e.actor == Actor::system(SystemPart::Timers))
            // The whole change: which deadline, due when (a ticket has a respond and
            // a resolve deadline, each warned and overdue once).
            .map(|e| serde_json::to_string(&e.change).unwrap())
            .collect();
        let once: BTreeSet<&String> = timers.iter().collect();
        assert_eq!(once.len(), timers.len(), "{number}: {timers:?}");
        fired += timers.len();
    }
    assert!(
        fired >= due.len(),
        "each ticket twenty days late had a timer: {fired}"
    );

    // Search and the hotspot list on both; each node's index follows the store.
    for (to, word, title) in [
        (&one, "窨井盖", "窨井盖丢失"),
        (&two, "共享单车", "共享单车乱停"),
    ] {
        let body = serde_json::json!({
            "channel": "phone", "kind": "complaint", "title": title,
            "description": format!("{title}，请尽快处理"), "address": "A3区天顶街道尖山社区",
            "citizen": {"phone": "13900000002"}
        });
        let created = post_json(&api, &format!("{to}/api/v1/tickets"), &body).await;
        let number = created["number"].as_str().unwrap().to_owned();
        for on in [&one, &two] {
            until("a ticket to be found on both nodes", async || {
                finds(&api, on, word, &number).await
            })
            .await;
        }
    }
    let mut lists = Vec::new();
    for on in [&one, &two] {
        let hotspots = format!("{on}/api/v1/analytics/hotspots");
        let mut list = serde_json::Value::Null;
        until("the node's kept hotspot list", async || {
            list = get_json(&api, &hotspots).await;
            list["computed_at"].is_string()
        })
        .await;
        let top = &list["hotspots"][0];
        assert!(top["count"].as_u64().is_some_and(|n| n >= 15), "{list}");
        lists.push(top["words"].clone());
    }
    assert_eq!(lists[0], lists[1]);

    // Notifications: every outbox row delivered, each once.
    until("the outbox to empty", async || {
        store.outbox_backlog().await.unwrap() == 0
    })
    .await;
    let (tickets, _) = store
        .changed_since(&ChangeMark::START, 10_000)
        .await
        .unwrap();
    let mut rows = BTreeSet::new();
    for changed in &tickets {
        for row in store
            .notifications_of(&changed.ticket.number)
            .await
            .unwrap()
        {
            assert!(row.delivered_at.is_some(), "{row:?}");
            rows.insert(row.id);
        }
    }
    let got = delivered.lock().unwrap().clone();
    let mut times: BTreeMap<i64, usize> = BTreeMap::new();
    for id in &got {
        *times.entry(*id).or_default() += 1;
    }
    assert!(
        times.values().all(|n| *n == 1),
        "delivered twice: {times:?}"
    );
    assert_eq!(times.keys().copied().collect::<BTreeSet<_>>(), rows);
    assert!(rows.len() > 40, "{}", rows.len());

    // A session opened on one node is valid on the other.
    let added = std::process::Command::new(env!("CARGO_BIN_EXE_minhu"))
        .args([
            "admin",
            "add-user",
            "zhang",
            "--role",
            "dispatcher",
            "--password-stdin",
        ])
        .arg("--config")
        .arg(&config)
        .arg("--database")
        .arg(&db.url)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(b"a long enough password 1")?;
            child.wait()
        })
        .unwrap();
    assert!(added.success());
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let signed_in = browser
        .post(format!("{one}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("login=zhang&password=a+long+enough+password+1&next=%2Ftickets")
        .send()
        .await
        .unwrap();
    let cookie = signed_in.headers()["set-cookie"].to_str().unwrap();
    let session = cookie.split(';').next().unwrap().to_owned();
    assert!(
        session.starts_with("minhu_session=") && session.len() > 30,
        "{cookie}"
    );
    for on in [&one, &two] {
        let page = browser
            .get(format!("{on}/api/v1/tickets"))
            .header("cookie", &session)
            .send()
            .await
            .unwrap();
        assert_eq!(
            page.status(),
            reqwest::StatusCode::OK,
            "the session on {on}"
        );
    }

    // One node killed mid-intake: clients that lose their answer retry on the other
    // with the same Idempotency-Key.
    let acked: Arc<Mutex<Vec<(usize, String)>>> = Arc::default();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut clients = Vec::new();
    for _ in 0..6 {
        let (api, urls, acked, next) = (
            api.clone(),
            [one.clone(), two.clone()],
            acked.clone(),
            next.clone(),
        );
        clients.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if i >= 400 {
                    return;
                }
                let body = serde_json::json!({
                    "channel": "phone", "kind": "complaint", "title": format!("节点测试{i}"),
                    "description": "路灯不亮", "address": "A3区天顶街道尖山社区",
                    "citizen": {"phone": "13900000003"}
                });
                // As a proxy spreads them: the first try on node i % 2, then the other.
                for attempt in 0.. {
                    let url = &urls[(i + attempt) % 2];
                    let sent = api
                        .post(format!("{url}/api/v1/tickets"))
                        .header("Idempotency-Key", format!("nodes-{i}"))
                        .json(&body)
                        .send()
                        .await;
                    // 201 Created, or 200 for a retry the first node had stored.
                    if let Ok(response) = sent
                        && response.status().is_success()
                        && let Ok(ticket) = response.json::<serde_json::Value>().await
                    {
                        acked
                            .lock()
                            .unwrap()
                            .push((i, ticket["number"].as_str().unwrap().to_owned()));
                        break;
                    }
                    assert!(attempt < 20, "demand {i} was never taken");
                }
            }
        }));
    }
    until("intake on both nodes", async || {
        acked.lock().unwrap().len() >= 100
    })
    .await;
    first.kill().await.unwrap();
    for client in clients {
        client.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert_eq!(acked.len(), 400);
    let (tickets, _) = store
        .changed_since(&ChangeMark::START, 10_000)
        .await
        .unwrap();
    let stored: BTreeMap<String, String> = tickets
        .iter()
        .filter(|c| c.ticket.intake.title.starts_with("节点测试"))
        .map(|c| (c.ticket.number.to_string(), c.ticket.intake.title.clone()))
        .collect();
    assert_eq!(stored.len(), 400, "one ticket per demand, none twice");
    for (i, number) in &acked {
        assert_eq!(
            stored.get(number),
            Some(&format!("节点测试{i}")),
            "{number}"
        );
    }
    terminate(&mut second).await;
    db.close().await;
}

/// `deploy/two-nodes/nginx.conf` as nginx (`scripts/ensure-nginx`, `MINHU_NGINX`) runs it
/// in front of two nodes, on a free port of this host with its files in `dir`: the
/// proxy's address, and the nginx process.
async fn nginx(dir: &Path, nodes: [&str; 2]) -> (String, Child) {
    let site = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/two-nodes/nginx.conf"),
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let hosts = nodes.map(|url| url.trim_start_matches("http://").to_owned());
    let site = site
        .replace("127.0.0.1:8081", &hosts[0])
        .replace("127.0.0.1:8082", &hosts[1])
        .replace("listen 80;", &format!("listen 127.0.0.1:{port};"));
    assert!(
        site.contains(&hosts[1]) && site.contains(&format!(":{port};")),
        "{site}"
    );
    let d = dir.display();
    let conf = format!(
        // One process, no master: killing it (when dropped) leaves no worker behind.
        "master_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
         events {{}}\nhttp {{\naccess_log off;\nclient_body_temp_path {d}/body;\n\
         proxy_temp_path {d}/proxy;\nfastcgi_temp_path {d}/fastcgi;\n\
         uwsgi_temp_path {d}/uwsgi;\nscgi_temp_path {d}/scgi;\n{site}\n}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let binary = std::env::var("MINHU_NGINX").unwrap_or_else(|_| "nginx".into());
    let child = tokio::process::Command::new(&binary)
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .args(["-g", "daemon off;"])
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{binary} (run scripts/ensure-nginx, set MINHU_NGINX): {e}"));
    let url = format!("http://127.0.0.1:{port}");
    let probe = crate::server::anonymous_client();
    until("nginx to answer", async || {
        probe.get(format!("{url}/")).send().await.is_ok()
    })
    .await;
    (url, child)
}

/// The deployment of `deploy/two-nodes`: nginx spreads requests over both nodes, which
/// trust it (MINHU_TRUSTED_PROXIES) for the client's address and nobody else, and
/// keeps /metrics to each node.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_behind_the_nginx_of_the_deployment() {
    let db = TestDb::postgres().await;
    let dir = tempfile::tempdir().unwrap();
    let token = admin_token_on(dir.path(), Some(&db.url));
    let config = minhu_testkit::city::demo_dir();
    let mut nodes = Vec::new();
    for n in ["node1", "node2"] {
        let mut command = serve_city(&config, &dir.path().join(n));
        command
            .arg("--database")
            .arg(&db.url)
            .env("MINHU_TRUSTED_PROXIES", "127.0.0.1");
        let mut child = command.spawn().unwrap();
        let url = listening(&mut child).await;
        nodes.push((child, url));
    }
    let proxy_dir = dir.path().join("nginx");
    std::fs::create_dir_all(&proxy_dir).unwrap();
    let (proxy, _nginx) = nginx(&proxy_dir, [&nodes[0].1, &nodes[1].1]).await;
    let api = client(&token);
    for i in 0..6 {
        let body = serde_json::json!({
            "channel": "phone", "kind": "complaint", "title": format!("经代理受理{i}"),
            "description": "路灯不亮", "address": "A3区天顶街道尖山社区",
            "citizen": {"phone": "13900000004"}
        });
        // What a client writes at the left of X-Forwarded-For is not believed; the
        // address nginx saw (here: this host) is, through the trusted proxy.
        let response = api
            .post(format!("{proxy}/api/v1/tickets"))
            .header("x-forwarded-for", "198.51.100.66")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::CREATED);
    }
    let audit = crate::server::minhu_admin_on(
        dir.path(),
        Some(&db.url),
        &["audit", "--action", "ticket.create", "--csv"],
    );
    let audit = String::from_utf8(audit.stdout).unwrap();
    assert_eq!(audit.matches("198.51.100.66").count(), 6, "{audit}");
    // Both nodes took requests: each node's own figures, read on its host.
    for (_, url) in &nodes {
        let text = crate::server::metrics_of(url).await;
        let created =
            "minhu_http_requests_total{method=\"POST\",route=\"/api/v1/tickets\",status=\"201\"}";
        assert!(text.contains(created), "{url} took none: {text}");
    }
    let through = api.get(format!("{proxy}/metrics")).send().await.unwrap();
    assert_eq!(through.status(), reqwest::StatusCode::NOT_FOUND);
    for (mut child, _) in nodes {
        terminate(&mut child).await;
    }
    db.close().await;
}
