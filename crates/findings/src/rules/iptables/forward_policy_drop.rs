//! IPT004: the filter `FORWARD` policy is `DROP` and nothing accepts pod
//! traffic before it.

use std::collections::BTreeSet;

use node_artifacts::iptables::{Match, Policy, Ruleset, Table, Target};

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Evidence, Finding, Subject};
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Flags a filter `FORWARD` chain whose policy is `DROP` when no rule
    /// reachable from it accepts new pod traffic: an `ACCEPT` that is not
    /// limited to `RELATED,ESTABLISHED` flows or to kube-proxy's masquerade
    /// mark (`0x4000`), such as the VPC CNI's or the EKS AMI's accepts for
    /// `eni+`/`vlan+` interfaces or the pod CIDR. kube-proxy's `KUBE-FORWARD`
    /// chain alone only accepts marked service traffic and replies.
    ///
    /// ## Why is this bad?
    /// With the VPC CNI, every packet between a pod and another node or the
    /// VPC is forwarded by the host. A `DROP` policy without pod accepts
    /// breaks pod networking across nodes (usually after Docker or a
    /// hardening script set `iptables -P FORWARD DROP`); the EKS AMI sets
    /// `FORWARD ACCEPT` at boot for this reason.
    ///
    /// ## Evidence
    /// The `:FORWARD DROP [packets:bytes]` header and the `FORWARD` rules of
    /// `networking/iptables-save.txt`.
    ///
    /// ## Severity
    /// High; critical when the policy's counters show packets dropped.
    ///
    /// ## Example
    /// ```text
    /// :FORWARD DROP [18234:1093404]
    /// -A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
    /// ```
    ///
    /// ## Remediation
    /// `iptables -P FORWARD ACCEPT` (and find what set it, e.g. Docker's
    /// daemon or a CIS hardening script), or add explicit accepts for the
    /// pod interfaces (`-A FORWARD -i eni+ -j ACCEPT`, `-o eni+`).
    ///
    /// ## References
    /// - <https://github.com/awslabs/amazon-eks-ami/issues/332>
    /// - <https://docs.docker.com/engine/network/packet-filtering-firewalls/>
    pub(crate) static META = {
        code: "IPT004",
        name: "ForwardPolicyDropsPodTraffic",
        group: Iptables,
        default_severity: High,
        since: "0.1.0",
    }
}

/// IPT004.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::Iptables],
    check,
};

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let Some(iptables) = &cx.snapshot.iptables else {
        return;
    };
    let ruleset = &iptables.value;
    let Some(forward) = ruleset
        .table(Table::Filter)
        .and_then(|block| block.chain("FORWARD"))
    else {
        return;
    };
    if forward.policy != Some(Policy::Drop) {
        return;
    }
    if accepts_new_traffic(ruleset, "FORWARD", &mut BTreeSet::new()) {
        return;
    }
    let dropped = forward.counters.map_or(0, |counters| counters.packets);
    let mut builder = cx.finding(&META, Subject::new("chain", "filter/FORWARD"));
    if let Some(line) = forward.line {
        builder = builder.evidence(Evidence::line(
            &iptables.path,
            line,
            &match forward.counters {
                Some(counters) => {
                    format!(":FORWARD DROP [{}:{}]", counters.packets, counters.bytes)
                }
                None => ":FORWARD DROP".to_owned(),
            },
        ));
    }
    for rule in &forward.rules {
        builder = builder.evidence(Evidence::line(&iptables.path, rule.line, &rule.text()));
    }
    let mut summary = format!(
        "The filter FORWARD chain drops by policy and none of its {} rules (or the chains they jump to) accepts new pod traffic: only replies and kube-proxy's marked service traffic are forwarded, so pods cannot open connections to other nodes or the VPC through this host.",
        forward.rules.len()
    );
    if dropped > 0 {
        summary.push_str(&format!(" The policy has dropped {dropped} packets."));
    }
    acc.push(
        builder
            .severity(if dropped > 0 {
                Severity::Critical
            } else {
                Severity::High
            })
            .title("FORWARD policy DROP without accepts for pod traffic")
            .summary(summary)
            .build(),
    );
}

/// Whether `chain` (or a chain it jumps to) has an ACCEPT for new traffic:
/// one not limited to established flows or to kube-proxy's mark.
fn accepts_new_traffic(ruleset: &Ruleset, chain: &str, seen: &mut BTreeSet<String>) -> bool {
    if !seen.insert(chain.to_owned()) {
        return false;
    }
    let Some(rules) = ruleset
        .table(Table::Filter)
        .and_then(|block| block.chain(chain))
        .map(|chain| &chain.rules)
    else {
        return false;
    };
    rules.iter().any(|rule| match &rule.target {
        Some(Target::Accept) => !rule.matches.iter().any(|m| match m {
            Match::Conntrack(conntrack) => conntrack.state.is_some(),
            Match::State(_) | Match::Mark(_) | Match::Connmark(_) => true,
            _ => false,
        }),
        Some(Target::Jump { chain } | Target::Goto { chain }) => {
            accepts_new_traffic(ruleset, chain, seen)
        }
        _ => false,
    })
}
