//! CTK002: conntrack refuses or evicts entries (`insert_failed`, `drop`,
//! `early_drop` in `conntrack -S`).

use node_artifacts::dmesg::KernelEventKind;

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Evidence, Finding, Subject};
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Flags a node whose `conntrack -S` statistics show `insert_failed`,
    /// `drop` or `early_drop` above zero, summed over CPUs.
    ///
    /// ## Why is this bad?
    /// - `drop`: a packet was dropped because its flow could not be tracked
    ///   (the table was full or the entry could not be allocated): a new
    ///   connection or DNS query is lost.
    /// - `early_drop`: an unassured entry was evicted to make room, a sign of
    ///   a table at capacity.
    /// - `insert_failed`: the entry could not be inserted, typically two
    ///   packets of one UDP flow racing through DNAT/SNAT (the Linux conntrack
    ///   race behind 5 s DNS timeouts when A and AAAA queries leave together
    ///   from one socket), or a full table.
    ///
    /// ## Evidence
    /// The per-CPU rows of `conntrack -S` in `networking/conntrack.txt`; the
    /// `nf_conntrack_count`/`nf_conntrack_max` sysctls and `table full,
    /// dropping packet` kernel messages when they agree.
    ///
    /// ## Severity
    /// - Medium for `insert_failed` alone (the DNS race).
    /// - High when `drop` or `early_drop` is above zero.
    /// - Critical when packets are dropped and the table is at least
    ///   `conntrack_usage_high` full or the kernel logged `table full`.
    ///
    /// ## Example
    /// ```text
    /// cpu=0   	found=0 invalid=5512 insert=0 insert_failed=81234 drop=79113 early_drop=20457 error=44 search_restart=903341
    /// ```
    ///
    /// ## Remediation
    /// For a full table, see CTK001 (raise `nf_conntrack_max`, find the
    /// workload opening flows). For `insert_failed` alone, avoid the DNS race:
    /// NodeLocal DNSCache, `single-request-reopen` in pods' `dnsConfig`, or
    /// TCP for DNS.
    ///
    /// ## References
    /// - <https://www.weave.works/blog/racy-conntrack-and-dns-lookup-timeouts>
    /// - <https://docs.kernel.org/networking/nf_conntrack-sysctl.html>
    pub(crate) static META = {
        code: "CTK002",
        name: "ConntrackInsertFailures",
        group: Conntrack,
        default_severity: High,
        since: "0.1.0",
    }
}

/// CTK002.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::ConntrackStats],
    check,
};

const COUNTERS: [&str; 3] = ["insert_failed", "drop", "early_drop"];

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let snapshot = cx.snapshot;
    let Some(dump) = &snapshot.conntrack else {
        return;
    };
    let Some(stats) = &dump.value.stats else {
        return;
    };
    let totals: Vec<(&str, u64)> = COUNTERS
        .iter()
        .filter_map(|name| Some((*name, stats.total(name)?)))
        .filter(|(_, value)| *value > 0)
        .collect();
    if totals.is_empty() {
        return;
    }
    let value_of = |name: &str| {
        totals
            .iter()
            .find(|(counter, _)| *counter == name)
            .map_or(0, |(_, value)| *value)
    };
    let dropping = value_of("drop") > 0 || value_of("early_drop") > 0;

    let mut builder = cx.finding(&META, Subject::node());
    for cpu in &stats.cpus {
        let shown: Vec<String> = cpu
            .counters
            .iter()
            .filter(|(name, value)| COUNTERS.contains(&name.as_str()) && *value > 0)
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        if !shown.is_empty() {
            builder = builder.evidence(Evidence::line(
                &dump.path,
                cpu.line,
                &format!("cpu={} {}", cpu.cpu, shown.join(" ")),
            ));
        }
    }

    // Corroboration: the table's fill level and the kernel's own messages.
    let mut usage = None;
    if let Some(sysctl) = &snapshot.sysctl
        && let (Some(count), Some(max)) = (
            sysctl.value.nf_conntrack_count(),
            sysctl.value.nf_conntrack_max().filter(|&max| max > 0),
        )
    {
        usage = Some((count, max, count as f64 / max as f64));
    }
    let mut table_full = 0u64;
    if let Some(kernel) = &snapshot.kernel {
        let events: Vec<_> = kernel
            .events
            .iter()
            .filter(|event| matches!(event.kind, KernelEventKind::ConntrackTableFull))
            .collect();
        table_full = events.len() as u64;
        // The first and the last message date the drops.
        for event in events.first().into_iter().chain(events.last()) {
            builder = builder.evidence(crate::rules::evidence::kernel_event(kernel, event));
        }
    }
    let near_full = usage.is_some_and(|(_, _, ratio)| ratio >= cx.thresholds.conntrack_usage_high);
    if near_full {
        builder = builder.evidence_all(
            [
                "net.netfilter.nf_conntrack_count",
                "net.netfilter.nf_conntrack_max",
            ]
            .iter()
            .filter_map(|key| crate::rules::evidence::sysctl_key(snapshot, key)),
        );
    }
    let severity = if dropping && (near_full || table_full > 0) {
        Severity::Critical
    } else if dropping {
        Severity::High
    } else {
        Severity::Medium
    };
    let listed = totals
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut summary = format!(
        "conntrack -S reports {listed} summed over {} CPUs.",
        stats.cpus.len()
    );
    if dropping {
        summary
            .push_str(" Packets of new flows are being dropped because they could not be tracked.");
    } else {
        summary.push_str(
            " Only insert_failed is set: entries lost a race to be inserted, the signature of the UDP DNAT race behind 5-second DNS timeouts.",
        );
    }
    if let Some((count, max, ratio)) = usage {
        summary.push_str(&format!(
            " The table holds {count} of {max} entries ({:.1}%).",
            ratio * 100.0
        ));
    }
    if table_full > 0 {
        summary.push_str(&format!(
            " The kernel logged `table full, dropping packet` {table_full} times."
        ));
    }
    acc.push(
        builder
            .severity(severity)
            .title(format!(
                "conntrack is dropping or failing inserts ({listed})"
            ))
            .summary(summary)
            .occurrences(totals.iter().map(|(_, value)| *value).sum())
            .build(),
    );
}
