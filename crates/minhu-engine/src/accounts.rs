//! Accounts and credentials: officials' accounts, sessions, API tokens, Open311 keys
//! and the sign-in counters ([`Engine::accounts`]).
//!
//! `minhu admin` and the administrators' `/admin/users` page both go through here, so
//! they refuse the same mistakes (with the field named), end the sessions a change makes
//! stale, and leave the same trace in the audit log. Secrets (session cookies, tokens,
//! keys) are made and digested here and only their SHA-256 is stored; a caller looks
//! one up by the secret it was shown. Passwords arrive already hashed: hashing belongs
//! to the sign-in code, which also checks them.

use crate::{Engine, EngineError};
use jiff::SignedDuration;
use minhu_core::access::{Permission, Role, Scope};
use minhu_core::ids::{RegionId, UnitId};
use minhu_core::workflow::FieldError;
use minhu_store::{
    ApiToken, AuditEntry, LoginNotice, LoginPolicy, LoginTry, Open311Key, Session, User,
};
use sha2::{Digest, Sha256};

/// SHA-256, hex: how tokens, keys and session secrets are kept (they are long random
/// strings, so a fast digest is enough).
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// 32 random bytes, hex.
pub fn random_secret() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// What an API token may do: its permissions, its part of the city (a unit and the
/// units under it, or a region subtree) and its request rate.
#[derive(Clone, Debug, Default)]
pub struct TokenGrant<'a> {
    pub permissions: &'a [Permission],
    pub unit: Option<&'a str>,
    pub region: Option<&'a str>,
    /// Requests per minute; `None`: the web layer's default rate for tokens.
    pub rate_per_min: Option<u32>,
}

/// What an administrator sets on an account; a new account also needs a password.
#[derive(Clone, Debug, Default)]
pub struct AccountChange {
    pub login: String,
    /// The name shown to colleagues; the login when empty.
    pub display_name: Option<String>,
    pub role: String,
    /// The unit the official works for (required for unit roles).
    pub unit: Option<String>,
    /// A region: the official sees the tickets placed in it. Without unit or region,
    /// the whole city.
    pub region: Option<String>,
    /// The hash of a new password; `None` keeps an existing account's password.
    pub password_hash: Option<String>,
}

impl AccountChange {
    /// The account as it is, to change one thing of it.
    pub fn keeping(user: &User) -> Self {
        Self {
            login: user.login.clone(),
            display_name: Some(user.display_name.clone()),
            role: user.role.clone(),
            unit: user.unit.clone(),
            region: user.region.clone(),
            password_hash: None,
        }
    }
}

/// Who made an account change, for the audit log: `user:<login>` or
/// `system:cli:<who>`, and the client's address when it came over HTTP.
#[derive(Clone, Debug)]
pub struct Admin {
    pub actor: String,
    pub client: Option<String>,
}

/// Logins and API token names: short, and safe in URLs and logs.
pub fn check_login(field: &str, login: &str) -> Result<(), FieldError> {
    let valid = (2..=64).contains(&login.len())
        && login
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if valid {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            format!("{login:?}: use 2-64 letters, digits, '.', '_' or '-'"),
        ))
    }
}

pub fn parse_role(role: &str) -> Result<Role, FieldError> {
    Role::from_code(role).ok_or_else(|| {
        FieldError::new(
            "role",
            format!("{role:?} is not a role; use one of {}", Role::codes()),
        )
    })
}

/// How an account's view of the city reads in the audit log and on screen.
pub fn describe_scope(unit: Option<&str>, region: Option<&str>) -> String {
    match (unit, region) {
        (_, Some(region)) => format!("region {region}"),
        (Some(unit), None) => format!("unit {unit}"),
        (None, None) => "the whole city".into(),
    }
}

impl Engine {
    /// Accounts, sessions, tokens and keys.
    pub fn accounts(&self) -> Accounts<'_> {
        Accounts { engine: self }
    }

    /// Checks a scope's unit and region against the cities served.
    pub fn check_scope(&self, unit: Option<&str>, region: Option<&str>) -> Result<(), FieldError> {
        let cities = self.province.cities();
        if let Some(unit) = unit
            && !cities
                .iter()
                .any(|c| c.city.units.get(&UnitId::new(unit)).is_some())
        {
            return Err(FieldError::new(
                "unit",
                format!("{unit:?} is not a unit of units.toml"),
            ));
        }
        if let Some(region) = region
            && self
                .province
                .city_of_region(&RegionId::new(region))
                .is_none()
        {
            return Err(FieldError::new(
                "region",
                format!("{region:?} is not a region of regions.toml"),
            ));
        }
        Ok(())
    }
}

/// The accounts service ([`Engine::accounts`]).
pub struct Accounts<'a> {
    engine: &'a Engine,
}

impl Accounts<'_> {
    pub async fn user(&self, login: &str) -> Result<Option<User>, EngineError> {
        Ok(self.engine.store.user(login).await?)
    }

    pub async fn users(&self) -> Result<Vec<User>, EngineError> {
        Ok(self.engine.store.users().await?)
    }

    /// Whether an administrator with `scope` manages an account limited to `unit` or
    /// `region`: the whole province's manage every account, a city's those of their
    /// city only (never one over the whole province).
    pub fn manages(&self, scope: &Scope, unit: Option<&str>, region: Option<&str>) -> bool {
        if matches!(scope, Scope::All) {
            return true;
        }
        let city = self.engine.city_of_account(
            unit.map(UnitId::new).as_ref(),
            region.map(RegionId::new).as_ref(),
        );
        match city {
            Some(city) => self.engine.cities_in(scope).iter().any(|c| c.id == city),
            None => false,
        }
    }

    /// The accounts an administrator with `scope` manages ([`Accounts::manages`]).
    pub async fn users_in(&self, scope: &Scope) -> Result<Vec<User>, EngineError> {
        let mut users = self.users().await?;
        users.retain(|u| self.manages(scope, u.unit.as_deref(), u.region.as_deref()));
        Ok(users)
    }

    /// An account an administrator with `scope` manages; another city's reads as none.
    pub async fn user_in(&self, scope: &Scope, login: &str) -> Result<Option<User>, EngineError> {
        let user = self.user(login).await?;
        Ok(user.filter(|u| self.manages(scope, u.unit.as_deref(), u.region.as_deref())))
    }

    /// [`Accounts::save`] by an administrator with `scope`: a city's administrator
    /// creates and changes accounts of their city only, never one over the province.
    pub async fn save_in(
        &self,
        scope: &Scope,
        change: AccountChange,
        admin: &Admin,
    ) -> Result<User, EngineError> {
        let blank = |value: &Option<String>| value.clone().filter(|v| !v.trim().is_empty());
        let (unit, region) = (blank(&change.unit), blank(&change.region));
        if !self.manages(scope, unit.as_deref(), region.as_deref()) {
            let field = if unit.is_some() && region.is_none() {
                "unit"
            } else {
                "region"
            };
            return Err(FieldError::new(
                field,
                "an administrator of a city manages accounts of that city only: give one of its units or regions",
            )
            .into());
        }
        if let Some(before) = self.user(&change.login).await?
            && !self.manages(scope, before.unit.as_deref(), before.region.as_deref())
        {
            return Err(FieldError::new("login", "is already used; choose another").into());
        }
        self.save(change, admin).await
    }

    /// [`Accounts::set_disabled`] by an administrator with `scope`: another city's
    /// account is no account to them.
    pub async fn set_disabled_in(
        &self,
        scope: &Scope,
        login: &str,
        disabled: bool,
        admin: &Admin,
    ) -> Result<User, EngineError> {
        if self.user_in(scope, login).await?.is_none() {
            return Err(EngineError::NoAccount(login.to_owned()));
        }
        self.set_disabled(login, disabled, admin).await
    }

    /// Starts a session for `subject` (`user:<login>`, `citizen:<number>`) lasting
    /// `hours`; returns the cookie's secret.
    pub async fn start_session(&self, subject: &str, hours: i64) -> Result<String, EngineError> {
        let secret = random_secret();
        let now = self.engine.now();
        self.engine
            .store
            .put_session(&Session {
                id_hash: digest(&secret),
                subject: subject.to_owned(),
                csrf: random_secret(),
                created_at: now,
                expires_at: now + SignedDuration::from_hours(hours),
            })
            .await?;
        Ok(secret)
    }

    /// The unexpired session whose cookie holds `secret`.
    pub async fn session(&self, secret: &str) -> Result<Option<Session>, EngineError> {
        let now = self.engine.now();
        let session = self.engine.store.session(&digest(secret)).await?;
        Ok(session.filter(|s| s.expires_at > now))
    }

    /// Ends the session whose cookie holds `secret` (signing out).
    pub async fn end_session(&self, secret: &str) -> Result<(), EngineError> {
        Ok(self.engine.store.delete_session(&digest(secret)).await?)
    }

    /// Forgets every expired session; returns how many.
    pub async fn sweep_sessions(&self) -> Result<u64, EngineError> {
        let now = self.engine.now();
        Ok(self.engine.store.delete_expired_sessions(now).await?)
    }

    /// Creates (or replaces) the API token `name` and returns it; only its hash is kept.
    pub async fn issue_token(
        &self,
        name: &str,
        grant: &TokenGrant<'_>,
    ) -> Result<String, EngineError> {
        let token = format!("mh_{}", random_secret());
        self.engine
            .store
            .put_token(&ApiToken {
                token_hash: digest(&token),
                name: name.to_owned(),
                permissions: grant
                    .permissions
                    .iter()
                    .map(|p| p.code().to_owned())
                    .collect(),
                unit: grant.unit.map(str::to_owned),
                region: grant.region.map(str::to_owned),
                created_at: self.engine.now(),
                expires_at: None,
                revoked: false,
                rate_per_min: grant.rate_per_min,
            })
            .await?;
        self.engine.tokens.clear();
        Ok(token)
    }

    /// The token `secret` if it may still be used (not revoked, not expired). Lookups
    /// are kept for [`TOKEN_CACHE_TTL`]: every API request asks, and a round trip per
    /// request cost PostgreSQL intake a fifth of its throughput. A renewal or revocation
    /// through this engine takes effect at once; one made elsewhere (another node, the
    /// CLI) within the time-to-live.
    pub async fn token(&self, secret: &str) -> Result<Option<ApiToken>, EngineError> {
        let now = self.engine.now();
        let hash = digest(secret);
        let token = match self.engine.tokens.get(&hash) {
            Some(token) => token,
            None => {
                let token = self.engine.store.token(&hash).await?;
                self.engine.tokens.put(hash, token.clone());
                token
            }
        };
        Ok(token.filter(|t| !t.revoked && t.expires_at.is_none_or(|at| at > now)))
    }

    /// Every token, revoked ones included (their names and grants, never a secret).
    pub async fn tokens(&self) -> Result<Vec<ApiToken>, EngineError> {
        Ok(self.engine.store.tokens().await?)
    }

    /// Revokes the token `name`; false when there is none of that name.
    pub async fn revoke_token(&self, name: &str) -> Result<bool, EngineError> {
        let tokens = self.engine.store.tokens().await?;
        let Some(token) = tokens.into_iter().find(|t| t.name == name) else {
            return Ok(false);
        };
        self.engine
            .store
            .put_token(&ApiToken {
                revoked: true,
                ..token
            })
            .await?;
        self.engine.tokens.clear();
        Ok(true)
    }

    /// Creates an Open311 API key for `label` and returns it; only its digest is kept.
    pub async fn issue_open311_key(&self, label: &str) -> Result<String, EngineError> {
        let key = format!("o311_{}", random_secret());
        self.engine
            .store
            .put_open311_key(&Open311Key {
                key_hash: digest(&key),
                label: label.to_owned(),
                disabled: false,
                created_at: self.engine.now(),
            })
            .await?;
        Ok(key)
    }

    /// The Open311 key `secret` if it is known and not disabled.
    pub async fn open311_key(&self, secret: &str) -> Result<Option<Open311Key>, EngineError> {
        let key = self.engine.store.open311_key(&digest(secret)).await?;
        Ok(key.filter(|k| !k.disabled))
    }

    /// Counts a sign-in try for `login` from `address` against the policy, before the
    /// password is checked (see `minhu_store::LoginTry`).
    pub async fn claim_login_try(
        &self,
        login: &str,
        address: &str,
        policy: &LoginPolicy,
    ) -> Result<LoginTry, EngineError> {
        let now = self.engine.now();
        Ok(self
            .engine
            .store
            .claim_login_try(login, address, now, policy)
            .await?)
    }

    /// Clears the failures of a sign-in that held; says what to tell the official.
    pub async fn login_succeeded(
        &self,
        login: &str,
        address: &str,
        policy: &LoginPolicy,
    ) -> Result<LoginNotice, EngineError> {
        let now = self.engine.now();
        Ok(self
            .engine
            .store
            .login_succeeded(login, address, now, policy)
            .await?)
    }

    /// Creates an account or changes one. A change of role or scope ends the
    /// official's sessions, so no page keeps showing what they may no longer see.
    pub async fn save(&self, change: AccountChange, admin: &Admin) -> Result<User, EngineError> {
        check_login("login", &change.login)?;
        let role = parse_role(&change.role)?;
        let blank = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
        let unit = blank(change.unit);
        let region = blank(change.region);
        self.engine
            .check_scope(unit.as_deref(), region.as_deref())?;
        if role.needs_unit() && unit.is_none() {
            return Err(
                FieldError::new("unit", format!("a {role} works for one unit; say which")).into(),
            );
        }
        if role.needs_region() {
            use minhu_core::region::RegionLevel;
            let level = region
                .as_deref()
                .and_then(|r| {
                    let id = RegionId::new(r);
                    let city = self.engine.province.city_of_region(&id)?;
                    city.city.regions.get(&id)
                })
                .map(|r| r.level);
            if !matches!(level, Some(RegionLevel::Grid | RegionLevel::Community)) {
                return Err(FieldError::new(
                    "region",
                    format!("a {role} works in one grid or community; name its region"),
                )
                .into());
            }
        }
        let existing = self.engine.store.user(&change.login).await?;
        let display_name = blank(change.display_name).unwrap_or_else(|| change.login.clone());
        let (user, detail) = match existing {
            Some(before) => {
                let stale = before.role != change.role
                    || before.unit != unit
                    || before.region != region
                    || change.password_hash.is_some();
                let detail = format!(
                    "role {} -> {}, {} -> {}{}",
                    before.role,
                    change.role,
                    describe_scope(before.unit.as_deref(), before.region.as_deref()),
                    describe_scope(unit.as_deref(), region.as_deref()),
                    if change.password_hash.is_some() {
                        ", new password"
                    } else {
                        ""
                    },
                );
                let user = User {
                    display_name,
                    role: change.role,
                    unit,
                    region,
                    password_hash: change.password_hash.unwrap_or(before.password_hash),
                    ..before
                };
                self.engine.store.put_user(&user).await?;
                if stale {
                    self.engine
                        .store
                        .delete_sessions_of(&format!("user:{}", user.login))
                        .await?;
                }
                (user, detail)
            }
            None => {
                let password_hash = change
                    .password_hash
                    .ok_or_else(|| FieldError::new("password", "a new account needs a password"))?;
                let detail = format!(
                    "new, role {}, {}",
                    change.role,
                    describe_scope(unit.as_deref(), region.as_deref())
                );
                let user = User {
                    login: change.login,
                    display_name,
                    role: change.role,
                    unit,
                    region,
                    password_hash,
                    disabled: false,
                    created_at: self.engine.now(),
                    failed_logins: 0,
                    locked_until: None,
                };
                self.engine.store.put_user(&user).await?;
                (user, detail)
            }
        };
        self.audit_account(admin, "user.saved", &user.login, detail)
            .await?;
        Ok(user)
    }

    /// Disables an account (it stays in the records, its sessions end) or enables it
    /// again, which also clears a lock from failed sign-ins.
    pub async fn set_disabled(
        &self,
        login: &str,
        disabled: bool,
        admin: &Admin,
    ) -> Result<User, EngineError> {
        // Only the flag is written: a sign-in or a save in flight, holding the account
        // as it was read, has no column of it to write back.
        if !self.engine.store.set_user_disabled(login, disabled).await? {
            return Err(EngineError::NoAccount(login.to_owned()));
        }
        if !disabled {
            self.engine.store.clear_login_tries(login).await?;
        }
        let user = self
            .engine
            .store
            .user(login)
            .await?
            .ok_or_else(|| EngineError::NoAccount(login.to_owned()))?;
        let action = if disabled {
            self.engine
                .store
                .delete_sessions_of(&format!("user:{login}"))
                .await?;
            "user.disabled"
        } else {
            "user.enabled"
        };
        self.audit_account(admin, action, login, String::new())
            .await?;
        Ok(user)
    }

    async fn audit_account(
        &self,
        admin: &Admin,
        action: &str,
        login: &str,
        detail: String,
    ) -> Result<(), EngineError> {
        self.engine
            .store
            .audit(&AuditEntry {
                seq: 0,
                at: self.engine.now(),
                actor: admin.actor.clone(),
                action: action.to_owned(),
                target: Some(login.to_owned()),
                detail,
                client: admin.client.clone(),
            })
            .await?;
        Ok(())
    }
}

/// How long a token lookup is trusted before the store is asked again.
pub const TOKEN_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// Lookups kept at most; a full cache starts afresh (random secrets sent by a prober
/// cannot make it grow without bound).
const TOKEN_CACHE_SIZE: usize = 10_000;

/// Recent token lookups by digest, unknown tokens included, each for
/// [`TOKEN_CACHE_TTL`] of monotonic time (not the engine's clock: this is about the
/// store's round trips, not the city's time).
#[derive(Default)]
pub(crate) struct TokenCache {
    entries:
        std::sync::Mutex<std::collections::HashMap<String, (Option<ApiToken>, std::time::Instant)>>,
}

impl TokenCache {
    fn get(&self, hash: &str) -> Option<Option<ApiToken>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let (token, at) = entries.get(hash)?;
        (at.elapsed() < TOKEN_CACHE_TTL).then(|| token.clone())
    }

    fn put(&self, hash: String, token: Option<ApiToken>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= TOKEN_CACHE_SIZE {
            entries.clear();
        }
        entries.insert(hash, (token, std::time::Instant::now()));
    }

    /// After a token is issued, renewed (the old secret stops working) or revoked.
    fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}
