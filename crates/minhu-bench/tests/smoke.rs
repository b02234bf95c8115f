//! `minhu-bench` as BENCHMARKS.md runs it, on a small load: the subcommands are there,
//! and the intake bench (a real server, real clients) runs to its figures.

use std::process::Command;

fn text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn every_benchmark_is_a_subcommand() {
    let output = Command::new(env!("CARGO_BIN_EXE_minhu-bench"))
        .arg("--help")
        .output()
        .unwrap();
    let said = text(&output);
    assert!(output.status.success(), "{said}");
    for bench in [
        "intake",
        "analytics",
        "classify",
        "hotspots",
        "hotspot-list",
        "timers",
        "pages",
        "search",
    ] {
        assert!(said.contains(bench), "no {bench} in: {said}");
    }
}

#[test]
fn the_intake_bench_runs_to_its_figures() {
    let output = Command::new(env!("CARGO_BIN_EXE_minhu-bench"))
        .args(["intake", "--clients", "4", "--tickets", "40"])
        .env_remove("MINHU_DATABASE_URL")
        .output()
        .unwrap();
    let said = text(&output);
    assert!(output.status.success(), "{said}");
    assert!(
        said.contains("tickets/s=") && said.contains("errors=0"),
        "{said}"
    );
}
