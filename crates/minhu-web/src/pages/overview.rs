//! The pages that look at the whole: the supervisors' dashboard (`/dashboard`) and the
//! public transparency page (`/public`).
//!
//! Charts are Apache ECharts (built into the binary) drawn by `static/dashboard.js`
//! from the tables beside them, so every chart's data stays on the page as a table for
//! screen readers. The dashboard counts the store's tickets per status; the public page
//! sums the analytics rollups, which stay small however many tickets there are.

use crate::AppState;
use crate::api::analytics::ancestor_at;
use crate::middleware::auth::Principal;
use crate::middleware::auth::Rule;
use crate::middleware::auth::Rule::Permission as Needs;
use crate::middleware::error::ApiError;
use crate::pages::tickets::render;
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

/// A share as a percentage with one decimal (`minhu_analytics::rates::percent`, the
/// rates' own), or a dash when there is nothing to share.
fn percent(part: u64, whole: u64) -> String {
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    minhu_analytics::rates::percent(count(part), count(whole))
        .map_or_else(|| "—".into(), |p| format!("{p:.1}%"))
}

/// How many months the figures of both pages cover, this one included.
const MONTHS: i8 = 12;

/// Received and answered (`minhu_core::rollup`: once per ticket), by district and
/// month, for the tickets received in the last [`MONTHS`] months (their cohort: filed
/// under the intake day, so a month's answered are among that month's received) within
/// `scope`. The one source of the answered share on the dashboard and the public page.
struct Cohort {
    /// The first day of each month, oldest first.
    starts: Vec<jiff::civil::Date>,
    /// The city's districts, by name; demands without a place are kept apart.
    districts: Vec<String>,
    /// `[district][month]`: (received, answered).
    cells: Vec<Vec<(u64, u64)>>,
    /// Per month: (received, answered) of the demands without a known district.
    unplaced: Vec<(u64, u64)>,
    /// Per month: (received, answered) of the city-wide demands (placed at the city
    /// itself: they name it and nothing below), in no district either.
    city_wide: Vec<(u64, u64)>,
}

impl Cohort {
    async fn read(state: &AppState, scope: &Scope) -> Result<Cohort, ApiError> {
        let city = state.engine.city_in(scope);
        let today = city.local_date(state.engine.now());
        let first = today
            .first_of_month()
            .checked_sub(jiff::Span::new().months(MONTHS - 1))
            .map_err(ApiError::internal)?;
        let starts: Vec<jiff::civil::Date> = (0..MONTHS)
            .filter_map(|n| first.checked_add(jiff::Span::new().months(n)).ok())
            .collect();
        let districts: Vec<&minhu_core::region::Region> = city
            .regions
            .all()
            .iter()
            .filter(|r| r.level == RegionLevel::District)
            .collect();
        let mut cells = vec![vec![(0u64, 0u64); starts.len()]; districts.len()];
        let mut unplaced = vec![(0u64, 0u64); starts.len()];
        let mut city_wide = vec![(0u64, 0u64); starts.len()];
        let root = &city.regions.root().id;
        for (m, &start) in starts.iter().enumerate() {
            let end = start
                .checked_add(jiff::Span::new().months(1))
                .map_err(ApiError::internal)?;
            let rows = state
                .engine
                .analytics()
                .daily(&RollupQuery {
                    by_region: true,
                    scope: scope.clone(),
                    ..RollupQuery::city_totals(start, end)
                })
                .await
                .map_err(ApiError::internal)?;
            for row in rows {
                let district = row
                    .region
                    .as_deref()
                    .and_then(|id| ancestor_at(city, id, RegionLevel::District))
                    .and_then(|d| districts.iter().position(|r| r.id == d.id));
                let cell = match district {
                    Some(d) => &mut cells[d][m],
                    None if row.region.as_deref() == Some(root.as_str()) => &mut city_wide[m],
                    None => &mut unplaced[m],
                };
                let n = u64::try_from(row.n).unwrap_or(0);
                match row.metric {
                    Metric::Received => cell.0 += n,
                    Metric::Answered => cell.1 += n,
                    _ => {}
                }
            }
        }
        Ok(Cohort {
            starts,
            districts: districts.iter().map(|r| r.name.clone()).collect(),
            cells,
            unplaced,
            city_wide,
        })
    }

    /// (received, answered) over every month, the unplaced and city-wide included.
    fn total(&self) -> (u64, u64) {
        sum(self
            .cells
            .iter()
            .flatten()
            .chain(&self.unplaced)
            .chain(&self.city_wide))
    }
}

fn sum<'a>(cells: impl IntoIterator<Item = &'a (u64, u64)>) -> (u64, u64) {
    cells
        .into_iter()
        .fold((0, 0), |(r, a), (x, y)| (r + x, a + y))
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
    /// Every ticket in scope, whenever received (the status chart's total).
    total: u64,
    open: u64,
    /// Received in the last [`MONTHS`] months and the answered share of them: the
    /// public page's figures, within the reader's scope.
    received: u64,
    answered_rate: String,
    /// The first day of those months (the maps' period), YYYY-MM-DD.
    since: String,
    /// The city's outlines are invented (an anonymised city): the maps say so.
    schematic: bool,
    /// The maps: the rates API's `by` and what it shows.
    maps: Vec<(&'static str, &'static str)>,
    /// The field's figures (grid workers, city sensors): the rates API's `by` and its
    /// caption, district, street and grid.
    field_levels: Vec<(&'static str, &'static str)>,
    by_status: Vec<Row>,
    /// How many of the latest flagged tickets are overdue.
    overdue: usize,
    lists: Vec<FlagList>,
    /// The codes the API's figures carry (alert kinds, the lines shown apart), with
    /// their labels, for the script that fills the tables.
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
            // The city itself reads "全市" / "City-wide": a city-wide ticket is placed.
            place: t
                .intake
                .region
                .as_ref()
                .map_or_else(|| "—".into(), |r| ui.region(r)),
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
    let cohort = Cohort::read(&state, &principal.scope).await?;
    let (received, answered) = cohort.total();
    render(DashboardPage {
        ui,
        total,
        open,
        received,
        answered_rate: percent(answered, received),
        since: cohort
            .starts
            .first()
            .map(ToString::to_string)
            .unwrap_or_default(),
        schematic: state.engine.city().boundaries.is_schematic(),
        maps: vec![
            ("region", lang.t("各区", "districts")),
            ("street", lang.t("各街道（乡镇）", "streets")),
        ],
        field_levels: vec![
            ("region", lang.t("按区", "By district")),
            ("street", lang.t("按街道（乡镇）", "By street")),
            (
                "grid",
                lang.t(
                    "按网格（只列有诉求定位到网格的）",
                    "By grid (only grids demands were placed in)",
                ),
            ),
        ],
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
            .chain([
                ("intake", lang.t("受理台", "Intake desk")),
                ("unplaced", lang.t("未定位", "Not placed")),
                ("city_wide", lang.t("全市", "City-wide")),
            ])
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
    /// Shown apart, never among the districts: the demands without a known district,
    /// then the city-wide ones (placed at the city itself).
    apart: Vec<Apart>,
    /// `YYYY-MM`, oldest first.
    months: Vec<String>,
    /// City-wide per month: received, answered.
    by_month: Vec<(String, u64, u64)>,
    /// Per district, received in each of `months`.
    grid: Vec<(String, Vec<u64>)>,
}

/// Demands the public page counts apart from the districts.
struct Apart {
    /// The paragraph's element id.
    id: &'static str,
    /// The sentence that says what they are.
    intro: &'static str,
    received: u64,
    answered: u64,
    /// Answered of received.
    answered_share: String,
    /// Received of all demands received.
    share: String,
}

/// Counts by district and month, nothing about anyone: no texts, no numbers, no names.
async fn public(State(state): State<AppState>, lang: Lang) -> Result<Html<String>, ApiError> {
    let cohort = Cohort::read(&state, &Scope::All).await?;
    let districts = cohort
        .districts
        .iter()
        .zip(&cohort.cells)
        .map(|(name, row)| {
            let (received, answered) = sum(row);
            (
                name.clone(),
                received,
                answered,
                percent(answered, received),
            )
        })
        .collect::<Vec<_>>();
    let by_month = cohort
        .starts
        .iter()
        .enumerate()
        .map(|(m, start)| {
            let (received, answered) = sum(cohort
                .cells
                .iter()
                .map(|row| &row[m])
                .chain([&cohort.unplaced[m], &cohort.city_wide[m]]));
            (start.strftime("%Y-%m").to_string(), received, answered)
        })
        .collect::<Vec<_>>();
    let (total, answered_total) = cohort.total();
    let apart = |id, intro, cells: &[(u64, u64)]| {
        let (received, answered) = sum(cells);
        Apart {
            id,
            intro,
            received,
            answered,
            answered_share: percent(answered, received),
            share: percent(received, total),
        }
    };
    render(PublicPage {
        ui: Chrome::new(&state, lang, None, "/public"),
        total,
        answered_rate: percent(answered_total, total),
        grid: cohort
            .districts
            .iter()
            .zip(&cohort.cells)
            .map(|(name, row)| (name.clone(), row.iter().map(|c| c.0).collect()))
            .collect(),
        apart: vec![
            apart(
                "unplaced",
                lang.t(
                    "未定位到区的诉求（地址不明）单独统计，不计入各区：",
                    "Demands with no known district (the address did not say) are counted apart, in no district: ",
                ),
                &cohort.unplaced,
            ),
            apart(
                "city-wide",
                lang.t(
                    "全市性诉求（只提到本市、未提到区县以下地点，由市直部门办理）单独统计，不计入各区：",
                    "City-wide demands (naming the city and nothing below it, for the city's departments) are counted apart, in no district: ",
                ),
                &cohort.city_wide,
            ),
        ],
        months: by_month.iter().map(|m| m.0.clone()).collect(),
        districts,
        by_month,
    })
}
