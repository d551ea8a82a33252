//! A large node bundle's file set, for benchmarks of reading bundles.
//!
//! [`large_bundle`] writes the bulk of a busy node's bundle as
//! `(root-relative path, content)`: a kubelet journal, a conntrack listing, a
//! dmesg, an iptables-save ruleset for many services, and the small
//! `system/*.txt` files. The text has the shape and the variety of the real
//! files (so it compresses like them, about 8:1 with gzip), not their full
//! semantics: per-format generators in this crate produce the exact formats
//! for parser tests; this module exists to size a bundle.

/// How big a bundle to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BundleScale {
    /// Kubernetes services (iptables-save rules).
    pub services: usize,
    /// conntrack entries.
    pub conntrack_entries: usize,
    /// dmesg lines.
    pub dmesg_lines: usize,
    /// kubelet journal lines.
    pub kubelet_lines: usize,
}

impl BundleScale {
    /// The large bundle: 5,000 services, 262,144 conntrack entries,
    /// 100,000 dmesg lines and 500,000 kubelet journal lines (about 140 MB).
    pub const LARGE: Self = Self {
        services: 5_000,
        conntrack_entries: 262_144,
        dmesg_lines: 100_000,
        kubelet_lines: 500_000,
    };
}

/// Writes the files of a bundle of `scale`, deterministically from `seed`.
pub fn large_bundle(seed: u64, scale: BundleScale) -> Vec<(String, Vec<u8>)> {
    use std::fmt::Write;
    let mut rng = SplitMix(seed);
    let host = "ip-10-0-12-34.us-west-2.compute.internal";
    let mut files = Vec::new();

    let mut kubelet = String::with_capacity(scale.kubelet_lines * 200);
    for i in 0..scale.kubelet_lines {
        let second = i / 20;
        let pod = rng.below(400);
        let _ = writeln!(
            kubelet,
            "Nov 20 {:02}:{:02}:{:02} {host} kubelet[2841]: I1120 {:02}:{:02}:{:02}.{:06}    2841 {} \"{}\" pod=\"default/app-{pod}-{:05x}\" podUID=\"{:08x}-1c2d-4e5f-8a9b-{:012x}\"",
            (second / 3600) % 24,
            (second / 60) % 60,
            second % 60,
            (second / 3600) % 24,
            (second / 60) % 60,
            second % 60,
            rng.below(1_000_000),
            [
                "kubelet.go:2463] SyncLoop (PLEG)",
                "prober.go:107] Probe failed",
                "kuberuntime_manager.go:1052] computePodActions",
                "volume_manager.go:406] Waiting for volumes"
            ][rng.below(4) as usize],
            [
                "SyncLoop (PLEG): event for pod",
                "Probe failed",
                "Container of pod is not in the desired state and shall be started",
                "All volumes are attached and mounted for pod"
            ][rng.below(4) as usize],
            rng.below(1 << 20),
            rng.below(1 << 32),
            rng.below(1 << 48),
        );
    }
    files.push(("kubelet/kubelet.log".to_owned(), kubelet.into_bytes()));

    let mut conntrack = String::from(
        "*** Output of conntrack -S *** \ncpu=0   \tfound=0 invalid=1 insert=0 insert_failed=0 drop=0 early_drop=0 error=0 search_restart=0\n*** Output of conntrack -L ***\n",
    );
    for _ in 0..scale.conntrack_entries {
        let (a, b, c) = (rng.below(256), rng.below(256), rng.below(256));
        let sport = 32768 + rng.below(28000);
        let _ = writeln!(
            conntrack,
            "tcp      6 {} ESTABLISHED src=10.0.{a}.{b} dst=172.20.{c}.{} sport={sport} dport=443 src=10.0.{}.{} dst=10.0.{a}.{b} sport=443 dport={sport} [ASSURED] mark=0 use=1",
            rng.below(432_000),
            rng.below(256),
            rng.below(256),
            rng.below(256),
        );
    }
    files.push((
        "networking/conntrack.txt".to_owned(),
        conntrack.into_bytes(),
    ));

    let mut dmesg = String::new();
    let mut micros: u64 = 0;
    for _ in 0..scale.dmesg_lines {
        micros += rng.below(50_000);
        let message = match rng.below(4) {
            0 => format!(
                "IPv6: ADDRCONF(NETDEV_CHANGE): eni{:011x}: link becomes ready",
                rng.below(1 << 44)
            ),
            1 => "nf_conntrack: nf_conntrack: table full, dropping packet".to_owned(),
            2 => format!("eth0: renamed from tmp{}", rng.below(100_000)),
            _ => format!(
                "audit: type=1400 audit({}.{}:{}): apparmor=\"STATUS\"",
                1_763_600_000 + micros / 1_000_000,
                rng.below(1000),
                rng.below(100_000)
            ),
        };
        let _ = writeln!(
            dmesg,
            "[{:5}.{:06}] {message}",
            micros / 1_000_000,
            micros % 1_000_000
        );
    }
    files.push(("kernel/dmesg.current".to_owned(), dmesg.into_bytes()));

    let mut iptables = String::from("*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n");
    for service in 0..scale.services {
        let hash = rng.below(1 << 60);
        let _ = writeln!(
            iptables,
            "-A KUBE-SERVICES -d 172.20.{}.{}/32 -p tcp -m comment --comment \"default/svc-{service}:http cluster IP\" -m tcp --dport 80 -j KUBE-SVC-{hash:016X}\n-A KUBE-SVC-{hash:016X} -m comment --comment \"default/svc-{service}:http -> 10.0.{}.{}:8080\" -j KUBE-SEP-{:016X}\n-A KUBE-SEP-{:016X} -p tcp -m comment --comment \"default/svc-{service}:http\" -m tcp -j DNAT --to-destination 10.0.{}.{}:8080",
            service / 256,
            service % 256,
            rng.below(256),
            rng.below(256),
            hash ^ 1,
            hash ^ 1,
            rng.below(256),
            rng.below(256),
        );
    }
    iptables.push_str("COMMIT\n");
    files.push((
        "networking/iptables-save.txt".to_owned(),
        iptables.into_bytes(),
    ));

    for (path, content) in [
        ("system/instance-id.txt", "i-0123456789abcdef0\n"),
        ("system/region.txt", "us-west-2\n"),
        ("system/availability-zone.txt", "us-west-2a\n"),
    ] {
        files.push((path.to_owned(), content.as_bytes().to_vec()));
    }
    files
}

/// SplitMix64: a tiny, well-mixed, deterministic generator.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..bound` (`bound` > 0).
    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}
