//! KRN003: a CPU was stuck in kernel code (soft lockup).

use std::collections::BTreeSet;

use node_artifacts::dmesg::KernelEventKind;

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Finding, Subject};
use crate::rules::kernel::{task_hung, util};

declare_rule! {
    /// ## What it does
    /// Reports soft lockups: the watchdog found a CPU that ran kernel code
    /// without scheduling for longer than twice
    /// `kernel.watchdog_thresh` (20 s by default). One finding per node.
    ///
    /// ## Why is this bad?
    /// While a CPU is locked up nothing else runs on it: latency spikes,
    /// probes time out, and the condition often precedes a hard lockup or a
    /// panic. On EC2 it also appears when the hypervisor steals the vCPU for
    /// a long time (CPU credits of burstable instances exhausted, noisy
    /// host). node-problem-detector sets `KernelDeadlock`-class events on it.
    ///
    /// ## Evidence
    /// `watchdog: BUG: soft lockup - CPU#N stuck for Ns! [comm:pid]` reports
    /// in the kernel log with their call traces.
    ///
    /// ## Severity
    /// High.
    ///
    /// ## Example
    /// ```text
    /// watchdog: BUG: soft lockup - CPU#3 stuck for 23s! [kworker/3:1:1234]
    /// ```
    ///
    /// ## Remediation
    /// Check the trace for the looping code path (a driver or filesystem bug:
    /// update the AMI and kernel) and the instance's CPU credit balance and
    /// steal time; move off T-class instances in unlimited-off mode if
    /// credits run out. Replace the node if lockups repeat.
    ///
    /// ## References
    /// - <https://docs.kernel.org/admin-guide/lockup-watchdogs.html>
    pub(crate) static META = {
        code: "KRN003",
        name: "CpuSoftLockup",
        group: Kernel,
        default_severity: High,
        since: "0.1.0",
    }
}

/// KRN003.
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
        .filter(|event| matches!(event.kind, KernelEventKind::SoftLockup { .. }))
        .collect();
    if events.is_empty() {
        return;
    }
    let mut cpus = BTreeSet::new();
    let mut processes = BTreeSet::new();
    let mut longest = 0;
    let mut frames = String::new();
    for event in &events {
        if let KernelEventKind::SoftLockup {
            cpu,
            seconds,
            process,
            trace,
            ..
        } = &event.kind
        {
            cpus.insert(*cpu);
            processes.insert(process.as_str());
            longest = longest.max(*seconds);
            if frames.is_empty() {
                frames = task_hung::top_frames(trace, 6);
            }
        }
    }
    let cpus: Vec<String> = cpus.iter().map(u32::to_string).collect();
    let processes: Vec<&str> = processes.into_iter().collect();
    let mut summary = format!(
        "The watchdog reported a soft lockup {}{} on CPU {} (longest {longest} s), running {}.",
        util::times(events.len()),
        util::seen_span(kernel, &events),
        cpus.join(", "),
        processes.join(", "),
    );
    if !frames.is_empty() {
        summary.push_str(&format!(" First trace: {frames}."));
    }
    let builder = cx.finding(&META, Subject::node());
    acc.push(
        util::with_events(builder, kernel, &events)
            .title(format!(
                "soft lockup: CPU stuck for up to {longest} s ({})",
                util::times(events.len())
            ))
            .summary(summary)
            .build(),
    );
}
