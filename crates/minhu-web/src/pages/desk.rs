//! The officials' working pages: the hotline agent's console (`/console`) and a unit's
//! inbox (`/inbox`, kept current with server-sent events); the dispatchers' queue is
//! `queue.rs`. They read through the engine; every write goes through the JSON API
//! from `static/minhu.js`, with the session's CSRF token.

use crate::AppState;
use crate::middleware::auth::Principal;
use crate::middleware::auth::Rule::Permission as Needs;
use crate::middleware::error::ApiError;
use crate::middleware::extract::PageQuery;
use crate::pages::portal::Choice;
use crate::pages::tickets::render;
use crate::pages::ui::{Chrome, Lang};
use crate::routes::Routes;
use askama::Template;
use axum::extract::State;
use axum::http::Method;
use axum::response::Html;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use minhu_core::access::Permission as P;
use minhu_core::ticket::{Kind, Status, Ticket};
use minhu_core::timer::Flag;
use minhu_engine::records::TicketFilter;
use serde::Deserialize;
use std::hash::{Hash, Hasher};
use std::time::Duration;
use utoipa::IntoParams;

pub(crate) fn routes() -> Routes {
    Routes::new()
        .page(Method::GET, "/console", Needs(P::CreateTickets), console)
        .page(Method::GET, "/inbox", Needs(P::Handle), inbox)
        .page(Method::GET, "/inbox/events", Needs(P::Handle), inbox_events)
}

#[derive(Template)]
#[template(path = "console.html")]
struct ConsolePage {
    ui: Chrome,
    kinds: Vec<Choice>,
    categories: Vec<String>,
    tiers: Vec<Choice>,
    places: Vec<String>,
    /// Each status's label by its code, as JSON: the caller's history is read from the
    /// API, which sends codes.
    status_labels: String,
    /// The city's time zone (IANA), to show the history's times as the city reads them.
    zone: String,
    /// Whether a CTI reports calls: the page then listens for the agent's.
    calls: bool,
    /// The call the page was opened for (`?call=`): its id, the caller's phone as the
    /// agent may see it, and their latest tickets.
    call: Option<CallView>,
}

struct CallView {
    id: String,
    /// The phone for the form: empty when the agent sees it masked (the ticket then
    /// takes it from the call).
    phone: String,
    shown: String,
    history: Vec<crate::channels::phone::Earlier>,
}

/// The call a console is opened for.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ConsoleQuery {
    call: Option<String>,
}

async fn console(
    State(state): State<AppState>,
    lang: Lang,
    principal: Principal,
    PageQuery(ConsoleQuery { call }): PageQuery<ConsoleQuery>,
) -> Result<Html<String>, ApiError> {
    let call = match call.filter(|c| !c.is_empty()) {
        Some(id) => {
            let login = principal
                .actor
                .as_str()
                .strip_prefix("user:")
                .unwrap_or_default();
            let found = state
                .channels
                .phone
                .as_ref()
                .and_then(|line| line.call_for(&id, login, state.engine.now()))
                .ok_or_else(|| {
                    ApiError::not_found(format!("no call {id} rang for you in the last hour"))
                })?;
            let (shown, history) =
                crate::channels::phone::caller_view(&state, &principal, lang, &found.caller)
                    .await?;
            let phone = if shown == found.caller {
                shown.clone()
            } else {
                String::new()
            };
            Some(CallView {
                id,
                phone,
                shown,
                history,
            })
        }
        None => None,
    };
    let city = state.engine.city_in(&principal.scope);
    let ui = Chrome::new(&state, lang, Some(&principal), "/console");
    render(ConsolePage {
        kinds: Kind::ALL
            .iter()
            .map(|k| Choice {
                code: k.code().to_owned(),
                label: lang.label(*k).to_owned(),
            })
            .collect(),
        categories: city.taxonomy.paths().map(|c| c.to_string()).collect(),
        tiers: city
            .tiers
            .iter()
            .map(|t| Choice {
                code: t.code.as_str().to_owned(),
                label: ui.tier(&t.code),
            })
            .collect(),
        ui,
        places: crate::pages::portal::place_names(city),
        status_labels: serde_json::to_string(
            &Status::ALL
                .iter()
                .map(|&s| (s.code(), lang.label(s)))
                .collect::<std::collections::BTreeMap<_, _>>(),
        )
        .map_err(ApiError::internal)?,
        zone: city.timezone.iana_name().unwrap_or("UTC").to_owned(),
        calls: state.channels.phone.is_some(),
        call,
    })
}

/// A ticket as one line of a working list.
pub(crate) struct Line {
    pub(crate) number: String,
    pub(crate) title: String,
    pub(crate) place: String,
    /// The deadline that runs now (accept by, or resolve by).
    pub(crate) due: String,
    /// `warning` (yellow) or `overdue` (red), from the ticket's timer alerts.
    pub(crate) flag: Option<&'static str>,
    pub(crate) flag_label: &'static str,
}

impl Line {
    pub(crate) fn of(ticket: &Ticket, ui: &Chrome) -> Line {
        let alerts = &ticket.alerts;
        let (due, flag) = match (&ticket.deadlines, ticket.status) {
            (Some(d), Status::Dispatched) => (Some(d.respond_by), alerts.respond),
            (Some(d), _) => (Some(d.resolve_by), alerts.resolve.or(alerts.respond)),
            (None, _) => (None, None),
        };
        let flag = flag.map(|f| match f {
            Flag::Warning => "warning",
            _ => "overdue",
        });
        Line {
            number: ticket.number.to_string(),
            title: ticket.intake.title.clone(),
            place: ticket
                .intake
                .region
                .as_ref()
                .map_or_else(|| "—".into(), |r| ui.region(r)),
            due: due.map_or_else(|| "—".into(), |at| ui.time(at)),
            flag,
            flag_label: match flag {
                Some("warning") => ui.t("即将到期", "due soon"),
                Some(_) => ui.label(Flag::Overdue),
                None => "",
            },
        }
    }
}

/// How many tickets of each status the inbox reads.
const INBOX: u32 = 200;

/// The unit's open tickets, the most pressing deadline first.
async fn inbox_tickets(state: &AppState, principal: &Principal) -> Result<Vec<Ticket>, ApiError> {
    let mut tickets = Vec::new();
    let reader = principal.reader();
    for status in [Status::Dispatched, Status::Accepted] {
        let page = state
            .engine
            .list_for(
                &reader,
                &TicketFilter {
                    status: Some(status),
                    limit: INBOX,
                    ..TicketFilter::default()
                },
            )
            .await?;
        tickets.extend(page.tickets);
    }
    tickets.sort_by_key(|t| {
        t.deadlines.as_ref().map(|d| match t.status {
            Status::Dispatched => d.respond_by,
            _ => d.resolve_by,
        })
    });
    Ok(tickets)
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    ui: Chrome,
    /// The digest of what the page shows, for its live notice.
    since: u64,
    to_accept: Vec<Line>,
    in_hand: Vec<Line>,
}

async fn inbox(
    State(state): State<AppState>,
    lang: Lang,
    principal: Principal,
) -> Result<Html<String>, ApiError> {
    let tickets = inbox_tickets(&state, &principal).await?;
    let (to_accept, in_hand): (Vec<&Ticket>, Vec<&Ticket>) =
        tickets.iter().partition(|t| t.status == Status::Dispatched);
    let ui = Chrome::new(&state, lang, Some(&principal), "/inbox");
    let lines = |tickets: Vec<&Ticket>| tickets.into_iter().map(|t| Line::of(t, &ui)).collect();
    render(InboxPage {
        since: digest(&versions(&tickets)),
        to_accept: lines(to_accept),
        in_hand: lines(in_hand),
        ui,
    })
}

/// How often the inbox stream looks for changes.
const LIVE_EVERY: Duration = Duration::from_secs(2);

/// What the inbox shows, reduced to what changes it: each ticket's number and version.
async fn inbox_state(state: AppState, principal: Principal) -> Option<Vec<(String, u32)>> {
    inbox_tickets(&state, &principal)
        .await
        .ok()
        .map(|tickets| versions(&tickets))
}

/// Each ticket's number and version: what a live page compares to see a change.
pub(crate) fn versions(tickets: &[Ticket]) -> Vec<(String, u32)> {
    tickets
        .iter()
        .map(|t| (t.number.to_string(), t.version))
        .collect()
}

/// Server-sent events: `changed` whenever the caller's inbox differs from the one the
/// page showed (a ticket dispatched to the unit, accepted, answered, flagged).
async fn inbox_events(
    State(state): State<AppState>,
    principal: Principal,
    PageQuery(since): PageQuery<Since>,
) -> Sse<impl futures_util::Stream<Item = Result<SseEvent, std::convert::Infallible>>> {
    live(state, principal, since, inbox_state).await
}

/// What a live page showed, as the digest its stream compares with (`?since=`).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Since {
    since: Option<u64>,
}

/// The digest of what a live page shows: the same within a server's build for the
/// same lists, so the page and its stream agree on what the reader saw.
pub(crate) fn digest<T: Hash>(seen: &T) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    seen.hash(&mut hasher);
    hasher.finish()
}

/// Server-sent events for a working page: `changed` whenever what `snapshot` reads of
/// it for the caller differs from what the page showed (`since`, its digest; without
/// it, what the stream first reads), even when the change came before the stream
/// opened. The page's script then shows its "changed, refresh" notice.
pub(crate) async fn live<F, Fut, T>(
    state: AppState,
    principal: Principal,
    since: Since,
    snapshot: F,
) -> Sse<impl futures_util::Stream<Item = Result<SseEvent, std::convert::Infallible>>>
where
    F: Fn(AppState, Principal) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Option<T>> + Send + 'static,
    T: Hash + Send + 'static,
{
    let first = match since.since {
        Some(shown) => Some(shown),
        None => snapshot(state.clone(), principal.clone())
            .await
            .map(|seen| digest(&seen)),
    };
    let stream = futures_util::stream::unfold(
        (state, principal, first, snapshot),
        |(state, principal, mut seen, snapshot)| async move {
            let mut ticks = tokio::time::interval(LIVE_EVERY);
            loop {
                ticks.tick().await;
                let now = snapshot(state.clone(), principal.clone())
                    .await
                    .map(|now| digest(&now));
                if now.is_some() && now != seen {
                    seen = now;
                    let event = SseEvent::default().event("changed").data("page");
                    return Some((Ok(event), (state, principal, seen, snapshot)));
                }
            }
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}
