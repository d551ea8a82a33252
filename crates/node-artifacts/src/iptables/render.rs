//! Rendering the model back to text: byte-exact for what was parsed, and
//! iptables-save's canonical form for typed rules.

use std::fmt::Write as _;

use crate::iptables::model::{Chain, Line, Policy, Rule, Ruleset, Table};
use crate::iptables::rule::write_rule;

impl Ruleset {
    /// Renders the ruleset. For a parsed input this gives back the input byte
    /// for byte; lines without kept text are printed in canonical form.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(self.lines.len() * 96);
        let terminator = if self.crlf { "\r\n" } else { "\n" };
        let count = self.lines.len();
        for (i, line) in self.lines.iter().enumerate() {
            match line {
                Line::Blank => {}
                Line::Comment { text } => out.push_str(text),
                Line::Table { table } => {
                    out.push('*');
                    if let Some(block) = self.tables.get(*table) {
                        out.push_str(block.table.name());
                    }
                }
                Line::Chain { table, chain } => {
                    if let Some(chain) = self.tables.get(*table).and_then(|t| t.chains.get(*chain)) {
                        match &chain.raw {
                            Some(raw) => out.push_str(raw),
                            None => write_chain(&mut out, chain),
                        }
                    }
                }
                Line::Rule { table, chain, rule } => {
                    let rule = self
                        .tables
                        .get(*table)
                        .and_then(|t| t.chains.get(*chain))
                        .and_then(|c| c.rules.get(*rule));
                    if let Some(rule) = rule {
                        match &rule.raw {
                            Some(raw) => out.push_str(raw),
                            None => write_rule(&mut out, rule),
                        }
                    }
                }
                Line::Commit { .. } => out.push_str("COMMIT"),
                Line::Unparsed(unparsed) => out.push_str(&unparsed.raw),
            }
            if i + 1 < count || self.final_newline {
                out.push_str(terminator);
            }
        }
        out
    }
}

impl Rule {
    /// The rule as iptables-save would print it, from the typed model
    /// (ignoring the kept input text).
    pub fn to_canonical_string(&self) -> String {
        let mut out = String::with_capacity(128);
        write_rule(&mut out, self);
        out
    }

    /// The rule as it appeared in the input (or its canonical form when the
    /// two are the same).
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match &self.raw {
            Some(raw) => raw.as_str().into(),
            None => self.to_canonical_string().into(),
        }
    }
}

/// Prints `:NAME POLICY [packets:bytes]`.
pub(crate) fn write_chain(out: &mut String, chain: &Chain) {
    out.push(':');
    out.push_str(&chain.name);
    out.push(' ');
    out.push_str(match &chain.policy {
        None => "-",
        Some(Policy::Accept) => "ACCEPT",
        Some(Policy::Drop) => "DROP",
        Some(Policy::Other(other)) => other,
    });
    if let Some(c) = chain.counters {
        let _ = write!(out, " [{}:{}]", c.packets, c.bytes);
    }
}

impl Table {
    /// The table's name as written after `*`.
    pub fn name(&self) -> &str {
        match self {
            Table::Raw => "raw",
            Table::Mangle => "mangle",
            Table::Nat => "nat",
            Table::Filter => "filter",
            Table::Security => "security",
            Table::Other(name) => name,
        }
    }

    /// The table for a name written after `*`.
    pub fn from_name(name: &str) -> Table {
        match name {
            "raw" => Table::Raw,
            "mangle" => Table::Mangle,
            "nat" => Table::Nat,
            "filter" => Table::Filter,
            "security" => Table::Security,
            other => Table::Other(other.to_owned()),
        }
    }
}
