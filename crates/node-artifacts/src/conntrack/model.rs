//! The typed conntrack model: flow entries, events, expectations, statistics.
//!
//! A key design decision is the **compact [`Entry`]**: a busy node holds up to
//! a million flows, so an entry stores no `String` in the common case. Fields
//! every `conntrack -L` line carries (protocol, timeout, state, both tuples,
//! flags, `mark`, `use`, `id`) live inline; accounting counters and rare
//! attributes (`secctx`, zones, `labels`, `helper`, timestamps, unknown
//! `key=value` pairs) live behind one `Option<Box<…>>` each, which costs
//! eight bytes when absent. An entry is 144 bytes on 64-bit targets (pinned by
//! a test), so a million entries fit in about 137 MiB, less than the text they
//! came from.

use std::fmt;
use std::net::IpAddr;

use serde::{Serialize, Serializer};

use crate::diag::Unparsed;
use crate::time::Timestamp;

use super::index::ConntrackTable;

/// Everything one conntrack artifact holds, in input order per kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConntrackDump {
    /// The flow entries (`conntrack -L`, `/proc/net/nf_conntrack`), with
    /// lazily built indexes.
    pub table: ConntrackTable,
    /// `conntrack -E` event lines.
    pub events: Vec<Event>,
    /// Expectation lines (`conntrack -L expect`, `conntrackd -i exp`).
    pub expectations: Vec<Expectation>,
    /// `conntrack -S` and `/proc/net/stat/nf_conntrack` statistics.
    pub stats: Option<ConntrackStats>,
    /// Single numbers: `conntrack -C`, `nf_conntrack_count`, `nf_conntrack_max`
    /// files and `net.netfilter.nf_conntrack_*` sysctl lines.
    pub counts: Vec<CountLine>,
    /// `*** Output of … ***` headers of the EKS log bundle.
    pub sections: Vec<Section>,
    /// The `conntrack v1.4.x (conntrack-tools): N flow entries have been shown.`
    /// trailers.
    pub summaries: Vec<Summary>,
    /// Lines that were not understood, kept verbatim.
    pub unparsed: Vec<Unparsed>,
}

/// One flow: a `conntrack -L` or `/proc/net/nf_conntrack` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// 1-based input line (`u32` to keep the entry small).
    pub line: u32,
    /// The layer-3 prefix (`ipv4     2`), present with `-o extended` and in
    /// `/proc/net/nf_conntrack`.
    pub family: Option<Family>,
    /// The layer-4 protocol.
    pub protocol: Protocol,
    /// Seconds until the entry expires; absent in `conntrackd -i` output and
    /// for offloaded flows in `/proc`.
    pub timeout: Option<u32>,
    /// Protocol state, for TCP, SCTP and DCCP.
    pub state: Option<State>,
    /// The original-direction tuple (as the first packet was seen).
    pub original: Tuple,
    /// The reply-direction tuple (what a reply is expected to look like).
    pub reply: Tuple,
    /// `[UNREPLIED]`, `[ASSURED]`, `[OFFLOAD]`, `[HW_OFFLOAD]`.
    pub flags: Flags,
    /// `mark=`.
    pub mark: Option<u32>,
    /// `use=`, the reference count.
    pub use_count: Option<u32>,
    /// `id=` (with `-o id`).
    pub id: Option<u32>,
    /// Accounting counters (`packets= bytes=`), when `nf_conntrack_acct` is on.
    pub counters: Option<Box<FlowCounters>>,
    /// Rare attributes and unknown `key=value` pairs.
    pub extra: Option<Box<EntryExtra>>,
}

/// Rare entry attributes, stored out of line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EntryExtra {
    /// The printed state name when [`Entry::state`] is [`State::Other`].
    pub state_name: Option<String>,
    /// `secmark=`.
    pub secmark: Option<u32>,
    /// `secctx=`.
    pub secctx: Option<String>,
    /// `zone=`.
    pub zone: Option<u16>,
    /// `zone-orig=`.
    pub zone_orig: Option<u16>,
    /// `zone-reply=`.
    pub zone_reply: Option<u16>,
    /// `labels=` as printed (comma-separated label names or a bit mask).
    pub labels: Option<String>,
    /// `helper=`.
    pub helper: Option<String>,
    /// `delta-time=` seconds (with timestamps on).
    pub delta_time: Option<u64>,
    /// `[start=…]` as printed by `ctime(3)` in the collecting host's local time.
    pub start: Option<String>,
    /// `[stop=…]` as printed by `ctime(3)`.
    pub stop: Option<String>,
    /// Unknown `key=value` pairs, in input order.
    pub unknown: Vec<(String, String)>,
    /// Unknown bracketed words without their brackets, in input order
    /// (`active since 536s` from `conntrackd -i`).
    pub unknown_flags: Vec<String>,
}

/// The layer-3 protocol of the `-o extended` / `/proc` prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// `ipv4     2`.
    Ipv4,
    /// `ipv6     10`.
    Ipv6,
    /// Any other family, printed as `unknown  N`.
    Other(u16),
}

/// A layer-4 protocol, named as conntrack names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// `tcp 6`.
    Tcp,
    /// `udp 17`.
    Udp,
    /// `udplite 136`.
    UdpLite,
    /// `icmp 1`.
    Icmp,
    /// `icmpv6 58`.
    Icmpv6,
    /// `sctp 132`.
    Sctp,
    /// `dccp 33`.
    Dccp,
    /// `gre 47`.
    Gre,
    /// Any other protocol number, printed as `unknown  N`.
    Other(u8),
}

/// A TCP, SCTP or DCCP connection-tracking state as printed.
///
/// The protocols share one enum because their names overlap
/// (`ESTABLISHED`, `CLOSE_WAIT`); the entry's [`Protocol`] says which it is.
/// The enum is one byte: an unknown name is [`State::Other`] and its text is
/// kept in [`EntryExtra::state_name`] (see [`Entry::state_name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum State {
    /// `NONE`.
    None,
    /// `SYN_SENT`.
    SynSent,
    /// `SYN_RECV`.
    SynRecv,
    /// `ESTABLISHED`.
    Established,
    /// `FIN_WAIT`.
    FinWait,
    /// `CLOSE_WAIT`.
    CloseWait,
    /// `LAST_ACK`.
    LastAck,
    /// `TIME_WAIT`.
    TimeWait,
    /// `CLOSE`.
    Close,
    /// `LISTEN` (libnetfilter_conntrack's name for `SYN_SENT2`).
    Listen,
    /// `SYN_SENT2` (the kernel's name in `/proc`).
    SynSent2,
    /// `IGNORE`.
    Ignore,
    /// SCTP `CLOSED`.
    Closed,
    /// SCTP `COOKIE_WAIT`.
    CookieWait,
    /// SCTP `COOKIE_ECHOED`.
    CookieEchoed,
    /// SCTP `SHUTDOWN_SENT`.
    ShutdownSent,
    /// SCTP `SHUTDOWN_RECD`.
    ShutdownRecd,
    /// SCTP `SHUTDOWN_ACK_SENT`.
    ShutdownAckSent,
    /// SCTP `HEARTBEAT_SENT`.
    HeartbeatSent,
    /// SCTP `HEARTBEAT_ACKED`.
    HeartbeatAcked,
    /// DCCP `REQUEST`.
    Request,
    /// DCCP `RESPOND`.
    Respond,
    /// DCCP `PARTOPEN`.
    PartOpen,
    /// DCCP `OPEN`.
    Open,
    /// DCCP `CLOSEREQ`.
    CloseReq,
    /// DCCP `CLOSING`.
    Closing,
    /// DCCP `TIMEWAIT`.
    DccpTimeWait,
    /// DCCP `INVALID`.
    Invalid,
    /// Any other state name; the text is in [`EntryExtra::state_name`].
    Other,
}

/// One direction of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Tuple {
    /// `src=`.
    pub src: IpAddr,
    /// `dst=`.
    pub dst: IpAddr,
    /// The layer-4 part.
    pub l4: L4,
}

/// The layer-4 part of a tuple.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum L4 {
    /// `sport= dport=` (TCP, UDP, UDP-Lite, SCTP, DCCP).
    Ports {
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
    },
    /// `type= code= id=` (ICMP, ICMPv6).
    Icmp {
        /// ICMP type.
        #[serde(rename = "type")]
        kind: u8,
        /// ICMP code.
        code: u8,
        /// ICMP identifier.
        id: u16,
    },
    /// `srckey=0x… dstkey=0x…` (GRE).
    Gre {
        /// Source key (PPTP call id).
        srckey: u16,
        /// Destination key.
        dstkey: u16,
    },
    /// No layer-4 part (unknown protocols).
    None,
}

/// The bracketed status flags of an entry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Flags {
    /// `[UNREPLIED]`: no reply seen yet.
    pub unreplied: bool,
    /// `[ASSURED]`: traffic seen both ways; not early-dropped.
    pub assured: bool,
    /// `[OFFLOAD]`: software flow offload.
    pub offload: bool,
    /// `[HW_OFFLOAD]`: hardware flow offload.
    pub hw_offload: bool,
}

/// Accounting counters of both directions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FlowCounters {
    /// Original direction.
    pub original: Option<Counters>,
    /// Reply direction.
    pub reply: Option<Counters>,
}

/// `packets= bytes=`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Packets.
    pub packets: u64,
    /// Bytes.
    pub bytes: u64,
}

/// An address with an optional port, e.g. a flow's destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Endpoint {
    /// The address.
    pub addr: IpAddr,
    /// The port, for protocols that have ports.
    pub port: Option<u16>,
}

/// A `conntrack -E` event line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// 1-based input line.
    pub line: usize,
    /// `[NEW]`, `[UPDATE]` or `[DESTROY]`.
    pub kind: EventKind,
    /// The `[seconds.micros]` prefix of `conntrack -E -o timestamp`.
    pub timestamp: Option<Timestamp>,
    /// The flow or expectation the event is about.
    pub body: EventBody,
}

/// The kind of a conntrack event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// `[NEW]`.
    New,
    /// `[UPDATE]`.
    Update,
    /// `[DESTROY]`.
    Destroy,
}

/// What an event line describes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventBody {
    /// A flow (`conntrack -E`).
    Flow(Entry),
    /// An expectation (`conntrack -E expect`).
    Expectation(Expectation),
}

/// An expectation line: `proto=6 src=… dst=… sport=… dport=… mask-src=… …`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expectation {
    /// 1-based input line.
    pub line: usize,
    /// Seconds until the expectation expires.
    pub timeout: Option<u32>,
    /// `proto=`.
    pub protocol: Protocol,
    /// The expected tuple.
    pub tuple: Tuple,
    /// `mask-src= mask-dst= sport= dport=`.
    pub mask: Tuple,
    /// `master-src= master-dst= sport= dport=`: the flow that created it.
    pub master: Tuple,
    /// `zone=`.
    pub zone: Option<u16>,
    /// Upper-case words such as `PERMANENT`, `INACTIVE`, `USERSPACE`.
    pub flags: Vec<String>,
    /// `class=`.
    pub class: Option<u32>,
    /// `helper=`.
    pub helper: Option<String>,
    /// Unknown `key=value` pairs, in input order.
    pub unknown: Vec<(String, String)>,
    /// Unknown bracketed words without their brackets (`active since 5s`).
    pub unknown_flags: Vec<String>,
}

/// Per-CPU statistics from `conntrack -S` or `/proc/net/stat/nf_conntrack`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConntrackStats {
    /// The `/proc/net/stat/nf_conntrack` header line, when that form was read.
    pub header: Option<StatsHeader>,
    /// One row per CPU line, in input order.
    pub cpus: Vec<CpuStats>,
    /// Sums over [`ConntrackStats::cpus`] by counter name, in first-seen order.
    /// `entries` is a global gauge repeated on every row, so its "sum" is the
    /// largest row value instead.
    pub totals: Vec<(String, u64)>,
}

/// The `/proc/net/stat/nf_conntrack` header line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatsHeader {
    /// 1-based input line.
    pub line: usize,
    /// Column names in order.
    pub names: Vec<String>,
}

/// The counters of one CPU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CpuStats {
    /// 1-based input line.
    pub line: usize,
    /// The CPU number: `cpu=N` for `conntrack -S`; for `/proc` the row's
    /// position among rows after the header (the kernel prints one row per
    /// possible CPU, in order).
    pub cpu: u32,
    /// Which form the row came from.
    pub form: StatsForm,
    /// Counter values by name, in input order.
    pub counters: Vec<(String, u64)>,
}

/// The textual form of a statistics row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatsForm {
    /// `conntrack -S`: `cpu=0 found=13 invalid=11258 …` (decimal).
    ConntrackS,
    /// `/proc/net/stat/nf_conntrack`: hexadecimal columns under a header.
    ProcNetStat,
}

/// A single-number line (`123`, `net.netfilter.nf_conntrack_max = 262144`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CountLine {
    /// 1-based input line.
    pub line: usize,
    /// The sysctl key, when the line had one.
    pub key: Option<String>,
    /// The number.
    pub value: u64,
}

/// A `*** Output of <command> ***` section header of the EKS log bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Section {
    /// 1-based input line.
    pub line: usize,
    /// The command between `Output of` and the closing `***`.
    pub command: String,
}

/// `conntrack v1.4.6 (conntrack-tools): 2 flow entries have been shown.`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// 1-based input line.
    pub line: usize,
    /// The tool version (`1.4.6`).
    pub version: String,
    /// The number of entries the tool reported.
    pub count: u64,
    /// What happened to them: `shown`, `deleted`, `updated`, …
    pub action: String,
}

impl ConntrackDump {
    /// The value of a count line whose sysctl key ends with `name`
    /// (`nf_conntrack_count`, `nf_conntrack_max`), the last one if several.
    pub fn sysctl(&self, name: &str) -> Option<u64> {
        self.counts
            .iter()
            .rev()
            .find(|count| count.key.as_deref().is_some_and(|key| key.ends_with(name)))
            .map(|count| count.value)
    }
}

impl EntryExtra {
    /// `[start=…]` as a [`Timestamp`], reading the `ctime(3)` text as UTC.
    ///
    /// conntrack prints the collecting host's local time without a zone;
    /// EKS-optimised AMIs run in UTC, so UTC is the reading that matches
    /// them. On a host in another zone the result is off by its offset.
    pub fn start_time(&self) -> Option<Timestamp> {
        self.start.as_deref().and_then(ctime_utc)
    }

    /// `[stop=…]` as a [`Timestamp`], with the caveat of
    /// [`EntryExtra::start_time`].
    pub fn stop_time(&self) -> Option<Timestamp> {
        self.stop.as_deref().and_then(ctime_utc)
    }
}

/// Parses `ctime(3)` text (`Thu Nov 26 05:38:29 2026`, day padded with a
/// blank) as UTC.
pub(crate) fn ctime_utc(text: &str) -> Option<Timestamp> {
    let format = time::macros::format_description!(
        "[weekday repr:short] [month repr:short] [day padding:space] [hour]:[minute]:[second] [year]"
    );
    let datetime = time::PrimitiveDateTime::parse(text, &format).ok()?;
    Some(Timestamp::from_datetime(datetime.assume_utc()))
}

impl ConntrackStats {
    /// The summed value of counter `name` over all CPUs, if any row had it.
    pub fn total(&self, name: &str) -> Option<u64> {
        self.totals
            .iter()
            .find(|(known, _)| known == name)
            .map(|(_, value)| *value)
    }

    /// Recomputes [`ConntrackStats::totals`] from the rows.
    pub(crate) fn recompute_totals(&mut self) {
        let mut totals: Vec<(String, u64)> = Vec::new();
        for row in &self.cpus {
            for (name, value) in &row.counters {
                match totals.iter_mut().find(|(known, _)| known == name) {
                    Some((_, sum)) if name == "entries" => *sum = (*sum).max(*value),
                    Some((_, sum)) => *sum = sum.saturating_add(*value),
                    None => totals.push((name.clone(), *value)),
                }
            }
        }
        self.totals = totals;
    }
}

impl Entry {
    /// Whether the flow is NATed: the reply does not simply swap the
    /// original addresses and ports (DNAT, SNAT or both).
    pub fn is_nat(&self) -> bool {
        self.is_dnat() || self.is_snat()
    }

    /// Whether the destination was rewritten: the reply comes from somewhere
    /// other than the original destination (a Service VIP resolved to a pod).
    pub fn is_dnat(&self) -> bool {
        self.reply.src != self.original.dst || self.reply.l4.sport() != self.original.l4.dport()
    }

    /// Whether the source was rewritten (masquerade / SNAT).
    pub fn is_snat(&self) -> bool {
        self.reply.dst != self.original.src || self.reply.l4.dport() != self.original.l4.sport()
    }

    /// Where a DNATed flow really goes (the reply's source), if it is DNATed.
    pub fn nat_destination(&self) -> Option<Endpoint> {
        self.is_dnat().then(|| Endpoint {
            addr: self.reply.src,
            port: self.reply.l4.sport(),
        })
    }

    /// The original destination (`dst=` and `dport=` of the original tuple).
    pub fn destination(&self) -> Endpoint {
        Endpoint {
            addr: self.original.dst,
            port: self.original.l4.dport(),
        }
    }

    /// The original source address (without the usually ephemeral port).
    pub fn source(&self) -> Endpoint {
        Endpoint {
            addr: self.original.src,
            port: None,
        }
    }

    /// The rare attributes, created on first write.
    pub(crate) fn extra_mut(&mut self) -> &mut EntryExtra {
        self.extra.get_or_insert_with(Box::default)
    }

    /// The state as printed, including unknown names.
    pub fn state_name(&self) -> Option<&str> {
        match self.state? {
            State::Other => self
                .extra
                .as_ref()
                .and_then(|extra| extra.state_name.as_deref()),
            known => Some(known.name()),
        }
    }

    /// `zone=`.
    pub fn zone(&self) -> Option<u16> {
        self.extra.as_ref().and_then(|extra| extra.zone)
    }
}

impl L4 {
    /// The source port, for port-based protocols.
    pub fn sport(&self) -> Option<u16> {
        match *self {
            L4::Ports { sport, .. } => Some(sport),
            _ => None,
        }
    }

    /// The destination port, for port-based protocols.
    pub fn dport(&self) -> Option<u16> {
        match *self {
            L4::Ports { dport, .. } => Some(dport),
            _ => None,
        }
    }
}

impl Family {
    /// The family from its prefix number (`2`, `10`).
    pub fn from_number(number: u16) -> Self {
        match number {
            2 => Family::Ipv4,
            10 => Family::Ipv6,
            other => Family::Other(other),
        }
    }

    /// The name conntrack prints.
    pub fn name(self) -> &'static str {
        match self {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
            Family::Other(_) => "unknown",
        }
    }

    /// The number conntrack prints.
    pub fn number(self) -> u16 {
        match self {
            Family::Ipv4 => 2,
            Family::Ipv6 => 10,
            Family::Other(number) => number,
        }
    }
}

impl Protocol {
    /// The protocol for an IP protocol number.
    pub fn from_number(number: u8) -> Self {
        match number {
            6 => Protocol::Tcp,
            17 => Protocol::Udp,
            136 => Protocol::UdpLite,
            1 => Protocol::Icmp,
            58 => Protocol::Icmpv6,
            132 => Protocol::Sctp,
            33 => Protocol::Dccp,
            47 => Protocol::Gre,
            other => Protocol::Other(other),
        }
    }

    /// The IP protocol number.
    pub fn number(self) -> u8 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::UdpLite => 136,
            Protocol::Icmp => 1,
            Protocol::Icmpv6 => 58,
            Protocol::Sctp => 132,
            Protocol::Dccp => 33,
            Protocol::Gre => 47,
            Protocol::Other(number) => number,
        }
    }

    /// The name conntrack and the kernel print (`unknown` for others).
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::UdpLite => "udplite",
            Protocol::Icmp => "icmp",
            Protocol::Icmpv6 => "icmpv6",
            Protocol::Sctp => "sctp",
            Protocol::Dccp => "dccp",
            Protocol::Gre => "gre",
            Protocol::Other(_) => "unknown",
        }
    }

    /// Whether tuples of this protocol carry `sport=`/`dport=`.
    pub fn has_ports(self) -> bool {
        matches!(
            self,
            Protocol::Tcp | Protocol::Udp | Protocol::UdpLite | Protocol::Sctp | Protocol::Dccp
        )
    }

    /// Whether tuples of this protocol carry `type= code= id=`.
    pub fn is_icmp(self) -> bool {
        matches!(self, Protocol::Icmp | Protocol::Icmpv6)
    }
}

/// State names in one table, so parsing and printing cannot drift apart.
const STATE_NAMES: &[(&str, State)] = &[
    ("NONE", State::None),
    ("SYN_SENT", State::SynSent),
    ("SYN_RECV", State::SynRecv),
    ("ESTABLISHED", State::Established),
    ("FIN_WAIT", State::FinWait),
    ("CLOSE_WAIT", State::CloseWait),
    ("LAST_ACK", State::LastAck),
    ("TIME_WAIT", State::TimeWait),
    ("CLOSE", State::Close),
    ("LISTEN", State::Listen),
    ("SYN_SENT2", State::SynSent2),
    ("IGNORE", State::Ignore),
    ("CLOSED", State::Closed),
    ("COOKIE_WAIT", State::CookieWait),
    ("COOKIE_ECHOED", State::CookieEchoed),
    ("SHUTDOWN_SENT", State::ShutdownSent),
    ("SHUTDOWN_RECD", State::ShutdownRecd),
    ("SHUTDOWN_ACK_SENT", State::ShutdownAckSent),
    ("HEARTBEAT_SENT", State::HeartbeatSent),
    ("HEARTBEAT_ACKED", State::HeartbeatAcked),
    ("REQUEST", State::Request),
    ("RESPOND", State::Respond),
    ("PARTOPEN", State::PartOpen),
    ("OPEN", State::Open),
    ("CLOSEREQ", State::CloseReq),
    ("CLOSING", State::Closing),
    ("TIMEWAIT", State::DccpTimeWait),
    ("INVALID", State::Invalid),
];

/// Every [`State`], in declaration order.
pub(crate) const STATES: [State; 29] = [
    State::None,
    State::SynSent,
    State::SynRecv,
    State::Established,
    State::FinWait,
    State::CloseWait,
    State::LastAck,
    State::TimeWait,
    State::Close,
    State::Listen,
    State::SynSent2,
    State::Ignore,
    State::Closed,
    State::CookieWait,
    State::CookieEchoed,
    State::ShutdownSent,
    State::ShutdownRecd,
    State::ShutdownAckSent,
    State::HeartbeatSent,
    State::HeartbeatAcked,
    State::Request,
    State::Respond,
    State::PartOpen,
    State::Open,
    State::CloseReq,
    State::Closing,
    State::DccpTimeWait,
    State::Invalid,
    State::Other,
];

impl State {
    /// The state for a printed name; unknown names become [`State::Other`].
    pub fn from_name(name: &str) -> Self {
        // The two commonest states first: a busy table is mostly these.
        match name {
            "ESTABLISHED" => return State::Established,
            "TIME_WAIT" => return State::TimeWait,
            _ => {}
        }
        STATE_NAMES
            .iter()
            .find(|(known, _)| *known == name)
            .map_or(State::Other, |(_, state)| *state)
    }

    /// The printed name (`OTHER` for [`State::Other`], whose text is in
    /// [`EntryExtra::state_name`]).
    pub fn name(self) -> &'static str {
        STATE_NAMES
            .iter()
            .find(|(_, state)| *state == self)
            .map_or("OTHER", |(name, _)| name)
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Protocol::Other(number) => write!(f, "proto-{number}"),
            known => f.write_str(known.name()),
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Endpoint {
    /// `10.0.0.1:53`, `[fd00::1]:53`, or the bare address without a port.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.addr, self.port) {
            (IpAddr::V6(addr), Some(port)) => write!(f, "[{addr}]:{port}"),
            (addr, Some(port)) => write!(f, "{addr}:{port}"),
            (addr, None) => write!(f, "{addr}"),
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EventKind::New => "[NEW]",
            EventKind::Update => "[UPDATE]",
            EventKind::Destroy => "[DESTROY]",
        })
    }
}

macro_rules! serialize_as_display {
    ($($ty:ty),*) => {$(
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }
    )*};
}

serialize_as_display!(Protocol, State, Endpoint);

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Family::Other(number) => write!(f, "family-{number}"),
            known => f.write_str(known.name()),
        }
    }
}

serialize_as_display!(Family);

impl fmt::Display for Entry {
    /// The entry in libnetfilter_conntrack's default `conntrack -L` format
    /// (with the `ipv4     2 ` prefix when [`Entry::family`] is set, as
    /// `-o extended` prints it).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Fields { f, first: true };
        if let Some(family) = self.family {
            out.field(format_args!("{:<8} {}", family.name(), family.number()))?;
        }
        out.field(format_args!(
            "{:<8} {}",
            self.protocol.name(),
            self.protocol.number()
        ))?;
        if let Some(timeout) = self.timeout {
            out.field(timeout)?;
        }
        if let Some(state) = self.state_name() {
            out.field(state)?;
        }
        let extra = self.extra.as_deref();
        let counters = self.counters.as_deref();
        out.tuple("src", "dst", &self.original)?;
        if let Some(zone) = extra.and_then(|extra| extra.zone_orig) {
            out.field(format_args!("zone-orig={zone}"))?;
        }
        if let Some(counters) = counters.and_then(|counters| counters.original) {
            out.counters(counters)?;
        }
        if self.flags.unreplied {
            out.field("[UNREPLIED]")?;
        }
        out.tuple("src", "dst", &self.reply)?;
        if let Some(zone) = extra.and_then(|extra| extra.zone_reply) {
            out.field(format_args!("zone-reply={zone}"))?;
        }
        if let Some(counters) = counters.and_then(|counters| counters.reply) {
            out.counters(counters)?;
        }
        if self.flags.offload {
            out.field("[OFFLOAD]")?;
        }
        if self.flags.hw_offload {
            out.field("[HW_OFFLOAD]")?;
        }
        if self.flags.assured {
            out.field("[ASSURED]")?;
        }
        if let Some(mark) = self.mark {
            out.field(format_args!("mark={mark}"))?;
        }
        if let Some(extra) = extra {
            if let Some(secmark) = extra.secmark {
                out.field(format_args!("secmark={secmark}"))?;
            }
            if let Some(secctx) = &extra.secctx {
                out.field(format_args!("secctx={secctx}"))?;
            }
            if let Some(zone) = extra.zone {
                out.field(format_args!("zone={zone}"))?;
            }
            if let Some(delta) = extra.delta_time {
                out.field(format_args!("delta-time={delta}"))?;
            }
            if let Some(start) = &extra.start {
                out.field(format_args!("[start={start}]"))?;
            }
            if let Some(stop) = &extra.stop {
                out.field(format_args!("[stop={stop}]"))?;
            }
            if let Some(helper) = &extra.helper {
                out.field(format_args!("helper={helper}"))?;
            }
        }
        if let Some(use_count) = self.use_count {
            out.field(format_args!("use={use_count}"))?;
        }
        if let Some(id) = self.id {
            out.field(format_args!("id={id}"))?;
        }
        if let Some(extra) = extra {
            if let Some(labels) = &extra.labels {
                out.field(format_args!("labels={labels}"))?;
            }
            for (key, value) in &extra.unknown {
                out.field(format_args!("{key}={value}"))?;
            }
            for flag in &extra.unknown_flags {
                out.field(format_args!("[{flag}]"))?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Expectation {
    /// The expectation in libnetfilter_conntrack's default format.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Fields { f, first: true };
        if let Some(timeout) = self.timeout {
            out.field(timeout)?;
        }
        out.field(format_args!("proto={}", self.protocol.number()))?;
        out.tuple("src", "dst", &self.tuple)?;
        out.tuple("mask-src", "mask-dst", &self.mask)?;
        out.tuple("master-src", "master-dst", &self.master)?;
        if let Some(zone) = self.zone {
            out.field(format_args!("zone={zone}"))?;
        }
        for flag in &self.flags {
            out.field(flag)?;
        }
        if let Some(class) = self.class {
            out.field(format_args!("class={class}"))?;
        }
        if let Some(helper) = &self.helper {
            out.field(format_args!("helper={helper}"))?;
        }
        for (key, value) in &self.unknown {
            out.field(format_args!("{key}={value}"))?;
        }
        for flag in &self.unknown_flags {
            out.field(format_args!("[{flag}]"))?;
        }
        Ok(())
    }
}

impl fmt::Display for Event {
    /// The event as `conntrack -E` prints it (`%9s ` tag, then the body).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(timestamp) = self.timestamp {
            let seconds = timestamp.0.div_euclid(1_000_000);
            let micros = timestamp.0.rem_euclid(1_000_000);
            write!(f, "[{seconds}.{micros:06}]\t")?;
        }
        write!(f, "{:>9} ", self.kind.to_string())?;
        match &self.body {
            EventBody::Flow(entry) => write!(f, "{entry}"),
            EventBody::Expectation(expectation) => write!(f, "{expectation}"),
        }
    }
}

/// Writes space-separated fields without a trailing blank.
struct Fields<'f, 'g> {
    f: &'f mut fmt::Formatter<'g>,
    first: bool,
}

impl Fields<'_, '_> {
    fn field(&mut self, value: impl fmt::Display) -> fmt::Result {
        if !self.first {
            self.f.write_str(" ")?;
        }
        self.first = false;
        write!(self.f, "{value}")
    }

    fn tuple(&mut self, src_key: &str, dst_key: &str, tuple: &Tuple) -> fmt::Result {
        self.field(format_args!("{src_key}={}", tuple.src))?;
        self.field(format_args!("{dst_key}={}", tuple.dst))?;
        match tuple.l4 {
            L4::Ports { sport, dport } => self.field(format_args!("sport={sport} dport={dport}")),
            L4::Icmp { kind, code, id } => {
                self.field(format_args!("type={kind} code={code} id={id}"))
            }
            L4::Gre { srckey, dstkey } => {
                self.field(format_args!("srckey={srckey:#x} dstkey={dstkey:#x}"))
            }
            L4::None => Ok(()),
        }
    }

    fn counters(&mut self, counters: Counters) -> fmt::Result {
        self.field(format_args!(
            "packets={} bytes={}",
            counters.packets, counters.bytes
        ))
    }
}
