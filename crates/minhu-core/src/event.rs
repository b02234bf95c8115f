//! Events: the append-only history of a ticket (留痕). Each records who did what, when
//! and why. They are stored as they are and never changed.

use crate::deadline::{Deadlines, TierCode};
use crate::ids::{RegionId, TicketNumber, UnitId};
use crate::taxonomy::CategoryPath;
use crate::ticket::{Attachment, Intake, Rating};
use crate::timer::{DeadlineKind, EscalationTarget};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Who caused an event: `citizen`, `system:<part>`, `user:<login>` or `token:<name>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Actor(String);

impl Actor {
    pub fn citizen() -> Self {
        Self("citizen".into())
    }
    pub fn system(part: &str) -> Self {
        Self(format!("system:{part}"))
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
    Reclassified {
        category: Option<CategoryPath>,
        region: Option<RegionId>,
        tier: Option<TierCode>,
    },
    Dispatched {
        unit: UnitId,
        deadlines: Deadlines,
        reason: String,
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

impl Change {
    /// The event's type as stored and shown: `created`, `dispatched`, ...
    pub fn name(&self) -> &'static str {
        match self {
            Change::Created(_) => "created",
            Change::Reclassified { .. } => "reclassified",
            Change::Dispatched { .. } => "dispatched",
            Change::Accepted => "accepted",
            Change::Returned { .. } => "returned",
            Change::Redispatched { .. } => "redispatched",
            Change::Resolved { .. } => "resolved",
            Change::AnsweredAtIntake { .. } => "answered_at_intake",
            Change::AttachmentAdded(_) => "attachment_added",
            Change::Rated(_) => "rated",
            Change::Reopened { .. } => "reopened",
            Change::Closed { .. } => "closed",
            Change::ReturnRejected { .. } => "return_rejected",
            Change::ExtensionRequested { .. } => "extension_requested",
            Change::ExtensionDecided { .. } => "extension_decided",
            Change::Urged { .. } => "urged",
            Change::MarkedLongTerm { .. } => "marked_long_term",
            Change::LongTermLifted { .. } => "long_term_lifted",
            Change::LongTermReviewDue { .. } => "long_term_review_due",
            Change::Reassigned { .. } => "reassigned",
            Change::Summoned { .. } => "summoned",
            Change::PartAccepted { .. } => "part_accepted",
            Change::PartReported { .. } => "part_reported",
            Change::Merged { .. } => "merged",
            Change::Unmerged { .. } => "unmerged",
            Change::CaseJoined { .. } => "case_joined",
            Change::CaseLeft { .. } => "case_left",
            Change::CaseReplied { .. } => "case_replied",
            Change::Warned { .. } => "warned",
            Change::Overdue { .. } => "overdue",
            Change::Escalated { .. } => "escalated",
            Change::CallbackDue => "callback_due",
        }
    }
}
