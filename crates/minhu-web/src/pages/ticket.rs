//! One ticket's page: what the demand is, where it stands, its summoned parts, the
//! citizen's photos and the history; and every action the reader may take on it now,
//! each a form that posts to the ticket's action API (which judges it again: the page
//! only leaves out what the reader's role, unit or the ticket's state rule out).

use crate::AppState;
use crate::middleware::auth::Principal;
use crate::middleware::auth::Rule::Permission as Needs;
use crate::middleware::error::ApiError;
use crate::middleware::extract::PageQuery;
use crate::pages::portal::Choice;
use crate::pages::queue::offer_reasons;
use crate::pages::tickets::render;
use crate::pages::ui::region_label;
use crate::pages::ui::{Chrome, Lang};
use crate::routes::Routes;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::Html;
use minhu_core::City;
use minhu_core::access::Permission as P;
use minhu_core::ids::{TicketNumber, UnitId};
use minhu_core::region::RegionLevel;
use minhu_core::ticket::{CheckKind, PartState, Satisfaction, Status, Ticket};
use minhu_core::unit::Unit;
use serde::Deserialize;
use utoipa::IntoParams;

pub(crate) fn routes() -> Routes {
    Routes::new().page(
        Method::GET,
        "/tickets/{number}",
        Needs(P::ViewTickets),
        ticket_page,
    )
}

struct EventRow {
    at: String,
    actor: String,
    kind: &'static str,
    detail: String,
}

/// A summoned unit's part (联办) as a row, with the step the reader may take on it.
struct PartRow {
    unit_id: String,
    unit: String,
    state: String,
    summoned: String,
    report: String,
    /// The reader acts for this unit and the part waits for it to report for duty.
    accept: bool,
    /// The reader acts for this unit and the part waits for its report.
    report_due: bool,
}

/// A file the citizen or a unit attached: photos are shown, other files linked.
struct Photo {
    url: String,
    name: String,
    image: bool,
}

#[derive(Template)]
#[template(path = "ticket.html")]
struct TicketPage {
    ui: Chrome,
    ticket: Ticket,
    status: String,
    channel: String,
    kind: String,
    unit: String,
    place: String,
    category: String,
    tier: String,
    created: String,
    respond_by: String,
    resolve_by: String,
    phone: String,
    /// The reader may unmask this ticket's citizen and words, giving a reason (a unit
    /// calling the citizen back); never for a confidential reporter.
    reveal: bool,
    overdue: bool,
    /// 挂账: why and when it is reviewed next, and whether that day has come.
    long_term: Option<(String, String)>,
    review_due: bool,
    /// An extension waiting for a supervisor: the deadline asked for and why.
    extension: Option<(String, String)>,
    parts: Vec<PartRow>,
    photos: Vec<Photo>,
    events: Vec<EventRow>,
    actions: Actions,
    /// The citizen's other demands, across their linked phone, WeChat and e-mail, for
    /// readers who may see who the citizen is.
    citizen_history: Vec<crate::channels::phone::Earlier>,
}

/// A unit to choose from.
struct UnitChoice {
    id: String,
    name: String,
    selected: bool,
}

/// A unit routing suggests, with why (the category and the duty list's rule).
struct Suggested {
    unit: UnitChoice,
    reasons: Vec<String>,
}

/// Choosing a unit without scrolling the city's 750: routing's suggestions first with
/// their reasons (the best one chosen), then the units of the ticket's district, and a
/// search over every unit for the rest.
struct UnitPicker {
    suggested: Vec<Suggested>,
    district: Vec<UnitChoice>,
    district_name: String,
}

/// The workflow actions this reader may take on this ticket now, each a form.
#[derive(Default)]
struct Actions {
    /// A merged ticket taken out of its case, back to the dispatchers.
    unmerge: bool,
    /// Change the category (a 3-level path, searched as one types) or the tier.
    reclassify: bool,
    /// Every category: its path (what is sent) and its name in the reader's language.
    categories: Vec<(String, String)>,
    tiers: Vec<Choice>,
    /// Dispatch (pending, with `ticket.dispatch`).
    dispatch: Option<UnitPicker>,
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
    /// The holder may summon units (吹哨): those of the ticket's district to pick from,
    /// the others by searching.
    summon: Option<Vec<UnitChoice>>,
    extend: bool,
    /// The sub-units the holder may pass the ticket down to (转派).
    redispatch: Vec<UnitChoice>,
    /// The dispatchers move a held ticket to another unit (改派).
    reassign: Option<UnitPicker>,
    /// Every unit, for the pickers' search: (id, name with its place).
    all_units: Vec<(String, String)>,
    decide_extension: bool,
    urge: bool,
    /// Mark long-term (挂账), or set the next review date of a long-term ticket.
    long_term: bool,
    lift: bool,
    /// The first review date the form allows (tomorrow).
    review_min: String,
    callback: Vec<Choice>,
    reopen: bool,
    close: bool,
    /// Close a pending ticket without handling it (a nuisance or repeated call), saying why.
    close_unhandled: bool,
    /// Add photos or PDFs (the unit's own proof of what was done).
    attach: bool,
    /// The holder sends the ticket's grid worker to check or visit (核查, 回访): the
    /// kinds to pick from; empty when it may not (not the holder, not placed in a grid
    /// or community).
    assign_check: Vec<Choice>,
}

impl Actions {
    fn any(&self) -> bool {
        self.reclassify
            || self.unmerge
            || self.dispatch.is_some()
            || self.answer
            || self.accept
            || self.resolve
            || !self.redispatch.is_empty()
            || self.reassign.is_some()
            || self.decide_extension
            || self.urge
            || self.long_term
            || !self.callback.is_empty()
            || self.reopen
            || self.close
            || self.close_unhandled
            || self.attach
            || !self.assign_check.is_empty()
            || !self.duplicates.is_empty()
    }
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

fn choice(ui: &Chrome, unit: &Unit, selected: bool) -> UnitChoice {
    UnitChoice {
        id: unit.id.to_string(),
        name: ui.unit(&unit.id),
        selected,
    }
}

/// The district the ticket is placed in, if it is placed that precisely.
fn district_of<'a>(city: &'a City, ticket: &Ticket) -> Option<&'a minhu_core::region::Region> {
    let region = ticket.intake.region.as_ref()?;
    city.regions
        .ancestry(region)
        .find(|r| r.level == RegionLevel::District)
}

fn in_district(city: &City, district: Option<&minhu_core::region::Region>, unit: &Unit) -> bool {
    district.is_some_and(|d| city.regions.is_within(&unit.region, &d.id))
}

/// The units a ticket's holder may summon straight away: those of the ticket's district
/// (the departments that come when a street blows the whistle), itself left out; any
/// other unit is a search away.
fn summonable(city: &City, ticket: &Ticket, ui: &Chrome) -> Vec<UnitChoice> {
    let district = district_of(city, ticket);
    city.units
        .all()
        .iter()
        .filter(|u| ticket.unit.as_ref() != Some(&u.id) && in_district(city, district, u))
        .map(|u| choice(ui, u, false))
        .collect()
}

/// How many of routing's units a picker offers first.
const SUGGESTED: usize = 3;

/// The picker for sending the ticket to a unit other than `except` (its holder, or the
/// unit whose return waits for a decision).
fn unit_picker(
    state: &AppState,
    ticket: &Ticket,
    ui: &Chrome,
    except: Option<&UnitId>,
) -> UnitPicker {
    let engine = &state.engine;
    let city = engine.city_of(ticket);
    let decision = engine.router().decide(ticket, city);
    let suggested: Vec<Suggested> = decision
        .candidates(ticket, city, except, SUGGESTED)
        .iter()
        .filter_map(|c| Some((city.units.get(&c.assignment.unit)?, c)))
        .enumerate()
        .map(|(rank, (unit, candidate))| Suggested {
            unit: choice(ui, unit, rank == 0),
            reasons: offer_reasons(ui, candidate),
        })
        .collect();
    let district = district_of(city, ticket);
    let district_units = city
        .units
        .all()
        .iter()
        .filter(|u| in_district(city, district, u))
        .filter(|u| Some(&u.id) != except && !suggested.iter().any(|s| s.unit.id == u.id.as_str()))
        .map(|u| choice(ui, u, false))
        .collect();
    UnitPicker {
        suggested,
        district: district_units,
        district_name: district.map_or_else(String::new, |d| d.name.clone()),
    }
}

/// Every unit as the pickers' search offers it: its name and where it is, since some
/// names repeat (many villages have a 光明村).
fn all_units(city: &City, ui: &Chrome) -> Vec<(String, String)> {
    city.units
        .all()
        .iter()
        .map(|u| {
            let place = region_label(city, &u.region);
            let name = ui.unit(&u.id);
            let shown = if place == "—" {
                name
            } else {
                format!("{name} · {place}")
            };
            (u.id.to_string(), shown)
        })
        .collect()
}

async fn actions_for(
    state: &AppState,
    principal: &Principal,
    ticket: &Ticket,
    ui: &Chrome,
    article: Option<&str>,
) -> Result<Actions, ApiError> {
    let engine = &state.engine;
    // The ticket's own city: its units, categories and tiers.
    let city = engine.city_of(ticket);
    let status = ticket.status;
    let open = matches!(
        status,
        Status::Pending | Status::Dispatched | Status::Accepted
    );
    let held = matches!(status, Status::Dispatched | Status::Accepted);
    let mut actions = Actions::default();
    if open && principal.may(P::Classify) {
        actions.reclassify = true;
        actions.categories = city
            .taxonomy
            .paths()
            .map(|p| (p.to_string(), ui.category(p)))
            .collect();
        actions.tiers = city
            .tiers
            .iter()
            .map(|t| Choice {
                code: t.code.as_str().to_owned(),
                label: ui.tier(&t.code),
            })
            .collect();
    }
    if status == Status::Pending && principal.may(P::Dispatch) {
        // Never propose the unit whose return waits for a decision: that is the
        // refusal below, which counts as a dispute.
        actions.dispatch = Some(unit_picker(
            state,
            ticket,
            ui,
            ticket.returned_from.as_ref(),
        ));
        actions.arbitrate = ticket.returned_from.as_ref().map(|u| ui.unit(u));
    }
    actions.unmerge = status == Status::Merged && principal.may(P::Dispatch);
    actions.answer = status == Status::Pending && principal.may(P::Answer);
    if actions.answer && principal.may(P::ViewKnowledge) {
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
    if open && principal.may(P::Classify) {
        actions.duplicates = engine
            .duplicates(&ticket.number, &principal.reader())
            .await?;
        actions.merge = principal.may(P::Dispatch);
    }
    // Only the unit holding the ticket handles it; a summoned unit works on its part.
    let holder = principal.scope.holds(ticket);
    let handles = principal.may(P::Handle) && holder;
    actions.accept = handles && status == Status::Dispatched;
    actions.give_back = actions.accept;
    actions.resolve = handles && status == Status::Accepted;
    if actions.resolve {
        actions.summon = Some(summonable(city, ticket, ui));
    }
    actions.extend = handles && held && ticket.extension.is_none();
    if held
        && principal.may(P::Redispatch)
        && holder
        && let Some(current) = &ticket.unit
    {
        actions.redispatch = city
            .units
            .all()
            .iter()
            .filter(|u| &u.id != current && city.units.is_under(&u.id, current))
            .map(|u| choice(ui, u, false))
            .collect();
    }
    if held && principal.may(P::Dispatch) {
        actions.reassign = Some(unit_picker(state, ticket, ui, ticket.unit.as_ref()));
    }
    if actions.dispatch.is_some() || actions.reassign.is_some() || actions.summon.is_some() {
        actions.all_units = all_units(city, ui);
    }
    let supervises = principal.may(P::Supervise);
    actions.decide_extension = supervises && held && ticket.extension.is_some();
    actions.urge = open && supervises;
    actions.long_term = supervises && status == Status::Accepted;
    actions.lift = actions.long_term && ticket.long_term.is_some();
    actions.review_min = engine
        .today()
        .tomorrow()
        .map_or_else(|_| String::new(), |d| d.to_string());
    let callback = status == Status::Resolved && principal.may(P::Callback);
    if callback && ticket.rating.is_none() {
        actions.callback = Satisfaction::ALL
            .iter()
            .map(|s| Choice {
                code: s.code().to_owned(),
                label: ui.label(*s).to_owned(),
            })
            .collect();
    }
    // The workflow refuses to reopen what the citizen called solved and not unsatisfied.
    actions.reopen = callback
        && ticket
            .rating
            .is_none_or(|r| !r.solved || r.satisfaction == Satisfaction::Unsatisfied);
    actions.close_unhandled = status == Status::Pending && principal.may(P::Dispatch);
    // The holder and the summoned units add their own photos while the ticket is open.
    actions.attach = principal.may(P::Handle)
        && status != Status::Closed
        && (holder || principal.scope.parts_of(ticket).next().is_some());
    let in_a_grid = ticket
        .intake
        .region
        .as_ref()
        .and_then(|r| city.regions.get(r))
        .is_some_and(|r| matches!(r.level, RegionLevel::Grid | RegionLevel::Community));
    if handles && in_a_grid && status != Status::Merged {
        actions.assign_check = CheckKind::ALL
            .iter()
            .map(|k| Choice {
                code: k.code().to_owned(),
                label: ui.label(*k).to_owned(),
            })
            .collect();
    }
    // Closed once the citizen's verdict is on record (回访 first).
    actions.close =
        status == Status::Resolved && ticket.rating.is_some() && principal.may(P::Dispatch);
    Ok(actions)
}

/// The parts of a joint case, and which of them the reader may act on.
fn part_rows(principal: &Principal, ticket: &Ticket, ui: &Chrome) -> Vec<PartRow> {
    let mine: Vec<&UnitId> = principal.scope.parts_of(ticket).collect();
    let handles = principal.may(P::Handle) && ticket.status == Status::Accepted;
    ticket
        .parts
        .iter()
        .map(|part| {
            let acts = handles && mine.contains(&&part.unit);
            PartRow {
                unit_id: part.unit.to_string(),
                unit: ui.unit(&part.unit),
                state: ui.label(part.state).to_owned(),
                summoned: ui.time(part.summoned_at),
                report: part.report.clone().unwrap_or_default(),
                accept: acts && part.state == PartState::Summoned,
                report_due: acts && part.state == PartState::Accepted,
            }
        })
        .collect()
}

fn photos(ticket: &Ticket) -> Vec<Photo> {
    ticket
        .attachments
        .iter()
        .enumerate()
        .map(|(index, a)| Photo {
            url: format!("/api/v1/tickets/{}/attachments/{}", ticket.number, a.sha256),
            name: a
                .name
                .clone()
                .unwrap_or_else(|| format!("{} {}", a.media_type, index + 1)),
            image: a.media_type.starts_with("image/"),
        })
        .collect()
}

/// What an event says, in the reader's language: the people's words (reasons, replies,
/// reports) as they wrote them, everything else in labels and names.
/// The knowledge-base article the agent picked to answer with.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct TicketQuery {
    article: Option<String>,
}

async fn ticket_page(
    State(state): State<AppState>,
    lang: Lang,
    principal: Principal,
    Path(number): Path<String>,
    PageQuery(TicketQuery { article }): PageQuery<TicketQuery>,
) -> Result<Html<String>, ApiError> {
    let number = TicketNumber::parse(&number).map_err(|e| ApiError::not_found(e.to_string()))?;
    let engine = &state.engine;
    let reader = principal.reader();
    let ticket = engine.ticket_for(&reader, &number).await?;
    let city = engine.city_of(&ticket);
    // The ticket was just read and checked for this reader: only its log is left to read.
    let events = reader.events(engine.events(&number).await?, &city.privacy);
    let mut ui = Chrome::new(&state, lang, Some(&principal), "/tickets");
    ui.about(&state, &ticket);
    // The language switch comes back to this ticket; the header marks the list.
    ui.path = format!("/tickets/{number}");
    // The history names officials by their names.
    ui.know(&state).await?;
    let actions = actions_for(&state, &principal, &ticket, &ui, article.as_deref()).await?;
    let citizen_history = match crate::channels::identity::of_citizen(&ticket) {
        Some(start)
            if principal.may(P::ViewIdentity)
                && !minhu_core::access::is_confidential(&ticket.intake) =>
        {
            let mut earlier =
                crate::channels::phone::earlier(&state, &principal, lang, start, HISTORY + 1)
                    .await?;
            earlier.retain(|t| t.number != number.as_str());
            earlier.truncate(HISTORY as usize);
            earlier
        }
        _ => Vec::new(),
    };
    let deadline = |pick: fn(&minhu_core::deadline::Deadlines) -> jiff::Timestamp| {
        ticket
            .deadlines
            .as_ref()
            .map_or_else(|| "—".into(), |d| ui.time(pick(d)))
    };
    render(TicketPage {
        status: ui.label(ticket.status).to_owned(),
        channel: ui.label(ticket.intake.channel).to_owned(),
        kind: ui.label(ticket.intake.kind).to_owned(),
        unit: ticket
            .unit
            .as_ref()
            .map_or_else(|| "—".into(), |id| ui.unit(id)),
        place: ticket
            .intake
            .region
            .as_ref()
            .map_or_else(|| "—".into(), |r| ui.region(r)),
        category: ticket.intake.category.as_ref().map_or_else(
            || ui.t("未分类", "not classified").into(),
            |c| ui.category(c),
        ),
        tier: ui.tier(&ticket.intake.tier),
        created: ui.time(ticket.created_at),
        respond_by: deadline(|d| d.respond_by),
        resolve_by: deadline(|d| d.resolve_by),
        phone: ticket
            .intake
            .citizen
            .phone
            .as_deref()
            .map_or_else(|| ui.t("匿名", "anonymous").into(), str::to_owned),
        reveal: principal.may(P::RevealIdentity)
            && !principal.may(P::ViewIdentity)
            && !minhu_core::access::is_confidential(&ticket.intake),
        overdue: ticket.is_overdue(engine.now()),
        long_term: ticket
            .long_term
            .as_ref()
            .map(|l| (l.reason.clone(), ui.date(l.review_on))),
        review_due: ticket.alerts.review_due,
        extension: ticket
            .extension
            .as_ref()
            .map(|e| (ui.time(e.resolve_by), e.reason.clone())),
        parts: part_rows(&principal, &ticket, &ui),
        photos: photos(&ticket),
        events: events
            .iter()
            .map(|e| EventRow {
                at: ui.time(e.at),
                actor: ui.actor(&e.actor),
                kind: ui.label(e.change.kind()),
                detail: ui.event(e),
            })
            .collect(),
        actions,
        citizen_history,
        ticket,
        ui,
    })
}

/// How many of the citizen's other demands the ticket page lists.
const HISTORY: u32 = 5;
