//! Tickets once taken in: the list with its filters, one ticket and its history, the
//! workflow actions, attachments, and the routing and duplicate suggestions.

use super::{page_limit, ticket_number};
use crate::AppState;
use crate::middleware::auth::Principal;
use crate::middleware::error::{ApiError, ErrorBody};
use crate::middleware::extract::{JsonBytes, QueryParams, parse_json};
use axum::Json;
use axum::body::Bytes;
use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use minhu_core::access::{Permission, command_permission};
use minhu_core::event::Event;
use minhu_core::ids::{RegionId, TicketNumber};
use minhu_core::taxonomy::CategoryPath;
use minhu_core::ticket::{Channel, Kind, Status, Ticket};
use minhu_core::timer::Flag;
use minhu_core::workflow::{Command, FieldError};
use minhu_engine::records::{Awaiting, Cursor, TicketFilter};
use minhu_engine::router::Decision;
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

#[derive(Serialize, utoipa::ToSchema)]
pub struct TicketList {
    tickets: Vec<Ticket>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    next_cursor: Option<String>,
}

/// The list's filters, each checked on its own so a bad value is named.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct TicketQuery {
    /// pending, dispatched, accepted, resolved or closed (or the Chinese name).
    pub(crate) status: Option<String>,
    /// A unit id.
    pub(crate) unit: Option<String>,
    /// A region id: the region and everything inside it.
    pub(crate) region: Option<String>,
    /// A category path: the category and its sub-categories.
    pub(crate) category: Option<String>,
    /// Created at or after: a date (the city's day) or an ISO 8601 moment.
    pub(crate) from: Option<String>,
    /// Created before: a date (the city's day) or an ISO 8601 moment.
    pub(crate) to: Option<String>,
    /// Words in the title or description.
    pub(crate) q: Option<String>,
    /// The citizen's phone number.
    pub(crate) phone: Option<String>,
    /// warning (also overdue and escalated), overdue (also escalated), escalated,
    /// callback_due or review_due (a long-term demand's review date has come).
    pub(crate) flag: Option<String>,
    /// How the demand came: phone, web, app, wechat, email, open311, grid or import.
    #[param(value_type = Option<String>)]
    pub(crate) channel: Option<Channel>,
    /// consultation, help, complaint, report or suggestion.
    #[param(value_type = Option<String>)]
    pub(crate) kind: Option<Kind>,
    /// A tier code of the city (`2h`, `24h`, `7d`, `15d`).
    pub(crate) tier: Option<String>,
    /// true: only long-term (挂账) tickets.
    pub(crate) long_term: Option<bool>,
    /// `next_cursor` of the previous page.
    pub(crate) cursor: Option<String>,
    /// 1 to 500, default 50.
    pub(crate) limit: Option<u32>,
}

pub(crate) fn filter_from(query: TicketQuery, state: &AppState) -> Result<TicketFilter, ApiError> {
    let city = state.engine.city();
    let moment = |name: &str, text: Option<&str>| -> Result<Option<jiff::Timestamp>, ApiError> {
        let Some(text) = text else {
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
    let flag = query
        .flag
        .as_deref()
        .map(|f| {
            Flag::from_name(f).ok_or_else(|| {
                FieldError::new(
                    "flag",
                    format!("{f:?} is not a flag; use one of {}", Flag::codes()),
                )
            })
        })
        .transpose()?;
    let status = query
        .status
        .as_deref()
        .map(|s| {
            Status::from_name(s).ok_or_else(|| {
                FieldError::new(
                    "status",
                    format!("{s:?} is not a status; use one of {}", Status::codes()),
                )
            })
        })
        .transpose()?;
    let region_path = query
        .region
        .as_deref()
        .map(|id| {
            city.regions
                .path(&RegionId::new(id))
                .ok_or_else(|| FieldError::new("region", format!("no region has the id {id}")))
        })
        .transpose()?;
    let cursor = query
        .cursor
        .as_deref()
        .map(|c| {
            Cursor::decode(c)
                .ok_or_else(|| FieldError::new("cursor", "is not a cursor this server gave out"))
        })
        .transpose()?;
    Ok(TicketFilter {
        // Narrowed to the caller's scope by the handler.
        scope: minhu_core::access::Scope::All,
        status,
        unit: query.unit,
        region_path,
        region_alone: false,
        category: query
            .category
            .map(|c| CategoryPath::new(&c).as_str().to_owned()),
        channel: query.channel,
        kind: query.kind,
        tier: query
            .tier
            .map(|tier| {
                if city.tiers.iter().any(|t| t.code.as_str() == tier) {
                    Ok(tier)
                } else {
                    Err(FieldError::new(
                        "tier",
                        format!("{tier:?} is not a tier of this city"),
                    ))
                }
            })
            .transpose()?,
        awaiting: (query.long_term == Some(true)).then_some(Awaiting::Review),
        created_from: moment("from", query.from.as_deref())?,
        created_to: moment("to", query.to.as_deref())?,
        updated_from: None,
        updated_to: None,
        text: query.q,
        // Set by the handler from the caller's permissions.
        identity: false,
        phone: query.phone,
        flag,
        numbers: None,
        cursor,
        limit: page_limit(query.limit, 50, 500)?,
    })
}

/// List tickets, newest first, with filters and cursor pagination.
#[utoipa::path(
    get, path = "/api/v1/tickets",
    params(TicketQuery),
    responses((status = 200, body = TicketList), (status = 422, body = ErrorBody))
)]
pub(super) async fn list_tickets(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(query): QueryParams<TicketQuery>,
) -> Result<Json<TicketList>, ApiError> {
    let filter = filter_from(query, &state)?;
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
pub(super) async fn get_ticket(
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
pub(super) async fn ticket_events(
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

/// Do one workflow action: reclassify, dispatch, accept, return, reject_return,
/// redispatch, reassign, summon, accept_part, report_part, request_extension,
/// decide_extension, urge, mark_long_term, lift_long_term, resolve, answer_at_intake,
/// rate, reopen, merge, unmerge or close. The body is the action (`{"action": "accept"}`)
/// with its fields; a field's error names it. A unit's official acts for their unit:
/// only the unit holding the ticket handles it (403 otherwise), and a summoned unit
/// accepts and reports its own part, which `unit` may leave out.
#[utoipa::path(
    post, path = "/api/v1/tickets/{number}/actions", request_body = Command,
    params(("number" = String, Path)),
    responses(
        (status = 200, description = "the ticket after the action", body = Ticket),
        (status = 404, body = ErrorBody),
        (status = 403, description = "the caller's unit does not hold the ticket or the part", body = ErrorBody),
        (status = 409, description = "not allowed in the ticket's current status", body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
pub(super) async fn act_on_ticket(
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
    if let Command::ReportCheck { .. } = command {
        return Err(FieldError::new(
            "action",
            "send a check's photo and note to POST /api/v1/tickets/{number}/checks/{task}, where the photo is checked",
        )
        .into());
    }
    principal.require(command_permission(&command))?;
    let ticket = state
        .engine
        .act_within(&principal.scope, &number, command, principal.actor.clone())
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
    kind: Option<minhu_core::ticket::CheckKind>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct AttachmentName {
    /// The file's original name, kept with it.
    name: Option<String>,
}

/// Attach a photo or PDF: send the file's bytes as the body. Its type is judged from
/// its content; `?name=` keeps the original file name.
#[utoipa::path(
    post, path = "/api/v1/tickets/{number}/attachments",
    params(("number" = String, Path), AttachmentName),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = Ticket), (status = 422, body = ErrorBody))
)]
pub(super) async fn add_attachment(
    State(state): State<AppState>,
    principal: Principal,
    Path(number): Path<String>,
    QueryParams(AttachmentName { name }): QueryParams<AttachmentName>,
    body: Bytes,
) -> Result<Json<Ticket>, ApiError> {
    let number = ticket_number(&number)?;
    state
        .engine
        .ticket_for(&principal.reader(), &number)
        .await?;
    let attachment = state.attachments.put(&body, name).await?;
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

/// A grid worker's finding on an on-site check or visit (核查, 回访) asked of them:
/// `multipart/form-data` with a `note` part (what they found) and a `photo` part (taken
/// there: JPEG, PNG, GIF, WebP or HEIF, judged by its bytes). The photo joins the
/// ticket's attachments.
#[utoipa::path(
    post, path = "/api/v1/tickets/{number}/checks/{task}",
    params(("number" = String, Path), ("task" = u32, Path, description = "the check's number on the ticket")),
    request_body(content = String, content_type = "multipart/form-data", description = "`note` and `photo` parts"),
    responses(
        (status = 200, description = "the ticket with the check reported", body = Ticket),
        (status = 404, body = ErrorBody),
        (status = 422, description = "no such check, reported already, or a part is missing or wrong", body = ErrorBody),
    )
)]
pub(super) async fn report_check(
    State(state): State<AppState>,
    principal: Principal,
    Path((number, task)): Path<(String, String)>,
    parts: Result<Multipart, MultipartRejection>,
) -> Result<Json<Ticket>, ApiError> {
    let number = ticket_number(&number)?;
    let task: u32 = task
        .parse()
        .map_err(|_| FieldError::new("task", "must be the check's number, 1, 2, ..."))?;
    let mut parts = parts.map_err(|e| ApiError::malformed(None, e.body_text()))?;
    let unreadable = |e: MultipartError| ApiError::malformed(None, e.body_text());
    let (mut note, mut photo) = (None, None);
    while let Some(part) = parts.next_field().await.map_err(unreadable)? {
        match part.name().unwrap_or_default() {
            "note" => note = Some(part.text().await.map_err(unreadable)?),
            "photo" => {
                let name = part.file_name().map(str::to_owned);
                let bytes = part.bytes().await.map_err(unreadable)?;
                photo = Some((name, bytes));
            }
            other => {
                return Err(FieldError::new(
                    other,
                    "is not a part of a check's report; send `note` and `photo`",
                )
                .into());
            }
        }
    }
    let note = note.ok_or_else(|| FieldError::new("note", "is missing: say what you found"))?;
    let (name, bytes) =
        photo.ok_or_else(|| FieldError::new("photo", "is missing: take a photo on the spot"))?;
    if name.as_deref().is_some_and(|n| n.contains('\0')) {
        return Err(
            FieldError::new("photo.name", "must not contain the NUL character (U+0000)").into(),
        );
    }
    let media_type = minhu_engine::attachments::check(&bytes, name.as_deref())
        .map_err(|e| FieldError::new(format!("photo.{}", e.field), e.problem))?;
    if !media_type.starts_with("image/") {
        return Err(FieldError::new("photo", format!("is {media_type}; send a photo")).into());
    }
    let photo = state.attachments.put(&bytes, name).await?;
    let command = Command::ReportCheck { task, note, photo };
    let ticket = state
        .engine
        .act_within(&principal.scope, &number, command, principal.actor.clone())
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
pub(super) async fn get_attachment(
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
pub(super) async fn routing_suggestion(
    State(state): State<AppState>,
    Path(number): Path<String>,
) -> Result<Json<Decision>, ApiError> {
    let ticket = state.engine.ticket(&ticket_number(&number)?).await?;
    Ok(Json(
        state
            .engine
            .router()
            .decide(&ticket, state.engine.city_of(&ticket)),
    ))
}

/// Open tickets of the same street and three days that read like this one: candidates
/// for merging (并单), most alike first.
#[utoipa::path(
    get, path = "/api/v1/tickets/{number}/duplicates",
    params(("number" = String, Path)),
    responses((status = 200, description = "number, title, status, created_at and similarity (0..1) of each candidate"), (status = 404, body = ErrorBody))
)]
pub(super) async fn duplicate_candidates(
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
