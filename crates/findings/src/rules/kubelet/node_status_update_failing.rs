//! JRN003: kubelet cannot update its node status or renew its lease.

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Finding, Subject};
use crate::journal_index::Needles;
use crate::rules::kubelet::util;
use crate::severity::Severity;

/// Messages of kubelet's node status and lease controllers when an update
/// fails (compared case-insensitively: wording changed across releases).
const FAILURES: &[&str] = &[
    "Error updating node status",
    "Unable to update node status",
    "Failed to update lease",
    "failed to ensure lease exists",
];

/// How recent a failure must be to count as ongoing.
const ONGOING_MINUTES: i64 = 10;

declare_rule! {
    /// ## What it does
    /// Flags a kubelet that failed to update its node status or renew its
    /// node lease (`Error updating node status, will retry`,
    /// `Failed to update lease`).
    ///
    /// ## Why is this bad?
    /// The control plane decides a node is alive from its lease (renewed
    /// every 10 s) and status; after `node-monitor-grace-period` (tens of
    /// seconds) without either, the node is marked
    /// `Unknown`/NotReady and, five minutes later, its pods are evicted.
    /// Failures usually mean the API server is unreachable from the node
    /// (security groups, endpoint access, DNS, proxy), throttled, or
    /// rejecting the node's credentials.
    ///
    /// ## Evidence
    /// kubelet lines whose message is one of `Error updating node status`,
    /// `Unable to update node status`, `Failed to update lease`,
    /// `failed to ensure lease exists` (case-insensitive), with the `err`
    /// of the last one.
    ///
    /// ## Severity
    /// Medium; high when failures continue into the last ten minutes before
    /// collection and there are at least three of them.
    ///
    /// ## Example
    /// ```text
    /// "Error updating node status, will retry" err="error getting node \"ip-10-0-1-2…\": Get \"https://….eks.amazonaws.com/api/v1/nodes/…\": dial tcp 10.0.3.4:443: i/o timeout"
    /// ```
    ///
    /// ## Remediation
    /// Check that the node reaches the cluster endpoint (`curl -k
    /// https://<endpoint>/healthz`), the cluster security group, private
    /// endpoint DNS, and the node's IAM role mapping; the `err` text names
    /// which.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/architecture/nodes/#heartbeats>
    /// - <https://repost.aws/knowledge-center/eks-node-status-not-ready>
    pub(crate) static META = {
        code: "JRN003",
        name: "NodeStatusUpdateFailing",
        group: Kubelet,
        default_severity: Medium,
        since: "0.1.0",
    }
}

/// JRN003.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::KubeletJournal],
    check,
};

/// Every entry JRN003 reads mentions one of these (its first test): the
/// [`FAILURES`] less their first letter, whose case varies across releases
/// (the earlier `pdat` matched every `Pod status updated` line of a busy
/// kubelet, tens of thousands of entries to build and skip).
pub(crate) static NEEDLES: Needles = Needles {
    name: "JRN003",
    words: &[
        "pdating node status",
        "pdate node status",
        "pdate lease",
        "nsure lease",
    ],
    klog_prefixes: &[],
};

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let Some(journal) = util::kubelet_journal(cx) else {
        return;
    };
    let mut builder = cx.finding(&META, Subject::new("process", "kubelet"));
    let mut evidence = Vec::new();
    let (mut count, mut last_err, mut last_time) = (0u64, None, None);
    let candidates = cx.journal_entries(journal, &NEEDLES);
    for entry in candidates.clone() {
        if !util::mentions_words(&candidates, &NEEDLES, entry) {
            continue;
        }
        let Some(klog) = util::klog(entry) else {
            continue;
        };
        if !FAILURES
            .iter()
            .any(|failure| util::contains_ignore_case(&klog.msg, failure))
        {
            continue;
        }
        count += 1;
        last_err = util::kv(klog, "err");
        last_time = entry.best_time().or(last_time);
        builder = builder.seen(entry.best_time());
        evidence.push(entry);
    }
    if count == 0 {
        return;
    }
    let ongoing = matches!(
        (util::now(cx), last_time),
        (Some(now), Some(last)) if now.0 - last.0 <= ONGOING_MINUTES * util::MINUTE_US
    ) && count >= 3;
    let mut summary = format!("kubelet failed {count} times to update its node status or lease");
    if ongoing {
        summary.push_str(&format!(
            ", still failing in the last {ONGOING_MINUTES} minutes before collection"
        ));
    }
    summary.push('.');
    if let Some(err) = &last_err {
        summary.push_str(&format!(" The last error: {err}."));
    }
    acc.push(
        builder
            .evidence_all(
                util::sample(evidence, 10)
                    .into_iter()
                    .map(|entry| util::entry_evidence(journal, entry)),
            )
            .severity(if ongoing {
                Severity::High
            } else {
                Severity::Medium
            })
            .title(format!("kubelet failed {count} node status/lease updates"))
            .summary(summary)
            .occurrences(count)
            .build(),
    );
}
