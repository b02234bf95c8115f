//! Open311 GeoReport v2 at `/open311/v2/`: the world's 311 apps (FixMyStreet,
//! SeeClickFix-style clients) read the city's services and requests and send new
//! requests, which become tickets on the `open311` channel through the engine's
//! intake like any other demand.
//!
//! The spec (<http://wiki.open311.org/GeoReport_v2>) fixes the shapes: every resource
//! in `.json` and `.xml`, errors as `[{"code":400,"description":"..."}]` or
//! `<errors><error>...</error></errors>`, form-encoded POSTs with an `api_key`.
//! Answers are built once as a `Node` tree and written in either format, so the
//! two cannot drift apart. FixMyStreet's `servicerequestupdates` extension reports
//! what happened to requests since a moment.

use crate::AppState;
use crate::api::audit::Client;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::Timestamp;
use minhu_core::event::{Actor, Change, Event};
use minhu_core::ids::TicketNumber;
use minhu_core::services::{Datatype, Service};
use minhu_core::ticket::{Channel, Citizen, GeoPoint, Intake, Status, Ticket};
use minhu_engine::records::{Open311Key, TicketFilter};
use minhu_engine::{EngineError, Reader};
use std::collections::{BTreeMap, HashMap};

/// When the service list last changed in a way clients must notice (the discovery
/// document's `changeset`).
const CHANGESET: &str = "2026-11-23T00:00:00+08:00";
/// GeoReport v2 lists at most this many requests by default.
const MAX_REQUESTS: usize = 1000;
/// The default window of a request list without dates (the spec's 90 days).
const DEFAULT_DAYS: i64 = 90;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/open311/v2/discovery.json", get(discovery_json))
        .route("/open311/v2/discovery.xml", get(discovery_xml))
        .route("/open311/v2/services.json", get(services_json))
        .route("/open311/v2/services.xml", get(services_xml))
        .route(
            "/open311/v2/services/{service_code}",
            get(service_definition),
        )
        .route(
            "/open311/v2/requests.json",
            get(requests_json).post(post_request_json),
        )
        .route(
            "/open311/v2/requests.xml",
            get(requests_xml).post(post_request_xml),
        )
        .route("/open311/v2/requests/{id}", get(one_request))
        .route("/open311/v2/tokens/{token}", get(token))
        .route("/open311/v2/servicerequestupdates.json", get(updates_json))
        .route("/open311/v2/servicerequestupdates.xml", get(updates_xml))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Json,
    Xml,
}

/// An answer in neutral form: written as JSON or XML by [`Format::render`].
enum Node {
    Text(String),
    Null,
    /// A number, already written in decimal.
    Number(String),
    Bool(bool),
    Object(Vec<(&'static str, Node)>),
    /// A list; in XML each item is an element with this name.
    List(&'static str, Vec<Node>),
}

impl Node {
    fn text(value: impl Into<String>) -> Node {
        Node::Text(value.into())
    }

    fn optional(value: Option<impl Into<String>>) -> Node {
        value.map_or(Node::Null, |v| Node::Text(v.into()))
    }

    fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Node::Text(text) => Value::String(text.clone()),
            Node::Null => Value::Null,
            Node::Number(number) => number
                .parse::<serde_json::Number>()
                .map_or(Value::Null, Value::Number),
            Node::Bool(value) => Value::Bool(*value),
            Node::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(key, node)| ((*key).to_owned(), node.to_json()))
                    .collect(),
            ),
            Node::List(_, items) => Value::Array(items.iter().map(Node::to_json).collect()),
        }
    }

    fn write_xml(&self, name: &str, out: &mut String) {
        out.push('<');
        out.push_str(name);
        out.push('>');
        match self {
            Node::Text(text) | Node::Number(text) => out.push_str(&escape_xml(text)),
            Node::Null => {}
            Node::Bool(value) => out.push_str(if *value { "true" } else { "false" }),
            Node::Object(fields) => {
                for (key, node) in fields {
                    node.write_xml(key, out);
                }
            }
            Node::List(item, items) => {
                for node in items {
                    node.write_xml(item, out);
                }
            }
        }
        out.push_str("</");
        out.push_str(name);
        out.push('>');
    }
}

pub(crate) fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all are dropped, not escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

impl Format {
    /// Splits `name.json` / `name.xml` (the last path segment).
    fn split(file: &str) -> Result<(&str, Format), Open311Error> {
        if let Some(name) = file.strip_suffix(".json") {
            Ok((name, Format::Json))
        } else if let Some(name) = file.strip_suffix(".xml") {
            Ok((name, Format::Xml))
        } else {
            Err(Open311Error {
                status: StatusCode::NOT_FOUND,
                format: Format::Json,
                description: format!("{file:?}: add .json or .xml to choose the format"),
            })
        }
    }

    /// `root` names the XML document element (the JSON answer is the node itself).
    fn render(self, status: StatusCode, root: &str, node: &Node) -> Response {
        match self {
            Format::Json => (
                status,
                [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
                node.to_json().to_string(),
            )
                .into_response(),
            Format::Xml => {
                let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
                node.write_xml(root, &mut out);
                (
                    status,
                    [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
                    out,
                )
                    .into_response()
            }
        }
    }
}

/// A failure in the spec's shape, in the format the client asked for.
#[derive(Debug)]
struct Open311Error {
    status: StatusCode,
    format: Format,
    description: String,
}

impl Open311Error {
    fn new(format: Format, status: StatusCode, description: impl Into<String>) -> Self {
        Self {
            status,
            format,
            description: description.into(),
        }
    }

    fn bad(format: Format, description: impl Into<String>) -> Self {
        Self::new(format, StatusCode::BAD_REQUEST, description)
    }

    fn internal(format: Format, error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "Open311 request failed");
        Self::new(
            format,
            StatusCode::INTERNAL_SERVER_ERROR,
            "the server could not complete the request; it has been logged",
        )
    }

    fn engine(format: Format, error: EngineError) -> Self {
        match error {
            EngineError::Invalid(field) => {
                Self::bad(format, format!("{}: {}", field.field, field.problem))
            }
            EngineError::NotFound(what) => Self::new(format, StatusCode::NOT_FOUND, what),
            other => Self::internal(format, other),
        }
    }
}

/// An error in Open311's shape for a request to `path` (XML when the path ends in
/// `.xml`): what the framework or the access guard refused, in the form Open311
/// clients read.
pub(crate) fn error_response(path: &str, status: StatusCode, description: &str) -> Response {
    let format = if path.ends_with(".xml") {
        Format::Xml
    } else {
        Format::Json
    };
    Open311Error::new(format, status, description).into_response()
}

impl IntoResponse for Open311Error {
    fn into_response(self) -> Response {
        let node = Node::List(
            "error",
            vec![Node::Object(vec![
                ("code", Node::Number(self.status.as_u16().to_string())),
                ("description", Node::text(self.description)),
            ])],
        );
        self.format.render(self.status, "errors", &node)
    }
}

type Answer = Result<Response, Open311Error>;

fn ok(format: Format, root: &str, node: &Node) -> Answer {
    Ok(format.render(StatusCode::OK, root, node))
}

/// ISO 8601 with the city's offset, as the spec asks (`2026-11-23T09:30:00+08:00`).
fn datetime(state: &AppState, at: Timestamp) -> String {
    at.to_zoned(state.engine.city().timezone.clone())
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

fn discovery_node(headers: &HeaderMap) -> Node {
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

async fn discovery_json(headers: HeaderMap) -> Answer {
    ok(Format::Json, "discovery", &discovery_node(&headers))
}

async fn discovery_xml(headers: HeaderMap) -> Answer {
    ok(Format::Xml, "discovery", &discovery_node(&headers))
}

fn service_node(service: &Service) -> Node {
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

fn services(state: &AppState, format: Format) -> Answer {
    let list = state.services.all().iter().map(service_node).collect();
    ok(format, "services", &Node::List("service", list))
}

async fn services_json(State(state): State<AppState>) -> Answer {
    services(&state, Format::Json)
}

async fn services_xml(State(state): State<AppState>) -> Answer {
    services(&state, Format::Xml)
}

async fn service_definition(State(state): State<AppState>, Path(file): Path<String>) -> Answer {
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

/// Open311's two states: a request is open until the city has answered it.
fn open311_status(status: Status) -> &'static str {
    match status {
        // A merged ticket waits for its main case's reply.
        Status::Pending | Status::Dispatched | Status::Accepted | Status::Merged => "open",
        Status::Resolved | Status::Closed => "closed",
    }
}

fn request_node(state: &AppState, ticket: &Ticket) -> Node {
    let service = ticket
        .intake
        .category
        .as_ref()
        .and_then(|c| state.services.for_category(c));
    let agency = ticket
        .unit
        .as_ref()
        .and_then(|u| state.engine.city().units.get(u))
        .map(|u| u.name.clone());
    let (lat, long) = match ticket.intake.location {
        Some(point) => (
            Node::Number(point.lat.to_string()),
            Node::Number(point.lon.to_string()),
        ),
        None => (Node::Null, Node::Null),
    };
    Node::Object(vec![
        ("service_request_id", Node::text(ticket.number.as_str())),
        ("status", Node::text(open311_status(ticket.status))),
        ("status_notes", Node::optional(ticket.reply.clone())),
        (
            "service_name",
            Node::optional(service.map(|s| s.name.clone())),
        ),
        (
            "service_code",
            Node::optional(service.map(|s| s.code.clone())),
        ),
        ("description", Node::text(&ticket.intake.description)),
        ("agency_responsible", Node::optional(agency)),
        ("service_notice", Node::Null),
        (
            "requested_datetime",
            Node::text(datetime(state, ticket.created_at)),
        ),
        (
            "updated_datetime",
            Node::text(datetime(state, ticket.updated_at)),
        ),
        (
            "expected_datetime",
            Node::optional(ticket.deadlines.map(|d| datetime(state, d.resolve_by))),
        ),
        ("address", Node::optional(ticket.intake.address.clone())),
        ("address_id", Node::Null),
        ("zipcode", Node::Null),
        ("lat", lat),
        ("long", long),
        // Citizens' photos are not published: a photo can show a face, a plate or a
        // door, and no one has looked at it before it would go out.
        ("media_url", Node::Null),
    ])
}

/// A query date: a moment with its offset, or a date (midnight in the city).
fn query_moment(
    state: &AppState,
    format: Format,
    name: &str,
    text: &str,
) -> Result<Timestamp, Open311Error> {
    if let Ok(at) = text.parse::<Timestamp>() {
        return Ok(at);
    }
    let date: jiff::civil::Date = text.parse().map_err(|_| {
        Open311Error::bad(
            format,
            format!(
                "{name}: {text:?} is not an ISO 8601 moment (2026-11-23T08:00:00+08:00) or date"
            ),
        )
    })?;
    date.to_zoned(state.engine.city().timezone.clone())
        .map(|z| z.timestamp())
        .map_err(|e| Open311Error::bad(format, format!("{name}: {e}")))
}

fn refuse_unknown(
    format: Format,
    params: &HashMap<String, String>,
    known: &[&str],
) -> Result<(), Open311Error> {
    match params.keys().find(|k| !known.contains(&k.as_str())) {
        Some(unknown) => Err(Open311Error::bad(
            format,
            format!(
                "{unknown} is not a parameter here; use {}",
                known.join(", ")
            ),
        )),
        None => Ok(()),
    }
}

/// Reads the tickets the public may see, newest first and masked for them, through
/// the store's pages until `keep` has taken `limit` of them or the list ends.
async fn scan(
    state: &AppState,
    mut filter: TicketFilter,
    limit: usize,
    mut keep: impl FnMut(&Ticket) -> bool,
) -> Result<Vec<Ticket>, EngineError> {
    filter.limit = 500;
    let mut found = Vec::new();
    loop {
        let page = state.engine.list_for(&Reader::public(), &filter).await?;
        for ticket in page.tickets {
            if keep(&ticket) {
                found.push(ticket);
                if found.len() == limit {
                    return Ok(found);
                }
            }
        }
        match page.next {
            Some(cursor) => filter.cursor = Some(cursor),
            None => return Ok(found),
        }
    }
}

async fn list_requests(
    state: &AppState,
    format: Format,
    params: &HashMap<String, String>,
) -> Answer {
    refuse_unknown(
        format,
        params,
        &[
            "service_request_id",
            "service_code",
            "start_date",
            "end_date",
            "status",
            "jurisdiction_id",
        ],
    )?;
    let get = |name: &str| params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    if let Some(ids) = get("service_request_id") {
        let mut nodes = Vec::new();
        for id in ids.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            // Unknown ids are left out of a list, as the spec's examples do.
            if let Some(ticket) = find_request(state, id)
                .await
                .map_err(|e| Open311Error::internal(format, e))?
            {
                nodes.push(request_node(state, &ticket));
            }
        }
        return ok(format, "service_requests", &Node::List("request", nodes));
    }
    let mut filter = TicketFilter::default();
    if let Some(code) = get("service_code") {
        let service = state.services.get(code).ok_or_else(|| {
            Open311Error::bad(
                format,
                format!("service_code: {code:?} is not a service of this city"),
            )
        })?;
        filter.category = Some(service.category.as_str().to_owned());
    }
    let start = get("start_date")
        .map(|t| query_moment(state, format, "start_date", t))
        .transpose()?;
    let end = get("end_date")
        .map(|t| query_moment(state, format, "end_date", t))
        .transpose()?;
    let now = state.engine.now();
    let window = jiff::SignedDuration::from_hours(24 * DEFAULT_DAYS);
    let (start, end) = match (start, end) {
        (Some(s), e) => (s, e),
        (None, Some(e)) => (e - window, Some(e)),
        (None, None) => (now - window, None),
    };
    if end.is_some_and(|e| e < start) {
        return Err(Open311Error::bad(format, "end_date: is before start_date"));
    }
    filter.created_from = Some(start);
    filter.created_to = end;
    let wanted: Option<Vec<&str>> = match get("status") {
        None => None,
        Some(text) => {
            let states: Vec<&str> = text.split(',').map(str::trim).collect();
            if let Some(bad) = states.iter().find(|s| !matches!(**s, "open" | "closed")) {
                return Err(Open311Error::bad(
                    format,
                    format!("status: {bad:?} is not open or closed"),
                ));
            }
            Some(states)
        }
    };
    let tickets = scan(state, filter, MAX_REQUESTS, |ticket| {
        wanted
            .as_ref()
            .is_none_or(|w| w.contains(&open311_status(ticket.status)))
    })
    .await
    .map_err(|e| Open311Error::internal(format, e))?;
    let nodes = tickets.iter().map(|t| request_node(state, t)).collect();
    ok(format, "service_requests", &Node::List("request", nodes))
}

/// The request as the public sees it; `None` for a number that is not one, or not
/// theirs to see (a 举报 or a confidential demand reads as unknown).
async fn find_request(state: &AppState, id: &str) -> Result<Option<Ticket>, EngineError> {
    let Ok(number) = TicketNumber::parse(id) else {
        return Ok(None);
    };
    match state.engine.ticket_for(&Reader::public(), &number).await {
        Ok(ticket) => Ok(Some(ticket)),
        Err(EngineError::NotFound(_)) => Ok(None),
        Err(error) => Err(error),
    }
}

async fn requests_json(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Answer {
    list_requests(&state, Format::Json, &params).await
}

async fn requests_xml(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Answer {
    list_requests(&state, Format::Xml, &params).await
}

async fn one_request(State(state): State<AppState>, Path(file): Path<String>) -> Answer {
    let (id, format) = Format::split(&file)?;
    let ticket = find_request(&state, id)
        .await
        .map_err(|e| Open311Error::internal(format, e))?
        .ok_or_else(|| {
            Open311Error::new(
                format,
                StatusCode::NOT_FOUND,
                format!("service_request_id {id:?} does not exist"),
            )
        })?;
    let node = Node::List("request", vec![request_node(&state, &ticket)]);
    ok(format, "service_requests", &node)
}

/// The idempotency key of a request with this token: the token is a digest of the
/// client's key and every field it sent, so a retried POST finds its first ticket.
fn token_key(token: &str) -> String {
    format!("open311:{token}")
}

async fn token(State(state): State<AppState>, Path(file): Path<String>) -> Answer {
    let (token, format) = Format::split(&file)?;
    let number = state
        .engine
        .ticket_by_key(&token_key(token))
        .await
        .map_err(|e| Open311Error::internal(format, e))?
        .ok_or_else(|| {
            Open311Error::new(
                format,
                StatusCode::NOT_FOUND,
                format!("token {token:?} is not known"),
            )
        })?;
    let node = Node::List(
        "request",
        vec![Node::Object(vec![
            ("service_request_id", Node::text(number.as_str())),
            ("token", Node::text(token)),
        ])],
    );
    ok(format, "service_requests", &node)
}

/// The form of a new request, read field by field so each mistake is named.
struct NewRequest<'a> {
    service: &'a Service,
    intake: Intake,
    token: String,
}

fn parse_form(format: Format, body: &[u8]) -> Result<BTreeMap<String, String>, Open311Error> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|e| {
        Open311Error::bad(
            format,
            format!("the body is not a form (application/x-www-form-urlencoded, UTF-8): {e}"),
        )
    })?;
    let mut form = BTreeMap::new();
    for (key, value) in pairs {
        if form.insert(key.clone(), value).is_some() {
            return Err(Open311Error::bad(format, format!("{key}: is given twice")));
        }
    }
    Ok(form)
}

fn read_request<'a>(
    state: &'a AppState,
    format: Format,
    form: &BTreeMap<String, String>,
    key: &Open311Key,
) -> Result<NewRequest<'a>, Open311Error> {
    const FIELDS: &[&str] = &[
        "api_key",
        "jurisdiction_id",
        "service_code",
        "lat",
        "long",
        "address_string",
        "address_id",
        "email",
        "device_id",
        "account_id",
        "first_name",
        "last_name",
        "phone",
        "description",
        "media_url",
    ];
    let bad = |message: String| Open311Error::bad(format, message);
    if let Some(unknown) = form
        .keys()
        .find(|k| !FIELDS.contains(&k.as_str()) && !k.starts_with("attribute["))
    {
        return Err(bad(format!(
            "{unknown}: is not a field of a service request"
        )));
    }
    let get = |name: &str| form.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let code = get("service_code").ok_or_else(|| bad("service_code: is required".into()))?;
    let service = state.services.get(code).ok_or_else(|| {
        bad(format!(
            "service_code: {code:?} is not a service of this city"
        ))
    })?;
    let coordinate = |name: &str, limit: f64| -> Result<Option<f64>, Open311Error> {
        get(name)
            .map(|text| {
                text.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite() && v.abs() <= limit)
                    .ok_or_else(|| {
                        bad(format!(
                            "{name}: {text:?} is not a WGS84 coordinate (-{limit} to {limit})"
                        ))
                    })
            })
            .transpose()
    };
    let location = match (coordinate("lat", 90.0)?, coordinate("long", 180.0)?) {
        (Some(lat), Some(lon)) => Some(GeoPoint { lat, lon }),
        (None, None) => None,
        (Some(_), None) => return Err(bad("long: is required with lat".into())),
        (None, Some(_)) => return Err(bad("lat: is required with long".into())),
    };
    let address = get("address_string")
        .or(get("address_id"))
        .map(str::to_owned);
    if location.is_none() && address.is_none() {
        return Err(bad(
            "lat: a location is required: lat and long, address_string or address_id".into(),
        ));
    }
    let mut lines = vec![get("description").unwrap_or(&service.name).to_owned()];
    for (field, value) in form {
        let Some(code) = field
            .strip_prefix("attribute[")
            .and_then(|rest| rest.strip_suffix(']'))
        else {
            continue;
        };
        let attribute = service.attribute(code).ok_or_else(|| {
            bad(format!(
                "{field}: the service {} has no attribute {code:?}",
                service.code
            ))
        })?;
        let value = value.trim();
        let shown = match attribute.datatype {
            Datatype::Singlevaluelist | Datatype::Multivaluelist => {
                let mut names = Vec::new();
                for key in value.split(',').map(str::trim) {
                    let found =
                        attribute
                            .values
                            .iter()
                            .find(|v| v.key == key)
                            .ok_or_else(|| {
                                let keys: Vec<&str> =
                                    attribute.values.iter().map(|v| v.key.as_str()).collect();
                                bad(format!(
                                    "{field}: {key:?} is not one of {}",
                                    keys.join(", ")
                                ))
                            })?;
                    names.push(found.name.as_str());
                }
                if attribute.datatype == Datatype::Singlevaluelist && names.len() > 1 {
                    return Err(bad(format!("{field}: takes one value")));
                }
                names.join(", ")
            }
            Datatype::Number if value.parse::<f64>().is_err() => {
                return Err(bad(format!("{field}: {value:?} is not a number")));
            }
            Datatype::Datetime if value.parse::<Timestamp>().is_err() => {
                return Err(bad(format!(
                    "{field}: {value:?} is not an ISO 8601 moment with an offset"
                )));
            }
            _ => value.to_owned(),
        };
        lines.push(format!("{}: {shown}", attribute.description));
    }
    if let Some(missing) = service.attributes.iter().find(|a| {
        a.required
            && a.variable
            && form
                .get(&format!("attribute[{}]", a.code))
                .is_none_or(|v| v.trim().is_empty())
    }) {
        return Err(bad(format!(
            "attribute[{}]: is required by the service {}",
            missing.code, service.code
        )));
    }
    if let Some(url) = get("media_url") {
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() > 2000 {
            return Err(bad(format!("media_url: {url:?} is not an http(s) URL")));
        }
        lines.push(format!("media_url: {url}"));
    }
    let name = [get("last_name"), get("first_name")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("");
    let citizen = Citizen {
        phone: get("phone").map(|p| p.chars().filter(|c| !matches!(c, ' ' | '-')).collect()),
        name: Some(name).filter(|n| !n.is_empty()),
        email: get("email").map(str::to_owned),
        ..Citizen::default()
    };
    // The token: the client's key and everything it sent except the key itself.
    let mut identity = key.key_hash.clone();
    for (field, value) in form.iter().filter(|(f, _)| *f != "api_key") {
        identity.push('\n');
        identity.push_str(field);
        identity.push('=');
        identity.push_str(value);
    }
    let token = minhu_engine::accounts::digest(&identity)[..32].to_owned();
    let intake = Intake {
        channel: Channel::Open311,
        kind: service.kind,
        title: service.name.clone(),
        description: lines.join("\n"),
        address,
        location,
        citizen,
        category: Some(service.category.clone()),
        region: None,
        tier: state.engine.city().default_tier.clone(),
        external_ref: Some(format!("open311:{token}")),
    };
    Ok(NewRequest {
        service,
        intake,
        token,
    })
}

async fn post_request(
    state: &AppState,
    format: Format,
    body: &[u8],
    client: Option<String>,
) -> Answer {
    let form = parse_form(format, body)?;
    let forbidden = |message: &str| Open311Error::new(format, StatusCode::FORBIDDEN, message);
    let api_key = form
        .get("api_key")
        .map(|k| k.trim())
        .filter(|k| !k.is_empty())
        .ok_or_else(|| forbidden("api_key: is required to post a request"))?;
    let key = state
        .engine
        .accounts()
        .open311_key(api_key)
        .await
        .map_err(|e| Open311Error::internal(format, e))?
        .ok_or_else(|| forbidden("api_key: is not a valid key"))?;
    let request = read_request(state, format, &form, &key)?;
    let actor = Actor::token(&format!("open311:{}", key.label));
    let audit = crate::api::audit::creation(state, actor.to_string(), Channel::Open311, client);
    let created = state
        .engine
        .intake_audited(
            request.intake,
            actor,
            Some(token_key(&request.token)),
            Some(audit),
        )
        .await
        .map_err(|e| Open311Error::engine(format, e))?;
    let status = if created.fresh {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let node = Node::List(
        "request",
        vec![Node::Object(vec![
            (
                "service_request_id",
                Node::text(created.ticket.number.as_str()),
            ),
            ("token", Node::text(request.token)),
            (
                "service_notice",
                Node::text(format!(
                    "{}: {}",
                    request.service.name,
                    created.ticket.status.label_zh()
                )),
            ),
            ("account_id", Node::Null),
        ])],
    );
    Ok(format.render(status, "service_requests", &node))
}

async fn post_request_json(
    State(state): State<AppState>,
    Client(client): Client,
    body: Bytes,
) -> Answer {
    post_request(&state, Format::Json, &body, client).await
}

async fn post_request_xml(
    State(state): State<AppState>,
    Client(client): Client,
    body: Bytes,
) -> Answer {
    post_request(&state, Format::Xml, &body, client).await
}

/// What one event tells a citizen following the request (FixMyStreet's updates).
fn update_description(change: &Change) -> Option<String> {
    Some(match change {
        Change::Dispatched { .. } | Change::Redispatched { .. } => "已派单 Sent to the unit".into(),
        Change::Accepted => "办理中 Being handled".into(),
        Change::Resolved { reply } => reply.clone(),
        Change::AnsweredAtIntake { answer, .. } => answer.clone(),
        Change::Reopened { .. } => "已重新办理 Reopened".into(),
        Change::Closed { .. } => "已关闭 Closed".into(),
        _ => return None,
    })
}

async fn updates(state: &AppState, format: Format, params: &HashMap<String, String>) -> Answer {
    refuse_unknown(
        format,
        params,
        &["start_date", "end_date", "jurisdiction_id"],
    )?;
    let get = |name: &str| params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let start = match get("start_date") {
        Some(text) => query_moment(state, format, "start_date", text)?,
        None => state.engine.now() - jiff::SignedDuration::from_hours(24),
    };
    let end = get("end_date")
        .map(|t| query_moment(state, format, "end_date", t))
        .transpose()?;
    // A ticket created before the window may change inside it: every ticket is
    // looked at, and those unchanged since `start` are passed over.
    let tickets = scan(state, TicketFilter::default(), usize::MAX, |ticket| {
        ticket.updated_at >= start
    })
    .await
    .map_err(|e| Open311Error::internal(format, e))?;
    let mut found: Vec<(Timestamp, Node)> = Vec::new();
    for ticket in tickets {
        let events: Vec<Event> = state
            .engine
            .events_for(&Reader::public(), &ticket.number)
            .await
            .map_err(|e| Open311Error::internal(format, e))?;
        let mut status = Status::Pending;
        let mut replay: Option<Ticket> = None;
        for event in &events {
            match &mut replay {
                None => {
                    if let Change::Created(intake) = &event.change {
                        replay = Some(Ticket::new(ticket.number.clone(), intake.clone(), event.at));
                    }
                }
                Some(t) => {
                    t.apply(event);
                    status = t.status;
                }
            }
            let inside = event.at >= start && end.is_none_or(|e| event.at < e);
            if let (true, Some(description)) = (inside, update_description(&event.change)) {
                found.push((
                    event.at,
                    Node::Object(vec![
                        (
                            "update_id",
                            Node::text(format!("{}-{}", ticket.number, event.seq)),
                        ),
                        ("service_request_id", Node::text(ticket.number.as_str())),
                        ("status", Node::text(open311_status(status))),
                        ("updated_datetime", Node::text(datetime(state, event.at))),
                        ("description", Node::text(description)),
                        ("media_url", Node::Null),
                    ]),
                ));
            }
        }
    }
    found.sort_by_key(|(at, _)| *at);
    found.truncate(MAX_REQUESTS);
    let nodes = found.into_iter().map(|(_, node)| node).collect();
    ok(
        format,
        "service_request_updates",
        &Node::List("request_update", nodes),
    )
}

async fn updates_json(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Answer {
    updates(&state, Format::Json, &params).await
}

async fn updates_xml(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Answer {
    updates(&state, Format::Xml, &params).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_tree_two_formats() {
        let node = Node::List(
            "request",
            vec![Node::Object(vec![
                ("service_request_id", Node::text("2026112300001")),
                ("description", Node::text("<a> & \"b\"")),
                ("lat", Node::Number("28.2".into())),
                ("address", Node::Null),
            ])],
        );
        assert_eq!(
            node.to_json(),
            serde_json::json!([{"service_request_id": "2026112300001",
                "description": "<a> & \"b\"", "lat": 28.2, "address": null}])
        );
        let mut xml = String::new();
        node.write_xml("service_requests", &mut xml);
        assert_eq!(
            xml,
            "<service_requests><request><service_request_id>2026112300001</service_request_id>\
             <description>&lt;a&gt; &amp; &quot;b&quot;</description><lat>28.2</lat>\
             <address></address></request></service_requests>"
        );
    }

    #[test]
    fn the_format_comes_from_the_suffix() {
        assert_eq!(Format::split("abc.json").unwrap(), ("abc", Format::Json));
        assert_eq!(Format::split("abc.xml").unwrap(), ("abc", Format::Xml));
        assert_eq!(
            Format::split("abc").unwrap_err().status,
            StatusCode::NOT_FOUND
        );
    }
}
