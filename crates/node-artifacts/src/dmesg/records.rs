//! The packed store behind [`KernelLog::records`](crate::dmesg::KernelLog):
//! twenty bytes per record, messages read from the file they came from.
//!
//! A node's `dmesg` holds about a hundred thousand records of some eighty
//! bytes each. An owned [`Record`] per line (a `String` message, a `Vec` of
//! fields and a dozen optional fields) costs well over twice the file, so
//! the log keeps each record as one [`Slot`]:
//!
//! ```text
//! file:   "[    0.014488] device eni80bab12a02 entered promiscuous mode\n[ …"
//!                         ▲ start                                    ▲ end
//! Slot { time: 14488 (µs since boot, or wall µs: the format says which),
//!        start, end (byte range of the message in the file), first_line }
//! ```
//!
//! What most records lack goes to a sparse side table of [`Extra`]s, sorted
//! by record index: a message that is not a slice of the file (the joined
//! lines of a multi-line message, a `/dev/kmsg` message with `\xNN`
//! escapes), a last line after the first, a priority, a caller id, a kmsg
//! sequence number and dictionary fields. [`Records::get`] puts a [`Record`]
//! together on demand; its message is a [`SharedText`] slice of the file,
//! so that costs a reference count, not a copy.
//!
//! Invariant: every slot's `start..end` lies within the file's text on
//! character boundaries (the builder takes them from sub-slices of that
//! very text), and `extras` is sorted by record index without duplicates.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::dmesg::model::{Caller, Facility, Level, LineSpan, Record};
use crate::shared::{FileBytes, SharedText};
use crate::time::Timestamp;

/// The records of a kernel log, in input order, packed (see the module
/// docs). Read them with [`Records::get`], [`Records::iter`] or, for the
/// message text alone, [`Records::message`].
///
/// Compares, prints and serialises as the sequence of [`Record`]s it holds.
#[derive(Clone)]
pub struct Records {
    /// The text messages are sliced from: the file, or one copy of the input.
    text: FileBytes,
    slots: Box<[Slot]>,
    extras: Box<[(u32, Extra)]>,
    /// What a slot's `time` holds, the same for every record of a log.
    time: TimeKind,
    /// The boot time, once known: wall-clock times of since-boot records.
    boot: Option<Timestamp>,
}

/// What the `time` of every slot of a log holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeKind {
    /// No time stamps.
    None,
    /// Microseconds since boot.
    SinceBoot,
    /// Wall-clock microseconds since the Unix epoch, as stated by the input.
    Wall,
}

/// One record in twenty bytes (four-byte aligned: the time is split).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    time_low: u32,
    time_high: u32,
    start: u32,
    end: u32,
    first_line: u32,
}

impl Slot {
    fn time(&self) -> u64 {
        u64::from(self.time_high) << 32 | u64::from(self.time_low)
    }
}

/// What a record has beyond a one-line message sliced from the file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Extra {
    /// A message that is not a slice of the file.
    message: Option<SharedText>,
    /// The first input line, when beyond 32 bits (the slot then says
    /// `u32::MAX`).
    first_line: usize,
    /// The last input line, when after the first.
    last_line: usize,
    facility: Option<Facility>,
    level: Option<Level>,
    seq: Option<u64>,
    caller: Option<Caller>,
    fields: Vec<(SharedText, SharedText)>,
    /// Times that the slot and the log's [`TimeKind`] cannot say (records
    /// put together by a caller, [`Records::from_iter`]): they replace the
    /// slot's.
    times: Option<Times>,
}

/// A record's times, as a [`Record`] states them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Times {
    since_boot_us: Option<u64>,
    wall_time: Option<Timestamp>,
}

impl Records {
    /// The number of records.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether there are no records.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The record at `index`, put together from its slot (a message slice
    /// of the file, no copy).
    pub fn get(&self, index: usize) -> Option<Record> {
        let slot = self.slots.get(index)?;
        let extra = self.extra(index);
        let message = match extra.and_then(|extra| extra.message.clone()) {
            Some(message) => message,
            None => self
                .text
                .text(slot.start as usize, slot.end as usize)
                .unwrap_or_default(),
        };
        let first = slot.first_line as usize;
        Some(Record {
            facility: extra.and_then(|extra| extra.facility.clone()),
            level: extra.and_then(|extra| extra.level),
            seq: extra.and_then(|extra| extra.seq),
            since_boot_us: self.since_boot_us(index),
            wall_time: self.wall_time(index),
            caller: extra.and_then(|extra| extra.caller),
            message,
            fields: extra.map(|extra| extra.fields.clone()).unwrap_or_default(),
            lines: LineSpan {
                first: extra
                    .filter(|_| slot.first_line == u32::MAX)
                    .map_or(first, |extra| extra.first_line),
                last: extra.map_or(first, |extra| extra.last_line.max(first)),
            },
        })
    }

    /// The time since boot of the record at `index`, when the input states it.
    pub fn since_boot_us(&self, index: usize) -> Option<u64> {
        if let Some(times) = self.extra(index).and_then(|extra| extra.times) {
            return times.since_boot_us;
        }
        match self.time {
            TimeKind::SinceBoot => self.slots.get(index).map(Slot::time),
            TimeKind::None | TimeKind::Wall => None,
        }
    }

    /// The wall-clock time of the record at `index`: stated by the input, or
    /// computed from its time since boot once the boot time is known.
    pub fn wall_time(&self, index: usize) -> Option<Timestamp> {
        let time = self.slots.get(index)?.time();
        if let Some(times) = self.extra(index).and_then(|extra| extra.times) {
            // As `KernelLog::with_boot_time` has it: a known boot time dates
            // a since-boot record unless the input stated another time.
            return match (self.boot, times.since_boot_us) {
                (Some(at), Some(since_boot))
                    if times.wall_time.is_none() || self.time == TimeKind::SinceBoot =>
                {
                    let since_boot = i64::try_from(since_boot).unwrap_or(i64::MAX);
                    Some(Timestamp(at.0.saturating_add(since_boot)))
                }
                _ => times.wall_time,
            };
        }
        match self.time {
            TimeKind::None => None,
            TimeKind::SinceBoot => self
                .boot
                .map(|at| Timestamp(at.0.saturating_add(i64::try_from(time).unwrap_or(i64::MAX)))),
            // The builder stored the timestamp's bits.
            TimeKind::Wall => Some(Timestamp(time as i64)),
        }
    }

    /// The first record.
    pub fn first(&self) -> Option<Record> {
        self.get(0)
    }

    /// The last record.
    pub fn last(&self) -> Option<Record> {
        self.get(self.len().checked_sub(1)?)
    }

    /// The message of the record at `index`, borrowed (no reference count).
    pub fn message(&self, index: usize) -> Option<&str> {
        let slot = self.slots.get(index)?;
        Some(
            match self.extra(index).and_then(|extra| extra.message.as_ref()) {
                Some(message) => message.as_str(),
                None => self.text_of(slot),
            },
        )
    }

    /// The level of the record at `index`, when the input states it.
    pub fn level(&self, index: usize) -> Option<Level> {
        self.extra(index).and_then(|extra| extra.level)
    }

    /// The records in input order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            records: self,
            next: 0,
            end: self.len(),
        }
    }

    /// The messages in input order, borrowed.
    pub fn messages(&self) -> impl DoubleEndedIterator<Item = &str> + ExactSizeIterator + '_ {
        (0..self.len()).map(|index| self.message(index).unwrap_or_default())
    }

    /// The heap bytes of the packed store, the text it slices excluded
    /// (that is the file, shared with whoever else holds it).
    pub fn heap_bytes(&self) -> usize {
        let extras: usize = self
            .extras
            .iter()
            .map(|(_, extra)| {
                extra.message.as_ref().map_or(0, |message| message.len())
                    + extra.fields.capacity() * size_of::<(SharedText, SharedText)>()
            })
            .sum();
        size_of_val(&*self.slots) + size_of_val(&*self.extras) + extras
    }

    pub(crate) fn set_boot(&mut self, at: Timestamp) {
        self.boot = Some(at);
    }

    fn extra(&self, index: usize) -> Option<&Extra> {
        // Logs without extras (the common `dmesg` form) skip the search.
        if self.extras.is_empty() {
            return None;
        }
        let index = u32::try_from(index).ok()?;
        self.extras
            .binary_search_by_key(&index, |(at, _)| *at)
            .ok()
            .map(|at| &self.extras[at].1)
    }

    fn text_of(&self, slot: &Slot) -> &str {
        self.text
            .as_str()
            .and_then(|text| text.get(slot.start as usize..slot.end as usize))
            .unwrap_or_default()
    }
}

impl Default for Records {
    fn default() -> Self {
        Records {
            text: FileBytes::from(String::new()),
            slots: Box::default(),
            extras: Box::default(),
            time: TimeKind::None,
            boot: None,
        }
    }
}

/// The records of a [`Records`] in input order, put together one by one.
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    records: &'a Records,
    next: usize,
    end: usize,
}

impl Iterator for Iter<'_> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        if self.next >= self.end {
            return None;
        }
        self.next += 1;
        self.records.get(self.next - 1)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.end - self.next;
        (left, Some(left))
    }

    fn nth(&mut self, n: usize) -> Option<Record> {
        self.next = self.next.saturating_add(n).min(self.end);
        self.next()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Record> {
        if self.next >= self.end {
            return None;
        }
        self.end -= 1;
        self.records.get(self.end)
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Records {
    type Item = Record;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl PartialEq for Records {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Records {}

impl fmt::Debug for Records {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for Records {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl FromIterator<Record> for Records {
    /// Packs records put together by the caller (a test, a filter of
    /// another log): their messages are copied into one buffer, and times
    /// that do not follow one time kind are kept per record, so the
    /// result gives back equal records.
    fn from_iter<I: IntoIterator<Item = Record>>(records: I) -> Self {
        let records: Vec<Record> = records.into_iter().collect();
        let mut text = String::with_capacity(records.iter().map(|r| r.message.len() + 1).sum());
        let mut ranges = Vec::with_capacity(records.len());
        for record in &records {
            let start = text.len();
            text.push_str(&record.message);
            ranges.push(start..text.len());
            text.push('\n');
        }
        let time = records
            .iter()
            .find_map(|record| match (record.since_boot_us, record.wall_time) {
                (Some(_), _) => Some(TimeKind::SinceBoot),
                (None, Some(_)) => Some(TimeKind::Wall),
                (None, None) => None,
            })
            .unwrap_or(TimeKind::None);
        let file = FileBytes::from(text);
        let text = file.as_str().unwrap_or_default();
        let mut builder = Builder::new(file.clone(), text, time, records.len());
        for (record, range) in records.into_iter().zip(ranges) {
            let stored = match time {
                TimeKind::None => Times {
                    since_boot_us: None,
                    wall_time: None,
                },
                TimeKind::SinceBoot => Times {
                    since_boot_us: Some(record.since_boot_us.unwrap_or_default()),
                    wall_time: None,
                },
                TimeKind::Wall => Times {
                    since_boot_us: None,
                    wall_time: Some(record.wall_time.unwrap_or(Timestamp(0))),
                },
            };
            let wanted = Times {
                since_boot_us: record.since_boot_us,
                wall_time: record.wall_time,
            };
            let mut open = Open::new(
                match time {
                    TimeKind::Wall => record.wall_time.map_or(0, |at| at.0 as u64),
                    _ => record.since_boot_us.unwrap_or_default(),
                },
                record.lines.first,
            );
            open.last_line = record.lines.last;
            open.facility = record.facility;
            open.level = record.level;
            open.seq = record.seq;
            open.caller = record.caller;
            open.fields = record.fields;
            open.times = (stored != wanted).then_some(wanted);
            builder.open(open, text.get(range).unwrap_or_default(), None);
        }
        builder.finish()
    }
}

impl From<Vec<Record>> for Records {
    fn from(records: Vec<Record>) -> Self {
        records.into_iter().collect()
    }
}

/// Builds [`Records`] line by line: the parser opens a record, may extend
/// it with continuation lines, and the builder packs it when the next one
/// opens.
pub(crate) struct Builder<'a> {
    file: FileBytes,
    /// The file's text, which every message handed in is a sub-slice of.
    text: &'a str,
    time: TimeKind,
    slots: Vec<Slot>,
    extras: Vec<(u32, Extra)>,
    open: Option<Open>,
}

/// A record not packed yet, because continuation lines may follow.
pub(crate) struct Open {
    /// The time, as the log's [`TimeKind`] says.
    pub(crate) time: u64,
    /// The message: a sub-slice of the file's text, or text of its own.
    message: Message,
    pub(crate) first_line: usize,
    pub(crate) last_line: usize,
    pub(crate) facility: Option<Facility>,
    pub(crate) level: Option<Level>,
    pub(crate) seq: Option<u64>,
    pub(crate) caller: Option<Caller>,
    pub(crate) fields: Vec<(SharedText, SharedText)>,
    times: Option<Times>,
}

enum Message {
    /// Byte range in the file's text.
    Slice(usize, usize),
    Owned(String),
}

impl Open {
    /// A record of one line whose message is `message`, with nothing else
    /// set (the caller fills the rest).
    pub(crate) fn new(time: u64, line: usize) -> Open {
        Open {
            time,
            message: Message::Slice(0, 0),
            first_line: line,
            last_line: line,
            facility: None,
            level: None,
            seq: None,
            caller: None,
            fields: Vec::new(),
            times: None,
        }
    }
}

impl<'a> Builder<'a> {
    /// A builder over `file`, whose text is `text` (the caller has checked
    /// that the file is UTF-8 and passes its text).
    pub(crate) fn new(file: FileBytes, text: &'a str, time: TimeKind, capacity: usize) -> Self {
        Builder {
            file,
            text,
            time,
            slots: Vec::with_capacity(capacity),
            extras: Vec::new(),
            open: None,
        }
    }

    /// Opens a record whose message is `message` (a sub-slice of the text)
    /// or, when `owned` is given, that text instead.
    pub(crate) fn open(&mut self, mut record: Open, message: &str, owned: Option<String>) {
        self.close();
        record.message = match owned {
            Some(owned) => Message::Owned(owned),
            None => match self.offset_of(message) {
                Some(start) => Message::Slice(start, start + message.len()),
                None => Message::Owned(message.to_owned()),
            },
        };
        self.open = Some(record);
    }

    /// The open record, for continuation lines and dictionary fields.
    pub(crate) fn last_mut(&mut self) -> Option<&mut Open> {
        self.open.as_mut()
    }

    /// Whether any record was opened.
    pub(crate) fn is_empty(&self) -> bool {
        self.open.is_none() && self.slots.is_empty()
    }

    /// Appends `\n` and `line` to the open record's message.
    pub(crate) fn continue_message(&mut self, line: &str, line_no: usize) {
        let text = self.text;
        if let Some(open) = self.open.as_mut() {
            let mut joined = match std::mem::replace(&mut open.message, Message::Slice(0, 0)) {
                Message::Owned(owned) => owned,
                Message::Slice(start, end) => {
                    let mut owned = String::with_capacity(end - start + 1 + line.len());
                    owned.push_str(text.get(start..end).unwrap_or_default());
                    owned
                }
            };
            joined.push('\n');
            joined.push_str(line);
            open.message = Message::Owned(joined);
            open.last_line = line_no;
        }
    }

    /// `part` (a sub-slice of the text) as a slice of the file, or a copy
    /// when it is not one.
    pub(crate) fn shared(&self, part: &str) -> SharedText {
        self.offset_of(part)
            .and_then(|start| self.file.text(start, start + part.len()))
            .unwrap_or_else(|| SharedText::from(part))
    }

    /// Packs the records.
    pub(crate) fn finish(mut self) -> Records {
        self.close();
        let mut slots = self.slots;
        slots.shrink_to_fit();
        Records {
            text: self.file,
            slots: slots.into_boxed_slice(),
            extras: self.extras.into_boxed_slice(),
            time: self.time,
            boot: None,
        }
    }

    fn offset_of(&self, part: &str) -> Option<usize> {
        let offset = (part.as_ptr() as usize).checked_sub(self.text.as_ptr() as usize)?;
        (offset.checked_add(part.len())? <= self.text.len()).then_some(offset)
    }

    fn close(&mut self) {
        let Some(open) = self.open.take() else {
            return;
        };
        let index = self.slots.len();
        let (start, end, message) = match open.message {
            Message::Slice(start, end) => match (u32::try_from(start), u32::try_from(end)) {
                (Ok(start), Ok(end)) => (start, end, None),
                // Beyond 4 GiB the message keeps a copy of its own.
                _ => (
                    0,
                    0,
                    Some(SharedText::from(
                        self.text.get(start..end).unwrap_or_default(),
                    )),
                ),
            },
            Message::Owned(owned) => (0, 0, Some(SharedText::from(owned))),
        };
        let extra = Extra {
            message,
            first_line: 0,
            last_line: if open.last_line > open.first_line {
                open.last_line
            } else {
                0
            },
            facility: open.facility,
            level: open.level,
            seq: open.seq,
            caller: open.caller,
            fields: open.fields,
            times: open.times,
        };
        let first_line = u32::try_from(open.first_line);
        let (first_line, extra) = match first_line {
            Ok(first_line) => (first_line, extra),
            // A line number beyond 32 bits: keep both ends in the extra.
            Err(_) => (
                u32::MAX,
                Extra {
                    first_line: open.first_line,
                    last_line: open.last_line,
                    ..extra
                },
            ),
        };
        self.slots.push(Slot {
            time_low: open.time as u32,
            time_high: (open.time >> 32) as u32,
            start,
            end,
            first_line,
        });
        if extra != Extra::default()
            && let Ok(index) = u32::try_from(index)
        {
            self.extras.push((index, extra));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_is_twenty_bytes() {
        assert_eq!(size_of::<Slot>(), 20);
    }

    #[test]
    fn messages_are_slices_of_the_file_unless_joined() {
        let file = FileBytes::from("[ 1.000000] one\n[ 2.000000] two\n  more\n");
        let text = file.as_str().expect("utf-8");
        let mut builder = Builder::new(file.clone(), text, TimeKind::SinceBoot, 2);
        builder.open(Open::new(1_000_000, 1), &text[12..15], None);
        builder.open(Open::new(2_000_000, 2), &text[28..31], None);
        builder.continue_message("more", 3);
        builder.open(Open::new(3, 4), "not in the file", None);
        let records = builder.finish();
        assert_eq!(records.len(), 3);
        assert_eq!(records.message(0), Some("one"));
        assert_eq!(records.message(1), Some("two\nmore"));
        assert_eq!(records.message(2), Some("not in the file"));
        assert_eq!(records.message(3), None);
        let first = records.get(0).expect("record");
        assert_eq!(first.since_boot_us, Some(1_000_000));
        assert_eq!(first.wall_time, None);
        assert_eq!((first.lines.first, first.lines.last), (1, 1));
        let second = records.get(1).expect("record");
        assert_eq!((second.lines.first, second.lines.last), (2, 3));
        // Only the joined and the foreign message need an extra.
        assert_eq!(records.extras.len(), 2);
        let mut dated = records.clone();
        dated.set_boot(Timestamp(10));
        assert_eq!(
            dated.get(0).expect("record").wall_time,
            Some(Timestamp(1_000_010))
        );
        assert_ne!(dated.get(0), records.get(0));
        assert_eq!(records.iter().rev().count(), 3);
        // Packing the records again gives them back, boot time included.
        assert_eq!(records.iter().collect::<Records>(), records);
        assert_eq!(dated.iter().collect::<Records>(), dated);
        let mut odd = dated.get(0).expect("record");
        odd.wall_time = None;
        odd.lines.last = 7;
        let mixed: Records = vec![odd.clone(), dated.get(1).expect("record")].into();
        assert_eq!(mixed.get(0), Some(odd));
        assert_eq!(
            records.iter().nth(1).map(|r| r.message),
            records.get(1).map(|r| r.message)
        );
    }
}
