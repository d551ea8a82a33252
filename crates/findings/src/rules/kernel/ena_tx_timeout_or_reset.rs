//! KRN010: an ENA interface lost Tx completions, timed out or was reset.

use std::collections::{BTreeMap, BTreeSet};

use node_artifacts::dmesg::{EnaEvent, KernelEventKind};

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Finding, Subject};
use crate::rules::kernel::util;
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Reports Elastic Network Adapter trouble per interface: transmits not
    /// completed on time (`Found a Tx that wasn't completed on time`, the
    /// netdev watchdog's `transmit queue N timed out`), lost Tx completions
    /// above the threshold, keep-alive timeouts, and the device resets they
    /// trigger.
    ///
    /// ## Why is this bad?
    /// While the device resets, the interface carries no traffic (a few
    /// hundred milliseconds to seconds): connections stall, probes time out,
    /// and a failed reset leaves the interface down. Tx timeouts often come
    /// with exceeded EC2 network allowances (see the `ethtool -S`
    /// `*_allowance_exceeded` counters), a driver bug, or a starved CPU.
    ///
    /// ## Evidence
    /// The `ena 0000:00:05.0 eth0: …` messages and the `NETDEV WATCHDOG:
    /// eth0 (ena): transmit queue N timed out` line. The watchdog's
    /// `WARNING:` block with its call trace is the standard Tx-timeout
    /// warning, not a kernel crash.
    ///
    /// ## Severity
    /// High; critical when a reset failed (the interface may stay down).
    ///
    /// ## Example
    /// ```text
    /// ena 0000:00:05.0 eth0: Found a Tx that wasn't completed on time, qid 1, index 317.
    /// NETDEV WATCHDOG: eth0 (ena): transmit queue 1 timed out 5304 ms
    /// ena 0000:00:05.0 eth0: Trigger reset is on
    /// ena 0000:00:05.0 eth0: Device reset completed successfully, Driver info: Elastic Network Adapter (ENA)
    /// ```
    ///
    /// ## Remediation
    /// Check the interface's `ethtool -S` allowance counters and move to a
    /// larger or network-optimised instance if they grow; update the ENA
    /// driver (the AMI) and the kernel; replace the node if resets repeat or
    /// fail.
    ///
    /// ## References
    /// - <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/troubleshooting-ena.html>
    /// - <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/monitoring-network-performance-ena.html>
    /// - <https://github.com/amzn/amzn-drivers/blob/master/kernel/linux/ena/README.rst>
    pub(crate) static META = {
        code: "KRN010",
        name: "EnaTxTimeoutOrReset",
        group: Kernel,
        default_severity: High,
        since: "0.1.0",
    }
}

/// KRN010.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::Kernel],
    check,
};

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let Some(kernel) = &cx.snapshot.kernel else {
        return;
    };
    // PCI address → interface, from the messages that print both.
    let mut names: BTreeMap<&str, &str> = BTreeMap::new();
    for event in &kernel.events {
        if let KernelEventKind::Ena {
            pci_address: Some(pci),
            interface: Some(interface),
            ..
        } = &event.kind
        {
            names.entry(pci.as_str()).or_insert(interface.as_str());
        }
    }
    let groups = util::group_events(kernel, |event| match &event.kind {
        KernelEventKind::Ena {
            pci_address,
            interface,
            event,
        } if !matches!(event, EnaEvent::LinkUp | EnaEvent::LinkDown) => interface
            .as_deref()
            .or_else(|| {
                pci_address
                    .as_deref()
                    .and_then(|pci| names.get(pci).copied())
            })
            .or(pci_address.as_deref())
            .map(str::to_owned),
        _ => None,
    });
    for (interface, events) in groups {
        let mut timeouts = 0;
        let mut lost = 0;
        let mut keep_alive = 0;
        let mut triggered = 0;
        let mut completed = 0;
        let mut failed = 0;
        let mut queues = BTreeSet::new();
        let mut pci = None;
        for event in &events {
            let KernelEventKind::Ena {
                event, pci_address, ..
            } = &event.kind
            else {
                continue;
            };
            if pci.is_none() {
                pci = pci_address.as_deref();
            }
            match event {
                EnaEvent::TxTimeout { queue } => {
                    timeouts += 1;
                    if let Some(queue) = queue {
                        queues.insert(*queue);
                    }
                }
                EnaEvent::LostTxCompletions => lost += 1,
                EnaEvent::KeepAliveTimeout => keep_alive += 1,
                EnaEvent::ResetTriggered => triggered += 1,
                EnaEvent::ResetCompleted => completed += 1,
                EnaEvent::ResetFailed => failed += 1,
                EnaEvent::LinkUp | EnaEvent::LinkDown => {}
            }
        }
        let device = match pci {
            Some(pci) if pci != interface => format!("{interface} ({pci})"),
            _ => interface.clone(),
        };
        let mut parts = Vec::new();
        if timeouts > 0 {
            let on = if queues.is_empty() {
                String::new()
            } else {
                let queues: Vec<String> = queues.iter().map(u32::to_string).collect();
                format!(" on queue {}", queues.join(", "))
            };
            parts.push(format!(
                "{}{on}",
                util::plural(timeouts, "Tx timeout message")
            ));
        }
        if lost > 0 {
            parts.push(format!(
                "lost Tx completions above the threshold {}",
                util::times(lost)
            ));
        }
        if keep_alive > 0 {
            parts.push(util::plural(keep_alive, "keep-alive timeout"));
        }
        if triggered > 0 {
            parts.push(format!(
                "{} triggered",
                util::plural(triggered, "device reset")
            ));
        }
        if completed > 0 {
            parts.push(format!("{} completed", util::plural(completed, "reset")));
        }
        if failed > 0 {
            parts.push(format!("{} FAILED", util::plural(failed, "reset")));
        }
        let resets = triggered.max(completed).max(failed);
        let mut summary = format!(
            "The ENA driver on {device} reported {}{}.",
            parts.join(", "),
            util::seen_span(kernel, &events),
        );
        if resets > 0 {
            summary.push_str(" The interface carried no traffic while the device reset.");
        }
        if failed > 0 {
            summary.push_str(" A reset failed: the interface may be down.");
        }
        let title = if resets > 0 {
            format!(
                "ENA device on {interface} reset ({}) after Tx timeouts",
                util::times(resets)
            )
        } else {
            format!("ENA Tx timeouts on {interface}")
        };
        let builder = cx.finding(&META, Subject::new("interface", interface.clone()));
        acc.push(
            util::with_events(builder, kernel, &events)
                .severity(if failed > 0 {
                    Severity::Critical
                } else {
                    Severity::High
                })
                .title(title)
                .summary(summary)
                .build(),
        );
    }
}
