//! Tickets: the event log of each and a projection of its current state, written in
//! one transaction so the two can never disagree. What else a change writes (its
//! timers, outbox rows, rollup counts, the creation's audit entry) goes into the same
//! transaction through the module of that data. Here too: idempotency keys of intake,
//! lists by filter and scope, the change feed the search index follows, and erasure.

mod changes;
mod erase;
mod intake;
mod query;

pub(crate) use intake::{EVENT_ROWS, create_group, create_one};

use crate::audit::AuditEntry;
use crate::db::{Backend, Bind, Conditions, QueuedIntake, SqlStore, StoreError, from_millis};
use crate::outbox::Outgoing;
use async_trait::async_trait;
use jiff::Timestamp;
use minhu_core::access::Scope;
use minhu_core::event::Event;
use minhu_core::ids::{CityId, TicketNumber};
use minhu_core::rollup::Rollup;
use minhu_core::ticket::{Channel, Kind, Status, Ticket};
use minhu_core::timer::{Flag, Timer};
use sqlx::Row;
use sqlx::any::AnyRow;
use tokio::sync::oneshot;

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
    /// With `region_path`: the tickets placed at that region itself, none of those
    /// inside it (a city-wide ticket's peers are the city's other city-wide tickets,
    /// one point of the index on (region_path, created_at), not the whole city).
    pub region_alone: bool,
    /// A category path prefix: the category and its sub-categories.
    pub category: Option<String>,
    pub channel: Option<Channel>,
    pub kind: Option<Kind>,
    /// A tier code (`2h`, `7d`, ...).
    pub tier: Option<String>,
    /// What the tickets wait on (the work lists).
    pub awaiting: Option<Awaiting>,
    pub created_from: Option<Timestamp>,
    pub created_to: Option<Timestamp>,
    /// Tickets last changed at or after this moment (and before `updated_to`): what
    /// changed in a window, read through an index (Open311's updates).
    pub updated_from: Option<Timestamp>,
    pub updated_to: Option<Timestamp>,
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
            region_alone: false,
            category: None,
            channel: None,
            kind: None,
            tier: None,
            awaiting: None,
            created_from: None,
            created_to: None,
            updated_from: None,
            updated_to: None,
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

/// What a work list's tickets wait on: a decision of the dispatchers or supervisors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Awaiting {
    /// Pending tickets no unit has returned: the dispatch queue proper.
    Dispatch,
    /// Returns the dispatchers have not yet decided (退回待裁决).
    Arbitration,
    /// Extension requests (延期) a supervisor has not yet decided.
    Extension,
    /// Long-term (挂账) tickets, followed until their review.
    Review,
    /// Open tickets whose unit had a return refused (推诿 disputes).
    Disputed,
}

/// The order of a work list: what comes first is what is most pressing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkOrder {
    /// By tier, in the order given (the city's tiers, most urgent first; a tier not
    /// named comes last), then waiting longest first.
    Urgency(Vec<String>),
    /// By the resolution deadline, soonest first.
    Deadline,
    /// By the long-term review date, soonest first.
    Review,
}

/// Where a page of a work list ended: its order's key, then (created_at, number).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkCursor {
    pub key: i64,
    pub created_at: i64,
    pub number: String,
}

impl WorkCursor {
    pub fn encode(&self) -> String {
        format!("{}.{}.{}", self.key, self.created_at, self.number)
    }

    pub fn decode(text: &str) -> Option<WorkCursor> {
        let (key, rest) = text.split_once('.')?;
        let cursor = Cursor::decode(rest)?;
        Some(WorkCursor {
            key: key.parse().ok()?,
            created_at: cursor.created_at,
            number: cursor.number,
        })
    }
}

/// A page of a work list.
#[derive(Clone, Debug)]
pub struct WorkPage {
    pub tickets: Vec<Ticket>,
    pub next: Option<WorkCursor>,
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

/// A ticket as it is now, with the region path and cities stored beside it.
#[derive(Clone, Debug)]
pub struct Changed {
    pub ticket: Ticket,
    pub region_path: Option<String>,
    /// The city the ticket belongs to and the one that handed it over (转办), as the
    /// store's columns say: by these a city's reader sees it (a ticket taken in before
    /// provinces has its city in the column only, `TicketStore::adopt_city`).
    pub cities: Vec<CityId>,
}

/// Tickets and their logs: intake, reads, lists, appends, the change feed, erasure.
#[async_trait]
pub trait TicketStore: Send + Sync {
    /// Stores a new ticket with its first events, numbering it atomically. With an
    /// idempotency key already seen, returns the ticket made the first time.
    async fn create_ticket(&self, new: NewTicket) -> Result<Created, StoreError>;

    /// Stores many new tickets in one transaction, all or nothing, with multi-row
    /// statements (loading a history, or the benchmarks' millions): the same rows as
    /// [`TicketStore::create_ticket`] - events, timers, outbox, rollups, idempotency keys -
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

    /// The ticket's log if the ticket lies within `scope` as far as the store judges
    /// it: a city's reader reads only its city's logs (on PostgreSQL under row-level
    /// security too); for other scopes it is [`TicketStore::events`], the ticket's
    /// scope being judged on the ticket read before. Empty when out of sight.
    async fn events_in(
        &self,
        number: &TicketNumber,
        scope: &Scope,
    ) -> Result<Vec<Event>, StoreError>;

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

    /// A page of a work list: the tickets `filter` selects (its `text` and `cursor`
    /// are not used: a work list pages with its own cursor, `after`) in `order`.
    async fn work_list(
        &self,
        filter: &TicketFilter,
        order: &WorkOrder,
        after: Option<&WorkCursor>,
    ) -> Result<WorkPage, StoreError>;

    /// How many tickets `filter` selects (its `text`, `cursor` and `limit` aside).
    async fn count(&self, filter: &TicketFilter) -> Result<u64, StoreError>;

    /// The words of the tickets `filter` selects (its cursor included), newest first,
    /// at most `filter.limit` of them: [`TicketStore::list`] without the tickets' states.
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

    /// After erasures: makes what they removed unrecoverable from the database's files
    /// as far as the database can (SQLite: the write-ahead log is checkpointed and
    /// emptied, freed pages were zeroed by `secure_delete`; PostgreSQL: the tables an
    /// erasure touches are vacuumed, so dead row versions go).
    async fn purge_erased(&self) -> Result<(), StoreError>;

    /// The tickets whose attachments include the file with this SHA-256.
    async fn tickets_with_attachment(&self, sha256: &str) -> Result<Vec<TicketNumber>, StoreError>;

    /// The ticket that an intake with this idempotency key created, if any.
    async fn ticket_by_idempotency_key(
        &self,
        key: &str,
    ) -> Result<Option<TicketNumber>, StoreError>;

    /// Gives the tickets stored before provinces (no `city`, migration 0022) the city
    /// they belong to, the deployment's home city, so that a city's queries find them;
    /// returns how many. Their state already reads as that city's (a ticket without
    /// a city is the home city's).
    async fn adopt_city(&self, city: &CityId) -> Result<u64, StoreError>;
}

#[async_trait]
impl TicketStore for SqlStore {
    async fn create_ticket(&self, new: NewTicket) -> Result<Created, StoreError> {
        let (done, outcome) = oneshot::channel();
        let closed = || StoreError::Corrupt("the intake writer has stopped".into());
        self.intake
            .send(QueuedIntake { new, done })
            .await
            .map_err(|_| closed())?;
        outcome.await.map_err(|_| closed())?
    }

    async fn create_tickets(&self, batch: &[NewTicket]) -> Result<Vec<Ticket>, StoreError> {
        let mut tx = self.writer.begin().await?;
        let batch: Vec<&NewTicket> = batch.iter().collect();
        let tickets = intake::insert_batch(&mut tx, &batch).await?;
        tx.commit().await?;
        Ok(tickets)
    }

    async fn adopt_city(&self, city: &CityId) -> Result<u64, StoreError> {
        let adopted = sqlx::query("UPDATE tickets SET city = $1 WHERE city IS NULL")
            .bind(city.as_str())
            .execute(&self.writer)
            .await?;
        Ok(adopted.rows_affected())
    }

    async fn ticket(&self, number: &TicketNumber) -> Result<Option<Ticket>, StoreError> {
        let state: Option<String> =
            sqlx::query_scalar("SELECT state FROM tickets WHERE number = $1")
                .bind(number.as_str())
                .fetch_optional(&self.reader)
                .await?;
        state.as_deref().map(ticket_from_state).transpose()
    }

    async fn ticket_in(
        &self,
        number: &TicketNumber,
        scope: &Scope,
    ) -> Result<Option<Ticket>, StoreError> {
        let mut query = Conditions::new("SELECT state FROM tickets WHERE 1 = 1");
        query.and("number = ?", vec![Bind::Text(number.as_str().to_owned())]);
        query::scope(&mut query, scope);
        let rows = self.read_rows(&query, scope).await?;
        rows.first()
            .map(|row| ticket_from_state(&row.try_get::<String, _>(0)?))
            .transpose()
    }

    async fn events(&self, number: &TicketNumber) -> Result<Vec<Event>, StoreError> {
        let rows = sqlx::query("SELECT body FROM events WHERE ticket = $1 ORDER BY seq")
            .bind(number.as_str())
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn events_in(
        &self,
        number: &TicketNumber,
        scope: &Scope,
    ) -> Result<Vec<Event>, StoreError> {
        if !matches!(scope, Scope::City(..)) {
            return self.events(number).await;
        }
        let mut query = Conditions::new("SELECT body FROM events WHERE ticket = ");
        query.push("?", vec![Bind::Text(number.as_str().to_owned())]);
        query.and(
            "ticket IN (SELECT number FROM tickets WHERE 1 = 1",
            Vec::new(),
        );
        query::scope(&mut query, scope);
        query.sql.push_str(") ORDER BY seq");
        let rows = self.read_rows(&query, scope).await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn append_many(&self, batch: &[Appended<'_>]) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        let mut rollup = Rollup::default();
        for appended in batch {
            let Some(added) = intake::append_in(&mut tx, appended).await? else {
                tx.rollback().await?;
                let number = &appended.ticket.number;
                let exists = self.ticket(number).await?.is_some();
                return Err(if exists {
                    StoreError::Conflict(number.clone())
                } else {
                    StoreError::NotFound(number.clone())
                });
            };
            rollup.add(&added);
        }
        // Last before the commit: the day's busiest rows (the whole city's, the
        // intake desk's) are locked from here to the commit, so concurrent writers
        // queue on them for one statement, not for the whole append (in the day
        // bench at 4.8 ms a statement this was 41% of PostgreSQL's time).
        crate::rollups::add(&mut tx, &rollup).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list(&self, filter: &TicketFilter) -> Result<Page, StoreError> {
        let Some(query) = query::list_query(filter) else {
            return Ok(Page {
                tickets: Vec::new(),
                next: None,
            });
        };
        let rows = self.read_rows(&query, &filter.scope).await?;
        let (tickets, next) = page_of_rows(&rows, query::list_limit(filter), |row| {
            Ok(Cursor {
                created_at: row.try_get(1)?,
                number: row.try_get(2)?,
            })
        })?;
        Ok(Page { tickets, next })
    }

    async fn work_list(
        &self,
        filter: &TicketFilter,
        order: &WorkOrder,
        after: Option<&WorkCursor>,
    ) -> Result<WorkPage, StoreError> {
        let limit = query::list_limit(filter);
        let Some(query) = query::work_query(filter, order, after, limit + 1) else {
            return Ok(WorkPage {
                tickets: Vec::new(),
                next: None,
            });
        };
        let rows = self.read_rows(&query, &filter.scope).await?;
        let (tickets, next) = page_of_rows(&rows, limit, |row| {
            Ok(WorkCursor {
                key: row.try_get(1)?,
                created_at: row.try_get(2)?,
                number: row.try_get(3)?,
            })
        })?;
        Ok(WorkPage { tickets, next })
    }

    async fn count(&self, filter: &TicketFilter) -> Result<u64, StoreError> {
        let Some(query) = query::count_query(filter) else {
            return Ok(0);
        };
        let rows = self.read_rows(&query, &filter.scope).await?;
        let count: i64 = match rows.first() {
            Some(row) => row.try_get(0)?,
            None => 0,
        };
        Ok(count as u64)
    }

    async fn texts(&self, filter: &TicketFilter) -> Result<Vec<TicketText>, StoreError> {
        let columns = "number, status, created_at, title, description";
        let Some(query) = query::filtered(columns, filter, query::list_limit(filter)) else {
            return Ok(Vec::new());
        };
        let rows = self.read_rows(&query, &filter.scope).await?;
        rows.iter()
            .map(|row| {
                let number: String = row.try_get(0)?;
                let status: String = row.try_get(1)?;
                Ok(TicketText {
                    number: TicketNumber::parse(&number)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    status: Status::from_code(&status).ok_or_else(|| {
                        StoreError::Corrupt(format!("ticket {number}: status {status:?}"))
                    })?,
                    created_at: from_millis(row.try_get(2)?)?,
                    title: row.try_get(3)?,
                    description: row.try_get(4)?,
                })
            })
            .collect()
    }

    async fn changed_since(
        &self,
        mark: &ChangeMark,
        limit: u32,
    ) -> Result<(Vec<Changed>, ChangeMark), StoreError> {
        if !mark.store.is_empty() && mark.store != self.identity {
            return Err(StoreError::ForeignMark(format!(
                "kept for store {}, this is store {}",
                mark.store, self.identity
            )));
        }
        match self.backend {
            Backend::Sqlite => self.changed_in_sequence(mark, limit).await,
            Backend::Postgres => self.changed_by_snapshot(mark, limit).await,
        }
    }

    async fn latest_mark(&self) -> Result<ChangeMark, StoreError> {
        self.latest_change().await
    }

    async fn count_by_status(&self, scope: &Scope) -> Result<Vec<(Status, u64)>, StoreError> {
        let rows = if *scope == Scope::All {
            // The whole city: the counters the triggers keep (migration 0009).
            sqlx::query(
                "SELECT status, CAST(SUM(n) AS BIGINT) FROM ticket_status_counts \
                 GROUP BY status HAVING SUM(n) > 0",
            )
            .fetch_all(&self.reader)
            .await?
        } else {
            let mut query = Conditions::new("SELECT status, COUNT(*) FROM tickets WHERE 1 = 1");
            query::scope(&mut query, scope);
            query.sql.push_str(" GROUP BY status");
            self.read_rows(&query, scope).await?
        };
        let mut counts = Vec::new();
        for row in rows {
            let code: String = row.try_get(0)?;
            let count: i64 = row.try_get(1)?;
            let status = Status::from_code(&code)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown status {code}")))?;
            counts.push((status, count as u64));
        }
        Ok(counts)
    }

    async fn erase_identity(
        &self,
        number: &TicketNumber,
        erase: &(dyn for<'e> Fn(&'e mut Event) + Sync),
    ) -> Result<bool, StoreError> {
        erase::erase_identity(self, number, erase).await
    }

    async fn purge_erased(&self) -> Result<(), StoreError> {
        erase::purge(self).await
    }

    async fn tickets_with_attachment(&self, sha256: &str) -> Result<Vec<TicketNumber>, StoreError> {
        // Hashes are hex, so the pattern holds no LIKE wildcard.
        let numbers: Vec<String> =
            sqlx::query_scalar("SELECT number FROM tickets WHERE state LIKE $1 ORDER BY number")
                .bind(format!("%\"sha256\":\"{sha256}\"%"))
                .fetch_all(&self.reader)
                .await?;
        numbers
            .iter()
            .map(|n| TicketNumber::parse(n).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect()
    }

    async fn ticket_by_idempotency_key(
        &self,
        key: &str,
    ) -> Result<Option<TicketNumber>, StoreError> {
        let number: Option<String> =
            sqlx::query_scalar("SELECT ticket FROM idempotency_keys WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.reader)
                .await?;
        number
            .map(|n| TicketNumber::parse(&n).map_err(|e| StoreError::Corrupt(e.to_string())))
            .transpose()
    }
}

impl SqlStore {
    /// The rows of `query` read as a reader with `scope` reads (`wall.rs`: a city's
    /// reader under row-level security on PostgreSQL).
    async fn read_rows(
        &self,
        query: &Conditions,
        scope: &Scope,
    ) -> Result<Vec<AnyRow>, StoreError> {
        let mut reading = self.reading(scope).await?;
        let rows = query.query().fetch_all(reading.conn()).await?;
        reading.done().await?;
        Ok(rows)
    }
}

/// The tickets of a page's `rows` (the state first, one row more than `limit` when
/// another page follows) and, when one follows, where it starts: `cursor` of the last
/// row kept.
fn page_of_rows<C>(
    rows: &[AnyRow],
    limit: u32,
    cursor: impl Fn(&AnyRow) -> Result<C, StoreError>,
) -> Result<(Vec<Ticket>, Option<C>), StoreError> {
    let kept = &rows[..rows.len().min(limit as usize)];
    let tickets = kept
        .iter()
        .map(|row| ticket_from_state(&row.try_get::<String, _>(0)?))
        .collect::<Result<Vec<_>, _>>()?;
    let next = match kept.last() {
        Some(last) if rows.len() > kept.len() => Some(cursor(last)?),
        _ => None,
    };
    Ok((tickets, next))
}

pub(crate) fn ticket_from_state(state: &str) -> Result<Ticket, StoreError> {
    serde_json::from_str(state).map_err(|e| StoreError::Corrupt(format!("ticket state: {e}")))
}

pub(crate) fn event_from_row(row: &AnyRow) -> Result<Event, StoreError> {
    let body: String = row.try_get("body")?;
    serde_json::from_str(&body).map_err(|e| StoreError::Corrupt(format!("event: {e}")))
}
