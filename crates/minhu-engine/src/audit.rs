//! The audit log (留痕 of who did what outside a ticket's own history): sign-ins,
//! account changes, reveals of personal data, exports ([`Engine::audit`]).
//!
//! Entries are only ever added; the log is read by the administrators' `/admin/audit`
//! page and `minhu admin audit`.

use crate::{Engine, EngineError};
use minhu_store::{AuditEntry, AuditFilter};

impl Engine {
    pub fn audit(&self) -> Audit<'_> {
        Audit { engine: self }
    }
}

/// The audit log service ([`Engine::audit`]).
pub struct Audit<'a> {
    engine: &'a Engine,
}

impl Audit<'_> {
    /// Adds `entry` (its `seq` is assigned by the store) and returns its number.
    pub async fn record(&self, entry: &AuditEntry) -> Result<i64, EngineError> {
        Ok(self.engine.store.audit(entry).await?)
    }

    /// The entries `filter` selects, newest first.
    pub async fn log(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, EngineError> {
        Ok(self.engine.store.audit_log(filter).await?)
    }
}
