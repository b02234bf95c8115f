//! One cell of a data row, whatever the file format, and its conversion to the
//! typed values of an import row (text, date-time, whole number, decimal), with
//! a [`RowError`] naming the column when the conversion fails.

use jiff::civil::DateTime;

use crate::datetime::{from_excel_serial, parse_datetime};
use crate::error::RowError;
use crate::layout::Col;
use crate::text::{normalize, quote};

/// A cell as read: CSV fields are always `Text` (or `Bad` when not UTF-8);
/// spreadsheet cells keep their type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell<'a> {
    Empty,
    Text(&'a str),
    Int(i64),
    Number(f64),
    /// A spreadsheet cell formatted as a date, already converted.
    DateTime(DateTime),
    /// A cell that cannot be read: the problem, for a row error if it is used.
    Bad(String),
}

impl Cell<'_> {
    /// True for an empty cell or one holding only whitespace.
    pub(crate) fn is_blank(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }

    /// The cell as raw text (numbers as written, whole numbers without `.0`),
    /// or `None` when blank.
    fn raw(&self) -> Result<Option<String>, String> {
        Ok(match self {
            Cell::Empty => None,
            Cell::Text(s) => Some((*s).to_owned()),
            Cell::Int(i) => Some(i.to_string()),
            Cell::Number(f) => Some(number_text(*f)),
            Cell::DateTime(dt) => Some(dt.to_string()),
            Cell::Bad(problem) => return Err(problem.clone()),
        })
    }
}

fn number_text(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// Reads the typed fields of one row; every error names the row's line and
/// the column.
pub(crate) struct RowCells<'r, 'a> {
    pub line: u64,
    pub cells: &'r [Cell<'a>],
}

impl RowCells<'_, '_> {
    fn cell(&self, col: &Col) -> &Cell<'_> {
        self.cells.get(col.idx).unwrap_or(&Cell::Empty)
    }

    pub(crate) fn error(&self, col: &Col, problem: impl Into<String>) -> RowError {
        RowError::new(self.line, Some(&col.name), problem)
    }

    /// Normalised text; `None` when the column is missing or blank.
    pub(crate) fn text(
        &self,
        col: Option<&Col>,
        multiline: bool,
    ) -> Result<Option<String>, RowError> {
        let Some(col) = col else { return Ok(None) };
        let raw = self.cell(col).raw().map_err(|p| self.error(col, p))?;
        Ok(raw
            .map(|s| normalize(&s, multiline))
            .filter(|s| !s.is_empty()))
    }

    pub(crate) fn datetime(&self, col: Option<&Col>) -> Result<Option<DateTime>, RowError> {
        let Some(col) = col else { return Ok(None) };
        match self.cell(col) {
            Cell::Empty => Ok(None),
            Cell::DateTime(dt) => Ok(Some(*dt)),
            Cell::Text(s) if s.trim().is_empty() => Ok(None),
            Cell::Text(s) => parse_datetime(s).map(Some).ok_or_else(|| {
                self.error(col, format!("cannot parse {} as a date-time", quote(s)))
            }),
            // A date typed as a plain number: an Excel serial date.
            Cell::Number(f) => from_excel_serial(*f).map(Some).ok_or_else(|| {
                self.error(
                    col,
                    format!("cannot read the number {} as a date-time", number_text(*f)),
                )
            }),
            Cell::Int(i) => from_excel_serial(*i as f64).map(Some).ok_or_else(|| {
                self.error(col, format!("cannot read the number {i} as a date-time"))
            }),
            Cell::Bad(problem) => Err(self.error(col, problem.clone())),
        }
    }

    /// A non-negative whole number (`12`, `12.0` and a numeric cell 12 all work).
    pub(crate) fn count(&self, col: Option<&Col>) -> Result<Option<u32>, RowError> {
        let Some(col) = col else { return Ok(None) };
        let bad =
            |shown: String| self.error(col, format!("cannot parse {shown} as a whole number"));
        match self.cell(col) {
            Cell::Empty => Ok(None),
            Cell::Text(s) if s.trim().is_empty() => Ok(None),
            Cell::Text(s) => {
                let t = s.trim();
                if let Ok(n) = t.parse::<u32>() {
                    return Ok(Some(n));
                }
                t.parse::<f64>()
                    .ok()
                    .and_then(whole)
                    .map(Some)
                    .ok_or_else(|| bad(quote(s)))
            }
            Cell::Int(i) => u32::try_from(*i).map(Some).map_err(|_| bad(i.to_string())),
            Cell::Number(f) => whole(*f).map(Some).ok_or_else(|| bad(number_text(*f))),
            Cell::DateTime(dt) => Err(bad(format!("the date {dt}"))),
            Cell::Bad(problem) => Err(self.error(col, problem.clone())),
        }
    }

    /// A finite decimal number.
    pub(crate) fn decimal(&self, col: Option<&Col>) -> Result<Option<f64>, RowError> {
        let Some(col) = col else { return Ok(None) };
        let bad = |shown: String| self.error(col, format!("cannot parse {shown} as a number"));
        match self.cell(col) {
            Cell::Empty => Ok(None),
            Cell::Text(s) if s.trim().is_empty() => Ok(None),
            Cell::Text(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(Some)
                .ok_or_else(|| bad(quote(s))),
            Cell::Int(i) => Ok(Some(*i as f64)),
            Cell::Number(f) if f.is_finite() => Ok(Some(*f)),
            Cell::Number(f) => Err(bad(number_text(*f))),
            Cell::DateTime(dt) => Err(bad(format!("the date {dt}"))),
            Cell::Bad(problem) => Err(self.error(col, problem.clone())),
        }
    }
}

fn whole(f: f64) -> Option<u32> {
    (f.is_finite() && f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&f))
        .then_some(f as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col() -> Col {
        Col {
            idx: 0,
            name: "点赞数".to_owned(),
        }
    }

    #[test]
    fn counts() {
        let c = col();
        let ok = |cell: Cell<'_>| {
            RowCells {
                line: 3,
                cells: &[cell],
            }
            .count(Some(&c))
        };
        assert_eq!(ok(Cell::Text(" 12 ")), Ok(Some(12)));
        assert_eq!(ok(Cell::Text("12.0")), Ok(Some(12)));
        assert_eq!(ok(Cell::Number(7.0)), Ok(Some(7)));
        assert_eq!(ok(Cell::Int(7)), Ok(Some(7)));
        assert_eq!(ok(Cell::Text("")), Ok(None));
        let err = ok(Cell::Text("-1")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 3, column 点赞数: cannot parse '-1' as a whole number"
        );
        assert!(ok(Cell::Text("1.5")).is_err());
        assert!(ok(Cell::Text("many")).is_err());
        assert!(ok(Cell::Number(f64::NAN)).is_err());
        assert!(ok(Cell::Int(-3)).is_err());
    }

    #[test]
    fn decimals() {
        let c = col();
        let get = |cell: Cell<'_>| {
            RowCells {
                line: 3,
                cells: &[cell],
            }
            .decimal(Some(&c))
        };
        assert_eq!(
            get(Cell::Text("40.83065331987539")),
            Ok(Some(40.83065331987539))
        );
        assert!(get(Cell::Text("NaN")).is_err());
        assert!(get(Cell::Text("inf")).is_err());
        assert!(get(Cell::Text("north")).is_err());
    }

    #[test]
    fn number_cells_as_text() {
        assert_eq!(number_text(188006.0), "188006");
        assert_eq!(number_text(1.5), "1.5");
    }
}
