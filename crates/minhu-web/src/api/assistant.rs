//! `POST /api/v1/assistant`: the citizens' smart Q&A (智能客服). The client keeps the
//! conversation and sends it whole each turn (nothing is stored until a hand-over);
//! the reply answers from the knowledge base with its source, or says it is not sure
//! (thresholds in [`minhu_kb::assistant`]). With `handover`, the conversation becomes a
//! consultation ticket whose description is the transcript; the citizen gets the
//! ticket number and follows it like a portal report. A retried hand-over of the same
//! conversation returns the same ticket (the conversation id is the idempotency key).

use crate::AppState;
use crate::api::audit::Client;
use crate::api::kb::{ArticleView, question};
use crate::middleware::auth::Rule;
use crate::middleware::error::ApiError;
use crate::middleware::extract::JsonBody;
use crate::routes::Routes;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minhu_core::event::Actor;
use minhu_core::ticket::{Channel, Citizen, Intake, Kind};
use minhu_core::workflow::FieldError;
use minhu_kb::assistant::{self, Certainty, Message, Speaker};
use serde::{Deserialize, Serialize};
use utoipa_axum::routes;

/// The assistant answers anyone; a hand-over opens a ticket as the portal's anonymous
/// report does.
pub(crate) fn routes() -> Routes {
    Routes::new().api(Rule::Public, routes!(ask))
}

/// Most messages one conversation may hold.
const MAX_MESSAGES: usize = 40;

/// A turn of the conversation.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssistantRequest {
    /// The conversation's id as the server gave it; absent on the first turn.
    #[serde(default)]
    conversation: Option<String>,
    /// `zh` (default, also `zh-CN`) or `en`: the language of the assistant's words.
    #[serde(default)]
    lang: Option<String>,
    /// Everything said so far, oldest first; the last is the citizen's.
    messages: Vec<Message>,
    /// Hand the conversation over to a person: a ticket is opened.
    #[serde(default)]
    handover: Option<Handover>,
}

/// Who the citizen is, for the ticket (all optional: without a phone the ticket cannot
/// be followed online).
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Handover {
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    address: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AssistantReply {
    conversation: String,
    /// What the assistant says.
    text: String,
    /// `sure`, `unsure` or `no_answer`.
    certainty: Certainty,
    /// 0 to 1 (see the module's thresholds).
    confidence: f32,
    /// The article the answer comes from (shown as its source).
    source: Option<ArticleView>,
    /// Other articles that may help.
    related: Vec<ArticleView>,
    /// The question's words found in the source.
    matched: Vec<String>,
    /// After a hand-over: the ticket opened for the conversation.
    ticket: Option<HandedOver>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct HandedOver {
    number: String,
    /// Where the citizen follows it (ticket number and phone, then a one-time code).
    follow_url: String,
}

/// Ask the assistant, or hand the conversation over to a person.
#[utoipa::path(
    post, path = "/api/v1/assistant", request_body = AssistantRequest,
    responses(
        (status = 200, description = "the assistant's reply", body = AssistantReply),
        (status = 201, description = "handed over: a ticket was opened", body = AssistantReply),
        (status = 422, description = "a field is invalid", body = crate::middleware::error::ErrorBody),
    )
)]
async fn ask(
    State(state): State<AppState>,
    Client(client): Client,
    JsonBody(body): JsonBody<AssistantRequest>,
) -> Result<Response, ApiError> {
    // A language tag: `zh`, `zh-CN`, `en`, `en-GB` ...
    let english = match body.lang.as_deref() {
        None => false,
        Some(tag) if tag.starts_with("zh") => false,
        Some(tag) if tag.starts_with("en") => true,
        Some(other) => {
            return Err(FieldError::new("lang", format!("{other:?} is not zh or en")).into());
        }
    };
    check_messages(&body.messages)?;
    let conversation = match body.conversation {
        Some(id) => {
            minhu_kb::article::check_id(&id)
                .map_err(|_| FieldError::new("conversation", "is not an id this server gave"))?;
            id
        }
        // Letters only: the id is quoted in the hand-over's transcript, where a run of
        // hex digits could read as a phone number to the personal-data detector and be
        // starred (96 random bits either way).
        None => format!(
            "c-{}",
            (0..21)
                .map(|_| char::from(b'a' + rand::random_range(0..26u8)))
                .collect::<String>()
        ),
    };
    let engine = &state.engine;
    if let Some(handover) = body.handover {
        let number = hand_over(&state, &conversation, &body.messages, handover, client).await?;
        let text = if english {
            format!(
                "A person will take it from here. Your ticket number is {number}; follow it \
                 with the number and your phone."
            )
        } else {
            format!("已转人工，工单号 {number}。凭工单号和手机号可随时查询办理进度。")
        };
        let reply = AssistantReply {
            conversation,
            text,
            certainty: Certainty::NoAnswer,
            confidence: 0.0,
            source: None,
            related: Vec::new(),
            matched: Vec::new(),
            ticket: Some(HandedOver {
                follow_url: format!("/track?number={number}"),
                number,
            }),
        };
        return Ok((StatusCode::CREATED, Json(reply)).into_response());
    }
    let index = engine.kb().index().await?;
    let reply = assistant::reply(&index, &body.messages, engine.today())?;
    Ok(Json(AssistantReply {
        conversation,
        text: assistant::wording(&reply, english),
        certainty: reply.certainty,
        confidence: (reply.confidence * 100.0).round() / 100.0,
        source: reply.source.as_ref().map(ArticleView::from),
        related: reply.related.iter().map(ArticleView::from).collect(),
        matched: reply.matched,
        ticket: None,
    })
    .into_response())
}

fn check_messages(messages: &[Message]) -> Result<(), FieldError> {
    if messages.len() > MAX_MESSAGES {
        return Err(FieldError::new(
            "messages",
            format!("at most {MAX_MESSAGES} messages"),
        ));
    }
    for (i, message) in messages.iter().enumerate() {
        question(message.text.trim(), &format!("messages[{i}].text"))?;
    }
    match messages.last() {
        Some(last) if last.from == Speaker::Citizen => Ok(()),
        Some(_) => Err(FieldError::new(
            "messages",
            "the last message must be the citizen's",
        )),
        None => Err(FieldError::new("messages", "must not be empty")),
    }
}

/// Opens the consultation ticket holding the conversation; the same conversation
/// handed over again finds the ticket opened the first time.
async fn hand_over(
    state: &AppState,
    conversation: &str,
    messages: &[Message],
    handover: Handover,
    client: Option<String>,
) -> Result<String, ApiError> {
    let engine = &state.engine;
    let first = messages
        .iter()
        .find(|m| m.from == Speaker::Citizen)
        .map_or("", |m| m.text.trim());
    let mut title: String = first.chars().take(60).collect();
    if first.chars().count() > 60 {
        title.push('…');
    }
    let given = |v: Option<String>| v.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
    let phone =
        given(handover.phone).map(|p| p.chars().filter(|c| !matches!(c, ' ' | '-')).collect());
    let intake = Intake {
        channel: Channel::Web,
        kind: Kind::Consultation,
        title,
        description: assistant::transcript(conversation, messages),
        address: given(handover.address),
        location: None,
        citizen: Citizen {
            anonymous: phone.is_none(),
            phone,
            name: given(handover.name),
            ..Citizen::default()
        },
        category: None,
        region: None,
        tier: engine.city().default_tier.clone(),
        external_ref: Some(format!("assistant:{conversation}")),
        city: None,
    };
    let key = format!("assistant:{conversation}");
    let audit = crate::api::audit::creation(state, "anonymous".into(), Channel::Web, client);
    let created = engine
        .intake_audited(intake, Actor::citizen(), Some(key), Some(audit))
        .await
        .map_err(|e| match e {
            // The conversation id names the ticket: a different transcript under it is
            // a client error, not a server one.
            minhu_engine::EngineError::IdempotencyMismatch => ApiError::conflict(
                "conversation",
                "this conversation was already handed over with other messages",
            ),
            other => other.into(),
        })?;
    Ok(created.ticket.number.to_string())
}
