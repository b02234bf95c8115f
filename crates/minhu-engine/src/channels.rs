//! The channel adapters' memory ([`Engine::channels`]): which demand a contact's next
//! message goes to, what is held while the citizen decides, and which platform
//! messages were already handled.

use crate::{Engine, EngineError};
use minhu_store::ChannelThread;

impl Engine {
    pub fn channels(&self) -> ChannelThreads<'_> {
        ChannelThreads { engine: self }
    }
}

/// The channel-thread service ([`Engine::channels`]).
pub struct ChannelThreads<'a> {
    engine: &'a Engine,
}

impl ChannelThreads<'_> {
    /// The thread of `contact` on `channel`, if it wrote before.
    pub async fn thread(
        &self,
        channel: &str,
        contact: &str,
    ) -> Result<Option<ChannelThread>, EngineError> {
        Ok(self.engine.store.channel_thread(channel, contact).await?)
    }

    /// Keeps the contact's thread: its demand and what is held, as of now.
    pub async fn put(
        &self,
        channel: &str,
        contact: &str,
        ticket: Option<String>,
        pending: Option<String>,
    ) -> Result<(), EngineError> {
        let thread = ChannelThread {
            channel: channel.to_owned(),
            contact: contact.to_owned(),
            ticket,
            pending,
            updated_at: self.engine.now(),
        };
        Ok(self.engine.store.put_channel_thread(&thread).await?)
    }

    /// Claims a platform's message id: true the first time it is seen, false for its
    /// retries.
    pub async fn claim(&self, channel: &str, message: &str) -> Result<bool, EngineError> {
        let now = self.engine.now();
        Ok(self
            .engine
            .store
            .claim_channel_message(channel, message, now)
            .await?)
    }
}
