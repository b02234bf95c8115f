//! Citizens follow their own ticket without an account: ticket number + phone gets a
//! one-time code sent to that phone; the code opens a short session in which they see
//! the ticket and the reply, rate it and ask for it to be reopened.
//!
//! The code is six digits, kept only as a hash, valid for ten minutes and for five
//! tries, each counted in the database before the code is compared (one statement,
//! so thirty parallel guesses still get five); a code that opened a session is gone
//! for good. A ticket gets at most five codes a day and a phone ten, so the form
//! cannot flood a phone with SMS. Asking for a code answers the same whether or not
//! number and phone match (or a cap was reached), so the form cannot be used to learn
//! whose ticket is whose.

use crate::AppState;
use crate::api::audit::{self, Client};
use crate::middleware::auth::Rule::{Citizen, Public};
use crate::middleware::auth::{self, Principal};
use crate::middleware::error::ApiError;
use crate::middleware::extract::JsonBody;
use crate::routes::Routes;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use minhu_core::event::Actor;
use minhu_core::ids::TicketNumber;
use minhu_core::ticket::{Rating, Ticket};
use minhu_core::workflow::Command;
use minhu_engine::Reader;
use minhu_engine::records::FollowCode;
use serde::{Deserialize, Serialize};
use utoipa_axum::routes;

/// How long a code is valid.
pub const CODE_MINUTES: i64 = 10;
/// Wrong codes before the code is void.
pub const CODE_TRIES: u32 = 5;
/// Codes one ticket may be sent per day.
pub const CODES_PER_TICKET_DAY: u32 = 5;
/// Codes one phone may be sent per day (a citizen may follow several tickets).
pub const CODES_PER_PHONE_DAY: u32 = 10;
/// How long a citizen's session lasts.
pub const FOLLOW_HOURS: i64 = 2;

/// Delivers a one-time code to a citizen's phone (SMS in a deployment), and the SMS
/// adapter's answers to the citizens who wrote to it.
pub trait CodeSender: Send + Sync {
    fn send(&self, phone: &str, ticket: &TicketNumber, code: &str);

    /// An answer to a citizen's SMS (the ticket number, a question back).
    fn send_text(&self, phone: &str, text: &str);

    /// A code confirming that a citizen links a phone or e-mail address (`kind`:
    /// `phone` or `email`) to the channel they asked on.
    fn send_link_code(&self, kind: &str, to: &str, code: &str);
}

/// The demo's delivery: the code is written to the server's log at info level, as
/// the SMS a citizen would receive. Not for production: wire an SMS adapter instead.
pub struct LogCodeSender;

impl CodeSender for LogCodeSender {
    fn send(&self, phone: &str, ticket: &TicketNumber, code: &str) {
        tracing::info!(
            target: "minhu::demo_sms",
            to = %minhu_core::access::mask_phone(phone),
            %ticket,
            "demo SMS: your minhu code is {code}"
        );
    }

    fn send_text(&self, phone: &str, text: &str) {
        tracing::info!(
            target: "minhu::demo_sms",
            to = %minhu_core::access::mask_phone(phone),
            "demo SMS: {text}"
        );
    }

    fn send_link_code(&self, kind: &str, to: &str, code: &str) {
        let to = match kind {
            "email" => minhu_core::access::mask_email(to),
            _ => minhu_core::access::mask_phone(to),
        };
        tracing::info!(target: "minhu::demo_sms", %to, "demo {kind}: your minhu link code is {code}");
    }
}

/// Asking for a code and opening a session are open to anyone; the rest is for the
/// citizen the session was opened for.
pub(crate) fn routes() -> Routes {
    Routes::new()
        .api(Public, routes!(request_code))
        .api(Public, routes!(open_session))
        .api(Citizen, routes!(followed))
        .api(Citizen, routes!(rate))
        .api(Citizen, routes!(reopen))
}

/// A ticket's number and the phone it was reported with.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CodeRequest {
    number: String,
    phone: String,
}

fn digits(phone: &str) -> String {
    phone.chars().filter(char::is_ascii_digit).collect()
}

fn code_hash(number: &str, code: &str) -> String {
    minhu_engine::accounts::digest(&format!("follow:{number}:{code}"))
}

/// What follow codes sent to a phone are counted under (a digest, never the number);
/// `digits` are the phone's digits. Erasing the citizen forgets it.
pub fn phone_subject(digits: &str) -> String {
    format!(
        "phone:{}",
        minhu_engine::accounts::digest(&format!("follow-phone:{digits}"))
    )
}

/// Sends a code if the number and phone belong together; answers 202 either way.
#[utoipa::path(
    post, path = "/api/v1/follow/code", request_body = CodeRequest, security(()),
    responses(
        (status = 202, description = "a code was sent if number and phone match (the answer is the same either way)"),
        (status = 400, body = crate::middleware::error::ErrorBody),
    )
)]
async fn request_code(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CodeRequest>,
) -> Result<Response, ApiError> {
    let accepted = (
        StatusCode::ACCEPTED,
        Json(serde_json::json!({
            "message": "若工单号与手机号相符，验证码已发送 If the number and phone match, a code was sent",
            "expires_in_s": CODE_MINUTES * 60,
        })),
    )
        .into_response();
    let Ok(number) = TicketNumber::parse(body.number.trim()) else {
        return Ok(accepted);
    };
    let ticket = match state.engine.ticket(&number).await {
        Ok(ticket) => ticket,
        Err(minhu_engine::EngineError::NotFound(_)) => return Ok(accepted),
        Err(other) => return Err(ApiError::internal(other)),
    };
    let Some(phone) = ticket.intake.citizen.phone.as_deref() else {
        return Ok(accepted);
    };
    let given = digits(&body.phone);
    if given.is_empty() || !auth::constant_time_eq(digits(phone).as_bytes(), given.as_bytes()) {
        return Ok(accepted);
    }
    let codes = state.engine.follow();
    let now = state.engine.now();
    let day = state.engine.city().local_date(now);
    // Counted only for a number and phone that match: strangers cannot use up a
    // citizen's codes. The phone is counted by a digest, never kept.
    let caps = [
        (format!("ticket:{number}"), CODES_PER_TICKET_DAY),
        (phone_subject(&given), CODES_PER_PHONE_DAY),
    ];
    for (subject, cap) in caps {
        if !codes
            .count_sent(&subject, day, cap)
            .await
            .map_err(ApiError::internal)?
        {
            tracing::warn!(%number, cap, "follow code not sent: the day's cap is reached");
            return Ok(accepted);
        }
    }
    let code = format!("{:06}", rand::random_range(0..1_000_000u32));
    codes
        .put(&FollowCode {
            ticket: number.to_string(),
            code_hash: code_hash(number.as_str(), &code),
            expires_at: now + jiff::SignedDuration::from_mins(CODE_MINUTES),
            attempts: 0,
        })
        .await
        .map_err(ApiError::internal)?;
    state.codes.send(phone, &number, &code);
    Ok(accepted)
}

/// A ticket's number and the code sent for it.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SessionRequest {
    number: String,
    code: String,
}

/// What a citizen sees of their ticket: everything they told, where it stands, the
/// reply; not who in which office handled it.
#[derive(Serialize)]
pub struct Followed {
    number: String,
    title: String,
    status: &'static str,
    status_zh: &'static str,
    created_at: jiff::Timestamp,
    resolved_at: Option<jiff::Timestamp>,
    reply: Option<String>,
    rating: Option<Rating>,
    /// Rating and asking to reopen are possible now.
    pub(crate) can_rate: bool,
}

impl Followed {
    pub(crate) fn of(ticket: &Ticket) -> Followed {
        let resolved = ticket.status == minhu_core::ticket::Status::Resolved;
        Followed {
            number: ticket.number.to_string(),
            title: ticket.intake.title.clone(),
            status: ticket.status.code(),
            status_zh: ticket.status.label_zh(),
            created_at: ticket.created_at,
            resolved_at: ticket.resolved_at,
            reply: ticket.reply.clone(),
            rating: ticket.rating,
            can_rate: resolved && ticket.rating.is_none(),
        }
    }
}

fn wrong_code() -> ApiError {
    ApiError::unauthenticated_because(
        "code",
        "the code is wrong, expired or used up; ask for a new one",
    )
}

/// Trades a valid code for a session cookie (and its CSRF token, for the writes).
/// Opens a citizen's session with the code: a `Set-Cookie` and the ticket as its citizen
/// sees it, with the session's CSRF token for the writes that follow.
#[utoipa::path(
    post, path = "/api/v1/follow/session", request_body = SessionRequest, security(()),
    responses(
        (status = 200, description = "`{\"csrf\": ..., \"ticket\": ...}` and the session cookie"),
        (status = 401, description = "the code is wrong, used or expired", body = crate::middleware::error::ErrorBody),
    )
)]
async fn open_session(
    State(state): State<AppState>,
    Client(client): Client,
    JsonBody(body): JsonBody<SessionRequest>,
) -> Result<Response, ApiError> {
    let number = TicketNumber::parse(body.number.trim()).map_err(|_| wrong_code())?;
    let codes = state.engine.follow();
    // The try is counted before the code is compared, in one statement: parallel
    // guesses cannot all read "no tries yet".
    let stored = codes
        .claim_try(number.as_str(), CODE_TRIES)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(wrong_code)?;
    let sent = code_hash(number.as_str(), body.code.trim());
    if !auth::constant_time_eq(sent.as_bytes(), stored.as_bytes()) {
        audit::record(
            &state,
            "citizen".into(),
            "follow.code_wrong",
            Some(number.to_string()),
            "",
            client,
        )
        .await?;
        return Err(wrong_code());
    }
    // Only one request uses a code; one that lost the race is refused like a guess.
    if !codes
        .use_code(number.as_str(), &stored)
        .await
        .map_err(ApiError::internal)?
    {
        return Err(wrong_code());
    }
    let subject = format!("citizen:{number}");
    let accounts = state.engine.accounts();
    let secret = accounts
        .start_session(&subject, FOLLOW_HOURS)
        .await
        .map_err(ApiError::internal)?;
    let csrf = accounts
        .session(&secret)
        .await
        .map_err(ApiError::internal)?
        .map(|s| s.csrf)
        .unwrap_or_default();
    audit::record(
        &state,
        "citizen".into(),
        "follow.login",
        Some(number.to_string()),
        "",
        client,
    )
    .await?;
    let ticket = state
        .engine
        .ticket_for(&Reader::follower(number.clone()), &number)
        .await?;
    Ok((
        [(
            header::SET_COOKIE,
            auth::session_cookie(&secret, FOLLOW_HOURS * 3600),
        )],
        Json(serde_json::json!({"csrf": csrf, "ticket": Followed::of(&ticket)})),
    )
        .into_response())
}

/// The followed ticket of a citizen session.
fn followed_number(principal: &Principal) -> Result<TicketNumber, ApiError> {
    principal
        .follows
        .clone()
        .ok_or_else(ApiError::not_following)
}

/// The followed ticket, as its citizen sees it.
#[utoipa::path(
    get, path = "/api/v1/follow", security(()),
    responses((status = 200, description = "the ticket: number, title, status, reply, rating"), (status = 403, body = crate::middleware::error::ErrorBody))
)]
async fn followed(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Followed>, ApiError> {
    let number = followed_number(&principal)?;
    let ticket = state
        .engine
        .ticket_for(&principal.reader(), &number)
        .await?;
    Ok(Json(Followed::of(&ticket)))
}

/// The citizen rates the handling of their ticket.
#[utoipa::path(
    post, path = "/api/v1/follow/rate", request_body = minhu_core::ticket::Rating, security(()),
    responses((status = 200, description = "the ticket after the rating"), (status = 409, body = crate::middleware::error::ErrorBody), (status = 422, body = crate::middleware::error::ErrorBody))
)]
async fn rate(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(rating): JsonBody<Rating>,
) -> Result<Json<Followed>, ApiError> {
    let number = followed_number(&principal)?;
    let ticket = state
        .engine
        .act(&number, Command::Rate(rating), Actor::citizen())
        .await?;
    Ok(Json(Followed::of(&ticket)))
}

/// Why the citizen asks for the ticket again.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ReopenRequest {
    reason: String,
}

/// The citizen asks for their ticket to be handled again.
#[utoipa::path(
    post, path = "/api/v1/follow/reopen", request_body = ReopenRequest, security(()),
    responses((status = 200, description = "the ticket after the request"), (status = 409, body = crate::middleware::error::ErrorBody), (status = 422, body = crate::middleware::error::ErrorBody))
)]
async fn reopen(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody<ReopenRequest>,
) -> Result<Json<Followed>, ApiError> {
    let number = followed_number(&principal)?;
    let ticket = state
        .engine
        .act(
            &number,
            Command::Reopen {
                reason: body.reason,
            },
            Actor::citizen(),
        )
        .await?;
    Ok(Json(Followed::of(&ticket)))
}
