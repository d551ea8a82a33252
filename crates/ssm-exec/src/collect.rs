//! Running the document on one node: SendCommand, polling, output retrieval.
//!
//! ```text
//! collect = require_online -> SendCommand(document, pinned version, instance, parameters)
//!           -> poll GetCommandInvocation (backoff; InvocationDoesNotExist at first)
//!           -> stdout inline, or s3://bucket/prefix/<command>/<instance>/awsrunShellScript/collect/stdout
//!           -> base64 -> gunzip -> bytes + Truncation
//! ```

use std::time::Duration;

use aws_sdk_ssm::types::CommandInvocationStatus;
use serde::Serialize;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::artifact::Artifact;
use crate::aws_error::{self, Call};
use crate::config::S3Location;
use crate::decode::{self, Truncation, INLINE_STDOUT_LIMIT};
use crate::error::{Error, Result};
use crate::node::{InstanceId, Node};
use crate::SsmExec;

/// The document's one step; SSM names S3 output after it.
pub const DOCUMENT_STEP_NAME: &str = "collect";
/// How much of standard error is kept in results and errors.
pub const STDERR_HEAD_BYTES: usize = 2048;

pub(crate) const SEND_COMMAND: Call = Call {
    operation: "SendCommand",
    permission: "ssm:SendCommand",
};
pub(crate) const GET_COMMAND_INVOCATION: Call = Call {
    operation: "GetCommandInvocation",
    permission: "ssm:GetCommandInvocation",
};
pub(crate) const CANCEL_COMMAND: Call = Call {
    operation: "CancelCommand",
    permission: "ssm:CancelCommand",
};
pub(crate) const GET_OBJECT: Call = Call {
    operation: "GetObject",
    permission: "s3:GetObject",
};

/// Per-call options for [`SsmExec::collect`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CollectOptions {
    /// Overrides the configured total wait.
    pub timeout: Option<Duration>,
    /// Overrides the configured cap on decoded bytes.
    pub max_output_bytes: Option<usize>,
}

/// A command sent to one node, not yet awaited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandHandle {
    /// SSM's command id.
    pub command_id: String,
    /// The node.
    pub instance_id: InstanceId,
    /// What was asked for.
    pub artifact: Artifact,
    /// Where SSM writes the full output, when configured.
    pub output: Option<S3Location>,
}

/// Where the returned bytes came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OutputSource {
    /// GetCommandInvocation's `StandardOutputContent`.
    Inline,
    /// The S3 object SSM wrote.
    S3 {
        /// The bucket.
        bucket: String,
        /// The object key.
        key: String,
    },
}

/// An artifact's raw bytes and how they were obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collected {
    /// The command's decoded standard output.
    pub bytes: Vec<u8>,
    /// Whether `bytes` is the whole output.
    pub truncated: Truncation,
    /// Inline or S3.
    pub source: OutputSource,
    /// SSM's command id (for audit: CloudTrail and the SSM console show it).
    pub command_id: String,
    /// The node.
    pub instance_id: InstanceId,
    /// What was collected.
    pub artifact: Artifact,
    /// The encoded size (base64 characters) SSM handed back.
    pub encoded_len: usize,
    /// The head of standard error (tools print warnings there even on success).
    pub stderr_head: String,
}

/// The finished invocation as GetCommandInvocation reports it.
#[derive(Debug, Clone)]
pub(crate) struct Finished {
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl SsmExec {
    /// Collects one artifact from one node: checks that its SSM agent is
    /// online, sends the pinned document, waits, and returns the decoded bytes.
    ///
    /// Cancelling `cancel` cancels the SSM command too (best effort).
    pub async fn collect(&self, node: &Node, artifact: Artifact, options: &CollectOptions, cancel: &CancellationToken) -> Result<Collected> {
        self.require_online(node).await?;
        let handle = self.send(node, artifact).await?;
        self.wait(&handle, options, cancel).await
    }

    /// Sends the document to a node without waiting (no reachability check;
    /// SSM answers `InvalidInstanceId` for an unmanaged node).
    pub async fn send(&self, node: &Node, artifact: Artifact) -> Result<CommandHandle> {
        let document = &self.config.document;
        let mut request = self
            .ssm
            .send_command()
            .document_name(&document.name)
            .document_version(&document.version)
            .instance_ids(node.instance_id.as_str())
            .set_parameters(Some(artifact.parameters()))
            .timeout_seconds(self.config.timeouts.delivery_seconds)
            .comment(format!("eks-node-diag {}", artifact.name()));
        if let Some(output) = &self.config.output {
            request = request.output_s3_bucket_name(&output.bucket);
            if !output.prefix.is_empty() {
                request = request.output_s3_key_prefix(&output.prefix);
            }
        }
        let response = request.send().await.map_err(|error| {
            // SSM's answer for an instance whose agent is not registered.
            if error.as_service_error().is_some_and(|e| e.is_invalid_instance_id()) || aws_error::code(&error) == Some("InvalidInstanceId") {
                Error::NotManaged {
                    instance_id: node.instance_id.to_string(),
                }
            } else {
                self.classify(SEND_COMMAND, error)
            }
        })?;
        let command_id = response
            .command()
            .and_then(|command| command.command_id())
            .filter(|id| !id.is_empty())
            .ok_or_else(|| Error::Sdk {
                operation: SEND_COMMAND.operation,
                code: None,
                message: "no command id in the response".to_owned(),
                source: "no command id".into(),
            })?;
        tracing::info!(command_id, instance_id = %node.instance_id, artifact = artifact.name(), "sent command");
        Ok(CommandHandle {
            command_id: command_id.to_owned(),
            instance_id: node.instance_id.clone(),
            artifact,
            output: self.config.output.clone(),
        })
    }

    /// Waits for a sent command and returns its output.
    pub async fn wait(&self, handle: &CommandHandle, options: &CollectOptions, cancel: &CancellationToken) -> Result<Collected> {
        let timeout = options.timeout.unwrap_or(self.config.timeouts.command);
        let finished = self.poll_invocation(&handle.command_id, &handle.instance_id, timeout, cancel).await?;
        let max_bytes = options.max_output_bytes.unwrap_or(self.config.max_output_bytes);
        self.output_of(handle, finished, max_bytes).await
    }

    /// Polls GetCommandInvocation until the invocation ends, the deadline
    /// passes (the command is then cancelled) or `cancel` fires.
    pub(crate) async fn poll_invocation(&self, command_id: &str, instance_id: &InstanceId, timeout: Duration, cancel: &CancellationToken) -> Result<Finished> {
        let started = Instant::now();
        let deadline = started + timeout;
        let mut delay = self.config.timeouts.poll_initial;
        let mut throttled = 0_u32;
        loop {
            let request = self.ssm.get_command_invocation().command_id(command_id).instance_id(instance_id.as_str()).send();
            let answer = tokio::select! {
                () = cancel.cancelled() => return Err(self.abandon(command_id, instance_id, Error::Cancelled).await),
                () = tokio::time::sleep_until(deadline) => return Err(self.abandon(command_id, instance_id, Error::Timeout { after: timeout }).await),
                answer = request => answer,
            };
            match answer {
                Ok(invocation) => {
                    throttled = 0;
                    let status = invocation.status().cloned().unwrap_or(CommandInvocationStatus::Pending);
                    let details = invocation.status_details().unwrap_or_default();
                    tracing::debug!(command_id, status = status.as_str(), details, "polled");
                    match status {
                        CommandInvocationStatus::Success => {
                            return Ok(Finished {
                                stdout: invocation.standard_output_content().unwrap_or_default().to_owned(),
                                stderr: invocation.standard_error_content().unwrap_or_default().to_owned(),
                            });
                        }
                        CommandInvocationStatus::Pending | CommandInvocationStatus::InProgress | CommandInvocationStatus::Delayed => {}
                        CommandInvocationStatus::Cancelled | CommandInvocationStatus::Cancelling => return Err(Error::Cancelled),
                        CommandInvocationStatus::TimedOut => {
                            return Err(match details {
                                // The agent never picked the command up.
                                "DeliveryTimedOut" => Error::SsmOffline {
                                    instance_id: instance_id.to_string(),
                                    ping_status: details.to_owned(),
                                },
                                _ => Error::Timeout { after: started.elapsed() },
                            });
                        }
                        _ if details == "Undeliverable" || details == "Terminated" => {
                            return Err(Error::SsmOffline {
                                instance_id: instance_id.to_string(),
                                ping_status: details.to_owned(),
                            });
                        }
                        other => {
                            return Err(Error::CommandFailed {
                                exit_code: invocation.response_code(),
                                status: if details.is_empty() { other.as_str().to_owned() } else { details.to_owned() },
                                stderr_head: head(invocation.standard_error_content().unwrap_or_default()),
                            });
                        }
                    }
                }
                // SSM needs a moment after SendCommand before the invocation exists.
                Err(error) if error.as_service_error().is_some_and(|e| e.is_invocation_does_not_exist()) || aws_error::code(&error) == Some("InvocationDoesNotExist") => {}
                Err(error) if aws_error::is_throttling(aws_error::code(&error)) => {
                    throttled += 1;
                    if throttled > self.config.max_throttled_polls {
                        return Err(Error::Throttled {
                            operation: GET_COMMAND_INVOCATION.operation,
                            attempts: throttled,
                        });
                    }
                }
                Err(error) => return Err(self.classify(GET_COMMAND_INVOCATION, error)),
            }
            tokio::select! {
                () = cancel.cancelled() => return Err(self.abandon(command_id, instance_id, Error::Cancelled).await),
                () = tokio::time::sleep_until(deadline) => return Err(self.abandon(command_id, instance_id, Error::Timeout { after: timeout }).await),
                () = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(self.config.timeouts.poll_max);
        }
    }

    /// Cancels a command we stopped waiting for, so it does not keep running
    /// unobserved, and returns `reason`. A failure to cancel is logged only.
    async fn abandon(&self, command_id: &str, instance_id: &InstanceId, reason: Error) -> Error {
        let cancel = self.ssm.cancel_command().command_id(command_id).instance_ids(instance_id.as_str()).send();
        match tokio::time::timeout(Duration::from_secs(10), cancel).await {
            Ok(Ok(_)) => tracing::info!(command_id, "cancelled command"),
            Ok(Err(error)) => tracing::warn!(command_id, error = %self.classify(CANCEL_COMMAND, error), "could not cancel command"),
            Err(_) => tracing::warn!(command_id, "cancelling the command timed out"),
        }
        reason
    }

    /// Decodes the output, from S3 when the inline copy is cut or empty and an
    /// output bucket is configured.
    pub(crate) async fn output_of(&self, handle: &CommandHandle, finished: Finished, max_bytes: usize) -> Result<Collected> {
        let inline_cut = finished.stdout.len() >= INLINE_STDOUT_LIMIT;
        let inline_empty = finished.stdout.trim().is_empty();
        let mut source = OutputSource::Inline;
        let mut encoded = finished.stdout.into_bytes();
        if let Some(output) = handle.output.as_ref().filter(|_| inline_cut || inline_empty) {
            let key = output.key(&format!("{}/{}/awsrunShellScript/{DOCUMENT_STEP_NAME}/stdout", handle.command_id, handle.instance_id));
            match self.read_object(&output.bucket, &key).await {
                Ok(object) => {
                    encoded = object;
                    source = OutputSource::S3 {
                        bucket: output.bucket.clone(),
                        key,
                    };
                }
                // Without the object, fall back to the cut inline copy, and
                // say it is cut; with nothing inline either, it is an error.
                Err(Error::OutputMissing { .. }) if !inline_empty => {
                    tracing::warn!(bucket = %output.bucket, key, "no S3 output; using the cut inline output");
                }
                Err(error) => return Err(error),
            }
        }
        let decoded = decode::decode_output(&encoded, max_bytes)?;
        let truncated = if decoded.capped {
            Truncation::SizeCap { max_bytes }
        } else if !decoded.incomplete {
            Truncation::None
        } else if source == OutputSource::Inline && inline_cut {
            Truncation::InlineLimit {
                limit_chars: INLINE_STDOUT_LIMIT,
                received_chars: encoded.len(),
            }
        } else {
            Truncation::StreamEnded
        };
        if truncated.is_truncated() {
            tracing::warn!(command_id = handle.command_id, ?truncated, "output truncated");
        }
        Ok(Collected {
            bytes: decoded.bytes,
            truncated,
            source,
            command_id: handle.command_id.clone(),
            instance_id: handle.instance_id.clone(),
            artifact: handle.artifact,
            encoded_len: encoded.len(),
            stderr_head: head(&finished.stderr),
        })
    }

    /// Reads a whole S3 object.
    pub(crate) async fn read_object(&self, bucket: &str, key: &str) -> Result<Vec<u8>> {
        let object = self.s3.get_object().bucket(bucket).key(key).send().await.map_err(|error| {
            if error.as_service_error().is_some_and(|e| e.is_no_such_key()) || matches!(aws_error::code(&error), Some("NoSuchKey" | "NotFound")) {
                Error::OutputMissing {
                    bucket: bucket.to_owned(),
                    key: key.to_owned(),
                }
            } else {
                self.classify(GET_OBJECT, error)
            }
        })?;
        let body = object.body.collect().await.map_err(|error| Error::Sdk {
            operation: GET_OBJECT.operation,
            code: None,
            message: format!("reading the body: {error}"),
            source: Box::new(error),
        })?;
        Ok(body.into_bytes().to_vec())
    }
}

/// The first [`STDERR_HEAD_BYTES`] of a text, cut at a character boundary.
pub(crate) fn head(text: &str) -> String {
    if text.len() <= STDERR_HEAD_BYTES {
        return text.to_owned();
    }
    let mut end = STDERR_HEAD_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}
