//! NET005: the instance exceeded an EC2 network allowance.

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Evidence, Finding, Subject};
use crate::rules::network::util;
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Flags every ENA `*_allowance_exceeded` counter above zero in
    /// `ethtool -S`, one finding per interface and allowance:
    /// `bw_in_allowance_exceeded`, `bw_out_allowance_exceeded`,
    /// `pps_allowance_exceeded`, `conntrack_allowance_exceeded` and
    /// `linklocal_allowance_exceeded`. `conntrack_allowance_available` is a
    /// gauge of the connections still allowed, never an excess: it is only
    /// quoted as context.
    ///
    /// ## Why is this bad?
    /// EC2 enforces per-instance limits on inbound and outbound bandwidth,
    /// packets per second, tracked connections (security-group connection
    /// tracking) and packets to link-local services. Each increment is a
    /// packet the hypervisor queued or dropped: retransmissions, latency
    /// spikes, failed connections. The link-local allowance (1,024 packets
    /// per second per ENI) covers the VPC DNS resolver (169.254.169.253 and
    /// the `.2` address), IMDS and the Amazon Time Sync Service: when it is
    /// exceeded DNS queries time out, which in a cluster looks like CoreDNS
    /// failing. The counters are cumulative since the driver was loaded; an
    /// increase between two collections dates the problem.
    ///
    /// ## Evidence
    /// The counter's line in `networking/ethtool.txt`, with
    /// `conntrack_allowance_available` for the connection-tracking allowance.
    ///
    /// ## Severity
    /// High for `bw_in`, `pps` and `conntrack` (inbound drops and refused
    /// connections). Medium for `bw_out` (outbound excess is mostly shaped
    /// by queueing, and TCP backs off) and `linklocal` (DNS, IMDS and NTP
    /// throttling; high when it exceeds 1,000 packets).
    ///
    /// ## Example
    /// ```text
    /// Interface eth0
    /// NIC statistics:
    ///      bw_in_allowance_exceeded: 184211
    ///      linklocal_allowance_exceeded: 2410
    ///      conntrack_allowance_available: 1204    <- gauge, not an error
    /// ```
    ///
    /// ## Remediation
    /// Move to a larger or network-optimised instance type (the allowances
    /// scale with size), spread the traffic over more nodes, or reduce
    /// short-lived connections (connection pooling). For `linklocal`, run a
    /// node-local DNS cache (NodeLocal DNSCache) so that pods stop sending
    /// every query to the VPC resolver. For `conntrack`, lower idle timeouts
    /// or use security-group rules that are untracked. Watch the counters
    /// with CloudWatch (`ethtool` metrics of the CloudWatch agent).
    ///
    /// ## References
    /// - <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/monitoring-network-performance-ena.html>
    /// - <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/security-group-connection-tracking.html>
    /// - <https://docs.aws.amazon.com/vpc/latest/userguide/AmazonDNS-concepts.html>
    pub(crate) static META = {
        code: "NET005",
        name: "EnaAllowanceExceeded",
        group: Network,
        default_severity: High,
        since: "0.1.0",
    }
}

/// NET005.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::Ethtool],
    check,
};

/// Link-local drops above which DNS to the VPC resolver is clearly hurt.
const LINKLOCAL_HIGH: i64 = 1_000;

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let Some(ethtool) = &cx.snapshot.ethtool else {
        return;
    };
    for interface in &ethtool.value.interfaces {
        for (counter, value) in interface.allowance_exceeded() {
            // A negative value is a parse of something that is not a counter.
            if value <= 0 {
                continue;
            }
            let kind = counter.trim_end_matches("_allowance_exceeded");
            let (severity, what) = match kind {
                "bw_in" => (
                    Severity::High,
                    "packets queued or dropped because inbound bandwidth exceeded the instance's allowance",
                ),
                "bw_out" => (
                    Severity::Medium,
                    "packets queued or dropped because outbound bandwidth exceeded the instance's allowance",
                ),
                "pps" => (
                    Severity::High,
                    "packets queued or dropped because packets per second exceeded the instance's allowance",
                ),
                "conntrack" => (
                    Severity::High,
                    "packets dropped because the instance tracked as many connections as its allowance permits (security-group connection tracking, not the kernel's conntrack table)",
                ),
                "linklocal" if value > LINKLOCAL_HIGH => (
                    Severity::High,
                    "packets to link-local services (VPC DNS resolver, IMDS, Amazon Time Sync) dropped because they exceeded 1024 packets per second",
                ),
                "linklocal" => (
                    Severity::Medium,
                    "packets to link-local services (VPC DNS resolver, IMDS, Amazon Time Sync) dropped because they exceeded 1024 packets per second",
                ),
                _ => (
                    META.default_severity,
                    "packets dropped because of an EC2 network allowance",
                ),
            };
            let mut builder = cx
                .finding(
                    &META,
                    Subject::new("ena-allowance", format!("{}/{kind}", interface.name)),
                )
                .evidence(Evidence::line(
                    &ethtool.path,
                    util::ethtool_counter_line(interface, counter),
                    &format!("{}: {counter}: {value}", interface.name),
                ));
            let mut summary = format!("{value} {what} on {} ({counter}).", interface.name);
            if kind == "conntrack"
                && let Some(available) = interface.counter("conntrack_allowance_available")
            {
                builder = builder.evidence(Evidence::line(
                    &ethtool.path,
                    util::ethtool_counter_line(interface, "conntrack_allowance_available"),
                    &format!(
                        "{}: conntrack_allowance_available: {available}",
                        interface.name
                    ),
                ));
                summary.push_str(&format!(
                    " conntrack_allowance_available, the connections still allowed, was {available} at collection."
                ));
            }
            summary.push_str(" The counter is cumulative since the ENA driver was loaded.");
            acc.push(
                builder
                    .severity(severity)
                    .title(format!(
                        "ENA {kind} allowance exceeded on {} ({value} packets)",
                        interface.name
                    ))
                    .summary(summary)
                    .occurrences(value.unsigned_abs())
                    .build(),
            );
        }
    }
}
