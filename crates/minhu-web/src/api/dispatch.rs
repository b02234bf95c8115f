//! Bulk dispatch from the dispatchers' queue: many tickets to one unit in one request,
//! each dispatched on its own through the engine and reported on its own.

use super::ticket_number;
use crate::AppState;
use crate::api::audit::{Client, record};
use crate::middleware::auth::Principal;
use crate::middleware::error::{ApiError, ErrorBody};
use crate::middleware::extract::JsonBody;
use axum::Json;
use axum::extract::State;
use minhu_core::ids::{TicketNumber, UnitId};
use minhu_core::workflow::FieldError;
use minhu_engine::batch::Outcome;
use serde::{Deserialize, Serialize};

/// The most tickets one request may dispatch (two pages of the queue).
pub const MAX_BULK: usize = 100;

/// Tickets to dispatch to one unit.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkDispatch {
    /// The unit's id.
    unit: String,
    /// Ticket numbers, 1 to 100; a number given twice counts once.
    tickets: Vec<String>,
    /// Why, for the tickets' logs (routing's suggestion is the usual reason).
    #[serde(default)]
    reason: Option<String>,
}

/// What happened to each ticket, and the counts.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BulkOutcome {
    dispatched: usize,
    already: usize,
    refused: usize,
    results: Vec<BulkResult>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BulkResult {
    number: String,
    /// `dispatched`, `already_dispatched` (the unit had it: sent again, nothing done)
    /// or the error's code (`not_allowed`, `invalid`, `not_found`, `busy`, ...).
    outcome: String,
    message: String,
}

/// Dispatch many pending tickets to one unit. Each goes through the same checks as a
/// single `dispatch` action, and one refusal does not stop the others; sending the same
/// request again dispatches nothing twice (those tickets answer `already_dispatched`).
/// Every ticket's outcome is also in the audit log.
#[utoipa::path(
    post, path = "/api/v1/dispatch", request_body = BulkDispatch,
    responses(
        (status = 200, description = "each ticket's outcome", body = BulkOutcome),
        (status = 422, body = ErrorBody),
    )
)]
pub(super) async fn dispatch_many(
    State(state): State<AppState>,
    principal: Principal,
    Client(client): Client,
    JsonBody(request): JsonBody<BulkDispatch>,
) -> Result<Json<BulkOutcome>, ApiError> {
    if request.tickets.is_empty() || request.tickets.len() > MAX_BULK {
        return Err(FieldError::new(
            "tickets",
            format!(
                "choose 1 to {MAX_BULK} tickets; {} were sent",
                request.tickets.len()
            ),
        )
        .into());
    }
    let unit = UnitId::new(request.unit.trim());
    if state.engine.city().units.get(&unit).is_none() {
        return Err(FieldError::new("unit", format!("no unit has the id {}", request.unit)).into());
    }
    let mut numbers: Vec<TicketNumber> = Vec::with_capacity(request.tickets.len());
    for (index, text) in request.tickets.iter().enumerate() {
        let number = ticket_number(text.trim()).map_err(|_| {
            FieldError::new(
                format!("tickets[{index}]"),
                format!("{text:?} is not a ticket number"),
            )
        })?;
        if !numbers.contains(&number) {
            numbers.push(number);
        }
    }
    let outcomes = state
        .engine
        .dispatch_each(
            &principal.reader(),
            &numbers,
            &unit,
            request.reason.as_deref(),
            &principal.actor,
        )
        .await;
    let mut answer = BulkOutcome {
        dispatched: 0,
        already: 0,
        refused: 0,
        results: Vec::with_capacity(outcomes.len()),
    };
    for (number, outcome) in outcomes {
        let (code, message) = match outcome {
            Outcome::Dispatched => {
                answer.dispatched += 1;
                ("dispatched", format!("dispatched to {unit}"))
            }
            Outcome::AlreadyThere => {
                answer.already += 1;
                ("already_dispatched", format!("{unit} already has it"))
            }
            Outcome::Refused(error) => {
                answer.refused += 1;
                let error = ApiError::from(error);
                (error.code(), error.message().to_owned())
            }
        };
        record(
            &state,
            principal.actor.to_string(),
            "ticket.dispatch.bulk",
            Some(number.to_string()),
            &format!("{code}: {message}"),
            client.clone(),
        )
        .await?;
        answer.results.push(BulkResult {
            number: number.to_string(),
            outcome: code.to_owned(),
            message,
        });
    }
    Ok(Json(answer))
}
