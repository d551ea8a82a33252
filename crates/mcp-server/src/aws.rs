//! Collection from live nodes through `ssm-exec`, and the mapping of its
//! errors to messages safe to show a model.
//!
//! Errors a caller can act on (a malformed node reference, a node that is not
//! an EKS node, an offline SSM agent, a missing configuration) are shown as
//! `ssm-exec` words them; they name the node the caller gave and nothing
//! else. Errors that can carry AWS detail (SDK failures with request ids,
//! automation failures with ARNs, access denials naming roles) are logged
//! with the full chain and answered with their kind only.

use std::future::Future;
use std::pin::Pin;

use node_bundle::{BundleFiles, Limits};
use ssm_exec::{BundleConfig, Config, DocumentRef, NodeRef, SsmExec};
use tokio_util::sync::CancellationToken;

use crate::server::Collector;

/// Settings for AWS collection, from the command line.
#[derive(Debug, Clone)]
pub struct AwsSettings {
    /// The region (also the only allowed one).
    pub region: String,
    /// The EKS cluster the nodes belong to, when named.
    pub cluster: Option<String>,
    /// The bucket `AWSSupport-CollectEKSInstanceLogs` uploads to.
    pub bundle_bucket: Option<String>,
    /// The automation's assume-role ARN.
    pub automation_role: Option<String>,
    /// Size limits for the collected archive.
    pub limits: Limits,
}

/// A [`Collector`] over `ssm-exec`.
pub struct SsmCollector {
    client: SsmExec,
    limits: Limits,
}

impl SsmCollector {
    /// Loads AWS credentials from the environment and builds the client.
    pub async fn connect(settings: &AwsSettings) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let sdk_config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(settings.region.clone()))
            .load()
            .await;
        let mut config = Config::new(
            vec![settings.region.clone()],
            DocumentRef::new(ssm_exec::DEFAULT_DOCUMENT_NAME, "1").context("document reference")?,
        );
        if let (Some(bucket), Some(role)) = (&settings.bundle_bucket, &settings.automation_role) {
            config.bundle = Some(BundleConfig {
                bucket: bucket.clone(),
                automation_assume_role_arn: role.clone(),
            });
        }
        let client = SsmExec::new(&sdk_config, config).context("configuring ssm-exec")?;
        Ok(Self {
            client,
            limits: settings.limits,
        })
    }

    async fn collect_files(
        &self,
        node: &str,
        cancel: &CancellationToken,
    ) -> Result<BundleFiles, String> {
        let node_ref = NodeRef::parse(node).map_err(safe_error)?;
        let node = self
            .client
            .resolve_node(&node_ref)
            .await
            .map_err(safe_error)?;
        self.client
            .require_online(&node)
            .await
            .map_err(safe_error)?;
        let bundle = self
            .client
            .collect_bundle(&node, cancel)
            .await
            .map_err(safe_error)?;
        let name = bundle
            .key
            .rsplit('/')
            .next()
            .unwrap_or("bundle.tar.gz")
            .to_owned();
        let max = usize::try_from(self.limits.max_total_bytes).unwrap_or(usize::MAX);
        let bytes = bundle.bytes(max).await.map_err(safe_error)?;
        node_bundle::read_tar_gz(bytes.as_slice(), Some(name), &self.limits).map_err(|error| {
            tracing::error!(error = %error, "collected bundle unreadable");
            format!("the collected bundle could not be read: {error}")
        })
    }
}

impl Collector for SsmCollector {
    fn collect(
        &self,
        node: String,
        cancel: CancellationToken,
    ) -> Pin<Box<dyn Future<Output = Result<BundleFiles, String>> + Send + '_>> {
        Box::pin(async move { self.collect_files(&node, &cancel).await })
    }
}

/// The message a client sees for an `ssm-exec` error; the full chain goes
/// to the log.
pub fn safe_error(error: ssm_exec::Error) -> String {
    use ssm_exec::Error as E;
    tracing::error!(error = ?error, "ssm-exec failed");
    match &error {
        E::InvalidInput { .. } => format!("{error}; pass an instance id (i-…), a node name or a private IP"),
        E::NotFound { .. } | E::AmbiguousNode { .. } => {
            format!("{error}; check the node name or pass its instance id")
        }
        E::NotEksNode { .. } | E::NotRunning { .. } | E::SsmOffline { .. } | E::NotManaged { .. } => error.to_string(),
        E::RegionNotAllowed { .. } | E::NotConfigured { .. } => error.to_string(),
        E::Cancelled => "cancelled".to_owned(),
        E::Timeout { .. } => "the collection timed out; try again later or use an existing bundle".to_owned(),
        E::Throttled { .. } => "AWS throttled the requests; try again in a minute".to_owned(),
        E::AccessDenied { .. } => {
            "the server's AWS role lacks a permission for this collection (details in the server log)".to_owned()
        }
        _ => "the collection failed in AWS (details in the server log)".to_owned(),
    }
}
