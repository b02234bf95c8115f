//! City systems' events (一网统管): a manhole cover's tilt sensor, a water-level gauge,
//! a camera's detection. Each event becomes a demand of the `sensor` channel with its
//! device, position and reading in its words, placed by its position like a citizen's
//! map pin; repeated alarms of one device within one window are one ticket
//! ([`SensorEvent::dedup_key`]).

use crate::City;
use crate::deadline::TierCode;
use crate::label::Labelled;
use crate::taxonomy::CategoryPath;
use crate::ticket::{Channel, Citizen, GeoPoint, Intake, Kind};
use crate::workflow::FieldError;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;

code_enum!(
    /// What kind of device raised an event.
    SensorKind {
        ManholeCover = "manhole_cover" / "井盖监测" / "Manhole cover sensor",
        WaterLevel = "water_level" / "水位监测" / "Water-level gauge",
        Camera = "camera" / "视频识别" / "Camera detection",
        Other = "other" / "其他感知设备" / "Other device",
    }
);

/// One event as a city system sends it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SensorEvent {
    /// The sending system (e.g. `manhole-platform`), 1-40 letters, digits, `-`, `_`, `.`.
    pub system: String,
    /// The device's id within that system, same characters.
    pub device: String,
    pub kind: SensorKind,
    /// When the device observed it (RFC 3339).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub observed_at: Timestamp,
    /// Where the device is.
    pub location: GeoPoint,
    /// What it measured, when it measures.
    #[serde(default)]
    pub reading: Option<Reading>,
    /// What the system says happened (a camera's label: "占道经营"), shown as the title.
    #[serde(default)]
    pub event: Option<String>,
    /// The device's address, when the system knows it.
    #[serde(default)]
    pub address: Option<String>,
    /// A taxonomy path, when the system knows which kind of problem this is.
    #[serde(default)]
    pub category: Option<CategoryPath>,
    /// A tier code; the city's default when absent.
    #[serde(default)]
    pub tier: Option<TierCode>,
}

/// A measurement: its value, unit and the threshold it crossed.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reading {
    pub value: f64,
    /// `m`, `°`, `cm` ...
    pub unit: String,
    #[serde(default)]
    pub threshold: Option<f64>,
}

/// How far a device's clock may run ahead of the city's.
const AHEAD: SignedDuration = SignedDuration::from_mins(5);
/// An event older than this is history, not an alarm.
const STALE: SignedDuration = SignedDuration::from_hours(24);

impl SensorEvent {
    /// Checks the event and writes it as a demand, at `now` on the city's clock.
    pub fn intake(&self, city: &City, now: Timestamp) -> Result<Intake, FieldError> {
        name("system", &self.system)?;
        name("device", &self.device)?;
        if self.observed_at > now + AHEAD {
            return Err(FieldError::new(
                "observed_at",
                "is in the future; check the device's clock",
            ));
        }
        if self.observed_at < now - STALE {
            return Err(FieldError::new(
                "observed_at",
                "is more than 24 hours ago; send alarms as they happen",
            ));
        }
        if let Some(reading) = &self.reading {
            if !reading.value.is_finite() {
                return Err(FieldError::new("reading.value", "must be a number"));
            }
            if reading.threshold.is_some_and(|t| !t.is_finite()) {
                return Err(FieldError::new("reading.threshold", "must be a number"));
            }
            if reading.unit.chars().count() > 16 {
                return Err(FieldError::new(
                    "reading.unit",
                    "must be at most 16 characters",
                ));
            }
        }
        let told = self
            .event
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty());
        if told.is_some_and(|e| e.chars().count() > 100) {
            return Err(FieldError::new("event", "must be at most 100 characters"));
        }
        let what = told.unwrap_or(self.kind.label().zh);
        let when = self
            .observed_at
            .to_zoned(city.timezone.clone())
            .strftime("%Y-%m-%d %H:%M:%S");
        let mut description = format!(
            "{} 的{}设备 {} 于 {when} 报警",
            self.system,
            self.kind.label().zh,
            self.device,
        );
        if let Some(told) = told {
            description.push_str(&format!("：{told}"));
        }
        description.push('。');
        if let Some(reading) = &self.reading {
            description.push_str(&format!("读数 {}{}", reading.value, reading.unit));
            if let Some(threshold) = reading.threshold {
                description.push_str(&format!("，阈值 {threshold}{}", reading.unit));
            }
            description.push('。');
        }
        description.push_str(&format!(
            "位置 {:.6}, {:.6}。",
            self.location.lat, self.location.lon
        ));
        Ok(Intake {
            channel: Channel::Sensor,
            kind: Kind::Help,
            title: format!("{what}：{}", self.device),
            description,
            address: self.address.clone().filter(|a| !a.trim().is_empty()),
            location: Some(self.location),
            citizen: Citizen {
                anonymous: true,
                ..Citizen::default()
            },
            category: self.category.clone(),
            region: None,
            tier: self
                .tier
                .clone()
                .unwrap_or_else(|| city.default_tier.clone()),
            external_ref: Some(format!("sensor:{}:{}", self.system, self.device)),
            city: None,
        })
    }

    /// The idempotency key all of this device's events in one window share: windows
    /// of `window` counted from the Unix epoch (a 30-minute window: 10:00-10:30), by
    /// the time the device observed the event, so a repeated or re-sent alarm finds
    /// the ticket the window's first made.
    pub fn dedup_key(&self, window: SignedDuration) -> String {
        let size = window.as_secs().max(1);
        let start = self.observed_at.as_second().div_euclid(size) * size;
        format!("sensor:{}:{}:{start}", self.system, self.device)
    }
}

/// A system's or a device's id: 1-40 letters, digits, `-`, `_` or `.`.
fn name(field: &str, value: &str) -> Result<(), FieldError> {
    let fine = (1..=40).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if fine {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            "must be 1-40 letters, digits, '-', '_' or '.'",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(at: &str) -> SensorEvent {
        SensorEvent {
            system: "manhole-platform".into(),
            device: "MC-0042".into(),
            kind: SensorKind::ManholeCover,
            observed_at: at.parse().unwrap(),
            location: GeoPoint {
                lat: 28.19,
                lon: 112.94,
            },
            reading: Some(Reading {
                value: 35.0,
                unit: "°".into(),
                threshold: Some(15.0),
            }),
            event: None,
            address: None,
            category: None,
            tier: None,
        }
    }

    #[test]
    fn one_key_per_device_and_window() {
        let window = SignedDuration::from_mins(30);
        let first = event("2026-12-07T02:00:00Z").dedup_key(window);
        assert_eq!(event("2026-12-07T02:29:59Z").dedup_key(window), first);
        assert_ne!(event("2026-12-07T02:30:00Z").dedup_key(window), first);
        let mut other = event("2026-12-07T02:00:00Z");
        other.device = "MC-0043".into();
        assert_ne!(other.dedup_key(window), first);
    }
}
