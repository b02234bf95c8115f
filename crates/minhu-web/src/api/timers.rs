//! What a ticket's clock and its messages say: its timers, the timers due across the
//! caller's scope, and the notifications (outbox) told about it.

use super::{page_limit, ticket_number};
use crate::AppState;
use crate::middleware::auth::Principal;
use crate::middleware::error::{ApiError, ErrorBody};
use crate::middleware::extract::QueryParams;
use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

/// The ticket's timers (warnings, overdue, escalation, callback), fired or pending, by
/// due time.
#[utoipa::path(
    get, path = "/api/v1/tickets/{number}/timers",
    params(("number" = String, Path, description = "ticket number, e.g. 2026112200017")),
    responses((status = 200, body = Vec<minhu_engine::records::TimerRow>), (status = 404, body = ErrorBody))
)]
pub(super) async fn ticket_timers(
    State(state): State<AppState>,
    principal: Principal,
    Path(number): Path<String>,
) -> Result<Json<Vec<minhu_engine::records::TimerRow>>, ApiError> {
    let number = ticket_number(&number)?;
    state
        .engine
        .ticket_for(&principal.reader(), &number)
        .await?;
    Ok(Json(state.engine.timers_of(&number).await?))
}

/// One message told about a ticket (its outbox row), as officials see it: the channel,
/// where delivery stands and to whom - masked like phones and e-mails everywhere in the
/// API. Never the text: the citizen's follow code may be in it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct NotificationView {
    /// The event (its `seq` in the ticket's log) the message tells of.
    seq: u32,
    /// The configured channel (notify.toml) that delivers it.
    channel: String,
    /// `queued`, `retrying` (an attempt failed; another follows at `next_at`),
    /// `delivered` or `failed` (given up).
    status: &'static str,
    /// The phone or e-mail address, masked (`138****5678`, `z***@example.cn`); none for
    /// a webhook.
    recipient: Option<String>,
    /// Attempts made so far.
    attempts: u32,
    #[schema(value_type = String, format = DateTime)]
    next_at: jiff::Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    sent_at: Option<jiff::Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    failed_at: Option<jiff::Timestamp>,
    /// What the last failed attempt said, with phones and the recipient masked.
    last_error: Option<String>,
}

impl From<minhu_engine::records::NotificationRow> for NotificationView {
    fn from(row: minhu_engine::records::NotificationRow) -> Self {
        let masked = row.recipient.as_deref().map(|to| {
            if to.contains('@') {
                minhu_core::access::mask_email(to)
            } else {
                minhu_core::access::mask_phone(to)
            }
        });
        let status = match (row.delivered_at, row.failed_at, row.attempts) {
            (Some(_), _, _) => "delivered",
            (None, Some(_), _) => "failed",
            (None, None, 0) => "queued",
            (None, None, _) => "retrying",
        };
        let last_error = row.last_error.map(|error| {
            // A gateway may quote the address it refused.
            let error = match (&row.recipient, &masked) {
                (Some(to), Some(mask)) if !to.is_empty() => error.replace(to.as_str(), mask),
                _ => error,
            };
            minhu_core::access::mask_phones_in_text(&error, false)
        });
        NotificationView {
            seq: row.seq,
            channel: row.channel,
            status,
            recipient: masked,
            attempts: row.attempts,
            next_at: row.next_at,
            sent_at: row.delivered_at,
            failed_at: row.failed_at,
            last_error,
        }
    }
}

/// What the ticket's citizen and integrations were told, oldest first (the outbox).
#[utoipa::path(
    get, path = "/api/v1/tickets/{number}/notifications",
    params(("number" = String, Path, description = "ticket number, e.g. 2026112200017")),
    responses((status = 200, body = Vec<NotificationView>), (status = 404, body = ErrorBody))
)]
pub(super) async fn ticket_notifications(
    State(state): State<AppState>,
    principal: Principal,
    Path(number): Path<String>,
) -> Result<Json<Vec<NotificationView>>, ApiError> {
    let number = ticket_number(&number)?;
    state
        .engine
        .ticket_for(&principal.reader(), &number)
        .await?;
    let rows = state.engine.notifications_of(&number).await?;
    Ok(Json(rows.into_iter().map(NotificationView::from).collect()))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct DueQuery {
    /// An ISO 8601 moment; default now.
    #[param(value_type = Option<String>)]
    before: Option<jiff::Timestamp>,
    /// 1 to 500, default 100.
    limit: Option<u32>,
}

/// Unfired timers due before `before` (ISO 8601; default now), earliest first, at
/// most `limit` (1-500, default 100), of the tickets in the caller's scope.
#[utoipa::path(
    get, path = "/api/v1/timers/due",
    params(DueQuery),
    responses((status = 200, body = Vec<minhu_engine::records::TimerRow>), (status = 422, body = ErrorBody))
)]
pub(super) async fn due_timers(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(query): QueryParams<DueQuery>,
) -> Result<Json<Vec<minhu_engine::records::TimerRow>>, ApiError> {
    let before = query.before.unwrap_or_else(|| state.engine.now());
    let limit = page_limit(query.limit, 100, 500)?;
    let rows = state.engine.due_timers(before, limit).await?;
    let mut seen = Vec::with_capacity(rows.len());
    for row in rows {
        let number = ticket_number(&row.ticket)?;
        if state.engine.in_scope(&number, &principal.scope).await? {
            seen.push(row);
        }
    }
    Ok(Json(seen))
}
