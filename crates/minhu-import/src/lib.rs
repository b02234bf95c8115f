//! Reading real citizen messages from CSV and spreadsheet files.
//!
//! `minhu import FILE` hands a path to [`Reader::open`], which opens a `.csv`
//! (or `.tsv`) file or the first sheet of an `.xlsx` workbook (`.xlsm`, `.xls`,
//! `.xlsb` and `.ods` work too), finds the header row and detects its
//! [`Layout`] from the column names:
//!
//! * [`Layout::TeddyCup`]: the 2020 Teddy Cup message-board files
//!   (`留言编号, 留言用户, 留言主题, 留言时间, 留言详情` plus `一级分类`, or
//!   `答复意见, 答复时间`, or `反对数, 点赞数`);
//! * [`Layout::Fuzhou`]: Fuzhou 12345 demands
//!   (`河流, 性质, 信息 来源, 标题, 时间, 投诉件内容, 回复1, 转处理次数`);
//! * [`Layout::Nyc311`]: New York City 311 service requests in the Socrata
//!   export columns, either spelt `Unique Key, Created Date, ...` or
//!   `unique_key, created_date, ...`, in any order.
//!
//! The [`Reader`] is then an iterator of `Result<ImportRow, RowError>`: one
//! item per data row, either an [`ImportRow`] (the fields the importer maps to a
//! ticket) or a [`RowError`] that names the line (CSV) or row (spreadsheet),
//! the column and the problem, so one bad row never stops an import.
//! Problems with the file as a whole (cannot open it, unknown extension,
//! unrecognised header, unreadable workbook) are an [`ImportError`] from
//! [`Reader::open`].
//!
//! Nothing here panics on bad input: malformed CSV, invalid UTF-8, odd dates and
//! numbers all end up as a [`RowError`] or an [`ImportError`].
//!
//! ```no_run
//! let reader = minhu_import::Reader::open(std::path::Path::new("requests.csv"))?;
//! println!("{} layout, about {:?} rows", reader.layout(), reader.total_rows_hint());
//! for item in reader {
//!     match item {
//!         Ok(row) => println!("line {}: {}", row.line, row.title),
//!         Err(e) => eprintln!("skipped: {e}"),
//!     }
//! }
//! # Ok::<(), minhu_import::ImportError>(())
//! ```

mod cell;
mod datetime;
mod error;
mod layout;
mod reader;
mod row;
mod text;

pub use datetime::parse_datetime;
pub use error::{ImportError, RowError};
pub use layout::Layout;
pub use reader::Reader;
pub use row::ImportRow;
