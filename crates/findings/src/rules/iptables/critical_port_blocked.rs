//! IPT003: a `DROP` or `REJECT` rule catches traffic to a port the node needs.

use node_artifacts::iptables::{
    CtState, Match, Neg, PortFilter, Protocol, Rule as IptRule, Table, Target,
};

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Finding, Subject};
use crate::rules::iptables::util::{rule_evidence, rule_key};
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Flags `DROP` and `REJECT` rules, outside kube-proxy's and the VPC
    /// CNI's own chains, whose destination-port constraints (`--dport`,
    /// `--dports` ranges and lists, negations) let through a port the node
    /// needs: DNS (53, udp and tcp), HTTPS to the API server (443/tcp),
    /// the kubelet (10250/tcp), or the NodePort range (30000–32767).
    /// Ports are compared numerically: `--dport 5353` does not catch 53, and
    /// an `ACCEPT` with `--dports 53,123` is not a block. A `DROP` is not
    /// reported for a port an earlier unconditional `ACCEPT` of the same
    /// chain already lets through.
    ///
    /// ## Why is this bad?
    /// Such a rule silently breaks the node: pods cannot resolve names, the
    /// kubelet cannot reach the API server or be reached for `kubectl logs`
    /// and `exec`, load balancers cannot reach NodePorts. Hardening scripts
    /// and host firewalls are the usual source.
    ///
    /// ## Evidence
    /// The rule in `networking/iptables-save.txt` with its counters when the
    /// dump has them.
    ///
    /// ## Severity
    /// - High when the rule catches DNS, the API server or the kubelet;
    ///   critical when it also counted packets (`iptables-save -c`).
    /// - Medium when it catches only NodePorts.
    ///
    /// kube-proxy's own rules are skipped (its `has no endpoints` REJECTs
    /// are IPT001's; `KUBE-FIREWALL`'s localnet `DROP` is a standard guard),
    /// and so are `--ctstate INVALID` drops anywhere.
    ///
    /// ## Example
    /// ```text
    /// -A INPUT -p udp -m udp --dport 53 -j DROP
    /// ```
    ///
    /// ## Remediation
    /// Remove the rule or narrow it (add the source it means to block), and
    /// find the tool that installs it so it does not come back on reboot.
    ///
    /// ## References
    /// - <https://docs.aws.amazon.com/eks/latest/userguide/sec-group-reqs.html>
    /// - <https://kubernetes.io/docs/reference/networking/ports-and-protocols/>
    pub(crate) static META = {
        code: "IPT003",
        name: "CriticalPortBlocked",
        group: Iptables,
        default_severity: High,
        since: "0.1.0",
    }
}

/// IPT003.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::Iptables],
    check,
};

/// A port the node needs, with the protocols it is used over.
struct CriticalPort {
    name: &'static str,
    first: u16,
    last: u16,
    tcp: bool,
    udp: bool,
}

const CRITICAL_PORTS: &[CriticalPort] = &[
    CriticalPort {
        name: "DNS",
        first: 53,
        last: 53,
        tcp: true,
        udp: true,
    },
    CriticalPort {
        name: "HTTPS/API server",
        first: 443,
        last: 443,
        tcp: true,
        udp: false,
    },
    CriticalPort {
        name: "kubelet",
        first: 10250,
        last: 10250,
        tcp: true,
        udp: false,
    },
    CriticalPort {
        name: "NodePort",
        first: 30000,
        last: 32767,
        tcp: true,
        udp: true,
    },
];

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let Some(iptables) = &cx.snapshot.iptables else {
        return;
    };
    for block in &iptables.value.tables {
        if !matches!(block.table, Table::Filter | Table::Raw | Table::Mangle) {
            continue;
        }
        for chain in &block.chains {
            // kube-proxy and the VPC CNI rewrite their own chains on every
            // sync; their drops are theirs by design (IPT001 covers the
            // `has no endpoints` REJECTs).
            if chain.name.starts_with("KUBE-") || chain.name.starts_with("AWS-") {
                continue;
            }
            // Unconditional ACCEPTs seen so far in the chain: a DROP after
            // them does not catch what they let through. Kept as a list so
            // a chain of thousands of rules is walked once.
            let mut accepts: Vec<(&IptRule, PortFilter)> = Vec::new();
            for (position, rule) in chain.rules.iter().enumerate() {
                if is_unconditional_accept(rule) {
                    accepts.push((rule, rule.dports()));
                    continue;
                }
                if !matches!(rule.target, Some(Target::Drop | Target::Reject { .. })) {
                    continue;
                }
                if drops_invalid_only(rule) || !rule.dports().is_constrained() {
                    continue;
                }
                let caught: Vec<String> = CRITICAL_PORTS
                    .iter()
                    .filter_map(|port| caught_ports(&accepts, rule, port))
                    .collect();
                if caught.is_empty() {
                    continue;
                }
                let only_node_ports = caught.iter().all(|text| text.starts_with("NodePort"));
                let counted = rule.counters.is_some_and(|counters| counters.packets > 0);
                let severity = if only_node_ports {
                    Severity::Medium
                } else if counted {
                    Severity::Critical
                } else {
                    Severity::High
                };
                let action = match &rule.target {
                    Some(Target::Reject { .. }) => "rejects",
                    _ => "drops",
                };
                let mut summary = format!(
                    "Rule {} of the {} table's {} chain {action} traffic to {}.",
                    position + 1,
                    block.table.name(),
                    chain.name,
                    caught.join(", ")
                );
                if let Some(counters) = rule.counters.filter(|counters| counters.packets > 0) {
                    summary.push_str(&format!(
                        " It has matched {} packets ({} bytes).",
                        counters.packets, counters.bytes
                    ));
                }
                if let Some(comment) = rule.comment() {
                    summary.push_str(&format!(" Its comment: \"{comment}\"."));
                }
                acc.push(
                    cx.finding(&META, Subject::new("rule", rule_key(block, rule)))
                        .evidence(rule_evidence(&iptables.path, rule))
                        .severity(severity)
                        .title(format!(
                            "{}/{} {action} {}",
                            block.table.name(),
                            chain.name,
                            caught.join(", ")
                        ))
                        .summary(summary)
                        .build(),
                );
            }
        }
    }
}

/// Whether the rule only drops packets conntrack classed `INVALID` (a
/// standard hygiene rule).
fn drops_invalid_only(rule: &IptRule) -> bool {
    rule.matches.iter().any(|m| match m {
        Match::Conntrack(conntrack) => conntrack.state.as_ref().is_some_and(|state| {
            !state.negated && state.value.iter().all(|state| *state == CtState::Invalid)
        }),
        Match::State(Neg {
            negated: false,
            value,
        }) => value.iter().all(|state| *state == CtState::Invalid),
        _ => false,
    })
}

/// `DNS 53/udp` when the rule catches `port` over a protocol it is used
/// over and no earlier unconditional ACCEPT in the chain lets it through.
fn caught_ports(
    accepts: &[(&IptRule, PortFilter)],
    rule: &IptRule,
    port: &CriticalPort,
) -> Option<String> {
    let filter = rule.dports();
    let mut protocols = Vec::new();
    for (name, wanted) in [("tcp", port.tcp), ("udp", port.udp)] {
        if !wanted || !protocol_matches(rule.protocol(), name) {
            continue;
        }
        let matched: Vec<u16> = (port.first..=port.last)
            .filter(|&number| filter.matches_port(number))
            .filter(|&number| {
                !accepts.iter().any(|(accept, ports)| {
                    protocol_matches(accept.protocol(), name) && ports.matches_port(number)
                })
            })
            .collect();
        if matched.is_empty() {
            continue;
        }
        protocols.push(if port.first == port.last {
            format!("{}/{name}", port.first)
        } else if matched.len() == usize::from(port.last - port.first) + 1 {
            format!("{}-{}/{name}", port.first, port.last)
        } else {
            format!("{} of {}-{}/{name}", matched.len(), port.first, port.last)
        });
    }
    (!protocols.is_empty()).then(|| format!("{} {}", port.name, protocols.join(" ")))
}

/// Whether the rule's protocol (none means all) covers `name`.
fn protocol_matches(protocol: Option<&Protocol>, name: &str) -> bool {
    match protocol {
        None | Some(Protocol::All) => true,
        Some(Protocol::Tcp) => name == "tcp",
        Some(Protocol::Udp) => name == "udp",
        Some(Protocol::Number(6)) => name == "tcp",
        Some(Protocol::Number(17)) => name == "udp",
        Some(_) => false,
    }
}

/// Whether the rule accepts every packet its protocol and ports select:
/// an ACCEPT constrained by nothing else.
fn is_unconditional_accept(rule: &IptRule) -> bool {
    matches!(rule.target, Some(Target::Accept))
        && rule.matches.iter().all(|m| match m {
            Match::Protocol(protocol) => !protocol.negated,
            Match::Tcp(tcp) => tcp.flags.is_none() && tcp.option.is_none(),
            Match::Udp(_) | Match::Multiport(_) | Match::Comment { .. } => true,
            _ => false,
        })
}
