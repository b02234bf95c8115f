//! The pages that look at the whole: the supervisors' dashboard (`/dashboard`) and the
//! public transparency page (`/public`).
//!
//! Charts are Apache ECharts (built into the binary) drawn by `static/dashboard.js`
//! from the tables beside them, so every chart's data stays on the page as a table for
//! screen readers. The dashboard counts the store's tickets per status; the public page
//! sums the analytics rollups, which stay small however many tickets there are.

use crate::AppState;
use crate::middleware::auth::Principal;
use crate::middleware::auth::Rule;
use crate::middleware::auth::Rule::Permission as Needs;
use crate::middleware::error::ApiError;
use crate::pages::tickets::{place_name, render};
use crate::pages::ui::{Chrome, Lang};
use crate::routes::Routes;
use askama::Template;
use axum::extract::State;
use axum::http::Method;
use axum::response::Html;
use minhu_core::access::Permission as P;
use minhu_core::access::Scope;
use minhu_core::region::RegionLevel;
use minhu_core::rollup::AlertKind;
use minhu_core::rollup::Metric;
use minhu_core::ticket::Status;
use minhu_core::timer::Flag;
use minhu_engine::records::{RollupQuery, TicketFilter};

pub(crate) fn routes() -> Routes {
    Routes::new()
        .page(Method::GET, "/dashboard", Needs(P::Report), dashboard)
        // Counts only, nothing about anyone: for everyone.
        .page(Method::GET, "/public", Rule::Public, public)
}

/// One row of a chart's table: a name and its numbers.
struct Row {
    name: String,
    values: Vec<u64>,
}

/// Counts of each status within `scope`, in the order of [`Status::ALL`].
async fn status_counts(state: &AppState, scope: &Scope) -> Result<Vec<u64>, ApiError> {
    let counts = state
        .engine
        .analytics()
        .counts(scope)
        .await
        .map_err(ApiError::internal)?;
    Ok(Status::ALL
        .iter()
        .map(|s| counts.iter().find(|(c, _)| c == s).map_or(0, |(_, n)| *n))
        .collect())
}

/// A share as a percentage with one decimal, or a dash when there is nothing to share.
fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        "—".into()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    }
}

/// Tickets answered or closed: the share the citizens got an answer for.
fn answered(counts: &[u64]) -> u64 {
    Status::ALL
        .iter()
        .zip(counts)
        .filter(|(s, _)| matches!(s, Status::Resolved | Status::Closed))
        .map(|(_, n)| n)
        .sum()
}

/// A flagged ticket in a supervisor's list.
struct Flagged {
    number: String,
    title: String,
    unit: String,
    place: String,
    due: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    ui: Chrome,
    total: u64,
    open: u64,
    answered_rate: String,
    by_status: Vec<Row>,
    /// How many of the latest flagged tickets are overdue.
    overdue: usize,
    lists: Vec<FlagList>,
    /// The codes the API's figures carry (alert kinds), with their labels, for the
    /// script that fills the tables.
    codes: Vec<(&'static str, &'static str)>,
}

/// The latest tickets with one flag.
struct FlagList {
    title: &'static str,
    /// The CSS mark: `overdue` (red) or `warning` (yellow).
    flag: &'static str,
    empty: &'static str,
    rows: Vec<Flagged>,
}

/// How many flagged tickets each list shows, most recent first.
const FLAGGED: u32 = 20;

async fn flagged(
    state: &AppState,
    principal: &Principal,
    ui: &Chrome,
    flag: Flag,
) -> Result<Vec<Flagged>, ApiError> {
    let city = state.engine.city();
    let page = state
        .engine
        .list_for(
            &principal.reader(),
            &TicketFilter {
                flag: Some(flag),
                limit: FLAGGED,
                ..TicketFilter::default()
            },
        )
        .await?;
    Ok(page
        .tickets
        .iter()
        .map(|t| Flagged {
            number: t.number.to_string(),
            title: t.intake.title.clone(),
            unit: t.unit.as_ref().map_or_else(|| "—".into(), |u| ui.unit(u)),
            place: place_name(city, t),
            due: t
                .deadlines
                .as_ref()
                .map_or_else(|| "—".into(), |d| ui.time(d.resolve_by)),
        })
        .collect())
}

async fn dashboard(
    State(state): State<AppState>,
    lang: Lang,
    principal: Principal,
) -> Result<Html<String>, ApiError> {
    let counts = status_counts(&state, &principal.scope).await?;
    let total: u64 = counts.iter().sum();
    let open = Status::ALL
        .iter()
        .zip(&counts)
        .filter(|(s, _)| matches!(s, Status::Pending | Status::Dispatched | Status::Accepted))
        .map(|(_, n)| n)
        .sum();
    let ui = Chrome::new(&state, lang, Some(&principal), "/dashboard");
    let overdue = flagged(&state, &principal, &ui, Flag::Overdue).await?;
    let warned = flagged(&state, &principal, &ui, Flag::Warning).await?;
    render(DashboardPage {
        ui,
        total,
        open,
        answered_rate: percent(answered(&counts), total),
        by_status: Status::ALL
            .iter()
            .zip(&counts)
            .map(|(s, n)| Row {
                name: lang.label(*s).to_owned(),
                values: vec![*n],
            })
            .collect(),
        overdue: overdue.len(),
        codes: AlertKind::ALL
            .iter()
            .map(|&kind| (kind.code(), lang.label(kind)))
            .collect(),
        lists: vec![
            FlagList {
                title: lang.t("超期工单", "Overdue"),
                flag: "overdue",
                empty: lang.t("没有超期工单", "Nothing is overdue"),
                rows: overdue,
            },
            FlagList {
                title: lang.t("即将到期（预警）", "Due soon (warnings)"),
                flag: "warning",
                empty: lang.t("没有预警", "No warnings"),
                rows: warned,
            },
        ],
    })
}

#[derive(Template)]
#[template(path = "public.html")]
struct PublicPage {
    ui: Chrome,
    total: u64,
    answered_rate: String,
    /// Per district: received, answered, the answered share.
    districts: Vec<(String, u64, u64, String)>,
    /// `YYYY-MM`, oldest first.
    months: Vec<String>,
    /// City-wide per month: received, answered.
    by_month: Vec<(String, u64, u64)>,
    /// Per district, received in each of `months`.
    grid: Vec<(String, Vec<u64>)>,
}

/// How many months the public page covers, this one included.
const PUBLIC_MONTHS: i8 = 12;

/// Counts by district and month, nothing about anyone: no texts, no numbers, no names.
async fn public(State(state): State<AppState>, lang: Lang) -> Result<Html<String>, ApiError> {
    let city = state.engine.city();
    let today = city.local_date(state.engine.now());
    let first = today
        .first_of_month()
        .checked_sub(jiff::Span::new().months(PUBLIC_MONTHS - 1))
        .map_err(ApiError::internal)?;
    let starts: Vec<jiff::civil::Date> = (0..PUBLIC_MONTHS)
        .filter_map(|n| first.checked_add(jiff::Span::new().months(n)).ok())
        .collect();
    let unplaced = lang.t("未定位", "Not placed").to_owned();
    let mut names: Vec<String> = city
        .regions
        .all()
        .iter()
        .filter(|r| r.level == RegionLevel::District)
        .map(|r| r.name.clone())
        .collect();
    names.push(unplaced.clone());
    // (received, answered) per district and month.
    let mut cells = vec![vec![(0u64, 0u64); starts.len()]; names.len()];
    // The rollup files each ticket under its intake day, so a month's sums are that
    // month's demands, whatever happened to them later.
    for (m, &start) in starts.iter().enumerate() {
        let end = start
            .checked_add(jiff::Span::new().months(1))
            .map_err(ApiError::internal)?;
        let rows = state
            .engine
            .analytics()
            .daily(&RollupQuery {
                by_region: true,
                ..RollupQuery::city_totals(start, end)
            })
            .await
            .map_err(ApiError::internal)?;
        for row in rows {
            let district = row
                .region
                .as_deref()
                .filter(|id| !id.is_empty())
                .and_then(|id| {
                    city.regions
                        .ancestry(&minhu_core::ids::RegionId::new(id))
                        .find(|r| r.level == RegionLevel::District)
                })
                .map_or(unplaced.as_str(), |r| r.name.as_str());
            let Some(d) = names.iter().position(|n| n == district) else {
                continue;
            };
            let n = u64::try_from(row.n).unwrap_or(0);
            match row.metric {
                Metric::Received => cells[d][m].0 += n,
                Metric::Resolved => cells[d][m].1 += n,
                _ => {}
            }
        }
    }
    let sum = |cells: &mut dyn Iterator<Item = &(u64, u64)>| {
        cells.fold((0, 0), |(r, a), (x, y)| (r + x, a + y))
    };
    let districts = names
        .iter()
        .zip(&cells)
        .map(|(name, row)| {
            let (received, answered) = sum(&mut row.iter());
            (
                name.clone(),
                received,
                answered,
                percent(answered, received),
            )
        })
        .filter(|(name, received, ..)| *name != unplaced || *received > 0)
        .collect::<Vec<_>>();
    let by_month = starts
        .iter()
        .enumerate()
        .map(|(m, start)| {
            let (received, answered) = sum(&mut cells.iter().map(|row| &row[m]));
            (start.strftime("%Y-%m").to_string(), received, answered)
        })
        .collect::<Vec<_>>();
    let total = districts.iter().map(|d| d.1).sum();
    let answered_total = districts.iter().map(|d| d.2).sum();
    render(PublicPage {
        ui: Chrome::new(&state, lang, None, "/public"),
        total,
        answered_rate: percent(answered_total, total),
        grid: names
            .iter()
            .zip(&cells)
            .filter(|(name, row)| **name != unplaced || row.iter().any(|c| c.0 > 0))
            .map(|(name, row)| (name.clone(), row.iter().map(|c| c.0).collect()))
            .collect(),
        months: by_month.iter().map(|m| m.0.clone()).collect(),
        districts,
        by_month,
    })
}
