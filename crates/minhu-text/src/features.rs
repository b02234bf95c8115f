//! Turning text into a sparse vector: hashed word unigrams and bigrams plus Chinese
//! character bigrams and trigrams (robust to segmentation mistakes), counted with a
//! sublinear term frequency. Hashing keeps memory fixed whatever the vocabulary.

use crate::normalize::{is_cjk, normalize};
use crate::segment::Segmenter;

/// A sparse vector: (feature index, value), indices ascending and unique.
pub type Sparse = Vec<(u32, f32)>;

/// A stable 64-bit FNV-1a hash (the standard hasher is randomly keyed per process).
fn fnv(kind: u8, parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |byte: u8| {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    };
    eat(kind);
    for part in parts {
        part.iter().copied().for_each(&mut eat);
        eat(0xff);
    }
    hash
}

/// One feature before hashing, kept with its text so a prediction can say which words
/// it rests on.
pub struct Named {
    pub index: u32,
    pub text: String,
}

pub struct Extractor {
    pub segmenter: Segmenter,
    dim_bits: u32,
}

impl Extractor {
    pub fn new(segmenter: Segmenter, dim_bits: u32) -> Self {
        Self {
            segmenter,
            dim_bits,
        }
    }

    pub fn dim(&self) -> usize {
        1 << self.dim_bits
    }

    fn index(&self, kind: u8, parts: &[&[u8]]) -> u32 {
        (fnv(kind, parts) & ((1u64 << self.dim_bits) - 1)) as u32
    }

    /// Raw counts, with the text behind each feature when `names` is given.
    pub fn counts(&self, text: &str, mut names: Option<&mut Vec<Named>>) -> Sparse {
        let text = normalize(text);
        let words = self.segmenter.words(&text);
        let mut indices = Vec::with_capacity(words.len() * 2 + text.len());
        for (i, word) in words.iter().enumerate() {
            let unigram = self.index(b'w', &[word.as_bytes()]);
            indices.push(unigram);
            if let Some(names) = names.as_deref_mut() {
                names.push(Named {
                    index: unigram,
                    text: (*word).to_owned(),
                });
            }
            if let Some(next) = words.get(i + 1) {
                let bigram = self.index(b'b', &[word.as_bytes(), next.as_bytes()]);
                indices.push(bigram);
                if let Some(names) = names.as_deref_mut() {
                    names.push(Named {
                        index: bigram,
                        text: format!("{word}{next}"),
                    });
                }
            }
        }
        let chinese: Vec<char> = text.chars().filter(|c| is_cjk(*c)).collect();
        let mut buffer = [0u8; 12];
        for n in [2] {
            for window in chinese.windows(n) {
                let mut len = 0;
                for c in window {
                    len += c.encode_utf8(&mut buffer[len..]).len();
                }
                let index = self.index(b'c', &[&buffer[..len]]);
                indices.push(index);
                if let Some(names) = names.as_deref_mut() {
                    names.push(Named {
                        index,
                        text: window.iter().collect(),
                    });
                }
            }
        }
        indices.sort_unstable();
        let mut counts: Sparse = Vec::with_capacity(indices.len());
        for index in indices {
            match counts.last_mut() {
                Some((last, count)) if *last == index => *count += 1.0,
                _ => counts.push((index, 1.0)),
            }
        }
        counts
    }
}

/// Sublinear tf times idf, scaled to unit length.
pub fn weigh(counts: &Sparse, idf: &[f32]) -> Sparse {
    weigh_with(counts, |_, feature| idf[feature as usize])
}

/// [`weigh`] with the idf of each (position in `counts`, feature) from `idf`.
pub fn weigh_with(counts: &Sparse, idf: impl Fn(usize, u32) -> f32) -> Sparse {
    let mut vector: Sparse = counts
        .iter()
        .enumerate()
        .map(|(at, &(i, tf))| (i, sublinear(tf) * idf(at, i)))
        .collect();
    let norm = vector.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
    if norm > 0.0 {
        vector.iter_mut().for_each(|(_, v)| *v /= norm);
    }
    vector
}

/// The sublinear term frequency 1 + ln(tf). Most features occur once in a message,
/// and 1 + ln(1) is exactly 1: no logarithm to take.
#[inline]
pub fn sublinear(tf: f32) -> f32 {
    if tf == 1.0 { 1.0 } else { 1.0 + tf.ln() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_sorted_unique_and_stable() {
        let extractor = Extractor::new(Segmenter::default(), 18);
        let a = extractor.counts("小区路灯不亮，路灯坏了", None);
        assert!(a.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(a.iter().any(|&(_, c)| c >= 2.0), "路灯 appears twice");
        assert_eq!(a, extractor.counts("小区 路灯 不亮 ， 路灯 坏了", None));
    }

    #[test]
    fn weighted_vectors_have_unit_length() {
        let extractor = Extractor::new(Segmenter::default(), 16);
        let counts = extractor.counts("公司拖欠工资三个月", None);
        let idf = vec![1.0; extractor.dim()];
        let length: f32 = weigh(&counts, &idf).iter().map(|(_, v)| v * v).sum();
        assert!((length - 1.0).abs() < 1e-4);
    }
}
