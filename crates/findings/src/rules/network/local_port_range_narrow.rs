//! NET002: `ip_local_port_range` leaves few ephemeral ports.

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Finding, Subject};
use crate::rules::evidence;
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Flags a node whose `net.ipv4.ip_local_port_range` holds fewer than
    /// `local_port_range_min_width` (16,384) ports.
    ///
    /// ## Why is this bad?
    /// The range is the pool of source ports for outbound connections of the
    /// host network namespace, which on an EKS node includes the SNAT the VPC
    /// CNI applies to pod traffic leaving the VPC and every host-network pod
    /// (kube-proxy, aws-node, node exporters, ingress controllers on the host
    /// network). Connections to one destination need distinct source ports
    /// while they sit in `TIME_WAIT` (60 s): a narrow range makes `connect()`
    /// fail with `EADDRNOTAVAIL` ("Cannot assign requested address") and SNAT
    /// collide (`insert_failed` in `conntrack -S`) under ordinary load.
    /// The Linux default, 32768–60999, is 28,232 ports.
    ///
    /// ## Evidence
    /// `net.ipv4.ip_local_port_range` in `sysctls/sysctl_all.txt`.
    ///
    /// ## Severity
    /// Medium. High when fewer than 4,096 ports remain.
    ///
    /// ## Example
    /// ```text
    /// net.ipv4.ip_local_port_range = 50000	51000
    /// ```
    ///
    /// ## Remediation
    /// Widen the range (`sysctl -w net.ipv4.ip_local_port_range="1024 65000"`,
    /// persisted in `/etc/sysctl.d/`), keeping clear of ports that listeners
    /// and NodePorts (30000–32767) need, or reserve those with
    /// `net.ipv4.ip_local_reserved_ports`.
    ///
    /// ## References
    /// - <https://docs.kernel.org/networking/ip-sysctl.html#ip-variables>
    pub(crate) static META = {
        code: "NET002",
        name: "LocalPortRangeNarrow",
        group: Network,
        default_severity: Medium,
        since: "0.1.0",
    }
}

/// NET002.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::Sysctl],
    check,
};

/// Below this many ports the node runs out under light load.
const SEVERE_WIDTH: u32 = 4_096;

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let snapshot = cx.snapshot;
    let Some(sysctl) = &snapshot.sysctl else {
        return;
    };
    let Some((low, high)) = sysctl.value.ip_local_port_range() else {
        return;
    };
    // The range is inclusive at both ends. The kernel refuses an inverted
    // range, but a dump edited by hand may hold one: it counts as empty.
    let width = if high >= low {
        u32::from(high) - u32::from(low) + 1
    } else {
        0
    };
    if width >= cx.thresholds.local_port_range_min_width {
        return;
    }
    let Some(evidence) = evidence::sysctl_key(snapshot, "net.ipv4.ip_local_port_range") else {
        return;
    };
    let severity = if width < SEVERE_WIDTH {
        Severity::High
    } else {
        Severity::Medium
    };
    acc.push(
        cx.finding(
            &META,
            Subject::new("sysctl", "net.ipv4.ip_local_port_range"),
        )
        .evidence(evidence)
        .severity(severity)
        .title(format!(
            "ip_local_port_range {low}-{high} holds only {width} ephemeral ports"
        ))
        .summary(format!(
            "net.ipv4.ip_local_port_range is {low}-{high}: {width} source ports for outbound \
                 connections and SNAT, below the {} expected (the Linux default 32768-60999 has \
                 28232). Connections to one destination fail with EADDRNOTAVAIL once that many sit \
                 in TIME_WAIT.",
            cx.thresholds.local_port_range_min_width
        ))
        .build(),
    );
}
