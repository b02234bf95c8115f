//! A citizen's data on the command line: export everything held about a phone number,
//! erase it (the tickets stay, the person goes), and the retention run.

use crate::server;

use server::{admin_token, anonymous_client, client, get_json, minhu_admin, start_server};

const PHONE: &str = "13712345678";

fn text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_is_exported_then_erased() {
    let dir = tempfile::tempdir().unwrap();
    let client = client(&admin_token(dir.path()));
    let (server, url) = start_server(dir.path()).await;
    let mut numbers = Vec::new();
    for (phone, description) in [
        (PHONE, format!("电梯坏了，请回电{PHONE}")),
        (PHONE, "路灯不亮".to_owned()),
        ("13600000000", "噪音扰民".to_owned()),
    ] {
        let ticket: serde_json::Value = client
            .post(format!("{url}/api/v1/tickets"))
            .json(&serde_json::json!({
                "channel": "phone", "kind": "complaint", "title": "诉求",
                "description": description, "address": "A3区天顶街道尖山社区",
                "citizen": {"phone": phone, "name": "王五"}
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        numbers.push(ticket["number"].as_str().unwrap().to_owned());
    }
    drop(server);

    let export = minhu_admin(dir.path(), &["citizen-export", "137-1234-5678"]);
    assert!(export.status.success(), "{}", text(&export));
    let exported: serde_json::Value = serde_json::from_slice(&export.stdout).unwrap();
    let tickets = exported["tickets"].as_array().unwrap();
    assert_eq!(tickets.len(), 2, "{exported}");
    assert_eq!(tickets[0]["ticket"]["citizen"]["phone"], PHONE);
    assert!(!tickets[0]["events"].as_array().unwrap().is_empty());

    let erase = minhu_admin(dir.path(), &["citizen-erase", PHONE]);
    assert!(
        text(&erase).contains("erased the citizen from 2 tickets"),
        "{}",
        text(&erase)
    );
    let again = minhu_admin(dir.path(), &["citizen-export", PHONE]);
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert!(again["tickets"].as_array().unwrap().is_empty());

    let (_server, url) = start_server(dir.path()).await;
    for (number, erased) in numbers.iter().zip([true, true, false]) {
        let events: serde_json::Value =
            get_json(&client, &format!("{url}/api/v1/tickets/{number}/events")).await;
        let created = &events[0];
        // (The administrator sees names masked: 王* for the citizen, e*** for a pseudonym.)
        let name = created["citizen"]["name"].as_str().unwrap();
        assert_eq!(!name.starts_with('王'), erased, "{created}");
        assert_eq!(created["citizen"]["phone"].is_null(), erased, "{created}");
        assert!(!erased || !mentions(created, "5678"), "{created}");
    }
    // Over a real socket the client's address reaches the audit log.
    let refused = anonymous_client()
        .post(format!("{url}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("login=nobody&password=guess-guess")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), reqwest::StatusCode::UNAUTHORIZED);
    let csv = minhu_admin(dir.path(), &["audit", "--action", "login_failed", "--csv"]);
    let csv = String::from_utf8_lossy(&csv.stdout).into_owned();
    assert!(csv.trim_end().ends_with(",127.0.0.1"), "{csv}");
    let log = minhu_admin(dir.path(), &["audit", "--action", "citizen.erase"]);
    assert!(text(&log).contains("2 tickets"), "{}", text(&log));
    assert!(
        !text(&log).contains(PHONE),
        "the audit names the pseudonym only"
    );

    let dry = minhu_admin(
        dir.path(),
        &["retention", "--closed-days", "30", "--dry-run"],
    );
    assert!(
        text(&dry).contains("0 of 0 closed tickets"),
        "{}",
        text(&dry)
    );
    let bad = minhu_admin(dir.path(), &["retention", "--closed-days", "0"]);
    assert!(!bad.status.success());
    assert!(text(&bad).contains("--closed-days"), "{}", text(&bad));
    let bad = minhu_admin(dir.path(), &["citizen-erase", "abc"]);
    assert!(text(&bad).contains("digits only"), "{}", text(&bad));
}

/// Whether any key or value in `value` holds `needle`, moments aside: a timestamp's
/// nanoseconds hold any four digits now and then (`…26.706056786Z` holds "5678").
fn mentions(value: &serde_json::Value, needle: &str) -> bool {
    use serde_json::Value;
    match value {
        Value::String(text) => text.parse::<jiff::Timestamp>().is_err() && text.contains(needle),
        Value::Number(number) => number.to_string().contains(needle),
        Value::Array(items) => items.iter().any(|item| mentions(item, needle)),
        Value::Object(fields) => fields
            .iter()
            .any(|(key, field)| key.contains(needle) || mentions(field, needle)),
        Value::Bool(_) | Value::Null => false,
    }
}

/// The smallest PNG header recognised as a PNG: the photo a citizen sends.
const PNG: &[u8] = &[
    0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, b'I', b'H', b'D', b'R', 0, 0, 0,
    1, 0, 0, 0, 1, 8, 2, 0, 0, 0,
];

/// Where the phone is still written under `dir`, in any of its common writings (or as
/// the digest follow codes are counted under): every
/// file's bytes (the SQLite database with its free pages and write-ahead log, the
/// search index's segments, the attachments).
fn files_holding_phone(dir: &std::path::Path) -> Vec<String> {
    let writings = [
        PHONE.to_owned(),
        "137 1234 5678".to_owned(),
        "137-1234-5678".to_owned(),
        format!("+86{PHONE}"),
        // What follow codes sent to the phone are counted under: a digest of it.
        minhu_web::api::follow::phone_subject(PHONE),
    ];
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            pending.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        for writing in &writings {
            if bytes
                .windows(writing.len())
                .any(|w| w == writing.as_bytes())
            {
                found.push(format!("{} ({writing})", path.display()));
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_citizen_leaves_no_trace() {
    let dir = tempfile::tempdir().unwrap();
    let client = client(&admin_token(dir.path()));
    let (server, url) = start_server(dir.path()).await;
    // The citizen reports with a photo, their phone in the form and in the text.
    let demand = serde_json::json!({
        "channel": "web", "kind": "complaint", "title": "井盖丢失",
        "description": format!("路口井盖不见了，请回电{PHONE}"),
        "address": "A3区天顶街道尖山社区",
        "citizen": {"phone": PHONE, "name": "王五"}
    });
    let boundary = "erase-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"ticket\"\r\n\
         Content-Type: application/json\r\n\r\n{demand}\r\n--{boundary}\r\n\
         Content-Disposition: form-data; name=\"photo\"; filename=\"{PHONE}.png\"\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(PNG);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let answer = anonymous_client()
        .post(format!("{url}/api/v1/reports"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), reqwest::StatusCode::CREATED);
    let ticket: serde_json::Value = answer.json().await.unwrap();
    let number = ticket["number"].as_str().unwrap().to_owned();
    let photo = ticket["attachments"][0]["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    // An official's note quotes the phone; the citizen asks for a follow code.
    let urged = client
        .post(format!("{url}/api/v1/tickets/{number}/actions"))
        .json(&serde_json::json!({"action": "urge", "note": format!("请尽快联系{PHONE}")}))
        .send()
        .await
        .unwrap();
    assert!(urged.status().is_success(), "{:?}", urged.text().await);
    let code = anonymous_client()
        .post(format!("{url}/api/v1/follow/code"))
        .json(&serde_json::json!({"number": number, "phone": PHONE}))
        .send()
        .await
        .unwrap();
    assert!(code.status().is_success());
    // The index has the ticket's words once a search finds it.
    loop {
        let found: serde_json::Value =
            get_json(&client, &format!("{url}/api/v1/tickets?q=井盖")).await;
        if found["tickets"].as_array().is_some_and(|t| !t.is_empty()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let notifications: serde_json::Value = get_json(
        &client,
        &format!("{url}/api/v1/tickets/{number}/notifications"),
    )
    .await;
    assert!(
        !notifications.as_array().unwrap().is_empty(),
        "the outbox told them"
    );
    drop(server);
    let search = dir.path().join("search");
    {
        let index = minhu_search::SearchIndex::open(&search).unwrap();
        assert!(
            index.holds_word_containing(PHONE).unwrap(),
            "the index has the phone"
        );
    }
    assert!(
        !files_holding_phone(dir.path()).is_empty(),
        "the scan finds the phone"
    );
    let stored = dir
        .path()
        .join("attachments")
        .join(&photo[..2])
        .join(&photo);
    assert!(stored.exists());

    let erase = minhu_admin(dir.path(), &["citizen-erase", PHONE]);
    assert!(erase.status.success(), "{}", text(&erase));
    assert!(
        text(&erase).contains("erased the citizen from 1 tickets and 1 files"),
        "{}",
        text(&erase)
    );
    assert!(!stored.exists(), "the photo they sent is gone");
    let index = minhu_search::SearchIndex::open(&search).unwrap();
    assert!(!index.holds_word_containing(PHONE).unwrap());
    assert_eq!(index.len(), 1, "the ticket itself stays searchable");
    drop(index);
    assert_eq!(files_holding_phone(dir.path()), Vec::<String>::new());
}
