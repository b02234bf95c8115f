//! The audit log (留痕 of who did what outside a ticket's own history): sign-ins,
//! account changes, reveals of personal data, exports ([`Engine::audit`]).
//!
//! Entries are only ever added; the log is read by the administrators' `/admin/audit`
//! page and `minhu admin audit`.

use crate::{Engine, EngineError};
use minhu_core::access::Scope;
use minhu_core::ids::{CityId, RegionId, UnitId};
use minhu_core::workflow::FieldError;
use minhu_store::{AuditCity, AuditEntry, AuditFilter};

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

    /// The entries `filter` selects that a reader with `scope` may read: the whole log
    /// over the whole province (or a single city); else what concerns the reader's
    /// city - what its officials and tokens did, what was done to its accounts and
    /// tokens, and to its tickets ([`AuditCity`]).
    /// The province's readers may narrow to one city (`only`).
    pub async fn log_for(
        &self,
        scope: &Scope,
        only: Option<&str>,
        filter: &AuditFilter,
    ) -> Result<Vec<AuditEntry>, EngineError> {
        let engine = self.engine;
        let only = only.map(str::trim).filter(|c| !c.is_empty());
        let city = match (scope, only) {
            (Scope::All, Some(id)) => match engine.province.city(&CityId::new(id)) {
                Some(entry) => entry.id.clone(),
                None => {
                    let problem = format!(
                        "{id} is not a city served here; the cities are {}",
                        engine.city_ids()
                    );
                    return Err(FieldError::new("city", problem).into());
                }
            },
            (Scope::All, None) => return self.log(filter).await,
            _ if !engine.province.has_several_cities() => return self.log(filter).await,
            _ => match engine.cities_in(scope).first() {
                Some(entry) => entry.id.clone(),
                None => return Ok(Vec::new()),
            },
        };
        let ours = |unit: &Option<String>, region: &Option<String>| {
            let unit = unit.clone().map(UnitId::new);
            let region = region.clone().map(RegionId::new);
            engine
                .city_of_account(unit.as_ref(), region.as_ref())
                .as_ref()
                == Some(&city)
        };
        let mut narrowed = AuditCity {
            city: city.to_string(),
            ..AuditCity::default()
        };
        for user in engine.store.users().await? {
            if ours(&user.unit, &user.region) {
                narrowed.actors.push(format!("user:{}", user.login));
                narrowed.logins.push(user.login);
            }
        }
        for token in engine.store.tokens().await? {
            if ours(&token.unit, &token.region) {
                narrowed.actors.push(format!("token:{}", token.name));
                narrowed.logins.push(token.name);
            }
        }
        let filter = AuditFilter {
            city: Some(narrowed),
            ..filter.clone()
        };
        self.log(&filter).await
    }
}
