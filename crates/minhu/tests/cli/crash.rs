//! Killing the server (SIGKILL) in the middle of intake loses no acknowledged ticket,
//! and clients that retry their unanswered requests create no duplicates; stopping it
//! (SIGTERM) answers what it holds and exits cleanly.

use crate::server;

use server::{admin_token, client, start_server, terminate};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

fn body(i: usize) -> serde_json::Value {
    serde_json::json!({
        "channel": "web", "kind": "complaint", "title": format!("第{i}号诉求"),
        "description": "小区电梯坏了一个月物业不修", "address": "A3区天顶街道尖山社区",
        "category": "城乡建设/住房保障与房地产/物业服务", "citizen": {"phone": "13812345678"}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_loses_no_acknowledged_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let client = client(&admin_token(dir.path()));
    let (mut server, url) = start_server(dir.path()).await;
    let acked: Arc<Mutex<Vec<(usize, String)>>> = Arc::default();
    let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut loops = Vec::new();
    for _ in 0..8 {
        let (client, url, acked, sent) = (client.clone(), url.clone(), acked.clone(), sent.clone());
        loops.push(tokio::spawn(async move {
            loop {
                let i = sent.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let response = client
                    .post(format!("{url}/api/v1/tickets"))
                    .header("Idempotency-Key", format!("crash-{i}"))
                    .json(&body(i))
                    .send()
                    .await;
                let Ok(response) = response else { return };
                if response.status() != reqwest::StatusCode::CREATED {
                    return;
                }
                let Ok(ticket) = response.json::<serde_json::Value>().await else {
                    return;
                };
                acked
                    .lock()
                    .unwrap()
                    .push((i, ticket["number"].as_str().unwrap().to_owned()));
            }
        }));
    }
    // Kill once a good number of tickets is acknowledged, with requests still in flight.
    loop {
        tokio::task::yield_now().await;
        assert!(
            !loops.iter().all(|h| h.is_finished()),
            "the clients stopped before 150 tickets were acknowledged"
        );
        if acked.lock().unwrap().len() >= 150 {
            server.kill().await.unwrap();
            break;
        }
    }
    for handle in loops {
        handle.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let attempted = sent.load(std::sync::atomic::Ordering::SeqCst);

    let (_server, url) = start_server(dir.path()).await;
    all_stored(&client, &url, acked.iter().map(|(_, number)| number)).await;
    // Clients retry everything that was sent: acknowledged or not, nothing doubles.
    let mut numbers = BTreeSet::new();
    for i in 0..attempted {
        let response = client
            .post(format!("{url}/api/v1/tickets"))
            .header("Idempotency-Key", format!("crash-{i}"))
            .json(&body(i))
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "retry {i}: {}",
            response.status()
        );
        let ticket: serde_json::Value = response.json().await.unwrap();
        numbers.insert(ticket["number"].as_str().unwrap().to_owned());
    }
    for (i, number) in &acked {
        assert!(
            numbers.contains(number),
            "retry of {i} answered with another ticket"
        );
    }
    let mut stored = 0;
    let mut cursor = String::new();
    loop {
        let page: serde_json::Value = client
            .get(format!("{url}/api/v1/tickets?limit=500{cursor}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        stored += page["tickets"].as_array().unwrap().len();
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(
        stored, attempted,
        "one ticket per request, however often it was sent"
    );
    assert_eq!(numbers.len(), attempted);
}

/// SIGTERM in the middle of intake: the server stops taking connections, answers the
/// requests it holds, stops its workers and closes the store, then exits by itself with
/// success; every acknowledged ticket is there when it starts again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminated_server_answers_what_it_holds_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let client = client(&admin_token(dir.path()));
    let (mut server, url) = start_server(dir.path()).await;
    let mut acked = Vec::new();
    for i in 0..20 {
        let response = client
            .post(format!("{url}/api/v1/tickets"))
            .header("Idempotency-Key", format!("term-{i}"))
            .json(&body(i))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::CREATED);
        let ticket: serde_json::Value = response.json().await.unwrap();
        acked.push(ticket["number"].as_str().unwrap().to_owned());
    }
    terminate(&mut server).await;
    let (_server, url) = start_server(dir.path()).await;
    all_stored(&client, &url, &acked).await;
}

/// Every one of `numbers` can be read from the server at `url`.
async fn all_stored(
    client: &reqwest::Client,
    url: &str,
    numbers: impl IntoIterator<Item = &String>,
) {
    for number in numbers {
        let response = client
            .get(format!("{url}/api/v1/tickets/{number}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            reqwest::StatusCode::OK,
            "acknowledged ticket {number} was lost"
        );
    }
}
