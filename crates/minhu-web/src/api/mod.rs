//! The JSON API under `/api/v1`, and its OpenAPI document at `/api/openapi.json`.
//!
//! This room holds what programs call: the tickets (taken in by `intake`, then read and
//! acted on in `tickets`, their clocks and messages in `timers`), analytics, the
//! knowledge base, the assistant, the citizens' follow routes, the reveal of an identity
//! and the audit log. Everything here answers JSON (or a CSV/XLSX table) and is
//! described in [`ApiDoc`].

pub mod analytics;
mod assistant;
pub mod audit;
pub mod follow;
pub mod kb;
mod privacy;
mod topics;

mod intake;
mod tickets;
mod timers;

use crate::AppState;
use crate::middleware::error::{ApiError, ErrorBody};
use axum::routing::{get, post};
use axum::{Json, Router};
use minhu_core::event::Event;
use minhu_core::ids::TicketNumber;
use minhu_core::ticket::Ticket;
use minhu_core::workflow::{Command, FieldError};
use minhu_engine::attachments::MAX_ATTACHMENT_BYTES;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    modifiers(&BearerTokens),
    info(
        title = "minhu API",
        description = "Citizen demands (12345) as tickets: intake, routing, handling, rating."
    ),
    paths(
        intake::create_ticket,
        intake::create_report,
        tickets::list_tickets,
        tickets::get_ticket,
        tickets::ticket_events,
        tickets::act_on_ticket,
        timers::ticket_timers,
        timers::due_timers,
        timers::ticket_notifications,
        tickets::add_attachment,
        tickets::get_attachment,
        tickets::routing_suggestion,
        tickets::duplicate_candidates,
        crate::api::privacy::reveal,
        crate::api::analytics::rates,
        crate::api::analytics::trends,
        crate::api::analytics::alerts,
        crate::api::topics::hotspot_list,
        crate::api::topics::monthly_topic,
        crate::api::kb::list_articles,
        crate::api::kb::create_article,
        crate::api::kb::get_article,
        crate::api::kb::replace_article,
        crate::api::kb::delete_article,
        crate::api::kb::suggest,
        crate::api::assistant::ask
    ),
    components(schemas(
        intake::CreateTicket,
        tickets::TicketList,
        ErrorBody,
        Ticket,
        Event,
        Command,
        minhu_engine::records::TimerRow,
        timers::NotificationView,
        crate::api::privacy::RevealRequest,
        crate::api::privacy::Identity,
        minhu_kb::ArticleDraft,
        crate::api::kb::ArticleView,
        crate::api::kb::ArticleList,
        crate::api::kb::SuggestedArticle,
        crate::api::kb::Suggestions,
        crate::api::assistant::AssistantRequest,
        crate::api::assistant::Handover,
        crate::api::assistant::AssistantReply,
        crate::api::assistant::HandedOver,
        minhu_kb::assistant::Message,
        minhu_kb::assistant::Speaker,
        minhu_kb::assistant::Certainty
    ))
)]
pub struct ApiDoc;

/// Declares the API's authentication: `Authorization: Bearer <token>` on every route
/// (anonymous intake and the citizens' follow routes say so in their own rules).
struct BearerTokens;

impl utoipa::Modify for BearerTokens {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            Http, HttpAuthScheme, SecurityRequirement, SecurityScheme,
        };
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
        }
        openapi.security = Some(vec![SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(analytics::routes())
        .merge(kb::routes())
        .merge(assistant::routes())
        .merge(follow::routes())
        .merge(privacy::routes())
        .merge(audit::routes())
        .route("/api/openapi.json", get(openapi))
        .route(
            "/api/v1/tickets",
            post(intake::create_ticket).get(tickets::list_tickets),
        )
        .route(
            "/api/v1/reports",
            post(intake::create_report).layer(axum::extract::DefaultBodyLimit::max(
                intake::MAX_REPORT_PHOTOS * (MAX_ATTACHMENT_BYTES + 4096) + crate::MAX_BODY_BYTES,
            )),
        )
        .route("/api/v1/tickets/{number}", get(tickets::get_ticket))
        .route(
            "/api/v1/tickets/{number}/events",
            get(tickets::ticket_events),
        )
        .route(
            "/api/v1/tickets/{number}/actions",
            post(tickets::act_on_ticket),
        )
        .route(
            "/api/v1/tickets/{number}/timers",
            get(timers::ticket_timers),
        )
        .route("/api/v1/timers/due", get(timers::due_timers))
        .route(
            "/api/v1/tickets/{number}/notifications",
            get(timers::ticket_notifications),
        )
        .route(
            "/api/v1/tickets/{number}/attachments",
            post(tickets::add_attachment).layer(axum::extract::DefaultBodyLimit::max(
                MAX_ATTACHMENT_BYTES + 1,
            )),
        )
        .route(
            "/api/v1/tickets/{number}/suggestion",
            get(tickets::routing_suggestion),
        )
        .route(
            "/api/v1/tickets/{number}/duplicates",
            get(tickets::duplicate_candidates),
        )
        .route(
            "/api/v1/tickets/{number}/attachments/{sha256}",
            get(tickets::get_attachment),
        )
        .route("/healthz", get(|| async { "ok" }))
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

fn ticket_number(text: &str) -> Result<TicketNumber, ApiError> {
    TicketNumber::parse(text).map_err(|e| ApiError::not_found(e.to_string()))
}

/// The `limit` query parameter of a list: `default` when absent, else 1 to `max`.
pub(crate) fn page_limit(text: Option<&str>, default: u32, max: u32) -> Result<u32, FieldError> {
    match text {
        None => Ok(default),
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                FieldError::new("limit", format!("must be a whole number from 1 to {max}"))
            }),
    }
}
