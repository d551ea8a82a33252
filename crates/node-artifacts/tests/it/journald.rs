//! journald: fixture snapshots, corpus conformance, year inference, export
//! round trips and no-panic properties.

// Test helpers outside `#[test]` functions: a panic is a test failure, and
// a skipped corpus check says so on stdout.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::fmt::Write as _;
use std::path::Path;

use node_artifacts::Parsed;
use node_artifacts::journald::{
    self, Entry, Field, Inner, Journal, JournalFormat, Level, MarkerKind, Message, NamedField,
    ParseOptions, Severity,
};
use node_artifacts::time::Timestamp;
use proptest::prelude::*;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures");
const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/corpus/journald"
);

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(FIXTURES).join("journald").join(name)).unwrap()
}

fn parse_default(input: &[u8]) -> Parsed<Journal> {
    journald::parse(input, &ParseOptions::default()).unwrap()
}

/// `cat` output has nothing to detect, so its fixtures say so by name.
fn parse_fixture(path: &Path, input: &[u8]) -> Parsed<Journal> {
    let is_cat = path.to_string_lossy().ends_with(".cat.log");
    let format = is_cat.then_some(JournalFormat::Cat);
    journald::parse(
        input,
        &ParseOptions {
            reference_time: None,
            format,
        },
    )
    .unwrap()
}

// ---------------------------------------------------------------------------
// Snapshots: one per fixture file, rendered the way a person reads a journal.

#[test]
fn fixture_snapshots() {
    insta::glob!(FIXTURES, "journald/*.{log,json,export}", |path| {
        let input = std::fs::read(path).unwrap();
        let parsed = parse_fixture(path, &input);
        assert_accounted(&input, &parsed);
        insta::assert_snapshot!(render(&parsed));
    });
}

/// Every input line is inside an entry's span, a marker, or unparsed.
fn assert_accounted(input: &[u8], parsed: &Parsed<Journal>) {
    let journal = &parsed.value;
    if matches!(
        journal.format,
        JournalFormat::JsonArray | JournalFormat::JsonPretty
    ) {
        return; // structural lines (`[`, `,`) belong to no entry
    }
    let body = input.strip_suffix(b"\n").unwrap_or(input);
    let n_lines = if input.is_empty() {
        0
    } else {
        body.iter().filter(|&&b| b == b'\n').count() + 1
    };
    let mut covered = vec![false; n_lines + 1];
    for entry in journal.entries() {
        covered[entry.lines.first..=entry.lines.last].fill(true);
    }
    for marker in &journal.markers {
        covered[marker.line] = true;
    }
    for unparsed in &journal.unparsed {
        covered[unparsed.line] = true;
    }
    if journal.format == JournalFormat::Export {
        // Entry separators (empty lines) belong to no entry.
        for (line, window) in (1..).zip(body.split(|&b| b == b'\n')) {
            if window.is_empty() {
                covered[line] = true;
            }
        }
    }
    let missing: Vec<usize> = (1..=n_lines).filter(|&line| !covered[line]).collect();
    assert!(missing.is_empty(), "lines not accounted for: {missing:?}");
    assert!(
        parsed.diagnostics.len() >= journal.unparsed.len(),
        "every unparsed line has a diagnostic"
    );
}

fn render(parsed: &Parsed<Journal>) -> String {
    let journal = &parsed.value;
    let mut out = String::new();
    writeln!(out, "format: {}", journal.format).unwrap();
    for marker in &journal.markers {
        let text = match &marker.kind {
            MarkerKind::LogsBegin { begin, end } => format!(
                "logs-begin begin={} end={}",
                opt_time(*begin),
                opt_time(*end)
            ),
            MarkerKind::Boot { id } => format!("boot {id}"),
            MarkerKind::Reboot => "reboot".to_owned(),
            MarkerKind::NoEntries => "no-entries".to_owned(),
            MarkerKind::EllipsisHint => "ellipsis-hint".to_owned(),
        };
        writeln!(out, "marker L{}: {text}", marker.line).unwrap();
    }
    writeln!(out, "entries: {}", journal.len()).unwrap();
    for entry in journal.entries() {
        render_entry(&entry, &mut out);
    }
    for unparsed in &journal.unparsed {
        writeln!(
            out,
            "unparsed L{}: {} | {:?}",
            unparsed.line, unparsed.reason, unparsed.raw
        )
        .unwrap();
    }
    for diagnostic in &parsed.diagnostics {
        writeln!(
            out,
            "diagnostic L{}: {}",
            diagnostic.line, diagnostic.reason
        )
        .unwrap();
    }
    out
}

fn opt_time(time: Option<Timestamp>) -> String {
    time.map_or_else(|| "-".to_owned(), |t| t.to_string())
}

fn render_entry(entry: &Entry, out: &mut String) {
    let span = if entry.lines.first == entry.lines.last {
        format!("L{}", entry.lines.first)
    } else {
        format!("L{}-{}", entry.lines.first, entry.lines.last)
    };
    let time = match entry.time {
        Some(time) => format!(
            "{} ({:?}{})",
            time.at,
            time.precision,
            if time.year_inferred {
                ", year inferred"
            } else {
                ""
            }
        ),
        None => match entry.syslog_stamp {
            Some(stamp) => format!(
                "unresolved {:02}-{:02} {:02}:{:02}:{:02}",
                stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second
            ),
            None => "-".to_owned(),
        },
    };
    write!(out, "\n{span} {time}").unwrap();
    if let Some(monotonic) = entry.monotonic_us {
        write!(out, " mono={monotonic}us").unwrap();
    }
    writeln!(out).unwrap();
    let who = format!(
        "{}{}",
        entry.identifier.as_deref().unwrap_or("-"),
        entry.pid.map(|pid| format!("[{pid}]")).unwrap_or_default()
    );
    writeln!(
        out,
        "  host={} who={who} unit={} boot={} priority={} severity={}",
        entry.host.as_deref().unwrap_or("-"),
        entry.unit.as_deref().unwrap_or("-"),
        entry.boot_id.as_deref().unwrap_or("-"),
        entry.priority.map_or("-".to_owned(), |p| p.to_string()),
        entry
            .severity()
            .map_or("-".to_owned(), |s| format!("{s:?}")),
    )
    .unwrap();
    match &entry.message {
        Some(Message::Text(text)) => writeln!(out, "  message: {text:?}").unwrap(),
        Some(Message::Binary(bytes)) => writeln!(out, "  message (bytes): {bytes:?}").unwrap(),
        None => writeln!(out, "  message: none").unwrap(),
    }
    match &entry.inner {
        Some(Inner::Klog(klog)) => {
            writeln!(
                out,
                "  klog: {:?} {:02}-{:02} +{}us at={} tid={} {}:{} structured={}",
                klog.severity,
                klog.month,
                klog.day,
                klog.time_of_day_us,
                opt_time(klog.at),
                klog.thread_id,
                klog.file,
                klog.line,
                klog.structured
            )
            .unwrap();
            writeln!(out, "    msg: {:?}", klog.msg).unwrap();
            for pair in &klog.kv {
                writeln!(out, "    {} = {:?}", pair.key, pair.value).unwrap();
            }
        }
        Some(Inner::Logfmt(logfmt)) => {
            writeln!(
                out,
                "  logfmt: time={} level={} msg={:?}",
                opt_time(logfmt.time),
                logfmt
                    .level
                    .as_ref()
                    .map_or("-".to_owned(), |l| format!("{l:?}")),
                logfmt.msg
            )
            .unwrap();
            for pair in &logfmt.pairs {
                writeln!(out, "    {} = {:?}", pair.key, pair.value).unwrap();
            }
        }
        Some(Inner::Json(json)) => {
            writeln!(
                out,
                "  json: ts={} level={} caller={:?} msg={:?}",
                opt_time(json.ts),
                json.level
                    .as_ref()
                    .map_or("-".to_owned(), |l| format!("{l:?}")),
                json.caller,
                json.msg
            )
            .unwrap();
            for (key, value) in &json.fields {
                writeln!(out, "    {key} = {value}").unwrap();
            }
        }
        None => {}
    }
    for field in &entry.fields {
        writeln!(out, "  {} = {}", field.name, render_field(&field.value)).unwrap();
    }
}

fn render_field(field: &Field) -> String {
    match field {
        Field::Text(text) => format!("{text:?}"),
        Field::Binary(bytes) => format!("bytes{bytes:?}"),
        Field::Array(values) => {
            let items: Vec<String> = values.iter().map(render_field).collect();
            format!("[{}]", items.join(", "))
        }
        Field::Null => "null".to_owned(),
    }
}

// ---------------------------------------------------------------------------
// Behaviour checks on the fixtures.

#[track_caller]
fn check(input: &[u8], options: ParseOptions, expect: impl FnOnce(&Parsed<Journal>)) {
    let parsed = journald::parse(input, &options).unwrap();
    expect(&parsed);
}

#[test]
fn text_formats_agree_on_the_kubelet_journal() {
    let short = parse_default(&fixture("kubelet.short.log")).value;
    for format in [
        "short-precise",
        "short-iso",
        "short-iso-precise",
        "short-unix",
        "short-monotonic",
        "cat",
    ] {
        let name = format!("kubelet.{format}.log");
        let other = parse_fixture(Path::new(&name), &fixture(&name)).value;
        assert_eq!(other.format.to_string(), format);
        assert_eq!(other.len(), short.len(), "{format}");
        for (a, b) in short.entries().zip(other.entries()) {
            assert_eq!(a.message, b.message, "{format}");
            assert_eq!(
                a.inner.as_ref().map(Inner::msg),
                b.inner.as_ref().map(Inner::msg)
            );
            assert_eq!(a.boot_id, b.boot_id, "{format}");
            if format != "cat" {
                assert_eq!(a.host, b.host);
                assert_eq!(a.pid, b.pid);
            }
            // Seconds agree wherever both carry a wall time.
            if let (Some(x), Some(y)) = (a.time, b.time) {
                assert_eq!(x.at.unix_seconds(), y.at.unix_seconds(), "{format}");
            }
        }
    }
}

#[test]
fn kubelet_messages_are_understood() {
    let journal = parse_default(&fixture("kubelet.short.log")).value;
    let errors: Vec<String> = journal
        .entries_at_least(Severity::Error)
        .filter_map(|e| Some(e.inner.as_ref()?.msg()?.to_owned()))
        .collect();
    assert_eq!(
        errors,
        [
            "Unable to register node with API server",
            "Unhandled Error",
            "Failed to get the kubelet's serving certificate",
            "PullImage from image service failed",
            "Error syncing pod, skipping",
            "PLEG is not healthy",
            "Error updating node status, will retry",
            "Unable to update node status",
        ]
    );
    let pleg = journal
        .entries()
        .find_map(|e| match &e.inner {
            Some(Inner::Klog(k)) if k.msg == "PLEG is not healthy" => Some(k.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(&*pleg.kv[0].key, "pleg");
    assert_eq!(
        pleg.kv[0].value,
        "pleg was last seen active 3m10.1s ago; threshold is 3m0s"
    );
    assert_eq!(pleg.at.unwrap().to_string(), "2025-01-15T10:03:10.212233Z");
    let evicted = journal
        .entries()
        .find_map(|e| match &e.inner {
            Some(Inner::Klog(k)) if k.msg.contains("ranked") => Some(k.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        evicted.kv[0].value,
        r#"["default/web-7d4b9c8f6-x2x9q","kube-system/coredns-5d8f8d6b9-abcde"]"#
    );
    let sync = journal
        .entries()
        .find_map(|e| match &e.inner {
            Some(Inner::Klog(k)) if k.msg.starts_with("Error syncing") => Some(k.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        sync.kv[0].value,
        r#"failed to "StartContainer" for "web" with ImagePullBackOff: "Back-off pulling image \"nginx:1.27\"""#
    );
}

#[test]
fn containerd_logfmt_levels() {
    let journal = parse_default(&fixture("containerd.short.log")).value;
    let levels: Vec<Option<Level>> = journal
        .entries()
        .map(|e| match &e.inner {
            Some(Inner::Logfmt(l)) => l.level.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(
        levels,
        [
            None,
            Some(Level::Info),
            Some(Level::Info),
            Some(Level::Info),
            None,
            Some(Level::Error),
            Some(Level::Info),
            Some(Level::Warning),
            Some(Level::Error),
            Some(Level::Debug),
        ]
    );
    assert_eq!(journal.entries_at_least(Severity::Error).count(), 2);
}

#[test]
fn ipamd_json_log() {
    let parsed = journald::parse_json_log(&fixture("ipamd.log"));
    let journal = &parsed.value;
    assert_eq!(journal.format, JournalFormat::JsonLog);
    assert_eq!(journal.len(), 7);
    assert_eq!(journal.unparsed.len(), 3);
    assert_eq!(journal.entries_at_least(Severity::Error).count(), 2);
    let Some(Inner::Json(epoch)) = &journal.entry(6).unwrap().inner else {
        panic!("json inner")
    };
    assert_eq!(opt_time(epoch.ts), "2025-01-15T10:00:06.500000Z");
    // Auto-detection picks the same reader.
    assert_eq!(parse_default(&fixture("ipamd.log")), parsed);
}

#[test]
fn year_inference() {
    let lines = fixture("no-reference.short.log");
    let years = |parsed: &Parsed<Journal>| -> Vec<String> {
        parsed
            .value
            .entries()
            .map(|e| opt_time(e.time.map(|t| t.at)))
            .collect()
    };
    let expected = [
        "2025-12-31T23:59:58.000000Z",
        "2025-12-31T23:59:59.000000Z",
        "2026-01-01T00:00:00.000000Z",
        "2026-01-01T00:00:01.000000Z",
        "2026-01-01T00:00:02.000000Z",
    ];
    // The collection time right after the last line, and months later.
    for reference in ["2026-01-01T00:00:10Z", "2026-11-30T00:00:00Z"] {
        let at =
            time::OffsetDateTime::parse(reference, &time::format_description::well_known::Rfc3339)
                .unwrap();
        let options = ParseOptions {
            reference_time: Some(Timestamp::from_datetime(at)),
            format: None,
        };
        check(&lines, options, |parsed| {
            assert_eq!(years(parsed), expected, "{reference}");
            assert!(
                parsed
                    .value
                    .entries()
                    .all(|e| e.time.unwrap().year_inferred)
            );
            assert!(parsed.diagnostics.is_empty());
        });
    }
    // A collection time a year later moves every line back by a year.
    let later =
        Timestamp(Timestamp::from_datetime(time::macros::datetime!(2027-01-01 00:00:10 UTC)).0);
    check(
        &lines,
        ParseOptions {
            reference_time: Some(later),
            format: None,
        },
        |parsed| {
            assert_eq!(years(parsed)[0], "2026-12-31T23:59:58.000000Z");
        },
    );
    // The marker alone gives the same answer.
    let with_marker = parse_default(&fixture("year-boundary.short.log"));
    assert_eq!(years(&with_marker), expected);
    // No reference: no guess, one diagnostic, the stamp kept.
    let without = parse_default(&lines);
    assert!(
        without
            .value
            .entries()
            .all(|e| e.time.is_none() && e.syslog_stamp.is_some())
    );
    assert_eq!(without.diagnostics.len(), 1);
    // klog stamps resolve across the year boundary too: E1231 inside a
    // Jan 1 journal line is Dec 31 of the year before.
    let Some(Inner::Klog(klog)) = &with_marker.value.entry(2).unwrap().inner else {
        panic!("klog")
    };
    assert_eq!(opt_time(klog.at), "2025-12-31T23:59:59.999999Z");
}

#[test]
fn klog_stamps_without_a_wall_time() {
    // `cat` and `short-monotonic` carry no wall time: with a collection
    // time, the klog stamps inside the messages resolve; without, they stay
    // unresolved and nothing is guessed.
    for (name, format) in [
        ("kubelet.cat.log", JournalFormat::Cat),
        ("kubelet.short-monotonic.log", JournalFormat::ShortMonotonic),
    ] {
        let input = fixture(name);
        let collected = ParseOptions {
            reference_time: Some(Timestamp(1_736_935_600_000_000)), // 2025-01-15T10:06:40Z
            format: Some(format),
        };
        let resolved: Vec<String> = journald::parse(&input, &collected)
            .unwrap()
            .value
            .entries()
            .filter_map(|e| match &e.inner {
                Some(Inner::Klog(klog)) => Some(opt_time(klog.at)),
                _ => None,
            })
            .collect();
        assert_eq!(resolved.len(), 18, "{name}");
        assert_eq!(resolved[0], "2025-01-15T09:59:58.101234Z", "{name}");
        assert_eq!(resolved[17], "2025-01-15T10:06:20.412000Z", "{name}");
        let unresolved = journald::parse(
            &input,
            &ParseOptions {
                reference_time: None,
                format: Some(format),
            },
        )
        .unwrap();
        assert!(unresolved.diagnostics.is_empty());
        assert!(unresolved.value.entries().all(|e| match &e.inner {
            Some(Inner::Klog(klog)) => klog.at.is_none(),
            _ => true,
        }));
    }
}

#[test]
fn detection_and_errors() {
    assert!(matches!(
        journald::parse(b"hello\nworld\n", &ParseOptions::default()),
        Err(journald::Error::NotJournal { .. })
    ));
    let empty = parse_default(b"");
    assert!(empty.value.is_empty() && empty.diagnostics.is_empty());
    let no_entries = parse_default(b"-- No entries --\n");
    assert_eq!(no_entries.value.markers[0].kind, MarkerKind::NoEntries);
    // A forced format never fails.
    let forced = journald::parse(
        b"hello\nworld\n",
        &ParseOptions {
            reference_time: None,
            format: Some(JournalFormat::Cat),
        },
    )
    .unwrap();
    assert_eq!(forced.value.len(), 2);
    let forced = journald::parse(
        b"hello\n",
        &ParseOptions {
            reference_time: None,
            format: Some(JournalFormat::Export),
        },
    )
    .unwrap();
    assert_eq!(forced.value.unparsed.len(), 1);
}

#[test]
fn multi_boot_export() {
    let journal = parse_default(&fixture("multi-boot.export")).value;
    assert_eq!(journal.format, JournalFormat::Export);
    let boots: Vec<String> = journal
        .views()
        .filter_map(|e| Some(e.boot_id()?.to_owned()))
        .collect();
    assert_eq!(boots.iter().filter(|b| b.starts_with("4c3a")).count(), 4);
    assert_eq!(boots.iter().filter(|b| b.starts_with("9f2c")).count(), 3);
    assert!(
        matches!(journal.entry(1).unwrap().field("COREDUMP_PROC_AUXV"), Some(Field::Binary(b)) if b.len() == 18)
    );
    assert_eq!(
        journal.entry(2).unwrap().field("TAG"),
        Some(&Field::Array(vec![
            Field::Text("first".into()),
            Field::Text("second".into())
        ]))
    );
    assert_eq!(
        journal.entry(4).unwrap().field("EXIT_STATUS"),
        Some(&Field::Text("line one\nline two".into()))
    );
    assert!(matches!(
        journal.entry(6).unwrap().message,
        Some(Message::Binary(_))
    ));
}

// ---------------------------------------------------------------------------
// Conformance on the upstream samples in ../shared/corpus/journald.

fn corpus(name: &str) -> Option<Vec<u8>> {
    let path = Path::new(CORPUS).join(name);
    match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(_) => {
            println!("corpus file {} absent; skipping", path.display());
            None
        }
    }
}

/// The model's value for a journal field name, lifted or not, in the form
/// the journal wrote it.
fn value_of(entry: &Entry, name: &str) -> Option<Field> {
    let text = |s: String| Some(Field::Text(s.into()));
    match name {
        "__REALTIME_TIMESTAMP" if entry.time.is_some() => text(entry.time?.at.0.to_string()),
        "__MONOTONIC_TIMESTAMP" if entry.monotonic_us.is_some() => {
            text(entry.monotonic_us?.to_string())
        }
        "_BOOT_ID" if entry.boot_id.is_some() => text(entry.boot_id.as_deref()?.to_owned()),
        "_HOSTNAME" if entry.host.is_some() => text(entry.host.as_deref()?.to_owned()),
        "SYSLOG_IDENTIFIER" if entry.identifier.is_some() => {
            text(entry.identifier.as_deref()?.to_owned())
        }
        "_SYSTEMD_UNIT" if entry.unit.is_some() => text(entry.unit.as_deref()?.to_owned()),
        "_PID" if entry.pid.is_some() => text(entry.pid?.to_string()),
        "PRIORITY" if entry.priority.is_some() => text(entry.priority?.to_string()),
        "MESSAGE" if entry.message.is_some() => Some(match entry.message.clone()? {
            Message::Text(t) => Field::Text(t.as_str().into()),
            Message::Binary(b) => Field::Binary(b),
        }),
        _ => entry.field(name).cloned(),
    }
}

fn field_count(entry: &Entry) -> usize {
    [
        entry.time.is_some(),
        entry.monotonic_us.is_some(),
        entry.boot_id.is_some(),
        entry.host.is_some(),
        entry.identifier.is_some(),
        entry.unit.is_some(),
        entry.pid.is_some(),
        entry.priority.is_some(),
        entry.message.is_some(),
    ]
    .into_iter()
    .filter(|&lifted| lifted)
    .count()
        + entry.fields.len()
}

/// What a JSON value must become, decided independently of the parser:
/// strings are text, `null` is null, byte arrays are bytes (or text when
/// they decode to clean UTF-8).
fn expected_field(value: &serde_json::Value) -> Field {
    match value {
        serde_json::Value::String(s) => Field::Text(s.as_str().into()),
        serde_json::Value::Null => Field::Null,
        serde_json::Value::Array(items) => {
            let bytes: Vec<u8> = items
                .iter()
                .map(|v| u8::try_from(v.as_u64().unwrap()).unwrap())
                .collect();
            let clean = bytes.iter().all(|&b| b >= 0x20 || b == b'\n' || b == b'\t')
                && !bytes.contains(&0x7f);
            match String::from_utf8(bytes.clone()) {
                Ok(text) if clean => Field::Text(text.into()),
                _ => Field::Binary(bytes),
            }
        }
        other => panic!("unexpected value {other}"),
    }
}

#[test]
fn corpus_json_samples() {
    for name in [
        "beats__filebeat_input_journald_pkg_journalctl_testdata_sample-journal-event.json",
        "beats__filebeat_input_journald_pkg_journalctl_testdata_corner-cases.json",
    ] {
        let Some(input) = corpus(name) else { continue };
        let parsed = parse_default(&input);
        assert!(
            parsed.diagnostics.is_empty(),
            "{name}: {:?}",
            parsed.diagnostics
        );
        let independent: serde_json::Value = serde_json::from_slice(&input).unwrap();
        let objects = match independent {
            serde_json::Value::Array(items) => items,
            object => vec![object],
        };
        assert_eq!(parsed.value.len(), objects.len(), "{name}");
        for (entry, object) in parsed.value.entries().zip(&objects) {
            let object = object.as_object().unwrap();
            assert_eq!(field_count(&entry), object.len(), "{name}");
            for (key, value) in object {
                assert_eq!(
                    value_of(&entry, key),
                    Some(expected_field(value)),
                    "{name} {key}"
                );
            }
        }
    }
    if let Some(input) =
        corpus("beats__filebeat_input_journald_pkg_journalctl_testdata_corner-cases.json")
    {
        let journal = parse_default(&input).value;
        assert_eq!(journal.format, JournalFormat::JsonArray);
        let coredump = &journal.entry(0).unwrap();
        assert!(
            matches!(coredump.field("COREDUMP_PROC_AUXV"), Some(Field::Binary(b)) if b.len() == 368)
        );
        assert_eq!(
            coredump.field("COREDUMP_PROC_MOUNTINFO"),
            Some(&Field::Null)
        );
        assert!(
            coredump
                .text()
                .unwrap()
                .starts_with("Process 3717 (kdeconnectd)")
        );
        // A `\r` inside makes journalctl write the message as bytes.
        assert_eq!(
            journal.entry(1).unwrap().message,
            Some(Message::Binary(
                b"Unable to parse indicator of AT+BIA command: AT+BIA=1,1,0,0,0\rAT+BCS=2".to_vec()
            ))
        );
    }
}

#[test]
fn corpus_export_sample() {
    let Some(input) = corpus("beats__filebeat_input_journald_testdata_journal1.export") else {
        return;
    };
    let parsed = parse_default(&input);
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    let text = std::str::from_utf8(&input).unwrap();
    let blocks: Vec<&str> = text
        .split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .collect();
    assert_eq!(parsed.value.len(), blocks.len());
    for (entry, block) in parsed.value.entries().zip(blocks) {
        let pairs: Vec<(&str, &str)> = block.lines().map(|l| l.split_once('=').unwrap()).collect();
        assert_eq!(field_count(&entry), pairs.len());
        for (key, value) in pairs {
            assert_eq!(
                value_of(&entry, key),
                Some(Field::Text(value.into())),
                "{key}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Round trips and properties.

/// Entries without their line spans (rendering moves lines).
fn without_lines(journal: &Journal) -> Vec<Entry> {
    journal
        .entries()
        .map(|mut e| {
            e.lines = journald::LineSpan { first: 0, last: 0 };
            e
        })
        .collect()
}

#[test]
fn export_fixtures_round_trip() {
    for name in ["multi-boot.export", "broken.export"] {
        let first = parse_default(&fixture(name)).value;
        let rendered = first.render_export();
        let second = parse_default(&rendered);
        assert!(second.diagnostics.is_empty());
        assert_eq!(
            without_lines(&second.value),
            without_lines(&first),
            "{name}"
        );
    }
}

fn text_value() -> impl Strategy<Value = String> {
    "[^\\x00-\\x08\\x0b-\\x1f\\x7f]{0,40}"
}

fn binary_value() -> impl Strategy<Value = Vec<u8>> {
    // Always invalid UTF-8, so the model keeps it as bytes.
    prop::collection::vec(any::<u8>(), 0..40).prop_map(|mut bytes| {
        bytes.push(0xff);
        bytes
    })
}

fn field_value() -> impl Strategy<Value = Field> {
    let leaf = prop_oneof![
        text_value().prop_map(|s| Field::Text(s.into())),
        binary_value().prop_map(Field::Binary)
    ];
    prop_oneof![
        3 => leaf.clone(),
        1 => prop::collection::vec(leaf, 2..4).prop_map(Field::Array),
    ]
}

fn entry_strategy() -> impl Strategy<Value = Entry> {
    let reserved = [
        "MESSAGE",
        "__REALTIME_TIMESTAMP",
        "__MONOTONIC_TIMESTAMP",
        "_PID",
        "PRIORITY",
        "_BOOT_ID",
        "_HOSTNAME",
        "SYSLOG_IDENTIFIER",
        "_SYSTEMD_UNIT",
    ];
    let names = prop::collection::btree_map(
        "[A-Z_][A-Z0-9_]{0,12}".prop_filter("not lifted", move |n| !reserved.contains(&n.as_str())),
        field_value(),
        0..6,
    );
    (
        prop::option::of(0i64..4_000_000_000_000_000),
        prop::option::of(any::<u64>()),
        prop::option::of("[0-9a-f]{32}"),
        prop::option::of("[a-z0-9.-]{1,30}"),
        prop::option::of(any::<u32>()),
        prop::option::of(0u8..8),
        prop::option::of(prop_oneof![
            text_value().prop_map(|s| Message::Text(s.into())),
            binary_value().prop_map(Message::Binary)
        ]),
        names,
    )
        .prop_map(
            |(time, monotonic, boot, host, pid, priority, message, names)| {
                let mut entry = Entry::empty(journald::LineSpan { first: 0, last: 0 });
                entry.time = time.map(|us| journald::WallTime {
                    at: Timestamp(us),
                    precision: journald::Precision::Microsecond,
                    year_inferred: false,
                });
                entry.monotonic_us = monotonic;
                entry.boot_id = boot.map(Into::into);
                entry.host = host.map(Into::into);
                entry.pid = pid;
                entry.priority = priority;
                entry.message = message;
                entry.fields = names
                    .into_iter()
                    .map(|(name, value)| NamedField {
                        name: name.into(),
                        value,
                    })
                    .collect();
                entry.inner = entry.text().and_then(journald::parse_inner);
                entry
            },
        )
        // An entry without any field has no export form.
        .prop_filter("has a field", |entry| *entry != Entry::empty(entry.lines))
}

/// Export-like bytes: valid and invalid field lines, binary fields (some
/// with lengths that run past the end), empty lines and garbage.
fn export_like_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        3 => "[A-Z_][A-Z0-9_]{0,8}=[ -~\t\r]{0,12}\n".prop_map(String::into_bytes),
        1 => Just(b"\n".to_vec()),
        1 => ("[A-Z_]{1,8}", prop::collection::vec(any::<u8>(), 0..16), 0u64..20).prop_map(
            |(name, bytes, length)| {
                let mut out = name.into_bytes();
                out.push(b'\n');
                out.extend_from_slice(&length.to_le_bytes());
                out.extend_from_slice(&bytes);
                out.push(b'\n');
                out
            }
        ),
        1 => prop::collection::vec(any::<u8>(), 0..12),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

proptest! {
    #[test]
    fn export_parse_render_is_idempotent(input in export_like_bytes()) {
        let export = ParseOptions { reference_time: None, format: Some(JournalFormat::Export) };
        let first = journald::parse(&input, &export).unwrap();
        let again = journald::parse(&first.value.render_export(), &export).unwrap();
        prop_assert!(again.diagnostics.is_empty(), "{:?}", again.diagnostics);
        prop_assert_eq!(without_lines(&again.value), without_lines(&first.value));
    }

    #[test]
    fn export_render_parse_round_trip(entries in prop::collection::vec(entry_strategy(), 1..5)) {
        let journal = Journal::new(JournalFormat::Export, entries, Vec::new(), Vec::new());
        let rendered = journal.render_export();
        let parsed = journald::parse(
            &rendered,
            &ParseOptions { reference_time: None, format: Some(JournalFormat::Export) },
        )
        .unwrap();
        prop_assert!(parsed.diagnostics.is_empty());
        prop_assert_eq!(without_lines(&parsed.value), without_lines(&journal));
    }

    #[test]
    fn parse_never_panics_on_bytes(input in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = journald::parse(&input, &ParseOptions::default());
        let _ = journald::parse_json_log(&input);
    }

    #[test]
    fn forced_formats_never_panic(input in "\\PC{0,300}", format in 0usize..12) {
        let formats = [
            JournalFormat::Export, JournalFormat::Json, JournalFormat::JsonPretty,
            JournalFormat::JsonArray, JournalFormat::Short, JournalFormat::ShortIso,
            JournalFormat::ShortPrecise, JournalFormat::ShortIsoPrecise, JournalFormat::ShortUnix,
            JournalFormat::ShortMonotonic, JournalFormat::Cat, JournalFormat::JsonLog,
        ];
        let options = ParseOptions { reference_time: Some(Timestamp(1_736_935_200_000_000)), format: Some(formats[format]) };
        let parsed = journald::parse(input.as_bytes(), &options).unwrap();
        // Unparsed lines are always reported.
        prop_assert!(parsed.diagnostics.len() >= parsed.value.unparsed.len());
    }

    #[test]
    fn journal_like_lines_never_panic(
        lines in prop::collection::vec(
            prop_oneof![
                "(Jan|Dec) [0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9] h [a-z]{1,5}(\\[[0-9]{1,5}\\])?: [IWEF][01][0-9][0-3][0-9] [0-9:. ]{0,20}[a-z.]{0,5}:?[0-9]{0,3}\\]? ?\"?[ -~]{0,30}",
                "-- (Boot [0-9a-f]{0,32}|No entries|Reboot|Logs begin at [ -~]{0,40}) --",
                " {0,40}[ -~]{0,20}",
            ],
            0..20,
        )
    ) {
        let input = lines.join("\n");
        let _ = journald::parse(input.as_bytes(), &ParseOptions::default());
    }
}

// ---------------------------------------------------------------------------
// The compact store: views agree with materialised entries, and entries
// equal a straightforward reference materialisation.

/// Every journal the tests know: the fixtures (each with and without a
/// reference time) and the corpus samples.
fn every_journal() -> Vec<(String, Journal)> {
    let mut journals = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(Path::new(FIXTURES).join("journald"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext != "md"))
        .collect();
    paths.sort();
    match std::fs::read_dir(CORPUS) {
        Ok(corpus) => paths.extend(corpus.map(|entry| entry.unwrap().path())),
        Err(_) => println!("corpus {CORPUS} absent; checking the fixtures only"),
    }
    for path in paths {
        let input = std::fs::read(&path).unwrap();
        let is_cat = path.to_string_lossy().ends_with(".cat.log");
        for reference_time in [None, Some(Timestamp(1_736_935_200_000_000))] {
            let options = ParseOptions {
                reference_time,
                format: is_cat.then_some(JournalFormat::Cat),
            };
            if let Ok(parsed) = journald::parse(&input, &options) {
                journals.push((
                    format!("{} {reference_time:?}", path.display()),
                    parsed.value,
                ));
            }
        }
        journals.push((
            format!("{} as json-log", path.display()),
            journald::parse_json_log(&input).value,
        ));
    }
    journals
}

/// The klog stamp resolved with the year of `at` (the entry's time), the
/// year turning over between the two: written with the `time` crate, apart
/// from the parser's own calendar code.
fn reference_klog_at(at: Timestamp, klog: &journald::Klog) -> Option<Timestamp> {
    let entry_date = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at.0) * 1_000)
        .unwrap()
        .date();
    let mut year = entry_date.year();
    let entry_month = u8::from(entry_date.month());
    if klog.month == 12 && entry_month == 1 {
        year -= 1;
    } else if klog.month == 1 && entry_month == 12 {
        year += 1;
    }
    let month = time::Month::try_from(klog.month).ok()?;
    let date = time::Date::from_calendar_date(year, month, klog.day).ok()?;
    let seconds = klog.time_of_day_us / 1_000_000;
    let clock = time::Time::from_hms_micro(
        (seconds / 3_600) as u8,
        (seconds / 60 % 60) as u8,
        (seconds % 60) as u8,
        (klog.time_of_day_us % 1_000_000) as u32,
    )
    .ok()?;
    Some(Timestamp::from_datetime(
        time::PrimitiveDateTime::new(date, clock).assume_utc(),
    ))
}

/// The inner message a reference materialisation gives `entry`: the public
/// `parse_inner` of its text, with the klog stamp resolved from the entry's
/// time (entries without a wall time keep the year the parser inferred).
fn reference_inner(entry: &Entry) -> Option<Inner> {
    let mut inner = journald::parse_inner(entry.text()?)?;
    if let Inner::Klog(klog) = &mut inner {
        klog.at = match (entry.time, &entry.inner) {
            (Some(time), _) => reference_klog_at(time.at, klog),
            (None, Some(Inner::Klog(parsed))) => parsed.at,
            (None, _) => None,
        };
    }
    Some(inner)
}

#[track_caller]
fn check_view(what: &str, journal: &Journal, index: usize) {
    let entry = journal.entry(index).unwrap();
    let view = journal.view(index).unwrap();
    let at = format!("{what} entry {index}");
    assert_eq!(view.index(), index, "{at}");
    assert_eq!(view.time(), entry.time, "{at}");
    assert_eq!(view.syslog_stamp(), entry.syslog_stamp, "{at}");
    assert_eq!(view.monotonic_us(), entry.monotonic_us, "{at}");
    assert_eq!(view.boot_id(), entry.boot_id.as_deref(), "{at}");
    assert_eq!(view.host(), entry.host.as_deref(), "{at}");
    assert_eq!(view.identifier(), entry.identifier.as_deref(), "{at}");
    assert_eq!(view.unit(), entry.unit.as_deref(), "{at}");
    assert_eq!(view.pid(), entry.pid, "{at}");
    assert_eq!(view.priority(), entry.priority, "{at}");
    assert_eq!(view.text(), entry.text(), "{at}");
    assert_eq!(view.shared_text().as_ref(), entry.shared_text(), "{at}");
    assert_eq!(view.lines(), entry.lines, "{at}");
    assert_eq!(view.severity(), entry.severity(), "{at}");
    assert_eq!(view.best_time(), entry.best_time(), "{at}");
    assert_eq!(view.inner(), entry.inner, "{at}");
    assert_eq!(
        view.is_klog(),
        matches!(entry.inner, Some(Inner::Klog(_))),
        "{at}"
    );
    assert_eq!(view.to_entry(), entry, "{at}");
    // A JSON-lines log's inner message is the line's object, whatever the
    // message parser would make of the line.
    if journal.format != JournalFormat::JsonLog {
        assert_eq!(entry.inner, reference_inner(&entry), "{at}: inner");
    }
}

#[test]
fn views_agree_with_materialised_entries_everywhere() {
    let journals = every_journal();
    let mut entries = 0;
    for (what, journal) in &journals {
        for index in 0..journal.len() {
            check_view(what, journal, index);
        }
        entries += journal.len();
        assert_eq!(journal.entries().len(), journal.len(), "{what}");
        assert_eq!(journal.views().len(), journal.len(), "{what}");
        assert!(journal.entry(journal.len()).is_none(), "{what}");
        assert!(journal.view(journal.len()).is_none(), "{what}");
        let backwards: Vec<Entry> = journal.entries().rev().collect();
        let mut forwards: Vec<Entry> = journal.entries().collect();
        forwards.reverse();
        assert_eq!(backwards, forwards, "{what}");
    }
    assert!(entries > 200, "only {entries} entries checked");
}

#[test]
fn entries_at_least_filters_on_the_materialised_severity() {
    for (what, journal) in every_journal() {
        for at_least in [Severity::Warning, Severity::Error, Severity::Critical] {
            let expected: Vec<Entry> = journal
                .entries()
                .filter(|entry| entry.severity().is_some_and(|s| s >= at_least))
                .collect();
            let got: Vec<Entry> = journal.entries_at_least(at_least).collect();
            assert_eq!(got, expected, "{what} {at_least:?}");
        }
    }
}

#[test]
fn every_format_round_trips_through_the_store() {
    for (what, journal) in every_journal() {
        let entries: Vec<Entry> = journal.entries().collect();
        let rebuilt = Journal::new(
            journal.format,
            entries,
            journal.markers.clone(),
            journal.unparsed.clone(),
        );
        assert_eq!(rebuilt, journal, "{what}");
        assert_eq!(
            serde_json::to_string(&rebuilt).unwrap(),
            serde_json::to_string(&journal).unwrap(),
            "{what}"
        );
        assert_eq!(format!("{rebuilt:?}"), format!("{journal:?}"), "{what}");
        assert_eq!(rebuilt.render_export(), journal.render_export(), "{what}");
        let clone = journal.clone();
        assert_eq!(clone, journal, "{what}");
    }
}

#[test]
fn serialised_journals_keep_their_shape() {
    let journal = parse_default(&fixture("kubelet.short.log")).value;
    let value = serde_json::to_value(&journal).unwrap();
    let keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["format", "entries", "markers", "unparsed"]);
    let entries = value["entries"].as_array().unwrap();
    assert_eq!(entries.len(), journal.len());
    assert_eq!(
        entries[0],
        serde_json::to_value(journal.entry(0).unwrap()).unwrap()
    );
}

/// Boot id (its start), host, identifier, pid and severity of an entry.
type Head<'a> = (
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    Option<u32>,
    Option<Severity>,
);

#[test]
fn text_entries_share_heads_across_boots_and_identifiers() {
    let input = "-- Boot 0123456789abcdef0123456789abcdef --\n\
                 Jan 15 10:00:00 host-a kubelet[1]: I0115 10:00:00.000000    1 a.go:1] \"one\"\n\
                 Jan 15 10:00:01 host-a containerd[2]: time=\"2025-01-15T10:00:01Z\" level=error msg=\"two\"\n\
                 Jan 15 10:00:02 host-a kubelet[1]: W0115 10:00:02.000000    1 a.go:1] three\n\
                 -- Boot fedcba9876543210fedcba9876543210 --\n\
                 Jan 15 10:00:03 host-b kubelet: E0115 10:00:03.000000    1 a.go:1] \"four\" err=\"x\"\n\
                 Jan 15 10:00:04 host-b systemd[1]: Started kubelet.\n";
    let journal = parse_default(input.as_bytes()).value;
    let got: Vec<Head<'_>> = journal
        .views()
        .map(|v| {
            (
                v.boot_id().map(|id| &id[..4]),
                v.host(),
                v.identifier(),
                v.pid(),
                v.severity(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                Some("0123"),
                Some("host-a"),
                Some("kubelet"),
                Some(1),
                Some(Severity::Info)
            ),
            (
                Some("0123"),
                Some("host-a"),
                Some("containerd"),
                Some(2),
                Some(Severity::Error)
            ),
            (
                Some("0123"),
                Some("host-a"),
                Some("kubelet"),
                Some(1),
                Some(Severity::Warning)
            ),
            (
                Some("fedc"),
                Some("host-b"),
                Some("kubelet"),
                None,
                Some(Severity::Error)
            ),
            (Some("fedc"), Some("host-b"), Some("systemd"), Some(1), None),
        ]
    );
    for index in 0..journal.len() {
        check_view("heads", &journal, index);
    }
}

#[test]
fn binary_and_joined_messages_are_kept() {
    // A line that is not UTF-8 in a file that otherwise is, and a
    // multi-line message whose continuation is not UTF-8.
    let mut input =
        b"Jan 15 10:00:00 host kubelet[1]: E0115 10:00:00.000000    1 a.go:1] \"first\"\n\
                      Jan 15 10:00:01 host kubelet[1]: bad \xff byte\n\
                      Jan 15 10:00:02 host kubelet[1]: multi\n"
            .to_vec();
    input.extend_from_slice(b"                                 line \xfe two\n");
    input.extend_from_slice(b"Jan 15 10:00:03 host kubelet[1]: joined\n");
    input.extend_from_slice(b"                                 fine\n");
    let journal = parse_default(&input).value;
    assert_eq!(journal.len(), 4);
    let messages: Vec<Option<Message>> = journal.entries().map(|e| e.message).collect();
    assert_eq!(
        messages[1],
        Some(Message::Binary(b"bad \xff byte".to_vec()))
    );
    assert_eq!(
        messages[2],
        Some(Message::Binary(b"multi\nline \xfe two".to_vec()))
    );
    assert_eq!(
        messages[3].as_ref().and_then(Message::as_text),
        Some("joined\nfine")
    );
    assert_eq!(journal.view(1).unwrap().text(), None);
    assert_eq!(journal.view(3).unwrap().lines().last, 6);
    for index in 0..journal.len() {
        check_view("binary", &journal, index);
    }
}

proptest! {
    #[test]
    fn views_agree_with_entries_on_generated_text(
        lines in prop::collection::vec(
            prop_oneof![
                "(Jan|Dec) [0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9] h[ab] [a-z]{1,5}(\\[[0-9]{1,5}\\])?: [IWEF][01][0-9][0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9]\\.[0-9]{6} +[0-9]{1,3} [a-z]{1,3}\\.go:[0-9]{1,3}\\] (\"[a-z ]{0,10}\"( [a-z]{1,3}=\"?[a-z ]{0,5}\"?)*|[ -~]{0,20})",
                "(Jan|Dec) [0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9] h[ab] containerd: (time=\"2025-01-15T10:00:0[0-9]Z\" )?level=(info|error|warning|fatal) msg=\"[a-z ]{0,10}\"",
                "(Jan|Dec) [0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9] h[ab] [a-z]{1,5}: [ -~]{0,30}",
                "-- (Boot [0-9a-f]{32}|Reboot|Logs begin at Mon 2025-01-13 09:12:01 UTC, end at Wed 2025-01-15 10:00:02 UTC.) --",
                " {1,40}[ -~]{0,20}",
            ],
            0..20,
        ),
        reference in prop::option::of(Just(Timestamp(1_736_935_200_000_000))),
    ) {
        let input = lines.join("\n");
        let options = ParseOptions { reference_time: reference, format: None };
        if let Ok(parsed) = journald::parse(input.as_bytes(), &options) {
            let journal = parsed.value;
            for index in 0..journal.len() {
                check_view("generated", &journal, index);
            }
        }
        let cat = ParseOptions { reference_time: reference, format: Some(JournalFormat::Cat) };
        let journal = journald::parse(input.as_bytes(), &cat).unwrap().value;
        for index in 0..journal.len() {
            check_view("generated cat", &journal, index);
        }
    }
}
