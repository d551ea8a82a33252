//! JRN011: kubelet reported a pressure condition or NotReady for the node.

use std::collections::BTreeMap;

use node_artifacts::journald::Entry;
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
    /// Flags the node conditions kubelet set during the current boot:
    /// `MemoryPressure`, `DiskPressure`, `PIDPressure` and `Ready=False`
    /// (NotReady), one finding per condition, saying whether the condition
    /// was still set when the bundle was collected and how long it lasted.
    ///
    /// ## Why is this bad?
    /// A pressure condition taints the node (`node.kubernetes.io/memory-pressure`
    /// …): new pods are not scheduled there and kubelet evicts running ones.
    /// A NotReady node gets its pods evicted by the control plane after the
    /// toleration period (five minutes by default) and no new pods.
    ///
    /// ## Evidence
    /// kubelet's `"Recording event message for node" event="…"` lines
    /// (`NodeHasInsufficientMemory`/`NodeHasSufficientMemory`,
    /// `NodeHasDiskPressure`/`NodeHasNoDiskPressure`,
    /// `NodeHasInsufficientPID`/`NodeHasSufficientPID`,
    /// `NodeNotReady`/`NodeReady`) and `"Node became not ready"` lines, read
    /// in order over the entries of the last boot in the journal; a
    /// condition is still set when no clearing event follows its last
    /// setting event.
    ///
    /// ## Severity
    /// High; critical when the condition is still set at collection.
    ///
    /// ## Example
    /// ```text
    /// "Recording event message for node" node="ip-10-0-21-145…" event="NodeHasInsufficientMemory"
    /// "Node became not ready" node="ip-10-0-21-145…" condition={"type":"Ready","status":"False",…}
    /// ```
    ///
    /// ## Remediation
    /// For pressure, find what consumes the resource (OOM kills, evictions,
    /// the largest pods or images) and fix requests and limits or the
    /// volume size; for NotReady, read the reason kubelet gave (PLEG, the
    /// container runtime, the CNI, the API server connection).
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/reference/node/node-status/#condition>
    /// - <https://kubernetes.io/docs/concepts/scheduling-eviction/node-pressure-eviction/#node-conditions>
    pub(crate) static META = {
        code: "JRN011",
        name: "NodeConditionReported",
        group: Kubelet,
        default_severity: High,
        since: "0.1.0",
    }
}

/// JRN011.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::KubeletJournal],
    check,
};

/// The condition an event sets (`true`) or clears (`false`).
fn transition(event: &str) -> Option<(&'static str, bool)> {
    Some(match event {
        "NodeHasInsufficientMemory" => ("MemoryPressure", true),
        "NodeHasSufficientMemory" => ("MemoryPressure", false),
        "NodeHasDiskPressure" => ("DiskPressure", true),
        "NodeHasNoDiskPressure" => ("DiskPressure", false),
        "NodeHasInsufficientPID" => ("PIDPressure", true),
        "NodeHasSufficientPID" => ("PIDPressure", false),
        "NodeNotReady" => ("NotReady", true),
        "NodeReady" => ("NotReady", false),
        _ => return None,
    })
}

#[derive(Default)]
struct State {
    set: bool,
    times_set: u64,
    set_since: Option<Timestamp>,
    total_us: i64,
    reason: Option<String>,
    evidence: Vec<Evidence>,
}

/// Every entry JRN011 reads is one of kubelet's `Node became not ready` or
/// `Recording event message for node` lines ([`condition_change`]).
pub(crate) static NEEDLES: Needles = Needles {
    name: "JRN011",
    words: &["Node became not ready", "Recording event message for node"],
    klog_prefixes: &[],
};

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let Some(journal) = util::kubelet_journal(cx) else {
        return;
    };
    let mut states: BTreeMap<&'static str, State> = BTreeMap::new();
    for entry in cx
        .journal_entries(journal, &NEEDLES)
        .since(cx.boot_start(journal))
    {
        let Some((condition, set)) = condition_change(entry) else {
            continue;
        };
        let time = entry.best_time();
        let state = states.entry(condition).or_default();
        if set {
            if !state.set {
                state.times_set += 1;
                state.set_since = time;
            }
            state.set = true;
            if let Some(klog) = util::klog(entry)
                && let Some(condition_json) = util::kv(klog, "condition")
                && let Some(reason) = util::between(condition_json, "\"reason\":\"", "\"")
            {
                let message = util::between(condition_json, "\"message\":\"", "\"");
                state.reason = Some(match message {
                    Some(message) => format!("{reason}: {message}"),
                    None => reason.to_owned(),
                });
            }
        } else if state.set {
            if let (Some(since), Some(time)) = (state.set_since, time) {
                state.total_us += time.0 - since.0;
            }
            state.set = false;
        } else {
            // A clearing event with nothing set before it (the node's first
            // `NodeReady`, `NodeHasSufficientMemory` at registration) is
            // routine and not evidence.
            continue;
        }
        state.evidence.push(util::entry_evidence(journal, entry));
    }
    let now = util::now(cx);
    for (condition, state) in states {
        if state.times_set == 0 {
            continue;
        }
        let mut builder = cx
            .finding(&META, Subject::new("condition", condition))
            .evidence_all(state.evidence);
        let mut total_us = state.total_us;
        if state.set
            && let (Some(since), Some(now)) = (state.set_since, now)
        {
            total_us += (now.0 - since.0).max(0);
        }
        let duration = util::human_seconds(total_us.max(0) / 1_000_000);
        let label = if condition == "NotReady" {
            "Ready=False (NotReady)".to_owned()
        } else {
            condition.to_owned()
        };
        let mut summary = format!(
            "kubelet set the node condition {label} {} time(s) in the current boot, for {duration} in total",
            state.times_set
        );
        if let Some(reason) = &state.reason {
            summary.push_str(&format!(" (reason {reason})"));
        }
        let title = if state.set {
            summary.push_str(
                "; no event clearing it follows, so it was still set when the bundle was collected.",
            );
            format!("node condition {label} still set at collection")
        } else {
            summary.push_str("; it has since cleared.");
            format!("node condition {label} was set for {duration}")
        };
        if state.set {
            builder = builder.severity(Severity::Critical);
        }
        acc.push(
            builder
                .title(title)
                .summary(summary)
                .occurrences(state.times_set)
                .build(),
        );
    }
}

/// The condition change an entry records, if any.
fn condition_change(entry: &Entry) -> Option<(&'static str, bool)> {
    let klog = util::klog(entry)?;
    if klog.msg == "Node became not ready" {
        return Some(("NotReady", true));
    }
    if klog.msg == "Recording event message for node" {
        return transition(util::kv(klog, "event")?);
    }
    None
}
