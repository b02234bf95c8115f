//! `minhu admin`: accounts and configuration checks.

use crate::Place;
use anyhow::{Context, bail};
use clap::Subcommand;
use minhu_core::SystemClock;
use minhu_store::{Store, User};
use std::io::Read;
use std::sync::Arc;

/// The roles an official can hold (permissions per role arrive with accounts).
pub const ROLES: &[&str] = &[
    "hotline_agent",
    "dispatcher",
    "unit_handler",
    "unit_leader",
    "supervisor",
    "administrator",
    "auditor",
];

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create or update an official's account.
    AddUser {
        #[command(flatten)]
        place: Place,
        login: String,
        /// One of: hotline_agent, dispatcher, unit_handler, unit_leader, supervisor, administrator, auditor.
        #[arg(long)]
        role: String,
        /// The unit the official works for (required for unit roles).
        #[arg(long)]
        unit: Option<String>,
        /// The name shown to colleagues.
        #[arg(long)]
        name: Option<String>,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable an account (it stays in the records).
    DisableUser {
        #[command(flatten)]
        place: Place,
        login: String,
    },
    /// List accounts.
    Users {
        #[command(flatten)]
        place: Place,
    },
    /// Load and validate a city configuration directory, then summarise it.
    CheckConfig {
        #[arg(long, env = "MINHU_CONFIG", default_value = "demo/city")]
        config: std::path::PathBuf,
    },
}

/// Hashes a password with Argon2id and a fresh salt (slow on purpose, so off the
/// async threads).
pub async fn hash_password(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        use argon2::PasswordHasher;
        argon2::Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))
    })
    .await?
}

pub fn random_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzACDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..16)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

pub fn check_login(login: &str) -> anyhow::Result<()> {
    let valid = (2..=64).contains(&login.len())
        && login
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if !valid {
        bail!("login {login:?}: use 2-64 letters, digits, '.', '_' or '-'");
    }
    Ok(())
}

pub async fn run(command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::AddUser {
            place,
            login,
            role,
            unit,
            name,
            password_stdin,
        } => {
            check_login(&login)?;
            if !ROLES.contains(&role.as_str()) {
                bail!(
                    "role {role:?} is not a role; use one of {}",
                    ROLES.join(", ")
                );
            }
            let engine = crate::server::open_engine(&place, Arc::new(SystemClock)).await?;
            if let Some(unit) = &unit
                && engine
                    .city
                    .units
                    .get(&minhu_core::UnitId::new(unit.as_str()))
                    .is_none()
            {
                bail!(
                    "unit {unit:?} is not in {}",
                    place.config.join("units.toml").display()
                );
            }
            if role.starts_with("unit_") && unit.is_none() {
                bail!("role {role} needs --unit");
            }
            let (password, generated) = if password_stdin {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .context("cannot read the password")?;
                let text = text.trim_end_matches(['\r', '\n']).to_owned();
                if text.chars().count() < 10 {
                    bail!("password: use at least 10 characters");
                }
                (text, false)
            } else {
                (random_password(), true)
            };
            let user = User {
                display_name: name.unwrap_or_else(|| login.clone()),
                login,
                role,
                unit,
                password_hash: hash_password(password.clone()).await?,
                disabled: false,
                created_at: engine.now(),
            };
            engine.store.put_user(&user).await?;
            println!("saved {} ({})", user.login, user.role);
            if generated {
                println!("password: {password}");
            }
            Ok(())
        }
        AdminCommand::DisableUser { place, login } => {
            let engine = crate::server::open_engine(&place, Arc::new(SystemClock)).await?;
            let mut user = engine
                .store
                .user(&login)
                .await?
                .with_context(|| format!("no user {login:?}"))?;
            user.disabled = true;
            engine.store.put_user(&user).await?;
            println!("disabled {login}");
            Ok(())
        }
        AdminCommand::Users { place } => {
            let engine = crate::server::open_engine(&place, Arc::new(SystemClock)).await?;
            list_users(engine.store.as_ref()).await
        }
        AdminCommand::CheckConfig { config } => {
            let city = minhu_config::load_city(&config)?;
            println!(
                "{}: {} regions, {} units, {} categories, {} duty rules, tiers {}",
                city.name,
                city.regions.all().len(),
                city.units.all().len(),
                city.taxonomy.len(),
                city.duties.rules().len(),
                city.tier_codes()
            );
            Ok(())
        }
    }
}

async fn list_users(store: &dyn Store) -> anyhow::Result<()> {
    for user in store.users().await? {
        let state = if user.disabled { "disabled" } else { "active" };
        println!(
            "{}\t{}\t{}\t{}\t{state}",
            user.login,
            user.role,
            user.unit.as_deref().unwrap_or("-"),
            user.display_name
        );
    }
    Ok(())
}
