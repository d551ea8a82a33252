//! Findings rendered the way people read them (snapshots, the CLI table).

use std::fmt::Write as _;

use crate::finding::Finding;

/// Renders one finding as text:
///
/// ```text
/// CTK001 [high] conntrack-table-near-capacity id=f1_… fp=fp1_…
///   conntrack table at 99% of nf_conntrack_max (261,000 of 262,144)
///   subject: node:node · occurrences: 1 · seen 2025-…Z .. 2025-…Z
///   sources: networking/conntrack.txt, sysctls/sysctl_all.txt
///   evidence (2 of 2):
///     sysctls/sysctl_all.txt:812  net.netfilter.nf_conntrack_count = 261000
/// ```
pub fn finding_text(finding: &Finding) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} [{}] {} id={} fp={}",
        finding.code, finding.severity, finding.name, finding.id, finding.fingerprint
    );
    let _ = writeln!(out, "  {}", finding.title);
    if !finding.summary.is_empty() {
        let _ = writeln!(out, "  {}", finding.summary);
    }
    let seen = match (finding.first_seen, finding.last_seen) {
        (Some(first), Some(last)) if first == last => format!(" · seen {first}"),
        (Some(first), Some(last)) => format!(" · seen {first} .. {last}"),
        _ => String::new(),
    };
    let _ = writeln!(
        out,
        "  subject: {} · occurrences: {}{}",
        finding.subject.canonical(),
        finding.occurrences,
        seen
    );
    if !finding.sources.is_empty() {
        let _ = writeln!(out, "  sources: {}", finding.sources.join(", "));
    }
    if !finding.related.is_empty() {
        let related: Vec<String> = finding.related.iter().map(ToString::to_string).collect();
        let _ = writeln!(out, "  related: {}", related.join(", "));
    }
    let _ = writeln!(
        out,
        "  evidence ({} of {}):",
        finding.evidence.len(),
        finding.evidence_total
    );
    for evidence in &finding.evidence {
        let lines = if evidence.end_line > evidence.line {
            format!("{}-{}", evidence.line, evidence.end_line)
        } else {
            evidence.line.to_string()
        };
        let _ = writeln!(
            out,
            "    {}:{}  {}",
            evidence.artifact, lines, evidence.excerpt
        );
    }
    out
}

/// Renders findings one after another, separated by blank lines.
pub fn findings_text(findings: &[Finding]) -> String {
    if findings.is_empty() {
        return "(no findings)\n".to_owned();
    }
    findings
        .iter()
        .map(finding_text)
        .collect::<Vec<_>>()
        .join("\n")
}
