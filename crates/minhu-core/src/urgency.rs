//! Urgency: which handling tier a demand's own words call for.
//!
//! A caller who smells gas needs someone within two hours whatever tier intake gave the
//! ticket, so routing weighs the text against the city's rules (`city.toml`: each tier's
//! `words` and the `[urgency]` section) and the classifier's category. Everything is
//! data: a city tunes weights, negations and thresholds without a new build. The rules
//! only ever raise a tier; a person's choice of a more urgent one stands.

use crate::deadline::{Tier, TierCode};
use crate::taxonomy::CategoryPath;
use serde::{Deserialize, Serialize};

/// Words that add `weight` to a demand's urgency (each rule counts once per demand).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UrgencyRule {
    pub words: Vec<String>,
    pub weight: f32,
}

/// The classifier's side: a category (or any category under it) adds `weight` times the
/// confidence of the category read from the text (1 when a person gave it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CategoryUrgency {
    pub category: CategoryPath,
    pub weight: f32,
}

/// The weighted part of the urgency configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UrgencyRules {
    pub rules: Vec<UrgencyRule>,
    /// Words that cancel a cue after them in the same clause (没有闻到煤气味).
    pub negations: Vec<String>,
    /// How many characters before a cue a negation may stand.
    pub negation_window: usize,
    /// The score at which a demand reaches a tier.
    pub thresholds: Vec<(TierCode, f32)>,
    pub categories: Vec<CategoryUrgency>,
}

/// A tier that a demand's text calls for, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Urgent<'a> {
    pub tier: &'a Tier,
    /// The words (and category) behind it, e.g. `闻到煤气` or `漏水 +1, 老人 +1`.
    pub reasons: Vec<String>,
}

/// Characters that end a clause: a negation does not reach across them.
fn ends_clause(c: char) -> bool {
    matches!(
        c,
        '，' | '。' | '！' | '？' | '；' | ',' | '.' | '!' | '?' | ';' | '\n'
    )
}

impl UrgencyRules {
    /// Whether `word` occurs in `text` at least once without a negation shortly before
    /// it in the same clause.
    pub fn says(&self, text: &str, word: &str) -> bool {
        text.match_indices(word).any(|(at, _)| {
            let before: String = {
                let mut chars: Vec<char> = text[..at]
                    .chars()
                    .rev()
                    .take_while(|c| !ends_clause(*c))
                    .take(self.negation_window)
                    .collect();
                chars.reverse();
                chars.into_iter().collect()
            };
            !self.negations.iter().any(|n| before.contains(n.as_str()))
        })
    }

    /// The weighted score of a text (and its category with the confidence in it), with
    /// the contributions behind it.
    pub fn score(&self, text: &str, category: Option<(&CategoryPath, f32)>) -> (f32, Vec<String>) {
        let mut score = 0.0;
        let mut reasons = Vec::new();
        for rule in &self.rules {
            if let Some(word) = rule.words.iter().find(|w| self.says(text, w)) {
                score += rule.weight;
                reasons.push(format!("{word} +{}", rule.weight));
            }
        }
        if let Some((path, confidence)) = category
            && let Some(signal) = self
                .categories
                .iter()
                .find(|c| path.starts_with(&c.category))
        {
            let weight = signal.weight * confidence;
            score += weight;
            reasons.push(format!("{} +{weight:.2}", signal.category));
        }
        (score, reasons)
    }

    pub fn threshold(&self, tier: &TierCode) -> Option<f32> {
        self.thresholds
            .iter()
            .find(|(code, _)| code == tier)
            .map(|(_, t)| *t)
    }

    /// The most urgent tier the text calls for, when it is more urgent than `current`.
    /// `tiers` are most urgent first. A tier's own words are enough on their own; the
    /// weighted rules reach a tier when their score meets its threshold.
    pub fn assess<'a>(
        &self,
        tiers: &'a [Tier],
        text: &str,
        current: &TierCode,
        category: Option<(&CategoryPath, f32)>,
    ) -> Option<Urgent<'a>> {
        let more_urgent = tiers
            .iter()
            .position(|t| &t.code == current)
            .unwrap_or(tiers.len());
        let candidates = &tiers[..more_urgent];
        for tier in candidates {
            if let Some(word) = tier.words.iter().find(|w| self.says(text, w)) {
                return Some(Urgent {
                    tier,
                    reasons: vec![word.clone()],
                });
            }
        }
        let (score, reasons) = self.score(text, category);
        candidates
            .iter()
            .find(|tier| self.threshold(&tier.code).is_some_and(|t| score >= t))
            .map(|tier| Urgent { tier, reasons })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deadline::{Allowance, TierClock};

    fn tier(code: &str, words: &[&str]) -> Tier {
        let clock = TierClock::Wall;
        Tier {
            code: TierCode(code.into()),
            label: code.into(),
            label_en: None,
            respond_within: Allowance::parse("30m", clock).unwrap(),
            resolve_within: Allowance::parse(code, clock).unwrap(),
            words: words.iter().map(|w| w.to_string()).collect(),
            starts: crate::deadline::TierStart::Dispatch,
        }
    }

    fn tiers() -> Vec<Tier> {
        vec![
            tier("2h", &["燃气泄漏", "闻到煤气", "电梯困人"]),
            tier("24h", &["停水", "停电"]),
            tier("7d", &[]),
            tier("15d", &[]),
        ]
    }

    fn rules() -> UrgencyRules {
        UrgencyRules {
            rules: vec![
                UrgencyRule {
                    words: vec!["漏水".into(), "渗水".into()],
                    weight: 1.0,
                },
                UrgencyRule {
                    words: vec!["老人".into(), "小孩".into()],
                    weight: 1.0,
                },
                UrgencyRule {
                    words: vec!["触电".into()],
                    weight: 2.5,
                },
            ],
            negations: vec!["没有".into(), "不是".into()],
            negation_window: 4,
            thresholds: vec![
                (TierCode("2h".into()), 2.5),
                (TierCode("24h".into()), 2.0),
                (TierCode("7d".into()), 1.0),
            ],
            categories: vec![CategoryUrgency {
                category: CategoryPath::new("城乡建设"),
                weight: 1.0,
            }],
        }
    }

    fn tier_of(text: &str) -> Option<String> {
        let tiers = tiers();
        rules()
            .assess(&tiers, text, &TierCode("15d".into()), None)
            .map(|u| u.tier.code.0.clone())
    }

    #[test]
    fn tier_words_alone_decide() {
        assert_eq!(tier_of("楼道里燃气泄漏，味道很大").as_deref(), Some("2h"));
        assert_eq!(tier_of("家里闻到煤气味，很担心").as_deref(), Some("2h"));
        assert_eq!(tier_of("小区从早上开始停水").as_deref(), Some("24h"));
        assert_eq!(tier_of("小区路灯不亮"), None);
    }

    #[test]
    fn a_negation_in_the_same_clause_cancels_a_cue() {
        assert_eq!(tier_of("没有闻到煤气味，只是有点臭"), None);
        assert_eq!(tier_of("不是停水，是水压低"), None);
        // A negation in an earlier clause does not reach the cue.
        assert_eq!(
            tier_of("物业没有人管，楼道里燃气泄漏").as_deref(),
            Some("2h")
        );
        // One plain mention is enough even when another is negated.
        assert_eq!(tier_of("不是停水？就是停水了").as_deref(), Some("24h"));
    }

    #[test]
    fn weights_add_up_to_thresholds() {
        assert_eq!(tier_of("楼上漏水").as_deref(), Some("7d"));
        assert_eq!(tier_of("楼上漏水，家里有老人").as_deref(), Some("24h"));
        assert_eq!(tier_of("配电箱有人触电").as_deref(), Some("2h"));
        // A rule counts once, however many of its words appear.
        assert_eq!(tier_of("漏水渗水").as_deref(), Some("7d"));
    }

    #[test]
    fn the_category_adds_its_weight_times_the_confidence() {
        let tiers = tiers();
        let standard = TierCode("15d".into());
        let path = CategoryPath::new("城乡建设/物业管理");
        let sure = rules().assess(&tiers, "楼上漏水", &standard, Some((&path, 1.0)));
        assert_eq!(sure.unwrap().tier.code.0, "24h");
        let unsure = rules().assess(&tiers, "楼上漏水", &standard, Some((&path, 0.5)));
        assert_eq!(unsure.unwrap().tier.code.0, "7d");
    }

    #[test]
    fn never_lowers_a_tier() {
        let tiers = tiers();
        let urgent = TierCode("2h".into());
        assert!(rules().assess(&tiers, "燃气泄漏", &urgent, None).is_none());
        let priority = TierCode("24h".into());
        assert!(
            rules()
                .assess(&tiers, "楼上漏水", &priority, None)
                .is_none()
        );
    }
}
