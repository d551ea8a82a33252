//! The typed model of a journal: entries, markers and the messages inside them.
//!
//! The model is the same whatever the input format was (export, JSON, the
//! `short` text family, or a JSON-lines log file such as the VPC CNI's ipamd
//! log), so rules read one shape. What a format does not carry is `None`.

use std::sync::Arc;

use serde::Serialize;

use crate::diag::Unparsed;
use crate::journald::store::Store;
use crate::shared::SharedText;
use crate::time::Timestamp;

/// Text that repeats on many entries (host name, identifier, unit, boot id),
/// stored once and shared: a journal of a million entries from one host
/// holds its host name once, not a million times.
pub type SharedStr = Arc<str>;

/// A parsed journal (or JSON-lines log file).
///
/// The entries live in a compact store (see [`Journal::entries`] and
/// [`EntryView`](super::EntryView)): an [`Entry`] is built when asked for.
/// `Serialize`, `PartialEq` and `Debug` treat the journal as if it held the
/// materialised entries in an `entries` field.
#[derive(Clone)]
pub struct Journal {
    /// The format the input was read as.
    pub format: JournalFormat,
    /// Entries in input order.
    pub(super) store: Store,
    /// `journalctl` marker lines (`-- Boot … --`, `-- No entries --`, …).
    pub markers: Vec<Marker>,
    /// Lines that were neither an entry nor a marker, kept verbatim.
    pub unparsed: Vec<Unparsed>,
}

/// The output format of `journalctl -o …` (plus JSON-lines log files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum JournalFormat {
    /// `-o export`: `KEY=value` lines and length-prefixed binary fields.
    Export,
    /// `-o json`: one object per line.
    Json,
    /// `-o json-pretty`: one indented object spanning several lines.
    JsonPretty,
    /// A JSON array of entry objects (what some tools save).
    JsonArray,
    /// `-o short`: `Jan 15 10:00:00 host ident[pid]: msg` (no year).
    Short,
    /// `-o short-iso`: `2024-01-15T10:00:00+0000 host ident[pid]: msg`.
    ShortIso,
    /// `-o short-precise`: `Jan 15 10:00:00.123456 host …` (no year).
    ShortPrecise,
    /// `-o short-iso-precise`: `2024-01-15T10:00:00.123456+0000 host …`.
    ShortIsoPrecise,
    /// `-o short-unix`: `1705312800.123456 host …`.
    ShortUnix,
    /// `-o short-monotonic`: `[  123.456789] host …` (time since boot).
    ShortMonotonic,
    /// `-o cat`: the message only.
    Cat,
    /// A JSON-lines application log (`{"level":…,"ts":…,"msg":…}`), such as
    /// the VPC CNI's `ipamd.log` and `plugin.log`; not written by journald.
    JsonLog,
}

/// A `journalctl` marker line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Marker {
    /// 1-based input line.
    pub line: usize,
    /// What the marker says.
    pub kind: MarkerKind,
}

/// The kinds of marker lines `journalctl` writes between entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum MarkerKind {
    /// `-- Logs begin at <date>, end at <date>. --` (older systemd) or
    /// `-- Journal begins at <date>, ends at <date>. --` (newer).
    LogsBegin {
        /// The first date, when it could be read as UTC.
        begin: Option<Timestamp>,
        /// The second date, when present and readable as UTC.
        end: Option<Timestamp>,
    },
    /// `-- Boot <id> --`: entries that follow belong to that boot.
    Boot {
        /// The 128-bit boot id in hex, as printed.
        id: String,
    },
    /// `-- Reboot --` (older systemd): the boot changed, id not given.
    Reboot,
    /// `-- No entries --`.
    NoEntries,
    /// `Hint: Some lines were ellipsized, use -l to show in full.`
    EllipsisHint,
}

/// One journal entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// Wall-clock time of the entry, when the format carries it and it
    /// could be resolved to an absolute time.
    pub time: Option<WallTime>,
    /// The `short`/`short-precise` stamp as written, when the format has no
    /// year; kept so that an unresolved time is not lost.
    pub syslog_stamp: Option<SyslogStamp>,
    /// `__MONOTONIC_TIMESTAMP`: microseconds since boot.
    pub monotonic_us: Option<u64>,
    /// `_BOOT_ID`, or the id of the last `-- Boot <id> --` marker.
    pub boot_id: Option<SharedStr>,
    /// `_HOSTNAME`.
    pub host: Option<SharedStr>,
    /// `SYSLOG_IDENTIFIER` (in text output, the identifier journalctl printed).
    pub identifier: Option<SharedStr>,
    /// `_SYSTEMD_UNIT`.
    pub unit: Option<SharedStr>,
    /// `_PID`.
    pub pid: Option<u32>,
    /// `PRIORITY` (0 emerg … 7 debug).
    pub priority: Option<u8>,
    /// `MESSAGE`, when present.
    pub message: Option<Message>,
    /// All other fields, in input order; repeated fields become one
    /// [`Field::Array`].
    pub fields: Vec<NamedField>,
    /// The structured message inside `MESSAGE`, when it parses.
    pub inner: Option<Inner>,
    /// The input lines the entry spans.
    pub lines: LineSpan,
}

/// An absolute time with how precise the source was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WallTime {
    /// The instant, in UTC.
    pub at: Timestamp,
    /// The finest unit the source wrote.
    pub precision: Precision,
    /// Whether the year was not in the input and was inferred (`short`).
    pub year_inferred: bool,
}

/// The finest unit a timestamp was written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Precision {
    /// Whole seconds.
    Second,
    /// Milliseconds.
    Millisecond,
    /// Microseconds.
    Microsecond,
    /// Nanoseconds (truncated to microseconds in [`Timestamp`]).
    Nanosecond,
}

/// A syslog-style stamp without a year: `Jan 15 10:00:00[.123456]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SyslogStamp {
    /// Month, 1–12.
    pub month: u8,
    /// Day of month, 1–31.
    pub day: u8,
    /// Hour, 0–23.
    pub hour: u8,
    /// Minute, 0–59.
    pub minute: u8,
    /// Second, 0–60.
    pub second: u8,
    /// Microseconds, when written (`short-precise`).
    pub micros: Option<u32>,
}

/// The 1-based, inclusive range of input lines an entry spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LineSpan {
    /// First line.
    pub first: usize,
    /// Last line (equal to `first` for a one-line entry).
    pub last: usize,
}

/// The `MESSAGE` field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
pub enum Message {
    /// A UTF-8 message (the usual case); in text output, a slice of the
    /// journal file itself rather than a copy.
    Text(SharedText),
    /// A message that is not valid UTF-8, kept as bytes.
    Binary(Vec<u8>),
}

impl Message {
    /// The message as text, when it is text.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(text) => Some(text),
            Self::Binary(_) => None,
        }
    }
}

/// A field of an entry other than the ones the model lifts out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NamedField {
    /// The field name, e.g. `_SYSTEMD_CGROUP` (shared by every entry that
    /// has the field).
    pub name: SharedStr,
    /// Its value.
    pub value: Field,
}

/// A field value as the journal stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
pub enum Field {
    /// A UTF-8 value; a value equal to the same field's value in the
    /// previous entry is shared with it, which is most of a journal's
    /// fields (`_MACHINE_ID`, `_UID`, `_SYSTEMD_CGROUP`, …).
    Text(SharedStr),
    /// Several values for one name (a repeated field).
    Array(Vec<Field>),
    /// Bytes that are not UTF-8 text (a binary export field, or a JSON array
    /// of numbers).
    Binary(Vec<u8>),
    /// JSON `null`: `journalctl` left the value out (it was too large).
    Null,
}

/// One `key=value` pair of a klog or logfmt message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyValue {
    /// The key (shared: keys repeat on every line).
    pub key: SharedStr,
    /// The value, unquoted and unescaped (a slice of the message when
    /// there was nothing to unescape).
    pub value: SharedText,
}

/// The structured message inside an entry's `MESSAGE`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Inner {
    /// A klog line (kubelet and other Kubernetes components).
    Klog(Klog),
    /// A logfmt line (containerd).
    Logfmt(Logfmt),
    /// A JSON object line (VPC CNI ipamd and plugin, zap-style loggers).
    Json(JsonMessage),
}

/// A klog header and message:
/// `E0115 10:00:00.123456    1234 pod_workers.go:1298] "msg" key="value"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Klog {
    /// `I`, `W`, `E` or `F`.
    pub severity: KlogSeverity,
    /// Month, 1–12.
    pub month: u8,
    /// Day of month.
    pub day: u8,
    /// Microseconds since midnight, as written.
    pub time_of_day_us: u64,
    /// The absolute time: the month and day resolved with the entry's own
    /// year, or, for entries without a wall time (`cat`,
    /// `short-monotonic`), with a year inferred like `short`'s.
    pub at: Option<Timestamp>,
    /// The thread id klog printed.
    pub thread_id: u64,
    /// Source file, e.g. `pod_workers.go` (shared: files repeat).
    pub file: SharedStr,
    /// Source line.
    pub line: u32,
    /// The message: unquoted for the structured form, verbatim otherwise
    /// (a slice of the entry's message when there was nothing to unescape).
    pub msg: SharedText,
    /// Whether the message was the structured form (`"msg" k=v …`).
    pub structured: bool,
    /// The `key=value` pairs of the structured form, in order.
    pub kv: Vec<KeyValue>,
}

/// klog's severity letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KlogSeverity {
    /// `I`.
    Info,
    /// `W`.
    Warning,
    /// `E`.
    Error,
    /// `F`.
    Fatal,
}

/// A logfmt message as containerd writes it:
/// `time="2024-01-15T10:00:00.123456789Z" level=error msg="…" error="…"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Logfmt {
    /// `time=`, when it parsed as RFC 3339.
    pub time: Option<Timestamp>,
    /// `level=`.
    pub level: Option<Level>,
    /// `msg=`.
    pub msg: Option<SharedText>,
    /// Every other pair, in order (including `time=`/`level=` values that
    /// did not parse).
    pub pairs: Vec<KeyValue>,
}

/// A JSON-object message (`{"level":"error","ts":"…","caller":"…","msg":"…"}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JsonMessage {
    /// `level`.
    pub level: Option<Level>,
    /// `ts` (or `time`/`timestamp`), when it parsed as RFC 3339 or epoch seconds.
    pub ts: Option<Timestamp>,
    /// `caller`, e.g. `ipamd/ipamd.go:123`.
    pub caller: Option<String>,
    /// `msg` (or `message`).
    pub msg: Option<String>,
    /// Every other member, in order.
    pub fields: Vec<(String, serde_json::Value)>,
}

/// A log level, as logfmt and JSON loggers name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
pub enum Level {
    /// `trace`.
    Trace,
    /// `debug`.
    Debug,
    /// `info`.
    Info,
    /// `warn`, `warning`.
    Warning,
    /// `error`.
    Error,
    /// `dpanic`, `panic`.
    Panic,
    /// `fatal`.
    Fatal,
    /// Anything else, as written.
    Other(String),
}

/// One ordered severity scale across priorities, klog letters and levels,
/// for rules that ask "is this an error or worse".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Debug and trace.
    Debug,
    /// Informational.
    Info,
    /// Normal but significant (syslog notice).
    Notice,
    /// Warning.
    Warning,
    /// Error.
    Error,
    /// Critical (syslog crit, klog fatal, logger fatal/panic).
    Critical,
    /// Syslog alert.
    Alert,
    /// Syslog emergency.
    Emergency,
}

impl Severity {
    /// Maps a syslog priority (0 emerg … 7 debug); `None` above 7.
    pub fn from_priority(priority: u8) -> Option<Self> {
        Some(match priority {
            0 => Self::Emergency,
            1 => Self::Alert,
            2 => Self::Critical,
            3 => Self::Error,
            4 => Self::Warning,
            5 => Self::Notice,
            6 => Self::Info,
            7 => Self::Debug,
            _ => return None,
        })
    }
}

impl From<KlogSeverity> for Severity {
    fn from(severity: KlogSeverity) -> Self {
        match severity {
            KlogSeverity::Info => Self::Info,
            KlogSeverity::Warning => Self::Warning,
            KlogSeverity::Error => Self::Error,
            KlogSeverity::Fatal => Self::Critical,
        }
    }
}

impl Level {
    /// Reads a level name, case-insensitively.
    pub fn from_name(name: &str) -> Self {
        let lower = |want: &str| name.eq_ignore_ascii_case(want);
        if lower("trace") {
            Self::Trace
        } else if lower("debug") {
            Self::Debug
        } else if lower("info") {
            Self::Info
        } else if lower("warn") || lower("warning") {
            Self::Warning
        } else if lower("error") || lower("err") {
            Self::Error
        } else if lower("panic") || lower("dpanic") {
            Self::Panic
        } else if lower("fatal") {
            Self::Fatal
        } else {
            Self::Other(name.to_owned())
        }
    }

    /// The level on the common scale; `None` for [`Level::Other`].
    pub fn severity(&self) -> Option<Severity> {
        Some(match self {
            Self::Trace | Self::Debug => Severity::Debug,
            Self::Info => Severity::Info,
            Self::Warning => Severity::Warning,
            Self::Error => Severity::Error,
            Self::Panic | Self::Fatal => Severity::Critical,
            Self::Other(_) => return None,
        })
    }
}

impl Inner {
    /// The inner message's own severity, when it states one.
    pub fn severity(&self) -> Option<Severity> {
        match self {
            Self::Klog(klog) => Some(klog.severity.into()),
            Self::Logfmt(logfmt) => logfmt.level.as_ref().and_then(Level::severity),
            Self::Json(json) => json.level.as_ref().and_then(Level::severity),
        }
    }

    /// The human message of the inner record (klog/logfmt/JSON `msg`).
    pub fn msg(&self) -> Option<&str> {
        match self {
            Self::Klog(klog) => Some(&klog.msg),
            Self::Logfmt(logfmt) => logfmt.msg.as_deref(),
            Self::Json(json) => json.msg.as_deref(),
        }
    }
}

impl Entry {
    /// An entry with nothing set but its line span.
    pub fn empty(lines: LineSpan) -> Self {
        Self {
            time: None,
            syslog_stamp: None,
            monotonic_us: None,
            boot_id: None,
            host: None,
            identifier: None,
            unit: None,
            pid: None,
            priority: None,
            message: None,
            fields: Vec::new(),
            inner: None,
            lines,
        }
    }

    /// The entry's severity: the inner message's own level when it states
    /// one (kubelet writes every klog line to stderr, so journald's priority
    /// says `info` even for `E` lines), else the journal priority.
    pub fn severity(&self) -> Option<Severity> {
        self.inner
            .as_ref()
            .and_then(Inner::severity)
            .or_else(|| self.priority.and_then(Severity::from_priority))
    }

    /// The message text, when it is text.
    pub fn text(&self) -> Option<&str> {
        self.message.as_ref().and_then(Message::as_text)
    }

    /// The message text as shared text, when it is text (to slice further
    /// without copying).
    pub fn shared_text(&self) -> Option<&SharedText> {
        match &self.message {
            Some(Message::Text(text)) => Some(text),
            _ => None,
        }
    }

    /// The best absolute time: the entry's wall time, else the inner
    /// message's own stamp.
    pub fn best_time(&self) -> Option<Timestamp> {
        let inner_time = match &self.inner {
            Some(Inner::Klog(klog)) => klog.at,
            Some(Inner::Logfmt(logfmt)) => logfmt.time,
            Some(Inner::Json(json)) => json.ts,
            None => None,
        };
        self.time.map(|t| t.at).or(inner_time)
    }

    /// The first field with this name, if any.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields
            .iter()
            .find(|field| &*field.name == name)
            .map(|field| &field.value)
    }
}
