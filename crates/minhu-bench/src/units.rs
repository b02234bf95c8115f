//! `minhu-bench units`: routing to a unit by its post read from the words (the path
//! routing takes when the category is not sure), on real units: the replying units
//! mined from the Teddy Cup replies by `bench/reply-units.py`. Five folds: each fold's
//! messages are read by a unit model (`minhu::classifier::read_post`) trained on the
//! other four, and routed to the post's department at the place the message names at
//! the post's level. For each confidence: the share routed without a person and, of
//! those, the share that reached the replying unit (派单准确率). Beside it, in the same
//! folds: the handled tickets' vote (`minhu_engine::neighbours::vote_post`, the other
//! folds' messages as neighbours, weighed by the unit model) and the two combined as
//! routing combines them.

use anyhow::Context;
use minhu_core::unit::UnitLevel;
use minhu_engine::neighbours::{combine_posts, vote_post};
use minhu_engine::router::PostSuggestion;
use minhu_text::Model;
use minhu_text::Neighbours;
use minhu_text::model::TrainOptions;
use minhu_text::neighbours::Handled;
use std::path::Path;

/// One message: its text, the unit that replied, and the places it names.
struct Row {
    text: String,
    unit: String,
    post: String,
    city: String,
    district: String,
    fold: usize,
}

fn read(data: &Path) -> anyhow::Result<Vec<Row>> {
    let mut reader =
        csv::Reader::from_path(data).with_context(|| format!("cannot read {}", data.display()))?;
    let headers = reader.headers()?.clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .with_context(|| format!("{}: no column {name}", data.display()))
    };
    let [title, body, unit, level, department, city, district, fold] = [
        "留言主题",
        "留言详情",
        "单位",
        "层级",
        "部门",
        "文中市",
        "文中区县",
        "fold",
    ]
    .map(column);
    let (title, body, unit, level, department, city, district, fold) = (
        title?,
        body?,
        unit?,
        level?,
        department?,
        city?,
        district?,
        fold?,
    );
    let mut rows = Vec::new();
    for (line, record) in reader.records().enumerate() {
        let record = record?;
        let level = match &record[level] {
            "city" => UnitLevel::CityDepartment,
            "district" => UnitLevel::DistrictDepartment,
            other => anyhow::bail!(
                "{}:{}: 层级 {other:?} is neither city nor district",
                data.display(),
                line + 2
            ),
        };
        rows.push(Row {
            text: format!("{} {}", &record[title], &record[body]),
            unit: record[unit].to_owned(),
            post: minhu::classifier::post_label(level, Some(&record[department])),
            city: record[city].to_owned(),
            district: record[district].to_owned(),
            fold: record[fold]
                .parse()
                .with_context(|| format!("{}:{}: fold", data.display(), line + 2))?,
        });
    }
    Ok(rows)
}

pub fn run(data: &Path, confidences: &[f32]) -> anyhow::Result<()> {
    let rows = read(data)?;
    anyhow::ensure!(!rows.is_empty(), "{}: no rows", data.display());
    let folds = rows.iter().map(|r| r.fold).max().unwrap_or(0) + 1;
    let readers = ["unit model", "neighbours", "model + neighbours"];
    // Per reader and message: the unit routed to (None: no place at the post's level)
    // and how sure.
    let mut routed: Vec<Vec<(Option<String>, f32, bool)>> = vec![Vec::new(); readers.len()];
    for fold in 0..folds {
        let (test, train): (Vec<&Row>, Vec<&Row>) = rows.iter().partition(|r| r.fold == fold);
        let texts: Vec<String> = train.iter().map(|r| r.text.clone()).collect();
        let posts: Vec<String> = train.iter().map(|r| r.post.clone()).collect();
        let model = Model::train(&texts, &posts, TrainOptions::default(), |_, _| {})?;
        let handled = train
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let ticket = Handled {
                    ticket: i.to_string(),
                    category: None,
                    unit: Some(row.unit.clone()),
                    post: Some(row.post.clone()),
                    returned: Vec::new(),
                };
                (ticket, model.vector(&row.text, None))
            })
            .collect();
        let neighbours = Neighbours::new(handled, model.dim_bits());
        for row in test {
            let by_model = minhu::classifier::read_post(&model, &row.text);
            let similar = minhu::classifier::similar_in(
                &neighbours,
                &model,
                &row.text,
                minhu::classifier::VOTERS,
            );
            let by_neighbours = vote_post(&similar);
            let combined = combine_posts(by_model.clone(), by_neighbours.clone());
            for (reader, post) in [by_model, by_neighbours, combined].into_iter().enumerate() {
                routed[reader].push(route(row, post));
            }
        }
    }
    println!(
        "{} messages with a department unit, {} folds; routed to the post's department at the place the message names",
        rows.len(),
        folds
    );
    for (name, routed) in readers.iter().zip(&routed) {
        for &confidence in confidences {
            let taken: Vec<&(Option<String>, f32, bool)> = routed
                .iter()
                .filter(|(unit, sure, _)| unit.is_some() && *sure >= confidence)
                .collect();
            let right = taken.iter().filter(|(_, _, right)| *right).count();
            println!(
                "minhu {name:<18} unit confidence>={confidence:.2} routed={:.4} right_when_routed={:.4} wrong_when_routed={:.4} right_of_all={:.4} n={}",
                taken.len() as f64 / rows.len() as f64,
                right as f64 / taken.len().max(1) as f64,
                1.0 - right as f64 / taken.len().max(1) as f64,
                right as f64 / rows.len() as f64,
                rows.len()
            );
        }
    }
    Ok(())
}

/// Where a post read for `row` routes it: its department at the place the message
/// names at the post's level (None when it names none), how sure, and whether that is
/// the unit that replied.
fn route(row: &Row, post: Option<PostSuggestion>) -> (Option<String>, f32, bool) {
    let Some(post) = post else {
        return (None, 0.0, false);
    };
    let place = match post.level {
        UnitLevel::CityDepartment => &row.city,
        _ => &row.district,
    };
    let unit = (!place.is_empty()).then(|| format!("{place}{}", post.role.unwrap_or_default()));
    let right = unit.as_deref() == Some(row.unit.as_str());
    (unit, post.confidence, right)
}
