//! JRN012: a container's liveness, readiness or startup probe keeps failing.

use std::collections::BTreeMap;

use node_artifacts::time::Timestamp;

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Evidence, Finding, Subject};
use crate::journal_index::Needles;
use crate::rules::kubelet::util;
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Flags a probe of a container that failed at least
    /// `probe_failures_min` (3) times, one finding per pod, container and
    /// probe type, and says whether kubelet restarted the container for it.
    ///
    /// ## Why is this bad?
    /// Failing liveness probes restart the container (and its in-flight
    /// work); failing readiness probes take the pod out of its Services'
    /// endpoints. When many pods on one node fail their probes at once the
    /// cause is usually the node (conntrack table full, network allowance
    /// exceeded, CPU or memory starvation, DNS), not the applications:
    /// these findings are then symptoms of the node-level finding.
    ///
    /// ## Evidence
    /// kubelet's `"Probe failed" probeType="…" pod="…" containerName="…"
    /// output="…"` lines and the `containerMessage="Container … failed
    /// liveness probe, will be restarted"` lines of the same container. The
    /// probe's output is quoted as the application returned it; text such as
    /// `java.lang.OutOfMemoryError` inside it is the application's message,
    /// not a kernel OOM kill.
    ///
    /// ## Severity
    /// Low; medium when kubelet restarted the container because of a
    /// liveness or startup probe.
    ///
    /// ## Example
    /// ```text
    /// "Probe failed" probeType="Liveness" pod="shop/cart-5f7b9c6d48-swbgz" containerName="cart" probeResult="failure" output="Get \"http://10.0.42.75:8080/healthz\": context deadline exceeded"
    /// ```
    ///
    /// ## Remediation
    /// If several pods fail at the same time, look at the node-level
    /// findings of that window first. Otherwise check the application's
    /// health endpoint and the probe's `timeoutSeconds`, `periodSeconds` and
    /// `failureThreshold` against its real latency.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/>
    pub(crate) static META = {
        code: "JRN012",
        name: "ContainerProbesFailing",
        group: Kubelet,
        default_severity: Low,
        since: "0.1.0",
    }
}

/// JRN012.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::KubeletJournal],
    check,
};

#[derive(Default)]
struct PerProbe {
    failures: usize,
    restarts: usize,
    output: Option<String>,
    times: Vec<Option<Timestamp>>,
    evidence: Vec<Evidence>,
}

/// Every entry JRN012 reads has a `containerName` key.
pub(crate) static NEEDLES: Needles = Needles {
    name: "JRN012",
    words: &["containerName"],
    klog_prefixes: &[],
};

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let Some(journal) = util::kubelet_journal(cx) else {
        return;
    };
    // Keyed by (pod, container, probe type in lower case).
    let mut probes: BTreeMap<(String, String, String), PerProbe> = BTreeMap::new();
    for entry in cx.journal_entries(journal, &NEEDLES) {
        let Some(klog) = util::klog(entry) else {
            continue;
        };
        let (Some(pod), Some(container)) = (util::kv(klog, "pod"), util::kv(klog, "containerName"))
        else {
            continue;
        };
        if klog.msg == "Probe failed" {
            let probe_type = util::kv(klog, "probeType")
                .unwrap_or("unknown")
                .to_ascii_lowercase();
            let per = probes
                .entry((pod.to_owned(), container.to_owned(), probe_type))
                .or_default();
            per.failures += 1;
            per.output = util::kv(klog, "output").map(str::to_owned);
            per.times.push(entry.best_time());
            per.evidence.push(util::entry_evidence(journal, entry));
        } else if let Some(message) = util::kv(klog, "containerMessage")
            && message.contains("probe, will be restarted")
        {
            let probe_type = if message.contains("startup probe") {
                "startup"
            } else {
                "liveness"
            };
            let per = probes
                .entry((pod.to_owned(), container.to_owned(), probe_type.to_owned()))
                .or_default();
            per.restarts += 1;
            per.evidence.push(util::entry_evidence(journal, entry));
        }
    }
    for ((pod, container, probe_type), per) in probes {
        if per.failures < cx.thresholds.probe_failures_min {
            continue;
        }
        let mut builder = cx.finding(
            &META,
            Subject::new("container", format!("{pod}/{container}:{probe_type}")),
        );
        for time in &per.times {
            builder = builder.seen(*time);
        }
        let mut summary = format!(
            "The {probe_type} probe of container {container} in pod {pod} failed {} times",
            per.failures
        );
        if per.restarts > 0 {
            summary.push_str(&format!(
                " and kubelet restarted the container {} time(s) for it",
                per.restarts
            ));
        }
        summary.push('.');
        if let Some(output) = &per.output {
            summary.push_str(&format!(" Last probe output: {output}."));
        }
        acc.push(
            builder
                .evidence_all(util::sample(per.evidence, 8))
                .severity(if per.restarts > 0 {
                    Severity::Medium
                } else {
                    Severity::Low
                })
                .title(format!(
                    "{probe_type} probe of {pod}/{container} failing ({}×{})",
                    per.failures,
                    if per.restarts > 0 { ", restarted" } else { "" }
                ))
                .summary(summary)
                .occurrences(per.failures as u64)
                .build(),
        );
    }
}
