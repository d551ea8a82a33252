//! iptables-save parser: corpus conformance, fixture snapshots, properties.

use std::path::{Path, PathBuf};

use node_artifacts::iptables::{self, Line, Ruleset};

fn corpus_dir() -> Option<PathBuf> {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus/iptables"));
    if dir.is_dir() {
        Some(dir.to_path_buf())
    } else {
        println!("note: {} is absent; corpus conformance skipped", dir.display());
        None
    }
}

fn corpus_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

fn unparsed(ruleset: &Ruleset) -> Vec<String> {
    ruleset
        .lines
        .iter()
        .filter_map(|l| match l {
            Line::Unparsed(u) => Some(format!("{}: {} ({})", u.line, u.raw, u.reason)),
            _ => None,
        })
        .collect()
}

/// Every iptables-save dump in the corpus parses with no unparsed line and
/// renders back byte for byte.
#[test]
fn corpus_dumps_round_trip() {
    let Some(dir) = corpus_dir() else { return };
    let mut checked = 0;
    for path in corpus_files(&dir) {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.ends_with(".t") || name.ends_with(".md") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let parsed = iptables::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let bad = unparsed(&parsed.value);
        assert!(bad.is_empty(), "{name}: {} unparsed, first: {:?}", bad.len(), &bad[..bad.len().min(5)]);
        assert_eq!(parsed.value.render(), text, "{name}: render differs");
        checked += 1;
    }
    assert!(checked >= 14, "only {checked} dumps checked");
}

/// Outcome of the netfilter `extensions/*.t` oracle lines.
#[derive(Debug, Default)]
struct OracleScore {
    ok_lines: usize,
    ok_rendered: usize,
    fail_lines: usize,
    fail_flagged: usize,
    mismatches: Vec<String>,
}

/// Runs one oracle fragment through the parser: the rule is placed in a
/// one-table dump, and its canonical rendering is compared with the save form
/// the oracle expects. Returns the canonical rendering and whether the parser
/// flagged anything (unparsed line or diagnostic).
fn oracle_fragment(table: &str, chain: &str, fragment: &str) -> (Option<String>, bool) {
    let dump = format!("*{table}\n:{chain} ACCEPT [0:0]\n-A {chain} {fragment}\nCOMMIT\n");
    let parsed = iptables::parse(&dump).unwrap();
    let flagged = !parsed.diagnostics.is_empty();
    let rule = parsed.value.rules().next().map(|(_, r)| r.to_canonical_string());
    (rule, flagged)
}

fn oracle_score(dir: &Path) -> OracleScore {
    let mut score = OracleScore::default();
    for path in corpus_files(dir) {
        if path.extension().and_then(|e| e.to_str()) != Some("t") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let mut chain = "INPUT".to_owned();
        let mut table = "filter".to_owned();
        for line in text.lines() {
            if let Some(chains) = line.strip_prefix(':') {
                chain = chains.split(',').next().unwrap().to_owned();
                continue;
            }
            if let Some(name) = line.strip_prefix('*') {
                table = name.to_owned();
                continue;
            }
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let mut fields = line.rsplitn(3, ';');
            let (Some(verdict), Some(expected), Some(fragment)) = (fields.next(), fields.next(), fields.next()) else {
                continue;
            };
            let (rendered, flagged) = oracle_fragment(&table, &chain, fragment);
            match verdict {
                "OK" => {
                    score.ok_lines += 1;
                    let expected = if expected == "=" { fragment } else { expected };
                    let want = format!("-A {chain} {expected}");
                    if rendered.as_deref() == Some(want.as_str()) {
                        score.ok_rendered += 1;
                    } else {
                        score.mismatches.push(format!("want {want}\n got {rendered:?}"));
                    }
                }
                "FAIL" => {
                    score.fail_lines += 1;
                    if flagged {
                        score.fail_flagged += 1;
                    } else {
                        score.mismatches.push(format!("FAIL line accepted: {fragment}"));
                    }
                }
                _ => {}
            }
        }
    }
    score
}

/// The netfilter oracle: OK fragments must parse and render to the expected
/// save form. The floor records what this parser achieves today; it may rise,
/// never fall.
#[test]
fn corpus_extension_oracles() {
    let Some(dir) = corpus_dir() else { return };
    let score = oracle_score(&dir);
    println!(
        "oracle: {}/{} OK fragments render to the expected save form; {}/{} FAIL fragments flagged",
        score.ok_rendered, score.ok_lines, score.fail_flagged, score.fail_lines
    );
    for m in &score.mismatches {
        println!("{m}");
    }
    assert!(score.ok_lines >= 100, "only {} OK lines found", score.ok_lines);
    assert!(score.ok_rendered >= OK_FLOOR, "{} < floor {OK_FLOOR}", score.ok_rendered);
    assert!(score.fail_flagged >= FAIL_FLOOR, "{} < floor {FAIL_FLOOR}", score.fail_flagged);
}

const OK_FLOOR: usize = 100;
const FAIL_FLOOR: usize = 45;
