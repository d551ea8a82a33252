//! KRN005: the kernel hit a BUG, an Oops or a panic.

use node_artifacts::dmesg::{Crash, KernelEventKind};

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Evidence, Finding, Subject};
use crate::rules::evidence;
use crate::rules::kernel::{task_hung, util};

declare_rule! {
    /// ## What it does
    /// Reports kernel crashes: `BUG:` / `kernel BUG at` reports, Oopses
    /// (`Oops:`, `general protection fault`, arm64 `Internal error: Oops`)
    /// and panics (`Kernel panic - not syncing`), one finding per kind of
    /// crash and innermost reliable call-trace function.
    ///
    /// ## Why is this bad?
    /// After an Oops the kernel kills the faulting task and keeps running in
    /// a tainted, possibly inconsistent state (locks held by the dead task
    /// are never released); a panic stops the node. Either way the node is no
    /// longer trustworthy.
    ///
    /// Kernel `WARNING:` reports with a call trace (for example the netdev
    /// watchdog's `WARNING: … at net/sched/sch_generic.c … dev_watchdog`
    /// that precedes an ENA reset) are not crashes and are not reported here.
    ///
    /// ## Evidence
    /// The report's first line, its `CPU: … PID: … Comm: …` line, and an
    /// excerpt of its call trace (the innermost reliable frames).
    ///
    /// ## Severity
    /// Critical.
    ///
    /// ## Example
    /// ```text
    /// BUG: kernel NULL pointer dereference, address: 0000000000000000
    /// #PF: supervisor read access in kernel mode
    /// CPU: 1 PID: 2298 Comm: containerd Not tainted 6.1.155-176.282.amzn2023.x86_64 #1
    /// RIP: 0010:ovl_dentry_upper+0x9/0x30 [overlay]
    /// Call Trace:
    ///  ovl_getattr+0x4e/0x2b0 [overlay]
    /// ```
    ///
    /// ## Remediation
    /// Cordon and drain the node, then replace it. Search the trace's
    /// functions in the AMI's kernel changelog and update the AMI; open an
    /// AWS support case with the full report if it repeats.
    ///
    /// ## References
    /// - <https://docs.kernel.org/admin-guide/bug-hunting.html>
    /// - <https://docs.kernel.org/admin-guide/tainted-kernels.html>
    pub(crate) static META = {
        code: "KRN005",
        name: "KernelCrashed",
        group: Kernel,
        default_severity: Critical,
        since: "0.1.0",
    }
}

/// KRN005.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::Kernel],
    check,
};

fn crash(kind: &KernelEventKind) -> Option<(&'static str, &Crash)> {
    match kind {
        KernelEventKind::KernelBug(crash) => Some(("bug", crash)),
        KernelEventKind::Oops(crash) => Some(("oops", crash)),
        KernelEventKind::Panic(crash) => Some(("panic", crash)),
        _ => None,
    }
}

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let Some(kernel) = &cx.snapshot.kernel else {
        return;
    };
    let groups = util::group_events(kernel, |event| {
        let (class, crash) = crash(&event.kind)?;
        let top = task_hung::top_frames(&crash.trace, 1);
        Some(if top.is_empty() {
            class.to_owned()
        } else {
            format!("{class}@{top}")
        })
    });
    for (key, events) in groups {
        let Some((class, first)) = events.first().and_then(|event| crash(&event.kind)) else {
            continue;
        };
        let mut builder = cx.finding(&META, Subject::new("crash", key));
        for event in &events {
            builder = builder.evidence(evidence::kernel_event(kernel, event));
            if let Some((_, crash)) = crash(&event.kind)
                && !crash.trace.frames.is_empty()
            {
                let base = evidence::kernel_event(kernel, event);
                builder = builder.evidence(Evidence {
                    excerpt: format!("Call Trace: {}", task_hung::top_frames(&crash.trace, 8)),
                    ..base
                });
            }
        }
        let what = match class {
            "bug" => "a kernel BUG",
            "oops" => "a kernel Oops",
            _ => "a kernel panic",
        };
        let mut summary = format!(
            "The kernel reported {what} {}{}: `{}`.",
            util::times(events.len()),
            util::seen_span(kernel, &events),
            first.message
        );
        if let Some(process) = &first.process {
            summary.push_str(&format!(" It happened in `{process}`"));
            if let Some(pid) = first.pid {
                summary.push_str(&format!(" (pid {pid})"));
            }
            if let Some(cpu) = first.cpu {
                summary.push_str(&format!(" on CPU {cpu}"));
            }
            summary.push('.');
        }
        let frames = task_hung::top_frames(&first.trace, 6);
        if !frames.is_empty() {
            summary.push_str(&format!(" Call trace: {frames}."));
        }
        if let Some(taint) = &first.tainted {
            summary.push_str(&format!(" The kernel was tainted ({taint})."));
        }
        summary.push_str(if class == "panic" {
            " The node stopped."
        } else {
            " The kernel kept running in an inconsistent state: the node should be replaced."
        });
        acc.push(
            builder
                .title(format!("{what}: {}", first.message))
                .summary(summary)
                .occurrences(events.len() as u64)
                .build(),
        );
    }
}
