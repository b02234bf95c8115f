//! Citizens' follow codes: the one-time codes that let a citizen follow, rate and add to
//! their own demand without an account ([`Engine::follow`]).
//!
//! Codes are digested before they are stored; tries and sends are counted here so a
//! code cannot be guessed and a phone cannot be flooded.

use crate::{Engine, EngineError};
use minhu_store::FollowCode;

impl Engine {
    pub fn follow(&self) -> FollowCodes<'_> {
        FollowCodes { engine: self }
    }
}

/// The follow-code service ([`Engine::follow`]).
pub struct FollowCodes<'a> {
    engine: &'a Engine,
}

impl FollowCodes<'_> {
    /// Keeps a new code (its digest) for a ticket, replacing any earlier one.
    pub async fn put(&self, code: &FollowCode) -> Result<(), EngineError> {
        Ok(self.engine.store.put_follow_code(code).await?)
    }

    /// Counts a try at the ticket's code; `None` when the tries are used up, else the
    /// digest of the code to compare with.
    pub async fn claim_try(
        &self,
        ticket: &str,
        max_tries: u32,
    ) -> Result<Option<String>, EngineError> {
        let now = self.engine.now();
        Ok(self
            .engine
            .store
            .claim_follow_try(ticket, now, max_tries)
            .await?)
    }

    /// Uses the ticket's code up if `code_hash` is it; false when it was not (or was
    /// already used).
    pub async fn use_code(&self, ticket: &str, code_hash: &str) -> Result<bool, EngineError> {
        Ok(self.engine.store.use_follow_code(ticket, code_hash).await?)
    }

    /// Counts a code sent to `subject` today; false when `cap` were already sent.
    pub async fn count_sent(
        &self,
        subject: &str,
        day: jiff::civil::Date,
        cap: u32,
    ) -> Result<bool, EngineError> {
        Ok(self.engine.store.count_code_sent(subject, day, cap).await?)
    }

    /// Forgets the sends counted for `subject` (a citizen's erasure).
    pub async fn forget_sends(&self, subject: &str) -> Result<(), EngineError> {
        Ok(self.engine.store.forget_code_sends(subject).await?)
    }
}
