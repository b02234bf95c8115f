//! The dependency directions ARCHITECTURE.md lists ("Which crate may use which") are
//! the ones the crates' manifests declare: a crate that starts using another it may
//! not (the web layer reaching for the store, the core for anything) fails here, and so
//! does a table that no longer describes the workspace.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The table of ARCHITECTURE.md's section "Which crate may use which": each crate and
/// the workspace crates it may depend on.
fn allowed(architecture: &str) -> BTreeMap<String, BTreeSet<String>> {
    let section = architecture
        .split("\n## ")
        .find(|s| s.starts_with("Which crate may use which"))
        .expect("ARCHITECTURE.md has a section \"Which crate may use which\"");
    let names = |cell: &str| -> BTreeSet<String> {
        cell.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    };
    section
        .lines()
        .filter(|line| line.starts_with("| `"))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').collect();
            let crate_name = names(cells[1]).into_iter().next().unwrap();
            (crate_name, names(cells[2]))
        })
        .collect()
}

/// Each workspace crate's workspace dependencies (normal and build; not dev).
fn declared(root: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut crates = BTreeMap::new();
    for entry in std::fs::read_dir(root.join("crates")).unwrap() {
        let manifest = entry.unwrap().path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let doc: toml::Table = toml::from_str(&text).unwrap();
        let name = doc["package"]["name"].as_str().unwrap().to_owned();
        let mut uses = BTreeSet::new();
        for section in ["dependencies", "build-dependencies"] {
            if let Some(deps) = doc.get(section).and_then(|d| d.as_table()) {
                uses.extend(deps.keys().filter(|k| k.starts_with("minhu")).cloned());
            }
        }
        crates.insert(name, uses);
    }
    crates
}

#[test]
fn every_crate_depends_only_on_what_architecture_md_allows() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let architecture = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let allowed = allowed(&architecture);
    let declared = declared(&root);
    assert_eq!(
        allowed.keys().collect::<Vec<_>>(),
        declared.keys().collect::<Vec<_>>(),
        "ARCHITECTURE.md's table and the workspace name different crates"
    );
    for (name, uses) in &declared {
        let forbidden: Vec<&String> = uses.difference(&allowed[name]).collect();
        assert!(
            forbidden.is_empty(),
            "{name} depends on {forbidden:?}, which ARCHITECTURE.md does not allow it"
        );
    }
}

#[test]
fn the_table_is_read_as_written() {
    let table = allowed(
        "# A\n\n## Which crate may use which\n\n| crate | may use |\n| --- | --- |\n\
         | `a` | nothing |\n| `b` | `a`, `c` (why) |\n\n## Next\n| `z` | `a` |\n",
    );
    assert_eq!(table.len(), 2, "{table:?}");
    assert!(table["a"].is_empty());
    assert_eq!(table["b"], BTreeSet::from(["a".to_owned(), "c".to_owned()]));
}
