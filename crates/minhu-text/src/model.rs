//! The category classifier: a linear support vector machine per category (one against
//! the rest), trained by dual coordinate descent (the method of liblinear) on tf-idf
//! weighted hashed features. Deterministic for a given seed; saved as one file with a
//! JSON header and the weights.

use crate::features::{Extractor, Named, Sparse, sublinear, weigh, weigh_with};
use crate::segment::Segmenter;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::Path;

const MAGIC: &[u8; 8] = b"MINHUCLS";
/// 2: one table, a row per feature: its idf, then its weight for every class.
const FORMAT: u32 = 2;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainOptions {
    /// The hash space is 2^dim_bits features.
    pub dim_bits: u32,
    /// Inverse regularisation strength.
    pub c: f32,
    pub epochs: u32,
    pub seed: u64,
    /// Small categories weigh more: a category's own messages get C times
    /// (others / own)^balance, so a rare category is not drowned by the rest (which
    /// macro-F1, averaging over categories, punishes). 0 = unweighted, 1 = fully balanced.
    pub balance: f32,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            dim_bits: 20,
            c: 1.0,
            epochs: 25,
            seed: 20_201_111,
            balance: 0.5,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Header {
    format: u32,
    labels: Vec<String>,
    options: TrainOptions,
    documents: usize,
    /// Absent in files written before models said where they came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    provenance: Option<Provenance>,
}

/// Where a model came from, kept in its file: models are retrained as dispatchers
/// correct the router, and a model in use must be traceable to its training.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// What it learned from: a data file, or a store (its database, credentials left out).
    pub source: String,
    /// When training finished (RFC 3339, UTC): the model's version.
    pub trained_at: String,
}

pub struct Model {
    header: Header,
    extractor: Extractor,
    table: Table,
    bias: Vec<f32>,
}

/// The weights: a row per feature that training kept (idf not zero), holding its idf
/// and then its weight for each class, so scoring a feature reads one cache line
/// instead of one per class plus the idf's.
///
/// Memory latency, not arithmetic, bounds inference: a message has hundreds of
/// features, each a random place in the table. Most of the 2^20 hashed features are
/// never kept, so the rows of kept features only are stored (a third of the full
/// table, which with jieba's dictionary no longer crowds the cache), found through a
/// rank dictionary: per 64 features a bit each and the count of rows before them. That
/// small index stays in cache, and a feature training never kept (a third or more of a
/// new message's) costs no trip to the rows at all.
#[derive(Debug, PartialEq)]
struct Table {
    stride: usize,
    blocks: Vec<Block>,
    rows: Vec<f32>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Block {
    /// Which of these 64 features have a row.
    bits: u64,
    /// How many rows the features before these have.
    before: u32,
}

impl Table {
    fn empty(features: usize, stride: usize) -> Table {
        Table {
            stride,
            blocks: vec![Block::default(); features.div_ceil(64)],
            rows: Vec::new(),
        }
    }

    /// From a row for every feature of the hash space; rows whose idf is 0 go.
    fn compact(full: &[f32], stride: usize) -> Table {
        let mut table = Table::empty(full.len() / stride, stride);
        for (feature, row) in full.chunks_exact(stride).enumerate() {
            for (k, value) in row.iter().enumerate() {
                table.put(feature, k, *value);
            }
        }
        table.finish();
        table
    }

    /// Sets entry `k` of a feature's row, features in ascending order: an idf (k = 0)
    /// that is not zero starts the feature's row; a weight of a feature without one
    /// is never read, so it is dropped.
    fn put(&mut self, feature: usize, k: usize, value: f32) {
        let bit = 1u64 << (feature % 64);
        let block = &mut self.blocks[feature / 64];
        if k == 0 && value != 0.0 && block.bits & bit == 0 {
            block.bits |= bit;
            self.rows.resize(self.rows.len() + self.stride, 0.0);
        }
        // Features come in ascending order, so a kept feature's row is the last one.
        if block.bits & bit != 0 {
            let at = self.rows.len() - self.stride + k;
            self.rows[at] = value;
        }
    }

    /// Counts the rows before each block, once every row is in.
    fn finish(&mut self) {
        let mut before = 0;
        for block in &mut self.blocks {
            block.before = before;
            before += block.bits.count_ones();
        }
    }

    /// The row of a feature training kept.
    #[inline]
    fn row(&self, feature: u32) -> Option<&[f32]> {
        let block = self.blocks.get(feature as usize / 64)?;
        let bit = 1u64 << (feature % 64);
        if block.bits & bit == 0 {
            return None;
        }
        let rank = block.before as usize + (block.bits & (bit - 1)).count_ones() as usize;
        Some(&self.rows[rank * self.stride..(rank + 1) * self.stride])
    }

    /// Every kept feature and its row, in feature order.
    fn iter(&self) -> impl Iterator<Item = (usize, &[f32])> {
        let kept = self.blocks.iter().enumerate().flat_map(|(at, block)| {
            (0..64)
                .filter(move |bit| block.bits & (1 << bit) != 0)
                .map(move |bit| at * 64 + bit)
        });
        kept.zip(self.rows.chunks_exact(self.stride))
    }
}

/// Categories ranked best first, each with a confidence in 0..1 (a softmax of the
/// margins: comparable between tickets, not a calibrated probability), and the words
/// that weighed most for the best one.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    pub ranked: Vec<(String, f32)>,
    pub reasons: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("no labelled documents to train on")]
    Empty,
    #[error("training needs at least two categories, found {0}")]
    OneClass(usize),
    #[error("{0} is not a minhu model file")]
    NotAModel(String),
    #[error("the model file was written by format {0}; this minhu reads format {FORMAT}")]
    Format(u32),
    #[error("model file: {0}")]
    Io(#[from] std::io::Error),
    #[error("model header: {0}")]
    Header(#[from] serde_json::Error),
}

/// How sharply margins turn into confidences.
const SHARPNESS: f32 = 4.0;

impl Model {
    /// Trains on (text, label) pairs. `progress(done, total)` is called as work advances.
    pub fn train(
        texts: &[String],
        labels: &[String],
        options: TrainOptions,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<Model, ModelError> {
        if texts.is_empty() {
            return Err(ModelError::Empty);
        }
        let mut names: Vec<String> = labels.to_vec();
        names.sort();
        names.dedup();
        if names.len() < 2 {
            return Err(ModelError::OneClass(names.len()));
        }
        let extractor = Extractor::new(Segmenter::default(), options.dim_bits);
        let dim = extractor.dim();
        let total = texts.len() + names.len();
        let counts: Vec<Sparse> = texts
            .iter()
            .enumerate()
            .map(|(i, text)| {
                progress(i + 1, total);
                extractor.counts(text, None)
            })
            .collect();
        let mut df = vec![0u32; dim];
        for doc in &counts {
            for &(i, _) in doc {
                df[i as usize] += 1;
            }
        }
        let n = texts.len() as f32;
        // A feature seen in one message only says nothing general (min_df = 2); its
        // weight of zero also keeps the model file small.
        let idf: Vec<f32> = df
            .iter()
            .map(|&d| {
                if d < 2 {
                    0.0
                } else {
                    ((1.0 + n) / (1.0 + d as f32)).ln() + 1.0
                }
            })
            .collect();
        let docs: Vec<Sparse> = counts.iter().map(|c| weigh(c, &idf)).collect();
        let targets: Vec<usize> = labels
            .iter()
            .map(|l| names.binary_search(l).expect("every label is in names"))
            .collect();
        let classes = names.len();
        let stride = classes + 1;
        let mut table = vec![0f32; stride * dim];
        for (feature, value) in idf.iter().enumerate() {
            table[feature * stride] = *value;
        }
        let mut bias = vec![0f32; classes];
        let mut rng = StdRng::seed_from_u64(options.seed);
        let mut row = vec![0f32; dim];
        for class in 0..classes {
            row.fill(0.0);
            bias[class] = train_one(&docs, &targets, class, &mut row, &options, &mut rng);
            for (feature, w) in row.iter().enumerate() {
                table[feature * stride + 1 + class] = *w;
            }
            progress(texts.len() + class + 1, total);
        }
        Ok(Model {
            header: Header {
                format: FORMAT,
                labels: names,
                options,
                documents: texts.len(),
                provenance: None,
            },
            extractor,
            table: Table::compact(&table, stride),
            bias,
        })
    }

    pub fn labels(&self) -> &[String] {
        &self.header.labels
    }

    pub fn documents(&self) -> usize {
        self.header.documents
    }

    pub fn provenance(&self) -> Option<&Provenance> {
        self.header.provenance.as_ref()
    }

    pub fn set_provenance(&mut self, provenance: Provenance) {
        self.header.provenance = Some(provenance);
    }

    /// Class scores of raw feature counts: tf-idf weighting, unit length and the dot
    /// products in one pass over the table (the length is known only at the end, and
    /// scaling the sums by it is the same as scaling the vector).
    fn scores(&self, counts: &Sparse) -> Vec<f32> {
        // Two passes. The first only finds each kept feature's row and reads its idf:
        // a short loop of independent loads, which the processor keeps dozens of in
        // flight at once. The second sums with the rows already in cache. (In one pass
        // each row's arithmetic fills the processor's window, so only a few rows were
        // on their way from memory at a time.)
        let rows: Vec<(&[f32], f32)> = counts
            .iter()
            .filter_map(|&(i, tf)| {
                let row = self.table.row(i)?;
                Some((row, sublinear(tf) * row[0]))
            })
            .collect();
        let mut sums = vec![0f32; self.bias.len()];
        let mut length = 0f32;
        for (row, value) in rows {
            length += value * value;
            for (sum, w) in sums.iter_mut().zip(&row[1..]) {
                *sum += w * value;
            }
        }
        let scale = if length > 0.0 {
            length.sqrt().recip()
        } else {
            0.0
        };
        sums.iter()
            .zip(&self.bias)
            .map(|(sum, bias)| sum * scale + bias)
            .collect()
    }

    /// Only the best category, without explanations (the fast path for bulk scoring).
    pub fn best(&self, text: &str) -> &str {
        let scores = self.scores(&self.extractor.counts(text, None));
        let best = (0..scores.len())
            .max_by(|&a, &b| scores[a].total_cmp(&scores[b]))
            .unwrap_or(0);
        &self.header.labels[best]
    }

    pub fn predict(&self, text: &str) -> Prediction {
        let mut named: Vec<Named> = Vec::new();
        let counts = self.extractor.counts(text, Some(&mut named));
        let scores = self.scores(&counts);
        let idf: Vec<f32> = counts
            .iter()
            .map(|&(i, _)| self.table.row(i).map_or(0.0, |row| row[0]))
            .collect();
        let vector = weigh_with(&counts, |at, _| idf[at]);
        let top = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exp: Vec<f32> = scores
            .iter()
            .map(|s| ((s - top) * SHARPNESS).exp())
            .collect();
        let sum: f32 = exp.iter().sum();
        let mut ranked: Vec<(String, f32)> = self
            .header
            .labels
            .iter()
            .cloned()
            .zip(exp.iter().map(|e| e / sum))
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        let best = self
            .header
            .labels
            .iter()
            .position(|l| *l == ranked[0].0)
            .unwrap_or(0);
        let mut contributions: Vec<(f32, &str)> = named
            .iter()
            .filter_map(|name| {
                let value = vector
                    .binary_search_by_key(&name.index, |&(i, _)| i)
                    .ok()
                    .map(|at| vector[at].1)?;
                let weight = self.table.row(name.index)?[1 + best];
                Some((weight * value, name.text.as_str()))
            })
            .filter(|(weight, _)| *weight > 0.0)
            .collect();
        contributions.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut reasons: Vec<String> = Vec::new();
        for (_, text) in contributions {
            if !reasons.iter().any(|r| r == text) {
                reasons.push(text.to_owned());
            }
            if reasons.len() == 5 {
                break;
            }
        }
        Prediction { ranked, reasons }
    }

    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        let header = serde_json::to_vec(&self.header)?;
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        out.write_all(MAGIC)?;
        out.write_all(&(header.len() as u32).to_le_bytes())?;
        out.write_all(&header)?;
        // Only non-zero idf entries and weights are worth storing: (index, value) pairs,
        // indexed as in a table with a row for every feature.
        let stride = self.table.stride;
        let weights: Vec<(u32, f32)> = self
            .table
            .iter()
            .flat_map(|(feature, row)| {
                row.iter()
                    .enumerate()
                    .map(move |(k, v)| ((feature * stride + k) as u32, *v))
            })
            .filter(|(_, v)| *v != 0.0)
            .collect();
        let bias: Vec<(u32, f32)> = (0u32..)
            .zip(self.bias.iter().copied())
            .filter(|(_, v)| *v != 0.0)
            .collect();
        for nonzero in [weights, bias] {
            out.write_all(&(nonzero.len() as u64).to_le_bytes())?;
            for (i, v) in nonzero {
                out.write_all(&i.to_le_bytes())?;
                out.write_all(&v.to_le_bytes())?;
            }
        }
        out.flush()?;
        Ok(())
    }

    pub fn load(path: &Path) -> Result<Model, ModelError> {
        let mut input = std::io::BufReader::new(std::fs::File::open(path)?);
        let mut magic = [0u8; 8];
        input
            .read_exact(&mut magic)
            .map_err(|_| ModelError::NotAModel(path.display().to_string()))?;
        if &magic != MAGIC {
            return Err(ModelError::NotAModel(path.display().to_string()));
        }
        let header_len = read_u32(&mut input)? as usize;
        let mut header = vec![0u8; header_len.min(1 << 20)];
        input.read_exact(&mut header)?;
        let header: Header = serde_json::from_slice(&header)?;
        if header.format != FORMAT {
            return Err(ModelError::Format(header.format));
        }
        let dim = 1usize << header.options.dim_bits.min(26);
        let classes = header.labels.len();
        let not_a_model = || ModelError::NotAModel(path.display().to_string());
        // The weights come as (index, value) pairs of a table with a row for every
        // feature, in index order; each kept row starts with its idf. They go straight
        // into the compact table, never into the full one (three times its size).
        let stride = classes + 1;
        let mut table = Table::empty(dim, stride);
        let mut last = None;
        for _ in 0..read_u64(&mut input)? {
            let index = read_u32(&mut input)? as usize;
            let value = f32::from_bits(read_u32(&mut input)?);
            if index >= dim * stride || last.is_some_and(|last| index <= last) {
                return Err(not_a_model());
            }
            last = Some(index);
            table.put(index / stride, index % stride, value);
        }
        table.finish();
        let mut bias = vec![0f32; classes];
        for _ in 0..read_u64(&mut input)? {
            let index = read_u32(&mut input)? as usize;
            let value = f32::from_bits(read_u32(&mut input)?);
            *bias.get_mut(index).ok_or_else(not_a_model)? = value;
        }
        let extractor = Extractor::new(Segmenter::default(), header.options.dim_bits.min(26));
        Ok(Model {
            header,
            extractor,
            table,
            bias,
        })
    }
}

fn read_u64(input: &mut impl Read) -> std::io::Result<u64> {
    let mut bytes = [0u8; 8];
    input.read_exact(&mut bytes)?;
    Ok(u64::from_le_bytes(bytes))
}

fn read_u32(input: &mut impl Read) -> std::io::Result<u32> {
    let mut bytes = [0u8; 4];
    input.read_exact(&mut bytes)?;
    Ok(u32::from_le_bytes(bytes))
}

/// One class against the rest: L2-regularised squared-hinge SVM, solved in the dual by
/// coordinate descent. Returns the bias; fills `w`.
fn train_one(
    docs: &[Sparse],
    targets: &[usize],
    class: usize,
    w: &mut [f32],
    options: &TrainOptions,
    rng: &mut StdRng,
) -> f32 {
    let positives = targets.iter().filter(|&&t| t == class).count().max(1) as f32;
    let negatives = (targets.len() as f32 - positives).max(1.0);
    let c_positive = options.c * (negatives / positives).powf(options.balance);
    let mut alpha = vec![0f32; docs.len()];
    let mut bias = 0f32;
    let mut order: Vec<usize> = (0..docs.len()).collect();
    for _ in 0..options.epochs {
        order.shuffle(rng);
        let mut largest_step = 0f32;
        for &i in &order {
            let y = if targets[i] == class { 1.0 } else { -1.0 };
            let diagonal = if y > 0.0 {
                0.5 / c_positive
            } else {
                0.5 / options.c
            };
            let doc = &docs[i];
            let margin: f32 = doc.iter().map(|&(j, v)| w[j as usize] * v).sum::<f32>() + bias;
            let gradient = y * margin - 1.0 + diagonal * alpha[i];
            let projected = if alpha[i] == 0.0 {
                gradient.min(0.0)
            } else {
                gradient
            };
            if projected.abs() < 1e-6 {
                continue;
            }
            // Each document has unit length, plus 1 for the bias feature.
            let q = 2.0 + diagonal;
            let old = alpha[i];
            alpha[i] = (old - gradient / q).max(0.0);
            let step = (alpha[i] - old) * y;
            for &(j, v) in doc {
                w[j as usize] += step * v;
            }
            bias += step;
            largest_step = largest_step.max(step.abs());
        }
        if largest_step < 1e-4 {
            break;
        }
    }
    bias
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> (Vec<String>, Vec<String>) {
        let data = [
            ("小区路灯坏了物业不修", "城乡建设"),
            ("物业乱收停车费", "城乡建设"),
            ("楼下违章建筑占用消防通道", "城乡建设"),
            ("小区电梯经常停运物业不管", "城乡建设"),
            ("公司拖欠工资三个月不发", "劳动和社会保障"),
            ("社保断缴怎么补缴", "劳动和社会保障"),
            ("农民工工资被包工头拖欠", "劳动和社会保障"),
            ("退休养老金迟迟没有到账", "劳动和社会保障"),
            ("学校强制学生购买教辅资料", "教育文体"),
            ("幼儿园乱收费", "教育文体"),
            ("老师周末有偿补课", "教育文体"),
            ("孩子上学学位不够", "教育文体"),
        ];
        data.iter()
            .map(|(t, l)| (t.to_string(), l.to_string()))
            .unzip()
    }

    fn small() -> TrainOptions {
        TrainOptions {
            dim_bits: 16,
            ..TrainOptions::default()
        }
    }

    #[test]
    fn learns_clear_cases_and_explains_them() {
        let (texts, labels) = fixture();
        let model = Model::train(&texts, &labels, small(), |_, _| {}).unwrap();
        let p = model.predict("我们公司拖欠工资半年了");
        assert_eq!(p.ranked[0].0, "劳动和社会保障");
        assert!(p.ranked[0].1 > p.ranked[1].1);
        assert!(
            p.reasons.iter().any(|r| r.contains("工资")),
            "{:?}",
            p.reasons
        );
        assert_eq!(model.best("物业不修路灯"), "城乡建设");
        assert_eq!(model.best("学校乱收补课费"), "教育文体");
        let total: f32 = p.ranked.iter().map(|(_, c)| c).sum();
        assert!((total - 1.0).abs() < 1e-3);
    }

    #[test]
    fn training_is_deterministic_and_saving_keeps_the_model() {
        let (texts, labels) = fixture();
        let mut a = Model::train(&texts, &labels, small(), |_, _| {}).unwrap();
        let b = Model::train(&texts, &labels, small(), |_, _| {}).unwrap();
        assert_eq!(a.table, b.table);
        let provenance = Provenance {
            source: "fixture".into(),
            trained_at: "2026-11-23T19:00:00Z".into(),
        };
        a.set_provenance(provenance.clone());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.bin");
        a.save(&path).unwrap();
        let loaded = Model::load(&path).unwrap();
        assert_eq!(loaded.table, a.table);
        assert_eq!(loaded.provenance(), Some(&provenance));
        assert_eq!(
            loaded.predict("幼儿园收费太高"),
            a.predict("幼儿园收费太高")
        );
    }

    #[test]
    fn refuses_what_cannot_be_trained_or_loaded() {
        assert!(matches!(
            Model::train(&[], &[], small(), |_, _| {}),
            Err(ModelError::Empty)
        ));
        let one = Model::train(&["a".into()], &["x".into()], small(), |_, _| {});
        assert!(matches!(one, Err(ModelError::OneClass(1))));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("not-a-model");
        std::fs::write(&path, b"hello world, not a model").unwrap();
        assert!(matches!(Model::load(&path), Err(ModelError::NotAModel(_))));
    }
}
