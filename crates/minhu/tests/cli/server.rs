//! A real `minhu serve` for tests that need one: started on a free port with the demo
//! city, and an administrator token made beforehand with `minhu admin add-token`.

use std::path::Path;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub async fn start_server(data_dir: &Path) -> (Child, String) {
    let mut child = serve_command(data_dir)
        .spawn()
        .expect("the minhu binary starts");
    let url = listening(&mut child).await;
    (child, url)
}

/// `minhu serve` on a free port with the demo city and `data_dir`, its standard
/// output piped for [`listening`]; the caller may set more before spawning it.
pub fn serve_command(data_dir: &Path) -> Command {
    serve_city(&minhu_testkit::city::demo_dir(), data_dir)
}

/// [`serve_command`] with the city configuration in `config`.
pub fn serve_city(config: &Path, data_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_minhu"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(config)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("MINHU_DATABASE_URL")
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// The server's URL, once it says it is listening.
pub async fn listening(child: &mut Child) -> String {
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    // The server prints its address once it is listening: wait for that line.
    while let Some(line) = lines.next_line().await.unwrap() {
        if let Some(url) = line.strip_prefix("minhu listening on ") {
            return url.to_owned();
        }
    }
    panic!("the server exited before listening");
}

/// Sends SIGTERM to the server and waits for it to exit by itself, with success.
pub async fn terminate(server: &mut Child) {
    let pid = server.id().expect("the server is running").to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -TERM {pid}");
    // A bound on the wait, not a timing goal: a server that hangs fails here.
    let status = tokio::time::timeout(std::time::Duration::from_secs(60), server.wait())
        .await
        .expect("the server exits by itself after SIGTERM")
        .unwrap();
    assert!(status.success(), "the server exited with {status}");
}

/// An administrator's API token, made with `minhu admin add-token` before the server
/// starts (reading the list needs one; intake with one is held only to the token's
/// rate, set far above what a test sends).
pub fn admin_token(data_dir: &Path) -> String {
    admin_token_on(data_dir, None)
}

/// [`admin_token`] on the database at `database` (none: the SQLite file of `data_dir`).
pub fn admin_token_on(data_dir: &Path, database: Option<&str>) -> String {
    let output = minhu_admin_on(
        data_dir,
        database,
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
    minhu_admin_on(data_dir, None, args)
}

/// [`minhu_admin`] on the database at `database` (none: the SQLite file of `data_dir`).
pub fn minhu_admin_on(
    data_dir: &Path,
    database: Option<&str>,
    args: &[&str],
) -> std::process::Output {
    let config = minhu_testkit::city::demo_dir();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_minhu"));
    command
        .arg("admin")
        .args(args)
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("MINHU_DATABASE_URL");
    if let Some(url) = database {
        command.arg("--database").arg(url);
    }
    command.output().expect("minhu admin runs")
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

/// POST `body` to `url` with `client`: the JSON of a successful answer.
pub async fn post_json(
    client: &reqwest::Client,
    url: &str,
    body: &serde_json::Value,
) -> serde_json::Value {
    let response = client.post(url).json(body).send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "POST {url}: {status} {text}");
    serde_json::from_str(&text).unwrap()
}

/// GET `url` with `client`, its JSON.
pub async fn get_json(client: &reqwest::Client, url: &str) -> serde_json::Value {
    client.get(url).send().await.unwrap().json().await.unwrap()
}

/// Waits until `done` (at most two minutes: a bound, not a timing goal).
pub async fn until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !done().await {
        assert!(
            std::time::Instant::now() < deadline,
            "waited two minutes for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Whether the server at `url` lists ticket `number` for the words `q`.
pub async fn finds(client: &reqwest::Client, url: &str, q: &str, number: &str) -> bool {
    let found = get_json(client, &format!("{url}/api/v1/tickets?q={q}")).await;
    found["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["number"] == number)
}

/// A server's `/metrics`, read from its own host (no credentials needed).
pub async fn metrics_of(url: &str) -> String {
    let response = anonymous_client()
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK, "{url}/metrics");
    response.text().await.unwrap()
}
