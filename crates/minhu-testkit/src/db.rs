//! Test databases: a SQLite file in a temporary directory, or a fresh PostgreSQL
//! database per test on the server at `MINHU_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`; `scripts/test` starts one). A
//! missing server fails the test rather than skipping it.

use minhu_store::SqlStore;
use sqlx::Connection;
use std::sync::Arc;

/// The PostgreSQL server the tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("MINHU_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A store on a database of its own.
pub struct TestDb {
    pub store: Arc<SqlStore>,
    /// The database's URL, for a second connection (another engine, a raw query).
    pub url: String,
    /// `sqlite`, or the PostgreSQL database's name.
    pub name: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// A SQLite file in a temporary directory, removed with the value.
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("minhu.db").display());
        TestDb {
            store: Arc::new(SqlStore::connect(&url).await.unwrap()),
            url,
            name: "sqlite".into(),
            _dir: Some(dir),
        }
    }

    /// A new PostgreSQL database with a random name; [`TestDb::close`] drops it.
    pub async fn postgres() -> TestDb {
        let name = format!("minhu_test_{:016x}", rand::random::<u64>());
        admin_query(&format!("CREATE DATABASE {name}")).await;
        let admin = postgres_admin_url();
        let (base, _) = admin
            .rsplit_once('/')
            .expect("a database URL ends in /NAME");
        let url = format!("{base}/{name}");
        TestDb {
            store: Arc::new(SqlStore::connect(&url).await.unwrap()),
            url,
            name,
            _dir: None,
        }
    }

    /// Closes the store and drops a PostgreSQL database (with any connection still
    /// open to it); a SQLite file goes with its directory.
    pub async fn close(self) {
        self.store.close().await;
        if self._dir.is_none() {
            let name = &self.name;
            admin_query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
        }
    }
}

/// Runs `sql` on the PostgreSQL server's administrative database.
async fn admin_query(sql: &str) {
    sqlx::any::install_default_drivers();
    let admin = postgres_admin_url();
    let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap_or_else(|e| {
        panic!("PostgreSQL is needed at {admin} (run scripts/test, or set MINHU_TEST_POSTGRES): {e}")
    });
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}
