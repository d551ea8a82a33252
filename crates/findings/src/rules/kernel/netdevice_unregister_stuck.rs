//! KRN014: a network device cannot be unregistered (leaked references).

use node_artifacts::dmesg::{KernelEvent, KernelEventKind};
use node_artifacts::snapshot::KernelMessages;

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Finding, Subject};
use crate::rules::kernel::util;
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Reports `unregister_netdevice: waiting for DEV to become free. Usage
    /// count = N` kernel messages, one finding per device name.
    ///
    /// ## Why is this bad?
    /// The kernel cannot free a network device because something still holds
    /// references to it (a leaked socket, a conntrack or route entry, a
    /// kernel bug). The task deleting it — usually the CNI tearing down a
    /// pod's network namespace — is stuck, holding the global network lock:
    /// new pod sandboxes cannot be created and pods hang in
    /// `ContainerCreating` or `Terminating`. node-problem-detector reports
    /// `FrequentUnregisterNetDevice` when the message repeats.
    ///
    /// ## Evidence
    /// The kernel messages, with the device's remaining usage count.
    ///
    /// ## Severity
    /// Medium; high when one device's message appears
    /// `unregister_netdevice_frequent` (3) times within
    /// `unregister_netdevice_window_minutes` (20) — node-problem-detector's
    /// definition of frequent.
    ///
    /// ## Example
    /// ```text
    /// unregister_netdevice: waiting for eth0 to become free. Usage count = 2
    /// ```
    ///
    /// ## Remediation
    /// Drain and reboot the node to clear the stuck namespace; update the AMI
    /// (kernel) since most leaks are kernel bugs fixed in later releases.
    ///
    /// ## References
    /// - <https://github.com/kubernetes/node-problem-detector/blob/master/config/kernel-monitor.json>
    /// - <https://github.com/moby/moby/issues/5618>
    pub(crate) static META = {
        code: "KRN014",
        name: "NetdeviceUnregisterStuck",
        group: Kernel,
        default_severity: Medium,
        since: "0.1.0",
    }
}

/// KRN014.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::Kernel],
    check,
};

/// A record's time in microseconds: wall clock when known, else since boot.
fn micros(kernel: &KernelMessages, event: &KernelEvent) -> Option<i64> {
    let record = kernel.log.value.records.get(event.records.first)?;
    record
        .wall_time
        .map(|time| time.0)
        .or_else(|| record.since_boot_us.and_then(|us| i64::try_from(us).ok()))
}

/// The most messages within any window of `window_us`.
fn densest(times: &[i64], window_us: i64) -> usize {
    let mut best = 0;
    let mut start = 0;
    for end in 0..times.len() {
        while times[end] - times[start] > window_us {
            start += 1;
        }
        best = best.max(end + 1 - start);
    }
    best
}

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let Some(kernel) = &cx.snapshot.kernel else {
        return;
    };
    let groups = util::group_events(kernel, |event| match &event.kind {
        KernelEventKind::UnregisterNetdevice { device, .. } => Some(device.clone()),
        _ => None,
    });
    let window_minutes = cx.thresholds.unregister_netdevice_window_minutes;
    for (device, events) in groups {
        let mut times: Vec<i64> = events
            .iter()
            .filter_map(|event| micros(kernel, event))
            .collect();
        times.sort_unstable();
        let dense = densest(&times, window_minutes.saturating_mul(60_000_000));
        let frequent = dense >= cx.thresholds.unregister_netdevice_frequent;
        let usage = events.iter().rev().find_map(|event| match &event.kind {
            KernelEventKind::UnregisterNetdevice { usage_count, .. } => Some(*usage_count),
            _ => None,
        });
        let mut summary = format!(
            "The kernel waited for {device} to become free {}{}",
            util::times(events.len()),
            util::seen_span(kernel, &events),
        );
        if let Some(usage) = usage {
            summary.push_str(&format!(" (last usage count {usage})"));
        }
        summary.push_str(
            ": references to the device leaked and the task deleting it (usually a pod's network teardown) is stuck, blocking other network namespace changes.",
        );
        if frequent {
            summary.push_str(&format!(
                " {dense} of the messages fall within {window_minutes} minutes: frequent, as node-problem-detector counts it."
            ));
        }
        let builder = cx.finding(&META, Subject::new("interface", device.clone()));
        acc.push(
            util::with_events(builder, kernel, &events)
                .severity(if frequent {
                    Severity::High
                } else {
                    Severity::Medium
                })
                .title(format!(
                    "unregister_netdevice stuck on {device} ({})",
                    util::times(events.len())
                ))
                .summary(summary)
                .build(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::densest;

    #[test]
    fn windows() {
        assert_eq!(densest(&[], 10), 0);
        assert_eq!(densest(&[0, 5, 10, 30], 10), 3);
        assert_eq!(densest(&[0, 11, 22], 10), 1);
    }
}
