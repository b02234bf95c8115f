//! Progress pushed to the citizen (and to integrations) at each step of a ticket.
//!
//! The engine asks [`Outbox`] (its `Announce` plug) what to tell about each change; the
//! answer goes to the store's outbox in the transaction of the event. A [`Notifier`]
//! claims due rows, renders them from the templates in [`templates`] and hands them to
//! the channel's adapter ([`channel`]): a signed webhook, e-mail over SMTP, an SMS
//! gateway over HTTP (TLS through rustls: [`tls`]), or the log. Alerts (surges, buck-passing warnings: the engine's
//! `alerts` watch) take the same path to the channels configured to carry them
//! (`alerts = true`), addressed to the people on duty (`alert_recipients`). Failures
//! are retried with exponential backoff until the channel's last attempt; each row is
//! delivered once (a worker that loses its claim does not record a second delivery,
//! and webhooks carry the row's id so a receiver can drop a repeat after a crash
//! between sending and recording).

pub mod channel;
pub mod config;
pub mod templates;
pub mod tls;

pub use channel::Channel;
pub use config::{ChannelKind, NotifyConfig, Official, OfficialRole, Retry, SmtpTls};
pub use templates::{Locale, Milestone};

use jiff::{SignedDuration, Timestamp};
use minhu_core::City;
use minhu_core::Clock;
use minhu_core::access::{IdentityView, redact_text};
use minhu_core::event::{Change, Event};
use minhu_core::ids::{RegionId, UnitId};
use minhu_core::ticket::Ticket;
use minhu_core::timer::EscalationTarget;
use minhu_engine::Announce;
use minhu_store::{About, Alert, Delivery, OutboxStore, Outgoing, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// A configuration mistake: the file, then the field and the problem.
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Delivery(String),
}

/// What an outbox row says, before the ticket's number is known to it (the store
/// numbers new tickets): rendered into text only when it is delivered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub milestone: Milestone,
    pub locale: Locale,
    /// The reply, for `resolved` and `case_replied`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
    /// The ticket's status after the event.
    pub status: String,
    pub at: Timestamp,
    /// The unit that holds the ticket, by name: for the officials' messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Who an escalated ticket went up to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalated_to: Option<EscalationTarget>,
    /// The new answer-by time on the city's clock, for `extended`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// The main case's number, for `merged`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
}

/// What an alert's outbox row says: its figures, with the place, unit and category
/// named as the city named them when it was raised.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertMessage {
    /// `surge` or `buck_passing`.
    pub kind: String,
    pub place: Option<String>,
    pub unit: Option<String>,
    pub category: Option<String>,
    /// A surge's count and its baseline; a unit's buck-passing index and the threshold.
    pub observed: f64,
    pub expected: f64,
    pub from: Timestamp,
    pub to: Timestamp,
    /// The start of the window in the city's time, as people on duty read it.
    pub since: String,
    pub locale: Locale,
}

/// The engine's plug: one outbox row per milestone event and channel that wants it,
/// addressed to the citizen (SMS, e-mail) or to the integration (webhook); and per new
/// alert, one row per channel carrying alerts and each of its alert recipients.
pub struct Outbox {
    config: Arc<NotifyConfig>,
    /// For the names of an alert's place, unit and category, and its local time.
    city: Arc<City>,
}

impl Outbox {
    pub fn new(config: Arc<NotifyConfig>, city: Arc<City>) -> Self {
        Self { config, city }
    }

    /// What a citizen's message names besides the step: the unit a ticket went to, the
    /// new answer-by time of an extension (on the city's clock), the main case of a merge.
    fn details(&self, change: &Change) -> (Option<String>, Option<String>, Option<String>) {
        let city = &self.city;
        match change {
            Change::Dispatched { unit, .. }
            | Change::Reassigned { unit, .. }
            | Change::Redispatched { unit, .. } => {
                let name = city.units.get(unit).map(|u| u.name.clone());
                (name, None, None)
            }
            Change::ExtensionDecided { resolve_by, .. } => {
                let until = resolve_by
                    .to_zoned(city.timezone.clone())
                    .strftime("%Y-%m-%d %H:%M")
                    .to_string();
                (None, Some(until), None)
            }
            Change::Merged { into, .. } => (None, None, Some(into.to_string())),
            _ => (None, None, None),
        }
    }

    fn alert_message(&self, alert: &Alert, locale: Locale) -> AlertMessage {
        let city = &self.city;
        let place = alert.region.as_ref().map(|id| {
            city.regions
                .get(&RegionId::new(id.as_str()))
                .map_or_else(|| id.clone(), |r| r.name.clone())
        });
        let unit = alert.unit.as_ref().map(|id| {
            city.units
                .get(&UnitId::new(id.as_str()))
                .map_or_else(|| id.clone(), |u| u.name.clone())
        });
        let since = alert
            .window_from
            .to_zoned(city.timezone.clone())
            .strftime("%Y-%m-%d %H:%M")
            .to_string();
        AlertMessage {
            kind: alert.kind.clone(),
            place,
            unit,
            category: alert.category.clone(),
            observed: alert.observed,
            expected: alert.expected,
            from: alert.window_from,
            to: alert.window_to,
            since,
            locale,
        }
    }
}

impl Outbox {
    /// The rows that tell the officials of an overdue or escalated ticket: an overdue
    /// ticket its unit's leaders and the supervisors of its place; an escalated one
    /// those it went up to; a long-term one whose review date came, the supervisors. One row per channel carrying officials and person (a
    /// webhook's receiver once).
    fn tell_officials(&self, ticket: &Ticket, event: &Event) -> Vec<Outgoing> {
        let (milestone, leaders, supervisors, escalated_to) = match &event.change {
            Change::Overdue { .. } => (Milestone::Overdue, true, true, None),
            Change::LongTermReviewDue { .. } => (Milestone::ReviewDue, false, true, None),
            Change::Escalated { to, .. } => (
                Milestone::Escalated,
                *to == EscalationTarget::UnitLeader,
                *to == EscalationTarget::Supervisor,
                Some(*to),
            ),
            _ => return Vec::new(),
        };
        let city = &self.city;
        let told: Vec<&Official> =
            self.config
                .officials
                .iter()
                .filter(|o| match o.role {
                    OfficialRole::UnitLeader => {
                        leaders
                            && o.unit.as_deref().is_some_and(|unit| {
                                ticket.unit.as_ref().is_some_and(|u| u.as_str() == unit)
                            })
                    }
                    OfficialRole::Supervisor => {
                        supervisors
                            && o.region.as_deref().is_none_or(|region| {
                                ticket.intake.region.as_ref().is_some_and(|r| {
                                    city.regions.is_within(r, &RegionId::new(region))
                                })
                            })
                    }
                })
                .collect();
        let unit = ticket.unit.as_ref().map(|id| {
            city.units
                .get(id)
                .map_or_else(|| id.to_string(), |u| u.name.clone())
        });
        let mut out = Vec::new();
        for channel in self.config.channels.iter().filter(|c| c.officials) {
            let message = Message {
                milestone,
                locale: channel.locale.unwrap_or(self.config.locale),
                reply: None,
                status: ticket.status.code().to_owned(),
                at: event.at,
                unit: unit.clone(),
                escalated_to,
                until: None,
                case: None,
            };
            let message = serde_json::to_string(&message).expect("a message serialises");
            let recipients: Vec<Option<String>> = match &channel.kind {
                ChannelKind::Webhook { .. } if !told.is_empty() => vec![None],
                ChannelKind::Webhook { .. } => Vec::new(),
                ChannelKind::Email { .. } => told
                    .iter()
                    .filter_map(|o| o.email.clone())
                    .map(Some)
                    .collect(),
                ChannelKind::Sms { .. } | ChannelKind::Log => told
                    .iter()
                    .filter_map(|o| o.phone.clone())
                    .map(Some)
                    .collect(),
            };
            for recipient in recipients {
                out.push(Outgoing {
                    seq: event.seq,
                    channel: channel.name.clone(),
                    recipient,
                    message: message.clone(),
                });
            }
        }
        out
    }
}

/// `text` of `ticket` with nothing of the personal data in it.
fn public_words(text: &str, ticket: &Ticket, city: &City) -> String {
    let names = ticket.intake.citizen.names();
    redact_text(text, IdentityView::Hidden, &city.privacy, &names)
}

impl Announce for Outbox {
    fn announce(&self, ticket: &Ticket, events: &[Event]) -> Vec<Outgoing> {
        let citizen = &ticket.intake.citizen;
        let city = &self.city;
        let mut out = Vec::new();
        for event in events {
            out.extend(self.tell_officials(ticket, event));
            let Some((milestone, reply)) = Milestone::of(event) else {
                continue;
            };
            let (unit, until, case) = self.details(&event.change);
            for channel in &self.config.channels {
                if !channel.wants(milestone) {
                    continue;
                }
                let recipient = match &channel.kind {
                    ChannelKind::Sms { .. } | ChannelKind::Log => citizen.phone.clone(),
                    ChannelKind::Email { .. } => citizen.email.clone(),
                    ChannelKind::Webhook { .. } => None,
                };
                // Nobody to tell: an anonymous citizen, or no address for this channel.
                if recipient.is_none() && channel.kind.needs_recipient() {
                    continue;
                }
                // A webhook feeds another system, which holds no right to the citizen's
                // personal data: it reads the reply as the public would. The citizen's
                // own SMS and e-mail carry the reply whole.
                let reply = match &channel.kind {
                    ChannelKind::Webhook { .. } => reply.map(|r| public_words(r, ticket, city)),
                    _ => reply.map(str::to_owned),
                };
                let message = Message {
                    milestone,
                    locale: channel.locale.unwrap_or(self.config.locale),
                    reply,
                    status: ticket.status.code().to_owned(),
                    at: event.at,
                    unit: unit.clone(),
                    escalated_to: None,
                    until: until.clone(),
                    case: case.clone(),
                };
                out.push(Outgoing {
                    seq: event.seq,
                    channel: channel.name.clone(),
                    recipient,
                    message: serde_json::to_string(&message).expect("a message serialises"),
                });
            }
        }
        out
    }

    fn announce_alert(&self, alert: &Alert) -> Vec<Outgoing> {
        let mut out = Vec::new();
        for channel in self.config.channels.iter().filter(|c| c.alerts) {
            let message = self.alert_message(alert, channel.locale.unwrap_or(self.config.locale));
            let message = serde_json::to_string(&message).expect("a message serialises");
            // A webhook tells its receiver; the other channels each person on duty.
            let recipients: Vec<Option<String>> = if channel.kind.needs_recipient() {
                channel.alert_recipients.iter().cloned().map(Some).collect()
            } else {
                vec![None]
            };
            for recipient in recipients {
                out.push(Outgoing {
                    seq: 0,
                    channel: channel.name.clone(),
                    recipient,
                    message: message.clone(),
                });
            }
        }
        out
    }
}

/// What one delivery pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub delivered: u64,
    /// Failed attempts that will be tried again.
    pub retried: u64,
    /// Rows given up after their last attempt.
    pub failed: u64,
}

static DELIVERIES: std::sync::LazyLock<prometheus::IntCounterVec> =
    std::sync::LazyLock::new(|| {
        prometheus::register_int_counter_vec!(
            "minhu_outbox_deliveries_total",
            "Delivery attempts of this node's notifier, by channel and outcome (delivered; \
             retry: failed, tried again later; failed: failed and given up).",
            &["channel", "outcome"]
        )
        .expect("registered once")
    });

/// Counts a delivery attempt for `/metrics`.
fn count_delivery(channel: &str, outcome: &str) {
    DELIVERIES.with_label_values(&[channel, outcome]).inc();
}

/// How many rows one claim takes.
const BATCH: u32 = 100;
/// How long a claim holds before another worker may take the row.
const LEASE: SignedDuration = SignedDuration::from_secs(120);
/// The longest the worker sleeps without looking (rows written by another process
/// wake no one here).
const MAX_SLEEP: Duration = Duration::from_secs(30);

/// The delivery worker: claims due outbox rows and hands them to their channels.
pub struct Notifier {
    store: Arc<dyn OutboxStore>,
    clock: Arc<dyn Clock>,
    channels: HashMap<String, Channel>,
    retry: Retry,
    id: String,
    wake: Arc<tokio::sync::Notify>,
}

impl Notifier {
    /// `wake` is the engine's `outbox_changed`, so new rows go out at once.
    pub fn new(
        store: Arc<dyn OutboxStore>,
        clock: Arc<dyn Clock>,
        config: &NotifyConfig,
        wake: Arc<tokio::sync::Notify>,
    ) -> Result<Self, NotifyError> {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let channels = config
            .channels
            .iter()
            .map(|c| Ok((c.name.clone(), Channel::new(c)?)))
            .collect::<Result<_, NotifyError>>()?;
        // Unique across processes sharing a database, like the timer workers' ids.
        let id = format!(
            "notify-{}-{}-{}",
            std::process::id(),
            Timestamp::now().as_millisecond(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        Ok(Self {
            store,
            clock,
            channels,
            retry: config.retry,
            id,
            wake,
        })
    }

    /// Delivers every row due by the clock, batch after batch, until none is left
    /// that this worker can claim.
    pub async fn run_due(&self) -> Result<DeliveryReport, StoreError> {
        let mut report = DeliveryReport::default();
        loop {
            let now = self.clock.now();
            let claimed = self
                .store
                .claim_notifications(&self.id, now, LEASE, BATCH)
                .await?;
            if claimed.is_empty() {
                return Ok(report);
            }
            for delivery in &claimed {
                let outcome = self.deliver(delivery).await;
                let now = self.clock.now();
                let settled = match &outcome {
                    Ok(()) => {
                        report.delivered += 1;
                        count_delivery(&delivery.channel, "delivered");
                        Ok(())
                    }
                    Err(error) => {
                        let retry_at = self.retry.next_attempt(delivery.attempts + 1, now);
                        match retry_at {
                            Some(_) => report.retried += 1,
                            None => report.failed += 1,
                        }
                        count_delivery(
                            &delivery.channel,
                            if retry_at.is_some() {
                                "retry"
                            } else {
                                "failed"
                            },
                        );
                        tracing::warn!(
                            channel = %delivery.channel,
                            about = ?delivery.about,
                            attempt = delivery.attempts + 1,
                            %error,
                            "a notification was not delivered"
                        );
                        Err((error.as_str(), retry_at))
                    }
                };
                self.store
                    .settle_notification(delivery, &self.id, now, settled)
                    .await?;
            }
        }
    }

    async fn deliver(&self, delivery: &Delivery) -> Result<(), String> {
        let channel = self
            .channels
            .get(&delivery.channel)
            .ok_or_else(|| format!("channel {:?} is no longer configured", delivery.channel))?;
        let unreadable = |e: serde_json::Error| format!("the stored message cannot be read: {e}");
        // What a webhook receives: the row's id (to drop a repeat), what it tells of,
        // and the text the other channels send.
        let (payload, rendered) = match &delivery.about {
            About::Ticket { number, seq } => {
                let message: Message =
                    serde_json::from_str(&delivery.message).map_err(unreadable)?;
                let rendered = templates::render(&message, number);
                let payload = serde_json::json!({
                    "id": delivery.id,
                    "ticket": number,
                    "seq": seq,
                    "milestone": message.milestone,
                    "locale": message.locale,
                    "status": message.status,
                    "at": message.at,
                    "reply": message.reply,
                    "text": rendered.text,
                });
                (payload, rendered)
            }
            About::Alert(id) => {
                let message: AlertMessage =
                    serde_json::from_str(&delivery.message).map_err(unreadable)?;
                let rendered = templates::render_alert(&message);
                let payload = serde_json::json!({
                    "id": delivery.id,
                    "alert": id,
                    "kind": message.kind,
                    "place": message.place,
                    "unit": message.unit,
                    "category": message.category,
                    "observed": message.observed,
                    "expected": message.expected,
                    "from": message.from,
                    "to": message.to,
                    "locale": message.locale,
                    "text": rendered.text,
                });
                (payload, rendered)
            }
        };
        channel
            .send(delivery, &payload, &rendered)
            .await
            .map_err(|e| e.to_string())
    }

    /// Runs until the process ends: a pass, then sleep until woken by a change or
    /// `MAX_SLEEP` passes (retries fall due while it sleeps).
    pub async fn run(self) {
        loop {
            match self.run_due().await {
                Ok(report) if report != DeliveryReport::default() => tracing::info!(
                    delivered = report.delivered,
                    retried = report.retried,
                    failed = report.failed,
                    "notifications"
                ),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "the notification pass failed"),
            }
            let _ = tokio::time::timeout(MAX_SLEEP, self.wake.notified()).await;
        }
    }
}
