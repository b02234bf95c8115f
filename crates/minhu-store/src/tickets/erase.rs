//! Erasing a citizen from a ticket (the right to erasure), the one change ever made to
//! stored events. It reaches every table that names the citizen (the outbox, follow
//! codes, sessions, idempotency digests) within the ticket's one transaction, which is
//! why those statements stand here and not in their own domains' modules.

use super::event_from_row;
use crate::db::{Backend, SqlStore, StoreError, json};
use minhu_core::event::Event;
use minhu_core::ids::TicketNumber;
use minhu_core::ticket::Ticket;

/// The tables an erasure rewrites or deletes from ([`TicketStore::erase_identity`](crate::TicketStore::erase_identity)), which
/// PostgreSQL vacuums afterwards ([`TicketStore::purge_erased`](crate::TicketStore::purge_erased)).
const ERASED_TABLES: &[&str] = &[
    "events",
    "tickets",
    "notifications",
    "follow_codes",
    "follow_code_sends",
    "sessions",
    "idempotency_keys",
    "channel_threads",
];

pub(super) async fn erase_identity(
    store: &SqlStore,
    number: &TicketNumber,
    erase: &(dyn for<'e> Fn(&'e mut Event) + Sync),
) -> Result<bool, StoreError> {
    let mut tx = store.writer.begin().await?;
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
    let (lift, restore) = match store.backend {
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
    // A channel contact (an OpenID, a phone, an address) whose demand this was.
    sqlx::query("DELETE FROM channel_threads WHERE ticket = $1")
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

/// After erasures: [`TicketStore::purge_erased`](super::TicketStore::purge_erased).
pub(super) async fn purge(store: &SqlStore) -> Result<(), StoreError> {
    match store.backend {
        // secure_delete (set on every connection) zeroed what the erasure freed;
        // the write-ahead log may still hold the pages as they were, so it is
        // copied into the database and emptied.
        Backend::Sqlite => {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&store.writer)
                .await?;
        }
        // An UPDATE or DELETE leaves the old row version in place until VACUUM
        // reclaims it.
        Backend::Postgres => {
            for table in ERASED_TABLES {
                sqlx::query(sqlx::AssertSqlSafe(format!("VACUUM {table}")))
                    .execute(&store.writer)
                    .await?;
            }
        }
    }
    Ok(())
}
