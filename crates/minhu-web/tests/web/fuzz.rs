//! Property tests of the parsers of outside input over HTTP: a demand's JSON, an
//! action's JSON, and the citizens' forms, mutated at random. Whatever arrives, the
//! answer is a clear 4xx naming the problem (or a success), never a panic or a 5xx.

use axum::http::StatusCode;
use minhu_testkit::web::TestApp;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value, json};

fn base_demand() -> Value {
    json!({
        "channel": "phone", "kind": "complaint", "title": "小区电梯坏了",
        "description": "电梯坏了一个月物业不修", "address": "A3区天顶街道尖山社区",
        "category": "城乡建设/住房保障与房地产/物业服务", "region": "A3",
        "tier": "15d", "external_ref": "x-1",
        "location": {"lat": 28.2, "lon": 112.9},
        "citizen": {"phone": "13812345678", "name": "张三", "anonymous": false}
    })
}

/// Any JSON value, with the awkward ones over-represented.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        Just(json!(1e308)),
        Just(json!(-0.0)),
        ".{0,40}".prop_map(Value::String),
        Just(json!("\u{0}\u{feff}<script>")),
        Just(Value::String("长".repeat(5000))),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A valid document with one field replaced, removed or added, at any depth.
fn mutated(base: Value) -> impl Strategy<Value = Value> {
    let fields: Vec<String> = base.as_object().unwrap().keys().cloned().collect();
    (
        prop::sample::select(fields),
        0..3u8,
        any_json(),
        prop::sample::select(vec!["phone", "name", "anonymous", "confidential", "age"]),
    )
        .prop_map(move |(field, how, value, inner)| {
            let mut doc = base.clone();
            let object = doc.as_object_mut().unwrap();
            match how {
                0 => {
                    object.insert(field, value);
                }
                1 => {
                    object.remove(&field);
                }
                _ => {
                    if let Some(Value::Object(citizen)) = object.get_mut("citizen") {
                        citizen.insert(inner.to_owned(), value);
                    }
                }
            }
            doc
        })
}

/// Raw bodies: mutated documents as text, cut short, or plain noise.
fn body(base: Value) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => mutated(base.clone()).prop_map(|v| v.to_string().into_bytes()),
        1 => (mutated(base), any::<prop::sample::Index>()).prop_map(|(v, cut)| {
            let text = v.to_string().into_bytes();
            let at = cut.index(text.len() + 1);
            text[..at].to_vec()
        }),
        1 => prop::collection::vec(any::<u8>(), 0..64),
    ]
}

fn check(status: StatusCode, answer: &Value, allowed: &[StatusCode]) -> Result<(), TestCaseError> {
    prop_assert!(!status.is_server_error(), "{status}: {answer}");
    prop_assert!(allowed.contains(&status), "{status}: {answer}");
    if status.is_client_error() {
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        prop_assert!(!message.is_empty(), "a refusal says why: {answer}");
        if status == StatusCode::UNPROCESSABLE_ENTITY {
            prop_assert!(
                answer["error"]["field"].is_string(),
                "names the field: {answer}"
            );
        }
    }
    Ok(())
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: 200,
        failure_persistence: None,
        ..Config::default()
    })
}

#[test]
fn any_demand_gets_a_clear_answer() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let app = rt.block_on(TestApp::new());
    let ok = [
        StatusCode::CREATED,
        StatusCode::BAD_REQUEST,
        StatusCode::UNPROCESSABLE_ENTITY,
    ];
    runner()
        .run(&body(base_demand()), |bytes| {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let (status, answer) = rt.block_on(app.post("/api/v1/tickets", &text, None));
            check(status, &answer, &ok)
        })
        .unwrap();
}

#[test]
fn any_action_gets_a_clear_answer() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let app = rt.block_on(TestApp::new());
    let (_, created) = rt.block_on(app.post("/api/v1/tickets", &base_demand().to_string(), None));
    let number = created["number"].as_str().unwrap().to_owned();
    let actions = prop::sample::select(vec![
        json!({"action": "accept"}),
        json!({"action": "resolve", "reply": "已处理"}),
        json!({"action": "dispatch", "unit": "street-A3-01", "reason": "属地"}),
        json!({"action": "request_extension", "resolve_by": "2099-01-01T00:00:00Z", "reason": "等待配件"}),
        json!({"action": "mark_long_term", "reason": "规划中", "review_on": "2027-01-01"}),
        json!({"action": "rate", "solved": true, "satisfaction": "satisfied"}),
        json!({"action": "reclassify", "category": "城乡建设", "tier": "7d"}),
    ]);
    let ok = [
        StatusCode::OK,
        StatusCode::BAD_REQUEST,
        StatusCode::CONFLICT,
        StatusCode::UNPROCESSABLE_ENTITY,
    ];
    runner()
        .run(&actions.prop_flat_map(body), |bytes| {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let uri = format!("/api/v1/tickets/{number}/actions");
            let (status, answer) = rt.block_on(app.post(&uri, &text, None));
            check(status, &answer, &ok)
        })
        .unwrap();
}

#[test]
fn any_citizen_form_gets_a_clear_answer() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let app = rt.block_on(TestApp::new());
    let forms = prop_oneof![
        body(json!({"number": "2026112300001", "phone": "13812345678"}))
            .prop_map(|b| ("/api/v1/follow/code", b)),
        body(json!({"number": "2026112300001", "code": "123456"}))
            .prop_map(|b| ("/api/v1/follow/session", b)),
    ];
    let ok = [
        StatusCode::ACCEPTED,
        StatusCode::BAD_REQUEST,
        StatusCode::UNAUTHORIZED,
        StatusCode::UNPROCESSABLE_ENTITY,
        // Anonymous callers share one address here; the limit is a clear answer too.
        StatusCode::TOO_MANY_REQUESTS,
    ];
    runner()
        .run(&forms, |(uri, bytes)| {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let (status, answer) = rt.block_on(app.post_as(None, uri, &text, None));
            check(status, &answer, &ok)
        })
        .unwrap();
}
