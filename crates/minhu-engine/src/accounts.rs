//! Officials' accounts: who may sign in, with which role, seeing which part of the city.
//!
//! `minhu admin` and the administrators' `/admin/users` page both go through here, so
//! they refuse the same mistakes (with the field named), end the sessions a change makes
//! stale, and leave the same trace in the audit log. Passwords arrive already hashed:
//! hashing belongs to the sign-in code, which also checks them.

use crate::{Engine, EngineError};
use minhu_core::access::Role;
use minhu_core::ids::{RegionId, UnitId};
use minhu_core::workflow::FieldError;
use minhu_store::{AuditEntry, User};

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
    /// Checks a scope's unit and region against the city.
    pub fn check_scope(&self, unit: Option<&str>, region: Option<&str>) -> Result<(), FieldError> {
        if let Some(unit) = unit
            && self.city.units.get(&UnitId::new(unit)).is_none()
        {
            return Err(FieldError::new(
                "unit",
                format!("{unit:?} is not a unit of units.toml"),
            ));
        }
        if let Some(region) = region
            && self.city.regions.get(&RegionId::new(region)).is_none()
        {
            return Err(FieldError::new(
                "region",
                format!("{region:?} is not a region of regions.toml"),
            ));
        }
        Ok(())
    }

    /// Creates an account or changes one. A change of role or scope ends the
    /// official's sessions, so no page keeps showing what they may no longer see.
    pub async fn save_account(
        &self,
        change: AccountChange,
        admin: &Admin,
    ) -> Result<User, EngineError> {
        check_login("login", &change.login)?;
        let role = parse_role(&change.role)?;
        let blank = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
        let unit = blank(change.unit);
        let region = blank(change.region);
        self.check_scope(unit.as_deref(), region.as_deref())?;
        if role.needs_unit() && unit.is_none() {
            return Err(
                FieldError::new("unit", format!("a {role} works for one unit; say which")).into(),
            );
        }
        let existing = self.store.user(&change.login).await?;
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
                self.store.put_user(&user).await?;
                if stale {
                    self.store
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
                    created_at: self.now(),
                    failed_logins: 0,
                    locked_until: None,
                };
                self.store.put_user(&user).await?;
                (user, detail)
            }
        };
        self.audit_account(admin, "user.saved", &user.login, detail)
            .await?;
        Ok(user)
    }

    /// Disables an account (it stays in the records, its sessions end) or enables it
    /// again, which also clears a lock from failed sign-ins.
    pub async fn set_account_disabled(
        &self,
        login: &str,
        disabled: bool,
        admin: &Admin,
    ) -> Result<User, EngineError> {
        // Only the flag is written: a sign-in or a save in flight, holding the account
        // as it was read, has no column of it to write back.
        if !self.store.set_user_disabled(login, disabled).await? {
            return Err(EngineError::NoAccount(login.to_owned()));
        }
        if !disabled {
            self.store.clear_login_tries(login).await?;
        }
        let user = self
            .store
            .user(login)
            .await?
            .ok_or_else(|| EngineError::NoAccount(login.to_owned()))?;
        let action = if disabled {
            self.store
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
        self.store
            .audit(&AuditEntry {
                seq: 0,
                at: self.now(),
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
