//! What a rule reports: a finding, its subject and its evidence.

use serde::Serialize;

use node_artifacts::time::Timestamp;

use crate::id::{FindingId, Fingerprint};
use crate::rule::{Group, RuleMeta};
use crate::severity::Severity;

/// How many evidence items a finding keeps; the total is always reported.
pub const EVIDENCE_CAP: usize = 20;

/// How many characters of a line an excerpt keeps.
pub const EXCERPT_CHARS: usize = 300;

/// One problem found on one node.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Stable id of this problem on this node (see [`crate::id`]).
    pub id: FindingId,
    /// Stable id of this problem, shared across nodes.
    pub fingerprint: Fingerprint,
    /// The rule's code, e.g. `CTK001`.
    pub code: &'static str,
    /// The rule's kebab-case name, e.g. `conntrack-table-near-capacity`.
    pub name: String,
    /// The rule's group.
    pub group: Group,
    /// The severity of this occurrence (the rule's default or an escalation).
    pub severity: Severity,
    /// One line naming the problem and its subject.
    pub title: String,
    /// One paragraph with the key figures.
    pub summary: String,
    /// What the finding is about.
    pub subject: Subject,
    /// How many times the condition was seen (messages, rules, flows…).
    pub occurrences: u64,
    /// The earliest time the condition was seen, when the artifacts date it.
    pub first_seen: Option<Timestamp>,
    /// The latest time the condition was seen, when the artifacts date it.
    pub last_seen: Option<Timestamp>,
    /// How many independent artifacts agree (copies of one message count once).
    pub sources: Vec<String>,
    /// Evidence items, at most [`EVIDENCE_CAP`].
    pub evidence: Vec<Evidence>,
    /// The number of evidence items before capping.
    pub evidence_total: usize,
    /// Ids of findings this one explains or is explained by.
    pub related: Vec<FindingId>,
}

/// The thing a finding is about, with a canonical key that feeds its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subject {
    /// The kind of thing: `service`, `chain`, `process`, `interface`, `node`…
    pub kind: &'static str,
    /// The canonical key within the kind: stable across collections.
    pub key: String,
}

impl Subject {
    /// A subject of `kind` identified by `key`.
    pub fn new(kind: &'static str, key: impl Into<String>) -> Self {
        Self {
            kind,
            key: key.into(),
        }
    }

    /// The node as a whole (for node-wide conditions).
    pub fn node() -> Self {
        Self::new("node", "node")
    }

    /// `kind:key`, the form hashed into ids.
    pub fn canonical(&self) -> String {
        format!("{}:{}", self.kind, self.key)
    }
}

/// A pointer into an artifact that supports a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// The artifact's path inside the bundle, e.g. `kernel/dmesg.current`.
    pub artifact: String,
    /// First 1-based line of the evidence.
    pub line: usize,
    /// Last 1-based line (equal to `line` for one line).
    pub end_line: usize,
    /// A short excerpt of the evidence text.
    pub excerpt: String,
    /// When the evidence happened, when known.
    pub time: Option<Timestamp>,
}

impl Evidence {
    /// Evidence for one line, with its text cut to [`EXCERPT_CHARS`].
    pub fn line(artifact: &str, line: usize, text: &str) -> Self {
        Self {
            artifact: artifact.to_owned(),
            line,
            end_line: line,
            excerpt: excerpt(text),
            time: None,
        }
    }

    /// Evidence for a span of lines.
    pub fn span(artifact: &str, line: usize, end_line: usize, text: &str) -> Self {
        Self {
            end_line: end_line.max(line),
            ..Self::line(artifact, line, text)
        }
    }

    /// Sets when the evidence happened.
    pub fn at(mut self, time: Option<Timestamp>) -> Self {
        self.time = time;
        self
    }
}

/// Cuts `text` to [`EXCERPT_CHARS`] characters on a character boundary.
pub fn excerpt(text: &str) -> String {
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Builds a [`Finding`]; rules use it through `Context::finding`.
#[derive(Debug)]
pub struct FindingBuilder {
    finding: Finding,
    evidence: Vec<Evidence>,
    /// Evidence items counted but never built (see
    /// [`FindingBuilder::evidence_after`]).
    omitted: usize,
}

impl FindingBuilder {
    /// Starts a finding of `meta` about `subject` on node `node_id`.
    pub fn new(meta: &'static RuleMeta, node_id: &str, subject: Subject) -> Self {
        let canonical = subject.canonical();
        Self {
            finding: Finding {
                id: FindingId::compute(meta.code, node_id, &canonical),
                fingerprint: Fingerprint::compute(meta.code, &canonical),
                code: meta.code,
                name: meta.kebab_name(),
                group: meta.group,
                severity: meta.default_severity,
                title: String::new(),
                summary: String::new(),
                subject,
                occurrences: 1,
                first_seen: None,
                last_seen: None,
                sources: Vec::new(),
                evidence: Vec::new(),
                evidence_total: 0,
                related: Vec::new(),
            },
            evidence: Vec::new(),
            omitted: 0,
        }
    }

    /// Overrides the rule's default severity (an escalation the rule documents).
    pub fn severity(mut self, severity: Severity) -> Self {
        self.finding.severity = severity;
        self
    }

    /// Sets the title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.finding.title = title.into();
        self
    }

    /// Sets the summary paragraph.
    pub fn summary(mut self, summary: impl Into<String>) -> Self {
        self.finding.summary = summary.into();
        self
    }

    /// Sets the occurrence count.
    pub fn occurrences(mut self, occurrences: u64) -> Self {
        self.finding.occurrences = occurrences;
        self
    }

    /// Widens first/last seen to include `time`.
    pub fn seen(mut self, time: Option<Timestamp>) -> Self {
        if let Some(time) = time {
            let first = self.finding.first_seen.get_or_insert(time);
            *first = (*first).min(time);
            let last = self.finding.last_seen.get_or_insert(time);
            *last = (*last).max(time);
        }
        self
    }

    /// Records an independent source (an artifact) that agrees.
    pub fn source(mut self, source: impl Into<String>) -> Self {
        let source = source.into();
        if !self.finding.sources.contains(&source) {
            self.finding.sources.push(source);
        }
        self
    }

    /// Adds one evidence item (and its artifact as a source).
    pub fn evidence(mut self, evidence: Evidence) -> Self {
        let artifact = evidence.artifact.clone();
        self = self.seen(evidence.time);
        self.evidence.push(evidence);
        self.source(artifact)
    }

    /// Adds evidence items.
    pub fn evidence_all(mut self, items: impl IntoIterator<Item = Evidence>) -> Self {
        for item in items {
            self = self.evidence(item);
        }
        self
    }

    /// Adds one of many evidence items without building those that cannot
    /// be kept: the finding is dated by `time` (the item's time) either way,
    /// and the item is counted in [`Finding::evidence_total`], but `make`
    /// runs only while fewer than [`EVIDENCE_CAP`] items have been added.
    ///
    /// The caller guarantees that the item sorts after every item added
    /// before it (same artifact, a greater line) and equals none of the
    /// items added before or after it: then an item past the cap is behind
    /// at least [`EVIDENCE_CAP`] others in [`FindingBuilder::build`]'s order
    /// and would be dropped by it, so the finding is the same as with
    /// [`FindingBuilder::evidence`], built for a fraction of the cost. For
    /// rules that add one item per journal entry in journal order.
    pub(crate) fn evidence_after(
        mut self,
        time: Option<Timestamp>,
        make: impl FnOnce() -> Evidence,
    ) -> Self {
        if self.evidence.len() < EVIDENCE_CAP {
            self.evidence(make())
        } else {
            self.omitted += 1;
            self.seen(time)
        }
    }

    /// Finishes the finding: evidence sorted and capped, total kept.
    pub fn build(mut self) -> Finding {
        self.evidence
            .sort_by(|a, b| (&a.artifact, a.line).cmp(&(&b.artifact, b.line)));
        self.evidence.dedup();
        self.finding.evidence_total = self.evidence.len() + self.omitted;
        self.evidence.truncate(EVIDENCE_CAP);
        self.finding.evidence = self.evidence;
        self.finding.sources.sort();
        self.finding
    }
}
