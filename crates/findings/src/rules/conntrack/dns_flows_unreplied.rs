//! CTK003: many UDP flows to the cluster DNS service are unreplied.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use node_artifacts::conntrack::{Entry, Protocol};

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Evidence, Finding, Subject};
use crate::rules::iptables::util;
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Counts `[UNREPLIED]` UDP conntrack entries to port 53 of the cluster
    /// DNS service (the kubelet's `clusterDNS`, else the cluster IP of
    /// `kube-system/kube-dns`), and reads where they were DNATed (the reply
    /// tuple's source): if those backends are no longer endpoints of the DNS
    /// service in kube-proxy's rules, the flows are stale DNAT to deleted
    /// pods; otherwise queries go unanswered by live backends (the conntrack
    /// race, or overloaded or dead CoreDNS pods).
    ///
    /// ## Why is this bad?
    /// Each unreplied query is a lookup that timed out in a pod (5 s per
    /// attempt with the default resolver). Stale entries keep steering a
    /// client's queries (same source port) to a pod that no longer exists,
    /// bypassing kube-proxy's current rules until the entry expires, and a
    /// flood of them fills the conntrack table (CTK001).
    ///
    /// ## Evidence
    /// The entries in `networking/conntrack.txt`, the kubelet's `clusterDNS`,
    /// the DNS service's endpoints in `networking/iptables-save.txt`, and the
    /// busiest client (its pod name from `ipamd/enis.json` when known).
    ///
    /// ## Severity
    /// - High from `dns_unreplied_flows` entries (20 by default).
    /// - Stale DNAT to backends that are no longer endpoints is reported
    ///   from the first entry: high when the DNS service has no endpoint at
    ///   all or the count reaches `dns_unreplied_flows`, medium otherwise.
    ///
    /// ## Example
    /// ```text
    /// udp      17 1 src=10.0.76.194 dst=172.20.0.10 sport=58732 dport=53 [UNREPLIED] src=10.0.40.18 dst=10.0.76.194 sport=53 dport=58732 mark=0 use=1
    /// ```
    ///
    /// ## Remediation
    /// Stale DNAT: restore the DNS pods (IPT001), then flush the stale
    /// entries (`conntrack -D -p udp --orig-dst <cluster DNS IP>
    /// --reply-src <old pod IP>`). Otherwise: check CoreDNS's load and
    /// errors, scale it, deploy NodeLocal DNSCache, and find the top client
    /// (a pod resolving without caching).
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/tasks/administer-cluster/dns-debugging-resolution/>
    /// - <https://github.com/kubernetes/kubernetes/issues/56903>
    /// - <https://kubernetes.io/docs/tasks/administer-cluster/nodelocaldns/>
    pub(crate) static META = {
        code: "CTK003",
        name: "DnsFlowsUnreplied",
        group: Conntrack,
        default_severity: High,
        since: "0.1.0",
    }
}

/// CTK003.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::ConntrackTable],
    check,
};

const DNS_PORT: u16 = 53;

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let snapshot = cx.snapshot;
    let Some(conntrack) = &snapshot.conntrack else {
        return;
    };
    let view = snapshot.kube_view();
    let mut dns_ips = util::cluster_dns(snapshot);
    if dns_ips.is_empty()
        && let Some(ip) = view
            .as_ref()
            .and_then(|view| {
                view.services()
                    .find(|s| s.namespace == "kube-system" && s.name == "kube-dns")
            })
            .and_then(|service| service.cluster_ip)
    {
        dns_ips.push(ip);
    }

    for dns_ip in dns_ips {
        let flows: Vec<&Entry> = conntrack
            .value
            .table
            .entries_for_addr(dns_ip)
            .filter(|entry| {
                entry.protocol == Protocol::Udp
                    && entry.flags.unreplied
                    && entry.original.dst == dns_ip
                    && entry.destination().port == Some(DNS_PORT)
            })
            .collect();
        if flows.is_empty() {
            continue;
        }
        // The DNS service's current backends, as kube-proxy programs them.
        let services: Vec<_> = view
            .as_ref()
            .map(|view| view.services_by_cluster_ip(dns_ip, DNS_PORT).collect())
            .unwrap_or_default();
        let endpoints: BTreeSet<IpAddr> = services
            .iter()
            .flat_map(|service| &service.endpoints)
            .filter_map(|endpoint| endpoint.address)
            .collect();
        let mut backends: BTreeMap<IpAddr, usize> = BTreeMap::new();
        for flow in &flows {
            if let Some(nat) = flow.nat_destination() {
                *backends.entry(nat.addr).or_default() += 1;
            }
        }
        let stale: BTreeMap<IpAddr, usize> = if view.is_some() {
            backends
                .iter()
                .filter(|(addr, _)| !endpoints.contains(addr))
                .map(|(addr, count)| (*addr, *count))
                .collect()
        } else {
            BTreeMap::new()
        };
        let stale_flows: usize = stale.values().sum();
        let threshold = cx.thresholds.dns_unreplied_flows;
        let no_endpoints = !services.is_empty() && endpoints.is_empty();
        let severity = if flows.len() >= threshold || (stale_flows > 0 && no_endpoints) {
            Severity::High
        } else if stale_flows > 0 {
            Severity::Medium
        } else {
            continue;
        };

        // The busiest client, named by its pod when ipamd knows the address.
        let mut clients: BTreeMap<IpAddr, usize> = BTreeMap::new();
        for flow in &flows {
            *clients.entry(flow.original.src).or_default() += 1;
        }
        let top_client = clients
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map(|(addr, count)| (*addr, *count));

        let key = services
            .iter()
            .map(|service| format!("{}/{}", service.namespace, service.name))
            .next()
            .unwrap_or_else(|| format!("{dns_ip}:{DNS_PORT}"));
        let mut builder = cx.finding(&META, Subject::new("service", key.clone()));
        for flow in flows.iter().take(12) {
            builder = builder.evidence(Evidence::line(
                &conntrack.path,
                flow.line as usize,
                &describe(flow),
            ));
        }
        if let Some(config) = snapshot.kubelet_config() {
            builder = builder.source(config.path.clone());
        }
        let backend_text = backends
            .iter()
            .map(|(addr, count)| format!("{addr} ({count})"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut summary = format!(
            "{} UDP queries to the cluster DNS service {dns_ip}:53 ({key}) are unreplied in the conntrack table",
            flows.len()
        );
        if !backend_text.is_empty() {
            summary.push_str(&format!("; they were DNATed to {backend_text}"));
        }
        summary.push('.');
        let title;
        if stale_flows > 0 {
            let stale_text = stale
                .keys()
                .map(IpAddr::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            if let Some(iptables) = &snapshot.iptables {
                builder = builder.source(iptables.path.clone());
            }
            summary.push_str(&format!(
                " Stale DNAT to deleted endpoints: {stale_text} {} not an endpoint of {key} in kube-proxy's rules any more ({}), so {stale_flows} flows keep sending queries to pods that no longer exist, bypassing the current rules until the entries expire.",
                if stale.len() == 1 { "is" } else { "are" },
                if endpoints.is_empty() {
                    "the service has no endpoint at all".to_owned()
                } else {
                    format!(
                        "its endpoints are {}",
                        endpoints.iter().map(IpAddr::to_string).collect::<Vec<_>>().join(", ")
                    )
                }
            ));
            title = format!(
                "{stale_flows} DNS flows to {dns_ip}:53 stuck on deleted endpoints {stale_text}"
            );
        } else {
            summary.push_str(&format!(
                " The backends are current endpoints, so the queries are not answered in time: the DNS conntrack race (parallel A/AAAA queries on one socket) or overloaded or failing CoreDNS pods. At least {threshold} (`dns_unreplied_flows`) is a pattern, not noise."
            ));
            title = format!(
                "{} unreplied DNS queries to cluster DNS {dns_ip}:53",
                flows.len()
            );
        }
        let mut title = title;
        if let Some((client, count)) = top_client {
            let pod = pod_of(cx, client);
            if count * 2 >= flows.len() && flows.len() >= threshold {
                title.push_str(&format!(
                    ", mostly from {}",
                    pod.as_deref()
                        .map_or_else(|| client.to_string(), |pod| format!("pod {pod}"))
                ));
            }
            summary.push_str(&format!(
                " The top client is {client}{} with {count} of them.",
                pod.as_ref()
                    .map(|pod| format!(" (pod {pod})"))
                    .unwrap_or_default()
            ));
            if pod.is_some()
                && let Some(enis) = &snapshot.enis
            {
                builder = builder.source(enis.path.clone());
            }
        }
        acc.push(
            builder
                .severity(severity)
                .title(title)
                .summary(summary)
                .occurrences(flows.len() as u64)
                .build(),
        );
    }
}

/// `10.0.50.75:40592 -> 172.20.0.10:53 UNREPLIED, DNAT to 10.0.40.18:53`.
fn describe(entry: &Entry) -> String {
    let source = entry.original.src;
    let destination = entry.original.dst;
    match entry.nat_destination() {
        Some(nat) => format!(
            "udp {source} -> {destination}:53 [UNREPLIED], DNAT to {}:{}",
            nat.addr,
            nat.port.unwrap_or(DNS_PORT)
        ),
        None => format!("udp {source} -> {destination}:53 [UNREPLIED], not translated"),
    }
}

/// The pod (`namespace/name`) ipamd assigned `address` to, if known.
fn pod_of(cx: &RuleContext<'_>, address: IpAddr) -> Option<String> {
    let enis = cx.snapshot.enis.as_ref()?;
    let text = address.to_string();
    enis.value
        .addresses()
        .find(|entry| entry.assigned && entry.address == text)
        .and_then(|entry| match (&entry.pod_namespace, &entry.pod_name) {
            (Some(namespace), Some(name)) => Some(format!("{namespace}/{name}")),
            _ => None,
        })
}
