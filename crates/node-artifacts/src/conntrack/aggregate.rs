//! Streaming aggregation: the facts an analysis needs from a very large
//! table, without keeping its entries.
//!
//! A key design decision is the **shallow scan with a full fallback**, in
//! three tiers:
//!
//! 1. an IPv4 TCP/UDP line exactly as the default printer writes it goes
//!    through a one-pass cursor that parses addresses and ports while it
//!    scans them (the overwhelming majority of a real table);
//! 2. any other TCP/UDP/UDP-Lite/SCTP/DCCP line in the usual field order
//!    (IPv6, extra blanks) goes through a word-by-word scan;
//! 3. everything else (events, statistics, ICMP, GRE, odd field orders,
//!    broken lines) goes through the full line parser that [`super::parse`]
//!    uses, so every form is counted the same way.
//!
//! The fast tiers read only the fields they count (protocol, state, the
//! original addresses and ports, `[UNREPLIED]`, the reply's addresses and
//! ports, all validated) and stop after the reply tuple's ports. The price of
//! speed: a flow line whose *tail* is malformed (for example `use=1 use=2`
//! after a valid reply tuple) is counted here while [`super::parse`] keeps it
//! as unparsed. Use [`super::parse`] when validation of every byte matters.
//! Tests pin the agreement of both on every fixture, on generated tables and
//! on lines mangled at every position.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use serde::Serialize;

use crate::diag::{Parsed, Unparsed};

use super::index::{FastMap, ranked};
use super::line::{dec_u8, dec_u16, dec_u32, dec_u64, ip, is_digits, is_state_word};
use super::model::{
    ConntrackStats, CountLine, Endpoint, Entry, Protocol, STATES, Section, State, Summary,
};
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
    let mut parser = LineParser::new();
    let mut stats: Option<ConntrackStats> = None;
    let mut counts = Vec::new();
    let mut sections = Vec::new();
    let mut summaries = Vec::new();
    let mut unparsed = Vec::new();
    let mut events = 0;
    let mut expectations = 0;
    for (line_no, raw) in lines(input) {
        if scan_ipv4(raw, &mut acc).is_some() || scan(raw, &mut acc).is_some() {
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
    let by_state = STATES
        .iter()
        .filter(|state| acc.by_state[**state as usize] > 0)
        .map(|state| (*state, acc.by_state[*state as usize]))
        .collect();
    let total = acc.total;
    let unreplied = acc.unreplied;
    let nat = acc.nat;
    let by_protocol_counts = acc.by_protocol;
    let (destinations, sources) = acc.merged();
    let distinct_destinations = destinations.len() as u64;
    let distinct_sources = sources.len() as u64;
    let mut top_destinations = ranked(destinations);
    top_destinations.truncate(top);
    let mut top_sources = ranked(sources);
    top_sources.truncate(top);
    let by_protocol = (0..=255u8)
        .filter(|&number| by_protocol_counts[usize::from(number)] > 0)
        .map(|number| {
            (
                Protocol::from_number(number),
                by_protocol_counts[usize::from(number)],
            )
        })
        .collect();
    let diagnostics = unparsed.iter().map(Unparsed::diagnostic).collect();
    Parsed {
        value: ConntrackAggregate {
            total,
            by_protocol,
            by_state,
            unreplied,
            nat,
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

/// The same lines as [`crate::diag::numbered_lines`], found with the
/// `memchr` crate's vectorised iterator, which beats `str::split` here.
fn lines(input: &str) -> impl Iterator<Item = (usize, &str)> {
    let bytes = input.as_bytes();
    let mut ends = memchr::memchr_iter(b'\n', bytes).chain(std::iter::once(bytes.len()));
    let mut start = 0;
    let mut line_no = 0;
    std::iter::from_fn(move || {
        let end = ends.next()?;
        if end == bytes.len() && start == end {
            return None;
        }
        line_no += 1;
        // Both ends are at `\n` or the end of input, so on char boundaries.
        let line = input.get(start..end)?;
        start = end + 1;
        Some((line_no, line.strip_suffix('\r').unwrap_or(line)))
    })
}

/// Number of [`State`] variants, for counting by discriminant.
const N_STATES: usize = State::Other as usize + 1;

/// Counters keyed for speed: IPv4 endpoints packed into a `u64`
/// (`flag << 48 | addr << 16 | port`), other endpoints as they are.
struct Accumulator {
    total: u64,
    by_protocol: [u64; 256],
    by_state: [u64; N_STATES],
    unreplied: u64,
    nat: u64,
    destinations_v4: FastMap<u64, u64>,
    sources_v4: FastMap<u32, u64>,
    destinations: FastMap<Endpoint, u64>,
    sources: FastMap<Endpoint, u64>,
}

impl Default for Accumulator {
    fn default() -> Self {
        Self {
            total: 0,
            by_protocol: [0; 256],
            by_state: [0; N_STATES],
            unreplied: 0,
            nat: 0,
            destinations_v4: FastMap::default(),
            sources_v4: FastMap::default(),
            destinations: FastMap::default(),
            sources: FastMap::default(),
        }
    }
}

impl Accumulator {
    fn add(
        &mut self,
        protocol: Protocol,
        state: Option<State>,
        destination: Endpoint,
        source: IpAddr,
        unreplied: bool,
        nat: bool,
    ) {
        self.total += 1;
        self.by_protocol[usize::from(protocol.number())] += 1;
        if let Some(state) = state {
            self.by_state[state as usize] += 1;
        }
        self.unreplied += u64::from(unreplied);
        self.nat += u64::from(nat);
        match destination.addr {
            IpAddr::V4(addr) => {
                let port = destination
                    .port
                    .map_or(0, |port| (1u64 << 48) | u64::from(port));
                *self
                    .destinations_v4
                    .entry((u64::from(addr.to_bits()) << 16) | port)
                    .or_insert(0) += 1;
            }
            IpAddr::V6(_) => *self.destinations.entry(destination).or_insert(0) += 1,
        }
        match source {
            IpAddr::V4(addr) => *self.sources_v4.entry(addr.to_bits()).or_insert(0) += 1,
            IpAddr::V6(_) => {
                *self
                    .sources
                    .entry(Endpoint {
                        addr: source,
                        port: None,
                    })
                    .or_insert(0) += 1;
            }
        }
    }

    fn add_entry(&mut self, entry: &Entry) {
        self.add(
            entry.protocol,
            entry.state,
            entry.destination(),
            entry.original.src,
            entry.flags.unreplied,
            entry.is_nat(),
        );
    }

    /// Unpacks the IPv4 keys into the general maps.
    fn merged(mut self) -> (FastMap<Endpoint, u64>, FastMap<Endpoint, u64>) {
        for (key, count) in self.destinations_v4 {
            let addr = IpAddr::V4(Ipv4Addr::from_bits((key >> 16) as u32));
            let port = (key & (1 << 48) != 0).then_some((key & 0xffff) as u16);
            *self
                .destinations
                .entry(Endpoint { addr, port })
                .or_insert(0) += count;
        }
        for (addr, count) in self.sources_v4 {
            let addr = IpAddr::V4(Ipv4Addr::from_bits(addr));
            *self
                .sources
                .entry(Endpoint { addr, port: None })
                .or_insert(0) += count;
        }
        (self.destinations, self.sources)
    }
}

/// Splits on single spaces, skipping runs of them, without `str::split`'s
/// per-token searcher overhead.
struct Words<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Words<'a> {
    #[inline(always)]
    fn next(&mut self) -> Option<&'a str> {
        let bytes = self.text.as_bytes();
        let mut at = self.at;
        while at < bytes.len() && bytes[at] == b' ' {
            at += 1;
        }
        if at >= bytes.len() {
            return None;
        }
        let start = at;
        while at < bytes.len() && bytes[at] > b' ' {
            at += 1;
        }
        // A tab or control byte means another form (statistics rows,
        // timestamped events): leave the line to the full parser.
        if at < bytes.len() && bytes[at] != b' ' {
            self.at = bytes.len();
            return None;
        }
        self.at = at;
        self.text.get(start..at)
    }

    /// The next word with `key=` removed; `None` if the word is another key.
    #[inline(always)]
    fn value(&mut self, key: &str) -> Option<&'a str> {
        let word = self.next()?;
        let rest = word.strip_prefix(key)?;
        rest.strip_prefix('=')
    }
}

/// A cursor over a line's bytes for [`scan_ipv4`].
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    #[inline(always)]
    fn literal(&mut self, literal: &[u8]) -> bool {
        let found = self.bytes[self.at..].starts_with(literal);
        if found {
            self.at += literal.len();
        }
        found
    }

    #[inline(always)]
    fn blanks(&mut self) {
        while self.bytes.get(self.at) == Some(&b' ') {
            self.at += 1;
        }
    }

    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// A decimal number of at most `max_digits` digits, no leading zeros
    /// check needed (the printer writes none, and `0` is one digit).
    #[inline(always)]
    fn number(&mut self, max_digits: usize) -> Option<u64> {
        let start = self.at;
        let mut value: u64 = 0;
        while let Some(digit) = self
            .peek()
            .map(|b| b.wrapping_sub(b'0'))
            .filter(|d| *d <= 9)
        {
            value = value.checked_mul(10)?.checked_add(u64::from(digit))?;
            self.at += 1;
            if self.at - start > max_digits {
                return None;
            }
        }
        (self.at > start).then_some(value)
    }

    #[inline(always)]
    fn port(&mut self) -> Option<u16> {
        self.number(5).and_then(|value| u16::try_from(value).ok())
    }

    /// A dotted quad, parsed while it is scanned; the same rules as
    /// `line::ip` (no leading zeros, octets up to 255).
    #[inline(always)]
    fn ipv4(&mut self) -> Option<u32> {
        let mut addr: u32 = 0;
        for octet in 0..4 {
            if octet > 0 && !self.literal(b".") {
                return None;
            }
            let start = self.at;
            let value = self.number(3)?;
            if value > 255 || (self.at - start > 1 && self.bytes[start] == b'0') {
                return None;
            }
            addr = (addr << 8) | value as u32;
        }
        Some(addr)
    }

    /// The rest of the current word.
    #[inline(always)]
    fn word(&mut self) -> &[u8] {
        let start = self.at;
        while self.peek().is_some_and(|b| b > b' ') {
            self.at += 1;
        }
        &self.bytes[start..self.at]
    }
}

/// The fastest path: an IPv4 TCP or UDP line exactly as the default printer
/// writes it (single blanks between fields). Addresses and ports are parsed
/// while they are scanned, in one pass; anything unexpected returns `None`
/// and the line goes to [`scan`].
fn scan_ipv4(raw: &str, acc: &mut Accumulator) -> Option<()> {
    let mut cursor = Cursor {
        bytes: raw.as_bytes(),
        at: 0,
    };
    if cursor.literal(b"ipv4 ") {
        cursor.blanks();
        if !cursor.literal(b"2 ") {
            return None;
        }
    }
    let protocol = if cursor.literal(b"tcp ") {
        Protocol::Tcp
    } else if cursor.literal(b"udp ") {
        Protocol::Udp
    } else {
        return None;
    };
    cursor.blanks();
    if cursor.number(3)? != u64::from(protocol.number()) || !cursor.literal(b" ") {
        return None;
    }
    if cursor.peek()?.is_ascii_digit() {
        u32::try_from(cursor.number(10)?).ok()?;
        if !cursor.literal(b" ") {
            return None;
        }
    }
    let mut state = None;
    if cursor.peek()?.is_ascii_uppercase() {
        let word = std::str::from_utf8(cursor.word()).ok()?;
        let known = State::from_name(word);
        if !is_state_word(word) || known == State::Other || !cursor.literal(b" ") {
            return None;
        }
        state = Some(known);
    }
    if !cursor.literal(b"src=") {
        return None;
    }
    let orig_src = cursor.ipv4()?;
    if !cursor.literal(b" dst=") {
        return None;
    }
    let orig_dst = cursor.ipv4()?;
    if !cursor.literal(b" sport=") {
        return None;
    }
    let orig_sport = cursor.port()?;
    if !cursor.literal(b" dport=") {
        return None;
    }
    let orig_dport = cursor.port()?;
    if !cursor.literal(b" ") {
        return None;
    }
    // Between the tuples the printer writes, in this order and each at most
    // once: `zone-orig=`, `packets= bytes=`, `[UNREPLIED]`. Any other shape
    // goes to the slower tiers, which decide exactly as the full parser.
    if cursor.literal(b"zone-orig=") && (cursor.port().is_none() || !cursor.literal(b" ")) {
        return None;
    }
    if cursor.literal(b"packets=") {
        cursor.number(20)?;
        if !cursor.literal(b" bytes=") {
            return None;
        }
        cursor.number(20)?;
        if !cursor.literal(b" ") {
            return None;
        }
    }
    let unreplied = cursor.literal(b"[UNREPLIED] ");
    if !cursor.literal(b"src=") {
        return None;
    }
    let reply_src = cursor.ipv4()?;
    if !cursor.literal(b" dst=") {
        return None;
    }
    let reply_dst = cursor.ipv4()?;
    if !cursor.literal(b" sport=") {
        return None;
    }
    let reply_sport = cursor.port()?;
    if !cursor.literal(b" dport=") {
        return None;
    }
    let reply_dport = cursor.port()?;
    if cursor.peek().is_some_and(|b| b != b' ') {
        return None;
    }
    let nat = reply_src != orig_dst
        || reply_dst != orig_src
        || reply_sport != orig_dport
        || reply_dport != orig_sport;
    acc.add(
        protocol,
        state,
        Endpoint {
            addr: IpAddr::V4(Ipv4Addr::from_bits(orig_dst)),
            port: Some(orig_dport),
        },
        IpAddr::V4(Ipv4Addr::from_bits(orig_src)),
        unreplied,
        nat,
    );
    Some(())
}

/// Scans a flow line in its usual shape; `None` sends it to the full parser.
fn scan(raw: &str, acc: &mut Accumulator) -> Option<()> {
    let mut words = Words { text: raw, at: 0 };
    let mut word = words.next()?;
    let family_number = match word {
        "ipv4" => Some("2"),
        "ipv6" => Some("10"),
        _ => None,
    };
    if let Some(expected) = family_number {
        if words.next()? != expected {
            return None;
        }
        word = words.next()?;
    }
    let protocol = Protocol::from_number(dec_u8(words.next()?)?);
    // Only the port protocols take the fast path; others are rare.
    if !protocol.has_ports() || protocol.name() != word {
        return None;
    }
    word = words.next()?;
    if is_digits(word) {
        dec_u32(word)?;
        word = words.next()?;
    }
    let mut state = None;
    if is_state_word(word) {
        let known = State::from_name(word);
        // Unknown names keep their text, which only the full parser stores.
        if known == State::Other {
            return None;
        }
        state = Some(known);
        word = words.next()?;
    }
    let orig_src_text = word.strip_prefix("src=")?;
    let orig_dst_text = words.value("dst")?;
    let orig_sport = dec_u16(words.value("sport")?)?;
    let orig_dport = dec_u16(words.value("dport")?)?;
    // The same order rule as in `scan_ipv4`, values validated.
    let mut word = words.next()?;
    if let Some(zone) = word.strip_prefix("zone-orig=") {
        dec_u16(zone)?;
        word = words.next()?;
    }
    if let Some(packets) = word.strip_prefix("packets=") {
        dec_u64(packets)?;
        dec_u64(words.value("bytes")?)?;
        word = words.next()?;
    }
    let unreplied = word == "[UNREPLIED]";
    if unreplied {
        word = words.next()?;
    }
    let reply_src_text = word.strip_prefix("src=")?;
    let reply_dst_text = words.value("dst")?;
    let reply_sport = dec_u16(words.value("sport")?)?;
    let reply_dport = dec_u16(words.value("dport")?)?;
    let orig_src = ip(orig_src_text)?;
    let orig_dst = ip(orig_dst_text)?;
    // The reply's addresses are validated too, but only parsed when their
    // text differs from the original's (NATed flows): one printer writes one
    // address one way.
    if reply_src_text != orig_dst_text {
        ip(reply_src_text)?;
    }
    if reply_dst_text != orig_src_text {
        ip(reply_dst_text)?;
    }
    let nat = reply_src_text != orig_dst_text
        || reply_dst_text != orig_src_text
        || reply_sport != orig_dport
        || reply_dport != orig_sport;
    acc.add(
        protocol,
        state,
        Endpoint {
            addr: orig_dst,
            port: Some(orig_dport),
        },
        orig_src,
        unreplied,
        nat,
    );
    Some(())
}

#[cfg(test)]
mod tests {
    use super::lines;
    use crate::diag::numbered_lines;

    #[test]
    fn lines_match_numbered_lines() {
        for input in [
            "", "\n", "a", "a\n", "a\r\nb", "a\n\nb\n", "\r\n\r\n", "é\nü",
        ] {
            let ours: Vec<_> = lines(input).collect();
            let shared: Vec<_> = numbered_lines(input).collect();
            assert_eq!(ours, shared, "{input:?}");
        }
    }
}
