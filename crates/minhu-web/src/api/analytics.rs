//! The analytics API under `/api/v1/analytics`: rates and rankings, daily trends, surge
//! alerts. Every
//! figure comes from the store's rollups (kept current with each ticket change), read
//! within the caller's scope, and every table also exports as CSV (`format=csv`) or as an
//! Excel workbook (`format=xlsx`). The hotspot list and the monthly topic are in
//! `topics.rs`.
//!
//! Filters shared by every route: `month=YYYY-MM`, or `from` and `to` (days, both
//! included; default: this month in the city's time zone), `region` (a region and
//! everything inside it), `unit` (a unit and the units under it), `category` (a category
//! and its sub-categories).

use crate::AppState;
use crate::api::in_range;
use crate::middleware::auth::Principal;
use crate::middleware::auth::Rule::Permission as Needs;
use crate::middleware::error::ApiError;
use crate::middleware::extract::{Both, QueryParams};
use crate::routes::Routes;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use minhu_analytics::rates::{Ranked, per_10k, rank};
use minhu_analytics::seasonal::Concerned;
use minhu_analytics::{Rates, Tally};
use minhu_core::access::Permission as P;
use minhu_core::access::Scope;
use minhu_core::city::ScoreWeights;
use minhu_core::ids::{RegionId, UnitId};
use minhu_core::region::{Region, RegionLevel};
use minhu_core::rollup::Metric;
use minhu_core::taxonomy::CategoryPath;
use minhu_core::workflow::FieldError;
use minhu_core::{City, Province};
use minhu_engine::records::{Alert, RollupQuery, RollupRow};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::IntoParams;
use utoipa_axum::routes;

/// Analytics read rollups within the caller's scope.
pub(crate) fn routes() -> Routes {
    Routes::new()
        .api(Needs(P::Report), routes!(rates))
        .api(Needs(P::Report), routes!(trends))
        .api(Needs(P::Report), routes!(alerts))
}

/// The filters of a request, checked against the city.
pub(crate) struct Filters {
    pub from: Date,
    /// The last day included.
    pub to: Date,
    pub region: Option<RegionId>,
    pub regions: Vec<String>,
    pub units: Vec<String>,
    pub category: Option<String>,
    pub format: Format,
}

/// How a table is sent: JSON (the default), CSV or an Excel workbook (`format=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Json,
    Csv,
    Xlsx,
}

impl Format {
    fn parse(format: Option<&str>) -> Result<Format, ApiError> {
        match format {
            None | Some("json") => Ok(Format::Json),
            Some("csv") => Ok(Format::Csv),
            Some("xlsx") => Ok(Format::Xlsx),
            Some(other) => Err(field("format", format!("{other:?}: use json, csv or xlsx"))),
        }
    }
}

fn field(name: &str, message: String) -> ApiError {
    FieldError::new(name, message).into()
}

fn day(name: &str, value: Option<&String>) -> Result<Option<Date>, ApiError> {
    value
        .map(|text| {
            text.parse::<Date>()
                .map_err(|e| field(name, format!("{text:?} is not a day (YYYY-MM-DD): {e}")))
        })
        .transpose()
}

/// The period of a request, for the routes that take one.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PeriodParams {
    /// A month, YYYY-MM; or `from` and `to`.
    pub month: Option<String>,
    /// The first day, YYYY-MM-DD (default: the first of this month).
    pub from: Option<String>,
    /// The last day, YYYY-MM-DD (default: today).
    pub to: Option<String>,
}

/// What a request narrows to, and how the answer is sent: every analytics route.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct FilterParams {
    /// A region id: the region and everything inside it.
    pub region: Option<String>,
    /// A unit id: the unit and the units under it.
    pub unit: Option<String>,
    /// A category path: the category and its sub-categories.
    pub category: Option<String>,
    /// json (default), csv or xlsx.
    pub format: Option<String>,
}

/// The level categories are read at (the monthly topic, the seasonal view).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LevelParams {
    /// Categories cut to this level of the taxonomy, 1 to 3 (default: as filed).
    pub level: Option<u32>,
}

impl LevelParams {
    /// The level asked for, checked.
    pub(crate) fn checked(&self) -> Result<Option<u32>, ApiError> {
        Ok(self
            .level
            .map(|n| crate::api::in_range("level", Some(n), 1, 3, n))
            .transpose()?)
    }
}

/// The first `level` levels of a category path (all of it without a level).
pub(crate) fn cut(path: &str, level: Option<u32>) -> String {
    match level {
        None => path.to_owned(),
        Some(level) => path
            .split('/')
            .take(level as usize)
            .collect::<Vec<_>>()
            .join("/"),
    }
}

impl Filters {
    pub(crate) fn parse(
        period: &PeriodParams,
        given: &FilterParams,
        city: &City,
        today: Date,
    ) -> Result<Filters, ApiError> {
        let (from, to) = match &period.month {
            Some(month) => {
                let first = format!("{month}-01")
                    .parse::<Date>()
                    .map_err(|_| field("month", format!("{month:?} is not a month (YYYY-MM)")))?;
                (first, first.last_of_month())
            }
            None => (
                day("from", period.from.as_ref())?.unwrap_or(today.first_of_month()),
                day("to", period.to.as_ref())?.unwrap_or(today),
            ),
        };
        if to < from {
            return Err(field("to", format!("{to} is before from = {from}")));
        }
        if (to - from).get_days() > 3660 {
            return Err(field("to", "the period is longer than ten years".into()));
        }
        let region = given
            .region
            .as_ref()
            .map(|id| {
                let id = RegionId::new(id.as_str());
                city.regions
                    .get(&id)
                    .map(|r| r.id.clone())
                    .ok_or_else(|| field("region", format!("no region has the id {id}")))
            })
            .transpose()?;
        let regions = match &region {
            Some(region) => match Scope::region_subtree(city, region) {
                Scope::Regions(ids) => ids.into_iter().map(|r| r.as_str().to_owned()).collect(),
                _ => Vec::new(),
            },
            None => Vec::new(),
        };
        let units = match &given.unit {
            Some(id) => {
                let id = UnitId::new(id.as_str());
                if city.units.get(&id).is_none() {
                    return Err(field("unit", format!("no unit has the id {id}")));
                }
                match Scope::unit_subtree(city, &id) {
                    Scope::Units(ids) => ids.into_iter().map(|u| u.as_str().to_owned()).collect(),
                    _ => Vec::new(),
                }
            }
            None => Vec::new(),
        };
        let category = given
            .category
            .as_ref()
            .map(|path| {
                let path = CategoryPath::new(path);
                if city.taxonomy.contains(&path) {
                    Ok(path.as_str().to_owned())
                } else {
                    Err(field(
                        "category",
                        format!("{path:?} is not in the taxonomy"),
                    ))
                }
            })
            .transpose()?;
        let format = Format::parse(given.format.as_deref())?;
        Ok(Filters {
            from,
            to,
            region,
            regions,
            units,
            category,
            format,
        })
    }

    pub(crate) fn query(&self, scope: &Scope) -> RollupQuery {
        RollupQuery {
            from: self.from,
            to: self.to.tomorrow().unwrap_or(self.to),
            scope: scope.clone(),
            units: self.units.clone(),
            regions: self.regions.clone(),
            category: self.category.clone(),
            categories: Vec::new(),
            by_day: false,
            by_unit: false,
            by_region: false,
            by_category: false,
            finest_only: false,
        }
    }
}

/// Today in the city, by the engine's clock.
pub(crate) fn today(state: &AppState) -> Date {
    state.engine.city().local_date(state.engine.now())
}

pub(crate) async fn read(
    state: &AppState,
    query: &RollupQuery,
) -> Result<Vec<RollupRow>, ApiError> {
    state
        .engine
        .analytics()
        .daily(query)
        .await
        .map_err(ApiError::internal)
}

/// A table for CSV: a header and rows of cells.
pub(crate) struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Columns a spreadsheet must keep as text though they read as numbers (ticket
    /// numbers, phones: as numbers they lose their digits' meaning, or their zeros).
    pub text_columns: &'static [usize],
}

impl Table {
    pub(crate) fn new(header: Vec<String>, rows: Vec<Vec<String>>) -> Table {
        Table::with_text_columns(header, rows, &[])
    }

    pub(crate) fn with_text_columns(
        header: Vec<String>,
        rows: Vec<Vec<String>>,
        text_columns: &'static [usize],
    ) -> Table {
        Table {
            header,
            rows,
            text_columns,
        }
    }

    /// The table as a file in `format` (CSV or XLSX; JSON is each route's own).
    pub(crate) fn send(&self, name: &str, format: Format) -> Result<Response, ApiError> {
        match format {
            Format::Xlsx => self.xlsx(name),
            Format::Csv | Format::Json => Ok(self.csv(name)),
        }
    }

    /// One worksheet named after the table, the header in bold and frozen; cells that
    /// read as numbers are written as numbers so that they sum and sort in a spreadsheet.
    fn xlsx(&self, name: &str) -> Result<Response, ApiError> {
        use rust_xlsxwriter::{Format as CellFormat, Workbook};
        let bold = CellFormat::new().set_bold();
        let written = (|| -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
            let mut workbook = Workbook::new();
            let sheet = workbook.add_worksheet();
            sheet.set_name(name)?;
            for (col, cell) in self.header.iter().enumerate() {
                sheet.write_string_with_format(0, col as u16, cell, &bold)?;
            }
            sheet.set_freeze_panes(1, 0)?;
            for (r, row) in self.rows.iter().enumerate() {
                let r = r as u32 + 1;
                for (col, cell) in row.iter().enumerate() {
                    match cell.parse::<f64>() {
                        Ok(number) if number.is_finite() && !self.text_columns.contains(&col) => {
                            sheet.write_number(r, col as u16, number)?;
                        }
                        _ => {
                            sheet.write_string(r, col as u16, cell)?;
                        }
                    }
                }
            }
            workbook.save_to_buffer()
        })()
        .map_err(ApiError::internal)?;
        Ok((
            [
                (
                    header::CONTENT_TYPE,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}.xlsx\""),
                ),
            ],
            written,
        )
            .into_response())
    }

    fn csv(&self, name: &str) -> Response {
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let cells: Vec<String> = row.iter().map(|c| crate::api::audit::csv_cell(c)).collect();
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}.csv\""),
                ),
            ],
            out,
        )
            .into_response()
    }
}

/// A figure in an export: two decimals (rates are percentages), empty when unknown.
fn number(value: Option<f64>) -> String {
    value.map(|v| format!("{v:.2}")).unwrap_or_default()
}

fn metric_header() -> impl Iterator<Item = String> {
    Metric::ALL.iter().map(|m| m.code().to_owned())
}

fn metric_cells(counts: &Tally) -> impl Iterator<Item = String> + '_ {
    Metric::ALL.iter().map(|m| counts.get(*m).to_string())
}

#[derive(Serialize)]
struct RateLine {
    /// A unit id, a region id, or "" for what no unit or region holds.
    id: String,
    name: String,
    /// The unit's English name (a region's name: regions have none).
    name_en: String,
    /// On the lines shown apart, never ranked: `intake` (what no unit holds: answered
    /// at intake, waiting for dispatch, merged), `unplaced` (no place known) or
    /// `city_wide` (placed at the city itself: it names the city and nothing below).
    #[serde(skip_serializing_if = "Option::is_none")]
    apart: Option<&'static str>,
    #[serde(flatten)]
    ranked: Ranked,
    /// Demand received per 10,000 residents (regions with a population).
    per_10k: Option<f64>,
}

#[derive(Serialize)]
struct RatesReport {
    from: Date,
    to: Date,
    /// `unit`, `region`, `street` or `grid`.
    by: &'static str,
    weights: Weights,
    /// Every unit or region, best score first; unranked lines last.
    rows: Vec<RateLine>,
    /// What no unit or no place holds (see `RateLine.apart`): shown apart, never
    /// ranked; empty when there is none.
    apart: Vec<RateLine>,
    /// `by=region` or `street`: the share of the demands received without a known
    /// place at that level, in percent (the per-10k figures count placed demands only).
    /// City-wide demands are not among them.
    unplaced: Option<f64>,
    /// `by=region` or `street`: the share of the demands received placed at the city
    /// itself (city-wide matters: in no district, counted in no region's line).
    city_wide: Option<f64>,
    /// The whole selection's counts and rates.
    total: Totals,
}

#[derive(Serialize)]
struct Weights {
    response: f64,
    resolution: f64,
    satisfaction: f64,
    on_time: f64,
}

impl From<ScoreWeights> for Weights {
    fn from(w: ScoreWeights) -> Self {
        Weights {
            response: w.response,
            resolution: w.resolution,
            satisfaction: w.satisfaction,
            on_time: w.on_time,
        }
    }
}

#[derive(Serialize)]
struct Totals {
    counts: Tally,
    rates: Rates,
}

/// The region directly under `base` that holds `region` (itself when it is that
/// level), or `None` when it lies outside `base` or is `base` itself (a demand placed
/// no closer than the city, or than the district asked for: unplaced at this level).
fn child_of(city: &City, base: &RegionId, region: &str) -> Option<RegionId> {
    let id = RegionId::new(region);
    let chain: Vec<_> = city.regions.ancestry(&id).collect();
    let at = chain.iter().position(|r| &r.id == base)?;
    at.checked_sub(1).map(|below| chain[below].id.clone())
}

/// The region of `level` (a district, a street) that holds `region` (itself when it is
/// one), when it lies in one.
pub(crate) fn ancestor_at<'c>(
    city: &'c City,
    region: &str,
    level: RegionLevel,
) -> Option<&'c Region> {
    city.regions
        .ancestry(&RegionId::new(region))
        .find(|r| r.level == level)
}

/// The district id a rollup row's region lies in, `""` when none (unplaced).
pub(crate) fn district_key(city: &City, region: Option<&str>) -> String {
    region
        .and_then(|id| ancestor_at(city, id, RegionLevel::District))
        .map_or_else(String::new, |d| d.id.to_string())
}

/// Gives each listed place its name from the city's regions (unknown ids stay).
pub(crate) fn name_places(province: &Province, places: &mut [Concerned]) {
    for place in places {
        if let Some(region) = region_of(province, &place.id) {
            // Regions have no English names: the Chinese one on English pages too.
            place.name = region.name.clone();
            place.name_en = region.name.clone();
        }
    }
}

/// The configuration figures are read under: the reader's city; for the province's
/// readers, the city holding the region they narrow to, else the home city.
pub(crate) fn city_read<'a>(
    state: &'a AppState,
    scope: &Scope,
    given: &FilterParams,
) -> &'a std::sync::Arc<City> {
    let engine = &state.engine;
    let holder = given
        .region
        .as_deref()
        .filter(|_| matches!(scope, Scope::All))
        .and_then(|r| engine.province().city_of_region(&RegionId::new(r.trim())));
    holder.map_or_else(|| engine.city_in(scope), |entry| &entry.city)
}

/// A region of any city of the province (a region's id is unique in it).
pub(crate) fn region_of<'a>(
    province: &'a Province,
    id: &str,
) -> Option<&'a minhu_core::region::Region> {
    let id = RegionId::new(id);
    province.city_of_region(&id)?.city.regions.get(&id)
}

/// A unit's name and its English name (its name where the city gives none), whichever
/// city of the province it belongs to; its id for both when no city has it.
pub(crate) fn unit_names(province: &Province, id: &str) -> (String, String) {
    let id_ = UnitId::new(id);
    let unit = province
        .cities()
        .iter()
        .find_map(|c| c.city.units.get(&id_));
    unit.map_or_else(
        || (id.to_owned(), id.to_owned()),
        |unit| {
            let english = unit.name_en.clone().unwrap_or_else(|| unit.name.clone());
            (unit.name.clone(), english)
        },
    )
}

/// A category path in English where the city names it (`english` in taxonomy.csv),
/// else as written.
pub(crate) fn category_en(city: &City, path: &str) -> String {
    city.taxonomy
        .english(&minhu_core::taxonomy::CategoryPath::new(path))
        .unwrap_or_else(|| path.to_owned())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct RankBy {
    /// unit (default), region, street, grid, or city (the cities of the province).
    #[param(value_type = Option<String>)]
    by: Option<Ranking>,
}

#[derive(Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Ranking {
    Unit,
    Region,
    Street,
    Grid,
    City,
}

/// Rates (percentages, README "Figures"), composite scores and the ranking of units
/// (`by=unit`, default), of the regions directly under `region` (`by=region`; the
/// districts of the city without it), of the streets (`by=street`) or of the grids
/// (`by=grid`, within `region`
/// when given), with demand per 10,000 residents where the place is known and the
/// unplaced share beside it; the lowest scores are named (通报). What
/// no unit holds (the intake desk) or no place (unplaced) comes in `apart`, never ranked.
#[utoipa::path(
    get, path = "/api/v1/analytics/rates",
    params(PeriodParams, FilterParams, RankBy),
    responses((status = 200, description = "rates, scores and the ranking"), (status = 422, description = "a bad filter, named"))
)]
pub(crate) async fn rates(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(Both(Both(period, given), RankBy { by })): QueryParams<
        Both<Both<PeriodParams, FilterParams>, RankBy>,
    >,
) -> Result<Response, ApiError> {
    let city = city_read(&state, &principal.scope, &given);
    let filters = Filters::parse(&period, &given, city, today(&state))?;
    let by = by.unwrap_or(Ranking::Unit);
    let by_region = by != Ranking::Unit;
    let mut query = filters.query(&principal.scope);
    // A city's counts: those filed under its regions, and under its units where
    // no place is known.
    query.by_unit = !by_region || by == Ranking::City;
    query.by_region = by_region;
    let province = state.engine.province();
    let rows = read(&state, &query).await?;
    let base = filters
        .region
        .clone()
        .unwrap_or_else(|| city.regions.root().id.clone());
    let root = city.regions.root().id.as_str();
    let mut cells: BTreeMap<String, Tally> = BTreeMap::new();
    let mut total = Tally::default();
    for row in &rows {
        total.add(row.metric, row.n);
        let region = row.region.as_deref().unwrap_or_default();
        let key = match by {
            Ranking::Unit => row.unit.clone().unwrap_or_default(),
            // A city-wide demand: a line of its own, apart (under the city's id), not
            // among the unplaced.
            Ranking::Region | Ranking::Street | Ranking::Grid if region == root => root.to_owned(),
            Ranking::Region => {
                child_of(city, &base, region).map_or_else(String::new, |r| r.as_str().to_owned())
            }
            Ranking::Street => ancestor_at(city, region, RegionLevel::Street)
                .map_or_else(String::new, |r| r.id.to_string()),
            Ranking::Grid => ancestor_at(city, region, RegionLevel::Grid)
                .map_or_else(String::new, |r| r.id.to_string()),
            Ranking::City => province
                .city_of_region(&RegionId::new(region))
                .or_else(|| {
                    let unit = UnitId::new(row.unit.as_deref()?);
                    province
                        .cities()
                        .iter()
                        .find(|c| c.city.units.get(&unit).is_some())
                })
                .map_or_else(String::new, |c| c.id.to_string()),
        };
        cells.entry(key).or_default().add(row.metric, row.n);
    }
    let rules = &city.analytics;
    let apart_line =
        |id: &str, counts: Tally, (kind, name, name_en): (&'static str, &str, &str)| RateLine {
            id: id.to_owned(),
            name: name.to_owned(),
            name_en: name_en.to_owned(),
            apart: Some(kind),
            per_10k: None,
            ranked: Ranked::unranked(id.to_owned(), counts, &rules.weights),
        };
    let city_wide = (by_region && by != Ranking::City)
        .then(|| cells.remove(root))
        .flatten()
        .map(|counts| apart_line(root, counts, ("city_wide", "全市 City-wide", "City-wide")));
    let apart = cells.remove("").map(|counts| {
        let kind = if by_region {
            ("unplaced", "未定位 Not placed", "Not placed")
        } else {
            ("intake", "受理台 Intake desk", "Intake desk")
        };
        apart_line("", counts, kind)
    });
    let lines: Vec<RateLine> = rank(cells.into_iter().collect(), rules)
        .into_iter()
        .map(|ranked| {
            let ((name, name_en), population) = if by == Ranking::City {
                let entry = province.city(&minhu_core::ids::CityId::new(ranked.unit.as_str()));
                let names = entry.map_or_else(
                    || (ranked.unit.clone(), ranked.unit.clone()),
                    |c| (c.city.name.clone(), c.city.name_en.clone()),
                );
                (names, entry.and_then(|c| c.city.regions.root().population))
            } else if by_region {
                let region = city.regions.get(&RegionId::new(ranked.unit.as_str()));
                let name = region.map_or_else(|| ranked.unit.clone(), |r| r.name.clone());
                ((name.clone(), name), region.and_then(|r| r.population))
            } else {
                (unit_names(province, &ranked.unit), None)
            };
            RateLine {
                id: ranked.unit.clone(),
                name,
                name_en,
                apart: None,
                per_10k: per_10k(ranked.counts.get(Metric::Received), population),
                ranked,
            }
        })
        .collect();
    let share = |line: &Option<RateLine>| {
        by_region
            .then(|| {
                let n = line
                    .as_ref()
                    .map_or(0, |line| line.ranked.counts.get(Metric::Received));
                minhu_analytics::rates::percent(n, total.get(Metric::Received))
            })
            .flatten()
    };
    let unplaced = share(&apart);
    let city_wide_share = share(&city_wide).filter(|_| by != Ranking::City);
    let report = RatesReport {
        from: filters.from,
        to: filters.to,
        by: match by {
            Ranking::Unit => "unit",
            Ranking::Region => "region",
            Ranking::Street => "street",
            Ranking::Grid => "grid",
            Ranking::City => "city",
        },
        weights: rules.weights.into(),
        total: Totals {
            rates: Rates::of(&total, &rules.weights),
            counts: total,
        },
        rows: lines,
        apart: city_wide.into_iter().chain(apart).collect(),
        unplaced,
        city_wide: city_wide_share,
    };
    if filters.format != Format::Json {
        return rates_table(&report).send("rates", filters.format);
    }
    Ok(Json(report).into_response())
}

fn rates_table(report: &RatesReport) -> Table {
    let mut header: Vec<String> = [
        "id",
        "name",
        "rank",
        "named",
        "score",
        "response",
        "resolution",
        "satisfaction",
        "on_time",
        "reopen",
        "returns",
        "buck_passing",
        "buck_passing_warning",
        "per_10k",
        "answered",
        "on_the_spot",
        "found_first",
    ]
    .map(str::to_owned)
    .to_vec();
    header.extend(metric_header());
    let rows = report
        .rows
        .iter()
        .chain(&report.apart)
        .map(|line| {
            let r = &line.ranked.rates;
            let mut row = vec![
                line.id.clone(),
                line.name.clone(),
                line.ranked.rank.map(|n| n.to_string()).unwrap_or_default(),
                line.ranked.named.to_string(),
                number(r.score),
                number(r.response),
                number(r.resolution),
                number(r.satisfaction),
                number(r.on_time),
                number(r.reopen),
                number(r.returns),
                number(r.buck_passing),
                line.ranked.buck_passing_warning.to_string(),
                number(line.per_10k),
                number(r.answered),
                number(r.on_the_spot),
                number(r.found_first),
            ];
            row.extend(metric_cells(&line.ranked.counts));
            row
        })
        .collect();
    Table::new(header, rows)
}

#[derive(Serialize)]
struct TrendDay {
    day: Date,
    counts: Tally,
    rates: Rates,
}

#[derive(Serialize)]
struct Trends {
    from: Date,
    to: Date,
    /// Every day of the period, days without tickets included.
    days: Vec<TrendDay>,
}

/// Day by day: what was received and how it was handled (by intake day).
#[utoipa::path(
    get, path = "/api/v1/analytics/trends",
    params(PeriodParams, FilterParams),
    responses((status = 200, description = "every day of the period"), (status = 422, description = "a bad filter, named"))
)]
pub(crate) async fn trends(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(Both(period, given)): QueryParams<Both<PeriodParams, FilterParams>>,
) -> Result<Response, ApiError> {
    let city = city_read(&state, &principal.scope, &given);
    let filters = Filters::parse(&period, &given, city, today(&state))?;
    let mut query = filters.query(&principal.scope);
    query.by_day = true;
    let rows = read(&state, &query).await?;
    let mut by_day: BTreeMap<Date, Tally> = BTreeMap::new();
    let mut day = filters.from;
    while day <= filters.to {
        by_day.insert(day, Tally::default());
        let Ok(next) = day.tomorrow() else { break };
        day = next;
    }
    for row in rows {
        if let Some(tally) = row.day.and_then(|d| by_day.get_mut(&d)) {
            tally.add(row.metric, row.n);
        }
    }
    let days: Vec<TrendDay> = by_day
        .into_iter()
        .map(|(day, counts)| TrendDay {
            day,
            rates: Rates::of(&counts, &city.analytics.weights),
            counts,
        })
        .collect();
    if filters.format != Format::Json {
        let mut header = vec!["day".to_owned()];
        header.extend(metric_header());
        let rows = days
            .iter()
            .map(|d| {
                let mut row = vec![d.day.to_string()];
                row.extend(metric_cells(&d.counts));
                row
            })
            .collect();
        return Table::new(header, rows).send("trends", filters.format);
    }
    Ok(Json(Trends {
        from: filters.from,
        to: filters.to,
        days,
    })
    .into_response())
}

#[derive(Serialize)]
struct AlertLine {
    #[serde(flatten)]
    alert: Alert,
    /// The place's or the unit's name: what the alert is about.
    name: String,
    /// In English: the unit's English name (a region's name: regions have none).
    name_en: String,
    /// The category in English where the city names it.
    category_en: Option<String>,
    region_name: Option<String>,
    unit_name: Option<String>,
    /// The window's start and end (`window_from`, `window_to`).
    first_at: jiff::Timestamp,
    until: jiff::Timestamp,
}

#[derive(Serialize)]
struct Alerts {
    /// Alerts raised from `since` on.
    since: jiff::Timestamp,
    alerts: Vec<AlertLine>,
}

/// Whether the caller may see an alert: a surge by its place, a unit's warning by the
/// unit.
fn in_scope(province: &Province, scope: &Scope, alert: &Alert) -> bool {
    match scope {
        Scope::All => true,
        // A city's officials: its places' surges and its units' warnings.
        Scope::City(city, ids) => {
            let place = alert.region.as_ref();
            place.is_some_and(|r| ids.iter().any(|id| id.as_str() == r))
                || alert.unit.as_ref().is_some_and(|u| {
                    province
                        .city(city)
                        .is_some_and(|c| c.city.units.get(&UnitId::new(u.as_str())).is_some())
                })
        }
        Scope::Regions(ids) => alert
            .region
            .as_ref()
            .is_some_and(|r| ids.iter().any(|id| id.as_str() == r)),
        Scope::Units(ids) => alert
            .unit
            .as_ref()
            .is_some_and(|u| ids.iter().any(|id| id.as_str() == u)),
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AlertWindow {
    /// Hours looked back, 1 to 168 (default 24).
    hours: Option<u32>,
}

/// The alerts raised in the last `hours` hours (default 24, at most 168), newest
/// first: surges (突发预警: a place and category far above its normal for that hour of
/// the week) and buck-passing warnings (推诿预警: a unit above the city's threshold this
/// month), each raised once per cell and window by the engine's alert watch and told
/// through the notification channels that carry alerts; filters `region`, `unit`,
/// `category`; within the caller's scope (surges by place, warnings by unit).
#[utoipa::path(
    get, path = "/api/v1/analytics/alerts",
    params(AlertWindow, FilterParams),
    responses((status = 200, description = "surges and buck-passing warnings"), (status = 422, description = "a bad filter, named"))
)]
pub(crate) async fn alerts(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(Both(AlertWindow { hours }, given)): QueryParams<Both<AlertWindow, FilterParams>>,
) -> Result<Response, ApiError> {
    let city = city_read(&state, &principal.scope, &given);
    let province = state.engine.province();
    let filters = Filters::parse(&PeriodParams::default(), &given, city, today(&state))?;
    let hours = in_range("hours", hours, 1, 168, 24)?;
    let since = state.engine.now() - jiff::SignedDuration::from_hours(hours as i64);
    let raised = state
        .engine
        .analytics()
        .alerts_since(since)
        .await
        .map_err(ApiError::internal)?;
    let within = |value: &Option<String>, ids: &[String]| {
        ids.is_empty() || value.as_ref().is_some_and(|v| ids.contains(v))
    };
    let alerts: Vec<AlertLine> = raised
        .into_iter()
        .filter(|alert| in_scope(province, &principal.scope, alert))
        .filter(|alert| within(&alert.region, &filters.regions))
        .filter(|alert| within(&alert.unit, &filters.units))
        .filter(|alert| {
            filters.category.as_ref().is_none_or(|wanted| {
                alert
                    .category
                    .as_deref()
                    .is_some_and(|c| minhu_core::taxonomy::within(c, wanted))
            })
        })
        .map(|alert| {
            let region_name = alert
                .region
                .as_ref()
                .and_then(|id| region_of(province, id))
                .map(|r| r.name.clone());
            let unit_names = alert
                .unit
                .as_ref()
                .map(|id| unit_names(province, id))
                .filter(|(name, _)| Some(name) != alert.unit.as_ref());
            let unit_name = unit_names.as_ref().map(|(name, _)| name.clone());
            let name = region_name
                .clone()
                .or_else(|| unit_name.clone())
                .or_else(|| alert.region.clone().or_else(|| alert.unit.clone()))
                .unwrap_or_default();
            AlertLine {
                name_en: match (&region_name, &unit_names) {
                    (None, Some((_, english))) => english.clone(),
                    _ => name.clone(),
                },
                category_en: alert.category.as_deref().map(|c| category_en(city, c)),
                name,
                region_name,
                unit_name,
                first_at: alert.window_from,
                until: alert.window_to,
                alert,
            }
        })
        .collect();
    if filters.format != Format::Json {
        let header = [
            "id",
            "kind",
            "name",
            "region",
            "unit",
            "category",
            "first_at",
            "until",
            "observed",
            "expected",
            "raised_at",
        ]
        .map(str::to_owned)
        .to_vec();
        let rows = alerts
            .iter()
            .map(|a| {
                vec![
                    a.alert.id.clone(),
                    a.alert.kind.clone(),
                    a.name.clone(),
                    a.alert.region.clone().unwrap_or_default(),
                    a.alert.unit.clone().unwrap_or_default(),
                    a.alert.category.clone().unwrap_or_default(),
                    a.first_at.to_string(),
                    a.until.to_string(),
                    number(Some(a.alert.observed)),
                    number(Some(a.alert.expected)),
                    a.alert.raised_at.to_string(),
                ]
            })
            .collect();
        return Table::new(header, rows).send("alerts", filters.format);
    }
    Ok(Json(Alerts { since, alerts }).into_response())
}
