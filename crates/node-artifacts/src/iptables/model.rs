//! The typed, lossless model of an `iptables-save` dump.
//!
//! Two views live side by side. The structural view is [`Ruleset::tables`]:
//! tables hold chains, chains hold their rules in order. The layout view is
//! [`Ruleset::lines`]: one [`Line`] per input line, pointing into the
//! structural view by index, so that comments, blank lines, unparsed lines and
//! rules appended to chains in any order render back exactly where they were.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::IpAddr;
use std::ops::Deref;
use std::sync::Arc;

use serde::{Serialize, Serializer};

use crate::diag::Unparsed;

/// A chain name, shared between the chain, its rules and the jumps to it so
/// that a 75,000-line dump does not hold 100,000 copies of chain names.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChainName(Arc<str>);

impl fmt::Debug for ChainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl ChainName {
    /// Makes a chain name.
    pub fn new(name: &str) -> Self {
        Self(Arc::from(name))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for ChainName {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for ChainName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for ChainName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ChainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for ChainName {
    fn from(name: &str) -> Self {
        Self::new(name)
    }
}

impl PartialEq<str> for ChainName {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for ChainName {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl Serialize for ChainName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// A fast, non-cryptographic hasher for chain names (the multiply-rotate
/// scheme of rustc's FxHasher). Chain names come from the dump being read,
/// and a table of them only lives while that dump is examined, so hash
/// flooding is not a concern; SipHash showed up as a tenth of parse time.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NameHasher(u64);

impl Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(byte)).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A parsed `iptables-save` / `ip6tables-save` dump.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ruleset {
    /// Tables in the order their `*table` headers appear.
    pub tables: Vec<TableBlock>,
    /// The input's layout in order: every input line is covered by exactly
    /// one entry, and runs of consecutive chain declarations or of
    /// consecutive rules of one chain share an entry (see [`Line::span`]).
    pub lines: Vec<Line>,
    /// Whether the input ended with a line terminator.
    pub final_newline: bool,
    /// Whether lines were terminated by `\r\n` rather than `\n`.
    pub crlf: bool,
}

/// What a run of input lines is, pointing into [`Ruleset::tables`] by index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Line {
    /// An empty line.
    Blank,
    /// A `#` comment, verbatim (including the `#`).
    Comment {
        /// The whole line.
        text: String,
    },
    /// A `*table` header.
    Table {
        /// Index into [`Ruleset::tables`].
        table: usize,
    },
    /// `count` consecutive `:CHAIN POLICY [packets:bytes]` declarations.
    Chains {
        /// Index into [`Ruleset::tables`].
        table: usize,
        /// Index of the first one in [`TableBlock::chains`].
        first: usize,
        /// How many lines the run covers.
        count: usize,
    },
    /// `count` consecutive `-A CHAIN …` rules of one chain.
    Rules {
        /// Index into [`Ruleset::tables`].
        table: usize,
        /// Index into [`TableBlock::chains`].
        chain: usize,
        /// Index of the first one in [`Chain::rules`].
        first: usize,
        /// How many lines the run covers.
        count: usize,
    },
    /// The `COMMIT` that closes a table.
    Commit {
        /// Index into [`Ruleset::tables`].
        table: usize,
    },
    /// A line that could not be understood, kept verbatim.
    Unparsed(Box<Unparsed>),
}

impl Line {
    /// How many input lines this entry covers.
    pub fn span(&self) -> usize {
        match self {
            Line::Chains { count, .. } | Line::Rules { count, .. } => *count,
            _ => 1,
        }
    }
}

/// The netfilter table a block belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Table {
    /// `*raw`.
    Raw,
    /// `*mangle`.
    Mangle,
    /// `*nat`.
    Nat,
    /// `*filter`.
    Filter,
    /// `*security`.
    Security,
    /// Any other table name.
    Other(String),
}

/// One `*table` … `COMMIT` block.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableBlock {
    /// Which table.
    pub table: Table,
    /// 1-based line of the `*table` header.
    pub line: usize,
    /// 1-based line of the closing `COMMIT`, if there was one.
    pub commit_line: Option<usize>,
    /// Chains in declaration order (chains that only appear in rules come
    /// after, with `line == None`).
    pub chains: Vec<Chain>,
    /// Chain name to index in [`TableBlock::chains`].
    #[serde(skip)]
    pub(crate) chain_index: HashMap<ChainName, usize, BuildHasherDefault<NameHasher>>,
}

/// The built-in policy of a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Policy {
    /// `ACCEPT`.
    Accept,
    /// `DROP`.
    Drop,
    /// Anything else, verbatim.
    Other(String),
}

/// A `[packets:bytes]` counter pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Counters {
    /// Packet count.
    pub packets: u64,
    /// Byte count.
    pub bytes: u64,
}

/// A chain and its rules in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chain {
    /// Chain name.
    pub name: ChainName,
    /// Policy of a built-in chain; `None` for user chains (`-`).
    pub policy: Option<Policy>,
    /// Counters from the declaration, when present.
    pub counters: Option<Counters>,
    /// 1-based line of the declaration; `None` when a rule used an
    /// undeclared chain.
    pub line: Option<usize>,
    /// The declaration verbatim, kept only when it is not in canonical form.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw: Option<Box<str>>,
    /// Rules appended to this chain, in input order.
    pub rules: Vec<Rule>,
}

/// A value with an optional `!` in front of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Neg<T> {
    /// Whether the test is inverted with `!`.
    pub negated: bool,
    /// The tested value.
    pub value: T,
}

/// One `-A CHAIN …` rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    /// 1-based input line.
    pub line: usize,
    /// `[packets:bytes]` prefix (or `-c packets bytes`), when present.
    pub counters: Option<Counters>,
    /// The chain the rule is appended to.
    pub chain: ChainName,
    /// Matches in canonical order: generic ones (`-s -d -i -o -p -f`) first,
    /// then the `-m` modules in the order they were loaded.
    pub matches: Vec<Match>,
    /// What happens on a match; `None` for rules without `-j`/`-g`.
    pub target: Option<Target>,
    /// The line verbatim, kept only when the canonical rendering of the typed
    /// rule differs from it (another writer's order, spacing, number forms).
    /// A boxed `str` rather than a `String`: it is never grown, and the
    /// saved word per rule matters on nodes with 50,000 rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw: Option<Box<str>>,
}

/// An address with a prefix length, as in `-s 10.0.0.0/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct IpNet {
    /// The address as written (host bits are kept).
    pub addr: IpAddr,
    /// Prefix length (0–32 or 0–128).
    pub prefix: u8,
}

/// A transport protocol as `-p` names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// `tcp` (6).
    Tcp,
    /// `udp` (17).
    Udp,
    /// `icmp` (1).
    Icmp,
    /// `icmpv6` or `ipv6-icmp` (58); the spelling is kept for rendering.
    Icmpv6(String),
    /// `sctp` (132).
    Sctp,
    /// `all` (0).
    All,
    /// A protocol given by number.
    Number(u8),
    /// Any other name, verbatim.
    Other(String),
}

/// An inclusive port range; a single port has `first == last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct PortRange {
    /// First port.
    pub first: u16,
    /// Last port.
    pub last: u16,
}

/// A connection-tracking state as `--ctstate`/`--state` name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CtState {
    /// `INVALID`.
    Invalid,
    /// `NEW`.
    New,
    /// `RELATED`.
    Related,
    /// `ESTABLISHED`.
    Established,
    /// `UNTRACKED`.
    Untracked,
    /// `SNAT`.
    Snat,
    /// `DNAT`.
    Dnat,
    /// Any other word, verbatim.
    Other(String),
}

/// A typed match.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "match", rename_all = "snake_case")]
pub enum Match {
    /// `[!] -s addr[/prefix]`.
    Source(Neg<IpNet>),
    /// `[!] -d addr[/prefix]`.
    Destination(Neg<IpNet>),
    /// `[!] -i name` (`+` at the end is a wildcard).
    InInterface(Neg<String>),
    /// `[!] -o name` (`+` at the end is a wildcard).
    OutInterface(Neg<String>),
    /// `[!] -p protocol`.
    Protocol(Neg<Protocol>),
    /// `[!] -f`.
    Fragment {
        /// Whether `!` was given.
        negated: bool,
    },
    /// `-m tcp`.
    Tcp(TcpMatch),
    /// `-m udp`.
    Udp(UdpMatch),
    /// `-m multiport`.
    Multiport(MultiportMatch),
    /// `-m comment --comment text`.
    Comment {
        /// The comment text, unquoted and unescaped.
        comment: String,
    },
    /// `-m conntrack`.
    Conntrack(Box<ConntrackMatch>),
    /// `-m state [!] --state list`.
    State(Neg<Vec<CtState>>),
    /// `-m mark [!] --mark value[/mask]`.
    Mark(Neg<MarkMask>),
    /// `-m connmark [!] --mark value[/mask]`.
    Connmark(Neg<MarkMask>),
    /// `-m addrtype`.
    Addrtype(Box<AddrtypeMatch>),
    /// `-m statistic`.
    Statistic(StatisticMatch),
    /// `-m set [!] --match-set name flags`.
    Set(Box<SetMatch>),
    /// `-m physdev`.
    Physdev(Box<PhysdevMatch>),
    /// `-m limit --limit rate [--limit-burst n]`.
    Limit(LimitMatch),
    /// `-m recent`.
    Recent(Box<RecentMatch>),
    /// `-m owner`.
    Owner(Box<OwnerMatch>),
    /// `-m icmp [!] --icmp-type type[/code]`.
    Icmp(Neg<String>),
    /// `-m icmp6 [!] --icmpv6-type type[/code]`.
    Icmp6(Neg<String>),
    /// `-m mac [!] --mac-source address`.
    Mac(Neg<String>),
    /// `-m nfacct --nfacct-name name`.
    Nfacct {
        /// Accounting object name.
        name: String,
    },
    /// `-m socket`.
    Socket(SocketMatch),
    /// Any other module (or a known module with options this parser does not
    /// type), kept whole. Boxed so that the common matches stay small.
    Other(Box<OtherMatch>),
}

/// A module kept whole: its name and option tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OtherMatch {
    /// Module name after `-m`.
    pub module: String,
    /// The option tokens after the module name, unquoted.
    pub args: Vec<String>,
}

/// `-m tcp` options.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct TcpMatch {
    /// `[!] --sport`.
    pub sport: Option<Neg<PortRange>>,
    /// `[!] --dport`.
    pub dport: Option<Neg<PortRange>>,
    /// `[!] --tcp-option n`.
    pub option: Option<Neg<u8>>,
    /// `[!] --tcp-flags mask comp` (and `--syn`).
    pub flags: Option<Neg<TcpFlags>>,
}

/// `--tcp-flags` bit sets (FIN=1, SYN=2, RST=4, PSH=8, ACK=16, URG=32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TcpFlags {
    /// Flags examined.
    pub mask: u8,
    /// Flags that must be set among those examined.
    pub comp: u8,
}

/// `-m udp` options.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct UdpMatch {
    /// `[!] --sport`.
    pub sport: Option<Neg<PortRange>>,
    /// `[!] --dport`.
    pub dport: Option<Neg<PortRange>>,
}

/// Which ports `-m multiport` tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MultiportKind {
    /// `--sports`.
    Source,
    /// `--dports`.
    Destination,
    /// `--ports` (either side).
    Either,
}

/// `-m multiport [!] --dports 53,80:90`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MultiportMatch {
    /// Which side is tested.
    pub kind: MultiportKind,
    /// Whether `!` was given.
    pub negated: bool,
    /// Ports and ranges in the order given.
    pub ports: Vec<PortRange>,
}

/// `-m conntrack` options (each optional, each negatable).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ConntrackMatch {
    /// `--ctstate`, in canonical order.
    pub state: Option<Neg<Vec<CtState>>>,
    /// `--ctproto` as a protocol number.
    pub proto: Option<Neg<u8>>,
    /// `--ctorigsrc`.
    pub orig_src: Option<Neg<IpNet>>,
    /// `--ctorigdst`.
    pub orig_dst: Option<Neg<IpNet>>,
    /// `--ctreplsrc`.
    pub repl_src: Option<Neg<IpNet>>,
    /// `--ctrepldst`.
    pub repl_dst: Option<Neg<IpNet>>,
    /// `--ctorigsrcport`.
    pub orig_src_port: Option<Neg<PortRange>>,
    /// `--ctorigdstport`.
    pub orig_dst_port: Option<Neg<PortRange>>,
    /// `--ctreplsrcport`.
    pub repl_src_port: Option<Neg<PortRange>>,
    /// `--ctrepldstport`.
    pub repl_dst_port: Option<Neg<PortRange>>,
    /// `--ctstatus` words (`NONE`, `EXPECTED`, `SEEN_REPLY`, `ASSURED`, `CONFIRMED`).
    pub status: Option<Neg<Vec<String>>>,
    /// `--ctexpire min[:max]` in seconds.
    pub expire: Option<Neg<(u32, u32)>>,
    /// `--ctdir ORIGINAL|REPLY`.
    pub direction: Option<String>,
}

/// A mark value with an optional mask (`0x4000/0x4000`); no mask means all bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MarkMask {
    /// Mark value.
    pub value: u32,
    /// Mask (`0xffffffff` when none was given).
    pub mask: u32,
}

/// `-m addrtype` options.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct AddrtypeMatch {
    /// `[!] --src-type LIST`.
    pub src_type: Option<Neg<Vec<String>>>,
    /// `[!] --dst-type LIST`.
    pub dst_type: Option<Neg<Vec<String>>>,
    /// `--limit-iface-in`.
    pub limit_iface_in: bool,
    /// `--limit-iface-out`.
    pub limit_iface_out: bool,
}

/// `-m statistic` options.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum StatisticMatch {
    /// `--mode random [!] --probability p`.
    Random {
        /// Whether `!` was given.
        negated: bool,
        /// Probability as the kernel stores it (quantised to 1/2^31).
        probability: f64,
    },
    /// `--mode nth [!] --every n [--packet p]`.
    Nth {
        /// Whether `!` was given.
        negated: bool,
        /// Every n-th packet.
        every: u32,
        /// Starting offset.
        packet: u32,
    },
}

/// `-m set [!] --match-set name flags [extra options]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SetMatch {
    /// Whether `!` was given.
    pub negated: bool,
    /// ipset name.
    pub name: String,
    /// Direction flags such as `src` or `src,dst`.
    pub flags: String,
    /// Further options (`--return-nomatch`, `! --update-counters` …), verbatim.
    pub extra: Vec<String>,
}

/// `-m physdev` options.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct PhysdevMatch {
    /// `[!] --physdev-in name`.
    pub physdev_in: Option<Neg<String>>,
    /// `[!] --physdev-out name`.
    pub physdev_out: Option<Neg<String>>,
    /// `--physdev-is-in` is `Some(true)`, `! --physdev-is-in` is `Some(false)`.
    pub is_in: Option<bool>,
    /// `--physdev-is-out` is `Some(true)`, `! --physdev-is-out` is `Some(false)`.
    pub is_out: Option<bool>,
    /// `--physdev-is-bridged` is `Some(true)`, `! --physdev-is-bridged` is `Some(false)`.
    pub is_bridged: Option<bool>,
}

/// `-m limit` options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LimitMatch {
    /// Rate such as `1/sec` or `12/min`.
    pub rate: String,
    /// `--limit-burst`, when given.
    pub burst: Option<u32>,
}

/// What `-m recent` does with the source list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecentMode {
    /// `--set`.
    Set,
    /// `--rcheck`.
    Rcheck,
    /// `--update`.
    Update,
    /// `--remove`.
    Remove,
}

/// `-m recent` options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecentMatch {
    /// The mode option, with `!` if given.
    pub mode: Neg<RecentMode>,
    /// `--seconds`.
    pub seconds: Option<u32>,
    /// `--reap`.
    pub reap: bool,
    /// `--hitcount`.
    pub hitcount: Option<u32>,
    /// `--rttl`.
    pub rttl: bool,
    /// `--name` (`DEFAULT` when absent).
    pub name: Option<String>,
    /// `--mask`.
    pub mask: Option<IpAddr>,
    /// `true` for `--rdest`, `false` for `--rsource` (the default).
    pub rdest: bool,
    /// Whether `--rsource`/`--rdest` was written out.
    pub side_explicit: bool,
}

/// `-m owner` options.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct OwnerMatch {
    /// `[!] --uid-owner id[-id]`.
    pub uid: Option<Neg<String>>,
    /// `[!] --gid-owner id[-id]`.
    pub gid: Option<Neg<String>>,
    /// `--socket-exists` is `Some(true)`, `! --socket-exists` is `Some(false)`.
    pub socket_exists: Option<bool>,
}

/// `-m socket` flags.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct SocketMatch {
    /// `--transparent`.
    pub transparent: bool,
    /// `--nowildcard`.
    pub nowildcard: bool,
    /// `--restore-skmark`.
    pub restore_skmark: bool,
}

/// What a rule does on a match.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "target", rename_all = "snake_case")]
pub enum Target {
    /// `-j ACCEPT`.
    Accept,
    /// `-j DROP`.
    Drop,
    /// `-j RETURN`.
    Return,
    /// `-j QUEUE`.
    Queue,
    /// `-j CHAIN` to a user chain.
    Jump {
        /// Chain name.
        chain: ChainName,
    },
    /// `-g CHAIN`.
    Goto {
        /// Chain name.
        chain: ChainName,
    },
    /// `-j DNAT`.
    Dnat(NatTarget),
    /// `-j SNAT`.
    Snat(NatTarget),
    /// `-j MASQUERADE`.
    Masquerade(MasqueradeTarget),
    /// `-j REJECT --reject-with type`.
    Reject {
        /// ICMP (or `tcp-reset`) reply type.
        with: String,
    },
    /// `-j MARK`, normalised to the kernel's `--set-xmark value/mask`.
    Mark(MarkMask),
    /// `-j CONNMARK`.
    Connmark(ConnmarkTarget),
    /// `-j LOG`.
    Log(Box<LogTarget>),
    /// `-j NFLOG`.
    Nflog(Box<NflogTarget>),
    /// `-j CT`.
    Ct(Box<CtTarget>),
    /// `-j NOTRACK`.
    Notrack,
    /// `-j TPROXY`.
    Tproxy(Box<TproxyTarget>),
    /// Any other target extension, kept whole.
    Other {
        /// Target name after `-j`.
        name: String,
        /// Option tokens after the name, unquoted.
        args: Vec<String>,
    },
}

/// An address range with an optional port range, as in
/// `--to-destination 10.0.1.5:8080` or `1.1.1.1-1.1.1.10:1025-65535`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NatRange {
    /// First address (`None` for a port-only range such as `:8080`).
    pub addr: Option<IpAddr>,
    /// Last address of an address range.
    pub addr_last: Option<IpAddr>,
    /// Port range.
    pub ports: Option<PortRange>,
    /// Base port of a shifted port range (`/base`).
    pub base_port: Option<u16>,
}

/// Options of `DNAT` and `SNAT`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NatTarget {
    /// `--to-destination` / `--to-source`.
    pub to: Option<NatRange>,
    /// `--random`.
    pub random: bool,
    /// `--random-fully`.
    pub random_fully: bool,
    /// `--persistent`.
    pub persistent: bool,
}

/// Options of `MASQUERADE`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct MasqueradeTarget {
    /// `--to-ports`.
    pub to_ports: Option<PortRange>,
    /// `--random`.
    pub random: bool,
    /// `--random-fully`.
    pub random_fully: bool,
}

/// `CONNMARK` actions, normalised as the kernel stores them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ConnmarkTarget {
    /// `--set-xmark value/mask` (also `--set-mark`, `--and-mark`, `--or-mark`, `--xor-mark`).
    SetXmark(MarkMask),
    /// `--save-mark --nfmask m --ctmask m`.
    Save {
        /// Packet mark mask.
        nfmask: u32,
        /// Connection mark mask.
        ctmask: u32,
    },
    /// `--restore-mark --nfmask m --ctmask m`.
    Restore {
        /// Packet mark mask.
        nfmask: u32,
        /// Connection mark mask.
        ctmask: u32,
    },
}

/// Options of `LOG`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct LogTarget {
    /// `--log-prefix`.
    pub prefix: Option<String>,
    /// `--log-level`.
    pub level: Option<String>,
    /// Flag options such as `--log-tcp-sequence`, `--log-uid`, in order.
    pub flags: Vec<String>,
}

/// Options of `NFLOG`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct NflogTarget {
    /// `--nflog-prefix`.
    pub prefix: Option<String>,
    /// `--nflog-group`.
    pub group: Option<u16>,
    /// `--nflog-size` (or the older `--nflog-range`).
    pub size: Option<u32>,
    /// `--nflog-threshold`.
    pub threshold: Option<u16>,
}

/// Options of `CT`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct CtTarget {
    /// `--notrack`.
    pub notrack: bool,
    /// `--helper`.
    pub helper: Option<String>,
    /// `--zone` (verbatim, may carry `orig`/`reply` forms).
    pub zone: Option<String>,
    /// Other options, verbatim tokens.
    pub extra: Vec<String>,
}

/// Options of `TPROXY`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct TproxyTarget {
    /// `--on-port`.
    pub on_port: Option<u16>,
    /// `--on-ip`.
    pub on_ip: Option<IpAddr>,
    /// `--tproxy-mark value[/mask]`.
    pub mark: Option<MarkMask>,
}

/// Address family of a ruleset, inferred from the addresses it contains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// `iptables-save`.
    Ipv4,
    /// `ip6tables-save`.
    Ipv6,
}
