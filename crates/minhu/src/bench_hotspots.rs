//! `minhu bench hotspots`: the hotspot list on real messages (the 2020 Teddy Cup
//! board's 附件3, with likes), for comparing its top entries with the problems a person
//! reading the messages would name (BENCHMARKS.md).
//!
//! Each message is placed with the city's gazetteer (`RegionTree::locate` on its
//! subject and text, as the router places a ticket) and grouped by
//! `minhu_analytics::hotspot` over one window covering the whole file (or the last
//! `days` of it), with the citizen's board id and the message's likes.

use minhu_analytics::hotspot::{HotspotRules, Message, hotspots};
use minhu_import::Reader;
use minhu_text::Segmenter;
use std::path::Path;
use std::time::Instant;

pub fn run(data: &Path, config: &Path, days: Option<i64>, top: usize) -> anyhow::Result<()> {
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
            .regions
            .locate(&text)
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
    let segmenter = Segmenter::with_words(city.regions.all().iter().flat_map(|region| {
        std::iter::once(region.name.as_str()).chain(region.aliases.iter().map(String::as_str))
    }));
    let started = Instant::now();
    let found = hotspots(
        &messages,
        to,
        &HotspotRules {
            window,
            ..HotspotRules::default()
        },
        &segmenter,
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
        "| rank | heat | messages | citizens | likes | place | key words | from - to | e.g. |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | --- | --- | --- | --- |");
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
            "| {} | {:.1} | {} | {} | {} | {place} | {} | {} - {} | {} |",
            h.rank,
            h.heat,
            h.count,
            h.citizens,
            h.likes.unwrap_or(0),
            h.words.join(" "),
            h.first_at.strftime("%Y-%m-%d"),
            h.last_at.strftime("%Y-%m-%d"),
            subject(&h.messages[0]).replace('|', "/"),
        );
    }
    Ok(())
}
