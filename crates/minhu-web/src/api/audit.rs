//! The audit log (留痕 of people): sign-ins, changes of access, reveals of personal
//! data, refusals and every write through the API, append-only in the store, and
//! `GET /api/v1/audit` for auditors (JSON or CSV).

use crate::AppState;
use crate::middleware::auth::Principal;
use crate::middleware::auth::Rule::Permission as Needs;
use crate::middleware::error::ApiError;
use crate::middleware::extract::QueryParams;
use crate::routes::Routes;
use axum::Json;
use axum::extract::State;
use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use minhu_core::access::Permission as P;
use minhu_core::workflow::FieldError;
use minhu_engine::records::AuditEntry;
use minhu_engine::records::AuditFilter;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use utoipa::IntoParams;
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

/// The audit log's filters, as the API and `minhu admin audit` take them.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Who acted: `user:<login>`, `token:<name>`, `citizen:<digest>` or `system:<part>`.
    pub actor: Option<String>,
    /// What was done, e.g. `identity.reveal`.
    pub action: Option<String>,
    /// A ticket number, login or token name.
    pub target: Option<String>,
    /// Entries at or after this moment (2026-11-22T08:00:00+08:00).
    #[param(value_type = Option<String>)]
    pub from: Option<Timestamp>,
    /// Entries before this moment.
    #[param(value_type = Option<String>)]
    pub to: Option<Timestamp>,
    /// Entries after this sequence number (`next_after` of the previous page).
    pub after: Option<i64>,
    /// 1 to 10000, default 100.
    pub limit: Option<u32>,
    /// json (default) or csv.
    #[param(value_type = Option<String>)]
    pub format: Option<AuditFormat>,
    /// A city of the province (`GET /api/v1/cities`): only what concerns it - what its
    /// accounts and tokens did, what was done to them and to its tickets. A city's
    /// auditors read their own city's in any case.
    pub city: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditFormat {
    #[default]
    Json,
    Csv,
}

impl AuditQuery {
    /// The store's filter; the limit checked.
    pub fn filter(&self) -> Result<AuditFilter, FieldError> {
        Ok(AuditFilter {
            actor: self.actor.clone(),
            action: self.action.clone(),
            target: self.target.clone(),
            from: self.from,
            to: self.to,
            after: self.after,
            limit: crate::api::page_limit(self.limit, 100, 10_000)?,
            city: None,
        })
    }
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
        AuditQuery,
    ),
    responses((status = 200, description = "`{\"entries\": [...], \"next_after\": ...}`, or CSV"), (status = 422, body = crate::middleware::error::ErrorBody))
)]
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Client(client): Client,
    QueryParams(query): QueryParams<AuditQuery>,
) -> Result<Response, ApiError> {
    let filter = query.filter()?;
    let csv = query.format == Some(AuditFormat::Csv);
    let entries = state
        .engine
        .audit()
        .log_for(&principal.scope, query.city.as_deref(), &filter)
        .await?;
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
