//! The knowledge base as files: CSV (one article a row) and Markdown (one article a
//! block: front matter between `---` lines, then the body). Export writes what import
//! reads, so a round trip changes nothing; articles are keyed by `id`, so importing a
//! file again updates in place and never duplicates.
//!
//! CSV header: `id,title,body,category,valid_from,valid_until,owner_unit,tags,status`
//! (tags separated by `;`; empty cells mean "none"; only id, title and body required,
//! and any column but those may be left out).
//!
//! Markdown:
//!
//! ```text
//! ---
//! id: kb-gjj-001
//! title: 住房公积金提取需要哪些材料
//! category: 城乡建设/住房保障与房地产
//! valid_from: 2026-01-01
//! tags: 公积金; 提取
//! ---
//! 本人身份证、银行卡……
//! ```
//!
//! A body line that is exactly `---` is written as `\---` (and read back), so it cannot
//! end the article.

use crate::ArticleDraft;
use jiff::civil::Date;
use minhu_store::Article;
use std::fmt;
use std::path::Path;

/// The columns of a CSV file, in the order export writes them.
pub const COLUMNS: [&str; 9] = [
    "id",
    "title",
    "body",
    "category",
    "valid_from",
    "valid_until",
    "owner_unit",
    "tags",
    "status",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Markdown,
}

impl Format {
    /// The format a file name says (`.csv`, `.md`, `.markdown`).
    pub fn of(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "md" | "markdown" => Some(Format::Markdown),
            _ => None,
        }
    }
}

/// A problem with one article of a file: where it is, which field, what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    /// The line the article starts on (1 is the first line; in a CSV file 1 is the
    /// header, so the first article is row 2).
    pub row: u64,
    pub field: String,
    pub problem: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "row {}, field {}: {}",
            self.row, self.field, self.problem
        )
    }
}

/// One article as read from a file, with the line it starts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub row: u64,
    pub draft: ArticleDraft,
}

#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0}: {1}")]
    Csv(String, csv::Error),
    #[error("{path}: the CSV header lacks the column {column:?} (columns: {})", COLUMNS.join(","))]
    MissingColumn { path: String, column: &'static str },
    #[error("{path}: unknown column {column:?} (columns: {})", COLUMNS.join(","))]
    UnknownColumn { path: String, column: String },
    #[error("{0}: name the file .csv or .md")]
    Format(String),
}

/// Reads every article of `path`: the drafts that parse, and a [`RowError`] for each
/// row that does not (a file error stops the reading).
pub fn read(path: &Path) -> Result<(Vec<Row>, Vec<RowError>), FilesError> {
    let shown = path.display().to_string();
    let format = Format::of(path).ok_or_else(|| FilesError::Format(shown.clone()))?;
    let text = std::fs::read_to_string(path).map_err(|e| FilesError::Io(shown.clone(), e))?;
    parse(&text, format, &shown)
}

/// Like [`read`], from text already read (`shown` names it in errors).
pub fn parse(
    text: &str,
    format: Format,
    shown: &str,
) -> Result<(Vec<Row>, Vec<RowError>), FilesError> {
    match format {
        Format::Csv => read_csv(text, shown),
        Format::Markdown => Ok(read_markdown(text)),
    }
}

/// Writes `articles` to `path` in the format its name says.
pub fn write(path: &Path, articles: &[Article]) -> Result<(), FilesError> {
    let shown = path.display().to_string();
    let format = Format::of(path).ok_or_else(|| FilesError::Format(shown.clone()))?;
    let text = match format {
        Format::Csv => to_csv(articles).map_err(|e| FilesError::Csv(shown.clone(), e))?,
        Format::Markdown => to_markdown(articles),
    };
    std::fs::write(path, text).map_err(|e| FilesError::Io(shown, e))
}

fn read_csv(text: &str, shown: &str) -> Result<(Vec<Row>, Vec<RowError>), FilesError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| FilesError::Csv(shown.to_owned(), e))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    if let Some(unknown) = header.iter().find(|h| !COLUMNS.contains(&h.as_str())) {
        return Err(FilesError::UnknownColumn {
            path: shown.to_owned(),
            column: unknown.clone(),
        });
    }
    for required in ["id", "title", "body"] {
        if !header.iter().any(|h| h == required) {
            return Err(FilesError::MissingColumn {
                path: shown.to_owned(),
                column: required,
            });
        }
    }
    let (mut rows, mut errors) = (Vec::new(), Vec::new());
    for record in reader.records() {
        let record = record.map_err(|e| FilesError::Csv(shown.to_owned(), e))?;
        let row = record.position().map_or(0, |p| p.line());
        let cells = header
            .iter()
            .map(String::as_str)
            .zip(record.iter().map(str::to_owned));
        match draft_of(cells) {
            Ok(draft) => rows.push(Row { row, draft }),
            Err((field, problem)) => errors.push(RowError {
                row,
                field,
                problem,
            }),
        }
    }
    Ok((rows, errors))
}

/// A draft from (field, value) pairs; the error names the field.
fn draft_of<'a>(
    fields: impl Iterator<Item = (&'a str, String)>,
) -> Result<ArticleDraft, (String, String)> {
    let mut draft = ArticleDraft::default();
    let date = |field: &str, value: &str| -> Result<Option<Date>, (String, String)> {
        if value.is_empty() {
            return Ok(None);
        }
        value.parse().map(Some).map_err(|_| {
            (
                field.to_owned(),
                format!("{value:?} is not a date like 2026-01-31"),
            )
        })
    };
    let text = |value: &str| (!value.is_empty()).then(|| value.to_owned());
    for (field, value) in fields {
        let trimmed = value.trim();
        match field {
            "id" => draft.id = trimmed.to_owned(),
            "title" => draft.title = trimmed.to_owned(),
            "body" => draft.body = value.trim_matches('\n').to_owned(),
            "category" => draft.category = text(trimmed),
            "valid_from" => draft.valid_from = date(field, trimmed)?,
            "valid_until" => draft.valid_until = date(field, trimmed)?,
            "owner_unit" => draft.owner_unit = text(trimmed),
            "tags" => {
                draft.tags = trimmed
                    .split([';', '；'])
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect()
            }
            "status" => draft.status = text(trimmed),
            other => return Err((other.to_owned(), "is not a field of an article".into())),
        }
    }
    Ok(draft)
}

fn read_markdown(text: &str) -> (Vec<Row>, Vec<RowError>) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.lines().collect();
    let (mut rows, mut errors) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_end() != "---" {
            if !lines[i].trim().is_empty() {
                errors.push(RowError {
                    row: i as u64 + 1,
                    field: "---".into(),
                    problem: "an article starts with a line `---` and its front matter".into(),
                });
                // Skip to the next article.
                while i < lines.len() && lines[i].trim_end() != "---" {
                    i += 1;
                }
                continue;
            }
            i += 1;
            continue;
        }
        let row = i as u64 + 1;
        i += 1;
        let mut fields: Vec<(&str, String)> = Vec::new();
        let mut problem = None;
        while i < lines.len() && lines[i].trim_end() != "---" {
            let line = lines[i];
            i += 1;
            if line.trim().is_empty() {
                continue;
            }
            match line.split_once(':') {
                Some((key, value)) => {
                    let key = COLUMNS.iter().find(|c| **c == key.trim()).copied();
                    match key {
                        Some(key) if key != "body" => fields.push((key, value.trim().to_owned())),
                        _ => {
                            problem.get_or_insert((
                                line.split(':').next().unwrap_or("").trim().to_owned(),
                                "is not a front-matter field (id, title, category, valid_from, \
                                 valid_until, owner_unit, tags, status)"
                                    .to_owned(),
                            ));
                        }
                    }
                }
                None => {
                    problem.get_or_insert((
                        "front matter".to_owned(),
                        format!("line {} is not `field: value`", i),
                    ));
                }
            }
        }
        if i >= lines.len() {
            errors.push(RowError {
                row,
                field: "---".into(),
                problem: "the front matter is not closed by a line `---`".into(),
            });
            break;
        }
        i += 1;
        let mut body = Vec::new();
        while i < lines.len() && lines[i].trim_end() != "---" {
            body.push(if lines[i].trim_end() == "\\---" {
                "---"
            } else {
                lines[i]
            });
            i += 1;
        }
        fields.push(("body", body.join("\n").trim().to_owned()));
        let parsed = match problem {
            Some(p) => Err(p),
            None => draft_of(fields.into_iter()),
        };
        match parsed {
            Ok(draft) => rows.push(Row { row, draft }),
            Err((field, problem)) => errors.push(RowError {
                row,
                field,
                problem,
            }),
        }
    }
    (rows, errors)
}

fn cells(article: &Article) -> [String; 9] {
    let draft = ArticleDraft::of(article);
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let date = |d: Option<Date>| d.map(|d| d.to_string()).unwrap_or_default();
    [
        draft.id,
        draft.title,
        draft.body,
        opt(&draft.category),
        date(draft.valid_from),
        date(draft.valid_until),
        opt(&draft.owner_unit),
        draft.tags.join("; "),
        opt(&draft.status),
    ]
}

/// The articles as CSV, header first.
pub fn to_csv(articles: &[Article]) -> Result<String, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(COLUMNS)?;
    for article in articles {
        writer.write_record(cells(article))?;
    }
    let bytes = writer.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8(bytes).expect("CSV of UTF-8 strings is UTF-8"))
}

/// The articles as Markdown blocks.
pub fn to_markdown(articles: &[Article]) -> String {
    let mut out = String::new();
    for article in articles {
        let cells = cells(article);
        out.push_str("---\n");
        for (column, value) in COLUMNS.iter().zip(&cells) {
            if *column != "body" && !value.is_empty() {
                out.push_str(&format!("{column}: {}\n", value.replace('\n', " ")));
            }
        }
        out.push_str("---\n");
        for line in cells[2].lines() {
            out.push_str(if line.trim_end() == "---" {
                "\\---"
            } else {
                line
            });
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use minhu_store::ArticleStatus;

    fn articles() -> Vec<Article> {
        vec![
            Article {
                category: Some("城乡建设/住房保障与房地产".into()),
                valid_from: Some("2026-01-01".parse().unwrap()),
                valid_to: Some("2026-12-31".parse().unwrap()),
                owner_unit: Some("dept-A-housing".into()),
                tags: vec!["公积金".into(), "提取".into()],
                ..Article::new(
                    "kb-1",
                    "公积金提取",
                    "第一段，含逗号\n---\n第二段 \"引号\"",
                    jiff::Timestamp::UNIX_EPOCH,
                )
            },
            Article {
                status: ArticleStatus::Retired,
                ..Article::new("kb-2", "路灯", "拨打12345。", jiff::Timestamp::UNIX_EPOCH)
            },
        ]
    }

    fn drafts(rows: Vec<Row>) -> Vec<ArticleDraft> {
        rows.into_iter().map(|r| r.draft).collect()
    }

    #[test]
    fn both_formats_read_back_what_they_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let expected: Vec<ArticleDraft> = articles().iter().map(ArticleDraft::of).collect();
        for name in ["kb.csv", "kb.md"] {
            let path = dir.path().join(name);
            write(&path, &articles()).unwrap();
            let (rows, errors) = read(&path).unwrap();
            assert!(errors.is_empty(), "{name}: {errors:?}");
            assert_eq!(drafts(rows), expected, "{name}");
        }
    }

    #[test]
    fn bad_rows_name_their_row_and_field() {
        let csv = "id,title,body,valid_from\nkb-1,t,b,2026-02-30\nkb-2,t,b,\n";
        let (rows, errors) = read_csv(csv, "kb.csv").unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].row, 3);
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].to_string().split(':').next().unwrap(),
            "row 2, field valid_from"
        );
        let missing = read_csv("id,title\nkb-1,t\n", "kb.csv").unwrap_err();
        assert!(missing.to_string().contains("\"body\""), "{missing}");
        let unknown = read_csv("id,title,body,colour\n", "kb.csv").unwrap_err();
        assert!(unknown.to_string().contains("colour"), "{unknown}");

        let md = "---\nid: kb-1\ntitle: t\nvalid_until: soon\n---\nbody\n---\nid: kb-2\ncolour: red\n---\nb\n";
        let (rows, errors) = read_markdown(md);
        assert!(rows.is_empty());
        assert_eq!(errors[0].row, 1);
        assert_eq!(errors[0].field, "valid_until");
        assert_eq!(errors[1].row, 7);
        assert_eq!(errors[1].field, "colour");
        let (_, errors) = read_markdown("---\nid: kb-1\n");
        assert_eq!(errors[0].field, "---");
    }
}
