//! How alike two demands read: Jaccard similarity of their Chinese character pairs
//! (and other words), after normalisation. Used to flag tickets that report the same
//! event (并单 candidates); cheap enough to compare a new ticket with every open one
//! of the same place and days.

use crate::normalize::{is_cjk, normalize};
use std::collections::HashSet;

/// The set of character pairs (for Chinese) and words (for other scripts) of a text.
pub fn shingles(text: &str) -> HashSet<String> {
    let text = normalize(text);
    let mut set = HashSet::new();
    let chinese: Vec<char> = text.chars().filter(|c| is_cjk(*c)).collect();
    for pair in chinese.windows(2) {
        set.insert(pair.iter().collect());
    }
    for word in text.split(|c: char| !c.is_alphanumeric() || is_cjk(c)) {
        if word.chars().count() > 1 {
            set.insert(word.to_owned());
        }
    }
    set
}

/// |A ∩ B| / |A ∪ B|, 0 for two empty sets.
pub fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f32 {
    let union = a.union(b).count();
    if union == 0 {
        return 0.0;
    }
    a.intersection(b).count() as f32 / union as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_event_in_other_words_is_close() {
        let a = shingles("天顶街道尖山社区工地每天夜里施工到凌晨两点，噪音太大无法休息");
        let b = shingles("尖山社区工地夜里施工到凌晨，噪音太大，居民无法休息");
        let other = shingles("公司拖欠工资三个月不发");
        assert!(jaccard(&a, &b) > 0.4, "{}", jaccard(&a, &b));
        assert!(jaccard(&a, &other) < 0.05, "{}", jaccard(&a, &other));
        assert_eq!(jaccard(&a, &a), 1.0);
    }

    #[test]
    fn empty_text_is_like_nothing() {
        assert_eq!(jaccard(&shingles(""), &shingles("")), 0.0);
        assert!(shingles("Street light out on Main St").contains("street"));
    }
}
