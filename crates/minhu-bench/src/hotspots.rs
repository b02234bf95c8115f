//! `minhu-bench hotspots`: the hotspot list on real messages (the 2020 Teddy Cup
//! board's 附件3, with likes), for comparing its top entries with the problems a person
//! reading the messages would name (BENCHMARKS.md).
//!
//! Each message is placed with the city's gazetteer (`City::read_place` on its
//! subject and text, as the router places a ticket) and grouped by
//! `minhu_analytics::hotspot` over one window covering the whole file (or the last
//! `days` of it), with the citizen's board id and the message's likes.
//!
//! With `--reference FILE` (e.g. `bench/hotspots-teddycup.txt`), the problems a person
//! names are found by their words, and each is matched with the hotspot holding most of
//! its messages: purity (of the hotspot's messages, how many are the problem's) and
//! coverage (of the problem's messages, how many the hotspot holds).

use minhu_analytics::hotspot::{Hotspot, HotspotRules, Lexicon, Message, hotspots};
use minhu_import::Reader;
use std::collections::HashSet;
use std::path::Path;
use std::time::Instant;

/// A problem a person names, and the terms that find its messages: every term must
/// occur, a term being one word or several separated by `|` (any of them).
struct Reference {
    topic: String,
    terms: Vec<Vec<String>>,
}

impl Reference {
    fn matches(&self, text: &str) -> bool {
        self.terms
            .iter()
            .all(|any| any.iter().any(|word| text.contains(word.as_str())))
    }
}

/// Lines `topic = term term ...`; blank lines and lines starting with `#` are skipped.
fn read_references(path: &Path) -> anyhow::Result<Vec<Reference>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", path.display()))?;
    let mut references = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (topic, terms) = line.split_once('=').ok_or_else(|| {
            anyhow::anyhow!(
                "{}:{}: expected `topic = term term ...`",
                path.display(),
                number + 1
            )
        })?;
        let terms: Vec<Vec<String>> = terms
            .split_whitespace()
            .map(|term| term.split('|').map(str::to_owned).collect())
            .collect();
        anyhow::ensure!(
            !terms.is_empty(),
            "{}:{}: no terms after `=`",
            path.display(),
            number + 1
        );
        references.push(Reference {
            topic: topic.trim().to_owned(),
            terms,
        });
    }
    Ok(references)
}

pub fn run(
    data: &Path,
    config: &Path,
    days: Option<i64>,
    top: usize,
    reference: Option<&Path>,
) -> anyhow::Result<()> {
    let references = reference.map(read_references).transpose()?;
    let city = minhu_config::load_city(config)?;
    let mut messages = Vec::new();
    let mut skipped = 0;
    for row in Reader::open(data)? {
        let Ok(row) = row else {
            skipped += 1;
            continue;
        };
        let Some(at) = row
            .created_at
            .and_then(|t| t.to_zoned(city.timezone.clone()).ok())
            .map(|z| z.timestamp())
        else {
            skipped += 1;
            continue;
        };
        let text = format!("{} {}", row.title, row.description);
        let mut place: Vec<String> = city
            .read_place(&text)
            .region
            .map(|r| {
                city.regions
                    .ancestry(&r.id)
                    .map(|r| r.id.as_str().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        place.reverse();
        messages.push(Message {
            id: row.external_id.unwrap_or_else(|| row.line.to_string()),
            text,
            at,
            place,
            citizen: row.citizen_ref,
            likes: row.likes,
            open: false,
            unit: None,
        });
    }
    anyhow::ensure!(
        !messages.is_empty(),
        "{}: no dated messages",
        data.display()
    );
    let first = messages.iter().map(|m| m.at).min().unwrap_or_default();
    let last = messages.iter().map(|m| m.at).max().unwrap_or_default();
    let to = last + jiff::SignedDuration::from_secs(1);
    let window = match days {
        Some(days) => jiff::SignedDuration::from_hours(days * 24),
        None => to.duration_since(first) + jiff::SignedDuration::from_secs(1),
    };
    let lexicon = Lexicon::for_city(&city);
    let started = Instant::now();
    let found = hotspots(
        &messages,
        to,
        &HotspotRules {
            window,
            ..HotspotRules::default()
        },
        &lexicon,
    );
    let placed = messages.iter().filter(|m| !m.place.is_empty()).count();
    println!(
        "{} messages ({placed} placed, {skipped} skipped), {} to {}: {} hotspots in {:.1} s",
        messages.len(),
        first.strftime("%Y-%m-%d"),
        last.strftime("%Y-%m-%d"),
        found.len(),
        started.elapsed().as_secs_f64()
    );
    let subject = |id: &str| {
        messages
            .iter()
            .find(|m| m.id == id)
            .map(|m| m.text.chars().take(40).collect::<String>())
            .unwrap_or_default()
    };
    println!(
        "| rank | heat | messages | citizens | likes | place | name | key words | from - to | e.g. |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | --- | --- | --- | --- | --- |");
    for h in found.iter().take(top) {
        let place = h
            .place
            .as_ref()
            .and_then(|p| {
                city.regions
                    .get(&minhu_core::ids::RegionId::new(p.as_str()))
            })
            .map_or("-".to_owned(), |r| r.name.clone());
        println!(
            "| {} | {:.1} | {} | {} | {} | {place} | {} | {} | {} - {} | {} |",
            h.rank,
            h.heat,
            h.count,
            h.citizens,
            h.likes.unwrap_or(0),
            h.name,
            h.words.join(" "),
            h.first_at.strftime("%Y-%m-%d"),
            h.last_at.strftime("%Y-%m-%d"),
            subject(&h.messages[0]).replace('|', "/"),
        );
    }
    if let Some(references) = references {
        compare(&references, &messages, &found);
    }
    Ok(())
}

/// Prints, for each named problem, the hotspot holding most of its messages with its
/// purity and coverage, and the totals over all problems.
fn compare(references: &[Reference], messages: &[Message], found: &[Hotspot]) {
    println!();
    println!(
        "| problem a person names | its messages | hotspot rank | hotspot messages | shared | purity | coverage |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    let (mut shared_all, mut hotspot_all, mut problem_all) = (0, 0, 0);
    for reference in references {
        let ids: HashSet<&str> = messages
            .iter()
            .filter(|m| reference.matches(&m.text))
            .map(|m| m.id.as_str())
            .collect();
        let best = found
            .iter()
            .map(|h| {
                let shared = h
                    .messages
                    .iter()
                    .filter(|id| ids.contains(id.as_str()))
                    .count();
                (h, shared)
            })
            .max_by_key(|(h, shared)| (*shared, std::cmp::Reverse(h.rank)));
        let Some((hotspot, shared)) = best.filter(|(_, shared)| *shared > 0) else {
            println!(
                "| {} | {} | - | - | 0 | - | 0.00 |",
                reference.topic,
                ids.len()
            );
            problem_all += ids.len();
            continue;
        };
        println!(
            "| {} | {} | {} | {} | {shared} | {:.2} | {:.2} |",
            reference.topic,
            ids.len(),
            hotspot.rank,
            hotspot.count,
            shared as f64 / hotspot.count as f64,
            shared as f64 / ids.len().max(1) as f64,
        );
        shared_all += shared;
        hotspot_all += hotspot.count;
        problem_all += ids.len();
    }
    println!(
        "| all | {problem_all} | | {hotspot_all} | {shared_all} | {:.2} | {:.2} |",
        shared_all as f64 / hotspot_all.max(1) as f64,
        shared_all as f64 / problem_all.max(1) as f64,
    );
}
