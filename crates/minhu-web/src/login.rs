//! Officials sign in with a password and get a session cookie; they sign out again.
//!
//! Passwords are Argon2id hashes, checked off the async threads. Five failures in a
//! row lock an account for a quarter of an hour; every sign-in, failure and lockout is
//! written to the audit log (never the password).

use crate::AppState;
use crate::audit::{self, client_of};
use crate::auth::{self, SESSION_COOKIE};
use crate::error::ApiError;
use crate::ui::{Chrome, Lang};
use askama::Template;
use axum::Router;
use axum::extract::{FromRequest, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minhu_core::workflow::FieldError;
use minhu_store::User;
use serde::Deserialize;
use std::collections::HashMap;

/// Failed sign-ins in a row that lock an account.
pub const MAX_FAILED_LOGINS: u32 = 5;
/// How long a locked account refuses sign-ins.
pub const LOCKOUT_MINUTES: i64 = 15;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
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

async fn login_form(
    State(state): State<AppState>,
    lang: Lang,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Html<String>, ApiError> {
    crate::pages::render(LoginPage {
        ui: Chrome::new(&state, lang, None, "/login"),
        next: safe_next(params.get("next").map(String::as_str)),
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

/// Hashes a password with Argon2id and a fresh salt (slow on purpose, so off the async
/// threads).
pub async fn hash_password(password: String) -> std::io::Result<String> {
    tokio::task::spawn_blocking(move || {
        use argon2::PasswordHasher;
        argon2::Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| std::io::Error::other(format!("cannot hash a password: {e}")))
    })
    .await
    .map_err(std::io::Error::other)?
}

/// Checks a password against a stored hash; an unknown account is checked against a
/// hash of nothing, so both take as long and a timing cannot tell which logins exist.
async fn verify_password(password: String, hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
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
    let store = state.engine.store.as_ref();
    let now = state.engine.now();
    let user = store
        .user(&form.login)
        .await
        .map_err(ApiError::internal)?
        .filter(|u| !u.disabled);
    let locked = user
        .as_ref()
        .and_then(|u| u.locked_until)
        .is_some_and(|until| until > now);
    let matches = verify_password(
        form.password,
        user.as_ref().map(|u| u.password_hash.clone()),
    )
    .await;
    let next = safe_next(form.next.as_deref());
    let refuse = |message: &str| {
        let page = LoginPage {
            ui: Chrome::new(&state, lang, None, "/login"),
            next: next.clone(),
            login: form.login.clone(),
            error: message.to_owned(),
        };
        crate::pages::render(page).map(|html| (StatusCode::UNAUTHORIZED, html).into_response())
    };
    match user {
        Some(user) if matches && !locked => {
            let fresh = User {
                failed_logins: 0,
                locked_until: None,
                ..user
            };
            store.put_user(&fresh).await.map_err(ApiError::internal)?;
            // Sign-ins are rare enough to sweep the expired sessions of everyone.
            store
                .delete_expired_sessions(now)
                .await
                .map_err(ApiError::internal)?;
            let secret = auth::start_session(
                store,
                &format!("user:{}", fresh.login),
                now,
                auth::SESSION_HOURS,
            )
            .await
            .map_err(ApiError::internal)?;
            audit::record(
                &state,
                format!("user:{}", fresh.login),
                "login",
                Some(fresh.login.clone()),
                "",
                client,
            )
            .await?;
            let cookie = auth::session_cookie(&secret, auth::SESSION_HOURS * 3600);
            Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response())
        }
        Some(user) if locked => {
            audit::record(
                &state,
                "anonymous".into(),
                "login_refused",
                Some(user.login),
                "account locked",
                client,
            )
            .await?;
            refuse("账号已临时锁定，请稍后再试 The account is locked for a while; try again later")
        }
        other => {
            if let Some(user) = other {
                let failed = user.failed_logins + 1;
                let locked_until = (failed >= MAX_FAILED_LOGINS)
                    .then(|| now + jiff::SignedDuration::from_mins(LOCKOUT_MINUTES));
                let login = user.login.clone();
                store
                    .put_user(&User {
                        failed_logins: if locked_until.is_some() { 0 } else { failed },
                        locked_until,
                        ..user
                    })
                    .await
                    .map_err(ApiError::internal)?;
                if locked_until.is_some() {
                    audit::record(
                        &state,
                        "system:login".into(),
                        "account_locked",
                        Some(login.clone()),
                        &format!("{MAX_FAILED_LOGINS} failed sign-ins"),
                        client.clone(),
                    )
                    .await?;
                }
            }
            audit::record(
                &state,
                "anonymous".into(),
                "login_failed",
                Some(form.login.clone()),
                "",
                client,
            )
            .await?;
            refuse("账号或密码不对 Wrong login or password")
        }
    }
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(secret) = auth::cookie(&headers, SESSION_COOKIE) {
        let hash = auth::digest(secret);
        let store = state.engine.store.as_ref();
        if let Some(session) = store.session(&hash).await.map_err(ApiError::internal)? {
            store
                .delete_session(&hash)
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
