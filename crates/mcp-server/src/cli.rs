//! The `eks-node-diag` command line.
//!
//! stdout carries only the requested output (or, in `serve`, MCP frames);
//! logs go to stderr through `tracing` (`RUST_LOG` sets the level).

use std::io::{self, Write};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand, ValueEnum};
use findings::{Finding, Report, Severity};
use node_artifacts::layout::{ArtifactKind, CoverageStatus};
use node_bundle::Limits;
use rmcp::ServiceExt;
use serde_json::{Value, json};

use crate::aws::{AwsSettings, SsmCollector};
use crate::server::{Collector, DEFAULT_BUDGET, DiagServer};
use crate::state::{self, DEFAULT_CAPACITY, Engine, Sources};

/// The scenario bundles shipped in the repository, served when `serve` is
/// given no source. The path is fixed at build time from this crate's
/// manifest directory, so it works from a checkout (`cargo run`).
pub const DEFAULT_BUNDLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/bundles");

/// Diagnose Amazon EKS worker nodes from their log bundles, on the command
/// line or as an MCP server for AI agents.
#[derive(Debug, Parser)]
#[command(name = "eks-node-diag", version, propagate_version = true)]
#[command(
    after_help = "Examples:\n  eks-node-diag analyze fixtures/bundles/dns-no-endpoints\n  eks-node-diag serve --bundles ./bundles\n  eks-node-diag parse --kind conntrack networking/conntrack.txt\n  eks-node-diag rules\n  eks-node-diag explain CTK001"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the MCP tools over stdio, or over Streamable HTTP with `--http`.
    #[command(
        after_help = "Examples:\n  eks-node-diag serve                      # the scenario bundles in fixtures/bundles\n  eks-node-diag serve --bundles /var/bundles --store-dir /var/lib/eks-node-diag\n  eks-node-diag serve --bundles ./b --region us-west-2 --cluster prod --bundle-bucket my-bucket --automation-role arn:aws:iam::123456789012:role/collect\n\nWith neither --bundles nor --store-dir, serves fixtures/bundles of the source checkout it was built from."
    )]
    Serve(Box<ServeArgs>),
    /// Diagnose one bundle (directory or .tar.gz) and print its findings.
    #[command(
        after_help = "Examples:\n  eks-node-diag analyze fixtures/bundles/dns-no-endpoints\n  eks-node-diag analyze eks_i-0123_2025-11-20_0930-UTC_0.7.9.tar.gz --format json\n  eks-node-diag analyze ./bundle --format markdown --min-severity high\n\nExit status 0 whatever was found; non-zero only when the bundle cannot be read."
    )]
    Analyze {
        /// The bundle: a directory or a .tar.gz archive.
        path: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Only findings at least this severe (info, low, medium, high, critical).
        #[arg(long)]
        min_severity: Option<Severity>,
    },
    /// Parse one artifact file and print its typed model.
    #[command(
        after_help = "Examples:\n  eks-node-diag parse --kind iptables-save networking/iptables-save.txt\n  eks-node-diag parse --kind kubelet-journal kubelet/kubelet.log --format text\n\nKinds: see `eks-node-diag parse --kind help`. Exit status 0 when the file is of that kind (even with unparsed lines), non-zero when it is not."
    )]
    Parse {
        /// The artifact kind (`iptables-save`, `conntrack`, `dmesg-current`, `kubelet-journal`, …).
        #[arg(long)]
        kind: String,
        /// The file.
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ParseFormat::Json)]
        format: ParseFormat,
    },
    /// List the diagnostic rules.
    #[command(after_help = "Example:\n  eks-node-diag rules")]
    Rules,
    /// Print a rule's documentation.
    #[command(after_help = "Example:\n  eks-node-diag explain CTK001")]
    Explain {
        /// The rule code (`CTK001`) or kebab-case name.
        code: String,
    },
    /// Trace a packet through the node's iptables the way the kernel would.
    #[command(
        after_help = "Examples:\n  eks-node-diag trace fixtures/bundles/dns-no-endpoints --dst 172.20.0.10 --dport 53 --proto udp\n  eks-node-diag trace ./bundle --dst 172.20.17.230 --dport 80 --proto tcp --src 10.0.70.200 --in-iface eni5e6f7a8b9c0 --format json"
    )]
    Trace {
        /// The bundle: a directory or a .tar.gz archive.
        bundle: PathBuf,
        /// Destination address.
        #[arg(long)]
        dst: std::net::IpAddr,
        /// Destination port.
        #[arg(long)]
        dport: u16,
        /// Protocol: tcp, udp or sctp.
        #[arg(long, default_value = "tcp")]
        proto: String,
        /// Source address (a pod, or another node).
        #[arg(long)]
        src: Option<std::net::IpAddr>,
        /// Input interface (a pod's veth `eni…`, or `eth0`).
        #[arg(long)]
        in_iface: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
        format: ReportFormat,
    },
    /// Compare a failing node with a known-good one, most significant differences first.
    #[command(
        after_help = "Example:\n  eks-node-diag compare fixtures/bundles/dns-no-endpoints fixtures/bundles/healthy"
    )]
    Compare {
        /// The failing node's bundle.
        bundle: PathBuf,
        /// The known-good node's bundle.
        known_good: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
        format: ReportFormat,
    },
    /// Merge kernel, journal, container and CNI logs and the findings into one timeline.
    #[command(
        after_help = "Examples:\n  eks-node-diag timeline fixtures/bundles/memory-pressure                 # the hour before collection\n  eks-node-diag timeline ./bundle --incident-time 2025-11-23T18:45:00Z --minutes 10\n  eks-node-diag timeline ./bundle --start 2025-11-23T18:00:00Z --end 2025-11-23T19:00:00Z"
    )]
    Timeline {
        /// The bundle: a directory or a .tar.gz archive.
        bundle: PathBuf,
        /// The incident time (RFC 3339); the window is ± --minutes around it.
        #[arg(long, conflicts_with_all = ["start", "end"])]
        incident_time: Option<String>,
        /// Minutes either side of --incident-time.
        #[arg(long, default_value_t = 5)]
        minutes: i64,
        /// Window start (RFC 3339), with --end.
        #[arg(long, requires = "end")]
        start: Option<String>,
        /// Window end (RFC 3339), with --start.
        #[arg(long, requires = "start")]
        end: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
        format: ReportFormat,
    },
    /// Collect a bundle from a live node through AWS Systems Manager.
    #[command(
        after_help = "Example:\n  eks-node-diag collect i-0123456789abcdef0 --region us-west-2 --bundle-bucket my-bucket --automation-role arn:aws:iam::123456789012:role/collect --out ./bundles\n\nNeeds AWS credentials in the environment (profile, SSO or instance role)."
    )]
    Collect {
        /// Instance id, Kubernetes node name or private IP.
        node: String,
        /// AWS settings.
        #[command(flatten)]
        aws: AwsArgs,
        /// Where to write the bundle (a folder named after its snapshot id).
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
}

/// Output formats of `analyze`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for a terminal.
    Table,
    /// One JSON document.
    Json,
    /// A Markdown report.
    Markdown,
}

/// Output formats of `trace`, `compare` and `timeline`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Text for a terminal.
    Table,
    /// One JSON document.
    Json,
}

/// Output formats of `parse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ParseFormat {
    /// The typed model and diagnostics as JSON.
    Json,
    /// A short text summary and the diagnostics.
    Text,
}

/// Flags of `serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// A directory of bundles (folders or .tar.gz); re-scanned on every
    /// listing. Repeatable.
    #[arg(long = "bundles", value_name = "DIR")]
    pub bundles: Vec<PathBuf>,
    /// Persist collected bundles here, keyed by snapshot id, with an index
    /// so a restart resolves the same ids.
    #[arg(long, value_name = "DIR")]
    pub store_dir: Option<PathBuf>,
    /// Response budget in bytes of JSON per tool call.
    #[arg(long, default_value_t = DEFAULT_BUDGET)]
    pub budget: usize,
    /// Snapshots kept in memory (least recently used evicted).
    #[arg(long, default_value_t = DEFAULT_CAPACITY)]
    pub capacity: usize,
    /// AWS settings; collection is enabled when a region is given.
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Remote serving over Streamable HTTP (instead of stdio).
    #[command(flatten)]
    pub http: HttpArgs,
}

/// Flags of `serve --http` (see docs/remote-serving.md).
#[derive(Debug, Clone, clap::Args)]
pub struct HttpArgs {
    /// Serve MCP over Streamable HTTP at this address (`127.0.0.1:8080`,
    /// `0.0.0.0:8443`) instead of stdio.
    #[arg(long, value_name = "ADDR")]
    pub http: Option<std::net::SocketAddr>,
    /// TLS certificate chain (PEM), with --tls-key; otherwise plain HTTP
    /// (behind a load balancer that terminates TLS).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM), with --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Accepted `Host` names for /mcp (repeatable; `*` accepts any).
    #[arg(long = "allowed-host")]
    pub allowed_hosts: Vec<String>,
    /// Accepted browser `Origin`s (repeatable).
    #[arg(long = "allowed-origin")]
    pub allowed_origins: Vec<String>,
    /// A file of static credentials, one `name:read|collect|all:secret` a line.
    #[arg(long)]
    pub keys_file: Option<PathBuf>,
    /// An environment variable holding static credentials in the same form.
    #[arg(long)]
    pub keys_env: Option<String>,
    /// Header carrying an API key (static credentials are also accepted as
    /// `Authorization: Bearer`).
    #[arg(long, default_value = "x-api-key")]
    pub api_key_header: String,
    /// OAuth 2.0: the token issuer (`iss`), with --oauth-jwks-url and --oauth-resource.
    #[arg(long, requires_all = ["oauth_jwks_url", "oauth_resource"])]
    pub oauth_issuer: Option<String>,
    /// OAuth 2.0: the issuer's JWKS URL.
    #[arg(long)]
    pub oauth_jwks_url: Option<String>,
    /// OAuth 2.0: this server's resource URL (RFC 9728).
    #[arg(long)]
    pub oauth_resource: Option<String>,
    /// OAuth 2.0: accepted audiences (repeatable; unchecked when absent).
    #[arg(long = "oauth-audience")]
    pub oauth_audiences: Vec<String>,
    /// OAuth 2.0: the scope granting the read-only tools.
    #[arg(long)]
    pub oauth_read_scope: Option<String>,
    /// OAuth 2.0: the scope granting the node-touching tools.
    #[arg(long)]
    pub oauth_collect_scope: Option<String>,
    /// Serve a non-loopback address without authentication (trusted networks only).
    #[arg(long)]
    pub insecure_no_auth: bool,
    /// Answer with `application/json` instead of SSE streams.
    #[arg(long)]
    pub json_response: bool,
    /// No MCP sessions: every request stands alone (replicas behind a load
    /// balancer without stickiness).
    #[arg(long)]
    pub stateless: bool,
}

impl HttpArgs {
    fn config(&self, addr: std::net::SocketAddr) -> anyhow::Result<mcp_http::HttpConfig> {
        let mut config = mcp_http::HttpConfig::new(addr);
        if !self.allowed_hosts.is_empty() {
            config.allowed_hosts.clone_from(&self.allowed_hosts);
        }
        config.allowed_origins.clone_from(&self.allowed_origins);
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            config.tls = Some(mcp_http::TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            });
        }
        if let Some(path) = &self.keys_file {
            config.auth.keys.extend(
                mcp_http::StaticKey::load_file(path)
                    .with_context(|| format!("reading keys from {}", path.display()))?,
            );
        }
        if let Some(var) = &self.keys_env {
            config.auth.keys.extend(
                mcp_http::StaticKey::load_env(var)
                    .with_context(|| format!("reading keys from ${var}"))?,
            );
        }
        config.auth.api_key_header = self
            .api_key_header
            .parse()
            .with_context(|| format!("`{}` is not a header name", self.api_key_header))?;
        if let (Some(issuer), Some(jwks), Some(resource)) = (
            &self.oauth_issuer,
            &self.oauth_jwks_url,
            &self.oauth_resource,
        ) {
            let mut oauth = mcp_http::OAuthConfig::new(issuer, jwks, resource);
            oauth.audience.clone_from(&self.oauth_audiences);
            if let Some(scope) = &self.oauth_read_scope {
                oauth.read_scope.clone_from(scope);
            }
            if let Some(scope) = &self.oauth_collect_scope {
                oauth.collect_scope.clone_from(scope);
            }
            config.auth.oauth = Some(oauth);
        }
        config.insecure_no_auth = self.insecure_no_auth;
        config.json_response = self.json_response;
        config.stateful_sessions = !self.stateless;
        Ok(config)
    }
}

/// AWS flags.
#[derive(Debug, Clone, clap::Args)]
pub struct AwsArgs {
    /// AWS region; enables collection through SSM.
    #[arg(long, env = "EKS_NODE_DIAG_REGION")]
    pub region: Option<String>,
    /// EKS cluster name of the nodes.
    #[arg(long)]
    pub cluster: Option<String>,
    /// S3 bucket AWSSupport-CollectEKSInstanceLogs uploads bundles to.
    #[arg(long)]
    pub bundle_bucket: Option<String>,
    /// IAM role ARN the collection automation assumes.
    #[arg(long)]
    pub automation_role: Option<String>,
}

impl AwsArgs {
    fn settings(&self) -> Option<AwsSettings> {
        Some(AwsSettings {
            region: self.region.clone()?,
            cluster: self.cluster.clone(),
            bundle_bucket: self.bundle_bucket.clone(),
            automation_role: self.automation_role.clone(),
            limits: Limits::default(),
        })
    }
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_level = if matches!(cli.command, Command::Serve(_)) {
        "info"
    } else {
        "warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_ansi(false)
        .init();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            tracing::debug!(error = ?error, "command failed");
            let _ = writeln!(io::stderr(), "error: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs one subcommand.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut out = io::stdout().lock();
    match cli.command {
        Command::Serve(args) => {
            drop(out);
            serve(*args)?;
        }
        Command::Analyze {
            path,
            format,
            min_severity,
        } => analyze(&mut out, &path, format, min_severity)?,
        Command::Parse { kind, file, format } => return parse(&mut out, &kind, &file, format),
        Command::Rules => rules(&mut out)?,
        Command::Explain { code } => {
            let explanation = crate::query::explain(&code).map_err(anyhow::Error::msg)?;
            writeln!(
                out,
                "{} {} [{}] ({})\n",
                explanation.code, explanation.name, explanation.default_severity, explanation.group
            )?;
            writeln!(out, "{}", explanation.doc.trim_end())?;
        }
        Command::Trace {
            bundle,
            dst,
            dport,
            proto,
            src,
            in_iface,
            format,
        } => {
            let protocol: analysis::trace::FlowProtocol =
                proto.parse().map_err(|error| anyhow::anyhow!("{error}"))?;
            let mut flow = analysis::trace::Flow::new(dst, dport, protocol);
            if let Some(src) = src {
                flow = flow.from_src(src);
            }
            if let Some(iface) = &in_iface {
                flow = flow.in_iface(iface);
            }
            let loaded = load(&bundle)?;
            let trace = analysis::trace::trace(&loaded.snapshot, &flow, Default::default());
            print_report(&mut out, &trace, format)?;
        }
        Command::Compare {
            bundle,
            known_good,
            format,
        } => {
            let failing = load(&bundle)?;
            let good = load(&known_good)?;
            let comparison = analysis::compare::compare(
                &failing.snapshot,
                &failing.report,
                &good.snapshot,
                &good.report,
            );
            print_report(&mut out, &comparison, format)?;
        }
        Command::Timeline {
            bundle,
            incident_time,
            minutes,
            start,
            end,
            format,
        } => {
            let window = match (incident_time, start, end) {
                (Some(at), _, _) => analysis::timeline::Window::Around {
                    incident: rfc3339(&at)?,
                    minutes,
                },
                (None, Some(start), Some(end)) => analysis::timeline::Window::Between {
                    start: rfc3339(&start)?,
                    end: rfc3339(&end)?,
                },
                _ => analysis::timeline::Window::BeforeCollection,
            };
            let loaded = load(&bundle)?;
            let timeline = analysis::timeline::timeline(&loaded.snapshot, &loaded.report, window);
            print_report(&mut out, &timeline, format)?;
        }
        Command::Collect {
            node,
            aws,
            out: dir,
        } => collect(&mut out, &node, &aws, &dir)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints an analysis result as its text rendering or as JSON.
fn print_report(
    out: &mut impl Write,
    value: &(impl std::fmt::Display + serde::Serialize),
    format: ReportFormat,
) -> anyhow::Result<()> {
    match format {
        ReportFormat::Table => write!(out, "{value}")?,
        ReportFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, value)?;
            writeln!(out)?;
        }
    }
    Ok(())
}

/// Reads an RFC 3339 time given on the command line.
fn rfc3339(text: &str) -> anyhow::Result<node_artifacts::time::Timestamp> {
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .with_context(|| {
            format!("`{text}` is not an RFC 3339 time such as 2025-11-20T09:30:00Z")
        })?;
    Ok(node_artifacts::time::Timestamp::from_datetime(at))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut bundle_dirs = args.bundles.clone();
    if bundle_dirs.is_empty() && args.store_dir.is_none() {
        bundle_dirs.push(PathBuf::from(DEFAULT_BUNDLES));
    }
    let capacity = NonZeroUsize::new(args.capacity).context("--capacity must be at least 1")?;
    let sources = Sources {
        bundle_dirs,
        store_dir: args.store_dir.clone(),
        limits: Limits::default(),
    };
    runtime()?.block_on(async move {
        let collector: Option<Arc<dyn Collector>> = match args.aws.settings() {
            Some(settings) => Some(Arc::new(SsmCollector::connect(&settings).await?)),
            None => None,
        };
        tracing::info!(
            dirs = ?sources.bundle_dirs,
            store = ?sources.store_dir,
            aws = collector.is_some(),
            "eks-node-diag serving MCP over stdio"
        );
        let engine = Arc::new(Engine::new(sources, capacity));
        if let Some(addr) = args.http.http {
            let config = args.http.config(addr)?;
            let budget = args.budget;
            let shutdown = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            mcp_http::serve(
                config,
                move || DiagServer::new(Arc::clone(&engine), budget, collector.clone()),
                shutdown,
            )
            .await
            .context("serving MCP over HTTP")?;
            return anyhow::Ok(());
        }
        let server = DiagServer::new(engine, args.budget, collector);
        let service = server
            .serve(rmcp::transport::stdio())
            .await
            .context("starting the MCP session")?;
        service.waiting().await.context("MCP session")?;
        anyhow::Ok(())
    })
}

fn load(path: &Path) -> anyhow::Result<state::Loaded> {
    let started = Instant::now();
    let files = node_bundle::read_path(path, &Limits::default())
        .with_context(|| format!("reading the bundle {}", path.display()))?;
    Ok(state::build_loaded(
        files,
        path.to_string_lossy().into_owned(),
        started,
        Limits::default(),
    ))
}

/// The JSON document `analyze --format json` prints.
pub fn analysis_json(loaded: &state::Loaded, findings: &[&Finding]) -> Value {
    json!({
        "snapshot_id": loaded.snapshot.id,
        "node": loaded.snapshot.metadata,
        "coverage": loaded.snapshot.coverage,
        "rules_evaluated": loaded.report.rules_evaluated,
        "not_evaluated": loaded.report.not_evaluated,
        "counts": loaded.report.counts,
        "findings": findings,
    })
}

fn analyze(
    out: &mut impl Write,
    path: &Path,
    format: Format,
    min: Option<Severity>,
) -> anyhow::Result<()> {
    let loaded = load(path)?;
    let report: &Report = &loaded.report;
    let findings: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| min.is_none_or(|min| f.severity >= min))
        .collect();
    let meta = &loaded.snapshot.metadata;
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &analysis_json(&loaded, &findings))?;
            writeln!(out)?;
        }
        Format::Table => {
            writeln!(
                out,
                "snapshot {}  node {}  collected {}",
                loaded.snapshot.id,
                meta.instance_id.as_deref().unwrap_or("?"),
                meta.collection_time
                    .map_or("?".to_owned(), |t| t.to_string())
            )?;
            let totals = &loaded.snapshot.coverage.totals;
            writeln!(
                out,
                "coverage: {} files, {} parsed, {} unparsed lines; {} rules run, {} not evaluated\n",
                totals.files,
                totals.parsed_files,
                totals.unparsed_lines,
                report.rules_evaluated,
                report.not_evaluated.len()
            )?;
            if findings.is_empty() {
                writeln!(out, "no findings")?;
            } else {
                writeln!(out, "{:<9} {:<7} {:<20} TITLE", "SEVERITY", "CODE", "ID")?;
                for finding in &findings {
                    writeln!(
                        out,
                        "{:<9} {:<7} {:<20} {}",
                        finding.severity, finding.code, finding.id.0, finding.title
                    )?;
                }
                writeln!(out, "\n{} finding(s)", findings.len())?;
            }
        }
        Format::Markdown => {
            writeln!(out, "# eks-node-diag report\n")?;
            writeln!(out, "- Snapshot: `{}`", loaded.snapshot.id)?;
            writeln!(
                out,
                "- Instance: `{}`",
                meta.instance_id.as_deref().unwrap_or("unknown")
            )?;
            writeln!(
                out,
                "- Collected: {}",
                meta.collection_time
                    .map_or("unknown".to_owned(), |t| t.to_string())
            )?;
            writeln!(
                out,
                "- Rules run: {}, not evaluated: {}\n",
                report.rules_evaluated,
                report.not_evaluated.len()
            )?;
            if findings.is_empty() {
                writeln!(out, "No findings.")?;
            } else {
                writeln!(out, "| Severity | Code | Title | Id |\n|---|---|---|---|")?;
                for finding in &findings {
                    writeln!(
                        out,
                        "| {} | {} | {} | `{}` |",
                        finding.severity,
                        finding.code,
                        finding.title.replace('|', "\\|"),
                        finding.id.0
                    )?;
                }
                for finding in &findings {
                    writeln!(
                        out,
                        "\n## {} {}: {}\n",
                        finding.code, finding.name, finding.title
                    )?;
                    writeln!(
                        out,
                        "Severity: **{}**. Id `{}`.\n",
                        finding.severity, finding.id.0
                    )?;
                    writeln!(out, "{}\n", finding.summary)?;
                    if !finding.evidence.is_empty() {
                        writeln!(out, "Evidence:\n")?;
                        for evidence in &finding.evidence {
                            writeln!(
                                out,
                                "- `{}:{}`: `{}`",
                                evidence.artifact,
                                evidence.line,
                                evidence.excerpt.replace('`', "'")
                            )?;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

fn parse(
    out: &mut impl Write,
    kind_name: &str,
    file: &Path,
    format: ParseFormat,
) -> anyhow::Result<ExitCode> {
    let Some(kind) = ArtifactKind::from_name(kind_name) else {
        let names: Vec<&str> = ArtifactKind::named()
            .iter()
            .map(ArtifactKind::name)
            .collect();
        bail!("unknown kind `{kind_name}`; kinds: {}", names.join(", "));
    };
    let files = node_bundle::read_single_file(file, kind.name(), &Limits::default())
        .with_context(|| format!("reading {}", file.display()))?;
    let Some((filed_under, _)) = files.files.iter().next() else {
        bail!("{} is empty", file.display());
    };
    let filed_under = filed_under.clone();
    let snapshot = files.snapshot();
    if let Some(failure) = snapshot.failures.iter().find(|f| f.path == filed_under) {
        bail!(
            "{} is not a {} file: {}",
            file.display(),
            kind.name(),
            failure.reason
        );
    }
    let row = snapshot
        .coverage
        .files
        .iter()
        .find(|row| row.path == filed_under);
    let (lines, unparsed) = match row.map(|row| &row.status) {
        Some(CoverageStatus::Parsed {
            lines,
            unparsed_lines,
            ..
        }) => (*lines, *unparsed_lines),
        _ => bail!("no parser reads kind `{}` on its own yet", kind.name()),
    };
    if lines > 0 && unparsed == lines {
        bail!(
            "{} is not a {} file: none of its {lines} lines parse as one",
            file.display(),
            kind.name()
        );
    }
    let whole = serde_json::to_value(&snapshot).context("serialising the model")?;
    let Some(artifact) = find_artifact(&whole, &filed_under) else {
        bail!(
            "kind `{}` is read only as bundle metadata; nothing to print",
            kind.name()
        );
    };
    let diagnostics: Vec<Value> = artifact
        .get("diagnostics")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|d| json!({"line": d.get("line"), "reason": d.get("reason")}))
                .collect()
        })
        .unwrap_or_default();
    match format {
        ParseFormat::Json => {
            let document = json!({
                "kind": kind.name(),
                "file": file.display().to_string(),
                "lines": lines,
                "unparsed_lines": unparsed,
                "model": artifact.get("value"),
                "diagnostics": diagnostics,
            });
            serde_json::to_writer_pretty(&mut *out, &document)?;
            writeln!(out)?;
        }
        ParseFormat::Text => {
            writeln!(
                out,
                "{}: {} ({lines} lines, {unparsed} unparsed)",
                file.display(),
                kind.name()
            )?;
            for diagnostic in &diagnostics {
                writeln!(
                    out,
                    "line {}: {}",
                    diagnostic["line"],
                    diagnostic["reason"].as_str().unwrap_or("")
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Finds the serialised artifact whose `path` is `path` anywhere in the
/// snapshot (top-level fields, lists, the kernel log).
fn find_artifact<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    match value {
        Value::Object(map) => {
            if map.get("path").and_then(Value::as_str) == Some(path) && map.contains_key("value") {
                return Some(value);
            }
            map.iter()
                .filter(|(key, _)| key.as_str() != "coverage")
                .find_map(|(_, child)| find_artifact(child, path))
        }
        Value::Array(items) => items
            .iter()
            .take(64)
            .find_map(|child| find_artifact(child, path)),
        _ => None,
    }
}

fn rules(out: &mut impl Write) -> anyhow::Result<()> {
    writeln!(
        out,
        "{:<7} {:<9} {:<10} {:<40} WHAT IT DOES",
        "CODE", "SEVERITY", "GROUP", "NAME"
    )?;
    for rule in findings::codes::all() {
        let meta = rule.meta;
        writeln!(
            out,
            "{:<7} {:<9} {:<10} {:<40} {}",
            meta.code,
            meta.default_severity,
            meta.group,
            meta.kebab_name(),
            meta.short_description().replace('\n', " ")
        )?;
    }
    Ok(())
}

fn collect(out: &mut impl Write, node: &str, aws: &AwsArgs, dir: &Path) -> anyhow::Result<()> {
    let Some(settings) = aws.settings() else {
        bail!(
            "AWS is not configured: pass --region (or set EKS_NODE_DIAG_REGION) and provide credentials (AWS_PROFILE, SSO or an instance role)"
        );
    };
    runtime()?.block_on(async {
        let collector = SsmCollector::connect(&settings).await?;
        let files = collector
            .collect(node.to_owned(), tokio_util::sync::CancellationToken::new())
            .await
            .map_err(anyhow::Error::msg)?;
        let engine = Engine::new(
            Sources {
                bundle_dirs: Vec::new(),
                store_dir: Some(dir.to_path_buf()),
                limits: Limits::default(),
            },
            NonZeroUsize::MIN,
        );
        let path = engine.persist(&files)?.context("no output directory")?;
        writeln!(out, "{}\t{}", files.snapshot_id(), path.display())?;
        anyhow::Ok(())
    })
}
