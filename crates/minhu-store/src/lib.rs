//! Durable storage for minhu.
//!
//! [`SqlStore`] keeps it on SQLite (the embedded default: one file, WAL) or PostgreSQL
//! (for a province), with one set of migrations per backend. What is stored is the
//! event log of every ticket plus a projection of its current state, written in the
//! same transaction, so the two can never disagree.
//!
//! The store is cut by domain: each module holds one kind of data, with its rows, its
//! trait and its SQL for both backends, so that a crate depends on the part it uses
//! (the notifier holds an `Arc<dyn OutboxStore>`, the knowledge base a `KbStore`).
//! [`Store`] is every part at once, for the engine. Every row type is exported here
//! at the root.
//!
//! | module | trait | what it keeps |
//! |---|---|---|
//! | `tickets` | [`TicketStore`] | tickets' logs and states, idempotency keys, lists, the change feed, erasure |
//! | `accounts` | [`AccountStore`] | officials' accounts, API tokens, sessions, sign-in tries |
//! | `audit` | [`AuditStore`] | the audit log of people's actions |
//! | `kb` | [`KbStore`] | knowledge-base articles and their revision |
//! | `follow` | [`FollowStore`] | citizens' follow codes and the codes sent |
//! | `channels` | [`ChannelStore`] | channel adapters' contacts, their current demand, platform message ids handled |
//! | `open311` | [`Open311Store`] | Open311 clients' keys |
//! | `timers` | [`TimerStore`] | the due-time index of tickets' timers |
//! | `outbox` | [`OutboxStore`] | notifications waiting for delivery |
//! | `alerts` | [`AlertStore`] | surge and buck-passing alerts |
//! | `rollups` | [`RollupStore`] | the analytics' pre-aggregated counts |
//! | `tries` | | the atomic counters that limit guessing (sign-ins, follow codes) |
//! | `wall` | | PostgreSQL's row-level security between a province's cities: how a city's reads take its role |
//! | `db` | [`StoreBackend`] | the pools, migrations, group-commit writer, errors, shared SQL helpers |

mod accounts;
mod alerts;
mod audit;
mod channels;
mod db;
mod follow;
mod kb;
mod open311;
mod outbox;
mod rollups;
mod tickets;
mod timers;
mod tries;
mod wall;

pub use accounts::{AccountStore, ApiToken, LoginNotice, LoginPolicy, LoginTry, Session, User};
pub use alerts::{Alert, AlertStore, NewAlert};
pub use audit::{AuditCity, AuditEntry, AuditFilter, AuditStore};
pub use channels::{ChannelStore, ChannelThread, Identity, LinkCode};
pub use db::{Backend, PoolUse, SqlStore, StoreBackend, StoreError};
pub use follow::{FollowCode, FollowStore};
pub use kb::{Article, ArticleStatus, KbStore};
pub use open311::{Open311Key, Open311Store};
pub use outbox::{About, Delivery, NotificationRow, OutboxStore, Outgoing};
pub use rollups::{HourlyQuery, RollupQuery, RollupRow, RollupStore};
pub use tickets::{
    Appended, Awaiting, ChangeMark, Changed, Created, Cursor, Idempotency, NewTicket, Page,
    TicketFilter, TicketStore, TicketText, WorkCursor, WorkOrder, WorkPage,
};
pub use timers::{DueTimer, TimerRow, TimerStore};
pub use wall::CITY_ROLE;

/// Declares [`Store`] as the sum of the parts named once, and implements it for every
/// type that has them all.
macro_rules! store_of_parts {
    ($($part:ident),+) => {
        /// The whole store: every domain's part. The engine holds an `Arc<dyn Store>`
        /// and hands each crate the part it uses (`Arc<dyn Store>` coerces to
        /// `Arc<dyn OutboxStore>`).
        pub trait Store: $($part +)+ {}

        impl<T: $($part +)+ ?Sized> Store for T {}
    };
}

store_of_parts!(
    StoreBackend,
    TicketStore,
    AccountStore,
    AuditStore,
    KbStore,
    FollowStore,
    ChannelStore,
    Open311Store,
    TimerStore,
    OutboxStore,
    AlertStore,
    RollupStore
);
