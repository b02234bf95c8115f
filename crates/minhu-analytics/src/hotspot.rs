//! The hotspot list (热点榜): what many people are raising about one thing in one place
//! right now, found by grouping recent messages that say the same thing.
//!
//! Why one file of ~900 lines: reading, grouping, joining and naming share the group's
//! summed features and the vocabulary's weights; the incremental path (the engine's
//! watch) and the fresh path must stay the same algorithm, which is easiest to keep
//! true when both are in view.
//!
//! Messages of the window and of the window before it are read in time order; each
//! joins the group it is most like, or starts one. A group must agree on two things:
//!
//! - **meaning**: the cosine of TF-IDF weighted words (minhu-text's jieba segmenter with
//!   the hotline dictionary) and the Chinese character pairs of names the segmenter
//!   does not know, against the group's summed features, at least
//!   [`HotspotRules::similarity`]. The city's place names are left out of these
//!   features (they say where, not what: two messages from one street about a manhole
//!   and a street lamp are not one problem); words most messages share (问题, 反映)
//!   weigh little; names of estates and firms the gazetteer does not know weigh much;
//! - **place**: a message placed in a region joins a group whose place is that region,
//!   one inside it or one containing it (unplaced messages join by meaning alone); a
//!   message naming a site of the gazetteer (an estate, a school, a market) does not
//!   join a group about another site.
//!
//! A group is named as a person would name it: the site most of its messages name (or
//! its heaviest word) and the phrase (two words side by side) most of them use, 丽发新城
//! 搅拌站噪音; its heaviest words and its region are given too. Groups that started apart
//! before the words of their topic settled are joined afterwards by the same two tests.
//!
//! **Read once, kept small.** A message's text is read (normalised, segmented, its
//! features numbered by a [`Vocabulary`]) into a [`Reading`]: its [`KEPT_FEATURES`] most
//! frequent features, a few phrases and its site, a sketch of a few dozen numbers
//! whatever the text's length. [`group`] works on readings: a list kept between passes
//! (`minhu_engine::hotspots`) segments each message once and keeps ~200 bytes of it.
//! [`group`] numbers a window's features in the order its messages, in time order,
//! first use them, whichever vocabulary read them and in whatever order, so kept
//! readings give the list a fresh reading of the same messages gives.
//!
//! **Bounded work.** Only groups sharing a fairly rare feature with a message are
//! compared with it: features in more than [`COMMON_SHARE`] of the messages (at least
//! [`COMMON_FLOOR`] of them) pick no candidates (they still count in the cosine), and
//! of the groups sharing the others only the [`CANDIDATES`] sharing the most weight are
//! compared, so one message costs about the same however many there are.
//!
//! **Heat** (热度), for the groups with at least [`HotspotRules::min_count`] messages in
//! the window:
//!
//! ```text
//! people = distinct citizens + 0.5 x min(messages - distinct citizens, distinct citizens)
//! growth = (messages - messages in the window before) / max(messages before, 1),
//!          kept within [-1, 2]
//! heat   = people x (1 + 0.5 x growth) + 2 x ln(1 + likes)
//! ```
//!
//! so many different people count more than one person calling again (and repeats
//! count no more than the people themselves: one person writing fifty letters is not
//! a hotspot of fifty, nor of twenty-five), a rising topic
//! up to twice as much as a steady one (a fading one half), and likes (channels that
//! have them, such as a message board) add a little, on a log scale. Messages without a
//! known citizen each count as a person.

use jiff::{SignedDuration, Timestamp};
use minhu_core::City;
use minhu_core::place::{Place, PlaceKind};
use minhu_text::Segmenter;
use minhu_text::normalize::{is_cjk, normalize};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;
use std::collections::HashSet;
use std::sync::Arc;

/// A feature used by more than this share of the window's messages picks no
/// candidates: it is in nearly every group, so it would make every group a candidate.
pub const COMMON_SHARE: f64 = 0.05;
/// ... unless it is in no more than this many messages (small windows keep them all).
pub const COMMON_FLOOR: usize = 20;
/// The most groups one message (or group, when joining groups) is compared with.
pub const CANDIDATES: usize = 8;
/// The most entries of the index of groups by feature read to find them.
pub const SCANNED: usize = 1_000;

/// How hotspots are found; the defaults are the documented ones.
#[derive(Clone, Debug)]
pub struct HotspotRules {
    /// The sliding window (7 days by default); growth compares it with the one before.
    pub window: SignedDuration,
    /// The least cosine of weighted words for a message to join a group.
    pub similarity: f64,
    /// Groups with fewer messages in the window are not hotspots.
    pub min_count: usize,
    /// How many words name a hotspot.
    pub key_words: usize,
}

impl Default for HotspotRules {
    fn default() -> Self {
        Self {
            window: SignedDuration::from_hours(7 * 24),
            similarity: 0.35,
            min_count: 2,
            key_words: 4,
        }
    }
}

/// How messages are read: the segmenter, knowing the city's place names, and those
/// names: regions, roads and other cities, which the place test judges instead of the
/// words, and sites (estates, schools, markets ...), which place a message more finely
/// than its region.
pub struct Lexicon {
    segmenter: Segmenter,
    places: HashSet<String>,
    sites: HashSet<String>,
    stop_words: FxHashSet<&'static str>,
}

impl Lexicon {
    /// The names and aliases of the city's regions, roads and other cities as places,
    /// those of its other places (`places.csv`: estates, schools ...) as sites.
    pub fn for_city(city: &City) -> Self {
        let regions = city.regions.all().iter().flat_map(|region| {
            std::iter::once(region.name.as_str()).chain(region.aliases.iter().map(String::as_str))
        });
        let (wide, sites): (Vec<&Place>, Vec<&Place>) = city
            .places
            .places()
            .iter()
            .partition(|place| matches!(place.kind, PlaceKind::Road | PlaceKind::City));
        Self::new(
            regions.chain(wide.into_iter().flat_map(Place::names)),
            sites.into_iter().flat_map(Place::names),
        )
    }

    /// These names as places, no sites.
    pub fn with_places<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        Self::new(names, [])
    }

    /// These names as places and sites (compared as the messages are, normalised).
    pub fn new<'a>(
        places: impl IntoIterator<Item = &'a str>,
        sites: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let places: HashSet<String> = places.into_iter().map(normalize).collect();
        let sites: HashSet<String> = sites
            .into_iter()
            .map(normalize)
            .filter(|site| !places.contains(site))
            .collect();
        let segmenter = Segmenter::with_words(places.iter().chain(&sites).map(String::as_str));
        Self {
            segmenter,
            places,
            sites,
            stop_words: STOP_WORDS.iter().copied().collect(),
        }
    }

    /// What one normalised message says: its useful words, the Chinese character pairs
    /// of runs of single characters (names the segmenter does not know, 伊景园 cut as
    /// 伊/景/园), the phrases of two useful words side by side, and the first site it
    /// names.
    fn read<'t>(&self, text: &'t str) -> Said<'t> {
        let mut said = Said::default();
        let mut run: Vec<char> = Vec::new();
        let pairs = |run: &mut Vec<char>, said: &mut Said<'t>| {
            said.features
                .extend(run.windows(2).map(|pair| Feature::Pair(pair[0], pair[1])));
            run.clear();
        };
        // The useful word just before, when nothing stood between.
        let mut before: Option<&'t str> = None;
        let mut end = 0;
        for word in self.segmenter.words(text) {
            let start = word.as_ptr() as usize - text.as_ptr() as usize;
            if start != end {
                // Punctuation or a space between: no pair, no phrase across it.
                pairs(&mut run, &mut said);
                before = None;
            }
            end = start + word.len();
            let mut chars = word.chars();
            if let (Some(c), None) = (chars.next(), chars.next())
                && is_cjk(c)
            {
                run.push(c);
                before = None;
                continue;
            }
            pairs(&mut run, &mut said);
            if self.places.contains(word) {
                before = None;
            } else if self.sites.contains(word) {
                said.site.get_or_insert(word);
                before = None;
            } else if self.useful(word) {
                said.features.push(Feature::Word(word));
                if let Some(first) = before {
                    said.phrases.push((first, word));
                }
                before = Some(word);
            } else {
                before = None;
            }
        }
        pairs(&mut run, &mut said);
        said
    }

    fn useful(&self, word: &str) -> bool {
        word.chars().nth(1).is_some()
            && !word.chars().all(|c| c.is_ascii_digit())
            && !self.stop_words.contains(word)
    }
}

/// What a message says, before a [`Vocabulary`] numbers it.
#[derive(Default)]
struct Said<'t> {
    /// In the order they occur.
    features: Vec<Feature<'t>>,
    phrases: Vec<(&'t str, &'t str)>,
    site: Option<&'t str>,
}

/// One feature of a message: a word, or a pair of Chinese characters (pairs catch
/// names the segmenter does not know, but never name a hotspot).
#[derive(Clone, Copy)]
enum Feature<'t> {
    Word(&'t str),
    Pair(char, char),
}

impl Default for Lexicon {
    /// No place names.
    fn default() -> Self {
        Self::with_places(std::iter::empty())
    }
}

/// One message (a ticket, a board post) as the hotspot list reads it.
#[derive(Clone, Debug)]
pub struct Message {
    /// The ticket number (or the source's message id).
    pub id: String,
    pub text: String,
    pub at: Timestamp,
    /// The region ids from the city down to where it is placed; empty when unplaced.
    pub place: Vec<String>,
    /// Who raised it (a phone number or a board user), to count people once.
    pub citizen: Option<String>,
    /// Likes (点赞), where the channel has them.
    pub likes: Option<u32>,
    /// Whether it is still being handled.
    pub open: bool,
    /// The unit handling it (its id), to say which units a hotspot involves.
    pub unit: Option<String>,
}

impl Message {
    /// All but the text, which a [`Reading`] stands for.
    pub fn facts(&self) -> Facts {
        Facts {
            id: self.id.clone(),
            at: self.at,
            place: self.place.as_slice().into(),
            citizen: self.citizen.clone(),
            likes: self.likes,
            open: self.open,
            unit: self.unit.as_deref().map(Arc::from),
        }
    }
}

/// A message without its text: what the hotspot list keeps of it between passes,
/// beside its [`Reading`].
#[derive(Clone, Debug, PartialEq)]
pub struct Facts {
    pub id: String,
    pub at: Timestamp,
    /// As [`Message::place`]; shared, as many messages have one place.
    pub place: Arc<[String]>,
    pub citizen: Option<String>,
    pub likes: Option<u32>,
    pub open: bool,
    /// As [`Message::unit`]; shared, as many messages have one unit.
    pub unit: Option<Arc<str>>,
}

/// One hotspot: a named group of messages of the window, with its heat.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Hotspot {
    /// 1 for the hottest.
    pub rank: usize,
    pub heat: f64,
    /// What a person calls it: the site its messages name (when most do) or its
    /// heaviest word, and the phrase most of them use (丽发新城 搅拌站噪音).
    pub name: String,
    /// The heaviest words of its messages, heaviest first.
    pub words: Vec<String>,
    /// The region all of its placed messages lie in (the deepest shared one); `None`
    /// when none was placed or they share none.
    pub place: Option<String>,
    /// Messages in the window.
    pub count: usize,
    /// Messages of the group in the window before.
    pub previous: usize,
    pub growth: f64,
    /// Distinct citizens among the window's messages.
    pub citizens: usize,
    /// Likes of the window's messages; `None` when no message's channel has likes.
    pub likes: Option<u64>,
    /// Of the window's messages, those still being handled.
    pub open: usize,
    /// The units handling the window's messages, most messages first.
    pub units: Vec<Involved>,
    pub first_at: Timestamp,
    pub last_at: Timestamp,
    /// The window's message ids, oldest first.
    pub messages: Vec<String>,
    /// The ids of its messages in the window before, oldest first.
    pub earlier: Vec<String>,
}

/// A unit handling some of a hotspot's messages.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Involved {
    pub unit: String,
    pub messages: usize,
}

/// Words that say nothing about what a message is about (greetings, the board's
/// formulas); the rest are weighed by how rare they are.
const STOP_WORDS: &[&str] = &[
    "你好",
    "您好",
    "领导",
    "请问",
    "希望",
    "反映",
    "问题",
    "我们",
    "他们",
    "你们",
    "没有",
    "什么",
    "现在",
    "已经",
    "一个",
    "这个",
    "那个",
    "进行",
    "要求",
    "情况",
    "相关",
    "部门",
    "有关",
    "政府",
    "市民",
    "居民",
    "老百姓",
    "谢谢",
    "感谢",
    "请求",
    "如何",
    "为什么",
    "是否",
    "可以",
    "能否",
    "这样",
    "怎么",
    "关于",
    "投诉",
    "咨询",
    "建议",
    "解决",
    "处理",
    "尽快",
    "非常",
    "严重",
    "目前",
    "因为",
    "所以",
    "但是",
    "而且",
    "还是",
    "自己",
    "一些",
    "知道",
    "不能",
    "不是",
    "就是",
    "这些",
    "时候",
    "以上",
    "以下",
    "其他",
    "本人",
];

/// A message's features (words and character pairs) with their weights, scaled to
/// length 1.
type Vector = Vec<(u32, f64)>;

struct Group {
    /// Summed feature weights of its messages, by feature (single precision and a
    /// sorted list, not a map: the centroids of a window of hundreds of thousands of
    /// messages take most of the grouping's memory; the sums and the length are kept
    /// in double).
    centroid: Vec<(u32, f32)>,
    /// The centroid's length, kept as members join.
    norm: f64,
    place: Arc<[String]>,
    /// The site its messages name (a vocabulary number), if any does.
    site: Option<u32>,
    members: Vec<usize>,
}

impl Group {
    fn weight(&self, w: u32) -> f64 {
        self.centroid
            .binary_search_by_key(&w, |(v, _)| *v)
            .map_or(0.0, |at| f64::from(self.centroid[at].1))
    }

    /// The cosine of a message's (unit) vector with the centroid.
    fn cosine(&self, vector: &Vector) -> f64 {
        if self.norm == 0.0 {
            return 0.0;
        }
        let dot: f64 = vector.iter().map(|(w, x)| x * self.weight(*w)).sum();
        dot / self.norm
    }

    /// Adds weights to the centroid, keeping its length: each weight changes the
    /// squared length by (c + x)^2 - c^2. A large group already holds most of a new
    /// member's features, so most weights are added in place.
    fn absorb(&mut self, weights: impl IntoIterator<Item = (u32, f64)>) {
        let mut squared = self.norm * self.norm;
        for (w, x) in weights {
            let sum = match self.centroid.binary_search_by_key(&w, |(v, _)| *v) {
                Ok(at) => {
                    let sum = f64::from(self.centroid[at].1);
                    self.centroid[at].1 = (sum + x) as f32;
                    sum
                }
                Err(at) => {
                    self.centroid.insert(at, (w, x as f32));
                    0.0
                }
            };
            squared += x * (2.0 * sum + x);
        }
        self.norm = squared.max(0.0).sqrt();
    }

    /// The cosine of two centroids.
    fn likeness(&self, other: &Group) -> f64 {
        if self.norm == 0.0 || other.norm == 0.0 {
            return 0.0;
        }
        let (small, large) = if self.centroid.len() <= other.centroid.len() {
            (self, other)
        } else {
            (other, self)
        };
        let dot: f64 = small
            .centroid
            .iter()
            .map(|(w, x)| f64::from(*x) * large.weight(*w))
            .sum();
        dot / (self.norm * other.norm)
    }

    /// Whether a message (or group) placed at `place`, naming `site`, can be of this
    /// group: the same region or one inside the other, and not another site.
    fn admits(&self, place: &[String], site: Option<u32>) -> bool {
        let shared = self.place.len().min(place.len());
        self.place[..shared] == place[..shared]
            && (self.site.is_none() || site.is_none() || self.site == site)
    }
}

/// Which groups use each fairly rare feature, to find the few worth comparing.
struct Candidates {
    /// Per feature: whether it may pick candidates.
    rare: Vec<bool>,
    /// Group numbers (u32: the index is as large as the groups' features).
    groups_by_feature: Vec<Vec<u32>>,
    /// Shared weight per group, for the one lookup under way (zero elsewhere).
    shared: Vec<f64>,
    touched: Vec<usize>,
}

impl Candidates {
    fn new(document_frequency: &[u32], messages: usize) -> Self {
        let common = ((messages as f64 * COMMON_SHARE).ceil() as usize).max(COMMON_FLOOR);
        Self {
            // A feature of one message can match nothing else.
            rare: document_frequency
                .iter()
                .map(|df| (2..=common).contains(&(*df as usize)))
                .collect(),
            groups_by_feature: vec![Vec::new(); document_frequency.len()],
            shared: Vec::new(),
            touched: Vec::new(),
        }
    }

    /// Notes that `group` now uses these features (call once per new feature).
    fn index(&mut self, group: usize, features: impl IntoIterator<Item = u32>) {
        for w in features {
            if self.rare[w as usize] {
                self.groups_by_feature[w as usize].push(group as u32);
            }
        }
    }

    /// The groups (as `resolve` maps them) sharing the most weight of these features,
    /// at most [`CANDIDATES`], most shared first. The features used by fewest groups
    /// are read first, and no more group entries than [`SCANNED`] in all.
    fn best(
        &mut self,
        weights: impl IntoIterator<Item = (u32, f64)>,
        resolve: impl Fn(usize) -> Option<usize>,
    ) -> Vec<usize> {
        let mut features: Vec<(usize, u32, f64)> = weights
            .into_iter()
            .filter(|(w, _)| self.rare[*w as usize])
            .map(|(w, x)| (self.groups_by_feature[w as usize].len(), w, x))
            .collect();
        features.sort_unstable_by_key(|(used, w, _)| (*used, *w));
        let mut scanned = 0;
        for (used, w, x) in features {
            scanned += used;
            if scanned > SCANNED {
                break;
            }
            for g in &self.groups_by_feature[w as usize] {
                let Some(g) = resolve(*g as usize) else {
                    continue;
                };
                if g >= self.shared.len() {
                    self.shared.resize(g + 1, 0.0);
                }
                if self.shared[g] == 0.0 {
                    self.touched.push(g);
                }
                self.shared[g] += x;
            }
        }
        let mut found: Vec<(usize, f64)> = self
            .touched
            .drain(..)
            .map(|g| (g, std::mem::take(&mut self.shared[g])))
            .collect();
        let most_first =
            |a: &(usize, f64), b: &(usize, f64)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if found.len() > CANDIDATES {
            found.select_nth_unstable_by(CANDIDATES, most_first);
            found.truncate(CANDIDATES);
        }
        found.sort_unstable_by(most_first);
        found.into_iter().map(|(g, _)| g).collect()
    }
}

/// Numbers the features, phrases' words and sites of messages read, and remembers the
/// words' names: readings hold numbers, so a message's features cost a few bytes each
/// however long the word.
#[derive(Default)]
pub struct Vocabulary {
    words: FxHashMap<Box<str>, u32>,
    pairs: FxHashMap<(char, char), u32>,
    /// A word's (or site's) name by number; `None` for a character pair.
    names: Vec<Option<Box<str>>>,
}

/// What the hotspot list keeps of a message's text between passes, so that a message
/// is segmented once: a sketch of a few dozen numbers, whatever the text's length.
///
/// - its [`KEPT_FEATURES`] most frequent features (see [`Lexicon`]), the earlier first
///   among equals (a ticket's title comes first), each once with how often it occurs;
/// - its first [`KEPT_PHRASES`] phrases (two useful words side by side), to name the
///   hotspot it joins;
/// - the first site it names.
///
/// Which features are kept depends on the text alone, so a reading kept between passes
/// is the one a fresh reading of the same text gives.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reading {
    features: Box<[u32]>,
    /// How often each feature occurs (kept within 255: the weight grows with its log).
    counts: Box<[u8]>,
    phrases: Box<[(u32, u32)]>,
    site: Option<u32>,
}

/// The most features a [`Reading`] keeps.
pub const KEPT_FEATURES: usize = 32;
/// The most phrases a [`Reading`] keeps.
pub const KEPT_PHRASES: usize = 6;

impl Reading {
    fn iter(&self) -> impl Iterator<Item = (u32, u8)> + '_ {
        self.features
            .iter()
            .copied()
            .zip(self.counts.iter().copied())
    }

    /// Every vocabulary number it holds, for renumbering.
    fn numbers_mut(&mut self) -> impl Iterator<Item = &mut u32> {
        self.features
            .iter_mut()
            .chain(self.phrases.iter_mut().flat_map(|(a, b)| [a, b]))
            .chain(self.site.iter_mut())
    }
}

impl Vocabulary {
    /// Reads texts (segmenting them in parallel: most of the work, and each text's
    /// alone), numbering features not seen before.
    pub fn read(&mut self, lexicon: &Lexicon, texts: &[&str]) -> Vec<Reading> {
        let normalized = in_parallel(texts, |text| normalize(text));
        let said = in_parallel(&normalized, |text| lexicon.read(text));
        said.into_iter().map(|said| self.number(said)).collect()
    }

    fn word(&mut self, word: &str) -> u32 {
        if let Some(id) = self.words.get(word) {
            return *id;
        }
        let id = self.names.len() as u32;
        self.words.insert(word.into(), id);
        self.names.push(Some(word.into()));
        id
    }

    fn number(&mut self, said: Said<'_>) -> Reading {
        // Per feature: its number, how often it occurs, where it first occurs.
        let mut seen: FxHashMap<u32, usize> = FxHashMap::default();
        let mut found: Vec<(u32, u8)> = Vec::new();
        for feature in said.features {
            let id = match feature {
                Feature::Word(word) => self.word(word),
                Feature::Pair(a, b) => {
                    let next = self.names.len() as u32;
                    *self.pairs.entry((a, b)).or_insert_with(|| {
                        self.names.push(None);
                        next
                    })
                }
            };
            match seen.get(&id) {
                Some(at) => found[*at].1 = found[*at].1.saturating_add(1),
                None => {
                    seen.insert(id, found.len());
                    found.push((id, 1));
                }
            }
        }
        if found.len() > KEPT_FEATURES {
            // The most frequent, the earlier first among equals (a stable sort), back
            // in the order they occur.
            let mut order: Vec<usize> = (0..found.len()).collect();
            order.sort_by_key(|at| std::cmp::Reverse(found[*at].1));
            order.truncate(KEPT_FEATURES);
            order.sort_unstable();
            found = order.into_iter().map(|at| found[at]).collect();
        }
        let mut phrases: Vec<(u32, u32)> = Vec::new();
        for (first, second) in said.phrases {
            if phrases.len() == KEPT_PHRASES {
                break;
            }
            let phrase = (self.word(first), self.word(second));
            if !phrases.contains(&phrase) {
                phrases.push(phrase);
            }
        }
        Reading {
            features: found.iter().map(|(id, _)| *id).collect(),
            counts: found.iter().map(|(_, count)| *count).collect(),
            phrases: phrases.into(),
            site: said.site.map(|site| self.word(site)),
        }
    }

    /// How many features it numbers.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Forgets the features none of `readings` uses and numbers the rest again (in the
    /// readings too): words of messages long gone from every window no longer take
    /// memory. Returns how many features are left.
    pub fn compact<'a>(&mut self, readings: impl IntoIterator<Item = &'a mut Reading>) -> usize {
        let mut readings: Vec<&'a mut Reading> = readings.into_iter().collect();
        let mut new = vec![u32::MAX; self.names.len()];
        let mut names = Vec::new();
        for reading in &mut readings {
            for id in reading.numbers_mut() {
                if new[*id as usize] == u32::MAX {
                    new[*id as usize] = names.len() as u32;
                    names.push(self.names[*id as usize].take());
                }
                *id = new[*id as usize];
            }
        }
        let renumber = |id: &mut u32| {
            *id = new[*id as usize];
            *id != u32::MAX
        };
        self.words.retain(|_, id| renumber(id));
        self.pairs.retain(|_, id| renumber(id));
        self.names = names;
        self.names.len()
    }
}

/// `each` of the items, in their order, on as many threads as there are cores.
fn in_parallel<'a, T: Sync, R: Send>(items: &'a [T], each: impl Fn(&'a T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = items.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let each = &each;
        let parts: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(each).collect::<Vec<R>>()))
            .collect();
        parts
            .into_iter()
            .flat_map(|part| {
                part.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// The hotspots of the window ending at `to`, hottest first. Messages outside the
/// window and the one before it are ignored.
pub fn hotspots(
    messages: &[Message],
    to: Timestamp,
    rules: &HotspotRules,
    lexicon: &Lexicon,
) -> Vec<Hotspot> {
    let before = to - rules.window - rules.window;
    let chosen: Vec<&Message> = messages
        .iter()
        .filter(|m| before <= m.at && m.at < to)
        .collect();
    let mut vocabulary = Vocabulary::default();
    let texts: Vec<&str> = chosen.iter().map(|m| m.text.as_str()).collect();
    let readings = vocabulary.read(lexicon, &texts);
    let facts: Vec<Facts> = chosen.iter().map(|m| m.facts()).collect();
    let read: Vec<(&Facts, &Reading)> = facts.iter().zip(&readings).collect();
    group(&read, &vocabulary, to, rules)
}

/// The words a window's messages use, numbered in the order the messages (in time
/// order) first use them, whichever vocabulary read them: the grouping then does not
/// depend on which messages a vocabulary read first, so a list kept between passes
/// equals one computed afresh.
struct Window {
    /// The window's number of each vocabulary feature (`u32::MAX`: unused).
    local: Vec<u32>,
    /// The vocabulary's number of each window feature.
    global: Vec<u32>,
    /// How many messages use each window feature.
    document_frequency: Vec<u32>,
    idf: Vec<f64>,
}

impl Window {
    fn new(chosen: &[(&Facts, &Reading)], vocabulary: &Vocabulary) -> Self {
        let mut local = vec![u32::MAX; vocabulary.len()];
        let mut global = Vec::new();
        let mut document_frequency: Vec<u32> = Vec::new();
        for (_, reading) in chosen {
            for id in reading.features.iter() {
                let slot = &mut local[*id as usize];
                if *slot == u32::MAX {
                    *slot = global.len() as u32;
                    global.push(*id);
                    document_frequency.push(0);
                }
                document_frequency[*slot as usize] += 1;
            }
        }
        let total = chosen.len().max(1) as f64;
        let idf = document_frequency
            .iter()
            .map(|df| (total / f64::from(*df)).ln() + 1.0)
            .collect();
        Self {
            local,
            global,
            document_frequency,
            idf,
        }
    }

    /// A message's TF-IDF vector, scaled to length 1, in window-number order.
    fn vector(&self, reading: &Reading) -> Vector {
        let mut vector: Vector = reading
            .iter()
            .map(|(id, tf)| {
                let id = self.local[id as usize];
                (id, (1.0 + f64::from(tf).ln()) * self.idf[id as usize])
            })
            .collect();
        vector.sort_unstable_by_key(|(id, _)| *id);
        let norm = vector.iter().map(|(_, x)| x * x).sum::<f64>().sqrt();
        if norm > 0.0 {
            vector.iter_mut().for_each(|(_, x)| *x /= norm);
        }
        vector
    }

    /// A window feature's name: the word, or `None` for a character pair.
    fn name<'v>(&self, vocabulary: &'v Vocabulary, id: u32) -> Option<&'v str> {
        vocabulary.names[self.global[id as usize] as usize].as_deref()
    }
}

/// The hotspots of messages already read (by `vocabulary`) in the window ending at
/// `to`, hottest first: what [`hotspots`] does after reading, and what a list kept
/// between passes does with the readings it kept. Messages outside the window and the
/// one before it are ignored.
pub fn group(
    messages: &[(&Facts, &Reading)],
    vocabulary: &Vocabulary,
    to: Timestamp,
    rules: &HotspotRules,
) -> Vec<Hotspot> {
    let from = to - rules.window;
    let before = from - rules.window;
    let mut chosen: Vec<(&Facts, &Reading)> = messages
        .iter()
        .filter(|(m, _)| before <= m.at && m.at < to)
        .copied()
        .collect();
    chosen.sort_by(|a, b| (a.0.at, &a.0.id).cmp(&(b.0.at, &b.0.id)));
    let window = Window::new(&chosen, vocabulary);
    let mut candidates = Candidates::new(&window.document_frequency, chosen.len());

    // Each message joins the group it is most like, in time order.
    let mut groups: Vec<Group> = Vec::new();
    for (at, (message, reading)) in chosen.iter().enumerate() {
        let vector = window.vector(reading);
        let best = candidates
            .best(vector.iter().copied(), Some)
            .into_iter()
            .filter(|g| groups[*g].admits(&message.place, reading.site))
            .map(|g| (g, groups[g].cosine(&vector)))
            .filter(|(_, cosine)| *cosine >= rules.similarity)
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
        let g = match best {
            Some((g, _)) => g,
            None => {
                groups.push(Group {
                    centroid: Vec::new(),
                    norm: 0.0,
                    place: message.place.clone(),
                    site: reading.site,
                    members: Vec::new(),
                });
                groups.len() - 1
            }
        };
        let new: Vec<u32> = vector
            .iter()
            .map(|(w, _)| *w)
            .filter(|w| groups[g].weight(*w) == 0.0)
            .collect();
        candidates.index(g, new);
        groups[g].absorb(vector.iter().copied());
        groups[g].members.push(at);
        // A group placed less precisely than a new member takes the finer place.
        if message.place.len() > groups[g].place.len() {
            groups[g].place = message.place.clone();
        }
        groups[g].site = groups[g].site.or(reading.site);
    }
    let groups = merge_alike(groups, &mut candidates, rules.similarity);

    let mut found: Vec<Hotspot> = groups
        .iter()
        .filter_map(|group| {
            let (now, earlier): (Vec<usize>, Vec<usize>) = group
                .members
                .iter()
                .partition(|at| chosen[**at].0.at >= from);
            if now.len() < rules.min_count {
                return None;
            }
            // Words name it; character pairs do not.
            let mut weights: FxHashMap<&str, f64> = FxHashMap::default();
            for at in &now {
                for (w, x) in window.vector(chosen[*at].1) {
                    if let Some(word) = window.name(vocabulary, w) {
                        *weights.entry(word).or_default() += x;
                    }
                }
            }
            let mut heaviest: Vec<(&str, f64)> = weights.into_iter().collect();
            heaviest.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
            let words: Vec<String> = heaviest
                .iter()
                .take(rules.key_words)
                .map(|(word, _)| (*word).to_owned())
                .collect();
            let readings: Vec<&Reading> = now.iter().map(|at| chosen[*at].1).collect();
            let idf = |word: &str| {
                vocabulary
                    .words
                    .get(word)
                    .map(|id| window.local[*id as usize])
                    .filter(|local| *local != u32::MAX)
                    .map_or(1.0, |local| window.idf[local as usize])
            };
            let name = name(&readings, vocabulary, &heaviest, &idf);
            let members =
                |ats: &[usize]| -> Vec<&Facts> { ats.iter().map(|at| chosen[*at].0).collect() };
            Some(Hotspot::of(name, words, &members(&now), &members(&earlier)))
        })
        .collect();
    rank(&mut found);
    found
}

/// What a person calls a group of these messages (`heaviest`: its words, heaviest
/// first; `idf`: how rare a word is in the window): the site at least half of them
/// name, or else its heaviest word, before the phrase most of them use, weighed by its
/// commoner word (小区附近 is in many messages but says little); without a phrase two
/// messages share, its two heaviest words.
fn name(
    readings: &[&Reading],
    vocabulary: &Vocabulary,
    heaviest: &[(&str, f64)],
    idf: &dyn Fn(&str) -> f64,
) -> String {
    let word = |id: u32| vocabulary.names[id as usize].as_deref().unwrap_or_default();
    let mut sites: FxHashMap<&str, usize> = FxHashMap::default();
    let mut phrases: FxHashMap<(&str, &str), usize> = FxHashMap::default();
    for reading in readings {
        if let Some(site) = reading.site {
            *sites.entry(word(site)).or_default() += 1;
        }
        for (a, b) in reading.phrases.iter() {
            *phrases.entry((word(*a), word(*b))).or_default() += 1;
        }
    }
    let phrase = phrases
        .into_iter()
        .filter(|(_, n)| *n >= 2)
        .map(|((a, b), n)| ((a, b), n as f64 * idf(a).min(idf(b))))
        .max_by(|x, y| x.1.total_cmp(&y.1).then(y.0.cmp(&x.0)))
        .map(|((a, b), _)| format!("{a}{b}"));
    let what = phrase.unwrap_or_else(|| {
        heaviest
            .iter()
            .take(2)
            .map(|(w, _)| *w)
            .collect::<Vec<_>>()
            .join(" ")
    });
    let site = sites
        .into_iter()
        .filter(|(_, n)| 2 * n >= readings.len())
        .max_by(|x, y| x.1.cmp(&y.1).then(y.0.cmp(x.0)))
        .map(|(site, _)| site)
        .or_else(|| heaviest.first().map(|(w, _)| *w))
        .filter(|where_| !what.contains(where_));
    match site {
        Some(site) => format!("{site} {what}"),
        None => what,
    }
}

/// Orders hotspots hottest first (the earlier first among equals) and numbers them.
pub fn rank(hotspots: &mut [Hotspot]) {
    hotspots.sort_by(|a, b| b.heat.total_cmp(&a.heat).then(a.first_at.cmp(&b.first_at)));
    for (i, hotspot) in hotspots.iter_mut().enumerate() {
        hotspot.rank = i + 1;
    }
}

/// Joins groups alike in meaning and compatible in place (a group that started before
/// the words of its topic settled), until none are: the order messages came in then
/// matters less. Members stay in time order.
fn merge_alike(mut groups: Vec<Group>, candidates: &mut Candidates, similarity: f64) -> Vec<Group> {
    let mut into: Vec<usize> = (0..groups.len()).collect();
    let root = |into: &Vec<usize>, mut g: usize| {
        while into[g] != g {
            g = into[g];
        }
        g
    };
    // The first round looks at every group, later rounds only at the groups that grew:
    // pairs that did not change were already found unlike. Each looks from its own
    // side (a large group shares some weight with many; a small one finds the few it is
    // about).
    // Two single messages were already compared when the later one came.
    let mut examine: Vec<usize> = (0..groups.len())
        .filter(|g| groups[*g].members.len() > 1)
        .collect();
    while !examine.is_empty() {
        let mut grew = Vec::new();
        for g in examine {
            if into[g] != g {
                continue;
            }
            let centroid = groups[g].centroid.iter().map(|(w, x)| (*w, f64::from(*x)));
            let others = candidates.best(centroid, |o| {
                let o = root(&into, o);
                (o != g).then_some(o)
            });
            let mut absorbed = false;
            for o in others {
                if into[o] != o
                    || !groups[g].admits(&groups[o].place, groups[o].site)
                    || groups[g].likeness(&groups[o]) < similarity
                {
                    continue;
                }
                let taken = std::mem::take(&mut groups[o].members);
                let centroid = std::mem::take(&mut groups[o].centroid);
                let place = std::mem::take(&mut groups[o].place);
                let site = groups[o].site;
                groups[o].norm = 0.0;
                let group = &mut groups[g];
                group.absorb(centroid.into_iter().map(|(w, x)| (w, f64::from(x))));
                group.site = group.site.or(site);
                group.members.extend(taken);
                group.members.sort_unstable();
                if place.len() > group.place.len() {
                    group.place = place;
                }
                into[o] = g;
                absorbed = true;
            }
            if absorbed {
                grew.push(g);
            }
        }
        examine = grew;
    }
    groups
        .into_iter()
        .enumerate()
        .filter(|(g, _)| into[*g] == *g)
        .map(|(_, group)| group)
        .collect()
}

impl Hotspot {
    /// A group named `words`, with these messages in the window (`now`, in time order)
    /// and in the window before: its place, counts and heat (rank 0 until ranked).
    /// Also how a hotspot looks to a reader who sees only some of its messages: the
    /// figures of those, the name of all.
    pub fn of(name: String, words: Vec<String>, now: &[&Facts], earlier: &[&Facts]) -> Hotspot {
        let placed: Vec<&[String]> = now
            .iter()
            .map(|m| &m.place[..])
            .filter(|p| !p.is_empty())
            .collect();
        let place = placed.split_first().and_then(|(first, rest)| {
            let shared = rest.iter().fold(first.len(), |n, p| {
                n.min(
                    first
                        .iter()
                        .zip(p.iter())
                        .take_while(|(a, b)| a == b)
                        .count(),
                )
            });
            shared.checked_sub(1).map(|last| first[last].clone())
        });
        let count = now.len();
        let previous = earlier.len();
        let mut people: HashSet<&str> = HashSet::new();
        let mut unknown = 0;
        for m in now {
            match &m.citizen {
                Some(c) => {
                    people.insert(c);
                }
                None => unknown += 1,
            }
        }
        let citizens = people.len() + unknown;
        let liked: Vec<u64> = now.iter().filter_map(|m| m.likes.map(u64::from)).collect();
        let likes = (!liked.is_empty()).then(|| liked.iter().sum());
        let growth = ((count as f64 - previous as f64) / previous.max(1) as f64).clamp(-1.0, 2.0);
        let heat = heat(count, citizens, growth, likes.unwrap_or(0));
        let mut units: FxHashMap<&str, usize> = FxHashMap::default();
        for unit in now.iter().filter_map(|m| m.unit.as_deref()) {
            *units.entry(unit).or_default() += 1;
        }
        let mut units: Vec<Involved> = units
            .into_iter()
            .map(|(unit, messages)| Involved {
                unit: unit.to_owned(),
                messages,
            })
            .collect();
        units.sort_by(|a, b| b.messages.cmp(&a.messages).then(a.unit.cmp(&b.unit)));
        Hotspot {
            rank: 0,
            heat,
            name,
            words,
            place,
            count,
            previous,
            growth,
            citizens,
            likes,
            open: now.iter().filter(|m| m.open).count(),
            units,
            first_at: now.first().map_or(Timestamp::UNIX_EPOCH, |m| m.at),
            last_at: now.last().map_or(Timestamp::UNIX_EPOCH, |m| m.at),
            messages: now.iter().map(|m| m.id.clone()).collect(),
            earlier: earlier.iter().map(|m| m.id.clone()).collect(),
        }
    }
}

/// The documented heat score (see the module's docs).
pub fn heat(count: usize, citizens: usize, growth: f64, likes: u64) -> f64 {
    let repeats = count.saturating_sub(citizens).min(citizens);
    let people = citizens as f64 + 0.5 * repeats as f64;
    people * (1.0 + 0.5 * growth.clamp(-1.0, 2.0)) + 2.0 * (1.0 + likes as f64).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn message(id: &str, when: &str, place: &[&str], citizen: &str, text: &str) -> Message {
        Message {
            id: id.into(),
            text: text.into(),
            at: at(when),
            place: place.iter().map(|p| (*p).to_owned()).collect(),
            citizen: Some(citizen.into()),
            likes: None,
            open: true,
            unit: None,
        }
    }

    const ESTATE: &[&str] = &["A", "A5", "A5-01", "A5-01-03"];
    const STREET: &[&str] = &["A", "A5", "A5-01"];
    const ELSEWHERE: &[&str] = &["A", "A2", "A2-04"];

    /// A week ending 2026-11-23 (and the week before): fumes from restaurants under one
    /// estate (five messages, four people, rising from one), a mixing plant's noise
    /// (three people, as many as the week before), the same fumes words in another
    /// district (one message: not the estate's hotspot), and unrelated singles.
    fn fixture() -> Vec<Message> {
        vec![
            message(
                "p1",
                "2026-11-12T10:00:00Z",
                ESTATE,
                "c1",
                "魅力之城小区楼下餐馆油烟扰民，窗户都不敢开",
            ),
            message(
                "p2",
                "2026-11-13T10:00:00Z",
                ELSEWHERE,
                "c9",
                "丽发新城附近搅拌站噪音扰民，晚上施工",
            ),
            message(
                "p3",
                "2026-11-14T10:00:00Z",
                ELSEWHERE,
                "c8",
                "丽发新城搅拌站夜间噪音太大，粉尘污染",
            ),
            message(
                "p4",
                "2026-11-15T10:00:00Z",
                ELSEWHERE,
                "c7",
                "丽发新城旁边搅拌站灰尘噪音影响休息",
            ),
            message(
                "n1",
                "2026-11-17T01:00:00Z",
                ESTATE,
                "c1",
                "魅力之城小区临街餐馆油烟扰民，油烟直排",
            ),
            message(
                "n2",
                "2026-11-17T05:00:00Z",
                STREET,
                "c2",
                "魅力之城小区一楼餐饮店油烟太大，扰民严重",
            ),
            message(
                "n3",
                "2026-11-18T05:00:00Z",
                ESTATE,
                "c3",
                "魅力之城餐馆油烟直排，小区居民受不了",
            ),
            message(
                "n4",
                "2026-11-19T05:00:00Z",
                ESTATE,
                "c4",
                "投诉魅力之城小区餐饮油烟扰民问题",
            ),
            message(
                "n5",
                "2026-11-20T05:00:00Z",
                ESTATE,
                "c5",
                "魅力之城小区楼下餐馆排油烟扰民",
            ),
            message(
                "n6",
                "2026-11-18T08:00:00Z",
                ELSEWHERE,
                "c9",
                "丽发新城搅拌站噪音扰民，半夜还在生产",
            ),
            message(
                "n7",
                "2026-11-19T08:00:00Z",
                ELSEWHERE,
                "c10",
                "丽发新城附近搅拌站粉尘噪音污染",
            ),
            message(
                "n8",
                "2026-11-21T08:00:00Z",
                ELSEWHERE,
                "c11",
                "搅拌站在丽发新城旁边，噪音吵得睡不着",
            ),
            message(
                "n9",
                "2026-11-20T09:00:00Z",
                &["A", "A3"],
                "c12",
                "餐馆油烟扰民，窗户不敢开",
            ),
            message(
                "n10",
                "2026-11-21T09:00:00Z",
                &[],
                "c13",
                "公司拖欠工资三个月不发",
            ),
            message(
                "n11",
                "2026-11-22T09:00:00Z",
                &[],
                "c14",
                "孩子入学学位问题咨询",
            ),
            // Outside both windows: ignored.
            message(
                "old",
                "2026-10-01T00:00:00Z",
                ESTATE,
                "c1",
                "魅力之城小区餐馆油烟扰民",
            ),
        ]
    }

    #[test]
    fn groups_by_meaning_and_place_and_ranks_by_heat() {
        let segmenter = Lexicon::default();
        let found = hotspots(
            &fixture(),
            at("2026-11-23T00:00:00Z"),
            &HotspotRules::default(),
            &segmenter,
        );
        assert_eq!(found.len(), 2, "{found:#?}");
        let fumes = &found[0];
        assert_eq!(fumes.rank, 1);
        assert_eq!(fumes.messages, ["n1", "n2", "n3", "n4", "n5"]);
        assert_eq!((fumes.count, fumes.previous, fumes.citizens), (5, 1, 5));
        assert_eq!(fumes.growth, 2.0);
        // The street-level message shares the street, not the estate.
        assert_eq!(fumes.place.as_deref(), Some("A5-01"));
        assert!(fumes.words.iter().any(|w| w == "油烟"), "{:?}", fumes.words);
        assert_eq!(fumes.likes, None);
        // people 5, growth (5 - 1) / 1 kept at 2: 5 x 2.
        assert!((fumes.heat - 10.0).abs() < 1e-9, "{}", fumes.heat);

        let plant = &found[1];
        assert_eq!(plant.messages, ["n6", "n7", "n8"]);
        assert_eq!((plant.count, plant.previous), (3, 3));
        assert_eq!(plant.growth, 0.0);
        assert!((plant.heat - 3.0).abs() < 1e-9, "{}", plant.heat);
        assert_eq!(plant.place.as_deref(), Some("A2-04"));
        assert!(plant.words.iter().any(|w| w == "噪音"), "{:?}", plant.words);
    }

    #[test]
    fn repeat_callers_count_half_and_likes_add_on_a_log_scale() {
        assert_eq!(heat(4, 4, 0.0, 0), 4.0);
        // Two people, one of whom called three times: 2 + 0.5 x 2.
        assert_eq!(heat(4, 2, 0.0, 0), 3.0);
        // One person writing ten times: 1 + 0.5 x 1, not 1 + 0.5 x 9.
        assert_eq!(heat(10, 1, 0.0, 0), 1.5);
        // A fading topic counts half; growth is kept within [-1, 2].
        assert_eq!(heat(4, 4, -1.0, 0), 2.0);
        assert_eq!(heat(4, 4, 9.0, 0), 8.0);
        let liked = heat(4, 4, 0.0, 99);
        assert!((liked - (4.0 + 2.0 * 100f64.ln())).abs() < 1e-9);

        let mut messages = fixture();
        for m in &mut messages {
            if m.id.starts_with('n') {
                m.citizen = Some("same".into());
            }
            m.likes = Some(10);
        }
        let found = hotspots(
            &messages,
            at("2026-11-23T00:00:00Z"),
            &HotspotRules::default(),
            &Lexicon::default(),
        );
        let fumes = found.iter().find(|h| h.messages[0] == "n1").unwrap();
        assert_eq!((fumes.citizens, fumes.likes), (1, Some(50)));
    }

    #[test]
    fn a_single_message_or_an_empty_window_is_no_hotspot() {
        let rules = HotspotRules::default();
        let segmenter = Lexicon::default();
        assert!(hotspots(&[], at("2026-11-23T00:00:00Z"), &rules, &segmenter).is_empty());
        let found = hotspots(&fixture(), at("2026-11-30T00:00:00Z"), &rules, &segmenter);
        // The window before still holds everything; the window itself is empty.
        assert!(found.is_empty(), "{found:#?}");
    }

    #[test]
    fn a_shared_place_name_does_not_make_two_problems_one() {
        let messages = [
            message(
                "m1",
                "2026-11-20T10:00:00Z",
                STREET,
                "c1",
                "A5区洞井街道新塘社区：井盖缺失",
            ),
            message(
                "m2",
                "2026-11-21T10:00:00Z",
                STREET,
                "c2",
                "A5区洞井街道新塘社区：路灯坏了",
            ),
        ];
        let to = at("2026-11-23T00:00:00Z");
        let rules = HotspotRules::default();
        // Read without knowing the names, the shared address alone makes them alike.
        let blind = hotspots(&messages, to, &rules, &Lexicon::default());
        assert_eq!(blind.len(), 1, "{blind:#?}");
        let lexicon = Lexicon::with_places(["A5区", "洞井街道", "新塘社区"]);
        let found = hotspots(&messages, to, &rules, &lexicon);
        assert!(found.is_empty(), "{found:#?}");
    }

    #[test]
    fn readings_kept_in_another_order_and_compacted_group_as_a_fresh_reading() {
        let to = at("2026-11-23T00:00:00Z");
        let rules = HotspotRules::default();
        let lexicon = Lexicon::default();
        let fresh = hotspots(&fixture(), to, &rules, &lexicon);
        assert_eq!(fresh.len(), 2, "{fresh:#?}");

        // A vocabulary that read other texts first and the messages newest first, as
        // a kept list does over its passes, numbers every feature differently.
        let mut messages = fixture();
        messages.reverse();
        let mut vocabulary = Vocabulary::default();
        let mut readings = vocabulary.read(&lexicon, &["供暖不热，暖气片冰凉", "噪音"]);
        let texts: Vec<&str> = messages.iter().map(|m| m.text.as_str()).collect();
        readings.extend(vocabulary.read(&lexicon, &texts));
        let facts: Vec<Facts> = messages.iter().map(Message::facts).collect();
        let kept = |readings: &[Reading], vocabulary: &Vocabulary| {
            let read: Vec<(&Facts, &Reading)> = facts.iter().zip(&readings[2..]).collect();
            group(&read, vocabulary, to, &rules)
        };
        assert_eq!(kept(&readings, &vocabulary), fresh);

        // Forgetting the other texts' features renumbers the rest: the same list.
        let before = vocabulary.len();
        let left = vocabulary.compact(readings[2..].iter_mut());
        assert!(left < before, "{left} of {before}");
        assert_eq!(kept(&readings, &vocabulary), fresh);
    }

    #[test]
    fn a_hotspot_is_named_by_its_site_and_the_phrase_its_messages_share() {
        let lexicon = Lexicon::new([], ["魅力之城小区", "丽发新城"]);
        let found = hotspots(
            &fixture(),
            at("2026-11-23T00:00:00Z"),
            &HotspotRules::default(),
            &lexicon,
        );
        // The estate most of them name, and the phrase of two words they share.
        let fumes = &found[0];
        assert_eq!(fumes.name, "魅力之城小区 餐馆油烟", "{fumes:#?}");
        // Without a site, its heaviest word (油烟), unless the phrase holds it already.
        let plain = hotspots(
            &fixture(),
            at("2026-11-23T00:00:00Z"),
            &HotspotRules::default(),
            &Lexicon::default(),
        );
        assert_eq!(plain[0].name, "油烟扰民");
    }

    #[test]
    fn a_long_letter_is_kept_as_a_few_dozen_numbers() {
        let others = "路灯 井盖 绿化 停车 电梯 供水 供电 燃气 垃圾 排水 道路 公交 学校 医院 \
            菜场 广场 公园 围墙 楼道 屋顶 外墙 窗户 阳台 车库 门禁 监控 消防 水管 \
            电线 网络 信号 快递 保安 保洁 维修 装修 租金 押金 合同 发票";
        let letter = "小区门口的搅拌站每天晚上施工，噪音很大，粉尘污染严重，".repeat(40)
            + &others.split_whitespace().collect::<Vec<_>>().join("，");
        let mut vocabulary = Vocabulary::default();
        let reading = &vocabulary.read(&Lexicon::default(), &[&letter])[0];
        assert_eq!(reading.features.len(), KEPT_FEATURES);
        assert!(reading.phrases.len() <= KEPT_PHRASES);
        // The words it repeats are among those kept.
        let kept: Vec<&str> = reading
            .features
            .iter()
            .filter_map(|id| vocabulary.names[*id as usize].as_deref())
            .collect();
        for word in ["搅拌站", "噪音", "粉尘"] {
            assert!(kept.contains(&word), "{word} not in {kept:?}");
        }
    }

    #[test]
    fn a_reader_of_some_messages_sees_their_figures_under_the_groups_name() {
        let messages = fixture();
        let facts: Vec<Facts> = messages.iter().map(Message::facts).collect();
        let of = |ids: &[&str]| -> Vec<&Facts> {
            ids.iter()
                .map(|id| facts.iter().find(|f| f.id == *id).unwrap())
                .collect()
        };
        let words = vec!["油烟".to_owned()];
        let seen = Hotspot::of(
            "油烟".into(),
            words.clone(),
            &of(&["n3", "n4"]),
            &of(&["p1"]),
        );
        assert_eq!(seen.words, words);
        assert_eq!(seen.messages, ["n3", "n4"]);
        assert_eq!(seen.earlier, ["p1"]);
        assert_eq!((seen.count, seen.previous, seen.citizens), (2, 1, 2));
        assert_eq!(seen.growth, 1.0);
        assert!((seen.heat - 3.0).abs() < 1e-9, "{}", seen.heat);
        // Both in the estate: the estate, not the street the whole group shares.
        assert_eq!(seen.place.as_deref(), Some("A5-01-03"));
    }

    #[test]
    fn common_features_pick_no_candidates_and_few_groups_are_compared() {
        // Feature 0 is in every one of 100 messages; feature 1 in three.
        let mut document_frequency = vec![100, 3];
        document_frequency.extend(std::iter::repeat_n(2, 40));
        let mut candidates = Candidates::new(&document_frequency, 100);
        for g in 0..40 {
            candidates.index(g, [0, 2 + g as u32]);
        }
        candidates.index(7, [1]);
        candidates.index(9, [1]);
        let weights: Vec<(u32, f64)> = (0..42).map(|w| (w, 1.0)).collect();
        let found = candidates.best(weights.iter().copied(), Some);
        assert_eq!(found.len(), CANDIDATES);
        // The groups sharing the rare feature 1 come first; the common one counted for
        // none.
        assert_eq!(found[..2], [7, 9]);
        let common_only = candidates.best([(0, 1.0)], Some);
        assert!(common_only.is_empty(), "{common_only:?}");
    }
}
