//! The `journalctl` text formats: the `short` family and `cat`, with marker
//! lines, continuation lines and year inference for `short` stamps.
//!
//! ```text
//! -- Boot 4c3a0f6f2a8a4a0c9d1c0b6f3e2d1a00 --
//! Jan 15 10:00:00 ip-10-0-1-23.ec2.internal kubelet[2871]: I0115 10:00:00.1 …   short
//! Jan 15 10:00:00.123456 ip-10-0-1-23.ec2.internal kubelet[2871]: …             short-precise
//! 2025-01-15T10:00:00+0000 ip-10-0-1-23.ec2.internal kubelet[2871]: …           short-iso
//! 2025-01-15T10:00:00.123456+00:00 ip-10-0-1-23.ec2.internal kubelet[2871]: …   short-iso-precise
//! 1736935200.123456 ip-10-0-1-23.ec2.internal kubelet[2871]: …                  short-unix
//! [  212.123456] ip-10-0-1-23.ec2.internal kubelet[2871]: …                     short-monotonic
//!                                                          second line          <- continuation,
//!                                                                                  indented to the message
//! ```

use crate::diag::{Diagnostic, Parsed};
use crate::journald::clock;
use crate::journald::model::{
    Entry, Inner, Journal, JournalFormat, LineSpan, Marker, MarkerKind, Precision, SyslogStamp,
    WallTime,
};
use crate::journald::store::{
    HeadInterner, OFFSET_LIMIT, Store, TextHeader, TextMessage, TextStamp,
};
use crate::journald::{Interner, ParseOptions, SharedStr, lines, unparsed};
use crate::shared::FileBytes;
use crate::time::Timestamp;

const DAY_SECONDS: i64 = 86_400;

/// Whether the input's first line is a `short-monotonic` stamp rather than
/// the start of a JSON array.
pub(super) fn looks_monotonic(body: &[u8]) -> bool {
    monotonic_stamp(body).is_some()
}

/// The text format a line is written in, if any.
pub(super) fn detect_line(line: &[u8]) -> Option<JournalFormat> {
    const CANDIDATES: [JournalFormat; 6] = [
        JournalFormat::Short,
        JournalFormat::ShortPrecise,
        JournalFormat::ShortIso,
        JournalFormat::ShortIsoPrecise,
        JournalFormat::ShortUnix,
        JournalFormat::ShortMonotonic,
    ];
    CANDIDATES
        .into_iter()
        .find(|&format| match stamp(line, format) {
            Some((TextStamp::Wall(time), len)) if format == JournalFormat::ShortIso => {
                time.precision == Precision::Second && header(line, len).is_some()
            }
            Some((TextStamp::Wall(time), len)) if format == JournalFormat::ShortIsoPrecise => {
                time.precision != Precision::Second && header(line, len).is_some()
            }
            Some((TextStamp::Syslog(syslog), len)) if format == JournalFormat::Short => {
                syslog.micros.is_none() && header(line, len).is_some()
            }
            Some((TextStamp::Syslog(syslog), len)) if format == JournalFormat::ShortPrecise => {
                syslog.micros.is_some() && header(line, len).is_some()
            }
            Some((_, len)) => header(line, len).is_some(),
            None => false,
        })
}

/// A marker line, if this is one.
pub(super) fn marker(line: &[u8]) -> Option<MarkerKind> {
    if line == b"Hint: Some lines were ellipsized, use -l to show in full." {
        return Some(MarkerKind::EllipsisHint);
    }
    let inner = line.strip_prefix(b"-- ")?.strip_suffix(b" --")?;
    match inner {
        b"No entries" => return Some(MarkerKind::NoEntries),
        b"Reboot" => return Some(MarkerKind::Reboot),
        _ => {}
    }
    if let Some(id) = inner.strip_prefix(b"Boot ") {
        if !id.is_empty() && id.iter().all(u8::is_ascii_hexdigit) {
            return Some(MarkerKind::Boot {
                id: String::from_utf8_lossy(id).into_owned(),
            });
        }
        return None;
    }
    let dates = inner
        .strip_prefix(b"Logs begin at ")
        .or_else(|| inner.strip_prefix(b"Journal begins at "))?;
    let dates = dates.strip_suffix(b".").unwrap_or(dates);
    let (begin, end) = match memchr::memmem::find(dates, b", end") {
        Some(comma) => {
            let after = &dates[comma + 2..];
            let end_text = after
                .strip_prefix(b"end at ")
                .or_else(|| after.strip_prefix(b"ends at "))?;
            (&dates[..comma], Some(end_text))
        }
        None => (dates, None),
    };
    Some(MarkerKind::LogsBegin {
        begin: marker_date(begin),
        end: end.and_then(marker_date),
    })
}

/// `Mon 2025-01-13 09:12:01 UTC` (journalctl's `FORMAT_TIMESTAMP`); only UTC,
/// GMT and numeric zones are resolved, since zone abbreviations are
/// ambiguous.
fn marker_date(text: &[u8]) -> Option<Timestamp> {
    let text = match text.get(3) {
        Some(b' ') if text[..3].iter().all(u8::is_ascii_alphabetic) => &text[4..],
        _ => text,
    };
    if text.len() < 21 || text[19] != b' ' {
        return None;
    }
    let zone = &text[20..];
    let offset = match zone {
        b"UTC" | b"GMT" | b"Z" => "Z".to_owned(),
        [b'+' | b'-', ..] => String::from_utf8_lossy(zone).into_owned(),
        _ => return None,
    };
    let mut iso = Vec::with_capacity(26);
    iso.extend_from_slice(&text[..19]);
    iso.extend_from_slice(offset.as_bytes());
    clock::rfc3339(&iso).map(|(at, _)| at)
}

pub(super) fn parse(
    file: &FileBytes,
    format: JournalFormat,
    options: &ParseOptions,
) -> Parsed<Journal> {
    parse_with_limit(file, format, options, OFFSET_LIMIT)
}

/// [`parse`], copying messages that end past `offset_limit` in the file
/// (tests lower it to exercise what files over 4 GiB do).
pub(super) fn parse_with_limit(
    file: &FileBytes,
    format: JournalFormat,
    options: &ParseOptions,
    offset_limit: usize,
) -> Parsed<Journal> {
    let input = file.as_bytes();
    // One entry per line is the common case; counting lines first saves
    // the rows' regrowth copies on inputs of hundreds of megabytes.
    let capacity = memchr::memchr_iter(b'\n', input).count() + 1;
    let mut builder = Builder {
        store: Store::text(file, offset_limit, capacity),
        heads: HeadInterner::default(),
        interner: Interner::default(),
    };
    let mut markers = Vec::new();
    let mut kept = Vec::new();
    let mut diagnostics = Vec::new();
    let mut pending: Option<Pending<'_>> = None;
    let mut boot_id: Option<SharedStr> = None;

    for (line_no, line) in lines(input) {
        if let Some(first) = line.first()
            && (*first == b'-' || *first == b'H')
            && let Some(kind) = marker(line)
        {
            builder.finish(&mut pending, boot_id.as_ref());
            if let MarkerKind::Boot { id } = &kind {
                boot_id = Some(SharedStr::from(id.as_str()));
            }
            markers.push(Marker {
                line: line_no,
                kind,
            });
            continue;
        }
        if format == JournalFormat::Cat {
            let header = TextHeader {
                stamp: TextStamp::None,
                host: None,
                identifier: None,
                pid: None,
                boot_id: boot_id.as_ref(),
                lines: LineSpan {
                    first: line_no,
                    last: line_no,
                },
            };
            builder.push(header, TextMessage::Slice(line));
            continue;
        }
        if let Some((header, message_start)) = parse_line(line, format) {
            // The entry is stored when its message is complete: at the next
            // entry, marker or the end of input.
            builder.finish(&mut pending, boot_id.as_ref());
            pending = Some(Pending {
                header,
                first_line: line_no,
                last_line: line_no,
                first: &line[message_start..],
                more: None,
                column: message_start,
            });
            continue;
        }
        if line
            .first()
            .is_some_and(|&byte| byte == b' ' || byte == b'\t')
            && let Some(current) = pending.as_mut()
        {
            // journalctl indents the following lines of a multi-line
            // message to the message column.
            let indent = line
                .iter()
                .take(current.column)
                .take_while(|&&b| b == b' ')
                .count();
            let text = if indent == current.column {
                &line[indent..]
            } else {
                line.trim_ascii_start()
            };
            let more = current.more.get_or_insert_with(|| current.first.to_vec());
            more.push(b'\n');
            more.extend_from_slice(text);
            current.last_line = line_no;
            continue;
        }
        let reason = if line.is_empty() {
            "empty line".to_owned()
        } else {
            format!("not a journalctl {format} line")
        };
        unparsed(line_no, line, reason, &mut kept, &mut diagnostics);
    }
    builder.finish(&mut pending, boot_id.as_ref());
    let mut store = builder.store;
    store.finish();
    let mut journal = Journal {
        format,
        store,
        markers,
        unparsed: kept,
    };
    infer_years(&mut journal, options, &mut diagnostics);
    journal.store.resolve_side_inner_times();
    diagnostics.sort_by_key(|diagnostic| diagnostic.line);
    Parsed {
        value: journal,
        diagnostics,
    }
}

/// The last entry, whose message may still grow by continuation lines.
struct Pending<'a> {
    header: LineHeader<'a>,
    first_line: usize,
    last_line: usize,
    /// The message part of the entry's own line.
    first: &'a [u8],
    /// The message with continuation lines, once there are any.
    more: Option<Vec<u8>>,
    column: usize,
}

/// The store being filled and the tables that share its repeated text.
struct Builder {
    store: Store,
    heads: HeadInterner,
    interner: Interner,
}

impl Builder {
    fn push(&mut self, header: TextHeader<'_>, message: TextMessage<'_>) {
        self.store
            .push_text(header, message, &mut self.heads, &mut self.interner);
    }

    /// Stores the pending entry, if any.
    fn finish(&mut self, pending: &mut Option<Pending<'_>>, boot_id: Option<&SharedStr>) {
        let Some(pending) = pending.take() else {
            return;
        };
        let header = TextHeader {
            stamp: pending.header.stamp,
            host: Some(pending.header.host),
            identifier: Some(pending.header.identifier),
            pid: pending.header.pid,
            boot_id,
            lines: LineSpan {
                first: pending.first_line,
                last: pending.last_line,
            },
        };
        let message = match pending.more {
            Some(bytes) => TextMessage::Joined(bytes),
            None => TextMessage::Slice(pending.first),
        };
        self.push(header, message);
    }
}

/// The header of an entry line of a `short`-family format.
struct LineHeader<'a> {
    stamp: TextStamp,
    host: &'a [u8],
    identifier: &'a [u8],
    pid: Option<u32>,
}

/// One entry line of a `short`-family format: its header, and where the
/// message starts.
fn parse_line(line: &[u8], format: JournalFormat) -> Option<(LineHeader<'_>, usize)> {
    let (stamp, stamp_len) = stamp(line, format)?;
    let header = header(line, stamp_len)?;
    Some((
        LineHeader {
            stamp,
            host: header.host,
            identifier: header.identifier,
            pid: header.pid,
        },
        header.message_start,
    ))
}

struct Header<'a> {
    host: &'a [u8],
    identifier: &'a [u8],
    pid: Option<u32>,
    message_start: usize,
}

/// `host ident[pid]: ` after the stamp.
fn header(line: &[u8], stamp_len: usize) -> Option<Header<'_>> {
    let rest = &line[stamp_len..];
    let host_len = memchr::memchr(b' ', rest)?;
    if host_len == 0 {
        return None;
    }
    let host = &rest[..host_len];
    let after_host = stamp_len + host_len + 1;
    let tail = &line[after_host..];
    let (ident_len, message_start) = match colon_space(tail) {
        Some(colon) => (colon, after_host + colon + 2),
        None if tail.last() == Some(&b':') => (tail.len() - 1, line.len()),
        None => return None,
    };
    let ident = &tail[..ident_len];
    if ident.is_empty() {
        return None;
    }
    let (identifier, pid) = match ident.strip_suffix(b"]").and_then(|open| {
        let bracket = memchr::memrchr(b'[', open)?;
        let pid = u32::try_from(clock::parse_u64(&open[bracket + 1..])?).ok()?;
        Some((&open[..bracket], pid))
    }) {
        Some((identifier, pid)) => (identifier, Some(pid)),
        None => (ident, None),
    };
    Some(Header {
        host,
        identifier,
        pid,
        message_start,
    })
}

/// The first `": "` (cheaper than building a `memmem` searcher per line).
fn colon_space(haystack: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b':', haystack).find(|&colon| haystack.get(colon + 1) == Some(&b' '))
}

/// The stamp at the start of a line and its length including the space
/// after it.
fn stamp(line: &[u8], format: JournalFormat) -> Option<(TextStamp, usize)> {
    match format {
        JournalFormat::Short | JournalFormat::ShortPrecise => syslog_stamp(line),
        JournalFormat::ShortIso | JournalFormat::ShortIsoPrecise => {
            let end = memchr::memchr(b' ', line)?;
            let (at, precision) = clock::rfc3339(&line[..end])?;
            let time = WallTime {
                at,
                precision,
                year_inferred: false,
            };
            Some((TextStamp::Wall(time), end + 1))
        }
        JournalFormat::ShortUnix => {
            let end = memchr::memchr(b' ', line)?;
            let (us, precision) = clock::seconds_fraction(&line[..end])?;
            let time = WallTime {
                at: Timestamp(i64::try_from(us).ok()?),
                precision,
                year_inferred: false,
            };
            Some((TextStamp::Wall(time), end + 1))
        }
        JournalFormat::ShortMonotonic => {
            let (us, len) = monotonic_stamp(line)?;
            Some((TextStamp::Monotonic(us), len))
        }
        _ => None,
    }
}

/// `Jan 15 10:00:00 ` or `Jan 15 10:00:00.123456 ` (day zero- or
/// space-padded).
fn syslog_stamp(line: &[u8]) -> Option<(TextStamp, usize)> {
    if line.len() < 16 || line[3] != b' ' || line[6] != b' ' {
        return None;
    }
    let month = clock::month_from_abbrev(&line[0..3])?;
    let day = match &line[4..6] {
        [b' ', digit] => clock::digits::<1>(&[*digit])?,
        two => clock::digits::<2>(two)?,
    } as u8;
    if !(1..=31).contains(&day) {
        return None;
    }
    let (hour, minute, second) = clock::clock(&line[7..15])?;
    let (micros, len) = match line[15] {
        b' ' => (None, 16),
        b'.' => {
            let space = 16 + memchr::memchr(b' ', &line[16..])?;
            let (micros, _) = clock::fraction(&line[16..space])?;
            (Some(micros), space + 1)
        }
        _ => return None,
    };
    let stamp = SyslogStamp {
        month,
        day,
        hour,
        minute,
        second,
        micros,
    };
    Some((TextStamp::Syslog(stamp), len))
}

/// `[  212.123456] ` as microseconds since boot and the stamp's length.
fn monotonic_stamp(line: &[u8]) -> Option<(u64, usize)> {
    let body = line.strip_prefix(b"[")?;
    let close = memchr::memchr(b']', body)?;
    let number = body[..close].trim_ascii_start();
    if number.is_empty() || memchr::memchr(b'.', number).is_none() {
        return None;
    }
    let (us, _) = clock::seconds_fraction(number)?;
    let after = close + 2;
    match line.get(after) {
        Some(b' ') => Some((us, after + 1)),
        None => Some((us, after)),
        Some(_) => None,
    }
}

/// Resolves `short` stamps to absolute times (see the module docs of
/// `journald` for the rules).
///
/// Entries of `cat` and `short-monotonic` carry no wall time at all; for
/// them the klog stamp inside the message (month and day, no year) is
/// resolved the same way into [`Klog::at`](crate::journald::Klog::at).
fn infer_years(journal: &mut Journal, options: &ParseOptions, diagnostics: &mut Vec<Diagnostic>) {
    let store = &mut journal.store;
    let count = store.len();
    if !(0..count).any(|index| store.year_less_stamp(index).is_some()) {
        return;
    }
    let first_line = (0..count)
        .find(|&index| {
            store
                .view(index)
                .is_some_and(|view| view.syslog_stamp().is_some())
        })
        .map(|index| store.first_line(index));
    let logs_begin = journal.markers.iter().find_map(|marker| match marker.kind {
        MarkerKind::LogsBegin { begin, end } => Some((begin, end)),
        _ => None,
    });
    let (reference, backwards) = match (options.reference_time, logs_begin) {
        (Some(reference), _) => (reference, true),
        (None, Some((_, Some(end)))) => (end, true),
        (None, Some((Some(begin), None))) => (begin, false),
        _ => {
            // Only `short` stamps are the entry's own time; an unresolved
            // klog stamp in `cat` output is not worth a diagnostic.
            if let Some(line) = first_line {
                diagnostics.push(Diagnostic {
                    line,
                    reason: "`short` timestamps carry no year and there is no reference time \
                             or `Logs begin` marker; times left unresolved"
                        .to_owned(),
                });
            }
            return;
        }
    };
    let Some(reference_datetime) = reference.to_datetime() else {
        return;
    };
    let reference_year = i64::from(reference_datetime.year());
    let reference_ordinal = ordinal(&SyslogStamp {
        month: u8::from(reference_datetime.month()),
        day: reference_datetime.day(),
        hour: reference_datetime.hour(),
        minute: reference_datetime.minute(),
        second: reference_datetime.second(),
        micros: None,
    });
    let mut year = reference_year;
    let mut neighbour = reference_ordinal;
    let order: Box<dyn Iterator<Item = usize>> = if backwards {
        Box::new((0..count).rev())
    } else {
        Box::new(0..count)
    };
    for index in order {
        let Some((stamp, own)) = store.year_less_stamp(index) else {
            continue;
        };
        let here = ordinal(&stamp);
        if backwards && here > neighbour + DAY_SECONDS {
            year -= 1;
        } else if !backwards && here + DAY_SECONDS < neighbour {
            year += 1;
        }
        neighbour = here;
        let at = clock::civil_to_timestamp(
            year,
            stamp.month,
            stamp.day,
            stamp.hour,
            stamp.minute,
            stamp.second,
            stamp.micros.unwrap_or(0),
        );
        match at {
            Some(at) => store.set_inferred(index, at, own, stamp.micros.is_some()),
            None => diagnostics.push(Diagnostic {
                line: store.first_line(index),
                reason: format!(
                    "`{:02}-{:02}` is not a date in the inferred year {year}",
                    stamp.month, stamp.day
                ),
            }),
        }
    }
}

/// A klog header's month, day and time of day as a year-less stamp.
pub(super) fn klog_stamp(month: u8, day: u8, time_of_day_us: u64) -> SyslogStamp {
    let seconds = time_of_day_us / 1_000_000;
    SyslogStamp {
        month,
        day,
        hour: (seconds / 3_600) as u8,
        minute: (seconds / 60 % 60) as u8,
        second: (seconds % 60) as u8,
        micros: Some((time_of_day_us % 1_000_000) as u32),
    }
}

/// The year-less stamp of an entry: its own `short` stamp (`true`), or, for
/// an entry without any wall time, its klog header's (`false`).
pub(super) fn stamp_of(entry: &Entry) -> Option<(SyslogStamp, bool)> {
    if let Some(stamp) = entry.syslog_stamp {
        return Some((stamp, true));
    }
    match &entry.inner {
        Some(Inner::Klog(klog)) if entry.time.is_none() => {
            Some((klog_stamp(klog.month, klog.day, klog.time_of_day_us), false))
        }
        _ => None,
    }
}

/// Seconds into a 31-day-month calendar year; orders stamps within a year.
fn ordinal(stamp: &SyslogStamp) -> i64 {
    ((i64::from(stamp.month) - 1) * 31 + i64::from(stamp.day) - 1) * DAY_SECONDS
        + i64::from(stamp.hour) * 3_600
        + i64::from(stamp.minute) * 60
        + i64::from(stamp.second)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_marker(input: &str, expect: Option<&str>) {
        let got = marker(input.as_bytes()).map(|kind| format!("{kind:?}"));
        assert_eq!(got.as_deref(), expect, "{input}");
    }

    #[test]
    fn markers() {
        check_marker(
            "-- Logs begin at Mon 2025-01-13 09:12:01 UTC, end at Wed 2025-01-15 10:00:02 UTC. --",
            Some(
                "LogsBegin { begin: Some(Timestamp(1736759521000000)), end: Some(Timestamp(1736935202000000)) }",
            ),
        );
        check_marker(
            "-- Journal begins at Mon 2025-01-13 09:12:01 CET, ends at Wed 2025-01-15 10:00:02 +0100. --",
            Some("LogsBegin { begin: None, end: Some(Timestamp(1736931602000000)) }"),
        );
        check_marker(
            "-- Boot 4c3a0f6f2a8a4a0c9d1c0b6f3e2d1a00 --",
            Some(r#"Boot { id: "4c3a0f6f2a8a4a0c9d1c0b6f3e2d1a00" }"#),
        );
        check_marker("-- Boot not-hex --", None);
        check_marker("-- No entries --", Some("NoEntries"));
        check_marker("-- Reboot --", Some("Reboot"));
        check_marker(
            "Hint: Some lines were ellipsized, use -l to show in full.",
            Some("EllipsisHint"),
        );
        check_marker("-- something else --", None);
    }

    #[track_caller]
    fn check_detect(input: &str, expect: Option<JournalFormat>) {
        assert_eq!(detect_line(input.as_bytes()), expect, "{input}");
    }

    #[test]
    fn detect_lines() {
        check_detect(
            "Jan 15 10:00:00 host kubelet[1]: x",
            Some(JournalFormat::Short),
        );
        check_detect("Jan  5 10:00:00 host kernel: x", Some(JournalFormat::Short));
        check_detect(
            "Jan 15 10:00:00.000001 host kubelet[1]: x",
            Some(JournalFormat::ShortPrecise),
        );
        check_detect(
            "2025-01-15T10:00:00+0000 host kubelet[1]: x",
            Some(JournalFormat::ShortIso),
        );
        check_detect(
            "2025-01-15T10:00:00.5+00:00 host kubelet[1]: x",
            Some(JournalFormat::ShortIsoPrecise),
        );
        check_detect(
            "1736935200.123456 host kubelet[1]: x",
            Some(JournalFormat::ShortUnix),
        );
        check_detect(
            "[    5.123456] host kernel: x",
            Some(JournalFormat::ShortMonotonic),
        );
        check_detect("Jan 15 10:00:00 host no colon here", None);
        check_detect("Foo 15 10:00:00 host kubelet[1]: x", None);
        check_detect("just text", None);
    }
}
