//! `FileStore`: after the parse, only small files and the files a model
//! still holds stay in memory; the others are read again from the source,
//! checked against the size and CRC-32 taken at load.

use std::path::Path;

use node_bundle::{BundleError, KEEP_BELOW, Limits, StoredFile, read_path, read_tar_gz};

use crate::{BUNDLE_NAME, gzip, write_tree};

/// A bundle with two files over the keep threshold: a conntrack table
/// (parsed, then released) and a kubelet journal (its model slices into
/// the file, so the file stays).
fn large_tree() -> Vec<(&'static str, Vec<u8>)> {
    let flow = "ipv4     2 tcp      6 431999 ESTABLISHED src=10.0.1.23 dst=10.0.2.44 sport=43512 dport=443 src=10.0.2.44 dst=10.0.1.23 sport=443 dport=43512 [ASSURED] mark=0 zone=0 use=2\n";
    let journal = "Nov 20 09:00:01 ip-10-0-1-23.us-west-2.compute.internal kubelet[1234]: I1120 09:00:01.000000    1234 kubelet_node_status.go:76] \"Successfully registered node\" node=\"ip-10-0-1-23.us-west-2.compute.internal\"\n";
    let repeat = |line: &str| {
        line.repeat(KEEP_BELOW as usize / line.len() + 10)
            .into_bytes()
    };
    vec![
        ("networking/conntrack.txt", repeat(flow)),
        ("kubelet/kubelet.log", repeat(journal)),
        ("system/instance-id.txt", b"i-0123456789abcdef0\n".to_vec()),
        ("system/region.txt", b"us-west-2\n".to_vec()),
    ]
}

fn write_large(root: &Path) {
    let tree = large_tree();
    let borrowed: Vec<(&str, &[u8])> = tree.iter().map(|(p, c)| (*p, &c[..])).collect();
    write_tree(&root.join(BUNDLE_NAME), &borrowed);
}

#[track_caller]
fn check_released(store: &node_bundle::FileStore, path: &str, expect: &[u8]) {
    assert!(
        matches!(store.get(path), Some(StoredFile::Released { .. })),
        "{path}: {:?}",
        store.get(path).map(|f| f.len())
    );
    assert_eq!(store.get(path).unwrap().len(), expect.len() as u64);
    let again = store.read(path).unwrap().expect("read again");
    assert_eq!(again.as_bytes(), expect, "{path}");
}

#[test]
fn a_directory_bundle_keeps_what_the_snapshot_holds_and_rereads_the_rest() {
    let scratch = tempfile::tempdir().unwrap();
    write_large(scratch.path());
    let files = read_path(scratch.path(), &Limits::default()).unwrap();
    let lent = files.snapshot();
    let (snapshot, store) = files.into_snapshot_and_store();
    assert_eq!(
        serde_json::to_value(&lent).unwrap(),
        serde_json::to_value(&snapshot).unwrap()
    );
    let tree = large_tree();
    let flows = tree[0].1.iter().filter(|&&b| b == b'\n').count();
    assert_eq!(
        snapshot.conntrack.as_ref().unwrap().value.table.len(),
        flows
    );

    check_released(&store, "networking/conntrack.txt", &tree[0].1);
    assert!(
        matches!(store.get("kubelet/kubelet.log"), Some(StoredFile::Kept(_))),
        "the journal model holds its file"
    );
    assert!(matches!(
        store.get("system/region.txt"),
        Some(StoredFile::Kept(_))
    ));
    assert_eq!(
        store.kept_bytes(),
        (tree[1].1.len() + tree[2].1.len() + tree[3].1.len()) as u64
    );
    assert_eq!(store.lines("networking/conntrack.txt"), Some(flows as u64));
    assert!(store.read("no/such/file").unwrap().is_none());

    // Changed on disk after the load: refused, not shown.
    let on_disk = scratch
        .path()
        .join(BUNDLE_NAME)
        .join("networking/conntrack.txt");
    let mut changed = tree[0].1.clone();
    changed[100] ^= 1;
    std::fs::write(&on_disk, &changed).unwrap();
    let error = store.read("networking/conntrack.txt").unwrap_err();
    assert!(matches!(error, BundleError::Changed { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "`networking/conntrack.txt` changed since the bundle was read; take a new snapshot"
    );
    std::fs::remove_file(&on_disk).unwrap();
    assert!(store.read("networking/conntrack.txt").is_err(), "gone");
}

#[test]
fn an_archive_is_reread_from_its_path_but_a_stream_is_kept() {
    let scratch = tempfile::tempdir().unwrap();
    write_large(scratch.path());
    let mut builder = tar::Builder::new(Vec::new());
    builder
        .append_dir_all(BUNDLE_NAME, scratch.path().join(BUNDLE_NAME))
        .unwrap();
    let tar_gz = gzip(&builder.into_inner().unwrap());
    let archive = scratch.path().join(format!("{BUNDLE_NAME}.tar.gz"));
    std::fs::write(&archive, &tar_gz).unwrap();

    let tree = large_tree();
    let (_, store) = read_path(&archive, &Limits::default())
        .unwrap()
        .into_snapshot_and_store();
    check_released(&store, "networking/conntrack.txt", &tree[0].1);

    // Read from a stream, the archive cannot be read again: all kept.
    let (_, store) = read_tar_gz(&tar_gz[..], None, &Limits::default())
        .unwrap()
        .into_snapshot_and_store();
    assert!(
        store
            .iter()
            .all(|(_, file)| matches!(file, StoredFile::Kept(_)))
    );
    assert_eq!(
        store.read("networking/conntrack.txt").unwrap().unwrap(),
        tree[0].1
    );
}

#[test]
fn a_file_read_through_a_link_in_an_archive_is_read_again() {
    let tree = large_tree();
    let flows = &tree[0].1;
    let real = format!("{BUNDLE_NAME}/networking/conntrack.real");
    let link = format!("{BUNDLE_NAME}/networking/conntrack.txt");
    let tar = crate::raw_tar(&[
        (
            crate::raw_header(&real, tar::EntryType::Regular, "", flows.len() as u64),
            &flows[..],
        ),
        (
            crate::raw_header(&link, tar::EntryType::Symlink, "conntrack.real", 0),
            b"",
        ),
    ]);
    let scratch = tempfile::tempdir().unwrap();
    let archive = scratch.path().join(format!("{BUNDLE_NAME}.tar.gz"));
    std::fs::write(&archive, gzip(&tar)).unwrap();
    let (snapshot, store) = read_path(&archive, &Limits::default())
        .unwrap()
        .into_snapshot_and_store();
    assert!(snapshot.conntrack.is_some());
    check_released(&store, "networking/conntrack.txt", flows);
    check_released(&store, "networking/conntrack.real", flows);
}
