//! KRN004: a CPU stopped taking interrupts (hard lockup).

use std::collections::BTreeSet;

use node_artifacts::dmesg::KernelEventKind;

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Finding, Subject};
use crate::rules::kernel::util;

declare_rule! {
    /// ## What it does
    /// Reports hard lockups detected by the NMI watchdog: a CPU that did not
    /// take timer interrupts for `kernel.watchdog_thresh` seconds.
    ///
    /// ## Why is this bad?
    /// A hard-locked CPU runs nothing but the stuck code with interrupts off;
    /// the node usually stops responding or panics
    /// (`kernel.hardlockup_panic`). It points at a kernel or driver bug, or
    /// at a hypervisor that did not schedule the vCPU.
    ///
    /// ## Evidence
    /// `NMI watchdog: Watchdog detected hard LOCKUP on cpu N` reports in the
    /// kernel log with their traces.
    ///
    /// ## Severity
    /// Critical.
    ///
    /// ## Example
    /// ```text
    /// NMI watchdog: Watchdog detected hard LOCKUP on cpu 2
    /// ```
    ///
    /// ## Remediation
    /// Replace the node; update the AMI (kernel and drivers) if the trace
    /// names a driver, and open an AWS support case with the instance id and
    /// time if it repeats on current kernels.
    ///
    /// ## References
    /// - <https://docs.kernel.org/admin-guide/lockup-watchdogs.html>
    pub(crate) static META = {
        code: "KRN004",
        name: "CpuHardLockup",
        group: Kernel,
        default_severity: Critical,
        since: "0.1.0",
    }
}

/// KRN004.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::Kernel],
    check,
};

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let Some(kernel) = &cx.snapshot.kernel else {
        return;
    };
    let events: Vec<_> = kernel
        .events
        .iter()
        .filter(|event| matches!(event.kind, KernelEventKind::HardLockup { .. }))
        .collect();
    if events.is_empty() {
        return;
    }
    let cpus: BTreeSet<String> = events
        .iter()
        .filter_map(|event| match &event.kind {
            KernelEventKind::HardLockup { cpu: Some(cpu), .. } => Some(cpu.to_string()),
            _ => None,
        })
        .collect();
    let on = if cpus.is_empty() {
        String::new()
    } else {
        format!(
            " on CPU {}",
            cpus.into_iter().collect::<Vec<_>>().join(", ")
        )
    };
    let summary = format!(
        "The NMI watchdog detected a hard lockup {}{}{on}: the CPU ran with interrupts disabled for longer than kernel.watchdog_thresh.",
        util::times(events.len()),
        util::seen_span(kernel, &events),
    );
    let builder = cx.finding(&META, Subject::node());
    acc.push(
        util::with_events(builder, kernel, &events)
            .title(format!("hard lockup{on} ({})", util::times(events.len())))
            .summary(summary)
            .build(),
    );
}
