//! The city: all of its configuration in one validated value. Built by the config
//! loader, shared read-only by everything that needs to know the city's rules.

use crate::calendar::BusinessCalendar;
use crate::deadline::{Deadlines, Tier, TierCode};
use crate::duty::DutyList;
use crate::geo::Boundaries;
use crate::ids::CityId;
use crate::place::{Gazetteer, Reading};
use crate::reading::CategoryReader;
use crate::region::RegionTree;
use crate::taxonomy::{CategoryPath, Taxonomy};
use crate::timer::TimerPolicy;
use crate::unit::Units;
use crate::urgency::{UrgencyRules, Urgent};
use jiff::tz::TimeZone;

#[derive(Clone, Debug)]
pub struct City {
    pub name: String,
    pub name_en: String,
    pub timezone: TimeZone,
    /// Working days, for the tiers whose deadlines count them.
    pub calendar: BusinessCalendar,
    pub tiers: Vec<Tier>,
    pub default_tier: TierCode,
    /// The weighted urgency rules of `[urgency]` (each tier's own words live on the tier).
    pub urgency_rules: UrgencyRules,
    pub regions: RegionTree,
    /// Every place name the city knows: its regions' and those of `places.csv`.
    pub places: Gazetteer,
    /// Region polygons from `boundaries.geojson` (empty when the city has none).
    pub boundaries: Boundaries,
    pub units: Units,
    pub taxonomy: Taxonomy,
    pub duties: DutyList,
    /// How a demand's category is read below the first level, and the confidence each
    /// level needs (`categories.toml`).
    pub categories: CategoryReader,
    /// The handling rules a city may tune (`[workflow]` in `city.toml`).
    pub workflow: WorkflowRules,
    /// Warnings, overdue, escalation and callback timers.
    pub timers: TimerPolicy,
    /// How units are scored and ranked, and when analytics warn (`[analytics]`).
    pub analytics: AnalyticsRules,
    /// The citizens' map (`[map]`).
    pub map: MapSettings,
    /// What counts as personal data in free text (`[privacy]`).
    pub privacy: PrivacySettings,
}

/// What the personal-data detector ([`crate::pii`]) leaves alone or also masks
/// (`[privacy]` in `city.toml`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrivacySettings {
    /// Numbers of public offices that look like personal ones (a department's landline,
    /// a service mobile) and must stay readable everywhere, as their digits alone
    /// (`073188889999`): a citizen quoting the office that sent them is no secret.
    pub public_numbers: Vec<String>,
    /// Whether car plates (湘A12345) are masked too. Off by default: in hotline texts a
    /// plate is mostly the vehicle complained about (parked on the pavement, a noisy
    /// truck), which the unit needs to act, not the caller's own.
    pub mask_plates: bool,
}

impl PrivacySettings {
    /// Whether the digits of a number (`073188889999`) are one of the public offices'.
    pub fn is_public(&self, digits: &str) -> bool {
        self.public_numbers.iter().any(|n| n == digits)
    }
}

/// The citizens' map: the city's own tile server, when it has one (`[map]` in
/// `city.toml`). Without tiles the portal's map still draws the regions' outlines from
/// `boundaries.geojson`, which is enough to put a point in the right community.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MapSettings {
    /// A tile URL with `{z}`, `{x}` and `{y}`, on this site (`/tiles/...`, behind the
    /// city's proxy) or an `https://` server the city runs or licenses.
    pub tiles: Option<String>,
    /// The credit the tiles' licence asks for, shown on the map.
    pub attribution: String,
}

impl MapSettings {
    /// The tile server's origin (`https://host[:port]`) when it is not this site: pages
    /// must allow images from it.
    pub fn tile_origin(&self) -> Option<&str> {
        let tiles = self.tiles.as_deref()?;
        let rest = tiles.strip_prefix("https://")?;
        let end = rest.find('/').unwrap_or(rest.len());
        Some(&tiles[.."https://".len() + end])
    }
}

/// The weights of the composite score (综合得分). Each weighs one rate; rates a unit has
/// no data for are left out and the remaining weights share the score.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreWeights {
    pub response: f64,
    pub resolution: f64,
    pub satisfaction: f64,
    pub on_time: f64,
}

impl Default for ScoreWeights {
    /// Beijing's assessment: response 10%, resolution 45%, satisfaction 45%.
    fn default() -> Self {
        Self {
            response: 0.10,
            resolution: 0.45,
            satisfaction: 0.45,
            on_time: 0.0,
        }
    }
}

/// Analytics rules a city tunes.
#[derive(Clone, Debug, PartialEq)]
pub struct AnalyticsRules {
    pub weights: ScoreWeights,
    /// A unit is ranked only with at least this many assignments in the period: a unit
    /// with two tickets would otherwise top or bottom the list by chance.
    pub rank_min_assigned: u64,
    /// How many of the lowest-ranked units the monthly ranking names (通报).
    pub name_bottom: usize,
    /// The buck-passing index (returns + refused returns + redispatches per 100
    /// assignments) above which a unit is warned.
    pub buck_passing_warn: f64,
    pub surge: SurgeRules,
}

/// How surges (突发预警) are judged: see `minhu_analytics::surge`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SurgeRules {
    /// Weeks of history behind the baseline (the same hour of the week in each).
    pub weeks: u32,
    /// How many standard deviations above normal an hour must be.
    pub z: f64,
    /// And how many times its normal count.
    pub ratio: f64,
    /// Fewer demands than this in an hour never alert (two calls where none is usual
    /// are not an emergency).
    pub min_count: i64,
}

impl Default for SurgeRules {
    fn default() -> Self {
        Self {
            weeks: 4,
            z: 4.0,
            ratio: 2.0,
            min_count: 8,
        }
    }
}

impl Default for AnalyticsRules {
    fn default() -> Self {
        Self {
            weights: ScoreWeights::default(),
            rank_min_assigned: 10,
            name_bottom: 3,
            buck_passing_warn: 15.0,
            surge: SurgeRules::default(),
        }
    }
}

/// Handling rules that differ between cities.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkflowRules {
    /// How many times a ticket may go back to its unit (重办) before a further reopening
    /// also puts it before the supervisors.
    pub reopen_limit: u32,
    /// Whether the lead unit of a joint case (联办) must wait for every summoned unit's
    /// report before it replies.
    pub resolve_needs_parts: bool,
    /// The most working days one extension (延期) may add to the current resolution
    /// deadline, asked or granted; a later `resolve_by` is refused.
    pub max_extension_days: u16,
    /// How many extensions a ticket may be granted in all; a unit asks for no more.
    pub max_extensions: u32,
}

impl Default for WorkflowRules {
    fn default() -> Self {
        Self {
            reopen_limit: 2,
            resolve_needs_parts: true,
            max_extension_days: 15,
            max_extensions: 2,
        }
    }
}

impl City {
    /// The city's id: its root region's (`A`), which is how a province names it.
    pub fn id(&self) -> CityId {
        CityId::new(self.regions.root().id.as_str())
    }

    /// Where a demand's words say it is ([`Gazetteer::read`]).
    pub fn read_place(&self, text: &str) -> Reading<'_> {
        self.places.read(&self.regions, text)
    }

    pub fn tier(&self, code: &TierCode) -> Option<&Tier> {
        self.tiers.iter().find(|tier| &tier.code == code)
    }

    /// The most urgent tier the text (and its category, with the confidence in it) calls
    /// for, when it is more urgent than `current`; see [`crate::urgency`].
    pub fn urgency(
        &self,
        text: &str,
        current: &TierCode,
        category: Option<(&CategoryPath, f32)>,
    ) -> Option<Urgent<'_>> {
        self.urgency_rules
            .assess(&self.tiers, text, current, category)
    }

    pub fn tier_codes(&self) -> String {
        self.tiers
            .iter()
            .map(|t| t.code.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The deadlines a ticket of `tier` gets when handed to a unit at `start`: in the
    /// city's time zone and, where the tier counts working days, on its calendar.
    pub fn deadlines(&self, tier: &Tier, start: jiff::Timestamp) -> Deadlines {
        tier.deadlines(start, &self.timezone, &self.calendar)
    }

    /// The calendar date of a moment in the city's own time zone (ticket numbers use it).
    pub fn local_date(&self, at: jiff::Timestamp) -> jiff::civil::Date {
        at.to_zoned(self.timezone.clone()).date()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::calendar::tests::china_2025;
    use crate::deadline::{Allowance, TierClock, TierStart};
    use crate::duty::DutyRule;
    use crate::region::tests::sample_tree;
    use crate::taxonomy::CategoryPath;
    use crate::timer::{EscalationStep, EscalationTarget};
    use crate::unit::UnitLevel;
    use crate::unit::tests::sample_units;

    /// A small but complete city for the core's tests.
    pub fn sample_city() -> City {
        let regions = sample_tree();
        let units = sample_units(&regions);
        let taxonomy = Taxonomy::from_rows(&[
            vec!["城乡建设".into(), "物业管理".into(), "物业服务".into()],
            vec!["劳动和社会保障".into(), "劳动关系".into(), "".into()],
        ])
        .unwrap();
        let duties = DutyList::new(
            vec![DutyRule {
                category: CategoryPath::new("城乡建设/物业管理"),
                level: UnitLevel::Property,
                role: None,
                region: None,
                unit: None,
                note: None,
            }],
            &taxonomy,
            &regions,
            &units,
        )
        .unwrap();
        let tier = |code: &str, respond: &str, resolve: &str| {
            let clock = TierClock::default_for(resolve);
            Tier {
                code: TierCode(code.into()),
                label: code.into(),
                label_en: None,
                respond_within: Allowance::parse(respond, clock).unwrap(),
                resolve_within: Allowance::parse(resolve, clock).unwrap(),
                words: if code == "2h" {
                    vec!["燃气泄漏".into()]
                } else {
                    Vec::new()
                },
                starts: TierStart::Dispatch,
            }
        };
        let places = Gazetteer::new(&regions, Vec::new()).unwrap();
        let categories = crate::reading::CategoryReader::new(
            Vec::new(),
            crate::reading::Confidence::default(),
            &taxonomy,
            &places,
            &regions,
        )
        .unwrap();
        City {
            name: "A市".into(),
            name_en: "City A".into(),
            timezone: TimeZone::fixed(jiff::tz::offset(8)),
            calendar: china_2025(),
            tiers: vec![tier("2h", "30m", "2h"), tier("15d", "24h", "15d")],
            default_tier: TierCode("15d".into()),
            urgency_rules: UrgencyRules::default(),
            places,
            regions,
            boundaries: Boundaries::default(),
            units,
            taxonomy,
            duties,
            categories,
            workflow: WorkflowRules::default(),
            timers: TimerPolicy {
                warn_share: Some(0.8),
                escalation: vec![
                    EscalationStep {
                        to: EscalationTarget::UnitLeader,
                        after: jiff::SignedDuration::from_hours(4),
                    },
                    EscalationStep {
                        to: EscalationTarget::Supervisor,
                        after: jiff::SignedDuration::from_hours(24),
                    },
                ],
                callback_after: Some(jiff::SignedDuration::from_hours(72)),
            },
            analytics: AnalyticsRules::default(),
            map: MapSettings::default(),
            privacy: PrivacySettings::default(),
        }
    }
}

#[cfg(test)]
mod urgency_tests {
    use super::tests::sample_city;
    use crate::deadline::TierCode;

    #[test]
    fn urgent_words_raise_the_tier_and_never_lower_it() {
        let city = sample_city();
        let standard = TierCode("15d".into());
        let urgent = city
            .urgency("楼道里燃气泄漏，味道很大", &standard, None)
            .unwrap();
        assert_eq!(urgent.tier.code.as_str(), "2h");
        assert_eq!(urgent.reasons, ["燃气泄漏"]);
        assert!(city.urgency("小区路灯不亮", &standard, None).is_none());
        assert!(
            city.urgency("燃气泄漏", &TierCode("2h".into()), None)
                .is_none(),
            "already that urgent"
        );
    }
}
