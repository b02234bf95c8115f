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
use jiff::Timestamp;
use utoipa_axum::routes;

pub(crate) use format::{error_response, escape_xml};

/// GeoReport v2 lists at most this many requests at once (a page's most).
const MAX_REQUESTS: usize = 1000;
/// The default window of a request list without dates (the spec's 90 days).
const DEFAULT_DAYS: i64 = 90;

/// Reading is public (confidential reports are never shown); posting needs the spec's
/// api_key, which the handler checks. Each route is in the OpenAPI document (tag
/// Open311) with the extensions and `jurisdiction_id` it takes.
pub(crate) fn routes() -> Routes {
    Routes::new()
        .api(Public, routes!(services::discovery_json))
        .api(Public, routes!(services::discovery_xml))
        .api(Public, routes!(services::services_json))
        .api(Public, routes!(services::services_xml))
        .api(Public, routes!(services::service_definition))
        .api(Public, routes!(requests::requests_json))
        .api(Public, routes!(requests::requests_xml))
        .api(Public, routes!(post::post_request_json))
        .api(Public, routes!(post::post_request_xml))
        .api(Public, routes!(requests::one_request))
        .api(Public, routes!(requests::token))
        .api(Public, routes!(updates::updates_json))
        .api(Public, routes!(updates::updates_xml))
}

/// ISO 8601 with the city's offset, as the spec asks (`2026-11-23T09:30:00+08:00`).
fn datetime(state: &AppState, at: Timestamp) -> String {
    at.to_zoned(state.engine.city().timezone.clone())
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}
