//! The hotspot list (热点榜): what many people are raising about one thing in one place
//! right now, found by grouping recent messages that say the same thing.
//!
//! Why one file of ~1,300 lines: reading, grouping, joining and naming share the group's
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
//! **Kept between passes.** A [`Grouping`] keeps the groups: messages that come later
//! are assigned to the groups as they stand ([`Grouping::add`]), messages that leave
//! the window are taken out of theirs ([`Grouping::remove`]), so a pass costs what
//! changed, not the window. [`group`] is [`Grouping::new`]: the list a kept grouping
//! gives right after it is grouped afresh is the fresh list; later messages are weighed
//! with the weights of that time, and the caller groups afresh once
//! [`REGROUP_SHARE`] of the messages have come or gone ([`Grouping::stale`]). Most
//! groups are one message: such a group keeps no summed features of its own (its
//! message's reading stands for them), and no group lists its members (each message
//! knows its group, and a group joined into another points at it).
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
        Self::for_cities(std::iter::once(city))
    }

    /// [`Lexicon::for_city`] over every city of a province: each city's regions and
    /// places.
    pub fn for_cities<'a>(cities: impl IntoIterator<Item = &'a City>) -> Self {
        let cities: Vec<&City> = cities.into_iter().collect();
        let regions = cities
            .iter()
            .flat_map(|city| city.regions.all())
            .flat_map(|region| {
                std::iter::once(region.name.as_str())
                    .chain(region.aliases.iter().map(String::as_str))
            });
        let (wide, sites): (Vec<&Place>, Vec<&Place>) = cities
            .iter()
            .flat_map(|city| city.places.places())
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
    /// The region all of its placed messages lie in (the deepest shared one, below
    /// the city); `None` when none was placed or they share none below the city.
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

/// No group, or no message.
const NONE: u32 = u32::MAX;

struct Group {
    /// Summed feature weights of its messages, by feature (single precision and a
    /// sorted list, not a map: the centroids of a window of hundreds of thousands of
    /// messages take most of the grouping's memory; the sums and the length are kept
    /// in double). Empty while the group is the one message that started it (most
    /// groups are): its vector is read from that message's reading when needed.
    centroid: Vec<(u32, f32)>,
    /// The centroid's length, kept as members join and leave.
    norm: f64,
    place: Arc<[String]>,
    /// The site its messages name (a vocabulary number), if any does.
    site: Option<u32>,
    /// Its messages (0: all left, or it was joined into another).
    count: u32,
    /// The slot of the message that started it.
    founder: u32,
}

impl Group {
    /// Whether it is its founder alone, without a centroid of its own.
    fn alone(&self) -> bool {
        self.centroid.is_empty() && self.count == 1
    }

    fn has(&self, w: u32) -> bool {
        self.centroid.binary_search_by_key(&w, |(v, _)| *v).is_ok()
    }

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

    /// Adds weights to the centroid (subtracts, when they are negative: a message
    /// leaving), keeping its length: each weight changes the squared length by
    /// (c + x)^2 - c^2. A large group already holds most of a new member's features,
    /// so most weights are added in place.
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

    /// Whether a message (or group) placed at `place`, naming `site`, can be of this
    /// group: the same region or one inside the other, and not another site.
    fn admits(&self, place: &[String], site: Option<u32>) -> bool {
        let shared = self.place.len().min(place.len());
        self.place[..shared] == place[..shared]
            && (self.site.is_none() || site.is_none() || self.site == site)
    }

    /// Takes the place and site of a new member (or a group joined into it): a group
    /// placed less precisely than a member takes the finer place.
    fn settle(&mut self, place: &Arc<[String]>, site: Option<u32>) {
        if place.len() > self.place.len() {
            self.place = place.clone();
        }
        self.site = self.site.or(site);
    }
}

/// The dot product of two lists of weights sorted by feature.
fn dot(a: &[(u32, f64)], b: &[(u32, f64)]) -> f64 {
    let (mut i, mut j, mut sum) = (0, 0, 0.0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                sum += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    sum
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

    /// Makes room for `new` features numbered after the index was made (rare by then:
    /// they may pick candidates).
    fn learn(&mut self, new: usize) {
        self.rare.extend(std::iter::repeat_n(true, new));
        self.groups_by_feature
            .extend(std::iter::repeat_with(Vec::new).take(new));
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
/// is the one a fresh reading of the same text gives. The three lists are one
/// allocation (a kept list holds hundreds of thousands of readings).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reading {
    /// The features, then the phrases' words two by two, then how often each feature
    /// occurs, four to a number (kept within 255: the weight grows with its log).
    numbers: Box<[u32]>,
    features: u8,
    phrases: u8,
    site: Option<u32>,
}

/// The most features a [`Reading`] keeps.
pub const KEPT_FEATURES: usize = 32;
/// The most phrases a [`Reading`] keeps.
pub const KEPT_PHRASES: usize = 6;

impl Reading {
    fn new(found: &[(u32, u8)], phrases: &[(u32, u32)], site: Option<u32>) -> Self {
        let mut numbers: Vec<u32> = found.iter().map(|(id, _)| *id).collect();
        numbers.extend(phrases.iter().flat_map(|(a, b)| [*a, *b]));
        numbers.extend(found.chunks(4).map(|four| {
            four.iter().enumerate().fold(0, |packed, (i, (_, count))| {
                packed | (u32::from(*count) << (8 * i))
            })
        }));
        Self {
            numbers: numbers.into(),
            features: found.len() as u8,
            phrases: phrases.len() as u8,
            site,
        }
    }

    fn features(&self) -> &[u32] {
        &self.numbers[..usize::from(self.features)]
    }

    fn phrases(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        let start = usize::from(self.features);
        self.numbers[start..start + 2 * usize::from(self.phrases)]
            .chunks(2)
            .map(|pair| (pair[0], pair[1]))
    }

    /// Its features with how often each occurs.
    fn iter(&self) -> impl Iterator<Item = (u32, u8)> + '_ {
        let counts = &self.numbers[usize::from(self.features) + 2 * usize::from(self.phrases)..];
        self.features()
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, (counts[i / 4] >> (8 * (i % 4))) as u8))
    }

    /// Every vocabulary number it holds, for renumbering.
    fn numbers_mut(&mut self) -> impl Iterator<Item = &mut u32> {
        let words = usize::from(self.features) + 2 * usize::from(self.phrases);
        self.numbers[..words].iter_mut().chain(self.site.iter_mut())
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
        let site = said.site.map(|site| self.word(site));
        Reading::new(&found, &phrases, site)
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
/// equals one computed afresh. Weights are those of the messages grouped afresh; a
/// kept grouping's later messages are weighed with them (a word first seen later
/// weighs as a word of one message), so a message leaving takes away exactly what it
/// brought.
struct Window {
    /// The window's number of each vocabulary feature (`NONE`: unused).
    local: Vec<u32>,
    /// The vocabulary's number of each window feature.
    global: Vec<u32>,
    /// How many of the messages grouped afresh use each of their features.
    document_frequency: Vec<u32>,
    idf: Vec<f64>,
    /// Messages grouped afresh.
    total: usize,
}

impl Window {
    fn new<'r>(readings: impl Iterator<Item = &'r Reading>, vocabulary: &Vocabulary) -> Self {
        let mut local = vec![NONE; vocabulary.len()];
        let mut global = Vec::new();
        let mut document_frequency: Vec<u32> = Vec::new();
        let mut total = 0;
        for reading in readings {
            total += 1;
            for id in reading.features() {
                let slot = &mut local[*id as usize];
                if *slot == NONE {
                    *slot = global.len() as u32;
                    global.push(*id);
                    document_frequency.push(0);
                }
                document_frequency[*slot as usize] += 1;
            }
        }
        let messages = total.max(1) as f64;
        let idf = document_frequency
            .iter()
            .map(|df| (messages / f64::from(*df)).ln() + 1.0)
            .collect();
        Self {
            local,
            global,
            document_frequency,
            idf,
            total,
        }
    }

    /// Numbers the features of a message read after the window was weighed; returns
    /// how many are new.
    fn learn(&mut self, reading: &Reading, vocabulary: &Vocabulary) -> usize {
        if self.local.len() < vocabulary.len() {
            self.local.resize(vocabulary.len(), NONE);
        }
        let rare = (self.total.max(1) as f64).ln() + 1.0;
        let mut new = 0;
        for id in reading.features() {
            let slot = &mut self.local[*id as usize];
            if *slot == NONE {
                *slot = self.global.len() as u32;
                self.global.push(*id);
                self.idf.push(rare);
                new += 1;
            }
        }
        new
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

    /// How rare a word is in the window (1 when no grouped message uses it).
    fn idf_of(&self, vocabulary: &Vocabulary, word: &str) -> f64 {
        vocabulary
            .words
            .get(word)
            .and_then(|id| self.local.get(*id as usize))
            .filter(|local| **local != NONE)
            .map_or(1.0, |local| self.idf[*local as usize])
    }
}

/// A message as the grouping reads it: what is known of it and its text's reading.
pub trait Grouped {
    fn facts(&self) -> &Facts;
    fn reading(&self) -> &Reading;
}

impl Grouped for (&Facts, &Reading) {
    fn facts(&self) -> &Facts {
        self.0
    }

    fn reading(&self) -> &Reading {
        self.1
    }
}

/// When a kept grouping is done afresh: once this share of the messages it grouped
/// afresh have come or gone since (a tenth: the words' weights and the order of the
/// first messages have moved little by then; a window of a few hundred messages is
/// grouped afresh nearly every pass, which costs little).
pub const REGROUP_SHARE: f64 = 0.1;

/// The messages of a window (and the one before it) in groups, kept between passes:
/// [`Grouping::new`] groups them afresh, [`Grouping::add`] assigns messages that came
/// since to the groups as they stand (found through the index of groups by feature,
/// compared with the few that share the most), [`Grouping::remove`] takes a message
/// out (gone from the window, or its text changed). A kept grouping's list can differ
/// from a fresh one (messages that came later did not shape the groups the earlier
/// ones chose); it is grouped afresh when [`Grouping::stale`] says so.
///
/// Messages are numbered by slot: the index of a list the caller keeps (`None`: a free
/// slot), passed to each call.
pub struct Grouping {
    window: Window,
    candidates: Candidates,
    groups: Vec<Group>,
    /// Per group: the group it was joined into (itself while it stands).
    into: Vec<u32>,
    /// Per slot: the group its message joined first (`NONE`: not grouped).
    group_of: Vec<u32>,
    similarity: f64,
    /// Messages come and gone since it was grouped afresh.
    changed: usize,
}

impl Grouping {
    /// Groups afresh the messages of the window ending at `to` and the one before it,
    /// each joining the group it is most like, in time order; then joins groups alike.
    /// The others are not grouped.
    pub fn new<M: Grouped>(
        messages: &[Option<M>],
        vocabulary: &Vocabulary,
        to: Timestamp,
        rules: &HotspotRules,
    ) -> Self {
        let before = to - rules.window - rules.window;
        let mut chosen: Vec<u32> = messages
            .iter()
            .enumerate()
            .filter(|(_, m)| {
                m.as_ref()
                    .is_some_and(|m| before <= m.facts().at && m.facts().at < to)
            })
            .map(|(slot, _)| slot as u32)
            .collect();
        in_time_order(&mut chosen, messages);
        let window = Window::new(
            chosen.iter().map(|s| message(messages, *s).reading()),
            vocabulary,
        );
        let candidates = Candidates::new(&window.document_frequency, chosen.len());
        let mut grouping = Self {
            window,
            candidates,
            groups: Vec::new(),
            into: Vec::new(),
            group_of: vec![NONE; messages.len()],
            similarity: rules.similarity,
            changed: 0,
        };
        let grown = grouping.assign(messages, &chosen);
        grouping.merge_alike(messages, grown);
        grouping
    }

    /// Whether so many messages came or went since it was grouped afresh (with
    /// `coming` more) that it should be grouped afresh ([`REGROUP_SHARE`]).
    pub fn stale(&self, coming: usize) -> bool {
        (self.changed + coming) as f64 > REGROUP_SHARE * self.window.total as f64
    }

    /// Assigns the messages of these slots (not grouped yet: new, or read again) to
    /// the groups as they stand, in time order; then joins the groups they grew to
    /// groups now alike.
    pub fn add<M: Grouped>(
        &mut self,
        messages: &[Option<M>],
        slots: &[u32],
        vocabulary: &Vocabulary,
    ) {
        if self.group_of.len() < messages.len() {
            self.group_of.resize(messages.len(), NONE);
        }
        let mut slots: Vec<u32> = slots
            .iter()
            .copied()
            .filter(|s| messages[*s as usize].is_some() && self.group_of[*s as usize] == NONE)
            .collect();
        slots.sort_unstable();
        slots.dedup();
        in_time_order(&mut slots, messages);
        for slot in &slots {
            let new = self
                .window
                .learn(message(messages, *slot).reading(), vocabulary);
            self.candidates.learn(new);
        }
        self.changed += slots.len();
        let grown = self.assign(messages, &slots);
        self.merge_alike(messages, grown);
    }

    /// Takes the message of this slot out of its group (before the slot is emptied or
    /// given another reading); nothing if it is not grouped.
    pub fn remove<M: Grouped>(&mut self, messages: &[Option<M>], slot: u32) {
        let Some(first) = self.group_of.get(slot as usize).copied() else {
            return;
        };
        if first == NONE {
            return;
        }
        self.group_of[slot as usize] = NONE;
        self.changed += 1;
        let g = self.root(first);
        if !self.groups[g].alone() {
            let vector = self.window.vector(message(messages, slot).reading());
            self.groups[g].absorb(vector.into_iter().map(|(w, x)| (w, -x)));
        }
        let group = &mut self.groups[g];
        group.count -= 1;
        if group.count == 0 {
            group.centroid = Vec::new();
            group.norm = 0.0;
        }
    }

    /// The group a group was joined into (itself while it stands).
    fn root(&self, g: u32) -> usize {
        root(&self.into, g)
    }

    /// A group's summed weights (its founder's vector while it is alone) and length.
    fn weights<M: Grouped>(&self, messages: &[Option<M>], g: usize) -> (Vector, f64) {
        let group = &self.groups[g];
        if group.alone() {
            let vector = self
                .window
                .vector(message(messages, group.founder).reading());
            let norm = if vector.is_empty() { 0.0 } else { 1.0 };
            return (vector, norm);
        }
        let weights = group.centroid.iter().map(|(w, x)| (*w, f64::from(*x)));
        (weights.collect(), group.norm)
    }

    /// The cosine of a message's vector with a group.
    fn cosine<M: Grouped>(&self, messages: &[Option<M>], g: usize, vector: &Vector) -> f64 {
        let group = &self.groups[g];
        if group.alone() {
            // Both of length 1 (or empty).
            let founder = self
                .window
                .vector(message(messages, group.founder).reading());
            return dot(vector, &founder);
        }
        group.cosine(vector)
    }

    /// The cosine of two groups' weights.
    fn likeness<M: Grouped>(&self, messages: &[Option<M>], a: usize, b: usize) -> f64 {
        let (a, a_norm) = self.weights(messages, a);
        let (b, b_norm) = self.weights(messages, b);
        if a_norm == 0.0 || b_norm == 0.0 {
            return 0.0;
        }
        dot(&a, &b) / (a_norm * b_norm)
    }

    /// Each message of `slots` (in time order) joins the group it is most like, or
    /// starts one. Returns the groups that grew, in order.
    fn assign<M: Grouped>(&mut self, messages: &[Option<M>], slots: &[u32]) -> Vec<u32> {
        let mut grown = Vec::new();
        for slot in slots {
            let m = message(messages, *slot);
            let (place, site) = (&m.facts().place, m.reading().site);
            let vector = self.window.vector(m.reading());
            let (groups, into) = (&self.groups, &self.into);
            let found = self.candidates.best(vector.iter().copied(), |g| {
                let g = root(into, g as u32);
                (groups[g].count > 0).then_some(g)
            });
            let best = found
                .into_iter()
                .filter(|g| self.groups[*g].admits(place, site))
                .map(|g| (g, self.cosine(messages, g, &vector)))
                .filter(|(_, cosine)| *cosine >= self.similarity)
                .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
            let g = match best {
                Some((g, _)) => {
                    if self.groups[g].alone() {
                        let (founder, _) = self.weights(messages, g);
                        self.groups[g].absorb(founder);
                    }
                    let group = &self.groups[g];
                    let new: Vec<u32> = vector
                        .iter()
                        .map(|(w, _)| *w)
                        .filter(|w| !group.has(*w))
                        .collect();
                    self.candidates.index(g, new);
                    let group = &mut self.groups[g];
                    group.absorb(vector.iter().copied());
                    group.count += 1;
                    group.settle(place, site);
                    grown.push(g as u32);
                    g
                }
                None => {
                    let g = self.groups.len();
                    self.groups.push(Group {
                        centroid: Vec::new(),
                        norm: 0.0,
                        place: place.clone(),
                        site,
                        count: 1,
                        founder: *slot,
                    });
                    self.into.push(g as u32);
                    self.candidates.index(g, vector.iter().map(|(w, _)| *w));
                    g
                }
            };
            self.group_of[*slot as usize] = g as u32;
        }
        grown.sort_unstable();
        grown.dedup();
        grown
    }

    /// Joins groups alike in meaning and compatible in place (a group that started
    /// before the words of its topic settled), until none are: the order messages came
    /// in then matters less. `examine`: the groups of more than one message that grew.
    fn merge_alike<M: Grouped>(&mut self, messages: &[Option<M>], mut examine: Vec<u32>) {
        // The first round looks at the groups given, later rounds only at the groups
        // that grew: pairs that did not change were already found unlike. Each looks
        // from its own side (a large group shares some weight with many; a small one
        // finds the few it is about). Two single messages were already compared when
        // the later one came.
        while !examine.is_empty() {
            let mut grew = Vec::new();
            for g in examine {
                let g = g as usize;
                if self.into[g] as usize != g || self.groups[g].count < 2 {
                    continue;
                }
                let (weights, _) = self.weights(messages, g);
                let (groups, into) = (&self.groups, &self.into);
                let others = self.candidates.best(weights, |o| {
                    let o = root(into, o as u32);
                    (o != g && groups[o].count > 0).then_some(o)
                });
                let mut absorbed = false;
                for o in others {
                    if self.into[o] as usize != o
                        || !self.groups[g].admits(&self.groups[o].place, self.groups[o].site)
                        || self.likeness(messages, g, o) < self.similarity
                    {
                        continue;
                    }
                    let (taken, _) = self.weights(messages, o);
                    let other = &mut self.groups[o];
                    let (count, place, site) = (other.count, other.place.clone(), other.site);
                    other.count = 0;
                    other.centroid = Vec::new();
                    other.norm = 0.0;
                    let group = &mut self.groups[g];
                    group.absorb(taken);
                    group.count += count;
                    group.settle(&place, site);
                    self.into[o] = g as u32;
                    absorbed = true;
                }
                if absorbed {
                    grew.push(g as u32);
                }
            }
            examine = grew;
        }
        // Each group points at the one it stands in, so later lookups take one step.
        for g in 0..self.into.len() {
            self.into[g] = self.root(g as u32) as u32;
        }
    }

    /// The hotspots of the window ending at `to`, hottest first, from the groups as
    /// they stand (messages of the window before count as `previous`).
    pub fn hotspots<M: Grouped>(
        &self,
        messages: &[Option<M>],
        vocabulary: &Vocabulary,
        to: Timestamp,
        rules: &HotspotRules,
    ) -> Vec<Hotspot> {
        let from = to - rules.window;
        let before = from - rules.window;
        let group = |slot: usize, m: &M| {
            let first = *self.group_of.get(slot)?;
            (first != NONE && before <= m.facts().at && m.facts().at < to).then(|| self.root(first))
        };
        let mut now = vec![0u32; self.groups.len()];
        for (slot, m) in messages.iter().enumerate() {
            if let Some(m) = m
                && let Some(g) = group(slot, m)
                && m.facts().at >= from
            {
                now[g] += 1;
            }
        }
        let mut members: FxHashMap<usize, Vec<u32>> = FxHashMap::default();
        for (slot, m) in messages.iter().enumerate() {
            if let Some(m) = m
                && let Some(g) = group(slot, m)
                && now[g] as usize >= rules.min_count
            {
                members.entry(g).or_default().push(slot as u32);
            }
        }
        let mut members: Vec<(usize, Vec<u32>)> = members.into_iter().collect();
        members.sort_unstable_by_key(|(g, _)| *g);
        let window = &self.window;
        let mut found: Vec<Hotspot> = members
            .into_iter()
            .map(|(_, mut slots)| {
                in_time_order(&mut slots, messages);
                let (now, earlier): (Vec<&M>, Vec<&M>) = slots
                    .iter()
                    .map(|s| message(messages, *s))
                    .partition(|m| m.facts().at >= from);
                // Words name it; character pairs do not.
                let mut weights: FxHashMap<&str, f64> = FxHashMap::default();
                for m in &now {
                    for (w, x) in window.vector(m.reading()) {
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
                let readings: Vec<&Reading> = now.iter().map(|m| m.reading()).collect();
                let idf = |word: &str| window.idf_of(vocabulary, word);
                let name = name(&readings, vocabulary, &heaviest, &idf);
                let now: Vec<&Facts> = now.iter().map(|m| m.facts()).collect();
                let earlier: Vec<&Facts> = earlier.iter().map(|m| m.facts()).collect();
                Hotspot::of(name, words, &now, &earlier)
            })
            .collect();
        rank(&mut found);
        found
    }
}

/// The group `g` was joined into (itself while it stands), from the joins' list.
fn root(into: &[u32], mut g: u32) -> usize {
    while into[g as usize] != g {
        g = into[g as usize];
    }
    g as usize
}

/// The message of a slot the grouping was given (a grouped slot is never empty).
fn message<M>(messages: &[Option<M>], slot: u32) -> &M {
    messages[slot as usize]
        .as_ref()
        .expect("a grouped slot holds its message")
}

/// Sorts slots by their messages' time, then id.
fn in_time_order<M: Grouped>(slots: &mut [u32], messages: &[Option<M>]) {
    slots.sort_by(|a, b| {
        let (a, b) = (message(messages, *a).facts(), message(messages, *b).facts());
        (a.at, &a.id).cmp(&(b.at, &b.id))
    });
}

/// The hotspots of messages already read (by `vocabulary`) in the window ending at
/// `to`, hottest first: what [`hotspots`] does after reading, and what a list kept
/// between passes does when it groups afresh. Messages outside the window and the one
/// before it are ignored.
pub fn group(
    messages: &[(&Facts, &Reading)],
    vocabulary: &Vocabulary,
    to: Timestamp,
    rules: &HotspotRules,
) -> Vec<Hotspot> {
    let slots: Vec<Option<(&Facts, &Reading)>> = messages.iter().copied().map(Some).collect();
    Grouping::new(&slots, vocabulary, to, rules).hotspots(&slots, vocabulary, to, rules)
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
        for (a, b) in reading.phrases() {
            *phrases.entry((word(a), word(b))).or_default() += 1;
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
            // The first of every place is its city: a hotspot is placed below it, never
            // at the city itself (city-wide messages, or messages of several districts,
            // share no place).
            shared
                .checked_sub(1)
                .filter(|&last| last > 0)
                .map(|last| first[last].clone())
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

    #[test]
    fn a_hotspot_is_placed_below_the_city_or_not_at_all() {
        let place_of = |places: &[&[&str]]| {
            let messages: Vec<Facts> = places
                .iter()
                .enumerate()
                .map(|(i, place)| {
                    message(&i.to_string(), "2026-11-01T02:00:00Z", place, "c", "").facts()
                })
                .collect();
            let now: Vec<&Facts> = messages.iter().collect();
            Hotspot::of(String::new(), Vec::new(), &now, &[]).place
        };
        assert_eq!(place_of(&[ESTATE, STREET]).as_deref(), Some("A5-01"));
        // Unplaced messages do not count against the others' place.
        assert_eq!(place_of(&[ESTATE, &[]]).as_deref(), Some("A5-01-03"));
        // City-wide messages (placed at the city itself), alone or with placed ones, and
        // messages of two districts: the city is no hotspot's place.
        assert_eq!(place_of(&[&["A"], &["A"]]), None);
        assert_eq!(place_of(&[ESTATE, &["A"]]), None);
        assert_eq!(place_of(&[ESTATE, ELSEWHERE]), None);
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
    fn a_kept_grouping_takes_messages_that_come_and_go_as_a_fresh_one_groups_them() {
        let to = at("2026-11-23T00:00:00Z");
        let rules = HotspotRules::default();
        let messages = fixture();
        let mut vocabulary = Vocabulary::default();
        let texts: Vec<&str> = messages.iter().map(|m| m.text.as_str()).collect();
        let readings = vocabulary.read(&Lexicon::default(), &texts);
        let facts: Vec<Facts> = messages.iter().map(Message::facts).collect();
        let all: Vec<Option<(&Facts, &Reading)>> = facts.iter().zip(&readings).map(Some).collect();
        let slot = |id: &str| facts.iter().position(|f| f.id == id).unwrap() as u32;
        let members = |list: &[Hotspot]| -> Vec<(Vec<String>, Vec<String>)> {
            list.iter()
                .map(|h| (h.messages.clone(), h.earlier.clone()))
                .collect()
        };

        // The last messages of both hotspots come after the grouping was made.
        let late = [slot("n4"), slot("n5"), slot("n8")];
        let mut early_slots = all.clone();
        for s in late {
            early_slots[s as usize] = None;
        }
        let mut grouping = Grouping::new(&early_slots, &vocabulary, to, &rules);
        let early = grouping.hotspots(&early_slots, &vocabulary, to, &rules);
        assert_eq!(members(&early)[0].0, ["n1", "n2", "n3"], "{early:#?}");
        assert!(!grouping.stale(1));

        grouping.add(&all, &late, &vocabulary);
        let kept = grouping.hotspots(&all, &vocabulary, to, &rules);
        let pairs: Vec<(&Facts, &Reading)> = all.iter().flatten().copied().collect();
        let fresh = group(&pairs, &vocabulary, to, &rules);
        assert_eq!(members(&kept), members(&fresh));
        assert_eq!(members(&kept)[0].0, ["n1", "n2", "n3", "n4", "n5"]);
        // Three of the twelve grouped afresh came since: more than a tenth.
        assert!(grouping.stale(0));

        // Messages leaving take away what they brought: the list before they came.
        for s in late {
            grouping.remove(&all, s);
        }
        assert_eq!(
            grouping.hotspots(&early_slots, &vocabulary, to, &rules),
            early
        );
        // Grouped afresh, a kept grouping gives the fresh list itself.
        let regrouped = Grouping::new(&all, &vocabulary, to, &rules);
        assert_eq!(regrouped.hotspots(&all, &vocabulary, to, &rules), fresh);
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
        assert_eq!(reading.features().len(), KEPT_FEATURES);
        assert!(reading.phrases().count() <= KEPT_PHRASES);
        // The words it repeats are among those kept, with how often they occur.
        assert!(reading.iter().any(|(_, count)| count >= 40), "{reading:?}");
        let kept: Vec<&str> = reading
            .features()
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
