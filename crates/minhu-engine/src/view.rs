//! What a reader sees of a ticket: the one place that decides it.
//!
//! Every path that hands ticket data to someone (the JSON API, the pages, Open311, search
//! results, duplicate candidates, attachments) reads through a [`Reader`]: it says whether
//! the ticket is there at all for this reader (their scope; a 举报 or a confidential
//! demand is never public) and masks what they may not see of the citizen and of the
//! personal data written in the text (`minhu_core::access`). Handlers hold no privacy
//! rule of their own, so a new route cannot forget one: it has no other way in.

use crate::{Engine, EngineError};
use minhu_core::access::{
    IdentityView, Permission, Scope, is_confidential, redact_events, redact_events_as, redact_text,
    redact_ticket, redact_ticket_as,
};
use minhu_core::city::PrivacySettings;
use minhu_core::event::Event;
use minhu_core::ids::TicketNumber;
use minhu_core::ticket::{Attachment, Ticket};
use minhu_store::{Page, TicketFilter, WorkCursor, WorkOrder, WorkPage};

/// Who reads: an official or an API client within a scope, the anonymous public, or a
/// citizen who proved their phone for one demand.
#[derive(Clone, Debug)]
pub struct Reader {
    permissions: Vec<Permission>,
    scope: Scope,
    audience: Audience,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Audience {
    /// Officials and tokens: their scope; identities as their permissions say.
    Official,
    /// Anyone (Open311, anonymous callers): no 举报 or confidential demand at all, and
    /// of the others no identity and no personal data in the text.
    Public,
    /// A citizen following their own demand with a code sent to their phone: that
    /// demand, whole (it is theirs).
    Follower(TicketNumber),
}

impl Reader {
    /// An official or a token with these permissions over this part of the city.
    pub fn official(permissions: Vec<Permission>, scope: Scope) -> Self {
        Self {
            permissions,
            scope,
            audience: Audience::Official,
        }
    }

    /// Anyone on the internet.
    pub fn public() -> Self {
        Self {
            permissions: Vec::new(),
            scope: Scope::All,
            audience: Audience::Public,
        }
    }

    /// Anyone, reading the part of the province `scope` covers (one city's
    /// requests: Open311's `jurisdiction_id`).
    pub fn public_in(scope: Scope) -> Self {
        Self {
            scope,
            ..Self::public()
        }
    }

    /// The citizen of one demand, signed in with its follow code.
    pub fn follower(number: TicketNumber) -> Self {
        Self {
            permissions: Vec::new(),
            scope: Scope::All,
            audience: Audience::Follower(number),
        }
    }

    pub fn may(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }

    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// Whether the ticket exists for this reader at all.
    pub fn sees(&self, ticket: &Ticket) -> bool {
        match &self.audience {
            Audience::Official => self.scope.contains(ticket),
            // The public of a jurisdiction: that city's demands (all, by default).
            Audience::Public => !is_confidential(&ticket.intake) && self.scope.contains(ticket),
            Audience::Follower(number) => ticket.number == *number,
        }
    }

    /// The ticket as this reader may see it under the city's `privacy` settings, or
    /// `None` when it is not theirs to see.
    pub fn ticket(&self, ticket: Ticket, privacy: &PrivacySettings) -> Option<Ticket> {
        self.sees(&ticket).then(|| self.masked(ticket, privacy))
    }

    /// The ticket masked for this reader, without asking whether they may see it: for
    /// the answer to the one who just took it in or acted on it (they hold it already).
    pub fn masked(&self, ticket: Ticket, privacy: &PrivacySettings) -> Ticket {
        match &self.audience {
            Audience::Official => redact_ticket(ticket, &self.permissions, false, privacy),
            Audience::Public => redact_ticket_as(ticket, IdentityView::Hidden, privacy),
            Audience::Follower(_) => ticket,
        }
    }

    /// The ticket as this reader sees it once they reveal its citizen (for a stated
    /// reason, which the caller records): unmasked for `identity.reveal`, except a
    /// confidential reporter, who stays hidden from the units; `None` when it is not
    /// theirs to see. Only officials reveal.
    pub fn revealed(&self, ticket: Ticket, privacy: &PrivacySettings) -> Option<Ticket> {
        (self.audience == Audience::Official && self.sees(&ticket))
            .then(|| redact_ticket(ticket, &self.permissions, true, privacy))
    }

    /// The ticket's log as this reader may see it.
    pub fn events(&self, events: Vec<Event>, privacy: &PrivacySettings) -> Vec<Event> {
        match &self.audience {
            Audience::Official => redact_events(events, &self.permissions, false, privacy),
            Audience::Public => redact_events_as(events, IdentityView::Hidden, privacy),
            Audience::Follower(_) => events,
        }
    }

    /// `filter` narrowed to this reader's scope for a work list, without words (a work
    /// list is read by its columns); `None` for a reader who is not an official.
    fn work_filter(&self, filter: &TicketFilter) -> Option<TicketFilter> {
        (self.audience == Audience::Official).then(|| TicketFilter {
            scope: self.scope.clone(),
            text: None,
            ..filter.clone()
        })
    }

    /// A text of a ticket this reader knows only by its words (a duplicate candidate):
    /// without [`Permission::ViewIdentity`] nothing of the personal data in it is kept,
    /// as for a confidential reporter, since the reader cannot be told whether it is one.
    pub fn words(&self, text: &str, privacy: &PrivacySettings) -> String {
        let view = if self.may(Permission::ViewIdentity) {
            IdentityView::Full
        } else {
            IdentityView::Hidden
        };
        redact_text(text, view, privacy, &[])
    }
}

impl Engine {
    /// `ticket` masked for `reader` under the city's settings ([`Reader::masked`]).
    pub fn masked_for(&self, reader: &Reader, ticket: Ticket) -> Ticket {
        let ticket = self.with_city(ticket);
        let city = self.city_of(&ticket).clone();
        reader.masked(ticket, &city.privacy)
    }

    /// The ticket with its city named: one taken in before provinces belongs to the
    /// home city.
    fn with_city(&self, mut ticket: Ticket) -> Ticket {
        if ticket.intake.city.is_none() {
            ticket.intake.city = Some(self.province.home().id.clone());
        }
        ticket
    }

    /// The ticket as `reader` may see it under its city's privacy settings.
    fn seen(&self, reader: &Reader, ticket: Ticket) -> Option<Ticket> {
        let ticket = self.with_city(ticket);
        let city = self.city_of(&ticket).clone();
        reader.ticket(ticket, &city.privacy)
    }

    /// One ticket as `reader` may see it; a ticket they may not see does not exist for
    /// them ([`EngineError::NotFound`], the answer a wrong number gets).
    pub async fn ticket_for(
        &self,
        reader: &Reader,
        number: &TicketNumber,
    ) -> Result<Ticket, EngineError> {
        self.seen(reader, self.ticket_as(reader, number).await?)
            .ok_or_else(|| EngineError::NotFound(number.to_string()))
    }

    /// The stored ticket, read as `reader`: a city's official reads it through the
    /// store's city condition (and, on PostgreSQL, row-level security), so that the
    /// check of [`Reader::sees`] is not the only wall between cities.
    async fn ticket_as(
        &self,
        reader: &Reader,
        number: &TicketNumber,
    ) -> Result<Ticket, EngineError> {
        match (&reader.audience, &reader.scope) {
            (Audience::Official, scope @ Scope::City(..)) => self
                .store
                .ticket_in(number, scope)
                .await?
                .ok_or_else(|| EngineError::NotFound(number.to_string())),
            _ => self.ticket(number).await,
        }
    }

    /// One ticket as `reader` sees it after revealing its citizen ([`Reader::revealed`]).
    pub async fn revealed_for(
        &self,
        reader: &Reader,
        number: &TicketNumber,
    ) -> Result<Ticket, EngineError> {
        let ticket = self.with_city(self.ticket_as(reader, number).await?);
        let city = self.city_of(&ticket).clone();
        reader
            .revealed(ticket, &city.privacy)
            .ok_or_else(|| EngineError::NotFound(number.to_string()))
    }

    /// The ticket's whole history as `reader` may see it.
    pub async fn events_for(
        &self,
        reader: &Reader,
        number: &TicketNumber,
    ) -> Result<Vec<Event>, EngineError> {
        let ticket = self.with_city(self.ticket_as(reader, number).await?);
        if !reader.sees(&ticket) {
            return Err(EngineError::NotFound(number.to_string()));
        }
        let privacy = &self.city_of(&ticket).privacy;
        let events = match reader.audience {
            Audience::Official => self.store.events_in(number, &reader.scope).await?,
            _ => self.events(number).await?,
        };
        if events.is_empty() {
            return Err(EngineError::NotFound(number.to_string()));
        }
        Ok(reader.events(events, privacy))
    }

    /// A page of the tickets `reader` may see, masked for them: the filter's scope is
    /// the reader's, whatever the caller put in it. A public reader's page may hold
    /// fewer tickets than the limit (confidential demands are left out after the
    /// read); its cursor still leads on.
    pub async fn list_for(
        &self,
        reader: &Reader,
        filter: &TicketFilter,
    ) -> Result<Page, EngineError> {
        let mut filter = TicketFilter {
            scope: reader.scope.clone(),
            ..filter.clone()
        };
        match &reader.audience {
            Audience::Follower(number) => {
                filter.numbers = Some(vec![number.as_str().to_owned()]);
            }
            Audience::Public => {
                // Nobody outside may look demands up by phone.
                filter.phone = None;
            }
            Audience::Official => {}
        }
        // Personal data in the words finds tickets only for those who may see it.
        filter.identity = reader.audience == Audience::Official
            && reader.permissions.contains(&Permission::ViewIdentity);
        let page = self.list(&filter).await?;
        Ok(Page {
            tickets: self.seen_by(reader, page.tickets),
            next: page.next,
        })
    }

    /// A page of a work list (the dispatch queue, the supervisors' and leaders' lists):
    /// the tickets `filter` selects within `reader`'s scope, in `order`, masked for
    /// them. Work lists are officials'; any other reader gets an empty page.
    pub async fn work_list_for(
        &self,
        reader: &Reader,
        filter: &TicketFilter,
        order: &WorkOrder,
        after: Option<&WorkCursor>,
    ) -> Result<WorkPage, EngineError> {
        let Some(filter) = reader.work_filter(filter) else {
            return Ok(WorkPage {
                tickets: Vec::new(),
                next: None,
            });
        };
        let page = self.store.work_list(&filter, order, after).await?;
        Ok(WorkPage {
            tickets: self.seen_by(reader, page.tickets),
            next: page.next,
        })
    }

    /// Of `tickets`, those `reader` may see, masked for them.
    fn seen_by(&self, reader: &Reader, tickets: Vec<Ticket>) -> Vec<Ticket> {
        tickets
            .into_iter()
            .filter_map(|t| self.seen(reader, t))
            .collect()
    }

    /// How many tickets of a work list `reader` has (see [`Engine::work_list_for`]).
    pub async fn count_for(
        &self,
        reader: &Reader,
        filter: &TicketFilter,
    ) -> Result<u64, EngineError> {
        match reader.work_filter(filter) {
            Some(filter) => Ok(self.store.count(&filter).await?),
            None => Ok(0),
        }
    }

    /// The attachment `sha256` of ticket `number`, if `reader` may see that ticket and
    /// the ticket holds it: a file is reached through a ticket the reader may open,
    /// never by its hash alone.
    pub async fn attachment_for(
        &self,
        reader: &Reader,
        number: &TicketNumber,
        sha256: &str,
    ) -> Result<Attachment, EngineError> {
        let ticket = self.ticket_for(reader, number).await?;
        ticket
            .attachments
            .into_iter()
            .find(|a| a.sha256 == sha256)
            .ok_or_else(|| EngineError::NotFound(format!("{number}/attachments/{sha256}")))
    }
}
