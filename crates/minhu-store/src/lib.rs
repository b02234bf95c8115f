//! Durable storage for minhu.
//!
//! One [`Store`] trait, implemented for SQLite (the embedded default: one file, WAL)
//! and PostgreSQL (for a province), with one set of migrations per backend. What is
//! stored is the event log of every ticket plus a projection of its current state,
//! written in the same transaction, so the two can never disagree.

mod outbox;
mod rollups;
mod sql;
mod timers;
mod tries;

pub use sql::SqlStore;

use async_trait::async_trait;
use jiff::Timestamp;
use minhu_core::access::Scope;
use minhu_core::event::Event;
use minhu_core::ids::TicketNumber;
use minhu_core::rollup::{HourlyKey, Metric, Rollup};
use minhu_core::ticket::{Status, Ticket};
use minhu_core::timer::{Flag, Timer, TimerKind};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("ticket {0} does not exist")]
    NotFound(TicketNumber),
    /// Someone else changed the ticket since it was read; read it again and retry.
    #[error("ticket {0} was changed concurrently")]
    Conflict(TicketNumber),
    #[error("this Idempotency-Key was already used for a different request")]
    IdempotencyMismatch,
    #[error("stored data could not be read back: {0}")]
    Corrupt(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A follower's mark was taken from another store (or one restored from a backup):
    /// it must start again from [`ChangeMark::START`].
    #[error("the change mark belongs to another store: {0}")]
    ForeignMark(String),
}

/// A client's promise that a request is one request however often it is sent.
#[derive(Clone, Debug)]
pub struct Idempotency {
    pub key: String,
    /// A digest of the request, to refuse the same key reused for another request.
    pub fingerprint: String,
}

/// The first events of a new ticket (the first must be `created`), before it has a
/// number: the store gives it the next number of `day`.
#[derive(Clone, Debug)]
pub struct NewTicket {
    pub day: jiff::civil::Date,
    pub events: Vec<Event>,
    pub region_path: Option<String>,
    pub idempotency: Option<Idempotency>,
    /// The timers the new ticket has (`minhu_core::timer::pending`).
    pub timers: Vec<Timer>,
    /// What to tell about its first events (the outbox, same transaction).
    pub notifications: Vec<Outgoing>,
    /// Who made it, for the audit log: written in the same transaction (no round
    /// trip of its own on the hot intake path), its target set to the new number;
    /// nothing when a retry finds the ticket an earlier request made.
    pub audit: Option<AuditEntry>,
}

#[derive(Clone, Debug)]
pub struct Created {
    pub ticket: Ticket,
    /// False when an earlier request with the same idempotency key made the ticket.
    pub fresh: bool,
}

/// New events for an existing ticket, and the state they lead to.
#[derive(Clone, Debug)]
pub struct Appended<'a> {
    pub ticket: &'a Ticket,
    pub events: &'a [Event],
    pub region_path: Option<&'a str>,
    /// The timers the ticket has after these events; they replace its unfired ones.
    pub timers: &'a [Timer],
    /// The timer these events fire, marked fired in the same transaction.
    pub fired: Option<Timer>,
    /// What to tell about these events (the outbox, same transaction).
    pub notifications: &'a [Outgoing],
}

/// A message about an event (or an alert), put in the outbox in its transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// The event it tells of (unused for an alert's rows).
    pub seq: u32,
    /// The configured channel that delivers it; once per event and channel.
    pub channel: String,
    /// A phone number or an e-mail address; none for a webhook.
    pub recipient: Option<String>,
    /// What to say (JSON, written and read by `minhu-notify`).
    pub message: String,
}

/// What an outbox row tells of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum About {
    /// A ticket's event.
    Ticket { number: String, seq: u32 },
    /// An alert (its id, see [`Alert`]).
    Alert(String),
}

/// An outbox row a worker claimed for delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub about: About,
    pub channel: String,
    pub recipient: Option<String>,
    pub message: String,
    /// Attempts made before this one.
    pub attempts: u32,
}

/// An outbox row as officials see it: never its text (a follow code may be in it); the
/// recipient is for the caller to mask before it shows it to anyone.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct NotificationRow {
    pub id: i64,
    pub ticket: String,
    pub seq: u32,
    pub channel: String,
    pub recipient: Option<String>,
    pub attempts: u32,
    pub next_at: Timestamp,
    pub delivered_at: Option<Timestamp>,
    pub failed_at: Option<Timestamp>,
    pub last_error: Option<String>,
}

/// An alert (migration 0012): a surge (突发预警) or a unit's buck-passing warning
/// (推诿预警), raised once per cell and window.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Alert {
    /// Its kind, cell and window (e.g. `surge|A5-01|城乡建设/供水|493027`): an alert
    /// with the same id is the same alert, raised once.
    pub id: String,
    /// `surge` or `buck_passing`.
    pub kind: String,
    pub region: Option<String>,
    pub unit: Option<String>,
    pub category: Option<String>,
    /// The window it is about: the surge's hours, the unit's month so far.
    pub window_from: Timestamp,
    pub window_to: Timestamp,
    /// What was seen and what is normal: a surge's count and baseline; a unit's
    /// buck-passing index and the threshold it crossed.
    pub observed: f64,
    pub expected: f64,
    pub raised_at: Timestamp,
}

/// An alert to raise, and what to tell of it (outbox rows written with it).
#[derive(Clone, Debug, PartialEq)]
pub struct NewAlert {
    pub alert: Alert,
    pub notifications: Vec<Outgoing>,
}

/// A timer claimed by a worker: fire it, or void it when the ticket moved on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueTimer {
    pub ticket: TicketNumber,
    pub timer: Timer,
}

/// A row of the timer index, for officials' views.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimerRow {
    pub ticket: String,
    pub kind: TimerKind,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub due_at: Timestamp,
    /// The worker holding it now (a lease), if any.
    pub claimed_by: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub fired_at: Option<Timestamp>,
    /// `fired`, or `void` when the ticket had moved on.
    pub outcome: Option<String>,
}

/// Which tickets to list. Every field narrows the list; `None` means "any".
///
/// `scope` is the reader's part of the city. It defaults to the whole city for the
/// CLI and background jobs; the web layer always sets the signed-in official's scope.
#[derive(Clone, Debug)]
pub struct TicketFilter {
    pub scope: Scope,
    pub status: Option<Status>,
    pub unit: Option<String>,
    /// A region path prefix such as `/A/A3/`: the region and everything inside it.
    pub region_path: Option<String>,
    /// A category path prefix: the category and its sub-categories.
    pub category: Option<String>,
    pub created_from: Option<Timestamp>,
    pub created_to: Option<Timestamp>,
    /// Words that must appear in the title or description (or be the ticket's number).
    pub text: Option<String>,
    /// Whether the reader sees citizens' identities (`identity.view`): only then do the
    /// personal data in the texts and the citizen's fields answer `text` (the engine
    /// and the search index judge that; the store's own word scan does not).
    pub identity: bool,
    pub phone: Option<String>,
    /// Tickets whose alert is at least this severe (see `Alerts::matching`).
    pub flag: Option<Flag>,
    /// Only these tickets (the matches of a full-text search); the other filters still
    /// apply, so the search index can never widen what a filter or scope allows.
    pub numbers: Option<Vec<String>>,
    pub cursor: Option<Cursor>,
    pub limit: u32,
}

/// Where a page ended: lists are ordered newest first by (created_at, number).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: i64,
    pub number: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        format!("{}.{}", self.created_at, self.number)
    }

    pub fn decode(text: &str) -> Option<Cursor> {
        let (at, number) = text.split_once('.')?;
        let number = TicketNumber::parse(number).ok()?;
        Some(Cursor {
            created_at: at.parse().ok()?,
            number: number.as_str().to_owned(),
        })
    }
}

impl Default for TicketFilter {
    fn default() -> Self {
        Self {
            scope: Scope::All,
            status: None,
            unit: None,
            region_path: None,
            category: None,
            created_from: None,
            created_to: None,
            text: None,
            identity: false,
            phone: None,
            flag: None,
            numbers: None,
            cursor: None,
            limit: 50,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Page {
    pub tickets: Vec<Ticket>,
    pub next: Option<Cursor>,
}

/// What comparing tickets' words needs of a ticket (duplicate candidates), read from
/// its columns without decoding its whole state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketText {
    pub number: TicketNumber,
    pub status: Status,
    pub created_at: Timestamp,
    pub title: String,
    pub description: String,
}

/// How far a follower of the store (the search index) has read its changes. Rows are
/// ordered by (change sequence, number): every row at or before (`seq`, `number`) has
/// been seen, except rows stamped by one of `pending`, transactions still running when
/// the mark was taken (PostgreSQL commits out of sequence order; SQLite never has any).
/// `store` names the store the mark belongs to; [`ChangeMark::START`] is before
/// everything of any store.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChangeMark {
    pub store: String,
    pub seq: i64,
    pub number: String,
    pub pending: Vec<i64>,
}

impl ChangeMark {
    pub const START: ChangeMark = ChangeMark {
        store: String::new(),
        seq: -1,
        number: String::new(),
        pending: Vec::new(),
    };

    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("a mark is plain data")
    }

    pub fn decode(text: &str) -> Option<ChangeMark> {
        serde_json::from_str(text).ok()
    }
}

/// A ticket as it is now, with the region path stored beside it.
#[derive(Clone, Debug)]
pub struct Changed {
    pub ticket: Ticket,
    pub region_path: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub login: String,
    pub display_name: String,
    pub role: String,
    pub unit: Option<String>,
    /// For officials of a district or street (supervisors): their region subtree.
    pub region: Option<String>,
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: Timestamp,
    /// Sign-in tries at this login within the current window, read from the sign-in
    /// counters ([`Store::claim_login_try`]); written only when the account is made.
    pub failed_logins: u32,
    /// Until when sign-ins at this login are delayed from everywhere (read as above).
    pub locked_until: Option<Timestamp>,
}

/// An API client's credentials: only the SHA-256 of the token is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiToken {
    pub token_hash: String,
    pub name: String,
    /// Permission codes (`ticket.view`, ...).
    pub permissions: Vec<String>,
    pub unit: Option<String>,
    pub region: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked: bool,
    /// Requests per minute this token may make; `None`: the server's default.
    pub rate_per_min: Option<u32>,
}

/// A browser session. `subject` is `user:<login>` or `citizen:<ticket number>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub id_hash: String,
    pub subject: String,
    /// The synchronizer token forms must send back.
    pub csrf: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// One line of the audit log (留痕 of people, beside the tickets' own event logs).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    /// Assigned by the store; 0 for an entry not yet written.
    pub seq: i64,
    pub at: Timestamp,
    /// `user:<login>`, `token:<name>`, `citizen`, `system:<part>` or `anonymous`.
    pub actor: String,
    /// `login`, `login_failed`, `logout`, `ticket.<action>`, `reveal`, `user.saved`, ...
    pub action: String,
    /// What it was done to: a ticket number, a login, a token name.
    pub target: Option<String>,
    /// Why, or what changed (never a secret).
    pub detail: String,
    /// The client's address, where known.
    pub client: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    /// Entries after this sequence number (for paging).
    pub after: Option<i64>,
    pub limit: u32,
}

/// A one-time code a citizen was sent to follow a ticket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FollowCode {
    pub ticket: String,
    pub code_hash: String,
    pub expires_at: Timestamp,
    pub attempts: u32,
}

/// How sign-in tries are limited ([`Store::claim_login_try`]).
#[derive(Clone, Copy, Debug)]
pub struct LoginPolicy {
    /// Tries one address may make at one login within `window`...
    pub pair_tries: u32,
    /// ...before that pair is locked this long.
    pub pair_lock: jiff::SignedDuration,
    /// Tries at one login from all addresses within `window` before it is delayed.
    pub ceiling: u32,
    pub window: jiff::SignedDuration,
    /// The first delay of a login past its ceiling; each next one is twice as long...
    pub first_delay: jiff::SignedDuration,
    /// ...up to this.
    pub max_delay: jiff::SignedDuration,
}

/// What a claimed sign-in try may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginTry {
    /// Check the password.
    Allowed,
    /// This login and address are locked; `newly` when this try locked them.
    Locked { newly: bool },
    /// The login is delayed from everywhere until `until`; `newly` when this try
    /// reached the ceiling.
    Delayed { newly: bool, until: Timestamp },
}

/// What an official is told at a sign-in about the tries since the last one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoginNotice {
    /// Tries that did not sign in, from any address.
    pub failures: u32,
    /// How often the login was delayed for reaching the ceiling.
    pub delays: u32,
}

/// An Open311 client's API key, known by its digest only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Open311Key {
    /// SHA-256 of the key, hex.
    pub key_hash: String,
    /// Who the key was given to.
    pub label: String,
    pub disabled: bool,
    pub created_at: Timestamp,
}

/// A knowledge-base article (知识库条目): a policy answer, a procedure, a contact.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Article {
    /// The article's key: stable across edits and imports.
    pub id: String,
    pub title: String,
    pub body: String,
    /// A taxonomy path, if the article belongs to a category.
    pub category: Option<String>,
    /// The first and last day the article is valid (inclusive), if it is limited.
    pub valid_from: Option<jiff::civil::Date>,
    pub valid_to: Option<jiff::civil::Date>,
    /// The unit that keeps the article true.
    pub owner_unit: Option<String>,
    pub tags: Vec<String>,
    pub status: ArticleStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Article {
    /// A published article with only its words: no category, validity dates, owner or
    /// tags, created and updated `at`. The other fields are public, to be set after.
    pub fn new(
        id: impl Into<String>,
        title: impl Into<String>,
        body: impl Into<String>,
        at: Timestamp,
    ) -> Article {
        Article {
            id: id.into(),
            title: title.into(),
            body: body.into(),
            category: None,
            valid_from: None,
            valid_to: None,
            owner_unit: None,
            tags: Vec::new(),
            status: ArticleStatus::Published,
            created_at: at,
            updated_at: at,
        }
    }

    /// Whether the two say the same (every field but when they were created and last
    /// updated): a put of the same content is not a change.
    pub fn same_content(&self, other: &Article) -> bool {
        Article {
            created_at: self.created_at,
            updated_at: self.updated_at,
            ..other.clone()
        } == *self
    }

    /// Whether the article may be given as an answer on `day`.
    pub fn valid_on(&self, day: jiff::civil::Date) -> bool {
        self.valid_from.is_none_or(|from| from <= day) && self.valid_to.is_none_or(|to| day <= to)
    }

    /// Whether the article may be suggested or answered from on `day`: published and
    /// within its validity dates.
    pub fn live_on(&self, day: jiff::civil::Date) -> bool {
        self.status == ArticleStatus::Published && self.valid_on(day)
    }
}

/// Where an article is in its life: only published articles are ever suggested.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArticleStatus {
    /// Being written; visible to editors only.
    Draft,
    #[default]
    Published,
    /// Kept for the record (tickets that cite it still link to it), never suggested.
    Retired,
}

impl ArticleStatus {
    pub const ALL: [ArticleStatus; 3] = [Self::Draft, Self::Published, Self::Retired];

    pub fn code(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Published => "published",
            Self::Retired => "retired",
        }
    }

    pub fn parse(code: &str) -> Option<ArticleStatus> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// Which sums of the daily rollup to read: days `from` up to `to` (exclusive) of the
/// tickets' intake, narrowed like a ticket list, grouped by the columns asked for.
#[derive(Clone, Debug)]
pub struct RollupQuery {
    pub from: jiff::civil::Date,
    pub to: jiff::civil::Date,
    /// The reader's part of the city: a unit's officials see their units' counts, a
    /// district's its regions'.
    pub scope: Scope,
    /// Any of these units (empty: any).
    pub units: Vec<String>,
    /// Any of these region ids (empty: any); a caller expands a region to its subtree.
    pub regions: Vec<String>,
    /// A category and its sub-categories.
    pub category: Option<String>,
    /// Any of these categories exactly (empty: any).
    pub categories: Vec<String>,
    pub by_day: bool,
    pub by_unit: bool,
    pub by_region: bool,
    pub by_category: bool,
    /// Read the full daily table only, not the coarsest copy that answers (to compare
    /// the two: benchmarks and checks; the answer is the same).
    pub finest_only: bool,
}

impl RollupQuery {
    /// The whole city's totals over days `from` up to `to`: no scope, no narrowing, no
    /// grouping. Callers set what they need with struct update syntax.
    pub fn city_totals(from: jiff::civil::Date, to: jiff::civil::Date) -> Self {
        Self {
            from,
            to,
            scope: Scope::All,
            units: Vec::new(),
            regions: Vec::new(),
            category: None,
            categories: Vec::new(),
            by_day: false,
            by_unit: false,
            by_region: false,
            by_category: false,
            finest_only: false,
        }
    }
}

/// One sum of the daily rollup; a column not grouped on is `None`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollupRow {
    pub day: Option<jiff::civil::Date>,
    pub unit: Option<String>,
    pub region: Option<String>,
    pub category: Option<String>,
    pub metric: Metric,
    pub n: i64,
}

/// Which hours of intake counts to read: `from_hour` up to `to_hour` (exclusive), in
/// whole hours since the Unix epoch.
#[derive(Clone, Debug)]
pub struct HourlyQuery {
    pub from_hour: i64,
    pub to_hour: i64,
    /// Hourly counts are kept by place: a unit-scoped reader gets none.
    pub scope: Scope,
    pub regions: Vec<String>,
    pub category: Option<String>,
}

#[async_trait]
pub trait Store: Send + Sync {
    fn backend(&self) -> Backend;

    /// Stores a new ticket with its first events, numbering it atomically. With an
    /// idempotency key already seen, returns the ticket made the first time.
    async fn create_ticket(&self, new: NewTicket) -> Result<Created, StoreError>;

    /// Stores many new tickets in one transaction, all or nothing, with multi-row
    /// statements (loading a history, or the benchmarks' millions): the same rows as
    /// [`Store::create_ticket`] - events, timers, outbox, rollups, idempotency keys -
    /// at a fraction of the round trips. Numbers are taken a block per day; on
    /// PostgreSQL concurrent intakes on those days wait until the batch commits. A key
    /// seen before fails the whole batch. Returns the stored tickets in batch order.
    async fn create_tickets(&self, batch: &[NewTicket]) -> Result<Vec<Ticket>, StoreError>;

    async fn ticket(&self, number: &TicketNumber) -> Result<Option<Ticket>, StoreError>;

    /// The ticket if it lies within `scope`; `None` both when it does not exist and
    /// when it is out of sight, so a reader cannot tell the two apart.
    async fn ticket_in(
        &self,
        number: &TicketNumber,
        scope: &Scope,
    ) -> Result<Option<Ticket>, StoreError>;

    async fn events(&self, number: &TicketNumber) -> Result<Vec<Event>, StoreError>;

    /// Appends events to a ticket's log and saves the state they lead to, provided no
    /// one appended since the state the caller read ([`StoreError::Conflict`] if so).
    async fn append(&self, appended: Appended<'_>) -> Result<(), StoreError> {
        self.append_many(std::slice::from_ref(&appended)).await
    }

    /// Appends to several tickets in one transaction, all or nothing: a merge writes the
    /// ticket and its main case, a case's reply every ticket merged into it. Conflict
    /// (or NotFound) names the first ticket that was not at the version read.
    async fn append_many(&self, batch: &[Appended<'_>]) -> Result<(), StoreError>;

    async fn list(&self, filter: &TicketFilter) -> Result<Page, StoreError>;

    /// The words of the tickets `filter` selects (its cursor included), newest first,
    /// at most `filter.limit` of them: [`Store::list`] without the tickets' states.
    async fn texts(&self, filter: &TicketFilter) -> Result<Vec<TicketText>, StoreError>;

    /// Up to `limit` tickets written after `mark`, in change order, and the mark to ask
    /// from next time. Fewer than `limit` means the follower has caught up. On
    /// PostgreSQL the rows of transactions that were running at `mark` and have
    /// committed since come first and may exceed `limit`. A mark of another store:
    /// [`StoreError::ForeignMark`].
    async fn changed_since(
        &self,
        mark: &ChangeMark,
        limit: u32,
    ) -> Result<(Vec<Changed>, ChangeMark), StoreError>;

    /// A mark at the store's latest change: following from it reads only what is
    /// written after this call (and, on PostgreSQL, what was still being written
    /// during it). A follower that reads the present state some other way (a list by
    /// creation time) takes this mark first, so nothing written meanwhile is missed.
    async fn latest_mark(&self) -> Result<ChangeMark, StoreError>;

    async fn count_by_status(&self, scope: &Scope) -> Result<Vec<(Status, u64)>, StoreError>;

    /// Adds an account, or updates an existing one's name, role, scope and password
    /// only: whether it is disabled changes through [`Store::set_user_disabled`], so a
    /// save holding the account as it was read cannot undo a disable.
    async fn put_user(&self, user: &User) -> Result<(), StoreError>;

    async fn user(&self, login: &str) -> Result<Option<User>, StoreError>;

    async fn users(&self) -> Result<Vec<User>, StoreError>;

    /// Adds a token, or replaces the one with the same name.
    async fn put_token(&self, token: &ApiToken) -> Result<(), StoreError>;

    async fn token(&self, token_hash: &str) -> Result<Option<ApiToken>, StoreError>;

    async fn tokens(&self) -> Result<Vec<ApiToken>, StoreError>;

    async fn put_session(&self, session: &Session) -> Result<(), StoreError>;

    async fn session(&self, id_hash: &str) -> Result<Option<Session>, StoreError>;

    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError>;

    /// Forgets sessions that expired before `now`; returns how many.
    async fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64, StoreError>;

    /// Ends every session of a subject (a disabled account, a changed role).
    async fn delete_sessions_of(&self, subject: &str) -> Result<(), StoreError>;

    /// Appends to the audit log; returns the entry's sequence number.
    async fn audit(&self, entry: &AuditEntry) -> Result<i64, StoreError>;

    /// Audit entries, oldest first.
    async fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError>;

    /// Erases a citizen from one ticket: `erase` rewrites each event of the ticket's log
    /// (the demand in its `created` event, the texts written later), the projection
    /// becomes the rewritten log replayed, and what else names the citizen goes in the
    /// same transaction: the ticket's notifications (recipient and text), its follow
    /// code, codes counted for it, citizen sessions, and the digest kept with its
    /// idempotency key. The only
    /// change ever made to stored events (the right to erasure); sequence, time and
    /// actor stay as they were. Returns false when the ticket does not exist.
    async fn erase_identity(
        &self,
        number: &TicketNumber,
        erase: &(dyn for<'e> Fn(&'e mut Event) + Sync),
    ) -> Result<bool, StoreError>;

    /// Sets only the account's `disabled` flag (no other step's columns, so nothing
    /// in flight can undo it); false when there is no such account.
    async fn set_user_disabled(&self, login: &str, disabled: bool) -> Result<bool, StoreError>;

    /// Counts a sign-in try at `login` from `address` before its password is checked,
    /// each counter in one atomic statement: per login and address, then per login
    /// from everywhere (a try the ceiling refuses is given back to the pair).
    async fn claim_login_try(
        &self,
        login: &str,
        address: &str,
        now: Timestamp,
        policy: &LoginPolicy,
    ) -> Result<LoginTry, StoreError>;

    /// A claimed try signed in: the pair is forgotten, the try given back to the
    /// ceiling, and what happened since the last sign-in is returned (and reset).
    /// Rows nobody needs any more are swept.
    async fn login_succeeded(
        &self,
        login: &str,
        address: &str,
        now: Timestamp,
        policy: &LoginPolicy,
    ) -> Result<LoginNotice, StoreError>;

    /// Forgets every lock and delay of a login (an administrator enabled it again).
    async fn clear_login_tries(&self, login: &str) -> Result<(), StoreError>;

    /// After erasures: makes what they removed unrecoverable from the database's files
    /// as far as the database can (SQLite: the write-ahead log is checkpointed and
    /// emptied, freed pages were zeroed by `secure_delete`; PostgreSQL: the tables an
    /// erasure touches are vacuumed, so dead row versions go).
    async fn purge_erased(&self) -> Result<(), StoreError>;

    /// The tickets whose attachments include the file with this SHA-256.
    async fn tickets_with_attachment(&self, sha256: &str) -> Result<Vec<TicketNumber>, StoreError>;

    /// Replaces the ticket's follow code (one live code per ticket).
    async fn put_follow_code(&self, code: &FollowCode) -> Result<(), StoreError>;

    async fn follow_code(&self, ticket: &str) -> Result<Option<FollowCode>, StoreError>;

    async fn delete_follow_code(&self, ticket: &str) -> Result<(), StoreError>;

    /// Counts one try at the ticket's live code, in one statement, and returns the
    /// code's hash to compare; `None` when there is no live code or its tries are
    /// used up (then nothing is counted).
    async fn claim_follow_try(
        &self,
        ticket: &str,
        now: Timestamp,
        max_tries: u32,
    ) -> Result<Option<String>, StoreError>;

    /// Uses the code up if it is still the ticket's code; false when another request
    /// used it (or a new one replaced it) first. A used code never comes back.
    async fn use_follow_code(&self, ticket: &str, code_hash: &str) -> Result<bool, StoreError>;

    /// Counts one code sent to `subject` (a ticket, a phone's digest) on `day`, if
    /// fewer than `cap` were; false (nothing counted) at the cap. Earlier days' counts
    /// are swept.
    async fn count_code_sent(
        &self,
        subject: &str,
        day: jiff::civil::Date,
        cap: u32,
    ) -> Result<bool, StoreError>;

    /// Forgets the codes counted for `subject` (an erased citizen's phone digest).
    async fn forget_code_sends(&self, subject: &str) -> Result<(), StoreError>;

    /// The ticket that an intake with this idempotency key created, if any.
    async fn ticket_by_idempotency_key(
        &self,
        key: &str,
    ) -> Result<Option<TicketNumber>, StoreError>;

    async fn put_open311_key(&self, key: &Open311Key) -> Result<(), StoreError>;

    async fn open311_key(&self, key_hash: &str) -> Result<Option<Open311Key>, StoreError>;

    /// Inserts or replaces the article with this id. Returns false when an identical
    /// article (same content; times aside) was already stored, so nothing changed.
    async fn put_article(&self, article: &Article) -> Result<bool, StoreError>;

    async fn article(&self, id: &str) -> Result<Option<Article>, StoreError>;

    /// Every article, by id.
    async fn articles(&self) -> Result<Vec<Article>, StoreError>;

    /// Removes the article; false if there was none.
    async fn delete_article(&self, id: &str) -> Result<bool, StoreError>;

    /// A number that moves with every change to the articles (never on a put that
    /// changed nothing): a follower rebuilds what it derived from them when it moves.
    async fn kb_revision(&self) -> Result<i64, StoreError>;

    /// Claims up to `limit` unfired timers due at `now` that no live claim holds, for
    /// `lease`; on PostgreSQL concurrent claimers skip each other's rows.
    async fn claim_timers(
        &self,
        worker: &str,
        now: Timestamp,
        lease: jiff::SignedDuration,
        limit: u32,
    ) -> Result<Vec<DueTimer>, StoreError>;

    /// Marks a claimed timer done without an event: the ticket no longer had it.
    async fn void_timer(&self, due: &DueTimer, now: Timestamp) -> Result<(), StoreError>;

    /// When the earliest unfired timer is due.
    async fn next_timer_due(&self) -> Result<Option<Timestamp>, StoreError>;

    /// A ticket's timers, fired or not, by due time.
    async fn timers_of(&self, number: &TicketNumber) -> Result<Vec<TimerRow>, StoreError>;

    /// Unfired timers due before `before`, earliest first.
    async fn due_timers(&self, before: Timestamp, limit: u32) -> Result<Vec<TimerRow>, StoreError>;

    /// Sums of the daily analytics rollup (kept current with every ticket change).
    async fn rollup_daily(&self, query: &RollupQuery) -> Result<Vec<RollupRow>, StoreError>;

    /// Demands received per hour, place and category, by hour.
    async fn rollup_hourly(&self, query: &HourlyQuery)
    -> Result<Vec<(HourlyKey, i64)>, StoreError>;

    /// Adds counts computed elsewhere to the rollups, in one transaction (history
    /// loaded in bulk, the benchmark's synthetic years).
    async fn add_rollup(&self, rollup: &Rollup) -> Result<(), StoreError>;

    /// Recomputes every rollup table from every ticket's log, in one transaction (a
    /// store that held tickets before migration 0008, or a check of the kept tables);
    /// `progress` hears the tickets counted so far after each page of them. Returns how
    /// many tickets were counted.
    async fn rebuild_rollups(
        &self,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<u64, StoreError>;

    /// Every non-zero row of every rollup table, by table name (the daily-count tables
    /// fill `daily`, with the columns a table does not keep empty; `rollup_hourly` fills
    /// `hourly`): for checking the kept tables against a recount.
    async fn rollup_tables(&self) -> Result<Vec<(String, Rollup)>, StoreError>;

    /// How many rows each rollup table holds, by table name: what a dashboard read
    /// chooses between, cheap to ask at any size (unlike [`Store::rollup_tables`]).
    async fn rollup_sizes(&self) -> Result<Vec<(String, u64)>, StoreError>;

    /// Claims up to `limit` outbox rows due at `now`, for `lease`; on PostgreSQL
    /// concurrent claimers skip each other's rows.
    async fn claim_notifications(
        &self,
        worker: &str,
        now: Timestamp,
        lease: jiff::SignedDuration,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError>;

    /// Records an attempt on a claimed row: `Ok` delivered; `Err((error, Some(at)))`
    /// try again at `at`; `Err((error, None))` given up. False when the claim was lost.
    async fn settle_notification(
        &self,
        delivery: &Delivery,
        worker: &str,
        now: Timestamp,
        outcome: Result<(), (&str, Option<Timestamp>)>,
    ) -> Result<bool, StoreError>;

    /// A ticket's outbox rows, oldest first.
    async fn notifications_of(
        &self,
        number: &TicketNumber,
    ) -> Result<Vec<NotificationRow>, StoreError>;

    /// Raises the alerts not raised before (by id), each with its outbox rows, in one
    /// transaction, and returns the ids it raised: a later pass that finds the same
    /// alert raises nothing and tells no one again.
    async fn raise_alerts(&self, alerts: &[NewAlert]) -> Result<Vec<String>, StoreError>;

    /// The alerts raised at or after `since`, newest first.
    async fn alerts_since(&self, since: Timestamp) -> Result<Vec<Alert>, StoreError>;
}
