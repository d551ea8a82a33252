//! KPX003: a service port kube-proxy learnt about has no rules on the node.

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Finding, Subject};
use crate::rules::iptables::kube_proxy_sync_failing::SyncHistory;
use crate::rules::iptables::util::{self, klog_lines, log_evidence};
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Flags service ports that kube-proxy logged as new (`"Adding new
    /// service port" portName="ns/svc:port" servicePort="ip:port/TCP"`) but
    /// that have no rule in the ruleset (no `KUBE-SERVICES` entry, no
    /// `has no endpoints` REJECT), because no sync has succeeded since.
    ///
    /// ## Why is this bad?
    /// Connections from this node to the service's cluster IP are not
    /// translated: they leave the node towards a virtual address nothing
    /// answers, and time out.
    ///
    /// ## Evidence
    /// kube-proxy's `Adding new service port` line, the failing syncs since,
    /// and the absence of the service from `networking/iptables-save.txt`
    /// (the `KUBE-SERVICES` chain is cited).
    ///
    /// ## Severity
    /// High.
    ///
    /// ## Example
    /// ```text
    /// I1126 09:40:29.269227       1 servicechangetracker.go:222] "Adding new service port" portName="shop/checkout:http" servicePort="172.20.17.230:80/TCP"
    /// ```
    ///
    /// ## Remediation
    /// Fix kube-proxy's failing sync (KPX001, often a foreign rule IPT008);
    /// its next successful sync programs the service.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/reference/networking/virtual-ips/>
    pub(crate) static META = {
        code: "KPX003",
        name: "ServicePortNotProgrammed",
        group: Iptables,
        default_severity: High,
        since: "0.1.0",
    }
}

/// KPX003.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::Iptables, Need::KubeProxyLog],
    check,
};

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let Some(iptables) = &cx.snapshot.iptables else {
        return;
    };
    for log in util::kube_proxy_logs(cx.snapshot) {
        let history = SyncHistory::read(&log.value);
        if history.ongoing().is_empty() {
            continue;
        }
        for (index, entry, klog) in klog_lines(&log.value) {
            if klog.msg != "Adding new service port" || !history.failing_since(index) {
                continue;
            }
            let Some(port_name) = util::klog_value(klog, "portName") else {
                continue;
            };
            let removed = klog_lines(&log.value).any(|(later, _, other)| {
                later > index
                    && other.msg == "Removing service port"
                    && util::klog_value(other, "portName") == Some(port_name)
            });
            if removed {
                continue;
            }
            // The snapshot's view, built once with the snapshot.
            let Some(view) = cx.snapshot.kube_view() else {
                return;
            };
            if view.service(port_name).is_some() {
                continue;
            }
            let service_port = util::klog_value(klog, "servicePort").unwrap_or("its cluster IP");
            let mut builder = cx
                .finding(&META, Subject::new("service", port_name))
                .evidence(log_evidence(&log.path, entry));
            if let Some(chain) = iptables
                .value
                .table(node_artifacts::iptables::Table::Nat)
                .and_then(|block| block.chain("KUBE-SERVICES"))
                && let Some(line) = chain.line
            {
                builder = builder.evidence(crate::finding::Evidence::line(
                    &iptables.path,
                    line,
                    &format!(
                        ":KUBE-SERVICES ({} rules, none for {port_name})",
                        chain.rules.len()
                    ),
                ));
            }
            let failures_since = history
                .ongoing()
                .iter()
                .filter(|failure| failure.index > index)
                .count();
            acc.push(
                builder
                    .severity(Severity::High)
                    .title(format!("service {port_name} ({service_port}) has no rules on this node"))
                    .summary(format!(
                        "kube-proxy learnt of service port {port_name} ({service_port}) at {}, but the ruleset has no rule for it: {failures_since} syncs have failed since. Connections from this node to it are not translated and time out.",
                        entry.time
                    ))
                    .build(),
            );
        }
    }
}
