//! Revealing a citizen's identity: units see phone and name masked (138****5678); to
//! call the citizen back they press "reveal" and give a reason, which the audit log
//! keeps. A confidential reporter (举报) is never revealed to a unit.

use crate::AppState;
use crate::api::audit::{self, Client};
use crate::middleware::auth::Principal;
use crate::middleware::auth::Rule::Permission as Needs;
use crate::middleware::error::ApiError;
use crate::middleware::extract::JsonBody;
use crate::routes::Routes;
use axum::Json;
use axum::extract::{Path, State};
use minhu_core::access::Permission as P;
use minhu_core::access::{Permission, is_confidential};
use minhu_core::ids::TicketNumber;
use minhu_core::workflow::FieldError;
use serde::{Deserialize, Serialize};
use utoipa_axum::routes;

pub(crate) fn routes() -> Routes {
    Routes::new().api(Needs(P::RevealIdentity), routes!(reveal))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevealRequest {
    /// Why the identity is needed, e.g. "回访核实办理情况" (kept in the audit log).
    reason: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Identity {
    phone: Option<String>,
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    anonymous: bool,
    /// The ticket's words as the citizen and the units wrote them, personal data
    /// unmasked: the reveal unmasks the ticket for this reader, not only its fields.
    title: String,
    description: String,
    address: Option<String>,
    reply: Option<String>,
}

/// The citizen's phone and name, unmasked, for a stated reason (logged).
#[utoipa::path(
    post, path = "/api/v1/tickets/{number}/reveal", request_body = RevealRequest,
    params(("number" = String, Path)),
    responses(
        (status = 200, body = Identity),
        (status = 403, description = "a confidential reporter, or no reveal permission"),
        (status = 422, description = "no reason given"),
    )
)]
pub async fn reveal(
    State(state): State<AppState>,
    principal: Principal,
    Path(number): Path<String>,
    Client(client): Client,
    JsonBody(body): JsonBody<RevealRequest>,
) -> Result<Json<Identity>, ApiError> {
    let reason = body.reason.trim();
    if reason.chars().count() < 4 {
        return Err(FieldError::new(
            "reason",
            "say why you need the identity (4 characters or more)",
        )
        .into());
    }
    let number = TicketNumber::parse(&number).map_err(|e| ApiError::not_found(e.to_string()))?;
    let ticket = state
        .engine
        .revealed_for(&principal.reader(), &number)
        .await?;
    let intake = &ticket.intake;
    if is_confidential(intake) && !principal.may(Permission::ViewIdentity) {
        audit::record(
            &state,
            principal.actor.to_string(),
            "reveal.refused",
            Some(number.to_string()),
            &format!("confidential report; reason given: {reason}"),
            client,
        )
        .await?;
        return Err(ApiError::confidential());
    }
    audit::record(
        &state,
        principal.actor.to_string(),
        "reveal",
        Some(number.to_string()),
        reason,
        client,
    )
    .await?;
    Ok(Json(Identity {
        phone: intake.citizen.phone.clone(),
        name: intake.citizen.name.clone(),
        email: intake.citizen.email.clone(),
        anonymous: intake.citizen.anonymous,
        title: intake.title.clone(),
        description: intake.description.clone(),
        address: intake.address.clone(),
        reply: ticket.reply.clone(),
    }))
}
