//! `ethtool -S` statistics for every interface (`networking/ethtool.txt`).
//!
//! # How the collector writes the file
//!
//! `eks-log-collector.sh` loops over the interfaces of `ip -o a` and, for
//! each, appends `Interface <name>`, then `ethtool -S <name>` with stderr
//! merged, then `echo -e "\n"` (two empty lines). The Go collector used on
//! Bottlerocket writes the same `Interface <name>` header followed by one
//! empty line. This parser assumes that header; it also accepts a bare
//! `NIC statistics:` block with no header before it (a single `ethtool -S`
//! capture), naming that interface `""`.
//!
//! # Sample
//!
//! ```text
//! Interface eth0                          <- header written by the collector
//! NIC statistics:                         <- written by ethtool
//!      tx_timeout: 0                      <- counter: indented `name: value`
//!      bw_in_allowance_exceeded: 0        <- ENA allowance counters
//!      pps_allowance_exceeded: 12
//!      queue_0_tx_cnt: 123456
//!
//!
//! Interface lo
//! no stats available                      <- ethtool's message for devices without stats
//! ```
//!
//! # Grammar
//!
//! ```text
//! file      = { block }
//! block     = "Interface " name "\n" [ "NIC statistics:" "\n" ] { counter | message | blank }
//! counter   = ws name ":" ws value                  (* value: unsigned, or signed / text kept *)
//! message   = any non-indented line (ethtool errors such as "no stats available")
//! ```
//!
//! # Example
//!
//! ```
//! let text = include_str!("../../../../fixtures/ethtool/valid/allowance-exceeded.txt");
//! let stats = node_artifacts::ethtool::parse(text).unwrap().value;
//! let exceeded = stats.allowance_exceeded();
//! assert!(exceeded.contains(&("eth0", "pps_allowance_exceeded", 77412)));
//! ```

use std::collections::BTreeMap;

use serde::Serialize;

use crate::diag::{Parsed, Unparsed, numbered_lines};
use crate::line_util::keep_unparsed;

/// The ENA counters that show the instance exceeded an allowance of its
/// instance type; each increment is a dropped or queued packet.
pub const ALLOWANCE_COUNTERS: [&str; 5] = [
    "bw_in_allowance_exceeded",
    "bw_out_allowance_exceeded",
    "pps_allowance_exceeded",
    "conntrack_allowance_exceeded",
    "linklocal_allowance_exceeded",
];

/// Parses the collector's `ethtool.txt`.
///
/// # Errors
///
/// [`Error::NotEthtool`] when the input has text but neither an
/// `Interface` header nor a `NIC statistics:` line.
pub fn parse(input: &str) -> Result<Parsed<EthtoolStats>, Error> {
    let mut stats = EthtoolStats::default();
    let mut diagnostics = Vec::new();
    let mut saw_anything = false;
    for (line_no, raw) in numbered_lines(input) {
        if raw.trim().is_empty() {
            continue;
        }
        saw_anything = true;
        if let Some(name) = raw.strip_prefix("Interface ") {
            stats.interfaces.push(Interface::new(line_no, name.trim()));
            continue;
        }
        if raw.trim_end() == "NIC statistics:" {
            match stats.interfaces.last_mut() {
                Some(iface) if !iface.has_stats_header => iface.has_stats_header = true,
                // A second header or none before it starts a nameless block.
                _ => {
                    let mut iface = Interface::new(line_no, "");
                    iface.has_stats_header = true;
                    stats.interfaces.push(iface);
                }
            }
            continue;
        }
        let Some(iface) = stats.interfaces.last_mut() else {
            stats.unparsed.push(keep_unparsed(
                &mut diagnostics,
                line_no,
                raw,
                "line before any `Interface` header",
            ));
            continue;
        };
        if raw.starts_with([' ', '\t']) {
            match counter(raw) {
                Some((name, value)) => {
                    if iface.counters.insert(name.to_owned(), value).is_some() {
                        // Some drivers repeat a name; keep both by
                        // remembering the repeat as unparsed evidence.
                        iface.unparsed.push(keep_unparsed(
                            &mut diagnostics,
                            line_no,
                            raw,
                            format!("counter `{name}` repeated; the last value wins"),
                        ));
                    }
                    iface.order.push(name.to_owned());
                }
                None => iface.unparsed.push(keep_unparsed(
                    &mut diagnostics,
                    line_no,
                    raw,
                    "expected `name: value`",
                )),
            }
        } else {
            iface.messages.push(raw.trim().to_owned());
        }
    }
    if saw_anything && stats.interfaces.is_empty() {
        return Err(Error::NotEthtool {
            reason: "no `Interface` header and no `NIC statistics:` line",
        });
    }
    Ok(Parsed {
        value: stats,
        diagnostics,
    })
}

/// Why an input is not ethtool statistics at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Nothing looked like an ethtool block.
    #[error("not ethtool statistics: {reason}")]
    NotEthtool {
        /// What was missing.
        reason: &'static str,
    },
}

/// Statistics of every interface in the file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EthtoolStats {
    /// Interfaces in file order.
    pub interfaces: Vec<Interface>,
    /// Lines before the first interface header.
    pub unparsed: Vec<Unparsed>,
}

impl EthtoolStats {
    /// The interface called `name`.
    pub fn interface(&self, name: &str) -> Option<&Interface> {
        self.interfaces.iter().find(|i| i.name == name)
    }

    /// Every non-zero allowance counter, as `(interface, counter, value)`.
    pub fn allowance_exceeded(&self) -> Vec<(&str, &str, i64)> {
        self.interfaces
            .iter()
            .flat_map(|i| {
                i.allowance_exceeded()
                    .into_iter()
                    .map(move |(c, v)| (i.name.as_str(), c, v))
            })
            .collect()
    }
}

/// One interface's statistics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interface {
    /// 1-based line of the header.
    pub line: usize,
    /// Interface name (`""` for a block without an `Interface` header).
    pub name: String,
    /// Whether `NIC statistics:` was printed (ethtool succeeded).
    pub has_stats_header: bool,
    /// Counter name to value.
    pub counters: BTreeMap<String, i64>,
    /// Counter names in output order.
    pub order: Vec<String>,
    /// Non-counter lines (ethtool messages such as `no stats available`).
    pub messages: Vec<String>,
    /// Indented lines that were not `name: value`.
    pub unparsed: Vec<Unparsed>,
}

impl Interface {
    fn new(line: usize, name: &str) -> Self {
        Self {
            line,
            name: name.to_owned(),
            has_stats_header: false,
            counters: BTreeMap::new(),
            order: Vec::new(),
            messages: Vec::new(),
            unparsed: Vec::new(),
        }
    }

    /// A counter's value.
    pub fn counter(&self, name: &str) -> Option<i64> {
        self.counters.get(name).copied()
    }

    /// The non-zero ENA allowance counters of this interface.
    pub fn allowance_exceeded(&self) -> Vec<(&'static str, i64)> {
        ALLOWANCE_COUNTERS
            .iter()
            .filter_map(|&c| self.counter(c).filter(|&v| v != 0).map(|v| (c, v)))
            .collect()
    }

    /// Whether this looks like an ENA interface (it has allowance counters).
    pub fn is_ena(&self) -> bool {
        ALLOWANCE_COUNTERS
            .iter()
            .any(|c| self.counters.contains_key(*c))
    }

    /// Per-queue counters as `(queue, name, value)`, for names of the form
    /// `queue_<n>_<name>` (ENA) or `rx_queue_<n>_<name>` / `tx_queue_<n>_<name>`
    /// (virtio, veth).
    pub fn queue_counters(&self) -> Vec<(u32, String, i64)> {
        let mut out = Vec::new();
        for (name, &value) in &self.counters {
            let (prefix, rest) = if let Some(r) = name.strip_prefix("queue_") {
                ("", r)
            } else if let Some(r) = name.strip_prefix("rx_queue_") {
                ("rx_", r)
            } else if let Some(r) = name.strip_prefix("tx_queue_") {
                ("tx_", r)
            } else {
                continue;
            };
            let Some((n, what)) = rest.split_once('_') else {
                continue;
            };
            if let Ok(n) = n.parse() {
                out.push((n, format!("{prefix}{what}"), value));
            }
        }
        out
    }
}

/// `     name: value` → `(name, value)`.
fn counter(raw: &str) -> Option<(&str, i64)> {
    let (name, value) = raw.trim().rsplit_once(':')?;
    let name = name.trim_end();
    let value = value.trim();
    if name.is_empty() || name.contains([' ', '\t']) {
        return None;
    }
    // Counters are u64 in the kernel; values above i64::MAX saturate.
    let v = match value.parse::<i64>() {
        Ok(v) => v,
        Err(_) => match value.parse::<u64>() {
            Ok(_) => i64::MAX,
            Err(_) => return None,
        },
    };
    Some((name, v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, expect: Option<(&str, i64)>) {
        assert_eq!(counter(input), expect);
    }

    #[test]
    fn counters() {
        check("     tx_timeout: 0", Some(("tx_timeout", 0)));
        check(
            "     queue_0_tx_cnt: 123456",
            Some(("queue_0_tx_cnt", 123_456)),
        );
        check(
            "     rx_queue_0_xdp_packets: -1",
            Some(("rx_queue_0_xdp_packets", -1)),
        );
        check("     big: 18446744073709551615", Some(("big", i64::MAX)));
        check("     no value:", None);
        check("     two words: 1", None);
        check("     x: abc", None);
    }

    #[test]
    fn blocks() {
        let p = parse(
            "Interface eth0\nNIC statistics:\n     pps_allowance_exceeded: 3\n     bw_in_allowance_exceeded: 0\n     queue_1_rx_cnt: 9\n\n\nInterface lo\nno stats available\n\n\n",
        )
        .unwrap();
        assert!(p.diagnostics.is_empty());
        let s = p.value;
        assert_eq!(
            s.allowance_exceeded(),
            [("eth0", "pps_allowance_exceeded", 3)]
        );
        assert_eq!(s.interface("lo").unwrap().messages, ["no stats available"]);
        assert_eq!(
            s.interface("eth0").unwrap().queue_counters(),
            [(1, "rx_cnt".to_owned(), 9)]
        );
        assert!(parse("hello\n").is_err());
        let bare = parse("NIC statistics:\n     a: 1\n").unwrap().value;
        assert_eq!(bare.interfaces[0].name, "");
    }
}
