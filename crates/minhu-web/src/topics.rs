//! What the city is raising: the hotspot list (热点榜, `GET /api/v1/analytics/hotspots`)
//! and the monthly topic (每月一题, `GET /api/v1/analytics/monthly-topic`).
//!
//! Hotspots group the tickets of a sliding window (and of the window before it, for
//! growth) by meaning and place with `minhu_analytics::hotspot`; the tickets are read
//! within the caller's scope, so a hotspot never shows a ticket the caller may not see.
//! The monthly topic reads the rollups (a month's counts per category from the monthly
//! table, so it stays fast however many tickets there are) and ranks the recurring,
//! high-volume, low-satisfaction problems with `minhu_analytics::topic`.

use crate::AppState;
use crate::analytics::{FilterParams, Filters, Format, PeriodParams, Table, read, today};
use crate::auth::Principal;
use crate::error::ApiError;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use jiff::{SignedDuration, Timestamp};
use minhu_analytics::Tally;
use minhu_analytics::hotspot::{HotspotRules, Lexicon, Message, hotspots};
use minhu_analytics::topic::{Topic, TopicRules, monthly_topics};
use minhu_core::City;
use minhu_core::ids::{RegionId, UnitId};
use minhu_core::ticket::Status;
use minhu_core::workflow::FieldError;
use minhu_store::TicketFilter;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/analytics/hotspots", get(hotspot_list))
        .route("/api/v1/analytics/monthly-topic", get(monthly_topic))
}

/// The most tickets one hotspot list reads (the newest first); more is said in
/// `truncated`.
const MAX_TICKETS: usize = 20_000;
/// Tickets per page read from the store.
const PAGE: u32 = 1_000;

/// The hotspot list's words with the city's place names, built once per process (one
/// city each).
fn lexicon(city: &City) -> &'static Lexicon {
    static LEXICON: OnceLock<Lexicon> = OnceLock::new();
    LEXICON.get_or_init(|| Lexicon::for_regions(&city.regions))
}

fn region_name(city: &City, id: &str) -> Option<String> {
    city.regions.get(&RegionId::new(id)).map(|r| r.name.clone())
}

#[derive(Serialize)]
struct HotspotLine {
    rank: usize,
    /// See `minhu_analytics::hotspot` for the formula.
    heat: f64,
    /// The heaviest words of its tickets: with the place, its name.
    words: Vec<String>,
    place: Option<String>,
    place_name: Option<String>,
    count: usize,
    previous: usize,
    growth: f64,
    citizens: usize,
    likes: Option<u64>,
    open: usize,
    first_at: Timestamp,
    last_at: Timestamp,
    /// Its ticket numbers in the window, oldest first.
    tickets: Vec<String>,
}

#[derive(Serialize)]
struct HotspotReport {
    /// The window: `from` up to `to`; growth compares it with the window before.
    from: Timestamp,
    to: Timestamp,
    days: i64,
    /// Tickets read (both windows).
    tickets: usize,
    /// True when more than the most tickets read were in the two windows.
    truncated: bool,
    hotspots: Vec<HotspotLine>,
}

/// The hotspot list (热点榜): tickets of the last `days` days (default 7, at most 90)
/// up to now, or up to the end of `to` (or of `month`), grouped by meaning and place and
/// ranked by heat; filters `region`, `unit`, `category`; `format=csv|xlsx`.
#[utoipa::path(
    get, path = "/api/v1/analytics/hotspots",
    params(
        ("days" = Option<i64>, Query, description = "window length in days, 1 to 90 (default 7)"),
        ("to" = Option<String>, Query, description = "last day of the window, YYYY-MM-DD (default: now)"),
        FilterParams,
    ),
    responses((status = 200, description = "hotspots, hottest first"), (status = 422, description = "a bad filter, named"))
)]
pub(crate) async fn hotspot_list(
    State(state): State<AppState>,
    principal: Principal,
    Query(period): Query<PeriodParams>,
    Query(given): Query<FilterParams>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let city = state.engine.city.clone();
    let filters = Filters::parse(&period, &given, &city, today(&state))?;
    let days = match params.get("days") {
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|d| (1..=90).contains(d))
            .ok_or_else(|| {
                ApiError::from(FieldError::new(
                    "days",
                    format!("{text:?}: a whole number from 1 to 90"),
                ))
            })?,
        None => 7,
    };
    let to = if period.to.is_some() || period.month.is_some() {
        let end = filters.to.tomorrow().unwrap_or(filters.to);
        end.to_zoned(city.timezone.clone())
            .map_err(ApiError::internal)?
            .timestamp()
    } else {
        // Up to now, included (the window's end is exclusive).
        state.engine.clock.now() + SignedDuration::from_secs(1)
    };
    let rules = HotspotRules {
        window: SignedDuration::from_hours(days * 24),
        ..HotspotRules::default()
    };
    let from = to - rules.window;
    let mut filter = TicketFilter {
        scope: principal.scope.clone(),
        region_path: filters.region.as_ref().and_then(|r| city.regions.path(r)),
        category: filters.category.clone(),
        created_from: Some(from - rules.window),
        created_to: Some(to),
        limit: PAGE,
        ..TicketFilter::default()
    };
    let mut messages = Vec::new();
    let mut truncated = false;
    loop {
        let page = state
            .engine
            .store
            .list(&filter)
            .await
            .map_err(ApiError::internal)?;
        for ticket in page.tickets {
            let unit = ticket.unit.as_ref().map(|u| u.as_str().to_owned());
            if !filters.units.is_empty() && !unit.is_some_and(|u| filters.units.contains(&u)) {
                continue;
            }
            let mut place: Vec<String> = ticket
                .intake
                .region
                .as_ref()
                .map(|r| {
                    city.regions
                        .ancestry(r)
                        .map(|r| r.id.as_str().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            place.reverse();
            messages.push(Message {
                id: ticket.number.to_string(),
                text: format!("{} {}", ticket.intake.title, ticket.intake.description),
                at: ticket.created_at,
                place,
                citizen: ticket.intake.citizen.phone.clone(),
                likes: None,
                open: !matches!(ticket.status, Status::Resolved | Status::Closed),
            });
        }
        match page.next {
            Some(next) if messages.len() < MAX_TICKETS => filter.cursor = Some(next),
            Some(_) => {
                truncated = true;
                break;
            }
            None => break,
        }
    }
    let read = messages.len();
    let lexicon = lexicon(&city);
    let found = tokio::task::spawn_blocking(move || hotspots(&messages, to, &rules, lexicon))
        .await
        .map_err(ApiError::internal)?;
    let lines: Vec<HotspotLine> = found
        .into_iter()
        .map(|h| HotspotLine {
            rank: h.rank,
            heat: h.heat,
            words: h.words,
            place_name: h.place.as_deref().and_then(|p| region_name(&city, p)),
            place: h.place,
            count: h.count,
            previous: h.previous,
            growth: h.growth,
            citizens: h.citizens,
            likes: h.likes,
            open: h.open,
            first_at: h.first_at,
            last_at: h.last_at,
            tickets: h.messages,
        })
        .collect();
    if filters.format != Format::Json {
        return hotspot_table(&lines).send("hotspots", filters.format);
    }
    Ok(Json(HotspotReport {
        from,
        to,
        days,
        tickets: read,
        truncated,
        hotspots: lines,
    })
    .into_response())
}

fn hotspot_table(lines: &[HotspotLine]) -> Table {
    let header = [
        "rank",
        "heat",
        "words",
        "place",
        "place_name",
        "count",
        "previous",
        "growth",
        "citizens",
        "likes",
        "open",
        "first_at",
        "last_at",
        "tickets",
    ]
    .map(str::to_owned)
    .to_vec();
    let rows = lines
        .iter()
        .map(|h| {
            vec![
                h.rank.to_string(),
                format!("{:.2}", h.heat),
                h.words.join(" "),
                h.place.clone().unwrap_or_default(),
                h.place_name.clone().unwrap_or_default(),
                h.count.to_string(),
                h.previous.to_string(),
                format!("{:.2}", h.growth),
                h.citizens.to_string(),
                h.likes.map(|n| n.to_string()).unwrap_or_default(),
                h.open.to_string(),
                h.first_at.to_string(),
                h.last_at.to_string(),
                h.tickets.join(" "),
            ]
        })
        .collect();
    Table { header, rows }
}

#[derive(Serialize)]
struct TopicReport {
    /// `YYYY-MM`.
    month: String,
    min_volume: i64,
    topics: Vec<Topic>,
}

/// The monthly topic (每月一题) of `month` (default this month): recurring,
/// high-volume, low-satisfaction problems with their six-month trend and units; filters
/// `region`, `unit`, `category`; `format=csv|xlsx`.
#[utoipa::path(
    get, path = "/api/v1/analytics/monthly-topic",
    params(
        ("month" = Option<String>, Query, description = "YYYY-MM (default: this month)"),
        FilterParams,
    ),
    responses((status = 200, description = "the month's topics, highest score first"), (status = 422, description = "a bad filter, named"))
)]
pub(crate) async fn monthly_topic(
    State(state): State<AppState>,
    principal: Principal,
    Query(period): Query<PeriodParams>,
    Query(given): Query<FilterParams>,
) -> Result<Response, ApiError> {
    let city = &state.engine.city;
    let filters = Filters::parse(&period, &given, city, today(&state))?;
    let month = filters.from.first_of_month();
    let mut months = Vec::new();
    for back in (0..6).rev() {
        let start = month
            .checked_sub(jiff::Span::new().months(back))
            .map_err(ApiError::internal)?;
        let end = start
            .checked_add(jiff::Span::new().months(1))
            .map_err(ApiError::internal)?;
        let mut query = filters.query(&principal.scope);
        (query.from, query.to, query.by_category) = (start, end, true);
        let mut cells: BTreeMap<String, Tally> = BTreeMap::new();
        for row in read(&state, &query).await? {
            cells
                .entry(row.category.unwrap_or_default())
                .or_default()
                .add(row.metric, row.n);
        }
        cells.remove("");
        months.push((start.strftime("%Y-%m").to_string(), cells));
    }
    let mut query = filters.query(&principal.scope);
    query.from = month;
    query.to = month
        .checked_add(jiff::Span::new().months(1))
        .map_err(ApiError::internal)?;
    (query.by_category, query.by_unit) = (true, true);
    let mut units: BTreeMap<(String, String), Tally> = BTreeMap::new();
    for row in read(&state, &query).await? {
        units
            .entry((
                row.category.unwrap_or_default(),
                row.unit.unwrap_or_default(),
            ))
            .or_default()
            .add(row.metric, row.n);
    }
    let rules = TopicRules::default();
    let mut topics = monthly_topics(&months, &units, &rules);
    for topic in &mut topics {
        for share in &mut topic.units {
            if let Some(unit) = city.units.get(&UnitId::new(share.unit.as_str())) {
                share.name = unit.name.clone();
            }
        }
    }
    if filters.format != Format::Json {
        return topic_table(&topics).send("monthly-topic", filters.format);
    }
    Ok(Json(TopicReport {
        month: month.strftime("%Y-%m").to_string(),
        min_volume: rules.min_volume,
        topics,
    })
    .into_response())
}

fn topic_table(topics: &[Topic]) -> Table {
    let header = [
        "rank",
        "category",
        "score",
        "received",
        "rated",
        "unsatisfied",
        "reopened",
        "satisfaction",
        "recurring_months",
        "trend",
        "units",
    ]
    .map(str::to_owned)
    .to_vec();
    let rows = topics
        .iter()
        .map(|t| {
            vec![
                t.rank.to_string(),
                t.category.clone(),
                format!("{:.2}", t.score),
                t.received.to_string(),
                t.rated.to_string(),
                t.unsatisfied.to_string(),
                t.reopened.to_string(),
                t.satisfaction
                    .map(|s| format!("{s:.4}"))
                    .unwrap_or_default(),
                t.recurring_months.to_string(),
                t.trend
                    .iter()
                    .map(|m| format!("{}:{}", m.month, m.received))
                    .collect::<Vec<_>>()
                    .join(" "),
                t.units
                    .iter()
                    .map(|u| format!("{}({})", u.name, u.assigned))
                    .collect::<Vec<_>>()
                    .join(" "),
            ]
        })
        .collect();
    Table { header, rows }
}
