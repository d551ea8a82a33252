//! IPT007: the iptables ruleset is large enough to slow kube-proxy's syncs.

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Evidence, Finding, Subject};
use crate::rules::iptables::util;
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Flags a ruleset with at least `ruleset_large_rules` rules (20,000 by
    /// default) across all tables.
    ///
    /// ## Why is this bad?
    /// kube-proxy in iptables mode rewrites its rules with `iptables-restore`
    /// on every change; the time grows with the ruleset (and with nf_tables,
    /// with the number of chains). Large clusters see syncs of seconds, so
    /// endpoint changes reach the node late, and every packet of a new flow
    /// walks long linear chains.
    ///
    /// ## Evidence
    /// The rule count per table of `networking/iptables-save.txt` and, when
    /// present, the slowest `SyncProxyRules complete` elapsed time in
    /// kube-proxy's log.
    ///
    /// ## Severity
    /// - Info from `ruleset_large_rules`.
    /// - Low from twice that (40,000 by default).
    /// - Medium from four times that (80,000 by default).
    ///
    /// ## Example
    /// ```text
    /// *nat … 24 512 rules
    /// ```
    ///
    /// ## Remediation
    /// Move kube-proxy to IPVS or nftables mode for clusters with thousands
    /// of services, remove unused Services (each port costs several rules),
    /// and check for a tool appending duplicate rules in a loop.
    ///
    /// ## References
    /// - <https://kubernetes.io/blog/2025/02/28/nftables-kube-proxy/>
    /// - <https://kubernetes.io/docs/reference/networking/virtual-ips/#optimizing-iptables-mode-performance>
    pub(crate) static META = {
        code: "IPT007",
        name: "RulesetLarge",
        group: Iptables,
        default_severity: Info,
        since: "0.1.0",
    }
}

/// IPT007.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::Iptables],
    check,
};

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let Some(iptables) = &cx.snapshot.iptables else {
        return;
    };
    let threshold = cx.thresholds.ruleset_large_rules.max(1);
    let ruleset = &iptables.value;
    let total: usize = ruleset.tables.iter().map(|block| block.rule_count()).sum();
    if total < threshold {
        return;
    }
    let severity = if total >= threshold * 4 {
        Severity::Medium
    } else if total >= threshold * 2 {
        Severity::Low
    } else {
        Severity::Info
    };
    let mut builder = cx.finding(&META, Subject::new("ruleset", "iptables"));
    let mut per_table = Vec::new();
    for block in &ruleset.tables {
        let count = block.rule_count();
        per_table.push(format!("{} {count}", block.table.name()));
        builder = builder.evidence(Evidence::line(
            &iptables.path,
            block.line,
            &format!(
                "*{} ({} chains, {count} rules)",
                block.table.name(),
                block.chains.len()
            ),
        ));
    }
    let mut summary = format!(
        "The ruleset holds {total} rules ({}), at least {threshold} (`ruleset_large_rules`): kube-proxy's iptables-restore syncs and the first packet of every flow slow down with it.",
        per_table.join(", ")
    );
    // kube-proxy's own measure of its sync time, when it logs one.
    let mut slowest: Option<(f64, String, &node_artifacts::cri::ContainerLogEntry)> = None;
    for log in util::kube_proxy_logs(cx.snapshot) {
        for (_, entry, klog) in util::klog_lines(&log.value) {
            if klog.msg != "SyncProxyRules complete" {
                continue;
            }
            let Some(seconds) = util::klog_value(klog, "elapsed")
                .and_then(crate::rules::duration::go_duration_seconds)
            else {
                continue;
            };
            if slowest.as_ref().is_none_or(|(best, _, _)| seconds > *best) {
                slowest = Some((seconds, log.path.clone(), entry));
            }
        }
    }
    if let Some((seconds, path, entry)) = slowest {
        summary.push_str(&format!(
            " kube-proxy's slowest logged sync took {seconds:.3} s."
        ));
        builder = builder.evidence(util::log_evidence(&path, entry));
    }
    acc.push(
        builder
            .severity(severity)
            .title(format!("iptables ruleset holds {total} rules"))
            .summary(summary)
            .occurrences(total as u64)
            .build(),
    );
}
