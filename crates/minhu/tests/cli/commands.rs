//! The `minhu` binary as a person runs it: import twice, check a broken configuration,
//! add a user, read and act on a ticket.

use std::path::Path;
use std::process::{Command, Output};

fn minhu(args: &[&str], data_dir: &Path) -> Output {
    let config = minhu_testkit::city::demo_dir();
    Command::new(env!("CARGO_BIN_EXE_minhu"))
        .args(args)
        .env("MINHU_CONFIG", &config)
        .env("MINHU_DATA_DIR", data_dir)
        .env_remove("MINHU_DATABASE_URL")
        .output()
        .expect("minhu runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

const MESSAGES: &str = "留言编号,留言用户,留言主题,留言时间,留言详情,一级分类
1001,A01,A3区天顶街道路灯不亮,2019/5/9 10:02:08,路灯坏了一周没人修,城乡建设
1002,A02,拖欠工资,2019/13/45 10:00:00,公司拖欠工资三个月,劳动和社会保障
1003,A03,咨询社保转移,2019/5/10 09:00:00,社保怎么转移到A市,未知分类
1004,A04,学校收费,2019/5/11 09:00:00,学校乱收费,教育文体
";

#[test]
fn the_product_lists_its_jobs_and_no_load_generator() {
    let dir = tempfile::tempdir().unwrap();
    let help = minhu(&["--help"], dir.path());
    let said = text(&help);
    assert!(help.status.success(), "{said}");
    assert!(said.contains("serve") && said.contains("import"), "{said}");
    assert!(
        !said.contains("bench"),
        "the benchmarks are minhu-bench's: {said}"
    );
}

#[test]
fn import_reports_what_it_refused_and_never_imports_twice() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("messages.csv");
    std::fs::write(&file, MESSAGES).unwrap();
    let first = minhu(&["import", file.to_str().unwrap()], dir.path());
    let said = text(&first);
    assert!(first.status.success(), "{said}");
    assert!(said.contains("2 imported"), "{said}");
    assert!(said.contains("2 refused"), "{said}");
    assert!(said.contains("column 留言时间"), "names the column: {said}");
    assert!(
        said.contains("未知分类"),
        "names the unknown category: {said}"
    );
    let again = minhu(&["import", file.to_str().unwrap()], dir.path());
    let said = text(&again);
    assert!(
        said.contains("0 imported") && said.contains("2 already imported"),
        "{said}"
    );
}

#[test]
fn a_broken_configuration_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("city");
    std::fs::create_dir(&config).unwrap();
    let demo = minhu_testkit::city::demo_dir();
    for entry in std::fs::read_dir(&demo).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), config.join(entry.file_name())).unwrap();
    }
    let units = std::fs::read_to_string(config.join("units.toml")).unwrap();
    let broken = units.replacen("region = \"A3-01\"", "region = \"A3-99\"", 1);
    std::fs::write(config.join("units.toml"), &broken).unwrap();
    let line = broken.lines().position(|l| l.contains("A3-99")).unwrap();
    let output = minhu(
        &[
            "admin",
            "check-config",
            "--config",
            config.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(!output.status.success());
    let said = text(&output);
    assert!(said.contains("units.toml:"), "{said}");
    assert!(said.contains("A3-99"), "{said}");
    // The error points at the [[unit]] table that holds the bad line.
    let reported: usize = said
        .split("units.toml:")
        .nth(1)
        .unwrap()
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        reported <= line + 1 && reported + 8 > line,
        "reported line {reported}, bad line {}",
        line + 1
    );
}

#[test]
fn users_are_added_with_a_checked_role() {
    let dir = tempfile::tempdir().unwrap();
    let bad = minhu(&["admin", "add-user", "li", "--role", "mayor"], dir.path());
    assert!(!bad.status.success());
    assert!(text(&bad).contains("is not a role"), "{}", text(&bad));
    let good = minhu(
        &["admin", "add-user", "li", "--role", "dispatcher"],
        dir.path(),
    );
    assert!(good.status.success(), "{}", text(&good));
    assert!(text(&good).contains("password: "));
    let list = minhu(&["admin", "users"], dir.path());
    assert!(text(&list).contains("li\tdispatcher"), "{}", text(&list));
}

#[test]
fn tokens_and_scopes_are_checked_and_never_listed() {
    let dir = tempfile::tempdir().unwrap();
    let bad = minhu(
        &[
            "admin",
            "add-token",
            "crm",
            "--permissions",
            "ticket.view,ticket.fly",
        ],
        dir.path(),
    );
    assert!(!bad.status.success());
    assert!(text(&bad).contains("ticket.fly"), "{}", text(&bad));
    let bad = minhu(
        &[
            "admin",
            "add-token",
            "crm",
            "--role",
            "auditor",
            "--unit",
            "nowhere",
        ],
        dir.path(),
    );
    assert!(
        text(&bad).contains("unit: \"nowhere\" is not a unit"),
        "{}",
        text(&bad)
    );
    for rate in ["fast", "0/s", "5/h"] {
        let bad = minhu(
            &[
                "admin",
                "add-token",
                "crm",
                "--role",
                "auditor",
                "--rate",
                rate,
            ],
            dir.path(),
        );
        assert!(!bad.status.success());
        assert!(text(&bad).contains("--rate"), "{}", text(&bad));
    }
    let good = minhu(
        &[
            "admin",
            "add-token",
            "crm",
            "--role",
            "auditor",
            "--rate",
            "200/s",
        ],
        dir.path(),
    );
    assert!(good.status.success(), "{}", text(&good));
    let token = String::from_utf8_lossy(&good.stdout).trim().to_owned();
    assert!(token.starts_with("mh_"), "{token}");
    let list = minhu(&["admin", "tokens"], dir.path());
    assert!(
        text(&list).contains("crm\tticket.view,report.view,audit.view"),
        "{}",
        text(&list)
    );
    assert!(text(&list).contains("rate 200/s"), "{}", text(&list));
    assert!(!text(&list).contains(&token), "tokens are shown once only");

    minhu(
        &["admin", "add-user", "li", "--role", "supervisor"],
        dir.path(),
    );
    let scoped = minhu(&["admin", "set-scope", "li", "--region", "A3"], dir.path());
    assert!(scoped.status.success(), "{}", text(&scoped));
    let unitless = minhu(&["admin", "set-role", "li", "unit_handler"], dir.path());
    assert!(!unitless.status.success());
    assert!(
        text(&unitless).contains("unit: a unit_handler works for one unit; say which"),
        "{}",
        text(&unitless)
    );
    let list = minhu(&["admin", "users"], dir.path());
    assert!(
        text(&list).contains("li\tsupervisor\tregion A3"),
        "{}",
        text(&list)
    );
}

#[test]
fn open311_keys_are_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    let bad = minhu(&["admin", "add-open311-key", " "], dir.path());
    assert!(!bad.status.success());
    assert!(text(&bad).contains("LABEL"), "{}", text(&bad));
    let good = minhu(&["admin", "add-open311-key", "fixmystreet"], dir.path());
    assert!(good.status.success(), "{}", text(&good));
    let key = String::from_utf8(good.stdout).unwrap();
    let key = key.trim();
    assert!(key.starts_with("o311_") && key.len() == 69, "{key}");
}

#[test]
fn ticket_commands_read_and_act_and_name_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("messages.csv");
    std::fs::write(&file, MESSAGES).unwrap();
    assert!(
        minhu(&["import", file.to_str().unwrap()], dir.path())
            .status
            .success()
    );
    let bad = minhu(&["ticket", "show", "12"], dir.path());
    assert!(
        !bad.status.success() && text(&bad).contains("number"),
        "{}",
        text(&bad)
    );
    let missing = minhu(&["ticket", "events", "2019010100001"], dir.path());
    assert!(
        text(&missing).contains("does not exist"),
        "{}",
        text(&missing)
    );
    let act = |action: &str| {
        minhu(
            &["ticket", "act", "2019010100001", action, "--as", "zhang"],
            dir.path(),
        )
    };
    let said = text(&act(r#"{"action":"fly"}"#));
    assert!(said.contains("action:"), "{said}");
    let said = text(&act(r#"{"action":"accept"}"#));
    assert!(said.contains("does not exist"), "{said}");

    // The imported street-light message, numbered by its own date, read and urged.
    let json = |args: &[&str]| -> serde_json::Value {
        let output = minhu(args, dir.path());
        assert!(output.status.success(), "{}", text(&output));
        serde_json::from_slice(&output.stdout).expect("JSON on stdout")
    };
    let before = json(&["ticket", "show", "2019050900001"]);
    assert_eq!(before["title"], "A3区天顶街道路灯不亮");
    let urge = r#"{"action":"urge","note":"快办"}"#;
    let after = json(&["ticket", "act", "2019050900001", urge, "--as", "zhang"]);
    assert_eq!(after["version"], before["version"].as_u64().unwrap() + 1);
    let events = json(&["ticket", "events", "2019050900001"]);
    let last = events.as_array().unwrap().last().unwrap();
    assert_eq!(
        (&last["type"], &last["actor"]),
        (&"urged".into(), &"user:zhang".into())
    );
}

#[test]
fn the_knowledge_base_imports_once_names_bad_rows_and_exports_what_it_reads() {
    let dir = tempfile::tempdir().unwrap();
    let demo_kb = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo/kb.csv");
    let kb = demo_kb.to_str().unwrap();
    let first = minhu(&["kb", "import", "--file", kb], dir.path());
    let said = text(&first);
    assert!(first.status.success(), "{said}");
    let count: usize = said
        .split("imported ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a summary: {said}"));
    assert!(count >= 20, "the demo ships a real set: {said}");
    assert!(said.contains(&format!("{count} new, 0 updated")), "{said}");
    let again = minhu(&["kb", "import", "--file", kb], dir.path());
    let said = text(&again);
    assert!(
        said.contains(&format!("0 new, 0 updated, {count} unchanged")),
        "a re-import changes nothing: {said}"
    );

    for name in ["kb.md", "kb.csv"] {
        let out = dir.path().join(name);
        let export = minhu(
            &["kb", "export", "--out", out.to_str().unwrap()],
            dir.path(),
        );
        assert!(export.status.success(), "{}", text(&export));
        let back = minhu(
            &["kb", "import", "--file", out.to_str().unwrap()],
            dir.path(),
        );
        let said = text(&back);
        assert!(
            said.contains(&format!("0 new, 0 updated, {count} unchanged")),
            "{name} reads back as it was: {said}"
        );
    }

    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "id,title,body,category,valid_from\n\
         kb-new,新条目,内容,,\n\
         kb-x,,内容,,\n\
         kb-y,标题,内容,没有这类,\n\
         kb-z,标题,内容,,2026-02-30\n",
    )
    .unwrap();
    let refused = minhu(
        &["kb", "import", "--file", bad.to_str().unwrap()],
        dir.path(),
    );
    let said = text(&refused);
    assert!(!refused.status.success(), "{said}");
    assert!(said.contains("row 3, field title"), "{said}");
    assert!(said.contains("row 4, field category"), "{said}");
    assert!(said.contains("row 5, field valid_from"), "{said}");
    assert!(said.contains("nothing imported"), "{said}");
    let export = dir.path().join("after.csv");
    minhu(
        &["kb", "export", "--out", export.to_str().unwrap()],
        dir.path(),
    );
    let after = std::fs::read_to_string(&export).unwrap();
    assert!(
        !after.contains("kb-new"),
        "a file with bad rows imports nothing"
    );
}
