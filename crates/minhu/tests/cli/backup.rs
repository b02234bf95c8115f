//! `minhu admin backup` from a real server in the middle of intake, and `minhu admin
//! restore` of it, on SQLite (VACUUM INTO) and PostgreSQL (pg_dump, pg_restore): the
//! restored store holds every ticket acknowledged before the backup began and only
//! acknowledged ones, each ticket's log replays to its stored state, the rollups equal
//! a recount of the logs, and a server on the restored store (in the data directory
//! whose search index had followed the original past the backup) takes new demands
//! and finds them by their words.

use crate::server::{
    admin_token_on, client, finds, get_json, listening, metrics_of, minhu_admin_on, post_json,
    serve_command, terminate, until,
};
use minhu_core::ticket::Ticket;
use minhu_store::{ChangeMark, SqlStore, TicketStore};
use minhu_testkit::db::TestDb;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::process::Child;

async fn serve(dir: &Path, database: Option<&str>) -> (Child, String) {
    let mut command = serve_command(dir);
    if let Some(url) = database {
        command.arg("--database").arg(url);
    }
    let mut child = command.spawn().unwrap();
    let url = listening(&mut child).await;
    (child, url)
}

fn demand(i: usize) -> serde_json::Value {
    serde_json::json!({
        "channel": "phone", "kind": "complaint", "title": format!("路灯不亮第{i}次"),
        "description": "小区门口路灯坏了三天", "address": "A3区天顶街道尖山社区",
        "category": "城乡建设/住房保障与房地产/物业服务",
        "citizen": {"phone": "13900000000"}
    })
}

/// Acknowledged tickets: their numbers and when the acknowledgement came.
type Acked = Arc<Mutex<Vec<(String, Instant)>>>;

/// Clients that post demands until `stop`, each with its idempotency key.
fn intake(
    url: &str,
    token: &str,
    acked: &Acked,
    stop: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..4)
        .map(|worker| {
            let (client, url) = (client(token), url.to_owned());
            let (acked, stop) = (acked.clone(), stop.clone());
            tokio::spawn(async move {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let response = client
                        .post(format!("{url}/api/v1/tickets"))
                        .header("Idempotency-Key", format!("backup-{worker}-{i}"))
                        .json(&demand(i))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(response.status(), reqwest::StatusCode::CREATED);
                    let ticket: serde_json::Value = response.json().await.unwrap();
                    let number = ticket["number"].as_str().unwrap().to_owned();
                    acked.lock().unwrap().push((number, Instant::now()));
                    i += 1;
                }
            })
        })
        .collect()
}

/// The body of the test on one backend: `source` and `target` are PostgreSQL
/// databases, or none for the SQLite file of the data directory.
async fn backup_during_intake_then_restore(source: Option<&str>, target: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let token = admin_token_on(dir.path(), source);
    let (mut server, url) = serve(dir.path(), source).await;
    let acked: Acked = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let clients = intake(&url, &token, &acked, &stop);
    let count = || acked.lock().unwrap().len();
    until("intake to start", async || count() >= 40).await;

    let file = dir.path().join("backup.bin");
    let began = Instant::now();
    let file_arg = file.to_str().unwrap();
    let output = tokio::task::spawn_blocking({
        let (dir, source, file_arg) = (
            dir.path().to_owned(),
            source.map(str::to_owned),
            file_arg.to_owned(),
        );
        move || minhu_admin_on(&dir, source.as_deref(), &["backup", "--out", &file_arg])
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{output:?}");
    let after_backup = count();
    until("intake after the backup", async || {
        count() >= after_backup + 40
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    // The original's search index reaches the end, past the backup: a restored store
    // taken for the same one would leave its next changes behind the index's mark.
    let reader = client(&token);
    until("the original's index to hold every ticket", async || {
        let found = get_json(&reader, &format!("{url}/api/v1/tickets?q=路灯&limit=500")).await;
        found["tickets"].as_array().unwrap().len() == acked.len()
    })
    .await;
    terminate(&mut server).await;

    // Restored into the target (the same SQLite file, replaced), in the same data
    // directory, whose search index followed the original past the backup.
    let mut args = vec!["restore", "--from", file_arg];
    if target.is_none() {
        let refused = minhu_admin_on(dir.path(), target, &args);
        assert!(
            !refused.status.success(),
            "a database that exists needs --force"
        );
        args.push("--force");
    }
    let output = minhu_admin_on(dir.path(), target, &args);
    assert!(output.status.success(), "{output:?}");
    let target_url = target.map_or_else(
        || format!("sqlite://{}", dir.path().join("minhu.db").display()),
        str::to_owned,
    );
    let store = SqlStore::connect(&target_url).await.unwrap();
    let (restored, _) = store
        .changed_since(&ChangeMark::START, 100_000)
        .await
        .unwrap();
    let numbers: std::collections::BTreeSet<String> = restored
        .iter()
        .map(|changed| changed.ticket.number.to_string())
        .collect();
    let all: std::collections::BTreeSet<&str> = acked.iter().map(|(n, _)| n.as_str()).collect();
    for (number, at) in &acked {
        if *at < began {
            assert!(
                numbers.contains(number),
                "{number}, acknowledged before the backup"
            );
        }
    }
    assert!(
        numbers.iter().all(|n| all.contains(n.as_str())),
        "only acknowledged tickets"
    );
    assert!(
        numbers.len() < acked.len(),
        "the backup is of its moment, not of the end"
    );
    for changed in &restored {
        let number = &changed.ticket.number;
        let events = store.events(number).await.unwrap();
        assert_eq!(
            Ticket::replay(number, &events).unwrap(),
            changed.ticket,
            "{number}"
        );
    }
    store.close().await;
    let recount = minhu_admin_on(dir.path(), target, &["rebuild-rollups"]);
    assert!(recount.status.success(), "{recount:?}");
    let recount = String::from_utf8(recount.stdout).unwrap();
    let tables: Vec<&str> = recount
        .lines()
        .skip_while(|l| !l.starts_with("table"))
        .skip(1)
        .collect();
    assert!(!tables.is_empty(), "{recount}");
    for line in tables {
        assert!(
            line.ends_with(" 0"),
            "the rollups differ from a recount: {recount}"
        );
    }

    // A server on the restored store: its search index catches up (rebuilt), then a
    // new demand is numbered after the restored ones and found by its words.
    let (mut server, url) = serve(dir.path(), target).await;
    until("the search index to catch up", async || {
        !metrics_of(&url)
            .await
            .contains("minhu_search_index_lag_seconds -1")
    })
    .await;
    let client = client(&token);
    let mut new = demand(0);
    new["title"] = "窨井盖丢失".into();
    new["description"] = "路口的窨井盖不见了".into();
    let created = post_json(&client, &format!("{url}/api/v1/tickets"), &new).await;
    let number = created["number"].as_str().unwrap().to_owned();
    assert!(!numbers.contains(&number), "{number} was already taken");
    until("the new ticket to be found by its words", async || {
        finds(&client, &url, "窨井盖", &number).await
    })
    .await;
    terminate(&mut server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sqlite_backup_taken_during_intake_restores_consistent() {
    backup_during_intake_then_restore(None, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_postgres_backup_taken_during_intake_restores_consistent() {
    let source = TestDb::postgres().await;
    let target = TestDb::postgres().await;
    target.store.close().await;
    backup_during_intake_then_restore(Some(&source.url), Some(&target.url)).await;
    source.close().await;
    target.close().await;
}
