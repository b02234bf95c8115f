//! Reading requests: the list (with the spec's filters and its 90-day window), one
//! request, and a token's request (what a client holds before the ticket is numbered).

use super::format::{Answer, Format, Node, Open311Error, ok};
use super::history::{Note, notes};
use super::jurisdiction::{Common, Nothing, open311_query, public_in};
use super::{DEFAULT_DAYS, MAX_REQUESTS, datetime};
use crate::AppState;
use crate::api::in_range;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use minhu_core::ids::{CityId, TicketNumber};
use minhu_core::services::Service;
use minhu_core::ticket::{Status, Ticket};
use minhu_engine::records::TicketFilter;
use minhu_engine::{EngineError, Reader};
use serde::Deserialize;
use utoipa::IntoParams;

/// Open311's two states: a request is open until the city has answered it.
pub(super) fn open311_status(status: Status) -> &'static str {
    match status {
        // A merged ticket waits for its main case's reply.
        Status::Pending | Status::Dispatched | Status::Accepted | Status::Merged => "open",
        Status::Resolved | Status::Closed => "closed",
    }
}

/// A coordinate as the public gets it: a place's centre is rounded to about 10 cm,
/// so it reads as `112.7`, not `112.70000000000002`.
fn coordinate(value: f64) -> Node {
    Node::Number(((value * 1e6).round() / 1e6).to_string())
}

/// The request as the public reads it: its service is the finest one whose category
/// holds the ticket's; its place the point it was reported at, else the centre of the
/// region it was placed in; its address the one given, else that region's name.
pub(super) fn request_node(state: &AppState, ticket: &Ticket, notes: Option<&[Note]>) -> Node {
    // The ticket's own city: its services, units and places.
    let city = state.engine.city_of(ticket);
    let service = ticket
        .intake
        .category
        .as_ref()
        .and_then(|c| services_for(state, ticket).for_category(c));
    let agency = ticket
        .unit
        .as_ref()
        .and_then(|u| city.units.get(u))
        .map(|u| u.name.clone());
    let region = ticket.intake.region.as_ref();
    let point = ticket
        .intake
        .location
        .or_else(|| region.and_then(|r| city.boundaries.centre_of(r, &city.regions)));
    let (lat, long) = match point {
        Some(point) => (coordinate(point.lat), coordinate(point.lon)),
        None => (Node::Null, Node::Null),
    };
    let address = ticket
        .intake
        .address
        .clone()
        .or_else(|| region.and_then(|r| city.regions.address(r)));
    let mut fields = vec![
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
        ("address", Node::optional(address)),
        ("address_id", Node::Null),
        ("zipcode", Node::Null),
        ("lat", lat),
        ("long", long),
        // Citizens' photos are not published: a photo can show a face, a plate or a
        // door, and no one has looked at it before it would go out.
        ("media_url", Node::Null),
    ];
    if let Some(notes) = notes {
        fields.push((
            "extended_attributes",
            Node::Object(vec![
                ("channel", Node::text(ticket.intake.channel.code())),
                ("duplicate", Node::Bool(ticket.merged_into.is_some())),
                (
                    "parent_service_request_id",
                    Node::optional(ticket.merged_into.as_ref().map(|n| n.to_string())),
                ),
                (
                    "notes",
                    Node::List("note", notes.iter().map(|n| n.node(state)).collect()),
                ),
            ]),
        ));
    }
    Node::Object(fields)
}

/// The requests' nodes, with their status notes history when `extensions` asks for it.
async fn request_nodes(
    state: &AppState,
    format: Format,
    tickets: &[Ticket],
    extensions: bool,
) -> Result<Node, Open311Error> {
    let mut nodes = Vec::with_capacity(tickets.len());
    for ticket in tickets {
        let notes = if extensions {
            Some(
                notes(state, ticket)
                    .await
                    .map_err(|e| Open311Error::internal(format, e))?,
            )
        } else {
            None
        };
        nodes.push(request_node(state, ticket, notes.as_deref()));
    }
    Ok(Node::List("request", nodes))
}

/// A query date: a moment with its offset, or a date (midnight in the city).
pub(super) fn query_moment(
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

/// The spec's filters of the request list, and the extensions cities' clients use.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct RequestQuery {
    /// Request ids, comma-separated; the other filters are then ignored.
    service_request_id: Option<String>,
    /// Service codes, comma-separated: the requests listed under them.
    service_code: Option<String>,
    /// Requested at or after: a moment with its offset, or a date (midnight in the city).
    start_date: Option<String>,
    /// Requested before.
    end_date: Option<String>,
    /// open, closed, or both comma-separated.
    status: Option<String>,
    /// Last changed at or after this moment (Chicago's extension).
    updated_after: Option<String>,
    /// Last changed before this moment.
    updated_before: Option<String>,
    /// The page of `page_size` requests, from 1 (Chicago's extension).
    page: Option<u32>,
    /// Requests on a page, 1 to 1000 (default 1000, the spec's most).
    page_size: Option<u32>,
    /// `true`: each request with `extended_attributes` (channel, duplicate and the
    /// status notes history, Chicago's extension).
    extensions: Option<bool>,
}

/// A request's own parameters: whether to add its history.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct OneQuery {
    /// `true`: with `extended_attributes` (channel, duplicate, status notes history).
    extensions: Option<bool>,
}

/// The services a ticket is listed under: its city's.
fn services_for<'a>(
    state: &'a AppState,
    ticket: &Ticket,
) -> &'a minhu_core::services::ServiceCatalog {
    match &ticket.intake.city {
        Some(city) => state.services_of(city),
        None => state.services.as_ref(),
    }
}

/// Reads the tickets `reader` (the public, of one jurisdiction) may see, newest first
/// and masked for them, through the store's pages: of those `keep` takes, the first
/// `skip` are passed over and the next `limit` returned.
pub(super) async fn scan(
    state: &AppState,
    reader: &Reader,
    mut filter: TicketFilter,
    mut skip: usize,
    limit: usize,
    mut keep: impl FnMut(&Ticket) -> bool,
) -> Result<Vec<Ticket>, EngineError> {
    filter.limit = 500;
    let mut found = Vec::new();
    loop {
        let page = state.engine.list_for(reader, &filter).await?;
        for ticket in page.tickets {
            if !keep(&ticket) {
                continue;
            }
            if skip > 0 {
                skip -= 1;
                continue;
            }
            found.push(ticket);
            if found.len() == limit {
                return Ok(found);
            }
        }
        match page.next {
            Some(cursor) => filter.cursor = Some(cursor),
            None => return Ok(found),
        }
    }
}

/// The services `codes` names (comma-separated), each one of the city's.
fn services_named<'a>(
    state: &'a AppState,
    format: Format,
    city: &CityId,
    codes: &str,
) -> Result<Vec<&'a Service>, Open311Error> {
    codes
        .split(',')
        .map(str::trim)
        .filter(|code| !code.is_empty())
        .map(|code| {
            state.services_of(city).get(code).ok_or_else(|| {
                Open311Error::bad(
                    format,
                    format!("service_code: {code:?} is not a service of this city"),
                )
            })
        })
        .collect()
}

pub(super) async fn list_requests(
    state: &AppState,
    format: Format,
    query: Option<String>,
) -> Answer {
    let (city, params): (_, RequestQuery) = open311_query(state, format, query.as_deref())?;
    let reader = public_in(state, &city);
    let extensions = params.extensions.unwrap_or(false);
    if let Some(ids) = params.service_request_id {
        let mut tickets = Vec::new();
        for id in ids.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            // Unknown ids (and another jurisdiction's) are left out of a list, as the
            // spec's examples do.
            if let Some(ticket) = find_request(state, &reader, id)
                .await
                .map_err(|e| Open311Error::internal(format, e))?
            {
                tickets.push(ticket);
            }
        }
        let node = request_nodes(state, format, &tickets, extensions).await?;
        return ok(format, "service_requests", &node);
    }
    let services = match params.service_code.as_deref() {
        Some(codes) => services_named(state, format, &city, codes)?,
        None => Vec::new(),
    };
    let mut filter = TicketFilter::default();
    // One service: the store reads its category and what lies below it. A ticket listed
    // under a finer service is then left out (below); several services are matched so.
    if let [service] = services.as_slice() {
        filter.category = Some(service.category.as_str().to_owned());
    }
    let moment = |name: &str, text: Option<String>| {
        text.map(|t| query_moment(state, format, name, &t))
            .transpose()
    };
    let start = moment("start_date", params.start_date)?;
    let end = moment("end_date", params.end_date)?;
    let updated_after = moment("updated_after", params.updated_after)?;
    let updated_before = moment("updated_before", params.updated_before)?;
    if let (Some(s), Some(e)) = (start, end)
        && e < s
    {
        return Err(Open311Error::bad(format, "end_date: is before start_date"));
    }
    if let (Some(a), Some(b)) = (updated_after, updated_before)
        && b < a
    {
        return Err(Open311Error::bad(
            format,
            "updated_before: is before updated_after",
        ));
    }
    // Without any date the spec's window: requested within the last 90 days (before
    // end_date when only that is given). A client asking what changed since a moment
    // gets every request that did, however old.
    let window = jiff::SignedDuration::from_hours(24 * DEFAULT_DAYS);
    filter.created_from = match (start, end, updated_after, updated_before) {
        (Some(s), ..) => Some(s),
        (None, Some(e), ..) => Some(e - window),
        (None, None, None, None) => Some(state.engine.now() - window),
        (None, None, ..) => None,
    };
    filter.created_to = end;
    filter.updated_from = updated_after;
    filter.updated_to = updated_before;
    let wanted: Option<Vec<&str>> = match params.status.as_deref() {
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
    let page_size = in_range(
        "page_size",
        params.page_size,
        1,
        MAX_REQUESTS as u32,
        MAX_REQUESTS as u32,
    )
    .map_err(|e| Open311Error::bad(format, format!("{}: {}", e.field, e.problem)))?
        as usize;
    let page = in_range("page", params.page, 1, u32::MAX, 1)
        .map_err(|e| Open311Error::bad(format, format!("{}: {}", e.field, e.problem)))?
        as usize;
    let skip = (page - 1).saturating_mul(page_size);
    let tickets = scan(state, &reader, filter, skip, page_size, |ticket| {
        let listed_under = ticket
            .intake
            .category
            .as_ref()
            .and_then(|c| services_for(state, ticket).for_category(c));
        wanted
            .as_ref()
            .is_none_or(|w| w.contains(&open311_status(ticket.status)))
            && (services.is_empty()
                || listed_under.is_some_and(|s| services.iter().any(|w| w.code == s.code)))
    })
    .await
    .map_err(|e| Open311Error::internal(format, e))?;
    let node = request_nodes(state, format, &tickets, extensions).await?;
    ok(format, "service_requests", &node)
}

/// The request as `reader` (the public of a jurisdiction) sees it; `None` for a number
/// that is not one, or not theirs to see (a 举报 or a confidential demand, another
/// city's request read as unknown).
pub(super) async fn find_request(
    state: &AppState,
    reader: &Reader,
    id: &str,
) -> Result<Option<Ticket>, EngineError> {
    let Ok(number) = TicketNumber::parse(id) else {
        return Ok(None);
    };
    match state.engine.ticket_for(reader, &number).await {
        Ok(ticket) => Ok(Some(ticket)),
        Err(EngineError::NotFound(_)) => Ok(None),
        Err(error) => Err(error),
    }
}

#[utoipa::path(
    get, path = "/open311/v2/requests.json", tag = "Open311",
    params(Common, RequestQuery),
    responses((status = 200, description = "requests, newest first", content_type = "application/json"), (status = 400, description = "a bad field or parameter, named first (the spec's error list)", content_type = "application/json"))
)]
pub(super) async fn requests_json(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Answer {
    list_requests(&state, Format::Json, query).await
}

#[utoipa::path(
    get, path = "/open311/v2/requests.xml", tag = "Open311",
    params(Common, RequestQuery),
    responses((status = 200, description = "requests, newest first", content_type = "text/xml"), (status = 400, description = "a bad field or parameter, named first (the spec's error list)", content_type = "text/xml"))
)]
pub(super) async fn requests_xml(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Answer {
    list_requests(&state, Format::Xml, query).await
}

#[utoipa::path(
    get, path = "/open311/v2/requests/{id}", tag = "Open311",
    params(("id" = String, Path, description = "the request's id and the format: `2026112300017.json` or `.xml`"), Common, OneQuery),
    responses((status = 200, description = "the request, in a list of one (JSON or XML, as the path asks)", content_type = "application/json"), (status = 400, description = "a bad field or parameter, named first (the spec's error list)", content_type = "application/json"), (status = 404, description = "no such request, or not one the public may read"))
)]
pub(super) async fn one_request(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
) -> Answer {
    let (id, format) = Format::split(&file)?;
    let (city, params): (_, OneQuery) = open311_query(&state, format, query.as_deref())?;
    let ticket = find_request(&state, &public_in(&state, &city), id)
        .await
        .map_err(|e| Open311Error::internal(format, e))?
        .ok_or_else(|| {
            Open311Error::new(
                format,
                StatusCode::NOT_FOUND,
                format!("service_request_id {id:?} does not exist"),
            )
        })?;
    let node = request_nodes(
        &state,
        format,
        std::slice::from_ref(&ticket),
        params.extensions.unwrap_or(false),
    )
    .await?;
    ok(format, "service_requests", &node)
}

/// The idempotency key of a request with this token: the token is a digest of the
/// client's key and every field it sent, so a retried POST finds its first ticket.
pub(super) fn token_key(token: &str) -> String {
    format!("open311:{token}")
}

#[utoipa::path(
    get, path = "/open311/v2/tokens/{token}", tag = "Open311",
    params(("token" = String, Path, description = "the token a POST answered, and the format: `TOKEN.json` or `TOKEN.xml`"), Common),
    responses((status = 200, description = "the request the token stands for", content_type = "application/json"), (status = 400, description = "a bad field or parameter, named first (the spec's error list)", content_type = "application/json"), (status = 404, description = "no such token"))
)]
pub(super) async fn token(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
) -> Answer {
    let (token, format) = Format::split(&file)?;
    let (_, Nothing {}) = open311_query(&state, format, query.as_deref())?;
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
