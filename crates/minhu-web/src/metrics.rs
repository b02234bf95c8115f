//! `GET /metrics`: the server's figures in Prometheus's text format (version 0.0.4),
//! for a Prometheus server or any scraper that reads it.
//!
//! What is counted as it happens is counted where it happens: requests by route
//! ([`crate::middleware::observe`]), intake, actions, timers and the watches' passes
//! (`minhu-engine`), deliveries (`minhu-notify`), all in the process's default
//! registry. A scrape first has the engine read what is a state (the outbox backlog,
//! the search index's lag, the database pools), then gathers everything. Each node
//! answers for itself; the outbox backlog, read from the shared store, is the same on
//! every node.
//!
//! Who may read it ([`Rule::Metrics`]): an API token holding `metrics.view` (`minhu
//! admin add-token prometheus --permissions metrics.view`), or anyone on the server's
//! own host (a loopback peer) whose request no proxy forwarded.

use crate::AppState;
use crate::middleware::auth::Rule;
use crate::middleware::error::ApiError;
use crate::routes::Routes;
use axum::extract::State;
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};

/// Where the figures are served.
pub const PATH: &str = "/metrics";

pub fn routes() -> Routes {
    Routes::new().page(Method::GET, PATH, Rule::Metrics, metrics)
}

async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    state.engine.measure().await.map_err(ApiError::internal)?;
    let text = prometheus::TextEncoder::new()
        .encode_to_string(&prometheus::gather())
        .map_err(ApiError::internal)?;
    Ok(([(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)], text).into_response())
}
