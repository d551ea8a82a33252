//! Helpers shared by the iptables, kube-proxy and conntrack rules: finding
//! kube-proxy's container log and its klog lines, telling its proxy mode,
//! the kubelet's cluster DNS addresses, and stable keys and evidence for
//! iptables rules.

use std::net::IpAddr;

use node_artifacts::cri::{ContainerLog, ContainerLogEntry};
use node_artifacts::iptables::{Rule, TableBlock};
use node_artifacts::journald::{Inner, Klog};
use node_artifacts::snapshot::{Artifact, NodeSnapshot};

use crate::finding::Evidence;

/// The container logs of kube-proxy (`var_log/kube-proxy-<pod>_kube-system_kube-proxy-<id>.log`
/// and the `/var/log/pods/kube-system_kube-proxy-…` layout).
pub(crate) fn kube_proxy_logs(
    snapshot: &NodeSnapshot,
) -> impl Iterator<Item = &Artifact<ContainerLog>> {
    snapshot.container_logs.iter().filter(|log| {
        let file = log.path.rsplit('/').next().unwrap_or(&log.path);
        file.starts_with("kube-proxy") || log.path.contains("kube-system_kube-proxy")
    })
}

/// The klog lines of a container log with their CRI entries.
pub(crate) fn klog_lines(
    log: &ContainerLog,
) -> impl Iterator<Item = (usize, &ContainerLogEntry, &Klog)> {
    log.entries
        .iter()
        .enumerate()
        .filter_map(|(index, entry)| match &entry.inner {
            Some(Inner::Klog(klog)) => Some((index, entry, klog)),
            _ => None,
        })
}

/// The value of a klog `key=value` pair.
pub(crate) fn klog_value<'a>(klog: &'a Klog, key: &str) -> Option<&'a str> {
    klog.kv
        .iter()
        .find(|pair| &*pair.key == key)
        .map(|pair| pair.value.as_str())
}

/// How kube-proxy programs services on the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProxyMode {
    /// iptables mode: `KUBE-SERVICES` in the nat table.
    Iptables,
    /// IPVS mode: virtual servers in `ipvsadm`.
    Ipvs,
    /// nftables mode: no iptables chains at all.
    Nftables,
    /// Nothing tells.
    Unknown,
}

/// kube-proxy's mode, from its own start-up line first (`Using iptables
/// proxy`, `Using ipvs Proxier`, `Using nftables Proxier`), then from the
/// artifacts: IPVS virtual services, or `KUBE-*` chains in the nat table.
pub(crate) fn proxy_mode(snapshot: &NodeSnapshot) -> ProxyMode {
    // The last start-up line wins: kube-proxy may have been restarted with
    // another mode.
    let mut from_log = None;
    for log in kube_proxy_logs(snapshot) {
        for (_, _, klog) in klog_lines(&log.value) {
            let message = klog.msg.to_ascii_lowercase();
            if !message.starts_with("using ") {
                continue;
            }
            if message.contains("ipvs") {
                from_log = Some(ProxyMode::Ipvs);
            } else if message.contains("nftables") {
                from_log = Some(ProxyMode::Nftables);
            } else if message.contains("iptables") {
                from_log = Some(ProxyMode::Iptables);
            }
        }
    }
    if let Some(mode) = from_log {
        return mode;
    }
    if snapshot
        .ipvs
        .as_ref()
        .is_some_and(|ipvs| ipvs.value.has_services())
    {
        return ProxyMode::Ipvs;
    }
    let has_kube_nat_chains = snapshot.iptables.as_ref().is_some_and(|iptables| {
        iptables
            .value
            .tables
            .iter()
            .filter(|block| block.table == node_artifacts::iptables::Table::Nat)
            .flat_map(|block| &block.chains)
            .any(|chain| {
                chain.name.starts_with("KUBE-SVC-")
                    || chain.name.starts_with("KUBE-SEP-")
                    || chain.name.as_str() == "KUBE-SERVICES"
                    || chain.name.as_str() == "KUBE-MARK-MASQ"
            })
    });
    if has_kube_nat_chains {
        ProxyMode::Iptables
    } else {
        ProxyMode::Unknown
    }
}

/// The kubelet's `clusterDNS` addresses.
pub(crate) fn cluster_dns(snapshot: &NodeSnapshot) -> Vec<IpAddr> {
    snapshot
        .kubelet_config()
        .map(|config| {
            config
                .value
                .cluster_dns
                .iter()
                .filter_map(|ip| ip.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// A rule's canonical text without its counters: stable across
/// collections, so it can key a finding's subject.
pub(crate) fn rule_key(block: &TableBlock, rule: &Rule) -> String {
    let mut without_counters = rule.clone();
    without_counters.counters = None;
    format!(
        "{}/{}",
        block.table.name(),
        without_counters.to_canonical_string()
    )
}

/// Evidence for one rule of the ruleset artifact.
pub(crate) fn rule_evidence(path: &str, rule: &Rule) -> Evidence {
    Evidence::line(path, rule.line, &rule.text())
}

/// Evidence for one CRI log entry (its first to last line), dated.
pub(crate) fn log_evidence(path: &str, entry: &ContainerLogEntry) -> Evidence {
    Evidence::span(path, entry.line, entry.end_line, &entry.message).at(Some(entry.time))
}
