//! The seasonal view (未诉先办, `GET /api/v1/analytics/seasonal`): what the coming month
//! brought last year above its usual month, per category, with the districts and units
//! it concerned, from the rollups (`minhu_analytics::seasonal`).

use crate::AppState;
use crate::api::analytics::{
    FilterParams, Filters, Format, LevelParams, PeriodParams, Table, category_en, cut,
    district_key, name_places, read, today, unit_names,
};
use crate::middleware::auth::Principal;
use crate::middleware::auth::Rule::Permission as Needs;
use crate::middleware::error::ApiError;
use crate::middleware::extract::{Both, QueryParams};
use crate::routes::Routes;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use minhu_analytics::seasonal::{SeasonRules, Seasonal, seasonal};
use minhu_core::access::Permission as P;
use minhu_core::rollup::Metric;
use minhu_core::workflow::FieldError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::IntoParams;
use utoipa_axum::routes;

pub(crate) fn routes() -> Routes {
    Routes::new().api(Needs(P::Report), routes!(seasonal_view))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SeasonParams {
    /// The month to prepare for, YYYY-MM (default: next month).
    ahead: Option<String>,
}

#[derive(Serialize)]
struct SeasonReport {
    /// The month ahead, `YYYY-MM`.
    ahead: String,
    /// The same month last year, whose demands are counted.
    last_year: String,
    /// The taxonomy level categories are cut to (none: as filed).
    level: Option<u32>,
    min_volume: i64,
    min_ratio: f64,
    /// Highest ratio first.
    problems: Vec<Seasonal>,
}

fn month_of(date: Date) -> String {
    date.strftime("%Y-%m").to_string()
}

/// What to act on before `ahead` comes (default next month): the categories whose
/// demands in the same month last year were at least 1.2 times their usual month (the
/// mean of the twelve months from then on) and at least 5, highest ratio first, each
/// with the districts and the units it concerned most; `level` cuts categories to a
/// level of the taxonomy; filters `region`, `unit`, `category`; `format=csv|xlsx`.
#[utoipa::path(
    get, path = "/api/v1/analytics/seasonal",
    params(SeasonParams, LevelParams, FilterParams),
    responses((status = 200, description = "the problems of the month ahead, highest ratio first"), (status = 422, description = "a bad filter, named"))
)]
pub(crate) async fn seasonal_view(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(Both(Both(SeasonParams { ahead }, level), given)): QueryParams<
        Both<Both<SeasonParams, LevelParams>, FilterParams>,
    >,
) -> Result<Response, ApiError> {
    let city = crate::api::analytics::city_read(&state, &principal.scope, &given);
    let filters = Filters::parse(&PeriodParams::default(), &given, city, today(&state))?;
    let level = level.checked()?;
    let ahead = match &ahead {
        Some(month) => format!("{month}-01").parse::<Date>().map_err(|_| {
            ApiError::from(FieldError::new(
                "ahead",
                format!("{month:?} is not a month (YYYY-MM)"),
            ))
        })?,
        None => today(&state)
            .first_of_month()
            .checked_add(jiff::Span::new().months(1))
            .map_err(ApiError::internal)?,
    };
    let then = ahead
        .checked_sub(jiff::Span::new().years(1))
        .map_err(ApiError::internal)?;
    let months = |n: i64| jiff::Span::new().months(n);
    let mut year = Vec::new();
    for back in 0..12 {
        let start = then.checked_add(months(back)).map_err(ApiError::internal)?;
        let mut query = filters.query(&principal.scope);
        (query.from, query.to, query.by_category) = (
            start,
            start.checked_add(months(1)).map_err(ApiError::internal)?,
            true,
        );
        let mut counts: BTreeMap<String, i64> = BTreeMap::new();
        for row in read(&state, &query).await? {
            let category = row.category.unwrap_or_default();
            if row.metric == Metric::Received && !category.is_empty() {
                *counts.entry(cut(&category, level)).or_default() += row.n;
            }
        }
        year.push(counts);
    }
    // Who last year's month concerned: its demands by district, its assignments by unit.
    let mut query = filters.query(&principal.scope);
    (query.from, query.to, query.by_category) = (
        then,
        then.checked_add(months(1)).map_err(ApiError::internal)?,
        true,
    );
    (query.by_region, query.by_unit) = (true, true);
    let mut places: BTreeMap<(String, String), i64> = BTreeMap::new();
    let mut units: BTreeMap<(String, String), i64> = BTreeMap::new();
    for row in read(&state, &query).await? {
        let category = cut(&row.category.unwrap_or_default(), level);
        match row.metric {
            Metric::Received => {
                let district = district_key(city, row.region.as_deref());
                *places.entry((category, district)).or_default() += row.n;
            }
            Metric::Assigned => {
                let unit = row.unit.unwrap_or_default();
                *units.entry((category, unit)).or_default() += row.n;
            }
            _ => {}
        }
    }
    let rules = SeasonRules::default();
    let mut problems = seasonal(&year, &places, &units, &rules);
    for problem in &mut problems {
        name_places(state.engine.province(), &mut problem.places);
        for unit in &mut problem.units {
            (unit.name, unit.name_en) = unit_names(state.engine.province(), &unit.id);
        }
        problem.category_en = category_en(city, &problem.category);
    }
    if filters.format != Format::Json {
        return season_table(&problems).send("seasonal", filters.format);
    }
    Ok(Json(SeasonReport {
        ahead: month_of(ahead),
        last_year: month_of(then),
        level,
        min_volume: rules.min_volume,
        min_ratio: rules.min_ratio,
        problems,
    })
    .into_response())
}

fn season_table(problems: &[Seasonal]) -> Table {
    let names = |list: &[minhu_analytics::seasonal::Concerned]| {
        list.iter()
            .map(|c| format!("{}({})", c.name, c.count))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let header = ["category", "last_year", "usual", "ratio", "places", "units"]
        .map(str::to_owned)
        .to_vec();
    let rows = problems
        .iter()
        .map(|p| {
            vec![
                p.category.clone(),
                p.last_year.to_string(),
                format!("{:.2}", p.usual),
                format!("{:.2}", p.ratio),
                names(&p.places),
                names(&p.units),
            ]
        })
        .collect();
    Table::new(header, rows)
}
