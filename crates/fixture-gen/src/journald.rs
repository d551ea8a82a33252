//! Large, realistic `journalctl` outputs for the journald benchmarks.
//!
//! [`kubelet_short`] writes what the EKS log collector stores as
//! `kubelet/kubelet.log` (`journalctl --unit=kubelet`, `short` format): klog
//! lines in the structured and the older unstructured form, with the PLEG,
//! eviction, image-pull, certificate and node-status messages a troubled node
//! shows, plus `systemd` unit lines and a reboot. [`export`] writes
//! `journalctl -o export` entries with the fields journald attaches to
//! kubelet and containerd messages, occasionally a length-prefixed binary
//! field.
//!
//! Both are deterministic functions of their arguments.

use crate::rng::SplitMix64;

use std::fmt::Write as _;

/// The first stamp: 2025-01-05T00:00:00Z, ten days before the collection.
const START_US: i64 = 1_736_035_200_000_000;
/// A us-east-1 node name (the shortest EKS hostname form).
const HOST: &str = "ip-10-0-1-23.ec2.internal";
const BOOT_IDS: [&str; 2] = [
    "4c3a0f6f2a8a4a0c9d1c0b6f3e2d1a00",
    "9f2c61d07e8b4f55a3c2d1e0f9a8b7c6",
];

/// A `journalctl --unit=kubelet` (`short`) log of `lines` entry lines
/// (about 170 bytes each; 500,000 lines are about 85 MB), starting with a
/// `-- Logs begin at … --` marker.
pub fn kubelet_short(lines: usize, seed: u64) -> String {
    let mut rng = SplitMix64(seed ^ 0x9e37_79b9_7f4a_7c15);
    let mut out = String::with_capacity(lines * 172 + 128);
    let mut now = START_US;
    // Spread the lines over about ten days.
    let mean_step = (10 * 86_400 * 1_000_000 / lines.max(1) as i64).max(2);
    let end = START_US + mean_step * lines as i64;
    let _ = writeln!(
        out,
        "-- Logs begin at {}, end at {}. --",
        marker_date(START_US - 3_600_000_000),
        marker_date(end + 5_000_000)
    );
    let reboot_at = lines / 2;
    for index in 0..lines {
        now += 1 + rng.below(2 * mean_step as u64) as i64;
        if index == reboot_at && lines > 10 {
            let _ = writeln!(out, "-- Boot {} --", BOOT_IDS[1]);
        }
        let (month, day, hour, minute, second, micros) = civil(now);
        let _ = write!(
            out,
            "{} {day:02} {hour:02}:{minute:02}:{second:02} {HOST} ",
            MONTHS[usize::from(month - 1)]
        );
        if rng.below(200) == 0 {
            let text = SYSTEMD_LINES[rng.below(SYSTEMD_LINES.len() as u64) as usize];
            let _ = writeln!(out, "systemd[1]: {text}");
            continue;
        }
        let _ = write!(out, "kubelet[2871]: ");
        let (severity, file, message) = kubelet_message(&mut rng);
        let _ = writeln!(
            out,
            "{severity}{month:02}{day:02} {hour:02}:{minute:02}:{second:02}.{micros:06}    2871 {file}] {message}"
        );
    }
    out
}

/// `entries` entries of `journalctl -o export` from kubelet and containerd,
/// across two boots; about one entry in 500 carries a multi-line `MESSAGE`
/// written in the binary form, and one in 1,000 a non-UTF-8 binary field.
pub fn export(entries: usize, seed: u64) -> Vec<u8> {
    let mut rng = SplitMix64(seed ^ 0x9e37_79b9_7f4a_7c15);
    let mut out: Vec<u8> = Vec::with_capacity(entries * 640);
    let mut now = START_US;
    let mut monotonic: u64 = 41_000_000;
    let mut text = String::with_capacity(512);
    for index in 0..entries {
        let step = 1 + rng.below(1_500_000);
        now += step as i64;
        monotonic += step;
        let boot = usize::from(index >= entries / 2);
        if index == entries / 2 {
            monotonic = 12_000_000;
        }
        let containerd = rng.below(4) == 0;
        let (ident, pid, unit) = if containerd {
            ("containerd", 2650, "containerd.service")
        } else {
            ("kubelet", 2871, "kubelet.service")
        };
        text.clear();
        let _ = write!(
            text,
            "__CURSOR=s=7d0e2b1c9a8f4e3d2c1b0a9f8e7d6c5b;i={:x};b={};m={monotonic:x};t={now:x};x={:016x}\n\
             __REALTIME_TIMESTAMP={now}\n__MONOTONIC_TIMESTAMP={monotonic}\n_BOOT_ID={}\n\
             __SEQNUM={}\n__SEQNUM_ID=7d0e2b1c9a8f4e3d2c1b0a9f8e7d6c5b\n\
             PRIORITY=6\nSYSLOG_FACILITY=3\n_UID=0\n_GID=0\n_TRANSPORT=stdout\n\
             _MACHINE_ID=ec2a1b2c3d4e5f60718293a4b5c6d7e8\n_HOSTNAME={HOST}\n\
             SYSLOG_IDENTIFIER={ident}\n_PID={pid}\n_COMM={ident}\n_EXE=/usr/bin/{ident}\n\
             _SYSTEMD_CGROUP=/runtime.slice/{unit}\n_SYSTEMD_UNIT={unit}\n_SYSTEMD_SLICE=runtime.slice\n\
             _STREAM_ID={:032x}\n",
            0x1a2b + index,
            BOOT_IDS[boot],
            rng.next_u64(),
            BOOT_IDS[boot],
            0x1a2b + index,
            // A stream id is fixed per process and boot.
            0x5eed_0000_0000_0000_0000_0000_0000_0000u128
                + (boot as u128) * 2
                + u128::from(containerd),
        );
        out.extend_from_slice(text.as_bytes());
        text.clear();
        let (month, day, hour, minute, second, micros) = civil(now);
        if containerd {
            let message = CONTAINERD_MESSAGES[rng.below(CONTAINERD_MESSAGES.len() as u64) as usize];
            let (year, ..) = civil_year(now);
            let _ = write!(
                text,
                "time=\"{year}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{micros:06}{:03}Z\" {message}",
                rng.below(1000)
            );
        } else {
            let (severity, file, message) = kubelet_message(&mut rng);
            let _ = write!(
                text,
                "{severity}{month:02}{day:02} {hour:02}:{minute:02}:{second:02}.{micros:06}    2871 {file}] {message}"
            );
        }
        if index % 500 == 499 {
            text.push_str("\ngoroutine 1 [running]:\nmain.main()\n\t/workspace/cmd/kubelet/kubelet.go:56 +0x1d");
            binary_field(&mut out, "MESSAGE", text.as_bytes());
        } else {
            out.extend_from_slice(b"MESSAGE=");
            out.extend_from_slice(text.as_bytes());
            out.push(b'\n');
        }
        if index % 1000 == 999 {
            let mut blob = [0u8; 24];
            for byte in &mut blob {
                *byte = rng.below(256) as u8;
            }
            blob[0] = 0xff;
            binary_field(&mut out, "COREDUMP_PROC_AUXV", &blob);
        }
        out.push(b'\n');
    }
    out
}

fn binary_field(out: &mut Vec<u8>, name: &str, bytes: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(bytes);
    out.push(b'\n');
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

const SYSTEMD_LINES: [&str; 4] = [
    "Started kubelet.service - Kubernetes Kubelet.",
    "Stopping kubelet.service - Kubernetes Kubelet...",
    "kubelet.service: Deactivated successfully.",
    "kubelet.service: Consumed 2min 41.120s CPU time, 96.3M memory peak.",
];

const CONTAINERD_MESSAGES: [&str; 5] = [
    "level=info msg=\"StartContainer for \\\"5b0e7c1d2f3a\\\" returns successfully\"",
    "level=info msg=\"ImageCreate event name:\\\"602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10\\\" labels:{key:\\\"io.cri-containerd.image\\\" value:\\\"managed\\\"}\"",
    "level=error msg=\"PullImage \\\"nginx:1.27\\\" failed\" error=\"rpc error: code = Unknown desc = failed to pull and unpack image \\\"docker.io/library/nginx:1.27\\\": failed to copy: httpReadSeeker: failed open: unexpected status code 429 Too Many Requests\"",
    "level=warning msg=\"cleaning up after shim disconnected\" id=5b0e7c1d2f3a4b5c namespace=k8s.io",
    "level=info msg=\"RemoveContainer for \\\"8c1d2e3f4a5b\\\" returns successfully\"",
];

const PODS: [&str; 8] = [
    "default/web-7d4b9c8f6-x2x9q",
    "kube-system/coredns-5d8f8d6b9-abcde",
    "kube-system/aws-node-4kq2n",
    "kube-system/kube-proxy-8vx7m",
    "payments/api-6c9f7d8b5-q1w2e",
    "payments/worker-5b8d7c6f4-r3t4y",
    "monitoring/node-exporter-9zx8c",
    "kube-system/ebs-csi-node-m5n6b",
];

/// A kubelet klog message: (severity letter, `file:line`, message).
fn kubelet_message(rng: &mut SplitMix64) -> (char, &'static str, String) {
    let pod = PODS[rng.below(PODS.len() as u64) as usize];
    let uid = rng.next_u64();
    match rng.below(64) {
        0 => (
            'I',
            "kubelet.go:2412",
            "\"Skipping pod synchronization\" err=\"PLEG is not healthy: pleg was last seen active 3m10.1s ago; threshold is 3m0s\"".to_owned(),
        ),
        1 => (
            'E',
            "generic.go:241",
            "\"PLEG is not healthy\" pleg=\"pleg was last seen active 3m10.1s ago; threshold is 3m0s\"".to_owned(),
        ),
        2 => (
            'E',
            "pod_workers.go:1301",
            format!(
                "\"Error syncing pod, skipping\" err=\"failed to \\\"StartContainer\\\" for \\\"app\\\" with ImagePullBackOff: \\\"Back-off pulling image \\\\\\\"nginx:1.27\\\\\\\"\\\"\" pod=\"{pod}\" podUID=\"{uid:016x}\""
            ),
        ),
        3 => (
            'W',
            "eviction_manager.go:366",
            "\"Eviction manager: attempting to reclaim\" resourceName=\"memory\"".to_owned(),
        ),
        4 => (
            'I',
            "eviction_manager.go:616",
            format!("\"Eviction manager: pod is evicted successfully\" pod=\"{pod}\""),
        ),
        5 => (
            'E',
            "kubelet_node_status.go:535",
            "\"Error updating node status, will retry\" err=\"error getting node \\\"ip-10-0-1-23.ec2.internal\\\": context deadline exceeded\"".to_owned(),
        ),
        6 => (
            'E',
            "certificate_manager.go:562",
            "\"Unhandled Error\" err=\"kubernetes.io/kubelet-serving: certificate request was not signed: timed out waiting for the condition\" logger=\"UnhandledError\"".to_owned(),
        ),
        7 => (
            'I',
            "reconciler_common.go:245",
            format!(
                "operationExecutor.VerifyControllerAttachedVolume started for volume \"kube-api-access-{:05x}\" (UniqueName: \"kubernetes.io/projected/{uid:016x}-kube-api-access\") pod \"{pod}\"",
                uid & 0xfffff
            ),
        ),
        8 => (
            'I',
            "kubelet.go:2426",
            format!("\"SyncLoop (PLEG): event for pod\" pod=\"{pod}\" event={{\"ID\":\"{uid:016x}\",\"Type\":\"ContainerStarted\"}}"),
        ),
        10..=18 => (
            'I',
            "kuberuntime_manager.go:1045",
            format!("\"Creating PodSandbox for pod\" pod=\"{pod}\""),
        ),
        9 => (
            'E',
            "log.go:32",
            "\"PullImage from image service failed\" err=\"rpc error: code = NotFound desc = failed to pull and unpack image\" image=\"602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10\"".to_owned(),
        ),
        19..=28 => ('I', "kubelet.go:2453", format!("\"SyncLoop (probe)\" probe=\"readiness\" status=\"ready\" pod=\"{pod}\"")),
        29..=38 => ('I', "kubelet.go:2408", format!("\"SyncLoop UPDATE\" source=\"api\" pods=[\"{pod}\"]")),
        39..=42 => ('I', "kubelet_node_status.go:488", "Setting node annotation to enable volume controller attach/detach".to_owned()),
        43..=47 => (
            'I',
            "kubelet_pods.go:1012",
            format!("\"Pod status updated\" pod=\"{pod}\" podUID=\"{uid:016x}\" phase=\"Running\" ready=true"),
        ),
        48..=55 => ('I', "prober.go:107", "\"Probe succeeded\" probeType=\"Liveness\"".to_owned()),
        _ => ('I', "kubelet.go:2434", "\"SyncLoop RECONCILE\" source=\"api\"".to_owned()),
    }
}

fn marker_date(us: i64) -> String {
    let (year, month, day) = civil_year(us);
    let (_, _, hour, minute, second, _) = civil(us);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
        [(us.div_euclid(86_400_000_000).rem_euclid(7)) as usize];
    format!("{weekday} {year}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02} UTC")
}

/// (month, day, hour, minute, second, micros) of a UTC timestamp.
fn civil(us: i64) -> (u8, u8, u8, u8, u8, u32) {
    let (_, month, day) = civil_year(us);
    let in_day = us.rem_euclid(86_400_000_000);
    let seconds = in_day / 1_000_000;
    (
        month,
        day,
        (seconds / 3_600) as u8,
        (seconds / 60 % 60) as u8,
        (seconds % 60) as u8,
        (in_day % 1_000_000) as u32,
    )
}

/// (year, month, day) of a UTC timestamp (Howard Hinnant's algorithm).
fn civil_year(us: i64) -> (i64, u8, u8) {
    let z = us.div_euclid(86_400_000_000) + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_sized() {
        let a = kubelet_short(1_000, 7);
        assert_eq!(a, kubelet_short(1_000, 7));
        assert_ne!(a, kubelet_short(1_000, 8));
        assert_eq!(a.lines().count(), 1_000 + 2); // marker and reboot
        assert!(a.starts_with("-- Logs begin at Sat 2025-01-04 23:00:00 UTC, end at "));
        let per_line = a.len() / 1_000;
        assert!((150..=190).contains(&per_line), "{per_line} bytes per line");
        let e = export(100, 7);
        assert_eq!(e, export(100, 7));
        assert_eq!(civil_year(START_US), (2025, 1, 5));
    }
}
