//! The phone line: the call centre's CTI tells minhu of a call ringing for an agent
//! (`POST /channels/phone`, signed as notify's webhooks are, under `MINHU_CTI_SECRET`),
//! and that agent's console hears of it at once through server-sent events
//! (`GET /console/calls`) with the caller's earlier tickets. The caller's phone never
//! appears in a URL: the console opens the call as `/console?call=<call id>`, renders
//! the phone into the form, and the ticket filed from it keeps the call id and the
//! recording's reference (`external_ref`: `cti:<call id>` and ` rec:<reference>`).
//!
//! Calls are kept in memory for an hour: a restart forgets the calls ringing then,
//! which only means the agent types the phone.

use super::signed_webhook;
use crate::AppState;
use crate::api::audit::{self, Client};
use crate::middleware::auth::Principal;
use crate::middleware::error::ApiError;
use crate::pages::ui::{Lang, Words};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use minhu_core::access::{Permission, mask_phone};
use minhu_engine::records::Identity;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::broadcast;

/// The environment variable holding the secret shared with the CTI.
pub const SECRET_VAR: &str = "MINHU_CTI_SECRET";
/// How long a call is remembered.
const CALL_MINUTES: i64 = 60;
/// The longest call id and recording reference (the ticket's `external_ref` holds both).
const MAX_CALL_ID: usize = 40;
const MAX_RECORDING: usize = 50;
/// How many earlier tickets the console shows with a call.
const HISTORY: u32 = 5;

/// A call the CTI reported.
#[derive(Clone, Debug)]
pub struct Call {
    pub id: String,
    pub caller: String,
    /// The login of the agent it rings for.
    pub agent: String,
    pub recording: Option<String>,
    pub at: Timestamp,
}

impl Call {
    /// What the ticket keeps of the call.
    pub fn reference(&self) -> String {
        match &self.recording {
            Some(recording) => format!("cti:{} rec:{recording}", self.id),
            None => format!("cti:{}", self.id),
        }
    }
}

/// The connected CTI: its secret, the calls of the last hour, and the ringing calls'
/// broadcast to the consoles.
pub struct Line {
    secret: String,
    calls: Mutex<HashMap<String, Call>>,
    rings: broadcast::Sender<Call>,
}

impl Line {
    pub fn new(secret: &str) -> Result<Line, String> {
        let secret = secret.trim();
        if secret.len() < 16 {
            return Err(format!(
                "{SECRET_VAR}: use a secret of at least 16 characters"
            ));
        }
        Ok(Line {
            secret: secret.to_owned(),
            calls: Mutex::default(),
            rings: broadcast::channel(256).0,
        })
    }

    /// The call `id` if it rang for `agent` within the hour.
    pub fn call_for(&self, id: &str, agent: &str, now: Timestamp) -> Option<Call> {
        let calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        calls
            .get(id)
            .filter(|c| c.agent == agent && fresh(c, now))
            .cloned()
    }

    fn keep(&self, call: Call, now: Timestamp) {
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        calls.retain(|_, c| fresh(c, now));
        calls.insert(call.id.clone(), call);
    }
}

fn fresh(call: &Call, now: Timestamp) -> bool {
    now.duration_since(call.at).as_secs() < CALL_MINUTES * 60
}

fn line(state: &AppState) -> Result<&Line, ApiError> {
    super::connected(&state.channels.phone, "a CTI")
}

/// What the CTI reports.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CtiEvent {
    call_id: String,
    event: CtiKind,
    #[serde(default)]
    caller: Option<String>,
    #[serde(default)]
    agent: Option<String>,
    /// The recording's reference (its file or id in the CTI), when known.
    #[serde(default)]
    recording: Option<String>,
}

#[derive(Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
enum CtiKind {
    /// The call is offered to `agent`.
    Ringing,
    /// The call ended; `recording` names its recording.
    Ended,
}

fn field(name: &str, problem: &str) -> ApiError {
    ApiError::malformed(Some(name.into()), format!("{name}: {problem}"))
}

/// A call event from the CTI.
pub(super) async fn cti(
    State(state): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let line = line(&state)?;
    if !signed_webhook(&line.secret, &headers, &body) {
        let what = "X-Minhu-Signature: does not match the body under the CTI's secret";
        audit::record(
            &state,
            "channel:phone".into(),
            "channel.refused",
            None,
            what,
            client,
        )
        .await?;
        return Err(ApiError::bad_signature(what));
    }
    let event: CtiEvent = serde_json::from_slice(&body)
        .map_err(|e| ApiError::malformed(None, format!("the call event: {e}")))?;
    let id = event.call_id.trim();
    if id.is_empty() || id.len() > MAX_CALL_ID || !id.chars().all(|c| c.is_ascii_graphic()) {
        return Err(field("call_id", "1-40 visible ASCII characters"));
    }
    let recording = event
        .recording
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    if recording
        .as_ref()
        .is_some_and(|r| r.len() > MAX_RECORDING || !r.chars().all(|c| c.is_ascii_graphic()))
    {
        return Err(field("recording", "at most 50 visible ASCII characters"));
    }
    let now = state.engine.now();
    let call = match event.event {
        CtiKind::Ringing => {
            let caller: String = event
                .caller
                .as_deref()
                .unwrap_or_default()
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            if !(7..=20).contains(&caller.len()) {
                return Err(field("caller", "the caller's number, 7-20 digits"));
            }
            let agent = event.agent.unwrap_or_default();
            if agent.trim().is_empty() {
                return Err(field("agent", "the login of the agent the call rings for"));
            }
            Call {
                id: id.to_owned(),
                caller,
                agent: agent.trim().to_owned(),
                recording,
                at: now,
            }
        }
        CtiKind::Ended => {
            let known = line
                .calls
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(id)
                .cloned();
            let Some(mut call) = known else {
                return Err(ApiError::not_found(format!(
                    "no call {id} rang in the last hour"
                )));
            };
            call.recording = recording.or(call.recording);
            call
        }
    };
    let detail = format!(
        "call {} {} for {}",
        call.id,
        if event.event == CtiKind::Ringing {
            "ringing"
        } else {
            "ended"
        },
        call.agent
    );
    audit::record(
        &state,
        "channel:phone".into(),
        "call.report",
        None,
        &detail,
        client,
    )
    .await?;
    if event.event == CtiKind::Ringing {
        // Nobody listening (no console open) is no error: the call waits an hour.
        let _ = line.rings.send(call.clone());
    }
    line.keep(call, now);
    Ok(Json(json!({"call_id": id})).into_response())
}

/// One of the caller's earlier tickets, as the console lists it.
#[derive(Serialize)]
pub(crate) struct Earlier {
    pub number: String,
    pub title: String,
    pub status: String,
    pub created: String,
}

/// The latest demands of `start` and the identities linked to it, as the console and
/// the ticket page list them.
pub(crate) async fn earlier(
    state: &AppState,
    principal: &Principal,
    lang: Lang,
    start: Identity,
    limit: u32,
) -> Result<Vec<Earlier>, ApiError> {
    let words = Words::new(state.engine.city().clone(), lang);
    let tickets = super::identity::history(state, principal, start, limit).await?;
    Ok(tickets
        .iter()
        .map(|t| Earlier {
            number: t.number.to_string(),
            title: t.intake.title.clone(),
            status: words.label(t.status).to_owned(),
            created: words.time(t.created_at),
        })
        .collect())
}

/// The caller as `principal` may see them, and their latest tickets within its scope.
pub(crate) async fn caller_view(
    state: &AppState,
    principal: &Principal,
    lang: Lang,
    caller: &str,
) -> Result<(String, Vec<Earlier>), ApiError> {
    // The caller's own demands and those of the WeChat account and e-mail address
    // they linked to this phone.
    let start = Identity {
        kind: super::identity::PHONE.to_owned(),
        value: caller.to_owned(),
    };
    let history = earlier(state, principal, lang, start, HISTORY).await?;
    let shown = if principal.may(Permission::ViewIdentity) {
        caller.to_owned()
    } else {
        mask_phone(caller)
    };
    Ok((shown, history))
}

/// The agent's calls as they ring: a `call` event each, with the caller (as the agent
/// may see them) and their latest tickets.
pub(crate) async fn calls(
    State(state): State<AppState>,
    lang: Lang,
    principal: Principal,
) -> Result<Response, ApiError> {
    let rings = line(&state)?.rings.subscribe();
    let login = principal
        .actor
        .as_str()
        .strip_prefix("user:")
        .unwrap_or_default()
        .to_owned();
    let stream = futures_util::stream::unfold(
        (rings, state, principal, login),
        move |(mut rings, state, principal, login)| async move {
            loop {
                let call = match rings.recv().await {
                    Ok(call) => call,
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                };
                if call.agent != login {
                    continue;
                }
                let data = match caller_view(&state, &principal, lang, &call.caller).await {
                    Ok((caller, history)) => {
                        json!({"call_id": call.id, "caller": caller, "history": history})
                    }
                    Err(error) => {
                        tracing::warn!(message = error.message(), "a call's history was not read");
                        json!({"call_id": call.id, "caller": mask_phone(&call.caller), "history": []})
                    }
                };
                let event = SseEvent::default().event("call").data(data.to_string());
                return Some((
                    Ok::<_, std::convert::Infallible>(event),
                    (rings, state, principal, login),
                ));
            }
        },
    );
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}
