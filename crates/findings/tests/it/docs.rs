//! `docs/rules.md` is generated from the rules' own documentation: this test
//! regenerates it and fails when the committed file differs. Run with
//! `UPDATE_DOCS=1` to rewrite it.

use std::fmt::Write as _;

use findings::codes;

fn render() -> String {
    let mut out = String::from(
        "# Rules\n\n\
         Generated from the rules' documentation by `crates/findings/tests/it/docs.rs`; \
         do not edit by hand (run `UPDATE_DOCS=1 cargo test -p findings --test it docs` after changing a rule).\n\n\
         | code | name | group | default severity | what it does |\n|---|---|---|---|---|\n",
    );
    for rule in codes::all() {
        let meta = rule.meta;
        let _ = writeln!(
            out,
            "| [{code}](#{anchor}) | `{name}` | {group} | {severity} | {what} |",
            code = meta.code,
            anchor = meta.code.to_lowercase(),
            name = meta.kebab_name(),
            group = meta.group,
            severity = meta.default_severity,
            what = meta
                .short_description()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .replace('|', "\\|"),
        );
    }
    for rule in codes::all() {
        let meta = rule.meta;
        let _ = write!(
            out,
            "\n## {code}\n\n`{name}` · group {group} · default severity {severity} · since {since}\n\n",
            code = meta.code,
            name = meta.kebab_name(),
            group = meta.group,
            severity = meta.default_severity,
            since = meta.since,
        );
        // Rule docs use `##` sections; nest them under the rule's heading.
        for line in meta.doc.lines() {
            let line = line.strip_prefix(' ').unwrap_or(line);
            if let Some(heading) = line.strip_prefix("## ") {
                let _ = writeln!(out, "### {heading}");
            } else {
                let _ = writeln!(out, "{line}");
            }
        }
    }
    out
}

#[test]
fn rules_md_is_up_to_date() {
    let path = crate::fixtures().join("../docs/rules.md");
    let expected = render();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &expected).unwrap();
        return;
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/rules.md is out of date: run `UPDATE_DOCS=1 cargo test -p findings --test it docs`"
    );
}
