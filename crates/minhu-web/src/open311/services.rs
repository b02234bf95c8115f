//! What the city offers: the discovery document, the service list and each service's
//! definition (its attributes).

use super::datetime;
use super::format::{Answer, Format, Node, Open311Error, ok};
use super::jurisdiction::{Common, Nothing, open311_query};
use crate::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use minhu_core::services::Service;

/// The discovery document, as the city wrote it in `open311.toml`; without a `url`
/// there, the endpoint is named by the address the request came to (`https` behind a
/// proxy that says it terminated TLS).
pub(super) fn discovery_node(state: &AppState, headers: &HeaderMap) -> Node {
    let discovery = state.services.discovery();
    let url = discovery.url.clone().unwrap_or_else(|| {
        let header = |name| headers.get(name).and_then(|h| h.to_str().ok());
        let host = header(header::HOST).unwrap_or("127.0.0.1:8080");
        let scheme = match header(header::HeaderName::from_static("x-forwarded-proto")) {
            Some("https") => "https",
            _ => "http",
        };
        format!("{scheme}://{host}/open311/v2")
    });
    let changeset = datetime(state, discovery.changeset);
    let formats = || {
        Node::List(
            "format",
            vec![Node::text("text/xml"), Node::text("application/json")],
        )
    };
    Node::Object(vec![
        ("changeset", Node::text(&changeset)),
        ("contact", Node::text(&discovery.contact)),
        ("key_service", Node::text(&discovery.key_service)),
        (
            "endpoints",
            Node::List(
                "endpoint",
                vec![Node::Object(vec![
                    (
                        "specification",
                        Node::text("http://wiki.open311.org/GeoReport_v2"),
                    ),
                    ("url", Node::text(url)),
                    ("changeset", Node::text(changeset)),
                    ("type", Node::text(discovery.endpoint_type.code())),
                    ("formats", formats()),
                ])],
            ),
        ),
    ])
}

async fn discovery(
    state: &AppState,
    format: Format,
    headers: &HeaderMap,
    query: Option<String>,
) -> Answer {
    let (_, Nothing {}) = open311_query(state, format, query.as_deref())?;
    ok(format, "discovery", &discovery_node(state, headers))
}

#[utoipa::path(
    get, path = "/open311/v2/discovery.json", tag = "Open311",
    params(Common),
    responses((status = 200, description = "the discovery document (`[discovery]` of open311.toml)", content_type = "application/json"), (status = 400, description = "a bad field or parameter, named first (the spec's error list)", content_type = "application/json"))
)]
pub(super) async fn discovery_json(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Answer {
    discovery(&state, Format::Json, &headers, query).await
}

#[utoipa::path(
    get, path = "/open311/v2/discovery.xml", tag = "Open311",
    params(Common),
    responses((status = 200, description = "the discovery document", content_type = "text/xml"), (status = 400, description = "a bad field or parameter, named first (the spec's error list)", content_type = "text/xml"))
)]
pub(super) async fn discovery_xml(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Answer {
    discovery(&state, Format::Xml, &headers, query).await
}

pub(super) fn service_node(service: &Service) -> Node {
    Node::Object(vec![
        ("service_code", Node::text(&service.code)),
        ("service_name", Node::text(&service.name)),
        ("description", Node::text(&service.description)),
        ("metadata", Node::Bool(!service.attributes.is_empty())),
        ("type", Node::text("realtime")),
        ("keywords", Node::text(service.keywords.join(","))),
        ("group", Node::text(service.group())),
    ])
}

pub(super) fn services(state: &AppState, format: Format, query: Option<String>) -> Answer {
    let (city, Nothing {}) = open311_query(state, format, query.as_deref())?;
    let list = state
        .services_of(&city)
        .all()
        .iter()
        .map(service_node)
        .collect();
    ok(format, "services", &Node::List("service", list))
}

#[utoipa::path(
    get, path = "/open311/v2/services.json", tag = "Open311",
    params(Common),
    responses((status = 200, description = "the services", content_type = "application/json"), (status = 400, description = "a bad field or parameter, named first (the spec's error list)", content_type = "application/json"))
)]
pub(super) async fn services_json(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Answer {
    services(&state, Format::Json, query)
}

#[utoipa::path(
    get, path = "/open311/v2/services.xml", tag = "Open311",
    params(Common),
    responses((status = 200, description = "the services", content_type = "text/xml"), (status = 400, description = "a bad field or parameter, named first (the spec's error list)", content_type = "text/xml"))
)]
pub(super) async fn services_xml(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Answer {
    services(&state, Format::Xml, query)
}

#[utoipa::path(
    get, path = "/open311/v2/services/{service_code}", tag = "Open311",
    params(("service_code" = String, Path, description = "the service's code and the format: `noise.json` or `noise.xml`"), Common),
    responses((status = 200, description = "the service's definition: its attributes (JSON or XML, as the path asks)", content_type = "application/json"), (status = 400, description = "a bad field or parameter, named first (the spec's error list)", content_type = "application/json"), (status = 404, description = "no such service"))
)]
pub(super) async fn service_definition(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
) -> Answer {
    let (code, format) = Format::split(&file)?;
    let (city, Nothing {}) = open311_query(&state, format, query.as_deref())?;
    let service = state.services_of(&city).get(code).ok_or_else(|| {
        Open311Error::new(
            format,
            StatusCode::NOT_FOUND,
            format!("service_code {code:?} is not a service of this city"),
        )
    })?;
    let attributes = service
        .attributes
        .iter()
        .enumerate()
        .map(|(index, attribute)| {
            let values = attribute
                .values
                .iter()
                .map(|v| {
                    Node::Object(vec![
                        ("key", Node::text(&v.key)),
                        ("name", Node::text(&v.name)),
                    ])
                })
                .collect();
            Node::Object(vec![
                ("variable", Node::Bool(attribute.variable)),
                ("code", Node::text(&attribute.code)),
                ("datatype", Node::text(attribute.datatype.code())),
                ("required", Node::Bool(attribute.required)),
                (
                    "datatype_description",
                    Node::optional(attribute.datatype_description.clone()),
                ),
                ("order", Node::Number((index + 1).to_string())),
                ("description", Node::text(&attribute.description)),
                ("values", Node::List("value", values)),
            ])
        })
        .collect();
    let node = Node::Object(vec![
        ("service_code", Node::text(&service.code)),
        ("attributes", Node::List("attribute", attributes)),
    ]);
    ok(format, "service_definition", &node)
}
