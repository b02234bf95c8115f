//! Duplicate candidates (并单): open tickets of the same place and days whose words
//! say the same thing, so a dispatcher can merge them in one action.

use crate::{Engine, EngineError};
use jiff::{SignedDuration, Timestamp};
use minhu_core::access::Scope;
use minhu_core::ids::TicketNumber;
use minhu_core::region::RegionLevel;
use minhu_core::ticket::{Status, Ticket};
use minhu_store::TicketFilter;
use minhu_text::similarity::{jaccard, shingles};
use serde::Serialize;

/// How far apart in time two reports of one event may be.
const WINDOW_HOURS: i64 = 72;
/// Below this similarity two texts are different demands.
const THRESHOLD: f32 = 0.35;
const MAX_CANDIDATES: usize = 10;
/// How many tickets of the place and days are compared at most.
const SCAN_LIMIT: u32 = 500;

#[derive(Clone, Debug, Serialize)]
pub struct Duplicate {
    pub number: TicketNumber,
    pub title: String,
    pub status: Status,
    pub created_at: Timestamp,
    /// 0..1, the Jaccard similarity of the two texts' character pairs.
    pub similarity: f32,
}

fn text_of(ticket: &Ticket) -> String {
    format!("{} {}", ticket.intake.title, ticket.intake.description)
}

impl Engine {
    /// Open tickets within three days and the same street (the whole city when the
    /// ticket has no place) that read like this one, most alike first.
    /// Candidates among the tickets `scope` may see (a reader never learns of a
    /// ticket outside their part of the city this way).
    pub async fn duplicates(
        &self,
        number: &TicketNumber,
        scope: &Scope,
    ) -> Result<Vec<Duplicate>, EngineError> {
        let ticket = self.ticket(number).await?;
        let area = ticket.intake.region.as_ref().and_then(|region| {
            let street = self
                .city
                .regions
                .ancestry(region)
                .find(|r| r.level <= RegionLevel::Street)?;
            self.city.regions.path(&street.id)
        });
        let window = SignedDuration::from_hours(WINDOW_HOURS);
        let filter = TicketFilter {
            scope: scope.clone(),
            region_path: area,
            created_from: Some(
                ticket
                    .created_at
                    .saturating_sub(window)
                    .unwrap_or(ticket.created_at),
            ),
            created_to: Some(
                ticket
                    .created_at
                    .saturating_add(window)
                    .unwrap_or(ticket.created_at),
            ),
            limit: SCAN_LIMIT,
            ..TicketFilter::default()
        };
        let nearby = self.store.list(&filter).await?;
        let mine = shingles(&text_of(&ticket));
        let mut found: Vec<Duplicate> = nearby
            .tickets
            .into_iter()
            .filter(|other| other.number != ticket.number && other.status != Status::Closed)
            .filter_map(|other| {
                let similarity = jaccard(&mine, &shingles(&text_of(&other)));
                (similarity >= THRESHOLD).then(|| Duplicate {
                    number: other.number.clone(),
                    title: other.intake.title.clone(),
                    status: other.status,
                    created_at: other.created_at,
                    similarity,
                })
            })
            .collect();
        found.sort_by(|a, b| b.similarity.total_cmp(&a.similarity));
        found.truncate(MAX_CANDIDATES);
        Ok(found)
    }
}
