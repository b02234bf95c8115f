//! The ticket (工单): one citizen demand and where it stands now.
//!
//! A [`Ticket`] is never edited directly. It is built by replaying its events
//! ([`Ticket::replay`]), and kept current by applying each new event
//! ([`Ticket::apply`]); the store saves it only as a query-friendly copy.

use crate::deadline::{Deadlines, TierCode};
use crate::event::{Change, Event};
use crate::ids::{CityId, RegionId, TicketNumber, UnitId};
use crate::taxonomy::CategoryPath;
use crate::timer::{Alerts, DeadlineKind, Flag};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

code_enum!(
    /// How the demand reached the city.
    Channel {
        Phone = "phone" / "电话" / "Phone",
        Web = "web" / "网站" / "Website",
        App = "app" / "APP" / "Mobile app",
        Wechat = "wechat" / "微信" / "WeChat",
        Email = "email" / "邮件" / "E-mail",
        Sms = "sms" / "短信" / "SMS",
        Open311 = "open311" / "Open311" / "Open311",
        Grid = "grid" / "网格员巡查" / "Grid patrol",
        /// A city system's sensor or camera (一网统管), through the signed webhook.
        Sensor = "sensor" / "城市感知" / "City sensors",
        Import = "import" / "导入" / "Imported",
    }
);

code_enum!(
    /// What the citizen wants (诉求类型).
    Kind {
        Consultation = "consultation" / "咨询" / "Consultation",
        Help = "help" / "求助" / "Request for help",
        Complaint = "complaint" / "投诉" / "Complaint",
        Report = "report" / "举报" / "Report of wrongdoing",
        Suggestion = "suggestion" / "建议" / "Suggestion",
        Praise = "praise" / "表扬" / "Praise",
    }
);

code_enum!(
    /// Where the ticket stands.
    Status {
        Pending = "pending" / "待派单" / "Awaiting dispatch",
        Dispatched = "dispatched" / "待签收" / "Awaiting acceptance",
        Accepted = "accepted" / "办理中" / "In progress",
        Resolved = "resolved" / "已办结待回访" / "Replied, awaiting callback",
        Closed = "closed" / "已关闭" / "Closed",
        Merged = "merged" / "已并单" / "Merged",
    }
);

code_enum!(
    /// Where a summoned unit's part of a joint case (联办) stands.
    PartState {
        Summoned = "summoned" / "待报到" / "Summoned",
        Accepted = "accepted" / "已报到" / "Taking part",
        Reported = "reported" / "已反馈" / "Reported",
    }
);

code_enum!(
    /// What a grid worker is sent to do on the spot.
    CheckKind {
        /// 核查: see whether what was reported (or replied) is so.
        Verify = "verify" / "现场核查" / "On-site check",
        /// 回访: visit the citizen, ask whether it was solved.
        Revisit = "revisit" / "上门回访" / "Home visit",
    }
);

code_enum!(
    /// The citizen's verdict at callback (回访).
    Satisfaction {
        Satisfied = "satisfied" / "满意" / "Satisfied",
        Basically = "basically" / "基本满意" / "Mostly satisfied",
        Unsatisfied = "unsatisfied" / "不满意" / "Unsatisfied",
    }
);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
// Unknown fields are refused (a misspelt field must not be silently dropped); stored
// ratings never held others.
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rating {
    pub solved: bool,
    pub satisfaction: Satisfaction,
}

/// Who asked. Anonymous tickets carry no phone or name at all.
///
/// Unknown fields are refused: a misspelt `confidental` must not make a whistle-blower's
/// report an ordinary one. Stored demands never held other fields (the struct has only
/// gained `email`), so old rows still read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Citizen {
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// Where progress e-mails go, if the citizen gave an address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default)]
    pub anonymous: bool,
    /// A whistle-blower: the reported unit must never learn who this is.
    #[serde(default)]
    pub confidential: bool,
}

impl Citizen {
    /// The citizen's own names, as the personal-data detector looks for them in their
    /// text (`crate::pii`).
    pub fn names(&self) -> Vec<&str> {
        self.name.iter().map(|n| n.trim()).collect()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

/// What routing read of a demand's place from its words at intake (a
/// [`Change::PlaceRead`] event), kept on the ticket so that every part reads the same:
/// the region the names agree on, the named place that gave it (an estate, a road ... of
/// `places.csv`) with its coordinates when the place has them, or the other city the
/// demand is about, which is handed over (转办), never routed here.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlaceReading {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<RegionId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<GeoPoint>,
    /// Another city, as `places.csv` names it ("B市").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elsewhere: Option<String>,
}

/// An on-site check or visit (核查, 回访) a unit asked of the ticket's grid worker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldCheck {
    /// 1, 2, ... on this ticket.
    pub task: u32,
    pub kind: CheckKind,
    /// What to look at.
    pub note: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub assigned_at: Timestamp,
    /// What the grid worker found, with the photo taken there; none while it waits.
    pub done: Option<CheckDone>,
}

/// A check's outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckDone {
    pub note: String,
    pub photo: Attachment,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
}

/// A photo or document, stored by the hash of its content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attachment {
    pub sha256: String,
    pub media_type: String,
    pub size: u64,
    #[serde(default)]
    pub name: Option<String>,
}

/// Everything known when a demand is taken in; the payload of the `created` event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Intake {
    pub channel: Channel,
    pub kind: Kind,
    pub title: String,
    pub description: String,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub location: Option<GeoPoint>,
    #[serde(default)]
    pub citizen: Citizen,
    #[serde(default)]
    pub category: Option<CategoryPath>,
    #[serde(default)]
    pub region: Option<RegionId>,
    pub tier: TierCode,
    /// The id the demand had in the system it came from (an import, Open311).
    #[serde(default)]
    pub external_ref: Option<String>,
    /// The city of the province the demand belongs to: given at intake (Open311's
    /// `jurisdiction_id`, a city's channel) or read from its place; none on tickets
    /// taken in before provinces, which belong to the deployment's first city.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<CityId>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ticket {
    pub number: TicketNumber,
    /// How many events have been applied; the next event has sequence `version + 1`.
    pub version: u32,
    #[serde(flatten)]
    pub intake: Intake,
    pub status: Status,
    pub unit: Option<UnitId>,
    pub deadlines: Option<Deadlines>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub accepted_at: Option<Timestamp>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub resolved_at: Option<Timestamp>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub closed_at: Option<Timestamp>,
    pub reply: Option<String>,
    pub rating: Option<Rating>,
    pub attachments: Vec<Attachment>,
    pub return_count: u32,
    pub redispatch_count: u32,
    pub reopen_count: u32,
    /// The unit whose return waits for the dispatchers' decision.
    #[serde(default)]
    pub returned_from: Option<UnitId>,
    /// Returns the dispatchers refused (推诿 disputes).
    #[serde(default)]
    pub dispute_count: u32,
    /// An extension (延期) asked for and not yet decided.
    #[serde(default)]
    pub extension: Option<ExtensionRequest>,
    #[serde(default)]
    pub extension_count: u32,
    /// Times a supervisor pressed the ticket (督办).
    #[serde(default)]
    pub urge_count: u32,
    #[serde(default)]
    pub long_term: Option<LongTerm>,
    /// Returns the dispatchers upheld by dispatching the ticket elsewhere.
    #[serde(default)]
    pub upheld_return_count: u32,
    /// Times the dispatchers moved the ticket from one unit to another.
    #[serde(default)]
    pub reassign_count: u32,
    /// The units the lead summoned (吹哨报到), each with its own part.
    #[serde(default)]
    pub parts: Vec<Part>,
    /// The main case this ticket was merged into (并单).
    #[serde(default)]
    pub merged_into: Option<TicketNumber>,
    /// The tickets merged into this one as their main case: its reply answers them.
    #[serde(default)]
    pub merged: Vec<TicketNumber>,
    /// On-site checks and visits asked of the grid worker (核查, 回访).
    #[serde(default)]
    pub checks: Vec<FieldCheck>,
    /// Reopened beyond the city's limit: the supervisors follow it until it closes.
    #[serde(default)]
    pub reopen_escalated: bool,
    /// Yellow and red flags raised by timers on the current clocks.
    #[serde(default)]
    pub alerts: Alerts,
    /// Where the words said the demand is, read once at intake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place_reading: Option<PlaceReading>,
    /// Handed over from another city of the province (转办): that city keeps it in
    /// sight, and this city's desk has until `respond_by` to take it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer: Option<CityTransfer>,
}

/// Where a demand handed over to this city (转办) came from, and the desk's clock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CityTransfer {
    /// The city that handed it over (none: a ticket taken in before provinces, the
    /// home city's).
    pub from: Option<CityId>,
    pub reason: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    /// When the receiving desk should have taken it (dispatched it to a unit).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub respond_by: Timestamp,
    /// When the receiving city took it: the first change that moved it out of the
    /// queue (dispatched, answered, merged, closed). Until then its clock runs
    /// (`TimerKind::TransferOverdue`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub taken_at: Option<Timestamp>,
}

/// One summoned unit's share of a joint case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Part {
    pub unit: UnitId,
    pub state: PartState,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub summoned_at: Timestamp,
    pub report: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExtensionRequest {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub resolve_by: Timestamp,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LongTerm {
    pub reason: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub review_on: jiff::civil::Date,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReplayError {
    #[error("the log is empty")]
    Empty,
    #[error("the log does not start with a created event")]
    NotCreatedFirst,
    #[error("event {found} follows event {expected_after}: the log has a gap or is out of order")]
    OutOfOrder { expected_after: u32, found: u32 },
}

impl Ticket {
    /// Rebuilds a ticket from its whole log.
    pub fn replay(number: &TicketNumber, events: &[Event]) -> Result<Ticket, ReplayError> {
        let (first, rest) = events.split_first().ok_or(ReplayError::Empty)?;
        let Change::Created(intake) = &first.change else {
            return Err(ReplayError::NotCreatedFirst);
        };
        let mut ticket = Ticket::new(number.clone(), intake.clone(), first.at);
        for event in rest {
            if event.seq != ticket.version + 1 {
                return Err(ReplayError::OutOfOrder {
                    expected_after: ticket.version,
                    found: event.seq,
                });
            }
            ticket.apply(event);
        }
        Ok(ticket)
    }

    /// The state right after the `created` event.
    pub fn new(number: TicketNumber, intake: Intake, at: Timestamp) -> Ticket {
        Ticket {
            number,
            version: 1,
            intake,
            status: Status::Pending,
            unit: None,
            deadlines: None,
            created_at: at,
            updated_at: at,
            accepted_at: None,
            resolved_at: None,
            closed_at: None,
            reply: None,
            rating: None,
            attachments: Vec::new(),
            return_count: 0,
            redispatch_count: 0,
            reopen_count: 0,
            returned_from: None,
            dispute_count: 0,
            extension: None,
            extension_count: 0,
            urge_count: 0,
            long_term: None,
            upheld_return_count: 0,
            reassign_count: 0,
            parts: Vec::new(),
            merged_into: None,
            merged: Vec::new(),
            checks: Vec::new(),
            reopen_escalated: false,
            alerts: Alerts::default(),
            place_reading: None,
            transfer: None,
        }
    }

    /// The parts of a joint case not yet reported.
    pub fn open_parts(&self) -> impl Iterator<Item = &Part> {
        self.parts
            .iter()
            .filter(|part| part.state != PartState::Reported)
    }

    /// The part `unit` holds, if it was summoned.
    pub fn part(&self, unit: &UnitId) -> Option<&Part> {
        self.parts.iter().find(|part| &part.unit == unit)
    }

    fn part_mut(&mut self, unit: &UnitId) -> Option<&mut Part> {
        self.parts.iter_mut().find(|part| &part.unit == unit)
    }

    /// Folds one event into the state. Events are facts already checked by
    /// [`crate::workflow::transition`], so applying never fails.
    pub fn apply(&mut self, event: &Event) {
        self.version = event.seq;
        self.updated_at = event.at;
        match &event.change {
            Change::Created(intake) => self.intake = intake.clone(),
            Change::PlaceRead(reading) => self.place_reading = Some(reading.clone()),
            Change::Reclassified {
                category,
                region,
                tier,
                ..
            } => {
                if let Some(category) = category {
                    self.intake.category = Some(category.clone());
                }
                if let Some(region) = region {
                    self.intake.region = Some(region.clone());
                }
                if let Some(tier) = tier {
                    self.intake.tier = tier.clone();
                }
            }
            Change::Dispatched {
                unit, deadlines, ..
            } => {
                self.status = Status::Dispatched;
                self.unit = Some(unit.clone());
                self.deadlines = Some(*deadlines);
                self.alerts = Alerts::default();
                if self.returned_from.take().is_some() {
                    self.upheld_return_count += 1;
                }
            }
            Change::TransferredCity {
                from,
                to,
                reason,
                respond_by,
            } => {
                // The new city's desk places and routes it under its own rules.
                self.status = Status::Pending;
                self.intake.city = Some(to.clone());
                self.intake.region = None;
                self.unit = None;
                self.deadlines = None;
                self.returned_from = None;
                self.alerts = Alerts::default();
                self.transfer = Some(CityTransfer {
                    from: from.clone(),
                    reason: reason.clone(),
                    at: event.at,
                    respond_by: *respond_by,
                    taken_at: None,
                });
            }
            Change::Reassigned {
                unit, deadlines, ..
            } => {
                self.status = Status::Dispatched;
                self.unit = Some(unit.clone());
                self.deadlines = Some(*deadlines);
                self.accepted_at = None;
                self.extension = None;
                self.long_term = None;
                self.reassign_count += 1;
                self.alerts = Alerts::default();
            }
            Change::Accepted => {
                self.status = Status::Accepted;
                self.accepted_at = Some(event.at);
                self.alerts.respond = None;
            }
            Change::Returned { .. } => {
                self.status = Status::Pending;
                self.returned_from = self.unit.take();
                self.extension = None;
                self.long_term = None;
                self.accepted_at = None;
                self.return_count += 1;
                self.alerts = Alerts::default();
            }
            Change::Redispatched {
                unit, respond_by, ..
            } => {
                self.respond_again(*respond_by);
                self.status = Status::Dispatched;
                self.unit = Some(unit.clone());
                self.accepted_at = None;
                self.redispatch_count += 1;
                // The sub-unit judges time and feasibility afresh.
                self.extension = None;
                self.long_term = None;
                self.alerts.review_due = false;
            }
            Change::Resolved { reply } | Change::AnsweredAtIntake { answer: reply, .. } => {
                self.status = Status::Resolved;
                self.reply = Some(reply.clone());
                self.resolved_at = Some(event.at);
                self.extension = None;
                self.long_term = None;
                self.returned_from = None;
                self.alerts = Alerts::default();
            }
            // Found and handled by the grid worker who reports it: nothing is left to
            // dispatch, and nobody waits for a callback.
            Change::HandledOnSpot { note } => {
                self.status = Status::Closed;
                self.reply = Some(note.clone());
                self.resolved_at = Some(event.at);
                self.closed_at = Some(event.at);
                self.alerts = Alerts::default();
            }
            Change::AttachmentAdded(attachment) => self.attachments.push(attachment.clone()),
            Change::CheckAssigned { task, kind, note } => self.checks.push(FieldCheck {
                task: *task,
                kind: *kind,
                note: note.clone(),
                assigned_at: event.at,
                done: None,
            }),
            Change::CheckReported { task, note, photo } => {
                if let Some(check) = self.checks.iter_mut().find(|c| c.task == *task) {
                    check.done = Some(CheckDone {
                        note: note.clone(),
                        photo: photo.clone(),
                        at: event.at,
                    });
                }
                self.attachments.push(photo.clone());
            }
            Change::Rated(rating) => {
                self.rating = Some(*rating);
                self.alerts.callback_due = false;
            }
            Change::Reopened {
                deadlines,
                escalated,
                ..
            } => {
                self.status = match self.unit {
                    Some(_) => Status::Dispatched,
                    None => Status::Pending,
                };
                // The citizen was not satisfied by the case's reply: this demand is
                // handled on its own from now on.
                self.merged_into = None;
                self.reopen_escalated |= *escalated;
                self.deadlines = deadlines.or(self.deadlines);
                self.accepted_at = None;
                self.resolved_at = None;
                self.rating = None;
                self.reopen_count += 1;
                self.alerts = Alerts::default();
            }
            Change::Closed { .. } => {
                self.status = Status::Closed;
                self.closed_at = Some(event.at);
                self.returned_from = None;
                self.alerts = Alerts::default();
            }
            Change::ReturnRejected {
                unit, respond_by, ..
            } => {
                self.respond_again(*respond_by);
                self.status = Status::Dispatched;
                self.unit = Some(unit.clone());
                self.returned_from = None;
                self.dispute_count += 1;
            }
            Change::ExtensionRequested { resolve_by, reason } => {
                self.extension = Some(ExtensionRequest {
                    resolve_by: *resolve_by,
                    reason: reason.clone(),
                });
            }
            Change::ExtensionDecided {
                approved,
                resolve_by,
                ..
            } => {
                self.extension = None;
                if *approved && let Some(deadlines) = &mut self.deadlines {
                    deadlines.resolve_by = *resolve_by;
                    self.extension_count += 1;
                    // A new resolution deadline: its warnings and escalations start over.
                    self.alerts.resolve = None;
                    self.alerts.escalated.clear();
                }
            }
            Change::Urged { .. } => self.urge_count += 1,
            // Kept in the log, where the handlers read it; the projection is unchanged.
            Change::FollowedUp { .. } => {}
            Change::Summoned { units, .. } => {
                for unit in units {
                    let fresh = Part {
                        unit: unit.clone(),
                        state: PartState::Summoned,
                        summoned_at: event.at,
                        report: None,
                    };
                    match self.part_mut(unit) {
                        Some(part) => *part = fresh,
                        None => self.parts.push(fresh),
                    }
                }
            }
            Change::PartAccepted { unit } => {
                if let Some(part) = self.part_mut(unit) {
                    part.state = PartState::Accepted;
                }
            }
            Change::PartReported { unit, report } => {
                if let Some(part) = self.part_mut(unit) {
                    part.state = PartState::Reported;
                    part.report = Some(report.clone());
                }
            }
            Change::Merged { into, .. } => {
                self.status = Status::Merged;
                self.merged_into = Some(into.clone());
                self.unit = None;
                self.deadlines = None;
                self.accepted_at = None;
                self.returned_from = None;
                self.extension = None;
                self.long_term = None;
                self.alerts = Alerts::default();
            }
            Change::Unmerged { .. } => {
                self.status = Status::Pending;
                self.merged_into = None;
            }
            Change::CaseJoined { ticket, .. } => self.merged.push(ticket.clone()),
            Change::CaseLeft { ticket, .. } => self.merged.retain(|t| t != ticket),
            Change::CaseReplied { reply, .. } => {
                self.status = Status::Resolved;
                self.reply = Some(reply.clone());
                self.resolved_at = Some(event.at);
            }
            Change::MarkedLongTerm { reason, review_on } => {
                self.long_term = Some(LongTerm {
                    reason: reason.clone(),
                    review_on: *review_on,
                });
                self.alerts = Alerts::default();
            }
            Change::LongTermLifted { resolve_by, .. } => {
                self.long_term = None;
                if let Some(deadlines) = &mut self.deadlines {
                    deadlines.resolve_by = *resolve_by;
                }
                self.alerts = Alerts::default();
            }
            Change::LongTermReviewDue { .. } => self.alerts.review_due = true,
            Change::Warned { deadline, .. } => {
                let flag = self.clock_alert(*deadline);
                flag.get_or_insert(Flag::Warning);
            }
            Change::Overdue { deadline, .. } => *self.clock_alert(*deadline) = Some(Flag::Overdue),
            Change::Escalated { to, .. } => self.alerts.escalated.push(*to),
            Change::CallbackDue => self.alerts.callback_due = true,
        }
        // A demand handed over is taken by the first change that moves it out of the
        // receiving city's queue; its clock stops for good.
        if self.status != Status::Pending
            && let Some(transfer) = &mut self.transfer
            && transfer.taken_at.is_none()
        {
            transfer.taken_at = Some(event.at);
        }
    }

    fn clock_alert(&mut self, deadline: DeadlineKind) -> &mut Option<Flag> {
        match deadline {
            DeadlineKind::Respond => &mut self.alerts.respond,
            DeadlineKind::Resolve => &mut self.alerts.resolve,
            DeadlineKind::Transfer => &mut self.alerts.transfer,
        }
    }

    /// A unit gets the ticket anew (redispatch, a refused return): it must accept again
    /// by `respond_by`; the resolution deadline runs on.
    fn respond_again(&mut self, respond_by: Option<Timestamp>) {
        if let (Some(deadlines), Some(respond_by)) = (&mut self.deadlines, respond_by) {
            deadlines.respond_by = respond_by;
        }
        self.alerts.respond = None;
    }

    /// True when the ticket's resolution deadline has passed while it was still open.
    pub fn is_overdue(&self, now: Timestamp) -> bool {
        // A long-term demand (挂账) is tracked against its review date instead.
        let open = matches!(self.status, Status::Dispatched | Status::Accepted)
            && self.long_term.is_none();
        open && self.deadlines.is_some_and(|d| d.resolve_by < now)
    }
}
