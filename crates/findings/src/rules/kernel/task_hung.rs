//! KRN002: a task stayed blocked in the kernel for minutes.

use node_artifacts::dmesg::{CallTrace, KernelEventKind};

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Finding, Subject};
use crate::rules::kernel::util;

declare_rule! {
    /// ## What it does
    /// Reports tasks the kernel's hung-task detector found blocked in
    /// uninterruptible sleep (`D` state) for longer than
    /// `kernel.hung_task_timeout_secs`, one finding per task name.
    ///
    /// ## Why is this bad?
    /// A task stuck in `D` state waits for I/O or a lock that does not come:
    /// typically an EBS volume or NFS/EFS mount that stopped answering, a
    /// journal (`jbd2`, `xfsaild`) that cannot write, or a kernel deadlock.
    /// Processes touching the same filesystem hang too, container runtime
    /// calls time out and kubelet reports PLEG problems. node-problem-detector
    /// sets the `KernelDeadlock` condition on this message.
    ///
    /// ## Evidence
    /// `INFO: task NAME:PID blocked for more than N seconds.` reports in the
    /// kernel log, with the task's call trace (the top frames are quoted in
    /// the summary).
    ///
    /// ## Severity
    /// High.
    ///
    /// ## Example
    /// ```text
    /// INFO: task jbd2/nvme1n1p1-8:412 blocked for more than 122 seconds.
    ///       Not tainted 6.1.155-176.282.amzn2023.x86_64 #1
    /// "echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.
    /// task:jbd2/nvme1n1p1-8 state:D stack:0 pid:412 ppid:2 flags:0x00004000
    /// Call Trace:
    ///  __schedule+0x2d4/0x8f0
    ///  io_schedule+0x42/0x70
    /// ```
    ///
    /// ## Remediation
    /// Look at what the trace waits for: block-layer and filesystem frames
    /// (`io_schedule`, `jbd2_*`, `xfs_*`) point at the volume (check its
    /// EBS metrics and the block I/O errors, KRN013), `nfs_*`/`rpc_*` at an
    /// unreachable NFS or EFS server, lock frames at a kernel bug (update
    /// the AMI). A node whose root volume hangs should be replaced.
    ///
    /// ## References
    /// - <https://docs.kernel.org/admin-guide/sysctl/kernel.html#hung-task-timeout-secs>
    /// - <https://github.com/kubernetes/node-problem-detector/blob/master/config/kernel-monitor.json>
    pub(crate) static META = {
        code: "KRN002",
        name: "TaskHung",
        group: Kernel,
        default_severity: High,
        since: "0.1.0",
    }
}

/// KRN002.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::Kernel],
    check,
};

/// `kworker/u8:2` and `kworker/3:1H` are renumbered on every boot: one key.
fn task_key(task: &str) -> &str {
    if task.starts_with("kworker/") {
        "kworker"
    } else {
        task
    }
}

/// The first reliable frames of a trace, without offsets.
pub(super) fn top_frames(trace: &CallTrace, n: usize) -> String {
    trace
        .frames
        .iter()
        .filter(|frame| frame.reliable)
        .take(n)
        .map(|frame| {
            frame
                .function
                .split_once('+')
                .map_or(frame.function.as_str(), |(name, _)| name)
        })
        .collect::<Vec<_>>()
        .join(" ← ")
}

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let Some(kernel) = &cx.snapshot.kernel else {
        return;
    };
    let groups = util::group_events(kernel, |event| match &event.kind {
        KernelEventKind::HungTask { task, .. } => Some(task_key(task).to_owned()),
        _ => None,
    });
    for (task, events) in groups {
        let mut longest = 0;
        let mut pids = Vec::new();
        let mut frames = String::new();
        for event in &events {
            if let KernelEventKind::HungTask {
                pid,
                seconds,
                trace,
                ..
            } = &event.kind
            {
                longest = longest.max(*seconds);
                if !pids.contains(pid) {
                    pids.push(*pid);
                }
                if frames.is_empty() {
                    frames = top_frames(trace, 6);
                }
            }
        }
        let pids: Vec<String> = pids.iter().map(u32::to_string).collect();
        let mut summary = format!(
            "The hung-task detector reported `{task}` (pid {}) blocked in uninterruptible sleep {}{}, for more than {longest} seconds at the longest.",
            pids.join(", "),
            util::times(events.len()),
            util::seen_span(kernel, &events),
        );
        if !frames.is_empty() {
            summary.push_str(&format!(" It was waiting in {frames}."));
        }
        let builder = cx.finding(&META, Subject::new("task", task.clone()));
        acc.push(
            util::with_events(builder, kernel, &events)
                .title(format!(
                    "task `{task}` blocked for more than {longest} s ({})",
                    util::times(events.len())
                ))
                .summary(summary)
                .build(),
        );
    }
}
