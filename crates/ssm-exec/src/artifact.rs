//! The closed allow-list of artifacts a caller may collect.
//!
//! Each [`Artifact`] maps to one value of the `artifact` parameter of the
//! project's SSM document (`ssm-documents/eks-node-diagnostics.yaml`), whose
//! `allowedValues` list is the same set; a test compares the two. A caller
//! picks a variant; it never writes any part of a command line. The only
//! free-ish inputs, the journal unit and the time window, are themselves a
//! closed enum ([`JournalUnit`]) and a bounded integer ([`SinceMinutes`]).
//!
//! ```text
//! Artifact::Journal { unit: JournalUnit::Kubelet, since: SinceMinutes::new(30)? }
//!   -> parameters { artifact: ["journal"], unit: ["kubelet"], sinceMinutes: ["30"] }
//! ```

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;

use crate::error::Error;

/// One artifact the SSM document can collect from a node.
///
/// The set is closed on purpose: adding a variant means adding a value to the
/// document's `allowedValues` and a line to its `case`, a reviewed change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "artifact", rename_all = "kebab-case")]
pub enum Artifact {
    /// `iptables-save -c`: IPv4 rules with counters.
    IptablesSave,
    /// `ip6tables-save -c`: IPv6 rules with counters.
    Ip6tablesSave,
    /// `conntrack -L`: the IPv4 connection tracking table.
    ConntrackList,
    /// `conntrack -L -f ipv6`: the IPv6 connection tracking table.
    Conntrack6List,
    /// `conntrack -S`: per-CPU conntrack statistics.
    ConntrackStats,
    /// `nf_conntrack_count` and `nf_conntrack_max`, one integer per line.
    ConntrackCount,
    /// `dmesg`: the kernel ring buffer, seconds since boot.
    Dmesg,
    /// `dmesg --time-format iso`: the kernel ring buffer with wall-clock stamps.
    DmesgIso,
    /// `journalctl --output=export --unit <unit> --since -<n>min`.
    Journal {
        /// The allow-listed systemd unit.
        unit: JournalUnit,
        /// How far back to read.
        since: SinceMinutes,
    },
    /// `sysctl -a`.
    Sysctl,
    /// `ip route show table all`.
    IpRoute,
    /// `ip -6 route show table all`.
    Ip6Route,
    /// `ip rule show`.
    IpRule,
    /// `ip -6 rule show`.
    Ip6Rule,
    /// `ip addr show`.
    IpAddr,
    /// `ip -s -s link show`: interfaces with error and drop counters.
    IpLinkStats,
    /// `/etc/resolv.conf`.
    ResolvConf,
    /// `ethtool -S` for every interface but `lo`, each after a `### <iface>` line.
    EthtoolStats,
    /// The VPC CNI ipamd introspection endpoint `/v1/enis` (JSON).
    IpamdEnis,
    /// The VPC CNI ipamd Prometheus metrics (`:61678/metrics`).
    IpamdMetrics,
}

impl Artifact {
    /// Every artifact kind, with default journal parameters, in document order.
    pub const ALL: [Artifact; 20] = [
        Artifact::IptablesSave,
        Artifact::Ip6tablesSave,
        Artifact::ConntrackList,
        Artifact::Conntrack6List,
        Artifact::ConntrackStats,
        Artifact::ConntrackCount,
        Artifact::Dmesg,
        Artifact::DmesgIso,
        Artifact::Journal {
            unit: JournalUnit::Kubelet,
            since: SinceMinutes::DEFAULT,
        },
        Artifact::Sysctl,
        Artifact::IpRoute,
        Artifact::Ip6Route,
        Artifact::IpRule,
        Artifact::Ip6Rule,
        Artifact::IpAddr,
        Artifact::IpLinkStats,
        Artifact::ResolvConf,
        Artifact::EthtoolStats,
        Artifact::IpamdEnis,
        Artifact::IpamdMetrics,
    ];

    /// The value of the document's `artifact` parameter.
    pub fn name(self) -> &'static str {
        match self {
            Artifact::IptablesSave => "iptables-save",
            Artifact::Ip6tablesSave => "ip6tables-save",
            Artifact::ConntrackList => "conntrack-list",
            Artifact::Conntrack6List => "conntrack6-list",
            Artifact::ConntrackStats => "conntrack-stats",
            Artifact::ConntrackCount => "conntrack-count",
            Artifact::Dmesg => "dmesg",
            Artifact::DmesgIso => "dmesg-iso",
            Artifact::Journal { .. } => "journal",
            Artifact::Sysctl => "sysctl",
            Artifact::IpRoute => "ip-route",
            Artifact::Ip6Route => "ip6-route",
            Artifact::IpRule => "ip-rule",
            Artifact::Ip6Rule => "ip6-rule",
            Artifact::IpAddr => "ip-addr",
            Artifact::IpLinkStats => "ip-link-stats",
            Artifact::ResolvConf => "resolv-conf",
            Artifact::EthtoolStats => "ethtool-stats",
            Artifact::IpamdEnis => "ipamd-enis",
            Artifact::IpamdMetrics => "ipamd-metrics",
        }
    }

    /// Parses a document value (`"iptables-save"`, …). `"journal"` gets the
    /// default unit and window; use [`Artifact::Journal`] to choose them.
    pub fn from_name(name: &str) -> Result<Artifact, Error> {
        Artifact::ALL
            .into_iter()
            .find(|artifact| artifact.name() == name)
            .ok_or_else(|| Error::InvalidInput {
                what: "artifact",
                reason: format!("`{}` is not one of the allow-listed artifacts", name.escape_debug()),
            })
    }

    /// The SendCommand `Parameters` map for this artifact. Every parameter is
    /// always sent, so the document's defaults never decide what runs.
    pub fn parameters(self) -> HashMap<String, Vec<String>> {
        let (unit, since) = match self {
            Artifact::Journal { unit, since } => (unit, since),
            _ => (JournalUnit::Kubelet, SinceMinutes::DEFAULT),
        };
        HashMap::from([
            ("artifact".to_owned(), vec![self.name().to_owned()]),
            ("unit".to_owned(), vec![unit.name().to_owned()]),
            ("sinceMinutes".to_owned(), vec![since.get().to_string()]),
        ])
    }
}

impl fmt::Display for Artifact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Artifact::Journal { unit, since } => {
                write!(f, "journal({}, {}min)", unit.name(), since.get())
            }
            other => f.write_str(other.name()),
        }
    }
}

/// A systemd unit whose journal may be read (the document's `unit` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum JournalUnit {
    /// `kubelet`.
    Kubelet,
    /// `containerd`.
    Containerd,
    /// `sandbox-image` (pulls the pause image on older AMIs).
    SandboxImage,
    /// `kube-proxy` when it runs as a unit rather than a pod.
    KubeProxy,
    /// `nodeadm-config` (AL2023 node bootstrap, first phase).
    NodeadmConfig,
    /// `nodeadm-run` (AL2023 node bootstrap, second phase).
    NodeadmRun,
    /// `amazon-ssm-agent`.
    AmazonSsmAgent,
    /// `systemd-networkd`.
    SystemdNetworkd,
    /// `systemd-resolved`.
    SystemdResolved,
    /// `chronyd` (time sync).
    Chronyd,
}

impl JournalUnit {
    /// Every allow-listed unit, in document order.
    pub const ALL: [JournalUnit; 10] = [
        JournalUnit::Kubelet,
        JournalUnit::Containerd,
        JournalUnit::SandboxImage,
        JournalUnit::KubeProxy,
        JournalUnit::NodeadmConfig,
        JournalUnit::NodeadmRun,
        JournalUnit::AmazonSsmAgent,
        JournalUnit::SystemdNetworkd,
        JournalUnit::SystemdResolved,
        JournalUnit::Chronyd,
    ];

    /// The unit name as the document's `unit` parameter takes it.
    pub fn name(self) -> &'static str {
        match self {
            JournalUnit::Kubelet => "kubelet",
            JournalUnit::Containerd => "containerd",
            JournalUnit::SandboxImage => "sandbox-image",
            JournalUnit::KubeProxy => "kube-proxy",
            JournalUnit::NodeadmConfig => "nodeadm-config",
            JournalUnit::NodeadmRun => "nodeadm-run",
            JournalUnit::AmazonSsmAgent => "amazon-ssm-agent",
            JournalUnit::SystemdNetworkd => "systemd-networkd",
            JournalUnit::SystemdResolved => "systemd-resolved",
            JournalUnit::Chronyd => "chronyd",
        }
    }

    /// Parses a unit name; `kubelet.service` is accepted as `kubelet`.
    pub fn from_name(name: &str) -> Result<JournalUnit, Error> {
        let bare = name.strip_suffix(".service").unwrap_or(name);
        JournalUnit::ALL
            .into_iter()
            .find(|unit| unit.name() == bare)
            .ok_or_else(|| Error::InvalidInput {
                what: "journal unit",
                reason: format!("`{}` is not one of the allow-listed units", name.escape_debug()),
            })
    }
}

/// A journal window in minutes, bounded to `1..=10080` (seven days), the same
/// bound as the document's `sinceMinutes` `allowedPattern`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct SinceMinutes(u16);

impl SinceMinutes {
    /// The largest window: seven days.
    pub const MAX: u16 = 10_080;
    /// The document's default window: one hour.
    pub const DEFAULT: SinceMinutes = SinceMinutes(60);

    /// Checks the bound.
    pub fn new(minutes: u32) -> Result<SinceMinutes, Error> {
        match u16::try_from(minutes) {
            Ok(value) if (1..=SinceMinutes::MAX).contains(&value) => Ok(SinceMinutes(value)),
            _ => Err(Error::InvalidInput {
                what: "sinceMinutes",
                reason: format!("{minutes} is outside 1..={}", SinceMinutes::MAX),
            }),
        }
    }

    /// The number of minutes.
    pub fn get(self) -> u16 {
        self.0
    }
}
