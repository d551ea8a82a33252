//! Parser and typed model for conntrack flow tables, events and statistics.
//!
//! [`parse`] reads every textual form a node yields and auto-detects it line
//! by line, so the EKS log bundle's stacked `networking/conntrack.txt`
//! (`conntrack -S` then `conntrack -L`) parses in one call:
//!
//! - `conntrack -L` in the default form, with `-o extended`, `-o id` and
//!   `-o timestamp`, IPv4 and IPv6; `/proc/net/nf_conntrack`;
//! - `conntrack -E` event lines, with the `-o timestamp` prefix;
//! - expectation lines (`conntrack -L expect`, `conntrackd -i exp`);
//! - `conntrack -S` per-CPU rows and `/proc/net/stat/nf_conntrack`
//!   (hexadecimal, under a header line);
//! - single numbers (`conntrack -C`, `nf_conntrack_count`, `nf_conntrack_max`)
//!   and `net.netfilter.nf_conntrack_* = N` sysctl lines;
//! - `*** Output of … ***` section headers and the
//!   `conntrack v1.4.6 (conntrack-tools): N flow entries have been shown.`
//!   trailer.
//!
//! Every non-blank line becomes exactly one of: an [`Entry`], an [`Event`], an
//! [`Expectation`], a [`CpuStats`] row, a [`StatsHeader`], a [`CountLine`], a
//! [`Section`], a [`Summary`], or an [`Unparsed`] line with its number and
//! reason (also reported as a diagnostic). Blank lines carry nothing and are
//! skipped. Leading blanks are ignored, so indented samples parse too.
//!
//! [`aggregate`] is the streaming alternative for very large tables: it
//! counts without keeping entries (see its docs for what it checks).
//!
//! # Example
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use node_artifacts::conntrack;
//!
//! // A node whose pods race on DNS: many unanswered queries to the cluster
//! // DNS Service, DNATed to CoreDNS pods.
//! let input = include_str!("../../../../fixtures/conntrack/dns-race.txt");
//! let parsed = conntrack::parse(input)?;
//! assert!(parsed.diagnostics.is_empty());
//! let table = &parsed.value.table;
//! let (busiest, count) = table.top_destinations(1)[0];
//! assert_eq!(busiest.to_string(), "172.20.0.10:53");
//! assert_eq!(count, 36);
//! assert_eq!(table.unreplied_count(), 24);
//! let coredns = table.entries[0].nat_destination().map(|target| target.addr);
//! assert!(coredns.is_some());
//!
//! // The streaming mode reaches the same counts without keeping entries.
//! let aggregate = conntrack::aggregate(input).value;
//! assert_eq!(aggregate.unreplied, 24);
//! # Ok(())
//! # }
//! ```
//!
//! # Annotated sample
//!
//! ```text
//! ipv4     2 tcp      6 431999 ESTABLISHED src=10.0.1.23 dst=172.20.0.10 sport=41234 dport=53 …
//! ^^^^^^^^^^ ^^^^^^^^^^ ^^^^^^ ^^^^^^^^^^^ ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
//! family     protocol   timeout state      original tuple
//! (-o extended, /proc)  (s)    (tcp/sctp/dccp)
//!
//! … src=10.0.2.7 dst=10.0.1.23 sport=53 dport=41234 [ASSURED] mark=0 use=1 id=3735928559
//!   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ ^^^^^^^^^ ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
//!   reply tuple: src differs from original dst,      flags     attributes
//!   so this flow was DNATed (Service VIP → pod)
//! ```
//!
//! # Grammar
//!
//! ```text
//! line        = blank | section | summary | count | stats-row | stats-header
//!             | hex-row | event | expectation | entry ;
//! section     = "***" "Output of" command "***" ;
//! summary     = "conntrack v" version " (conntrack-tools): " n " flow entries have been " action "." ;
//! count       = digits | sysctl-key ( "=" | " = " ) digits ;
//! stats-row   = "cpu=" digits { WS name "=" digits } ;
//! stats-header= "entries" { WS name } ;                 (* /proc/net/stat/nf_conntrack *)
//! hex-row     = hex { WS hex } ;                        (* one column per header name *)
//! event       = [ "[" secs "." usecs "]" WS ] ( "[NEW]" | "[UPDATE]" | "[DESTROY]" ) WS ( entry | expectation ) ;
//! entry       = [ family WS digits WS ] proto-name WS digits [ WS timeout ] [ WS STATE ]
//!               WS tuple { WS item } ;                  (* a second src= starts the reply tuple *)
//! tuple       = "src=" addr WS "dst=" addr [ WS l4 ] ;
//! l4          = "sport=" u16 WS "dport=" u16
//!             | "type=" u8 WS "code=" u8 WS "id=" u16
//!             | "srckey=0x" hex WS "dstkey=0x" hex ;
//! item        = tuple | "[UNREPLIED]" | "[ASSURED]" | "[OFFLOAD]" | "[HW_OFFLOAD]"
//!             | "packets=" u64 WS "bytes=" u64 | "zone-orig=" u16 | "zone-reply=" u16
//!             | "mark=" u32 | "secmark=" u32 | "secctx=" text | "zone=" u16
//!             | "delta-time=" u64 | "[start=" ctime "]" | "[stop=" ctime "]"
//!             | "helper=" text | "use=" u32 | "id=" u32 | "labels=" text
//!             | key "=" text                            (* unknown, kept *)
//!             | "[" text "]" ;                          (* unknown, kept *)
//! expectation = [ timeout WS ] "proto=" u8 WS tuple WS "mask-src=" addr WS "mask-dst=" addr [ WS l4 ]
//!               WS "master-src=" addr WS "master-dst=" addr [ WS l4 ] { WS ( WORD | key "=" text | "[" text "]" ) } ;
//! WS          = ( " " | "\t" | "\r" | "\x0c" )+ ;
//! ```
//!
//! Field order follows libnetfilter_conntrack's default printer and the
//! kernel's `ct_seq_show`; the parser accepts the items in any order, and
//! [`Entry`]'s `Display` writes them in the printer's order, so render → parse
//! round-trips.

mod aggregate;
mod index;
mod line;
mod model;
mod stats;

pub use aggregate::{ConntrackAggregate, DEFAULT_TOP, aggregate, aggregate_top};
pub use index::ConntrackTable;
pub use model::{
    ConntrackDump, ConntrackStats, CountLine, Counters, CpuStats, Endpoint, Entry, EntryExtra,
    Event, EventBody, EventKind, Expectation, Family, Flags, FlowCounters, L4, Protocol, Section,
    State, StatsForm, StatsHeader, Summary, Tuple,
};

use crate::diag::{Parsed, Unparsed, numbered_lines};
use crate::time::Timestamp;

/// Why an input is not conntrack output at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No line looked like any conntrack form.
    #[error("not conntrack output: line {line}: {reason}")]
    NotConntrack {
        /// The first non-blank line.
        line: usize,
        /// Why that line was not understood.
        reason: String,
    },
    /// A count file did not hold a single number.
    #[error("not a conntrack count: {reason}")]
    NotACount {
        /// What was found instead.
        reason: String,
    },
}

/// Parses conntrack output in any of the forms listed in the module docs.
///
/// Returns `Err` only when no line looks like conntrack output; otherwise
/// lines that were not understood are kept in [`ConntrackDump::unparsed`] and
/// reported as diagnostics.
pub fn parse(input: &str) -> Result<Parsed<ConntrackDump>, Error> {
    let mut parser = LineParser::new();
    let mut dump = ConntrackDump {
        table: ConntrackTable::default(),
        events: Vec::new(),
        expectations: Vec::new(),
        stats: None,
        counts: Vec::new(),
        sections: Vec::new(),
        summaries: Vec::new(),
        unparsed: Vec::new(),
    };
    // Reserving for one entry per line avoids repeated copies of a large Vec;
    // the slack is given back below. No flow line is shorter than about 48
    // bytes, so the reservation never exceeds three times the input, however
    // many short lines a foreign file has.
    let n_lines = memchr::memchr_iter(b'\n', input.as_bytes()).count() + 1;
    let mut entries = Vec::with_capacity(n_lines.min(input.len() / 48 + 1));
    let mut recognised = false;
    let mut looked_like = false;
    for (line_no, raw) in numbered_lines(input) {
        let Some(kind) = parser.line(line_no, raw) else {
            continue;
        };
        recognised |= !matches!(kind, Line::Unparsed { .. });
        match kind {
            Line::Entry(entry) => entries.push(entry),
            Line::Event(event) => dump.events.push(event),
            Line::Expectation(expectation) => dump.expectations.push(expectation),
            Line::Stats(row) => dump
                .stats
                .get_or_insert_with(Default::default)
                .cpus
                .push(row),
            Line::StatsHeader(header) => {
                dump.stats.get_or_insert_with(Default::default).header = Some(header);
            }
            Line::Count(count) => dump.counts.push(count),
            Line::Section(section) => dump.sections.push(section),
            Line::Summary(summary) => dump.summaries.push(summary),
            Line::Unparsed { reason, looks_like } => {
                looked_like |= looks_like;
                dump.unparsed.push(Unparsed {
                    line: line_no,
                    raw: raw.to_owned(),
                    reason,
                });
            }
        }
    }
    if !recognised
        && !looked_like
        && let Some(first) = dump.unparsed.first()
    {
        return Err(Error::NotConntrack {
            line: first.line,
            reason: first.reason.clone(),
        });
    }
    entries.shrink_to_fit();
    dump.table = ConntrackTable::new(entries);
    if let Some(stats) = &mut dump.stats {
        stats.recompute_totals();
    }
    let diagnostics = dump.unparsed.iter().map(Unparsed::diagnostic).collect();
    Ok(Parsed {
        value: dump,
        diagnostics,
    })
}

/// Parses a single-number file (`/proc/sys/net/netfilter/nf_conntrack_count`,
/// `nf_conntrack_max`, `conntrack -C`) or one sysctl line
/// (`net.netfilter.nf_conntrack_count = 123`).
pub fn parse_count(input: &str) -> Result<u64, Error> {
    let mut found = None;
    for (line_no, raw) in numbered_lines(input) {
        let text = raw.trim();
        if text.is_empty() {
            continue;
        }
        if found.is_some() {
            return Err(Error::NotACount {
                reason: format!("line {line_no}: more than one non-blank line"),
            });
        }
        found = Some(count_line(text, line_no).ok_or_else(|| Error::NotACount {
            reason: format!("line {line_no}: expected a number or `key = number`"),
        })?);
    }
    found.map(|count| count.value).ok_or(Error::NotACount {
        reason: "empty input".to_owned(),
    })
}

/// One classified input line.
pub(crate) enum Line {
    Entry(Entry),
    Event(Event),
    Expectation(Expectation),
    Stats(CpuStats),
    StatsHeader(StatsHeader),
    Count(CountLine),
    Section(Section),
    Summary(Summary),
    Unparsed { reason: String, looks_like: bool },
}

/// Line classification with the little state the forms need (the
/// `/proc/net/stat` header names the columns of the rows that follow it).
pub(crate) struct LineParser<'a> {
    tokens: Vec<&'a str>,
    proc_columns: Option<Vec<String>>,
    proc_rows: u32,
}

impl<'a> LineParser<'a> {
    pub(crate) fn new() -> Self {
        Self {
            tokens: Vec::with_capacity(48),
            proc_columns: None,
            proc_rows: 0,
        }
    }

    /// Classifies one line; `None` for a blank line.
    pub(crate) fn line(&mut self, line_no: usize, raw: &'a str) -> Option<Line> {
        // ASCII only: the tokenizer splits on the same bytes, so a token never
        // ends in something trimming would drop.
        let text = raw.trim_ascii();
        if text.is_empty() {
            return None;
        }
        let unparsed = |reason: String, looks_like: bool| Line::Unparsed { reason, looks_like };
        if let Some(rest) = text.strip_prefix("***") {
            self.proc_columns = None;
            let command = rest.trim().trim_end_matches('*').trim();
            let command = command.strip_prefix("Output of").unwrap_or(command).trim();
            return Some(Line::Section(Section {
                line: line_no,
                command: command.to_owned(),
            }));
        }
        if let Some(summary) = summary_line(text, line_no) {
            return Some(Line::Summary(summary));
        }
        line::tokenize(text, &mut self.tokens);
        let tokens = &self.tokens;
        let first = tokens.first().copied().unwrap_or_default();
        if first.starts_with("cpu=") {
            return Some(match stats::parse_cpu_row(tokens, line_no) {
                Ok(row) => Line::Stats(row),
                Err(reason) => unparsed(reason, true),
            });
        }
        if stats::is_proc_header(tokens) {
            let names: Vec<String> = tokens.iter().map(|name| (*name).to_owned()).collect();
            self.proc_columns = Some(names.clone());
            self.proc_rows = 0;
            return Some(Line::StatsHeader(StatsHeader {
                line: line_no,
                names,
            }));
        }
        // A lone number after the header is a count line, not a short row.
        if let Some(columns) = &self.proc_columns
            && tokens.len() > 1
            && first.bytes().all(|b| b.is_ascii_hexdigit())
        {
            let cpu = self.proc_rows;
            self.proc_rows += 1;
            return Some(match stats::parse_proc_row(tokens, columns, cpu, line_no) {
                Ok(row) => Line::Stats(row),
                Err(reason) => unparsed(reason, true),
            });
        }
        if let Some(count) = count_line(text, line_no) {
            return Some(Line::Count(count));
        }
        let (kind, timestamp, body) = match event_prefix(tokens) {
            Ok(Some((kind, timestamp, skip))) => (Some(kind), timestamp, &tokens[skip..]),
            Ok(None) => (None, None, &tokens[..]),
            Err(reason) => return Some(unparsed(reason, true)),
        };
        let looks_like = kind.is_some() || line::looks_like_flow(body);
        if !looks_like {
            return Some(unparsed(
                format!("unrecognised line starting with `{first}`"),
                false,
            ));
        }
        let line_u32 = u32::try_from(line_no).unwrap_or(u32::MAX);
        if line::is_expectation(body) {
            return Some(match line::parse_expectation(body, line_no) {
                Ok(expectation) => match kind {
                    Some(kind) => Line::Event(Event {
                        line: line_no,
                        kind,
                        timestamp,
                        body: EventBody::Expectation(expectation),
                    }),
                    None => Line::Expectation(expectation),
                },
                Err(reason) => unparsed(reason, true),
            });
        }
        Some(match line::parse_entry(body, line_u32) {
            Ok(entry) => match kind {
                Some(kind) => Line::Event(Event {
                    line: line_no,
                    kind,
                    timestamp,
                    body: EventBody::Flow(entry),
                }),
                None => Line::Entry(entry),
            },
            Err(reason) => unparsed(reason, true),
        })
    }
}

/// Splits off `[secs.usecs]` and `[NEW]`/`[UPDATE]`/`[DESTROY]`, returning the
/// number of tokens consumed.
fn event_prefix(tokens: &[&str]) -> Result<Option<(EventKind, Option<Timestamp>, usize)>, String> {
    let mut at = 0;
    let mut timestamp = None;
    if let Some(inner) = tokens
        .first()
        .and_then(|token| token.strip_prefix('['))
        .and_then(|token| token.strip_suffix(']'))
        && let Some((seconds, micros)) = inner.split_once('.')
        && line::is_digits(seconds)
        && line::is_digits(micros)
    {
        // `%ld.%-.6ld`: the fraction has six digits; read fewer as a fraction
        // too, so `.5` is half a second.
        let seconds = line::dec_u64(seconds)
            .and_then(|s| i64::try_from(s).ok())
            .ok_or("event timestamp out of range")?;
        let fraction = line::dec_u64(micros)
            .filter(|_| micros.len() <= 6)
            .and_then(|m| i64::try_from(m).ok())
            .ok_or("event timestamp fraction has more than six digits")?;
        let exponent = u32::try_from(6 - micros.len()).unwrap_or(0);
        let total = seconds
            .checked_mul(1_000_000)
            .and_then(|s| s.checked_add(fraction * 10i64.pow(exponent)))
            .ok_or("event timestamp out of range")?;
        timestamp = Some(Timestamp(total));
        at = 1;
    }
    let kind = match tokens.get(at).copied() {
        Some("[NEW]") => EventKind::New,
        Some("[UPDATE]") => EventKind::Update,
        Some("[DESTROY]") => EventKind::Destroy,
        _ if timestamp.is_some() => return Err("timestamp without an event tag".to_owned()),
        _ => return Ok(None),
    };
    Ok(Some((kind, timestamp, at + 1)))
}

/// `conntrack v1.4.6 (conntrack-tools): 2 flow entries have been shown.`
fn summary_line(text: &str, line: usize) -> Option<Summary> {
    let rest = text.strip_prefix("conntrack v")?;
    let (version, rest) = rest.split_once(" (conntrack-tools): ")?;
    let (count, rest) = rest.split_once(' ')?;
    let rest = rest
        .strip_prefix("flow entries have been ")
        .or_else(|| rest.strip_prefix("expectations have been "))?;
    let action = rest.strip_suffix('.')?;
    Some(Summary {
        line,
        version: version.to_owned(),
        count: line::dec_u64(count)?,
        action: action.to_owned(),
    })
}

/// `123` or `net.netfilter.nf_conntrack_count = 123`.
fn count_line(text: &str, line: usize) -> Option<CountLine> {
    if line::is_digits(text) {
        return Some(CountLine {
            line,
            key: None,
            value: line::dec_u64(text)?,
        });
    }
    let (key, value) = text.split_once('=')?;
    let key = key.trim();
    let value = value.trim();
    let is_key = key.contains('.')
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'/');
    if !is_key || !line::is_digits(value) {
        return None;
    }
    Some(CountLine {
        line,
        key: Some(key.to_owned()),
        value: line::dec_u64(value)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_count(input: &str, expect: Result<u64, &str>) {
        let got = parse_count(input).map_err(|error| error.to_string());
        assert_eq!(got, expect.map_err(str::to_owned));
    }

    #[test]
    fn counts() {
        check_count("123\n", Ok(123));
        check_count("  65536  ", Ok(65536));
        check_count("net.netfilter.nf_conntrack_count = 77", Ok(77));
        check_count("net.netfilter.nf_conntrack_max=262144\n", Ok(262_144));
        check_count("", Err("not a conntrack count: empty input"));
        check_count(
            "1\n2\n",
            Err("not a conntrack count: line 2: more than one non-blank line"),
        );
        check_count(
            "abc",
            Err("not a conntrack count: line 1: expected a number or `key = number`"),
        );
    }

    #[test]
    fn summaries() {
        let summary = summary_line(
            "conntrack v1.4.6 (conntrack-tools): 2 flow entries have been shown.",
            3,
        )
        .unwrap();
        assert_eq!(summary.version, "1.4.6");
        assert_eq!(summary.count, 2);
        assert_eq!(summary.action, "shown");
        assert!(summary_line("conntrack v1.4.6 something", 1).is_none());
    }

    #[test]
    fn not_conntrack() {
        assert_eq!(
            parse("hello world\n").unwrap_err(),
            Error::NotConntrack {
                line: 1,
                reason: "unrecognised line starting with `hello`".to_owned()
            }
        );
        assert!(parse("").unwrap().value.table.is_empty());
    }

    #[test]
    fn proc_stat_rows_and_counts() {
        let dump = parse("entries  searched\n0000000a  00000002\n42\n00000001\n")
            .unwrap()
            .value;
        let stats = dump.stats.unwrap();
        assert_eq!(stats.cpus.len(), 1);
        assert_eq!(stats.total("entries"), Some(10));
        let counts: Vec<u64> = dump.counts.iter().map(|count| count.value).collect();
        assert_eq!(counts, [42, 1]);
        assert!(dump.unparsed.is_empty());
    }

    #[test]
    fn entry_is_compact() {
        assert_eq!(std::mem::size_of::<Entry>(), 144);
    }
}
