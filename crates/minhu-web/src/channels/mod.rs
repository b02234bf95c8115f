//! The channel adapters (issue 21): the systems a city already runs talk to minhu in
//! their own protocols, each at its own route under `/channels/`, each proving who it
//! is (WeChat's signature, ...) instead of an API token. A channel that has an adapter
//! is taken in only through it (see `api::intake`).
//!
//! `conversation` is what every adapter shares: a message becomes a new demand, a
//! follow-up to the citizen's open demand, or a question back. Settings come from the
//! city's `channels.toml` ([`minhu_config::channels`]), secrets from the environment.

mod conversation;
pub mod email;
pub mod identity;
pub mod phone;
pub mod sms;
pub mod wechat;

use crate::middleware::auth::Rule;
use crate::routes::Routes;
use axum::http::{HeaderMap, Method};
use minhu_config::channels::ChannelSettings;

/// The city's connected adapters.
#[derive(Default)]
pub struct Adapters {
    /// Where citizens reach the portal, for tracking links.
    pub public_url: Option<String>,
    pub wechat: Option<wechat::Account>,
    pub sms: Option<sms::Gateway>,
    pub phone: Option<phone::Line>,
    /// The hotline's mailbox ([`email::watch`] reads it).
    pub email: Option<email::Mailbox>,
}

impl Adapters {
    /// The adapters `settings` connects, with their secrets from `secret` (the
    /// environment in a deployment); an enabled adapter without its secret is an error
    /// naming the variable.
    pub fn connect(
        settings: &ChannelSettings,
        secret: impl Fn(&str) -> Option<String>,
    ) -> Result<Adapters, String> {
        let wechat = match &settings.wechat {
            Some(wechat) => {
                let token = secret(wechat::TOKEN_VAR).ok_or_else(|| {
                    format!(
                        "channels.toml connects WeChat: set {} to the token entered on WeChat's platform",
                        wechat::TOKEN_VAR
                    )
                })?;
                let key = secret(wechat::AES_KEY_VAR);
                Some(wechat::Account::new(wechat, &token, key.as_deref())?)
            }
            None => None,
        };
        let sms = match settings.sms {
            true => Some(sms::Gateway::new(&secret(sms::SECRET_VAR).ok_or_else(
                || {
                    format!(
                        "channels.toml connects SMS: set {} to the secret shared with the gateway",
                        sms::SECRET_VAR
                    )
                },
            )?)?),
            false => None,
        };
        let phone = match settings.phone {
            true => Some(phone::Line::new(&secret(phone::SECRET_VAR).ok_or_else(|| {
                format!(
                    "channels.toml connects the phone line: set {} to the secret shared with the CTI",
                    phone::SECRET_VAR
                )
            })?)?),
            false => None,
        };
        let email = match &settings.email {
            Some(email) => Some(email::Mailbox::new(
                email,
                &secret(email::PASSWORD_VAR).ok_or_else(|| {
                    format!(
                        "channels.toml connects a mailbox: set {} to the password of {}",
                        email::PASSWORD_VAR,
                        email.user
                    )
                })?,
            )?),
            None => None,
        };
        Ok(Adapters {
            public_url: settings.public_url.clone(),
            wechat,
            sms,
            phone,
            email,
        })
    }
}

/// The adapters' routes: each adapter checks its caller itself, and has its own rate
/// limit per address ([`Rule::Adapter`]).
pub(crate) fn routes() -> Routes {
    let wechat = Rule::Adapter("wechat");
    const WECHAT: &str = "the WeChat official account platform's message protocol";
    Routes::new()
        .foreign(
            Method::GET,
            "/channels/wechat",
            wechat,
            WECHAT,
            wechat::check_url,
        )
        .foreign(
            Method::POST,
            "/channels/wechat",
            wechat,
            WECHAT,
            wechat::receive,
        )
        .foreign(
            Method::POST,
            "/channels/sms",
            Rule::Adapter("sms"),
            "an SMS gateway's uplink, signed (README: Channels)",
            sms::generic,
        )
        .foreign(
            Method::POST,
            "/channels/sms/aliyun",
            Rule::Adapter("sms"),
            "Alibaba Cloud SMS's uplink callback",
            sms::aliyun,
        )
        .foreign(
            Method::POST,
            "/channels/sms/tencent",
            Rule::Adapter("sms"),
            "Tencent Cloud SMS's uplink callback",
            sms::tencent,
        )
        .foreign(
            Method::POST,
            "/channels/phone",
            Rule::Adapter("phone"),
            "the call centre CTI's call events, signed (README: Channels)",
            phone::cti,
        )
        .page(
            Method::GET,
            "/console/calls",
            Rule::Permission(minhu_core::access::Permission::CreateTickets),
            phone::calls,
        )
}

/// A connected adapter, or 404 naming `what` the city has not connected.
fn connected<'a, T>(
    adapter: &'a Option<T>,
    what: &str,
) -> Result<&'a T, crate::middleware::error::ApiError> {
    adapter.as_ref().ok_or_else(|| {
        crate::middleware::error::ApiError::not_found(format!("this city has not connected {what}"))
    })
}

/// Where tracking links point: the configured public address, or else the address the
/// request came to (`X-Forwarded-Proto` and `Host`, as a proxy passes them).
fn public_base(adapters: &Adapters, headers: &HeaderMap) -> String {
    if let Some(url) = &adapters.public_url {
        return url.clone();
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
        .unwrap_or("localhost");
    let scheme = match headers.get("x-forwarded-proto").map(|p| p.as_bytes()) {
        Some(b"https") => "https",
        _ => "http",
    };
    format!("{scheme}://{host}")
}

/// The header an incoming signed webhook carries, as minhu-notify's outgoing ones do.
pub const SIGNATURE_HEADER: &str = "x-minhu-signature";

/// `sha256=<hex>`: HMAC-SHA256 of the exact body bytes under a shared secret, the form
/// of minhu-notify's webhooks, so a city signs both directions alike.
pub fn webhook_signature(secret: &str, body: &[u8]) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Whether `headers` carry the body's signature under `secret` (compared in constant
/// time).
pub fn signed_webhook(secret: &str, headers: &HeaderMap, body: &[u8]) -> bool {
    let sent = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    verify(sent, &webhook_signature(secret, body))
}

/// A signature compared in constant time.
fn verify(sent: &str, expected: &str) -> bool {
    crate::middleware::auth::constant_time_eq(
        sent.trim().to_ascii_lowercase().as_bytes(),
        expected.as_bytes(),
    )
}
