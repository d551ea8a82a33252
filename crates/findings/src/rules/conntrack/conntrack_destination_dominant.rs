//! CTK004: one destination holds most of the conntrack table.

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Evidence, Finding, Subject};
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Flags a conntrack table of at least `conntrack_dominant_min_entries`
    /// listed entries (1,000) in which one original destination (address
    /// and port) holds at least `conntrack_dominant_share` (50%) of them.
    ///
    /// ## Why is this bad?
    /// One workload is opening connections or sending datagrams at a rate
    /// that dominates the node's connection tracking: a retry storm, a
    /// client without connection reuse, a scan, or a DNS client without
    /// caching. It is usually the cause when the table fills up (CTK001).
    ///
    /// ## Evidence
    /// The destination's count and share among the entries of
    /// `networking/conntrack.txt`, with a sample entry.
    ///
    /// ## Severity
    /// Medium; high when the table is at least `conntrack_usage_high` full
    /// (from the sysctls).
    ///
    /// ## Example
    /// ```text
    /// 94 211 of 130 871 entries go to 172.20.0.10:53
    /// ```
    ///
    /// ## Remediation
    /// Find the clients of that destination (`conntrack -L -d <ip>`), and fix
    /// the connection pattern (reuse connections, cache DNS, back off on
    /// retries).
    ///
    /// ## References
    /// - <https://conntrack-tools.netfilter.org/manual.html>
    pub(crate) static META = {
        code: "CTK004",
        name: "ConntrackDestinationDominant",
        group: Conntrack,
        default_severity: Medium,
        since: "0.1.0",
    }
}

/// CTK004.
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
    let total = table.len();
    if total == 0 || total < cx.thresholds.conntrack_dominant_min_entries {
        return;
    }
    let Some((destination, count)) = table.top_destinations(1).first().copied() else {
        return;
    };
    let share = count as f64 / total as f64;
    if share < cx.thresholds.conntrack_dominant_share {
        return;
    }
    let target = match destination.port {
        Some(port) => format!("{}:{port}", destination.addr),
        None => destination.addr.to_string(),
    };
    let near_full = cx.snapshot.sysctl.as_ref().is_some_and(|sysctl| {
        match (
            sysctl.value.nf_conntrack_count(),
            sysctl.value.nf_conntrack_max().filter(|&max| max > 0),
        ) {
            (Some(count), Some(max)) => {
                count as f64 / max as f64 >= cx.thresholds.conntrack_usage_high
            }
            _ => false,
        }
    });
    let mut builder = cx.finding(&META, Subject::new("destination", target.clone()));
    if let Some(sample) = table
        .entries_for_addr(destination.addr)
        .find(|entry| entry.destination() == destination)
    {
        builder = builder.evidence(Evidence::line(
            &conntrack.path,
            sample.line as usize,
            &format!("{count} of {total} entries go to {target}"),
        ));
    }
    acc.push(
        builder
            .severity(if near_full {
                Severity::High
            } else {
                Severity::Medium
            })
            .title(format!(
                "{target} holds {:.0}% of the conntrack table",
                share * 100.0
            ))
            .summary(format!(
                "{count} of the {total} listed conntrack entries ({:.1}%) have the original destination {target}: one workload dominates connection tracking on the node.{}",
                share * 100.0,
                if near_full {
                    " The table is nearly full."
                } else {
                    ""
                }
            ))
            .occurrences(count)
            .build(),
    );
}
