//! Open311 GeoReport v2 conformance, written from the spec
//! (<http://wiki.open311.org/GeoReport_v2>): every endpoint in both formats, the
//! error shapes and codes, through the full router as an anonymous 311 client.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use minhu_testkit::web::TestApp;
use quick_xml::events::Event as XmlEvent;
use serde_json::{Value, json};

/// An XML document as (element path, text) pairs, e.g. `("services/service/service_code",
/// "noise")`: enough to check what a client would read.
fn xml_fields(text: &str) -> Vec<(String, String)> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut path: Vec<String> = Vec::new();
    let mut fields = Vec::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            XmlEvent::Start(start) => {
                path.push(start.name().as_ref().to_owned());
                fields.push((path.join("/"), String::new()));
            }
            XmlEvent::End(_) => {
                path.pop();
            }
            XmlEvent::Text(t) => {
                fields.last_mut().unwrap().1.push_str(&t.into_inner());
            }
            XmlEvent::GeneralRef(r) => {
                let name = r.into_inner();
                let c = match name.as_ref() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    other => panic!("unexpected entity {other}"),
                };
                fields.last_mut().unwrap().1.push_str(c);
            }
            XmlEvent::Eof => break,
            _ => {}
        }
    }
    assert!(path.is_empty(), "unclosed elements {path:?}");
    fields
}

fn xml_values<'a>(fields: &'a [(String, String)], path: &str) -> Vec<&'a str> {
    fields
        .iter()
        .filter(|(p, _)| p == path)
        .map(|(_, v)| v.as_str())
        .collect()
}

struct Client {
    app: TestApp,
    key: String,
}

async fn client() -> Client {
    let app = TestApp::new().await;
    let key = app
        .state
        .engine
        .accounts()
        .issue_open311_key("conformance")
        .await
        .unwrap();
    Client { app, key }
}

impl Client {
    async fn get(&self, uri: &str) -> (StatusCode, Value, String) {
        let (status, body, headers) = self
            .app
            .send_as(None, Request::get(uri).body(Body::empty()).unwrap())
            .await;
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, body, content_type)
    }

    async fn get_xml(&self, uri: &str) -> (StatusCode, Vec<(String, String)>) {
        let (status, body, content_type) = self.get(uri).await;
        assert!(
            content_type.starts_with("text/xml"),
            "{uri}: {content_type}"
        );
        let text = body.as_str().expect("an XML body");
        assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"));
        (status, xml_fields(text))
    }

    async fn post(&self, format: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let body = serde_urlencoded::to_string(form).unwrap();
        let mut request = Request::post(format!("/open311/v2/requests.{format}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        // Each post from its own address: these tests are about the answers, and the
        // guard's limit on key guessing per address has its own tests.
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let address = std::net::SocketAddr::from(([10, 1, (n >> 8) as u8, n as u8], 4000));
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(address));
        let (status, body, _) = self.app.send_as(None, request).await;
        (status, body)
    }

    /// A valid request for the property service in A3, with this key.
    fn form<'a>(&'a self, description: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![
            ("api_key", self.key.as_str()),
            ("service_code", "property"),
            ("address_string", "A3区天顶街道尖山社区"),
            ("lat", "28.1941"),
            ("long", "112.9770"),
            ("description", description),
            ("phone", "138-1234-5678"),
            ("first_name", "三"),
            ("last_name", "张"),
        ]
    }
}

fn error_description(body: &Value, status: StatusCode) -> String {
    let errors = body
        .as_array()
        .unwrap_or_else(|| panic!("errors array: {body}"));
    assert_eq!(errors.len(), 1, "{body}");
    assert_eq!(errors[0]["code"], status.as_u16(), "{body}");
    errors[0]["description"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn discovery_and_services_in_both_formats() {
    let c = client().await;
    let (status, body, content_type) = c.get("/open311/v2/discovery.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("application/json"));
    let endpoint = &body["endpoints"][0];
    assert_eq!(
        endpoint["specification"],
        "http://wiki.open311.org/GeoReport_v2"
    );
    assert_eq!(endpoint["formats"], json!(["text/xml", "application/json"]));
    let (_, xml) = c.get_xml("/open311/v2/discovery.xml").await;
    assert_eq!(
        xml_values(&xml, "discovery/endpoints/endpoint/formats/format"),
        ["text/xml", "application/json"]
    );

    let (status, services, _) = c.get("/open311/v2/services.json").await;
    assert_eq!(status, StatusCode::OK);
    let services = services.as_array().unwrap();
    assert!(services.len() >= 5);
    let noise = services
        .iter()
        .find(|s| s["service_code"] == "noise")
        .expect("the demo's noise service");
    assert_eq!(noise["metadata"], true);
    assert_eq!(noise["type"], "realtime");
    assert_eq!(noise["group"], "环境保护");
    for key in ["service_name", "description", "keywords"] {
        assert!(noise[key].is_string(), "{key}: {noise}");
    }
    let (_, xml) = c.get_xml("/open311/v2/services.xml").await;
    let codes = xml_values(&xml, "services/service/service_code");
    assert_eq!(codes.len(), services.len());
    assert!(codes.contains(&"noise"));
    assert!(xml_values(&xml, "services/service/service_name").contains(&"噪音扰民 Noise"));
}

#[tokio::test]
async fn service_definitions_carry_attributes() {
    let c = client().await;
    let (status, definition, _) = c.get("/open311/v2/services/sanitation.json").await;
    assert_eq!(status, StatusCode::OK, "{definition}");
    assert_eq!(definition["service_code"], "sanitation");
    let attribute = &definition["attributes"][0];
    assert_eq!(attribute["code"], "amount");
    assert_eq!(attribute["datatype"], "singlevaluelist");
    assert_eq!(attribute["required"], true);
    assert_eq!(attribute["variable"], true);
    assert_eq!(attribute["order"], 1);
    assert_eq!(
        attribute["values"][0],
        json!({"key": "small", "name": "少量 A little"})
    );
    let (status, xml) = c.get_xml("/open311/v2/services/sanitation.xml").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        xml_values(
            &xml,
            "service_definition/attributes/attribute/values/value/key"
        ),
        ["small", "large"]
    );
    // Unknown services: 404 in the spec's error shape, in the format asked for.
    let (status, body, _) = c.get("/open311/v2/services/nope.json").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(error_description(&body, status).contains("nope"));
    let (status, xml) = c.get_xml("/open311/v2/services/nope.xml").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(xml_values(&xml, "errors/error/code"), ["404"]);
    assert!(xml_values(&xml, "errors/error/description")[0].contains("nope"));
    let (status, _, _) = c.get("/open311/v2/services/sanitation.html").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn posting_makes_one_ticket_however_often_it_is_sent() {
    let c = client().await;
    let form = c.form("电梯坏了一个月物业不修");
    let (status, body) = c.post("json", &form).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body[0]["service_request_id"].as_str().unwrap().to_owned();
    let token = body[0]["token"].as_str().unwrap().to_owned();
    // A client that lost the answer sends the same request again.
    let (status, again) = c.post("json", &form).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again[0]["service_request_id"], id.as_str());
    let (status, xml_again) = c.post("xml", &form).await;
    assert_eq!(status, StatusCode::OK);
    let xml = xml_fields(xml_again.as_str().unwrap());
    assert_eq!(
        xml_values(&xml, "service_requests/request/service_request_id"),
        [id.as_str()]
    );

    // The ticket: open311 channel, the service's category, the citizen, the place.
    let (_, ticket) = c.app.get(&format!("/api/v1/tickets/{id}")).await;
    assert_eq!(ticket["channel"], "open311");
    assert_eq!(ticket["category"], "城乡建设/住房保障与房地产/物业服务");
    let stored = c
        .app
        .store
        .ticket(&minhu_core::ids::TicketNumber::parse(&id).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.intake.citizen.phone.as_deref(), Some("13812345678"));
    assert_eq!(stored.intake.citizen.name.as_deref(), Some("张三"));
    assert_eq!(ticket["location"], json!({"lat": 28.1941, "lon": 112.977}));
    assert!(ticket["unit"].is_string(), "routed: {ticket}");

    // The request, by id and by token, in both formats.
    let (status, one, _) = c.get(&format!("/open311/v2/requests/{id}.json")).await;
    assert_eq!(status, StatusCode::OK);
    let request = &one[0];
    assert_eq!(request["service_request_id"], id.as_str());
    assert_eq!(request["status"], "open");
    assert_eq!(request["service_code"], "property");
    assert_eq!(request["lat"], 28.1941);
    assert!(request["agency_responsible"].is_string());
    assert!(
        request["description"]
            .as_str()
            .unwrap()
            .contains("电梯坏了")
    );
    let requested = request["requested_datetime"].as_str().unwrap();
    assert!(requested.ends_with("+08:00"), "{requested}");
    assert!(requested.parse::<jiff::Timestamp>().is_ok(), "{requested}");
    assert!(
        request["expected_datetime"]
            .as_str()
            .unwrap()
            .ends_with("+08:00")
    );
    assert!(request.get("phone").is_none(), "no personal data in public");
    let (_, xml) = c.get_xml(&format!("/open311/v2/requests/{id}.xml")).await;
    assert_eq!(
        xml_values(&xml, "service_requests/request/status"),
        ["open"]
    );
    let (status, by_token, _) = c.get(&format!("/open311/v2/tokens/{token}.json")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_token[0]["service_request_id"], id.as_str());
    let (_, xml) = c.get_xml(&format!("/open311/v2/tokens/{token}.xml")).await;
    assert_eq!(
        xml_values(&xml, "service_requests/request/service_request_id"),
        [id.as_str()]
    );
    let (status, body, _) = c.get("/open311/v2/tokens/0123abcd.json").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    error_description(&body, status);
    let (status, body, _) = c.get("/open311/v2/requests/2026010100001.json").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    error_description(&body, status);
}

#[tokio::test]
async fn bad_posts_name_the_field() {
    let c = client().await;
    let (status, body) = c.post("json", &[("service_code", "property")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(error_description(&body, status).contains("api_key"));
    let mut form = c.form("x");
    form[0].1 = "o311_forged";
    let (status, body) = c.post("xml", &form).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let xml = xml_fields(body.as_str().unwrap());
    assert_eq!(xml_values(&xml, "errors/error/code"), ["403"]);

    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("service_code", "")], "service_code"),
        (vec![("service_code", "nope")], "service_code"),
        (vec![("lat", "91")], "lat"),
        (vec![("long", "east")], "long"),
        (vec![("colour", "red")], "colour"),
        (vec![("media_url", "ftp://x")], "media_url"),
        (vec![("attribute[pole]", "7")], "attribute[pole]"),
    ];
    for (changes, field) in cases {
        let mut form = c.form("路灯不亮");
        for (name, value) in changes {
            match form.iter_mut().find(|(n, _)| *n == name) {
                Some(entry) => entry.1 = value,
                None => form.push((name, value)),
            }
        }
        let (status, body) = c.post("json", &form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}: {body}");
        let description = error_description(&body, status);
        assert!(description.starts_with(field), "{field}: {description}");
    }
    // No location at all.
    let form: Vec<_> = c
        .form("x")
        .into_iter()
        .filter(|(n, _)| !["lat", "long", "address_string"].contains(n))
        .collect();
    let (status, body) = c.post("json", &form).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_description(&body, status).contains("location"));
    // A required attribute, and a list value that is not offered.
    let mut form = c.form("垃圾没人清");
    form[1].1 = "sanitation";
    let (status, body) = c.post("json", &form).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_description(&body, status).starts_with("attribute[amount]"));
    form.push(("attribute[amount]", "huge"));
    let (status, body) = c.post("json", &form).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_description(&body, status).contains("small, large"));
    form.last_mut().unwrap().1 = "large";
    let (status, body) = c.post("json", &form).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body[0]["service_request_id"].as_str().unwrap();
    let (_, ticket) = c.app.get(&format!("/api/v1/tickets/{id}")).await;
    assert!(
        ticket["description"]
            .as_str()
            .unwrap()
            .contains("大量 A lot"),
        "{ticket}"
    );
}

#[tokio::test]
async fn request_lists_filter_and_updates_follow_the_workflow() {
    let c = client().await;
    let (_, first) = c.post("json", &c.form("电梯坏了")).await;
    let first = first[0]["service_request_id"].as_str().unwrap().to_owned();
    let mut noise = c.form("工地夜间施工噪音");
    noise[1].1 = "noise";
    let (status, second) = c.post("json", &noise).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    let second = second[0]["service_request_id"].as_str().unwrap().to_owned();

    let ids = |body: &Value| -> Vec<String> {
        body.as_array()
            .unwrap()
            .iter()
            .map(|r| r["service_request_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, all, _) = c.get("/open311/v2/requests.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&all), [second.clone(), first.clone()]);
    let (_, only, _) = c.get("/open311/v2/requests.json?service_code=noise").await;
    assert_eq!(ids(&only), [second.as_str()]);
    let (_, listed, _) = c
        .get(&format!(
            "/open311/v2/requests.json?service_request_id={first},{second}"
        ))
        .await;
    assert_eq!(ids(&listed), [first.clone(), second.clone()]);
    let (_, xml) = c.get_xml("/open311/v2/requests.xml?status=open").await;
    assert_eq!(
        xml_values(&xml, "service_requests/request/service_request_id").len(),
        2
    );
    let (_, future, _) = c
        .get("/open311/v2/requests.json?start_date=2099-01-01T00:00:00%2B08:00")
        .await;
    assert_eq!(ids(&future), Vec::<String>::new());
    for (query, field) in [
        ("status=done", "status"),
        ("start_date=yesterday", "start_date"),
        ("service_code=nope", "service_code"),
        ("colour=red", "colour"),
        ("start_date=2026-02-01&end_date=2026-01-01", "end_date"),
    ] {
        let (status, body, _) = c.get(&format!("/open311/v2/requests.json?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(
            error_description(&body, status).starts_with(field),
            "{query}: {body}"
        );
    }

    // The city accepts and answers the first request: it is closed, with the reply.
    let (status, ticket) = c.app.act(&first, json!({"action": "accept"})).await;
    assert_eq!(status, StatusCode::OK, "{ticket}");
    let reply = "已联系物业，电梯已修复";
    let (status, ticket) = c
        .app
        .act(&first, json!({"action": "resolve", "reply": reply}))
        .await;
    assert_eq!(status, StatusCode::OK, "{ticket}");
    let (_, closed, _) = c.get("/open311/v2/requests.json?status=closed").await;
    assert_eq!(ids(&closed), [first.as_str()]);
    assert_eq!(closed[0]["status_notes"], reply);

    let (status, updates, _) = c
        .get("/open311/v2/servicerequestupdates.json?start_date=2020-01-01")
        .await;
    assert_eq!(status, StatusCode::OK, "{updates}");
    let of_first: Vec<&Value> = updates
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["service_request_id"] == first.as_str())
        .collect();
    let last = of_first.last().expect("updates of the first request");
    assert_eq!(last["status"], "closed");
    assert_eq!(last["description"], reply);
    assert!(of_first.iter().any(|u| u["status"] == "open"));
    let (_, xml) = c
        .get_xml("/open311/v2/servicerequestupdates.xml?start_date=2020-01-01")
        .await;
    assert!(
        xml_values(&xml, "service_request_updates/request_update/description").contains(&reply)
    );
    let (status, body, _) = c
        .get("/open311/v2/servicerequestupdates.json?start_date=soon")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_description(&body, status).starts_with("start_date"));
}

/// A 举报 is never shown to the world, marked confidential or not, and a service
/// without a `kind` files complaints (most of the demo's are 求助 or 投诉).
#[tokio::test]
async fn reports_of_wrongdoing_stay_out_of_the_public_feed() {
    let c = client().await;
    let mut numbers = Vec::new();
    for kind in ["report", "complaint"] {
        let body = json!({
            "channel": "web", "kind": kind, "title": "餐馆后厨卫生很差",
            "description": "某餐馆后厨卫生很差，老鼠乱窜", "address": "A3区天顶街道尖山社区",
            "citizen": {"phone": "13812345678", "name": "张三"}
        });
        let (status, created) = c
            .app
            .post_as(None, "/api/v1/tickets", &body.to_string(), None)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        numbers.push(created["number"].as_str().unwrap().to_owned());
    }
    let (report, complaint) = (&numbers[0], &numbers[1]);
    let (status, listed, _) = c.get("/open311/v2/requests.json").await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let listed: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["service_request_id"].as_str().unwrap())
        .collect();
    assert!(listed.contains(&complaint.as_str()), "{listed:?}");
    assert!(!listed.contains(&report.as_str()), "{listed:?}");
    let (status, _, _) = c.get(&format!("/open311/v2/requests/{report}.json")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, one, _) = c
        .get(&format!("/open311/v2/requests/{complaint}.json"))
        .await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one[0]["media_url"], Value::Null);

    let (status, posted) = c
        .post(
            "json",
            &[
                ("api_key", c.key.as_str()),
                ("service_code", "sanitation"),
                ("attribute[amount]", "large"),
                ("lat", "28.2"),
                ("long", "112.9"),
                ("description", "垃圾没人清"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{posted}");
    let id = posted[0]["service_request_id"].as_str().unwrap();
    let (_, ticket) = c.app.get(&format!("/api/v1/tickets/{id}")).await;
    assert_eq!(ticket["kind"], "complaint", "{ticket}");
}

/// A demand the hotline took by phone (not through Open311), with its category.
async fn by_phone(c: &Client, category: &str, address: Option<&str>) -> String {
    let mut body = json!({
        "channel": "phone", "kind": "complaint", "title": "路灯坏了",
        "description": "A3区天顶街道尖山社区路灯坏了", "category": category,
        "region": "A3-01-02", "citizen": {"phone": "13812345678"}
    });
    if let Some(address) = address {
        body["address"] = json!(address);
    }
    let (status, created) = c.app.post("/api/v1/tickets", &body.to_string(), None).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["number"].as_str().unwrap().to_owned()
}

/// The ids `requests.json?{query}` lists.
async fn list_of(c: &Client, query: String) -> Vec<String> {
    let (status, body, _) = c.get(&format!("/open311/v2/requests.json?{query}")).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    listed(&body)
}

fn listed(body: &Value) -> Vec<String> {
    body.as_array()
        .unwrap_or_else(|| panic!("a list: {body}"))
        .iter()
        .map(|r| r["service_request_id"].as_str().unwrap().to_owned())
        .collect()
}

/// Every public ticket lies under the finest service whose category holds its own,
/// whatever channel it came by, and is found by that service's code; a ticket without
/// a point is shown at its place's centre, named by its place when it has no address.
#[tokio::test]
async fn tickets_of_every_channel_list_under_the_finest_service() {
    let c = client().await;
    let facility = by_phone(&c, "城乡建设/城市建设和市政管理/城市公共设施", None).await;
    let works = by_phone(&c, "城乡建设/城市建设和市政管理", Some("天顶街道某路口")).await;
    let elsewhere = by_phone(&c, "教育文体/教育行政管理", None).await;

    let (status, one, _) = c
        .get(&format!("/open311/v2/requests/{facility}.json"))
        .await;
    assert_eq!(status, StatusCode::OK, "{one}");
    let request = &one[0];
    assert_eq!(request["service_code"], "public-facilities", "{request}");
    assert!(
        request["service_name"]
            .as_str()
            .unwrap()
            .contains("Streetlights")
    );
    assert_eq!(request["address"], "A市A3区天顶街道尖山社区", "{request}");
    // The centre of 天顶街道's outline (its community has none of its own).
    let (lat, long) = (
        request["lat"].as_f64().unwrap(),
        request["long"].as_f64().unwrap(),
    );
    assert!((28.05..28.08).contains(&lat), "{request}");
    assert!((112.8..112.9).contains(&long), "{request}");
    let (_, one, _) = c.get(&format!("/open311/v2/requests/{works}.json")).await;
    assert_eq!(one[0]["service_code"], "city-works", "{one}");
    assert_eq!(one[0]["address"], "天顶街道某路口", "{one}");
    let (_, one, _) = c
        .get(&format!("/open311/v2/requests/{elsewhere}.json"))
        .await;
    assert_eq!(one[0]["service_code"], "education", "{one}");

    let list = |query: &str| list_of(&c, query.to_owned());
    assert_eq!(
        list("service_code=public-facilities").await,
        [facility.as_str()]
    );
    // The coarser service lists its own, not those a finer service lists.
    assert_eq!(list("service_code=city-works").await, [works.as_str()]);
    assert_eq!(
        list("service_code=city-works,public-facilities").await,
        [works.clone(), facility.clone()]
    );
    assert_eq!(list("service_code=urban").await, Vec::<String>::new());
    let (_, xml) = c
        .get_xml("/open311/v2/requests.xml?service_code=public-facilities")
        .await;
    assert_eq!(
        xml_values(&xml, "service_requests/request/address"),
        ["A市A3区天顶街道尖山社区"]
    );
}

/// Chicago's extensions: pages, what changed in a window, and each request's history.
#[tokio::test]
async fn pages_changes_and_the_status_notes_history() {
    let c = client().await;
    let mut numbers = Vec::new();
    for _ in 0..5 {
        numbers.push(by_phone(&c, "教育文体", None).await);
        c.app.clock.advance(jiff::SignedDuration::from_mins(1));
    }
    numbers.reverse(); // newest first, as lists are
    let list = |query: String| list_of(&c, query);
    assert_eq!(list("page_size=2".into()).await, numbers[..2]);
    assert_eq!(list("page_size=2&page=2".into()).await, numbers[2..4]);
    assert_eq!(list("page_size=2&page=3".into()).await, numbers[4..]);
    assert!(list("page_size=2&page=4".into()).await.is_empty());

    // An hour later the oldest is answered: it alone changed since then.
    c.app.clock.advance(jiff::SignedDuration::from_hours(1));
    let since = "2026-11-22T11:00:00%2B08:00";
    let oldest = numbers[4].clone();
    // Routing sent it to a unit when it came in; the unit accepts and answers.
    for action in [
        json!({"action": "accept"}),
        json!({"action": "resolve", "reply": "已答复，学校已整改"}),
    ] {
        let (status, ticket) = c.app.act(&oldest, action).await;
        assert_eq!(status, StatusCode::OK, "{ticket}");
    }
    assert_eq!(
        list(format!("updated_after={since}")).await,
        [oldest.as_str()]
    );
    assert_eq!(
        list(format!("updated_before={since}")).await,
        numbers[..4].to_vec()
    );

    let (_, one, _) = c
        .get(&format!(
            "/open311/v2/requests/{oldest}.json?extensions=true"
        ))
        .await;
    let extended = &one[0]["extended_attributes"];
    assert_eq!(extended["channel"], "phone", "{one}");
    assert_eq!(extended["duplicate"], false);
    let notes = extended["notes"].as_array().unwrap();
    let types: Vec<&str> = notes.iter().map(|n| n["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["opened", "activity", "activity", "closed"], "{one}");
    assert_eq!(notes[3]["description"], "已答复，学校已整改");
    assert!(notes[0]["datetime"].as_str().unwrap().ends_with("+08:00"));
    let (_, plain, _) = c.get(&format!("/open311/v2/requests/{oldest}.json")).await;
    assert!(plain[0].get("extended_attributes").is_none(), "{plain}");
    let (_, xml) = c
        .get_xml("/open311/v2/requests.xml?extensions=true&status=closed")
        .await;
    assert_eq!(
        xml_values(
            &xml,
            "service_requests/request/extended_attributes/notes/note/type"
        ),
        ["opened", "activity", "activity", "closed"]
    );

    for (query, field) in [
        ("page_size=0", "page_size"),
        ("page_size=1001", "page_size"),
        ("page=0", "page"),
        ("updated_after=soon", "updated_after"),
        ("extensions=maybe", "extensions"),
        (
            "updated_after=2026-11-22&updated_before=2026-11-01",
            "updated_before",
        ),
    ] {
        let (status, body, _) = c.get(&format!("/open311/v2/requests.json?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(
            error_description(&body, status).starts_with(field),
            "{query}: {body}"
        );
    }
}

/// The descriptions `servicerequestupdates.json?{query}` lists.
async fn updates_of(c: &Client, query: String) -> Vec<String> {
    let uri = format!("/open311/v2/servicerequestupdates.json?{query}");
    let (status, body, _) = c.get(&uri).await;
    assert_eq!(status, StatusCode::OK, "{uri}: {body}");
    body.as_array()
        .unwrap()
        .iter()
        .map(|u| u["description"].as_str().unwrap().to_owned())
        .collect()
}

/// The updates of a window: a ticket taken in weeks before and answered inside it is
/// there; what happened after the window's end is not.
#[tokio::test]
async fn updates_are_bounded_by_their_window() {
    let c = client().await;
    let old = by_phone(&c, "教育文体", None).await;
    c.app
        .clock
        .advance(jiff::SignedDuration::from_hours(24 * 30));
    let (status, body) = c.app.act(&old, json!({"action": "accept"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    c.app.clock.advance(jiff::SignedDuration::from_hours(2));
    let (status, body) = c
        .app
        .act(&old, json!({"action": "resolve", "reply": "学校已回复"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Taken in and sent to a unit on 2026-11-22; accepted 2026-12-22T02:00Z, answered
    // 04:00Z.
    let updates = |query: &str| updates_of(&c, query.to_owned());
    assert_eq!(
        updates("start_date=2026-12-22T01:00:00Z").await,
        ["办理中 Being handled", "学校已回复"]
    );
    assert_eq!(
        updates("start_date=2026-12-22T01:00:00Z&end_date=2026-12-22T03:00:00Z").await,
        ["办理中 Being handled"]
    );
    assert_eq!(
        updates("start_date=2026-11-01").await,
        [
            "已派单 Sent to the unit",
            "办理中 Being handled",
            "学校已回复"
        ]
    );
    // The default window is the last day; being taken in is not an update.
    assert_eq!(updates("").await.len(), 2);
    assert!(updates("start_date=2026-12-22T05:00:00Z").await.is_empty());
    let (status, body, _) = c
        .get("/open311/v2/servicerequestupdates.json?start_date=2026-12-22&end_date=2026-12-01")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_description(&body, status).starts_with("end_date"));
}

/// `jurisdiction_id`: this server serves one city; its id is taken, another refused by
/// name on every call, a read or a post.
#[tokio::test]
async fn the_jurisdiction_is_the_citys_id() {
    let c = client().await;
    for path in [
        "discovery.json",
        "services.json",
        "services/noise.json",
        "requests.json",
        "servicerequestupdates.json",
    ] {
        let (status, body, _) = c
            .get(&format!(
                "/open311/v2/{path}?jurisdiction_id=A&api_key=anything"
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        let (status, body, _) = c
            .get(&format!("/open311/v2/{path}?jurisdiction_id=B"))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        let description = error_description(&body, status);
        assert!(description.starts_with("jurisdiction_id"), "{description}");
        assert!(description.contains("\"A\""), "{description}");
    }
    let mut form = c.form("电梯坏了");
    form.push(("jurisdiction_id", "B"));
    let (status, body) = c.post("json", &form).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(error_description(&body, status).starts_with("jurisdiction_id"));
    form.last_mut().unwrap().1 = "A";
    let (status, body) = c.post("json", &form).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body[0]["service_request_id"].as_str().unwrap();
    let (status, _, _) = c
        .get(&format!("/open311/v2/requests/{id}.json?jurisdiction_id=B"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// The discovery document is the city's (`[discovery]` in open311.toml), not code's.
#[tokio::test]
async fn discovery_comes_from_the_citys_file() {
    let c = client().await;
    let (_, body, _) = c.get("/open311/v2/discovery.json").await;
    let discovery = c.app.state.services.discovery();
    assert_eq!(body["contact"], discovery.contact.as_str());
    assert!(
        body["contact"].as_str().unwrap().contains("12345@"),
        "{body}"
    );
    assert_eq!(body["changeset"], "2026-12-07T00:00:00+08:00");
    assert_eq!(body["key_service"], discovery.key_service.as_str());
    let endpoint = &body["endpoints"][0];
    assert_eq!(endpoint["changeset"], body["changeset"]);
    assert_eq!(endpoint["type"], "production");
    // Without a url in the file: the address the request came to.
    let (_, body, _) = c
        .app
        .send_as(
            None,
            axum::http::Request::get("/open311/v2/discovery.json")
                .header(header::HOST, "12345.example.cn")
                .header("x-forwarded-proto", "https")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(
        body["endpoints"][0]["url"],
        "https://12345.example.cn/open311/v2"
    );
}
