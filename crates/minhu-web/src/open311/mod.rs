//! Open311 GeoReport v2 at `/open311/v2/`: the world's 311 apps (FixMyStreet,
//! SeeClickFix-style clients) read the city's services and requests and send new
//! requests, which become tickets on the `open311` channel through the engine's
//! intake like any other demand.
//!
//! The spec (<http://wiki.open311.org/GeoReport_v2>) fixes the shapes: every resource
//! in `.json` and `.xml`, errors as `[{"code":400,"description":"..."}]` or
//! `<errors><error>...</error></errors>`, form-encoded POSTs with an `api_key`.
//! Answers are built once as a `Node` tree (`format.rs`) and written in either format, so the
//! two cannot drift apart. FixMyStreet's `servicerequestupdates` extension reports
//! what happened to requests since a moment.

mod format;
mod post;
mod requests;
mod services;
mod updates;

use crate::AppState;
use axum::Router;
use axum::routing::get;
use jiff::Timestamp;

pub(crate) use format::{error_response, escape_xml};

/// When the service list last changed in a way clients must notice (the discovery
/// document's `changeset`).
const CHANGESET: &str = "2026-11-23T00:00:00+08:00";
/// GeoReport v2 lists at most this many requests by default.
const MAX_REQUESTS: usize = 1000;
/// The default window of a request list without dates (the spec's 90 days).
const DEFAULT_DAYS: i64 = 90;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/open311/v2/discovery.json", get(services::discovery_json))
        .route("/open311/v2/discovery.xml", get(services::discovery_xml))
        .route("/open311/v2/services.json", get(services::services_json))
        .route("/open311/v2/services.xml", get(services::services_xml))
        .route(
            "/open311/v2/services/{service_code}",
            get(services::service_definition),
        )
        .route(
            "/open311/v2/requests.json",
            get(requests::requests_json).post(post::post_request_json),
        )
        .route(
            "/open311/v2/requests.xml",
            get(requests::requests_xml).post(post::post_request_xml),
        )
        .route("/open311/v2/requests/{id}", get(requests::one_request))
        .route("/open311/v2/tokens/{token}", get(requests::token))
        .route(
            "/open311/v2/servicerequestupdates.json",
            get(updates::updates_json),
        )
        .route(
            "/open311/v2/servicerequestupdates.xml",
            get(updates::updates_xml),
        )
}

/// ISO 8601 with the city's offset, as the spec asks (`2026-11-23T09:30:00+08:00`).
fn datetime(state: &AppState, at: Timestamp) -> String {
    at.to_zoned(state.engine.city().timezone.clone())
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}
