//! The typed model of a kernel log: records, priorities, callers and the
//! boot time that turns "seconds since boot" into wall-clock time.
//!
//! A [`KernelLog`] is what [`crate::dmesg::parse`] returns. Every record keeps
//! what its input said and nothing more: a plain `dmesg` line has no facility
//! or level (`None`), a `dmesg --ctime` line has no time since boot, and a
//! wall-clock time is filled in only when the boot time is known
//! ([`BootTime::Known`]).

use std::fmt;
use std::fmt::Write as _;

use serde::Serialize;

use crate::diag::Unparsed;
use crate::dmesg::records::Records;
use crate::shared::SharedText;
use crate::time::Timestamp;

/// A parsed kernel log: `dmesg` output in one of its forms, or `/dev/kmsg`
/// records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KernelLog {
    /// The input form the parser recognised.
    pub format: Format,
    /// The records in input order, packed: [`Records::get`] and
    /// [`Records::iter`] give each as a [`Record`].
    pub records: Records,
    /// Whether, and from what, the boot time is known.
    pub boot_time: BootTime,
    /// Lines that were neither a record nor the continuation of one.
    pub unparsed: Vec<Unparsed>,
}

/// The input form of a kernel log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Format {
    /// Text written by `dmesg` (or a copy such as `/var/log/dmesg`).
    Text {
        /// The priority prefix of each line.
        priority: PriorityStyle,
        /// The time stamp of each line.
        time: TimeStyle,
        /// Whether lines carry a caller id (`[    T123]`, `[C0]`), judged from
        /// the first record.
        caller: bool,
    },
    /// `/dev/kmsg` records (`prio,seq,usec,flags;message`), separated by
    /// newlines or NUL bytes.
    Kmsg {
        /// Whether records carry a `caller=` field.
        caller: bool,
    },
}

/// How a text line states its facility and level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PriorityStyle {
    /// No priority (default `dmesg`).
    None,
    /// `<N>` with N = facility * 8 + level (`dmesg --raw`, the syslog buffer).
    Raw,
    /// `kern  :err   : ` (`dmesg --decode`, `-x`).
    Decoded,
}

/// How a text line states its time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimeStyle {
    /// No time stamp (`dmesg --notime`, or bare messages).
    None,
    /// `[    secs.usecs]`: time since boot (the default).
    SinceBoot,
    /// `[Fri Feb 13 23:31:30 2009]`: wall clock, local time, 1 s resolution
    /// (`dmesg --ctime`, `-T`).
    Ctime,
    /// `2009-02-13T23:31:30,123456+00:00` (`dmesg --time-format iso`).
    Iso,
}

/// One kernel message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Record {
    /// Syslog facility, when the input states it.
    pub facility: Option<Facility>,
    /// Log level, when the input states it.
    pub level: Option<Level>,
    /// The kernel's sequence number (`/dev/kmsg` only).
    pub seq: Option<u64>,
    /// Microseconds since boot, when the input states it.
    pub since_boot_us: Option<u64>,
    /// Wall-clock time: stated by the input (`--ctime`, iso) or computed
    /// from `since_boot_us` and a known boot time.
    pub wall_time: Option<Timestamp>,
    /// The thread or CPU that logged the message.
    pub caller: Option<Caller>,
    /// The message text; lines of a multi-line message are joined by `\n`
    /// with their indentation removed, and `\xNN` escapes are decoded. A
    /// one-line message is a slice of the log's input, shared, not copied.
    pub message: SharedText,
    /// `/dev/kmsg` dictionary fields (`SUBSYSTEM=usb`, `DEVICE=c189:257`), in
    /// input order.
    pub fields: Vec<(SharedText, SharedText)>,
    /// The input lines the record came from.
    pub lines: LineSpan,
}

/// A range of 1-based input lines, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LineSpan {
    /// First line.
    pub first: usize,
    /// Last line (equal to `first` for a one-line record).
    pub last: usize,
}

/// The logging context of a message (`CONFIG_PRINTK_CALLER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "kebab-case")]
pub enum Caller {
    /// A task (thread) id: `T123`.
    Thread(u32),
    /// A CPU number, for messages from interrupt context: `C0`.
    Cpu(u32),
}

/// Syslog facility (the priority value divided by 8).
///
/// Names follow util-linux `dmesg --decode`, which calls 12 to 15 `res0` to
/// `res3`. Serialized as that name (`"kern"`, `"local2"`), or for
/// [`Facility::Other`] as its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Facility {
    /// 0: kernel messages.
    Kern,
    /// 1: user-level messages.
    User,
    /// 2: mail system.
    Mail,
    /// 3: system daemons.
    Daemon,
    /// 4: security/authorization.
    Auth,
    /// 5: syslogd itself.
    Syslog,
    /// 6: line printer.
    Lpr,
    /// 7: network news.
    News,
    /// 8: UUCP.
    Uucp,
    /// 9: clock daemon.
    Cron,
    /// 10: private security/authorization.
    Authpriv,
    /// 11: FTP daemon.
    Ftp,
    /// 12: reserved.
    Res0,
    /// 13: reserved.
    Res1,
    /// 14: reserved.
    Res2,
    /// 15: reserved.
    Res3,
    /// 16 to 23: `local0` to `local7`.
    Local(u8),
    /// A code above 23 (as its number) or an unknown decoded name.
    Other(String),
}

/// Log level (the low three bits of the priority value).
///
/// Three bits hold exactly these eight values, so there is no escape variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    /// 0: system is unusable.
    Emerg,
    /// 1: action must be taken immediately.
    Alert,
    /// 2: critical conditions.
    Crit,
    /// 3: error conditions.
    Err,
    /// 4: warning conditions.
    Warn,
    /// 5: normal but significant.
    Notice,
    /// 6: informational.
    Info,
    /// 7: debug-level messages.
    Debug,
}

/// Whether the boot time of the log is known, and from what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum BootTime {
    /// The wall-clock time at which "seconds since boot" is zero.
    Known {
        /// The boot time.
        at: Timestamp,
        /// Where it came from.
        source: BootTimeSource,
    },
    /// Wall-clock times of since-boot records cannot be known.
    Unknown {
        /// Why, in lowercase prose.
        reason: String,
    },
}

/// Where a known boot time came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum BootTimeSource {
    /// Given by the caller ([`KernelLog::with_boot_time`]).
    Explicit,
    /// Derived by pairing the same messages in `dmesg` and `dmesg --ctime`
    /// of one boot ([`crate::dmesg::align`]).
    CtimePairs {
        /// Number of message pairs used.
        pairs: usize,
        /// The true boot time lies within this many microseconds of `at`
        /// (half the width of the interval consistent with every pair).
        uncertainty_us: u64,
    },
}

impl KernelLog {
    /// Sets the boot time and fills the wall-clock time of every record that
    /// has a time since boot.
    ///
    /// Records whose input stated a wall-clock time (`--ctime`, iso) keep it.
    #[must_use]
    pub fn with_boot_time(self, at: Timestamp) -> Self {
        self.with_boot_time_from(at, BootTimeSource::Explicit)
    }

    /// Like [`KernelLog::with_boot_time`], recording where the boot time came
    /// from.
    #[must_use]
    pub fn with_boot_time_from(mut self, at: Timestamp, source: BootTimeSource) -> Self {
        // Only since-boot records change: the store computes their wall
        // time from the boot time when a record is read.
        self.records.set_boot(at);
        self.boot_time = BootTime::Known { at, source };
        self
    }

    /// Renders the records in the default `dmesg` form,
    /// `[    secs.usecs] message`, with the lines of multi-line messages
    /// indented to the message column, as util-linux does.
    ///
    /// Records without a time since boot are written without a time stamp;
    /// caller ids are written as `[    T123]`. Unparsed lines are not
    /// rendered.
    pub fn render_plain(&self) -> String {
        let mut out = String::with_capacity(self.records.len() * 64);
        for record in &self.records {
            let start = out.len();
            if let Some(us) = record.since_boot_us {
                let _ = write!(out, "[{:>5}.{:06}] ", us / 1_000_000, us % 1_000_000);
            }
            if let Some(caller) = record.caller {
                let _ = write!(out, "[{:>6}] ", caller.to_string());
            }
            let column = out.len() - start;
            let mut message_lines = record.message.split('\n');
            if let Some(first) = message_lines.next() {
                out.push_str(first);
            }
            for line in message_lines {
                out.push('\n');
                out.extend(std::iter::repeat_n(' ', column));
                out.push_str(line);
            }
            out.push('\n');
        }
        out
    }
}

impl Format {
    /// Whether the records' primary time is the time since boot.
    pub fn time_is_since_boot(self) -> bool {
        match self {
            Format::Kmsg { .. } => true,
            Format::Text { time, .. } => time == TimeStyle::SinceBoot,
        }
    }
}

impl Facility {
    /// The facility for a numeric code (priority >> 3).
    pub fn from_code(code: u32) -> Facility {
        match code {
            0 => Facility::Kern,
            1 => Facility::User,
            2 => Facility::Mail,
            3 => Facility::Daemon,
            4 => Facility::Auth,
            5 => Facility::Syslog,
            6 => Facility::Lpr,
            7 => Facility::News,
            8 => Facility::Uucp,
            9 => Facility::Cron,
            10 => Facility::Authpriv,
            11 => Facility::Ftp,
            12 => Facility::Res0,
            13 => Facility::Res1,
            14 => Facility::Res2,
            15 => Facility::Res3,
            16..=23 => Facility::Local((code - 16) as u8),
            other => Facility::Other(other.to_string()),
        }
    }

    /// The facility for a util-linux name (`kern`, `local2`, …); unknown
    /// names become [`Facility::Other`].
    pub fn from_name(name: &str) -> Facility {
        const NAMES: [&str; 16] = [
            "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
            "authpriv", "ftp", "res0", "res1", "res2", "res3",
        ];
        if let Some(code) = NAMES.iter().position(|known| *known == name) {
            return Facility::from_code(code as u32);
        }
        if let Some(n) = name.strip_prefix("local")
            && let Ok(n @ 0..=7) = n.parse::<u8>()
        {
            return Facility::Local(n);
        }
        Facility::Other(name.to_owned())
    }

    /// The numeric code, when known.
    pub fn code(&self) -> Option<u32> {
        Some(match self {
            Facility::Kern => 0,
            Facility::User => 1,
            Facility::Mail => 2,
            Facility::Daemon => 3,
            Facility::Auth => 4,
            Facility::Syslog => 5,
            Facility::Lpr => 6,
            Facility::News => 7,
            Facility::Uucp => 8,
            Facility::Cron => 9,
            Facility::Authpriv => 10,
            Facility::Ftp => 11,
            Facility::Res0 => 12,
            Facility::Res1 => 13,
            Facility::Res2 => 14,
            Facility::Res3 => 15,
            Facility::Local(n) => 16 + u32::from(*n),
            Facility::Other(text) => return text.parse().ok(),
        })
    }
}

impl fmt::Display for Facility {
    /// The util-linux name (`kern`, `local2`, `res0`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Facility::Kern => "kern",
            Facility::User => "user",
            Facility::Mail => "mail",
            Facility::Daemon => "daemon",
            Facility::Auth => "auth",
            Facility::Syslog => "syslog",
            Facility::Lpr => "lpr",
            Facility::News => "news",
            Facility::Uucp => "uucp",
            Facility::Cron => "cron",
            Facility::Authpriv => "authpriv",
            Facility::Ftp => "ftp",
            Facility::Res0 => "res0",
            Facility::Res1 => "res1",
            Facility::Res2 => "res2",
            Facility::Res3 => "res3",
            Facility::Local(n) => return write!(f, "local{n}"),
            Facility::Other(text) => text,
        };
        f.write_str(name)
    }
}

impl Serialize for Facility {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl Level {
    /// The level for the low three bits of a priority value.
    pub fn from_code(code: u32) -> Level {
        match code & 7 {
            0 => Level::Emerg,
            1 => Level::Alert,
            2 => Level::Crit,
            3 => Level::Err,
            4 => Level::Warn,
            5 => Level::Notice,
            6 => Level::Info,
            _ => Level::Debug,
        }
    }

    /// The level for a util-linux name (`emerg` … `debug`).
    pub fn from_name(name: &str) -> Option<Level> {
        Some(match name {
            "emerg" => Level::Emerg,
            "alert" => Level::Alert,
            "crit" => Level::Crit,
            "err" => Level::Err,
            "warn" => Level::Warn,
            "notice" => Level::Notice,
            "info" => Level::Info,
            "debug" => Level::Debug,
            _ => return None,
        })
    }

    /// The numeric value (0 for `emerg` to 7 for `debug`).
    pub fn code(self) -> u32 {
        self as u32
    }
}

impl fmt::Display for Level {
    /// The util-linux name (`emerg` … `debug`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Emerg => "emerg",
            Level::Alert => "alert",
            Level::Crit => "crit",
            Level::Err => "err",
            Level::Warn => "warn",
            Level::Notice => "notice",
            Level::Info => "info",
            Level::Debug => "debug",
        })
    }
}

impl fmt::Display for Caller {
    /// `T123` or `C0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Caller::Thread(id) => write!(f, "T{id}"),
            Caller::Cpu(id) => write!(f, "C{id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Facility, Level};

    #[test]
    fn facility_codes_and_names_round_trip() {
        for code in 0..=24 {
            let facility = Facility::from_code(code);
            assert_eq!(facility.code(), Some(code));
            assert_eq!(Facility::from_name(&facility.to_string()), facility);
        }
        assert_eq!(Facility::from_code(18).to_string(), "local2");
        assert_eq!(
            Facility::from_name("bogus"),
            Facility::Other("bogus".to_owned())
        );
        assert_eq!(Facility::from_name("bogus").code(), None);
        assert_eq!(
            serde_json::to_string(&Facility::Local(2)).expect("serializes"),
            r#""local2""#
        );
    }

    #[test]
    fn level_codes_and_names_round_trip() {
        for code in 0..8 {
            let level = Level::from_code(code);
            assert_eq!(level.code(), code);
            assert_eq!(Level::from_name(&level.to_string()), Some(level));
        }
        assert_eq!(Level::from_code(150), Level::Info);
    }
}
