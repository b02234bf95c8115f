//! Every way a request can fail, and the one place that turns it into a status code
//! and a JSON body: `{"error": {"code": ..., "field": ..., "message": ...}}`.

use axum::Json;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
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
    /// `idempotency_key_reused`, `conflict`, `too_large`, `unsupported_media_type`,
    /// `method_not_allowed`, `unauthenticated`, `forbidden`, `csrf`,
    /// `too_many_requests`, `timeout`, `no_access_rule`, `bad_signature` (a channel
    /// adapter's platform, a city system), `unavailable` or `internal`.
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

    pub fn too_large(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "too_large",
            field: None,
            message: message.into(),
        }
    }

    /// A body in a media type the route does not read (a JSON route sent `text/plain`).
    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "unsupported_media_type",
            field: Some("Content-Type".into()),
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

    /// A channel adapter's request whose signature does not hold (`what`: the field
    /// and why).
    pub fn bad_signature(what: &str) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: "bad_signature",
            field: what.split(':').next().map(str::to_owned),
            message: what.to_owned(),
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

    /// A route nobody gave an access rule: refused until someone does (500, the detail
    /// in the log). A path that has rules for other methods answers 405 with them.
    pub fn no_rule(method: &Method, pattern: &str, allowed: &[String]) -> Response {
        if allowed.is_empty() {
            tracing::error!(%method, %pattern, "route has no access rule; refused");
            return ApiError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                code: "no_access_rule",
                field: None,
                message: "this route is not open yet; it has been logged".into(),
            }
            .into_response();
        }
        method_not_allowed(method, allowed)
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

    /// A part of the server that is not set up (the sensor webhook without its secret).
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "unavailable",
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

    /// The field at fault, when one is.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The error's code, as its JSON body names it (`not_allowed`, `not_found`, ...):
    /// for answers that report many outcomes in one body.
    pub fn code(&self) -> &'static str {
        self.code
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
            EngineError::NotYours(_) => Self {
                status: StatusCode::FORBIDDEN,
                code: "forbidden",
                field: None,
                message,
            },
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

/// 405 with the methods the path takes, in `Allow` and in words.
pub fn method_not_allowed(method: &Method, allowed: &[String]) -> Response {
    let list = allowed.join(", ");
    let mut response = ApiError {
        status: StatusCode::METHOD_NOT_ALLOWED,
        code: "method_not_allowed",
        field: None,
        message: format!("{method} is not served at this path; it takes {list}"),
    }
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&list) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

/// Which kind of answer a path gives: the JSON API, Open311 (its own error format),
/// or pages people read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Surface {
    Api,
    Open311,
    Page,
}

impl Surface {
    pub(crate) fn of(path: &str) -> Surface {
        // The channel adapters answer programs (a platform, a gateway): JSON errors.
        if path == "/api"
            || path.starts_with("/api/")
            || path == "/healthz"
            || path.starts_with("/channels/")
        {
            Surface::Api
        } else if path.starts_with("/open311/") {
            Surface::Open311
        } else {
            Surface::Page
        }
    }
}

/// The `code` of an error answer with `status` that no handler wrote (axum's own
/// refusals: no route, a method the route does not take, a body too large).
fn code_of(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "malformed",
        401 => "unauthenticated",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "timeout",
        409 => "conflict",
        413 => "too_large",
        415 => "unsupported_media_type",
        422 => "invalid",
        429 => "too_many_requests",
        _ if status.is_server_error() => "internal",
        _ => "malformed",
    }
}

/// A sentence for an error answer with `status`, keeping what the framework said when
/// it is plain words (not a type's or a module's name).
fn sentence(status: StatusCode, said: &str) -> String {
    let said = said.trim();
    let plain = !said.is_empty()
        && said.len() <= 300
        && !said.contains("::")
        && !said.chars().any(char::is_control);
    match status.as_u16() {
        404 => "there is nothing at this address".into(),
        405 => "this method is not served at this path".into(),
        413 => "the request body is too large".into(),
        _ if status.is_server_error() => {
            "the server could not complete the request; it has been logged".into()
        }
        _ if plain => said.to_owned(),
        _ => status
            .canonical_reason()
            .unwrap_or("the request was refused")
            .to_lowercase(),
    }
}

fn content_type(response: &Response) -> String {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// An error's message as the API wrote it (`{"error": {"message": ...}}`), else the
/// framework's words.
fn message_of(body: &[u8]) -> (Option<String>, String) {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        let error = &value["error"];
        if let Some(message) = error["message"].as_str() {
            return (
                error["field"].as_str().map(str::to_owned),
                message.to_owned(),
            );
        }
    }
    (None, String::from_utf8_lossy(body).into_owned())
}

/// Every error answer in the form its path promises: the API's JSON error under
/// `/api/`, Open311's error list under `/open311/`, an HTML page elsewhere. Handlers
/// already answer so; this catches what the framework answers by itself (no route, a
/// method the route does not take, a body over the limit, an extractor's refusal), whose
/// plain text would otherwise name internal types.
pub async fn uniform_errors(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let surface = Surface::of(&path);
    let head = request.method() == Method::HEAD;
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let kind = content_type(&response);
    let json = kind.starts_with("application/json");
    match surface {
        Surface::Api if json => return response,
        // Open311's handlers answer in its JSON or XML; the guard's refusals (JSON
        // objects) are rewritten below.
        Surface::Open311 if kind.starts_with("text/xml") || kind.starts_with("application/xml") => {
            return response;
        }
        Surface::Page if kind.starts_with("text/html") => return response,
        _ => {}
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return ApiError::internal("an error answer could not be read").into_response();
    };
    if surface == Surface::Open311 && json && bytes.first() == Some(&b'[') {
        return Response::from_parts(parts, Body::from(bytes));
    }
    let (field, said) = message_of(&bytes);
    let message = if json { said } else { sentence(status, &said) };
    let mut rewritten = match surface {
        Surface::Api => ApiError {
            status,
            code: code_of(status),
            field,
            message,
        }
        .into_response(),
        Surface::Open311 => crate::open311::error_response(&path, status, &message),
        Surface::Page => error_page(status, &message),
    };
    // Keep what the refusal said in its headers (Allow, Retry-After, Set-Cookie...).
    for name in [
        header::ALLOW,
        header::RETRY_AFTER,
        header::SET_COOKIE,
        header::WWW_AUTHENTICATE,
    ] {
        if let Some(value) = parts.headers.remove(&name) {
            rewritten.headers_mut().insert(name, value);
        }
    }
    if head {
        *rewritten.body_mut() = Body::empty();
    }
    rewritten
}

/// The page a person sees when a page cannot be shown: the status and what went
/// wrong, in Chinese and English, and a way home.
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let (zh, en) = match status.as_u16() {
        400 | 422 => ("请求有误", "The request is not right"),
        401 => ("请先登录", "Please sign in"),
        403 => ("无权访问", "Not allowed"),
        404 => ("找不到这个页面", "Page not found"),
        405 => ("不支持这种请求", "Not served this way"),
        413 => ("内容太大", "Too large"),
        429 => ("请求太频繁", "Too many requests"),
        _ if status.is_server_error() => ("服务器出错了", "Something went wrong"),
        _ => ("无法完成请求", "The request was refused"),
    };
    let code = status.as_u16();
    // XML's escapes are HTML's too.
    let message = crate::open311::escape_xml(message);
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{code} {zh} · {en}</title>\n<link rel=\"stylesheet\" href=\"/static/minhu.css\">\n\
         </head>\n<body>\n<main id=\"main\">\n<h1>{zh} <span lang=\"en\">{en}</span></h1>\n\
         <p>{code}: <span lang=\"en\">{message}</span></p>\n\
         <p><a href=\"/\">返回首页 <span lang=\"en\">Home</span></a></p>\n</main>\n</body>\n</html>\n"
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
}

/// What answers a request that matches no route: the form its path promises.
pub async fn no_route(uri: axum::http::Uri) -> Response {
    let message = "there is nothing at this address";
    match Surface::of(uri.path()) {
        Surface::Api => ApiError::not_found(message).into_response(),
        Surface::Open311 => {
            crate::open311::error_response(uri.path(), StatusCode::NOT_FOUND, message)
        }
        Surface::Page => error_page(StatusCode::NOT_FOUND, message),
    }
}
