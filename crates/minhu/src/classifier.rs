//! `minhu train` and `minhu eval`: the category classifier from labelled messages
//! (CSV/XLSX with the Teddy Cup columns: 留言主题, 留言详情, 一级分类), or from the
//! store's handled tickets (`minhu train --from-store`), where the label is the category
//! a ticket ended with: whatever a dispatcher corrected is what the next model learns.

use crate::Place;
use anyhow::Context;
use minhu_core::access::Scope;
use minhu_core::taxonomy::{CategoryPath, Taxonomy};
use minhu_core::ticket::Status;
use minhu_engine::router::{CategorySuggestion, Classifier};
use minhu_import::{ImportRow, Reader};
use minhu_store::{ChangeMark, SqlStore, Store, TicketStore};
use minhu_text::model::TrainOptions;
use minhu_text::{Model, Provenance};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
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
pub fn labelled(path: &Path) -> anyhow::Result<(Vec<String>, Vec<String>, usize)> {
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
    let mut model = train_model(&texts, &labels, seed)?;
    let size = save(&mut model, &format!("file {}", data.display()), out)?;
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
    pub labels: Vec<String>,
    pub read: usize,
    /// Not resolved or closed yet (or merged into another): no handling confirmed them.
    pub unhandled: usize,
    pub uncategorised: usize,
    /// A category the city's taxonomy no longer has.
    pub outside: usize,
}

/// The store's handled tickets (resolved or closed) as training pairs. The label is the
/// first level of the category the ticket ended with, after every reclassification: a
/// dispatcher's correction of the router or of the intake is the label, and a routing
/// nobody corrected was confirmed by the unit that handled the ticket. First level
/// only, as in every data set we have (see BENCHMARKS.md on second levels).
pub async fn store_labels(
    store: &dyn Store,
    taxonomy: &Taxonomy,
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
            let Some(category) = &ticket.intake.category else {
                found.uncategorised += 1;
                continue;
            };
            let first = CategoryPath::new(category.first_level());
            if !taxonomy.contains(&first) {
                found.outside += 1;
                continue;
            }
            found.texts.push(format!(
                "{} {}",
                ticket.intake.title, ticket.intake.description
            ));
            found.labels.push(first.as_str().to_owned());
        }
        mark = next;
        if done {
            return Ok(found);
        }
    }
}

/// `minhu train --from-store`: a new model from the store's handled tickets, written to
/// `out` or, by default, to a new versioned file `DATA_DIR/models/category-<UTC time>.bin`
/// (never over the model a server is using). Returns the file written.
pub async fn train_from_store(
    place: &Place,
    out: Option<&Path>,
    seed: u64,
) -> anyhow::Result<PathBuf> {
    let started = Instant::now();
    let city = minhu_config::load_city(&place.config)?;
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
    let found = store_labels(&store, &city.taxonomy, |n| bar.inc(n as u64)).await?;
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
    let size = save(
        &mut model,
        &format!("store {}", without_password(&url)),
        &out,
    )?;
    let mut per_category: BTreeMap<&str, usize> = BTreeMap::new();
    for label in &found.labels {
        *per_category.entry(label).or_default() += 1;
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
    Ok(out)
}

/// A database URL as it may be written into a model file: `user:password@` dropped.
fn without_password(url: &str) -> String {
    match (url.split_once("://"), url.rsplit_once('@')) {
        (Some((scheme, _)), Some((_, host))) => format!("{scheme}://{host}"),
        _ => url.to_owned(),
    }
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
    /// given, then dispatched, and resolved if `resolved`.
    async fn ticket(
        store: &dyn Store,
        text: &str,
        category: &str,
        corrected: Option<&str>,
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
        }))];
        if let Some(corrected) = corrected {
            events.push(event(Change::Reclassified {
                category: Some(CategoryPath::new(corrected)),
                region: None,
                tier: None,
                reason: None,
            }));
        }
        events.push(event(Change::Dispatched {
            unit: UnitId::new("street-A3-01"),
            deadlines: Deadlines {
                respond_by: at,
                resolve_by: at,
            },
            reason: "fixture".into(),
            basis: None,
        }));
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
            ticket(&store, text, category, None, true).await;
        }
        // The router read wages as schooling; the dispatcher corrected it.
        let wages = "公司拖欠工资三个月不发";
        ticket(&store, wages, "教育文体", Some("劳动和社会保障"), true).await;
        // Still open, so no one has confirmed its category: not a label.
        ticket(&store, "工资拖欠", "教育文体", None, false).await;
        ticket(&store, "路灯不亮", "没有这一类", None, true).await;

        let taxonomy = minhu_config::load_city(&place.config).unwrap().taxonomy;
        let found = store_labels(&store, &taxonomy, |_| {}).await.unwrap();
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
        assert!(found.labels.iter().all(|l| !l.contains('/')), "first level");

        let out = train_from_store(&place, None, 1).await.unwrap();
        assert!(out.starts_with(dir.path().join("models")), "{out:?}");
        let model = Model::load(&out).unwrap();
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
