//! The state machine: the one place that decides whether a ticket may change.
//!
//! [`open`] checks a new demand; [`transition`] checks a requested [`Command`] against
//! the ticket's current state and returns the [`Change`] to record, or says precisely
//! why not. Nothing else in minhu produces events, so every ticket's history obeys the
//! rules below:
//!
//! ```text
//!  pending --dispatch--> dispatched --accept--> accepted --resolve--> resolved --close--> closed
//!     ^  \                 |  ^  |                 |  |                  |  ^ rate
//!     |   answer_at_intake |  |  +--redispatch-----+  |                  |
//!     |   (consultations)  |  +------------------------------- reopen --+
//!     +------ return ------+-------------------------+
//! ```

use crate::City;
use crate::deadline::TierCode;
use crate::event::Change;
use crate::ids::{RegionId, UnitId};
use crate::taxonomy::CategoryPath;
use crate::ticket::{Attachment, Citizen, Intake, Kind, Rating, Status, Ticket};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// What someone asks to do to a ticket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Command {
    Reclassify {
        #[serde(default)]
        category: Option<CategoryPath>,
        #[serde(default)]
        region: Option<RegionId>,
        #[serde(default)]
        tier: Option<TierCode>,
    },
    Dispatch {
        unit: UnitId,
        #[serde(default)]
        reason: Option<String>,
    },
    Accept,
    Return {
        reason: String,
    },
    Redispatch {
        unit: UnitId,
        #[serde(default)]
        reason: Option<String>,
    },
    Resolve {
        reply: String,
    },
    AnswerAtIntake {
        answer: String,
    },
    AddAttachment(Attachment),
    Rate(Rating),
    Reopen {
        reason: String,
    },
    Close {
        #[serde(default)]
        reason: Option<String>,
    },
    /// The dispatchers refuse a unit's return: the ticket goes back to it (a dispute).
    /// To uphold a return, dispatch the ticket to another unit.
    RejectReturn {
        reason: String,
    },
    /// The handling unit asks for more time (延期).
    RequestExtension {
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
        resolve_by: Timestamp,
        reason: String,
    },
    /// A supervisor approves or refuses the extension asked for.
    DecideExtension {
        approve: bool,
        #[serde(default)]
        reason: Option<String>,
    },
    /// A supervisor presses the ticket (督办).
    Urge {
        note: String,
    },
    /// 挂账: cannot be solved now; tracked openly, reviewed on `review_on`.
    MarkLongTerm {
        reason: String,
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
        review_on: jiff::civil::Date,
    },
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Command::Reclassify { .. } => "reclassify",
            Command::Dispatch { .. } => "dispatch",
            Command::Accept => "accept",
            Command::Return { .. } => "return",
            Command::Redispatch { .. } => "redispatch",
            Command::Resolve { .. } => "resolve",
            Command::AnswerAtIntake { .. } => "answer_at_intake",
            Command::AddAttachment(_) => "add_attachment",
            Command::Rate(_) => "rate",
            Command::Reopen { .. } => "reopen",
            Command::Close { .. } => "close",
            Command::RejectReturn { .. } => "reject_return",
            Command::RequestExtension { .. } => "request_extension",
            Command::DecideExtension { .. } => "decide_extension",
            Command::Urge { .. } => "urge",
            Command::MarkLongTerm { .. } => "mark_long_term",
        }
    }
}

/// A bad value in what was submitted, named by its field path.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{field}: {problem}")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    pub field: String,
    pub problem: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("cannot {action} a ticket that is {status:?}")]
    NotAllowed {
        action: &'static str,
        status: Status,
    },
    #[error("{0}")]
    Invalid(#[from] FieldError),
}

const MAX_TITLE: usize = 200;
const MAX_TEXT: usize = 20_000;
const MAX_SHORT: usize = 500;

fn text(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    if value.trim().is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    let length = value.chars().count();
    if length > max {
        return Err(FieldError::new(
            field,
            format!("is {length} characters long; at most {max} are allowed"),
        ));
    }
    Ok(())
}

fn optional_text(field: &str, value: &Option<String>, max: usize) -> Result<(), FieldError> {
    value.as_deref().map_or(Ok(()), |v| text(field, v, max))
}

fn known_unit(city: &City, unit: &UnitId, field: &str) -> Result<(), FieldError> {
    match city.units.get(unit) {
        Some(_) => Ok(()),
        None => Err(FieldError::new(field, format!("no unit has the id {unit}"))),
    }
}

fn known_category(city: &City, category: &CategoryPath) -> Result<(), FieldError> {
    if city.taxonomy.contains(category) {
        Ok(())
    } else {
        Err(FieldError::new(
            "category",
            format!("{category} is not in the taxonomy"),
        ))
    }
}

fn known_region(city: &City, region: &RegionId) -> Result<(), FieldError> {
    match city.regions.get(region) {
        Some(_) => Ok(()),
        None => Err(FieldError::new(
            "region",
            format!("no region has the id {region}"),
        )),
    }
}

fn known_tier(city: &City, tier: &TierCode) -> Result<(), FieldError> {
    match city.tier(tier) {
        Some(_) => Ok(()),
        None => Err(FieldError::new(
            "tier",
            format!(
                "{} is not a tier; the tiers are {}",
                tier.as_str(),
                city.tier_codes()
            ),
        )),
    }
}

fn citizen(citizen: &Citizen) -> Result<(), FieldError> {
    if citizen.anonymous && (citizen.phone.is_some() || citizen.name.is_some()) {
        let field = if citizen.phone.is_some() {
            "citizen.phone"
        } else {
            "citizen.name"
        };
        return Err(FieldError::new(
            field,
            "an anonymous ticket stores no identity: leave it out or set anonymous to false",
        ));
    }
    if let Some(phone) = &citizen.phone {
        let digits = phone.strip_prefix('+').unwrap_or(phone);
        if !(5..=20).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FieldError::new(
                "citizen.phone",
                "must be 5 to 20 digits, optionally starting with +",
            ));
        }
    }
    optional_text("citizen.name", &citizen.name, 50)
}

/// Checks a new demand against the city's rules; returns the `created` change.
pub fn open(intake: Intake, city: &City) -> Result<Change, FieldError> {
    text("title", &intake.title, MAX_TITLE)?;
    text("description", &intake.description, MAX_TEXT)?;
    optional_text("address", &intake.address, MAX_SHORT)?;
    optional_text("external_ref", &intake.external_ref, 100)?;
    citizen(&intake.citizen)?;
    if let Some(point) = intake.location {
        if !(point.lat.is_finite() && (-90.0..=90.0).contains(&point.lat)) {
            return Err(FieldError::new(
                "location.lat",
                "must be between -90 and 90",
            ));
        }
        if !(point.lon.is_finite() && (-180.0..=180.0).contains(&point.lon)) {
            return Err(FieldError::new(
                "location.lon",
                "must be between -180 and 180",
            ));
        }
    }
    if let Some(category) = &intake.category {
        known_category(city, category)?;
    }
    if let Some(region) = &intake.region {
        known_region(city, region)?;
    }
    known_tier(city, &intake.tier)?;
    Ok(Change::Created(intake))
}

/// Decides whether `command` may happen to `ticket` at `now`, and what is recorded.
pub fn transition(
    ticket: &Ticket,
    command: Command,
    city: &City,
    now: Timestamp,
) -> Result<Change, TransitionError> {
    use Status::*;
    let refuse = |command: &Command| TransitionError::NotAllowed {
        action: command.name(),
        status: ticket.status,
    };
    let tier = || {
        city.tier(&ticket.intake.tier).ok_or_else(|| {
            FieldError::new(
                "tier",
                format!(
                    "the ticket's tier {} is no longer configured",
                    ticket.intake.tier.as_str()
                ),
            )
        })
    };
    let change = match (&command, ticket.status) {
        (_, Closed) => return Err(refuse(&command)),
        (
            Command::Reclassify {
                category,
                region,
                tier,
            },
            Pending | Dispatched | Accepted,
        ) => {
            if category.is_none() && region.is_none() && tier.is_none() {
                return Err(FieldError::new(
                    "category",
                    "give a category, a region or a tier to change",
                )
                .into());
            }
            if let Some(category) = category {
                known_category(city, category)?;
            }
            if let Some(region) = region {
                known_region(city, region)?;
            }
            if let Some(tier) = tier {
                known_tier(city, tier)?;
            }
            Change::Reclassified {
                category: category.clone(),
                region: region.clone(),
                tier: tier.clone(),
            }
        }
        (Command::Dispatch { unit, reason }, Pending) => {
            known_unit(city, unit, "unit")?;
            optional_text("reason", reason, MAX_SHORT)?;
            Change::Dispatched {
                unit: unit.clone(),
                deadlines: city.deadlines(tier()?, now),
                reason: reason
                    .clone()
                    .unwrap_or_else(|| "dispatched by a dispatcher".into()),
            }
        }
        (Command::Accept, Dispatched) => Change::Accepted,
        (Command::Return { reason }, Dispatched | Accepted) => {
            text("reason", reason, MAX_SHORT)?;
            Change::Returned {
                reason: reason.clone(),
            }
        }
        (Command::Redispatch { unit, reason }, Dispatched | Accepted) => {
            known_unit(city, unit, "unit")?;
            optional_text("reason", reason, MAX_SHORT)?;
            let current = ticket.unit.as_ref().ok_or_else(|| refuse(&command))?;
            if unit == current || !city.units.is_under(unit, current) {
                return Err(FieldError::new(
                    "unit",
                    format!("{unit} is not a sub-unit of {current}; only a managed unit can take a redispatch"),
                )
                .into());
            }
            Change::Redispatched {
                unit: unit.clone(),
                reason: reason
                    .clone()
                    .unwrap_or_else(|| "passed to a sub-unit".into()),
            }
        }
        (Command::Resolve { reply }, Accepted) => {
            text("reply", reply, MAX_TEXT)?;
            Change::Resolved {
                reply: reply.clone(),
            }
        }
        (Command::AnswerAtIntake { answer }, Pending) => {
            if ticket.intake.kind != Kind::Consultation {
                return Err(FieldError::new(
                    "action",
                    "only a consultation can be answered at intake; dispatch other kinds",
                )
                .into());
            }
            text("answer", answer, MAX_TEXT)?;
            Change::AnsweredAtIntake {
                answer: answer.clone(),
            }
        }
        (Command::AddAttachment(attachment), _) => Change::AttachmentAdded(attachment.clone()),
        (Command::Rate(rating), Resolved) => {
            if ticket.rating.is_some() {
                return Err(FieldError::new("rating", "this reply has already been rated").into());
            }
            Change::Rated(*rating)
        }
        (Command::Reopen { reason }, Resolved) => {
            text("reason", reason, MAX_SHORT)?;
            let deadlines = match ticket.unit {
                Some(_) => Some(city.deadlines(tier()?, now)),
                None => None,
            };
            Change::Reopened {
                reason: reason.clone(),
                deadlines,
            }
        }
        (Command::Close { reason }, Pending) => {
            // Closing without handling (spam, a duplicate call) must say why.
            let reason = reason.as_deref().unwrap_or_default();
            text("reason", reason, MAX_SHORT)?;
            Change::Closed {
                reason: Some(reason.to_owned()),
            }
        }
        (Command::Close { reason }, Resolved) => {
            optional_text("reason", reason, MAX_SHORT)?;
            Change::Closed {
                reason: reason.clone(),
            }
        }
        (Command::RejectReturn { reason }, Pending) => {
            let unit = ticket.returned_from.clone().ok_or_else(|| {
                FieldError::new("action", "no return waits for a decision on this ticket")
            })?;
            text("reason", reason, MAX_SHORT)?;
            Change::ReturnRejected {
                unit,
                reason: reason.clone(),
            }
        }
        (Command::RequestExtension { resolve_by, reason }, Dispatched | Accepted) => {
            text("reason", reason, MAX_SHORT)?;
            if ticket.extension.is_some() {
                return Err(FieldError::new(
                    "action",
                    "an extension is already waiting for a decision",
                )
                .into());
            }
            let current = ticket.deadlines.map_or(now, |d| d.resolve_by);
            if *resolve_by <= current.max(now) {
                return Err(FieldError::new(
                    "resolve_by",
                    format!("must be later than the current deadline {current}"),
                )
                .into());
            }
            Change::ExtensionRequested {
                resolve_by: *resolve_by,
                reason: reason.clone(),
            }
        }
        (Command::DecideExtension { approve, reason }, Dispatched | Accepted) => {
            let asked = ticket.extension.as_ref().ok_or_else(|| {
                FieldError::new("action", "no extension waits for a decision on this ticket")
            })?;
            optional_text("reason", reason, MAX_SHORT)?;
            if !approve && reason.is_none() {
                return Err(FieldError::new("reason", "say why the extension is refused").into());
            }
            Change::ExtensionDecided {
                approved: *approve,
                resolve_by: asked.resolve_by,
                reason: reason.clone(),
            }
        }
        (Command::Urge { note }, Pending | Dispatched | Accepted) => {
            text("note", note, MAX_SHORT)?;
            Change::Urged { note: note.clone() }
        }
        (Command::MarkLongTerm { reason, review_on }, Accepted) => {
            text("reason", reason, MAX_SHORT)?;
            if *review_on <= city.local_date(now) {
                return Err(FieldError::new("review_on", "must be a date after today").into());
            }
            Change::MarkedLongTerm {
                reason: reason.clone(),
                review_on: *review_on,
            }
        }
        _ => return Err(refuse(&command)),
    };
    Ok(change)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::city::tests::sample_city;
    use crate::event::{Actor, Event};
    use crate::ids::TicketNumber;
    use crate::ticket::{Channel, Satisfaction};
    use proptest::prelude::*;

    fn intake(kind: Kind) -> Intake {
        Intake {
            channel: Channel::Phone,
            kind,
            title: "小区路灯不亮".into(),
            description: "洋湖社区3栋楼下路灯坏了一周".into(),
            address: Some("A3区洋湖街道洋湖社区".into()),
            location: None,
            citizen: Citizen {
                phone: Some("13812345678".into()),
                ..Citizen::default()
            },
            category: None,
            region: None,
            tier: TierCode("15d".into()),
            external_ref: None,
        }
    }

    fn start(kind: Kind, at: Timestamp) -> Ticket {
        let city = sample_city();
        let Change::Created(intake) = open(intake(kind), &city).unwrap() else {
            unreachable!()
        };
        Ticket::new(TicketNumber::parse("2026112200001").unwrap(), intake, at)
    }

    fn step(
        ticket: &mut Ticket,
        log: &mut Vec<Event>,
        command: Command,
        at: Timestamp,
    ) -> Result<(), TransitionError> {
        let change = transition(ticket, command, &sample_city(), at)?;
        let event = Event {
            seq: ticket.version + 1,
            at,
            actor: Actor::system("test"),
            change,
        };
        ticket.apply(&event);
        log.push(event);
        Ok(())
    }

    fn t0() -> Timestamp {
        "2026-11-22T01:00:00Z".parse().unwrap()
    }

    #[test]
    fn the_closed_loop() {
        let mut ticket = start(Kind::Complaint, t0());
        let mut log = vec![];
        let unit = UnitId::new("S-yanghu");
        step(
            &mut ticket,
            &mut log,
            Command::Dispatch {
                unit: unit.clone(),
                reason: None,
            },
            t0(),
        )
        .unwrap();
        assert_eq!(ticket.status, Status::Dispatched);
        let due = ticket.deadlines.unwrap();
        // 15 working days from Sunday 2026-11-22 09:00 (+08:00): Mon 23 .. Fri 27 (5),
        // Nov 30 .. Dec 4 (10), Dec 7 .. Fri Dec 11 (15), no holiday between; 09:00 kept.
        assert_eq!(due.resolve_by.to_string(), "2026-12-11T01:00:00Z");
        step(&mut ticket, &mut log, Command::Accept, t0()).unwrap();
        step(
            &mut ticket,
            &mut log,
            Command::Redispatch {
                unit: UnitId::new("C-yanghu"),
                reason: None,
            },
            t0(),
        )
        .unwrap();
        assert_eq!(ticket.unit.as_ref().unwrap().as_str(), "C-yanghu");
        assert_eq!(ticket.status, Status::Dispatched);
        step(&mut ticket, &mut log, Command::Accept, t0()).unwrap();
        step(
            &mut ticket,
            &mut log,
            Command::Resolve {
                reply: "已修复".into(),
            },
            t0(),
        )
        .unwrap();
        let unsolved = Rating {
            solved: false,
            satisfaction: Satisfaction::Unsatisfied,
        };
        step(&mut ticket, &mut log, Command::Rate(unsolved), t0()).unwrap();
        step(
            &mut ticket,
            &mut log,
            Command::Reopen {
                reason: "灯还是不亮".into(),
            },
            t0(),
        )
        .unwrap();
        assert_eq!(ticket.status, Status::Dispatched);
        assert_eq!(ticket.reopen_count, 1);
        assert!(ticket.rating.is_none());
        step(&mut ticket, &mut log, Command::Accept, t0()).unwrap();
        step(
            &mut ticket,
            &mut log,
            Command::Resolve {
                reply: "更换灯泡".into(),
            },
            t0(),
        )
        .unwrap();
        let happy = Rating {
            solved: true,
            satisfaction: Satisfaction::Satisfied,
        };
        step(&mut ticket, &mut log, Command::Rate(happy), t0()).unwrap();
        step(&mut ticket, &mut log, Command::Close { reason: None }, t0()).unwrap();
        assert_eq!(ticket.status, Status::Closed);
        let err = step(&mut ticket, &mut log, Command::Accept, t0()).unwrap_err();
        assert_eq!(
            err,
            TransitionError::NotAllowed {
                action: "accept",
                status: Status::Closed
            }
        );
    }

    #[test]
    fn refusals_name_the_problem() {
        let city = sample_city();
        let ticket = start(Kind::Complaint, t0());
        let err = transition(&ticket, Command::Accept, &city, t0()).unwrap_err();
        assert!(matches!(
            err,
            TransitionError::NotAllowed {
                action: "accept",
                status: Status::Pending
            }
        ));
        let err = transition(
            &ticket,
            Command::Dispatch {
                unit: UnitId::new("nobody"),
                reason: None,
            },
            &city,
            t0(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            TransitionError::Invalid(FieldError::new("unit", "no unit has the id nobody"))
        );
        let err = transition(
            &ticket,
            Command::AnswerAtIntake {
                answer: "见政策".into(),
            },
            &city,
            t0(),
        )
        .unwrap_err();
        assert!(
            matches!(err, TransitionError::Invalid(FieldError { ref field, .. }) if field == "action")
        );
        let err = transition(&ticket, Command::Close { reason: None }, &city, t0()).unwrap_err();
        assert!(
            matches!(err, TransitionError::Invalid(FieldError { ref field, .. }) if field == "reason")
        );
    }

    #[test]
    fn disputes_extensions_urging_and_long_term() {
        let mut ticket = start(Kind::Complaint, t0());
        let mut log = vec![];
        let street = UnitId::new("S-yanghu");
        let dispatch = Command::Dispatch {
            unit: street.clone(),
            reason: None,
        };
        step(&mut ticket, &mut log, dispatch, t0()).unwrap();
        let due = ticket.deadlines.unwrap().resolve_by;
        step(
            &mut ticket,
            &mut log,
            Command::Return {
                reason: "不归我们管".into(),
            },
            t0(),
        )
        .unwrap();
        assert_eq!(ticket.returned_from.as_ref(), Some(&street));
        // The dispatchers disagree: back to the same unit, the clock still running.
        step(
            &mut ticket,
            &mut log,
            Command::RejectReturn {
                reason: "属于街道职责".into(),
            },
            t0(),
        )
        .unwrap();
        assert_eq!(
            (ticket.status, ticket.unit.as_ref(), ticket.dispute_count),
            (Status::Dispatched, Some(&street), 1)
        );
        assert_eq!(ticket.deadlines.unwrap().resolve_by, due);
        let err = step(
            &mut ticket,
            &mut log,
            Command::RejectReturn {
                reason: "再次".into(),
            },
            t0(),
        )
        .unwrap_err();
        assert!(matches!(err, TransitionError::NotAllowed { .. }), "{err}");
        step(&mut ticket, &mut log, Command::Accept, t0()).unwrap();
        let later = due
            .checked_add(jiff::SignedDuration::from_hours(240))
            .unwrap();
        let too_early = Command::RequestExtension {
            resolve_by: t0(),
            reason: "需要协调".into(),
        };
        assert!(
            matches!(step(&mut ticket, &mut log, too_early, t0()), Err(TransitionError::Invalid(ref f)) if f.field == "resolve_by")
        );
        step(
            &mut ticket,
            &mut log,
            Command::RequestExtension {
                resolve_by: later,
                reason: "需要协调施工方".into(),
            },
            t0(),
        )
        .unwrap();
        let refuse_silently = Command::DecideExtension {
            approve: false,
            reason: None,
        };
        assert!(step(&mut ticket, &mut log, refuse_silently, t0()).is_err());
        step(
            &mut ticket,
            &mut log,
            Command::DecideExtension {
                approve: true,
                reason: None,
            },
            t0(),
        )
        .unwrap();
        assert_eq!(
            (ticket.deadlines.unwrap().resolve_by, ticket.extension_count),
            (later, 1)
        );
        assert!(ticket.extension.is_none());
        step(
            &mut ticket,
            &mut log,
            Command::Urge {
                note: "请加快办理".into(),
            },
            t0(),
        )
        .unwrap();
        assert_eq!(ticket.urge_count, 1);
        let review_on = jiff::civil::date(2027, 3, 1);
        step(
            &mut ticket,
            &mut log,
            Command::MarkLongTerm {
                reason: "需纳入明年改造计划".into(),
                review_on,
            },
            t0(),
        )
        .unwrap();
        let far_future = later
            .checked_add(jiff::SignedDuration::from_hours(24 * 365))
            .unwrap();
        assert!(
            !ticket.is_overdue(far_future),
            "a long-term demand is not overdue"
        );
        step(
            &mut ticket,
            &mut log,
            Command::Resolve {
                reply: "已纳入改造计划并完成".into(),
            },
            t0(),
        )
        .unwrap();
        assert!(ticket.long_term.is_none());
        assert_eq!(
            Ticket::replay(&ticket.number, &{
                let mut all = vec![Event {
                    seq: 1,
                    at: t0(),
                    actor: Actor::citizen(),
                    change: Change::Created(ticket.intake.clone()),
                }];
                all.extend(log.iter().cloned());
                all
            })
            .unwrap()
            .dispute_count,
            1
        );
    }

    #[test]
    fn a_consultation_can_be_answered_on_the_call() {
        let mut ticket = start(Kind::Consultation, t0());
        let mut log = vec![];
        step(
            &mut ticket,
            &mut log,
            Command::AnswerAtIntake {
                answer: "可到政务中心办理".into(),
            },
            t0(),
        )
        .unwrap();
        assert_eq!(ticket.status, Status::Resolved);
        // Reopening a ticket no unit ever had sends it back to the dispatchers.
        step(
            &mut ticket,
            &mut log,
            Command::Reopen {
                reason: "没说清楚".into(),
            },
            t0(),
        )
        .unwrap();
        assert_eq!(ticket.status, Status::Pending);
    }

    #[test]
    fn intake_validation_names_the_field() {
        let city = sample_city();
        let mut bad = intake(Kind::Complaint);
        bad.citizen.phone = Some("12-34".into());
        assert_eq!(open(bad, &city).unwrap_err().field, "citizen.phone");
        let mut bad = intake(Kind::Complaint);
        bad.citizen.anonymous = true;
        assert_eq!(open(bad, &city).unwrap_err().field, "citizen.phone");
        let mut bad = intake(Kind::Complaint);
        bad.title = " ".into();
        assert_eq!(open(bad, &city).unwrap_err().field, "title");
        let mut bad = intake(Kind::Complaint);
        bad.tier = TierCode("3d".into());
        let err = open(bad, &city).unwrap_err();
        assert_eq!(err.field, "tier");
        assert!(err.problem.contains("2h, 15d"), "{}", err.problem);
    }

    fn any_command() -> impl Strategy<Value = Command> {
        let unit = prop::sample::select(vec![
            "S-yanghu",
            "C-yanghu",
            "P-meishun",
            "S-pingtang",
            "nowhere",
        ])
        .prop_map(UnitId::new);
        let words =
            prop::sample::select(vec!["", " ", "已处理", "不归我们管"]).prop_map(String::from);
        let satisfaction = prop::sample::select(Satisfaction::ALL.to_vec());
        prop_oneof![
            unit.clone()
                .prop_map(|unit| Command::Dispatch { unit, reason: None }),
            Just(Command::Accept),
            words.clone().prop_map(|reason| Command::Return { reason }),
            unit.prop_map(|unit| Command::Redispatch { unit, reason: None }),
            words.clone().prop_map(|reply| Command::Resolve { reply }),
            words
                .clone()
                .prop_map(|answer| Command::AnswerAtIntake { answer }),
            (any::<bool>(), satisfaction).prop_map(|(solved, satisfaction)| Command::Rate(
                Rating {
                    solved,
                    satisfaction
                }
            )),
            words.clone().prop_map(|reason| Command::Reopen { reason }),
            prop::option::of(words.clone()).prop_map(|reason| Command::Close { reason }),
            words
                .clone()
                .prop_map(|reason| Command::RejectReturn { reason }),
            (1i64..400, words.clone()).prop_map(|(hours, reason)| Command::RequestExtension {
                resolve_by: t0()
                    .checked_add(jiff::SignedDuration::from_hours(hours * 24))
                    .unwrap(),
                reason,
            }),
            (any::<bool>(), prop::option::of(words.clone()))
                .prop_map(|(approve, reason)| Command::DecideExtension { approve, reason }),
            words.clone().prop_map(|note| Command::Urge { note }),
            (1i16..60, words).prop_map(|(days, reason)| Command::MarkLongTerm {
                reason,
                review_on: jiff::civil::date(2026, 12, 1)
                    .checked_add(jiff::Span::new().days(days))
                    .unwrap(),
            }),
        ]
    }

    proptest! {
        /// Whatever is asked, in whatever order: refused commands change nothing, the
        /// state always satisfies the invariants, and replaying the log rebuilds it.
        #[test]
        fn random_commands_keep_the_invariants(
            kind in prop::sample::select(Kind::ALL.to_vec()),
            commands in prop::collection::vec((any_command(), 0i64..100_000), 0..40),
        ) {
            let city = sample_city();
            let mut ticket = start(kind, t0());
            let mut log = vec![Event { seq: 1, at: t0(), actor: Actor::citizen(), change: Change::Created(ticket.intake.clone()) }];
            let mut now = t0();
            for (command, seconds_later) in commands {
                now = now.checked_add(jiff::SignedDuration::from_secs(seconds_later)).unwrap();
                let before = ticket.clone();
                match transition(&ticket, command, &city, now) {
                    Ok(change) => {
                        prop_assert_ne!(before.status, Status::Closed, "a closed ticket changed");
                        let event = Event { seq: ticket.version + 1, at: now, actor: Actor::system("test"), change };
                        ticket.apply(&event);
                        log.push(event);
                    }
                    Err(_) => prop_assert_eq!(&ticket, &before),
                }
                // One owner exactly while a unit holds it; none while dispatchers do.
                match ticket.status {
                    Status::Dispatched | Status::Accepted => prop_assert!(ticket.unit.is_some()),
                    Status::Pending => prop_assert!(ticket.unit.is_none()),
                    Status::Resolved | Status::Closed => {}
                }
                if let Some(unit) = &ticket.unit {
                    prop_assert!(city.units.get(unit).is_some());
                }
                if let Some(due) = ticket.deadlines {
                    prop_assert!(due.respond_by >= ticket.created_at && due.resolve_by >= due.respond_by);
                }
                prop_assert_eq!(ticket.status == Status::Resolved || ticket.status == Status::Closed, ticket.resolved_at.is_some() || ticket.status == Status::Closed);
                prop_assert!(ticket.rating.is_none() || ticket.status != Status::Pending);
                prop_assert!(ticket.returned_from.is_none() || ticket.status == Status::Pending);
                prop_assert!(ticket.extension.is_none() || matches!(ticket.status, Status::Dispatched | Status::Accepted));
                prop_assert!(ticket.long_term.is_none() || ticket.status == Status::Accepted);
            }
            let rebuilt = Ticket::replay(&ticket.number, &log).unwrap();
            prop_assert_eq!(rebuilt, ticket);
        }
    }
}
