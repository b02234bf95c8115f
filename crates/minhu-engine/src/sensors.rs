//! City systems' events into the same loop as citizens' demands (一网统管): each event
//! is taken in as a `sensor` demand ([`minhu_core::sensor`]), and a device's repeated
//! alarms within one window are the one ticket the first made.

use crate::{Engine, EngineError};
use jiff::SignedDuration;
use minhu_core::event::{Actor, SystemPart};
use minhu_core::sensor::SensorEvent;
use minhu_store::Created;

/// One ticket per device per window: a cover that keeps tilting, a gauge that
/// reports every minute, a camera that sees the same stall all afternoon.
pub const DEDUP_WINDOW: SignedDuration = SignedDuration::from_mins(30);

impl Engine {
    /// Takes a city system's event in as a ticket; `fresh` is false when an earlier
    /// event of the same device in the same window made the ticket already (the
    /// ticket is returned, nothing is written).
    pub async fn sensor_event(&self, event: &SensorEvent) -> Result<Created, EngineError> {
        let intake = event.intake(&self.city, self.now())?;
        let key = event.dedup_key(DEDUP_WINDOW);
        if let Some(earlier) = self.earlier_alarm(&key).await? {
            return Ok(earlier);
        }
        let actor = Actor::system(SystemPart::Sensors);
        match self.intake(intake, actor, Some(key.clone())).await {
            // Another reading of the same window came in at the same moment and won:
            // its ticket is this event's too.
            Err(EngineError::IdempotencyMismatch) => self
                .earlier_alarm(&key)
                .await?
                .ok_or(EngineError::IdempotencyMismatch),
            created => created,
        }
    }

    async fn earlier_alarm(&self, key: &str) -> Result<Option<Created>, EngineError> {
        let Some(number) = self.ticket_by_key(key).await? else {
            return Ok(None);
        };
        Ok(Some(Created {
            ticket: self.ticket(&number).await?,
            fresh: false,
        }))
    }
}
