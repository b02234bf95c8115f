//! `notify.toml`: which channels tell whom about which steps, as data.
//!
//! ```toml
//! locale = "zh-CN"                 # or "en": the default language of messages
//! [retry]
//! max_attempts = 8                 # then the row is marked failed
//! first_delay = "30s"              # doubled after each failed attempt ...
//! max_delay = "1h"                 # ... up to this
//!
//! [[channel]]
//! name = "citizen-sms"             # unique; rows name their channel
//! kind = "sms"                     # sms | email | webhook | log
//! url = "https://sms-gateway.example.cn/send"   # or http://
//! ca_file = "city-ca.pem"          # optional: also trust this CA (PEM), for this channel
//! body = '{"mobile":"{phone}","content":"{text}"}'
//! headers = { Authorization = "Bearer ..." }
//! milestones = ["received", "resolved", "case_replied"]   # default: all
//! locale = "en"                    # optional, overrides the default
//! alerts = true                    # also surge and buck-passing alerts (default false)
//! alert_recipients = ["13800000000"]   # who hears them (not for a webhook)
//!
//! [[channel]]
//! name = "citizen-mail"
//! kind = "email"
//! smtp = "smtp://smtp.example.cn"  # port: 587 (starttls), 465 (implicit), 25 (none)
//! tls = "starttls"                 # starttls (default) | implicit | none
//! from = "12345 <noreply@city.example.cn>"
//! username = "noreply@city.example.cn"   # optional SMTP AUTH, with password; TLS only
//! password = "..."
//! ```
//!
//! A relative `ca_file` is read from the directory of `notify.toml`. Certificates are
//! checked against the host's roots and that file: see [`crate::tls`].

use crate::NotifyError;
use crate::templates::{Locale, Milestone};
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    #[serde(default)]
    pub locale: Locale,
    #[serde(default)]
    pub retry: Retry,
    #[serde(default, rename = "channel")]
    pub channels: Vec<ChannelConfig>,
    /// The unit leaders and supervisors told of overdue and escalated tickets, through
    /// the channels that carry them (`officials = true`).
    #[serde(default, rename = "official")]
    pub officials: Vec<Official>,
}

/// A unit's leader or a supervisor, told when a ticket of their unit or place goes
/// overdue or is escalated (`[[official]]`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Official {
    pub role: OfficialRole,
    /// A unit leader's unit (its id in `units.toml`).
    #[serde(default)]
    pub unit: Option<String>,
    /// A supervisor's region (an id in `regions.toml`) and everything inside it; the
    /// whole city when absent.
    #[serde(default)]
    pub region: Option<String>,
    /// Where an SMS (or the log) reaches them.
    #[serde(default)]
    pub phone: Option<String>,
    /// Where an e-mail reaches them.
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OfficialRole {
    UnitLeader,
    Supervisor,
}

impl Default for NotifyConfig {
    /// No channels: nothing is put in the outbox.
    fn default() -> Self {
        Self {
            locale: Locale::default(),
            retry: Retry::default(),
            channels: Vec::new(),
            officials: Vec::new(),
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    #[serde(default = "default_first", with = "duration")]
    pub first_delay: SignedDuration,
    #[serde(default = "default_max", with = "duration")]
    pub max_delay: SignedDuration,
}

fn default_attempts() -> u32 {
    8
}
fn default_first() -> SignedDuration {
    SignedDuration::from_secs(30)
}
fn default_max() -> SignedDuration {
    SignedDuration::from_hours(1)
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            max_attempts: default_attempts(),
            first_delay: default_first(),
            max_delay: default_max(),
        }
    }
}

impl Retry {
    /// When to try again after `attempts` failed attempts, or `None` to give up:
    /// `first_delay`, doubled each time, never more than `max_delay`.
    pub fn next_attempt(&self, attempts: u32, now: Timestamp) -> Option<Timestamp> {
        if attempts >= self.max_attempts {
            return None;
        }
        let factor = 1i32
            .checked_shl(attempts.saturating_sub(1))
            .unwrap_or(i32::MAX);
        let delay = self
            .first_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay);
        now.checked_add(delay).ok()
    }
}

/// "30s", "5m", "1h": jiff's friendly durations.
mod duration {
    use jiff::SignedDuration;
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SignedDuration, D::Error> {
        let text = String::deserialize(d)?;
        let span: jiff::Span = text
            .parse()
            .map_err(|e| serde::de::Error::custom(format!("{text:?} is not a duration: {e}")))?;
        SignedDuration::try_from(span).map_err(serde::de::Error::custom)
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct ChannelConfig {
    pub name: String,
    #[serde(flatten)]
    pub kind: ChannelKind,
    /// The steps this channel tells of; all when absent.
    #[serde(default)]
    pub milestones: Option<Vec<Milestone>>,
    #[serde(default)]
    pub locale: Option<Locale>,
    /// Whether this channel also carries alerts (surges, buck-passing warnings).
    #[serde(default)]
    pub alerts: bool,
    /// The phones or addresses of the people on duty who hear the alerts (a webhook
    /// tells its receiver instead).
    #[serde(default)]
    pub alert_recipients: Vec<String>,
    /// Whether this channel tells the officials (`[[official]]`) of overdue and
    /// escalated tickets (default false).
    #[serde(default)]
    pub officials: bool,
    /// A PEM file of CA certificates trusted by this channel besides the host's roots
    /// (a city's internal CA); relative to the directory of `notify.toml`.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

impl ChannelConfig {
    pub fn wants(&self, milestone: Milestone) -> bool {
        self.milestones
            .as_ref()
            .is_none_or(|wanted| wanted.contains(&milestone))
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChannelKind {
    /// HTTP POST of the message as JSON, signed with HMAC-SHA256 of the body under
    /// `secret` in `X-Minhu-Signature: sha256=<hex>`.
    Webhook { url: String, secret: String },
    /// E-mail to the citizen's address over SMTP: `smtp` is `smtp://host[:port]`,
    /// `tls` how the connection is secured; `username` and `password`, when given, log
    /// in (SMTP AUTH) once the connection is encrypted.
    Email {
        smtp: String,
        from: String,
        #[serde(default)]
        tls: SmtpTls,
        #[serde(default)]
        username: Option<String>,
        #[serde(default)]
        password: Option<String>,
    },
    /// An SMS gateway's HTTP API: POST `body` to `url`, with `{phone}` and `{text}`
    /// replaced (JSON-escaped) and `headers` added.
    Sms {
        url: String,
        #[serde(default = "default_sms_body")]
        body: String,
        #[serde(default = "default_content_type")]
        content_type: String,
        #[serde(default)]
        headers: BTreeMap<String, String>,
    },
    /// The server's log (target `minhu::notify`), phone masked: the demo's "SMS".
    Log,
}

/// How an e-mail channel secures its SMTP connection.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain SMTP, then STARTTLS, required: a server that does not offer it gets no
    /// mail (never the silent fall back to plain text of "opportunistic" TLS).
    /// Submission's usual port, 587, unless the URL names one.
    #[default]
    Starttls,
    /// TLS from the first byte ("SMTPS"); port 465 unless the URL names one.
    Implicit,
    /// No encryption: only for a relay on the same host or a trusted network; port 25
    /// unless the URL names one.
    None,
}

impl SmtpTls {
    pub fn default_port(self) -> u16 {
        match self {
            SmtpTls::Starttls => 587,
            SmtpTls::Implicit => 465,
            SmtpTls::None => 25,
        }
    }
}

fn default_sms_body() -> String {
    r#"{"to":"{phone}","text":"{text}"}"#.into()
}
fn default_content_type() -> String {
    "application/json".into()
}

impl ChannelKind {
    /// Whether a message needs the citizen's phone or address to go anywhere.
    pub fn needs_recipient(&self) -> bool {
        !matches!(self, ChannelKind::Webhook { .. })
    }

    /// An e-mail channel's SMTP login: its username and password, when both are given.
    pub fn smtp_login(&self) -> Option<(&str, &str)> {
        match self {
            ChannelKind::Email {
                username: Some(user),
                password: Some(password),
                ..
            } => Some((user, password)),
            _ => None,
        }
    }
}

impl NotifyConfig {
    /// Reads `path`; errors name the file and the field.
    pub fn load(path: &Path) -> Result<Self, NotifyError> {
        let name = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| NotifyError::Config(format!("{name}: {e}")))?;
        let dir = path.parent().unwrap_or(Path::new(""));
        Self::parse_in(&text, dir).map_err(|e| NotifyError::Config(format!("{name}: {e}")))
    }

    /// A configuration's text, its relative `ca_file`s taken from the current directory.
    pub fn parse(text: &str) -> Result<Self, String> {
        Self::parse_in(text, Path::new(""))
    }

    /// A configuration's text, its relative `ca_file`s taken from `dir`.
    pub fn parse_in(text: &str, dir: &Path) -> Result<Self, String> {
        let mut config: NotifyConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        for channel in &mut config.channels {
            if let Some(file) = &mut channel.ca_file {
                *file = dir.join(&*file);
            }
        }
        config.check()?;
        Ok(config)
    }

    /// Checks that the officials' units and regions are the city's.
    pub fn check_city(&self, city: &minhu_core::City) -> Result<(), NotifyError> {
        for (i, official) in self.officials.iter().enumerate() {
            if let Some(unit) = &official.unit
                && city
                    .units
                    .get(&minhu_core::ids::UnitId::new(unit))
                    .is_none()
            {
                return Err(NotifyError::Config(format!(
                    "notify.toml: official[{i}].unit: no unit has the id {unit:?}"
                )));
            }
            if let Some(region) = &official.region
                && city
                    .regions
                    .get(&minhu_core::ids::RegionId::new(region))
                    .is_none()
            {
                return Err(NotifyError::Config(format!(
                    "notify.toml: official[{i}].region: no region has the id {region:?}"
                )));
            }
        }
        Ok(())
    }

    fn check(&self) -> Result<(), String> {
        for (i, official) in self.officials.iter().enumerate() {
            let field = |f: &str| format!("official[{i}].{f}");
            match (official.role, &official.unit, &official.region) {
                (OfficialRole::UnitLeader, None, _) => {
                    return Err(format!(
                        "{}: a unit leader needs the unit they lead",
                        field("unit")
                    ));
                }
                (OfficialRole::UnitLeader, Some(_), Some(_)) => {
                    return Err(format!(
                        "{}: a unit leader is told of their unit, not of a region",
                        field("region")
                    ));
                }
                (OfficialRole::Supervisor, Some(_), _) => {
                    return Err(format!(
                        "{}: a supervisor is told of a region (or the city), not of a unit",
                        field("unit")
                    ));
                }
                _ => {}
            }
            if official.phone.is_none() && official.email.is_none() {
                return Err(format!(
                    "{}: give a phone or an e-mail address",
                    field("phone")
                ));
            }
        }
        if self.retry.max_attempts == 0 {
            return Err("retry.max_attempts: must be at least 1".into());
        }
        if self.retry.first_delay <= SignedDuration::ZERO {
            return Err("retry.first_delay: must be more than zero".into());
        }
        let mut names = HashSet::new();
        for (i, channel) in self.channels.iter().enumerate() {
            let field = |f: &str| format!("channel[{i}].{f}");
            if channel.name.trim().is_empty() {
                return Err(format!("{}: must not be empty", field("name")));
            }
            if !names.insert(channel.name.as_str()) {
                return Err(format!(
                    "{}: {:?} is used by another channel",
                    field("name"),
                    channel.name
                ));
            }
            let url_is_http = |url: &str| {
                if url.starts_with("https://") || url.starts_with("http://") {
                    Ok(())
                } else {
                    Err(format!(
                        "{}: {url:?} is not an https:// or http:// URL",
                        field("url")
                    ))
                }
            };
            // Whether the channel speaks TLS at all, for its `ca_file`.
            let secured = match &channel.kind {
                ChannelKind::Webhook { url, .. } | ChannelKind::Sms { url, .. } => {
                    url.starts_with("https://")
                }
                ChannelKind::Email { tls, .. } => *tls != SmtpTls::None,
                ChannelKind::Log => false,
            };
            match &channel.kind {
                ChannelKind::Webhook { url, secret } => {
                    url_is_http(url)?;
                    if secret.len() < 16 {
                        return Err(format!(
                            "{}: must be at least 16 characters",
                            field("secret")
                        ));
                    }
                }
                ChannelKind::Sms { url, body, .. } => {
                    url_is_http(url)?;
                    if !body.contains("{text}") {
                        return Err(format!("{}: must contain {{text}}", field("body")));
                    }
                }
                ChannelKind::Email {
                    smtp,
                    from,
                    tls,
                    username,
                    password,
                } => {
                    crate::channel::smtp_address(smtp, *tls)
                        .map_err(|e| format!("{}: {e}", field("smtp")))?;
                    if username.is_some() != password.is_some() {
                        let missing = if username.is_some() {
                            "password"
                        } else {
                            "username"
                        };
                        return Err(format!(
                            "{}: give username and password together",
                            field(missing)
                        ));
                    }
                    if username.is_some() && *tls == SmtpTls::None {
                        return Err(format!(
                            "{}: a password is sent only over TLS (tls = \"starttls\" or \
                             \"implicit\")",
                            field("username")
                        ));
                    }
                    from.parse::<lettre::message::Mailbox>().map_err(|e| {
                        format!("{}: {from:?} is not a mailbox: {e}", field("from"))
                    })?;
                }
                ChannelKind::Log => {}
            }
            if let Some(file) = &channel.ca_file {
                if !secured {
                    return Err(format!(
                        "{}: given, but this channel does not use TLS (an http:// URL, \
                         tls = \"none\" or the log)",
                        field("ca_file")
                    ));
                }
                crate::tls::read_ca_file(file).map_err(|e| format!("{}: {e}", field("ca_file")))?;
            }
            let needs_recipients = channel.alerts && channel.kind.needs_recipient();
            if needs_recipients && channel.alert_recipients.is_empty() {
                return Err(format!(
                    "{}: name who hears the alerts (alerts = true)",
                    field("alert_recipients")
                ));
            }
            if !channel.alerts && !channel.alert_recipients.is_empty() {
                return Err(format!(
                    "{}: alert_recipients are given but alerts is not true",
                    field("alerts")
                ));
            }
            if !channel.kind.needs_recipient() && !channel.alert_recipients.is_empty() {
                return Err(format!(
                    "{}: a webhook tells its receiver; it has no recipients",
                    field("alert_recipients")
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(extra: &str) -> Result<NotifyConfig, String> {
        NotifyConfig::parse(&format!(
            "[[channel]]\nname = \"duty\"\nkind = \"log\"\n{extra}"
        ))
    }

    #[test]
    fn alerts_need_someone_to_hear_them_except_on_a_webhook() {
        let config = channel("alerts = true\nalert_recipients = [\"13900000000\"]").unwrap();
        assert!(config.channels[0].alerts);
        let error = channel("alerts = true").unwrap_err();
        assert!(error.contains("channel[0].alert_recipients"), "{error}");
        let error = channel("alert_recipients = [\"13900000000\"]").unwrap_err();
        assert!(error.contains("channel[0].alerts"), "{error}");
        let hook = "[[channel]]\nname = \"hook\"\nkind = \"webhook\"\n\
                    url = \"http://crm.internal/minhu\"\nsecret = \"0123456789abcdef\"\n";
        assert!(NotifyConfig::parse(&format!("{hook}alerts = true")).is_ok());
        let error = NotifyConfig::parse(&format!(
            "{hook}alerts = true\nalert_recipients = [\"13900000000\"]"
        ))
        .unwrap_err();
        assert!(error.contains("channel[0].alert_recipients"), "{error}");
    }

    #[test]
    fn tls_settings_are_checked_when_the_file_is_read() {
        let hook = |url: &str, extra: &str| {
            NotifyConfig::parse(&format!(
                "[[channel]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{url}\"\n\
                 secret = \"0123456789abcdef\"\n{extra}"
            ))
        };
        assert!(hook("https://crm.example.cn/minhu", "").is_ok());
        let error = hook("ftp://crm.example.cn", "").unwrap_err();
        assert!(error.contains("channel[0].url"), "{error}");
        let error = hook("https://crm.example.cn", "ca_file = \"/no/such/ca.pem\"").unwrap_err();
        assert!(
            error.contains("channel[0].ca_file") && error.contains("cannot be read"),
            "{error}"
        );
        let dir = tempfile::tempdir().unwrap();
        let not_pem = dir.path().join("ca.pem");
        std::fs::write(&not_pem, "not a certificate").unwrap();
        let line = format!("ca_file = '{}'", not_pem.display());
        let error = hook("https://crm.example.cn", &line).unwrap_err();
        assert!(
            error.contains("channel[0].ca_file") && error.contains("no PEM certificate"),
            "{error}"
        );
        let error = hook("http://crm.internal", &line).unwrap_err();
        assert!(
            error.contains("channel[0].ca_file") && error.contains("does not use TLS"),
            "{error}"
        );

        let mail = |smtp: &str, extra: &str| {
            NotifyConfig::parse(&format!(
                "[[channel]]\nname = \"mail\"\nkind = \"email\"\nsmtp = \"{smtp}\"\n\
                 from = \"12345 <noreply@city.example.cn>\"\n{extra}"
            ))
        };
        let config = mail("smtp://smtp.example.cn", "").unwrap();
        let ChannelKind::Email { tls, .. } = config.channels[0].kind else {
            panic!("{config:?}");
        };
        assert_eq!((tls, tls.default_port()), (SmtpTls::Starttls, 587));
        assert!(mail("smtp://smtp.example.cn", "tls = \"implicit\"").is_ok());
        let error = mail("smtps://smtp.example.cn", "").unwrap_err();
        assert!(
            error.contains("channel[0].smtp") && error.contains("tls = \"implicit\""),
            "{error}"
        );
        let error = mail("smtp://smtp.example.cn", "tls = \"ssl\"").unwrap_err();
        assert!(
            error.contains("ssl") && error.contains("starttls"),
            "{error}"
        );
        let login = "username = \"noreply\"\npassword = \"a password\"";
        assert!(mail("smtp://smtp.example.cn", login).is_ok());
        let error = mail("smtp://smtp.example.cn", "username = \"noreply\"").unwrap_err();
        assert!(error.contains("channel[0].password"), "{error}");
        let error = mail("smtp://relay.internal", &format!("tls = \"none\"\n{login}")).unwrap_err();
        assert!(
            error.contains("channel[0].username") && error.contains("only over TLS"),
            "{error}"
        );
        let error = mail("smtp://relay.internal", &format!("tls = \"none\"\n{line}")).unwrap_err();
        assert!(error.contains("channel[0].ca_file"), "{error}");
    }
}
