//! The audit log (留痕 of people): sign-ins, changes of access, reveals of personal
//! data, refusals and every write through the API, append-only in the store, and
//! `GET /api/v1/audit` for auditors (JSON or CSV).

use crate::AppState;
use crate::middleware::auth::Principal;
use crate::middleware::auth::Rule::Permission as Needs;
use crate::middleware::error::ApiError;
use crate::routes::Routes;
use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::extract::{Query, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use minhu_core::access::Permission as P;
use minhu_core::workflow::FieldError;
use minhu_engine::records::AuditEntry;
use minhu_engine::records::AuditFilter;
use serde::Serialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use utoipa_axum::routes;

/// The client's address as the server saw it (absent in in-process tests).
pub fn client_of(request: &Request) -> Option<String> {
    client_in(request.extensions())
}

/// The address the server worked out (a trusted proxy's `X-Forwarded-For`, see
/// [`crate::serve`]), else the connection's peer.
fn client_in(extensions: &axum::http::Extensions) -> Option<String> {
    if let Some(crate::serve::ClientAddr(ip)) = extensions.get() {
        return Some(ip.to_string());
    }
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_canonical().to_string())
}

/// The client's address, as an extractor.
pub struct Client(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Client(client_in(&parts.extensions)))
    }
}

/// `phone_sha256=<hex>` for each phone number a list query holds (its `phone`, or
/// written in `q`): the SHA-256 of the number's digits, so an auditor can tell which
/// lookups asked for the same number without the log holding any.
pub fn phone_hashes(query: &str) -> Vec<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let mut digits: Vec<String> = Vec::new();
    for (name, value) in &pairs {
        match name.as_str() {
            "phone" => digits.extend(minhu_core::pii::normalise_phone(value)),
            "q" => digits.extend(
                minhu_core::pii::find(value, &minhu_core::pii::STRICT, &[])
                    .into_iter()
                    .filter(|f| f.kind.is_phone())
                    .map(|f| f.value),
            ),
            _ => {}
        }
    }
    digits
        .iter()
        .map(|d| format!("phone_sha256={}", minhu_engine::accounts::digest(d)))
        .collect()
}

/// Appends one entry. A write that cannot be audited fails: an action without its
/// trace is worse than no action.
pub async fn record(
    state: &AppState,
    actor: String,
    action: &str,
    target: Option<String>,
    detail: &str,
    client: Option<String>,
) -> Result<(), ApiError> {
    state
        .engine
        .audit()
        .record(&AuditEntry {
            seq: 0,
            at: state.engine.now(),
            actor,
            action: action.to_owned(),
            target,
            detail: detail.to_owned(),
            client,
        })
        .await
        .map_err(ApiError::internal)?;
    Ok(())
}

/// Who a caller is in the audit log: `anonymous` without credentials.
pub fn actor_of(principal: Option<&Principal>) -> String {
    principal.map_or_else(|| "anonymous".to_owned(), |p| p.actor.to_string())
}

/// The audit entry of a new ticket, written in the ticket's own transaction
/// (`Engine::intake_audited`, which sets its target to the new number): who made it,
/// through which channel, from where.
pub fn creation(
    state: &AppState,
    actor: String,
    channel: minhu_core::ticket::Channel,
    client: Option<String>,
) -> AuditEntry {
    AuditEntry {
        seq: 0,
        at: state.engine.now(),
        actor,
        action: "ticket.create".to_owned(),
        target: None,
        detail: format!("channel {}", channel.code()),
        client,
    }
}

pub(crate) fn routes() -> Routes {
    Routes::new().api(Needs(P::ViewAudit), routes!(list))
}

/// Reads the filters one by one, so each bad value is named.
pub fn filter_from(params: &HashMap<String, String>) -> Result<AuditFilter, ApiError> {
    const KNOWN: &[&str] = &[
        "actor", "action", "target", "from", "to", "after", "limit", "format",
    ];
    if let Some(unknown) = params.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(FieldError::new(
            unknown.as_str(),
            format!("is not a filter; use one of {}", KNOWN.join(", ")),
        )
        .into());
    }
    let get = |name: &str| params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let moment = |name: &str| -> Result<Option<Timestamp>, ApiError> {
        get(name)
            .map(|text| {
                text.parse::<Timestamp>().map_err(|_| {
                    FieldError::new(
                        name,
                        format!("{text:?} is not a moment (2026-11-22T08:00:00+08:00)"),
                    )
                    .into()
                })
            })
            .transpose()
    };
    let after = get("after")
        .map(|text| {
            text.parse::<i64>()
                .map_err(|_| FieldError::new("after", "must be a sequence number"))
        })
        .transpose()?;
    let limit = crate::api::page_limit(get("limit"), 100, 10_000)?;
    Ok(AuditFilter {
        actor: get("actor").map(str::to_owned),
        action: get("action").map(str::to_owned),
        target: get("target").map(str::to_owned),
        from: moment("from")?,
        to: moment("to")?,
        after,
        limit,
    })
}

/// One CSV cell: quoted when needed; a cell that a spreadsheet would run as a formula
/// gets a leading apostrophe.
pub(crate) fn csv_cell(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// The audit log as CSV. A cell that a spreadsheet would run as a formula is quoted
/// with a leading apostrophe.
pub fn to_csv(entries: &[AuditEntry]) -> String {
    let mut out = String::from("seq,at,actor,action,target,detail,client\n");
    for e in entries {
        let row = [
            e.seq.to_string(),
            e.at.to_string(),
            e.actor.clone(),
            e.action.clone(),
            e.target.clone().unwrap_or_default(),
            e.detail.clone(),
            e.client.clone().unwrap_or_default(),
        ];
        let cells: Vec<String> = row.iter().map(|c| csv_cell(c)).collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

#[derive(Serialize)]
struct AuditPage {
    entries: Vec<AuditEntry>,
    /// Pass as `after` for the next page; absent when this page was not full.
    next_after: Option<i64>,
}

/// The audit log for auditors, oldest first; `format=csv` exports it. Reading it is
/// itself recorded.
#[utoipa::path(
    get, path = "/api/v1/audit",
    params(
        ("actor" = Option<String>, Query), ("action" = Option<String>, Query),
        ("target" = Option<String>, Query), ("from" = Option<String>, Query),
        ("to" = Option<String>, Query), ("after" = Option<i64>, Query),
        ("limit" = Option<u32>, Query, description = "1 to 10000, default 100"),
        ("format" = Option<String>, Query, description = "json (default) or csv"),
    ),
    responses((status = 200, description = "`{\"entries\": [...], \"next_after\": ...}`, or CSV"), (status = 422, body = crate::middleware::error::ErrorBody))
)]
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Client(client): Client,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let filter = filter_from(&params)?;
    let csv = match params.get("format").map(String::as_str) {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(FieldError::new("format", format!("{other:?}: use json or csv")).into());
        }
    };
    let entries = state
        .engine
        .audit()
        .log(&filter)
        .await
        .map_err(ApiError::internal)?;
    record(
        &state,
        principal.actor.to_string(),
        if csv { "audit.export" } else { "audit.read" },
        None,
        &format!("{} entries", entries.len()),
        client,
    )
    .await?;
    if csv {
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"audit.csv\"",
                ),
            ],
            to_csv(&entries),
        )
            .into_response());
    }
    let next_after = (entries.len() == filter.limit as usize)
        .then(|| entries.last().map(|e| e.seq))
        .flatten();
    Ok(Json(AuditPage {
        entries,
        next_after,
    })
    .into_response())
}
