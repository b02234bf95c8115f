//! `city.toml` and the city it assembles: the file's sections (tiers, workflow rules,
//! privacy, the map, analytics, timers, urgency) read and checked one by one, then
//! every other file of the directory read and the whole checked together.

use super::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CityFile {
    city: CitySection,
    #[serde(default)]
    tier: Vec<Spanned<TierEntry>>,
    #[serde(default)]
    urgency: Option<Spanned<UrgencySection>>,
    #[serde(default)]
    workflow: Option<WorkflowSection>,
    timers: Option<Spanned<TimersSection>>,
    #[serde(default)]
    analytics: Option<Spanned<AnalyticsSection>>,
    #[serde(default)]
    map: Option<Spanned<MapSection>>,
    #[serde(default)]
    privacy: Option<PrivacySection>,
}

/// `[privacy]`: what the personal-data detector leaves readable, or also masks.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PrivacySection {
    #[serde(default)]
    public_numbers: Vec<Spanned<String>>,
    #[serde(default)]
    mask_plates: bool,
}

/// `[map]`: the city's tile server for the citizens' map.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MapSection {
    tiles: String,
    #[serde(default)]
    attribution: String,
}

/// `[analytics]`: scoring weights, ranking and warning thresholds; each left out keeps
/// its default (`AnalyticsRules::default`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnalyticsSection {
    #[serde(default)]
    weights: Option<WeightsEntry>,
    #[serde(default)]
    rank_min_assigned: Option<u64>,
    #[serde(default)]
    name_bottom: Option<usize>,
    #[serde(default)]
    buck_passing_warn: Option<f64>,
    #[serde(default)]
    surge_weeks: Option<u32>,
    #[serde(default)]
    surge_z: Option<f64>,
    #[serde(default)]
    surge_ratio: Option<f64>,
    #[serde(default)]
    surge_min_count: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WeightsEntry {
    #[serde(default)]
    response: f64,
    #[serde(default)]
    resolution: f64,
    #[serde(default)]
    satisfaction: f64,
    #[serde(default)]
    on_time: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UrgencySection {
    #[serde(default)]
    negations: Vec<String>,
    #[serde(default = "default_negation_window")]
    negation_window: usize,
    #[serde(default)]
    threshold: std::collections::BTreeMap<String, f32>,
    #[serde(default)]
    rule: Vec<Spanned<UrgencyRuleEntry>>,
    #[serde(default)]
    category: Vec<Spanned<CategoryUrgencyEntry>>,
}

fn default_negation_window() -> usize {
    4
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TimersSection {
    #[serde(default)]
    warn_share: Option<f64>,
    #[serde(default)]
    callback_after: Option<String>,
    #[serde(default)]
    escalation: Vec<Spanned<EscalationEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UrgencyRuleEntry {
    words: Vec<String>,
    weight: f32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoryUrgencyEntry {
    category: String,
    weight: f32,
}

/// `[workflow]`: handling rules; each one left out keeps its default.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkflowSection {
    #[serde(default)]
    reopen_limit: Option<Spanned<i64>>,
    #[serde(default)]
    resolve_needs_parts: Option<bool>,
    #[serde(default)]
    max_extension_days: Option<Spanned<i64>>,
    #[serde(default)]
    max_extensions: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EscalationEntry {
    to: EscalationTarget,
    after: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CitySection {
    name: String,
    #[serde(default)]
    name_en: Option<String>,
    region: String,
    timezone: Spanned<String>,
    default_tier: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TierEntry {
    code: String,
    label: String,
    /// The tier's name in English; without it English pages show `label`.
    #[serde(default)]
    label_en: Option<String>,
    respond_within: String,
    resolve_within: String,
    #[serde(default)]
    clock: Option<TierClock>,
    #[serde(default)]
    words: Vec<String>,
    /// When the tier's clock starts: "dispatch" (the default) or "intake".
    #[serde(default)]
    starts: TierStart,
}

pub(super) fn read_city(files: Files) -> Result<City, ConfigError> {
    let city_source = files.read("city.toml")?;
    let city_file: CityFile = city_source.parse()?;

    let regions_source = files.read("regions.toml")?;
    let regions_file: RegionsFile = regions_source.parse()?;
    let region_spans: Vec<Spanned<()>> = spans_of(&regions_file.region);
    let regions = RegionTree::new(unspan(regions_file.region))
        .map_err(|p| regions_source.item_error(&region_spans, p))?;
    if regions.root().id.as_str() != city_file.city.region {
        return Err(city_source.error(
            None,
            format!(
                "[city] region = {:?} but the root of regions.toml is {}",
                city_file.city.region,
                regions.root().id
            ),
        ));
    }

    let places = load_places(files, &regions)?;

    let units_source = files.read("units.toml")?;
    let units_file: UnitsFile = units_source.parse()?;
    let unit_spans = spans_of(&units_file.unit);
    let units = Units::new(unspan(units_file.unit), &regions)
        .map_err(|p| units_source.item_error(&unit_spans, p))?;

    let taxonomy = load_taxonomy(&files.read("taxonomy.csv")?)?;

    let duties_source = files.read("duties.toml")?;
    let duties_file: DutiesFile = duties_source.parse()?;
    let duty_spans = spans_of(&duties_file.duty);
    let duties = DutyList::new(unspan(duties_file.duty), &taxonomy, &regions, &units)
        .map_err(|p| duties_source.item_error(&duty_spans, p))?;

    let categories = load_categories(files, &taxonomy, &places, &regions)?;

    let mut tiers = load_tiers(&city_source, &city_file.tier)?;
    let default_tier = TierCode(city_file.city.default_tier.get_ref().clone());
    if !tiers.iter().any(|t| t.code == default_tier) {
        return Err(city_source.error(
            Some(city_file.city.default_tier.span().start),
            format!(
                "default_tier {:?} is not one of the [[tier]] codes",
                default_tier.0
            ),
        ));
    }
    let boundaries = load_boundaries(files, &regions)?;
    let mut urgency_rules = match &city_file.urgency {
        Some(section) => load_urgency(&city_source, section, &tiers, &taxonomy)?,
        None => UrgencyRules::default(),
    };
    add_synonyms(files, &mut tiers, &mut urgency_rules)?;
    let workflow = load_workflow(&city_source, city_file.workflow.as_ref())?;
    let timers = match &city_file.timers {
        Some(section) => load_timers(&city_source, section)?,
        None => TimerPolicy::default(),
    };
    let analytics = match &city_file.analytics {
        Some(section) => load_analytics(&city_source, section)?,
        None => AnalyticsRules::default(),
    };
    let map = match &city_file.map {
        Some(section) => load_map(&city_source, section)?,
        None => MapSettings::default(),
    };
    let privacy = match &city_file.privacy {
        Some(section) => load_privacy(&city_source, section)?,
        None => PrivacySettings::default(),
    };
    let calendar = load_calendar(&files.read("calendar.toml")?)?;
    let zone_name = city_file.city.timezone.get_ref();
    let timezone = jiff::tz::TimeZone::get(zone_name).map_err(|e| {
        city_source.error(
            Some(city_file.city.timezone.span().start),
            format!("timezone {zone_name:?} is not a known IANA time zone ({e})"),
        )
    })?;

    Ok(City {
        name_en: city_file
            .city
            .name_en
            .unwrap_or_else(|| city_file.city.name.clone()),
        name: city_file.city.name,
        timezone,
        calendar,
        tiers,
        default_tier,
        urgency_rules,
        boundaries,
        places,
        regions,
        units,
        taxonomy,
        duties,
        categories,
        workflow,
        timers,
        analytics,
        map,
        privacy,
    })
}

/// Reads `[privacy]`: each public number written as a phone number is (digits, with
/// spaces, hyphens, brackets or a leading +), kept as the digits the detector compares.
fn load_privacy(source: &Source, section: &PrivacySection) -> Result<PrivacySettings, ConfigError> {
    let mut public_numbers = Vec::new();
    for entry in &section.public_numbers {
        let text = entry.get_ref().trim();
        let at = Some(entry.span().start);
        let written = text
            .chars()
            .all(|c| c.is_ascii_digit() || " -()（）+".contains(c));
        let digits = text.chars().filter(char::is_ascii_digit).count();
        if !written || !(3..=20).contains(&digits) {
            return Err(source.error(
                at,
                format!(
                    "[privacy] public_numbers: {text:?} is not a phone number \
                     (3 to 20 digits, with spaces, hyphens, brackets or a leading +)"
                ),
            ));
        }
        if let Some(digits) = minhu_core::pii::normalise_phone(text) {
            public_numbers.push(digits);
        } else {
            public_numbers.push(text.chars().filter(char::is_ascii_digit).collect());
        }
    }
    Ok(PrivacySettings {
        public_numbers,
        mask_plates: section.mask_plates,
    })
}

/// Reads `[map]`: a tile URL on this site or over https, with `{z}`, `{x}` and `{y}`.
fn load_map(source: &Source, section: &Spanned<MapSection>) -> Result<MapSettings, ConfigError> {
    let tiles = section.get_ref().tiles.trim();
    let at = Some(section.span().start);
    if !(tiles.starts_with('/') || tiles.starts_with("https://")) {
        return Err(source.error(
            at,
            format!(
                "[map] tiles = {tiles:?}: use a path on this site (/tiles/...) or an https:// URL"
            ),
        ));
    }
    if let Some(missing) = ["{z}", "{x}", "{y}"]
        .into_iter()
        .find(|p| !tiles.contains(p))
    {
        return Err(source.error(at, format!("[map] tiles = {tiles:?}: lacks {missing}")));
    }
    Ok(MapSettings {
        tiles: Some(tiles.to_owned()),
        attribution: section.get_ref().attribution.trim().to_owned(),
    })
}

/// Reads `[analytics]`: weights that are finite, not negative and not all zero (a score
/// needs something to weigh), and a non-negative, finite buck-passing threshold.
fn load_analytics(
    source: &Source,
    section: &Spanned<AnalyticsSection>,
) -> Result<AnalyticsRules, ConfigError> {
    let at = Some(section.span().start);
    let section = section.get_ref();
    let mut rules = AnalyticsRules::default();
    if let Some(w) = &section.weights {
        for (name, value) in [
            ("response", w.response),
            ("resolution", w.resolution),
            ("satisfaction", w.satisfaction),
            ("on_time", w.on_time),
        ] {
            if !value.is_finite() || value < 0.0 {
                return Err(source.error(
                    at,
                    format!("[analytics] weights.{name} = {value}: must be a number >= 0"),
                ));
            }
        }
        if w.response + w.resolution + w.satisfaction + w.on_time <= 0.0 {
            return Err(source.error(
                at,
                "[analytics] weights: at least one of response, resolution, satisfaction, \
                 on_time must be above 0",
            ));
        }
        rules.weights = ScoreWeights {
            response: w.response,
            resolution: w.resolution,
            satisfaction: w.satisfaction,
            on_time: w.on_time,
        };
    }
    if let Some(min) = section.rank_min_assigned {
        rules.rank_min_assigned = min;
    }
    if let Some(bottom) = section.name_bottom {
        rules.name_bottom = bottom;
    }
    if let Some(warn) = section.buck_passing_warn {
        if !warn.is_finite() || warn < 0.0 {
            return Err(source.error(
                at,
                format!("[analytics] buck_passing_warn = {warn}: must be a number >= 0"),
            ));
        }
        rules.buck_passing_warn = warn;
    }
    if let Some(weeks) = section.surge_weeks {
        if !(1..=52).contains(&weeks) {
            return Err(source.error(
                at,
                format!("[analytics] surge_weeks = {weeks}: must be from 1 to 52"),
            ));
        }
        rules.surge.weeks = weeks;
    }
    for (name, value, slot) in [
        ("surge_z", section.surge_z, &mut rules.surge.z),
        ("surge_ratio", section.surge_ratio, &mut rules.surge.ratio),
    ] {
        if let Some(value) = value {
            if !value.is_finite() || value < 0.0 {
                return Err(source.error(
                    at,
                    format!("[analytics] {name} = {value}: must be a number >= 0"),
                ));
            }
            *slot = value;
        }
    }
    if let Some(min) = section.surge_min_count {
        if min < 1 {
            return Err(source.error(
                at,
                format!("[analytics] surge_min_count = {min}: must be at least 1"),
            ));
        }
        rules.surge.min_count = min;
    }
    Ok(rules)
}

/// Reads `[timers]`: a warning share strictly between 0 and 1, a callback delay, and
/// escalation steps whose delays never go back and whose targets appear once each.
fn load_timers(
    source: &Source,
    section: &Spanned<TimersSection>,
) -> Result<TimerPolicy, ConfigError> {
    let at = Some(section.span().start);
    let raw = section.get_ref();
    let defaults = TimerPolicy::default();
    let warn_share = match raw.warn_share {
        Some(share) if !(share > 0.0 && share < 1.0) => {
            return Err(source.error(
                at,
                format!("[timers] warn_share: {share} must be between 0 and 1, e.g. 0.8"),
            ));
        }
        Some(share) => Some(share),
        None => defaults.warn_share,
    };
    let callback_after = match &raw.callback_after {
        Some(text) => Some(
            parse_duration(text)
                .map_err(|e| source.error(at, format!("[timers] callback_after: {e}")))?,
        ),
        None => defaults.callback_after,
    };
    let mut escalation: Vec<EscalationStep> = Vec::new();
    for entry in &raw.escalation {
        let at = Some(entry.span().start);
        let step = EscalationStep {
            to: entry.get_ref().to,
            after: parse_duration(&entry.get_ref().after)
                .map_err(|e| source.error(at, format!("[[timers.escalation]] after: {e}")))?,
        };
        if escalation.iter().any(|s| s.to == step.to) {
            return Err(source.error(
                at,
                format!(
                    "[[timers.escalation]] to: {} is named twice",
                    step.to.code()
                ),
            ));
        }
        if escalation.last().is_some_and(|s| s.after > step.after) {
            return Err(source.error(
                at,
                "[[timers.escalation]] after: steps go in order; this one comes before the previous",
            ));
        }
        escalation.push(step);
    }
    Ok(TimerPolicy {
        warn_share,
        escalation,
        callback_after,
    })
}

fn load_workflow(
    source: &Source,
    section: Option<&WorkflowSection>,
) -> Result<WorkflowRules, ConfigError> {
    let mut rules = WorkflowRules::default();
    let Some(section) = section else {
        return Ok(rules);
    };
    let bounded = |name: &str, value: &Spanned<i64>, least: i64, most: i64| {
        let n = *value.get_ref();
        if (least..=most).contains(&n) {
            Ok(n)
        } else {
            Err(source.error(
                Some(value.span().start),
                format!("{name} = {n}: must be a whole number from {least} to {most}"),
            ))
        }
    };
    if let Some(limit) = &section.reopen_limit {
        rules.reopen_limit = bounded("reopen_limit", limit, 0, 100)? as u32;
    }
    if let Some(wait) = section.resolve_needs_parts {
        rules.resolve_needs_parts = wait;
    }
    // Bounded so that no deadline can be pushed out of sight: at most a working year.
    if let Some(days) = &section.max_extension_days {
        rules.max_extension_days = bounded("max_extension_days", days, 1, 250)? as u16;
    }
    if let Some(count) = &section.max_extensions {
        rules.max_extensions = bounded("max_extensions", count, 0, 100)? as u32;
    }
    Ok(rules)
}

fn load_tiers(source: &Source, entries: &[Spanned<TierEntry>]) -> Result<Vec<Tier>, ConfigError> {
    if entries.is_empty() {
        return Err(source.error(None, "no [[tier]] is configured; at least one is needed"));
    }
    let mut tiers: Vec<Tier> = Vec::with_capacity(entries.len());
    for entry in entries {
        let at = Some(entry.span().start);
        let raw = entry.get_ref();
        let clock = raw
            .clock
            .unwrap_or_else(|| TierClock::default_for(&raw.resolve_within));
        let allowance = |field: &str, text: &str| {
            Allowance::parse(text, clock).map_err(|e| source.error(at, format!("{field}: {e}")))
        };
        let tier = Tier {
            code: TierCode(raw.code.clone()),
            label: raw.label.clone(),
            label_en: raw.label_en.clone(),
            respond_within: allowance("respond_within", &raw.respond_within)?,
            resolve_within: allowance("resolve_within", &raw.resolve_within)?,
            words: raw.words.iter().map(|w| w.trim().to_owned()).collect(),
            starts: raw.starts,
        };
        if let Some(english) = &tier.label_en
            && (english.trim().is_empty()
                || english
                    .chars()
                    .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)))
        {
            return Err(source.error(at, format!("label_en: {english:?} is not an English name")));
        }
        if tier.words.iter().any(String::is_empty) {
            return Err(source.error(at, "words: a word must not be blank"));
        }
        if clock == TierClock::WorkingDays
            && !matches!(tier.resolve_within, Allowance::WorkingDays(_))
        {
            return Err(source.error(
                at,
                "resolve_within: clock = \"working_days\" counts whole days; write it in d, e.g. \"7d\"",
            ));
        }
        if tiers.iter().any(|t| t.code == tier.code) {
            return Err(source.error(
                at,
                format!("code: {:?} is used by an earlier tier", raw.code),
            ));
        }
        if !tier.respond_within.never_longer_than(&tier.resolve_within) {
            return Err(source.error(at, "respond_within is longer than resolve_within"));
        }
        tiers.push(tier);
    }
    Ok(tiers)
}

/// Checks `[urgency]`: weights finite, words not blank, thresholds on configured tiers
/// and never lower for a more urgent tier (that tier would take every demand first),
/// categories in the taxonomy.
fn load_urgency(
    source: &Source,
    section: &Spanned<UrgencySection>,
    tiers: &[Tier],
    taxonomy: &Taxonomy,
) -> Result<UrgencyRules, ConfigError> {
    let at = Some(section.span().start);
    let raw = section.get_ref();
    if raw.negations.iter().any(|n| n.trim().is_empty()) {
        return Err(source.error(at, "urgency.negations: a negation must not be blank"));
    }
    let mut thresholds = Vec::new();
    for tier in tiers {
        if let Some(&value) = raw.threshold.get(tier.code.as_str()) {
            if !(value.is_finite() && value > 0.0) {
                return Err(source.error(
                    at,
                    format!(
                        "urgency.threshold.{}: must be a number above 0, not {value}",
                        tier.code.as_str()
                    ),
                ));
            }
            if let Some((more_urgent, lower)) = thresholds
                .iter()
                .find(|(_, t): &&(TierCode, f32)| *t < value)
            {
                return Err(source.error(
                    at,
                    format!(
                        "urgency.threshold.{}: {value} is above the threshold of the more urgent tier {} ({lower}); a tier's threshold must not be above a more urgent one's",
                        tier.code.as_str(),
                        more_urgent.as_str()
                    ),
                ));
            }
            thresholds.push((tier.code.clone(), value));
        }
    }
    if let Some(unknown) = raw
        .threshold
        .keys()
        .find(|code| !tiers.iter().any(|t| t.code.as_str() == code.as_str()))
    {
        return Err(source.error(
            at,
            format!("urgency.threshold: {unknown:?} is not one of the [[tier]] codes"),
        ));
    }
    let mut rules = Vec::new();
    for entry in &raw.rule {
        let at = Some(entry.span().start);
        let rule = entry.get_ref();
        if !rule.weight.is_finite() {
            return Err(source.error(at, "urgency.rule.weight: must be a finite number"));
        }
        if rule.words.is_empty() || rule.words.iter().any(|w| w.trim().is_empty()) {
            return Err(source.error(at, "urgency.rule.words: list one word or more, none blank"));
        }
        rules.push(UrgencyRule {
            words: rule.words.iter().map(|w| w.trim().to_owned()).collect(),
            weight: rule.weight,
        });
    }
    let mut categories = Vec::new();
    for entry in &raw.category {
        let at = Some(entry.span().start);
        let signal = entry.get_ref();
        let category = CategoryPath::new(&signal.category);
        if !taxonomy.contains(&category) {
            return Err(source.error(
                at,
                format!(
                    "urgency.category.category: {:?} is not in taxonomy.csv",
                    signal.category
                ),
            ));
        }
        if !signal.weight.is_finite() {
            return Err(source.error(at, "urgency.category.weight: must be a finite number"));
        }
        categories.push(CategoryUrgency {
            category,
            weight: signal.weight,
        });
    }
    Ok(UrgencyRules {
        rules,
        negations: raw.negations.iter().map(|n| n.trim().to_owned()).collect(),
        negation_window: raw.negation_window,
        thresholds,
        categories,
    })
}
