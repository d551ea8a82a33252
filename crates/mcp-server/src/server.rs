//! The MCP server: tools, resources and prompts over the [`Engine`].
//!
//! Each tool is a few lines: resolve the snapshot, call the library's query
//! surface (via [`crate::query`]), convert to a DTO, page it. A wrong argument
//! from a model is a tool-level error (`isError: true`) whose text says what
//! is wrong and which tool to call instead; internal failures are logged with
//! their full chain and answered with a message that names no path, ARN or
//! request id.

use std::sync::Arc;

use findings::{Finding, Severity};
use rmcp::handler::server::router::prompt::PromptRouter;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    Implementation, ListResourceTemplatesResult, ListResourcesResult, PaginatedRequestParams,
    ProgressNotificationParam, PromptMessage, ReadResourceRequestParams, ReadResourceResponse,
    ReadResourceResult, Resource, ResourceContents, ResourceTemplate, Role, ServerCapabilities,
    ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{
    ErrorData as McpError, Json, RoleServer, ServerHandler, prompt, prompt_handler, prompt_router,
    tool, tool_handler, tool_router,
};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::dto::*;
use crate::page::paginate;
use crate::query;
use crate::state::{Engine, LoadError, Loaded};

/// Default response budget in bytes of JSON per page (about 8k tokens).
pub const DEFAULT_BUDGET: usize = 32 * 1024;

/// The resource URI scheme.
pub const URI_PREFIX: &str = "eks-node-diag://snapshots/";

/// Largest artifact a `resources/read` returns whole.
const MAX_RESOURCE_BYTES: usize = 1024 * 1024;

/// Collects bundles from live nodes; implemented over `ssm-exec`.
pub trait Collector: Send + Sync {
    /// Collects a bundle from `node` and returns its files.
    fn collect(
        &self,
        node: String,
        cancel: CancellationToken,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<node_bundle::BundleFiles, String>> + Send + '_>,
    >;
}

/// The MCP server.
#[derive(Clone)]
pub struct DiagServer {
    engine: Arc<Engine>,
    budget: usize,
    collector: Option<Arc<dyn Collector>>,
    tool_router: ToolRouter<DiagServer>,
    prompt_router: PromptRouter<DiagServer>,
}

impl std::fmt::Debug for DiagServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiagServer")
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

fn load_error(error: LoadError) -> String {
    match error {
        LoadError::NotFound(message) | LoadError::Failed(message) => message,
    }
}

fn rfc3339(time: Option<node_artifacts::time::Timestamp>) -> Option<String> {
    time.map(|time| time.to_string())
}

fn to_value<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// The list form of a finding.
pub fn finding_item(finding: &Finding) -> FindingItem {
    FindingItem {
        id: finding.id.0.clone(),
        code: finding.code.to_owned(),
        name: finding.name.clone(),
        group: finding.group.to_string(),
        severity: finding.severity.to_string(),
        title: finding.title.clone(),
        summary: finding.summary.clone(),
        evidence_total: finding.evidence_total,
    }
}

fn severity_counts(loaded: &Loaded) -> Value {
    let mut map = serde_json::Map::new();
    for count in &loaded.report.counts {
        map.insert(count.severity.to_string(), json!(count.count));
    }
    Value::Object(map)
}

fn clamp_limit(limit: Option<usize>, default: usize, max: usize) -> usize {
    limit.unwrap_or(default).clamp(1, max)
}

#[tool_router]
impl DiagServer {
    /// A server over `engine`, answering pages of at most `budget` bytes.
    pub fn new(engine: Arc<Engine>, budget: usize, collector: Option<Arc<dyn Collector>>) -> Self {
        Self {
            engine,
            budget: budget.max(1024),
            collector,
            tool_router: Self::tool_router(),
            prompt_router: Self::prompt_router(),
        }
    }

    async fn snapshot(&self, id: &str) -> Result<Arc<Loaded>, String> {
        self.engine.get(id.trim()).await.map_err(load_error)
    }

    #[tool(
        name = "list_snapshots",
        description = "List the node log bundles this server can read and the snapshots already loaded, with collection time, instance id, coverage totals and finding counts. Start here: pass a `bundle` value to take_snapshot, or a `snapshot_id` to the other tools.",
        annotations(
            title = "List node snapshots",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn list_snapshots(&self) -> Result<Json<SnapshotList>, String> {
        let engine = Arc::clone(&self.engine);
        let entries = tokio::task::spawn_blocking(move || engine.scan())
            .await
            .map_err(|error| {
                tracing::error!(error = %error, "scan failed");
                "listing bundles failed (internal error, see the server log)".to_owned()
            })?;
        let known = self.engine.store().known();
        let mut bundles = Vec::new();
        for entry in entries {
            let source = entry.path.to_string_lossy().into_owned();
            let id = known
                .iter()
                .find(|(_, s)| *s == source)
                .map(|(id, _)| id.clone());
            let loaded = id.as_deref().and_then(|id| self.engine.store().get(id));
            bundles.push(BundleItem {
                bundle: entry.name,
                snapshot_id: id,
                loaded: loaded.is_some(),
                instance_id: loaded
                    .as_ref()
                    .map_or(entry.metadata.instance_id.clone(), |l| {
                        l.snapshot.metadata.instance_id.clone()
                    }),
                node_name: loaded
                    .as_ref()
                    .and_then(|l| l.snapshot.metadata.node_name.clone()),
                collection_time: rfc3339(
                    loaded.as_ref().map_or(entry.metadata.collection_time, |l| {
                        l.snapshot.metadata.collection_time
                    }),
                ),
                coverage: loaded
                    .as_ref()
                    .map(|l| to_value(&l.snapshot.coverage.totals)),
                findings: loaded.as_ref().map(|l| severity_counts(l)),
            });
        }
        Ok(Json(SnapshotList {
            bundles,
            aws_collection_enabled: self.collector.is_some(),
        }))
    }

    #[tool(
        name = "take_snapshot",
        description = "Load a node log bundle (from list_snapshots' `bundle`) into a snapshot: parse every artifact once and run every rule. Returns the snapshot id the other tools take, and finding counts. Loading an already loaded bundle returns at once.",
        annotations(
            title = "Take a snapshot of a bundle",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn take_snapshot(
        &self,
        Parameters(params): Parameters<TakeSnapshotParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<SnapshotTaken>, String> {
        let entry = self
            .engine
            .resolve_bundle(params.bundle.trim())
            .map_err(load_error)?;
        let progress = context.meta.get_progress_token();
        if let Some(token) = &progress {
            let _ = context
                .peer
                .notify_progress(
                    ProgressNotificationParam::new(token.clone(), 0.0)
                        .with_total(1.0)
                        .with_message("reading and parsing the bundle"),
                )
                .await;
        }
        let loaded = tokio::select! {
            loaded = self.engine.load_path(&entry.path) => loaded.map_err(load_error)?,
            () = context.ct.cancelled() => return Err("cancelled".to_owned()),
        };
        if let Some(token) = progress {
            let _ = context
                .peer
                .notify_progress(
                    ProgressNotificationParam::new(token, 1.0)
                        .with_total(1.0)
                        .with_message("snapshot ready"),
                )
                .await;
        }
        Ok(Json(taken(&loaded, entry.name)))
    }

    #[tool(
        name = "collect_node_snapshot",
        description = "Collect a fresh log bundle from a live EKS node through AWS Systems Manager (runs the AWSSupport-CollectEKSInstanceLogs automation; takes minutes), then load it like take_snapshot. Only available when the server runs with --region and AWS credentials. Reports progress; honours cancellation.",
        annotations(
            title = "Collect a node snapshot via SSM",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn collect_node_snapshot(
        &self,
        Parameters(params): Parameters<CollectNodeParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<SnapshotTaken>, String> {
        let Some(collector) = &self.collector else {
            return Err("AWS collection is not configured on this server (start it with --region and credentials); call list_snapshots and take_snapshot to use the bundles it already has".to_owned());
        };
        let progress = context.meta.get_progress_token();
        let notify = |step: f64, message: &'static str| {
            let peer = context.peer.clone();
            let token = progress.clone();
            async move {
                if let Some(token) = token {
                    let _ = peer
                        .notify_progress(
                            ProgressNotificationParam::new(token, step)
                                .with_total(3.0)
                                .with_message(message),
                        )
                        .await;
                }
            }
        };
        notify(0.0, "starting the collection on the node").await;
        let files = collector
            .collect(params.node.trim().to_owned(), context.ct.clone())
            .await?;
        notify(1.0, "bundle downloaded; storing").await;
        let path = match self.engine.persist(&files) {
            Ok(path) => path,
            Err(error) => {
                tracing::error!(error = %error, "persisting a collected bundle failed");
                None
            }
        };
        notify(2.0, "parsing and checking").await;
        let name = files.name.clone().unwrap_or_else(|| files.snapshot_id());
        let loaded = match path {
            Some(path) => self.engine.load_path(&path).await.map_err(load_error)?,
            None => {
                let source = format!("collected:{}", files.snapshot_id());
                let started = std::time::Instant::now();
                let limits = self.engine.sources().limits;
                self.engine
                    .store()
                    .get_or_load(&source.clone(), || async move {
                        let loaded = tokio::task::spawn_blocking(move || {
                            crate::state::build_loaded(files, source, started, limits)
                        })
                        .await
                        .map_err(|error| {
                            tracing::error!(error = %error, "snapshot build failed");
                            "the snapshot could not be built (internal error, see the server log)"
                                .to_owned()
                        })?;
                        Ok((loaded.snapshot.id.clone(), loaded))
                    })
                    .await?
                    .1
            }
        };
        notify(3.0, "snapshot ready").await;
        Ok(Json(taken(&loaded, name)))
    }

    #[tool(
        name = "get_snapshot_summary",
        description = "Summarise a snapshot: node identity, every artifact present with line counts and unparsed lines, files that failed to parse, rules that could not run (and the artifacts they miss), finding counts per severity, Kubernetes service and conntrack counts.",
        annotations(
            title = "Summarise a snapshot",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn get_snapshot_summary(
        &self,
        Parameters(params): Parameters<SnapshotParams>,
    ) -> Result<Json<SnapshotSummary>, String> {
        let loaded = self.snapshot(&params.snapshot_id).await?;
        Ok(Json(query::summary(&loaded)))
    }

    #[tool(
        name = "list_findings",
        description = "List a snapshot's findings, most severe first, optionally filtered by minimum severity, rule code or rule group. Paginated: pass `next_cursor` back as `cursor` with the same filters. Then call get_finding with an `id` for its evidence.",
        annotations(
            title = "List findings",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn list_findings(
        &self,
        Parameters(params): Parameters<ListFindingsParams>,
    ) -> Result<Json<FindingsPage>, String> {
        let min: Option<Severity> = match params.min_severity.as_deref() {
            None | Some("") => None,
            Some(text) => Some(text.trim().to_ascii_lowercase().parse().map_err(|_| {
                format!("unknown severity `{text}`; use one of info, low, medium, high, critical")
            })?),
        };
        if let Some(code) = params.code.as_deref()
            && findings::codes::by_code(code.trim()).is_none()
        {
            return Err(format!(
                "unknown rule code `{code}`; codes look like CTK001 (see a finding's `code`, or the prompt list)"
            ));
        }
        let group = params
            .group
            .as_deref()
            .map(|g| g.trim().to_ascii_lowercase());
        if let Some(group) = &group
            && !["iptables", "conntrack", "kernel", "kubelet", "network"].contains(&group.as_str())
        {
            return Err(format!(
                "unknown group `{group}`; use one of iptables, conntrack, kernel, kubelet, network"
            ));
        }
        let loaded = self.snapshot(&params.snapshot_id).await?;
        let items: Vec<FindingItem> = loaded
            .report
            .findings
            .iter()
            .filter(|f| min.is_none_or(|min| f.severity >= min))
            .filter(|f| {
                params
                    .code
                    .as_deref()
                    .is_none_or(|code| f.code.eq_ignore_ascii_case(code.trim()))
            })
            .filter(|f| {
                group
                    .as_deref()
                    .is_none_or(|group| f.group.to_string() == group)
            })
            .map(finding_item)
            .collect();
        let key = format!(
            "list_findings|{}|{:?}|{:?}|{:?}",
            loaded.snapshot.id, min, params.code, group
        );
        let (findings, page) = paginate(
            &items,
            params.cursor.as_deref(),
            &key,
            clamp_limit(params.limit, 20, 100),
            self.budget,
        )
        .map_err(|bad| bad.0.to_owned())?;
        Ok(Json(FindingsPage {
            snapshot_id: loaded.snapshot.id.clone(),
            findings,
            page,
        }))
    }

    #[tool(
        name = "get_finding",
        description = "Get one finding by id (from list_findings): full summary, evidence lines with `artifact:line` references (pass one to read_artifact_lines for context), the rule's documentation with remediation, and related findings.",
        annotations(
            title = "Get a finding",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn get_finding(
        &self,
        Parameters(params): Parameters<GetFindingParams>,
    ) -> Result<Json<FindingDetail>, String> {
        let loaded = self.snapshot(&params.snapshot_id).await?;
        let Some(finding) = loaded.report.finding(params.finding_id.trim()) else {
            return Err(format!(
                "no finding `{}` in snapshot {}; call list_findings with this snapshot_id to see its finding ids",
                params.finding_id, loaded.snapshot.id
            ));
        };
        let related = finding
            .related
            .iter()
            .filter_map(|id| loaded.report.finding(&id.0))
            .map(finding_item)
            .collect();
        Ok(Json(FindingDetail {
            snapshot_id: loaded.snapshot.id.clone(),
            finding: to_value(finding),
            evidence_refs: finding
                .evidence
                .iter()
                .map(|e| format!("{}:{}", e.artifact, e.line))
                .collect(),
            rule_doc: findings::codes::by_code(finding.code)
                .map(|rule| rule.meta.doc.to_owned())
                .unwrap_or_default(),
            related,
        }))
    }

    #[tool(
        name = "explain_rule",
        description = "Explain a diagnostic rule by code (a finding's `code`, e.g. CTK001) or kebab-case name: what it detects, why it matters, the evidence it uses, remediation and references.",
        annotations(
            title = "Explain a rule",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn explain_rule(
        &self,
        Parameters(params): Parameters<ExplainRuleParams>,
    ) -> Result<Json<RuleExplanation>, String> {
        query::explain(params.code.trim()).map(Json)
    }

    #[tool(
        name = "trace_packet",
        description = "Trace one packet through a snapshot's iptables the way the kernel would: raw, mangle, nat (KUBE-SERVICES → KUBE-SVC → KUBE-SEP with kube-proxy's probabilities as branches), filter and POSTROUTING (masquerade, VPC CNI SNAT). Returns every rule visited with its line, the endpoints reached with probabilities, the verdict per branch (accepted, dropped, rejected, with the rule) and conntrack entries already tracking the flow. A match it cannot decide is reported as undetermined, never guessed: give `in_iface` (a pod's `eni…` veth, or `eth0`) for pod or external traffic.",
        annotations(
            title = "Trace a packet through iptables",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn trace_packet(
        &self,
        Parameters(params): Parameters<TraceParams>,
    ) -> Result<Json<AnalysisResult>, String> {
        let loaded = self.snapshot(&params.snapshot_id).await?;
        let address = |text: &str, what: &str| {
            text.trim().parse::<std::net::IpAddr>().map_err(|_| {
                format!("`{text}` is not an IP address; pass the packet's {what} address, e.g. 172.20.0.10")
            })
        };
        let protocol: analysis::trace::FlowProtocol = params
            .protocol
            .parse()
            .map_err(|error| format!("{error}"))?;
        let mut flow = analysis::trace::Flow::new(
            address(&params.dst, "destination")?,
            params.dport,
            protocol,
        );
        if let Some(src) = &params.src {
            flow = flow.from_src(address(src, "source")?);
        }
        if let Some(iface) = &params.in_iface {
            flow = flow.in_iface(iface.trim());
        }
        let trace = analysis::trace::trace(&loaded.snapshot, &flow, Default::default());
        Ok(Json(analysis_result(&loaded.snapshot.id, &trace)))
    }

    #[tool(
        name = "compare_snapshots",
        description = "Compare a failing node's snapshot with a known-good node's: findings only in one or changed (by fingerprint), iptables differences (chains, services whose endpoint counts differ, rule counts, policies), sysctl, conntrack usage, kernel event counts, kubelet and VPC CNI settings. Most significant differences first, with totals for the rest. Take a snapshot of both nodes first.",
        annotations(
            title = "Compare with a known-good node",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn compare_snapshots(
        &self,
        Parameters(params): Parameters<CompareParams>,
    ) -> Result<Json<AnalysisResult>, String> {
        let failing = self.snapshot(&params.snapshot_id).await?;
        let good = self.snapshot(&params.known_good_snapshot_id).await?;
        let comparison = analysis::compare::compare(
            &failing.snapshot,
            &failing.report,
            &good.snapshot,
            &good.report,
        );
        Ok(Json(analysis_result(&failing.snapshot.id, &comparison)))
    }

    #[tool(
        name = "build_timeline",
        description = "Merge a snapshot's kernel messages, journals (kubelet, containerd, …), container logs, VPC CNI logs and its findings' occurrences into one ordered timeline for a window (default: the hour before collection; or incident_time ± minutes; or start and end), grouped into incidents by gaps. Says which sources have data in the window and counts events without a parseable time.",
        annotations(
            title = "Build a timeline",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn build_timeline(
        &self,
        Parameters(params): Parameters<TimelineParams>,
    ) -> Result<Json<AnalysisResult>, String> {
        let loaded = self.snapshot(&params.snapshot_id).await?;
        let time = |text: &str, what: &str| {
            time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
                .map(node_artifacts::time::Timestamp::from_datetime)
                .map_err(|_| {
                    format!("`{text}` is not an RFC 3339 {what} such as 2025-11-23T18:45:00Z")
                })
        };
        let window = match (&params.incident_time, &params.start, &params.end) {
            (Some(at), None, None) => analysis::timeline::Window::Around {
                incident: time(at, "incident_time")?,
                minutes: params.minutes.unwrap_or(5).clamp(1, 24 * 60),
            },
            (None, Some(start), Some(end)) => analysis::timeline::Window::Between {
                start: time(start, "start")?,
                end: time(end, "end")?,
            },
            (None, None, None) => analysis::timeline::Window::BeforeCollection,
            _ => {
                return Err(
                    "give either incident_time (with optional minutes), or both start and end, or neither for the hour before collection".to_owned(),
                );
            }
        };
        let timeline = analysis::timeline::timeline(&loaded.snapshot, &loaded.report, window);
        Ok(Json(analysis_result(&loaded.snapshot.id, &timeline)))
    }

    #[tool(
        name = "query_iptables",
        description = "Query a snapshot's iptables-save ruleset. view=rules (default): rules filtered by table, chain, target, an address inside the rule's source/destination CIDR, a port inside its --dport/--sport/multiport ranges, or comment text; each with an `artifact:line` reference. view=kube_services: kube-proxy's service view (a service's cluster IP, port and endpoints; `without_endpoints=true` lists services with none).",
        annotations(
            title = "Query iptables rules",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn query_iptables(
        &self,
        Parameters(params): Parameters<QueryIptablesParams>,
    ) -> Result<Json<IptablesPage>, String> {
        let loaded = self.snapshot(&params.snapshot_id).await?;
        query::iptables(&loaded, &params, self.budget).map(Json)
    }

    #[tool(
        name = "query_conntrack",
        description = "Query a snapshot's conntrack table: entries filtered by address, port, protocol, TCP state or unreplied, each with an `artifact:line` reference; plus whole-table aggregates (counts by protocol and state, unreplied flows, top destinations) and the `conntrack -S` statistics (drop, early_drop, insert_failed).",
        annotations(
            title = "Query conntrack",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn query_conntrack(
        &self,
        Parameters(params): Parameters<QueryConntrackParams>,
    ) -> Result<Json<ConntrackPage>, String> {
        let loaded = self.snapshot(&params.snapshot_id).await?;
        query::conntrack(&loaded, &params, self.budget).map(Json)
    }

    #[tool(
        name = "search_logs",
        description = "Search a snapshot's logs with a regular expression (linear time, no backtracking; `(?i)` for case-insensitive) and an optional RFC 3339 time window. Sources: kernel (dmesg), journal (kubelet, containerd, nodeadm, syslog, …), containers (kube-proxy), cni (ipamd, plugin), or an artifact path. Returns entries with stable `artifact:line` references.",
        annotations(
            title = "Search logs",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn search_logs(
        &self,
        Parameters(params): Parameters<SearchLogsParams>,
    ) -> Result<Json<LogPage>, String> {
        let loaded = self.snapshot(&params.snapshot_id).await?;
        let budget = self.budget;
        tokio::task::spawn_blocking(move || query::search_logs(&loaded, &params, budget))
            .await
            .map_err(|error| {
                tracing::error!(error = %error, "log search task failed");
                "the search failed (internal error, see the server log)".to_owned()
            })?
            .map(Json)
    }

    #[tool(
        name = "read_artifact_lines",
        description = "Read lines of a snapshot's artifact by path and line range, or around an `artifact:line` reference from get_finding or search_logs. At most 500 lines per call, within the response budget.",
        annotations(
            title = "Read artifact lines",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn read_artifact_lines(
        &self,
        Parameters(params): Parameters<ReadArtifactLinesParams>,
    ) -> Result<Json<ArtifactLines>, String> {
        let loaded = self.snapshot(&params.snapshot_id).await?;
        let budget = self.budget;
        // A released file is read again from the bundle: blocking IO.
        tokio::task::spawn_blocking(move || query::read_lines(&loaded, &params, budget))
            .await
            .map_err(|error| {
                tracing::error!(error = %error, "artifact read task failed");
                "the read failed (internal error, see the server log)".to_owned()
            })?
            .map(Json)
    }
}

fn taken(loaded: &Loaded, bundle: String) -> SnapshotTaken {
    SnapshotTaken {
        snapshot_id: loaded.snapshot.id.clone(),
        bundle,
        instance_id: loaded.snapshot.metadata.instance_id.clone(),
        collection_time: rfc3339(loaded.snapshot.metadata.collection_time),
        findings_total: loaded.report.findings.len(),
        findings_by_severity: severity_counts(loaded),
        load_ms: loaded.load_ms,
        next_steps: "call list_findings with this snapshot_id (most severe first), then get_finding for evidence; get_snapshot_summary shows what was collected".to_owned(),
    }
}

/// An investigation's opening message: the question, then the tools to chain.
fn investigation(question: &str, steps: &[&str]) -> Vec<PromptMessage> {
    let mut text = format!("{question}\n\nWork through the eks-node-diag tools in this order:\n");
    for (i, step) in steps.iter().enumerate() {
        text.push_str(&format!("{}. {step}\n", i + 1));
    }
    text.push_str("Quote evidence as `artifact:line` references, and say which artifacts were missing (get_snapshot_summary's rules_not_evaluated) before concluding.");
    vec![PromptMessage::new_text(Role::User, text)]
}

#[prompt_router]
#[allow(
    missing_docs,
    reason = "the prompt macro generates undocumented metadata functions"
)]
impl DiagServer {
    /// Investigate DNS failures on a node.
    #[prompt(
        name = "investigate_dns_failures",
        description = "Investigate DNS resolution failures from pods on one node: kube-dns service endpoints, conntrack for port 53, resolv.conf and CoreDNS-related log lines."
    )]
    async fn investigate_dns_failures(&self) -> Vec<PromptMessage> {
        investigation(
            "Pods on this node fail to resolve DNS names. Find out why.",
            &[
                "list_snapshots, then take_snapshot on the node's bundle (or collect_node_snapshot when AWS is enabled) to get a snapshot_id.",
                "list_findings with min_severity=medium; get_finding on any DNS, iptables or conntrack finding.",
                "query_iptables with view=kube_services and service=kube-system/kube-dns (or without_endpoints=true): does the DNS service have endpoints?",
                "query_conntrack with port=53 and unreplied=true: are DNS queries left unanswered, and is the table near capacity (statistics.drop, insert_failed)?",
                "search_logs with pattern `(?i)dns|coredns|i/o timeout|no such host` over journal and containers.",
                "read_artifact_lines on networking/resolv.conf and on each evidence reference you rely on.",
            ],
        )
    }

    /// Investigate a node going NotReady.
    #[prompt(
        name = "investigate_node_not_ready",
        description = "Investigate a node that went NotReady: kubelet and containerd journals, PLEG and runtime errors, kernel messages, resource pressure."
    )]
    async fn investigate_node_not_ready(&self) -> Vec<PromptMessage> {
        investigation(
            "This EKS node went NotReady. Find the cause and when it started.",
            &[
                "list_snapshots and take_snapshot to get a snapshot_id.",
                "get_snapshot_summary: check the kubelet and containerd journals are present.",
                "list_findings with group=kubelet, then group=kernel; get_finding on each high or critical one.",
                "search_logs with pattern `(?i)NotReady|PLEG is not healthy|container runtime is down|node status` over journal.",
                "search_logs with pattern `(?i)oom|hung task|I/O error|soft lockup` over kernel, narrowing with since/until around the first NotReady line.",
                "read_artifact_lines around the first failing reference to read the surrounding context.",
            ],
        )
    }

    /// Investigate pod network failures.
    #[prompt(
        name = "investigate_pod_network",
        description = "Investigate pod-to-pod or pod-to-service network failures on a node: VPC CNI IP allocation, iptables service rules, conntrack pressure, ENA allowance drops."
    )]
    async fn investigate_pod_network(&self) -> Vec<PromptMessage> {
        investigation(
            "Pods on this node cannot reach other pods or services. Find out where packets are lost.",
            &[
                "list_snapshots and take_snapshot to get a snapshot_id.",
                "list_findings with min_severity=low; get_finding on network, iptables and conntrack findings.",
                "query_iptables with view=kube_services and without_endpoints=true; then view=rules with the service's address or port to follow its chains.",
                "query_conntrack: statistics (drop, insert_failed, early_drop) and unreplied=true for the failing address.",
                "search_logs over cni with pattern `(?i)error|failed to assign|no available IP` for IP address management failures.",
                "search_logs over kernel with pattern `(?i)nf_conntrack|table full|allowance|link is down`.",
            ],
        )
    }

    /// Investigate memory pressure.
    #[prompt(
        name = "investigate_memory_pressure",
        description = "Investigate memory pressure on a node: OOM kills, kubelet evictions, MemoryPressure conditions and the processes using memory."
    )]
    async fn investigate_memory_pressure(&self) -> Vec<PromptMessage> {
        investigation(
            "This node reports MemoryPressure or pods are being OOM-killed. Find what uses the memory and what was killed.",
            &[
                "list_snapshots and take_snapshot to get a snapshot_id.",
                "list_findings with group=kernel and group=kubelet; get_finding on OOM or eviction findings.",
                "search_logs over kernel with pattern `(?i)out of memory|oom-kill|killed process`.",
                "search_logs over journal with pattern `(?i)evict|MemoryPressure|memory.available`.",
                "read_artifact_lines on system/ps.txt to see the largest processes.",
            ],
        )
    }
}

#[tool_handler(router = self.tool_router)]
#[prompt_handler(router = self.prompt_router)]
impl ServerHandler for DiagServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .enable_prompts()
                .build(),
        )
        .with_server_info(Implementation::new("eks-node-diag", env!("CARGO_PKG_VERSION")))
        .with_instructions(
            "Diagnoses Amazon EKS worker nodes from their log bundles. Call list_snapshots, take_snapshot (or collect_node_snapshot), then list_findings and get_finding; query_iptables, query_conntrack, search_logs and read_artifact_lines dig into the evidence. Ids returned by one tool are the ids the next takes.",
        )
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let mut resources = Vec::new();
        for (id, _) in self.engine.store().known() {
            let Some(loaded) = self.engine.store().get(&id) else {
                continue;
            };
            resources.push(
                Resource::new(format!("{URI_PREFIX}{id}/report"), format!("{id} report"))
                    .with_description("the findings report of this snapshot (JSON)")
                    .with_mime_type("application/json"),
            );
            for (path, content) in loaded.files.iter() {
                resources.push(
                    Resource::new(
                        format!("{URI_PREFIX}{id}/artifacts/{path}"),
                        format!("{id} {path}"),
                    )
                    .with_mime_type("text/plain")
                    .with_size(content.len()),
                );
            }
        }
        Ok(ListResourcesResult::with_all_items(resources))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        Ok(ListResourceTemplatesResult::with_all_items(vec![
            ResourceTemplate::new(format!("{URI_PREFIX}{{id}}/artifacts/{{path}}"), "artifact")
                .with_description("one artifact file of a loaded snapshot, by root-relative path")
                .with_mime_type("text/plain"),
            ResourceTemplate::new(format!("{URI_PREFIX}{{id}}/report"), "report")
                .with_description("the findings report of a snapshot (JSON)")
                .with_mime_type("application/json"),
        ]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let uri = request.uri;
        let not_found = |why: &str| McpError::resource_not_found(format!("{uri}: {why}"), None);
        let Some(rest) = uri.strip_prefix(URI_PREFIX) else {
            return Err(not_found("not an eks-node-diag://snapshots/ URI"));
        };
        let (id, tail) = rest.split_once('/').unwrap_or((rest, ""));
        let loaded = match self.engine.get(id).await {
            Ok(loaded) => loaded,
            Err(error) => return Err(not_found(&load_error(error))),
        };
        let text = if tail == "report" {
            serde_json::to_string_pretty(&loaded.report).map_err(|error| {
                tracing::error!(error = %error, "report serialisation failed");
                McpError::internal_error("the report could not be serialised", None)
            })?
        } else if let Some(path) = tail.strip_prefix("artifacts/") {
            let read = {
                let (loaded, path) = (Arc::clone(&loaded), path.to_owned());
                tokio::task::spawn_blocking(move || loaded.files.read(&path)).await
            };
            let content = match read {
                Ok(Ok(Some(content))) => content,
                Ok(Ok(None)) => {
                    return Err(not_found(
                        "no such artifact in this snapshot; list_resources or get_snapshot_summary list them",
                    ));
                }
                Ok(Err(error)) => {
                    return Err(McpError::internal_error(
                        query::reread_error(path, &error),
                        None,
                    ));
                }
                Err(error) => {
                    tracing::error!(error = %error, "artifact read task failed");
                    return Err(McpError::internal_error(
                        "the artifact could not be read (internal error, see the server log)",
                        None,
                    ));
                }
            };
            let cut = content.len().min(MAX_RESOURCE_BYTES);
            let mut text = String::from_utf8_lossy(&content[..cut]).into_owned();
            if cut < content.len() {
                text.push_str(&format!(
                    "\n[truncated at {MAX_RESOURCE_BYTES} of {} bytes; use read_artifact_lines for the rest]\n",
                    content.len()
                ));
            }
            text
        } else {
            return Err(not_found(
                "expected …/{id}/report or …/{id}/artifacts/{path}",
            ));
        };
        Ok(ReadResourceResult::new(vec![ResourceContents::text(text, uri.clone())]).into())
    }
}

/// An analysis result as its text report plus its structured form.
fn analysis_result(
    snapshot_id: &str,
    value: &(impl std::fmt::Display + serde::Serialize),
) -> AnalysisResult {
    AnalysisResult {
        snapshot_id: snapshot_id.to_owned(),
        text: value.to_string(),
        result: serde_json::to_value(value).unwrap_or(Value::Null),
    }
}
