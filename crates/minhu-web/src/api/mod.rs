//! The JSON API under `/api/v1`, and its OpenAPI document at `/api/openapi.json`.
//!
//! This room holds what programs call: the tickets (intake, actions, attachments,
//! timers) here, and beside them analytics, the knowledge base, the assistant, the
//! citizens' follow routes, the reveal of an identity and the audit log. Everything
//! here answers JSON (or a CSV/XLSX table) and is described in [`ApiDoc`].

pub mod analytics;
mod assistant;
pub mod audit;
pub mod follow;
pub mod kb;
mod privacy;
mod topics;

use crate::AppState;
use crate::api::audit::Client;
use crate::middleware::auth::{MaybePrincipal, Principal};
use crate::middleware::error::{ApiError, ErrorBody};
use crate::middleware::extract::{JsonBody, JsonBytes, parse_json};
use axum::body::Bytes;
use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use minhu_core::access::{Permission, command_permission};
use minhu_core::deadline::TierCode;
use minhu_core::event::{Actor, Event};
use minhu_core::ids::{RegionId, TicketNumber};
use minhu_core::taxonomy::CategoryPath;
use minhu_core::ticket::{Channel, Citizen, GeoPoint, Intake, Kind, Status, Ticket};
use minhu_core::timer::Flag;
use minhu_core::workflow::{Command, FieldError};
use minhu_engine::Reader;
use minhu_engine::attachments::{self, MAX_ATTACHMENT_BYTES};
use minhu_engine::records::{Cursor, TicketFilter};
use minhu_engine::router::Decision;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    modifiers(&BearerTokens),
    info(
        title = "minhu API",
        description = "Citizen demands (12345) as tickets: intake, routing, handling, rating."
    ),
    paths(
        create_ticket,
        create_report,
        list_tickets,
        get_ticket,
        ticket_events,
        act_on_ticket,
        ticket_timers,
        due_timers,
        ticket_notifications,
        add_attachment,
        get_attachment,
        routing_suggestion,
        duplicate_candidates,
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
        CreateTicket,
        TicketList,
        ErrorBody,
        Ticket,
        Event,
        Command,
        minhu_engine::records::TimerRow,
        NotificationView,
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
        .route("/api/v1/tickets", post(create_ticket).get(list_tickets))
        .route(
            "/api/v1/reports",
            post(create_report).layer(axum::extract::DefaultBodyLimit::max(
                MAX_REPORT_PHOTOS * (MAX_ATTACHMENT_BYTES + 4096) + crate::MAX_BODY_BYTES,
            )),
        )
        .route("/api/v1/tickets/{number}", get(get_ticket))
        .route("/api/v1/tickets/{number}/events", get(ticket_events))
        .route("/api/v1/tickets/{number}/actions", post(act_on_ticket))
        .route("/api/v1/tickets/{number}/timers", get(ticket_timers))
        .route("/api/v1/timers/due", get(due_timers))
        .route(
            "/api/v1/tickets/{number}/notifications",
            get(ticket_notifications),
        )
        .route(
            "/api/v1/tickets/{number}/attachments",
            post(add_attachment).layer(axum::extract::DefaultBodyLimit::max(
                MAX_ATTACHMENT_BYTES + 1,
            )),
        )
        .route(
            "/api/v1/tickets/{number}/suggestion",
            get(routing_suggestion),
        )
        .route(
            "/api/v1/tickets/{number}/duplicates",
            get(duplicate_candidates),
        )
        .route(
            "/api/v1/tickets/{number}/attachments/{sha256}",
            get(get_attachment),
        )
        .route("/healthz", get(|| async { "ok" }))
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// A new demand, as a citizen's form, an agent's console or another system sends it.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTicket {
    channel: Channel,
    kind: Kind,
    title: String,
    description: String,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    location: Option<GeoPoint>,
    #[serde(default)]
    citizen: Citizen,
    /// A taxonomy path such as `城乡建设/住房保障与房地产/物业服务`, if known.
    #[serde(default)]
    category: Option<CategoryPath>,
    /// A region id from the city's configuration, if known.
    #[serde(default)]
    region: Option<RegionId>,
    /// A tier code (`2h`, `24h`, `7d`, `15d`); the city's default when absent.
    #[serde(default)]
    tier: Option<TierCode>,
    #[serde(default)]
    external_ref: Option<String>,
}

/// Forms send "" for what was left blank; that means "not given".
fn given(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

impl CreateTicket {
    fn into_intake(self, default_tier: &TierCode) -> Intake {
        let citizen = Citizen {
            phone: given(self.citizen.phone)
                .map(|p| p.chars().filter(|c| !matches!(c, ' ' | '-')).collect()),
            name: given(self.citizen.name),
            email: given(self.citizen.email).map(|e| e.trim().to_owned()),
            ..self.citizen
        };
        Intake {
            channel: self.channel,
            kind: self.kind,
            title: self.title,
            description: self.description,
            address: given(self.address),
            location: self.location,
            citizen,
            category: self.category,
            region: self.region,
            tier: self.tier.unwrap_or_else(|| default_tier.clone()),
            external_ref: given(self.external_ref),
        }
    }
}

/// The request's `Idempotency-Key`, scoped to its caller: the same key from another
/// token, account or citizen is another key, so one client's key never finds another
/// client's ticket. Anonymous callers share one scope (the key is theirs to make
/// unguessable, and a replay must repeat the demand exactly and sees it redacted).
/// The `api:` prefix keeps a client's key apart from the server's own keys in the same
/// table (`open311:`, `assistant:`, imports).
fn idempotency_key(
    headers: &HeaderMap,
    principal: Option<&Principal>,
) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| (1..=200).contains(&k.len()) && k.chars().all(|c| c.is_ascii_graphic()))
        .ok_or_else(|| {
            FieldError::new("Idempotency-Key", "must be 1-200 visible ASCII characters")
        })?;
    let caller = match principal {
        Some(Principal {
            follows: Some(number),
            ..
        }) => format!("citizen:{number}"),
        Some(principal) => principal.actor.to_string(),
        None => "anonymous".to_owned(),
    };
    Ok(Some(format!("api:{caller}:{key}")))
}

fn ticket_number(text: &str) -> Result<TicketNumber, ApiError> {
    TicketNumber::parse(text).map_err(|e| ApiError::not_found(e.to_string()))
}

/// Take in a new demand.
///
/// Send an `Idempotency-Key` header to make retries safe: the same key returns the
/// ticket made the first time (200) instead of a second ticket (201).
#[utoipa::path(
    post, path = "/api/v1/tickets", request_body = CreateTicket,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes retries return the same ticket")),
    responses(
        (status = 201, description = "created", body = Ticket),
        (status = 200, description = "the ticket an earlier request with this key created", body = Ticket),
        (status = 400, description = "malformed JSON", body = ErrorBody),
        (status = 422, description = "a field is invalid", body = ErrorBody),
    )
)]
async fn create_ticket(
    State(state): State<AppState>,
    MaybePrincipal(principal): MaybePrincipal,
    Client(client): Client,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CreateTicket>,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers, principal.as_ref())?;
    let actor = intake_actor(principal.as_ref(), body.channel)?;
    let audit = audit::creation(
        &state,
        audit::actor_of(principal.as_ref()),
        body.channel,
        client,
    );
    let intake = body.into_intake(&state.engine.city().default_tier);
    let created = state
        .engine
        .intake_audited(intake, actor, key, Some(audit))
        .await?;
    created_response(&state, created.ticket, created.fresh, principal)
}

/// Who takes a demand in, and may they. Anyone may report as a citizen without
/// signing in, and so may a citizen following a ticket. An official or an API token
/// creates only with `ticket.create`, in their own name (a token without it must not
/// pass for a citizen). A phone call, a grid worker's patrol or an import is taken in
/// by someone who may.
fn intake_actor(principal: Option<&Principal>, channel: Channel) -> Result<Actor, ApiError> {
    may_create(principal)?;
    let taken_in = matches!(channel, Channel::Phone | Channel::Grid | Channel::Import);
    match principal {
        Some(citizen) if citizen.follows.is_some() && !taken_in => Ok(Actor::citizen()),
        Some(principal) => {
            principal.require(Permission::CreateTickets)?;
            Ok(principal.actor.clone())
        }
        None if taken_in => Err(ApiError::unauthenticated()),
        None => Ok(Actor::citizen()),
    }
}

/// Whoever signed in (an official, a token) creates only with `ticket.create`; a
/// citizen following a ticket, or anyone anonymous, reports as a citizen. Checked
/// before a report's photos are read.
fn may_create(principal: Option<&Principal>) -> Result<(), ApiError> {
    match principal {
        Some(official) if official.follows.is_none() => official.require(Permission::CreateTickets),
        _ => Ok(()),
    }
}

/// 201 with the new ticket, or 200 with the one an earlier request with the same
/// Idempotency-Key made.
fn created_response(
    state: &AppState,
    ticket: Ticket,
    fresh: bool,
    principal: Option<Principal>,
) -> Result<Response, ApiError> {
    let status = if fresh {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let location = HeaderValue::from_str(&format!("/api/v1/tickets/{}", ticket.number))
        .map_err(ApiError::internal)?;
    // An anonymous caller sees the ticket as the public would: an Idempotency-Key is
    // no password, so a replay must not hand out someone's phone number.
    let reader = principal.map_or_else(Reader::public, |p| p.reader());
    let ticket = state.engine.masked_for(&reader, ticket);
    Ok((status, [(header::LOCATION, location)], Json(ticket)).into_response())
}

/// The most photos one report carries.
const MAX_REPORT_PHOTOS: usize = 3;

/// Take in a demand with photos, as the citizens' portal sends it.
///
/// `multipart/form-data` with a `ticket` part holding the JSON of `POST /api/v1/tickets`
/// and up to three `photo` parts (JPEG, PNG, GIF, WebP or HEIF, judged by their bytes;
/// 10 MiB each). Every photo is checked before anything is stored. With an
/// `Idempotency-Key` a retry returns the first ticket and attaches only the photos it
/// still lacks, so a report cut off half way is completed, never doubled.
#[utoipa::path(
    post, path = "/api/v1/reports",
    request_body(content = String, content_type = "multipart/form-data", description = "a `ticket` part (JSON, as for POST /api/v1/tickets) and up to 3 `photo` parts"),
    params(("Idempotency-Key" = Option<String>, Header, description = "makes retries return the same ticket")),
    responses(
        (status = 201, description = "created, with its photos", body = Ticket),
        (status = 200, description = "the ticket an earlier request with this key created", body = Ticket),
        (status = 400, description = "not multipart, or malformed JSON in the ticket part", body = ErrorBody),
        (status = 422, description = "a field or a photo is invalid", body = ErrorBody),
    )
)]
async fn create_report(
    State(state): State<AppState>,
    MaybePrincipal(principal): MaybePrincipal,
    Client(client): Client,
    headers: HeaderMap,
    parts: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers, principal.as_ref())?;
    may_create(principal.as_ref())?;
    let mut parts = parts.map_err(|e| ApiError::malformed(None, e.body_text()))?;
    let unreadable = |e: MultipartError| ApiError::malformed(None, e.body_text());
    let mut body: Option<CreateTicket> = None;
    let mut photos: Vec<(Option<String>, Bytes)> = Vec::new();
    while let Some(part) = parts.next_field().await.map_err(unreadable)? {
        match part.name().unwrap_or_default() {
            "ticket" => body = Some(parse_json(&part.bytes().await.map_err(unreadable)?)?),
            "photo" => {
                let field = format!("photo[{}]", photos.len());
                if photos.len() == MAX_REPORT_PHOTOS {
                    return Err(FieldError::new(
                        field,
                        format!("send at most {MAX_REPORT_PHOTOS} photos"),
                    )
                    .into());
                }
                let name = part.file_name().map(str::to_owned);
                if name.as_deref().is_some_and(|n| n.contains('\0')) {
                    return Err(FieldError::new(
                        format!("{field}.name"),
                        "must not contain the NUL character (U+0000)",
                    )
                    .into());
                }
                let bytes = part.bytes().await.map_err(unreadable)?;
                let media_type = attachments::check(&bytes, name.as_deref())
                    .map_err(|e| FieldError::new(format!("{field}.{}", e.field), e.problem))?;
                if !media_type.starts_with("image/") {
                    return Err(FieldError::new(
                        format!("{field}.file"),
                        format!("is {media_type}; send a photo"),
                    )
                    .into());
                }
                photos.push((name, bytes));
            }
            other => {
                return Err(FieldError::new(
                    other,
                    "is not a part of a report; send `ticket` and `photo` parts",
                )
                .into());
            }
        }
    }
    let body = body.ok_or_else(|| {
        FieldError::new(
            "ticket",
            "is missing: send the demand as a JSON part named ticket",
        )
    })?;
    let actor = intake_actor(principal.as_ref(), body.channel)?;
    let audit = audit::creation(
        &state,
        audit::actor_of(principal.as_ref()),
        body.channel,
        client,
    );
    let intake = body.into_intake(&state.engine.city().default_tier);
    let created = state
        .engine
        .intake_audited(intake, actor.clone(), key, Some(audit))
        .await?;
    let mut ticket = created.ticket;
    for (name, bytes) in photos {
        let attachment = state.attachments.put(&bytes, name).await?;
        if ticket
            .attachments
            .iter()
            .any(|a| a.sha256 == attachment.sha256)
        {
            continue;
        }
        let command = Command::AddAttachment(attachment);
        ticket = state
            .engine
            .act(&ticket.number, command, actor.clone())
            .await?;
    }
    created_response(&state, ticket, created.fresh, principal)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TicketList {
    tickets: Vec<Ticket>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    next_cursor: Option<String>,
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

/// Reads the list filters one by one, so each bad value is named.
fn filter_from(
    params: &HashMap<String, String>,
    state: &AppState,
) -> Result<TicketFilter, ApiError> {
    const KNOWN: &[&str] = &[
        "status", "unit", "region", "category", "from", "to", "q", "phone", "flag", "cursor",
        "limit",
    ];
    if let Some(unknown) = params.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(FieldError::new(
            unknown.as_str(),
            format!("is not a filter; use one of {}", KNOWN.join(", ")),
        )
        .into());
    }
    let get = |name: &str| params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let city = state.engine.city();
    let moment = |name: &str| -> Result<Option<jiff::Timestamp>, ApiError> {
        let Some(text) = get(name) else {
            return Ok(None);
        };
        if let Ok(at) = text.parse::<jiff::Timestamp>() {
            return Ok(Some(at));
        }
        let date: jiff::civil::Date = text.parse().map_err(|_| {
            FieldError::new(
                name,
                format!(
                    "{text:?} is not a date (2026-11-22) or a moment (2026-11-22T08:00:00+08:00)"
                ),
            )
        })?;
        let start = date
            .to_zoned(city.timezone.clone())
            .map_err(ApiError::internal)?;
        Ok(Some(start.timestamp()))
    };
    let flag = get("flag")
        .map(|f| {
            Flag::from_name(f).ok_or_else(|| {
                FieldError::new(
                    "flag",
                    format!("{f:?} is not a flag; use one of {}", Flag::codes()),
                )
            })
        })
        .transpose()?;
    let status = get("status")
        .map(|s| {
            Status::from_name(s).ok_or_else(|| {
                FieldError::new(
                    "status",
                    format!("{s:?} is not a status; use one of {}", Status::codes()),
                )
            })
        })
        .transpose()?;
    let region_path = get("region")
        .map(|id| {
            city.regions
                .path(&RegionId::new(id))
                .ok_or_else(|| FieldError::new("region", format!("no region has the id {id}")))
        })
        .transpose()?;
    let cursor = get("cursor")
        .map(|c| {
            Cursor::decode(c)
                .ok_or_else(|| FieldError::new("cursor", "is not a cursor this server gave out"))
        })
        .transpose()?;
    let limit = page_limit(get("limit"), 50, 500)?;
    Ok(TicketFilter {
        // Narrowed to the caller's scope by the handler.
        scope: minhu_core::access::Scope::All,
        status,
        unit: get("unit").map(str::to_owned),
        region_path,
        category: get("category").map(|c| CategoryPath::new(c).as_str().to_owned()),
        created_from: moment("from")?,
        created_to: moment("to")?,
        text: get("q").map(str::to_owned),
        // Set by the handler from the caller's permissions.
        identity: false,
        phone: get("phone").map(str::to_owned),
        flag,
        numbers: None,
        cursor,
        limit,
    })
}

/// List tickets, newest first, with filters and cursor pagination.
#[utoipa::path(
    get, path = "/api/v1/tickets",
    params(
        ("status" = Option<String>, Query, description = "pending, dispatched, accepted, resolved or closed"),
        ("unit" = Option<String>, Query, description = "unit id"),
        ("region" = Option<String>, Query, description = "region id: the region and everything inside it"),
        ("category" = Option<String>, Query, description = "category path: the category and its sub-categories"),
        ("from" = Option<String>, Query, description = "created at or after (date or ISO 8601 moment)"),
        ("to" = Option<String>, Query, description = "created before (date or ISO 8601 moment)"),
        ("q" = Option<String>, Query, description = "words in the title or description"),
        ("phone" = Option<String>, Query, description = "the citizen's phone number"),
        ("flag" = Option<String>, Query, description = "warning (also overdue and escalated), overdue (also escalated), escalated or callback_due"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
        ("limit" = Option<u32>, Query, description = "1 to 500, default 50"),
    ),
    responses((status = 200, body = TicketList), (status = 422, body = ErrorBody))
)]
async fn list_tickets(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<TicketList>, ApiError> {
    let filter = filter_from(&params, &state)?;
    if filter.phone.is_some() {
        // Looking tickets up by phone would unmask numbers one guess at a time.
        principal.require(Permission::ViewIdentity)?;
    }
    let page = state.engine.list_for(&principal.reader(), &filter).await?;
    Ok(Json(TicketList {
        tickets: page.tickets,
        next_cursor: page.next.map(|c| c.encode()),
    }))
}

/// One ticket as it stands now.
#[utoipa::path(
    get, path = "/api/v1/tickets/{number}",
    params(("number" = String, Path, description = "ticket number, e.g. 2026112200017")),
    responses((status = 200, body = Ticket), (status = 404, body = ErrorBody))
)]
async fn get_ticket(
    State(state): State<AppState>,
    principal: Principal,
    Path(number): Path<String>,
) -> Result<Json<Ticket>, ApiError> {
    let number = ticket_number(&number)?;
    Ok(Json(
        state
            .engine
            .ticket_for(&principal.reader(), &number)
            .await?,
    ))
}

/// The ticket's whole history (留痕): who did what, when and why.
#[utoipa::path(
    get, path = "/api/v1/tickets/{number}/events",
    params(("number" = String, Path)),
    responses((status = 200, body = Vec<Event>), (status = 404, body = ErrorBody))
)]
async fn ticket_events(
    State(state): State<AppState>,
    principal: Principal,
    Path(number): Path<String>,
) -> Result<Json<Vec<Event>>, ApiError> {
    let number = ticket_number(&number)?;
    Ok(Json(
        state
            .engine
            .events_for(&principal.reader(), &number)
            .await?,
    ))
}

/// The ticket's timers (warnings, overdue, escalation, callback), fired or pending, by
/// due time.
#[utoipa::path(
    get, path = "/api/v1/tickets/{number}/timers",
    params(("number" = String, Path, description = "ticket number, e.g. 2026112200017")),
    responses((status = 200, body = Vec<minhu_engine::records::TimerRow>), (status = 404, body = ErrorBody))
)]
async fn ticket_timers(
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
async fn ticket_notifications(
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

/// Unfired timers due before `before` (ISO 8601; default now), earliest first, at
/// most `limit` (1-500, default 100), of the tickets in the caller's scope.
#[utoipa::path(
    get, path = "/api/v1/timers/due",
    params(
        ("before" = Option<String>, Query, description = "ISO 8601 moment; default now"),
        ("limit" = Option<u32>, Query, description = "1 to 500, default 100"),
    ),
    responses((status = 200, body = Vec<minhu_engine::records::TimerRow>), (status = 422, body = ErrorBody))
)]
async fn due_timers(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Vec<minhu_engine::records::TimerRow>>, ApiError> {
    let before = match params.get("before") {
        Some(text) => text.parse::<jiff::Timestamp>().map_err(|e| {
            ApiError::invalid(FieldError::new(
                "before",
                format!("{text:?} is not an ISO 8601 moment: {e}"),
            ))
        })?,
        None => state.engine.now(),
    };
    let limit = page_limit(params.get("limit").map(String::as_str), 100, 500)?;
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

/// Do one workflow action: reclassify, dispatch, accept, return, reject_return,
/// redispatch, reassign, summon, accept_part, report_part, request_extension,
/// decide_extension, urge, mark_long_term, resolve, answer_at_intake, rate, reopen,
/// merge, unmerge or close. The body is the action (`{"action": "accept"}`) with its
/// fields; a field's error names it.
#[utoipa::path(
    post, path = "/api/v1/tickets/{number}/actions", request_body = Command,
    params(("number" = String, Path)),
    responses(
        (status = 200, description = "the ticket after the action", body = Ticket),
        (status = 404, body = ErrorBody),
        (status = 409, description = "not allowed in the ticket's current status", body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
async fn act_on_ticket(
    State(state): State<AppState>,
    principal: Principal,
    Path(number): Path<String>,
    JsonBytes(body): JsonBytes,
) -> Result<Json<Ticket>, ApiError> {
    let number = ticket_number(&number)?;
    // serde loses the field path inside a tagged enum; reading the body once as a plain
    // struct first names the field of a mistyped value (e.g. `resolve_by`).
    parse_json::<ActionFields>(&body)?;
    let command: Command = parse_json(&body)?;
    no_stray_fields(&body, &command)?;
    if let Command::AddAttachment(_) = command {
        return Err(FieldError::new(
            "action",
            "send files to POST /api/v1/tickets/{number}/attachments, where their content is checked",
        )
        .into());
    }
    principal.require(command_permission(&command))?;
    let ticket = state
        .engine
        .act(&number, command, principal.actor.clone())
        .await?;
    // Masked, not checked: an action may take the ticket out of the actor's scope (a
    // return, a dispatch elsewhere), and they saw it a moment ago.
    Ok(Json(state.engine.masked_for(&principal.reader(), ticket)))
}

/// Refuses a field the action does not take. serde refuses those of actions with
/// fields of their own (`deny_unknown_fields`), but not of an action without fields
/// (`accept`) or whose fields are another type's (`rate`): so the command read is
/// written back, and every field the body gave a value must be in it.
fn no_stray_fields(body: &[u8], command: &Command) -> Result<(), ApiError> {
    let sent: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(body).map_err(|e| ApiError::malformed(None, e.to_string()))?;
    let read = serde_json::to_value(command).map_err(ApiError::internal)?;
    match sent
        .iter()
        .find(|(key, value)| !value.is_null() && read.get(key.as_str()).is_none())
    {
        Some((key, _)) => Err(ApiError::malformed(
            Some(key.clone()),
            format!(
                "{key}: unknown field `{key}`: {} does not take it",
                command.name()
            ),
        )),
        None => Ok(()),
    }
}

/// The fields any action may carry, with their types, to check a body field by field.
#[derive(Deserialize)]
#[allow(dead_code)]
struct ActionFields {
    action: String,
    unit: Option<String>,
    reason: Option<String>,
    reply: Option<String>,
    answer: Option<String>,
    note: Option<String>,
    category: Option<String>,
    region: Option<String>,
    tier: Option<String>,
    solved: Option<bool>,
    satisfaction: Option<minhu_core::ticket::Satisfaction>,
    approve: Option<bool>,
    resolve_by: Option<jiff::Timestamp>,
    review_on: Option<jiff::civil::Date>,
    days: Option<u16>,
    units: Option<Vec<String>>,
    report: Option<String>,
    into: Option<TicketNumber>,
    case: Option<TicketNumber>,
}

/// Attach a photo or PDF: send the file's bytes as the body. Its type is judged from
/// its content; `?name=` keeps the original file name.
#[utoipa::path(
    post, path = "/api/v1/tickets/{number}/attachments",
    params(("number" = String, Path), ("name" = Option<String>, Query)),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = Ticket), (status = 422, body = ErrorBody))
)]
async fn add_attachment(
    State(state): State<AppState>,
    principal: Principal,
    Path(number): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<Json<Ticket>, ApiError> {
    let number = ticket_number(&number)?;
    state
        .engine
        .ticket_for(&principal.reader(), &number)
        .await?;
    let attachment = state
        .attachments
        .put(&body, params.get("name").cloned())
        .await?;
    let ticket = state
        .engine
        .act(
            &number,
            Command::AddAttachment(attachment),
            principal.actor.clone(),
        )
        .await?;
    Ok(Json(state.engine.masked_for(&principal.reader(), ticket)))
}

/// One file attached to a ticket, by the `sha256` its attachment lists: reached only
/// through a ticket the caller may open.
#[utoipa::path(
    get, path = "/api/v1/tickets/{number}/attachments/{sha256}",
    params(("number" = String, Path), ("sha256" = String, Path, description = "the attachment's sha256, as the ticket lists it")),
    responses((status = 200, description = "the file's bytes, with its media type"), (status = 404, body = ErrorBody))
)]
async fn get_attachment(
    State(state): State<AppState>,
    principal: Principal,
    Path((number, sha256)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let number = ticket_number(&number)?;
    let attachment = state
        .engine
        .attachment_for(&principal.reader(), &number, &sha256)
        .await?;
    let bytes = state
        .attachments
        .get(&attachment.sha256)
        .await
        .map_err(ApiError::internal)?;
    let bytes = bytes.ok_or_else(|| ApiError::not_found(format!("no attachment {sha256}")))?;
    let media_type = minhu_engine::attachments::media_type_of(&bytes);
    Ok((
        [
            (header::CONTENT_TYPE, media_type),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        bytes,
    )
        .into_response())
}

/// What routing would do with this ticket now, with its reasons (for dispatchers).
#[utoipa::path(
    get, path = "/api/v1/tickets/{number}/suggestion",
    params(("number" = String, Path)),
    responses((status = 200, description = "place, category and unit with reasons"), (status = 404, body = ErrorBody))
)]
async fn routing_suggestion(
    State(state): State<AppState>,
    Path(number): Path<String>,
) -> Result<Json<Decision>, ApiError> {
    let ticket = state.engine.ticket(&ticket_number(&number)?).await?;
    Ok(Json(
        state.engine.router().decide(&ticket, state.engine.city()),
    ))
}

/// Open tickets of the same street and three days that read like this one: candidates
/// for merging (并单), most alike first.
#[utoipa::path(
    get, path = "/api/v1/tickets/{number}/duplicates",
    params(("number" = String, Path)),
    responses((status = 200, description = "number, title, status, created_at and similarity (0..1) of each candidate"), (status = 404, body = ErrorBody))
)]
async fn duplicate_candidates(
    State(state): State<AppState>,
    principal: Principal,
    Path(number): Path<String>,
) -> Result<Json<Vec<minhu_engine::duplicates::Duplicate>>, ApiError> {
    let number = ticket_number(&number)?;
    Ok(Json(
        state
            .engine
            .duplicates(&number, &principal.reader())
            .await?,
    ))
}
