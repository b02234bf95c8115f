//! Open311 clients' API keys (the GeoReport v2 endpoints): known by their digest only,
//! so a copy of the database gives no one a working key.

use crate::db::{SqlStore, StoreError, from_millis, millis};
use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::Row;

/// An Open311 client's API key, known by its digest only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Open311Key {
    /// SHA-256 of the key, hex.
    pub key_hash: String,
    /// Who the key was given to.
    pub label: String,
    pub disabled: bool,
    pub created_at: Timestamp,
}

/// The Open311 keys: what the GeoReport endpoints check a client's key against.
#[async_trait]
pub trait Open311Store: Send + Sync {
    async fn put_open311_key(&self, key: &Open311Key) -> Result<(), StoreError>;

    async fn open311_key(&self, key_hash: &str) -> Result<Option<Open311Key>, StoreError>;
}

#[async_trait]
impl Open311Store for SqlStore {
    async fn put_open311_key(&self, key: &Open311Key) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO open311_keys (key_hash, label, disabled, created_at) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (key_hash) DO UPDATE SET label = excluded.label, \
             disabled = excluded.disabled",
        )
        .bind(&key.key_hash)
        .bind(&key.label)
        .bind(i64::from(key.disabled))
        .bind(millis(key.created_at))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn open311_key(&self, key_hash: &str) -> Result<Option<Open311Key>, StoreError> {
        let row = sqlx::query(
            "SELECT key_hash, label, disabled, created_at FROM open311_keys WHERE key_hash = $1",
        )
        .bind(key_hash)
        .fetch_optional(&self.reader)
        .await?;
        row.map(|row| {
            Ok(Open311Key {
                key_hash: row.try_get(0)?,
                label: row.try_get(1)?,
                disabled: row.try_get::<i64, _>(2)? != 0,
                created_at: from_millis(row.try_get(3)?)?,
            })
        })
        .transpose()
    }
}
