//! Generated `dmesg` output (the default `[    secs.usecs] message` form) of
//! a long-running EKS node: boot noise, pod network churn, and now and then
//! the failures the parser must find (OOM kills in kubepods cgroups,
//! conntrack overflow, ENA Tx timeouts, hung tasks with call traces).
//!
//! Lines average about 70 bytes, so a million lines are about 70 MB.

use crate::rng::SplitMix64;

use std::fmt::Write as _;

/// `lines` lines of plain `dmesg` output, the same for the same seed.
///
/// Time stamps increase monotonically; some messages span several lines
/// (call traces print one line per frame, as the kernel does).
pub fn plain(lines: usize, seed: u64) -> String {
    let mut rng = SplitMix64(seed);
    let mut out = String::with_capacity(lines * 72);
    let mut us: u64 = 0;
    let mut written = 0usize;
    while written < lines {
        us += 1 + rng.below(40_000);
        let pick = rng.below(1_000);
        let mut emit = |out: &mut String, message: &str| {
            let _ = writeln!(
                out,
                "[{:>5}.{:06}] {message}",
                us / 1_000_000,
                us % 1_000_000
            );
            written += 1;
        };
        let mut message = String::with_capacity(96);
        match pick {
            0..=299 => {
                let veth = rng.next_u64() & 0xffff_ffff_ffff;
                let port = rng.below(32);
                let state = ["blocking", "forwarding", "disabled"][rng.below(3) as usize];
                let _ = write!(
                    message,
                    "cni0: port {port}(veth{veth:012x}) entered {state} state"
                );
            }
            300..=499 => {
                let eni = rng.next_u64() & 0xff_ffff_ffff;
                let _ = write!(
                    message,
                    "IPv6: ADDRCONF(NETDEV_CHANGE): eni{eni:010x}: link becomes ready"
                );
            }
            500..=649 => {
                let pid = 1_000 + rng.below(60_000);
                let _ = write!(
                    message,
                    "audit: type=1400 audit({}.{:03}:{}): avc:  denied  {{ read }} for  pid={pid} comm=\"runc\"",
                    1_736_848_266 + us / 1_000_000,
                    rng.below(1_000),
                    rng.below(100_000)
                );
            }
            650..=799 => {
                let _ = write!(
                    message,
                    "XFS (nvme{}n1): Mounting V5 Filesystem",
                    1 + rng.below(4)
                );
            }
            800..=899 => {
                let _ = write!(
                    message,
                    "device eni{:010x} entered promiscuous mode",
                    rng.next_u64() & 0xff_ffff_ffff
                );
            }
            900..=939 => {
                message.push_str("nf_conntrack: nf_conntrack: table full, dropping packet");
            }
            940..=969 => {
                let _ = write!(
                    message,
                    "ena 0000:00:05.0 eth0: Found a Tx that wasn't completed on time, qid {}, index {}. {} usecs have passed since last napi execution. Napi scheduled: 1",
                    rng.below(8),
                    rng.below(1_024),
                    rng.below(10_000)
                );
            }
            970..=989 => {
                let pid = 1_000 + rng.below(60_000);
                let pod = rng.next_u64();
                let _ = write!(
                    message,
                    "Memory cgroup out of memory: Killed process {pid} (java) total-vm:{}kB, anon-rss:{}kB, file-rss:{}kB, shmem-rss:0kB, UID:1000 pgtables:{}kB oom_score_adj:983 pod={pod:016x}",
                    rng.below(8_000_000),
                    rng.below(2_000_000),
                    rng.below(40_000),
                    rng.below(4_000)
                );
            }
            _ => {
                let pid = 1_000 + rng.below(60_000);
                emit(
                    &mut out,
                    &format!("INFO: task containerd:{pid} blocked for more than 122 seconds."),
                );
                emit(
                    &mut out,
                    "      Not tainted 5.10.228-219.884.amzn2.x86_64 #1",
                );
                emit(&mut out, "Call Trace:");
                for frame in [
                    " __schedule+0x2d4/0x8f0",
                    " schedule+0x46/0xb0",
                    " io_schedule+0x42/0x70",
                ] {
                    emit(&mut out, frame);
                }
                continue;
            }
        }
        emit(&mut out, &message);
    }
    // Reports may overshoot by a few lines; cut to the exact count.
    if written > lines {
        let mut end = out.len();
        for _ in 0..written - lines {
            end = out[..end - 1].rfind('\n').map_or(0, |at| at + 1);
        }
        out.truncate(end);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::plain;

    #[test]
    fn deterministic_and_exact_line_count() {
        assert_eq!(plain(1_000, 7), plain(1_000, 7));
        assert_ne!(plain(1_000, 7), plain(1_000, 8));
        for lines in [0, 1, 5, 1_000, 4_321] {
            assert_eq!(plain(lines, 3).lines().count(), lines);
        }
        let text = plain(10_000, 1);
        let average = text.len() / 10_000;
        assert!((55..=90).contains(&average), "average line {average} bytes");
    }
}
