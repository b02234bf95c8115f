//! Timers: what a ticket's clocks say by themselves when no one acts.
//!
//! A deadline only matters if something happens when it nears and passes. The city's
//! [`TimerPolicy`] (the `[timers]` section of `city.toml`) says when: a warning (yellow)
//! once a share of the allowance has gone, overdue (red) at the deadline, escalation to
//! the unit's leader and then the supervisors some time after it, a callback (回访)
//! due some time after the reply, and a long-term demand's (挂账) review on its date.
//!
//! [`pending`] derives the timers a ticket should have from its state alone, so the
//! store can keep a due-time index in step with every event, and a timer that fires is
//! just another command ([`crate::workflow::Command::Fire`]) through the one transition
//! function. Because firing records its effect in the ticket ([`Alerts`]), the same timer
//! is no longer pending afterwards: a second worker firing it too is refused.

use crate::City;
use crate::ticket::{Status, Ticket};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

code_enum!(
    /// What a timer does when it fires; stored as its code in the timer index.
    TimerKind {
        RespondWarning = "respond_warning" / "签收预警" / "Acceptance warning",
        RespondOverdue = "respond_overdue" / "签收超时" / "Acceptance overdue",
        ResolveWarning = "resolve_warning" / "办理预警" / "Handling warning",
        ResolveOverdue = "resolve_overdue" / "办理超期" / "Handling overdue",
        EscalateUnitLeader = "escalate_unit_leader" / "升级至单位领导" / "Escalation to the unit's head",
        EscalateSupervisor = "escalate_supervisor" / "升级至督办" / "Escalation to supervisors",
        CallbackDue = "callback_due" / "回访到期" / "Callback due",
        LongTermReview = "long_term_review" / "挂账复核" / "Long-term review",
        TransferOverdue = "transfer_overdue" / "转办超时" / "Handover not taken in time",
    }
);

code_enum!(
    /// Which of a ticket's two clocks.
    DeadlineKind {
        Respond = "respond" / "签收时限" / "Acceptance deadline",
        Resolve = "resolve" / "办理时限" / "Handling deadline",
        /// A demand handed over from another city (转办): the receiving desk's time to
        /// take it.
        Transfer = "transfer" / "转办签收时限" / "Handover deadline",
    }
);

code_enum!(
    /// Who an overdue ticket is escalated to.
    EscalationTarget {
        UnitLeader = "unit_leader" / "单位领导" / "Unit's head",
        Supervisor = "supervisor" / "督办人员" / "Supervisors",
    }
);

code_enum!(
    /// A ticket's most severe alert, as shown in lists and filtered on (`?flag=`).
    Flag {
        Warning = "warning" / "预警" / "Warning",
        Overdue = "overdue" / "超期" / "Overdue",
        Escalated = "escalated" / "已升级" / "Escalated",
        CallbackDue = "callback_due" / "待回访" / "Awaiting callback",
        ReviewDue = "review_due" / "挂账待复核" / "Long-term review due",
    }
);

/// One step of escalation: `after` the resolution deadline, the ticket goes to `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationStep {
    pub to: EscalationTarget,
    pub after: SignedDuration,
}

/// The city's timer rules (`[timers]` in `city.toml`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimerPolicy {
    /// The share of a tier's allowance after which the warning fires: 0.8 warns with a
    /// fifth of the allowance left (3 days before a 15-day deadline). `None`: no warnings.
    pub warn_share: Option<f64>,
    /// Escalation steps, earliest first; each target at most once.
    pub escalation: Vec<EscalationStep>,
    /// How long after the reply the callback (回访) is due. `None`: no callback timer.
    pub callback_after: Option<SignedDuration>,
}

impl Default for TimerPolicy {
    /// What a city without a `[timers]` section gets: warnings at 0.8, no escalation,
    /// callbacks due 3 days after the reply.
    fn default() -> Self {
        Self {
            warn_share: Some(0.8),
            escalation: Vec::new(),
            callback_after: Some(SignedDuration::from_hours(72)),
        }
    }
}

/// The alerts raised on a ticket's current clocks. Cleared when the clock they are about
/// starts again (a new dispatch, acceptance, an approved extension, a reply).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Alerts {
    /// `warning` or `overdue` on the response deadline (accept within).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub respond: Option<Flag>,
    /// `warning` or `overdue` on the resolution deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolve: Option<Flag>,
    /// `overdue` when a demand handed over from another city (转办) was not taken by
    /// the time that city gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer: Option<Flag>,
    /// Who the overdue ticket has been escalated to, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalated: Vec<EscalationTarget>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub callback_due: bool,
    /// A long-term demand's (挂账) review date has come; cleared by a new review date.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub review_due: bool,
}

impl Alerts {
    pub fn is_empty(&self) -> bool {
        *self == Alerts::default()
    }

    /// The most severe alert: escalated, overdue, warning; then a callback due, then a
    /// long-term review due.
    pub fn flag(&self) -> Option<Flag> {
        if !self.escalated.is_empty() {
            return Some(Flag::Escalated);
        }
        let clocks = [self.respond, self.resolve, self.transfer];
        if clocks.contains(&Some(Flag::Overdue)) {
            Some(Flag::Overdue)
        } else if clocks.contains(&Some(Flag::Warning)) {
            Some(Flag::Warning)
        } else if self.callback_due {
            Some(Flag::CallbackDue)
        } else if self.review_due {
            Some(Flag::ReviewDue)
        } else {
            None
        }
    }

    /// The flags a list filter `?flag=F` matches: at least as severe as `F` on the
    /// warning → overdue → escalated scale; `callback_due` and `review_due` only
    /// themselves.
    pub fn matching(filter: Flag) -> &'static [Flag] {
        match filter {
            Flag::Warning => &[Flag::Warning, Flag::Overdue, Flag::Escalated],
            Flag::Overdue => &[Flag::Overdue, Flag::Escalated],
            Flag::Escalated => &[Flag::Escalated],
            Flag::CallbackDue => &[Flag::CallbackDue],
            Flag::ReviewDue => &[Flag::ReviewDue],
        }
    }
}

/// A timer a ticket has: fire `kind` at `due_at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Timer {
    pub kind: TimerKind,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub due_at: Timestamp,
}

/// The timers `ticket` should have now, given what has already fired on its current
/// clocks. The store keeps its due-time index equal to this after every event.
pub fn pending(ticket: &Ticket, city: &City) -> Vec<Timer> {
    let policy = &city.timers;
    let mut timers = Vec::new();
    let mut add = |kind, due_at| timers.push(Timer { kind, due_at });
    let alerts = &ticket.alerts;
    let handled = matches!(ticket.status, Status::Dispatched | Status::Accepted);
    if let (true, None, Some(due)) = (handled, &ticket.long_term, ticket.deadlines) {
        let tier = city.tier(&ticket.intake.tier);
        // The warning comes when `warn_share` of the tier's allowance has passed, counted
        // back from the deadline so that it follows the deadline when it moves.
        let warn_at = |deadline: Timestamp, allowance: SignedDuration| {
            let share = policy.warn_share?;
            let left = allowance.as_secs_f64() * (1.0 - share);
            deadline
                .checked_sub(SignedDuration::try_from_secs_f64(left).ok()?)
                .ok()
        };
        if ticket.status == Status::Dispatched {
            let respond_within = tier.map(|t| t.respond_within.nominal());
            if alerts.respond.is_none()
                && let Some(at) = respond_within.and_then(|a| warn_at(due.respond_by, a))
            {
                add(TimerKind::RespondWarning, at);
            }
            if alerts.respond != Some(Flag::Overdue) {
                add(TimerKind::RespondOverdue, due.respond_by);
            }
        }
        let resolve_within = tier.map(|t| t.resolve_within.nominal());
        if alerts.resolve.is_none()
            && let Some(at) = resolve_within.and_then(|a| warn_at(due.resolve_by, a))
        {
            add(TimerKind::ResolveWarning, at);
        }
        if alerts.resolve != Some(Flag::Overdue) {
            add(TimerKind::ResolveOverdue, due.resolve_by);
        }
        for step in &policy.escalation {
            if !alerts.escalated.contains(&step.to)
                && let Ok(at) = due.resolve_by.checked_add(step.after)
            {
                add(step.to.timer(), at);
            }
        }
    }
    // 挂账: no deadline runs, but its review date reminds (from the day's start).
    if ticket.status == Status::Accepted
        && !alerts.review_due
        && let Some(long_term) = &ticket.long_term
        && let Ok(day) = long_term.review_on.to_zoned(city.timezone.clone())
    {
        add(TimerKind::LongTermReview, day.timestamp());
    }
    // 转办: the receiving city's desk has until the sender's time to take the demand.
    if ticket.status == Status::Pending
        && alerts.transfer.is_none()
        && let Some(transfer) = &ticket.transfer
        && transfer.taken_at.is_none()
    {
        add(TimerKind::TransferOverdue, transfer.respond_by);
    }
    if ticket.status == Status::Resolved
        && ticket.rating.is_none()
        && !alerts.callback_due
        && let (Some(after), Some(resolved)) = (policy.callback_after, ticket.resolved_at)
        && let Ok(at) = resolved.checked_add(after)
    {
        add(TimerKind::CallbackDue, at);
    }
    timers
}

impl EscalationTarget {
    pub fn timer(self) -> TimerKind {
        match self {
            EscalationTarget::UnitLeader => TimerKind::EscalateUnitLeader,
            EscalationTarget::Supervisor => TimerKind::EscalateSupervisor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::city::tests::sample_city;

    #[test]
    fn flags_order_by_severity() {
        let mut alerts = Alerts {
            callback_due: true,
            ..Alerts::default()
        };
        assert_eq!(alerts.flag(), Some(Flag::CallbackDue));
        alerts.resolve = Some(Flag::Warning);
        assert_eq!(alerts.flag(), Some(Flag::Warning));
        alerts.respond = Some(Flag::Overdue);
        assert_eq!(alerts.flag(), Some(Flag::Overdue));
        alerts.escalated.push(EscalationTarget::UnitLeader);
        assert_eq!(alerts.flag(), Some(Flag::Escalated));
        assert!(Alerts::matching(Flag::Warning).contains(&Flag::Escalated));
        assert!(!Alerts::matching(Flag::Overdue).contains(&Flag::Warning));
        assert!(Alerts::default().is_empty() && Alerts::default().flag().is_none());
    }

    #[test]
    fn the_default_policy_warns_and_calls_back() {
        let policy = TimerPolicy::default();
        assert_eq!(policy.warn_share, Some(0.8));
        assert!(policy.escalation.is_empty());
        assert_eq!(sample_city().timers.callback_after, policy.callback_after);
    }
}
