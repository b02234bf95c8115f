//! `minhu demo`, the README's first command: it builds the demo province from the real
//! messages and serves it, with what the README promises a visitor there (the cities,
//! the alert watch's warnings). A city's configuration change that breaks the replay
//! (a grid of A市 given to a demand about B市 did) fails here, not in a visitor's
//! terminal.

use crate::server::{client, get_json, terminate};
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test]
async fn the_demo_builds_the_province_and_serves_its_cities_and_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let mut demo = tokio::process::Command::new(env!("CARGO_BIN_EXE_minhu"))
        .args(["demo", "--port", "0", "--data-dir"])
        .arg(dir.path().join("demo"))
        .env_remove("MINHU_DATABASE_URL")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(demo.stdout.take().unwrap()).lines();
    let mut token = None;
    let url = loop {
        let Some(line) = lines.next_line().await.unwrap() else {
            panic!("minhu demo exited before serving: {:?}", demo.wait().await);
        };
        if let Some(value) = line.strip_prefix("MINHU_DEMO_TOKEN=") {
            token = Some(value.to_owned());
        }
        if let Some(rest) = line.strip_prefix("minhu demo city A市 is ready: ") {
            break rest.trim_end_matches('/').to_owned();
        }
    };
    // The rest of the banner must not fill the pipe and stall the server.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let api = client(&token.expect("the demo prints its API token"));

    let cities = get_json(&api, &format!("{url}/api/v1/cities")).await;
    let ids: Vec<&str> = cities["cities"]
        .as_array()
        .expect("a list of cities")
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.first(), Some(&"A"), "{cities}");
    assert!(ids.contains(&"B"), "{cities}");

    let alerts = get_json(&api, &format!("{url}/api/v1/analytics/alerts")).await;
    let kinds: Vec<&str> = alerts["alerts"]
        .as_array()
        .expect("a list of alerts")
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"surge"), "{alerts}");
    assert!(kinds.contains(&"buck_passing"), "{alerts}");
    terminate(&mut demo).await;
}
