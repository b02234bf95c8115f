//! What the city is raising: the hotspot list (热点榜, `GET /api/v1/analytics/hotspots`)
//! and the monthly topic (每月一题, `GET /api/v1/analytics/monthly-topic`).
//!
//! Hotspots group the tickets of a sliding window (and of the window before it, for
//! growth) by meaning and place with `minhu_analytics::hotspot`. The default window
//! (the last 7 days up to now) is the list the engine keeps current in the background
//! (`minhu_engine::hotspots`), narrowed to the tickets the caller may see; any other
//! window is computed on request from the tickets read within the caller's scope. Either
//! way a hotspot never shows a ticket the caller may not see.
//! The monthly topic reads the rollups (a month's counts per category from the monthly
//! table, so it stays fast however many tickets there are) and ranks the recurring,
//! high-volume, low-satisfaction problems with `minhu_analytics::topic`.

use crate::AppState;
use crate::api::analytics::{
    FilterParams, Filters, Format, LevelParams, PeriodParams, Table, category_en, cut,
    district_key, name_places, read, region_of, today, unit_names,
};
use crate::api::in_range;
use crate::middleware::auth::Principal;
use crate::middleware::auth::Rule::Permission as Needs;
use crate::middleware::error::ApiError;
use crate::middleware::extract::{Both, QueryParams};
use crate::routes::Routes;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use minhu_analytics::Tally;
use minhu_analytics::hotspot::{Hotspot, HotspotRules, Message, hotspots};
use minhu_analytics::topic::{Topic, TopicRules, monthly_topics};
use minhu_core::City;
use minhu_core::access::Permission as P;
use minhu_core::access::Scope;
use minhu_core::taxonomy::within;
use minhu_engine::hotspots::{DAYS, HotspotList, KeptTicket, is_open, ticket_place, ticket_text};
use minhu_engine::records::TicketFilter;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use utoipa::IntoParams;
use utoipa_axum::routes;

pub(crate) fn routes() -> Routes {
    Routes::new()
        .api(Needs(P::Report), routes!(hotspot_list))
        .api(Needs(P::Report), routes!(monthly_topic))
}

/// The most tickets one hotspot list computed on request reads (the newest first); more
/// is said in `truncated`.
const MAX_TICKETS: usize = 20_000;
/// Tickets per page read from the store.
const PAGE: u32 = 1_000;
/// Hotspots sent when `limit` is not given, and the most it may ask for.
const LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 10_000;
/// A kept list older than this is not served (its watch has stopped): the request
/// computes its own.
const STALE: SignedDuration = SignedDuration::from_mins(30);

#[derive(Serialize)]
struct HotspotLine {
    rank: usize,
    /// See `minhu_analytics::hotspot` for the formula.
    heat: f64,
    /// What a person calls it: the site most of its tickets name (or its heaviest
    /// word) and the phrase they use ("丽发新城 搅拌站噪音").
    name: String,
    /// The heaviest words of its tickets, heaviest first.
    words: Vec<String>,
    place: Option<String>,
    place_name: Option<String>,
    count: usize,
    previous: usize,
    growth: f64,
    citizens: usize,
    likes: Option<u64>,
    open: usize,
    /// The units handling its tickets of the window, most tickets first.
    units: Vec<UnitLine>,
    first_at: Timestamp,
    last_at: Timestamp,
    /// Its ticket numbers in the window, oldest first.
    tickets: Vec<String>,
}

#[derive(Serialize)]
struct UnitLine {
    id: String,
    name: String,
    /// The English name, where the city gives one (else the name).
    name_en: String,
    tickets: usize,
}

#[derive(Serialize)]
struct HotspotReport {
    /// The window: `from` up to `to`; growth compares it with the window before.
    from: Timestamp,
    to: Timestamp,
    days: i64,
    /// When the engine's kept list (the default window) was computed; absent when the
    /// list was computed for this request.
    #[serde(skip_serializing_if = "Option::is_none")]
    computed_at: Option<Timestamp>,
    /// Tickets grouped (both windows): the whole city's for the kept list, the
    /// caller's for a list computed on request.
    tickets: usize,
    /// True when a list computed on request met more than the most tickets it reads.
    truncated: bool,
    /// Hotspots in all; the first `limit` are sent.
    total: usize,
    hotspots: Vec<HotspotLine>,
}

/// The hotspot list's window and length.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct HotspotWindow {
    /// Window length in days, 1 to 90 (default 7).
    days: Option<u32>,
    /// Hotspots sent, 1 to 10000 (default 100).
    limit: Option<u32>,
}

/// The hotspot list (热点榜): tickets of the last `days` days (default 7, at most 90)
/// up to now, or up to the end of `to` (or of `month`), grouped by meaning and place and
/// ranked by heat; filters `region`, `unit`, `category`; the first `limit` (default
/// 100); `format=csv|xlsx`. The default window (no `to`, `month` or other `days`) is
/// served from the list the engine keeps current (`computed_at`), narrowed to what
/// the caller may see; other windows are computed on request from at most 20,000
/// tickets.
#[utoipa::path(
    get, path = "/api/v1/analytics/hotspots",
    params(HotspotWindow, PeriodParams, FilterParams),
    responses((status = 200, description = "hotspots, hottest first"), (status = 422, description = "a bad filter, named"))
)]
pub(crate) async fn hotspot_list(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(Both(window, Both(period, given))): QueryParams<
        Both<HotspotWindow, Both<PeriodParams, FilterParams>>,
    >,
) -> Result<Response, ApiError> {
    let city = crate::api::analytics::city_read(&state, &principal.scope, &given).clone();
    let province = state.engine.province().clone();
    let filters = Filters::parse(&period, &given, &city, today(&state))?;
    let days = i64::from(in_range("days", window.days, 1, 90, DAYS as u32)?);
    let limit = in_range("limit", window.limit, 1, MAX_LIMIT, LIMIT)? as usize;
    let now = state.engine.now();
    let kept = (period.to.is_none() && period.month.is_none() && days == DAYS)
        .then(|| state.engine.hotspot_list())
        .flatten()
        .filter(|list| list.computed_at + STALE >= now);
    let report = match kept {
        Some(list) => kept_report(&list, &principal.scope, &filters, limit),
        None => {
            let asked = Asked {
                principal: &principal,
                city: &city,
                period: &period,
                filters: &filters,
            };
            computed_report(&state, asked, days, limit).await?
        }
    };
    let lines: Vec<HotspotLine> = report
        .found
        .into_iter()
        .map(|h| HotspotLine {
            rank: h.rank,
            heat: h.heat,
            name: h.name,
            words: h.words,
            place_name: h
                .place
                .as_deref()
                .and_then(|p| region_of(&province, p))
                .map(|r| r.name.clone()),
            place: h.place,
            count: h.count,
            previous: h.previous,
            growth: h.growth,
            citizens: h.citizens,
            likes: h.likes,
            open: h.open,
            units: h
                .units
                .into_iter()
                .map(|involved| {
                    let (name, name_en) = unit_names(&province, &involved.unit);
                    UnitLine {
                        id: involved.unit,
                        name,
                        name_en,
                        tickets: involved.messages,
                    }
                })
                .collect(),
            first_at: h.first_at,
            last_at: h.last_at,
            tickets: h.messages,
        })
        .collect();
    if filters.format != Format::Json {
        return hotspot_table(&lines).send("hotspots", filters.format);
    }
    Ok(Json(HotspotReport {
        from: report.from,
        to: report.to,
        days,
        computed_at: report.computed_at,
        tickets: report.tickets,
        truncated: report.truncated,
        total: report.total,
        hotspots: lines,
    })
    .into_response())
}

/// A hotspot list before it is sent.
struct Found {
    from: Timestamp,
    to: Timestamp,
    computed_at: Option<Timestamp>,
    tickets: usize,
    truncated: bool,
    total: usize,
    found: Vec<Hotspot>,
}

/// The engine's kept list, narrowed to the tickets the caller's scope and filters
/// allow (see `minhu_engine::hotspots`).
fn kept_report(list: &HotspotList, scope: &Scope, filters: &Filters, limit: usize) -> Found {
    let regions: HashSet<&str> = filters.regions.iter().map(String::as_str).collect();
    let units: HashSet<&str> = filters.units.iter().map(String::as_str).collect();
    let category = filters.category.as_deref();
    let visible = |ticket: &KeptTicket| {
        ticket.in_scope(scope)
            && (regions.is_empty()
                || ticket
                    .region
                    .as_ref()
                    .is_some_and(|r| regions.contains(r.as_str())))
            && (units.is_empty()
                || ticket
                    .unit
                    .as_ref()
                    .is_some_and(|u| units.contains(u.as_str())))
            && category.is_none_or(|wanted| {
                ticket
                    .category
                    .as_deref()
                    .is_some_and(|c| within(c, wanted))
            })
    };
    let narrowed = *scope != Scope::All
        || filters.region.is_some()
        || !filters.units.is_empty()
        || filters.category.is_some();
    let (found, total) = list.view(
        narrowed.then_some(&visible as &dyn Fn(&KeptTicket) -> bool),
        limit,
    );
    Found {
        from: list.from,
        to: list.to,
        computed_at: Some(list.computed_at),
        tickets: list.tickets,
        truncated: false,
        total,
        found,
    }
}

/// A list computed for this request: the caller's tickets of the window (and of the
/// window before), at most [`MAX_TICKETS`] of them, the newest first.
/// Who asks for a list computed on request, under which city's configuration, and
/// for what.
struct Asked<'a> {
    principal: &'a Principal,
    city: &'a City,
    period: &'a PeriodParams,
    filters: &'a Filters,
}

async fn computed_report(
    state: &AppState,
    asked: Asked<'_>,
    days: i64,
    limit: usize,
) -> Result<Found, ApiError> {
    let Asked {
        principal,
        city,
        period,
        filters,
    } = asked;
    let to = if period.to.is_some() || period.month.is_some() {
        let end = filters.to.tomorrow().unwrap_or(filters.to);
        end.to_zoned(city.timezone.clone())
            .map_err(ApiError::internal)?
            .timestamp()
    } else {
        // Up to now, included (the window's end is exclusive).
        state.engine.now() + SignedDuration::from_secs(1)
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
            .list(&filter)
            .await
            .map_err(ApiError::internal)?;
        for ticket in page.tickets {
            let unit = ticket.unit.as_ref().map(|u| u.as_str().to_owned());
            if !filters.units.is_empty()
                && !unit.as_ref().is_some_and(|u| filters.units.contains(u))
            {
                continue;
            }
            // Each ticket's words and place read by its own city's configuration.
            let own = state.engine.city_of(&ticket);
            messages.push(Message {
                id: ticket.number.to_string(),
                text: ticket_text(&ticket, &own.privacy),
                at: ticket.created_at,
                place: ticket_place(own, &ticket),
                citizen: ticket.intake.citizen.phone.clone(),
                likes: None,
                open: is_open(&ticket),
                unit,
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
    let lexicon = state.engine.hotspot_lexicon();
    let mut found = tokio::task::spawn_blocking(move || hotspots(&messages, to, &rules, &lexicon))
        .await
        .map_err(ApiError::internal)?;
    let total = found.len();
    found.truncate(limit);
    Ok(Found {
        from,
        to,
        computed_at: None,
        tickets: read,
        truncated,
        total,
        found,
    })
}

fn hotspot_table(lines: &[HotspotLine]) -> Table {
    let header = [
        "rank",
        "heat",
        "name",
        "words",
        "place",
        "place_name",
        "count",
        "previous",
        "growth",
        "citizens",
        "likes",
        "open",
        "units",
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
                h.name.clone(),
                h.words.join(" "),
                h.place.clone().unwrap_or_default(),
                h.place_name.clone().unwrap_or_default(),
                h.count.to_string(),
                h.previous.to_string(),
                format!("{:.2}", h.growth),
                h.citizens.to_string(),
                h.likes.map(|n| n.to_string()).unwrap_or_default(),
                h.open.to_string(),
                h.units
                    .iter()
                    .map(|u| format!("{} {}", u.name, u.tickets))
                    .collect::<Vec<_>>()
                    .join("; "),
                h.first_at.to_string(),
                h.last_at.to_string(),
                h.tickets.join(" "),
            ]
        })
        .collect();
    Table::new(header, rows)
}

#[derive(Serialize)]
struct TopicReport {
    /// `YYYY-MM`.
    month: String,
    /// The taxonomy level categories are cut to (none: as filed).
    level: Option<u32>,
    min_volume: i64,
    topics: Vec<Topic>,
}

/// The monthly topic (每月一题) of `month` (default this month): recurring,
/// high-volume, low-satisfaction problems with their six-month trend, units and
/// districts; `level` cuts categories to a level of the taxonomy (1-3); filters
/// `region`, `unit`, `category`; `format=csv|xlsx`.
#[utoipa::path(
    get, path = "/api/v1/analytics/monthly-topic",
    params(PeriodParams, FilterParams, LevelParams),
    responses((status = 200, description = "the month's topics, highest score first"), (status = 422, description = "a bad filter, named"))
)]
pub(crate) async fn monthly_topic(
    State(state): State<AppState>,
    principal: Principal,
    QueryParams(Both(Both(period, given), level)): QueryParams<
        Both<Both<PeriodParams, FilterParams>, LevelParams>,
    >,
) -> Result<Response, ApiError> {
    let city = crate::api::analytics::city_read(&state, &principal.scope, &given);
    let filters = Filters::parse(&period, &given, city, today(&state))?;
    let level = level.checked()?;
    let month = filters.from.first_of_month();
    let next = |start: jiff::civil::Date| {
        start
            .checked_add(jiff::Span::new().months(1))
            .map_err(ApiError::internal)
    };
    let mut months = Vec::new();
    for back in (0..6).rev() {
        let start = month
            .checked_sub(jiff::Span::new().months(back))
            .map_err(ApiError::internal)?;
        let mut query = filters.query(&principal.scope);
        (query.from, query.to, query.by_category) = (start, next(start)?, true);
        let mut cells: BTreeMap<String, Tally> = BTreeMap::new();
        for row in read(&state, &query).await? {
            cells
                .entry(cut(&row.category.unwrap_or_default(), level))
                .or_default()
                .add(row.metric, row.n);
        }
        cells.remove("");
        months.push((start.strftime("%Y-%m").to_string(), cells));
    }
    let rules = TopicRules::default();
    let none = BTreeMap::new();
    // The units and districts are read for the month's topics only, one topic at a
    // time: by unit, place and category, a month of a big city is hundreds of
    // thousands of rows, a few topics' share of them is not.
    let mut units: BTreeMap<(String, String), Tally> = BTreeMap::new();
    let mut places: BTreeMap<(String, String), i64> = BTreeMap::new();
    for topic in monthly_topics(&months, &none, &BTreeMap::new(), &rules) {
        let mut query = filters.query(&principal.scope);
        (query.from, query.to) = (month, next(month)?);
        (query.by_unit, query.by_region) = (true, true);
        match level {
            // As filed: this category exactly, not the ones filed under it.
            None => query.categories = vec![topic.category.clone()],
            // Cut: everything under it, within the category asked for.
            Some(_) => {
                let asked = query.category.take();
                query.category = Some(match asked {
                    Some(asked) if within(&asked, &topic.category) => asked,
                    _ => topic.category.clone(),
                });
            }
        }
        for row in read(&state, &query).await? {
            if row.metric == minhu_core::rollup::Metric::Received {
                let district = district_key(city, row.region.as_deref());
                *places
                    .entry((topic.category.clone(), district))
                    .or_default() += row.n;
            }
            units
                .entry((topic.category.clone(), row.unit.unwrap_or_default()))
                .or_default()
                .add(row.metric, row.n);
        }
    }
    let mut topics = monthly_topics(&months, &units, &places, &rules);
    for topic in &mut topics {
        for share in &mut topic.units {
            (share.name, share.name_en) = unit_names(state.engine.province(), &share.unit);
        }
        topic.category_en = category_en(city, &topic.category);
        name_places(state.engine.province(), &mut topic.places);
    }
    if filters.format != Format::Json {
        return topic_table(&topics).send("monthly-topic", filters.format);
    }
    Ok(Json(TopicReport {
        month: month.strftime("%Y-%m").to_string(),
        level,
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
        "places",
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
                    .map(|s| format!("{s:.2}"))
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
                t.places
                    .iter()
                    .map(|p| format!("{}({})", p.name, p.count))
                    .collect::<Vec<_>>()
                    .join(" "),
            ]
        })
        .collect();
    Table::new(header, rows)
}
