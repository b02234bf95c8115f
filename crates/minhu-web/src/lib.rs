//! minhu over HTTP.
//!
//! Handlers are thin: they read and check the request (typed extractors that name the
//! bad field), call the [`minhu_engine::Engine`], and shape the answer. Every error
//! becomes an HTTP status in one place, [`error::ApiError`]. Every route passes the
//! access guard ([`auth::guard`]) with the rule [`auth::ROUTES`] gives it.

mod admin;
pub mod analytics;
mod api;
mod assistant;
pub mod audit;
pub mod auth;
mod desk;
pub mod error;
mod extract;
pub mod follow;
pub mod hardening;
pub mod kb;
pub mod login;
pub mod open311;
mod overview;
mod pages;
mod portal;
mod privacy;
pub mod serve;
mod topics;
pub mod ui;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use minhu_core::services::ServiceCatalog;
use minhu_engine::Engine;
use minhu_engine::attachments::AttachmentStore;
use std::sync::Arc;
use tower_http::trace::TraceLayer;

pub use api::ApiDoc;

#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    pub attachments: AttachmentStore,
    /// The city's Open311 services (`open311.toml`).
    pub services: Arc<ServiceCatalog>,
    /// How citizens' one-time codes reach their phones.
    pub codes: Arc<dyn follow::CodeSender>,
    /// The city's configuration directory, which `/admin/config` edits; `None` keeps
    /// the editor read-only.
    pub config_dir: Option<std::path::PathBuf>,
}

impl AppState {
    /// The state with the demo's code delivery (the log) and no Open311 services;
    /// replace `codes` to send SMS and `services` to offer Open311 services.
    pub fn new(engine: Arc<Engine>, attachments: AttachmentStore) -> Self {
        Self {
            engine,
            attachments,
            codes: Arc::new(follow::LogCodeSender),
            services: Arc::new(ServiceCatalog::default()),
            config_dir: None,
        }
    }
}

/// Requests other than attachment uploads are small JSON documents.
pub(crate) const MAX_BODY_BYTES: usize = 256 * 1024;

pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(api::routes())
        .merge(analytics::routes())
        .merge(pages::routes())
        .merge(portal::routes())
        .merge(desk::routes())
        .merge(overview::routes())
        .merge(admin::routes())
        .merge(ui::routes())
        .merge(login::routes())
        .merge(privacy::routes())
        .merge(audit::routes())
        .merge(follow::routes())
        .merge(open311::routes())
        .merge(kb::routes())
        .merge(assistant::routes())
        // Keep this after every merge: it guards the routes added before it.
        .route_layer(axum::middleware::from_fn_with_state(
            auth::Guarded {
                app: state.clone(),
                limits: Arc::default(),
            },
            auth::guard,
        ))
        .fallback(error::no_route)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(extract::refuse_nul))
        // Inside the security headers, so a rewritten error answer still gets them.
        .layer(axum::middleware::from_fn(error::uniform_errors))
        .layer(axum::middleware::from_fn_with_state(
            hardening::content_security_policy(state.engine.city().map.tile_origin()),
            hardening::security_headers,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
