//! Integration tests of `node-bundle`: archives and directories built at test
//! time, including hostile ones, read through the public API.

// clippy.toml allows unwrap inside `#[test]` functions only; the archive
// builders below are test helpers, where a panic is equally a test failure.
#![allow(clippy::unwrap_used, reason = "test helpers")]

mod scenarios;
mod store;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use node_artifacts::shared::FileBytes;
use node_bundle::{
    BundleError, BundleFiles, BundleSource, Limit, Limits, RejectReason, Rejected, read_dir,
    read_path, read_single_file, read_tar_gz,
};
use proptest::prelude::*;

const BUNDLE_NAME: &str = "eks_i-0123456789abcdef0_2025-11-20_0930-UTC_0.7.9";

/// A small but realistic bundle tree: `(root-relative path, content)`.
fn sample_tree() -> Vec<(&'static str, &'static [u8])> {
    vec![
        ("kernel/dmesg.boot", b"[    0.000000] Linux version 6.1.0\n"),
        ("networking/conntrack.txt", b"*** Output of conntrack -S *** \n"),
        ("networking/iptables-save.txt", b"*filter\nCOMMIT\n"),
        ("system/instance-id.txt", b"i-0123456789abcdef0\n"),
        ("system/region.txt", b"us-west-2\n"),
        ("system/availability-zone.txt", b"us-west-2a\n"),
        (
            "kubelet/kubelet.log",
            b"Nov 20 09:00:01 ip-10-0-1-23.us-west-2.compute.internal kubelet[1234]: I1120 09:00:01.000000    1234 kubelet_node_status.go:76] \"Successfully registered node\" node=\"ip-10-0-1-23.us-west-2.compute.internal\"\n",
        ),
        ("var_log/aws-routed-eni/ipamd.log", b"{\"level\":\"info\"}\n"),
        ("storage/empty.txt", b""),
    ]
}

/// Builds a tar with the tar crate's safe Builder.
fn tar_of(entries: &[(String, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, content) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(1_763_631_000);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, path, *content).unwrap();
    }
    builder.into_inner().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// A raw header whose name and link name are written byte for byte, past
/// the checks of `Builder::append_data`, as a hostile archive would.
fn raw_header(name: &str, entry_type: tar::EntryType, link: &str, size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(entry_type);
    header.set_size(size);
    header.set_mode(0o644);
    let bytes = header.as_mut_bytes();
    bytes[..name.len()].copy_from_slice(name.as_bytes());
    bytes[157..157 + link.len()].copy_from_slice(link.as_bytes());
    header.set_cksum();
    header
}

/// `(header, content)` entries appended verbatim.
fn raw_tar(entries: &[(tar::Header, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (header, content) in entries {
        builder.append(header, *content).unwrap();
    }
    builder.into_inner().unwrap()
}

#[track_caller]
fn read_gz(bytes: &[u8], limits: &Limits) -> Result<BundleFiles, BundleError> {
    read_tar_gz(bytes, Some(format!("{BUNDLE_NAME}.tar.gz")), limits)
}

#[track_caller]
fn check_rejected(bundle: &BundleFiles, path: &str, expect: RejectReason) {
    let found = bundle.rejected.iter().find(|r| r.path == path);
    assert_eq!(
        found,
        Some(&Rejected {
            path: path.to_owned(),
            reason: expect
        }),
        "rejected: {:?}",
        bundle.rejected
    );
}

#[track_caller]
fn check_limit(result: Result<BundleFiles, BundleError>, expect: Limit) -> (u64, u64) {
    match result {
        Err(BundleError::LimitExceeded { limit, value, max }) => {
            assert_eq!(limit, expect);
            assert!(value > max, "{value} > {max}");
            (value, max)
        }
        other => panic!("expected {expect:?} limit, got {other:?}"),
    }
}

fn paths(bundle: &BundleFiles) -> Vec<&str> {
    bundle.files.keys().map(String::as_str).collect()
}

#[test]
fn archive_with_collector_folder() {
    let entries: Vec<(String, &[u8])> = sample_tree()
        .into_iter()
        .map(|(p, c)| (format!("{BUNDLE_NAME}/{p}"), c))
        .collect();
    let bundle = read_gz(&gzip(&tar_of(&entries)), &Limits::default()).unwrap();
    assert_eq!(bundle.root_prefix, BUNDLE_NAME);
    assert_eq!(bundle.source, BundleSource::Archive(None));
    let expect: Vec<&str> = {
        let mut p: Vec<&str> = sample_tree().into_iter().map(|(p, _)| p).collect();
        p.sort_unstable();
        p
    };
    assert_eq!(paths(&bundle), expect);
    assert_eq!(bundle.get("system/region.txt"), Some(&b"us-west-2\n"[..]));
    assert_eq!(bundle.get("storage/empty.txt"), Some(&b""[..]));
    let total: usize = sample_tree().iter().map(|(_, c)| c.len()).sum();
    assert_eq!(bundle.total_bytes, total as u64);
    assert!(bundle.rejected.is_empty());
    assert_eq!(bundle.truncated, None);
    assert_eq!(
        bundle.newest_file_time.map(|t| t.to_string()).as_deref(),
        Some("2025-11-20T09:30:00.000000Z")
    );

    let meta = bundle.metadata();
    assert_eq!(meta.instance_id.as_deref(), Some("i-0123456789abcdef0"));
    assert_eq!(meta.region.as_deref(), Some("us-west-2"));
    assert_eq!(meta.availability_zone.as_deref(), Some("us-west-2a"));
    assert_eq!(meta.collector_version.as_deref(), Some("0.7.9"));
    assert_eq!(
        meta.node_name.as_deref(),
        Some("ip-10-0-1-23.us-west-2.compute.internal")
    );
    assert!(meta.notes.is_empty(), "{:?}", meta.notes);
}

#[test]
fn archive_root_variants() {
    for prefix in ["./", "", "tmp/eks-log-collector/", "/./"] {
        let entries: Vec<(String, &[u8])> = sample_tree()
            .into_iter()
            .map(|(p, c)| (format!("{prefix}{p}"), c))
            .collect();
        let tar = if prefix.starts_with('/') {
            // An absolute prefix is refused entry by entry.
            raw_tar(
                &entries
                    .iter()
                    .map(|(p, c)| {
                        (
                            raw_header(p, tar::EntryType::Regular, "", c.len() as u64),
                            *c,
                        )
                    })
                    .collect::<Vec<_>>(),
            )
        } else {
            tar_of(&entries)
        };
        let bundle = read_gz(&gzip(&tar), &Limits::default()).unwrap();
        if prefix.starts_with('/') {
            assert!(bundle.files.is_empty());
            assert_eq!(bundle.rejected.len(), entries.len());
            assert!(
                bundle
                    .rejected
                    .iter()
                    .all(|r| r.reason == RejectReason::AbsolutePath)
            );
        } else {
            assert!(bundle.files.contains_key("kernel/dmesg.boot"), "{prefix}");
            assert_eq!(
                bundle.root_prefix,
                prefix.trim_start_matches("./").trim_end_matches('/')
            );
        }
    }
}

#[test]
fn hostile_entries_are_refused() {
    let ok: &[u8] = b"fine\n";
    let tar = raw_tar(&[
        (
            raw_header(
                &format!("{BUNDLE_NAME}/kernel/dmesg.boot"),
                tar::EntryType::Regular,
                "",
                5,
            ),
            ok,
        ),
        (
            raw_header("../etc/passwd", tar::EntryType::Regular, "", 5),
            ok,
        ),
        (
            raw_header(
                &format!("{BUNDLE_NAME}/../../x"),
                tar::EntryType::Regular,
                "",
                5,
            ),
            ok,
        ),
        (raw_header("/abs", tar::EntryType::Regular, "", 5), ok),
        (
            raw_header(
                &format!("{BUNDLE_NAME}/system/etc"),
                tar::EntryType::Symlink,
                "/etc",
                0,
            ),
            b"",
        ),
        (
            raw_header(
                &format!("{BUNDLE_NAME}/system/up"),
                tar::EntryType::Symlink,
                "../../../etc/passwd",
                0,
            ),
            b"",
        ),
        (
            raw_header(
                &format!("{BUNDLE_NAME}/system/hard"),
                tar::EntryType::Link,
                "../etc/shadow",
                0,
            ),
            b"",
        ),
        (
            raw_header(
                &format!("{BUNDLE_NAME}/system/hard2"),
                tar::EntryType::Link,
                "other/file",
                0,
            ),
            b"",
        ),
        (
            raw_header(
                &format!("{BUNDLE_NAME}/system/tty"),
                tar::EntryType::Char,
                "",
                0,
            ),
            b"",
        ),
        (
            raw_header(
                &format!("{BUNDLE_NAME}/system/sda"),
                tar::EntryType::Block,
                "",
                0,
            ),
            b"",
        ),
        (
            raw_header(
                &format!("{BUNDLE_NAME}/system/pipe"),
                tar::EntryType::Fifo,
                "",
                0,
            ),
            b"",
        ),
        // Links that stay inside resolve to a copy of their target, even
        // when the target comes later in the stream.
        (
            raw_header(
                &format!("{BUNDLE_NAME}/kernel/dmesg.link"),
                tar::EntryType::Symlink,
                "dmesg.boot",
                0,
            ),
            b"",
        ),
        (
            raw_header(
                &format!("{BUNDLE_NAME}/system/early"),
                tar::EntryType::Symlink,
                "late.txt",
                0,
            ),
            b"",
        ),
        (
            raw_header(
                &format!("{BUNDLE_NAME}/kernel/dmesg.hard"),
                tar::EntryType::Link,
                &format!("./{BUNDLE_NAME}/kernel/dmesg.boot"),
                0,
            ),
            b"",
        ),
        (
            raw_header(
                &format!("{BUNDLE_NAME}/system/late.txt"),
                tar::EntryType::Regular,
                "",
                5,
            ),
            ok,
        ),
        (
            raw_header(
                &format!("{BUNDLE_NAME}/system/loop"),
                tar::EntryType::Symlink,
                "loop",
                0,
            ),
            b"",
        ),
    ]);
    let bundle = read_gz(&gzip(&tar), &Limits::default()).unwrap();
    assert_eq!(
        paths(&bundle),
        [
            "kernel/dmesg.boot",
            "kernel/dmesg.hard",
            "kernel/dmesg.link",
            "system/early",
            "system/late.txt"
        ]
    );
    assert!(bundle.files.values().all(|c| *c == *ok));
    assert_eq!(bundle.total_bytes, 25);
    check_rejected(&bundle, "../etc/passwd", RejectReason::PathTraversal);
    check_rejected(
        &bundle,
        &format!("{BUNDLE_NAME}/../../x"),
        RejectReason::PathTraversal,
    );
    check_rejected(&bundle, "/abs", RejectReason::AbsolutePath);
    let link = |name: &str| format!("{BUNDLE_NAME}/system/{name}");
    let outside = |target: &str| RejectReason::LinkOutside {
        target: target.to_owned(),
    };
    check_rejected(&bundle, &link("etc"), outside("/etc"));
    check_rejected(&bundle, &link("up"), outside("../../../etc/passwd"));
    check_rejected(&bundle, &link("hard"), outside("../etc/shadow"));
    // `other/file` stays in the archive but not inside the bundle root.
    check_rejected(&bundle, &link("hard2"), outside("other/file"));
    check_rejected(&bundle, &link("tty"), RejectReason::DeviceFile);
    check_rejected(&bundle, &link("sda"), RejectReason::DeviceFile);
    check_rejected(&bundle, &link("pipe"), RejectReason::Fifo);
    check_rejected(
        &bundle,
        &link("loop"),
        RejectReason::LinkUnresolved {
            target: "loop".to_owned(),
        },
    );
    assert_eq!(bundle.rejected.len(), 11, "{:#?}", bundle.rejected);
    assert_eq!(
        bundle.rejected[0].reason.to_string(),
        "path has a `..` segment"
    );
    let row = bundle.rejected[0].coverage();
    assert_eq!(row.path, "../etc/passwd");
    assert_eq!(
        row.status,
        node_artifacts::layout::CoverageStatus::Rejected {
            reason: "path has a `..` segment".to_owned()
        }
    );
}

/// One gzip member holding a tar header that announces `size` bytes, then
/// `megabytes` members of 1 MiB of zeros each: a decompression bomb built
/// without compressing the whole payload.
fn zero_bomb(size: u64, megabytes: usize) -> Vec<u8> {
    let header = raw_header(
        &format!("{BUNDLE_NAME}/var_log/messages"),
        tar::EntryType::Regular,
        "",
        size,
    );
    let mut out = gzip(header.as_bytes());
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(&vec![0u8; 1 << 20]).unwrap();
    let member = encoder.finish().unwrap();
    for _ in 0..megabytes {
        out.extend_from_slice(&member);
    }
    out
}

#[test]
fn gzip_bomb_stops_on_the_ratio_limit() {
    // 900 MiB announced (within the default file and total limits), about
    // 1000:1 compressed: the default limits stop it after ~8 MiB.
    let bomb = zero_bomb(900 << 20, 900);
    assert!(bomb.len() < 2 << 20, "bomb is {} bytes", bomb.len());
    let started = std::time::Instant::now();
    let (ratio, max) = check_limit(read_gz(&bomb, &Limits::default()), Limit::CompressionRatio);
    assert_eq!(max, 200);
    assert!(ratio > 200, "ratio {ratio}");
    assert!(started.elapsed().as_secs() < 10);
    let message = read_gz(&bomb, &Limits::default()).unwrap_err().to_string();
    assert!(
        message.starts_with("compression ratio limit exceeded: "),
        "{message}"
    );
    assert!(message.ends_with(":1 > 200:1"), "{message}");

    // Raised limits let the same stream through until the file is read.
    let raised = Limits {
        max_compression_ratio: 2000,
        ..Limits::default()
    };
    let bomb = zero_bomb(16 << 20, 16);
    let bundle = read_gz(&bomb, &raised).unwrap();
    assert_eq!(bundle.total_bytes, 16 << 20);
}

#[test]
fn size_and_count_limits() {
    let big = vec![b'x'; 4096];
    let entries: Vec<(String, &[u8])> = (0..11)
        .map(|i| (format!("{BUNDLE_NAME}/var_log/f{i}"), &big[..]))
        .collect();
    let tar = gzip(&tar_of(&entries));

    let few = Limits {
        max_entries: 10,
        ..Limits::default()
    };
    assert_eq!(check_limit(read_gz(&tar, &few), Limit::Entries), (11, 10));

    let small_files = Limits {
        max_file_bytes: 4095,
        ..Limits::default()
    };
    assert_eq!(
        check_limit(read_gz(&tar, &small_files), Limit::FileBytes),
        (4096, 4095)
    );

    let small_total = Limits {
        max_total_bytes: 10 * 4096,
        ..Limits::default()
    };
    assert_eq!(
        check_limit(read_gz(&tar, &small_total), Limit::TotalBytes),
        (11 * 4096, 10 * 4096)
    );
    let message = read_gz(&tar, &small_total).unwrap_err().to_string();
    assert_eq!(
        message,
        "total size limit exceeded: 45056 bytes > 40960 bytes"
    );

    // Exactly at the limits passes.
    let exact = Limits {
        max_entries: 11,
        max_file_bytes: 4096,
        max_total_bytes: 11 * 4096,
        ..Limits::default()
    };
    assert_eq!(read_gz(&tar, &exact).unwrap().files.len(), 11);

    // A header that lies about a huge size is refused before any read.
    let liar = raw_tar(&[(
        raw_header("kernel/dmesg.boot", tar::EntryType::Regular, "", 5 << 30),
        b"",
    )]);
    check_limit(read_gz(&gzip(&liar), &Limits::default()), Limit::FileBytes);
}

#[test]
fn damaged_archives() {
    let entries: Vec<(String, &[u8])> = vec![
        ("kernel/dmesg.boot".to_owned(), &[b'a'; 3000][..]),
        ("system/region.txt".to_owned(), &[b'b'; 3000][..]),
    ];
    let tar = tar_of(&entries);

    // Cut in the middle of the second file: the first is kept.
    let cut = gzip(&tar[..512 + 3072 + 512 + 1000]);
    let bundle = read_gz(&cut, &Limits::default()).unwrap();
    assert_eq!(paths(&bundle), ["kernel/dmesg.boot"]);
    assert!(bundle.truncated.is_some());
    check_rejected(&bundle, "system/region.txt", RejectReason::Truncated);

    // Not gzip at all.
    let error = read_gz(b"hello, this is not an archive", &Limits::default()).unwrap_err();
    assert!(matches!(error, BundleError::Archive { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .starts_with("not a readable tar archive: ")
    );

    // Gzip, but not tar.
    let error = read_gz(&gzip(&[b'z'; 2048]), &Limits::default()).unwrap_err();
    assert!(matches!(error, BundleError::Archive { .. }), "{error:?}");

    // Empty archive: no files, no error.
    let empty = read_gz(&gzip(&tar_of(&[])), &Limits::default()).unwrap();
    assert!(empty.files.is_empty());
}

#[test]
fn link_chains_resolve_within_bounds() {
    let ok: &[u8] = b"data";
    let mut entries = vec![(
        raw_header("kernel/dmesg.boot", tar::EntryType::Regular, "", 4),
        ok,
    )];
    // kernel/l1 -> dmesg.boot, kernel/l2 -> l1, … kernel/l12 -> l11.
    for i in 1..=12 {
        let target = if i == 1 {
            "dmesg.boot".to_owned()
        } else {
            format!("l{}", i - 1)
        };
        entries.push((
            raw_header(&format!("kernel/l{i}"), tar::EntryType::Symlink, &target, 0),
            b"",
        ));
    }
    let bundle = read_gz(&gzip(&raw_tar(&entries)), &Limits::default()).unwrap();
    // Up to 8 hops past the first link resolve; longer chains are refused.
    for i in 1..=9 {
        assert_eq!(bundle.get(&format!("kernel/l{i}")), Some(ok), "l{i}");
    }
    for i in 10..=12 {
        check_rejected(
            &bundle,
            &format!("kernel/l{i}"),
            RejectReason::LinkUnresolved {
                target: format!("l{}", i - 1),
            },
        );
    }
    // Copies count against the total limit like files do.
    let tight = Limits {
        max_total_bytes: 4 * 5,
        ..Limits::default()
    };
    check_limit(
        read_gz(&gzip(&raw_tar(&entries)), &tight),
        Limit::TotalBytes,
    );
}

#[test]
fn compressible_files_under_the_grace_pass() {
    // 4 MiB of spaces compresses about 1000:1 but stays under the 8 MiB
    // grace: a legitimate padded file is not a bomb.
    let spaces = vec![b' '; 4 << 20];
    let tar = tar_of(&[("var_log/messages".to_owned(), &spaces[..])]);
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(&tar).unwrap();
    let bundle = read_gz(&encoder.finish().unwrap(), &Limits::default()).unwrap();
    assert_eq!(bundle.total_bytes, 4 << 20);
}

#[test]
fn duplicate_paths_keep_the_last() {
    let tar = tar_of(&[
        ("kernel/dmesg.boot".to_owned(), b"one"),
        ("./kernel/dmesg.boot".to_owned(), b"second"),
    ]);
    let bundle = read_gz(&gzip(&tar), &Limits::default()).unwrap();
    assert_eq!(bundle.get("kernel/dmesg.boot"), Some(&b"second"[..]));
    assert_eq!(bundle.total_bytes, 6);
    check_rejected(&bundle, "kernel/dmesg.boot", RejectReason::Duplicate);
}

fn write_tree(root: &Path, tree: &[(&str, &[u8])]) {
    for (path, content) in tree {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
}

#[test]
fn directory_and_archive_read_the_same() {
    let scratch = tempfile::tempdir().unwrap();
    let bundle_dir = scratch.path().join(BUNDLE_NAME);
    write_tree(&bundle_dir, &sample_tree());

    // The archive the collector would write: `tar -czf` of the folder.
    let mut builder = tar::Builder::new(Vec::new());
    builder.append_dir_all(BUNDLE_NAME, &bundle_dir).unwrap();
    let tar_gz = gzip(&builder.into_inner().unwrap());
    let archive_path = scratch.path().join(format!("{BUNDLE_NAME}.tar.gz"));
    std::fs::write(&archive_path, &tar_gz).unwrap();

    let from_dir = read_dir(&bundle_dir, &Limits::default()).unwrap();
    let from_parent = read_path(scratch.path(), &Limits::default()).unwrap();
    let from_archive = read_path(&archive_path, &Limits::default()).unwrap();
    let from_stream = read_tar_gz(&tar_gz[..], None, &Limits::default()).unwrap();

    let expect: BTreeMap<String, FileBytes> = sample_tree()
        .into_iter()
        .map(|(p, c)| (p.to_owned(), FileBytes::from(c)))
        .collect();
    for bundle in [&from_dir, &from_parent, &from_archive, &from_stream] {
        assert_eq!(bundle.files, expect);
        assert_eq!(bundle.snapshot_id(), from_dir.snapshot_id());
        assert!(bundle.rejected.is_empty());
    }
    assert_eq!(from_dir.name.as_deref(), Some(BUNDLE_NAME));
    assert_eq!(from_parent.name.as_deref(), Some(BUNDLE_NAME));
    assert_eq!(from_archive.name, Some(format!("{BUNDLE_NAME}.tar.gz")));
    assert_eq!(
        from_archive.source,
        BundleSource::Archive(Some(archive_path))
    );
    // The stream has no name, but the root folder carries the same facts.
    assert_eq!(from_stream.collector_name(), Some(BUNDLE_NAME));
    assert_eq!(from_stream.metadata(), from_archive.metadata());
    assert_eq!(
        from_dir.metadata().collection_time,
        from_archive.metadata().collection_time
    );
}

#[test]
fn scenario_folder_with_readme() {
    let scratch = tempfile::tempdir().unwrap();
    write_tree(scratch.path(), &[("README.md", b"# scenario\n")]);
    write_tree(&scratch.path().join(BUNDLE_NAME), &sample_tree());
    let bundle = read_path(scratch.path(), &Limits::default()).unwrap();
    assert!(!bundle.files.contains_key("README.md"));
    assert_eq!(bundle.files.len(), sample_tree().len());

    // A folder of loose artifacts (no collector layout) keeps its paths, and
    // its collection time falls back to the file times.
    let loose = tempfile::tempdir().unwrap();
    write_tree(
        loose.path(),
        &[("conntrack.txt", b"x"), ("notes/a.txt", b"y")],
    );
    let bundle = read_path(loose.path(), &Limits::default()).unwrap();
    assert_eq!(paths(&bundle), ["conntrack.txt", "notes/a.txt"]);
    assert_eq!(bundle.root_prefix, "");
    let meta = bundle.metadata();
    assert_eq!(
        meta.collection_time_source,
        node_artifacts::layout::CollectionTimeSource::FileTimes
    );
}

#[test]
fn directory_links_and_special_files() {
    let scratch = tempfile::tempdir().unwrap();
    let outside = scratch.path().join("secret.txt");
    std::fs::write(&outside, "do not read").unwrap();
    let root = scratch.path().join("bundle");
    write_tree(&root, &sample_tree());
    let link =
        |target: &Path, name: &str| std::os::unix::fs::symlink(target, root.join(name)).unwrap();
    link(&outside, "system/outside-abs");
    link(Path::new("../../secret.txt"), "system/outside-rel");
    link(Path::new("/etc"), "system/etc");
    link(Path::new("region.txt"), "system/region-link.txt");
    link(Path::new("../kernel"), "system/kernel-dir");
    link(Path::new("missing.txt"), "system/dangling");

    let bundle = read_dir(&root, &Limits::default()).unwrap();
    assert_eq!(
        bundle.get("system/region-link.txt"),
        Some(&b"us-west-2\n"[..])
    );
    assert!(
        bundle
            .files
            .values()
            .all(|content| content != b"do not read")
    );
    let outside_reason = |target: &str| RejectReason::LinkOutside {
        target: target.to_owned(),
    };
    check_rejected(
        &bundle,
        "system/outside-abs",
        outside_reason(&outside.to_string_lossy()),
    );
    check_rejected(
        &bundle,
        "system/outside-rel",
        outside_reason("../../secret.txt"),
    );
    check_rejected(&bundle, "system/etc", outside_reason("/etc"));
    check_rejected(
        &bundle,
        "system/kernel-dir",
        RejectReason::LinkUnresolved {
            target: "../kernel".to_owned(),
        },
    );
    check_rejected(
        &bundle,
        "system/dangling",
        RejectReason::LinkUnresolved {
            target: "missing.txt".to_owned(),
        },
    );

    // A FIFO is never opened (opening it would block the reader).
    let fifo = root.join("system/pipe");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|status| status.success()) {
        let bundle = read_dir(&root, &Limits::default()).unwrap();
        check_rejected(&bundle, "system/pipe", RejectReason::Fifo);
    } else {
        println!("note: mkfifo unavailable; FIFO case not exercised");
    }

    let few = Limits {
        max_entries: 5,
        ..Limits::default()
    };
    check_limit(read_dir(&root, &few), Limit::Entries);
    let small = Limits {
        max_total_bytes: 100,
        ..Limits::default()
    };
    check_limit(read_dir(&root, &small), Limit::TotalBytes);
}

#[test]
fn read_path_sniffs_content_not_extension() {
    let scratch = tempfile::tempdir().unwrap();
    let entries: Vec<(String, &[u8])> = sample_tree()
        .into_iter()
        .map(|(p, c)| (p.to_owned(), c))
        .collect();
    let tar = tar_of(&entries);
    let gz_path = scratch.path().join("upload.bin");
    std::fs::write(&gz_path, gzip(&tar)).unwrap();
    let plain_path = scratch.path().join("bundle.tar.gz");
    std::fs::write(&plain_path, &tar).unwrap();
    let text_path = scratch.path().join("notes.tar.gz");
    std::fs::write(&text_path, "just text").unwrap();

    let from_gz = read_path(&gz_path, &Limits::default()).unwrap();
    let from_plain = read_path(&plain_path, &Limits::default()).unwrap();
    assert_eq!(from_gz.files, from_plain.files);
    assert_eq!(from_gz.files.len(), entries.len());
    let error = read_path(&text_path, &Limits::default()).unwrap_err();
    assert!(matches!(error, BundleError::NotABundle { .. }), "{error:?}");
    let error = read_path(&scratch.path().join("absent"), &Limits::default()).unwrap_err();
    assert!(matches!(error, BundleError::Io { .. }), "{error:?}");
}

#[test]
fn single_files_are_filed_under_their_kind() {
    let scratch = tempfile::tempdir().unwrap();
    let path = scratch.path().join("ct.out");
    std::fs::write(&path, "tcp      6 431999 ESTABLISHED\n").unwrap();
    let bundle = read_single_file(&path, "conntrack", &Limits::default()).unwrap();
    assert_eq!(paths(&bundle), ["networking/conntrack.txt"]);
    assert_eq!(bundle.total_bytes, 30);
    assert!(matches!(bundle.source, BundleSource::SingleFile { .. }));
    let bundle = read_single_file(&path, "nodeadm-journal", &Limits::default()).unwrap();
    assert_eq!(paths(&bundle), ["nodeadm/nodeadm-run.log"]);

    for name in ["no-such-kind", "recognised", "unknown", ""] {
        let error = read_single_file(&path, name, &Limits::default()).unwrap_err();
        assert!(
            matches!(error, BundleError::UnknownKind { .. }),
            "{name}: {error:?}"
        );
    }
    let small = Limits {
        max_file_bytes: 10,
        ..Limits::default()
    };
    check_limit(
        read_single_file(&path, "conntrack", &small),
        Limit::FileBytes,
    );
    let error = read_single_file(scratch.path(), "conntrack", &Limits::default()).unwrap_err();
    assert!(matches!(error, BundleError::NotABundle { .. }), "{error:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary bytes, raw or gzipped, never panic the reader.
    #[test]
    fn arbitrary_streams_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let limits = Limits::default();
        let _ = read_tar_gz(&bytes[..], None, &limits);
        let _ = read_tar_gz(&gzip(&bytes)[..], None, &limits);
    }

    /// Mutated valid archives never panic and never yield unsafe paths.
    #[test]
    fn mutated_archives_stay_safe(flips in proptest::collection::vec((0usize..4096, any::<u8>()), 1..16)) {
        let entries: Vec<(String, &[u8])> = sample_tree()
            .into_iter()
            .map(|(p, c)| (format!("{BUNDLE_NAME}/{p}"), c))
            .collect();
        let mut tar = tar_of(&entries);
        for (at, byte) in flips {
            let at = at % tar.len();
            tar[at] = byte;
        }
        if let Ok(bundle) = read_tar_gz(&gzip(&tar)[..], None, &Limits::default()) {
            for path in bundle.files.keys() {
                prop_assert!(!path.starts_with('/'));
                prop_assert!(!path.split('/').any(|s| s == ".." || s == "." || s.is_empty()), "{}", path);
            }
        }
    }
}
