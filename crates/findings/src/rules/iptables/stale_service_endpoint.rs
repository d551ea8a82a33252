//! KPX002: kube-proxy's rules still send a service's traffic to an endpoint
//! kube-proxy itself logged as removed.

use std::net::IpAddr;

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Evidence, Finding, Subject};
use crate::rules::iptables::kube_proxy_sync_failing::SyncHistory;
use crate::rules::iptables::util::{self, klog_lines, log_evidence};
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Flags service endpoints that kube-proxy logged as removed
    /// (`"Removing endpoint" servicePortName="ns/svc:port"
    /// endpoint="ip:port"`) but that the nat table still load-balances to
    /// (a `KUBE-SEP-*` chain DNATing to that address), because no sync has
    /// succeeded since the removal.
    ///
    /// ## Why is this bad?
    /// The endpoint's pod is gone: the share of connections kube-proxy's
    /// random rules send to it time out or are refused, on this node only,
    /// which looks like intermittent application failure.
    ///
    /// ## Evidence
    /// kube-proxy's `Removing endpoint` line, the `KUBE-SVC-*` jump and the
    /// `KUBE-SEP-*` DNAT rule still in `networking/iptables-save.txt`, the
    /// failing syncs since the removal, and conntrack flows still DNATed to
    /// the address.
    ///
    /// ## Severity
    /// High: a share of the service's new connections go to a pod that no
    /// longer exists.
    ///
    /// ## Example
    /// ```text
    /// I1126 09:36:11.628234       1 endpointslicecache.go:310] "Removing endpoint" servicePortName="shop/frontend:http" endpoint="10.0.70.160:8080"
    /// -A KUBE-SEP-SGPHV2XUGMFTCZCH -p tcp -m comment --comment "shop/frontend:http" -m tcp -j DNAT --to-destination 10.0.70.160:8080
    /// ```
    ///
    /// ## Remediation
    /// Fix kube-proxy's failing sync (KPX001, often a foreign rule IPT008);
    /// its next successful sync removes the stale endpoints. Restarting the
    /// kube-proxy pod does not help while the cause remains.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/services-networking/endpoint-slices/>
    pub(crate) static META = {
        code: "KPX002",
        name: "StaleServiceEndpoint",
        group: Iptables,
        default_severity: High,
        since: "0.1.0",
    }
}

/// KPX002.
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
            if klog.msg != "Removing endpoint" || !history.failing_since(index) {
                continue;
            }
            let (Some(service_key), Some(endpoint_text)) = (
                util::klog_value(klog, "servicePortName"),
                util::klog_value(klog, "endpoint"),
            ) else {
                continue;
            };
            let Some((address, port)) = parse_endpoint(endpoint_text) else {
                continue;
            };
            // An endpoint added back after its removal is not stale.
            let re_added = klog_lines(&log.value).any(|(later, _, other)| {
                later > index
                    && other.msg == "Adding endpoint"
                    && util::klog_value(other, "endpoint") == Some(endpoint_text)
            });
            if re_added {
                continue;
            }
            // The snapshot's view, built once with the snapshot.
            let Some(view) = cx.snapshot.kube_view() else {
                return;
            };
            let Some(service) = view.service(service_key) else {
                continue;
            };
            let Some(endpoint) = service.endpoints.iter().find(|endpoint| {
                endpoint.address == Some(address) && endpoint.port.is_none_or(|p| p == port)
            }) else {
                continue;
            };
            let mut builder = cx
                .finding(
                    &META,
                    Subject::new("endpoint", format!("{service_key} -> {address}:{port}")),
                )
                .evidence(log_evidence(&log.path, entry));
            for line in std::iter::once(endpoint.jump_line).chain(endpoint.dnat_line) {
                if let Some((_, rule)) = iptables.value.rules().find(|(_, rule)| rule.line == line)
                {
                    builder = builder.evidence(util::rule_evidence(&iptables.path, rule));
                }
            }
            let failures_since = history
                .ongoing()
                .iter()
                .filter(|failure| failure.index > index)
                .count();
            let mut summary = format!(
                "kube-proxy logged endpoint {address}:{port} of service {service_key} as removed at {}, but the nat table still sends {:.0}% of the service's new connections to it through {}: {failures_since} syncs have failed since, so the removal was never applied.",
                entry.time,
                endpoint.share * 100.0,
                endpoint.chain
            );
            let (flows, flow_evidence) = flows_to(cx, address, port);
            builder = builder.evidence_all(flow_evidence);
            if flows > 0 {
                summary.push_str(&format!(
                    " The conntrack table holds {flows} flow(s) DNATed to {address}:{port}."
                ));
            }
            acc.push(
                builder
                    .severity(Severity::High)
                    .title(format!(
                        "service {service_key} still routes to removed endpoint {address}:{port}"
                    ))
                    .summary(summary)
                    .occurrences(1 + flows as u64)
                    .build(),
            );
        }
    }
}

/// `10.0.70.160:8080` (or `[fd00::1]:8080`) → address and port.
fn parse_endpoint(text: &str) -> Option<(IpAddr, u16)> {
    let socket: std::net::SocketAddr = text.parse().ok()?;
    Some((socket.ip(), socket.port()))
}

/// Conntrack flows whose reply comes from the endpoint (DNATed to it), and
/// evidence for the first of them.
fn flows_to(cx: &RuleContext<'_>, address: IpAddr, port: u16) -> (usize, Option<Evidence>) {
    let Some(conntrack) = &cx.snapshot.conntrack else {
        return (0, None);
    };
    let flows: Vec<_> = conntrack
        .value
        .table
        .entries_for_addr(address)
        .filter(|entry| {
            entry
                .nat_destination()
                .is_some_and(|nat| nat.addr == address && nat.port == Some(port))
        })
        .collect();
    let evidence = flows.first().map(|first| {
        Evidence::line(
            &conntrack.path,
            first.line as usize,
            &format!(
                "{} -> {} DNATed to {address}:{port}",
                first.source().addr,
                first.destination().addr
            ),
        )
    });
    (flows.len(), evidence)
}
