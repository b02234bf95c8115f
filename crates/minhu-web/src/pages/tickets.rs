//! The officials' shared pages: the ticket list and one ticket with its event log.

use crate::AppState;
use crate::middleware::auth::Principal;
use crate::middleware::auth::Rule::Permission as Needs;
use crate::middleware::error::ApiError;
use crate::pages::portal::{Choice, label};
use crate::pages::ui::{Chrome, Lang};
use crate::routes::Routes;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::Method;
use axum::response::Html;
use minhu_core::City;
use minhu_core::access::Permission as P;
use minhu_core::access::Permission;
use minhu_core::ids::TicketNumber;
use minhu_core::ids::UnitId;
use minhu_core::region::RegionLevel;
use minhu_core::ticket::{Satisfaction, Status, Ticket};
use minhu_engine::records::{Cursor, TicketFilter};
use minhu_engine::router::Decision;
use std::collections::HashMap;

pub(crate) fn routes() -> Routes {
    Routes::new()
        .page(Method::GET, "/tickets", Needs(P::ViewTickets), list_page)
        .page(
            Method::GET,
            "/tickets/{number}",
            Needs(P::ViewTickets),
            ticket_page,
        )
}

/// A ticket as a row of the list.
struct Row {
    number: String,
    title: String,
    status: &'static str,
    status_code: &'static str,
    unit: String,
    place: String,
    created: String,
    overdue: bool,
}

struct StatusTab {
    code: &'static str,
    label: &'static str,
    count: u64,
    current: bool,
}

#[derive(Template)]
#[template(path = "list.html")]
struct ListPage {
    ui: Chrome,
    tabs: Vec<StatusTab>,
    total: u64,
    query: String,
    rows: Vec<Row>,
    next: Option<String>,
    status: String,
}

pub(crate) fn local_time(city: &City, at: jiff::Timestamp) -> String {
    at.to_zoned(city.timezone.clone())
        .strftime("%Y-%m-%d %H:%M")
        .to_string()
}

/// A unit's name, or its id when the configuration no longer has it.
pub(crate) fn unit_label(city: &City, id: &UnitId) -> String {
    city.units
        .get(id)
        .map_or_else(|| id.to_string(), |u| u.name.clone())
}

fn unit_name(city: &City, ticket: &Ticket) -> String {
    ticket
        .unit
        .as_ref()
        .map_or_else(|| "—".into(), |id| unit_label(city, id))
}

pub(crate) fn place_name(city: &City, ticket: &Ticket) -> String {
    ticket
        .intake
        .region
        .as_ref()
        .map_or_else(|| "—".into(), |region| region_label(city, region))
}

/// A region with the regions it lies in, largest first, without the city.
pub(crate) fn region_label(city: &City, region: &minhu_core::ids::RegionId) -> String {
    let mut names: Vec<&str> = city
        .regions
        .ancestry(region)
        .map(|r| r.name.as_str())
        .collect();
    names.pop(); // the city itself goes without saying
    names.reverse();
    if names.is_empty() {
        "—".into()
    } else {
        names.join(" ")
    }
}

pub(crate) fn render(template: impl Template) -> Result<Html<String>, ApiError> {
    template.render().map(Html).map_err(ApiError::internal)
}

async fn list_page(
    State(state): State<AppState>,
    lang: Lang,
    principal: Principal,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Html<String>, ApiError> {
    let city = state.engine.city();
    let status = params.get("status").and_then(|s| Status::from_code(s));
    let query = params
        .get("q")
        .map(|q| q.trim().to_owned())
        .unwrap_or_default();
    let filter = TicketFilter {
        status,
        text: (!query.is_empty()).then(|| query.clone()),
        identity: principal.may(Permission::ViewIdentity),
        cursor: params.get("cursor").and_then(|c| Cursor::decode(c)),
        limit: 50,
        ..TicketFilter::default()
    };
    let counts = state
        .engine
        .analytics()
        .counts(&principal.scope)
        .await
        .map_err(ApiError::internal)?;
    let page = state.engine.list_for(&principal.reader(), &filter).await?;
    let now = state.engine.now();
    let tabs = Status::ALL
        .iter()
        .map(|&s| StatusTab {
            code: s.code(),
            label: s.label_zh(),
            count: counts.iter().find(|(c, _)| *c == s).map_or(0, |(_, n)| *n),
            current: status == Some(s),
        })
        .collect();
    let rows = page
        .tickets
        .iter()
        .map(|t| Row {
            number: t.number.to_string(),
            title: t.intake.title.clone(),
            status: t.status.label_zh(),
            status_code: t.status.code(),
            unit: unit_name(city, t),
            place: place_name(city, t),
            created: local_time(city, t.created_at),
            overdue: t.is_overdue(now),
        })
        .collect();
    render(ListPage {
        ui: Chrome::new(&state, lang, Some(&principal), "/tickets"),
        tabs,
        total: counts.iter().map(|(_, n)| n).sum(),
        query,
        rows,
        next: page.next.map(|c| c.encode()),
        status: status.map(|s| s.code().to_owned()).unwrap_or_default(),
    })
}

struct EventRow {
    at: String,
    actor: String,
    kind: &'static str,
    detail: String,
}

#[derive(Template)]
#[template(path = "ticket.html")]
struct TicketPage {
    ui: Chrome,
    ticket: Ticket,
    status: &'static str,
    channel: &'static str,
    kind: &'static str,
    unit: String,
    place: String,
    category: String,
    created: String,
    respond_by: String,
    resolve_by: String,
    phone: String,
    /// The reader may unmask this ticket's citizen and words, giving a reason (a unit
    /// calling the citizen back); never for a confidential reporter.
    reveal: bool,
    overdue: bool,
    events: Vec<EventRow>,
    actions: Actions,
}

/// Why routing suggests what it does, in one line per reason.
pub(crate) fn reasons(decision: &Decision) -> Vec<String> {
    let mut reasons = Vec::new();
    if let Some(placed) = &decision.region {
        reasons.push(placed.reason.clone());
    }
    if let Some(category) = decision.category.as_ref().or(decision.suggestions.first()) {
        reasons.push(format!(
            "{} ({:.0}%): {}",
            category.category,
            category.confidence * 100.0,
            category.reasons.join(", ")
        ));
    }
    if let Some(urgency) = &decision.tier {
        reasons.push(format!(
            "{}: {}",
            urgency.tier.as_str(),
            urgency.reasons.join(", ")
        ));
    }
    if let Some(assignment) = &decision.assignment {
        reasons.push(assignment.reason.clone());
    }
    reasons
}

/// A suggested article on the ticket page.
struct KbChoice {
    id: String,
    title: String,
    /// 0 to 100.
    percent: u32,
    words: String,
    chosen: bool,
}

/// A unit to choose from.
struct UnitChoice {
    id: String,
    name: String,
    selected: bool,
}

/// The units a ticket's holder may summon: every unit but the holder, those within the
/// ticket's district first, then the rest in the configuration's order.
fn summonable(city: &City, ticket: &Ticket) -> Vec<UnitChoice> {
    let district = ticket.intake.region.as_ref().and_then(|r| {
        city.regions
            .ancestry(r)
            .find(|r| r.level == RegionLevel::District)
            .map(|r| r.id.clone())
    });
    let near = |unit: &minhu_core::unit::Unit| {
        district
            .as_ref()
            .is_some_and(|d| city.regions.is_within(&unit.region, d))
    };
    let mut units: Vec<&minhu_core::unit::Unit> = city
        .units
        .all()
        .iter()
        .filter(|u| ticket.unit.as_ref() != Some(&u.id))
        .collect();
    units.sort_by_key(|u| !near(u));
    units
        .into_iter()
        .map(|u| UnitChoice {
            id: u.id.to_string(),
            name: u.name.clone(),
            selected: false,
        })
        .collect()
}

/// The workflow actions this caller may take on this ticket now, each a form.
#[derive(Default)]
struct Actions {
    /// Dispatch (pending, with `ticket.dispatch`): the units, routing's pick selected.
    dispatch: Vec<UnitChoice>,
    reasons: Vec<String>,
    /// A unit returned it: send it back to that unit (refuse the return).
    arbitrate: Option<String>,
    answer: bool,
    /// Knowledge-base articles for the ticket's text (with `kb.view`), to answer from.
    answers: Vec<KbChoice>,
    /// The article picked to answer from (`?article=`): its id and text.
    chosen: Option<(String, String)>,
    /// Open tickets that read alike; `merge` when the caller may merge.
    duplicates: Vec<minhu_engine::duplicates::Duplicate>,
    merge: bool,
    accept: bool,
    give_back: bool,
    resolve: bool,
    /// The units the holder may summon (吹哨): those of the ticket's district first
    /// (the departments that come when a street blows the whistle), then the city's.
    summon: Vec<UnitChoice>,
    extend: bool,
    urge: bool,
    callback: Vec<Choice>,
    close: bool,
}

impl Actions {
    fn any(&self) -> bool {
        !self.dispatch.is_empty()
            || self.answer
            || self.accept
            || self.resolve
            || self.urge
            || !self.callback.is_empty()
            || self.close
            || !self.duplicates.is_empty()
    }
}

async fn actions_for(
    state: &AppState,
    principal: &Principal,
    ticket: &Ticket,
    lang: Lang,
    article: Option<&str>,
) -> Result<Actions, ApiError> {
    let engine = &state.engine;
    let city = engine.city();
    let status = ticket.status;
    let open = matches!(
        status,
        Status::Pending | Status::Dispatched | Status::Accepted
    );
    let mut actions = Actions::default();
    if status == Status::Pending && principal.may(Permission::Dispatch) {
        let decision = engine.router().decide(ticket, city);
        let pick = decision.assignment.as_ref().map(|a| a.unit.clone());
        actions.dispatch = city
            .units
            .all()
            .iter()
            .map(|u| UnitChoice {
                id: u.id.to_string(),
                name: u.name.clone(),
                selected: pick.as_ref() == Some(&u.id),
            })
            .collect();
        actions.reasons = reasons(&decision);
        actions.arbitrate = ticket.returned_from.as_ref().map(|u| unit_label(city, u));
    }
    actions.answer = status == Status::Pending && principal.may(Permission::Answer);
    if actions.answer && principal.may(Permission::ViewKnowledge) {
        let text = format!("{} {}", ticket.intake.title, ticket.intake.description);
        let category = ticket.intake.category.as_ref().map(|c| c.as_str());
        let today = engine.today();
        let found = engine.kb().suggest(&text, category, today, 3).await?;
        actions.chosen = match article {
            Some(id) => engine
                .kb()
                .article(id)
                .await?
                .filter(|a| a.live_on(today))
                .map(|a| (a.id, a.body)),
            None => None,
        };
        let chosen = actions.chosen.as_ref().map(|(id, _)| id.as_str());
        actions.answers = found
            .into_iter()
            .map(|s| KbChoice {
                chosen: chosen == Some(s.article.id.as_str()),
                id: s.article.id,
                title: s.article.title,
                percent: (s.confidence * 100.0).round() as u32,
                words: s.matched.join("、"),
            })
            .collect();
    }
    if open && principal.may(Permission::Classify) {
        actions.duplicates = engine
            .duplicates(&ticket.number, &principal.reader())
            .await?;
        actions.merge = principal.may(Permission::Dispatch);
    }
    let handles = principal.may(Permission::Handle);
    actions.accept = handles && status == Status::Dispatched;
    actions.give_back = actions.accept;
    actions.resolve = handles && status == Status::Accepted;
    if actions.resolve {
        actions.summon = summonable(city, ticket);
    }
    actions.extend = actions.resolve;
    actions.urge = open && principal.may(Permission::Supervise);
    if status == Status::Resolved && principal.may(Permission::Callback) {
        actions.callback = Satisfaction::ALL
            .iter()
            .map(|s| Choice {
                code: s.code().to_owned(),
                label: label(lang, s.label_zh(), s.code()),
            })
            .collect();
    }
    actions.close = status == Status::Resolved && principal.may(Permission::Dispatch);
    Ok(actions)
}

fn event_detail(event: &minhu_core::event::Event, city: &City) -> String {
    use minhu_core::event::Change::*;
    let unit = |id: &UnitId| unit_label(city, id);
    match &event.change {
        Created(intake) => format!("{} / {}", intake.channel.label_zh(), intake.kind.label_zh()),
        Reclassified {
            category,
            region,
            tier,
        } => [
            category.as_ref().map(|c| format!("分类 {c}")),
            region.as_ref().map(|r| {
                format!(
                    "属地 {}",
                    city.regions.get(r).map_or(r.as_str(), |x| x.name.as_str())
                )
            }),
            tier.as_ref().map(|t| format!("时限 {}", t.as_str())),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("; "),
        Dispatched {
            unit: u, reason, ..
        } => format!("→ {} ({reason})", unit(u)),
        Accepted => String::new(),
        Returned { reason } => reason.clone(),
        Redispatched {
            unit: u, reason, ..
        } => format!("→ {} ({reason})", unit(u)),
        Resolved { reply }
        | AnsweredAtIntake {
            answer: reply,
            article: None,
        } => reply.clone(),
        AnsweredAtIntake {
            answer,
            article: Some(id),
        } => format!("{answer} (知识库 knowledge base: {id})"),
        AttachmentAdded(a) => format!(
            "{} ({} bytes)",
            a.name.as_deref().unwrap_or(&a.sha256),
            a.size
        ),
        Rated(r) => format!(
            "{} / {}",
            if r.solved { "已解决" } else { "未解决" },
            r.satisfaction.label_zh()
        ),
        Reopened { reason, .. } => reason.clone(),
        Closed { reason } => reason.clone().unwrap_or_default(),
        ReturnRejected {
            unit: u, reason, ..
        } => format!("退回 {} ({reason})", unit(u)),
        ExtensionRequested { resolve_by, reason } => {
            format!("申请延期至 {} ({reason})", local_time(city, *resolve_by))
        }
        ExtensionDecided {
            approved,
            resolve_by,
            reason,
        } => format!(
            "{} {} {}",
            if *approved {
                "同意延期至"
            } else {
                "不同意延期"
            },
            if *approved {
                local_time(city, *resolve_by)
            } else {
                String::new()
            },
            reason.as_deref().unwrap_or_default()
        ),
        Urged { note } => note.clone(),
        MarkedLongTerm { reason, review_on } => format!("挂账，{review_on} 复核 ({reason})"),
        Reassigned {
            unit: u, reason, ..
        } => format!("改派 → {} ({reason})", unit(u)),
        Summoned { units, note } => format!(
            "吹哨 {} ({note})",
            units.iter().map(unit).collect::<Vec<_>>().join("、")
        ),
        PartAccepted { unit: u } => format!("{} 报到", unit(u)),
        PartReported { unit: u, report } => format!("{}: {report}", unit(u)),
        Merged { into, reason } => format!("并入 {into} ({reason})"),
        Unmerged { from, reason } => format!("移出 {from} ({reason})"),
        CaseJoined { ticket, reason } => format!("{ticket} 并入本单 ({reason})"),
        CaseLeft { ticket, reason } => format!("{ticket} 移出本单 ({reason})"),
        CaseReplied { case, reply } => format!("主单 {case}: {reply}"),
        Warned { deadline, due_by } => format!(
            "{}预警：{} 到期",
            deadline.label_zh(),
            local_time(city, *due_by)
        ),
        Overdue { deadline, due_by } => format!(
            "{}已超期（{} 到期）",
            deadline.label_zh(),
            local_time(city, *due_by)
        ),
        Escalated { to, .. } => format!("升级至{}", to.label_zh()),
        CallbackDue => "回访到期".into(),
    }
}

async fn ticket_page(
    State(state): State<AppState>,
    lang: Lang,
    principal: Principal,
    Path(number): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Html<String>, ApiError> {
    let number = TicketNumber::parse(&number).map_err(|e| ApiError::not_found(e.to_string()))?;
    let engine = &state.engine;
    let city = engine.city();
    let reader = principal.reader();
    let ticket = engine.ticket_for(&reader, &number).await?;
    // The ticket was just read and checked for this reader: only its log is left to read.
    let events = reader.events(engine.events(&number).await?, &city.privacy);
    let article = params.get("article").map(String::as_str);
    let actions = actions_for(&state, &principal, &ticket, lang, article).await?;
    let deadline = |pick: fn(&minhu_core::deadline::Deadlines) -> jiff::Timestamp| {
        ticket
            .deadlines
            .as_ref()
            .map_or_else(|| "—".into(), |d| local_time(city, pick(d)))
    };
    render(TicketPage {
        ui: Chrome::new(&state, lang, Some(&principal), "/tickets"),
        status: ticket.status.label_zh(),
        channel: ticket.intake.channel.label_zh(),
        kind: ticket.intake.kind.label_zh(),
        unit: unit_name(city, &ticket),
        place: place_name(city, &ticket),
        category: ticket
            .intake
            .category
            .as_ref()
            .map_or_else(|| "未分类".into(), |c| c.to_string()),
        created: local_time(city, ticket.created_at),
        respond_by: deadline(|d| d.respond_by),
        resolve_by: deadline(|d| d.resolve_by),
        phone: ticket
            .intake
            .citizen
            .phone
            .as_deref()
            .map_or_else(|| "匿名 anonymous".into(), str::to_owned),
        reveal: principal.may(Permission::RevealIdentity)
            && !principal.may(Permission::ViewIdentity)
            && !minhu_core::access::is_confidential(&ticket.intake),
        overdue: ticket.is_overdue(engine.now()),
        events: events
            .iter()
            .map(|e| EventRow {
                at: local_time(city, e.at),
                actor: e.actor.to_string(),
                kind: e.change.name(),
                detail: event_detail(e, city),
            })
            .collect(),
        actions,
        ticket,
    })
}
