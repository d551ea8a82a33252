//! Leaf parsers and printers for option values: addresses, ports, marks,
//! protocols, TCP flags, NAT ranges.
//!
//! ```text
//! ipnet      = addr [ "/" ( prefix | dotted-mask ) ]
//! port-range = [ port ] [ ":" [ port ] ]          ; "80", "1024:65535", ":4", "4:"
//! mark       = number [ "/" number ]               ; number = "0x" hex | decimal
//! nat-range  = [ addr [ "-" addr ] ] [ ":" port [ "-" port [ "/" port ] ] ]
//!            | "[" addr6 "]" [ ":" … ]
//! tcp-flags  = flag { "," flag }                   ; FIN SYN RST PSH ACK URG ALL NONE
//! ```

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

use memchr::memchr;

use crate::iptables::model::{CtState, IpNet, MarkMask, NatRange, PortRange, Protocol};

/// Parses `addr[/prefix]` or `addr/dotted.mask` (contiguous masks only).
pub(crate) fn ipnet(text: &str) -> Option<IpNet> {
    let (addr_text, prefix_text) = match memchr(b'/', text.as_bytes()) {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    let addr = ip(addr_text)?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix_text {
        None => max,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            let n: u8 = p.parse().ok()?;
            if n > max {
                return None;
            }
            n
        }
        Some(p) => {
            let mask: Ipv4Addr = p.parse().ok()?;
            let bits = u32::from(mask);
            if bits.leading_ones() + bits.trailing_zeros() != 32 {
                return None;
            }
            u8::try_from(bits.leading_ones()).ok()?
        }
    };
    Some(IpNet { addr, prefix })
}

/// Parses an IPv4 or IPv6 address as [`IpAddr`]'s `FromStr` does.
///
/// A plain dotted quad is read by hand (half the cost of `FromStr`, which
/// tries several forms); anything else, including every form the fast path
/// declines, goes to `FromStr`, so the two cannot disagree.
pub(crate) fn ip(text: &str) -> Option<IpAddr> {
    match dotted_quad(text.as_bytes()) {
        Some(v4) => Some(IpAddr::V4(v4)),
        None => text.parse().ok(),
    }
}

/// Reads `a.b.c.d` with one to three digits per octet and no leading zero.
fn dotted_quad(bytes: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut rest = bytes;
    for (index, octet) in octets.iter_mut().enumerate() {
        let len = rest.iter().position(|&b| b == b'.').unwrap_or(rest.len());
        let (part, tail) = rest.split_at(len);
        if part.is_empty() || part.len() > 3 || (part.len() > 1 && part[0] == b'0') {
            return None;
        }
        let mut value = 0u16;
        for &digit in part {
            if !digit.is_ascii_digit() {
                return None;
            }
            value = value * 10 + u16::from(digit - b'0');
        }
        *octet = u8::try_from(value).ok()?;
        rest = if index < 3 {
            tail.strip_prefix(b".")?
        } else if tail.is_empty() {
            tail
        } else {
            return None;
        };
    }
    Some(Ipv4Addr::from(octets))
}

/// Prints an [`IpNet`] the way iptables-save does: always with `/prefix`.
pub(crate) fn write_ipnet(out: &mut String, net: &IpNet) {
    push_ip(out, net.addr);
    out.push('/');
    push_decimal(out, net.prefix);
}

/// Appends `n` in decimal.
///
/// Rendering is on the parse path (every rule is printed once to learn
/// whether its text must be kept), and `core::fmt` took a fifth of parse
/// time printing numbers and addresses.
pub(crate) fn push_decimal(out: &mut String, n: impl itoa::Integer) {
    out.push_str(itoa::Buffer::new().format(n));
}

/// Appends an address as its `Display` prints it, IPv4 without `core::fmt`.
pub(crate) fn push_ip(out: &mut String, addr: IpAddr) {
    match addr {
        IpAddr::V4(v4) => {
            // Digits go to a stack buffer first: one append instead of seven.
            let mut text = [0u8; 15];
            let mut len = 0;
            for (index, octet) in v4.octets().into_iter().enumerate() {
                if index > 0 {
                    text[len] = b'.';
                    len += 1;
                }
                if octet >= 100 {
                    text[len] = b'0' + octet / 100;
                    len += 1;
                }
                if octet >= 10 {
                    text[len] = b'0' + octet / 10 % 10;
                    len += 1;
                }
                text[len] = b'0' + octet % 10;
                len += 1;
            }
            // Digits and dots only, so this is always valid UTF-8.
            if let Ok(text) = std::str::from_utf8(&text[..len]) {
                out.push_str(text);
            }
        }
        // IPv6 text has compression rules (RFC 5952) best left to std.
        IpAddr::V6(v6) => {
            let _ = write!(out, "{v6}");
        }
    }
}

/// Parses a port or port range (`80`, `1024:65535`, `:4`, `4:`, `:`).
pub(crate) fn port_range(text: &str) -> Option<PortRange> {
    let (first, last) = match text.split_once(':') {
        None => {
            let p = port(text)?;
            (p, p)
        }
        Some((a, b)) => (
            if a.is_empty() { 0 } else { port(a)? },
            if b.is_empty() { u16::MAX } else { port(b)? },
        ),
    };
    (first <= last).then_some(PortRange { first, last })
}

/// Parses a decimal port number or a well-known service name (what
/// `getservbyname` would resolve on a node; iptables-save prints numbers).
pub(crate) fn port(text: &str) -> Option<u16> {
    if text.is_empty() || text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return SERVICES
            .iter()
            .find(|(name, _)| *name == text)
            .map(|(_, port)| *port);
    }
    text.parse().ok()
}

/// Well-known service names from `/etc/services` that appear in rulesets.
const SERVICES: [(&str, u16); 24] = [
    ("ftp-data", 20),
    ("ftp", 21),
    ("ssh", 22),
    ("telnet", 23),
    ("smtp", 25),
    ("domain", 53),
    ("bootps", 67),
    ("bootpc", 68),
    ("tftp", 69),
    ("http", 80),
    ("pop3", 110),
    ("ntp", 123),
    ("imap", 143),
    ("snmp", 161),
    ("bgp", 179),
    ("ldap", 389),
    ("https", 443),
    ("submission", 587),
    ("ldaps", 636),
    ("imaps", 993),
    ("pop3s", 995),
    ("mysql", 3306),
    ("postgresql", 5432),
    ("http-alt", 8080),
];

/// Appends a `--probability` as iptables-save prints it (`%.11f`), the same
/// text as `format!("{p:.11}")`.
///
/// The statistic module stores a probability as k/2^31, so a parsed one is
/// a dyadic fraction whose decimal expansion integer arithmetic gives
/// exactly; rounding the twelfth digit half to even matches `core::fmt`,
/// which takes ten times as long. Other values go through `core::fmt`.
pub(crate) fn write_probability(out: &mut String, p: f64) {
    const SCALE: f64 = 2_147_483_648.0;
    const DIGITS: u128 = 100_000_000_000;
    let scaled = p * SCALE;
    let dyadic = p.is_sign_positive() && (0.0..=SCALE).contains(&scaled) && scaled.fract() == 0.0;
    if !dyadic {
        let _ = write!(out, "{p:.11}");
        return;
    }
    // `scaled` is a whole number in 0..=2^31, so the cast is exact.
    let exact = scaled as u128 * DIGITS;
    let mut fixed = exact >> 31;
    let remainder = exact & ((1 << 31) - 1);
    let half = 1 << 30;
    if remainder > half || (remainder == half && fixed % 2 == 1) {
        fixed += 1;
    }
    push_decimal(out, fixed / DIGITS);
    out.push('.');
    let mut buffer = itoa::Buffer::new();
    let fraction = buffer.format(fixed % DIGITS);
    for _ in fraction.len()..11 {
        out.push('0');
    }
    out.push_str(fraction);
}

/// Prints a port range with `:` (`80`, `1024:65535`).
pub(crate) fn write_port_range(out: &mut String, range: PortRange) {
    push_decimal(out, range.first);
    if range.first != range.last {
        out.push(':');
        push_decimal(out, range.last);
    }
}

/// Parses a list of ports and ranges (`53,1024:65535`).
pub(crate) fn port_list(text: &str) -> Option<Vec<PortRange>> {
    text.split(',').map(port_range).collect()
}

/// Parses a 32-bit number in hex (`0x4000`) or decimal.
pub(crate) fn u32_number(text: &str) -> Option<u32> {
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        if hex.is_empty() || hex.len() > 8 {
            return None;
        }
        u32::from_str_radix(hex, 16).ok()
    } else if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse().ok()
    } else {
        None
    }
}

/// Parses a decimal 32-bit number.
pub(crate) fn u32_decimal(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Parses `value[/mask]`; the mask defaults to all bits.
pub(crate) fn mark_mask(text: &str) -> Option<MarkMask> {
    match text.split_once('/') {
        Some((v, m)) => Some(MarkMask {
            value: u32_number(v)?,
            mask: u32_number(m)?,
        }),
        None => Some(MarkMask {
            value: u32_number(text)?,
            mask: u32::MAX,
        }),
    }
}

/// Prints `0xvalue[/0xmask]`, omitting an all-ones mask.
pub(crate) fn write_mark_mask(out: &mut String, mark: MarkMask) {
    let _ = write!(out, "0x{:x}", mark.value);
    if mark.mask != u32::MAX {
        let _ = write!(out, "/0x{:x}", mark.mask);
    }
}

/// Parses a `-p` protocol name or number.
pub(crate) fn protocol(text: &str) -> Protocol {
    match text {
        "tcp" | "TCP" | "6" => Protocol::Tcp,
        "udp" | "UDP" | "17" => Protocol::Udp,
        "icmp" | "ICMP" | "1" => Protocol::Icmp,
        "icmpv6" | "ipv6-icmp" => Protocol::Icmpv6(text.to_owned()),
        "58" => Protocol::Icmpv6("ipv6-icmp".to_owned()),
        "sctp" | "SCTP" | "132" => Protocol::Sctp,
        "all" | "ALL" | "0" => Protocol::All,
        _ => match text.parse::<u8>() {
            Ok(n) => Protocol::Number(n),
            Err(_) => Protocol::Other(text.to_owned()),
        },
    }
}

impl Protocol {
    /// The IP protocol number, when known.
    pub fn number(&self) -> Option<u8> {
        match self {
            Protocol::Tcp => Some(6),
            Protocol::Udp => Some(17),
            Protocol::Icmp => Some(1),
            Protocol::Icmpv6(_) => Some(58),
            Protocol::Sctp => Some(132),
            Protocol::All => Some(0),
            Protocol::Number(n) => Some(*n),
            Protocol::Other(name) => match name.as_str() {
                "udplite" => Some(136),
                "dccp" => Some(33),
                "esp" => Some(50),
                "ah" => Some(51),
                "gre" => Some(47),
                "mh" | "ipv6-mh" => Some(135),
                _ => None,
            },
        }
    }

    /// The name as iptables-save prints it.
    pub fn as_str(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Protocol::Tcp => "tcp".into(),
            Protocol::Udp => "udp".into(),
            Protocol::Icmp => "icmp".into(),
            Protocol::Icmpv6(name) | Protocol::Other(name) => name.as_str().into(),
            Protocol::Sctp => "sctp".into(),
            Protocol::All => "all".into(),
            Protocol::Number(n) => n.to_string().into(),
        }
    }
}

/// Parses a `--ctproto` value into a protocol number (0 is rejected, as
/// iptables does).
pub(crate) fn proto_number(text: &str) -> Option<u8> {
    let n = protocol(text).number()?;
    (n != 0).then_some(n)
}

/// Parses a comma-separated state list and puts it in canonical order.
pub(crate) fn ct_states(text: &str) -> Option<Vec<CtState>> {
    let mut states = Vec::with_capacity(2);
    for word in text.split(',') {
        states.push(match word {
            "INVALID" => CtState::Invalid,
            "NEW" => CtState::New,
            "RELATED" => CtState::Related,
            "ESTABLISHED" => CtState::Established,
            "UNTRACKED" => CtState::Untracked,
            "SNAT" => CtState::Snat,
            "DNAT" => CtState::Dnat,
            "" => return None,
            // The kernel knows no other state; iptables refuses the rule.
            _ => return None,
        });
    }
    states.sort();
    states.dedup();
    Some(states)
}

/// Prints a state list joined by commas.
pub(crate) fn write_ct_states(out: &mut String, states: &[CtState]) {
    for (i, state) in states.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(match state {
            CtState::Invalid => "INVALID",
            CtState::New => "NEW",
            CtState::Related => "RELATED",
            CtState::Established => "ESTABLISHED",
            CtState::Untracked => "UNTRACKED",
            CtState::Snat => "SNAT",
            CtState::Dnat => "DNAT",
            CtState::Other(word) => word,
        });
    }
}

const TCP_FLAG_NAMES: [(&str, u8); 6] = [
    ("FIN", 0x01),
    ("SYN", 0x02),
    ("RST", 0x04),
    ("PSH", 0x08),
    ("ACK", 0x10),
    ("URG", 0x20),
];

/// Parses a TCP flag list (`FIN,SYN,RST,ACK`, `ALL`, `NONE`).
pub(crate) fn tcp_flags(text: &str) -> Option<u8> {
    let mut bits = 0u8;
    for word in text.split(',') {
        bits |= match word {
            "ALL" => 0x3f,
            "NONE" => 0,
            _ => {
                TCP_FLAG_NAMES
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(word))?
                    .1
            }
        };
    }
    Some(bits)
}

/// Prints TCP flags as iptables-save does (`NONE` for none).
pub(crate) fn write_tcp_flags(out: &mut String, bits: u8) {
    if bits == 0 {
        out.push_str("NONE");
        return;
    }
    let mut first = true;
    for (name, bit) in TCP_FLAG_NAMES {
        if bits & bit != 0 {
            if !first {
                out.push(',');
            }
            out.push_str(name);
            first = false;
        }
    }
}

/// Parses a NAT range for `--to-destination` / `--to-source`.
pub(crate) fn nat_range(text: &str) -> Option<NatRange> {
    let (addr_part, port_part) = if let Some(rest) = text.strip_prefix('[') {
        // IPv6 with brackets: [a]-[b]:ports or [a]:ports.
        let close = rest.find(']')?;
        let first = &rest[..close];
        let after = &rest[close + 1..];
        let (last, after) = match after.strip_prefix("-[") {
            Some(r) => {
                let close = r.find(']')?;
                (Some(&r[..close]), &r[close + 1..])
            }
            None => (None, after),
        };
        let ports = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return None,
        };
        let addr = ip(first)?;
        let addr_last = match last {
            Some(last) => Some(ip(last)?),
            None => None,
        };
        return finish_nat(Some(addr), addr_last, ports);
    } else {
        let bytes = text.as_bytes();
        match bytes.iter().position(|&b| b == b':') {
            // Bare IPv6 address (possibly a range), no ports.
            Some(at) if bytes[at + 1..].contains(&b':') => (text, None),
            Some(at) => (&text[..at], Some(&text[at + 1..])),
            None => (text, None),
        }
    };
    let (addr, addr_last) = if addr_part.is_empty() {
        (None, None)
    } else {
        match addr_part.split_once('-') {
            Some((a, b)) if !a.contains(':') => (Some(ip(a)?), Some(ip(b)?)),
            _ => (Some(ip(addr_part)?), None),
        }
    };
    finish_nat(addr, addr_last, port_part)
}

fn finish_nat(
    addr: Option<IpAddr>,
    addr_last: Option<IpAddr>,
    ports: Option<&str>,
) -> Option<NatRange> {
    let (ports, base_port) = match ports {
        None => (None, None),
        Some(p) => {
            let (range, base) = match p.split_once('/') {
                Some((r, b)) => (r, Some(port(b)?)),
                None => (p, None),
            };
            let range = match port(range) {
                Some(p) => PortRange { first: p, last: p },
                None => {
                    let (a, b) = range.split_once('-')?;
                    PortRange {
                        first: port(a)?,
                        last: port(b)?,
                    }
                }
            };
            if range.first > range.last || base == Some(0) {
                return None;
            }
            (Some(range), base)
        }
    };
    if addr.is_none() && ports.is_none() {
        return None;
    }
    Some(NatRange {
        addr,
        addr_last,
        ports,
        base_port,
    })
}

/// Prints a NAT range as iptables-save does.
pub(crate) fn write_nat_range(out: &mut String, range: &NatRange) {
    let v6 = matches!(range.addr, Some(IpAddr::V6(_)));
    let bracket = v6 && range.ports.is_some();
    let push_addr = |out: &mut String, addr: IpAddr| {
        if bracket {
            out.push('[');
            push_ip(out, addr);
            out.push(']');
        } else {
            push_ip(out, addr);
        }
    };
    if let Some(addr) = range.addr {
        push_addr(out, addr);
        if let Some(last) = range.addr_last {
            out.push('-');
            push_addr(out, last);
        }
    }
    if let Some(ports) = range.ports {
        out.push(':');
        push_decimal(out, ports.first);
        if ports.last != ports.first {
            out.push('-');
            push_decimal(out, ports.last);
        }
        if let Some(base) = range.base_port {
            out.push('/');
            push_decimal(out, base);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check<T: std::fmt::Debug + PartialEq>(got: T, expect: T) {
        assert_eq!(got, expect);
    }

    proptest::proptest! {
        #[test]
        fn addresses_parse_like_from_str(text in "[0-9.:a-f]{0,18}") {
            proptest::prop_assert_eq!(ip(&text), text.parse::<IpAddr>().ok());
        }

        #[test]
        fn dotted_quads_parse_like_from_str(text in "(0|00|1|09|25[0-9]|2[0-9][0-9]|[0-9]{1,4})(\\.(0|01|[0-9]{1,4})){0,4}") {
            proptest::prop_assert_eq!(ip(&text), text.parse::<IpAddr>().ok());
        }
    }

    proptest::proptest! {
        #[test]
        fn addresses_print_like_display(octets in proptest::array::uniform4(0u8..=255)) {
            let addr = IpAddr::from(octets);
            let mut out = String::new();
            push_ip(&mut out, addr);
            proptest::prop_assert_eq!(out, addr.to_string());
        }
    }

    #[track_caller]
    fn check_probability(p: f64) {
        let mut out = String::new();
        write_probability(&mut out, p);
        assert_eq!(out, format!("{p:.11}"), "{p:e}");
    }

    #[test]
    fn probabilities_print_like_core_fmt() {
        // Every exact tie at the twelfth digit: k/2^31 with k an odd
        // multiple of 2^19.
        for k in 0..=4096u32 {
            check_probability(f64::from(k) * 524_288.0 / 2_147_483_648.0);
        }
        for p in [
            0.0,
            -0.0,
            1.0,
            0.5,
            0.33333333349,
            0.1,
            1.5,
            -0.25,
            3e-12,
            f64::NAN,
        ] {
            check_probability(p);
        }
    }

    proptest::proptest! {
        #[test]
        fn quantised_probabilities_print_like_core_fmt(k in 0..=2_147_483_648u32) {
            check_probability(f64::from(k) / 2_147_483_648.0);
        }
    }

    #[test]
    fn ipnets() {
        let v4 = |s: &str| s.parse::<IpAddr>().unwrap();
        check(
            ipnet("10.0.0.0/8"),
            Some(IpNet {
                addr: v4("10.0.0.0"),
                prefix: 8,
            }),
        );
        check(
            ipnet("172.30.0.41"),
            Some(IpNet {
                addr: v4("172.30.0.41"),
                prefix: 32,
            }),
        );
        check(
            ipnet("10.0.0.0/255.255.0.0"),
            Some(IpNet {
                addr: v4("10.0.0.0"),
                prefix: 16,
            }),
        );
        check(
            ipnet("fd00::/8"),
            Some(IpNet {
                addr: v4("fd00::"),
                prefix: 8,
            }),
        );
        check(ipnet("10.0.0.0/33"), None);
        check(ipnet("10.0.0.0/255.0.255.0"), None);
        check(ipnet("localhost"), None);
    }

    #[test]
    fn ports() {
        check(
            port_range("80"),
            Some(PortRange {
                first: 80,
                last: 80,
            }),
        );
        check(
            port_range("1024:65535"),
            Some(PortRange {
                first: 1024,
                last: 65535,
            }),
        );
        check(port_range(":4"), Some(PortRange { first: 0, last: 4 }));
        check(
            port_range("4:"),
            Some(PortRange {
                first: 4,
                last: 65535,
            }),
        );
        check(port_range("4:3"), None);
        check(port_range("65536"), None);
        check(
            port_range("ssh"),
            Some(PortRange {
                first: 22,
                last: 22,
            }),
        );
        check(port_range("echo-ssh"), None);
        check(port_list("53,80:90").map(|v| v.len()), Some(2));
    }

    #[test]
    fn marks() {
        check(
            mark_mask("0x4000/0x4000"),
            Some(MarkMask {
                value: 0x4000,
                mask: 0x4000,
            }),
        );
        check(
            mark_mask("4294967295"),
            Some(MarkMask {
                value: u32::MAX,
                mask: u32::MAX,
            }),
        );
        check(mark_mask("4294967296"), None);
        check(mark_mask("-1"), None);
    }

    #[test]
    fn flags() {
        check(tcp_flags("FIN,SYN,RST,ACK"), Some(0x17));
        check(tcp_flags("ALL"), Some(0x3f));
        check(tcp_flags("BOGUS"), None);
        let mut out = String::new();
        write_tcp_flags(&mut out, 0x17);
        check(out.as_str(), "FIN,SYN,RST,ACK");
    }

    #[test]
    fn nat_ranges() {
        let round = |s: &str| {
            nat_range(s).map(|r| {
                let mut out = String::new();
                write_nat_range(&mut out, &r);
                out
            })
        };
        for ok in [
            "10.0.1.5:8080",
            "1.1.1.1-1.1.1.10:1025-65535",
            "1.1.1.1:1000-2000/1000",
            "1.1.1.1",
            "fd00::1",
            "[fd00::1]:80",
            ":8080",
        ] {
            check(round(ok).as_deref(), Some(ok));
        }
        check(nat_range("1.1.1.1:echo-ssh"), None);
        check(nat_range("1.1.1.1:1000-2000/0"), None);
        check(nat_range(""), None);
    }
}
