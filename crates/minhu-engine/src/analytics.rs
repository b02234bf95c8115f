//! The figures: the rollups the store keeps current with every change, the counts by
//! status, the alerts raised ([`Engine::analytics`]).
//!
//! The dashboards, the public figures and the exports read here, so every page counts
//! from the same tables.

use crate::{Engine, EngineError};
use jiff::Timestamp;
use minhu_core::access::Scope;
use minhu_core::rollup::Rollup;
use minhu_core::ticket::Status;
use minhu_store::{Alert, RollupQuery, RollupRow};

impl Engine {
    pub fn analytics(&self) -> Analytics<'_> {
        Analytics { engine: self }
    }
}

/// The figures service ([`Engine::analytics`]).
pub struct Analytics<'a> {
    engine: &'a Engine,
}

impl Analytics<'_> {
    /// The daily rollup rows `query` selects.
    pub async fn daily(&self, query: &RollupQuery) -> Result<Vec<RollupRow>, EngineError> {
        Ok(self.engine.store.rollup_daily(query).await?)
    }

    /// How many tickets of `scope` are in each status now.
    pub async fn counts(&self, scope: &Scope) -> Result<Vec<(Status, u64)>, EngineError> {
        Ok(self.engine.store.count_by_status(scope).await?)
    }

    /// The alerts raised since `since`, newest first.
    pub async fn alerts_since(&self, since: Timestamp) -> Result<Vec<Alert>, EngineError> {
        Ok(self.engine.store.alerts_since(since).await?)
    }

    /// Recomputes every rollup from the events (after a bulk load or a change of the
    /// rollup rules); `progress` hears how many tickets are done.
    pub async fn rebuild(
        &self,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<u64, EngineError> {
        Ok(self.engine.store.rebuild_rollups(progress).await?)
    }

    /// The rollup tables and what each counts.
    pub async fn tables(&self) -> Result<Vec<(String, Rollup)>, EngineError> {
        Ok(self.engine.store.rollup_tables().await?)
    }
}
