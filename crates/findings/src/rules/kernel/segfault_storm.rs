//! KRN015: a process keeps crashing with segmentation faults.

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
    /// Reports processes the kernel killed for bad memory accesses
    /// (`NAME[PID]: segfault at …`), one finding per process name.
    ///
    /// ## Why is this bad?
    /// A process that segfaults over and over is a container in a crash
    /// loop (a broken image, an incompatible library or CPU architecture,
    /// memory corruption) or a node agent that keeps dying. Segfaults spread
    /// over many unrelated processes point at bad memory (see KRN016).
    ///
    /// ## Evidence
    /// The kernel's segfault lines, with the faulting library and the pids.
    ///
    /// ## Severity
    /// Medium from `segfault_storm` (10) segfaults of one process; below
    /// that the finding is `info` (a process crashed: the application's
    /// business, visible as container restarts, but worth knowing).
    ///
    /// ## Example
    /// ```text
    /// python3[12345]: segfault at 0 ip 00007f7d2c0f1e2a sp 00007ffd4c4f9a08 error 4 in libc.so.6[7f7d2c000000+195000]
    /// ```
    ///
    /// ## Remediation
    /// Find the pod running the process (container restarts in the kubelet
    /// journal), check its image for the node's architecture and library
    /// versions, and collect a core dump; if many different processes
    /// crash, replace the node.
    ///
    /// ## References
    /// - <https://man7.org/linux/man-pages/man7/signal.7.html>
    pub(crate) static META = {
        code: "KRN015",
        name: "SegfaultStorm",
        group: Kernel,
        default_severity: Medium,
        since: "0.1.0",
    }
}

/// KRN015.
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
        KernelEventKind::Segfault { process, .. } => Some(
            process
                .strip_prefix("traps: ")
                .unwrap_or(process)
                .to_owned(),
        ),
        _ => None,
    });
    for (process, events) in groups {
        let mut pids = BTreeSet::new();
        let mut libraries = BTreeSet::new();
        for event in &events {
            if let KernelEventKind::Segfault { pid, library, .. } = &event.kind {
                pids.insert(*pid);
                if let Some(library) = library {
                    libraries.insert(library.as_str());
                }
            }
        }
        let storm = events.len() >= cx.thresholds.segfault_storm;
        let mut summary = format!(
            "`{process}` segfaulted {}{} ({})",
            util::times(events.len()),
            util::seen_span(kernel, &events),
            util::plural(pids.len(), "pid"),
        );
        if !libraries.is_empty() {
            summary.push_str(&format!(
                ", faulting in {}",
                libraries.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        summary.push('.');
        if storm {
            summary.push_str(&format!(
                " That is at least {} segfaults: the process is crash-looping.",
                cx.thresholds.segfault_storm
            ));
        }
        let title = if storm {
            format!("segfault storm: `{process}` crashed {} times", events.len())
        } else {
            format!("`{process}` segfaulted ({})", util::times(events.len()))
        };
        let builder = cx.finding(&META, Subject::new("process", process.clone()));
        acc.push(
            util::with_events(builder, kernel, &events)
                .severity(if storm {
                    Severity::Medium
                } else {
                    Severity::Info
                })
                .title(title)
                .summary(summary)
                .build(),
        );
    }
}
