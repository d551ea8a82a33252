//! Integration tests of `analysis`: traces, comparisons and timelines on the
//! scenario bundles and the trace fixtures.

#![allow(clippy::unwrap_used, reason = "test helpers")]

mod compare;
mod timeline;
mod trace;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use findings::{Context, Report};
use node_artifacts::shared::FileBytes;
use node_artifacts::snapshot::{NodeSnapshot, SnapshotInput};
use node_bundle::Limits;

/// The node identity used when checking scenarios, so finding ids are stable.
pub(crate) const FIXTURE_NODE: &str = "i-0f1x7u2e3c4a5s6e7";

/// The repository's `fixtures/` folder.
pub(crate) fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// Reads a scenario bundle (`fixtures/bundles/<name>`) into a snapshot.
pub(crate) fn scenario(name: &str) -> NodeSnapshot {
    let path = fixtures().join("bundles").join(name);
    let bundle = node_bundle::read_path(&path, &Limits::default())
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    bundle.snapshot()
}

/// The findings of a snapshot with a fixed node identity.
pub(crate) fn report(snapshot: &NodeSnapshot) -> Report {
    findings::check(
        snapshot,
        &Context {
            node_id: Some(FIXTURE_NODE.to_owned()),
            ..Context::default()
        },
    )
}

/// A snapshot of the given files (bundle path → fixture file under
/// `fixtures/`).
pub(crate) fn snapshot_of(files: &[(&str, &str)]) -> NodeSnapshot {
    let files: BTreeMap<String, FileBytes> = files
        .iter()
        .map(|(path, fixture)| {
            let content = std::fs::read(fixtures().join(fixture))
                .unwrap_or_else(|error| panic!("{fixture}: {error}"));
            ((*path).to_owned(), FileBytes::new(content))
        })
        .collect();
    NodeSnapshot::build(SnapshotInput {
        name: None,
        files: &files,
        rejected: &[],
        newest_file_time: None,
    })
}
