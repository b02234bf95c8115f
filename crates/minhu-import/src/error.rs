//! Errors: [`ImportError`] for a file that cannot be imported at all, and
//! [`RowError`] for one refused row (the import goes on with the next one).

use std::fmt;
use std::path::PathBuf;

use crate::layout::Layout;

/// A problem with the file as a whole, returned by [`crate::Reader::open`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The file could not be opened or read.
    // The cause is part of the message, and so not also exposed as `source()`, which
    // would make error chains print it twice.
    #[error("cannot open {}: {cause}", path.display())]
    Open {
        path: PathBuf,
        cause: std::io::Error,
    },
    /// The extension is not one of the supported formats.
    #[error(
        "cannot import {}: unsupported file type {} (expected .csv, .tsv, .xlsx, .xlsm, .xls, .xlsb or .ods)",
        path.display(),
        extension.as_deref().map(|e| format!("'.{e}'")).unwrap_or_else(|| "(no extension)".to_owned())
    )]
    UnknownFormat {
        path: PathBuf,
        extension: Option<String>,
    },
    /// The file (or the first sheet) holds no non-blank row at all.
    #[error("cannot import {}: the file is empty (no header row)", path.display())]
    Empty { path: PathBuf },
    /// The header row is not UTF-8 text (typically a GBK-encoded CSV).
    #[error(
        "cannot import {}: the header row is not UTF-8 text; save the file as UTF-8 CSV (Excel: \"CSV UTF-8\")",
        path.display()
    )]
    NotUtf8 { path: PathBuf },
    /// No layout matches the header row.
    #[error(
        "cannot import {}: unrecognised header; found columns [{}]; expected one of: {}",
        path.display(),
        list_columns(columns),
        Layout::expectations()
    )]
    UnknownLayout { path: PathBuf, columns: Vec<String> },
    /// The CSV reader failed while looking for the header.
    #[error("cannot read {}: {cause}", path.display())]
    Csv { path: PathBuf, cause: csv::Error },
    /// The workbook could not be read (corrupt, encrypted, not really a workbook...).
    #[error("cannot read workbook {}: {reason}", path.display())]
    Spreadsheet { path: PathBuf, reason: String },
    /// The workbook has no worksheet to read.
    #[error("cannot import {}: the workbook has no worksheet", path.display())]
    NoSheet { path: PathBuf },
}

fn list_columns(columns: &[String]) -> String {
    const MAX: usize = 60;
    let mut shown: Vec<String> = columns
        .iter()
        .take(MAX)
        .map(|c| {
            if c.is_empty() {
                "(blank)".to_owned()
            } else {
                crate::text::clip(c, 40)
            }
        })
        .collect();
    if columns.len() > MAX {
        shown.push(format!("... {} more", columns.len() - MAX));
    }
    shown.join(", ")
}

/// One refused row. `line` is the 1-based line where the CSV record starts, or
/// the 1-based sheet row number for a spreadsheet (the header is line 1 in the
/// usual file); `column` is the header name of the offending column, if one
/// column is to blame.
///
/// Displays as `line 12, column 留言时间: cannot parse '2019/13/45' as a date-time`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub column: Option<String>,
    pub problem: String,
}

impl RowError {
    pub(crate) fn new(line: u64, column: Option<&str>, problem: impl Into<String>) -> Self {
        RowError {
            line,
            column: column.map(str::to_owned),
            problem: problem.into(),
        }
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(column) => write!(f, "line {}, column {}: {}", self.line, column, self.problem),
            None => write!(f, "line {}: {}", self.line, self.problem),
        }
    }
}

impl std::error::Error for RowError {}
