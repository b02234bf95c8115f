//! `minhu calendar due` as scripts run it: the due moment is the last line of the output,
//! and a wrong tier or moment is named in the error.

use std::process::{Command, Output};

fn due(args: &[&str]) -> Output {
    let city = minhu_testkit::city::demo_dir();
    Command::new(env!("CARGO_BIN_EXE_minhu"))
        .args(["calendar", "due", "--city", city.to_str().unwrap()])
        .args(args)
        .env_remove("MINHU_CONFIG")
        .output()
        .expect("minhu runs")
}

fn last_line(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout.lines().last().unwrap_or_default().to_owned()
}

#[test]
fn seven_working_days_across_the_national_day_week() {
    let output = due(&["--tier", "7d", "--from", "2025-09-30T10:00+08:00"]);
    assert_eq!(last_line(&output), "2025-10-16T10:00:00+08:00");
    assert!(output.stderr.is_empty(), "no warning for a covered year");
}

#[test]
fn a_moment_in_utc_is_answered_in_the_city_zone() {
    // 2025-09-30T02:00Z is 10:00 in Asia/Shanghai.
    let output = due(&["--tier", "7d", "--from", "2025-09-30T02:00:00Z"]);
    assert_eq!(last_line(&output), "2025-10-16T10:00:00+08:00");
    let output = due(&["--tier", "2h", "--from", "2025-10-01T15:30:00Z"]);
    assert_eq!(last_line(&output), "2025-10-02T01:30:00+08:00");
}

#[test]
fn a_year_without_holidays_is_warned_about() {
    // 2027-12-31 is a Friday; 2028 has no data, so Monday 2028-01-03 is working day 1.
    let output = due(&["--tier", "7d", "--from", "2027-12-31T09:00+08:00"]);
    assert_eq!(last_line(&output), "2028-01-11T09:00:00+08:00");
    let warning = String::from_utf8_lossy(&output.stderr);
    assert!(warning.contains("2027, 2028"), "{warning}");
}

#[test]
fn a_bad_tier_or_moment_is_named() {
    let output = due(&["--tier", "3d", "--from", "2025-09-30T10:00+08:00"]);
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("--tier \"3d\""), "{said}");
    assert!(said.contains("2h, 24h, 7d, 15d"), "lists the tiers: {said}");
    let output = due(&["--tier", "7d", "--from", "2025-09-30T10:00"]);
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("--from \"2025-09-30T10:00\""), "{said}");
}
