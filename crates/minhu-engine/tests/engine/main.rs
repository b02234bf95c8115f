//! The engine crate's integration tests, one test binary (two linked the same crates
//! twice): the ticket's flows on a real SQLite file, and the timers on SQLite and on
//! one PostgreSQL database shared by two engines.

mod flows;
mod timers;
