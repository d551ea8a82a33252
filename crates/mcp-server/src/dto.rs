//! Tool parameters and results as they cross the wire.
//!
//! Parameters are `Deserialize + JsonSchema`; their doc comments become the
//! descriptions a model reads. Results are `Serialize + JsonSchema` objects
//! (rmcp publishes their schema as the tool's `outputSchema`). Library values
//! that already serialise well (coverage rows, conntrack entries, kube
//! services) travel as JSON values inside typed envelopes; the fields a model
//! filters or chains on are typed here.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::page::PageInfo;

/// Arguments naming a bundle to load.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct TakeSnapshotParams {
    /// A `bundle` value from list_snapshots (the bundle's file or folder
    /// name), or a path inside one of the server's bundle directories.
    pub bundle: String,
}

/// Arguments naming a node to collect through AWS Systems Manager.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CollectNodeParams {
    /// The node: an EC2 instance id (`i-0123456789abcdef0`), a Kubernetes
    /// node name (`ip-10-0-1-23.us-west-2.compute.internal`) or its private
    /// IP address.
    pub node: String,
}

/// Arguments naming a snapshot.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SnapshotParams {
    /// A snapshot id (`s1_…`) from list_snapshots or take_snapshot.
    pub snapshot_id: String,
}

/// Arguments of list_findings.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListFindingsParams {
    /// A snapshot id (`s1_…`) from list_snapshots or take_snapshot.
    pub snapshot_id: String,
    /// Only findings at least this severe: `info`, `low`, `medium`, `high`
    /// or `critical`.
    #[serde(default)]
    pub min_severity: Option<String>,
    /// Only findings of this rule code (`CTK001`).
    #[serde(default)]
    pub code: Option<String>,
    /// Only findings of this rule group: `iptables`, `conntrack`, `kernel`,
    /// `kubelet` or `network`.
    #[serde(default)]
    pub group: Option<String>,
    /// Page size (default 20, at most 100).
    #[serde(default)]
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page, with the same other arguments.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// Arguments of get_finding.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct GetFindingParams {
    /// A snapshot id (`s1_…`).
    pub snapshot_id: String,
    /// A finding id (`f1_…`) from list_findings.
    pub finding_id: String,
}

/// Arguments of explain_rule.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ExplainRuleParams {
    /// A rule code such as `CTK001` (from a finding's `code`), or a rule's
    /// kebab-case name.
    pub code: String,
}

/// Arguments of query_iptables.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct QueryIptablesParams {
    /// A snapshot id (`s1_…`).
    pub snapshot_id: String,
    /// `rules` (default): rules matching the filters below.
    /// `kube_services`: kube-proxy's Kubernetes service view (services with
    /// their endpoints); combine with `service` or `without_endpoints`.
    #[serde(default)]
    pub view: Option<String>,
    /// `ipv4` (default) or `ipv6`.
    #[serde(default)]
    pub family: Option<String>,
    /// Table: `filter`, `nat`, `mangle`, `raw` or `security`.
    #[serde(default)]
    pub table: Option<String>,
    /// Exact chain name (`KUBE-SERVICES`).
    #[serde(default)]
    pub chain: Option<String>,
    /// Target or jump chain (`DROP`, `DNAT`, `KUBE-SVC-…`), case-insensitive.
    #[serde(default)]
    pub target: Option<String>,
    /// An IP address; matches rules whose source or destination network
    /// contains it. In `kube_services`, a cluster IP or endpoint address.
    #[serde(default)]
    pub address: Option<String>,
    /// A port; matches rules whose `--dport`/`--sport`/multiport ranges
    /// include it. In `kube_services`, a service or endpoint port.
    #[serde(default)]
    pub port: Option<u16>,
    /// Text the rule's comment (`-m comment`) contains, case-insensitive.
    #[serde(default)]
    pub comment: Option<String>,
    /// `kube_services` only: a service as `namespace/name` or
    /// `namespace/name:port-name`.
    #[serde(default)]
    pub service: Option<String>,
    /// `kube_services` only: only services kube-proxy has no endpoints for.
    #[serde(default)]
    pub without_endpoints: Option<bool>,
    /// Page size (default 50, at most 500).
    #[serde(default)]
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page, with the same other arguments.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// Arguments of query_conntrack.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct QueryConntrackParams {
    /// A snapshot id (`s1_…`).
    pub snapshot_id: String,
    /// `ipv4` (default, `conntrack.txt`) or `ipv6` (`conntrack6.txt`).
    #[serde(default)]
    pub family: Option<String>,
    /// An IP address in either direction of the flow.
    #[serde(default)]
    pub address: Option<String>,
    /// A port in either direction of the flow.
    #[serde(default)]
    pub port: Option<u16>,
    /// Protocol name (`tcp`, `udp`, `icmp`, …).
    #[serde(default)]
    pub protocol: Option<String>,
    /// TCP state (`ESTABLISHED`, `TIME_WAIT`, `SYN_SENT`, …), case-insensitive.
    #[serde(default)]
    pub state: Option<String>,
    /// Only flows that never saw a reply (`[UNREPLIED]`) when true.
    #[serde(default)]
    pub unreplied: Option<bool>,
    /// Page size (default 50, at most 500).
    #[serde(default)]
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page, with the same other arguments.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// Arguments of search_logs.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SearchLogsParams {
    /// A snapshot id (`s1_…`).
    pub snapshot_id: String,
    /// A regular expression (Rust `regex` syntax, linear time; `(?i)` for
    /// case-insensitive) matched against each entry's message.
    pub pattern: String,
    /// Which logs: `kernel`, `journal` (every journal), `containers`, `cni`,
    /// or an artifact path (`kubelet/kubelet.log`). Default: all.
    #[serde(default)]
    pub sources: Option<Vec<String>>,
    /// Only entries at or after this time (RFC 3339, `2025-11-22T03:00:00Z`).
    #[serde(default)]
    pub since: Option<String>,
    /// Only entries at or before this time (RFC 3339).
    #[serde(default)]
    pub until: Option<String>,
    /// Page size (default 50, at most 500).
    #[serde(default)]
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page, with the same other arguments.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// Arguments of read_artifact_lines.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ReadArtifactLinesParams {
    /// A snapshot id (`s1_…`).
    pub snapshot_id: String,
    /// An artifact path (`kubelet/kubelet.log`) or a reference
    /// `path:line` as evidence and search_logs return it.
    pub artifact: String,
    /// First line, 1-based (default: the reference's line minus 5, or 1).
    #[serde(default)]
    pub start_line: Option<usize>,
    /// Last line, inclusive (default: start + 20; at most 500 lines).
    #[serde(default)]
    pub end_line: Option<usize>,
}

/// list_snapshots' result.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SnapshotList {
    /// Bundles found in the configured directories, loaded or not.
    pub bundles: Vec<BundleItem>,
    /// Whether collect_node_snapshot can collect from live nodes.
    pub aws_collection_enabled: bool,
}

/// One bundle.
#[derive(Debug, Serialize, JsonSchema)]
pub struct BundleItem {
    /// Pass this to take_snapshot.
    pub bundle: String,
    /// The snapshot id when the bundle has been loaded (pass it to the
    /// other tools); absent until take_snapshot loads it.
    pub snapshot_id: Option<String>,
    /// Whether the snapshot is in memory now.
    pub loaded: bool,
    /// EC2 instance id, when known.
    pub instance_id: Option<String>,
    /// Kubernetes node name, when known (after loading).
    pub node_name: Option<String>,
    /// When the collector ran (RFC 3339), when known.
    pub collection_time: Option<String>,
    /// Coverage totals (files, parsed, unparsed lines, …), after loading.
    pub coverage: Option<Value>,
    /// Findings per severity, after loading.
    pub findings: Option<Value>,
}

/// take_snapshot's and collect_node_snapshot's result.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SnapshotTaken {
    /// The snapshot id to pass to every other tool.
    pub snapshot_id: String,
    /// The bundle it was read from.
    pub bundle: String,
    /// EC2 instance id, when known.
    pub instance_id: Option<String>,
    /// When the collector ran (RFC 3339), when known.
    pub collection_time: Option<String>,
    /// Number of findings.
    pub findings_total: usize,
    /// Findings per severity, most severe first.
    pub findings_by_severity: Value,
    /// Milliseconds spent reading, parsing and checking (0 when it was
    /// already loaded).
    pub load_ms: u64,
    /// What to call next.
    pub next_steps: String,
}

/// get_snapshot_summary's result.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SnapshotSummary {
    /// The snapshot id.
    pub snapshot_id: String,
    /// Node identity and collection time.
    pub metadata: Value,
    /// Coverage totals over every file.
    pub coverage_totals: Value,
    /// Each parsed artifact: path, kind, lines, unparsed lines.
    pub artifacts: Vec<ArtifactItem>,
    /// Files whose parser refused them as not of their kind.
    pub failures: Value,
    /// Rules that could not run, with the artifacts they miss.
    pub rules_not_evaluated: Value,
    /// Number of rules that ran.
    pub rules_evaluated: usize,
    /// Findings per severity, most severe first.
    pub findings_by_severity: Value,
    /// Kubernetes service view counts, when there is an iptables ruleset.
    pub kube_services: Option<KubeCounts>,
    /// conntrack table size and unreplied flows, when there is a table.
    pub conntrack_entries: Option<usize>,
}

/// One artifact of a snapshot.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ArtifactItem {
    /// Root-relative path; use it with read_artifact_lines.
    pub path: String,
    /// The artifact kind (`iptables-save`, `kubelet-journal`, …).
    pub kind: String,
    /// Bytes.
    pub bytes: u64,
    /// Lines.
    pub lines: u64,
    /// Lines the parser kept as unparsed.
    pub unparsed_lines: u64,
    /// The parser that read it; absent when no parser reads this kind.
    pub parser: Option<String>,
}

/// Counts of the Kubernetes service view.
#[derive(Debug, Serialize, JsonSchema)]
pub struct KubeCounts {
    /// Service ports kube-proxy programs.
    pub services: usize,
    /// Of those, with no endpoints.
    pub without_endpoints: usize,
}

/// A page of findings.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FindingsPage {
    /// The snapshot id.
    pub snapshot_id: String,
    /// Findings, most severe first.
    pub findings: Vec<FindingItem>,
    /// Pagination.
    pub page: PageInfo,
}

/// A finding in a list.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FindingItem {
    /// Finding id (`f1_…`); pass it to get_finding.
    pub id: String,
    /// Rule code (`CTK001`); pass it to explain_rule.
    pub code: String,
    /// Rule name (kebab-case).
    pub name: String,
    /// Rule group.
    pub group: String,
    /// `info`, `low`, `medium`, `high` or `critical`.
    pub severity: String,
    /// One line.
    pub title: String,
    /// What was found, in a few sentences.
    pub summary: String,
    /// Number of evidence items (get_finding returns them).
    pub evidence_total: usize,
}

/// get_finding's result.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FindingDetail {
    /// The snapshot id.
    pub snapshot_id: String,
    /// The finding, with every field the engine produced (id, fingerprint,
    /// code, severity, title, summary, subject, occurrences, first and last
    /// seen, sources, evidence with `artifact` and `line`, related ids).
    pub finding: Value,
    /// References `artifact:line` for each evidence item; pass one to
    /// read_artifact_lines for context.
    pub evidence_refs: Vec<String>,
    /// The rule's documentation (Markdown).
    pub rule_doc: String,
    /// Related findings in this snapshot.
    pub related: Vec<FindingItem>,
}

/// explain_rule's result.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RuleExplanation {
    /// Rule code.
    pub code: String,
    /// Rule name (kebab-case).
    pub name: String,
    /// Rule group.
    pub group: String,
    /// Default severity.
    pub default_severity: String,
    /// Artifacts the rule needs.
    pub needs: Vec<String>,
    /// Documentation (Markdown): what it does, why it matters, evidence,
    /// remediation, references.
    pub doc: String,
}

/// query_iptables' result.
#[derive(Debug, Serialize, JsonSchema)]
pub struct IptablesPage {
    /// The snapshot id.
    pub snapshot_id: String,
    /// The artifact queried.
    pub artifact: String,
    /// `rules` or `kube_services`.
    pub view: String,
    /// Matching rules (`rules` view).
    pub rules: Vec<IptablesRuleItem>,
    /// Matching services (`kube_services` view): namespace, name, cluster
    /// IP, port, endpoints with addresses and shares.
    pub services: Vec<Value>,
    /// Pagination.
    pub page: PageInfo,
}

/// One iptables rule.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct IptablesRuleItem {
    /// Reference `artifact:line`.
    #[serde(rename = "ref")]
    pub reference: String,
    /// Table.
    pub table: String,
    /// Chain.
    pub chain: String,
    /// Packet and byte counters, when saved with `-c`.
    pub counters: Option<Value>,
    /// The rule as written.
    pub text: String,
}

/// query_conntrack's result.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ConntrackPage {
    /// The snapshot id.
    pub snapshot_id: String,
    /// The artifact queried.
    pub artifact: String,
    /// Entries in the whole table.
    pub table_entries: usize,
    /// Counts by protocol over the whole table.
    pub by_protocol: Value,
    /// Counts by TCP state over the whole table.
    pub by_state: Value,
    /// Unreplied flows in the whole table.
    pub unreplied: u64,
    /// Top destinations over the whole table.
    pub top_destinations: Value,
    /// `conntrack -S` totals (found, invalid, drop, early_drop,
    /// insert_failed, …), when collected.
    pub statistics: Option<Value>,
    /// Matching entries.
    pub entries: Vec<ConntrackItem>,
    /// Pagination.
    pub page: PageInfo,
}

/// One conntrack entry.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ConntrackItem {
    /// Reference `artifact:line`.
    #[serde(rename = "ref")]
    pub reference: String,
    /// The entry as conntrack prints it.
    pub text: String,
}

/// search_logs' result.
#[derive(Debug, Serialize, JsonSchema)]
pub struct LogPage {
    /// The snapshot id.
    pub snapshot_id: String,
    /// The artifacts searched.
    pub searched: Vec<String>,
    /// Matching entries in artifact order.
    pub entries: Vec<LogItem>,
    /// Pagination.
    pub page: PageInfo,
}

/// One log entry.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LogItem {
    /// Stable reference `artifact:line`; pass it to read_artifact_lines.
    #[serde(rename = "ref")]
    pub reference: String,
    /// `kernel`, `journal`, `containers` or `cni`.
    pub source: String,
    /// Wall-clock time (RFC 3339), when known.
    pub time: Option<String>,
    /// The message (at most 1,000 characters).
    pub text: String,
}

/// read_artifact_lines' result.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ArtifactLines {
    /// The snapshot id.
    pub snapshot_id: String,
    /// The artifact path.
    pub artifact: String,
    /// Lines in the artifact.
    pub total_lines: usize,
    /// First line returned (1-based).
    pub start_line: usize,
    /// Last line returned.
    pub end_line: usize,
    /// The lines, each prefixed `N: `.
    pub lines: Vec<String>,
    /// True when the range was cut by the line limit or the byte budget.
    pub truncated: bool,
}

/// Arguments of trace_packet.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct TraceParams {
    /// A snapshot id (`s1_…`).
    pub snapshot_id: String,
    /// Destination address of the packet (a cluster IP, a pod IP, a node IP).
    pub dst: String,
    /// Destination port.
    pub dport: u16,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: String,
    /// Source address (a pod, or another node); optional.
    pub src: Option<String>,
    /// Input interface: a pod's host-side veth (`eni…`) for pod traffic,
    /// `eth0` for traffic from outside. Without it, rules that match on the
    /// input interface make the trace "undetermined".
    pub in_iface: Option<String>,
}

/// Arguments of compare_snapshots.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CompareParams {
    /// The failing node's snapshot id (`s1_…`).
    pub snapshot_id: String,
    /// A known-good node's snapshot id (`s1_…`), e.g. a healthy node of the
    /// same node group.
    pub known_good_snapshot_id: String,
}

/// Arguments of build_timeline.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct TimelineParams {
    /// A snapshot id (`s1_…`).
    pub snapshot_id: String,
    /// An incident time (RFC 3339, e.g. `2025-11-23T18:45:00Z`); the window
    /// is this ± `minutes`. Without it and without `start`/`end`, the window
    /// is the hour before the bundle was collected.
    pub incident_time: Option<String>,
    /// Minutes either side of `incident_time` (default 5).
    pub minutes: Option<i64>,
    /// Window start (RFC 3339), with `end`.
    pub start: Option<String>,
    /// Window end (RFC 3339), with `start`.
    pub end: Option<String>,
}

/// The result of trace_packet, compare_snapshots or build_timeline.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AnalysisResult {
    /// The snapshot analysed (the failing one for compare_snapshots).
    pub snapshot_id: String,
    /// The result as a readable report.
    pub text: String,
    /// The same result as structured data.
    pub result: Value,
}
