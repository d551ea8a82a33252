//! JRN006: kubelet's eviction manager evicted pods to reclaim a resource.

use std::collections::BTreeMap;

use node_artifacts::journald::Entry;
use node_artifacts::time::Timestamp;

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Finding, Subject};
use crate::journal_index::Needles;
use crate::rules::kubelet::util;
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Flags pods that kubelet's eviction manager evicted because the node
    /// ran short of memory, disk (node or image filesystem, inodes) or
    /// process ids: one finding per resource, naming the evicted pods.
    ///
    /// ## Why is this bad?
    /// An eviction kills every container of the pod at once (grace period
    /// 0 for hard thresholds); the pod is marked `Failed`/`Evicted` and only
    /// comes back if a controller recreates it, possibly on the same
    /// overcommitted node. Evictions mean the node's requests do not reflect
    /// what its pods really use.
    ///
    /// ## Evidence
    /// `"Eviction manager: attempting to reclaim" resourceName="memory"`,
    /// `"Eviction manager: must evict pod(s) to reclaim"` and
    /// `"Eviction manager: pod is evicted successfully" pod="ns/name"`
    /// lines of the kubelet journal; the resource of an eviction is that of
    /// the last `attempting to reclaim` line before it. The node condition
    /// events kubelet logged for the same resource (`NodeHasInsufficientMemory`,
    /// `NodeHasDiskPressure`, `NodeHasInsufficientPID`) are added as evidence.
    ///
    /// ## Severity
    /// High.
    ///
    /// ## Example
    /// ```text
    /// "Eviction manager: attempting to reclaim" resourceName="memory"
    /// "Eviction manager: pod is evicted successfully" pod="shop/catalog-6d4f8b7c95-w86s9"
    /// ```
    ///
    /// ## Remediation
    /// Set memory requests close to real usage (and limits), so the scheduler
    /// does not overcommit the node; reserve memory for the system
    /// (`kubeReserved`, `systemReserved`); for disk, clean up images and logs
    /// or enlarge the volume; for PIDs, raise `pid_max` or limit
    /// `podPidsLimit`.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/scheduling-eviction/node-pressure-eviction/>
    pub(crate) static META = {
        code: "JRN006",
        name: "PodsEvictedUnderPressure",
        group: Kubelet,
        default_severity: High,
        since: "0.1.0",
    }
}

/// JRN006.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::KubeletJournal],
    check,
};

/// What kubelet evicts for, from its `resourceName`.
pub(crate) fn resource_class(resource_name: &str) -> &'static str {
    match resource_name {
        "memory" | "allocatableMemory" => "memory",
        "pid" | "pids" => "pid",
        "ephemeral-storage" | "nodefs" | "imagefs" | "containerfs" | "nodefsInodes"
        | "imagefsInodes" | "containerfsInodes" => "disk",
        _ if resource_name.contains("fs") || resource_name.contains("storage") => "disk",
        _ => "other",
    }
}

/// The node condition events that go with a resource class.
fn condition_events(class: &str) -> &'static [&'static str] {
    match class {
        "memory" => &["NodeHasInsufficientMemory"],
        "disk" => &["NodeHasDiskPressure"],
        "pid" => &["NodeHasInsufficientPID"],
        _ => &[],
    }
}

#[derive(Default)]
struct PerResource<'a> {
    pods: Vec<(&'a str, Option<Timestamp>)>,
    /// The entries quoted as evidence, in journal order.
    evidence: Vec<&'a Entry>,
    resource_names: Vec<&'a str>,
}

/// Every entry JRN006 reads is a klog entry whose message begins (in any
/// case) with this.
pub(crate) static NEEDLES: Needles = Needles {
    name: "JRN006",
    words: &[],
    klog_prefixes: &["Eviction manager:"],
};

/// The node condition events JRN006 quotes are kubelet's
/// `Recording event message for node` lines.
pub(crate) static EVENT_NEEDLES: Needles = Needles {
    name: "JRN006-events",
    words: &["Recording event message for node"],
    klog_prefixes: &[],
};

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let Some(journal) = util::kubelet_journal(cx) else {
        return;
    };
    let mut resources: BTreeMap<&'static str, PerResource<'_>> = BTreeMap::new();
    let mut current: Option<&str> = None;
    for entry in cx.journal_entries(journal, &NEEDLES) {
        let Some(klog) = util::klog(entry) else {
            continue;
        };
        let msg = klog.msg.as_str();
        // Structured since 1.21 (`"Eviction manager: …" k="v"`); older
        // kubelets wrote `eviction manager: pod ns/name is evicted
        // successfully` unstructured, in lower case.
        if !msg
            .get(..17)
            .is_some_and(|head| head.eq_ignore_ascii_case("Eviction manager:"))
        {
            continue;
        }
        let reclaiming = util::kv(klog, "resourceName").or_else(|| {
            msg.find("attempting to reclaim ")
                .map(|at| msg[at + "attempting to reclaim ".len()..].trim())
                .filter(|name| !name.is_empty() && !name.contains(' '))
        });
        if let Some(name) = reclaiming {
            current = Some(name);
        }
        let Some(name) = current else {
            continue;
        };
        let class = resource_class(name);
        let per = resources.entry(class).or_default();
        if !per.resource_names.contains(&name) {
            per.resource_names.push(name);
        }
        let evicted_pod = if msg.contains("is evicted successfully") {
            util::kv(klog, "pod").or_else(|| util::between(msg, " pod ", " is evicted"))
        } else {
            None
        };
        if let Some(pod) = evicted_pod {
            per.pods.push((pod, entry.best_time()));
            per.evidence.push(entry);
        } else if msg.contains("attempting to reclaim") || msg.contains("must evict") {
            per.evidence.push(entry);
        }
    }
    for (class, per) in resources {
        if per.pods.is_empty() {
            continue;
        }
        let mut builder = cx.finding(&META, Subject::new("resource", class));
        // One item per entry, in journal order, in one journal, before any
        // other evidence.
        for entry in &per.evidence {
            builder =
                builder.evidence_after(entry.best_time(), || util::entry_evidence(journal, entry));
        }
        let events = condition_events(class);
        let mut condition_logged = false;
        for entry in cx.journal_entries(journal, &EVENT_NEEDLES) {
            if let Some(klog) = util::klog(entry)
                && klog.msg == "Recording event message for node"
                && util::kv(klog, "event").is_some_and(|event| events.contains(&event))
            {
                condition_logged = true;
                builder = builder.evidence(util::entry_evidence(journal, entry));
            }
        }
        let pods: Vec<&str> = per.pods.iter().map(|(pod, _)| *pod).collect();
        let names = if per.resource_names.iter().all(|name| *name == class) {
            String::new()
        } else {
            format!(" ({})", per.resource_names.join(", "))
        };
        let mut summary = format!(
            "kubelet evicted {} pod(s) to reclaim {class}{names}: {}.",
            pods.len(),
            pods.join(", ")
        );
        if condition_logged {
            summary.push_str(&format!(
                " kubelet also recorded the node condition event {}.",
                events.join("/")
            ));
        }
        acc.push(
            builder
                .severity(Severity::High)
                .title(format!(
                    "{} pod(s) evicted under {class} pressure",
                    pods.len()
                ))
                .summary(summary)
                .occurrences(pods.len() as u64)
                .build(),
        );
    }
}
