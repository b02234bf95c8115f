//! What every domain of the store shares: the connection pools and the backend they
//! run on, the migrations, the SQLite writer that group-commits new tickets, the error
//! type, and the helpers that let one SQL text serve both backends (times as
//! milliseconds, conditions with bound values, multi-row placeholders, leased claims).
//!
//! All SQL goes through sqlx's `Any` driver, so that one set of queries (with `$n`
//! placeholders) serves SQLite and PostgreSQL alike; only the migrations, connection
//! tuning and the few statements that must differ (row locks, snapshots, triggers,
//! vacuuming) are per backend.

use crate::tickets::{Created, NewTicket};
use jiff::Timestamp;
use minhu_core::ids::TicketNumber;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyConnection, AnyPool, Executor};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

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
    /// it must start again from [`ChangeMark::START`](crate::ChangeMark::START).
    #[error("the change mark belongs to another store: {0}")]
    ForeignMark(String),
}

/// Which backend a store runs on, and how its connection pools are used: what about a
/// store belongs to no domain.
pub trait StoreBackend: Send + Sync {
    fn backend(&self) -> Backend;

    /// Each connection pool's use now, for monitoring (`GET /metrics`).
    fn pools(&self) -> Vec<PoolUse>;
}

/// A connection pool's connections: open (`size`), of which idle, and the most it may
/// open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolUse {
    /// `writer` and `reader` on SQLite, `main` on PostgreSQL (one pool for both).
    pub name: &'static str,
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

impl PoolUse {
    fn of(name: &'static str, pool: &AnyPool) -> Self {
        PoolUse {
            name,
            size: pool.size(),
            idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
            max: pool.options().get_max_connections(),
        }
    }
}

pub struct SqlStore {
    pub(crate) backend: Backend,
    /// SQLite allows one writer at a time: writes share one connection, so they queue
    /// in the pool instead of failing with "database is locked". On PostgreSQL both
    /// are the same pool.
    pub(crate) writer: AnyPool,
    pub(crate) reader: AnyPool,
    /// New tickets queue here for the group-commit writers.
    pub(crate) intake: mpsc::Sender<QueuedIntake>,
    /// This store's random name (migration 0004), put in every change mark it gives.
    pub(crate) identity: String,
    /// Whether a city's reads run under row-level security (`wall.rs`).
    pub(crate) city_wall: bool,
}

/// A new ticket waiting for the group-commit writer, and where to send the outcome.
pub(crate) struct QueuedIntake {
    pub(crate) new: NewTicket,
    pub(crate) done: oneshot::Sender<Result<Created, StoreError>>,
}

/// How many new tickets one group's transaction may carry at most.
const MAX_BATCH: usize = 256;

/// Group-commit writers on PostgreSQL, each with its own connection: one group is
/// written while another waits for its commit to reach the disk (SQLite has one
/// writer). More writers make smaller groups, and each group costs the database a
/// statement per table: with 4 the database spent 10-40% more CPU per ticket than with
/// 2 (`minhu-bench intake` on a busy machine, 2026-12-07), and 8 was worse again.
const POSTGRES_WRITERS: usize = 2;

/// How long a PostgreSQL connection may sit in the pool before it is pinged when
/// handed out again.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(5);

/// Prepared statements each PostgreSQL connection keeps (sqlx's default is 100).
/// Multi-row inserts come in [`row_chunks`]' sizes (five to seven texts per table in
/// an intake run), and a cache that holds them all saved ~10% of the database's CPU
/// per new ticket.
const POSTGRES_STATEMENT_CACHE: usize = 400;

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
                SqlStore {
                    backend,
                    identity: identity(&reader).await?,
                    intake: group_writers(&writer, backend, 1),
                    writer,
                    reader,
                    city_wall: false,
                }
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(30))
                    // sqlx pings every connection it hands out: a round trip before
                    // each of a request's three to five queries (9% of a node's CPU in
                    // the day bench). One used within the last seconds is alive; only
                    // one idle longer (a restarted server, a firewall's cut) is checked.
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| {
                        Box::pin(async move {
                            Ok(meta.idle_for < IDLE_BEFORE_PING
                                || sqlx::Connection::ping(conn).await.is_ok())
                        })
                    })
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            // Compiling a plan costs 20-50 ms; it pays only for queries
                            // of seconds, which minhu does not run. With it on, a
                            // duplicate check whose estimate crossed jit_above_cost at 10M
                            // tickets spent 24 ms compiling to run 5.
                            conn.execute("SET jit = off").await?;
                            Ok(())
                        })
                    })
                    .connect(&with_statement_cache(url))
                    .await?;
                POSTGRES_MIGRATIONS.run(&pool).await?;
                SqlStore {
                    backend,
                    identity: identity(&pool).await?,
                    intake: group_writers(&pool, backend, POSTGRES_WRITERS),
                    city_wall: SqlStore::wall_at_start(&pool, backend).await,
                    writer: pool.clone(),
                    reader: pool,
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

    /// SQLite: writes a consistent copy of the whole database to `out` (`VACUUM
    /// INTO`: one read transaction, so writers go on meanwhile and the copy holds every
    /// transaction committed before it began, none after). `out` must not exist.
    /// PostgreSQL's copy is `pg_dump`'s (see `minhu admin backup`).
    pub async fn backup_sqlite(&self, out: &std::path::Path) -> Result<(), StoreError> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::Database(sqlx::Error::Configuration(
                "VACUUM INTO copies SQLite only; PostgreSQL is copied with pg_dump".into(),
            )));
        }
        sqlx::query("VACUUM INTO $1")
            .bind(out.to_string_lossy().into_owned())
            .execute(&self.reader)
            .await?;
        Ok(())
    }

    /// Gives the store a new random identity: after a restore, so that followers that
    /// kept a mark of the store as it went on after the backup (the search index) do
    /// not take the restored one for it, and start again (see
    /// [`StoreError::ForeignMark`]).
    pub async fn renew_identity(&mut self) -> Result<(), StoreError> {
        // As migration 0004 made the first one.
        let random = match self.backend {
            Backend::Sqlite => "lower(hex(randomblob(16)))",
            Backend::Postgres => "md5(random()::text || clock_timestamp()::text)",
        };
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE store_identity SET id = {random}"
        )))
        .execute(&self.writer)
        .await?;
        self.identity = identity(&self.writer).await?;
        Ok(())
    }

    /// The identity of the SQLite store in `file`, opened read-only and changed in
    /// nothing: whether a file (a backup) is a copy of a minhu store.
    pub async fn sqlite_identity(file: &std::path::Path) -> Result<String, StoreError> {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let url = format!("sqlite://{}?mode=ro", file.display());
        let mut conn = AnyConnection::connect(&url).await?;
        let identity = sqlx::query_scalar("SELECT id FROM store_identity")
            .fetch_one(&mut conn)
            .await;
        conn.close().await.ok();
        Ok(identity?)
    }

    /// This store's identity (migration 0004), as its change marks carry it.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}

impl StoreBackend for SqlStore {
    fn backend(&self) -> Backend {
        self.backend
    }

    fn pools(&self) -> Vec<PoolUse> {
        match self.backend {
            Backend::Sqlite => vec![
                PoolUse::of("writer", &self.writer),
                PoolUse::of("reader", &self.reader),
            ],
            Backend::Postgres => vec![PoolUse::of("main", &self.writer)],
        }
    }
}

/// Starts `writers` group-commit tasks on `pool` and returns their queue. Each takes
/// every new ticket waiting (up to [`MAX_BATCH`]) and commits them in one transaction
/// (`tickets::create_group`), so the cost of a commit and of each statement is
/// shared by the group. If the group fails, each ticket is tried alone, so one bad
/// intake gets its own error and the others are kept.
fn group_writers(pool: &AnyPool, backend: Backend, writers: usize) -> mpsc::Sender<QueuedIntake> {
    let (queue, waiting) = mpsc::channel(4 * MAX_BATCH);
    let waiting = Arc::new(tokio::sync::Mutex::new(waiting));
    for _ in 0..writers {
        tokio::spawn(group_commit(pool.clone(), backend, waiting.clone()));
    }
    queue
}

async fn group_commit(
    pool: AnyPool,
    backend: Backend,
    waiting: Arc<tokio::sync::Mutex<mpsc::Receiver<QueuedIntake>>>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        if waiting.lock().await.recv_many(&mut batch, MAX_BATCH).await == 0 {
            return;
        }
        let group: Vec<&NewTicket> = batch.iter().map(|queued| &queued.new).collect();
        let outcomes = match pool.acquire().await {
            Ok(mut conn) => match crate::tickets::create_group(&mut conn, &group, backend).await {
                Ok(outcomes) => outcomes,
                Err(error) => {
                    tracing::warn!(%error, tickets = group.len(), "an intake group failed; storing its tickets one by one");
                    let mut outcomes = Vec::with_capacity(group.len());
                    for new in &group {
                        outcomes.push(crate::tickets::create_one(&mut conn, new, backend).await);
                    }
                    outcomes
                }
            },
            Err(error) => {
                let message = error.to_string();
                group
                    .iter()
                    .map(|_| {
                        Err(StoreError::Corrupt(format!(
                            "no connection for intake: {message}"
                        )))
                    })
                    .collect()
            }
        };
        for (queued, outcome) in batch.drain(..).zip(outcomes) {
            let _ = queued.done.send(outcome);
        }
    }
}

async fn identity(pool: &AnyPool) -> Result<String, StoreError> {
    Ok(sqlx::query_scalar("SELECT id FROM store_identity")
        .fetch_one(pool)
        .await?)
}

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
#[derive(Clone)]
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
    /// `base` starts the query; [`Conditions::and`] may follow it once it ends in a
    /// WHERE clause.
    pub(crate) fn new(base: &str) -> Self {
        Self {
            sql: base.to_owned(),
            binds: Vec::new(),
        }
    }

    /// Adds `AND clause`, each `?` in it becoming the next numbered placeholder.
    pub(crate) fn and(&mut self, clause: &str, values: Vec<Bind>) {
        self.sql.push_str(" AND ");
        self.push(clause, values);
    }

    /// Adds `clause` as it is (an ORDER BY), each `?` in it becoming the next numbered
    /// placeholder.
    pub(crate) fn push(&mut self, clause: &str, values: Vec<Bind>) {
        let mut parts = clause.split('?');
        self.sql.push_str(parts.next().unwrap_or_default());
        for (part, value) in parts.zip(values) {
            self.binds.push(value);
            self.sql.push_str(&format!("${}", self.binds.len()));
            self.sql.push_str(part);
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

pub(crate) fn json<T: serde::Serialize>(value: &T) -> String {
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

/// `rows` cut into the chunks of a multi-row statement, none longer than `most`.
///
/// On PostgreSQL their lengths are powers of two: a statement's text depends on its
/// row count, each text is prepared and cached apart, and a few sizes keep a group's
/// writes cached where a size per group (1 to 256) parsed and planned nearly every
/// one (13% of the database's CPU per new ticket). SQLite prepares cheaply and each
/// extra statement is a trip to its worker thread, so there the chunks are as long as
/// they may be.
pub(crate) fn row_chunks<'r, T>(
    conn: &AnyConnection,
    rows: &'r [T],
    most: usize,
) -> impl Iterator<Item = &'r [T]> + use<'r, T> {
    let sizes_of_two = conn.backend_name() != <sqlx::Sqlite as sqlx::Database>::NAME;
    let mut rest = rows;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (chunk, after) = rest.split_at(chunk_len(rest.len(), most, sizes_of_two));
        rest = after;
        Some(chunk)
    })
}

/// The length of the next chunk of [`row_chunks`] when `left` rows remain.
fn chunk_len(left: usize, most: usize, sizes_of_two: bool) -> usize {
    let len = left.min(most.max(1));
    if sizes_of_two { 1 << len.ilog2() } else { len }
}

/// A PostgreSQL URL with [`POSTGRES_STATEMENT_CACHE`] unless it names its own
/// `statement-cache-capacity`.
fn with_statement_cache(url: &str) -> String {
    if url.contains("statement-cache-capacity=") {
        return url.to_owned();
    }
    let joiner = if url.contains('?') { '&' } else { '?' };
    format!("{url}{joiner}statement-cache-capacity={POSTGRES_STATEMENT_CACHE}")
}

/// LIKE treats `%` and `_` as wildcards; a citizen's words must match literally.
pub(crate) fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

#[cfg(test)]
mod tests {
    use super::chunk_len;

    fn lengths(mut left: usize, most: usize, sizes_of_two: bool) -> Vec<usize> {
        let mut lengths = Vec::new();
        while left > 0 {
            let len = chunk_len(left, most, sizes_of_two);
            lengths.push(len);
            left -= len;
        }
        lengths
    }

    #[test]
    fn chunks_on_postgresql_are_powers_of_two_and_on_sqlite_as_long_as_allowed() {
        assert_eq!(lengths(13, 8, true), vec![8, 4, 1]);
        assert_eq!(lengths(13, 128, true), vec![8, 4, 1]);
        assert_eq!(lengths(300, 128, true), vec![128, 128, 32, 8, 4]);
        assert_eq!(lengths(300, 128, false), vec![128, 128, 44]);
        assert_eq!(lengths(13, 128, false), vec![13]);
        assert_eq!(lengths(0, 8, true), Vec::<usize>::new());
    }
}
