//! The change feed: what a follower (the search index) reads to stay in step with the
//! tickets, in change order. SQLite's one writer stamps changes in commit order;
//! PostgreSQL commits out of order, so its marks remember the transactions running.

use super::{ChangeMark, Changed, ticket_from_state};
use crate::db::{Backend, SqlStore, StoreError};
use minhu_core::ids::CityId;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

impl SqlStore {
    /// SQLite: one writer stamps max + 1, so sequence order is commit order and a
    /// follower only has to read on from its mark.
    pub(super) async fn changed_in_sequence(
        &self,
        mark: &ChangeMark,
        limit: u32,
    ) -> Result<(Vec<Changed>, ChangeMark), StoreError> {
        let mut conn = self.reader.acquire().await?;
        let last: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(change_seq), 0) FROM tickets")
            .fetch_one(&mut *conn)
            .await?;
        if mark.seq > last {
            return Err(StoreError::ForeignMark(format!(
                "the mark is at change {} but the store's last change is {last}",
                mark.seq
            )));
        }
        let rows = changed_after(&mut conn, mark, limit).await?;
        let next = match rows.last() {
            Some((_, seq, number)) => self.mark_at(*seq, number.clone(), Vec::new()),
            None => self.mark_at(mark.seq, mark.number.clone(), Vec::new()),
        };
        Ok((rows.into_iter().map(|(c, _, _)| c).collect(), next))
    }

    /// PostgreSQL: rows carry their writer's transaction id, and transactions commit
    /// out of id order. One REPEATABLE READ snapshot answers everything: a row version
    /// it shows was written by a transaction committed in it. Rows of transactions the
    /// mark saw running are read again by id; the new mark remembers the transactions
    /// this snapshot sees running below it.
    pub(super) async fn changed_by_snapshot(
        &self,
        mark: &ChangeMark,
        limit: u32,
    ) -> Result<(Vec<Changed>, ChangeMark), StoreError> {
        let mut tx = self.reader.begin().await?;
        let (xmax, running) = snapshot(&mut tx).await?;
        if mark.seq > xmax {
            return Err(StoreError::ForeignMark(format!(
                "the mark is at transaction {} but this database is at {xmax}",
                mark.seq
            )));
        }
        let mut changed = Vec::new();
        let committed: Vec<i64> = mark
            .pending
            .iter()
            .copied()
            .filter(|id| !running.contains(id))
            .collect();
        if !committed.is_empty() {
            // Plain integers parsed above: safe to spell out in the statement.
            let list: Vec<String> = committed.iter().map(i64::to_string).collect();
            let sql = format!(
                "SELECT {CHANGED_COLUMNS} FROM tickets \
                 WHERE change_seq IN ({}) ORDER BY change_seq, number",
                list.join(", ")
            );
            for row in sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(&mut *tx)
                .await?
            {
                changed.push(changed_from_row(&row)?.0);
            }
        }
        let rows = changed_after(&mut tx, mark, limit).await?;
        tx.commit().await?;
        let next = match rows.last() {
            // A full page: on from its last row; what ran below it is still pending.
            Some((_, seq, number)) if rows.len() == limit as usize => self.mark_at(
                *seq,
                number.clone(),
                running.iter().copied().filter(|id| id < seq).collect(),
            ),
            // Caught up: everything below xmax but the running has been read.
            _ => self.mark_at(xmax, String::new(), running),
        };
        changed.extend(rows.into_iter().map(|(c, _, _)| c));
        Ok((changed, next))
    }

    /// [`TicketStore::latest_mark`](super::TicketStore::latest_mark).
    pub(super) async fn latest_change(&self) -> Result<ChangeMark, StoreError> {
        match self.backend {
            // The newest (sequence, number): everything at or before it is written.
            Backend::Sqlite => {
                let row = sqlx::query(
                    "SELECT change_seq, number FROM tickets \
                     ORDER BY change_seq DESC, number DESC LIMIT 1",
                )
                .fetch_optional(&self.reader)
                .await?;
                Ok(match row {
                    Some(row) => self.mark_at(row.try_get(0)?, row.try_get(1)?, Vec::new()),
                    None => self.mark_at(0, String::new(), Vec::new()),
                })
            }
            // What a caught-up follower's mark says: every transaction below the
            // snapshot's xmax has committed, but those it sees running.
            Backend::Postgres => {
                let mut tx = self.reader.begin().await?;
                let (xmax, running) = snapshot(&mut tx).await?;
                tx.commit().await?;
                Ok(self.mark_at(xmax, String::new(), running))
            }
        }
    }

    fn mark_at(&self, seq: i64, number: String, pending: Vec<i64>) -> ChangeMark {
        ChangeMark {
            store: self.identity.clone(),
            seq,
            number,
            pending,
        }
    }
}

/// Up to `limit` rows after (`mark.seq`, `mark.number`) in change order, each with its
/// sequence and number.
///
/// The mark is compared as a row value, which both backends take as the start of a range
/// of `tickets_by_change`. Written as `seq > $1 OR (seq = $1 AND number > $2)`, PostgreSQL
/// read the index from its first row and filtered: a follower's first index of 10M
/// tickets took ~1 s a page near the end (an hour and a half in all).
async fn changed_after(
    conn: &mut AnyConnection,
    mark: &ChangeMark,
    limit: u32,
) -> Result<Vec<(Changed, i64, String)>, StoreError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {CHANGED_COLUMNS} FROM tickets \
         WHERE (change_seq, number) > ($1, $2) \
         ORDER BY change_seq, number LIMIT $3"
    )))
    .bind(mark.seq)
    .bind(&mark.number)
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(changed_from_row).collect()
}

/// The columns of a changed ticket: [`changed_from_row`] reads them.
const CHANGED_COLUMNS: &str = "state, region_path, change_seq, number, city, city_from";

fn changed_from_row(row: &AnyRow) -> Result<(Changed, i64, String), StoreError> {
    let cities = [row.try_get::<Option<String>, _>(4)?, row.try_get(5)?];
    Ok((
        Changed {
            ticket: ticket_from_state(&row.try_get::<String, _>(0)?)?,
            region_path: row.try_get(1)?,
            cities: cities.into_iter().flatten().map(CityId::new).collect(),
        },
        row.try_get(2)?,
        row.try_get(3)?,
    ))
}

/// PostgreSQL: starts a read-only REPEATABLE READ snapshot in `tx` and returns its
/// xmax (the first transaction id it does not see) and the ids it sees running.
async fn snapshot(tx: &mut AnyConnection) -> Result<(i64, Vec<i64>), StoreError> {
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let snapshot = sqlx::query(
        "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint, \
         (SELECT COALESCE(string_agg(x::text, ','), '') \
          FROM pg_snapshot_xip(pg_current_snapshot()) AS x)",
    )
    .fetch_one(&mut *tx)
    .await?;
    Ok((
        snapshot.try_get(0)?,
        ids(&snapshot.try_get::<String, _>(1)?)?,
    ))
}

/// `12,15` -> [12, 15]: the running transaction ids PostgreSQL listed.
fn ids(list: &str) -> Result<Vec<i64>, StoreError> {
    list.split(',')
        .filter(|id| !id.is_empty())
        .map(|id| {
            id.parse()
                .map_err(|_| StoreError::Corrupt(format!("a transaction id {id:?}")))
        })
        .collect()
}
