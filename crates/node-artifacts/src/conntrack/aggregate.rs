//! Streaming aggregation: the facts an analysis needs from a very large
//! table, without keeping its entries.
//!
//! A key design decision is the **shallow scan with a full fallback**. For a
//! flow line in the usual shape, the scanner reads only the tokens it counts
//! (protocol, state, the original addresses and ports, `[UNREPLIED]`, the
//! reply's source and destination) and stops at the reply tuple's ports; the
//! rest of the line is not looked at. Any line the scanner does not
//! recognise at once (events, statistics, odd field orders, broken lines) goes
//! through the full line parser, so every form [`super::parse`] reads is
//! counted the same way. The price of speed: a flow line whose *tail* is
//! malformed (for example `use=x` after a valid reply tuple) is counted here
//! while [`super::parse`] keeps it as unparsed. Use [`super::parse`] when
//! validation of every byte matters.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use serde::Serialize;

use crate::diag::{Parsed, Unparsed, numbered_lines};

use super::index::ranked;
use super::line::{dec_u8, dec_u16, dec_u32, ip, is_digits, is_state_word};
use super::model::{ConntrackStats, CountLine, Endpoint, Entry, Protocol, Section, State, Summary};
use super::{Line, LineParser};

/// How many top destinations and sources [`aggregate`] keeps.
pub const DEFAULT_TOP: usize = 20;

/// Counts over a conntrack table, computed without keeping its entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConntrackAggregate {
    /// The number of flow entries.
    pub total: u64,
    /// Entries by protocol.
    pub by_protocol: BTreeMap<Protocol, u64>,
    /// Entries by state (entries without a state are not counted).
    pub by_state: BTreeMap<State, u64>,
    /// `[UNREPLIED]` entries.
    pub unreplied: u64,
    /// NATed entries (see [`Entry::is_nat`]).
    pub nat: u64,
    /// The busiest original destinations (address and port), busiest first.
    pub top_destinations: Vec<(Endpoint, u64)>,
    /// The busiest original source addresses, busiest first.
    pub top_sources: Vec<(Endpoint, u64)>,
    /// The number of distinct original destinations.
    pub distinct_destinations: u64,
    /// The number of distinct original source addresses.
    pub distinct_sources: u64,
    /// `conntrack -E` event lines seen (not counted as entries).
    pub events: u64,
    /// Expectation lines seen.
    pub expectations: u64,
    /// Statistics rows, as [`super::parse`] returns them.
    pub stats: Option<ConntrackStats>,
    /// Single-number lines.
    pub counts: Vec<CountLine>,
    /// `*** Output of … ***` headers.
    pub sections: Vec<Section>,
    /// `conntrack -L` trailers.
    pub summaries: Vec<Summary>,
    /// Lines that were not understood.
    pub unparsed: Vec<Unparsed>,
}

/// Aggregates `input`, keeping the [`DEFAULT_TOP`] busiest endpoints.
pub fn aggregate(input: &str) -> Parsed<ConntrackAggregate> {
    aggregate_top(input, DEFAULT_TOP)
}

/// Aggregates `input`, keeping the `top` busiest destinations and sources.
pub fn aggregate_top(input: &str, top: usize) -> Parsed<ConntrackAggregate> {
    let mut acc = Accumulator::default();
    let mut parser = LineParser::new(input);
    let mut stats: Option<ConntrackStats> = None;
    let mut counts = Vec::new();
    let mut sections = Vec::new();
    let mut summaries = Vec::new();
    let mut unparsed = Vec::new();
    let mut events = 0;
    let mut expectations = 0;
    for (line_no, raw) in numbered_lines(input) {
        if let Some(scan) = scan(raw) {
            acc.add_scan(&scan);
            continue;
        }
        let Some(kind) = parser.line(line_no, raw) else {
            continue;
        };
        match kind {
            Line::Entry(entry) => acc.add_entry(&entry),
            Line::Event(_) => events += 1,
            Line::Expectation(_) => expectations += 1,
            Line::Stats(row) => stats.get_or_insert_with(Default::default).cpus.push(row),
            Line::StatsHeader(header) => {
                stats.get_or_insert_with(Default::default).header = Some(header);
            }
            Line::Count(count) => counts.push(count),
            Line::Section(section) => sections.push(section),
            Line::Summary(summary) => summaries.push(summary),
            Line::Unparsed { reason, .. } => unparsed.push(Unparsed {
                line: line_no,
                raw: raw.to_owned(),
                reason,
            }),
        }
    }
    if let Some(stats) = &mut stats {
        stats.recompute_totals();
    }
    let distinct_destinations = acc.destinations.len() as u64;
    let distinct_sources = acc.sources.len() as u64;
    let mut top_destinations = ranked(acc.destinations.into_iter().collect());
    top_destinations.truncate(top);
    let mut top_sources = ranked(acc.sources.into_iter().collect());
    top_sources.truncate(top);
    let by_protocol = (0..=255u8)
        .filter(|&number| acc.by_protocol[usize::from(number)] > 0)
        .map(|number| {
            (
                Protocol::from_number(number),
                acc.by_protocol[usize::from(number)],
            )
        })
        .collect();
    let mut by_state = BTreeMap::new();
    for (name, count) in acc.by_state_name {
        *by_state.entry(State::from_name(name)).or_insert(0) += count;
    }
    for (state, count) in acc.by_state {
        *by_state.entry(state).or_insert(0) += count;
    }
    let diagnostics = unparsed.iter().map(Unparsed::diagnostic).collect();
    Parsed {
        value: ConntrackAggregate {
            total: acc.total,
            by_protocol,
            by_state,
            unreplied: acc.unreplied,
            nat: acc.nat,
            top_destinations,
            top_sources,
            distinct_destinations,
            distinct_sources,
            events,
            expectations,
            stats,
            counts,
            sections,
            summaries,
            unparsed,
        },
        diagnostics,
    }
}

type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

struct Accumulator<'a> {
    total: u64,
    by_protocol: [u64; 256],
    by_state_name: FastMap<&'a str, u64>,
    by_state: BTreeMap<State, u64>,
    unreplied: u64,
    nat: u64,
    destinations: FastMap<Endpoint, u64>,
    sources: FastMap<Endpoint, u64>,
}

impl Default for Accumulator<'_> {
    fn default() -> Self {
        Self {
            total: 0,
            by_protocol: [0; 256],
            by_state_name: FastMap::default(),
            by_state: BTreeMap::new(),
            unreplied: 0,
            nat: 0,
            destinations: FastMap::default(),
            sources: FastMap::default(),
        }
    }
}

impl<'a> Accumulator<'a> {
    fn add_scan(&mut self, scan: &Scan<'a>) {
        self.total += 1;
        self.by_protocol[usize::from(scan.protocol.number())] += 1;
        if let Some(state) = scan.state {
            *self.by_state_name.entry(state).or_insert(0) += 1;
        }
        self.unreplied += u64::from(scan.unreplied);
        self.nat += u64::from(scan.nat);
        *self.destinations.entry(scan.destination).or_insert(0) += 1;
        *self.sources.entry(scan.source).or_insert(0) += 1;
    }

    fn add_entry(&mut self, entry: &Entry) {
        self.total += 1;
        self.by_protocol[usize::from(entry.protocol.number())] += 1;
        if let Some(state) = &entry.state {
            *self.by_state.entry(*state).or_insert(0) += 1;
        }
        self.unreplied += u64::from(entry.flags.unreplied);
        self.nat += u64::from(entry.is_nat());
        *self.destinations.entry(entry.destination()).or_insert(0) += 1;
        *self.sources.entry(entry.source()).or_insert(0) += 1;
    }
}

/// What the shallow scan extracts from a flow line.
struct Scan<'a> {
    protocol: Protocol,
    state: Option<&'a str>,
    destination: Endpoint,
    source: Endpoint,
    unreplied: bool,
    nat: bool,
}

/// Scans a flow line in its usual shape; `None` sends it to the full parser.
fn scan(raw: &str) -> Option<Scan<'_>> {
    // Tabs only occur in statistics rows and timestamped events.
    if memchr::memchr(b'\t', raw.as_bytes()).is_some() {
        return None;
    }
    let mut tokens = raw.split(' ').filter(|token| !token.is_empty());
    let mut token = tokens.next()?;
    if token == "ipv4" || token == "ipv6" {
        let _number = tokens.next()?;
        token = tokens.next()?;
    }
    let protocol = Protocol::from_number(dec_u8(tokens.next()?)?);
    // Only the port protocols take the fast path; others are rare.
    if !protocol.has_ports() || protocol.name() != token {
        return None;
    }
    token = tokens.next()?;
    if is_digits(token) {
        dec_u32(token)?;
        token = tokens.next()?;
    }
    let mut state = None;
    if is_state_word(token) {
        state = Some(token);
        token = tokens.next()?;
    }
    let orig_src_text = token.strip_prefix("src=")?;
    let orig_dst_text = tokens.next()?.strip_prefix("dst=")?;
    let orig_sport = dec_u16(tokens.next()?.strip_prefix("sport=")?)?;
    let orig_dport = dec_u16(tokens.next()?.strip_prefix("dport=")?)?;
    let mut unreplied = false;
    let reply_src_text = loop {
        let token = tokens.next()?;
        if let Some(text) = token.strip_prefix("src=") {
            break text;
        }
        match token.split_once('=') {
            Some(("packets" | "bytes" | "zone-orig", _)) => {}
            None if token == "[UNREPLIED]" => unreplied = true,
            _ => return None,
        }
    };
    let reply_dst_text = tokens.next()?.strip_prefix("dst=")?;
    let reply_sport = dec_u16(tokens.next()?.strip_prefix("sport=")?)?;
    let reply_dport = dec_u16(tokens.next()?.strip_prefix("dport=")?)?;
    let orig_src: IpAddr = ip(orig_src_text)?;
    let orig_dst: IpAddr = ip(orig_dst_text)?;
    // The reply's addresses are validated too, but only parsed when their
    // text differs from the original's (NATed flows).
    if reply_src_text != orig_dst_text {
        ip(reply_src_text)?;
    }
    if reply_dst_text != orig_src_text {
        ip(reply_dst_text)?;
    }
    // Comparing the reply's address text with the original's avoids parsing
    // two more addresses; one printer writes one address one way.
    let nat = reply_src_text != orig_dst_text
        || reply_dst_text != orig_src_text
        || reply_sport != orig_dport
        || reply_dport != orig_sport;
    Some(Scan {
        protocol,
        state,
        destination: Endpoint {
            addr: orig_dst,
            port: Some(orig_dport),
        },
        source: Endpoint {
            addr: orig_src,
            port: None,
        },
        unreplied,
        nat,
    })
}
