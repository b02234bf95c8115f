//! Citizens' follow codes: the one-time code a citizen is sent to follow a ticket, the
//! tries at it and the codes sent per day (the counters themselves are in
//! [`crate::tries`], with the other counters that limit guessing).

use crate::db::{SqlStore, StoreError, from_millis, millis};
use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::Row;

/// A one-time code a citizen was sent to follow a ticket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FollowCode {
    pub ticket: String,
    pub code_hash: String,
    pub expires_at: Timestamp,
    pub attempts: u32,
}

/// Follow codes and the counters that keep them from being guessed or sent too often.
#[async_trait]
pub trait FollowStore: Send + Sync {
    /// Replaces the ticket's follow code (one live code per ticket).
    async fn put_follow_code(&self, code: &FollowCode) -> Result<(), StoreError>;

    async fn follow_code(&self, ticket: &str) -> Result<Option<FollowCode>, StoreError>;

    async fn delete_follow_code(&self, ticket: &str) -> Result<(), StoreError>;

    /// Counts one try at the ticket's live code, in one statement, and returns the
    /// code's hash to compare; `None` when there is no live code or its tries are
    /// used up (then nothing is counted).
    async fn claim_follow_try(
        &self,
        ticket: &str,
        now: Timestamp,
        max_tries: u32,
    ) -> Result<Option<String>, StoreError>;

    /// Uses the code up if it is still the ticket's code; false when another request
    /// used it (or a new one replaced it) first. A used code never comes back.
    async fn use_follow_code(&self, ticket: &str, code_hash: &str) -> Result<bool, StoreError>;

    /// Counts one code sent to `subject` (a ticket, a phone's digest) on `day`, if
    /// fewer than `cap` were; false (nothing counted) at the cap. Earlier days' counts
    /// are swept.
    async fn count_code_sent(
        &self,
        subject: &str,
        day: jiff::civil::Date,
        cap: u32,
    ) -> Result<bool, StoreError>;

    /// Forgets the codes counted for `subject` (an erased citizen's phone digest).
    async fn forget_code_sends(&self, subject: &str) -> Result<(), StoreError>;
}

#[async_trait]
impl FollowStore for SqlStore {
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
}
