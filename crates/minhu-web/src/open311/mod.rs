//! Open311 GeoReport v2 at `/open311/v2/`: the world's 311 apps (FixMyStreet,
//! SeeClickFix-style clients) read the city's services and requests and send new
//! requests, which become tickets on the `open311` channel through the engine's
//! intake like any other demand.
//!
//! The spec (<http://wiki.open311.org/GeoReport_v2>) fixes the shapes: every resource
//! in `.json` and `.xml`, errors as `[{"code":400,"description":"..."}]` or
//! `<errors><error>...</error></errors>`, form-encoded POSTs with an `api_key`.
//! Answers are built once as a `Node` tree (`format.rs`) and written in either format, so the
//! two cannot drift apart. The extensions cities' clients use: `page`/`page_size`,
//! `updated_after`/`updated_before` and `extensions=true` (Chicago's), and mySociety's
//! (FixMyStreet's) `servicerequestupdates`, what happened to requests since a moment.
//! Every call may name its `jurisdiction_id` (`jurisdiction.rs`).

mod format;
mod history;
mod jurisdiction;
mod post;
mod requests;
mod services;
mod updates;

use crate::AppState;
use crate::middleware::auth::Rule::Public;
use crate::routes::Routes;
use axum::http::Method;
use jiff::Timestamp;

pub(crate) use format::{error_response, escape_xml};

/// GeoReport v2 lists at most this many requests at once (a page's most).
const MAX_REQUESTS: usize = 1000;
/// The default window of a request list without dates (the spec's 90 days).
const DEFAULT_DAYS: i64 = 90;

/// Reading is public (confidential reports are never shown); posting needs the spec's
/// api_key, which the handler checks.
pub(crate) fn routes() -> Routes {
    Routes::new()
        .page(
            Method::GET,
            "/open311/v2/discovery.json",
            Public,
            services::discovery_json,
        )
        .page(
            Method::GET,
            "/open311/v2/discovery.xml",
            Public,
            services::discovery_xml,
        )
        .page(
            Method::GET,
            "/open311/v2/services.json",
            Public,
            services::services_json,
        )
        .page(
            Method::GET,
            "/open311/v2/services.xml",
            Public,
            services::services_xml,
        )
        .page(
            Method::GET,
            "/open311/v2/services/{service_code}",
            Public,
            services::service_definition,
        )
        .page(
            Method::GET,
            "/open311/v2/requests.json",
            Public,
            requests::requests_json,
        )
        .page(
            Method::GET,
            "/open311/v2/requests.xml",
            Public,
            requests::requests_xml,
        )
        .page(
            Method::POST,
            "/open311/v2/requests.json",
            Public,
            post::post_request_json,
        )
        .page(
            Method::POST,
            "/open311/v2/requests.xml",
            Public,
            post::post_request_xml,
        )
        .page(
            Method::GET,
            "/open311/v2/requests/{id}",
            Public,
            requests::one_request,
        )
        .page(
            Method::GET,
            "/open311/v2/tokens/{token}",
            Public,
            requests::token,
        )
        .page(
            Method::GET,
            "/open311/v2/servicerequestupdates.json",
            Public,
            updates::updates_json,
        )
        .page(
            Method::GET,
            "/open311/v2/servicerequestupdates.xml",
            Public,
            updates::updates_xml,
        )
}

/// ISO 8601 with the city's offset, as the spec asks (`2026-11-23T09:30:00+08:00`).
fn datetime(state: &AppState, at: Timestamp) -> String {
    at.to_zoned(state.engine.city().timezone.clone())
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}
