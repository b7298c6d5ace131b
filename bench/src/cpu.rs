//! Who used the CPU during a phase: this process (servers + load generator) and
//! everything else on the machine (PostgreSQL's backends — part of the system
//! under test in the PostgreSQL phases — and any unrelated work, which would
//! make the numbers unfair). Linux only; elsewhere it reports nothing.

use std::collections::HashMap;
use std::time::Instant;

#[derive(Clone)]
pub struct Sample {
    at: Instant,
    /// All CPUs, busy ticks (everything but idle and iowait).
    busy: u64,
    /// This process, user + system ticks.
    own: u64,
    /// Every other process: pid -> (command name, user + system ticks).
    others: HashMap<u32, (String, u64)>,
}

/// (command name, user + system ticks) of one process, from /proc/PID/stat.
fn proc_ticks(stat: &str) -> Option<(String, u64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat[open + 1..close].to_string();
    let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
    // Fields 14 and 15 of the file (utime, stime) are 11 and 12 after the name.
    Some((
        comm,
        fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?,
    ))
}

fn other_processes() -> HashMap<u32, (String, u64)> {
    let me = std::process::id();
    let mut out = HashMap::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if pid == me {
                continue;
            }
            if let Some(t) = std::fs::read_to_string(entry.path().join("stat"))
                .ok()
                .and_then(|s| proc_ticks(&s))
            {
                out.insert(pid, t);
            }
        }
    }
    out
}

pub fn sample() -> Option<Sample> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cpu: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal
    let busy = cpu.iter().take(8).sum::<u64>() - cpu.get(3)? - cpu.get(4)?;
    let (_, own) = proc_ticks(&std::fs::read_to_string("/proc/self/stat").ok()?)?;
    Some(Sample {
        at: Instant::now(),
        busy,
        own,
        others: other_processes(),
    })
}

/// Cores' worth of CPU used between two samples: (this process, everything else).
pub fn used(from: &Option<Sample>, to: &Option<Sample>) -> Option<(f64, f64)> {
    let (a, b) = (from.as_ref()?, to.as_ref()?);
    let secs = (b.at - a.at).as_secs_f64();
    if secs <= 0.0 {
        return None;
    }
    let hz = 100.0; // USER_HZ on Linux
    let own = (b.own.saturating_sub(a.own)) as f64 / hz / secs;
    let all = (b.busy.saturating_sub(a.busy)) as f64 / hz / secs;
    Some((own, (all - own).max(0.0)))
}

/// The other commands that used the most CPU between two samples, in cores, summed
/// by command name (PostgreSQL's backends are all `postgres`). Kernel threads and
/// processes that came and went in between are not seen.
pub fn top_others(from: &Option<Sample>, to: &Option<Sample>, n: usize) -> Vec<(String, f64)> {
    let (Some(a), Some(b)) = (from, to) else {
        return Vec::new();
    };
    let secs = (b.at - a.at).as_secs_f64().max(1e-9);
    let mut by_name: HashMap<String, u64> = HashMap::new();
    for (pid, (comm, ticks)) in &b.others {
        let before = a.others.get(pid).map(|(_, t)| *t).unwrap_or(0);
        *by_name.entry(comm.clone()).or_default() += ticks.saturating_sub(before);
    }
    let mut v: Vec<(String, f64)> = by_name
        .into_iter()
        .map(|(name, ticks)| (name, ticks as f64 / 100.0 / secs))
        .filter(|(_, cores)| *cores >= 0.01)
        .collect();
    v.sort_by(|x, y| y.1.total_cmp(&x.1));
    v.truncate(n);
    v
}
