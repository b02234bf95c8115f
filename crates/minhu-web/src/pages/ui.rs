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
use minhu_core::access::Permission;

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
}

/// Each role's pages, in the order of a ticket's path, with the permission that opens them.
const PAGES: &[(&str, &str, &str, Permission)] = &[
    ("/tickets", "工单", "Tickets", Permission::ViewTickets),
    ("/console", "受理台", "Console", Permission::CreateTickets),
    ("/dispatch", "派单", "Dispatch", Permission::Dispatch),
    ("/inbox", "承办", "Inbox", Permission::Handle),
    ("/dashboard", "监督", "Dashboard", Permission::Report),
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
        let city = state.engine.city();
        Chrome {
            city: lang.t(&city.name, &city.name_en).to_owned(),
            lang,
            csrf: principal.and_then(|p| p.csrf.clone()).unwrap_or_default(),
            path: path.to_owned(),
            nav,
            easy: false,
        }
    }

    /// The text in the reader's language.
    pub fn t<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        self.lang.t(zh, en)
    }

    /// Whether an official is signed in (the header offers to sign out).
    pub fn signed_in(&self) -> bool {
        !self.csrf.is_empty()
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
