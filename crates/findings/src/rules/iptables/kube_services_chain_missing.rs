//! IPT002: kube-proxy's `KUBE-SERVICES` chain is missing or empty in the nat
//! table while kube-proxy runs in iptables mode.

use node_artifacts::iptables::Table;

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Evidence, Finding, Subject};
use crate::rules::iptables::util::{self, ProxyMode};
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Flags a node whose kube-proxy runs in iptables mode (its log says
    /// `Using iptables proxy`, or the nat table holds kube-proxy's chains)
    /// but whose nat table has no `KUBE-SERVICES` chain, an empty one, or no
    /// jump to it from `PREROUTING` and `OUTPUT`.
    ///
    /// ## Why is this bad?
    /// `KUBE-SERVICES` is where every cluster IP is translated to a pod.
    /// Without it (or without the jumps into it) no Service works from or
    /// through the node: DNS to the cluster DNS service, the API server's
    /// `kubernetes` service, every application service. Typical causes are
    /// a flush by another tool (`iptables -t nat -F`, a firewall service
    /// restoring its own rules) or kube-proxy not running.
    ///
    /// ## Evidence
    /// `networking/iptables-save.txt` (the nat table's header and its
    /// `PREROUTING`/`OUTPUT` chains) and kube-proxy's start-up line.
    ///
    /// ## Severity
    /// Critical. The rule is silent when kube-proxy runs in IPVS or
    /// nftables mode, where `KUBE-SERVICES` holds few or no rules.
    ///
    /// ## Example
    /// ```text
    /// *nat
    /// :PREROUTING ACCEPT [0:0]
    /// :POSTROUTING ACCEPT [0:0]
    /// -A POSTROUTING -m comment --comment "AWS SNAT CHAIN" -j AWS-SNAT-CHAIN-0
    /// COMMIT
    /// ```
    ///
    /// ## Remediation
    /// Restart kube-proxy (`kubectl -n kube-system delete pod <kube-proxy
    /// pod on the node>`) so it rewrites its rules, then find what flushed
    /// them (firewalld, a hardening script, another CNI).
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/reference/networking/virtual-ips/#proxy-mode-iptables>
    pub(crate) static META = {
        code: "IPT002",
        name: "KubeServicesChainMissing",
        group: Iptables,
        default_severity: Critical,
        since: "0.1.0",
    }
}

/// IPT002.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::Iptables],
    check,
};

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let Some(iptables) = &cx.snapshot.iptables else {
        return;
    };
    let mode = util::proxy_mode(cx.snapshot);
    if mode != ProxyMode::Iptables {
        return;
    }
    let ruleset = &iptables.value;
    let nat = ruleset.table(Table::Nat);
    let chain = nat.and_then(|block| block.chain("KUBE-SERVICES"));
    let jumps: Vec<_> = nat
        .into_iter()
        .flat_map(|block| ["PREROUTING", "OUTPUT"].map(|name| (name, block.chain(name))))
        .map(|(name, builtin)| {
            let jump = builtin.and_then(|builtin| {
                builtin
                    .rules
                    .iter()
                    .find(|rule| rule.jump_chain() == Some("KUBE-SERVICES"))
            });
            (name, jump)
        })
        .collect();
    let missing_jumps: Vec<&str> = jumps
        .iter()
        .filter(|(_, jump)| jump.is_none())
        .map(|(name, _)| *name)
        .collect();

    let problem = match (nat, chain) {
        (None, _) => "the dump has no nat table at all".to_owned(),
        (Some(_), None) => "the nat table has no KUBE-SERVICES chain".to_owned(),
        (Some(_), Some(chain)) if chain.rules.is_empty() => {
            "the nat table's KUBE-SERVICES chain is empty".to_owned()
        }
        (Some(_), Some(_)) if !missing_jumps.is_empty() => format!(
            "nothing jumps to KUBE-SERVICES from nat {}",
            missing_jumps.join(" and ")
        ),
        _ => return,
    };

    let mut builder = cx.finding(&META, Subject::new("chain", "nat/KUBE-SERVICES"));
    match (nat, chain) {
        (Some(_), Some(chain)) => {
            if let Some(line) = chain.line {
                builder = builder.evidence(Evidence::line(
                    &iptables.path,
                    line,
                    &format!(":KUBE-SERVICES ({} rules)", chain.rules.len()),
                ));
            }
        }
        (Some(block), None) => {
            builder = builder.evidence(Evidence::line(
                &iptables.path,
                block.line,
                &format!("*nat ({} chains, no KUBE-SERVICES)", block.chains.len()),
            ));
        }
        (None, _) => {
            let first = ruleset.tables.first().map_or(1, |block| block.line);
            builder = builder.evidence(Evidence::line(
                &iptables.path,
                first,
                &format!(
                    "tables: {}",
                    ruleset
                        .tables
                        .iter()
                        .map(|block| block.table.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }
    let mut mode_source = "the nat table holds kube-proxy's chains";
    for log in util::kube_proxy_logs(cx.snapshot) {
        if let Some((_, entry, _)) = util::klog_lines(&log.value)
            .filter(|(_, _, klog)| klog.msg.eq_ignore_ascii_case("Using iptables proxy"))
            .last()
        {
            // Undated: the start-up line names the mode, it does not date the
            // problem.
            builder = builder.evidence(util::log_evidence(&log.path, entry).at(None));
            mode_source = "kube-proxy logged `Using iptables proxy`";
        }
    }
    acc.push(
        builder
            .severity(Severity::Critical)
            .title("kube-proxy's KUBE-SERVICES chain is missing from the nat table")
            .summary(format!(
                "kube-proxy runs in iptables mode ({mode_source}), but {problem}: no cluster IP is translated on this node, so every Service (cluster DNS, the API server's `kubernetes` service, applications) fails from pods on it."
            ))
            .build(),
    );
}
