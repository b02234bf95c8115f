//! Scoring a classifier: per-class precision, recall and F1, macro-F1 and accuracy.

pub struct ClassScore {
    pub label: String,
    pub support: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

pub struct Scores {
    pub classes: Vec<ClassScore>,
    pub macro_f1: f64,
    pub accuracy: f64,
    pub n: usize,
}

/// Scores (truth, predicted) pairs. Classes are those seen in either column; macro-F1
/// averages over the classes present in the truth.
pub fn score(pairs: &[(String, String)]) -> Scores {
    let mut labels: Vec<&str> = pairs
        .iter()
        .flat_map(|(t, p)| [t.as_str(), p.as_str()])
        .collect();
    labels.sort_unstable();
    labels.dedup();
    let classes: Vec<ClassScore> = labels
        .iter()
        .map(|&label| {
            let tp = pairs
                .iter()
                .filter(|(t, p)| t == label && p == label)
                .count() as f64;
            let predicted = pairs.iter().filter(|(_, p)| p == label).count() as f64;
            let support = pairs.iter().filter(|(t, _)| t == label).count();
            let precision = if predicted > 0.0 { tp / predicted } else { 0.0 };
            let recall = if support > 0 {
                tp / support as f64
            } else {
                0.0
            };
            let f1 = if precision + recall > 0.0 {
                2.0 * precision * recall / (precision + recall)
            } else {
                0.0
            };
            ClassScore {
                label: label.to_owned(),
                support,
                precision,
                recall,
                f1,
            }
        })
        .collect();
    let present: Vec<&ClassScore> = classes.iter().filter(|c| c.support > 0).collect();
    let macro_f1 = present.iter().map(|c| c.f1).sum::<f64>() / present.len().max(1) as f64;
    let correct = pairs.iter().filter(|(t, p)| t == p).count();
    Scores {
        macro_f1,
        accuracy: correct as f64 / pairs.len().max(1) as f64,
        n: pairs.len(),
        classes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed() {
        let pairs: Vec<(String, String)> = [("a", "a"), ("a", "b"), ("b", "b"), ("b", "b")]
            .iter()
            .map(|(t, p)| (t.to_string(), p.to_string()))
            .collect();
        let s = score(&pairs);
        assert!((s.accuracy - 0.75).abs() < 1e-9);
        // a: P=1, R=0.5, F1=2/3; b: P=2/3, R=1, F1=0.8.
        assert!((s.macro_f1 - (2.0 / 3.0 + 0.8) / 2.0).abs() < 1e-9);
    }
}
