//! `minhu kb`: the knowledge base from the command line - import and export (CSV or
//! Markdown with front matter), and the retrieval evaluation on real questions.

use crate::Place;
use crate::import::progress_bar;
use anyhow::Context;
use minhu_core::SystemClock;
use minhu_engine::Engine;
use minhu_kb::assistant::{THRESHOLDS, Thresholds};
use minhu_kb::eval::{self, Asked, Method, Score};
use minhu_kb::fit::{self, Outcome};
use minhu_kb::{KbIndex, files};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(clap::Subcommand)]
pub enum KbCommand {
    /// Import articles from a .csv or .md file; articles are keyed by id, so importing
    /// again updates in place and never duplicates. Nothing is imported while any row
    /// is invalid (each problem names its row and field).
    Import {
        #[arg(long)]
        file: PathBuf,
        #[command(flatten)]
        place: Place,
    },
    /// Export every article to a .csv or .md file (what import reads).
    Export {
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        place: Place,
    },
    /// Measure retrieval on real questions with known answers (the Teddy Cup
    /// replies.csv, or question,title,answer columns), then fit the assistant's
    /// thresholds on the even message numbers and judge them on the odd ones; the last
    /// line is `top1=... top3=... n=...` for minhu's retrieval, after the baselines.
    Eval {
        #[arg(long)]
        data: PathBuf,
    },
}

pub async fn run(command: KbCommand) -> anyhow::Result<()> {
    match command {
        KbCommand::Import { file, place } => {
            let engine = crate::server::open_engine(&place, Arc::new(SystemClock)).await?;
            let summary = import(&engine, &file).await?;
            println!("{summary}");
            Ok(())
        }
        KbCommand::Export { out, place } => {
            let engine = crate::server::open_engine(&place, Arc::new(SystemClock)).await?;
            let articles = engine.kb().articles().await?;
            files::write(&out, &articles)?;
            println!("exported {} articles to {}", articles.len(), out.display());
            Ok(())
        }
        KbCommand::Eval { data } => evaluate(&data),
    }
}

/// What an import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Imported {
    pub new: usize,
    pub updated: usize,
    pub unchanged: usize,
}

impl std::fmt::Display for Imported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "imported {} articles: {} new, {} updated, {} unchanged",
            self.new + self.updated + self.unchanged,
            self.new,
            self.updated,
            self.unchanged
        )
    }
}

/// Checks every row of `file` against the city, then stores them all (or none).
pub async fn import(engine: &Engine, file: &Path) -> anyhow::Result<Imported> {
    let (rows, errors) = files::read(file)?;
    store_rows(engine, rows, errors, &file.display().to_string()).await
}

/// The demo's knowledge base, shipped in `demo/kb.csv` (embedded in the binary).
const DEMO_KB: &str = include_str!("../../../demo/kb.csv");

/// Loads the demo's articles (again: unchanged ones are left as they are).
pub async fn import_demo(engine: &Engine) -> anyhow::Result<Imported> {
    let (rows, errors) = files::parse(DEMO_KB, files::Format::Csv, "demo/kb.csv")?;
    store_rows(engine, rows, errors, "demo/kb.csv").await
}

async fn store_rows(
    engine: &Engine,
    rows: Vec<files::Row>,
    mut errors: Vec<files::RowError>,
    file: &str,
) -> anyhow::Result<Imported> {
    let now = engine.now();
    let mut articles = Vec::with_capacity(rows.len());
    let mut seen = std::collections::HashMap::new();
    for row in rows {
        match row.draft.check(engine.city(), now) {
            Ok(article) => {
                if let Some(first) = seen.insert(article.id.clone(), row.row) {
                    errors.push(files::RowError {
                        row: row.row,
                        field: "id".into(),
                        problem: format!("{} is also the id of row {first}", article.id),
                    });
                }
                articles.push(article);
            }
            Err(problem) => errors.push(files::RowError {
                row: row.row,
                field: problem.field,
                problem: problem.problem,
            }),
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.row);
        let listed: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
        anyhow::bail!(
            "{}: {} invalid rows, nothing imported:\n{}",
            file,
            errors.len(),
            listed.join("\n")
        );
    }
    let bar = progress_bar(Some(articles.len() as u64), "articles");
    let mut done = Imported::default();
    for article in &articles {
        let existed = engine.kb().article(&article.id).await?.is_some();
        let changed = engine.kb().put(article).await?;
        match (existed, changed) {
            (false, _) => done.new += 1,
            (true, true) => done.updated += 1,
            (true, false) => done.unchanged += 1,
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(done)
}

fn evaluate(data: &Path) -> anyhow::Result<()> {
    let (articles, cases) =
        eval::load(data).with_context(|| format!("reading {}", data.display()))?;
    println!(
        "{}: {} articles (distinct official replies), {} questions",
        data.display(),
        articles.len(),
        cases.len()
    );
    let hotline = minhu_search::hotline_jieba();
    // The set has no validity dates: any day will do.
    let day = jiff::civil::date(2026, 1, 1);
    let mut last = None;
    for method in Method::ALL {
        let started = std::time::Instant::now();
        let index = method.build(&articles, hotline.clone())?;
        let built = started.elapsed();
        let bar = progress_bar(Some(cases.len() as u64), "questions");
        let asked = std::time::Instant::now();
        let score = Score::of(&eval::ask(&index, &cases, day, || bar.inc(1))?);
        bar.finish_and_clear();
        println!(
            "{:<58} top-1 {:5.1}%  top-3 {:5.1}%  (index {:.2} s, {:.1} ms/question)",
            method.label(),
            score.top1_rate() * 100.0,
            score.top3_rate() * 100.0,
            built.as_secs_f64(),
            asked.elapsed().as_secs_f64() * 1000.0 / score.questions.max(1) as f64
        );
        last = Some(score);
    }
    let half = Method::Minhu.build(&fit::knowledge_base(&articles), hotline)?;
    fit_thresholds(&half, articles.len(), &cases, day)?;
    let score = last.expect("at least one method");
    println!(
        "top1={:.3} top3={:.3} n={}",
        score.top1_rate(),
        score.top3_rate(),
        score.questions
    );
    Ok(())
}

/// Fits the assistant's thresholds on `index` (of [`fit::knowledge_base`]'s articles
/// out of `articles`) and prints them with how they, and the ones in use, do on the
/// held-out half.
fn fit_thresholds(
    index: &KbIndex,
    articles: usize,
    cases: &[eval::Case],
    day: jiff::civil::Date,
) -> anyhow::Result<()> {
    let bar = progress_bar(Some(cases.len() as u64), "fitting");
    let asked = eval::ask(index, cases, day, || bar.inc(1))?;
    bar.finish_and_clear();
    let (fitting, held_out): (Vec<Asked>, Vec<Asked>) =
        asked.into_iter().partition(|a| fit::in_fit_half(a.id));
    println!(
        "assistant thresholds, fitted on the {} questions of even message numbers against an index of every other article ({} of {}): sure answers right >= {:.0}%, the three shown while unsure hold the answer >= {:.0}%",
        fitting.len(),
        index.len(),
        articles,
        fit::SURE_PRECISION * 100.0,
        fit::MAYBE_PRECISION * 100.0
    );
    for (from, n, top1, top3) in fit::calibration(&fitting) {
        println!(
            "  confidence >= {from:.1}: {n:>4} questions, best article right {:5.1}%, among the first three {:5.1}%",
            top1 * 100.0,
            top3 * 100.0
        );
    }
    let judge = |label: &str, thresholds: Thresholds| {
        println!(
            "{label}: sure >= {:.2}, maybe >= {:.2}; on the {} held-out questions (odd numbers):\n{}",
            thresholds.sure,
            thresholds.maybe,
            held_out.len(),
            Outcome::of(&held_out, thresholds)
        );
    };
    match fit::fit(&fitting) {
        Some(fitted) => judge("fitted", fitted),
        None => println!("fitted: no confidence makes sure answers right often enough"),
    }
    judge("in use (assistant::THRESHOLDS)", THRESHOLDS);
    Ok(())
}
