//! The registry's invariants, on the model of ruff's `registry.rs` and
//! ripgrep's flag tests.

use std::collections::BTreeSet;

use findings::codes;

#[test]
fn codes_are_unique_well_formed_and_sorted() {
    let code = regex::Regex::new(r"^[A-Z]{3}\d{3}$").unwrap();
    let all = codes::all();
    assert!(!all.is_empty());
    let mut seen = BTreeSet::new();
    for rule in all {
        assert!(code.is_match(rule.meta.code), "bad code {}", rule.meta.code);
        assert!(seen.insert(rule.meta.code), "duplicate code {}", rule.meta.code);
        assert_eq!(codes::by_code(rule.meta.code).map(|r| r.meta.code), Some(rule.meta.code));
        assert_eq!(
            codes::by_name(&rule.meta.kebab_name()).map(|r| r.meta.code),
            Some(rule.meta.code)
        );
    }
    let sorted: Vec<_> = all.iter().map(|rule| rule.meta.code).collect();
    let mut expected = sorted.clone();
    expected.sort_unstable();
    assert_eq!(sorted, expected);
}

#[test]
fn every_rule_is_documented() {
    for rule in codes::all() {
        for section in [
            "## What it does",
            "## Why is this bad?",
            "## Evidence",
            "## Remediation",
        ] {
            assert!(
                rule.meta.doc.contains(section),
                "{} lacks `{section}` in its documentation",
                rule.meta.code
            );
        }
        assert!(!rule.meta.short_description().is_empty(), "{}", rule.meta.code);
        assert!(!rule.needs.is_empty(), "{} declares no artifact it needs", rule.meta.code);
    }
}

#[test]
fn names_read_as_conditions() {
    let disallowed: Vec<&str> = include_str!("disallowed_rule_names.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect();
    for rule in codes::all() {
        for prefix in &disallowed {
            assert!(
                !rule.meta.name.starts_with(prefix),
                "{} is named {}: name rules after the condition found, not `{prefix}…`",
                rule.meta.code,
                rule.meta.name
            );
        }
    }
}

#[test]
fn related_pairs_name_existing_rules() {
    for (a, b) in codes::related() {
        assert!(codes::by_code(a).is_some(), "RELATED names unknown code {a}");
        assert!(codes::by_code(b).is_some(), "RELATED names unknown code {b}");
    }
}
