//! The state machine: the one place that decides whether a ticket may change.
//!
//! Why one file of ~900 lines: the whole state machine is read as one table (which
//! command may move which status, and what it records); split by command, a reviewer
//! could no longer see in one place that no path skips a step (留痕).
//!
//! [`open`] checks a new demand; [`transition`] checks a requested [`Command`] against
//! the ticket's current state and returns the [`Change`] to record, or says precisely
//! why not. Nothing else in minhu produces events, so every ticket's history obeys the
//! rules below:
//!
//! ```text
//!  pending --dispatch--> dispatched --accept--> accepted --resolve--> resolved --close--> closed
//!     ^  \                 |  ^  |                 |  |                  |  ^ rate (回访)
//!     |   answer_at_intake |  |  +--redispatch-----+  |                  |
//!     |   (consultations)  |  +------------------------------- reopen --+
//!     +------ return ------+-------------------------+
//!     ^  reject_return: back to the unit that returned it (a dispute)
//!     |  reassign: the dispatchers move a held ticket to another unit
//!     |
//!     +-- unmerge -- merged <--merge-- pending | dispatched | accepted
//!                      |
//!                      +--reply_from_case (the main case resolved)--> resolved
//! ```
//!
//! While a ticket is accepted its lead unit may summon others (联办, `summon`); each
//! summoned unit accepts (`accept_part`) and reports (`report_part`) its own part, and
//! the lead may not reply, return or pass the ticket on until all have reported (a
//! city may let the lead reply first: `[workflow] resolve_needs_parts`). Extensions,
//! urging and long-term marking (挂账, reviewed on its date and lifted when the demand
//! can be solved) change a held ticket without moving it.

use crate::City;
use crate::deadline::TierCode;
use crate::duty::DutyBasis;
use crate::event::Change;
use crate::ids::{CityId, RegionId, TicketNumber, UnitId};
use crate::region::RegionLevel;
use crate::taxonomy::CategoryPath;
use crate::ticket::{
    Attachment, Channel, CheckKind, Citizen, Intake, Kind, PartState, Rating, Satisfaction, Status,
    Ticket,
};
use crate::timer::{self, DeadlineKind, EscalationTarget, TimerKind};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// What someone asks to do to a ticket. A field the action does not take is refused
/// (commands are never stored, so nothing old has to read).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Command {
    Reclassify {
        #[serde(default)]
        category: Option<CategoryPath>,
        #[serde(default)]
        region: Option<RegionId>,
        #[serde(default)]
        tier: Option<TierCode>,
        /// Why (kept with the change).
        #[serde(default)]
        reason: Option<String>,
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
        /// The knowledge-base article the answer was taken from, if any: the log then
        /// shows which article answered the citizen.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        article: Option<String>,
    },
    /// A grid worker handled what they report on the spot (即查即办): given with the
    /// report, in the same intake.
    HandleOnSpot {
        note: String,
    },
    /// Ask the ticket's grid worker to check on the spot or visit (核查, 回访).
    AssignCheck {
        kind: CheckKind,
        note: String,
    },
    /// The grid worker's finding on check `task`, with the photo taken there.
    ReportCheck {
        task: u32,
        note: String,
        photo: Attachment,
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
    /// The handling unit asks for more time (延期): `days` more working days on the
    /// city's calendar, or until `resolve_by`.
    RequestExtension {
        #[serde(default)]
        days: Option<u16>,
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
        resolve_by: Option<Timestamp>,
        reason: String,
    },
    /// A supervisor approves or refuses the extension asked for; an approval may set
    /// another deadline (`days` from the current one, or `resolve_by`).
    DecideExtension {
        approve: bool,
        #[serde(default)]
        days: Option<u16>,
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
        resolve_by: Option<Timestamp>,
        #[serde(default)]
        reason: Option<String>,
    },
    /// A supervisor presses the ticket (督办).
    Urge {
        note: String,
    },
    /// The citizen adds to their demand (补充): a message on the channel they reported
    /// by (WeChat, SMS, e-mail) or what they said on a callback. `channel` is where it
    /// came from, when not the agent's own record.
    FollowUp {
        text: String,
        #[serde(default)]
        channel: Option<Channel>,
    },
    /// 挂账: cannot be solved now; tracked openly, reviewed on `review_on`.
    MarkLongTerm {
        reason: String,
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
        review_on: jiff::civil::Date,
    },
    /// Ends 挂账: the demand can be solved now; the unit gets the tier's time afresh.
    LiftLongTerm {
        reason: String,
    },
    /// 转办: the dispatchers hand a demand about another city of the province to that
    /// city's desk, saying why; the desk has the tier's response time to take it.
    /// (Which cities are served is the engine's to check.)
    TransferCity {
        city: CityId,
        reason: String,
    },
    /// The dispatchers move a ticket a unit holds to another unit (not a return: the
    /// unit did not ask); the new unit gets a fresh clock.
    Reassign {
        unit: UnitId,
        reason: String,
    },
    /// The lead unit summons departments to a joint case (联办, 吹哨报到).
    Summon {
        units: Vec<UnitId>,
        note: String,
    },
    /// A summoned unit reports for duty (报到). `unit` is the acting official's unit;
    /// the API fills it in from the account.
    AcceptPart {
        #[serde(default)]
        unit: Option<UnitId>,
    },
    /// A summoned unit says what it did for its part.
    ReportPart {
        #[serde(default)]
        unit: Option<UnitId>,
        report: String,
    },
    /// The dispatchers merge this ticket into a main case (并单): that case's reply
    /// reaches this ticket's citizen too.
    Merge {
        into: TicketNumber,
        reason: String,
    },
    /// Takes a merged ticket out of its case, back to the dispatchers.
    Unmerge {
        reason: String,
    },
    /// The main case's reply, passed to a ticket merged into it. Issued by the engine
    /// when the case is resolved, never by a person.
    ReplyFromCase {
        case: TicketNumber,
        reply: String,
    },
    /// A timer whose moment has come (only the timer worker sends this).
    Fire {
        timer: TimerKind,
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
            Command::HandleOnSpot { .. } => "handle_on_spot",
            Command::AssignCheck { .. } => "assign_check",
            Command::ReportCheck { .. } => "report_check",
            Command::AddAttachment(_) => "add_attachment",
            Command::Rate(_) => "rate",
            Command::Reopen { .. } => "reopen",
            Command::Close { .. } => "close",
            Command::RejectReturn { .. } => "reject_return",
            Command::RequestExtension { .. } => "request_extension",
            Command::DecideExtension { .. } => "decide_extension",
            Command::Urge { .. } => "urge",
            Command::FollowUp { .. } => "follow_up",
            Command::MarkLongTerm { .. } => "mark_long_term",
            Command::LiftLongTerm { .. } => "lift_long_term",
            Command::Reassign { .. } => "reassign",
            Command::TransferCity { .. } => "transfer_city",
            Command::Summon { .. } => "summon",
            Command::AcceptPart { .. } => "accept_part",
            Command::ReportPart { .. } => "report_part",
            Command::Merge { .. } => "merge",
            Command::Unmerge { .. } => "unmerge",
            Command::ReplyFromCase { .. } => "reply_from_case",
            Command::Fire { .. } => "fire",
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

/// The duty-list rule that sends `ticket` to `unit`, if the list says so for its
/// category and place (whoever dispatches: routing or a dispatcher following it).
fn duty_basis(city: &City, ticket: &Ticket, unit: &UnitId) -> Option<DutyBasis> {
    let category = ticket.intake.category.as_ref()?;
    city.duties
        .route(
            category,
            ticket.intake.region.as_ref(),
            &city.regions,
            &city.units,
        )
        .filter(|assignment| &assignment.unit == unit)
        .map(|assignment| assignment.basis)
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
    if citizen.anonymous
        && (citizen.phone.is_some() || citizen.name.is_some() || citizen.email.is_some())
    {
        let field = if citizen.phone.is_some() {
            "citizen.phone"
        } else if citizen.name.is_some() {
            "citizen.name"
        } else {
            "citizen.email"
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
    if let Some(email) = &citizen.email {
        let plausible = email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
        });
        if !plausible || email.len() > 254 || email.chars().any(char::is_whitespace) {
            return Err(FieldError::new(
                "citizen.email",
                "must be an e-mail address such as name@example.cn",
            ));
        }
    }
    optional_text("citizen.name", &citizen.name, 50)
}

/// Refuses to let the lead unit give a joint case away, or merge it, while summoned
/// units are still working on their parts.
fn no_open_parts(ticket: &Ticket) -> Result<(), FieldError> {
    let open: Vec<&str> = ticket.open_parts().map(|p| p.unit.as_str()).collect();
    if open.is_empty() {
        return Ok(());
    }
    Err(FieldError::new(
        "action",
        format!(
            "the summoned units {} have not reported their parts yet",
            open.join(", ")
        ),
    ))
}

/// The summoned unit acting on its part: it must be named (the API fills it in from
/// the account) and hold a part in `expected` state.
fn acting_part<'a>(
    ticket: &Ticket,
    unit: &'a Option<UnitId>,
    expected: PartState,
) -> Result<&'a UnitId, FieldError> {
    let unit = unit
        .as_ref()
        .ok_or_else(|| FieldError::new("unit", "say which summoned unit acts"))?;
    let part = ticket.part(unit).ok_or_else(|| {
        FieldError::new("unit", format!("{unit} was not summoned to this ticket"))
    })?;
    if part.state != expected {
        let problem = match part.state {
            PartState::Summoned => format!("{unit} has not accepted its part yet"),
            PartState::Accepted => format!("{unit} has already accepted its part"),
            PartState::Reported => format!("{unit} has already reported its part"),
        };
        return Err(FieldError::new("unit", problem));
    }
    Ok(unit)
}

/// A new resolution deadline asked for as `days` working days after the current one
/// or as a moment `resolve_by`: exactly one of the two, and later than both the
/// current deadline and now.
fn new_deadline(
    ticket: &Ticket,
    days: Option<u16>,
    resolve_by: Option<Timestamp>,
    city: &City,
    now: Timestamp,
) -> Result<Timestamp, FieldError> {
    let current = ticket.deadlines.map_or(now, |d| d.resolve_by);
    let wanted = match (days, resolve_by) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(FieldError::new(
                "days",
                "give either days (working days more) or resolve_by, not both",
            ));
        }
        (Some(0), None) => return Err(FieldError::new("days", "must be at least 1")),
        (Some(days), None) => city
            .calendar
            .add_working_days(current, &city.timezone, days),
        (None, Some(at)) => at,
    };
    let floor = current.max(now);
    let field = if days.is_some() { "days" } else { "resolve_by" };
    if wanted <= floor {
        return Err(FieldError::new(
            field,
            format!("the new deadline {wanted} must be later than {floor}"),
        ));
    }
    // An extension is more time, not an end to the clock: a city bounds how much.
    let most = city.workflow.max_extension_days;
    let latest = city.calendar.add_working_days(floor, &city.timezone, most);
    if wanted > latest {
        return Err(FieldError::new(
            field,
            format!(
                "an extension adds at most {most} working days (the city's [workflow] \
                 max_extension_days): the latest deadline is {latest}"
            ),
        ));
    }
    Ok(wanted)
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
                reason,
            },
            Pending | Dispatched | Accepted,
        ) => {
            optional_text("reason", reason, MAX_SHORT)?;
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
                reason: reason.clone(),
            }
        }
        (Command::Dispatch { unit, reason }, Pending) => {
            known_unit(city, unit, "unit")?;
            optional_text("reason", reason, MAX_SHORT)?;
            if ticket.returned_from.as_ref() == Some(unit) {
                return Err(FieldError::new(
                    "unit",
                    format!("{unit} returned this ticket; to send it back, reject the return (reject_return), which counts as a dispute"),
                )
                .into());
            }
            // An emergency tier's clock has run since intake.
            let tier = tier()?;
            Change::Dispatched {
                unit: unit.clone(),
                deadlines: city.deadlines(tier, tier.clock_start(ticket.created_at, now)),
                reason: reason.clone().unwrap_or_default(),
                basis: duty_basis(city, ticket, unit),
            }
        }
        (Command::Accept, Dispatched) => Change::Accepted,
        (Command::Return { reason }, Dispatched | Accepted) => {
            text("reason", reason, MAX_SHORT)?;
            no_open_parts(ticket)?;
            Change::Returned {
                reason: reason.clone(),
            }
        }
        (Command::Redispatch { unit, reason }, Dispatched | Accepted) => {
            known_unit(city, unit, "unit")?;
            optional_text("reason", reason, MAX_SHORT)?;
            no_open_parts(ticket)?;
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
                respond_by: respond_again(ticket, city, now),
            }
        }
        (Command::Resolve { reply }, Accepted) => {
            text("reply", reply, MAX_TEXT)?;
            if city.workflow.resolve_needs_parts {
                no_open_parts(ticket)?;
            }
            Change::Resolved {
                reply: reply.clone(),
            }
        }
        (Command::AnswerAtIntake { answer, article }, Pending) => {
            if ticket.intake.kind != Kind::Consultation {
                return Err(FieldError::new(
                    "action",
                    "only a consultation can be answered at intake; dispatch other kinds",
                )
                .into());
            }
            text("answer", answer, MAX_TEXT)?;
            optional_text("article", article, 64)?;
            Change::AnsweredAtIntake {
                answer: answer.clone(),
                article: article.clone(),
            }
        }
        (Command::HandleOnSpot { note }, Pending) => {
            if ticket.intake.channel != Channel::Grid {
                return Err(FieldError::new(
                    "action",
                    "only a grid worker's patrol report is handled on the spot",
                )
                .into());
            }
            text("note", note, MAX_TEXT)?;
            Change::HandledOnSpot { note: note.clone() }
        }
        (Command::AssignCheck { kind, note }, status) if status != Merged => {
            let placed = ticket
                .intake
                .region
                .as_ref()
                .and_then(|r| city.regions.get(r))
                .map(|r| r.level);
            if !matches!(placed, Some(RegionLevel::Grid | RegionLevel::Community)) {
                return Err(FieldError::new(
                    "region",
                    "a check goes to the grid worker of the ticket's grid or community: place the ticket there first",
                )
                .into());
            }
            text("note", note, MAX_SHORT)?;
            Change::CheckAssigned {
                task: ticket.checks.len() as u32 + 1,
                kind: *kind,
                note: note.clone(),
            }
        }
        (Command::ReportCheck { task, note, photo }, _) => {
            match ticket.checks.iter().find(|c| c.task == *task) {
                None => {
                    return Err(
                        FieldError::new("task", format!("the ticket has no check {task}")).into(),
                    );
                }
                Some(check) if check.done.is_some() => {
                    return Err(FieldError::new(
                        "task",
                        format!("check {task} is reported already"),
                    )
                    .into());
                }
                Some(_) => {}
            }
            text("note", note, MAX_SHORT)?;
            if !photo.media_type.starts_with("image/") {
                return Err(FieldError::new("photo", "send a photo taken on the spot").into());
            }
            Change::CheckReported {
                task: *task,
                note: note.clone(),
                photo: photo.clone(),
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
            if let Some(rating) = ticket.rating
                && rating.solved
                && rating.satisfaction != Satisfaction::Unsatisfied
            {
                return Err(FieldError::new(
                    "action",
                    "the citizen said the demand was solved and was not unsatisfied; close the ticket instead",
                )
                .into());
            }
            let deadlines = match ticket.unit {
                Some(_) => Some(city.deadlines(tier()?, now)),
                None => None,
            };
            Change::Reopened {
                reason: reason.clone(),
                deadlines,
                escalated: ticket.reopen_count >= city.workflow.reopen_limit,
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
                respond_by: respond_again(ticket, city, now),
            }
        }
        (
            Command::RequestExtension {
                days,
                resolve_by,
                reason,
            },
            Dispatched | Accepted,
        ) => {
            text("reason", reason, MAX_SHORT)?;
            if ticket.extension.is_some() {
                return Err(FieldError::new(
                    "action",
                    "an extension is already waiting for a decision",
                )
                .into());
            }
            let most = city.workflow.max_extensions;
            if ticket.extension_count >= most {
                return Err(FieldError::new(
                    "action",
                    format!(
                        "this ticket has had {most} extensions, the most the city allows \
                         ([workflow] max_extensions)"
                    ),
                )
                .into());
            }
            Change::ExtensionRequested {
                resolve_by: new_deadline(ticket, *days, *resolve_by, city, now)?,
                reason: reason.clone(),
            }
        }
        (
            Command::DecideExtension {
                approve,
                days,
                resolve_by,
                reason,
            },
            Dispatched | Accepted,
        ) => {
            let asked = ticket.extension.as_ref().ok_or_else(|| {
                FieldError::new("action", "no extension waits for a decision on this ticket")
            })?;
            optional_text("reason", reason, MAX_SHORT)?;
            if !approve && reason.is_none() {
                return Err(FieldError::new("reason", "say why the extension is refused").into());
            }
            let resolve_by = match (approve, days.is_some() || resolve_by.is_some()) {
                (true, true) => new_deadline(ticket, *days, *resolve_by, city, now)?,
                (false, true) => {
                    return Err(FieldError::new(
                        if days.is_some() { "days" } else { "resolve_by" },
                        "a refusal keeps the current deadline; leave the new one out",
                    )
                    .into());
                }
                (_, false) => asked.resolve_by,
            };
            Change::ExtensionDecided {
                approved: *approve,
                resolve_by,
                reason: reason.clone(),
            }
        }
        (Command::Urge { note }, Pending | Dispatched | Accepted) => {
            text("note", note, MAX_SHORT)?;
            Change::Urged { note: note.clone() }
        }
        // A closed demand is over: what the citizen adds then is a new demand.
        (
            Command::FollowUp {
                text: said,
                channel,
            },
            status,
        ) if status != Closed => {
            text("text", said, MAX_TEXT)?;
            Change::FollowedUp {
                text: said.clone(),
                channel: *channel,
            }
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
        (Command::LiftLongTerm { reason }, Accepted) => {
            if ticket.long_term.is_none() {
                return Err(
                    FieldError::new("action", "this ticket is not marked long-term").into(),
                );
            }
            text("reason", reason, MAX_SHORT)?;
            // The review date is long past the old deadline: the unit works to the
            // tier's time from now, as a reassigned unit would.
            Change::LongTermLifted {
                reason: reason.clone(),
                resolve_by: city.deadlines(tier()?, now).resolve_by,
            }
        }
        (Command::TransferCity { city: to, reason }, Pending) => {
            text("reason", reason, MAX_SHORT)?;
            if ticket.intake.city.as_ref() == Some(to) {
                return Err(
                    FieldError::new("city", format!("the ticket is {to}'s already")).into(),
                );
            }
            Change::TransferredCity {
                from: ticket.intake.city.clone(),
                to: to.clone(),
                reason: reason.clone(),
                respond_by: city.deadlines(tier()?, now).respond_by,
            }
        }
        (Command::Reassign { unit, reason }, Dispatched | Accepted) => {
            known_unit(city, unit, "unit")?;
            text("reason", reason, MAX_SHORT)?;
            no_open_parts(ticket)?;
            if ticket.unit.as_ref() == Some(unit) {
                return Err(
                    FieldError::new("unit", format!("{unit} already holds this ticket")).into(),
                );
            }
            Change::Reassigned {
                unit: unit.clone(),
                deadlines: city.deadlines(tier()?, now),
                reason: reason.clone(),
            }
        }
        (Command::Summon { units, note }, Accepted) => {
            text("note", note, MAX_SHORT)?;
            if units.is_empty() {
                return Err(FieldError::new("units", "name at least one unit to summon").into());
            }
            for (index, unit) in units.iter().enumerate() {
                let field = format!("units[{index}]");
                known_unit(city, unit, &field)?;
                if ticket.unit.as_ref() == Some(unit) {
                    return Err(FieldError::new(field, format!("{unit} leads this ticket")).into());
                }
                if units[..index].contains(unit) {
                    return Err(FieldError::new(field, format!("{unit} is named twice")).into());
                }
                if ticket
                    .part(unit)
                    .is_some_and(|p| p.state != PartState::Reported)
                {
                    return Err(FieldError::new(
                        field,
                        format!("{unit} is already summoned and has not reported"),
                    )
                    .into());
                }
            }
            Change::Summoned {
                units: units.clone(),
                note: note.clone(),
            }
        }
        (Command::AcceptPart { unit }, Accepted) => Change::PartAccepted {
            unit: acting_part(ticket, unit, PartState::Summoned)?.clone(),
        },
        (Command::ReportPart { unit, report }, Accepted) => {
            let unit = acting_part(ticket, unit, PartState::Accepted)?;
            text("report", report, MAX_TEXT)?;
            Change::PartReported {
                unit: unit.clone(),
                report: report.clone(),
            }
        }
        (Command::Merge { into, reason }, Pending | Dispatched | Accepted) => {
            text("reason", reason, MAX_SHORT)?;
            if into == &ticket.number {
                return Err(
                    FieldError::new("into", "a ticket cannot be merged into itself").into(),
                );
            }
            no_open_parts(ticket)?;
            // Its own merged tickets would be left waiting for a reply that never comes.
            if !ticket.merged.is_empty() {
                return Err(FieldError::new(
                    "into",
                    format!(
                        "this ticket is the main case of {} merged tickets; unmerge them first",
                        ticket.merged.len()
                    ),
                )
                .into());
            }
            Change::Merged {
                into: into.clone(),
                reason: reason.clone(),
            }
        }
        (Command::Unmerge { reason }, Merged) => {
            text("reason", reason, MAX_SHORT)?;
            Change::Unmerged {
                from: ticket.merged_into.clone().ok_or_else(|| refuse(&command))?,
                reason: reason.clone(),
            }
        }
        (Command::ReplyFromCase { case, reply }, Merged) => {
            text("reply", reply, MAX_TEXT)?;
            if ticket.merged_into.as_ref() != Some(case) {
                return Err(FieldError::new(
                    "case",
                    format!("this ticket is not merged into {case}"),
                )
                .into());
            }
            Change::CaseReplied {
                case: case.clone(),
                reply: reply.clone(),
            }
        }
        (Command::Fire { timer }, _) => fire(ticket, *timer, city, now)?,
        _ => return Err(refuse(&command)),
    };
    Ok(change)
}

/// Whether `main` can take other tickets in as their case (并单): it must be open and
/// not itself merged into another case. Its own reply will answer them all.
pub fn check_merge_target(main: &Ticket) -> Result<(), FieldError> {
    match main.status {
        Status::Merged => Err(FieldError::new(
            "into",
            format!(
                "{} is itself merged into {}; merge into that case",
                main.number,
                main.merged_into
                    .as_ref()
                    .map_or("another case", |n| n.as_str())
            ),
        )),
        Status::Resolved | Status::Closed => Err(FieldError::new(
            "into",
            format!(
                "{} is already answered; merge only into an open case",
                main.number
            ),
        )),
        Status::Pending | Status::Dispatched | Status::Accepted => Ok(()),
    }
}

/// The main case's side of a merge: `main` takes `ticket` in (the engine appends this
/// beside the ticket's own `merged` event, in one transaction).
pub fn join_case(main: &Ticket, ticket: &TicketNumber, reason: &str) -> Result<Change, FieldError> {
    check_merge_target(main)?;
    Ok(Change::CaseJoined {
        ticket: ticket.clone(),
        reason: reason.to_owned(),
    })
}

/// The main case's side of an unmerge; `None` when `ticket` was not recorded on it
/// (a merge made before main cases kept their list).
pub fn leave_case(main: &Ticket, ticket: &TicketNumber, reason: &str) -> Option<Change> {
    main.merged.contains(ticket).then(|| Change::CaseLeft {
        ticket: ticket.clone(),
        reason: reason.to_owned(),
    })
}

/// What a resolving change replies, for the tickets merged into the case.
pub fn case_reply(change: &Change) -> Option<&str> {
    match change {
        Change::Resolved { reply } => Some(reply),
        Change::AnsweredAtIntake { answer, .. } => Some(answer),
        _ => None,
    }
}

/// A unit that gets the ticket anew must accept within its tier's response window, but
/// never later than the resolution deadline that keeps running.
fn respond_again(ticket: &Ticket, city: &City, now: Timestamp) -> Option<Timestamp> {
    let deadlines = ticket.deadlines?;
    let tier = city.tier(&ticket.intake.tier)?;
    let fresh = tier.respond_within.due(now, &city.timezone, &city.calendar);
    Some(fresh.min(deadlines.resolve_by).max(deadlines.respond_by))
}

/// A timer fires only while the ticket still has it pending and its moment has come;
/// anything else means the ticket moved on (or another worker fired it first).
fn fire(
    ticket: &Ticket,
    kind: TimerKind,
    city: &City,
    now: Timestamp,
) -> Result<Change, FieldError> {
    let timer = timer::pending(ticket, city)
        .into_iter()
        .find(|t| t.kind == kind)
        .ok_or_else(|| {
            FieldError::new(
                "timer",
                format!("{} is not pending on this ticket", kind.code()),
            )
        })?;
    if timer.due_at > now {
        return Err(FieldError::new(
            "timer",
            format!("{} is not due until {}", kind.code(), timer.due_at),
        ));
    }
    let deadlines = ticket
        .deadlines
        .ok_or_else(|| FieldError::new("timer", "the ticket has no deadlines"));
    Ok(match kind {
        TimerKind::RespondWarning => Change::Warned {
            deadline: DeadlineKind::Respond,
            due_by: deadlines?.respond_by,
        },
        TimerKind::RespondOverdue => Change::Overdue {
            deadline: DeadlineKind::Respond,
            due_by: deadlines?.respond_by,
        },
        TimerKind::ResolveWarning => Change::Warned {
            deadline: DeadlineKind::Resolve,
            due_by: deadlines?.resolve_by,
        },
        TimerKind::ResolveOverdue => Change::Overdue {
            deadline: DeadlineKind::Resolve,
            due_by: deadlines?.resolve_by,
        },
        TimerKind::EscalateUnitLeader => Change::Escalated {
            to: EscalationTarget::UnitLeader,
            unit: ticket.unit.clone(),
        },
        TimerKind::EscalateSupervisor => Change::Escalated {
            to: EscalationTarget::Supervisor,
            unit: ticket.unit.clone(),
        },
        TimerKind::CallbackDue => Change::CallbackDue,
        TimerKind::TransferOverdue => Change::Overdue {
            deadline: DeadlineKind::Transfer,
            due_by: ticket
                .transfer
                .as_ref()
                .map(|t| t.respond_by)
                .ok_or_else(|| FieldError::new("timer", "the ticket was not handed over"))?,
        },
        TimerKind::LongTermReview => Change::LongTermReviewDue {
            review_on: ticket
                .long_term
                .as_ref()
                .map(|l| l.review_on)
                .ok_or_else(|| FieldError::new("timer", "the ticket is not long-term"))?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::city::tests::sample_city;
    use crate::deadline::TierStart;
    use crate::event::{Actor, Event, SystemPart};
    use crate::ids::TicketNumber;
    use crate::ticket::{Channel, Satisfaction};
    use jiff::SignedDuration;
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
            city: None,
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
            actor: Actor::system(SystemPart::Router),
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
                article: None,
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
            days: None,
            resolve_by: Some(t0()),
            reason: "需要协调".into(),
        };
        assert!(
            matches!(step(&mut ticket, &mut log, too_early, t0()), Err(TransitionError::Invalid(ref f)) if f.field == "resolve_by")
        );
        step(
            &mut ticket,
            &mut log,
            Command::RequestExtension {
                days: None,
                resolve_by: Some(later),
                reason: "需要协调施工方".into(),
            },
            t0(),
        )
        .unwrap();
        let refuse_silently = Command::DecideExtension {
            approve: false,
            days: None,
            resolve_by: None,
            reason: None,
        };
        assert!(step(&mut ticket, &mut log, refuse_silently, t0()).is_err());
        step(
            &mut ticket,
            &mut log,
            Command::DecideExtension {
                approve: true,
                days: None,
                resolve_by: None,
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

    fn hours_after(at: Timestamp, hours: i64) -> Timestamp {
        at.checked_add(jiff::SignedDuration::from_hours(hours))
            .unwrap()
    }

    fn fire(
        ticket: &mut Ticket,
        log: &mut Vec<Event>,
        timer: TimerKind,
        at: Timestamp,
    ) -> Result<(), TransitionError> {
        step(ticket, log, Command::Fire { timer }, at)
    }

    #[test]
    fn an_emergency_tier_counts_from_intake_and_keeps_its_reason() {
        let mut city = sample_city();
        let mut ticket = start(Kind::Help, t0());
        let urgent = TierCode("2h".into());
        // Routing raises the tier at intake and writes why then.
        let raise = Command::Reclassify {
            category: None,
            region: None,
            tier: Some(urgent.clone()),
            reason: Some("燃气泄漏".into()),
        };
        let change = transition(&ticket, raise, &city, t0()).unwrap();
        let Change::Reclassified { reason, .. } = &change else {
            panic!("{change:?}")
        };
        assert_eq!(reason.as_deref(), Some("燃气泄漏"));
        ticket.apply(&Event {
            seq: 2,
            at: t0(),
            actor: Actor::system(SystemPart::Router),
            change,
        });
        // Dispatched 90 minutes later: a tier counted from dispatch gives the unit two
        // hours from then, one counted from intake the 30 minutes left.
        let later = t0() + SignedDuration::from_mins(90);
        let dispatch = || Command::Dispatch {
            unit: UnitId::new("S-yanghu"),
            reason: None,
        };
        let due = |city: &City| match transition(&ticket, dispatch(), city, later).unwrap() {
            Change::Dispatched { deadlines, .. } => deadlines.resolve_by,
            other => panic!("{other:?}"),
        };
        assert_eq!(due(&city), later + SignedDuration::from_hours(2));
        city.tiers
            .iter_mut()
            .find(|t| t.code == urgent)
            .unwrap()
            .starts = TierStart::Intake;
        assert_eq!(due(&city), t0() + SignedDuration::from_hours(2));
        // A reason is checked like any other text.
        let long = Command::Reclassify {
            category: None,
            region: None,
            tier: Some(urgent),
            reason: Some("长".repeat(MAX_SHORT + 1)),
        };
        let refused = transition(&ticket, long, &city, later).unwrap_err();
        assert!(refused.to_string().contains("reason"), "{refused}");
    }

    #[test]
    fn timers_fire_once_when_due_and_follow_the_deadlines() {
        let city = sample_city();
        let mut ticket = start(Kind::Complaint, t0());
        let mut log = vec![];
        assert!(
            timer::pending(&ticket, &city).is_empty(),
            "a pending ticket has no clock"
        );
        let dispatch = Command::Dispatch {
            unit: UnitId::new("S-yanghu"),
            reason: None,
        };
        step(&mut ticket, &mut log, dispatch, t0()).unwrap();
        let due = ticket.deadlines.unwrap();
        let kinds = |ticket: &Ticket| {
            timer::pending(ticket, &city)
                .iter()
                .map(|t| t.kind)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            kinds(&ticket),
            [
                TimerKind::RespondWarning,
                TimerKind::RespondOverdue,
                TimerKind::ResolveWarning,
                TimerKind::ResolveOverdue,
                TimerKind::EscalateUnitLeader,
                TimerKind::EscalateSupervisor
            ]
        );
        // 15d tier, 24h to accept: warned with a fifth of 24h left.
        let respond_warning = timer::pending(&ticket, &city)[0];
        assert_eq!(
            respond_warning.due_at,
            due.respond_by
                .checked_sub(jiff::SignedDuration::from_mins(288))
                .unwrap()
        );
        let early = fire(&mut ticket, &mut log, TimerKind::RespondOverdue, t0()).unwrap_err();
        assert!(early.to_string().contains("not due until"), "{early}");
        fire(
            &mut ticket,
            &mut log,
            TimerKind::RespondOverdue,
            due.respond_by,
        )
        .unwrap();
        assert_eq!(ticket.alerts.respond, Some(timer::Flag::Overdue));
        assert_eq!(ticket.alerts.flag(), Some(timer::Flag::Overdue));
        // Overdue implies the warning: it is no longer pending, and firing twice fails.
        assert!(!kinds(&ticket).contains(&TimerKind::RespondWarning));
        let twice = fire(
            &mut ticket,
            &mut log,
            TimerKind::RespondOverdue,
            due.respond_by,
        );
        assert!(matches!(twice, Err(TransitionError::Invalid(ref f)) if f.field == "timer"));
        // Redispatch: the sub-unit has its own response window; the resolution runs on.
        let later = hours_after(t0(), 30);
        let redispatch = Command::Redispatch {
            unit: UnitId::new("C-yanghu"),
            reason: None,
        };
        step(&mut ticket, &mut log, redispatch, later).unwrap();
        let moved = ticket.deadlines.unwrap();
        assert_eq!(moved.respond_by, hours_after(later, 24));
        assert_eq!(moved.resolve_by, due.resolve_by);
        assert_eq!(ticket.alerts.respond, None);
        step(&mut ticket, &mut log, Command::Accept, later).unwrap();
        assert_eq!(kinds(&ticket)[0], TimerKind::ResolveWarning);
        fire(
            &mut ticket,
            &mut log,
            TimerKind::ResolveOverdue,
            due.resolve_by,
        )
        .unwrap();
        let escalate_at = hours_after(due.resolve_by, 4);
        fire(
            &mut ticket,
            &mut log,
            TimerKind::EscalateUnitLeader,
            escalate_at,
        )
        .unwrap();
        assert_eq!(
            ticket.alerts.escalated,
            [timer::EscalationTarget::UnitLeader]
        );
        assert!(
            matches!(log.last().unwrap().change, Change::Escalated { ref unit, .. } if unit.as_ref().unwrap().as_str() == "C-yanghu")
        );
        // An approved extension is a new resolution deadline: its alerts start over.
        let extended = hours_after(due.resolve_by, 240);
        let ask = Command::RequestExtension {
            days: None,
            resolve_by: Some(extended),
            reason: "需要协调".into(),
        };
        step(&mut ticket, &mut log, ask, escalate_at).unwrap();
        let approve = Command::DecideExtension {
            approve: true,
            days: None,
            resolve_by: None,
            reason: None,
        };
        step(&mut ticket, &mut log, approve, escalate_at).unwrap();
        assert!(ticket.alerts.is_empty());
        let overdue = timer::pending(&ticket, &city)
            .into_iter()
            .find(|t| t.kind == TimerKind::ResolveOverdue)
            .unwrap();
        assert_eq!(overdue.due_at, extended);
        let resolve = Command::Resolve {
            reply: "已处理".into(),
        };
        step(&mut ticket, &mut log, resolve, escalate_at).unwrap();
        assert_eq!(
            timer::pending(&ticket, &city),
            [timer::Timer {
                kind: TimerKind::CallbackDue,
                due_at: hours_after(escalate_at, 72)
            }]
        );
        fire(
            &mut ticket,
            &mut log,
            TimerKind::CallbackDue,
            hours_after(escalate_at, 80),
        )
        .unwrap();
        assert_eq!(ticket.alerts.flag(), Some(timer::Flag::CallbackDue));
        let rating = Rating {
            solved: true,
            satisfaction: Satisfaction::Satisfied,
        };
        step(
            &mut ticket,
            &mut log,
            Command::Rate(rating),
            hours_after(escalate_at, 81),
        )
        .unwrap();
        assert!(ticket.alerts.is_empty() && timer::pending(&ticket, &city).is_empty());
    }

    #[test]
    fn a_long_term_demand_is_reviewed_on_its_date_and_lifted_with_a_fresh_deadline() {
        let city = sample_city();
        let mut ticket = start(Kind::Complaint, t0());
        let mut log = vec![];
        let street = UnitId::new("S-yanghu");
        let dispatch = Command::Dispatch {
            unit: street,
            reason: None,
        };
        step(&mut ticket, &mut log, dispatch, t0()).unwrap();
        let lift = || Command::LiftLongTerm {
            reason: "改造资金已到位".into(),
        };
        assert!(matches!(
            step(&mut ticket, &mut log, lift(), t0()),
            Err(TransitionError::NotAllowed { .. })
        ));
        step(&mut ticket, &mut log, Command::Accept, t0()).unwrap();
        assert!(
            matches!(step(&mut ticket, &mut log, lift(), t0()), Err(TransitionError::Invalid(ref f)) if f.field == "action"),
            "only a long-term ticket can be lifted"
        );
        let mark = |review_on| Command::MarkLongTerm {
            reason: "需纳入明年改造计划".into(),
            review_on,
        };
        step(
            &mut ticket,
            &mut log,
            mark(jiff::civil::date(2027, 3, 1)),
            t0(),
        )
        .unwrap();
        // No deadline runs; the review date reminds, from the start of that day.
        let kinds = |ticket: &Ticket| -> Vec<(TimerKind, Timestamp)> {
            timer::pending(ticket, &city)
                .into_iter()
                .map(|t| (t.kind, t.due_at))
                .collect()
        };
        let review_at: Timestamp = "2027-02-28T16:00:00Z".parse().unwrap();
        assert_eq!(kinds(&ticket), [(TimerKind::LongTermReview, review_at)]);
        let early = fire(&mut ticket, &mut log, TimerKind::LongTermReview, t0());
        assert!(matches!(early, Err(TransitionError::Invalid(ref f)) if f.field == "timer"));
        fire(&mut ticket, &mut log, TimerKind::LongTermReview, review_at).unwrap();
        assert_eq!(
            log.last().unwrap().change,
            Change::LongTermReviewDue {
                review_on: jiff::civil::date(2027, 3, 1)
            }
        );
        assert_eq!(ticket.alerts.flag(), Some(timer::Flag::ReviewDue));
        assert!(kinds(&ticket).is_empty(), "it reminds once");
        // Reviewed: still long-term, with the next review date and its reminder.
        step(
            &mut ticket,
            &mut log,
            mark(jiff::civil::date(2027, 6, 1)),
            review_at,
        )
        .unwrap();
        assert_eq!(ticket.alerts.flag(), None);
        assert_eq!(kinds(&ticket)[0].0, TimerKind::LongTermReview);
        // Lifted: a fresh resolution deadline from now, its clock running again.
        let lifted_at: Timestamp = "2027-04-01T01:00:00Z".parse().unwrap();
        step(&mut ticket, &mut log, lift(), lifted_at).unwrap();
        assert!(ticket.long_term.is_none());
        let tier = city.tier(&ticket.intake.tier).unwrap();
        assert_eq!(
            ticket.deadlines.unwrap().resolve_by,
            city.deadlines(tier, lifted_at).resolve_by
        );
        assert!(
            kinds(&ticket)
                .iter()
                .any(|(kind, _)| *kind == TimerKind::ResolveOverdue)
        );
        assert!(
            !kinds(&ticket)
                .iter()
                .any(|(kind, _)| *kind == TimerKind::LongTermReview)
        );
        assert_eq!(replayed(&ticket, &log), ticket);
    }

    #[test]
    fn reopening_sets_fresh_deadlines() {
        let city = sample_city();
        let mut ticket = start(Kind::Complaint, t0());
        let mut log = vec![];
        let dispatch = Command::Dispatch {
            unit: UnitId::new("S-yanghu"),
            reason: None,
        };
        step(&mut ticket, &mut log, dispatch, t0()).unwrap();
        step(&mut ticket, &mut log, Command::Accept, t0()).unwrap();
        let resolve = Command::Resolve {
            reply: "已处理".into(),
        };
        step(&mut ticket, &mut log, resolve, t0()).unwrap();
        let later = hours_after(t0(), 24 * 30);
        let reopen = Command::Reopen {
            reason: "没有解决".into(),
        };
        step(&mut ticket, &mut log, reopen, later).unwrap();
        let tier = city.tier(&ticket.intake.tier).unwrap();
        assert_eq!(ticket.deadlines, Some(city.deadlines(tier, later)));
        assert_eq!(ticket.status, Status::Dispatched);
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
                article: Some("kb-zwzx".into()),
            },
            t0(),
        )
        .unwrap();
        assert_eq!(ticket.status, Status::Resolved);
        assert!(
            matches!(&log.last().unwrap().change, Change::AnsweredAtIntake { article: Some(a), .. } if a == "kb-zwzx"),
            "the log names the article that answered"
        );
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
        for email in [
            "li.example.cn",
            "li@localhost",
            "@example.cn",
            "li @example.cn",
        ] {
            let mut bad = intake(Kind::Complaint);
            bad.citizen.email = Some(email.into());
            assert_eq!(
                open(bad, &city).unwrap_err().field,
                "citizen.email",
                "{email}"
            );
        }
        let mut good = intake(Kind::Complaint);
        good.citizen.email = Some("li@example.cn".into());
        assert!(open(good, &city).is_ok());
        let mut bad = intake(Kind::Complaint);
        bad.title = " ".into();
        assert_eq!(open(bad, &city).unwrap_err().field, "title");
        let mut bad = intake(Kind::Complaint);
        bad.tier = TierCode("3d".into());
        let err = open(bad, &city).unwrap_err();
        assert_eq!(err.field, "tier");
        assert!(err.problem.contains("2h, 15d"), "{}", err.problem);
    }

    fn field_of(result: Result<(), TransitionError>) -> String {
        match result {
            Err(TransitionError::Invalid(error)) => error.field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    fn accepted_by(unit: &str) -> (Ticket, Vec<Event>) {
        let mut ticket = start(Kind::Complaint, t0());
        let mut log = vec![];
        let dispatch = Command::Dispatch {
            unit: UnitId::new(unit),
            reason: None,
        };
        step(&mut ticket, &mut log, dispatch, t0()).unwrap();
        step(&mut ticket, &mut log, Command::Accept, t0()).unwrap();
        (ticket, log)
    }

    #[test]
    fn joint_handling_waits_for_every_summoned_unit() {
        let (mut ticket, mut log) = accepted_by("S-yanghu");
        let housing = UnitId::new("A3-housing");
        let pingtang = UnitId::new("S-pingtang");
        let summon = |units: Vec<UnitId>| Command::Summon {
            units,
            note: "占道施工，请住建和邻街到场".into(),
        };
        assert_eq!(
            field_of(step(&mut ticket, &mut log, summon(vec![]), t0())),
            "units"
        );
        let lead_itself = summon(vec![housing.clone(), UnitId::new("S-yanghu")]);
        let err = transition(&ticket, lead_itself, &sample_city(), t0()).unwrap_err();
        assert_eq!(
            err,
            TransitionError::Invalid(FieldError::new("units[1]", "S-yanghu leads this ticket"))
        );
        let twice = summon(vec![housing.clone(), housing.clone()]);
        assert_eq!(
            field_of(step(&mut ticket, &mut log, twice, t0())),
            "units[1]"
        );
        step(
            &mut ticket,
            &mut log,
            summon(vec![housing.clone(), pingtang.clone()]),
            t0(),
        )
        .unwrap();
        assert_eq!(ticket.parts.len(), 2);
        let again = summon(vec![housing.clone()]);
        assert_eq!(
            field_of(step(&mut ticket, &mut log, again, t0())),
            "units[0]"
        );

        // A part is taken by the unit named, which must have been summoned.
        let anonymous = Command::AcceptPart { unit: None };
        assert_eq!(
            field_of(step(&mut ticket, &mut log, anonymous, t0())),
            "unit"
        );
        let stranger = Command::AcceptPart {
            unit: Some(UnitId::new("C-yanghu")),
        };
        assert_eq!(
            field_of(step(&mut ticket, &mut log, stranger, t0())),
            "unit"
        );
        let report = |unit: &UnitId| Command::ReportPart {
            unit: Some(unit.clone()),
            report: "已到场处置".into(),
        };
        let err = transition(&ticket, report(&housing), &sample_city(), t0()).unwrap_err();
        assert_eq!(
            err,
            TransitionError::Invalid(FieldError::new(
                "unit",
                "A3-housing has not accepted its part yet"
            ))
        );
        for unit in [&housing, &pingtang] {
            let accept = Command::AcceptPart {
                unit: Some(unit.clone()),
            };
            step(&mut ticket, &mut log, accept, t0()).unwrap();
        }
        step(&mut ticket, &mut log, report(&housing), t0()).unwrap();
        assert_eq!(
            field_of(step(&mut ticket, &mut log, report(&housing), t0())),
            "unit"
        );

        // The lead cannot reply, hand the case down or give it back while a part is open.
        let reply = Command::Resolve {
            reply: "联合整治完成".into(),
        };
        let err = transition(&ticket, reply.clone(), &sample_city(), t0()).unwrap_err();
        assert_eq!(
            err,
            TransitionError::Invalid(FieldError::new(
                "action",
                "the summoned units S-pingtang have not reported their parts yet"
            ))
        );
        let give_back = Command::Return {
            reason: "不归我们管".into(),
        };
        assert_eq!(
            field_of(step(&mut ticket, &mut log, give_back, t0())),
            "action"
        );
        // A city may let the lead reply first.
        let mut lenient = sample_city();
        lenient.workflow.resolve_needs_parts = false;
        assert!(transition(&ticket, reply.clone(), &lenient, t0()).is_ok());

        step(&mut ticket, &mut log, report(&pingtang), t0()).unwrap();
        step(&mut ticket, &mut log, reply, t0()).unwrap();
        assert_eq!(ticket.status, Status::Resolved);
        assert!(ticket.parts.iter().all(|p| p.state == PartState::Reported));
        assert_eq!(replayed(&ticket, &log), ticket);
    }

    /// The ticket rebuilt from its created event and `log`.
    fn replayed(ticket: &Ticket, log: &[Event]) -> Ticket {
        let mut all = vec![Event {
            seq: 1,
            at: ticket.created_at,
            actor: Actor::citizen(),
            change: Change::Created(ticket.intake.clone()),
        }];
        all.extend(log.iter().cloned());
        Ticket::replay(&ticket.number, &all).unwrap()
    }

    #[test]
    fn a_merged_ticket_waits_for_its_case_and_gets_its_reply() {
        let (mut ticket, mut log) = accepted_by("S-yanghu");
        let case = TicketNumber::parse("2026112200009").unwrap();
        let itself = Command::Merge {
            into: ticket.number.clone(),
            reason: "同一事件".into(),
        };
        assert_eq!(field_of(step(&mut ticket, &mut log, itself, t0())), "into");
        let merge = Command::Merge {
            into: case.clone(),
            reason: "同一工地夜间施工".into(),
        };
        step(&mut ticket, &mut log, merge, t0()).unwrap();
        assert_eq!(
            (
                ticket.status,
                ticket.unit.as_ref(),
                ticket.merged_into.as_ref()
            ),
            (Status::Merged, None, Some(&case))
        );
        assert!(
            !ticket.is_overdue(Timestamp::MAX),
            "the case carries the clock"
        );
        let resolve = Command::Resolve {
            reply: "自己答复".into(),
        };
        assert!(matches!(
            step(&mut ticket, &mut log, resolve, t0()),
            Err(TransitionError::NotAllowed {
                action: "resolve",
                status: Status::Merged
            })
        ));
        let other_case = Command::ReplyFromCase {
            case: TicketNumber::parse("2026112200010").unwrap(),
            reply: "已停工".into(),
        };
        assert_eq!(
            field_of(step(&mut ticket, &mut log, other_case, t0())),
            "case"
        );
        let mut unmerged = ticket.clone();
        let unmerge = Command::Unmerge {
            reason: "不是同一工地".into(),
        };
        step(&mut unmerged, &mut log.clone(), unmerge, t0()).unwrap();
        assert_eq!(
            (unmerged.status, unmerged.merged_into.as_ref()),
            (Status::Pending, None)
        );

        let reply = Command::ReplyFromCase {
            case: case.clone(),
            reply: "工地已停止夜间施工".into(),
        };
        step(&mut ticket, &mut log, reply, t0()).unwrap();
        assert_eq!(ticket.status, Status::Resolved);
        assert_eq!(ticket.reply.as_deref(), Some("工地已停止夜间施工"));
        // This citizen is not satisfied: the demand is handled on its own again.
        let unhappy = Rating {
            solved: false,
            satisfaction: Satisfaction::Unsatisfied,
        };
        step(&mut ticket, &mut log, Command::Rate(unhappy), t0()).unwrap();
        let reopen = Command::Reopen {
            reason: "还在施工".into(),
        };
        step(&mut ticket, &mut log, reopen, t0()).unwrap();
        assert_eq!(
            (ticket.status, ticket.merged_into.as_ref()),
            (Status::Pending, None)
        );
        assert_eq!(replayed(&ticket, &log), ticket);
    }

    #[test]
    fn a_merge_target_must_be_an_open_case() {
        let (mut ticket, mut log) = accepted_by("S-yanghu");
        assert!(check_merge_target(&ticket).is_ok());
        let reply = Command::Resolve {
            reply: "已处理".into(),
        };
        step(&mut ticket, &mut log, reply, t0()).unwrap();
        assert_eq!(check_merge_target(&ticket).unwrap_err().field, "into");
    }

    #[test]
    fn dispatchers_uphold_a_return_elsewhere_or_reassign_with_a_fresh_clock() {
        let (mut ticket, mut log) = accepted_by("S-yanghu");
        let give_back = Command::Return {
            reason: "属平塘街道".into(),
        };
        step(&mut ticket, &mut log, give_back, t0()).unwrap();
        let same = Command::Dispatch {
            unit: UnitId::new("S-yanghu"),
            reason: None,
        };
        assert_eq!(field_of(step(&mut ticket, &mut log, same, t0())), "unit");
        let later = t0()
            .checked_add(jiff::SignedDuration::from_hours(30))
            .unwrap();
        let elsewhere = Command::Dispatch {
            unit: UnitId::new("S-pingtang"),
            reason: Some("退单理由成立".into()),
        };
        step(&mut ticket, &mut log, elsewhere, later).unwrap();
        assert_eq!(
            (
                ticket.upheld_return_count,
                ticket.dispute_count,
                ticket.return_count
            ),
            (1, 0, 1)
        );
        let to_itself = Command::Reassign {
            unit: UnitId::new("S-pingtang"),
            reason: "改派".into(),
        };
        assert_eq!(
            field_of(step(&mut ticket, &mut log, to_itself, later)),
            "unit"
        );
        let silent = Command::Reassign {
            unit: UnitId::new("S-yanghu"),
            reason: " ".into(),
        };
        assert_eq!(
            field_of(step(&mut ticket, &mut log, silent, later)),
            "reason"
        );
        let even_later = later
            .checked_add(jiff::SignedDuration::from_hours(30))
            .unwrap();
        let reassign = Command::Reassign {
            unit: UnitId::new("S-yanghu"),
            reason: "调度更正".into(),
        };
        step(&mut ticket, &mut log, reassign, even_later).unwrap();
        let due = ticket.deadlines.unwrap();
        assert_eq!(
            due,
            sample_city().deadlines(sample_city().tier(&ticket.intake.tier).unwrap(), even_later)
        );
        assert_eq!(
            (ticket.status, ticket.reassign_count),
            (Status::Dispatched, 1)
        );
        // A unit hands down only to the units it manages.
        step(&mut ticket, &mut log, Command::Accept, even_later).unwrap();
        let sideways = Command::Redispatch {
            unit: UnitId::new("S-pingtang"),
            reason: None,
        };
        assert_eq!(
            field_of(step(&mut ticket, &mut log, sideways, even_later)),
            "unit"
        );
        assert_eq!(replayed(&ticket, &log), ticket);
    }

    #[test]
    fn reopening_beyond_the_limit_reaches_the_supervisors() {
        let (mut ticket, mut log) = accepted_by("S-yanghu");
        let limit = sample_city().workflow.reopen_limit;
        for round in 1..=limit + 1 {
            let reply = Command::Resolve {
                reply: format!("第{round}次答复"),
            };
            step(&mut ticket, &mut log, reply, t0()).unwrap();
            let at = t0()
                .checked_add(jiff::SignedDuration::from_hours(i64::from(round)))
                .unwrap();
            let reopen = Command::Reopen {
                reason: "没解决".into(),
            };
            step(&mut ticket, &mut log, reopen, at).unwrap();
            // Back to the same unit, with a fresh clock from the reopening.
            assert_eq!(ticket.unit.as_ref().map(UnitId::as_str), Some("S-yanghu"));
            assert_eq!(ticket.status, Status::Dispatched);
            assert!(ticket.deadlines.unwrap().respond_by > at);
            assert_eq!(ticket.reopen_escalated, round > limit, "round {round}");
            step(&mut ticket, &mut log, Command::Accept, at).unwrap();
        }
        let Change::Reopened { escalated, .. } = &log
            .iter()
            .rev()
            .find(|e| e.change.name() == "reopened")
            .unwrap()
            .change
        else {
            unreachable!()
        };
        assert!(escalated);
        assert_eq!(replayed(&ticket, &log), ticket);
    }

    #[test]
    fn a_satisfied_citizen_cannot_be_reopened_for() {
        let (mut ticket, mut log) = accepted_by("S-yanghu");
        let reply = Command::Resolve {
            reply: "已修复".into(),
        };
        step(&mut ticket, &mut log, reply, t0()).unwrap();
        let basically = Rating {
            solved: true,
            satisfaction: Satisfaction::Basically,
        };
        step(&mut ticket, &mut log, Command::Rate(basically), t0()).unwrap();
        let reopen = Command::Reopen {
            reason: "再看看".into(),
        };
        assert_eq!(
            field_of(step(&mut ticket, &mut log, reopen, t0())),
            "action"
        );
        step(&mut ticket, &mut log, Command::Close { reason: None }, t0()).unwrap();
    }

    #[test]
    fn extensions_stay_within_the_citys_maximum() {
        let (mut ticket, mut log) = accepted_by("S-yanghu");
        let rules = sample_city().workflow;
        let ask = |days: Option<u16>, resolve_by: Option<Timestamp>| Command::RequestExtension {
            days,
            resolve_by,
            reason: "需协调".into(),
        };
        let decide = |days: Option<u16>| Command::DecideExtension {
            approve: true,
            days,
            resolve_by: None,
            reason: None,
        };
        let too_many_days = ask(Some(rules.max_extension_days + 1), None);
        assert_eq!(
            field_of(step(&mut ticket, &mut log, too_many_days, t0())),
            "days"
        );
        let forever = ask(None, Some("2099-01-01T00:00:00Z".parse().unwrap()));
        assert_eq!(
            field_of(step(&mut ticket, &mut log, forever, t0())),
            "resolve_by"
        );
        // A supervisor cannot grant more than a unit may ask for.
        step(&mut ticket, &mut log, ask(Some(1), None), t0()).unwrap();
        let generous = decide(Some(rules.max_extension_days + 1));
        assert_eq!(
            field_of(step(&mut ticket, &mut log, generous, t0())),
            "days"
        );
        step(&mut ticket, &mut log, decide(None), t0()).unwrap();
        for _ in 1..rules.max_extensions {
            let most = ask(Some(rules.max_extension_days), None);
            step(&mut ticket, &mut log, most, t0()).unwrap();
            step(&mut ticket, &mut log, decide(None), t0()).unwrap();
        }
        assert_eq!(ticket.extension_count, rules.max_extensions);
        let one_more = ask(Some(1), None);
        assert_eq!(
            field_of(step(&mut ticket, &mut log, one_more, t0())),
            "action"
        );
        assert_eq!(replayed(&ticket, &log), ticket);
    }

    #[test]
    fn actions_refuse_fields_they_do_not_take() {
        for body in [
            r#"{"action":"return","reason":"不归我们","unit":"S-yanghu"}"#,
            r#"{"action":"dispatch","unit":"S-yanghu","reasn":"x"}"#,
            r#"{"action":"request_extension","days":1,"reason":"x","approve":true}"#,
        ] {
            let error = serde_json::from_str::<Command>(body)
                .unwrap_err()
                .to_string();
            assert!(error.contains("unknown field"), "{body}: {error}");
        }
        let rating = r#"{"solved":true,"satisfaction":"satisfied","comment":"x"}"#;
        assert!(serde_json::from_str::<Rating>(rating).is_err());
        let citizen = r#"{"phone":"13812345678","confidental":true}"#;
        let error = serde_json::from_str::<Citizen>(citizen)
            .unwrap_err()
            .to_string();
        assert!(error.contains("confidental"), "{error}");
        assert!(
            serde_json::from_str::<crate::ticket::GeoPoint>(r#"{"lat":1,"lon":2,"alt":3}"#)
                .is_err()
        );
        // What was stored reads as before: an event with a rating, a demand.
        let stored = r#"{"seq":5,"at":"2026-11-22T01:00:00Z","actor":"citizen","type":"rated","solved":true,"satisfaction":"satisfied"}"#;
        let event: Event = serde_json::from_str(stored).unwrap();
        assert_eq!(serde_json::to_string(&event).unwrap(), stored);
    }

    #[test]
    fn extensions_count_working_days_on_the_calendar() {
        // Dispatched on Wednesday 2025-09-24 10:00 (+08:00) with a 15-day tier; the
        // make-up Sunday Sep 28, the National Day week (Oct 1-8) and the make-up
        // Saturday Oct 11 lie inside.
        let at: Timestamp = "2025-09-24T02:00:00Z".parse().unwrap();
        let mut ticket = start(Kind::Complaint, at);
        let mut log = vec![];
        let dispatch = Command::Dispatch {
            unit: UnitId::new("S-yanghu"),
            reason: None,
        };
        step(&mut ticket, &mut log, dispatch, at).unwrap();
        step(&mut ticket, &mut log, Command::Accept, at).unwrap();
        let due = ticket.deadlines.unwrap().resolve_by;
        assert_eq!(due.to_string(), "2025-10-21T02:00:00Z");
        let both = Command::RequestExtension {
            days: Some(3),
            resolve_by: Some(due),
            reason: "需协调".into(),
        };
        assert_eq!(field_of(step(&mut ticket, &mut log, both, at)), "days");
        let zero = Command::RequestExtension {
            days: Some(0),
            resolve_by: None,
            reason: "需协调".into(),
        };
        assert_eq!(field_of(step(&mut ticket, &mut log, zero, at)), "days");
        let ask = Command::RequestExtension {
            days: Some(5),
            resolve_by: None,
            reason: "需协调燃气公司".into(),
        };
        step(&mut ticket, &mut log, ask, at).unwrap();
        // Five working days after Tuesday Oct 21: Wed 22 .. Fri 24, Mon 27, Tue 28.
        assert_eq!(
            ticket.extension.as_ref().unwrap().resolve_by.to_string(),
            "2025-10-28T02:00:00Z"
        );
        let refuse_with_date = Command::DecideExtension {
            approve: false,
            days: Some(2),
            resolve_by: None,
            reason: Some("理由不足".into()),
        };
        assert_eq!(
            field_of(step(&mut ticket, &mut log, refuse_with_date, at)),
            "days"
        );
        let shorter = Command::DecideExtension {
            approve: true,
            days: Some(2),
            resolve_by: None,
            reason: Some("给两天".into()),
        };
        step(&mut ticket, &mut log, shorter, at).unwrap();
        assert_eq!(
            ticket.deadlines.unwrap().resolve_by.to_string(),
            "2025-10-23T02:00:00Z"
        );
        let ask = Command::RequestExtension {
            days: Some(1),
            resolve_by: None,
            reason: "还需一天".into(),
        };
        step(&mut ticket, &mut log, ask, at).unwrap();
        let refuse = Command::DecideExtension {
            approve: false,
            days: None,
            resolve_by: None,
            reason: Some("不予延期".into()),
        };
        step(&mut ticket, &mut log, refuse, at).unwrap();
        assert_eq!(
            ticket.deadlines.unwrap().resolve_by.to_string(),
            "2025-10-23T02:00:00Z"
        );
        assert_eq!(
            (ticket.extension_count, ticket.extension.is_none()),
            (1, true)
        );
        assert_eq!(replayed(&ticket, &log), ticket);
    }

    fn any_command() -> impl Strategy<Value = Command> {
        let unit = prop::sample::select(vec![
            "S-yanghu",
            "C-yanghu",
            "P-meishun",
            "S-pingtang",
            "A3-housing",
            "nowhere",
        ])
        .prop_map(UnitId::new);
        let words =
            prop::sample::select(vec!["", " ", "已处理", "不归我们管"]).prop_map(String::from);
        let satisfaction = prop::sample::select(Satisfaction::ALL.to_vec());
        let number = prop::sample::select(vec!["2026112200001", "2026112200002"])
            .prop_map(|n| TicketNumber::parse(n).unwrap());
        let later = (1i64..400).prop_map(|hours| {
            Some(
                t0().checked_add(jiff::SignedDuration::from_hours(hours * 24))
                    .unwrap(),
            )
        });
        let days = prop::option::of(0u16..30);
        let handling = prop_oneof![
            unit.clone()
                .prop_map(|unit| Command::Dispatch { unit, reason: None }),
            Just(Command::Accept),
            words.clone().prop_map(|reason| Command::Return { reason }),
            unit.clone()
                .prop_map(|unit| Command::Redispatch { unit, reason: None }),
            words.clone().prop_map(|reply| Command::Resolve { reply }),
            words.clone().prop_map(|answer| Command::AnswerAtIntake {
                answer,
                article: None,
            }),
            (any::<bool>(), satisfaction).prop_map(|(solved, satisfaction)| Command::Rate(
                Rating {
                    solved,
                    satisfaction
                }
            )),
            words.clone().prop_map(|reason| Command::Reopen { reason }),
            words.clone().prop_map(|text| Command::FollowUp {
                text,
                channel: None
            }),
            prop::option::of(words.clone()).prop_map(|reason| Command::Close { reason }),
            words
                .clone()
                .prop_map(|reason| Command::RejectReturn { reason }),
            (days.clone(), prop::option::of(later.clone()), words.clone()).prop_map(
                |(days, resolve_by, reason)| Command::RequestExtension {
                    days,
                    resolve_by: resolve_by.flatten(),
                    reason,
                }
            ),
            (
                any::<bool>(),
                days,
                prop::option::of(later),
                prop::option::of(words.clone())
            )
                .prop_map(|(approve, days, resolve_by, reason)| {
                    Command::DecideExtension {
                        approve,
                        days,
                        resolve_by: resolve_by.flatten(),
                        reason,
                    }
                }),
            words.clone().prop_map(|note| Command::Urge { note }),
            prop::sample::select(TimerKind::ALL.to_vec()).prop_map(|timer| Command::Fire { timer }),
            words
                .clone()
                .prop_map(|reason| Command::LiftLongTerm { reason }),
            (1i16..60, words.clone()).prop_map(|(days, reason)| Command::MarkLongTerm {
                reason,
                review_on: jiff::civil::date(2026, 12, 1)
                    .checked_add(jiff::Span::new().days(days))
                    .unwrap(),
            }),
        ];
        let joint = prop_oneof![
            (unit.clone(), words.clone())
                .prop_map(|(unit, reason)| Command::Reassign { unit, reason }),
            (prop::collection::vec(unit.clone(), 0..3), words.clone())
                .prop_map(|(units, note)| Command::Summon { units, note }),
            prop::option::of(unit.clone()).prop_map(|unit| Command::AcceptPart { unit }),
            (prop::option::of(unit), words.clone())
                .prop_map(|(unit, report)| Command::ReportPart { unit, report }),
            (number.clone(), words.clone())
                .prop_map(|(into, reason)| Command::Merge { into, reason }),
            words.clone().prop_map(|reason| Command::Unmerge { reason }),
            (number, words).prop_map(|(case, reply)| Command::ReplyFromCase { case, reply }),
        ];
        prop_oneof![3 => handling, 2 => joint]
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
                        let event = Event { seq: ticket.version + 1, at: now, actor: Actor::system(SystemPart::Router), change };
                        ticket.apply(&event);
                        log.push(event);
                    }
                    Err(_) => prop_assert_eq!(&ticket, &before),
                }
                // One owner exactly while a unit holds it; none while dispatchers do.
                match ticket.status {
                    Status::Dispatched | Status::Accepted => prop_assert!(ticket.unit.is_some()),
                    Status::Pending | Status::Merged => prop_assert!(ticket.unit.is_none()),
                    Status::Resolved | Status::Closed => {}
                }
                prop_assert_eq!(ticket.status == Status::Merged, ticket.merged_into.is_some() && ticket.resolved_at.is_none() && ticket.closed_at.is_none());
                // Summoned units work only while the lead holds the ticket; the lead
                // never summons itself.
                prop_assert!(ticket.open_parts().next().is_none() || ticket.status == Status::Accepted);
                prop_assert!(ticket.parts.iter().all(|p| Some(&p.unit) != ticket.unit.as_ref() || ticket.status != Status::Accepted || p.state == crate::ticket::PartState::Reported));
                if let Some(unit) = &ticket.unit {
                    prop_assert!(city.units.get(unit).is_some());
                }
                if let Some(due) = ticket.deadlines {
                    prop_assert!(due.respond_by >= ticket.created_at && due.resolve_by >= due.respond_by);
                }
                prop_assert_eq!(ticket.status == Status::Resolved || ticket.status == Status::Closed, ticket.resolved_at.is_some() || ticket.status == Status::Closed);
                prop_assert!(ticket.rating.is_none() || ticket.status != Status::Pending);
                prop_assert_eq!(ticket.reopen_escalated, ticket.reopen_count > city.workflow.reopen_limit);
                prop_assert!(ticket.returned_from.is_none() || ticket.status == Status::Pending);
                prop_assert!(ticket.extension.is_none() || matches!(ticket.status, Status::Dispatched | Status::Accepted));
                prop_assert!(ticket.long_term.is_none() || ticket.status == Status::Accepted);
                // Alerts only ever concern the clocks a ticket has right now.
                prop_assert!(ticket.alerts.respond.is_none() || ticket.status == Status::Dispatched);
                prop_assert!(!ticket.alerts.callback_due || ticket.status == Status::Resolved);
                prop_assert!(!ticket.alerts.review_due || ticket.long_term.is_some());
                for pending in timer::pending(&ticket, &city) {
                    prop_assert!(pending.due_at >= ticket.created_at);
                }
            }
            let rebuilt = Ticket::replay(&ticket.number, &log).unwrap();
            prop_assert_eq!(rebuilt, ticket);
        }
    }
}
