//! NET007: the neighbour (ARP) table is small for the node's pod density.

use node_artifacts::dmesg::KernelEventKind;

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Evidence, Finding, Subject};
use crate::rules::evidence;
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Flags a node whose IPv4 neighbour table limit,
    /// `net.ipv4.neigh.default.gc_thresh3`, is below
    /// `neigh_entries_per_pod` (4) times kubelet's `maxPods`. Kernel
    /// `neighbor table overflow` messages corroborate it; on their own they
    /// are the kernel group's finding, not this one.
    ///
    /// ## Why is this bad?
    /// The host keeps a neighbour entry for every local pod (each pod is a
    /// `/32` route on its veth) and for every address in the node's subnets
    /// it talks to directly: other nodes, and pods on them, since the VPC
    /// answers ARP for every address of a subnet. When the table holds
    /// `gc_thresh3` entries the kernel refuses new ones (`neighbour:
    /// arp_cache: neighbor table overflow!`) and packets to those addresses
    /// are dropped, which looks like random pod-to-pod timeouts. Four
    /// entries per pod slot is a heuristic that leaves room for the peers
    /// of busy pods; the kernel default, 1,024, suits up to 256 pods.
    ///
    /// ## Evidence
    /// `net.ipv4.neigh.default.gc_thresh3` (and `gc_thresh2`) from
    /// `sysctls/sysctl_all.txt`, `maxPods` from kubelet's configuration, and
    /// `neighbor table overflow` kernel messages.
    ///
    /// ## Severity
    /// Medium when only the sizing is short; high when the kernel already
    /// logged an overflow.
    ///
    /// ## Example
    /// ```text
    /// net.ipv4.neigh.default.gc_thresh3 = 512     <- maxPods 250: 1000 wanted
    /// ```
    ///
    /// ## Remediation
    /// Raise `net.ipv4.neigh.default.gc_thresh1/2/3` (for example 0 / 15360 /
    /// 16384, the EKS AMIs' values) in a `sysctl.d` drop-in or the node's
    /// user data.
    ///
    /// ## References
    /// - <https://docs.kernel.org/networking/ip-sysctl.html> (`neigh/default/gc_thresh3`)
    /// - <https://github.com/awslabs/amazon-eks-ami/blob/main/templates/shared/runtime/sysctl.conf>
    pub(crate) static META = {
        code: "NET007",
        name: "NeighbourTableTooSmall",
        group: Network,
        default_severity: Medium,
        since: "0.1.0",
    }
}

/// NET007.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::Sysctl, Need::KubeletConfig],
    check,
};

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let snapshot = cx.snapshot;
    let Some(sysctl) = &snapshot.sysctl else {
        return;
    };
    let [_, _, Some(limit)] = sysctl.value.neigh_gc_thresh() else {
        return;
    };
    let Some(kubelet) = snapshot.kubelet_config() else {
        return;
    };
    let Some(max_pods) = kubelet.value.max_pods else {
        return;
    };
    let wanted = u64::from(max_pods).saturating_mul(cx.thresholds.neigh_entries_per_pod);
    if limit >= wanted {
        return;
    }

    let mut overflow_events = Vec::new();
    if let Some(kernel) = &snapshot.kernel {
        for event in &kernel.events {
            if let KernelEventKind::NeighbourTableOverflow { table } = &event.kind
                && table.as_deref().is_none_or(|table| table == "arp_cache")
            {
                overflow_events.push(evidence::kernel_event(kernel, event));
            }
        }
    }
    let overflows = overflow_events.len() as u64;

    let mut summary = format!(
        "The neighbour table holds at most {limit} entries (gc_thresh3) for a node of up to \
         {max_pods} pods, below the {wanted} wanted ({} per pod slot).",
        cx.thresholds.neigh_entries_per_pod
    );
    if overflows > 0 {
        summary.push_str(&format!(
            " The kernel logged `neighbor table overflow` {overflows} times: packets to new neighbours were dropped."
        ));
    }
    let title = if overflows > 0 {
        format!("neighbour table overflowed: gc_thresh3 {limit} is small for {max_pods} pods")
    } else {
        format!("neighbour table limit gc_thresh3 {limit} is small for {max_pods} pods")
    };
    acc.push(
        cx.finding(
            &META,
            Subject::new("sysctl", "net.ipv4.neigh.default.gc_thresh3"),
        )
        .evidence_all(
            [
                "net.ipv4.neigh.default.gc_thresh2",
                "net.ipv4.neigh.default.gc_thresh3",
            ]
            .iter()
            .filter_map(|key| evidence::sysctl_key(snapshot, key)),
        )
        .evidence(Evidence::span(
            &kubelet.path,
            1,
            (kubelet.lines as usize).max(1),
            &format!("maxPods: {max_pods}"),
        ))
        .evidence_all(overflow_events)
        .severity(if overflows > 0 {
            Severity::High
        } else {
            Severity::Medium
        })
        .title(title)
        .summary(summary)
        .occurrences(overflows.max(1))
        .build(),
    );
}
