//! What a citizen is told at each step, and the officials of a ticket gone overdue, in
//! Chinese and in English.

use crate::{AlertMessage, Message};
use minhu_core::event::{Actor, Change, Event};
use minhu_core::timer::EscalationTarget;
use serde::{Deserialize, Serialize};

/// The steps a citizen hears about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Milestone {
    /// 受理: the demand was taken in.
    Received,
    /// 派单: a unit has it (dispatched, or moved by the dispatchers).
    Dispatched,
    /// 签收: the unit accepted it.
    Accepted,
    /// 办结: the unit (or the centre, at intake) answered.
    Resolved,
    /// 并单办结: the main case this ticket was merged into was answered.
    CaseReplied,
    /// 回访: the citizen's verdict was recorded (from the citizen's own hand; a verdict
    /// an agent records on the phone is not thanked for by text).
    Callback,
    /// 延期: the unit was given more time; the citizen hears the new answer-by time.
    Extended,
    /// 重办: the ticket is handled again (the citizen, or the centre, reopened it).
    Reopened,
    /// 并单: the ticket joins a main case about the same matter.
    Merged,
    /// 超期: a deadline passed with the step undone; told to the unit's leader and the
    /// supervisors of the ticket's place, never to the citizen.
    Overdue,
    /// 升级: the overdue ticket went up to the unit's leader or the supervisors (the
    /// message's `escalated_to`); told to them.
    Escalated,
    /// 挂账复核: a long-term ticket's review date has come; told to the supervisors of
    /// its place, never to the citizen.
    ReviewDue,
}

impl Milestone {
    /// The milestone an event is for the citizen, with the reply it carries.
    pub fn of(event: &Event) -> Option<(Milestone, Option<&str>)> {
        Some(match &event.change {
            Change::Created(_) => (Milestone::Received, None),
            // A new unit, after a return too: the message names it.
            Change::Dispatched { .. } | Change::Reassigned { .. } | Change::Redispatched { .. } => {
                (Milestone::Dispatched, None)
            }
            Change::Accepted => (Milestone::Accepted, None),
            Change::Resolved { reply } => (Milestone::Resolved, Some(reply.as_str())),
            Change::AnsweredAtIntake { answer, .. } => (Milestone::Resolved, Some(answer.as_str())),
            Change::CaseReplied { reply, .. } => (Milestone::CaseReplied, Some(reply.as_str())),
            Change::Rated(_) if event.actor == Actor::citizen() => (Milestone::Callback, None),
            Change::ExtensionDecided { approved: true, .. } => (Milestone::Extended, None),
            Change::Reopened { .. } => (Milestone::Reopened, None),
            Change::Merged { .. } => (Milestone::Merged, None),
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Locale {
    #[default]
    #[serde(rename = "zh-CN")]
    ZhCn,
    #[serde(rename = "en")]
    En,
}

/// A rendered message: a subject (for e-mail) and the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
}

pub fn render(message: &Message, ticket: &str) -> Rendered {
    let reply = message.reply.as_deref().unwrap_or_default();
    let unit = message.unit.as_deref().unwrap_or("—");
    let text = match (message.locale, message.milestone) {
        (Locale::ZhCn, Milestone::Received) => {
            format!("您的诉求已受理，工单号 {ticket}。可凭工单号和手机号查询办理进度。")
        }
        (Locale::ZhCn, Milestone::Dispatched) => match &message.unit {
            Some(unit) => format!("您的工单 {ticket} 已转交{unit}办理。"),
            None => format!("您的工单 {ticket} 已转交承办单位办理。"),
        },
        (Locale::ZhCn, Milestone::Accepted) => {
            format!("承办单位已签收您的工单 {ticket}，正在办理。")
        }
        // The rating SMS: the SMS adapter (minhu-web `channels::sms`) reads the answer.
        (Locale::ZhCn, Milestone::Resolved) => {
            format!("您的工单 {ticket} 已办结：{reply} 请评价：回复1满意，2基本满意，3不满意。")
        }
        (Locale::ZhCn, Milestone::CaseReplied) => {
            format!("您的工单 {ticket} 与同一事项的诉求合并办理，现已办结：{reply}")
        }
        (Locale::ZhCn, Milestone::Callback) => {
            format!("感谢您对工单 {ticket} 的办理结果作出评价。")
        }
        (Locale::En, Milestone::Received) => format!(
            "Your request was received as ticket {ticket}. Follow it with the number and your phone."
        ),
        (Locale::En, Milestone::Dispatched) => match &message.unit {
            Some(unit) => format!("Ticket {ticket} was passed to {unit}, which handles it."),
            None => format!("Ticket {ticket} was passed to the unit that handles it."),
        },
        (Locale::ZhCn, Milestone::Extended) => format!(
            "您的工单 {ticket} 办理时间延长，承办单位将于 {} 前答复。",
            message.until.as_deref().unwrap_or("—")
        ),
        (Locale::En, Milestone::Extended) => format!(
            "The unit was given more time for ticket {ticket}; it will answer by {}.",
            message.until.as_deref().unwrap_or("—")
        ),
        (Locale::ZhCn, Milestone::Reopened) => {
            format!("您的工单 {ticket} 已重新办理，承办单位将再次答复。")
        }
        (Locale::En, Milestone::Reopened) => {
            format!("Ticket {ticket} is being handled again; the unit will answer again.")
        }
        (Locale::ZhCn, Milestone::Merged) => format!(
            "您的工单 {ticket} 与同一事项的工单 {} 一并办理，办结后一起答复您。",
            message.case.as_deref().unwrap_or("—")
        ),
        (Locale::En, Milestone::Merged) => format!(
            "Ticket {ticket} is handled together with ticket {} about the same matter; you will hear when it is answered.",
            message.case.as_deref().unwrap_or("—")
        ),
        (Locale::En, Milestone::Accepted) => {
            format!("The unit accepted ticket {ticket} and is working on it.")
        }
        (Locale::En, Milestone::Resolved) => format!(
            "Ticket {ticket} was answered: {reply} Rate it: reply 1 satisfied, 2 mostly satisfied, 3 unsatisfied."
        ),
        (Locale::En, Milestone::CaseReplied) => format!(
            "Ticket {ticket} was handled together with reports of the same matter and answered: {reply}"
        ),
        (Locale::En, Milestone::Callback) => {
            format!("Thank you for rating how ticket {ticket} was handled.")
        }
        (Locale::ZhCn, Milestone::Overdue) => format!(
            "工单 {ticket} 已超过{}，承办单位：{unit}。请督促办理。",
            if message.status == "dispatched" {
                "签收时限"
            } else {
                "办结时限"
            }
        ),
        (Locale::En, Milestone::Overdue) => format!(
            "Ticket {ticket} is past its deadline to {} (unit: {unit}). Please see that it is handled.",
            if message.status == "dispatched" {
                "accept"
            } else {
                "resolve"
            }
        ),
        (Locale::ZhCn, Milestone::Escalated) => format!(
            "工单 {ticket} 超期未办结，已升级至{}，承办单位：{unit}。请督促办理。",
            match message.escalated_to {
                Some(EscalationTarget::Supervisor) => "督办人员",
                _ => "单位领导",
            }
        ),
        (Locale::ZhCn, Milestone::ReviewDue) => format!(
            "挂账工单 {ticket} 已到复核日期，承办单位：{unit}。请复核：设定下次复核日期，或解除挂账。"
        ),
        (Locale::En, Milestone::ReviewDue) => format!(
            "Long-term ticket {ticket} has reached its review date (unit: {unit}). Please review it: set the next review date, or lift it."
        ),
        (Locale::En, Milestone::Escalated) => format!(
            "Ticket {ticket} is overdue and was escalated to {} (unit: {unit}). Please see that it is handled.",
            match message.escalated_to {
                Some(EscalationTarget::Supervisor) => "the supervisors",
                _ => "the unit's leader",
            }
        ),
    };
    Rendered {
        subject: subject(message.locale, ticket),
        text,
    }
}

/// An alert for the people on duty: what, where, since when, against what is normal.
pub fn render_alert(message: &AlertMessage) -> Rendered {
    let zh = message.locale == Locale::ZhCn;
    let place = message
        .place
        .as_deref()
        .unwrap_or(if zh { "全市" } else { "the city" });
    let unit = message.unit.as_deref().unwrap_or_default();
    let category = message.category.as_deref().unwrap_or_default();
    let (observed, expected, since) = (message.observed, message.expected, &message.since);
    let (subject, text) = match (message.locale, message.kind.as_str()) {
        (Locale::ZhCn, "buck_passing") => (
            "【12345】推诿预警".to_owned(),
            format!(
                "推诿预警：{unit} 自 {since} 起的推诿指数（每百件派单中的退回、争议和改派）为 {observed:.1}，超过预警线 {expected:.1}。"
            ),
        ),
        (Locale::ZhCn, _) => (
            "【12345】突发预警".to_owned(),
            format!(
                "突发预警：{place}「{category}」自 {since} 起收到 {observed:.0} 件诉求，通常约 {expected:.1} 件。"
            ),
        ),
        (Locale::En, "buck_passing") => (
            "[12345] Buck-passing warning".to_owned(),
            format!(
                "Buck-passing warning: {unit}'s index since {since} (returns, disputes and redispatches per 100 assignments) is {observed:.1}, above the threshold of {expected:.1}."
            ),
        ),
        (Locale::En, _) => (
            "[12345] Surge alert".to_owned(),
            format!(
                "Surge alert: {place}, \"{category}\": {observed:.0} demands since {since}, where about {expected:.1} are usual."
            ),
        ),
    };
    Rendered { subject, text }
}

/// A citizen's one-time code to follow a ticket (sent at once, never stored in clear).
pub fn follow_code(locale: Locale, ticket: &str, code: &str) -> Rendered {
    let text = match locale {
        Locale::ZhCn => format!("您查询工单 {ticket} 的验证码为 {code}，10 分钟内有效。"),
        Locale::En => {
            format!("Your code to follow ticket {ticket} is {code}; it is valid for 10 minutes.")
        }
    };
    Rendered {
        subject: subject(locale, ticket),
        text,
    }
}

/// The code that links a phone or e-mail address to the channel a citizen asked on.
pub fn link_code(locale: Locale, code: &str) -> Rendered {
    let (subject, text) = match locale {
        Locale::ZhCn => (
            "【12345】绑定验证码".to_owned(),
            format!("您绑定联系方式的验证码为 {code}，10 分钟内有效。如非本人操作，请忽略。"),
        ),
        Locale::En => (
            "[12345] Your link code".to_owned(),
            format!(
                "Your code to link this contact is {code}; it is valid for 10 minutes. Ignore it if you did not ask."
            ),
        ),
    };
    Rendered { subject, text }
}

fn subject(locale: Locale, ticket: &str) -> String {
    match locale {
        Locale::ZhCn => format!("【12345】工单 {ticket}"),
        Locale::En => format!("[12345] Ticket {ticket}"),
    }
}
