//! The channel adapters' memory: where each contact of a channel (a WeChat OpenID, an
//! SMS sender, an e-mail address) stands, and the platform message ids already handled.

use crate::db::{SqlStore, StoreError, from_millis, millis};
use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::Row;

/// A contact of a channel and the demand its messages go to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelThread {
    /// The channel's code (`wechat`, `sms`, `email`).
    pub channel: String,
    /// The contact's address on that channel.
    pub contact: String,
    /// The demand the contact last filed or added to.
    pub ticket: Option<String>,
    /// A message held while the citizen is asked whether it is a new demand (JSON,
    /// the adapter's own shape).
    pub pending: Option<String>,
    pub updated_at: Timestamp,
}

/// How long a platform's message id is remembered.
const MESSAGE_MEMORY_MS: i64 = 24 * 3600 * 1000;

#[async_trait]
pub trait ChannelStore: Send + Sync {
    async fn channel_thread(
        &self,
        channel: &str,
        contact: &str,
    ) -> Result<Option<ChannelThread>, StoreError>;

    /// Writes the contact's thread, replacing the one it had.
    async fn put_channel_thread(&self, thread: &ChannelThread) -> Result<(), StoreError>;

    /// Claims a platform's message id in one statement: true the first time, false
    /// for every retry of it (within a day). Older ids are swept.
    async fn claim_channel_message(
        &self,
        channel: &str,
        message: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
}

#[async_trait]
impl ChannelStore for SqlStore {
    async fn channel_thread(
        &self,
        channel: &str,
        contact: &str,
    ) -> Result<Option<ChannelThread>, StoreError> {
        let row = sqlx::query(
            "SELECT channel, contact, ticket, pending, updated_at FROM channel_threads \
             WHERE channel = $1 AND contact = $2",
        )
        .bind(channel)
        .bind(contact)
        .fetch_optional(&self.reader)
        .await?;
        row.map(|row| {
            Ok(ChannelThread {
                channel: row.try_get(0)?,
                contact: row.try_get(1)?,
                ticket: row.try_get(2)?,
                pending: row.try_get(3)?,
                updated_at: from_millis(row.try_get(4)?)?,
            })
        })
        .transpose()
    }

    async fn put_channel_thread(&self, thread: &ChannelThread) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO channel_threads (channel, contact, ticket, pending, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (channel, contact) DO UPDATE SET \
             ticket = excluded.ticket, pending = excluded.pending, \
             updated_at = excluded.updated_at",
        )
        .bind(&thread.channel)
        .bind(&thread.contact)
        .bind(&thread.ticket)
        .bind(&thread.pending)
        .bind(millis(thread.updated_at))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn claim_channel_message(
        &self,
        channel: &str,
        message: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let now = millis(now);
        sqlx::query("DELETE FROM channel_messages WHERE claimed_at < $1")
            .bind(now - MESSAGE_MEMORY_MS)
            .execute(&self.writer)
            .await?;
        let claimed = sqlx::query(
            "INSERT INTO channel_messages (channel, message, claimed_at) VALUES ($1, $2, $3) \
             ON CONFLICT (channel, message) DO NOTHING",
        )
        .bind(channel)
        .bind(message)
        .bind(now)
        .execute(&self.writer)
        .await?;
        Ok(claimed.rows_affected() == 1)
    }
}
