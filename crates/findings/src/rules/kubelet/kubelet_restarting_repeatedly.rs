//! JRN002: kubelet restarts over and over.

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
    /// Flags a kubelet that started at least `kubelet_restarts` (5) times
    /// within `restart_window_minutes` (20) minutes: a crash or
    /// configuration loop under systemd's `Restart=always`.
    ///
    /// ## Why is this bad?
    /// Each restart drops the node's status updates and lease renewals for a
    /// while; a kubelet that keeps exiting (bad configuration or flags,
    /// expired bootstrap credentials, a container runtime socket that is not
    /// there, out of memory) leaves the node NotReady and its pods
    /// unmanaged.
    ///
    /// ## Evidence
    /// systemd's `Started kubelet.service` lines in the kubelet journal; when
    /// the journal has none (a `-u kubelet` export without systemd's own
    /// messages), kubelet's own `"Started kubelet"` line. systemd's
    /// `kubelet.service: Main process exited`, `Failed with result` and
    /// `Scheduled restart job` lines are added as evidence. The densest
    /// window is reported; starts in different boots count as well (a node
    /// rebooting in a loop is as bad).
    ///
    /// ## Severity
    /// High.
    ///
    /// ## Example
    /// ```text
    /// systemd[1]: kubelet.service: Main process exited, code=exited, status=1/FAILURE
    /// systemd[1]: kubelet.service: Scheduled restart job, restart counter is at 7.
    /// systemd[1]: Started kubelet.service - Kubernetes Kubelet.
    /// ```
    ///
    /// ## Remediation
    /// Read kubelet's last lines before each exit (`journalctl -u kubelet`):
    /// a `failed to run Kubelet` or `F…` (fatal) line names the cause, often
    /// a bad `--config`/`config.json` field, a missing
    /// `/var/lib/kubelet/kubeconfig`, or containerd not running.
    ///
    /// ## References
    /// - <https://repost.aws/knowledge-center/eks-node-status-not-ready>
    /// - <https://www.freedesktop.org/software/systemd/man/latest/systemd.service.html#Restart=>
    pub(crate) static META = {
        code: "JRN002",
        name: "KubeletRestartingRepeatedly",
        group: Kubelet,
        default_severity: High,
        since: "0.1.0",
    }
}

/// JRN002.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::KubeletJournal],
    check,
};

/// Whether the entry is systemd's own message (identifier `systemd`).
fn from_systemd(entry: &Entry) -> bool {
    entry.identifier.as_deref() == Some("systemd")
}

fn systemd_start(entry: &Entry) -> bool {
    from_systemd(entry)
        && entry
            .text()
            .is_some_and(|text| text.starts_with("Started kubelet"))
}

fn kubelet_start(entry: &Entry) -> bool {
    util::klog(entry).is_some_and(|klog| klog.msg == "Started kubelet")
}

fn systemd_exit(entry: &Entry) -> bool {
    from_systemd(entry)
        && entry.text().is_some_and(|text| {
            text.starts_with("kubelet.service: Main process exited")
                || text.starts_with("kubelet.service: Failed with result")
                || text.starts_with("kubelet.service: Scheduled restart job")
        })
}

/// Every entry JRN002 reads is a start (`Started kubelet…` from systemd,
/// or kubelet's own `Started kubelet`) or a systemd
/// `kubelet.service: …` exit line.
pub(crate) static NEEDLES: Needles = Needles {
    name: "JRN002",
    words: &["Started kubelet", "kubelet.service: "],
    klog_prefixes: &[],
};

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let Some(journal) = util::kubelet_journal(cx) else {
        return;
    };
    let entries = || cx.journal_entries(journal, &NEEDLES);
    let mut starts: Vec<&Entry> = entries().filter(|entry| systemd_start(entry)).collect();
    if starts.is_empty() {
        starts = entries().filter(|entry| kubelet_start(entry)).collect();
    }
    let mut dated: Vec<(Timestamp, &Entry)> = starts
        .iter()
        .filter_map(|entry| Some((entry.best_time()?, *entry)))
        .collect();
    dated.sort_by_key(|(time, _)| *time);
    let times: Vec<Timestamp> = dated.iter().map(|(time, _)| *time).collect();
    let window_us = cx.thresholds.restart_window_minutes * util::MINUTE_US;
    let (count, first, last) = util::densest_window(&times, window_us);
    if count < cx.thresholds.kubelet_restarts {
        return;
    }
    let (window_start, window_end) = (times[first], times[last]);
    let in_window = |entry: &Entry| {
        entry
            .best_time()
            .is_some_and(|time| time >= window_start && time <= window_end)
    };
    let start_evidence: Vec<Evidence> = dated[first..=last]
        .iter()
        .map(|(_, entry)| util::entry_evidence(journal, entry))
        .collect();
    let exit_evidence: Vec<Evidence> = entries()
        .filter(|entry| systemd_exit(entry) && in_window(entry))
        .map(|entry| util::entry_evidence(journal, entry))
        .collect();
    let exits = exit_evidence.len();
    let span = util::human_seconds((window_end.0 - window_start.0) / 1_000_000);
    let mut summary = format!(
        "kubelet started {count} times within {span} (threshold {} starts in {} minutes); {} starts in the whole journal.",
        cx.thresholds.kubelet_restarts,
        cx.thresholds.restart_window_minutes,
        starts.len()
    );
    if exits > 0 {
        summary.push_str(&format!(
            " systemd logged {exits} exit or restart lines for kubelet.service in that window."
        ));
    }
    acc.push(
        cx.finding(&META, Subject::new("process", "kubelet"))
            .evidence_all(util::sample(start_evidence, 8))
            .evidence_all(util::sample(exit_evidence, 6))
            .severity(Severity::High)
            .title(format!("kubelet restarted {count} times within {span}"))
            .summary(summary)
            .occurrences(count as u64)
            .build(),
    );
}
