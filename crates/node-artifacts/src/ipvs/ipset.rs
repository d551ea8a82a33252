//! `ipset --list` followed by `ipset --save` (`networking/ipset.txt`).
//!
//! # Sample
//!
//! ```text
//! Name: KUBE-CLUSTER-IP                        <- --list block
//! Type: hash:ip,port
//! Revision: 6
//! Header: family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x4d2a0f39
//! Size in memory: 600
//! References: 2
//! Number of entries: 2
//! Members:
//! 172.20.0.1,tcp:443
//! 172.20.0.10,udp:53
//!
//! create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536   <- --save
//! add KUBE-CLUSTER-IP 172.20.0.1,tcp:443
//! ```
//!
//! # Grammar
//!
//! ```text
//! file    = { block | blank } { save-line | blank }
//! block   = "Name: " name { field } "Members:" { member }
//! field   = key ": " value                     (* Type, Revision, Header, Size in memory, References, Number of entries *)
//! save-line = "create " name type { option } | "add " name member
//! ```
//!
//! `Number of entries` is checked against the members listed (a diagnostic
//! on mismatch).

use serde::Serialize;

use crate::diag::{Diagnostic, Parsed, Unparsed, numbered_lines};
use crate::line_util::{keep_unparsed, parse_u64};

/// Parses `ipset.txt`. Any text is accepted.
pub fn parse(input: &str) -> Parsed<IpsetDump> {
    let mut dump = IpsetDump::default();
    let mut diagnostics = Vec::new();
    let mut in_members = false;
    for (line_no, raw) in numbered_lines(input) {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            in_members = false;
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix("create ") {
            in_members = false;
            let mut words = rest.split_whitespace();
            match (words.next(), words.next()) {
                (Some(name), Some(set_type)) => dump.saved.push(IpSet::new(
                    line_no,
                    name,
                    Some(set_type.to_owned()),
                    Some(words.collect::<Vec<_>>().join(" ")),
                )),
                _ => dump.unparsed.push(keep_unparsed(
                    &mut diagnostics,
                    line_no,
                    raw,
                    "`create` needs a name and a type",
                )),
            }
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix("add ") {
            in_members = false;
            let (name, member) = rest.split_once(' ').unwrap_or((rest, ""));
            match dump.saved.iter_mut().rev().find(|s| s.name == name) {
                Some(set) if !member.trim().is_empty() => {
                    set.members.push(member.trim().to_owned())
                }
                Some(_) => dump.unparsed.push(keep_unparsed(
                    &mut diagnostics,
                    line_no,
                    raw,
                    "`add` without a member",
                )),
                None => dump.unparsed.push(keep_unparsed(
                    &mut diagnostics,
                    line_no,
                    raw,
                    format!("`add` to set `{name}` that was not created"),
                )),
            }
            continue;
        }
        if let Some(name) = trimmed.strip_prefix("Name: ") {
            in_members = false;
            dump.listed.push(IpSet::new(line_no, name, None, None));
            continue;
        }
        let Some(set) = dump.listed.last_mut() else {
            dump.unparsed.push(keep_unparsed(
                &mut diagnostics,
                line_no,
                raw,
                "line before any `Name:` block",
            ));
            continue;
        };
        if in_members {
            set.members.push(trimmed.to_owned());
            continue;
        }
        if trimmed == "Members:" {
            in_members = true;
            continue;
        }
        let Some((key, value)) = trimmed.split_once(':') else {
            set.unparsed.push(keep_unparsed(
                &mut diagnostics,
                line_no,
                raw,
                "expected `Key: value`",
            ));
            continue;
        };
        let value = value.trim();
        let number = || parse_u64(value);
        match key {
            "Type" => set.set_type = Some(value.to_owned()),
            "Header" => set.header = Some(value.to_owned()),
            "Revision" => set.revision = number(),
            "Size in memory" => set.size_in_memory = number(),
            "References" => set.references = number(),
            "Number of entries" => set.number_of_entries = number(),
            _ => set.other.push((key.to_owned(), value.to_owned())),
        }
    }
    for set in &dump.listed {
        if let Some(n) = set.number_of_entries
            && n != set.members.len() as u64
        {
            diagnostics.push(Diagnostic {
                line: set.line,
                reason: format!(
                    "set `{}` says {n} entries but lists {} members",
                    set.name,
                    set.members.len()
                ),
            });
        }
    }
    Parsed {
        value: dump,
        diagnostics,
    }
}

/// Both sections of `ipset.txt`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IpsetDump {
    /// Sets from `ipset --list`.
    pub listed: Vec<IpSet>,
    /// Sets from `ipset --save` (`create` + `add` lines).
    pub saved: Vec<IpSet>,
    /// Lines not understood.
    pub unparsed: Vec<Unparsed>,
}

impl IpsetDump {
    /// The set called `name`, preferring the `--list` section.
    pub fn set(&self, name: &str) -> Option<&IpSet> {
        self.listed
            .iter()
            .chain(&self.saved)
            .find(|s| s.name == name)
    }

    /// Whether kube-proxy's IPVS-mode sets are present (`KUBE-CLUSTER-IP`
    /// and friends).
    pub fn has_kube_proxy_sets(&self) -> bool {
        self.set("KUBE-CLUSTER-IP").is_some()
    }
}

/// One ipset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IpSet {
    /// 1-based line of `Name:` or `create`.
    pub line: usize,
    /// Set name.
    pub name: String,
    /// Set type (`hash:ip,port`, `bitmap:port`, …).
    pub set_type: Option<String>,
    /// `Header:` of a listed set, or the options of a `create` line.
    pub header: Option<String>,
    /// `Revision:`.
    pub revision: Option<u64>,
    /// `Size in memory:`.
    pub size_in_memory: Option<u64>,
    /// `References:`.
    pub references: Option<u64>,
    /// `Number of entries:`.
    pub number_of_entries: Option<u64>,
    /// Other `Key: value` fields.
    pub other: Vec<(String, String)>,
    /// Members as printed (`172.20.0.1,tcp:443`, possibly with options).
    pub members: Vec<String>,
    /// Lines in the block that were not understood.
    pub unparsed: Vec<Unparsed>,
}

impl IpSet {
    fn new(line: usize, name: &str, set_type: Option<String>, header: Option<String>) -> Self {
        Self {
            line,
            name: name.to_owned(),
            set_type,
            header,
            revision: None,
            size_in_memory: None,
            references: None,
            number_of_entries: None,
            other: Vec::new(),
            members: Vec::new(),
            unparsed: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_and_save() {
        let p = parse(
            "Name: KUBE-CLUSTER-IP\nType: hash:ip,port\nNumber of entries: 2\nMembers:\n172.20.0.1,tcp:443\n\n\ncreate KUBE-CLUSTER-IP hash:ip,port family inet\nadd KUBE-CLUSTER-IP 172.20.0.1,tcp:443\nadd NOPE 1.2.3.4\n",
        );
        assert_eq!(p.value.listed[0].members, ["172.20.0.1,tcp:443"]);
        assert_eq!(p.value.saved[0].members, ["172.20.0.1,tcp:443"]);
        assert!(p.value.has_kube_proxy_sets());
        let reasons: Vec<_> = p.diagnostics.iter().map(|d| d.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "`add` to set `NOPE` that was not created",
                "set `KUBE-CLUSTER-IP` says 2 entries but lists 1 members"
            ]
        );
    }
}
