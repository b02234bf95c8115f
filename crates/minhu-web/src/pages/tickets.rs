//! The officials' ticket list, and what the pages share about tickets (times, units,
//! places, routing's reasons). One ticket's page is `ticket.rs`.

use crate::AppState;
use crate::api::analytics::{Format, Table};
use crate::api::audit::{Client, record};
use crate::api::tickets::{TicketQuery, filter_from};
use crate::middleware::auth::Principal;
use crate::middleware::auth::Rule::Permission as Needs;
use crate::middleware::error::ApiError;
use crate::middleware::extract::{Both, PageQuery};
use crate::pages::ui::{Chrome, Lang, query_without};
use crate::routes::Routes;
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::Method;
use axum::response::{Html, IntoResponse, Response};
use minhu_core::City;
use minhu_core::access::Permission as P;
use minhu_core::access::Permission;
use minhu_core::ids::UnitId;
use minhu_core::ticket::{Channel, Kind, Status};
use minhu_core::timer::Flag;
use minhu_engine::records::TicketFilter;
use serde::Deserialize;
use utoipa::IntoParams;

pub(crate) fn routes() -> Routes {
    Routes::new().page(Method::GET, "/tickets", Needs(P::ViewTickets), list_page)
}

/// A ticket as a row of the list.
struct Row {
    number: String,
    title: String,
    status: &'static str,
    status_code: &'static str,
    category: String,
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

/// The filter form as the reader filled it, and its choices.
struct ListForm {
    q: String,
    from: String,
    to: String,
    unit: String,
    region: String,
    category: String,
    long_term: bool,
    tiers: Vec<Pick>,
    channels: Vec<Pick>,
    kinds: Vec<Pick>,
    flags: Vec<Pick>,
    /// (id, name) for the searchable pickers.
    units: Vec<(String, String)>,
    regions: Vec<(String, String)>,
    categories: Vec<String>,
}

#[derive(Template)]
#[template(path = "list.html")]
struct ListPage {
    ui: Chrome,
    tabs: Vec<StatusTab>,
    total: u64,
    rows: Vec<Row>,
    next: Option<String>,
    status: String,
    /// The filters' query string, for the next page and the export.
    kept: String,
    form: ListForm,
}

/// A unit's name, or its id when the configuration no longer has it.
pub(crate) fn unit_label(city: &City, id: &UnitId) -> String {
    city.units
        .get(id)
        .map_or_else(|| id.to_string(), |u| u.name.clone())
}

pub(crate) fn render(template: impl Template) -> Result<Html<String>, ApiError> {
    template.render().map(Html).map_err(ApiError::internal)
}

/// How the filtered list is sent besides the page: a file to download.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct Export {
    /// csv or xlsx.
    #[param(value_type = Option<String>)]
    format: Option<ExportFormat>,
}

#[derive(Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ExportFormat {
    Csv,
    Xlsx,
}

/// The most tickets one export holds; narrow the filters for more.
const EXPORT_MAX: usize = 10_000;

/// One choice of a filter's select: its value, its words, whether it is chosen.
struct Pick {
    value: String,
    label: String,
    chosen: bool,
}

fn picks<T: Copy + PartialEq>(
    all: &[T],
    chosen: Option<T>,
    value: impl Fn(T) -> String,
    label: impl Fn(T) -> String,
) -> Vec<Pick> {
    all.iter()
        .map(|&item| Pick {
            value: value(item),
            label: label(item),
            chosen: chosen == Some(item),
        })
        .collect()
}

async fn list_page(
    State(state): State<AppState>,
    lang: Lang,
    principal: Principal,
    Client(client): Client,
    RawQuery(raw): RawQuery,
    PageQuery(Both(params, export)): PageQuery<Both<TicketQuery, Export>>,
) -> Result<Response, ApiError> {
    let city = state.engine.city_in(&principal.scope);
    let given = params.clone();
    if given.phone.is_some() {
        // Looking tickets up by phone would unmask numbers one guess at a time.
        principal.require(Permission::ViewIdentity)?;
    }
    let mut filter = filter_from(params, &state)?;
    filter.identity = principal.may(Permission::ViewIdentity);
    filter.limit = 50;
    let reader = principal.reader();
    let mut ui = Chrome::new(&state, lang, Some(&principal), "/tickets");
    if let Some(format) = export.format {
        return export_list(&state, &ui, &principal, client, filter, format).await;
    }
    let counts = state
        .engine
        .analytics()
        .counts(&principal.scope)
        .await
        .map_err(ApiError::internal)?;
    let page = state.engine.list_for(&reader, &filter).await?;
    let now = state.engine.now();
    // The filters as the address holds them, without the page or the format: the
    // next page and the export carry them on.
    let kept = query_without(raw.as_deref(), &["cursor", "format"]);
    let tabs = Status::ALL
        .iter()
        .map(|&s| StatusTab {
            code: s.code(),
            label: lang.label(s),
            count: counts.iter().find(|(c, _)| *c == s).map_or(0, |(_, n)| *n),
            current: filter.status == Some(s),
        })
        .collect();
    ui.know(&state).await?;
    let rows = page
        .tickets
        .iter()
        .map(|t| Row {
            number: t.number.to_string(),
            title: t.intake.title.clone(),
            status: lang.label(t.status),
            status_code: t.status.code(),
            category: t
                .intake
                .category
                .as_ref()
                .map_or_else(|| "—".into(), |c| ui.category(c)),
            unit: t.unit.as_ref().map_or_else(|| "—".into(), |u| ui.unit(u)),
            place: t
                .intake
                .region
                .as_ref()
                .map_or_else(|| "—".into(), |r| ui.region(r)),
            created: ui.time(t.created_at),
            overdue: t.is_overdue(now),
        })
        .collect();
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let form = ListForm {
        q: text(&given.q),
        from: text(&given.from),
        to: text(&given.to),
        unit: text(&given.unit),
        region: text(&given.region),
        category: text(&given.category),
        long_term: given.long_term == Some(true),
        tiers: city
            .tiers
            .iter()
            .map(|t| Pick {
                value: t.code.as_str().to_owned(),
                label: ui.tier(&t.code),
                chosen: given.tier.as_deref() == Some(t.code.as_str()),
            })
            .collect(),
        channels: picks(
            Channel::ALL,
            given.channel,
            |c| c.code().into(),
            |c| lang.label(c).into(),
        ),
        kinds: picks(
            Kind::ALL,
            given.kind,
            |k| k.code().into(),
            |k| lang.label(k).into(),
        ),
        flags: picks(
            Flag::ALL,
            filter.flag,
            |f| f.code().into(),
            |f| lang.label(f).into(),
        ),
        units: city
            .units
            .all()
            .iter()
            .map(|u| (u.id.to_string(), ui.unit(&u.id)))
            .collect(),
        regions: city
            .regions
            .all()
            .iter()
            .map(|r| (r.id.to_string(), ui.region(&r.id)))
            .collect(),
        categories: city.taxonomy.paths().map(|c| c.to_string()).collect(),
    };
    Ok(render(ListPage {
        ui,
        tabs,
        total: counts.iter().map(|(_, n)| n).sum(),
        rows,
        next: page.next.map(|c| c.encode()),
        status: filter
            .status
            .map(|s| s.code().to_owned())
            .unwrap_or_default(),
        kept,
        form,
    })?
    .into_response())
}

/// The filtered list as a file, as this reader sees it (masked where they see masks),
/// up to [`EXPORT_MAX`] tickets; the export is audited with its filters.
async fn export_list(
    state: &AppState,
    ui: &Chrome,
    principal: &Principal,
    client: Option<String>,
    mut filter: TicketFilter,
    format: ExportFormat,
) -> Result<Response, ApiError> {
    let lang = ui.lang;
    let reader = principal.reader();
    let now = state.engine.now();
    filter.limit = 500;
    let mut tickets = Vec::new();
    loop {
        let page = state.engine.list_for(&reader, &filter).await?;
        tickets.extend(page.tickets);
        match page.next {
            Some(next) if tickets.len() < EXPORT_MAX => filter.cursor = Some(next),
            _ => break,
        }
    }
    tickets.truncate(EXPORT_MAX);
    let header = [
        ("工单号", "Number"),
        ("标题", "Title"),
        ("状态", "Status"),
        ("类型", "Kind"),
        ("渠道", "Channel"),
        ("分类", "Category"),
        ("属地", "Place"),
        ("承办单位", "Unit"),
        ("时限", "Handling time"),
        ("受理时间", "Received"),
        ("办结期限", "Resolve by"),
        ("超期", "Overdue"),
        ("诉求人电话", "Citizen's phone"),
    ]
    .iter()
    .map(|(zh, en)| lang.t(zh, en).to_owned())
    .collect();
    let dash = || "—".to_owned();
    let rows = tickets
        .iter()
        .map(|t| {
            vec![
                t.number.to_string(),
                t.intake.title.clone(),
                lang.label(t.status).to_owned(),
                lang.label(t.intake.kind).to_owned(),
                lang.label(t.intake.channel).to_owned(),
                t.intake
                    .category
                    .as_ref()
                    .map_or_else(dash, |c| ui.category(c)),
                t.intake.region.as_ref().map_or_else(dash, |r| ui.region(r)),
                t.unit.as_ref().map_or_else(dash, |u| ui.unit(u)),
                ui.tier(&t.intake.tier),
                ui.time(t.created_at),
                t.deadlines.map_or_else(dash, |d| ui.time(d.resolve_by)),
                ui.yes_no(t.is_overdue(now)).to_owned(),
                t.intake.citizen.phone.clone().unwrap_or_default(),
            ]
        })
        .collect();
    record(
        state,
        principal.actor.to_string(),
        "tickets.export",
        None,
        &format!("{} tickets", tickets.len()),
        client,
    )
    .await?;
    let table = Table::with_text_columns(header, rows, &[0, 12]);
    let format = match format {
        ExportFormat::Csv => Format::Csv,
        ExportFormat::Xlsx => Format::Xlsx,
    };
    table.send("tickets", format)
}
