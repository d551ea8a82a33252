//! `ip route show table all` and `ip rule show` output
//! (`networking/iproute.txt`, `ip6route.txt`, `iprule.txt`, `ip6rule.txt`).
//!
//! # Samples
//!
//! ```text
//! default via 10.0.0.1 dev eth0                              <- main table (no `table`)
//! 10.0.0.0/19 dev eth0 proto kernel scope link src 10.0.12.34
//! default via 10.0.0.1 dev eth1 table 2                      <- VPC CNI secondary ENI table
//! local 10.0.12.34 dev eth0 table local proto kernel scope host src 10.0.12.34
//! unreachable default dev lo proto kernel metric 4294967295 error -101 pref medium
//! fe80::/64 dev eth0 proto kernel metric 256 pref medium
//! default proto static metric 1024                           <- multipath head …
//!     nexthop via 10.0.0.1 dev eth0 weight 1                 <- … and its next hops
//! ```
//!
//! ```text
//! 0:    from all lookup local                               <- a tab follows the colon
//! 512:    from all to 10.0.45.6 lookup main                  <- VPC CNI pod rule
//! 1024:    from all fwmark 0x80/0x80 lookup main
//! 1536:    from 10.0.45.6 lookup 2
//! 32766:    not from all to 10.0.0.0/16 lookup main
//! ```
//!
//! # Grammar
//!
//! ```text
//! route    = [ type ] dest { attr } { nexthop-line }
//! type     = "unicast" | "local" | "broadcast" | "multicast" | "anycast"
//!          | "unreachable" | "blackhole" | "prohibit" | "throw" | "nat"
//! dest     = "default" | addr [ "/" len ]
//! attr     = key value | flag          (* key: via, dev, table, proto, scope, src, metric, pref, … *)
//! nexthop-line = ( "\t" | " " ) "nexthop" { attr }
//! rule     = prio ":" ws [ "not" ] "from" sel { sel-attr } action
//! action   = "lookup" table | "goto" prio | "blackhole" | "unreachable"
//!          | "prohibit" | "nop"
//! ```
//!
//! Keywords this parser does not know are kept in `other` (as a flag, or as
//! `key value` when the keyword is known to take a value), so no token is
//! dropped.
//!
//! # Example
//!
//! ```
//! use node_artifacts::iproute::{self, Table};
//! let routes = iproute::parse_routes(include_str!("../../../../fixtures/iproute/valid/iproute.txt")).value;
//! assert_eq!(routes.default_gateways().count(), 2);
//! assert_eq!(routes.in_table(&Table::Id(2)).count(), 2);
//! let rules = iproute::parse_rules(include_str!("../../../../fixtures/iproute/valid/iprule.txt")).value;
//! assert_eq!(rules.looking_up(&Table::Id(2)).count(), 1);
//! ```

use std::net::IpAddr;
use std::str::FromStr;

use serde::Serialize;

use crate::diag::{Parsed, Unparsed, numbered_lines};
use crate::line_util::{fields, keep_unparsed};

/// Parses `ip [-6] route show [table all]` output. Any text is accepted:
/// lines that are not routes are kept as unparsed.
pub fn parse_routes(input: &str) -> Parsed<RouteTable> {
    let mut out = RouteTable::default();
    let mut diagnostics = Vec::new();
    for (line_no, raw) in numbered_lines(input) {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            continue;
        }
        let starts_indented = raw.starts_with([' ', '\t']);
        if starts_indented && trimmed.starts_with("nexthop") {
            match out.routes.last_mut() {
                Some(route) => match nexthop(&mut fields(trimmed).skip(1).peekable()) {
                    Ok(hop) => route.nexthops.push(hop),
                    Err(reason) => {
                        out.unparsed
                            .push(keep_unparsed(&mut diagnostics, line_no, raw, reason));
                    }
                },
                None => out.unparsed.push(keep_unparsed(
                    &mut diagnostics,
                    line_no,
                    raw,
                    "nexthop line without a route before it",
                )),
            }
            continue;
        }
        match route(line_no, trimmed) {
            Ok(r) => out.routes.push(r),
            Err(reason) => out
                .unparsed
                .push(keep_unparsed(&mut diagnostics, line_no, raw, reason)),
        }
    }
    Parsed {
        value: out,
        diagnostics,
    }
}

/// Parses `ip [-6] rule show` output. Any text is accepted: lines that are
/// not rules are kept as unparsed.
pub fn parse_rules(input: &str) -> Parsed<RuleList> {
    let mut out = RuleList::default();
    let mut diagnostics = Vec::new();
    for (line_no, raw) in numbered_lines(input) {
        if raw.trim().is_empty() {
            continue;
        }
        match rule(line_no, raw) {
            Ok(r) => out.rules.push(r),
            Err(reason) => out
                .unparsed
                .push(keep_unparsed(&mut diagnostics, line_no, raw, reason)),
        }
    }
    Parsed {
        value: out,
        diagnostics,
    }
}

/// All routes of a `show table all` listing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RouteTable {
    /// Routes in input order.
    pub routes: Vec<Route>,
    /// Lines that were not routes.
    pub unparsed: Vec<Unparsed>,
}

impl RouteTable {
    /// Routes whose destination is `default`, in any table and of any type.
    pub fn default_routes(&self) -> impl Iterator<Item = &Route> {
        self.routes
            .iter()
            .filter(|r| r.destination == Destination::Default)
    }

    /// Usable default routes: unicast `default` routes with a gateway or a
    /// device, in any table (unlike [`Self::default_routes`], which also
    /// returns `unreachable default` and the like).
    pub fn default_gateways(&self) -> impl Iterator<Item = &Route> {
        self.default_routes().filter(|r| {
            r.route_type == RouteType::Unicast && (r.gateway.is_some() || r.dev.is_some())
        })
    }

    /// Routes of one table.
    pub fn in_table<'a>(&'a self, table: &'a Table) -> impl Iterator<Item = &'a Route> {
        self.routes.iter().filter(move |r| &r.table == table)
    }

    /// The distinct tables, in order of first appearance.
    pub fn tables(&self) -> Vec<&Table> {
        let mut seen: Vec<&Table> = Vec::new();
        for r in &self.routes {
            if !seen.contains(&&r.table) {
                seen.push(&r.table);
            }
        }
        seen
    }
}

/// A routing table name or id. Ids 253, 254 and 255 are normalised to
/// their names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Table {
    /// `main` (254); also the table of routes printed without `table`.
    Main,
    /// `local` (255).
    Local,
    /// `default` (253).
    Default,
    /// A numeric table, e.g. `2` for the VPC CNI's second ENI.
    Id(u32),
    /// A name from `/etc/iproute2/rt_tables`.
    Named(String),
}

impl Table {
    fn from_token(s: &str) -> Self {
        match s {
            "main" | "254" => Self::Main,
            "local" | "255" => Self::Local,
            "default" | "253" => Self::Default,
            _ => match s.parse() {
                Ok(n) => Self::Id(n),
                Err(_) => Self::Named(s.to_owned()),
            },
        }
    }
}

/// The route type printed before the destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum RouteType {
    /// No type printed.
    Unicast,
    /// `local`.
    Local,
    /// `broadcast`.
    Broadcast,
    /// `multicast`.
    Multicast,
    /// `anycast`.
    Anycast,
    /// `unreachable`.
    Unreachable,
    /// `blackhole`.
    Blackhole,
    /// `prohibit`.
    Prohibit,
    /// `throw`.
    Throw,
    /// `nat`.
    Nat,
}

impl RouteType {
    fn from_token(s: &str) -> Option<Self> {
        Some(match s {
            "unicast" => Self::Unicast,
            "local" => Self::Local,
            "broadcast" => Self::Broadcast,
            "multicast" => Self::Multicast,
            "anycast" => Self::Anycast,
            "unreachable" => Self::Unreachable,
            "blackhole" => Self::Blackhole,
            "prohibit" => Self::Prohibit,
            "throw" => Self::Throw,
            "nat" => Self::Nat,
            _ => return None,
        })
    }
}

/// A route destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Destination {
    /// `default` (0.0.0.0/0 or ::/0).
    Default,
    /// An address with its prefix length (32 or 128 when none is printed).
    Prefix(Prefix),
}

/// An IP prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Prefix {
    /// Network address.
    pub addr: IpAddr,
    /// Prefix length in bits.
    pub len: u8,
}

impl Prefix {
    /// Parses `addr[/len]`; a bare address is a host prefix.
    pub fn parse(s: &str) -> Option<Self> {
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => (IpAddr::from_str(a).ok()?, Some(l.parse::<u8>().ok()?)),
            None => (IpAddr::from_str(s).ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = len.unwrap_or(max);
        (len <= max).then_some(Self { addr, len })
    }

    /// Whether `ip` lies inside this prefix.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.len)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.len))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// One route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    /// 1-based input line of the route head.
    pub line: usize,
    /// Route type.
    pub route_type: RouteType,
    /// Destination.
    pub destination: Destination,
    /// Table (`main` when not printed).
    pub table: Table,
    /// `via` gateway.
    pub gateway: Option<IpAddr>,
    /// `dev` output device.
    pub dev: Option<String>,
    /// `proto` (kernel, boot, static, dhcp, ra, or a number).
    pub proto: Option<String>,
    /// `scope` (link, host, global, or a number).
    pub scope: Option<String>,
    /// `src` preferred source address.
    pub src: Option<IpAddr>,
    /// `metric`.
    pub metric: Option<u32>,
    /// `pref` (IPv6 router preference).
    pub pref: Option<String>,
    /// Flags such as `onlink`, `linkdown`.
    pub flags: Vec<String>,
    /// Other `key value` attributes (mtu, expires, error, …) in order.
    pub other: Vec<(String, String)>,
    /// Multipath next hops.
    pub nexthops: Vec<Nexthop>,
}

/// One `nexthop` of a multipath route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Nexthop {
    /// `via` gateway.
    pub gateway: Option<IpAddr>,
    /// `dev`.
    pub dev: Option<String>,
    /// `weight`.
    pub weight: Option<u32>,
    /// Flags (`onlink`, `dead`, `linkdown`).
    pub flags: Vec<String>,
    /// Other attributes.
    pub other: Vec<(String, String)>,
}

/// Keywords printed with one value, other than those the model types.
const ROUTE_KEYS: &[&str] = &[
    "mtu",
    "advmss",
    "rtt",
    "rttvar",
    "reordering",
    "window",
    "cwnd",
    "initcwnd",
    "initrwnd",
    "ssthresh",
    "realms",
    "rto_min",
    "hoplimit",
    "features",
    "quickack",
    "congctl",
    "fastopen_no_cookie",
    "expires",
    "error",
    "nhid",
    "tos",
    "dsfield",
    "from",
    "weight",
    "encap",
    "ttl-propagate",
    "cache",
];

fn ip(token: Option<&str>, what: &'static str) -> Result<IpAddr, String> {
    let token = token.ok_or_else(|| format!("`{what}` without a value"))?;
    IpAddr::from_str(token).map_err(|_| format!("`{what}` value `{token}` is not an address"))
}

fn value<'a>(it: &mut impl Iterator<Item = &'a str>, key: &str) -> Result<&'a str, String> {
    it.next().ok_or_else(|| format!("`{key}` without a value"))
}

/// `via [inet|inet6] ADDR`.
fn via<'a>(it: &mut std::iter::Peekable<impl Iterator<Item = &'a str>>) -> Result<IpAddr, String> {
    if matches!(it.peek(), Some(&"inet" | &"inet6")) {
        it.next();
    }
    ip(it.next(), "via")
}

fn route(line: usize, text: &str) -> Result<Route, String> {
    let mut it = fields(text).peekable();
    let first = it.next().ok_or("empty line")?;
    let (route_type, dest_token) = match RouteType::from_token(first) {
        Some(t) => (t, it.next().ok_or("route type without a destination")?),
        None => (RouteType::Unicast, first),
    };
    let destination = if dest_token == "default" {
        Destination::Default
    } else {
        Destination::Prefix(
            Prefix::parse(dest_token)
                .ok_or_else(|| format!("destination `{dest_token}` is not a prefix"))?,
        )
    };
    let mut r = Route {
        line,
        route_type,
        destination,
        table: Table::Main,
        gateway: None,
        dev: None,
        proto: None,
        scope: None,
        src: None,
        metric: None,
        pref: None,
        flags: Vec::new(),
        other: Vec::new(),
        nexthops: Vec::new(),
    };
    while let Some(key) = it.next() {
        match key {
            "via" => r.gateway = Some(via(&mut it)?),
            "dev" | "oif" => r.dev = Some(value(&mut it, key)?.to_owned()),
            "table" => r.table = Table::from_token(value(&mut it, key)?),
            "proto" => r.proto = Some(value(&mut it, key)?.to_owned()),
            "scope" => r.scope = Some(value(&mut it, key)?.to_owned()),
            "src" => r.src = Some(ip(it.next(), "src")?),
            "metric" | "priority" | "preference" => {
                let v = value(&mut it, key)?;
                r.metric = Some(v.parse().map_err(|_| format!("bad metric `{v}`"))?);
            }
            "pref" => r.pref = Some(value(&mut it, key)?.to_owned()),
            "nexthop" => r.nexthops.push(nexthop(&mut it)?),
            "mtu" | "advmss" | "window" | "cwnd" | "initcwnd" | "initrwnd" | "hoplimit"
                if it.peek() == Some(&"lock") =>
            {
                it.next();
                let v = value(&mut it, key)?;
                r.other.push((key.to_owned(), format!("lock {v}")));
            }
            _ if ROUTE_KEYS.contains(&key) => {
                let v = value(&mut it, key)?;
                r.other.push((key.to_owned(), v.to_owned()));
            }
            _ => r.flags.push(key.to_owned()),
        }
    }
    Ok(r)
}

/// The attributes after a `nexthop` keyword, up to the next `nexthop`.
fn nexthop<'a>(
    it: &mut std::iter::Peekable<impl Iterator<Item = &'a str>>,
) -> Result<Nexthop, String> {
    let mut hop = Nexthop {
        gateway: None,
        dev: None,
        weight: None,
        flags: Vec::new(),
        other: Vec::new(),
    };
    while let Some(&key) = it.peek() {
        if key == "nexthop" {
            break;
        }
        it.next();
        match key {
            "via" => hop.gateway = Some(via(it)?),
            "dev" => hop.dev = Some(value(it, key)?.to_owned()),
            "weight" => {
                let v = value(it, key)?;
                hop.weight = Some(v.parse().map_err(|_| format!("bad weight `{v}`"))?);
            }
            _ if ROUTE_KEYS.contains(&key) => {
                let v = value(it, key)?;
                hop.other.push((key.to_owned(), v.to_owned()));
            }
            _ => hop.flags.push(key.to_owned()),
        }
    }
    Ok(hop)
}

/// All policy routing rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RuleList {
    /// Rules in input (priority) order.
    pub rules: Vec<Rule>,
    /// Lines that were not rules.
    pub unparsed: Vec<Unparsed>,
}

impl RuleList {
    /// Rules whose action looks up `table`.
    pub fn looking_up<'a>(&'a self, table: &'a Table) -> impl Iterator<Item = &'a Rule> {
        self.rules
            .iter()
            .filter(move |r| r.action == RuleAction::Lookup(table.clone()))
    }
}

/// One `ip rule` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// 1-based input line.
    pub line: usize,
    /// Priority (the number before `:`).
    pub priority: u32,
    /// `not`: the selector is inverted.
    pub not: bool,
    /// `from` prefix; `None` for `from all`.
    pub from: Option<Prefix>,
    /// `to` prefix; `None` when absent or `all`.
    pub to: Option<Prefix>,
    /// `iif` input interface.
    pub iif: Option<String>,
    /// `oif` output interface.
    pub oif: Option<String>,
    /// `fwmark` value and optional mask.
    pub fwmark: Option<Fwmark>,
    /// What the rule does.
    pub action: RuleAction,
    /// Other selector or action attributes (`tos`, `uidrange`, `ipproto`,
    /// `sport`, `dport`, `suppress_prefixlength`, `realms`, `proto`, …) and
    /// flags (`[detached]`, `l3mdev`).
    pub other: Vec<(String, String)>,
}

/// A `fwmark VALUE[/MASK]` selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Fwmark {
    /// Mark value.
    pub value: u32,
    /// Mask (all ones when absent).
    pub mask: Option<u32>,
}

/// The action of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum RuleAction {
    /// `lookup TABLE`.
    Lookup(Table),
    /// `goto PRIORITY`.
    Goto(u32),
    /// `blackhole`.
    Blackhole,
    /// `unreachable`.
    Unreachable,
    /// `prohibit`.
    Prohibit,
    /// `nop`.
    Nop,
    /// No action keyword was printed.
    None,
}

const RULE_KEYS: &[&str] = &[
    "tos",
    "dsfield",
    "uidrange",
    "ipproto",
    "sport",
    "dport",
    "suppress_prefixlength",
    "suppress_ifgroup",
    "realms",
    "proto",
    "tun_id",
    "map-to",
    "nat",
    "pref",
    "priority",
    "dscp",
    "flowlabel",
];

fn number(s: &str) -> Option<u32> {
    match s.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

fn selector_prefix(token: Option<&str>, what: &str) -> Result<Option<Prefix>, String> {
    let token = token.ok_or_else(|| format!("`{what}` without a value"))?;
    if token == "all" {
        return Ok(None);
    }
    Prefix::parse(token)
        .map(Some)
        .ok_or_else(|| format!("`{what}` value `{token}` is not a prefix"))
}

fn rule(line: usize, raw: &str) -> Result<Rule, String> {
    let (prio, rest) = raw
        .split_once(':')
        .ok_or("expected `PRIORITY:` at the start")?;
    let priority = prio
        .trim()
        .parse()
        .map_err(|_| format!("priority `{}` is not a number", prio.trim()))?;
    let mut r = Rule {
        line,
        priority,
        not: false,
        from: None,
        to: None,
        iif: None,
        oif: None,
        fwmark: None,
        action: RuleAction::None,
        other: Vec::new(),
    };
    let mut it = fields(rest);
    while let Some(key) = it.next() {
        match key {
            "not" => r.not = true,
            "from" => r.from = selector_prefix(it.next(), "from")?,
            "to" => r.to = selector_prefix(it.next(), "to")?,
            "iif" => r.iif = Some(value(&mut it, key)?.to_owned()),
            "oif" => r.oif = Some(value(&mut it, key)?.to_owned()),
            "fwmark" => {
                let v = value(&mut it, key)?;
                let (val, mask) = match v.split_once('/') {
                    Some((a, m)) => (a, Some(m)),
                    None => (v, None),
                };
                let bad = || format!("bad fwmark `{v}`");
                r.fwmark = Some(Fwmark {
                    value: number(val).ok_or_else(bad)?,
                    mask: match mask {
                        Some(m) => Some(number(m).ok_or_else(bad)?),
                        None => None,
                    },
                });
            }
            "lookup" | "table" => {
                r.action = RuleAction::Lookup(Table::from_token(value(&mut it, key)?))
            }
            "goto" => {
                let v = value(&mut it, key)?;
                r.action = RuleAction::Goto(v.parse().map_err(|_| format!("bad goto `{v}`"))?);
            }
            "blackhole" => r.action = RuleAction::Blackhole,
            "unreachable" => r.action = RuleAction::Unreachable,
            "prohibit" => r.action = RuleAction::Prohibit,
            "nop" => r.action = RuleAction::Nop,
            _ if RULE_KEYS.contains(&key) => {
                let v = value(&mut it, key)?;
                r.other.push((key.to_owned(), v.to_owned()));
            }
            _ => r.other.push((key.to_owned(), String::new())),
        }
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_route(input: &str, expect: &str) {
        let got = match route(1, input) {
            Ok(r) => format!(
                "{:?} {:?} {:?} gw={:?} dev={:?} proto={:?} scope={:?} src={:?} metric={:?} pref={:?} flags={:?} other={:?} hops={}",
                r.route_type,
                r.destination,
                r.table,
                r.gateway,
                r.dev,
                r.proto,
                r.scope,
                r.src,
                r.metric,
                r.pref,
                r.flags,
                r.other,
                r.nexthops.len()
            ),
            Err(e) => format!("ERR {e}"),
        };
        assert_eq!(got, expect);
    }

    #[test]
    fn routes() {
        check_route(
            "default via 10.0.0.1 dev eth0",
            "Unicast Default Main gw=Some(10.0.0.1) dev=Some(\"eth0\") proto=None scope=None src=None metric=None pref=None flags=[] other=[] hops=0",
        );
        check_route(
            "local 10.0.12.34 dev eth0 table local proto kernel scope host src 10.0.12.34",
            "Local Prefix(Prefix { addr: 10.0.12.34, len: 32 }) Local gw=None dev=Some(\"eth0\") proto=Some(\"kernel\") scope=Some(\"host\") src=Some(10.0.12.34) metric=None pref=None flags=[] other=[] hops=0",
        );
        check_route(
            "unreachable default dev lo proto kernel metric 4294967295 error -101 pref medium",
            "Unreachable Default Main gw=None dev=Some(\"lo\") proto=Some(\"kernel\") scope=None src=None metric=Some(4294967295) pref=Some(\"medium\") flags=[] other=[(\"error\", \"-101\")] hops=0",
        );
        check_route(
            "default via inet6 fe80::1 dev eth0 table 2 mtu lock 9001 onlink",
            "Unicast Default Id(2) gw=Some(fe80::1) dev=Some(\"eth0\") proto=None scope=None src=None metric=None pref=None flags=[\"onlink\"] other=[(\"mtu\", \"lock 9001\")] hops=0",
        );
        check_route(
            "default proto static metric 1024 nexthop via 10.0.0.1 dev eth0 weight 1 nexthop via 10.0.1.1 dev eth1 weight 2",
            "Unicast Default Main gw=None dev=None proto=Some(\"static\") scope=None src=None metric=Some(1024) pref=None flags=[] other=[] hops=2",
        );
        check_route(
            "10.0.0.0/33 dev eth0",
            "ERR destination `10.0.0.0/33` is not a prefix",
        );
        check_route("default via", "ERR `via` without a value");
        check_route(
            "default via banana",
            "ERR `via` value `banana` is not an address",
        );
    }

    #[track_caller]
    fn check_rule(input: &str, expect: &str) {
        let got = match rule(1, input) {
            Ok(r) => format!(
                "{} not={} from={:?} to={:?} iif={:?} fwmark={:?} {:?} {:?}",
                r.priority, r.not, r.from, r.to, r.iif, r.fwmark, r.action, r.other
            ),
            Err(e) => format!("ERR {e}"),
        };
        assert_eq!(got, expect);
    }

    #[test]
    fn rules() {
        check_rule(
            "0:\tfrom all lookup local",
            "0 not=false from=None to=None iif=None fwmark=None Lookup(Local) []",
        );
        check_rule(
            "512:\tfrom all to 10.0.45.6 lookup main",
            "512 not=false from=None to=Some(Prefix { addr: 10.0.45.6, len: 32 }) iif=None fwmark=None Lookup(Main) []",
        );
        check_rule(
            "1024:\tfrom all fwmark 0x80/0x80 lookup main",
            "1024 not=false from=None to=None iif=None fwmark=Some(Fwmark { value: 128, mask: Some(128) }) Lookup(Main) []",
        );
        check_rule(
            "32765:\tnot from all iif lo lookup 100 [detached]",
            "32765 not=true from=None to=None iif=Some(\"lo\") fwmark=None Lookup(Id(100)) [(\"[detached]\", \"\")]",
        );
        check_rule("banana", "ERR expected `PRIORITY:` at the start");
        check_rule("x:\tfrom all", "ERR priority `x` is not a number");
    }

    #[test]
    fn prefix_contains() {
        let p = Prefix::parse("10.0.0.0/19").unwrap();
        assert!(p.contains("10.0.31.255".parse().unwrap()));
        assert!(!p.contains("10.0.32.0".parse().unwrap()));
        assert!(
            Prefix::parse("0.0.0.0/0")
                .unwrap()
                .contains("1.2.3.4".parse().unwrap())
        );
        assert!(
            Prefix::parse("fe80::/64")
                .unwrap()
                .contains("fe80::1".parse().unwrap())
        );
    }

    #[test]
    fn multipath_lines() {
        let parsed = parse_routes(
            "default proto static metric 1024\n\tnexthop via 10.0.0.1 dev eth0 weight 1\n\tnexthop via 10.0.1.1 dev eth1 weight 1\n",
        );
        assert!(parsed.diagnostics.is_empty());
        assert_eq!(parsed.value.routes[0].nexthops.len(), 2);
        assert_eq!(
            parse_routes("\tnexthop via 10.0.0.1\n").diagnostics.len(),
            1
        );
    }
}
