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
    /// `idempotency_key_reused`, `conflict`, `too_large`, `unauthenticated`, `forbidden`, `csrf`,
    /// `too_many_requests`, `no_access_rule` or `internal`.
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

    /// No credentials (or none that hold): sign in or send a token.
    pub fn unauthenticated() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: "unauthenticated",
            field: None,
            message: "sign in, or send an API token as Authorization: Bearer <token>".into(),
        }
    }

    pub fn unauthenticated_because(field: &str, message: &str) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: "unauthenticated",
            field: Some(field.to_owned()),
            message: message.to_owned(),
        }
    }

    /// A citizens' route called by someone who is not following a ticket.
    pub fn not_following() -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            code: "forbidden",
            field: None,
            message: "this is for citizens following their ticket: ask for a code at \
                      POST /api/v1/follow/code"
                .into(),
        }
    }

    pub fn bad_token() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: "unauthenticated",
            field: Some("Authorization".into()),
            message: "the API token is unknown, revoked or expired".into(),
        }
    }

    pub fn forbidden(permission: minhu_core::access::Permission) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            code: "forbidden",
            field: None,
            message: format!("this needs the permission {permission}, which you do not hold"),
        }
    }

    pub fn confidential() -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            code: "forbidden",
            field: None,
            message: "this is a confidential report: the reporter is never revealed to units"
                .into(),
        }
    }

    pub fn csrf() -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            code: "csrf",
            field: Some("csrf".into()),
            message: "the form's CSRF token is missing or wrong; reload the page".into(),
        }
    }

    /// A route nobody gave an access rule: refused until someone does. A path that
    /// has rules for other methods answers 405.
    pub fn no_rule(method: &axum::http::Method, pattern: &str, known_path: bool) -> Self {
        Self {
            status: if known_path {
                StatusCode::METHOD_NOT_ALLOWED
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            },
            code: "no_access_rule",
            field: None,
            message: format!("{method} {pattern} has no access rule in minhu_web::auth::ROUTES"),
        }
    }

    /// The request clashes with what is stored (e.g. an id already taken).
    pub fn conflict(field: &str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::CONFLICT,
            code: "conflict",
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }

    pub fn too_many(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "too_many_requests",
            field: None,
            message: message.into(),
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

impl ApiError {
    /// What went wrong, in words (for callers outside HTTP, such as the CLI).
    pub fn message(&self) -> &str {
        &self.message
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
            EngineError::NotFound(_) | EngineError::NoAccount(_) => ApiError::not_found(message),
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
