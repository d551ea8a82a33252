//! KPX001: kube-proxy fails to apply its rules (`iptables-restore` errors).

use node_artifacts::cri::ContainerLog;
use node_artifacts::journald::Inner;
use node_artifacts::time::Timestamp;

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Finding, Subject};
use crate::rules::iptables::util::{self, klog_lines, log_evidence};
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Flags kube-proxy failing to apply its rules: `"Failed to execute
    /// iptables-restore"` followed by `"Sync failed"` in its container log,
    /// with no `"SyncProxyRules complete"` since.
    ///
    /// ## Why is this bad?
    /// kube-proxy writes the whole ruleset in one `iptables-restore`
    /// transaction: when it fails, nothing changes. Services keep sending
    /// traffic to deleted pods, new services get no rules at all, and every
    /// retry (each `retryingTime`) fails the same way until the cause is
    /// removed. The node's service routing is frozen at the last good sync.
    ///
    /// ## Evidence
    /// kube-proxy's container log (`var_log/kube-proxy-*.log`): the failing
    /// `iptables-restore` lines with their multi-line `err` (`exit status 1:
    /// iptables-restore: line 112 failed`, or `exit status 4: Another app is
    /// currently holding the xtables lock`), the `Sync failed` lines, and the
    /// last successful sync. The rule counts the failures, dates the first
    /// and the last, and names the failing line of kube-proxy's restore input.
    ///
    /// ## Severity
    /// - Critical when failures continue up to the collection time: the last
    ///   failure is within five minutes of the reference time and no
    ///   successful sync followed it.
    /// - High when the failures stopped without a successful sync (for
    ///   example kube-proxy was stopped or the log ends earlier).
    /// - Low when every failure was followed by a successful sync (a
    ///   transient xtables lock contention that resolved itself).
    ///
    /// ## Example
    /// ```text
    /// E1126 09:36:12.669255       1 proxier.go:1564] "Failed to execute iptables-restore" err=<
    /// 	exit status 1: iptables-restore: line 112 failed
    ///  >
    /// I1126 09:36:12.669666       1 proxier.go:830] "Sync failed" retryingTime="30s"
    /// ```
    ///
    /// ## Remediation
    /// Find what refuses kube-proxy's transaction. `line N failed` on a `-X
    /// KUBE-SEP-…` or `-X KUBE-SVC-…` line means a rule outside kube-proxy
    /// still references that chain (see IPT008: delete the hand-made rule).
    /// `exit status 4` means another program holds the xtables lock (find it
    /// with `lsof /run/xtables.lock`). Then watch for `SyncProxyRules
    /// complete` in kube-proxy's log.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/reference/networking/virtual-ips/#proxy-mode-iptables>
    /// - <https://github.com/kubernetes/kubernetes/blob/master/pkg/proxy/iptables/proxier.go>
    pub(crate) static META = {
        code: "KPX001",
        name: "KubeProxySyncFailing",
        group: Iptables,
        default_severity: High,
        since: "0.1.0",
    }
}

/// KPX001.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::KubeProxyLog],
    check,
};

/// How close to the reference time the last failure must be for the
/// failures to count as continuing (kube-proxy retries every 30 s to 1 min).
const ONGOING_WINDOW_US: i64 = 5 * 60 * 1_000_000;

/// One failed `iptables-restore`, with its multi-line error text.
#[derive(Debug)]
pub(crate) struct RestoreFailure {
    /// Index of the klog entry in the log's entries.
    pub(crate) index: usize,
    /// When it failed.
    pub(crate) time: Timestamp,
    /// The error's text (`exit status 1: iptables-restore: line 112 failed`).
    pub(crate) error: String,
    /// Index of the last entry of the error's continuation lines.
    pub(crate) last_index: usize,
}

/// What kube-proxy's log says about its syncs.
#[derive(Debug, Default)]
pub(crate) struct SyncHistory {
    /// Every failed restore, in order.
    pub(crate) failures: Vec<RestoreFailure>,
    /// Indexes of the `Sync failed` lines.
    pub(crate) sync_failed: Vec<usize>,
    /// Index of the last `SyncProxyRules complete`.
    pub(crate) last_success: Option<usize>,
}

impl SyncHistory {
    /// Reads the sync history of one kube-proxy log.
    pub(crate) fn read(log: &ContainerLog) -> SyncHistory {
        let mut history = SyncHistory::default();
        for (index, entry, klog) in klog_lines(log) {
            if let Some(rest) = klog.msg.strip_prefix("Failed to execute iptables-restore") {
                // Structured klog (1.26+) writes a multi-line value as
                // `err=<`, tab-indented lines, then ` >`; older releases
                // print `Failed to execute iptables-restore: exit status 1
                // (iptables-restore: line 7 failed` and `)` on the next
                // line. CRI keeps each line as its own record.
                let mut error = util::klog_value(klog, "err")
                    .filter(|value| *value != "<")
                    .unwrap_or_else(|| rest.trim_start_matches([':', ' ']))
                    .trim()
                    .to_owned();
                let mut last_index = index;
                for (next_index, next) in log.entries.iter().enumerate().skip(index + 1) {
                    if matches!(next.inner, Some(Inner::Klog(_))) {
                        break;
                    }
                    last_index = next_index;
                    let text = next.message.trim();
                    if text.is_empty() || text == ">" || text == ")" {
                        continue;
                    }
                    if !error.is_empty() {
                        error.push(' ');
                    }
                    error.push_str(text);
                }
                history.failures.push(RestoreFailure {
                    index,
                    time: klog.at.unwrap_or(entry.time),
                    error,
                    last_index,
                });
            } else if klog.msg.starts_with("Sync failed") {
                history.sync_failed.push(index);
            } else if klog.msg.eq_ignore_ascii_case("SyncProxyRules complete") {
                history.last_success = Some(index);
            }
        }
        history
    }

    /// The failures after the last successful sync (still unresolved).
    pub(crate) fn ongoing(&self) -> &[RestoreFailure] {
        let start = match self.last_success {
            Some(success) => self
                .failures
                .iter()
                .position(|failure| failure.index > success)
                .unwrap_or(self.failures.len()),
            None => 0,
        };
        &self.failures[start..]
    }

    /// Whether kube-proxy has tried and failed to sync since entry `index`,
    /// without a successful sync after it.
    pub(crate) fn failing_since(&self, index: usize) -> bool {
        self.last_success.is_none_or(|success| success < index)
            && self.ongoing().iter().any(|failure| failure.index > index)
    }
}

/// `line 112 failed` → 112.
fn failing_line(error: &str) -> Option<u32> {
    let (_, rest) = error.split_once("line ")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    rest[digits.len()..]
        .trim_start()
        .starts_with("failed")
        .then(|| digits.parse().ok())
        .flatten()
}

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    for log in util::kube_proxy_logs(cx.snapshot) {
        let history = SyncHistory::read(&log.value);
        if history.failures.is_empty() {
            continue;
        }
        let entries = &log.value.entries;
        let ongoing = history.ongoing();
        let resolved = history.failures.len() - ongoing.len();
        let mut builder = cx.finding(&META, Subject::new("process", "kube-proxy"));

        let (severity, title, mut summary, shown): (
            Severity,
            String,
            String,
            Vec<&RestoreFailure>,
        );
        if let (Some(first), Some(last)) = (ongoing.first(), ongoing.last()) {
            // The reference time, or the log's own end when the bundle is
            // not dated.
            let now = cx
                .now
                .or_else(|| entries.last().map(|entry| entry.time))
                .unwrap_or(last.time);
            let continuing = now.0 - last.time.0 <= ONGOING_WINDOW_US;
            let lines: Vec<u32> = ongoing
                .iter()
                .filter_map(|failure| failing_line(&failure.error))
                .collect();
            let same_line = lines
                .first()
                .filter(|line| lines.iter().all(|l| l == *line));
            let sync_failed = history
                .sync_failed
                .iter()
                .filter(|&&index| index > first.index)
                .count();
            severity = if continuing {
                Severity::Critical
            } else {
                Severity::High
            };
            title = format!(
                "kube-proxy failed to apply its rules {} times in a row since {}",
                ongoing.len(),
                first.time
            );
            summary = format!(
                "kube-proxy's iptables-restore failed {} consecutive times from {} to {} ({} `Sync failed`), with no successful sync since: the node's service rules are frozen at the last good sync.",
                ongoing.len(),
                first.time,
                last.time,
                sync_failed
            );
            summary.push_str(&format!(" The last error: `{}`.", last.error));
            if let Some(line) = same_line {
                summary.push_str(&format!(
                    " Every attempt failed on line {line} of kube-proxy's restore input, the same transaction each time: a rule outside kube-proxy likely references a chain it deletes there."
                ));
            }
            if last.error.contains("xtables lock") {
                summary.push_str(" Another program holds the xtables lock.");
            }
            if continuing {
                summary.push_str(" The failures continue up to the collection time.");
            } else {
                summary.push_str(&format!(
                    " The last failure is more than five minutes before the reference time ({now})."
                ));
            }
            let mut picked: Vec<&RestoreFailure> = ongoing.iter().take(3).collect();
            picked.extend(ongoing.iter().skip(3).rev().take(3));
            shown = picked;
            for &index in history
                .sync_failed
                .iter()
                .filter(|&&index| index > first.index)
                .rev()
                .take(1)
            {
                builder = builder.evidence(log_evidence(&log.path, &entries[index]));
            }
        } else {
            severity = Severity::Low;
            let first = &history.failures[0];
            let last = &history.failures[history.failures.len() - 1];
            let times = match history.failures.len() {
                1 => "once".to_owned(),
                n => format!("{n} times"),
            };
            title = format!("kube-proxy failed to apply its rules {times}, then recovered");
            summary = format!(
                "kube-proxy's iptables-restore failed {times} (first {}, last {}); a successful sync (`SyncProxyRules complete`) followed, so the failure is resolved. The last error: `{}`.",
                first.time, last.time, last.error
            );
            shown = vec![first, last];
        }
        if resolved > 0 && !ongoing.is_empty() {
            summary.push_str(&format!(
                " {resolved} earlier failure(s) were followed by a successful sync and are not part of this episode."
            ));
        }
        for failure in shown {
            let entry = &entries[failure.index];
            let end = &entries[failure.last_index];
            builder = builder
                .evidence(
                    crate::finding::Evidence::span(
                        &log.path,
                        entry.line,
                        end.end_line,
                        &if entry.message.contains(&failure.error) {
                            entry.message.clone()
                        } else {
                            format!("{} {}", entry.message, failure.error)
                        },
                    )
                    .at(Some(failure.time)),
                )
                .seen(Some(failure.time));
        }
        if let Some(success) = history.last_success {
            // Undated on purpose: the last good sync is context, not an
            // occurrence of the failure, and must not widen first/last seen.
            let entry = &entries[success];
            builder = builder.evidence(crate::finding::Evidence::span(
                &log.path,
                entry.line,
                entry.end_line,
                &entry.message,
            ));
        }
        let occurrences = if ongoing.is_empty() {
            history.failures.len()
        } else {
            ongoing.len()
        };
        acc.push(
            builder
                .severity(severity)
                .title(title)
                .summary(summary)
                .occurrences(occurrences as u64)
                .build(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::failing_line;

    #[track_caller]
    fn check(input: &str, expect: Option<u32>) {
        assert_eq!(failing_line(input), expect, "{input}");
    }

    #[test]
    fn failing_lines() {
        check(
            "exit status 1: iptables-restore: line 112 failed",
            Some(112),
        );
        check(
            "exit status 2: iptables-restore v1.8.8 (nf_tables): line 7 failed",
            Some(7),
        );
        check(
            "exit status 4: Another app is currently holding the xtables lock.",
            None,
        );
        check("line 3 is fine", None);
    }
}
