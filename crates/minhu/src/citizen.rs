//! A citizen's rights over their data, on the command line: export everything held
//! about a phone number, erase it, and erase the identities of tickets closed longer
//! ago than the retention period. Each run is written to the audit log.

use crate::Place;
use anyhow::bail;
use jiff::SignedDuration;
use minhu_core::access::{erase_identity, mask_phone};
use minhu_core::ticket::{Status, Ticket};
use minhu_engine::Engine;
use minhu_store::{AuditEntry, Store, TicketFilter};
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
    let digest = minhu_web::auth::digest(&format!("minhu-erasure:{phone}"));
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
        .store
        .audit(&AuditEntry {
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

async fn open(place: &Place) -> anyhow::Result<Engine> {
    crate::server::open_engine(place, Arc::new(minhu_core::SystemClock)).await
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
    let engine = open(place).await?;
    let tickets = all(engine.store.as_ref(), by_phone(&phone)).await?;
    let mut out = Vec::with_capacity(tickets.len());
    for ticket in tickets {
        let events = engine.store.events(&ticket.number).await?;
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

/// Erases the citizen's identity from every ticket of theirs.
pub async fn erase(place: &Place, phone: &str) -> anyhow::Result<()> {
    let phone = normalise(phone)?;
    let engine = open(place).await?;
    let tickets = all(engine.store.as_ref(), by_phone(&phone)).await?;
    let name = pseudonym(&phone);
    let eraser = |intake: &mut minhu_core::ticket::Intake| erase_identity(intake, &name);
    for ticket in &tickets {
        engine.store.erase_identity(&ticket.number, &eraser).await?;
        engine
            .store
            .delete_follow_code(ticket.number.as_str())
            .await?;
    }
    audit(
        &engine,
        "citizen.erase",
        name.clone(),
        format!("{} tickets", tickets.len()),
    )
    .await?;
    println!(
        "erased the identity from {} tickets; the citizen is now {name}",
        tickets.len()
    );
    Ok(())
}

/// Erases the identities of tickets closed more than `days` ago.
pub async fn retention(place: &Place, days: u32, dry_run: bool) -> anyhow::Result<()> {
    if days == 0 {
        bail!("--closed-days: keep identities at least a day after closing");
    }
    let engine = open(place).await?;
    let cutoff = engine.now() - SignedDuration::from_hours(24 * i64::from(days));
    let closed = all(
        engine.store.as_ref(),
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
        let eraser = |intake: &mut minhu_core::ticket::Intake| erase_identity(intake, &name);
        engine.store.erase_identity(&ticket.number, &eraser).await?;
        bar.inc(1);
    }
    bar.finish_and_clear();
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
