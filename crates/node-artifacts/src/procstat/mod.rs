//! `/proc/stat` (`system/procstat.txt` in the EKS bundle).
//!
//! Besides CPU time counters, it holds `btime`, the boot time in seconds
//! since the epoch: the one fact needed to turn the seconds-since-boot of
//! `dmesg` into wall-clock times when no `dmesg --ctime` pair is at hand.
//!
//! # Sample
//!
//! ```text
//! cpu  10132153 290696 3084719 46828483 16683 0 25195 0 0 0   <- all CPUs, USER_HZ ticks
//! cpu0 5066076 145348 1542359 23414241 8341 0 12597 0 0 0     <- one line per CPU
//! intr 1462898 0 9 0 …                                         <- total, then per interrupt
//! ctxt 115315                                                  <- context switches
//! btime 1705309020                                             <- boot time, epoch seconds
//! processes 12345                                              <- forks since boot
//! procs_running 2
//! procs_blocked 0                                              <- tasks in uninterruptible sleep
//! softirq 12345 0 1 2 …
//! ```
//!
//! # Grammar
//!
//! ```text
//! file  = { line }
//! line  = cpu-line | name ws number { ws number }
//! cpu-line = "cpu" [ digits ] ws number { ws number }   (* user nice system idle iowait irq softirq steal guest guest_nice *)
//! ```

use serde::Serialize;

use crate::diag::{Parsed, Unparsed, numbered_lines};
use crate::line_util::{fields, keep_unparsed, parse_u64};
use crate::time::Timestamp;

/// Why an input is not `/proc/stat` at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No `cpu` line.
    #[error("not /proc/stat: {reason}")]
    NotProcStat {
        /// What was missing.
        reason: &'static str,
    },
}

/// Parses `/proc/stat`.
///
/// # Errors
///
/// [`Error::NotProcStat`] when the input has text but no `cpu` line.
pub fn parse(input: &str) -> Result<Parsed<ProcStat>, Error> {
    let mut stat = ProcStat::default();
    let mut diagnostics = Vec::new();
    let mut saw_text = false;
    for (line_no, raw) in numbered_lines(input) {
        let mut words = fields(raw);
        let Some(name) = words.next() else {
            continue;
        };
        saw_text = true;
        let numbers: Option<Vec<u64>> = words.map(parse_u64).collect();
        let Some(numbers) = numbers.filter(|n| !n.is_empty()) else {
            stat.unparsed.push(keep_unparsed(
                &mut diagnostics,
                line_no,
                raw,
                "expected a name followed by unsigned numbers",
            ));
            continue;
        };
        if let Some(cpu) = name.strip_prefix("cpu") {
            let times = CpuTimes { ticks: numbers };
            if cpu.is_empty() {
                stat.cpu_total = Some(times);
            } else {
                match cpu.parse() {
                    Ok(index) => stat.cpus.push((index, times)),
                    Err(_) => stat.unparsed.push(keep_unparsed(
                        &mut diagnostics,
                        line_no,
                        raw,
                        format!("`{name}` is not `cpu` followed by a number"),
                    )),
                }
            }
            continue;
        }
        let first = numbers[0];
        match name {
            "intr" => stat.intr_total = Some(first),
            "ctxt" => stat.ctxt = Some(first),
            "btime" => match i64::try_from(first)
                .ok()
                .and_then(|s| s.checked_mul(1_000_000))
            {
                Some(us) => stat.btime = Some(Timestamp(us)),
                None => stat.unparsed.push(keep_unparsed(
                    &mut diagnostics,
                    line_no,
                    raw,
                    "btime out of range",
                )),
            },
            "processes" => stat.processes = Some(first),
            "procs_running" => stat.procs_running = Some(first),
            "procs_blocked" => stat.procs_blocked = Some(first),
            "softirq" => stat.softirq_total = Some(first),
            _ => stat.other.push((name.to_owned(), numbers)),
        }
    }
    if saw_text && stat.cpu_total.is_none() && stat.cpus.is_empty() {
        return Err(Error::NotProcStat {
            reason: "no `cpu` line",
        });
    }
    Ok(Parsed {
        value: stat,
        diagnostics,
    })
}

/// The parsed `/proc/stat`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProcStat {
    /// The aggregate `cpu` line.
    pub cpu_total: Option<CpuTimes>,
    /// `cpuN` lines as `(N, times)`.
    pub cpus: Vec<(u32, CpuTimes)>,
    /// Total of the `intr` line.
    pub intr_total: Option<u64>,
    /// `ctxt`: context switches since boot.
    pub ctxt: Option<u64>,
    /// `btime`: boot time.
    pub btime: Option<Timestamp>,
    /// `processes`: forks since boot.
    pub processes: Option<u64>,
    /// `procs_running`.
    pub procs_running: Option<u64>,
    /// `procs_blocked`: tasks in uninterruptible (D) sleep.
    pub procs_blocked: Option<u64>,
    /// Total of the `softirq` line.
    pub softirq_total: Option<u64>,
    /// Any other `name numbers…` line.
    pub other: Vec<(String, Vec<u64>)>,
    /// Lines not understood.
    pub unparsed: Vec<Unparsed>,
}

/// CPU time counters of one `cpu` line, in `USER_HZ` ticks, in kernel
/// order: user, nice, system, idle, iowait, irq, softirq, steal, guest,
/// guest_nice (older kernels print fewer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CpuTimes {
    /// The counters as printed.
    pub ticks: Vec<u64>,
}

impl CpuTimes {
    fn at(&self, i: usize) -> u64 {
        self.ticks.get(i).copied().unwrap_or(0)
    }

    /// `user` ticks.
    pub fn user(&self) -> u64 {
        self.at(0)
    }

    /// `system` ticks.
    pub fn system(&self) -> u64 {
        self.at(2)
    }

    /// `idle` ticks.
    pub fn idle(&self) -> u64 {
        self.at(3)
    }

    /// `iowait` ticks.
    pub fn iowait(&self) -> u64 {
        self.at(4)
    }

    /// `steal` ticks (time the hypervisor gave to other guests).
    pub fn steal(&self) -> u64 {
        self.at(7)
    }

    /// Sum of all counters but `guest` and `guest_nice`, which are already
    /// included in `user` and `nice`.
    pub fn total(&self) -> u64 {
        self.ticks.iter().take(8).sum()
    }

    /// Share of `field` ticks in the total, in thousandths (0 when the
    /// total is 0).
    pub fn permille(&self, field: u64) -> u64 {
        let total = self.total();
        if total == 0 {
            0
        } else {
            (u128::from(field) * 1000 / u128::from(total)) as u64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, expect: &str) {
        let got = match parse(input) {
            Ok(p) => format!(
                "cpus={} btime={:?} blocked={:?} other={:?} diags={:?}",
                p.value.cpus.len(),
                p.value.btime.map(|t| t.to_string()),
                p.value.procs_blocked,
                p.value.other,
                p.diagnostics.iter().map(|d| &d.reason).collect::<Vec<_>>()
            ),
            Err(e) => format!("ERR {e}"),
        };
        assert_eq!(got, expect);
    }

    #[test]
    fn lines() {
        check(
            "cpu  1 2 3 4 5 6 7 8 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\nbtime 1705309020\nprocs_blocked 3\npswp 1 2\n",
            "cpus=1 btime=Some(\"2024-01-15T08:57:00.000000Z\") blocked=Some(3) other=[(\"pswp\", [1, 2])] diags=[]",
        );
        check(
            "cpu 1 2 3\ncpuX 1\nctxt many\n",
            "cpus=0 btime=None blocked=None other=[] diags=[\"`cpuX` is not `cpu` followed by a number\", \"expected a name followed by unsigned numbers\"]",
        );
        check("hello 1\n", "ERR not /proc/stat: no `cpu` line");
        let t = CpuTimes {
            ticks: vec![10, 0, 10, 70, 5, 0, 0, 5, 3, 0],
        };
        assert_eq!((t.total(), t.permille(t.steal())), (100, 50));
    }
}
