//! The adapters: how a rendered message leaves minhu on each kind of channel.
//!
//! This build has no TLS stack (no reqwest or lettre TLS feature), so URLs are
//! `http://` and SMTP is plain `smtp://`: point them at a relay on the same host or
//! network (an SMTP relay, the SMS gateway's internal endpoint, a TLS-terminating
//! proxy) - the configuration check refuses `https://` and `smtps://` rather than
//! failing at the first delivery.

use crate::NotifyError;
use crate::config::{ChannelConfig, ChannelKind};
use crate::templates::Rendered;
use hmac::{Hmac, KeyInit, Mac};
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use minhu_store::Delivery;
use sha2::Sha256;
use std::collections::BTreeMap;
use std::time::Duration;

/// How long one HTTP or SMTP delivery may take.
const TIMEOUT: Duration = Duration::from_secs(15);

pub struct Channel {
    pub name: String,
    adapter: Adapter,
}

enum Adapter {
    Webhook {
        client: reqwest::Client,
        url: String,
        secret: String,
    },
    Email {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
    },
    Sms {
        client: reqwest::Client,
        url: String,
        body: String,
        content_type: String,
        headers: BTreeMap<String, String>,
    },
    Log,
}

pub(crate) fn smtp_transport(url: &str) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let refuse =
        || format!("{url:?}: use smtp://host:port (this build sends plain SMTP to a relay)");
    let address = url.strip_prefix("smtp://").ok_or_else(refuse)?;
    let (host, port) = match address.rsplit_once(':') {
        Some((host, port)) => (host, port.parse::<u16>().map_err(|_| refuse())?),
        None => (address, 25),
    };
    if host.is_empty() || host.contains(['/', '@']) {
        return Err(refuse());
    }
    // "dangerous" only in that it does not encrypt: the relay is local (see above).
    Ok(
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .timeout(Some(TIMEOUT))
            .build(),
    )
}

fn http_client() -> Result<reqwest::Client, NotifyError> {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .build()
        .map_err(|e| NotifyError::Config(format!("HTTP client: {e}")))
}

/// `sha256=<hex>`: HMAC-SHA256 of the exact body bytes under the channel's secret.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A JSON string's content without its quotes, to put a value inside a template.
fn json_escaped(value: &str) -> String {
    let quoted = serde_json::to_string(value).expect("a string serialises");
    quoted[1..quoted.len() - 1].to_owned()
}

impl Channel {
    pub fn new(config: &ChannelConfig) -> Result<Self, NotifyError> {
        let adapter = match &config.kind {
            ChannelKind::Webhook { url, secret } => Adapter::Webhook {
                client: http_client()?,
                url: url.clone(),
                secret: secret.clone(),
            },
            ChannelKind::Email { smtp, from } => Adapter::Email {
                transport: smtp_transport(smtp).map_err(NotifyError::Config)?,
                from: from
                    .parse()
                    .map_err(|e| NotifyError::Config(format!("from: {e}")))?,
            },
            ChannelKind::Sms {
                url,
                body,
                content_type,
                headers,
            } => Adapter::Sms {
                client: http_client()?,
                url: url.clone(),
                body: body.clone(),
                content_type: content_type.clone(),
                headers: headers.clone(),
            },
            ChannelKind::Log => Adapter::Log,
        };
        Ok(Self {
            name: config.name.clone(),
            adapter,
        })
    }

    /// Delivers one outbox row: a webhook posts `payload` (signed), the other channels
    /// send `rendered` to the row's recipient.
    pub async fn send(
        &self,
        delivery: &Delivery,
        payload: &serde_json::Value,
        rendered: &Rendered,
    ) -> Result<(), NotifyError> {
        if let Adapter::Webhook {
            client,
            url,
            secret,
        } = &self.adapter
        {
            let body = serde_json::to_vec(payload).expect("a payload serialises");
            let response = client
                .post(url)
                .header("content-type", "application/json")
                .header("x-minhu-signature", signature(secret, &body))
                .header("x-minhu-delivery", delivery.id.to_string())
                .body(body)
                .send()
                .await
                .map_err(|e| NotifyError::Delivery(format!("webhook: {e}")))?;
            return status_ok("webhook", response.status());
        }
        let recipient = delivery.recipient.as_deref().ok_or_else(|| {
            NotifyError::Delivery(format!("channel {}: the row has no recipient", self.name))
        })?;
        self.send_to(recipient, rendered).await
    }

    /// Sends a text to a phone or address at once, outside the outbox (a follow code,
    /// which must not be stored in clear). Webhooks do not carry such texts.
    pub async fn send_to(&self, recipient: &str, rendered: &Rendered) -> Result<(), NotifyError> {
        match &self.adapter {
            Adapter::Webhook { .. } => Err(NotifyError::Delivery(format!(
                "channel {} is a webhook: it reaches no citizen",
                self.name
            ))),
            Adapter::Email { transport, from } => {
                let to: Mailbox = recipient
                    .parse()
                    .map_err(|e| NotifyError::Delivery(format!("e-mail recipient: {e}")))?;
                let email = lettre::Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(&rendered.subject)
                    .body(rendered.text.clone())
                    .map_err(|e| NotifyError::Delivery(format!("e-mail: {e}")))?;
                transport
                    .send(email)
                    .await
                    .map_err(|e| NotifyError::Delivery(format!("SMTP: {e}")))?;
                Ok(())
            }
            Adapter::Sms {
                client,
                url,
                body,
                content_type,
                headers,
            } => {
                let body = body
                    .replace("{phone}", &json_escaped(recipient))
                    .replace("{text}", &json_escaped(&rendered.text));
                let mut request = client
                    .post(url)
                    .header("content-type", content_type)
                    .body(body);
                for (name, value) in headers {
                    request = request.header(name, value);
                }
                let response = request
                    .send()
                    .await
                    .map_err(|e| NotifyError::Delivery(format!("SMS gateway: {e}")))?;
                status_ok("SMS gateway", response.status())
            }
            Adapter::Log => {
                tracing::info!(
                    target: "minhu::notify",
                    channel = %self.name,
                    to = %minhu_core::access::mask_phone(recipient),
                    "{}",
                    rendered.text
                );
                Ok(())
            }
        }
    }
}

fn status_ok(what: &str, status: reqwest::StatusCode) -> Result<(), NotifyError> {
    if status.is_success() {
        Ok(())
    } else {
        Err(NotifyError::Delivery(format!("{what} answered {status}")))
    }
}
