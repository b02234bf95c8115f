//! Fuzz-style properties: arbitrary bytes as a CSV or XLSX file, and arbitrary
//! strings as dates, never panic; every row comes back as a row or an error.

use minhu_import::{Reader, parse_datetime};
use proptest::prelude::*;

const HEADERS: [&str; 3] = [
    "留言编号,留言用户,留言主题,留言时间,留言详情,反对数,点赞数,答复意见,答复时间\n",
    "河流,性质,信息 来源,标题,时间,投诉件内容,回复1,转处理次数\n",
    "unique_key,created_date,closed_date,complaint_type,descriptor,incident_address,borough,latitude,longitude\n",
];

/// Bytes biased towards CSV structure and the characters the parsers look at.
fn csvish() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        any::<u8>().prop_map(|b| vec![b]),
        Just(b",".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just("2019/2/28 11:25:05".as_bytes().to_vec()),
        Just("12/31/2016 12:00:03 PM".as_bytes().to_vec()),
        Just("下午".as_bytes().to_vec()),
        Just("留言".as_bytes().to_vec()),
        Just(b"-1.5e400".to_vec()),
        Just(b"4294967296".to_vec()),
        Just("\u{feff}".as_bytes().to_vec()),
    ];
    prop::collection::vec(piece, 0..120).prop_map(|pieces| pieces.concat())
}

fn read_everything(name: &str, bytes: &[u8]) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    match Reader::open(&path) {
        Ok(reader) => {
            let mut n = 0;
            for item in reader {
                match item {
                    Ok(row) => assert!(
                        !row.title.is_empty() || !row.description.is_empty(),
                        "a row without text was accepted"
                    ),
                    Err(e) => assert!(e.line >= 1 && !e.problem.is_empty()),
                }
                n += 1;
                assert!(
                    n <= bytes.len() + 1,
                    "more rows than bytes: the reader loops"
                );
            }
            n
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            0
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_as_csv(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        read_everything("fuzz.csv", &bytes);
    }

    #[test]
    fn arbitrary_rows_under_a_known_header(which in 0usize..3, body in csvish()) {
        let mut bytes = HEADERS[which].as_bytes().to_vec();
        bytes.extend_from_slice(&body);
        read_everything("fuzz.csv", &bytes);
    }

    #[test]
    fn arbitrary_bytes_as_xlsx(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        read_everything("fuzz.xlsx", &bytes);
    }

    #[test]
    fn parse_datetime_never_panics(s in "\\PC{0,40}") {
        let _ = parse_datetime(&s);
    }

    #[test]
    fn parse_datetime_round_trips(y in 1000i16..9999, mo in 1i8..=12, d in 1i8..=28, h in 0i8..24, mi in 0i8..60, s in 0i8..60) {
        let expected = jiff::civil::date(y, mo, d).at(h, mi, s, 0);
        prop_assert_eq!(parse_datetime(&format!("{y}/{mo}/{d} {h}:{mi:02}:{s:02}")), Some(expected));
        prop_assert_eq!(parse_datetime(&format!("{y}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.000")), Some(expected));
        let (h12, ampm) = match h { 0 => (12, "AM"), 1..=11 => (h, "AM"), 12 => (12, "PM"), _ => (h - 12, "PM") };
        prop_assert_eq!(parse_datetime(&format!("{mo:02}/{d:02}/{y} {h12:02}:{mi:02}:{s:02} {ampm}")), Some(expected));
    }
}

#[test]
fn a_truncated_real_xlsx_does_not_panic() {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.write_string(0, 0, "留言主题").unwrap();
    sheet.write_string(1, 0, "主题").unwrap();
    let bytes = workbook.save_to_buffer().unwrap();
    assert_eq!(read_everything("whole.xlsx", &bytes), 1);
    for cut in [10, bytes.len() / 3, bytes.len() / 2, bytes.len() - 10] {
        read_everything("cut.xlsx", &bytes[..cut]);
    }
    // Flip bytes in the middle of the archive.
    let mut flipped = bytes.clone();
    for b in flipped.iter_mut().skip(bytes.len() / 4).step_by(97) {
        *b ^= 0x5a;
    }
    read_everything("flipped.xlsx", &flipped);
}
