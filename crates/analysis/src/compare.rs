//! Compare a failing node with a known-good one.
//!
//! ```text
//! compare i-0c7e2d9f14ab35260 (failing) with i-0a1b2c3d4e5f60718 (good)
//! top differences:
//!   1. [findings] only in failing: CTK001 high  conntrack table 99.8% full
//!   2. [kernel]   conntrack-table-full: failing 412, good 0
//!   3. [sysctl]   net.netfilter.nf_conntrack_udp_timeout: failing 120, good 30
//! sections: findings 1 of 1, iptables 3 of 3, sysctl 5 of 17, …
//! usage: net.netfilter.nf_conntrack_count 130871/131072 vs 312/131072
//! ```
//!
//! Every difference is a [`Difference`] with an [`Area`], a kind, both sides'
//! values and a significance score. The ranking follows what usually explains
//! an incident: findings by severity first (new or worse on the failing node),
//! then bad kernel events and error bursts in the logs, then structural
//! iptables differences (services whose endpoints differ, chain policies,
//! chains and rule counts), then configuration (sysctl, kubelet, VPC CNI).
//! Each section keeps at most [`CompareOptions::max_items`] items with its
//! total; [`Comparison::top`] is the best [`CompareOptions::max_top`] overall.
//!
//! What is deliberately *not* a difference: per-interface sysctls for
//! interfaces only one node has (pod veths are named per node), and volatile
//! gauges (`nf_conntrack_count`, `fs.file-nr`, entropy, …), which are reported
//! side by side as [`Usage`] instead.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use findings::{Finding, Report, Severity};
use node_artifacts::iptables::{Policy, Ruleset};
use node_artifacts::snapshot::NodeSnapshot;
use node_artifacts::time::Timestamp;
use serde::Serialize;

/// Budgets of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompareOptions {
    /// Items kept per section.
    pub max_items: usize,
    /// Items in [`Comparison::top`].
    pub max_top: usize,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            max_items: 15,
            max_top: 10,
        }
    }
}

/// Which part of the node a difference is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    /// Findings of the two reports.
    Findings,
    /// Typed kernel events by kind.
    Kernel,
    /// Error-level lines per log source.
    Logs,
    /// ENA allowance counters.
    Network,
    /// iptables structure (services, chains, policies, rule counts).
    Iptables,
    /// Conntrack statistics.
    Conntrack,
    /// Kernel parameters.
    Sysctl,
    /// Kubelet configuration.
    Kubelet,
    /// VPC CNI (`aws-node`) settings.
    VpcCni,
}

impl Area {
    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Area::Findings => "findings",
            Area::Kernel => "kernel",
            Area::Logs => "logs",
            Area::Network => "network",
            Area::Iptables => "iptables",
            Area::Conntrack => "conntrack",
            Area::Sysctl => "sysctl",
            Area::Kubelet => "kubelet",
            Area::VpcCni => "vpc_cni",
        }
    }

    const ALL: [Area; 9] = [
        Area::Findings,
        Area::Kernel,
        Area::Logs,
        Area::Network,
        Area::Iptables,
        Area::Conntrack,
        Area::Sysctl,
        Area::Kubelet,
        Area::VpcCni,
    ];
}

/// One difference between the nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// The area.
    pub area: Area,
    /// What kind of difference (`only_in_failing`, `only_in_good`,
    /// `changed`, `endpoint_count`, `policy`, `rule_count`, `chain_only_in_failing`,
    /// `value`, `key_only_in_failing`, `count`, …).
    pub kind: &'static str,
    /// What differs: a finding code and subject, a chain, a service, a key.
    pub subject: String,
    /// The failing node's side, rendered.
    pub failing: Option<String>,
    /// The good node's side, rendered.
    pub good: Option<String>,
    /// The finding severity on the failing side (or the good side when the
    /// finding only exists there), for findings.
    pub severity: Option<Severity>,
    /// Significance: higher ranks first.
    pub score: u32,
    /// One line for a reader.
    pub summary: String,
}

/// One area's differences, budgeted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Section {
    /// The area.
    pub area: Area,
    /// Whether both nodes had the data (`false`: which side lacks it is in
    /// `missing`).
    pub compared: bool,
    /// Which side lacks the artifact, when one does.
    pub missing: Option<String>,
    /// The most significant differences.
    pub items: Vec<Difference>,
    /// Differences in all.
    pub total: usize,
}

/// A volatile gauge on both nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// The gauge (`net.netfilter.nf_conntrack_count`).
    pub name: String,
    /// Failing node's value.
    pub failing: Option<String>,
    /// Good node's value.
    pub good: Option<String>,
}

/// A node in a comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeRef {
    /// Snapshot id.
    pub snapshot_id: String,
    /// Instance id, else node name.
    pub node: Option<String>,
    /// Collection time.
    pub collection_time: Option<Timestamp>,
}

/// The result of [`compare`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comparison {
    /// The failing node.
    pub failing: NodeRef,
    /// The known-good node.
    pub good: NodeRef,
    /// The most significant differences over all areas.
    pub top: Vec<Difference>,
    /// Differences in all areas.
    pub total: usize,
    /// Per area, budgeted.
    pub sections: Vec<Section>,
    /// Volatile gauges side by side.
    pub usage: Vec<Usage>,
}

/// Compares `failing` with `good` using their findings reports, with the
/// default budgets.
pub fn compare(
    failing: &NodeSnapshot,
    failing_report: &Report,
    good: &NodeSnapshot,
    good_report: &Report,
) -> Comparison {
    compare_with(
        failing,
        failing_report,
        good,
        good_report,
        CompareOptions::default(),
    )
}

/// [`compare`] with explicit budgets.
pub fn compare_with(
    failing: &NodeSnapshot,
    failing_report: &Report,
    good: &NodeSnapshot,
    good_report: &Report,
    options: CompareOptions,
) -> Comparison {
    let mut all: Vec<Difference> = Vec::new();
    let mut missing: BTreeMap<Area, String> = BTreeMap::new();
    findings_diff(failing_report, good_report, &mut all);
    kernel_diff(failing, good, &mut all, &mut missing);
    logs_diff(failing, good, &mut all);
    ena_diff(failing, good, &mut all, &mut missing);
    iptables_diff(failing, good, &mut all, &mut missing);
    let mut usage = Vec::new();
    conntrack_diff(failing, good, &mut all, &mut usage, &mut missing);
    sysctl_diff(failing, good, &mut all, &mut usage, &mut missing);
    kubelet_diff(failing, good, &mut all, &mut missing);
    cni_diff(failing, good, &mut all, &mut missing);

    all.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then(a.area.cmp(&b.area))
            .then(a.subject.cmp(&b.subject))
    });
    let total = all.len();
    let top: Vec<Difference> = all.iter().take(options.max_top).cloned().collect();
    let sections = Area::ALL
        .iter()
        .map(|&area| {
            let items: Vec<&Difference> = all.iter().filter(|d| d.area == area).collect();
            Section {
                area,
                compared: !missing.contains_key(&area),
                missing: missing.get(&area).cloned(),
                total: items.len(),
                items: items.into_iter().take(options.max_items).cloned().collect(),
            }
        })
        .collect();
    Comparison {
        failing: node_ref(failing),
        good: node_ref(good),
        top,
        total,
        sections,
        usage,
    }
}

fn node_ref(s: &NodeSnapshot) -> NodeRef {
    NodeRef {
        snapshot_id: s.id.clone(),
        node: s
            .metadata
            .instance_id
            .clone()
            .or_else(|| s.metadata.node_name.clone()),
        collection_time: s.metadata.collection_time,
    }
}

fn severity_score(s: Severity) -> u32 {
    match s {
        Severity::Critical => 1000,
        Severity::High => 900,
        Severity::Medium => 800,
        Severity::Low => 700,
        Severity::Info => 610,
    }
}

fn diff(
    area: Area,
    kind: &'static str,
    subject: impl Into<String>,
    failing: Option<String>,
    good: Option<String>,
    score: u32,
    summary: String,
) -> Difference {
    Difference {
        area,
        kind,
        subject: subject.into(),
        failing,
        good,
        severity: None,
        score,
        summary,
    }
}

fn finding_side(f: &Finding) -> String {
    format!("{} ×{}", f.severity, f.occurrences)
}

fn findings_diff(failing: &Report, good: &Report, out: &mut Vec<Difference>) {
    fn by_fp(r: &Report) -> BTreeMap<String, &Finding> {
        r.findings
            .iter()
            .map(|f| (f.fingerprint.0.clone(), f))
            .collect()
    }
    let (fail, ok) = (by_fp(failing), by_fp(good));
    for (fp, f) in &fail {
        let subject = format!("{} {}", f.code, f.subject.key);
        match ok.get(fp) {
            None => out.push(Difference {
                severity: Some(f.severity),
                ..diff(
                    Area::Findings,
                    "only_in_failing",
                    subject,
                    Some(finding_side(f)),
                    None,
                    severity_score(f.severity),
                    format!("{} ({}): {}", f.code, f.severity, f.title),
                )
            }),
            Some(g) if g.severity != f.severity || g.occurrences != f.occurrences => {
                let worse = f.severity > g.severity;
                let score = if worse {
                    severity_score(f.severity) - 40
                } else if f.occurrences > g.occurrences {
                    severity_score(f.severity) - 80
                } else {
                    300
                };
                out.push(Difference {
                    severity: Some(f.severity),
                    ..diff(
                        Area::Findings,
                        "changed",
                        subject,
                        Some(finding_side(f)),
                        Some(finding_side(g)),
                        score,
                        format!(
                            "{} {}: {} ×{} on the failing node, {} ×{} on the good one",
                            f.code, f.title, f.severity, f.occurrences, g.severity, g.occurrences
                        ),
                    )
                });
            }
            Some(_) => out.push(Difference {
                severity: Some(f.severity),
                ..diff(
                    Area::Findings,
                    "in_both",
                    subject,
                    Some(finding_side(f)),
                    Some(finding_side(f)),
                    // Shared by both nodes: not what sets the failing one apart.
                    150,
                    format!("{} on both nodes: {}", f.code, f.title),
                )
            }),
        }
    }
    for (fp, g) in &ok {
        if !fail.contains_key(fp) {
            out.push(Difference {
                severity: Some(g.severity),
                ..diff(
                    Area::Findings,
                    "only_in_good",
                    format!("{} {}", g.code, g.subject.key),
                    None,
                    Some(finding_side(g)),
                    120,
                    format!("{} only on the good node: {}", g.code, g.title),
                )
            });
        }
    }
}

/// Weight of a kernel event kind (kebab-case name) appearing on the failing
/// node more than on the good one.
fn kernel_weight(kind: &str) -> u32 {
    match kind {
        "panic" | "oops" | "kernel-bug" => 690,
        "oom-kill" | "conntrack-table-full" => 680,
        "hung-task" | "soft-lockup" | "hard-lockup" | "xfs-shutdown" | "read-only-remount" => 670,
        "oom-invoked" | "neighbour-table-overflow" | "hardware-error" | "unregister-netdevice" => {
            640
        }
        "ena" | "block-io-error" | "xfs-error" | "syn-flooding" => 600,
        _ => 380,
    }
}

fn kernel_counts(s: &NodeSnapshot) -> Option<BTreeMap<String, u64>> {
    let kernel = s.kernel.as_ref()?;
    let mut counts = BTreeMap::new();
    for e in &kernel.events {
        *counts.entry(kernel_kind(&e.kind)).or_insert(0) += 1;
    }
    Some(counts)
}

/// The kebab-case `kind` tag of a kernel event.
pub(crate) fn kernel_kind(kind: &node_artifacts::dmesg::KernelEventKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.get("kind").and_then(|k| k.as_str().map(str::to_owned)))
        .unwrap_or_else(|| "other".to_owned())
}

fn side_missing(f: bool, g: bool) -> Option<String> {
    match (f, g) {
        (true, true) => None,
        (false, true) => Some("failing".to_owned()),
        (true, false) => Some("good".to_owned()),
        (false, false) => Some("both".to_owned()),
    }
}

fn kernel_diff(
    f: &NodeSnapshot,
    g: &NodeSnapshot,
    out: &mut Vec<Difference>,
    missing: &mut BTreeMap<Area, String>,
) {
    let (fc, gc) = (kernel_counts(f), kernel_counts(g));
    if let Some(m) = side_missing(fc.is_some(), gc.is_some()) {
        missing.insert(Area::Kernel, m);
    }
    let (fc, gc) = (fc.unwrap_or_default(), gc.unwrap_or_default());
    let kinds: BTreeSet<&String> = fc.keys().chain(gc.keys()).collect();
    for kind in kinds {
        let (a, b) = (
            fc.get(kind).copied().unwrap_or(0),
            gc.get(kind).copied().unwrap_or(0),
        );
        if a == b {
            continue;
        }
        let score = if a > b { kernel_weight(kind) } else { 130 };
        out.push(diff(
            Area::Kernel,
            "count",
            kind.clone(),
            Some(a.to_string()),
            Some(b.to_string()),
            score,
            format!("kernel `{kind}` events: {a} on the failing node, {b} on the good one"),
        ));
    }
}

/// Error-level (or worse) lines per log source, keyed by a node-independent
/// source name.
fn error_counts(s: &NodeSnapshot) -> BTreeMap<String, (u64, u64)> {
    use node_artifacts::journald::Severity as S;
    let mut counts: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let is_error = |sev: Option<S>| {
        matches!(sev, Some(S::Error | S::Critical)) || {
            // Anything above error (alert, emergency) counts too.
            sev.is_some_and(|s| s > S::Error)
        }
    };
    for j in &s.journals {
        let entry = counts.entry(j.path.clone()).or_default();
        // The severity is read from the journal's store, no entry built.
        for e in j.value.views() {
            entry.1 += 1;
            if is_error(e.severity()) {
                entry.0 += 1;
            }
        }
    }
    for c in &s.container_logs {
        let key = container_source(&c.path);
        let entry = counts.entry(key).or_default();
        for e in &c.value.entries {
            entry.1 += 1;
            if is_error(e.inner.as_ref().and_then(|i| i.severity())) {
                entry.0 += 1;
            }
        }
    }
    for c in &s.cni_logs {
        let entry = counts.entry(c.path.clone()).or_default();
        for e in &c.value.entries {
            entry.1 += 1;
            if e.level
                .as_deref()
                .is_some_and(|l| matches!(l, "error" | "fatal" | "panic" | "dpanic"))
            {
                entry.0 += 1;
            }
        }
    }
    counts
}

/// `var_log/containers/kube-proxy-abc12_kube-system_kube-proxy-<id>.log` →
/// `containers/kube-proxy` (pod hashes and container ids differ per node).
pub(crate) fn container_source(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    let file = file.strip_suffix(".log").unwrap_or(file);
    // `<pod>_<namespace>_<container>-<id>`
    let mut parts = file.split('_');
    let (pod, ns, container) = (parts.next(), parts.next(), parts.next());
    match (pod, ns, container) {
        (Some(_), Some(ns), Some(container)) => {
            let container = container
                .rsplit_once('-')
                .filter(|(_, id)| id.len() >= 12 && id.bytes().all(|b| b.is_ascii_hexdigit()))
                .map_or(container, |(name, _)| name);
            format!("containers/{ns}/{container}")
        }
        _ => path.to_owned(),
    }
}

fn logs_diff(f: &NodeSnapshot, g: &NodeSnapshot, out: &mut Vec<Difference>) {
    let (fc, gc) = (error_counts(f), error_counts(g));
    for (source, &(errors, lines)) in &fc {
        let (good_errors, good_lines) = gc.get(source).copied().unwrap_or((0, 0));
        if errors <= good_errors.saturating_mul(2).saturating_add(2) {
            continue;
        }
        out.push(diff(
            Area::Logs,
            "error_count",
            source.clone(),
            Some(format!("{errors} errors in {lines} lines")),
            Some(if gc.contains_key(source) {
                format!("{good_errors} errors in {good_lines} lines")
            } else {
                "no such log".to_owned()
            }),
            // A source that is clean on the good node points nearer the
            // cause than one that is merely noisier.
            if good_errors == 0 { 630 } else { 620 },
            format!(
                "{source}: {errors} error lines on the failing node, {good_errors} on the good one"
            ),
        ));
    }
}

fn ena_diff(
    f: &NodeSnapshot,
    g: &NodeSnapshot,
    out: &mut Vec<Difference>,
    missing: &mut BTreeMap<Area, String>,
) {
    if let Some(m) = side_missing(f.ethtool.is_some(), g.ethtool.is_some()) {
        missing.insert(Area::Network, m);
    }
    let counters = |s: &NodeSnapshot| -> BTreeMap<String, i64> {
        s.ethtool
            .iter()
            .flat_map(|e| e.value.allowance_exceeded())
            .map(|(iface, name, v)| (format!("{iface} {name}"), v))
            .collect()
    };
    let (fc, gc) = (counters(f), counters(g));
    for (key, &v) in &fc {
        let good = gc.get(key).copied().unwrap_or(0);
        if v > good {
            out.push(diff(
                Area::Network,
                "counter",
                key.clone(),
                Some(v.to_string()),
                Some(good.to_string()),
                660,
                format!("ENA {key}: {v} on the failing node, {good} on the good one"),
            ));
        }
    }
}

/// Kubernetes chains named by a hash (`KUBE-SVC-…`, `KUBE-SEP-…`): compared
/// through their services, not by name.
fn hashed_chain(name: &str) -> bool {
    [
        "KUBE-SVC-",
        "KUBE-SEP-",
        "KUBE-EXT-",
        "KUBE-FW-",
        "KUBE-SVL-",
        "KUBE-XLB-",
    ]
    .iter()
    .any(|p| name.starts_with(p))
}

fn iptables_diff(
    f: &NodeSnapshot,
    g: &NodeSnapshot,
    out: &mut Vec<Difference>,
    missing: &mut BTreeMap<Area, String>,
) {
    let (Some(fr), Some(gr)) = (f.iptables.as_ref(), g.iptables.as_ref()) else {
        if let Some(m) = side_missing(f.iptables.is_some(), g.iptables.is_some()) {
            missing.insert(Area::Iptables, m);
        }
        return;
    };
    ruleset_diff("", &fr.value, &gr.value, out);
    if let (Some(f6), Some(g6)) = (f.ip6tables.as_ref(), g.ip6tables.as_ref()) {
        ruleset_diff("ip6tables ", &f6.value, &g6.value, out);
    }
    // The views are cached on the snapshots; both have a ruleset here.
    let (Some(fv), Some(gv)) = (f.kube_view(), g.kube_view()) else {
        return;
    };
    for (key, s) in &fv.services {
        let n = s.endpoints.len();
        match gv.services.get(key) {
            Some(gs) if gs.endpoints.len() != n => {
                let m = gs.endpoints.len();
                out.push(diff(
                    Area::Iptables,
                    "endpoint_count",
                    key.clone(),
                    Some(n.to_string()),
                    Some(m.to_string()),
                    if n == 0 { 590 } else { 480 },
                    format!(
                        "service {key}: {n} endpoints on the failing node, {m} on the good one{}",
                        if n == 0 {
                            " (kube-proxy rejects its traffic)"
                        } else {
                            ""
                        }
                    ),
                ));
            }
            Some(_) => {}
            None => {
                let score = if n == 0 { 560 } else { 260 };
                out.push(diff(
                    Area::Iptables,
                    "service_only_in_failing",
                    key.clone(),
                    Some(format!("{n} endpoints")),
                    None,
                    score,
                    format!("service {key} ({n} endpoints) is programmed only on the failing node"),
                ));
            }
        }
    }
    for (key, s) in &gv.services {
        if !fv.services.contains_key(key) {
            out.push(diff(
                Area::Iptables,
                "service_only_in_good",
                key.clone(),
                None,
                Some(format!("{} endpoints", s.endpoints.len())),
                420,
                format!("service {key} is programmed only on the good node"),
            ));
        }
    }
}

fn ruleset_diff(prefix: &str, f: &Ruleset, g: &Ruleset, out: &mut Vec<Difference>) {
    for fb in &f.tables {
        let table = fb.table.name();
        let Some(gb) = g.table(fb.table.clone()) else {
            out.push(diff(
                Area::Iptables,
                "table_only_in_failing",
                format!("{prefix}{table}"),
                Some(format!("{} rules", fb.rule_count())),
                None,
                450,
                format!("{prefix}table {table} exists only on the failing node"),
            ));
            continue;
        };
        for fc in &fb.chains {
            if hashed_chain(&fc.name) {
                continue;
            }
            let subject = format!("{prefix}{table} {}", fc.name);
            let Some(gc) = gb.chain(&fc.name) else {
                out.push(diff(
                    Area::Iptables,
                    "chain_only_in_failing",
                    subject.clone(),
                    Some(format!("{} rules", fc.rules.len())),
                    None,
                    500,
                    format!("chain {subject} exists only on the failing node"),
                ));
                continue;
            };
            if fc.policy != gc.policy {
                let name = |p: &Option<Policy>| match p {
                    Some(Policy::Accept) => "ACCEPT".to_owned(),
                    Some(Policy::Drop) => "DROP".to_owned(),
                    Some(Policy::Other(o)) => o.clone(),
                    None => "-".to_owned(),
                };
                out.push(diff(
                    Area::Iptables,
                    "policy",
                    subject.clone(),
                    Some(name(&fc.policy)),
                    Some(name(&gc.policy)),
                    if fc.policy == Some(Policy::Drop) {
                        580
                    } else {
                        470
                    },
                    format!(
                        "{subject} policy: {} on the failing node, {} on the good one",
                        name(&fc.policy),
                        name(&gc.policy)
                    ),
                ));
            }
            if fc.rules.len() != gc.rules.len() {
                // Built-in chains and kube-proxy's fixed chains should carry
                // the same rules on every node of a cluster.
                let score = if fc.is_builtin() { 520 } else { 440 };
                out.push(diff(
                    Area::Iptables,
                    "rule_count",
                    subject.clone(),
                    Some(fc.rules.len().to_string()),
                    Some(gc.rules.len().to_string()),
                    score,
                    format!(
                        "{subject}: {} rules on the failing node, {} on the good one",
                        fc.rules.len(),
                        gc.rules.len()
                    ),
                ));
            }
        }
        for gc in &gb.chains {
            if !hashed_chain(&gc.name) && fb.chain(&gc.name).is_none() {
                out.push(diff(
                    Area::Iptables,
                    "chain_only_in_good",
                    format!("{prefix}{table} {}", gc.name),
                    None,
                    Some(format!("{} rules", gc.rules.len())),
                    430,
                    format!(
                        "chain {prefix}{table} {} exists only on the good node",
                        gc.name
                    ),
                ));
            }
        }
    }
}

/// Conntrack counters worth comparing: growth means lost or refused flows.
const CT_COUNTERS: [&str; 6] = [
    "drop",
    "early_drop",
    "insert_failed",
    "invalid",
    "search_restart",
    "error",
];

fn conntrack_diff(
    f: &NodeSnapshot,
    g: &NodeSnapshot,
    out: &mut Vec<Difference>,
    usage: &mut Vec<Usage>,
    missing: &mut BTreeMap<Area, String>,
) {
    if let Some(m) = side_missing(f.conntrack.is_some(), g.conntrack.is_some()) {
        missing.insert(Area::Conntrack, m);
    }
    let entries = |s: &NodeSnapshot| {
        s.conntrack
            .as_ref()
            .map(|c| c.value.table.len().to_string())
    };
    usage.push(Usage {
        name: "conntrack entries listed".to_owned(),
        failing: entries(f),
        good: entries(g),
    });
    let unreplied = |s: &NodeSnapshot| {
        s.conntrack
            .as_ref()
            .map(|c| c.value.table.unreplied_count().to_string())
    };
    usage.push(Usage {
        name: "conntrack entries [UNREPLIED]".to_owned(),
        failing: unreplied(f),
        good: unreplied(g),
    });
    let total = |s: &NodeSnapshot, name: &str| {
        s.conntrack
            .as_ref()
            .and_then(|c| c.value.stats.as_ref())
            .and_then(|st| st.total(name))
    };
    for name in CT_COUNTERS {
        let (a, b) = (total(f, name), total(g, name));
        let (Some(a), b) = (a, b) else { continue };
        let b0 = b.unwrap_or(0);
        if a > b0.saturating_mul(2).saturating_add(10) {
            out.push(diff(
                Area::Conntrack,
                "counter",
                name,
                Some(a.to_string()),
                b.map(|b| b.to_string()),
                if matches!(name, "drop" | "early_drop" | "insert_failed") {
                    610
                } else {
                    400
                },
                format!(
                    "conntrack -S {name}: {a} on the failing node, {b0} on the good one \
                     (counters since boot)"
                ),
            ));
        }
    }
}

/// Gauges and per-boot values: reported as usage, not as differences.
fn volatile_sysctl(key: &str) -> bool {
    const EXACT: [&str; 12] = [
        "net.netfilter.nf_conntrack_count",
        "fs.file-nr",
        "fs.inode-nr",
        "fs.inode-state",
        "fs.dentry-state",
        "fs.aio-nr",
        "kernel.ns_last_pid",
        "kernel.hostname",
        "kernel.pty.nr",
        "net.ipv4.tcp_mem",
        "fs.quota.syncs",
        "kernel.tainted",
    ];
    EXACT.contains(&key)
        || key.starts_with("kernel.random.")
        || key.starts_with("fs.quota.")
        || key.starts_with("dev.cdrom.")
}

/// Usage gauges shown side by side.
const USAGE_SYSCTLS: [&str; 3] = [
    "net.netfilter.nf_conntrack_count",
    "net.netfilter.nf_conntrack_max",
    "fs.file-nr",
];

/// The interface in a per-interface key (`net.ipv4.conf.eth0.rp_filter`).
fn sysctl_iface(key: &str) -> Option<&str> {
    for prefix in [
        "net.ipv4.conf.",
        "net.ipv6.conf.",
        "net.ipv4.neigh.",
        "net.ipv6.neigh.",
    ] {
        if let Some(rest) = key.strip_prefix(prefix) {
            let iface = rest.split('.').next()?;
            if iface == "all" || iface == "default" {
                return None;
            }
            return Some(iface);
        }
    }
    None
}

fn sysctl_diff(
    f: &NodeSnapshot,
    g: &NodeSnapshot,
    out: &mut Vec<Difference>,
    usage: &mut Vec<Usage>,
    missing: &mut BTreeMap<Area, String>,
) {
    let (fs, gs) = (
        f.sysctl.as_ref().map(|a| &a.value.map),
        g.sysctl.as_ref().map(|a| &a.value.map),
    );
    for key in USAGE_SYSCTLS {
        usage.push(Usage {
            name: key.to_owned(),
            failing: fs.and_then(|m| m.get(key).cloned()),
            good: gs.and_then(|m| m.get(key).cloned()),
        });
    }
    let (Some(fs), Some(gs)) = (fs, gs) else {
        if let Some(m) = side_missing(fs.is_some(), gs.is_some()) {
            missing.insert(Area::Sysctl, m);
        }
        return;
    };
    let ifaces = |m: &BTreeMap<String, String>| -> BTreeSet<String> {
        m.keys()
            .filter_map(|k| sysctl_iface(k).map(str::to_owned))
            .collect()
    };
    let (fi, gi) = (ifaces(fs), ifaces(gs));
    let shared = |key: &str| sysctl_iface(key).is_none_or(|i| fi.contains(i) && gi.contains(i));
    let important = |key: &str| {
        key.starts_with("net.netfilter.")
            || key.starts_with("net.ipv4.ip_forward")
            || key.contains("rp_filter")
            || key.starts_with("net.core.somaxconn")
            || key.starts_with("net.ipv4.ip_local_port_range")
            || key.starts_with("vm.")
            || key.starts_with("kernel.pid_max")
            || key.starts_with("fs.file-max")
            || key.contains("gc_thresh")
    };
    for (key, a) in fs {
        if volatile_sysctl(key) || !shared(key) {
            continue;
        }
        let score = if important(key) { 330 } else { 220 };
        match gs.get(key) {
            Some(b) if b != a => out.push(diff(
                Area::Sysctl,
                "value",
                key.clone(),
                Some(a.clone()),
                Some(b.clone()),
                score,
                format!("{key} = {a} on the failing node, {b} on the good one"),
            )),
            Some(_) => {}
            None => out.push(diff(
                Area::Sysctl,
                "key_only_in_failing",
                key.clone(),
                Some(a.clone()),
                None,
                score - 60,
                format!("{key} = {a} exists only on the failing node"),
            )),
        }
    }
    for (key, b) in gs {
        if !volatile_sysctl(key) && shared(key) && !fs.contains_key(key) {
            out.push(diff(
                Area::Sysctl,
                "key_only_in_good",
                key.clone(),
                None,
                Some(b.clone()),
                150,
                format!("{key} = {b} exists only on the good node"),
            ));
        }
    }
}

/// Flattens JSON into `a.b[0].c = value` pairs.
fn flatten(prefix: &str, v: &serde_json::Value, out: &mut BTreeMap<String, String>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), v, out);
            }
        }
        other => {
            out.insert(prefix.to_owned(), other.to_string());
        }
    }
}

/// Kubelet keys that name the node rather than configure it.
const KUBELET_IDENTITY: [&str; 3] = ["providerID", "tlsCertFile", "tlsPrivateKeyFile"];

fn kubelet_diff(
    f: &NodeSnapshot,
    g: &NodeSnapshot,
    out: &mut Vec<Difference>,
    missing: &mut BTreeMap<Area, String>,
) {
    let (Some(fk), Some(gk)) = (f.kubelet_config(), g.kubelet_config()) else {
        if let Some(m) = side_missing(f.kubelet_config().is_some(), g.kubelet_config().is_some()) {
            missing.insert(Area::Kubelet, m);
        }
        return;
    };
    let (mut a, mut b) = (BTreeMap::new(), BTreeMap::new());
    flatten("", &fk.value.raw, &mut a);
    flatten("", &gk.value.raw, &mut b);
    map_diff(Area::Kubelet, &a, &b, &KUBELET_IDENTITY, 300, out);
}

/// `aws-node` variables that name the pod or node.
const CNI_IDENTITY: [&str; 4] = ["MY_NODE_NAME", "MY_POD_NAME", "NODE_NAME", "HOSTNAME"];

fn cni_diff(
    f: &NodeSnapshot,
    g: &NodeSnapshot,
    out: &mut Vec<Difference>,
    missing: &mut BTreeMap<Area, String>,
) {
    let vars = |s: &NodeSnapshot| {
        s.ipamd_env
            .as_ref()
            .map(|a| a.value.vars.clone())
            .or_else(|| {
                s.cni_config_variables
                    .as_ref()
                    .map(|a| a.value.env.vars.clone())
            })
    };
    let (Some(a), Some(b)) = (vars(f), vars(g)) else {
        if let Some(m) = side_missing(vars(f).is_some(), vars(g).is_some()) {
            missing.insert(Area::VpcCni, m);
        }
        return;
    };
    map_diff(Area::VpcCni, &a, &b, &CNI_IDENTITY, 310, out);
}

fn map_diff(
    area: Area,
    a: &BTreeMap<String, String>,
    b: &BTreeMap<String, String>,
    ignore: &[&str],
    score: u32,
    out: &mut Vec<Difference>,
) {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for key in keys {
        if ignore.contains(&key.as_str()) {
            continue;
        }
        let (x, y) = (a.get(key), b.get(key));
        if x == y {
            continue;
        }
        let kind = match (x, y) {
            (Some(_), Some(_)) => "value",
            (Some(_), None) => "key_only_in_failing",
            _ => "key_only_in_good",
        };
        let show = |v: Option<&String>| v.map_or_else(|| "unset".to_owned(), Clone::clone);
        out.push(diff(
            area,
            kind,
            key.clone(),
            x.cloned(),
            y.cloned(),
            score,
            format!(
                "{} {key}: {} on the failing node, {} on the good one",
                area.name(),
                show(x),
                show(y)
            ),
        ));
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let node = |n: &NodeRef| {
            format!(
                "{} ({}, collected {})",
                n.node.as_deref().unwrap_or("unknown node"),
                n.snapshot_id,
                n.collection_time
                    .map_or_else(|| "at an unknown time".to_owned(), |t| t.to_string())
            )
        };
        writeln!(f, "failing: {}", node(&self.failing))?;
        writeln!(f, "good:    {}", node(&self.good))?;
        writeln!(
            f,
            "\ntop differences ({} of {}):",
            self.top.len(),
            self.total
        )?;
        for (i, d) in self.top.iter().enumerate() {
            writeln!(
                f,
                "  {:>2}. [{}] {} (score {})",
                i + 1,
                d.area.name(),
                d.summary,
                d.score
            )?;
        }
        for s in &self.sections {
            write!(f, "\n{} ({} of {})", s.area.name(), s.items.len(), s.total)?;
            if let Some(m) = &s.missing {
                write!(f, " — not compared: no data on the {m} node")?;
            }
            writeln!(f)?;
            for d in &s.items {
                writeln!(
                    f,
                    "  {:<24} {:<48} failing={} good={}",
                    d.kind,
                    d.subject,
                    d.failing.as_deref().unwrap_or("-"),
                    d.good.as_deref().unwrap_or("-")
                )?;
            }
        }
        writeln!(f, "\nusage:")?;
        for u in &self.usage {
            writeln!(
                f,
                "  {:<40} failing={} good={}",
                u.name,
                u.failing.as_deref().unwrap_or("-"),
                u.good.as_deref().unwrap_or("-")
            )?;
        }
        Ok(())
    }
}
