//! The business calendar: which days are working days in a city.
//!
//! Deadlines of the slower tiers run in working days, and in China which days those
//! are changes every year: the State Council publishes the public holidays and the
//! make-up working days (调休, usually a Saturday or Sunday) each November for the next
//! year. So the calendar is data, one entry per year, loaded from the city's
//! `calendar.toml`; this module only answers "is this a working day?" and "when is N
//! working days after this moment?".
//!
//! **Years without data** fall back to the plain week (Monday to Friday work, Saturday
//! and Sunday rest) instead of refusing: a hotline must keep setting deadlines on
//! 1 January even if next year's notice has not been loaded yet, and a deadline in late
//! December often reaches into a year whose notice is not yet published. Callers that
//! can warn a person about it ask [`BusinessCalendar::uncovered_years`].

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use std::collections::{BTreeMap, BTreeSet};

/// Whether a listed date is a day off or a make-up working day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DayKind {
    /// A public holiday (or a day of the holiday block moved by 调休): no work.
    Holiday,
    /// A make-up working day (调休上班): a Saturday or Sunday on which people work.
    Workday,
}

/// A mistake in a calendar's data.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CalendarProblem {
    #[error("the year {0} is given twice")]
    YearTwice(i16),
    #[error("{date} is not in the year {year}")]
    OutsideYear { date: Date, year: i16 },
    #[error("{0} is both a holiday and a make-up working day")]
    Both(Date),
    #[error(
        "{0} is a {1:?}, already a working day; make-up working days fall on Saturdays or Sundays"
    )]
    WorkdayOnWeekday(Date, Weekday),
}

/// A date or an inclusive range of dates as written in `calendar.toml`:
/// `"2025-01-01"` or `"2025-01-28..2025-02-04"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DayRange {
    pub first: Date,
    pub last: Date,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BadDays {
    #[error("{0:?} is not a date: write YYYY-MM-DD, or a range YYYY-MM-DD..YYYY-MM-DD")]
    NotADate(String),
    #[error("the range {0:?} ends before it starts")]
    Backwards(String),
}

impl DayRange {
    pub fn parse(text: &str) -> Result<Self, BadDays> {
        let date = |part: &str| {
            part.trim()
                .parse::<Date>()
                .map_err(|_| BadDays::NotADate(text.to_owned()))
        };
        let (first, last) = match text.split_once("..") {
            Some((first, last)) => (date(first)?, date(last)?),
            None => (date(text)?, date(text)?),
        };
        if last < first {
            return Err(BadDays::Backwards(text.to_owned()));
        }
        Ok(Self { first, last })
    }

    /// Every date from `first` to `last`, both included.
    pub fn days(&self) -> impl Iterator<Item = Date> + use<> {
        let last = self.last;
        self.first.series(1.day()).take_while(move |d| *d <= last)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Year {
    holidays: BTreeSet<Date>,
    workdays: BTreeSet<Date>,
}

/// Weekends, public holidays and make-up working days, per year.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BusinessCalendar {
    years: BTreeMap<i16, Year>,
}

impl BusinessCalendar {
    /// A calendar without any year's data: every year is the plain week.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares that the calendar has data for `year` (even if the year lists no day).
    pub fn add_year(&mut self, year: i16) -> Result<(), CalendarProblem> {
        if self.covers(year) {
            return Err(CalendarProblem::YearTwice(year));
        }
        self.years.insert(year, Year::default());
        Ok(())
    }

    /// Lists `date` as a holiday or make-up working day of `year`.
    pub fn mark(&mut self, year: i16, date: Date, kind: DayKind) -> Result<(), CalendarProblem> {
        if date.year() != year {
            return Err(CalendarProblem::OutsideYear { date, year });
        }
        let entry = self.years.entry(year).or_default();
        let (list, other) = match kind {
            DayKind::Holiday => (&mut entry.holidays, &entry.workdays),
            DayKind::Workday => {
                if !is_weekend(date) {
                    return Err(CalendarProblem::WorkdayOnWeekday(date, date.weekday()));
                }
                (&mut entry.workdays, &entry.holidays)
            }
        };
        if other.contains(&date) {
            return Err(CalendarProblem::Both(date));
        }
        list.insert(date);
        Ok(())
    }

    /// Whether the calendar has data for `year`; years without it use the plain week.
    pub fn covers(&self, year: i16) -> bool {
        self.years.contains_key(&year)
    }

    /// The years from `from`'s to `to`'s (both included) that have no data, so that
    /// working days in them were counted on the plain week.
    pub fn uncovered_years(&self, from: Date, to: Date) -> Vec<i16> {
        (from.year()..=to.year())
            .filter(|year| !self.covers(*year))
            .collect()
    }

    /// Monday to Friday unless a holiday; Saturday and Sunday only as make-up days.
    pub fn is_working_day(&self, date: Date) -> bool {
        match self.years.get(&date.year()) {
            Some(year) if year.holidays.contains(&date) => false,
            Some(year) if year.workdays.contains(&date) => true,
            _ => !is_weekend(date),
        }
    }

    /// `days` working days after `start`, counted in `zone`: the same clock time on
    /// the `days`-th working day after `start`'s date, `start`'s own date not counted.
    /// Beyond the last date jiff can represent the answer is [`Timestamp::MAX`].
    pub fn add_working_days(&self, start: Timestamp, zone: &TimeZone, days: u16) -> Timestamp {
        let local = start.to_zoned(zone.clone());
        let mut date = local.date();
        let mut left = days;
        while left > 0 {
            date = match date.tomorrow() {
                Ok(next) => next,
                Err(_) => return Timestamp::MAX,
            };
            if self.is_working_day(date) {
                left -= 1;
            }
        }
        date.to_datetime(local.time())
            .to_zoned(zone.clone())
            .map_or(Timestamp::MAX, |due| due.timestamp())
    }
}

fn is_weekend(date: Date) -> bool {
    matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use jiff::civil::date;

    /// China's 2025 schedule (State Council notice 国办发明电〔2024〕12号), as the
    /// core's tests need it without reading the demo city's file.
    pub fn china_2025() -> BusinessCalendar {
        let mut calendar = BusinessCalendar::new();
        calendar.add_year(2025).unwrap();
        for text in [
            "2025-01-01",
            "2025-01-28..2025-02-04",
            "2025-04-04..2025-04-06",
            "2025-05-01..2025-05-05",
            "2025-05-31..2025-06-02",
            "2025-10-01..2025-10-08",
        ] {
            for day in DayRange::parse(text).unwrap().days() {
                calendar.mark(2025, day, DayKind::Holiday).unwrap();
            }
        }
        for text in [
            "2025-01-26",
            "2025-02-08",
            "2025-04-27",
            "2025-09-28",
            "2025-10-11",
        ] {
            let day = DayRange::parse(text).unwrap().first;
            calendar.mark(2025, day, DayKind::Workday).unwrap();
        }
        calendar
    }

    fn shanghai() -> TimeZone {
        TimeZone::fixed(jiff::tz::offset(8))
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn seven_working_days_across_the_national_day_week() {
        // Oct 1-8 off; Thu 9 (1), Fri 10 (2), make-up Sat 11 (3), Mon 13 (4) .. Thu 16 (7).
        let due = china_2025().add_working_days(at("2025-09-30T10:00+08:00"), &shanghai(), 7);
        assert_eq!(due, at("2025-10-16T10:00+08:00"));
    }

    #[test]
    fn holidays_weekends_and_make_up_days() {
        let calendar = china_2025();
        assert!(
            !calendar.is_working_day(date(2025, 10, 8)),
            "a holiday on a Wednesday"
        );
        assert!(
            calendar.is_working_day(date(2025, 10, 11)),
            "a make-up Saturday"
        );
        assert!(
            calendar.is_working_day(date(2025, 9, 28)),
            "a make-up Sunday"
        );
        assert!(
            !calendar.is_working_day(date(2025, 10, 12)),
            "a plain Sunday"
        );
        assert!(
            calendar.is_working_day(date(2025, 10, 9)),
            "a plain Thursday"
        );
    }

    #[test]
    fn the_start_day_is_not_counted_and_the_clock_time_is_kept() {
        let calendar = china_2025();
        // Friday evening: one working day later is Monday, same time.
        let due = calendar.add_working_days(at("2025-10-17T18:30+08:00"), &shanghai(), 1);
        assert_eq!(due, at("2025-10-20T18:30+08:00"));
        // A start on a holiday counts from the first working day after it.
        let due = calendar.add_working_days(at("2025-10-05T09:00+08:00"), &shanghai(), 1);
        assert_eq!(due, at("2025-10-09T09:00+08:00"));
        // The local date decides: 17:00Z on Sep 30 is already Oct 1 in the city.
        let due = calendar.add_working_days(at("2025-09-30T17:00Z"), &shanghai(), 1);
        assert_eq!(due, at("2025-10-09T01:00+08:00"));
    }

    #[test]
    fn years_without_data_fall_back_to_the_plain_week() {
        let calendar = china_2025();
        assert!(calendar.covers(2025) && !calendar.covers(2027));
        // 2027-01-01 is a Friday: without 2027's data it counts as a working day.
        assert!(calendar.is_working_day(date(2027, 1, 1)));
        let due = calendar.add_working_days(at("2026-12-31T10:00+08:00"), &shanghai(), 2);
        assert_eq!(due, at("2027-01-04T10:00+08:00"));
        assert_eq!(
            calendar.uncovered_years(date(2025, 12, 30), date(2027, 1, 4)),
            vec![2026, 2027]
        );
    }

    #[test]
    fn the_end_of_time_saturates() {
        let due =
            BusinessCalendar::new().add_working_days(at("9999-12-30T10:00Z"), &TimeZone::UTC, 5);
        assert_eq!(due, Timestamp::MAX);
    }

    #[test]
    fn refuses_inconsistent_data() {
        let mut calendar = china_2025();
        assert_eq!(
            calendar.add_year(2025),
            Err(CalendarProblem::YearTwice(2025))
        );
        assert_eq!(
            calendar.mark(2025, date(2025, 10, 11), DayKind::Holiday),
            Err(CalendarProblem::Both(date(2025, 10, 11)))
        );
        assert_eq!(
            calendar.mark(2025, date(2026, 1, 1), DayKind::Holiday),
            Err(CalendarProblem::OutsideYear {
                date: date(2026, 1, 1),
                year: 2025
            })
        );
        assert_eq!(
            calendar.mark(2025, date(2025, 10, 9), DayKind::Workday),
            Err(CalendarProblem::WorkdayOnWeekday(
                date(2025, 10, 9),
                Weekday::Thursday
            ))
        );
    }

    #[test]
    fn parses_days_and_ranges() {
        let range = DayRange::parse("2025-01-28..2025-02-04").unwrap();
        assert_eq!(range.days().count(), 8);
        assert_eq!(DayRange::parse("2025-01-01").unwrap().days().count(), 1);
        assert_eq!(
            DayRange::parse("2025-02-04..2025-01-28"),
            Err(BadDays::Backwards("2025-02-04..2025-01-28".into()))
        );
        for text in ["2025-02-30", "2025/01/01", "", "2025-01-01..", "tomorrow"] {
            assert_eq!(DayRange::parse(text), Err(BadDays::NotADate(text.into())));
        }
    }
}
