//! CPU and memory figures from Linux's `/proc`, for the benchmarks (`wire`, `collect`).
//! Times are in clock ticks of 1/100 s (`USER_HZ`), converted to seconds here.

/// Clock ticks per second in `/proc` (`USER_HZ`, 100 on Linux).
pub const TICKS_PER_SECOND: f64 = 100.0;

/// The numeric fields of `/proc/<pid>/stat` after the command name (which is in parentheses
/// and may hold spaces): state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14).
/// `pid` may be `self`.
pub fn stat_fields(pid: &str) -> Option<Vec<u64>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    Some(
        rest.split_whitespace()
            .map(|v| v.parse().unwrap_or(0))
            .collect(),
    )
}

/// User + system CPU seconds of this process so far (all its threads).
pub fn cpu_seconds() -> f64 {
    stat_fields("self").map_or(0.0, |f| (f[11] + f[12]) as f64 / TICKS_PER_SECOND)
}

/// User + system CPU seconds of the children this process has waited for.
pub fn children_cpu_seconds() -> f64 {
    stat_fields("self").map_or(0.0, |f| (f[13] + f[14]) as f64 / TICKS_PER_SECOND)
}

/// (busy, total) jiffies of all CPUs, from the first line of /proc/stat.
pub fn machine_jiffies() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let v: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().take(8).sum();
    // idle and iowait are fields 4 and 5.
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

/// This process's peak resident memory (VmHWM), in KiB.
pub fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}
