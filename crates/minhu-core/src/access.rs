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
use crate::event::{Change, Event};
use crate::ids::{RegionId, UnitId};
use crate::ticket::{Citizen, Intake, Kind, Ticket};
use crate::workflow::Command;
use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            pub fn from_code(code: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.code() == code)
            }

            /// Every code, comma-separated, for error messages.
            pub fn codes() -> String {
                Self::ALL.iter().map(|v| v.code()).collect::<Vec<_>>().join(", ")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

named_enum!(
    /// The posts an official can hold.
    Role {
        /// 话务员: takes calls, answers from the knowledge base, calls citizens back.
        HotlineAgent = "hotline_agent",
        /// 派单员: classifies and dispatches, decides returns.
        Dispatcher = "dispatcher",
        /// 承办人: handles the tickets of one unit.
        UnitHandler = "unit_handler",
        /// 单位负责人: a unit's head; passes tickets down to sub-units.
        UnitLeader = "unit_leader",
        /// 督办: presses, approves extensions, marks long-term matters.
        Supervisor = "supervisor",
        /// 管理员: accounts, tokens, configuration.
        Administrator = "administrator",
        /// 审计: reads everything and the audit log, changes nothing.
        Auditor = "auditor",
    }
);

named_enum!(
    /// One thing an official or an API client may do.
    Permission {
        /// Read tickets, their history and lists (within the scope).
        ViewTickets = "ticket.view",
        /// Take a demand in on a citizen's behalf (phone, grid, import).
        CreateTickets = "ticket.create",
        /// Change category, region or tier.
        Classify = "ticket.classify",
        /// Dispatch, refuse a return, close.
        Dispatch = "ticket.dispatch",
        /// Answer a consultation at intake (直接办结).
        Answer = "ticket.answer",
        /// Accept, return, resolve, ask for an extension, attach files.
        Handle = "ticket.handle",
        /// Pass a ticket down to a sub-unit (转派).
        Redispatch = "ticket.redispatch",
        /// Record the citizen's verdict and reopen (回访).
        Callback = "ticket.callback",
        /// Urge, decide extensions, mark long-term (督办).
        Supervise = "ticket.supervise",
        /// See citizens' phone and name unmasked without asking.
        ViewIdentity = "identity.view",
        /// Unmask one ticket's citizen, giving a reason (recorded).
        RevealIdentity = "identity.reveal",
        /// Export lists and read statistics.
        Report = "report.view",
        /// Create and disable accounts and API tokens, change roles and scopes.
        ManageAccess = "access.manage",
        /// Read and export the audit log.
        ViewAudit = "audit.view",
        /// Fire a due timer: held by no role, only the timer worker (`system:timers`).
        FireTimers = "system.timers",
        /// Read knowledge-base articles and their suggestions for a text.
        ViewKnowledge = "kb.view",
        /// Write, retire and delete knowledge-base articles.
        EditKnowledge = "kb.edit",
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
        | Command::Merge { .. }
        | Command::Unmerge { .. }
        | Command::ReplyFromCase { .. } => P::Dispatch,
        Command::AnswerAtIntake { .. } => P::Answer,
        Command::Accept
        | Command::Return { .. }
        | Command::Resolve { .. }
        | Command::AddAttachment(_)
        | Command::RequestExtension { .. }
        | Command::Summon { .. }
        | Command::AcceptPart { .. }
        | Command::ReportPart { .. } => P::Handle,
        Command::Redispatch { .. } => P::Redispatch,
        Command::Rate(_) | Command::Reopen { .. } => P::Callback,
        Command::Urge { .. } | Command::DecideExtension { .. } | Command::MarkLongTerm { .. } => {
            P::Supervise
        }
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
            Scope::Regions(regions) => region.is_some_and(|r| regions.contains(r)),
        }
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

/// Masks every mobile number (11 digits starting with 1) written in free text, so a
/// number a citizen typed into the description is masked like the phone field; with
/// `hide`, no digit of it is kept.
pub fn mask_phones_in_text(text: &str, hide: bool) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let run = chars[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if run == 0 {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let digits: String = chars[i..i + run].iter().collect();
        if run == 11 && digits.starts_with('1') {
            out.push_str(&if hide {
                "*".repeat(11)
            } else {
                mask_phone(&digits)
            });
        } else {
            out.push_str(&digits);
        }
        i += run;
    }
    out
}

/// A demand as a reader with `view` may see it: the citizen, and phone numbers in the
/// text.
pub fn redact_intake(intake: &mut Intake, view: IdentityView) {
    intake.citizen = redact_citizen(&intake.citizen, view);
    if view != IdentityView::Full {
        let hide = view == IdentityView::Hidden;
        intake.title = mask_phones_in_text(&intake.title, hide);
        intake.description = mask_phones_in_text(&intake.description, hide);
        intake.address = intake
            .address
            .as_deref()
            .map(|a| mask_phones_in_text(a, hide));
    }
}

/// A ticket as seen by a reader with `permissions`.
pub fn redact_ticket(mut ticket: Ticket, permissions: &[Permission], revealed: bool) -> Ticket {
    let view = identity_view(permissions, &ticket.intake, revealed);
    redact_intake(&mut ticket.intake, view);
    ticket
}

/// A ticket's log as seen by a reader with `permissions`: its `created` event carries
/// the citizen too.
pub fn redact_events(mut events: Vec<Event>, permissions: &[Permission]) -> Vec<Event> {
    for event in &mut events {
        if let Change::Created(intake) = &mut event.change {
            let view = identity_view(permissions, intake, false);
            redact_intake(intake, view);
        }
    }
    events
}

/// Erases a citizen from a demand (the right to erasure, or retention run out): phone
/// and name go, numbers in the text go, and `pseudonym` stands in for the name so that
/// one citizen's tickets still read as one person's.
pub fn erase_identity(intake: &mut Intake, pseudonym: &str) {
    redact_intake(intake, IdentityView::Hidden);
    intake.citizen.name = Some(pseudonym.to_owned());
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
        }
    }

    #[test]
    fn a_confidential_reporter_stays_hidden_from_units_even_when_revealed() {
        let unit = Role::UnitHandler.permissions();
        let agent = Role::HotlineAgent.permissions();
        for secret in [intake(Kind::Complaint, true), intake(Kind::Report, false)] {
            assert_eq!(identity_view(unit, &secret, true), IdentityView::Hidden);
            let mut seen = secret.clone();
            redact_intake(&mut seen, identity_view(unit, &secret, true));
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
        redact_intake(&mut masked, IdentityView::Masked);
        assert_eq!(masked.citizen.phone.as_deref(), Some("138****5678"));
        assert_eq!(masked.citizen.email.as_deref(), Some("z***@example.cn"));
        assert_eq!(masked.title, "电话138****5678");
        assert_eq!(masked.description, "请回电 138****5678 或 010-12345");
    }
}
