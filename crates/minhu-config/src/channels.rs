//! `channels.toml`: which channel adapters a city connects (WeChat's official account
//! first) and what is not secret about them. Secrets (tokens, keys) never live in the
//! directory: the binary reads them from the environment (README, "Channels").

use crate::{ConfigError, Files};
use serde::Deserialize;
use std::path::Path;
use toml::Spanned;

/// The city's channel adapters; an absent file connects none.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChannelSettings {
    /// Where citizens reach the portal (`https://12345.example.gov.cn`), for the
    /// tracking links the adapters send. Without it a link is made from the request's
    /// `Host`.
    pub public_url: Option<String>,
    pub wechat: Option<WechatSettings>,
    /// Whether the SMS gateway's uplink webhooks are connected (`[sms] enabled`).
    pub sms: bool,
    /// Whether the call centre's CTI reports calls (`[phone] enabled`).
    pub phone: bool,
    /// The hotline's mailbox, read over IMAP (`[email]`).
    pub email: Option<EmailSettings>,
}

/// The hotline's IMAP mailbox: citizens' mails to it become demands or follow-ups. The
/// password comes from the environment (`MINHU_IMAP_PASSWORD`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailSettings {
    /// The IMAP server's name (as its certificate names it).
    pub server: String,
    /// Its IMAPS port (TLS from the first byte; 993 unless said).
    pub port: u16,
    pub user: String,
    /// The folder read (`INBOX` unless said).
    pub mailbox: String,
    /// Where handled mails are moved; without it they stay, flagged `\Seen`.
    pub processed_mailbox: Option<String>,
    /// How often the mailbox is read when the server offers no IDLE (and how long an
    /// IDLE waits before it is renewed).
    pub poll_seconds: u64,
    /// A CA to trust besides the host's store (PEM), for a city's own mail server;
    /// relative to the configuration directory.
    pub ca_file: Option<std::path::PathBuf>,
}

/// A WeChat official account (公众号) in server mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WechatSettings {
    /// The account's AppID (`wx` and 16 letters or digits), checked against the safe
    /// mode's envelope.
    pub app_id: String,
    /// The message encryption mode chosen on WeChat's platform.
    pub mode: WechatMode,
}

/// WeChat's 消息加解密方式.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WechatMode {
    /// 明文模式: messages in clear, signed by the URL's `signature`.
    Plain,
    /// 兼容模式: both; encrypted messages need the AES key.
    Compatible,
    /// 安全模式: only encrypted messages are taken.
    Safe,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChannelsFile {
    #[serde(default)]
    public_url: Option<Spanned<String>>,
    #[serde(default)]
    wechat: Option<Spanned<WechatTable>>,
    #[serde(default)]
    sms: Option<Switch>,
    #[serde(default)]
    phone: Option<Switch>,
    #[serde(default)]
    email: Option<Spanned<EmailTable>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailTable {
    #[serde(default = "yes")]
    enabled: bool,
    server: String,
    #[serde(default = "imaps")]
    port: u16,
    user: String,
    #[serde(default = "inbox")]
    mailbox: String,
    #[serde(default)]
    processed_mailbox: Option<String>,
    #[serde(default = "minute")]
    poll_seconds: u64,
    #[serde(default)]
    ca_file: Option<String>,
}

fn imaps() -> u16 {
    993
}

fn inbox() -> String {
    "INBOX".into()
}

fn minute() -> u64 {
    60
}

/// An adapter whose settings are all secret: on or off.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Switch {
    #[serde(default = "yes")]
    enabled: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WechatTable {
    #[serde(default = "yes")]
    enabled: bool,
    app_id: String,
    #[serde(default = "plain")]
    mode: WechatMode,
}

fn yes() -> bool {
    true
}

fn plain() -> WechatMode {
    WechatMode::Plain
}

/// Reads `channels.toml` in `dir` (none connected when it is absent); a mistake names
/// the line.
pub fn load_channels(dir: &Path) -> Result<ChannelSettings, ConfigError> {
    let files = Files::of(dir);
    if !files.exists("channels.toml") {
        return Ok(ChannelSettings::default());
    }
    let source = files.read("channels.toml")?;
    let file: ChannelsFile = source.parse()?;
    let public_url = match file.public_url {
        Some(url) => {
            let text = url.get_ref().trim_end_matches('/');
            let scheme = text
                .strip_prefix("https://")
                .or_else(|| text.strip_prefix("http://"));
            if scheme.is_none_or(|rest| rest.is_empty() || rest.contains(char::is_whitespace)) {
                return Err(source.error(
                    Some(url.span().start),
                    format!("public_url: {text:?} is not an http(s) address"),
                ));
            }
            Some(text.to_owned())
        }
        None => None,
    };
    let wechat = match file.wechat {
        Some(table) if table.get_ref().enabled => {
            let at = table.span().start;
            let table = table.into_inner();
            let id = table.app_id.trim();
            if !(id.starts_with("wx")
                && id.len() == 18
                && id.chars().all(|c| c.is_ascii_alphanumeric()))
            {
                return Err(source.error(
                    Some(at),
                    format!("wechat.app_id: {id:?} is not an AppID (wx and 16 letters or digits)"),
                ));
            }
            Some(WechatSettings {
                app_id: id.to_owned(),
                mode: table.mode,
            })
        }
        _ => None,
    };
    let email = match file.email {
        Some(table) if table.get_ref().enabled => {
            let at = Some(table.span().start);
            let table = table.into_inner();
            let named = |what: &str, text: &str| {
                let text = text.trim();
                if text.is_empty() || text.chars().any(|c| c.is_control()) {
                    Err(source.error(
                        at,
                        format!("email.{what}: {text:?} is empty or holds control characters"),
                    ))
                } else {
                    Ok(text.to_owned())
                }
            };
            if !(5..=3600).contains(&table.poll_seconds) {
                return Err(source.error(at, "email.poll_seconds: 5 to 3600"));
            }
            if table.port == 0 {
                return Err(source.error(at, "email.port: 1 to 65535"));
            }
            Some(EmailSettings {
                server: named("server", &table.server)?,
                port: table.port,
                user: named("user", &table.user)?,
                mailbox: named("mailbox", &table.mailbox)?,
                processed_mailbox: table
                    .processed_mailbox
                    .map(|m| named("processed_mailbox", &m))
                    .transpose()?,
                poll_seconds: table.poll_seconds,
                ca_file: table.ca_file.map(|f| dir.join(f)),
            })
        }
        _ => None,
    };
    Ok(ChannelSettings {
        public_url,
        wechat,
        sms: file.sms.is_some_and(|s| s.enabled),
        phone: file.phone.is_some_and(|s| s.enabled),
        email,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<ChannelSettings, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("channels.toml"), text).unwrap();
        load_channels(dir.path())
    }

    #[test]
    fn a_city_without_the_file_connects_no_channel() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            load_channels(dir.path()).unwrap(),
            ChannelSettings::default()
        );
    }

    #[test]
    fn wechat_is_read_and_a_bad_app_id_is_named_with_its_line() {
        let settings = load(
            "public_url = \"https://12345.example.cn/\"\n[wechat]\napp_id = \"wx0123456789abcdef\"\nmode = \"safe\"\n",
        )
        .unwrap();
        assert_eq!(
            settings.public_url.as_deref(),
            Some("https://12345.example.cn")
        );
        let wechat = settings.wechat.unwrap();
        assert_eq!(wechat.app_id, "wx0123456789abcdef");
        assert_eq!(wechat.mode, WechatMode::Safe);
        assert!(!settings.sms);
        assert!(load("[sms]\n").unwrap().sms);
        assert!(!load("[phone]\nenabled = false\n").unwrap().phone);
        let off = load("[wechat]\nenabled = false\napp_id = \"wx0123456789abcdef\"\n").unwrap();
        assert_eq!(off.wechat, None);
        let error = load("\n[wechat]\napp_id = \"gh_123\"\n").unwrap_err();
        assert_eq!(error.line, Some(2), "{error}");
        assert!(error.problem.contains("wechat.app_id"), "{error}");
        let email = load("[email]\nserver = \"imap.example.cn\"\nuser = \"12345@example.cn\"\nca_file = \"ca.pem\"\n")
            .unwrap()
            .email
            .unwrap();
        assert_eq!(
            (email.port, email.mailbox.as_str(), email.poll_seconds),
            (993, "INBOX", 60)
        );
        assert!(email.ca_file.unwrap().ends_with("ca.pem"));
        let error = load("[email]\nserver = \" \"\nuser = \"u\"\n").unwrap_err();
        assert!(error.problem.contains("email.server"), "{error}");
        let error = load("[email]\nserver = \"s\"\nuser = \"u\"\npoll_seconds = 1\n").unwrap_err();
        assert!(error.problem.contains("email.poll_seconds"), "{error}");
        let error = load("[email]\nserver = \"s\"\nuser = \"u\"\npassword = \"p\"\n").unwrap_err();
        assert!(error.problem.contains("password"), "{error}");
        let error = load("public_url = \"ftp://x\"\n").unwrap_err();
        assert!(error.problem.contains("public_url"), "{error}");
        let error =
            load("[wechat]\napp_id = \"wx0123456789abcdef\"\nsecret = \"s\"\n").unwrap_err();
        assert!(error.problem.contains("secret"), "{error}");
    }
}
