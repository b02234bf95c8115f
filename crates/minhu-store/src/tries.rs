//! Counters that limit guessing: sign-in tries per login and address and per login
//! from everywhere, tries at a citizen's follow code, and codes sent per day.
//!
//! Each counter moves in one statement that reads, decides and writes at once (an
//! upsert or an UPDATE ... RETURNING), so concurrent requests can never all read "4
//! tries" and all go on: the database serialises them on the row. A try is counted
//! before the secret is checked, and given back only when it succeeds.

use crate::accounts::{LoginNotice, LoginPolicy, LoginTry};
use crate::db::{StoreError, millis};
use jiff::Timestamp;
use sqlx::{AnyConnection, Row};

/// Which way a pair's claim goes, from its row before the claim: 1 locked, 3 a new
/// window (the old one, or its lock, is over), 2 the tries are used up (lock now),
/// 0 count one more. $3 now, $4 the oldest window start still running, $5 the tries.
const PAIR_STATE: &str = "CASE WHEN login_tries.locked_until > $3 THEN 1 \
     WHEN login_tries.locked_until IS NOT NULL OR login_tries.window_start <= $4 THEN 3 \
     WHEN login_tries.tries >= $5 THEN 2 ELSE 0 END";

/// The same for a login from everywhere: 1 delayed, 3 a new window, 2 the ceiling is
/// reached (delay now), 0 count one more. $2 now, $3 the oldest window start still
/// running, $4 the ceiling.
const CEILING_STATE: &str = "CASE WHEN login_ceilings.delayed_until > $2 THEN 1 \
     WHEN login_ceilings.window_start <= $3 THEN 3 \
     WHEN login_ceilings.tries >= $4 THEN 2 ELSE 0 END";

fn ms(duration: jiff::SignedDuration) -> i64 {
    duration.as_millis().try_into().unwrap_or(i64::MAX)
}

/// Counts a try of `login` from `address`; runs inside the caller's transaction.
pub(crate) async fn claim_login(
    conn: &mut AnyConnection,
    login: &str,
    address: &str,
    now: Timestamp,
    policy: &LoginPolicy,
) -> Result<LoginTry, StoreError> {
    let window_start = millis(now) - ms(policy.window);
    let pair = PAIR_STATE;
    let outcome: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "INSERT INTO login_tries (login, address, window_start, tries, locked_until, outcome) \
         VALUES ($1, $2, $3, 1, NULL, 0) ON CONFLICT (login, address) DO UPDATE SET \
         outcome = CASE {pair} WHEN 1 THEN 1 WHEN 2 THEN 2 ELSE 0 END, \
         tries = CASE {pair} WHEN 0 THEN login_tries.tries + 1 WHEN 3 THEN 1 \
                 ELSE login_tries.tries END, \
         window_start = CASE {pair} WHEN 3 THEN $3 ELSE login_tries.window_start END, \
         locked_until = CASE {pair} WHEN 2 THEN $6 WHEN 3 THEN NULL \
                 ELSE login_tries.locked_until END \
         RETURNING outcome"
    )))
    .bind(login)
    .bind(address)
    .bind(millis(now))
    .bind(window_start)
    .bind(i64::from(policy.pair_tries))
    .bind(millis(now) + ms(policy.pair_lock))
    .fetch_one(&mut *conn)
    .await?;
    if outcome != 0 {
        return Ok(LoginTry::Locked {
            newly: outcome == 2,
        });
    }
    let ceiling = CEILING_STATE;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO login_ceilings (login, window_start, tries, delayed_until, next_delay_ms, \
         failures, delays, outcome) VALUES ($1, $2, 1, NULL, $5, 1, 0, 0) \
         ON CONFLICT (login) DO UPDATE SET \
         outcome = CASE {ceiling} WHEN 1 THEN 1 WHEN 2 THEN 2 ELSE 0 END, \
         tries = CASE {ceiling} WHEN 0 THEN login_ceilings.tries + 1 WHEN 3 THEN 1 \
                 WHEN 2 THEN 0 ELSE login_ceilings.tries END, \
         window_start = CASE {ceiling} WHEN 2 THEN $2 WHEN 3 THEN $2 \
                 ELSE login_ceilings.window_start END, \
         delayed_until = CASE {ceiling} WHEN 2 THEN $2 + login_ceilings.next_delay_ms \
                 ELSE login_ceilings.delayed_until END, \
         next_delay_ms = CASE {ceiling} WHEN 2 THEN \
                 (CASE WHEN login_ceilings.next_delay_ms * 2 > $6 THEN $6 \
                  ELSE login_ceilings.next_delay_ms * 2 END) \
                 ELSE login_ceilings.next_delay_ms END, \
         failures = CASE {ceiling} WHEN 0 THEN login_ceilings.failures + 1 \
                 WHEN 3 THEN login_ceilings.failures + 1 ELSE login_ceilings.failures END, \
         delays = CASE {ceiling} WHEN 2 THEN login_ceilings.delays + 1 \
                 ELSE login_ceilings.delays END \
         RETURNING outcome, delayed_until"
    )))
    .bind(login)
    .bind(millis(now))
    .bind(window_start)
    .bind(i64::from(policy.ceiling))
    .bind(ms(policy.first_delay))
    .bind(ms(policy.max_delay))
    .fetch_one(&mut *conn)
    .await?;
    let outcome: i64 = row.try_get(0)?;
    if outcome == 0 {
        return Ok(LoginTry::Allowed);
    }
    // The pair did not get to try: its count is given back, so an official waiting
    // out a delay is not locked out of their own address as well.
    sqlx::query(
        "UPDATE login_tries SET tries = tries - 1 WHERE login = $1 AND address = $2 AND tries > 0",
    )
    .bind(login)
    .bind(address)
    .execute(&mut *conn)
    .await?;
    let until: Option<i64> = row.try_get(1)?;
    Ok(LoginTry::Delayed {
        newly: outcome == 2,
        until: crate::db::from_millis(until.unwrap_or_else(|| millis(now)))?,
    })
}

/// A claimed try signed in; runs inside the caller's transaction.
pub(crate) async fn login_succeeded(
    conn: &mut AnyConnection,
    login: &str,
    address: &str,
    now: Timestamp,
    policy: &LoginPolicy,
) -> Result<LoginNotice, StoreError> {
    sqlx::query("DELETE FROM login_tries WHERE login = $1 AND address = $2")
        .bind(login)
        .bind(address)
        .execute(&mut *conn)
        .await?;
    // SET reads the row as it was, so `told_*` carry the counts out of the statement
    // that resets them: no failure counted meanwhile can fall between a read and a
    // reset. This try itself is no failure.
    let row = sqlx::query(
        "UPDATE login_ceilings SET \
         told_failures = CASE WHEN failures > 0 THEN failures - 1 ELSE 0 END, \
         told_delays = delays, failures = 0, delays = 0, \
         tries = CASE WHEN tries > 0 THEN tries - 1 ELSE 0 END, next_delay_ms = $2 \
         WHERE login = $1 RETURNING told_failures, told_delays",
    )
    .bind(login)
    .bind(ms(policy.first_delay))
    .fetch_optional(&mut *conn)
    .await?;
    let notice = match row {
        Some(row) => LoginNotice {
            failures: count(row.try_get(0)?),
            delays: count(row.try_get(1)?),
        },
        None => LoginNotice::default(),
    };
    sweep(conn, now, policy).await?;
    Ok(notice)
}

fn count(value: i64) -> u32 {
    value.clamp(0, i64::from(u32::MAX)) as u32
}

/// Forgets rows whose window and lock are over. A login's delays are kept for an
/// account until it signs in (it is told of them then); for a login without an
/// account nobody will be.
async fn sweep(
    conn: &mut AnyConnection,
    now: Timestamp,
    policy: &LoginPolicy,
) -> Result<(), StoreError> {
    let window_start = millis(now) - ms(policy.window);
    sqlx::query(
        "DELETE FROM login_tries WHERE window_start <= $1 \
         AND (locked_until IS NULL OR locked_until <= $2)",
    )
    .bind(window_start)
    .bind(millis(now))
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "DELETE FROM login_ceilings WHERE window_start <= $1 \
         AND (delayed_until IS NULL OR delayed_until <= $2) \
         AND (delays = 0 OR login NOT IN (SELECT login FROM users))",
    )
    .bind(window_start)
    .bind(millis(now))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(crate) async fn clear_login(conn: &mut AnyConnection, login: &str) -> Result<(), StoreError> {
    for table in ["login_tries", "login_ceilings"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE login = $1"
        )))
        .bind(login)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub(crate) async fn claim_follow_try(
    conn: &mut AnyConnection,
    ticket: &str,
    now: Timestamp,
    max_tries: u32,
) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "UPDATE follow_codes SET attempts = attempts + 1 \
         WHERE ticket = $1 AND expires_at > $2 AND attempts < $3 RETURNING code_hash",
    )
    .bind(ticket)
    .bind(millis(now))
    .bind(i64::from(max_tries))
    .fetch_optional(&mut *conn)
    .await?)
}

pub(crate) async fn use_follow_code(
    conn: &mut AnyConnection,
    ticket: &str,
    code_hash: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM follow_codes WHERE ticket = $1 AND code_hash = $2")
        .bind(ticket)
        .bind(code_hash)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn count_code_sent(
    conn: &mut AnyConnection,
    subject: &str,
    day: jiff::civil::Date,
    cap: u32,
) -> Result<bool, StoreError> {
    if cap == 0 {
        return Ok(false);
    }
    let day = day.to_string();
    let sent: Option<i64> = sqlx::query_scalar(
        "INSERT INTO follow_code_sends (subject, day, sent) VALUES ($1, $2, 1) \
         ON CONFLICT (subject, day) DO UPDATE SET sent = follow_code_sends.sent + 1 \
         WHERE follow_code_sends.sent < $3 RETURNING sent",
    )
    .bind(subject)
    .bind(&day)
    .bind(i64::from(cap))
    .fetch_optional(&mut *conn)
    .await?;
    // ISO dates sort as text.
    sqlx::query("DELETE FROM follow_code_sends WHERE day < $1")
        .bind(&day)
        .execute(&mut *conn)
        .await?;
    Ok(sent.is_some())
}
