//! The web crate's integration tests, one binary: each module was a test binary of
//! its own, and each of those linked the whole stack again (15 links of the same
//! crates, most of the debug build's time and disk). One binary links it once; the
//! modules share their setup through `minhu-testkit`.

mod access;
mod admin;
mod analytics;
mod api;
mod audit_page;
mod browser;
mod email;
mod field;
mod figures;
mod follow;
mod fuzz;
mod grid;
mod identity;
mod input;
mod kb;
mod limits;
mod login;
mod metrics;
mod open311;
mod open311_clients;
mod phone;
mod privacy;
mod province;
mod province_pages;
mod reports;
mod secrets;
mod sms;
mod ticket_list;
mod ticket_page;
mod wechat;
mod words;
mod worklists;
