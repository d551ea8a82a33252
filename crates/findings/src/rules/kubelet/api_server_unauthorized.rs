//! JRN005: the API server rejects kubelet's credentials (HTTP 401).

use node_artifacts::journald::Entry;

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Finding, Subject};
use crate::journal_index::Needles;
use crate::rules::kubelet::util;
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Flags kubelet requests that the API server answered with 401
    /// Unauthorized.
    ///
    /// ## Why is this bad?
    /// A kubelet whose credentials the API server rejects cannot register,
    /// renew its lease, read pods or post status: the node goes NotReady.
    /// On EKS the node authenticates with its IAM role through the
    /// `aws-iam-authenticator`; a 401 means the role is not mapped
    /// (`aws-auth` ConfigMap or access entry missing or deleted), the token
    /// could not be generated (IMDS, STS unreachable), or the clock is off.
    ///
    /// ## Evidence
    /// kubelet lines whose parsed message or fields contain the Go reason
    /// `Unauthorized` as a word, `the server has asked for the client to
    /// provide credentials`, or a `401` status. Image pull errors (a
    /// registry's 401, which is JRN007's) are left out.
    ///
    /// ## Severity
    /// High.
    ///
    /// ## Example
    /// ```text
    /// "Unable to register node with API server" err="Unauthorized" node="ip-10-0-1-2.us-west-2.compute.internal"
    /// ```
    ///
    /// ## Remediation
    /// Check that the node role is in the `aws-auth` ConfigMap (`mapRoles`,
    /// username `system:node:{{EC2PrivateDNSName}}`, groups
    /// `system:bootstrappers`, `system:nodes`) or has an EKS access entry of
    /// type `EC2_LINUX`; check IMDS and STS reachability and the clock.
    ///
    /// ## References
    /// - <https://docs.aws.amazon.com/eks/latest/userguide/access-entries.html>
    /// - <https://repost.aws/knowledge-center/eks-worker-nodes-cluster>
    pub(crate) static META = {
        code: "JRN005",
        name: "ApiServerUnauthorized",
        group: Kubelet,
        default_severity: High,
        since: "0.1.0",
    }
}

/// JRN005.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::KubeletJournal],
    check,
};

/// Whether `text` holds `word` delimited by non-alphanumerics.
fn has_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

fn unauthorized(text: &str) -> bool {
    has_word(text, "Unauthorized")
        || text.contains("provide credentials")
        || has_word(text, "401")
            && (util::contains_ignore_case(text, "status")
                || util::contains_ignore_case(text, "code"))
}

/// Whether a raw message may hold a parsed text that [`unauthorized`]
/// accepts: every parsed text is a piece of the raw message, unescaped,
/// and these words need no quoting, so only a word boundary may differ (an
/// escape such as `\n` just before the word); a `\` shortly before a match
/// counts as a boundary.
fn may_be_unauthorized(raw: &str) -> bool {
    let word = |word: &str| {
        raw.match_indices(word).any(|(at, _)| {
            let before = raw[..at].chars().next_back();
            let escaped = raw.as_bytes()[at.saturating_sub(8)..at].contains(&b'\\');
            let after = raw[at + word.len()..].chars().next();
            (escaped || !before.is_some_and(char::is_alphanumeric))
                && !after.is_some_and(char::is_alphanumeric)
        })
    };
    word("Unauthorized")
        || raw.contains("provide credentials")
        || word("401")
            && (util::contains_ignore_case(raw, "status")
                || util::contains_ignore_case(raw, "code"))
}

fn image_pull(entry: &Entry) -> bool {
    util::texts(entry).any(|text| {
        util::contains_ignore_case(text, "pull") && util::contains_ignore_case(text, "image")
    })
}

/// Every entry JRN005 acts on mentions one of these (its first test);
/// `401` is also in ECR account ids of image pulls, which the rule skips by
/// raw text ([`may_be_unauthorized`]) before building them.
pub(crate) static NEEDLES: Needles = Needles {
    name: "JRN005",
    words: &["Unauthorized", "credentials", "401"],
    klog_prefixes: &[],
};

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let Some(journal) = util::kubelet_journal(cx) else {
        return;
    };
    let mut builder = cx.finding(&META, Subject::new("process", "kubelet"));
    let mut evidence = Vec::new();
    let mut last_msg = None;
    let candidates = cx.journal_entries(journal, &NEEDLES);
    // Only raw messages that could hold an `unauthorized` text are built
    // (not, say, an ECR account id with `401` in it).
    for entry in candidates.clone().where_text(may_be_unauthorized) {
        if !util::mentions_words(&candidates, &NEEDLES, entry)
            || util::klog(entry).is_none()
            || !util::texts(entry).any(unauthorized)
            || image_pull(entry)
        {
            continue;
        }
        builder = builder.seen(entry.best_time());
        last_msg = util::klog(entry).map(|klog| klog.msg.clone());
        evidence.push(entry);
    }
    if evidence.is_empty() {
        return;
    }
    let count = evidence.len() as u64;
    let mut summary =
        format!("The API server answered {count} kubelet requests with 401 Unauthorized");
    if let Some(msg) = last_msg {
        summary.push_str(&format!(" (last: `{msg}`)"));
    }
    summary.push_str(": the node's credentials are not accepted.");
    acc.push(
        builder
            .evidence_all(
                util::sample(evidence, 10)
                    .into_iter()
                    .map(|entry| util::entry_evidence(journal, entry)),
            )
            .severity(Severity::High)
            .title(format!(
                "API server rejects kubelet credentials (401, {count}×)"
            ))
            .summary(summary)
            .occurrences(count)
            .build(),
    );
}

#[cfg(test)]
mod tests {
    use super::{may_be_unauthorized, unauthorized};

    #[track_caller]
    fn check(input: &str, expect: bool) {
        assert_eq!(unauthorized(input), expect, "{input}");
    }

    #[test]
    fn words() {
        check("Unauthorized", true);
        check("err=Unauthorized", true);
        check(
            "the server has asked for the client to provide credentials",
            true,
        );
        check("unexpected status code 401", true);
        check("NotUnauthorizedReally", false);
        check("port 4010 code", false);
        check("pod-401 started", false);
    }

    /// The raw-message prefilter accepts every message holding an accepted
    /// text, escaped or not, and skips ECR account ids.
    #[test]
    fn the_raw_prefilter_keeps_what_the_rule_accepts() {
        for text in [
            "Unauthorized",
            "err=Unauthorized",
            "the server has asked for the client to provide credentials",
            "unexpected status code 401",
        ] {
            assert!(unauthorized(text));
            for raw in [
                text.to_owned(),
                format!("\"{text}\""),
                format!("msg=\"line\\n{text}\""),
                format!("x\\u00a0{text}"),
            ] {
                assert!(may_be_unauthorized(&raw), "{raw}");
            }
        }
        assert!(!may_be_unauthorized(
            "\"PullImage from image service failed\" err=\"rpc error: code = NotFound\" image=\"602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10\""
        ));
    }
}
