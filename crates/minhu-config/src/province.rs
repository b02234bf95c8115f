//! A province directory: `province.toml` (the province, its cities in order, its own
//! units and desk), the `calendar.toml` and other files its cities share, and one
//! directory per city in the city format (`cities/<id>/city.toml` ...); a file a city's
//! directory lacks is read from the province's. A directory holding `city.toml`
//! instead is a province of that one city, so every single-city configuration loads
//! unchanged.

use super::*;
use minhu_core::Province;
use minhu_core::ids::{CityId, UnitId};
use minhu_core::province::ProvinceUnit;
use std::sync::Arc;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProvinceFile {
    province: ProvinceSection,
    #[serde(default)]
    unit: Vec<Spanned<ProvinceUnit>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProvinceSection {
    id: Spanned<String>,
    name: String,
    #[serde(default)]
    name_en: Option<String>,
    /// The cities' ids, the home city first; each is a directory of `cities/`.
    cities: Spanned<Vec<String>>,
    #[serde(default)]
    desk: Option<Spanned<String>>,
}

/// The file that makes a directory a province.
pub const PROVINCE_FILE: &str = "province.toml";

/// Where a province keeps its cities' directories.
const CITIES_DIR: &str = "cities";

/// Loads the configuration in `dir`: a province directory (with `province.toml`), or a
/// single city's directory as a province of one.
pub fn load_province(dir: &Path) -> Result<Province, ConfigError> {
    if !dir.join(PROVINCE_FILE).exists() {
        return Ok(Province::single(Arc::new(load_city(dir)?)));
    }
    let files = Files::of(dir);
    let source = files.read(PROVINCE_FILE)?;
    let file: ProvinceFile = source.parse()?;
    let section = file.province;
    let id = section.id.get_ref().trim().to_owned();
    if !is_plain_id(&id) {
        return Err(source.error(
            Some(section.id.span().start),
            format!("id: {id:?} is not an id (letters, digits, - and _)"),
        ));
    }
    let calendar = load_calendar(&files.read("calendar.toml")?)?;
    let cities_at = Some(section.cities.span().start);
    let listed = section.cities.get_ref();
    if listed.is_empty() {
        return Err(source.error(cities_at, "cities: a province needs at least one city"));
    }
    let mut cities = Vec::with_capacity(listed.len());
    for name in listed {
        if !is_plain_id(name) {
            return Err(source.error(
                cities_at,
                format!("cities: {name:?} is not a city id (its root region's id)"),
            ));
        }
        let city_dir = dir.join(CITIES_DIR).join(name);
        if !city_dir.join("city.toml").exists() {
            return Err(source.error(
                cities_at,
                format!("cities: {name} has no {}/{name}/city.toml", CITIES_DIR),
            ));
        }
        let city = read_city(Files {
            shared: Some(dir),
            ..Files::of(&city_dir)
        })?;
        if city.id().as_str() != name {
            return Err(ConfigError {
                file: city_dir.join("city.toml"),
                line: None,
                problem: format!(
                    "region: the city's root region is {} but its directory is {CITIES_DIR}/{name}; \
                     a city's directory is named by its root region's id",
                    city.id()
                ),
            });
        }
        cities.push(Arc::new(city));
    }
    if let Some(stray) = unlisted_cities(dir, listed).first() {
        return Err(source.error(
            cities_at,
            format!("cities: {CITIES_DIR}/{stray} is a city directory this list leaves out; list it or move it away"),
        ));
    }
    let unit_spans = spans_of(&file.unit);
    let units = unspan(file.unit);
    for (i, unit) in units.iter().enumerate() {
        if unit.name.trim().is_empty() {
            return Err(source.item_error(
                &unit_spans,
                ConfigProblem::new(i, "name", format!("unit {} has an empty name", unit.id)),
            ));
        }
        if let Some(j) = units[..i].iter().position(|u| u.id == unit.id) {
            return Err(source.item_error(
                &unit_spans,
                ConfigProblem::new(
                    i,
                    "id",
                    format!("unit {} is listed twice (first as item {})", unit.id, j + 1),
                ),
            ));
        }
    }
    let desk_at = section.desk.as_ref().map(|d| d.span().start);
    let desk = section.desk.map(|d| UnitId::new(d.into_inner().trim()));
    Province::new(
        id,
        section.name.clone(),
        section.name_en.unwrap_or(section.name),
        calendar,
        units,
        desk,
        cities,
    )
    .map_err(|problem| {
        let at = match problem {
            minhu_core::province::ProvinceProblem::UnknownDesk(_) => desk_at,
            _ => cities_at,
        };
        let field = match problem {
            minhu_core::province::ProvinceProblem::UnknownDesk(_) => "",
            _ => "cities: ",
        };
        source.error(at, format!("{field}{problem}"))
    })
}

/// The directory of one city of the configuration in `dir` (`dir` itself for a lone
/// city): where its `open311.toml`, `notify.toml` and editable files are.
pub fn city_dir(dir: &Path, province: &Province, city: &CityId) -> PathBuf {
    if dir.join(PROVINCE_FILE).exists() && province.city(city).is_some() {
        dir.join(CITIES_DIR).join(city.as_str())
    } else {
        dir.to_path_buf()
    }
}

/// The province directory a city's directory `dir` lies in (`<province>/cities/<id>`,
/// beside `province.toml`), whose files the city reads where it has none of its own;
/// `None` for a lone city's directory.
pub fn province_of(dir: &Path) -> Option<PathBuf> {
    let cities = dir.parent()?;
    let province = cities.parent()?;
    (cities.file_name()? == CITIES_DIR && province.join(PROVINCE_FILE).exists())
        .then(|| province.to_path_buf())
}

/// The directory of another city `city` beside the city directory `dir` in the same
/// province; `None` for a lone city's directory.
pub fn sibling_dir(dir: &Path, city: &CityId) -> Option<PathBuf> {
    province_of(dir).map(|province| province.join(CITIES_DIR).join(city.as_str()))
}

/// Directories of `cities/` holding a `city.toml` that `listed` does not name: a city
/// someone added and forgot to list would otherwise be silently left out.
fn unlisted_cities(dir: &Path, listed: &[String]) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir.join(CITIES_DIR)) else {
        return Vec::new();
    };
    let mut stray: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().join("city.toml").exists())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| !listed.contains(name))
        .collect();
    stray.sort();
    stray
}

fn is_plain_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
