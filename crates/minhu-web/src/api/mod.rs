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
mod cities;
pub mod follow;
pub mod kb;
mod privacy;
mod seasonal;
pub mod sensors;
mod topics;

mod dispatch;
pub(crate) mod intake;
pub(crate) mod tickets;
mod timers;

use crate::middleware::auth::Rule::{Action, Adapter, Official, Open, Permission as Needs, Public};
use crate::middleware::error::{ApiError, ErrorBody};
use crate::routes::Routes;
use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use minhu_core::access::Permission as P;
use minhu_core::event::Event;
use minhu_core::ids::TicketNumber;
use minhu_core::ticket::Ticket;
use minhu_core::workflow::{Command, FieldError};
use minhu_engine::attachments::MAX_ATTACHMENT_BYTES;
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa_axum::router::UtoipaMethodRouterExt;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    modifiers(&BearerTokens),
    info(
        title = "minhu API",
        description = "Citizen demands (12345) as tickets: intake, routing, handling, rating."
    ),
    components(schemas(
        intake::CreateTicket,
        sensors::SensorReceipt,
        minhu_core::sensor::SensorEvent,
        tickets::TicketList,
        dispatch::BulkDispatch,
        dispatch::BulkOutcome,
        dispatch::BulkResult,
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

/// The API's routes: the tickets here, then each module's own.
pub(crate) fn routes() -> Routes {
    let report_limit =
        intake::MAX_REPORT_PHOTOS * (MAX_ATTACHMENT_BYTES + 4096) + crate::MAX_BODY_BYTES;
    Routes::new()
        .foreign(
            Method::GET,
            "/healthz",
            Public,
            "a load balancer's probe: `ok` while the server answers",
            || async { "ok" },
        )
        .foreign(
            Method::GET,
            "/api/openapi.json",
            Public,
            "the OpenAPI document itself",
            openapi,
        )
        .api(Open, routes!(intake::create_ticket))
        // The portal's report with photos: taken in exactly as POST /api/v1/tickets.
        .api(
            Open,
            routes!(intake::create_report).layer(DefaultBodyLimit::max(report_limit)),
        )
        // City systems' events (一网统管): signed, not signed in; their own rate.
        .api(Adapter("sensor"), routes!(sensors::sensor_event))
        .api(Official, routes!(cities::list_cities))
        .api(Needs(P::ViewTickets), routes!(tickets::list_tickets))
        .api(Needs(P::ViewTickets), routes!(tickets::get_ticket))
        .api(Needs(P::ViewTickets), routes!(tickets::ticket_events))
        .api(Action, routes!(tickets::act_on_ticket))
        .api(Needs(P::Dispatch), routes!(dispatch::dispatch_many))
        .api(Needs(P::ViewTickets), routes!(timers::ticket_timers))
        .api(Needs(P::Supervise), routes!(timers::due_timers))
        .api(Needs(P::ViewTickets), routes!(timers::ticket_notifications))
        .api(
            Needs(P::Handle),
            routes!(tickets::add_attachment).layer(DefaultBodyLimit::max(MAX_ATTACHMENT_BYTES + 1)),
        )
        // A grid worker's finding on a check asked of them: a note and one photo.
        .api(
            Needs(P::Patrol),
            routes!(tickets::report_check).layer(DefaultBodyLimit::max(
                MAX_ATTACHMENT_BYTES + crate::MAX_BODY_BYTES,
            )),
        )
        .api(Needs(P::Classify), routes!(tickets::routing_suggestion))
        .api(Needs(P::Classify), routes!(tickets::duplicate_candidates))
        .api(Needs(P::ViewTickets), routes!(tickets::get_attachment))
        .merge(privacy::routes())
        .merge(audit::routes())
        .merge(analytics::routes())
        .merge(topics::routes())
        .merge(seasonal::routes())
        .merge(follow::routes())
        .merge(kb::routes())
        .merge(assistant::routes())
}

/// The OpenAPI document at `/api/openapi.json`: [`ApiDoc`] with the operations of every
/// route declared with [`Routes::api`].
#[derive(Clone)]
pub(crate) struct OpenApiDocument(Arc<utoipa::openapi::OpenApi>);

impl OpenApiDocument {
    pub(crate) fn of(paths: utoipa::openapi::OpenApi) -> Self {
        let mut document = ApiDoc::openapi();
        document.merge(paths);
        OpenApiDocument(Arc::new(document))
    }
}

#[cfg(test)]
impl OpenApiDocument {
    pub(crate) fn paths(
        &self,
    ) -> &utoipa::openapi::path::PathsMap<String, utoipa::openapi::PathItem> {
        &self.0.paths.paths
    }
}

async fn openapi(Extension(document): Extension<OpenApiDocument>) -> Response {
    Json(document.0.as_ref()).into_response()
}

fn ticket_number(text: &str) -> Result<TicketNumber, ApiError> {
    TicketNumber::parse(text).map_err(|e| ApiError::not_found(e.to_string()))
}

/// The `limit` query parameter of a list: `default` when absent, else 1 to `max`.
pub(crate) fn page_limit(limit: Option<u32>, default: u32, max: u32) -> Result<u32, FieldError> {
    in_range("limit", limit, 1, max, default)
}

/// A whole-number parameter `name`: `default` when absent, else `low` to `high`.
pub(crate) fn in_range(
    name: &str,
    value: Option<u32>,
    low: u32,
    high: u32,
    default: u32,
) -> Result<u32, FieldError> {
    match value {
        None => Ok(default),
        Some(n) if (low..=high).contains(&n) => Ok(n),
        Some(n) => Err(FieldError::new(
            name,
            format!("{n} is out of range: a whole number from {low} to {high}"),
        )),
    }
}
