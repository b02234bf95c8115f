//! Who is asking, and may they: authentication and the access rule of every route.
//!
//! Every route is declared with one [`Rule`] ([`mod@crate::routes`]). The [`guard`]
//! middleware runs on every matched route: it finds the caller (an API token in
//! `Authorization: Bearer`, or a session cookie), applies the route's rule, checks the
//! CSRF token of cookie-authenticated writes, and for routes about one ticket
//! (`{number}` in the path) asks the store whether that ticket lies in the caller's
//! scope, answering 404 when it does not. A request the access table has no rule for
//! is refused (fail closed).

use crate::AppState;
use crate::api::audit::client_of;
use crate::middleware::error::ApiError;
use crate::middleware::hardening::{Limits, rates};
use crate::routes::AccessTable;
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use minhu_core::access::{Permission, Role, Scope};
use minhu_core::event::Actor;
use minhu_core::ids::{RegionId, TicketNumber, UnitId};
use minhu_engine::Engine;
use minhu_engine::Reader;
use minhu_engine::records::{ApiToken, User};

/// What a route asks of its caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Anyone; credentials are not looked at (health, static files, the login form).
    Public,
    /// Anyone (a citizen reporting a demand); an official's credentials are used when
    /// sent, so the ticket records who took it in.
    Open,
    /// A signed-in official or API client holding this permission.
    Permission(Permission),
    /// A signed-in official or API client, whatever its permissions (never a citizen
    /// following a ticket).
    Official,
    /// A signed-in official; the permission depends on the workflow command in the
    /// body ([`minhu_core::access::command_permission`]) and the handler checks it.
    Action,
    /// A citizen following their ticket (a session opened with a one-time code).
    Citizen,
    /// A channel adapter's endpoint (`/channels/...`): the platform proves who it is by
    /// the adapter's own signature, which the handler checks; credentials are not
    /// looked at, and each adapter has its own rate per address.
    Adapter(&'static str),
    /// The server's figures (`/metrics`): a caller holding `metrics.view`, or anyone
    /// on the server's own host whose request no proxy forwarded ([`is_local`]).
    Metrics,
}

/// Whether a request came from the server's own host directly: a loopback peer, and
/// no header a reverse proxy adds (a proxy on the same host forwards the internet).
pub fn is_local(request: &Request) -> bool {
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip().to_canonical());
    let forwarded = ["forwarded", "x-forwarded-for", "x-real-ip"]
        .iter()
        .any(|name| request.headers().contains_key(*name));
    peer.is_some_and(|ip| ip.is_loopback()) && !forwarded
}

/// The caller, once authenticated.
#[derive(Clone, Debug)]
pub struct Principal {
    pub actor: Actor,
    pub role: Option<Role>,
    pub permissions: Vec<Permission>,
    pub scope: Scope,
    /// The session's CSRF token, when the caller came with a session cookie.
    pub csrf: Option<String>,
    /// For a citizen: the ticket they follow.
    pub follows: Option<TicketNumber>,
    /// For an API token: the requests per minute it may make.
    pub token_rate: Option<u32>,
}

impl Principal {
    pub fn may(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }

    /// What this caller may read of tickets: every handler reads through it.
    pub fn reader(&self) -> Reader {
        match &self.follows {
            Some(number) => Reader::follower(number.clone()),
            None => Reader::official(self.permissions.clone(), self.scope.clone()),
        }
    }

    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if self.may(permission) {
            Ok(())
        } else {
            Err(ApiError::forbidden(permission))
        }
    }

    /// An official's account: the role's permissions, the account's scope.
    pub fn of_user(user: &User, engine: &Engine) -> Option<Principal> {
        let role = Role::from_code(&user.role)?;
        Some(Principal {
            actor: Actor::user(&user.login),
            role: Some(role),
            permissions: role.permissions().to_vec(),
            scope: scope_of(engine, user.unit.as_deref(), user.region.as_deref()),
            csrf: None,
            follows: None,
            token_rate: None,
        })
    }

    fn of_token(token: &ApiToken, engine: &Engine) -> Principal {
        Principal {
            actor: Actor::token(&token.name),
            role: None,
            permissions: token
                .permissions
                .iter()
                .filter_map(|p| Permission::from_code(p))
                .collect(),
            scope: scope_of(engine, token.unit.as_deref(), token.region.as_deref()),
            csrf: None,
            follows: None,
            token_rate: Some(token.rate_per_min.unwrap_or(rates::TOKEN_PER_MIN)),
        }
    }

    /// A citizen following one ticket: no permissions, no part of the city.
    fn citizen(number: TicketNumber) -> Principal {
        Principal {
            actor: Actor::citizen(),
            role: None,
            permissions: Vec::new(),
            scope: Scope::Units(Vec::new()),
            csrf: None,
            follows: Some(number),
            token_rate: None,
        }
    }
}

fn scope_of(engine: &Engine, unit: Option<&str>, region: Option<&str>) -> Scope {
    engine.scope_of(
        unit.map(UnitId::new).as_ref(),
        region.map(RegionId::new).as_ref(),
    )
}

/// A handler's signed-in caller; the guard has already refused anyone else.
impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(ApiError::unauthenticated)
    }
}

/// The caller if signed in (routes open to citizens).
pub struct MaybePrincipal(pub Option<Principal>);

impl<S: Send + Sync> FromRequestParts<S> for MaybePrincipal {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybePrincipal(parts.extensions.get::<Principal>().cloned()))
    }
}

pub const SESSION_COOKIE: &str = "minhu_session";
/// How long a session lives without signing in again.
pub const SESSION_HOURS: i64 = 8;

/// The `Set-Cookie` value of a session: HttpOnly, SameSite=Strict, Secure.
pub fn session_cookie(secret: &str, max_age_s: i64) -> String {
    format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict; Secure; Max-Age={max_age_s}"
    )
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Why a request carried credentials that do not hold.
enum Refusal {
    BadToken,
    BadSession,
}

/// Finds the caller from a bearer token or a session cookie. No credentials at all
/// is `Ok(None)`; credentials that are wrong, expired or revoked are refused.
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Principal>, Result<Refusal, ApiError>> {
    let accounts = state.engine.accounts();
    let engine = &state.engine;
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(Ok(Refusal::BadToken))?;
        let stored = accounts
            .token(token)
            .await
            .map_err(|e| Err(ApiError::internal(e)))?
            .ok_or(Ok(Refusal::BadToken))?;
        return Ok(Some(Principal::of_token(&stored, engine)));
    }
    let Some(secret) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let session = accounts
        .session(secret)
        .await
        .map_err(|e| Err(ApiError::internal(e)))?
        .ok_or(Ok(Refusal::BadSession))?;
    if let Some(number) = session.subject.strip_prefix("citizen:") {
        let number = TicketNumber::parse(number).map_err(|_| Ok(Refusal::BadSession))?;
        let mut principal = Principal::citizen(number);
        principal.csrf = Some(session.csrf);
        return Ok(Some(principal));
    }
    let login = session
        .subject
        .strip_prefix("user:")
        .ok_or(Ok(Refusal::BadSession))?;
    let user = accounts
        .user(login)
        .await
        .map_err(|e| Err(ApiError::internal(e)))?
        .filter(|u| !u.disabled)
        .ok_or(Ok(Refusal::BadSession))?;
    let mut principal = Principal::of_user(&user, engine).ok_or(Ok(Refusal::BadSession))?;
    principal.csrf = Some(session.csrf);
    Ok(Some(principal))
}

/// Pages send people to the login form; the API (and the scrapers of `/metrics`)
/// answer with a status.
fn wants_page(path: &str) -> bool {
    !path.starts_with("/api/") && path != crate::metrics::PATH
}

fn unauthenticated(path: &str, query: Option<&str>) -> Response {
    if wants_page(path) {
        let next = match query {
            Some(q) => format!("{path}?{q}"),
            None => path.to_owned(),
        };
        let target = format!("/login?next={}", urlencode(&next));
        Redirect::to(&target).into_response()
    } else {
        ApiError::unauthenticated().into_response()
    }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A write from a browser must carry the session's CSRF token, in the `X-CSRF-Token`
/// header or (forms) the `csrf` field; the body is read and put back.
async fn check_csrf(request: Request, expected: &str) -> Result<Request, Response> {
    let sent_header = request
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(sent) = sent_header {
        return if constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
            Ok(request)
        } else {
            Err(ApiError::csrf().into_response())
        };
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(ApiError::csrf().into_response());
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, crate::MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::malformed(None, "the form is too large").into_response())?;
    let sent = form_field(&bytes, "csrf").unwrap_or_default();
    if !constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
        return Err(ApiError::csrf().into_response());
    }
    Ok(Request::from_parts(parts, axum::body::Body::from(bytes)))
}

fn form_field(body: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value)
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The ticket number in `path` where `pattern` has `{number}`.
fn ticket_in_path<'a>(pattern: &str, path: &'a str) -> Option<&'a str> {
    let index = pattern.split('/').position(|s| s == "{number}")?;
    path.split('/').nth(index)
}

/// What the guard needs: the application, the rate limits and the rule of every route.
#[derive(Clone)]
pub struct Guarded {
    pub app: AppState,
    pub limits: std::sync::Arc<Limits>,
    pub table: std::sync::Arc<AccessTable>,
}

fn too_many(wait: std::time::Duration) -> Response {
    let seconds = wait.as_secs().max(1);
    let mut response = ApiError::too_many(format!(
        "too many requests from your address or token; try again in {seconds} s"
    ))
    .into_response();
    if let Ok(value) = seconds.to_string().parse() {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// The access check of every matched route (installed with `route_layer`).
pub async fn guard(State(guarded): State<Guarded>, mut request: Request, next: Next) -> Response {
    let state = &guarded.app;
    let Some(pattern) = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
    else {
        return ApiError::internal("a route without a matched path reached the guard")
            .into_response();
    };
    let method = request.method().clone();
    let Some(rule) = guarded.table.rule_of(&method, &pattern) else {
        // The guard also sees methods a route does not serve (axum's 405 answer runs
        // inside the route layer); it cannot tell those from a handler added without
        // a rule, so both are refused without running anything.
        return ApiError::no_rule(&method, &pattern, &guarded.table.methods_of(&pattern));
    };
    let client = client_of(&request);
    let address = client.clone().unwrap_or_else(|| "unknown".into());
    let unsafe_method = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    if let Rule::Adapter(channel) = rule {
        // A platform sends every citizen's messages from a few addresses: its own
        // bucket, larger than a citizen's, and apart from the other adapters'.
        if let Err(wait) = guarded.limits.take(channel, &address, rates::ADAPTER) {
            return too_many(wait);
        }
        return next.run(request).await;
    }
    if rule == Rule::Public {
        let (kind, rate) = if unsafe_method {
            ("credentials", rates::CREDENTIALS)
        } else {
            ("anonymous", rates::ANONYMOUS)
        };
        if let Err(wait) = guarded.limits.take(kind, &address, rate) {
            return too_many(wait);
        }
        return next.run(request).await;
    }
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let principal = match authenticate(state, request.headers()).await {
        Ok(principal) => principal,
        Err(Ok(Refusal::BadToken)) => return ApiError::bad_token().into_response(),
        Err(Ok(Refusal::BadSession)) => {
            let mut response = unauthenticated(&path, request.uri().query());
            if let Ok(value) = session_cookie("", 0).parse() {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            return response;
        }
        Err(Err(error)) => return error.into_response(),
    };
    let Some(principal) = principal else {
        let (kind, rate) = match rule {
            Rule::Open => ("intake", rates::INTAKE),
            _ => ("anonymous", rates::ANONYMOUS),
        };
        if let Err(wait) = guarded.limits.take(kind, &address, rate) {
            return too_many(wait);
        }
        return match rule {
            Rule::Open => next.run(request).await,
            Rule::Metrics if is_local(&request) => next.run(request).await,
            _ => unauthenticated(&path, request.uri().query()),
        };
    };
    if let Err(wait) = limit_caller(&guarded.limits, &principal, rule, &address) {
        return too_many(wait);
    }
    let target = ticket_in_path(&pattern, &path).map(str::to_owned);
    let refusal = match rule {
        Rule::Permission(permission) if !principal.may(permission) => {
            Some(ApiError::forbidden(permission).into_response())
        }
        Rule::Metrics if !principal.may(Permission::ViewMetrics) && !is_local(&request) => {
            Some(ApiError::forbidden(Permission::ViewMetrics).into_response())
        }
        Rule::Citizen if principal.follows.is_none() => {
            Some(ApiError::not_following().into_response())
        }
        Rule::Official if principal.follows.is_some() => {
            Some(ApiError::unauthenticated().into_response())
        }
        _ => match &target {
            Some(number) => match in_scope(state, number, &principal.scope).await {
                Ok(true) => None,
                Ok(false) => Some(
                    ApiError::not_found(format!("ticket {number} does not exist")).into_response(),
                ),
                Err(error) => return error.into_response(),
            },
            None => None,
        },
    };
    let response = match refusal {
        Some(refused) => refused,
        None => {
            if unsafe_method && let Some(expected) = principal.csrf.clone() {
                request = match check_csrf(request, &expected).await {
                    Ok(request) => request,
                    Err(refused) => return refused,
                };
            }
            request.extensions_mut().insert(principal.clone());
            next.run(request).await
        }
    };
    // Writes and refusals leave a trace; a creation is audited by its handler, in the
    // new ticket's own transaction.
    let status = response.status();
    let refused = status == axum::http::StatusCode::FORBIDDEN
        || status == axum::http::StatusCode::NOT_FOUND && target.is_some();
    let intake =
        method == Method::POST && matches!(pattern.as_str(), "/api/v1/tickets" | "/api/v1/reports");
    // Every view of citizens' identities leaves a trace too: reads of a ticket, and of
    // lists, by those who see identities unmasked.
    let viewed_identities = !unsafe_method
        && status.is_success()
        && principal.may(Permission::ViewIdentity)
        && (target.is_some() || matches!(pattern.as_str(), "/api/v1/tickets" | "/tickets"));
    // A list asked for by a phone number (`phone`, or in `q`) is audited, whoever asks
    // (a unit's search finds nothing but is a try), with the number's hash only.
    let phones = if matches!(pattern.as_str(), "/api/v1/tickets" | "/tickets") && !unsafe_method {
        crate::api::audit::phone_hashes(&query)
    } else {
        Vec::new()
    };
    let searched_phone = !phones.is_empty() && status.is_success();
    if (unsafe_method && !intake) || refused || viewed_identities || searched_phone {
        let (action, detail) = if viewed_identities || searched_phone {
            let lookup = if phones.is_empty() {
                String::new()
            } else {
                format!(" (by phone) {}", phones.join(" "))
            };
            let action = if viewed_identities {
                "identity.view"
            } else {
                "search.phone"
            };
            (action.to_owned(), format!("{method} {pattern}{lookup}"))
        } else {
            (format!("{method} {pattern}"), status.as_u16().to_string())
        };
        if let Err(error) = crate::api::audit::record(
            state,
            principal.actor.to_string(),
            &action,
            target,
            &detail,
            client,
        )
        .await
        {
            tracing::error!(?error, %action, "could not write the audit log");
        }
    }
    response
}

/// The rate limits of a signed-in caller. A citizen following a ticket is limited
/// as an anonymous caller from the same address would be. An API token has its own
/// rate; on open routes (intake) a token, or an official's session, that may not
/// create tickets is also held to the anonymous limit of its address. A caller that
/// may create is not: a city's CRM or a call centre behind one address files many.
fn limit_caller(
    limits: &Limits,
    principal: &Principal,
    rule: Rule,
    address: &str,
) -> Result<(), std::time::Duration> {
    let (kind, rate) = match rule {
        Rule::Open => ("intake", rates::INTAKE),
        _ => ("anonymous", rates::ANONYMOUS),
    };
    if principal.follows.is_some() {
        return limits.take(kind, address, rate);
    }
    if let Some(per_min) = principal.token_rate {
        limits.take("token", &principal.actor.to_string(), rates::token(per_min))?;
    }
    if rule == Rule::Open && !principal.may(Permission::CreateTickets) {
        limits.take(kind, address, rate)?;
    }
    Ok(())
}

async fn in_scope(state: &AppState, number: &str, scope: &Scope) -> Result<bool, ApiError> {
    let Ok(number) = TicketNumber::parse(number) else {
        return Ok(false);
    };
    state
        .engine
        .in_scope(&number, scope)
        .await
        .map_err(ApiError::internal)
}
