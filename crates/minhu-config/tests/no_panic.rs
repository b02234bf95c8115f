//! Property test: a city directory with one file mangled (cut short, a line dropped,
//! something spliced in) never panics the loader; it loads, or the error names a file
//! of the directory and says what is wrong.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::path::Path;

const FILES: &[&str] = &[
    "city.toml",
    "calendar.toml",
    "regions.toml",
    "units.toml",
    "taxonomy.csv",
    "duties.toml",
];

#[derive(Clone, Debug)]
enum Mangle {
    Cut(prop::sample::Index),
    DropLine(prop::sample::Index),
    Splice(prop::sample::Index, String),
}

fn mangle() -> impl Strategy<Value = Mangle> {
    let junk = prop_oneof![
        Just("=".to_owned()),
        Just("[[".to_owned()),
        Just("]]\n".to_owned()),
        Just("\"".to_owned()),
        Just("\n[[unit]]\nid = \"x\"\n".to_owned()),
        Just("\nregion = \"Z9\"\n".to_owned()),
        Just("\nlevel = \"planet\"\n".to_owned()),
        Just("\nparent = \"A\"\n".to_owned()),
        Just("\ntimezone = \"Mars/Olympus\"\n".to_owned()),
        Just(",,,\n".to_owned()),
        Just("\u{feff}".to_owned()),
        Just("99999999999999999999".to_owned()),
        ".{0,12}",
    ];
    prop_oneof![
        any::<prop::sample::Index>().prop_map(Mangle::Cut),
        any::<prop::sample::Index>().prop_map(Mangle::DropLine),
        (any::<prop::sample::Index>(), junk).prop_map(|(at, text)| Mangle::Splice(at, text)),
    ]
}

fn apply(text: &str, how: &Mangle) -> String {
    let boundaries: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .collect();
    match how {
        Mangle::Cut(at) => text[..*at.get(&boundaries)].to_owned(),
        Mangle::DropLine(at) => {
            let lines: Vec<&str> = text.lines().collect();
            if lines.is_empty() {
                return String::new();
            }
            let skip = at.index(lines.len());
            lines
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != skip)
                .map(|(_, l)| *l)
                .collect::<Vec<_>>()
                .join("\n")
        }
        Mangle::Splice(at, junk) => {
            let at = *at.get(&boundaries);
            format!("{}{junk}{}", &text[..at], &text[at..])
        }
    }
}

#[test]
fn a_mangled_city_never_panics_and_names_the_file() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/city");
    let originals: Vec<String> = FILES
        .iter()
        .map(|f| std::fs::read_to_string(demo.join(f)).unwrap())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let mut runner = TestRunner::new(Config {
        cases: 96,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&(0..FILES.len(), mangle()), |(file, how)| {
            for (name, text) in FILES.iter().zip(&originals) {
                std::fs::write(dir.path().join(name), text).unwrap();
            }
            let mangled = apply(&originals[file], &how);
            std::fs::write(dir.path().join(FILES[file]), &mangled).unwrap();
            if let Err(error) = minhu_config::load_city(dir.path()) {
                prop_assert!(error.file.starts_with(dir.path()), "{error}");
                prop_assert!(!error.problem.trim().is_empty(), "{error}");
                let named = error
                    .file
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                prop_assert!(FILES.contains(&named.as_str()), "{error}");
            }
            Ok(())
        })
        .unwrap();
}
