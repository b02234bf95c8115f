//! The administrators' pages: the city's configuration at a glance with a routing
//! preview (`/admin`), officials' accounts (`/admin/users`) and the configuration editor
//! (`/admin/config`).
//!
//! The editor checks an edit with the loader the server starts with
//! (`minhu_config::check_edit`) and previews routing under it before anything is
//! written; a save keeps the previous file under `.history/` and is audited. The running
//! server keeps the configuration it started with until it restarts, so a bad save can
//! never take the hotline down in the middle of the day. Accounts go through
//! `Engine::accounts`, the same rules `minhu admin` follows.

use crate::AppState;
use crate::api::audit::Client;
use crate::middleware::auth::Principal;
use crate::middleware::auth::Rule::Permission as Needs;
use crate::middleware::error::ApiError;
use crate::middleware::extract::FormBody;
use crate::pages::login::{check_password, hash_password, random_password};
use crate::pages::tickets::{render, unit_label};
use crate::pages::ui::Words;
use crate::pages::ui::{Chrome, Lang};
use crate::routes::Routes;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::Method;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use minhu_core::City;
use minhu_core::access::Permission as P;
use minhu_core::access::{Role, Scope};
use minhu_core::ids::{CityId, RegionId, UnitId};
use minhu_core::region::RegionLevel;
use minhu_core::workflow::FieldError;
use minhu_engine::accounts::{AccountChange, Admin};
use minhu_engine::{Engine, EngineError};
use serde::Deserialize;
use std::sync::Arc;

/// Accounts and the configuration: administrators only; every save is audited.
pub(crate) fn routes() -> Routes {
    let admin = Needs(P::ManageAccess);
    Routes::new()
        .page(Method::GET, "/admin", admin, overview)
        .page(Method::GET, "/admin/users", admin, users)
        .page(Method::POST, "/admin/users", admin, save_user)
        .page(
            Method::POST,
            "/admin/users/{login}/disabled",
            admin,
            set_disabled,
        )
        .page(Method::GET, "/admin/config", admin, config)
        .page(Method::POST, "/admin/config", admin, edit_config)
}

/// A sample demand to see which unit it would reach.
#[derive(Debug, Default, Deserialize)]
struct Sample {
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    address: String,
}

/// What routing would do with the sample demand.
struct Preview {
    place: String,
    category: String,
    unit: String,
    reasons: Vec<String>,
}

impl Sample {
    /// Routing's decision for the sample under `city`; nothing when no sample was given.
    fn preview(
        &self,
        engine: &Engine,
        city: &Arc<City>,
        lang: Lang,
    ) -> Option<Result<Preview, String>> {
        let (title, description) = (self.title.trim(), self.description.trim());
        if title.is_empty() && description.is_empty() {
            return None;
        }
        let intake =
            crate::pages::portal::draft_intake(city, title, description, self.address.trim());
        let words = Words::new(city.clone(), lang);
        let preview = engine
            .preview_in(city, intake)
            .map(|(ticket, decision)| Preview {
                // The city itself reads "全市" / "City-wide": a city-wide demand is placed.
                place: decision
                    .region
                    .as_ref()
                    .map(|p| &p.region)
                    .or(ticket.intake.region.as_ref())
                    .map_or_else(|| "—".into(), |r| words.region(r)),
                category: decision
                    .category
                    .as_ref()
                    .or(decision.suggestions.first())
                    .map_or_else(|| "—".into(), |c| c.category.to_string()),
                unit: decision.assignment.as_ref().map_or_else(
                    || {
                        lang.t("无：留给派单员", "none: left to the dispatchers")
                            .into()
                    },
                    |a| unit_label(city, &a.unit),
                ),
                reasons: words.routing_reasons(&decision),
            })
            .map_err(|e| e.to_string());
        Some(preview)
    }
}

/// A line of the configuration summary.
struct Fact {
    name: &'static str,
    value: String,
}

fn facts(city: &City, lang: Lang) -> Vec<Fact> {
    let level = |level: RegionLevel| {
        city.regions
            .all()
            .iter()
            .filter(|r| r.level == level)
            .count()
            .to_string()
    };
    vec![
        Fact {
            name: lang.t("城市", "City"),
            value: lang.t(&city.name, &city.name_en).to_owned(),
        },
        Fact {
            name: lang.t("区", "Districts"),
            value: level(RegionLevel::District),
        },
        Fact {
            name: lang.t("街道", "Streets"),
            value: level(RegionLevel::Street),
        },
        Fact {
            name: lang.t("社区", "Communities"),
            value: level(RegionLevel::Community),
        },
        Fact {
            name: lang.t("承办单位", "Units"),
            value: city.units.all().len().to_string(),
        },
        Fact {
            name: lang.t("分类（含各级）", "Categories (all levels)"),
            value: city.taxonomy.len().to_string(),
        },
        Fact {
            name: lang.t("派单规则", "Duty rules"),
            value: city.duties.rules().len().to_string(),
        },
        Fact {
            name: lang.t("重办上限", "Reopen limit"),
            value: city.workflow.reopen_limit.to_string(),
        },
    ]
}

#[derive(Template)]
#[template(path = "admin.html")]
struct OverviewPage {
    ui: Chrome,
    facts: Vec<Fact>,
    tiers: Vec<[String; 3]>,
    sample: Sample,
    preview: Option<Result<Preview, String>>,
}

async fn overview(
    State(state): State<AppState>,
    lang: Lang,
    principal: Principal,
    Query(sample): Query<Sample>,
) -> Result<Html<String>, ApiError> {
    let engine = &state.engine;
    // A city's administrator sees their city's configuration.
    let city = engine.city_in(&principal.scope);
    let words = Words::new(city.clone(), lang);
    let tiers = city
        .tiers
        .iter()
        .map(|t| {
            [
                words.tier(&t.code),
                words.allowance(&t.respond_within),
                words.allowance(&t.resolve_within),
            ]
        })
        .collect();
    render(OverviewPage {
        ui: Chrome::new(&state, lang, Some(&principal), "/admin"),
        facts: facts(city, lang),
        tiers,
        preview: sample.preview(engine, city, lang),
        sample,
    })
}

/// (id, name) of each city served where several are, for a filter; none for one city.
pub(crate) fn city_choices(state: &AppState, lang: Lang) -> Vec<(String, String)> {
    let province = state.engine.province();
    if !province.has_several_cities() {
        return Vec::new();
    }
    province
        .cities()
        .iter()
        .map(|c| {
            (
                c.id.to_string(),
                lang.t(&c.city.name, &c.city.name_en).to_owned(),
            )
        })
        .collect()
}

/// An account as the list shows it.
struct AccountRow {
    /// The city the account works in; empty for one over the whole province.
    city: String,
    login: String,
    name: String,
    role: String,
    scope: String,
    state: String,
    disabled: bool,
}

/// The account form's fields, as typed.
#[derive(Debug, Default, Deserialize)]
struct AccountForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    region: String,
    /// Empty: keep an account's password, or make one for a new account.
    #[serde(default)]
    password: String,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    ui: Chrome,
    accounts: Vec<AccountRow>,
    form: AccountForm,
    /// (code, label) of every role.
    roles: Vec<(&'static str, &'static str)>,
    /// (id, name) of every unit, and of every district and street, for the pickers.
    units: Vec<(String, String)>,
    regions: Vec<(String, String)>,
    /// What the last save did, or the password made for a new account (shown once).
    notice: String,
    error: String,
    /// (id, name) of each city the administrator manages, when a province's are: the
    /// list's filter and column; empty for one city.
    cities: Vec<(String, String)>,
    /// The city the list is narrowed to (`?city=`); empty: every city.
    city: String,
}

#[derive(Debug, Default, Deserialize)]
struct EditQuery {
    #[serde(default)]
    edit: String,
    /// Only the accounts of this city (a province's administrator).
    #[serde(default)]
    city: String,
}

async fn users_page(
    state: &AppState,
    lang: Lang,
    principal: &Principal,
    form: AccountForm,
    notice: String,
    error: String,
    only: &str,
) -> Result<Html<String>, ApiError> {
    let engine = &state.engine;
    let province = engine.province();
    let cities = if matches!(principal.scope, Scope::All) {
        city_choices(state, lang)
    } else {
        Vec::new()
    };
    let only = cities
        .iter()
        .find(|(id, _)| id == only)
        .map(|(id, _)| CityId::new(id));
    // The pickers offer the chosen city's units and regions, else the administrator's.
    let city = only
        .as_ref()
        .and_then(|id| province.city(id))
        .map_or_else(|| engine.city_in(&principal.scope), |c| &c.city);
    let words = Words::new(city.clone(), lang).within(province.clone());
    let now = engine.now();
    let accounts = engine
        .accounts()
        .users_in(&principal.scope)
        .await
        .map_err(ApiError::internal)?
        .into_iter()
        .filter_map(|user| {
            let unit = user.unit.clone().map(UnitId::new);
            let region = user.region.clone().map(RegionId::new);
            let home = engine.city_of_account(unit.as_ref(), region.as_ref());
            if only.is_some() && home != only {
                return None;
            }
            let city = home
                .and_then(|id| province.city(&id))
                .map_or_else(String::new, |c| {
                    lang.t(&c.city.name, &c.city.name_en).to_owned()
                });
            Some((user, city))
        })
        .map(|(user, home)| {
            let state = match user.locked_until {
                _ if user.disabled => lang.t("已停用", "disabled").to_owned(),
                Some(until) if until > now => format!(
                    "{} {}",
                    lang.t("锁定至", "locked until"),
                    crate::pages::ui::local_time(city, until)
                ),
                _ => lang.t("正常", "active").to_owned(),
            };
            AccountRow {
                city: home,
                scope: words.scope(
                    user.unit.map(UnitId::new).as_ref(),
                    user.region.map(RegionId::new).as_ref(),
                ),
                login: user.login,
                name: user.display_name,
                role: Role::from_code(&user.role).map_or(user.role, |r| lang.label(r).to_owned()),
                state,
                disabled: user.disabled,
            }
        })
        .collect();
    let units = city
        .units
        .all()
        .iter()
        .map(|u| (u.id.to_string(), words.unit(&u.id)))
        .collect();
    // In a province, a city's root region is the whole of that city.
    let roots = province.has_several_cities();
    let regions = city
        .regions
        .all()
        .iter()
        .filter(|r| match r.level {
            RegionLevel::District | RegionLevel::Street => true,
            RegionLevel::City => roots,
            _ => false,
        })
        .map(|r| (r.id.to_string(), r.name.clone()))
        .collect();
    render(UsersPage {
        ui: Chrome::new(state, lang, Some(principal), "/admin"),
        accounts,
        form,
        roles: Role::ALL
            .iter()
            .map(|&r| (r.code(), lang.label(r)))
            .collect(),
        units,
        regions,
        notice,
        error,
        cities,
        city: only.map_or_else(String::new, |id| id.to_string()),
    })
}

async fn users(
    State(state): State<AppState>,
    lang: Lang,
    principal: Principal,
    Query(query): Query<EditQuery>,
) -> Result<Html<String>, ApiError> {
    let editing = match query.edit.as_str() {
        "" => None,
        login => state
            .engine
            .accounts()
            .user_in(&principal.scope, login)
            .await
            .map_err(ApiError::internal)?,
    };
    let form = match editing {
        Some(user) => AccountForm {
            login: user.login,
            name: user.display_name,
            role: user.role,
            unit: user.unit.unwrap_or_default(),
            region: user.region.unwrap_or_default(),
            password: String::new(),
        },
        None => AccountForm::default(),
    };
    let (notice, error) = (String::new(), String::new());
    users_page(&state, lang, &principal, form, notice, error, &query.city).await
}

fn admin_of(principal: &Principal, client: Client) -> Admin {
    Admin {
        actor: principal.actor.to_string(),
        client: client.0,
    }
}

async fn save_user(
    State(state): State<AppState>,
    lang: Lang,
    principal: Principal,
    client: Client,
    FormBody(mut form): FormBody<AccountForm>,
) -> Result<Response, ApiError> {
    let typed = std::mem::take(&mut form.password);
    let exists = state
        .engine
        .accounts()
        .user(form.login.trim())
        .await
        .map_err(ApiError::internal)?
        .is_some();
    let password = match (typed.is_empty(), exists) {
        (false, _) => check_password(&typed).map(|()| Some(typed)),
        (true, false) => Ok(Some(random_password())),
        (true, true) => Ok(None),
    };
    let saved = match password {
        Err(problem) => Err(EngineError::Invalid(problem)),
        Ok(password) => {
            let password_hash = match &password {
                Some(p) => Some(hash_password(p.clone()).await.map_err(ApiError::internal)?),
                None => None,
            };
            let change = AccountChange {
                login: form.login.trim().to_owned(),
                display_name: Some(form.name.clone()),
                role: form.role.clone(),
                unit: Some(form.unit.trim().to_owned()),
                region: Some(form.region.trim().to_owned()),
                password_hash,
            };
            state
                .engine
                .accounts()
                .save_in(&principal.scope, change, &admin_of(&principal, client))
                .await
                .map(|user| (user, password))
        }
    };
    match saved {
        Ok((user, password)) => {
            let mut notice = format!("{} {}", lang.t("已保存", "Saved"), user.login);
            if let Some(password) = password.filter(|_| !exists) {
                notice.push_str(&format!(
                    "; {} {password}",
                    lang.t(
                        "初始密码（只显示这一次，请转交本人）：",
                        "first password (shown only this once; hand it over):"
                    )
                ));
            }
            let page = users_page(
                &state,
                lang,
                &principal,
                AccountForm::default(),
                notice,
                String::new(),
                "",
            );
            Ok(page.await?.into_response())
        }
        Err(EngineError::Invalid(problem)) => {
            let page = users_page(
                &state,
                lang,
                &principal,
                form,
                String::new(),
                problem.to_string(),
                "",
            );
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page.await?).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

/// `disabled=true` disables an account, `disabled=false` enables it again.
#[derive(Debug, Deserialize)]
struct AccountAccess {
    disabled: bool,
}

async fn set_disabled(
    State(state): State<AppState>,
    principal: Principal,
    client: Client,
    Path(login): Path<String>,
    FormBody(access): FormBody<AccountAccess>,
) -> Result<Response, ApiError> {
    state
        .engine
        .accounts()
        .set_disabled_in(
            &principal.scope,
            &login,
            access.disabled,
            &admin_of(&principal, client),
        )
        .await?;
    Ok(Redirect::to("/admin/users").into_response())
}

#[derive(Template)]
#[template(path = "admin_config.html")]
struct ConfigPage {
    ui: Chrome,
    files: &'static [&'static str],
    file: String,
    text: String,
    /// False when the server was started without a configuration directory it may
    /// write (tests); the page then only explains.
    editable: bool,
    sample: Sample,
    preview: Option<Result<Preview, String>>,
    notice: String,
    error: String,
}

#[derive(Debug, Default, Deserialize)]
struct FileQuery {
    #[serde(default)]
    file: String,
}

/// The editable file a request names, or the first one.
fn chosen(file: &str) -> Result<&'static str, ApiError> {
    if file.is_empty() {
        return Ok(minhu_config::EDITABLE_FILES[0]);
    }
    minhu_config::EDITABLE_FILES
        .iter()
        .copied()
        .find(|f| *f == file)
        .ok_or_else(|| {
            ApiError::invalid(FieldError::new(
                "file",
                format!(
                    "{file:?} is not an editable file; use one of {}",
                    minhu_config::EDITABLE_FILES.join(", ")
                ),
            ))
        })
}

/// The configuration directory an administrator edits: their city's where a city of a
/// province is theirs, else (the province's, a lone city's) the home city's.
fn config_dir_of(state: &AppState, principal: &Principal) -> Option<std::path::PathBuf> {
    let home = state.config_dir.clone()?;
    let engine = &state.engine;
    let city = engine.city_in(&principal.scope).id();
    if matches!(principal.scope, Scope::All) || city == engine.province().home().id {
        return Some(home);
    }
    minhu_config::sibling_dir(&home, &city)
}

async fn config(
    State(state): State<AppState>,
    lang: Lang,
    principal: Principal,
    Query(query): Query<FileQuery>,
) -> Result<Html<String>, ApiError> {
    let file = chosen(&query.file)?;
    let dir = config_dir_of(&state, &principal);
    let text = match &dir {
        // A file the city does not have (places.csv) opens empty; one a city of a
        // province takes from the province opens as the province's.
        Some(dir) => minhu_config::editable_text(dir, file).map_err(ApiError::internal)?,
        None => String::new(),
    };
    render(ConfigPage {
        ui: Chrome::new(&state, lang, Some(&principal), "/admin"),
        files: minhu_config::EDITABLE_FILES,
        file: file.to_owned(),
        text,
        editable: dir.is_some(),
        sample: Sample::default(),
        preview: None,
        notice: String::new(),
        error: String::new(),
    })
}

#[derive(Debug, Deserialize)]
struct ConfigForm {
    file: String,
    text: String,
    /// `check` or `save`.
    action: String,
    #[serde(flatten)]
    sample: Sample,
}

async fn edit_config(
    State(state): State<AppState>,
    lang: Lang,
    principal: Principal,
    client: Client,
    FormBody(form): FormBody<ConfigForm>,
) -> Result<Response, ApiError> {
    let file = chosen(&form.file)?;
    let save = match form.action.as_str() {
        "check" => false,
        "save" => true,
        other => {
            return Err(ApiError::invalid(FieldError::new(
                "action",
                format!("{other:?}: use check or save"),
            )));
        }
    };
    let Some(dir) = config_dir_of(&state, &principal) else {
        return Err(ApiError::invalid(FieldError::new(
            "file",
            "this server was started without a configuration directory to edit",
        )));
    };
    // Browsers send textarea lines with CRLF; the files are kept with LF.
    let text = form.text.replace("\r\n", "\n");
    let checked = minhu_config::check_edit(&dir, file, &text).map(Arc::new);
    let (status, notice, error, preview) = match &checked {
        // The file's name is enough for an administrator; the server's paths are not theirs.
        Err(e) => {
            let inside = format!("{}/", dir.display());
            let problem = e.to_string().replace(&inside, "");
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                String::new(),
                problem,
                None,
            )
        }
        Ok(city) => {
            let summary = format!(
                "{} {} {}, {} {}, {} {}",
                lang.t("检查通过：", "Valid:"),
                city.units.all().len(),
                lang.t("个承办单位", "units"),
                city.taxonomy.len(),
                lang.t("个分类", "categories"),
                city.duties.rules().len(),
                lang.t("条派单规则", "duty rules"),
            );
            let notice = if save {
                let kept = write_config(&dir, file, &text, state.engine.now())
                    .map_err(ApiError::internal)?;
                let detail = format!("{} lines; previous kept as {kept}", text.lines().count());
                crate::api::audit::record(
                    &state,
                    principal.actor.to_string(),
                    "config.saved",
                    Some(file.to_owned()),
                    &detail,
                    client.0,
                )
                .await?;
                format!(
                    "{summary}. {} {kept}. {}",
                    lang.t("已保存；原文件存为", "Saved; the previous file is kept as"),
                    lang.t(
                        "重启 minhu 后生效，正在运行的服务仍用启动时的配置。",
                        "It takes effect when minhu restarts; the running server keeps the configuration it started with."
                    )
                )
            } else {
                summary
            };
            let preview = form.sample.preview(&state.engine, city, lang);
            (StatusCode::OK, notice, String::new(), preview)
        }
    };
    let page = render(ConfigPage {
        ui: Chrome::new(&state, lang, Some(&principal), "/admin"),
        files: minhu_config::EDITABLE_FILES,
        file: file.to_owned(),
        text,
        editable: true,
        sample: form.sample,
        preview,
        notice,
        error,
    })?;
    Ok((status, page).into_response())
}

/// Replaces `file` in `dir` with `text`: the old file is copied to
/// `.history/<file>.<time>` first, and the new text is written beside the file and
/// renamed over it, so a crash leaves either the old file or the new, never half.
/// Returns the history copy's path, relative to `dir` (a city of a province that read
/// the province's file till now keeps that file's copy: the province's stays as it is).
fn write_config(
    dir: &std::path::Path,
    file: &str,
    text: &str,
    now: jiff::Timestamp,
) -> std::io::Result<String> {
    let history = dir.join(".history");
    std::fs::create_dir_all(&history)?;
    let kept = format!(".history/{file}.{}", now.strftime("%Y%m%dT%H%M%S%.fZ"));
    let before = minhu_config::editable_text(dir, file)?;
    std::fs::write(dir.join(&kept), before)?;
    let fresh = dir.join(format!(".{file}.saving"));
    std::fs::write(&fresh, text)?;
    std::fs::rename(&fresh, dir.join(file))?;
    Ok(kept)
}
