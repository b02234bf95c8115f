//! mySociety's (FixMyStreet's) `servicerequestupdates` extension: what happened to
//! requests within a window, one update per public step (see `history.rs`).

use super::format::{Answer, Format, Node, Open311Error, ok};
use super::history::notes;
use super::jurisdiction::{Common, open311_query};
use super::requests::{query_moment, scan};
use super::{MAX_REQUESTS, datetime};
use crate::AppState;
use axum::extract::{RawQuery, State};
use jiff::Timestamp;
use minhu_engine::records::TicketFilter;
use serde::Deserialize;
use utoipa::IntoParams;

/// The window of the updates asked for.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct UpdateQuery {
    /// A moment with its offset, or a date (midnight in the city); default a day ago.
    start_date: Option<String>,
    end_date: Option<String>,
}

pub(super) async fn updates(state: &AppState, format: Format, query: Option<String>) -> Answer {
    let (city, params): (_, UpdateQuery) = open311_query(state, format, query.as_deref())?;
    let start = match params.start_date {
        Some(text) => query_moment(state, format, "start_date", &text)?,
        None => state.engine.now() - jiff::SignedDuration::from_hours(24),
    };
    let end = params
        .end_date
        .map(|t| query_moment(state, format, "end_date", &t))
        .transpose()?;
    if end.is_some_and(|e| e < start) {
        return Err(Open311Error::bad(format, "end_date: is before start_date"));
    }
    // A ticket with a step inside the window changed last at or after its start (a
    // ticket's last change is its latest step), and was created before its end: the
    // store reads just those, by the index of when each last changed.
    let filter = TicketFilter {
        updated_from: Some(start),
        created_to: end,
        ..TicketFilter::default()
    };
    let reader = super::jurisdiction::public_in(state, &city);
    let tickets = scan(state, &reader, filter, 0, usize::MAX, |_| true)
        .await
        .map_err(|e| Open311Error::internal(format, e))?;
    let mut found: Vec<(Timestamp, Node)> = Vec::new();
    for ticket in tickets {
        let steps = notes(state, &ticket)
            .await
            .map_err(|e| Open311Error::internal(format, e))?;
        // Being taken in is the request itself, not an update to it.
        for note in steps.iter().filter(|n| !n.opened) {
            if note.at < start || end.is_some_and(|e| note.at >= e) {
                continue;
            }
            found.push((
                note.at,
                Node::Object(vec![
                    (
                        "update_id",
                        Node::text(format!("{}-{}", ticket.number, note.seq)),
                    ),
                    ("service_request_id", Node::text(ticket.number.as_str())),
                    ("status", Node::text(note.status)),
                    ("updated_datetime", Node::text(datetime(state, note.at))),
                    ("description", Node::text(note.description())),
                    ("media_url", Node::Null),
                ]),
            ));
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

#[utoipa::path(
    get, path = "/open311/v2/servicerequestupdates.json", tag = "Open311",
    params(Common, UpdateQuery),
    responses((status = 200, description = "what happened to requests in the window (mySociety's extension)", content_type = "application/json"), (status = 400, description = "a bad field or parameter, named first (the spec's error list)", content_type = "application/json"))
)]
pub(super) async fn updates_json(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Answer {
    updates(&state, Format::Json, query).await
}

#[utoipa::path(
    get, path = "/open311/v2/servicerequestupdates.xml", tag = "Open311",
    params(Common, UpdateQuery),
    responses((status = 200, description = "what happened to requests in the window", content_type = "text/xml"), (status = 400, description = "a bad field or parameter, named first (the spec's error list)", content_type = "text/xml"))
)]
pub(super) async fn updates_xml(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Answer {
    updates(&state, Format::Xml, query).await
}
