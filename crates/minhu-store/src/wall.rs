//! The second wall between a province's cities: PostgreSQL's row-level security
//! (migration 0026).
//!
//! The first wall is in the queries: a city-scoped reader's filter becomes `city = ? OR
//! city_from = ?` (`tickets::query::scope`). On PostgreSQL the store also reads for such
//! a reader in a transaction that takes the role [`CITY_ROLE`] and names the city in
//! the setting `minhu.city`, both local to the transaction; the role's policies let it
//! see that city's tickets (and those it handed over) and the rows keyed by them, so a
//! query that forgot its condition still cannot return another city's rows. The
//! superuser and the tables' owner, as which minhu connects, are not subject to the
//! policies: everything else (writes, workers, the province's readers) runs as before.
//!
//! SQLite has no roles: there the queries' conditions are the only wall.

use crate::db::{Backend, SqlStore, StoreError};
use minhu_core::access::Scope;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Transaction};

/// The role a city's reads take on PostgreSQL (migration 0026).
pub const CITY_ROLE: &str = "minhu_city_reader";

/// The tables [`CITY_ROLE`] may read (migration 0026), each with its column naming the
/// ticket a row belongs to.
const WALLED: [(&str, &str); 4] = [
    ("tickets", "number"),
    ("events", "ticket"),
    ("ticket_parts", "ticket"),
    ("timers", "ticket"),
];

/// A connection to read as a reader of some scope: walled (a transaction under
/// [`CITY_ROLE`] for one city) or plain.
pub(crate) enum Reading {
    Plain(PoolConnection<Any>),
    Walled(Transaction<'static, Any>),
}

impl Reading {
    pub(crate) fn conn(&mut self) -> &mut AnyConnection {
        match self {
            Reading::Plain(conn) => conn,
            Reading::Walled(tx) => tx,
        }
    }

    /// Ends the read (a walled one's transaction; it wrote nothing).
    pub(crate) async fn done(self) -> Result<(), StoreError> {
        if let Reading::Walled(tx) = self {
            tx.commit().await?;
        }
        Ok(())
    }
}

impl SqlStore {
    /// A connection to read as a reader with `scope` does: for one city's reader on
    /// PostgreSQL (with the wall in place), a transaction under [`CITY_ROLE`] with
    /// `minhu.city` set to the city; otherwise a plain connection of the reading pool.
    pub(crate) async fn reading(&self, scope: &Scope) -> Result<Reading, StoreError> {
        let city = match scope {
            Scope::City(city, _) if self.city_wall => city,
            _ => return Ok(Reading::Plain(self.reader.acquire().await?)),
        };
        let mut tx = self.reader.begin().await?;
        // `set_config(.., true)` is `SET LOCAL`: both end with the transaction, so the
        // connection goes back to the pool as minhu's own account.
        sqlx::query("SELECT set_config('role', $1, true), set_config('minhu.city', $2, true)")
            .bind(CITY_ROLE)
            .bind(city.as_str())
            .execute(&mut *tx)
            .await?;
        Ok(Reading::Walled(tx))
    }

    /// Whether reads for a city's officials are walled by row-level security (PostgreSQL
    /// with migration 0026's role usable); false on SQLite.
    pub fn city_wall(&self) -> bool {
        self.city_wall
    }

    /// Leaves the second wall down: a city's reads then run under the queries'
    /// conditions only, as on SQLite. For measuring what the wall costs
    /// (`tests/store_suite.rs`, BENCHMARKS.md); never needed to run.
    pub fn without_city_wall(mut self) -> Self {
        self.city_wall = false;
        self
    }

    /// What the wall alone lets a reader with `scope` reach: each table a city's
    /// reads may touch, with the tickets its rows belong to, read with no condition of
    /// the store's own through the connection the store's reads for that reader take.
    /// Checks the wall (a city's reader reaches only its city's rows, whatever a query
    /// forgets); everything for a reader the wall does not cover.
    pub async fn reachable_as(
        &self,
        scope: &Scope,
    ) -> Result<Vec<(&'static str, Vec<String>)>, StoreError> {
        let mut reading = self.reading(scope).await?;
        let mut reached = Vec::new();
        for (table, column) in WALLED {
            let sql = format!("SELECT DISTINCT {column} FROM {table} ORDER BY {column}");
            let numbers = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql))
                .fetch_all(reading.conn())
                .await?;
            reached.push((table, numbers));
        }
        reading.done().await?;
        Ok(reached)
    }

    /// Whether a store on `pool` can wall its city reads: PostgreSQL, and the account
    /// it connects as may take [`CITY_ROLE`] (migration 0026 made the role, or found
    /// it, and granted it). Not when the account could not create the role (the
    /// migration warned): a city's reads then rely on the queries' conditions.
    pub(crate) async fn wall_at_start(pool: &AnyPool, backend: Backend) -> bool {
        if backend != Backend::Postgres {
            return false;
        }
        let usable = sqlx::query_scalar::<_, bool>(
            "SELECT pg_has_role(current_user, oid, 'MEMBER') FROM pg_roles WHERE rolname = $1",
        )
        .bind(CITY_ROLE)
        .fetch_optional(pool)
        .await;
        match usable {
            Ok(Some(true)) => true,
            Ok(_) => {
                tracing::warn!(
                    role = CITY_ROLE,
                    "row-level security between cities is off: the role is missing or not \
                     granted to this account (see migration 0026); a city's reads rely on \
                     the queries' conditions alone"
                );
                false
            }
            Err(error) => {
                tracing::warn!(%error, "cannot tell whether row-level security is usable");
                false
            }
        }
    }
}
