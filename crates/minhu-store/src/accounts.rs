//! Officials' accounts, API clients' tokens and browser sessions, and the sign-in
//! counters of each login (their atomic statements are in [`crate::tries`]).

use crate::db::{SqlStore, StoreError, from_millis, millis};
use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub login: String,
    pub display_name: String,
    pub role: String,
    pub unit: Option<String>,
    /// For officials of a district or street (supervisors): their region subtree.
    pub region: Option<String>,
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: Timestamp,
    /// Sign-in tries at this login within the current window, read from the sign-in
    /// counters ([`AccountStore::claim_login_try`]); written only when the account is made.
    pub failed_logins: u32,
    /// Until when sign-ins at this login are delayed from everywhere (read as above).
    pub locked_until: Option<Timestamp>,
}

/// An API client's credentials: only the SHA-256 of the token is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiToken {
    pub token_hash: String,
    pub name: String,
    /// Permission codes (`ticket.view`, ...).
    pub permissions: Vec<String>,
    pub unit: Option<String>,
    pub region: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked: bool,
    /// Requests per minute this token may make; `None`: the server's default.
    pub rate_per_min: Option<u32>,
}

/// A browser session. `subject` is `user:<login>` or `citizen:<ticket number>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub id_hash: String,
    pub subject: String,
    /// The synchronizer token forms must send back.
    pub csrf: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// How sign-in tries are limited ([`AccountStore::claim_login_try`]).
#[derive(Clone, Copy, Debug)]
pub struct LoginPolicy {
    /// Tries one address may make at one login within `window`...
    pub pair_tries: u32,
    /// ...before that pair is locked this long.
    pub pair_lock: jiff::SignedDuration,
    /// Tries at one login from all addresses within `window` before it is delayed.
    pub ceiling: u32,
    pub window: jiff::SignedDuration,
    /// The first delay of a login past its ceiling; each next one is twice as long...
    pub first_delay: jiff::SignedDuration,
    /// ...up to this.
    pub max_delay: jiff::SignedDuration,
}

/// What a claimed sign-in try may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginTry {
    /// Check the password.
    Allowed,
    /// This login and address are locked; `newly` when this try locked them.
    Locked { newly: bool },
    /// The login is delayed from everywhere until `until`; `newly` when this try
    /// reached the ceiling.
    Delayed { newly: bool, until: Timestamp },
}

/// What an official is told at a sign-in about the tries since the last one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoginNotice {
    /// Tries that did not sign in, from any address.
    pub failures: u32,
    /// How often the login was delayed for reaching the ceiling.
    pub delays: u32,
}

/// Accounts, tokens, sessions and sign-in tries: who may act, and how they prove it.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Adds an account, or updates an existing one's name, role, scope and password
    /// only: whether it is disabled changes through [`AccountStore::set_user_disabled`], so a
    /// save holding the account as it was read cannot undo a disable.
    async fn put_user(&self, user: &User) -> Result<(), StoreError>;

    async fn user(&self, login: &str) -> Result<Option<User>, StoreError>;

    async fn users(&self) -> Result<Vec<User>, StoreError>;

    /// Sets only the account's `disabled` flag (no other step's columns, so nothing
    /// in flight can undo it); false when there is no such account.
    async fn set_user_disabled(&self, login: &str, disabled: bool) -> Result<bool, StoreError>;

    /// Adds a token, or replaces the one with the same name.
    async fn put_token(&self, token: &ApiToken) -> Result<(), StoreError>;

    async fn token(&self, token_hash: &str) -> Result<Option<ApiToken>, StoreError>;

    async fn tokens(&self) -> Result<Vec<ApiToken>, StoreError>;

    async fn put_session(&self, session: &Session) -> Result<(), StoreError>;

    async fn session(&self, id_hash: &str) -> Result<Option<Session>, StoreError>;

    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError>;

    /// Forgets sessions that expired before `now`; returns how many.
    async fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64, StoreError>;

    /// Ends every session of a subject (a disabled account, a changed role).
    async fn delete_sessions_of(&self, subject: &str) -> Result<(), StoreError>;

    /// Counts a sign-in try at `login` from `address` before its password is checked,
    /// each counter in one atomic statement: per login and address, then per login
    /// from everywhere (a try the ceiling refuses is given back to the pair).
    async fn claim_login_try(
        &self,
        login: &str,
        address: &str,
        now: Timestamp,
        policy: &LoginPolicy,
    ) -> Result<LoginTry, StoreError>;

    /// A claimed try signed in: the pair is forgotten, the try given back to the
    /// ceiling, and what happened since the last sign-in is returned (and reset).
    /// Rows nobody needs any more are swept.
    async fn login_succeeded(
        &self,
        login: &str,
        address: &str,
        now: Timestamp,
        policy: &LoginPolicy,
    ) -> Result<LoginNotice, StoreError>;

    /// Forgets every lock and delay of a login (an administrator enabled it again).
    async fn clear_login_tries(&self, login: &str) -> Result<(), StoreError>;
}

#[async_trait]
impl AccountStore for SqlStore {
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

    async fn set_user_disabled(&self, login: &str, disabled: bool) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE users SET disabled = $1 WHERE login = $2")
            .bind(i64::from(disabled))
            .bind(login)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
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
