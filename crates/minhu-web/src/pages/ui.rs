//! What every page shares: the reader's language, the header with the links their role
//! may follow, and the static files (styles, scripts, ECharts, Leaflet) built into the
//! binary.

use crate::middleware::auth::Principal;
use crate::middleware::auth::Rule::Public;
use crate::middleware::extract::PageQuery;
use crate::pages::login::Next;
use crate::routes::Routes;
use axum::extract::{FromRequestParts, Path};
use axum::http::Method;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minhu_core::City;
use minhu_core::access::Permission;
use minhu_core::deadline::TierCode;
use minhu_core::event::{Actor, Who};
use minhu_core::ids::{RegionId, UnitId};
use minhu_core::label::{Label, Labelled};
use minhu_core::taxonomy::CategoryPath;
use std::collections::HashMap;
use std::sync::Arc;

pub(crate) fn routes() -> Routes {
    Routes::new()
        .page(Method::GET, "/static/{file}", Public, static_file)
        .page(Method::GET, "/lang/{lang}", Public, switch_language)
}

/// The cookie that keeps the reader's language; not a secret, so readable by scripts.
pub const LANG_COOKIE: &str = "minhu_lang";

/// The page's language: Chinese unless the reader switched to English.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    /// Picks the text in the reader's language; templates carry both side by side.
    pub fn t<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    /// The `lang` attribute of the page.
    pub fn code(&self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn is_en(&self) -> bool {
        *self == Lang::En
    }

    /// A code's label in this language: `lang.label(ticket.status)`.
    pub fn label<T: Labelled>(&self, value: T) -> &'static str {
        self.pick(value.label())
    }

    /// A [`Label`]'s words in this language.
    pub fn pick(&self, label: Label) -> &'static str {
        label.pick(self.is_en())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(
            match crate::middleware::auth::cookie(&parts.headers, LANG_COOKIE) {
                Some("en") => Lang::En,
                _ => Lang::Zh,
            },
        )
    }
}

/// Sets the language cookie and goes back to the page the reader came from.
async fn switch_language(
    Path(lang): Path<String>,
    PageQuery(Next { next }): PageQuery<Next>,
) -> Response {
    let lang = if lang == "en" { "en" } else { "zh" };
    let next = crate::pages::login::safe_next(next.as_deref());
    (
        [(
            header::SET_COOKIE,
            format!("{LANG_COOKIE}={lang}; Path=/; SameSite=Lax; Max-Age=31536000"),
        )],
        Redirect::to(&next),
    )
        .into_response()
}

/// A link of the header.
pub struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// The frame of every page: city, language, the signed-in official's links.
pub struct Chrome {
    pub city: String,
    pub lang: Lang,
    /// The session's CSRF token; empty when nobody is signed in.
    pub csrf: String,
    /// This page's path, for the language switch to come back to.
    pub path: String,
    pub nav: Vec<NavLink>,
    /// Elderly and accessible mode (适老化): larger text, high contrast, one step at a time.
    pub easy: bool,
    /// Labels, names, times and sentences in the reader's language: `ui.label(..)`,
    /// `ui.time(..)`, ... (the page reaches them through `Chrome`'s `Deref`).
    pub words: Words,
}

/// Everything a page prints in the reader's language rather than as stored: labels of
/// codes, the city's names of units, places, categories and tiers, times on the city's
/// clock, who did something, and sentences about events and routing (`pages/words.rs`).
/// Templates reach it as `ui.label(ticket.status)`, handlers without a page frame make
/// one with [`Words::new`].
pub struct Words {
    pub lang: Lang,
    /// The city's data: names of units, places, categories and tiers, its time zone.
    data: Arc<City>,
    /// The cities served, where a unit, region, category or tier the city does not
    /// have is named by the city that has it (a province supervisor's lists, a demand
    /// handed over to another city, the province's own desk).
    province: Option<Arc<minhu_core::Province>>,
    /// Officials' display names by login, for [`Words::actor`] (see [`Chrome::know`]).
    people: HashMap<String, String>,
}

impl std::ops::Deref for Chrome {
    type Target = Words;

    fn deref(&self) -> &Words {
        &self.words
    }
}

/// Each role's pages, in the order of a ticket's path, with the permission that opens them.
const PAGES: &[(&str, &str, &str, Permission)] = &[
    ("/tickets", "工单", "Tickets", Permission::ViewTickets),
    ("/console", "受理台", "Console", Permission::CreateTickets),
    ("/grid", "网格巡查", "Patrol", Permission::Patrol),
    ("/dispatch", "派单", "Dispatch", Permission::Dispatch),
    ("/inbox", "承办", "Inbox", Permission::Handle),
    ("/overdue", "超期", "Overdue", Permission::Redispatch),
    ("/supervise", "督办", "Supervision", Permission::Supervise),
    ("/dashboard", "监督", "Dashboard", Permission::Report),
    ("/audit", "审计", "Audit", Permission::ViewAudit),
    ("/admin", "管理", "Admin", Permission::ManageAccess),
];

impl Chrome {
    pub fn new(
        state: &crate::AppState,
        lang: Lang,
        principal: Option<&Principal>,
        path: &str,
    ) -> Chrome {
        let official = principal.filter(|p| p.follows.is_none());
        let nav = official
            .map(|p| {
                PAGES
                    .iter()
                    .filter(|(_, _, _, permission)| p.may(*permission))
                    .map(|(href, zh, en, _)| NavLink {
                        href,
                        label: lang.t(zh, en),
                        current: *href == path,
                    })
                    .collect()
            })
            .unwrap_or_default();
        // A city's officials work under their city's configuration; the province's
        // and the public under the home city's.
        let city = match official {
            Some(p) => state.engine.city_in(&p.scope),
            None => state.engine.city(),
        };
        Chrome {
            city: lang.t(&city.name, &city.name_en).to_owned(),
            lang,
            csrf: principal.and_then(|p| p.csrf.clone()).unwrap_or_default(),
            path: path.to_owned(),
            nav,
            easy: false,
            words: Words::new(city.clone(), lang).within(state.engine.province().clone()),
        }
    }

    /// Names things by `ticket`'s own city (a page about one demand of any city).
    pub fn about(&mut self, state: &crate::AppState, ticket: &minhu_core::ticket::Ticket) {
        self.words.data = state.engine.city_of(ticket).clone();
    }

    /// Learns officials' display names, so that [`Words::actor`] names them.
    pub async fn know(
        &mut self,
        state: &crate::AppState,
    ) -> Result<(), crate::middleware::error::ApiError> {
        let users = state.engine.accounts().users().await?;
        self.words.people = users
            .into_iter()
            .map(|u| (u.login, u.display_name))
            .collect();
        Ok(())
    }

    /// Whether an official is signed in (the header offers to sign out).
    pub fn signed_in(&self) -> bool {
        !self.csrf.is_empty()
    }
}

impl Words {
    pub fn new(city: Arc<City>, lang: Lang) -> Words {
        Words {
            lang,
            data: city,
            province: None,
            people: HashMap::new(),
        }
    }

    /// Also names what another city of `province` holds.
    pub fn within(mut self, province: Arc<minhu_core::Province>) -> Words {
        self.province = province.has_several_cities().then_some(province);
        self
    }

    /// Whether several cities are served (what is not a city's is the province's).
    pub fn serves_province(&self) -> bool {
        self.province.is_some()
    }

    /// The city's configuration, else the first other city's for which `has` holds.
    fn holder(&self, has: impl Fn(&City) -> bool) -> &City {
        if has(&self.data) {
            return &self.data;
        }
        self.province
            .iter()
            .flat_map(|p| p.cities())
            .map(|c| c.city.as_ref())
            .find(|c| has(c))
            .unwrap_or(&self.data)
    }

    /// The text in the reader's language.
    pub fn t<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        self.lang.t(zh, en)
    }

    /// A code's label in the reader's language: `{{ ui.label(ticket.status) }}`.
    pub fn label<T: Labelled>(&self, value: T) -> &'static str {
        self.lang.label(value)
    }

    /// A [`Label`]'s words in the reader's language (`ui.pick(yes_no(flag))`).
    pub fn pick(&self, label: Label) -> &'static str {
        self.lang.pick(label)
    }

    /// Yes or no, never `true`/`false`.
    pub fn yes_no(&self, value: bool) -> &'static str {
        self.pick(minhu_core::label::yes_no(value))
    }

    /// A moment on the city's clock, to the minute: `2026-12-06 14:03`.
    pub fn time(&self, at: jiff::Timestamp) -> String {
        local_time(&self.data, at)
    }

    /// The city's time zone by its IANA name (`Asia/Shanghai`), for scripts that show
    /// times from the API.
    pub fn zone(&self) -> &str {
        self.data.timezone.iana_name().unwrap_or("UTC")
    }

    /// A day: `2026-12-06`.
    pub fn date(&self, day: jiff::civil::Date) -> String {
        day.strftime("%Y-%m-%d").to_string()
    }

    /// A unit's name: its English name in English when the city gives one, else its
    /// name; its id only when the configuration no longer has it.
    pub fn unit(&self, id: &UnitId) -> String {
        let named = |name: &String, name_en: &Option<String>| match (name_en, self.lang) {
            (Some(en), Lang::En) => en.clone(),
            _ => name.clone(),
        };
        if let Some(u) = self.holder(|c| c.units.get(id).is_some()).units.get(id) {
            return named(&u.name, &u.name_en);
        }
        let province_unit = self
            .province
            .as_ref()
            .and_then(|p| p.units.iter().find(|u| &u.id == id));
        province_unit.map_or_else(|| id.to_string(), |u| named(&u.name, &u.name_en))
    }

    /// A region's own name ("泉塘街道").
    pub fn place(&self, id: &RegionId) -> String {
        self.holder(|c| c.regions.get(id).is_some())
            .regions
            .get(id)
            .map_or_else(|| id.to_string(), |r| r.name.clone())
    }

    /// Whether a region is a city itself (the root of its city's regions): a ticket
    /// placed there is a city-wide matter, in no district.
    pub fn is_city(&self, id: &RegionId) -> bool {
        self.holder(|c| c.regions.get(id).is_some())
            .regions
            .get(id)
            .is_some_and(|r| r.parent.is_none())
    }

    /// A region with the regions it lies in, largest first, without the city: "雨花区
    /// 洞井街道" (another city's region with its city first: "B市 B1区"). Place names
    /// stay as the city writes them.
    pub fn region(&self, id: &RegionId) -> String {
        let holder = self.holder(|c| c.regions.get(id).is_some());
        let mut names = region_path(holder, id);
        if !std::ptr::eq(holder, self.data.as_ref()) {
            names.insert(0, self.lang.t(&holder.name, &holder.name_en));
        }
        if names.is_empty() {
            self.t("全市", "City-wide").to_owned()
        } else {
            names.join(" ")
        }
    }

    /// A category's path, its levels joined by " / ": in English the taxonomy's
    /// English names where the city gives them.
    pub fn category(&self, path: &CategoryPath) -> String {
        let english = if self.lang.is_en() {
            self.holder(|c| c.taxonomy.english(path).is_some())
                .taxonomy
                .english(path)
        } else {
            None
        };
        english.unwrap_or_else(|| path.levels().collect::<Vec<_>>().join(" / "))
    }

    /// A tier's name as the city calls it ("紧急"; in English its `label_en`).
    pub fn tier(&self, code: &TierCode) -> String {
        self.holder(|c| c.tiers.iter().any(|t| &t.code == code))
            .tiers
            .iter()
            .find(|t| &t.code == code)
            .map_or_else(
                || code.as_str().to_owned(),
                |t| match (&t.label_en, self.lang) {
                    (Some(en), Lang::En) => en.clone(),
                    _ => t.label.clone(),
                },
            )
    }

    /// Who did something: an official by display name (once [`Chrome::know`] ran), the
    /// system's parts by what they are, a citizen as such.
    pub fn actor(&self, actor: &Actor) -> String {
        self.who(actor.who())
    }

    /// [`Words::actor`] for an actor as the audit log keeps it.
    pub fn who(&self, who: Who<'_>) -> String {
        match who {
            Who::Citizen => self.t("市民", "Citizen").to_owned(),
            Who::Anonymous => self.t("未登录访客", "Visitor not signed in").to_owned(),
            Who::System(part, None) => self.label(part).to_owned(),
            Who::System(part, Some(detail)) => format!("{}（{detail}）", self.label(part)),
            Who::User(login) => self
                .people
                .get(login)
                .cloned()
                .unwrap_or_else(|| login.to_owned()),
            Who::Token(name) => format!("{}{name}", self.t("接口调用方 ", "API client ")),
            Who::Other(text) => text.to_owned(),
        }
    }
}

/// The files under `static/`, built into the binary so one file is the whole server.
const STATIC: &[(&str, &str, &[u8])] = &[
    (
        "minhu.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/minhu.css"),
    ),
    (
        "minhu.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/minhu.js"),
    ),
    (
        "dashboard.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/dashboard.js"),
    ),
    (
        "echarts.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/vendor/echarts-6.0.0.min.js"),
    ),
    (
        "map.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/map.js"),
    ),
    (
        "leaflet.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/vendor/leaflet-1.9.4.js"),
    ),
    (
        "grid.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/grid.js"),
    ),
    (
        "grid-192.png",
        "image/png",
        include_bytes!("../../static/grid-192.png"),
    ),
    (
        "grid-512.png",
        "image/png",
        include_bytes!("../../static/grid-512.png"),
    ),
    (
        "leaflet.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/vendor/leaflet-1.9.4.css"),
    ),
];

async fn static_file(Path(file): Path<String>) -> Response {
    match STATIC.iter().find(|(name, _, _)| *name == file) {
        Some((_, media_type, bytes)) => (
            [
                (header::CONTENT_TYPE, *media_type),
                // The files change only with the binary; an hour spares repeat downloads.
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            *bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

/// This page's query string without the parameters `dropped` and without blank values:
/// the filters a page link (the next page, an export) carries on.
pub fn query_without(raw: Option<&str>, dropped: &[&str]) -> String {
    let kept: Vec<(String, String)> =
        serde_urlencoded::from_str::<Vec<(String, String)>>(raw.unwrap_or_default())
            .unwrap_or_default()
            .into_iter()
            .filter(|(key, value)| !dropped.contains(&key.as_str()) && !value.trim().is_empty())
            .collect();
    serde_urlencoded::to_string(kept).unwrap_or_default()
}

/// A moment on the city's clock, to the minute: `2026-12-06 14:03` (never UTC).
pub fn local_time(city: &City, at: jiff::Timestamp) -> String {
    at.to_zoned(city.timezone.clone())
        .strftime("%Y-%m-%d %H:%M")
        .to_string()
}

/// The names of a region and the regions it lies in, largest first, without the city.
fn region_path<'a>(city: &'a City, region: &RegionId) -> Vec<&'a str> {
    let mut names: Vec<&str> = city
        .regions
        .ancestry(region)
        .map(|r| r.name.as_str())
        .collect();
    names.pop(); // the city itself goes without saying
    names.reverse();
    names
}

/// A region with the regions it lies in, largest first, without the city; "—" for the
/// city itself.
pub(crate) fn region_label(city: &City, region: &RegionId) -> String {
    let names = region_path(city, region);
    if names.is_empty() {
        "—".into()
    } else {
        names.join(" ")
    }
}
