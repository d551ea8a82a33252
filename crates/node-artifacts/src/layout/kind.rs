//! What each file of a node bundle is, decided by its path alone.
//!
//! The collector (`eks-log-collector.sh`) always writes the same command's
//! output to the same relative path, so a path is enough to know which parser
//! reads a file. [`KIND_TABLE`] is the one place that maps path patterns to
//! [`ArtifactKind`]s; [`classify`] walks it and the first matching row wins.
//!
//! Patterns are relative to the bundle root, use `/` separators and know two
//! wildcards: `*` matches any run of characters within one path segment and
//! `**` matches any run of characters across segments.

use std::fmt;

use serde::{Serialize, Serializer};

/// The kind of one bundle file: which parser reads it, if any.
///
/// The set is closed on purpose: a new collector file first enters
/// [`KIND_TABLE`] as [`ArtifactKind::Recognised`], and becomes its own variant
/// when a parser for it exists. Serialises as its [`name`](Self::name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ArtifactKind {
    /// `networking/iptables-save.txt`: `iptables-save`.
    IptablesSave,
    /// `networking/ip6tables-save.txt`: `ip6tables-save`.
    Ip6tablesSave,
    /// `networking/iptables[-<table>].txt`: `iptables -nvL [-t table]` with
    /// the collector's `Total Number of Rules` trailer.
    IptablesList {
        /// The listed table; `None` for the listing without `--table`
        /// (which iptables shows as the filter table).
        table: Option<IptablesTable>,
    },
    /// `networking/ip6tables[-<table>].txt`: `ip6tables -nvL [-t table]`.
    Ip6tablesList {
        /// The listed table; `None` for the listing without `--table`.
        table: Option<IptablesTable>,
    },
    /// `networking/conntrack.txt`: `conntrack -S` then `conntrack -L`.
    Conntrack,
    /// `networking/conntrack6.txt`: `conntrack -L -f ipv6`.
    Conntrack6,
    /// `kernel/dmesg.boot`: a copy of `/var/log/dmesg`.
    DmesgBoot,
    /// `kernel/dmesg.current`: `dmesg` (monotonic `[secs.usecs]` stamps).
    DmesgCurrent,
    /// `kernel/dmesg.human.current`: `dmesg --ctime`.
    DmesgHuman,
    /// `kubelet/kubelet.log`: `journalctl --unit=kubelet` (short format).
    KubeletJournal,
    /// `containerd/containerd-log.txt`: `journalctl -u containerd`.
    ContainerdJournal,
    /// `docker/docker.log`: `journalctl --unit=docker`.
    DockerJournal,
    /// `sandbox-image/sandbox-image-log.txt`: `journalctl -u sandbox-image`.
    SandboxImageJournal,
    /// `nodeadm/*.log`: `journalctl --unit=nodeadm-*` and
    /// `udev-net-manager@*`.
    NodeadmJournal,
    /// `networking/configure-multicard-interfaces.txt`: `journalctl -u
    /// configure-multicard-interfaces`.
    MulticardInterfacesJournal,
    /// `sysctls/sysctl_all.txt`: `sysctl --all`.
    Sysctl,
    /// `networking/iproute.txt`: `ip route show table all`.
    IpRoute,
    /// `networking/ip6route.txt`: `ip -6 route show table all`.
    Ip6Route,
    /// `networking/iprule.txt`: `ip rule show`.
    IpRule,
    /// `networking/ip6rule.txt`: `ip -6 rule show`.
    Ip6Rule,
    /// `networking/resolv.conf`: a copy of `/etc/resolv.conf`.
    ResolvConf,
    /// `networking/ethtool.txt`: `ethtool -S` per interface.
    Ethtool,
    /// `networking/ipvsadm.txt`: `ipvsadm --save`, `--list` with rates and
    /// stats.
    Ipvsadm,
    /// `networking/ipset.txt`: `ipset --list` and `ipset --save`.
    Ipset,
    /// `ipamd/ipamd-env-settings.json`: the aws-node environment as ipamd
    /// sees it.
    IpamdEnvSettings,
    /// `cni/cni-configuration-variables-containerd.json`: the aws-node
    /// container's environment.
    CniConfigVariables,
    /// `ipamd/enis.json`: ipamd's ENI and IP address inventory.
    IpamdEnis,
    /// `cni/*.conflist`: the CNI network configuration list.
    CniConflist,
    /// `var_log/aws-routed-eni/ipamd.log`: ipamd's JSON log.
    IpamdLog,
    /// `var_log/aws-routed-eni/plugin.log` (and `egress-v6-plugin.log`): the
    /// CNI plugin's JSON log.
    CniPluginLog,
    /// `kubelet/kubelet-config.json`, `kubelet/config.json` and its
    /// `config.json.d/` drop-ins: `KubeletConfiguration`.
    KubeletConfig,
    /// `storage/inodes.txt`: `df --inodes`.
    Inodes,
    /// `storage/mounts.txt`: `mount` and `df --human-readable`.
    Mounts,
    /// `system/ps.txt`: `ps fauxwww --headers`.
    Ps,
    /// `system/procstat.txt`: `cat /proc/stat`.
    Procstat,
    /// `system/instance-id.txt`: the EC2 instance id.
    InstanceId,
    /// `system/region.txt`: the AWS region.
    Region,
    /// `system/availability-zone.txt`: the availability zone.
    AvailabilityZone,
    /// `var_log/kube-proxy.log`, `var_log/containers/kube-proxy-*` and
    /// `var_log/pods/kube-system_kube-proxy-*/**`: kube-proxy's log (klog
    /// lines, inside CRI log records for the container copies).
    KubeProxyLog,
    /// `var_log/messages` (and `var_log/syslog`): the syslog file.
    Messages,
    /// A file the collector writes that no parser reads yet.
    Recognised {
        /// What the file holds, in a few words.
        description: &'static str,
    },
    /// A file the collector is not known to write.
    Unknown,
}

/// An iptables table the collector lists with `iptables -nvL --table`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IptablesTable {
    /// `filter`.
    Filter,
    /// `nat`.
    Nat,
    /// `mangle`.
    Mangle,
}

/// Returns the kind of the bundle file at `path`.
///
/// `path` is relative to the bundle root with `/` separators, as
/// `node_bundle` stores it (`networking/conntrack.txt`). Matching is exact
/// and case-sensitive, because the collector's names are fixed; anything not
/// in [`KIND_TABLE`] is [`ArtifactKind::Unknown`].
///
/// ```
/// use node_artifacts::layout::{classify, ArtifactKind, IptablesTable};
/// assert_eq!(classify("networking/conntrack.txt"), ArtifactKind::Conntrack);
/// assert_eq!(
///     classify("networking/iptables-nat.txt"),
///     ArtifactKind::IptablesList { table: Some(IptablesTable::Nat) }
/// );
/// assert_eq!(classify("notes.txt"), ArtifactKind::Unknown);
/// ```
pub fn classify(path: &str) -> ArtifactKind {
    KIND_TABLE
        .iter()
        .find(|(pattern, _)| glob_match(pattern.as_bytes(), path.as_bytes()))
        .map_or(ArtifactKind::Unknown, |(_, kind)| *kind)
}

use ArtifactKind as K;

const fn recognised(description: &'static str) -> ArtifactKind {
    ArtifactKind::Recognised { description }
}

/// Path pattern → kind, in priority order (the first match wins).
///
/// Every file `eks-log-collector.sh` v0.7.9 writes is listed (see
/// `shared/notes/bundle-layout.md`); the ones a parser reads have their own
/// kind, the rest are [`ArtifactKind::Recognised`] with a description.
/// Rows without a wildcard double as the canonical path of their kind
/// ([`ArtifactKind::canonical_path`]), so the first exact row of a kind is
/// the path a single file of that kind is filed under.
pub const KIND_TABLE: &[(&str, ArtifactKind)] = &[
    // networking/
    ("networking/iptables-save.txt", K::IptablesSave),
    ("networking/ip6tables-save.txt", K::Ip6tablesSave),
    ("networking/iptables.txt", K::IptablesList { table: None }),
    (
        "networking/iptables-filter.txt",
        K::IptablesList {
            table: Some(IptablesTable::Filter),
        },
    ),
    (
        "networking/iptables-nat.txt",
        K::IptablesList {
            table: Some(IptablesTable::Nat),
        },
    ),
    (
        "networking/iptables-mangle.txt",
        K::IptablesList {
            table: Some(IptablesTable::Mangle),
        },
    ),
    ("networking/ip6tables.txt", K::Ip6tablesList { table: None }),
    (
        "networking/ip6tables-filter.txt",
        K::Ip6tablesList {
            table: Some(IptablesTable::Filter),
        },
    ),
    (
        "networking/ip6tables-nat.txt",
        K::Ip6tablesList {
            table: Some(IptablesTable::Nat),
        },
    ),
    (
        "networking/ip6tables-mangle.txt",
        K::Ip6tablesList {
            table: Some(IptablesTable::Mangle),
        },
    ),
    ("networking/conntrack.txt", K::Conntrack),
    ("networking/conntrack6.txt", K::Conntrack6),
    ("networking/iproute.txt", K::IpRoute),
    ("networking/ip6route.txt", K::Ip6Route),
    ("networking/iprule.txt", K::IpRule),
    ("networking/ip6rule.txt", K::Ip6Rule),
    ("networking/resolv.conf", K::ResolvConf),
    ("networking/ethtool.txt", K::Ethtool),
    ("networking/ipvsadm.txt", K::Ipvsadm),
    ("networking/ipset.txt", K::Ipset),
    (
        "networking/configure-multicard-interfaces.txt",
        K::MulticardInterfacesJournal,
    ),
    ("networking/ifconfig.txt", recognised("ifconfig output")),
    ("networking/ping_*.txt", recognised("ping results")),
    (
        "networking/curl_api_server.txt",
        recognised("API server reachability (curl)"),
    ),
    (
        "networking/systemd-network/**",
        recognised("systemd-networkd configuration"),
    ),
    (
        "networking/ebpf-*.txt",
        recognised("VPC CNI eBPF data (aws-eks-na-cli)"),
    ),
    // kernel/ and modinfo/
    ("kernel/dmesg.boot", K::DmesgBoot),
    ("kernel/dmesg.current", K::DmesgCurrent),
    ("kernel/dmesg.human.current", K::DmesgHuman),
    ("kernel/uname.txt", recognised("uname -a")),
    ("modinfo/**", recognised("kernel module information")),
    // kubelet/
    ("kubelet/kubelet.log", K::KubeletJournal),
    ("kubelet/kubelet-config.json", K::KubeletConfig),
    ("kubelet/config.json", K::KubeletConfig),
    ("kubelet/config.json.d/**", K::KubeletConfig),
    (
        "kubelet/kubelet_service.txt",
        recognised("kubelet systemd unit"),
    ),
    (
        "kubelet/kubelet-eks_service.txt",
        recognised("kubelet-eks snap service"),
    ),
    ("kubelet/svc.log", recognised("kubectl get svc")),
    ("kubelet/kubeconfig.yaml", recognised("kubelet kubeconfig")),
    // nodeadm/, docker/, containerd/, sandbox-image/
    ("nodeadm/*.log", K::NodeadmJournal),
    ("docker/docker.log", K::DockerJournal),
    ("docker/**", recognised("docker state")),
    ("containerd/containerd-log.txt", K::ContainerdJournal),
    (
        "containerd/containerd-config.txt",
        recognised("containerd configuration"),
    ),
    (
        "containerd/containerd-*.txt",
        recognised("containerd state (ctr)"),
    ),
    (
        "containerd/containerd.*.stacks.log",
        recognised("containerd goroutine dump"),
    ),
    (
        "containerd/soci-snapshotter/**",
        recognised("soci-snapshotter"),
    ),
    (
        "sandbox-image/sandbox-image-log.txt",
        K::SandboxImageJournal,
    ),
    // system/
    ("system/instance-id.txt", K::InstanceId),
    ("system/region.txt", K::Region),
    ("system/availability-zone.txt", K::AvailabilityZone),
    ("system/ps.txt", K::Ps),
    ("system/procstat.txt", K::Procstat),
    ("system/selinux.txt", recognised("SELinux status")),
    ("system/pkglist.txt", recognised("installed packages")),
    ("system/services.txt", recognised("systemd units")),
    ("system/systemd-analyze.svg", recognised("boot chart")),
    ("system/top.txt", recognised("top snapshot")),
    ("system/ps-threads.txt", recognised("process threads")),
    ("system/netstat.txt", recognised("sockets (netstat -plant)")),
    (
        "system/allprocstat.txt",
        recognised("per-process /proc stat"),
    ),
    (
        "system/large_environments.txt",
        recognised("processes with large environments"),
    ),
    (
        "system/cpu_throttling.txt",
        recognised("cgroup CPU throttling"),
    ),
    (
        "system/io_throttling.txt",
        recognised("cgroup IO throttling"),
    ),
    ("system/last_reboot.txt", recognised("reboot history")),
    // storage/
    ("storage/inodes.txt", K::Inodes),
    ("storage/mounts.txt", K::Mounts),
    ("storage/lsblk.txt", recognised("block devices")),
    ("storage/lvs.txt", recognised("LVM logical volumes")),
    ("storage/pvs.txt", recognised("LVM physical volumes")),
    ("storage/vgs.txt", recognised("LVM volume groups")),
    ("storage/fstab.txt", recognised("fstab")),
    ("storage/xfs.txt", recognised("XFS information")),
    (
        "storage/pod_local_storage.txt",
        recognised("pod local storage usage"),
    ),
    // var_log/
    ("var_log/messages", K::Messages),
    ("var_log/syslog", K::Messages),
    ("var_log/kube-proxy.log", K::KubeProxyLog),
    // The collector copies selected container logs flat into var_log/.
    ("var_log/kube-proxy-*", K::KubeProxyLog),
    ("var_log/containers/kube-proxy-*", K::KubeProxyLog),
    ("var_log/pods/kube-system_kube-proxy-*/**", K::KubeProxyLog),
    ("var_log/aws-routed-eni/ipamd.log", K::IpamdLog),
    ("var_log/aws-routed-eni/plugin.log", K::CniPluginLog),
    (
        "var_log/aws-routed-eni/egress-v6-plugin.log",
        K::CniPluginLog,
    ),
    ("var_log/aws-routed-eni/**", recognised("VPC CNI log")),
    ("var_log/containers/**", recognised("container log")),
    ("var_log/pods/**", recognised("pod log")),
    ("var_log/cloud-init*", recognised("cloud-init log")),
    ("var_log/user-data.log", recognised("user data log")),
    ("var_log/cron*", recognised("cron log")),
    (
        "var_log/unattended-upgrades/**",
        recognised("unattended-upgrades log"),
    ),
    // ipamd/, sysctls/, cni/, gpu/
    ("ipamd/ipamd-env-settings.json", K::IpamdEnvSettings),
    ("ipamd/enis.json", K::IpamdEnis),
    ("ipamd/pods.json", recognised("ipamd pod IP assignments")),
    (
        "ipamd/networkutils-env-settings.json",
        recognised("ipamd networkutils settings"),
    ),
    (
        "ipamd/eni-configs.json",
        recognised("ENIConfig custom networking"),
    ),
    ("ipamd/metrics.json", recognised("ipamd metrics")),
    ("ipamd/**", recognised("aws-node checkpoint")),
    ("sysctls/sysctl_all.txt", K::Sysctl),
    (
        "cni/cni-configuration-variables-containerd.json",
        K::CniConfigVariables,
    ),
    (
        "cni/cni-configuration-variables-dockerd.txt",
        recognised("aws-node environment (docker)"),
    ),
    ("cni/10-aws.conflist", K::CniConflist),
    ("cni/*.conflist", K::CniConflist),
    ("cni/**", recognised("CNI network configuration")),
    ("gpu/nvidia-bug-report.log", recognised("NVIDIA bug report")),
];

impl ArtifactKind {
    /// The kebab-case name, used as `--kind` on the command line and in
    /// serialised reports (`iptables-save`, `iptables-list-nat`, `recognised`).
    pub fn name(&self) -> &'static str {
        use IptablesTable as T;
        match self {
            K::IptablesSave => "iptables-save",
            K::Ip6tablesSave => "ip6tables-save",
            K::IptablesList { table: None } => "iptables-list",
            K::IptablesList {
                table: Some(T::Filter),
            } => "iptables-list-filter",
            K::IptablesList {
                table: Some(T::Nat),
            } => "iptables-list-nat",
            K::IptablesList {
                table: Some(T::Mangle),
            } => "iptables-list-mangle",
            K::Ip6tablesList { table: None } => "ip6tables-list",
            K::Ip6tablesList {
                table: Some(T::Filter),
            } => "ip6tables-list-filter",
            K::Ip6tablesList {
                table: Some(T::Nat),
            } => "ip6tables-list-nat",
            K::Ip6tablesList {
                table: Some(T::Mangle),
            } => "ip6tables-list-mangle",
            K::Conntrack => "conntrack",
            K::Conntrack6 => "conntrack6",
            K::DmesgBoot => "dmesg-boot",
            K::DmesgCurrent => "dmesg-current",
            K::DmesgHuman => "dmesg-human",
            K::KubeletJournal => "kubelet-journal",
            K::ContainerdJournal => "containerd-journal",
            K::DockerJournal => "docker-journal",
            K::SandboxImageJournal => "sandbox-image-journal",
            K::NodeadmJournal => "nodeadm-journal",
            K::MulticardInterfacesJournal => "multicard-interfaces-journal",
            K::Sysctl => "sysctl",
            K::IpRoute => "ip-route",
            K::Ip6Route => "ip6-route",
            K::IpRule => "ip-rule",
            K::Ip6Rule => "ip6-rule",
            K::ResolvConf => "resolv-conf",
            K::Ethtool => "ethtool",
            K::Ipvsadm => "ipvsadm",
            K::Ipset => "ipset",
            K::IpamdEnvSettings => "ipamd-env-settings",
            K::CniConfigVariables => "cni-config-variables",
            K::IpamdEnis => "ipamd-enis",
            K::CniConflist => "cni-conflist",
            K::IpamdLog => "ipamd-log",
            K::CniPluginLog => "cni-plugin-log",
            K::KubeletConfig => "kubelet-config",
            K::Inodes => "inodes",
            K::Mounts => "mounts",
            K::Ps => "ps",
            K::Procstat => "procstat",
            K::InstanceId => "instance-id",
            K::Region => "region",
            K::AvailabilityZone => "availability-zone",
            K::KubeProxyLog => "kube-proxy-log",
            K::Messages => "messages",
            K::Recognised { .. } => "recognised",
            K::Unknown => "unknown",
        }
    }

    /// The kind named `name` (the inverse of [`name`](Self::name)), for the
    /// kinds a caller can ask for: every kind except
    /// [`Recognised`](Self::Recognised) and [`Unknown`](Self::Unknown),
    /// which no parser reads.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::named().into_iter().find(|kind| kind.name() == name)
    }

    /// Every kind that has a name [`from_name`](Self::from_name) accepts, in
    /// table order, each once.
    pub fn named() -> Vec<Self> {
        let mut kinds: Vec<Self> = Vec::new();
        for (_, kind) in KIND_TABLE {
            if !matches!(kind, K::Recognised { .. } | K::Unknown) && !kinds.contains(kind) {
                kinds.push(*kind);
            }
        }
        kinds
    }

    /// The path, relative to the bundle root, where the collector writes
    /// this kind (the first wildcard-free row of [`KIND_TABLE`]).
    ///
    /// A single artifact file read with its kind named is filed under this
    /// path, so the rest of the pipeline finds it as if it came in a bundle.
    /// `None` for [`Recognised`](Self::Recognised) and
    /// [`Unknown`](Self::Unknown), and for kinds whose paths all carry a
    /// variable part (`nodeadm/*.log`), where [`sample_path`](Self::sample_path)
    /// gives a usable one.
    pub fn canonical_path(&self) -> Option<&'static str> {
        if matches!(self, K::Recognised { .. } | K::Unknown) {
            return None;
        }
        KIND_TABLE
            .iter()
            .find(|(pattern, kind)| kind == self && !pattern.contains('*'))
            .map(|(pattern, _)| *pattern)
    }

    /// A concrete path of this kind: the [`canonical_path`](Self::canonical_path)
    /// or, for kinds found only by a wildcard pattern, a representative name
    /// (`nodeadm/nodeadm-run.log`). `None` for `Recognised` and `Unknown`.
    pub fn sample_path(&self) -> Option<&'static str> {
        match self {
            K::NodeadmJournal => Some("nodeadm/nodeadm-run.log"),
            _ => self.canonical_path(),
        }
    }

    /// What the file holds, in a few words (for reports read by people and
    /// agents).
    pub fn description(&self) -> &'static str {
        match self {
            K::IptablesSave => "iptables-save ruleset",
            K::Ip6tablesSave => "ip6tables-save ruleset",
            K::IptablesList { .. } => "iptables -nvL listing with counters",
            K::Ip6tablesList { .. } => "ip6tables -nvL listing with counters",
            K::Conntrack => "conntrack statistics and flow table",
            K::Conntrack6 => "IPv6 conntrack flow table",
            K::DmesgBoot => "kernel messages at boot (/var/log/dmesg)",
            K::DmesgCurrent => "kernel ring buffer (dmesg)",
            K::DmesgHuman => "kernel ring buffer with wall-clock times (dmesg --ctime)",
            K::KubeletJournal => "kubelet journal",
            K::ContainerdJournal => "containerd journal",
            K::DockerJournal => "docker journal",
            K::SandboxImageJournal => "sandbox-image journal",
            K::NodeadmJournal => "nodeadm journal",
            K::MulticardInterfacesJournal => "configure-multicard-interfaces journal",
            K::Sysctl => "kernel parameters (sysctl --all)",
            K::IpRoute => "IPv4 routes, all tables",
            K::Ip6Route => "IPv6 routes, all tables",
            K::IpRule => "IPv4 policy routing rules",
            K::Ip6Rule => "IPv6 policy routing rules",
            K::ResolvConf => "DNS resolver configuration",
            K::Ethtool => "NIC statistics (ethtool -S)",
            K::Ipvsadm => "IPVS virtual servers",
            K::Ipset => "ipsets",
            K::IpamdEnvSettings => "ipamd environment settings",
            K::CniConfigVariables => "aws-node container environment",
            K::IpamdEnis => "ipamd ENI and IP inventory",
            K::CniConflist => "CNI network configuration list",
            K::IpamdLog => "ipamd log",
            K::CniPluginLog => "VPC CNI plugin log",
            K::KubeletConfig => "kubelet configuration",
            K::Inodes => "filesystem inode usage",
            K::Mounts => "mounts and filesystem usage",
            K::Ps => "process list",
            K::Procstat => "/proc/stat",
            K::InstanceId => "EC2 instance id",
            K::Region => "AWS region",
            K::AvailabilityZone => "availability zone",
            K::KubeProxyLog => "kube-proxy log",
            K::Messages => "syslog messages",
            K::Recognised { description } => description,
            K::Unknown => "not a file the collector writes",
        }
    }
}

impl fmt::Display for ArtifactKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for ArtifactKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// Matches `path` against a pattern where `*` stands for any bytes except
/// `/` and `**` for any bytes at all. Backtracking is bounded by the short,
/// fixed patterns of [`KIND_TABLE`] (at most one wildcard each).
fn glob_match(pattern: &[u8], path: &[u8]) -> bool {
    match pattern.iter().position(|&byte| byte == b'*') {
        None => pattern == path,
        Some(star) => {
            let (literal, rest) = pattern.split_at(star);
            let Some(path_rest) = path.strip_prefix(literal) else {
                return false;
            };
            let (crosses_slash, after) = match rest.strip_prefix(b"**") {
                Some(after) => (true, after),
                None => (false, &rest[1..]),
            };
            for skip in 0..=path_rest.len() {
                if skip > 0 && !crosses_slash && path_rest[skip - 1] == b'/' {
                    return false;
                }
                if glob_match(after, &path_rest[skip..]) {
                    return true;
                }
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[track_caller]
    fn check(pattern: &str, path: &str, expect: bool) {
        assert_eq!(
            glob_match(pattern.as_bytes(), path.as_bytes()),
            expect,
            "{pattern} vs {path}"
        );
    }

    #[test]
    fn glob() {
        check("a/b.txt", "a/b.txt", true);
        check("a/b.txt", "a/b.txtx", false);
        check("a/*.log", "a/x.log", true);
        check("a/*.log", "a/.log", true);
        check("a/*.log", "a/x/y.log", false);
        check("a/**", "a/x/y.log", true);
        check("a/**", "a/", true);
        check("a/**", "a", false);
        check("a/ping_*.txt", "a/ping_amazon.com.txt", true);
        check("a/c.*.stacks.log", "a/c.1234.stacks.log", true);
        check("a/*", "b/x", false);
    }
}
