//! Handling units (承办单位) and the tree of who manages whom.
//!
//! A unit works at one level and serves one region. Routing asks "which unit at this
//! level serves this place"; redispatch (转派) asks "is that unit under mine".

use crate::ids::{RegionId, UnitId};
use crate::region::{ConfigProblem, RegionTree};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

code_enum!(
    /// Ordered from the smallest matter to the hardest: 微事村社办, 小事镇街办, 难事联动办.
    UnitLevel {
        Property = "property" / "物业" / "Property management",
        Community = "community" / "社区（村）" / "Community",
        Street = "street" / "街道（乡镇）" / "Street office",
        DistrictDepartment = "district_department" / "区县部门" / "District department",
        CityDepartment = "city_department" / "市级部门" / "City department",
    }
);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unit {
    pub id: UnitId,
    pub name: String,
    #[serde(default)]
    pub name_en: Option<String>,
    pub level: UnitLevel,
    pub region: RegionId,
    #[serde(default)]
    pub parent: Option<UnitId>,
    /// For departments: what they do ("housing", "hrss", ...), so a duty rule can say
    /// "the district's housing department" without naming one per district.
    #[serde(default)]
    pub role: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Units {
    units: Vec<Unit>,
    by_id: HashMap<UnitId, usize>,
    by_post: HashMap<(UnitLevel, Option<String>, RegionId), Vec<usize>>,
}

impl Units {
    pub fn new(units: Vec<Unit>, regions: &RegionTree) -> Result<Self, ConfigProblem> {
        let mut by_id = HashMap::with_capacity(units.len());
        let mut by_post: HashMap<_, Vec<usize>> = HashMap::new();
        for (index, unit) in units.iter().enumerate() {
            if unit.id.as_str().trim().is_empty() {
                return Err(ConfigProblem::new(index, "id", "must not be empty"));
            }
            if unit.name.trim().is_empty() {
                return Err(ConfigProblem::new(index, "name", "must not be empty"));
            }
            if by_id.insert(unit.id.clone(), index).is_some() {
                return Err(ConfigProblem::new(
                    index,
                    "id",
                    format!("{} is used by an earlier unit", unit.id),
                ));
            }
            if regions.get(&unit.region).is_none() {
                return Err(ConfigProblem::new(
                    index,
                    "region",
                    format!("no region has the id {}", unit.region),
                ));
            }
            by_post
                .entry((unit.level, unit.role.clone(), unit.region.clone()))
                .or_default()
                .push(index);
        }
        for (index, unit) in units.iter().enumerate() {
            let Some(parent) = &unit.parent else { continue };
            if !by_id.contains_key(parent) {
                return Err(ConfigProblem::new(
                    index,
                    "parent",
                    format!("no unit has the id {parent}"),
                ));
            }
            let mut seen = vec![index];
            let mut next = Some(parent);
            while let Some(id) = next {
                let at = by_id[id];
                if seen.contains(&at) {
                    return Err(ConfigProblem::new(
                        index,
                        "parent",
                        format!("following parents from {} comes back to it", unit.id),
                    ));
                }
                seen.push(at);
                next = units[at].parent.as_ref();
            }
        }
        Ok(Self {
            units,
            by_id,
            by_post,
        })
    }

    pub fn get(&self, id: &UnitId) -> Option<&Unit> {
        self.by_id.get(id).map(|&index| &self.units[index])
    }

    pub fn all(&self) -> &[Unit] {
        &self.units
    }

    /// The one unit at `level` (with `role`, for departments) that serves `region` or
    /// its nearest ancestor. `None` when there is none, or when several would fit and
    /// choosing between them needs a person.
    pub fn serving(
        &self,
        level: UnitLevel,
        role: Option<&str>,
        region: &RegionId,
        regions: &RegionTree,
    ) -> Option<&Unit> {
        let role = role.map(str::to_owned);
        regions.ancestry(region).find_map(|place| {
            match self.by_post.get(&(level, role.clone(), place.id.clone()))?[..] {
                [only] => Some(&self.units[only]),
                _ => None,
            }
        })
    }

    /// True when `unit` is `manager` or sits anywhere below it.
    pub fn is_under(&self, unit: &UnitId, manager: &UnitId) -> bool {
        std::iter::successors(self.get(unit), |u| {
            u.parent.as_ref().and_then(|p| self.get(p))
        })
        .any(|u| &u.id == manager)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::region::tests::sample_tree;

    pub fn unit(id: &str, level: UnitLevel, region: &str, parent: Option<&str>) -> Unit {
        Unit {
            id: UnitId::new(id),
            name: format!("{id} office"),
            name_en: None,
            level,
            region: RegionId::new(region),
            parent: parent.map(UnitId::new),
            role: None,
        }
    }

    pub fn sample_units(tree: &RegionTree) -> Units {
        use UnitLevel::*;
        let mut housing = unit("A3-housing", DistrictDepartment, "A3", None);
        housing.role = Some("housing".into());
        Units::new(
            vec![
                unit("S-yanghu", Street, "A3-01", None),
                unit("C-yanghu", Community, "A3-01-01", Some("S-yanghu")),
                unit("P-meishun", Property, "A3-01-01", Some("C-yanghu")),
                unit("S-pingtang", Street, "A3-02", None),
                housing,
            ],
            tree,
        )
        .unwrap()
    }

    #[test]
    fn finds_the_unit_serving_a_place_or_its_ancestor() {
        let tree = sample_tree();
        let units = sample_units(&tree);
        let community = RegionId::new("A3-01-01");
        let street = units.serving(UnitLevel::Street, None, &community, &tree);
        assert_eq!(street.unwrap().id.as_str(), "S-yanghu");
        let housing = units.serving(
            UnitLevel::DistrictDepartment,
            Some("housing"),
            &community,
            &tree,
        );
        assert_eq!(housing.unwrap().id.as_str(), "A3-housing");
        let other_street = RegionId::new("A3-02-01");
        assert!(
            units
                .serving(UnitLevel::Community, None, &other_street, &tree)
                .is_none()
        );
    }

    #[test]
    fn knows_who_is_under_whom() {
        let tree = sample_tree();
        let units = sample_units(&tree);
        assert!(units.is_under(&UnitId::new("P-meishun"), &UnitId::new("S-yanghu")));
        assert!(!units.is_under(&UnitId::new("S-yanghu"), &UnitId::new("P-meishun")));
    }

    #[test]
    fn refuses_cycles_and_unknown_regions() {
        let tree = sample_tree();
        let cycle = Units::new(
            vec![
                unit("X", UnitLevel::Street, "A3-01", Some("Y")),
                unit("Y", UnitLevel::Street, "A3-02", Some("X")),
            ],
            &tree,
        );
        assert_eq!(cycle.unwrap_err().field, "parent");
        let lost = Units::new(vec![unit("X", UnitLevel::Street, "Z9", None)], &tree);
        assert_eq!(lost.unwrap_err().field, "region");
    }
}
