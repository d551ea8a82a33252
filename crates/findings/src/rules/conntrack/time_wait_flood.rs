//! CTK005: most TCP entries of the conntrack table are in `TIME_WAIT`.

use node_artifacts::conntrack::{Protocol, State};

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Evidence, Finding, Subject};
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Flags a conntrack table in which at least `time_wait_share` (50%) of
    /// the TCP entries are in `TIME_WAIT`, with at least
    /// `time_wait_min_entries` (5,000) of them.
    ///
    /// ## Why is this bad?
    /// Every short-lived TCP connection holds a conntrack entry for
    /// `nf_conntrack_tcp_timeout_time_wait` (120 s) after it closes. A client
    /// opening a new connection per request (no keep-alive, no pooling)
    /// fills the table with them and exhausts source ports towards one
    /// destination.
    ///
    /// ## Evidence
    /// The state counts of `networking/conntrack.txt`'s entries, and the
    /// table's size from the sysctls.
    ///
    /// ## Severity
    /// Low; medium when the `TIME_WAIT` entries alone are at least a quarter
    /// of `nf_conntrack_max`.
    ///
    /// ## Example
    /// ```text
    /// tcp      6 43 TIME_WAIT src=10.0.35.77 dst=10.0.70.12 sport=24717 dport=31380 …
    /// ```
    ///
    /// ## Remediation
    /// Enable connection reuse (HTTP keep-alive, connection pools) in the
    /// clients; lower `net.netfilter.nf_conntrack_tcp_timeout_time_wait`
    /// only as a stop-gap.
    ///
    /// ## References
    /// - <https://docs.kernel.org/networking/nf_conntrack-sysctl.html>
    pub(crate) static META = {
        code: "CTK005",
        name: "TimeWaitFlood",
        group: Conntrack,
        default_severity: Low,
        since: "0.1.0",
    }
}

/// CTK005.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::ConntrackTable],
    check,
};

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let Some(conntrack) = &cx.snapshot.conntrack else {
        return;
    };
    let table = &conntrack.value.table;
    let tcp = table
        .counts_by_protocol()
        .get(&Protocol::Tcp)
        .copied()
        .unwrap_or(0);
    let time_wait = table
        .counts_by_state()
        .get(&State::TimeWait)
        .copied()
        .unwrap_or(0);
    if tcp == 0 || (time_wait as usize) < cx.thresholds.time_wait_min_entries {
        return;
    }
    let share = time_wait as f64 / tcp as f64;
    if share < cx.thresholds.time_wait_share {
        return;
    }
    let max = cx
        .snapshot
        .sysctl
        .as_ref()
        .and_then(|sysctl| sysctl.value.nf_conntrack_max())
        .filter(|&max| max > 0);
    let large = max.is_some_and(|max| time_wait * 4 >= max);
    let mut builder = cx.finding(&META, Subject::node());
    if let Some(sample) = table
        .entries
        .iter()
        .find(|entry| entry.state == Some(State::TimeWait))
    {
        builder = builder.evidence(Evidence::line(
            &conntrack.path,
            sample.line as usize,
            &format!("{time_wait} of {tcp} TCP entries in TIME_WAIT"),
        ));
    }
    if large {
        builder = builder.evidence_all(crate::rules::evidence::sysctl_key(
            cx.snapshot,
            "net.netfilter.nf_conntrack_max",
        ));
    }
    let mut summary = format!(
        "{time_wait} of the {tcp} TCP conntrack entries ({:.1}%) are in TIME_WAIT: clients are opening a new connection per request.",
        share * 100.0
    );
    if let Some(max) = max {
        summary.push_str(&format!(
            " They use {:.1}% of nf_conntrack_max ({max}).",
            time_wait as f64 * 100.0 / max as f64
        ));
    }
    acc.push(
        builder
            .severity(if large {
                Severity::Medium
            } else {
                Severity::Low
            })
            .title(format!("{time_wait} TCP conntrack entries in TIME_WAIT"))
            .summary(summary)
            .occurrences(time_wait)
            .build(),
    );
}
