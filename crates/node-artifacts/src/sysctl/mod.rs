//! `sysctl --all` output (`sysctls/sysctl_all.txt` in the EKS bundle).
//!
//! # Sample
//!
//! ```text
//! net.ipv4.ip_local_port_range = 32768    60999    <- two numbers (a tab between them)
//! net.ipv4.conf.eth0.rp_filter = 1                <- per-interface key
//! net.ipv4.conf.eth0/100.rp_filter = 1            <- `.` in an interface name is printed as `/`
//! kernel.domainname = (none)                      <- values may contain anything
//! kernel.modprobe =                               <- values may be empty
//! sysctl: permission denied on key 'net.ipv6.conf.all.stable_secret'   <- known noise
//! ```
//!
//! # Grammar
//!
//! ```text
//! file    = { line "\n" }
//! line    = entry | noise | blank
//! entry   = key " = " value | key " ="          (* value may be empty *)
//! key     = 1*( any char but space, tab, "=" )
//! value   = *( any char )                       (* kept verbatim *)
//! noise   = "sysctl: " ( "permission denied on key " key-quoted
//!                      | "cannot stat " path ": " reason
//!                      | "reading key " key-quoted
//!                      | other )
//! ```
//!
//! The collector runs `sysctl --all 2> /dev/null`, so the noise lines only
//! appear in files captured by other means; they are recognised rather than
//! reported as unparsed because they carry no parse problem.
//!
//! # Example
//!
//! ```
//! let text = include_str!("../../../../fixtures/sysctl/valid/al2023-m5-large.txt");
//! let sysctls = node_artifacts::sysctl::parse(text).unwrap().value;
//! assert_eq!(sysctls.nf_conntrack_max(), Some(131_072));
//! assert_eq!(sysctls.ip_local_port_range(), Some((32768, 60999)));
//! assert_eq!(sysctls.rp_filter("eth0"), Some(2));
//! ```

use std::collections::BTreeMap;

use serde::Serialize;

use crate::diag::{Diagnostic, Parsed, Unparsed, numbered_lines};
use crate::line_util::{keep_unparsed, parse_u64};

/// Parses `sysctl --all` output.
///
/// # Errors
///
/// [`Error::NotSysctl`] when the input has non-blank lines but none of them
/// is a `key = value` entry or a known `sysctl:` message.
pub fn parse(input: &str) -> Result<Parsed<Sysctls>, Error> {
    let mut sysctls = Sysctls::default();
    let mut diagnostics = Vec::new();
    let mut n_nonblank = 0usize;
    for (line_no, raw) in numbered_lines(input) {
        if raw.trim().is_empty() {
            continue;
        }
        n_nonblank += 1;
        if let Some(rest) = raw.strip_prefix("sysctl: ") {
            sysctls.noise.push(NoiseLine {
                line: line_no,
                kind: noise_kind(rest),
                raw: raw.to_owned(),
            });
            continue;
        }
        match entry(raw) {
            Ok((key, value)) => {
                sysctls.entries.push(Entry {
                    line: line_no,
                    key: key.to_owned(),
                    value: value.to_owned(),
                });
            }
            Err(reason) => {
                sysctls
                    .unparsed
                    .push(keep_unparsed(&mut diagnostics, line_no, raw, reason));
            }
        }
    }
    // Build the map in bulk: `sysctl --all` prints keys nearly sorted, so a
    // stable sort of the entry order is close to linear, and the BTreeMap is
    // then built from sorted input instead of by one descent per key.
    let mut order: Vec<usize> = (0..sysctls.entries.len()).collect();
    order.sort_by(|&a, &b| sysctls.entries[a].key.cmp(&sysctls.entries[b].key));
    for pair in order.windows(2) {
        let (earlier, later) = (&sysctls.entries[pair[0]], &sysctls.entries[pair[1]]);
        if earlier.key == later.key {
            diagnostics.push(Diagnostic {
                line: later.line,
                reason: format!(
                    "duplicate key `{}`; the last value wins in the map",
                    later.key
                ),
            });
        }
    }
    diagnostics.sort_by_key(|d| d.line);
    sysctls.map = order
        .iter()
        .map(|&i| {
            (
                sysctls.entries[i].key.clone(),
                sysctls.entries[i].value.clone(),
            )
        })
        .collect();
    if n_nonblank > 0 && sysctls.entries.is_empty() && sysctls.noise.is_empty() {
        return Err(Error::NotSysctl {
            reason: "no `key = value` line",
        });
    }
    Ok(Parsed {
        value: sysctls,
        diagnostics,
    })
}

/// Why an input is not `sysctl --all` output at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No line looked like a sysctl entry.
    #[error("not sysctl output: {reason}")]
    NotSysctl {
        /// What was missing.
        reason: &'static str,
    },
}

/// All kernel parameters of one node, in file order and by key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Sysctls {
    /// Every entry in input order.
    pub entries: Vec<Entry>,
    /// Key to value; when a key repeats the last value wins (and a diagnostic
    /// says so).
    pub map: BTreeMap<String, String>,
    /// `sysctl: …` messages that stderr added to the file.
    pub noise: Vec<NoiseLine>,
    /// Lines that were neither entries nor known messages.
    pub unparsed: Vec<Unparsed>,
}

/// One `key = value` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// 1-based input line.
    pub line: usize,
    /// Dotted key, e.g. `net.netfilter.nf_conntrack_max`.
    pub key: String,
    /// The value exactly as printed (may be empty, may hold tabs).
    pub value: String,
}

/// A `sysctl: …` message line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoiseLine {
    /// 1-based input line.
    pub line: usize,
    /// What the message says.
    pub kind: Noise,
    /// The line verbatim.
    pub raw: String,
}

/// The known `sysctl:` messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Noise {
    /// `sysctl: permission denied on key 'K'`.
    PermissionDenied {
        /// The key.
        key: String,
    },
    /// `sysctl: cannot stat /proc/sys/…: reason`.
    CannotStat {
        /// The path.
        path: String,
    },
    /// `sysctl: reading key "K"`.
    ReadingKey {
        /// The key.
        key: String,
    },
    /// Any other `sysctl:` message.
    Other(String),
}

impl Sysctls {
    /// The raw value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.map.get(key).map(String::as_str)
    }

    /// The value of `key` as an unsigned integer.
    pub fn get_u64(&self, key: &str) -> Option<u64> {
        parse_u64(self.get(key)?.trim())
    }

    /// `net.netfilter.nf_conntrack_max` (falling back to the older
    /// `net.nf_conntrack_max`).
    pub fn nf_conntrack_max(&self) -> Option<u64> {
        self.get_u64("net.netfilter.nf_conntrack_max")
            .or_else(|| self.get_u64("net.nf_conntrack_max"))
    }

    /// `net.netfilter.nf_conntrack_count`.
    pub fn nf_conntrack_count(&self) -> Option<u64> {
        self.get_u64("net.netfilter.nf_conntrack_count")
    }

    /// `net.ipv4.ip_local_port_range` as `(low, high)`.
    pub fn ip_local_port_range(&self) -> Option<(u16, u16)> {
        let value = self.get("net.ipv4.ip_local_port_range")?;
        let mut it = crate::line_util::fields(value);
        let low = it.next()?.parse().ok()?;
        let high = it.next()?.parse().ok()?;
        if it.next().is_some() {
            return None;
        }
        Some((low, high))
    }

    /// `net.ipv4.conf.<iface>.rp_filter`; `iface` is an interface name
    /// (`eth0`, `eth0.100`), or `all` / `default`.
    pub fn rp_filter(&self, iface: &str) -> Option<u8> {
        // sysctl prints dots inside an interface name as slashes.
        let key = format!("net.ipv4.conf.{}.rp_filter", iface.replace('.', "/"));
        self.get(&key)?.trim().parse().ok()
    }

    /// `rp_filter` for every interface present, keyed by interface name
    /// (with `/` turned back into `.`), including `all` and `default`.
    pub fn rp_filter_by_interface(&self) -> BTreeMap<String, u8> {
        self.map
            .range::<str, _>((
                std::ops::Bound::Included("net.ipv4.conf."),
                std::ops::Bound::Unbounded,
            ))
            .take_while(|(k, _)| k.starts_with("net.ipv4.conf."))
            .filter_map(|(k, v)| {
                let iface = k
                    .strip_prefix("net.ipv4.conf.")?
                    .strip_suffix(".rp_filter")?;
                if iface.contains('.') {
                    return None;
                }
                Some((iface.replace('/', "."), v.trim().parse().ok()?))
            })
            .collect()
    }

    /// `net.core.somaxconn`.
    pub fn somaxconn(&self) -> Option<u64> {
        self.get_u64("net.core.somaxconn")
    }

    /// `net.ipv4.neigh.default.gc_thresh1..3` as `[thresh1, thresh2, thresh3]`.
    pub fn neigh_gc_thresh(&self) -> [Option<u64>; 3] {
        [1, 2, 3].map(|n| self.get_u64(&format!("net.ipv4.neigh.default.gc_thresh{n}")))
    }

    /// `net.ipv6.neigh.default.gc_thresh1..3`.
    pub fn neigh6_gc_thresh(&self) -> [Option<u64>; 3] {
        [1, 2, 3].map(|n| self.get_u64(&format!("net.ipv6.neigh.default.gc_thresh{n}")))
    }

    /// `kernel.pid_max`.
    pub fn pid_max(&self) -> Option<u64> {
        self.get_u64("kernel.pid_max")
    }

    /// `fs.file-max`.
    pub fn file_max(&self) -> Option<u64> {
        self.get_u64("fs.file-max")
    }
}

/// `key = value` → `(key, value)`.
fn entry(raw: &str) -> Result<(&str, &str), &'static str> {
    let (key, value) = match raw.split_once(" = ") {
        Some(kv) => kv,
        None => match raw.strip_suffix(" =") {
            Some(key) => (key, ""),
            None => return Err("expected `key = value`"),
        },
    };
    if key.is_empty() || key.bytes().any(|b| b == b' ' || b == b'\t' || b == b'=') {
        return Err("key is empty or holds whitespace");
    }
    Ok((key, value))
}

fn noise_kind(rest: &str) -> Noise {
    let unquote = |s: &str| s.trim().trim_matches(|c| c == '\'' || c == '"').to_owned();
    if let Some(key) = rest.strip_prefix("permission denied on key ") {
        Noise::PermissionDenied { key: unquote(key) }
    } else if let Some(path) = rest.strip_prefix("cannot stat ") {
        let path = path.split_once(": ").map_or(path, |(p, _)| p);
        Noise::CannotStat {
            path: path.to_owned(),
        }
    } else if let Some(key) = rest.strip_prefix("reading key ") {
        Noise::ReadingKey { key: unquote(key) }
    } else {
        Noise::Other(rest.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, expect: Result<(&str, &str), &str>) {
        assert_eq!(entry(input), expect);
    }

    #[test]
    fn entries() {
        check("a.b = 1", Ok(("a.b", "1")));
        check("a.b = ", Ok(("a.b", "")));
        check("a.b =", Ok(("a.b", "")));
        check("x = 32768\t60999", Ok(("x", "32768\t60999")));
        check("x = a = b", Ok(("x", "a = b")));
        check("k = (none)", Ok(("k", "(none)")));
        check("garbage", Err("expected `key = value`"));
        check(" = 1", Err("key is empty or holds whitespace"));
        check("a b = 1", Err("key is empty or holds whitespace"));
    }

    #[test]
    fn accessors() {
        let input = "net.ipv4.ip_local_port_range = 32768\t60999\n\
                     net.ipv4.conf.eth0/100.rp_filter = 2\n\
                     net.ipv4.conf.all.rp_filter = 1\n\
                     net.ipv4.conf.all.arp_filter = 0\n\
                     fs.file-max = 9223372036854775807\n\
                     sysctl: permission denied on key 'net.ipv6.conf.all.stable_secret'\n";
        let parsed = parse(input).unwrap();
        assert!(parsed.diagnostics.is_empty());
        let s = parsed.value;
        assert_eq!(s.ip_local_port_range(), Some((32768, 60999)));
        assert_eq!(s.rp_filter("eth0.100"), Some(2));
        assert_eq!(s.rp_filter("all"), Some(1));
        assert_eq!(s.rp_filter("eth1"), None);
        let by_iface: Vec<_> = s.rp_filter_by_interface().into_iter().collect();
        assert_eq!(
            by_iface,
            [("all".to_owned(), 1), ("eth0.100".to_owned(), 2)]
        );
        assert_eq!(s.file_max(), Some(9_223_372_036_854_775_807));
        assert_eq!(
            s.noise[0].kind,
            Noise::PermissionDenied {
                key: "net.ipv6.conf.all.stable_secret".into()
            }
        );
    }

    #[test]
    fn not_sysctl() {
        assert!(parse("hello world\n").is_err());
        assert!(parse("").unwrap().value.entries.is_empty());
    }
}
