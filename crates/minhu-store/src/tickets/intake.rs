//! Writing tickets: a new one (numbered, with its idempotency key), many at once for
//! bulk loads, and events appended to one; each inside the caller's transaction, with
//! everything else the change writes.

use super::{Appended, Created, Idempotency, NewTicket, ticket_from_state};
use crate::audit::AuditEntry;
use crate::db::{Backend, StoreError, json, millis, placeholders};
use crate::outbox::Told;
use minhu_core::event::{Change, Event};
use minhu_core::ids::TicketNumber;
use minhu_core::rollup::Rollup;
use minhu_core::ticket::Ticket;
use minhu_core::timer::Timer;
use sqlx::{AnyConnection, Connection, Row};

/// One new ticket in its own transaction: a group's fallback when the group as a
/// whole failed, so that one bad intake fails alone. The number is taken in its own
/// short transaction first ([`take_numbers_apart`]), so concurrent writers do not
/// queue behind the day's counter row; a failed intake leaves a gap in the day's
/// numbers, never a repeat.
pub(crate) async fn create_one(
    conn: &mut AnyConnection,
    new: &NewTicket,
    backend: Backend,
) -> Result<Created, StoreError> {
    if let Some(existing) = find_by_key(conn, new.idempotency.as_ref()).await? {
        return Ok(existing);
    }
    let starts = take_numbers_apart(conn, &[new], backend).await?;
    let mut tx = conn.begin().await?;
    match insert_numbered(&mut tx, &[new], starts).await? {
        Some(mut tickets) => {
            tx.commit().await?;
            Ok(Created {
                ticket: tickets.remove(0),
                fresh: true,
            })
        }
        None => {
            // A concurrent retry won the race for the key: keep its ticket, drop ours.
            tx.rollback().await?;
            find_by_key(conn, new.idempotency.as_ref())
                .await?
                .ok_or_else(|| StoreError::Corrupt("idempotency key without its ticket".into()))
        }
    }
}

/// What the group writer does with one intake of its group.
enum Fate {
    /// Stored as the group's n-th new ticket.
    New(usize),
    /// A retry of the group's n-th new ticket, sent again before the first was answered.
    Repeat(usize),
    /// An earlier request's ticket, found by its key.
    Found(Box<Created>),
    /// A key reused for another demand: that request's own mistake.
    Mismatch,
}

/// Many intakes that arrived together, in one transaction with a statement per table
/// rather than per ticket (group commit: the writer's cost per ticket is what bounds
/// intake). Keys are looked up in one statement; a key repeated inside the group
/// creates one ticket, the repeat gets it back as an earlier request's. On PostgreSQL
/// the numbers are taken before the transaction, so that concurrent groups do not
/// queue behind the day's counter row. Any database error fails the whole group (the
/// caller falls back to [`create_one`] for each); a key mismatch is only that
/// intake's outcome.
pub(crate) async fn create_group(
    conn: &mut AnyConnection,
    group: &[&NewTicket],
    backend: Backend,
) -> Result<Vec<Result<Created, StoreError>>, StoreError> {
    let keys: Vec<&str> = group
        .iter()
        .filter_map(|new| new.idempotency.as_ref().map(|k| k.key.as_str()))
        .collect();
    let found = find_by_keys(conn, &keys).await?;
    let mut fresh: Vec<&NewTicket> = Vec::with_capacity(group.len());
    let mut first_with_key: std::collections::HashMap<&str, usize> = Default::default();
    let fates: Vec<Fate> = group
        .iter()
        .map(|new| {
            let Some(key) = &new.idempotency else {
                fresh.push(new);
                return Fate::New(fresh.len() - 1);
            };
            if let Some(outcome) = earlier(&found, key) {
                return match outcome {
                    Ok(created) => Fate::Found(Box::new(created)),
                    Err(_) => Fate::Mismatch,
                };
            }
            if let Some(&first) = first_with_key.get(key.key.as_str()) {
                let first_key = fresh[first].idempotency.as_ref().expect("keyed");
                return if first_key.fingerprint == key.fingerprint {
                    Fate::Repeat(first)
                } else {
                    Fate::Mismatch
                };
            }
            first_with_key.insert(&key.key, fresh.len());
            fresh.push(new);
            Fate::New(fresh.len() - 1)
        })
        .collect();
    let (starts, mut tx) = if backend == Backend::Postgres {
        (
            take_numbers_apart(conn, &fresh, backend).await?,
            conn.begin().await?,
        )
    } else {
        let mut tx = conn.begin().await?;
        (take_numbers(&mut tx, &fresh).await?, tx)
    };
    let Some(tickets) = insert_numbered(&mut tx, &fresh, starts).await? else {
        return Err(StoreError::Corrupt(
            "an idempotency key of the group was taken concurrently".into(),
        ));
    };
    tx.commit().await?;
    Ok(fates
        .into_iter()
        .map(|fate| match fate {
            Fate::New(i) => Ok(Created {
                ticket: tickets[i].clone(),
                fresh: true,
            }),
            Fate::Repeat(i) => Ok(Created {
                ticket: tickets[i].clone(),
                fresh: false,
            }),
            Fate::Found(created) => Ok(*created),
            Fate::Mismatch => Err(StoreError::IdempotencyMismatch),
        })
        .collect())
}

/// The tickets earlier requests created under these keys, with their fingerprints.
async fn find_by_keys(
    conn: &mut AnyConnection,
    keys: &[&str],
) -> Result<std::collections::HashMap<String, (String, Ticket)>, StoreError> {
    let mut found = std::collections::HashMap::new();
    for chunk in crate::db::row_chunks(conn, keys, EVENT_ROWS) {
        let marks = placeholders(conn, chunk.len(), 1);
        let sql = format!(
            "SELECT k.key, k.fingerprint, t.state FROM idempotency_keys k \
             JOIN tickets t ON t.number = k.ticket WHERE k.key IN ({})",
            marks.replace(['(', ')'], "")
        );
        // Planned at each call, not cached: a plan cached while the table was small
        // (a fresh store's first minutes, before any autoanalyze) scans the whole table
        // for ever after; on a fresh PostgreSQL store that was ~7 million rows read
        // per 15,000 intakes.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(false);
        for key in chunk {
            query = query.bind(*key);
        }
        for row in query.fetch_all(&mut *conn).await? {
            let ticket = ticket_from_state(&row.try_get::<String, _>(2)?)?;
            found.insert(row.try_get(0)?, (row.try_get(1)?, ticket));
        }
    }
    Ok(found)
}

/// The ticket an earlier request with this key created, if any.
async fn find_by_key(
    conn: &mut AnyConnection,
    key: Option<&Idempotency>,
) -> Result<Option<Created>, StoreError> {
    let Some(key) = key else { return Ok(None) };
    let found = find_by_keys(conn, &[key.key.as_str()]).await?;
    earlier(&found, key).transpose()
}

/// What an earlier request under `key` left among `found`: its ticket, or a mismatch
/// when that request was for another demand.
fn earlier(
    found: &std::collections::HashMap<String, (String, Ticket)>,
    key: &Idempotency,
) -> Option<Result<Created, StoreError>> {
    let (fingerprint, ticket) = found.get(key.key.as_str())?;
    Some(if *fingerprint == key.fingerprint {
        Ok(Created {
            ticket: ticket.clone(),
            fresh: false,
        })
    } else {
        Err(StoreError::IdempotencyMismatch)
    })
}

/// Rows per multi-row insert of new tickets. Far below SQLite's bound-parameter limit
/// (32,766): sqlx's cost per statement grows faster than its parameters, and a
/// 20,000-ticket load (debug build) ran twice as fast with 100 rows per statement as
/// with 1,000.
const TICKET_ROWS: usize = 128;

/// Rows per multi-row insert of events or timers (6 and 3 values each).
pub(crate) const EVENT_ROWS: usize = 512;

/// The `tickets` rows of new tickets, [`TICKET_ROWS`] per statement.
async fn insert_ticket_rows(
    conn: &mut AnyConnection,
    rows: &[(&Ticket, &NewTicket)],
) -> Result<(), StoreError> {
    for chunk in crate::db::row_chunks(conn, rows, TICKET_ROWS) {
        let sql = format!(
            "INSERT INTO tickets (number, channel, kind, title, description, citizen_phone, \
             external_ref, created_at, version, status, category, region, region_path, unit, \
             updated_at, resolve_by, state, tier, returned_from, extension_pending, review_on, \
             dispute_count, city, city_from, alert) VALUES {}",
            placeholders(conn, chunk.len(), 25)
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

/// The first number of each day a group's tickets take, in group order.
pub(crate) type NumberStarts = std::collections::BTreeMap<jiff::civil::Date, u64>;

/// Takes a block of numbers per day for `batch`: the first of each block.
pub(crate) async fn take_numbers(
    conn: &mut AnyConnection,
    batch: &[&NewTicket],
) -> Result<NumberStarts, StoreError> {
    take_numbers_by(
        conn,
        batch,
        "INSERT INTO ticket_counters (day, last) VALUES ($1, $2) ON CONFLICT (day) \
         DO UPDATE SET last = ticket_counters.last + excluded.last RETURNING last",
    )
    .await
}

/// [`take_numbers`] with the counter's statement given: `$1` the day, `$2` how many.
async fn take_numbers_by(
    conn: &mut AnyConnection,
    batch: &[&NewTicket],
    sql: &'static str,
) -> Result<NumberStarts, StoreError> {
    let mut per_day = NumberStarts::new();
    for new in batch {
        *per_day.entry(new.day).or_default() += 1;
    }
    for (day, count) in per_day.iter_mut() {
        let last: i64 = sqlx::query_scalar(sql)
            .bind(day.to_string())
            .bind(*count as i64)
            .fetch_one(&mut *conn)
            .await?;
        *count = last as u64 + 1 - *count;
    }
    Ok(per_day)
}

/// Many new tickets inside the caller's transaction, a statement per table and chunk
/// rather than per ticket ([`TicketStore::create_tickets`](crate::TicketStore::create_tickets)).
pub(super) async fn insert_batch(
    conn: &mut AnyConnection,
    batch: &[&NewTicket],
) -> Result<Vec<Ticket>, StoreError> {
    let starts = take_numbers(conn, batch).await?;
    insert_numbered(conn, batch, starts)
        .await?
        .ok_or_else(|| StoreError::Corrupt("an idempotency key of the batch was taken".into()))
}

/// [`take_numbers`] committed on its own, before the tickets' transaction.
///
/// On PostgreSQL each day's block is one autocommitted statement whose commit does
/// not wait for its WAL to reach the disk (`synchronous_commit` set off for that
/// statement's own transaction by `set_config(.., true)`; one round trip instead of
/// four for BEGIN, SET LOCAL, the update and COMMIT): concurrent writers queue on the
/// day's counter row for as long as its lock is held, and a flush per group was what
/// bounded intake (2 ms a group, four writers in series). Nothing is lost by it: a
/// ticket's own commit flushes the WAL up to its commit record, so the counter's
/// earlier change is on disk before any ticket numbered from it is; a crash can
/// forget only numbers no stored ticket carries.
async fn take_numbers_apart(
    conn: &mut AnyConnection,
    batch: &[&NewTicket],
    backend: Backend,
) -> Result<NumberStarts, StoreError> {
    if backend == Backend::Postgres {
        return take_numbers_by(
            conn,
            batch,
            "INSERT INTO ticket_counters (day, last) \
             SELECT $1, $2 FROM (SELECT set_config('synchronous_commit', 'off', true)) AS quick \
             ON CONFLICT (day) DO UPDATE SET last = ticket_counters.last + excluded.last \
             RETURNING last",
        )
        .await;
    }
    let mut tx = conn.begin().await?;
    let starts = take_numbers(&mut tx, batch).await?;
    tx.commit().await?;
    Ok(starts)
}

/// [`insert_batch`] with the numbers taken: each day's tickets numbered from its start,
/// in batch order. `None` when a key was claimed concurrently (PostgreSQL: another
/// node's retry): the caller must roll back.
async fn insert_numbered(
    conn: &mut AnyConnection,
    batch: &[&NewTicket],
    mut next: NumberStarts,
) -> Result<Option<Vec<Ticket>>, StoreError> {
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
    let rows: Vec<(&Ticket, &NewTicket)> = tickets.iter().zip(batch.iter().copied()).collect();
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
    let messages: Vec<_> = rows
        .iter()
        .map(|(t, new)| {
            let told = Told::Ticket(t.number.as_str());
            (told, t.updated_at, new.notifications.as_slice())
        })
        .collect();
    crate::outbox::insert_many(conn, &messages).await?;
    let audit: Vec<AuditEntry> = rows
        .iter()
        .filter_map(|(t, new)| {
            let entry = new.audit.as_ref()?;
            Some(AuditEntry {
                target: Some(t.number.to_string()),
                ..entry.clone()
            })
        })
        .collect();
    crate::audit::insert_many(conn, &audit).await?;
    let keys: Vec<(&Ticket, &Idempotency)> = rows
        .iter()
        .filter_map(|(t, new)| Some((*t, new.idempotency.as_ref()?)))
        .collect();
    for chunk in crate::db::row_chunks(conn, &keys[..], EVENT_ROWS) {
        let sql = format!(
            "INSERT INTO idempotency_keys (key, fingerprint, ticket, created_at) VALUES {} \
             ON CONFLICT (key) DO NOTHING",
            placeholders(conn, chunk.len(), 4)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (ticket, key) in chunk {
            query = query
                .bind(&key.key)
                .bind(&key.fingerprint)
                .bind(ticket.number.as_str())
                .bind(millis(ticket.created_at));
        }
        if query.execute(&mut *conn).await?.rows_affected() < chunk.len() as u64 {
            return Ok(None);
        }
    }
    for (ticket, new) in &rows {
        // Rare at intake, so one statement each where they occur.
        sync_parts(conn, ticket, &new.events).await?;
    }
    crate::rollups::add(conn, &rollup).await?;
    Ok(Some(tickets))
}

/// Binds, in this order, the columns that change as a ticket moves: version, status,
/// category, region, region_path, unit, updated_at, resolve_by, the state itself, and
/// what the work lists sort and filter on (migration 0017): tier, returned_from,
/// extension_pending, review_on and dispute_count; its city and the city that
/// handed it over (migration 0022); and the alert its timers raised. One statement
/// writes them all: a second `UPDATE` for the alert made a second row version (and
/// its index entries) of every ticket at every step.
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
        .bind(ticket.intake.city.as_ref().map(|c| c.as_str().to_owned()))
        .bind(
            ticket
                .transfer
                .as_ref()
                .and_then(|t| t.from.as_ref())
                .map(|c| c.as_str().to_owned()),
        )
        .bind(ticket.alerts.flag().map(|f| f.code()))
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
    for chunk in crate::db::row_chunks(conn, events, EVENT_ROWS) {
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

/// One ticket's share of an append, inside the caller's transaction, and what it adds
/// to the rollups, for the caller to write last. `None` when the ticket is not at the
/// version the events follow (changed concurrently, or missing).
pub(super) async fn append_in(
    conn: &mut AnyConnection,
    appended: &Appended<'_>,
) -> Result<Option<Rollup>, StoreError> {
    let ticket = appended.ticket;
    let previous = ticket.version - appended.events.len() as u32;
    let update = sqlx::query(
        "UPDATE tickets SET version = $1, status = $2, category = $3, region = $4, \
         region_path = $5, unit = $6, updated_at = $7, resolve_by = $8, state = $9, \
         tier = $10, returned_from = $11, extension_pending = $12, review_on = $13, \
         dispute_count = $14, city = $15, city_from = $16, alert = $17 \
         WHERE number = $18 AND version = $19",
    );
    let updated = bind_projection(update, ticket, appended.region_path.map(str::to_owned))
        .bind(ticket.number.as_str())
        .bind(i64::from(previous))
        .execute(&mut *conn)
        .await?;
    if updated.rows_affected() == 0 {
        return Ok(None);
    }
    let rollup = crate::rollups::change(conn, &ticket.number, appended.events).await?;
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
    Ok(Some(rollup))
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
