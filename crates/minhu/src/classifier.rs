//! `minhu train` and `minhu eval`: the category classifier from labelled messages
//! (CSV/XLSX with the Teddy Cup columns: 留言主题, 留言详情, 一级分类), or from the
//! store's handled tickets (`minhu train --from-store`), where the label is the category
//! a ticket ended with: whatever a dispatcher corrected is what the next model learns.
//! From a store it also keeps the handled tickets themselves, as nearest neighbours
//! that read the lower levels and the unit (`minhu_engine::neighbours`).

use crate::Place;
use anyhow::Context;
use minhu_core::access::Scope;
use minhu_core::ids::UnitId;
use minhu_core::taxonomy::CategoryPath;
use minhu_core::ticket::Status;
use minhu_core::unit::UnitLevel;
use minhu_engine::neighbours::{Post, Similar};
use minhu_engine::router::{CategorySuggestion, Classifier, PostSuggestion};
use minhu_import::{ImportRow, Reader};
use minhu_store::{ChangeMark, SqlStore, Store, TicketStore};
use minhu_text::model::TrainOptions;
use minhu_text::neighbours::Handled;
use minhu_text::{Model, Neighbours, Provenance};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Trained models as the router's classifier: the category's first level (the three
/// best, the first with the words behind it) and, when the store had handled tickets
/// to learn them from, the post of the unit that handles a demand.
pub struct TextClassifier {
    pub categories: Model,
    /// Labels `level` or `level:role` (`district_department:education`).
    pub posts: Option<Model>,
    /// The handled tickets, as the category model weighs their words.
    pub neighbours: Option<Neighbours>,
}

/// The handled tickets that vote (`minhu_engine::neighbours`).
pub const VOTERS: usize = 10;
/// The handled tickets `train --from-store` keeps as neighbours by default, newest.
pub const NEIGHBOURS_KEPT: usize = 100_000;

/// Where the unit model of a category model `path` is kept: beside it, `.units.bin`
/// for `.bin` (`category-20261206T2200Z.units.bin`).
pub fn posts_path(path: &Path) -> PathBuf {
    path.with_extension("units.bin")
}

/// Where the handled tickets of a category model `path` are kept: beside it,
/// `.neighbours.bin`.
pub fn neighbours_path(path: &Path) -> PathBuf {
    path.with_extension("neighbours.bin")
}

impl TextClassifier {
    pub fn new(categories: Model) -> Self {
        Self {
            categories,
            posts: None,
            neighbours: None,
        }
    }

    /// The category model at `path`, and the unit model and handled tickets beside it
    /// if there are.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let categories = Model::load(path)
            .with_context(|| format!("cannot load the model {}", path.display()))?;
        let posts = beside(&posts_path(path), "unit model", Model::load)?;
        let neighbours = beside(&neighbours_path(path), "handled tickets", Neighbours::load)?;
        Ok(Self {
            categories,
            posts,
            neighbours,
        })
    }
}

/// The file at `path` read by `load`, if there is one.
fn beside<T>(
    path: &Path,
    what: &str,
    load: fn(&Path) -> Result<T, minhu_text::model::ModelError>,
) -> anyhow::Result<Option<T>> {
    if !path.exists() {
        return Ok(None);
    }
    let loaded =
        load(path).with_context(|| format!("cannot load the {what} {}", path.display()))?;
    Ok(Some(loaded))
}

/// A post label (`post_label`) as a post.
fn post_of(label: &str) -> Option<Post> {
    let (level, role) = match label.split_once(':') {
        Some((level, role)) => (level, Some(role.to_owned())),
        None => (label, None),
    };
    Some(Post {
        level: UnitLevel::from_code(level)?,
        role,
    })
}

/// The `k` handled tickets most like `text`, as `model` weighs words, with what they
/// ended with and the words they share with it.
pub fn similar_in(neighbours: &Neighbours, model: &Model, text: &str, k: usize) -> Vec<Similar> {
    let mut names = Vec::new();
    let query = model.vector(text, Some(&mut names));
    neighbours
        .nearest(&query, k)
        .into_iter()
        .map(|near| {
            let handled = neighbours.ticket(near.index);
            Similar {
                ticket: handled.ticket.clone(),
                similarity: near.similarity,
                category: handled.category.as_deref().map(CategoryPath::new),
                unit: handled.unit.as_deref().map(minhu_core::ids::UnitId::new),
                post: handled.post.as_deref().and_then(post_of),
                returned: handled.returned.iter().filter_map(|p| post_of(p)).collect(),
                shared: neighbours.shared(near.index, &query, &names, 5),
            }
        })
        .collect()
}

/// A unit's post as a label: its level's code, and `:role` for a department.
pub fn post_label(level: UnitLevel, role: Option<&str>) -> String {
    match role {
        Some(role) => format!("{}:{role}", level.code()),
        None => level.code().to_owned(),
    }
}

impl Classifier for TextClassifier {
    fn suggest(&self, title: &str, description: &str) -> Vec<CategorySuggestion> {
        let prediction = self.categories.predict(&format!("{title} {description}"));
        prediction
            .ranked
            .into_iter()
            .take(3)
            .enumerate()
            .map(|(rank, (label, confidence))| {
                let reasons = if rank == 0 {
                    prediction.reasons.clone()
                } else {
                    Vec::new()
                };
                CategorySuggestion::first(CategoryPath::new(&label), confidence, reasons)
            })
            .collect()
    }

    fn suggest_post(&self, title: &str, description: &str) -> Option<PostSuggestion> {
        read_post(self.posts.as_ref()?, &format!("{title} {description}"))
    }

    fn similar(&self, title: &str, description: &str) -> Vec<Similar> {
        match &self.neighbours {
            Some(neighbours) => similar_in(
                neighbours,
                &self.categories,
                &format!("{title} {description}"),
                VOTERS,
            ),
            None => Vec::new(),
        }
    }
}

/// The best post a unit model reads in `text`, with its confidence and words (none
/// when its label is not a post).
pub fn read_post(posts: &Model, text: &str) -> Option<PostSuggestion> {
    let prediction = posts.predict(text);
    let (label, confidence) = prediction.ranked.into_iter().next()?;
    let post = post_of(&label)?;
    Some(PostSuggestion {
        level: post.level,
        role: post.role,
        confidence,
        reasons: prediction.reasons,
        neighbours: Vec::new(),
    })
}

/// (text, label) pairs of a file; unreadable rows and rows without a label are
/// counted and skipped.
pub fn labelled(path: &Path) -> anyhow::Result<(Vec<String>, Vec<String>, usize)> {
    let (rows, unreadable) = readable_rows(path)?;
    let (texts, labels, unlabelled) = pairs(&rows);
    Ok((texts, labels, unreadable + unlabelled))
}

/// The rows of a file that can be read, and how many could not.
fn readable_rows(path: &Path) -> anyhow::Result<(Vec<ImportRow>, usize)> {
    // The import error names the file already.
    let reader = Reader::open(path)?;
    let mut unreadable = 0;
    let rows: Vec<ImportRow> = reader
        .filter_map(|row| row.map_err(|_| unreadable += 1).ok())
        .collect();
    Ok((rows, unreadable))
}

/// Words a subject line keeps of a text that has no subject of its own.
const SUBJECT_WORDS: usize = 10;

/// The subject line of a labelled row, which training reads as a message of its own so
/// that the model also learns to read a short demand (a subject line alone, "小区电梯坏
/// 了一个月物业不修"): the title when the row has one beside its text, else, for a
/// segmented text that starts with its subject (train.csv), its first ten words. On the
/// holdout split of train.csv: macro-F1 0.9172 -> 0.9236 on the whole messages, 0.7335
/// -> 0.7708 on their first six words (BENCHMARKS, "Short texts").
fn subject(row: &ImportRow) -> Option<String> {
    if !row.title.trim().is_empty() && !row.description.trim().is_empty() {
        return Some(row.title.clone());
    }
    let words: Vec<&str> = row.description.split_whitespace().collect();
    (words.len() > SUBJECT_WORDS).then(|| words[..SUBJECT_WORDS].join(" "))
}

/// What a model trains on: the (text, label) pairs of the rows that have a label and,
/// after them, each one's subject line with the same label; and how many rows had no
/// label.
pub fn training_pairs(rows: &[ImportRow]) -> (Vec<String>, Vec<String>, usize) {
    let (mut texts, mut labels, unlabelled) = pairs(rows);
    for row in rows {
        if let (Some(label), Some(subject)) = (&row.category, subject(row)) {
            texts.push(subject);
            labels.push(label.clone());
        }
    }
    (texts, labels, unlabelled)
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
    let (rows, unreadable) = readable_rows(data)?;
    let (texts, labels, unlabelled) = training_pairs(&rows);
    let mut model = train_model(&texts, &labels, seed)?;
    let size = save(&mut model, &format!("file {}", data.display()), out)?;
    println!(
        "trained on {} messages and their subject lines ({} skipped: no label, or unreadable), {} categories, in {:.1}s; model {} ({:.1} MB)",
        rows.len() - unlabelled,
        unreadable + unlabelled,
        model.labels().len(),
        started.elapsed().as_secs_f64(),
        out.display(),
        size as f64 / 1e6
    );
    Ok(())
}

/// Writes the model with where and when it was trained; returns the file's size.
fn save(model: &mut Model, source: &str, out: &Path) -> anyhow::Result<u64> {
    model.set_provenance(Provenance {
        source: source.to_owned(),
        trained_at: jiff::Timestamp::now()
            .round(jiff::Unit::Second)?
            .to_string(),
    });
    model
        .save(out)
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(std::fs::metadata(out).map(|m| m.len()).unwrap_or_default())
}

/// Training pairs read from a store, and what was left out.
#[derive(Debug, Default)]
pub struct StoreLabels {
    pub texts: Vec<String>,
    /// The category each ticket ended with, as deep as it was classified.
    pub labels: Vec<String>,
    /// The texts of handled tickets that ended with a unit of the city's, and that
    /// unit's post (`post_label`).
    pub post_texts: Vec<String>,
    pub posts: Vec<String>,
    /// Every handled ticket's text and what it ended with, in the order the store last
    /// changed them (the newest last).
    pub handled: Vec<(String, Handled)>,
    pub read: usize,
    /// Not resolved or closed yet (or merged into another): no handling confirmed them.
    pub unhandled: usize,
    pub uncategorised: usize,
    /// A category the city's taxonomy no longer has.
    pub outside: usize,
}

/// The store's handled tickets (resolved or closed) as training pairs. The label is the
/// category the ticket ended with, after every reclassification, at every level it was
/// given: a dispatcher's correction of the router or of the intake is the label, and a
/// routing nobody corrected was confirmed by the unit that handled the ticket. A
/// ticket's unit label is the post of the unit it ended with: a unit that returned it
/// taught nothing but that it was the wrong one.
pub async fn store_labels(
    store: &dyn Store,
    city: &minhu_core::City,
    mut progress: impl FnMut(usize),
) -> anyhow::Result<StoreLabels> {
    const BATCH: u32 = 2_000;
    let mut found = StoreLabels::default();
    let mut mark = ChangeMark::START;
    loop {
        let (changed, next) = store.changed_since(&mark, BATCH).await?;
        let done = changed.len() < BATCH as usize;
        found.read += changed.len();
        progress(changed.len());
        for change in changed {
            let ticket = change.ticket;
            if !matches!(ticket.status, Status::Resolved | Status::Closed) {
                found.unhandled += 1;
                continue;
            }
            let text = format!("{} {}", ticket.intake.title, ticket.intake.description);
            let post_of_unit = |id: &UnitId| {
                let unit = city.units.get(id)?;
                Some(post_label(unit.level, unit.role.as_deref()))
            };
            let post = ticket.unit.as_ref().and_then(post_of_unit);
            if let Some(post) = &post {
                found.post_texts.push(text.clone());
                found.posts.push(post.clone());
            }
            let mut returned: Vec<String> = Vec::new();
            if ticket.return_count > 0 {
                for unit in returned_by(&store.events(&ticket.number).await?) {
                    if let Some(wrong) = post_of_unit(&unit)
                        && Some(&wrong) != post.as_ref()
                        && !returned.contains(&wrong)
                    {
                        returned.push(wrong);
                    }
                }
            }
            // As deep as the taxonomy still has it.
            let known = ticket
                .intake
                .category
                .as_ref()
                .map(|category| category.prefixes().find(|p| city.taxonomy.contains(p)));
            found.handled.push((
                text.clone(),
                Handled {
                    ticket: ticket.number.to_string(),
                    category: known.clone().flatten().map(|k| k.as_str().to_owned()),
                    unit: ticket.unit.as_ref().map(|u| u.to_string()),
                    post,
                    returned,
                },
            ));
            match known {
                None => found.uncategorised += 1,
                Some(None) => found.outside += 1,
                Some(Some(known)) => {
                    found.texts.push(text);
                    found.labels.push(known.as_str().to_owned());
                }
            }
        }
        mark = next;
        if done {
            return Ok(found);
        }
    }
}

/// The units that returned a ticket (退单), from its events: the unit it was with when
/// each return was made.
fn returned_by(events: &[minhu_core::event::Event]) -> Vec<UnitId> {
    use minhu_core::event::Change;
    let mut with: Option<&UnitId> = None;
    let mut returned = Vec::new();
    for event in events {
        match &event.change {
            Change::Dispatched { unit, .. }
            | Change::Redispatched { unit, .. }
            | Change::ReturnRejected { unit, .. } => with = Some(unit),
            Change::Returned { .. } => returned.extend(with.cloned()),
            _ => {}
        }
    }
    returned
}

/// `minhu train --from-store`: a new model from the store's handled tickets, written to
/// `out` or, by default, to a new versioned file `DATA_DIR/models/category-<UTC time>.bin`
/// (never over the model a server is using), with the unit model and the newest `keep`
/// handled tickets (`neighbours_path`) beside it. Returns the file written.
pub async fn train_from_store(
    place: &Place,
    out: Option<&Path>,
    seed: u64,
    keep: usize,
) -> anyhow::Result<PathBuf> {
    let started = Instant::now();
    // Trained on the first city's taxonomy (the demo province's cities share it).
    let city = minhu_config::load_province(&place.config)?
        .home()
        .city
        .clone();
    let url = place.database_url();
    let store = SqlStore::connect(&url)
        .await
        .with_context(|| format!("cannot open the database {url}"))?;
    let total: u64 = store
        .count_by_status(&Scope::All)
        .await?
        .iter()
        .map(|(_, n)| n)
        .sum();
    let bar = crate::import::progress_bar(Some(total), "reading tickets");
    let found = store_labels(&store, &city, |n| bar.inc(n as u64)).await?;
    bar.finish_and_clear();
    anyhow::ensure!(
        !found.texts.is_empty(),
        "{url}: no resolved or closed ticket with a category of the taxonomy to learn from ({} tickets read)",
        found.read
    );
    let mut model = train_model(&found.texts, &found.labels, seed)?;
    let out = match out {
        Some(out) => out.to_owned(),
        None => {
            let dir = place.data_dir.join("models");
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let stamp = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ");
            dir.join(format!("category-{stamp}.bin"))
        }
    };
    let source = format!("store {}", without_password(&url));
    let size = save(&mut model, &source, &out)?;
    let mut per_category: BTreeMap<&str, usize> = BTreeMap::new();
    for label in &found.labels {
        let first = label.split('/').next().unwrap_or(label);
        *per_category.entry(first).or_default() += 1;
    }
    println!(
        "trained on {} handled tickets of {} read ({} not resolved or closed, {} without a category, {} outside the taxonomy), {} categories, in {:.1}s; model {} ({:.1} MB)",
        found.texts.len(),
        found.read,
        found.unhandled,
        found.uncategorised,
        found.outside,
        model.labels().len(),
        started.elapsed().as_secs_f64(),
        out.display(),
        size as f64 / 1e6
    );
    let counts: Vec<String> = per_category
        .iter()
        .map(|(label, n)| format!("{label} {n}"))
        .collect();
    println!("tickets per category: {}", counts.join(", "));
    // The unit model beside it, once handled tickets name two posts at least (a
    // stale one from an earlier name would be read as this model's).
    let posts_out = posts_path(&out);
    let mut distinct = found.posts.clone();
    distinct.sort();
    distinct.dedup();
    if distinct.len() >= 2 {
        let mut posts = Model::train(
            &found.post_texts,
            &found.posts,
            TrainOptions {
                seed,
                ..TrainOptions::default()
            },
            |_, _| {},
        )?;
        let size = save(&mut posts, &source, &posts_out)?;
        println!(
            "units: trained on {} handled tickets with a unit of the city, {} posts; model {} ({:.1} MB)",
            found.posts.len(),
            distinct.len(),
            posts_out.display(),
            size as f64 / 1e6
        );
    } else {
        if posts_out.exists() {
            std::fs::remove_file(&posts_out)
                .with_context(|| format!("cannot remove {}", posts_out.display()))?;
        }
        println!(
            "units: not learned ({} handled tickets with a unit of the city, {} posts; two are needed)",
            found.posts.len(),
            distinct.len()
        );
    }
    let kept = found.handled.len().min(keep);
    let tickets: Vec<(Handled, minhu_text::features::Sparse)> = found
        .handled
        .into_iter()
        .rev()
        .take(kept)
        .map(|(text, handled)| (handled, model.vector(&text, None)))
        .collect();
    let mut neighbours = Neighbours::new(tickets, model.dim_bits());
    neighbours.set_provenance(model.provenance().cloned().expect("saved with one"));
    let neighbours_out = neighbours_path(&out);
    neighbours
        .save(&neighbours_out)
        .with_context(|| format!("cannot write {}", neighbours_out.display()))?;
    println!(
        "neighbours: the newest {kept} handled tickets of {} kept; {} ({:.1} MB)",
        found.read - found.unhandled,
        neighbours_out.display(),
        std::fs::metadata(&neighbours_out).map_or(0, |m| m.len()) as f64 / 1e6
    );
    Ok(out)
}

/// A database URL as it may be written into a model file: `user:password@` dropped.
fn without_password(url: &str) -> String {
    match (url.split_once("://"), url.rsplit_once('@')) {
        (Some((scheme, _)), Some((_, host))) => format!("{scheme}://{host}"),
        _ => url.to_owned(),
    }
}

/// Trains the first-level classifier with a progress bar (drawn only on a terminal);
/// labels deeper than the first level count as their first level.
pub fn train_model(texts: &[String], labels: &[String], seed: u64) -> anyhow::Result<Model> {
    let bar = crate::import::progress_bar(Some(texts.len() as u64), "training");
    let options = TrainOptions {
        seed,
        ..TrainOptions::default()
    };
    let labels: Vec<String> = labels
        .iter()
        .map(|l| CategoryPath::new(l).first_level().to_owned())
        .collect();
    let model = Model::train(texts, &labels, options, |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    Ok(model)
}

pub fn eval(model: &Path, data: &Path, config: Option<&Path>) -> anyhow::Result<()> {
    let model =
        Model::load(model).with_context(|| format!("cannot load the model {}", model.display()))?;
    let (texts, labels, skipped) = labelled(data)?;
    let started = Instant::now();
    let pairs: Vec<(String, String)> = texts
        .iter()
        .zip(&labels)
        .map(|(text, truth)| {
            let first = CategoryPath::new(truth).first_level().to_owned();
            (first, model.best(text).to_owned())
        })
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
    if let Some(config) = config {
        let city = minhu_config::load_city(config)?;
        levels(TextClassifier::new(model), &city, &texts, &labels);
    }
    println!(
        "macro_f1={:.4} accuracy={:.4} n={}",
        scores.macro_f1, scores.accuracy, scores.n
    );
    Ok(())
}

/// How each level reads as routing reads it: per level, the messages labelled that
/// deep (n), the share the city's confidences let routing take without a person, how
/// many of those are right, and the accuracy over all n; for the lower levels also the
/// accuracy when every level is read however unsure (`forced`) and when the reading
/// starts from the true first level (`from_true_first`: the lower levels' own part).
fn levels(
    classifier: TextClassifier,
    city: &minhu_core::City,
    texts: &[String],
    labels: &[String],
) {
    use minhu_core::reading::{Confidence, deepest};
    let any = Confidence {
        first: f32::MIN_POSITIVE,
        second: f32::MIN_POSITIVE,
        third: f32::MIN_POSITIVE,
        unit: f32::MIN_POSITIVE,
    };
    // Per level: n, taken, right when taken, right forced, right from the true first.
    let mut counts = [[0usize; 5]; 3];
    for (text, truth) in texts.iter().zip(labels) {
        let truth = CategoryPath::new(truth);
        let Some(best) = classifier.suggest(text, "").into_iter().next() else {
            continue;
        };
        let sure = best.confidence >= city.categories.confidence().first;
        let first = best.category.clone();
        let places = city.read_place(text).spans;
        let read = best.read_down(text, &places, city);
        let forced = city.categories.deepen_at(text, &places, &first, any);
        let first_true = CategoryPath::new(truth.first_level());
        let from_true =
            city.categories
                .deepen_at(text, &places, &first_true, city.categories.confidence());
        for depth in 1..=3 {
            let Some(wanted) = truth.at_depth(depth) else {
                break;
            };
            let row = &mut counts[depth - 1];
            row[0] += 1;
            let taken = read.category.at_depth(depth).filter(|_| sure);
            if taken.is_some() {
                row[1] += 1;
            }
            if taken.as_ref() == Some(&wanted) {
                row[2] += 1;
            }
            if deepest(&forced, &first).at_depth(depth).as_ref() == Some(&wanted) {
                row[3] += 1;
            }
            if deepest(&from_true, &first_true).at_depth(depth).as_ref() == Some(&wanted) {
                row[4] += 1;
            }
        }
    }
    for (depth, [n, taken, right, forced, from_true]) in counts.iter().enumerate() {
        if *n == 0 {
            continue;
        }
        let share = |k: usize, of: usize| k as f64 / of.max(1) as f64;
        println!(
            "level {}: n={n} taken={:.4} right_when_taken={:.4} accuracy={:.4} forced_accuracy={:.4} from_true_first={:.4}",
            depth + 1,
            share(*taken, *n),
            share(*right, *taken),
            share(*right, *n),
            share(*forced, *n),
            share(*from_true, *n),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;
    use minhu_core::deadline::{Deadlines, TierCode};
    use minhu_core::event::{Actor, Change, Event};
    use minhu_core::ids::UnitId;
    use minhu_core::ticket::{Channel, Citizen, Intake, Kind};
    use minhu_store::NewTicket;

    /// A ticket created with `category`, reclassified by a dispatcher to `corrected` if
    /// given, then dispatched (to the A3 district's education bureau for schooling, its
    /// labour bureau for wages, else a street office; first to `returned_by`, which
    /// returns it, if given), and resolved if `resolved`.
    async fn ticket(
        store: &dyn Store,
        text: &str,
        category: &str,
        corrected: Option<&str>,
        returned_by: Option<&str>,
        resolved: bool,
    ) {
        let at: Timestamp = "2026-11-20T08:00:00Z".parse().unwrap();
        let event = |change| Event {
            seq: 0,
            at,
            actor: Actor::user("dispatcher"),
            change,
        };
        let mut events = vec![event(Change::Created(Intake {
            channel: Channel::Web,
            kind: Kind::Complaint,
            title: String::new(),
            description: text.into(),
            address: None,
            location: None,
            citizen: Citizen::default(),
            category: Some(CategoryPath::new(category)),
            region: None,
            tier: TierCode("15d".into()),
            external_ref: None,
            city: None,
        }))];
        if let Some(corrected) = corrected {
            events.push(event(Change::Reclassified {
                category: Some(CategoryPath::new(corrected)),
                region: None,
                tier: None,
                reason: None,
            }));
        }
        let unit = match corrected.unwrap_or(category) {
            "教育文体" => "dept-A3-education",
            "劳动和社会保障" => "dept-A3-hrss",
            _ => "street-A3-01",
        };
        let dispatched = |unit: &str| {
            event(Change::Dispatched {
                unit: UnitId::new(unit),
                deadlines: Deadlines {
                    respond_by: at,
                    resolve_by: at,
                },
                reason: "fixture".into(),
                basis: None,
            })
        };
        if let Some(wrong) = returned_by {
            events.push(dispatched(wrong));
            events.push(event(Change::Returned {
                reason: "not ours".into(),
            }));
        }
        events.push(dispatched(unit));
        if resolved {
            events.push(event(Change::Accepted));
            events.push(event(Change::Resolved {
                reply: "已处理".into(),
            }));
        }
        for (seq, event) in events.iter_mut().enumerate() {
            event.seq = seq as u32 + 1;
        }
        store
            .create_ticket(NewTicket {
                day: at.to_zoned(jiff::tz::TimeZone::UTC).date(),
                events,
                region_path: None,
                idempotency: None,
                timers: Vec::new(),
                notifications: Vec::new(),
                audit: None,
            })
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn trains_from_the_handled_tickets_of_a_store_with_the_dispatchers_labels() {
        let dir = tempfile::tempdir().unwrap();
        let place = Place {
            config: dir.path().join("city"),
            database: None,
            data_dir: dir.path().to_owned(),
            model: None,
        };
        crate::demo::write_city(&place.config, true).unwrap();
        let store = SqlStore::connect(&place.database_url()).await.unwrap();
        let handled = [
            ("楼道路灯坏了好几天物业一直不修", "城乡建设"),
            ("物业公司乱收停车管理费", "城乡建设"),
            ("邻居违章建筑堵住消防通道", "城乡建设"),
            ("电梯三天两头停运物业不管不问", "城乡建设/安全生产"),
            ("单位不给缴纳社保怎么办", "劳动和社会保障"),
            ("包工头拖欠农民工工资半年", "劳动和社会保障"),
            ("养老金今年一直没有发放到账", "劳动和社会保障"),
            ("学校要求学生统一购买教辅", "教育文体"),
            ("幼儿园收取高额赞助费", "教育文体"),
            ("在职老师周末组织有偿补课", "教育文体"),
            ("小孩入学学位紧张上不了学", "教育文体"),
        ];
        for (text, category) in handled {
            ticket(&store, text, category, None, None, true).await;
        }
        // The router read wages as schooling; the dispatcher corrected it.
        let wages = "公司拖欠工资三个月不发";
        ticket(
            &store,
            wages,
            "教育文体",
            Some("劳动和社会保障"),
            None,
            true,
        )
        .await;
        // Still open, so no one has confirmed its category: not a label.
        ticket(&store, "工资拖欠", "教育文体", None, None, false).await;
        ticket(&store, "路灯不亮", "没有这一类", None, None, true).await;

        let city = minhu_config::load_city(&place.config).unwrap();
        let found = store_labels(&store, &city, |_| {}).await.unwrap();
        assert_eq!(
            (
                found.read,
                found.unhandled,
                found.outside,
                found.texts.len()
            ),
            (14, 1, 1, 12)
        );
        let corrected = found.texts.iter().position(|t| t.contains(wages)).unwrap();
        assert_eq!(found.labels[corrected], "劳动和社会保障");
        let lift = found.texts.iter().position(|t| t.contains("电梯")).unwrap();
        assert_eq!(found.labels[lift], "城乡建设/安全生产", "as deep as given");
        // Every handled ticket with a unit teaches its post, categorised or not.
        assert_eq!(found.posts.len(), 13);
        let wages_post = found
            .post_texts
            .iter()
            .position(|t| t.contains(wages))
            .unwrap();
        assert_eq!(found.posts[wages_post], "district_department:hrss");

        let out = train_from_store(&place, None, 1, NEIGHBOURS_KEPT)
            .await
            .unwrap();
        assert!(out.starts_with(dir.path().join("models")), "{out:?}");
        let classifier = TextClassifier::load(&out).unwrap();
        let post = classifier
            .suggest_post("学校", "要求学生统一购买教辅资料")
            .unwrap();
        assert_eq!(
            (post.level, post.role.as_deref()),
            (UnitLevel::DistrictDepartment, Some("education"))
        );
        let model = classifier.categories;
        assert!(
            model
                .provenance()
                .unwrap()
                .source
                .starts_with("store sqlite://"),
            "{:?}",
            model.provenance()
        );
        assert_eq!(model.best("我们公司拖欠工资半年了"), "劳动和社会保障");
        assert_eq!(model.best("物业不修路灯"), "城乡建设");
        assert_eq!(model.best("学校乱收补课费"), "教育文体");
    }

    /// `train --from-store` on `db` (the demo city written under `dir`): lift tickets
    /// the router read at the first level, which dispatchers reclassified to the third,
    /// each sent first to the education bureau, which returned it, then to a street
    /// office, which resolved it.
    async fn learns_the_third_level_and_the_returns(db: &minhu_testkit::db::TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let place = Place {
            config: dir.path().join("city"),
            database: Some(db.url.clone()),
            data_dir: dir.path().to_owned(),
            model: None,
        };
        crate::demo::write_city(&place.config, true).unwrap();
        let store = db.store.as_ref();
        let property = "城乡建设/住房保障与房地产/物业服务";
        let lifts = [
            "楼里电梯坏了一个月没人修",
            "电梯经常关人坏了没人修",
            "电梯坏了老人上不了楼",
            "电梯停运半个月没人修",
        ];
        for text in lifts {
            let returned = Some("dept-A3-education");
            ticket(store, text, "城乡建设", Some(property), returned, true).await;
        }
        for text in ["公司拖欠工资三个月不发", "包工头拖欠农民工工资半年"] {
            ticket(store, text, "劳动和社会保障", None, None, true).await;
        }
        for text in ["学校要求学生统一购买教辅", "在职老师周末组织有偿补课"]
        {
            ticket(store, text, "教育文体", None, None, true).await;
        }

        let out = train_from_store(&place, None, 1, NEIGHBOURS_KEPT)
            .await
            .unwrap();
        let classifier = TextClassifier::load(&out).unwrap();
        let neighbours = classifier
            .neighbours
            .as_ref()
            .expect("kept beside the model");
        assert_eq!(neighbours.len(), 8);
        let similar = classifier.similar("电梯坏了", "一个月了没人修");
        let lift = &similar[0];
        assert_eq!(lift.category.as_ref().map(|c| c.as_str()), Some(property));
        assert_eq!(lift.unit.as_ref().map(|u| u.as_str()), Some("street-A3-01"));
        let education = Post {
            level: UnitLevel::DistrictDepartment,
            role: Some("education".into()),
        };
        assert_eq!(
            lift.returned,
            [education],
            "the return counts against its post"
        );
        assert!(
            lift.shared.iter().any(|w| w.contains("电梯")),
            "{:?}",
            lift.shared
        );

        let city = minhu_config::load_city(&place.config).unwrap();
        let levels = minhu_engine::neighbours::read_levels(
            &similar,
            &CategoryPath::new("城乡建设"),
            city.categories.confidence(),
            &city.taxonomy,
        );
        let read: Vec<&str> = levels.iter().map(|l| l.category.as_str()).collect();
        assert_eq!(read, ["城乡建设/住房保障与房地产", property], "{levels:?}");
    }

    #[tokio::test]
    async fn train_from_store_learns_a_reclassification_at_level_three_and_returns() {
        let db = minhu_testkit::db::TestDb::sqlite().await;
        learns_the_third_level_and_the_returns(&db).await;
        let db = minhu_testkit::db::TestDb::postgres().await;
        learns_the_third_level_and_the_returns(&db).await;
        db.close().await;
    }

    #[test]
    fn credentials_stay_out_of_the_model_file() {
        assert_eq!(
            without_password("postgres://minhu:secret@db:5432/minhu"),
            "postgres://db:5432/minhu"
        );
        assert_eq!(
            without_password("sqlite://x/minhu.db"),
            "sqlite://x/minhu.db"
        );
    }
}
