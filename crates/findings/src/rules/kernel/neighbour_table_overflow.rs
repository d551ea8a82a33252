//! KRN007: the neighbour (ARP / NDP) table overflowed.

use node_artifacts::dmesg::KernelEventKind;

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Finding, Subject};
use crate::rules::evidence;
use crate::rules::kernel::util;

declare_rule! {
    /// ## What it does
    /// Reports `neighbor table overflow` kernel messages, one finding per
    /// table (`arp_cache` for IPv4, `ndisc_cache` for IPv6; older kernels
    /// print `Neighbour table overflow.` without naming it, reported as
    /// `neighbour`).
    ///
    /// ## Why is this bad?
    /// When the table holds `gc_thresh3` entries the kernel cannot resolve a
    /// new neighbour: packets to pods, nodes or the gateway that are not yet
    /// in the table are dropped, which looks like random connection
    /// failures. Nodes with many pods (each veth peer and pod IP is a
    /// neighbour) or large flat subnets outgrow the defaults (128/512/1024).
    ///
    /// ## Evidence
    /// The kernel messages, and the table's `gc_thresh1..3` sysctls
    /// (`net.ipv4.neigh.default.*` for `arp_cache`, `net.ipv6.neigh.default.*`
    /// for `ndisc_cache`) when `sysctls/sysctl_all.txt` has them.
    ///
    /// ## Severity
    /// High.
    ///
    /// ## Example
    /// ```text
    /// neighbour: arp_cache: neighbor table overflow!
    /// ```
    ///
    /// ## Remediation
    /// Raise `net.ipv4.neigh.default.gc_thresh1/2/3` (and the IPv6 ones)
    /// well above the number of neighbours the node has (for example
    /// 4096/8192/16384), through the node's user data or a privileged
    /// DaemonSet.
    ///
    /// ## References
    /// - <https://docs.kernel.org/networking/ip-sysctl.html#neigh-default-gc-thresh3>
    pub(crate) static META = {
        code: "KRN007",
        name: "NeighbourTableOverflow",
        group: Kernel,
        default_severity: High,
        since: "0.1.0",
    }
}

/// KRN007.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::Kernel],
    check,
};

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let Some(kernel) = &cx.snapshot.kernel else {
        return;
    };
    let groups = util::group_events(kernel, |event| match &event.kind {
        KernelEventKind::NeighbourTableOverflow { table } => {
            Some(table.clone().unwrap_or_else(|| "neighbour".to_owned()))
        }
        _ => None,
    });
    for (table, events) in groups {
        let mut summary = format!(
            "The kernel's `{table}` neighbour table overflowed {}{}: new neighbours could not be resolved and their packets were dropped.",
            util::times(events.len()),
            util::seen_span(kernel, &events),
        );
        let family = if table == "ndisc_cache" {
            "ipv6"
        } else {
            "ipv4"
        };
        let keys: Vec<String> = (1..=3)
            .map(|n| format!("net.{family}.neigh.default.gc_thresh{n}"))
            .collect();
        let mut builder = util::with_events(
            cx.finding(&META, Subject::new("neighbour-table", table.clone())),
            kernel,
            &events,
        );
        if let Some(sysctl) = &cx.snapshot.sysctl {
            let values: Vec<String> = keys
                .iter()
                .map(|key| {
                    sysctl
                        .value
                        .get_u64(key)
                        .map_or_else(|| "?".to_owned(), |value| value.to_string())
                })
                .collect();
            if values.iter().any(|value| value != "?") {
                summary.push_str(&format!(
                    " net.{family}.neigh.default.gc_thresh1/2/3 are {}: the table is capped at gc_thresh3.",
                    values.join("/")
                ));
            }
            builder = builder.evidence_all(
                keys.iter()
                    .filter_map(|key| evidence::sysctl_key(cx.snapshot, key)),
            );
        }
        acc.push(
            builder
                .title(format!(
                    "neighbour table `{table}` overflowed ({})",
                    util::times(events.len())
                ))
                .summary(summary)
                .build(),
        );
    }
}
