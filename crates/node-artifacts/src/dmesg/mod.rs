//! Kernel messages: `dmesg` in its textual forms and `/dev/kmsg` records,
//! placed in time and turned into typed kernel events.
//!
//! # Inputs
//!
//! [`parse`] recognises the form from the first lines that carry a prefix:
//!
//! ```text
//! [  512.634127] ena 0000:00:05.0 eth0: Found a Tx that wasn't completed on time, qid 2, index 873.
//! │└ seconds since boot, microseconds  └ message (kept byte for byte)
//! <3>[  512.634127] …                        dmesg --raw: <facility * 8 + level>
//! kern  :err   : [  512.634127] …            dmesg --decode (-x)
//! [  512.634127] [ T1234] …                  caller ids (CONFIG_PRINTK_CALLER): T = thread, C = CPU
//! [Tue Jan 14 10:08:32 2025] …               dmesg --ctime (-T): wall clock, 1 s resolution, no zone
//! 2025-01-14T10:08:32,634127+00:00 …         dmesg --time-format iso
//! Killed process 1012 (heapster) …           dmesg --notime, or bare messages: one record per line
//! 3,1234,512634127,-;ena 0000:00:05.0 …      /dev/kmsg records (see the `kmsg` module)
//! ```
//!
//! The EKS log bundle holds `kernel/dmesg.boot` (a copy of `/var/log/dmesg`),
//! `kernel/dmesg.current` (`dmesg`) and `kernel/dmesg.human.current`
//! (`dmesg --ctime`).
//!
//! Grammar of the text forms (the prefix leaves are in the `text` module):
//!
//! ```text
//! log          = *(record-line *continuation | unparsed-line)
//! record-line  = [priority] [stamp] [caller] message
//! continuation = " "* text      (* indented to the message column by util-linux *)
//!              | text           (* unindented, only after <N> priorities: the syslog buffer *)
//! ```
//!
//! Every line after the first prefixed one must carry the same prefix shape
//! (priority style and time style); a line that does not, and is not a
//! continuation, is kept as [`Unparsed`] with a reason and reported as a
//! [`Diagnostic`]. An input whose first 1,000 lines carry
//! no prefix at all is read as bare messages, one record per line.
//!
//! # Time
//!
//! A since-boot stamp becomes a wall-clock time only when the boot time is
//! known: given by the caller ([`KernelLog::with_boot_time`]) or derived by
//! [`align`] from a `dmesg` and a `dmesg --ctime` of the same boot. Otherwise
//! [`Record::wall_time`] stays `None` and [`BootTime::Unknown`] says why; the
//! parser never guesses.
//!
//! `dmesg --ctime` prints local time without a zone. The parser reads it as
//! UTC, which is what EKS AMIs run in; on a node with another zone the wall
//! times (and a boot time aligned from them) are off by that zone's offset.
//!
//! # Events
//!
//! [`events`] recognises the kernel messages that explain node failures (OOM
//! kills, hung tasks, lockups, oopses with their call traces, conntrack and
//! neighbour table overflow, ENA resets, filesystem and block I/O errors,
//! hardware errors, …) as [`KernelEvent`]s that point back to their records.
//!
//! # Example
//!
//! ```
//! use node_artifacts::dmesg::{self, KernelEventKind};
//! use node_artifacts::time::Timestamp;
//!
//! let text = include_str!("../../../../fixtures/dmesg/events-oom-kubepods.txt");
//! let parsed = dmesg::parse(text)?;
//! assert!(parsed.diagnostics.is_empty());
//! // 2025-01-14T09:51:06Z, e.g. from `dmesg::align` with `dmesg --ctime` output.
//! let log = parsed.value.with_boot_time(Timestamp(1_736_848_266_000_000));
//! let kill = dmesg::events(&log)
//!     .into_iter()
//!     .find(|event| matches!(event.kind, KernelEventKind::OomKill { .. }))
//!     .expect("an OOM kill");
//! let record = log.records.get(kill.records.last).expect("the event's record");
//! assert_eq!(record.wall_time.map(|t| t.to_string()).as_deref(), Some("2025-01-16T13:01:29.507431Z"));
//! # Ok::<(), dmesg::Error>(())
//! ```
//!
//! # Design decisions
//!
//! The hot path is a byte-level prefix parser that allocates nothing per
//! record: a million-line `dmesg` parses at several hundred MB/s. Only the
//! rarer wall-clock stamps go through nom.
//!
//! A key design decision is that the log keeps its input once and its
//! records packed ([`Records`], twenty bytes each): a message is a byte
//! range of the input, handed out as a [`SharedText`] slice, and only what
//! few records have (a multi-line message, a priority, a caller id, kmsg
//! fields) sits in a sparse side table. A node's `dmesg`
//! then costs about 1.3 times its file instead of 3.4 times.
//! [`parse_file`] slices the caller's file itself; [`parse`] copies its
//! input once.

mod align;
mod events;
mod kmsg;
mod model;
mod records;
mod text;

pub use crate::dmesg::align::{AlignError, Alignment, align, align_interval};
pub use crate::dmesg::events::{
    BlockIoSource, CallTrace, Crash, EnaEvent, Frame, HardwareErrorSource, KernelEvent,
    KernelEventKind, RecordRange, events,
};
pub use crate::dmesg::model::{
    BootTime, BootTimeSource, Caller, Facility, Format, KernelLog, Level, LineSpan, PriorityStyle,
    Record, TimeStyle,
};
pub use crate::dmesg::records::{Iter, Records};

use std::borrow::Cow;

use crate::diag::{Diagnostic, Parsed, Unparsed, numbered_lines};
use crate::dmesg::records::{Builder, Open, TimeKind};
use crate::shared::{FileBytes, SharedText};

/// Why an input is not a kernel log at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input holds NUL bytes but its first record is not a `/dev/kmsg`
    /// record: it is binary data, not text `dmesg` output.
    #[error("not a kernel log: binary data that is not /dev/kmsg records (line {line})")]
    Binary {
        /// 1-based line of the first NUL byte.
        line: usize,
    },
}

/// How many leading lines are examined to recognise the form.
const DETECT_LINES: usize = 1_000;

/// Parses a kernel log in any of the forms listed in the module docs.
///
/// Returns `Err` only for binary data that is not `/dev/kmsg` records; any
/// text is a kernel log, with lines that fit no form kept as unparsed.
///
/// Messages are slices of one copy of the input that the log keeps;
/// [`parse_file`] avoids even that copy.
pub fn parse(input: &str) -> Result<Parsed<KernelLog>, Error> {
    check_text(input)?;
    Ok(parse_shared(&FileBytes::from(input)))
}

/// [`parse`] over a file's shared content: messages are slices of `input`
/// itself, so the log adds no copy of the file. Content that is not UTF-8
/// is read as [`parse_bytes`] reads it (one lossy copy).
pub fn parse_file(input: &FileBytes) -> Result<Parsed<KernelLog>, Error> {
    match input.as_str() {
        Some(text) => {
            check_text(text)?;
            Ok(parse_shared(input))
        }
        None => parse_bytes(input),
    }
}

/// Parses raw bytes, such as a `/dev/kmsg` dump; bytes that are not UTF-8
/// become U+FFFD (the kernel escapes such bytes in kmsg as `\xNN` anyway).
pub fn parse_bytes(input: &[u8]) -> Result<Parsed<KernelLog>, Error> {
    let text = String::from_utf8_lossy(input);
    check_text(&text)?;
    Ok(parse_shared(&FileBytes::from(text.into_owned())))
}

/// `Err` for binary data that is not `/dev/kmsg` records.
fn check_text(input: &str) -> Result<(), Error> {
    if looks_like_kmsg(input) {
        return Ok(());
    }
    if let Some(nul) = memchr::memchr(0, input.as_bytes()) {
        let line = 1 + memchr::memchr_iter(b'\n', &input.as_bytes()[..nul]).count();
        return Err(Error::Binary { line });
    }
    Ok(())
}

/// Parses `file`, whose content is UTF-8 (checked by the callers).
fn parse_shared(file: &FileBytes) -> Parsed<KernelLog> {
    let input = file.as_str().unwrap_or_default();
    if looks_like_kmsg(input) {
        parse_kmsg(file, input)
    } else {
        parse_text(file, input)
    }
}

/// Whether the first non-empty chunk is a kmsg record header.
fn looks_like_kmsg(input: &str) -> bool {
    input
        .split(['\n', '\0'])
        .find(|chunk| !chunk.is_empty())
        .is_some_and(|chunk| kmsg::header(chunk).is_some())
}

fn parse_kmsg(file: &FileBytes, input: &str) -> Parsed<KernelLog> {
    let mut records = Builder::new(file.clone(), input, TimeKind::SinceBoot, 0);
    let mut unparsed = Vec::new();
    let mut caller_seen = false;
    // Dictionary lines belong to the record just before them, not to one
    // before an unparsed chunk.
    let mut continuing = false;
    let bytes = input.as_bytes();
    let mut line = 1usize;
    let mut start = 0usize;
    // Each chunk ends at '\n' or NUL; `line` counts newlines only, so a
    // NUL-separated record keeps the number of the line it starts on.
    while start <= bytes.len() {
        let end = memchr::memchr2(b'\n', 0, &bytes[start..]).map_or(bytes.len(), |at| start + at);
        let chunk = input[start..end]
            .strip_suffix('\r')
            .unwrap_or(&input[start..end]);
        if !chunk.is_empty() {
            if let Some(header) = kmsg::header(chunk) {
                caller_seen |= header.caller.is_some();
                continuing = true;
                let mut record = Open::new(header.since_boot_us, line);
                record.facility = Some(Facility::from_code(header.priority >> 3));
                record.level = Some(Level::from_code(header.priority));
                record.seq = Some(header.seq);
                record.caller = header.caller;
                match kmsg::unescape(header.message) {
                    Cow::Borrowed(message) => records.open(record, message, None),
                    Cow::Owned(message) => records.open(record, "", Some(message)),
                }
            } else if let (Some(entry), false, true) =
                (chunk.strip_prefix(' '), records.is_empty(), continuing)
            {
                match entry.split_once('=') {
                    Some((key, value)) => {
                        let key = records.shared(key);
                        let value = match kmsg::unescape(value) {
                            Cow::Borrowed(value) => records.shared(value),
                            Cow::Owned(value) => SharedText::from(value),
                        };
                        if let Some(record) = records.last_mut() {
                            record.fields.push((key, value));
                            record.last_line = line;
                        }
                    }
                    None => unparsed.push(Unparsed {
                        line,
                        raw: chunk.to_owned(),
                        reason: "kmsg dictionary line without `=`".to_owned(),
                    }),
                }
            } else {
                continuing = false;
                unparsed.push(Unparsed {
                    line,
                    raw: chunk.to_owned(),
                    reason: "not a kmsg record (`prio,seq,usec,flags;message`) or dictionary line"
                        .to_owned(),
                });
            }
        }
        if end < bytes.len() && bytes[end] == b'\n' {
            line += 1;
        }
        start = end + 1;
    }
    let log = KernelLog {
        format: Format::Kmsg {
            caller: caller_seen,
        },
        records: records.finish(),
        boot_time: BootTime::Unknown {
            reason: reason_since_boot().to_owned(),
        },
        unparsed,
    };
    finish(log)
}

fn reason_since_boot() -> &'static str {
    "time stamps count microseconds since boot and the input does not say when the node booted; \
     give the boot time or align with `dmesg --ctime` output of the same boot"
}

/// The prefix shape that every record line of a text log shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shape {
    priority: PriorityStyle,
    time: TimeStyle,
}

fn detect_shape(input: &str) -> Option<(Shape, bool)> {
    numbered_lines(input)
        .take(DETECT_LINES)
        .find_map(|(_, line)| {
            let prefix = text::line_prefix(line);
            (prefix.priority != PriorityStyle::None || prefix.time != TimeStyle::None).then_some((
                Shape {
                    priority: prefix.priority,
                    time: prefix.time,
                },
                prefix.caller.is_some(),
            ))
        })
}

fn parse_text(file: &FileBytes, input: &str) -> Parsed<KernelLog> {
    let Some((shape, caller)) = detect_shape(input) else {
        return parse_bare(file, input);
    };
    let time_kind = match shape.time {
        TimeStyle::None => TimeKind::None,
        TimeStyle::SinceBoot => TimeKind::SinceBoot,
        TimeStyle::Ctime | TimeStyle::Iso => TimeKind::Wall,
    };
    let mut records = Builder::new(file.clone(), input, time_kind, input.len() / 64 + 1);
    let mut unparsed = Vec::new();
    // Column of the current record's message, for continuation lines.
    let mut column = 0usize;
    // Whether the previous non-blank line was a record or its continuation:
    // an indented line after an unparsed line belongs to that line, not to
    // the last record.
    let mut continuing = false;
    for (line_no, line) in numbered_lines(input) {
        if line.is_empty() {
            // util-linux prints an empty line of a multi-line message (and a
            // message's trailing newline) as an empty line, without
            // indentation. Before any record a blank line carries nothing.
            if continuing {
                records.continue_message("", line_no);
            }
            continue;
        }
        let prefix = text::line_prefix(line);
        if prefix.priority == shape.priority && prefix.time == shape.time {
            continuing = true;
            column = prefix.column;
            // The shape fixes which time the line states; the wall-clock
            // time is kept as its bits.
            let time = match time_kind {
                TimeKind::None => 0,
                TimeKind::SinceBoot => prefix.since_boot_us.unwrap_or_default(),
                TimeKind::Wall => prefix.wall_time.map_or(0, |at| at.0 as u64),
            };
            let mut record = Open::new(time, line_no);
            record.facility = prefix.facility;
            record.level = prefix.level;
            record.caller = prefix.caller;
            records.open(record, prefix.message, None);
            continue;
        }
        let indent = line.len() - line.trim_start_matches(' ').len();
        let unindented_ok = shape.priority == PriorityStyle::Raw
            && prefix.priority == PriorityStyle::None
            && prefix.time == TimeStyle::None;
        if continuing && !records.is_empty() && (indent > 0 || unindented_ok) {
            records.continue_message(&line[indent.min(column)..], line_no);
        } else {
            continuing = false;
            unparsed.push(Unparsed {
                line: line_no,
                raw: line.to_owned(),
                reason: mismatch_reason(shape, &prefix, records.is_empty(), line.starts_with(' ')),
            });
        }
    }
    let boot_time = BootTime::Unknown {
        reason: match shape.time {
            TimeStyle::SinceBoot => reason_since_boot(),
            TimeStyle::Ctime => {
                "`dmesg --ctime` stamps are wall-clock times with 1 s resolution and the input \
                 has no time since boot; align with plain `dmesg` output of the same boot"
            }
            TimeStyle::Iso => {
                "iso stamps are wall-clock times and the input has no time since boot; align \
                 with plain `dmesg` output of the same boot"
            }
            TimeStyle::None => "the input has no time stamps",
        }
        .to_owned(),
    };
    finish(KernelLog {
        format: Format::Text {
            priority: shape.priority,
            time: shape.time,
            caller,
        },
        records: records.finish(),
        boot_time,
        unparsed,
    })
}

fn mismatch_reason(
    shape: Shape,
    prefix: &text::LinePrefix<'_>,
    before_first: bool,
    indented_after_unparsed: bool,
) -> String {
    let mut reason = String::from("expected a line starting with ");
    match shape.priority {
        PriorityStyle::None => {}
        PriorityStyle::Raw => reason.push_str("a `<N>` priority and "),
        PriorityStyle::Decoded => reason.push_str("a `facility:level:` priority and "),
    }
    reason.push_str(match shape.time {
        TimeStyle::None => "no time stamp",
        TimeStyle::SinceBoot => "a `[secs.usecs]` time stamp",
        TimeStyle::Ctime => "a `[Www Mmm dd hh:mm:ss yyyy]` time stamp",
        TimeStyle::Iso => "an iso time stamp",
    });
    if before_first {
        reason.push_str(" (the line comes before the first record)");
    } else if indented_after_unparsed {
        reason.push_str(" (an indented line after an unparsed line)");
    } else {
        reason.push_str(" or an indented continuation line");
    }
    if prefix.priority != PriorityStyle::None || prefix.time != TimeStyle::None {
        reason.push_str("; the line has a prefix of another form");
    }
    reason
}

/// Bare messages (`dmesg --notime` or a message list): one record per
/// non-blank line, since multi-line messages cannot be told apart.
fn parse_bare(file: &FileBytes, input: &str) -> Parsed<KernelLog> {
    let mut records = Builder::new(file.clone(), input, TimeKind::None, 0);
    for (line_no, line) in numbered_lines(input).filter(|(_, line)| !line.is_empty()) {
        records.open(Open::new(0, line_no), line, None);
    }
    finish(KernelLog {
        format: Format::Text {
            priority: PriorityStyle::None,
            time: TimeStyle::None,
            caller: false,
        },
        records: records.finish(),
        boot_time: BootTime::Unknown {
            reason: "the input has no time stamps".to_owned(),
        },
        unparsed: Vec::new(),
    })
}

fn finish(log: KernelLog) -> Parsed<KernelLog> {
    let diagnostics: Vec<Diagnostic> = log.unparsed.iter().map(Unparsed::diagnostic).collect();
    Parsed {
        value: log,
        diagnostics,
    }
}
