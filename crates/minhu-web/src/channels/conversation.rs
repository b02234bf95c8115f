//! What a channel's message means for the citizen's demands, whatever the channel: a
//! new demand, a follow-up to the one they are waiting on, or a question back ("new or
//! existing?", "what is it about?"). The adapters (WeChat, SMS, e-mail) read their
//! protocol into a [`Message`] and word the [`Outcome`] in their own format.
//!
//! Each contact (an OpenID, a phone, an address) has a thread in the store: the demand
//! its messages go to and the messages held while the citizen answers a question.
//! Every message is claimed by its platform id before anything is done, so a
//! platform's retries never file or add twice; a new demand also carries the intake
//! idempotency key `<channel>:<message id>`.

use crate::AppState;
use crate::api::audit;
use crate::middleware::error::ApiError;
use minhu_core::event::Actor;
use minhu_core::ids::TicketNumber;
use minhu_core::ticket::{Channel, Citizen, GeoPoint, Intake, Kind, Status, Ticket};
use minhu_core::workflow::Command;
use minhu_engine::EngineError;
use serde::{Deserialize, Serialize};

/// Messages this close to the last one go to the same demand without asking (a photo
/// or the place sent right after the words).
const CONVERSATION_MINUTES: i64 = 10;
/// The longest title taken from a message's first line.
const TITLE_CHARS: usize = 30;

/// One piece of what a citizen sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "part", rename_all = "snake_case")]
pub(crate) enum Part {
    Text {
        text: String,
    },
    /// A photo, where the platform keeps it.
    Photo {
        url: String,
    },
    Place {
        lat: f64,
        lon: f64,
        #[serde(default)]
        label: Option<String>,
    },
}

impl Part {
    /// The part as a line of a demand's text.
    fn line(&self) -> String {
        match self {
            Part::Text { text } => text.trim().to_owned(),
            Part::Photo { url } => format!("图片 Photo: {url}"),
            Part::Place { lat, lon, label } => match label {
                Some(label) => format!("位置 Place: {label} ({lat:.6}, {lon:.6})"),
                None => format!("位置 Place: ({lat:.6}, {lon:.6})"),
            },
        }
    }

    fn text(&self) -> Option<&str> {
        match self {
            Part::Text { text } => Some(text.trim()),
            _ => None,
        }
    }
}

/// A message from a contact: the platform's id for it and what it holds.
pub(crate) struct Message {
    pub id: String,
    pub part: Part,
}

/// What became of a message.
pub(crate) enum Outcome {
    /// A new demand (boxed: a ticket is far larger than the other outcomes).
    Created(Box<Ticket>),
    /// Added to the demand the contact is waiting on.
    Added(TicketNumber),
    /// Held: the contact has a demand open and is asked whether this is new.
    Asked { open: TicketNumber, title: String },
    /// Held: a photo or a place without words; the contact is asked what it is about.
    NeedWords,
    /// A retry of a message already handled; the thread's demand, if any.
    Repeated(Option<TicketNumber>),
    /// The citizen's rating of a reply (an SMS's 1, 2 or 3).
    Rated(TicketNumber),
    /// The demand could not be taken (the field and problem, for the citizen).
    Refused(String),
    /// An answer about something else than a demand (linking identities).
    Told(String),
}

impl Outcome {
    /// What to tell the citizen, in Chinese then English; `base` is where tracking
    /// links point.
    pub(crate) fn words(&self, base: &str) -> String {
        let link = |number: &dyn std::fmt::Display| format!("{base}/track?number={number}");
        match self {
            Outcome::Created(ticket) => format!(
                "您的诉求已受理，工单号 {n}。查询进度：{l}\nReceived: ticket {n}. Follow it at {l}",
                n = ticket.number,
                l = link(&ticket.number)
            ),
            Outcome::Added(number) => format!(
                "已补充到您的诉求 {number}。查询进度：{l}\nAdded to your ticket {number}.",
                l = link(number)
            ),
            Outcome::Asked { open, title } => format!(
                "您有正在办理的诉求 {open}（{title}）。回复 1 补充到该诉求，回复 2 作为新诉求提交。\n\
             Your ticket {open} is open. Reply 1 to add this to it, 2 to file it as a new demand."
            ),
            Outcome::NeedWords => "已收到。请用文字说明您要反映的问题。\n\
                               Received. Please tell us in words what it is about."
                .to_owned(),
            Outcome::Repeated(Some(number)) => format!(
                "已收到，工单号 {number}。查询进度：{l}\nReceived: ticket {number}.",
                l = link(number)
            ),
            Outcome::Repeated(None) => "已收到，正在处理。\nReceived.".to_owned(),
            Outcome::Rated(number) => {
                format!("感谢您对工单 {number} 的评价。\nThank you for rating ticket {number}.")
            }
            Outcome::Refused(problem) => {
                format!("未能受理：{problem}\nThe demand could not be taken: {problem}")
            }
            Outcome::Told(text) => text.clone(),
        }
    }
}

/// The demand a contact's thread points at, while it is still being handled.
async fn open_demand(state: &AppState, number: Option<&str>) -> Result<Option<Ticket>, ApiError> {
    let Some(number) = number.and_then(|n| TicketNumber::parse(n).ok()) else {
        return Ok(None);
    };
    match state.engine.ticket(&number).await {
        Ok(ticket) if !matches!(ticket.status, Status::Resolved | Status::Closed) => {
            Ok(Some(ticket))
        }
        Ok(_) | Err(EngineError::NotFound(_)) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// Takes one message from `contact` on `channel`. `citizen` is what the channel knows
/// of them (an SMS sender's phone, an e-mail address; nothing for an OpenID).
pub(crate) async fn receive(
    state: &AppState,
    channel: Channel,
    contact: &str,
    citizen: Citizen,
    message: Message,
    client: Option<String>,
) -> Result<Outcome, ApiError> {
    let code = channel.code();
    let threads = state.engine.channels();
    let thread = threads.thread(code, contact).await?;
    if !threads.claim(code, &message.id).await? {
        return Ok(Outcome::Repeated(
            thread
                .and_then(|t| t.ticket)
                .and_then(|n| TicketNumber::parse(&n).ok()),
        ));
    }
    if let Some(outcome) = super::identity::handle(state, channel, contact, &message.part).await? {
        return Ok(outcome);
    }
    let mut held: Vec<Part> = thread
        .as_ref()
        .and_then(|t| t.pending.as_deref())
        .and_then(|p| serde_json::from_str(p).ok())
        .unwrap_or_default();
    let open = open_demand(state, thread.as_ref().and_then(|t| t.ticket.as_deref())).await?;
    let recent = thread.as_ref().is_some_and(|t| {
        state.engine.now().duration_since(t.updated_at).as_secs() < CONVERSATION_MINUTES * 60
    });
    let answer = message.part.text().filter(|_| !held.is_empty());
    match (open, answer) {
        // "1": the held messages belong to the demand they are waiting on.
        (Some(ticket), Some("1")) => {
            add(state, channel, &ticket.number, &held).await?;
            threads
                .put(code, contact, Some(ticket.number.to_string()), None)
                .await?;
            Ok(Outcome::Added(ticket.number))
        }
        // "2": they are a new demand.
        (_, Some("2")) => create(state, channel, contact, citizen, &message.id, held, client).await,
        (Some(ticket), _) if held.is_empty() && recent => {
            add(
                state,
                channel,
                &ticket.number,
                std::slice::from_ref(&message.part),
            )
            .await?;
            threads
                .put(code, contact, Some(ticket.number.to_string()), None)
                .await?;
            Ok(Outcome::Added(ticket.number))
        }
        (Some(ticket), _) => {
            held.push(message.part);
            let pending = serde_json::to_string(&held).map_err(ApiError::internal)?;
            threads
                .put(
                    code,
                    contact,
                    Some(ticket.number.to_string()),
                    Some(pending),
                )
                .await?;
            Ok(Outcome::Asked {
                open: ticket.number,
                title: ticket.intake.title,
            })
        }
        (None, _) => {
            let words = message.part.text().is_some();
            held.push(message.part);
            if words {
                create(state, channel, contact, citizen, &message.id, held, client).await
            } else {
                let pending = serde_json::to_string(&held).map_err(ApiError::internal)?;
                let ticket = thread.and_then(|t| t.ticket);
                threads.put(code, contact, ticket, Some(pending)).await?;
                Ok(Outcome::NeedWords)
            }
        }
    }
}

/// Adds the parts to the demand as the citizen's follow-ups.
async fn add(
    state: &AppState,
    channel: Channel,
    number: &TicketNumber,
    parts: &[Part],
) -> Result<(), ApiError> {
    for part in parts {
        let command = Command::FollowUp {
            text: part.line(),
            channel: Some(channel),
        };
        state.engine.act(number, command, Actor::citizen()).await?;
    }
    Ok(())
}

/// Files the parts as one new demand.
pub(crate) async fn create(
    state: &AppState,
    channel: Channel,
    contact: &str,
    citizen: Citizen,
    message_id: &str,
    parts: Vec<Part>,
    client: Option<String>,
) -> Result<Outcome, ApiError> {
    let words: Vec<&str> = parts.iter().filter_map(Part::text).collect();
    let first = words
        .iter()
        .flat_map(|w| w.lines())
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let title = if first.is_empty() {
        format!("{}反映", channel.label_zh())
    } else if first.chars().count() > TITLE_CHARS {
        let cut: String = first.chars().take(TITLE_CHARS).collect();
        format!("{cut}…")
    } else {
        first.to_owned()
    };
    let description = parts
        .iter()
        .map(Part::line)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    let place = parts.iter().rev().find_map(|p| match p {
        Part::Place { lat, lon, label } => Some((
            GeoPoint {
                lat: *lat,
                lon: *lon,
            },
            label.clone(),
        )),
        _ => None,
    });
    let intake = Intake {
        channel,
        kind: Kind::Help,
        title,
        description,
        address: place.as_ref().and_then(|(_, label)| label.clone()),
        location: place.map(|(point, _)| point),
        citizen,
        category: None,
        region: None,
        tier: state.engine.city().default_tier.clone(),
        external_ref: None,
        city: None,
    };
    let actor = Actor::citizen();
    let audit = audit::creation(
        state,
        format!("channel:{}", channel.code()),
        channel,
        client,
    );
    let key = format!("{}:{message_id}", channel.code());
    let created = match state
        .engine
        .intake_audited(intake, actor, Some(key), Some(audit))
        .await
    {
        Ok(created) => created,
        Err(EngineError::Invalid(error)) => {
            return Ok(Outcome::Refused(format!(
                "{}: {}",
                error.field, error.problem
            )));
        }
        Err(error) => return Err(error.into()),
    };
    let threads = state.engine.channels();
    let number = created.ticket.number.to_string();
    threads
        .put(channel.code(), contact, Some(number.clone()), None)
        .await?;
    threads
        .record_ticket(channel.code(), contact, &number)
        .await?;
    Ok(Outcome::Created(Box::new(created.ticket)))
}
