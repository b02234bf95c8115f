//! The category classifier: a linear support vector machine per category (one against
//! the rest), trained by dual coordinate descent (the method of liblinear) on tf-idf
//! weighted hashed features. Deterministic for a given seed; saved as one file with a
//! JSON header and the weights, quantised to a byte each.

use crate::features::{Extractor, Named, Sparse, sublinear, to_unit_length, weigh};
use crate::segment::Segmenter;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::Path;

const MAGIC: &[u8; 8] = b"MINHUCLS";
/// 3: a byte per idf and per weight, rows for the features training kept only (2: four
/// bytes each, in (index, value) pairs of a table with a row for every feature).
const FORMAT: u32 = 3;

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
/// features, each a random place in the table. So the table is small. Most of the 2^20
/// hashed features are never kept, so the rows of kept features only are stored,
/// found through a rank dictionary: per 64 features a bit each and the count of rows
/// before them. That small index stays in cache, and a feature training never kept (a
/// third or more of a new message's) costs no trip to the rows at all. And each entry
/// is one byte: the idf as a multiple of `idf_step` (0..255), a class's weight times
/// the idf as a multiple of that class's `weight_steps` (-127..127). A row of 7 classes
/// is 8 bytes instead of 32, and the table (3 MB for the Teddy Cup data) stays in the
/// processor's cache beside jieba's dictionary.
#[derive(Debug, PartialEq)]
struct Table {
    stride: usize,
    blocks: Vec<Block>,
    rows: Vec<u8>,
    idf_step: f32,
    weight_steps: Vec<f32>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Block {
    /// Which of these 64 features have a row.
    bits: u64,
    /// How many rows the features before these have.
    before: u32,
}

/// One kept feature's entries, decoded lazily: scoring reads the codes directly.
#[derive(Clone, Copy)]
struct Row<'a>(&'a [u8]);

impl Row<'_> {
    /// The idf in units of the table's `idf_step`.
    #[inline]
    fn idf_code(self) -> f32 {
        f32::from(self.0[0])
    }

    /// Each class's weight times the idf, in units of its `weight_steps`.
    #[inline]
    fn weight_codes(self) -> impl Iterator<Item = f32> {
        self.0[1..].iter().map(|&code| f32::from(code as i8))
    }
}

impl Table {
    /// From a row for every feature of the hash space (its idf, then its weight for
    /// each class); rows whose idf is 0 go, and the rest are quantised.
    fn quantise(full: &[f32], stride: usize) -> Table {
        let kept = || full.chunks_exact(stride).filter(|row| row[0] != 0.0);
        let largest_idf = kept().map(|row| row[0]).fold(0f32, f32::max);
        let mut largest_weight = vec![0f32; stride - 1];
        for row in kept() {
            for (largest, w) in largest_weight.iter_mut().zip(&row[1..]) {
                *largest = largest.max((w * row[0]).abs());
            }
        }
        // A step of 0 would divide by zero: nothing is kept or a class has no weight,
        // and every code is 0 whatever the step.
        let step = |largest: f32, codes: f32| {
            if largest > 0.0 { largest / codes } else { 1.0 }
        };
        let idf_step = step(largest_idf, f32::from(u8::MAX));
        let weight_steps: Vec<f32> = largest_weight
            .iter()
            .map(|&largest| step(largest, f32::from(i8::MAX)))
            .collect();
        let mut blocks = vec![Block::default(); (full.len() / stride).div_ceil(64)];
        let mut rows = Vec::new();
        for (feature, row) in full.chunks_exact(stride).enumerate() {
            if row[0] == 0.0 {
                continue;
            }
            blocks[feature / 64].bits |= 1 << (feature % 64);
            rows.push((row[0] / idf_step).round() as u8);
            for (w, step) in row[1..].iter().zip(&weight_steps) {
                rows.push(((w * row[0]) / step).round() as i8 as u8);
            }
        }
        Table::indexed(stride, blocks, rows, idf_step, weight_steps)
    }

    /// The table of these rows, once each block knows how many rows come before it.
    fn indexed(
        stride: usize,
        mut blocks: Vec<Block>,
        rows: Vec<u8>,
        idf_step: f32,
        weight_steps: Vec<f32>,
    ) -> Table {
        let mut before = 0;
        for block in &mut blocks {
            block.before = before;
            before += block.bits.count_ones();
        }
        Table {
            stride,
            blocks,
            rows,
            idf_step,
            weight_steps,
        }
    }

    /// How many rows the bits of the blocks call for.
    fn kept(&self) -> usize {
        self.blocks
            .last()
            .map_or(0, |last| (last.before + last.bits.count_ones()) as usize)
    }

    /// Where the row of a feature training kept starts in `rows`.
    #[inline]
    fn offset(&self, feature: u32) -> Option<usize> {
        let block = self.blocks.get(feature as usize / 64)?;
        let bit = 1u64 << (feature % 64);
        if block.bits & bit == 0 {
            return None;
        }
        let rank = block.before as usize + (block.bits & (bit - 1)).count_ones() as usize;
        Some(rank * self.stride)
    }

    /// The row at `offset`.
    #[inline]
    fn row_at(&self, offset: usize) -> Row<'_> {
        Row(&self.rows[offset..offset + self.stride])
    }

    /// The row of a feature training kept.
    fn row(&self, feature: u32) -> Option<Row<'_>> {
        self.offset(feature).map(|offset| self.row_at(offset))
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
            table: Table::quantise(&table, stride),
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
        // Three short passes, because memory latency bounds this, not arithmetic. The
        // first finds each kept feature's row in the rank dictionary (small, in cache).
        // The second reads each row's idf: a loop of a few instructions around loads
        // that do not wait on each other, so the processor keeps dozens of rows on
        // their way from memory at once (a longer loop body fills its window with a
        // handful). The third sums with the rows already in cache.
        let rows: Vec<(usize, f32)> = counts
            .iter()
            .filter_map(|&(i, tf)| Some((self.table.offset(i)?, sublinear(tf))))
            .collect();
        let length: f32 = rows
            .iter()
            .map(|&(offset, tf)| {
                let value = tf * self.table.row_at(offset).idf_code();
                value * value
            })
            .sum();
        let mut sums = vec![0f32; self.bias.len()];
        for &(offset, tf) in &rows {
            for (sum, w) in sums
                .iter_mut()
                .zip(self.table.row_at(offset).weight_codes())
            {
                *sum += w * tf;
            }
        }
        // The sums are of codes: a class's step turns them into weights, and the idf
        // step the length's codes into the vector's length.
        let scale = if length > 0.0 {
            (length.sqrt() * self.table.idf_step).recip()
        } else {
            0.0
        };
        sums.iter()
            .zip(&self.table.weight_steps)
            .zip(&self.bias)
            .map(|((sum, step), bias)| sum * step * scale + bias)
            .collect()
    }

    /// The text as this model weighs it: the features training kept, each its
    /// sublinear tf times idf, scaled to unit length (what nearest neighbours compare
    /// by cosine); with the text behind each feature when `names` is given.
    pub fn vector(&self, text: &str, names: Option<&mut Vec<Named>>) -> Sparse {
        let counts = self.extractor.counts(text, names);
        let mut vector: Sparse = counts
            .iter()
            .filter_map(|&(i, tf)| {
                let idf = self.table.row(i)?.idf_code();
                Some((i, sublinear(tf) * idf)).filter(|(_, v)| *v > 0.0)
            })
            .collect();
        to_unit_length(&mut vector);
        vector
    }

    /// The hash space's size in bits (the features' indices are below 2^bits).
    pub fn dim_bits(&self) -> u32 {
        self.header.options.dim_bits.min(26)
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
        // A feature adds tf x idf / length x weight to the best class's score; the
        // table holds idf x weight in that class's steps, and the length and the step
        // are the same for every feature, so they do not change the order.
        let mut contributions: Vec<(f32, &str)> = named
            .iter()
            .filter_map(|name| {
                let tf = counts
                    .binary_search_by_key(&name.index, |&(i, _)| i)
                    .ok()
                    .map(|at| sublinear(counts[at].1))?;
                let weight = self.table.row(name.index)?.weight_codes().nth(best)?;
                Some((weight * tf, name.text.as_str()))
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

    /// The file: the magic bytes, the header's length and JSON, then the table (its
    /// steps, the bits of every block, the rows) and the biases, little-endian.
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        let header = serde_json::to_vec(&self.header)?;
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        out.write_all(MAGIC)?;
        out.write_all(&(header.len() as u32).to_le_bytes())?;
        out.write_all(&header)?;
        let table = &self.table;
        for step in std::iter::once(&table.idf_step).chain(&table.weight_steps) {
            out.write_all(&step.to_le_bytes())?;
        }
        for block in &table.blocks {
            out.write_all(&block.bits.to_le_bytes())?;
        }
        out.write_all(&table.rows)?;
        for bias in &self.bias {
            out.write_all(&bias.to_le_bytes())?;
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
        let dim_bits = header.options.dim_bits.min(26);
        let classes = header.labels.len();
        let idf_step = read_f32(&mut input)?;
        let weight_steps = (0..classes)
            .map(|_| read_f32(&mut input))
            .collect::<Result<Vec<f32>, _>>()?;
        let blocks = (0..(1usize << dim_bits).div_ceil(64))
            .map(|_| {
                read_u64(&mut input).map(|bits| Block {
                    bits,
                    ..Block::default()
                })
            })
            .collect::<Result<Vec<Block>, _>>()?;
        let mut table = Table::indexed(classes + 1, blocks, Vec::new(), idf_step, weight_steps);
        table.rows = vec![0u8; table.kept() * table.stride];
        input.read_exact(&mut table.rows)?;
        let bias = (0..classes)
            .map(|_| read_f32(&mut input))
            .collect::<Result<Vec<f32>, _>>()?;
        if input.read(&mut [0u8])? != 0 {
            return Err(ModelError::NotAModel(path.display().to_string()));
        }
        let extractor = Extractor::new(Segmenter::default(), dim_bits);
        Ok(Model {
            header,
            extractor,
            table,
            bias,
        })
    }
}

fn read_f32(input: &mut impl Read) -> std::io::Result<f32> {
    read_u32(input).map(f32::from_bits)
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
