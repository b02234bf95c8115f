//! The HTML pages people read: the citizens' portal and follow page, the officials'
//! ticket list and ticket page, their working desks (console, dispatch, inbox), the
//! dashboards, the administrators' pages, the sign-in form, and what every page shares
//! (language, header, static files).
//!
//! Pages only render: they read through the engine and every write goes through the
//! JSON API (or, for sign-in and the administrators' forms, a form post), so this room
//! holds no rule of its own about tickets.

mod admin;
mod audit;
mod desk;
mod grid;
pub mod login;
mod overview;
mod portal;
mod queue;
mod ticket;
mod tickets;
pub mod ui;
mod words;
mod work;

use crate::routes::Routes;

pub(crate) fn routes() -> Routes {
    Routes::new()
        .merge(tickets::routes())
        .merge(ticket::routes())
        .merge(portal::routes())
        .merge(desk::routes())
        .merge(grid::routes())
        .merge(queue::routes())
        .merge(work::routes())
        .merge(overview::routes())
        .merge(admin::routes())
        .merge(audit::routes())
        .merge(login::routes())
        .merge(ui::routes())
}
