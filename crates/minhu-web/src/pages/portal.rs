//! The citizens' pages: report a demand without an account (`/`), and follow it with
//! its number, the phone and a one-time code (`/track`). Both post to the JSON API from
//! `static/minhu.js`; the pages themselves only render.
//!
//! `?mode=easy` is the elderly and accessible mode (适老化): larger text, high
//! contrast, plain words and one question per step, with no time limits.

use crate::AppState;
use crate::api::follow::Followed;
use crate::middleware::auth::MaybePrincipal;
use crate::middleware::auth::Rule::{Open, Public};
use crate::middleware::error::ApiError;
use crate::middleware::extract::{PageQuery, QueryParams};
use crate::pages::tickets::render;
use crate::pages::ui::{Chrome, Lang};
use crate::pages::ui::{local_time, region_label};
use crate::routes::Routes;
use askama::Template;
use axum::Json;
use axum::extract::State;
use axum::http::Method;
use axum::response::Html;
use minhu_core::event::{Change, Event};
use minhu_core::region::RegionLevel;
use minhu_core::ticket::{Channel, Citizen, Intake, Kind, Satisfaction, Status};
use minhu_engine::Reader;
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;
use utoipa_axum::routes;

/// Reporting needs no account; following reads a citizen's session when there is one.
/// The map (the tile server and the regions' outlines) and what a demand being typed
/// reads as (place, categories) say nothing about anyone and store nothing.
pub(crate) fn routes() -> Routes {
    Routes::new()
        .page(Method::GET, "/", Public, portal)
        .page(Method::GET, "/track", Open, track)
        .api(Public, routes!(map_layers))
        .api(Public, routes!(suggest))
}

/// A code of one of the core's lists with its name in the reader's language.
pub struct Choice {
    pub code: String,
    pub label: String,
}

/// The channels as a form's choices.
pub(crate) fn channels(lang: Lang) -> Vec<Choice> {
    Channel::ALL
        .iter()
        .map(|c| Choice {
            code: c.code().to_owned(),
            label: lang.label(*c).to_owned(),
        })
        .collect()
}

/// The kinds of demand as a form's choices.
pub(crate) fn kinds(lang: Lang) -> Vec<Choice> {
    Kind::ALL
        .iter()
        .map(|k| Choice {
            code: k.code().to_owned(),
            label: lang.label(*k).to_owned(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "portal.html")]
struct PortalPage {
    ui: Chrome,
    kinds: Vec<Choice>,
    categories: Vec<Choice>,
    places: Vec<String>,
    /// Whether the place step offers a map: the city has a tile server or boundaries.
    map: bool,
}

/// The portal's large-print page with fewer steps: `?mode=easy`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct Mode {
    mode: Option<String>,
}

fn easy(mode: Option<&str>) -> bool {
    mode == Some("easy")
}

async fn portal(
    State(state): State<AppState>,
    lang: Lang,
    PageQuery(mode): PageQuery<Mode>,
) -> Result<Html<String>, ApiError> {
    let city = state.engine.city();
    let mut ui = Chrome::new(&state, lang, None, "/");
    ui.easy = easy(mode.mode.as_deref());
    let categories = city
        .taxonomy
        .first_levels()
        .map(|c| Choice {
            code: c.as_str().to_owned(),
            label: ui.category(c),
        })
        .collect();
    render(PortalPage {
        ui,
        kinds: kinds(lang),
        categories,
        places: place_names(city),
        map: city.map.tiles.is_some() || !city.boundaries.is_empty(),
    })
}

/// What the portal's map draws: the city's tile server (if any) and the regions'
/// boundaries as GeoJSON, each feature named, so a citizen can see where they point.
#[utoipa::path(
    get, path = "/api/v1/map", security(()),
    responses((status = 200, description = "`{\"tiles\": ..., \"schematic\": bool, \"regions\": <GeoJSON FeatureCollection>}`: `schematic` when the outlines are invented (an anonymised city's)"))
)]
async fn map_layers(State(state): State<AppState>) -> Json<serde_json::Value> {
    let city = state.engine.city();
    let features: Vec<serde_json::Value> = city
        .boundaries
        .all()
        .map(|boundary| {
            let name = city
                .regions
                .get(&boundary.region)
                .map_or_else(|| boundary.region.to_string(), |r| r.name.clone());
            let polygons: Vec<_> = boundary.polygons.iter().map(|p| &p.rings).collect();
            serde_json::json!({
                "type": "Feature",
                "properties": {"region": boundary.region.as_str(), "name": name},
                "geometry": {"type": "MultiPolygon", "coordinates": polygons},
            })
        })
        .collect();
    Json(serde_json::json!({
        "tiles": city.map.tiles,
        "attribution": city.map.attribution,
        "schematic": city.boundaries.is_schematic(),
        "regions": {"type": "FeatureCollection", "features": features},
    }))
}

/// Districts and streets: what an address field suggests as one types.
pub(crate) fn place_names(city: &minhu_core::City) -> Vec<String> {
    city.regions
        .all()
        .iter()
        .filter(|r| matches!(r.level, RegionLevel::District | RegionLevel::Street))
        .map(|r| r.name.clone())
        .collect()
}

/// The followed ticket, as the citizen reads it.
struct Tracked {
    number: String,
    title: String,
    status: String,
    created: String,
    /// The unit handling it now, and by when it must answer.
    unit: Option<String>,
    resolve_by: Option<String>,
    reply: Option<String>,
    rating: Option<String>,
    can_rate: bool,
    can_reopen: bool,
    timeline: Vec<Step>,
}

/// One thing that happened to the ticket, told as the citizen would say it.
struct Step {
    at: String,
    what: String,
    /// A reply, or a reason the citizen gave.
    words: Option<String>,
    /// A reply that no longer stands: the ticket was reopened after it.
    superseded: bool,
}

/// What the citizen is told of the ticket's history: its milestones in plain words
/// (the centre's internal notes, such as urging or summoning, are not theirs).
fn timeline(ui: &Chrome, events: &[Event]) -> Vec<Step> {
    let lang = ui.lang;
    let last_reopen = events
        .iter()
        .rposition(|e| matches!(e.change, Change::Reopened { .. }));
    let mut unit: Option<String> = None;
    let mut steps = Vec::new();
    for (index, event) in events.iter().enumerate() {
        let superseded = last_reopen.is_some_and(|reopen| index < reopen);
        let (what, words) = match &event.change {
            Change::Created(_) => (
                lang.t("诉求已受理", "Your demand was received").to_owned(),
                None,
            ),
            // A pass-down (redispatch) always follows a unit, so it reads as a move.
            Change::Dispatched { unit: to, .. }
            | Change::Reassigned { unit: to, .. }
            | Change::Redispatched { unit: to, .. } => {
                let name = ui.unit(to);
                let what = match (&unit, lang) {
                    (None, Lang::Zh) => format!("转交{name}办理"),
                    (None, Lang::En) => format!("Passed to {name}"),
                    (Some(_), Lang::Zh) => format!("改由{name}办理"),
                    (Some(_), Lang::En) => format!("Moved to {name}"),
                };
                unit = Some(name);
                (what, None)
            }
            Change::Accepted => {
                let name = unit.clone().unwrap_or_default();
                match lang {
                    Lang::Zh => (format!("{name}已签收，正在办理"), None),
                    Lang::En => (format!("{name} accepted it and is working on it"), None),
                }
            }
            Change::ExtensionDecided {
                approved: true,
                resolve_by,
                ..
            } => {
                let by = ui.time(*resolve_by);
                match lang {
                    Lang::Zh => (format!("办理时限延长至 {by}"), None),
                    Lang::En => (format!("More time allowed: to be answered by {by}"), None),
                }
            }
            Change::Resolved { reply } | Change::CaseReplied { reply, .. } => (
                lang.t("承办单位答复", "The unit answered").to_owned(),
                Some(reply.clone()),
            ),
            Change::AnsweredAtIntake { answer, .. } => (
                lang.t("12345 直接答复", "12345 answered you").to_owned(),
                Some(answer.clone()),
            ),
            Change::HandledOnSpot { note } => (
                lang.t(
                    "网格员现场处理完毕",
                    "The grid worker dealt with it there and then",
                )
                .to_owned(),
                Some(note.clone()),
            ),
            Change::Rated(_) => (
                lang.t("评价已记录", "Your rating was recorded").to_owned(),
                None,
            ),
            Change::Reopened { reason, .. } => (
                lang.t("重新办理", "Handled again").to_owned(),
                Some(reason.clone()),
            ),
            Change::Merged { .. } => (
                lang.t(
                    "与同一事项的其他诉求合并办理",
                    "Handled together with other reports of the same matter",
                )
                .to_owned(),
                None,
            ),
            Change::MarkedLongTerm { reason, review_on } => {
                let on = ui.date(*review_on);
                let what = match lang {
                    Lang::Zh => format!("一时无法解决，列为长期跟踪，{on} 复查"),
                    Lang::En => {
                        format!("Cannot be solved at once: followed openly, reviewed on {on}")
                    }
                };
                (what, Some(reason.clone()))
            }
            Change::LongTermLifted { resolve_by, .. } => {
                let by = ui.time(*resolve_by);
                match lang {
                    Lang::Zh => (format!("恢复办理，答复期限 {by}"), None),
                    Lang::En => (format!("Back in hand: to be answered by {by}"), None),
                }
            }
            Change::Closed { .. } => (lang.t("已办结归档", "Closed").to_owned(), None),
            _ => continue,
        };
        let is_reply = matches!(
            event.change,
            Change::Resolved { .. } | Change::CaseReplied { .. } | Change::AnsweredAtIntake { .. }
        );
        steps.push(Step {
            at: ui.time(event.at),
            what,
            words,
            superseded: superseded && is_reply,
        });
    }
    steps
}

#[derive(Template)]
#[template(path = "track.html")]
struct TrackPage {
    ui: Chrome,
    number: String,
    ticket: Option<Tracked>,
    satisfactions: Vec<Choice>,
}

/// The follow page: the number to fill in, and the large-print mode.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct TrackQuery {
    mode: Option<String>,
    number: Option<String>,
}

async fn track(
    State(state): State<AppState>,
    lang: Lang,
    MaybePrincipal(principal): MaybePrincipal,
    PageQuery(TrackQuery { mode, number }): PageQuery<TrackQuery>,
) -> Result<Html<String>, ApiError> {
    let city = state.engine.city();
    let mut ui = Chrome::new(&state, lang, principal.as_ref(), "/track");
    ui.easy = easy(mode.as_deref());
    let following = principal.as_ref().and_then(|p| p.follows.clone());
    let ticket = match &following {
        Some(number) => {
            let reader = Reader::follower(number.clone());
            let ticket = state.engine.ticket_for(&reader, number).await?;
            let events = state.engine.events_for(&reader, number).await?;
            let followed = Followed::of(&ticket);
            let open = !matches!(ticket.status, Status::Resolved | Status::Closed);
            Some(Tracked {
                number: ticket.number.to_string(),
                title: ticket.intake.title.clone(),
                status: lang.label(ticket.status).to_owned(),
                created: local_time(city, ticket.created_at),
                unit: ticket.unit.as_ref().map(|u| ui.unit(u)),
                resolve_by: ticket
                    .deadlines
                    .filter(|_| open)
                    .map(|d| ui.time(d.resolve_by)),
                timeline: timeline(&ui, &events),
                reply: ticket.reply.clone(),
                rating: ticket.rating.map(|r| {
                    let satisfaction = lang.label(r.satisfaction).to_owned();
                    match (r.solved, lang) {
                        (true, Lang::Zh) => format!("已解决，{satisfaction}"),
                        (false, Lang::Zh) => format!("未解决，{satisfaction}"),
                        (true, Lang::En) => format!("solved, {satisfaction}"),
                        (false, Lang::En) => format!("not solved, {satisfaction}"),
                    }
                }),
                can_rate: followed.can_rate,
                can_reopen: matches!(ticket.status, Status::Resolved | Status::Closed),
            })
        }
        None => None,
    };
    render(TrackPage {
        ui,
        number: number.unwrap_or_default(),
        ticket,
        satisfactions: Satisfaction::ALL
            .iter()
            .map(|s| Choice {
                code: s.code().to_owned(),
                label: lang.label(*s).to_owned(),
            })
            .collect(),
    })
}

/// A demand as typed into a form, not yet sent: what routing previews are made of.
pub(crate) fn draft_intake(
    city: &minhu_core::City,
    title: &str,
    description: &str,
    address: &str,
) -> Intake {
    Intake {
        channel: Channel::Web,
        kind: Kind::Complaint,
        title: title.to_owned(),
        description: description.to_owned(),
        address: (!address.is_empty()).then(|| address.to_owned()),
        location: None,
        citizen: Citizen::default(),
        category: None,
        region: None,
        tier: city.default_tier.clone(),
        external_ref: None,
        city: None,
    }
}

/// What minhu makes of a demand being typed: the place it reads, and categories with
/// their confidence and the words that suggest them.
#[derive(Serialize)]
struct Suggestion {
    place: Option<String>,
    categories: Vec<SuggestedCategory>,
    /// The units routing would look at first, each with why.
    units: Vec<SuggestedUnit>,
}

#[derive(Serialize)]
struct SuggestedUnit {
    id: String,
    name: String,
    reason: String,
}

#[derive(Serialize)]
struct SuggestedCategory {
    category: String,
    /// 0 to 100.
    percent: u32,
    reasons: String,
}

/// What the citizen has typed so far.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct Draft {
    title: Option<String>,
    description: Option<String>,
    address: Option<String>,
}

/// `GET /api/v1/suggest?title=&description=&address=`: for citizens and agents as they
/// type; nothing is stored.
#[utoipa::path(
    get, path = "/api/v1/suggest", security(()),
    params(Draft),
    responses((status = 200, description = "the place read, the likely categories and the units routing would look at first, with their reasons"), (status = 400, body = crate::middleware::error::ErrorBody))
)]
async fn suggest(
    State(state): State<AppState>,
    QueryParams(draft): QueryParams<Draft>,
) -> Result<Json<Suggestion>, ApiError> {
    let city = state.engine.city();
    let text = |field: &Option<String>| field.clone().unwrap_or_default();
    // A demand half typed is read as far as it goes: the title alone (an agent types
    // it first) stands for the words not typed yet.
    let (title, description) = match (draft.title.as_ref(), draft.description.as_ref()) {
        (Some(title), None) => (title.clone(), title.clone()),
        (None, Some(description)) => (description.chars().take(30).collect(), description.clone()),
        _ => (text(&draft.title), text(&draft.description)),
    };
    let intake = draft_intake(city, &title, &description, &text(&draft.address));
    let (ticket, decision) = state.engine.preview(intake)?;
    let region = decision
        .region
        .as_ref()
        .map(|p| p.region.clone())
        .or_else(|| ticket.intake.region.clone());
    let units = decision
        .candidate_units(&ticket, city)
        .into_iter()
        .take(3)
        .map(|assignment| SuggestedUnit {
            name: city
                .units
                .get(&assignment.unit)
                .map_or_else(|| assignment.unit.to_string(), |u| u.name.clone()),
            id: assignment.unit.to_string(),
            reason: assignment.reason,
        })
        .collect();
    Ok(Json(Suggestion {
        units,
        place: region.map(|r| region_label(city, &r)),
        categories: decision
            .suggestions
            .iter()
            .take(3)
            .map(|c| SuggestedCategory {
                category: c.category.to_string(),
                percent: (c.confidence * 100.0).round() as u32,
                reasons: c.words().join("、"),
            })
            .collect(),
    }))
}
