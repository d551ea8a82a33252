//! The flow table and its lazily built indexes.
//!
//! Indexes are built once, on the first query that needs them, and then
//! shared by every later query: parsing stays as cheap as possible for callers
//! that only want the entries, and an analysis that asks many questions pays
//! for one pass. Postings are `u32` positions into [`ConntrackTable::entries`]
//! in compressed-sparse-row form (one offsets array plus one postings array),
//! which costs about 4 bytes per (entry, distinct address) pair instead of a
//! `Vec` per key.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;
use std::sync::OnceLock;

use serde::{Serialize, Serializer};

use super::model::{Endpoint, Entry, Protocol, State};

/// The flow entries of a dump, with derived facts and indexes.
#[derive(Clone, Default)]
pub struct ConntrackTable {
    /// The entries in input order.
    pub entries: Vec<Entry>,
    index: OnceLock<TableIndex>,
}

#[derive(Debug, Clone)]
struct TableIndex {
    by_protocol: BTreeMap<Protocol, u64>,
    by_state: BTreeMap<State, u64>,
    unreplied: u64,
    /// Original destinations (address and port) by descending count.
    destinations: Vec<(Endpoint, u64)>,
    /// Original source addresses by descending count.
    sources: Vec<(Endpoint, u64)>,
    /// Address → range of `addr_postings`.
    by_addr: FastMap<IpAddr, (u32, u32)>,
    addr_postings: Vec<u32>,
    /// `port_offsets[p]..port_offsets[p + 1]` is the range of `port_postings`
    /// for port `p`.
    port_offsets: Vec<u32>,
    port_postings: Vec<u32>,
}

impl ConntrackTable {
    /// A table over `entries`.
    pub fn new(entries: Vec<Entry>) -> Self {
        Self {
            entries,
            index: OnceLock::new(),
        }
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entry counts by protocol.
    pub fn counts_by_protocol(&self) -> &BTreeMap<Protocol, u64> {
        &self.index().by_protocol
    }

    /// Entry counts by state (entries without a state are not counted).
    pub fn counts_by_state(&self) -> &BTreeMap<State, u64> {
        &self.index().by_state
    }

    /// The number of `[UNREPLIED]` entries.
    pub fn unreplied_count(&self) -> u64 {
        self.index().unreplied
    }

    /// The `n` busiest original destinations (address and port) with their
    /// entry counts, busiest first, ties broken by endpoint order.
    pub fn top_destinations(&self, n: usize) -> &[(Endpoint, u64)] {
        let all = &self.index().destinations;
        &all[..n.min(all.len())]
    }

    /// The `n` busiest original source addresses with their entry counts.
    pub fn top_sources(&self, n: usize) -> &[(Endpoint, u64)] {
        let all = &self.index().sources;
        &all[..n.min(all.len())]
    }

    /// Entries where `addr` appears in either tuple, in input order.
    pub fn entries_for_addr(&self, addr: IpAddr) -> impl Iterator<Item = &Entry> + '_ {
        let index = self.index();
        let postings = match index.by_addr.get(&addr) {
            Some(&(start, end)) => &index.addr_postings[start as usize..end as usize],
            None => &[],
        };
        postings
            .iter()
            .map(|&position| &self.entries[position as usize])
    }

    /// Entries where `port` appears as a source or destination port in
    /// either tuple, in input order.
    pub fn entries_for_port(&self, port: u16) -> impl Iterator<Item = &Entry> + '_ {
        let index = self.index();
        let start = index.port_offsets[usize::from(port)] as usize;
        let end = index.port_offsets[usize::from(port) + 1] as usize;
        index.port_postings[start..end]
            .iter()
            .map(|&position| &self.entries[position as usize])
    }

    /// The table in `conntrack -L` format, one entry per line.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(self.entries.len() * 160);
        for entry in &self.entries {
            use fmt::Write;
            // Writing into a String cannot fail.
            let _ = writeln!(out, "{entry}");
        }
        out
    }

    /// Builds the table's indexes now instead of on the first query (a
    /// caller with an idle thread, such as the snapshot builder, uses this).
    pub fn build_indexes(&self) {
        self.index();
    }

    fn index(&self) -> &TableIndex {
        self.index.get_or_init(|| TableIndex::build(&self.entries))
    }
}

impl TableIndex {
    fn build(entries: &[Entry]) -> Self {
        let mut by_protocol = BTreeMap::new();
        let mut by_state = BTreeMap::new();
        let mut unreplied = 0;
        let mut destinations: FastMap<Endpoint, u64> = FastMap::default();
        let mut sources: FastMap<Endpoint, u64> = FastMap::default();
        // Counts first (`(0, count)`), turned into ranges in place below, so
        // the build never holds a second map.
        let mut by_addr: FastMap<IpAddr, (u32, u32)> = FastMap::default();
        let mut port_counts = vec![0u32; 65_537];
        for entry in entries {
            *by_protocol.entry(entry.protocol).or_insert(0) += 1;
            if let Some(state) = &entry.state {
                *by_state.entry(*state).or_insert(0) += 1;
            }
            unreplied += u64::from(entry.flags.unreplied);
            *destinations.entry(entry.destination()).or_insert(0) += 1;
            *sources.entry(entry.source()).or_insert(0) += 1;
            for addr in distinct_addrs(entry) {
                by_addr.entry(addr).or_insert((0, 0)).1 += 1;
            }
            for port in distinct_ports(entry) {
                port_counts[usize::from(port) + 1] += 1;
            }
        }

        // Turn counts into ranges, then fill the postings in entry order.
        let mut next = 0u32;
        for range in by_addr.values_mut() {
            let count = range.1;
            *range = (next, next);
            next += count;
        }
        let mut addr_postings = vec![0u32; next as usize];
        for port in 1..port_counts.len() {
            port_counts[port] += port_counts[port - 1];
        }
        let port_offsets = port_counts;
        let mut port_fill = port_offsets.clone();
        let mut port_postings = vec![0u32; port_offsets[65_536] as usize];
        for (position, entry) in entries.iter().enumerate() {
            let position = u32::try_from(position).unwrap_or(u32::MAX);
            for addr in distinct_addrs(entry) {
                if let Some((_, end)) = by_addr.get_mut(&addr) {
                    addr_postings[*end as usize] = position;
                    *end += 1;
                }
            }
            for port in distinct_ports(entry) {
                let slot = &mut port_fill[usize::from(port)];
                port_postings[*slot as usize] = position;
                *slot += 1;
            }
        }

        Self {
            by_protocol,
            by_state,
            unreplied,
            destinations: ranked(destinations),
            sources: ranked(sources),
            by_addr,
            addr_postings,
            port_offsets,
            port_postings,
        }
    }
}

/// A hash map with foldhash's fast, fixed-seed hasher: keys are addresses
/// from the input, not attacker-chosen in a way that matters for a one-shot
/// parse, and a fixed seed keeps runs reproducible.
pub(crate) type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// Counts sorted by descending count, then ascending key, for stable output.
pub(crate) fn ranked(counts: FastMap<Endpoint, u64>) -> Vec<(Endpoint, u64)> {
    let mut ranked: Vec<(Endpoint, u64)> = counts.into_iter().collect();
    ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked
}

/// The distinct addresses of an entry's two tuples.
fn distinct_addrs(entry: &Entry) -> impl Iterator<Item = IpAddr> {
    let all = [
        entry.original.src,
        entry.original.dst,
        entry.reply.src,
        entry.reply.dst,
    ];
    (0..4).filter_map(move |i| (!all[..i].contains(&all[i])).then_some(all[i]))
}

/// The distinct ports of an entry's two tuples.
fn distinct_ports(entry: &Entry) -> impl Iterator<Item = u16> {
    let all = [
        entry.original.l4.sport(),
        entry.original.l4.dport(),
        entry.reply.l4.sport(),
        entry.reply.l4.dport(),
    ];
    (0..4).filter_map(move |i| match all[i] {
        Some(port) if !all[..i].contains(&Some(port)) => Some(port),
        _ => None,
    })
}

impl fmt::Debug for ConntrackTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConntrackTable")
            .field("entries", &self.entries)
            .finish_non_exhaustive()
    }
}

impl PartialEq for ConntrackTable {
    /// Tables are equal when their entries are; indexes are derived.
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries
    }
}

impl Eq for ConntrackTable {}

impl Serialize for ConntrackTable {
    /// Serializes the entries only; indexes are derived data.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut state = serializer.serialize_struct("ConntrackTable", 1)?;
        state.serialize_field("entries", &self.entries)?;
        state.end()
    }
}
