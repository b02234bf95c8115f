//! Reading small fixtures of each layout (rows cut from the real files) from
//! CSV and XLSX, and the errors for bad rows and bad files.

use std::path::{Path, PathBuf};

use jiff::civil::date;
use minhu_import::{ImportError, ImportRow, Layout, Reader, RowError};

fn write(dir: &tempfile::TempDir, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, content).unwrap();
    path
}

fn read_all(path: &Path) -> (Reader, Vec<Result<ImportRow, RowError>>) {
    let reader = Reader::open(path).unwrap();
    let mut again = Reader::open(path).unwrap();
    let rows: Vec<_> = again.by_ref().collect();
    assert_eq!(again.next(), None, "a finished reader stays finished");
    (reader, rows)
}

fn ok(item: &Result<ImportRow, RowError>) -> &ImportRow {
    match item {
        Ok(row) => row,
        Err(e) => panic!("unexpected row error: {e}"),
    }
}

fn err(item: &Result<ImportRow, RowError>) -> &RowError {
    match item {
        Ok(row) => panic!("row at line {} should have been refused", row.line),
        Err(e) => e,
    }
}

const VALIDATION: &str = "留言编号,留言用户,留言主题,留言时间,留言详情,一级分类
37,A000107866,A市在水一方大厦人为烂尾多年，安全隐患严重,2020/1/4 11:17:46,位于书院路主干道的在水一方大厦一楼至四楼人为拆除水、电等设施后，烂尾多年，用护栏围着，不但占用人行道路。\t请求有关部门牵头处理。,城乡建设
3742,A00013884,\"A3区杜鹃文苑小区外的非法汽车检测站要开业了！\",2018/12/26 10:13:37,\"A市政府、市交警支队：\r\n\r\n\r\n  我们是A市A3区杜鹃文苑小区的业主。  \",城乡建设
";

#[test]
fn teddycup_validation_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "validation.csv", VALIDATION);
    let (reader, rows) = read_all(&path);
    assert_eq!(reader.layout(), Layout::TeddyCup);
    assert_eq!(reader.columns()[0], "留言编号");
    assert_eq!(reader.total_rows_hint(), Some(2));
    assert_eq!(rows.len(), 2);

    let first = ok(&rows[0]);
    assert_eq!(first.line, 2);
    assert_eq!(first.external_id.as_deref(), Some("37"));
    assert_eq!(first.citizen_ref.as_deref(), Some("A000107866"));
    assert_eq!(first.title, "A市在水一方大厦人为烂尾多年，安全隐患严重");
    assert_eq!(
        first.description,
        "位于书院路主干道的在水一方大厦一楼至四楼人为拆除水、电等设施后，烂尾多年，用护栏围着，不但占用人行道路。 请求有关部门牵头处理。"
    );
    assert_eq!(first.created_at, Some(date(2020, 1, 4).at(11, 17, 46, 0)));
    assert_eq!(first.category.as_deref(), Some("城乡建设"));
    assert_eq!(first.address, None);
    assert_eq!(first.reply, None);
    assert_eq!(first.likes, None);

    let second = ok(&rows[1]);
    assert_eq!(second.line, 3);
    assert_eq!(
        second.created_at,
        Some(date(2018, 12, 26).at(10, 13, 37, 0))
    );
    assert_eq!(
        second.description,
        "A市政府、市交警支队：\n\n我们是A市A3区杜鹃文苑小区的业主。"
    );
}

#[test]
fn lower_category_levels_join_the_path_as_far_as_given() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "sample.csv",
        "留言主题,留言详情,一级分类,二级分类,三级分类\n\
         电梯坏了,物业不修,城乡建设,住房保障与房地产,物业服务\n\
         拖欠工资,三个月没发,劳动和社会保障,工资福利,\n\
         路灯,不亮,城乡建设,,物业服务\n",
    );
    let (_, rows) = read_all(&path);
    let paths: Vec<Option<&str>> = rows.iter().map(|r| ok(r).category.as_deref()).collect();
    assert_eq!(
        paths,
        [
            Some("城乡建设/住房保障与房地产/物业服务"),
            Some("劳动和社会保障/工资福利"),
            // A blank level ends the path: what lies below it has no parent.
            Some("城乡建设"),
        ]
    );
}

#[test]
fn teddycup_train_rows_have_only_a_description() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "train.csv",
        "留言编号,留言用户,留言主题,留言时间,留言详情,一级分类\n\
         T00001,,,,A1 区 蔡锷 南路 A2 区华庭 楼顶 水箱 长年 不洗,城乡建设\n\
         T00002,,,,A1 区 A2 区华庭 自来水 好大 一股 霉味,城乡建设\n",
    );
    let (reader, rows) = read_all(&path);
    assert_eq!(reader.layout(), Layout::TeddyCup);
    let row = ok(&rows[0]);
    assert_eq!(row.external_id.as_deref(), Some("T00001"));
    assert_eq!(row.citizen_ref, None);
    assert_eq!(row.title, "");
    assert_eq!(
        row.description,
        "A1 区 蔡锷 南路 A2 区华庭 楼顶 水箱 长年 不洗"
    );
    assert_eq!(row.created_at, None);
    assert_eq!(ok(&rows[1]).line, 3);
}

#[test]
fn teddycup_replies_and_hotspots() {
    let dir = tempfile::tempdir().unwrap();
    let replies = write(
        &dir,
        "replies.csv",
        "留言编号,留言用户,留言主题,留言时间,留言详情,答复意见,答复时间\n\
         2554,A00023583,A3区潇楚南路洋湖段怎么还没修好？,2019/4/24 16:03:40,潇楚南路从2018年开始修，到现在都快一年了。,\"网友“A00023583”：您好！\r\n\t\t现回复如下：预计今年8月底将完工通车。\",2019/5/9 9:49:10\n",
    );
    let (reader, rows) = read_all(&replies);
    assert_eq!(reader.layout(), Layout::TeddyCup);
    let row = ok(&rows[0]);
    assert_eq!(
        row.reply.as_deref(),
        Some("网友“A00023583”：您好！\n现回复如下：预计今年8月底将完工通车。")
    );
    assert_eq!(row.replied_at, Some(date(2019, 5, 9).at(9, 49, 10, 0)));

    let hotspots = write(
        &dir,
        "hotspots.csv",
        "留言编号,留言用户,留言主题,留言时间,留言详情,反对数,点赞数\n\
         188006,A000102948,A3区一米阳光婚纱艺术摄影是否合法纳税了？,2019/2/28 11:25:05,请税务局和工商局查一下。,0,12\n\
         188007,A00074795,咨询A6区道路命名规划,2019-02-14 20:00:00,A市A6区道路命名规划已经初步成果公示。,2,1\n\
         188008,A00074796,咨询,2019/2/14 20:00:00,内容,0,很多\n",
    );
    let (_, rows) = read_all(&hotspots);
    let row = ok(&rows[0]);
    assert_eq!((row.likes, row.dislikes), (Some(12), Some(0)));
    let row = ok(&rows[1]);
    assert_eq!((row.likes, row.dislikes), (Some(1), Some(2)));
    assert_eq!(row.created_at, Some(date(2019, 2, 14).at(20, 0, 0, 0)));
    let e = err(&rows[2]);
    assert_eq!(e.line, 4);
    assert_eq!(e.column.as_deref(), Some("点赞数"));
    assert_eq!(
        e.to_string(),
        "line 4, column 点赞数: cannot parse '很多' as a whole number"
    );
}

#[test]
fn fuzhou_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "requests.csv",
        "河流,性质,信息 来源,标题,时间,投诉件内容,回复1,转处理次数\n\
         梅峰河,投诉,网站,关于梅峰河内河治理情况投诉,2020-09-03 00:00:00,本人每天路过的梅峰河，  反而更臭了。,您好，您的诉求已收悉。,1\n\
         浦上河,投诉,电话,河水黑臭，望处理,12/31/2016,仓山区建新镇高宅路与百花洲路交接处的浦上河，河水黑臭。,,16\n\
         浦上河,举报,微信,标题,2016-01-01 00:00:00,内容,,两次\n",
    );
    let (reader, rows) = read_all(&path);
    assert_eq!(reader.layout(), Layout::Fuzhou);
    let row = ok(&rows[0]);
    assert_eq!(row.external_id, None);
    assert_eq!(row.citizen_ref, None);
    assert_eq!(row.address.as_deref(), Some("梅峰河"));
    assert_eq!(row.kind.as_deref(), Some("投诉"));
    assert_eq!(row.channel.as_deref(), Some("网站"));
    assert_eq!(row.title, "关于梅峰河内河治理情况投诉");
    assert_eq!(row.description, "本人每天路过的梅峰河， 反而更臭了。");
    assert_eq!(row.created_at, Some(date(2020, 9, 3).at(0, 0, 0, 0)));
    assert_eq!(row.reply.as_deref(), Some("您好，您的诉求已收悉。"));
    assert_eq!(row.transfers, Some(1));

    let row = ok(&rows[1]);
    assert_eq!(row.channel.as_deref(), Some("电话"));
    assert_eq!(row.created_at, Some(date(2016, 12, 31).at(0, 0, 0, 0)));
    assert_eq!(row.reply, None);
    assert_eq!(row.transfers, Some(16));

    let e = err(&rows[2]);
    assert_eq!((e.line, e.column.as_deref()), (4, Some("转处理次数")));
}

#[test]
fn nyc_title_case_export() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "nyc.csv",
        "Unique Key,Created Date,Closed Date,Agency,Complaint Type,Descriptor,Incident Address,Intersection Street 1,Intersection Street 2,Resolution Description,Borough,Open Data Channel Type,Latitude,Longitude,Location\n\
         54046813,05/01/2022 12:00:09 AM,05/01/2022 12:07:46 PM,NYPD,Noise - Street/Sidewalk,Loud Music/Party,1006 GERARD AVENUE,,,The Police Department responded.,BRONX,ONLINE,40.83065331987539,-73.92308231033165,\"(40.83065331987539, -73.92308231033165)\"\n\
         45633481,02/17/2020 12:19:00 PM,,DOHMH,Illegal Animal Kept as Pet,Rooster,,BEND,39 AVENUE,,Unspecified,PHONE,,,\n\
         45633482,02/17/2020 12:19:00 PM,,DOHMH,Illegal Animal Kept as Pet,Rooster,,,,,QUEENS,PHONE,140.5,-73.7,\n",
    );
    let (reader, rows) = read_all(&path);
    assert_eq!(reader.layout(), Layout::Nyc311);
    let row = ok(&rows[0]);
    assert_eq!(row.external_id.as_deref(), Some("54046813"));
    assert_eq!(row.title, "Noise - Street/Sidewalk - Loud Music/Party");
    assert_eq!(
        row.description,
        "Loud Music/Party at 1006 GERARD AVENUE, BRONX"
    );
    assert_eq!(row.address.as_deref(), Some("1006 GERARD AVENUE, BRONX"));
    assert_eq!(row.created_at, Some(date(2022, 5, 1).at(0, 0, 9, 0)));
    assert_eq!(row.replied_at, Some(date(2022, 5, 1).at(12, 7, 46, 0)));
    assert_eq!(
        row.reply.as_deref(),
        Some("The Police Department responded.")
    );
    assert_eq!(row.channel.as_deref(), Some("ONLINE"));
    assert_eq!(row.latitude, Some(40.83065331987539));
    assert_eq!(row.longitude, Some(-73.92308231033165));

    let row = ok(&rows[1]);
    assert_eq!(row.address.as_deref(), Some("BEND & 39 AVENUE"));
    assert_eq!(row.description, "Rooster at BEND & 39 AVENUE");
    assert_eq!(row.created_at, Some(date(2020, 2, 17).at(12, 19, 0, 0)));
    assert_eq!(
        (row.replied_at, row.latitude, row.longitude),
        (None, None, None)
    );

    let e = err(&rows[2]);
    assert_eq!((e.line, e.column.as_deref()), (4, Some("Latitude")));
}

#[test]
fn nyc_socrata_api_export() {
    let dir = tempfile::tempdir().unwrap();
    // Quoted fields, ISO dates, a line break inside the last field, and the
    // columns in another order than the Title Case export.
    let path = write(
        &dir,
        "nyc_api.csv",
        "\"unique_key\",\"created_date\",\"closed_date\",\"agency\",\"complaint_type\",\"descriptor\",\"resolution_description\",\"borough\",\"open_data_channel_type\",\"latitude\",\"longitude\",\"location\"\n\
         \"60879417\",\"2024-04-16T03:03:15.000\",,\"DOT\",\"Street Condition\",\"Pothole\",\"The Department of Transportation referred this complaint.\",\"QUEENS\",\"UNKNOWN\",\"40.67679280229251\",\"-73.7379342313789\",\"\n,  \n(40.67679280229251, -73.7379342313789)\"\n\
         \"60879418\",\"2024-04-15T10:01:02.000\",\"2024-04-15T11:00:00.000\",\"DOT\",\"\",\"\",,\"QUEENS\",\"UNKNOWN\",,,\n\
         \"60879419\",\"2024-04-15T10:01:02\",,\"DOT\",\"Street Condition\",,,,,,,\n",
    );
    let (reader, rows) = read_all(&path);
    assert_eq!(reader.layout(), Layout::Nyc311);
    assert_eq!(rows.len(), 3);
    let row = ok(&rows[0]);
    assert_eq!(row.line, 2);
    assert_eq!(row.created_at, Some(date(2024, 4, 16).at(3, 3, 15, 0)));
    assert_eq!(row.replied_at, None);
    assert_eq!(row.title, "Street Condition - Pothole");
    assert_eq!(row.description, "Pothole at QUEENS");
    assert_eq!(row.latitude, Some(40.67679280229251));

    // The quoted line break makes the record span lines 2-4.
    let e = err(&rows[1]);
    assert_eq!(e.line, 5);
    assert_eq!(e.column, None);
    assert!(e.problem.contains("complaint_type and descriptor"), "{e}");

    let row = ok(&rows[2]);
    assert_eq!(row.line, 6);
    assert_eq!(row.title, "Street Condition");
    assert_eq!(row.description, "Street Condition");
    assert_eq!(row.address, None);
}

#[test]
fn bad_date_names_line_and_column_and_reading_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "bad.csv",
        "留言编号,留言用户,留言主题,留言时间,留言详情\n\
         1,U1,主题一,2019/2/28 11:25:05,详情一\n\
         2,U2,主题二,2019/13/45,详情二\n\
         3,U3,主题三,,详情三\n",
    );
    let (_, rows) = read_all(&path);
    assert_eq!(rows.len(), 3);
    ok(&rows[0]);
    let e = err(&rows[1]);
    assert_eq!(
        e,
        &RowError {
            line: 3,
            column: Some("留言时间".to_owned()),
            problem: "cannot parse '2019/13/45' as a date-time".to_owned(),
        }
    );
    assert_eq!(
        e.to_string(),
        "line 3, column 留言时间: cannot parse '2019/13/45' as a date-time"
    );
    assert_eq!(ok(&rows[2]).created_at, None);
}

#[test]
fn bad_reply_date_is_refused_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "replies.csv",
        "留言编号,留言主题,留言详情,答复意见,答复时间\n1,主题,详情,已办理,下周\n",
    );
    let (_, rows) = read_all(&path);
    let e = err(&rows[0]);
    assert_eq!((e.line, e.column.as_deref()), (2, Some("答复时间")));
}

#[test]
fn empty_message_is_refused_and_blank_lines_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "empty.csv",
        "留言编号,留言用户,留言主题,留言时间,留言详情\n\
         1,U1,  ,2019/2/28 11:25:05,\t\n\
         \n\
         ,,,,\n\
         2,U2,主题,,\n",
    );
    let (_, rows) = read_all(&path);
    assert_eq!(rows.len(), 2, "{rows:?}");
    let e = err(&rows[0]);
    assert_eq!(e.line, 2);
    assert_eq!(e.column, None);
    assert_eq!(
        e.to_string(),
        "line 2: no message text: 留言主题 and 留言详情 are both blank"
    );
    let row = ok(&rows[1]);
    assert_eq!(row.line, 5);
    assert_eq!(row.title, "主题");
    assert_eq!(row.description, "");
}

#[test]
fn bom_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "bom.csv", format!("\u{feff}{VALIDATION}").as_bytes());
    let (reader, rows) = read_all(&path);
    assert_eq!(reader.layout(), Layout::TeddyCup);
    assert_eq!(reader.columns()[0], "留言编号");
    assert_eq!(ok(&rows[0]).external_id.as_deref(), Some("37"));
}

#[test]
fn malformed_records_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "short.csv",
        "留言编号,留言主题,留言详情\n1,主题,详情\n2,主题\n3,主题,详情,多余\n4,主题,详情\n",
    );
    let (_, rows) = read_all(&path);
    assert_eq!(rows.len(), 4);
    ok(&rows[0]);
    let e = err(&rows[1]);
    assert_eq!((e.line, e.column.as_deref()), (3, None));
    assert!(e.problem.contains("2 fields where the header has 3"), "{e}");
    assert_eq!(err(&rows[2]).line, 4);
    assert_eq!(ok(&rows[3]).line, 5);
}

#[test]
fn invalid_utf8_field_names_its_column() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = "留言编号,留言主题,留言详情\n1,主题,".as_bytes().to_vec();
    bytes.extend_from_slice(&[0xd6, 0xf7, 0xcc, 0xe2, 0xff]);
    bytes.extend_from_slice("\n2,主题,详情\n".as_bytes());
    let path = write(&dir, "gbk-row.csv", bytes);
    let (_, rows) = read_all(&path);
    let e = err(&rows[0]);
    assert_eq!((e.line, e.column.as_deref()), (2, Some("留言详情")));
    assert!(e.problem.contains("UTF-8"));
    ok(&rows[1]);
}

#[test]
fn title_lines_above_the_header_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "titled.csv",
        "福州市12345诉求导出\n\n河流,性质,信息来源,标题,时间,投诉件内容,回复1,转处理次数\n\
         梅峰河,投诉,网站,标题,2020-09-03 00:00:00,内容,,0\n",
    );
    let (reader, rows) = read_all(&path);
    assert_eq!(reader.layout(), Layout::Fuzhou);
    assert_eq!(reader.total_rows_hint(), Some(1));
    let row = ok(&rows[0]);
    assert_eq!(row.line, 4);
    assert_eq!(row.channel.as_deref(), Some("网站"));
    assert_eq!(row.transfers, Some(0));
}

#[test]
fn unknown_header_lists_columns_and_layouts() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "taxonomy.csv",
        "一级分类,二级分类,三级分类\n城乡建设,安全生产,事故处理\n",
    );
    let e = Reader::open(&path).unwrap_err();
    match &e {
        ImportError::UnknownLayout { columns, .. } => {
            assert_eq!(columns, &["一级分类", "二级分类", "三级分类"]);
        }
        other => panic!("expected UnknownLayout, got {other:?}"),
    }
    let message = e.to_string();
    assert!(
        message.contains("found columns [一级分类, 二级分类, 三级分类]"),
        "{message}"
    );
    assert!(message.contains("留言主题 or 留言详情"), "{message}");
    assert!(message.contains("标题 or 投诉件内容"), "{message}");
    assert!(message.contains("complaint_type"), "{message}");
}

#[test]
fn file_level_errors() {
    let dir = tempfile::tempdir().unwrap();

    let path = write(&dir, "notes.json", "{}");
    let e = Reader::open(&path).unwrap_err();
    assert!(
        matches!(e, ImportError::UnknownFormat { ref extension, .. } if extension.as_deref() == Some("json")),
        "{e:?}"
    );
    assert!(e.to_string().contains("'.json'"));

    let e = Reader::open(&dir.path().join("missing.csv")).unwrap_err();
    assert!(matches!(e, ImportError::Open { .. }), "{e:?}");

    let path = write(&dir, "empty.csv", "");
    assert!(matches!(
        Reader::open(&path).unwrap_err(),
        ImportError::Empty { .. }
    ));
    let path = write(&dir, "blank.csv", "\n\n,,\n");
    assert!(matches!(
        Reader::open(&path).unwrap_err(),
        ImportError::Empty { .. }
    ));

    // 留言编号,留言主题 in GBK.
    let path = write(
        &dir,
        "gbk.csv",
        [
            0xc1, 0xf4, 0xd1, 0xd4, 0xb1, 0xe0, 0xba, 0xc5, b',', 0xc1, 0xf4, 0xd1, 0xd4, 0xd6,
            0xf7, 0xcc, 0xe2, b'\n',
        ],
    );
    assert!(matches!(
        Reader::open(&path).unwrap_err(),
        ImportError::NotUtf8 { .. }
    ));

    let path = write(&dir, "fake.xlsx", "留言编号,留言主题\n1,主题\n");
    let e = Reader::open(&path).unwrap_err();
    assert!(matches!(e, ImportError::Spreadsheet { .. }), "{e:?}");
}

#[test]
fn uppercase_extension_and_tsv() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "A.CSV", VALIDATION);
    assert_eq!(Reader::open(&path).unwrap().layout(), Layout::TeddyCup);
    let path = write(
        &dir,
        "a.tsv",
        "留言编号\t留言主题\t留言时间\t留言详情\n9\t主题, 带逗号\t2019/2/28 11:25\t详情\n",
    );
    let (_, rows) = read_all(&path);
    let row = ok(&rows[0]);
    assert_eq!(row.title, "主题, 带逗号");
    assert_eq!(row.created_at, Some(date(2019, 2, 28).at(11, 25, 0, 0)));
}
