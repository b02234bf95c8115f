//! `synonyms.csv`: optional other ways people write the urgency words of `city.toml`
//! (井盖缺失 as well as 井盖丢失). Each row is `word,synonyms`: a word of a tier's `words`
//! or of an `[[urgency.rule]]`, and its synonyms separated by `|`. A synonym then counts
//! wherever its word does, so the list grows without touching the weights.

use super::*;

/// Reads `synonyms.csv` when the city has one and adds each synonym next to its word
/// in the tiers and the weighted rules; a mistake names the line and the column.
pub(super) fn add_synonyms(
    files: Files,
    tiers: &mut [Tier],
    rules: &mut UrgencyRules,
) -> Result<(), ConfigError> {
    if !files.exists("synonyms.csv") {
        return Ok(());
    }
    let source = files.read("synonyms.csv")?;
    let error = |line: Option<usize>, problem: String| ConfigError {
        file: source.path.clone(),
        line,
        problem,
    };
    let (header, records) = source.csv()?;
    if header != ["word", "synonyms"] {
        return Err(error(
            Some(1),
            format!("the header must be word,synonyms, not {}", header.join(",")),
        ));
    }
    let words: Vec<&String> = tiers
        .iter()
        .flat_map(|t| &t.words)
        .chain(rules.rules.iter().flat_map(|r| &r.words))
        .collect();
    // Each word and synonym with the line it was first written on.
    let mut listed: HashMap<String, Option<usize>> = HashMap::new();
    let mut table: HashMap<String, Vec<String>> = HashMap::new();
    for (line, record) in records {
        let bad = |column: &str, problem: String| error(line, format!("{column}: {problem}"));
        let word = record.get(0).unwrap_or("").trim();
        if !words.iter().any(|w| w.as_str() == word) {
            return Err(bad(
                "word",
                format!(
                    "{word:?} is not one of the words of city.toml (a [[tier]]'s words or an [[urgency.rule]]'s)"
                ),
            ));
        }
        let synonyms: Vec<String> = record
            .get(1)
            .unwrap_or("")
            .split('|')
            .map(|s| s.trim().to_owned())
            .collect();
        if synonyms.iter().any(String::is_empty) {
            return Err(bad(
                "synonyms",
                "a synonym is empty (give at least one, separated by |)".into(),
            ));
        }
        for name in std::iter::once(word).chain(synonyms.iter().map(String::as_str)) {
            if name != word && words.iter().any(|w| w.as_str() == name) {
                return Err(bad(
                    "synonyms",
                    format!("{name} is already a word of city.toml"),
                ));
            }
            if let Some(first) = listed.insert(name.to_owned(), line) {
                let column = if name == word { "word" } else { "synonyms" };
                return Err(bad(
                    column,
                    format!(
                        "{name} is already listed{}",
                        first.map(|l| format!(" on line {l}")).unwrap_or_default()
                    ),
                ));
            }
        }
        table.insert(word.to_owned(), synonyms);
    }
    let widen = |words: &mut Vec<String>| {
        *words = words
            .iter()
            .flat_map(|w| std::iter::once(w).chain(table.get(w).into_iter().flatten()))
            .cloned()
            .collect();
    };
    tiers.iter_mut().for_each(|t| widen(&mut t.words));
    rules.rules.iter_mut().for_each(|r| widen(&mut r.words));
    Ok(())
}
