//! A real `minhu serve` for tests that need one: started on a free port with the demo
//! city, and an administrator token made beforehand with `minhu admin add-token`.

use std::path::Path;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub async fn start_server(data_dir: &Path) -> (Child, String) {
    let config = minhu_testkit::city::demo_dir();
    let mut child = Command::new(env!("CARGO_BIN_EXE_minhu"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("MINHU_DATABASE_URL")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the minhu binary starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    // The server prints its address once it is listening: wait for that line.
    while let Some(line) = lines.next_line().await.unwrap() {
        if let Some(url) = line.strip_prefix("minhu listening on ") {
            return (child, url.to_owned());
        }
    }
    panic!("the server exited before listening");
}

/// An administrator's API token, made with `minhu admin add-token` before the server
/// starts (reading the list needs one; intake with one is held only to the token's
/// rate, set far above what a test sends).
pub fn admin_token(data_dir: &Path) -> String {
    let output = minhu_admin(
        data_dir,
        &[
            "add-token",
            "test-admin",
            "--role",
            "administrator",
            "--rate",
            "100000/s",
        ],
    );
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// `minhu admin ARGS` on the demo city's configuration and `data_dir`.
pub fn minhu_admin(data_dir: &Path, args: &[&str]) -> std::process::Output {
    let config = minhu_testkit::city::demo_dir();
    std::process::Command::new(env!("CARGO_BIN_EXE_minhu"))
        .arg("admin")
        .args(args)
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("MINHU_DATABASE_URL")
        .output()
        .expect("minhu admin runs")
}

/// A client for the server, with no credentials.
pub fn anonymous_client() -> reqwest::Client {
    // reqwest's rustls asks for a crypto provider even for http://: ring, as the binary.
    minhu_notify::tls::install_default_provider();
    reqwest::Client::new()
}

pub fn client(token: &str) -> reqwest::Client {
    minhu_notify::tls::install_default_provider();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

/// GET `url` with `client`, its JSON.
pub async fn get_json(client: &reqwest::Client, url: &str) -> serde_json::Value {
    client.get(url).send().await.unwrap().json().await.unwrap()
}
