//! Writing tickets: a new one (numbered, with its idempotency key), many at once for
//! bulk loads, and events appended to one; each inside the caller's transaction, with
//! everything else the change writes.

use super::{Appended, Created, Idempotency, NewTicket, ticket_from_state};
use crate::audit::AuditEntry;
use crate::db::{SqlStore, StoreError, json, millis, placeholders};
use crate::outbox::Told;
use minhu_core::event::{Change, Event};
use minhu_core::ids::TicketNumber;
use minhu_core::rollup::Rollup;
use minhu_core::ticket::Ticket;
use minhu_core::timer::Timer;
use sqlx::{AnyConnection, Connection, Row};

impl SqlStore {
    /// PostgreSQL intake: one transaction per ticket, many at once. The number is taken
    /// in its own short statement first, so concurrent intakes do not queue behind the
    /// counter row; a failed intake leaves a gap in the day's numbers, never a repeat.
    pub(super) async fn create_concurrently(&self, new: NewTicket) -> Result<Created, StoreError> {
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

/// One new ticket inside the writer's transaction (SQLite: nothing else writes
/// meanwhile, so checking the key first cannot race).
pub(crate) async fn create_in(
    conn: &mut AnyConnection,
    new: &NewTicket,
) -> Result<Created, StoreError> {
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
        crate::audit::insert(
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

/// Rows per multi-row insert of new tickets. Far below SQLite's bound-parameter limit
/// (32,766): sqlx's cost per statement grows faster than its parameters, and a
/// 20,000-ticket load (debug build) ran twice as fast with 100 rows per statement as
/// with 1,000.
const TICKET_ROWS: usize = 100;

/// Rows per multi-row insert of events or timers (6 and 3 values each).
pub(crate) const EVENT_ROWS: usize = 500;

/// The `tickets` rows of new tickets, [`TICKET_ROWS`] per statement.
async fn insert_ticket_rows(
    conn: &mut AnyConnection,
    rows: &[(&Ticket, &NewTicket)],
) -> Result<(), StoreError> {
    for chunk in rows.chunks(TICKET_ROWS) {
        let sql = format!(
            "INSERT INTO tickets (number, channel, kind, title, description, citizen_phone, \
             external_ref, created_at, version, status, category, region, region_path, unit, \
             updated_at, resolve_by, state, tier, returned_from, extension_pending, review_on, \
             dispute_count) VALUES {}",
            placeholders(conn, chunk.len(), 22)
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
/// rather than per ticket ([`TicketStore::create_tickets`](crate::TicketStore::create_tickets)).
pub(super) async fn insert_batch(
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
    crate::timers::insert_new(conn, &timers).await?;
    for (ticket, new) in &rows {
        // Rare at intake, so one statement each where they occur.
        sync_parts(conn, ticket, &new.events).await?;
        if let Some(entry) = &new.audit {
            let target = Some(ticket.number.to_string());
            crate::audit::insert(
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
/// category, region, region_path, unit, updated_at, resolve_by, the state itself, and
/// what the work lists sort and filter on (migration 0017): tier, returned_from,
/// extension_pending, review_on and dispute_count.
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
        .bind(ticket.intake.tier.as_str().to_owned())
        .bind(ticket.returned_from.as_ref().map(|u| u.as_str().to_owned()))
        .bind(i64::from(ticket.extension.is_some()))
        .bind(ticket.long_term.as_ref().map(|l| review_day(l.review_on)))
        .bind(i64::from(ticket.dispute_count))
}

/// A review date as the `review_on` column keeps it: 2026-12-20 is 20261220.
pub(crate) fn review_day(date: jiff::civil::Date) -> i64 {
    i64::from(date.year()) * 10_000 + i64::from(date.month()) * 100 + i64::from(date.day())
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
pub(super) async fn append_in(
    conn: &mut AnyConnection,
    appended: &Appended<'_>,
) -> Result<bool, StoreError> {
    let ticket = appended.ticket;
    let previous = ticket.version - appended.events.len() as u32;
    let update = sqlx::query(
        "UPDATE tickets SET version = $1, status = $2, category = $3, region = $4, \
         region_path = $5, unit = $6, updated_at = $7, resolve_by = $8, state = $9, \
         tier = $10, returned_from = $11, extension_pending = $12, review_on = $13, \
         dispute_count = $14 WHERE number = $15 AND version = $16",
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
