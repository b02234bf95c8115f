//! The notifications outbox. Rows are written in the transaction of the event (or the
//! alert, migration 0012) they tell of (so a rolled-back action tells no one), one per
//! event or alert and channel (the unique keys make a repeated write harmless); workers claim due rows with a lease
//! (SKIP LOCKED on PostgreSQL, like timers), and each row ends delivered or, after its
//! last attempt, failed.

use crate::db::{Backend, SqlStore, StoreError, from_millis, millis, placeholders};
use async_trait::async_trait;
use jiff::Timestamp;
use minhu_core::ids::TicketNumber;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

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
    /// An alert (its id, see [`Alert`](crate::Alert)).
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

/// The outbox as its delivery workers (`minhu-notify`) and officials' views use it.
#[async_trait]
pub trait OutboxStore: Send + Sync {
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

    /// Rows neither delivered nor given up: the delivery backlog, for monitoring.
    async fn outbox_backlog(&self) -> Result<u64, StoreError>;
}

#[async_trait]
impl OutboxStore for SqlStore {
    async fn claim_notifications(
        &self,
        worker: &str,
        now: Timestamp,
        lease: jiff::SignedDuration,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        let mut conn = self.writer.acquire().await?;
        claim(&mut conn, self.backend, worker, now, lease, limit).await
    }

    async fn settle_notification(
        &self,
        delivery: &Delivery,
        worker: &str,
        now: Timestamp,
        outcome: Result<(), (&str, Option<Timestamp>)>,
    ) -> Result<bool, StoreError> {
        let mut conn = self.writer.acquire().await?;
        settle(&mut conn, delivery, worker, now, outcome).await
    }

    async fn notifications_of(
        &self,
        number: &TicketNumber,
    ) -> Result<Vec<NotificationRow>, StoreError> {
        let sql = format!("{} WHERE ticket = $1 ORDER BY id", ROW_COLUMNS);
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(number.as_str())
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(row).collect()
    }

    async fn outbox_backlog(&self) -> Result<u64, StoreError> {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM notifications WHERE delivered_at IS NULL AND failed_at IS NULL",
        )
        .fetch_one(&self.reader)
        .await?;
        Ok(u64::try_from(waiting).unwrap_or(0))
    }
}

/// What new outbox rows tell of: a ticket's events (each row's `seq`) or an alert.
#[derive(Clone, Copy)]
pub(crate) enum Told<'a> {
    Ticket(&'a str),
    Alert(&'a str),
}

pub(crate) async fn insert(
    conn: &mut AnyConnection,
    told: Told<'_>,
    at: Timestamp,
    outgoing: &[Outgoing],
) -> Result<(), StoreError> {
    insert_many(conn, &[(told, at, outgoing)]).await
}

/// Rows per multi-row insert of messages (8 values each).
const MESSAGE_ROWS: usize = 256;

/// The messages of many tickets (a group of intakes), [`MESSAGE_ROWS`] per statement.
pub(crate) async fn insert_many(
    conn: &mut AnyConnection,
    told: &[(Told<'_>, Timestamp, &[Outgoing])],
) -> Result<(), StoreError> {
    let rows: Vec<(Told<'_>, Timestamp, &Outgoing)> = told
        .iter()
        .flat_map(|(told, at, outgoing)| outgoing.iter().map(move |out| (*told, *at, out)))
        .collect();
    for chunk in crate::db::row_chunks(conn, &rows[..], MESSAGE_ROWS) {
        // A repeated write (the same event or alert on the same channel) is harmless.
        let sql = format!(
            "INSERT INTO notifications \
             (ticket, seq, alert, channel, recipient, message, created_at, next_at) \
             VALUES {} ON CONFLICT DO NOTHING",
            placeholders(conn, chunk.len(), 8)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (told, at, out) in chunk {
            let (ticket, alert, seq) = match told {
                Told::Ticket(number) => (Some(*number), None, i64::from(out.seq)),
                Told::Alert(id) => (None, Some(*id), 0),
            };
            query = query
                .bind(ticket)
                .bind(seq)
                .bind(alert)
                .bind(&out.channel)
                .bind(out.recipient.clone())
                .bind(&out.message)
                .bind(millis(*at))
                .bind(millis(*at));
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
) -> Result<Vec<Delivery>, StoreError> {
    let rows = crate::db::claim_rows(
        conn,
        backend,
        "UPDATE notifications SET claimed_by = $1, claim_until = $2 \
         WHERE id IN (SELECT id FROM notifications \
         WHERE delivered_at IS NULL AND failed_at IS NULL AND next_at <= $3 \
         AND (claim_until IS NULL OR claim_until < $3) ORDER BY next_at LIMIT $4 {lock}) \
         RETURNING id, ticket, seq, alert, channel, recipient, message, attempts",
        (worker, now, lease, limit),
    )
    .await?;
    let mut claimed = rows
        .iter()
        .map(|row| {
            let ticket: Option<String> = row.try_get(1)?;
            let alert: Option<String> = row.try_get(3)?;
            let about = match (ticket, alert) {
                (Some(number), None) => About::Ticket {
                    number,
                    seq: count(row.try_get(2)?)?,
                },
                (None, Some(id)) => About::Alert(id),
                _ => {
                    return Err(StoreError::Corrupt(
                        "an outbox row tells of both a ticket and an alert, or of neither".into(),
                    ));
                }
            };
            Ok(Delivery {
                id: row.try_get(0)?,
                about,
                channel: row.try_get(4)?,
                recipient: row.try_get(5)?,
                message: row.try_get(6)?,
                attempts: count(row.try_get(7)?)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    claimed.sort_by_key(|d| d.id);
    Ok(claimed)
}

/// Records one attempt on a row this worker holds: delivered, failed for good
/// (`retry_at` none), or to be tried again at `retry_at`. False when the claim was
/// lost meanwhile (the lease ran out and another worker took the row).
pub(crate) async fn settle(
    conn: &mut AnyConnection,
    delivery: &Delivery,
    worker: &str,
    now: Timestamp,
    outcome: Result<(), (&str, Option<Timestamp>)>,
) -> Result<bool, StoreError> {
    let (delivered, failed, next, error) = match outcome {
        Ok(()) => (Some(millis(now)), None, None, None),
        Err((error, Some(retry))) => (None, None, Some(millis(retry)), Some(error)),
        Err((error, None)) => (None, Some(millis(now)), None, Some(error)),
    };
    let done = sqlx::query(
        "UPDATE notifications SET attempts = attempts + 1, delivered_at = $1, failed_at = $2, \
         next_at = COALESCE($3, next_at), last_error = $4, claimed_by = NULL, claim_until = NULL \
         WHERE id = $5 AND claimed_by = $6",
    )
    .bind(delivered)
    .bind(failed)
    .bind(next)
    .bind(error)
    .bind(delivery.id)
    .bind(worker)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(crate) const ROW_COLUMNS: &str = "SELECT id, ticket, seq, channel, attempts, next_at, \
     delivered_at, failed_at, last_error, recipient FROM notifications";

pub(crate) fn row(row: &AnyRow) -> Result<NotificationRow, StoreError> {
    let at = |i: usize| -> Result<Option<Timestamp>, StoreError> {
        row.try_get::<Option<i64>, _>(i)?
            .map(from_millis)
            .transpose()
    };
    Ok(NotificationRow {
        id: row.try_get(0)?,
        ticket: row.try_get(1)?,
        seq: count(row.try_get(2)?)?,
        channel: row.try_get(3)?,
        attempts: count(row.try_get(4)?)?,
        next_at: from_millis(row.try_get(5)?)?,
        delivered_at: at(6)?,
        failed_at: at(7)?,
        last_error: row.try_get(8)?,
        recipient: row.try_get(9)?,
    })
}

fn count(value: i64) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("count {value} out of range")))
}
