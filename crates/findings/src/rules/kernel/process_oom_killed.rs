//! KRN001: the kernel OOM killer killed a process.

use std::collections::{BTreeMap, BTreeSet};

use node_artifacts::dmesg::{KernelEvent, KernelEventKind};

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Evidence, Finding, Subject};
use crate::rules::kernel::util;
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Reports the processes the kernel OOM killer killed, one finding per
    /// process name and memory cgroup (the pod's cgroup on Kubernetes, so a
    /// container that is restarted and killed again stays one finding).
    ///
    /// ## Why is this bad?
    /// An OOM kill ends a process abruptly: the container restarts
    /// (`OOMKilled`, `CrashLoopBackOff`), requests in flight fail, and a
    /// repeated kill means the workload's memory limit is too low for what
    /// it does. A node-wide (global) OOM means the node itself ran out of
    /// memory: any process on it, kubelet and the container runtime
    /// included, may be the next victim.
    ///
    /// ## Evidence
    /// The kernel log's OOM reports: the `… invoked oom-killer` line, the
    /// cgroup's `memory: usage …, limit …` line, the
    /// `oom-kill:constraint=…,oom_memcg=…,task_memcg=…` summary and the
    /// `Killed process N (name) total-vm:…, anon-rss:…` line. Copies of the
    /// same lines in `var_log/messages` or `dmesg --ctime` output are the
    /// same kills and are not counted again. kubelet's own record of a kill
    /// (`"Got sys oom event" event={"Pid":…,"ProcessName":…}` in
    /// `kubelet/kubelet.log`, same pid and name within five minutes of the
    /// kernel's line) is added as corroborating evidence, not as another
    /// kill. The pod's name comes from the pod UID in the cgroup path,
    /// looked up in the kubelet journal (`pod=… podUID=…`) and containerd's
    /// `RunPodSandbox` lines.
    ///
    /// ## Severity
    /// High for kills inside a memory cgroup (`CONSTRAINT_MEMCG`, or
    /// `Memory cgroup out of memory:`): the container hit its limit.
    /// Critical when any of the group's kills was a global OOM
    /// (`constraint=CONSTRAINT_NONE`, or `Out of memory: Killed process`
    /// without a cgroup): the node ran out of memory.
    ///
    /// ## Example
    /// ```text
    /// java invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=999
    /// memory: usage 1048576kB, limit 1048576kB, failcnt 2231
    /// oom-kill:constraint=CONSTRAINT_MEMCG,…,oom_memcg=/kubepods.slice/…/kubepods-burstable-pod16cee551_….slice,task_memcg=…,task=java,pid=41233,uid=1000
    /// Memory cgroup out of memory: Killed process 41233 (java) total-vm:3569380kB, anon-rss:1034512kB, file-rss:1896kB, shmem-rss:0kB, UID:1000 pgtables:2360kB oom_score_adj:999
    /// ```
    ///
    /// ## Remediation
    /// For a memory-cgroup kill, raise the container's memory limit to what
    /// the workload needs (and its request with it), or bound the runtime's
    /// own heap (`-XX:MaxRAMPercentage` for a JVM) below the limit. For a
    /// global OOM, set memory requests and limits on every pod so the
    /// scheduler does not overcommit the node, and reserve memory for the
    /// system (`kubeReserved`, `systemReserved`, `evictionHard`) so kubelet
    /// evicts before the kernel kills.
    ///
    /// ## References
    /// - <https://www.kernel.org/doc/gorman/html/understand/understand016.html>
    /// - <https://docs.kernel.org/admin-guide/cgroup-v2.html#memory-interface-files>
    /// - <https://kubernetes.io/docs/concepts/scheduling-eviction/node-pressure-eviction/>
    pub(crate) static META = {
        code: "KRN001",
        name: "ProcessOomKilled",
        group: Kernel,
        default_severity: High,
        since: "0.1.0",
    }
}

/// KRN001.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::Kernel],
    check,
};

/// One kill, with the report that led to it.
struct Kill<'a> {
    event: &'a KernelEvent,
    /// The `invoked oom-killer` report just before the kill, if any.
    report: Option<&'a KernelEvent>,
    global: bool,
}

/// How many records may separate the end of an `invoked oom-killer` report
/// from its kill (the `Tasks state` table lists every task of the cgroup or
/// the node, one record each).
const REPORT_GAP: usize = 4_096;

/// How far apart the kernel's and kubelet's records of one kill may be
/// (kubelet reads the kill from the kernel within seconds; the kernel log's
/// wall times are derived and may be off by about a second).
const KUBELET_WINDOW_US: i64 = 5 * 60 * 1_000_000;

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let Some(kernel) = &cx.snapshot.kernel else {
        return;
    };
    // Pair each kill with the OOM report that precedes it.
    let mut groups: BTreeMap<(String, Option<String>), Vec<Kill<'_>>> = BTreeMap::new();
    let mut report = None;
    for event in &kernel.events {
        match &event.kind {
            KernelEventKind::OomInvoked { .. } => report = Some(event),
            KernelEventKind::OomKill {
                process,
                cgroup_limit,
                constraint,
                oom_memcg,
                task_memcg,
                ..
            } => {
                let global = match constraint.as_deref() {
                    Some(constraint) => constraint != "CONSTRAINT_MEMCG",
                    None => !cgroup_limit,
                };
                let cgroup = task_memcg
                    .as_deref()
                    .or(oom_memcg.as_deref())
                    .map(util::pod_cgroup)
                    .filter(|cgroup| !cgroup.is_empty());
                // The report belongs to this kill only when it ends just
                // before it (a report whose kill never came is not ours).
                let report = report.take().filter(|report: &&KernelEvent| {
                    event.records.first.saturating_sub(report.records.last) <= REPORT_GAP
                });
                groups
                    .entry((process.clone(), cgroup))
                    .or_default()
                    .push(Kill {
                        event,
                        report,
                        global,
                    });
            }
            _ => {}
        }
    }
    if groups.is_empty() {
        return;
    }
    let wanted: BTreeSet<String> = groups
        .keys()
        .filter_map(|(_, cgroup)| cgroup.as_deref().and_then(util::pod_uid))
        .collect();
    let pods = util::pod_names(cx, &wanted);
    let kubelet = util::kubelet_ooms(cx);

    for ((process, cgroup), kills) in groups {
        let key = match &cgroup {
            Some(cgroup) => format!("{process}@{cgroup}"),
            None => process.clone(),
        };
        let pod = cgroup.as_deref().and_then(util::pod_uid).map(|uid| {
            pods.get(&uid)
                .map_or_else(|| format!("pod UID {uid}"), |name| format!("pod {name}"))
        });
        let global = kills.iter().filter(|kill| kill.global).count();
        let mut builder = cx.finding(&META, Subject::new("process", key));
        let mut kubelet_saw = 0;
        for kill in &kills {
            // kubelet's record of the same kill (same pid and name, within
            // minutes: pids are reused, and a previous boot's events are
            // in the same journal) corroborates it; it is not another kill.
            if let KernelEventKind::OomKill { pid, .. } = &kill.event.kind
                && let Some(killed_at) = kernel
                    .log
                    .value
                    .records
                    .get(kill.event.records.last)
                    .and_then(|record| record.wall_time)
                && let Some(seen) = kubelet.iter().find(|oom| {
                    oom.pid == *pid
                        && oom.process == process
                        && oom
                            .time
                            .is_some_and(|at| (at.0 - killed_at.0).abs() <= KUBELET_WINDOW_US)
                })
            {
                kubelet_saw += 1;
                builder = builder.evidence(seen.evidence.clone());
            }
            let first = kill
                .report
                .map_or(kill.event.records.first, |report| report.records.first);
            let evidence = util::event_quoting(kernel, kill.event, kill.event.records.last);
            let first_line = kernel
                .log
                .value
                .records
                .get(first)
                .map_or(evidence.line, |record| record.lines.first);
            builder = builder.evidence(Evidence {
                line: first_line.min(evidence.line),
                ..evidence
            });
        }

        // Dated by the `Killed process` line, as the evidence is.
        let kill_times = kills.iter().map(|kill| {
            kernel
                .log
                .value
                .records
                .get(kill.event.records.last)
                .and_then(|record| record.wall_time)
        });
        let Some(last) = kills.last() else {
            continue;
        };
        let limit = kills.iter().rev().find_map(|kill| {
            let report = kill.report?;
            util::memcg_usage_limit(kernel, report.records.first, kill.event.records.last)
        });

        let mut summary = format!(
            "The kernel OOM killer killed `{process}` {}{}",
            util::times(kills.len()),
            util::span_of(kill_times)
        );
        match (&pod, &cgroup) {
            (Some(pod), Some(cgroup)) => summary.push_str(&format!(" in {pod} (cgroup {cgroup})")),
            (None, Some(cgroup)) => summary.push_str(&format!(" in cgroup {cgroup}")),
            _ => {}
        }
        summary.push('.');
        if let Some((usage, limit)) = limit {
            summary.push_str(&format!(
                " The memory cgroup used {usage} kB of its {limit} kB limit."
            ));
        }
        if let KernelEventKind::OomKill {
            pid,
            total_vm_kb,
            anon_rss_kb,
            oom_score_adj,
            ..
        } = &last.event.kind
        {
            let mut figures = Vec::new();
            if let Some(anon) = anon_rss_kb {
                figures.push(format!("anon-rss {anon} kB"));
            }
            if let Some(vm) = total_vm_kb {
                figures.push(format!("total-vm {vm} kB"));
            }
            if let Some(adj) = oom_score_adj {
                figures.push(format!("oom_score_adj {adj}"));
            }
            summary.push_str(&format!(" The last victim was pid {pid}"));
            if !figures.is_empty() {
                summary.push_str(&format!(" ({})", figures.join(", ")));
            }
            summary.push('.');
        }
        if kubelet_saw > 0 {
            summary.push_str(&format!(
                " kubelet recorded {} of {} (`Got sys oom event`).",
                util::plural(kubelet_saw, "kill"),
                if kills.len() == 1 { "it" } else { "them" }
            ));
        }
        if global > 0 {
            summary.push_str(&format!(
                " {global} of the {} {} node-wide (global): the node itself ran out of memory.",
                util::plural(kills.len(), "kill"),
                if global == 1 { "was" } else { "were" }
            ));
        } else {
            summary.push_str(
                " Every kill was confined to the memory cgroup (CONSTRAINT_MEMCG): the container hit its memory limit; the node did not run out of memory.",
            );
        }

        let where_ = pod
            .clone()
            .or(cgroup.clone())
            .map_or_else(String::new, |place| format!(" in {place}"));
        let title = if global > 0 {
            format!(
                "node out of memory: `{process}` OOM-killed {}{where_}",
                util::times(kills.len())
            )
        } else {
            format!(
                "`{process}` OOM-killed {}{where_} (memory cgroup limit)",
                util::times(kills.len())
            )
        };
        acc.push(
            builder
                .severity(if global > 0 {
                    Severity::Critical
                } else {
                    Severity::High
                })
                .title(title)
                .summary(summary)
                .occurrences(kills.len() as u64)
                .build(),
        );
    }
}
