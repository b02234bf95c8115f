//! The officials' working pages: the hotline agent's console (`/console`), the
//! dispatchers' queue (`/dispatch`) and a unit's inbox (`/inbox`, kept current with
//! server-sent events). They read the store; every write goes through the JSON API
//! from `static/minhu.js`, with the session's CSRF token.

use crate::AppState;
use crate::middleware::auth::Principal;
use crate::middleware::auth::Rule::Permission as Needs;
use crate::middleware::error::ApiError;
use crate::pages::portal::Choice;
use crate::pages::tickets::{place_name, render, unit_label};
use crate::pages::ui::local_time;
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
use std::time::Duration;

pub(crate) fn routes() -> Routes {
    Routes::new()
        .page(Method::GET, "/console", Needs(P::CreateTickets), console)
        .page(Method::GET, "/dispatch", Needs(P::Dispatch), dispatch)
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
}

async fn console(
    State(state): State<AppState>,
    lang: Lang,
    principal: Principal,
) -> Result<Html<String>, ApiError> {
    let city = state.engine.city();
    render(ConsolePage {
        ui: Chrome::new(&state, lang, Some(&principal), "/console"),
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
                label: t.label.clone(),
            })
            .collect(),
        places: crate::pages::portal::place_names(city),
        status_labels: serde_json::to_string(
            &Status::ALL
                .iter()
                .map(|&s| (s.code(), lang.label(s)))
                .collect::<std::collections::BTreeMap<_, _>>(),
        )
        .map_err(ApiError::internal)?,
        zone: city.timezone.iana_name().unwrap_or("UTC").to_owned(),
    })
}

/// A ticket as one line of a working list.
struct Line {
    number: String,
    title: String,
    place: String,
    received: String,
    /// The deadline that runs now (accept by, or resolve by).
    due: String,
    /// `warning` (yellow) or `overdue` (red), from the ticket's timer alerts.
    flag: Option<&'static str>,
    flag_label: &'static str,
}

impl Line {
    fn of(ticket: &Ticket, state: &AppState, lang: Lang) -> Line {
        let city = state.engine.city();
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
            place: place_name(city, ticket),
            received: local_time(city, ticket.created_at),
            due: due.map_or_else(|| "—".into(), |at| local_time(city, at)),
            flag,
            flag_label: match flag {
                Some("warning") => lang.t("即将到期", "due soon"),
                Some(_) => lang.t("已超期", "overdue"),
                None => "",
            },
        }
    }
}

/// A pending ticket with what routing suggests for it.
struct Queued {
    line: Line,
    /// The unit routing would pick, and its name.
    suggestion: Option<(String, String)>,
    reasons: Vec<String>,
    /// For a return: the unit that sent it back (its reason is in the ticket's history).
    returned: Option<String>,
}

/// Two open tickets that read alike: a merge (并单) to consider.
struct MergeHint {
    number: String,
    title: String,
    other: String,
    other_title: String,
    similarity: String,
}

#[derive(Template)]
#[template(path = "dispatch.html")]
struct DispatchPage {
    ui: Chrome,
    undecided: Vec<Queued>,
    returns: Vec<Queued>,
    merges: Vec<MergeHint>,
    total: u64,
}

/// How many pending tickets the queue shows; the rest wait on the list's next pages.
const QUEUE: u32 = 50;
/// How many of them are compared with their neighbours for merging.
const MERGE_CHECKS: usize = 20;

async fn dispatch(
    State(state): State<AppState>,
    lang: Lang,
    principal: Principal,
) -> Result<Html<String>, ApiError> {
    let engine = &state.engine;
    let city = engine.city();
    let reader = principal.reader();
    let page = engine
        .list_for(
            &reader,
            &TicketFilter {
                status: Some(Status::Pending),
                limit: QUEUE,
                ..TicketFilter::default()
            },
        )
        .await?;
    let total = engine
        .analytics()
        .counts(&principal.scope)
        .await
        .map_err(ApiError::internal)?
        .into_iter()
        .find(|(s, _)| *s == Status::Pending)
        .map_or(0, |(_, n)| n);
    // One batch: the queue's tickets share their areas' reads of the store.
    let checked = &page.tickets[..page.tickets.len().min(MERGE_CHECKS)];
    let candidates = engine.duplicates_of(checked, &reader).await?;
    let merges = checked
        .iter()
        .zip(&candidates)
        .filter_map(|(ticket, found)| {
            let best = found.first()?;
            Some(MergeHint {
                number: ticket.number.to_string(),
                title: ticket.intake.title.clone(),
                other: best.number.to_string(),
                other_title: best.title.clone(),
                similarity: format!("{:.0}%", best.similarity * 100.0),
            })
        })
        .collect();
    let (mut undecided, mut returns) = (Vec::new(), Vec::new());
    for ticket in &page.tickets {
        let decision = engine.router().decide(ticket, city);
        let queued = Queued {
            line: Line::of(ticket, &state, lang),
            suggestion: decision
                .assignment
                .as_ref()
                .map(|a| (a.unit.to_string(), unit_label(city, &a.unit))),
            reasons: crate::pages::tickets::reasons(&decision),
            returned: ticket
                .returned_from
                .as_ref()
                .map(|unit| unit_label(city, unit)),
        };
        if queued.returned.is_some() {
            returns.push(queued);
        } else {
            undecided.push(queued);
        }
    }
    render(DispatchPage {
        ui: Chrome::new(&state, lang, Some(&principal), "/dispatch"),
        undecided,
        returns,
        merges,
        total,
    })
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
    render(InboxPage {
        ui: Chrome::new(&state, lang, Some(&principal), "/inbox"),
        to_accept: to_accept
            .into_iter()
            .map(|t| Line::of(t, &state, lang))
            .collect(),
        in_hand: in_hand
            .into_iter()
            .map(|t| Line::of(t, &state, lang))
            .collect(),
    })
}

/// How often the inbox stream looks for changes.
const LIVE_EVERY: Duration = Duration::from_secs(2);

/// What the inbox shows, reduced to what changes it: each ticket's number and version.
async fn inbox_state(state: &AppState, principal: &Principal) -> Option<Vec<(String, u32)>> {
    inbox_tickets(state, principal).await.ok().map(|tickets| {
        tickets
            .iter()
            .map(|t| (t.number.to_string(), t.version))
            .collect()
    })
}

/// Server-sent events: `changed` whenever the caller's inbox differs from when the
/// stream opened (a ticket dispatched to the unit, accepted, answered, flagged).
async fn inbox_events(
    State(state): State<AppState>,
    principal: Principal,
) -> Sse<impl futures_util::Stream<Item = Result<SseEvent, std::convert::Infallible>>> {
    let first = inbox_state(&state, &principal).await;
    let stream = futures_util::stream::unfold(
        (state, principal, first),
        |(state, principal, mut seen)| async move {
            let mut ticks = tokio::time::interval(LIVE_EVERY);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let now = inbox_state(&state, &principal).await;
                if now.is_some() && now != seen {
                    seen = now;
                    let event = SseEvent::default().event("changed").data("inbox");
                    return Some((Ok(event), (state, principal, seen)));
                }
            }
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}
