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
