//! KRN008: possible SYN flooding on a listening port.

use std::collections::BTreeSet;

use node_artifacts::dmesg::KernelEventKind;

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Finding, Subject};
use crate::rules::kernel::util;
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Reports `Possible SYN flooding on port N` kernel messages, one finding
    /// per listening port.
    ///
    /// ## Why is this bad?
    /// The listen queue (SYN backlog) of the port overflowed: either a real
    /// SYN flood, or — far more often on Kubernetes nodes — a server that
    /// accepts connections more slowly than clients open them (a small
    /// `somaxconn` / listen backlog, an overloaded process). The kernel then
    /// answers with SYN cookies (losing TCP options such as window scaling)
    /// or, when cookies are off, drops the connection attempts.
    ///
    /// ## Evidence
    /// The kernel messages with port, listening address and action.
    ///
    /// ## Severity
    /// Medium; high when the kernel dropped requests
    /// (`Dropping request`, `net.ipv4.tcp_syncookies = 0`).
    ///
    /// ## Example
    /// ```text
    /// TCP: request_sock_TCP: Possible SYN flooding on port 8080. Sending cookies.  Check SNMP counters.
    /// ```
    ///
    /// ## Remediation
    /// Find the process listening on the port; raise its listen backlog and
    /// `net.core.somaxconn` / `net.ipv4.tcp_max_syn_backlog`, scale the
    /// workload, or put a load balancer in front if the traffic is hostile.
    ///
    /// ## References
    /// - <https://docs.kernel.org/networking/ip-sysctl.html#tcp-variables>
    pub(crate) static META = {
        code: "KRN008",
        name: "SynFlooding",
        group: Kernel,
        default_severity: Medium,
        since: "0.1.0",
    }
}

/// KRN008.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::Kernel],
    check,
};

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let Some(kernel) = &cx.snapshot.kernel else {
        return;
    };
    let groups = util::group_events(kernel, |event| match &event.kind {
        KernelEventKind::SynFlooding { port, .. } => {
            Some(port.map_or_else(|| "unknown".to_owned(), |port| port.to_string()))
        }
        _ => None,
    });
    for (port, events) in groups {
        let mut addresses = BTreeSet::new();
        let mut actions = BTreeSet::new();
        for event in &events {
            if let KernelEventKind::SynFlooding {
                address, action, ..
            } = &event.kind
            {
                if let Some(address) = address {
                    addresses.insert(address.as_str());
                }
                if let Some(action) = action {
                    actions.insert(action.as_str());
                }
            }
        }
        let dropping = actions
            .iter()
            .any(|action| action.to_ascii_lowercase().contains("drop"));
        let mut summary = format!("The kernel reported possible SYN flooding on port {port}",);
        if !addresses.is_empty() {
            summary.push_str(&format!(
                " (listening on {})",
                addresses.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        summary.push_str(&format!(
            " {}{}: the listen backlog overflowed.",
            util::times(events.len()),
            util::seen_span(kernel, &events)
        ));
        if !actions.is_empty() {
            summary.push_str(&format!(
                " The kernel's response: {}.",
                actions.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        if dropping {
            summary.push_str(" Connection attempts were dropped.");
        }
        let builder = cx.finding(&META, Subject::new("port", port.clone()));
        acc.push(
            util::with_events(builder, kernel, &events)
                .severity(if dropping {
                    Severity::High
                } else {
                    Severity::Medium
                })
                .title(format!(
                    "SYN backlog overflow on port {port} ({})",
                    util::times(events.len())
                ))
                .summary(summary)
                .build(),
        );
    }
}
