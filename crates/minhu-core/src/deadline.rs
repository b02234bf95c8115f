//! Handling tiers and the deadlines they set.
//!
//! Beijing sorts demands into four tiers by urgency (2 hours, 24 hours, 7 days,
//! 15 days); each tier also sets the window in which the unit must accept (签收).
//! The city's tiers are configuration; this module only knows how to read a duration
//! such as `"30m"` or `"7d"` and how to compute due moments from it: on the wall clock
//! for urgent tiers, in working days of the city's [`BusinessCalendar`] where that is
//! the rule (a tier's `clock`).

use crate::calendar::BusinessCalendar;
use jiff::tz::TimeZone;
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
    /// What people call it (紧急).
    pub label: String,
    /// Its name in English, where the city gives one (Urgent).
    pub label_en: Option<String>,
    pub respond_within: Allowance,
    pub resolve_within: Allowance,
    /// Words that put a demand in this tier (燃气泄漏 -> 2h), whatever it was given.
    pub words: Vec<String>,
    /// When the tier's clock starts (`starts` in `city.toml`).
    pub starts: TierStart,
}

/// When a tier's clock starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TierStart {
    /// When the ticket is dispatched: the unit's time to act.
    #[default]
    Dispatch,
    /// When the demand came in: an emergency's time runs while it waits in the
    /// dispatchers' queue.
    Intake,
}

/// Which clock a tier's deadlines run on, as written in `city.toml`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TierClock {
    /// Elapsed time: `"7d"` is 168 hours.
    Wall,
    /// Durations written in days count working days; minutes and hours stay elapsed time.
    WorkingDays,
}

impl TierClock {
    /// The clock of a tier that names none: working days when it resolves within a
    /// number of days, the wall clock for minutes and hours.
    pub fn default_for(resolve_within: &str) -> Self {
        if resolve_within.trim().ends_with('d') {
            TierClock::WorkingDays
        } else {
            TierClock::Wall
        }
    }
}

/// How long a tier allows for one step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Allowance {
    Wall(SignedDuration),
    WorkingDays(u16),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BadAllowance {
    #[error(transparent)]
    Duration(#[from] BadDuration),
    #[error("{0:?} is too long: at most 65535 working days")]
    TooManyWorkingDays(String),
}

impl Allowance {
    /// Reads `text` (see [`parse_duration`]) on `clock`: on working days a duration in
    /// days counts working days, any other duration is elapsed time.
    pub fn parse(text: &str, clock: TierClock) -> Result<Self, BadAllowance> {
        let elapsed = parse_duration(text)?;
        match clock {
            TierClock::WorkingDays if text.trim().ends_with('d') => {
                u16::try_from(elapsed.as_secs() / 86_400)
                    .map(Allowance::WorkingDays)
                    .map_err(|_| BadAllowance::TooManyWorkingDays(text.to_owned()))
            }
            _ => Ok(Allowance::Wall(elapsed)),
        }
    }

    /// The moment this allowance runs out when it starts at `start`.
    pub fn due(&self, start: Timestamp, zone: &TimeZone, calendar: &BusinessCalendar) -> Timestamp {
        match *self {
            Allowance::Wall(span) => add(start, span),
            Allowance::WorkingDays(days) => calendar.add_working_days(start, zone, days),
        }
    }

    /// Whether this allowance ends no later than `other` from any start, whatever the
    /// calendar: N working days last at least N calendar days.
    pub fn never_longer_than(&self, other: &Allowance) -> bool {
        match (*self, *other) {
            (Allowance::Wall(a), Allowance::Wall(b)) => a <= b,
            (Allowance::Wall(a), Allowance::WorkingDays(n)) => {
                a <= SignedDuration::from_hours(24 * i64::from(n))
            }
            (Allowance::WorkingDays(m), Allowance::WorkingDays(n)) => m <= n,
            (Allowance::WorkingDays(_), Allowance::Wall(_)) => false,
        }
    }

    /// About how long the allowance lasts, counting a working day as a calendar day.
    pub fn nominal(&self) -> SignedDuration {
        match *self {
            Allowance::Wall(span) => span,
            Allowance::WorkingDays(days) => SignedDuration::from_hours(24 * i64::from(days)),
        }
    }
}

impl std::fmt::Display for Allowance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Allowance::Wall(span) => write!(f, "{span:#}"),
            Allowance::WorkingDays(days) => write!(f, "{days} working days"),
        }
    }
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
    /// When the clock of a ticket received at `intake` and dispatched `now` starts.
    pub fn clock_start(&self, intake: Timestamp, now: Timestamp) -> Timestamp {
        match self.starts {
            TierStart::Dispatch => now,
            TierStart::Intake => intake.min(now),
        }
    }

    /// The deadlines of a ticket of this tier handed to a unit at `start`, in the
    /// city's `zone` and on its `calendar`.
    pub fn deadlines(
        &self,
        start: Timestamp,
        zone: &TimeZone,
        calendar: &BusinessCalendar,
    ) -> Deadlines {
        Deadlines {
            respond_by: self.respond_within.due(start, zone, calendar),
            resolve_by: self.resolve_within.due(start, zone, calendar),
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

    fn tier(clock: TierClock, respond: &str, resolve: &str) -> Tier {
        Tier {
            code: TierCode(resolve.into()),
            label: resolve.into(),
            label_en: None,
            respond_within: Allowance::parse(respond, clock).unwrap(),
            resolve_within: Allowance::parse(resolve, clock).unwrap(),
            words: Vec::new(),
            starts: TierStart::Dispatch,
        }
    }

    #[test]
    fn deadlines_count_from_the_start() {
        let tier = tier(TierClock::Wall, "30m", "2h");
        let start: Timestamp = "2026-11-22T08:00:00Z".parse().unwrap();
        let due = tier.deadlines(start, &TimeZone::UTC, &BusinessCalendar::new());
        assert_eq!(due.respond_by.to_string(), "2026-11-22T08:30:00Z");
        assert_eq!(due.resolve_by.to_string(), "2026-11-22T10:00:00Z");
    }

    #[test]
    fn days_count_working_days_only_on_that_clock() {
        let calendar = crate::calendar::tests::china_2025();
        let zone = TimeZone::fixed(jiff::tz::offset(8));
        let start: Timestamp = "2025-09-30T10:00+08:00".parse().unwrap();
        let working = tier(TierClock::WorkingDays, "4h", "7d").deadlines(start, &zone, &calendar);
        assert_eq!(
            working.respond_by,
            "2025-09-30T14:00+08:00".parse().unwrap()
        );
        assert_eq!(
            working.resolve_by,
            "2025-10-16T10:00+08:00".parse().unwrap()
        );
        let wall = tier(TierClock::Wall, "1d", "7d").deadlines(start, &zone, &calendar);
        assert_eq!(wall.respond_by, "2025-10-01T10:00+08:00".parse().unwrap());
        assert_eq!(wall.resolve_by, "2025-10-07T10:00+08:00".parse().unwrap());
        // A response window in days on a working-day tier is in working days too.
        let respond = Allowance::parse("1d", TierClock::WorkingDays).unwrap();
        assert_eq!(respond, Allowance::WorkingDays(1));
        assert_eq!(
            respond.due(start, &zone, &calendar),
            "2025-10-09T10:00+08:00".parse().unwrap()
        );
    }

    #[test]
    fn the_default_clock_follows_the_unit() {
        assert_eq!(TierClock::default_for("15d"), TierClock::WorkingDays);
        assert_eq!(TierClock::default_for("24h"), TierClock::Wall);
        assert_eq!(TierClock::default_for("30m"), TierClock::Wall);
        assert!(matches!(
            Allowance::parse("70000d", TierClock::WorkingDays),
            Err(BadAllowance::TooManyWorkingDays(_))
        ));
        assert_eq!(
            Allowance::parse("70000d", TierClock::Wall),
            Ok(Allowance::Wall(SignedDuration::from_hours(70_000 * 24)))
        );
    }

    #[test]
    fn compares_allowances_on_any_calendar() {
        let hours = |h| Allowance::Wall(SignedDuration::from_hours(h));
        assert!(hours(24).never_longer_than(&Allowance::WorkingDays(1)));
        assert!(!hours(25).never_longer_than(&Allowance::WorkingDays(1)));
        assert!(Allowance::WorkingDays(7).never_longer_than(&Allowance::WorkingDays(15)));
        assert!(!Allowance::WorkingDays(1).never_longer_than(&hours(1_000)));
        assert!(hours(2).never_longer_than(&hours(2)) && !hours(3).never_longer_than(&hours(2)));
        assert_eq!(Allowance::WorkingDays(15).to_string(), "15 working days");
        assert_eq!(hours(2).to_string(), "2h");
        assert_eq!(
            Allowance::WorkingDays(15).nominal(),
            SignedDuration::from_hours(360)
        );
    }
}
