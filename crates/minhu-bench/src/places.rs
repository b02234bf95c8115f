//! `minhu-bench places`: the place reader on real messages a person placed by hand
//! (`bench/places-sample.csv`: the data file and message id, the city the message is
//! about - `A` for this one, another letter for another city of the province, `X` for a
//! city named otherwise, `-` for none - and, when the text lets a reader tell, the
//! district). Each message is read as the router reads a ticket with no address or
//! pin (`City::read_place` on its subject and text), twice: with the region names alone
//! (the city without `places.csv`) and with `places.csv`, in the same run.
//!
//! Printed per reading: of the messages about this city, the share placed below the
//! city and the share placed in another city; of those with a district, the district
//! precision of the placed ones; of the messages about other cities, the share
//! recognised as that city and the share placed here; then the reads per second on one
//! thread, and every wrong reading. With `--messages FILE` (e.g. `demo/messages.csv`),
//! how every message of that file reads: placed, another city, neither; and of those
//! naming the city or a district (the goal: >= 90% of them placed), the share
//! placed. `scripts/make-demo-data.py --hold-out-share` writes such a file of messages
//! its places were not mined from. With `--unplaced`, the messages naming the city that
//! stay unplaced are listed, to read why.

use anyhow::Context;
use minhu_core::City;
use minhu_core::place::{Gazetteer, Reading};
use minhu_core::region::RegionLevel;
use minhu_import::Reader;
use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

/// One message of the sample, with what the person wrote.
pub(crate) struct Checked {
    pub(crate) file: String,
    pub(crate) id: String,
    /// `A`, another city's letter, `X` (a city named otherwise) or `-` (none).
    pub(crate) city: String,
    district: Option<String>,
    pub(crate) text: String,
}

pub(crate) fn read_sample(sample: &Path, data: &Path) -> anyhow::Result<Vec<Checked>> {
    let mut reader = csv::Reader::from_path(sample)
        .with_context(|| format!("cannot read {}", sample.display()))?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.with_context(|| format!("{}", sample.display()))?;
        let field = |i: usize| record.get(i).unwrap_or("").trim().to_owned();
        rows.push(Checked {
            file: field(0),
            id: field(1),
            city: field(2),
            district: Some(field(3)).filter(|d| !d.is_empty()),
            text: String::new(),
        });
    }
    let mut texts: HashMap<(String, String), String> = HashMap::new();
    let mut files: Vec<&str> = rows.iter().map(|r| r.file.as_str()).collect();
    files.sort_unstable();
    files.dedup();
    for file in files {
        for row in Reader::open(&data.join(file))? {
            let Ok(row) = row else { continue };
            if let Some(id) = row.external_id {
                // As the router reads a ticket: address (none), title, description.
                let text = format!(" {} {}", row.title, row.description);
                texts.insert((file.to_owned(), id), text);
            }
        }
    }
    for row in &mut rows {
        row.text = texts
            .remove(&(row.file.clone(), row.id.clone()))
            .with_context(|| format!("{} has no message {}", row.file, row.id))?;
    }
    Ok(rows)
}

fn district<'a>(city: &'a City, reading: &Reading<'a>) -> Option<&'a str> {
    let region = reading.region?;
    city.regions
        .ancestry(&region.id)
        .find(|r| r.level == RegionLevel::District)
        .map(|r| r.id.as_str())
}

fn percent(part: usize, whole: usize) -> String {
    match whole {
        0 => "-".into(),
        _ => format!(
            "{:.1}% ({part}/{whole})",
            100.0 * part as f64 / whole as f64
        ),
    }
}

/// Whether `text` names the city or one of its districts (a district's name or alias,
/// as written): the goal counts the messages placed among these.
fn names_city_or_district(city: &City, text: &str) -> bool {
    city.regions
        .all()
        .iter()
        .filter(|r| r.level <= RegionLevel::District)
        .flat_map(|r| std::iter::once(&r.name).chain(&r.aliases))
        .any(|name| text.contains(name.as_str()))
}

/// The first characters of a message, on one line, to read why it was not placed.
fn opening(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(60)
        .collect()
}

/// The figures of one reading of the sample, and its wrong readings (and, with
/// `unplaced`, the messages naming the city that it leaves unplaced).
fn measure(name: &str, city: &City, sample: &[Checked], rounds: usize, unplaced: bool) {
    let (mut about_here, mut placed, mut said_elsewhere) = (0, 0, 0);
    let (mut with_district, mut placed_with_district, mut right_district) = (0, 0, 0);
    let (mut about_other, mut recognised, mut placed_here) = (0, 0, 0);
    let (mut about_none, mut none_placed) = (0, 0);
    let (mut naming, mut naming_placed, mut naming_elsewhere) = (0, 0, 0);
    let mut wrong = Vec::new();
    let mut left = Vec::new();
    for row in sample {
        let reading = city.read_place(&row.text);
        let got = district(city, &reading);
        let elsewhere = reading.elsewhere.map(|p| p.name.as_str());
        if names_city_or_district(city, &row.text) {
            naming += 1;
            naming_placed += usize::from(reading.region.is_some());
            naming_elsewhere += usize::from(elsewhere.is_some());
            if reading.region.is_none() {
                left.push(format!(
                    "{} {} ({}{}): {}",
                    row.file,
                    row.id,
                    row.city,
                    elsewhere
                        .map(|c| format!(", read as {c}"))
                        .unwrap_or_default(),
                    opening(&row.text)
                ));
            }
        }
        match row.city.as_str() {
            "A" => {
                about_here += 1;
                placed += usize::from(reading.region.is_some());
                said_elsewhere += usize::from(elsewhere.is_some());
                if let Some(city) = elsewhere {
                    wrong.push(format!(
                        "{} {}: about A市, read as {city}",
                        row.file, row.id
                    ));
                }
                if let Some(want) = &row.district {
                    with_district += 1;
                    if let Some(got) = got {
                        placed_with_district += 1;
                        if got == want {
                            right_district += 1;
                        } else {
                            wrong
                                .push(format!("{} {}: in {want}, read as {got}", row.file, row.id));
                        }
                    }
                }
            }
            "-" => {
                about_none += 1;
                none_placed += usize::from(reading.region.is_some());
                if let Some(region) = reading.region {
                    wrong.push(format!(
                        "{} {}: about no one city, placed in {}",
                        row.file, row.id, region.id
                    ));
                }
            }
            letter => {
                about_other += 1;
                let want = format!("{letter}市");
                recognised += usize::from(elsewhere == Some(want.as_str()));
                placed_here += usize::from(reading.region.is_some());
                if let Some(region) = reading.region {
                    wrong.push(format!(
                        "{} {}: about {want}, placed in {}",
                        row.file, row.id, region.id
                    ));
                }
            }
        }
    }
    let started = Instant::now();
    let mut spans = 0;
    for _ in 0..rounds {
        for row in sample {
            spans += city.read_place(&row.text).spans.len();
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let chars: usize = sample.iter().map(|r| r.text.chars().count()).sum();
    println!("## {name}");
    println!(
        "naming A市 or a district (the goal's count): placed below the city {}; of those not read as another city {}",
        percent(naming_placed, naming),
        percent(naming_placed, naming - naming_elsewhere)
    );
    println!(
        "about A市: placed below the city {}",
        percent(placed, about_here)
    );
    println!(
        "about A市: read as another city {}",
        percent(said_elsewhere, about_here)
    );
    println!(
        "about A市 with a district a reader can tell: placed {}, district right {}",
        percent(placed_with_district, with_district),
        percent(right_district, placed_with_district)
    );
    println!(
        "about another city: recognised as that city {}, placed in A市 {}",
        percent(recognised, about_other),
        percent(placed_here, about_other)
    );
    println!(
        "about no city: placed in A市 {}",
        percent(none_placed, about_none)
    );
    println!(
        "{} reads ({:.0} characters on average) in {seconds:.3}s: {:.0} reads/s on one thread ({spans} spans)",
        sample.len() * rounds,
        chars as f64 / sample.len().max(1) as f64,
        (sample.len() * rounds) as f64 / seconds.max(1e-9)
    );
    for line in wrong {
        println!("  wrong: {line}");
    }
    if unplaced {
        for line in left {
            println!("  unplaced: {line}");
        }
    }
}

/// How a whole file of messages reads (no hand labels): placed, another city, neither;
/// and of those naming the city or a district, the share placed (with `unplaced`, the
/// ones left).
fn census(name: &str, city: &City, texts: &[String], unplaced: bool) {
    let (mut placed, mut elsewhere) = (0, 0);
    let (mut naming, mut naming_placed, mut naming_elsewhere) = (0, 0, 0);
    let mut left = Vec::new();
    for text in texts {
        let reading = city.read_place(text);
        placed += usize::from(reading.region.is_some());
        elsewhere += usize::from(reading.elsewhere.is_some());
        if names_city_or_district(city, text) {
            naming += 1;
            naming_placed += usize::from(reading.region.is_some());
            naming_elsewhere += usize::from(reading.elsewhere.is_some());
            if reading.region.is_none() {
                left.push(opening(text));
            }
        }
    }
    println!(
        "{name}: placed below the city {}, another city {}, neither {}",
        percent(placed, texts.len()),
        percent(elsewhere, texts.len()),
        percent(texts.len() - placed - elsewhere, texts.len())
    );
    println!(
        "{name}: naming A市 or a district, placed below the city {}; of those not read as another city {}",
        percent(naming_placed, naming),
        percent(naming_placed, naming - naming_elsewhere)
    );
    if unplaced {
        for line in left {
            println!("  unplaced: {line}");
        }
    }
    // The names below the district on their own: the messages that name one district,
    // read with every district's and the city's names taken out.
    let districts: Vec<(&str, Vec<&str>)> = city
        .regions
        .all()
        .iter()
        .filter(|r| r.level == RegionLevel::District)
        .map(|r| {
            let names = std::iter::once(&r.name).chain(&r.aliases);
            (r.id.as_str(), names.map(String::as_str).collect())
        })
        .collect();
    let (mut one, mut found, mut right) = (0, 0, 0);
    for text in texts {
        let named: Vec<&str> = districts
            .iter()
            .filter(|(_, names)| names.iter().any(|n| text.contains(n)))
            .map(|(id, _)| *id)
            .collect();
        let [want] = named[..] else { continue };
        one += 1;
        let mut bare = text.replace(city.regions.root().name.as_str(), " ");
        for name in districts.iter().flat_map(|(_, names)| names) {
            bare = bare.replace(name, " ");
        }
        if let Some(got) = district(city, &city.read_place(&bare)) {
            found += 1;
            right += usize::from(got == want);
        }
    }
    println!(
        "{name}: of {one} naming one district, read without the district's name: placed {}, district right {}",
        percent(found, one),
        percent(right, found)
    );
}

pub fn run(
    sample: &Path,
    data: &Path,
    config: &Path,
    rounds: usize,
    messages: Option<&Path>,
    unplaced: bool,
) -> anyhow::Result<()> {
    let city = minhu_config::load_city(config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let rows = read_sample(sample, data)?;
    let mut regions_only = city.clone();
    regions_only.places =
        Gazetteer::new(&city.regions, Vec::new()).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "{} messages of {}; {} places in places.csv",
        rows.len(),
        sample.display(),
        city.places.places().len()
    );
    measure("regions.toml alone", &regions_only, &rows, rounds, false);
    measure(
        "regions.toml and places.csv",
        &city,
        &rows,
        rounds,
        unplaced,
    );
    if let Some(path) = messages {
        let texts: Vec<String> = Reader::open(path)?
            .filter_map(Result::ok)
            .map(|row| format!(" {} {}", row.title, row.description))
            .collect();
        println!("## {} ({} messages)", path.display(), texts.len());
        census("regions.toml alone", &regions_only, &texts, false);
        census("regions.toml and places.csv", &city, &texts, unplaced);
    }
    Ok(())
}
