//! `minhu-bench classify`: categories read by a trained model on one core, from labelled
//! messages (the Teddy Cup columns): messages per second of CPU time, model size and
//! peak memory.

use crate::harness;
use anyhow::Context;
use minhu_text::Model;
use std::path::Path;

/// The fast path (`Model::best`) over every message, `rounds`
/// times on this thread. CPU time rather than wall time, so that other processes on the
/// machine do not count against the classifier.
pub fn run(model_path: &Path, data: &Path, rounds: usize) -> anyhow::Result<()> {
    let model = Model::load(model_path)
        .with_context(|| format!("cannot load the model {}", model_path.display()))?;
    let (texts, _, _) = minhu::classifier::labelled(data)?;
    anyhow::ensure!(
        !texts.is_empty(),
        "{}: no labelled messages",
        data.display()
    );
    let mut checksum = 0usize;
    for text in &texts {
        checksum += model.best(text).len();
    }
    let bar = harness::progress_bar(Some(rounds as u64), "classifying");
    let started = thread_cpu_seconds()?;
    for _ in 0..rounds {
        for text in &texts {
            checksum += model.best(text).len();
        }
        bar.inc(1);
    }
    let cpu = thread_cpu_seconds()? - started;
    bar.finish_and_clear();
    let messages = texts.len() * rounds;
    let chars: usize = texts.iter().map(|t| t.chars().count()).sum();
    println!(
        "{messages} messages ({:.0} characters on average) in {cpu:.2}s of CPU time: {:.0} messages/s on one core",
        chars as f64 / texts.len() as f64,
        messages as f64 / cpu.max(1e-9)
    );
    println!(
        "model file {:.1} MB; peak memory (RSS) {} MB; checksum {checksum}",
        std::fs::metadata(model_path)?.len() as f64 / 1e6,
        harness::memory_mb("VmHWM:").context("/proc/self/status: no VmHWM line")?
    );
    Ok(())
}

/// This thread's time on a CPU so far (Linux: /proc/thread-self/schedstat, nanoseconds).
pub(crate) fn thread_cpu_seconds() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat")
        .context("the classify benchmark reads /proc/thread-self/schedstat (Linux)")?;
    let nanos: f64 = stat
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .context("/proc/thread-self/schedstat: no CPU time in it")?;
    Ok(nanos / 1e9)
}
