//! The citizens' pages: report a demand without an account (`/`), and follow it with
//! its number, the phone and a one-time code (`/track`). Both post to the JSON API from
//! `static/minhu.js`; the pages themselves only render.
//!
//! `?mode=easy` is the elderly and accessible mode (适老化): larger text, high
//! contrast, plain words and one question per step, with no time limits.

use crate::AppState;
use crate::auth::MaybePrincipal;
use crate::error::ApiError;
use crate::follow::Followed;
use crate::pages::{local_time, render};
use crate::ui::{Chrome, Lang};
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Html;
use axum::routing::get;
use minhu_core::region::RegionLevel;
use minhu_core::ticket::{Kind, Satisfaction, Status};
use std::collections::HashMap;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(portal))
        .route("/track", get(track))
}

/// A code of one of the core's lists with its name in the reader's language.
pub struct Choice {
    pub code: String,
    pub label: String,
}

/// The English name of a code: the code itself, in words.
fn english(code: &str) -> String {
    match code {
        "basically" => "basically satisfied".into(),
        "dispatched" => "waiting for the unit".into(),
        "accepted" => "being handled".into(),
        "resolved" => "answered, waiting for your rating".into(),
        other => other.replace('_', " "),
    }
}

/// A name for people: Chinese, or the code in words in English.
pub fn label(lang: Lang, zh: &str, code: &str) -> String {
    match lang {
        Lang::Zh => zh.to_owned(),
        Lang::En => english(code),
    }
}

fn kinds(lang: Lang) -> Vec<Choice> {
    Kind::ALL
        .iter()
        .map(|k| Choice {
            code: k.code().to_owned(),
            label: label(lang, k.label_zh(), k.code()),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "portal.html")]
struct PortalPage {
    ui: Chrome,
    kinds: Vec<Choice>,
    categories: Vec<String>,
    places: Vec<String>,
}

fn easy(params: &HashMap<String, String>) -> bool {
    params.get("mode").is_some_and(|m| m == "easy")
}

async fn portal(
    State(state): State<AppState>,
    lang: Lang,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Html<String>, ApiError> {
    let city = &state.engine.city;
    let mut ui = Chrome::new(&state, lang, None, "/");
    ui.easy = easy(&params);
    render(PortalPage {
        ui,
        kinds: kinds(lang),
        categories: city
            .taxonomy
            .first_levels()
            .map(|c| c.as_str().to_owned())
            .collect(),
        places: place_names(city),
    })
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
    reply: Option<String>,
    rating: Option<String>,
    can_rate: bool,
    can_reopen: bool,
}

#[derive(Template)]
#[template(path = "track.html")]
struct TrackPage {
    ui: Chrome,
    number: String,
    ticket: Option<Tracked>,
    satisfactions: Vec<Choice>,
}

async fn track(
    State(state): State<AppState>,
    lang: Lang,
    MaybePrincipal(principal): MaybePrincipal,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Html<String>, ApiError> {
    let city = &state.engine.city;
    let following = principal.as_ref().and_then(|p| p.follows.clone());
    let ticket = match &following {
        Some(number) => {
            let ticket = state.engine.ticket(number).await?;
            let followed = Followed::of(&ticket);
            Some(Tracked {
                number: ticket.number.to_string(),
                title: ticket.intake.title.clone(),
                status: label(lang, ticket.status.label_zh(), ticket.status.code()),
                created: local_time(city, ticket.created_at),
                reply: ticket.reply.clone(),
                rating: ticket.rating.map(|r| {
                    let satisfaction =
                        label(lang, r.satisfaction.label_zh(), r.satisfaction.code());
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
    let mut ui = Chrome::new(&state, lang, principal.as_ref(), "/track");
    ui.easy = easy(&params);
    render(TrackPage {
        ui,
        number: params.get("number").cloned().unwrap_or_default(),
        ticket,
        satisfactions: Satisfaction::ALL
            .iter()
            .map(|s| Choice {
                code: s.code().to_owned(),
                label: label(lang, s.label_zh(), s.code()),
            })
            .collect(),
    })
}
