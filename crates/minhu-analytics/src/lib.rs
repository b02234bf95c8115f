//! Analytics without I/O: the figures leaders act on, computed from counts the store
//! keeps pre-aggregated (`minhu_core::rollup`), so every formula here can be checked
//! against numbers worked out by hand.
//!
//! - [`rates`]: the answered share, response, resolution, satisfaction, on-time and
//!   reopen rates, returns and disputes (every rate a percentage), the composite score, monthly rankings that name the bottom, the
//!   buck-passing index (推诿指数) and demand per 10,000 residents.
//! - [`surge`]: hours far above a cell's normal for that hour of the week (突发预警).
//! - [`hotspot`]: recent messages grouped by meaning and place, named and ranked by a
//!   documented heat score (热点榜).
//! - [`topic`]: the monthly topic (每月一题): many, recurring, unsatisfying problems.
//! - [`seasonal`]: what the coming month brought last year above its usual, and whom it
//!   concerned (未诉先办).

pub mod hotspot;
pub mod rates;
pub mod seasonal;
pub mod surge;
pub mod topic;

pub use rates::{Rates, Tally};
