//! The adapters: how a rendered message leaves minhu on each kind of channel.
//!
//! Webhooks and SMS gateways are reached over `https://` (or plain `http://` on a
//! trusted network), e-mail over SMTP with STARTTLS, implicit TLS or none, as the
//! channel says; certificates are checked as [`crate::tls`] describes. A failed
//! delivery, an untrusted certificate included, is an error the worker records on the
//! row and retries later.

use crate::NotifyError;
use crate::config::{ChannelConfig, ChannelKind, SmtpTls};
use crate::templates::Rendered;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::Tls;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use minhu_store::{About, Delivery};
use std::collections::BTreeMap;
use std::path::Path;
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

/// The host and port of `smtp://host[:port]`; the port defaults by `tls`.
pub(crate) fn smtp_address(url: &str, tls: SmtpTls) -> Result<(String, u16), String> {
    if url.starts_with("smtps://") {
        return Err(format!(
            "{url:?}: write smtp://host[:port] with tls = \"implicit\" for SMTPS"
        ));
    }
    let refuse = || format!("{url:?}: use smtp://host[:port]");
    let address = url.strip_prefix("smtp://").ok_or_else(refuse)?;
    let (host, port) = match address.rsplit_once(':') {
        Some((host, port)) => (host, port.parse::<u16>().map_err(|_| refuse())?),
        None => (address, tls.default_port()),
    };
    if host.is_empty() || host.contains(['/', '@']) {
        return Err(refuse());
    }
    Ok((host.to_owned(), port))
}

fn smtp_transport(
    url: &str,
    tls: SmtpTls,
    ca_file: Option<&Path>,
    credentials: Option<Credentials>,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let (host, port) = smtp_address(url, tls)?;
    let tls = match tls {
        SmtpTls::Starttls => Tls::Required(crate::tls::smtp_parameters(&host, ca_file)?),
        SmtpTls::Implicit => Tls::Wrapper(crate::tls::smtp_parameters(&host, ca_file)?),
        SmtpTls::None => Tls::None,
    };
    // "dangerous" only in that the builder takes the TLS mode as given (above) instead
    // of choosing one.
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(port)
        .tls(tls)
        .timeout(Some(TIMEOUT));
    // The configuration check refuses credentials with tls = "none".
    if let Some(credentials) = credentials {
        builder = builder.credentials(credentials);
    }
    Ok(builder.build())
}

/// An error with its causes: "error sending request" alone does not say that the
/// server's certificate was not trusted. A cause its wrapper already quotes is not
/// repeated.
fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}

/// `sha256=<hex>`: HMAC-SHA256 of the exact body bytes under the channel's secret
/// (`minhu_engine::signing`, the scheme the sensor webhook checks too).
pub fn signature(secret: &str, body: &[u8]) -> String {
    minhu_engine::signing::signature(secret, &[body])
}

/// A JSON string's content without its quotes, to put a value inside a template.
/// A notification's text as a log line may show it: phone numbers masked, and every
/// control or line-breaking character escaped (`\n`), so that a citizen's words can
/// neither put a phone number in the log nor forge a line of it.
pub fn loggable(text: &str) -> String {
    minhu_core::access::mask_phones_in_text(text, false)
        .chars()
        .flat_map(|c| {
            let breaks = c.is_control() || matches!(c, '\u{2028}' | '\u{2029}');
            let escaped: Vec<char> = if breaks {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

fn json_escaped(value: &str) -> String {
    let quoted = serde_json::to_string(value).expect("a string serialises");
    quoted[1..quoted.len() - 1].to_owned()
}

impl Channel {
    /// Builds the channel's client; errors (no roots to trust, an unreadable
    /// `ca_file`) name the channel.
    pub fn new(config: &ChannelConfig) -> Result<Self, NotifyError> {
        let name = &config.name;
        let fail = |e: String| NotifyError::Config(format!("channel {name}: {e}"));
        let ca_file = config.ca_file.as_deref();
        let http_client = |url: &str| crate::tls::http_client(url, ca_file, TIMEOUT).map_err(fail);
        let adapter = match &config.kind {
            ChannelKind::Webhook { url, secret } => Adapter::Webhook {
                client: http_client(url)?,
                url: url.clone(),
                secret: secret.clone(),
            },
            ChannelKind::Email {
                smtp, from, tls, ..
            } => {
                let credentials = config
                    .kind
                    .smtp_login()
                    .map(|(user, password)| Credentials::new(user.into(), password.into()));
                Adapter::Email {
                    transport: smtp_transport(smtp, *tls, ca_file, credentials).map_err(fail)?,
                    from: from.parse().map_err(|e| fail(format!("from: {e}")))?,
                }
            }
            ChannelKind::Sms {
                url,
                body,
                content_type,
                headers,
            } => Adapter::Sms {
                client: http_client(url)?,
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
                .map_err(|e| NotifyError::Delivery(format!("webhook: {}", describe(&e))))?;
            return status_ok("webhook", response.status());
        }
        let recipient = delivery.recipient.as_deref().ok_or_else(|| {
            NotifyError::Delivery(format!("channel {}: the row has no recipient", self.name))
        })?;
        let thread = match &delivery.about {
            About::Ticket { number, .. } => Some((number.as_str(), delivery.id)),
            About::Alert(_) => None,
        };
        self.deliver(recipient, rendered, thread).await
    }

    /// Sends a text to a phone or address at once, outside the outbox (a follow code,
    /// which must not be stored in clear). Webhooks do not carry such texts.
    pub async fn send_to(&self, recipient: &str, rendered: &Rendered) -> Result<(), NotifyError> {
        self.deliver(recipient, rendered, None).await
    }

    /// Sends `rendered` to `recipient`; an e-mail about a ticket (`thread`: its number
    /// and the outbox row's id) joins the ticket's thread.
    async fn deliver(
        &self,
        recipient: &str,
        rendered: &Rendered,
        thread: Option<(&str, i64)>,
    ) -> Result<(), NotifyError> {
        match &self.adapter {
            Adapter::Webhook { .. } => Err(NotifyError::Delivery(format!(
                "channel {} is a webhook: it reaches no citizen",
                self.name
            ))),
            Adapter::Email { transport, from } => {
                let to: Mailbox = recipient
                    .parse()
                    .map_err(|e| NotifyError::Delivery(format!("e-mail recipient: {e}")))?;
                // Without a charset strict clients read the Chinese as Latin-1.
                let mut email = lettre::Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(&rendered.subject)
                    .header(lettre::message::header::ContentType::TEXT_PLAIN);
                if let Some((number, id)) = thread {
                    // One thread per ticket: every message refers to the ticket's root
                    // id, so mail clients group them and a citizen's reply names the
                    // ticket (the e-mail adapter reads it back from References).
                    let domain = from.email.domain();
                    let root = format!("<{}>", thread_id(number, None, domain));
                    email = email
                        .message_id(Some(format!("<{}>", thread_id(number, Some(id), domain))))
                        .in_reply_to(root.clone())
                        .references(root);
                }
                let email = email
                    .body(rendered.text.clone())
                    .map_err(|e| NotifyError::Delivery(format!("e-mail: {e}")))?;
                transport
                    .send(email)
                    .await
                    .map_err(|e| NotifyError::Delivery(format!("SMTP: {}", describe(&e))))?;
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
                    .map_err(|e| NotifyError::Delivery(format!("SMS gateway: {}", describe(&e))))?;
                status_ok("SMS gateway", response.status())
            }
            Adapter::Log => {
                tracing::info!(
                    target: "minhu::notify",
                    channel = %self.name,
                    to = %minhu_core::access::mask_phone(recipient),
                    "{}",
                    loggable(&rendered.text)
                );
                Ok(())
            }
        }
    }
}

/// The Message-ID (without its angle brackets) of a ticket's mail: the thread's root
/// (`ticket-<number>@<domain>`) or one message of it (`ticket-<number>.<row>@<domain>`).
pub fn thread_id(number: &str, message: Option<i64>, domain: &str) -> String {
    match message {
        Some(row) => format!("ticket-{number}.{row}@{domain}"),
        None => format!("ticket-{number}@{domain}"),
    }
}

/// The ticket number a [`thread_id`] names (a citizen's reply carries it in
/// `In-Reply-To` and `References`); `None` for any other Message-ID.
pub fn ticket_of_thread_id(id: &str) -> Option<&str> {
    let id = id.trim().trim_start_matches('<');
    let rest = id.strip_prefix("ticket-")?;
    let end = rest.find(['.', '@'])?;
    let number = &rest[..end];
    (!number.is_empty() && number.bytes().all(|b| b.is_ascii_digit())).then_some(number)
}

fn status_ok(what: &str, status: reqwest::StatusCode) -> Result<(), NotifyError> {
    if status.is_success() {
        Ok(())
    } else {
        Err(NotifyError::Delivery(format!("{what} answered {status}")))
    }
}

#[cfg(test)]
mod log_tests {
    use super::*;

    #[test]
    fn a_thread_id_names_its_ticket_back() {
        for id in [
            thread_id("2026112200001", None, "12345.example.cn"),
            thread_id("2026112200001", Some(17), "12345.example.cn"),
            format!("<{}>", thread_id("2026112200001", Some(3), "x.cn")),
        ] {
            assert_eq!(ticket_of_thread_id(&id), Some("2026112200001"), "{id}");
        }
        for other in [
            "CAF=abc@mail.gmail.com",
            "ticket-@x.cn",
            "ticket-12a@x.cn",
            "ticket-1",
        ] {
            assert_eq!(ticket_of_thread_id(other), None, "{other}");
        }
    }

    #[tokio::test]
    async fn the_log_channel_writes_no_phone_and_no_forged_line() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(std::sync::Mutex::new(file.reopen().unwrap()))
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let config = crate::config::NotifyConfig::parse(
            "[[channel]]\nname = \"demo-log\"\nkind = \"log\"\n",
        )
        .unwrap();
        let channel = Channel::new(&config.channels[0]).unwrap();
        let rendered = Rendered {
            subject: "已办结".into(),
            text: "已办结，请回电13812345678\nINFO minhu::auth: admin signed in\r\u{2028}完".into(),
        };
        channel.send_to("13812345678", &rendered).await.unwrap();
        let log = std::fs::read_to_string(file.path()).unwrap();
        assert_eq!(log.lines().count(), 1, "one line: {log}");
        assert!(!log.contains("13812345678"), "{log}");
        assert!(log.contains("138****5678"), "{log}");
        assert!(log.contains("\\nINFO minhu::auth"), "{log}");
        assert_eq!(loggable("a\u{0}b\tc"), "a\\u{0}b\\tc");
    }
}
