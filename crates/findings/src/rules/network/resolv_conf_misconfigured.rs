//! NET006: the node's resolv.conf defeats the resolver.

use std::net::IpAddr;

use crate::codes::{Need, Rule};
use crate::context::RuleContext;
use crate::declare_rule;
use crate::finding::{Evidence, Finding, Subject};
use crate::severity::Severity;

declare_rule! {
    /// ## What it does
    /// Flags problems in the node's `/etc/resolv.conf`, one finding per kind
    /// of problem:
    /// - no `nameserver` line (glibc then queries 127.0.0.1);
    /// - more than three nameservers (glibc uses the first three; kubelet
    ///   drops the rest for `dnsPolicy: Default` pods and logs `Nameserver
    ///   limits were exceeded`);
    /// - a nameserver that is one of kubelet's `clusterDNS` addresses (CoreDNS
    ///   forwards to the node's resolv.conf, so it would forward to itself);
    /// - `search` with more than 6 domains or more than 256 characters;
    /// - `ndots` above 5.
    ///
    /// `nameserver 127.0.0.53` (systemd-resolved's stub on Amazon Linux 2023)
    /// is normal and not flagged: pods get the cluster DNS from kubelet.
    ///
    /// ## Why is this bad?
    /// kubelet builds every pod's resolv.conf from the node's: pods with
    /// `dnsPolicy: Default` (CoreDNS among them) copy it, and `ClusterFirst`
    /// pods get its search domains appended to their three cluster domains.
    /// Extra nameservers are silently ignored, so a "fallback" server never
    /// answers. Long search lists multiply the queries of every unqualified
    /// name, and resolvers with the classic limits (glibc before 2.26, 6
    /// domains and 256 characters) truncate them; kubelet reports `Search
    /// Line limits were exceeded`. A high `ndots` makes most external names
    /// go through every search domain first. A cluster DNS address on the
    /// node makes CoreDNS forward to itself: its `loop` plugin stops it
    /// (`Loop … detected`), and cluster DNS fails.
    ///
    /// ## Evidence
    /// `networking/resolv.conf`: the `nameserver` lines (by line number);
    /// `search` and `options` are quoted with the file's span, as the model
    /// does not keep their lines. kubelet's `clusterDNS` from
    /// `kubelet/config.json` for the loop check.
    ///
    /// ## Severity
    /// Medium. High for no nameserver and for a cluster DNS address on the
    /// node. Low for `ndots` above 5.
    ///
    /// ## Example
    /// ```text
    /// nameserver 10.0.0.2
    /// nameserver 169.254.169.253
    /// nameserver 8.8.8.8
    /// nameserver 1.1.1.1          <- ignored
    /// ```
    ///
    /// ## Remediation
    /// Keep at most three nameservers (the VPC resolver, `169.254.169.253` or
    /// the VPC base + 2, is enough on EC2), trim the search list (the DHCP
    /// options set's `domain-name`), and leave `ndots` to the pods'
    /// `dnsConfig`. Never point the node at the cluster DNS service; give
    /// kubelet a separate file with `resolvConf` if the node needs a
    /// different resolver.
    ///
    /// ## References
    /// - <https://man7.org/linux/man-pages/man5/resolv.conf.5.html>
    /// - <https://kubernetes.io/docs/tasks/administer-cluster/dns-debugging-resolution/#known-issues>
    /// - <https://coredns.io/plugins/loop/#troubleshooting-loops-in-kubernetes-clusters>
    pub(crate) static META = {
        code: "NET006",
        name: "ResolvConfMisconfigured",
        group: Network,
        default_severity: Medium,
        since: "0.1.0",
    }
}

/// NET006.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    needs: &[Need::ResolvConf],
    check,
};

/// glibc's `MAXNS`.
const MAX_NAMESERVERS: usize = 3;
/// The classic search-list limits (glibc before 2.26, and kubelet's
/// historical validation).
const MAX_SEARCH_DOMAINS: usize = 6;
/// See [`MAX_SEARCH_DOMAINS`].
const MAX_SEARCH_CHARS: usize = 256;
/// Kubernetes pods use `ndots:5`; more is unusual.
const MAX_NDOTS: u32 = 5;

fn check(cx: &RuleContext<'_>, acc: &mut Vec<Finding>) {
    let snapshot = cx.snapshot;
    let Some(artifact) = &snapshot.resolv_conf else {
        return;
    };
    let conf = &artifact.value;
    let path = artifact.path.as_str();
    let last_line = (artifact.lines as usize).max(1);
    let nameserver_evidence = |nameserver: &node_artifacts::resolv::Nameserver| {
        Evidence::line(
            path,
            nameserver.line,
            &format!("nameserver {}", nameserver.raw),
        )
    };

    if conf.nameservers.is_empty() {
        // An empty or unreadable file is a failed collection, not a node
        // without DNS.
        if artifact.bytes > 0
            && !(conf.search.is_empty() && conf.options.is_empty() && conf.comments.is_empty())
        {
            acc.push(
                cx.finding(&META, Subject::new("resolv-conf", "nameserver"))
                    .evidence(Evidence::span(path, 1, last_line, "no nameserver line"))
                    .severity(Severity::High)
                    .title("resolv.conf lists no nameserver")
                    .summary(
                        "The node's resolv.conf has no nameserver line: glibc then sends queries \
                         to 127.0.0.1, and pods with dnsPolicy Default (CoreDNS among them) get no \
                         upstream resolver.",
                    )
                    .build(),
            );
        }
    } else if conf.nameservers.len() > MAX_NAMESERVERS {
        let ignored: Vec<&str> = conf.nameservers[MAX_NAMESERVERS..]
            .iter()
            .map(|nameserver| nameserver.raw.as_str())
            .collect();
        acc.push(
            cx.finding(&META, Subject::new("resolv-conf", "nameserver"))
                .evidence_all(conf.nameservers.iter().map(nameserver_evidence))
                .title(format!(
                    "resolv.conf lists {} nameservers; {} ignored",
                    conf.nameservers.len(),
                    ignored.len()
                ))
                .summary(format!(
                    "The node's resolv.conf lists {} nameservers but the resolver uses only the \
                     first {MAX_NAMESERVERS}: {} are never queried, and kubelet omits them from \
                     the resolv.conf of dnsPolicy Default pods.",
                    conf.nameservers.len(),
                    ignored.join(", ")
                ))
                .occurrences(ignored.len() as u64)
                .build(),
        );
    }

    // A cluster DNS address as the node's resolver: CoreDNS forwards to it.
    if let Some(kubelet) = snapshot.kubelet_config() {
        let cluster_dns: Vec<IpAddr> = kubelet
            .value
            .cluster_dns
            .iter()
            .filter_map(|address| address.trim().parse().ok())
            .collect();
        let looping: Vec<_> = conf
            .effective_nameservers()
            .iter()
            .filter(|nameserver| cluster_dns.contains(&nameserver.addr))
            .collect();
        if !looping.is_empty() {
            let addresses: Vec<String> = looping
                .iter()
                .map(|nameserver| nameserver.addr.to_string())
                .collect();
            acc.push(
                cx.finding(&META, Subject::new("resolv-conf", "cluster-dns"))
                    .evidence_all(looping.iter().map(|nameserver| nameserver_evidence(nameserver)))
                    .evidence(Evidence::span(
                        &kubelet.path,
                        1,
                        (kubelet.lines as usize).max(1),
                        &format!("clusterDNS: {}", kubelet.value.cluster_dns.join(", ")),
                    ))
                    .severity(Severity::High)
                    .title(format!("node resolves through the cluster DNS service {}", addresses.join(", ")))
                    .summary(format!(
                        "The node's resolv.conf uses {}, which kubelet's clusterDNS names as the \
                         cluster DNS service. CoreDNS runs with dnsPolicy Default and forwards to the \
                         node's resolvers, so it would forward to itself: its loop plugin stops it, \
                         and the node's own lookups (image pulls, the API endpoint) depend on pods \
                         it hosts.",
                        addresses.join(", ")
                    ))
                    .build(),
            );
        }
    }

    let search_chars = conf.search.join(" ").len();
    if conf.search.len() > MAX_SEARCH_DOMAINS || search_chars > MAX_SEARCH_CHARS {
        acc.push(
            cx.finding(&META, Subject::new("resolv-conf", "search"))
                .evidence(Evidence::span(path, 1, last_line, &format!("search {}", conf.search.join(" "))))
                .title(format!(
                    "resolv.conf search list has {} domains ({search_chars} characters)",
                    conf.search.len()
                ))
                .summary(format!(
                    "The node's search list has {} domains in {search_chars} characters, beyond the \
                     classic limits of {MAX_SEARCH_DOMAINS} domains and {MAX_SEARCH_CHARS} \
                     characters. ClusterFirst pods get it appended to their three cluster domains, \
                     so kubelet truncates it (`Search Line limits were exceeded`) and every \
                     unqualified name costs up to {} queries per address family.",
                    conf.search.len(),
                    conf.search.len() + 4
                ))
                .build(),
        );
    }

    if let Some(ndots) = conf.ndots().filter(|&ndots| ndots > MAX_NDOTS) {
        acc.push(
            cx.finding(&META, Subject::new("resolv-conf", "ndots"))
                .evidence(Evidence::span(
                    path,
                    1,
                    last_line,
                    &format!("options ndots:{ndots}"),
                ))
                .severity(Severity::Low)
                .title(format!("resolv.conf sets ndots:{ndots}"))
                .summary(format!(
                    "The node's resolv.conf sets ndots:{ndots} (glibc caps it at 15): names with \
                     fewer than {ndots} dots, most external names, are tried against every one of \
                     the {} search domains before being resolved as written.",
                    conf.search.len()
                ))
                .build(),
        );
    }
}
