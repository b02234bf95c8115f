//! Processes a test starts, stopped when the test ends, pass or fail. A process is
//! started in a process group of its own and the whole group is killed on drop (a
//! panicking test drops its values too), so what it started in turn goes with it:
//! chromedriver's Chromium outlived the tests when only chromedriver was killed.
//!
//! The helpers that read `/proc` let a test check that claim: which processes
//! descend from one, and which of a list are still alive.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A child process leading its own process group, killed with the group on drop.
pub struct ProcessGroup {
    child: Child,
}

impl ProcessGroup {
    /// Starts `command` as the leader of a new process group.
    pub fn spawn(command: &mut Command) -> std::io::Result<ProcessGroup> {
        let child = command.process_group(0).spawn()?;
        Ok(ProcessGroup { child })
    }

    /// The leader's process id, which is also the group's id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        // `kill` rather than a signal call: the workspace forbids unsafe code.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One process as `/proc/PID/stat` tells it.
struct Stat {
    pid: u32,
    parent: u32,
    zombie: bool,
}

fn stat(pid: u32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: read after the last ')'.
    let mut fields = text[text.rfind(')')? + 1..].split_whitespace();
    let state = fields.next()?;
    let parent = fields.next()?.parse().ok()?;
    Some(Stat {
        pid,
        parent,
        zombie: state == "Z" || state == "X",
    })
}

fn all_processes() -> Vec<Stat> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter_map(stat)
        .collect()
}

/// `pid` and every living process descending from it.
pub fn descendants(pid: u32) -> Vec<u32> {
    let processes = all_processes();
    let mut found = vec![pid];
    let mut next = 0;
    while next < found.len() {
        let parent = found[next];
        found.extend(
            processes
                .iter()
                .filter(|p| p.parent == parent && !p.zombie)
                .map(|p| p.pid),
        );
        next += 1;
    }
    found
}

/// Those of `pids` still running (a zombie has ended), after waiting up to `patience`
/// for them to end.
pub fn still_running(pids: &[u32], patience: Duration) -> Vec<u32> {
    let started = Instant::now();
    loop {
        let running: Vec<u32> = pids
            .iter()
            .copied()
            .filter(|&pid| stat(pid).is_some_and(|s| !s.zombie))
            .collect();
        if running.is_empty() || started.elapsed() > patience {
            return running;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
