//! Events: the append-only history of a ticket (留痕). Each records who did what, when
//! and why. They are stored as they are and never changed.

use crate::deadline::{Deadlines, TierCode};
use crate::duty::DutyBasis;
use crate::ids::{CityId, RegionId, TicketNumber, UnitId};
use crate::taxonomy::CategoryPath;
use crate::ticket::{Attachment, Channel, CheckKind, Intake, PlaceReading, Rating};
use crate::timer::{DeadlineKind, EscalationTarget};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

code_enum!(
    /// The parts of minhu that act by themselves (`system:<part>`).
    SystemPart {
        /// Places, classifies and dispatches new demands.
        Router = "router" / "派单系统" / "Routing",
        /// Fires warnings, overdue marks, escalations and callback reminders.
        Timers = "timers" / "时限提醒" / "Deadline timers",
        /// Answers merged tickets with their main case's reply.
        Cases = "cases" / "并单处理" / "Merged cases",
        /// Brings in tickets from another system's export.
        Import = "import" / "数据导入" / "Data import",
        /// Plays the demo's history.
        Demo = "demo" / "演示数据" / "Demo data",
        /// Records the demo's callbacks.
        Callback = "callback" / "回访系统" / "Callback system",
        /// Sign-in counters and locks (audit log).
        Login = "login" / "登录保护" / "Sign-in protection",
        /// The command line (`system:cli:<who>` in the audit log).
        Cli = "cli" / "命令行" / "Command line",
        /// The load generators.
        Bench = "bench" / "压力测试" / "Load test",
        /// City systems' sensors and cameras (一网统管), through the signed webhook.
        Sensors = "sensors" / "城市感知" / "City sensors",
    }
);

/// Who caused an event: `citizen`, `system:<part>`, `user:<login>` or `token:<name>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Actor(String);

/// An [`Actor`] read apart, for showing it: people are named by the layer that knows
/// their names, parts of the system by their [`SystemPart`] label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who<'a> {
    Citizen,
    /// `system:<part>`, with what follows the part (`system:cli:<who>`).
    System(SystemPart, Option<&'a str>),
    /// An official's login.
    User(&'a str),
    /// An API token's name.
    Token(&'a str),
    /// Nobody signed in (the audit log's refused requests).
    Anonymous,
    /// Anything else a stored row holds.
    Other(&'a str),
}

impl Actor {
    pub fn citizen() -> Self {
        Self("citizen".into())
    }
    pub fn system(part: SystemPart) -> Self {
        Self(format!("system:{}", part.code()))
    }
    pub fn user(login: &str) -> Self {
        Self(format!("user:{login}"))
    }
    /// An API client acting with a token (an integration, a script).
    pub fn token(name: &str) -> Self {
        Self(format!("token:{name}"))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Who this is, read apart.
    pub fn who(&self) -> Who<'_> {
        Who::of(&self.0)
    }
}

impl<'a> Who<'a> {
    /// Reads an actor as stored (events, the audit log).
    pub fn of(actor: &'a str) -> Who<'a> {
        if actor == "citizen" {
            return Who::Citizen;
        }
        if actor == "anonymous" {
            return Who::Anonymous;
        }
        if let Some(rest) = actor.strip_prefix("system:") {
            let (part, detail) = match rest.split_once(':') {
                Some((part, detail)) => (part, Some(detail)),
                None => (rest, None),
            };
            return SystemPart::from_code(part)
                .map_or(Who::Other(actor), |part| Who::System(part, detail));
        }
        if let Some(login) = actor.strip_prefix("user:") {
            return Who::User(login);
        }
        actor
            .strip_prefix("token:")
            .map_or(Who::Other(actor), Who::Token)
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    /// 1 for `created`, then one more per event.
    pub seq: u32,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    pub actor: Actor,
    #[serde(flatten)]
    pub change: Change,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Change {
    Created(Intake),
    /// Routing read the demand's place from its words (at intake, before it places or
    /// routes it).
    PlaceRead(PlaceReading),
    Reclassified {
        category: Option<CategoryPath>,
        region: Option<RegionId>,
        tier: Option<TierCode>,
        /// Why, written when the change is made: routing's reading of the text (the
        /// urgency words behind a tier, the place named) or a person's words.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    Dispatched {
        unit: UnitId,
        deadlines: Deadlines,
        /// The dispatcher's words (routing's: how it decided); empty when none were given.
        reason: String,
        /// The duty-list rule that names this unit for the ticket, when it does.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        basis: Option<DutyBasis>,
    },
    Accepted,
    Returned {
        reason: String,
    },
    Redispatched {
        unit: UnitId,
        reason: String,
        /// The sub-unit's own response deadline (the resolution deadline stays).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
        respond_by: Option<Timestamp>,
    },
    Resolved {
        reply: String,
    },
    AnsweredAtIntake {
        answer: String,
        /// The knowledge-base article the answer came from.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        article: Option<String>,
    },
    /// A grid worker's report, handled by them on the spot (即查即办).
    HandledOnSpot {
        note: String,
    },
    /// A unit asked the ticket's grid worker to check on the spot or visit (核查, 回访).
    CheckAssigned {
        task: u32,
        kind: CheckKind,
        note: String,
    },
    /// The grid worker's finding, with the photo taken there (also one of the
    /// ticket's attachments).
    CheckReported {
        task: u32,
        note: String,
        photo: Attachment,
    },
    AttachmentAdded(Attachment),
    Rated(Rating),
    Reopened {
        reason: String,
        deadlines: Option<Deadlines>,
        /// Beyond the city's reopen limit: the supervisors now follow the ticket.
        #[serde(default)]
        escalated: bool,
    },
    Closed {
        reason: Option<String>,
    },
    /// The dispatchers refused a return: the ticket goes back to that unit (a dispute).
    ReturnRejected {
        unit: UnitId,
        reason: String,
        /// The unit must accept again by then (the resolution deadline stays).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
        respond_by: Option<Timestamp>,
    },
    ExtensionRequested {
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
        resolve_by: Timestamp,
        reason: String,
    },
    ExtensionDecided {
        approved: bool,
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
        resolve_by: Timestamp,
        reason: Option<String>,
    },
    Urged {
        note: String,
    },
    /// The citizen added to the demand (补充), through `channel` when they wrote.
    FollowedUp {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        channel: Option<Channel>,
    },
    /// 挂账: cannot be solved now; tracked openly until resolved, reviewed on a date.
    MarkedLongTerm {
        reason: String,
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
        review_on: jiff::civil::Date,
    },
    /// 挂账 ended: the unit works to a fresh resolution deadline.
    LongTermLifted {
        reason: String,
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
        resolve_by: Timestamp,
    },
    /// A timer: a long-term demand's review date has come.
    LongTermReviewDue {
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
        review_on: jiff::civil::Date,
    },
    /// 转办: handed to another city of the province, whose desk takes it from here
    /// (by `respond_by`, the tier's response time).
    TransferredCity {
        from: Option<CityId>,
        to: CityId,
        reason: String,
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
        respond_by: Timestamp,
    },
    /// The dispatchers moved the ticket to another unit, with a fresh clock.
    Reassigned {
        unit: UnitId,
        deadlines: Deadlines,
        reason: String,
    },
    /// The lead unit summoned departments to take part (吹哨报到).
    Summoned {
        units: Vec<UnitId>,
        note: String,
    },
    PartAccepted {
        unit: UnitId,
    },
    PartReported {
        unit: UnitId,
        report: String,
    },
    /// Merged into a main case (并单).
    Merged {
        into: TicketNumber,
        reason: String,
    },
    Unmerged {
        from: TicketNumber,
        reason: String,
    },
    /// On the main case: another ticket was merged into it, so its reply answers that
    /// ticket's citizen too.
    CaseJoined {
        ticket: TicketNumber,
        reason: String,
    },
    /// On the main case: a merged ticket was taken out of it again.
    CaseLeft {
        ticket: TicketNumber,
        reason: String,
    },
    /// The main case was answered; its reply answers this merged ticket too.
    CaseReplied {
        case: TicketNumber,
        reply: String,
    },
    /// A timer: the deadline is near (yellow).
    Warned {
        deadline: DeadlineKind,
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
        due_by: Timestamp,
    },
    /// A timer: the deadline passed before the step was done (red).
    Overdue {
        deadline: DeadlineKind,
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
        due_by: Timestamp,
    },
    /// A timer: the overdue ticket goes up to the unit's leader or the supervisors.
    Escalated {
        to: EscalationTarget,
        unit: Option<UnitId>,
    },
    /// A timer: the citizen has not been called back (回访) in time.
    CallbackDue,
}

code_enum!(
    /// What an event records: the type of its [`Change`], as stored and filtered on.
    EventKind {
        Created = "created" / "受理" / "Received",
        PlaceRead = "place_read" / "属地研判" / "Place read",
        Reclassified = "reclassified" / "重新分类" / "Reclassified",
        Dispatched = "dispatched" / "派单" / "Dispatched",
        Accepted = "accepted" / "签收" / "Accepted",
        Returned = "returned" / "退单" / "Returned by the unit",
        Redispatched = "redispatched" / "转派" / "Passed down",
        Resolved = "resolved" / "办结答复" / "Replied",
        AnsweredAtIntake = "answered_at_intake" / "受理时答复" / "Answered at intake",
        HandledOnSpot = "handled_on_spot" / "即查即办" / "Handled on the spot",
        CheckAssigned = "check_assigned" / "派发核查回访" / "Check assigned",
        CheckReported = "check_reported" / "核查回访反馈" / "Check reported",
        AttachmentAdded = "attachment_added" / "添加附件" / "File attached",
        Rated = "rated" / "回访评价" / "Rated",
        Reopened = "reopened" / "重办" / "Reopened",
        Closed = "closed" / "关闭" / "Closed",
        ReturnRejected = "return_rejected" / "退单驳回" / "Return refused",
        ExtensionRequested = "extension_requested" / "申请延期" / "Extension requested",
        ExtensionDecided = "extension_decided" / "延期审批" / "Extension decided",
        Urged = "urged" / "督办" / "Urged",
        FollowedUp = "followed_up" / "市民补充" / "Citizen added",
        MarkedLongTerm = "marked_long_term" / "挂账" / "Marked long-term",
        LongTermLifted = "long_term_lifted" / "解除挂账" / "Long-term lifted",
        LongTermReviewDue = "long_term_review_due" / "挂账复核到期" / "Long-term review due",
        Reassigned = "reassigned" / "改派" / "Reassigned",
        TransferredCity = "transferred_city" / "转办" / "Handed to another city",
        Summoned = "summoned" / "吹哨报到" / "Departments summoned",
        PartAccepted = "part_accepted" / "部门报到" / "Department took part",
        PartReported = "part_reported" / "部门反馈" / "Department reported",
        Merged = "merged" / "并单" / "Merged",
        Unmerged = "unmerged" / "撤销并单" / "Unmerged",
        CaseJoined = "case_joined" / "并入本单" / "Ticket merged in",
        CaseLeft = "case_left" / "移出本单" / "Ticket taken out",
        CaseReplied = "case_replied" / "主单答复" / "Main case replied",
        Warned = "warned" / "时限预警" / "Deadline warning",
        Overdue = "overdue" / "超期" / "Overdue",
        Escalated = "escalated" / "升级" / "Escalated",
        CallbackDue = "callback_due" / "回访到期" / "Callback due",
    }
);

impl Change {
    /// What the event records.
    pub fn kind(&self) -> EventKind {
        match self {
            Change::Created(_) => EventKind::Created,
            Change::PlaceRead(_) => EventKind::PlaceRead,
            Change::Reclassified { .. } => EventKind::Reclassified,
            Change::Dispatched { .. } => EventKind::Dispatched,
            Change::Accepted => EventKind::Accepted,
            Change::Returned { .. } => EventKind::Returned,
            Change::Redispatched { .. } => EventKind::Redispatched,
            Change::Resolved { .. } => EventKind::Resolved,
            Change::AnsweredAtIntake { .. } => EventKind::AnsweredAtIntake,
            Change::HandledOnSpot { .. } => EventKind::HandledOnSpot,
            Change::CheckAssigned { .. } => EventKind::CheckAssigned,
            Change::CheckReported { .. } => EventKind::CheckReported,
            Change::AttachmentAdded(_) => EventKind::AttachmentAdded,
            Change::Rated(_) => EventKind::Rated,
            Change::Reopened { .. } => EventKind::Reopened,
            Change::Closed { .. } => EventKind::Closed,
            Change::ReturnRejected { .. } => EventKind::ReturnRejected,
            Change::ExtensionRequested { .. } => EventKind::ExtensionRequested,
            Change::ExtensionDecided { .. } => EventKind::ExtensionDecided,
            Change::Urged { .. } => EventKind::Urged,
            Change::FollowedUp { .. } => EventKind::FollowedUp,
            Change::MarkedLongTerm { .. } => EventKind::MarkedLongTerm,
            Change::LongTermLifted { .. } => EventKind::LongTermLifted,
            Change::LongTermReviewDue { .. } => EventKind::LongTermReviewDue,
            Change::Reassigned { .. } => EventKind::Reassigned,
            Change::TransferredCity { .. } => EventKind::TransferredCity,
            Change::Summoned { .. } => EventKind::Summoned,
            Change::PartAccepted { .. } => EventKind::PartAccepted,
            Change::PartReported { .. } => EventKind::PartReported,
            Change::Merged { .. } => EventKind::Merged,
            Change::Unmerged { .. } => EventKind::Unmerged,
            Change::CaseJoined { .. } => EventKind::CaseJoined,
            Change::CaseLeft { .. } => EventKind::CaseLeft,
            Change::CaseReplied { .. } => EventKind::CaseReplied,
            Change::Warned { .. } => EventKind::Warned,
            Change::Overdue { .. } => EventKind::Overdue,
            Change::Escalated { .. } => EventKind::Escalated,
            Change::CallbackDue => EventKind::CallbackDue,
        }
    }

    /// The event's type as stored: `created`, `dispatched`, ...
    pub fn name(&self) -> &'static str {
        self.kind().code()
    }
}
