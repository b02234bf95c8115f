//! The dispatchers' queue (`/dispatch`): every pending ticket in the dispatcher's scope,
//! most urgent tier first and, within a tier, the one that has waited longest first,
//! a page at a time; filters by district, category, channel, kind and age; the units
//! routing would choose under the model's best categories, with why; bulk dispatch of
//! the selected tickets (`POST /api/v1/dispatch`); the returns waiting for a decision,
//! with the unit's reason, never proposing that unit again; and merge suggestions.

use crate::AppState;
use crate::middleware::auth::Principal;
use crate::middleware::auth::Rule::Permission as Needs;
use crate::middleware::error::ApiError;
use crate::middleware::extract::PageQuery;
use crate::pages::portal::{Choice, channels, kinds};
use crate::pages::tickets::render;
use crate::pages::ui::{Chrome, Lang};
use crate::routes::Routes;
use askama::Template;
use axum::extract::State;
use axum::http::Method;
use axum::response::Html;
use jiff::{SignedDuration, Timestamp};
use minhu_core::City;
use minhu_core::access::Permission as P;
use minhu_core::event::Change;
use minhu_core::ids::RegionId;
use minhu_core::region::RegionLevel;
use minhu_core::taxonomy::CategoryPath;
use minhu_core::ticket::{Channel, Kind, Ticket};
use minhu_core::workflow::FieldError;
use minhu_engine::Reader;
use minhu_engine::records::{Awaiting, TicketFilter, WorkCursor, WorkOrder};
use minhu_engine::router::Candidate;
use serde::Deserialize;
use utoipa::IntoParams;

pub(crate) fn routes() -> Routes {
    Routes::new().page(Method::GET, "/dispatch", Needs(P::Dispatch), dispatch)
}

/// The queue's filters as the form sends them; a blank field filters nothing (the
/// extractor reads it as absent).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct QueueQuery {
    district: Option<String>,
    category: Option<String>,
    channel: Option<String>,
    kind: Option<String>,
    /// Waiting at least this long: one of [`AGES`]' codes.
    age: Option<String>,
    /// Where the page of pending tickets starts (a cursor this page gave out).
    after: Option<String>,
    /// Where the page of returns starts.
    returns_after: Option<String>,
}

/// The ages the queue can be narrowed to: waiting at least this long.
const AGES: &[(&str, i64, &str, &str)] = &[
    ("1h", 1, "1小时以上", "over 1 hour"),
    ("4h", 4, "4小时以上", "over 4 hours"),
    ("1d", 24, "1天以上", "over 1 day"),
    ("3d", 72, "3天以上", "over 3 days"),
    ("7d", 168, "7天以上", "over 7 days"),
];

/// Pending tickets on one page of the queue.
const PAGE: u32 = 50;
/// Returns on one page.
const RETURNS_PAGE: u32 = 20;
/// Units offered for each ticket.
const CANDIDATES: usize = 3;
/// How many of the page's tickets are compared with their neighbours for merging.
const MERGE_CHECKS: usize = 20;

/// The filters read and checked: each bad value is named by its field.
struct Filters {
    filter: TicketFilter,
    after: Option<WorkCursor>,
    returns_after: Option<WorkCursor>,
    /// The query string of the filters alone, for the page links.
    query: String,
}

impl QueueQuery {
    fn read(&self, city: &City, now: Timestamp) -> Result<Filters, ApiError> {
        let district = self
            .district
            .as_deref()
            .map(|id| {
                city.regions.path(&RegionId::new(id)).ok_or_else(|| {
                    FieldError::new("district", format!("no region has the id {id}"))
                })
            })
            .transpose()?;
        let category = self
            .category
            .as_deref()
            .map(|c| {
                let path = CategoryPath::new(c);
                let known = city.taxonomy.paths().any(|p| p.starts_with(&path));
                known
                    .then(|| path.as_str().to_owned())
                    .ok_or_else(|| FieldError::new("category", format!("no category {c}")))
            })
            .transpose()?;
        let channel = self
            .channel
            .as_deref()
            .map(|c| {
                Channel::from_code(c).ok_or_else(|| {
                    FieldError::new(
                        "channel",
                        format!("{c:?} is not a channel; use one of {}", Channel::codes()),
                    )
                })
            })
            .transpose()?;
        let kind = self
            .kind
            .as_deref()
            .map(|k| {
                Kind::from_code(k).ok_or_else(|| {
                    FieldError::new(
                        "kind",
                        format!("{k:?} is not a kind; use one of {}", Kind::codes()),
                    )
                })
            })
            .transpose()?;
        let age = self
            .age
            .as_deref()
            .map(|a| {
                AGES.iter().find(|(code, ..)| *code == a).ok_or_else(|| {
                    let codes: Vec<&str> = AGES.iter().map(|(code, ..)| *code).collect();
                    FieldError::new(
                        "age",
                        format!("{a:?} is not an age; use one of {}", codes.join(", ")),
                    )
                })
            })
            .transpose()?;
        let cursor = |name: &'static str, value: &Option<String>| {
            value
                .as_deref()
                .map(|c| {
                    WorkCursor::decode(c)
                        .ok_or_else(|| FieldError::new(name, "is not a cursor this page gave out"))
                })
                .transpose()
        };
        let as_str = |v: &Option<String>| v.as_deref().unwrap_or_default().to_owned();
        let query = serde_urlencoded::to_string([
            ("district", as_str(&self.district)),
            ("category", as_str(&self.category)),
            ("channel", as_str(&self.channel)),
            ("kind", as_str(&self.kind)),
            ("age", as_str(&self.age)),
        ])
        .map_err(ApiError::internal)?;
        Ok(Filters {
            filter: TicketFilter {
                region_path: district,
                category,
                channel,
                kind,
                created_to: age.map(|(_, hours, ..)| now - SignedDuration::from_hours(*hours)),
                ..TicketFilter::default()
            },
            after: cursor("after", &self.after)?,
            returns_after: cursor("returns_after", &self.returns_after)?,
            query,
        })
    }
}

/// A unit the ticket could go to, as the page offers it.
struct Offer {
    unit: String,
    name: String,
    /// Why: the category and its confidence, the words, the duty rule.
    reasons: Vec<String>,
}

/// A pending ticket as one row of the queue.
struct Row {
    number: String,
    title: String,
    place: String,
    tier: String,
    received: String,
    waited: String,
    category: String,
    confidence: String,
    offers: Vec<Offer>,
    /// For a return: the unit that sent it back and its reason.
    returned: Option<(String, String)>,
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
    /// Pending tickets in scope, and of them those the filters keep.
    total: u64,
    matching: u64,
    rows: Vec<Row>,
    /// The units offered on this page, for the bulk form: id, name, tickets offered.
    bulk_units: Vec<(String, String, usize)>,
    next: Option<String>,
    first_page: bool,
    returns_total: u64,
    returns: Vec<Row>,
    returns_next: Option<String>,
    merges: Vec<MergeHint>,
    query: String,
    form: FormValues,
    districts: Vec<Choice>,
    categories: Vec<Choice>,
    channels: Vec<Choice>,
    kinds: Vec<Choice>,
    ages: Vec<Choice>,
}

/// The filter form as the dispatcher left it.
struct FormValues {
    district: String,
    category: String,
    channel: String,
    kind: String,
    age: String,
}

/// How long a ticket has waited, in the reader's language: 3天4小时, 3 d 4 h.
pub(crate) fn waited(lang: Lang, since: Timestamp, now: Timestamp) -> String {
    let minutes = now.duration_since(since).as_secs().max(0) / 60;
    let (days, hours, minutes) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    match (days, hours) {
        (0, 0) => format!("{minutes}{}", lang.t("分钟", " min")),
        (0, _) => format!(
            "{hours}{}{minutes}{}",
            lang.t("小时", " h "),
            lang.t("分", " min")
        ),
        _ => format!(
            "{days}{}{hours}{}",
            lang.t("天", " d "),
            lang.t("小时", " h")
        ),
    }
}

/// Why a unit is offered, in the reader's words: the category and how sure the model
/// is of it (with the words that made it), and the duty list's rule that names the unit.
pub(crate) fn offer_reasons(ui: &Chrome, candidate: &Candidate) -> Vec<String> {
    let category = ui.category(&candidate.category);
    let percent = candidate.confidence * 100.0;
    let words = candidate.words.join(ui.t("、", ", "));
    let sure = match (ui.lang.is_en(), words.is_empty()) {
        (true, true) => format!("Category {category}, {percent:.0}% sure"),
        (true, false) => format!("Category {category}, {percent:.0}% sure, from the words {words}"),
        (false, true) => format!("分类「{category}」，可信度{percent:.0}%"),
        (false, false) => format!("分类「{category}」，可信度{percent:.0}%，依据：{words}"),
    };
    let rule = ui.duty_basis(&candidate.assignment.basis, &candidate.assignment.unit);
    vec![sure, rule]
}

fn row(state: &AppState, ui: &Chrome, ticket: &Ticket, return_reason: Option<String>) -> Row {
    let engine = &state.engine;
    let city = engine.city_of(ticket);
    let decision = engine.router().decide(ticket, city);
    let except = ticket.returned_from.as_ref();
    let offers = decision
        .candidates(ticket, city, except, CANDIDATES)
        .iter()
        .map(|c| Offer {
            unit: c.assignment.unit.to_string(),
            name: ui.unit(&c.assignment.unit),
            reasons: offer_reasons(ui, c),
        })
        .collect();
    let (category, confidence) = match (&ticket.intake.category, decision.suggestions.first()) {
        (Some(given), _) => (
            ui.category(given),
            ui.t("工作人员分类", "set by staff").to_owned(),
        ),
        (None, Some(best)) => (
            format!(
                "{} {}",
                ui.t("建议", "suggested:"),
                ui.category(&best.category)
            ),
            format!("{:.0}%", best.confidence * 100.0),
        ),
        (None, None) => (ui.t("未分类", "not classified").to_owned(), "—".to_owned()),
    };
    Row {
        number: ticket.number.to_string(),
        title: ticket.intake.title.clone(),
        place: ticket
            .intake
            .region
            .as_ref()
            .map_or_else(|| "—".to_owned(), |r| ui.region(r)),
        tier: ui.tier(&ticket.intake.tier),
        received: ui.time(ticket.created_at),
        waited: waited(ui.lang, ticket.created_at, engine.now()),
        category,
        confidence,
        offers,
        returned: ticket
            .returned_from
            .as_ref()
            .map(|unit| (ui.unit(unit), return_reason.unwrap_or_default())),
    }
}

/// The reason the unit gave with its latest return, from the ticket's log.
async fn return_reason(
    state: &AppState,
    reader: &Reader,
    ticket: &Ticket,
) -> Result<String, ApiError> {
    let events = state.engine.events_for(reader, &ticket.number).await?;
    Ok(events
        .iter()
        .rev()
        .find_map(|e| match &e.change {
            Change::Returned { reason } => Some(reason.clone()),
            _ => None,
        })
        .unwrap_or_default())
}

fn tier_order(city: &City) -> WorkOrder {
    WorkOrder::Urgency(
        city.tiers
            .iter()
            .map(|t| t.code.as_str().to_owned())
            .collect(),
    )
}

async fn dispatch(
    State(state): State<AppState>,
    lang: Lang,
    principal: Principal,
    PageQuery(query): PageQuery<QueueQuery>,
) -> Result<Html<String>, ApiError> {
    let engine = &state.engine;
    let city = engine.city_in(&principal.scope);
    let ui = Chrome::new(&state, lang, Some(&principal), "/dispatch");
    let reader = principal.reader();
    let filters = query.read(city, engine.now())?;
    let order = tier_order(city);
    let pending = TicketFilter {
        awaiting: Some(Awaiting::Dispatch),
        limit: PAGE,
        ..filters.filter.clone()
    };
    let page = engine
        .work_list_for(&reader, &pending, &order, filters.after.as_ref())
        .await?;
    let matching = engine.count_for(&reader, &pending).await?;
    let total = engine
        .count_for(
            &reader,
            &TicketFilter {
                status: Some(minhu_core::ticket::Status::Pending),
                ..TicketFilter::default()
            },
        )
        .await?;
    let returned = TicketFilter {
        awaiting: Some(Awaiting::Arbitration),
        limit: RETURNS_PAGE,
        ..filters.filter.clone()
    };
    let returns_page = engine
        .work_list_for(&reader, &returned, &order, filters.returns_after.as_ref())
        .await?;
    let returns_total = engine.count_for(&reader, &returned).await?;
    let mut returns = Vec::with_capacity(returns_page.tickets.len());
    for ticket in &returns_page.tickets {
        let reason = return_reason(&state, &reader, ticket).await?;
        returns.push(row(&state, &ui, ticket, Some(reason)));
    }
    let rows: Vec<Row> = page
        .tickets
        .iter()
        .map(|t| row(&state, &ui, t, None))
        .collect();
    let mut bulk_units: Vec<(String, String, usize)> = Vec::new();
    for offer in rows.iter().flat_map(|r| &r.offers) {
        match bulk_units.iter_mut().find(|(unit, ..)| *unit == offer.unit) {
            Some((.., count)) => *count += 1,
            None => bulk_units.push((offer.unit.clone(), offer.name.clone(), 1)),
        }
    }
    bulk_units.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.1.cmp(&b.1)));
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
    let value = |v: &Option<String>| v.clone().unwrap_or_default();
    let categories = city
        .taxonomy
        .first_levels()
        .map(|c| Choice {
            code: c.as_str().to_owned(),
            label: ui.category(c),
        })
        .collect();
    render(DispatchPage {
        ui,
        total,
        matching,
        rows,
        bulk_units,
        next: page.next.map(|c| c.encode()),
        first_page: filters.after.is_none(),
        returns_total,
        returns,
        returns_next: returns_page.next.map(|c| c.encode()),
        merges,
        query: filters.query,
        form: FormValues {
            district: value(&query.district),
            category: value(&query.category),
            channel: value(&query.channel),
            kind: value(&query.kind),
            age: value(&query.age),
        },
        districts: city
            .regions
            .all()
            .iter()
            .filter(|r| r.level == RegionLevel::District)
            .map(|r| Choice {
                code: r.id.to_string(),
                label: r.name.clone(),
            })
            .collect(),
        categories,
        channels: channels(lang),
        kinds: kinds(lang),
        ages: AGES
            .iter()
            .map(|(code, _, zh, en)| Choice {
                code: (*code).to_owned(),
                label: lang.t(zh, en).to_owned(),
            })
            .collect(),
    })
}
