//! The region tree (属地): city > district > street/township > community/village > grid.
//!
//! Every ticket belongs to a place, and the place decides which street office or
//! community answers. The tree is configuration; this module validates it, answers
//! "is this region inside that one"; reading a region from a demand's words is
//! [`crate::place`]'s.

use crate::ids::RegionId;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

code_enum!(
    /// How large a region is, from the city down.
    RegionLevel {
        City = "city" / "市" / "City",
        District = "district" / "区县" / "District",
        Street = "street" / "街道（乡镇）" / "Street",
        Community = "community" / "社区（村）" / "Community",
        Grid = "grid" / "网格" / "Grid cell",
    }
);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    pub id: RegionId,
    pub name: String,
    pub level: RegionLevel,
    pub parent: Option<RegionId>,
    pub population: Option<u64>,
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// A problem found while validating one item of a configuration list. `item` is the
/// item's index in the list it came from, so the loader can point at its line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ConfigProblem {
    pub item: usize,
    pub field: &'static str,
    pub message: String,
}

impl ConfigProblem {
    pub fn new(item: usize, field: &'static str, message: impl Into<String>) -> Self {
        Self {
            item,
            field,
            message: message.into(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct RegionTree {
    regions: Vec<Region>,
    by_id: HashMap<RegionId, usize>,
    root: usize,
}

impl RegionTree {
    pub fn new(regions: Vec<Region>) -> Result<Self, ConfigProblem> {
        let mut by_id = HashMap::with_capacity(regions.len());
        for (index, region) in regions.iter().enumerate() {
            if region.id.as_str().trim().is_empty() {
                return Err(ConfigProblem::new(index, "id", "must not be empty"));
            }
            if region.name.trim().is_empty() {
                return Err(ConfigProblem::new(index, "name", "must not be empty"));
            }
            // Demand per 10,000 residents divides by it.
            if region.population == Some(0) {
                return Err(ConfigProblem::new(
                    index,
                    "population",
                    "must be above 0 (leave it out when unknown)",
                ));
            }
            if by_id.insert(region.id.clone(), index).is_some() {
                return Err(ConfigProblem::new(
                    index,
                    "id",
                    format!("{} is used by an earlier region", region.id),
                ));
            }
        }
        let mut root = None;
        for (index, region) in regions.iter().enumerate() {
            match &region.parent {
                None if region.level != RegionLevel::City => {
                    return Err(ConfigProblem::new(
                        index,
                        "parent",
                        "only the city region may have no parent",
                    ));
                }
                None if root.is_some() => {
                    return Err(ConfigProblem::new(
                        index,
                        "level",
                        "there is already a city region; a tree has one root",
                    ));
                }
                None => root = Some(index),
                Some(parent_id) => {
                    let Some(&parent) = by_id.get(parent_id) else {
                        return Err(ConfigProblem::new(
                            index,
                            "parent",
                            format!("no region has the id {parent_id}"),
                        ));
                    };
                    // Levels strictly deepen, so parents can never form a cycle.
                    if regions[parent].level >= region.level {
                        return Err(ConfigProblem::new(
                            index,
                            "level",
                            format!(
                                "a {:?} region cannot sit under the {:?} region {parent_id}",
                                region.level, regions[parent].level
                            ),
                        ));
                    }
                }
            }
        }
        let root = root.ok_or_else(|| {
            ConfigProblem::new(0, "level", "no region has level = \"city\" (the root)")
        })?;
        Ok(Self {
            regions,
            by_id,
            root,
        })
    }

    pub fn root(&self) -> &Region {
        &self.regions[self.root]
    }

    pub fn get(&self, id: &RegionId) -> Option<&Region> {
        self.by_id.get(id).map(|&index| &self.regions[index])
    }

    pub fn all(&self) -> &[Region] {
        &self.regions
    }

    /// The region itself, then its parent, up to the city.
    pub fn ancestry<'a>(&'a self, id: &RegionId) -> impl Iterator<Item = &'a Region> + 'a {
        std::iter::successors(self.get(id), |region| {
            region.parent.as_ref().and_then(|parent| self.get(parent))
        })
    }

    pub fn is_within(&self, id: &RegionId, ancestor: &RegionId) -> bool {
        self.ancestry(id).any(|region| &region.id == ancestor)
    }

    /// The region written as an address, the city first (`A市A3区天顶街道尖山社区`): where
    /// a demand placed by name alone is, for those who read it outside (Open311). A
    /// grid is an office's cut of the map, not a place people name, so it is left out.
    pub fn address(&self, id: &RegionId) -> Option<String> {
        let mut names: Vec<&str> = self
            .ancestry(id)
            .filter(|r| r.level != RegionLevel::Grid)
            .map(|r| r.name.as_str())
            .collect();
        names.reverse();
        Some(names.concat()).filter(|a| !a.is_empty())
    }

    /// `/A/A3/A3-02/`: the ids from the root down, so that "everything inside A3" is a
    /// prefix query in a database.
    pub fn path(&self, id: &RegionId) -> Option<String> {
        self.get(id)?;
        let mut ids: Vec<&str> = self.ancestry(id).map(|r| r.id.as_str()).collect();
        ids.reverse();
        Some(format!("/{}/", ids.join("/")))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn region(id: &str, name: &str, level: RegionLevel, parent: Option<&str>) -> Region {
        Region {
            id: RegionId::new(id),
            name: name.into(),
            level,
            parent: parent.map(RegionId::new),
            population: None,
            aliases: vec![],
        }
    }

    pub fn sample_tree() -> RegionTree {
        use RegionLevel::*;
        RegionTree::new(vec![
            region("A", "A市", City, None),
            region("A3", "A3区", District, Some("A")),
            region("A3-01", "洋湖街道", Street, Some("A3")),
            region("A3-01-01", "洋湖社区", Community, Some("A3-01")),
            region("A3-02", "坪塘街道", Street, Some("A3")),
            region("A3-02-01", "新村社区", Community, Some("A3-02")),
            region("A5", "A5区", District, Some("A")),
            region("A5-01", "东风街道", Street, Some("A5")),
            region("A5-01-01", "新村社区", Community, Some("A5-01")),
        ])
        .unwrap()
    }

    #[test]
    fn paths_and_containment() {
        let tree = sample_tree();
        let id = RegionId::new("A3-01-01");
        assert_eq!(tree.path(&id).unwrap(), "/A/A3/A3-01/A3-01-01/");
        assert!(tree.is_within(&id, &RegionId::new("A3")));
        assert!(!tree.is_within(&id, &RegionId::new("A5")));
    }

    #[test]
    fn a_region_reads_as_an_address_without_its_grid() {
        use RegionLevel::*;
        let mut regions = sample_tree().all().to_vec();
        regions.push(region("A3-01-01-1", "第1网格", Grid, Some("A3-01-01")));
        let tree = RegionTree::new(regions).unwrap();
        assert_eq!(
            tree.address(&RegionId::new("A3-01-01-1")).unwrap(),
            "A市A3区洋湖街道洋湖社区"
        );
        assert_eq!(tree.address(&RegionId::new("A5")).unwrap(), "A市A5区");
        assert_eq!(tree.address(&RegionId::new("Z")), None);
    }

    #[test]
    fn refuses_broken_trees() {
        use RegionLevel::*;
        let unknown_parent = RegionTree::new(vec![
            region("A", "A市", City, None),
            region("A3", "A3区", District, Some("B")),
        ]);
        assert_eq!(unknown_parent.unwrap_err().field, "parent");
        let duplicate = RegionTree::new(vec![
            region("A", "A市", City, None),
            region("A", "A3区", District, Some("A")),
        ]);
        assert_eq!(duplicate.unwrap_err().item, 1);
        let inverted = RegionTree::new(vec![
            region("A", "A市", City, None),
            region("S", "街道", Street, Some("A")),
            region("D", "区", District, Some("S")),
        ]);
        assert_eq!(inverted.unwrap_err().field, "level");
        let mut empty = region("D", "区", District, Some("A"));
        empty.population = Some(0);
        let nobody = RegionTree::new(vec![region("A", "A市", City, None), empty]).unwrap_err();
        assert_eq!((nobody.item, nobody.field), (1, "population"));
    }
}
