//! Accuracy on the scenario bundles of `fixtures/bundles/`: each yields the
//! findings its README states, at the stated severities, and the healthy
//! node nothing above `low`.
//!
//! `EXPECTED` is the machine-readable form of the READMEs' "Must find"
//! lists: `(scenario, code, subject, severity)`. A scenario's findings at
//! `medium` or above that are not expected are false positives and fail the
//! test; expected findings that are absent are misses and fail it too.

use findings::{Finding, Severity};

use crate::{check_fixture, fixtures, snapshot_of, subdirs};

/// `(scenario, code, subject, severity)` the diagnosis must produce.
const EXPECTED: &[(&str, &str, &str, Severity)] = &[
    (
        "conntrack-exhaustion",
        "CTK001",
        "node:node",
        Severity::Critical,
    ),
    (
        "dns-no-endpoints",
        "IPT001",
        "service:kube-system/kube-dns:dns",
        Severity::Critical,
    ),
    (
        "dns-no-endpoints",
        "IPT001",
        "service:kube-system/kube-dns:dns-tcp",
        Severity::Critical,
    ),
    (
        "dns-no-endpoints",
        "IPT001",
        "service:kube-system/kube-dns:metrics",
        Severity::Medium,
    ),
];

fn line(finding: &Finding) -> String {
    format!(
        "{} [{}] {}: {}",
        finding.code,
        finding.severity,
        finding.subject.canonical(),
        finding.title
    )
}

#[test]
fn scenarios_yield_exactly_what_their_readmes_state() {
    let mut problems = Vec::new();
    for scenario in subdirs(&fixtures().join("bundles")) {
        let name = scenario.file_name().unwrap().to_string_lossy().into_owned();
        if !scenario.join("README.md").is_file() {
            continue;
        }
        let snapshot = snapshot_of(&scenario);
        let report = check_fixture(&snapshot);
        let expected: Vec<_> = EXPECTED.iter().filter(|(s, ..)| *s == name).collect();

        for (_, code, subject, severity) in &expected {
            match report
                .findings
                .iter()
                .find(|f| f.code == *code && f.subject.canonical() == *subject)
            {
                None => problems.push(format!("{name}: missed {code} {subject} ({severity})")),
                Some(found) if found.severity != *severity => problems.push(format!(
                    "{name}: {code} {subject} is {} instead of {severity}",
                    found.severity
                )),
                Some(_) => {}
            }
        }
        for finding in &report.findings {
            let is_expected = expected.iter().any(|(_, code, subject, _)| {
                finding.code == *code && finding.subject.canonical() == *subject
            });
            if !is_expected && finding.severity >= Severity::Medium {
                problems.push(format!("{name}: unexpected {}", line(finding)));
            }
        }
        if name == "healthy"
            && let Some(worst) = report.max_severity()
            && worst > Severity::Low
        {
            problems.push(format!("healthy: a finding above low ({worst})"));
        }

        let rendered: Vec<String> = report.findings.iter().map(line).collect();
        let not_evaluated: Vec<String> = report
            .not_evaluated
            .iter()
            .map(|n| format!("{} ({})", n.code, n.missing.join(", ")))
            .collect();
        insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(
                format!("scenario_{name}"),
                format!(
                    "{}\nnot evaluated: {}\n",
                    if rendered.is_empty() { "(no findings)".to_owned() } else { rendered.join("\n") },
                    if not_evaluated.is_empty() { "none".to_owned() } else { not_evaluated.join(", ") }
                )
            );
        });
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
