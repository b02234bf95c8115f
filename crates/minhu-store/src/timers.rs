//! The due-time index of timers. The core says which timers a ticket has
//! (`minhu_core::timer::pending`); this module keeps the `timers` table equal to that in
//! the transaction of each event, and lets workers claim due rows. Claims are leases, so
//! a worker that dies mid-batch only delays its rows. Exactly-once firing does not rest
//! on the claim alone: the fire event is appended conditionally on the ticket's version
//! and the core refuses a timer the ticket no longer has.

use crate::db::{Backend, SqlStore, StoreError, from_millis, millis, placeholders};
use async_trait::async_trait;
use jiff::Timestamp;
use minhu_core::ids::TicketNumber;
use minhu_core::ticket::Ticket;
use minhu_core::timer::{Timer, TimerKind};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

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

/// The timer index as its workers (the engine's timer worker) and officials' views use it.
#[async_trait]
pub trait TimerStore: Send + Sync {
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
}

#[async_trait]
impl TimerStore for SqlStore {
    async fn claim_timers(
        &self,
        worker: &str,
        now: Timestamp,
        lease: jiff::SignedDuration,
        limit: u32,
    ) -> Result<Vec<DueTimer>, StoreError> {
        let mut conn = self.writer.acquire().await?;
        claim(&mut conn, self.backend, worker, now, lease, limit).await
    }

    async fn void_timer(&self, due: &DueTimer, now: Timestamp) -> Result<(), StoreError> {
        let mut conn = self.writer.acquire().await?;
        void(&mut conn, due, now).await
    }

    async fn next_timer_due(&self) -> Result<Option<Timestamp>, StoreError> {
        let next: Option<i64> =
            sqlx::query_scalar("SELECT MIN(due_at) FROM timers WHERE fired_at IS NULL")
                .fetch_one(&self.reader)
                .await?;
        next.map(from_millis).transpose()
    }

    async fn timers_of(&self, number: &TicketNumber) -> Result<Vec<TimerRow>, StoreError> {
        let sql = format!("{} WHERE ticket = $1 ORDER BY due_at, kind", ROW_COLUMNS);
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(number.as_str())
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(row).collect()
    }

    async fn due_timers(&self, before: Timestamp, limit: u32) -> Result<Vec<TimerRow>, StoreError> {
        let sql = format!(
            "{} WHERE fired_at IS NULL AND due_at < $1 ORDER BY due_at LIMIT $2",
            ROW_COLUMNS
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(millis(before))
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(row).collect()
    }
}

/// Replaces the ticket's unfired timers by `timers`, after marking `fired` as fired
/// (the alert they raise is a column of the ticket's projection, written with it).
/// Runs inside the caller's transaction.
pub(crate) async fn sync(
    conn: &mut AnyConnection,
    ticket: &Ticket,
    timers: &[Timer],
    fired: Option<(Timer, Timestamp)>,
) -> Result<(), StoreError> {
    let number = ticket.number.as_str();
    if let Some((timer, at)) = fired {
        sqlx::query(
            "UPDATE timers SET fired_at = $1, outcome = 'fired', claimed_by = NULL, \
             claim_until = NULL WHERE ticket = $2 AND kind = $3 AND due_at = $4",
        )
        .bind(millis(at))
        .bind(number)
        .bind(timer.kind.code())
        .bind(millis(timer.due_at))
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query("DELETE FROM timers WHERE ticket = $1 AND fired_at IS NULL")
        .bind(number)
        .execute(&mut *conn)
        .await?;
    if !timers.is_empty() {
        let rows: Vec<String> = (0..timers.len())
            .map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
            .collect();
        // The core is the judge of what is pending: a row that fired on an earlier clock
        // with the same moment is armed again.
        let sql = format!(
            "INSERT INTO timers (ticket, kind, due_at) VALUES {} ON CONFLICT (ticket, kind, due_at) \
             DO UPDATE SET fired_at = NULL, outcome = NULL, claimed_by = NULL, claim_until = NULL",
            rows.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for timer in timers {
            query = query
                .bind(number)
                .bind(timer.kind.code())
                .bind(millis(timer.due_at));
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

pub(crate) async fn claim(
    conn: &mut AnyConnection,
    backend: Backend,
    worker: &str,
    now: Timestamp,
    lease: jiff::SignedDuration,
    limit: u32,
) -> Result<Vec<DueTimer>, StoreError> {
    let rows = crate::db::claim_rows(
        conn,
        backend,
        "UPDATE timers SET claimed_by = $1, claim_until = $2 \
         WHERE (ticket, kind, due_at) IN (SELECT ticket, kind, due_at FROM timers \
         WHERE fired_at IS NULL AND due_at <= $3 AND (claim_until IS NULL OR claim_until < $3) \
         ORDER BY due_at LIMIT $4 {lock}) RETURNING ticket, kind, due_at",
        (worker, now, lease, limit),
    )
    .await?;
    let mut claimed = rows
        .iter()
        .map(|row| {
            Ok(DueTimer {
                ticket: TicketNumber::parse(&row.try_get::<String, _>(0)?)
                    .map_err(|e| StoreError::Corrupt(format!("timer ticket: {e}")))?,
                timer: Timer {
                    kind: kind(&row.try_get::<String, _>(1)?)?,
                    due_at: from_millis(row.try_get(2)?)?,
                },
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    claimed.sort_by_key(|due| due.timer.due_at);
    Ok(claimed)
}

pub(crate) async fn void(
    conn: &mut AnyConnection,
    due: &DueTimer,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE timers SET fired_at = $1, outcome = 'void', claimed_by = NULL, claim_until = NULL \
         WHERE ticket = $2 AND kind = $3 AND due_at = $4 AND fired_at IS NULL",
    )
    .bind(millis(now))
    .bind(due.ticket.as_str())
    .bind(due.timer.kind.code())
    .bind(millis(due.timer.due_at))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(crate) const ROW_COLUMNS: &str =
    "SELECT ticket, kind, due_at, claimed_by, fired_at, outcome FROM timers";

pub(crate) fn row(row: &AnyRow) -> Result<TimerRow, StoreError> {
    Ok(TimerRow {
        ticket: row.try_get(0)?,
        kind: kind(&row.try_get::<String, _>(1)?)?,
        due_at: from_millis(row.try_get(2)?)?,
        claimed_by: row.try_get(3)?,
        fired_at: row
            .try_get::<Option<i64>, _>(4)?
            .map(from_millis)
            .transpose()?,
        outcome: row.try_get(5)?,
    })
}

fn kind(code: &str) -> Result<TimerKind, StoreError> {
    TimerKind::from_code(code).ok_or_else(|| StoreError::Corrupt(format!("timer kind {code}")))
}

/// The timers of new tickets, a multi-row statement per [`EVENT_ROWS`](crate::tickets::EVENT_ROWS) (a batch of new
/// tickets has no timers yet to replace or fire, unlike [`sync`]).
pub(crate) async fn insert_new(
    conn: &mut AnyConnection,
    timers: &[(&str, &Timer)],
) -> Result<(), StoreError> {
    for chunk in crate::db::row_chunks(conn, timers, crate::tickets::EVENT_ROWS) {
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
    Ok(())
}
