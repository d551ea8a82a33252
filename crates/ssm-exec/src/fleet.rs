//! Collecting from every node of a cluster with one SendCommand.
//!
//! SSM is the distributed engine: the command targets the tag
//! `tag:eks:cluster-name=<cluster>` and SSM applies `MaxConcurrency` and
//! `MaxErrors` itself. This crate only waits for the command and then reads
//! each invocation's output.
//!
//! ```text
//! SendCommand(Targets=[tag:eks:cluster-name], MaxConcurrency, MaxErrors)
//!   -> poll ListCommands(CommandId) until Success | Failed | TimedOut | Cancelled
//!   -> ListCommandInvocations(CommandId)  (one per targeted instance)
//!   -> GetCommandInvocation + S3 per instance -> FleetItem { instance_id, result }
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_ssm::types::{CommandStatus, Target};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::artifact::Artifact;
use crate::aws_error::{self, Call};
use crate::collect::{CommandHandle, Collected, CANCEL_COMMAND, SEND_COMMAND};
use crate::config::invalid;
use crate::error::{Error, Result};
use crate::node::{validate_cluster_name, InstanceId, CLUSTER_NAME_TAG};
use crate::SsmExec;

const LIST_COMMANDS: Call = Call {
    operation: "ListCommands",
    permission: "ssm:ListCommands",
};
const LIST_COMMAND_INVOCATIONS: Call = Call {
    operation: "ListCommandInvocations",
    permission: "ssm:ListCommandInvocations",
};

/// How many output reads run at once after the command finished.
const OUTPUT_READERS: usize = 8;

/// An SSM rate limit: a number of instances or a percentage of the targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FleetLimit {
    /// A number of instances.
    Count(u32),
    /// A percentage of the targeted instances (0 to 100).
    Percent(u8),
}

impl fmt::Display for FleetLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FleetLimit::Count(count) => write!(f, "{count}"),
            FleetLimit::Percent(percent) => write!(f, "{percent}%"),
        }
    }
}

/// Options for [`SsmExec::collect_fleet`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetOptions {
    /// SSM `MaxConcurrency` (at least 1 instance or 1%).
    pub max_concurrency: FleetLimit,
    /// SSM `MaxErrors`: after this many failures SSM stops sending.
    pub max_errors: FleetLimit,
    /// Overrides the configured total wait.
    pub timeout: Option<Duration>,
    /// Overrides the configured cap on decoded bytes per node.
    pub max_output_bytes: Option<usize>,
}

impl Default for FleetOptions {
    fn default() -> FleetOptions {
        FleetOptions {
            max_concurrency: FleetLimit::Percent(25),
            max_errors: FleetLimit::Percent(25),
            timeout: None,
            max_output_bytes: None,
        }
    }
}

impl FleetOptions {
    fn validate(&self) -> Result<()> {
        match self.max_concurrency {
            FleetLimit::Count(1..=10_000) | FleetLimit::Percent(1..=100) => {}
            _ => return Err(invalid("max concurrency", "1 to 10000 instances or 1% to 100%")),
        }
        match self.max_errors {
            FleetLimit::Count(0..=10_000) | FleetLimit::Percent(0..=100) => Ok(()),
            _ => Err(invalid("max errors", "0 to 10000 instances or 0% to 100%")),
        }
    }
}

/// One node's outcome in a fleet collection.
#[derive(Debug)]
pub struct FleetItem {
    /// The node.
    pub instance_id: InstanceId,
    /// Its output, or why there is none.
    pub result: Result<Collected>,
}

/// The outcome of [`SsmExec::collect_fleet`].
#[derive(Debug)]
pub struct FleetCollected {
    /// SSM's command id.
    pub command_id: String,
    /// The command's final status (`Success`, `Failed`, `TimedOut`, …).
    pub status: String,
    /// How many instances SSM targeted.
    pub target_count: i32,
    /// How many invocations failed, as SSM counts them.
    pub error_count: i32,
    /// One item per invocation, sorted by instance id.
    pub items: Vec<FleetItem>,
}

impl SsmExec {
    /// Collects one artifact from every node tagged `eks:cluster-name=<cluster>`
    /// with one SendCommand, letting SSM pace it with `MaxConcurrency` and
    /// `MaxErrors`.
    pub async fn collect_fleet(&self, cluster: &str, artifact: Artifact, options: &FleetOptions, cancel: &CancellationToken) -> Result<FleetCollected> {
        validate_cluster_name(cluster)?;
        options.validate()?;
        let document = &self.config.document;
        let mut request = self
            .ssm
            .send_command()
            .document_name(&document.name)
            .document_version(&document.version)
            .targets(Target::builder().key(format!("tag:{CLUSTER_NAME_TAG}")).values(cluster).build())
            .max_concurrency(options.max_concurrency.to_string())
            .max_errors(options.max_errors.to_string())
            .set_parameters(Some(artifact.parameters()))
            .timeout_seconds(self.config.timeouts.delivery_seconds)
            .comment(format!("eks-node-diag fleet {}", artifact.name()));
        if let Some(output) = &self.config.output {
            request = request.output_s3_bucket_name(&output.bucket);
            if !output.prefix.is_empty() {
                request = request.output_s3_key_prefix(&output.prefix);
            }
        }
        let response = request.send().await.map_err(|error| self.classify(SEND_COMMAND, error))?;
        let command_id = response
            .command()
            .and_then(|command| command.command_id())
            .filter(|id| !id.is_empty())
            .ok_or_else(|| invalid("SendCommand response", "no command id"))?
            .to_owned();
        tracing::info!(command_id, cluster, artifact = artifact.name(), "sent fleet command");

        let timeout = options.timeout.unwrap_or(self.config.timeouts.command);
        let (status, target_count, error_count) = self.wait_command(&command_id, timeout, cancel).await?;
        let instance_ids = self.command_instances(&command_id).await?;

        let max_bytes = options.max_output_bytes.unwrap_or(self.config.max_output_bytes);
        let readers = Arc::new(Semaphore::new(OUTPUT_READERS));
        let mut reads = JoinSet::new();
        for instance_id in instance_ids {
            let exec = self.clone();
            let readers = Arc::clone(&readers);
            let cancel = cancel.clone();
            let handle = CommandHandle {
                command_id: command_id.clone(),
                instance_id,
                artifact,
                output: self.config.output.clone(),
            };
            reads.spawn(async move {
                let _permit = readers.acquire_owned().await;
                // The invocation has ended, so the first poll answers.
                let result = match exec.poll_invocation(&handle.command_id, &handle.instance_id, Duration::from_secs(60), &cancel).await {
                    Ok(finished) => exec.output_of(&handle, finished, max_bytes).await,
                    Err(error) => Err(error),
                };
                FleetItem {
                    instance_id: handle.instance_id,
                    result,
                }
            });
        }
        let mut items = Vec::new();
        while let Some(joined) = reads.join_next().await {
            match joined {
                Ok(item) => items.push(item),
                Err(join_error) => {
                    return Err(Error::Sdk {
                        operation: "GetCommandInvocation",
                        code: None,
                        message: format!("an output reader stopped: {join_error}"),
                        source: Box::new(join_error),
                    });
                }
            }
        }
        items.sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
        Ok(FleetCollected {
            command_id,
            status,
            target_count,
            error_count,
            items,
        })
    }

    /// Polls ListCommands until the command has ended.
    async fn wait_command(&self, command_id: &str, timeout: Duration, cancel: &CancellationToken) -> Result<(String, i32, i32)> {
        let deadline = Instant::now() + timeout;
        let mut delay = self.config.timeouts.poll_initial;
        let mut throttled = 0_u32;
        loop {
            let request = self.ssm.list_commands().command_id(command_id).send();
            let answer = tokio::select! {
                () = cancel.cancelled() => return Err(self.abandon_fleet(command_id, Error::Cancelled).await),
                () = tokio::time::sleep_until(deadline) => return Err(self.abandon_fleet(command_id, Error::Timeout { after: timeout }).await),
                answer = request => answer,
            };
            match answer {
                Ok(page) => {
                    throttled = 0;
                    if let Some(command) = page.commands().first() {
                        match command.status() {
                            Some(CommandStatus::Pending | CommandStatus::InProgress | CommandStatus::Cancelling) | None => {}
                            Some(status) => return Ok((status.as_str().to_owned(), command.target_count(), command.error_count())),
                        }
                    }
                }
                Err(error) if aws_error::is_throttling(aws_error::code(&error)) => {
                    throttled += 1;
                    if throttled > self.config.max_throttled_polls {
                        return Err(Error::Throttled {
                            operation: LIST_COMMANDS.operation,
                            attempts: throttled,
                        });
                    }
                }
                Err(error) => return Err(self.classify(LIST_COMMANDS, error)),
            }
            tokio::select! {
                () = cancel.cancelled() => return Err(self.abandon_fleet(command_id, Error::Cancelled).await),
                () = tokio::time::sleep_until(deadline) => return Err(self.abandon_fleet(command_id, Error::Timeout { after: timeout }).await),
                () = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(self.config.timeouts.poll_max);
        }
    }

    /// The instances a command was sent to.
    async fn command_instances(&self, command_id: &str) -> Result<Vec<InstanceId>> {
        let mut instance_ids = Vec::new();
        let mut next_token = None;
        loop {
            let page = self
                .ssm
                .list_command_invocations()
                .command_id(command_id)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|error| self.classify(LIST_COMMAND_INVOCATIONS, error))?;
            for invocation in page.command_invocations() {
                if let Some(id) = invocation.instance_id().and_then(|id| InstanceId::new(id).ok()) {
                    instance_ids.push(id);
                }
            }
            match page.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => break,
            }
        }
        instance_ids.sort();
        instance_ids.dedup();
        Ok(instance_ids)
    }

    async fn abandon_fleet(&self, command_id: &str, reason: Error) -> Error {
        let cancel = self.ssm.cancel_command().command_id(command_id).send();
        match tokio::time::timeout(Duration::from_secs(10), cancel).await {
            Ok(Ok(_)) => tracing::info!(command_id, "cancelled fleet command"),
            Ok(Err(error)) => tracing::warn!(command_id, error = %self.classify(CANCEL_COMMAND, error), "could not cancel fleet command"),
            Err(_) => tracing::warn!(command_id, "cancelling the fleet command timed out"),
        }
        reason
    }
}
