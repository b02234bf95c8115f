//! A citizen's rights over their data, on the command line: export everything held
//! about a phone number, erase it, and erase the identities of tickets closed longer
//! ago than the retention period. Each run is written to the audit log.

use crate::Place;
use anyhow::bail;
use jiff::SignedDuration;
use minhu_core::access::{erase_change, erase_identity, mask_phone};
use minhu_core::event::{Change, Event};
use minhu_core::ticket::{Status, Ticket};
use minhu_engine::Engine;
use minhu_engine::attachments::AttachmentStore;
use minhu_store::{AuditEntry, FollowStore, SqlStore, Store, TicketFilter, TicketStore};
use std::sync::Arc;

/// Every ticket matching `filter`, page by page.
async fn all(store: &dyn Store, mut filter: TicketFilter) -> anyhow::Result<Vec<Ticket>> {
    filter.limit = 500;
    let mut tickets = Vec::new();
    loop {
        let page = store.list(&filter).await?;
        tickets.extend(page.tickets);
        match page.next {
            Some(next) => filter.cursor = Some(next),
            None => return Ok(tickets),
        }
    }
}

fn normalise(phone: &str) -> anyhow::Result<String> {
    let digits: String = phone.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if digits.len() < 5 || !digits.chars().all(|c| c.is_ascii_digit()) {
        bail!("phone {phone:?}: give the citizen's number, digits only");
    }
    Ok(digits)
}

/// Stands in for an erased citizen: the same phone always gives the same pseudonym,
/// which cannot be turned back into the number without guessing it.
fn pseudonym(phone: &str) -> String {
    let digest = minhu_engine::accounts::digest(&format!("minhu-erasure:{phone}"));
    format!("erased:{}", &digest[..12])
}

async fn audit(
    engine: &Engine,
    action: &str,
    target: String,
    detail: String,
) -> anyhow::Result<()> {
    let who = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    engine
        .audit()
        .record(&AuditEntry {
            seq: 0,
            at: engine.now(),
            actor: format!("system:cli:{who}"),
            action: action.to_owned(),
            target: Some(target),
            detail,
            client: None,
        })
        .await?;
    Ok(())
}

/// The engine (for the audit log) and the store: erasure rewrites the stored log
/// itself, which no engine service does.
async fn open(place: &Place) -> anyhow::Result<(Engine, Arc<SqlStore>)> {
    let opened = crate::server::open(place, Arc::new(minhu_core::SystemClock)).await?;
    Ok((opened.engine.build(), opened.store))
}

fn by_phone(phone: &str) -> TicketFilter {
    TicketFilter {
        phone: Some(phone.to_owned()),
        ..TicketFilter::default()
    }
}

/// Prints, as JSON, every ticket of the citizen with its full event log.
pub async fn export(place: &Place, phone: &str) -> anyhow::Result<()> {
    let phone = normalise(phone)?;
    let (engine, store) = open(place).await?;
    let tickets = all(store.as_ref(), by_phone(&phone)).await?;
    let mut out = Vec::with_capacity(tickets.len());
    for ticket in tickets {
        let events = store.events(&ticket.number).await?;
        out.push(serde_json::json!({"ticket": ticket, "events": events}));
    }
    audit(
        &engine,
        "citizen.export",
        mask_phone(&phone),
        format!("{} tickets", out.len()),
    )
    .await?;
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({"phone": phone, "tickets": out}))?
    );
    eprintln!("exported {} tickets", out.len());
    Ok(())
}

/// Erases the citizen from every ticket of theirs and from everything else that holds
/// them: the texts of the tickets' logs, the notifications (recipient and text), follow
/// codes and sessions, the photos and files they sent (unless another ticket shows the
/// same file), and the search index's words. Then the database and the index are
/// purged, so that the erased bytes do not linger in free pages or old segments.
pub async fn erase(place: &Place, phone: &str) -> anyhow::Result<()> {
    let phone = normalise(phone)?;
    let (engine, stored) = open(place).await?;
    let store = stored.as_ref();
    let tickets = all(store, by_phone(&phone)).await?;
    let name = pseudonym(&phone);
    let mut files = Vec::new();
    for ticket in &tickets {
        files.extend(files_sent_by_citizen(store, ticket).await?);
    }
    for ticket in &tickets {
        erase_ticket(store, ticket, &name).await?;
    }
    let removed = remove_files(place, store, &tickets, files).await?;
    store
        .forget_code_sends(&minhu_web::api::follow::phone_subject(&phone))
        .await?;
    purge(place, store).await?;
    audit(
        &engine,
        "citizen.erase",
        name.clone(),
        format!("{} tickets, {removed} files", tickets.len()),
    )
    .await?;
    println!(
        "erased the citizen from {} tickets and {removed} files; the citizen is now {name}",
        tickets.len()
    );
    Ok(())
}

/// After erasures: the search index rewritten without the erased words, then the
/// database's free space purged. A running server holds the index: the store is erased
/// all the same, and what is left to do is said.
async fn purge(place: &Place, store: &dyn Store) -> anyhow::Result<()> {
    if let Err(why) = purge_index(place, store).await {
        eprintln!("the search index was not purged: {why}");
        eprintln!(
            "a running server re-indexes the erased tickets within seconds; to remove the \
             old words from the index's files, stop it and run `minhu admin reindex`"
        );
    }
    store.purge_erased().await?;
    Ok(())
}

/// Erases the citizen from one ticket's log (the demand, and every later text with
/// the personal data in it and the citizen's name) and from what the store keeps with
/// it; `pseudonym` stands in for them.
async fn erase_ticket(store: &dyn Store, ticket: &Ticket, pseudonym: &str) -> anyhow::Result<()> {
    let names: Vec<&str> = ticket
        .intake
        .citizen
        .name
        .iter()
        .map(|n| n.trim())
        .collect();
    let eraser = |event: &mut Event| match &mut event.change {
        Change::Created(intake) => erase_identity(intake, pseudonym),
        change => erase_change(change, &names),
    };
    store.erase_identity(&ticket.number, &eraser).await?;
    Ok(())
}

/// The files the citizen sent with a ticket: those attached by whoever took the demand
/// in (the citizen's own report, or the agent who took their call).
async fn files_sent_by_citizen(store: &dyn Store, ticket: &Ticket) -> anyhow::Result<Vec<String>> {
    let events = store.events(&ticket.number).await?;
    let Some(first) = events.first() else {
        return Ok(Vec::new());
    };
    Ok(events
        .iter()
        .filter(|e| e.actor == first.actor)
        .filter_map(|e| match &e.change {
            Change::AttachmentAdded(attachment) => Some(attachment.sha256.clone()),
            _ => None,
        })
        .collect())
}

/// Deletes each file unless a ticket not being erased shows it too; returns how many.
async fn remove_files(
    place: &Place,
    store: &dyn Store,
    erased: &[Ticket],
    mut files: Vec<String>,
) -> anyhow::Result<usize> {
    files.sort();
    files.dedup();
    let attachments = AttachmentStore::new(place.data_dir.join("attachments"));
    let mut removed = 0;
    for sha256 in files {
        let shown = store.tickets_with_attachment(&sha256).await?;
        if shown
            .iter()
            .any(|number| erased.iter().all(|t| &t.number != number))
        {
            continue;
        }
        if attachments.remove(&sha256).await? {
            removed += 1;
        }
    }
    Ok(removed)
}

/// Brings the search index up to the erased store and rewrites its files without the
/// old words. Fails when a running server holds the index.
async fn purge_index(place: &Place, store: &dyn Store) -> anyhow::Result<()> {
    let dir = crate::server::search_dir(&place.data_dir);
    if !dir.exists() {
        return Ok(());
    }
    let index = Arc::new(minhu_search::SearchIndex::open(&dir)?);
    minhu_search::catch_up(store, &index, |_| {}).await?;
    let vacuumed = index.clone();
    tokio::task::spawn_blocking(move || vacuumed.vacuum()).await??;
    Ok(())
}

/// Erases the identities of tickets closed more than `days` ago.
pub async fn retention(place: &Place, days: u32, dry_run: bool) -> anyhow::Result<()> {
    if days == 0 {
        bail!("--closed-days: keep identities at least a day after closing");
    }
    let (engine, store) = open(place).await?;
    let cutoff = engine.now() - SignedDuration::from_hours(24 * i64::from(days));
    let closed = all(
        store.as_ref(),
        TicketFilter {
            status: Some(Status::Closed),
            ..TicketFilter::default()
        },
    )
    .await?;
    let due: Vec<&Ticket> = closed
        .iter()
        .filter(|t| t.closed_at.is_some_and(|at| at < cutoff))
        .filter(|t| {
            let citizen = &t.intake.citizen;
            citizen.phone.is_some()
                || citizen
                    .name
                    .as_deref()
                    .is_some_and(|n| !n.starts_with("erased:"))
        })
        .collect();
    if dry_run {
        println!(
            "{} of {} closed tickets were closed before {cutoff} and still name their citizen",
            due.len(),
            closed.len()
        );
        return Ok(());
    }
    let bar = crate::import::progress_bar(Some(due.len() as u64), "erasing identities");
    for ticket in &due {
        let name = pseudonym(
            ticket
                .intake
                .citizen
                .phone
                .as_deref()
                .unwrap_or("anonymous"),
        );
        erase_ticket(store.as_ref(), ticket, &name).await?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    purge(place, store.as_ref()).await?;
    audit(
        &engine,
        "retention.erase",
        format!("closed before {cutoff}"),
        format!("{} tickets", due.len()),
    )
    .await?;
    println!(
        "erased the identities of {} tickets closed before {cutoff} ({} closed tickets checked)",
        due.len(),
        closed.len()
    );
    Ok(())
}
