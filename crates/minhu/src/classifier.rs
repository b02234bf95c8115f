//! `minhu train` and `minhu eval`: the category classifier from labelled messages
//! (CSV/XLSX with the Teddy Cup columns: 留言主题, 留言详情, 一级分类).

use anyhow::Context;
use minhu_core::taxonomy::CategoryPath;
use minhu_engine::router::{CategorySuggestion, Classifier};
use minhu_import::{ImportRow, Reader};
use minhu_text::Model;
use minhu_text::model::TrainOptions;
use std::path::Path;
use std::time::Instant;

/// A trained model as the router's classifier: the three best categories, the first
/// with the words behind it.
pub struct TextClassifier(pub Model);

impl Classifier for TextClassifier {
    fn suggest(&self, title: &str, description: &str) -> Vec<CategorySuggestion> {
        let prediction = self.0.predict(&format!("{title} {description}"));
        prediction
            .ranked
            .into_iter()
            .take(3)
            .enumerate()
            .map(|(rank, (label, confidence))| CategorySuggestion {
                category: CategoryPath::new(&label),
                confidence,
                reasons: if rank == 0 {
                    prediction.reasons.clone()
                } else {
                    Vec::new()
                },
            })
            .collect()
    }
}

/// (text, label) pairs of a file; unreadable rows and rows without a label are
/// counted and skipped.
fn labelled(path: &Path) -> anyhow::Result<(Vec<String>, Vec<String>, usize)> {
    // The import error names the file already.
    let reader = Reader::open(path)?;
    let mut unreadable = 0;
    let rows: Vec<ImportRow> = reader
        .filter_map(|row| row.map_err(|_| unreadable += 1).ok())
        .collect();
    let (texts, labels, unlabelled) = pairs(&rows);
    Ok((texts, labels, unreadable + unlabelled))
}

/// (text, label) pairs of the rows that have a label, and how many had none.
pub fn pairs(rows: &[ImportRow]) -> (Vec<String>, Vec<String>, usize) {
    let (mut texts, mut labels) = (Vec::new(), Vec::new());
    for row in rows {
        if let Some(label) = &row.category {
            texts.push(format!("{} {}", row.title, row.description));
            labels.push(label.clone());
        }
    }
    let unlabelled = rows.len() - texts.len();
    (texts, labels, unlabelled)
}

pub fn train(data: &Path, out: &Path, seed: u64) -> anyhow::Result<()> {
    let started = Instant::now();
    let (texts, labels, skipped) = labelled(data)?;
    let model = train_model(&texts, &labels, seed)?;
    model
        .save(out)
        .with_context(|| format!("cannot write {}", out.display()))?;
    let size = std::fs::metadata(out).map(|m| m.len()).unwrap_or_default();
    println!(
        "trained on {} messages ({} skipped: no label, or unreadable), {} categories, in {:.1}s; model {} ({:.1} MB)",
        texts.len(),
        skipped,
        model.labels().len(),
        started.elapsed().as_secs_f64(),
        out.display(),
        size as f64 / 1e6
    );
    Ok(())
}

/// Trains with a progress bar (drawn only on a terminal).
pub fn train_model(texts: &[String], labels: &[String], seed: u64) -> anyhow::Result<Model> {
    let bar = crate::import::progress_bar(Some(texts.len() as u64), "training");
    let options = TrainOptions {
        seed,
        ..TrainOptions::default()
    };
    let model = Model::train(texts, labels, options, |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    Ok(model)
}

pub fn eval(model: &Path, data: &Path) -> anyhow::Result<()> {
    let model =
        Model::load(model).with_context(|| format!("cannot load the model {}", model.display()))?;
    let (texts, labels, skipped) = labelled(data)?;
    let started = Instant::now();
    let pairs: Vec<(String, String)> = texts
        .iter()
        .zip(labels)
        .map(|(text, truth)| (truth, model.best(text).to_owned()))
        .collect();
    let elapsed = started.elapsed().as_secs_f64();
    let scores = minhu_text::metrics::score(&pairs);
    println!(
        "{:<16} {:>9} {:>9} {:>9} {:>8}",
        "category", "precision", "recall", "f1", "support"
    );
    for class in &scores.classes {
        println!(
            "{:<16} {:>9.4} {:>9.4} {:>9.4} {:>8}",
            class.label, class.precision, class.recall, class.f1, class.support
        );
    }
    println!(
        "{} messages ({} skipped: no label, or unreadable) in {:.2}s: {:.0} messages/s",
        scores.n,
        skipped,
        elapsed,
        scores.n as f64 / elapsed.max(1e-9)
    );
    println!(
        "macro_f1={:.4} accuracy={:.4} n={}",
        scores.macro_f1, scores.accuracy, scores.n
    );
    Ok(())
}

/// `minhu bench classify`: the fast path (`Model::best`) over every message, `rounds`
/// times on this thread. CPU time rather than wall time, so that other processes on the
/// machine do not count against the classifier.
pub fn bench(model_path: &Path, data: &Path, rounds: usize) -> anyhow::Result<()> {
    let model = Model::load(model_path)
        .with_context(|| format!("cannot load the model {}", model_path.display()))?;
    let (texts, _, _) = labelled(data)?;
    anyhow::ensure!(
        !texts.is_empty(),
        "{}: no labelled messages",
        data.display()
    );
    let mut checksum = 0usize;
    for text in &texts {
        checksum += model.best(text).len();
    }
    let bar = crate::import::progress_bar(Some(rounds as u64), "classifying");
    let started = thread_cpu_seconds()?;
    for _ in 0..rounds {
        for text in &texts {
            checksum += model.best(text).len();
        }
        bar.inc(1);
    }
    let cpu = thread_cpu_seconds()? - started;
    bar.finish_and_clear();
    let messages = texts.len() * rounds;
    let chars: usize = texts.iter().map(|t| t.chars().count()).sum();
    println!(
        "{messages} messages ({:.0} characters on average) in {cpu:.2}s of CPU time: {:.0} messages/s on one core",
        chars as f64 / texts.len() as f64,
        messages as f64 / cpu.max(1e-9)
    );
    println!(
        "model file {:.1} MB; peak memory (RSS) {:.0} MB; checksum {checksum}",
        std::fs::metadata(model_path)?.len() as f64 / 1e6,
        peak_rss_kb()? as f64 / 1024.0
    );
    Ok(())
}

/// This thread's time on a CPU so far (Linux: /proc/thread-self/schedstat, nanoseconds).
fn thread_cpu_seconds() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat")
        .context("the classify benchmark reads /proc/thread-self/schedstat (Linux)")?;
    let nanos: f64 = stat
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .context("/proc/thread-self/schedstat: no CPU time in it")?;
    Ok(nanos / 1e9)
}

/// The process's peak resident memory (VmHWM of /proc/self/status), in KiB.
fn peak_rss_kb() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("/proc/self/status: no VmHWM line")
}
