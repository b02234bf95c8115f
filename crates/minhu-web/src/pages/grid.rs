//! The grid worker's phone app (`/grid`, 网格员): report what the patrol finds (photo,
//! position, category, voice where the browser offers it), mark what was handled on
//! the spot (即查即办), keep reports as drafts while offline and send each once when the
//! network returns. Installable: a web app manifest and a service worker that keeps
//! the app's shell, so `/grid` opens without a network.
//!
//! The page only renders; `static/grid.js` keeps the drafts (IndexedDB) and sends them
//! to `POST /api/v1/reports` with the draft's own `Idempotency-Key`, so a draft sent
//! twice (the answer lost on the way back) is still one ticket.

use crate::AppState;
use crate::middleware::auth::Principal;
use crate::middleware::auth::Rule::{Permission as Needs, Public};
use crate::middleware::error::ApiError;
use crate::pages::desk::Line;
use crate::pages::portal::Choice;
use crate::pages::tickets::render;
use crate::pages::ui::{Chrome, Lang, region_label};
use crate::routes::Routes;
use askama::Template;
use axum::extract::State;
use axum::http::{Method, header};
use axum::response::{Html, IntoResponse, Response};
use minhu_core::access::{Permission as P, Scope};
use minhu_core::ids::RegionId;
use minhu_core::rollup::Metric;
use minhu_core::ticket::Channel;
use minhu_engine::records::{RollupQuery, TicketFilter};

pub(crate) fn routes() -> Routes {
    Routes::new()
        .page(Method::GET, "/grid", Needs(P::Patrol), grid)
        // What a phone installs: no one's data in either.
        .page(Method::GET, "/grid/manifest.webmanifest", Public, manifest)
        .page(Method::GET, "/grid/sw.js", Public, service_worker)
}

#[derive(Template)]
#[template(path = "grid.html")]
struct GridPage {
    ui: Chrome,
    /// Where the worker patrols: their grid or community, with the regions it lies in.
    place: String,
    /// Their region's id: their reports are placed there.
    region: String,
    categories: Vec<Choice>,
    /// This month in their region: patrol reports, and those handled on the spot.
    reported: i64,
    on_the_spot: i64,
    recent: Vec<Line>,
    /// The checks and visits (核查, 回访) waiting in the worker's region.
    tasks: Vec<Task>,
}

/// One check or visit waiting for the grid worker.
struct Task {
    number: String,
    task: u32,
    kind: &'static str,
    title: String,
    note: String,
    place: String,
    asked: String,
}

/// How many of the region's latest tickets are looked through for waiting checks: a
/// grid's or a community's tickets of the last months, not the city's.
const TASK_WINDOW: u32 = 500;

async fn grid(
    State(state): State<AppState>,
    lang: Lang,
    principal: Principal,
) -> Result<Html<String>, ApiError> {
    let city = state.engine.city_in(&principal.scope);
    let region = patrolled(city, &principal.scope);
    let ui = Chrome::new(&state, lang, Some(&principal), "/grid");
    let today = city.local_date(state.engine.now());
    let first = today.first_of_month();
    let end = today.tomorrow().map_err(ApiError::internal)?;
    let rows = state
        .engine
        .analytics()
        .daily(&RollupQuery {
            scope: principal.scope.clone(),
            ..RollupQuery::city_totals(first, end)
        })
        .await
        .map_err(ApiError::internal)?;
    let count = |metric: Metric| {
        rows.iter()
            .filter(|r| r.metric == metric)
            .map(|r| r.n)
            .sum()
    };
    let recent = state
        .engine
        .list_for(
            &principal.reader(),
            &TicketFilter {
                channel: Some(Channel::Grid),
                limit: 10,
                ..TicketFilter::default()
            },
        )
        .await?;
    let near = state
        .engine
        .list_for(
            &principal.reader(),
            &TicketFilter {
                limit: TASK_WINDOW,
                ..TicketFilter::default()
            },
        )
        .await?;
    let tasks = near
        .tickets
        .iter()
        .flat_map(|ticket| {
            let ui = &ui;
            ticket
                .checks
                .iter()
                .filter(|c| c.done.is_none())
                .map(move |check| Task {
                    number: ticket.number.to_string(),
                    task: check.task,
                    kind: ui.label(check.kind),
                    title: ticket.intake.title.clone(),
                    note: check.note.clone(),
                    place: ticket
                        .intake
                        .address
                        .clone()
                        .or_else(|| ticket.intake.region.as_ref().map(|r| ui.region(r)))
                        .unwrap_or_default(),
                    asked: ui.time(check.assigned_at),
                })
        })
        .collect();
    render(GridPage {
        tasks,
        place: region.as_ref().map_or_else(
            || ui.t("全市", "The whole city").to_owned(),
            |r| region_label(city, r),
        ),
        region: region.map(|r| r.to_string()).unwrap_or_default(),
        categories: city
            .taxonomy
            .paths()
            .map(|path| Choice {
                code: path.to_string(),
                label: ui.category(path),
            })
            .collect(),
        reported: count(Metric::Patrolled),
        on_the_spot: count(Metric::HandledOnSpot),
        recent: recent.tickets.iter().map(|t| Line::of(t, &ui)).collect(),
        ui,
    })
}

/// The region a grid worker patrols: the top of their scope (their grid, or their
/// community with its grids); none for a caller who sees the city.
fn patrolled(city: &minhu_core::City, scope: &Scope) -> Option<RegionId> {
    let Scope::Regions(regions) = scope else {
        return None;
    };
    regions
        .iter()
        .find(|r| {
            city.regions
                .get(r)
                .and_then(|region| region.parent.as_ref())
                .is_none_or(|parent| !regions.contains(parent))
        })
        .cloned()
}

/// The web app manifest: what a phone shows when it installs the app.
async fn manifest(State(state): State<AppState>) -> Response {
    let city = state.engine.city();
    let manifest = serde_json::json!({
        "id": "/grid",
        "name": format!("民呼网格 · {}", city.name),
        "short_name": "民呼网格",
        "description": "网格员巡查上报、即查即办、核查回访 (minhu grid: patrol reports, handled on the spot)",
        "lang": "zh-CN",
        "start_url": "/grid",
        "scope": "/grid",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#ffffff",
        "theme_color": "#b01c1c",
        "icons": [
            {"src": "/static/grid-192.png", "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": "/static/grid-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any"},
        ],
    });
    (
        [(header::CONTENT_TYPE, "application/manifest+json")],
        manifest.to_string(),
    )
        .into_response()
}

/// The service worker: served from `/grid/`, it may control `/grid` itself only
/// because this header allows it.
async fn service_worker() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (
                header::HeaderName::from_static("service-worker-allowed"),
                "/grid",
            ),
        ],
        include_str!("../../static/grid-sw.js"),
    )
        .into_response()
}
