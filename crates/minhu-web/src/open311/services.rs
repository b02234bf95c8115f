//! What the city offers: the discovery document, the service list and each service's
//! definition (its attributes).

use super::CHANGESET;
use super::format::{Answer, Format, Node, Open311Error, ok};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use minhu_core::services::Service;

pub(super) fn discovery_node(headers: &HeaderMap) -> Node {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:8080");
    let formats = || {
        Node::List(
            "format",
            vec![Node::text("text/xml"), Node::text("application/json")],
        )
    };
    Node::Object(vec![
        ("changeset", Node::text(CHANGESET)),
        ("contact", Node::text("12345 政务服务便民热线")),
        (
            "key_service",
            Node::text("minhu admin add-open311-key LABEL"),
        ),
        (
            "endpoints",
            Node::List(
                "endpoint",
                vec![Node::Object(vec![
                    (
                        "specification",
                        Node::text("http://wiki.open311.org/GeoReport_v2"),
                    ),
                    ("url", Node::text(format!("http://{host}/open311/v2"))),
                    ("changeset", Node::text(CHANGESET)),
                    ("type", Node::text("production")),
                    ("formats", formats()),
                ])],
            ),
        ),
    ])
}

pub(super) async fn discovery_json(headers: HeaderMap) -> Answer {
    ok(Format::Json, "discovery", &discovery_node(&headers))
}

pub(super) async fn discovery_xml(headers: HeaderMap) -> Answer {
    ok(Format::Xml, "discovery", &discovery_node(&headers))
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

pub(super) fn services(state: &AppState, format: Format) -> Answer {
    let list = state.services.all().iter().map(service_node).collect();
    ok(format, "services", &Node::List("service", list))
}

pub(super) async fn services_json(State(state): State<AppState>) -> Answer {
    services(&state, Format::Json)
}

pub(super) async fn services_xml(State(state): State<AppState>) -> Answer {
    services(&state, Format::Xml)
}

pub(super) async fn service_definition(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Answer {
    let (code, format) = Format::split(&file)?;
    let service = state.services.get(code).ok_or_else(|| {
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
