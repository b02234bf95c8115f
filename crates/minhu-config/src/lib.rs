//! Reads a city's configuration directory and turns it into a validated
//! [`minhu_core::City`].
//!
//! A city edits plain files, not code:
//!
//! | file | what it holds |
//! | --- | --- |
//! | `city.toml` | name, time zone, root region, handling tiers (and each tier's clock), handling rules (`[workflow]`), personal data in free text (`[privacy]`) |
//! | `calendar.toml` | public holidays and make-up working days (调休), `[[year]]` tables |
//! | `regions.toml` | the region tree, `[[region]]` tables |
//! | `places.csv` | optional: named places (estates, roads, schools, hospitals, markets, other cities) and the region each lies in (`name,kind,region,aliases,lat,lon`) |
//! | `units.toml` | handling units, `[[unit]]` tables |
//! | `taxonomy.csv` | the 3-level category taxonomy (一级分类,二级分类,三级分类), optionally the row's English names (`english`: levels joined by `/`) |
//! | `duties.toml` | duty rules, `[[duty]]` tables |
//! | `synonyms.csv` | optional: other ways people write the urgency words (`word,synonyms`, synonyms separated by `\|`) |
//! | `categories.toml` | optional: how a demand's category is read below the first level: the confidence each level needs (`[confidence]`) and keyword rules (`[[rule]]`) |
//! | `open311.toml` | optional: the Open311 services, `[[service]]` tables ([`load_services`]) |
//! | `province.toml` | instead of the above: a province ([`load_province`]): its id, name, cities (each a directory `cities/<id>/` of the files above), its own units and desk; beside it `calendar.toml` and any file the cities share (a file a city's directory lacks is read from the province's) |
//! | `channels.toml` | optional: the channel adapters a city connects (WeChat ...), their settings that are not secret ([`channels::load_channels`]) |
//!
//! Every mistake is reported with the file, the line and the problem, so that the
//! person who edited the file can fix it without reading Rust.

use minhu_core::City;
use minhu_core::calendar::{BusinessCalendar, DayKind, DayRange};
use minhu_core::city::{AnalyticsRules, MapSettings, PrivacySettings, ScoreWeights, WorkflowRules};
use minhu_core::deadline::{Allowance, Tier, TierClock, TierCode, TierStart, parse_duration};
use minhu_core::duty::{DutyList, DutyRule};
use minhu_core::geo::{Boundaries, Boundary, Polygon, Ring};
use minhu_core::ids::RegionId;
use minhu_core::place::Gazetteer;
use minhu_core::reading::{CategoryReader, Confidence, WordRule};
use minhu_core::region::{ConfigProblem, Region, RegionTree};
use minhu_core::services::{Discovery, EndpointType, Service, ServiceCatalog};
use minhu_core::taxonomy::{CategoryPath, Taxonomy};
use minhu_core::timer::{EscalationStep, EscalationTarget, TimerPolicy};
use minhu_core::unit::{Unit, Units};
use minhu_core::urgency::{CategoryUrgency, UrgencyRule, UrgencyRules};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use toml::Spanned;

mod boundaries;
pub mod channels;
mod city_toml;
mod places;
mod province;
mod synonyms;

use boundaries::load_boundaries;
use city_toml::read_city;
use places::load_places;
pub use province::{PROVINCE_FILE, city_dir, load_province, province_of, sibling_dir};
use synonyms::add_synonyms;

/// A mistake in a configuration file, pointing at where it is.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file.display(), self.problem),
            None => write!(f, "{}: {}", self.file.display(), self.problem),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarFile {
    #[serde(default)]
    year: Vec<Spanned<YearEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YearEntry {
    year: i16,
    #[serde(default)]
    holidays: Vec<Spanned<String>>,
    #[serde(default)]
    workdays: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionsFile {
    region: Vec<Spanned<Region>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnitsFile {
    unit: Vec<Spanned<Unit>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoriesFile {
    #[serde(default)]
    confidence: Option<Spanned<Confidence>>,
    #[serde(default)]
    rule: Vec<Spanned<WordRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DutiesFile {
    #[serde(default)]
    duty: Vec<Spanned<DutyRule>>,
}

/// Where a configuration's files come from: a directory, with perhaps one file's text
/// replaced by an administrator's edit that is not saved yet, so an edit is checked with
/// the very code that will load it; and for a city of a province, the province's
/// directory, whose files stand in for those the city does not have (its calendar, a
/// taxonomy the cities share).
#[derive(Clone, Copy)]
struct Files<'a> {
    dir: &'a Path,
    draft: Option<(&'a str, &'a str)>,
    shared: Option<&'a Path>,
}

impl<'a> Files<'a> {
    fn of(dir: &'a Path) -> Self {
        Self {
            dir,
            draft: None,
            shared: None,
        }
    }

    /// The file's path: the city's own, else the province's when only it has one.
    fn path(&self, name: &str) -> PathBuf {
        let own = self.dir.join(name);
        match self.shared {
            Some(shared) if !own.exists() && shared.join(name).exists() => shared.join(name),
            _ => own,
        }
    }

    fn exists(&self, name: &str) -> bool {
        self.draft.is_some_and(|(n, _)| n == name) || self.path(name).exists()
    }

    fn read(&self, name: &str) -> Result<Source, ConfigError> {
        let path = self.path(name);
        let text = match self.draft {
            Some((n, text)) if n == name => text.to_owned(),
            _ => std::fs::read_to_string(&path).map_err(|e| ConfigError {
                file: path.clone(),
                line: None,
                problem: format!("cannot read the file: {e}"),
            })?,
        };
        Ok(Source { path, text })
    }
}

/// A CSV file's header and its records, each with its line.
type CsvRows = (Vec<String>, Vec<(Option<usize>, csv::StringRecord)>);

impl ConfigError {
    fn at_line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }
}

/// One file's text, kept to turn byte offsets into line numbers.
struct Source {
    path: PathBuf,
    text: String,
}

impl Source {
    fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    fn error(&self, offset: Option<usize>, problem: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.path.clone(),
            line: offset.map(|o| self.line_of(o)),
            problem: problem.into(),
        }
    }

    fn parse<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        toml::from_str(&self.text)
            .map_err(|e| self.error(e.span().map(|s| s.start), e.message().to_owned()))
    }

    /// The file read as CSV: its header (trimmed, without a byte-order mark) and each
    /// record with its line, or the error at the line where the CSV breaks.
    fn csv(&self) -> Result<CsvRows, ConfigError> {
        let mut reader = csv::ReaderBuilder::new().from_reader(self.text.as_bytes());
        let header = reader
            .headers()
            .map_err(|e| self.error(None, e.to_string()).at_line(1))?
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').trim().to_owned())
            .collect();
        let records = reader
            .records()
            .map(|record| {
                let record = record.map_err(|e| {
                    let line = e.position().map(|p| p.line() as usize);
                    ConfigError {
                        file: self.path.clone(),
                        line,
                        problem: e.to_string(),
                    }
                })?;
                Ok((record.position().map(|p| p.line() as usize), record))
            })
            .collect::<Result<_, ConfigError>>()?;
        Ok((header, records))
    }

    /// Reports a problem with one item of a list, at that item's line.
    fn item_error<T>(&self, items: &[Spanned<T>], problem: ConfigProblem) -> ConfigError {
        let offset = items.get(problem.item).map(|item| item.span().start);
        self.error(offset, problem.to_string())
    }
}

fn unspan<T>(items: Vec<Spanned<T>>) -> Vec<T> {
    items.into_iter().map(Spanned::into_inner).collect()
}

/// Loads and validates the configuration in `dir`.
pub fn load_city(dir: &Path) -> Result<City, ConfigError> {
    read_city(Files::of(dir))
}

/// The files of a city's configuration an administrator may edit in the browser
/// (`boundaries.geojson` is drawn in GIS tools, `notify.toml` holds secrets).
pub const EDITABLE_FILES: &[&str] = &[
    "city.toml",
    "regions.toml",
    "places.csv",
    "units.toml",
    "taxonomy.csv",
    "duties.toml",
    "categories.toml",
    "calendar.toml",
    "synonyms.csv",
];

/// Checks the configuration in `dir` as it would load with `name` holding `text`
/// instead of what is on disk; nothing is written.
pub fn check_edit(dir: &Path, name: &str, text: &str) -> Result<City, ConfigError> {
    if !EDITABLE_FILES.contains(&name) {
        return Err(ConfigError {
            file: dir.join(name),
            line: None,
            problem: format!(
                "not an editable file; use one of {}",
                EDITABLE_FILES.join(", ")
            ),
        });
    }
    let shared = province_of(dir);
    read_city(Files {
        draft: Some((name, text)),
        shared: shared.as_deref(),
        ..Files::of(dir)
    })
}

/// The text of the editable file `name` as the city in `dir` reads it: its own, else
/// (a city of a province) the province's; empty when neither has one.
pub fn editable_text(dir: &Path, name: &str) -> std::io::Result<String> {
    let shared = province_of(dir);
    let files = Files {
        shared: shared.as_deref(),
        ..Files::of(dir)
    };
    match std::fs::read_to_string(files.path(name)) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        read => read,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServicesFile {
    #[serde(default)]
    discovery: Option<Spanned<DiscoveryFile>>,
    #[serde(default)]
    service: Vec<Spanned<Service>>,
}

/// `[discovery]` as written; what it leaves out is the city's default.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct DiscoveryFile {
    contact: Option<String>,
    /// An ISO 8601 moment with its offset.
    changeset: Option<jiff::Timestamp>,
    key_service: Option<String>,
    url: Option<String>,
    #[serde(rename = "type")]
    endpoint_type: Option<EndpointType>,
}

/// Loads the city's Open311 services and discovery document from `open311.toml` in
/// `dir`, the services checked against its taxonomy. A city without the file offers no
/// services (an empty catalog). What `[discovery]` leaves out: the contact is the city's
/// 12345 hotline, the changeset the file's last modification, the key service a request
/// to the city, the URL the one each request came to.
pub fn load_services(dir: &Path, city: &City) -> Result<ServiceCatalog, ConfigError> {
    services_from(&Files::of(dir), city)
}

/// The Open311 services of `city`, one of the cities of the configuration in `dir`
/// (a province, or a single city): [`load_services`] on the city's directory, where a
/// city without an `open311.toml` of its own offers the province's services (checked
/// against the city's own taxonomy).
pub fn load_city_services(
    dir: &Path,
    province: &minhu_core::Province,
    city: &minhu_core::ids::CityId,
) -> Result<ServiceCatalog, ConfigError> {
    let entry = province.city(city).ok_or_else(|| ConfigError {
        file: dir.join(PROVINCE_FILE),
        line: None,
        problem: format!("{city} is not a city of the province"),
    })?;
    let city_dir = city_dir(dir, province, city);
    let shared = dir.join(PROVINCE_FILE).exists().then_some(dir);
    let files = Files {
        shared,
        ..Files::of(&city_dir)
    };
    services_from(&files, &entry.city)
}

fn services_from(files: &Files<'_>, city: &City) -> Result<ServiceCatalog, ConfigError> {
    let contact = format!(
        "{} 12345 政务服务便民热线 ({} 12345 hotline)",
        city.name, city.name_en
    );
    let key_service = format!(
        "向{} 12345 热线申请 api_key (ask the {} 12345 hotline for an api_key)",
        city.name, city.name_en
    );
    let path = files.path("open311.toml");
    if !path.exists() {
        return Ok(ServiceCatalog::default().with_discovery(Discovery {
            contact,
            key_service,
            ..Discovery::default()
        }));
    }
    let source = files.read("open311.toml")?;
    let file: ServicesFile = source.parse()?;
    let spans = spans_of(&file.service);
    let catalog = ServiceCatalog::new(unspan(file.service), &city.taxonomy)
        .map_err(|p| source.item_error(&spans, p))?;
    let at = file.discovery.as_ref().map(|d| d.span().start);
    let written = file.discovery.map(Spanned::into_inner).unwrap_or_default();
    let url = written
        .url
        .map(|url| {
            let url = url.trim().trim_end_matches('/').to_owned();
            if url.starts_with("https://") || url.starts_with("http://") {
                Ok(url)
            } else {
                Err(source.error(at, format!("discovery.url: {url:?} is not an http(s) URL")))
            }
        })
        .transpose()?;
    let changeset = match written.changeset {
        Some(at) => at,
        None => std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| jiff::Timestamp::try_from(t).ok())
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH),
    };
    let blank = |text: Option<String>| text.filter(|t| !t.trim().is_empty());
    Ok(catalog.with_discovery(Discovery {
        contact: blank(written.contact).unwrap_or(contact),
        changeset,
        key_service: blank(written.key_service).unwrap_or(key_service),
        url,
        endpoint_type: written.endpoint_type.unwrap_or_default(),
    }))
}

fn spans_of<T>(items: &[Spanned<T>]) -> Vec<Spanned<()>> {
    items
        .iter()
        .map(|item| Spanned::new(item.span(), ()))
        .collect()
}

#[derive(Deserialize)]
#[serde(tag = "type", content = "coordinates")]
enum GeoGeometry {
    Polygon(Vec<Ring>),
    MultiPolygon(Vec<Vec<Ring>>),
}

/// Reads `calendar.toml`: per `[[year]]`, its holidays and make-up working days, each a
/// date or an inclusive range; a mistake is reported at the line of the entry.
fn load_calendar(source: &Source) -> Result<BusinessCalendar, ConfigError> {
    let file: CalendarFile = source.parse()?;
    let mut calendar = BusinessCalendar::new();
    for entry in &file.year {
        let year = entry.get_ref();
        calendar
            .add_year(year.year)
            .map_err(|e| source.error(Some(entry.span().start), format!("year: {e}")))?;
        for (field, kind, days) in [
            ("holidays", DayKind::Holiday, &year.holidays),
            ("workdays", DayKind::Workday, &year.workdays),
        ] {
            for text in days {
                let at = Some(text.span().start);
                let range = DayRange::parse(text.get_ref())
                    .map_err(|e| source.error(at, format!("{field}: {e}")))?;
                for day in range.days() {
                    calendar
                        .mark(year.year, day, kind)
                        .map_err(|e| source.error(at, format!("{field}: {e}")))?;
                }
            }
        }
    }
    Ok(calendar)
}

/// Reads the optional `categories.toml`: the confidence each level of a category needs
/// and the keyword rules that point to second and third levels, checked against the
/// taxonomy and the regions (a rule's word may not hold a place name). Without the file
/// the taxonomy's own words are read at the default confidences.
fn load_categories(
    files: Files,
    taxonomy: &Taxonomy,
    places: &Gazetteer,
    regions: &RegionTree,
) -> Result<CategoryReader, ConfigError> {
    const NAME: &str = "categories.toml";
    if !files.exists(NAME) {
        return Ok(CategoryReader::new(
            Vec::new(),
            Confidence::default(),
            taxonomy,
            places,
            regions,
        )
        .expect("the default confidences are valid and there are no rules"));
    }
    let source = files.read(NAME)?;
    let file: CategoriesFile = source.parse()?;
    let spans = spans_of(&file.rule);
    let confidence_at = file.confidence.as_ref().map(|c| c.span().start);
    let confidence = file.confidence.map(Spanned::into_inner).unwrap_or_default();
    CategoryReader::new(unspan(file.rule), confidence, taxonomy, places, regions).map_err(|p| {
        if p.field == "confidence" {
            source.error(confidence_at, p.to_string())
        } else {
            source.item_error(&spans, p)
        }
    })
}

fn load_taxonomy(source: &Source) -> Result<Taxonomy, ConfigError> {
    let error = |line: Option<usize>, problem: String| ConfigError {
        file: source.path.clone(),
        line,
        problem,
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(source.text.as_bytes());
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    for record in reader.records() {
        let record =
            record.map_err(|e| error(e.position().map(|p| p.line() as usize), e.to_string()))?;
        let line = record.position().map(|p| p.line() as usize);
        if record.len() > 4 {
            return Err(error(
                line,
                format!(
                    "has {} columns; the taxonomy has 3 levels and an optional English column",
                    record.len()
                ),
            ));
        }
        rows.push(
            record
                .iter()
                .map(|s| s.trim_start_matches('\u{feff}').to_owned())
                .collect(),
        );
        lines.push(line);
    }
    Taxonomy::from_rows(&rows)
        .map_err(|p| error(lines.get(p.item).copied().flatten(), p.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CITY: &str = r#"
[city]
name = "A市"
region = "A"
timezone = "Asia/Shanghai"
default_tier = "15d"

[[tier]]
code = "2h"
label = "紧急"
respond_within = "30m"
resolve_within = "2h"

[[tier]]
code = "15d"
label = "普通"
respond_within = "24h"
resolve_within = "15d"
"#;

    const REGIONS: &str = r#"
[[region]]
id = "A"
name = "A市"
level = "city"

[[region]]
id = "A3"
name = "A3区"
level = "district"
parent = "A"
population = 900000

[[region]]
id = "A3-01"
name = "洋湖街道"
level = "street"
parent = "A3"
population = 60000
"#;

    const UNITS: &str = r#"
[[unit]]
id = "S-yanghu"
name = "洋湖街道办事处"
level = "street"
region = "A3-01"

[[unit]]
id = "A-hrss"
name = "A市人力资源和社会保障局"
level = "city_department"
region = "A"
role = "hrss"
"#;

    const CALENDAR: &str = r#"
[[year]]
year = 2025
holidays = ["2025-01-01", "2025-10-01..2025-10-08"]
workdays = ["2025-09-28", "2025-10-11"]
"#;

    const TAXONOMY: &str =
        "一级分类,二级分类,三级分类\n城乡建设,物业管理,物业服务\n劳动和社会保障,劳动关系,\n";

    const DUTIES: &str = r#"
[[duty]]
category = "城乡建设"
level = "street"

[[duty]]
category = "劳动和社会保障"
level = "city_department"
role = "hrss"
"#;

    fn write_city(replace: Option<(&str, &str)>) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in [
            ("city.toml", CITY),
            ("regions.toml", REGIONS),
            ("units.toml", UNITS),
            ("taxonomy.csv", TAXONOMY),
            ("duties.toml", DUTIES),
            ("calendar.toml", CALENDAR),
        ] {
            let text = match replace {
                Some((file, replacement)) if file == name => replacement,
                _ => text,
            };
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    /// The test city with `section` added to its `city.toml`.
    fn city_with(section: &str) -> Result<City, ConfigError> {
        let text = format!("{CITY}\n{section}");
        load_city(write_city(Some(("city.toml", &text))).path())
    }

    #[test]
    fn categories_toml_is_read_and_its_mistakes_named() {
        let load = |text: &str| {
            let dir = write_city(None);
            std::fs::write(dir.path().join("categories.toml"), text).unwrap();
            load_city(dir.path())
        };
        let city = load(
            "[confidence]\nsecond = 0.6\n\n[[rule]]\ncategory = \"城乡建设/物业管理/物业服务\"\nwords = [\"电梯\", \"物业费\"]\n",
        )
        .unwrap();
        assert_eq!(city.categories.confidence().second, 0.6);
        assert_eq!(city.categories.confidence().first, 0.8, "the default");
        let read =
            city.categories
                .deepen("电梯坏了物业费照收", &[], &CategoryPath::new("城乡建设"));
        assert_eq!(
            read.last().map(|r| r.category.as_str()),
            Some("城乡建设/物业管理/物业服务")
        );
        let err = load(
            "[[rule]]\ncategory = \"城乡建设/物业管理\"\nwords = [\"物业\"]\n\n[[rule]]\ncategory = \"城乡建设/没有这类\"\nwords = [\"物业\"]\n",
        )
        .unwrap_err();
        assert!(err.file.ends_with("categories.toml"), "{err}");
        assert_eq!(err.line, Some(5), "{err}");
        assert!(err.problem.starts_with("category:"), "{err}");
        let err = load("[[rule]]\ncategory = \"城乡建设/物业管理\"\nwords = [\"洋湖街道维修\"]\n")
            .unwrap_err();
        assert!(err.problem.contains("place"), "{err}");
        let err = load("[confidence]\nunit = 2\n").unwrap_err();
        assert_eq!(err.line, Some(1), "{err}");
        assert!(err.problem.contains("unit = 2"), "{err}");
        let err =
            load("[[rule]]\ncategory = \"城乡建设/物业管理\"\nword = [\"物业\"]\n").unwrap_err();
        assert!(err.problem.contains("word"), "{err}");
    }

    #[test]
    fn loads_a_valid_city() {
        let dir = write_city(None);
        let city = load_city(dir.path()).unwrap();
        assert_eq!(city.name, "A市");
        assert_eq!(city.tiers.len(), 2);
        assert_eq!(city.units.all().len(), 2);
        assert_eq!(city.taxonomy.len(), 5);
        assert_eq!(city.duties.rules().len(), 2);
    }

    #[test]
    fn timers_are_read_and_checked() {
        let city = load_city(write_city(None).path()).unwrap();
        assert_eq!(city.timers, TimerPolicy::default());
        let with = city_with;
        let city = with(
            "[timers]\nwarn_share = 0.75\ncallback_after = \"2d\"\n\
             [[timers.escalation]]\nto = \"unit_leader\"\nafter = \"4h\"\n\
             [[timers.escalation]]\nto = \"supervisor\"\nafter = \"1d\"\n",
        )
        .unwrap();
        assert_eq!(city.timers.warn_share, Some(0.75));
        assert_eq!(
            city.timers.callback_after,
            Some(jiff::SignedDuration::from_hours(48))
        );
        assert_eq!(city.timers.escalation.len(), 2);
        for (section, problem) in [
            (
                "[timers]\nwarn_share = 1.5\n",
                "warn_share: 1.5 must be between 0 and 1",
            ),
            (
                "[timers]\ncallback_after = \"soon\"\n",
                "callback_after: \"soon\" is not a duration",
            ),
            (
                "[timers]\n[[timers.escalation]]\nto = \"mayor\"\nafter = \"1h\"\n",
                "unknown variant",
            ),
            (
                "[timers]\n[[timers.escalation]]\nto = \"supervisor\"\nafter = \"1d\"\n\
                 [[timers.escalation]]\nto = \"unit_leader\"\nafter = \"1h\"\n",
                "steps go in order",
            ),
        ] {
            let err = with(section).unwrap_err().to_string();
            assert!(err.contains("city.toml:") && err.contains(problem), "{err}");
        }
    }

    #[test]
    fn a_bad_reference_names_file_and_line() {
        let broken = UNITS.replace("region = \"A3-01\"", "region = \"A3-99\"");
        let dir = write_city(Some(("units.toml", &broken)));
        let err = load_city(dir.path()).unwrap_err();
        assert!(err.file.ends_with("units.toml"));
        assert_eq!(err.line, Some(2), "{err}");
        assert!(err.problem.contains("A3-99"), "{err}");
    }

    #[test]
    fn an_edit_is_checked_as_it_would_load_without_touching_the_disk() {
        let dir = write_city(None);
        let broken = UNITS.replace("region = \"A3-01\"", "region = \"A3-99\"");
        let err = check_edit(dir.path(), "units.toml", &broken).unwrap_err();
        assert!(err.file.ends_with("units.toml"), "{err}");
        assert_eq!(err.line, Some(2), "{err}");
        assert!(err.problem.contains("A3-99"), "{err}");
        let on_disk = std::fs::read_to_string(dir.path().join("units.toml")).unwrap();
        assert_eq!(on_disk, UNITS);

        let renamed = UNITS.replacen("name = \"", "name = \"新", 1);
        let city = check_edit(dir.path(), "units.toml", &renamed).unwrap();
        assert!(city.units.all().iter().any(|u| u.name.starts_with('新')));
        let taxonomy = format!("{TAXONOMY}新类,新子类\n");
        let city = check_edit(dir.path(), "taxonomy.csv", &taxonomy).unwrap();
        assert_eq!(city.taxonomy.len(), 7);

        let err = check_edit(dir.path(), "notify.toml", "").unwrap_err();
        assert!(err.problem.contains("not an editable file"), "{err}");
    }

    #[test]
    fn the_map_takes_a_tile_server_on_this_site_or_over_https() {
        let with = city_with;
        assert_eq!(
            load_city(write_city(None).path()).unwrap().map,
            MapSettings::default()
        );
        let city = with("[map]\ntiles = \"https://tiles.example.org/{z}/{x}/{y}.png\"\nattribution = \"© A市测绘院\"\n").unwrap();
        assert_eq!(city.map.tile_origin(), Some("https://tiles.example.org"));
        assert_eq!(city.map.attribution, "© A市测绘院");
        let city = with("[map]\ntiles = \"/tiles/{z}/{x}/{y}.png\"\n").unwrap();
        assert_eq!(
            city.map.tile_origin(),
            None,
            "this site's own tiles need no exception"
        );
        for (section, problem) in [
            (
                "[map]\ntiles = \"http://tiles.example.org/{z}/{x}/{y}.png\"\n",
                "https://",
            ),
            ("[map]\ntiles = \"/tiles/{z}/{x}.png\"\n", "lacks {y}"),
            (
                "[map]\ntile = \"/tiles/{z}/{x}/{y}.png\"\n",
                "unknown field",
            ),
        ] {
            let err = with(section).unwrap_err().to_string();
            assert!(err.contains("city.toml:") && err.contains(problem), "{err}");
        }
    }

    #[test]
    fn privacy_lists_public_numbers_and_plates() {
        let plain = load_city(write_city(None).path()).unwrap();
        assert_eq!(plain.privacy, PrivacySettings::default());
        let city = city_with(
            "[privacy]\npublic_numbers = [\"12345\", \"0731-88665110\", \"+86 731 8866 5120\", \"110\"]\nmask_plates = true\n",
        )
        .unwrap();
        assert_eq!(
            city.privacy.public_numbers,
            ["12345", "073188665110", "073188665120", "110"]
        );
        assert!(city.privacy.mask_plates);
        for (section, problem) in [
            (
                "[privacy]\npublic_numbers = [\"12345\", \"市政府\"]\n",
                "public_numbers: \"市政府\" is not a phone number",
            ),
            ("[privacy]\npublic_numbers = [\"12\"]\n", "3 to 20 digits"),
            ("[privacy]\nmask_plate = true\n", "unknown field"),
            ("[privacy]\nmask_plates = \"yes\"\n", "invalid type"),
        ] {
            let err = city_with(section).unwrap_err().to_string();
            assert!(err.contains("city.toml:") && err.contains(problem), "{err}");
        }
    }

    #[test]
    fn a_syntax_error_names_the_line() {
        let broken = REGIONS.replace("level = \"street\"", "level = street");
        let dir = write_city(Some(("regions.toml", &broken)));
        let err = load_city(dir.path()).unwrap_err();
        assert_eq!(err.line, Some(17), "{err}");
    }

    #[test]
    fn unknown_keys_and_values_are_refused() {
        let broken = DUTIES.replace("level = \"street\"", "levle = \"street\"");
        let dir = write_city(Some(("duties.toml", &broken)));
        let err = load_city(dir.path()).unwrap_err();
        assert!(err.problem.contains("levle"), "{err}");
        let broken = CITY.replace("resolve_within = \"2h\"", "resolve_within = \"2 hours\"");
        let dir = write_city(Some(("city.toml", &broken)));
        let err = load_city(dir.path()).unwrap_err();
        assert!(err.problem.contains("resolve_within"), "{err}");
        assert_eq!(err.line, Some(8), "{err}");
    }

    #[test]
    fn urgency_rules_are_read_and_checked() {
        let with = |section: &str| format!("{CITY}\n{section}");
        let good = with(
            r#"[urgency]
negations = ["没有"]
threshold = { "2h" = 3.0 }
[[urgency.rule]]
words = ["触电", "漏电"]
weight = 3
[[urgency.category]]
category = "城乡建设/物业管理"
weight = 0.5
"#,
        );
        let dir = write_city(Some(("city.toml", &good)));
        let city = load_city(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let standard = TierCode("15d".into());
        let urgent = city.urgency("楼下有人触电", &standard, None).unwrap();
        assert_eq!(urgent.tier.code.as_str(), "2h");
        assert!(city.urgency("没有触电", &standard, None).is_none());

        let unknown_tier = with("[urgency]\nthreshold = { \"1h\" = 3.0 }\n");
        let dir = write_city(Some(("city.toml", &unknown_tier)));
        let err = load_city(dir.path()).unwrap_err();
        assert!(err.problem.contains("\"1h\""), "{err}");
        assert_eq!(err.line, Some(20), "{err}");

        let inverted = with("[urgency]\nthreshold = { \"2h\" = 1.0, \"15d\" = 2.0 }\n");
        let dir = write_city(Some(("city.toml", &inverted)));
        let err = load_city(dir.path()).unwrap_err();
        assert!(err.problem.contains("urgency.threshold.15d"), "{err}");

        let blank = with("[urgency]\n[[urgency.rule]]\nwords = [\" \"]\nweight = 1\n");
        let dir = write_city(Some(("city.toml", &blank)));
        let err = load_city(dir.path()).unwrap_err();
        assert!(err.problem.contains("urgency.rule.words"), "{err}");
        assert_eq!(err.line, Some(21), "{err}");

        let not_a_category =
            with("[urgency]\n[[urgency.category]]\ncategory = \"天气\"\nweight = 1\n");
        let dir = write_city(Some(("city.toml", &not_a_category)));
        let err = load_city(dir.path()).unwrap_err();
        assert!(err.problem.contains("天气"), "{err}");
    }

    #[test]
    fn bad_boundaries_name_the_file_and_feature() {
        let dir = write_city(None);
        let feature = |region: &str| {
            format!(
                r#"{{"type":"Feature","properties":{{"region":"{region}"}},"geometry":{{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}}}"#
            )
        };
        let write =
            |text: &str| std::fs::write(dir.path().join("boundaries.geojson"), text).unwrap();
        write(&format!(
            r#"{{"type":"FeatureCollection","features":[{},{}]}}"#,
            feature("A3"),
            feature("Z9")
        ));
        let err = load_city(dir.path()).unwrap_err();
        assert!(err.file.ends_with("boundaries.geojson"), "{err}");
        assert!(
            err.problem.contains("features[1]") && err.problem.contains("Z9"),
            "{err}"
        );
        write("{\"type\":\"FeatureCollection\",\n\"features\": [}");
        let err = load_city(dir.path()).unwrap_err();
        assert_eq!(err.line, Some(2), "{err}");
        write(&format!(
            r#"{{"type":"FeatureCollection","features":[{}]}}"#,
            feature("A3")
        ));
        assert!(load_city(dir.path()).is_ok());
    }

    #[test]
    fn a_taxonomy_gap_names_the_line() {
        let dir = write_city(Some((
            "taxonomy.csv",
            "一级分类,二级分类,三级分类\n城乡建设,物业管理,\n城乡建设,,物业服务\n",
        )));
        let err = load_city(dir.path()).unwrap_err();
        assert_eq!(err.line, Some(3), "{err}");
    }

    #[test]
    fn workflow_rules_default_and_are_checked() {
        let city = load_city(write_city(None).path()).unwrap();
        assert_eq!(city.workflow, WorkflowRules::default());
        let tuned = format!(
            "{CITY}\n[workflow]\nreopen_limit = 1\nresolve_needs_parts = false\n\
             max_extension_days = 10\nmax_extensions = 1\n"
        );
        let city = load_city(write_city(Some(("city.toml", &tuned))).path()).unwrap();
        assert_eq!(
            city.workflow,
            WorkflowRules {
                reopen_limit: 1,
                resolve_needs_parts: false,
                max_extension_days: 10,
                max_extensions: 1,
            }
        );
        for (setting, value) in [
            ("max_extension_days", "0"),
            ("max_extension_days", "100000"),
            ("max_extensions", "-1"),
        ] {
            let bad = format!("{CITY}\n[workflow]\n{setting} = {value}\n");
            let err = load_city(write_city(Some(("city.toml", &bad))).path()).unwrap_err();
            assert_eq!(err.line, Some(CITY.lines().count() + 3), "{err}");
            assert!(
                err.problem.contains(&format!("{setting} = {value}")),
                "{err}"
            );
        }
        let negative = format!("{CITY}\n[workflow]\nreopen_limit = -1\n");
        let err = load_city(write_city(Some(("city.toml", &negative))).path()).unwrap_err();
        let line = CITY.lines().count() + 3;
        assert_eq!(err.line, Some(line), "{err}");
        assert!(err.problem.contains("reopen_limit = -1"), "{err}");
        let typo = format!("{CITY}\n[workflow]\nreopen_limt = 1\n");
        let err = load_city(write_city(Some(("city.toml", &typo))).path()).unwrap_err();
        assert!(err.problem.contains("reopen_limt"), "{err}");
    }

    #[test]
    fn analytics_rules_default_and_are_checked() {
        let city = load_city(write_city(None).path()).unwrap();
        assert_eq!(city.analytics, AnalyticsRules::default());
        let tuned = format!(
            "{CITY}\n[analytics]\nweights = {{ response = 0.2, resolution = 0.3, satisfaction = 0.5 }}\n\
             rank_min_assigned = 5\nname_bottom = 2\nbuck_passing_warn = 8.5\nsurge_weeks = 6\nsurge_min_count = 15\n"
        );
        let city = load_city(write_city(Some(("city.toml", &tuned))).path()).unwrap();
        assert_eq!(
            city.analytics,
            AnalyticsRules {
                weights: ScoreWeights {
                    response: 0.2,
                    resolution: 0.3,
                    satisfaction: 0.5,
                    on_time: 0.0
                },
                rank_min_assigned: 5,
                name_bottom: 2,
                buck_passing_warn: 8.5,
                surge: minhu_core::city::SurgeRules {
                    weeks: 6,
                    min_count: 15,
                    ..Default::default()
                },
            }
        );
        let never = format!("{CITY}\n[analytics]\nsurge_weeks = 0\n");
        let err = load_city(write_city(Some(("city.toml", &never))).path()).unwrap_err();
        assert!(err.problem.contains("surge_weeks = 0"), "{err}");
        let negative =
            format!("{CITY}\n[analytics]\nweights = {{ response = -0.1, resolution = 1 }}\n");
        let err = load_city(write_city(Some(("city.toml", &negative))).path()).unwrap_err();
        assert!(err.problem.contains("weights.response = -0.1"), "{err}");
        let zero = format!("{CITY}\n[analytics]\nweights = {{ response = 0 }}\n");
        let err = load_city(write_city(Some(("city.toml", &zero))).path()).unwrap_err();
        assert!(err.problem.contains("at least one"), "{err}");
        let typo = format!("{CITY}\n[analytics]\nname_botom = 1\n");
        let err = load_city(write_city(Some(("city.toml", &typo))).path()).unwrap_err();
        assert!(err.problem.contains("name_botom"), "{err}");
    }

    #[test]
    fn synonyms_are_read_and_checked() {
        let city = |synonyms: &str| {
            let dir = write_city(Some((
                "city.toml",
                &CITY.replace(
                    "resolve_within = \"2h\"\n",
                    "resolve_within = \"2h\"\nwords = [\"井盖丢失\", \"燃气泄漏\"]\n",
                ),
            )));
            std::fs::write(dir.path().join("synonyms.csv"), synonyms).unwrap();
            load_city(dir.path())
        };
        let loaded = city("word,synonyms\n井盖丢失,井盖缺失|没有井盖\n").unwrap();
        let standard = TierCode("15d".into());
        let tier_of = |text: &str| {
            loaded
                .urgency(text, &standard, None)
                .map(|u| (u.tier.code.as_str().to_owned(), u.reasons))
        };
        assert_eq!(
            tier_of("路口井盖缺失"),
            Some(("2h".into(), vec!["井盖缺失".into()]))
        );
        assert_eq!(tier_of("井盖丢失").unwrap().0, "2h");
        assert_eq!(tier_of("井盖松动"), None);
        let refused = |text: &str| {
            let err = city(text).unwrap_err();
            assert!(err.file.ends_with("synonyms.csv"), "{err}");
            (err.line, err.problem)
        };
        let (line, problem) = refused("word,synonyms\n井盖丢失,井盖缺失\n井盖,井盖坏了\n");
        assert_eq!(line, Some(3));
        assert!(
            problem.starts_with("word:") && problem.contains("井盖"),
            "{problem}"
        );
        let (line, problem) =
            refused("word,synonyms\n井盖丢失,井盖缺失\n燃气泄漏,燃气泄露|井盖缺失\n");
        assert_eq!(line, Some(3));
        assert!(
            problem.starts_with("synonyms:") && problem.contains("line 2"),
            "{problem}"
        );
        let (line, problem) = refused("word,synonyms\n井盖丢失,燃气泄漏\n");
        assert_eq!(line, Some(2));
        assert!(problem.contains("already a word"), "{problem}");
        let (line, problem) = refused("word,synonyms\n井盖丢失,井盖缺失||\n");
        assert_eq!(line, Some(2));
        assert!(problem.starts_with("synonyms:"), "{problem}");
        let (line, _) = refused("word,same\n井盖丢失,井盖缺失\n");
        assert_eq!(line, Some(1));
    }

    #[test]
    fn places_are_read_and_checked() {
        let dir = write_city(None);
        let write = |text: &str| std::fs::write(dir.path().join("places.csv"), text).unwrap();
        write(
            "name,kind,region,aliases,lat,lon\n\
             杜鹃文苑,estate,A3-01,杜鹃文苑小区|杜鹃苑,28.1,112.9\n\
             书院路,road,A3,,,\n\
             B市,city,,B1区|B9市,,\n",
        );
        let city = load_city(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let reading = city.read_place("杜鹃苑门口路灯不亮");
        assert_eq!(reading.region.unwrap().id.as_str(), "A3-01");
        assert_eq!(reading.location().unwrap().lon, 112.9);
        assert_eq!(city.read_place("B9市某村").elsewhere.unwrap().name, "B市");
        // Each mistake names the file, the line and the column.
        let refused = |text: &str| {
            write(text);
            let err = load_city(dir.path()).unwrap_err();
            assert!(err.file.ends_with("places.csv"), "{err}");
            (err.line, err.problem)
        };
        let (line, problem) = refused("name,kind,region\n书院路,road,A3\n某小区,estate,Z9\n");
        assert_eq!(line, Some(3));
        assert!(
            problem.starts_with("region:") && problem.contains("Z9"),
            "{problem}"
        );
        let (line, problem) = refused("name,kind,region\n书院路,street,A3\n");
        assert_eq!(line, Some(2));
        assert!(
            problem.starts_with("kind:") && problem.contains("estate"),
            "{problem}"
        );
        let (line, problem) = refused("name,kind,region,lat,lon\n书院路,road,A3,28.1,\n");
        assert_eq!(line, Some(2));
        assert!(problem.starts_with("lat:"), "{problem}");
        let (line, problem) = refused("name,kind,region,lat,lon\n书院路,road,A3,north,1\n");
        assert_eq!(line, Some(2));
        assert!(problem.starts_with("lat:"), "{problem}");
        let (line, problem) = refused("name,kind,district\n书院路,road,A3\n");
        assert_eq!(line, Some(1));
        assert!(problem.contains("district"), "{problem}");
        let (line, problem) = refused("name,kind,region\n某小区,estate,\n");
        assert_eq!(line, Some(2));
        assert!(problem.starts_with("region:"), "{problem}");
        // An empty file is no places at all.
        write("");
        assert!(load_city(dir.path()).is_ok());
        // The editor checks an edit of places.csv like any other file.
        let err = check_edit(dir.path(), "places.csv", "name,kind,region\nB市,city,A3\n");
        assert!(err.unwrap_err().problem.starts_with("region:"));
    }

    #[test]
    fn the_demo_city_is_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/city");
        let city = load_city(&dir).unwrap_or_else(|e| panic!("{e}"));
        assert!(city.regions.all().len() > 50);
        assert!(city.taxonomy.first_levels().count() >= 7);
        assert!(city.calendar.covers(2025) && city.calendar.covers(2026));
        let standard = TierCode("15d".into());
        let tier_of = |text: &str| {
            city.urgency(text, &standard, None)
                .map(|u| u.tier.code.as_str().to_owned())
        };
        assert_eq!(tier_of("楼道里燃气泄漏").as_deref(), Some("2h"));
        assert_eq!(tier_of("一进门就闻到煤气味").as_deref(), Some("2h"));
        assert_eq!(tier_of("小区停水一天了").as_deref(), Some("24h"));
        assert_eq!(tier_of("楼上漏水，家里有独居老人").as_deref(), Some("24h"));
        assert_eq!(tier_of("小区停车位不够"), None);
        assert_eq!(tier_of("没有闻到煤气味，是下水道的味道"), None);
        // synonyms.csv: other spellings count as their word, from real messages.
        assert_eq!(tier_of("路边井盖缺失，晚上很危险").as_deref(), Some("2h"));
        assert_eq!(
            tier_of("A市A3区梅溪湖街道旭辉御府电梯关人的事件不是一起两起了").as_deref(),
            Some("2h")
        );
        assert_eq!(
            tier_of("到晚上黑灯瞎火，且路边井盖有丢失情况").as_deref(),
            Some("2h")
        );
        let place = |lon: f64, lat: f64| {
            let point = minhu_core::ticket::GeoPoint { lat, lon };
            city.boundaries
                .locate(point, &city.regions)
                .map(|r| r.name.clone())
        };
        assert_eq!(place(112.91, 28.09).as_deref(), Some("白鹭社区"));
        assert_eq!(place(112.95, 28.12).as_deref(), Some("洋湖街道"));
        // Elsewhere in A3 one of its streets' schematic outlines.
        let elsewhere = city
            .boundaries
            .locate(
                minhu_core::ticket::GeoPoint {
                    lat: 28.20,
                    lon: 112.85,
                },
                &city.regions,
            )
            .unwrap();
        assert_eq!(
            (
                elsewhere.level,
                elsewhere.parent.as_ref().map(|p| p.as_str())
            ),
            (minhu_core::region::RegionLevel::Street, Some("A3"))
        );
        assert!(
            city.boundaries.is_schematic(),
            "A市's outlines are invented"
        );
        assert_eq!(place(110.0, 20.0), None);
        assert_eq!(city.workflow.reopen_limit, 2);
        let tier = |code: &str| city.tier(&TierCode(code.into())).unwrap().clone();
        let at = |text: &str| text.parse::<jiff::Timestamp>().unwrap();
        // The National Day week of 2025 on the 7d tier, in working days.
        let due = city.deadlines(&tier("7d"), at("2025-09-30T10:00+08:00"));
        assert_eq!(due.resolve_by, at("2025-10-16T10:00+08:00"));
        assert_eq!(due.respond_by, at("2025-09-30T14:00+08:00"));
        // 2026's Spring Festival: Feb 15-23 off, Saturday Feb 14 and 28 worked. From
        // Friday Feb 13: Sat 14 (1), Tue 24 .. Fri 27 (2-5), Sat 28 (6), Mar 2 .. 10 (7-13),
        // Mar 11 (14), Mar 12 (15).
        let due = city.deadlines(&tier("15d"), at("2026-02-13T09:00+08:00"));
        assert_eq!(due.resolve_by, at("2026-03-12T09:00+08:00"));
        // The 2h tier stays on the wall clock, holiday or not.
        let due = city.deadlines(&tier("2h"), at("2025-10-01T23:00+08:00"));
        assert_eq!(due.resolve_by, at("2025-10-02T01:00+08:00"));
    }

    #[test]
    fn open311_services_are_optional_and_checked() {
        let dir = write_city(None);
        let city = load_city(dir.path()).unwrap();
        assert!(load_services(dir.path(), &city).unwrap().all().is_empty());
        let services = "[[service]]\ncode = \"property\"\nname = \"物业\"\ncategory = \"城乡建设/物业管理/物业服务\"\n\n[[service]]\ncode = \"wages\"\nname = \"欠薪\"\ncategory = \"劳动和社会保障/欠薪\"\n";
        std::fs::write(dir.path().join("open311.toml"), services).unwrap();
        let err = load_services(dir.path(), &city).unwrap_err();
        assert!(err.file.ends_with("open311.toml"), "{err}");
        assert_eq!(err.line, Some(6), "{err}");
        assert!(err.problem.contains("劳动和社会保障/欠薪"), "{err}");
        let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/city");
        let demo_city = load_city(&demo).unwrap();
        let catalog = load_services(&demo, &demo_city).unwrap_or_else(|e| panic!("{e}"));
        assert!(catalog.all().len() >= 5);
        let discovery = catalog.discovery();
        assert!(discovery.contact.contains("12345"), "{discovery:?}");
        assert_eq!(
            discovery.changeset,
            "2026-12-07T00:00:00+08:00"
                .parse::<jiff::Timestamp>()
                .unwrap()
        );

        // [discovery]: a URL must be one; what the file leaves out is the city's default.
        let one_service = "[[service]]\ncode = \"property\"\nname = \"物业\"\ncategory = \"城乡建设/物业管理/物业服务\"\n";
        let with = |discovery: &str| {
            let text = format!("[discovery]\n{discovery}\n\n{one_service}");
            std::fs::write(dir.path().join("open311.toml"), text).unwrap();
            load_services(dir.path(), &city)
        };
        let err = with("url = \"12345.example.cn\"").unwrap_err();
        assert_eq!(err.line, Some(1), "{err}");
        assert!(err.problem.starts_with("discovery.url"), "{err}");
        let err = with("changeset = \"yesterday\"").unwrap_err();
        assert_eq!(err.line, Some(2), "{err}");
        let catalog =
            with("url = \"https://12345.example.cn/open311/v2/\"\ntype = \"test\"").unwrap();
        let discovery = catalog.discovery();
        assert_eq!(
            discovery.url.as_deref(),
            Some("https://12345.example.cn/open311/v2")
        );
        assert_eq!(discovery.endpoint_type, EndpointType::Test);
        assert!(discovery.contact.contains(&city.name), "{discovery:?}");
        assert!(discovery.changeset > jiff::Timestamp::UNIX_EPOCH);
    }

    #[test]
    fn tier_clocks_default_by_unit_and_can_be_set() {
        let dir = write_city(None);
        let city = load_city(dir.path()).unwrap();
        let tier = |code: &str| city.tier(&TierCode(code.into())).unwrap().clone();
        assert_eq!(tier("15d").resolve_within, Allowance::WorkingDays(15));
        assert!(matches!(tier("15d").respond_within, Allowance::Wall(_)));
        assert!(matches!(tier("2h").resolve_within, Allowance::Wall(_)));
        let wall = CITY.replace(
            "resolve_within = \"15d\"",
            "resolve_within = \"15d\"\nclock = \"wall\"",
        );
        let dir = write_city(Some(("city.toml", &wall)));
        let city = load_city(dir.path()).unwrap();
        assert_eq!(
            city.tier(&TierCode("15d".into())).unwrap().resolve_within,
            Allowance::Wall(jiff::SignedDuration::from_hours(360))
        );
    }

    #[test]
    fn a_working_day_tier_needs_days() {
        let broken = CITY.replace(
            "resolve_within = \"2h\"",
            "resolve_within = \"2h\"\nclock = \"working_days\"",
        );
        let dir = write_city(Some(("city.toml", &broken)));
        let err = load_city(dir.path()).unwrap_err();
        assert!(err.problem.contains("working_days"), "{err}");
        assert_eq!(err.line, Some(8), "{err}");
        let broken = CITY.replace("respond_within = \"24h\"", "respond_within = \"16d\"");
        let dir = write_city(Some(("city.toml", &broken)));
        let err = load_city(dir.path()).unwrap_err();
        assert!(err.problem.contains("longer"), "{err}");
    }

    #[test]
    fn calendar_mistakes_name_the_line() {
        let cases = [
            (
                "\"2025-10-01..2025-10-08\"",
                "\"2025-10-08..2025-10-01\"",
                "ends before",
                4,
            ),
            ("\"2025-01-01\"", "\"2025-13-01\"", "not a date", 4),
            ("\"2025-10-11\"", "\"2025-10-05\"", "both a holiday", 5),
            (
                "\"2025-10-11\"",
                "\"2025-10-09\"",
                "Saturdays or Sundays",
                5,
            ),
            (
                "\"2025-01-01\"",
                "\"2026-01-01\"",
                "not in the year 2025",
                4,
            ),
            (
                "year = 2025",
                "year = 2025\nyear = 2026",
                "duplicate key",
                4,
            ),
        ];
        for (from, to, problem, line) in cases {
            let broken = CALENDAR.replacen(from, to, 1);
            let dir = write_city(Some(("calendar.toml", &broken)));
            let err = load_city(dir.path()).unwrap_err();
            assert!(err.file.ends_with("calendar.toml"), "{err}");
            assert!(err.problem.contains(problem), "{to}: {err}");
            assert_eq!(err.line, Some(line), "{to}: {err}");
        }
        let twice = format!("{CALENDAR}\n[[year]]\nyear = 2025\n");
        let dir = write_city(Some(("calendar.toml", &twice)));
        let err = load_city(dir.path()).unwrap_err();
        assert!(err.problem.contains("given twice"), "{err}");
        assert_eq!(err.line, Some(7), "at the second [[year]]: {err}");
    }

    /// A province directory: city A as the tests' city, city B the same files with B's
    /// ids and names but for the taxonomy it shares, and `province.toml` from
    /// `province` (the calendar and the shared taxonomy beside it).
    fn write_province(province: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("province.toml"), province).unwrap();
        std::fs::write(dir.path().join("calendar.toml"), CALENDAR).unwrap();
        std::fs::write(dir.path().join("taxonomy.csv"), TAXONOMY).unwrap();
        for id in ["A", "B"] {
            let city = dir.path().join("cities").join(id);
            std::fs::create_dir_all(&city).unwrap();
            let as_b = |text: &str| {
                if id == "A" {
                    return text.to_owned();
                }
                text.replace("\"A", "\"B")
                    .replace("\"Bsia/", "\"Asia/")
                    .replace("S-yanghu", "S-B-yanghu")
            };
            for (name, text) in [
                ("city.toml", CITY),
                ("regions.toml", REGIONS),
                ("units.toml", UNITS),
                ("taxonomy.csv", TAXONOMY),
                ("duties.toml", DUTIES),
            ] {
                if id == "B" && name == "taxonomy.csv" {
                    continue;
                }
                std::fs::write(city.join(name), as_b(text)).unwrap();
            }
        }
        dir
    }

    const PROVINCE: &str = r#"
[province]
id = "P"
name = "P省"
name_en = "Province P"
cities = ["A", "B"]
desk = "P-12345"

[[unit]]
id = "P-12345"
name = "P省12345热线"
role = "hotline"
"#;

    #[test]
    fn a_province_directory_loads_its_cities_with_the_shared_calendar() {
        let dir = write_province(PROVINCE);
        let province = load_province(dir.path()).unwrap();
        assert_eq!(province.id, "P");
        assert_eq!(province.name_en, "Province P");
        let ids: Vec<_> = province.cities().iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["A", "B"]);
        assert_eq!(province.home().city.name, "A市");
        assert_eq!(province.city_named("B市").unwrap().id.as_str(), "B");
        assert_eq!(province.desk.as_ref().unwrap().as_str(), "P-12345");
        let b = &province.cities()[1].city;
        assert_eq!(b.calendar, province.calendar, "no calendar.toml of its own");
        assert_eq!(b.taxonomy.len(), 5, "the province's taxonomy.csv");
        assert_eq!(
            city_dir(dir.path(), &province, &province.cities()[1].id),
            dir.path().join("cities/B")
        );
    }

    #[test]
    fn a_city_directory_is_a_province_of_one() {
        let dir = write_city(None);
        let province = load_province(dir.path()).unwrap();
        assert_eq!(province.cities().len(), 1);
        assert!(!province.has_several_cities());
        assert_eq!(province.home().id.as_str(), "A");
        assert_eq!(province.name, "A市");
        assert_eq!(
            city_dir(dir.path(), &province, &province.home().id),
            dir.path()
        );
    }

    #[test]
    fn a_province_s_mistakes_name_file_line_and_field() {
        let err = |province: &str| {
            let dir = write_province(province);
            load_province(dir.path()).unwrap_err().to_string()
        };
        for (text, problem) in [
            (
                PROVINCE.replace("cities = [\"A\", \"B\"]", "cities = [\"A\", \"B\", \"K8\"]"),
                "province.toml:6: cities: K8 has no cities/K8/city.toml",
            ),
            (
                PROVINCE.replace("cities = [\"A\", \"B\"]", "cities = [\"A\"]"),
                "province.toml:6: cities: cities/B is a city directory this list leaves out",
            ),
            (
                PROVINCE.replace("cities = [\"A\", \"B\"]", "cities = []"),
                "province.toml:6: cities: a province needs at least one city",
            ),
            (
                PROVINCE.replace("desk = \"P-12345\"", "desk = \"P-99\""),
                "province.toml:7: desk: P-99 is not one of the province's [[unit]]s",
            ),
            (
                PROVINCE.replace("id = \"P\"", "id = \"P 省\""),
                "province.toml:3: id: \"P 省\" is not an id",
            ),
            (PROVINCE.replace("name = \"P省\"\n", ""), "province.toml"),
            (
                format!("{PROVINCE}\n[[unit]]\nid = \"P-12345\"\nname = \"again\"\n"),
                "province.toml:14: id: unit P-12345 is listed twice",
            ),
        ] {
            let got = err(&text);
            assert!(got.contains(problem), "{got}\nexpected: {problem}");
        }
        // A city's own mistakes keep their file, under its directory.
        let dir = write_province(PROVINCE);
        let units = dir.path().join("cities/B/units.toml");
        let broken = std::fs::read_to_string(&units)
            .unwrap()
            .replace("B3-01", "B3-99");
        std::fs::write(&units, broken).unwrap();
        let got = load_province(dir.path()).unwrap_err();
        assert!(got.file.ends_with("cities/B/units.toml"), "{got}");
        assert!(got.problem.contains("B3-99"), "{got}");
        // Two cities sharing a region id: a ticket's region would not name its city.
        let dir = write_province(PROVINCE);
        let regions = dir.path().join("cities/B/regions.toml");
        let clash = std::fs::read_to_string(&regions)
            .unwrap()
            .replace("B3-01", "A3-01");
        std::fs::write(&regions, clash).unwrap();
        let units = dir.path().join("cities/B/units.toml");
        let moved = std::fs::read_to_string(&units)
            .unwrap()
            .replace("B3-01", "A3-01");
        std::fs::write(&units, moved).unwrap();
        let got = load_province(dir.path()).unwrap_err().to_string();
        assert!(
            got.contains(
                "province.toml:6: cities: city B: region A3-01 is also a region of city A"
            ),
            "{got}"
        );
        // A city whose directory is not its root region's id.
        let dir = write_province(PROVINCE);
        std::fs::rename(dir.path().join("cities/B"), dir.path().join("cities/C")).unwrap();
        let text = PROVINCE.replace("cities = [\"A\", \"B\"]", "cities = [\"A\", \"C\"]");
        std::fs::write(dir.path().join("province.toml"), text).unwrap();
        let got = load_province(dir.path()).unwrap_err();
        assert!(got.file.ends_with("cities/C/city.toml"), "{got}");
        assert!(
            got.problem
                .starts_with("region: the city's root region is B"),
            "{got}"
        );
    }
}
