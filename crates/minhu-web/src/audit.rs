//! The audit log (留痕 of people): sign-ins, changes of access, reveals of personal
//! data and every write through the API, append-only in the store.

use crate::AppState;
use crate::error::ApiError;
use axum::extract::{ConnectInfo, Request};
use minhu_store::AuditEntry;
use std::net::SocketAddr;

/// The client's address as the server saw it (absent in in-process tests).
pub fn client_of(request: &Request) -> Option<String> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
}

/// Appends one entry. A write that cannot be audited fails: an action without its
/// trace is worse than no action.
pub async fn record(
    state: &AppState,
    actor: String,
    action: &str,
    target: Option<String>,
    detail: &str,
    client: Option<String>,
) -> Result<(), ApiError> {
    state
        .engine
        .store
        .audit(&AuditEntry {
            seq: 0,
            at: state.engine.now(),
            actor,
            action: action.to_owned(),
            target,
            detail: detail.to_owned(),
            client,
        })
        .await
        .map_err(ApiError::internal)?;
    Ok(())
}
