//! Request extractors whose errors name the field at fault, so a client (or the person
//! behind it) can fix the request without guessing, and the checks every input passes
//! before anything reaches a handler: a JSON body comes as JSON and holds nothing after
//! its value, and no text anywhere (JSON, forms, query strings, paths) holds U+0000,
//! which PostgreSQL's text cannot store.

use crate::middleware::error::ApiError;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use minhu_core::workflow::FieldError;
use serde::de::DeserializeOwned;

/// A form body (the administrators' pages): a body that is not a form, or a field that
/// is missing or of the wrong type, is refused in the API's error format with serde's
/// words, which name the field.
pub struct FormBody<T>(pub T);

impl<S, T> FromRequest<S> for FormBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = axum::response::Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::Form::<T>::from_request(request, state)
            .await
            .map(|axum::Form(form)| FormBody(form))
            .map_err(|rejection| ApiError::malformed(None, rejection.body_text()).into_response())
    }
}

/// Whether the request says its body is JSON (`application/json`, or a
/// `application/*+json` type). A browser cannot send that from another site without
/// asking first (CORS preflight), unlike `text/plain` or a form.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|subtype| subtype.ends_with("+json"))
}

/// The bytes of a JSON body, its media type checked (415 otherwise) and its size
/// limited (413): for handlers that parse the body more than once.
pub struct JsonBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBytes {
    type Rejection = axum::response::Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(request.headers()) {
            return Err(ApiError::unsupported_media_type(
                "send the body as JSON, with Content-Type: application/json",
            )
            .into_response());
        }
        Bytes::from_request(request, state)
            .await
            .map(JsonBytes)
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::too_large("the request body is too large").into_response()
                } else {
                    ApiError::malformed(None, rejection.body_text()).into_response()
                }
            })
    }
}

/// A JSON body; a parse error says which field (e.g. `citizen.phone`) and why.
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = axum::response::Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let JsonBytes(bytes) = JsonBytes::from_request(request, state).await?;
        parse_json(&bytes)
            .map(JsonBody)
            .map_err(IntoResponse::into_response)
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::malformed(
            None,
            "the request has no body; send a JSON object",
        ));
    }
    if let Some(field) = json_nul(bytes) {
        return Err(nul_in(field).into());
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        // serde reports a missing field at its parent; name the field itself. So too an
        // unknown field inside a tagged enum (an action), where the path is lost.
        let said = inner.to_string();
        let named = |prefix: &str| {
            said.strip_prefix(prefix)
                .and_then(|rest| rest.split('`').next().map(str::to_owned))
        };
        let missing = named("missing field `")
            .or_else(|| (path == ".").then(|| named("unknown field `")).flatten());
        let field = match (path.as_str(), missing) {
            (".", Some(name)) => Some(name),
            (".", None) => None,
            (parent, Some(name)) => Some(format!("{parent}.{name}")),
            (parent, None) => Some(parent.to_owned()),
        };
        let message = match &field {
            Some(field) => format!("{field}: {inner}"),
            None => inner.to_string(),
        };
        ApiError::malformed(field, message)
    })?;
    // One JSON value is the whole body: `{...}garbage` or two objects are refused, not
    // read as their first part.
    deserializer.end().map_err(|error| {
        ApiError::malformed(
            None,
            format!("the body holds more than one JSON value: {error}"),
        )
    })?;
    Ok(value)
}

fn nul_in(field: impl Into<String>) -> FieldError {
    FieldError::new(field, "must not contain the NUL character (U+0000)")
}

/// Where a JSON text holds U+0000 (a `\u0000` escape in a string or a key, or a raw
/// NUL byte), as the field's path (`citizen.name`, `units[1]`); `None` when it holds
/// none. The bytes are scanned first, so the usual body costs one pass and no parse.
fn json_nul(bytes: &[u8]) -> Option<String> {
    let mut found = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            0 => {
                found = true;
                break;
            }
            b'\\' => {
                if bytes[i + 1..].starts_with(b"u0000") {
                    found = true;
                    break;
                }
                // Skip the escaped character, so `\\u0000` (a backslash, then text)
                // is not taken for NUL.
                i += 2;
            }
            _ => i += 1,
        }
    }
    if !found {
        return None;
    }
    // Rare: find the field by reading the document (a raw NUL makes it unreadable,
    // and then the body as a whole is named).
    let field = serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|value| nul_path(&value, String::new()));
    Some(field.unwrap_or_else(|| "body".into()))
}

fn nul_path(value: &serde_json::Value, path: String) -> Option<String> {
    let here = || {
        if path.is_empty() {
            "body".to_owned()
        } else {
            path.clone()
        }
    };
    match value {
        serde_json::Value::String(text) => text.contains('\0').then(here),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(index, item)| nul_path(item, format!("{path}[{index}]"))),
        serde_json::Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let inner = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if key.contains('\0') {
                // The key itself: name where it sits, with the NUL shown as an escape.
                return Some(inner.replace('\0', "\\u0000"));
            }
            nul_path(item, inner)
        }),
        _ => None,
    }
}

/// The first field of a query string or form body holding U+0000 (`%00`).
fn urlencoded_nul(text: &[u8]) -> Option<String> {
    if !text.windows(3).any(|w| w == b"%00") {
        return None;
    }
    let pairs = serde_urlencoded::from_bytes::<Vec<(String, String)>>(text).ok()?;
    pairs
        .into_iter()
        .find(|(key, value)| key.contains('\0') || value.contains('\0'))
        .map(|(key, _)| key.replace('\0', "\\u0000"))
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
}

/// Refuses U+0000 in the path, the query string and a form body with a 422 naming
/// where (JSON bodies are checked by [`parse_json`], multipart parts by their
/// handler), before any handler or the access guard runs.
pub async fn refuse_nul(request: Request, next: Next) -> Response {
    if request.uri().path().contains("%00") {
        return ApiError::invalid(nul_in("path")).into_response();
    }
    if let Some(field) = request
        .uri()
        .query()
        .and_then(|q| urlencoded_nul(q.as_bytes()))
    {
        return ApiError::invalid(nul_in(field)).into_response();
    }
    if !is_form(request.headers()) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, crate::MAX_BODY_BYTES).await else {
        return ApiError::too_large("the form is too large").into_response();
    };
    if let Some(field) = urlencoded_nul(&bytes) {
        return ApiError::invalid(nul_in(field)).into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_found_where_it_is_and_only_there() {
        assert_eq!(
            json_nul(br#"{"title":"a\u0000b"}"#).as_deref(),
            Some("title")
        );
        assert_eq!(
            json_nul(br#"{"citizen":{"name":"\u0000"}}"#).as_deref(),
            Some("citizen.name")
        );
        assert_eq!(
            json_nul(br#"{"units":["a","b\u0000"]}"#).as_deref(),
            Some("units[1]")
        );
        assert_eq!(json_nul(br#"{"k\u0000":1}"#).as_deref(), Some("k\\u0000"));
        assert_eq!(json_nul(b"\"\\u0000\"").as_deref(), Some("body"));
        assert_eq!(
            json_nul(br#"{"title":"a\\u0000b"}"#),
            None,
            "an escaped backslash"
        );
        assert_eq!(json_nul(br#"{"title":"\\\\u0000"}"#), None);
        assert_eq!(
            json_nul(br#"{"title":"\\\u0000"}"#).as_deref(),
            Some("title")
        );
        assert_eq!(json_nul(b"{\"t\":1}\0").as_deref(), Some("body"));
        assert_eq!(json_nul(b"\\"), None, "a lone backslash at the end");
    }

    #[test]
    fn forms_and_queries_name_the_field_with_nul() {
        assert_eq!(urlencoded_nul(b"a=1&q=x%00y").as_deref(), Some("q"));
        assert_eq!(urlencoded_nul(b"a=1&q=x%2500y"), None);
        assert_eq!(urlencoded_nul(b"a=1"), None);
    }

    #[test]
    fn only_json_media_types_are_json() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, value.parse().unwrap());
            is_json(&headers)
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(with("application/merge-patch+json"));
        assert!(!with("text/plain"));
        assert!(!with("text/plain; application/json"));
        assert!(!with("application/x-www-form-urlencoded"));
        assert!(!with("multipart/form-data; boundary=x"));
        assert!(!is_json(&HeaderMap::new()));
    }
}
