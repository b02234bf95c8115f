//! XLSX round trip: workbooks written with rust_xlsxwriter are read back, with
//! real date cells, dates typed as text, numeric ids and counts.

use jiff::civil::date;
use minhu_import::{ImportError, Layout, Reader};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

#[test]
fn teddycup_xlsx_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hotspots.xlsx");

    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    let date_format = Format::new().set_num_format("yyyy/m/d h:mm:ss");
    // A title row above the header, as portal exports often have.
    sheet.write_string(0, 0, "热点留言导出").unwrap();
    let header = [
        "留言编号",
        "留言用户",
        "留言主题",
        "留言时间",
        "留言详情",
        "反对数",
        "点赞数",
        "备注",
    ];
    for (col, name) in header.iter().enumerate() {
        sheet.write_string(1, col as u16, *name).unwrap();
    }
    // Row 3: a real date cell and numeric id/counts.
    sheet.write_number(2, 0, 188006).unwrap();
    sheet.write_string(2, 1, "A000102948").unwrap();
    sheet
        .write_string(2, 2, "A3区一米阳光婚纱艺术摄影是否合法纳税了？")
        .unwrap();
    let when = ExcelDateTime::from_ymd(2019, 2, 28)
        .unwrap()
        .and_hms(11, 25, 5)
        .unwrap();
    sheet
        .write_datetime_with_format(2, 3, &when, &date_format)
        .unwrap();
    sheet
        .write_string(
            2,
            4,
            "座落在A市A3区联丰路米兰春天G2栋320，\r\n请税务局和工商局查一下！",
        )
        .unwrap();
    sheet.write_number(2, 5, 0).unwrap();
    sheet.write_number(2, 6, 12).unwrap();
    sheet.write_string(2, 7, "ignored").unwrap();
    // Row 4: the date as text, counts as text.
    sheet.write_string(3, 0, "188007").unwrap();
    sheet
        .write_string(3, 2, "咨询A6区道路命名规划初步成果公示和城乡门牌问题")
        .unwrap();
    sheet.write_string(3, 3, "2019/2/14 20:00:00").unwrap();
    sheet
        .write_string(3, 4, "A市A6区道路命名规划已经初步成果公示文件。")
        .unwrap();
    sheet.write_string(3, 5, "1").unwrap();
    sheet.write_string(3, 6, "3").unwrap();
    // Row 5 blank (skipped); row 6: a bad text date; row 7: no text at all.
    sheet.write_string(5, 0, "188008").unwrap();
    sheet.write_string(5, 2, "主题").unwrap();
    sheet.write_string(5, 3, "2019/13/45").unwrap();
    sheet.write_string(6, 0, "188009").unwrap();
    sheet.write_number(6, 6, 1.5).unwrap();
    workbook.save(&path).unwrap();

    let reader = Reader::open(&path).unwrap();
    assert_eq!(reader.layout(), Layout::TeddyCup);
    assert_eq!(reader.columns().len(), 8);
    assert_eq!(reader.total_rows_hint(), Some(4));
    let rows: Vec<_> = reader.collect();
    assert_eq!(rows.len(), 4, "{rows:?}");

    let row = rows[0].as_ref().unwrap();
    assert_eq!(row.line, 3);
    assert_eq!(row.external_id.as_deref(), Some("188006"));
    assert_eq!(row.citizen_ref.as_deref(), Some("A000102948"));
    assert_eq!(row.created_at, Some(date(2019, 2, 28).at(11, 25, 5, 0)));
    assert_eq!(
        row.description,
        "座落在A市A3区联丰路米兰春天G2栋320，\n请税务局和工商局查一下！"
    );
    assert_eq!((row.likes, row.dislikes), (Some(12), Some(0)));

    let row = rows[1].as_ref().unwrap();
    assert_eq!(row.line, 4);
    assert_eq!(row.external_id.as_deref(), Some("188007"));
    assert_eq!(row.citizen_ref, None);
    assert_eq!(row.created_at, Some(date(2019, 2, 14).at(20, 0, 0, 0)));
    assert_eq!((row.likes, row.dislikes), (Some(3), Some(1)));

    let e = rows[2].as_ref().unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 6, column 留言时间: cannot parse '2019/13/45' as a date-time"
    );

    let e = rows[3].as_ref().unwrap_err();
    assert_eq!(e.line, 7);
    // Checks run in a fixed order: no text before the bad count.
    assert!(e.problem.contains("no message text"), "{e}");
}

#[test]
fn fuzhou_and_nyc_xlsx() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fuzhou.XLSX");
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    for (col, name) in [
        "河流",
        "性质",
        "信息 来源",
        "标题",
        "时间",
        "投诉件内容",
        "回复1",
        "转处理次数",
    ]
    .iter()
    .enumerate()
    {
        sheet.write_string(0, col as u16, *name).unwrap();
    }
    let date_only = Format::new().set_num_format("yyyy-mm-dd");
    sheet.write_string(1, 0, "浦上河").unwrap();
    sheet.write_string(1, 1, "投诉").unwrap();
    sheet.write_string(1, 2, "电话").unwrap();
    sheet.write_string(1, 3, "河水黑臭，望处理").unwrap();
    let day = ExcelDateTime::from_ymd(2016, 12, 31).unwrap();
    sheet
        .write_datetime_with_format(1, 4, &day, &date_only)
        .unwrap();
    sheet
        .write_string(1, 5, "河水黑臭，淤泥都堆积在河道里。")
        .unwrap();
    sheet.write_number(1, 7, 16).unwrap();
    // A date typed as a bare serial number.
    sheet.write_string(2, 3, "标题").unwrap();
    sheet.write_number(2, 4, 43524.5).unwrap();
    sheet.write_boolean(2, 7, true).unwrap();
    workbook.save(&path).unwrap();

    let rows: Vec<_> = Reader::open(&path).unwrap().collect();
    let row = rows[0].as_ref().unwrap();
    assert_eq!(row.created_at, Some(date(2016, 12, 31).at(0, 0, 0, 0)));
    assert_eq!(row.transfers, Some(16));
    assert_eq!(row.address.as_deref(), Some("浦上河"));
    let e = rows[1].as_ref().unwrap_err();
    assert_eq!((e.line, e.column.as_deref()), (3, Some("转处理次数")));

    let path = dir.path().join("nyc.xlsx");
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    for (col, name) in [
        "Unique Key",
        "Created Date",
        "Complaint Type",
        "Descriptor",
        "Latitude",
        "Longitude",
    ]
    .iter()
    .enumerate()
    {
        sheet.write_string(0, col as u16, *name).unwrap();
    }
    sheet.write_number(1, 0, 60879417).unwrap();
    sheet.write_string(1, 1, "2024-04-16T03:03:15.000").unwrap();
    sheet.write_string(1, 2, "Street Condition").unwrap();
    sheet.write_string(1, 3, "Pothole").unwrap();
    sheet.write_number(1, 4, 40.67679280229251).unwrap();
    sheet.write_number(1, 5, -73.7379342313789).unwrap();
    workbook.save(&path).unwrap();

    let reader = Reader::open(&path).unwrap();
    assert_eq!(reader.layout(), Layout::Nyc311);
    let rows: Vec<_> = reader.collect();
    let row = rows[0].as_ref().unwrap();
    assert_eq!(row.external_id.as_deref(), Some("60879417"));
    assert_eq!(row.created_at, Some(date(2024, 4, 16).at(3, 3, 15, 0)));
    assert_eq!(row.title, "Street Condition - Pothole");
    assert_eq!(row.latitude, Some(40.67679280229251));
    assert_eq!(row.longitude, Some(-73.7379342313789));
}

#[test]
fn xlsx_unknown_header_and_empty_sheet() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("taxonomy.xlsx");
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    for (col, name) in ["一级分类", "二级分类", "三级分类"].iter().enumerate() {
        sheet.write_string(0, col as u16, *name).unwrap();
    }
    workbook.save(&path).unwrap();
    let e = Reader::open(&path).unwrap_err();
    assert!(
        e.to_string()
            .contains("found columns [一级分类, 二级分类, 三级分类]"),
        "{e}"
    );

    let path = dir.path().join("empty.xlsx");
    let mut workbook = Workbook::new();
    workbook.add_worksheet();
    workbook.save(&path).unwrap();
    assert!(matches!(
        Reader::open(&path).unwrap_err(),
        ImportError::Empty { .. }
    ));
}
