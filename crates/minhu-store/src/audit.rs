//! The audit log (留痕 of people, beside the tickets' own event logs): who signed in,
//! revealed, saved or erased what. Append-only; a ticket's creation writes its entry
//! in the ticket's own transaction ([`insert`]).

use crate::db::{Bind, Conditions, SqlStore, StoreError, from_millis, millis, placeholders};
use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::{AnyConnection, Row};

/// One line of the audit log (留痕 of people, beside the tickets' own event logs).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    /// Assigned by the store; 0 for an entry not yet written.
    pub seq: i64,
    pub at: Timestamp,
    /// `user:<login>`, `token:<name>`, `citizen`, `system:<part>` or `anonymous`.
    pub actor: String,
    /// `login`, `login_failed`, `logout`, `ticket.<action>`, `reveal`, `user.saved`, ...
    pub action: String,
    /// What it was done to: a ticket number, a login, a token name.
    pub target: Option<String>,
    /// Why, or what changed (never a secret).
    pub detail: String,
    /// The client's address, where known.
    pub client: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    /// Entries after this sequence number (for paging).
    pub after: Option<i64>,
    pub limit: u32,
    /// Only what concerns one city of a province ([`AuditCity`]).
    pub city: Option<AuditCity>,
}

/// What of the audit log concerns one city of a province: what its own officials and
/// tokens did (`actors`), what was done to its accounts (`logins`, as targets) and to
/// its tickets (those of the city, and those it handed over to another: 转办).
#[derive(Clone, Debug, Default)]
pub struct AuditCity {
    pub city: String,
    /// `user:<login>` and `token:<name>` of the city's accounts and tokens.
    pub actors: Vec<String>,
    /// The city's logins and token names.
    pub logins: Vec<String>,
}

/// The audit log.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends to the audit log; returns the entry's sequence number.
    async fn audit(&self, entry: &AuditEntry) -> Result<i64, StoreError>;

    /// Audit entries, oldest first.
    async fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError>;
}

#[async_trait]
impl AuditStore for SqlStore {
    async fn audit(&self, entry: &AuditEntry) -> Result<i64, StoreError> {
        let mut conn = self.writer.acquire().await?;
        insert(&mut conn, entry).await
    }

    async fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let mut query = Conditions::new(
            "SELECT seq, at, actor, action, target, detail, client FROM audit_log WHERE 1 = 1",
        );
        if let Some(actor) = &filter.actor {
            query.and("actor = ?", vec![Bind::Text(actor.clone())]);
        }
        if let Some(action) = &filter.action {
            query.and("action = ?", vec![Bind::Text(action.clone())]);
        }
        if let Some(target) = &filter.target {
            query.and("target = ?", vec![Bind::Text(target.clone())]);
        }
        if let Some(from) = filter.from {
            query.and("at >= ?", vec![Bind::Int(millis(from))]);
        }
        if let Some(to) = filter.to {
            query.and("at < ?", vec![Bind::Int(millis(to))]);
        }
        if let Some(after) = filter.after {
            query.and("seq > ?", vec![Bind::Int(after)]);
        }
        if let Some(city) = &filter.city {
            let tickets = "target IN (SELECT number FROM tickets WHERE city = ? OR city_from = ?)";
            let mut any = vec![tickets.to_owned()];
            let mut binds = vec![Bind::Text(city.city.clone()), Bind::Text(city.city.clone())];
            for (column, values) in [("actor", &city.actors), ("target", &city.logins)] {
                if !values.is_empty() {
                    any.push(format!(
                        "{column} IN ({})",
                        vec!["?"; values.len()].join(", ")
                    ));
                    binds.extend(values.iter().map(|v| Bind::Text(v.clone())));
                }
            }
            query.and(&format!("({})", any.join(" OR ")), binds);
        }
        query.sql.push_str(&format!(
            " ORDER BY seq LIMIT {}",
            filter.limit.clamp(1, 10_000)
        ));
        let rows = query.query().fetch_all(&self.reader).await?;
        rows.iter()
            .map(|row| {
                Ok(AuditEntry {
                    seq: row.try_get(0)?,
                    at: from_millis(row.try_get(1)?)?,
                    actor: row.try_get(2)?,
                    action: row.try_get(3)?,
                    target: row.try_get(4)?,
                    detail: row.try_get(5)?,
                    client: row.try_get(6)?,
                })
            })
            .collect()
    }
}

/// Appends one entry to the audit log; returns its sequence number.
pub(crate) async fn insert(
    conn: &mut AnyConnection,
    entry: &AuditEntry,
) -> Result<i64, StoreError> {
    let seq: i64 = sqlx::query_scalar(
        "INSERT INTO audit_log (at, actor, action, target, detail, client) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING seq",
    )
    .bind(millis(entry.at))
    .bind(&entry.actor)
    .bind(&entry.action)
    .bind(entry.target.clone())
    .bind(&entry.detail)
    .bind(entry.client.clone())
    .fetch_one(&mut *conn)
    .await?;
    Ok(seq)
}

/// Rows per multi-row insert of audit entries (6 values each).
const ENTRY_ROWS: usize = 256;

/// Many entries (a group of intakes' creations) in as few statements as may be.
pub(crate) async fn insert_many(
    conn: &mut AnyConnection,
    entries: &[AuditEntry],
) -> Result<(), StoreError> {
    for chunk in crate::db::row_chunks(conn, entries, ENTRY_ROWS) {
        let sql = format!(
            "INSERT INTO audit_log (at, actor, action, target, detail, client) VALUES {}",
            placeholders(conn, chunk.len(), 6)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for entry in chunk {
            query = query
                .bind(millis(entry.at))
                .bind(&entry.actor)
                .bind(&entry.action)
                .bind(entry.target.clone())
                .bind(&entry.detail)
                .bind(entry.client.clone());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}
