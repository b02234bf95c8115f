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

/// An identity a citizen has on a channel: `phone`, `wechat` (an OpenID) or `email`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identity {
    pub kind: String,
    pub value: String,
}

/// A link asked for on a channel and waiting for the code sent to `target`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkCode {
    /// The channel and contact that asked (the code is answered there).
    pub channel: String,
    pub contact: String,
    /// The identity to link to the contact's.
    pub target: Identity,
    pub code_hash: String,
    pub expires_at: Timestamp,
    pub attempts: u32,
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

    /// Notes a demand a contact filed (every one, where the thread keeps the last).
    async fn record_channel_ticket(
        &self,
        channel: &str,
        contact: &str,
        ticket: &str,
    ) -> Result<(), StoreError>;

    /// The demands the contacts filed, by channel and contact.
    async fn channel_tickets(
        &self,
        contacts: &[(String, String)],
    ) -> Result<Vec<String>, StoreError>;

    /// Keeps a link's code, replacing the contact's earlier one.
    async fn put_link_code(&self, code: &LinkCode) -> Result<(), StoreError>;

    /// Counts one try at the contact's live code in one statement and returns it;
    /// `None` when there is none, it expired or its tries are spent.
    async fn claim_link_try(
        &self,
        channel: &str,
        contact: &str,
        now: Timestamp,
        max_tries: u32,
    ) -> Result<Option<LinkCode>, StoreError>;

    /// Uses the contact's code up; false when another request used it first.
    async fn use_link_code(
        &self,
        channel: &str,
        contact: &str,
        code_hash: &str,
    ) -> Result<bool, StoreError>;

    /// Makes `a` and `b` one person's identities (their groups joined), in one
    /// transaction.
    async fn link_identities(
        &self,
        a: &Identity,
        b: &Identity,
        now: Timestamp,
    ) -> Result<(), StoreError>;

    /// Every identity linked to `identity`, itself included.
    async fn linked_identities(&self, identity: &Identity) -> Result<Vec<Identity>, StoreError>;
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

    async fn record_channel_ticket(
        &self,
        channel: &str,
        contact: &str,
        ticket: &str,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO channel_tickets (channel, contact, ticket) VALUES ($1, $2, $3) \
                   ON CONFLICT (channel, contact, ticket) DO NOTHING";
        self.write_texts(sql, [channel, contact, ticket]).await?;
        Ok(())
    }

    async fn channel_tickets(
        &self,
        contacts: &[(String, String)],
    ) -> Result<Vec<String>, StoreError> {
        let mut tickets = Vec::new();
        for (channel, contact) in contacts {
            let rows = sqlx::query(
                "SELECT ticket FROM channel_tickets WHERE channel = $1 AND contact = $2",
            )
            .bind(channel)
            .bind(contact)
            .fetch_all(&self.reader)
            .await?;
            for row in rows {
                tickets.push(row.try_get(0)?);
            }
        }
        Ok(tickets)
    }

    async fn put_link_code(&self, code: &LinkCode) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO link_codes (channel, contact, kind, value, code_hash, expires_at, attempts) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (channel, contact) DO UPDATE SET \
             kind = excluded.kind, value = excluded.value, code_hash = excluded.code_hash, \
             expires_at = excluded.expires_at, attempts = excluded.attempts",
        )
        .bind(&code.channel)
        .bind(&code.contact)
        .bind(&code.target.kind)
        .bind(&code.target.value)
        .bind(&code.code_hash)
        .bind(millis(code.expires_at))
        .bind(i64::from(code.attempts))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn claim_link_try(
        &self,
        channel: &str,
        contact: &str,
        now: Timestamp,
        max_tries: u32,
    ) -> Result<Option<LinkCode>, StoreError> {
        // Counted before the code is compared, in one statement: parallel guesses
        // cannot all read "no tries yet".
        let row = sqlx::query(
            "UPDATE link_codes SET attempts = attempts + 1 \
             WHERE channel = $1 AND contact = $2 AND attempts < $3 AND expires_at > $4 \
             RETURNING channel, contact, kind, value, code_hash, expires_at, attempts",
        )
        .bind(channel)
        .bind(contact)
        .bind(i64::from(max_tries))
        .bind(millis(now))
        .fetch_optional(&self.writer)
        .await?;
        row.map(|row| {
            Ok(LinkCode {
                channel: row.try_get(0)?,
                contact: row.try_get(1)?,
                target: Identity {
                    kind: row.try_get(2)?,
                    value: row.try_get(3)?,
                },
                code_hash: row.try_get(4)?,
                expires_at: from_millis(row.try_get(5)?)?,
                attempts: row.try_get::<i64, _>(6)?.try_into().unwrap_or(u32::MAX),
            })
        })
        .transpose()
    }

    async fn use_link_code(
        &self,
        channel: &str,
        contact: &str,
        code_hash: &str,
    ) -> Result<bool, StoreError> {
        let sql = "DELETE FROM link_codes WHERE channel = $1 AND contact = $2 AND code_hash = $3";
        Ok(self.write_texts(sql, [channel, contact, code_hash]).await? == 1)
    }

    async fn link_identities(
        &self,
        a: &Identity,
        b: &Identity,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        let person_a = Self::person_of(&mut tx, a).await?;
        let person_b = Self::person_of(&mut tx, b).await?;
        let person = match (&person_a, &person_b) {
            (Some(pa), Some(pb)) => {
                if pa != pb {
                    sqlx::query("UPDATE citizen_links SET person = $1 WHERE person = $2")
                        .bind(pa)
                        .bind(pb)
                        .execute(&mut *tx)
                        .await?;
                }
                pa.clone()
            }
            (Some(p), None) | (None, Some(p)) => p.clone(),
            // A new group is named after its first identity (a name, nothing more).
            (None, None) => format!("{}:{}", a.kind, a.value),
        };
        for identity in [a, b] {
            sqlx::query(
                "INSERT INTO citizen_links (kind, value, person, linked_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (kind, value) DO NOTHING",
            )
            .bind(&identity.kind)
            .bind(&identity.value)
            .bind(&person)
            .bind(millis(now))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn linked_identities(&self, identity: &Identity) -> Result<Vec<Identity>, StoreError> {
        let rows = sqlx::query(
            "SELECT kind, value FROM citizen_links WHERE person = \
             (SELECT person FROM citizen_links WHERE kind = $1 AND value = $2) ORDER BY kind, value",
        )
        .bind(&identity.kind)
        .bind(&identity.value)
        .fetch_all(&self.reader)
        .await?;
        let mut linked = rows
            .into_iter()
            .map(|row| {
                Ok(Identity {
                    kind: row.try_get(0)?,
                    value: row.try_get(1)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        if linked.is_empty() {
            linked.push(identity.clone());
        }
        Ok(linked)
    }
}

impl SqlStore {
    /// Runs a statement of three text parameters on the writer: the rows it touched.
    async fn write_texts(&self, sql: &'static str, texts: [&str; 3]) -> Result<u64, StoreError> {
        let mut query = sqlx::query(sql);
        for text in texts {
            query = query.bind(text);
        }
        Ok(query.execute(&self.writer).await?.rows_affected())
    }

    async fn person_of(
        tx: &mut sqlx::AnyConnection,
        identity: &Identity,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT person FROM citizen_links WHERE kind = $1 AND value = $2")
            .bind(&identity.kind)
            .bind(&identity.value)
            .fetch_optional(&mut *tx)
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }
}
