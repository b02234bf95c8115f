//! The engine: where a request meets the rules and the store.
//!
//! It takes a demand in (validating it, placing it, routing it), applies workflow
//! commands through the core's single transition function, and saves the resulting
//! events. Handlers in the web layer and the CLI call the engine; they never write to
//! the store themselves.

pub mod accounts;
pub mod alerts;
pub mod analytics;
pub mod attachments;
pub mod audit;
pub mod batch;
pub mod channels;
pub mod duplicates;
pub mod follow;
pub mod hotspots;
mod metrics;
pub mod neighbours;
pub mod router;
pub mod sensors;
pub mod signing;
pub mod timers;
pub mod view;
pub mod workers;

pub use view::Reader;
pub use workers::Workers;

/// The records the engine's services take and return, as the store defines them: the
/// web layer names them from here and never depends on the store itself.
pub mod records {
    pub use minhu_store::{
        Alert, ApiToken, Article, ArticleStatus, AuditEntry, AuditFilter, Awaiting, ChannelThread,
        Created, Cursor, FollowCode, Identity, LinkCode, LoginNotice, LoginPolicy, LoginTry,
        NotificationRow, Open311Key, Page, RollupQuery, RollupRow, Session, StoreError,
        TicketFilter, TimerRow, User, WorkCursor, WorkOrder, WorkPage,
    };
}

use jiff::Timestamp;
use minhu_core::access;
use minhu_core::access::Scope;
use minhu_core::event::{Actor, Change, Event, SystemPart};
use minhu_core::ids::{CityId, RegionId, TicketNumber, UnitId};
use minhu_core::pii;
use minhu_core::ticket::{Intake, Ticket};
use minhu_core::timer;
use minhu_core::workflow::{self, Command, FieldError, TransitionError};
use minhu_core::{City, Clock, Province};
use minhu_kb::KnowledgeBase;
use minhu_search::LiveIndex;
use minhu_store::{
    Alert, Appended, Created, Cursor, Idempotency, NewTicket, NotificationRow, Outgoing, Page,
    Store, StoreError, TicketFilter, TimerRow,
};
use router::{Decision, Router};

/// A demand as [`Engine::intake_many`] takes it: received at `at`, then moved through
/// the steps it has already lived (history from an earlier system, a benchmark's past).
#[derive(Clone, Debug)]
pub struct Lived {
    pub intake: Intake,
    pub at: Timestamp,
    /// Later steps in order, after routing's; none for a demand just received.
    pub later: Vec<Step>,
}

impl Lived {
    /// A demand received at `at` and nothing more yet.
    pub fn received(intake: Intake, at: Timestamp) -> Self {
        Self {
            intake,
            at,
            later: Vec::new(),
        }
    }
}

/// One step of a [`Lived`] demand: who gave which command when.
#[derive(Clone, Debug)]
pub struct Step {
    pub at: Timestamp,
    pub actor: Actor,
    pub command: Command,
}

/// A consultation's answer given on the call that brought it ([`Engine::intake_answered`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnswerAtIntake {
    pub answer: String,
    /// The knowledge-base article the answer came from, if any.
    pub article: Option<String>,
}
use sha2::{Digest, Sha256};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Invalid(#[from] FieldError),
    #[error("cannot {action} a ticket that is {status}")]
    NotAllowed {
        action: &'static str,
        status: &'static str,
    },
    #[error("ticket {0} does not exist")]
    NotFound(String),
    /// An official gave a command for a unit they do not act for (`access::act_as`).
    #[error("{0}")]
    NotYours(String),
    #[error("no account {0}")]
    NoAccount(String),
    #[error("this Idempotency-Key was already used for a different request")]
    IdempotencyMismatch,
    #[error("ticket {0} is being changed by someone else right now; try again")]
    Busy(String),
    #[error("storage failed: {0}")]
    Store(StoreError),
}

impl From<StoreError> for EngineError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(number) => EngineError::NotFound(number.to_string()),
            StoreError::IdempotencyMismatch => EngineError::IdempotencyMismatch,
            StoreError::Conflict(number) => EngineError::Busy(number.to_string()),
            other => EngineError::Store(other),
        }
    }
}

impl From<TransitionError> for EngineError {
    fn from(error: TransitionError) -> Self {
        match error {
            TransitionError::NotAllowed { action, status } => EngineError::NotAllowed {
                action,
                status: status.code(),
            },
            TransitionError::Invalid(field) => EngineError::Invalid(field),
        }
    }
}

/// Says what to tell people about new events (notifications). Whatever it returns goes
/// to the outbox in the transaction of the events; `minhu-notify` implements it.
pub trait Announce: Send + Sync {
    /// The messages about `events`, which led to `ticket`.
    fn announce(&self, ticket: &Ticket, events: &[Event]) -> Vec<Outgoing>;

    /// The messages about a newly raised alert (see [`alerts`]); none by default.
    fn announce_alert(&self, _alert: &Alert) -> Vec<Outgoing> {
        Vec::new()
    }
}

/// Tells no one: an engine without notification channels.
pub struct Silent;

impl Announce for Silent {
    fn announce(&self, _: &Ticket, _: &[Event]) -> Vec<Outgoing> {
        Vec::new()
    }
}

/// The only door to the city's data: the web layer and the CLI act and read through
/// it, never through the store, so the rules (the workflow, scope and privacy, the
/// audit trail) live in one place. Built by [`Engine::builder`]; its background work
/// runs in a [`Workers`] set.
pub struct Engine {
    store: Arc<dyn Store>,
    /// The home city: the province's first, and a province of one's only city.
    city: Arc<City>,
    /// Every city served; a ticket is handled under its own city's configuration.
    province: Arc<Province>,
    clock: Arc<dyn Clock>,
    router: Router,
    /// Woken after every stored change, so the timer worker looks again at once.
    timers_changed: Arc<tokio::sync::Notify>,
    /// What each change tells citizens and integrations (the outbox).
    announce: Arc<dyn Announce>,
    /// Woken after a change that put messages in the outbox.
    outbox_changed: Arc<tokio::sync::Notify>,
    /// The full-text index behind the `q` filter; without it, words are found by
    /// scanning the store.
    search: Option<LiveIndex>,
    /// The knowledge base: suggested answers, and the articles an answer may cite.
    kb: Arc<KnowledgeBase>,
    /// The hotspot list of the default window, kept current by [`hotspots::watch`].
    hotspots: hotspots::HotspotWatch,
    /// Recent API token lookups ([`accounts::TOKEN_CACHE_TTL`]).
    tokens: accounts::TokenCache,
}

/// How an [`Engine`] is put together: the store, the city and the clock, then the
/// optional parts (a classifier's router, notification channels, the search index).
pub struct EngineBuilder {
    engine: Engine,
}

impl EngineBuilder {
    /// The city the engine is being built for.
    pub fn city(&self) -> &Arc<City> {
        &self.engine.city
    }

    /// Serves every city of `province` (a ticket under its own city's configuration);
    /// the home city becomes the engine's [`Engine::city`]. Without it the engine
    /// serves the one city it was built with.
    pub fn province(mut self, province: Arc<Province>) -> Self {
        self.engine.city = province.home().city.clone();
        self.engine.province = province;
        self
    }

    /// Routing with a classifier (`minhu train`) instead of the rules alone.
    pub fn router(mut self, router: Router) -> Self {
        self.engine.router = router;
        self
    }

    /// Who is told of each change (`minhu-notify`'s outbox); nobody by default.
    pub fn announce(mut self, announce: Arc<dyn Announce>) -> Self {
        self.engine.announce = announce;
        self
    }

    /// The full-text index behind the `q` filter, following the store.
    pub fn search(mut self, search: LiveIndex) -> Self {
        self.engine.search = Some(search);
        self
    }

    pub fn build(self) -> Engine {
        self.engine
    }
}

/// How many times an action is retried when another writer got to the ticket first.
const CONFLICT_RETRIES: usize = 5;

impl Engine {
    /// An engine with the rule-based router, no notification channels and no search
    /// index: [`Engine::builder`] adds them.
    pub fn new(store: Arc<dyn Store>, city: Arc<City>, clock: Arc<dyn Clock>) -> Self {
        Self::builder(store, city, clock).build()
    }

    pub fn builder(store: Arc<dyn Store>, city: Arc<City>, clock: Arc<dyn Clock>) -> EngineBuilder {
        let kb = Arc::new(KnowledgeBase::new(store.clone()));
        EngineBuilder {
            engine: Self {
                store,
                province: Arc::new(Province::single(city.clone())),
                city,
                clock,
                router: Router::default(),
                timers_changed: Arc::new(tokio::sync::Notify::new()),
                announce: Arc::new(Silent),
                outbox_changed: Arc::new(tokio::sync::Notify::new()),
                search: None,
                kb,
                hotspots: hotspots::HotspotWatch::default(),
                tokens: Default::default(),
            },
        }
    }

    /// The city in force: regions, units, taxonomy, calendars, deadlines, settings.
    pub fn city(&self) -> &Arc<City> {
        &self.city
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The cities served (a province of one for a single city).
    pub fn province(&self) -> &Arc<Province> {
        &self.province
    }

    /// The configuration a ticket is handled under: its city's (the home city's for a
    /// ticket taken in before provinces).
    pub fn city_of(&self, ticket: &Ticket) -> &Arc<City> {
        ticket
            .intake
            .city
            .as_ref()
            .and_then(|id| self.province.city(id))
            .map_or(&self.city, |c| &c.city)
    }

    /// The city a demand is taken in for: the one it names (`intake.city`), else, in
    /// a province, the city of the province its words name as another city, else the
    /// home city.
    fn city_for(&self, intake: &Intake) -> Result<(CityId, &Arc<City>), EngineError> {
        if let Some(id) = &intake.city {
            return match self.province.city(id) {
                Some(entry) => Ok((entry.id.clone(), &entry.city)),
                None => Err(FieldError::new(
                    "city",
                    format!(
                        "{id} is not a city served here; the cities are {}",
                        self.city_ids()
                    ),
                )
                .into()),
            };
        }
        let entry = if self.province.has_several_cities() {
            let text = format!(
                "{} {} {}",
                intake.address.as_deref().unwrap_or(""),
                intake.title,
                intake.description
            );
            self.province.reads_as(&text)
        } else {
            self.province.home()
        };
        Ok((entry.id.clone(), &entry.city))
    }

    /// The cities a reader with `scope` may see: all of them over the whole province,
    /// else those holding a unit or region of the scope.
    pub fn cities_in(&self, scope: &Scope) -> Vec<&minhu_core::province::ProvinceCity> {
        self.province
            .cities()
            .iter()
            .filter(|entry| match scope {
                Scope::All => true,
                Scope::City(city, _) => &entry.id == city,
                Scope::Units(units) => units.iter().any(|u| entry.city.units.get(u).is_some()),
                Scope::Regions(regions) => {
                    regions.iter().any(|r| entry.city.regions.get(r).is_some())
                }
            })
            .collect()
    }

    /// The configuration a reader with `scope` works under: their city's when the scope
    /// lies in one city, else (the whole province) the home city's.
    pub fn city_in(&self, scope: &Scope) -> &Arc<City> {
        match self.cities_in(scope)[..] {
            [only] if !matches!(scope, Scope::All) => &only.city,
            _ => &self.city,
        }
    }

    /// The city an account or token limited to `unit` or `region` belongs to; `None`
    /// for one over the whole province (neither, or a single city served).
    pub fn city_of_account(
        &self,
        unit: Option<&UnitId>,
        region: Option<&RegionId>,
    ) -> Option<CityId> {
        let scope = self.scope_of(unit, region);
        match self.cities_in(&scope)[..] {
            [only] if !matches!(scope, Scope::All) => Some(only.id.clone()),
            _ => None,
        }
    }

    /// The scope of an account or token limited to `unit` or `region` (neither: the
    /// whole province), under the configuration of the city holding them. Where
    /// several cities are served, a city's root region is the whole of that city,
    /// its demands not placed yet included (its centre: `--region B`).
    pub fn scope_of(&self, unit: Option<&UnitId>, region: Option<&RegionId>) -> Scope {
        let holder = match (region, unit) {
            _ if !self.province.has_several_cities() => None,
            (Some(region), _) => {
                if let Some(entry) = self.province.city(&CityId::new(region.as_str())) {
                    let regions = entry.city.regions.all().iter().map(|r| r.id.clone());
                    return Scope::City(entry.id.clone(), regions.collect());
                }
                self.province.city_of_region(region)
            }
            (None, Some(unit)) => self
                .province
                .cities()
                .iter()
                .find(|entry| entry.city.units.get(unit).is_some()),
            (None, None) => None,
        };
        let city = holder.map_or(&self.city, |entry| &entry.city);
        Scope::of_account(city, unit, region)
    }

    /// The ids of the cities served, for messages: `A, B, K8`.
    pub fn city_ids(&self) -> String {
        self.province
            .cities()
            .iter()
            .map(|c| c.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Where each demand should go, by the rules (and the classifier, if one is set).
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// Woken whenever a change put messages in the outbox: the notifier's bell.
    pub fn outbox_changed(&self) -> &Arc<tokio::sync::Notify> {
        &self.outbox_changed
    }

    /// The knowledge base: articles, suggested answers, the assistant's index.
    pub fn kb(&self) -> &KnowledgeBase {
        &self.kb
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Today in the city: the day knowledge-base articles must be valid on.
    pub fn today(&self) -> jiff::civil::Date {
        self.now().to_zoned(self.city.timezone.clone()).date()
    }

    /// An answer may cite only an article that exists and is live today.
    async fn check_article(&self, id: &str) -> Result<(), EngineError> {
        match self.store.article(id).await? {
            None => Err(FieldError::new(
                "article",
                format!("no knowledge-base article has the id {id:?}"),
            )
            .into()),
            Some(article) if !article.live_on(self.today()) => Err(FieldError::new(
                "article",
                format!("{id} is not published or not valid today"),
            )
            .into()),
            Some(_) => Ok(()),
        }
    }

    fn region_path(&self, ticket: &Ticket) -> Option<String> {
        ticket
            .intake
            .region
            .as_ref()
            .and_then(|r| self.city_of(ticket).regions.path(r))
    }

    /// Takes a demand in: validates it, places and routes it, and stores it with its
    /// first events, all in one go. `idempotency_key` makes retries safe.
    pub async fn intake(
        &self,
        intake: Intake,
        actor: Actor,
        idempotency_key: Option<String>,
    ) -> Result<Created, EngineError> {
        self.intake_audited(intake, actor, idempotency_key, None)
            .await
    }

    /// [`Engine::intake`], with the audit log's entry for the creation written in the
    /// ticket's own transaction (its target becomes the new number; a retry that
    /// finds an earlier ticket writes none).
    pub async fn intake_audited(
        &self,
        intake: Intake,
        actor: Actor,
        idempotency_key: Option<String>,
        audit: Option<minhu_store::AuditEntry>,
    ) -> Result<Created, EngineError> {
        self.create(intake, Vec::new(), actor, idempotency_key, audit)
            .await
    }

    /// [`Engine::intake_audited`] for a consultation the agent answers on the call
    /// (from the knowledge base's `article`, when one was used): the answer is the
    /// ticket's second event, written with it, so routing never dispatches a demand
    /// that is already answered.
    pub async fn intake_answered(
        &self,
        intake: Intake,
        answer: AnswerAtIntake,
        actor: Actor,
        idempotency_key: Option<String>,
        audit: Option<minhu_store::AuditEntry>,
    ) -> Result<Created, EngineError> {
        if let Some(id) = &answer.article {
            self.check_article(id).await?;
        }
        let AnswerAtIntake { answer, article } = answer;
        let command = Command::AnswerAtIntake { answer, article };
        self.create(intake, vec![command], actor, idempotency_key, audit)
            .await
    }

    /// [`Engine::intake_audited`] for a grid worker's patrol report that they handled
    /// on the spot (即查即办): its `photos` (stored already) and `note`, what was
    /// done, are written with the report in its own transaction, so the ticket is
    /// created closed, whole, and never dispatched.
    pub async fn intake_handled_on_spot(
        &self,
        intake: Intake,
        photos: Vec<minhu_core::ticket::Attachment>,
        note: String,
        actor: Actor,
        idempotency_key: Option<String>,
        audit: Option<minhu_store::AuditEntry>,
    ) -> Result<Created, EngineError> {
        let mut done: Vec<Command> = photos.into_iter().map(Command::AddAttachment).collect();
        done.push(Command::HandleOnSpot { note });
        self.create(intake, done, actor, idempotency_key, audit)
            .await
    }

    async fn create(
        &self,
        intake: Intake,
        done: Vec<Command>,
        actor: Actor,
        idempotency_key: Option<String>,
        audit: Option<minhu_store::AuditEntry>,
    ) -> Result<Created, EngineError> {
        let mut new = self.prepare(intake, done, actor, idempotency_key, self.now(), Vec::new())?;
        new.audit = audit;
        let created = self.store.create_ticket(new).await?;
        self.changed();
        self.outbox_changed.notify_one();
        if created.fresh {
            metrics::count_intake(created.ticket.intake.channel);
        }
        Ok(created)
    }

    /// Takes many demands in at once, each as [`Engine::intake`] would have at the
    /// moment given with it, then each moved through the steps it has already lived
    /// (its [`Lived::later`] commands, each through `workflow::transition` at its own
    /// moment), stored in one transaction
    /// ([`TicketStore::create_tickets`](minhu_store::TicketStore::create_tickets)):
    /// loading history, or a benchmark's millions. A step the rules refuse fails the
    /// whole batch, naming the step: history is not stored half-lived.
    pub async fn intake_many(
        &self,
        lives: Vec<Lived>,
        actor: Actor,
    ) -> Result<Vec<Ticket>, EngineError> {
        let batch = lives
            .into_iter()
            .map(|Lived { intake, at, later }| {
                self.prepare(intake, Vec::new(), actor.clone(), None, at, later)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let tickets = self.store.create_tickets(&batch).await?;
        self.changed();
        self.outbox_changed.notify_one();
        for ticket in &tickets {
            metrics::count_intake(ticket.intake.channel);
        }
        Ok(tickets)
    }

    /// A demand checked, placed and routed as at `now` (or, when commands were `done`
    /// with its intake: answered on the call, handled on the spot, never routed): the
    /// new ticket's first events, timers and messages, ready for the store to number
    /// and keep.
    fn prepare(
        &self,
        intake: Intake,
        done: Vec<Command>,
        actor: Actor,
        idempotency_key: Option<String>,
        now: Timestamp,
        later: Vec<Step>,
    ) -> Result<NewTicket, EngineError> {
        let idempotency = idempotency_key.map(|key| Idempotency {
            fingerprint: fingerprint(&intake),
            key,
        });
        let (city_id, city) = self.city_for(&intake)?;
        let intake = Intake {
            city: Some(city_id),
            ..intake
        };
        let (mut ticket, created) = draft(city, intake, now)?;
        let mut events = vec![Event {
            seq: 1,
            at: now,
            actor: actor.clone(),
            change: created,
        }];
        let mut append = |ticket: &mut Ticket, actor: Actor, change: Change, at: Timestamp| {
            let event = Event {
                seq: ticket.version + 1,
                at,
                actor,
                change,
            };
            ticket.apply(&event);
            events.push(event);
        };
        if done.is_empty() {
            let decision = self.router.decide(&ticket, city);
            // The place read once, here, and kept: pages and the other parts read it
            // from the ticket instead of reading the words again.
            if let Some(reading) = decision.place_reading() {
                let change = Change::PlaceRead(reading);
                append(&mut ticket, Actor::system(SystemPart::Router), change, now);
            }
            for command in decision.commands() {
                // A router suggestion the rules refuse is simply not taken: the
                // ticket stays with the dispatchers.
                if let Ok(change) = workflow::transition(&ticket, command, city, now) {
                    append(&mut ticket, Actor::system(SystemPart::Router), change, now);
                }
            }
            // Taken in for one city and about another the province serves: handed to
            // that city's desk (转办), in sight of both.
            if let Some(other) = decision
                .elsewhere
                .as_deref()
                .and_then(|name| self.province.city_named(name))
                .filter(|other| ticket.intake.city.as_ref() != Some(&other.id))
            {
                let command = Command::TransferCity {
                    city: other.id.clone(),
                    reason: format!(
                        "诉求所述地点属{} (the demand is about {})",
                        other.city.name, other.city.name_en
                    ),
                };
                if let Ok(change) = workflow::transition(&ticket, command, city, now) {
                    append(&mut ticket, Actor::system(SystemPart::Router), change, now);
                }
            }
        }
        // Answered on the call, handled on the spot: nothing is left for routing.
        for command in done {
            let change = workflow::transition(&ticket, command, city, now)?;
            append(&mut ticket, actor.clone(), change, now);
        }
        for Step { at, actor, command } in later {
            let change = workflow::transition(&ticket, command, city, at)?;
            append(&mut ticket, actor, change, at);
        }
        let notifications = self.announce.announce(&ticket, &events);
        Ok(NewTicket {
            day: self.city.local_date(now),
            region_path: self.region_path(&ticket),
            timers: timer::pending(&ticket, city),
            events,
            idempotency,
            notifications,
            audit: None,
        })
    }

    /// What routing would decide for a demand, storing nothing: the administrators'
    /// preview of the configuration. The draft ticket comes back for its place.
    pub fn preview(&self, intake: Intake) -> Result<(Ticket, Decision), EngineError> {
        self.preview_in(&self.city, intake)
    }

    /// The same under a configuration not in force yet: an administrator's edit,
    /// checked before it is saved.
    pub fn preview_in(
        &self,
        city: &City,
        intake: Intake,
    ) -> Result<(Ticket, Decision), EngineError> {
        let (ticket, _) = draft(city, intake, self.now())?;
        let decision = self.router.decide(&ticket, city);
        Ok((ticket, decision))
    }

    /// Wakes whoever follows the store after a write: the timer worker looks again at
    /// once, the search index's follower indexes the change.
    fn changed(&self) {
        self.timers_changed.notify_one();
        if let Some(search) = &self.search {
            search.changed();
        }
    }

    pub async fn ticket(&self, number: &TicketNumber) -> Result<Ticket, EngineError> {
        self.store
            .ticket(number)
            .await?
            .ok_or_else(|| EngineError::NotFound(number.to_string()))
    }

    /// Applies one workflow command by `actor`, retrying if the ticket changed between
    /// reading it and writing the event. A merge also writes the main case, and a main
    /// case's reply every ticket merged into it, in the same transaction.
    pub async fn act(
        &self,
        number: &TicketNumber,
        command: Command,
        actor: Actor,
    ) -> Result<Ticket, EngineError> {
        self.act_checked(number, command, actor, None).await
    }

    /// [`Engine::act`] by an official of `scope`: the command is fitted to the unit
    /// they act for ([`access::act_as`]: only the holder handles the ticket, a summoned
    /// unit its own part), judged on the ticket as it stands when the event is written.
    pub async fn act_within(
        &self,
        scope: &Scope,
        number: &TicketNumber,
        command: Command,
        actor: Actor,
    ) -> Result<Ticket, EngineError> {
        self.act_checked(number, command, actor, Some(scope)).await
    }

    /// [`Engine::act_within`] (or [`Engine::act`] without a scope), counted for
    /// `/metrics` by action and outcome.
    async fn act_checked(
        &self,
        number: &TicketNumber,
        command: Command,
        actor: Actor,
        scope: Option<&Scope>,
    ) -> Result<Ticket, EngineError> {
        let action = command.name();
        let result = self.apply_command(number, command, actor, scope).await;
        let outcome = match &result {
            Ok(_) => "done",
            Err(EngineError::Store(_) | EngineError::Busy(_)) => "failed",
            Err(_) => "refused",
        };
        metrics::count_action(action, outcome);
        result
    }

    async fn apply_command(
        &self,
        number: &TicketNumber,
        command: Command,
        actor: Actor,
        scope: Option<&Scope>,
    ) -> Result<Ticket, EngineError> {
        if let Command::ReplyFromCase { .. } = &command {
            return Err(FieldError::new(
                "action",
                "reply_from_case is passed on by minhu when the main case is resolved",
            )
            .into());
        }
        if let Command::AnswerAtIntake {
            article: Some(id), ..
        } = &command
        {
            self.check_article(id).await?;
        }
        if let Command::TransferCity { city, .. } = &command
            && self.province.city(city).is_none()
        {
            return Err(FieldError::new(
                "city",
                format!(
                    "{city} is not a city served here; the cities are {}",
                    self.city_ids()
                ),
            )
            .into());
        }
        for _ in 0..CONFLICT_RETRIES {
            let mut ticket = self.ticket(number).await?;
            let now = self.now();
            // A timer firing marks its row in the index fired, in the same transaction.
            let fired = match &command {
                Command::Fire { timer } => timer::pending(&ticket, self.city_of(&ticket))
                    .into_iter()
                    .find(|t| t.kind == *timer),
                _ => None,
            };
            let command = match scope {
                Some(scope) => access::act_as(scope, &ticket, command.clone())
                    .map_err(|refused| EngineError::NotYours(refused.0))?,
                None => command.clone(),
            };
            let change = workflow::transition(&ticket, command, self.city_of(&ticket), now)?;
            let event = Event {
                seq: ticket.version + 1,
                at: now,
                actor: actor.clone(),
                change,
            };
            ticket.apply(&event);
            let others = self.reached(&ticket, &event, now).await?;
            let mut writes = vec![Write::new(self, ticket, event, fired)];
            writes.extend(others);
            let batch: Vec<Appended<'_>> = writes.iter().map(Write::appended).collect();
            match self.store.append_many(&batch).await {
                Ok(()) => {
                    self.changed();
                    if writes.iter().any(|w| !w.notifications.is_empty()) {
                        self.outbox_changed.notify_one();
                    }
                    let first = writes.swap_remove(0);
                    return Ok(first.ticket);
                }
                Err(StoreError::Conflict(_)) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(EngineError::Busy(number.to_string()))
    }

    /// The other tickets `event` on `ticket` reaches: the main case a ticket is merged
    /// into or taken out of records it (并单), and a main case's reply answers every
    /// ticket still merged into it.
    async fn reached(
        &self,
        ticket: &Ticket,
        event: &Event,
        now: Timestamp,
    ) -> Result<Vec<Write>, EngineError> {
        let mut writes = Vec::new();
        let mut write = |mut other: Ticket, change: Change, actor: Actor| {
            let event = Event {
                seq: other.version + 1,
                at: now,
                actor,
                change,
            };
            other.apply(&event);
            writes.push(Write::new(self, other, event, None));
        };
        match &event.change {
            Change::Merged { into, reason } => {
                let main = self.store.ticket(into).await?.ok_or_else(|| {
                    FieldError::new("into", format!("ticket {into} does not exist"))
                })?;
                let change = workflow::join_case(&main, &ticket.number, reason)?;
                write(main, change, event.actor.clone());
            }
            Change::Unmerged { from, reason } => {
                if let Some(main) = self.store.ticket(from).await?
                    && let Some(change) = workflow::leave_case(&main, &ticket.number, reason)
                {
                    write(main, change, event.actor.clone());
                }
            }
            change => {
                let Some(reply) = workflow::case_reply(change) else {
                    return Ok(writes);
                };
                for number in &ticket.merged {
                    let Some(merged) = self.store.ticket(number).await? else {
                        continue;
                    };
                    // Reopened on its own or taken out since: no longer this case's.
                    if merged.merged_into.as_ref() != Some(&ticket.number) {
                        continue;
                    }
                    let command = Command::ReplyFromCase {
                        case: ticket.number.clone(),
                        reply: reply.to_owned(),
                    };
                    let change =
                        workflow::transition(&merged, command, self.city_of(&merged), now)?;
                    write(merged, change, Actor::system(SystemPart::Cases));
                }
            }
        }
        Ok(writes)
    }

    /// A page of tickets. Words (`filter.text`) are looked up in the search index when
    /// there is one; the store then reads the matches with every other filter and the
    /// data scope, so the index can only narrow what the store would show. A phone
    /// number already narrows the store's list to a caller's few tickets, and an index
    /// still on its first catch-up would miss older ones: the store answers those alone,
    /// and for a reader who may not see identities ([`TicketFilter::identity`]) only on
    /// the words of the tickets with their personal data cut out, as the index does.
    pub async fn list(&self, filter: &TicketFilter) -> Result<Page, EngineError> {
        let Some(words) = &filter.text else {
            return Ok(self.store.list(filter).await?);
        };
        if let (Some(search), None) = (&self.search, &filter.phone)
            && search.ready()
        {
            match self.search_list(search, words, filter).await {
                Ok(page) => return Ok(page),
                Err(SearchFailed::Store(error)) => return Err(error.into()),
                Err(SearchFailed::Index(error)) => {
                    tracing::error!(%error, "search failed; scanning the store instead");
                }
            }
        }
        if filter.identity {
            return Ok(self.store.list(filter).await?);
        }
        self.list_open_words(words, filter).await
    }

    /// The store's word scan for a reader who may not see identities: a query holding
    /// personal data they may not look up finds nothing, and a ticket the store found
    /// only through personal data in its text (`LIKE '%5555%'` in a phone) is left out.
    async fn list_open_words(
        &self,
        words: &str,
        filter: &TicketFilter,
    ) -> Result<Page, EngineError> {
        let (rest, items) = pii::remove(words, &pii::STRICT, &[]);
        if items
            .iter()
            .any(|item| !access::may_search(item, false, &self.city.privacy))
        {
            return Ok(Page {
                tickets: Vec::new(),
                next: None,
            });
        }
        let wanted: Vec<String> = rest.split_whitespace().map(str::to_lowercase).collect();
        let holds_words = |ticket: &Ticket| {
            let open = access::search_words(ticket).open.join(" ").to_lowercase();
            wanted
                .iter()
                .all(|word| open.contains(word.as_str()) || self.city.privacy.is_public(word))
        };
        let limit = filter.limit.clamp(1, 500) as usize;
        let mut tickets: Vec<Ticket> = Vec::new();
        let mut after = filter.cursor.clone();
        loop {
            let page = self
                .store
                .list(&TicketFilter {
                    cursor: after,
                    ..filter.clone()
                })
                .await?;
            tickets.extend(page.tickets.into_iter().filter(|t| holds_words(t)));
            after = page.next;
            if tickets.len() > limit || after.is_none() {
                break;
            }
        }
        Ok(page_of(tickets, limit))
    }

    async fn search_list(
        &self,
        search: &LiveIndex,
        words: &str,
        filter: &TicketFilter,
    ) -> Result<Page, SearchFailed> {
        let limit = filter.limit.clamp(1, 500) as usize;
        let mut tickets: Vec<Ticket> = Vec::new();
        let mut after = filter.cursor.clone();
        // The store may refuse a match the index has not yet seen change (it follows
        // the store a moment behind): ask the index again after the last match until
        // the page is full.
        loop {
            let wanted = limit + 1 - tickets.len();
            let index = search.index.clone();
            let (words, asked) = (
                words.to_owned(),
                TicketFilter {
                    cursor: after.clone(),
                    ..filter.clone()
                },
            );
            let hits = tokio::task::spawn_blocking(move || index.search(&words, &asked, wanted))
                .await
                .map_err(|e| SearchFailed::Index(e.to_string()))?
                .map_err(|e| SearchFailed::Index(e.to_string()))?;
            let exhausted = hits.len() < wanted;
            after = hits.last().map(|hit| Cursor {
                created_at: hit.created_at,
                number: hit.number.clone(),
            });
            let page = self
                .store
                .list(&TicketFilter {
                    text: None,
                    numbers: Some(hits.into_iter().map(|hit| hit.number).collect()),
                    limit: wanted as u32,
                    ..filter.clone()
                })
                .await
                .map_err(SearchFailed::Store)?;
            tickets.extend(page.tickets);
            if tickets.len() > limit || exhausted {
                break;
            }
        }
        Ok(page_of(tickets, limit))
    }

    /// Whether ticket `number` exists within `scope` (the access guard's check before
    /// a handler reads it through its reader).
    pub async fn in_scope(
        &self,
        number: &TicketNumber,
        scope: &Scope,
    ) -> Result<bool, EngineError> {
        Ok(self.store.ticket_in(number, scope).await?.is_some())
    }

    /// The ticket an intake with this idempotency key created, if any.
    pub async fn ticket_by_key(&self, key: &str) -> Result<Option<TicketNumber>, EngineError> {
        Ok(self.store.ticket_by_idempotency_key(key).await?)
    }

    /// Ticket `number`'s timers (deadlines, reminders), pending and fired.
    pub async fn timers_of(&self, number: &TicketNumber) -> Result<Vec<TimerRow>, EngineError> {
        Ok(self.store.timers_of(number).await?)
    }

    /// Up to `limit` pending timers due before `before`, soonest first.
    pub async fn due_timers(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<TimerRow>, EngineError> {
        Ok(self.store.due_timers(before, limit).await?)
    }

    /// The messages the outbox holds about ticket `number`, sent or not.
    pub async fn notifications_of(
        &self,
        number: &TicketNumber,
    ) -> Result<Vec<NotificationRow>, EngineError> {
        Ok(self.store.notifications_of(number).await?)
    }

    pub async fn events(&self, number: &TicketNumber) -> Result<Vec<Event>, EngineError> {
        let events = self.store.events(number).await?;
        if events.is_empty() {
            return Err(EngineError::NotFound(number.to_string()));
        }
        Ok(events)
    }
}

/// The first `limit` of `tickets` (newest first), with a cursor after them when more
/// were found.
fn page_of(mut tickets: Vec<Ticket>, limit: usize) -> Page {
    let next = (tickets.len() > limit).then(|| {
        let last = &tickets[limit - 1];
        Cursor {
            created_at: last.created_at.as_millisecond(),
            number: last.number.as_str().to_owned(),
        }
    });
    tickets.truncate(limit);
    Page { tickets, next }
}

/// One ticket's new event and the state it leads to, ready for the store.
struct Write {
    ticket: Ticket,
    event: Event,
    region_path: Option<String>,
    timers: Vec<timer::Timer>,
    fired: Option<timer::Timer>,
    notifications: Vec<Outgoing>,
}

impl Write {
    fn new(engine: &Engine, ticket: Ticket, event: Event, fired: Option<timer::Timer>) -> Self {
        Self {
            region_path: engine.region_path(&ticket),
            timers: timer::pending(&ticket, engine.city_of(&ticket)),
            notifications: engine
                .announce
                .announce(&ticket, std::slice::from_ref(&event)),
            ticket,
            event,
            fired,
        }
    }

    fn appended(&self) -> Appended<'_> {
        Appended {
            ticket: &self.ticket,
            events: std::slice::from_ref(&self.event),
            region_path: self.region_path.as_deref(),
            timers: &self.timers,
            fired: self.fired,
            notifications: &self.notifications,
        }
    }
}

/// Why a search could not answer: the index (the store can still answer, slowly) or
/// the store (nothing can).
enum SearchFailed {
    Index(String),
    Store(StoreError),
}

/// A digest of what was asked: catches a reused idempotency key with other content,
/// and serves as the identity of a demand that has no id of its own.
pub fn fingerprint(intake: &Intake) -> String {
    let canonical = serde_json::to_vec(intake).expect("an intake always serialises");
    hex::encode(Sha256::digest(canonical))
}

/// A checked demand as a ticket not yet numbered, and its `created` change.
fn draft(city: &City, intake: Intake, now: Timestamp) -> Result<(Ticket, Change), EngineError> {
    let created = workflow::open(intake, city)?;
    let Change::Created(intake) = &created else {
        unreachable!("open only returns a created change")
    };
    // The store assigns the real number; routing only needs the state.
    let placeholder = TicketNumber::parse("0000000000000").expect("a valid number");
    Ok((Ticket::new(placeholder, intake.clone(), now), created))
}
