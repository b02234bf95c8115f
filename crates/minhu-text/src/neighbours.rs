//! Nearest neighbours over handled tickets: each resolved or closed ticket's text as
//! the category model weighs it ([`crate::Model::vector`]), kept with what the ticket
//! ended with (its category at every level a dispatcher gave, its unit, the units that
//! returned it). A new demand's most similar tickets (cosine) are found through an
//! inverted index: only the tickets sharing a feature with it are touched.
//!
//! A ticket keeps its [`KEPT`] heaviest features (scaled to unit length again): a
//! message has a few hundred, most of them weak, and 100k tickets in full would take
//! gigabytes; the heaviest carry the cosine.

use crate::features::{Named, Sparse, to_unit_length};
use crate::model::{ModelError, Provenance};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::Path;

const MAGIC: &[u8; 8] = b"MINHUKNN";
const FORMAT: u32 = 1;
/// The features kept of a handled ticket's vector, heaviest first.
pub const KEPT: usize = 64;
/// A kept weight (0..1 in a unit vector) as a multiple of 1/65535.
const STEP: f32 = 1.0 / 65_535.0;

/// What a handled ticket ended with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Handled {
    /// Its number, as shown.
    pub ticket: String,
    /// The category path it ended with, as deep as it was given.
    pub category: Option<String>,
    /// The unit that handled it, and that unit's post (`level` or `level:role`).
    pub unit: Option<String>,
    pub post: Option<String>,
    /// The posts of units that returned it (退单) and were not its last unit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub returned: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct Header {
    format: u32,
    dim_bits: u32,
    kept: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    provenance: Option<Provenance>,
    tickets: Vec<Handled>,
}

/// Handled tickets and their inverted index: per feature, the tickets that have it
/// (ascending) and its weight in each.
pub struct Neighbours {
    header: Header,
    /// Per feature, where its postings start in `docs` and `weights`; then their total.
    starts: Vec<u32>,
    docs: Vec<u32>,
    weights: Vec<u16>,
}

/// A handled ticket found like a demand: its place among the tickets, and the cosine.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Near {
    pub index: usize,
    pub similarity: f32,
}

impl Neighbours {
    /// The index of `tickets` (each with its vector from the model whose hash space is
    /// 2^`dim_bits`), in the order given.
    pub fn new(tickets: Vec<(Handled, Sparse)>, dim_bits: u32) -> Self {
        let dim = 1usize << dim_bits;
        let mut kept_vectors = Vec::with_capacity(tickets.len());
        let mut handled = Vec::with_capacity(tickets.len());
        for (ticket, vector) in tickets {
            kept_vectors.push(heaviest(vector, KEPT));
            handled.push(ticket);
        }
        let mut starts = vec![0u32; dim + 1];
        for vector in &kept_vectors {
            for &(feature, _) in vector {
                starts[feature as usize + 1] += 1;
            }
        }
        for feature in 0..dim {
            starts[feature + 1] += starts[feature];
        }
        let total = starts[dim] as usize;
        let (mut docs, mut weights) = (vec![0u32; total], vec![0u16; total]);
        let mut next: Vec<u32> = starts[..dim].to_vec();
        for (doc, vector) in kept_vectors.iter().enumerate() {
            for &(feature, weight) in vector {
                let at = &mut next[feature as usize];
                docs[*at as usize] = doc as u32;
                weights[*at as usize] = (weight / STEP).round() as u16;
                *at += 1;
            }
        }
        Neighbours {
            header: Header {
                format: FORMAT,
                dim_bits,
                kept: KEPT,
                provenance: None,
                tickets: handled,
            },
            starts,
            docs,
            weights,
        }
    }

    pub fn len(&self) -> usize {
        self.header.tickets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.header.tickets.is_empty()
    }

    pub fn ticket(&self, index: usize) -> &Handled {
        &self.header.tickets[index]
    }

    pub fn provenance(&self) -> Option<&Provenance> {
        self.header.provenance.as_ref()
    }

    pub fn set_provenance(&mut self, provenance: Provenance) {
        self.header.provenance = Some(provenance);
    }

    /// The postings of a feature: the tickets that have it and its weights there.
    fn postings(&self, feature: u32) -> (&[u32], &[u16]) {
        let feature = feature as usize;
        match (self.starts.get(feature), self.starts.get(feature + 1)) {
            (Some(&start), Some(&end)) => {
                let range = start as usize..end as usize;
                (&self.docs[range.clone()], &self.weights[range])
            }
            _ => (&[], &[]),
        }
    }

    /// The `k` tickets most similar to `query` (a unit vector of the same model), most
    /// similar first; tickets sharing no feature with it are never among them.
    pub fn nearest(&self, query: &Sparse, k: usize) -> Vec<Near> {
        let mut scores = vec![0f32; self.len()];
        for &(feature, value) in query {
            let (docs, weights) = self.postings(feature);
            for (&doc, &weight) in docs.iter().zip(weights) {
                scores[doc as usize] += value * f32::from(weight);
            }
        }
        let mut found: Vec<Near> = scores
            .iter()
            .enumerate()
            .filter(|(_, s)| **s > 0.0)
            .map(|(index, s)| Near {
                index,
                similarity: s * STEP,
            })
            .collect();
        let by_similarity = |a: &Near, b: &Near| {
            b.similarity
                .total_cmp(&a.similarity)
                .then(a.index.cmp(&b.index))
        };
        if found.len() > k && k > 0 {
            found.select_nth_unstable_by(k - 1, by_similarity);
        }
        found.truncate(k);
        found.sort_by(by_similarity);
        found
    }

    /// The words a ticket shares with the query, those that weigh most in both first,
    /// at most `limit`, each once (`names`: the query's features with their text).
    pub fn shared(
        &self,
        index: usize,
        query: &Sparse,
        names: &[Named],
        limit: usize,
    ) -> Vec<String> {
        let mut weighed: Vec<(f32, &str)> = names
            .iter()
            .filter_map(|name| {
                let at = query.binary_search_by_key(&name.index, |&(i, _)| i).ok()?;
                let (docs, weights) = self.postings(name.index);
                let found = docs.binary_search(&(index as u32)).ok()?;
                Some((query[at].1 * f32::from(weights[found]), name.text.as_str()))
            })
            .collect();
        weighed.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut words: Vec<String> = Vec::new();
        for (_, text) in weighed {
            if words.len() == limit {
                break;
            }
            if !words.iter().any(|w| w == text) {
                words.push(text.to_owned());
            }
        }
        words
    }

    /// The file: the magic bytes, the header's length and JSON (the tickets), then the
    /// index (each feature's start, the tickets, the weights), little-endian.
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        let header = serde_json::to_vec(&self.header)?;
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        out.write_all(MAGIC)?;
        out.write_all(&(header.len() as u64).to_le_bytes())?;
        out.write_all(&header)?;
        for value in self.starts.iter().chain(&self.docs) {
            out.write_all(&value.to_le_bytes())?;
        }
        for weight in &self.weights {
            out.write_all(&weight.to_le_bytes())?;
        }
        out.flush()?;
        Ok(())
    }

    pub fn load(path: &Path) -> Result<Neighbours, ModelError> {
        let mut input = std::io::BufReader::new(std::fs::File::open(path)?);
        let not_ours = || ModelError::NotAModel(path.display().to_string());
        let mut magic = [0u8; 8];
        input.read_exact(&mut magic).map_err(|_| not_ours())?;
        if &magic != MAGIC {
            return Err(not_ours());
        }
        let mut length = [0u8; 8];
        input.read_exact(&mut length)?;
        let mut header = vec![0u8; u64::from_le_bytes(length) as usize];
        input.read_exact(&mut header)?;
        let header: Header = serde_json::from_slice(&header)?;
        if header.format != FORMAT {
            return Err(ModelError::Format(header.format));
        }
        let dim = 1usize << header.dim_bits.min(26);
        let starts = read_all(&mut input, dim + 1, u32::from_le_bytes)?;
        let total = *starts.last().unwrap_or(&0) as usize;
        let docs = read_all(&mut input, total, u32::from_le_bytes)?;
        let weights = read_all(&mut input, total, u16::from_le_bytes)?;
        if input.read(&mut [0u8])? != 0
            || docs.iter().any(|&d| d as usize >= header.tickets.len())
            || starts.windows(2).any(|w| w[0] > w[1])
        {
            return Err(not_ours());
        }
        Ok(Neighbours {
            header,
            starts,
            docs,
            weights,
        })
    }
}

/// `count` little-endian numbers of `N` bytes.
fn read_all<T, const N: usize>(
    input: &mut impl Read,
    count: usize,
    decode: fn([u8; N]) -> T,
) -> std::io::Result<Vec<T>> {
    let mut bytes = vec![0u8; count * N];
    input.read_exact(&mut bytes)?;
    Ok(bytes
        .chunks_exact(N)
        .map(|chunk| decode(chunk.try_into().expect("chunks of N bytes")))
        .collect())
}

/// The `kept` heaviest features of a vector, in index order, at unit length again.
fn heaviest(mut vector: Sparse, kept: usize) -> Sparse {
    if vector.len() > kept {
        vector.select_nth_unstable_by(kept - 1, |a, b| b.1.total_cmp(&a.1));
        vector.truncate(kept);
        vector.sort_unstable_by_key(|&(i, _)| i);
    }
    to_unit_length(&mut vector);
    vector
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Model;
    use crate::model::TrainOptions;

    fn handled(ticket: &str, category: &str) -> Handled {
        Handled {
            ticket: ticket.into(),
            category: Some(category.into()),
            unit: None,
            post: None,
            returned: Vec::new(),
        }
    }

    #[test]
    fn the_most_similar_ticket_comes_first_and_survives_a_file() {
        let texts: Vec<String> = [
            "小区电梯坏了物业不修",
            "小区电梯经常停运物业不管",
            "公司拖欠工资三个月不发",
            "包工头拖欠农民工工资",
        ]
        .map(String::from)
        .to_vec();
        let labels: Vec<String> = ["城乡建设", "城乡建设", "劳动和社会保障", "劳动和社会保障"]
            .map(String::from)
            .to_vec();
        let model = Model::train(&texts, &labels, TrainOptions::default(), |_, _| {}).unwrap();
        let tickets = texts
            .iter()
            .zip(&labels)
            .enumerate()
            .map(|(i, (text, label))| (handled(&format!("{i}"), label), model.vector(text, None)))
            .collect();
        let index = Neighbours::new(tickets, model.dim_bits());
        let mut names = Vec::new();
        let query = model.vector("电梯坏了物业一直不修", Some(&mut names));
        let near = index.nearest(&query, 2);
        assert_eq!(near[0].index, 0, "{near:?}");
        assert!(near[0].similarity > near.get(1).map_or(0.0, |n| n.similarity));
        assert!(near[0].similarity <= 1.0 + 1e-3);
        assert!(
            index
                .shared(0, &query, &names, 5)
                .contains(&"电梯".to_owned())
        );
        assert!(index.nearest(&model.vector("", None), 3).is_empty());

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.bin");
        index.save(&path).unwrap();
        let loaded = Neighbours::load(&path).unwrap();
        assert_eq!(loaded.nearest(&query, 2), near);
        assert_eq!(loaded.ticket(2), index.ticket(2));
    }

    #[test]
    fn a_vector_keeps_its_heaviest_features_at_unit_length() {
        let vector: Sparse = (0..100).map(|i| (i, (i + 1) as f32)).collect();
        let kept = heaviest(vector, 10);
        assert_eq!(
            kept.iter().map(|&(i, _)| i).collect::<Vec<_>>(),
            (90..100).collect::<Vec<_>>()
        );
        let length: f32 = kept.iter().map(|(_, v)| v * v).sum();
        assert!((length - 1.0).abs() < 1e-4);
    }
}
