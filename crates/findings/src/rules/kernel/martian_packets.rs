//! KRN009: martian packets arrived on an interface.

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
    /// Reports `martian source` kernel messages, one finding per receiving
    /// interface: packets whose source address cannot be valid on that
    /// interface (the reverse-path check failed).
    ///
    /// ## Why is this bad?
    /// The kernel drops martian packets. On EKS nodes they usually reveal
    /// asymmetric routing between ENIs (a pod IP on a secondary ENI answered
    /// through `eth0`) with strict `rp_filter`, or a misconfigured overlay;
    /// the affected connections fail. The messages only appear with
    /// `net.ipv4.conf.*.log_martians = 1`.
    ///
    /// ## Evidence
    /// `IPv4: martian source D from S, on dev IF` messages (and their
    /// `ll header:` dumps).
    ///
    /// ## Severity
    /// Low; medium from `martian_source_medium` (100) messages on one
    /// interface.
    ///
    /// ## Example
    /// ```text
    /// IPv4: martian source 10.0.1.5 from 169.254.1.1, on dev eth0
    /// ll header: 00000000: 0a 1b 2c 3d 4e 5f 0a 1b 2c 3d 4e 60 08 00
    /// ```
    ///
    /// ## Remediation
    /// Check `rp_filter` on the interface (the VPC CNI needs loose mode, 2,
    /// on secondary ENIs), the node's policy routing (`ip rule`) for pod IPs
    /// on secondary ENIs, and where the named source addresses come from.
    ///
    /// ## References
    /// - <https://docs.kernel.org/networking/ip-sysctl.html#proc-sys-net-ipv4-variables>
    pub(crate) static META = {
        code: "KRN009",
        name: "MartianPackets",
        group: Kernel,
        default_severity: Low,
        since: "0.1.0",
    }
}

/// KRN009.
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
        KernelEventKind::MartianSource { device, .. } => {
            Some(device.clone().unwrap_or_else(|| "unknown".to_owned()))
        }
        _ => None,
    });
    for (device, events) in groups {
        let sources: BTreeSet<&str> = events
            .iter()
            .filter_map(|event| match &event.kind {
                KernelEventKind::MartianSource { source, .. } => Some(source.as_str()),
                _ => None,
            })
            .collect();
        let shown: Vec<&str> = sources.iter().take(5).copied().collect();
        let more = if sources.len() > shown.len() {
            format!(" and {} more", sources.len() - shown.len())
        } else {
            String::new()
        };
        let summary = format!(
            "The kernel dropped packets with martian source addresses on {device} {}{}, from {}{more}: they failed the reverse-path check.",
            util::times(events.len()),
            util::seen_span(kernel, &events),
            shown.join(", "),
        );
        let medium = events.len() >= cx.thresholds.martian_source_medium;
        let builder = cx.finding(&META, Subject::new("interface", device.clone()));
        acc.push(
            util::with_events(builder, kernel, &events)
                .severity(if medium {
                    Severity::Medium
                } else {
                    Severity::Low
                })
                .title(format!(
                    "martian packets on {device} ({})",
                    util::times(events.len())
                ))
                .summary(summary)
                .build(),
        );
    }
}
