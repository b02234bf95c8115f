//! What the public may read of a request's life, one note per step: the status notes
//! history of `extensions=true` and mySociety's `servicerequestupdates` are both this.

use super::datetime;
use super::format::Node;
use super::requests::open311_status;
use crate::AppState;
use jiff::Timestamp;
use minhu_core::event::Change;
use minhu_core::ticket::Ticket;
use minhu_engine::{EngineError, Reader};

/// One step of a request as the public reads it.
pub(super) struct Note {
    /// The event's sequence number in the ticket's log.
    pub(super) seq: u32,
    pub(super) at: Timestamp,
    /// The request's Open311 status once the step was taken.
    pub(super) status: &'static str,
    /// What happened, in a few words (`已派单 Sent to the unit`).
    pub(super) summary: &'static str,
    /// What the city wrote, where the step has words (a reply); masked for the public.
    pub(super) detail: Option<String>,
    /// The request was taken in by this step (Chicago's note type `opened`).
    pub(super) opened: bool,
}

impl Note {
    /// What the update says: the city's words, else the step.
    pub(super) fn description(&self) -> String {
        self.detail
            .clone()
            .unwrap_or_else(|| self.summary.to_owned())
    }

    /// The note as `extensions=true` lists it (Chicago's `notes`).
    pub(super) fn node(&self, state: &AppState) -> Node {
        let kind = if self.opened {
            "opened"
        } else if self.status == "closed" {
            "closed"
        } else {
            "activity"
        };
        Node::Object(vec![
            ("datetime", Node::text(datetime(state, self.at))),
            ("summary", Node::text(self.summary)),
            ("type", Node::text(kind)),
            ("description", Node::optional(self.detail.clone())),
        ])
    }
}

/// The steps a citizen following the request hears of, with the city's words; the
/// others (timers, internal notes, who handles which part) are the city's own.
fn public_step(change: &Change) -> Option<(&'static str, Option<String>)> {
    Some(match change {
        Change::Created(_) => ("已受理 Received", None),
        Change::Dispatched { .. } | Change::Redispatched { .. } => {
            ("已派单 Sent to the unit", None)
        }
        Change::Accepted => ("办理中 Being handled", None),
        Change::Resolved { reply } => ("已办结 Resolved", Some(reply.clone())),
        Change::AnsweredAtIntake { answer, .. } | Change::HandledOnSpot { note: answer } => {
            ("已答复 Answered", Some(answer.clone()))
        }
        Change::CaseReplied { reply, .. } => (
            "已随主单答复 Answered with its main case",
            Some(reply.clone()),
        ),
        Change::Reopened { .. } => ("已重新办理 Reopened", None),
        Change::Closed { .. } => ("已关闭 Closed", None),
        _ => return None,
    })
}

/// The public steps of `ticket` (one the public may read), oldest first, each with the
/// status it left the request in: its log as the public reads it, replayed.
pub(super) async fn notes(state: &AppState, ticket: &Ticket) -> Result<Vec<Note>, EngineError> {
    let events = state
        .engine
        .events_for(&Reader::public(), &ticket.number)
        .await?;
    let mut replay: Option<Ticket> = None;
    let mut notes = Vec::new();
    for event in &events {
        match (&mut replay, &event.change) {
            (None, Change::Created(intake)) => {
                replay = Some(Ticket::new(ticket.number.clone(), intake.clone(), event.at));
            }
            (Some(t), _) => t.apply(event),
            (None, _) => {}
        }
        let (Some(replayed), Some((summary, detail))) = (&replay, public_step(&event.change))
        else {
            continue;
        };
        notes.push(Note {
            seq: event.seq,
            at: event.at,
            status: open311_status(replayed.status),
            summary,
            detail,
            opened: matches!(event.change, Change::Created(_)),
        });
    }
    Ok(notes)
}
