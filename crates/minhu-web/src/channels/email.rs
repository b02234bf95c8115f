//! The e-mail channel: the hotline's mailbox, read over IMAP with TLS (`[email]` in
//! `channels.toml`, the password in `MINHU_IMAP_PASSWORD`).
//!
//! A worker ([`watch`]) logs in, reads the unseen mails, and then waits in IDLE (or
//! polls every `poll_seconds` where the server offers no IDLE). Each mail becomes:
//! - a follow-up to the citizen's demand when it answers the demand's thread (its
//!   `In-Reply-To`/`References` name a Message-ID minhu-notify gave the ticket's mails,
//!   see [`minhu_notify::channel::thread_id`], or its subject holds the ticket number)
//!   and comes from the address the demand was filed with (or one linked to it);
//! - else a new demand: the subject its title, the plain text (or the HTML read as
//!   text) its description, image attachments its photos.
//!
//! A handled mail is flagged `\Seen` (or moved to `processed_mailbox`). A mail is never
//! taken twice, by a retry or by a second node reading the same mailbox: a new demand
//! carries the intake idempotency key `email:<Message-ID>` (or the mailbox's UIDVALIDITY
//! and the mail's UID where it has no Message-ID), and a follow-up claims that key in
//! the store first (`channel_messages`). So every node may read the mailbox; the store
//! makes the second reader harmless. A broken connection or a restarted server is
//! retried with a growing wait (1 s doubling to a minute).

use super::conversation::{self, Outcome, Part};
use crate::AppState;
use crate::api::audit;
use crate::api::intake::add_photos;
use crate::middleware::error::ApiError;
use crate::middleware::hardening::{Limits, Rate};
use async_imap::Session;
use futures_util::StreamExt;
use mail_parser::{Message, MessageParser, MimeHeaders};
use minhu_config::channels::EmailSettings;
use minhu_core::event::Actor;
use minhu_core::ids::TicketNumber;
use minhu_core::ticket::{Channel, Citizen, Status, Ticket};
use minhu_core::workflow::Command;
use minhu_engine::EngineError;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// The environment variable holding the mailbox's password.
pub const PASSWORD_VAR: &str = "MINHU_IMAP_PASSWORD";

/// The first wait before reconnecting, doubled after each failure up to the last.
const FIRST_RETRY: Duration = Duration::from_secs(1);
const LAST_RETRY: Duration = Duration::from_secs(60);
/// How long connecting (TCP and TLS) and each round of reading may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const ROUND_TIMEOUT: Duration = Duration::from_secs(600);
/// One sender's mails: 10 at once, then one every 6 minutes (a citizen writes a few;
/// a loop of automatic answers or a flood is cut off and audited).
const SENDER: Rate = Rate {
    capacity: 10.0,
    per_second: 1.0 / 360.0,
};
/// The longest description taken from a mail (a long thread quoted below is cut).
const MAX_BODY_CHARS: usize = 4000;

/// The connected mailbox: where it is, how to log in, whom to trust, and the senders'
/// rate buckets.
pub struct Mailbox {
    settings: EmailSettings,
    password: String,
    tls: tokio_rustls::TlsConnector,
    senders: Limits,
}

impl Mailbox {
    pub fn new(settings: &EmailSettings, password: &str) -> Result<Mailbox, String> {
        let config = minhu_notify::tls::client_config_with(settings.ca_file.as_deref())
            .map_err(|e| format!("channels.toml [email]: {e}"))?;
        Ok(Mailbox {
            settings: settings.clone(),
            password: password.to_owned(),
            tls: tokio_rustls::TlsConnector::from(Arc::new(config)),
            senders: Limits::default(),
        })
    }
}

type Imap = Session<TlsStream<TcpStream>>;

fn imap(error: async_imap::error::Error) -> String {
    format!("IMAP: {error}")
}

/// Reads the city's mailbox for as long as the server runs (nothing when the city
/// has not connected one), reconnecting with a growing wait after any failure.
pub async fn watch(state: AppState) {
    let adapters = state.channels.clone();
    let Some(mailbox) = adapters.email.as_ref() else {
        return std::future::pending().await;
    };
    let mut wait = FIRST_RETRY;
    loop {
        let Err(problem) = mailbox.session(&state, &mut wait).await;
        tracing::warn!(
            %problem,
            server = %mailbox.settings.server,
            retry_in_s = wait.as_secs(),
            "the mailbox connection ended; reconnecting"
        );
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(LAST_RETRY);
    }
}

impl Mailbox {
    async fn connect(&self) -> Result<Imap, String> {
        let settings = &self.settings;
        let at = format!("{}:{}", settings.server, settings.port);
        let tcp = tokio::time::timeout(
            CONNECT_TIMEOUT,
            TcpStream::connect((settings.server.as_str(), settings.port)),
        )
        .await
        .map_err(|_| format!("{at}: no answer"))?
        .map_err(|e| format!("{at}: {e}"))?;
        let name = rustls::pki_types::ServerName::try_from(settings.server.clone())
            .map_err(|e| format!("[email] server: {e}"))?;
        let tls = tokio::time::timeout(CONNECT_TIMEOUT, self.tls.connect(name, tcp))
            .await
            .map_err(|_| format!("{at}: no TLS answer"))?
            .map_err(|e| format!("{at}: TLS: {e}"))?;
        let mut client = async_imap::Client::new(tls);
        client
            .read_response()
            .await
            .map_err(|e| format!("{at}: {e}"))?
            .ok_or_else(|| format!("{at}: closed before its greeting"))?;
        client
            .login(&settings.user, &self.password)
            .await
            .map_err(|(e, _)| format!("login as {}: {e}", settings.user))
    }

    /// One connection's life: log in, then read and wait until it breaks.
    async fn session(&self, state: &AppState, wait: &mut Duration) -> Result<Infallible, String> {
        let settings = &self.settings;
        let mut session = self.connect().await?;
        let capabilities = session.capabilities().await.map_err(imap)?;
        let idle = capabilities.has_str("IDLE");
        let moves = capabilities.has_str("MOVE");
        if let Some(folder) = &settings.processed_mailbox {
            // Made once; "already exists" is the usual answer and no failure.
            let _ = session.create(folder).await;
        }
        let selected = session.select(&settings.mailbox).await.map_err(imap)?;
        let validity = selected.uid_validity.unwrap_or(0);
        *wait = FIRST_RETRY;
        tracing::info!(server = %settings.server, mailbox = %settings.mailbox, idle, "reading the mailbox");
        let poll = Duration::from_secs(settings.poll_seconds);
        loop {
            tokio::time::timeout(
                ROUND_TIMEOUT,
                self.read_new(state, &mut session, validity, moves),
            )
            .await
            .map_err(|_| "reading the new mails took too long".to_owned())??;
            if idle {
                let mut handle = session.idle();
                handle.init().await.map_err(imap)?;
                {
                    let (waiting, _stop) = handle.wait_with_timeout(poll);
                    waiting.await.map_err(imap)?;
                }
                session = handle.done().await.map_err(imap)?;
            } else {
                tokio::time::sleep(poll).await;
            }
        }
    }

    /// Takes every unseen mail, oldest first, and marks each handled. A mail whose
    /// taking failed (the store unreachable) stays unseen for the next round.
    async fn read_new(
        &self,
        state: &AppState,
        session: &mut Imap,
        validity: u32,
        moves: bool,
    ) -> Result<(), String> {
        let mut uids: Vec<u32> = session
            .uid_search("UNSEEN")
            .await
            .map_err(imap)?
            .into_iter()
            .collect();
        uids.sort_unstable();
        for uid in uids {
            let raw = {
                let fetches = session
                    .uid_fetch(uid.to_string(), "BODY.PEEK[]")
                    .await
                    .map_err(imap)?;
                let mut fetches = std::pin::pin!(fetches);
                let mut raw = None;
                while let Some(fetch) = fetches.next().await {
                    let fetch = fetch.map_err(imap)?;
                    if let Some(body) = fetch.body() {
                        raw = Some(body.to_vec());
                    }
                }
                raw
            };
            // Gone since the search (another reader moved it): nothing to do.
            let Some(raw) = raw else { continue };
            let fallback = format!("uid:{validity}:{uid}");
            match take(state, self, &raw, &fallback).await {
                Ok(taken) => tracing::info!(uid, taken, "a mail was taken"),
                Err(error) => {
                    return Err(format!("mail {uid}: {}", error.message()));
                }
            }
            self.mark_done(session, uid, moves).await?;
        }
        Ok(())
    }

    /// Flags a handled mail `\Seen`, or moves it to the processed folder.
    async fn mark_done(&self, session: &mut Imap, uid: u32, moves: bool) -> Result<(), String> {
        let uid = uid.to_string();
        let flags = match &self.settings.processed_mailbox {
            Some(folder) if moves => return session.uid_mv(&uid, folder).await.map_err(imap),
            Some(folder) => {
                session.uid_copy(&uid, folder).await.map_err(imap)?;
                "+FLAGS.SILENT (\\Seen \\Deleted)"
            }
            None => "+FLAGS.SILENT (\\Seen)",
        };
        {
            let stored = session.uid_store(&uid, flags).await.map_err(imap)?;
            let mut stored = std::pin::pin!(stored);
            while let Some(done) = stored.next().await {
                done.map_err(imap)?;
            }
        }
        if self.settings.processed_mailbox.is_some() {
            let expunged = session.uid_expunge(&uid).await.map_err(imap)?;
            let mut expunged = std::pin::pin!(expunged);
            while let Some(done) = expunged.next().await {
                done.map_err(imap)?;
            }
        }
        Ok(())
    }
}

/// Takes one mail (its raw bytes); `fallback` names it where it has no Message-ID.
/// Returns what became of it, for the log.
pub(crate) async fn take(
    state: &AppState,
    mailbox: &Mailbox,
    raw: &[u8],
    fallback: &str,
) -> Result<&'static str, ApiError> {
    let Some(mail) = MessageParser::default().parse(raw) else {
        return refuse(state, "a mail that cannot be read").await;
    };
    let Some((sender, name)) = sender(&mail) else {
        return refuse(state, "a mail without a sender address").await;
    };
    if automatic(&mail, &sender) {
        return Ok("an automatic mail (a bounce, an auto-reply, a list): left alone");
    }
    if mailbox.senders.take("email", &sender, SENDER).is_err() {
        return refuse(
            state,
            "a sender over its rate limit (10, then one per 6 minutes)",
        )
        .await;
    }
    let id = mail
        .message_id()
        .filter(|id| !id.trim().is_empty() && id.len() <= 200)
        .map_or_else(|| fallback.to_owned(), |id| format!("mid:{id}"));
    let subject = mail.subject().unwrap_or_default().trim().to_owned();
    let text = own_words(&mail.body_text(0).unwrap_or_default());
    let photos: Vec<(Option<String>, Vec<u8>)> = mail
        .attachments()
        .filter(|part| {
            minhu_engine::attachments::media_type_of(part.contents()).starts_with("image/")
        })
        .map(|part| {
            (
                part.attachment_name().map(str::to_owned),
                part.contents().to_vec(),
            )
        })
        .collect();
    if subject.is_empty() && text.is_empty() && photos.is_empty() {
        return refuse(state, "an empty mail").await;
    }
    if let Some(ticket) = answered_demand(state, &mail, &subject, &sender).await? {
        if !state
            .engine
            .channels()
            .claim(Channel::Email.code(), &id)
            .await?
        {
            return Ok("a mail already taken");
        }
        let said = if text.is_empty() { subject } else { text };
        if !said.is_empty() {
            let command = Command::FollowUp {
                text: said,
                channel: Some(Channel::Email),
            };
            match state
                .engine
                .act(&ticket.number, command, Actor::citizen())
                .await
            {
                Ok(_) => {}
                Err(EngineError::Invalid(error)) => {
                    let what = format!("a follow-up refused: {}: {}", error.field, error.problem);
                    return refuse(state, &what).await;
                }
                Err(error) => return Err(error.into()),
            }
        }
        add_photos(state, ticket, photos, Actor::citizen()).await?;
        return Ok("a follow-up");
    }
    let parts = [subject, text]
        .into_iter()
        .filter(|t| !t.is_empty())
        .map(|text| Part::Text { text })
        .collect();
    let citizen = Citizen {
        email: Some(sender.clone()),
        name,
        ..Citizen::default()
    };
    match conversation::create(state, Channel::Email, &sender, citizen, &id, parts, None).await? {
        Outcome::Created(ticket) => {
            // Two readers of one mail both get its demand (the intake key); the one
            // that claims the mail adds its photos, so none is added twice.
            if state
                .engine
                .channels()
                .claim(Channel::Email.code(), &id)
                .await?
            {
                add_photos(state, *ticket, photos, Actor::citizen()).await?;
            }
            Ok("a new demand")
        }
        Outcome::Refused(problem) => refuse(state, &format!("a demand refused: {problem}")).await,
        _ => Ok("a mail already taken"),
    }
}

/// Leaves the refusal in the audit log (as the other adapters do) and says so.
async fn refuse(state: &AppState, what: &str) -> Result<&'static str, ApiError> {
    audit::record(
        state,
        "channel:email".into(),
        "channel.refused",
        None,
        what,
        None,
    )
    .await?;
    Ok("refused (audited)")
}

/// The sender's address (lower case) and name.
fn sender(mail: &Message) -> Option<(String, Option<String>)> {
    let from = mail.from()?.first()?;
    let address = from.address()?.trim().to_lowercase();
    let valid = address.len() <= 254
        && address.split_once('@').is_some_and(|(user, host)| {
            !user.is_empty() && host.contains('.') && !address.chars().any(char::is_whitespace)
        });
    valid.then(|| {
        let name = from
            .name()
            .map(str::trim)
            .filter(|n| !n.is_empty() && n.chars().count() <= 50);
        (address, name.map(str::to_owned))
    })
}

/// Whether a machine sent the mail: a bounce, an out-of-office answer, a list. Taking
/// those would file demands nobody made, or answer an auto-reply with a mail that is
/// answered again.
fn automatic(mail: &Message, sender: &str) -> bool {
    let header = |name: &str| {
        mail.header_raw(name)
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default()
    };
    let user = sender.split('@').next().unwrap_or_default();
    (!header("Auto-Submitted").is_empty() && header("Auto-Submitted") != "no")
        || matches!(header("Precedence").as_str(), "bulk" | "junk" | "list")
        || matches!(user, "mailer-daemon" | "postmaster")
        || !header("List-Id").is_empty()
}

/// The citizen's own words: the quoted earlier mail ("> ..." lines, and everything
/// from a "... 写道：" / "wrote:" / original-message line on) cut off.
fn own_words(text: &str) -> String {
    let mut kept = Vec::new();
    for line in text.lines() {
        let line = line.trim_end();
        let bare = line.trim();
        if bare.ends_with("写道：")
            || bare.ends_with("写道:")
            || bare.ends_with("wrote:")
            || bare.starts_with("-----Original Message")
            || bare.starts_with("-----原始邮件")
        {
            break;
        }
        if !bare.starts_with('>') {
            kept.push(line);
        }
    }
    let text = kept.join("\n").trim().to_owned();
    if text.chars().count() > MAX_BODY_CHARS {
        text.chars().take(MAX_BODY_CHARS).collect::<String>() + "…"
    } else {
        text
    }
}

/// The demand a mail answers: named by its thread (`In-Reply-To`, `References`) or
/// its subject, still open to follow-ups, and filed by this sender (or an identity
/// linked to them). A number the sender may not add to is no thread: the mail is a
/// new demand.
async fn answered_demand(
    state: &AppState,
    mail: &Message<'_>,
    subject: &str,
    sender: &str,
) -> Result<Option<Ticket>, ApiError> {
    let ids = [mail.in_reply_to(), mail.references()]
        .into_iter()
        .filter_map(|h| h.as_text_list())
        .flatten()
        .filter_map(|id| minhu_notify::channel::ticket_of_thread_id(id).map(str::to_owned));
    let candidates: Vec<String> = ids.chain(numbers_in(subject)).collect();
    for candidate in candidates {
        let Ok(number) = TicketNumber::parse(&candidate) else {
            continue;
        };
        let ticket = match state.engine.ticket(&number).await {
            Ok(ticket) => ticket,
            Err(EngineError::NotFound(_)) => continue,
            Err(error) => return Err(error.into()),
        };
        if ticket.status != Status::Closed
            && super::identity::filed_by(state, &ticket, sender).await?
        {
            return Ok(Some(ticket));
        }
    }
    Ok(None)
}

/// The runs of 13-16 digits in a subject (ticket numbers).
fn numbers_in(subject: &str) -> Vec<String> {
    subject
        .split(|c: char| !c.is_ascii_digit())
        .filter(|run| (13..=16).contains(&run.len()))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quoted_mail_is_cut_and_numbers_are_found() {
        let text =
            "路灯还是不亮。\n\n> 您的诉求已受理\n在 2026年11月22日 10:00, 12345 写道：\n旧的内容";
        assert_eq!(own_words(text), "路灯还是不亮。");
        assert_eq!(
            own_words("Still dark.\nOn Mon, minhu wrote:\n> x"),
            "Still dark."
        );
        assert_eq!(
            numbers_in("Re: 工单 2026112200001 已受理 (12345)"),
            vec!["2026112200001".to_owned()]
        );
    }
}
