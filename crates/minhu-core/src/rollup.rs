//! What each ticket adds to the pre-aggregated counts (rollups) that dashboards read.
//!
//! A ticket's contribution is a pure function of its whole event log ([`Rollup::of`]),
//! so the store keeps the rollup tables exact by adding, in the transaction of every
//! change, the difference between the contribution after and before it
//! ([`Rollup::change`]). Reclassifying a ticket into another region or category thus
//! moves all of its counts, and replaying every log gives the same tables.
//!
//! Counts are filed under the ticket's intake day (its cohort, read from the ticket
//! number, so in the city's time zone): a month's rates are those of the demands received
//! that month, whatever happened to them later. Each count is credited to the unit that
//! did the thing: a return to the unit that returned, a dispute to the unit whose return
//! was refused, a redispatch to the unit that passed the ticket on.
//!
//! Two kinds of count, and every rate divides counts of one kind (so that its numerator
//! is a subset of its denominator, see `minhu_analytics::rates`):
//! - per ticket, at most once each: [`Metric::Received`] (every ticket) and
//!   [`Metric::Answered`] (a ticket whose latest state is an answer: replied and awaiting
//!   callback, or closed after a reply; a reopened ticket stops counting until it is
//!   answered again);
//! - per step: every other metric. Each time a unit starts holding a ticket it is
//!   credited an [`Metric::Assigned`] (a dispatch, a reassignment, a pass down, a
//!   refused return, a reopening that gives the ticket back to it), and every
//!   acceptance, return or pass down ends one such assignment. An assignment is
//!   [`Metric::ResponseSettled`] once, by the first of its acceptance, return, pass down
//!   or missed acceptance deadline, and only a settled one can be
//!   [`Metric::RespondedOnTime`]: one still within its response time counts in
//!   neither, so a month under way is not marked down for it. Every reply is a
//!   [`Metric::Resolved`], every callback a [`Metric::Rated`], every reopening follows
//!   one reply.

use crate::event::{Change, Event};
use crate::ids::{TicketNumber, UnitId};
use crate::ticket::{Satisfaction, Ticket};
use crate::timer::DeadlineKind;
use jiff::Timestamp;
use jiff::civil::Date;
use std::collections::BTreeMap;

code_enum!(
    /// What a daily rollup row counts.
    Metric {
        Received = "received" / "受理" / "Received",
        Answered = "answered" / "已答复" / "Answered",
        Assigned = "assigned" / "派发" / "Dispatched",
        Accepted = "accepted" / "签收" / "Accepted",
        RespondedOnTime = "responded_on_time" / "按时签收" / "Accepted on time",
        /// An assignment whose acceptance is settled: accepted, returned or passed
        /// down, or not accepted by its deadline (the timer said so). One still within
        /// its response time is not counted yet.
        ResponseSettled = "response_settled" / "签收已定" / "Acceptance settled",
        Resolved = "resolved" / "办结" / "Resolved",
        ResolvedOnTime = "resolved_on_time" / "按期办结" / "Resolved on time",
        Rated = "rated" / "回访" / "Called back",
        Solved = "solved" / "已解决" / "Solved",
        Satisfied = "satisfied" / "满意" / "Satisfied",
        Basically = "basically" / "基本满意" / "Mostly satisfied",
        Unsatisfied = "unsatisfied" / "不满意" / "Unsatisfied",
        Reopened = "reopened" / "重办" / "Reopened",
        Returned = "returned" / "退单" / "Returned",
        ReturnUpheld = "return_upheld" / "退单成立" / "Return upheld",
        Disputed = "disputed" / "退单被驳回" / "Return refused",
        Redispatched = "redispatched" / "转派" / "Passed down",
        Overdue = "overdue" / "超期" / "Overdue",
        /// A grid worker's patrol report (per ticket).
        Patrolled = "patrolled" / "网格上报" / "Grid reports",
        /// A patrol report handled on the spot (即查即办, per ticket).
        HandledOnSpot = "handled_on_spot" / "即查即办" / "Handled on the spot",
        /// A problem: a ticket not merged into another (per ticket).
        Problem = "problem" / "问题" / "Problems",
        /// A problem first raised by a grid worker or a city system, not a citizen
        /// (per ticket).
        FoundFirst = "found_first" / "主动发现" / "Found before a citizen called",
    }
);

code_enum!(
    /// What an analytics alert warns of, as stored with the alert.
    AlertKind {
        /// A place and category far above its normal for that hour of the week.
        Surge = "surge" / "突发增多" / "Surge",
        /// A unit above the city's buck-passing threshold this month.
        BuckPassing = "buck_passing" / "推诿扯皮" / "Buck-passing",
    }
);

impl Metric {
    /// The position of the metric in [`Metric::ALL`], for counters kept in arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// One row of the daily rollup: the cohort day, who, where, what, which count.
/// Empty strings stand for "none" (no unit yet, not placed, not categorised).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DailyKey {
    pub day: Date,
    pub unit: String,
    pub region: String,
    pub category: String,
    pub metric: Metric,
}

/// One row of the hourly intake rollup (for trends and surge detection): the hour the
/// demand came in (whole hours since the Unix epoch, time-zone free), where and what.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HourlyKey {
    pub hour: i64,
    pub region: String,
    pub category: String,
}

/// The whole hours since the Unix epoch at `at` (floor, also before 1970).
pub fn epoch_hour(at: Timestamp) -> i64 {
    at.as_second().div_euclid(3600)
}

/// Signed counts to add to the rollup tables; zero entries are never kept.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rollup {
    pub daily: BTreeMap<DailyKey, i64>,
    pub hourly: BTreeMap<HourlyKey, i64>,
}

impl Rollup {
    /// Everything one ticket's log counts for. A log that does not start with `created`
    /// counts for nothing (the store never holds one).
    pub fn of(number: &TicketNumber, events: &[Event]) -> Rollup {
        let mut rollup = Rollup::default();
        let Some((first, rest)) = events.split_first() else {
            return rollup;
        };
        let Change::Created(intake) = &first.change else {
            return rollup;
        };
        let Some(day) = intake_day(number) else {
            return rollup;
        };
        let mut ticket = Ticket::new(number.clone(), intake.clone(), first.at);
        let mut counted: Vec<(Option<UnitId>, Metric)> = vec![(None, Metric::Received)];
        // Whether the holder's assignment awaits its acceptance.
        let mut awaiting = false;
        for event in rest {
            let credited = credits(&ticket, event, awaiting);
            let assigned = credited.iter().any(|(_, m)| *m == Metric::Assigned);
            let settled = credited.iter().any(|(_, m)| *m == Metric::ResponseSettled);
            counted.extend(credited);
            ticket.apply(event);
            awaiting = ticket.status == crate::ticket::Status::Dispatched
                && (assigned || (awaiting && !settled));
        }
        let region = ticket
            .intake
            .region
            .as_ref()
            .map_or_else(String::new, |r| r.as_str().to_owned());
        let category = ticket
            .intake
            .category
            .as_ref()
            .map_or_else(String::new, |c| c.as_str().to_owned());
        if answered(&ticket) {
            counted.push((ticket.unit.clone(), Metric::Answered));
        }
        counted.extend(field_counts(&ticket, rest).into_iter().map(|m| (None, m)));
        for (unit, metric) in counted {
            let key = DailyKey {
                day,
                unit: unit.map_or_else(String::new, |u| u.as_str().to_owned()),
                region: region.clone(),
                category: category.clone(),
                metric,
            };
            *rollup.daily.entry(key).or_default() += 1;
        }
        let hour = HourlyKey {
            hour: epoch_hour(ticket.created_at),
            region,
            category,
        };
        rollup.hourly.insert(hour, 1);
        rollup
    }

    /// What appending `new` to a log that held `before` changes in the rollups.
    pub fn change(number: &TicketNumber, before: &[Event], new: &[Event]) -> Rollup {
        let after: Vec<Event> = before.iter().chain(new).cloned().collect();
        let mut change = Rollup::of(number, &after);
        change.subtract(&Rollup::of(number, before));
        change
    }

    /// Adds another rollup (e.g. many tickets' contributions into one table).
    pub fn add(&mut self, other: &Rollup) {
        self.add_times(other, 1);
    }

    fn subtract(&mut self, other: &Rollup) {
        self.add_times(other, -1);
    }

    fn add_times(&mut self, other: &Rollup, sign: i64) {
        for (key, n) in &other.daily {
            add_entry(&mut self.daily, key, sign * n);
        }
        for (key, n) in &other.hourly {
            add_entry(&mut self.hourly, key, sign * n);
        }
    }
}

/// Adds `n` to one count, dropping it when it becomes zero. Only the keys touched are
/// looked at, so summing many tickets into one table stays linear in what they add.
fn add_entry<K: Ord + Clone>(map: &mut BTreeMap<K, i64>, key: &K, n: i64) {
    use std::collections::btree_map::Entry;
    match map.entry(key.clone()) {
        Entry::Occupied(mut count) => {
            *count.get_mut() += n;
            if *count.get() == 0 {
                count.remove();
            }
        }
        Entry::Vacant(slot) => {
            if n != 0 {
                slot.insert(n);
            }
        }
    }
}

/// The per-ticket counts of the field (网格化, 一网统管), filed under no unit: a grid
/// worker's report, handled on the spot or not; and whether the ticket is a problem of
/// its own (not merged into another) that the field found first. A duplicate merged
/// into a main case is no problem of its own: the main case stands for it, and counts
/// as found first when a grid worker or a city system reported it.
fn field_counts(ticket: &Ticket, events: &[Event]) -> Vec<Metric> {
    use crate::ticket::{Channel, Status};
    let mut counts = Vec::new();
    let channel = ticket.intake.channel;
    if channel == Channel::Grid {
        counts.push(Metric::Patrolled);
        if events
            .iter()
            .any(|e| matches!(e.change, Change::HandledOnSpot { .. }))
        {
            counts.push(Metric::HandledOnSpot);
        }
    }
    if ticket.status != Status::Merged {
        counts.push(Metric::Problem);
        if matches!(channel, Channel::Grid | Channel::Sensor) {
            counts.push(Metric::FoundFirst);
        }
    }
    counts
}

/// Whether the citizen holds an answer now: replied (awaiting callback) or closed after
/// a reply. Closed without one (a spam call, a duplicate) is not an answer.
pub fn answered(ticket: &Ticket) -> bool {
    use crate::ticket::Status;
    match ticket.status {
        Status::Resolved => true,
        Status::Closed => ticket.resolved_at.is_some(),
        Status::Pending | Status::Dispatched | Status::Accepted | Status::Merged => false,
    }
}

/// The intake day a ticket number starts with (yyyymmdd in the city's time zone).
pub fn intake_day(number: &TicketNumber) -> Option<Date> {
    Date::strptime("%Y%m%d", number.as_str().get(..8)?).ok()
}

/// The counts `event` earns, judged on the ticket as it was just before it (`awaiting`:
/// whether its holder's assignment was still awaiting its acceptance).
fn credits(before: &Ticket, event: &Event, awaiting: bool) -> Vec<(Option<UnitId>, Metric)> {
    let holder = before.unit.clone();
    let settles = |mut credits: Vec<(Option<UnitId>, Metric)>| {
        if awaiting {
            credits.push((before.unit.clone(), Metric::ResponseSettled));
        }
        credits
    };
    let responded_in_time = || {
        before
            .deadlines
            .is_none_or(|deadlines| event.at <= deadlines.respond_by)
    };
    let resolved_in_time = || {
        before
            .deadlines
            .is_none_or(|deadlines| event.at <= deadlines.resolve_by)
    };
    let resolved = |unit: Option<UnitId>| {
        let mut credits = vec![(unit.clone(), Metric::Resolved)];
        if resolved_in_time() {
            credits.push((unit, Metric::ResolvedOnTime));
        }
        credits
    };
    match &event.change {
        Change::Dispatched { unit, .. } => {
            let mut credits = vec![(Some(unit.clone()), Metric::Assigned)];
            // Dispatching a returned ticket elsewhere upholds the return.
            if let Some(returned) = &before.returned_from {
                credits.push((Some(returned.clone()), Metric::ReturnUpheld));
            }
            credits
        }
        Change::Reassigned { unit, .. } => vec![(Some(unit.clone()), Metric::Assigned)],
        Change::Redispatched { unit, .. } => settles(vec![
            (Some(unit.clone()), Metric::Assigned),
            (holder, Metric::Redispatched),
        ]),
        // The refused unit must accept again against a fresh response deadline: another
        // assignment, so that its response rate counts both acceptances.
        Change::ReturnRejected { unit, .. } => vec![
            (Some(unit.clone()), Metric::Assigned),
            (Some(unit.clone()), Metric::Disputed),
        ],
        Change::Accepted => {
            let mut credits = vec![(holder.clone(), Metric::Accepted)];
            if awaiting && responded_in_time() {
                credits.push((holder, Metric::RespondedOnTime));
            }
            settles(credits)
        }
        Change::Returned { .. } => settles(vec![(holder, Metric::Returned)]),
        Change::Resolved { .. }
        | Change::AnsweredAtIntake { .. }
        | Change::HandledOnSpot { .. }
        | Change::CaseReplied { .. } => resolved(holder),
        Change::Rated(rating) => {
            let verdict = match rating.satisfaction {
                Satisfaction::Satisfied => Metric::Satisfied,
                Satisfaction::Basically => Metric::Basically,
                Satisfaction::Unsatisfied => Metric::Unsatisfied,
            };
            let mut credits = vec![(holder.clone(), Metric::Rated), (holder.clone(), verdict)];
            if rating.solved {
                credits.push((holder, Metric::Solved));
            }
            credits
        }
        // A reopened ticket goes back to the unit that replied, which must accept it
        // again against fresh deadlines: another assignment.
        Change::Reopened { .. } => match holder {
            Some(unit) => vec![
                (Some(unit.clone()), Metric::Reopened),
                (Some(unit), Metric::Assigned),
            ],
            None => vec![(None, Metric::Reopened)],
        },
        Change::Overdue { deadline, .. } => {
            let credits = vec![(holder, Metric::Overdue)];
            match deadline {
                DeadlineKind::Respond => settles(credits),
                DeadlineKind::Resolve => credits,
                // A desk's time to take a demand handed over (转办) is no unit's
                // deadline: no unit's figures count it.
                DeadlineKind::Transfer => Vec::new(),
            }
        }
        Change::Created(_)
        | Change::PlaceRead(_)
        | Change::Reclassified { .. }
        | Change::TransferredCity { .. }
        | Change::AttachmentAdded(_)
        | Change::CheckAssigned { .. }
        | Change::CheckReported { .. }
        | Change::Closed { .. }
        | Change::ExtensionRequested { .. }
        | Change::ExtensionDecided { .. }
        | Change::Urged { .. }
        | Change::FollowedUp { .. }
        | Change::MarkedLongTerm { .. }
        | Change::LongTermLifted { .. }
        | Change::LongTermReviewDue { .. }
        | Change::Summoned { .. }
        | Change::PartAccepted { .. }
        | Change::PartReported { .. }
        | Change::Merged { .. }
        | Change::Unmerged { .. }
        | Change::CaseJoined { .. }
        | Change::CaseLeft { .. }
        | Change::Warned { .. }
        | Change::Escalated { .. }
        | Change::CallbackDue => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deadline::{Deadlines, TierCode};
    use crate::event::{Actor, SystemPart};
    use crate::ids::RegionId;
    use crate::taxonomy::CategoryPath;
    use crate::ticket::{Channel, Citizen, Intake, Kind, Rating};

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn log(changes: Vec<(&str, Change)>) -> Vec<Event> {
        changes
            .into_iter()
            .enumerate()
            .map(|(i, (when, change))| Event {
                seq: i as u32 + 1,
                at: at(when),
                actor: Actor::system(SystemPart::Router),
                change,
            })
            .collect()
    }

    fn created() -> Change {
        Change::Created(Intake {
            channel: Channel::Phone,
            kind: Kind::Complaint,
            title: "停水".into(),
            description: "小区停水两天".into(),
            address: None,
            location: None,
            citizen: Citizen::default(),
            category: None,
            region: None,
            tier: TierCode("15d".into()),
            external_ref: None,
            city: None,
        })
    }

    fn dispatched(unit: &str) -> Change {
        Change::Dispatched {
            unit: UnitId::new(unit),
            deadlines: Deadlines {
                respond_by: at("2026-03-02T04:00:00Z"),
                resolve_by: at("2026-03-10T00:00:00Z"),
            },
            reason: "duty list".into(),
            basis: None,
        }
    }

    /// A ticket returned by u1, dispatched to u2 (the return upheld), accepted late,
    /// replied in time, rated basically satisfied and solved.
    fn handled() -> Vec<Event> {
        log(vec![
            ("2026-03-01T23:30:00Z", created()),
            (
                "2026-03-01T23:31:00Z",
                Change::Reclassified {
                    category: Some(CategoryPath::new("城乡建设/供水")),
                    region: Some(RegionId::new("A3")),
                    tier: None,
                    reason: None,
                },
            ),
            ("2026-03-01T23:32:00Z", dispatched("u1")),
            (
                "2026-03-02T01:00:00Z",
                Change::Returned {
                    reason: "not ours".into(),
                },
            ),
            ("2026-03-02T02:00:00Z", dispatched("u2")),
            ("2026-03-02T05:00:00Z", Change::Accepted),
            (
                "2026-03-05T00:00:00Z",
                Change::Resolved {
                    reply: "fixed".into(),
                },
            ),
            (
                "2026-03-06T00:00:00Z",
                Change::Rated(Rating {
                    solved: true,
                    satisfaction: Satisfaction::Basically,
                }),
            ),
        ])
    }

    fn number() -> TicketNumber {
        // Received 2026-03-02 in the city (07:30 at UTC+8), the day the number carries.
        TicketNumber::parse("2026030200001").unwrap()
    }

    fn count(rollup: &Rollup, unit: &str, metric: Metric) -> i64 {
        rollup
            .daily
            .iter()
            .filter(|(k, _)| k.unit == unit && k.metric == metric)
            .map(|(_, n)| n)
            .sum()
    }

    /// Issue 20: an assignment within its response time is in no response count; the
    /// timer's missed deadline settles it (not in time), and a late acceptance after
    /// that settles nothing more.
    #[test]
    fn an_assignment_counts_for_the_response_rate_once_settled() {
        let mut events = vec![
            ("2026-03-01T23:30:00Z", created()),
            ("2026-03-01T23:32:00Z", dispatched("u1")),
        ];
        let count_now = |events: &[(&str, Change)]| {
            let rollup = Rollup::of(&number(), &log(events.to_vec()));
            [
                Metric::Assigned,
                Metric::ResponseSettled,
                Metric::RespondedOnTime,
            ]
            .map(|metric| count(&rollup, "u1", metric))
        };
        assert_eq!(count_now(&events), [1, 0, 0], "within its response time");
        events.push((
            "2026-03-02T04:00:00Z",
            Change::Overdue {
                deadline: DeadlineKind::Respond,
                due_by: at("2026-03-02T04:00:00Z"),
            },
        ));
        assert_eq!(count_now(&events), [1, 1, 0], "its deadline missed");
        events.push(("2026-03-02T05:00:00Z", Change::Accepted));
        assert_eq!(count_now(&events), [1, 1, 0], "accepted late");
        // Accepted in time instead: settled, in time.
        let in_time = [
            events[0].clone(),
            events[1].clone(),
            ("2026-03-02T00:00:00Z", Change::Accepted),
        ];
        assert_eq!(count_now(&in_time), [1, 1, 1]);
    }

    #[test]
    fn each_step_is_credited_to_the_unit_that_took_it() {
        let rollup = Rollup::of(&number(), &handled());
        let expected = [
            ("", Metric::Received, 1),
            ("u1", Metric::Assigned, 1),
            ("u1", Metric::Returned, 1),
            ("u1", Metric::ResponseSettled, 1),
            ("u2", Metric::ResponseSettled, 1),
            ("u1", Metric::ReturnUpheld, 1),
            ("u2", Metric::Assigned, 1),
            ("u2", Metric::Accepted, 1),
            ("u2", Metric::RespondedOnTime, 0),
            ("u2", Metric::Resolved, 1),
            ("u2", Metric::ResolvedOnTime, 1),
            ("u2", Metric::Rated, 1),
            ("u2", Metric::Basically, 1),
            ("u2", Metric::Solved, 1),
            ("u1", Metric::Resolved, 0),
            ("u2", Metric::Answered, 1),
            ("", Metric::Answered, 0),
            // A citizen's problem, not merged: not found first by the field.
            ("", Metric::Problem, 1),
            ("", Metric::FoundFirst, 0),
            ("", Metric::Patrolled, 0),
        ];
        for (unit, metric, n) in expected {
            assert_eq!(count(&rollup, unit, metric), n, "{unit} {metric:?}");
        }
        assert_eq!(rollup.daily.values().sum::<i64>(), 15);
        for key in rollup.daily.keys() {
            assert_eq!(key.day, jiff::civil::date(2026, 3, 2));
            assert_eq!(
                (key.region.as_str(), key.category.as_str()),
                ("A3", "城乡建设/供水")
            );
        }
        let hour = epoch_hour(at("2026-03-01T23:30:00Z"));
        assert_eq!(
            rollup.hourly.iter().collect::<Vec<_>>(),
            [(
                &HourlyKey {
                    hour,
                    region: "A3".into(),
                    category: "城乡建设/供水".into()
                },
                &1
            )]
        );
    }

    #[test]
    fn the_field_counts_its_reports_and_the_problems_it_found_first() {
        let patrol = |channel: Channel| {
            let Change::Created(mut intake) = created() else {
                unreachable!()
            };
            intake.channel = channel;
            Change::Created(intake)
        };
        let handled_there = log(vec![
            ("2026-03-01T23:30:00Z", patrol(Channel::Grid)),
            (
                "2026-03-01T23:30:00Z",
                Change::HandledOnSpot {
                    note: "当场清理".into(),
                },
            ),
        ]);
        let rollup = Rollup::of(&number(), &handled_there);
        for metric in [
            Metric::Patrolled,
            Metric::HandledOnSpot,
            Metric::Problem,
            Metric::FoundFirst,
            Metric::Answered,
        ] {
            assert_eq!(count(&rollup, "", metric), 1, "{metric:?}");
        }
        // A sensor's alarm merged into a citizen's earlier demand is no problem of its
        // own, and was not found first.
        let merged = log(vec![
            ("2026-03-01T23:30:00Z", patrol(Channel::Sensor)),
            (
                "2026-03-01T23:40:00Z",
                Change::Merged {
                    into: TicketNumber::parse("2026030100002").unwrap(),
                    reason: "同一井盖".into(),
                },
            ),
        ]);
        let rollup = Rollup::of(&number(), &merged);
        for metric in [Metric::Patrolled, Metric::Problem, Metric::FoundFirst] {
            assert_eq!(count(&rollup, "", metric), 0, "{metric:?}");
        }
    }

    #[test]
    fn changes_add_up_to_the_whole_log_and_reclassifying_moves_every_count() {
        let events = handled();
        let mut table = Rollup::default();
        // Appended one event at a time, as the engine does.
        for i in 0..events.len() {
            table.add(&Rollup::change(&number(), &events[..i], &events[i..=i]));
        }
        assert_eq!(table, Rollup::of(&number(), &events));
        let moved = Change::Reclassified {
            category: None,
            region: Some(RegionId::new("A5")),
            tier: None,
            reason: None,
        };
        let mut later = log(vec![("2026-03-07T00:00:00Z", moved)]);
        later[0].seq = events.len() as u32 + 1;
        table.add(&Rollup::change(&number(), &events, &later));
        assert!(table.daily.keys().all(|k| k.region == "A5"), "{table:?}");
        assert_eq!(table.daily.values().sum::<i64>(), 15);
        assert!(table.hourly.keys().all(|k| k.region == "A5"));
    }

    /// Replied twice (reopened in between): two replies, one answered ticket; the
    /// reopening gives the ticket back to u2 as a fresh assignment, so its second
    /// acceptance has one to count against.
    #[test]
    fn a_ticket_answered_twice_is_one_answered_ticket() {
        let mut events = handled();
        let more = log(vec![
            ("2026-01-01T00:00:00Z", created()),
            (
                "2026-03-06T01:00:00Z",
                Change::Reopened {
                    reason: "still broken".into(),
                    deadlines: None,
                    escalated: false,
                },
            ),
            ("2026-03-06T02:00:00Z", Change::Accepted),
            (
                "2026-03-07T00:00:00Z",
                Change::Resolved {
                    reply: "fixed again".into(),
                },
            ),
        ]);
        let before = events.len() as u32;
        events.extend(more[1..].iter().cloned().enumerate().map(|(i, mut e)| {
            e.seq = before + 1 + i as u32;
            e
        }));
        let rollup = Rollup::of(&number(), &events);
        assert_eq!(count(&rollup, "u2", Metric::Resolved), 2);
        assert_eq!(count(&rollup, "u2", Metric::Answered), 1);
        assert_eq!(count(&rollup, "u2", Metric::Assigned), 2);
        assert_eq!(count(&rollup, "u2", Metric::Accepted), 2);
        // Reopened and not answered again: not answered.
        let reopened = Rollup::of(&number(), &events[..events.len() - 2]);
        assert_eq!(count(&reopened, "u2", Metric::Answered), 0);
        assert_eq!(count(&reopened, "", Metric::Received), 1);
    }

    #[test]
    fn a_refused_return_is_a_dispute_and_a_fresh_assignment() {
        let mut events = handled()[..4].to_vec();
        events.extend(
            log(vec![
                ("2026-01-01T00:00:00Z", created()),
                (
                    "2026-03-02T03:00:00Z",
                    Change::ReturnRejected {
                        unit: UnitId::new("u1"),
                        reason: "it is yours".into(),
                        respond_by: None,
                    },
                ),
            ])[1..]
                .iter()
                .cloned()
                .map(|mut e| {
                    e.seq = 5;
                    e
                }),
        );
        let rollup = Rollup::of(&number(), &events);
        assert_eq!(count(&rollup, "u1", Metric::Assigned), 2);
        assert_eq!(count(&rollup, "u1", Metric::Disputed), 1);
        assert_eq!(count(&rollup, "u1", Metric::ReturnUpheld), 0);
    }
}
