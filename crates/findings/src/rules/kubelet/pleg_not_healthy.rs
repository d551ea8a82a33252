//! JRN001: kubelet's pod lifecycle event generator (PLEG) is not healthy.

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Finding, Subject};
use crate::journal_index::Needles;
use crate::rules::kubelet::util;
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Flags a node whose kubelet reported `PLEG is not healthy`.
    ///
    /// ## Why is this bad?
    /// The PLEG relists containers from the runtime every second; when a
    /// relist has not completed for three minutes kubelet stops syncing pods
    /// and reports the node `NotReady` (`KubeletNotReady`). Pods are then not
    /// started, stopped or probed, and the control plane may evict them.
    /// The usual causes are a runtime that is slow or stuck (containerd under
    /// memory or I/O pressure, too many containers, a hung shim) or a node
    /// starved of CPU or memory.
    ///
    /// ## Evidence
    /// kubelet lines whose message or `err` carries `PLEG is not healthy`
    /// (`"Skipping pod synchronization" err="PLEG is not healthy: pleg was
    /// last seen active 3m10.224s ago; threshold is 3m0s"`), counted once per
    /// line, with the longest "last seen active … ago" figure.
    ///
    /// ## Severity
    /// High.
    ///
    /// ## Example
    /// ```text
    /// kubelet[2378]: I1123 18:44:56.180081 2378 kubelet.go:2412] "Skipping pod synchronization" err="PLEG is not healthy: pleg was last seen active 3m10.224s ago; threshold is 3m0s"
    /// ```
    ///
    /// ## Remediation
    /// Look at what made the runtime slow at that time: memory pressure and
    /// OOM kills, disk I/O saturation, a very large number of containers or
    /// exited containers, or a containerd shim that stopped answering
    /// (`crictl ps` hanging). Relieve the pressure or restart containerd; a
    /// node that stays unhealthy should be drained and replaced.
    ///
    /// ## References
    /// - <https://github.com/kubernetes/kubernetes/blob/master/pkg/kubelet/pleg/generic.go>
    /// - <https://repost.aws/knowledge-center/eks-node-status-not-ready>
    pub(crate) static META = {
        code: "JRN001",
        name: "PLEGUnhealthy",
        group: Kubelet,
        default_severity: High,
        since: "0.1.0",
    }
}

/// JRN001.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::KubeletJournal],
    check,
};

/// Every entry JRN001 acts on mentions `PLEG` (its first test).
pub(crate) static NEEDLES: Needles = Needles {
    name: "JRN001",
    words: &["PLEG"],
    klog_prefixes: &[],
};

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let Some(journal) = util::kubelet_journal(cx) else {
        return;
    };
    let mut builder = cx.finding(&META, Subject::node());
    let mut count = 0u64;
    let mut longest: Option<(f64, String)> = None;
    let candidates = cx.journal_entries(journal, &NEEDLES);
    for entry in candidates.clone() {
        if !util::mentions_words(&candidates, &NEEDLES, entry) {
            continue;
        }
        let Some(klog) = util::klog(entry) else {
            continue;
        };
        // The condition message of "Node became not ready" quotes the same
        // text; it is the NotReady transition (JRN011), not another report.
        let text = [klog.msg.as_str(), util::kv(klog, "err").unwrap_or("")]
            .into_iter()
            .find(|text| util::contains_ignore_case(text, "PLEG is not healthy"));
        let Some(text) = text else {
            continue;
        };
        count += 1;
        // One item per entry, in journal order, in one journal.
        builder =
            builder.evidence_after(entry.best_time(), || util::entry_evidence(journal, entry));
        if let Some(figure) = util::between(text, "last seen active ", " ago")
            && let Some(seconds) = util::go_duration_seconds(figure)
            && longest.as_ref().is_none_or(|(best, _)| seconds > *best)
        {
            longest = Some((seconds, figure.to_owned()));
        }
    }
    if count == 0 {
        return;
    }
    let mut summary = format!("kubelet reported `PLEG is not healthy` {count} times");
    if let Some((_, figure)) = &longest {
        summary.push_str(&format!(
            "; the pod lifecycle event generator was last seen active up to {figure} ago (threshold 3m0s)"
        ));
    }
    summary.push_str(
        ". While the PLEG is unhealthy kubelet skips pod synchronisation and reports the node NotReady.",
    );
    let title = match &longest {
        Some((_, figure)) => {
            format!("PLEG not healthy ({count}×, last seen active up to {figure} ago)")
        }
        None => format!("PLEG not healthy ({count}×)"),
    };
    acc.push(
        builder
            .severity(Severity::High)
            .title(title)
            .summary(summary)
            .occurrences(count)
            .build(),
    );
}
