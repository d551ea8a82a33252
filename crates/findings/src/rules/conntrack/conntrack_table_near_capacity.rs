//! CTK001: the conntrack table is nearly full.

use node_artifacts::dmesg::KernelEventKind;

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Evidence, Finding, Subject};
use crate::rules::evidence;
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Flags a node whose conntrack table holds at least 90% of
    /// `net.netfilter.nf_conntrack_max` entries.
    ///
    /// ## Why is this bad?
    /// When the table is full the kernel drops the first packet of every new
    /// flow (`nf_conntrack: table full, dropping packet`): new connections
    /// and DNS queries time out on the whole node while established flows
    /// keep working, which looks like random, partial network failure.
    ///
    /// ## Evidence
    /// `net.netfilter.nf_conntrack_count` and `nf_conntrack_max` from
    /// `sysctls/sysctl_all.txt` (the count in the `conntrack -S` statistics
    /// or the number of `conntrack -L` entries when the sysctl count is
    /// absent), the `insert_failed`, `drop` and `early_drop` counters of
    /// `conntrack -S`, and `table full, dropping packet` kernel messages.
    /// Each of these that agrees is counted as a source.
    ///
    /// ## Severity
    /// High from 90% of the maximum (`conntrack_usage_high`); critical from
    /// 98% (`conntrack_usage_critical`), or when the kernel already reports
    /// dropping packets because the table is full.
    ///
    /// ## Example
    /// ```text
    /// net.netfilter.nf_conntrack_count = 130871
    /// net.netfilter.nf_conntrack_max = 131072
    /// kernel: nf_conntrack: nf_conntrack: table full, dropping packet
    /// ```
    ///
    /// ## Remediation
    /// Raise `net.netfilter.nf_conntrack_max` (kube-proxy's `conntrack.maxPerCore`
    /// sets it on start), shorten `nf_conntrack_tcp_timeout_*` for short-lived
    /// connections, and find the workload opening flows at a high rate (the
    /// busiest destinations of the conntrack table).
    ///
    /// ## References
    /// - <https://docs.kernel.org/networking/nf_conntrack-sysctl.html>
    /// - <https://kubernetes.io/docs/reference/config-api/kube-proxy-config.v1alpha1/#kubeproxy-config-k8s-io-v1alpha1-KubeProxyConntrackConfiguration>
    pub(crate) static META = {
        code: "CTK001",
        name: "ConntrackTableNearCapacity",
        group: Conntrack,
        default_severity: High,
        since: "0.1.0",
    }
}

/// CTK001.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::Sysctl],
    check,
};

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let snapshot = cx.snapshot;
    let Some(sysctl) = &snapshot.sysctl else {
        return;
    };
    let Some(max) = sysctl.value.nf_conntrack_max().filter(|&max| max > 0) else {
        return;
    };
    let conntrack = snapshot.conntrack.as_ref();
    // The sysctl count is a gauge read at collection time; the statistics'
    // `entries` column and the listed entries are fallbacks.
    let (count, count_source) = match sysctl.value.nf_conntrack_count() {
        Some(count) => (count, "sysctl"),
        None => match conntrack.and_then(|dump| dump.value.stats.as_ref()?.total("entries")) {
            Some(count) => (count, "statistics"),
            None => match conntrack {
                Some(dump) if !dump.value.table.entries.is_empty() => {
                    (dump.value.table.entries.len() as u64, "listing")
                }
                _ => return,
            },
        },
    };
    let usage = count as f64 / max as f64;
    if usage < cx.thresholds.conntrack_usage_high {
        return;
    }

    let mut builder = cx.finding(&META, Subject::node());
    builder = builder.evidence_all(
        ["net.netfilter.nf_conntrack_count", "net.netfilter.nf_conntrack_max"]
            .iter()
            .filter_map(|key| evidence::sysctl_key(snapshot, key)),
    );
    if count_source == "listing"
        && let Some(dump) = conntrack
    {
        builder = builder.evidence(Evidence::line(
            &dump.path,
            dump.value.table.entries[0].line as usize,
            &format!("{count} entries listed by conntrack -L"),
        ));
    }

    // Statistics: failures to insert are the table refusing new flows.
    let mut failure_counters = Vec::new();
    if let Some(dump) = conntrack
        && let Some(stats) = &dump.value.stats
    {
        for name in ["insert_failed", "drop", "early_drop"] {
            if let Some(value) = stats.total(name).filter(|&value| value > 0) {
                failure_counters.push(format!("{name}={value}"));
            }
        }
        if !failure_counters.is_empty() {
            for cpu in &stats.cpus {
                builder = builder.evidence(Evidence::line(
                    &dump.path,
                    cpu.line,
                    &cpu.counters
                        .iter()
                        .filter(|(name, _)| matches!(name.as_str(), "insert_failed" | "drop" | "early_drop"))
                        .map(|(name, value)| format!("{name}={value}"))
                        .collect::<Vec<_>>()
                        .join(" "),
                ));
            }
        }
    }

    // Kernel messages: the table already overflowed.
    let mut table_full = 0u64;
    if let Some(kernel) = &snapshot.kernel {
        for event in &kernel.events {
            if matches!(event.kind, KernelEventKind::ConntrackTableFull) {
                table_full += 1;
                builder = builder.evidence(evidence::kernel_event(kernel, event));
            }
        }
    }

    let critical = usage >= cx.thresholds.conntrack_usage_critical || table_full > 0;
    let mut summary = format!(
        "The conntrack table holds {count} of at most {max} entries ({:.1}%).",
        usage * 100.0
    );
    if !failure_counters.is_empty() {
        summary.push_str(&format!(
            " conntrack -S reports {} summed over CPUs: new flows are being refused.",
            failure_counters.join(", ")
        ));
    }
    if table_full > 0 {
        summary.push_str(&format!(
            " The kernel logged `table full, dropping packet` {table_full} times."
        ));
    }
    acc.push(
        builder
            .severity(if critical {
                Severity::Critical
            } else {
                Severity::High
            })
            .title(format!(
                "conntrack table at {:.1}% of nf_conntrack_max ({count} of {max})",
                usage * 100.0
            ))
            .summary(summary)
            .occurrences(1 + table_full)
            .build(),
    );
}
