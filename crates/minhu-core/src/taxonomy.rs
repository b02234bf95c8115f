//! The three-level category taxonomy (一级/二级/三级分类).
//!
//! A category is written as its path, levels joined by `/`:
//! `城乡建设/物业管理/物业服务`. Any prefix of a configured path is a category too,
//! so a ticket may be classified only as far as is known.

use crate::region::ConfigProblem;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CategoryPath(String);

impl CategoryPath {
    /// Normalises spacing around the separators; does not check the taxonomy.
    pub fn new(path: &str) -> Self {
        let levels: Vec<&str> = path.split('/').map(str::trim).collect();
        Self(levels.join("/"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn levels(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    pub fn first_level(&self) -> &str {
        self.levels().next().unwrap_or_default()
    }

    /// This path and each shorter prefix, most specific first.
    pub fn prefixes(&self) -> impl Iterator<Item = CategoryPath> + '_ {
        let depth = self.levels().count();
        (1..=depth)
            .rev()
            .map(move |n| CategoryPath(self.levels().take(n).collect::<Vec<_>>().join("/")))
    }

    pub fn starts_with(&self, prefix: &CategoryPath) -> bool {
        within(&self.0, &prefix.0)
    }
}

/// Whether the category path `path` is `category` or one of its sub-categories: the
/// test of every `category` filter, on paths as stored.
pub fn within(path: &str, category: &str) -> bool {
    path.strip_prefix(category)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

impl fmt::Display for CategoryPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Debug, Default)]
pub struct Taxonomy {
    paths: BTreeSet<CategoryPath>,
}

impl Taxonomy {
    /// Builds the taxonomy from rows of up to three level names (blank trailing levels
    /// allowed), as in the city's `taxonomy.csv`.
    pub fn from_rows(rows: &[Vec<String>]) -> Result<Self, ConfigProblem> {
        let mut paths = BTreeSet::new();
        for (index, row) in rows.iter().enumerate() {
            let levels: Vec<&str> = row.iter().map(|s| s.trim()).collect();
            let depth = levels
                .iter()
                .rposition(|s| !s.is_empty())
                .map_or(0, |p| p + 1);
            if depth == 0 {
                return Err(ConfigProblem::new(index, "一级分类", "the row is empty"));
            }
            if let Some(gap) = levels[..depth].iter().position(|s| s.is_empty()) {
                return Err(ConfigProblem::new(
                    index,
                    ["一级分类", "二级分类", "三级分类"][gap.min(2)],
                    "a lower level is given but this one is blank",
                ));
            }
            if let Some(bad) = levels[..depth].iter().find(|s| s.contains('/')) {
                return Err(ConfigProblem::new(
                    index,
                    "一级分类",
                    format!("{bad:?}: a category name may not contain '/'"),
                ));
            }
            for n in 1..=depth {
                paths.insert(CategoryPath(levels[..n].join("/")));
            }
        }
        Ok(Self { paths })
    }

    pub fn contains(&self, path: &CategoryPath) -> bool {
        self.paths.contains(path)
    }

    /// Every category, each parent before its children.
    pub fn paths(&self) -> impl Iterator<Item = &CategoryPath> {
        self.paths.iter()
    }

    pub fn first_levels(&self) -> impl Iterator<Item = &CategoryPath> {
        self.paths.iter().filter(|p| !p.as_str().contains('/'))
    }

    pub fn len(&self) -> usize {
        self.paths.len()
    }

    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(levels: &[&str]) -> Vec<String> {
        levels.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_prefix_is_a_category() {
        let taxonomy = Taxonomy::from_rows(&[row(&["城乡建设", "物业管理", "物业服务"])]).unwrap();
        assert!(taxonomy.contains(&CategoryPath::new("城乡建设")));
        assert!(taxonomy.contains(&CategoryPath::new("城乡建设 / 物业管理")));
        assert!(!taxonomy.contains(&CategoryPath::new("城乡建设/安全生产")));
        assert_eq!(taxonomy.len(), 3);
    }

    #[test]
    fn prefixes_go_from_specific_to_general() {
        let path = CategoryPath::new("a/b/c");
        let all: Vec<String> = path.prefixes().map(|p| p.to_string()).collect();
        assert_eq!(all, ["a/b/c", "a/b", "a"]);
        assert!(path.starts_with(&CategoryPath::new("a/b")));
        assert!(!CategoryPath::new("a/bc").starts_with(&CategoryPath::new("a/b")));
    }

    #[test]
    fn refuses_gaps() {
        let err = Taxonomy::from_rows(&[row(&["城乡建设", "", "物业服务"])]).unwrap_err();
        assert_eq!(err.field, "二级分类");
    }
}
