//! A citizen's data on the command line: export everything held about a phone number,
//! erase it (the tickets stay, the person goes), and the retention run.

mod server;

use server::{admin_token, anonymous_client, client, minhu_admin, start_server};

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
        text(&erase).contains("erased the identity from 2 tickets"),
        "{}",
        text(&erase)
    );
    let again = minhu_admin(dir.path(), &["citizen-export", PHONE]);
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert!(again["tickets"].as_array().unwrap().is_empty());

    let (_server, url) = start_server(dir.path()).await;
    for (number, erased) in numbers.iter().zip([true, true, false]) {
        let events: serde_json::Value = client
            .get(format!("{url}/api/v1/tickets/{number}/events"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
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
