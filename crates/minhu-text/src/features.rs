//! Turning text into a sparse vector: hashed word unigrams and bigrams plus Chinese
//! character bigrams (robust to segmentation mistakes), counted with a sublinear term
//! frequency. Hashing keeps memory fixed whatever the vocabulary.

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
        // Pairs of neighbouring Chinese characters, whatever lies between them.
        let mut buffer = [0u8; 8];
        let mut previous: Option<char> = None;
        for c in text.chars().filter(|c| is_cjk(*c)) {
            if let Some(first) = previous {
                let len = first.encode_utf8(&mut buffer).len();
                let len = len + c.encode_utf8(&mut buffer[len..]).len();
                let index = self.index(b'c', &[&buffer[..len]]);
                indices.push(index);
                if let Some(names) = names.as_deref_mut() {
                    names.push(Named {
                        index,
                        text: format!("{first}{c}"),
                    });
                }
            }
            previous = Some(c);
        }
        sort_indices(&mut indices, self.dim_bits);
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

/// Sorts feature indices below 2^`bits`: a radix sort, a pass per 11 bits, linear in a
/// message's few hundred indices (a comparison sort took a twelfth of inference).
fn sort_indices(indices: &mut Vec<u32>, bits: u32) {
    const DIGIT: u32 = 11;
    let mut sorted = vec![0u32; indices.len()];
    let mut shift = 0;
    while shift < bits {
        let mask = (1u32 << DIGIT.min(bits - shift)) - 1;
        let mut starts = [0u32; 1 << DIGIT];
        for &index in indices.iter() {
            starts[((index >> shift) & mask) as usize] += 1;
        }
        let mut start = 0;
        for slot in &mut starts[..=mask as usize] {
            let count = *slot;
            *slot = start;
            start += count;
        }
        for &index in indices.iter() {
            let slot = &mut starts[((index >> shift) & mask) as usize];
            sorted[*slot as usize] = index;
            *slot += 1;
        }
        std::mem::swap(indices, &mut sorted);
        shift += DIGIT;
    }
}

/// Sublinear tf times idf, scaled to unit length.
pub fn weigh(counts: &Sparse, idf: &[f32]) -> Sparse {
    let mut vector: Sparse = counts
        .iter()
        .map(|&(i, tf)| (i, sublinear(tf) * idf[i as usize]))
        .collect();
    to_unit_length(&mut vector);
    vector
}

/// Scales a vector to length 1 (an empty or all-zero one stays as it is), so that a
/// dot product of two is their cosine.
pub fn to_unit_length(vector: &mut Sparse) {
    let norm = vector.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
    if norm > 0.0 {
        vector.iter_mut().for_each(|(_, v)| *v /= norm);
    }
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
    fn the_radix_sort_sorts_every_width() {
        for bits in [1, 11, 16, 20, 26] {
            let mut state = 0x1234_5678_u64;
            let mut indices: Vec<u32> = (0..1000)
                .map(|_| {
                    state = fnv(b't', &[&state.to_le_bytes()]);
                    (state & ((1 << bits) - 1)) as u32
                })
                .collect();
            let mut expected = indices.clone();
            expected.sort_unstable();
            sort_indices(&mut indices, bits);
            assert_eq!(indices, expected, "{bits} bits");
        }
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
