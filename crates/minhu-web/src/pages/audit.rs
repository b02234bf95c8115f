//! The auditors' page (`/audit`): the audit log searched by who, what, which target and
//! when, read in words, with the same entries as CSV. Reading it is itself audited, as
//! through the API.

use crate::AppState;
use crate::api::audit::{AuditQuery, Client, record};
use crate::middleware::auth::Principal;
use crate::middleware::auth::Rule::Permission as Needs;
use crate::middleware::error::ApiError;
use crate::middleware::extract::PageQuery;
use crate::pages::tickets::render;
use crate::pages::ui::{Chrome, Lang, query_without};
use crate::routes::Routes;
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::Method;
use axum::response::Html;
use jiff::Timestamp;
use jiff::civil::Date;
use minhu_core::access::Permission as P;
use minhu_core::event::Who;
use minhu_core::workflow::FieldError;
use serde::Deserialize;
use utoipa::IntoParams;

pub(crate) fn routes() -> Routes {
    Routes::new().page(Method::GET, "/audit", Needs(P::ViewAudit), audit_page)
}

/// Entries a page shows; the CSV holds up to the API's limit.
const PAGE: u32 = 100;

/// The page's filters, as its form sends them: days, not moments.
#[derive(Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AuditPageQuery {
    actor: Option<String>,
    action: Option<String>,
    target: Option<String>,
    /// The first day, on the city's calendar.
    #[param(value_type = Option<String>)]
    from: Option<Date>,
    /// The last day, included.
    #[param(value_type = Option<String>)]
    to: Option<Date>,
    /// The last entry of the previous page.
    after: Option<i64>,
    /// A city of the province (the province's auditors).
    city: Option<String>,
}

struct AuditRow {
    seq: i64,
    at: String,
    who: String,
    action: String,
    target: String,
    detail: String,
    client: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    ui: Chrome,
    actor: String,
    action: String,
    target: String,
    from: String,
    to: String,
    actions: Vec<(&'static str, &'static str)>,
    rows: Vec<AuditRow>,
    /// The query string of the next page, when there is one.
    next: Option<String>,
    /// The query string of the API's CSV of the same entries.
    csv: String,
    /// (id, name) of the province's cities for the province's auditors; empty else.
    cities: Vec<(String, String)>,
    city: String,
}

/// The actions the log records, each with what it means in both languages.
const ACTIONS: &[(&str, &str, &str)] = &[
    ("ticket.create", "受理诉求", "Demand taken in"),
    ("ticket.answer", "直接答复", "Answered at intake"),
    ("identity.view", "查看诉求人信息", "Citizen's identity seen"),
    (
        "identity.reveal",
        "申请查看诉求人信息",
        "Citizen's identity revealed",
    ),
    (
        "reveal.refused",
        "查看诉求人信息被拒",
        "Identity reveal refused",
    ),
    (
        "search.phone",
        "按电话查询工单",
        "Tickets searched by phone",
    ),
    ("audit.read", "查阅审计日志", "Audit log read"),
    ("audit.export", "导出审计日志", "Audit log exported"),
    ("tickets.export", "导出工单列表", "Ticket list exported"),
    ("login", "登录", "Signed in"),
    ("logout", "退出登录", "Signed out"),
    ("login_failed", "登录失败", "Sign-in failed"),
    ("login_delayed", "登录过于频繁被延迟", "Sign-in slowed down"),
    ("login_refused", "登录被拒", "Sign-in refused"),
    ("account_locked", "账号锁定", "Account locked"),
    (
        "follow.login",
        "市民凭验证码查看工单",
        "Citizen followed a ticket",
    ),
    (
        "follow.code_wrong",
        "市民验证码错误",
        "Citizen's code wrong",
    ),
    ("user.saved", "保存用户", "User saved"),
    ("user.enabled", "启用用户", "User enabled"),
    ("user.disabled", "停用用户", "User disabled"),
    ("token.saved", "签发接口令牌", "API token issued"),
    ("token.revoked", "吊销接口令牌", "API token revoked"),
    ("config.saved", "保存城市配置", "City configuration saved"),
    ("citizen.export", "导出市民数据", "Citizen's data exported"),
    ("citizen.erase", "删除市民数据", "Citizen's data erased"),
    ("retention.erase", "按保存期限删除", "Erased for retention"),
];

/// What an action code means, in the reader's language; a code this list does not know
/// is shown as it is.
fn action_words(lang: Lang, code: &str) -> String {
    if let Some((_, zh, en)) = ACTIONS.iter().find(|(c, _, _)| *c == code) {
        return lang.t(zh, en).to_owned();
    }
    // An API client's call is logged as its method and path.
    if code.contains(' ') {
        return format!("{}{code}", lang.t("接口调用：", "API call: "));
    }
    code.to_owned()
}

async fn audit_page(
    State(state): State<AppState>,
    lang: Lang,
    principal: Principal,
    Client(client): Client,
    RawQuery(raw): RawQuery,
    PageQuery(query): PageQuery<AuditPageQuery>,
) -> Result<Html<String>, ApiError> {
    let city = state.engine.city();
    let start = |day: Date| -> Result<Timestamp, ApiError> {
        day.to_zoned(city.timezone.clone())
            .map(|z| z.timestamp())
            .map_err(ApiError::internal)
    };
    if let (Some(from), Some(to)) = (query.from, query.to)
        && to < from
    {
        return Err(FieldError::new("to", format!("{to} is before the first day {from}")).into());
    }
    let until = query
        .to
        .map(|day| day.tomorrow().map_err(ApiError::internal).and_then(start))
        .transpose()?;
    let wanted = AuditQuery {
        actor: query.actor.clone(),
        action: query.action.clone(),
        target: query.target.clone(),
        from: query.from.map(start).transpose()?,
        to: until,
        after: query.after,
        limit: Some(PAGE),
        format: None,
        city: query.city.clone(),
    };
    let entries = state
        .engine
        .audit()
        .log_for(&principal.scope, query.city.as_deref(), &wanted.filter()?)
        .await?;
    record(
        &state,
        principal.actor.to_string(),
        "audit.read",
        None,
        &format!("{} entries", entries.len()),
        client,
    )
    .await?;
    let mut ui = Chrome::new(&state, lang, Some(&principal), "/audit");
    ui.know(&state).await?;
    let next = (entries.len() == PAGE as usize)
        .then(|| entries.last().map(|e| e.seq))
        .flatten()
        .map(|seq| match query_without(raw.as_deref(), &["after"]) {
            kept if kept.is_empty() => format!("after={seq}"),
            kept => format!("{kept}&after={seq}"),
        });
    let moment = |at: Option<Timestamp>| at.map(|t| t.to_string());
    let csv = serde_urlencoded::to_string(given([
        ("format", Some("csv".to_owned())),
        ("actor", query.actor.clone()),
        ("action", query.action.clone()),
        ("target", query.target.clone()),
        ("from", moment(wanted.from)),
        ("to", moment(wanted.to)),
        ("limit", Some("10000".to_owned())),
        ("city", query.city.clone()),
    ]))
    .map_err(ApiError::internal)?;
    let rows = entries
        .iter()
        .map(|e| AuditRow {
            seq: e.seq,
            at: ui.time(e.at),
            who: ui.who(Who::of(&e.actor)),
            action: action_words(lang, &e.action),
            target: e.target.clone().unwrap_or_default(),
            detail: ui.audit_detail(&e.detail),
            client: e.client.clone().unwrap_or_default(),
        })
        .collect();
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let day = |value: Option<Date>| value.map(|d| d.to_string()).unwrap_or_default();
    render(AuditPage {
        actor: text(&query.actor),
        action: text(&query.action),
        target: text(&query.target),
        from: day(query.from),
        to: day(query.to),
        actions: ACTIONS
            .iter()
            .map(|(code, zh, en)| (*code, lang.t(zh, en)))
            .collect(),
        rows,
        next,
        csv,
        cities: if matches!(principal.scope, minhu_core::access::Scope::All) {
            crate::pages::admin::city_choices(&state, lang)
        } else {
            Vec::new()
        },
        city: text(&query.city),
        ui,
    })
}

/// The parameters that have a value, for a query string.
fn given<const N: usize>(
    pairs: [(&'static str, Option<String>); N],
) -> Vec<(&'static str, String)> {
    pairs
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v)))
        .collect()
}
