//! The officials' ticket list: its filters (the API's own), and its export as the
//! reader sees it, audited.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use minhu_core::access::Role;
use minhu_testkit::web::TestApp;
use serde_json::json;

async fn take_in(app: &TestApp, channel: &str, kind: &str, title: &str, phone: &str) -> String {
    let demand = json!({
        "channel": channel, "kind": kind, "title": title,
        "description": format!("{title}，请尽快处理"), "citizen": {"phone": phone}
    });
    let (status, ticket) = app.post("/api/v1/tickets", &demand.to_string(), None).await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    ticket["number"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_list_filters_as_the_api_does_and_exports_what_the_reader_sees() {
    let app = TestApp::new().await;
    let called = take_in(&app, "phone", "complaint", "夜间施工噪音", "13800005555").await;
    let asked = take_in(&app, "web", "consultation", "公积金怎么提取", "13800006666").await;
    let auditor = app.token("auditor", Role::Auditor, None, None).await;
    let app = &app;
    let get = |uri: &str| {
        let token = auditor.clone();
        let request = Request::get(uri).body(Body::empty()).unwrap();
        async move { app.send_as(Some(&token), request).await }
    };

    let (status, page, _) = get("/tickets?kind=consultation&tier=&unit=").await;
    assert_eq!(status, StatusCode::OK);
    let page = page.as_str().unwrap();
    assert!(
        page.contains(&asked) && !page.contains(&called),
        "only the consultation"
    );
    assert!(page.contains("format=csv") && page.contains("kind=consultation"));

    let (status, csv, headers) = get("/tickets?channel=phone&format=csv").await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = csv.as_str().unwrap().to_owned();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("工单号,标题,状态"), "{csv}");
    assert_eq!(lines.len(), 2, "only the phoned-in ticket: {csv}");
    assert!(
        lines[1].starts_with(&called) && lines[1].contains("电话"),
        "{csv}"
    );
    assert!(
        !csv.contains("13800005555"),
        "an auditor sees the phone masked: {csv}"
    );

    let (status, xlsx, headers) = get("/tickets?format=xlsx").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(xlsx.as_str().unwrap().starts_with("PK"), "a workbook (zip)");

    let log = app
        .state
        .engine
        .audit()
        .log(&minhu_engine::records::AuditFilter {
            actor: Some("token:auditor".into()),
            action: Some("tickets.export".into()),
            target: None,
            from: None,
            to: None,
            after: None,
            limit: 10,
            city: None,
        })
        .await
        .unwrap();
    assert_eq!(log.len(), 2, "each export is audited: {log:?}");

    for (query, field) in [
        ("tier=9y", "tier"),
        ("channel=fax", "channel"),
        ("format=pdf", "format"),
    ] {
        let (status, page, _) = get(&format!("/tickets?{query}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert!(page.as_str().unwrap().contains(field), "{query}: {page}");
    }
}
