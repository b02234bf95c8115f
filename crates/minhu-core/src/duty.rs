//! Duty lists (职责清单): which unit answers which category in which place.
//!
//! A rule names a category (at any level), the level of unit that handles it, and
//! optionally a department role, a region subtree or one specific unit. Routing takes
//! the most specific category that has rules, and among those rules the lowest level
//! that resolves to a unit for the ticket's place: small matters to the community,
//! bigger ones to the street, hard ones to departments.

use crate::ids::{RegionId, UnitId};
use crate::region::{ConfigProblem, RegionTree};
use crate::taxonomy::{CategoryPath, Taxonomy};
use crate::unit::{UnitLevel, Units};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DutyRule {
    pub category: CategoryPath,
    pub level: UnitLevel,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub region: Option<RegionId>,
    #[serde(default)]
    pub unit: Option<UnitId>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct DutyList {
    rules: Vec<DutyRule>,
}

/// Where a ticket should go and why, in words a dispatcher can check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    pub unit: UnitId,
    pub rule: usize,
    pub reason: String,
    /// The rule, category and place behind it, for pages to say in either language.
    pub basis: DutyBasis,
}

/// Which rule of the duty list names a unit for a ticket: "按派单目录第 77 条：教育文体类、
/// 泉塘街道". A dispatch that goes where the duty list says records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DutyBasis {
    /// The rule's number in the duty list, from 1.
    pub rule: u32,
    /// The category the rule names: the ticket's or one of its parents.
    pub category: CategoryPath,
    /// The ticket's place; none: the rule serves the whole city.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<RegionId>,
}

impl DutyList {
    pub fn new(
        rules: Vec<DutyRule>,
        taxonomy: &Taxonomy,
        regions: &RegionTree,
        units: &Units,
    ) -> Result<Self, ConfigProblem> {
        for (index, rule) in rules.iter().enumerate() {
            let problem = |field, message: String| Err(ConfigProblem::new(index, field, message));
            if !taxonomy.contains(&rule.category) {
                return problem(
                    "category",
                    format!("{} is not in the taxonomy", rule.category),
                );
            }
            if let Some(region) = &rule.region
                && regions.get(region).is_none()
            {
                return problem("region", format!("no region has the id {region}"));
            }
            match &rule.unit {
                Some(id) => match units.get(id) {
                    None => return problem("unit", format!("no unit has the id {id}")),
                    Some(unit) if unit.level != rule.level => {
                        return problem(
                            "unit",
                            format!("{id} works at level {:?}, not {:?}", unit.level, rule.level),
                        );
                    }
                    Some(_) => {}
                },
                None => {
                    let is_department = matches!(
                        rule.level,
                        UnitLevel::DistrictDepartment | UnitLevel::CityDepartment
                    );
                    if is_department && rule.role.is_none() {
                        return problem(
                            "role",
                            "a department-level rule needs a role (or a unit)".into(),
                        );
                    }
                    let role = rule.role.as_deref();
                    if !units
                        .all()
                        .iter()
                        .any(|u| u.level == rule.level && u.role.as_deref() == role)
                    {
                        return problem(
                            "role",
                            format!("no unit has level {:?} and role {role:?}", rule.level),
                        );
                    }
                }
            }
        }
        Ok(Self { rules })
    }

    pub fn rules(&self) -> &[DutyRule] {
        &self.rules
    }

    /// The unit for a category in a place (`None` place: only rules that name a unit or
    /// serve the whole city can answer). `None` means a dispatcher must decide.
    pub fn route(
        &self,
        category: &CategoryPath,
        place: Option<&RegionId>,
        regions: &RegionTree,
        units: &Units,
    ) -> Option<Assignment> {
        self.routes(category, place, regions, units).next()
    }

    /// Every unit the duty list names for a category in a place, in the order routing
    /// prefers them: the most specific category first, then the lowest level. The first
    /// is [`DutyList::route`]'s; the others are where a dispatcher looks when that unit
    /// returned the ticket.
    pub fn routes<'a>(
        &'a self,
        category: &'a CategoryPath,
        place: Option<&RegionId>,
        regions: &'a RegionTree,
        units: &'a Units,
    ) -> impl Iterator<Item = Assignment> + 'a {
        let placed = place.cloned();
        let place = place.cloned().unwrap_or_else(|| regions.root().id.clone());
        category.prefixes().flat_map(move |prefix| {
            let mut candidates: Vec<(usize, &DutyRule)> = self
                .rules
                .iter()
                .enumerate()
                .filter(|(_, rule)| rule.category == prefix)
                .filter(|(_, rule)| {
                    rule.region
                        .as_ref()
                        .is_none_or(|r| regions.is_within(&place, r))
                })
                .collect();
            candidates.sort_by_key(|(_, rule)| rule.level);
            let (place, placed) = (place.clone(), placed.clone());
            candidates.into_iter().filter_map(move |(index, rule)| {
                let unit = match &rule.unit {
                    Some(id) => units.get(id)?,
                    None => units.serving(rule.level, rule.role.as_deref(), &place, regions)?,
                };
                let place_name = regions.get(&place).map_or("", |r| r.name.as_str());
                Some(Assignment {
                    unit: unit.id.clone(),
                    rule: index,
                    reason: format!(
                        "duty rule #{} ({prefix} -> {:?}) for {place_name}: {}",
                        index + 1,
                        rule.level,
                        unit.name
                    ),
                    basis: DutyBasis {
                        rule: u32::try_from(index + 1).unwrap_or(u32::MAX),
                        category: prefix.clone(),
                        place: placed.clone(),
                    },
                })
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::region::tests::sample_tree;
    use crate::unit::tests::sample_units;

    fn rule(category: &str, level: UnitLevel, role: Option<&str>) -> DutyRule {
        DutyRule {
            category: CategoryPath::new(category),
            level,
            role: role.map(str::to_owned),
            region: None,
            unit: None,
            note: None,
        }
    }

    fn taxonomy() -> Taxonomy {
        let rows = vec![
            vec!["城乡建设".to_string(), "物业管理".into(), "物业服务".into()],
            vec!["城乡建设".to_string(), "住房管理".into(), "".into()],
        ];
        Taxonomy::from_rows(&rows).unwrap()
    }

    #[test]
    fn routes_to_the_lowest_level_that_serves_the_place() {
        let tree = sample_tree();
        let units = sample_units(&tree);
        let duties = DutyList::new(
            vec![
                rule("城乡建设/物业管理", UnitLevel::Street, None),
                rule("城乡建设/物业管理", UnitLevel::Property, None),
                rule("城乡建设", UnitLevel::DistrictDepartment, Some("housing")),
            ],
            &taxonomy(),
            &tree,
            &units,
        )
        .unwrap();
        let category = CategoryPath::new("城乡建设/物业管理/物业服务");
        let here = RegionId::new("A3-01-01");
        let assignment = duties.route(&category, Some(&here), &tree, &units).unwrap();
        assert_eq!(assignment.unit.as_str(), "P-meishun");
        // No property company in this community: the street answers.
        let there = RegionId::new("A3-02-01");
        let assignment = duties
            .route(&category, Some(&there), &tree, &units)
            .unwrap();
        assert_eq!(assignment.unit.as_str(), "S-pingtang");
        // A broader category falls back to the first-level rule.
        let housing = CategoryPath::new("城乡建设/住房管理");
        let assignment = duties.route(&housing, Some(&there), &tree, &units).unwrap();
        assert_eq!(assignment.unit.as_str(), "A3-housing");
        // Unknown place: no district department can be chosen.
        assert!(duties.route(&housing, None, &tree, &units).is_none());
    }

    #[test]
    fn refuses_rules_that_point_nowhere() {
        let tree = sample_tree();
        let units = sample_units(&tree);
        let bad_category = DutyList::new(
            vec![rule("不存在", UnitLevel::Street, None)],
            &taxonomy(),
            &tree,
            &units,
        );
        assert_eq!(bad_category.unwrap_err().field, "category");
        let no_role = DutyList::new(
            vec![rule("城乡建设", UnitLevel::CityDepartment, None)],
            &taxonomy(),
            &tree,
            &units,
        );
        assert_eq!(no_role.unwrap_err().field, "role");
    }
}
