//! JRN008: the container runtime's network (the CNI) is not ready, beyond
//! the normal seconds after boot.

use node_artifacts::journald::{Entry, Journal};
use node_artifacts::snapshot::Artifact;
use node_artifacts::time::Timestamp;

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Evidence, Finding, Subject};
use crate::journal_index::{Candidates, Needles};
use crate::rules::kubelet::util;
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Flags a node whose container runtime network stays not ready:
    /// kubelet's `NetworkReady=false reason:NetworkPluginNotReady … cni
    /// plugin not initialized` or containerd's `failed to load cni` that
    /// persist, as opposed to the same messages in the seconds after boot,
    /// before the `aws-node` pod has written the CNI configuration.
    ///
    /// ## Why is this bad?
    /// While the CNI is not initialised, kubelet reports the node NotReady
    /// and no pod on the pod network can get a sandbox: the node takes no
    /// work. On EKS this means `aws-node` (the VPC CNI) is not running, is
    /// crash-looping (IAM permissions, API server unreachable), or did not
    /// copy its configuration to `/etc/cni/net.d`.
    ///
    /// ## Evidence
    /// kubelet and containerd lines of the last boot whose parsed message or
    /// fields contain `cni plugin not initialized`, `NetworkPluginNotReady`
    /// or `failed to load cni`. The condition persists, and is flagged, when
    /// the last such line is within `cni_not_ready_recent_minutes` (10) of
    /// the collection time, or when no sign of a working network follows it
    /// (kubelet's `just became ready`/`NodeReady`, or the VPC CNI plugin's
    /// successful `Received add network response … Success:true`; pod
    /// starts do not count, host-network pods start without a CNI). Boot-time messages followed by a working network
    /// are not flagged.
    ///
    /// ## Severity
    /// High.
    ///
    /// ## Example
    /// ```text
    /// "Container runtime network not ready" networkReady="NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized"
    /// ```
    ///
    /// ## Remediation
    /// Check the `aws-node` pod on the node (`kubectl -n kube-system logs
    /// aws-node-… -c aws-node`), its IAM role (`AmazonEKS_CNI_Policy`), that
    /// it can reach the API server, and that `/etc/cni/net.d/10-aws.conflist`
    /// exists.
    ///
    /// ## References
    /// - <https://repost.aws/knowledge-center/eks-cni-plugin-troubleshooting>
    /// - <https://github.com/aws/amazon-vpc-cni-k8s/blob/master/docs/troubleshooting.md>
    pub(crate) static META = {
        code: "JRN008",
        name: "CniNotInitialized",
        group: Kubelet,
        default_severity: High,
        since: "0.1.0",
    }
}

/// JRN008.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::KubeletJournal],
    check,
};

/// Whether the entry, a candidate of `candidates`, says the CNI is not
/// ready.
fn not_ready(candidates: &Candidates<'_>, entry: &Entry) -> bool {
    if !util::mentions_words(candidates, &NEEDLES, entry) {
        return false;
    }
    [
        "cni plugin not initialized",
        "NetworkPluginNotReady",
        "failed to load cni",
    ]
    .iter()
    .any(|needle| util::any_text_contains(entry, needle))
}

/// Whether the entry shows a working pod network: kubelet's node Ready
/// transition (Ready requires the runtime's network to be ready). Pod starts
/// and created sandboxes are not signals: host-network pods (aws-node and
/// kube-proxy themselves) start without the CNI.
fn ready(entry: &Entry) -> bool {
    util::klog(entry).is_some_and(|klog| {
        klog.msg.contains("just became ready") || util::kv(klog, "event") == Some("NodeReady")
    })
}

/// Every entry [`not_ready`] accepts mentions one of these (its first test).
pub(crate) static NEEDLES: Needles = Needles {
    name: "JRN008",
    words: &["cni", "CNI", "NetworkPluginNotReady"],
    klog_prefixes: &[],
};

/// Every entry [`ready`] accepts contains one of these.
pub(crate) static READY_NEEDLES: Needles = Needles {
    name: "JRN008-ready",
    words: &["just became ready", "NodeReady"],
    klog_prefixes: &[],
};

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let journals: Vec<&Artifact<Journal>> =
        [util::kubelet_journal(cx), util::containerd_journal(cx)]
            .into_iter()
            .flatten()
            .collect();
    let now = util::now(cx);
    let recent_us = cx.thresholds.cni_not_ready_recent_minutes * util::MINUTE_US;
    let mut evidence: Vec<Evidence> = Vec::new();
    let mut count = 0u64;
    let mut last_not_ready: Option<Timestamp> = None;
    // Entries without a time are ordered within their own journal only.
    let mut undated_unrecovered = false;
    for journal in &journals {
        let candidates = cx
            .journal_entries(journal, &NEEDLES)
            .since(cx.boot_start(journal));
        let not_ready: Vec<(usize, &Entry)> = candidates
            .clone()
            .positioned()
            .filter(|(_, entry)| not_ready(&candidates, entry))
            .collect();
        let Some(&(last, last_entry)) = not_ready.last() else {
            continue;
        };
        for (_, entry) in &not_ready {
            count += 1;
            evidence.push(util::entry_evidence(journal, entry));
        }
        match last_entry.best_time() {
            Some(time) => last_not_ready = last_not_ready.max(Some(time)),
            None => {
                undated_unrecovered |= !cx
                    .journal_entries(journal, &READY_NEEDLES)
                    .since(last + 1)
                    .any(ready);
            }
        }
    }
    let persists_recent =
        matches!((now, last_not_ready), (Some(now), Some(last)) if now.0 - last.0 <= recent_us);
    // A working network in either journal after the last complaint in
    // either one means the complaints were the boot-time window.
    // A working network after the last complaint in either journal means
    // the complaints were the boot-time window: kubelet's Ready transition,
    // or the VPC CNI plugin answering an ADD successfully.
    let cni_success_after = |last: Timestamp| {
        cx.snapshot.cni_logs.iter().any(|artifact| {
            artifact.value.entries.iter().any(|entry| {
                entry.time.is_some_and(|time| time > last)
                    && entry.msg.as_deref().is_some_and(|msg| {
                        msg.starts_with("Received add network response")
                            && msg.contains("Success:true")
                    })
            })
        })
    };
    let persists_unrecovered = undated_unrecovered
        || last_not_ready.is_some_and(|last| {
            !cni_success_after(last)
                && !journals.iter().any(|journal| {
                    cx.journal_entries(journal, &READY_NEEDLES)
                        .since(cx.boot_start(journal))
                        .any(|entry| {
                            ready(entry) && entry.best_time().is_some_and(|time| time > last)
                        })
                })
        });
    if count == 0 || !(persists_recent || persists_unrecovered) {
        return;
    }
    let why = match (persists_recent, persists_unrecovered) {
        (true, true) => format!(
            "the last one is within {} minutes of collection and nothing shows the network working after it",
            cx.thresholds.cni_not_ready_recent_minutes
        ),
        (true, false) => format!(
            "the last one is within {} minutes of collection",
            cx.thresholds.cni_not_ready_recent_minutes
        ),
        _ => "no node-ready event or successful CNI ADD follows the last one".to_owned(),
    };
    acc.push(
        cx.finding(&META, Subject::node())
            .evidence_all(evidence)
            .severity(Severity::High)
            .title("container network (CNI) not initialised")
            .summary(format!(
                "kubelet/containerd reported the CNI not initialised {count} times in the current boot; {why}. Pods on the pod network cannot get a sandbox and the node is NotReady."
            ))
            .occurrences(count)
            .build(),
    );
}
