//! The assistant's thresholds ([`crate::assistant::Thresholds`]) fitted on questions
//! with known answers, as `minhu kb eval` does on the Teddy Cup replies.
//!
//! A knowledge base never holds every answer, and the assistant's "no answer" is for the
//! questions it does not hold. So the fit asks an index of every other article
//! ([`knowledge_base`]): the questions whose answer is among the articles left out are
//! the ones that should get no answer. The questions are split in fixed halves by their
//! message number ([`in_fit_half`]): the thresholds are chosen on the even numbers and
//! judged on the odd ones ([`Outcome`]), so the figures reported are not the ones the
//! thresholds were chosen on.
//!
//! - sure: the lowest confidence (in steps of 0.01) from which the best article is the
//!   answer for at least [`SURE_PRECISION`] of the questions;
//! - maybe: the lowest confidence below sure from which, for the questions between it
//!   and sure, one of the three articles shown is the answer at least
//!   [`MAYBE_PRECISION`] of the time.
//!
//! A threshold counts only with at least [`MIN_SUPPORT`] questions on its side, so that
//! a handful of lucky questions at the top does not decide it.

use crate::assistant::{Certainty, Thresholds};
use crate::eval::Asked;
use minhu_store::Article;
use std::fmt;

/// How often an answer given as sure must be the right article.
pub const SURE_PRECISION: f64 = 0.9;
/// How often the articles offered while unsure must hold the answer.
pub const MAYBE_PRECISION: f64 = 0.5;
/// The fewest questions a threshold is judged on.
pub const MIN_SUPPORT: usize = 20;

/// The articles the fit's index holds: every other one, in the set's order.
pub fn knowledge_base(articles: &[Article]) -> Vec<Article> {
    articles.iter().step_by(2).cloned().collect()
}

/// Whether a question (by its message number) is one the thresholds are chosen on; the
/// others are held out to judge them.
pub fn in_fit_half(id: u64) -> bool {
    id.is_multiple_of(2)
}

/// The thresholds that meet [`SURE_PRECISION`] and [`MAYBE_PRECISION`] on `asked` with
/// the most questions answered; `None` when no confidence makes sure answers right
/// often enough.
pub fn fit(asked: &[Asked]) -> Option<Thresholds> {
    // From 0.01: every article that shares a word with the question has a confidence
    // above 0, and 0 itself would offer an article when nothing matched.
    let steps = || (1..=100u8).map(|step| f32::from(step) / 100.0);
    let precise = |within: &dyn Fn(f32) -> bool, hit: &dyn Fn(&Asked) -> bool, goal: f64| {
        let side: Vec<&Asked> = asked.iter().filter(|a| within(a.confidence)).collect();
        side.len() >= MIN_SUPPORT
            && side.iter().filter(|a| hit(a)).count() as f64 / side.len() as f64 >= goal
    };
    let sure = steps().find(|&t| precise(&|c| c >= t, &|a| a.top1, SURE_PRECISION))?;
    let maybe = steps()
        .take_while(|&t| t < sure)
        .find(|&t| precise(&|c| t <= c && c < sure, &|a| a.top3, MAYBE_PRECISION))
        .unwrap_or(sure);
    Some(Thresholds { sure, maybe })
}

/// From each confidence in tenths, how many of `asked` reach it and how often their
/// best article, and one of the first three, answers them: what the fit chooses from.
pub fn calibration(asked: &[Asked]) -> Vec<(f32, usize, f64, f64)> {
    (1..=9u8)
        .map(|tenth| {
            let from = f32::from(tenth) / 10.0;
            let side: Vec<&Asked> = asked.iter().filter(|a| a.confidence >= from).collect();
            let rate =
                |hit: fn(&Asked) -> bool| share(side.iter().filter(|a| hit(a)).count(), side.len());
            (from, side.len(), rate(|a| a.top1), rate(|a| a.top3))
        })
        .collect()
}

/// What the assistant would have said to each question with some thresholds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Questions whose answer is in the index.
    pub answerable: usize,
    /// ... answered as sure, by the right article.
    pub sure_right: usize,
    /// ... answered as sure, by another article.
    pub sure_wrong: usize,
    /// ... answered unsure, with the right article among the three shown.
    pub unsure_shown: usize,
    /// ... answered unsure, without it.
    pub unsure_missed: usize,
    /// ... given no answer.
    pub abstained: usize,
    /// Questions whose answer is not in the index.
    pub unanswerable: usize,
    /// ... answered as sure anyway (always wrong).
    pub unanswerable_sure: usize,
    /// ... answered unsure.
    pub unanswerable_unsure: usize,
    /// ... given no answer (right).
    pub unanswerable_abstained: usize,
}

impl Outcome {
    pub fn of(asked: &[Asked], thresholds: Thresholds) -> Outcome {
        let mut o = Outcome::default();
        for a in asked {
            let certainty = thresholds.certainty(a.confidence);
            let count = match (a.answerable, certainty) {
                (true, Certainty::Sure) if a.top1 => &mut o.sure_right,
                (true, Certainty::Sure) => &mut o.sure_wrong,
                (true, Certainty::Unsure) if a.top3 => &mut o.unsure_shown,
                (true, Certainty::Unsure) => &mut o.unsure_missed,
                (true, Certainty::NoAnswer) => &mut o.abstained,
                (false, Certainty::Sure) => &mut o.unanswerable_sure,
                (false, Certainty::Unsure) => &mut o.unanswerable_unsure,
                (false, Certainty::NoAnswer) => &mut o.unanswerable_abstained,
            };
            *count += 1;
            if a.answerable {
                o.answerable += 1;
            } else {
                o.unanswerable += 1;
            }
        }
        o
    }

    /// Of the answers given as sure, the share by the right article.
    pub fn sure_precision(&self) -> f64 {
        share(
            self.sure_right,
            self.sure_right + self.sure_wrong + self.unanswerable_sure,
        )
    }
}

fn share(part: usize, whole: usize) -> f64 {
    part as f64 / whole.max(1) as f64
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pct = |part: usize, whole: usize| format!("{:.1}%", share(part, whole) * 100.0);
        let (n, m) = (self.answerable, self.unanswerable);
        let unsure = self.unsure_shown + self.unsure_missed;
        writeln!(
            f,
            "  answer in the index ({n}): sure {} (right {}), unsure {} (answer among the three shown {}), no answer {}",
            pct(self.sure_right + self.sure_wrong, n),
            pct(self.sure_right, self.sure_right + self.sure_wrong),
            pct(unsure, n),
            pct(self.unsure_shown, unsure),
            pct(self.abstained, n),
        )?;
        writeln!(
            f,
            "  answer not in the index ({m}): sure {}, unsure {}, no answer {}",
            pct(self.unanswerable_sure, m),
            pct(self.unanswerable_unsure, m),
            pct(self.unanswerable_abstained, m),
        )?;
        write!(
            f,
            "  sure answers right, over both: {:.1}%",
            self.sure_precision() * 100.0
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(id: u64, confidence: f32, answerable: bool, top1: bool, top3: bool) -> Asked {
        Asked {
            id,
            answerable,
            confidence,
            top1,
            top3,
        }
    }

    /// 40 right at 0.9, 40 at 0.7 of which 30 right at top 1 and 35 in the top 3,
    /// 40 unanswerable at 0.35, 40 answerable at 0.2 whose three hold the answer.
    fn sample() -> Vec<Asked> {
        let mut all = Vec::new();
        for i in 0..40 {
            all.push(asked(i, 0.9, true, true, true));
            all.push(asked(100 + i, 0.7, true, i < 30, i < 35));
            all.push(asked(200 + i, 0.35, false, false, false));
            all.push(asked(300 + i, 0.2, true, false, true));
        }
        all
    }

    #[test]
    fn sure_is_the_lowest_confidence_precise_enough_and_maybe_the_lowest_below_it() {
        let fitted = fit(&sample()).unwrap();
        // From 0.71 only the 40 right ones: 100%. From 0.36, 70 right of 80 = 87.5%
        // (< 90%), so sure stays at 0.71.
        assert_eq!(fitted.sure, 0.71);
        // Between 0.36 and 0.71: 35 of 40 shown (87.5%); from 0.21 the 40 unanswerable
        // ones join (35/80 = 43.8% < 50%); from 0.01 the 40 at 0.2 too (75/120 = 62.5%).
        assert_eq!(fitted.maybe, 0.01);
        let o = Outcome::of(&sample(), fitted);
        assert_eq!((o.answerable, o.unanswerable), (120, 40));
        assert_eq!(
            (o.sure_right, o.sure_wrong, o.unanswerable_sure),
            (40, 0, 0)
        );
        assert_eq!((o.unsure_shown, o.unsure_missed), (75, 5));
        assert_eq!(o.unanswerable_unsure, 40);
        assert_eq!(o.sure_precision(), 1.0);
        assert!(o.to_string().contains("sure 33.3% (right 100.0%)"), "{o}");
    }

    #[test]
    fn too_few_questions_or_none_precise_decide_nothing() {
        let few: Vec<Asked> = (0..10).map(|i| asked(i, 0.9, true, true, true)).collect();
        assert_eq!(fit(&few), None);
        let wrong: Vec<Asked> = (0..50).map(|i| asked(i, 0.9, true, false, false)).collect();
        assert_eq!(fit(&wrong), None);
        let only_sure: Vec<Asked> = (0..50).map(|i| asked(i, 0.9, true, true, true)).collect();
        let fitted = fit(&only_sure).unwrap();
        assert_eq!(fitted.sure, 0.01);
        assert_eq!(fitted.maybe, 0.01, "no band below sure: maybe is sure");
    }

    #[test]
    fn the_halves_and_the_knowledge_base_are_fixed() {
        assert!(in_fit_half(2) && !in_fit_half(3));
        let articles: Vec<Article> = (0..5)
            .map(|i| Article::new(format!("a{i}"), "t", "b", jiff::Timestamp::UNIX_EPOCH))
            .collect();
        let ids: Vec<String> = knowledge_base(&articles)
            .into_iter()
            .map(|a| a.id)
            .collect();
        assert_eq!(ids, ["a0", "a2", "a4"]);
    }
}
