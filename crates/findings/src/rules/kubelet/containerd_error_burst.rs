//! JRN010: containerd logged a burst of errors.

use std::collections::BTreeMap;

use node_artifacts::journald::{Entry, Severity as LogSeverity};
use node_artifacts::time::Timestamp;

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Finding, Subject};
use crate::rules::kubelet::util;
use crate::severity::Severity;

/// The burst window: ten minutes.
const WINDOW_MINUTES: i64 = 10;

declare_rule! {
    /// ## What it does
    /// Flags containerd when it logged at least `containerd_error_burst` (50)
    /// lines at level `error` or worse within ten minutes, and names the
    /// messages that make up the burst.
    ///
    /// ## Why is this bad?
    /// containerd errors in volume mean the runtime is failing at its job:
    /// sandboxes or containers that cannot be created, images that cannot
    /// be pulled, snapshotter or disk trouble, a shim that does not answer.
    /// Single errors are common and harmless; a burst is not.
    ///
    /// ## Evidence
    /// The containerd journal's entries whose logfmt `level` (else journal
    /// priority) is error or worse; the densest ten-minute window, its most
    /// frequent messages (`msg`, with the varying sandbox/container
    /// metadata left out), and the first and last lines of the window.
    ///
    /// ## Severity
    /// Medium; high when the burst is at least four times the threshold.
    ///
    /// ## Example
    /// ```text
    /// containerd[2435]: time="…" level=error msg="RunPodSandbox for &PodSandboxMetadata{…} failed" error="failed to setup network for sandbox …"
    /// ```
    ///
    /// ## Remediation
    /// Read the dominant message: sandbox failures point at the CNI (see the
    /// sandbox and VPC CNI findings), pull failures at the registry or
    /// credentials, `no space left on device` at the disk.
    ///
    /// ## References
    /// - <https://github.com/containerd/containerd/blob/main/docs/cri/config.md>
    pub(crate) static META = {
        code: "JRN010",
        name: "ContainerdErrorBurst",
        group: Kubelet,
        default_severity: Medium,
        since: "0.1.0",
    }
}

/// JRN010.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::ContainerdJournal],
    check,
};

/// A message with its per-object detail cut off, so retries group:
/// `RunPodSandbox for &PodSandboxMetadata{…} failed` → `RunPodSandbox for … failed`.
fn message_shape(entry: &Entry) -> String {
    let msg = entry
        .inner
        .as_ref()
        .and_then(|inner| inner.msg())
        .or_else(|| entry.text())
        .unwrap_or("");
    match (msg.find(['&', '"', '{']), msg.rfind(['}', '"'])) {
        (Some(start), Some(end)) if end > start => {
            format!("{}…{}", &msg[..start], &msg[end + 1..])
        }
        _ => msg.to_owned(),
    }
}

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let Some(journal) = util::containerd_journal(cx) else {
        return;
    };
    // The severity is read from the journal's store; only the errors are
    // materialised.
    let errors: Vec<(Timestamp, Entry)> = journal
        .value
        .views()
        .filter(|entry| {
            entry
                .severity()
                .is_some_and(|severity| severity >= LogSeverity::Error)
        })
        .filter_map(|entry| Some((entry.best_time()?, entry.to_entry())))
        .collect();
    // Windows need time order; a journal merged from several sources may
    // not be in it.
    let mut errors = errors;
    errors.sort_by_key(|(time, _)| *time);
    let times: Vec<Timestamp> = errors.iter().map(|(time, _)| *time).collect();
    let (count, first, last) = util::densest_window(&times, WINDOW_MINUTES * util::MINUTE_US);
    let threshold = cx.thresholds.containerd_error_burst;
    if count < threshold || count == 0 {
        return;
    }
    let window = &errors[first..=last];
    let mut shapes: BTreeMap<String, usize> = BTreeMap::new();
    for (_, entry) in window {
        *shapes.entry(message_shape(entry)).or_default() += 1;
    }
    let mut ranked: Vec<(String, usize)> = shapes.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let top: Vec<String> = ranked
        .iter()
        .take(3)
        .map(|(shape, n)| format!("{n}× `{shape}`"))
        .collect();
    let evidence = window
        .iter()
        .map(|(_, entry)| util::entry_evidence(journal, entry))
        .collect();
    acc.push(
        cx.finding(&META, Subject::new("process", "containerd"))
            .evidence_all(util::sample(evidence, 10))
            .seen(Some(times[first]))
            .seen(Some(times[last]))
            .severity(if count >= threshold * 4 {
                Severity::High
            } else {
                Severity::Medium
            })
            .title(format!("containerd logged {count} errors within {WINDOW_MINUTES} minutes"))
            .summary(format!(
                "containerd logged {count} lines at level error or worse within {WINDOW_MINUTES} minutes (threshold {threshold}); {} in the whole journal. Most frequent: {}.",
                errors.len(),
                top.join(", ")
            ))
            .occurrences(count as u64)
            .build(),
    );
}
