//! The readable rendering of a [`Trace`].

use std::fmt;

use node_artifacts::iptables::Table;

use super::{Origin, Outcome, StepVerdict, Trace};

fn table_name(table: &Table) -> &str {
    table.name()
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flow = &self.flow;
        let src = match (flow.src, flow.sport) {
            (Some(a), Some(p)) => format!("{a}:{p}"),
            (Some(a), None) => a.to_string(),
            (None, _) => "(any source)".to_owned(),
        };
        let origin = match flow.origin {
            Origin::Incoming => match &flow.in_iface {
                Some(i) => format!("incoming on {i}"),
                None => "incoming".to_owned(),
            },
            Origin::Local => "locally generated".to_owned(),
        };
        writeln!(
            f,
            "trace {} {src} -> {}:{} ({origin}, conntrack state {:?}, mark {:#x})",
            flow.protocol.name(),
            flow.dst,
            flow.dport,
            flow.ct_state,
            flow.mark
        )?;
        writeln!(
            f,
            "ruleset: {} ({}), node addresses {}",
            self.ruleset.as_deref().unwrap_or("(none)"),
            self.family,
            if self.local_addresses_known {
                "known"
            } else {
                "unknown"
            }
        )?;
        writeln!(f, "\nsteps ({} of {}):", self.steps.len(), self.steps_total)?;
        for s in &self.steps {
            let place = if s.line == 0 {
                format!("{} {}", table_name(&s.table), s.chain)
            } else {
                format!("{} {}:{}", table_name(&s.table), s.chain, s.line)
            };
            let verdict = match s.verdict {
                StepVerdict::Matched => "matched",
                StepVerdict::NotMatched => "no",
                StepVerdict::Undetermined => "UNDETERMINED",
                StepVerdict::Skipped => "skipped",
                StepVerdict::Policy => "end",
            };
            write!(
                f,
                "  [b{}] {place:<44} {verdict:<12} {}",
                s.branch, s.action
            )?;
            if let Some(d) = &s.detail {
                write!(f, "  ({d})")?;
            }
            writeln!(f)?;
        }
        writeln!(f, "\nbranches:")?;
        for b in &self.branches {
            write!(f, "  b{} p={:.5}", b.id, b.probability)?;
            if let Some(parent) = b.parent {
                write!(f, " (from b{parent})")?;
            }
            writeln!(f)?;
            if let Some(d) = &b.dnat {
                let to = match (d.address, d.port) {
                    (Some(a), Some(p)) => format!("{a}:{p}"),
                    (Some(a), None) => a.to_string(),
                    (None, Some(p)) => format!(":{p}"),
                    (None, None) => "?".to_owned(),
                };
                writeln!(
                    f,
                    "      DNAT to {to} ({}) by {} {}:{}",
                    d.service.as_deref().unwrap_or("no service"),
                    table_name(&d.rule.table),
                    d.rule.chain,
                    d.rule.line
                )?;
            }
            if let Some(r) = &b.route {
                writeln!(f, "      route: {}", r.by)?;
            }
            match &b.snat {
                Some(s) => writeln!(
                    f,
                    "      source NAT: {}{}{} by {} {}:{}",
                    s.kind,
                    s.to_source.map(|a| format!(" to {a}")).unwrap_or_default(),
                    s.out_iface
                        .as_deref()
                        .map(|i| format!(" on {i}"))
                        .unwrap_or_default(),
                    table_name(&s.rule.table),
                    s.rule.chain,
                    s.rule.line
                )?,
                None => writeln!(f, "      source NAT: none")?,
            }
            if b.mark != 0 {
                writeln!(f, "      mark: {:#x}", b.mark)?;
            }
            match &b.outcome {
                Outcome::Accepted {
                    delivery,
                    out_iface,
                } => writeln!(
                    f,
                    "      => ACCEPTED ({delivery}{})",
                    out_iface
                        .as_deref()
                        .map(|i| format!(" via {i}"))
                        .unwrap_or_default()
                )?,
                Outcome::Dropped { rule } => writeln!(
                    f,
                    "      => DROPPED by {} {}:{}: {}",
                    table_name(&rule.table),
                    rule.chain,
                    rule.line,
                    rule.text
                )?,
                Outcome::Rejected { rule, with } => writeln!(
                    f,
                    "      => REJECTED ({with}) by {} {}:{}: {}",
                    table_name(&rule.table),
                    rule.chain,
                    rule.line,
                    rule.text
                )?,
                Outcome::Undetermined { rule, reason } => {
                    write!(f, "      => UNDETERMINED: {reason}")?;
                    if let Some(rule) = rule {
                        write!(
                            f,
                            " at {} {}:{}: {}",
                            table_name(&rule.table),
                            rule.chain,
                            rule.line,
                            rule.text
                        )?;
                    }
                    writeln!(f)?;
                }
                Outcome::Truncated { reason } => writeln!(f, "      => TRUNCATED: {reason}")?,
            }
        }
        if !self.endpoints.is_empty() {
            writeln!(f, "\nendpoints:")?;
            for e in &self.endpoints {
                writeln!(
                    f,
                    "  {}:{} p={:.5} ({}) branches {:?}",
                    e.address
                        .map(|a| a.to_string())
                        .unwrap_or_else(|| "?".to_owned()),
                    e.port
                        .map(|p| p.to_string())
                        .unwrap_or_else(|| "?".to_owned()),
                    e.probability,
                    e.service.as_deref().unwrap_or("no service"),
                    e.branches
                )?;
            }
        }
        writeln!(
            f,
            "\nconntrack ({}): {} related entries",
            self.conntrack.artifact.as_deref().unwrap_or("none"),
            self.conntrack.total
        )?;
        for e in &self.conntrack.entries {
            writeln!(
                f,
                "  line {} {:<8} {} {} | reply {}{}{}",
                e.line,
                e.relation,
                e.state.as_deref().unwrap_or("-"),
                e.original,
                e.reply,
                if e.unreplied { " [UNREPLIED]" } else { "" },
                if e.assured { " [ASSURED]" } else { "" }
            )?;
        }
        if !self.notes.is_empty() {
            writeln!(f, "\nnotes:")?;
            for n in &self.notes {
                writeln!(f, "  - {n}")?;
            }
        }
        Ok(())
    }
}
