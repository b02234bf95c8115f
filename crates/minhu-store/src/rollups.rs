//! The analytics rollups (migrations 0008, 0011 and 0014): sums of what every ticket counts
//! for (`minhu_core::rollup`), kept exact in the transaction of each change so that
//! dashboards read a few thousand pre-aggregated rows instead of millions of tickets.
//!
//! The finest table, `rollup_daily`, is keyed by intake day x unit x region x category x
//! metric. With many places and categories almost every ticket opens cells of its own
//! there, so a month of a big city is millions of rows. Coarser copies ([`CUBES`]: by
//! month, without the category, without any place, by category alone) hold the same counts with columns
//! dropped (stored as `''`) or days folded into their month (stored as the first day),
//! and every read takes the coarsest one that still has the columns it groups or
//! narrows by ([`plan`]): a month's ranking of units reads a few thousand rows at any
//! scale. All of them are written by the same [`add`], so they cannot drift apart;
//! `minhu admin rebuild-rollups` recomputes them all from the event log.

use crate::db::{Bind, Conditions, SqlStore, StoreError, escape_like, placeholders};
use crate::tickets::event_from_row;
use async_trait::async_trait;
use jiff::civil::Date;
use minhu_core::access::Scope;
use minhu_core::event::Event;
use minhu_core::ids::TicketNumber;
use minhu_core::rollup::{DailyKey, HourlyKey, Metric, Rollup};
use sqlx::{AnyConnection, Row};
use std::collections::BTreeMap;

/// Which sums of the daily rollup to read: days `from` up to `to` (exclusive) of the
/// tickets' intake, narrowed like a ticket list, grouped by the columns asked for.
#[derive(Clone, Debug)]
pub struct RollupQuery {
    pub from: jiff::civil::Date,
    pub to: jiff::civil::Date,
    /// The reader's part of the city: a unit's officials see their units' counts, a
    /// district's its regions'.
    pub scope: Scope,
    /// Any of these units (empty: any).
    pub units: Vec<String>,
    /// Any of these region ids (empty: any); a caller expands a region to its subtree.
    pub regions: Vec<String>,
    /// A category and its sub-categories.
    pub category: Option<String>,
    /// Any of these categories exactly (empty: any).
    pub categories: Vec<String>,
    pub by_day: bool,
    pub by_unit: bool,
    pub by_region: bool,
    pub by_category: bool,
    /// Read the full daily table only, not the coarsest copy that answers (to compare
    /// the two: benchmarks and checks; the answer is the same).
    pub finest_only: bool,
}

impl RollupQuery {
    /// The whole city's totals over days `from` up to `to`: no scope, no narrowing, no
    /// grouping. Callers set what they need with struct update syntax.
    pub fn city_totals(from: jiff::civil::Date, to: jiff::civil::Date) -> Self {
        Self {
            from,
            to,
            scope: Scope::All,
            units: Vec::new(),
            regions: Vec::new(),
            category: None,
            categories: Vec::new(),
            by_day: false,
            by_unit: false,
            by_region: false,
            by_category: false,
            finest_only: false,
        }
    }
}

/// One sum of the daily rollup; a column not grouped on is `None`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollupRow {
    pub day: Option<jiff::civil::Date>,
    pub unit: Option<String>,
    pub region: Option<String>,
    pub category: Option<String>,
    pub metric: Metric,
    pub n: i64,
}

/// Which hours of intake counts to read: `from_hour` up to `to_hour` (exclusive), in
/// whole hours since the Unix epoch.
#[derive(Clone, Debug)]
pub struct HourlyQuery {
    pub from_hour: i64,
    pub to_hour: i64,
    /// Hourly counts are kept by place: a unit-scoped reader gets none.
    pub scope: Scope,
    pub regions: Vec<String>,
    pub category: Option<String>,
}

/// The analytics rollups: read by the dashboards, written with every ticket change.
#[async_trait]
pub trait RollupStore: Send + Sync {
    /// Sums of the daily analytics rollup (kept current with every ticket change).
    async fn rollup_daily(&self, query: &RollupQuery) -> Result<Vec<RollupRow>, StoreError>;

    /// Demands received per hour, place and category, by hour.
    async fn rollup_hourly(&self, query: &HourlyQuery)
    -> Result<Vec<(HourlyKey, i64)>, StoreError>;

    /// Adds counts computed elsewhere to the rollups, in one transaction (history
    /// loaded in bulk, the benchmark's synthetic years).
    async fn add_rollup(&self, rollup: &Rollup) -> Result<(), StoreError>;

    /// Recomputes every rollup table from every ticket's log, in one transaction (a
    /// store that held tickets before migration 0008, or a check of the kept tables);
    /// `progress` hears the tickets counted so far after each page of them. Returns how
    /// many tickets were counted.
    async fn rebuild_rollups(
        &self,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<u64, StoreError>;

    /// Every non-zero row of every rollup table, by table name (the daily-count tables
    /// fill `daily`, with the columns a table does not keep empty; `rollup_hourly` fills
    /// `hourly`): for checking the kept tables against a recount.
    async fn rollup_tables(&self) -> Result<Vec<(String, Rollup)>, StoreError>;

    /// How many rows each rollup table holds, by table name: what a dashboard read
    /// chooses between, cheap to ask at any size (unlike [`RollupStore::rollup_tables`]).
    async fn rollup_sizes(&self) -> Result<Vec<(String, u64)>, StoreError>;
}

#[async_trait]
impl RollupStore for SqlStore {
    async fn rollup_daily(&self, query: &RollupQuery) -> Result<Vec<RollupRow>, StoreError> {
        let reads = plan(query);
        let several = reads.len() > 1;
        let mut out = Vec::new();
        for sql in reads {
            for row in sql.query().fetch_all(&self.reader).await? {
                out.push(daily_row(&row, query)?);
            }
        }
        Ok(if several { merge(out) } else { out })
    }

    async fn rollup_hourly(
        &self,
        query: &HourlyQuery,
    ) -> Result<Vec<(HourlyKey, i64)>, StoreError> {
        let Some(sql) = hourly_query(query) else {
            return Ok(Vec::new());
        };
        let rows = sql.query().fetch_all(&self.reader).await?;
        rows.iter().map(hourly_row).collect()
    }

    async fn add_rollup(&self, rollup: &Rollup) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        add(&mut tx, rollup).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn rebuild_rollups(
        &self,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<u64, StoreError> {
        let mut tx = self.writer.begin().await?;
        let tables = CUBES.iter().map(|c| c.table);
        for table in tables.chain(["rollup_hourly"]) {
            sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
                .execute(&mut *tx)
                .await?;
        }
        let mut counted = 0;
        let mut after = String::new();
        loop {
            // A page of tickets at a time: memory stays bounded on a big store.
            let rows = sqlx::query(
                "SELECT e.ticket, e.body FROM events e JOIN (SELECT number FROM tickets \
                 WHERE number > $1 ORDER BY number LIMIT 500) t ON t.number = e.ticket \
                 ORDER BY e.ticket, e.seq",
            )
            .bind(&after)
            .fetch_all(&mut *tx)
            .await?;
            if rows.is_empty() {
                break;
            }
            let mut page = Rollup::default();
            let mut log: Vec<Event> = Vec::new();
            let mut current: Option<String> = None;
            for row in &rows {
                let ticket: String = row.try_get(0)?;
                if current.as_ref().is_some_and(|c| *c != ticket) {
                    count_log(&mut page, current.take(), &mut log, &mut counted)?;
                }
                current = Some(ticket);
                log.push(event_from_row(row)?);
            }
            after = current.clone().unwrap_or_default();
            count_log(&mut page, current, &mut log, &mut counted)?;
            add(&mut tx, &page).await?;
            progress(counted);
        }
        tx.commit().await?;
        Ok(counted)
    }

    async fn rollup_tables(&self) -> Result<Vec<(String, Rollup)>, StoreError> {
        let mut tables = Vec::new();
        for cube in &CUBES {
            let sql = format!(
                "SELECT day, unit, region, category, metric, CAST(SUM(n) AS BIGINT) FROM {} \
                 GROUP BY day, unit, region, category, metric HAVING SUM(n) <> 0",
                cube.table
            );
            let mut rollup = Rollup::default();
            for row in sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(&self.reader)
                .await?
            {
                let (key, n) = table_row(&row)?;
                rollup.daily.insert(key, n);
            }
            tables.push((cube.table.to_owned(), rollup));
        }
        let mut hourly = Rollup::default();
        for row in sqlx::query(
            "SELECT hour, region, category, CAST(SUM(n) AS BIGINT) FROM rollup_hourly \
             GROUP BY hour, region, category HAVING SUM(n) <> 0",
        )
        .fetch_all(&self.reader)
        .await?
        {
            let (key, n) = hourly_row(&row)?;
            hourly.hourly.insert(key, n);
        }
        tables.push(("rollup_hourly".to_owned(), hourly));
        Ok(tables)
    }

    async fn rollup_sizes(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let tables = CUBES.iter().map(|c| c.table);
        let mut sizes = Vec::new();
        for table in tables.chain(["rollup_hourly"]) {
            let sql = format!("SELECT COUNT(*) FROM {table}");
            let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(&self.reader)
                .await?;
            sizes.push((table.to_owned(), u64::try_from(rows).unwrap_or(0)));
        }
        Ok(sizes)
    }
}

/// Adds one ticket's whole log to `page` and empties the log.
fn count_log(
    page: &mut Rollup,
    ticket: Option<String>,
    log: &mut Vec<Event>,
    counted: &mut u64,
) -> Result<(), StoreError> {
    let Some(ticket) = ticket else { return Ok(()) };
    let number = TicketNumber::parse(&ticket)
        .map_err(|e| StoreError::Corrupt(format!("event ticket: {e}")))?;
    page.add(&Rollup::of(&number, log));
    log.clear();
    *counted += 1;
    Ok(())
}

/// Rows per upsert statement: 6 values each stays far below SQLite's bound-parameter
/// limit (32766).
const CHUNK: usize = 1024;

/// One pre-aggregate of the daily counts: a table with the columns of `rollup_daily`,
/// where the columns it does not keep hold `''` and, for a monthly one, `day` holds the
/// first day of the month.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cube {
    pub(crate) table: &'static str,
    monthly: bool,
    unit: bool,
    region: bool,
    category: bool,
}

/// Every daily-count table. The first is the full table of migration 0008; [`plan`]
/// reads the one of a grain that keeps the fewest columns and still answers.
pub(crate) const CUBES: [Cube; 7] = [
    Cube {
        table: "rollup_daily",
        monthly: false,
        unit: true,
        region: true,
        category: true,
    },
    Cube {
        table: "rollup_daily_total",
        monthly: false,
        unit: false,
        region: false,
        category: false,
    },
    Cube {
        table: "rollup_daily_place",
        monthly: false,
        unit: true,
        region: true,
        category: false,
    },
    Cube {
        table: "rollup_monthly_place",
        monthly: true,
        unit: true,
        region: true,
        category: false,
    },
    Cube {
        table: "rollup_monthly",
        monthly: true,
        unit: true,
        region: true,
        category: true,
    },
    Cube {
        table: "rollup_daily_category",
        monthly: false,
        unit: false,
        region: false,
        category: true,
    },
    Cube {
        table: "rollup_monthly_category",
        monthly: true,
        unit: false,
        region: false,
        category: true,
    },
];

impl Cube {
    /// Where a daily count lands in this table.
    fn project(&self, key: &DailyKey) -> DailyKey {
        let keep = |on: bool, value: &String| if on { value.clone() } else { String::new() };
        DailyKey {
            day: if self.monthly {
                key.day.first_of_month()
            } else {
                key.day
            },
            unit: keep(self.unit, &key.unit),
            region: keep(self.region, &key.region),
            category: keep(self.category, &key.category),
            metric: key.metric,
        }
    }

    /// Whether this table has every column `filter` groups or narrows by.
    fn answers(&self, filter: &RollupQuery) -> bool {
        let unit = filter.by_unit || !filter.units.is_empty();
        let region = filter.by_region || !filter.regions.is_empty();
        let (unit, region) = match filter.scope {
            Scope::All => (unit, region),
            Scope::Units(_) => (true, region),
            Scope::Regions(_) | Scope::City(..) => (unit, true),
        };
        let category =
            filter.by_category || filter.category.is_some() || !filter.categories.is_empty();
        (self.unit || !unit) && (self.region || !region) && (self.category || !category)
    }
}

/// Adds `rollup` to the tables. Keys go in sorted order (the maps are ordered), so
/// concurrent PostgreSQL transactions lock shared rows in one order and cannot deadlock.
pub(crate) async fn add(conn: &mut AnyConnection, rollup: &Rollup) -> Result<(), StoreError> {
    let cubes: Vec<Vec<(DailyKey, i64)>> = CUBES.iter().map(|cube| cube.cells(rollup)).collect();
    if conn.backend_name() == <sqlx::Sqlite as sqlx::Database>::NAME {
        add_by_table(conn, &cubes, rollup).await
    } else {
        add_in_one(conn, &cubes, rollup).await
    }
}

impl Cube {
    /// `rollup`'s daily counts as this table holds them, zero sums left out.
    fn cells(&self, rollup: &Rollup) -> Vec<(DailyKey, i64)> {
        let mut cells: BTreeMap<DailyKey, i64> = BTreeMap::new();
        for (key, n) in &rollup.daily {
            *cells.entry(self.project(key)).or_default() += n;
        }
        cells.retain(|_, n| *n != 0);
        cells.into_iter().collect()
    }
}

/// SQLite: a statement per table (and chunk). Its statements are cheap and its one
/// writer is in the same process.
async fn add_by_table(
    conn: &mut AnyConnection,
    cubes: &[Vec<(DailyKey, i64)>],
    rollup: &Rollup,
) -> Result<(), StoreError> {
    for (cube, cells) in CUBES.iter().zip(cubes) {
        for chunk in crate::db::row_chunks(conn, &cells[..], CHUNK) {
            let table = cube.table;
            let sql = format!(
                "INSERT INTO {table} (day, unit, region, category, metric, n) VALUES {} \
                 ON CONFLICT (day, unit, region, category, metric) DO UPDATE SET n = {table}.n + excluded.n",
                placeholders(conn, chunk.len(), 6),
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (key, n) in chunk {
                query = query
                    .bind(key.day.to_string())
                    .bind(key.unit.clone())
                    .bind(key.region.clone())
                    .bind(key.category.clone())
                    .bind(key.metric.code())
                    .bind(*n);
            }
            query.execute(&mut *conn).await?;
        }
    }
    let hourly: Vec<_> = rollup.hourly.iter().collect();
    for chunk in crate::db::row_chunks(conn, &hourly[..], CHUNK) {
        let sql = format!(
            "INSERT INTO rollup_hourly (hour, region, category, n) VALUES {} \
             ON CONFLICT (hour, region, category) DO UPDATE SET n = rollup_hourly.n + excluded.n",
            placeholders(conn, chunk.len(), 4),
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

/// PostgreSQL: every table in one statement, each table's rows one JSON parameter
/// (read once by `json_to_recordset`; `->>` on `json` parses the element again at
/// every use), so the text never changes (one cached plan) and a group of intakes
/// pays one round trip for its counts instead of eight. Round trips were about a quarter of the
/// database's CPU at intake (sending, receiving, waking up). Each connection adds to
/// its own shard of a cell (`pg_backend_pid() % 16`, as many as a node's pool holds
/// connections; migration 0019): a transaction holds the rows it added to
/// until it commits, and the day's hot cells (the whole city, the intake desk) would
/// otherwise make every concurrent writer wait for the one before it. Readers sum the
/// shards (`SUM(n) ... GROUP BY`).
async fn add_in_one(
    conn: &mut AnyConnection,
    cubes: &[Vec<(DailyKey, i64)>],
    rollup: &Rollup,
) -> Result<(), StoreError> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let mut sql = String::from("WITH ");
        for (i, cube) in CUBES.iter().enumerate() {
            let table = cube.table;
            sql += &format!(
                "c{i} AS (INSERT INTO {table} (day, unit, region, category, metric, n, shard) \
                 SELECT day, unit, region, category, metric, n, pg_backend_pid() % 16 \
                 FROM json_to_recordset(${}::json) AS r(day text, unit text, region text, \
                 category text, metric text, n bigint) \
                 ON CONFLICT (day, unit, region, category, metric, shard) \
                 DO UPDATE SET n = {table}.n + excluded.n), ",
                i + 1
            );
        }
        sql.truncate(sql.len() - 2);
        sql + &format!(
            " INSERT INTO rollup_hourly (hour, region, category, n, shard) \
             SELECT hour, region, category, n, pg_backend_pid() % 16 \
             FROM json_to_recordset(${}::json) AS r(hour bigint, region text, category text, n bigint) \
             ON CONFLICT (hour, region, category, shard) DO UPDATE SET n = rollup_hourly.n + excluded.n",
            CUBES.len() + 1
        )
    });
    if cubes.iter().all(Vec::is_empty) && rollup.hourly.is_empty() {
        return Ok(());
    }
    let mut query = sqlx::query(sqlx::AssertSqlSafe(SQL.as_str()));
    for cells in cubes {
        let rows: Vec<_> = cells
            .iter()
            .map(|(key, n)| {
                serde_json::json!({
                    "day": key.day.to_string(),
                    "unit": key.unit,
                    "region": key.region,
                    "category": key.category,
                    "metric": key.metric.code(),
                    "n": n,
                })
            })
            .collect();
        query = query.bind(serde_json::Value::Array(rows).to_string());
    }
    let hourly: Vec<_> = rollup
        .hourly
        .iter()
        .map(|(key, n)| {
            serde_json::json!({"hour": key.hour, "region": key.region, "category": key.category, "n": n})
        })
        .collect();
    query = query.bind(serde_json::Value::Array(hourly).to_string());
    query.execute(&mut *conn).await?;
    Ok(())
}

/// Inside an append's transaction, before its events are written: what `new` changes
/// in the ticket's contribution (its stored log is read to know the before), to be
/// written by [`add`] just before the transaction commits.
pub(crate) async fn change(
    conn: &mut AnyConnection,
    number: &TicketNumber,
    new: &[Event],
) -> Result<Rollup, StoreError> {
    let rows = sqlx::query("SELECT body FROM events WHERE ticket = $1 ORDER BY seq")
        .bind(number.as_str())
        .fetch_all(&mut *conn)
        .await?;
    let before = rows
        .iter()
        .map(event_from_row)
        .collect::<Result<Vec<Event>, StoreError>>()?;
    Ok(Rollup::change(number, &before, new))
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
        // A city's figures are those filed under its regions.
        Scope::Regions(regions) | Scope::City(_, regions) => (
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

/// The coarsest table of the grain asked for that answers `filter`: the one keeping the
/// fewest columns. The full daily table answers everything, so there always is one.
fn coarsest(filter: &RollupQuery, monthly: bool) -> Cube {
    CUBES
        .iter()
        .filter(|cube| cube.monthly == monthly && cube.answers(filter))
        .min_by_key(|cube| u8::from(cube.unit) + u8::from(cube.region) + u8::from(cube.category))
        .copied()
        .unwrap_or(CUBES[0])
}

/// The reads that answer `filter` together: the whole months of its period from the
/// coarsest monthly table, the days before and after them from the coarsest daily one
/// (one read when no whole month lies inside, or the rows are grouped by day). Rows of
/// several reads with the same key are to be added up ([`merge`]).
pub(crate) fn plan(filter: &RollupQuery) -> Vec<Conditions> {
    if filter.finest_only {
        return vec![read(CUBES[0], filter, filter.from, filter.to)];
    }
    let daily = coarsest(filter, false);
    let first_month = if filter.from.day() == 1 {
        Some(filter.from)
    } else {
        filter.from.last_of_month().tomorrow().ok()
    };
    let last_month = filter.to.first_of_month();
    match first_month {
        Some(first) if !filter.by_day && first < last_month => {
            let mut reads = Vec::new();
            if filter.from < first {
                reads.push(read(daily, filter, filter.from, first));
            }
            reads.push(read(coarsest(filter, true), filter, first, last_month));
            if last_month < filter.to {
                reads.push(read(daily, filter, last_month, filter.to));
            }
            reads
        }
        _ => vec![read(daily, filter, filter.from, filter.to)],
    }
}

/// Adds up rows of several reads that carry the same key.
pub(crate) fn merge(rows: Vec<RollupRow>) -> Vec<RollupRow> {
    let mut sums: BTreeMap<_, i64> = BTreeMap::new();
    for row in rows {
        *sums
            .entry((row.day, row.unit, row.region, row.category, row.metric))
            .or_default() += row.n;
    }
    sums.into_iter()
        .map(|((day, unit, region, category, metric), n)| RollupRow {
            day,
            unit,
            region,
            category,
            metric,
            n,
        })
        .collect()
}

/// One read of `cube` over days `from` up to `to` (exclusive).
fn read(cube: Cube, filter: &RollupQuery, from: Date, to: Date) -> Conditions {
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
        "SELECT {columns}, CAST(SUM(n) AS BIGINT) FROM {} WHERE 1 = 1",
        cube.table
    ));
    query.and(
        "day >= ? AND day < ?",
        vec![Bind::Text(from.to_string()), Bind::Text(to.to_string())],
    );
    scope(&mut query, &filter.scope);
    any_of(&mut query, "unit", &filter.units);
    any_of(&mut query, "region", &filter.regions);
    category_prefix(&mut query, &filter.category);
    any_of(&mut query, "category", &filter.categories);
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

/// A whole row of a daily-count table.
pub(crate) fn table_row(row: &sqlx::any::AnyRow) -> Result<(DailyKey, i64), StoreError> {
    let day: String = row.try_get(0)?;
    let code: String = row.try_get(4)?;
    Ok((
        DailyKey {
            day: day
                .parse()
                .map_err(|e| StoreError::Corrupt(format!("rollup day {day:?}: {e}")))?,
            unit: row.try_get(1)?,
            region: row.try_get(2)?,
            category: row.try_get(3)?,
            metric: Metric::from_code(&code)
                .ok_or_else(|| StoreError::Corrupt(format!("rollup metric {code:?}")))?,
        },
        row.try_get(5)?,
    ))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_read_takes_the_smallest_table_that_answers_it() {
        let (from, to) = (jiff::civil::date(2026, 1, 1), jiff::civil::date(2027, 1, 1));
        let city = RollupQuery::city_totals(from, to);
        let by_unit = RollupQuery {
            by_unit: true,
            ..city.clone()
        };
        let in_category = RollupQuery {
            category: Some("城乡建设".into()),
            ..by_unit.clone()
        };
        let by_category = RollupQuery {
            by_category: true,
            ..city.clone()
        };
        let daily = |q: &RollupQuery| coarsest(q, false).table;
        let monthly = |q: &RollupQuery| coarsest(q, true).table;
        assert_eq!(daily(&city), "rollup_daily_total");
        assert_eq!(daily(&by_unit), "rollup_daily_place");
        assert_eq!(daily(&by_category), "rollup_daily_category");
        assert_eq!(daily(&in_category), "rollup_daily");
        assert_eq!(monthly(&by_unit), "rollup_monthly_place");
        assert_eq!(monthly(&by_category), "rollup_monthly_category");
        assert_eq!(monthly(&in_category), "rollup_monthly");
        let finest = RollupQuery {
            finest_only: true,
            ..city
        };
        assert!(plan(&finest)[0].sql.contains("FROM rollup_daily WHERE"));
    }
}
