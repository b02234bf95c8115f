//! `minhu admin`: accounts, API tokens and configuration checks. Every change of
//! access is written to the audit log.

use crate::Place;
use anyhow::{Context, bail};
use clap::Subcommand;
use minhu_core::SystemClock;
use minhu_core::access::{Permission, Role};
use minhu_engine::Engine;
use minhu_engine::accounts::{AccountChange, Admin, TokenGrant, check_login, describe_scope};
use minhu_engine::records::{AuditEntry, User};
use minhu_web::pages::login::{check_password, hash_password, random_password};
use std::io::Read;
use std::sync::Arc;

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
        /// The unit the official works for (required for unit roles): they see its
        /// tickets and those of the units under it.
        #[arg(long)]
        unit: Option<String>,
        /// A region id: the official sees the tickets placed in it (a district's
        /// supervisors). Without --unit or --region: the whole city.
        #[arg(long)]
        region: Option<String>,
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
    /// Change an official's role (their sessions end).
    SetRole {
        #[command(flatten)]
        place: Place,
        login: String,
        role: String,
    },
    /// Change the part of the city an official sees (their sessions end).
    SetScope {
        #[command(flatten)]
        place: Place,
        login: String,
        #[arg(long, conflicts_with_all = ["region", "all"])]
        unit: Option<String>,
        #[arg(long, conflicts_with = "all")]
        region: Option<String>,
        /// The whole city.
        #[arg(long)]
        all: bool,
    },
    /// Create (or replace) an API token; it is printed once and stored only as a hash.
    AddToken {
        #[command(flatten)]
        place: Place,
        /// A name for the client, e.g. crm or open311-gateway.
        name: String,
        /// Give the token a role's permissions.
        #[arg(long, required_unless_present = "permissions")]
        role: Option<String>,
        /// Or list permissions, comma-separated (ticket.view,ticket.create,...).
        #[arg(long, value_delimiter = ',')]
        permissions: Vec<String>,
        /// Limit the token to a unit and the units under it.
        #[arg(long)]
        unit: Option<String>,
        /// Limit the token to a region and everything inside it.
        #[arg(long)]
        region: Option<String>,
        /// The requests the token may make, as N/s or N/min (default 50/s). A token
        /// with ticket.create is held to this, not to the per-address limit of
        /// anonymous intake.
        #[arg(long, value_parser = parse_rate)]
        rate: Option<u32>,
    },
    /// List API tokens (names, permissions, scopes; never the tokens).
    Tokens {
        #[command(flatten)]
        place: Place,
    },
    /// Read the audit log (oldest first), or export it as CSV.
    Audit {
        #[command(flatten)]
        place: Place,
        #[arg(long)]
        actor: Option<String>,
        #[arg(long)]
        action: Option<String>,
        /// A ticket number, login or token name.
        #[arg(long)]
        target: Option<String>,
        /// Entries at or after this moment (2026-11-22T08:00:00+08:00).
        #[arg(long)]
        from: Option<jiff::Timestamp>,
        #[arg(long, default_value_t = 1000)]
        limit: u32,
        #[arg(long)]
        csv: bool,
    },
    /// Print, as JSON, every ticket of a citizen (by phone) with its full history.
    CitizenExport {
        #[command(flatten)]
        place: Place,
        phone: String,
    },
    /// Erase a citizen's identity (phone, name, numbers in the text) from all their
    /// tickets; a pseudonym stands in, and the event logs keep everything else.
    CitizenErase {
        #[command(flatten)]
        place: Place,
        phone: String,
    },
    /// Erase the identities of tickets closed more than N days ago (retention).
    Retention {
        #[command(flatten)]
        place: Place,
        #[arg(long, default_value_t = 730)]
        closed_days: u32,
        /// Only count what would be erased.
        #[arg(long)]
        dry_run: bool,
    },
    /// Revoke an API token.
    RevokeToken {
        #[command(flatten)]
        place: Place,
        name: String,
    },
    /// Create an Open311 API key for a client (a 311 app); it is printed once and
    /// stored only as a hash. Clients send it as the `api_key` field of a POST.
    AddOpen311Key {
        #[command(flatten)]
        place: Place,
        /// Who the key is for, e.g. fixmystreet.
        label: String,
    },
    /// Rebuild the search index from the store (with `minhu serve` stopped).
    Reindex {
        #[command(flatten)]
        place: Place,
    },
    /// Recompute every analytics rollup table from the event log (after a restore, or
    /// to check the kept counts); prints how many rows changed in each table.
    RebuildRollups {
        #[command(flatten)]
        place: Place,
    },
    /// Write a consistent copy of the store to a new file while the server runs
    /// (SQLite: VACUUM INTO; PostgreSQL: pg_dump's custom format).
    Backup {
        #[command(flatten)]
        place: Place,
        /// The file to write; it must not exist.
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Put a backup in place of the store (stop `minhu serve` first); an older
    /// backup's schema is brought up to date, and the search index rebuilds itself.
    Restore {
        #[command(flatten)]
        place: Place,
        /// A file written by `minhu admin backup`.
        #[arg(long)]
        from: std::path::PathBuf,
        /// Replace a database that holds data (SQLite: the file is kept beside).
        #[arg(long)]
        force: bool,
    },
    /// Load and validate a configuration directory (a city, or a province and its
    /// cities), then summarise it.
    CheckConfig {
        #[arg(long, env = "MINHU_CONFIG", default_value = "demo/city")]
        config: std::path::PathBuf,
    },
}

/// Writes an access change to the audit log, as done from the command line.
async fn audit(engine: &Engine, action: &str, target: &str, detail: String) -> anyhow::Result<()> {
    engine
        .audit()
        .record(&AuditEntry {
            seq: 0,
            at: engine.now(),
            actor: cli_admin().actor,
            action: action.to_owned(),
            target: Some(target.to_owned()),
            detail,
            client: None,
        })
        .await?;
    Ok(())
}

/// The person at the terminal, as the audit log names them.
fn cli_admin() -> Admin {
    let who = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    Admin {
        actor: format!("system:cli:{who}"),
        client: None,
    }
}

async fn open(place: &Place) -> anyhow::Result<Engine> {
    crate::server::open_engine(place, Arc::new(SystemClock)).await
}

async fn existing_user(engine: &Engine, login: &str) -> anyhow::Result<User> {
    engine
        .accounts()
        .user(login)
        .await?
        .with_context(|| format!("no user {login:?}"))
}

pub async fn run(command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::AddUser {
            place,
            login,
            role,
            unit,
            region,
            name,
            password_stdin,
        } => {
            let (password, generated) = if password_stdin {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .context("cannot read the password")?;
                let text = text.trim_end_matches(['\r', '\n']).to_owned();
                check_password(&text)?;
                (text, false)
            } else {
                (random_password(), true)
            };
            let engine = open(&place).await?;
            let change = AccountChange {
                login,
                display_name: name,
                role,
                unit,
                region,
                password_hash: Some(hash_password(password.clone()).await?),
            };
            let user = engine.accounts().save(change, &cli_admin()).await?;
            let scope = describe_scope(user.unit.as_deref(), user.region.as_deref());
            println!("saved {} ({}, {scope})", user.login, user.role);
            if generated {
                println!("password: {password}");
            }
            Ok(())
        }
        AdminCommand::DisableUser { place, login } => {
            let engine = open(&place).await?;
            engine
                .accounts()
                .set_disabled(&login, true, &cli_admin())
                .await?;
            println!("disabled {login}");
            Ok(())
        }
        AdminCommand::Users { place } => list_users(&open(&place).await?).await,
        AdminCommand::SetRole { place, login, role } => {
            let engine = open(&place).await?;
            let user = existing_user(&engine, &login).await?;
            let change = AccountChange {
                role,
                ..AccountChange::keeping(&user)
            };
            let user = engine.accounts().save(change, &cli_admin()).await?;
            println!("{login} is now {}", user.role);
            Ok(())
        }
        AdminCommand::SetScope {
            place,
            login,
            unit,
            region,
            all,
        } => {
            if unit.is_none() && region.is_none() && !all {
                bail!("say which part of the city: --unit UNIT, --region REGION or --all");
            }
            let engine = open(&place).await?;
            let user = existing_user(&engine, &login).await?;
            let change = AccountChange {
                unit,
                region,
                ..AccountChange::keeping(&user)
            };
            let user = engine.accounts().save(change, &cli_admin()).await?;
            let scope = describe_scope(user.unit.as_deref(), user.region.as_deref());
            println!("{login} now sees {scope}");
            Ok(())
        }
        AdminCommand::AddToken {
            place,
            name,
            role,
            permissions,
            unit,
            region,
            rate,
        } => {
            check_login("NAME", &name)?;
            let mut granted: Vec<Permission> = match &role {
                Some(role) => Role::from_code(role)
                    .with_context(|| {
                        format!("role {role:?} is not a role; use one of {}", Role::codes())
                    })?
                    .permissions()
                    .to_vec(),
                None => Vec::new(),
            };
            for code in &permissions {
                let permission = Permission::from_code(code.trim()).with_context(|| {
                    format!(
                        "permission {code:?} is not a permission; use some of {}",
                        Permission::codes()
                    )
                })?;
                if !granted.contains(&permission) {
                    granted.push(permission);
                }
            }
            let engine = open(&place).await?;
            engine.check_scope(unit.as_deref(), region.as_deref())?;
            let grant = TokenGrant {
                permissions: &granted,
                unit: unit.as_deref(),
                region: region.as_deref(),
                rate_per_min: rate,
            };
            let token = engine.accounts().issue_token(&name, &grant).await?;
            let codes: Vec<&str> = granted.iter().map(|p| p.code()).collect();
            let scope = describe_scope(unit.as_deref(), region.as_deref());
            let rate = describe_rate(rate);
            audit(
                &engine,
                "token.saved",
                &name,
                format!("{}; {scope}; {rate}", codes.join(",")),
            )
            .await?;
            eprintln!(
                "token {name}: {}; {scope}; {rate} (shown once)",
                codes.join(",")
            );
            println!("{token}");
            Ok(())
        }
        AdminCommand::Tokens { place } => {
            let engine = open(&place).await?;
            for token in engine.accounts().tokens().await? {
                let state = if token.revoked { "revoked" } else { "active" };
                println!(
                    "{}\t{}\t{}\t{}\t{state}",
                    token.name,
                    token.permissions.join(","),
                    describe_scope(token.unit.as_deref(), token.region.as_deref()),
                    describe_rate(token.rate_per_min)
                );
            }
            Ok(())
        }
        AdminCommand::AddOpen311Key { place, label } => {
            if label.trim().is_empty() {
                bail!("LABEL: must not be blank");
            }
            let engine = open(&place).await?;
            let key = engine.accounts().issue_open311_key(&label).await?;
            audit(&engine, "open311_key.saved", &label, String::new()).await?;
            eprintln!("Open311 key for {label} (shown once)");
            println!("{key}");
            Ok(())
        }
        AdminCommand::RevokeToken { place, name } => {
            let engine = open(&place).await?;
            if !engine.accounts().revoke_token(&name).await? {
                bail!("no token {name:?}");
            }
            audit(&engine, "token.revoked", &name, String::new()).await?;
            println!("revoked {name}");
            Ok(())
        }
        AdminCommand::Audit {
            place,
            actor,
            action,
            target,
            from,
            limit,
            csv,
        } => {
            let filter = minhu_web::api::audit::AuditQuery {
                actor,
                action,
                target,
                from,
                limit: Some(limit),
                ..Default::default()
            }
            .filter()?;
            let engine = open(&place).await?;
            let entries = engine.audit().log(&filter).await?;
            audit(
                &engine,
                if csv { "audit.export" } else { "audit.read" },
                "audit_log",
                format!("{} entries", entries.len()),
            )
            .await?;
            if csv {
                print!("{}", minhu_web::api::audit::to_csv(&entries));
            } else {
                for e in &entries {
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}",
                        e.seq,
                        e.at,
                        e.actor,
                        e.action,
                        e.target.as_deref().unwrap_or("-"),
                        e.detail
                    );
                }
            }
            Ok(())
        }
        AdminCommand::CitizenExport { place, phone } => {
            crate::citizen::export(&place, &phone).await
        }
        AdminCommand::CitizenErase { place, phone } => crate::citizen::erase(&place, &phone).await,
        AdminCommand::Retention {
            place,
            closed_days,
            dry_run,
        } => crate::citizen::retention(&place, closed_days, dry_run).await,
        AdminCommand::Reindex { place } => reindex(&place).await,
        AdminCommand::RebuildRollups { place } => rebuild_rollups(&place).await,
        AdminCommand::Backup { place, out } => crate::backup::backup(&place, &out).await,
        AdminCommand::Restore { place, from, force } => {
            crate::backup::restore(&place, &from, force).await
        }
        AdminCommand::CheckConfig { config } => {
            let province = minhu_config::load_province(&config)?;
            if province.has_several_cities() {
                println!(
                    "{} ({}): {} cities, {} units of its own",
                    province.name,
                    province.id,
                    province.cities().len(),
                    province.units.len()
                );
            }
            for entry in province.cities() {
                let city = &entry.city;
                println!(
                    "{} ({}): {} regions, {} units, {} categories, {} duty rules, tiers {}",
                    city.name,
                    entry.id,
                    city.regions.all().len(),
                    city.units.all().len(),
                    city.taxonomy.len(),
                    city.duties.rules().len(),
                    city.tier_codes()
                );
                let dir = minhu_config::city_dir(&config, &province, &entry.id);
                let services = minhu_config::load_services(&dir, city)?;
                println!("  open311.toml: {} services", services.all().len());
            }
            Ok(())
        }
    }
}

/// `--rate`: requests per minute from `N/s` or `N/min` (N a whole number from 1).
fn parse_rate(text: &str) -> Result<u32, String> {
    let wrong = || format!("{text:?} is not a rate; write N/s or N/min, e.g. 50/s");
    let (count, unit) = text.trim().split_once('/').ok_or_else(wrong)?;
    let count: u32 = count.trim().parse().map_err(|_| wrong())?;
    if count == 0 {
        return Err("a rate of 0 would refuse every request; revoke the token instead".into());
    }
    match unit.trim() {
        "s" => count
            .checked_mul(60)
            .ok_or_else(|| format!("{count}/s is more than this server can count")),
        "min" => Ok(count),
        _ => Err(wrong()),
    }
}

/// A token's rate as people write it.
fn describe_rate(per_min: Option<u32>) -> String {
    match per_min {
        None => format!(
            "rate {}/s (default)",
            minhu_web::middleware::hardening::rates::TOKEN_PER_MIN / 60
        ),
        Some(n) if n % 60 == 0 => format!("rate {}/s", n / 60),
        Some(n) => format!("rate {n}/min"),
    }
}

async fn list_users(engine: &Engine) -> anyhow::Result<()> {
    for user in engine.accounts().users().await? {
        let now = jiff::Timestamp::now();
        let state = match user.locked_until {
            _ if user.disabled => "disabled".to_owned(),
            Some(until) if until > now => format!("locked until {until}"),
            _ => "active".to_owned(),
        };
        println!(
            "{}\t{}\t{}\t{}\t{state}",
            user.login,
            user.role,
            describe_scope(user.unit.as_deref(), user.region.as_deref()),
            user.display_name
        );
    }
    Ok(())
}

/// Recounts the rollups from the event log and says how the kept tables compared.
async fn rebuild_rollups(place: &Place) -> anyhow::Result<()> {
    let engine = crate::server::open_engine(place, Arc::new(SystemClock)).await?;
    let figures = engine.analytics();
    let total: u64 = figures
        .counts(&minhu_core::access::Scope::All)
        .await?
        .iter()
        .map(|(_, n)| n)
        .sum();
    let before = figures.tables().await?;
    let started = std::time::Instant::now();
    let bar = crate::import::progress_bar(Some(total), "counting");
    let counted = figures.rebuild(&|n| bar.set_position(n)).await?;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let after = figures.tables().await?;
    println!(
        "recounted {counted} tickets in {seconds:.1} s ({:.0}/s)",
        counted as f64 / seconds.max(0.001)
    );
    println!("table                   rows  differing rows before");
    for ((table, old), (_, new)) in before.iter().zip(&after) {
        println!(
            "{table:<20} {:>8} {:>8}",
            new.daily.len() + new.hourly.len(),
            differing(&old.daily, &new.daily) + differing(&old.hourly, &new.hourly)
        );
    }
    Ok(())
}

/// How many keys of two count tables do not hold the same count.
fn differing<K: Ord>(
    old: &std::collections::BTreeMap<K, i64>,
    new: &std::collections::BTreeMap<K, i64>,
) -> usize {
    let changed = old.iter().filter(|(k, n)| new.get(k) != Some(n)).count();
    changed + new.keys().filter(|k| !old.contains_key(k)).count()
}

/// Rebuilds the search index from every ticket in the store.
async fn reindex(place: &Place) -> anyhow::Result<()> {
    let opened = crate::server::open(place, Arc::new(SystemClock)).await?;
    let dir = crate::server::search_dir(&place.data_dir);
    let index = Arc::new(minhu_search::SearchIndex::open_for_rebuild(&dir)?);
    let total = crate::server::stored_tickets(&*opened.store).await?;
    let started = std::time::Instant::now();
    index.clear()?;
    let bar = crate::import::progress_bar(Some(total), "indexing");
    let indexed = minhu_search::catch_up(&*opened.store, &index, |n| bar.inc(n as u64)).await?;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "indexed {indexed} tickets in {seconds:.1} s ({:.0}/s) into {}; {} searchable, {:.1} MB",
        indexed as f64 / seconds.max(0.001),
        dir.display(),
        index.len(),
        index.size_on_disk()? as f64 / 1e6
    );
    Ok(())
}
