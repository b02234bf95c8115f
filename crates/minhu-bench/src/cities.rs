//! `minhu-bench cities`: which city of the province real messages are taken in for,
//! against the city a person wrote for each (`bench/places-sample.csv`, the sample of
//! `minhu-bench places`, and its extension `bench/cities-sample.csv`). Each message is
//! read as intake reads a demand that names no city ([`Province::reads_as`]: the home
//! city's place reader, whose `places.csv` names the other cities and their districts
//! and counties), with the province's cities configured (`--province`, default
//! `demo/province`).
//!
//! Printed: of the messages about a city of the province, the share taken in for that
//! city, per city and in all; where the messages about no city (`-`) and about a city
//! named otherwise (`X`) went; and every message taken in for the wrong city.

use crate::places::read_sample;
use minhu_core::Province;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub fn run(samples: &[PathBuf], data: &Path, province: &Path) -> anyhow::Result<()> {
    let province: Province =
        minhu_config::load_province(province).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut rows = Vec::new();
    for sample in samples {
        rows.extend(read_sample(sample, data)?);
    }
    // city letter -> (messages, taken in for it)
    let mut per_city: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut elsewhere: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut wrong = Vec::new();
    for row in &rows {
        let got = province.reads_as(&row.text).id.as_str().to_owned();
        if province
            .city(&minhu_core::ids::CityId::new(&row.city))
            .is_some()
        {
            let entry = per_city.entry(row.city.clone()).or_default();
            entry.0 += 1;
            if got == row.city {
                entry.1 += 1;
            } else {
                wrong.push(format!(
                    "{} {}: about {}市, taken in for {got}市",
                    row.file, row.id, row.city
                ));
            }
        } else {
            *elsewhere.entry((row.city.clone(), got)).or_default() += 1;
        }
    }
    let (all, right) = per_city
        .values()
        .fold((0, 0), |(a, r), (n, k)| (a + n, r + k));
    println!(
        "{} cities configured; sample {} messages ({} about a city of the province)",
        province.cities().len(),
        rows.len(),
        all
    );
    for (city, (n, k)) in &per_city {
        println!("  {city}市: {k}/{n} taken in for it");
    }
    for ((want, got), n) in &elsewhere {
        let what = match want.as_str() {
            "-" => "about no city",
            _ => "about a city named otherwise",
        };
        println!("  {what} ({want}): {n} taken in for {got}市");
    }
    for line in &wrong {
        println!("wrong: {line}");
    }
    println!(
        "right_city={:.1}% ({right}/{all})",
        100.0 * right as f64 / all.max(1) as f64
    );
    Ok(())
}
