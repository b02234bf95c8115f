//! Reading requests: the list (with the spec's filters and its 90-day window), one
//! request, and a token's request (what a client holds before the ticket is numbered).

use super::format::{Answer, Format, Node, Open311Error, ok};
use super::{DEFAULT_DAYS, MAX_REQUESTS, datetime};
use crate::AppState;
use crate::middleware::extract::{FromQuery, read_query};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use minhu_core::ids::TicketNumber;
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

pub(super) fn request_node(state: &AppState, ticket: &Ticket) -> Node {
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

/// A query string read into `T` by [`read_query`]'s rules (unknown parameters refused,
/// blank ones absent), its error told in the client's format.
pub(super) fn open311_query<T: FromQuery>(
    format: Format,
    query: Option<String>,
) -> Result<T, Open311Error> {
    read_query(query.as_deref().unwrap_or_default())
        .map_err(|error| Open311Error::bad(format, error.message()))
}

/// The spec's filters of the request list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct RequestQuery {
    /// Request ids, comma-separated; the other filters are then ignored.
    service_request_id: Option<String>,
    service_code: Option<String>,
    /// A moment with its offset, or a date (midnight in the city).
    start_date: Option<String>,
    end_date: Option<String>,
    /// open, closed, or both comma-separated.
    status: Option<String>,
    /// Accepted and ignored: this server serves one city.
    #[allow(dead_code)]
    jurisdiction_id: Option<String>,
}

/// Reads the tickets the public may see, newest first and masked for them, through
/// the store's pages until `keep` has taken `limit` of them or the list ends.
pub(super) async fn scan(
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

pub(super) async fn list_requests(
    state: &AppState,
    format: Format,
    query: Option<String>,
) -> Answer {
    let params: RequestQuery = open311_query(format, query)?;
    if let Some(ids) = params.service_request_id {
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
    if let Some(code) = params.service_code {
        let service = state.services.get(&code).ok_or_else(|| {
            Open311Error::bad(
                format,
                format!("service_code: {code:?} is not a service of this city"),
            )
        })?;
        filter.category = Some(service.category.as_str().to_owned());
    }
    let start = params
        .start_date
        .map(|t| query_moment(state, format, "start_date", &t))
        .transpose()?;
    let end = params
        .end_date
        .map(|t| query_moment(state, format, "end_date", &t))
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
pub(super) async fn find_request(
    state: &AppState,
    id: &str,
) -> Result<Option<Ticket>, EngineError> {
    let Ok(number) = TicketNumber::parse(id) else {
        return Ok(None);
    };
    match state.engine.ticket_for(&Reader::public(), &number).await {
        Ok(ticket) => Ok(Some(ticket)),
        Err(EngineError::NotFound(_)) => Ok(None),
        Err(error) => Err(error),
    }
}

pub(super) async fn requests_json(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Answer {
    list_requests(&state, Format::Json, query).await
}

pub(super) async fn requests_xml(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Answer {
    list_requests(&state, Format::Xml, query).await
}

pub(super) async fn one_request(State(state): State<AppState>, Path(file): Path<String>) -> Answer {
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
pub(super) fn token_key(token: &str) -> String {
    format!("open311:{token}")
}

pub(super) async fn token(State(state): State<AppState>, Path(file): Path<String>) -> Answer {
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
