//! The hotspot list (热点榜): what many people are raising about one thing in one place
//! right now, found by grouping recent messages that say the same thing.
//!
//! Messages of the window and of the window before it are read in time order; each
//! joins the group it is most like, or starts one. "Alike" is measured two ways:
//!
//! - **meaning**: the cosine of TF-IDF weighted words (minhu-text's jieba segmenter with
//!   the hotline dictionary and the city's place names) and Chinese character pairs,
//!   against the group's summed features, at least [`HotspotRules::similarity`]. Words most messages share (问题, 反映)
//!   weigh little; names of estates, sites and firms weigh much;
//! - **the same report**: minhu-text's duplicate test (Jaccard of character pairs at least
//!   [`DUPLICATE`], as for 并单 candidates) against the group's first message;
//!
//! and only within one **place**: a message placed in a region joins a group whose place
//! is that region, one inside it or one containing it (unplaced messages join by meaning
//! alone). A group is named by its heaviest words and its place.
//!
//! **Heat** (热度), for the groups with at least [`HotspotRules::min_count`] messages in
//! the window:
//!
//! ```text
//! people = distinct citizens + 0.5 x (messages - distinct citizens)
//! growth = (messages - messages in the window before) / max(messages before, 1),
//!          kept within [-1, 2]
//! heat   = people x (1 + 0.5 x growth) + 2 x ln(1 + likes)
//! ```
//!
//! so many different people count more than one person calling again, a rising topic
//! up to twice as much as a steady one (a fading one half), and likes (channels that
//! have them, such as a message board) add a little, on a log scale. Messages without a
//! known citizen each count as a person.

use jiff::{SignedDuration, Timestamp};
use minhu_text::Segmenter;
use minhu_text::normalize::{is_cjk, normalize};
use minhu_text::similarity::{jaccard, shingles};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// Jaccard similarity of character pairs above which two texts report the same event
/// (the duplicate test of 并单 candidates).
pub const DUPLICATE: f32 = 0.35;

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
            similarity: 0.3,
            min_count: 2,
            key_words: 4,
        }
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
}

/// One hotspot: a named group of messages of the window, with its heat.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Hotspot {
    /// 1 for the hottest.
    pub rank: usize,
    pub heat: f64,
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
    pub first_at: Timestamp,
    pub last_at: Timestamp,
    /// The window's message ids, oldest first.
    pub messages: Vec<String>,
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

/// Marks a character pair among the features (words are the others): pairs catch names
/// the segmenter does not know (丽发新城 cut as 丽/发/新城) but never name a hotspot.
const PAIR: char = '\u{1}';

/// A message's features (words and character pairs) with their weights, scaled to
/// length 1.
type Vector = HashMap<u32, f64>;

struct Group {
    /// Summed word weights of its messages.
    centroid: Vector,
    norm: f64,
    /// The first message's character pairs, for the duplicate test.
    leader: HashSet<String>,
    place: Vec<String>,
    members: Vec<usize>,
}

impl Group {
    fn cosine(&self, vector: &Vector) -> f64 {
        if self.norm == 0.0 {
            return 0.0;
        }
        let dot: f64 = vector
            .iter()
            .map(|(w, x)| x * self.centroid.get(w).copied().unwrap_or(0.0))
            .sum();
        dot / self.norm
    }

    fn add(&mut self, at: usize, vector: &Vector) {
        for (w, x) in vector {
            *self.centroid.entry(*w).or_default() += x;
        }
        self.norm = self.centroid.values().map(|x| x * x).sum::<f64>().sqrt();
        self.members.push(at);
    }
}

/// Whether two places can be one: the same region, or one inside the other.
fn compatible(a: &[String], b: &[String]) -> bool {
    let shared = a.len().min(b.len());
    a[..shared] == b[..shared]
}

fn useful(word: &str) -> bool {
    word.chars().count() >= 2
        && !word.chars().all(|c| c.is_ascii_digit())
        && !STOP_WORDS.contains(&word)
}

/// The hotspots of the window ending at `to`, hottest first. Messages outside the
/// window and the one before it are ignored.
pub fn hotspots(
    messages: &[Message],
    to: Timestamp,
    rules: &HotspotRules,
    segmenter: &Segmenter,
) -> Vec<Hotspot> {
    let from = to - rules.window;
    let before = from - rules.window;
    let mut chosen: Vec<&Message> = messages
        .iter()
        .filter(|m| before <= m.at && m.at < to)
        .collect();
    chosen.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));

    // Words and how many messages use each.
    let mut ids: HashMap<String, u32> = HashMap::new();
    let mut names: Vec<String> = Vec::new();
    let mut document_frequency: Vec<u32> = Vec::new();
    let words: Vec<HashMap<u32, u32>> = chosen
        .iter()
        .map(|m| {
            let text = normalize(&m.text);
            let mut counts: HashMap<u32, u32> = HashMap::new();
            let chinese: Vec<char> = text.chars().filter(|c| is_cjk(*c)).collect();
            let pairs = chinese.windows(2).map(|pair| {
                let mut feature = String::from(PAIR);
                feature.extend(pair);
                feature
            });
            let words = segmenter.words(&text).into_iter().filter(|w| useful(w));
            for feature in words.map(str::to_owned).chain(pairs) {
                let id = match ids.get(&feature) {
                    Some(id) => *id,
                    None => {
                        names.push(feature.clone());
                        document_frequency.push(0);
                        ids.insert(feature, names.len() as u32 - 1);
                        names.len() as u32 - 1
                    }
                };
                *counts.entry(id).or_default() += 1;
            }
            for id in counts.keys() {
                document_frequency[*id as usize] += 1;
            }
            counts
        })
        .collect();
    let total = chosen.len().max(1) as f64;
    let vectors: Vec<Vector> = words
        .iter()
        .map(|counts| {
            let mut vector: Vector = counts
                .iter()
                .map(|(id, tf)| {
                    let idf = (total / f64::from(document_frequency[*id as usize])).ln() + 1.0;
                    (*id, (1.0 + f64::from(*tf).ln()) * idf)
                })
                .collect();
            let norm = vector.values().map(|x| x * x).sum::<f64>().sqrt();
            if norm > 0.0 {
                vector.values_mut().for_each(|x| *x /= norm);
            }
            vector
        })
        .collect();

    // Each message joins the group it is most like, in time order.
    let mut groups: Vec<Group> = Vec::new();
    let mut by_word: HashMap<u32, Vec<usize>> = HashMap::new();
    for (at, message) in chosen.iter().enumerate() {
        let vector = &vectors[at];
        let pairs = shingles(&message.text);
        let mut candidates: Vec<usize> = vector
            .keys()
            .filter_map(|w| by_word.get(w))
            .flatten()
            .copied()
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        let best = candidates
            .into_iter()
            .filter(|g| compatible(&groups[*g].place, &message.place))
            .map(|g| {
                let group = &groups[g];
                let cosine = group.cosine(vector);
                let same_report = jaccard(&group.leader, &pairs) >= DUPLICATE;
                (g, if same_report { cosine.max(1.0) } else { cosine })
            })
            .filter(|(_, score)| *score >= rules.similarity)
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
        let g = match best {
            Some((g, _)) => g,
            None => {
                groups.push(Group {
                    centroid: Vector::new(),
                    norm: 0.0,
                    leader: pairs,
                    place: message.place.clone(),
                    members: Vec::new(),
                });
                groups.len() - 1
            }
        };
        for w in vector.keys() {
            if !groups[g].centroid.contains_key(w) {
                by_word.entry(*w).or_default().push(g);
            }
        }
        groups[g].add(at, vector);
        // A group placed less precisely than a new member takes the finer place.
        if message.place.len() > groups[g].place.len() {
            groups[g].place = message.place.clone();
        }
    }
    let groups = merge_alike(groups, &by_word, rules.similarity);

    let mut found: Vec<Hotspot> = groups
        .iter()
        .filter_map(|group| {
            let (now, earlier): (Vec<usize>, Vec<usize>) =
                group.members.iter().partition(|at| chosen[**at].at >= from);
            if now.len() < rules.min_count {
                return None;
            }
            Some(describe(
                &now,
                earlier.len(),
                &chosen,
                &vectors,
                &names,
                rules,
            ))
        })
        .collect();
    found.sort_by(|a, b| b.heat.total_cmp(&a.heat).then(a.first_at.cmp(&b.first_at)));
    for (i, hotspot) in found.iter_mut().enumerate() {
        hotspot.rank = i + 1;
    }
    found
}

/// Joins groups whose summed features are alike (a group that started before the
/// words of its topic settled), until none are: the order messages came in then matters
/// less. Members stay in time order.
fn merge_alike(
    mut groups: Vec<Group>,
    by_word: &HashMap<u32, Vec<usize>>,
    similarity: f64,
) -> Vec<Group> {
    let mut into: Vec<usize> = (0..groups.len()).collect();
    let root = |into: &Vec<usize>, mut g: usize| {
        while into[g] != g {
            g = into[g];
        }
        g
    };
    loop {
        let mut merged = false;
        for g in 0..groups.len() {
            if into[g] != g {
                continue;
            }
            let mut others: Vec<usize> = groups[g]
                .centroid
                .keys()
                .filter_map(|w| by_word.get(w))
                .flatten()
                .map(|o| root(&into, *o))
                .filter(|o| *o > g)
                .collect();
            others.sort_unstable();
            others.dedup();
            for o in others {
                let (a, b) = (&groups[g], &groups[o]);
                if a.norm == 0.0 || b.norm == 0.0 || !compatible(&a.place, &b.place) {
                    continue;
                }
                let dot: f64 = b
                    .centroid
                    .iter()
                    .map(|(w, x)| x * a.centroid.get(w).copied().unwrap_or(0.0))
                    .sum();
                if dot / (a.norm * b.norm) >= similarity {
                    let taken = std::mem::take(&mut groups[o].members);
                    let centroid = std::mem::take(&mut groups[o].centroid);
                    let place = std::mem::take(&mut groups[o].place);
                    let group = &mut groups[g];
                    for (w, x) in centroid {
                        *group.centroid.entry(w).or_default() += x;
                    }
                    group.norm = group.centroid.values().map(|x| x * x).sum::<f64>().sqrt();
                    group.members.extend(taken);
                    group.members.sort_unstable();
                    if place.len() > group.place.len() {
                        group.place = place;
                    }
                    groups[o].norm = 0.0;
                    into[o] = g;
                    merged = true;
                }
            }
        }
        if !merged {
            break;
        }
    }
    groups
        .into_iter()
        .enumerate()
        .filter(|(g, _)| into[*g] == *g)
        .map(|(_, group)| group)
        .collect()
}

fn describe(
    now: &[usize],
    previous: usize,
    chosen: &[&Message],
    vectors: &[Vector],
    names: &[String],
    rules: &HotspotRules,
) -> Hotspot {
    let members: Vec<&Message> = now.iter().map(|at| chosen[*at]).collect();
    let mut weights: HashMap<u32, f64> = HashMap::new();
    for at in now {
        for (w, x) in &vectors[*at] {
            *weights.entry(*w).or_default() += x;
        }
    }
    let mut heaviest: Vec<(u32, f64)> = weights.into_iter().collect();
    heaviest.sort_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then(names[a.0 as usize].cmp(&names[b.0 as usize]))
    });
    let words = heaviest
        .iter()
        .filter(|(w, _)| !names[*w as usize].starts_with(PAIR))
        .take(rules.key_words)
        .map(|(w, _)| names[*w as usize].clone())
        .collect();
    let placed: Vec<&Vec<String>> = members
        .iter()
        .map(|m| &m.place)
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
    let count = members.len();
    let mut people: HashSet<&str> = HashSet::new();
    let mut unknown = 0;
    for m in &members {
        match &m.citizen {
            Some(c) => {
                people.insert(c);
            }
            None => unknown += 1,
        }
    }
    let citizens = people.len() + unknown;
    let liked: Vec<u64> = members
        .iter()
        .filter_map(|m| m.likes.map(u64::from))
        .collect();
    let likes = (!liked.is_empty()).then(|| liked.iter().sum());
    let growth = ((count as f64 - previous as f64) / previous.max(1) as f64).clamp(-1.0, 2.0);
    let heat = heat(count, citizens, growth, likes.unwrap_or(0));
    Hotspot {
        rank: 0,
        heat,
        words,
        place,
        count,
        previous,
        growth,
        citizens,
        likes,
        open: members.iter().filter(|m| m.open).count(),
        first_at: members.first().map_or(Timestamp::UNIX_EPOCH, |m| m.at),
        last_at: members.last().map_or(Timestamp::UNIX_EPOCH, |m| m.at),
        messages: members.iter().map(|m| m.id.clone()).collect(),
    }
}

/// The documented heat score (see the module's docs).
pub fn heat(count: usize, citizens: usize, growth: f64, likes: u64) -> f64 {
    let people = citizens as f64 + 0.5 * (count.saturating_sub(citizens)) as f64;
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
        let segmenter = Segmenter::default();
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
            &Segmenter::default(),
        );
        let fumes = found.iter().find(|h| h.messages[0] == "n1").unwrap();
        assert_eq!((fumes.citizens, fumes.likes), (1, Some(50)));
    }

    #[test]
    fn a_single_message_or_an_empty_window_is_no_hotspot() {
        let rules = HotspotRules::default();
        let segmenter = Segmenter::default();
        assert!(hotspots(&[], at("2026-11-23T00:00:00Z"), &rules, &segmenter).is_empty());
        let found = hotspots(&fixture(), at("2026-11-30T00:00:00Z"), &rules, &segmenter);
        // The window before still holds everything; the window itself is empty.
        assert!(found.is_empty(), "{found:#?}");
    }
}
