//! The knowledge base over HTTP: articles written and read, suggestions for a ticket's
//! text (dates and status respected), and an answer at intake that cites its article.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use minhu_core::access::Role;
use minhu_testkit::web::TestApp;
use serde_json::{Value, json};

fn article(id: &str, title: &str, body: &str) -> Value {
    json!({"id": id, "title": title, "body": body, "tags": ["政策"]})
}

async fn put(app: &TestApp, id: &str, body: &Value) -> (StatusCode, Value) {
    let request = Request::put(format!("/api/v1/kb/articles/{id}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let (status, body, _) = app.send(request).await;
    (status, body)
}

#[tokio::test]
async fn articles_are_created_read_replaced_and_deleted() {
    let app = TestApp::new().await;
    let gjj = article(
        "kb-gjj",
        "住房公积金提取",
        "提取公积金需带身份证和购房合同。",
    );
    let (status, created) = app
        .post("/api/v1/kb/articles", &gjj.to_string(), None)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["status"], "published");
    let (status, again) = app
        .post("/api/v1/kb/articles", &gjj.to_string(), None)
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a retry finds the same article: {again}"
    );
    let other = article("kb-gjj", "别的", "别的内容。");
    let (status, clash) = app
        .post("/api/v1/kb/articles", &other.to_string(), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{clash}");
    assert_eq!(clash["error"]["field"], "id");

    let bad = json!({"id": "kb-x", "title": "", "body": "x"});
    let (status, refused) = app
        .post("/api/v1/kb/articles", &bad.to_string(), None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused["error"]["field"], "title");
    let bad = json!({"id": "kb-x", "title": "t", "body": "x", "valid_from": "2026-13-01"});
    let (status, refused) = app
        .post("/api/v1/kb/articles", &bad.to_string(), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["error"]["field"], "valid_from");

    let mut retired = gjj.clone();
    retired["status"] = json!("retired");
    let (status, replaced) = put(&app, "kb-gjj", &retired).await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(replaced["status"], "retired");
    let (status, wrong) = put(&app, "kb-other", &retired).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong["error"]["field"], "id");

    let (_, list) = app.get("/api/v1/kb/articles?status=retired").await;
    assert_eq!(list["articles"].as_array().unwrap().len(), 1);
    let (_, list) = app.get("/api/v1/kb/articles?status=published").await;
    assert!(list["articles"].as_array().unwrap().is_empty());

    let delete = || {
        Request::delete("/api/v1/kb/articles/kb-gjj")
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(app.send(delete()).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.send(delete()).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get("/api/v1/kb/articles/kb-gjj").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn suggestions_rank_valid_articles_with_their_words() {
    let app = TestApp::new().await;
    let mut expired = article("kb-old", "公积金提取旧办法", "公积金提取按旧办法。");
    // The test clock says 2026-11-22.
    expired["valid_until"] = json!("2026-11-21");
    for a in [
        article(
            "kb-gjj",
            "住房公积金提取",
            "提取公积金需带身份证和购房合同。",
        ),
        article("kb-ld", "路灯报修", "路灯不亮请拨打12345。"),
        expired,
    ] {
        let (status, body) = app.post("/api/v1/kb/articles", &a.to_string(), None).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let text = "我想提取公积金，需要什么材料";
    let (status, found) = app
        .get(&format!("/api/v1/kb/suggest?text={}", urlencode(text)))
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let hits = found["suggestions"].as_array().unwrap();
    assert_eq!(hits.len(), 1, "the expired article is left out: {found}");
    assert_eq!(hits[0]["article"]["id"], "kb-gjj");
    assert!(hits[0]["score"].as_f64().unwrap() > 0.0);
    assert!(
        hits[0]["matched"]
            .as_array()
            .unwrap()
            .contains(&json!("公积金"))
    );

    let (status, refused) = app.get("/api/v1/kb/suggest?text=").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused["error"]["field"], "text");
    let (status, refused) = app.get("/api/v1/kb/suggest?text=x&lmit=3").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused["error"]["field"], "lmit");

    // A unit handler reads suggestions; only editors write.
    let handler = app
        .token("handler", Role::UnitHandler, Some("street-A1-01"), None)
        .await;
    let (status, _) = app
        .get_as(Some(&handler), "/api/v1/kb/suggest?text=%E8%B7%AF%E7%81%AF")
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .post_as(
            Some(&handler),
            "/api/v1/kb/articles",
            &article("kb-h", "t", "b").to_string(),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_answer_at_intake_records_the_article_it_came_from() {
    let app = TestApp::new().await;
    let gjj = article(
        "kb-gjj",
        "住房公积金提取",
        "提取公积金需带身份证和购房合同。",
    );
    app.post("/api/v1/kb/articles", &gjj.to_string(), None)
        .await;
    let consultation = json!({
        "channel": "phone", "kind": "consultation", "title": "公积金怎么提取",
        "description": "想提取公积金买房，问需要什么材料", "citizen": {"phone": "13812345678"}
    });
    let (status, ticket) = app
        .post("/api/v1/tickets", &consultation.to_string(), None)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    let number = ticket["number"].as_str().unwrap();

    // The ticket page offers the article, and with ?article= carries it in its form.
    let page = html(&app, &format!("/tickets/{number}")).await;
    assert!(page.contains("?article=kb-gjj"), "suggested on the page");
    let page = html(&app, &format!("/tickets/{number}?article=kb-gjj")).await;
    assert!(page.contains(r#"name="article" value="kb-gjj""#));
    assert!(
        page.contains("提取公积金需带身份证和购房合同。"),
        "the answer is prefilled"
    );

    let (status, refused) = app
        .act(
            number,
            json!({"action": "answer_at_intake", "answer": "x", "article": "kb-none"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["field"], "article");
    let (status, answered) = app
        .act(
            number,
            json!({"action": "answer_at_intake",
                   "answer": "提取公积金需带身份证和购房合同。", "article": "kb-gjj"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answered}");
    let (_, events) = app.get(&format!("/api/v1/tickets/{number}/events")).await;
    let last = events.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["type"], "answered_at_intake", "{last}");
    assert_eq!(last["article"], "kb-gjj", "{last}");
    let page = html(&app, &format!("/tickets/{number}")).await;
    assert!(
        page.contains("kb-gjj"),
        "the log on the page names the article"
    );
}

#[tokio::test]
async fn a_consultation_answered_on_the_call_is_created_answered_and_never_dispatched() {
    let app = TestApp::new().await;
    let gjj = article(
        "kb-gjj",
        "住房公积金提取",
        "提取公积金需带身份证和购房合同。",
    );
    app.post("/api/v1/kb/articles", &gjj.to_string(), None)
        .await;
    let call = |channel: &str, kind: &str, article: &str| {
        json!({
            "channel": channel, "kind": kind, "title": "公积金怎么提取",
            "description": "想提取公积金买房，问需要什么材料", "citizen": {"phone": "13812345678"},
            "answer": {"text": "提取公积金需带身份证和购房合同。", "article": article}
        })
        .to_string()
    };
    let agent = app.token("agent", Role::HotlineAgent, None, None).await;
    let (status, ticket) = app
        .post_as(
            Some(&agent),
            "/api/v1/tickets",
            &call("phone", "consultation", "kb-gjj"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    assert_eq!(ticket["status"], "resolved", "{ticket}");
    assert!(ticket["unit"].is_null(), "never dispatched: {ticket}");
    let number = ticket["number"].as_str().unwrap();
    let (_, events) = app.get(&format!("/api/v1/tickets/{number}/events")).await;
    let types: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["created", "answered_at_intake"], "{events}");
    assert_eq!(events[1]["article"], "kb-gjj");

    // What cannot be answered at intake is refused whole, and nothing is stored.
    let (_, before) = app.get("/api/v1/tickets").await;
    for (token, body, status, field) in [
        (
            Some(agent.as_str()),
            call("phone", "complaint", "kb-gjj"),
            422,
            "action",
        ),
        (
            Some(agent.as_str()),
            call("phone", "consultation", "kb-none"),
            422,
            "article",
        ),
        // A citizen's own report carries no answer.
        (None, call("web", "consultation", "kb-gjj"), 422, "answer"),
    ] {
        let (got, answer) = app.post_as(token, "/api/v1/tickets", &body, None).await;
        assert_eq!(got.as_u16(), status, "{answer}");
        assert_eq!(answer["error"]["field"], field, "{answer}");
    }
    let (_, after) = app.get("/api/v1/tickets").await;
    assert_eq!(before["tickets"], after["tickets"], "nothing stored");
}

async fn html(app: &TestApp, uri: &str) -> String {
    let (status, body, _) = app
        .send(Request::get(uri).body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK, "{uri}");
    body.as_str().unwrap().to_owned()
}

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("t", text)]).unwrap()[2..].to_owned()
}

#[tokio::test]
async fn the_assistant_answers_with_its_source_says_when_unsure_and_hands_over() {
    let app = TestApp::new().await;
    for a in [
        article(
            "kb-gjj",
            "住房公积金提取",
            "提取住房公积金需带身份证、银行卡和购房合同。",
        ),
        article(
            "kb-ld",
            "路灯不亮报修",
            "路灯不亮请拨打12345，由城管部门维修。",
        ),
    ] {
        app.post("/api/v1/kb/articles", &a.to_string(), None).await;
    }
    let shared = &app;
    let ask = |body: Value| async move {
        let request = Request::post("/api/v1/assistant")
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let (status, body, _) = shared.send_as(None, request).await;
        (status, body)
    };
    let (status, sure) = ask(json!({
        "messages": [{"from": "citizen", "text": "路灯不亮怎么报修"}]
    }))
    .await;
    assert_eq!(status, StatusCode::OK, "{sure}");
    assert_eq!(sure["certainty"], "sure", "{sure}");
    assert_eq!(sure["source"]["id"], "kb-ld");
    let conversation = sure["conversation"].as_str().unwrap().to_owned();

    let (_, none) = ask(json!({
        "conversation": conversation, "lang": "en",
        "messages": [
            {"from": "citizen", "text": "路灯不亮怎么报修"},
            {"from": "assistant", "text": sure["text"]},
            {"from": "citizen", "text": "孩子入学的学位怎么申请"}
        ]
    }))
    .await;
    assert_eq!(none["certainty"], "no_answer", "{none}");
    assert!(none["source"].is_null());
    assert!(
        none["text"].as_str().unwrap().starts_with("Sorry"),
        "{none}"
    );

    let (status, bad) = ask(json!({"messages": []})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad["error"]["field"], "messages");
    let (status, bad) = ask(json!({"messages": [{"from": "citizen", "text": " "}]})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad["error"]["field"], "messages[0].text");

    let handover = json!({
        "conversation": conversation,
        "messages": [
            {"from": "citizen", "text": "孩子入学的学位怎么申请"},
            {"from": "assistant", "text": none["text"]},
            {"from": "citizen", "text": "请转人工"}
        ],
        "handover": {"phone": "138 0000 1111"}
    });
    let (status, handed) = ask(handover.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{handed}");
    let number = handed["ticket"]["number"].as_str().unwrap().to_owned();
    assert_eq!(
        handed["ticket"]["follow_url"],
        format!("/track?number={number}")
    );
    let (status, again) = ask(handover).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        again["ticket"]["number"],
        number.as_str(),
        "a retry opens no second ticket"
    );
    let (_, ticket) = app.get(&format!("/api/v1/tickets/{number}")).await;
    assert_eq!(ticket["kind"], "consultation");
    let description = ticket["description"].as_str().unwrap();
    assert!(description.contains(&conversation), "{description}");
    assert!(
        description.contains("市民 Citizen: 孩子入学的学位怎么申请"),
        "{description}"
    );
    assert!(
        description.contains("市民 Citizen: 请转人工"),
        "{description}"
    );
}
