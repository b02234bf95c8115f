//! Request extractors whose errors name the field at fault, so a client (or the person
//! behind it) can fix the request without guessing, and the checks every input passes
//! before anything reaches a handler: a JSON body comes as JSON and holds nothing after
//! its value, and no text anywhere (JSON, forms, query strings, paths) holds U+0000,
//! which PostgreSQL's text cannot store.

use crate::middleware::error::ApiError;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use minhu_core::workflow::FieldError;
use serde::de::DeserializeOwned;
use utoipa::IntoParams;
use utoipa::openapi::path::ParameterIn;

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

/// A query string read into `T`, the same struct that documents the parameters in the
/// OpenAPI document (`#[derive(Deserialize, IntoParams)]`).
///
/// A parameter `T` does not document is refused, so a misspelt filter is not silently
/// ignored. A blank value (`?district=&limit=`) counts as absent, because that is what a
/// page's filter form sends for the fields a person left empty; values are trimmed. A
/// value of the wrong kind is refused with a 422 naming the parameter, as every other
/// field error is; a query string that is not `application/x-www-form-urlencoded` at all
/// is a 400.
pub struct QueryParams<T>(pub T);

/// A page's query string, read as [`QueryParams`] is but with parameters `T` does not
/// know passed over: links to pages travel through messengers and mail that append
/// their own (WeChat adds `from=singlemessage&isappinstalled=0`), and a citizen who
/// follows such a link must reach the page.
pub struct PageQuery<T>(pub T);

/// The extractor `$name` reads the query string with `$unknown` as its rule for
/// parameters its type does not know.
macro_rules! query_extractor {
    ($name:ident, $unknown:expr) => {
        impl<S, T> FromRequestParts<S> for $name<T>
        where
            S: Send + Sync,
            T: FromQuery,
        {
            type Rejection = Response;

            async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
                read_pairs(parts.uri.query().unwrap_or_default(), $unknown)
                    .map($name)
                    .map_err(IntoResponse::into_response)
            }
        }
    };
}

query_extractor!(QueryParams, Unknown::Refuse);
query_extractor!(PageQuery, Unknown::PassOver);

/// What to do with a parameter the query's type does not document.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Unknown {
    Refuse,
    PassOver,
}

/// Reads `query` into `T` by [`QueryParams`]' rules.
pub fn read_query<T: FromQuery>(query: &str) -> Result<T, ApiError> {
    read_pairs(query, Unknown::Refuse)
}

fn read_pairs<T: FromQuery>(query: &str, unknown: Unknown) -> Result<T, ApiError> {
    let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|error| ApiError::malformed(None, format!("the query string: {error}")))?;
    let names = T::names();
    if unknown == Unknown::PassOver {
        pairs.retain(|(key, _)| names.contains(key));
    }
    if let Some((unknown, _)) = pairs.iter().find(|(key, _)| !names.contains(key)) {
        return Err(FieldError::new(
            unknown.as_str(),
            if names.is_empty() {
                "is not a parameter; this address takes none".to_owned()
            } else {
                format!("is not a parameter here; use {}", names.join(", "))
            },
        )
        .into());
    }
    let given: Vec<(String, String)> = pairs
        .into_iter()
        .map(|(key, value)| (key, value.trim().to_owned()))
        .filter(|(_, value)| !value.is_empty())
        .collect();
    T::from_pairs(&given)
}

/// What [`QueryParams`] can read: any struct that derives `Deserialize` and `IntoParams`,
/// or [`Both`] of two such.
pub trait FromQuery: Sized {
    /// The parameters documented, the only ones accepted.
    fn names() -> Vec<String>;
    /// Reads the (known, non-blank, trimmed) pairs.
    fn from_pairs(pairs: &[(String, String)]) -> Result<Self, ApiError>;
}

impl<T: DeserializeOwned + IntoParams> FromQuery for T {
    fn names() -> Vec<String> {
        T::into_params(|| Some(ParameterIn::Query))
            .into_iter()
            .map(|parameter| parameter.name)
            .collect()
    }

    fn from_pairs(pairs: &[(String, String)]) -> Result<Self, ApiError> {
        let encoded = serde_urlencoded::to_string(pairs).map_err(ApiError::internal)?;
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(encoded.as_bytes()));
        serde_path_to_error::deserialize(deserializer).map_err(|error| {
            let path = error.path().to_string();
            let said = error.into_inner().to_string();
            let (field, problem) = match said.strip_prefix("missing field `") {
                Some(rest) => (
                    rest.split('`').next().unwrap_or_default().to_owned(),
                    "is required".to_owned(),
                ),
                None => {
                    let value = pairs
                        .iter()
                        .find(|(key, _)| *key == path)
                        .map(|(_, value)| value.as_str())
                        .unwrap_or_default();
                    (path, value_problem(value, &said))
                }
            };
            FieldError::new(field, problem).into()
        })
    }
}

/// serde's words for a value that did not parse, made readable: the standard library's
/// number errors do not say what was expected.
fn value_problem(value: &str, said: &str) -> String {
    let number = [
        "invalid digit found in string",
        "number too large to fit in target type",
        "number too small to fit in target type",
        "invalid float literal",
    ];
    if number.contains(&said) {
        format!("{value:?} is not a number in range")
    } else if said == "provided string was not `true` or `false`" {
        format!("{value:?}: use true or false")
    } else {
        format!("{value:?}: {said}")
    }
}

/// Two parameter structs read from one query string, for routes that share a group of
/// parameters (the analytics' period and filters) and add their own.
#[derive(Debug)]
pub struct Both<A, B>(pub A, pub B);

impl<A: FromQuery, B: FromQuery> FromQuery for Both<A, B> {
    fn names() -> Vec<String> {
        let mut names = A::names();
        names.extend(B::names());
        names
    }

    fn from_pairs(pairs: &[(String, String)]) -> Result<Self, ApiError> {
        let only = |names: Vec<String>| -> Vec<(String, String)> {
            pairs
                .iter()
                .filter(|(key, _)| names.contains(key))
                .cloned()
                .collect()
        };
        Ok(Both(
            A::from_pairs(&only(A::names()))?,
            B::from_pairs(&only(B::names()))?,
        ))
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

    #[derive(Debug, serde::Deserialize, IntoParams)]
    #[into_params(parameter_in = Query)]
    struct Filters {
        status: Option<String>,
        limit: Option<u32>,
        done: Option<bool>,
    }

    #[derive(Debug, serde::Deserialize, IntoParams)]
    #[into_params(parameter_in = Query)]
    struct Needed {
        text: String,
    }

    fn problem<T: FromQuery + std::fmt::Debug>(query: &str) -> (u16, Option<String>, String) {
        let error = read_query::<T>(query).expect_err(query);
        (
            error.status().as_u16(),
            error.field().map(str::to_owned),
            error.message().to_owned(),
        )
    }

    #[test]
    fn a_query_is_read_into_its_struct_blank_values_counting_as_absent() {
        let read: Filters = read_query("status=%20pending%20&limit=20&done=").unwrap();
        assert_eq!(read.status.as_deref(), Some("pending"));
        assert_eq!(read.limit, Some(20));
        assert_eq!(read.done, None);
        let read: Filters = read_query("").unwrap();
        assert!(read.status.is_none() && read.limit.is_none());
    }

    #[test]
    fn a_bad_query_names_the_parameter_and_the_problem() {
        let (status, field, message) = problem::<Filters>("limit=ten");
        assert_eq!((status, field.as_deref()), (422, Some("limit")));
        assert!(message.contains("\"ten\" is not a number"), "{message}");
        let (status, field, message) = problem::<Filters>("limit=99999999999");
        assert_eq!((status, field.as_deref()), (422, Some("limit")));
        assert!(message.contains("not a number in range"), "{message}");
        let (_, field, message) = problem::<Filters>("done=maybe");
        assert_eq!(field.as_deref(), Some("done"));
        assert!(message.contains("use true or false"), "{message}");
        let (status, field, message) = problem::<Filters>("statsu=pending");
        assert_eq!((status, field.as_deref()), (422, Some("statsu")));
        assert!(message.contains("status, limit, done"), "{message}");
        let (status, field, message) = problem::<Needed>("text=%20");
        assert_eq!((status, field.as_deref()), (422, Some("text")));
        assert!(message.contains("is required"), "{message}");
    }

    #[test]
    fn a_page_passes_over_parameters_it_does_not_know() {
        let read: Filters = read_pairs(
            "from=singlemessage&isappinstalled=0&limit=5",
            Unknown::PassOver,
        )
        .unwrap();
        assert_eq!(read.limit, Some(5));
        assert!(read_query::<Filters>("from=singlemessage").is_err());
    }

    #[test]
    fn both_reads_two_structs_from_one_query() {
        let Both(filters, needed): Both<Filters, Needed> =
            read_query("limit=3&text=%E8%B7%AF%E7%81%AF").unwrap();
        assert_eq!(filters.limit, Some(3));
        assert_eq!(needed.text, "路灯");
        let (_, field, _) = problem::<Both<Filters, Needed>>("limit=3&other=1");
        assert_eq!(field.as_deref(), Some("other"));
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
