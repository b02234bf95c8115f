//! WeChat official account (公众号) in server mode, at `/channels/wechat`.
//!
//! WeChat's servers check the URL with a GET (`signature` = SHA-1 of the sorted token,
//! `timestamp` and `nonce`; the answer is `echostr`), then POST each message a citizen
//! sends as XML and show the citizen the XML answered within five seconds (a passive
//! reply). Unanswered, a message is sent again, up to three times: the message's
//! `MsgId` is claimed before anything is done, so a retry never files twice.
//!
//! In safe mode (安全模式) the message comes in an `<Encrypt>` envelope: AES-256-CBC
//! with the account's EncodingAESKey (43 characters of base64, the key; its first 16
//! bytes the IV), PKCS#7 padded to 32 bytes, holding 16 random bytes, the message's
//! length (4 bytes, big-endian), the message and the AppID; the envelope is signed
//! (`msg_signature`: SHA-1 of the sorted token, timestamp, nonce and envelope), and the
//! reply goes back in one.

use super::conversation::{self, Message, Part};
use super::{public_base, verify};
use crate::AppState;
use crate::api::audit::{self, Client};
use crate::middleware::error::ApiError;
use aes::Aes256;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use minhu_config::channels::{WechatMode, WechatSettings};
use minhu_core::ticket::{Channel, Citizen};
use serde::Deserialize;
use sha1::{Digest, Sha1};

/// The environment variable holding the token set on WeChat's platform (服务器配置).
pub const TOKEN_VAR: &str = "MINHU_WECHAT_TOKEN";
/// The environment variable holding the EncodingAESKey (safe and compatible modes).
pub const AES_KEY_VAR: &str = "MINHU_WECHAT_AES_KEY";

/// WeChat pads the envelope's plain text to a multiple of 32 bytes.
const PAD_BLOCK: usize = 32;

/// A connected official account: its settings and secrets.
pub struct Account {
    app_id: String,
    mode: WechatMode,
    token: String,
    key: Option<[u8; 32]>,
}

impl Account {
    /// The account of `settings` with its token and, in safe or compatible mode, its
    /// EncodingAESKey.
    pub fn new(
        settings: &WechatSettings,
        token: &str,
        aes_key: Option<&str>,
    ) -> Result<Account, String> {
        let token = token.trim();
        if !(3..=32).contains(&token.len()) || !token.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(format!(
                "{TOKEN_VAR}: WeChat's token is 3-32 letters or digits"
            ));
        }
        let key = match aes_key.map(str::trim).filter(|k| !k.is_empty()) {
            Some(text) => Some(decode_key(text)?),
            None if settings.mode != WechatMode::Plain => {
                return Err(format!(
                    "{AES_KEY_VAR}: the WeChat account's mode is {:?}, which needs its EncodingAESKey",
                    settings.mode
                ));
            }
            None => None,
        };
        Ok(Account {
            app_id: settings.app_id.clone(),
            mode: settings.mode,
            token: token.to_owned(),
            key,
        })
    }
}

/// An EncodingAESKey (43 characters) as the AES key it encodes. WeChat makes keys
/// whose last character has bits past the key's 256 (its own sample's does), which a
/// strict decoder refuses.
fn decode_key(text: &str) -> Result<[u8; 32], String> {
    let lenient = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
    );
    let bytes = lenient
        .decode(format!("{text}="))
        .ok()
        .filter(|_| text.len() == 43);
    bytes
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| format!("{AES_KEY_VAR}: an EncodingAESKey is 43 characters of base64"))
}

/// WeChat's signature: the SHA-1, in hex, of the parts sorted and joined.
pub fn signature(parts: &[&str]) -> String {
    let mut sorted = parts.to_vec();
    sorted.sort_unstable();
    hex::encode(Sha1::digest(sorted.concat().as_bytes()))
}

/// The query string WeChat puts on every request.
#[derive(Deserialize)]
struct Signed {
    #[serde(default)]
    signature: Option<String>,
    #[serde(default)]
    timestamp: String,
    #[serde(default)]
    nonce: String,
    #[serde(default)]
    echostr: Option<String>,
    #[serde(default)]
    encrypt_type: Option<String>,
    #[serde(default)]
    msg_signature: Option<String>,
    // WeChat also sends the sender's `openid`; the message names them, signed.
}

fn signed(query: Option<&str>) -> Result<Signed, ApiError> {
    serde_urlencoded::from_str(query.unwrap_or_default())
        .map_err(|e| ApiError::malformed(None, format!("the query string: {e}")))
}

fn account(state: &AppState) -> Result<&Account, ApiError> {
    super::connected(&state.channels.wechat, "a WeChat account")
}

/// Refuses a request whose signature does not hold, leaving a trace in the audit log.
async fn refuse(state: &AppState, client: Option<String>, what: &str) -> ApiError {
    if let Err(error) = audit::record(
        state,
        "channel:wechat".into(),
        "channel.refused",
        None,
        what,
        client,
    )
    .await
    {
        return error;
    }
    ApiError::bad_signature(what)
}

/// WeChat's check of the server URL (服务器地址验证).
pub(super) async fn check_url(
    State(state): State<AppState>,
    Client(client): Client,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let account = account(&state)?;
    let query = signed(query.as_deref())?;
    let expected = signature(&[&account.token, &query.timestamp, &query.nonce]);
    if !verify(query.signature.as_deref().unwrap_or_default(), &expected) {
        return Err(refuse(&state, client, "signature: does not match the token").await);
    }
    let echo = query.echostr.unwrap_or_default();
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], echo).into_response())
}

/// A message as WeChat sends it (only the fields minhu reads; WeChat adds others).
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Incoming {
    to_user_name: String,
    from_user_name: String,
    create_time: i64,
    msg_type: String,
    content: Option<String>,
    msg_id: Option<String>,
    pic_url: Option<String>,
    #[serde(rename = "Location_X")]
    location_x: Option<f64>,
    #[serde(rename = "Location_Y")]
    location_y: Option<f64>,
    label: Option<String>,
    /// Speech recognised from a voice message, when the account has it on.
    recognition: Option<String>,
    event: Option<String>,
}

/// The safe mode's envelope.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Envelope {
    encrypt: String,
}

fn xml<T: for<'de> Deserialize<'de>>(text: &str, what: &str) -> Result<T, ApiError> {
    quick_xml::de::from_str(text).map_err(|e| ApiError::malformed(None, format!("{what}: {e}")))
}

/// A message from WeChat: read (and in safe mode opened), answered with a passive reply.
pub(super) async fn receive(
    State(state): State<AppState>,
    Client(client): Client,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let account = account(&state)?;
    let query = signed(query.as_deref())?;
    let body = std::str::from_utf8(&body)
        .map_err(|_| ApiError::malformed(None, "the message is not UTF-8 XML"))?;
    let encrypted = query.encrypt_type.as_deref() == Some("aes");
    let message: Incoming = if encrypted {
        let Some(key) = &account.key else {
            return Err(ApiError::malformed(
                Some("encrypt_type".into()),
                format!("an encrypted message, but {AES_KEY_VAR} is not set"),
            ));
        };
        let envelope: Envelope = xml(body, "the envelope")?;
        let expected = signature(&[
            &account.token,
            &query.timestamp,
            &query.nonce,
            &envelope.encrypt,
        ]);
        if !verify(
            query.msg_signature.as_deref().unwrap_or_default(),
            &expected,
        ) {
            return Err(refuse(&state, client, "msg_signature: does not match the envelope").await);
        }
        let (inner, app_id) = open_envelope(key, &envelope.encrypt)
            .map_err(|problem| ApiError::malformed(Some("Encrypt".into()), problem))?;
        if app_id != account.app_id {
            return Err(refuse(&state, client, "Encrypt: sealed for another AppID").await);
        }
        xml(&inner, "the message")?
    } else {
        if account.mode == WechatMode::Safe {
            return Err(ApiError::malformed(
                Some("encrypt_type".into()),
                "this account is in safe mode: messages must be encrypted",
            ));
        }
        let expected = signature(&[&account.token, &query.timestamp, &query.nonce]);
        if !verify(query.signature.as_deref().unwrap_or_default(), &expected) {
            return Err(refuse(&state, client, "signature: does not match the token").await);
        }
        xml(body, "the message")?
    };
    let Some(text) = answer(&state, &message, &headers, client).await? else {
        // WeChat's own word for "no reply": nothing is shown, nothing is sent again.
        return Ok((
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "success",
        )
            .into_response());
    };
    let now = state.engine.now().as_second();
    let reply = text_reply(&message.from_user_name, &message.to_user_name, now, &text);
    let reply = if encrypted {
        let key = account.key.as_ref().expect("checked above");
        let nonce = format!("{}", rand::random_range(100_000_000..1_000_000_000u32));
        let sealed = seal_envelope(key, &account.app_id, &reply);
        let timestamp = now.to_string();
        let signed = signature(&[&account.token, &timestamp, &nonce, &sealed]);
        format!(
            "<xml><Encrypt>{}</Encrypt><MsgSignature>{}</MsgSignature><TimeStamp>{timestamp}</TimeStamp><Nonce>{}</Nonce></xml>",
            cdata(&sealed),
            cdata(&signed),
            cdata(&nonce)
        )
    } else {
        reply
    };
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        reply,
    )
        .into_response())
}

/// What to tell the citizen about their message; `None` for events that need no reply.
async fn answer(
    state: &AppState,
    message: &Incoming,
    headers: &HeaderMap,
    client: Option<String>,
) -> Result<Option<String>, ApiError> {
    let openid = message.from_user_name.trim();
    if openid.is_empty() || openid.len() > 64 {
        return Err(ApiError::malformed(
            Some("FromUserName".into()),
            "the sender's OpenID is missing or too long",
        ));
    }
    let part = match message.msg_type.as_str() {
        "event" => {
            return Ok(match message.event.as_deref() {
                Some("subscribe") => Some(
                    "欢迎关注！直接发送文字、图片或位置即可反映诉求，我们会回复工单号。\n\
                     Welcome! Send words, a photo or your location to report a problem; \
                     we reply with a ticket number."
                        .to_owned(),
                ),
                _ => None,
            });
        }
        "text" => Part::Text {
            text: message.content.clone().unwrap_or_default(),
        },
        "voice"
            if message
                .recognition
                .as_deref()
                .is_some_and(|r| !r.trim().is_empty()) =>
        {
            Part::Text {
                text: message.recognition.clone().unwrap_or_default(),
            }
        }
        "image" => Part::Photo {
            url: message.pic_url.clone().unwrap_or_default(),
        },
        "location" => match (message.location_x, message.location_y) {
            (Some(lat), Some(lon)) => Part::Place {
                lat,
                lon,
                label: message.label.clone().filter(|l| !l.trim().is_empty()),
            },
            _ => {
                return Err(ApiError::malformed(
                    Some("Location_X".into()),
                    "a location message needs Location_X and Location_Y",
                ));
            }
        },
        _ => {
            return Ok(Some(
                "请发送文字、图片或位置。\nPlease send words, a photo or a location.".to_owned(),
            ));
        }
    };
    if let Part::Text { text } = &part
        && text.trim().is_empty()
    {
        return Ok(Some(
            "请用文字说明您要反映的问题。\nPlease tell us in words what it is about.".into(),
        ));
    }
    // Events carry no MsgId; a message always does, but a sender and a second name one.
    let id = message
        .msg_id
        .clone()
        .filter(|id| !id.trim().is_empty())
        .unwrap_or_else(|| format!("{openid}:{}", message.create_time));
    let outcome = conversation::receive(
        state,
        Channel::Wechat,
        openid,
        Citizen::default(),
        Message { id, part },
        client,
    )
    .await?;
    let base = public_base(&state.channels, headers);
    Ok(Some(outcome.words(&base)))
}

/// Text in a CDATA section (a `]]>` inside is split across two).
fn cdata(text: &str) -> String {
    format!("<![CDATA[{}]]>", text.replace("]]>", "]]]]><![CDATA[>"))
}

/// A passive text reply (被动回复文本消息).
fn text_reply(to: &str, from: &str, at: i64, content: &str) -> String {
    format!(
        "<xml><ToUserName>{}</ToUserName><FromUserName>{}</FromUserName><CreateTime>{at}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content>{}</Content></xml>",
        cdata(to),
        cdata(from),
        cdata(content)
    )
}

/// Opens a safe-mode envelope: the message and the AppID it was sealed for.
pub fn open_envelope(key: &[u8; 32], sealed: &str) -> Result<(String, String), String> {
    let bytes = BASE64
        .decode(sealed.trim())
        .map_err(|_| "is not base64".to_owned())?;
    if bytes.is_empty() || bytes.len() % 16 != 0 {
        return Err("is not a whole number of AES blocks".into());
    }
    let plain = cbc::Decryptor::<Aes256>::new_from_slices(key, &key[..16])
        .map_err(|e| e.to_string())?
        .decrypt_padded_vec::<NoPadding>(&bytes)
        .map_err(|_| "cannot be decrypted with the EncodingAESKey".to_owned())?;
    let pad = usize::from(*plain.last().unwrap_or(&0));
    if !(1..=PAD_BLOCK).contains(&pad) || pad > plain.len() {
        return Err("cannot be decrypted with the EncodingAESKey (bad padding)".into());
    }
    let plain = &plain[..plain.len() - pad];
    let length = plain
        .get(16..20)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or("is too short")?;
    let message = plain
        .get(20..20 + length)
        .ok_or("names a length it lacks")?;
    let app_id = &plain[20 + length..];
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| "is not UTF-8".to_owned());
    Ok((text(message)?, text(app_id)?))
}

/// Seals `message` for `app_id` as WeChat's safe mode does (base64).
pub fn seal_envelope(key: &[u8; 32], app_id: &str, message: &str) -> String {
    let mut plain: Vec<u8> = (0..16).map(|_| rand::random::<u8>()).collect();
    let length = u32::try_from(message.len()).unwrap_or(u32::MAX);
    plain.extend_from_slice(&length.to_be_bytes());
    plain.extend_from_slice(message.as_bytes());
    plain.extend_from_slice(app_id.as_bytes());
    let pad = PAD_BLOCK - plain.len() % PAD_BLOCK;
    plain.extend(std::iter::repeat_n(pad as u8, pad));
    let sealed = cbc::Encryptor::<Aes256>::new_from_slices(key, &key[..16])
        .expect("a 32-byte key and a 16-byte IV")
        .encrypt_padded_vec::<NoPadding>(&plain);
    BASE64.encode(sealed)
}
