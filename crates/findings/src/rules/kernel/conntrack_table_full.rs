//! KRN006: the kernel dropped packets because the conntrack table was full.

use node_artifacts::dmesg::KernelEventKind;

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Finding, Subject};
use crate::rules::evidence;
use crate::rules::kernel::util;

declare_rule! {
    /// ## What it does
    /// Reports `nf_conntrack: table full, dropping packet` kernel messages:
    /// the connection-tracking table reached `nf_conntrack_max` and the
    /// kernel dropped packets of new flows.
    ///
    /// ## Why is this bad?
    /// Every new connection and every DNS query that needs a conntrack entry
    /// is dropped while the table is full: clients see timeouts on the whole
    /// node while established connections keep working. The kernel
    /// rate-limits the message (`net_ratelimit: N callbacks suppressed`),
    /// so the real number of drops is higher than the count of lines.
    ///
    /// ## Evidence
    /// The kernel messages, and `net.netfilter.nf_conntrack_count` /
    /// `nf_conntrack_max` from `sysctls/sysctl_all.txt` when present. The
    /// table's occupancy itself is CTK001's finding; the two are related.
    ///
    /// ## Severity
    /// High.
    ///
    /// ## Example
    /// ```text
    /// nf_conntrack: nf_conntrack: table full, dropping packet
    /// net_ratelimit: 27 callbacks suppressed
    /// ```
    ///
    /// ## Remediation
    /// Raise `net.netfilter.nf_conntrack_max` (kube-proxy's
    /// `conntrack.maxPerCore`/`min`), and find the workload opening flows at
    /// a high rate (the busiest destinations of `conntrack -L`, often
    /// uncached DNS lookups).
    ///
    /// ## References
    /// - <https://docs.kernel.org/networking/nf_conntrack-sysctl.html>
    /// - <https://github.com/kubernetes/node-problem-detector/blob/master/config/kernel-monitor.json>
    pub(crate) static META = {
        code: "KRN006",
        name: "ConntrackTableFull",
        group: Kernel,
        default_severity: High,
        since: "0.1.0",
    }
}

/// KRN006.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::Kernel],
    check,
};

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let Some(kernel) = &cx.snapshot.kernel else {
        return;
    };
    let events: Vec<_> = kernel
        .events
        .iter()
        .filter(|event| matches!(event.kind, KernelEventKind::ConntrackTableFull))
        .collect();
    if events.is_empty() {
        return;
    }
    let mut summary = format!(
        "The kernel logged `nf_conntrack: table full, dropping packet` {}{} (rate-limited: more packets were dropped than logged).",
        util::times(events.len()),
        util::seen_span(kernel, &events),
    );
    let mut builder = util::with_events(cx.finding(&META, Subject::node()), kernel, &events);
    if let Some(sysctl) = &cx.snapshot.sysctl
        && let Some(max) = sysctl.value.nf_conntrack_max()
    {
        match sysctl.value.nf_conntrack_count() {
            Some(count) if max > 0 => summary.push_str(&format!(
                " At collection the table held {count} of {max} entries ({:.1}%).",
                count as f64 * 100.0 / max as f64
            )),
            _ => summary.push_str(&format!(" nf_conntrack_max is {max}.")),
        }
        builder = builder.evidence_all(
            [
                "net.netfilter.nf_conntrack_count",
                "net.netfilter.nf_conntrack_max",
            ]
            .iter()
            .filter_map(|key| evidence::sysctl_key(cx.snapshot, key)),
        );
    }
    acc.push(
        builder
            .title(format!(
                "kernel dropped packets: conntrack table full ({})",
                util::times(events.len())
            ))
            .summary(summary)
            .build(),
    );
}
