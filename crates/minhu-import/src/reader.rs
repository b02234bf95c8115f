//! [`Reader`]: opens a CSV file or the first sheet of a workbook, finds the
//! header row, detects the [`Layout`] and yields one result per data row.
//!
//! The header is the first row, among the first ten rows,
//! whose columns match a layout, so a title line above the header (common in
//! spreadsheets exported from a portal) is skipped. Rows whose cells are all
//! blank (`,,,,` lines, trailing formatted rows in a sheet) are skipped without
//! an error; every other row gives an [`ImportRow`] or a [`RowError`].
//!
//! CSV is streamed record by record; a workbook sheet is loaded whole (that is
//! how calamine reads it). The CSV delimiter is `,` (`\t` for `.tsv`); fields
//! must be UTF-8 (a UTF-8 byte-order mark is fine).

use std::fmt;
use std::fs::File;
use std::io::BufReader;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use calamine::{Data, Range, Reader as _, open_workbook_auto};
use csv::ByteRecord;

use crate::cell::Cell;
use crate::datetime::from_excel;
use crate::error::{ImportError, RowError};
use crate::layout::{ColumnMap, Layout, detect};
use crate::row::{ImportRow, build};

/// How many rows from the top may be searched for the header.
const HEADER_SCAN: usize = 10;
/// CSV files up to this size are counted for [`Reader::total_rows_hint`].
const COUNT_LIMIT_BYTES: u64 = 1 << 30;

/// An opened import file; iterate it for the rows.
pub struct Reader {
    path: PathBuf,
    layout: Layout,
    columns: Vec<String>,
    map: ColumnMap,
    total: Option<u64>,
    source: Source,
}

enum Source {
    Csv(CsvSource),
    Sheet(SheetSource),
}

struct CsvSource {
    reader: csv::Reader<BufReader<File>>,
    record: ByteRecord,
    width: usize,
    last_line: u64,
    done: bool,
}

struct SheetSource {
    range: Range<Data>,
    /// Next row to read, relative to the range.
    next: usize,
    /// Sheet row number (1-based) of the range's first row.
    first_row: u64,
}

enum Format {
    Csv(u8),
    Sheet,
}

impl Reader {
    /// Opens `path`: `.csv` (comma) or `.tsv` (tab) as UTF-8 text, or the first
    /// sheet of an `.xlsx`, `.xlsm`, `.xls`, `.xlsb` or `.ods` workbook, and
    /// detects the layout from the header row.
    pub fn open(path: &Path) -> Result<Reader, ImportError> {
        let format = format_of(path)?;
        // Opening first gives the same "cannot open" error for every format.
        File::open(path).map_err(|cause| ImportError::Open {
            path: path.to_owned(),
            cause,
        })?;
        match format {
            Format::Csv(delimiter) => open_csv(path, delimiter),
            Format::Sheet => open_sheet(path),
        }
    }

    /// The layout detected from the header row.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The header row's column names, as written (trimmed, without a BOM).
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The path this reader was opened on.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// About how many data rows follow the header, for a progress bar: exact
    /// for a workbook (non-blank rows); for a CSV file up to 1 GiB the number
    /// of records, counted by a quick first pass at open; `None` for larger
    /// CSV files.
    pub fn total_rows_hint(&self) -> Option<u64> {
        self.total
    }
}

impl fmt::Debug for Reader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reader")
            .field("path", &self.path)
            .field("layout", &self.layout)
            .field("columns", &self.columns)
            .field("total_rows_hint", &self.total)
            .finish_non_exhaustive()
    }
}

fn format_of(path: &Path) -> Result<Format, ImportError> {
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    match extension.as_deref() {
        Some("csv") => Ok(Format::Csv(b',')),
        Some("tsv") => Ok(Format::Csv(b'\t')),
        Some("xlsx" | "xlsm" | "xls" | "xlsb" | "ods") => Ok(Format::Sheet),
        _ => Err(ImportError::UnknownFormat {
            path: path.to_owned(),
            extension,
        }),
    }
}

/// A header cell as a column name: trimmed, BOM removed.
fn header_name(s: &str) -> String {
    s.trim().trim_start_matches('\u{feff}').trim().to_owned()
}

fn csv_reader(path: &Path, delimiter: u8) -> Result<csv::Reader<BufReader<File>>, ImportError> {
    let file = File::open(path).map_err(|cause| ImportError::Open {
        path: path.to_owned(),
        cause,
    })?;
    Ok(csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(BufReader::new(file)))
}

/// What the header search found: the layout and columns, or what to report.
struct HeaderSearch {
    found: Option<(Layout, ColumnMap, Vec<String>)>,
    /// The first non-blank row, and whether it was valid UTF-8.
    first: Option<(Vec<String>, bool)>,
}

impl HeaderSearch {
    fn new() -> Self {
        HeaderSearch {
            found: None,
            first: None,
        }
    }

    /// Looks at one row; true when it is the header.
    fn offer(&mut self, columns: Vec<String>, utf8: bool) -> bool {
        if columns.iter().all(String::is_empty) {
            return false;
        }
        if utf8 && let Some((layout, map)) = detect(&columns) {
            self.found = Some((layout, map, columns));
            return true;
        }
        if self.first.is_none() {
            self.first = Some((columns, utf8));
        }
        false
    }

    fn finish(self, path: &Path) -> Result<(Layout, ColumnMap, Vec<String>), ImportError> {
        let path = path.to_owned();
        match (self.found, self.first) {
            (Some(found), _) => Ok(found),
            (None, None) => Err(ImportError::Empty { path }),
            (None, Some((_, false))) => Err(ImportError::NotUtf8 { path }),
            (None, Some((columns, true))) => Err(ImportError::UnknownLayout { path, columns }),
        }
    }
}

fn open_csv(path: &Path, delimiter: u8) -> Result<Reader, ImportError> {
    let mut reader = csv_reader(path, delimiter)?;
    let mut record = ByteRecord::new();
    let mut search = HeaderSearch::new();
    let mut consumed = 0u64;
    let mut last_line = 0u64;
    while consumed < HEADER_SCAN as u64 {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(cause) => {
                return Err(ImportError::Csv {
                    path: path.to_owned(),
                    cause,
                });
            }
        }
        consumed += 1;
        last_line = record.position().map_or(last_line + 1, |p| p.line());
        let utf8 = record.iter().all(|f| std::str::from_utf8(f).is_ok());
        let columns = record
            .iter()
            .map(|f| header_name(&String::from_utf8_lossy(f)))
            .collect();
        if search.offer(columns, utf8) {
            break;
        }
    }
    let (layout, map, columns) = search.finish(path)?;
    let total = count_csv_records(path, delimiter).map(|n| n.saturating_sub(consumed));
    Ok(Reader {
        path: path.to_owned(),
        layout,
        map,
        total,
        source: Source::Csv(CsvSource {
            reader,
            record,
            width: columns.len(),
            last_line,
            done: false,
        }),
        columns,
    })
}

fn count_csv_records(path: &Path, delimiter: u8) -> Option<u64> {
    if std::fs::metadata(path).ok()?.len() > COUNT_LIMIT_BYTES {
        return None;
    }
    let mut reader = csv_reader(path, delimiter).ok()?;
    let mut record = ByteRecord::new();
    let mut n = 0u64;
    while reader.read_byte_record(&mut record).ok()? {
        n += 1;
    }
    Some(n)
}

fn open_sheet(path: &Path) -> Result<Reader, ImportError> {
    // calamine should not panic, but a corrupt workbook must not take the
    // importer down with it if it ever does.
    let loaded = catch_unwind(AssertUnwindSafe(|| -> Result<Range<Data>, ImportError> {
        let spreadsheet = |e: calamine::Error| ImportError::Spreadsheet {
            path: path.to_owned(),
            reason: e.to_string(),
        };
        let mut workbook = open_workbook_auto(path).map_err(spreadsheet)?;
        match workbook.worksheet_range_at(0) {
            None => Err(ImportError::NoSheet {
                path: path.to_owned(),
            }),
            Some(range) => range.map_err(spreadsheet),
        }
    }));
    let range = match loaded {
        Ok(range) => range?,
        Err(_) => {
            return Err(ImportError::Spreadsheet {
                path: path.to_owned(),
                reason: "the workbook is malformed (the spreadsheet reader failed)".to_owned(),
            });
        }
    };
    let Some((start_row, _)) = range.start() else {
        return Err(ImportError::Empty {
            path: path.to_owned(),
        });
    };

    let mut search = HeaderSearch::new();
    let mut header_rel = None;
    for (rel, row) in range.rows().take(HEADER_SCAN).enumerate() {
        let columns = row
            .iter()
            .map(|d| match cell_of(d) {
                Cell::Text(s) => header_name(s),
                Cell::Int(i) => i.to_string(),
                Cell::Number(f) => f.to_string(),
                Cell::DateTime(dt) => dt.to_string(),
                Cell::Empty | Cell::Bad(_) => String::new(),
            })
            .collect();
        if search.offer(columns, true) {
            header_rel = Some(rel);
            break;
        }
    }
    let (layout, map, columns) = search.finish(path)?;
    let next = header_rel.map_or(0, |r| r + 1);
    let total = range
        .rows()
        .skip(next)
        .filter(|row| !row.iter().map(cell_of).all(|c| c.is_blank()))
        .count();
    Ok(Reader {
        path: path.to_owned(),
        layout,
        map,
        columns,
        total: Some(total as u64),
        source: Source::Sheet(SheetSource {
            range,
            next,
            first_row: u64::from(start_row) + 1,
        }),
    })
}

/// A spreadsheet cell as a [`Cell`].
fn cell_of(data: &Data) -> Cell<'_> {
    match data {
        Data::Empty => Cell::Empty,
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::Text(s),
        Data::Int(i) => Cell::Int(*i),
        Data::Float(f) => Cell::Number(*f),
        Data::Bool(b) => Cell::Text(if *b { "TRUE" } else { "FALSE" }),
        Data::DateTime(d) if d.is_datetime() => match from_excel(*d) {
            Some(dt) => Cell::DateTime(dt),
            None => Cell::Bad(format!(
                "the cell holds an invalid spreadsheet date (serial {})",
                d.as_f64()
            )),
        },
        Data::DateTime(d) => Cell::Number(d.as_f64()),
        Data::Error(e) => Cell::Bad(format!("the cell holds the spreadsheet error {e}")),
    }
}

impl Iterator for Reader {
    type Item = Result<ImportRow, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        let Reader {
            layout,
            map,
            source,
            ..
        } = self;
        match source {
            Source::Csv(src) => next_csv(*layout, map, src),
            Source::Sheet(src) => next_sheet(*layout, map, src),
        }
    }
}

fn next_csv(
    layout: Layout,
    map: &ColumnMap,
    src: &mut CsvSource,
) -> Option<Result<ImportRow, RowError>> {
    loop {
        if src.done {
            return None;
        }
        match src.reader.read_byte_record(&mut src.record) {
            Ok(true) => {}
            Ok(false) => {
                src.done = true;
                return None;
            }
            Err(e) => {
                // Only I/O can fail here (fields are bytes, records may vary
                // in length); stop rather than fail forever.
                src.done = true;
                let line = e.position().map_or(src.last_line + 1, |p| p.line());
                return Some(Err(RowError::new(
                    line,
                    None,
                    format!("cannot read the file: {e}"),
                )));
            }
        }
        let line = src
            .record
            .position()
            .map_or(src.last_line + 1, |p| p.line());
        src.last_line = line;
        let cells: Vec<Cell<'_>> = src
            .record
            .iter()
            .map(|field| match std::str::from_utf8(field) {
                Ok(s) => Cell::Text(s),
                Err(_) => Cell::Bad("not valid UTF-8 text (save the file as UTF-8 CSV)".to_owned()),
            })
            .collect();
        if cells.iter().all(Cell::is_blank) {
            continue;
        }
        if cells.len() != src.width {
            return Some(Err(RowError::new(
                line,
                None,
                format!(
                    "malformed record: {} fields where the header has {}",
                    cells.len(),
                    src.width
                ),
            )));
        }
        return Some(build(layout, map, line, &cells));
    }
}

fn next_sheet(
    layout: Layout,
    map: &ColumnMap,
    src: &mut SheetSource,
) -> Option<Result<ImportRow, RowError>> {
    loop {
        let rel = src.next;
        let row = src.range.rows().nth(rel)?;
        src.next += 1;
        let cells: Vec<Cell<'_>> = row.iter().map(cell_of).collect();
        if cells.iter().all(Cell::is_blank) {
            continue;
        }
        return Some(build(layout, map, src.first_row + rel as u64, &cells));
    }
}
