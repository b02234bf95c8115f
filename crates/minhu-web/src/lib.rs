//! minhu over HTTP.
//!
//! Handlers are thin: they read and check the request (typed extractors that name the
//! bad field), call the [`minhu_engine::Engine`], and shape the answer. Every error
//! becomes an HTTP status in one place, [`middleware::error::ApiError`]. Every route is
//! declared once ([`mod@routes`]: its path, its access rule and, for the API, its OpenAPI
//! operation together) and passes the access guard ([`middleware::auth::guard`]) with
//! the rule it was declared with.
//!
//! The crate is in rooms, by what a request is for: [`api`] (the JSON API under
//! `/api/v1` and its OpenAPI document), [`pages`] (the HTML pages people read),
//! [`open311`] (GeoReport v2, with its own formats), and [`middleware`] (what stands
//! around every route: the access guard, the hardening, the error form, the input
//! checks), [`channels`] (the channel adapters: WeChat ..., each speaking its
//! platform's protocol), [`mod@metrics`] (`GET /metrics` for Prometheus). [`serve`]
//! runs the router on a socket.

pub mod api;
pub mod channels;
pub mod metrics;
pub mod middleware;
pub mod open311;
pub mod pages;
pub mod routes;
pub mod serve;

use axum::extract::DefaultBodyLimit;
use axum::{Extension, Router};
use minhu_core::ids::CityId;
use minhu_core::services::ServiceCatalog;
use minhu_engine::Engine;
use minhu_engine::attachments::AttachmentStore;
use routes::Routes;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    pub attachments: AttachmentStore,
    /// The city's Open311 services (`open311.toml`), and the discovery document of the
    /// endpoint; in a province, the home city's.
    pub services: Arc<ServiceCatalog>,
    /// Each city's Open311 services where a province is served ([`AppState::services_of`]).
    pub city_services: Arc<HashMap<CityId, Arc<ServiceCatalog>>>,
    /// How citizens' one-time codes reach their phones.
    pub codes: Arc<dyn api::follow::CodeSender>,
    /// The city's configuration directory, which `/admin/config` edits; `None` keeps
    /// the editor read-only.
    pub config_dir: Option<std::path::PathBuf>,
    /// The channel adapters the city connects (`channels.toml`); none by default.
    pub channels: Arc<channels::Adapters>,
    /// The sensor webhook's secret and its devices' rate limits (一网统管); without a
    /// secret the webhook refuses every event.
    pub sensors: api::sensors::SensorGate,
}

impl AppState {
    /// The state with the demo's code delivery (the log) and no Open311 services;
    /// replace `codes` to send SMS and `services` to offer Open311 services.
    pub fn new(engine: Arc<Engine>, attachments: AttachmentStore) -> Self {
        Self {
            engine,
            attachments,
            codes: Arc::new(api::follow::LogCodeSender),
            services: Arc::new(ServiceCatalog::default()),
            city_services: Arc::default(),
            config_dir: None,
            channels: Arc::default(),
            sensors: api::sensors::SensorGate::default(),
        }
    }
}

impl AppState {
    /// The Open311 services of `city`: its own, else (a single city) [`AppState::services`].
    pub fn services_of(&self, city: &CityId) -> &ServiceCatalog {
        self.city_services.get(city).unwrap_or(&self.services)
    }
}

/// Requests other than attachment uploads are small JSON documents.
pub(crate) const MAX_BODY_BYTES: usize = 256 * 1024;

/// Every route of the application, as its rooms declare them: the router, the OpenAPI
/// document and the access table are all read off this.
pub fn routes() -> Routes {
    Routes::new()
        .merge(api::routes())
        .merge(pages::routes())
        .merge(open311::routes())
        .merge(channels::routes())
        .merge(metrics::routes())
}

pub fn app(state: AppState) -> Router {
    let (router, paths, table) = routes().into_parts();
    let observer =
        middleware::observe::Observer::new(table.routes().iter().map(|r| r.path.as_str()));
    router
        // Keep this first: it guards the routes declared above.
        .route_layer(axum::middleware::from_fn_with_state(
            middleware::auth::Guarded {
                app: state.clone(),
                limits: Arc::default(),
                table: Arc::new(table),
            },
            middleware::auth::guard,
        ))
        // Around the guard, so that its refusals are counted under their route.
        .route_layer(axum::middleware::from_fn_with_state(
            observer.clone(),
            middleware::observe::matched,
        ))
        .fallback(middleware::error::no_route)
        .layer(Extension(api::OpenApiDocument::of(paths)))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(middleware::extract::refuse_nul))
        // Inside the security headers, so a rewritten error answer still gets them.
        .layer(axum::middleware::from_fn(middleware::error::uniform_errors))
        .layer(axum::middleware::from_fn_with_state(
            middleware::hardening::content_security_policy(state.engine.city().map.tile_origin()),
            middleware::hardening::security_headers,
        ))
        // Outermost: a request's time and status as the client gets them.
        .layer(axum::middleware::from_fn_with_state(
            observer,
            middleware::observe::observe,
        ))
        .with_state(state)
}
