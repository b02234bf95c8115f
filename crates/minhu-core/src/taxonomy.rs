//! The three-level category taxonomy (一级/二级/三级分类).
//!
//! A category is written as its path, levels joined by `/`:
//! `城乡建设/物业管理/物业服务`. Any prefix of a configured path is a category too,
//! so a ticket may be classified only as far as is known.

use crate::region::ConfigProblem;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
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

    /// Its first `depth` levels, when it has that many (a third-level path at depth 2
    /// is its second level).
    pub fn at_depth(&self, depth: usize) -> Option<CategoryPath> {
        let levels: Vec<&str> = self.levels().collect();
        (levels.len() >= depth).then(|| CategoryPath(levels[..depth].join("/")))
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
    /// The English name of a category's own level, where the city gives one.
    english: BTreeMap<CategoryPath, String>,
}

/// The taxonomy's levels as its file names them, for problems.
const LEVELS: [&str; 3] = ["一级分类", "二级分类", "三级分类"];

/// The optional fourth column: the row's names in English, levels joined by `/`.
pub const ENGLISH_COLUMN: &str = "english";

impl Taxonomy {
    /// Builds the taxonomy from rows of up to three level names (blank trailing levels
    /// allowed), as in the city's `taxonomy.csv`, and optionally a fourth cell: the
    /// row's names in English, levels joined by `/` (`Urban construction/Property`), as
    /// many levels as it knows from the first.
    pub fn from_rows(rows: &[Vec<String>]) -> Result<Self, ConfigProblem> {
        let mut taxonomy = Taxonomy::default();
        for (index, row) in rows.iter().enumerate() {
            let cells: Vec<&str> = row.iter().map(|s| s.trim()).collect();
            let levels = &cells[..cells.len().min(3)];
            let depth = levels
                .iter()
                .rposition(|s| !s.is_empty())
                .map_or(0, |p| p + 1);
            if depth == 0 {
                return Err(ConfigProblem::new(index, LEVELS[0], "the row is empty"));
            }
            if let Some(gap) = levels[..depth].iter().position(|s| s.is_empty()) {
                return Err(ConfigProblem::new(
                    index,
                    LEVELS[gap.min(2)],
                    "a lower level is given but this one is blank",
                ));
            }
            if let Some(bad) = levels[..depth].iter().find(|s| s.contains('/')) {
                return Err(ConfigProblem::new(
                    index,
                    LEVELS[0],
                    format!("{bad:?}: a category name may not contain '/'"),
                ));
            }
            for n in 1..=depth {
                taxonomy.paths.insert(CategoryPath(levels[..n].join("/")));
            }
            if let Some(english) = cells.get(3).filter(|e| !e.is_empty()) {
                taxonomy.add_english(index, &levels[..depth], english)?;
            }
        }
        Ok(taxonomy)
    }

    /// Records a row's English names, refusing more levels than the row has, Chinese
    /// characters, a blank level and a second English name for the same category.
    fn add_english(
        &mut self,
        index: usize,
        levels: &[&str],
        english: &str,
    ) -> Result<(), ConfigProblem> {
        let problem = |message: String| Err(ConfigProblem::new(index, ENGLISH_COLUMN, message));
        let names: Vec<&str> = english.split('/').map(str::trim).collect();
        if names.len() > levels.len() {
            return problem(format!(
                "{english:?} names {} levels; the row has {}",
                names.len(),
                levels.len()
            ));
        }
        if names.iter().any(|n| n.is_empty()) {
            return problem(format!("{english:?} has a blank level"));
        }
        if let Some(han) = names
            .iter()
            .find(|n| n.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)))
        {
            return problem(format!("{han:?} is not English"));
        }
        for (n, name) in names.iter().enumerate() {
            let path = CategoryPath(levels[..=n].join("/"));
            match self.english.get(&path) {
                Some(known) if known != name => {
                    return problem(format!(
                        "{path} is {known:?} in English on an earlier row, {name:?} here"
                    ));
                }
                Some(_) => {}
                None => {
                    self.english.insert(path, (*name).to_owned());
                }
            }
        }
        Ok(())
    }

    /// A category's path in English, levels joined by " / ", when the city gives an
    /// English name for at least one of its levels; levels without one stay as written.
    pub fn english(&self, path: &CategoryPath) -> Option<String> {
        let prefixes: Vec<CategoryPath> = path.prefixes().collect();
        if !prefixes.iter().any(|p| self.english.contains_key(p)) {
            return None;
        }
        let names: Vec<&str> = prefixes
            .iter()
            .rev()
            .zip(path.levels())
            .map(|(prefix, name)| self.english.get(prefix).map_or(name, String::as_str))
            .collect();
        Some(names.join(" / "))
    }

    /// Every English name the city gives, for tests that tell data from words.
    pub fn english_names(&self) -> impl Iterator<Item = &str> {
        self.english.values().map(String::as_str)
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
    fn english_names_follow_the_levels() {
        let taxonomy = Taxonomy::from_rows(&[
            row(&[
                "城乡建设",
                "物业管理",
                "物业服务",
                "Urban construction/Property",
            ]),
            row(&["城乡建设", "住房", "", ""]),
        ])
        .unwrap();
        let english = |p: &str| taxonomy.english(&CategoryPath::new(p));
        assert_eq!(
            english("城乡建设/物业管理/物业服务").unwrap(),
            "Urban construction / Property / 物业服务"
        );
        assert_eq!(
            english("城乡建设/住房").unwrap(),
            "Urban construction / 住房"
        );
        assert_eq!(english("劳动"), None);
    }

    #[test]
    fn refuses_english_that_does_not_fit() {
        let problem = |english: &str| {
            Taxonomy::from_rows(&[
                row(&["城乡建设", "物业管理", "", "Urban construction"]),
                row(&["城乡建设", "物业管理", "", english]),
            ])
            .unwrap_err()
        };
        let err = problem("City/Property/Services");
        assert_eq!((err.item, err.field), (1, ENGLISH_COLUMN));
        assert!(
            err.message.contains("names 3 levels; the row has 2"),
            "{err}"
        );
        assert!(problem("Town").message.contains("earlier row"));
        assert!(problem("城建").message.contains("not English"));
        assert!(problem("Urban construction/ ").message.contains("blank"));
    }

    #[test]
    fn refuses_gaps() {
        let err = Taxonomy::from_rows(&[row(&["城乡建设", "", "物业服务"])]).unwrap_err();
        assert_eq!(err.field, "二级分类");
    }
}
