//! Parser and typed model for the systemd journal as `journalctl` writes it,
//! and for the JSON-lines logs (VPC CNI ipamd/plugin) that share its model.
//!
//! # Inputs
//!
//! [`parse`] auto-detects the format (or takes it from
//! [`ParseOptions::format`]):
//!
//! - `-o export`: binary-safe `KEY=value` lines, length-prefixed binary
//!   fields, entries separated by an empty line.
//! - `-o json` (one object per line), `-o json-pretty`, and a JSON array of
//!   entry objects. Values are strings, arrays (repeated fields), arrays of
//!   numbers (bytes) or `null` (value too large to show).
//! - The text family: `short`, `short-iso`, `short-precise`,
//!   `short-iso-precise`, `short-unix`, `short-monotonic` and `cat`, with the
//!   marker lines journalctl prints between entries.
//!
//! [`parse_json_log`] reads JSON-lines application logs such as
//! `/var/log/aws-routed-eni/ipamd.log`.
//!
//! Inside each entry's `MESSAGE` the parser recognises a klog header
//! (kubelet), logfmt (containerd) and a JSON object (zap loggers), and keeps
//! the result in [`Entry::inner`].
//!
//! # Storage: compact rows, entries on demand
//!
//! A key design decision: a [`Journal`] does not hold `Vec<Entry>`. In the
//! text formats each entry is a fixed-size row of 48 bytes (times, the
//! message as an offset and length in the journal file, line numbers, pid,
//! an index into a table of the distinct boot id / host / identifier / unit
//! combinations, and the entry's severity, computed at parse time from the
//! klog letter or the logfmt/JSON level); klog key/value pairs are not
//! parsed at all until asked for. [`Journal::entry`] and
//! [`Journal::entries`] build ("materialise") an [`Entry`], with
//! [`Entry::inner`] parsed then; [`EntryView`] ([`Journal::view`],
//! [`Journal::views`]) reads a row without building anything, for scans
//! over every entry that keep few. On the 500,000-line kubelet journal of
//! the large test bundle this is 24 MB beside the 92 MB file, against
//! 217 MB for the materialised entries. The export and JSON formats, small
//! in practice, keep whole entries. `Serialize`, `PartialEq` and `Debug`
//! see the materialised sequence, so the model reads as before.
//!
//! # Samples
//!
//! ```text
//! -- Logs begin at Mon 2025-01-13 09:12:01 UTC, end at Wed 2025-01-15 10:00:02 UTC. --
//! Jan 15 10:00:00 ip-10-0-1-23.ec2.internal kubelet[2871]: E0115 10:00:00.123456    2871 kubelet.go:2412] "Skipping pod synchronization" err="PLEG is not healthy: pleg was last seen active 3m10.1s ago; threshold is 3m0s"
//! └─ stamp ──────┘ └─ host ───────────────────┘ └ ident ┘└pid┘  └─ MESSAGE: klog header, quoted msg, key="value" pairs ──────────────────
//! -- Boot 4c3a0f6f2a8a4a0c9d1c0b6f3e2d1a00 --
//! ```
//!
//! # Example
//!
//! ```
//! use node_artifacts::journald::{self, Inner, ParseOptions, Severity};
//!
//! let input = include_bytes!(concat!(
//!     env!("CARGO_MANIFEST_DIR"),
//!     "/../../fixtures/journald/kubelet.short.log"
//! ));
//! let journal = journald::parse(input, &ParseOptions::default())?.value;
//! let pleg = journal
//!     .entries_at_least(Severity::Error)
//!     .find(|entry| entry.inner.as_ref().and_then(Inner::msg) == Some("PLEG is not healthy"))
//!     .expect("the fixture has a PLEG error");
//! // `short` has no year: it came from the `-- Logs begin at … --` marker.
//! let time = pleg.time.expect("resolved");
//! assert!(time.year_inferred);
//! assert_eq!(time.at.to_string(), "2025-01-15T10:03:10.000000Z");
//! let Some(Inner::Klog(klog)) = &pleg.inner else { unreachable!() };
//! assert_eq!(klog.kv[0].value, "pleg was last seen active 3m10.1s ago; threshold is 3m0s");
//! # Ok::<(), journald::Error>(())
//! ```
//!
//! # Grammar
//!
//! ```text
//! export      = { entry "\n" } ;
//! entry       = { field } ;
//! field       = name "=" text "\n"
//!             | name "\n" le64 bytes "\n" ;            (* le64 = length of bytes *)
//! name        = ( "A"…"Z" | "0"…"9" | "_" ) { … } ;
//!
//! json        = { object ws } | "[" [ object { "," object } ] "]" ;
//! value       = string | "[" string { "," string } "]" | "[" byte { "," byte } "]" | "null" ;
//!
//! text        = { marker | line | continuation } ;
//! marker      = "-- Logs begin at " date ", end at " date ". --"
//!             | "-- Journal begins at " date ", ends at " date ". --"
//!             | "-- Boot " hex32 " --" | "-- Reboot --" | "-- No entries --"
//!             | "Hint: Some lines were ellipsized, use -l to show in full." ;
//! line        = stamp " " host " " ident [ "[" pid "]" ] ": " message ;   (* cat: message only *)
//! stamp       = Mon " " DD " " hh ":" mm ":" ss [ "." us ]             (* short, short-precise *)
//!             | YYYY "-" MM "-" DD "T" hh ":" mm ":" ss [ "." us ] zone  (* short-iso[-precise] *)
//!             | secs "." us                                          (* short-unix *)
//!             | "[" { " " } secs "." us "]" ;                        (* short-monotonic *)
//! continuation = " " { " " } text ;   (* next line of a multi-line message, indented *)
//!
//! klog        = ( "I" | "W" | "E" | "F" ) MMDD " " hh ":" mm ":" ss "." us { " " } tid " " file ":" line "] " kmsg ;
//! kmsg        = quoted { " " key "=" kvalue } | anything ;
//! logfmt      = pair { " " pair } ;  pair = key "=" ( quoted | bare ) ;
//! ```
//!
//! # Years
//!
//! `short` and `short-precise` stamps have no year. The parser infers it by
//! walking backwards from [`ParseOptions::reference_time`] (the collection
//! time), or else from the `end at` date of a `-- Logs begin at … --` marker,
//! or else forwards from its `begin` date; a step back in the calendar of
//! more than a day between neighbours means the year turned over. Such times
//! carry [`WallTime::year_inferred`]. Without any reference the parser does
//! not guess: [`Entry::time`] stays `None`, the stamp is kept in
//! [`Entry::syslog_stamp`], and one diagnostic says why. Text stamps without
//! a zone (`short`, `short-precise`) are read as UTC, which is what EKS AMIs
//! run in.

mod clock;
mod export;
mod json;
mod klog;
mod logfmt;
mod model;
mod store;
mod text;

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use serde::ser::{Serialize, SerializeStruct, Serializer};

pub use model::*;
pub use store::EntryView;

use crate::diag::{Diagnostic, Parsed, Unparsed};
use crate::shared::{FileBytes, SharedText};
use crate::time::Timestamp;

/// Options for [`parse`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseOptions {
    /// When the journal was collected; used to infer the year of `short`
    /// stamps.
    pub reference_time: Option<Timestamp>,
    /// Read the input as this format instead of detecting it.
    pub format: Option<JournalFormat>,
}

/// Why an input is not a journal at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Nothing in the first lines looks like any journalctl output format.
    #[error("not journalctl output: {reason}")]
    NotJournal {
        /// What was looked for.
        reason: &'static str,
    },
}

/// Parses `journalctl` output in any of the export, JSON or text formats.
///
/// Returns `Err` only when format detection finds nothing journal-like; a
/// forced [`ParseOptions::format`] never fails and keeps what it cannot read
/// as unparsed lines.
///
/// In the text formats, messages are [`SharedText`] slices of one copy of
/// the input that the journal keeps; [`parse_file`] avoids even that copy.
pub fn parse(input: &[u8], options: &ParseOptions) -> Result<Parsed<Journal>, Error> {
    let format = format_of(input, options)?;
    Ok(parse_as(input, format, options, || FileBytes::from(input)))
}

/// [`parse`] over a file's shared content: in the text formats, messages
/// are slices of `input` itself, so the journal adds no copy of the file.
pub fn parse_file(input: &FileBytes, options: &ParseOptions) -> Result<Parsed<Journal>, Error> {
    let format = format_of(input, options)?;
    Ok(parse_as(input, format, options, || input.clone()))
}

/// The forced format, else the detected one.
fn format_of(input: &[u8], options: &ParseOptions) -> Result<JournalFormat, Error> {
    match options.format {
        Some(format) => Ok(format),
        None => detect(input),
    }
}

/// Parses a JSON-lines application log such as the VPC CNI's `ipamd.log`
/// (`{"level":"error","ts":"…","caller":"…","msg":"…"}` per line).
///
/// Each line becomes an [`Entry`] whose message is the line and whose
/// [`Entry::inner`] is the parsed [`JsonMessage`]; lines that are not JSON
/// objects are kept as unparsed.
pub fn parse_json_log(input: &[u8]) -> Parsed<Journal> {
    json::parse_log(input).into_journal()
}

/// Detects the format of `journalctl` output from its first lines.
pub fn detect(input: &[u8]) -> Result<JournalFormat, Error> {
    let start = input
        .iter()
        .position(|byte| !byte.is_ascii_whitespace())
        .unwrap_or(input.len());
    let body = &input[start..];
    match body.first() {
        None => return Ok(JournalFormat::Cat),
        Some(b'[') if !text::looks_monotonic(body) => return Ok(JournalFormat::JsonArray),
        Some(b'{') => {
            let first_line = body.split(|byte| *byte == b'\n').next().unwrap_or(body);
            let trimmed = first_line.trim_ascii_end();
            if trimmed == b"{" {
                return Ok(JournalFormat::JsonPretty);
            }
            let journal_keys = memchr::memmem::find(first_line, b"\"MESSAGE\"").is_some()
                || memchr::memmem::find(first_line, b"\"__").is_some();
            return Ok(if journal_keys {
                JournalFormat::Json
            } else {
                JournalFormat::JsonLog
            });
        }
        _ => {}
    }
    if start == 0 && export::looks_like_export(input) {
        return Ok(JournalFormat::Export);
    }
    let mut only_markers = true;
    for (_, line) in lines(input).take(64) {
        if line.is_empty() || text::marker(line).is_some() || line[0] == b' ' {
            continue;
        }
        only_markers = false;
        if let Some(format) = text::detect_line(line) {
            return Ok(format);
        }
    }
    if only_markers {
        return Ok(JournalFormat::Short);
    }
    Err(Error::NotJournal {
        reason: "no export field, JSON object or journalctl short-format line in the first 64 lines",
    })
}

/// Reads `input` as `format`; `file` gives the shared content the text
/// formats slice their messages from (a copy of `input`, or the file it is).
fn parse_as(
    input: &[u8],
    format: JournalFormat,
    options: &ParseOptions,
    file: impl FnOnce() -> FileBytes,
) -> Parsed<Journal> {
    let draft = match format {
        JournalFormat::Export => export::parse(input),
        JournalFormat::Json | JournalFormat::JsonPretty | JournalFormat::JsonArray => {
            json::parse(input, format)
        }
        JournalFormat::JsonLog => json::parse_log(input),
        JournalFormat::Short
        | JournalFormat::ShortIso
        | JournalFormat::ShortPrecise
        | JournalFormat::ShortIsoPrecise
        | JournalFormat::ShortUnix
        | JournalFormat::ShortMonotonic
        | JournalFormat::Cat => return text::parse(&file(), format, options),
    };
    draft.into_journal()
}

/// What the export and JSON parsers build: whole entries, stored as such.
struct Draft {
    format: JournalFormat,
    entries: Vec<Entry>,
    markers: Vec<Marker>,
    unparsed: Vec<Unparsed>,
}

impl Draft {
    fn new(format: JournalFormat) -> Self {
        Self {
            format,
            entries: Vec::new(),
            markers: Vec::new(),
            unparsed: Vec::new(),
        }
    }
}

impl Parsed<Draft> {
    fn into_journal(self) -> Parsed<Journal> {
        let Parsed {
            value: mut draft,
            diagnostics,
        } = self;
        resolve_inner_times(&mut draft.entries);
        Parsed {
            value: Journal::new(draft.format, draft.entries, draft.markers, draft.unparsed),
            diagnostics,
        }
    }
}

impl Journal {
    /// A journal of these entries (kept whole, as the export and JSON
    /// formats keep theirs).
    #[must_use]
    pub fn new(
        format: JournalFormat,
        entries: Vec<Entry>,
        markers: Vec<Marker>,
        unparsed: Vec<Unparsed>,
    ) -> Self {
        Self {
            format,
            store: store::Store::from_entries(entries),
            markers,
            unparsed,
        }
    }

    /// The number of entries.
    #[must_use]
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// Whether the journal has no entries.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.store.len() == 0
    }

    /// Entry `index`, materialised (its [`Entry::inner`] parsed now).
    #[must_use]
    pub fn entry(&self, index: usize) -> Option<Entry> {
        self.store.view(index).map(|view| view.to_entry())
    }

    /// Every entry in input order, each materialised when the iterator
    /// reaches it. Scans that keep few entries should filter
    /// [`Journal::views`] first.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = Entry> + DoubleEndedIterator + '_ {
        self.views().map(|view| view.to_entry())
    }

    /// A borrowed view of entry `index`, which reads the store without
    /// building an [`Entry`].
    #[must_use]
    pub fn view(&self, index: usize) -> Option<EntryView<'_>> {
        self.store.view(index)
    }

    /// Views of every entry in input order.
    pub fn views(&self) -> impl ExactSizeIterator<Item = EntryView<'_>> + DoubleEndedIterator {
        self.store.views()
    }

    /// Entries whose [`Entry::severity`] is at least `at_least`; the
    /// severity is read from the store, so only these are materialised.
    pub fn entries_at_least(&self, at_least: Severity) -> impl Iterator<Item = Entry> + '_ {
        self.views()
            .filter(move |view| view.severity().is_some_and(|s| s >= at_least))
            .map(|view| view.to_entry())
    }

    /// Renders the journal in `journalctl -o export` form.
    ///
    /// Lifted fields are written back under their journal names, text values
    /// with a newline or a control character and binary values use the
    /// length-prefixed form, and repeated fields are written once per value.
    /// `null` values (JSON only) have no export form and are left out;
    /// markers and unparsed lines are not entries and are not rendered.
    #[must_use]
    pub fn render_export(&self) -> Vec<u8> {
        export::render(self)
    }
}

/// The materialised entries, serialised (and printed) as a sequence.
struct Materialised<'a>(&'a Journal);

impl Serialize for Materialised<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.entries())
    }
}

impl fmt::Debug for Materialised<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.entries()).finish()
    }
}

impl Serialize for Journal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut journal = serializer.serialize_struct("Journal", 4)?;
        journal.serialize_field("format", &self.format)?;
        journal.serialize_field("entries", &Materialised(self))?;
        journal.serialize_field("markers", &self.markers)?;
        journal.serialize_field("unparsed", &self.unparsed)?;
        journal.end()
    }
}

impl fmt::Debug for Journal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Journal")
            .field("format", &self.format)
            .field("entries", &Materialised(self))
            .field("markers", &self.markers)
            .field("unparsed", &self.unparsed)
            .finish()
    }
}

impl PartialEq for Journal {
    fn eq(&self, other: &Self) -> bool {
        self.format == other.format
            && self.markers == other.markers
            && self.unparsed == other.unparsed
            && self.len() == other.len()
            && self.entries().eq(other.entries())
    }
}

impl fmt::Display for JournalFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Export => "export",
            Self::Json => "json",
            Self::JsonPretty => "json-pretty",
            Self::JsonArray => "json-array",
            Self::Short => "short",
            Self::ShortIso => "short-iso",
            Self::ShortPrecise => "short-precise",
            Self::ShortIsoPrecise => "short-iso-precise",
            Self::ShortUnix => "short-unix",
            Self::ShortMonotonic => "short-monotonic",
            Self::Cat => "cat",
            Self::JsonLog => "json-log",
        })
    }
}

/// Finds the structured message inside a `MESSAGE` text: klog, a JSON
/// object, or logfmt. Returns `None` for free text.
pub fn parse_inner(message: &str) -> Option<Inner> {
    parse_inner_with(&SharedText::from(message), &mut Interner::default())
}

/// [`parse_inner`] sharing keys and file names through a parse's interner;
/// texts of the result are slices of `message` where nothing was unescaped.
fn parse_inner_with(message: &SharedText, interner: &mut Interner) -> Option<Inner> {
    let first = *message.as_bytes().first()?;
    match first {
        b'I' | b'W' | b'E' | b'F' => klog::parse(message, interner).map(Inner::Klog),
        b'{' => json::parse_message(message).map(Inner::Json),
        _ => logfmt::parse(message, interner).map(Inner::Logfmt),
    }
}

/// Iterates over the lines of `input` as `(line_no, line)` with 1-based
/// numbers, splitting on `\n` and stripping one trailing `\r`; a final `\n`
/// does not yield an extra empty line.
fn lines(input: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let body = input.strip_suffix(b"\n").unwrap_or(input);
    let mut rest = (!input.is_empty()).then_some(body);
    let mut line_no = 0usize;
    std::iter::from_fn(move || {
        let current = rest?;
        let (line, next) = match memchr::memchr(b'\n', current) {
            Some(end) => (&current[..end], Some(&current[end + 1..])),
            None => (current, None),
        };
        rest = next;
        line_no += 1;
        Some((line_no, line.strip_suffix(b"\r").unwrap_or(line)))
    })
}

/// Builds an unparsed line and its diagnostic.
fn unparsed(
    line: usize,
    raw: &[u8],
    reason: impl Into<String>,
    kept: &mut Vec<Unparsed>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let record = Unparsed {
        line,
        raw: String::from_utf8_lossy(raw).into_owned(),
        reason: reason.into(),
    };
    diagnostics.push(record.diagnostic());
    kept.push(record);
}

/// Whether bytes are text the model keeps as [`Field::Text`]: UTF-8 with no
/// control characters other than tab and newline.
///
/// The same rule decides for export binary fields, JSON byte arrays and
/// export `KEY=value` lines, so that rendering and parsing agree.
pub(crate) fn is_text(bytes: &[u8]) -> bool {
    clean_text(bytes).is_some()
}

/// The bytes as `&str` when they are text in the sense of [`is_text`].
pub(crate) fn clean_text(bytes: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(bytes).ok()?;
    let control = bytes
        .iter()
        .any(|&byte| (byte < 0x20 && byte != b'\t' && byte != b'\n') || byte == 0x7f);
    (!control).then_some(text)
}

/// Bytes as a [`Field`]: text when [`is_text`], else binary.
fn bytes_field(bytes: Vec<u8>) -> Field {
    match clean_text(&bytes) {
        Some(text) => Field::Text(SharedStr::from(text)),
        None => Field::Binary(bytes),
    }
}

/// Turns a list of raw fields into an entry: repeated names are merged into
/// one [`Field::Array`], well-formed single values of the lifted names move
/// into the typed slots, the rest stays in [`Entry::fields`].
fn lift(raw: Vec<NamedField>, lines: LineSpan, repeated: bool, interner: &mut Interner) -> Entry {
    let mut fields = if repeated { merge_repeated(raw) } else { raw };
    let mut entry = Entry::empty(lines);
    // Lifted fields leave the vector; the others keep their order and the
    // vector's buffer, trimmed to what is left.
    fields
        .extract_if(.., |field| lift_one(&mut entry, field))
        .for_each(drop);
    fields.shrink_to_fit();
    entry.fields = fields;
    entry.inner = entry
        .shared_text()
        .and_then(|text| parse_inner_with(text, interner));
    entry
}

/// Moves one field into its typed slot when it is the first of its name
/// and well formed; returns whether it did.
fn lift_one(entry: &mut Entry, field: &mut NamedField) -> bool {
    match (&*field.name, &mut field.value) {
        ("MESSAGE", Field::Text(text)) if entry.message.is_none() => {
            entry.message = Some(Message::Text(SharedText::from(&**text)));
            true
        }
        ("MESSAGE", Field::Binary(bytes)) if entry.message.is_none() => {
            entry.message = Some(Message::Binary(std::mem::take(bytes)));
            true
        }
        ("__REALTIME_TIMESTAMP", Field::Text(text)) if entry.time.is_none() => {
            let at = clock::parse_u64(text.as_bytes()).and_then(|us| i64::try_from(us).ok());
            let time = at.map(|us| WallTime {
                at: Timestamp(us),
                precision: Precision::Microsecond,
                year_inferred: false,
            });
            fill(&mut entry.time, time)
        }
        ("__MONOTONIC_TIMESTAMP", Field::Text(text)) if entry.monotonic_us.is_none() => {
            fill(&mut entry.monotonic_us, clock::parse_u64(text.as_bytes()))
        }
        ("_PID", Field::Text(text)) if entry.pid.is_none() => {
            let pid = clock::parse_u64(text.as_bytes()).and_then(|pid| u32::try_from(pid).ok());
            fill(&mut entry.pid, pid)
        }
        ("PRIORITY", Field::Text(text)) if entry.priority.is_none() => {
            let priority = match text.as_bytes() {
                [digit @ b'0'..=b'7'] => Some(digit - b'0'),
                _ => None,
            };
            fill(&mut entry.priority, priority)
        }
        ("_BOOT_ID", Field::Text(text)) if entry.boot_id.is_none() => {
            fill(&mut entry.boot_id, Some(SharedStr::clone(text)))
        }
        ("_HOSTNAME", Field::Text(text)) if entry.host.is_none() => {
            fill(&mut entry.host, Some(SharedStr::clone(text)))
        }
        ("SYSLOG_IDENTIFIER", Field::Text(text)) if entry.identifier.is_none() => {
            fill(&mut entry.identifier, Some(SharedStr::clone(text)))
        }
        ("_SYSTEMD_UNIT", Field::Text(text)) if entry.unit.is_none() => {
            fill(&mut entry.unit, Some(SharedStr::clone(text)))
        }
        _ => false,
    }
}

/// Stores a value that parsed; a value that did not stays a field.
fn fill<T>(slot: &mut Option<T>, value: Option<T>) -> bool {
    let parsed = value.is_some();
    if parsed {
        *slot = value;
    }
    parsed
}

/// Shares repeated text between entries (the text formats' host and
/// identifier are interned by the store's head table instead).
///
/// Field names and values get a table keyed by name, holding the shared
/// name and the field's last value: journald repeats most fields verbatim
/// from one entry to the next, so this keeps one copy per run of equal
/// values.
struct Interner {
    field_index: HashMap<Box<[u8]>, usize, BuildHasherDefault<Fnv>>,
    field_slots: Vec<FieldSlot>,
    /// Keys and file names of the messages inside entries (klog, logfmt).
    words: HashMap<Box<str>, SharedStr, BuildHasherDefault<Fnv>>,
    word_cache: [Option<SharedStr>; WORD_CACHE],
    /// The slot of the previous field: entries list their fields in the
    /// same order, so its successor is usually the next field's slot and
    /// the name needs no hashing.
    previous: Option<usize>,
    /// Counts entries, to notice a name repeated within one entry.
    entry_seq: u64,
    repeated: bool,
    /// Whether [`Interner::word`] shares words (a parse's interner), or
    /// just copies them (one message parsed on demand, where a table would
    /// cost more than it saves).
    share_words: bool,
}

/// Lines of [`Interner`]'s word cache.
const WORD_CACHE: usize = 256;

struct FieldSlot {
    name: SharedStr,
    last: Option<SharedStr>,
    successor: Option<usize>,
    seen_in: u64,
}

impl Default for Interner {
    fn default() -> Self {
        Self {
            field_index: HashMap::default(),
            field_slots: Vec::new(),
            words: HashMap::default(),
            word_cache: [const { None }; WORD_CACHE],
            previous: None,
            // Slots start with `seen_in == 0`, so entries count from 1.
            entry_seq: 1,
            repeated: false,
            share_words: true,
        }
    }
}

impl Interner {
    /// An interner for one message parsed on demand: words are not shared.
    fn transient() -> Self {
        Self {
            share_words: false,
            ..Self::default()
        }
    }

    /// A text field, with its name and (when it repeats) its value shared.
    fn text_field(&mut self, name: &[u8], value: &str) -> NamedField {
        let slot = self.slot(name);
        let value = match &slot.last {
            Some(last) if **last == *value => SharedStr::clone(last),
            _ => {
                let shared = SharedStr::from(value);
                slot.last = Some(SharedStr::clone(&shared));
                shared
            }
        };
        NamedField {
            name: SharedStr::clone(&slot.name),
            value: Field::Text(value),
        }
    }

    /// A field name, shared.
    fn name(&mut self, name: &[u8]) -> SharedStr {
        SharedStr::clone(&self.slot(name).name)
    }

    /// A key or file name of an inner message, shared. Hostile input could
    /// make every word new, so the table stops growing at a bound.
    fn word(&mut self, text: &str) -> SharedStr {
        const MAX_WORDS: usize = 4_096;
        if !self.share_words {
            return SharedStr::from(text);
        }
        // A direct-mapped cache in front of the table: most words are found
        // by one comparison, without hashing.
        let bytes = text.as_bytes();
        let byte_at = |index: usize| usize::from(bytes.get(index).copied().unwrap_or(0));
        let line = (bytes.len().wrapping_mul(0x9e37)
            ^ byte_at(0).wrapping_mul(0x85eb)
            ^ byte_at(bytes.len() / 2).wrapping_mul(0xc2b2)
            ^ byte_at(bytes.len().saturating_sub(5)).wrapping_mul(0x27d4))
            >> 4
            & (WORD_CACHE - 1);
        if let Some(cached) = &self.word_cache[line]
            && **cached == *text
        {
            return SharedStr::clone(cached);
        }
        if let Some(found) = self.words.get(text) {
            self.word_cache[line] = Some(SharedStr::clone(found));
            return SharedStr::clone(found);
        }
        let shared = SharedStr::from(text);
        self.word_cache[line] = Some(SharedStr::clone(&shared));
        if self.words.len() < MAX_WORDS {
            self.words.insert(text.into(), SharedStr::clone(&shared));
        }
        shared
    }

    /// Starts a new entry (for noticing repeated names).
    fn begin_entry(&mut self) {
        self.entry_seq += 1;
        self.repeated = false;
    }

    /// Whether a name occurred twice since [`Interner::begin_entry`].
    fn repeated(&self) -> bool {
        self.repeated
    }

    fn slot(&mut self, name: &[u8]) -> &mut FieldSlot {
        let guess = self
            .previous
            .and_then(|previous| self.field_slots.get(previous))
            .and_then(|previous| previous.successor)
            .filter(|&guess| {
                self.field_slots
                    .get(guess)
                    .is_some_and(|slot| slot.name.as_bytes() == name)
            });
        let index = match guess.or_else(|| self.field_index.get(name).copied()) {
            Some(index) => index,
            None => {
                self.field_slots.push(FieldSlot {
                    name: SharedStr::from(String::from_utf8_lossy(name)),
                    last: None,
                    successor: None,
                    seen_in: 0,
                });
                let index = self.field_slots.len() - 1;
                self.field_index.insert(name.into(), index);
                index
            }
        };
        if let Some(previous) = self.previous.and_then(|p| self.field_slots.get_mut(p)) {
            previous.successor = Some(index);
        }
        self.previous = Some(index);
        let slot = &mut self.field_slots[index];
        if slot.seen_in == self.entry_seq {
            self.repeated = true;
        }
        slot.seen_in = self.entry_seq;
        slot
    }
}

/// FNV-1a: field names are short, trusted to be few, and hashed once per
/// field, where SipHash's setup would dominate.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &byte in bytes {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }
}

/// Merges repeated field names into one [`Field::Array`] at the position of
/// the first occurrence. Only called when the [`Interner`] saw a name twice
/// in the entry, which is rare.
fn merge_repeated(raw: Vec<NamedField>) -> Vec<NamedField> {
    let mut merged: Vec<NamedField> = Vec::with_capacity(raw.len());
    for field in raw {
        match merged
            .iter_mut()
            .find(|existing| existing.name == field.name)
        {
            Some(existing) => match &mut existing.value {
                Field::Array(values) => values.push(field.value),
                first => {
                    let first_value = std::mem::replace(first, Field::Null);
                    *first = Field::Array(vec![first_value, field.value]);
                }
            },
            None => merged.push(field),
        }
    }
    merged
}

/// Resolves klog month/day stamps to absolute times using the entry's own
/// year (klog writes no year), allowing for the year turning over between
/// the two stamps.
fn resolve_inner_times(entries: &mut [Entry]) {
    for entry in entries {
        let (Some(time), Some(Inner::Klog(klog))) = (entry.time, entry.inner.as_mut()) else {
            continue;
        };
        klog.at = klog_at(time.at, klog);
    }
}

/// The klog stamp (month, day, time of day) resolved with the year of the
/// entry's time `at`, allowing for the year turning over between the two.
fn klog_at(at: Timestamp, klog: &Klog) -> Option<Timestamp> {
    let (mut year, entry_month, _) = clock::civil_from_days(at.0.div_euclid(86_400_000_000));
    if klog.month == 12 && entry_month == 1 {
        year -= 1;
    } else if klog.month == 1 && entry_month == 12 {
        year += 1;
    }
    let micros = klog.time_of_day_us % 1_000_000;
    let seconds = klog.time_of_day_us / 1_000_000;
    clock::civil_to_timestamp(
        year,
        klog.month,
        klog.day,
        (seconds / 3_600) as u8,
        (seconds / 60 % 60) as u8,
        (seconds % 60) as u8,
        micros as u32,
    )
}
