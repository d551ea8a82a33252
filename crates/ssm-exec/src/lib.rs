//! Controlled execution on EKS worker nodes through AWS Systems Manager.
//!
//! # Overview
//!
//! [`SsmExec`] is built from an [`aws_config::SdkConfig`] and a [`Config`]
//! (region allow-list, pinned document, output bucket, timeouts). It:
//!
//! - resolves a node named by instance id, node name or private IP
//!   ([`SsmExec::resolve_node`] with a [`NodeRef`]) and checks that it is a
//!   running EKS node;
//! - reports SSM reachability ([`SsmExec::check_reachability`]) and lists a
//!   cluster's nodes with their SSM status ([`SsmExec::list_cluster_nodes`]);
//! - collects one [`Artifact`] from one node ([`SsmExec::collect`]) or from
//!   every node of a cluster with one SendCommand ([`SsmExec::collect_fleet`]),
//!   returning raw bytes with an explicit [`Truncation`];
//! - runs `AWSSupport-CollectEKSInstanceLogs` and hands back the archive as a
//!   stream ([`SsmExec::collect_bundle`]);
//! - creates or updates the project's SSM document in an account and returns
//!   the version to pin ([`SsmExec::ensure_document`]).
//!
//! The crate returns bytes and metadata; it knows nothing about parsing.
//!
//! # Security rationale
//!
//! The agent on the other side of the MCP server is a language model, so
//! whatever it can send may be adversarial. The design therefore gives it no
//! shell at all, not even a restricted one.
//!
//! **No shell, no command text.** Nothing a caller writes is ever placed in a
//! command line. The only program that runs on a node is the script of one
//! project-owned SSM Command document, `ssm-documents/eks-node-diagnostics.yaml`,
//! reviewed in the repository and uploaded by [`SsmExec::ensure_document`].
//! A caller chooses an [`Artifact`] from a closed enum; the crate turns it into
//! document parameters, never into shell text. Free-text alternatives, such as
//! `AWS-RunShellScript` with an escaped string, fail the moment one escape is
//! missed (the reference project pasted a tcpdump filter unquoted into a root
//! shell script: a newline in the filter ran any command on the node).
//!
//! **Allow-lists at two layers.** Every document parameter is closed by
//! `allowedValues` or an anchored numeric `allowedPattern`, so SSM itself
//! rejects any other value at SendCommand, before a node sees it. The script
//! assigns each parameter to a double-quoted variable, checks it again with
//! `case`, and maps each artifact to one fixed, read-only command. A test
//! reads the document and fails if a parameter is not closed or if a
//! parameter reference appears anywhere but in such an assignment.
//!
//! **Pinned version.** SendCommand names the document version from
//! [`Config::document`], never `$LATEST`, so uploading a new version changes
//! nothing until the configuration pins it.
//!
//! **What the document can do:** read iptables and ip6tables rules,
//! conntrack tables and statistics, the kernel ring buffer, the journal of an
//! allow-listed unit over at most seven days, sysctl values, routes, rules,
//! addresses, link counters, `resolv.conf`, ethtool statistics and the VPC
//! CNI's local introspection and metrics endpoints, and print them, gzip- and
//! base64-encoded, on standard output. **What it cannot do:** install
//! packages, write files, change rules or settings, run anything chosen by a
//! caller, or read any path other than those named in it. (The SSM agent
//! itself keeps the script and its output under its own directory, as it does
//! for every command.) Everything is auditable in AWS: each collection is an
//! SSM command with an id ([`Collected::command_id`]) and a CloudTrail event.
//!
//! **Validated identifiers.** Instance ids must match `i-[0-9a-f]{8,17}` as a
//! whole (a trailing newline fails, unlike a regex with `$`), node names are
//! lowercase DNS names, IPs are parsed as [`std::net::IpAddr`], cluster names
//! follow EKS's rules, and the region must be in the configured allow-list.
//! They reach AWS only as API fields and filter values.
//!
//! **Least privilege.** `docs/iam-policy.md` splits the IAM permissions into a
//! read-only part (resolve nodes, check SSM, read outputs) and the part that
//! starts commands and automations, so a deployment can grant only the first.
//!
//! **Bounded everything.** Waits have a total timeout and honour cancellation
//! (a command we stop waiting for is cancelled in SSM), throttled polls are
//! retried a bounded number of times, and decoded output is capped
//! ([`Config::max_output_bytes`]) against decompression bombs. Truncation is a
//! value in the result ([`Truncation`]), never silent.
//!
//! A key design decision: SSM is the distributed engine. A fleet collection is
//! one SendCommand on the cluster tag with SSM's own `MaxConcurrency` and
//! `MaxErrors`, not a home-made fan-out of commands.
//!
//! # Example
//!
//! ```no_run
//! # async fn run() -> Result<(), ssm_exec::Error> {
//! use ssm_exec::{Artifact, CollectOptions, Config, DocumentRef, NodeRef, SsmExec};
//! use tokio_util::sync::CancellationToken;
//!
//! let sdk_config = aws_config::load_from_env().await;
//! let config = Config::new(vec!["us-west-2".into()], DocumentRef::new("EksNodeDiag-Collect", "3")?);
//! let client = SsmExec::new(&sdk_config, config)?;
//! let node = client.resolve_node(&NodeRef::parse("ip-10-0-1-23.us-west-2.compute.internal")?).await?;
//! let collected = client
//!     .collect(&node, Artifact::IptablesSave, &CollectOptions::default(), &CancellationToken::new())
//!     .await?;
//! assert!(!collected.truncated.is_truncated());
//! # Ok(()) }
//! ```

mod artifact;
mod aws_error;
mod bundle;
mod collect;
mod config;
mod decode;
mod document;
mod error;
mod fleet;
mod node;

use std::sync::Arc;

use aws_config::SdkConfig;

pub use crate::artifact::{Artifact, JournalUnit, SinceMinutes};
pub use crate::bundle::{Bundle, BUNDLE_AUTOMATION_DOCUMENT};
pub use crate::collect::{CollectOptions, Collected, CommandHandle, OutputSource, DOCUMENT_STEP_NAME, STDERR_HEAD_BYTES};
pub use crate::config::{BundleConfig, Config, DocumentRef, S3Location, Timeouts, DEFAULT_DOCUMENT_NAME};
pub use crate::decode::{Truncation, INLINE_STDERR_LIMIT, INLINE_STDOUT_LIMIT};
pub use crate::document::{DocumentChange, EnsuredDocument, DOCUMENT_YAML};
pub use crate::error::{BoxError, Error, Result};
pub use crate::fleet::{FleetCollected, FleetItem, FleetLimit, FleetOptions};
pub use crate::node::{InstanceId, Node, NodeRef, NodeWithStatus, PingStatus, SsmStatus, CLUSTER_NAME_TAG, KUBERNETES_CLUSTER_TAG_PREFIX};

/// The AWS clients one region needs.
#[derive(Debug, Clone)]
pub struct Clients {
    /// EC2, for node resolution.
    pub ec2: aws_sdk_ec2::Client,
    /// SSM, for commands, automations and documents.
    pub ssm: aws_sdk_ssm::Client,
    /// S3, for command output and bundles.
    pub s3: aws_sdk_s3::Client,
}

/// Controlled SSM execution against the nodes of one region.
///
/// Cheap to clone: the SDK clients share their connection pools.
#[derive(Debug, Clone)]
pub struct SsmExec {
    ec2: aws_sdk_ec2::Client,
    ssm: aws_sdk_ssm::Client,
    s3: aws_sdk_s3::Client,
    region: String,
    config: Arc<Config>,
    sdk_config: Option<SdkConfig>,
    sdk_attempts: u32,
}

impl SsmExec {
    /// Builds the clients from an SDK configuration, whose region must be in
    /// the configured allow-list.
    pub fn new(sdk_config: &SdkConfig, config: Config) -> Result<SsmExec> {
        let region = sdk_config.region().map(ToString::to_string).unwrap_or_default();
        let clients = Clients {
            ec2: aws_sdk_ec2::Client::new(sdk_config),
            ssm: aws_sdk_ssm::Client::new(sdk_config),
            s3: aws_sdk_s3::Client::new(sdk_config),
        };
        let mut exec = SsmExec::from_clients(clients, &region, config)?;
        exec.sdk_attempts = sdk_config.retry_config().map_or(1, |retry| retry.max_attempts());
        exec.sdk_config = Some(sdk_config.clone());
        Ok(exec)
    }

    /// Uses clients built elsewhere (custom endpoints, path-style S3, test
    /// mocks). `region` must be the clients' region and in the allow-list.
    pub fn from_clients(clients: Clients, region: &str, config: Config) -> Result<SsmExec> {
        config.validate()?;
        check_region(&config, region)?;
        Ok(SsmExec {
            ec2: clients.ec2,
            ssm: clients.ssm,
            s3: clients.s3,
            region: region.to_owned(),
            config: Arc::new(config),
            sdk_config: None,
            sdk_attempts: 1,
        })
    }

    /// The same client for another allowed region (only for clients made by
    /// [`SsmExec::new`]).
    pub fn for_region(&self, region: &str) -> Result<SsmExec> {
        check_region(&self.config, region)?;
        let sdk_config = self.sdk_config.as_ref().ok_or(Error::NotConfigured {
            what: "an SDK configuration (client built with from_clients)",
        })?;
        let regional = sdk_config.to_builder().region(aws_config::Region::new(region.to_owned())).build();
        SsmExec::new(&regional, (*self.config).clone())
    }

    /// The region this client acts in.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn classify<E, R>(&self, call: aws_error::Call, error: aws_sdk_ssm::error::SdkError<E, R>) -> Error
    where
        E: aws_sdk_ssm::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        aws_error::classify(call, self.sdk_attempts, error)
    }
}

fn check_region(config: &Config, region: &str) -> Result<()> {
    if config.allowed_regions.iter().any(|allowed| allowed == region) {
        Ok(())
    } else {
        Err(Error::RegionNotAllowed {
            region: region.to_owned(),
            allowed: config.allowed_regions.clone(),
        })
    }
}
