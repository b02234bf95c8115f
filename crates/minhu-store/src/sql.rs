//! The [`Store`] on SQL databases, through sqlx's `Any` driver so that one set of
//! queries (with `$n` placeholders) serves SQLite and PostgreSQL alike; only the
//! migrations and connection tuning differ per backend.

use crate::outbox::Told;
use crate::{
    Alert, ApiToken, Appended, Article, ArticleStatus, AuditEntry, AuditFilter, Backend,
    ChangeMark, Changed, Created, Cursor, Delivery, DueTimer, FollowCode, HourlyQuery, Idempotency,
    LoginNotice, LoginPolicy, LoginTry, NewAlert, NewTicket, NotificationRow, Open311Key, Page,
    RollupQuery, RollupRow, Session, Store, StoreError, TicketFilter, TicketText, TimerRow, User,
};
use async_trait::async_trait;
use jiff::Timestamp;
use minhu_core::access::Scope;
use minhu_core::event::{Change, Event};
use minhu_core::ids::TicketNumber;
use minhu_core::rollup::{HourlyKey, Rollup};
use minhu_core::ticket::{Status, Ticket};
use minhu_core::timer::{Alerts, Timer};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyConnection, AnyPool, Connection, Executor, Row};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

pub struct SqlStore {
    backend: Backend,
    /// SQLite allows one writer at a time: writes share one connection, so they queue
    /// in the pool instead of failing with "database is locked". On PostgreSQL both
    /// are the same pool.
    writer: AnyPool,
    reader: AnyPool,
    /// SQLite only: new tickets queue here for the group-commit writer.
    intake: Option<mpsc::Sender<QueuedIntake>>,
    /// This store's random name (migration 0004), put in every change mark it gives.
    identity: String,
}

/// A new ticket waiting for the group-commit writer, and where to send the outcome.
struct QueuedIntake {
    new: NewTicket,
    done: oneshot::Sender<Result<Created, StoreError>>,
}

/// How many new tickets one SQLite transaction may carry at most.
const MAX_BATCH: usize = 256;

/// The tables an erasure rewrites or deletes from ([`Store::erase_identity`]), which
/// PostgreSQL vacuums afterwards ([`Store::purge_erased`]).
const ERASED_TABLES: &[&str] = &[
    "events",
    "tickets",
    "notifications",
    "follow_codes",
    "follow_code_sends",
    "sessions",
    "idempotency_keys",
];

pub(crate) fn millis(at: Timestamp) -> i64 {
    at.as_millisecond()
}

pub(crate) fn from_millis(ms: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(ms).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Runs a claim: `sql` (an UPDATE ... RETURNING whose `{lock}` is filled with the
/// backend's row lock) with $1 the worker, $2 the end of its lease, $3 now and $4 the
/// most rows to take. PostgreSQL: concurrent workers skip rows another is claiming
/// instead of waiting; SQLite has one writer, so the claim cannot race.
pub(crate) async fn claim_rows(
    conn: &mut AnyConnection,
    backend: Backend,
    sql: &str,
    (worker, now, lease, limit): (&str, Timestamp, jiff::SignedDuration, u32),
) -> Result<Vec<AnyRow>, StoreError> {
    let lock = match backend {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let until = now.checked_add(lease).unwrap_or(Timestamp::MAX);
    Ok(
        sqlx::query(sqlx::AssertSqlSafe(sql.replace("{lock}", lock)))
            .bind(worker)
            .bind(millis(until))
            .bind(millis(now))
            .bind(i64::from(limit))
            .fetch_all(&mut *conn)
            .await?,
    )
}

/// A value to bind to a `$n` placeholder in a query built at run time.
pub(crate) enum Bind {
    Text(String),
    Int(i64),
}

/// A query assembled from fixed clauses; every value is bound, never concatenated.
pub(crate) struct Conditions {
    pub(crate) sql: String,
    binds: Vec<Bind>,
}

impl Conditions {
    /// `base` must end in a WHERE clause that later conditions can follow with AND.
    pub(crate) fn new(base: &str) -> Self {
        Self {
            sql: base.to_owned(),
            binds: Vec::new(),
        }
    }

    /// Adds `AND clause`, each `?` in it becoming the next numbered placeholder.
    pub(crate) fn and(&mut self, clause: &str, values: Vec<Bind>) {
        let mut parts = clause.split('?');
        self.sql.push_str(" AND ");
        self.sql.push_str(parts.next().unwrap_or_default());
        for (part, value) in parts.zip(values) {
            self.binds.push(value);
            self.sql.push_str(&format!("${}", self.binds.len()));
            self.sql.push_str(part);
        }
    }

    /// Narrows to the tickets a reader with `scope` may see (the `tickets` columns): a
    /// unit sees what it holds and the joint cases it was summoned to (联办).
    fn scope(&mut self, scope: &Scope) {
        let (units, ids): (bool, Vec<&str>) = match scope {
            Scope::All => return,
            Scope::Units(units) => (true, units.iter().map(|u| u.as_str()).collect()),
            Scope::Regions(regions) => (false, regions.iter().map(|r| r.as_str()).collect()),
        };
        if ids.is_empty() {
            self.and("1 = 0", Vec::new());
            return;
        }
        let marks = vec!["?"; ids.len()].join(", ");
        let binds = || ids.iter().map(|id| Bind::Text((*id).to_owned()));
        if units {
            self.and(
                &format!(
                    "(unit IN ({marks}) OR number IN \
                     (SELECT ticket FROM ticket_parts WHERE unit IN ({marks})))"
                ),
                binds().chain(binds()).collect(),
            );
        } else {
            self.and(&format!("region IN ({marks})"), binds().collect());
        }
    }

    pub(crate) fn query(&self) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments> {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(self.sql.clone()));
        for value in &self.binds {
            query = match value {
                Bind::Text(text) => query.bind(text.clone()),
                Bind::Int(int) => query.bind(*int),
            };
        }
        query
    }
}

impl SqlStore {
    /// Connects to `sqlite://PATH` or `postgres://...` and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<SqlStore, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(StoreError::Database(sqlx::Error::Configuration(
                format!("{url:?} is not a database URL: use sqlite://PATH or postgres://...")
                    .into(),
            )));
        };
        let store = match backend {
            Backend::Sqlite => {
                let url = if url.contains('?') {
                    url.to_owned()
                } else {
                    format!("{url}?mode=rwc")
                };
                let options = || {
                    AnyPoolOptions::new()
                        .acquire_timeout(Duration::from_secs(30))
                        .after_connect(|conn, _| {
                            Box::pin(async move {
                                // WAL: readers never wait for the writer. synchronous=NORMAL in
                                // WAL mode loses nothing when the process dies (only on power
                                // loss); see README for FULL.
                                conn.execute(
                                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                                     PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
                                     PRAGMA secure_delete = ON;",
                                )
                                .await?;
                                Ok(())
                            })
                        })
                };
                let writer = options().max_connections(1).connect(&url).await?;
                SQLITE_MIGRATIONS.run(&writer).await?;
                let reader = options().max_connections(4).connect(&url).await?;
                let (queue, waiting) = mpsc::channel(4 * MAX_BATCH);
                tokio::spawn(group_commit(writer.clone(), waiting));
                SqlStore {
                    backend,
                    identity: identity(&reader).await?,
                    writer,
                    reader,
                    intake: Some(queue),
                }
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect(url)
                    .await?;
                POSTGRES_MIGRATIONS.run(&pool).await?;
                SqlStore {
                    backend,
                    identity: identity(&pool).await?,
                    writer: pool.clone(),
                    reader: pool,
                    intake: None,
                }
            }
        };
        Ok(store)
    }

    /// Refreshes the planner's statistics (after a bulk load, so that the first
    /// queries plan as they will on a database that grew over months).
    pub async fn analyze(&self) -> Result<(), StoreError> {
        sqlx::query("ANALYZE").execute(&self.writer).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }

    /// SQLite: one writer stamps max + 1, so sequence order is commit order and a
    /// follower only has to read on from its mark.
    async fn changed_in_sequence(
        &self,
        mark: &ChangeMark,
        limit: u32,
    ) -> Result<(Vec<Changed>, ChangeMark), StoreError> {
        let mut conn = self.reader.acquire().await?;
        let last: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(change_seq), 0) FROM tickets")
            .fetch_one(&mut *conn)
            .await?;
        if mark.seq > last {
            return Err(StoreError::ForeignMark(format!(
                "the mark is at change {} but the store's last change is {last}",
                mark.seq
            )));
        }
        let rows = changed_after(&mut conn, mark, limit).await?;
        let next = match rows.last() {
            Some((_, seq, number)) => self.mark_at(*seq, number.clone(), Vec::new()),
            None => self.mark_at(mark.seq, mark.number.clone(), Vec::new()),
        };
        Ok((rows.into_iter().map(|(c, _, _)| c).collect(), next))
    }

    /// PostgreSQL: rows carry their writer's transaction id, and transactions commit
    /// out of id order. One REPEATABLE READ snapshot answers everything: a row version
    /// it shows was written by a transaction committed in it. Rows of transactions the
    /// mark saw running are read again by id; the new mark remembers the transactions
    /// this snapshot sees running below it.
    async fn changed_by_snapshot(
        &self,
        mark: &ChangeMark,
        limit: u32,
    ) -> Result<(Vec<Changed>, ChangeMark), StoreError> {
        let mut tx = self.reader.begin().await?;
        let (xmax, running) = snapshot(&mut tx).await?;
        if mark.seq > xmax {
            return Err(StoreError::ForeignMark(format!(
                "the mark is at transaction {} but this database is at {xmax}",
                mark.seq
            )));
        }
        let mut changed = Vec::new();
        let committed: Vec<i64> = mark
            .pending
            .iter()
            .copied()
            .filter(|id| !running.contains(id))
            .collect();
        if !committed.is_empty() {
            // Plain integers parsed above: safe to spell out in the statement.
            let list: Vec<String> = committed.iter().map(i64::to_string).collect();
            let sql = format!(
                "SELECT state, region_path, change_seq, number FROM tickets \
                 WHERE change_seq IN ({}) ORDER BY change_seq, number",
                list.join(", ")
            );
            for row in sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(&mut *tx)
                .await?
            {
                changed.push(changed_from_row(&row)?.0);
            }
        }
        let rows = changed_after(&mut tx, mark, limit).await?;
        tx.commit().await?;
        let next = match rows.last() {
            // A full page: on from its last row; what ran below it is still pending.
            Some((_, seq, number)) if rows.len() == limit as usize => self.mark_at(
                *seq,
                number.clone(),
                running.iter().copied().filter(|id| id < seq).collect(),
            ),
            // Caught up: everything below xmax but the running has been read.
            _ => self.mark_at(xmax, String::new(), running),
        };
        changed.extend(rows.into_iter().map(|(c, _, _)| c));
        Ok((changed, next))
    }

    fn mark_at(&self, seq: i64, number: String, pending: Vec<i64>) -> ChangeMark {
        ChangeMark {
            store: self.identity.clone(),
            seq,
            number,
            pending,
        }
    }

    /// PostgreSQL intake: one transaction per ticket, many at once. The number is taken
    /// in its own short statement first, so concurrent intakes do not queue behind the
    /// counter row; a failed intake leaves a gap in the day's numbers, never a repeat.
    async fn create_concurrently(&self, new: NewTicket) -> Result<Created, StoreError> {
        let mut conn = self.writer.acquire().await?;
        if let Some(existing) = find_by_key(&mut conn, new.idempotency.as_ref()).await? {
            return Ok(existing);
        }
        let number = next_number(&mut conn, new.day).await?;
        let mut tx = conn.begin().await?;
        match insert_new(&mut tx, &new, number).await? {
            Some(ticket) => {
                tx.commit().await?;
                Ok(Created {
                    ticket,
                    fresh: true,
                })
            }
            None => {
                // A concurrent retry won the race for the key: keep its ticket, drop ours.
                tx.rollback().await?;
                find_by_key(&mut conn, new.idempotency.as_ref())
                    .await?
                    .ok_or_else(|| StoreError::Corrupt("idempotency key without its ticket".into()))
            }
        }
    }
}

/// SQLite intake: the single writer takes every new ticket waiting in the queue and
/// commits them in one transaction (group commit), so the cost of a commit is shared.
/// If the transaction fails, every ticket in it gets the error and nothing is kept.
async fn group_commit(writer: AnyPool, mut waiting: mpsc::Receiver<QueuedIntake>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while waiting.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let mut outcomes = Vec::with_capacity(batch.len());
        let committed: Result<(), StoreError> = async {
            let mut tx = writer.begin().await?;
            for queued in &batch {
                // A reused key is that request's own mistake, found before it wrote
                // anything; any other error spoils the transaction for all.
                match create_in(&mut tx, &queued.new).await {
                    Err(StoreError::IdempotencyMismatch) => {
                        outcomes.push(Err(StoreError::IdempotencyMismatch))
                    }
                    created => outcomes.push(Ok(created?)),
                }
            }
            tx.commit().await?;
            Ok(())
        }
        .await;
        match committed {
            Ok(()) => {
                for (queued, outcome) in batch.drain(..).zip(outcomes) {
                    let _ = queued.done.send(outcome);
                }
            }
            Err(error) => {
                tracing::error!(%error, tickets = batch.len(), "an intake batch failed");
                let message = error.to_string();
                for queued in batch.drain(..) {
                    let _ = queued.done.send(Err(StoreError::Corrupt(format!(
                        "intake batch failed: {message}"
                    ))));
                }
            }
        }
    }
}

/// One new ticket inside the writer's transaction (SQLite: nothing else writes
/// meanwhile, so checking the key first cannot race).
async fn create_in(conn: &mut AnyConnection, new: &NewTicket) -> Result<Created, StoreError> {
    if let Some(existing) = find_by_key(conn, new.idempotency.as_ref()).await? {
        return Ok(existing);
    }
    let number = next_number(conn, new.day).await?;
    let ticket = insert_new(conn, new, number)
        .await?
        .ok_or_else(|| StoreError::Corrupt("idempotency key taken inside the writer".into()))?;
    Ok(Created {
        ticket,
        fresh: true,
    })
}

/// The ticket an earlier request with this key created, if any.
async fn find_by_key(
    conn: &mut AnyConnection,
    key: Option<&Idempotency>,
) -> Result<Option<Created>, StoreError> {
    let Some(key) = key else { return Ok(None) };
    let row = sqlx::query(
        "SELECT k.fingerprint, t.state FROM idempotency_keys k \
         JOIN tickets t ON t.number = k.ticket WHERE k.key = $1",
    )
    .bind(&key.key)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let fingerprint: String = row.try_get(0)?;
    if fingerprint != key.fingerprint {
        return Err(StoreError::IdempotencyMismatch);
    }
    let ticket = ticket_from_state(&row.try_get::<String, _>(1)?)?;
    Ok(Some(Created {
        ticket,
        fresh: false,
    }))
}

/// The next number of `day`.
async fn next_number(
    conn: &mut AnyConnection,
    day: jiff::civil::Date,
) -> Result<TicketNumber, StoreError> {
    let last: i64 = sqlx::query_scalar(
        "INSERT INTO ticket_counters (day, last) VALUES ($1, 1) \
         ON CONFLICT (day) DO UPDATE SET last = ticket_counters.last + 1 RETURNING last",
    )
    .bind(day.to_string())
    .fetch_one(&mut *conn)
    .await?;
    Ok(TicketNumber::compose(day, last as u64))
}

/// Writes a new ticket's row, events and idempotency key. `None` when the key was
/// claimed concurrently (the caller must roll back).
async fn insert_new(
    conn: &mut AnyConnection,
    new: &NewTicket,
    number: TicketNumber,
) -> Result<Option<Ticket>, StoreError> {
    let ticket = Ticket::replay(&number, &new.events)
        .map_err(|e| StoreError::Corrupt(format!("new ticket's events: {e}")))?;
    insert_ticket_rows(conn, &[(&ticket, new)]).await?;
    insert_events(conn, &number, &new.events).await?;
    sync_parts(conn, &ticket, &new.events).await?;
    crate::outbox::insert(
        conn,
        Told::Ticket(number.as_str()),
        ticket.updated_at,
        &new.notifications,
    )
    .await?;
    crate::timers::sync(conn, &ticket, &new.timers, None).await?;
    crate::rollups::add(conn, &Rollup::of(&number, &new.events)).await?;
    if let Some(key) = &new.idempotency {
        let claimed = sqlx::query(
            "INSERT INTO idempotency_keys (key, fingerprint, ticket, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO NOTHING",
        )
        .bind(&key.key)
        .bind(&key.fingerprint)
        .bind(number.as_str())
        .bind(millis(ticket.created_at))
        .execute(&mut *conn)
        .await?;
        if claimed.rows_affected() == 0 {
            return Ok(None);
        }
    }
    if let Some(entry) = &new.audit {
        insert_audit(
            conn,
            &AuditEntry {
                target: Some(number.to_string()),
                ..entry.clone()
            },
        )
        .await?;
    }
    Ok(Some(ticket))
}

/// Appends one entry to the audit log; returns its sequence number.
async fn insert_audit(conn: &mut AnyConnection, entry: &AuditEntry) -> Result<i64, StoreError> {
    let seq: i64 = sqlx::query_scalar(
        "INSERT INTO audit_log (at, actor, action, target, detail, client) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING seq",
    )
    .bind(millis(entry.at))
    .bind(&entry.actor)
    .bind(&entry.action)
    .bind(entry.target.clone())
    .bind(&entry.detail)
    .bind(entry.client.clone())
    .fetch_one(&mut *conn)
    .await?;
    Ok(seq)
}

/// Rows per multi-row insert of new tickets. Far below SQLite's bound-parameter limit
/// (32,766): sqlx's cost per statement grows faster than its parameters, and a
/// 20,000-ticket load (debug build) ran twice as fast with 100 rows per statement as
/// with 1,000.
const TICKET_ROWS: usize = 100;
/// Rows per multi-row insert of events or timers (6 and 3 values each).
const EVENT_ROWS: usize = 500;

/// The `tickets` rows of new tickets, [`TICKET_ROWS`] per statement.
async fn insert_ticket_rows(
    conn: &mut AnyConnection,
    rows: &[(&Ticket, &NewTicket)],
) -> Result<(), StoreError> {
    for chunk in rows.chunks(TICKET_ROWS) {
        let sql = format!(
            "INSERT INTO tickets (number, channel, kind, title, description, citizen_phone, \
             external_ref, created_at, version, status, category, region, region_path, unit, \
             updated_at, resolve_by, state) VALUES {}",
            placeholders(conn, chunk.len(), 17)
        );
        let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (ticket, new) in chunk {
            insert = insert
                .bind(ticket.number.as_str())
                .bind(ticket.intake.channel.code())
                .bind(ticket.intake.kind.code())
                .bind(&ticket.intake.title)
                .bind(&ticket.intake.description)
                .bind(ticket.intake.citizen.phone.clone())
                .bind(ticket.intake.external_ref.clone())
                .bind(millis(ticket.created_at));
            insert = bind_projection(insert, ticket, new.region_path.clone());
        }
        insert.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Many new tickets inside the caller's transaction, a statement per table and chunk
/// rather than per ticket ([`Store::create_tickets`]).
async fn insert_batch(
    conn: &mut AnyConnection,
    batch: &[NewTicket],
) -> Result<Vec<Ticket>, StoreError> {
    // A block of numbers per day, handed out in batch order.
    let mut per_day: std::collections::BTreeMap<jiff::civil::Date, u64> = Default::default();
    for new in batch {
        *per_day.entry(new.day).or_default() += 1;
    }
    let mut next = std::collections::HashMap::new();
    for (day, count) in per_day {
        let last: i64 = sqlx::query_scalar(
            "INSERT INTO ticket_counters (day, last) VALUES ($1, $2) ON CONFLICT (day) \
             DO UPDATE SET last = ticket_counters.last + excluded.last RETURNING last",
        )
        .bind(day.to_string())
        .bind(count as i64)
        .fetch_one(&mut *conn)
        .await?;
        next.insert(day, last as u64 + 1 - count);
    }
    let mut tickets = Vec::with_capacity(batch.len());
    let mut rollup = Rollup::default();
    for new in batch {
        let n = next.get_mut(&new.day).expect("every day was counted");
        let number = TicketNumber::compose(new.day, *n);
        *n += 1;
        let ticket = Ticket::replay(&number, &new.events)
            .map_err(|e| StoreError::Corrupt(format!("new ticket's events: {e}")))?;
        rollup.add(&Rollup::of(&number, &new.events));
        tickets.push(ticket);
    }
    let rows: Vec<(&Ticket, &NewTicket)> = tickets.iter().zip(batch).collect();
    insert_ticket_rows(conn, &rows).await?;
    let events: Vec<(&str, &Event)> = rows
        .iter()
        .flat_map(|(t, new)| new.events.iter().map(|e| (t.number.as_str(), e)))
        .collect();
    insert_event_rows(conn, &events).await?;
    let timers: Vec<(&str, &Timer)> = rows
        .iter()
        .flat_map(|(t, new)| new.timers.iter().map(|timer| (t.number.as_str(), timer)))
        .collect();
    for chunk in timers.chunks(EVENT_ROWS) {
        let sql = format!(
            "INSERT INTO timers (ticket, kind, due_at) VALUES {}",
            placeholders(conn, chunk.len(), 3)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (number, timer) in chunk {
            query = query
                .bind(*number)
                .bind(timer.kind.code())
                .bind(millis(timer.due_at));
        }
        query.execute(&mut *conn).await?;
    }
    for (ticket, new) in &rows {
        // Rare at intake, so one statement each where they occur.
        sync_parts(conn, ticket, &new.events).await?;
        if let Some(entry) = &new.audit {
            let target = Some(ticket.number.to_string());
            insert_audit(
                conn,
                &AuditEntry {
                    target,
                    ..entry.clone()
                },
            )
            .await?;
        }
        crate::outbox::insert(
            conn,
            Told::Ticket(ticket.number.as_str()),
            ticket.updated_at,
            &new.notifications,
        )
        .await?;
        if let Some(flag) = ticket.alerts.flag() {
            sqlx::query("UPDATE tickets SET alert = $1 WHERE number = $2")
                .bind(flag.code())
                .bind(ticket.number.as_str())
                .execute(&mut *conn)
                .await?;
        }
        if let Some(key) = &new.idempotency {
            sqlx::query(
                "INSERT INTO idempotency_keys (key, fingerprint, ticket, created_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(&key.key)
            .bind(&key.fingerprint)
            .bind(ticket.number.as_str())
            .bind(millis(ticket.created_at))
            .execute(&mut *conn)
            .await?;
        }
    }
    crate::rollups::add(conn, &rollup).await?;
    Ok(tickets)
}

/// Binds, in this order, the columns that change as a ticket moves: version, status,
/// category, region, region_path, unit, updated_at, resolve_by and the state itself.
fn bind_projection<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    ticket: &Ticket,
    region_path: Option<String>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    query
        .bind(i64::from(ticket.version))
        .bind(ticket.status.code())
        .bind(
            ticket
                .intake
                .category
                .as_ref()
                .map(|c| c.as_str().to_owned()),
        )
        .bind(ticket.intake.region.as_ref().map(|r| r.as_str().to_owned()))
        .bind(region_path)
        .bind(ticket.unit.as_ref().map(|u| u.as_str().to_owned()))
        .bind(millis(ticket.updated_at))
        .bind(ticket.deadlines.map(|d| millis(d.resolve_by)))
        .bind(json(ticket))
}

/// Up to `limit` rows after (`mark.seq`, `mark.number`) in change order, each with its
/// sequence and number.
async fn changed_after(
    conn: &mut AnyConnection,
    mark: &ChangeMark,
    limit: u32,
) -> Result<Vec<(Changed, i64, String)>, StoreError> {
    let rows = sqlx::query(
        "SELECT state, region_path, change_seq, number FROM tickets \
         WHERE change_seq > $1 OR (change_seq = $1 AND number > $2) \
         ORDER BY change_seq, number LIMIT $3",
    )
    .bind(mark.seq)
    .bind(&mark.number)
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(changed_from_row).collect()
}

fn changed_from_row(row: &AnyRow) -> Result<(Changed, i64, String), StoreError> {
    Ok((
        Changed {
            ticket: ticket_from_state(&row.try_get::<String, _>(0)?)?,
            region_path: row.try_get(1)?,
        },
        row.try_get(2)?,
        row.try_get(3)?,
    ))
}

/// PostgreSQL: starts a read-only REPEATABLE READ snapshot in `tx` and returns its
/// xmax (the first transaction id it does not see) and the ids it sees running.
async fn snapshot(tx: &mut AnyConnection) -> Result<(i64, Vec<i64>), StoreError> {
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let snapshot = sqlx::query(
        "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint, \
         (SELECT COALESCE(string_agg(x::text, ','), '') \
          FROM pg_snapshot_xip(pg_current_snapshot()) AS x)",
    )
    .fetch_one(&mut *tx)
    .await?;
    Ok((
        snapshot.try_get(0)?,
        ids(&snapshot.try_get::<String, _>(1)?)?,
    ))
}

/// `12,15` -> [12, 15]: the running transaction ids PostgreSQL listed.
fn ids(list: &str) -> Result<Vec<i64>, StoreError> {
    list.split(',')
        .filter(|id| !id.is_empty())
        .map(|id| {
            id.parse()
                .map_err(|_| StoreError::Corrupt(format!("a transaction id {id:?}")))
        })
        .collect()
}

async fn identity(pool: &AnyPool) -> Result<String, StoreError> {
    Ok(sqlx::query_scalar("SELECT id FROM store_identity")
        .fetch_one(pool)
        .await?)
}

fn ticket_from_state(state: &str) -> Result<Ticket, StoreError> {
    serde_json::from_str(state).map_err(|e| StoreError::Corrupt(format!("ticket state: {e}")))
}

/// Adds one ticket's whole log to `page` and empties the log.
fn count_log(
    page: &mut Rollup,
    ticket: Option<String>,
    log: &mut Vec<Event>,
    counted: &mut u64,
) -> Result<(), StoreError> {
    let Some(ticket) = ticket else { return Ok(()) };
    let number = TicketNumber::parse(&ticket)
        .map_err(|e| StoreError::Corrupt(format!("event ticket: {e}")))?;
    page.add(&Rollup::of(&number, log));
    log.clear();
    *counted += 1;
    Ok(())
}

fn event_from_row(row: &AnyRow) -> Result<Event, StoreError> {
    let body: String = row.try_get("body")?;
    serde_json::from_str(&body).map_err(|e| StoreError::Corrupt(format!("event: {e}")))
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("domain types always serialise")
}

/// `($1, $2, ...), ($k, ...)`: `rows` groups of `width` placeholders, for multi-row
/// inserts. On SQLite they are anonymous (`(?, ?, ...)`, bound in order): SQLite keeps
/// numbered parameters in a list that `sqlite3_bind_parameter_name` - which sqlx calls
/// for every value it binds - scans from the start, so a statement of n numbered
/// parameters took n²/2 steps to bind (86% of a rollup load's time at 6,000 per
/// statement).
pub(crate) fn placeholders(conn: &AnyConnection, rows: usize, width: usize) -> String {
    let numbered = conn.backend_name() != <sqlx::Sqlite as sqlx::Database>::NAME;
    (0..rows)
        .map(|row| {
            let marks: Vec<String> = (1..=width)
                .map(|i| {
                    if numbered {
                        format!("${}", row * width + i)
                    } else {
                        "?".to_owned()
                    }
                })
                .collect();
            format!("({})", marks.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// All of a change's events in one statement.
async fn insert_events(
    conn: &mut AnyConnection,
    number: &TicketNumber,
    events: &[Event],
) -> Result<(), StoreError> {
    let rows: Vec<(&str, &Event)> = events.iter().map(|e| (number.as_str(), e)).collect();
    insert_event_rows(conn, &rows).await
}

/// Events of any tickets, [`EVENT_ROWS`] per statement.
async fn insert_event_rows(
    conn: &mut AnyConnection,
    events: &[(&str, &Event)],
) -> Result<(), StoreError> {
    for chunk in events.chunks(EVENT_ROWS) {
        let sql = format!(
            "INSERT INTO events (ticket, seq, at, actor, type, body) VALUES {}",
            placeholders(conn, chunk.len(), 6)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (number, event) in chunk {
            query = query
                .bind(*number)
                .bind(i64::from(event.seq))
                .bind(millis(event.at))
                .bind(event.actor.as_str())
                .bind(event.change.name())
                .bind(json(event));
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// One ticket's share of an append, inside the caller's transaction. False when the
/// ticket is not at the version the events follow (changed concurrently, or missing).
async fn append_in(conn: &mut AnyConnection, appended: &Appended<'_>) -> Result<bool, StoreError> {
    let ticket = appended.ticket;
    let previous = ticket.version - appended.events.len() as u32;
    let update = sqlx::query(
        "UPDATE tickets SET version = $1, status = $2, category = $3, region = $4, \
         region_path = $5, unit = $6, updated_at = $7, resolve_by = $8, state = $9 \
         WHERE number = $10 AND version = $11",
    );
    let updated = bind_projection(update, ticket, appended.region_path.map(str::to_owned))
        .bind(ticket.number.as_str())
        .bind(i64::from(previous))
        .execute(&mut *conn)
        .await?;
    if updated.rows_affected() == 0 {
        return Ok(false);
    }
    crate::rollups::append(conn, &ticket.number, appended.events).await?;
    insert_events(conn, &ticket.number, appended.events).await?;
    sync_parts(conn, ticket, appended.events).await?;
    crate::outbox::insert(
        conn,
        Told::Ticket(ticket.number.as_str()),
        ticket.updated_at,
        appended.notifications,
    )
    .await?;
    let fired = appended.fired.map(|timer| (timer, ticket.updated_at));
    crate::timers::sync(conn, ticket, appended.timers, fired).await?;
    Ok(true)
}

/// Keeps `ticket_parts` equal to the ticket's summoned units, which the scope of a
/// unit's lists and reads includes. Only summons change them (a part stays on record
/// once reported), so other events cost nothing here.
async fn sync_parts(
    conn: &mut AnyConnection,
    ticket: &Ticket,
    events: &[Event],
) -> Result<(), StoreError> {
    if !events
        .iter()
        .any(|e| matches!(e.change, Change::Summoned { .. }))
    {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO ticket_parts (ticket, unit) VALUES {} ON CONFLICT (ticket, unit) DO NOTHING",
        placeholders(conn, ticket.parts.len(), 2)
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for part in &ticket.parts {
        query = query.bind(ticket.number.as_str()).bind(part.unit.as_str());
    }
    query.execute(&mut *conn).await?;
    Ok(())
}

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> Backend {
        self.backend
    }

    async fn create_ticket(&self, new: NewTicket) -> Result<Created, StoreError> {
        let Some(queue) = &self.intake else {
            return self.create_concurrently(new).await;
        };
        let (done, outcome) = oneshot::channel();
        let closed = || StoreError::Corrupt("the intake writer has stopped".into());
        queue
            .send(QueuedIntake { new, done })
            .await
            .map_err(|_| closed())?;
        outcome.await.map_err(|_| closed())?
    }

    async fn create_tickets(&self, batch: &[NewTicket]) -> Result<Vec<Ticket>, StoreError> {
        let mut tx = self.writer.begin().await?;
        let tickets = insert_batch(&mut tx, batch).await?;
        tx.commit().await?;
        Ok(tickets)
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
        query.scope(scope);
        let row = query.query().fetch_optional(&self.reader).await?;
        row.map(|row| ticket_from_state(&row.try_get::<String, _>(0)?))
            .transpose()
    }

    async fn events(&self, number: &TicketNumber) -> Result<Vec<Event>, StoreError> {
        let rows = sqlx::query("SELECT body FROM events WHERE ticket = $1 ORDER BY seq")
            .bind(number.as_str())
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn append_many(&self, batch: &[Appended<'_>]) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        for appended in batch {
            if !append_in(&mut tx, appended).await? {
                tx.rollback().await?;
                let number = &appended.ticket.number;
                let exists = self.ticket(number).await?.is_some();
                return Err(if exists {
                    StoreError::Conflict(number.clone())
                } else {
                    StoreError::NotFound(number.clone())
                });
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn list(&self, filter: &TicketFilter) -> Result<Page, StoreError> {
        let Some(query) = list_query(filter) else {
            return Ok(Page {
                tickets: Vec::new(),
                next: None,
            });
        };
        let limit = list_limit(filter);
        let rows = query.query().fetch_all(&self.reader).await?;
        let more = rows.len() > limit as usize;
        let mut tickets = Vec::with_capacity(rows.len().min(limit as usize));
        let mut next = None;
        for row in rows.iter().take(limit as usize) {
            tickets.push(ticket_from_state(&row.try_get::<String, _>(0)?)?);
            if more {
                next = Some(Cursor {
                    created_at: row.try_get(1)?,
                    number: row.try_get(2)?,
                });
            }
        }
        Ok(Page { tickets, next })
    }

    async fn texts(&self, filter: &TicketFilter) -> Result<Vec<TicketText>, StoreError> {
        let columns = "number, status, created_at, title, description";
        let Some(query) = filtered(columns, filter, list_limit(filter)) else {
            return Ok(Vec::new());
        };
        let rows = query.query().fetch_all(&self.reader).await?;
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
        match self.backend {
            // The newest (sequence, number): everything at or before it is written.
            Backend::Sqlite => {
                let row = sqlx::query(
                    "SELECT change_seq, number FROM tickets \
                     ORDER BY change_seq DESC, number DESC LIMIT 1",
                )
                .fetch_optional(&self.reader)
                .await?;
                Ok(match row {
                    Some(row) => self.mark_at(row.try_get(0)?, row.try_get(1)?, Vec::new()),
                    None => self.mark_at(0, String::new(), Vec::new()),
                })
            }
            // What a caught-up follower's mark says: every transaction below the
            // snapshot's xmax has committed, but those it sees running.
            Backend::Postgres => {
                let mut tx = self.reader.begin().await?;
                let (xmax, running) = snapshot(&mut tx).await?;
                tx.commit().await?;
                Ok(self.mark_at(xmax, String::new(), running))
            }
        }
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
            query.scope(scope);
            query.sql.push_str(" GROUP BY status");
            query.query().fetch_all(&self.reader).await?
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

    async fn put_user(&self, user: &User) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO users (login, display_name, role, unit, password_hash, disabled, \
             created_at, region, failed_logins, locked_until) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (login) DO UPDATE SET display_name = excluded.display_name, \
             role = excluded.role, unit = excluded.unit, password_hash = excluded.password_hash, \
             region = excluded.region",
        )
        .bind(&user.login)
        .bind(&user.display_name)
        .bind(&user.role)
        .bind(user.unit.clone())
        .bind(&user.password_hash)
        .bind(i64::from(user.disabled))
        .bind(millis(user.created_at))
        .bind(user.region.clone())
        .bind(i64::from(user.failed_logins))
        .bind(user.locked_until.map(millis))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn user(&self, login: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{USER_COLUMNS} WHERE users.login = $1"
        )))
        .bind(login)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn users(&self) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{USER_COLUMNS} ORDER BY users.login"
        )))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    async fn put_token(&self, token: &ApiToken) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("DELETE FROM api_tokens WHERE name = $1")
            .bind(&token.name)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO api_tokens (token_hash, name, permissions, unit, region, created_at, \
             expires_at, revoked, rate_per_min) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&token.token_hash)
        .bind(&token.name)
        .bind(token.permissions.join(","))
        .bind(token.unit.clone())
        .bind(token.region.clone())
        .bind(millis(token.created_at))
        .bind(token.expires_at.map(millis))
        .bind(i64::from(token.revoked))
        .bind(token.rate_per_min.map(i64::from))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn token(&self, token_hash: &str) -> Result<Option<ApiToken>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{TOKEN_COLUMNS} WHERE token_hash = $1"
        )))
        .bind(token_hash)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    async fn tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{TOKEN_COLUMNS} ORDER BY name"
        )))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(token_from_row).collect()
    }

    async fn put_session(&self, session: &Session) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, subject, csrf, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&session.id_hash)
        .bind(&session.subject)
        .bind(&session.csrf)
        .bind(millis(session.created_at))
        .bind(millis(session.expires_at))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn session(&self, id_hash: &str) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query(
            "SELECT id_hash, subject, csrf, created_at, expires_at FROM sessions \
             WHERE id_hash = $1",
        )
        .bind(id_hash)
        .fetch_optional(&self.reader)
        .await?;
        row.map(|row| {
            Ok(Session {
                id_hash: row.try_get(0)?,
                subject: row.try_get(1)?,
                csrf: row.try_get(2)?,
                created_at: from_millis(row.try_get(3)?)?,
                expires_at: from_millis(row.try_get(4)?)?,
            })
        })
        .transpose()
    }

    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(millis(now))
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }

    async fn delete_sessions_of(&self, subject: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE subject = $1")
            .bind(subject)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn audit(&self, entry: &AuditEntry) -> Result<i64, StoreError> {
        let mut conn = self.writer.acquire().await?;
        insert_audit(&mut conn, entry).await
    }

    async fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let mut query = Conditions::new(
            "SELECT seq, at, actor, action, target, detail, client FROM audit_log WHERE 1 = 1",
        );
        if let Some(actor) = &filter.actor {
            query.and("actor = ?", vec![Bind::Text(actor.clone())]);
        }
        if let Some(action) = &filter.action {
            query.and("action = ?", vec![Bind::Text(action.clone())]);
        }
        if let Some(target) = &filter.target {
            query.and("target = ?", vec![Bind::Text(target.clone())]);
        }
        if let Some(from) = filter.from {
            query.and("at >= ?", vec![Bind::Int(millis(from))]);
        }
        if let Some(to) = filter.to {
            query.and("at < ?", vec![Bind::Int(millis(to))]);
        }
        if let Some(after) = filter.after {
            query.and("seq > ?", vec![Bind::Int(after)]);
        }
        query.sql.push_str(&format!(
            " ORDER BY seq LIMIT {}",
            filter.limit.clamp(1, 10_000)
        ));
        let rows = query.query().fetch_all(&self.reader).await?;
        rows.iter()
            .map(|row| {
                Ok(AuditEntry {
                    seq: row.try_get(0)?,
                    at: from_millis(row.try_get(1)?)?,
                    actor: row.try_get(2)?,
                    action: row.try_get(3)?,
                    target: row.try_get(4)?,
                    detail: row.try_get(5)?,
                    client: row.try_get(6)?,
                })
            })
            .collect()
    }

    async fn erase_identity(
        &self,
        number: &TicketNumber,
        erase: &(dyn for<'e> Fn(&'e mut Event) + Sync),
    ) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin().await?;
        let rows = sqlx::query("SELECT seq, body FROM events WHERE ticket = $1 ORDER BY seq")
            .bind(number.as_str())
            .fetch_all(&mut *tx)
            .await?;
        if rows.is_empty() {
            return Ok(false);
        }
        let mut log = Vec::with_capacity(rows.len());
        let mut rewritten = Vec::new();
        for row in &rows {
            let before = event_from_row(row)?;
            let mut event = before.clone();
            erase(&mut event);
            if event != before {
                rewritten.push(event.clone());
            }
            log.push(event);
        }
        // The projection is the erased log replayed: every text the events fed it (the
        // reply, reasons, file names) is erased alike, and it still equals its log.
        let ticket = Ticket::replay(number, &log)
            .map_err(|e| StoreError::Corrupt(format!("ticket {number}: {e}")))?;
        // The log refuses every UPDATE; this one is lifted for the statements, inside
        // the transaction, so no other writer can slip through.
        let (lift, restore) = match self.backend {
            Backend::Sqlite => (
                "DROP TRIGGER events_are_append_only_update",
                "CREATE TRIGGER events_are_append_only_update BEFORE UPDATE ON events \
                 BEGIN SELECT RAISE(ABORT, 'events are append-only'); END",
            ),
            Backend::Postgres => (
                "ALTER TABLE events DISABLE TRIGGER events_are_append_only",
                "ALTER TABLE events ENABLE TRIGGER events_are_append_only",
            ),
        };
        sqlx::query(lift).execute(&mut *tx).await?;
        for event in &rewritten {
            sqlx::query("UPDATE events SET body = $1 WHERE ticket = $2 AND seq = $3")
                .bind(json(event))
                .bind(number.as_str())
                .bind(i64::from(event.seq))
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(restore).execute(&mut *tx).await?;
        sqlx::query(
            "UPDATE tickets SET state = $1, title = $2, description = $3, citizen_phone = $4 \
             WHERE number = $5",
        )
        .bind(json(&ticket))
        .bind(&ticket.intake.title)
        .bind(&ticket.intake.description)
        .bind(ticket.intake.citizen.phone.clone())
        .bind(number.as_str())
        .execute(&mut *tx)
        .await?;
        // Everything else that names the citizen goes with the same commit: what the
        // outbox told or was to tell them (recipient and text), the follow code sent to
        // their phone and the sessions it opened, and the digest of the demand kept
        // with an idempotency key (the rest of the demand is public, so the digest
        // would give the phone away to a search of a few billion numbers).
        sqlx::query("DELETE FROM notifications WHERE ticket = $1")
            .bind(number.as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM follow_codes WHERE ticket = $1")
            .bind(number.as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE subject = $1")
            .bind(format!("citizen:{number}"))
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM follow_code_sends WHERE subject = $1")
            .bind(format!("ticket:{number}"))
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE idempotency_keys SET fingerprint = 'erased' WHERE ticket = $1")
            .bind(number.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn purge_erased(&self) -> Result<(), StoreError> {
        match self.backend {
            // secure_delete (set on every connection) zeroed what the erasure freed;
            // the write-ahead log may still hold the pages as they were, so it is
            // copied into the database and emptied.
            Backend::Sqlite => {
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(&self.writer)
                    .await?;
            }
            // An UPDATE or DELETE leaves the old row version in place until VACUUM
            // reclaims it.
            Backend::Postgres => {
                for table in ERASED_TABLES {
                    sqlx::query(sqlx::AssertSqlSafe(format!("VACUUM {table}")))
                        .execute(&self.writer)
                        .await?;
                }
            }
        }
        Ok(())
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

    async fn put_follow_code(&self, code: &FollowCode) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO follow_codes (ticket, code_hash, expires_at, attempts) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (ticket) DO UPDATE SET \
             code_hash = excluded.code_hash, expires_at = excluded.expires_at, \
             attempts = excluded.attempts",
        )
        .bind(&code.ticket)
        .bind(&code.code_hash)
        .bind(millis(code.expires_at))
        .bind(i64::from(code.attempts))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn follow_code(&self, ticket: &str) -> Result<Option<FollowCode>, StoreError> {
        let row = sqlx::query(
            "SELECT ticket, code_hash, expires_at, attempts FROM follow_codes WHERE ticket = $1",
        )
        .bind(ticket)
        .fetch_optional(&self.reader)
        .await?;
        row.map(|row| {
            Ok(FollowCode {
                ticket: row.try_get(0)?,
                code_hash: row.try_get(1)?,
                expires_at: from_millis(row.try_get(2)?)?,
                attempts: row.try_get::<i64, _>(3)?.try_into().unwrap_or(u32::MAX),
            })
        })
        .transpose()
    }

    async fn delete_follow_code(&self, ticket: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM follow_codes WHERE ticket = $1")
            .bind(ticket)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn set_user_disabled(&self, login: &str, disabled: bool) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE users SET disabled = $1 WHERE login = $2")
            .bind(i64::from(disabled))
            .bind(login)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn claim_login_try(
        &self,
        login: &str,
        address: &str,
        now: Timestamp,
        policy: &LoginPolicy,
    ) -> Result<LoginTry, StoreError> {
        let mut tx = self.writer.begin().await?;
        let claimed = crate::tries::claim_login(&mut tx, login, address, now, policy).await?;
        tx.commit().await?;
        Ok(claimed)
    }

    async fn login_succeeded(
        &self,
        login: &str,
        address: &str,
        now: Timestamp,
        policy: &LoginPolicy,
    ) -> Result<LoginNotice, StoreError> {
        let mut tx = self.writer.begin().await?;
        let notice = crate::tries::login_succeeded(&mut tx, login, address, now, policy).await?;
        tx.commit().await?;
        Ok(notice)
    }

    async fn clear_login_tries(&self, login: &str) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        crate::tries::clear_login(&mut tx, login).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn claim_follow_try(
        &self,
        ticket: &str,
        now: Timestamp,
        max_tries: u32,
    ) -> Result<Option<String>, StoreError> {
        let mut conn = self.writer.acquire().await?;
        crate::tries::claim_follow_try(&mut conn, ticket, now, max_tries).await
    }

    async fn use_follow_code(&self, ticket: &str, code_hash: &str) -> Result<bool, StoreError> {
        let mut conn = self.writer.acquire().await?;
        crate::tries::use_follow_code(&mut conn, ticket, code_hash).await
    }

    async fn count_code_sent(
        &self,
        subject: &str,
        day: jiff::civil::Date,
        cap: u32,
    ) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin().await?;
        let counted = crate::tries::count_code_sent(&mut tx, subject, day, cap).await?;
        tx.commit().await?;
        Ok(counted)
    }

    async fn forget_code_sends(&self, subject: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM follow_code_sends WHERE subject = $1")
            .bind(subject)
            .execute(&self.writer)
            .await?;
        Ok(())
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

    async fn put_open311_key(&self, key: &Open311Key) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO open311_keys (key_hash, label, disabled, created_at) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (key_hash) DO UPDATE SET label = excluded.label, \
             disabled = excluded.disabled",
        )
        .bind(&key.key_hash)
        .bind(&key.label)
        .bind(i64::from(key.disabled))
        .bind(millis(key.created_at))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn open311_key(&self, key_hash: &str) -> Result<Option<Open311Key>, StoreError> {
        let row = sqlx::query(
            "SELECT key_hash, label, disabled, created_at FROM open311_keys WHERE key_hash = $1",
        )
        .bind(key_hash)
        .fetch_optional(&self.reader)
        .await?;
        row.map(|row| {
            Ok(Open311Key {
                key_hash: row.try_get(0)?,
                label: row.try_get(1)?,
                disabled: row.try_get::<i64, _>(2)? != 0,
                created_at: from_millis(row.try_get(3)?)?,
            })
        })
        .transpose()
    }

    async fn put_article(&self, article: &Article) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin().await?;
        let existing = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{ARTICLE_COLUMNS} WHERE id = $1"
        )))
        .bind(&article.id)
        .fetch_optional(&mut *tx)
        .await?;
        let existing = existing.as_ref().map(article_from_row).transpose()?;
        if existing
            .as_ref()
            .is_some_and(|old| old.same_content(article))
        {
            return Ok(false);
        }
        let created_at = existing.map_or(article.created_at, |old| old.created_at);
        sqlx::query(
            "INSERT INTO kb_articles (id, title, body, category, valid_from, valid_to, \
             owner_unit, tags, created_at, updated_at, status) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (id) DO UPDATE SET title = excluded.title, body = excluded.body, \
             category = excluded.category, valid_from = excluded.valid_from, \
             valid_to = excluded.valid_to, owner_unit = excluded.owner_unit, \
             tags = excluded.tags, updated_at = excluded.updated_at, status = excluded.status",
        )
        .bind(&article.id)
        .bind(&article.title)
        .bind(&article.body)
        .bind(article.category.clone())
        .bind(article.valid_from.map(|d| d.to_string()))
        .bind(article.valid_to.map(|d| d.to_string()))
        .bind(article.owner_unit.clone())
        .bind(json(&article.tags))
        .bind(millis(created_at))
        .bind(millis(article.updated_at))
        .bind(article.status.code())
        .execute(&mut *tx)
        .await?;
        bump_kb_revision(&mut tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn article(&self, id: &str) -> Result<Option<Article>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{ARTICLE_COLUMNS} WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(article_from_row).transpose()
    }

    async fn articles(&self) -> Result<Vec<Article>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{ARTICLE_COLUMNS} ORDER BY id"
        )))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(article_from_row).collect()
    }

    async fn delete_article(&self, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin().await?;
        let done = sqlx::query("DELETE FROM kb_articles WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let deleted = done.rows_affected() > 0;
        if deleted {
            bump_kb_revision(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(deleted)
    }

    async fn kb_revision(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT revision FROM kb_revision WHERE id = 1")
            .fetch_one(&self.reader)
            .await?;
        Ok(row.try_get(0)?)
    }
    async fn claim_timers(
        &self,
        worker: &str,
        now: Timestamp,
        lease: jiff::SignedDuration,
        limit: u32,
    ) -> Result<Vec<DueTimer>, StoreError> {
        let mut conn = self.writer.acquire().await?;
        crate::timers::claim(&mut conn, self.backend, worker, now, lease, limit).await
    }

    async fn void_timer(&self, due: &DueTimer, now: Timestamp) -> Result<(), StoreError> {
        let mut conn = self.writer.acquire().await?;
        crate::timers::void(&mut conn, due, now).await
    }

    async fn next_timer_due(&self) -> Result<Option<Timestamp>, StoreError> {
        let next: Option<i64> =
            sqlx::query_scalar("SELECT MIN(due_at) FROM timers WHERE fired_at IS NULL")
                .fetch_one(&self.reader)
                .await?;
        next.map(from_millis).transpose()
    }

    async fn timers_of(&self, number: &TicketNumber) -> Result<Vec<TimerRow>, StoreError> {
        let sql = format!(
            "{} WHERE ticket = $1 ORDER BY due_at, kind",
            crate::timers::ROW_COLUMNS
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(number.as_str())
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(crate::timers::row).collect()
    }

    async fn due_timers(&self, before: Timestamp, limit: u32) -> Result<Vec<TimerRow>, StoreError> {
        let sql = format!(
            "{} WHERE fired_at IS NULL AND due_at < $1 ORDER BY due_at LIMIT $2",
            crate::timers::ROW_COLUMNS
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(millis(before))
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(crate::timers::row).collect()
    }

    async fn rollup_daily(&self, query: &RollupQuery) -> Result<Vec<RollupRow>, StoreError> {
        let reads = crate::rollups::plan(query);
        let several = reads.len() > 1;
        let mut out = Vec::new();
        for sql in reads {
            for row in sql.query().fetch_all(&self.reader).await? {
                out.push(crate::rollups::daily_row(&row, query)?);
            }
        }
        Ok(if several {
            crate::rollups::merge(out)
        } else {
            out
        })
    }

    async fn rollup_tables(&self) -> Result<Vec<(String, Rollup)>, StoreError> {
        let mut tables = Vec::new();
        for cube in &crate::rollups::CUBES {
            let sql = format!(
                "SELECT day, unit, region, category, metric, n FROM {} WHERE n <> 0",
                cube.table
            );
            let mut rollup = Rollup::default();
            for row in sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(&self.reader)
                .await?
            {
                let (key, n) = crate::rollups::table_row(&row)?;
                rollup.daily.insert(key, n);
            }
            tables.push((cube.table.to_owned(), rollup));
        }
        let mut hourly = Rollup::default();
        for row in sqlx::query("SELECT hour, region, category, n FROM rollup_hourly WHERE n <> 0")
            .fetch_all(&self.reader)
            .await?
        {
            let (key, n) = crate::rollups::hourly_row(&row)?;
            hourly.hourly.insert(key, n);
        }
        tables.push(("rollup_hourly".to_owned(), hourly));
        Ok(tables)
    }

    async fn rollup_sizes(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let tables = crate::rollups::CUBES.iter().map(|c| c.table);
        let mut sizes = Vec::new();
        for table in tables.chain(["rollup_hourly"]) {
            let sql = format!("SELECT COUNT(*) FROM {table}");
            let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(&self.reader)
                .await?;
            sizes.push((table.to_owned(), u64::try_from(rows).unwrap_or(0)));
        }
        Ok(sizes)
    }

    async fn rollup_hourly(
        &self,
        query: &HourlyQuery,
    ) -> Result<Vec<(HourlyKey, i64)>, StoreError> {
        let Some(sql) = crate::rollups::hourly_query(query) else {
            return Ok(Vec::new());
        };
        let rows = sql.query().fetch_all(&self.reader).await?;
        rows.iter().map(crate::rollups::hourly_row).collect()
    }

    async fn add_rollup(&self, rollup: &Rollup) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        crate::rollups::add(&mut tx, rollup).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn rebuild_rollups(
        &self,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<u64, StoreError> {
        let mut tx = self.writer.begin().await?;
        let tables = crate::rollups::CUBES.iter().map(|c| c.table);
        for table in tables.chain(["rollup_hourly"]) {
            sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
                .execute(&mut *tx)
                .await?;
        }
        let mut counted = 0;
        let mut after = String::new();
        loop {
            // A page of tickets at a time: memory stays bounded on a big store.
            let rows = sqlx::query(
                "SELECT e.ticket, e.body FROM events e JOIN (SELECT number FROM tickets \
                 WHERE number > $1 ORDER BY number LIMIT 500) t ON t.number = e.ticket \
                 ORDER BY e.ticket, e.seq",
            )
            .bind(&after)
            .fetch_all(&mut *tx)
            .await?;
            if rows.is_empty() {
                break;
            }
            let mut page = Rollup::default();
            let mut log: Vec<Event> = Vec::new();
            let mut current: Option<String> = None;
            for row in &rows {
                let ticket: String = row.try_get(0)?;
                if current.as_ref().is_some_and(|c| *c != ticket) {
                    count_log(&mut page, current.take(), &mut log, &mut counted)?;
                }
                current = Some(ticket);
                log.push(event_from_row(row)?);
            }
            after = current.clone().unwrap_or_default();
            count_log(&mut page, current, &mut log, &mut counted)?;
            crate::rollups::add(&mut tx, &page).await?;
            progress(counted);
        }
        tx.commit().await?;
        Ok(counted)
    }

    async fn claim_notifications(
        &self,
        worker: &str,
        now: Timestamp,
        lease: jiff::SignedDuration,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        let mut conn = self.writer.acquire().await?;
        crate::outbox::claim(&mut conn, self.backend, worker, now, lease, limit).await
    }

    async fn settle_notification(
        &self,
        delivery: &Delivery,
        worker: &str,
        now: Timestamp,
        outcome: Result<(), (&str, Option<Timestamp>)>,
    ) -> Result<bool, StoreError> {
        let mut conn = self.writer.acquire().await?;
        crate::outbox::settle(&mut conn, delivery, worker, now, outcome).await
    }

    async fn notifications_of(
        &self,
        number: &TicketNumber,
    ) -> Result<Vec<NotificationRow>, StoreError> {
        let sql = format!(
            "{} WHERE ticket = $1 ORDER BY id",
            crate::outbox::ROW_COLUMNS
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(number.as_str())
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(crate::outbox::row).collect()
    }

    async fn raise_alerts(&self, alerts: &[NewAlert]) -> Result<Vec<String>, StoreError> {
        let mut tx = self.writer.begin().await?;
        let mut raised = Vec::new();
        for new in alerts {
            let alert = &new.alert;
            let inserted = sqlx::query(
                "INSERT INTO analytics_alerts (id, kind, region, unit, category, window_from, \
                 window_to, observed, expected, raised_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING",
            )
            .bind(&alert.id)
            .bind(&alert.kind)
            .bind(alert.region.clone())
            .bind(alert.unit.clone())
            .bind(alert.category.clone())
            .bind(millis(alert.window_from))
            .bind(millis(alert.window_to))
            .bind(alert.observed)
            .bind(alert.expected)
            .bind(millis(alert.raised_at))
            .execute(&mut *tx)
            .await?;
            // Raised before: its rows were written then.
            if inserted.rows_affected() == 0 {
                continue;
            }
            crate::outbox::insert(
                &mut tx,
                Told::Alert(&alert.id),
                alert.raised_at,
                &new.notifications,
            )
            .await?;
            raised.push(alert.id.clone());
        }
        tx.commit().await?;
        Ok(raised)
    }

    async fn alerts_since(&self, since: Timestamp) -> Result<Vec<Alert>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, kind, region, unit, category, window_from, window_to, observed, \
             expected, raised_at FROM analytics_alerts WHERE raised_at >= $1 \
             ORDER BY raised_at DESC, id",
        )
        .bind(millis(since))
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Alert {
                    id: row.try_get(0)?,
                    kind: row.try_get(1)?,
                    region: row.try_get(2)?,
                    unit: row.try_get(3)?,
                    category: row.try_get(4)?,
                    window_from: from_millis(row.try_get(5)?)?,
                    window_to: from_millis(row.try_get(6)?)?,
                    observed: row.try_get(7)?,
                    expected: row.try_get(8)?,
                    raised_at: from_millis(row.try_get(9)?)?,
                })
            })
            .collect()
    }
}

const ARTICLE_COLUMNS: &str = "SELECT id, title, body, category, valid_from, valid_to, \
     owner_unit, tags, created_at, updated_at, status FROM kb_articles";

/// Moves the knowledge base's revision in the writing transaction (migration 0013).
async fn bump_kb_revision(tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<(), StoreError> {
    sqlx::query("UPDATE kb_revision SET revision = revision + 1 WHERE id = 1")
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn article_from_row(row: &AnyRow) -> Result<Article, StoreError> {
    let date = |text: Option<String>| {
        text.map(|t| {
            t.parse::<jiff::civil::Date>()
                .map_err(|e| StoreError::Corrupt(format!("article date {t:?}: {e}")))
        })
        .transpose()
    };
    let tags: String = row.try_get(7)?;
    let status: String = row.try_get(10)?;
    Ok(Article {
        id: row.try_get(0)?,
        title: row.try_get(1)?,
        body: row.try_get(2)?,
        category: row.try_get(3)?,
        valid_from: date(row.try_get(4)?)?,
        valid_to: date(row.try_get(5)?)?,
        owner_unit: row.try_get(6)?,
        tags: serde_json::from_str(&tags)
            .map_err(|e| StoreError::Corrupt(format!("article tags: {e}")))?,
        status: ArticleStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("article status {status:?}")))?,
        created_at: from_millis(row.try_get(8)?)?,
        updated_at: from_millis(row.try_get(9)?)?,
    })
}

/// An account with its sign-in state: the tries at its login within the window and
/// until when it is delayed from everywhere (migration 0016; the old columns of
/// `users` are no longer written by sign-ins).
const USER_COLUMNS: &str = "SELECT users.login, display_name, role, unit, password_hash, \
     disabled, created_at, region, COALESCE(c.tries, 0), c.delayed_until FROM users \
     LEFT JOIN login_ceilings c ON c.login = users.login";

fn user_from_row(row: &AnyRow) -> Result<User, StoreError> {
    Ok(User {
        login: row.try_get(0)?,
        display_name: row.try_get(1)?,
        role: row.try_get(2)?,
        unit: row.try_get(3)?,
        password_hash: row.try_get(4)?,
        disabled: row.try_get::<i64, _>(5)? != 0,
        created_at: from_millis(row.try_get(6)?)?,
        region: row.try_get(7)?,
        failed_logins: row.try_get::<i64, _>(8)?.try_into().unwrap_or(u32::MAX),
        locked_until: row
            .try_get::<Option<i64>, _>(9)?
            .map(from_millis)
            .transpose()?,
    })
}

const TOKEN_COLUMNS: &str = "SELECT token_hash, name, permissions, unit, region, created_at, \
     expires_at, revoked, rate_per_min FROM api_tokens";

fn token_from_row(row: &AnyRow) -> Result<ApiToken, StoreError> {
    let permissions: String = row.try_get(2)?;
    Ok(ApiToken {
        token_hash: row.try_get(0)?,
        name: row.try_get(1)?,
        permissions: permissions
            .split(',')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect(),
        unit: row.try_get(3)?,
        region: row.try_get(4)?,
        created_at: from_millis(row.try_get(5)?)?,
        expires_at: row
            .try_get::<Option<i64>, _>(6)?
            .map(from_millis)
            .transpose()?,
        revoked: row.try_get::<i64, _>(7)? != 0,
        rate_per_min: row
            .try_get::<Option<i64>, _>(8)?
            .map(|rate| rate.clamp(0, i64::from(u32::MAX)) as u32),
    })
}

/// LIKE treats `%` and `_` as wildcards; a citizen's words must match literally.
/// How many tickets one page of a list holds.
fn list_limit(filter: &TicketFilter) -> u32 {
    filter.limit.clamp(1, 500)
}

/// The query of one page of [`Store::list`] (one more row than the page, to tell whether
/// another follows); `None` when the filter's numbers are an empty list, so nothing matches.
fn list_query(filter: &TicketFilter) -> Option<Conditions> {
    filtered("state, created_at, number", filter, list_limit(filter) + 1)
}

/// `SELECT columns` of the tickets `filter` selects, newest first, at most `limit`
/// rows; `None` when the filter's numbers are an empty list, so nothing matches.
fn filtered(columns: &str, filter: &TicketFilter, limit: u32) -> Option<Conditions> {
    let mut query = match &filter.numbers {
        None => Conditions::new(&format!("SELECT {columns} FROM tickets WHERE 1 = 1")),
        Some(numbers) if numbers.is_empty() => return None,
        Some(numbers) => {
            // A search's few matches are read by key first, and the other filters test
            // only those rows. Written as one more `AND number IN (...)`, SQLite's planner
            // preferred the status index (it also gives the order) and tested every
            // ticket of that status against the numbers: seconds at a million tickets.
            // A subquery with a LIMIT is never flattened into its outer query (SQLite
            // and PostgreSQL alike), and the numbers are keys, so the LIMIT drops none.
            let mut query = Conditions::new(&format!(
                "SELECT {columns} FROM (SELECT * FROM tickets WHERE 1 = 1"
            ));
            let marks = vec!["?"; numbers.len()].join(", ");
            query.and(
                &format!("number IN ({marks})"),
                numbers.iter().cloned().map(Bind::Text).collect(),
            );
            query
                .sql
                .push_str(&format!(" LIMIT {}) AS tickets WHERE 1 = 1", numbers.len()));
            query
        }
    };
    query.scope(&filter.scope);
    if let Some(status) = filter.status {
        query.and("status = ?", vec![Bind::Text(status.code().into())]);
    }
    if let Some(unit) = &filter.unit {
        query.and("unit = ?", vec![Bind::Text(unit.clone())]);
    }
    if let Some(path) = &filter.region_path {
        query.and(
            "region_path LIKE ? ESCAPE '\\'",
            vec![Bind::Text(format!("{}%", escape_like(path)))],
        );
    }
    if let Some(category) = &filter.category {
        query.and(
            "(category = ? OR category LIKE ? ESCAPE '\\')",
            vec![
                Bind::Text(category.clone()),
                Bind::Text(format!("{}/%", escape_like(category))),
            ],
        );
    }
    if let Some(from) = filter.created_from {
        query.and("created_at >= ?", vec![Bind::Int(millis(from))]);
    }
    if let Some(to) = filter.created_to {
        query.and("created_at < ?", vec![Bind::Int(millis(to))]);
    }
    if let Some(phone) = &filter.phone {
        query.and("citizen_phone = ?", vec![Bind::Text(phone.clone())]);
    }
    if let Some(flag) = filter.flag {
        let flags = Alerts::matching(flag);
        let marks = vec!["?"; flags.len()].join(", ");
        query.and(
            &format!("alert IN ({marks})"),
            flags.iter().map(|f| Bind::Text(f.code().into())).collect(),
        );
    }
    if let Some(text) = &filter.text {
        for word in text.split_whitespace() {
            let pattern = format!("%{}%", escape_like(word));
            query.and(
                "(title LIKE ? ESCAPE '\\' OR description LIKE ? ESCAPE '\\' OR number = ?)",
                vec![
                    Bind::Text(pattern.clone()),
                    Bind::Text(pattern),
                    Bind::Text(word.to_owned()),
                ],
            );
        }
    }
    if let Some(cursor) = &filter.cursor {
        query.and(
            "(created_at < ? OR (created_at = ? AND number < ?))",
            vec![
                Bind::Int(cursor.created_at),
                Bind::Int(cursor.created_at),
                Bind::Text(cursor.number.clone()),
            ],
        );
    }
    query.sql.push_str(&format!(
        " ORDER BY created_at DESC, number DESC LIMIT {limit}"
    ));
    Some(query)
}

pub(crate) fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

#[cfg(test)]
mod tests {
    use super::*;
    use minhu_core::ids::UnitId;

    /// SQLite's plan for searched lists with the filters that have an index of their
    /// own: the tickets must be looked up by their numbers, not found by walking an
    /// index of the other filters (a status filter took seconds at a million tickets).
    #[tokio::test]
    async fn a_searched_list_reads_its_numbers_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("plan.db").display());
        let store = SqlStore::connect(&url).await.unwrap();
        // A page's worth of matches: without statistics SQLite guesses an equality on
        // an index matches about ten rows, which then looks cheaper than 50 lookups.
        let searched = TicketFilter {
            numbers: Some((1..=50).map(|n| format!("202611220{n:05}")).collect()),
            ..TicketFilter::default()
        };
        let filters = [
            TicketFilter {
                status: Some(Status::Dispatched),
                ..searched.clone()
            },
            TicketFilter {
                unit: Some("water".into()),
                ..searched.clone()
            },
            TicketFilter {
                scope: Scope::Units(vec![UnitId::new("water")]),
                status: Some(Status::Dispatched),
                unit: Some("water".into()),
                region_path: Some("/A/".into()),
                category: Some("water".into()),
                phone: Some("13800000000".into()),
                flag: Some(minhu_core::timer::Flag::Overdue),
                ..searched.clone()
            },
        ];
        for filter in filters {
            let mut explain = list_query(&filter).unwrap();
            explain.sql = format!("EXPLAIN QUERY PLAN {}", explain.sql);
            let plan: Vec<String> = explain
                .query()
                .fetch_all(&store.reader)
                .await
                .unwrap()
                .iter()
                .map(|row| row.try_get::<String, _>(3).unwrap())
                .collect();
            let by_key = "SEARCH tickets USING INDEX sqlite_autoindex_tickets_1 (number=?)";
            assert!(
                plan.iter().any(|line| line == by_key),
                "{filter:?}: {plan:#?}"
            );
            assert!(
                !plan.iter().any(|line| line.contains("tickets_by_")),
                "{filter:?}: {plan:#?}"
            );
        }
        store.close().await;
    }
}
