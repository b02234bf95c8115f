//! Who may do what, and on which part of the city (分级授权).
//!
//! One table, [`PERMISSIONS`], says what each [`Role`] may do; the README shows the same
//! table (a test keeps them equal). [`command_permission`] names the permission every
//! workflow command needs, with an exhaustive match so that a new command cannot
//! compile without a rule. A [`Scope`] is the part of the city an official sees: the
//! whole city, a unit and the units under it, or a region and everything inside it.
//! The store turns a scope into a condition of its queries, so no list, search or read
//! can reach past it.

use crate::City;
use crate::city::PrivacySettings;
use crate::event::{Change, Event};
use crate::ids::{CityId, RegionId, UnitId};
use crate::pii::{self, Mask};
use crate::ticket::{Citizen, Intake, Kind, PartState, Ticket};
use crate::workflow::Command;
use serde::{Deserialize, Serialize};

code_enum!(
    /// The posts an official can hold.
    Role {
        /// 话务员: takes calls, answers from the knowledge base, calls citizens back.
        HotlineAgent = "hotline_agent" / "话务员" / "Hotline agent",
        /// 派单员: classifies and dispatches, decides returns.
        Dispatcher = "dispatcher" / "派单员" / "Dispatcher",
        /// 承办人: handles the tickets of one unit.
        UnitHandler = "unit_handler" / "承办人" / "Unit handler",
        /// 单位负责人: a unit's head; passes tickets down to sub-units.
        UnitLeader = "unit_leader" / "单位负责人" / "Unit head",
        /// 督办: presses, approves extensions, marks long-term matters.
        Supervisor = "supervisor" / "督办员" / "Supervisor",
        /// 管理员: accounts, tokens, configuration.
        Administrator = "administrator" / "管理员" / "Administrator",
        /// 审计: reads everything and the audit log, changes nothing.
        Auditor = "auditor" / "审计员" / "Auditor",
        /// 网格员: a community's field worker for one grid (or a whole community):
        /// reports what the patrol finds, handles some on the spot.
        GridWorker = "grid_worker" / "网格员" / "Grid worker",
    }
);

code_enum!(
    /// One thing an official or an API client may do.
    Permission {
        /// Read tickets, their history and lists (within the scope).
        ViewTickets = "ticket.view" / "查看工单" / "View tickets",
        /// Take a demand in on a citizen's behalf (phone, grid, import).
        CreateTickets = "ticket.create" / "代为受理" / "Take in demands",
        /// Change category, region or tier.
        Classify = "ticket.classify" / "分类定级" / "Classify",
        /// Dispatch, refuse a return, close.
        Dispatch = "ticket.dispatch" / "派单与关闭" / "Dispatch and close",
        /// Answer a consultation at intake (直接办结).
        Answer = "ticket.answer" / "直接答复" / "Answer at intake",
        /// Accept, return, resolve, ask for an extension, attach files.
        Handle = "ticket.handle" / "承办" / "Handle",
        /// Pass a ticket down to a sub-unit (转派).
        Redispatch = "ticket.redispatch" / "转派下级" / "Pass down",
        /// Record the citizen's verdict and reopen (回访).
        Callback = "ticket.callback" / "回访" / "Call back",
        /// Urge, decide extensions, mark and lift long-term (督办).
        Supervise = "ticket.supervise" / "督办" / "Supervise",
        /// See citizens' phone and name unmasked without asking.
        ViewIdentity = "identity.view" / "查看诉求人信息" / "See citizens' identity",
        /// Unmask one ticket's citizen, giving a reason (recorded).
        RevealIdentity = "identity.reveal" / "申请查看诉求人信息" / "Reveal a citizen's identity",
        /// Export lists and read statistics.
        Report = "report.view" / "统计与导出" / "Reports and exports",
        /// Create and disable accounts and API tokens, change roles and scopes.
        ManageAccess = "access.manage" / "账号与权限管理" / "Manage accounts and access",
        /// Read and export the audit log.
        ViewAudit = "audit.view" / "查看审计日志" / "Read the audit log",
        /// Fire a due timer: held by no role, only the timer worker (`system:timers`).
        FireTimers = "system.timers" / "触发计时器" / "Fire timers",
        /// Read knowledge-base articles and their suggestions for a text.
        ViewKnowledge = "kb.view" / "查看知识库" / "Read the knowledge base",
        /// Write, retire and delete knowledge-base articles.
        EditKnowledge = "kb.edit" / "编辑知识库" / "Edit the knowledge base",
        /// Patrol a grid: report what is found there and record what was handled on
        /// the spot (即查即办).
        Patrol = "field.patrol" / "网格巡查" / "Patrol a grid",
        /// File demands as the city's app (its back end's token): held by no role.
        ChannelApp = "channel.app" / "代APP渠道受理" / "File as the app channel",
        /// File demands as WeChat, besides the WeChat adapter: held by no role.
        ChannelWechat = "channel.wechat" / "代微信渠道受理" / "File as the WeChat channel",
        /// File demands as e-mail, besides the e-mail adapter: held by no role.
        ChannelEmail = "channel.email" / "代邮件渠道受理" / "File as the e-mail channel",
        /// File demands as SMS, besides the SMS adapter: held by no role.
        ChannelSms = "channel.sms" / "代短信渠道受理" / "File as the SMS channel",
        /// File demands as Open311, besides the Open311 endpoint: held by no role.
        ChannelOpen311 = "channel.open311" / "代Open311渠道受理" / "File as the Open311 channel",
        /// File demands as the city's sensors, besides their webhook: held by no role.
        ChannelSensor = "channel.sensor" / "代城市感知渠道受理" / "File as the sensor channel",
        /// Read the server's Prometheus figures (`GET /metrics`): held by no role, a
        /// monitoring system's token.
        ViewMetrics = "metrics.view" / "读取运行指标" / "Read the server's metrics",
    }
);

use Permission as P;

/// What each role may do. The README's role table shows the same (a test checks).
pub const PERMISSIONS: &[(Role, &[Permission])] = &[
    (
        Role::HotlineAgent,
        &[
            P::ViewTickets,
            P::CreateTickets,
            P::Classify,
            P::Answer,
            P::Callback,
            P::ViewIdentity,
            P::ViewKnowledge,
        ],
    ),
    (
        Role::Dispatcher,
        &[
            P::ViewTickets,
            P::CreateTickets,
            P::Classify,
            P::Dispatch,
            P::Answer,
            P::Callback,
            P::ViewIdentity,
            P::Report,
            P::ViewKnowledge,
        ],
    ),
    (
        Role::UnitHandler,
        &[
            P::ViewTickets,
            P::Handle,
            P::RevealIdentity,
            P::ViewKnowledge,
        ],
    ),
    (
        Role::UnitLeader,
        &[
            P::ViewTickets,
            P::Handle,
            P::Redispatch,
            P::RevealIdentity,
            P::Report,
            P::ViewKnowledge,
        ],
    ),
    (
        Role::Supervisor,
        &[
            P::ViewTickets,
            P::Supervise,
            P::RevealIdentity,
            P::Report,
            P::ViewKnowledge,
            P::EditKnowledge,
        ],
    ),
    (
        Role::Administrator,
        &[
            P::ViewTickets,
            P::CreateTickets,
            P::Classify,
            P::Dispatch,
            P::Answer,
            P::Handle,
            P::Redispatch,
            P::Callback,
            P::Supervise,
            P::RevealIdentity,
            P::Report,
            P::ManageAccess,
            P::ViewKnowledge,
            P::EditKnowledge,
        ],
    ),
    (
        Role::Auditor,
        &[P::ViewTickets, P::Report, P::ViewAudit, P::ViewKnowledge],
    ),
    (
        Role::GridWorker,
        &[
            P::ViewTickets,
            P::CreateTickets,
            P::Patrol,
            P::ViewKnowledge,
        ],
    ),
];

impl Role {
    pub fn permissions(self) -> &'static [Permission] {
        PERMISSIONS
            .iter()
            .find(|(role, _)| *role == self)
            .map_or(&[], |(_, permissions)| permissions)
    }

    pub fn may(self, permission: Permission) -> bool {
        self.permissions().contains(&permission)
    }

    /// Unit roles work for one unit; their scope is that unit and the units under it.
    pub fn needs_unit(self) -> bool {
        matches!(self, Role::UnitHandler | Role::UnitLeader)
    }

    /// A grid worker works in one grid or community; their scope is that region.
    pub fn needs_region(self) -> bool {
        matches!(self, Role::GridWorker)
    }
}

/// The permission that lets a caller of the open intake API claim `channel`, for the
/// channels that have an adapter of their own (or, for the app, a back end): a demand
/// on them comes through the adapter, which proves the platform, or from a token named
/// for the channel. `None`: the channel needs no permission of its own (the web
/// portal; phone, grid and import need `ticket.create`).
pub fn channel_permission(channel: crate::ticket::Channel) -> Option<Permission> {
    use crate::ticket::Channel as C;
    match channel {
        C::App => Some(P::ChannelApp),
        C::Wechat => Some(P::ChannelWechat),
        C::Email => Some(P::ChannelEmail),
        C::Sms => Some(P::ChannelSms),
        C::Open311 => Some(P::ChannelOpen311),
        C::Sensor => Some(P::ChannelSensor),
        C::Web | C::Phone | C::Grid | C::Import => None,
    }
}

/// The permission a workflow command needs. Exhaustive on purpose: a new command does
/// not compile until someone decides who may give it.
pub fn command_permission(command: &Command) -> Permission {
    match command {
        Command::Reclassify { .. } => P::Classify,
        Command::Dispatch { .. }
        | Command::RejectReturn { .. }
        | Command::Close { .. }
        | Command::Reassign { .. }
        | Command::TransferCity { .. }
        | Command::Merge { .. }
        | Command::Unmerge { .. }
        | Command::ReplyFromCase { .. } => P::Dispatch,
        Command::AnswerAtIntake { .. } => P::Answer,
        Command::HandleOnSpot { .. } | Command::ReportCheck { .. } => P::Patrol,
        // The unit holding the ticket (a community, a department) sends its grid worker.
        Command::AssignCheck { .. } => P::Handle,
        Command::Accept
        | Command::Return { .. }
        | Command::Resolve { .. }
        | Command::AddAttachment(_)
        | Command::RequestExtension { .. }
        | Command::Summon { .. }
        | Command::AcceptPart { .. }
        | Command::ReportPart { .. } => P::Handle,
        Command::Redispatch { .. } => P::Redispatch,
        Command::Rate(_) | Command::Reopen { .. } | Command::FollowUp { .. } => P::Callback,
        Command::Urge { .. }
        | Command::DecideExtension { .. }
        | Command::MarkLongTerm { .. }
        | Command::LiftLongTerm { .. } => P::Supervise,
        Command::Fire { .. } => P::FireTimers,
    }
}

/// The part of the city an official sees and acts on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "ids", rename_all = "snake_case")]
pub enum Scope {
    /// The city centre: every ticket.
    All,
    /// Tickets held by one of these units (a unit and every unit under it).
    Units(Vec<UnitId>),
    /// Tickets placed in one of these regions (a region and everything inside it).
    Regions(Vec<RegionId>),
    /// Every ticket of one city of a province, placed or not (the city's centre), and
    /// the city's regions, by which figures and hotspots filed under a place are seen.
    City(CityId, Vec<RegionId>),
}

impl Scope {
    /// A unit and every unit below it in the city's unit tree.
    pub fn unit_subtree(city: &City, unit: &UnitId) -> Scope {
        let ids = city
            .units
            .all()
            .iter()
            .filter(|u| city.units.is_under(&u.id, unit))
            .map(|u| u.id.clone())
            .collect();
        Scope::Units(ids)
    }

    /// A region and every region inside it.
    pub fn region_subtree(city: &City, region: &RegionId) -> Scope {
        let ids = city
            .regions
            .all()
            .iter()
            .filter(|r| city.regions.is_within(&r.id, region))
            .map(|r| r.id.clone())
            .collect();
        Scope::Regions(ids)
    }

    /// The scope of an account: its region if it has one, else its unit, else the city.
    pub fn of_account(city: &City, unit: Option<&UnitId>, region: Option<&RegionId>) -> Scope {
        match (region, unit) {
            (Some(region), _) => Scope::region_subtree(city, region),
            (None, Some(unit)) => Scope::unit_subtree(city, unit),
            (None, None) => Scope::All,
        }
    }

    pub fn contains(&self, ticket: &Ticket) -> bool {
        if let Scope::City(city, _) = self {
            // A city that handed a demand over (转办) keeps it in sight.
            let handed_over = ticket.transfer.as_ref().and_then(|t| t.from.as_ref());
            return ticket.intake.city.as_ref() == Some(city) || handed_over == Some(city);
        }
        self.covers(
            ticket.unit.as_ref(),
            ticket.parts.iter().map(|p| &p.unit),
            ticket.intake.region.as_ref(),
        )
    }

    /// Whether a ticket held by `unit`, with joint-case parts held by `parts`, placed
    /// in `region`, is in scope: [`Scope::contains`] for what a reader kept of it.
    pub fn covers<'a>(
        &self,
        unit: Option<&UnitId>,
        mut parts: impl Iterator<Item = &'a UnitId>,
        region: Option<&RegionId>,
    ) -> bool {
        match self {
            Scope::All => true,
            // A unit summoned to a joint case (联办) sees the case it takes part in.
            Scope::Units(units) => {
                unit.is_some_and(|u| units.contains(u)) || parts.any(|p| units.contains(p))
            }
            Scope::Regions(regions) | Scope::City(_, regions) => {
                region.is_some_and(|r| regions.contains(r))
            }
        }
    }
}

impl Scope {
    /// Whether officials of this scope act for `unit`: a unit's officials for their
    /// unit and those below it; the centre and a region's officials for any unit.
    pub fn acts_for(&self, unit: &UnitId) -> bool {
        match self {
            Scope::Units(units) => units.contains(unit),
            // A city's centre acts for its city's units: a ticket of the city is
            // handed only to units of its configuration.
            Scope::All | Scope::Regions(_) | Scope::City(..) => true,
        }
    }

    /// Whether officials of this scope act for the unit holding `ticket`.
    pub fn holds(&self, ticket: &Ticket) -> bool {
        ticket.unit.as_ref().is_some_and(|unit| self.acts_for(unit))
    }

    /// The summoned parts (联办) of `ticket` whose units this scope acts for.
    pub fn parts_of<'a>(&'a self, ticket: &'a Ticket) -> impl Iterator<Item = &'a UnitId> {
        ticket
            .parts
            .iter()
            .map(|part| &part.unit)
            .filter(|unit| matches!(self, Scope::Units(units) if units.contains(unit)))
    }
}

/// A command given for a unit its giver does not act for.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotYours(pub String);

/// Fits `command` to the unit its giver acts for (`scope`): only the unit holding the
/// ticket handles it (a summoned unit sees the case but may not reply for the lead),
/// and a summoned unit acts on its own part alone, which the command then need not
/// name. Officials of the centre or a region act for any unit and name the part.
pub fn act_as(scope: &Scope, ticket: &Ticket, mut command: Command) -> Result<Command, NotYours> {
    let Scope::Units(_) = scope else {
        return Ok(command);
    };
    let waiting = match &command {
        Command::AcceptPart { .. } => PartState::Summoned,
        _ => PartState::Accepted,
    };
    let name = command.name();
    match &mut command {
        Command::Accept
        | Command::Return { .. }
        | Command::Resolve { .. }
        | Command::Redispatch { .. }
        | Command::RequestExtension { .. }
        | Command::Summon { .. }
        | Command::AssignCheck { .. }
            if !scope.holds(ticket) =>
        {
            return Err(NotYours(format!(
                "your unit does not hold this ticket, so it cannot {name}; a summoned unit \
                 accepts and reports its own part"
            )));
        }
        Command::AcceptPart { unit } | Command::ReportPart { unit, .. } => match unit {
            Some(named) if !scope.acts_for(named) => {
                return Err(NotYours(format!("{named} is not your unit")));
            }
            Some(_) => {}
            None => *unit = own_part(scope, ticket, waiting)?,
        },
        _ => {}
    }
    Ok(command)
}

/// The part a unit's official means when they do not name it: the one part of theirs
/// waiting for this step; else their first part, whose state the workflow then names
/// (already reported, ...); `None` when several wait (they must name one).
fn own_part(
    scope: &Scope,
    ticket: &Ticket,
    waiting: PartState,
) -> Result<Option<UnitId>, NotYours> {
    let mine: Vec<&UnitId> = scope.parts_of(ticket).collect();
    let ready: Vec<&UnitId> = mine
        .iter()
        .copied()
        .filter(|unit| ticket.part(unit).is_some_and(|p| p.state == waiting))
        .collect();
    match (ready.as_slice(), mine.first()) {
        ([only], _) => Ok(Some((*only).clone())),
        ([], Some(first)) => Ok(Some((*first).clone())),
        ([], None) => Err(NotYours("your unit was not summoned to this ticket".into())),
        _ => Ok(None),
    }
}

/// How much of a citizen's identity a reader may see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdentityView {
    Full,
    /// Phone as 138****5678, name as 张*.
    Masked,
    /// Nothing at all: a confidential reporter seen from outside the centre.
    Hidden,
}

/// A report of wrongdoing (举报) or a demand marked confidential: the reporter's
/// identity must never reach the units.
pub fn is_confidential(intake: &Intake) -> bool {
    intake.citizen.confidential || intake.kind == Kind::Report
}

/// What a reader with `permissions` sees of a demand's citizen; `revealed` when they
/// pressed "reveal" with a reason. A whistle-blower is never shown to anyone without
/// [`Permission::ViewIdentity`], reveal or not: the unit reported on must not learn who
/// reported it.
pub fn identity_view(permissions: &[Permission], intake: &Intake, revealed: bool) -> IdentityView {
    if permissions.contains(&P::ViewIdentity) {
        IdentityView::Full
    } else if is_confidential(intake) {
        IdentityView::Hidden
    } else if revealed && permissions.contains(&P::RevealIdentity) {
        IdentityView::Full
    } else {
        IdentityView::Masked
    }
}

/// 13812345678 -> 138****5678; short or odd numbers keep only their last two digits.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() >= 11 {
        let head: String = chars[..3].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{head}****{tail}")
    } else {
        let keep = chars.len().min(2);
        let tail: String = chars[chars.len() - keep..].iter().collect();
        format!("{}{tail}", "*".repeat(chars.len() - keep))
    }
}

/// 张三 -> 张*; a name keeps its first character.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => format!("{first}{}", "*".repeat(chars.count().max(1))),
        None => String::new(),
    }
}

/// `z***@example.cn`: the first letter and the domain stay, so an official can tell
/// two addresses apart without learning them.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => format!("{}***@{domain}", local.chars().next().unwrap_or('*')),
        None => "***".into(),
    }
}

/// Masks the personal data (phones in any writing, ID and card numbers, e-mail
/// addresses: see [`crate::pii`]) written in a text no citizen is known for, such as a
/// delivery error; with `hide`, nothing of it is kept.
pub fn mask_phones_in_text(text: &str, hide: bool) -> String {
    let how = if hide { Mask::Wholly } else { Mask::Partly };
    pii::mask(text, &PrivacySettings::default(), &[], how)
}

/// One text as a reader with `view` may see it: the personal data in it (with the
/// citizen's `names`) masked, or with nothing of it kept.
pub fn redact_text(
    text: &str,
    view: IdentityView,
    privacy: &PrivacySettings,
    names: &[&str],
) -> String {
    match view {
        IdentityView::Full => text.to_owned(),
        IdentityView::Masked => pii::mask(text, privacy, names, Mask::Partly),
        IdentityView::Hidden => pii::mask(text, privacy, names, Mask::Wholly),
    }
}

/// The citizen's own name, as the detector looks for it in their text.
fn names_of(citizen: &Citizen) -> Vec<String> {
    citizen.names().into_iter().map(str::to_owned).collect()
}

fn redact_all<'a>(
    texts: impl IntoIterator<Item = &'a mut String>,
    view: IdentityView,
    privacy: &PrivacySettings,
    names: &[String],
) {
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    for text in texts {
        *text = redact_text(text, view, privacy, &names);
    }
}

/// A demand as a reader with `view` may see it: the citizen, and the personal data in
/// its title, description and address.
pub fn redact_intake(intake: &mut Intake, view: IdentityView, privacy: &PrivacySettings) {
    if view == IdentityView::Full {
        return;
    }
    let names = names_of(&intake.citizen);
    intake.citizen = redact_citizen(&intake.citizen, view);
    redact_all(intake_texts(intake), view, privacy, &names);
}

/// A ticket as seen by a reader with `permissions` (`revealed`: they pressed "reveal"
/// with a reason): the citizen, and the personal data in every text people wrote on
/// it, under the city's `privacy` settings.
pub fn redact_ticket(
    ticket: Ticket,
    permissions: &[Permission],
    revealed: bool,
    privacy: &PrivacySettings,
) -> Ticket {
    let view = identity_view(permissions, &ticket.intake, revealed);
    redact_ticket_as(ticket, view, privacy)
}

/// A ticket as seen by a reader whose view is already known (the public's is
/// [`IdentityView::Hidden`] whatever the ticket).
pub fn redact_ticket_as(
    mut ticket: Ticket,
    view: IdentityView,
    privacy: &PrivacySettings,
) -> Ticket {
    if view == IdentityView::Full {
        return ticket;
    }
    let names = names_of(&ticket.intake.citizen);
    redact_intake(&mut ticket.intake, view, privacy);
    redact_all(ticket_texts(&mut ticket), view, privacy, &names);
    ticket
}

/// A ticket's log as seen by a reader with `permissions`: its `created` event carries
/// the citizen, and every event's words (replies, reasons, notes) may quote them. How
/// much the reader sees follows the `created` event's demand; a log without it is read
/// as if its citizen were confidential.
pub fn redact_events(
    events: Vec<Event>,
    permissions: &[Permission],
    revealed: bool,
    privacy: &PrivacySettings,
) -> Vec<Event> {
    let created = events.iter().find_map(|e| match &e.change {
        Change::Created(intake) => Some(intake),
        _ => None,
    });
    let view = match created {
        Some(intake) => identity_view(permissions, intake, revealed),
        None if permissions.contains(&P::ViewIdentity) => IdentityView::Full,
        None => IdentityView::Hidden,
    };
    redact_events_as(events, view, privacy)
}

/// A ticket's log as seen by a reader whose view is already known.
pub fn redact_events_as(
    mut events: Vec<Event>,
    view: IdentityView,
    privacy: &PrivacySettings,
) -> Vec<Event> {
    if view == IdentityView::Full {
        return events;
    }
    let names = events
        .iter()
        .find_map(|e| match &e.change {
            Change::Created(intake) => Some(names_of(&intake.citizen)),
            _ => None,
        })
        .unwrap_or_default();
    for event in &mut events {
        match &mut event.change {
            Change::Created(intake) => redact_intake(intake, view, privacy),
            change => redact_all(change_texts(change), view, privacy, &names),
        }
    }
    events
}

/// Erases a citizen from a demand (the right to erasure, or retention run out): phone,
/// name and e-mail go, the personal data in the text goes (every kind, whatever the
/// city's settings), and `pseudonym` stands in for the name so that one citizen's
/// tickets still read as one person's.
pub fn erase_identity(intake: &mut Intake, pseudonym: &str) {
    let names = names_of(&intake.citizen);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    for text in intake_texts(intake) {
        *text = erase_text(text, &names);
    }
    intake.citizen = Citizen {
        name: Some(pseudonym.to_owned()),
        ..redact_citizen(&intake.citizen, IdentityView::Hidden)
    };
}

/// A text with every kind of personal data, and the citizen's `names`, erased: for the
/// words of a ticket's later events (a reply quoting the caller's number) when its
/// citizen is erased.
pub fn erase_text(text: &str, names: &[&str]) -> String {
    pii::mask(text, &pii::STRICT, names, Mask::Wholly)
}

/// Erases the personal data in every text of one event (see [`erase_identity`] for the
/// `created` event's demand, which also carries the citizen).
pub fn erase_change(change: &mut Change, names: &[&str]) {
    let texts: Vec<&mut String> = match change {
        Change::Created(intake) => intake_texts(intake),
        change => change_texts(change),
    };
    for text in texts {
        *text = erase_text(text, names);
    }
}

/// A ticket's words as a search index keeps them, split by who may search them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchWords {
    /// Its number, title, description, address and reply with every kind of personal
    /// data cut out: what anyone who may read the ticket may search.
    pub open: Vec<String>,
    /// The personal data written one way (`13755556666`, `073188889999` and
    /// `88889999`, an ID card's digits, a lower-case e-mail, a name): the citizen's
    /// fields and what the texts hold. Searched only by readers with `identity.view`,
    /// and by everyone for what the city's settings leave open (public numbers, plates).
    pub personal: Vec<String>,
}

/// The words a search index keeps for `ticket`. Every kind is cut out whatever the
/// city's settings, so that the index need not be rebuilt when they change: a search
/// decides what a reader may look up ([`may_search`]).
pub fn search_words(ticket: &Ticket) -> SearchWords {
    let intake = &ticket.intake;
    let names = names_of(&intake.citizen);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut words = SearchWords::default();
    words.open.push(ticket.number.as_str().to_owned());
    let texts = [Some(&intake.title), Some(&intake.description)]
        .into_iter()
        .chain([intake.address.as_ref(), ticket.reply.as_ref()]);
    for text in texts.flatten() {
        let (open, found) = pii::remove(text, &pii::STRICT, &names);
        words.open.push(open);
        words
            .personal
            .extend(found.iter().flat_map(pii::Found::search_values));
    }
    let citizen = &intake.citizen;
    words.personal.extend(
        citizen
            .phone
            .as_deref()
            .and_then(pii::normalise_phone)
            .into_iter()
            .chain(citizen.email.as_deref().map(|e| e.trim().to_lowercase()))
            .chain(names.iter().map(|n| (*n).to_owned())),
    );
    words.personal.sort();
    words.personal.dedup();
    words
}

/// Whether a reader may look tickets up by `item`, personal data found in their query:
/// one who `sees_identities` (`identity.view`), or anyone where the city leaves it open.
pub fn may_search(item: &pii::Found, sees_identities: bool, privacy: &PrivacySettings) -> bool {
    sees_identities || pii::open_to_all(item, privacy)
}

/// The texts of a demand people wrote.
fn intake_texts(intake: &mut Intake) -> Vec<&mut String> {
    let mut texts = vec![&mut intake.title, &mut intake.description];
    texts.extend(intake.address.as_mut());
    texts
}

/// The texts on a ticket people wrote, besides its demand's. Every field is named so
/// that a new one cannot be added without deciding whether it is one.
fn ticket_texts(ticket: &mut Ticket) -> Vec<&mut String> {
    let Ticket {
        number: _,
        version: _,
        intake: _,
        status: _,
        unit: _,
        deadlines: _,
        created_at: _,
        updated_at: _,
        accepted_at: _,
        resolved_at: _,
        closed_at: _,
        reply,
        rating: _,
        attachments,
        return_count: _,
        redispatch_count: _,
        reopen_count: _,
        returned_from: _,
        dispute_count: _,
        extension,
        extension_count: _,
        urge_count: _,
        long_term,
        upheld_return_count: _,
        reassign_count: _,
        parts,
        merged_into: _,
        merged: _,
        checks,
        reopen_escalated: _,
        alerts: _,
        // The city's own names (regions.toml, places.csv), not a person's words.
        place_reading: _,
        transfer,
    } = ticket;
    let mut texts: Vec<&mut String> = Vec::new();
    texts.extend(reply.as_mut());
    texts.extend(attachments.iter_mut().filter_map(|a| a.name.as_mut()));
    texts.extend(extension.as_mut().map(|e| &mut e.reason));
    texts.extend(long_term.as_mut().map(|l| &mut l.reason));
    texts.extend(transfer.as_mut().map(|t| &mut t.reason));
    texts.extend(parts.iter_mut().filter_map(|p| p.report.as_mut()));
    for check in checks {
        texts.push(&mut check.note);
        if let Some(done) = &mut check.done {
            texts.push(&mut done.note);
            texts.extend(done.photo.name.as_mut());
        }
    }
    texts
}

/// The texts people wrote in an event other than `created` (replies, answers, reasons,
/// notes, reports, a file's name). Exhaustive: a new kind of event does not compile
/// until someone decides what in it is text.
fn change_texts(change: &mut Change) -> Vec<&mut String> {
    match change {
        Change::Created(_) => Vec::new(),
        Change::Dispatched { reason, .. }
        | Change::Returned { reason }
        | Change::Redispatched { reason, .. }
        | Change::Reopened { reason, .. }
        | Change::ReturnRejected { reason, .. }
        | Change::ExtensionRequested { reason, .. }
        | Change::MarkedLongTerm { reason, .. }
        | Change::LongTermLifted { reason, .. }
        | Change::Reassigned { reason, .. }
        | Change::TransferredCity { reason, .. }
        | Change::Merged { reason, .. }
        | Change::Unmerged { reason, .. }
        | Change::CaseJoined { reason, .. }
        | Change::CaseLeft { reason, .. } => vec![reason],
        Change::Closed { reason } | Change::ExtensionDecided { reason, .. } => {
            reason.iter_mut().collect()
        }
        Change::Resolved { reply } | Change::CaseReplied { reply, .. } => vec![reply],
        Change::AnsweredAtIntake { answer, .. } => vec![answer],
        Change::HandledOnSpot { note } | Change::CheckAssigned { note, .. } => vec![note],
        Change::CheckReported { note, photo, .. } => {
            let mut texts = vec![note];
            texts.extend(photo.name.as_mut());
            texts
        }
        Change::Urged { note } | Change::Summoned { note, .. } => vec![note],
        Change::FollowedUp { text, .. } => vec![text],
        Change::PartReported { report, .. } => vec![report],
        Change::AttachmentAdded(attachment) => attachment.name.iter_mut().collect(),
        Change::Reclassified { reason, .. } => reason.iter_mut().collect(),
        Change::Accepted
        | Change::PlaceRead(_)
        | Change::Rated(_)
        | Change::PartAccepted { .. }
        | Change::Warned { .. }
        | Change::Overdue { .. }
        | Change::Escalated { .. }
        | Change::LongTermReviewDue { .. }
        | Change::CallbackDue => Vec::new(),
    }
}

/// The citizen as a reader with `view` may see it.
pub fn redact_citizen(citizen: &Citizen, view: IdentityView) -> Citizen {
    match view {
        IdentityView::Full => citizen.clone(),
        IdentityView::Masked => Citizen {
            phone: citizen.phone.as_deref().map(mask_phone),
            name: citizen.name.as_deref().map(mask_name),
            email: citizen.email.as_deref().map(mask_email),
            ..citizen.clone()
        },
        IdentityView::Hidden => Citizen {
            phone: None,
            name: None,
            email: None,
            ..citizen.clone()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_has_one_row() {
        for role in Role::ALL {
            assert_eq!(
                PERMISSIONS.iter().filter(|(r, _)| r == role).count(),
                1,
                "{role}"
            );
        }
        assert!(Role::Auditor.may(P::ViewAudit));
        assert!(!Role::Administrator.may(P::ViewAudit));
        assert!(!Role::UnitHandler.may(P::Dispatch));
    }

    #[test]
    fn codes_round_trip() {
        for p in Permission::ALL {
            assert_eq!(Permission::from_code(p.code()), Some(*p));
        }
        for r in Role::ALL {
            assert_eq!(Role::from_code(r.code()), Some(*r));
        }
        assert_eq!(Role::from_code("root"), None);
    }

    #[test]
    fn masking() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("12345"), "***45");
        assert_eq!(mask_phone(""), "");
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳修文"), "欧***");
        assert_eq!(mask_name("李"), "李*");
    }

    fn intake(kind: Kind, confidential: bool) -> Intake {
        Intake {
            channel: crate::ticket::Channel::Web,
            kind,
            title: "电话13812345678".into(),
            description: "请回电 13812345678 或 010-12345".into(),
            address: None,
            location: None,
            citizen: Citizen {
                phone: Some("13812345678".into()),
                name: Some("张三".into()),
                email: Some("zhang@example.cn".into()),
                anonymous: false,
                confidential,
            },
            category: None,
            region: None,
            tier: crate::deadline::TierCode("15d".into()),
            external_ref: None,
            city: None,
        }
    }

    #[test]
    fn a_summoned_unit_acts_on_its_own_part_and_only_the_holder_handles() {
        use crate::ids::TicketNumber;
        use crate::ticket::{Part, Status};
        let at: jiff::Timestamp = "2026-11-22T02:00:00Z".parse().unwrap();
        let number = TicketNumber::parse("2026112200017").unwrap();
        let mut ticket = Ticket::new(number, intake(Kind::Complaint, false), at);
        ticket.status = Status::Accepted;
        ticket.unit = Some(UnitId::new("street"));
        for (unit, state) in [
            ("housing", PartState::Summoned),
            ("water", PartState::Accepted),
        ] {
            ticket.parts.push(Part {
                unit: UnitId::new(unit),
                state,
                summoned_at: at,
                report: None,
            });
        }
        let units = |ids: &[&str]| Scope::Units(ids.iter().map(|u| UnitId::new(*u)).collect());
        let housing = units(&["housing"]);
        let report = |unit: Option<&str>| Command::ReportPart {
            unit: unit.map(UnitId::new),
            report: "已到场".into(),
        };
        // The part is filled in from the account's unit.
        assert_eq!(
            act_as(&housing, &ticket, Command::AcceptPart { unit: None }),
            Ok(Command::AcceptPart {
                unit: Some(UnitId::new("housing"))
            })
        );
        // Not yet accepted: still its part, and the workflow will say why not.
        assert_eq!(
            act_as(&housing, &ticket, report(None)),
            Ok(report(Some("housing")))
        );
        assert!(act_as(&housing, &ticket, report(Some("water"))).is_err());
        let refused = act_as(
            &housing,
            &ticket,
            Command::Resolve {
                reply: "已办".into(),
            },
        )
        .unwrap_err();
        assert!(refused.0.contains("does not hold"), "{refused}");
        // A leader over both summoned units names the part unless one waits alone.
        let both = units(&["housing", "water"]);
        assert_eq!(
            act_as(&both, &ticket, report(None)),
            Ok(report(Some("water")))
        );
        let mut both_wait = ticket.clone();
        both_wait.parts[1].state = PartState::Summoned;
        assert_eq!(
            act_as(&both, &both_wait, Command::AcceptPart { unit: None }),
            Ok(Command::AcceptPart { unit: None })
        );
        assert!(
            act_as(
                &units(&["parks"]),
                &ticket,
                Command::AcceptPart { unit: None }
            )
            .is_err()
        );
        // The holder handles; the centre acts for anyone and names the part.
        assert!(act_as(&units(&["street"]), &ticket, Command::Accept).is_ok());
        assert_eq!(act_as(&Scope::All, &ticket, report(None)), Ok(report(None)));
    }

    #[test]
    fn a_confidential_reporter_stays_hidden_from_units_even_when_revealed() {
        let unit = Role::UnitHandler.permissions();
        let agent = Role::HotlineAgent.permissions();
        for secret in [intake(Kind::Complaint, true), intake(Kind::Report, false)] {
            assert_eq!(identity_view(unit, &secret, true), IdentityView::Hidden);
            let mut seen = secret.clone();
            redact_intake(
                &mut seen,
                identity_view(unit, &secret, true),
                &PrivacySettings::default(),
            );
            assert_eq!((seen.citizen.phone, seen.citizen.name), (None, None));
            assert_eq!(seen.citizen.email, None);
            assert!(!seen.description.contains("5678"));
            assert_eq!(identity_view(agent, &secret, false), IdentityView::Full);
        }
        let open = intake(Kind::Complaint, false);
        assert_eq!(identity_view(unit, &open, false), IdentityView::Masked);
        assert_eq!(identity_view(unit, &open, true), IdentityView::Full);
        let auditor = Role::Auditor.permissions();
        assert_eq!(identity_view(auditor, &open, true), IdentityView::Masked);
        let mut masked = open.clone();
        redact_intake(
            &mut masked,
            IdentityView::Masked,
            &PrivacySettings::default(),
        );
        assert_eq!(masked.citizen.phone.as_deref(), Some("138****5678"));
        assert_eq!(masked.citizen.email.as_deref(), Some("z***@example.cn"));
        assert_eq!(masked.title, "电话138****5678");
        assert_eq!(masked.description, "请回电 138****5678 或 010-12345");
    }

    /// A phone the citizen wrote, quoted again in every text a ticket and its log carry.
    const QUOTED: &str = "张三 0731-88889999 / 137 5555 6666 / 430102199003074515";

    fn every_text(kind: Kind, confidential: bool) -> (Ticket, Vec<Event>) {
        use crate::deadline::Deadlines;
        use crate::ids::TicketNumber;
        use crate::ticket::{Attachment, ExtensionRequest, LongTerm, Part, PartState};
        let at: jiff::Timestamp = "2026-11-22T02:00:00Z".parse().unwrap();
        let mut demand = intake(kind, confidential);
        demand.address = Some(format!("3栋501 {QUOTED}"));
        demand.description = format!("我叫张三，{QUOTED}");
        let number = TicketNumber::parse("2026112200017").unwrap();
        let mut ticket = Ticket::new(number, demand.clone(), at);
        let text = || QUOTED.to_owned();
        let unit = UnitId::new("u1");
        ticket.reply = Some(text());
        ticket.attachments.push(Attachment {
            sha256: "ab".into(),
            media_type: "image/jpeg".into(),
            size: 1,
            name: Some(format!("{QUOTED}.jpg")),
        });
        ticket.extension = Some(ExtensionRequest {
            resolve_by: at,
            reason: text(),
        });
        ticket.long_term = Some(LongTerm {
            reason: text(),
            review_on: jiff::civil::date(2026, 12, 1),
        });
        ticket.parts.push(Part {
            unit: unit.clone(),
            state: PartState::Reported,
            summoned_at: at,
            report: Some(text()),
        });
        let deadlines = Deadlines {
            respond_by: at,
            resolve_by: at,
        };
        let case = TicketNumber::parse("2026112200018").unwrap();
        let changes = vec![
            Change::Created(demand),
            Change::Dispatched {
                unit: unit.clone(),
                deadlines,
                reason: text(),
                basis: None,
            },
            Change::Returned { reason: text() },
            Change::Redispatched {
                unit: unit.clone(),
                reason: text(),
                respond_by: None,
            },
            Change::Resolved { reply: text() },
            Change::AnsweredAtIntake {
                answer: text(),
                article: None,
            },
            Change::HandledOnSpot { note: text() },
            Change::CheckAssigned {
                task: 1,
                kind: crate::ticket::CheckKind::Verify,
                note: text(),
            },
            Change::CheckReported {
                task: 1,
                note: text(),
                photo: ticket.attachments[0].clone(),
            },
            Change::AttachmentAdded(ticket.attachments[0].clone()),
            Change::Reopened {
                reason: text(),
                deadlines: None,
                escalated: false,
            },
            Change::Closed {
                reason: Some(text()),
            },
            Change::ReturnRejected {
                unit: unit.clone(),
                reason: text(),
                respond_by: None,
            },
            Change::ExtensionRequested {
                resolve_by: at,
                reason: text(),
            },
            Change::ExtensionDecided {
                approved: true,
                resolve_by: at,
                reason: Some(text()),
            },
            Change::Urged { note: text() },
            Change::FollowedUp {
                text: text(),
                channel: Some(crate::ticket::Channel::Wechat),
            },
            Change::MarkedLongTerm {
                reason: text(),
                review_on: jiff::civil::date(2026, 12, 1),
            },
            Change::LongTermLifted {
                reason: text(),
                resolve_by: at,
            },
            Change::Reassigned {
                unit: unit.clone(),
                deadlines,
                reason: text(),
            },
            Change::Summoned {
                units: vec![unit.clone()],
                note: text(),
            },
            Change::PartReported {
                unit: unit.clone(),
                report: text(),
            },
            Change::Merged {
                into: case.clone(),
                reason: text(),
            },
            Change::Unmerged {
                from: case.clone(),
                reason: text(),
            },
            Change::CaseJoined {
                ticket: case.clone(),
                reason: text(),
            },
            Change::CaseLeft {
                ticket: case.clone(),
                reason: text(),
            },
            Change::CaseReplied {
                case,
                reply: text(),
            },
        ];
        let events = changes
            .into_iter()
            .enumerate()
            .map(|(i, change)| Event {
                seq: i as u32 + 1,
                at,
                actor: crate::event::Actor::user("u"),
                change,
            })
            .collect();
        (ticket, events)
    }

    /// Whether any of the quoted personal data shows in `value`'s JSON.
    fn leaks(value: &impl Serialize) -> Vec<&'static str> {
        let json = serde_json::to_string(value).unwrap();
        // A masked view keeps a number's last four digits: those are no leak.
        [
            "张三",
            "88889999",
            "5555",
            "19900307",
            "13812345678",
            "zhang@",
        ]
        .into_iter()
        .filter(|secret| json.contains(secret))
        .collect()
    }

    #[test]
    fn every_text_of_a_ticket_and_its_log_is_redacted() {
        let privacy = PrivacySettings::default();
        let unit = Role::UnitHandler.permissions();
        let agent = Role::Dispatcher.permissions();
        let (ticket, events) = every_text(Kind::Complaint, false);
        let seen = redact_ticket(ticket.clone(), unit, false, &privacy);
        assert_eq!(leaks(&seen), Vec::<&str>::new());
        assert_eq!(
            seen.reply.as_deref(),
            Some("张* 0731-****9999 / 137 **** 6666 / 4301**********4515")
        );
        assert_eq!(
            seen.intake.description,
            format!("我叫张*，{}", seen.reply.as_deref().unwrap())
        );
        assert_eq!(
            leaks(&redact_events(events.clone(), unit, false, &privacy)),
            Vec::<&str>::new()
        );
        // Those who see identities, and a unit that revealed them, read every word.
        assert_eq!(
            redact_ticket(ticket.clone(), agent, false, &privacy),
            ticket
        );
        assert_eq!(redact_ticket(ticket.clone(), unit, true, &privacy), ticket);
        assert_eq!(
            redact_events(events.clone(), agent, false, &privacy),
            events
        );
        assert_eq!(redact_events(events.clone(), unit, true, &privacy), events);
        // A log without its `created` event: no citizen to judge by, so nothing shows.
        let later = redact_events(events[1..].to_vec(), unit, false, &privacy);
        assert!(!serde_json::to_string(&later).unwrap().contains("4515"));
        assert_eq!(
            redact_events(events[1..].to_vec(), agent, false, &privacy),
            events[1..]
        );
    }

    #[test]
    fn a_confidential_reporters_words_keep_nothing_even_revealed() {
        let privacy = PrivacySettings::default();
        let unit = Role::UnitLeader.permissions();
        for (kind, confidential) in [(Kind::Report, false), (Kind::Complaint, true)] {
            let (ticket, events) = every_text(kind, confidential);
            let seen = redact_ticket(ticket, unit, true, &privacy);
            assert_eq!(leaks(&seen), Vec::<&str>::new());
            assert_eq!(
                seen.reply.as_deref(),
                Some("** ****-******** / *** **** **** / ******************")
            );
            let log = redact_events(events, unit, true, &privacy);
            assert_eq!(leaks(&log), Vec::<&str>::new());
            assert!(!serde_json::to_string(&log).unwrap().contains("4515"));
        }
    }

    #[test]
    fn the_citys_public_numbers_stay_readable() {
        let privacy = PrivacySettings {
            public_numbers: vec!["073188889999".into()],
            mask_plates: false,
        };
        let (ticket, _) = every_text(Kind::Complaint, false);
        let seen = redact_ticket(ticket, Role::UnitHandler.permissions(), false, &privacy);
        assert_eq!(
            seen.reply.as_deref(),
            Some("张* 0731-88889999 / 137 **** 6666 / 4301**********4515")
        );
    }

    #[test]
    fn erasure_leaves_no_personal_data_in_the_words() {
        let (ticket, events) = every_text(Kind::Complaint, false);
        let mut demand = ticket.intake.clone();
        erase_identity(&mut demand, "erased:3f2a");
        assert_eq!(demand.citizen.name.as_deref(), Some("erased:3f2a"));
        assert_eq!(leaks(&demand), Vec::<&str>::new());
        for mut event in events {
            match &mut event.change {
                Change::Created(intake) => erase_identity(intake, "erased:3f2a"),
                change => erase_change(change, &["张三"]),
            }
            assert_eq!(leaks(&event), Vec::<&str>::new(), "{}", event.change.name());
        }
    }
}
