//! Reading a demand below its first level: which second- and third-level category
//! (二级/三级分类) its words point to, inside a first level the classifier chose.
//!
//! Two kinds of cue, each a word found in the text with a weight:
//! - the taxonomy's own words: a category's name (物业服务) and the pairs of characters
//!   in it (物业, 服务), a pair weighing less the more category names share it, so 噪音
//!   speaks for 噪音污染 and 污染 hardly at all;
//! - the city's keyword rules (`[[rule]]` in `categories.toml`), words its dispatchers
//!   know point to a category (电梯, 物业费 ... for 物业服务).
//!
//! Each level is read among the children of the level above: a child scores the weights
//! of the distinct cues found for it and for the categories below it, and its confidence
//! is `best / (best + runner-up + 1)`, so one weak cue, or two children with the same
//! evidence, never make a sure reading. A level is taken only at or above the city's
//! confidence for it (`[confidence]`), and the reading stops at the first level that is
//! not: no level is guessed below what the city set.
//!
//! Place names are not meaning: the place words the gazetteer finds in the text
//! ([`crate::place::Reading::spans`]: regions, estates, roads ... other cities) are cut
//! out before cues are looked for, so a village called 新农村 never reads as 新农村建设,
//! and no reason shown is a place ([`is_place_word`]).

use crate::place::Gazetteer;
use crate::region::{ConfigProblem, RegionTree};
use crate::taxonomy::{CategoryPath, Taxonomy};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::ops::Range;

/// A city's keyword rule: words that point to one category below the first level.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WordRule {
    pub category: CategoryPath,
    pub words: Vec<String>,
    /// How much one of these words counts (a category name counts 1).
    #[serde(default = "one")]
    pub weight: f32,
}

fn one() -> f32 {
    1.0
}

/// Below these confidences (0 to 1) routing takes nothing automatically: a level of the
/// category, or a unit learned from handled tickets (`[confidence]`).
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Confidence {
    /// The classifier's first level.
    #[serde(default = "Confidence::default_first")]
    pub first: f32,
    #[serde(default = "Confidence::default_lower")]
    pub second: f32,
    #[serde(default = "Confidence::default_lower")]
    pub third: f32,
    /// The unit read from the words when the category is not sure (the post of the
    /// units that handled demands like it, at the demand's place).
    #[serde(default = "Confidence::default_unit")]
    pub unit: f32,
}

impl Confidence {
    fn default_first() -> f32 {
        0.8
    }

    fn default_lower() -> f32 {
        0.5
    }

    fn default_unit() -> f32 {
        0.9
    }

    /// The confidence a category of `depth` levels needs.
    pub fn at(&self, depth: usize) -> f32 {
        match depth {
            0 | 1 => self.first,
            2 => self.second,
            _ => self.third,
        }
    }
}

impl Default for Confidence {
    fn default() -> Self {
        Self {
            first: Self::default_first(),
            second: Self::default_lower(),
            third: Self::default_lower(),
            unit: Self::default_unit(),
        }
    }
}

/// One level read below a category: the child taken, how sure, and the words behind it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LevelReading {
    pub category: CategoryPath,
    pub confidence: f32,
    pub words: Vec<String>,
    /// The handled tickets like this one that voted for it, when they read it
    /// ("#12 城乡建设/…/电梯, unit …"); empty when the city's words read it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub neighbours: Vec<String>,
}

/// The deepest category `readings` (level by level below `start`) reached; `start`
/// when they read no level.
pub fn deepest(readings: &[LevelReading], start: &CategoryPath) -> CategoryPath {
    readings
        .last()
        .map_or_else(|| start.clone(), |reading| reading.category.clone())
}

/// A category name's pairs of characters count this much over the number of category
/// names that hold the pair (the whole name counts 1).
const PAIR_WEIGHT: f32 = 1.0;
/// Evidence nobody has: what the runner-up's score is compared with besides the best's.
const PRIOR: f32 = 1.0;
/// The most words a reading shows.
const SHOWN: usize = 5;

#[derive(Clone, Debug, Default)]
pub struct CategoryReader {
    confidence: Confidence,
    /// Every category below the first level, parents before children.
    nodes: Vec<CategoryPath>,
    /// A cue's text -> the categories it points to, with its weight for each.
    cues: HashMap<String, Vec<(usize, f32)>>,
    /// The lengths of the cues, in characters, ascending, each once.
    lengths: Vec<usize>,
}

impl CategoryReader {
    /// The reader of `taxonomy`'s words and the city's `rules`; a problem names the rule
    /// (a rule's word may not hold a place the gazetteer knows).
    pub fn new(
        rules: Vec<WordRule>,
        confidence: Confidence,
        taxonomy: &Taxonomy,
        places: &Gazetteer,
        regions: &RegionTree,
    ) -> Result<Self, ConfigProblem> {
        for (field, value) in [
            ("first", confidence.first),
            ("second", confidence.second),
            ("third", confidence.third),
            ("unit", confidence.unit),
        ] {
            if !(value > 0.0 && value <= 1.0) {
                return Err(ConfigProblem::new(
                    0,
                    "confidence",
                    format!("{field} = {value}: a confidence is above 0 and at most 1"),
                ));
            }
        }
        let nodes: Vec<CategoryPath> = taxonomy
            .paths()
            .filter(|p| p.as_str().contains('/'))
            .cloned()
            .collect();
        let mut reader = CategoryReader {
            confidence,
            nodes,
            ..Self::default()
        };
        reader.add_taxonomy_words(taxonomy);
        for (index, rule) in rules.iter().enumerate() {
            reader.add_rule(index, rule, &|word| {
                let reading = places.read(regions, word);
                let found = reading.spans.first()?;
                Some(word[found.clone()].to_owned())
            })?;
        }
        reader.lengths = lengths_of(reader.cues.keys());
        Ok(reader)
    }

    pub fn confidence(&self) -> Confidence {
        self.confidence
    }

    /// Each category's own name, and its pairs of characters weighted by how many of
    /// the taxonomy's names (every level) share them. 其他 (other) has no words.
    fn add_taxonomy_words(&mut self, taxonomy: &Taxonomy) {
        let own = |path: &CategoryPath| path.levels().last().unwrap_or_default().to_owned();
        let mut names: Vec<String> = taxonomy.paths().map(own).collect();
        names.sort();
        names.dedup();
        let mut holders: HashMap<String, usize> = HashMap::new();
        for name in &names {
            let mut pairs = pairs(name);
            pairs.sort();
            pairs.dedup();
            for pair in pairs {
                *holders.entry(pair).or_default() += 1;
            }
        }
        for index in 0..self.nodes.len() {
            let name = own(&self.nodes[index]);
            if name == "其他" {
                continue;
            }
            for pair in pairs(&name) {
                let weight = PAIR_WEIGHT / holders[&pair] as f32;
                self.add_cue(pair, index, weight);
            }
            self.add_cue(name, index, 1.0);
        }
    }

    /// `place_in(word)`: the place name a word holds, if any.
    fn add_rule(
        &mut self,
        index: usize,
        rule: &WordRule,
        place_in: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigProblem> {
        let problem = |field, message: String| Err(ConfigProblem::new(index, field, message));
        let Some(node) = self.nodes.iter().position(|n| *n == rule.category) else {
            return if rule.category.as_str().contains('/') {
                problem(
                    "category",
                    format!("{} is not in the taxonomy", rule.category),
                )
            } else {
                problem(
                    "category",
                    format!(
                        "{} is a first level, which the classifier reads; a rule names a second- or third-level category",
                        rule.category
                    ),
                )
            };
        };
        if !(rule.weight.is_finite() && rule.weight > 0.0) {
            return problem(
                "weight",
                format!("{}: a weight is a number above 0", rule.weight),
            );
        }
        if rule.words.is_empty() {
            return problem("words", "the rule has no words".into());
        }
        for word in &rule.words {
            let word = word.trim();
            if word.chars().count() < 2 {
                return problem(
                    "words",
                    format!(
                        "{word:?}: a word needs at least two characters (one matches too much)"
                    ),
                );
            }
            if let Some(place) = place_in(word) {
                return problem(
                    "words",
                    format!("{word:?} holds the place name {place:?}; places are not meaning"),
                );
            }
            self.add_cue(word.to_owned(), node, rule.weight);
        }
        Ok(())
    }

    /// A cue for a category; the same word for the same category keeps its larger weight.
    fn add_cue(&mut self, cue: String, node: usize, weight: f32) {
        let targets = self.cues.entry(cue).or_default();
        match targets.iter_mut().find(|(n, _)| *n == node) {
            Some((_, w)) => *w = w.max(weight),
            None => targets.push((node, weight)),
        }
    }

    /// The levels below `category` that `text` points to, one reading per level, as deep
    /// as the city's confidences allow (empty when the next level is not sure). `places`:
    /// the byte ranges of the text's place words, left out.
    pub fn deepen(
        &self,
        text: &str,
        places: &[Range<usize>],
        category: &CategoryPath,
    ) -> Vec<LevelReading> {
        self.deepen_at(text, places, category, self.confidence)
    }

    /// [`Self::deepen`] at other confidences than the city's (to measure them).
    pub fn deepen_at(
        &self,
        text: &str,
        places: &[Range<usize>],
        category: &CategoryPath,
        confidence: Confidence,
    ) -> Vec<LevelReading> {
        let found = self.found(text, places);
        let mut readings = Vec::new();
        let mut current = category.clone();
        loop {
            let depth = current.levels().count() + 1;
            // Each child's score: its own cues and those of the categories below it, a
            // cue counted once at its largest weight.
            let mut scored: Vec<(usize, f32, Cues)> = self
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| n.levels().count() == depth && n.starts_with(&current))
                .map(|(child, path)| {
                    let mut words: Vec<(&str, f32)> = Vec::new();
                    for (node, cue, weight) in &found {
                        if !self.nodes[*node].starts_with(path) {
                            continue;
                        }
                        match words.iter_mut().find(|(c, _)| c == cue) {
                            Some((_, w)) => *w = w.max(*weight),
                            None => words.push((cue, *weight)),
                        }
                    }
                    let score = words.iter().map(|(_, w)| w).sum();
                    (child, score, words)
                })
                .collect();
            scored.sort_by(|a, b| b.1.total_cmp(&a.1));
            let Some((best, score, mut words)) = scored.first().cloned() else {
                return readings;
            };
            let runner_up = scored.get(1).map_or(0.0, |s| s.1);
            let level_confidence = score / (score + runner_up + PRIOR);
            if score <= 0.0 || level_confidence < confidence.at(depth) {
                return readings;
            }
            words.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
            current = self.nodes[best].clone();
            readings.push(LevelReading {
                category: current.clone(),
                confidence: level_confidence,
                words: words
                    .iter()
                    .take(SHOWN)
                    .map(|(w, _)| (*w).to_owned())
                    .collect(),
                neighbours: Vec::new(),
            });
        }
    }

    /// Every (category, cue, weight) whose cue occurs in the text once places are cut
    /// out, each cue once.
    fn found<'a>(&'a self, text: &str, places: &[Range<usize>]) -> Vec<(usize, &'a str, f32)> {
        let starts = char_starts(text);
        let in_place: Vec<bool> = starts
            .iter()
            .map(|&at| places.iter().any(|span| span.contains(&at)))
            .collect();
        let mut found: Vec<(usize, &str, f32)> = Vec::new();
        for position in 0..starts.len() - 1 {
            for &length in &self.lengths {
                let Some(&end) = starts.get(position + length) else {
                    break;
                };
                if in_place[position..position + length].iter().any(|&p| p) {
                    continue;
                }
                if let Some((cue, targets)) = self.cues.get_key_value(&text[starts[position]..end])
                {
                    for &(node, weight) in targets {
                        if !found
                            .iter()
                            .any(|(n, c, _)| *n == node && *c == cue.as_str())
                        {
                            found.push((node, cue.as_str(), weight));
                        }
                    }
                }
            }
        }
        found
    }
}

/// Whether `word`, a reason read from `text`, is a place word: it holds a place name
/// (`holds_place`, the gazetteer's reading of the word alone), or it occurs in the text
/// only inside place words (`places`, the byte ranges of the text's place words).
pub fn is_place_word(word: &str, text: &str, places: &[Range<usize>], holds_place: bool) -> bool {
    if holds_place {
        return true;
    }
    let mut occurrences = text.match_indices(word).peekable();
    occurrences.peek().is_some()
        && occurrences.all(|(at, found)| {
            places
                .iter()
                .any(|span| span.start <= at && at + found.len() <= span.end)
        })
}

/// The byte offset of each character of `text`, then the text's length.
fn char_starts(text: &str) -> Vec<usize> {
    text.char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .collect()
}

/// The distinct lengths in characters of `words`, ascending.
fn lengths_of<'a>(words: impl IntoIterator<Item = &'a String>) -> Vec<usize> {
    let mut lengths: Vec<usize> = words.into_iter().map(|w| w.chars().count()).collect();
    lengths.sort_unstable();
    lengths.dedup();
    lengths
}

/// The cues found for a category: each word once, with its weight.
type Cues<'a> = Vec<(&'a str, f32)>;

/// The pairs of neighbouring characters in a category's name, leaving out pairs with
/// the joining words of names (和, 与, 及, 、).
fn pairs(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    chars
        .windows(2)
        .filter(|w| !w.iter().any(|c| matches!(c, '和' | '与' | '及' | '、')))
        .map(|w| w.iter().collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::region::RegionLevel;
    use crate::region::tests::region;

    fn taxonomy() -> Taxonomy {
        let rows: Vec<Vec<String>> = [
            ["城乡建设", "住房保障与房地产", "物业服务"],
            ["城乡建设", "住房保障与房地产", "住房公积金"],
            ["城乡建设", "城乡规划", "违章建筑"],
            ["城乡建设", "村镇建设", "新农村建设"],
            ["环境保护", "环境污染", "噪音污染"],
            ["环境保护", "环境污染", "水污染"],
            ["环境保护", "其他", "其他"],
        ]
        .iter()
        .map(|row| row.iter().map(|s| s.to_string()).collect())
        .collect();
        Taxonomy::from_rows(&rows).unwrap()
    }

    fn regions() -> RegionTree {
        RegionTree::new(vec![
            region("A", "A市", RegionLevel::City, None),
            region("A-1", "新农村", RegionLevel::District, Some("A")),
        ])
        .unwrap()
    }

    fn rule(category: &str, words: &[&str]) -> WordRule {
        WordRule {
            category: CategoryPath::new(category),
            words: words.iter().map(|w| w.to_string()).collect(),
            weight: 1.0,
        }
    }

    /// The reader of these rules and confidences, in a city of two regions.
    fn with(rules: Vec<WordRule>, confidence: Confidence) -> Result<CategoryReader, ConfigProblem> {
        let regions = regions();
        let places = Gazetteer::new(&regions, Vec::new()).unwrap();
        CategoryReader::new(rules, confidence, &taxonomy(), &places, &regions)
    }

    fn reader(rules: Vec<WordRule>) -> CategoryReader {
        with(rules, Confidence::default()).unwrap()
    }

    /// The taxonomy's words alone, at these confidences.
    fn at(confidence: Confidence) -> Result<CategoryReader, ConfigProblem> {
        with(vec![], confidence)
    }

    /// The place words of `text` in the test city.
    fn spans(text: &str) -> Vec<Range<usize>> {
        let regions = regions();
        Gazetteer::new(&regions, Vec::new())
            .unwrap()
            .read(&regions, text)
            .spans
    }

    /// `reader`'s levels below `category` in `text`, its places left out.
    fn read(reader: &CategoryReader, text: &str, category: &str) -> Vec<LevelReading> {
        reader.deepen(text, &spans(text), &CategoryPath::new(category))
    }

    fn paths(readings: &[LevelReading]) -> Vec<&str> {
        readings.iter().map(|r| r.category.as_str()).collect()
    }

    #[test]
    fn reads_down_the_levels_from_the_taxonomy_and_the_rules() {
        let reader = reader(vec![rule(
            "城乡建设/住房保障与房地产/物业服务",
            &["电梯", "物业公司"],
        )]);
        let found = read(&reader, "小区电梯坏了一个月物业公司不修", "城乡建设");
        assert_eq!(
            paths(&found),
            [
                "城乡建设/住房保障与房地产",
                "城乡建设/住房保障与房地产/物业服务"
            ]
        );
        assert!(found[1].words.contains(&"电梯".to_owned()), "{found:?}");
        assert!(
            found
                .iter()
                .all(|r| r.confidence >= 0.5 && r.confidence < 1.0)
        );
        // The name's rarer pair speaks: 噪音 is only in 噪音污染.
        let noise = read(&reader, "楼下KTV噪音很大晚上睡不着", "环境保护");
        assert_eq!(paths(&noise).last(), Some(&"环境保护/环境污染/噪音污染"));
    }

    #[test]
    fn stops_where_the_evidence_is_not_enough() {
        let reader = reader(vec![]);
        // 污染 is in three names: a weak cue, shared by both third levels.
        let found = read(&reader, "这里有污染", "环境保护");
        assert!(
            paths(&found).iter().all(|p| p.matches('/').count() < 2),
            "{found:?}"
        );
        assert!(read(&reader, "你好", "城乡建设").is_empty());
        // A stricter city takes nothing from one word.
        let strict = at(Confidence {
            second: 0.9,
            ..Confidence::default()
        })
        .unwrap();
        assert!(read(&strict, "楼下KTV噪音很大", "环境保护").is_empty());
    }

    #[test]
    fn places_are_not_meaning() {
        let reader = reader(vec![]);
        let found = read(&reader, "新农村的路灯坏了", "城乡建设");
        assert!(found.is_empty(), "{found:?}");
        let text = "新农村的路灯坏了";
        let places = spans(text);
        assert!(is_place_word("A市", text, &places, true), "holds a name");
        assert!(
            is_place_word("农村", text, &places, false),
            "only inside a name"
        );
        assert!(!is_place_word("路灯", text, &places, false));
        assert!(
            !is_place_word("电梯", text, &places, false),
            "not in the text"
        );
    }

    #[test]
    fn refuses_rules_that_cannot_work() {
        let problem = |rule: WordRule| with(vec![rule], Confidence::default()).unwrap_err();
        let err = problem(rule("城乡建设", &["物业"]));
        assert_eq!(err.field, "category");
        assert!(err.message.contains("first level"), "{err}");
        assert!(
            problem(rule("城乡建设/没有", &["物业"]))
                .message
                .contains("not in the taxonomy")
        );
        assert_eq!(problem(rule("城乡建设/城乡规划", &[])).field, "words");
        assert!(
            problem(rule("城乡建设/城乡规划", &["违"]))
                .message
                .contains("two characters")
        );
        assert!(
            problem(rule("城乡建设/城乡规划", &["A市违建"]))
                .message
                .contains("place")
        );
        let mut heavy = rule("城乡建设/城乡规划", &["违建"]);
        heavy.weight = f32::NAN;
        assert_eq!(problem(heavy).field, "weight");
        let bad = at(Confidence {
            third: 1.5,
            ..Confidence::default()
        })
        .unwrap_err();
        assert_eq!(bad.field, "confidence");
    }
}
