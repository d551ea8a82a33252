//! The error type: one variant per failure mode.
//!
//! A caller (the MCP server) decides what to tell a model from the variant
//! alone: `SsmOffline` means "the agent is down, try later or check the
//! node", `AccessDenied` names the IAM action to grant, `CommandFailed`
//! carries the exit code and the head of standard error. Output truncation
//! is not an error: it is [`Truncation`](crate::Truncation) in the result.

use std::time::Duration;

/// A boxed source error (an AWS SDK error, an IO error).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong between a request and the bytes it asked for.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A caller-supplied value failed validation before any AWS call.
    #[error("invalid {what}: {reason}")]
    InvalidInput {
        /// Which input (`instance id`, `node name`, `cluster name`, …).
        what: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// The region is not in the configured allow-list.
    #[error("region `{region}` is not allowed (allowed: {})", allowed.join(", "))]
    RegionNotAllowed {
        /// The region asked for (empty when none was configured).
        region: String,
        /// The configured allow-list.
        allowed: Vec<String>,
    },
    /// No EC2 instance matches the node reference.
    #[error("no EC2 instance matches {node}")]
    NotFound {
        /// The node reference as given.
        node: String,
    },
    /// More than one running instance matches a node name or IP.
    #[error("{node} matches several running instances: {}", instances.join(", "))]
    AmbiguousNode {
        /// The node reference as given.
        node: String,
        /// The matching instance ids.
        instances: Vec<String>,
    },
    /// The instance carries neither `eks:cluster-name` nor `kubernetes.io/cluster/<name>`.
    #[error("instance {instance_id} is not an EKS node (no eks:cluster-name or kubernetes.io/cluster/* tag)")]
    NotEksNode {
        /// The instance.
        instance_id: String,
    },
    /// The instance exists but is not running.
    #[error("instance {instance_id} is {state}, not running")]
    NotRunning {
        /// The instance.
        instance_id: String,
        /// The EC2 state name (`stopped`, `terminated`, …).
        state: String,
    },
    /// The instance is registered with SSM but its agent does not answer.
    #[error("the SSM agent on {instance_id} is not online (ping status {ping_status})")]
    SsmOffline {
        /// The instance.
        instance_id: String,
        /// SSM's ping status (`ConnectionLost`, `Inactive`).
        ping_status: String,
    },
    /// The instance is not a managed node of SSM in this region and account.
    #[error("instance {instance_id} is not managed by SSM (agent not registered, or no instance profile permissions)")]
    NotManaged {
        /// The instance.
        instance_id: String,
    },
    /// AWS refused a call for lack of permission.
    #[error("access denied: the caller lacks {permission}")]
    AccessDenied {
        /// The IAM action that was denied, e.g. `ssm:SendCommand`.
        permission: &'static str,
        /// AWS's message, which may name the principal and resource.
        message: String,
    },
    /// AWS kept throttling a call after the SDK's and this crate's retries.
    #[error("{operation} is throttled by AWS (gave up after {attempts} attempts)")]
    Throttled {
        /// The API operation.
        operation: &'static str,
        /// How many attempts were throttled in a row.
        attempts: u32,
    },
    /// The command, automation or wait did not finish in time.
    #[error("timed out after {}s", after.as_secs())]
    Timeout {
        /// How long was waited.
        after: Duration,
    },
    /// The command ran and failed.
    #[error("command failed with exit code {exit_code} (status {status}): {stderr_head}")]
    CommandFailed {
        /// The script's exit code (`-1` when SSM gives none).
        exit_code: i32,
        /// SSM's invocation status (`Failed`, `Undeliverable`, …).
        status: String,
        /// The first bytes of standard error, lossily decoded.
        stderr_head: String,
    },
    /// The command's output could not be decoded (not gzip + base64).
    #[error("cannot decode the command output: {reason}")]
    OutputDecode {
        /// What was wrong.
        reason: String,
    },
    /// The output object SSM should have written to S3 is not there.
    #[error("no command output at s3://{bucket}/{key}")]
    OutputMissing {
        /// The output bucket.
        bucket: String,
        /// The expected key.
        key: String,
    },
    /// The `AWSSupport-CollectEKSInstanceLogs` automation did not succeed.
    #[error("automation {execution_id} ended {status}: {reason}")]
    AutomationFailed {
        /// The automation execution id.
        execution_id: String,
        /// Its final status.
        status: String,
        /// SSM's failure message, or a step's.
        reason: String,
    },
    /// The automation succeeded but no archive for the node is in the bucket.
    #[error("no log bundle for {instance_id} in s3://{bucket}/{prefix}")]
    BundleNotFound {
        /// The instance.
        instance_id: String,
        /// The log bucket.
        bucket: String,
        /// The prefix searched.
        prefix: String,
    },
    /// Something this call needs is not configured.
    #[error("not configured: {what}")]
    NotConfigured {
        /// What is missing (`output bucket`, `automation role`, …).
        what: &'static str,
    },
    /// The caller cancelled the operation (a started command is cancelled too).
    #[error("cancelled")]
    Cancelled,
    /// Any other AWS failure.
    #[error("{operation} failed: {message}")]
    Sdk {
        /// The API operation.
        operation: &'static str,
        /// The AWS error code, when there is one.
        code: Option<String>,
        /// A one-line description.
        message: String,
        /// The SDK error.
        #[source]
        source: BoxError,
    },
}

/// Shorthand for this crate's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;
