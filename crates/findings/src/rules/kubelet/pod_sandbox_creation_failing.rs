//! JRN009: the sandbox (network namespace and pause container) of a pod
//! cannot be created.

use std::collections::BTreeMap;

use node_artifacts::time::Timestamp;

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Evidence, Finding, Subject};
use crate::journal_index::Needles;
use crate::rules::kubelet::util;
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Flags pods whose sandbox creation failed: one finding per pod, with
    /// the number of attempts and the error the runtime or CNI plugin gave.
    ///
    /// ## Why is this bad?
    /// Without a sandbox no container of the pod starts; the pod stays
    /// `ContainerCreating` and kubelet retries with back-off forever. On EKS
    /// the cause is almost always the network setup: the VPC CNI could not
    /// assign an IP address (warm pool empty, subnet exhausted, ENI limit),
    /// or ipamd is not running.
    ///
    /// ## Evidence
    /// kubelet's `"Failed to create sandbox for pod" err="…" pod="ns/name"`
    /// lines (one per attempt), else containerd's `level=error
    /// msg="RunPodSandbox for &PodSandboxMetadata{Name:…,Namespace:…} failed"`
    /// lines; the sandbox ids named in the errors are followed into the VPC
    /// CNI's `plugin.log` and `ipamd.log`, whose error lines about the same
    /// sandboxes are added as evidence. The CNI cleanup that follows each
    /// failure (`Received CNI del request`, `Container … not found`) is
    /// normal and not counted.
    ///
    /// ## Severity
    /// High.
    ///
    /// ## Example
    /// ```text
    /// "Failed to create sandbox for pod" err="rpc error: code = Unknown desc = failed to setup network for sandbox \"dbdd…\": plugin type=\"aws-cni\" name=\"aws-cni\" failed (add): add cmd: failed to assign an IP address to container" pod="shop/orders-worker-59d8c7b6f-5v5qx"
    /// ```
    ///
    /// ## Remediation
    /// Read the CNI error: for `failed to assign an IP address`, see the VPC
    /// CNI address findings (free addresses in the subnet, warm pool
    /// settings, prefix delegation); for `connect: connection refused` on
    /// ipamd's port, check the `aws-node` pod; otherwise check containerd
    /// and the pause image.
    ///
    /// ## References
    /// - <https://github.com/aws/amazon-vpc-cni-k8s/blob/master/docs/troubleshooting.md>
    /// - <https://repost.aws/knowledge-center/eks-failed-create-pod-sandbox>
    pub(crate) static META = {
        code: "JRN009",
        name: "PodSandboxCreationFailing",
        group: Kubelet,
        default_severity: High,
        since: "0.1.0",
    }
}

/// JRN009.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::KubeletJournal],
    check,
};

#[derive(Default)]
struct PerPod {
    attempts: u64,
    error: Option<String>,
    sandboxes: Vec<String>,
    times: Vec<Option<Timestamp>>,
    kubelet: Vec<Evidence>,
    containerd: Vec<Evidence>,
}

/// Every kubelet entry JRN009 reads is a klog entry whose message is (in
/// any case) `Failed to create sandbox for pod`; every containerd entry has
/// a logfmt message beginning `RunPodSandbox for`.
pub(crate) static NEEDLES: Needles = Needles {
    name: "JRN009",
    words: &["RunPodSandbox for"],
    klog_prefixes: &["Failed to create sandbox for pod"],
};

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let mut pods: BTreeMap<String, PerPod> = BTreeMap::new();
    if let Some(journal) = util::kubelet_journal(cx) {
        for entry in cx.journal_entries(journal, &NEEDLES) {
            let Some(klog) = util::klog(entry) else {
                continue;
            };
            if !klog
                .msg
                .eq_ignore_ascii_case("Failed to create sandbox for pod")
            {
                continue;
            }
            let Some(pod) = util::kv(klog, "pod") else {
                continue;
            };
            let per = pods.entry(pod.to_owned()).or_default();
            per.attempts += 1;
            let error = util::kv(klog, "err").unwrap_or("");
            note_error(per, error);
            per.times.push(entry.best_time());
            per.kubelet.push(util::entry_evidence(journal, entry));
        }
    }
    let kubelet_counted = !pods.is_empty();
    if let Some(journal) = util::containerd_journal(cx) {
        for entry in cx.journal_entries(journal, &NEEDLES) {
            let Some(logfmt) = util::logfmt(entry) else {
                continue;
            };
            let Some(msg) = logfmt.msg.as_deref() else {
                continue;
            };
            if !(msg.starts_with("RunPodSandbox for") && msg.ends_with("failed")) {
                continue;
            }
            let (Some(name), Some(namespace)) = (
                util::between(msg, "{Name:", ","),
                util::between(msg, ",Namespace:", ","),
            ) else {
                continue;
            };
            let per = pods.entry(format!("{namespace}/{name}")).or_default();
            if !kubelet_counted {
                per.attempts += 1;
            }
            note_error(per, util::pair(logfmt, "error").unwrap_or(""));
            per.times.push(entry.best_time());
            per.containerd.push(util::entry_evidence(journal, entry));
        }
    }
    for (pod, per) in pods {
        if per.attempts == 0 {
            continue;
        }
        // The CNI logs name the sandbox (container) id of each attempt.
        let mut cni = Vec::new();
        for artifact in &cx.snapshot.cni_logs {
            for entry in artifact.value.errors() {
                let msg = entry.msg.as_deref().unwrap_or("");
                if per.sandboxes.iter().any(|id| msg.contains(id.as_str())) {
                    cni.push(util::cni_evidence(artifact, entry));
                }
            }
        }
        let mut builder = cx.finding(&META, Subject::new("pod", pod.clone()));
        for time in &per.times {
            builder = builder.seen(*time);
        }
        let error = per
            .error
            .unwrap_or_else(|| "no error text logged".to_owned());
        acc.push(
            builder
                .evidence_all(util::sample(per.kubelet, 6))
                .evidence_all(util::sample(per.containerd, 4))
                .evidence_all(util::sample(cni, 4))
                .severity(Severity::High)
                .title(format!("pod {pod}: sandbox creation failed {} times", per.attempts))
                .summary(format!(
                    "Creating the sandbox of pod {pod} failed {} times, so none of its containers can start. The last error: {error}.",
                    per.attempts
                ))
                .occurrences(per.attempts)
                .build(),
        );
    }
}

/// Keeps the most telling part of a sandbox error (the CNI plugin's own
/// message when there is one) and the sandbox id it names.
fn note_error(per: &mut PerPod, error: &str) {
    if let Some(id) = util::between(error, "sandbox \"", "\"")
        && !per.sandboxes.iter().any(|known| known == id)
    {
        per.sandboxes.push(id.to_owned());
    }
    let cni = error
        .find("plugin type=")
        .map_or(error, |start| &error[start..]);
    if !cni.is_empty() {
        per.error = Some(cni.trim_end_matches('"').to_owned());
    }
}
