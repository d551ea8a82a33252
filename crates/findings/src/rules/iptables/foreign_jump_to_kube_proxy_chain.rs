//! IPT008: a rule kube-proxy did not write jumps into one of its per-service
//! chains.

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Finding, Subject};
use crate::rules::iptables::kube_proxy_sync_failing::SyncHistory;
use crate::rules::iptables::util::{self, rule_evidence, rule_key};
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Flags a rule in a chain kube-proxy does not own (a built-in chain
    /// such as nat `PREROUTING`, or a hand-made chain) whose target is one of
    /// kube-proxy's per-service chains: `KUBE-SEP-*`, `KUBE-SVC-*`,
    /// `KUBE-SVL-*`, `KUBE-EXT-*`, `KUBE-FW-*` or `KUBE-XLB-*`.
    ///
    /// ## Why is this bad?
    /// kube-proxy deletes a per-service chain (`-X KUBE-SEP-…`) when its
    /// endpoint or service goes away. The kernel refuses to delete a chain
    /// that another rule still references, so kube-proxy's whole
    /// `iptables-restore` transaction fails, on every retry: the node's
    /// service rules freeze (KPX001). The foreign rule also pins traffic to
    /// one pod, bypassing load balancing, and keeps sending it there after
    /// the pod is gone.
    ///
    /// ## Evidence
    /// The rule in `networking/iptables-save.txt` and the service owning the
    /// target chain (from kube-proxy's own rules); kube-proxy's log when its
    /// syncs are failing.
    ///
    /// ## Severity
    /// High when the target is an endpoint chain (`KUBE-SEP-*`, deleted at
    /// every endpoint change) or when kube-proxy's syncs are failing; medium
    /// for the other per-service chains (deleted only with the service).
    ///
    /// ## Example
    /// ```text
    /// -A PREROUTING -d 172.20.143.21/32 -p tcp -m comment --comment "debug: pin frontend to one pod (INC-4411)" -m tcp --dport 80 -j KUBE-SEP-SGPHV2XUGMFTCZCH
    /// ```
    ///
    /// ## Remediation
    /// Delete the rule (`iptables -t nat -D PREROUTING <rule spec>`, the
    /// spec as shown without `-A`). To steer traffic to one pod, use a
    /// separate Service with its own selector instead of kube-proxy's
    /// chains.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/reference/networking/virtual-ips/#proxy-mode-iptables>
    /// - <https://github.com/kubernetes/kubernetes/issues/82587>
    pub(crate) static META = {
        code: "IPT008",
        name: "ForeignJumpToKubeProxyChain",
        group: Iptables,
        default_severity: High,
        since: "0.1.0",
    }
}

/// IPT008.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::Iptables],
    check,
};

/// Prefixes of the chains kube-proxy creates and deletes per service or
/// endpoint.
const PER_SERVICE_PREFIXES: &[&str] = &[
    "KUBE-SEP-",
    "KUBE-SVC-",
    "KUBE-SVL-",
    "KUBE-EXT-",
    "KUBE-FW-",
    "KUBE-XLB-",
];

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let Some(iptables) = &cx.snapshot.iptables else {
        return;
    };
    let ruleset = &iptables.value;
    let failing = util::kube_proxy_logs(cx.snapshot)
        .map(|log| (log, SyncHistory::read(&log.value)))
        .find(|(_, history)| !history.ongoing().is_empty());

    for (block, rule) in ruleset.rules() {
        let Some(target) = rule.jump_chain() else {
            continue;
        };
        if !PER_SERVICE_PREFIXES
            .iter()
            .any(|prefix| target.starts_with(prefix))
        {
            continue;
        }
        // kube-proxy's own chains jump to per-service chains all the time.
        if rule.chain.starts_with("KUBE-") {
            continue;
        }
        // The snapshot's view, built once with the snapshot.
        let Some(view) = cx.snapshot.kube_view() else {
            return;
        };
        let service = view.service_by_chain(target);
        let endpoint = service.and_then(|service| {
            service
                .endpoints
                .iter()
                .find(|endpoint| endpoint.chain.as_str() == target)
        });
        let is_endpoint_chain = target.starts_with("KUBE-SEP-");
        let severity = if is_endpoint_chain || failing.is_some() {
            Severity::High
        } else {
            Severity::Medium
        };
        let table = block.table.name();
        let mut summary = format!(
            "The rule at line {} of the {table} table's {} chain is not kube-proxy's but jumps to kube-proxy's chain {target}",
            rule.line, rule.chain
        );
        if let Some(service) = service {
            summary.push_str(&format!(", which belongs to service {}", service.key()));
            if let Some(address) = endpoint.and_then(|endpoint| endpoint.address) {
                let port = endpoint
                    .and_then(|endpoint| endpoint.port)
                    .map(|port| format!(":{port}"))
                    .unwrap_or_default();
                summary.push_str(&format!(" (endpoint {address}{port})"));
            }
        }
        summary.push('.');
        if let Some(comment) = rule.comment() {
            summary.push_str(&format!(" Its comment: \"{comment}\"."));
        }
        summary.push_str(&format!(
            " kube-proxy cannot delete {target} while this rule references it, so the iptables-restore that removes it fails as a whole."
        ));
        let mut builder = cx
            .finding(&META, Subject::new("rule", rule_key(block, rule)))
            .evidence(rule_evidence(&iptables.path, rule));
        if let Some((log, history)) = &failing {
            let ongoing = history.ongoing();
            summary.push_str(&format!(
                " kube-proxy's syncs are failing now ({} consecutive iptables-restore failures).",
                ongoing.len()
            ));
            if let Some(first) = ongoing.first() {
                // Undated: the failure is a consequence, it does not date
                // the rule.
                builder = builder.evidence(
                    util::log_evidence(&log.path, &log.value.entries[first.index]).at(None),
                );
            }
        }
        acc.push(
            builder
                .severity(severity)
                .title(format!(
                    "hand-made rule in {table}/{} jumps to kube-proxy chain {target}",
                    rule.chain
                ))
                .summary(summary)
                .build(),
        );
    }
}
