//! Integration tests of `findings`: every rule on its fixture cases, the
//! registry's own invariants, and the scenario bundles.

#![allow(clippy::unwrap_used, reason = "test helpers")]

mod docs;
mod registry;
mod rules;
mod scenarios;

use std::path::{Path, PathBuf};

use findings::{Context, Report};
use node_artifacts::snapshot::NodeSnapshot;
use node_bundle::Limits;

/// The node identity used for fixture cases, so that finding ids in the
/// snapshots are stable whatever the case's content.
pub(crate) const FIXTURE_NODE: &str = "i-0f1x7u2e3c4a5s6e7";

/// The repository's `fixtures/` folder.
pub(crate) fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// Reads a bundle folder (scenario or rule case) into a snapshot.
pub(crate) fn snapshot_of(path: &Path) -> NodeSnapshot {
    let bundle = node_bundle::read_path(path, &Limits::default())
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let snapshot = bundle.snapshot();
    assert!(
        snapshot.failures.is_empty(),
        "{}: artifacts refused by their parser: {:?}",
        path.display(),
        snapshot.failures
    );
    snapshot
}

/// Checks a snapshot with the default thresholds and a fixed node identity.
pub(crate) fn check_fixture(snapshot: &NodeSnapshot) -> Report {
    findings::check(
        snapshot,
        &Context {
            node_id: Some(FIXTURE_NODE.to_owned()),
            ..Context::default()
        },
    )
}

/// Sub-folders of `dir`, sorted by name.
pub(crate) fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    dirs
}
