//! The second opinion of handled tickets: the demands most like this one (the
//! classifier's [`Similar`]) vote, each by its similarity, for what they ended with
//! after every dispatcher's correction: the second and third level below the first
//! level read, and the post of the unit that handled them (a unit that returned one
//! counts against its post).
//!
//! A vote's share is its confidence: the similarity behind the winner over that of
//! every ticket able to vote, plus [`EVIDENCE`], so a lone faint neighbour never makes
//! a sure reading. As with the city's words, a level is taken only at or above the
//! confidence the city set for it, and the reading stops at the first level that is not.

use crate::router::PostSuggestion;
use minhu_core::ids::UnitId;
use minhu_core::reading::{Confidence, LevelReading};
use minhu_core::taxonomy::{CategoryPath, Taxonomy};
use minhu_core::unit::UnitLevel;

/// Similarity nobody has: added to the voters' total, so one ticket at similarity
/// 0.25 speaks with half a voice and ten at 0.3 that agree with 0.92.
pub const EVIDENCE: f32 = 0.25;
/// Tickets named as reasons, most similar first.
const NAMED: usize = 3;
/// Words shown, at most.
const SHOWN: usize = 5;

/// A unit's post: its level, and its role for a department.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Post {
    pub level: UnitLevel,
    pub role: Option<String>,
}

/// A handled ticket like the demand, and what it ended with.
#[derive(Clone, Debug, PartialEq)]
pub struct Similar {
    /// Its number, as shown.
    pub ticket: String,
    /// The cosine of the two texts, 0 to 1.
    pub similarity: f32,
    /// The category it ended with, as deep as it was given.
    pub category: Option<CategoryPath>,
    /// The unit that handled it, and that unit's post.
    pub unit: Option<UnitId>,
    pub post: Option<Post>,
    /// The posts of units that returned it and were not its last unit.
    pub returned: Vec<Post>,
    /// The words it shares with the demand, weightiest first.
    pub shared: Vec<String>,
}

impl Similar {
    /// How a reason names it: "#12 城乡建设/物业服务/电梯, unit dept-A3-housing".
    fn described(&self) -> String {
        let mut text = format!("#{}", self.ticket);
        if let Some(category) = &self.category {
            text.push_str(&format!(" {category}"));
        }
        if let Some(unit) = &self.unit {
            text.push_str(&format!(", unit {unit}"));
        }
        text
    }
}

/// The levels below `category` that the tickets vote for, one reading per level, while
/// each is at or above the city's confidence.
pub fn read_levels(
    similar: &[Similar],
    category: &CategoryPath,
    confidence: Confidence,
    taxonomy: &Taxonomy,
) -> Vec<LevelReading> {
    let mut readings = Vec::new();
    let mut current = category.clone();
    loop {
        let depth = current.levels().count() + 1;
        // A ticket labelled this deep under the level read votes: the first level is
        // the model's to read, the tickets say what lies below it.
        let voters: Vec<(&Similar, CategoryPath)> = similar
            .iter()
            .filter_map(|s| Some((s, s.category.as_ref()?.at_depth(depth)?)))
            .filter(|(_, path)| path.starts_with(&current))
            .collect();
        let total: f32 = voters.iter().map(|(s, _)| s.similarity).sum();
        let mut votes: Vec<(CategoryPath, f32)> = Vec::new();
        for (voter, path) in &voters {
            if !taxonomy.contains(path) {
                continue;
            }
            match votes.iter_mut().find(|(p, _)| p == path) {
                Some((_, v)) => *v += voter.similarity,
                None => votes.push((path.clone(), voter.similarity)),
            }
        }
        let Some((best, score)) = votes.into_iter().max_by(|a, b| a.1.total_cmp(&b.1)) else {
            return readings;
        };
        let share = score / (total + EVIDENCE);
        if share < confidence.at(depth) {
            return readings;
        }
        let behind: Vec<&Similar> = voters
            .iter()
            .filter(|(_, path)| *path == best)
            .map(|(s, _)| *s)
            .collect();
        readings.push(LevelReading {
            category: best.clone(),
            confidence: share,
            words: words_of(&behind),
            neighbours: behind.iter().take(NAMED).map(|s| s.described()).collect(),
        });
        current = best;
    }
}

/// The post the tickets vote for: each ticket's similarity for its unit's post and
/// against the posts of units that returned it; none when no post has more for it than
/// against it.
pub fn vote_post(similar: &[Similar]) -> Option<PostSuggestion> {
    let mut votes: Vec<(&Post, f32)> = Vec::new();
    let mut total = EVIDENCE;
    for ticket in similar {
        let Some(post) = &ticket.post else { continue };
        total += ticket.similarity;
        let signed = std::iter::once((post, ticket.similarity))
            .chain(ticket.returned.iter().map(|r| (r, -ticket.similarity)));
        for (post, weight) in signed {
            match votes.iter_mut().find(|(p, _)| *p == post) {
                Some((_, v)) => *v += weight,
                None => votes.push((post, weight)),
            }
        }
    }
    let (best, score) = votes.into_iter().max_by(|a, b| a.1.total_cmp(&b.1))?;
    if score <= 0.0 {
        return None;
    }
    let behind: Vec<&Similar> = similar
        .iter()
        .filter(|s| s.post.as_ref() == Some(best))
        .collect();
    Some(PostSuggestion {
        level: best.level,
        role: best.role.clone(),
        confidence: score / total,
        reasons: words_of(&behind),
        neighbours: behind.iter().take(NAMED).map(|s| s.described()).collect(),
    })
}

/// The words the tickets share with the demand, the most similar ticket's first, each
/// once, at most [`SHOWN`].
fn words_of(tickets: &[&Similar]) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for word in tickets.iter().flat_map(|s| &s.shared) {
        if words.len() == SHOWN {
            break;
        }
        if !words.contains(word) {
            words.push(word.clone());
        }
    }
    words
}

/// The rules' levels and the neighbours' together: the levels they agree on (with the
/// tickets behind them), then, where they part, the surer reading from there down;
/// where the rules stop, the neighbours' deeper levels.
pub fn merge_levels(rules: Vec<LevelReading>, neighbours: Vec<LevelReading>) -> Vec<LevelReading> {
    let mut merged = Vec::new();
    let mut rules = rules.into_iter().peekable();
    let mut neighbours = neighbours.into_iter().peekable();
    loop {
        match (rules.peek(), neighbours.peek()) {
            (Some(rule), Some(near)) if rule.category == near.category => {
                let near = neighbours.next().expect("peeked");
                let mut rule = rules.next().expect("peeked");
                rule.neighbours = near.neighbours;
                merged.push(rule);
            }
            (Some(rule), Some(near)) if near.confidence > rule.confidence => {
                merged.extend(neighbours);
                return merged;
            }
            (Some(_), _) => {
                merged.extend(rules);
                return merged;
            }
            (None, _) => {
                merged.extend(neighbours);
                return merged;
            }
        }
    }
}

/// The unit model's post and the neighbours' together: the same post at the surer of
/// the two confidences, with the words and tickets of both; else the surer of the two.
pub fn combine_posts(
    model: Option<PostSuggestion>,
    neighbours: Option<PostSuggestion>,
) -> Option<PostSuggestion> {
    match (model, neighbours) {
        (Some(mut model), Some(near)) if (model.level, &model.role) == (near.level, &near.role) => {
            model.confidence = model.confidence.max(near.confidence);
            for word in near.reasons {
                if model.reasons.len() < SHOWN && !model.reasons.contains(&word) {
                    model.reasons.push(word);
                }
            }
            model.neighbours = near.neighbours;
            Some(model)
        }
        (Some(model), Some(near)) => Some(if near.confidence > model.confidence {
            near
        } else {
            model
        }),
        (model, near) => model.or(near),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn like(ticket: &str, similarity: f32, category: &str, role: &str) -> Similar {
        Similar {
            ticket: ticket.into(),
            similarity,
            category: Some(CategoryPath::new(category)),
            unit: Some(UnitId::new(format!("dept-A3-{role}"))),
            post: Some(Post {
                level: UnitLevel::DistrictDepartment,
                role: Some(role.into()),
            }),
            returned: Vec::new(),
            shared: vec!["漏水".into()],
        }
    }

    fn taxonomy() -> Taxonomy {
        let rows: Vec<Vec<String>> = [
            ["城乡建设", "住房保障与房地产", "物业服务"],
            ["城乡建设", "城市建设和市政管理", "自来水供应"],
        ]
        .iter()
        .map(|row| row.iter().map(|s| s.to_string()).collect())
        .collect();
        Taxonomy::from_rows(&rows).unwrap()
    }

    #[test]
    fn levels_are_read_only_at_the_citys_confidence() {
        let property = "城乡建设/住房保障与房地产/物业服务";
        let first = CategoryPath::new("城乡建设");
        let city = Confidence::default();
        let agreeing = [
            like("101", 0.6, property, "housing"),
            like("102", 0.5, property, "housing"),
            like("103", 0.9, "劳动和社会保障", "hrss"),
        ];
        let read = read_levels(&agreeing, &first, city, &taxonomy());
        let paths: Vec<&str> = read.iter().map(|l| l.category.as_str()).collect();
        assert_eq!(paths, ["城乡建设/住房保障与房地产", property]);
        assert!((read[1].confidence - 1.1 / 1.35).abs() < 1e-4, "{read:?}");
        assert_eq!(
            read[1].neighbours[0],
            format!("#101 {property}, unit dept-A3-housing")
        );
        // Split between two second levels: 0.3 / (0.6 + 0.25) = 0.35, below 0.5.
        let split = [
            like("201", 0.3, property, "housing"),
            like(
                "202",
                0.3,
                "城乡建设/城市建设和市政管理/自来水供应",
                "water",
            ),
        ];
        assert_eq!(read_levels(&split, &first, city, &taxonomy()), []);
        let stricter = Confidence { third: 0.9, ..city };
        assert_eq!(
            read_levels(&agreeing, &first, stricter, &taxonomy()).len(),
            1
        );
    }

    #[test]
    fn a_return_counts_against_the_post_that_returned() {
        let mut returned = like("2", 0.4, "教育文体", "hrss");
        returned.returned = vec![Post {
            level: UnitLevel::DistrictDepartment,
            role: Some("education".into()),
        }];
        let tickets = [like("1", 0.5, "教育文体", "education"), returned];
        let post = vote_post(&tickets).unwrap();
        // education 0.5 - 0.4, hrss 0.4, over 0.9 + 0.25.
        assert_eq!(post.role.as_deref(), Some("hrss"));
        assert!((post.confidence - 0.4 / 1.15).abs() < 1e-4);
        assert_eq!(vote_post(&[]), None);
    }
}
