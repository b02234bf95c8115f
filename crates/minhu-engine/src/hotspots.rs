//! The hotspot watch: the city's hotspot list (热点榜) of the default window (the last
//! [`DAYS`] days, the whole city) kept current in the background, so that the
//! dashboard's list answers at once and covers every ticket of the window, however
//! many (a city of 10M tickets a year has ~380k in the window and the one before it).
//!
//! A pass reads only what changed since the pass before (`Store::changed_since` from
//! the mark it keeps; the first pass takes `Store::latest_mark`, then lists the tickets
//! of the window and the one before by creation time). It keeps each ticket's
//! [`Reading`] (a sketch of a few dozen numbers: its most frequent words, its phrases,
//! the site it names), so jieba segments a ticket once, not on every pass (again only
//! if its text changed, as an erased identity does), and forgets tickets created before
//! the window before.
//!
//! It keeps the groups too ([`Grouping`]): a pass assigns only the tickets that came or
//! were read again to the groups as they stand (found through an index of groups by
//! feature, so a ticket is compared with a few groups, not all), and takes out those
//! gone. It groups the kept sketches afresh, with the function the on-request list uses
//! after reading ([`hotspot::group`](minhu_analytics::hotspot::group) is
//! [`Grouping::new`]), on a full pass, after the vocabulary is compacted, and when a
//! tenth of the tickets have come or gone since the last time
//! ([`REGROUP_SHARE`](minhu_analytics::hotspot::REGROUP_SHARE)): then the kept list is
//! the one a fresh computation on the same tickets gives (tests check it); in between
//! it differs from one by what later tickets would have changed in the groups earlier
//! ones chose (tests check the groups agree). A pass is then proportional to the
//! tickets that changed, plus one sweep over the kept groups to rank them; memory is a
//! few hundred bytes a ticket at a province's volume (BENCHMARKS.md). The vocabulary of
//! the kept readings is compacted when it has doubled, so words of tickets long gone
//! take no memory; the units, regions and categories of the kept tickets are held once
//! each.

//! The list and the readings live in this process's memory: nothing is stored, a
//! restarted server computes them on its first pass, and each serving process keeps
//! its own. A pass that fails drops what it kept; the next starts afresh.
//!
//! A reader sees the kept list narrowed to the tickets its scope and filters allow
//! ([`HotspotList::view`]): each hotspot with only those of its tickets, its figures
//! (count, previous, growth, citizens, open, place, heat) computed on them and its rank
//! among the hotspots so narrowed; its key words are those of the whole group (the
//! group was found on the whole city). A hotspot none of whose tickets of the window
//! the reader may see is left out.

use crate::Engine;
use jiff::{SignedDuration, Timestamp};
use minhu_analytics::hotspot::{
    Facts, Grouped, Grouping, Hotspot, HotspotRules, Lexicon, Reading, Vocabulary, rank,
};
use minhu_core::City;
use minhu_core::access::Scope;
use minhu_core::city::PrivacySettings;
use minhu_core::ids::{RegionId, UnitId};
use minhu_core::ticket::{Status, Ticket};
use minhu_store::{ChangeMark, StoreError, TicketFilter};
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

/// The default window of the hotspot list, in days: the one kept current.
pub const DAYS: i64 = 7;
/// How often the watch refreshes the list. A pass after a few minutes' tickets reads,
/// segments and groups only those, then ranks the kept groups: about a second at a
/// province's volume (BENCHMARKS.md).
pub const EVERY: Duration = Duration::from_secs(300);
/// Tickets read from the store per page.
const PAGE: u32 = 1_000;
/// The vocabulary is compacted when it numbers more than this many features and twice
/// as many as after its last compaction.
const COMPACT_FROM: usize = 100_000;

/// The rules of the default list.
pub fn default_rules() -> HotspotRules {
    HotspotRules {
        window: SignedDuration::from_hours(DAYS * 24),
        ..HotspotRules::default()
    }
}

/// A ticket as the kept list knows it: its facts, and what scopes and filters test
/// (ids shared between the tickets that have them: a few bytes a ticket).
#[derive(Debug)]
pub struct KeptTicket {
    pub facts: Facts,
    pub unit: Option<Arc<UnitId>>,
    /// The units of a joint case's parts (they see the case too).
    pub parts: Box<[Arc<UnitId>]>,
    pub region: Option<Arc<RegionId>>,
    pub category: Option<Arc<str>>,
}

impl KeptTicket {
    /// Whether a reader with `scope` may see it.
    pub fn in_scope(&self, scope: &Scope) -> bool {
        scope.covers(
            self.unit.as_deref(),
            self.parts.iter().map(|unit| &**unit),
            self.region.as_deref(),
        )
    }
}

/// What a message of the hotspot list says of a ticket: title and description, with
/// the personal data cut out (a hotspot's words are read by everyone who reads the
/// city's figures, and a name repeated in a few messages would otherwise become one).
pub fn ticket_text(ticket: &Ticket, privacy: &PrivacySettings) -> String {
    let text = format!("{} {}", ticket.intake.title, ticket.intake.description);
    minhu_core::pii::remove(&text, privacy, &ticket.intake.citizen.names()).0
}

/// The region ids from the city down to where the ticket is placed.
pub fn ticket_place(city: &City, ticket: &Ticket) -> Vec<String> {
    let mut place: Vec<String> = ticket
        .intake
        .region
        .as_ref()
        .map(|r| {
            city.regions
                .ancestry(r)
                .map(|r| r.id.as_str().to_owned())
                .collect()
        })
        .unwrap_or_default();
    place.reverse();
    place
}

/// Whether a ticket is still being handled, as the list counts `open`.
pub fn is_open(ticket: &Ticket) -> bool {
    !matches!(ticket.status, Status::Resolved | Status::Closed)
}

/// One hotspot of the kept list with the tickets it was found with.
struct KeptHotspot {
    /// Without its ticket numbers (`messages`, `earlier`): the tickets have them.
    hotspot: Hotspot,
    now: Vec<Arc<KeptTicket>>,
    earlier: Vec<Arc<KeptTicket>>,
}

impl KeptHotspot {
    fn new(mut hotspot: Hotspot, tickets_of: impl Fn(&[String]) -> Vec<Arc<KeptTicket>>) -> Self {
        let now = tickets_of(&std::mem::take(&mut hotspot.messages));
        let earlier = tickets_of(&std::mem::take(&mut hotspot.earlier));
        Self {
            hotspot,
            now,
            earlier,
        }
    }

    /// The hotspot as found, with its ticket numbers.
    fn whole(&self) -> Hotspot {
        let numbers = |tickets: &[Arc<KeptTicket>]| -> Vec<String> {
            tickets.iter().map(|t| t.facts.id.clone()).collect()
        };
        Hotspot {
            messages: numbers(&self.now),
            earlier: numbers(&self.earlier),
            ..self.hotspot.clone()
        }
    }
}

/// The kept list as one pass computed it.
pub struct HotspotList {
    pub computed_at: Timestamp,
    /// The window: from `from` up to `to` (excluded); growth compares it with the
    /// window before.
    pub from: Timestamp,
    pub to: Timestamp,
    /// Tickets grouped (both windows, the whole city).
    pub tickets: usize,
    hotspots: Vec<KeptHotspot>,
}

impl HotspotList {
    /// The hotspots as a reader sees them who may see only the tickets `visible`
    /// accepts (`None`: every ticket), hottest first: the first `limit` of them, and
    /// how many there are in all.
    pub fn view(
        &self,
        visible: Option<&dyn Fn(&KeptTicket) -> bool>,
        limit: usize,
    ) -> (Vec<Hotspot>, usize) {
        let Some(visible) = visible else {
            let top = self
                .hotspots
                .iter()
                .take(limit)
                .map(KeptHotspot::whole)
                .collect();
            return (top, self.hotspots.len());
        };
        let mut found: Vec<Hotspot> = self
            .hotspots
            .iter()
            .filter_map(|kept| {
                let now = seen(&kept.now, visible);
                (!now.is_empty()).then(|| {
                    Hotspot::of(
                        kept.hotspot.name.clone(),
                        kept.hotspot.words.clone(),
                        &now,
                        &seen(&kept.earlier, visible),
                    )
                })
            })
            .collect();
        rank(&mut found);
        let total = found.len();
        found.truncate(limit);
        (found, total)
    }
}

/// The facts of the tickets `visible` accepts.
fn seen<'a>(
    tickets: &'a [Arc<KeptTicket>],
    visible: &dyn Fn(&KeptTicket) -> bool,
) -> Vec<&'a Facts> {
    tickets
        .iter()
        .filter(|t| visible(t))
        .map(|t| &t.facts)
        .collect()
}

/// The watch's memory: the list, and what the next pass starts from.
#[derive(Default)]
pub struct HotspotWatch {
    lexicon: OnceLock<Arc<Lexicon>>,
    kept: tokio::sync::Mutex<Kept>,
    list: RwLock<Option<Arc<HotspotList>>>,
}

/// What a pass hands to the next.
#[derive(Default)]
struct Kept {
    /// Where the store's changes were last read to; `None`: read the window afresh.
    mark: Option<ChangeMark>,
    vocabulary: Vocabulary,
    /// The vocabulary's size after its last compaction.
    compacted: usize,
    /// The kept tickets by slot (`None`: a free slot), as the grouping numbers them.
    entries: Vec<Option<Entry>>,
    /// Free slots, to fill before the list grows.
    free: Vec<u32>,
    /// Each kept ticket's slot by its number.
    slots: HashMap<String, u32>,
    /// The groups of the kept tickets; `None`: group them afresh.
    grouping: Option<Grouping>,
    /// Slots whose ticket came or was read again since the last pass grouped.
    ungrouped: Vec<u32>,
    /// Each region's place (ids from the city down), shared by its tickets.
    places: HashMap<RegionId, Arc<[String]>>,
    /// The ids the kept tickets share.
    shared: Shared,
}

impl Kept {
    /// Forgets a ticket (taken out of its group first).
    fn forget(&mut self, number: &str) {
        if let Some(slot) = self.slots.remove(number) {
            if let Some(grouping) = &mut self.grouping {
                grouping.remove(&self.entries, slot);
            }
            self.entries[slot as usize] = None;
            self.free.push(slot);
        }
    }

    /// Keeps a ticket read afresh (taking the reading it replaces out of its group), to
    /// be grouped by the pass.
    fn put(&mut self, entry: Entry) {
        let slot = match self.slots.get(&entry.ticket.facts.id) {
            Some(slot) => {
                if let Some(grouping) = &mut self.grouping {
                    grouping.remove(&self.entries, *slot);
                }
                *slot
            }
            None => {
                let slot = self.free.pop().unwrap_or_else(|| {
                    self.entries.push(None);
                    (self.entries.len() - 1) as u32
                });
                self.slots.insert(entry.ticket.facts.id.clone(), slot);
                slot
            }
        };
        self.entries[slot as usize] = Some(entry);
        self.ungrouped.push(slot);
    }

    fn entry(&self, number: &str) -> Option<&Entry> {
        let slot = self.slots.get(number)?;
        self.entries[*slot as usize].as_ref()
    }
}

/// One copy of each unit, region and category id, however many tickets have it.
#[derive(Default)]
struct Shared {
    units: HashMap<UnitId, (Arc<UnitId>, Arc<str>)>,
    regions: HashMap<RegionId, Arc<RegionId>>,
    categories: HashMap<String, Arc<str>>,
}

impl Shared {
    /// The unit's shared id, and the same as text (for [`Facts::unit`]).
    fn unit(&mut self, unit: &UnitId) -> (Arc<UnitId>, Arc<str>) {
        self.units
            .entry(unit.clone())
            .or_insert_with(|| (Arc::new(unit.clone()), Arc::from(unit.as_str())))
            .clone()
    }

    fn region(&mut self, region: &RegionId) -> Arc<RegionId> {
        self.regions
            .entry(region.clone())
            .or_insert_with(|| Arc::new(region.clone()))
            .clone()
    }

    fn category(&mut self, category: &str) -> Arc<str> {
        if let Some(shared) = self.categories.get(category) {
            return shared.clone();
        }
        let shared: Arc<str> = Arc::from(category);
        self.categories.insert(category.to_owned(), shared.clone());
        shared
    }
}

struct Entry {
    ticket: Arc<KeptTicket>,
    reading: Reading,
    /// A hash of the text read, to read it again if it changes.
    text: u64,
}

impl Grouped for Entry {
    fn facts(&self) -> &Facts {
        &self.ticket.facts
    }

    fn reading(&self) -> &Reading {
        &self.reading
    }
}

/// What one pass did.
#[derive(Clone, Debug, PartialEq)]
pub struct Refreshed {
    /// Whether it read the window afresh (the first pass, or after a failure).
    pub full: bool,
    /// Whether it grouped the kept tickets afresh (a full pass, a vocabulary
    /// compacted, or [`Grouping::stale`]); otherwise it assigned only the tickets that
    /// came or changed to the groups kept.
    pub regrouped: bool,
    /// Tickets read from the store.
    pub read: usize,
    /// Of them, those whose text was segmented (new, or changed text).
    pub segmented: usize,
    /// Tickets kept (the window and the one before).
    pub kept: usize,
    pub hotspots: usize,
}

impl Engine {
    /// The hotspot list's reading of the words and place names of every city served
    /// (built once).
    pub fn hotspot_lexicon(&self) -> Arc<Lexicon> {
        self.hotspots
            .lexicon
            .get_or_init(|| {
                let cities = self.province.cities().iter().map(|c| c.city.as_ref());
                Arc::new(Lexicon::for_cities(cities))
            })
            .clone()
    }

    /// The kept list of the last pass; `None` before the first.
    pub fn hotspot_list(&self) -> Option<Arc<HotspotList>> {
        self.hotspots
            .list
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// One pass of the watch (see the module's docs): reads what changed, groups the
    /// window ending now by the engine's clock, and keeps the list.
    pub async fn refresh_hotspots(&self) -> Result<Refreshed, StoreError> {
        let mut kept = self.hotspots.kept.lock().await;
        let result = self.pass(&mut kept).await;
        if result.is_err() {
            // Half-read changes or a vocabulary lost to a failed task: start afresh.
            *kept = Kept::default();
        }
        result
    }

    async fn pass(&self, kept: &mut Kept) -> Result<Refreshed, StoreError> {
        let computed_at = self.clock.now();
        let rules = default_rules();
        // Up to now, included (the window's end is exclusive).
        let to = computed_at + SignedDuration::from_secs(1);
        let from = to - rules.window;
        let before = from - rules.window;
        let (mut read, mut segmented) = (0, 0);
        let full = kept.mark.is_none();
        if full {
            *kept = Kept::default();
            // Taken before the list: what is written meanwhile is read next time.
            let mark = self.store.latest_mark().await?;
            let mut filter = TicketFilter {
                created_from: Some(before),
                limit: PAGE,
                ..TicketFilter::default()
            };
            loop {
                let page = self.store.list(&filter).await?;
                read += page.tickets.len();
                segmented += self.take(kept, page.tickets, before).await?;
                match page.next {
                    Some(next) => filter.cursor = Some(next),
                    None => break,
                }
            }
            kept.mark = Some(mark);
        } else {
            let mut mark = kept.mark.clone().unwrap_or(ChangeMark::START);
            loop {
                let (changed, next) = match self.store.changed_since(&mark, PAGE).await {
                    Ok(changed) => changed,
                    Err(StoreError::ForeignMark(why)) => {
                        tracing::warn!(%why, "the store was replaced: the hotspot list starts afresh");
                        kept.mark = None;
                        return Box::pin(self.pass(kept)).await;
                    }
                    Err(other) => return Err(other),
                };
                let done = changed.len() < PAGE as usize;
                read += changed.len();
                let tickets = changed.into_iter().map(|c| c.ticket).collect();
                segmented += self.take(kept, tickets, before).await?;
                mark = next;
                if done {
                    break;
                }
            }
            kept.mark = Some(mark);
        }
        let gone: Vec<String> = kept
            .entries
            .iter()
            .flatten()
            .filter(|entry| entry.ticket.facts.at < before)
            .map(|entry| entry.ticket.facts.id.clone())
            .collect();
        for number in &gone {
            kept.forget(number);
        }
        if kept.vocabulary.len() > COMPACT_FROM.max(2 * kept.compacted) {
            // Compacting renumbers the readings the groups were found with.
            kept.grouping = None;
            kept.compacted = kept.vocabulary.compact(
                kept.entries
                    .iter_mut()
                    .flatten()
                    .map(|entry| &mut entry.reading),
            );
        }

        // Grouping is CPU work: off the async threads, with what it reads moved there
        // and back.
        let mut moved = std::mem::take(kept);
        let (moved, found, regrouped) = tokio::task::spawn_blocking(move || {
            let ungrouped = std::mem::take(&mut moved.ungrouped);
            let regrouped = match &mut moved.grouping {
                Some(grouping) if !grouping.stale(ungrouped.len()) => {
                    grouping.add(&moved.entries, &ungrouped, &moved.vocabulary);
                    false
                }
                _ => {
                    // The old groups go first: the fresh ones take as much memory.
                    moved.grouping = None;
                    moved.grouping =
                        Some(Grouping::new(&moved.entries, &moved.vocabulary, to, &rules));
                    true
                }
            };
            let found = moved.grouping.as_ref().map_or_else(Vec::new, |grouping| {
                grouping.hotspots(&moved.entries, &moved.vocabulary, to, &rules)
            });
            (moved, found, regrouped)
        })
        .await
        .map_err(|e| StoreError::Corrupt(format!("the hotspot grouping failed: {e}")))?;
        *kept = moved;
        let tickets_of = |ids: &[String]| -> Vec<Arc<KeptTicket>> {
            ids.iter()
                .filter_map(|id| kept.entry(id).map(|entry| entry.ticket.clone()))
                .collect()
        };
        let hotspots: Vec<KeptHotspot> = found
            .into_iter()
            .map(|hotspot| KeptHotspot::new(hotspot, tickets_of))
            .collect();
        let tickets = kept
            .entries
            .iter()
            .flatten()
            .filter(|entry| entry.ticket.facts.at < to)
            .count();
        let refreshed = Refreshed {
            full,
            regrouped,
            read,
            segmented,
            kept: kept.slots.len(),
            hotspots: hotspots.len(),
        };
        *self
            .hotspots
            .list
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Arc::new(HotspotList {
            computed_at,
            from,
            to,
            tickets,
            hotspots,
        }));
        Ok(refreshed)
    }

    /// Keeps these tickets as they are now (those created before `before` are dropped),
    /// reading the texts not read before. Returns how many texts it read.
    async fn take(
        &self,
        kept: &mut Kept,
        tickets: Vec<Ticket>,
        before: Timestamp,
    ) -> Result<usize, StoreError> {
        let mut unread: Vec<(Arc<KeptTicket>, String, u64)> = Vec::new();
        for ticket in tickets {
            let number = ticket.number.to_string();
            if ticket.created_at < before {
                kept.forget(&number);
                continue;
            }
            // A ticket's words and place are read by its own city's configuration.
            let city = self.city_of(&ticket);
            let text = ticket_text(&ticket, &city.privacy);
            let hash = {
                let mut hasher = DefaultHasher::new();
                text.hash(&mut hasher);
                hasher.finish()
            };
            let place = match &ticket.intake.region {
                Some(region) => kept
                    .places
                    .entry(region.clone())
                    .or_insert_with(|| ticket_place(city, &ticket).into())
                    .clone(),
                None => Arc::from(Vec::new()),
            };
            let unit = ticket.unit.as_ref().map(|unit| kept.shared.unit(unit));
            let fresh = Arc::new(KeptTicket {
                facts: Facts {
                    id: number.clone(),
                    at: ticket.created_at,
                    place,
                    citizen: ticket.intake.citizen.phone.clone(),
                    likes: None,
                    open: is_open(&ticket),
                    unit: unit.as_ref().map(|(_, text)| text.clone()),
                },
                unit: unit.map(|(id, _)| id),
                parts: ticket
                    .parts
                    .iter()
                    .map(|part| kept.shared.unit(&part.unit).0)
                    .collect(),
                region: ticket
                    .intake
                    .region
                    .as_ref()
                    .map(|region| kept.shared.region(region)),
                category: ticket
                    .intake
                    .category
                    .as_ref()
                    .map(|category| kept.shared.category(category.as_str())),
            });
            // The same text at the same place is grouped as it was; its facts change.
            match kept.slots.get(&number) {
                Some(slot)
                    if kept.entries[*slot as usize].as_ref().is_some_and(|entry| {
                        entry.text == hash && entry.ticket.facts.place == fresh.facts.place
                    }) =>
                {
                    if let Some(entry) = &mut kept.entries[*slot as usize] {
                        entry.ticket = fresh;
                    }
                }
                _ => unread.push((fresh, text, hash)),
            }
        }
        if unread.is_empty() {
            return Ok(0);
        }
        let lexicon = self.hotspot_lexicon();
        let mut vocabulary = std::mem::take(&mut kept.vocabulary);
        let texts: Vec<String> = unread
            .iter_mut()
            .map(|(_, text, _)| std::mem::take(text))
            .collect();
        let (vocabulary, readings) = tokio::task::spawn_blocking(move || {
            let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
            let readings = vocabulary.read(&lexicon, &texts);
            (vocabulary, readings)
        })
        .await
        .map_err(|e| StoreError::Corrupt(format!("reading tickets for hotspots failed: {e}")))?;
        kept.vocabulary = vocabulary;
        let count = readings.len();
        for ((ticket, _, text), reading) in unread.into_iter().zip(readings) {
            kept.put(Entry {
                ticket,
                reading,
                text,
            });
        }
        Ok(count)
    }
}

/// Runs the watch until the process ends: a pass every [`EVERY`].
pub async fn watch(engine: Arc<Engine>) {
    loop {
        match crate::metrics::timed_pass("hotspots", engine.refresh_hotspots()).await {
            Ok(refreshed) => tracing::debug!(?refreshed, "hotspot list refreshed"),
            Err(error) => tracing::warn!(%error, "the hotspot pass failed"),
        }
        tokio::time::sleep(EVERY).await;
    }
}
