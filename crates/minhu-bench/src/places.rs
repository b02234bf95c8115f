//! `minhu-bench places`: the place reader on real messages a person placed by hand
//! (`bench/places-sample.csv`: the data file and message id, the city the message is
//! about - `A` for this one, another letter for another city of the province, `X` for a
//! city named otherwise, `-` for none - and, when the text lets a reader tell, the
//! district). Each message is read as the router reads a ticket with no address or
//! pin (`City::read_place` on its subject and text), twice: with the region names alone
//! (the city without `places.csv`) and with `places.csv`, in the same run.
//!
//! "Placed" counts a demand placed at the city itself (it names the city and no place
//! below it the gazetteer knows: a city-wide matter for the city's departments) or
//! below it; "placed below the city" only those in a district or deeper. Both are
//! printed side by side.
//!
//! Printed per reading: of the messages about this city, the share placed (at all and
//! below the city) and the share placed in another city; of those with a district, the district
//! precision of the placed ones; of the messages about other cities, the share
//! recognised as that city and the share placed here; then the reads per second on one
//! thread, and every wrong reading. With `--messages FILE` (e.g. `demo/messages.csv`),
//! how every message of that file reads: placed, another city, neither; and of those
//! naming the city or a district (the goal: >= 90% of them placed), the share
//! placed. `scripts/make-demo-data.py --hold-out-share` writes such a file of messages
//! its places were not mined from. With `--unplaced`, the messages naming the city that
//! stay unplaced are listed, to read why; with `--city-wide`, those placed at the city
//! itself, to check by hand that they name nothing below it.

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

/// What to list besides the figures: the messages naming the city left unplaced, and
/// those placed at the city itself.
#[derive(Clone, Copy, Default)]
pub struct Listing {
    pub unplaced: bool,
    pub city_wide: bool,
}

/// The line `listing` asks for about a message naming the city, if any: the message
/// on one line, with how it was read.
fn listed(reading: &Reading, listing: Listing, label: &str, text: &str) -> Option<String> {
    let kind = match reading.region {
        None if listing.unplaced => "unplaced",
        Some(_) if listing.city_wide && reading.is_city_wide() => "city-wide",
        _ => return None,
    };
    let read = match (reading.elsewhere, reading.place) {
        (Some(city), _) => format!(", read as {}", city.name),
        (None, Some(place)) => format!(", by {}", place.name),
        (None, None) => String::new(),
    };
    Some(format!("{kind}: {label}{read}: {}", opening(text)))
}

/// The figures of one reading of the sample, and its wrong readings (and, as `listing`
/// asks, the messages naming the city that it leaves unplaced or places at the city).
fn measure(name: &str, city: &City, sample: &[Checked], rounds: usize, listing: Listing) {
    let (mut about_here, mut placed, mut below, mut said_elsewhere) = (0, 0, 0, 0);
    let (mut with_district, mut placed_with_district, mut right_district) = (0, 0, 0);
    let (mut about_other, mut recognised, mut placed_here) = (0, 0, 0);
    let (mut about_none, mut none_placed) = (0, 0);
    let mut naming = Naming::default();
    let mut wrong = Vec::new();
    let mut listed_lines = Vec::new();
    for row in sample {
        let reading = city.read_place(&row.text);
        let got = district(city, &reading);
        let elsewhere = reading.elsewhere.map(|p| p.name.as_str());
        if names_city_or_district(city, &row.text) {
            naming.count(&reading);
            let label = format!("{} {} ({})", row.file, row.id, row.city);
            if let Some(line) = listed(&reading, listing, &label, &row.text) {
                listed_lines.push(line);
            }
        }
        match row.city.as_str() {
            "A" => {
                about_here += 1;
                placed += usize::from(reading.region.is_some());
                below += usize::from(reading.region.is_some() && !reading.is_city_wide());
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
    naming.print("naming A市 or a district (the goal's count)");
    println!(
        "about A市: placed (the city or below) {}, placed below the city {}",
        percent(placed, about_here),
        percent(below, about_here)
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
    for line in listed_lines {
        println!("  {line}");
    }
}

/// Of the messages naming the city or a district (the goal's count): how many were
/// placed at all, below the city, at the city itself, and read as another city.
#[derive(Default)]
struct Naming {
    all: usize,
    placed: usize,
    below: usize,
    city_wide: usize,
    elsewhere: usize,
}

impl Naming {
    fn count(&mut self, reading: &Reading) {
        self.all += 1;
        self.placed += usize::from(reading.region.is_some());
        self.city_wide += usize::from(reading.is_city_wide());
        self.below += usize::from(reading.region.is_some() && !reading.is_city_wide());
        self.elsewhere += usize::from(reading.elsewhere.is_some());
    }

    fn print(&self, name: &str) {
        let here = self.all - self.elsewhere;
        println!(
            "{name}: placed (the city or below) {}, placed below the city {}, at the city itself {}, read as another city {}",
            percent(self.placed, self.all),
            percent(self.below, self.all),
            percent(self.city_wide, self.all),
            percent(self.elsewhere, self.all),
        );
        println!(
            "{name}, not read as another city: placed {}, below the city {}",
            percent(self.placed, here),
            percent(self.below, here)
        );
    }
}

/// How a whole file of messages reads (no hand labels): placed, another city, neither;
/// and of those naming the city or a district, the share placed (as `listing` asks, the
/// ones left unplaced or placed at the city itself).
fn census(name: &str, city: &City, texts: &[String], listing: Listing) {
    let (mut placed, mut below, mut elsewhere) = (0, 0, 0);
    let mut naming = Naming::default();
    let mut listed_lines = Vec::new();
    for text in texts {
        let reading = city.read_place(text);
        placed += usize::from(reading.region.is_some());
        below += usize::from(reading.region.is_some() && !reading.is_city_wide());
        elsewhere += usize::from(reading.elsewhere.is_some());
        if names_city_or_district(city, text) {
            naming.count(&reading);
            if let Some(line) = listed(&reading, listing, "", text) {
                listed_lines.push(line);
            }
        }
    }
    println!(
        "{name}: placed (the city or below) {}, below the city {}, another city {}, neither {}",
        percent(placed, texts.len()),
        percent(below, texts.len()),
        percent(elsewhere, texts.len()),
        percent(texts.len() - placed - elsewhere, texts.len())
    );
    naming.print(&format!("{name}: naming A市 or a district"));
    for line in listed_lines {
        println!("  {line}");
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
    listing: Listing,
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
    let quiet = Listing::default();
    measure("regions.toml alone", &regions_only, &rows, rounds, quiet);
    measure("regions.toml and places.csv", &city, &rows, rounds, listing);
    if let Some(path) = messages {
        let texts: Vec<String> = Reader::open(path)?
            .filter_map(Result::ok)
            .map(|row| format!(" {} {}", row.title, row.description))
            .collect();
        println!("## {} ({} messages)", path.display(), texts.len());
        census("regions.toml alone", &regions_only, &texts, quiet);
        census("regions.toml and places.csv", &city, &texts, listing);
    }
    Ok(())
}
