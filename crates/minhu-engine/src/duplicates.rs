//! Duplicate candidates (并单): open tickets of the same place and days whose words
//! say the same thing, so a dispatcher can merge them in one action.

use crate::{Engine, EngineError, Reader};
use jiff::{SignedDuration, Timestamp};
use minhu_core::ids::TicketNumber;
use minhu_core::region::RegionLevel;
use minhu_core::ticket::{Status, Ticket};
use minhu_store::{TicketFilter, TicketText};
use minhu_text::similarity::{jaccard, shingles};
use serde::Serialize;
use std::collections::HashSet;

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

impl Engine {
    /// Open tickets within three days and the same street (the whole city when the
    /// ticket has no place) that read like this one, most alike first.
    /// Candidates among the tickets `reader` may see (a reader never learns of a
    /// ticket outside their part of the city this way), their titles masked for them.
    pub async fn duplicates(
        &self,
        number: &TicketNumber,
        reader: &Reader,
    ) -> Result<Vec<Duplicate>, EngineError> {
        let ticket = self.ticket(number).await?;
        let mut found = self
            .duplicates_of(std::slice::from_ref(&ticket), reader)
            .await?;
        Ok(found.pop().unwrap_or_default())
    }

    /// [`Engine::duplicates`] of each of `tickets`, in their order. Tickets of one
    /// area received within `WINDOW_HOURS` of each other share one read of the
    /// store (the words of at most `SCAN_LIMIT` tickets, not their states), so a
    /// queue costs a few bounded reads whatever the number of tickets stored; each
    /// candidate's words are cut once. A ticket of such a group compares with the
    /// newest `SCAN_LIMIT` of the group's days rather than of its own.
    pub async fn duplicates_of(
        &self,
        tickets: &[Ticket],
        reader: &Reader,
    ) -> Result<Vec<Vec<Duplicate>>, EngineError> {
        let window = SignedDuration::from_hours(WINDOW_HOURS);
        let mut newest_first: Vec<&Ticket> = tickets.iter().collect();
        newest_first.sort_by_key(|t| std::cmp::Reverse(t.created_at));
        // (area, the group's tickets, newest first)
        let mut groups: Vec<(Option<Area>, Vec<&Ticket>)> = Vec::new();
        for ticket in newest_first {
            let area = self.area_of(ticket);
            let joins = groups.iter_mut().find(|(at, members)| {
                *at == area && members[0].created_at.duration_since(ticket.created_at) <= window
            });
            match joins {
                Some((_, members)) => members.push(ticket),
                None => groups.push((area, vec![ticket])),
            }
        }
        let mut found: Vec<(TicketNumber, Vec<Duplicate>)> = Vec::new();
        for (area, members) in groups {
            let (newest, oldest) = (members[0].created_at, members[members.len() - 1].created_at);
            let (region_path, region_alone) =
                area.map_or((None, false), |area| (Some(area.path), area.alone));
            let filter = TicketFilter {
                scope: reader.scope().clone(),
                region_path,
                region_alone,
                created_from: Some(oldest.saturating_sub(window).unwrap_or(oldest)),
                created_to: Some(newest.saturating_add(window).unwrap_or(newest)),
                limit: SCAN_LIMIT,
                ..TicketFilter::default()
            };
            let nearby: Vec<(TicketText, HashSet<String>)> = self
                .store
                .texts(&filter)
                .await?
                .into_iter()
                .filter(|other| other.status != Status::Closed)
                .map(|other| {
                    let words = shingles(&format!("{} {}", other.title, other.description));
                    (other, words)
                })
                .collect();
            for ticket in members {
                let mine = shingles(&format!(
                    "{} {}",
                    ticket.intake.title, ticket.intake.description
                ));
                let mut alike: Vec<Duplicate> = nearby
                    .iter()
                    .filter(|(other, _)| {
                        // The ticket's own window, as a read for it alone would take.
                        let apart = other.created_at.duration_since(ticket.created_at);
                        other.number != ticket.number && -window <= apart && apart < window
                    })
                    .filter_map(|(other, words)| {
                        let similarity = jaccard(&mine, words);
                        (similarity >= THRESHOLD).then(|| Duplicate {
                            number: other.number.clone(),
                            title: reader.words(&other.title, &self.city.privacy),
                            status: other.status,
                            created_at: other.created_at,
                            similarity,
                        })
                    })
                    .collect();
                alike.sort_by(|a, b| b.similarity.total_cmp(&a.similarity));
                alike.truncate(MAX_CANDIDATES);
                found.push((ticket.number.clone(), alike));
            }
        }
        Ok(tickets
            .iter()
            .map(|ticket| {
                found
                    .iter()
                    .position(|(number, _)| *number == ticket.number)
                    .map(|at| found.swap_remove(at).1)
                    .unwrap_or_default()
            })
            .collect())
    }

    /// Where a ticket's duplicates are looked for: its street's region path; for a
    /// city-wide ticket (placed at the city itself) the city's other city-wide
    /// tickets; the whole city (`None`) when it has no place.
    ///
    /// A city-wide matter (a bus line, 社保, a city department) is reported again as a
    /// city-wide matter: its likely duplicates are the other tickets that name the city
    /// and nothing below it. Compared with every ticket of the city's window instead,
    /// by the range of region paths under the city, it would read the whole city's
    /// days at a megacity's volume (the index serves a street's range, or one path's
    /// point, by time; the city's range it does not) and call "the same place" what
    /// is only the same city.
    fn area_of(&self, ticket: &Ticket) -> Option<Area> {
        let region = ticket.intake.region.as_ref()?;
        let regions = &self.city_of(ticket).regions;
        let street = regions
            .ancestry(region)
            .find(|r| r.level <= RegionLevel::Street)?;
        Some(Area {
            path: regions.path(&street.id)?,
            alone: street.parent.is_none(),
        })
    }
}

/// The place a ticket's duplicates are looked for in: a region path, and whether only
/// the tickets placed at that region itself count (a city-wide ticket's).
#[derive(Clone, Debug, PartialEq)]
struct Area {
    path: String,
    alone: bool,
}
