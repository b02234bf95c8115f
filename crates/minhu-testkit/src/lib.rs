//! What the integration tests of every crate share, written once: the demo city
//! ([`city`]), SQLite and PostgreSQL test databases ([`db`]), a manual clock
//! ([`clock`]), processes that stop when the test ends, pass or fail ([`process`]),
//! and, behind features, the whole web app in-process (`web`) and a headless browser
//! driving it (`browser`).
//!
//! A dev-dependency only (`publish = false`): tests copied their setup from file to
//! file before, and each copy drifted on its own.

pub mod city;
pub mod db;
pub mod process;

#[cfg(feature = "browser")]
pub mod browser;
#[cfg(feature = "web")]
pub mod web;

use minhu_core::ManualClock;
use std::sync::Arc;

/// A manual clock at `at` (an RFC 3339 time), moved only by the test.
pub fn clock(at: &str) -> Arc<ManualClock> {
    let at = at
        .parse()
        .unwrap_or_else(|e| panic!("{at}: not a time: {e}"));
    Arc::new(ManualClock::new(at))
}
