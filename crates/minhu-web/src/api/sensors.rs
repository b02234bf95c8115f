//! City systems' events (一网统管): `POST /api/v1/sensors/events`, a webhook that
//! manhole-cover, water-level and camera platforms call. No account signs these
//! requests in: each carries `X-Minhu-Timestamp` (Unix seconds) and
//! `X-Minhu-Signature: sha256=<hex>`, the HMAC-SHA256 of `<timestamp>.<body>` under
//! the shared secret (`MINHU_SENSOR_SECRET`; the scheme of minhu's own outgoing
//! webhooks, `minhu_engine::signing`, with the timestamp signed so that a captured
//! request cannot be replayed outside [`REPLAY_WINDOW_S`]). The route is a channel
//! adapter's (`Rule::Adapter("sensor")`: its own bucket per sending address), and each
//! device has its own rate besides (`rates::SENSOR_DEVICE`).

use crate::AppState;
use crate::middleware::error::{ApiError, ErrorBody};
use crate::middleware::extract::{JsonBytes, parse_json};
use crate::middleware::hardening::{Limits, rates};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minhu_core::sensor::SensorEvent;
use minhu_core::ticket::Ticket;
use minhu_engine::Reader;
use minhu_engine::signing;
use serde::Serialize;
use std::sync::Arc;

/// The environment variable holding the shared secret.
pub const SECRET_VAR: &str = "MINHU_SENSOR_SECRET";

/// How far a request's timestamp may be from the server's clock, either way.
pub const REPLAY_WINDOW_S: i64 = 300;

/// The sensor webhook's secret and its devices' rate limits. Without a secret the
/// webhook refuses every event (503): nothing unsigned gets in.
#[derive(Clone, Default)]
pub struct SensorGate {
    secret: Option<Arc<str>>,
    devices: Arc<Limits>,
}

impl SensorGate {
    /// The gate for `secret` ([`SECRET_VAR`]); blank means none.
    pub fn new(secret: Option<String>) -> SensorGate {
        SensorGate {
            secret: secret.filter(|s| !s.trim().is_empty()).map(Arc::from),
            devices: Arc::default(),
        }
    }

    /// Whether events are taken in (a secret is set).
    pub fn enabled(&self) -> bool {
        self.secret.is_some()
    }
}

/// What the webhook answers: the ticket the event is (masked as the public reads
/// it: the sender is no official) and whether an earlier event of the device in the
/// same window had made it already.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SensorReceipt {
    number: String,
    duplicate: bool,
    ticket: Ticket,
}

/// Take in a city system's event (a sensor's alarm, a camera's detection).
///
/// Signed, not signed in: `X-Minhu-Timestamp` and `X-Minhu-Signature` (see the module).
/// Events of one device within one 30-minute window (by `observed_at`) are one
/// ticket: the first makes it (201), the rest find it (200, `duplicate`).
#[utoipa::path(
    post, path = "/api/v1/sensors/events", request_body = SensorEvent,
    params(
        ("X-Minhu-Timestamp" = String, Header, description = "Unix seconds when the request was signed"),
        ("X-Minhu-Signature" = String, Header, description = "sha256=<hex HMAC-SHA256 of `<timestamp>.<body>`>"),
    ),
    responses(
        (status = 201, description = "a new ticket", body = SensorReceipt),
        (status = 200, description = "the ticket of an earlier event of this device in this window", body = SensorReceipt),
        (status = 401, description = "missing, stale or wrong signature (`bad_signature`)", body = ErrorBody),
        (status = 422, description = "a field is invalid", body = ErrorBody),
        (status = 429, description = "this device sends too often", body = ErrorBody),
        (status = 503, description = "no sensor secret is configured", body = ErrorBody),
    ),
    security(())
)]
pub(super) async fn sensor_event(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBytes(body): JsonBytes,
) -> Result<Response, ApiError> {
    let gate = &state.sensors;
    let Some(secret) = gate.secret.as_deref() else {
        return Err(ApiError::unavailable(
            "the sensor webhook has no secret: set MINHU_SENSOR_SECRET",
        ));
    };
    check_signature(secret, &headers, &body, state.engine.now().as_second())?;
    let event: SensorEvent = parse_json(&body)?;
    let device = format!("{}:{}", event.system, event.device);
    if let Err(wait) = gate
        .devices
        .take("sensor-device", &device, rates::SENSOR_DEVICE)
    {
        return Err(ApiError::too_many(format!(
            "device {device} sends too often; try again in {} s",
            wait.as_secs().max(1)
        )));
    }
    let created = state.engine.sensor_event(&event).await?;
    let status = if created.fresh {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let ticket = state.engine.masked_for(&Reader::public(), created.ticket);
    let location = format!("/api/v1/tickets/{}", ticket.number);
    Ok((
        status,
        [(header::LOCATION, location)],
        Json(SensorReceipt {
            number: ticket.number.to_string(),
            duplicate: !created.fresh,
            ticket,
        }),
    )
        .into_response())
}

/// The request is signed with the secret, at a time close to `now` (Unix seconds).
fn check_signature(
    secret: &str,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<(), ApiError> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let stamp = text("x-minhu-timestamp").ok_or_else(|| {
        ApiError::bad_signature(
            "X-Minhu-Timestamp: is missing; send the Unix seconds you signed at",
        )
    })?;
    let at: i64 = stamp
        .trim()
        .parse()
        .map_err(|_| ApiError::bad_signature("X-Minhu-Timestamp: must be whole Unix seconds"))?;
    if (now - at).abs() > REPLAY_WINDOW_S {
        return Err(ApiError::bad_signature(&format!(
            "X-Minhu-Timestamp: is {} s from the server's clock; sign each request when you send it (at most {REPLAY_WINDOW_S} s apart)",
            now - at
        )));
    }
    let sent = text("x-minhu-signature").ok_or_else(|| {
        ApiError::bad_signature(
            "X-Minhu-Signature: is missing; send sha256=<hex HMAC-SHA256 of timestamp.body>",
        )
    })?;
    if signing::verify(secret, &[stamp.as_bytes(), b".", body], sent.trim()) {
        Ok(())
    } else {
        Err(ApiError::bad_signature(
            "X-Minhu-Signature: does not match; send sha256=<hex HMAC-SHA256 of `<X-Minhu-Timestamp>.<body>` under the shared secret>",
        ))
    }
}
