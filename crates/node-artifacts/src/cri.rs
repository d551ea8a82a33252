//! Container logs in the CRI format that kubelet and containerd write under
//! `/var/log/containers/` and `/var/log/pods/`.
//!
//! ```text
//! 2025-11-18T07:42:29.538929343Z stderr F I1118 07:42:29.538929       1 server_linux.go:66] "Using iptables proxy"
//! └──────── RFC 3339, ns ───────┘ └stream┘ │ └──────────────── the container's own line ─────────────────┘
//!                                          └ F: full line, P: partial (continued by the next record)
//! ```
//!
//! Grammar, one record per line:
//!
//! ```text
//! record  = time SP stream SP tag SP message
//! time    = RFC 3339 with fractional seconds and a zone (`Z` or `±hh:mm`)
//! stream  = "stdout" | "stderr"
//! tag     = "F" | "P" ( ":" ... )        ; containerd may add more tags after ':'
//! ```
//!
//! Partial records (`P`) are joined with the records that follow them up to
//! the next full one, so a long line split by the runtime becomes one entry.
//! The joined message is then read with [`crate::journald::parse_inner`], so
//! kube-proxy's and the VPC CNI's klog, logfmt and JSON lines get the same
//! structured view as they do inside the journal.

use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::diag::{Diagnostic, Parsed, Unparsed, numbered_lines};
use crate::journald::{self, Inner};
use crate::time::Timestamp;

/// A container log file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContainerLog {
    /// Entries in input order.
    pub entries: Vec<ContainerLogEntry>,
    /// Lines that are not CRI records, kept verbatim.
    pub unparsed: Vec<Unparsed>,
}

/// One logical line of a container (partial records joined).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContainerLogEntry {
    /// The runtime's time stamp of the first record.
    pub time: Timestamp,
    /// `stdout` or `stderr`.
    pub stream: Stream,
    /// The container's line.
    pub message: String,
    /// The structured message (klog, logfmt or JSON), when it parses.
    pub inner: Option<Inner>,
    /// First 1-based input line.
    pub line: usize,
    /// Last 1-based input line (greater than `line` when partial records were
    /// joined).
    pub end_line: usize,
}

/// The output stream a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// Why an input is not a CRI container log at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No line of the input is a CRI record.
    #[error("not a CRI container log: no line has the `<time> <stream> <F|P> <message>` shape")]
    NotCriLog,
}

/// Parses a CRI container log.
///
/// Returns `Err` only when the input has content and not one line is a CRI
/// record; otherwise lines that are not records are kept as unparsed.
///
/// ```
/// let log = node_artifacts::cri::parse(
///     "2025-11-18T07:42:29.538929343Z stderr F I1118 07:42:29.538929       1 server_linux.go:66] \"Using iptables proxy\"\n",
/// ).unwrap();
/// assert_eq!(log.value.entries.len(), 1);
/// assert!(log.value.entries[0].inner.is_some());
/// ```
pub fn parse(input: &str) -> Result<Parsed<ContainerLog>, Error> {
    let mut log = ContainerLog {
        entries: Vec::new(),
        unparsed: Vec::new(),
    };
    // A partial record waiting for the rest of its line.
    let mut pending: Option<ContainerLogEntry> = None;
    let mut saw_record = false;
    for (line_no, line) in numbered_lines(input) {
        if line.is_empty() {
            continue;
        }
        let Some(record) = record(line) else {
            log.unparsed.push(Unparsed {
                line: line_no,
                raw: line.to_owned(),
                reason: "not a CRI record (`<RFC 3339 time> <stdout|stderr> <F|P> <message>`)"
                    .to_owned(),
            });
            continue;
        };
        saw_record = true;
        let entry = match pending.take() {
            Some(mut joined) if joined.stream == record.stream => {
                joined.message.push_str(record.message);
                joined.end_line = line_no;
                joined
            }
            Some(orphan) => {
                // A partial record whose continuation never came on the same
                // stream: keep it as it is rather than gluing streams.
                log.entries.push(finish(orphan));
                fresh(&record, line_no)
            }
            None => fresh(&record, line_no),
        };
        if record.partial {
            pending = Some(entry);
        } else {
            log.entries.push(finish(entry));
        }
    }
    if let Some(orphan) = pending {
        log.entries.push(finish(orphan));
    }
    if !saw_record && !log.unparsed.is_empty() {
        return Err(Error::NotCriLog);
    }
    let diagnostics: Vec<Diagnostic> = log.unparsed.iter().map(Unparsed::diagnostic).collect();
    Ok(Parsed {
        value: log,
        diagnostics,
    })
}

struct Record<'a> {
    time: Timestamp,
    stream: Stream,
    partial: bool,
    message: &'a str,
}

fn record(line: &str) -> Option<Record<'_>> {
    let (time, rest) = line.split_once(' ')?;
    let (stream, rest) = rest.split_once(' ')?;
    let (tag, message) = rest.split_once(' ').unwrap_or((rest, ""));
    let stream = match stream {
        "stdout" => Stream::Stdout,
        "stderr" => Stream::Stderr,
        _ => return None,
    };
    let partial = match tag.split(':').next() {
        Some("F") => false,
        Some("P") => true,
        _ => return None,
    };
    let time = OffsetDateTime::parse(time, &Rfc3339).ok()?;
    Some(Record {
        time: Timestamp::from_datetime(time),
        stream,
        partial,
        message,
    })
}

fn fresh(record: &Record<'_>, line_no: usize) -> ContainerLogEntry {
    ContainerLogEntry {
        time: record.time,
        stream: record.stream,
        message: record.message.to_owned(),
        inner: None,
        line: line_no,
        end_line: line_no,
    }
}

fn finish(mut entry: ContainerLogEntry) -> ContainerLogEntry {
    entry.inner = journald::parse_inner(&entry.message);
    entry
}

#[cfg(test)]
mod tests {
    use super::{Stream, parse};

    #[track_caller]
    fn check(input: &str, entries: usize, unparsed: usize) {
        let parsed = parse(input).unwrap();
        assert_eq!(parsed.value.entries.len(), entries, "entries");
        assert_eq!(parsed.value.unparsed.len(), unparsed, "unparsed");
        assert_eq!(parsed.diagnostics.len(), unparsed);
    }

    #[test]
    fn records_partials_and_noise() {
        check("2025-11-18T07:42:29.538929343Z stderr F hello\n", 1, 0);
        check(
            "2025-11-18T07:42:29Z stdout P abc\n2025-11-18T07:42:29Z stdout F def\n",
            1,
            0,
        );
        check("2025-11-18T07:42:29Z stdout F a\ngarbage\n", 1, 1);
        check("", 0, 0);
        assert!(parse("not a log\n").is_err());
    }

    #[test]
    fn joins_partials_and_parses_klog() {
        let log = parse(concat!(
            "2025-11-18T07:42:29.5Z stderr P E1118 07:42:29.538929       1 proxier.go:1564] \"Failed to execute \n",
            "2025-11-18T07:42:29.6Z stderr F iptables-restore\" err=\"exit status 1\"\n",
        ))
        .unwrap()
        .value;
        let entry = &log.entries[0];
        assert_eq!(entry.stream, Stream::Stderr);
        assert_eq!((entry.line, entry.end_line), (1, 2));
        assert!(entry.message.ends_with("err=\"exit status 1\""));
        assert!(entry.inner.is_some());
    }
}
