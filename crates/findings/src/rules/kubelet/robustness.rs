//! The group's rules on damaged input: every line of the scenario journals
//! and VPC CNI logs cut short at many points, lines out of time order, and
//! bytes flipped. The rules must not panic, whatever the text.

use std::collections::BTreeMap;
use std::path::Path;

use node_artifacts::shared::FileBytes;
use node_artifacts::snapshot::{NodeSnapshot, SnapshotInput};

use crate::{Context, check};

/// The artifacts this group reads, by bundle path.
const PATHS: &[&str] = &[
    "kubelet/kubelet.log",
    "containerd/containerd-log.txt",
    "var_log/aws-routed-eni/ipamd.log",
    "var_log/aws-routed-eni/plugin.log",
    "ipamd/enis.json",
    "ipamd/ipamd-env-settings.json",
];

/// The group's files of every scenario bundle (none when absent).
fn scenario_files() -> Vec<BTreeMap<String, Vec<u8>>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/bundles");
    let Ok(scenarios) = std::fs::read_dir(&root) else {
        eprintln!("skipping: {} is absent", root.display());
        return Vec::new();
    };
    let mut all = Vec::new();
    for scenario in scenarios {
        let Ok(bundles) = std::fs::read_dir(scenario.unwrap().path()) else {
            continue;
        };
        for bundle in bundles {
            let bundle = bundle.unwrap().path();
            if !bundle.is_dir() {
                continue;
            }
            let files: BTreeMap<String, Vec<u8>> = PATHS
                .iter()
                .filter_map(|path| {
                    Some(((*path).to_owned(), std::fs::read(bundle.join(path)).ok()?))
                })
                .collect();
            if !files.is_empty() {
                all.push(files);
            }
        }
    }
    all
}

fn run(files: &BTreeMap<String, Vec<u8>>) {
    let files: BTreeMap<String, FileBytes> = files
        .iter()
        .map(|(path, content)| (path.clone(), FileBytes::from(content.as_slice())))
        .collect();
    let snapshot = NodeSnapshot::build(SnapshotInput {
        name: Some("eks_i-0123456789abcdef0_2025-11-24_1126-UTC_0.7.9"),
        files: &files,
        rejected: &[],
        newest_file_time: None,
    });
    let _ = check(&snapshot, &Context::default());
}

/// Applies `mutate` to every line of every file.
fn mutated(
    files: &BTreeMap<String, Vec<u8>>,
    mut mutate: impl FnMut(usize, &[u8]) -> Vec<u8>,
) -> BTreeMap<String, Vec<u8>> {
    files
        .iter()
        .map(|(path, content)| {
            let mut out = Vec::with_capacity(content.len());
            for (index, line) in content.split(|&byte| byte == b'\n').enumerate() {
                out.extend(mutate(index, line));
                out.push(b'\n');
            }
            (path.clone(), out)
        })
        .collect()
}

#[test]
fn truncated_lines_do_not_panic() {
    for files in scenario_files() {
        run(&files);
        // Cut every line at a varying fraction of its length, so that each
        // line is cut in the middle of a different field.
        for step in [3usize, 5, 7, 11] {
            let cut = mutated(&files, |index, line| {
                let keep = line.len() * ((index * step) % 13) / 13;
                line[..keep].to_vec()
            });
            run(&cut);
        }
    }
}

#[test]
fn reversed_and_flipped_lines_do_not_panic() {
    for files in scenario_files() {
        // Lines in reverse order: every time window sees time run backwards.
        let reversed = files
            .iter()
            .map(|(path, content)| {
                let mut lines: Vec<&[u8]> = content.split(|&byte| byte == b'\n').collect();
                lines.reverse();
                (path.clone(), lines.join(&b'\n'))
            })
            .collect();
        run(&reversed);
        // Deterministic byte flips (a linear congruential generator), which
        // also produce invalid UTF-8 and stray quotes and brackets.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let flipped = mutated(&files, |_, line| {
            let mut line = line.to_vec();
            for byte in &mut line {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                if state >> 60 == 0 {
                    let replacements = b"\"{}&\\=: \xff";
                    *byte = replacements[(state >> 32) as usize % replacements.len()];
                }
            }
            line
        });
        run(&flipped);
    }
}
