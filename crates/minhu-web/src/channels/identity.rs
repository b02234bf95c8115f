//! One citizen across channels: a citizen writing on WeChat (or by SMS) links their
//! phone or e-mail address to it by confirming a code sent there, and the console
//! then shows the demands of every linked identity as one history.
//!
//! `绑定手机 13812345678` (or `link phone ...`, `绑定邮箱 a@b.cn`, `link email ...`)
//! sends a six-digit code to that phone (SMS) or address (e-mail); the code answered
//! on the channel that asked links the two. A code lives ten minutes, is kept only as
//! a digest, is used once, and allows five tries, each counted in the store before it
//! is compared; a phone or address is sent at most five codes a day. Each request and
//! each link is audited (`identity.link_asked`, `identity.link`), the values masked.

use super::conversation::{Outcome, Part};
use crate::AppState;
use crate::api::audit;
use crate::middleware::auth::{Principal, constant_time_eq};
use crate::middleware::error::ApiError;
use minhu_core::access::{Permission, mask_email, mask_phone};
use minhu_core::ticket::{Channel, Ticket};
use minhu_engine::records::{Identity, LinkCode, TicketFilter};
use std::collections::HashSet;

/// How long a link code is valid.
pub const CODE_MINUTES: i64 = 10;
/// Tries at one code.
pub const CODE_TRIES: u32 = 5;
/// Codes one phone or address may be sent per day.
pub const CODES_PER_TARGET_DAY: u32 = 5;

/// Identity kinds.
pub const PHONE: &str = "phone";
pub const WECHAT: &str = "wechat";
pub const EMAIL: &str = "email";

fn identity(kind: &str, value: &str) -> Identity {
    Identity {
        kind: kind.to_owned(),
        value: value.to_owned(),
    }
}

/// The identity a channel's contact is: an SMS sender's phone, an OpenID, an address.
pub(crate) fn of_contact(channel: Channel, contact: &str) -> Option<Identity> {
    let kind = match channel {
        Channel::Sms => PHONE,
        Channel::Wechat => WECHAT,
        Channel::Email => EMAIL,
        _ => return None,
    };
    Some(identity(kind, contact))
}

/// The channel and contact under which an identity's demands were filed.
fn contact_of(identity: &Identity) -> Option<(String, String)> {
    let channel = match identity.kind.as_str() {
        PHONE => Channel::Sms,
        WECHAT => Channel::Wechat,
        EMAIL => Channel::Email,
        _ => return None,
    };
    Some((channel.code().to_owned(), identity.value.clone()))
}

/// A mainland mobile as the tickets keep it: 11 digits, without `+86`.
pub(crate) fn mainland_mobile(raw: &str) -> Option<String> {
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    let digits = match digits.strip_prefix("86") {
        Some(rest) if rest.len() == 11 => rest.to_owned(),
        _ => digits,
    };
    (digits.len() == 11 && digits.starts_with('1')).then_some(digits)
}

/// An identity as the audit log and the citizen's answers show it.
fn masked(identity: &Identity) -> String {
    match identity.kind.as_str() {
        PHONE => mask_phone(&identity.value),
        EMAIL => mask_email(&identity.value),
        _ => {
            let head: String = identity.value.chars().take(6).collect();
            format!("{head}…")
        }
    }
}

/// What a link request asks to link: `Err` names what is wrong with it.
fn link_request(text: &str) -> Option<Result<Identity, &'static str>> {
    let text = text.trim();
    let lower = text.to_lowercase();
    let rest = ["绑定手机", "绑定邮箱", "绑定", "link phone", "link email"]
        .iter()
        .find_map(|prefix| lower.strip_prefix(prefix))?;
    let rest = rest.trim().trim_start_matches([':', '：']).trim();
    if rest.is_empty() {
        return None;
    }
    Some(if rest.contains('@') {
        let valid = rest.len() <= 254
            && !rest.chars().any(char::is_whitespace)
            && rest
                .split_once('@')
                .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'));
        if valid {
            Ok(identity(EMAIL, rest))
        } else {
            Err("这不是有效的邮箱地址。\nThat is not an e-mail address.")
        }
    } else {
        mainland_mobile(rest)
            .map(|phone| identity(PHONE, &phone))
            .ok_or("这不是有效的手机号码。\nThat is not a mainland mobile number.")
    })
}

fn code_hash(channel: &str, contact: &str, code: &str) -> String {
    minhu_engine::accounts::digest(&format!("link:{channel}:{contact}:{code}"))
}

fn told(text: impl Into<String>) -> Outcome {
    Outcome::Told(text.into())
}

/// A link request or a code answering one; `None` for any other message.
pub(crate) async fn handle(
    state: &AppState,
    channel: Channel,
    contact: &str,
    part: &Part,
) -> Result<Option<Outcome>, ApiError> {
    let Part::Text { text } = part else {
        return Ok(None);
    };
    let Some(own) = of_contact(channel, contact) else {
        return Ok(None);
    };
    let text = text.trim();
    if let Some(request) = link_request(text) {
        return match request {
            Ok(target) => ask(state, channel, contact, own, target).await.map(Some),
            Err(problem) => Ok(Some(told(problem))),
        };
    }
    if text.len() == 6 && text.bytes().all(|b| b.is_ascii_digit()) {
        return confirm(state, channel, contact, own, text).await.map(Some);
    }
    Ok(None)
}

/// Sends a code to `target` for linking it to `own`.
async fn ask(
    state: &AppState,
    channel: Channel,
    contact: &str,
    own: Identity,
    target: Identity,
) -> Result<Outcome, ApiError> {
    if target == own || target.kind == own.kind {
        return Ok(told(
            "只能绑定另一种联系方式（手机、邮箱）。\nLink a different kind of contact (a phone, an e-mail address).",
        ));
    }
    let now = state.engine.now();
    let day = state.engine.city().local_date(now);
    let subject = format!(
        "link:{}",
        minhu_engine::accounts::digest(&format!("{}:{}", target.kind, target.value))
    );
    if !state
        .engine
        .follow()
        .count_sent(&subject, day, CODES_PER_TARGET_DAY)
        .await?
    {
        return Ok(told(
            "今日发送验证码次数已达上限，请明天再试。\nToo many codes today; try again tomorrow.",
        ));
    }
    let code = format!("{:06}", rand::random_range(0..1_000_000u32));
    let code_channel = channel.code();
    state
        .engine
        .channels()
        .put_link_code(&LinkCode {
            channel: code_channel.to_owned(),
            contact: contact.to_owned(),
            target: target.clone(),
            code_hash: code_hash(code_channel, contact, &code),
            expires_at: now + jiff::SignedDuration::from_mins(CODE_MINUTES),
            attempts: 0,
        })
        .await?;
    state
        .codes
        .send_link_code(&target.kind, &target.value, &code);
    let shown = masked(&target);
    let detail = format!(
        "{} {} asked to link {} {shown}",
        own.kind,
        masked(&own),
        target.kind
    );
    audit::record(
        state,
        format!("channel:{code_channel}"),
        "identity.link_asked",
        None,
        &detail,
        None,
    )
    .await?;
    Ok(told(format!(
        "验证码已发送至 {shown}，请在 {CODE_MINUTES} 分钟内回复 6 位验证码完成绑定。\n\
         A code was sent to {shown}; reply with its 6 digits within {CODE_MINUTES} minutes to link it."
    )))
}

/// Links the contact to the identity its live code was sent to, if `code` is it.
async fn confirm(
    state: &AppState,
    channel: Channel,
    contact: &str,
    own: Identity,
    code: &str,
) -> Result<Outcome, ApiError> {
    let code_channel = channel.code();
    let threads = state.engine.channels();
    let Some(stored) = threads
        .claim_link_try(code_channel, contact, CODE_TRIES)
        .await?
    else {
        return Ok(told(
            "验证码无效或已过期，请重新发送绑定请求。\nThe code is expired or used up; ask for a new one.",
        ));
    };
    let hash = code_hash(code_channel, contact, code);
    if !constant_time_eq(hash.as_bytes(), stored.code_hash.as_bytes())
        || !threads.use_link_code(code_channel, contact, &hash).await?
    {
        let left = CODE_TRIES.saturating_sub(stored.attempts);
        return Ok(told(format!(
            "验证码不正确，还可尝试 {left} 次。\nWrong code; {left} tries left."
        )));
    }
    threads.link(&own, &stored.target).await?;
    let shown = masked(&stored.target);
    let detail = format!(
        "{} {} linked to {} {shown}",
        own.kind,
        masked(&own),
        stored.target.kind
    );
    audit::record(
        state,
        format!("channel:{code_channel}"),
        "identity.link",
        None,
        &detail,
        None,
    )
    .await?;
    Ok(told(format!(
        "绑定成功：{shown} 已与您的账号关联，您的诉求将合并显示。\n\
         Linked: {shown} is now yours; your demands are shown together."
    )))
}

/// Whom a ticket's citizen is, for their history: the phone, else the e-mail address.
pub(crate) fn of_citizen(ticket: &Ticket) -> Option<Identity> {
    let citizen = &ticket.intake.citizen;
    match citizen.phone.as_deref().and_then(mainland_mobile) {
        Some(phone) => Some(identity(PHONE, &phone)),
        None => citizen
            .email
            .as_deref()
            .map(|e| identity(EMAIL, &e.trim().to_lowercase())),
    }
}

/// The latest demands of `start` and every identity linked to it, as `principal` may
/// read them, newest first.
pub(crate) async fn history(
    state: &AppState,
    principal: &Principal,
    start: Identity,
    limit: u32,
) -> Result<Vec<Ticket>, ApiError> {
    let linked = state.engine.channels().linked(&start).await?;
    let reader = principal.reader();
    let may_see = principal.may(Permission::ViewIdentity);
    let mut tickets = Vec::new();
    for phone in linked.iter().filter(|i| i.kind == PHONE) {
        let filter = TicketFilter {
            phone: Some(phone.value.clone()),
            identity: may_see,
            limit,
            ..TicketFilter::default()
        };
        tickets.extend(state.engine.list_for(&reader, &filter).await?.tickets);
    }
    let contacts: Vec<(String, String)> = linked.iter().filter_map(contact_of).collect();
    let mut seen: HashSet<String> = tickets.iter().map(|t| t.number.to_string()).collect();
    let numbers: Vec<String> = state
        .engine
        .channels()
        .tickets_of(&contacts)
        .await?
        .into_iter()
        .filter(|n| seen.insert(n.clone()))
        .collect();
    if !numbers.is_empty() {
        let filter = TicketFilter {
            numbers: Some(numbers),
            identity: may_see,
            limit,
            ..TicketFilter::default()
        };
        tickets.extend(state.engine.list_for(&reader, &filter).await?.tickets);
    }
    tickets.sort_by_key(|t| std::cmp::Reverse(t.created_at));
    tickets.truncate(limit as usize);
    Ok(tickets)
}

/// Whether `sender` (an e-mail address) is the citizen who filed `ticket`: its
/// address, or an identity linked to the sender's.
pub(crate) async fn filed_by(
    state: &AppState,
    ticket: &Ticket,
    sender: &str,
) -> Result<bool, ApiError> {
    let citizen = &ticket.intake.citizen;
    if citizen
        .email
        .as_deref()
        .is_some_and(|e| e.trim().eq_ignore_ascii_case(sender))
    {
        return Ok(true);
    }
    let linked = state
        .engine
        .channels()
        .linked(&identity(EMAIL, sender))
        .await?;
    let phone = citizen.phone.as_deref().and_then(mainland_mobile);
    Ok(linked.iter().any(|i| {
        (i.kind == PHONE && phone.as_deref() == Some(i.value.as_str()))
            || (i.kind == EMAIL
                && citizen
                    .email
                    .as_deref()
                    .is_some_and(|e| e.trim().eq_ignore_ascii_case(&i.value)))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_requests_are_read_and_bad_targets_named() {
        assert_eq!(
            link_request("绑定手机 +86 138-1234-5678").unwrap().unwrap(),
            identity(PHONE, "13812345678")
        );
        assert_eq!(
            link_request("Link email: Li@Example.cn").unwrap().unwrap(),
            identity(EMAIL, "li@example.cn")
        );
        assert!(link_request("绑定手机 12345").unwrap().is_err());
        assert!(link_request("绑定邮箱 not-an-address@").unwrap().is_err());
        assert!(link_request("路灯坏了").is_none());
        assert!(link_request("绑定").is_none());
    }
}
