//! Handling tiers and the deadlines they set.
//!
//! Beijing sorts demands into four tiers by urgency (2 hours, 24 hours, 7 days,
//! 15 days); each tier also sets the window in which the unit must accept (签收).
//! The city's tiers are configuration; this module only knows how to read a duration
//! such as `"30m"` or `"7d"` and how to compute due moments on the wall clock.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// The code of a tier, e.g. `"2h"` or `"15d"`, as named in the city's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TierCode(pub String);

impl TierCode {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tier {
    pub code: TierCode,
    pub label: String,
    pub respond_within: SignedDuration,
    pub resolve_within: SignedDuration,
}

/// The two clocks a dispatched ticket runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deadlines {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub respond_by: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub resolve_by: Timestamp,
}

impl Tier {
    pub fn deadlines_from(&self, start: Timestamp) -> Deadlines {
        Deadlines {
            respond_by: add(start, self.respond_within),
            resolve_by: add(start, self.resolve_within),
        }
    }
}

fn add(start: Timestamp, span: SignedDuration) -> Timestamp {
    start.saturating_add(span).unwrap_or(Timestamp::MAX)
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "{0:?} is not a duration: write a whole number followed by m, h or d, e.g. \"30m\", \"2h\", \"7d\""
)]
pub struct BadDuration(pub String);

/// Reads `"30m"`, `"2h"`, `"7d"` (minutes, hours, days of 24 hours).
pub fn parse_duration(text: &str) -> Result<SignedDuration, BadDuration> {
    let bad = || BadDuration(text.to_owned());
    let text = text.trim();
    let split = text.len().checked_sub(1).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let count: i64 = number.parse().map_err(|_| bad())?;
    let seconds_per = match unit {
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    if count <= 0 {
        return Err(bad());
    }
    count
        .checked_mul(seconds_per)
        .map(SignedDuration::from_secs)
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_units() {
        assert_eq!(parse_duration("30m"), Ok(SignedDuration::from_mins(30)));
        assert_eq!(parse_duration("2h"), Ok(SignedDuration::from_hours(2)));
        assert_eq!(parse_duration("7d"), Ok(SignedDuration::from_hours(168)));
    }

    #[test]
    fn refuses_nonsense() {
        for text in ["", "h", "2", "-2h", "0h", "2w", "二h", "99999999999999999d"] {
            assert!(parse_duration(text).is_err(), "{text} was accepted");
        }
    }

    #[test]
    fn deadlines_count_from_the_start() {
        let tier = Tier {
            code: TierCode("2h".into()),
            label: "urgent".into(),
            respond_within: SignedDuration::from_mins(30),
            resolve_within: SignedDuration::from_hours(2),
        };
        let start: Timestamp = "2026-11-22T08:00:00Z".parse().unwrap();
        let due = tier.deadlines_from(start);
        assert_eq!(due.respond_by.to_string(), "2026-11-22T08:30:00Z");
        assert_eq!(due.resolve_by.to_string(), "2026-11-22T10:00:00Z");
    }
}
