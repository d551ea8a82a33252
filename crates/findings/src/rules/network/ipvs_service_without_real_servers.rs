//! NET010: an IPVS virtual service (kube-proxy in IPVS mode) has no usable
//! real server.

use std::net::IpAddr;

use node_artifacts::ipvs::{Protocol, VirtualService};

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Evidence, Finding, Subject};
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Flags IPVS virtual services from `ipvsadm --save` that have no real
    /// server, or only real servers of weight 0 (endpoints kube-proxy is
    /// draining), on a node where kube-proxy runs in IPVS mode. One finding
    /// per protocol and virtual address.
    ///
    /// ## Why is this bad?
    /// In IPVS mode kube-proxy programs each Service's cluster IP, NodePort
    /// and load-balancer addresses as virtual services and the ready
    /// endpoints as real servers. Without a real server, connections to the
    /// address are refused or time out on this node. That is expected for a
    /// Service scaled to zero, hence the low default; it is an outage when
    /// the address is the cluster DNS service.
    ///
    /// ## Evidence
    /// The `-A` line of the virtual service in `networking/ipvsadm.txt`, the
    /// weight-0 `-a` lines, and kubelet's `clusterDNS` for the escalation.
    ///
    /// ## Severity
    /// Low. Critical when the address is one of kubelet's `clusterDNS`
    /// addresses on port 53: every pod's DNS lookups fail.
    ///
    /// ## Example
    /// ```text
    /// -A -u 172.20.0.10:53 -s rr            <- no `-a` line follows
    /// ```
    ///
    /// ## Remediation
    /// Check the Service's endpoints (`kubectl get endpointslices -l
    /// kubernetes.io/service-name=<name>`) and why its pods are not ready or
    /// absent; for the cluster DNS, scale CoreDNS back up. If the endpoints
    /// exist, kube-proxy on this node is not syncing: read its log.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/reference/networking/virtual-ips/#proxy-mode-ipvs>
    /// - <https://man7.org/linux/man-pages/man8/ipvsadm.8.html>
    pub(crate) static META = {
        code: "NET010",
        name: "IpvsServiceWithoutRealServers",
        group: Network,
        default_severity: Low,
        since: "0.1.0",
    }
}

/// NET010.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::Ipvs],
    check,
};

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let snapshot = cx.snapshot;
    let Some(ipvs) = &snapshot.ipvs else {
        return;
    };
    let cluster_dns: Vec<IpAddr> = snapshot.kubelet_config().map_or_else(Vec::new, |kubelet| {
        kubelet
            .value
            .cluster_dns
            .iter()
            .filter_map(|address| address.trim().parse().ok())
            .collect()
    });
    for service in &ipvs.value.services {
        let draining_only = !service.real_servers.is_empty()
            && service
                .real_servers
                .iter()
                .all(|server| server.weight == Some(0));
        if !service.real_servers.is_empty() && !draining_only {
            continue;
        }
        let protocol = protocol_name(&service.protocol);
        let is_cluster_dns = service
            .socket
            .is_some_and(|socket| socket.port() == 53 && cluster_dns.contains(&socket.ip()));
        let mut builder = cx
            .finding(
                &META,
                Subject::new(
                    "ipvs-service",
                    format!("{}/{}", protocol.to_ascii_lowercase(), service.address),
                ),
            )
            .evidence(Evidence::line(
                &ipvs.path,
                service.line,
                &render_service(service, protocol),
            ));
        for server in &service.real_servers {
            builder = builder.evidence(Evidence::line(
                &ipvs.path,
                server.line,
                &format!("-> {} weight 0", server.address),
            ));
        }
        let state = if draining_only {
            format!(
                "only {} real server(s) of weight 0 (endpoints being drained)",
                service.real_servers.len()
            )
        } else {
            "no real server".to_owned()
        };
        let mut summary = format!(
            "IPVS virtual service {protocol} {} has {state}: connections to it from this node fail.",
            service.address
        );
        if is_cluster_dns {
            summary.push_str(" It is the cluster DNS service (kubelet's clusterDNS): every pod's DNS lookups fail.");
        }
        acc.push(
            builder
                .severity(if is_cluster_dns {
                    Severity::Critical
                } else {
                    Severity::Low
                })
                .title(format!(
                    "IPVS service {protocol} {} has {state}",
                    service.address
                ))
                .summary(summary)
                .build(),
        );
    }
}

fn protocol_name(protocol: &Protocol) -> &str {
    match protocol {
        Protocol::Tcp => "TCP",
        Protocol::Udp => "UDP",
        Protocol::Sctp => "SCTP",
        Protocol::Fwmark => "FWM",
        Protocol::Other(other) => other.as_str(),
    }
}

/// The `-A` line, reconstructed.
fn render_service(service: &VirtualService, protocol: &str) -> String {
    let mut text = format!("-A {protocol} {}", service.address);
    if let Some(scheduler) = &service.scheduler {
        text.push_str(&format!(" -s {scheduler}"));
    }
    text
}
