//! dmesg parser tests: util-linux conformance, node-problem-detector events,
//! project fixtures (snapshots), alignment and properties.

#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "test helpers: a panic is a test failure with a backtrace, and a skip note goes to stderr"
)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use node_artifacts::Parsed;
use node_artifacts::dmesg::{
    self, AlignError, BootTime, Caller, Facility, Format, KernelEventKind, KernelLog, Level,
    PriorityStyle, TimeStyle,
};
use node_artifacts::shared::FileBytes;
use node_artifacts::time::Timestamp;
use proptest::prelude::*;

/// The boot time util-linux's tests use (`DMESG_TEST_BOOTIME`).
const UTIL_LINUX_BOOT: Timestamp = Timestamp(1_234_567_890_123_456);

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/dmesg")
}

/// Reads a corpus file, or prints a note and returns `None` when the corpus
/// is absent (it is not part of the repository).
fn corpus(name: &str) -> Option<Vec<u8>> {
    let path = corpus_dir().join(name);
    match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(err) => {
            eprintln!(
                "skipping: corpus file {} not readable: {err}",
                path.display()
            );
            None
        }
    }
}

fn corpus_text(name: &str) -> Option<String> {
    corpus(name).map(|bytes| String::from_utf8(bytes).expect("corpus file is UTF-8"))
}

fn parse_ok(input: &str) -> Parsed<KernelLog> {
    dmesg::parse(input).expect("input is a kernel log")
}

/// What util-linux's `--json` output says of one record.
#[derive(Debug, PartialEq)]
struct Expected {
    pri: u32,
    time_us: u64,
    caller: Option<String>,
    msg: String,
}

fn expected_json(name: &str) -> Option<Vec<Expected>> {
    let text = corpus_text(name)?;
    let value: serde_json::Value = serde_json::from_str(&text).expect("expected json parses");
    Some(
        value["dmesg"]
            .as_array()
            .expect("dmesg array")
            .iter()
            .map(|entry| Expected {
                pri: u32::try_from(entry["pri"].as_u64().expect("pri")).unwrap(),
                time_us: (entry["time"].as_f64().expect("time") * 1e6).round() as u64,
                caller: entry["caller"].as_str().map(str::to_owned),
                msg: entry["msg"].as_str().expect("msg").to_owned(),
            })
            .collect(),
    )
}

fn as_expected(log: &KernelLog) -> Vec<Expected> {
    log.records
        .iter()
        .map(|record| Expected {
            pri: record
                .facility
                .as_ref()
                .and_then(Facility::code)
                .expect("facility")
                * 8
                + record.level.expect("level").code(),
            time_us: record.since_boot_us.expect("since boot"),
            caller: record.caller.map(|caller| caller.to_string()),
            msg: record.message.to_string(),
        })
        .collect()
}

#[track_caller]
fn check_conformance(input: &str, expected: &str) {
    let (Some(bytes), Some(expected)) = (corpus(input), expected_json(expected)) else {
        return;
    };
    let parsed = dmesg::parse_bytes(&bytes).expect("kernel log");
    assert_eq!(parsed.diagnostics, vec![], "{input}");
    let got = as_expected(&parsed.value);
    assert_eq!(got.len(), expected.len(), "{input}: record count");
    for (got, want) in got.iter().zip(&expected) {
        assert_eq!(got, want, "{input}");
    }
}

#[test]
fn util_linux_syslog_input_matches_json() {
    check_conformance(
        "util-linux__tests_ts_dmesg_input",
        "util-linux__tests_expected_dmesg_json",
    );
}

#[test]
fn util_linux_kmsg_input_matches_json() {
    check_conformance(
        "util-linux__tests_ts_dmesg_kmsg-input",
        "util-linux__tests_expected_dmesg_kmsg-file",
    );
}

#[test]
fn util_linux_caller_input_matches_json() {
    check_conformance(
        "util-linux__tests_ts_dmesg_cid-input",
        "util-linux__tests_expected_dmesg_cid-json",
    );
}

#[test]
fn util_linux_kmsg_input_keeps_dictionary_fields() {
    let Some(bytes) = corpus("util-linux__tests_ts_dmesg_kmsg-input") else {
        return;
    };
    let log = dmesg::parse_bytes(&bytes).unwrap().value;
    assert_eq!(log.format, Format::Kmsg { caller: false });
    let record = log
        .records
        .iter()
        .find(|record| record.seq == Some(438))
        .expect("seq 438");
    assert_eq!(
        record.fields,
        vec![
            ("SUBSYSTEM".into(), "acpi".into()),
            ("DEVICE".into(), "+acpi:PNP0A08:00".into()),
        ]
    );
    assert_eq!(record.lines.first + 2, record.lines.last);
}

/// `dmesg --decode` output of the same input: facility and level names, and
/// the times, agree with the `<N>` form.
#[test]
fn util_linux_decode_output_matches_input() {
    let (Some(input), Some(decoded)) = (
        corpus_text("util-linux__tests_ts_dmesg_input"),
        corpus_text("util-linux__tests_expected_dmesg_decode"),
    ) else {
        return;
    };
    let input = parse_ok(&input).value;
    let decoded = parse_ok(&decoded);
    assert_eq!(decoded.diagnostics, vec![]);
    let decoded = decoded.value;
    assert_eq!(
        decoded.format,
        Format::Text {
            priority: PriorityStyle::Decoded,
            time: TimeStyle::SinceBoot,
            caller: false
        }
    );
    assert_eq!(as_expected(&decoded), as_expected(&input));
    let last = decoded.records.last().unwrap();
    assert_eq!(last.facility, Some(Facility::Local(2)));
    assert_eq!(last.level, Some(Level::Info));
}

/// util-linux's `--decode` and `--json` outputs of one kmsg input with
/// caller ids (the input itself is not in the corpus) describe the same
/// records: parsing the decoded text gives what the JSON says.
#[test]
fn util_linux_caller_kmsg_decode_matches_json() {
    let (Some(decoded), Some(expected)) = (
        corpus_text("util-linux__tests_expected_dmesg_cid-kmsg-decode"),
        expected_json("util-linux__tests_expected_dmesg_cid-kmsg-json"),
    ) else {
        return;
    };
    let parsed = parse_ok(&decoded);
    assert_eq!(parsed.diagnostics, vec![]);
    assert_eq!(as_expected(&parsed.value), expected);
}

/// `--show-delta` output: the since-boot part of `[ secs <delta>]` is read.
#[test]
fn util_linux_delta_output_matches_input() {
    let (Some(input), Some(delta)) = (
        corpus_text("util-linux__tests_ts_dmesg_input"),
        corpus_text("util-linux__tests_expected_dmesg_delta"),
    ) else {
        return;
    };
    let input = parse_ok(&input).value;
    let delta = parse_ok(&delta);
    assert_eq!(delta.diagnostics, vec![]);
    let times = |log: &KernelLog| -> Vec<(Option<u64>, String)> {
        log.records
            .iter()
            .map(|r| (r.since_boot_us, r.message.to_string()))
            .collect()
    };
    assert_eq!(times(&delta.value), times(&input));
}

/// With util-linux's test boot time, wall-clock times equal the `--ctime`
/// and iso columns of `timestamp-format-multiple`.
#[test]
fn util_linux_wall_clock_times_match_ctime_and_iso() {
    let (Some(input), Some(multiple)) = (
        corpus_text("util-linux__tests_ts_dmesg_input"),
        corpus_text("util-linux__tests_expected_dmesg_timestamp-format-multiple"),
    ) else {
        return;
    };
    let log = parse_ok(&input).value.with_boot_time(UTIL_LINUX_BOOT);
    let lines: Vec<&str> = multiple.lines().collect();
    assert_eq!(lines.len(), log.records.len());
    let ctime_format = time::macros::format_description!(
        "[weekday repr:short] [month repr:short] [day padding:space] [hour]:[minute]:[second] [year]"
    );
    let iso_format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second],[subsecond digits:6]+00:00"
    );
    for (record, line) in log.records.iter().zip(lines) {
        let wall = record
            .wall_time
            .expect("boot time is known")
            .to_datetime()
            .unwrap();
        let want = format!(
            "[{:>5}.{:06}] [{}] {} {}",
            record.since_boot_us.unwrap() / 1_000_000,
            record.since_boot_us.unwrap() % 1_000_000,
            wall.format(&ctime_format).unwrap(),
            wall.format(&iso_format).unwrap(),
            record.message
        );
        assert_eq!(line, want);
    }
    // And the columns parse back: the ctime column to the second, the iso
    // column to the microsecond.
    for (record, line) in log.records.iter().zip(multiple.lines()) {
        let without_since_boot = line.split_once("] ").unwrap().1;
        let ctime = parse_ok(without_since_boot).value;
        assert_eq!(
            ctime
                .records
                .get(0)
                .unwrap()
                .wall_time
                .unwrap()
                .unix_seconds(),
            record.wall_time.unwrap().unix_seconds()
        );
        let iso = parse_ok(&ctime.records.get(0).unwrap().message).value;
        assert_eq!(iso.records.get(0).unwrap().wall_time, record.wall_time);
        assert_eq!(iso.records.get(0).unwrap().message, record.message);
    }
}

/// The `indentation` expectations: multi-line messages in each output form
/// are one record with the indentation removed.
#[test]
fn util_linux_multi_line_messages_are_one_record() {
    let (Some(newlines), Some(indentation)) = (
        corpus_text("util-linux__tests_ts_dmesg_newlines"),
        corpus_text("util-linux__tests_expected_dmesg_indentation"),
    ) else {
        return;
    };
    let want = vec!["new\nline".to_owned(), "two\nnew\nlines".to_owned()];
    let messages = |log: &KernelLog| -> Vec<String> {
        log.records.iter().map(|r| r.message.to_string()).collect()
    };
    let raw = parse_ok(&newlines);
    assert_eq!(raw.diagnostics, vec![]);
    assert_eq!(messages(&raw.value), want);
    assert_eq!(raw.value.records.get(1).unwrap().lines.first, 3);
    assert_eq!(raw.value.records.get(1).unwrap().lines.last, 5);
    let lines: Vec<&str> = indentation.lines().collect();
    let blocks: Vec<String> = lines.chunks(5).map(|block| block.join("\n")).collect();
    // Blocks: plain, decode, reltime-delta, notime, reltime, ctime, iso.
    for index in [0, 1, 5, 6] {
        let parsed = parse_ok(&blocks[index]);
        assert_eq!(parsed.diagnostics, vec![], "block {index}");
        assert_eq!(messages(&parsed.value), want, "block {index}");
    }
    let ctime = parse_ok(&blocks[5]).value;
    assert_eq!(
        ctime.records.get(1).unwrap().wall_time,
        Some(Timestamp(1_234_567_892_000_000))
    );
}

/// Alignment recovers util-linux's boot time from a plain and a `--ctime`
/// rendering of the same messages, within the 1 s resolution, and exactly
/// from an iso rendering.
#[test]
fn alignment_recovers_util_linux_boot_time() {
    let (Some(input), Some(multiple)) = (
        corpus_text("util-linux__tests_ts_dmesg_input"),
        corpus_text("util-linux__tests_expected_dmesg_timestamp-format-multiple"),
    ) else {
        return;
    };
    let plain = parse_ok(&input).value;
    let mut ctime_text = String::new();
    let mut iso_text = String::new();
    for line in multiple.lines() {
        // `[since] [ctime] iso message`
        let rest = line.split_once("] ").unwrap().1;
        let (ctime, rest) = rest.split_once("] ").unwrap();
        let (iso, message) = rest.split_once(' ').unwrap();
        writeln!(ctime_text, "{ctime}] {message}").unwrap();
        writeln!(iso_text, "{iso} {message}").unwrap();
    }
    let ctime = parse_ok(&ctime_text).value;
    let alignment = dmesg::align_interval(&plain, &ctime).unwrap();
    assert!(alignment.earliest <= UTIL_LINUX_BOOT && UTIL_LINUX_BOOT < alignment.latest);
    assert_eq!(alignment.pairs, 106);
    assert_eq!(alignment.disagreeing, 0);
    assert_eq!(alignment.boot_time, Timestamp(1_234_567_890_500_000));
    let iso = parse_ok(&iso_text).value;
    assert_eq!(dmesg::align(&plain, &iso), Ok(UTIL_LINUX_BOOT));
    let aligned = plain.with_boot_time_from(alignment.boot_time, alignment.source());
    assert!(matches!(aligned.boot_time, BootTime::Known { .. }));
    // Errors: wrong argument order, and logs with nothing in common.
    assert_eq!(dmesg::align(&ctime, &aligned), Err(AlignError::NoWallClock));
    let other = parse_ok("[Fri Feb 13 23:31:30 2009] something else\n").value;
    assert_eq!(dmesg::align(&aligned, &other), Err(AlignError::NoPairs));
}

#[test]
fn alignment_outvotes_wrong_pairs_and_refuses_disagreement() {
    let plain =
        parse_ok("[    1.000000] a\n[    2.500000] b\n[    3.000000] c\n[    4.000000] d\n").value;
    // `d` is paired with a later instance (the ring buffer wrapped).
    let ctime = parse_ok(
        "[Fri Feb 13 23:31:31 2009] a\n[Fri Feb 13 23:31:32 2009] b\n\
         [Fri Feb 13 23:31:33 2009] c\n[Fri Feb 13 23:59:00 2009] d\n",
    )
    .value;
    let alignment = dmesg::align_interval(&plain, &ctime).unwrap();
    assert_eq!(alignment.pairs, 3);
    assert_eq!(alignment.disagreeing, 1);
    // a: [30, 31), b: [29.5, 30.5), c: [30, 31) → [30, 30.5).
    assert_eq!(alignment.earliest, Timestamp(1_234_567_890_000_000));
    assert_eq!(alignment.latest, Timestamp(1_234_567_890_500_000));
    assert_eq!(alignment.boot_time, Timestamp(1_234_567_890_250_000));
    let other_boot = parse_ok("[Fri Feb 13 23:31:31 2009] a\n[Sat Feb 14 08:00:00 2009] b\n").value;
    assert_eq!(
        dmesg::align(&plain, &other_boot),
        Err(AlignError::Inconsistent {
            pairs: 2,
            agreeing: 1
        })
    );
}

#[test]
fn boot_time_is_unknown_until_given() {
    let log = parse_ok("[    5.000000] hello\n").value;
    assert!(matches!(log.boot_time, BootTime::Unknown { .. }));
    assert_eq!(log.records.get(0).unwrap().wall_time, None);
    let log = log.with_boot_time(UTIL_LINUX_BOOT);
    assert_eq!(
        log.records.get(0).unwrap().wall_time,
        Some(Timestamp(1_234_567_895_123_456))
    );
}

fn events_of(input: &str) -> Vec<KernelEventKind> {
    dmesg::events(&parse_ok(input).value)
        .into_iter()
        .map(|event| event.kind)
        .collect()
}

#[test]
fn node_problem_detector_messages_produce_events() {
    let files = [
        "oom_kill",
        "docker_hung",
        "aufs_umount_hung",
        "divide_zero",
        "readonly_filesystem",
    ];
    let Some(texts) = files
        .iter()
        .map(|name| {
            corpus_text(&format!(
                "node-problem-detector__test_kernel_log_generator_problems_{name}"
            ))
        })
        .collect::<Option<Vec<_>>>()
    else {
        return;
    };
    // OOMKilling.
    let oom = dmesg::events(&parse_ok(&texts[0]).value);
    assert_eq!(oom.len(), 1);
    // The older kernels' `Kill process … or sacrifice child` line is part of it.
    assert_eq!((oom[0].records.first, oom[0].records.last), (0, 1));
    assert!(matches!(
        &oom[0].kind,
        KernelEventKind::OomKill { process, pid: 1012, total_vm_kb: Some(327_128), anon_rss_kb: Some(306_328), file_rss_kb: Some(11_132), shmem_rss_kb: Some(12_345), cgroup_limit: true, .. } if process == "heapster"
    ));
    // TaskHung / DockerHung, with the whole dump grouped.
    for (text, task, pid) in [
        (&texts[1], "docker", 20744),
        (&texts[2], "umount.aufs", 21568),
    ] {
        let log = parse_ok(text).value;
        let events = dmesg::events(&log);
        assert_eq!(events.len(), 1, "{task}");
        assert_eq!(events[0].records.first, 0);
        assert_eq!(events[0].records.last, log.records.len() - 1, "{task}");
        let KernelEventKind::HungTask {
            task: got_task,
            pid: got_pid,
            seconds: 120,
            trace,
        } = &events[0].kind
        else {
            panic!("not a hung task: {:?}", events[0]);
        };
        assert_eq!((got_task.as_str(), *got_pid), (task, pid));
        assert_eq!(trace.frames.len(), 11);
        assert!(!trace.frames[0].reliable);
    }
    // KernelOops (divide error), with registers and trace grouped.
    let log = parse_ok(&texts[3]).value;
    let events = dmesg::events(&log);
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0].records.last, log.records.len() - 1);
    let KernelEventKind::Oops(crash) = &events[0].kind else {
        panic!("not an oops: {:?}", events[0]);
    };
    assert_eq!(crash.process.as_deref(), Some("docker"));
    assert_eq!(crash.pid, Some(1853));
    assert_eq!(crash.cpu, Some(1));
    assert_eq!(crash.tainted.as_deref(), Some("G         C"));
    assert_eq!(crash.trace.frames.len(), 12);
    assert_eq!(crash.trace.frames[1].module.as_deref(), Some("dm_mod"));
    // FilesystemIsReadOnly.
    assert_eq!(
        events_of(&texts[4]),
        vec![KernelEventKind::ReadOnlyRemount {
            filesystem: "EXT4-fs".to_owned(),
            device: Some("sda1".to_owned())
        }]
    );
}

/// node-problem-detector's kernel-monitor patterns, one line each.
#[test]
fn node_problem_detector_rule_lines_produce_events() {
    #[track_caller]
    fn check(line: &str, kind: &str) {
        let events = dmesg::events(&parse_ok(line).value);
        let kinds: Vec<String> = events
            .iter()
            .map(|event| {
                serde_json::to_value(event).unwrap()["kind"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(kinds, vec![kind.to_owned()], "{line}");
    }
    check(
        "unregister_netdevice: waiting for eth0 to become free. Usage count = 2",
        "unregister-netdevice",
    );
    check(
        "BUG: unable to handle kernel NULL pointer dereference at 0000000000000008",
        "kernel-bug",
    );
    check(
        "EXT4-fs error (device sda1): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0",
        "ext4-error",
    );
    check(
        "EXT4-fs warning (device sda1): ext4_dx_add_entry:2461: Directory index full!",
        "ext4-warning",
    );
    check(
        "Buffer I/O error on dev sda1, logical block 0, async page read",
        "block-io-error",
    );
    check(
        "XFS (nvme1n1): Corruption of in-memory data detected.  Shutting down filesystem",
        "xfs-shutdown",
    );
    check(
        "EDAC MC0: 1 CE memory read error on CPU_SrcID#0_Ha#0_Chan#1_DIMM#0 (channel:1 slot:0 page:0x0 offset:0x0 grain:32 syndrome:0x0)",
        "hardware-error",
    );
    check(
        "{1}[Hardware Error]: event severity: corrected",
        "hardware-error",
    );
    check(
        "{1}[Hardware Error]: event severity: recoverable",
        "hardware-error",
    );
    check(
        "{1}[Hardware Error]: event severity: fatal",
        "hardware-error",
    );
}

#[test]
fn systemd_fuzz_kmsg_samples_parse() {
    for (name, device) in [
        ("systemd__test_fuzz_fuzz-journald-kmsg_dev-null", "c1:3"),
        ("systemd__test_fuzz_fuzz-journald-kmsg_loopback", "n1"),
    ] {
        let Some(bytes) = corpus(name) else {
            return;
        };
        let parsed = dmesg::parse_bytes(&bytes).unwrap();
        assert_eq!(parsed.diagnostics, vec![], "{name}");
        let record = &parsed.value.records.get(0).unwrap();
        assert_eq!(parsed.value.records.len(), 1);
        assert_eq!(record.message, "hey");
        assert_eq!(record.facility, Some(Facility::User));
        assert_eq!(record.level, Some(Level::Warn));
        assert_eq!(record.seq, Some(460));
        assert_eq!(record.since_boot_us, Some(1_322_026_586));
        assert_eq!(record.fields, vec![("DEVICE".into(), device.into())]);
    }
}

#[test]
fn binary_input_is_an_error() {
    assert_eq!(
        dmesg::parse("hello\nwor\0ld").map(|_| ()),
        Err(dmesg::Error::Binary { line: 2 })
    );
    assert!(dmesg::parse("").unwrap().value.records.is_empty());
}

#[test]
fn callers_are_read() {
    let log = parse_ok("[    1.000000] [    T42] a\n[    2.000000] [     C3] b\n").value;
    assert_eq!(log.records.get(0).unwrap().caller, Some(Caller::Thread(42)));
    assert_eq!(log.records.get(1).unwrap().caller, Some(Caller::Cpu(3)));
    assert!(matches!(log.format, Format::Text { caller: true, .. }));
}

// ---------------------------------------------------------------------------
// Fixture snapshots.

/// Renders a parse result the way a person reviews it.
fn render(parsed: &Parsed<KernelLog>) -> String {
    let log = &parsed.value;
    let mut out = String::new();
    writeln!(
        out,
        "format: {}",
        serde_json::to_string(&log.format).unwrap()
    )
    .unwrap();
    writeln!(
        out,
        "boot_time: {}",
        serde_json::to_string(&log.boot_time).unwrap()
    )
    .unwrap();
    writeln!(out, "records: {}", log.records.len()).unwrap();
    for (index, record) in log.records.iter().enumerate() {
        let mut head = format!("#{index} L{}", record.lines.first);
        if record.lines.last != record.lines.first {
            write!(head, "-{}", record.lines.last).unwrap();
        }
        if let (Some(facility), Some(level)) = (&record.facility, record.level) {
            write!(head, " {facility}.{level}").unwrap();
        }
        if let Some(seq) = record.seq {
            write!(head, " seq={seq}").unwrap();
        }
        if let Some(us) = record.since_boot_us {
            write!(head, " [{}.{:06}]", us / 1_000_000, us % 1_000_000).unwrap();
        }
        if let Some(wall) = record.wall_time {
            write!(head, " @{wall}").unwrap();
        }
        if let Some(caller) = record.caller {
            write!(head, " {caller}").unwrap();
        }
        let message = record.message.replace('\n', "\n    | ");
        writeln!(out, "{head} | {message}").unwrap();
        for (key, value) in &record.fields {
            writeln!(out, "    {key}={value}").unwrap();
        }
    }
    let events = dmesg::events(log);
    writeln!(out, "events: {}", events.len()).unwrap();
    for event in &events {
        let mut value = serde_json::to_value(&event.kind).unwrap();
        let kind = value["kind"].as_str().unwrap_or("?").to_owned();
        value.as_object_mut().unwrap().remove("kind");
        writeln!(
            out,
            "#{}..#{} {kind} {}",
            event.records.first,
            event.records.last,
            serde_json::to_string(&value).unwrap()
        )
        .unwrap();
    }
    writeln!(out, "diagnostics: {}", parsed.diagnostics.len()).unwrap();
    for unparsed in &log.unparsed {
        writeln!(
            out,
            "L{} {:?}: {}",
            unparsed.line, unparsed.raw, unparsed.reason
        )
        .unwrap();
    }
    out
}

#[test]
fn fixtures() {
    insta::glob!("../../../../fixtures", "dmesg/*.txt", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let parsed = parse_ok(&text);
        assert_eq!(parsed.diagnostics.len(), parsed.value.unparsed.len());
        let name = path.file_name().unwrap().to_string_lossy();
        if name.starts_with("broken") {
            assert!(
                !parsed.diagnostics.is_empty(),
                "{name} should have diagnostics"
            );
        } else {
            assert_eq!(parsed.diagnostics, vec![], "{name}");
        }
        insta::assert_snapshot!(render(&parsed));
    });
}

/// `parse_file` over a file's shared bytes gives the model `parse` gives
/// over its text, for every fixture and corpus sample, and its one-line
/// messages are slices of that very file, not copies.
#[test]
fn parse_file_equals_parse_and_slices_the_file() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/dmesg");
    let mut paths: Vec<PathBuf> = Vec::new();
    for dir in [fixtures.clone(), fixtures.join("bundle"), corpus_dir()] {
        match std::fs::read_dir(&dir) {
            Ok(entries) => paths.extend(entries.map(|entry| entry.unwrap().path())),
            Err(err) => eprintln!("skipping: {} not readable: {err}", dir.display()),
        }
    }
    paths.retain(|path| path.is_file());
    paths.sort();
    assert!(paths.len() >= 10, "fixtures found: {paths:?}");
    let mut sliced = 0usize;
    for path in &paths {
        let bytes = std::fs::read(path).unwrap();
        let file = FileBytes::new(bytes.clone());
        let from_file = dmesg::parse_file(&file);
        let from_bytes = dmesg::parse_bytes(&bytes);
        assert_eq!(from_file, from_bytes, "{}", path.display());
        if let Ok(text) = std::str::from_utf8(&bytes) {
            assert_eq!(from_file, dmesg::parse(text), "{}", path.display());
        }
        let (Ok(parsed), Some(text)) = (from_file, file.as_str()) else {
            continue;
        };
        let range = text.as_bytes().as_ptr_range();
        for record in &parsed.value.records {
            // A one-line message that is not unescaped lies in the file.
            if record.lines.first == record.lines.last
                && text.contains(record.message.as_str())
                && !record.message.is_empty()
            {
                assert!(
                    range.contains(&record.message.as_ptr()),
                    "{}: {:?} is a copy",
                    path.display(),
                    record.message
                );
                sliced += 1;
            }
        }
        // Records packed again from owned ones compare equal.
        let repacked: dmesg::Records = parsed.value.records.iter().collect();
        assert_eq!(repacked, parsed.value.records, "{}", path.display());
        // Serialising the packed records gives what owned records would.
        let json = serde_json::to_value(&parsed.value).unwrap();
        let records: Vec<serde_json::Value> = parsed
            .value
            .records
            .iter()
            .map(|record| serde_json::to_value(&record).unwrap())
            .collect();
        assert_eq!(json["records"], serde_json::Value::Array(records));
    }
    assert!(sliced > 100, "only {sliced} sliced messages");
}

/// The bundle's `dmesg.current` and `dmesg.human.current` of one boot align,
/// and every since-boot record gets a wall-clock time.
#[test]
fn bundle_pair_aligns() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/dmesg/bundle");
    let plain = parse_ok(&std::fs::read_to_string(dir.join("dmesg.current")).unwrap()).value;
    let human = parse_ok(&std::fs::read_to_string(dir.join("dmesg.human.current")).unwrap()).value;
    let alignment = dmesg::align_interval(&plain, &human).unwrap();
    let aligned = plain.with_boot_time_from(alignment.boot_time, alignment.source());
    assert!(aligned.records.iter().all(|r| r.wall_time.is_some()));
    insta::assert_snapshot!(format!(
        "{}\n{}",
        serde_json::to_string_pretty(&alignment).unwrap(),
        serde_json::to_string_pretty(&aligned.boot_time).unwrap()
    ));
    // Every ctime second equals the aligned wall time truncated to a second;
    // the two files hold the same messages in the same order.
    assert_eq!(human.records.len(), aligned.records.len());
    for (record, twin) in human.records.iter().zip(&aligned.records) {
        assert_eq!(record.message, twin.message);
        assert_eq!(
            twin.wall_time.unwrap().unix_seconds(),
            record.wall_time.unwrap().unix_seconds(),
            "{}",
            record.message
        );
    }
    // The boot time that wrote the files lies within the interval.
    let truth = Timestamp(1_736_848_266_734_512);
    assert!(alignment.earliest <= truth && truth < alignment.latest);
}

// ---------------------------------------------------------------------------
// Properties.

fn message_line() -> impl Strategy<Value = String> {
    // Printable text, without a leading `[` (a caller id look-alike) or
    // trailing carriage return.
    "[a-zA-Z0-9 :,.()=/_#<>-]{0,40}"
}

proptest! {
    #[test]
    fn parse_never_panics(input in "\\PC*") {
        let _ = dmesg::parse(&input);
    }

    #[test]
    fn parse_file_equals_parse_bytes(input in proptest::collection::vec(any::<u8>(), 0..512)) {
        prop_assert_eq!(dmesg::parse_file(&FileBytes::new(input.clone())), dmesg::parse_bytes(&input));
    }

    #[test]
    fn parse_bytes_never_panics(input in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(parsed) = dmesg::parse_bytes(&input) {
            let _ = dmesg::events(&parsed.value);
        }
    }

    #[test]
    fn events_never_panic(lines in proptest::collection::vec(
        prop_oneof![
            "\\PC{0,60}",
            Just("INFO: task x:1 blocked for more than 1 seconds.".to_owned()),
            Just(" [<ffffffff81512d45>] ? f+0x1/0x2".to_owned()),
            Just("Killed process 1 (a) total-vm:1kB".to_owned()),
            Just("oom-kill:pid=1".to_owned()),
            Just("BUG: soft lockup - CPU#0 stuck for 1s! [".to_owned()),
            Just("Call Trace:".to_owned()),
            Just("{1}[Hardware Error]: x".to_owned()),
        ],
        0..40,
    )) {
        let text = lines.join("\n");
        if let Ok(parsed) = dmesg::parse(&text) {
            let _ = dmesg::events(&parsed.value);
        }
    }

    /// render → parse → render is the identity for the plain form, and the
    /// records survive.
    #[test]
    fn plain_round_trip(records in proptest::collection::vec(
        (0u64..10_000_000_000_000, proptest::collection::vec(message_line(), 1..4), proptest::option::of(0u32..100_000)),
        1..20,
    )) {
        let mut text = String::new();
        for (us, lines, caller) in &records {
            write!(text, "[{:>5}.{:06}] ", us / 1_000_000, us % 1_000_000).unwrap();
            if let Some(tid) = caller {
                write!(text, "[{:>6}] ", format!("T{tid}")).unwrap();
            }
            let column = text.len() - text.rfind('\n').map_or(0, |at| at + 1);
            text.push_str(&lines.join(&format!("\n{}", " ".repeat(column))));
            text.push('\n');
        }
        let parsed = parse_ok(&text);
        prop_assert_eq!(&parsed.diagnostics, &vec![]);
        prop_assert_eq!(parsed.value.records.len(), records.len());
        for (record, (us, lines, caller)) in parsed.value.records.iter().zip(&records) {
            prop_assert_eq!(record.since_boot_us, Some(*us));
            prop_assert_eq!(record.caller, caller.map(Caller::Thread));
            prop_assert_eq!(record.message.as_str(), lines.join("\n"));
        }
        let rendered = parsed.value.render_plain();
        prop_assert_eq!(&rendered, &text);
        let reparsed = parse_ok(&rendered);
        prop_assert_eq!(reparsed.value, parsed.value);
    }
}
