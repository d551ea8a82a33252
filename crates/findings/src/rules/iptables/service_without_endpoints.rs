//! IPT001: a Kubernetes service port has no endpoints on this node.

use std::net::IpAddr;

use node_artifacts::iptables::kube::Service;

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Evidence, Finding, Subject};
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Flags service ports that kube-proxy programs as having no endpoints:
    /// the `REJECT` rules whose comment says `<ns>/<svc>:<port> has no
    /// endpoints`, or a `KUBE-SVC-*` chain without any `KUBE-SEP-*` jump.
    ///
    /// ## Why is this bad?
    /// Every new connection to the service's cluster IP is refused on the
    /// node (ICMP port unreachable). When the service is the cluster DNS,
    /// every pod on the node fails to resolve names.
    ///
    /// ## Evidence
    /// The `KUBE-SERVICES` rules of `networking/iptables-save.txt` (kube-proxy's
    /// own view of the service's endpoints), the kubelet's `clusterDNS`
    /// (`kubelet/config.json`) to recognise the cluster DNS service, and
    /// conntrack entries to the cluster IP showing clients still trying.
    ///
    /// ## Severity
    /// - Critical for a DNS port (53) of the cluster DNS service: the service
    ///   whose cluster IP is in the kubelet's `clusterDNS`, or
    ///   `kube-system/kube-dns`.
    /// - Medium for the other ports of the cluster DNS service (metrics).
    /// - High for any other service when the conntrack table holds flows to
    ///   its cluster IP and port (clients are being refused now).
    /// - Low otherwise: an application scaled to zero is a normal state.
    ///
    /// ## Example
    /// ```text
    /// -A KUBE-SERVICES -d 172.20.0.10/32 -p udp -m comment --comment "kube-system/kube-dns:dns has no endpoints" -m udp --dport 53 -j REJECT --reject-with icmp-port-unreachable
    /// ```
    ///
    /// ## Remediation
    /// Find why the service has no ready pods (`kubectl get endpointslices
    /// -n <ns> -l kubernetes.io/service-name=<svc>`, the deployment's replica
    /// count and readiness probes). For CoreDNS, check the `coredns`
    /// deployment and its PodDisruptionBudget.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/services-networking/service/#services-without-selectors>
    /// - <https://docs.aws.amazon.com/eks/latest/userguide/managing-coredns.html>
    pub(crate) static META = {
        code: "IPT001",
        name: "ServiceWithoutEndpoints",
        group: Iptables,
        default_severity: Low,
        since: "0.1.0",
    }
}

/// IPT001.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::Iptables],
    check,
};

const DNS_PORT: u16 = 53;

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let Some(iptables) = &cx.snapshot.iptables else {
        return;
    };
    let Some(view) = cx.snapshot.kube_view() else {
        return;
    };
    let cluster_dns: Vec<IpAddr> = cx
        .snapshot
        .kubelet_config()
        .map(|config| {
            config
                .value
                .cluster_dns
                .iter()
                .filter_map(|ip| ip.parse().ok())
                .collect()
        })
        .unwrap_or_default();

    for service in view.services() {
        let no_endpoints = service.no_endpoints_line.is_some()
            || (service.svc_chain.is_some() && service.endpoints.is_empty());
        if !no_endpoints {
            continue;
        }
        let key = service_key(service);
        let is_cluster_dns = service
            .cluster_ip
            .is_some_and(|ip| cluster_dns.contains(&ip))
            || (service.namespace == "kube-system" && service.name == "kube-dns");
        let client_flows = flows_to(cx, service);
        let severity = if is_cluster_dns && service.port == Some(DNS_PORT) {
            Severity::Critical
        } else if is_cluster_dns {
            Severity::Medium
        } else if client_flows > 0 {
            Severity::High
        } else {
            Severity::Low
        };

        let mut builder = cx.finding(&META, Subject::new("service", key.clone()));
        for line in service.no_endpoints_line.iter().chain(&service.lines) {
            if let Some(text) = rule_text(&iptables.value, *line) {
                builder = builder.evidence(Evidence::line(&iptables.path, *line, &text));
            }
        }
        let target = match (service.cluster_ip, service.port) {
            (Some(ip), Some(port)) => format!("{ip}:{port}"),
            (Some(ip), None) => ip.to_string(),
            _ => "its cluster IP".to_owned(),
        };
        let protocol = service
            .protocol
            .as_ref()
            .map(|protocol| format!("{protocol:?}").to_lowercase())
            .unwrap_or_default();
        let mut summary = format!(
            "kube-proxy has no endpoint for service port {key} ({protocol} {target}): new connections to it are rejected on this node."
        );
        if is_cluster_dns && service.port == Some(DNS_PORT) {
            summary.push_str(
                " This is the cluster DNS service (the kubelet's clusterDNS): pods on the node cannot resolve names.",
            );
        } else if is_cluster_dns {
            summary.push_str(
                " This port of the cluster DNS service is not the DNS port: monitoring of DNS fails, resolution is not affected by it.",
            );
        }
        if client_flows > 0 {
            summary.push_str(&format!(
                " The conntrack table holds {client_flows} flows to {target}: clients are still trying."
            ));
            if let Some(conntrack) = &cx.snapshot.conntrack {
                builder = builder.source(conntrack.path.clone());
            }
        }
        let title = if is_cluster_dns {
            format!("cluster DNS service {key} has no endpoints")
        } else {
            format!("service {key} has no endpoints")
        };
        acc.push(
            builder
                .severity(severity)
                .title(title)
                .summary(summary)
                .build(),
        );
    }
}

/// `namespace/name:port`, or `namespace/name` for an unnamed port.
fn service_key(service: &Service) -> String {
    match &service.port_name {
        Some(port) => format!("{}/{}:{}", service.namespace, service.name, port),
        None => format!("{}/{}", service.namespace, service.name),
    }
}

/// Conntrack entries whose original destination is the service's cluster IP
/// and port.
fn flows_to(cx: &RuleContext<'_>, service: &Service) -> usize {
    let (Some(ip), Some(port)) = (service.cluster_ip, service.port) else {
        return 0;
    };
    let Some(conntrack) = &cx.snapshot.conntrack else {
        return 0;
    };
    conntrack
        .value
        .table
        .entries_for_addr(ip)
        .filter(|entry| {
            let destination = entry.destination();
            destination.addr == ip && destination.port == Some(port)
        })
        .count()
}

fn rule_text(ruleset: &node_artifacts::iptables::Ruleset, line: usize) -> Option<String> {
    ruleset
        .rules()
        .find(|(_, rule)| rule.line == line)
        .map(|(_, rule)| rule.text().into_owned())
}
