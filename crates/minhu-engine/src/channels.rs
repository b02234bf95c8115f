//! The channel adapters' memory ([`Engine::channels`]): which demand a contact's next
//! message goes to, what is held while the citizen decides, and which platform
//! messages were already handled.

use crate::{Engine, EngineError};
use minhu_store::{ChannelThread, Identity, LinkCode};

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

    /// Notes a demand the contact filed, for its linked history.
    pub async fn record_ticket(
        &self,
        channel: &str,
        contact: &str,
        ticket: &str,
    ) -> Result<(), EngineError> {
        Ok(self
            .engine
            .store
            .record_channel_ticket(channel, contact, ticket)
            .await?)
    }

    /// The demands the contacts (channel, contact) filed.
    pub async fn tickets_of(
        &self,
        contacts: &[(String, String)],
    ) -> Result<Vec<String>, EngineError> {
        Ok(self.engine.store.channel_tickets(contacts).await?)
    }

    /// Keeps a link's code (its digest), replacing the contact's earlier one.
    pub async fn put_link_code(&self, code: &LinkCode) -> Result<(), EngineError> {
        Ok(self.engine.store.put_link_code(code).await?)
    }

    /// Counts a try at the contact's live link code; `None` when there is none (or it
    /// expired, or its tries are spent).
    pub async fn claim_link_try(
        &self,
        channel: &str,
        contact: &str,
        max_tries: u32,
    ) -> Result<Option<LinkCode>, EngineError> {
        let now = self.engine.now();
        Ok(self
            .engine
            .store
            .claim_link_try(channel, contact, now, max_tries)
            .await?)
    }

    /// Uses the code up; false when another request did first.
    pub async fn use_link_code(
        &self,
        channel: &str,
        contact: &str,
        code_hash: &str,
    ) -> Result<bool, EngineError> {
        Ok(self
            .engine
            .store
            .use_link_code(channel, contact, code_hash)
            .await?)
    }

    /// Makes two identities one citizen's.
    pub async fn link(&self, a: &Identity, b: &Identity) -> Result<(), EngineError> {
        let now = self.engine.now();
        Ok(self.engine.store.link_identities(a, b, now).await?)
    }

    /// Every identity linked to `identity`, itself included.
    pub async fn linked(&self, identity: &Identity) -> Result<Vec<Identity>, EngineError> {
        Ok(self.engine.store.linked_identities(identity).await?)
    }
}
