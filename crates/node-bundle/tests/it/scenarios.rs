//! The scenario bundles of `fixtures/bundles/`, read as directories and as
//! `.tar.gz` archives built at test time, parsed into snapshots.

use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use node_bundle::{Limits, read_path, read_tar_gz};

fn scenarios() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/bundles");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("README.md").is_file())
        .collect();
    dirs.sort();
    dirs
}

/// Packs the bundle folder inside `scenario` as the collector does.
fn tar_gz_of(scenario: &Path) -> (String, Vec<u8>) {
    let bundle = std::fs::read_dir(scenario)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.is_dir())
        .unwrap();
    let name = bundle.file_name().unwrap().to_string_lossy().into_owned();
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
    builder.append_dir_all(&name, &bundle).unwrap();
    (
        format!("{name}.tar.gz"),
        builder.into_inner().unwrap().finish().unwrap(),
    )
}

#[test]
fn every_scenario_reads_the_same_from_a_directory_and_a_tarball() {
    let scenarios = scenarios();
    assert!(scenarios.len() >= 7, "expected the seven scenario bundles");
    for scenario in scenarios {
        let name = scenario.file_name().unwrap().to_string_lossy().into_owned();
        let from_dir = read_path(&scenario, &Limits::default()).unwrap();
        let (archive_name, archive) = tar_gz_of(&scenario);
        let from_tar = read_tar_gz(&archive[..], Some(archive_name), &Limits::default()).unwrap();
        assert_eq!(from_dir.files, from_tar.files, "{name}: file sets differ");

        let dir_snapshot = from_dir.snapshot();
        let tar_snapshot = from_tar.snapshot();
        assert_eq!(
            dir_snapshot.id, tar_snapshot.id,
            "{name}: snapshot ids differ"
        );
        assert_eq!(
            dir_snapshot.metadata, tar_snapshot.metadata,
            "{name}: metadata differs"
        );
        assert!(
            dir_snapshot.failures.is_empty(),
            "{name}: {:?}",
            dir_snapshot.failures
        );
        assert!(
            dir_snapshot.metadata.instance_id.is_some(),
            "{name}: no instance id"
        );
        assert!(
            dir_snapshot.metadata.collection_time.is_some(),
            "{name}: no collection time"
        );
        let kernel = dir_snapshot.kernel.as_ref().unwrap();
        assert!(
            kernel
                .log
                .value
                .records
                .iter()
                .all(|record| record.wall_time.is_some()),
            "{name}: kernel records without wall time: {:?}",
            kernel.log.value.boot_time
        );

        let report = format!(
            "snapshot {}\n{}\n\n{}",
            dir_snapshot.id,
            serde_json::to_string_pretty(&dir_snapshot.metadata).unwrap(),
            dir_snapshot.coverage
        );
        insta::assert_snapshot!(format!("coverage_{name}"), report);
    }
}

/// Handing the files over (`into_snapshot`, which releases each file's bytes
/// once parsed) gives the same snapshot as lending them (`snapshot`).
#[test]
fn handing_the_files_over_gives_the_same_snapshot() {
    for scenario in scenarios() {
        let name = scenario.file_name().unwrap().to_string_lossy().into_owned();
        let files = read_path(&scenario, &Limits::default()).unwrap();
        let lent = files.snapshot();
        let handed = files.into_snapshot();
        assert_eq!(
            serde_json::to_value(&lent).unwrap(),
            serde_json::to_value(&handed).unwrap(),
            "{name}: snapshots differ"
        );
        assert_eq!(
            lent.kube_view().is_some(),
            handed.kube_view().is_some(),
            "{name}"
        );
    }
}
