//! The compact store behind [`Journal`](super::Journal)'s entries, and the borrowed
//! [`EntryView`] that reads it without materialising an [`Entry`].
//!
//! A kubelet journal of half a million lines used to become half a million
//! [`Entry`] values of about 300 bytes each, plus the klog key/value pairs
//! parsed out of every message: twice the size of the file the messages
//! already point into. The store keeps one fixed-size [`Row`] per entry of
//! the text formats instead, and builds an [`Entry`] only when asked:
//!
//! ```text
//! Row (48 bytes)                                      Store
//! ┌──────────────────────────────────────────────┐
//! │ at: i64        wall time, or the klog stamp's │    file:  FileBytes ── the journal file, shared
//! │                resolved time (no wall time)   │    heads: [(boot_id, host, identifier, unit)]
//! │ stamp: u64     packed `short` stamp, or the   │            distinct combinations, interned
//! │                monotonic µs (short-monotonic) │    texts: [SharedText]  joined multi-line and
//! │ message: u32 ──┬─ offset in `file`            │            other non-slice messages
//! │ message_len    ├─ or index into `texts`       │    side:  [Entry]  whole entries: the export
//! │                └─ or index into `side`        │            and JSON formats, binary messages,
//! │ first_line, extra_lines, pid, head: u32       │            and whatever does not fit a row
//! │ severity: u8   precomputed (klog letter,      │
//! │                logfmt/JSON level)             │
//! │ flags: u16     which of the above are set     │
//! └──────────────────────────────────────────────┘
//! ```
//!
//! Invariant: materialising row `i` ([`EntryView::to_entry`]) gives exactly
//! the [`Entry`] the parser produced before the store existed, including
//! [`Entry::inner`] (parsed on demand from the message, with the klog
//! stamp's year resolved from the row's time as the parser resolved it);
//! the tests compare views, entries and a reference materialisation over
//! every fixture and corpus journal.
//! Invariant: a row's severity byte equals [`Entry::severity`] of its
//! materialised entry, so filtering by severity needs no message parse.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;

use crate::journald::model::{
    Entry, Inner, LineSpan, Message, Precision, Severity, SharedStr, SyslogStamp, WallTime,
};
use crate::journald::{Interner, json, klog, klog_at, parse_inner_with};
use crate::shared::{FileBytes, SharedText};
use crate::time::Timestamp;

/// The largest message end offset a row addresses in the file; beyond it
/// (files over 4 GiB) messages are copied into the text table, as
/// [`SharedText`] slices would be.
pub(super) const OFFSET_LIMIT: usize = u32::MAX as usize - 1;

/// The entries of a journal.
#[derive(Clone, Default)]
pub(super) struct Store {
    /// The file the rows' messages are slices of (text formats).
    file: Option<FileBytes>,
    rows: Vec<Row>,
    heads: Vec<Head>,
    texts: Vec<SharedText>,
    side: Vec<Entry>,
    /// Messages ending past this offset are copied (see [`OFFSET_LIMIT`];
    /// lowered by tests to exercise the fallback).
    offset_limit: usize,
}

/// One entry. See the module docs for the layout.
#[derive(Debug, Clone, Copy)]
struct Row {
    at: i64,
    stamp: u64,
    message: u32,
    message_len: u32,
    first_line: u32,
    extra_lines: u32,
    pid: u32,
    head: u32,
    severity: u8,
    flags: u16,
}

/// The distinct values of the header fields that repeat on every entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
struct Head {
    boot_id: Option<SharedStr>,
    host: Option<SharedStr>,
    identifier: Option<SharedStr>,
    unit: Option<SharedStr>,
}

/// `at` is the entry's wall time.
const TIME: u16 = 1 << 0;
/// The wall time's year was inferred.
const YEAR_INFERRED: u16 = 1 << 1;
/// Two bits of [`Precision`].
const PRECISION_SHIFT: u16 = 2;
const PRECISION_MASK: u16 = 0b11 << PRECISION_SHIFT;
/// `stamp` is a packed `short` stamp.
const SYSLOG: u16 = 1 << 4;
/// `stamp` is the monotonic time in microseconds.
const MONOTONIC: u16 = 1 << 5;
/// `at` is the klog stamp's resolved time (an entry without wall time).
const KLOG_AT: u16 = 1 << 6;
/// `pid` is set.
const PID: u16 = 1 << 7;
/// `message` indexes `texts`.
const OWNED: u16 = 1 << 8;
/// `message` indexes `side`; nothing else of the row is read but the
/// severity.
const SIDE: u16 = 1 << 9;
/// The message has a klog header (its inner message is [`Inner::Klog`]).
const KLOG: u16 = 1 << 10;

/// The header of a text-format entry, as [`Store::push_text`] takes it.
pub(super) struct TextHeader<'a> {
    /// The stamp the line started with, if any.
    pub(super) stamp: TextStamp,
    /// The host and identifier (`None` in `cat`).
    pub(super) host: Option<&'a [u8]>,
    pub(super) identifier: Option<&'a [u8]>,
    pub(super) pid: Option<u32>,
    pub(super) boot_id: Option<&'a SharedStr>,
    pub(super) lines: LineSpan,
}

/// The stamp of a text-format line.
#[derive(Debug, Clone, Copy)]
pub(super) enum TextStamp {
    None,
    Syslog(SyslogStamp),
    Wall(WallTime),
    Monotonic(u64),
}

/// The message of a text-format entry.
pub(super) enum TextMessage<'a> {
    /// A slice of the file.
    Slice(&'a [u8]),
    /// Lines joined into a buffer of their own.
    Joined(Vec<u8>),
}

/// Remembers the last few heads of a parse, so that most entries find
/// theirs by comparing bytes.
#[derive(Default)]
pub(super) struct HeadInterner {
    index: HashMap<Head, u32>,
    last: Option<u32>,
}

impl Store {
    /// An empty store for the text formats, whose messages slice `file`.
    pub(super) fn text(file: &FileBytes, offset_limit: usize, capacity: usize) -> Self {
        Self {
            file: Some(file.clone()),
            rows: Vec::with_capacity(capacity),
            offset_limit,
            ..Self::default()
        }
    }

    /// A store of whole entries (the export and JSON formats).
    pub(super) fn from_entries(entries: Vec<Entry>) -> Self {
        let mut store = Self {
            rows: Vec::with_capacity(entries.len()),
            side: Vec::with_capacity(entries.len()),
            offset_limit: OFFSET_LIMIT,
            ..Self::default()
        };
        for entry in entries {
            store.push_side(entry);
        }
        store
    }

    /// Adds a whole entry.
    pub(super) fn push_side(&mut self, entry: Entry) {
        let Ok(index) = u32::try_from(self.side.len()) else {
            // Four billion entries do not fit in memory anyway.
            return;
        };
        self.rows.push(Row {
            at: 0,
            stamp: 0,
            message: index,
            message_len: 0,
            first_line: 0,
            extra_lines: 0,
            pid: 0,
            head: 0,
            severity: severity_byte(entry.severity()),
            flags: SIDE,
        });
        self.side.push(entry);
    }

    /// Adds an entry of a text format. Its message is a slice of the file
    /// when it can be, else an owned text; the entry goes whole into the
    /// side table when its message is binary or a number does not fit a row.
    pub(super) fn push_text(
        &mut self,
        header: TextHeader<'_>,
        message: TextMessage<'_>,
        heads: &mut HeadInterner,
        interner: &mut Interner,
    ) {
        let placed = self.place(message);
        let lines = header.lines;
        let line_numbers = u32::try_from(lines.first)
            .ok()
            .zip(u32::try_from(lines.last.saturating_sub(lines.first)).ok());
        let packed_stamp = match header.stamp {
            TextStamp::Syslog(stamp) => pack_stamp(stamp),
            TextStamp::Monotonic(us) => Some(us),
            TextStamp::None | TextStamp::Wall(_) => Some(0),
        };
        let texts_index = u32::try_from(self.texts.len()).ok();
        let fits = match (&placed, line_numbers, packed_stamp, texts_index) {
            (Placed::Binary(_), ..) | (_, None, ..) | (_, _, None, _) => None,
            (Placed::Owned(_), _, _, None) => None,
            (_, Some(numbers), Some(stamp), _) => Some((numbers, stamp)),
        };
        let Some(((first_line, extra_lines), stamp)) = fits else {
            let message = match placed {
                Placed::File { text, .. } | Placed::Owned(text) => Message::Text(text),
                Placed::Binary(bytes) => Message::Binary(bytes),
            };
            let mut entry = Entry::empty(lines);
            let head_index = self.head(&header, heads) as usize;
            let head = self.heads.get(head_index).cloned().unwrap_or_default();
            entry.boot_id = head.boot_id;
            entry.host = head.host;
            entry.identifier = head.identifier;
            entry.unit = head.unit;
            entry.pid = header.pid;
            match header.stamp {
                TextStamp::None => {}
                TextStamp::Syslog(stamp) => entry.syslog_stamp = Some(stamp),
                TextStamp::Wall(time) => entry.time = Some(time),
                TextStamp::Monotonic(us) => entry.monotonic_us = Some(us),
            }
            entry.inner = match &message {
                Message::Text(text) => parse_inner_with(text, interner),
                Message::Binary(_) => None,
            };
            entry.message = Some(message);
            self.push_side(entry);
            return;
        };
        let head = self.head(&header, heads);
        let (message, message_len, mut flags, severity, is_klog) = match placed {
            Placed::File { start, len, text } => {
                let (severity, is_klog) = message_severity(&text, interner);
                (start, len, 0, severity, is_klog)
            }
            Placed::Owned(text) => {
                let (severity, is_klog) = message_severity(&text, interner);
                self.texts.push(text);
                // `texts_index` is `Some` here (checked by `fits`).
                (texts_index.unwrap_or_default(), 0, OWNED, severity, is_klog)
            }
            Placed::Binary(_) => return,
        };
        let mut at = 0;
        match header.stamp {
            TextStamp::None => {}
            TextStamp::Syslog(_) => flags |= SYSLOG,
            TextStamp::Monotonic(_) => flags |= MONOTONIC,
            TextStamp::Wall(time) => {
                at = time.at.0;
                flags |= time_flags(time.precision, time.year_inferred);
            }
        }
        if header.pid.is_some() {
            flags |= PID;
        }
        if is_klog {
            flags |= KLOG;
        }
        self.rows.push(Row {
            at,
            stamp,
            message,
            message_len,
            first_line,
            extra_lines,
            pid: header.pid.unwrap_or(0),
            head,
            severity: severity_byte(severity),
            flags,
        });
    }

    /// Where a text-format message goes.
    fn place(&self, message: TextMessage<'_>) -> Placed {
        match message {
            TextMessage::Slice(slice) => {
                if let Some(file) = &self.file
                    && let Some(start) = offset_in(file.as_bytes(), slice)
                    && start + slice.len() <= self.offset_limit
                    && let (Ok(start32), Ok(len)) =
                        (u32::try_from(start), u32::try_from(slice.len()))
                    && let Some(text) = file.text(start, start + slice.len())
                {
                    return Placed::File {
                        start: start32,
                        len,
                        text,
                    };
                }
                // Not a slice of a UTF-8 file, or past the offset limit:
                // the text gets a buffer of its own.
                match std::str::from_utf8(slice) {
                    Ok(text) => Placed::Owned(SharedText::from(text)),
                    Err(_) => Placed::Binary(slice.to_vec()),
                }
            }
            TextMessage::Joined(bytes) => match String::from_utf8(bytes) {
                Ok(text) => Placed::Owned(SharedText::from(text)),
                Err(error) => Placed::Binary(error.into_bytes()),
            },
        }
    }

    /// The index of the entry's head, interned.
    fn head(&mut self, header: &TextHeader<'_>, heads: &mut HeadInterner) -> u32 {
        let same = |head: &Head| {
            opt_eq(&head.host, header.host)
                && opt_eq(&head.identifier, header.identifier)
                && head.boot_id.as_deref() == header.boot_id.map(|id| &**id)
                && head.unit.is_none()
        };
        if let Some(last) = heads.last
            && self.heads.get(last as usize).is_some_and(same)
        {
            return last;
        }
        let lossy = |bytes: &[u8]| SharedStr::from(String::from_utf8_lossy(bytes));
        let head = Head {
            boot_id: header.boot_id.cloned(),
            host: header.host.map(lossy),
            identifier: header.identifier.map(lossy),
            unit: None,
        };
        let index = match heads.index.get(&head) {
            Some(&index) => index,
            None => {
                let Ok(index) = u32::try_from(self.heads.len()) else {
                    return 0;
                };
                self.heads.push(head.clone());
                heads.index.insert(head, index);
                index
            }
        };
        heads.last = Some(index);
        index
    }

    /// Releases spare capacity when the rows were reserved generously
    /// (many continuation or marker lines).
    pub(super) fn finish(&mut self) {
        if self.rows.capacity() > self.rows.len() + self.rows.len() / 8 + 64 {
            self.rows.shrink_to_fit();
        }
        self.texts.shrink_to_fit();
        self.side.shrink_to_fit();
        self.heads.shrink_to_fit();
    }

    /// The number of entries.
    pub(super) fn len(&self) -> usize {
        self.rows.len()
    }

    /// The year-less stamp of entry `index` for year inference: its own
    /// `short` stamp (`true`), or, without any wall time, its klog
    /// header's (`false`).
    pub(super) fn year_less_stamp(&self, index: usize) -> Option<(SyslogStamp, bool)> {
        let row = self.rows.get(index)?;
        if row.flags & SIDE != 0 {
            return super::text::stamp_of(self.side.get(row.message as usize)?);
        }
        if row.flags & SYSLOG != 0 {
            return Some((unpack_stamp(row.stamp), true));
        }
        if row.flags & (KLOG | TIME) == KLOG {
            let text = self.row_text(row)?;
            let header = klog::header(text.as_bytes())?;
            let stamp = super::text::klog_stamp(header.month, header.day, header.time_of_day_us);
            return Some((stamp, false));
        }
        None
    }

    /// Stores the time inferred for entry `index` from its year-less stamp:
    /// its wall time (`own`), else its klog stamp's.
    pub(super) fn set_inferred(&mut self, index: usize, at: Timestamp, own: bool, micros: bool) {
        let Some(row) = self.rows.get_mut(index) else {
            return;
        };
        let precision = if micros {
            Precision::Microsecond
        } else {
            Precision::Second
        };
        if row.flags & SIDE != 0 {
            let Some(entry) = self.side.get_mut(row.message as usize) else {
                return;
            };
            if own {
                entry.time = Some(WallTime {
                    at,
                    precision,
                    year_inferred: true,
                });
            } else if let Some(Inner::Klog(klog)) = entry.inner.as_mut() {
                klog.at = Some(at);
            }
            return;
        }
        row.at = at.0;
        if own {
            row.flags |= time_flags(precision, true);
        } else {
            row.flags |= KLOG_AT;
        }
    }

    /// The first input line of entry `index`.
    pub(super) fn first_line(&self, index: usize) -> usize {
        self.view(index).map_or(0, |view| view.lines().first)
    }

    /// Resolves the klog stamps of whole entries with their entry's year
    /// (what the rows do on materialisation).
    pub(super) fn resolve_side_inner_times(&mut self) {
        super::resolve_inner_times(&mut self.side);
    }

    /// A view of entry `index`.
    pub(super) fn view(&self, index: usize) -> Option<EntryView<'_>> {
        let row = self.rows.get(index)?;
        Some(EntryView {
            store: self,
            row,
            index,
        })
    }

    /// Views of every entry.
    pub(super) fn views(
        &self,
    ) -> impl ExactSizeIterator<Item = EntryView<'_>> + DoubleEndedIterator {
        self.rows
            .iter()
            .enumerate()
            .map(move |(index, row)| EntryView {
                store: self,
                row,
                index,
            })
    }

    /// The message text of a compact row.
    fn row_text(&self, row: &Row) -> Option<&str> {
        if row.flags & OWNED != 0 {
            return self.texts.get(row.message as usize).map(SharedText::as_str);
        }
        let start = row.message as usize;
        self.file
            .as_ref()?
            .as_str()?
            .get(start..start + row.message_len as usize)
    }
}

/// A text-format message, placed.
enum Placed {
    File {
        start: u32,
        len: u32,
        text: SharedText,
    },
    Owned(SharedText),
    Binary(Vec<u8>),
}

fn opt_eq(known: &Option<SharedStr>, bytes: Option<&[u8]>) -> bool {
    match (known, bytes) {
        (Some(known), Some(bytes)) => known.as_bytes() == bytes,
        (None, None) => true,
        _ => false,
    }
}

/// Where `part` starts inside `whole`, when it is a sub-slice of it.
fn offset_in(whole: &[u8], part: &[u8]) -> Option<usize> {
    let offset = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    (offset.checked_add(part.len())? <= whole.len()).then_some(offset)
}

fn time_flags(precision: Precision, year_inferred: bool) -> u16 {
    let precision = match precision {
        Precision::Second => 0,
        Precision::Millisecond => 1,
        Precision::Microsecond => 2,
        Precision::Nanosecond => 3,
    };
    TIME | (precision << PRECISION_SHIFT) | if year_inferred { YEAR_INFERRED } else { 0 }
}

/// Packs a `short` stamp into 64 bits; `None` when its fraction does not
/// fit (it always does: microseconds are below a million).
fn pack_stamp(stamp: SyslogStamp) -> Option<u64> {
    let micros = match stamp.micros {
        Some(micros) if micros < 1 << 23 => (u64::from(micros) << 1) | 1,
        Some(_) => return None,
        None => 0,
    };
    Some(
        u64::from(stamp.month)
            | u64::from(stamp.day) << 8
            | u64::from(stamp.hour) << 16
            | u64::from(stamp.minute) << 24
            | u64::from(stamp.second) << 32
            | micros << 40,
    )
}

fn unpack_stamp(packed: u64) -> SyslogStamp {
    let byte = |shift: u32| (packed >> shift) as u8;
    let micros = packed >> 40;
    SyslogStamp {
        month: byte(0),
        day: byte(8),
        hour: byte(16),
        minute: byte(24),
        second: byte(32),
        micros: (micros & 1 == 1).then_some((micros >> 1) as u32),
    }
}

const SEVERITIES: [Severity; 8] = [
    Severity::Debug,
    Severity::Info,
    Severity::Notice,
    Severity::Warning,
    Severity::Error,
    Severity::Critical,
    Severity::Alert,
    Severity::Emergency,
];

fn severity_byte(severity: Option<Severity>) -> u8 {
    severity.map_or(0, |severity| {
        SEVERITIES
            .iter()
            .position(|known| *known == severity)
            .map_or(0, |at| at as u8 + 1)
    })
}

fn severity_of_byte(byte: u8) -> Option<Severity> {
    SEVERITIES.get(usize::from(byte).checked_sub(1)?).copied()
}

/// The severity [`Entry::severity`] gives an entry of a text format (which
/// has no priority) with this message, and whether the message has a klog
/// header; without parsing klog's key/value pairs.
fn message_severity(text: &SharedText, interner: &mut Interner) -> (Option<Severity>, bool) {
    match text.as_bytes().first() {
        Some(b'I' | b'W' | b'E' | b'F') => match klog::header(text.as_bytes()) {
            Some(header) => (Some(header.severity.into()), true),
            None => (None, false),
        },
        Some(b'{') => (
            json::parse_message(text).and_then(|json| json.level.as_ref()?.severity()),
            false,
        ),
        // A logfmt message has a level only with a `level=` pair; the
        // screen spares the parse of every other message.
        Some(_) if memchr::memmem::find(text.as_bytes(), b"level=").is_some() => (
            super::logfmt::parse(text, interner)
                .and_then(|logfmt| logfmt.level.as_ref()?.severity()),
            false,
        ),
        _ => (None, false),
    }
}

/// A borrowed entry of a [`Journal`](super::Journal): reads the compact
/// store without building an [`Entry`], for scans over every entry (search,
/// indexes, timelines) that materialise only what they keep
/// ([`EntryView::to_entry`]).
#[derive(Clone, Copy)]
pub struct EntryView<'a> {
    store: &'a Store,
    row: &'a Row,
    index: usize,
}

impl<'a> EntryView<'a> {
    /// The entry's position in the journal.
    #[must_use]
    pub fn index(&self) -> usize {
        self.index
    }

    /// The whole entry, if the row stands for one.
    fn side(&self) -> Option<&'a Entry> {
        if self.row.flags & SIDE == 0 {
            return None;
        }
        self.store.side.get(self.row.message as usize)
    }

    fn head(&self) -> Option<&'a Head> {
        self.store.heads.get(self.row.head as usize)
    }

    /// [`Entry::time`].
    #[must_use]
    pub fn time(&self) -> Option<WallTime> {
        if let Some(entry) = self.side() {
            return entry.time;
        }
        (self.row.flags & TIME != 0).then_some(WallTime {
            at: Timestamp(self.row.at),
            precision: match (self.row.flags & PRECISION_MASK) >> PRECISION_SHIFT {
                0 => Precision::Second,
                1 => Precision::Millisecond,
                2 => Precision::Microsecond,
                _ => Precision::Nanosecond,
            },
            year_inferred: self.row.flags & YEAR_INFERRED != 0,
        })
    }

    /// [`Entry::syslog_stamp`].
    #[must_use]
    pub fn syslog_stamp(&self) -> Option<SyslogStamp> {
        if let Some(entry) = self.side() {
            return entry.syslog_stamp;
        }
        (self.row.flags & SYSLOG != 0).then(|| unpack_stamp(self.row.stamp))
    }

    /// [`Entry::monotonic_us`].
    #[must_use]
    pub fn monotonic_us(&self) -> Option<u64> {
        if let Some(entry) = self.side() {
            return entry.monotonic_us;
        }
        (self.row.flags & MONOTONIC != 0).then_some(self.row.stamp)
    }

    /// [`Entry::best_time`]: the wall time, else the inner message's own
    /// stamp (parsing the message only when there is no wall time and it
    /// is not klog).
    #[must_use]
    pub fn best_time(&self) -> Option<Timestamp> {
        if let Some(entry) = self.side() {
            return entry.best_time();
        }
        if self.row.flags & TIME != 0 {
            return Some(Timestamp(self.row.at));
        }
        if self.row.flags & KLOG != 0 {
            return (self.row.flags & KLOG_AT != 0).then_some(Timestamp(self.row.at));
        }
        self.inner().and_then(|inner| match inner {
            Inner::Klog(klog) => klog.at,
            Inner::Logfmt(logfmt) => logfmt.time,
            Inner::Json(json) => json.ts,
        })
    }

    /// [`Entry::severity`], from the row (no message parse).
    #[must_use]
    pub fn severity(&self) -> Option<Severity> {
        severity_of_byte(self.row.severity)
    }

    /// [`Entry::priority`].
    #[must_use]
    pub fn priority(&self) -> Option<u8> {
        self.side().and_then(|entry| entry.priority)
    }

    /// [`Entry::text`]: the message text, borrowed from the journal.
    #[must_use]
    pub fn text(&self) -> Option<&'a str> {
        match self.side() {
            Some(entry) => entry.text(),
            None => self.store.row_text(self.row),
        }
    }

    /// [`Entry::shared_text`]: the message as shared text (a slice of the
    /// journal file, not a copy).
    #[must_use]
    pub fn shared_text(&self) -> Option<SharedText> {
        if let Some(entry) = self.side() {
            return entry.shared_text().cloned();
        }
        if self.row.flags & OWNED != 0 {
            return self.store.texts.get(self.row.message as usize).cloned();
        }
        let start = self.row.message as usize;
        self.store
            .file
            .as_ref()?
            .text(start, start + self.row.message_len as usize)
    }

    /// [`Entry::boot_id`].
    #[must_use]
    pub fn boot_id(&self) -> Option<&'a str> {
        match self.side() {
            Some(entry) => entry.boot_id.as_deref(),
            None => self.head()?.boot_id.as_deref(),
        }
    }

    /// [`Entry::host`].
    #[must_use]
    pub fn host(&self) -> Option<&'a str> {
        match self.side() {
            Some(entry) => entry.host.as_deref(),
            None => self.head()?.host.as_deref(),
        }
    }

    /// [`Entry::identifier`].
    #[must_use]
    pub fn identifier(&self) -> Option<&'a str> {
        match self.side() {
            Some(entry) => entry.identifier.as_deref(),
            None => self.head()?.identifier.as_deref(),
        }
    }

    /// [`Entry::unit`].
    #[must_use]
    pub fn unit(&self) -> Option<&'a str> {
        match self.side() {
            Some(entry) => entry.unit.as_deref(),
            None => self.head()?.unit.as_deref(),
        }
    }

    /// [`Entry::pid`].
    #[must_use]
    pub fn pid(&self) -> Option<u32> {
        match self.side() {
            Some(entry) => entry.pid,
            None => (self.row.flags & PID != 0).then_some(self.row.pid),
        }
    }

    /// [`Entry::lines`].
    #[must_use]
    pub fn lines(&self) -> LineSpan {
        match self.side() {
            Some(entry) => entry.lines,
            None => {
                let first = self.row.first_line as usize;
                LineSpan {
                    first,
                    last: first + self.row.extra_lines as usize,
                }
            }
        }
    }

    /// Whether the message has a klog header, i.e. [`EntryView::inner`] is
    /// [`Inner::Klog`] (known without parsing the message).
    #[must_use]
    pub fn is_klog(&self) -> bool {
        match self.side() {
            Some(entry) => matches!(entry.inner, Some(Inner::Klog(_))),
            None => self.row.flags & KLOG != 0,
        }
    }

    /// [`Entry::inner`], parsed from the message now.
    #[must_use]
    pub fn inner(&self) -> Option<Inner> {
        if let Some(entry) = self.side() {
            return entry.inner.clone();
        }
        self.inner_of(&self.shared_text()?)
    }

    /// The inner message of this (compact) row, whose message is `text`.
    fn inner_of(&self, text: &SharedText) -> Option<Inner> {
        let mut inner = parse_inner_on_demand(text)?;
        if let Inner::Klog(klog) = &mut inner {
            klog.at = if self.row.flags & TIME != 0 {
                klog_at(Timestamp(self.row.at), klog)
            } else if self.row.flags & KLOG_AT != 0 {
                Some(Timestamp(self.row.at))
            } else {
                None
            };
        }
        Some(inner)
    }

    /// The whole entry, materialised: its message is a slice of the
    /// journal file, its inner message parsed now.
    #[must_use]
    pub fn to_entry(&self) -> Entry {
        if let Some(entry) = self.side() {
            return entry.clone();
        }
        let head = self.head().cloned().unwrap_or_default();
        let text = self.shared_text();
        let inner = text.as_ref().and_then(|text| self.inner_of(text));
        Entry {
            time: self.time(),
            syslog_stamp: self.syslog_stamp(),
            monotonic_us: self.monotonic_us(),
            boot_id: head.boot_id,
            host: head.host,
            identifier: head.identifier,
            unit: head.unit,
            pid: self.pid(),
            priority: None,
            message: text.map(Message::Text),
            fields: Vec::new(),
            inner,
            lines: self.lines(),
        }
    }
}

thread_local! {
    /// The words (klog and logfmt keys, klog file names) of the messages
    /// this thread parsed on demand, shared from one entry to the next as a
    /// parse shares them; bounded by [`Interner::word`]'s table size.
    static ON_DEMAND: RefCell<Interner> = RefCell::new(Interner::default());
}

/// [`parse_inner_with`] for one message, with this thread's word table.
fn parse_inner_on_demand(text: &SharedText) -> Option<Inner> {
    ON_DEMAND.with(|interner| match interner.try_borrow_mut() {
        Ok(mut interner) => parse_inner_with(text, &mut interner),
        // Not reentrant in practice; a fresh table is always correct.
        Err(_) => parse_inner_with(text, &mut Interner::transient()),
    })
}

impl fmt::Debug for EntryView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntryView")
            .field("index", &self.index)
            .field("lines", &self.lines())
            .field("text", &self.text())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journald::{JournalFormat, ParseOptions, detect, text};

    /// The text-format fixtures with their formats.
    fn text_fixtures() -> Vec<(String, FileBytes, JournalFormat)> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/journald");
        let mut fixtures = Vec::new();
        for entry in std::fs::read_dir(dir).expect("fixtures") {
            let path = entry.expect("entry").path();
            let bytes = std::fs::read(&path).expect("fixture");
            let name = path.display().to_string();
            let format = if name.ends_with(".cat.log") {
                JournalFormat::Cat
            } else {
                match detect(&bytes) {
                    Ok(format) => format,
                    Err(_) => continue,
                }
            };
            if matches!(
                format,
                JournalFormat::Export
                    | JournalFormat::Json
                    | JournalFormat::JsonPretty
                    | JournalFormat::JsonArray
                    | JournalFormat::JsonLog
            ) {
                continue;
            }
            fixtures.push((name, FileBytes::new(bytes), format));
        }
        assert!(fixtures.len() >= 8, "{} text fixtures", fixtures.len());
        fixtures
    }

    #[test]
    fn text_rows_slice_the_file() {
        for (name, file, format) in text_fixtures() {
            let journal = text::parse(&file, format, &ParseOptions::default()).value;
            let store = &journal.store;
            // Only binary messages go whole, and only multi-line (and
            // non-UTF-8 files') messages are copied.
            assert!(
                store
                    .side
                    .iter()
                    .all(|entry| matches!(entry.message, Some(Message::Binary(_)))),
                "{name}"
            );
            let owned = store
                .rows
                .iter()
                .filter(|row| row.flags & OWNED != 0)
                .count();
            assert_eq!(owned, store.texts.len(), "{name}");
            assert!(owned < store.rows.len().max(1), "{name}: {owned} owned");
            assert!(
                store.heads.len() <= 8,
                "{name}: {} heads",
                store.heads.len()
            );
        }
    }

    #[test]
    fn messages_past_the_offset_limit_are_copied() {
        let reference = ParseOptions {
            reference_time: Some(Timestamp(1_736_935_200_000_000)),
            format: None,
        };
        for (name, file, format) in text_fixtures() {
            for options in [ParseOptions::default(), reference] {
                let normal = text::parse(&file, format, &options);
                for limit in [0, file.len() / 2] {
                    let limited = text::parse_with_limit(&file, format, &options, limit);
                    assert_eq!(limited.value, normal.value, "{name} limit {limit}");
                    assert_eq!(limited.diagnostics, normal.diagnostics, "{name}");
                    let store = &limited.value.store;
                    if limit == 0 {
                        assert!(
                            store.rows.iter().all(|row| row.flags & (OWNED | SIDE) != 0),
                            "{name}: every message copied"
                        );
                    }
                    for (index, row) in store.rows.iter().enumerate() {
                        let view = limited.value.view(index).expect("view");
                        let end = row.message as usize + row.message_len as usize;
                        if row.flags & (OWNED | SIDE) == 0 {
                            assert!(end <= limit, "{name}: row {index} ends at {end}");
                        }
                        assert_eq!(
                            view.text(),
                            normal.value.view(index).expect("view").text(),
                            "{name}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn rows_are_compact() {
        assert!(
            std::mem::size_of::<Row>() <= 48,
            "{}",
            std::mem::size_of::<Row>()
        );
    }

    #[test]
    fn stamps_pack_and_unpack() {
        for micros in [None, Some(0), Some(999_999)] {
            let stamp = SyslogStamp {
                month: 12,
                day: 31,
                hour: 23,
                minute: 59,
                second: 60,
                micros,
            };
            let packed = pack_stamp(stamp).expect("fits");
            assert_eq!(unpack_stamp(packed), stamp);
        }
    }

    #[test]
    fn severities_round_trip_through_the_byte() {
        assert_eq!(severity_of_byte(severity_byte(None)), None);
        for severity in SEVERITIES {
            assert_eq!(
                severity_of_byte(severity_byte(Some(severity))),
                Some(severity)
            );
        }
    }
}
