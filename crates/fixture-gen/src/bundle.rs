//! A large node bundle's file set, for benchmarks of reading bundles.
//!
//! [`large_bundle`] writes the bulk of a busy node's bundle as
//! `(root-relative path, content)`: a kubelet journal, a conntrack table, a
//! dmesg, an iptables-save ruleset for many services and its `-nvL` listing,
//! `sysctl --all`, routes, ethtool counters, `ps`, and the small
//! `system/*.txt` files, each written by this crate's generator for that
//! format, so reading and parsing the bundle measures the real work.

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

/// Writes the files of a bundle of `scale`, deterministically from `seed`,
/// with the per-format generators of this crate: every file is in the exact
/// format the collector writes, so parsing the bundle measures real parsing.
pub fn large_bundle(seed: u64, scale: BundleScale) -> Vec<(String, Vec<u8>)> {
    let conntrack = format!(
        "*** Output of conntrack -S *** \n\
         cpu=0   \tfound=0 invalid=11 insert=0 insert_failed=0 drop=0 early_drop=0 error=0 search_restart=17 \n\
         cpu=1   \tfound=0 invalid=9 insert=0 insert_failed=0 drop=0 early_drop=0 error=0 search_restart=12 \n\
         *** Output of conntrack -L ***\n{}",
        crate::conntrack::table(scale.conntrack_entries, seed)
    );
    let mut files = vec![
        (
            "kubelet/kubelet.log".to_owned(),
            crate::journald::kubelet_short(scale.kubelet_lines, seed).into_bytes(),
        ),
        (
            "networking/conntrack.txt".to_owned(),
            conntrack.into_bytes(),
        ),
        (
            "kernel/dmesg.current".to_owned(),
            crate::dmesg::plain(scale.dmesg_lines, seed).into_bytes(),
        ),
        (
            "networking/iptables-save.txt".to_owned(),
            crate::iptables::kube_proxy_ruleset(scale.services, 3).into_bytes(),
        ),
        (
            "networking/iptables-nat.txt".to_owned(),
            crate::extra::iptables_nat_listing(scale.services).into_bytes(),
        ),
        (
            "sysctls/sysctl_all.txt".to_owned(),
            crate::extra::sysctl_all(110).into_bytes(),
        ),
        (
            "networking/iproute.txt".to_owned(),
            crate::extra::ip_route(110).into_bytes(),
        ),
        (
            "networking/ethtool.txt".to_owned(),
            crate::extra::ethtool(4, 8).into_bytes(),
        ),
        (
            "system/ps.txt".to_owned(),
            crate::extra::ps(110).into_bytes(),
        ),
    ];
    for (path, content) in [
        ("system/instance-id.txt", "i-0123456789abcdef0\n"),
        ("system/region.txt", "us-west-2\n"),
        ("system/availability-zone.txt", "us-west-2a\n"),
    ] {
        files.push((path.to_owned(), content.as_bytes().to_vec()));
    }
    files
}
