//! NET001: `nf_conntrack_max` is low for a Kubernetes node.

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Evidence, Finding, Subject};
use crate::rules::evidence;
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Flags a node whose `net.netfilter.nf_conntrack_max` is below what
    /// kube-proxy would set for it: the larger of `conntrack_max_min`
    /// (131,072, kube-proxy's `conntrack.min`) and `conntrack_max_per_core`
    /// (32,768, kube-proxy's `conntrack.maxPerCore`) times the CPU count.
    ///
    /// ## Why is this bad?
    /// Every connection through a Service, every pod-to-pod flow that is
    /// NATed and every DNS query takes a conntrack entry. A small table fills
    /// on an ordinary burst, and the kernel then drops the first packet of
    /// new flows (`nf_conntrack: table full, dropping packet`). A value below
    /// kube-proxy's usually means kube-proxy could not write the sysctl
    /// (`conntrack.maxPerCore: 0`, a read-only `/proc/sys`) or a tuning
    /// script lowered it afterwards.
    ///
    /// ## Evidence
    /// `net.netfilter.nf_conntrack_max` (or `net.nf_conntrack_max`) and
    /// `nf_conntrack_count` from `sysctls/sysctl_all.txt`. The CPU count is
    /// the number of `cpu=N` lines of `conntrack -S` in
    /// `networking/conntrack.txt` (the kernel keeps one statistics row per
    /// CPU); without them only the fixed minimum is used.
    ///
    /// ## Severity
    /// Medium. High when the table is already at least half full
    /// (`nf_conntrack_count`) or `conntrack -S` shows `insert_failed` or
    /// `drop` above zero: the low limit is then hurting.
    ///
    /// ## Example
    /// ```text
    /// net.netfilter.nf_conntrack_max = 65536      <- 4 CPUs: kube-proxy would set 131072
    /// ```
    ///
    /// ## Remediation
    /// Let kube-proxy set the limit (`conntrack.maxPerCore` and `conntrack.min`
    /// in its configuration; check its log for `Setting nf_conntrack_max`), or
    /// raise `net.netfilter.nf_conntrack_max` in a `sysctl.d` drop-in or the
    /// node's user data. Each entry costs about 300 bytes of kernel memory.
    ///
    /// ## References
    /// - <https://docs.kernel.org/networking/nf_conntrack-sysctl.html>
    /// - <https://kubernetes.io/docs/reference/config-api/kube-proxy-config.v1alpha1/#kubeproxy-config-k8s-io-v1alpha1-KubeProxyConntrackConfiguration>
    pub(crate) static META = {
        code: "NET001",
        name: "ConntrackMaxTooLow",
        group: Network,
        default_severity: Medium,
        since: "0.1.0",
    }
}

/// NET001.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::Sysctl],
    check,
};

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let snapshot = cx.snapshot;
    let Some(sysctl) = &snapshot.sysctl else {
        return;
    };
    let Some(max) = sysctl.value.nf_conntrack_max() else {
        return;
    };
    let stats = snapshot
        .conntrack
        .as_ref()
        .and_then(|dump| Some((dump, dump.value.stats.as_ref()?)));
    let cpus = stats.map_or(0, |(_, stats)| stats.cpus.len() as u64);
    let per_core = cx.thresholds.conntrack_max_per_core.saturating_mul(cpus);
    let expected = cx.thresholds.conntrack_max_min.max(per_core);
    if max >= expected {
        return;
    }

    let max_key = if sysctl.value.get("net.netfilter.nf_conntrack_max").is_some() {
        "net.netfilter.nf_conntrack_max"
    } else {
        "net.nf_conntrack_max"
    };
    let mut builder = cx.finding(
        &META,
        Subject::new("sysctl", "net.netfilter.nf_conntrack_max"),
    );
    builder = builder.evidence_all(
        [max_key, "net.netfilter.nf_conntrack_count"]
            .iter()
            .filter_map(|key| evidence::sysctl_key(snapshot, key)),
    );

    let mut summary = format!("nf_conntrack_max is {max}, below the {expected} entries");
    if per_core > cx.thresholds.conntrack_max_min {
        summary.push_str(&format!(
            " kube-proxy would set for {cpus} CPUs ({} per core)",
            cx.thresholds.conntrack_max_per_core
        ));
    } else {
        summary.push_str(" a Kubernetes node should have (kube-proxy's minimum)");
    }
    summary.push('.');

    let mut hurting = false;
    if let Some(count) = sysctl.value.nf_conntrack_count() {
        let usage = count as f64 / max.max(1) as f64;
        summary.push_str(&format!(
            " The table holds {count} entries ({:.1}%).",
            usage * 100.0
        ));
        hurting |= usage >= 0.5;
    }
    if let Some((dump, stats)) = stats {
        let failures: Vec<String> = ["insert_failed", "drop"]
            .iter()
            .filter_map(|name| {
                Some(format!(
                    "{name}={}",
                    stats.total(name).filter(|&value| value > 0)?
                ))
            })
            .collect();
        if !failures.is_empty() {
            hurting = true;
            summary.push_str(&format!(
                " conntrack -S reports {} summed over CPUs.",
                failures.join(", ")
            ));
        }
        if let Some(first) = stats.cpus.first() {
            builder = builder.evidence(Evidence::line(
                &dump.path,
                first.line,
                &format!("cpu={} … ({cpus} CPU rows in conntrack -S)", first.cpu),
            ));
        }
    }

    acc.push(
        builder
            .severity(if hurting {
                Severity::High
            } else {
                Severity::Medium
            })
            .title(format!("nf_conntrack_max {max} is below {expected}"))
            .summary(summary)
            .build(),
    );
}
