//! `minhu-bench neighbours`: the handled tickets as a second opinion
//! (`minhu_engine::neighbours`), measured three ways:
//! - `levels`: the second and third level of the hand-labelled sample, in folds (each
//!   fold's neighbours are the other folds' messages with their hand labels), beside
//!   the city's words (taxonomy + `categories.toml`) and the two merged as routing
//!   merges them; the first level from a model trained on train.csv;
//! - `first-level`: the first level of a holdout file, the model alone, the neighbours
//!   alone and the two together, neighbours and model from the same training file;
//! - `speed`: a neighbour search and vote per ticket, on one core, with N handled
//!   tickets stored.

use anyhow::Context;
use minhu::classifier::{TextClassifier, VOTERS, similar_in};
use minhu_core::reading::{Confidence, deepest};
use minhu_core::taxonomy::CategoryPath;
use minhu_engine::neighbours::{EVIDENCE, merge_levels, read_levels, vote_post};
use minhu_engine::router::Classifier;
use minhu_text::features::Sparse;
use minhu_text::neighbours::Handled;
use minhu_text::{Model, Neighbours};
use std::path::Path;

fn handled(index: usize, category: &str) -> Handled {
    Handled {
        ticket: index.to_string(),
        category: Some(category.to_owned()),
        unit: None,
        post: None,
        returned: Vec::new(),
    }
}

/// The index of `texts` labelled `labels`, as `model` weighs them.
fn index(model: &Model, texts: &[&String], labels: &[&String]) -> Neighbours {
    let tickets: Vec<(Handled, Sparse)> = texts
        .iter()
        .zip(labels)
        .enumerate()
        .map(|(i, (text, label))| (handled(i, label), model.vector(text, None)))
        .collect();
    Neighbours::new(tickets, model.dim_bits())
}

pub fn levels(model: &Path, sample: &Path, config: &Path, folds: usize) -> anyhow::Result<()> {
    let classifier = TextClassifier::load(model)?;
    let city = minhu_config::load_city(config)?;
    let (texts, labels, _) = minhu::classifier::labelled(sample)?;
    anyhow::ensure!(!texts.is_empty(), "{}: no labelled rows", sample.display());
    let confidence = city.categories.confidence();
    // Per reader (words, neighbours, merged) and level (2, 3): n, taken, right.
    let readers = ["city's words", "neighbours", "words + neighbours"];
    let mut counts = [[[0usize; 3]; 2]; 3];
    for fold in 0..folds {
        let (test, train): (Vec<usize>, Vec<usize>) =
            (0..texts.len()).partition(|i| i % folds == fold);
        let train_texts: Vec<&String> = train.iter().map(|&i| &texts[i]).collect();
        let train_labels: Vec<&String> = train.iter().map(|&i| &labels[i]).collect();
        let neighbours = index(&classifier.categories, &train_texts, &train_labels);
        for &i in &test {
            let (text, truth) = (&texts[i], CategoryPath::new(&labels[i]));
            let Some(best) = classifier.suggest(text, "").into_iter().next() else {
                continue;
            };
            let sure = best.confidence >= confidence.first;
            let first = CategoryPath::new(best.category.first_level());
            let places = city.read_place(text).spans;
            let words = best.read_down(text, &places, &city).levels;
            let similar = similar_in(&neighbours, &classifier.categories, text, VOTERS);
            let near = read_levels(&similar, &first, confidence, &city.taxonomy);
            let merged = if words.len() < 2 {
                merge_levels(words.clone(), near.clone())
            } else {
                words.clone()
            };
            for (reader, read) in [words, near, merged].iter().enumerate() {
                let deepest = deepest(read, &first);
                for depth in 2..=3 {
                    let Some(wanted) = truth.at_depth(depth) else {
                        break;
                    };
                    let row = &mut counts[reader][depth - 2];
                    row[0] += 1;
                    let taken = deepest.at_depth(depth).filter(|_| sure);
                    row[1] += usize::from(taken.is_some());
                    row[2] += usize::from(taken == Some(wanted));
                }
            }
        }
    }
    println!(
        "{} hand-labelled messages, {folds} folds (neighbours: the other folds' labels, {VOTERS} voting); first level from {}, taken at {}",
        texts.len(),
        model.display(),
        confidence.first
    );
    for (reader, name) in readers.iter().enumerate() {
        for (level, [n, taken, right]) in counts[reader].iter().enumerate() {
            let share = |k: usize, of: usize| k as f64 / of.max(1) as f64;
            println!(
                "level {} {name:<20} n={n} taken={:.4} right_when_taken={:.4} accuracy={:.4}",
                level + 2,
                share(*taken, *n),
                share(*right, *taken),
                share(*right, *n)
            );
        }
    }
    Ok(())
}

pub fn first_level(train: &Path, holdout: &Path, work: &Path) -> anyhow::Result<()> {
    let model_path = work.join("first-level.bin");
    minhu::classifier::train(train, &model_path, 20_201_111)?;
    let model = Model::load(&model_path)?;
    let (train_texts, train_labels, _) = minhu::classifier::labelled(train)?;
    let firsts: Vec<String> = train_labels
        .iter()
        .map(|l| CategoryPath::new(l).first_level().to_owned())
        .collect();
    let neighbours = index(
        &model,
        &train_texts.iter().collect::<Vec<_>>(),
        &firsts.iter().collect::<Vec<_>>(),
    );
    let (texts, labels, _) = minhu::classifier::labelled(holdout)?;
    let first = Confidence::default().first;
    // Per reader: (truth, read) pairs.
    let readers = [
        "model",
        "neighbours alone",
        "mean of the two",
        "neighbours where the model < first",
    ];
    let mut pairs: Vec<Vec<(String, String)>> = vec![Vec::new(); readers.len()];
    for (text, truth) in texts.iter().zip(&labels) {
        let truth = CategoryPath::new(truth).first_level().to_owned();
        let prediction = model.predict(text);
        let (model_best, model_sure) = prediction.ranked[0].clone();
        let similar = similar_in(&neighbours, &model, text, VOTERS);
        let total: f32 = similar.iter().map(|s| s.similarity).sum::<f32>() + EVIDENCE;
        let share = |label: &str| {
            similar
                .iter()
                .filter(|s| s.category.as_ref().is_some_and(|c| c.as_str() == label))
                .map(|s| s.similarity)
                .sum::<f32>()
                / total
        };
        let (near_best, near_sure) = model
            .labels()
            .iter()
            .map(|l| (l.clone(), share(l)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .context("a model has labels")?;
        let mean = prediction
            .ranked
            .iter()
            .map(|(l, p)| (l.clone(), (p + share(l)) / 2.0))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(l, _)| l)
            .context("a model has labels")?;
        let second = if model_sure < first && near_sure > model_sure {
            near_best.clone()
        } else {
            model_best.clone()
        };
        for (reader, read) in [model_best, near_best, mean, second]
            .into_iter()
            .enumerate()
        {
            pairs[reader].push((truth.clone(), read));
        }
    }
    println!(
        "first level: trained on {} ({} messages as neighbours, {VOTERS} voting), scored on {} ({} messages)",
        train.display(),
        neighbours.len(),
        holdout.display(),
        texts.len()
    );
    for (reader, pairs) in readers.iter().zip(&pairs) {
        let scores = minhu_text::metrics::score(pairs);
        println!(
            "{reader:<36} macro_f1={:.4} accuracy={:.4} n={}",
            scores.macro_f1, scores.accuracy, scores.n
        );
    }
    Ok(())
}

/// Per ticket on one core: the model's first level (the intake's reader), and a
/// neighbour search with its votes (levels and unit) among `sizes` stored tickets (the
/// file's messages repeated to reach a size).
pub fn speed(
    model: &Path,
    data: &Path,
    config: &Path,
    sizes: &[usize],
    queries: usize,
) -> anyhow::Result<()> {
    let model = Model::load(model).with_context(|| format!("cannot load {}", model.display()))?;
    let taxonomy = minhu_config::load_city(config)?.taxonomy;
    let (texts, labels, _) = minhu::classifier::labelled(data)?;
    anyhow::ensure!(!texts.is_empty(), "{}: no labelled rows", data.display());
    let asked: Vec<&String> = texts.iter().cycle().take(queries).collect();
    let started = crate::classify::thread_cpu_seconds()?;
    let mut checksum = 0usize;
    for text in &asked {
        checksum += model.best(text).len();
    }
    let model_cpu = crate::classify::thread_cpu_seconds()? - started;
    println!(
        "first-level model: {:.1} µs a ticket ({:.0} tickets/s on one core)",
        model_cpu * 1e6 / asked.len() as f64,
        asked.len() as f64 / model_cpu.max(1e-9)
    );
    for &size in sizes {
        let stored: Vec<&String> = texts.iter().cycle().take(size).collect();
        let stored_labels: Vec<&String> = labels.iter().cycle().take(size).collect();
        let built = std::time::Instant::now();
        let neighbours = index(&model, &stored, &stored_labels);
        let built = built.elapsed().as_secs_f64();
        let started = crate::classify::thread_cpu_seconds()?;
        for text in &asked {
            let similar = similar_in(&neighbours, &model, text, VOTERS);
            let first = CategoryPath::new(model.best(text));
            checksum += read_levels(&similar, &first, Confidence::default(), &taxonomy).len();
            checksum += usize::from(vote_post(&similar).is_some());
        }
        let cpu = crate::classify::thread_cpu_seconds()? - started - model_cpu;
        println!(
            "{size} stored: a search and its votes {:.1} µs a ticket ({:.0} tickets/s on one core), index built in {built:.1}s; checksum {checksum}",
            cpu * 1e6 / asked.len() as f64,
            asked.len() as f64 / cpu.max(1e-9)
        );
    }
    Ok(())
}
