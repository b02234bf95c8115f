//! Parsing the date-time spellings found in the source files into local civil
//! time ([`jiff::civil::DateTime`]), and converting Excel serial dates.
//!
//! Accepted spellings (surrounding whitespace ignored):
//!
//! * year first, `/`, `-` or `.` between the parts: `2019/2/28 11:25:05`,
//!   `2020-09-03 00:00:00`, `2019/2/28 11:25`, `2019-02-28`;
//! * ISO 8601 with a `T` and optional fraction: `2024-04-15T10:01:02.000`;
//! * year last, US order (month/day/year) with an optional 12-hour clock:
//!   `12/31/2016`, `05/01/2022 12:00:03 AM`; when the first part cannot be a
//!   month but the second can (`31/12/2016`) it is read as day/month/year;
//! * Chinese markers: `2019年2月28日 11:25`, `2019年2月28日 下午3:25`;
//! * compact `20190228`.
//!
//! Offsets and zone names (`Z`, `+08:00`) are refused: the platform stores the
//! wall-clock time of the source, and a silently dropped offset would be wrong.

use jiff::civil::DateTime;

/// Parses one of the date-time spellings listed in this module's documentation.
/// Returns `None` for anything else, including impossible dates such as
/// `2019/13/45` or `2019/2/30`.
pub fn parse_datetime(input: &str) -> Option<DateTime> {
    let s = input.trim();
    if s.is_empty() || s.len() > 80 {
        return None;
    }
    let mut meridiem: Option<bool> = None; // Some(true) = afternoon
    let mut t = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("上午") {
            meridiem = Some(false);
            t.push(' ');
            rest = after;
            continue;
        }
        if let Some(after) = rest.strip_prefix("下午") {
            meridiem = Some(true);
            t.push(' ');
            rest = after;
            continue;
        }
        match c {
            '年' | '月' => t.push('-'),
            '日' | '号' => t.push(' '),
            c => t.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    let t = t.trim();

    let (date_part, time_part) = match t.find([' ', 'T']) {
        Some(i) => (&t[..i], t[i + 1..].trim()),
        None => (t, ""),
    };
    let (year, month, day) = parse_date(date_part)?;

    let mut time_part = time_part;
    let upper = time_part.to_ascii_uppercase();
    for (suffix, pm) in [("AM", false), ("PM", true), ("A.M.", false), ("P.M.", true)] {
        if upper.ends_with(suffix) {
            meridiem = Some(pm);
            time_part = time_part[..time_part.len() - suffix.len()].trim_end();
            break;
        }
    }
    let (mut hour, minute, second, nanos) = if time_part.is_empty() {
        if meridiem.is_some() {
            return None;
        }
        (0, 0, 0, 0)
    } else {
        parse_time(time_part)?
    };
    if let Some(pm) = meridiem {
        if !(1..=12).contains(&hour) {
            return None;
        }
        hour %= 12;
        if pm {
            hour += 12;
        }
    }
    DateTime::new(
        i16::try_from(year).ok()?,
        i8::try_from(month).ok()?,
        i8::try_from(day).ok()?,
        i8::try_from(hour).ok()?,
        i8::try_from(minute).ok()?,
        i8::try_from(second).ok()?,
        i32::try_from(nanos).ok()?,
    )
    .ok()
}

/// A run of 1 to `max` ASCII digits as a number.
fn digits(s: &str, max: usize) -> Option<u32> {
    if s.is_empty() || s.len() > max || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_date(s: &str) -> Option<(u32, u32, u32)> {
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        return Some((
            digits(&s[..4], 4)?,
            digits(&s[4..6], 2)?,
            digits(&s[6..], 2)?,
        ));
    }
    let sep = s.chars().find(|c| !c.is_ascii_digit())?;
    if !matches!(sep, '/' | '-' | '.') {
        return None;
    }
    let mut parts = s.split(sep);
    let (a, b, c) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    if a.len() == 4 {
        Some((digits(a, 4)?, digits(b, 2)?, digits(c, 2)?))
    } else if c.len() == 4 {
        let (a, b, year) = (digits(a, 2)?, digits(b, 2)?, digits(c, 4)?);
        if a > 12 && (1..=12).contains(&b) {
            Some((year, b, a))
        } else {
            Some((year, a, b))
        }
    } else {
        None
    }
}

/// `H:M`, `H:M:S` or `H:M:S.fraction` as (hour, minute, second, nanoseconds).
fn parse_time(s: &str) -> Option<(u32, u32, u32, u32)> {
    let mut parts = s.split(':');
    let hour = digits(parts.next()?, 2)?;
    let minute = digits(parts.next()?, 2)?;
    let (second, nanos) = match parts.next() {
        None => (0, 0),
        Some(sec) => {
            let (whole, frac) = match sec.split_once(['.', ',']) {
                Some((w, f)) => (w, Some(f)),
                None => (sec, None),
            };
            let second = digits(whole, 2)?;
            let nanos = match frac {
                None => 0,
                Some(f) => {
                    let n = digits(f, 9)?;
                    let scale = 10u32.checked_pow(9 - u32::try_from(f.len()).ok()?)?;
                    n.checked_mul(scale)?
                }
            };
            (second, nanos)
        }
    };
    if parts.next().is_some() {
        return None;
    }
    Some((hour, minute, second, nanos))
}

/// Converts an Excel serial date-time (days since 1899-12-30 in the 1900 date
/// system, fraction = time of day) to civil time, to the millisecond.
pub(crate) fn from_excel_serial(serial: f64) -> Option<DateTime> {
    if !serial.is_finite() || serial < 1.0 {
        return None;
    }
    from_excel(calamine::ExcelDateTime::new(
        serial,
        calamine::ExcelDateTimeType::DateTime,
        false,
    ))
}

/// Converts a date cell read by calamine (either date system) to civil time.
pub(crate) fn from_excel(value: calamine::ExcelDateTime) -> Option<DateTime> {
    let serial = value.as_f64();
    if !serial.is_finite() || !(0.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let (y, mo, d, h, mi, s, ms) = value.to_ymd_hms_milli();
    DateTime::new(
        i16::try_from(y).ok()?,
        i8::try_from(mo).ok()?,
        i8::try_from(d).ok()?,
        i8::try_from(h).ok()?,
        i8::try_from(mi).ok()?,
        i8::try_from(s).ok()?,
        i32::from(ms) * 1_000_000,
    )
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn p(s: &str) -> Option<DateTime> {
        parse_datetime(s)
    }

    #[test]
    fn teddycup_slashes() {
        assert_eq!(
            p("2019/2/28 11:25:05"),
            Some(date(2019, 2, 28).at(11, 25, 5, 0))
        );
        assert_eq!(
            p("2019/12/1 9:03:00"),
            Some(date(2019, 12, 1).at(9, 3, 0, 0))
        );
        assert_eq!(
            p("2019/2/28 11:25"),
            Some(date(2019, 2, 28).at(11, 25, 0, 0))
        );
        assert_eq!(p(" 2019/2/28 "), Some(date(2019, 2, 28).at(0, 0, 0, 0)));
    }

    #[test]
    fn dashes_and_iso() {
        assert_eq!(
            p("2020-09-03 00:00:00"),
            Some(date(2020, 9, 3).at(0, 0, 0, 0))
        );
        assert_eq!(
            p("2024-04-15T10:01:02.000"),
            Some(date(2024, 4, 15).at(10, 1, 2, 0))
        );
        assert_eq!(
            p("2024-04-15T10:01:02.25"),
            Some(date(2024, 4, 15).at(10, 1, 2, 250_000_000))
        );
        assert_eq!(p("2019.02.28"), Some(date(2019, 2, 28).at(0, 0, 0, 0)));
        assert_eq!(p("20190228"), Some(date(2019, 2, 28).at(0, 0, 0, 0)));
    }

    #[test]
    fn us_dates_and_twelve_hour_clock() {
        assert_eq!(p("12/31/2016"), Some(date(2016, 12, 31).at(0, 0, 0, 0)));
        assert_eq!(p("31/12/2016"), Some(date(2016, 12, 31).at(0, 0, 0, 0)));
        assert_eq!(
            p("05/01/2022 12:00:03 AM"),
            Some(date(2022, 5, 1).at(0, 0, 3, 0))
        );
        assert_eq!(
            p("02/17/2020 12:19:00 PM"),
            Some(date(2020, 2, 17).at(12, 19, 0, 0))
        );
        assert_eq!(
            p("11/17/2021 02:07:21 pm"),
            Some(date(2021, 11, 17).at(14, 7, 21, 0))
        );
    }

    #[test]
    fn chinese_markers() {
        assert_eq!(p("2019年2月28日"), Some(date(2019, 2, 28).at(0, 0, 0, 0)));
        assert_eq!(
            p("2019年2月28日 下午3:25"),
            Some(date(2019, 2, 28).at(15, 25, 0, 0))
        );
        assert_eq!(
            p("2019年2月28日上午11:25:05"),
            Some(date(2019, 2, 28).at(11, 25, 5, 0))
        );
    }

    #[test]
    fn refused() {
        for s in [
            "",
            "2019/13/45",
            "2019/2/30",
            "2019/2/28 25:00:00",
            "2019/2/28 11:60",
            "13/13/2019",
            "2019-02-28T10:00:00Z",
            "2019-02-28 10:00:00+08:00",
            "2019/2/28 13:00 PM",
            "19/2/28",
            "yesterday",
            "2019/2-28",
            "2019/2/28/1",
            "0000-00-00 00:00:00",
            "2019-02-28T10:00:00.1234567890",
            "１９９０/1/1",
        ] {
            assert_eq!(p(s), None, "{s:?} should be refused");
        }
    }

    #[test]
    fn excel_serials() {
        assert_eq!(
            from_excel_serial(43524.475752314815),
            Some(date(2019, 2, 28).at(11, 25, 5, 0))
        );
        assert_eq!(
            from_excel_serial(45943.5),
            Some(date(2025, 10, 13).at(12, 0, 0, 0))
        );
        assert_eq!(from_excel_serial(0.0), None);
        assert_eq!(from_excel_serial(f64::NAN), None);
        assert_eq!(from_excel_serial(1e12), None);
    }
}
