//! The rule registry: every rule, sorted by code, and the relations between
//! rules whose findings explain one another.
//!
//! Each group of rules (`rules/<group>/mod.rs`) owns a sorted `RULES` slice
//! and a `RELATED` slice; this module joins them. Codes are never reused: a
//! retired rule keeps its code in its group with its check removed.

use std::sync::OnceLock;

use node_artifacts::snapshot::NodeSnapshot;

use crate::context::RuleContext;
use crate::finding::Finding;
use crate::rule::RuleMeta;
use crate::rules;

/// A rule: its metadata, what it needs, and its check.
#[derive(Debug)]
pub struct Rule {
    /// Code, name, group, default severity and documentation.
    pub meta: &'static RuleMeta,
    /// Artifacts the rule cannot run without.
    pub needs: &'static [Need],
    /// The check: pushes findings for the snapshot in the context.
    pub check: fn(&RuleContext<'_>, &mut Vec<Finding>),
}

/// An artifact (or part of one) a rule needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// `networking/iptables-save.txt`.
    Iptables,
    /// `networking/conntrack.txt` with `conntrack -L` entries.
    ConntrackTable,
    /// `networking/conntrack.txt` with `conntrack -S` statistics.
    ConntrackStats,
    /// The kernel log (`kernel/dmesg.*`).
    Kernel,
    /// `kubelet/kubelet.log`.
    KubeletJournal,
    /// `containerd/containerd-log.txt`.
    ContainerdJournal,
    /// kube-proxy's container log.
    KubeProxyLog,
    /// The VPC CNI's `ipamd.log` or `plugin.log`.
    CniLogs,
    /// `sysctls/sysctl_all.txt`.
    Sysctl,
    /// `networking/iproute.txt`.
    Routes,
    /// `networking/iprule.txt`.
    IpRules,
    /// `networking/ethtool.txt`.
    Ethtool,
    /// `networking/resolv.conf`.
    ResolvConf,
    /// The aws-node environment (`ipamd/ipamd-env-settings.json` or
    /// `cni/cni-configuration-variables-containerd.json`).
    VpcCniSettings,
    /// `ipamd/enis.json`.
    Enis,
    /// `kubelet/kubelet-config.json` or `kubelet/config.json`.
    KubeletConfig,
    /// `storage/mounts.txt` (`mount` and `df --human-readable`).
    Mounts,
    /// `networking/ipvsadm.txt`.
    Ipvs,
}

impl Need {
    /// The artifact's name as the report shows it.
    pub fn name(self) -> &'static str {
        match self {
            Need::Iptables => "networking/iptables-save.txt",
            Need::ConntrackTable => "networking/conntrack.txt (conntrack -L)",
            Need::ConntrackStats => "networking/conntrack.txt (conntrack -S)",
            Need::Kernel => "kernel/dmesg.*",
            Need::KubeletJournal => "kubelet/kubelet.log",
            Need::ContainerdJournal => "containerd/containerd-log.txt",
            Need::KubeProxyLog => "kube-proxy container log",
            Need::CniLogs => "var_log/aws-routed-eni/*.log",
            Need::Sysctl => "sysctls/sysctl_all.txt",
            Need::Routes => "networking/iproute.txt",
            Need::IpRules => "networking/iprule.txt",
            Need::Ethtool => "networking/ethtool.txt",
            Need::ResolvConf => "networking/resolv.conf",
            Need::VpcCniSettings => "ipamd/ipamd-env-settings.json",
            Need::Enis => "ipamd/enis.json",
            Need::KubeletConfig => "kubelet/kubelet-config.json",
            Need::Mounts => "storage/mounts.txt",
            Need::Ipvs => "networking/ipvsadm.txt",
        }
    }

    /// Whether `snapshot` has the artifact.
    pub fn present(self, snapshot: &NodeSnapshot) -> bool {
        use node_artifacts::layout::ArtifactKind;
        match self {
            Need::Iptables => snapshot.iptables.is_some(),
            Need::ConntrackTable => snapshot.conntrack.as_ref().is_some_and(|dump| {
                dump.value
                    .sections
                    .iter()
                    .any(|section| section.command.contains("-L"))
                    || !dump.value.table.entries.is_empty()
            }),
            Need::ConntrackStats => snapshot
                .conntrack
                .as_ref()
                .is_some_and(|dump| dump.value.stats.is_some()),
            Need::Kernel => snapshot.kernel.is_some(),
            Need::KubeletJournal => snapshot.journal(ArtifactKind::KubeletJournal).is_some(),
            Need::ContainerdJournal => snapshot.journal(ArtifactKind::ContainerdJournal).is_some(),
            Need::KubeProxyLog => !snapshot.container_logs.is_empty(),
            Need::CniLogs => !snapshot.cni_logs.is_empty(),
            Need::Sysctl => snapshot.sysctl.is_some(),
            Need::Routes => snapshot.routes.is_some(),
            Need::IpRules => snapshot.ip_rules.is_some(),
            Need::Ethtool => snapshot.ethtool.is_some(),
            Need::ResolvConf => snapshot.resolv_conf.is_some(),
            Need::VpcCniSettings => {
                snapshot.ipamd_env.is_some() || snapshot.cni_config_variables.is_some()
            }
            Need::Enis => snapshot.enis.is_some(),
            Need::KubeletConfig => !snapshot.kubelet_configs.is_empty(),
            Need::Mounts => snapshot.mounts.is_some(),
            Need::Ipvs => snapshot.ipvs.is_some(),
        }
    }
}

/// Every rule, sorted by code.
pub fn all() -> &'static [&'static Rule] {
    static ALL: OnceLock<Vec<&'static Rule>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut all: Vec<&'static Rule> = rules::GROUPS
            .iter()
            .flat_map(|group| group.rules.iter().copied())
            .collect();
        all.sort_by_key(|rule| rule.meta.code);
        all
    })
}

/// The rule with this code (case-insensitive), or `None`.
pub fn by_code(code: &str) -> Option<&'static Rule> {
    all()
        .iter()
        .copied()
        .find(|rule| rule.meta.code.eq_ignore_ascii_case(code))
}

/// The rule with this kebab-case name, or `None`.
pub fn by_name(name: &str) -> Option<&'static Rule> {
    all()
        .iter()
        .copied()
        .find(|rule| rule.meta.kebab_name() == name)
}

/// Pairs of codes whose findings explain one another.
pub fn related() -> impl Iterator<Item = (&'static str, &'static str)> {
    rules::GROUPS
        .iter()
        .flat_map(|group| group.related.iter().copied())
}
