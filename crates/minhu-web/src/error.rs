//! Every way a request can fail, and the one place that turns it into a status code
//! and a JSON body: `{"error": {"code": ..., "field": ..., "message": ...}}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minhu_core::workflow::FieldError;
use minhu_engine::EngineError;
use minhu_engine::attachments::AttachmentError;
use serde::Serialize;

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    field: Option<String>,
    message: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// `malformed`, `invalid`, `not_found`, `not_allowed`, `busy`,
    /// `idempotency_key_reused`, `too_large` or `internal`.
    code: &'static str,
    /// The path of the offending field, e.g. `citizen.phone`.
    field: Option<String>,
    message: String,
}

impl ApiError {
    pub fn malformed(field: Option<String>, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "malformed",
            field,
            message: message.into(),
        }
    }

    pub fn invalid(error: FieldError) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid",
            message: format!("{}: {}", error.field, error.problem),
            field: Some(error.field),
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            field: None,
            message: what.into(),
        }
    }

    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "request failed");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            field: None,
            message: "the server could not complete the request; it has been logged".into(),
        }
    }
}

impl From<FieldError> for ApiError {
    fn from(error: FieldError) -> Self {
        ApiError::invalid(error)
    }
}

impl From<EngineError> for ApiError {
    fn from(error: EngineError) -> Self {
        let message = error.to_string();
        match error {
            EngineError::Invalid(field) => ApiError::invalid(field),
            EngineError::NotFound(_) => ApiError::not_found(message),
            EngineError::NotAllowed { .. } => Self {
                status: StatusCode::CONFLICT,
                code: "not_allowed",
                field: None,
                message,
            },
            EngineError::Busy(_) => Self {
                status: StatusCode::CONFLICT,
                code: "busy",
                field: None,
                message,
            },
            EngineError::IdempotencyMismatch => Self {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "idempotency_key_reused",
                field: Some("Idempotency-Key".into()),
                message,
            },
            EngineError::Store(store) => ApiError::internal(store),
        }
    }
}

impl From<AttachmentError> for ApiError {
    fn from(error: AttachmentError) -> Self {
        match error {
            AttachmentError::Invalid(field) => ApiError::invalid(field),
            AttachmentError::Io(io) => ApiError::internal(io),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                field: self.field,
                message: self.message,
            },
        };
        (self.status, Json(body)).into_response()
    }
}
