//! The analytics rollups (migration 0008): sums of what every ticket counts for
//! (`minhu_core::rollup`), kept exact in the transaction of each change so that
//! dashboards read a few thousand pre-aggregated rows instead of millions of tickets.

use crate::sql::{Bind, Conditions, escape_like, placeholders};
use crate::{HourlyQuery, RollupQuery, RollupRow, StoreError};
use minhu_core::access::Scope;
use minhu_core::event::Event;
use minhu_core::ids::TicketNumber;
use minhu_core::rollup::{HourlyKey, Metric, Rollup};
use sqlx::{AnyConnection, Row};

/// Rows per upsert statement: 6 values each stays far below SQLite's bound-parameter
/// limit (32766).
const CHUNK: usize = 1000;

/// Adds `rollup` to the tables. Keys go in sorted order (the maps are ordered), so
/// concurrent PostgreSQL transactions lock shared rows in one order and cannot deadlock.
pub(crate) async fn add(conn: &mut AnyConnection, rollup: &Rollup) -> Result<(), StoreError> {
    let daily: Vec<_> = rollup.daily.iter().collect();
    for chunk in daily.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO rollup_daily (day, unit, region, category, metric, n) VALUES {} \
             ON CONFLICT (day, unit, region, category, metric) DO UPDATE SET n = rollup_daily.n + excluded.n",
            placeholders(chunk.len(), 6)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (key, n) in chunk {
            query = query
                .bind(key.day.to_string())
                .bind(key.unit.clone())
                .bind(key.region.clone())
                .bind(key.category.clone())
                .bind(key.metric.code())
                .bind(**n);
        }
        query.execute(&mut *conn).await?;
    }
    let hourly: Vec<_> = rollup.hourly.iter().collect();
    for chunk in hourly.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO rollup_hourly (hour, region, category, n) VALUES {} \
             ON CONFLICT (hour, region, category) DO UPDATE SET n = rollup_hourly.n + excluded.n",
            placeholders(chunk.len(), 4)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (key, n) in chunk {
            query = query
                .bind(key.hour)
                .bind(key.region.clone())
                .bind(key.category.clone())
                .bind(**n);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Inside an append's transaction, before its events are written: adds what `new`
/// changes in the ticket's contribution (its stored log is read to know the before).
pub(crate) async fn append(
    conn: &mut AnyConnection,
    number: &TicketNumber,
    new: &[Event],
) -> Result<(), StoreError> {
    let rows = sqlx::query("SELECT body FROM events WHERE ticket = $1 ORDER BY seq")
        .bind(number.as_str())
        .fetch_all(&mut *conn)
        .await?;
    let before = rows
        .iter()
        .map(|row| {
            serde_json::from_str(&row.try_get::<String, _>(0)?)
                .map_err(|e| StoreError::Corrupt(format!("event: {e}")))
        })
        .collect::<Result<Vec<Event>, StoreError>>()?;
    add(conn, &Rollup::change(number, &before, new)).await
}

/// `category = c OR category LIKE 'c/%'`: a category and everything under it.
fn category_prefix(query: &mut Conditions, category: &Option<String>) {
    if let Some(category) = category {
        query.and(
            "(category = ? OR category LIKE ? ESCAPE '\\')",
            vec![
                Bind::Text(category.clone()),
                Bind::Text(format!("{}/%", escape_like(category))),
            ],
        );
    }
}

/// The reader's scope on a rollup table: counts credited to the reader's units, or
/// filed under its regions. (Joint cases a unit was summoned to are not its counts.)
fn scope(query: &mut Conditions, scope: &Scope) {
    let (column, ids): (&str, Vec<String>) = match scope {
        Scope::All => return,
        Scope::Units(units) => (
            "unit",
            units.iter().map(|u| u.as_str().to_owned()).collect(),
        ),
        Scope::Regions(regions) => (
            "region",
            regions.iter().map(|r| r.as_str().to_owned()).collect(),
        ),
    };
    if ids.is_empty() {
        query.and("1 = 0", Vec::new());
    } else {
        any_of(query, column, &ids);
    }
}

fn any_of(query: &mut Conditions, column: &str, values: &[String]) {
    if values.is_empty() {
        return;
    }
    let marks = vec!["?"; values.len()].join(", ");
    query.and(
        &format!("{column} IN ({marks})"),
        values.iter().map(|v| Bind::Text(v.clone())).collect(),
    );
}

pub(crate) fn daily_query(filter: &RollupQuery) -> Conditions {
    let groups: Vec<&str> = [
        (filter.by_day, "day"),
        (filter.by_unit, "unit"),
        (filter.by_region, "region"),
        (filter.by_category, "category"),
    ]
    .into_iter()
    .filter_map(|(on, column)| on.then_some(column))
    .chain(["metric"])
    .collect();
    let columns = groups.join(", ");
    let mut query = Conditions::new(&format!(
        "SELECT {columns}, CAST(SUM(n) AS BIGINT) FROM rollup_daily WHERE 1 = 1"
    ));
    query.and(
        "day >= ? AND day < ?",
        vec![
            Bind::Text(filter.from.to_string()),
            Bind::Text(filter.to.to_string()),
        ],
    );
    scope(&mut query, &filter.scope);
    any_of(&mut query, "unit", &filter.units);
    any_of(&mut query, "region", &filter.regions);
    category_prefix(&mut query, &filter.category);
    query.sql.push_str(&format!(" GROUP BY {columns}"));
    query
}

pub(crate) fn daily_row(
    row: &sqlx::any::AnyRow,
    filter: &RollupQuery,
) -> Result<RollupRow, StoreError> {
    let mut at = 0;
    let mut next = |on: bool| -> Result<Option<String>, StoreError> {
        if !on {
            return Ok(None);
        }
        let value: String = row.try_get(at)?;
        at += 1;
        Ok(Some(value))
    };
    let day = next(filter.by_day)?
        .map(|day| {
            day.parse()
                .map_err(|e| StoreError::Corrupt(format!("rollup day {day:?}: {e}")))
        })
        .transpose()?;
    let unit = next(filter.by_unit)?;
    let region = next(filter.by_region)?;
    let category = next(filter.by_category)?;
    let code = next(true)?.unwrap_or_default();
    let metric = Metric::from_code(&code)
        .ok_or_else(|| StoreError::Corrupt(format!("rollup metric {code:?}")))?;
    Ok(RollupRow {
        day,
        unit,
        region,
        category,
        metric,
        n: row.try_get(at)?,
    })
}

/// `None` when the scope can see no hourly counts: they are kept by place, not by
/// unit, so a unit's officials see none.
pub(crate) fn hourly_query(filter: &HourlyQuery) -> Option<Conditions> {
    if matches!(filter.scope, Scope::Units(_)) {
        return None;
    }
    let mut query = Conditions::new(
        "SELECT hour, region, category, CAST(SUM(n) AS BIGINT) FROM rollup_hourly WHERE 1 = 1",
    );
    query.and(
        "hour >= ? AND hour < ?",
        vec![Bind::Int(filter.from_hour), Bind::Int(filter.to_hour)],
    );
    scope(&mut query, &filter.scope);
    any_of(&mut query, "region", &filter.regions);
    category_prefix(&mut query, &filter.category);
    query
        .sql
        .push_str(" GROUP BY hour, region, category ORDER BY hour, region, category");
    Some(query)
}

pub(crate) fn hourly_row(row: &sqlx::any::AnyRow) -> Result<(HourlyKey, i64), StoreError> {
    Ok((
        HourlyKey {
            hour: row.try_get(0)?,
            region: row.try_get(1)?,
            category: row.try_get(2)?,
        },
        row.try_get(3)?,
    ))
}
