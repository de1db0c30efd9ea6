//! What the benches read from `/proc`: the machine (cores, CPU model, memory), this process's
//! resident memory, and CPU time — its own and the whole machine's, so a phase can tell how
//! much of the machine other processes took while it ran.

use anyhow::{Context as _, anyhow};

/// The machine the figures belong to.
pub(super) struct Machine {
    pub(super) cores: usize,
    pub(super) cpu: String,
    pub(super) memory_mib: u64,
}

impl Machine {
    pub(super) fn json(&self) -> serde_json::Value {
        serde_json::json!({ "cores": self.cores, "cpu": self.cpu, "memory_mib": self.memory_mib })
    }
}

/// Cores, CPU model and memory, from the OS and `/proc`.
pub(super) fn machine() -> anyhow::Result<Machine> {
    let cores = std::thread::available_parallelism().map(|n| n.get())?;
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = proc_field(&cpuinfo, "model name")
        .unwrap_or("unknown")
        .to_owned();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_mib = proc_kib(&meminfo, "MemTotal").unwrap_or(0) / 1024;
    Ok(Machine {
        cores,
        cpu,
        memory_mib,
    })
}

/// The value of the first `key: value` line of a `/proc` file.
fn proc_field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        (k.trim() == key).then(|| v.trim())
    })
}

/// A `/proc` field given in kB, e.g. `VmRSS:   12345 kB`.
fn proc_kib(text: &str, key: &str) -> Option<u64> {
    proc_field(text, key)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// This process's resident memory (`VmRSS`) or its peak (`VmHWM`), in KiB.
pub(super) fn rss_kib(key: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status").context("/proc/self/status")?;
    proc_kib(&status, key).ok_or_else(|| anyhow!("no {key} in /proc/self/status"))
}

/// Linux reports `/proc` times in `USER_HZ`, which is 100 for user space.
const USER_HZ: f64 = 100.0;

/// CPU seconds and minor page faults of this process (`/proc/self/stat`), and the CPU
/// seconds every process on the machine spent (`/proc/stat`), to tell other load apart.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct Cpu {
    pub(super) user: f64,
    pub(super) sys: f64,
    pub(super) faults: u64,
    pub(super) machine_busy: f64,
}

/// Time this thread has spent running on a CPU and waiting for one, in nanoseconds, from
/// `/proc/thread-self/schedstat`: exact, where the times in `stat` are sampled per tick.
pub(super) fn thread_sched() -> anyhow::Result<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat")
        .context("/proc/thread-self/schedstat")?;
    parse_schedstat(&text).ok_or_else(|| anyhow!("unreadable schedstat: {text:?}"))
}

fn parse_schedstat(text: &str) -> Option<(u64, u64)> {
    let mut fields = text.split_whitespace().map(str::parse::<u64>);
    Some((fields.next()?.ok()?, fields.next()?.ok()?))
}

/// CPU time and minor faults so far.
pub(super) fn cpu() -> anyhow::Result<Cpu> {
    let own = std::fs::read_to_string("/proc/self/stat").context("/proc/self/stat")?;
    let all = std::fs::read_to_string("/proc/stat").context("/proc/stat")?;
    let mut cpu = parse_stat(&own).ok_or_else(|| anyhow!("unreadable /proc/self/stat"))?;
    cpu.machine_busy = machine_busy(&all).ok_or_else(|| anyhow!("unreadable /proc/stat"))?;
    Ok(cpu)
}

/// Busy seconds of all CPUs from the `cpu` line of `/proc/stat`: everything but `idle` and
/// `iowait` (user, nice, system, irq, softirq, steal).
fn machine_busy(stat: &str) -> Option<f64> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|t| t.parse().ok())
        .collect::<Option<_>>()?;
    let idle = ticks.get(3)? + ticks.get(4)?;
    Some((ticks.iter().sum::<u64>() - idle) as f64 / USER_HZ)
}

/// `minflt`, `utime` and `stime` (fields 10, 14 and 15 of `proc(5)`), counted after the
/// parenthesised command name, which may contain spaces.
fn parse_stat(stat: &str) -> Option<Cpu> {
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some(Cpu {
        faults: field(10)?,
        user: field(14)? as f64 / USER_HZ,
        sys: field(15)? as f64 / USER_HZ,
        machine_busy: 0.0,
    })
}

impl Cpu {
    pub(super) fn since(self, before: Cpu) -> Cpu {
        Cpu {
            user: self.user - before.user,
            sys: self.sys - before.sys,
            faults: self.faults.saturating_sub(before.faults),
            machine_busy: self.machine_busy - before.machine_busy,
        }
    }

    /// Adds another interval's figures (phases measured in several rounds).
    pub(super) fn plus(self, other: Cpu) -> Cpu {
        Cpu {
            user: self.user + other.user,
            sys: self.sys + other.sys,
            faults: self.faults + other.faults,
            machine_busy: self.machine_busy + other.machine_busy,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_proc_fields() {
        let status = "Name:\tportcullis\nVmHWM:\t   2048 kB\nVmRSS:\t   1024 kB\n";
        assert_eq!(proc_kib(status, "VmRSS"), Some(1024));
        assert_eq!(proc_kib(status, "VmHWM"), Some(2048));
        assert_eq!(proc_kib(status, "VmSwap"), None);
        assert_eq!(
            proc_field("model name\t: AMD EPYC\n", "model name"),
            Some("AMD EPYC")
        );
    }

    #[test]
    fn reads_proc_stat() {
        let stat = "4242 (tokio (x) 1) S 1 4242 4242 0 -1 4194560 9876 0 0 0 250 31 0 0 20 0 7 0";
        let cpu = parse_stat(stat);
        assert_eq!(
            cpu,
            Some(Cpu {
                user: 2.5,
                sys: 0.31,
                faults: 9876,
                machine_busy: 0.0,
            })
        );
        assert_eq!(parse_stat("4242 (short) S 1"), None);
        let all = "cpu  100 5 50 1000 20 1 2 3 0 0\ncpu0 50 2 25 500 10 0 1 1 0 0\n";
        assert_eq!(machine_busy(all), Some(1.61));
        assert_eq!(
            parse_schedstat("537848 3318435 3\n"),
            Some((537_848, 3_318_435))
        );
        assert_eq!(parse_schedstat("x"), None);
    }
}
