//! Alerts the analytics raise (migration 0012): surges (突发预警) and units' buck-passing
//! warnings (推诿预警), each raised once with the outbox rows that tell of it.

use crate::db::{SqlStore, StoreError, from_millis, millis};
use crate::outbox::{Outgoing, Told};
use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::Row;

/// An alert (migration 0012): a surge (突发预警) or a unit's buck-passing warning
/// (推诿预警), raised once per cell and window.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Alert {
    /// Its kind, cell and window (e.g. `surge|A5-01|城乡建设/供水|493027`): an alert
    /// with the same id is the same alert, raised once.
    pub id: String,
    /// `surge` or `buck_passing`.
    pub kind: String,
    pub region: Option<String>,
    pub unit: Option<String>,
    pub category: Option<String>,
    /// The window it is about: the surge's hours, the unit's month so far.
    pub window_from: Timestamp,
    pub window_to: Timestamp,
    /// What was seen and what is normal: a surge's count and baseline; a unit's
    /// buck-passing index and the threshold it crossed.
    pub observed: f64,
    pub expected: f64,
    pub raised_at: Timestamp,
}

/// An alert to raise, and what to tell of it (outbox rows written with it).
#[derive(Clone, Debug, PartialEq)]
pub struct NewAlert {
    pub alert: Alert,
    pub notifications: Vec<Outgoing>,
}

/// Raised alerts.
#[async_trait]
pub trait AlertStore: Send + Sync {
    /// Raises the alerts not raised before (by id), each with its outbox rows, in one
    /// transaction, and returns the ids it raised: a later pass that finds the same
    /// alert raises nothing and tells no one again.
    async fn raise_alerts(&self, alerts: &[NewAlert]) -> Result<Vec<String>, StoreError>;

    /// The alerts raised at or after `since`, newest first.
    async fn alerts_since(&self, since: Timestamp) -> Result<Vec<Alert>, StoreError>;
}

#[async_trait]
impl AlertStore for SqlStore {
    async fn raise_alerts(&self, alerts: &[NewAlert]) -> Result<Vec<String>, StoreError> {
        let mut tx = self.writer.begin().await?;
        let mut raised = Vec::new();
        for new in alerts {
            let alert = &new.alert;
            let inserted = sqlx::query(
                "INSERT INTO analytics_alerts (id, kind, region, unit, category, window_from, \
                 window_to, observed, expected, raised_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING",
            )
            .bind(&alert.id)
            .bind(&alert.kind)
            .bind(alert.region.clone())
            .bind(alert.unit.clone())
            .bind(alert.category.clone())
            .bind(millis(alert.window_from))
            .bind(millis(alert.window_to))
            .bind(alert.observed)
            .bind(alert.expected)
            .bind(millis(alert.raised_at))
            .execute(&mut *tx)
            .await?;
            // Raised before: its rows were written then.
            if inserted.rows_affected() == 0 {
                continue;
            }
            crate::outbox::insert(
                &mut tx,
                Told::Alert(&alert.id),
                alert.raised_at,
                &new.notifications,
            )
            .await?;
            raised.push(alert.id.clone());
        }
        tx.commit().await?;
        Ok(raised)
    }

    async fn alerts_since(&self, since: Timestamp) -> Result<Vec<Alert>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, kind, region, unit, category, window_from, window_to, observed, \
             expected, raised_at FROM analytics_alerts WHERE raised_at >= $1 \
             ORDER BY raised_at DESC, id",
        )
        .bind(millis(since))
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Alert {
                    id: row.try_get(0)?,
                    kind: row.try_get(1)?,
                    region: row.try_get(2)?,
                    unit: row.try_get(3)?,
                    category: row.try_get(4)?,
                    window_from: from_millis(row.try_get(5)?)?,
                    window_to: from_millis(row.try_get(6)?)?,
                    observed: row.try_get(7)?,
                    expected: row.try_get(8)?,
                    raised_at: from_millis(row.try_get(9)?)?,
                })
            })
            .collect()
    }
}
