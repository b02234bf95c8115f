//! Full-text search of tickets.
//!
//! The store answers exact filters well but can only scan for words (`LIKE '%路灯%'`
//! reads every row). [`SearchIndex`] is a tantivy index of each ticket's words (number,
//! title, description, address, reply; cut by jieba with the hotline dictionary; the
//! personal data in them cut out and kept apart, for those who may see it) and of the
//! filters a list asks for (status, unit, category and region paths, creation time),
//! kept beside the store. It is never the source of truth: it only proposes ticket
//! numbers, newest first, and the store then reads those tickets with all of its own
//! filters, so a stale index can miss a ticket for a moment but never show one a filter
//! or a data scope forbids.
//!
//! It follows the store through [`TicketStore::changed_since`]: [`catch_up`] indexes every
//! change after the mark kept in the index's last commit, so a restart carries on where
//! the last run committed, and [`LiveIndex`] does so in the background after each write.

mod tokenizer;

pub use tokenizer::{HotlineTokenizer, hotline_jieba};

use jieba_rs::Jieba;
use minhu_core::access::{Scope, may_search, search_words};
use minhu_core::city::PrivacySettings;
use minhu_core::pii;
use minhu_core::ticket::Ticket;
use minhu_core::timer::Alerts;
use minhu_store::{ChangeMark, Changed, StoreError, TicketFilter, TicketStore};
use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tantivy::collector::TopDocs;
use tantivy::collector::sort_key::SortByStaticFastValue;
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::{Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument, Term};
use tokio::sync::{Notify, watch};

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error(
        "the search index in {0} is in use by another minhu process (stop `minhu serve` first)"
    )]
    Busy(String),
    #[error(
        "the search index in {0} was built with another layout; rebuild it with `minhu admin reindex`"
    )]
    Layout(String),
    #[error("cannot create the search index directory {0}: {1}")]
    Directory(String, std::io::Error),
    #[error("reading changes from the store: {0}")]
    Store(#[from] StoreError),
    #[error("the indexing task failed: {0}")]
    Task(String),
    #[error("cursor: {0:?} is not a ticket number")]
    Cursor(String),
}

/// How much memory the index writer may use before it writes a segment to disk.
pub const WRITER_MEMORY: usize = 50_000_000;

/// How many changed tickets are read from the store at a time.
const READ_BATCH: u32 = 2_000;

/// How many indexed tickets may wait before a commit makes them durable and visible.
const COMMIT_EVERY: usize = 50_000;

#[derive(Clone, Copy)]
struct Fields {
    /// The ticket number as [`number_key`]: the list's tie-break order and the term a
    /// new version of the ticket replaces.
    number: Field,
    /// The ticket's number and words with every kind of personal data cut out.
    text: Field,
    /// The personal data, each written one way (`access::SearchWords::personal`):
    /// looked up only for readers who see identities, or where the city leaves it open.
    personal: Field,
    status: Field,
    /// The unit holding the ticket (the `unit` filter).
    unit: Field,
    /// The holder and every unit summoned to it: what a unit's data scope sees.
    scope_unit: Field,
    /// The region the ticket is placed in: what a region's data scope sees.
    region_id: Field,
    /// The ticket's city and the city that handed it over (转办): what a city's data
    /// scope sees.
    city: Field,
    category: Field,
    region: Field,
    /// The alert (`?flag=`).
    flag: Field,
    created: Field,
}

/// The fast fields the lists are ordered by.
const NUMBER: &str = "number";
const CREATED: &str = "created";

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    // Only which tickets hold a word matters (lists are ordered by date), so the
    // postings keep neither frequencies nor positions: a smaller, faster index.
    let words = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(tokenizer::NAME)
            .set_index_option(IndexRecordOption::Basic),
    );
    let fields = Fields {
        number: builder.add_u64_field(NUMBER, INDEXED | FAST),
        text: builder.add_text_field("text", words),
        personal: builder.add_text_field("personal", STRING),
        status: builder.add_text_field("status", STRING),
        unit: builder.add_text_field("unit", STRING),
        scope_unit: builder.add_text_field("scope_unit", STRING),
        region_id: builder.add_text_field("region_id", STRING),
        city: builder.add_text_field("city", STRING),
        category: builder.add_text_field("category", STRING),
        region: builder.add_text_field("region", STRING),
        flag: builder.add_text_field("flag", STRING),
        created: builder.add_i64_field(CREATED, INDEXED | FAST),
    };
    (builder.build(), fields)
}

/// One match: a ticket number and its creation time (milliseconds), the list order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    pub number: String,
    pub created_at: i64,
}

pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    jieba: Arc<Jieba>,
    /// What the city leaves open to every reader (public numbers, unmasked plates).
    privacy: PrivacySettings,
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it if empty. Only one process may hold it.
    pub fn open(dir: &Path) -> Result<SearchIndex, SearchError> {
        Self::open_with(dir, WRITER_MEMORY, 1)
    }

    /// Like [`SearchIndex::open`] with a writer of `threads` indexing threads sharing
    /// `memory` bytes (bulk builds use more).
    pub fn open_with(
        dir: &Path,
        memory: usize,
        threads: usize,
    ) -> Result<SearchIndex, SearchError> {
        let shown = dir.display().to_string();
        std::fs::create_dir_all(dir).map_err(|e| SearchError::Directory(shown.clone(), e))?;
        let (schema, fields) = schema();
        let directory = tantivy::directory::MmapDirectory::open(dir)
            .map_err(|e| SearchError::Index(e.into()))?;
        let index = Index::open_or_create(directory, schema).map_err(|e| match e {
            tantivy::TantivyError::SchemaError(_) => SearchError::Layout(shown.clone()),
            other => SearchError::Index(other),
        })?;
        let jieba = hotline_jieba();
        index.tokenizers().register(
            tokenizer::NAME,
            HotlineTokenizer::for_documents(jieba.clone()),
        );
        let writer = index
            .writer_with_num_threads(threads, memory)
            .map_err(|e| match e {
                tantivy::TantivyError::LockFailure(..) => SearchError::Busy(shown.clone()),
                other => SearchError::Index(other),
            })?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(SearchIndex {
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
            jieba,
            privacy: PrivacySettings::default(),
        })
    }

    /// The city's `[privacy]` settings, which say what personal data in a query any
    /// reader may look up (the index keeps every kind apart whatever they say).
    pub fn with_privacy(mut self, privacy: PrivacySettings) -> Self {
        self.privacy = privacy;
        self
    }

    /// Opens the index in `dir` for a rebuild: an index of an older layout is deleted
    /// first (its words are rebuilt from the store anyway), one in use is refused.
    pub fn open_for_rebuild(dir: &Path) -> Result<SearchIndex, SearchError> {
        match Self::open(dir) {
            Err(SearchError::Layout(shown)) => {
                std::fs::remove_dir_all(dir).map_err(|e| SearchError::Directory(shown, e))?;
                Self::open(dir)
            }
            other => other,
        }
    }

    /// How far the last commit has read the store.
    pub fn mark(&self) -> Result<ChangeMark, SearchError> {
        let payload = self.index.load_metas()?.payload;
        Ok(payload
            .as_deref()
            .and_then(ChangeMark::decode)
            .unwrap_or(ChangeMark::START))
    }

    /// Queues the current state of each ticket, replacing what was indexed for it.
    /// Visible after the next [`SearchIndex::commit`].
    pub fn put(&self, changed: &[Changed]) -> Result<(), SearchError> {
        let writer = self.writer.lock().expect("the index writer lock");
        for change in changed {
            let Some(number) = number_key(change.ticket.number.as_str()) else {
                continue;
            };
            writer.delete_term(Term::from_field_u64(self.fields.number, number));
            writer.add_document(self.document(number, change))?;
        }
        Ok(())
    }

    fn document(&self, number: u64, change: &Changed) -> TantivyDocument {
        let f = self.fields;
        let ticket: &Ticket = &change.ticket;
        let mut doc = TantivyDocument::default();
        doc.add_u64(f.number, number);
        let words = search_words(ticket);
        for text in &words.open {
            doc.add_text(f.text, text);
        }
        for value in &words.personal {
            doc.add_text(f.personal, value);
        }
        doc.add_text(f.status, ticket.status.code());
        if let Some(unit) = &ticket.unit {
            doc.add_text(f.unit, unit.as_str());
            doc.add_text(f.scope_unit, unit.as_str());
        }
        for part in &ticket.parts {
            doc.add_text(f.scope_unit, part.unit.as_str());
        }
        if let Some(region) = &ticket.intake.region {
            doc.add_text(f.region_id, region.as_str());
        }
        for city in &change.cities {
            doc.add_text(f.city, city.as_str());
        }
        if let Some(flag) = ticket.alerts.flag() {
            doc.add_text(f.flag, flag.code());
        }
        if let Some(category) = &ticket.intake.category {
            for prefix in category.prefixes() {
                doc.add_text(f.category, prefix.as_str());
            }
        }
        if let Some(path) = &change.region_path {
            for prefix in region_prefixes(path) {
                doc.add_text(f.region, prefix);
            }
        }
        doc.add_i64(f.created, ticket.created_at.as_millisecond());
        doc
    }

    /// Makes everything put so far durable and searchable, recording `mark` as read.
    pub fn commit(&self, mark: &ChangeMark) -> Result<(), SearchError> {
        let mut writer = self.writer.lock().expect("the index writer lock");
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&mark.encode());
        prepared.commit()?;
        drop(writer);
        self.reader.reload()?;
        Ok(())
    }

    /// Forgets every ticket (and the mark), to rebuild from the start of the store.
    pub fn clear(&self) -> Result<(), SearchError> {
        self.writer
            .lock()
            .expect("the index writer lock")
            .delete_all_documents()?;
        self.commit(&ChangeMark::START)
    }

    /// How many tickets are searchable now.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The newest `limit` tickets holding every word of `words` (split at spaces, each
    /// cut by jieba) and passing the filters the index knows: the data scope, status,
    /// unit, category, a region path ending in `/`, the alert, creation time and the
    /// cursor. The phone filter is left to the store. No searchable word: no match.
    ///
    /// Personal data in `words` (a phone in any writing, an ID card, an e-mail) is
    /// looked up among the tickets' personal data, and only for a reader who sees
    /// identities (`filter.identity`) or where the city leaves it open: anyone else
    /// finds nothing, so a search cannot confirm what the reader may not see. Their
    /// other words find only the tickets' words with the personal data cut out; a
    /// reader who sees identities also finds a citizen by name or by a landline's local
    /// number.
    pub fn search(
        &self,
        words: &str,
        filter: &TicketFilter,
        limit: usize,
    ) -> Result<Vec<Hit>, SearchError> {
        let f = self.fields;
        let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let (rest, items) = pii::remove(words, &pii::STRICT, &[]);
        for item in &items {
            if !may_search(item, filter.identity, &self.privacy) {
                return Ok(Vec::new());
            }
            must.push((Occur::Must, term_query(f.personal, &item.value)));
        }
        for word in rest.split_whitespace() {
            let terms: Vec<(Occur, Box<dyn Query>)> =
                HotlineTokenizer::query_words(&self.jieba, word)
                    .iter()
                    .map(|term| (Occur::Must, term_query(f.text, term)))
                    .collect();
            if terms.is_empty() {
                continue;
            }
            // A public office's number written without its area code is no item
            // the detector reads, yet open to all: it is kept among the personal words.
            if filter.identity || self.privacy.is_public(word) {
                let personal = term_query(f.personal, &word.to_lowercase());
                let either: Vec<(Occur, Box<dyn Query>)> = vec![
                    (Occur::Should, Box::new(BooleanQuery::new(terms))),
                    (Occur::Should, personal),
                ];
                must.push((Occur::Must, Box::new(BooleanQuery::new(either))));
            } else {
                must.extend(terms);
            }
        }
        if must.is_empty() {
            return Ok(Vec::new());
        }
        // The same sight as `Scope::contains`: never wider than the store's own list.
        let seen: Option<(Field, Vec<&str>)> = match &filter.scope {
            Scope::All => None,
            Scope::City(city, _) => Some((f.city, vec![city.as_str()])),
            Scope::Units(units) => Some((f.scope_unit, units.iter().map(|u| u.as_str()).collect())),
            Scope::Regions(regions) => {
                Some((f.region_id, regions.iter().map(|r| r.as_str()).collect()))
            }
        };
        if let Some((field, ids)) = seen {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            must.push((Occur::Must, any_of(field, &ids)));
        }
        if let Some(status) = filter.status {
            must.push((Occur::Must, term_query(f.status, status.code())));
        }
        if let Some(unit) = &filter.unit {
            must.push((Occur::Must, term_query(f.unit, unit)));
        }
        if let Some(category) = &filter.category {
            must.push((Occur::Must, term_query(f.category, category)));
        }
        if let Some(path) = filter.region_path.as_deref().filter(|p| p.ends_with('/')) {
            must.push((Occur::Must, term_query(f.region, path)));
        }
        if let Some(flag) = filter.flag {
            let codes: Vec<&str> = Alerts::matching(flag).iter().map(|f| f.code()).collect();
            must.push((Occur::Must, any_of(f.flag, &codes)));
        }
        let created = |ms: i64| Term::from_field_i64(f.created, ms);
        if filter.created_from.is_some() || filter.created_to.is_some() {
            let lower = filter.created_from.map_or(Bound::Unbounded, |at| {
                Bound::Included(created(at.as_millisecond()))
            });
            let upper = filter.created_to.map_or(Bound::Unbounded, |at| {
                Bound::Excluded(created(at.as_millisecond()))
            });
            must.push((Occur::Must, Box::new(RangeQuery::new(lower, upper))));
        }
        if let Some(cursor) = &filter.cursor {
            // After the cursor in the list order: older, or as old with a lower number.
            let key = number_key(&cursor.number)
                .ok_or_else(|| SearchError::Cursor(cursor.number.clone()))?;
            let older = RangeQuery::new(
                Bound::Unbounded,
                Bound::Excluded(created(cursor.created_at)),
            );
            let tie = BooleanQuery::new(vec![
                (
                    Occur::Must,
                    Box::new(TermQuery::new(
                        created(cursor.created_at),
                        IndexRecordOption::Basic,
                    )) as Box<dyn Query>,
                ),
                (
                    Occur::Must,
                    Box::new(RangeQuery::new(
                        Bound::Unbounded,
                        Bound::Excluded(Term::from_field_u64(f.number, key)),
                    )),
                ),
            ]);
            must.push((
                Occur::Must,
                Box::new(BooleanQuery::new(vec![
                    (Occur::Should, Box::new(older) as Box<dyn Query>),
                    (Occur::Should, Box::new(tie)),
                ])),
            ));
        }
        let query = BooleanQuery::new(must);
        // Newest first by (creation time, number), the store's list order, with
        // tantivy's own fast-field sort: each match's creation time is compared with the
        // worst kept so far, and its number is read only on a tie.
        let order = (
            (
                SortByStaticFastValue::<i64>::for_field(CREATED),
                Order::Desc,
            ),
            (SortByStaticFastValue::<u64>::for_field(NUMBER), Order::Desc),
        );
        let searcher = self.reader.searcher();
        let found = searcher.search(&query, &TopDocs::with_limit(limit).order_by(order))?;
        Ok(found
            .into_iter()
            .filter_map(|((created_at, key), _)| {
                Some(Hit {
                    number: number_of(key?),
                    created_at: created_at?,
                })
            })
            .collect())
    }

    /// Lets go of the index once its background merges have finished and their files
    /// are in place: only then may its directory be copied (a merge still running
    /// writes new segment files and deletes the old ones under the copier).
    pub fn close(self) -> Result<(), SearchError> {
        let writer = self
            .writer
            .into_inner()
            .expect("the index writer lock is not poisoned");
        writer.wait_merging_threads()?;
        Ok(())
    }

    /// Rewrites the index as one segment and deletes the files of the old ones, so that
    /// the words of replaced or deleted tickets (an erased citizen's) leave the disk: a
    /// deletion only marks a document, its words stay in its segment until a merge.
    pub fn vacuum(&self) -> Result<(), SearchError> {
        let ids = self.index.searchable_segment_ids()?;
        let mut writer = self.writer.lock().expect("the index writer lock");
        if ids.len() > 1
            || self
                .reader
                .searcher()
                .segment_readers()
                .iter()
                .any(|s| s.has_deletes())
        {
            writer.merge(&ids).wait()?;
        }
        writer.garbage_collect_files().wait()?;
        drop(writer);
        self.reader.reload()?;
        Ok(())
    }

    /// Whether any word in the index's files, of a live ticket or a deleted one not yet
    /// vacuumed away, contains `needle`: in the words everyone searches or in the
    /// personal data kept apart.
    pub fn holds_word_containing(&self, needle: &str) -> Result<bool, SearchError> {
        let searcher = self.reader.searcher();
        for segment in searcher.segment_readers() {
            for field in [self.fields.text, self.fields.personal] {
                let inverted = segment.inverted_index(field)?;
                let mut terms = inverted
                    .terms()
                    .stream()
                    .map_err(|e| SearchError::Task(e.to_string()))?;
                while terms.advance() {
                    if String::from_utf8_lossy(terms.key()).contains(needle) {
                        return Ok(true);
                    }
                }
            }
        }
        Ok(false)
    }

    /// Bytes the index takes on disk.
    pub fn size_on_disk(&self) -> Result<u64, SearchError> {
        let searcher = self.reader.searcher();
        let mut total = 0;
        for segment in searcher.segment_readers() {
            total += segment
                .space_usage()
                .map_err(|e| SearchError::Task(e.to_string()))?
                .total()
                .get_bytes();
        }
        Ok(total)
    }
}

fn term_query(field: Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::Basic,
    ))
}

/// A ticket number (13 to 16 digits) as an integer in the order of its text, the
/// store's tie-break: the digits padded on the right to 16, then the length, so
/// `2026112299999` sorts after `20261122100000` and `X` before `X0`, as text does.
fn number_key(number: &str) -> Option<u64> {
    let len = number.len();
    if !(13..=16).contains(&len) || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let padded: u64 = format!("{number:0<16}").parse().ok()?;
    Some(padded * 10 + (len - 13) as u64)
}

/// The ticket number a [`number_key`] was made from.
fn number_of(key: u64) -> String {
    let len = (key % 10) as usize + 13;
    let mut digits = format!("{:016}", key / 10);
    digits.truncate(len);
    digits
}

/// Matches documents whose `field` holds any of `values`.
fn any_of(field: Field, values: &[&str]) -> Box<dyn Query> {
    Box::new(BooleanQuery::new(
        values
            .iter()
            .map(|value| (Occur::Should, term_query(field, value)))
            .collect(),
    ))
}

/// `/A/A3/A3-01/` → `/A/`, `/A/A3/`, `/A/A3/A3-01/`: a region filter is one term.
fn region_prefixes(path: &str) -> impl Iterator<Item = &str> {
    path.char_indices()
        .filter(|&(i, c)| c == '/' && i > 0)
        .map(move |(i, _)| &path[..=i])
}

/// Indexes every change the store has after the index's mark, committing as it goes;
/// `progress` hears how many tickets each step indexed. Returns how many in all. An
/// index whose mark belongs to another store (the database was replaced under it) is
/// cleared and rebuilt.
pub async fn catch_up(
    store: &dyn TicketStore,
    index: &Arc<SearchIndex>,
    mut progress: impl FnMut(usize),
) -> Result<usize, SearchError> {
    let mut mark = index.mark()?;
    let mut total = 0;
    let mut uncommitted = 0;
    loop {
        let (changed, next) = match store.changed_since(&mark, READ_BATCH).await {
            Ok(read) => read,
            Err(StoreError::ForeignMark(why)) if mark != ChangeMark::START => {
                tracing::warn!(%why, "the search index was built from another store; rebuilding it");
                let cleared = index.clone();
                tokio::task::spawn_blocking(move || cleared.clear())
                    .await
                    .map_err(|e| SearchError::Task(e.to_string()))??;
                mark = ChangeMark::START;
                uncommitted = 0;
                continue;
            }
            Err(other) => return Err(other.into()),
        };
        let done = changed.len() < READ_BATCH as usize;
        let count = changed.len();
        if count > 0 {
            let index = index.clone();
            // Tokenising is CPU work: keep it off the async threads.
            tokio::task::spawn_blocking(move || index.put(&changed))
                .await
                .map_err(|e| SearchError::Task(e.to_string()))??;
        }
        total += count;
        uncommitted += count;
        progress(count);
        mark = next;
        // A mark that moved without news need not be kept: reading again from the
        // older one finds nothing more, so idle polls write nothing to disk.
        if (done && uncommitted > 0) || uncommitted >= COMMIT_EVERY {
            let index = index.clone();
            let at = mark.clone();
            tokio::task::spawn_blocking(move || index.commit(&at))
                .await
                .map_err(|e| SearchError::Task(e.to_string()))??;
            uncommitted = 0;
        }
        if done {
            return Ok(total);
        }
    }
}

/// How long the follower waits for a wake-up before looking at the store anyway (a
/// write by another process, e.g. `minhu import`, wakes nobody).
const POLL: Duration = Duration::from_secs(5);

/// After a wake-up, the follower waits this long so that a burst of writes becomes
/// one commit. Each commit is a new segment that tantivy merges later: at 200 ms a busy
/// centre's follower spent as much CPU merging as indexing (the day bench: 14% and
/// 17% of a node); a second keeps search within about two seconds of the store.
const GATHER: Duration = Duration::from_secs(1);

/// The index kept in step with a store by a background task.
#[derive(Clone)]
pub struct LiveIndex {
    pub index: Arc<SearchIndex>,
    wake: Arc<Notify>,
    /// Becomes true once the first catch-up has finished: until then (a first build
    /// of a large store takes minutes) the index would miss older tickets.
    caught_up: watch::Receiver<bool>,
    /// When the last catch-up that reached the store's end began (Unix milliseconds; 0:
    /// never): the index holds every change made before it.
    current_as_of: Arc<AtomicI64>,
}

impl LiveIndex {
    /// The live index, and the loop that keeps it following `store` (first catching up
    /// with whatever it missed): the caller runs the loop, as a server runs it among its
    /// workers (`minhu_engine::Workers`), so that it stops with them.
    pub fn follow(
        store: Arc<dyn TicketStore>,
        index: Arc<SearchIndex>,
    ) -> (LiveIndex, impl Future<Output = ()> + Send + 'static) {
        let wake = Arc::new(Notify::new());
        let (tell, caught_up) = watch::channel(false);
        let current_as_of = Arc::new(AtomicI64::new(0));
        let live = LiveIndex {
            index: index.clone(),
            wake: wake.clone(),
            caught_up,
            current_as_of: current_as_of.clone(),
        };
        let follower = async move {
            loop {
                let began = jiff::Timestamp::now().as_millisecond();
                match catch_up(&*store, &index, |_| {}).await {
                    Ok(count) => {
                        current_as_of.store(began, Ordering::Relaxed);
                        tell.send_replace(true);
                        if count > 0 {
                            tracing::debug!(count, "search index caught up");
                        }
                    }
                    Err(error) => tracing::warn!(%error, "search index could not catch up"),
                }
                tokio::select! {
                    _ = wake.notified() => tokio::time::sleep(GATHER).await,
                    _ = tokio::time::sleep(POLL) => {}
                }
            }
        };
        (live, follower)
    }

    /// Whether the index has caught up with the store at least once, so it can answer.
    pub fn ready(&self) -> bool {
        *self.caught_up.borrow()
    }

    /// Waits until [`LiveIndex::ready`].
    pub async fn until_ready(&self) {
        let mut caught_up = self.caught_up.clone();
        // The sender lives as long as the follower, which never ends.
        let _ = caught_up.wait_for(|ready| *ready).await;
    }

    /// How far behind the store the index may be: the time since the last catch-up
    /// that reached the store's end began (changes made since may not be indexed yet);
    /// `None` before the first. Following a busy store, or polling an idle one, it stays
    /// within a few seconds; a follower that keeps failing lets it grow.
    pub fn lag(&self) -> Option<Duration> {
        let at = self.current_as_of.load(Ordering::Relaxed);
        let behind = jiff::Timestamp::now().as_millisecond() - at;
        (at > 0).then(|| Duration::from_millis(u64::try_from(behind).unwrap_or(0)))
    }

    /// Tells the follower the store has changed.
    pub fn changed(&self) {
        self.wake.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_keys_sort_as_the_numbers_text_and_read_back() {
        let mut numbers = vec![
            "2026112299999",
            "20261122100000",
            "2026112200001",
            "20261122000010",
            "2026112200002",
            "9999123199999999",
        ];
        let mut by_key = numbers.clone();
        by_key.sort_by_key(|n| number_key(n).unwrap());
        numbers.sort();
        assert_eq!(by_key, numbers);
        for number in numbers {
            assert_eq!(number_of(number_key(number).unwrap()), number);
        }
        assert_eq!(number_key("202611220001"), None, "12 digits");
        assert_eq!(number_key("20261122000a1"), None);
    }
}
