//! Configuration: region allow-list, pinned document, output bucket, timeouts.

use std::time::Duration;

use serde::Serialize;

use crate::error::{Error, Result};

/// The project's SSM document name as [`ensure_document`](crate::SsmExec::ensure_document) creates it by default.
pub const DEFAULT_DOCUMENT_NAME: &str = "EksNodeDiag-Collect";

/// What the client may do and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Regions the client may act in; the SDK config's region must be one.
    pub allowed_regions: Vec<String>,
    /// The SSM document and the pinned version used for every SendCommand.
    pub document: DocumentRef,
    /// Where SSM writes full command output (`OutputS3BucketName`), read back
    /// when the inline output is cut. Without it, long output is truncated.
    pub output: Option<S3Location>,
    /// What the full-bundle collection needs; `None` disables it.
    pub bundle: Option<BundleConfig>,
    /// Polling and waiting limits.
    pub timeouts: Timeouts,
    /// How many throttled polls in a row are tolerated before giving up.
    pub max_throttled_polls: u32,
    /// The most decoded output bytes kept per node (a guard against a
    /// decompression bomb and against exhausting the server's memory).
    pub max_output_bytes: usize,
}

impl Config {
    /// A configuration with the default limits, no output bucket and no bundle.
    pub fn new(allowed_regions: Vec<String>, document: DocumentRef) -> Config {
        Config {
            allowed_regions,
            document,
            output: None,
            bundle: None,
            timeouts: Timeouts::default(),
            max_throttled_polls: 8,
            max_output_bytes: 256 * 1024 * 1024,
        }
    }

    /// Checks every field (names, bucket, bounds).
    pub fn validate(&self) -> Result<()> {
        if self.allowed_regions.is_empty() {
            return Err(invalid("allowed regions", "the allow-list is empty"));
        }
        for region in &self.allowed_regions {
            validate_region(region)?;
        }
        self.document.validate()?;
        if let Some(output) = &self.output {
            output.validate()?;
        }
        if let Some(bundle) = &self.bundle {
            bundle.validate()?;
        }
        if self.timeouts.poll_initial.is_zero() || self.timeouts.poll_max < self.timeouts.poll_initial {
            return Err(invalid("timeouts", "poll_initial must be > 0 and <= poll_max"));
        }
        if self.max_output_bytes == 0 {
            return Err(invalid("max_output_bytes", "must be > 0"));
        }
        Ok(())
    }
}

/// An SSM document name and the version pinned for sending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocumentRef {
    /// Document name (`[A-Za-z0-9_.-]{3,128}`).
    pub name: String,
    /// A numeric document version, as returned by
    /// [`ensure_document`](crate::SsmExec::ensure_document). Never `$LATEST`:
    /// what runs must be the reviewed version, not whatever was uploaded last.
    pub version: String,
}

impl DocumentRef {
    /// Builds and validates a reference.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Result<DocumentRef> {
        let document = DocumentRef {
            name: name.into(),
            version: version.into(),
        };
        document.validate()?;
        Ok(document)
    }

    fn validate(&self) -> Result<()> {
        validate_document_name(&self.name)?;
        let version = self.version.as_bytes();
        if version.is_empty() || version.len() > 9 || version[0] == b'0' || !version.iter().all(u8::is_ascii_digit) {
            return Err(invalid("document version", "must be a pinned number such as `3`"));
        }
        Ok(())
    }
}

/// An S3 bucket and key prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct S3Location {
    /// Bucket name.
    pub bucket: String,
    /// Key prefix without leading or trailing `/` (may be empty).
    pub prefix: String,
}

impl S3Location {
    /// Builds and validates a location; slashes around the prefix are trimmed.
    pub fn new(bucket: impl Into<String>, prefix: impl Into<String>) -> Result<S3Location> {
        let location = S3Location {
            bucket: bucket.into(),
            prefix: prefix.into().trim_matches('/').to_owned(),
        };
        location.validate()?;
        Ok(location)
    }

    fn validate(&self) -> Result<()> {
        validate_bucket(&self.bucket)?;
        if self.prefix.len() > 500 || self.prefix.starts_with('/') || self.prefix.ends_with('/') || self.prefix.chars().any(char::is_control) {
            return Err(invalid("S3 prefix", "at most 500 characters, no control characters, no leading or trailing `/`"));
        }
        Ok(())
    }

    /// `prefix/rest`, or `rest` when the prefix is empty.
    pub(crate) fn key(&self, rest: &str) -> String {
        if self.prefix.is_empty() {
            rest.to_owned()
        } else {
            format!("{}/{rest}", self.prefix)
        }
    }
}

/// What `AWSSupport-CollectEKSInstanceLogs` needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BundleConfig {
    /// The bucket the node uploads its archive to (`LogDestination`).
    pub bucket: String,
    /// The role the automation assumes (`AutomationAssumeRole`).
    pub automation_assume_role_arn: String,
}

impl BundleConfig {
    fn validate(&self) -> Result<()> {
        validate_bucket(&self.bucket)?;
        let arn = &self.automation_assume_role_arn;
        let ok = arn.starts_with("arn:")
            && arn.contains(":iam::")
            && arn.contains(":role/")
            && arn.len() <= 2048
            && arn.bytes().all(|b| b.is_ascii_graphic());
        if !ok {
            return Err(invalid("automation role", "must be an IAM role ARN"));
        }
        Ok(())
    }
}

/// Polling and waiting limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Total time to wait for one command (send to output).
    pub command: Duration,
    /// Total time to wait for the log-bundle automation.
    pub automation: Duration,
    /// First delay between polls.
    pub poll_initial: Duration,
    /// Longest delay between polls (the delay doubles up to this).
    pub poll_max: Duration,
    /// SendCommand `TimeoutSeconds`: how long SSM tries to deliver the command
    /// to an agent that is not connected (30 to 2,592,000 seconds).
    pub delivery_seconds: i32,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            command: Duration::from_secs(180),
            automation: Duration::from_secs(30 * 60),
            poll_initial: Duration::from_millis(500),
            poll_max: Duration::from_secs(5),
            delivery_seconds: 60,
        }
    }
}

pub(crate) fn invalid(what: &'static str, reason: impl Into<String>) -> Error {
    Error::InvalidInput {
        what,
        reason: reason.into(),
    }
}

/// `us-west-2`, `ap-southeast-1`, `us-gov-west-1`, `cn-north-1`.
pub(crate) fn validate_region(region: &str) -> Result<()> {
    let ok = (4..=32).contains(&region.len())
        && region.split('-').count() >= 3
        && region.split('-').all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err(invalid("region", format!("`{}` is not a region name", region.escape_debug())))
    }
}

fn validate_document_name(name: &str) -> Result<()> {
    let ok = (3..=128).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && !name.starts_with("AWS")
        && !name.starts_with("aws")
        && !name.starts_with("Amazon");
    if ok {
        Ok(())
    } else {
        Err(invalid("document name", "3 to 128 of [A-Za-z0-9_.-], not starting with aws, AWS or Amazon"))
    }
}

/// S3 bucket naming rules (the common subset).
pub(crate) fn validate_bucket(bucket: &str) -> Result<()> {
    let bytes = bucket.as_bytes();
    let ok = (3..=63).contains(&bytes.len())
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-'))
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && !bucket.contains("..");
    if ok {
        Ok(())
    } else {
        Err(invalid("bucket", format!("`{}` is not a valid bucket name", bucket.escape_debug())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_versions_are_pinned_numbers() {
        for good in ["1", "12", "999999999"] {
            assert!(DocumentRef::new("EksNodeDiag-Collect", good).is_ok(), "{good}");
        }
        for bad in ["", "0", "01", "$LATEST", "$DEFAULT", "1\n", "1.0", "1234567890"] {
            assert!(DocumentRef::new("EksNodeDiag-Collect", bad).is_err(), "{bad:?}");
        }
        for bad in ["ab", "AWS-RunShellScript", "a b c", "doc\n", &"x".repeat(129)] {
            assert!(DocumentRef::new(bad, "1").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn buckets_and_regions() {
        assert!(S3Location::new("my-diag.bucket1", "/eks/out/").is_ok_and(|l| l.prefix == "eks/out"));
        for bad in ["ab", "My-Bucket", "-bucket", "bucket-", "a..b", "bucket\n", &"b".repeat(64)] {
            assert!(validate_bucket(bad).is_err(), "{bad:?}");
        }
        for good in ["us-west-2", "ap-southeast-1", "us-gov-west-1", "cn-north-1"] {
            assert!(validate_region(good).is_ok(), "{good}");
        }
        for bad in ["", "us", "us-west-2\n", "US-WEST-2", "us--2", "us-west-2/../x"] {
            assert!(validate_region(bad).is_err(), "{bad:?}");
        }
    }
}
