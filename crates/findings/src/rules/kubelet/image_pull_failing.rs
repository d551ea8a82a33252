//! JRN007: images cannot be pulled.

use std::collections::BTreeMap;

use node_artifacts::journald::{Entry, Journal};
use node_artifacts::snapshot::Artifact;

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Finding, Subject};
use crate::journal_index::Needles;
use crate::rules::kubelet::util;
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Flags container images that kubelet or containerd failed to pull:
    /// one finding per image reference, with the number of failures and the
    /// likely reason.
    ///
    /// ## Why is this bad?
    /// A pod whose image cannot be pulled stays in `ErrImagePull` /
    /// `ImagePullBackOff` and never starts. Common causes on EKS: the tag
    /// does not exist, ECR permissions missing on the node role
    /// (`AmazonEC2ContainerRegistryReadOnly`), no route to the registry
    /// (private subnet without NAT or VPC endpoints), registry rate limits
    /// (Docker Hub 429), or a full disk.
    ///
    /// ## Evidence
    /// kubelet's `"PullImage from image service failed" image="…"` lines and
    /// `ErrImagePull`/`ImagePullBackOff` errors, and containerd's
    /// `PullImage "…" failed` / `failed to pull and unpack image "…"` lines;
    /// the image reference comes from the `image` field, else from the
    /// quoted reference after `image`. A back-off line counts as an
    /// occurrence of the same image.
    ///
    /// ## Severity
    /// Medium; high when the pulls keep failing for more than ten minutes.
    ///
    /// ## Example
    /// ```text
    /// containerd: level=error msg="PullImage \"111122223333.dkr.ecr.us-west-2.amazonaws.com/shop/cart:v9\" failed" error="… not found"
    /// ```
    ///
    /// ## Remediation
    /// Check the reference and tag, the node role's ECR permissions, the
    /// route to the registry (NAT gateway, `ecr.api`/`ecr.dkr`/S3 VPC
    /// endpoints), image pull secrets for private registries, and disk
    /// space under `/var/lib/containerd`.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/containers/images/#imagepullbackoff>
    /// - <https://repost.aws/knowledge-center/eks-ecr-troubleshooting>
    pub(crate) static META = {
        code: "JRN007",
        name: "ImagePullFailing",
        group: Kubelet,
        default_severity: Medium,
        since: "0.1.0",
    }
}

/// JRN007.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::KubeletJournal],
    check,
};

/// Pull failures lasting longer than this are persistent.
const PERSISTENT_MINUTES: i64 = 10;

/// The image reference after one of the phrases that introduce it, with any
/// layer of quoting and escaping removed.
fn image_after_phrase(text: &str) -> Option<&str> {
    for phrase in [
        "pull and unpack image ",
        "pulling image ",
        "PullImage ",
        "image ",
    ] {
        for (at, _) in text.match_indices(phrase) {
            let rest = text[at + phrase.len()..].trim_start_matches(['\\', '"']);
            let end = rest.find(['\\', '"', ' ', ',']).unwrap_or(rest.len());
            let reference = &rest[..end];
            // A reference has a registry or repository path, a tag or a digest.
            if reference.len() > 2 && (reference.contains('/') || reference.contains(':')) {
                return Some(reference);
            }
        }
    }
    None
}

/// The image and whether the entry is a pull failure.
fn pull_failure(entry: &Entry) -> Option<&str> {
    if !util::mentions(entry, &["ull", "mage"]) {
        return None;
    }
    if let Some(klog) = util::klog(entry) {
        let err = util::kv(klog, "err").unwrap_or("");
        let is_failure = klog.msg.contains("PullImage from image service failed")
            || klog.msg.eq_ignore_ascii_case("Failed to pull image")
            || err.contains("ErrImagePull")
            || err.contains("ImagePullBackOff");
        if !is_failure {
            return None;
        }
        return util::kv(klog, "image")
            .or_else(|| image_after_phrase(err))
            .or_else(|| image_after_phrase(&klog.msg));
    }
    if let Some(logfmt) = util::logfmt(entry) {
        let msg = logfmt.msg.as_deref().unwrap_or("");
        let error = util::pair(logfmt, "error").unwrap_or("");
        let is_failure = (msg.starts_with("PullImage ") && msg.ends_with("failed"))
            || error.contains("failed to pull and unpack image");
        if !is_failure {
            return None;
        }
        return image_after_phrase(msg).or_else(|| image_after_phrase(error));
    }
    None
}

/// A short reason read from the error text.
fn reason(texts: &[&str]) -> &'static str {
    let any = |needle: &str| {
        texts
            .iter()
            .any(|text| util::contains_ignore_case(text, needle))
    };
    if any("not found") || any("manifest unknown") {
        "the image or tag does not exist"
    } else if any("401") || any("403") || any("unauthorized") || any("denied") {
        "the registry refused the credentials"
    } else if any("429") || any("toomanyrequests") {
        "the registry rate-limited the pulls"
    } else if any("i/o timeout") || any("dial tcp") || any("no such host") {
        "the registry is unreachable from the node"
    } else if any("no space left") {
        "the disk is full"
    } else {
        NO_REASON
    }
}

/// Every pull failure JRN007 reports passes one of the tests of
/// [`pull_failure`], each of which needs one of these: a klog message
/// containing `PullImage from image service failed` or equal (in any case)
/// to `Failed to pull image`, an `err` containing `ErrImagePull` or
/// `ImagePullBackOff`, a logfmt message `PullImage … failed` or an `error`
/// containing `failed to pull and unpack image`.
pub(crate) static NEEDLES: Needles = Needles {
    name: "JRN007",
    words: &["PullImage", "ImagePull", "pull and unpack image"],
    klog_prefixes: &["Failed to pull image"],
};

const NO_REASON: &str = "see the error text";

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    // The failures of each image, in journal order (kubelet's first).
    let mut images: BTreeMap<&str, Vec<(&Artifact<Journal>, &Entry)>> = BTreeMap::new();
    for journal in [util::kubelet_journal(cx), util::containerd_journal(cx)]
        .into_iter()
        .flatten()
    {
        for entry in cx.journal_entries(journal, &NEEDLES) {
            let Some(image) = pull_failure(entry) else {
                continue;
            };
            images.entry(image).or_default().push((journal, entry));
        }
    }
    for (image, failures) in images {
        // The reason of the last failure that names one, else the generic one.
        let why = failures
            .iter()
            .rev()
            .map(|(_, entry)| reason(&util::texts(entry).collect::<Vec<_>>()))
            .find(|why| *why != NO_REASON)
            .unwrap_or(NO_REASON);
        let count = failures.len() as u64;
        let times: Vec<_> = failures
            .iter()
            .filter_map(|(_, entry)| entry.best_time())
            .collect();
        let persistent = matches!(
            (times.iter().min(), times.iter().max()),
            (Some(first), Some(last)) if last.0 - first.0 > PERSISTENT_MINUTES * util::MINUTE_US
        );
        let mut builder = cx.finding(&META, Subject::new("image", image));
        for time in times {
            builder = builder.seen(Some(time));
        }
        acc.push(
            builder
                .evidence_all(
                    util::sample(failures, 8)
                        .into_iter()
                        .map(|(journal, entry)| util::entry_evidence(journal, entry)),
                )
                .severity(if persistent {
                    Severity::High
                } else {
                    Severity::Medium
                })
                .title(format!("image {image} cannot be pulled ({count}×)"))
                .summary(format!(
                    "Pulling {image} failed {count} times (kubelet and containerd lines together); likely cause: {}.",
                    why
                ))
                .occurrences(count)
                .build(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::image_after_phrase;

    #[track_caller]
    fn check(input: &str, expect: Option<&str>) {
        assert_eq!(image_after_phrase(input), expect, "{input}");
    }

    #[test]
    fn references() {
        check(
            r#"failed to pull and unpack image "docker.io/library/nginx:1.99": not found"#,
            Some("docker.io/library/nginx:1.99"),
        );
        check(
            r#"Back-off pulling image \"111122223333.dkr.ecr.us-west-2.amazonaws.com/shop/cart:v9\""#,
            Some("111122223333.dkr.ecr.us-west-2.amazonaws.com/shop/cart:v9"),
        );
        check("PullImage \"busybox:1.36\" failed", Some("busybox:1.36"));
        check("image pull took long", None);
    }
}
