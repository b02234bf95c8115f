//! The officials' ticket list, and what the pages share about tickets (times, units,
//! places, routing's reasons). One ticket's page is `ticket.rs`.

use crate::AppState;
use crate::middleware::auth::Principal;
use crate::middleware::auth::Rule::Permission as Needs;
use crate::middleware::error::ApiError;
use crate::middleware::extract::PageQuery;
use crate::pages::ui::{Chrome, Lang, region_label};
use crate::routes::Routes;
use askama::Template;
use axum::extract::State;
use axum::http::Method;
use axum::response::Html;
use minhu_core::City;
use minhu_core::access::Permission as P;
use minhu_core::access::Permission;
use minhu_core::ids::UnitId;
use minhu_core::ticket::{Status, Ticket};
use minhu_core::timer::Flag;
use minhu_engine::records::{Cursor, TicketFilter};
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

/// A unit's name, or its id when the configuration no longer has it.
pub(crate) fn unit_label(city: &City, id: &UnitId) -> String {
    city.units
        .get(id)
        .map_or_else(|| id.to_string(), |u| u.name.clone())
}

pub(crate) fn place_name(city: &City, ticket: &Ticket) -> String {
    ticket
        .intake
        .region
        .as_ref()
        .map_or_else(|| "—".into(), |region| region_label(city, region))
}

pub(crate) fn render(template: impl Template) -> Result<Html<String>, ApiError> {
    template.render().map(Html).map_err(ApiError::internal)
}

/// The list page's filters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    status: Option<String>,
    q: Option<String>,
    cursor: Option<String>,
}

async fn list_page(
    State(state): State<AppState>,
    lang: Lang,
    principal: Principal,
    PageQuery(params): PageQuery<ListQuery>,
) -> Result<Html<String>, ApiError> {
    let city = state.engine.city();
    let status = params.status.as_deref().and_then(Status::from_code);
    let query = params.q.unwrap_or_default();
    let filter = TicketFilter {
        status,
        text: (!query.is_empty()).then(|| query.clone()),
        identity: principal.may(Permission::ViewIdentity),
        cursor: params.cursor.as_deref().and_then(Cursor::decode),
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
    let ui = Chrome::new(&state, lang, Some(&principal), "/tickets");
    let tabs = Status::ALL
        .iter()
        .map(|&s| StatusTab {
            code: s.code(),
            label: ui.label(s),
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
            status: ui.label(t.status),
            status_code: t.status.code(),
            unit: t.unit.as_ref().map_or_else(|| "—".into(), |u| ui.unit(u)),
            place: place_name(city, t),
            created: ui.time(t.created_at),
            overdue: t.is_overdue(now),
        })
        .collect();
    render(ListPage {
        ui,
        tabs,
        total: counts.iter().map(|(_, n)| n).sum(),
        query,
        rows,
        next: page.next.map(|c| c.encode()),
        status: status.map(|s| s.code().to_owned()).unwrap_or_default(),
    })
}
