//! Officials sign in with a password and get a session cookie; they sign out again.
//!
//! Passwords are Argon2id hashes, checked off the async threads, a bounded number at a
//! time. Each try is counted before its password is checked, by one statement in the
//! database per counter (see `minhu_engine::records::Store::claim_login_try`): five tries at a
//! login from one address within a quarter of an hour lock that pair for a quarter of
//! an hour; twenty from all addresses delay the login from everywhere (1 minute, then
//! twice as long each time, up to an hour), and the official is told at the next
//! sign-in. Counting pairs, not accounts, means nobody can lock an official out with
//! five requests. Logins without an account are counted and answered exactly like
//! those with one (same status, same words, one Argon2 check each), so the form
//! cannot tell which logins exist. Every sign-in, failure, lock and delay is written
//! to the audit log (never the password).

use crate::AppState;
use crate::api::audit::{self, client_of};
use crate::middleware::auth::Rule::Public;
use crate::middleware::auth::{self, SESSION_COOKIE};
use crate::middleware::error::ApiError;
use crate::middleware::extract::PageQuery;
use crate::pages::ui::{Chrome, Lang};
use crate::routes::Routes;
use askama::Template;
use axum::extract::{FromRequest, State};
use axum::http::Method;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use jiff::SignedDuration;
use minhu_core::label::Label;
use minhu_core::workflow::FieldError;
use minhu_engine::records::{LoginNotice, LoginPolicy, LoginTry};
use serde::Deserialize;
use utoipa::IntoParams;

/// Tries at one login from one address that lock that pair.
pub const MAX_FAILED_LOGINS: u32 = 5;
/// How long a locked pair refuses sign-ins, and the window tries are counted in.
pub const LOCKOUT_MINUTES: i64 = 15;
/// Tries at one login from all addresses within the window before it is delayed.
pub const LOGIN_CEILING: u32 = 20;

/// The limits of sign-in tries.
pub const LOGIN_POLICY: LoginPolicy = LoginPolicy {
    pair_tries: MAX_FAILED_LOGINS,
    pair_lock: SignedDuration::from_mins(LOCKOUT_MINUTES),
    ceiling: LOGIN_CEILING,
    window: SignedDuration::from_mins(LOCKOUT_MINUTES),
    first_delay: SignedDuration::from_mins(1),
    max_delay: SignedDuration::from_mins(60),
};

/// The one answer to every refused sign-in: a wrong password, a login without an
/// account, a locked pair and a delayed login read alike.
pub const REFUSED: Label = Label::new(
    "账号或密码不对，或尝试次数过多已暂停，请稍后再试",
    "Wrong login or password, or too many tries: wait a while and try again",
);

/// The longest login counted as given; longer ones are counted by their start (no
/// account has one), so junk cannot grow the counters' rows.
const MAX_LOGIN_CHARS: usize = 128;

pub(crate) fn routes() -> Routes {
    Routes::new()
        .page(Method::GET, "/login", Public, login_form)
        .page(Method::POST, "/login", Public, login)
        .page(Method::POST, "/logout", Public, logout)
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    ui: Chrome,
    next: String,
    login: String,
    error: String,
}

/// Only a path on this site may follow a sign-in or a language switch (no open
/// redirect); without one, the ticket list. A browser drops tabs and newlines from a
/// URL and reads `\` as `/`, so `/\t/evil.example` would leave the site: a path with a
/// control character, whitespace or a backslash anywhere is refused, as is `//`; so is
/// any other byte that is not visible ASCII (the guard sends paths percent-encoded, and
/// a `Location` header holds nothing else).
pub(crate) fn safe_next(next: Option<&str>) -> String {
    next.filter(|n| {
        n.starts_with('/')
            && !n.starts_with("//")
            && n.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
    })
    .unwrap_or("/tickets")
    .to_owned()
}

/// Where to go once signed in (or once the language is switched).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Next {
    pub next: Option<String>,
}

async fn login_form(
    State(state): State<AppState>,
    lang: Lang,
    PageQuery(Next { next }): PageQuery<Next>,
) -> Result<Html<String>, ApiError> {
    crate::pages::tickets::render(LoginPage {
        ui: Chrome::new(&state, lang, None, "/login"),
        next: safe_next(next.as_deref()),
        login: String::new(),
        error: String::new(),
    })
}

#[derive(Deserialize)]
struct LoginForm {
    login: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
}

/// The shortest password an official may choose.
const MIN_PASSWORD_CHARS: usize = 10;

pub fn check_password(password: &str) -> Result<(), FieldError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(FieldError::new(
            "password",
            format!("use at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    Ok(())
}

/// A password for a new account, to be handed over once: 16 characters from an
/// alphabet without look-alikes (no 0/O, 1/l/I).
pub fn random_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzACDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..16)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// At most this many Argon2 computations run at once (one per core): each takes tens
/// of milliseconds of a core and 19 MiB, so a burst of sign-ins queues here instead of
/// starving the server.
fn argon2_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        tokio::sync::Semaphore::new(cores)
    })
}

/// Runs one Argon2 computation off the async threads, within [`argon2_permits`].
async fn argon2<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> std::io::Result<T> {
    let _permit = argon2_permits()
        .acquire()
        .await
        .map_err(std::io::Error::other)?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(std::io::Error::other)
}

/// Hashes a password with Argon2id and a fresh salt (slow on purpose, so off the async
/// threads).
pub async fn hash_password(password: String) -> std::io::Result<String> {
    argon2(move || {
        use argon2::PasswordHasher;
        argon2::Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| std::io::Error::other(format!("cannot hash a password: {e}")))
    })
    .await?
}

/// Checks a password against a stored hash; without one (no account, or a try that
/// was refused) it is checked against a hash of nothing, so every answer takes as long
/// and a timing cannot tell which logins exist.
async fn verify_password(password: String, hash: Option<String>) -> bool {
    argon2(move || {
        use argon2::{PasswordHash, PasswordVerifier};
        const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3Xdjjv6+Hp84+53u2K8/ZuVSxMKz4fOkvG+Bv8VhXQ0";
        let stored = hash.as_deref().unwrap_or(DUMMY);
        let Ok(parsed) = PasswordHash::new(stored) else {
            return false;
        };
        let matches = argon2::Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        matches && hash.is_some()
    })
    .await
    .unwrap_or(false)
}

/// A browser's form post from another site carries its own Origin; refuse it.
fn same_origin(headers: &HeaderMap) -> bool {
    // Browsers with Fetch Metadata say where a request came from outright; they must,
    // as under `Referrer-Policy: no-referrer` Chromium sends `Origin: null` even with
    // this site's own forms.
    if let Some(site) = headers.get("sec-fetch-site") {
        return matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest.trim_end_matches('/') == host)
}

#[derive(Template)]
#[template(path = "login_notice.html")]
struct NoticePage {
    ui: Chrome,
    next: String,
    failures: u32,
    delays: u32,
}

async fn login(
    State(state): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    if !same_origin(&headers) {
        return Err(ApiError::csrf());
    }
    let client = client_of(&request);
    let axum::Form(form) = axum::Form::<LoginForm>::from_request(request, &state)
        .await
        .map_err(|e| ApiError::malformed(None, e.body_text()))?;
    let accounts = state.engine.accounts();
    let address = client.clone().unwrap_or_else(|| "unknown".into());
    let counted: String = form.login.chars().take(MAX_LOGIN_CHARS).collect();
    let user = accounts
        .user(&form.login)
        .await
        .map_err(ApiError::internal)?
        .filter(|u| !u.disabled);
    let tried = accounts
        .claim_login_try(&counted, &address, &LOGIN_POLICY)
        .await
        .map_err(ApiError::internal)?;
    let hash = user
        .as_ref()
        .filter(|_| tried == LoginTry::Allowed)
        .map(|u| u.password_hash.clone());
    // True only for an allowed try at an account with the right password.
    let matches = verify_password(form.password, hash).await;
    let next = safe_next(form.next.as_deref());
    if let Some(user) = user.filter(|_| matches) {
        let notice = accounts
            .login_succeeded(&counted, &address, &LOGIN_POLICY)
            .await
            .map_err(ApiError::internal)?;
        // Sign-ins are rare enough to sweep the expired sessions of everyone.
        accounts
            .sweep_sessions()
            .await
            .map_err(ApiError::internal)?;
        let subject = format!("user:{}", user.login);
        let secret = accounts
            .start_session(&subject, auth::SESSION_HOURS)
            .await
            .map_err(ApiError::internal)?;
        let told = if notice.delays > 0 {
            format!(
                "told of {} failed sign-ins and {} delays",
                notice.failures, notice.delays
            )
        } else {
            String::new()
        };
        audit::record(&state, subject, "login", Some(user.login), &told, client).await?;
        let cookie = auth::session_cookie(&secret, auth::SESSION_HOURS * 3600);
        return Ok(match notice {
            LoginNotice { delays: 0, .. } => {
                ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response()
            }
            LoginNotice { failures, delays } => {
                let page = crate::pages::tickets::render(NoticePage {
                    ui: Chrome::new(&state, lang, None, "/login"),
                    next,
                    failures,
                    delays,
                })?;
                ([(header::SET_COOKIE, cookie)], page).into_response()
            }
        });
    }
    let (action, detail) = match tried {
        LoginTry::Allowed => ("login_failed", String::new()),
        LoginTry::Locked { newly } => {
            if newly {
                audit::record(
                    &state,
                    "system:login".into(),
                    "account_locked",
                    Some(counted.clone()),
                    &format!("{MAX_FAILED_LOGINS} failed sign-ins from {address}"),
                    client.clone(),
                )
                .await?;
            }
            ("login_refused", format!("locked for {address}"))
        }
        LoginTry::Delayed { newly, until } => {
            if newly {
                audit::record(
                    &state,
                    "system:login".into(),
                    "login_delayed",
                    Some(counted.clone()),
                    &format!(
                        "{LOGIN_CEILING} sign-in tries from all addresses within \
                         {LOCKOUT_MINUTES} minutes; delayed until {until}"
                    ),
                    client.clone(),
                )
                .await?;
            }
            ("login_refused", format!("delayed until {until}"))
        }
    };
    audit::record(
        &state,
        "anonymous".into(),
        action,
        Some(counted),
        &detail,
        client,
    )
    .await?;
    let page = LoginPage {
        ui: Chrome::new(&state, lang, None, "/login"),
        next,
        login: form.login,
        error: lang.pick(REFUSED).to_owned(),
    };
    crate::pages::tickets::render(page).map(|html| (StatusCode::UNAUTHORIZED, html).into_response())
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(secret) = auth::cookie(&headers, SESSION_COOKIE) {
        let accounts = state.engine.accounts();
        if let Some(session) = accounts.session(secret).await.map_err(ApiError::internal)? {
            accounts
                .end_session(secret)
                .await
                .map_err(ApiError::internal)?;
            audit::record(&state, session.subject, "logout", None, "", None).await?;
        }
    }
    Ok((
        [(header::SET_COOKIE, auth::session_cookie("", 0))],
        Redirect::to("/login"),
    )
        .into_response())
}
