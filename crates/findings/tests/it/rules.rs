//! Every rule on its fixture cases: `fixtures/rules/<CODE>/<case>/` is a
//! mini-bundle in the collector's layout. A case named `positive…` must
//! produce at least one finding of that rule and a case named `negative…`
//! none; either way the rule's findings are snapshotted as people read them.

use findings::codes;
use findings::render;

use crate::{check_fixture, fixtures, snapshot_of, subdirs};

#[test]
fn every_rule_on_its_fixture_cases() {
    let mut failures = Vec::new();
    for rule in codes::all() {
        let code = rule.meta.code;
        let cases = subdirs(&fixtures().join("rules").join(code));
        let has = |prefix: &str| {
            cases
                .iter()
                .any(|case| case.file_name().unwrap().to_string_lossy().starts_with(prefix))
        };
        if !has("positive") || !has("negative") {
            failures.push(format!("{code}: needs a positive and a negative case under fixtures/rules/{code}/"));
            continue;
        }
        for case in cases {
            let case_name = case.file_name().unwrap().to_string_lossy().into_owned();
            let snapshot = snapshot_of(&case);
            let report = check_fixture(&snapshot);
            if let Some(not_evaluated) = report.not_evaluated.iter().find(|n| n.code == code) {
                failures.push(format!(
                    "{code}/{case_name}: rule not evaluated, missing {:?}",
                    not_evaluated.missing
                ));
                continue;
            }
            let found: Vec<_> = report
                .findings
                .iter()
                .filter(|finding| finding.code == code)
                .cloned()
                .collect();
            if case_name.starts_with("positive") && found.is_empty() {
                failures.push(format!("{code}/{case_name}: expected a finding, got none"));
            }
            if case_name.starts_with("negative") && !found.is_empty() {
                failures.push(format!(
                    "{code}/{case_name}: expected no finding, got:\n{}",
                    render::findings_text(&found)
                ));
            }
            for finding in &found {
                // The harness holds rules to their contract, as ruff's does.
                if finding.evidence.is_empty() || finding.title.is_empty() || finding.summary.is_empty() {
                    failures.push(format!(
                        "{code}/{case_name}: finding {} lacks evidence, title or summary",
                        finding.id
                    ));
                }
            }
            insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
                insta::assert_snapshot!(format!("{code}_{case_name}"), render::findings_text(&found));
            });
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn no_orphan_rule_snapshots() {
    let snapshots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/snapshots");
    let Ok(entries) = std::fs::read_dir(&snapshots) else {
        return;
    };
    let case = regex::Regex::new(r"^([A-Z]{3}\d{3})_(.+)\.snap$").unwrap();
    for entry in entries {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let Some(captures) = case.captures(&name) else {
            continue;
        };
        let dir = fixtures().join("rules").join(&captures[1]).join(&captures[2]);
        assert!(
            codes::by_code(&captures[1]).is_some() && dir.is_dir(),
            "orphan snapshot {name}: no rule {} or no case {}",
            &captures[1],
            dir.display()
        );
    }
}
