//! `minhu admin backup` and `minhu admin restore`: a consistent copy of the store,
//! taken while the server runs, and the way back from it.
//!
//! SQLite is copied by the store itself (`VACUUM INTO`: one read transaction, so the
//! copy holds every transaction committed before it began and none after, while
//! intake goes on). PostgreSQL is copied the way PostgreSQL documents it: `pg_dump`
//! (custom format, one snapshot), restored with `pg_restore`; both must be installed
//! (Debian: `postgresql-client`, the server's major version or newer), and the
//! commands say so when they are not.
//!
//! A restore brings the backup's schema up to date (an older backup is migrated as an
//! upgrade would) and gives the store a new identity: the search index, which keeps
//! the mark of the last change it read, sees that its mark belongs to another store and
//! rebuilds itself from the restored one when `minhu serve` starts.

use crate::Place;
use anyhow::{Context, bail};
use minhu_store::SqlStore;
use std::path::{Path, PathBuf};

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres:") || url.starts_with("postgresql:")
}

/// The file of a `sqlite://PATH` (or `sqlite:PATH`) URL, without its options.
fn sqlite_file(url: &str) -> PathBuf {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    PathBuf::from(path.split('?').next().unwrap_or(path))
}

/// Runs one of PostgreSQL's client tools, saying what to do if it is missing.
fn pg_tool(tool: &str, args: &[&std::ffi::OsStr]) -> anyhow::Result<()> {
    let status = std::process::Command::new(tool).args(args).status();
    match status {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => bail!(
            "{tool} is not installed: PostgreSQL is backed up and restored with its own \
             tools. Install them (Debian: apt-get install postgresql-client; the server's \
             major version or newer) and run this again, or run {tool} yourself as README \
             (Backups) shows"
        ),
        Err(error) => Err(error).with_context(|| format!("cannot run {tool}")),
        Ok(status) if status.success() => Ok(()),
        Ok(status) => bail!("{tool} failed ({status}); its message is above"),
    }
}

/// `minhu admin backup --out FILE`.
pub async fn backup(place: &Place, out: &Path) -> anyhow::Result<()> {
    if out.exists() {
        bail!(
            "{} exists: a backup never overwrites a file; name a new one",
            out.display()
        );
    }
    let url = place.database_url();
    let started = std::time::Instant::now();
    if is_postgres(&url) {
        let dbname = format!("--dbname={url}");
        pg_tool(
            "pg_dump",
            &[
                "--format=custom".as_ref(),
                "--no-owner".as_ref(),
                "--file".as_ref(),
                out.as_os_str(),
                dbname.as_ref(),
            ],
        )?;
    } else {
        let store = SqlStore::connect(&url)
            .await
            .with_context(|| format!("cannot open the database {url}"))?;
        store
            .backup_sqlite(out)
            .await
            .with_context(|| format!("cannot write the backup {}", out.display()))?;
        store.close().await;
    }
    let size = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    println!(
        "backup written: {} ({:.1} MB in {:.1} s); restore it with: minhu admin restore --from {}",
        out.display(),
        size as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(())
}

/// `minhu admin restore --from FILE [--force]`, with `minhu serve` stopped.
pub async fn restore(place: &Place, from: &Path, force: bool) -> anyhow::Result<()> {
    if !from.is_file() {
        bail!("{} is not a file", from.display());
    }
    let url = place.database_url();
    if is_postgres(&url) {
        let store = SqlStore::connect(&url)
            .await
            .with_context(|| format!("cannot open the database {url}"))?;
        let held = crate::server::stored_tickets(&store).await?;
        store.close().await;
        if held > 0 && !force {
            bail!(
                "the database already holds {held} tickets; --force replaces everything in \
                 it with the backup"
            );
        }
        let dbname = format!("--dbname={url}");
        pg_tool(
            "pg_restore",
            &[
                "--clean".as_ref(),
                "--if-exists".as_ref(),
                "--no-owner".as_ref(),
                "--single-transaction".as_ref(),
                "--exit-on-error".as_ref(),
                dbname.as_ref(),
                from.as_os_str(),
            ],
        )?;
    } else {
        check_sqlite_backup(from).await?;
        let file = sqlite_file(&url);
        if file.exists() {
            if !force {
                bail!(
                    "{} exists; --force replaces it with the backup (it is kept beside, as \
                     {}.replaced-<time>)",
                    file.display(),
                    file.display()
                );
            }
            set_aside(&file)?;
        }
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::copy(from, &file)
            .with_context(|| format!("cannot copy {} to {}", from.display(), file.display()))?;
    }
    // An older backup's schema is brought up to date here, as an upgrade does.
    let mut store = SqlStore::connect(&url)
        .await
        .context("cannot open the restored database")?;
    store.renew_identity().await?;
    let held = crate::server::stored_tickets(&store).await?;
    store.close().await;
    println!(
        "restored {held} tickets from {}; the search index ({}) rebuilds itself from them \
         when minhu serve starts",
        from.display(),
        crate::server::search_dir(&place.data_dir).display()
    );
    Ok(())
}

/// Refuses a file that is not a SQLite copy of a minhu store.
async fn check_sqlite_backup(from: &Path) -> anyhow::Result<()> {
    SqlStore::sqlite_identity(from)
        .await
        .with_context(|| format!("{} is not a backup of a minhu store", from.display()))?;
    Ok(())
}

/// Moves a SQLite database (and its write-ahead log and index, which belong to it)
/// to `NAME.replaced-<UTC time>`.
fn set_aside(file: &Path) -> anyhow::Result<()> {
    let stamp = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    for suffix in ["", "-wal", "-shm"] {
        let from = PathBuf::from(format!("{}{suffix}", file.display()));
        if from.exists() {
            let to = format!("{}.replaced-{stamp}{suffix}", file.display());
            std::fs::rename(&from, &to)
                .with_context(|| format!("cannot move {} to {to}", from.display()))?;
            if suffix.is_empty() {
                println!("the database that was there is kept as {to}");
            }
        }
    }
    Ok(())
}
