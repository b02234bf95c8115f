//! The import crate's integration tests, one test binary (three linked the same
//! crates three times): the layouts read from CSV and XLSX fixtures, XLSX round
//! trips, and properties that no input makes the reader panic.

mod layouts;
mod no_panic;
mod xlsx;
