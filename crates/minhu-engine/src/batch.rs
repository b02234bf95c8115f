//! Dispatching many tickets at once (the dispatchers' queue): each ticket goes through
//! [`Engine::act`] on its own, so every rule, event and notification is the one a single
//! dispatch has, and one refusal stops nobody else's ticket.

use crate::view::Reader;
use crate::{Engine, EngineError};
use minhu_core::event::Actor;
use minhu_core::ids::{TicketNumber, UnitId};
use minhu_core::ticket::Status;
use minhu_core::workflow::Command;

/// What dispatching one ticket of a batch came to.
#[derive(Debug)]
pub enum Outcome {
    /// Dispatched to the unit now.
    Dispatched,
    /// The unit already had it (the same request sent again): nothing was done.
    AlreadyThere,
    /// Not dispatched, and why (another unit has it, the unit returned it, out of
    /// sight, busy, a storage failure).
    Refused(EngineError),
}

impl Engine {
    /// Dispatches each of `numbers` to `unit` as `actor`, reading each as `reader`
    /// (a ticket out of their sight is not found). Sending the same batch again
    /// dispatches nothing twice: a ticket the unit already has is [`Outcome::AlreadyThere`].
    pub async fn dispatch_each(
        &self,
        reader: &Reader,
        numbers: &[TicketNumber],
        unit: &UnitId,
        reason: Option<&str>,
        actor: &Actor,
    ) -> Vec<(TicketNumber, Outcome)> {
        let mut outcomes = Vec::with_capacity(numbers.len());
        for number in numbers {
            let outcome = match self.ticket_for(reader, number).await {
                Err(error) => Outcome::Refused(error),
                Ok(ticket)
                    if ticket.status != Status::Pending && ticket.unit.as_ref() == Some(unit) =>
                {
                    Outcome::AlreadyThere
                }
                Ok(_) => {
                    let command = Command::Dispatch {
                        unit: unit.clone(),
                        reason: reason.map(str::to_owned),
                    };
                    match self.act(number, command, actor.clone()).await {
                        Ok(_) => Outcome::Dispatched,
                        Err(error) => Outcome::Refused(error),
                    }
                }
            };
            outcomes.push((number.clone(), outcome));
        }
        outcomes
    }
}
