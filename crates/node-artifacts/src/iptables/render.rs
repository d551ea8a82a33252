//! Rendering the model back to text: byte-exact for what was parsed, and
//! iptables-save's canonical form for typed rules.

use crate::iptables::model::{Chain, Line, Policy, Rule, Ruleset, Table};
use crate::iptables::rule::write_rule;
use crate::iptables::values;

impl Ruleset {
    /// Renders the ruleset. For a parsed input this gives back the input byte
    /// for byte; lines without kept text are printed in canonical form.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(self.line_count() * 100);
        let terminator = if self.crlf { "\r\n" } else { "\n" };
        let total = self.line_count();
        let mut written = 0usize;
        let mut end_line = |out: &mut String| {
            written += 1;
            if written < total || self.final_newline {
                out.push_str(terminator);
            }
        };
        for line in &self.lines {
            match line {
                Line::Blank => end_line(&mut out),
                Line::Comment { text } => {
                    out.push_str(text);
                    end_line(&mut out);
                }
                Line::Table { table } => {
                    out.push('*');
                    if let Some(block) = self.tables.get(*table) {
                        out.push_str(block.table.name());
                    }
                    end_line(&mut out);
                }
                Line::Chains {
                    table,
                    first,
                    count,
                } => {
                    let chains = self.tables.get(*table).map_or(&[][..], |t| &t.chains[..]);
                    for chain in chains.iter().skip(*first).take(*count) {
                        match &chain.raw {
                            Some(raw) => out.push_str(raw),
                            None => write_chain(&mut out, chain),
                        }
                        end_line(&mut out);
                    }
                }
                Line::Rules {
                    table,
                    chain,
                    first,
                    count,
                } => {
                    let rules = self
                        .tables
                        .get(*table)
                        .and_then(|t| t.chains.get(*chain))
                        .map_or(&[][..], |c| &c.rules[..]);
                    for rule in rules.iter().skip(*first).take(*count) {
                        match &rule.raw {
                            Some(raw) => out.push_str(raw),
                            None => write_rule(&mut out, rule),
                        }
                        end_line(&mut out);
                    }
                }
                Line::Commit { .. } => {
                    out.push_str("COMMIT");
                    end_line(&mut out);
                }
                Line::Unparsed(unparsed) => {
                    out.push_str(&unparsed.raw);
                    end_line(&mut out);
                }
            }
        }
        out
    }
}

impl Ruleset {
    /// Number of input lines the ruleset covers.
    pub fn line_count(&self) -> usize {
        self.lines.iter().map(Line::span).sum()
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
            Some(raw) => (**raw).into(),
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
        out.push_str(" [");
        values::push_decimal(out, c.packets);
        out.push(':');
        values::push_decimal(out, c.bytes);
        out.push(']');
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
