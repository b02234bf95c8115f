//! Reading citizen messages from CSV and XLSX files (placeholder, being written).
