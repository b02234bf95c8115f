//! Work lists (issue 18): the supervisors' desk (`/supervise`: extension requests to
//! decide, overdue and escalated tickets, disputed returns and returns waiting for the
//! dispatchers, long-term cases) and a unit leader's (`/overdue`: the unit's overdue and
//! escalated tickets). Each list is within the reader's scope,
//! most pressing first, a page at a time, with one-click actions through the ticket
//! action API; both pages say when their lists change (server-sent events).

use crate::AppState;
use crate::middleware::auth::Principal;
use crate::middleware::auth::Rule::Permission as Needs;
use crate::middleware::error::ApiError;
use crate::middleware::extract::PageQuery;
use crate::pages::desk::{Line, Since, digest, live, versions};
use crate::pages::queue::waited;
use crate::pages::tickets::render;
use crate::pages::ui::{Chrome, Lang};
use crate::routes::Routes;
use askama::Template;
use axum::extract::State;
use axum::http::Method;
use axum::response::Html;
use axum::response::sse::{Event as SseEvent, Sse};
use minhu_core::access::Permission as P;
use minhu_core::ticket::{Status, Ticket};
use minhu_core::timer::{EscalationTarget, Flag};
use minhu_core::workflow::FieldError;
use minhu_engine::records::{Awaiting, TicketFilter, WorkCursor, WorkOrder};
use serde::Deserialize;
use utoipa::IntoParams;

pub(crate) fn routes() -> Routes {
    Routes::new()
        .page(Method::GET, "/supervise", Needs(P::Supervise), supervise)
        .page(
            Method::GET,
            "/supervise/events",
            Needs(P::Supervise),
            supervise_events,
        )
        .page(Method::GET, "/overdue", Needs(P::Redispatch), overdue)
        .page(
            Method::GET,
            "/overdue/events",
            Needs(P::Redispatch),
            overdue_events,
        )
}

/// Tickets on one page of each list.
const PAGE: u32 = 20;

/// One ticket of a work list.
struct Item {
    line: Line,
    /// The resolution deadline (the lists run by it), and while the unit has not
    /// accepted, the deadline to accept.
    resolve_by: String,
    accept_by: Option<String>,
    unit: String,
    /// Waiting for the unit to accept (a leader may accept it for the unit).
    to_accept: bool,
    /// Who the overdue ticket went up to: 单位领导, 督办人员.
    escalated: Vec<&'static str>,
    /// What the list is about: the extension asked for, the review date, the disputes.
    detail: String,
    /// The reason given with it (the extension's, the long-term's).
    reason: String,
    urged: u32,
}

/// One list: its tickets, how many in all, and where its next page starts.
struct List {
    items: Vec<Item>,
    total: u64,
    /// The query string of the next page (this list's cursor, the others' kept).
    next: Option<String>,
}

/// Which list a page link moves, and where each list starts.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListPages {
    extensions: Option<String>,
    overdue: Option<String>,
    disputed: Option<String>,
    returns: Option<String>,
    long_term: Option<String>,
}

impl ListPages {
    /// Where list `name` starts (`value`: the link's cursor), checked.
    fn cursor(name: &'static str, value: &Option<String>) -> Result<Option<WorkCursor>, ApiError> {
        value
            .as_deref()
            .map(|v| {
                WorkCursor::decode(v)
                    .ok_or_else(|| FieldError::new(name, "is not a cursor this page gave out"))
            })
            .transpose()
            .map_err(ApiError::from)
    }
}

fn item(state: &AppState, ui: &Chrome, ticket: &Ticket) -> Item {
    let detail = if let Some(asked) = &ticket.extension {
        format!(
            "{} {}",
            ui.t("申请延至", "asks until"),
            ui.time(asked.resolve_by)
        )
    } else if let Some(long) = &ticket.long_term {
        format!(
            "{} {}",
            ui.t("复核日期", "review on"),
            ui.date(long.review_on)
        )
    } else if ticket.status == Status::Pending {
        format!(
            "{} {}",
            ui.t("已等候", "waiting"),
            waited(ui.lang, ticket.updated_at, state.engine.now())
        )
    } else if ticket.dispute_count > 0 {
        format!(
            "{} {}",
            ui.t("退单争议次数", "disputed returns:"),
            ticket.dispute_count
        )
    } else {
        String::new()
    };
    let reason = match (&ticket.extension, &ticket.long_term) {
        (Some(asked), _) => asked.reason.clone(),
        (None, Some(long)) => long.reason.clone(),
        (None, None) => String::new(),
    };
    let deadline =
        |at: Option<jiff::Timestamp>| at.map_or_else(|| "—".to_owned(), |at| ui.time(at));
    Item {
        line: Line::of(ticket, ui),
        resolve_by: deadline(ticket.deadlines.map(|d| d.resolve_by)),
        accept_by: (ticket.status == Status::Dispatched)
            .then(|| deadline(ticket.deadlines.map(|d| d.respond_by))),
        unit: ticket
            .unit
            .as_ref()
            .or(ticket.returned_from.as_ref())
            .map_or_else(|| "—".to_owned(), |u| ui.unit(u)),
        to_accept: ticket.status == Status::Dispatched,
        escalated: ticket
            .alerts
            .escalated
            .iter()
            .map(|to| match to {
                EscalationTarget::UnitLeader => {
                    ui.t("已升级至单位领导", "escalated to the unit leader")
                }
                EscalationTarget::Supervisor => {
                    ui.t("已升级至督办", "escalated to the supervisors")
                }
            })
            .collect(),
        detail,
        reason,
        urged: ticket.urge_count,
    }
}

/// Reads one list: the first page after `after`, and the count.
async fn list(
    state: &AppState,
    ui: &Chrome,
    principal: &Principal,
    filter: TicketFilter,
    order: &WorkOrder,
    after: Option<&WorkCursor>,
) -> Result<(List, Option<WorkCursor>), ApiError> {
    let reader = principal.reader();
    let filter = TicketFilter {
        limit: PAGE,
        ..filter
    };
    let page = state
        .engine
        .work_list_for(&reader, &filter, order, after)
        .await?;
    let total = state.engine.count_for(&reader, &filter).await?;
    Ok((
        List {
            items: page.tickets.iter().map(|t| item(state, ui, t)).collect(),
            total,
            next: None,
        },
        page.next,
    ))
}

/// The query string of a page link: every list where it is now, `name` at `next`.
fn link(pages: &[(&str, Option<String>)], name: &str, next: &WorkCursor) -> String {
    let pairs: Vec<(&str, String)> = pages
        .iter()
        .filter(|(list, _)| *list != name)
        .filter_map(|(list, at)| at.clone().map(|at| (*list, at)))
        .chain([(name, next.encode())])
        .collect();
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

/// One list a page shows: its name in page links, where it starts, what it holds, in
/// which order.
type Wanted = (&'static str, Option<String>, TicketFilter, WorkOrder);

/// The lists of a page, read in order, each with its link to its next page.
async fn lists(
    state: &AppState,
    ui: &Chrome,
    principal: &Principal,
    wanted: Vec<Wanted>,
) -> Result<Vec<List>, ApiError> {
    let current: Vec<(&str, Option<String>)> = wanted
        .iter()
        .map(|(name, at, ..)| (*name, at.clone()))
        .collect();
    let mut out = Vec::with_capacity(wanted.len());
    for (name, at, filter, order) in wanted {
        let after = ListPages::cursor(name, &at)?;
        let (mut list, next) = list(state, ui, principal, filter, &order, after.as_ref()).await?;
        list.next = next.map(|next| link(&current, name, &next));
        out.push(list);
    }
    Ok(out)
}

/// What a live page compares: the lists' filters and orders, from their first page.
fn first_of(wanted: Vec<Wanted>) -> Vec<(TicketFilter, WorkOrder)> {
    wanted
        .into_iter()
        .map(|(_, _, filter, order)| (filter, order))
        .collect()
}

fn awaiting(awaiting: Awaiting) -> TicketFilter {
    TicketFilter {
        awaiting: Some(awaiting),
        ..TicketFilter::default()
    }
}

fn flagged(flag: Flag) -> TicketFilter {
    TicketFilter {
        flag: Some(flag),
        ..TicketFilter::default()
    }
}

/// The supervisors' lists, most pressing first.
fn supervisor_lists(state: &AppState, pages: &ListPages) -> Vec<Wanted> {
    let tiers = WorkOrder::Urgency(
        state
            .engine
            .city()
            .tiers
            .iter()
            .map(|t| t.code.as_str().to_owned())
            .collect(),
    );
    vec![
        (
            "extensions",
            pages.extensions.clone(),
            awaiting(Awaiting::Extension),
            WorkOrder::Deadline,
        ),
        (
            "overdue",
            pages.overdue.clone(),
            flagged(Flag::Overdue),
            WorkOrder::Deadline,
        ),
        (
            "disputed",
            pages.disputed.clone(),
            awaiting(Awaiting::Disputed),
            WorkOrder::Deadline,
        ),
        (
            "returns",
            pages.returns.clone(),
            awaiting(Awaiting::Arbitration),
            tiers,
        ),
        (
            "long_term",
            pages.long_term.clone(),
            awaiting(Awaiting::Review),
            WorkOrder::Review,
        ),
    ]
}

#[derive(Template)]
#[template(path = "supervise.html")]
struct SupervisePage {
    ui: Chrome,
    /// The digest of the lists' first pages, for the live notice.
    since: u64,
    extensions: List,
    overdue: List,
    disputed: List,
    returns: List,
    long_term: List,
}

async fn supervise(
    State(state): State<AppState>,
    lang: Lang,
    principal: Principal,
    PageQuery(pages): PageQuery<ListPages>,
) -> Result<Html<String>, ApiError> {
    let ui = Chrome::new(&state, lang, Some(&principal), "/supervise");
    let shown = first_of(supervisor_lists(&state, &ListPages::default()));
    let since = shown_digest(&state, &principal, shown).await?;
    let wanted = supervisor_lists(&state, &pages);
    let mut read = lists(&state, &ui, &principal, wanted).await?.into_iter();
    let mut next = || read.next().expect("one list per name");
    render(SupervisePage {
        ui,
        since,
        extensions: next(),
        overdue: next(),
        disputed: next(),
        returns: next(),
        long_term: next(),
    })
}

/// What a work page shows first, reduced to what changes it: each list's count and its
/// first page's tickets with their versions.
async fn first_pages(
    state: AppState,
    principal: Principal,
    wanted: Vec<(TicketFilter, WorkOrder)>,
) -> Option<Vec<(u64, Vec<(String, u32)>)>> {
    let reader = principal.reader();
    let mut seen = Vec::with_capacity(wanted.len());
    for (filter, order) in wanted {
        let filter = TicketFilter {
            limit: PAGE,
            ..filter
        };
        let page = state
            .engine
            .work_list_for(&reader, &filter, &order, None)
            .await
            .ok()?;
        let total = state.engine.count_for(&reader, &filter).await.ok()?;
        seen.push((total, versions(&page.tickets)));
    }
    Some(seen)
}

/// The digest of what a page's lists show first, as its live stream reads them.
async fn shown_digest(
    state: &AppState,
    principal: &Principal,
    wanted: Vec<(TicketFilter, WorkOrder)>,
) -> Result<u64, ApiError> {
    let shown = first_pages(state.clone(), principal.clone(), wanted)
        .await
        .ok_or_else(|| ApiError::internal("the work lists could not be read"))?;
    Ok(digest(&shown))
}

async fn supervise_events(
    State(state): State<AppState>,
    principal: Principal,
    PageQuery(since): PageQuery<Since>,
) -> Sse<impl futures_util::Stream<Item = Result<SseEvent, std::convert::Infallible>>> {
    live(state, principal, since, |state, principal| {
        let wanted = first_of(supervisor_lists(&state, &ListPages::default()));
        first_pages(state, principal, wanted)
    })
    .await
}

/// A unit leader's list: the unit's overdue and escalated tickets.
fn leader_lists(pages: &ListPages) -> Vec<Wanted> {
    vec![(
        "overdue",
        pages.overdue.clone(),
        flagged(Flag::Overdue),
        WorkOrder::Deadline,
    )]
}

#[derive(Template)]
#[template(path = "overdue.html")]
struct OverduePage {
    ui: Chrome,
    /// The digest of the list's first page, for the live notice.
    since: u64,
    overdue: List,
}

async fn overdue(
    State(state): State<AppState>,
    lang: Lang,
    principal: Principal,
    PageQuery(pages): PageQuery<ListPages>,
) -> Result<Html<String>, ApiError> {
    let ui = Chrome::new(&state, lang, Some(&principal), "/overdue");
    let shown = first_of(leader_lists(&ListPages::default()));
    let since = shown_digest(&state, &principal, shown).await?;
    let wanted = leader_lists(&pages);
    let mut read = lists(&state, &ui, &principal, wanted).await?.into_iter();
    let mut next = || read.next().expect("one list per name");
    render(OverduePage {
        ui,
        since,
        overdue: next(),
    })
}

async fn overdue_events(
    State(state): State<AppState>,
    principal: Principal,
    PageQuery(since): PageQuery<Since>,
) -> Sse<impl futures_util::Stream<Item = Result<SseEvent, std::convert::Infallible>>> {
    live(state, principal, since, |state, principal| {
        first_pages(
            state,
            principal,
            first_of(leader_lists(&ListPages::default())),
        )
    })
    .await
}
