//! `places.csv`: optional named places (estates, roads, schools, hospitals, markets,
//! other points of interest, and the other cities around), each with the region it
//! lies in, so that a demand naming its estate is placed in the estate's community.
//!
//! Columns, by header name (in any order): `name`, `kind`, `region` (required),
//! `aliases` (other spellings, separated by `|`), `lat` and `lon` (both or neither).

use super::*;
use minhu_core::place::{Gazetteer, Place, PlaceKind};
use minhu_core::ticket::GeoPoint;

const COLUMNS: &[&str] = &["name", "kind", "region", "aliases", "lat", "lon"];

/// Reads `places.csv` when the city has one and builds the gazetteer over the regions
/// and the places; a mistake names the line and the column.
pub(super) fn load_places(files: Files, regions: &RegionTree) -> Result<Gazetteer, ConfigError> {
    let source = match files.exists("places.csv") {
        true => files.read("places.csv")?,
        false => Source {
            path: files.dir.join("places.csv"),
            text: String::new(),
        },
    };
    let error = |line: Option<usize>, problem: String| ConfigError {
        file: source.path.clone(),
        line,
        problem,
    };
    // No file, or an empty one: the regions' names alone.
    if source.text.trim().is_empty() {
        return Gazetteer::new(regions, Vec::new()).map_err(|p| error(None, p.to_string()));
    }
    let (header, records) = source.csv()?;
    if let Some(unknown) = header.iter().find(|h| !COLUMNS.contains(&h.as_str())) {
        return Err(error(
            Some(1),
            format!(
                "unknown column {unknown:?}; the columns are {}",
                COLUMNS.join(", ")
            ),
        ));
    }
    let column = |name: &str| header.iter().position(|h| h == name);
    let [name, kind, region] = ["name", "kind", "region"].map(column);
    let (Some(name), Some(kind), Some(region)) = (name, kind, region) else {
        return Err(error(
            Some(1),
            "the header must name the columns name, kind and region (aliases, lat and lon are optional)".into(),
        ));
    };
    let [aliases, lat, lon] = ["aliases", "lat", "lon"].map(column);
    let mut places = Vec::new();
    let mut lines = Vec::new();
    for (line, record) in records {
        let field = |index: Option<usize>| index.and_then(|i| record.get(i)).unwrap_or("").trim();
        let bad = |column: &str, problem: String| error(line, format!("{column}: {problem}"));
        let kind = PlaceKind::from_code(field(Some(kind))).ok_or_else(|| {
            bad(
                "kind",
                format!(
                    "{:?} is not a kind of place; use one of {}",
                    field(Some(kind)),
                    PlaceKind::ALL
                        .iter()
                        .map(|k| k.code())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
        let coordinate = |column: &str, index: Option<usize>| -> Result<Option<f64>, ConfigError> {
            match field(index) {
                "" => Ok(None),
                text => text
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .map(Some)
                    .ok_or_else(|| bad(column, format!("{text:?} is not a number"))),
            }
        };
        let location = match (coordinate("lat", lat)?, coordinate("lon", lon)?) {
            (Some(lat), Some(lon)) => Some(GeoPoint { lat, lon }),
            (None, None) => None,
            _ => return Err(bad("lat", "give both lat and lon, or neither".into())),
        };
        let aliases = match field(aliases) {
            "" => Vec::new(),
            text => text.split('|').map(|a| a.trim().to_owned()).collect(),
        };
        places.push(Place {
            name: field(Some(name)).to_owned(),
            kind,
            region: Some(field(Some(region)))
                .filter(|r| !r.is_empty())
                .map(RegionId::new),
            aliases,
            location,
        });
        lines.push(line);
    }
    Gazetteer::new(regions, places)
        .map_err(|p| error(lines.get(p.item).copied().flatten(), p.to_string()))
}
