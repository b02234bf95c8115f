//! Taking demands in: `POST /api/v1/tickets` (a demand as JSON) and `POST /api/v1/reports`
//! (the portal's report with photos), each safe to retry with an `Idempotency-Key`.

use crate::AppState;
use crate::api::audit::{self, Client};
use crate::middleware::auth::{MaybePrincipal, Principal};
use crate::middleware::error::{ApiError, ErrorBody};
use crate::middleware::extract::{JsonBody, parse_json};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minhu_core::access::Permission;
use minhu_core::deadline::TierCode;
use minhu_core::event::Actor;
use minhu_core::ids::{CityId, RegionId};
use minhu_core::taxonomy::CategoryPath;
use minhu_core::ticket::{Channel, Citizen, GeoPoint, Intake, Kind, Ticket};
use minhu_core::workflow::{Command, FieldError};
use minhu_engine::attachments::{self};
use minhu_engine::{AnswerAtIntake, Reader};
use serde::Deserialize;

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
    /// The city of the province it is about (`GET /api/v1/cities`); when absent, the
    /// city its place names, else the first city.
    #[serde(default)]
    city: Option<CityId>,
    /// A consultation answered on the call (by an official with `ticket.answer`): the
    /// ticket is created answered, and routing never dispatches it.
    #[serde(default)]
    answer: Option<IntakeAnswer>,
    /// A grid worker's patrol report (`channel` grid) that they handled on the spot
    /// (即查即办, by an official with `field.patrol`): the ticket is created closed,
    /// with what was done, and never dispatched.
    #[serde(default)]
    on_the_spot: Option<OnTheSpot>,
    /// The CTI's id of the call this demand came on (the console opened for it): the
    /// caller's phone, when not given, and the ticket's `external_ref` (the call id and
    /// the recording's reference) come from the call.
    #[serde(default)]
    call: Option<String>,
}

/// What a grid worker did about what they report.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OnTheSpot {
    note: String,
}

/// The answer an agent gives a consultation while the caller is on the line.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntakeAnswer {
    text: String,
    /// The knowledge-base article the answer came from.
    #[serde(default)]
    article: Option<String>,
}

/// Forms send "" for what was left blank; that means "not given".
fn given(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

impl CreateTicket {
    fn into_intake(self, engine: &minhu_engine::Engine) -> Intake {
        let default_tier = &self
            .city
            .as_ref()
            .and_then(|id| engine.province().city(id))
            .map_or(engine.city(), |entry| &entry.city)
            .default_tier;
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
            city: self.city,
        }
    }
}

/// Takes what the call the demand came on tells (see [`CreateTicket::call`]): only the
/// agent it rang for files it, on the phone channel.
fn from_call(
    state: &AppState,
    principal: Option<&Principal>,
    body: &mut CreateTicket,
) -> Result<(), ApiError> {
    let Some(id) = body.call.take().filter(|c| !c.trim().is_empty()) else {
        return Ok(());
    };
    if body.channel != Channel::Phone {
        return Err(FieldError::new(
            "call",
            "only a demand on the phone channel comes from a call",
        )
        .into());
    }
    let login = principal
        .filter(|p| p.follows.is_none())
        .and_then(|p| p.actor.as_str().strip_prefix("user:"))
        .unwrap_or_default();
    let call = state
        .channels
        .phone
        .as_ref()
        .and_then(|line| line.call_for(id.trim(), login, state.engine.now()))
        .ok_or_else(|| {
            FieldError::new(
                "call",
                format!("no call {id} rang for you in the last hour"),
            )
        })?;
    if given(body.citizen.phone.clone()).is_none() {
        body.citizen.phone = Some(call.caller.clone());
    }
    body.external_ref = Some(call.reference());
    Ok(())
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
pub(super) async fn create_ticket(
    State(state): State<AppState>,
    MaybePrincipal(principal): MaybePrincipal,
    Client(client): Client,
    headers: HeaderMap,
    JsonBody(mut body): JsonBody<CreateTicket>,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers, principal.as_ref())?;
    let actor = intake_actor(principal.as_ref(), body.channel)?;
    from_call(&state, principal.as_ref(), &mut body)?;
    let audit = audit::creation(
        &state,
        audit::actor_of(principal.as_ref()),
        body.channel,
        client,
    );
    let answer = body.answer.take();
    let on_the_spot = body.on_the_spot.take();
    let intake = body.into_intake(&state.engine);
    let created = match (answer, on_the_spot) {
        (Some(_), Some(_)) => {
            return Err(FieldError::new(
                "on_the_spot",
                "a demand is either answered at intake or handled on the spot, not both",
            )
            .into());
        }
        (None, None) => {
            state
                .engine
                .intake_audited(intake, actor, key, Some(audit))
                .await?
        }
        (None, Some(OnTheSpot { note })) => {
            let on_the_spot = OnSpot {
                note,
                photos: Vec::new(),
            };
            handled_on_spot(
                &state,
                principal.as_ref(),
                intake,
                on_the_spot,
                actor,
                key,
                audit,
            )
            .await?
        }
        (Some(IntakeAnswer { text, article }), None) => {
            // Only an official answers for the city; a citizen's report cannot carry one.
            match &principal {
                Some(official) if official.follows.is_none() => {
                    official.require(Permission::Answer)?
                }
                _ => {
                    return Err(FieldError::new(
                        "answer",
                        "only an official with ticket.answer answers at intake",
                    )
                    .into());
                }
            }
            let answer = AnswerAtIntake {
                answer: text,
                article: given(article),
            };
            state
                .engine
                .intake_answered(intake, answer, actor, key, Some(audit))
                .await?
        }
    };
    created_response(&state, created.ticket, created.fresh, principal)
}

/// What a grid worker did on the spot, and the photos that show it (stored already).
struct OnSpot {
    note: String,
    photos: Vec<minhu_core::ticket::Attachment>,
}

/// A grid worker's report handled on the spot: only an official who patrols
/// (`field.patrol`) records one.
async fn handled_on_spot(
    state: &AppState,
    principal: Option<&Principal>,
    intake: Intake,
    on_the_spot: OnSpot,
    actor: Actor,
    key: Option<String>,
    audit: minhu_engine::records::AuditEntry,
) -> Result<minhu_engine::records::Created, ApiError> {
    match principal {
        Some(official) if official.follows.is_none() => official.require(Permission::Patrol)?,
        _ => {
            return Err(FieldError::new(
                "on_the_spot",
                "only a grid worker (field.patrol) records what was handled on the spot",
            )
            .into());
        }
    }
    Ok(state
        .engine
        .intake_handled_on_spot(
            intake,
            on_the_spot.photos,
            on_the_spot.note,
            actor,
            key,
            Some(audit),
        )
        .await?)
}

/// Who takes a demand in, and may they. Anyone may report as a citizen without
/// signing in, and so may a citizen following a ticket. An official or an API token
/// creates only with `ticket.create`, in their own name (a token without it must not
/// pass for a citizen). A phone call, a grid worker's patrol or an import is taken in
/// by someone who may. A channel with an adapter of its own (WeChat, SMS, e-mail,
/// Open311) or a back end (the app) is claimed only by a caller whose permissions
/// name it: anyone else would pass a web report off as the platform's.
fn intake_actor(principal: Option<&Principal>, channel: Channel) -> Result<Actor, ApiError> {
    may_create(principal)?;
    if let Some(needed) = minhu_core::access::channel_permission(channel) {
        match principal {
            Some(official) if official.follows.is_none() => official.require(needed)?,
            _ => {
                return Err(FieldError::new(
                    "channel",
                    format!(
                        "{} demands come in through that channel's adapter, or from a token with {}; report on the web channel",
                        channel.code(),
                        needed.code()
                    ),
                )
                .into());
            }
        }
    }
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
pub(super) const MAX_REPORT_PHOTOS: usize = 3;

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
pub(super) async fn create_report(
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
    let mut body = body.ok_or_else(|| {
        FieldError::new(
            "ticket",
            "is missing: send the demand as a JSON part named ticket",
        )
    })?;
    if body.answer.is_some() {
        return Err(FieldError::new(
            "ticket.answer",
            "a report with photos is not answered at intake; send the demand to /api/v1/tickets",
        )
        .into());
    }
    let actor = intake_actor(principal.as_ref(), body.channel)?;
    from_call(&state, principal.as_ref(), &mut body)?;
    let audit = audit::creation(
        &state,
        audit::actor_of(principal.as_ref()),
        body.channel,
        client,
    );
    let on_the_spot = body.on_the_spot.take();
    let intake = body.into_intake(&state.engine);
    let Some(OnTheSpot { note }) = on_the_spot else {
        let created = state
            .engine
            .intake_audited(intake, actor.clone(), key, Some(audit))
            .await?;
        return attach_photos(&state, created, photos, actor, principal).await;
    };
    // Handled on the spot: the ticket is created closed, its photos with it.
    let mut stored = Vec::with_capacity(photos.len());
    for (name, bytes) in photos {
        stored.push(state.attachments.put(&bytes, name).await?);
    }
    let on_the_spot = OnSpot {
        note,
        photos: stored,
    };
    let created = handled_on_spot(
        &state,
        principal.as_ref(),
        intake,
        on_the_spot,
        actor,
        key,
        audit,
    )
    .await?;
    created_response(&state, created.ticket, created.fresh, principal)
}

/// Adds a report's photos to its ticket, each once: a retry completes a report cut
/// off half way and adds none twice.
async fn attach_photos(
    state: &AppState,
    created: minhu_engine::records::Created,
    photos: Vec<(Option<String>, Bytes)>,
    actor: Actor,
    principal: Option<Principal>,
) -> Result<Response, ApiError> {
    let ticket = add_photos(state, created.ticket, photos, actor).await?;
    created_response(state, ticket, created.fresh, principal)
}

/// Adds photos to a ticket as `actor`'s, each once (a photo the ticket holds already
/// is passed over): a retry, or a second reader of the same mail, adds none twice.
pub(crate) async fn add_photos<B: AsRef<[u8]>>(
    state: &AppState,
    mut ticket: Ticket,
    photos: Vec<(Option<String>, B)>,
    actor: Actor,
) -> Result<Ticket, ApiError> {
    for (name, bytes) in photos {
        let attachment = state.attachments.put(bytes.as_ref(), name).await?;
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
    Ok(ticket)
}
