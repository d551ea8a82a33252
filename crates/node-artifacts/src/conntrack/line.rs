//! Leaf parsers for one flow or expectation line.
//!
//! These run a million times on a full table, so they work on borrowed
//! tokens, parse numbers and IPv4 addresses by hand and allocate nothing for
//! a well-formed common line. A key design decision is to tokenize first
//! (split on blanks, keeping `[start=Thu Nov 26 06:09:12 2026]` in one token)
//! and then walk the tokens with a small state machine, rather than to use
//! parser combinators: field order varies with options and versions
//! (`zone-orig=` or counters inside a tuple, `[UNREPLIED]` between tuples), and
//! a keyed walk accepts every order while a failed combinator would have to
//! backtrack.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::model::{
    Counters, Entry, Expectation, Family, Flags, FlowCounters, L4, Protocol, State, Tuple,
};

/// Splits `line` on ASCII whitespace into `out` (cleared first). A token that
/// opens with `[` runs to the next `]`, blanks included.
///
/// Splitting on exactly the bytes that `str::trim_ascii` removes keeps
/// rendering lossless: no token can end in a byte that trimming a rendered
/// line would drop (a fuzzer found `k=0\r` at the end of a line).
pub(crate) fn tokenize<'a>(line: &'a str, out: &mut Vec<&'a str>) {
    out.clear();
    let bytes = line.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        while at < bytes.len() && bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        if at >= bytes.len() {
            break;
        }
        let start = at;
        if bytes[at] == b'[' {
            match memchr::memchr(b']', &bytes[at..]) {
                Some(close) => at += close + 1,
                None => at = bytes.len(),
            }
            // A closing bracket glued to more text stays one token.
            while at < bytes.len() && !bytes[at].is_ascii_whitespace() {
                at += 1;
            }
        } else {
            while at < bytes.len() && !bytes[at].is_ascii_whitespace() {
                at += 1;
            }
        }
        out.push(&line[start..at]);
    }
}

/// What a token list starts with, once an optional event tag is removed.
pub(crate) fn looks_like_flow(tokens: &[&str]) -> bool {
    match tokens.first() {
        Some(&first) => {
            matches!(
                first,
                "ipv4"
                    | "ipv6"
                    | "tcp"
                    | "udp"
                    | "udplite"
                    | "icmp"
                    | "icmpv6"
                    | "sctp"
                    | "dccp"
                    | "gre"
                    | "unknown"
            ) || first.starts_with("proto=")
                || (is_digits(first) && tokens.get(1).is_some_and(|t| t.starts_with("proto=")))
        }
        None => false,
    }
}

/// Whether the tokens are an expectation (`[timeout] proto=N …`).
pub(crate) fn is_expectation(tokens: &[&str]) -> bool {
    match tokens {
        [first, ..] if first.starts_with("proto=") => true,
        [first, second, ..] => is_digits(first) && second.starts_with("proto="),
        _ => false,
    }
}

/// A tuple being filled key by key.
#[derive(Default)]
struct PartTuple {
    src: Option<IpAddr>,
    dst: Option<IpAddr>,
    sport: Option<u16>,
    dport: Option<u16>,
    icmp_type: Option<u8>,
    icmp_code: Option<u8>,
    icmp_id: Option<u16>,
    srckey: Option<u16>,
    dstkey: Option<u16>,
    counters: Option<Counters>,
    packets_seen: bool,
}

impl PartTuple {
    fn finish(self, which: &str) -> Result<Tuple, String> {
        let (Some(src), Some(dst)) = (self.src, self.dst) else {
            return Err(format!("{which} tuple lacks src= or dst="));
        };
        let l4 = match (self.sport, self.dport, self.icmp_type, self.srckey) {
            (Some(sport), Some(dport), None, None) => L4::Ports { sport, dport },
            (None, None, Some(kind), None) => match (self.icmp_code, self.icmp_id) {
                (Some(code), Some(id)) => L4::Icmp { kind, code, id },
                _ => return Err(format!("{which} tuple has type= without code= and id=")),
            },
            (None, None, None, Some(srckey)) => match self.dstkey {
                Some(dstkey) => L4::Gre { srckey, dstkey },
                None => return Err(format!("{which} tuple has srckey= without dstkey=")),
            },
            (None, None, None, None) if self.icmp_code.is_none() && self.dstkey.is_none() => {
                L4::None
            }
            _ => return Err(format!("{which} tuple has an incomplete layer-4 part")),
        };
        Ok(Tuple { src, dst, l4 })
    }
}

/// Parses a flow line's tokens (event tag and timestamp already removed).
pub(crate) fn parse_entry(tokens: &[&str], line: u32) -> Result<Entry, String> {
    let mut at = 0;
    let family = match tokens {
        [name, number, next, ..]
            if matches!(*name, "ipv4" | "ipv6" | "unknown")
                && is_digits(number)
                && !is_digits(next)
                && !next.contains('=') =>
        {
            at = 2;
            let number = dec_u16(number).ok_or("layer-3 number out of range")?;
            let family = Family::from_number(number);
            if family.name() != *name {
                return Err(format!(
                    "layer-3 name `{name}` does not match number {number}"
                ));
            }
            Some(family)
        }
        _ => None,
    };
    let (Some(name), Some(number)) = (tokens.get(at), tokens.get(at + 1)) else {
        return Err("missing protocol name and number".to_owned());
    };
    let number = dec_u8(number).ok_or_else(|| format!("invalid protocol number `{number}`"))?;
    let protocol = Protocol::from_number(number);
    if protocol.name() != *name {
        return Err(format!(
            "protocol name `{name}` does not match number {number}"
        ));
    }
    at += 2;
    let mut timeout = None;
    if let Some(token) = tokens.get(at).filter(|token| is_digits(token)) {
        timeout = Some(dec_u32(token).ok_or("timeout out of range")?);
        at += 1;
    }
    let mut state = None;
    let mut state_name = None;
    if let Some(token) = tokens.get(at).filter(|token| is_state_word(token)) {
        let known = State::from_name(token);
        if known == State::Other {
            state_name = Some((*token).to_owned());
        }
        state = Some(known);
        at += 1;
    }

    let mut entry = Entry {
        line,
        family,
        protocol,
        timeout,
        state,
        original: placeholder_tuple(),
        reply: placeholder_tuple(),
        flags: Flags::default(),
        mark: None,
        use_count: None,
        id: None,
        counters: None,
        extra: None,
    };
    if state_name.is_some() {
        entry.extra_mut().state_name = state_name;
    }
    let mut tuples = [PartTuple::default(), PartTuple::default()];
    let mut dir = 0usize;
    for &token in &tokens[at..] {
        if let Some(inner) = token.strip_prefix('[') {
            let Some(inner) = inner.strip_suffix(']') else {
                return Err(format!("unterminated `{token}`"));
            };
            match inner {
                "UNREPLIED" => entry.flags.unreplied = true,
                "ASSURED" => entry.flags.assured = true,
                "OFFLOAD" => entry.flags.offload = true,
                "HW_OFFLOAD" => entry.flags.hw_offload = true,
                _ => {
                    if let Some(start) = inner.strip_prefix("start=") {
                        set_once(&mut entry.extra_mut().start, start.to_owned(), "start")?;
                    } else if let Some(stop) = inner.strip_prefix("stop=") {
                        set_once(&mut entry.extra_mut().stop, stop.to_owned(), "stop")?;
                    } else {
                        entry.extra_mut().unknown_flags.push(inner.to_owned());
                    }
                }
            }
            continue;
        }
        let Some((key, value)) = token.split_once('=') else {
            return Err(format!("unexpected token `{token}`"));
        };
        match key {
            "src" => {
                if tuples[dir].src.is_some() {
                    if dir == 1 {
                        return Err("more than two tuples".to_owned());
                    }
                    dir = 1;
                }
                tuples[dir].src = Some(ip(value).ok_or_else(|| bad(key, value))?);
            }
            "dst" => set_once(
                &mut tuples[dir].dst,
                ip(value).ok_or_else(|| bad(key, value))?,
                key,
            )?,
            "sport" => set_once(
                &mut tuples[dir].sport,
                dec_u16(value).ok_or_else(|| bad(key, value))?,
                key,
            )?,
            "dport" => set_once(
                &mut tuples[dir].dport,
                dec_u16(value).ok_or_else(|| bad(key, value))?,
                key,
            )?,
            "type" => set_once(
                &mut tuples[dir].icmp_type,
                dec_u8(value).ok_or_else(|| bad(key, value))?,
                key,
            )?,
            "code" => set_once(
                &mut tuples[dir].icmp_code,
                dec_u8(value).ok_or_else(|| bad(key, value))?,
                key,
            )?,
            // `id=` is the ICMP identifier inside an ICMP tuple and the
            // conntrack id (`-o id`) after the tuples.
            "id" if protocol.is_icmp()
                && tuples[dir].icmp_type.is_some()
                && tuples[dir].icmp_id.is_none() =>
            {
                tuples[dir].icmp_id = Some(dec_u16(value).ok_or_else(|| bad(key, value))?);
            }
            "id" => set_once(
                &mut entry.id,
                dec_u32(value).ok_or_else(|| bad(key, value))?,
                key,
            )?,
            "srckey" => set_once(
                &mut tuples[dir].srckey,
                hex_u16(value).ok_or_else(|| bad(key, value))?,
                key,
            )?,
            "dstkey" => set_once(
                &mut tuples[dir].dstkey,
                hex_u16(value).ok_or_else(|| bad(key, value))?,
                key,
            )?,
            "packets" => {
                let packets = dec_u64(value).ok_or_else(|| bad(key, value))?;
                let tuple = &mut tuples[dir];
                if tuple.packets_seen {
                    return Err("duplicate `packets`".to_owned());
                }
                tuple.packets_seen = true;
                tuple.counters.get_or_insert_with(Counters::default).packets = packets;
            }
            "bytes" => {
                let bytes = dec_u64(value).ok_or_else(|| bad(key, value))?;
                let tuple = &mut tuples[dir];
                if !tuple.packets_seen {
                    return Err("`bytes` without `packets`".to_owned());
                }
                tuple.counters.get_or_insert_with(Counters::default).bytes = bytes;
            }
            "mark" => set_once(
                &mut entry.mark,
                dec_u32(value).ok_or_else(|| bad(key, value))?,
                key,
            )?,
            "use" => set_once(
                &mut entry.use_count,
                dec_u32(value).ok_or_else(|| bad(key, value))?,
                key,
            )?,
            "secmark" => {
                let secmark = dec_u32(value).ok_or_else(|| bad(key, value))?;
                set_once(&mut entry.extra_mut().secmark, secmark, key)?;
            }
            "zone" => {
                let zone = dec_u16(value).ok_or_else(|| bad(key, value))?;
                set_once(&mut entry.extra_mut().zone, zone, key)?;
            }
            "zone-orig" => {
                let zone = dec_u16(value).ok_or_else(|| bad(key, value))?;
                set_once(&mut entry.extra_mut().zone_orig, zone, key)?;
            }
            "zone-reply" => {
                let zone = dec_u16(value).ok_or_else(|| bad(key, value))?;
                set_once(&mut entry.extra_mut().zone_reply, zone, key)?;
            }
            "delta-time" => {
                let delta = dec_u64(value).ok_or_else(|| bad(key, value))?;
                set_once(&mut entry.extra_mut().delta_time, delta, key)?;
            }
            "secctx" => set_once(&mut entry.extra_mut().secctx, value.to_owned(), key)?,
            "helper" => set_once(&mut entry.extra_mut().helper, value.to_owned(), key)?,
            "labels" => set_once(&mut entry.extra_mut().labels, value.to_owned(), key)?,
            _ => entry
                .extra_mut()
                .unknown
                .push((key.to_owned(), value.to_owned())),
        }
    }
    let [original, reply] = tuples;
    let counters = FlowCounters {
        original: original.counters,
        reply: reply.counters,
    };
    if counters.original.is_some() || counters.reply.is_some() {
        entry.counters = Some(Box::new(counters));
    }
    if original.src.is_none() {
        return Err("missing original tuple".to_owned());
    }
    if reply.src.is_none() {
        return Err("missing reply tuple".to_owned());
    }
    entry.original = original.finish("original")?;
    entry.reply = reply.finish("reply")?;
    Ok(entry)
}

/// Parses an expectation line's tokens (event tag already removed).
pub(crate) fn parse_expectation(tokens: &[&str], line: usize) -> Result<Expectation, String> {
    let mut at = 0;
    let mut timeout = None;
    if let Some(token) = tokens.first().filter(|token| is_digits(token)) {
        timeout = Some(dec_u32(token).ok_or("timeout out of range")?);
        at = 1;
    }
    let mut protocol = None;
    let mut tuples = [
        PartTuple::default(),
        PartTuple::default(),
        PartTuple::default(),
    ];
    let mut which = 0usize;
    let mut zone = None;
    let mut flags = Vec::new();
    let mut class = None;
    let mut helper = None;
    let mut unknown = Vec::new();
    let mut unknown_flags = Vec::new();
    for &token in &tokens[at..] {
        if let Some(inner) = token.strip_prefix('[') {
            let Some(inner) = inner.strip_suffix(']') else {
                return Err(format!("unterminated `{token}`"));
            };
            unknown_flags.push(inner.to_owned());
            continue;
        }
        let Some((key, value)) = token.split_once('=') else {
            if is_state_word(token) {
                flags.push(token.to_owned());
                continue;
            }
            return Err(format!("unexpected token `{token}`"));
        };
        let (slot, field) = match key {
            "src" | "dst" => (0, key),
            "mask-src" => (1, "src"),
            "mask-dst" => (1, "dst"),
            "master-src" => (2, "src"),
            "master-dst" => (2, "dst"),
            other => (which, other),
        };
        match field {
            "proto" => {
                let number = dec_u8(value).ok_or_else(|| bad(key, value))?;
                set_once(&mut protocol, Protocol::from_number(number), key)?;
            }
            "src" => {
                which = slot;
                let addr = ip(value).ok_or_else(|| bad(key, value))?;
                set_once(&mut tuples[slot].src, addr, key)?;
            }
            "dst" => {
                which = slot;
                let addr = ip(value).ok_or_else(|| bad(key, value))?;
                set_once(&mut tuples[slot].dst, addr, key)?;
            }
            "sport" => set_once(
                &mut tuples[slot].sport,
                dec_u16(value).ok_or_else(|| bad(key, value))?,
                key,
            )?,
            "dport" => set_once(
                &mut tuples[slot].dport,
                dec_u16(value).ok_or_else(|| bad(key, value))?,
                key,
            )?,
            "type" => set_once(
                &mut tuples[slot].icmp_type,
                dec_u8(value).ok_or_else(|| bad(key, value))?,
                key,
            )?,
            "code" => set_once(
                &mut tuples[slot].icmp_code,
                dec_u8(value).ok_or_else(|| bad(key, value))?,
                key,
            )?,
            "id" => set_once(
                &mut tuples[slot].icmp_id,
                dec_u16(value).ok_or_else(|| bad(key, value))?,
                key,
            )?,
            "zone" => set_once(
                &mut zone,
                dec_u16(value).ok_or_else(|| bad(key, value))?,
                key,
            )?,
            "class" => set_once(
                &mut class,
                dec_u32(value).ok_or_else(|| bad(key, value))?,
                key,
            )?,
            "helper" => set_once(&mut helper, value.to_owned(), key)?,
            _ => unknown.push((key.to_owned(), value.to_owned())),
        }
    }
    let protocol = protocol.ok_or("expectation lacks proto=")?;
    let [tuple, mask, master] = tuples;
    Ok(Expectation {
        line,
        timeout,
        protocol,
        tuple: tuple.finish("expected")?,
        mask: mask.finish("mask")?,
        master: master.finish("master")?,
        zone,
        flags,
        class,
        helper,
        unknown,
        unknown_flags,
    })
}

fn placeholder_tuple() -> Tuple {
    Tuple {
        src: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        dst: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        l4: L4::None,
    }
}

fn set_once<T>(slot: &mut Option<T>, value: T, key: &str) -> Result<(), String> {
    if slot.is_some() {
        return Err(format!("duplicate `{key}`"));
    }
    *slot = Some(value);
    Ok(())
}

fn bad(key: &str, value: &str) -> String {
    format!("invalid {key} value `{value}`")
}

/// An upper-case word such as `ESTABLISHED` or `PERMANENT`.
pub(crate) fn is_state_word(token: &str) -> bool {
    let bytes = token.as_bytes();
    bytes.first().is_some_and(u8::is_ascii_uppercase)
        && bytes
            .iter()
            .all(|&b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// Whether `token` is a non-empty run of ASCII digits.
pub(crate) fn is_digits(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit())
}

/// Parses a decimal `u64` without sign or blanks.
pub(crate) fn dec_u64(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 20 {
        return None;
    }
    let mut value: u64 = 0;
    for b in text.bytes() {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(digit))?;
    }
    Some(value)
}

/// Parses a decimal `u32`.
pub(crate) fn dec_u32(text: &str) -> Option<u32> {
    dec_u64(text).and_then(|value| u32::try_from(value).ok())
}

/// Parses a decimal `u16` (ports: the commonest number on a line).
pub(crate) fn dec_u16(text: &str) -> Option<u16> {
    if text.is_empty() || text.len() > 5 {
        return None;
    }
    let mut value: u32 = 0;
    for b in text.bytes() {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        value = value * 10 + u32::from(digit);
    }
    u16::try_from(value).ok()
}

/// Parses a decimal `u8`.
pub(crate) fn dec_u8(text: &str) -> Option<u8> {
    dec_u64(text).and_then(|value| u8::try_from(value).ok())
}

/// Parses `0x…` hexadecimal as printed by `%#x`/`0x%x`.
fn hex_u16(text: &str) -> Option<u16> {
    let digits = text.strip_prefix("0x")?;
    if digits.is_empty() || digits.len() > 4 {
        return None;
    }
    u16::from_str_radix(digits, 16).ok()
}

/// Parses hexadecimal without prefix, as `/proc/net/stat` prints it.
pub(crate) fn hex_u64(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 16 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(text, 16).ok()
}

/// Parses an IPv4 address (dotted quad, no leading zeros) or an IPv6 address.
pub(crate) fn ip(text: &str) -> Option<IpAddr> {
    // IPv4 first: it is the common case and fails fast on IPv6 text.
    match ipv4(text) {
        Some(addr) => Some(IpAddr::V4(addr)),
        None => text.parse::<Ipv6Addr>().ok().map(IpAddr::V6),
    }
}

/// A hand-written dotted-quad parser: the hot path of a million-entry table.
fn ipv4(text: &str) -> Option<Ipv4Addr> {
    let bytes = text.as_bytes();
    let mut octets = [0u8; 4];
    let mut octet = 0usize;
    let mut value = 0u16;
    let mut digits = 0usize;
    for &b in bytes {
        if b == b'.' {
            if digits == 0 || octet == 3 {
                return None;
            }
            octets[octet] = u8::try_from(value).ok()?;
            octet += 1;
            value = 0;
            digits = 0;
        } else {
            let digit = b.wrapping_sub(b'0');
            if digit > 9 || digits == 3 || (digits == 1 && value == 0) {
                return None;
            }
            value = value * 10 + u16::from(digit);
            digits += 1;
        }
    }
    if digits == 0 || octet != 3 {
        return None;
    }
    octets[3] = u8::try_from(value).ok()?;
    Some(Ipv4Addr::from(octets))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_ip(input: &str, expect: Option<&str>) {
        assert_eq!(ip(input), expect.map(|e| e.parse().unwrap()), "{input}");
    }

    #[test]
    fn addresses() {
        check_ip("10.0.1.23", Some("10.0.1.23"));
        check_ip("0.0.0.0", Some("0.0.0.0"));
        check_ip("255.255.255.255", Some("255.255.255.255"));
        check_ip("256.1.1.1", None);
        check_ip("01.1.1.1", None);
        check_ip("1.1.1", None);
        check_ip("1.1.1.1.1", None);
        check_ip("1..1.1", None);
        check_ip("1.1.1.", None);
        check_ip("", None);
        check_ip("1.1.1.1000", None);
        check_ip("fd00::a", Some("fd00::a"));
        check_ip("fe80:0000:0000:0000:0000:0000:0000:0001", Some("fe80::1"));
        check_ip("fd00::zz", None);
    }

    #[track_caller]
    fn check_tokens(input: &str, expect: &[&str]) {
        let mut out = Vec::new();
        tokenize(input, &mut out);
        assert_eq!(out, expect);
    }

    #[test]
    fn tokens() {
        check_tokens("", &[]);
        check_tokens("  tcp      6 1\t x=1 ", &["tcp", "6", "1", "x=1"]);
        check_tokens(
            "[ASSURED] [start=Thu Nov 26 06:09:12 2026] use=1",
            &["[ASSURED]", "[start=Thu Nov 26 06:09:12 2026]", "use=1"],
        );
        check_tokens("a [open", &["a", "[open"]);
        check_tokens("[a]b c", &["[a]b", "c"]);
        check_tokens("k=0\r\x0c use=1", &["k=0", "use=1"]);
        check_tokens("k=\u{2003}x", &["k=\u{2003}x"]);
    }

    #[test]
    fn ctime() {
        use crate::conntrack::model::ctime_utc;
        let at = |text: &str| ctime_utc(text).map(|t| t.to_string());
        assert_eq!(
            at("Thu Nov 26 05:38:29 2026").as_deref(),
            Some("2026-11-26T05:38:29.000000Z")
        );
        assert_eq!(
            at("Fri Nov  6 05:38:29 2026").as_deref(),
            Some("2026-11-06T05:38:29.000000Z")
        );
        assert_eq!(at("Thu Nov 26 25:38:29 2026"), None);
        assert_eq!(at("yesterday"), None);
    }

    #[test]
    fn numbers() {
        assert_eq!(dec_u64("18446744073709551615"), Some(u64::MAX));
        assert_eq!(dec_u64("18446744073709551616"), None);
        assert_eq!(dec_u32("4294967296"), None);
        assert_eq!(dec_u16("65535"), Some(65535));
        assert_eq!(dec_u8("-1"), None);
        assert_eq!(hex_u16("0x1f"), Some(0x1f));
        assert_eq!(hex_u16("1f"), None);
        assert_eq!(hex_u64("0000588a"), Some(0x588a));
        assert_eq!(hex_u64("+1"), None);
    }

    #[track_caller]
    fn check_entry(input: &str, expect: Result<&str, &str>) {
        let mut tokens = Vec::new();
        tokenize(input, &mut tokens);
        let got = parse_entry(&tokens, 1).map(|entry| entry.to_string());
        assert_eq!(got.as_deref(), expect.map_err(|e| e.to_owned()).as_deref());
    }

    #[test]
    fn entries() {
        let dns = "udp      17 29 src=10.0.1.23 dst=172.20.0.10 sport=41234 dport=53 [UNREPLIED] src=10.0.2.7 dst=10.0.1.23 sport=53 dport=41234 mark=0 use=1";
        check_entry(dns, Ok(dns));
        let icmp = "icmp     1 29 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=7 src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=7 mark=0 use=1 id=42";
        check_entry(icmp, Ok(icmp));
        let gre = "gre      47 179 src=1.1.1.1 dst=2.2.2.2 srckey=0x1 dstkey=0x0 src=2.2.2.2 dst=1.1.1.1 srckey=0x0 dstkey=0x1 [ASSURED] use=1";
        check_entry(gre, Ok(gre));
        let unknown =
            "unknown  253 599 src=1.1.1.1 dst=2.2.2.2 src=2.2.2.2 dst=1.1.1.1 mark=0 use=1";
        check_entry(unknown, Ok(unknown));
        let extended = "ipv6     10 tcp      6 10 TIME_WAIT src=fd00::1 dst=fd00::2 sport=1 dport=2 src=fd00::2 dst=fd00::1 sport=2 dport=1 [ASSURED] mark=0 zone=3 use=1 foo=bar [weird]";
        check_entry(extended, Ok(extended));
        check_entry(
            "tcp 17 1 src=1.1.1.1 dst=2.2.2.2",
            Err("protocol name `tcp` does not match number 17"),
        );
        check_entry(
            "tcp      6 1 ESTABLISHED src=1.1.1.1 dst=2.2.2.2 sport=1 dport=2",
            Err("missing reply tuple"),
        );
        check_entry(
            "tcp      6 1 src=1.1.1.1 dst=2.2.2.2 sport=99999 dport=2",
            Err("invalid sport value `99999`"),
        );
        check_entry(
            "tcp      6 1 src=1.1.1.1 dst=2.2.2.2 sport=1 src=2.2.2.2 dst=1.1.1.1 sport=2 dport=1",
            Err("original tuple has an incomplete layer-4 part"),
        );
        check_entry(
            "tcp      6 1 src=1.1.1.1 dst=2.2.2.2 src=2.2.2.2 dst=1.1.1.1 src=3.3.3.3",
            Err("more than two tuples"),
        );
        check_entry("tcp      6 1 oops", Err("unexpected token `oops`"));
        check_entry("tcp", Err("missing protocol name and number"));
    }
}
