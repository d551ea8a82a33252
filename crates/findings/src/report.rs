//! The result of checking a snapshot: findings, plus what was not looked at.

use serde::Serialize;

use node_artifacts::time::Timestamp;

use crate::finding::Finding;
use crate::id::{FindingId, Fingerprint};
use crate::severity::Severity;

/// Everything one `check` run produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The snapshot the report is about.
    pub snapshot_id: String,
    /// The node identity hashed into finding ids.
    pub node_id: String,
    /// The time the rules treated as "now" (the collection time).
    pub reference_time: Option<Timestamp>,
    /// Findings, most severe first, then by code and id.
    pub findings: Vec<Finding>,
    /// Rules that could not run because an artifact they need is missing,
    /// so that "no finding" and "not looked at" are never confused.
    pub not_evaluated: Vec<NotEvaluated>,
    /// Findings dropped by an explicit suppression.
    pub suppressed: Vec<Suppressed>,
    /// How many rules ran.
    pub rules_evaluated: usize,
    /// Findings per severity, most severe first.
    pub counts: Vec<SeverityCount>,
}

/// A rule that was not evaluated, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotEvaluated {
    /// The rule's code.
    pub code: &'static str,
    /// The rule's kebab-case name.
    pub name: String,
    /// The artifacts it needs that the snapshot lacks.
    pub missing: Vec<&'static str>,
}

/// A finding removed by a suppression the caller passed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suppressed {
    /// The finding's id.
    pub id: FindingId,
    /// The finding's fingerprint.
    pub fingerprint: Fingerprint,
    /// The rule's code.
    pub code: &'static str,
    /// What matched: `code` or `fingerprint`.
    pub matched: &'static str,
}

/// How many findings have one severity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeverityCount {
    /// The severity.
    pub severity: Severity,
    /// The number of findings with it.
    pub count: usize,
}

impl Report {
    /// Sorts findings (severity descending, code, id) and fills the counts.
    pub fn finish(&mut self) {
        self.findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.code.cmp(b.code))
                .then_with(|| a.id.cmp(&b.id))
        });
        self.not_evaluated.sort_by(|a, b| a.code.cmp(b.code));
        self.counts = Severity::ALL
            .iter()
            .rev()
            .map(|&severity| SeverityCount {
                severity,
                count: self
                    .findings
                    .iter()
                    .filter(|f| f.severity == severity)
                    .count(),
            })
            .collect();
    }

    /// The finding with this id.
    pub fn finding(&self, id: &str) -> Option<&Finding> {
        self.findings.iter().find(|finding| finding.id.0 == id)
    }

    /// The highest severity found, if any finding exists.
    pub fn max_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|finding| finding.severity).max()
    }
}
