//! minhu's domain core.
//!
//! Everything a ticket *is* and every rule about how it may change lives here, free of
//! I/O and async so that it can be tested exhaustively and reused by every outer layer
//! (storage, engine, web, CLI). The outer crates depend on this one, never the reverse.
//!
//! The central idea: a ticket's history is an append-only list of [`event::Event`]s, and
//! the [`ticket::Ticket`] is only a projection of that list. The single function
//! [`workflow::transition`] decides whether a requested [`workflow::Command`] is legal
//! for the current state and, if so, which event records it.

// First: the other modules declare their enums with its `code_enum!`.
#[macro_use]
pub mod label;

pub mod access;
pub mod calendar;
pub mod city;
pub mod clock;
pub mod deadline;
pub mod duty;
pub mod event;
pub mod geo;
pub mod ids;
pub mod pii;
pub mod place;
pub mod province;
pub mod reading;
pub mod region;
pub mod rollup;
pub mod sensor;
pub mod services;
pub mod taxonomy;
pub mod ticket;
pub mod timer;
pub mod unit;
pub mod urgency;
pub mod workflow;

pub use city::City;
pub use clock::{Clock, ManualClock, SystemClock};
pub use event::{Actor, Change, Event};
pub use ids::{RegionId, TicketNumber, UnitId};
pub use province::Province;
pub use ticket::{Channel, Kind, Status, Ticket};
pub use workflow::{Command, TransitionError, transition};
