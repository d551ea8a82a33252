//! JRN004: TLS certificate verification fails (expired, not yet valid,
//! unknown authority, wrong name).

use std::collections::BTreeMap;

use node_artifacts::journald::Entry;

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Evidence, Finding, Subject};
use crate::journal_index::Needles;
use crate::rules::kubelet::util;
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Flags x509 certificate verification errors in the kubelet and
    /// containerd journals, one finding per component and kind of error:
    /// expired, not yet valid, signed by an unknown authority, or valid for
    /// another name.
    ///
    /// ## Why is this bad?
    /// kubelet cannot talk to the API server (or the API server to kubelet)
    /// with a certificate that fails verification: the node goes NotReady,
    /// `kubectl logs/exec` fail, or images cannot be pulled from a registry
    /// whose CA the node does not trust. "Not yet valid" almost always means
    /// the node's clock is wrong (chrony not synchronised).
    ///
    /// ## Evidence
    /// Entries whose parsed message or fields contain Go's
    /// `x509: certificate has expired or is not yet valid` (split into
    /// expired / not yet valid by its `current time … is after/before …`),
    /// `x509: certificate signed by unknown authority` or
    /// `x509: certificate is valid for`.
    ///
    /// ## Severity
    /// High.
    ///
    /// ## Example
    /// ```text
    /// "Unhandled Error" err="…: tls: failed to verify certificate: x509: certificate has expired or is not yet valid: current time 2025-11-24T10:00:00Z is after 2025-11-23T09:15:42Z"
    /// ```
    ///
    /// ## Remediation
    /// Expired: check kubelet client certificate rotation
    /// (`/var/lib/kubelet/pki/kubelet-client-current.pem`,
    /// `rotateCertificates`) and the bootstrap credentials. Not yet valid:
    /// fix time synchronisation (`chronyc tracking`). Unknown authority: the
    /// CA bundle (`/etc/kubernetes/pki/ca.crt`) or the registry's CA in
    /// containerd's `certs.d`. Wrong name: the endpoint or proxy in between.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/tasks/tls/certificate-rotation/>
    /// - <https://pkg.go.dev/crypto/x509#CertificateInvalidError>
    pub(crate) static META = {
        code: "JRN004",
        name: "CertificateVerificationFailing",
        group: Kubelet,
        default_severity: High,
        since: "0.1.0",
    }
}

/// JRN004.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::KubeletJournal],
    check,
};

/// The kind of x509 failure a text reports, if any.
fn x509_kind(text: &str) -> Option<&'static str> {
    if let Some(at) = text.find("x509: certificate has expired or is not yet valid") {
        let rest = &text[at..];
        return Some(if rest.contains(" is before ") {
            "not-yet-valid"
        } else {
            "expired"
        });
    }
    if text.contains("x509: certificate signed by unknown authority") {
        return Some("unknown-authority");
    }
    if text.contains("x509: certificate is valid for") {
        return Some("name-mismatch");
    }
    None
}

fn entry_kind(entry: &Entry) -> Option<&'static str> {
    if !util::mentions(entry, &["x509: "]) {
        return None;
    }
    util::texts(entry).find_map(x509_kind)
}

fn describe(kind: &str) -> &'static str {
    match kind {
        "expired" => "an expired certificate",
        "not-yet-valid" => "a certificate not yet valid (check the node's clock)",
        "unknown-authority" => "a certificate signed by an unknown authority",
        _ => "a certificate valid for another name",
    }
}

/// Every entry JRN004 acts on contains one of the `x509:` errors of
/// [`x509_kind`], which all begin with this.
pub(crate) static NEEDLES: Needles = Needles {
    name: "JRN004",
    words: &["x509: certificate"],
    klog_prefixes: &[],
};

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let mut groups: BTreeMap<(&'static str, &'static str), Vec<Evidence>> = BTreeMap::new();
    for (component, journal) in [
        ("kubelet", util::kubelet_journal(cx)),
        ("containerd", util::containerd_journal(cx)),
    ] {
        let Some(journal) = journal else {
            continue;
        };
        for entry in cx.journal_entries(journal, &NEEDLES) {
            if let Some(kind) = entry_kind(entry) {
                groups
                    .entry((component, kind))
                    .or_default()
                    .push(util::entry_evidence(journal, entry));
            }
        }
    }
    for ((component, kind), evidence) in groups {
        let count = evidence.len() as u64;
        let mut builder = cx.finding(
            &META,
            Subject::new("certificate", format!("{component}/{kind}")),
        );
        for item in &evidence {
            builder = builder.seen(item.time);
        }
        acc.push(
            builder
                .evidence_all(util::sample(evidence, 8))
                .severity(Severity::High)
                .title(format!("{component}: x509 {kind} ({count}×)"))
                .summary(format!(
                    "{component} failed TLS verification {count} time(s) because of {}.",
                    describe(kind)
                ))
                .occurrences(count)
                .build(),
        );
    }
}
