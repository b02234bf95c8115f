//! Identifiers. Each kind of id is its own type so that a unit id can never be passed
//! where a region id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub struct $name(String);

        impl $name {
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// A region of the city (city, district, street, community or grid), as configured.
    RegionId
);
string_id!(
    /// A city of the province the deployment serves: its root region's id (`A`), so
    /// that a city is named the same way in its files, its tickets and the API.
    CityId
);
string_id!(
    /// A handling unit (property company, community, street office, department).
    UnitId
);

/// The human-readable ticket number citizens quote on the phone: the intake date
/// (yyyymmdd, city time) followed by that day's sequence, at least five digits,
/// e.g. `2026112200017`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketNumber(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a ticket number is 13 to 16 digits (the date yyyymmdd and a daily sequence), got {0:?}")]
pub struct BadTicketNumber(pub String);

impl TicketNumber {
    pub fn compose(date: jiff::civil::Date, sequence: u64) -> Self {
        Self(format!("{}{sequence:05}", date.strftime("%Y%m%d")))
    }

    pub fn parse(text: &str) -> Result<Self, BadTicketNumber> {
        let valid = (13..=16).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit());
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err(BadTicketNumber(text.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TicketNumber {
    type Error = BadTicketNumber;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<TicketNumber> for String {
    fn from(value: TicketNumber) -> Self {
        value.0
    }
}

impl fmt::Display for TicketNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composes_date_and_padded_sequence() {
        let date = jiff::civil::date(2026, 11, 22);
        assert_eq!(TicketNumber::compose(date, 17).as_str(), "2026112200017");
        assert_eq!(
            TicketNumber::compose(date, 123456).as_str(),
            "20261122123456"
        );
    }

    #[test]
    fn parse_refuses_non_digits_and_wrong_lengths() {
        assert!(TicketNumber::parse("2026112200017").is_ok());
        assert!(TicketNumber::parse("20261122").is_err());
        assert!(TicketNumber::parse("2026112200O17").is_err());
        assert!(TicketNumber::parse("../etc/passwd").is_err());
    }
}
