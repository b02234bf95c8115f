//! The SMS uplink (上行短信): citizens' texts to the hotline's SMS number, as the
//! gateway reports them, become demands or follow-ups (`conversation`), and a "1", "2"
//! or "3" answering the reply's SMS ("回复1满意，2基本满意，3不满意") rates the citizen's
//! latest answered demand.
//!
//! Three shapes, one secret (`MINHU_SMS_SECRET`):
//! - `POST /channels/sms`: a generic JSON message `{"id", "from", "text"}`, signed as
//!   minhu-notify's webhooks are (`X-Minhu-Signature: sha256=<HMAC-SHA256 of the body>`);
//!   answered with the ticket and the text to send back.
//! - `POST /channels/sms/aliyun`: Aliyun SMS's uplink push (SmsUp, HTTP batch push: a
//!   JSON array of `phone_number`, `content`, `send_time`, `sign_name`, `dest_code`,
//!   `sequence_id`), answered `{"code":0,"msg":"接收成功"}`.
//! - `POST /channels/sms/tencent`: Tencent Cloud SMS's reply callback (`mobile`,
//!   `nationcode`, `text`, `sign`, `time`, `extend`), answered `{"result":0,"errmsg":"OK"}`.
//!
//! Neither cloud signs its callbacks, so their URL carries the secret (`?key=...`,
//! compared in constant time), or the request the notify-style signature. The answers
//! to the citizen go out through the city's SMS channel (`CodeSender::send_text`).

use super::conversation::{self, Message, Outcome, Part};
use super::{public_base, signed_webhook, verify};
use crate::AppState;
use crate::api::audit::{self, Client};
use crate::middleware::error::ApiError;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use minhu_core::event::Actor;
use minhu_core::ids::TicketNumber;
use minhu_core::ticket::{Channel, Citizen, Rating, Satisfaction, Status};
use minhu_core::workflow::Command;
use minhu_engine::records::TicketFilter;
use serde::Deserialize;
use serde_json::json;
use sha2::Digest;

/// The environment variable holding the secret shared with the SMS gateway.
pub const SECRET_VAR: &str = "MINHU_SMS_SECRET";

/// The connected gateway: its shared secret.
pub struct Gateway {
    secret: String,
}

impl Gateway {
    pub fn new(secret: &str) -> Result<Gateway, String> {
        let secret = secret.trim();
        if secret.len() < 16 {
            return Err(format!(
                "{SECRET_VAR}: use a secret of at least 16 characters"
            ));
        }
        Ok(Gateway {
            secret: secret.to_owned(),
        })
    }
}

fn gateway(state: &AppState) -> Result<&Gateway, ApiError> {
    super::connected(&state.channels.sms, "an SMS gateway")
}

/// Checks the caller of the city's gateway: the notify-style signature, or the secret
/// in the URL (`key`).
async fn check(
    state: &AppState,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    client: Option<String>,
) -> Result<(), ApiError> {
    let gateway = gateway(state)?;
    let key: Option<String> =
        serde_urlencoded::from_str::<Vec<(String, String)>>(query.unwrap_or_default())
            .ok()
            .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "key").map(|(_, v)| v));
    let by_key = key.is_some_and(|k| verify(&k, &gateway.secret));
    if by_key || signed_webhook(&gateway.secret, headers, body) {
        return Ok(());
    }
    let what = "X-Minhu-Signature: neither the body's signature nor the URL's key holds";
    audit::record(
        state,
        "channel:sms".into(),
        "channel.refused",
        None,
        what,
        client,
    )
    .await?;
    Err(ApiError::bad_signature(what))
}

fn json_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, ApiError> {
    let mut reader = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut reader).map_err(|e| {
        let field = e.path().to_string();
        ApiError::malformed(Some(field.clone()), format!("{field}: {}", e.inner()))
    })
}

/// A mainland mobile as the tickets keep it: 11 digits, without `+86`.
fn mobile(raw: &str) -> Result<String, ApiError> {
    super::identity::mainland_mobile(raw).ok_or_else(|| {
        ApiError::malformed(
            Some("from".into()),
            format!("{raw:?} is not a mainland mobile number"),
        )
    })
}

/// One SMS: a rating, or a message of the conversation. The answer is sent back.
async fn take(
    state: &AppState,
    headers: &HeaderMap,
    id: String,
    phone: String,
    text: String,
    client: Option<String>,
) -> Result<Outcome, ApiError> {
    let outcome = match rating_of(&text) {
        Some(rating) => match rate(state, &phone, &id, rating).await? {
            Some(outcome) => outcome,
            None => converse(state, id, &phone, text, client).await?,
        },
        None => converse(state, id, &phone, text, client).await?,
    };
    let answer = outcome.words(&public_base(&state.channels, headers));
    state.codes.send_text(&phone, &answer);
    Ok(outcome)
}

async fn converse(
    state: &AppState,
    id: String,
    phone: &str,
    text: String,
    client: Option<String>,
) -> Result<Outcome, ApiError> {
    let citizen = Citizen {
        phone: Some(phone.to_owned()),
        ..Citizen::default()
    };
    let message = Message {
        id,
        part: Part::Text { text },
    };
    conversation::receive(state, Channel::Sms, phone, citizen, message, client).await
}

/// The rating a bare "1", "2" or "3" gives.
fn rating_of(text: &str) -> Option<Rating> {
    let (solved, satisfaction) = match text.trim() {
        "1" => (true, Satisfaction::Satisfied),
        "2" => (true, Satisfaction::Basically),
        "3" => (false, Satisfaction::Unsatisfied),
        _ => return None,
    };
    Some(Rating {
        solved,
        satisfaction,
    })
}

/// Rates the phone's latest answered, unrated demand; `None` when there is none, or
/// the contact is answering a "new or existing?" question (their 1 or 2 is that).
async fn rate(
    state: &AppState,
    phone: &str,
    id: &str,
    rating: Rating,
) -> Result<Option<Outcome>, ApiError> {
    let asked = state
        .engine
        .channels()
        .thread(Channel::Sms.code(), phone)
        .await?
        .is_some_and(|t| t.pending.is_some());
    if asked {
        return Ok(None);
    }
    let filter = TicketFilter {
        phone: Some(phone.to_owned()),
        status: Some(Status::Resolved),
        identity: true,
        limit: 20,
        ..TicketFilter::default()
    };
    let page = state.engine.list(&filter).await?;
    let Some(ticket) = page.tickets.into_iter().find(|t| t.rating.is_none()) else {
        return Ok(None);
    };
    if !state
        .engine
        .channels()
        .claim(Channel::Sms.code(), id)
        .await?
    {
        return Ok(Some(Outcome::Repeated(Some(ticket.number))));
    }
    let number: TicketNumber = ticket.number.clone();
    state
        .engine
        .act(&number, Command::Rate(rating), Actor::citizen())
        .await?;
    Ok(Some(Outcome::Rated(number)))
}

/// The generic gateway's message.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GenericSms {
    /// The gateway's id for the message (its retries repeat it).
    id: String,
    from: String,
    text: String,
}

/// An SMS from a generic gateway (signed JSON).
pub(super) async fn generic(
    State(state): State<AppState>,
    Client(client): Client,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    check(&state, query.as_deref(), &headers, &body, client.clone()).await?;
    let sms: GenericSms = json_body(&body)?;
    if sms.id.trim().is_empty() || sms.id.len() > 128 {
        return Err(ApiError::malformed(
            Some("id".into()),
            "id: the gateway's message id, 1-128 characters",
        ));
    }
    let phone = mobile(&sms.from)?;
    let outcome = take(
        &state,
        &headers,
        format!("sms:{}", sms.id),
        phone,
        sms.text,
        client,
    )
    .await?;
    let ticket = match &outcome {
        Outcome::Created(ticket) => Some(ticket.number.to_string()),
        Outcome::Added(n) | Outcome::Rated(n) | Outcome::Asked { open: n, .. } => {
            Some(n.to_string())
        }
        Outcome::Repeated(n) => n.as_ref().map(ToString::to_string),
        Outcome::NeedWords | Outcome::Refused(_) | Outcome::Told(_) => None,
    };
    let answer = outcome.words(&public_base(&state.channels, &headers));
    Ok(Json(json!({"ticket": ticket, "answer": answer})).into_response())
}

/// One uplink SMS as Aliyun pushes it (SmsUp).
#[derive(Deserialize)]
struct AliyunSms {
    phone_number: String,
    content: String,
    #[serde(default)]
    sequence_id: Option<serde_json::Value>,
    #[serde(default)]
    send_time: Option<String>,
}

/// Aliyun SMS's uplink push: a batch of SMS.
pub(super) async fn aliyun(
    State(state): State<AppState>,
    Client(client): Client,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    check(&state, query.as_deref(), &headers, &body, client.clone()).await?;
    let batch: Vec<AliyunSms> = json_body(&body)?;
    for sms in batch {
        let phone = mobile(&sms.phone_number)?;
        let id = match &sms.sequence_id {
            Some(serde_json::Value::Number(n)) => n.to_string(),
            Some(serde_json::Value::String(s)) if !s.is_empty() => s.clone(),
            _ => format!("{phone}:{}", sms.send_time.as_deref().unwrap_or_default()),
        };
        take(
            &state,
            &headers,
            format!("aliyun:{id}"),
            phone,
            sms.content,
            client.clone(),
        )
        .await?;
    }
    Ok(Json(json!({"code": 0, "msg": "接收成功"})).into_response())
}

/// A reply SMS as Tencent Cloud calls back with it.
#[derive(Deserialize)]
struct TencentSms {
    mobile: String,
    #[serde(default)]
    nationcode: Option<String>,
    text: String,
    time: i64,
}

/// Tencent Cloud SMS's reply callback.
pub(super) async fn tencent(
    State(state): State<AppState>,
    Client(client): Client,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    check(&state, query.as_deref(), &headers, &body, client.clone()).await?;
    let sms: TencentSms = json_body(&body)?;
    if sms.nationcode.as_deref().is_some_and(|c| c != "86") {
        return Err(ApiError::malformed(
            Some("nationcode".into()),
            "only mainland numbers (86) are taken",
        ));
    }
    let phone = mobile(&sms.mobile)?;
    // Tencent sends no id: the sender, the second and the text name a message.
    let digest = hex::encode(&sha2::Sha256::digest(sms.text.as_bytes())[..8]);
    let id = format!("tencent:{phone}:{}:{digest}", sms.time);
    take(&state, &headers, id, phone, sms.text, client).await?;
    Ok(Json(json!({"result": 0, "errmsg": "OK"})).into_response())
}
