//! Real Open311 clients from PyPI, over real HTTP, against the app on a loopback port:
//! `open311` 1.1 posts, `georeport` 0.3.1 lists and reads (JSON and XML). Installed by
//! `scripts/ensure-open311-clients`, which this test runs (it fails, never skips,
//! without them); the clients are driven by `tests/open311_clients.py`.

use axum::http::StatusCode;
use minhu_testkit::browser::serve;
use minhu_testkit::web::TestApp;
use serde_json::{Value, json};
use std::path::Path;

/// The python of the clients' environment, installed if need be.
async fn clients_python(repo: &Path) -> String {
    let output = tokio::process::Command::new(repo.join("scripts/ensure-open311-clients"))
        .output()
        .await
        .expect("scripts/ensure-open311-clients runs");
    assert!(
        output.status.success(),
        "scripts/ensure-open311-clients failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// A demand taken in by the API (the hotline's phone channel), as most tickets come.
async fn taken_in(app: &TestApp, kind: &str, category: &str, confidential: bool) -> String {
    let body = json!({
        "channel": "phone", "kind": kind, "title": "小区停电",
        "description": "A3区天顶街道尖山社区停电两天了，联系电话13812345678",
        "address": "A3区天顶街道尖山社区", "category": category,
        "citizen": {"phone": "13812345678", "name": "李四", "confidential": confidential}
    });
    let (status, created) = app.post("/api/v1/tickets", &body.to_string(), None).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["number"].as_str().unwrap().to_owned()
}

fn ids(requests: &Value) -> Vec<&str> {
    requests
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["service_request_id"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pypi_clients_post_list_and_read_back() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = clients_python(&repo).await;
    let app = TestApp::new().await;
    let key = app
        .state
        .engine
        .accounts()
        .issue_open311_key("pypi-clients")
        .await
        .unwrap();
    // Power cuts (电力供应) are the demo's `power` service: tickets of every channel are
    // listed under it, never a 举报 nor a confidential demand.
    let power = "城乡建设/城市建设和市政管理/电力供应";
    let by_phone = taken_in(&app, "complaint", power, false).await;
    let report = taken_in(&app, "report", power, false).await;
    let confidential = taken_in(&app, "complaint", power, true).await;
    let base = serve(&app).await;
    let jurisdiction = app.state.engine.city().regions.root().id.to_string();

    let output = tokio::process::Command::new(&python)
        .arg(repo.join("crates/minhu-web/tests/open311_clients.py"))
        .args([base.as_str(), key.as_str(), jurisdiction.as_str(), "power"])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the clients failed:\n{}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let out: Value = serde_json::from_str(&stdout).expect("the driver prints JSON");

    // open311 posted (api_key and jurisdiction_id in its URL, the form in the body): a
    // ticket of the service's kind, 求助, with the citizen the units may see.
    let posted = out["posted"][0]["service_request_id"].as_str().unwrap();
    let (_, ticket) = app.get(&format!("/api/v1/tickets/{posted}")).await;
    assert_eq!(ticket["channel"], "open311", "{ticket}");
    assert_eq!(ticket["kind"], "help", "{ticket}");
    assert_eq!(ticket["category"], power, "{ticket}");

    for format in ["json", "xml"] {
        let seen = &out[format];
        let codes: Vec<&str> = seen["services"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["service_code"].as_str().unwrap())
            .collect();
        assert!(
            codes.contains(&"power") && codes.contains(&"sanitation"),
            "{codes:?}"
        );
        assert_eq!(seen["definition"]["service_code"], "sanitation", "{format}");
        // Both requests of the service, the phone call's too; never the hidden ones.
        let listed = ids(&seen["listed"]);
        assert!(listed.contains(&by_phone.as_str()), "{format}: {listed:?}");
        assert!(listed.contains(&posted), "{format}: {listed:?}");
        assert!(!listed.contains(&report.as_str()), "{format}: {listed:?}");
        assert!(
            !listed.contains(&confidential.as_str()),
            "{format}: {listed:?}"
        );
        assert_eq!(ids(&seen["read_back"]), listed, "{format}");
        for request in seen["read_back"].as_array().unwrap() {
            assert_eq!(request["service_code"], "power", "{format}: {request}");
            let address = request["address"].as_str().unwrap();
            assert!(address.contains("尖山社区"), "{format}: {request}");
            // XML reads every value as text, JSON numbers as numbers.
            let number = |v: &Value| v.as_f64().or_else(|| v.as_str()?.parse().ok());
            let lat = number(&request["lat"]).unwrap_or_else(|| panic!("{request}"));
            let long = number(&request["long"]).unwrap_or_else(|| panic!("{request}"));
            assert!((28.0..28.5).contains(&lat) && (112.7..113.2).contains(&long));
        }
        // The phone ticket has no point: it is shown at its place's centre, and its
        // address is the one the citizen gave, masked for the public.
        let phone_ticket = seen["read_back"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["service_request_id"] == by_phone.as_str())
            .unwrap();
        assert_eq!(phone_ticket["status"], "open");
    }
    assert_eq!(out["wrong_jurisdiction"]["status"], 400, "{out}");
    let refusal = out["wrong_jurisdiction"]["body"][0]["description"]
        .as_str()
        .unwrap();
    assert!(refusal.starts_with("jurisdiction_id"), "{refusal}");
    // No citizen's phone or name anywhere the clients read.
    for secret in ["13812345678", "13912345678", "李四", "张三"] {
        assert!(!stdout.contains(secret), "{secret} in {stdout}");
    }
}
