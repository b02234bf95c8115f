//! Durable storage for minhu.
//!
//! One [`Store`] trait, implemented for SQLite (the embedded default: one file, WAL)
//! and PostgreSQL (for a province), with one set of migrations per backend. What is
//! stored is the event log of every ticket plus a projection of its current state,
//! written in the same transaction, so the two can never disagree.

mod sql;

pub use sql::SqlStore;

use async_trait::async_trait;
use jiff::Timestamp;
use minhu_core::event::Event;
use minhu_core::ids::TicketNumber;
use minhu_core::ticket::{Status, Ticket};

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
}

/// Which tickets to list. Every field narrows the list; `None` means "any".
#[derive(Clone, Debug, Default)]
pub struct TicketFilter {
    pub status: Option<Status>,
    pub unit: Option<String>,
    /// A region path prefix such as `/A/A3/`: the region and everything inside it.
    pub region_path: Option<String>,
    /// A category path prefix: the category and its sub-categories.
    pub category: Option<String>,
    pub created_from: Option<Timestamp>,
    pub created_to: Option<Timestamp>,
    /// Words that must appear in the title or description.
    pub text: Option<String>,
    pub phone: Option<String>,
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

#[derive(Clone, Debug)]
pub struct Page {
    pub tickets: Vec<Ticket>,
    pub next: Option<Cursor>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub login: String,
    pub display_name: String,
    pub role: String,
    pub unit: Option<String>,
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: Timestamp,
}

#[async_trait]
pub trait Store: Send + Sync {
    fn backend(&self) -> Backend;

    /// Stores a new ticket with its first events, numbering it atomically. With an
    /// idempotency key already seen, returns the ticket made the first time.
    async fn create_ticket(&self, new: NewTicket) -> Result<Created, StoreError>;

    async fn ticket(&self, number: &TicketNumber) -> Result<Option<Ticket>, StoreError>;

    async fn events(&self, number: &TicketNumber) -> Result<Vec<Event>, StoreError>;

    /// Appends events to a ticket's log and saves the state they lead to, provided no
    /// one appended since the state the caller read ([`StoreError::Conflict`] if so).
    async fn append(&self, appended: Appended<'_>) -> Result<(), StoreError>;

    async fn list(&self, filter: &TicketFilter) -> Result<Page, StoreError>;

    async fn count_by_status(&self) -> Result<Vec<(Status, u64)>, StoreError>;

    async fn put_user(&self, user: &User) -> Result<(), StoreError>;

    async fn user(&self, login: &str) -> Result<Option<User>, StoreError>;

    async fn users(&self) -> Result<Vec<User>, StoreError>;
}
