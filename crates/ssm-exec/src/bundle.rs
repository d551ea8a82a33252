//! The full EKS log bundle through `AWSSupport-CollectEKSInstanceLogs`.
//!
//! The AWS-owned automation runs `eks-log-collector.sh` on the node and
//! uploads `eks_<instance-id>_<timestamp>…tar.gz` to the `LogDestination`
//! bucket. This crate starts it, follows it, finds the archive and returns
//! it as a stream, without buffering the (often hundreds of MB) archive.
//!
//! ```text
//! StartAutomationExecution(AWSSupport-CollectEKSInstanceLogs,
//!                          EKSInstanceId, LogDestination, AutomationAssumeRole)
//!   -> poll GetAutomationExecution until Success | Failed | TimedOut | Cancelled …
//!   -> archive key: from the automation outputs when one names it, else the
//!      newest `eks_<instance-id>*` object written since the start
//!   -> GetObject -> Bundle { body: ByteStream }
//! ```

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_ssm::types::AutomationExecutionStatus;
use aws_smithy_types::byte_stream::ByteStream;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::aws_error::{self, Call};
use crate::collect::GET_OBJECT;
use crate::error::{Error, Result};
use crate::node::Node;
use crate::SsmExec;

/// The AWS-owned automation runbook that collects the EKS log bundle.
pub const BUNDLE_AUTOMATION_DOCUMENT: &str = "AWSSupport-CollectEKSInstanceLogs";

const START_AUTOMATION_EXECUTION: Call = Call {
    operation: "StartAutomationExecution",
    permission: "ssm:StartAutomationExecution",
};
const GET_AUTOMATION_EXECUTION: Call = Call {
    operation: "GetAutomationExecution",
    permission: "ssm:GetAutomationExecution",
};
const STOP_AUTOMATION_EXECUTION: Call = Call {
    operation: "StopAutomationExecution",
    permission: "ssm:StopAutomationExecution",
};
const LIST_OBJECTS: Call = Call {
    operation: "ListObjectsV2",
    permission: "s3:ListBucket",
};

/// A log bundle archive in S3, with its body as a stream.
#[derive(Debug)]
pub struct Bundle {
    /// The automation execution id (for audit).
    pub execution_id: String,
    /// The bucket.
    pub bucket: String,
    /// The archive's key.
    pub key: String,
    /// The archive's size in bytes, when S3 reports it.
    pub size: Option<i64>,
    /// The archive, streamed from S3 (`into_async_read()` gives a tokio reader).
    pub body: ByteStream,
}

impl Bundle {
    /// Reads the whole archive, failing past `max_bytes`.
    pub async fn bytes(self, max_bytes: usize) -> Result<Vec<u8>> {
        if self.size.is_some_and(|size| usize::try_from(size).map_or(true, |size| size > max_bytes)) {
            return Err(Error::InvalidInput {
                what: "bundle",
                reason: format!("the archive is larger than {max_bytes} bytes; stream it instead"),
            });
        }
        let data = self.body.collect().await.map_err(|error| Error::Sdk {
            operation: GET_OBJECT.operation,
            code: None,
            message: format!("reading the bundle: {error}"),
            source: Box::new(error),
        })?;
        Ok(data.into_bytes().to_vec())
    }
}

impl SsmExec {
    /// Runs `AWSSupport-CollectEKSInstanceLogs` on a node, waits for it, and
    /// returns the archive it uploaded as a stream.
    pub async fn collect_bundle(&self, node: &Node, cancel: &CancellationToken) -> Result<Bundle> {
        let bundle_config = self.config.bundle.as_ref().ok_or(Error::NotConfigured {
            what: "bundle bucket and automation role",
        })?;
        let started_at = aws_smithy_types::DateTime::from(std::time::SystemTime::now());
        let parameters = HashMap::from([
            ("EKSInstanceId".to_owned(), vec![node.instance_id.to_string()]),
            ("LogDestination".to_owned(), vec![bundle_config.bucket.clone()]),
            ("AutomationAssumeRole".to_owned(), vec![bundle_config.automation_assume_role_arn.clone()]),
        ]);
        let started = self
            .ssm
            .start_automation_execution()
            .document_name(BUNDLE_AUTOMATION_DOCUMENT)
            .set_parameters(Some(parameters))
            .send()
            .await
            .map_err(|error| self.classify(START_AUTOMATION_EXECUTION, error))?;
        let execution_id = started
            .automation_execution_id()
            .filter(|id| !id.is_empty())
            .ok_or_else(|| Error::InvalidInput {
                what: "StartAutomationExecution response",
                reason: "no execution id".to_owned(),
            })?
            .to_owned();
        tracing::info!(execution_id, instance_id = %node.instance_id, "started log bundle automation");

        let outputs = self.wait_automation(&execution_id, cancel).await?;
        let bucket = bundle_config.bucket.clone();
        let named = outputs.iter().find_map(|value| archive_key_in(value, &bucket, node.instance_id.as_str()));
        let key = match named {
            Some(key) => key,
            None => self.newest_archive(&bucket, node.instance_id.as_str(), started_at).await?,
        };
        let object = self.s3.get_object().bucket(&bucket).key(&key).send().await.map_err(|error| {
            if error.as_service_error().is_some_and(|e| e.is_no_such_key()) || aws_error::code(&error) == Some("NoSuchKey") {
                Error::BundleNotFound {
                    instance_id: node.instance_id.to_string(),
                    bucket: bucket.clone(),
                    prefix: key.clone(),
                }
            } else {
                self.classify(GET_OBJECT, error)
            }
        })?;
        Ok(Bundle {
            execution_id,
            size: object.content_length(),
            body: object.body,
            bucket,
            key,
        })
    }

    /// Polls GetAutomationExecution until it ends; returns the output values.
    async fn wait_automation(&self, execution_id: &str, cancel: &CancellationToken) -> Result<Vec<String>> {
        let timeout = self.config.timeouts.automation;
        let deadline = Instant::now() + timeout;
        let mut delay = self.config.timeouts.poll_initial;
        let mut throttled = 0_u32;
        loop {
            let request = self.ssm.get_automation_execution().automation_execution_id(execution_id).send();
            let answer = tokio::select! {
                () = cancel.cancelled() => return Err(self.stop_automation(execution_id, Error::Cancelled).await),
                () = tokio::time::sleep_until(deadline) => return Err(self.stop_automation(execution_id, Error::Timeout { after: timeout }).await),
                answer = request => answer,
            };
            match answer {
                Ok(found) => {
                    throttled = 0;
                    let Some(execution) = found.automation_execution() else {
                        return Err(Error::InvalidInput {
                            what: "GetAutomationExecution response",
                            reason: "no execution".to_owned(),
                        });
                    };
                    let status = execution.automation_execution_status().cloned().unwrap_or(AutomationExecutionStatus::Pending);
                    tracing::debug!(execution_id, status = status.as_str(), "polled automation");
                    match status {
                        AutomationExecutionStatus::Success | AutomationExecutionStatus::CompletedWithSuccess => {
                            let outputs = execution.outputs().map(|outputs| outputs.values().flatten().cloned().collect()).unwrap_or_default();
                            return Ok(outputs);
                        }
                        AutomationExecutionStatus::Failed
                        | AutomationExecutionStatus::Timedout
                        | AutomationExecutionStatus::Cancelled
                        | AutomationExecutionStatus::Rejected
                        | AutomationExecutionStatus::CompletedWithFailure
                        | AutomationExecutionStatus::Exited
                        | AutomationExecutionStatus::ChangeCalendarOverrideRejected => {
                            let step_failure = execution
                                .step_executions()
                                .iter()
                                .find_map(|step| step.failure_message().map(|message| format!("step {}: {message}", step.step_name().unwrap_or("?"))));
                            let reason = execution
                                .failure_message()
                                .map(str::to_owned)
                                .or(step_failure)
                                .unwrap_or_else(|| "no failure message".to_owned());
                            return Err(Error::AutomationFailed {
                                execution_id: execution_id.to_owned(),
                                status: status.as_str().to_owned(),
                                reason,
                            });
                        }
                        _ => {}
                    }
                }
                Err(error) if aws_error::is_throttling(aws_error::code(&error)) => {
                    throttled += 1;
                    if throttled > self.config.max_throttled_polls {
                        return Err(Error::Throttled {
                            operation: GET_AUTOMATION_EXECUTION.operation,
                            attempts: throttled,
                        });
                    }
                }
                Err(error) => return Err(self.classify(GET_AUTOMATION_EXECUTION, error)),
            }
            tokio::select! {
                () = cancel.cancelled() => return Err(self.stop_automation(execution_id, Error::Cancelled).await),
                () = tokio::time::sleep_until(deadline) => return Err(self.stop_automation(execution_id, Error::Timeout { after: timeout }).await),
                () = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(self.config.timeouts.poll_max);
        }
    }

    async fn stop_automation(&self, execution_id: &str, reason: Error) -> Error {
        let stop = self.ssm.stop_automation_execution().automation_execution_id(execution_id).send();
        match tokio::time::timeout(Duration::from_secs(10), stop).await {
            Ok(Ok(_)) => tracing::info!(execution_id, "stopped automation"),
            Ok(Err(error)) => tracing::warn!(execution_id, error = %self.classify(STOP_AUTOMATION_EXECUTION, error), "could not stop automation"),
            Err(_) => tracing::warn!(execution_id, "stopping the automation timed out"),
        }
        reason
    }

    /// The newest `eks_<instance-id>…` archive written since `since` (with a
    /// minute of clock skew allowed).
    async fn newest_archive(&self, bucket: &str, instance_id: &str, since: aws_smithy_types::DateTime) -> Result<String> {
        let prefix = format!("eks_{instance_id}");
        let not_before = since.secs() - 60;
        let mut best: Option<(i64, String)> = None;
        let mut continuation = None;
        loop {
            let page = self
                .s3
                .list_objects_v2()
                .bucket(bucket)
                .prefix(&prefix)
                .set_continuation_token(continuation.take())
                .send()
                .await
                .map_err(|error| self.classify(LIST_OBJECTS, error))?;
            for object in page.contents() {
                let (Some(key), Some(modified)) = (object.key(), object.last_modified()) else {
                    continue;
                };
                if is_archive(key) && modified.secs() >= not_before && best.as_ref().is_none_or(|(secs, _)| modified.secs() > *secs) {
                    best = Some((modified.secs(), key.to_owned()));
                }
            }
            match page.next_continuation_token() {
                Some(token) if page.is_truncated() == Some(true) => continuation = Some(token.to_owned()),
                _ => break,
            }
        }
        best.map(|(_, key)| key).ok_or_else(|| Error::BundleNotFound {
            instance_id: instance_id.to_owned(),
            bucket: bucket.to_owned(),
            prefix,
        })
    }
}

fn is_archive(key: &str) -> bool {
    key.ends_with(".tar.gz") || key.ends_with(".tgz")
}

/// An archive key named in an automation output (`s3://bucket/key`, or a bare
/// key), only if it is in our bucket and names this instance.
fn archive_key_in(value: &str, bucket: &str, instance_id: &str) -> Option<String> {
    value.split_whitespace().find_map(|word| {
        let word = word.trim_matches(|c: char| matches!(c, '"' | '\'' | ',' | '.' | ')' | '('));
        let key = match word.strip_prefix("s3://") {
            Some(rest) => rest.strip_prefix(bucket)?.strip_prefix('/')?,
            None => word,
        };
        let file_name = key.rsplit('/').next()?;
        (file_name.starts_with(&format!("eks_{instance_id}")) && is_archive(file_name) && !key.contains("..")).then(|| key.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_keys_from_outputs() {
        let id = "i-0123456789abcdef0";
        assert_eq!(
            archive_key_in("Logs uploaded to s3://diag-logs/eks_i-0123456789abcdef0_2025-01-01_1200-UTC_0.7.6.tar.gz", "diag-logs", id).as_deref(),
            Some("eks_i-0123456789abcdef0_2025-01-01_1200-UTC_0.7.6.tar.gz")
        );
        assert_eq!(
            archive_key_in("eks_i-0123456789abcdef0_x.tgz", "diag-logs", id).as_deref(),
            Some("eks_i-0123456789abcdef0_x.tgz")
        );
        // Another bucket, another instance, or not an archive: ignored.
        assert_eq!(archive_key_in("s3://other/eks_i-0123456789abcdef0_x.tar.gz", "diag-logs", id), None);
        assert_eq!(archive_key_in("s3://diag-logs/eks_i-0aaaaaaaaaaaaaaaa_x.tar.gz", "diag-logs", id), None);
        assert_eq!(archive_key_in("s3://diag-logs/eks_i-0123456789abcdef0_x.log", "diag-logs", id), None);
        assert_eq!(archive_key_in("Success", "diag-logs", id), None);
    }
}
