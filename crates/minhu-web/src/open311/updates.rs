//! FixMyStreet's `servicerequestupdates` extension: what happened to requests since a
//! moment, one update per event the public may read.

use super::format::{Answer, Format, Node, Open311Error, ok};
use super::requests::{open311_query, open311_status, query_moment, scan};
use super::{MAX_REQUESTS, datetime};
use crate::AppState;
use axum::extract::{RawQuery, State};
use jiff::Timestamp;
use minhu_core::event::{Change, Event};
use minhu_core::ticket::{Status, Ticket};
use minhu_engine::Reader;
use minhu_engine::records::TicketFilter;
use serde::Deserialize;
use utoipa::IntoParams;

/// What one event tells a citizen following the request (FixMyStreet's updates).
pub(super) fn update_description(change: &Change) -> Option<String> {
    Some(match change {
        Change::Dispatched { .. } | Change::Redispatched { .. } => "已派单 Sent to the unit".into(),
        Change::Accepted => "办理中 Being handled".into(),
        Change::Resolved { reply } => reply.clone(),
        Change::AnsweredAtIntake { answer, .. } | Change::HandledOnSpot { note: answer } => {
            answer.clone()
        }
        Change::Reopened { .. } => "已重新办理 Reopened".into(),
        Change::Closed { .. } => "已关闭 Closed".into(),
        _ => return None,
    })
}

/// The window of the updates asked for.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct UpdateQuery {
    /// A moment with its offset, or a date (midnight in the city); default a day ago.
    start_date: Option<String>,
    end_date: Option<String>,
    /// Accepted and ignored: this server serves one city.
    #[allow(dead_code)]
    jurisdiction_id: Option<String>,
}

pub(super) async fn updates(state: &AppState, format: Format, query: Option<String>) -> Answer {
    let params: UpdateQuery = open311_query(format, query)?;
    let start = match params.start_date {
        Some(text) => query_moment(state, format, "start_date", &text)?,
        None => state.engine.now() - jiff::SignedDuration::from_hours(24),
    };
    let end = params
        .end_date
        .map(|t| query_moment(state, format, "end_date", &t))
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

pub(super) async fn updates_json(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Answer {
    updates(&state, Format::Json, query).await
}

pub(super) async fn updates_xml(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Answer {
    updates(&state, Format::Xml, query).await
}
