//! This process's identity for the lease (pid, host, start time), and whether another
//! lease holder's process still exists.

use gvpie_store::LeaseInfo;

/// The host name, from the kernel (Linux) or the environment.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".to_string())
}

/// A process's start time as the kernel counts it (clock ticks since boot; field 22 of
/// `/proc/PID/stat`), to tell a reused pid from the process that took a lease.
pub fn process_start(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; it ends at the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19).map(str::to_string)
}

/// Whether the holder of `info` certainly no longer runs: same host, and its pid is gone or
/// now belongs to a process that started at another time. On another host, or where `/proc`
/// is missing, we cannot tell and the lease's time-to-live decides.
pub fn holder_is_gone(info: &LeaseInfo) -> bool {
    if info.host != host_name() || !std::path::Path::new("/proc/self/stat").exists() {
        return false;
    }
    match process_start(info.pid) {
        None => true,
        Some(start) => info.process_start.as_deref().is_some_and(|recorded| recorded != start),
    }
}

/// Resident memory of this process in bytes (Linux), or 0.
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|text| text.split_whitespace().nth(1).and_then(|pages| pages.parse::<u64>().ok()))
        .map(|pages| pages * 4096)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_process_is_alive() {
        let pid = std::process::id();
        let info = LeaseInfo {
            name: "daemon".into(),
            holder: "x".into(),
            pid,
            host: host_name(),
            process_start: process_start(pid),
            acquired_ms: 0,
            heartbeat_ms: 0,
            ttl_ms: 1,
            read_at_ms: 0,
        };
        assert!(!holder_is_gone(&info));
        let reused = LeaseInfo { process_start: Some("1".into()), ..info.clone() };
        assert!(holder_is_gone(&reused));
        let elsewhere = LeaseInfo { host: "another-host".into(), pid: u32::MAX, ..info };
        assert!(!holder_is_gone(&elsewhere));
    }
}
