//! Text intelligence: how minhu reads a citizen's words.
//!
//! Real messages are noisy (full-width characters, greetings, line breaks, some sources
//! already segmented with spaces), so everything first goes through [`normalize()`], then
//! [`segment::Segmenter`] (jieba with a hotline dictionary), then [`features`] (hashed
//! word and character n-grams). [`model::Model`] is a linear classifier trained on
//! handled tickets; every prediction carries a confidence and the words behind it.

pub mod features;
pub mod metrics;
pub mod model;
pub mod neighbours;
pub mod normalize;
pub mod segment;
pub mod similarity;

pub use model::{Model, Prediction, Provenance};
pub use neighbours::Neighbours;
pub use normalize::normalize;
pub use segment::Segmenter;
