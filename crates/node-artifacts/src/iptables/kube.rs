//! The Kubernetes view of a node's ruleset: kube-proxy services, their
//! endpoints and node ports, and the Amazon VPC CNI SNAT/CONNMARK chains.
//!
//! kube-proxy (iptables mode) writes, in the `nat` table:
//!
//! ```text
//! -A KUBE-SERVICES -d 10.100.0.10/32 -p udp -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU
//! -A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns -> 192.168.1.5:53" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-A
//! -A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns -> 192.168.2.9:53" -j KUBE-SEP-B
//! -A KUBE-SEP-A -p udp -m comment --comment "kube-system/kube-dns:dns" -m udp -j DNAT --to-destination 192.168.1.5:53
//! -A KUBE-NODEPORTS -p tcp -m comment --comment "default/web:http" -m tcp --dport 30080 -j KUBE-EXT-…
//! ```
//!
//! and, in `filter`, a `REJECT` whose comment ends in `has no endpoints` for a
//! service without ready endpoints. The view reads these shapes, indexes
//! services by key, chain and cluster IP, and works out each endpoint's
//! effective share of new connections from the probabilities.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use crate::iptables::model::{
    ChainName, IpNet, Match, Neg, Protocol, Rule, Ruleset, StatisticMatch, Table, TableBlock,
    Target,
};
use crate::shared::SharedText;

/// Services, endpoints, node ports and VPC CNI chains found in a ruleset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KubeView {
    /// Services keyed by `namespace/name:port`. Each key is one buffer that
    /// the service's namespace, name and port name, its chains' and node
    /// ports' `service` and the view's indexes share.
    pub services: BTreeMap<SharedText, Service>,
    /// Node ports in rule order.
    pub node_ports: Vec<NodePort>,
    /// Amazon VPC CNI chains and what they do.
    pub vpc_cni: VpcCni,
    /// Kubernetes and VPC CNI chains by name.
    pub chains: BTreeMap<ChainName, KubeChain>,
    /// Service keys by cluster IP and port, sorted (several services may
    /// share one: DNS over UDP and TCP).
    #[serde(skip)]
    by_cluster_ip: Box<[((IpAddr, u16), SharedText)]>,
    /// Service keys by `KUBE-SVC-*`/`KUBE-SEP-*` chain, sorted by chain.
    #[serde(skip)]
    by_svc_chain: Box<[(ChainName, SharedText)]>,
}

/// One service port as kube-proxy programs it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Service {
    /// Namespace.
    pub namespace: SharedText,
    /// Service name.
    pub name: SharedText,
    /// Port name (`None` for an unnamed port).
    pub port_name: Option<SharedText>,
    /// Cluster IP, from the `cluster IP` rule (or the `has no endpoints` rule).
    pub cluster_ip: Option<IpAddr>,
    /// Protocol of the service port.
    pub protocol: Option<Protocol>,
    /// Service port.
    pub port: Option<u16>,
    /// The `KUBE-SVC-*` chain.
    pub svc_chain: Option<ChainName>,
    /// External and load-balancer IPs with the kind the comment gives.
    pub external_ips: Vec<ExternalIp>,
    /// Endpoints in the order kube-proxy tries them.
    pub endpoints: Vec<Endpoint>,
    /// Line of the `REJECT … has no endpoints` rule, when there is one.
    pub no_endpoints_line: Option<usize>,
    /// Lines of the `KUBE-SERVICES` rules for this service.
    pub lines: Vec<usize>,
}

/// An external or load-balancer IP of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExternalIp {
    /// The address.
    pub ip: IpAddr,
    /// `external IP` or `loadbalancer IP`, as the comment says.
    pub kind: String,
    /// Rule line.
    pub line: usize,
}

/// One endpoint (`KUBE-SEP-*` chain) of a service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Endpoint {
    /// The `KUBE-SEP-*` chain.
    pub chain: ChainName,
    /// Pod address from the DNAT target.
    pub address: Option<IpAddr>,
    /// Pod port from the DNAT target.
    pub port: Option<u16>,
    /// The probability on the jump rule (`None` on the last, catch-all rule).
    pub probability: Option<f64>,
    /// The share of new connections this endpoint gets, given the rules
    /// before it (`p_i × Π(1 − p_j)` for earlier `j`).
    pub share: f64,
    /// Line of the jump from the `KUBE-SVC-*` chain.
    pub jump_line: usize,
    /// Line of the DNAT rule in the `KUBE-SEP-*` chain.
    pub dnat_line: Option<usize>,
    /// Whether session affinity (`-m recent`) is used for this endpoint.
    pub affinity: bool,
}

/// A node port rule from `KUBE-NODEPORTS`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodePort {
    /// `namespace/name:port` of the service.
    pub service: SharedText,
    /// Protocol.
    pub protocol: Option<Protocol>,
    /// Node port number.
    pub port: u16,
    /// Chain jumped to (`KUBE-EXT-*`, `KUBE-SVC-*` …).
    pub target_chain: Option<ChainName>,
    /// Whether the rule only matches `-d 127.0.0.0/8` (localhost node ports).
    pub localhost_only: bool,
    /// Whether this is the filter-table `REJECT` kube-proxy writes for a
    /// node port whose service has no endpoints.
    pub no_endpoints: bool,
    /// Rule line.
    pub line: usize,
}

/// What a Kubernetes or VPC CNI chain is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KubeChain {
    /// Chain name.
    pub name: ChainName,
    /// Kind derived from the name.
    pub kind: KubeChainKind,
    /// Tables that declare the chain.
    pub tables: Vec<Table>,
    /// Number of rules across those tables.
    pub rule_count: usize,
    /// The service the chain belongs to, when known.
    pub service: Option<SharedText>,
}

/// Kinds of chains kube-proxy and the VPC CNI create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KubeChainKind {
    /// `KUBE-SERVICES`.
    Services,
    /// `KUBE-NODEPORTS`.
    NodePorts,
    /// `KUBE-SVC-*`.
    Service,
    /// `KUBE-SVL-*` (local traffic policy).
    ServiceLocal,
    /// `KUBE-SEP-*`.
    Endpoint,
    /// `KUBE-EXT-*` (and older `KUBE-XLB-*`).
    External,
    /// `KUBE-FW-*`.
    Firewall,
    /// Other `KUBE-*` chains (`KUBE-MARK-MASQ`, `KUBE-POSTROUTING`, …).
    KubeOther,
    /// `AWS-SNAT-CHAIN-*`.
    AwsSnat,
    /// `AWS-CONNMARK-CHAIN-*`.
    AwsConnmark,
}

/// The Amazon VPC CNI's chains.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct VpcCni {
    /// `AWS-SNAT-CHAIN-*` chains present.
    pub snat_chains: Vec<ChainName>,
    /// `AWS-CONNMARK-CHAIN-*` chains present.
    pub connmark_chains: Vec<ChainName>,
    /// SNAT rules (`-j SNAT --to-source …`).
    pub snat_rules: Vec<CniSnat>,
    /// Destinations that are not SNATed (VPC CIDRs and
    /// `AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS`).
    pub exclusions: Vec<CniExclusion>,
}

/// One VPC CNI SNAT rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CniSnat {
    /// Chain holding the rule.
    pub chain: ChainName,
    /// `--to-source` address.
    pub to_source: Option<IpAddr>,
    /// `--random`.
    pub random: bool,
    /// `--random-fully`.
    pub random_fully: bool,
    /// Interface excluded with `! -o` (usually `vlan+`).
    pub excluded_out_interface: Option<String>,
    /// Rule line.
    pub line: usize,
}

/// A destination the VPC CNI does not SNAT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CniExclusion {
    /// Chain holding the rule.
    pub chain: ChainName,
    /// The destination network.
    pub cidr: IpNet,
    /// The rule comment.
    pub comment: Option<String>,
    /// Rule line.
    pub line: usize,
}

impl VpcCni {
    /// Whether any VPC CNI chain exists.
    pub fn is_present(&self) -> bool {
        !self.snat_chains.is_empty() || !self.connmark_chains.is_empty()
    }
}

impl Service {
    /// `namespace/name:port` (or `namespace/name` for an unnamed port).
    pub fn key(&self) -> String {
        match &self.port_name {
            Some(port) => format!("{}/{}:{}", self.namespace, self.name, port),
            None => format!("{}/{}", self.namespace, self.name),
        }
    }
}

impl KubeView {
    /// Builds the view. Cost is linear in the number of rules.
    pub fn new(ruleset: &Ruleset) -> KubeView {
        let mut view = KubeView {
            services: BTreeMap::new(),
            node_ports: Vec::new(),
            vpc_cni: VpcCni::default(),
            chains: BTreeMap::new(),
            by_cluster_ip: Box::default(),
            by_svc_chain: Box::default(),
        };
        for block in &ruleset.tables {
            view.index_chains(block);
        }
        // A chain is in one or two tables: no room for four.
        for chain in view.chains.values_mut() {
            chain.tables.shrink_to_fit();
        }
        // nat first: it names the service chains and endpoints.
        for block in ruleset.tables.iter().filter(|b| b.table == Table::Nat) {
            view.read_nat(block);
        }
        for block in ruleset.tables.iter().filter(|b| b.table == Table::Filter) {
            view.read_filter(block);
        }
        for service in view.services.values_mut() {
            service.lines.sort_unstable();
            service.lines.shrink_to_fit();
            service.endpoints.shrink_to_fit();
        }
        let mut by_cluster_ip: Vec<((IpAddr, u16), SharedText)> = view
            .services
            .iter()
            .filter_map(|(key, service)| Some(((service.cluster_ip?, service.port?), key.clone())))
            .collect();
        // Stable: services on one address stay in key order.
        by_cluster_ip.sort_by_key(|(address, _)| *address);
        view.by_cluster_ip = by_cluster_ip.into_boxed_slice();
        let mut by_svc_chain: Vec<(ChainName, SharedText)> = view
            .services
            .iter()
            .flat_map(|(key, s)| {
                s.svc_chain
                    .iter()
                    .chain(s.endpoints.iter().map(|e| &e.chain))
                    .map(move |c| (c.clone(), key.clone()))
            })
            .collect();
        // The last service to name a chain owns it (as a map insert would).
        by_svc_chain.reverse();
        by_svc_chain.sort_by(|a, b| a.0.cmp(&b.0));
        by_svc_chain.dedup_by(|later, earlier| later.0 == earlier.0);
        for (chain, key) in &by_svc_chain {
            if let Some(info) = view.chains.get_mut(chain) {
                info.service = Some(key.clone());
            }
        }
        view.by_svc_chain = by_svc_chain.into_boxed_slice();
        view
    }

    /// All services, ordered by key.
    pub fn services(&self) -> impl Iterator<Item = &Service> {
        self.services.values()
    }

    /// Services with no endpoint: a `has no endpoints` rule, or a service
    /// chain that jumps to no endpoint.
    pub fn services_without_endpoints(&self) -> impl Iterator<Item = &Service> {
        self.services.values().filter(|s| s.endpoints.is_empty())
    }

    /// Node ports in rule order.
    pub fn node_ports(&self) -> &[NodePort] {
        &self.node_ports
    }

    /// The service with this key (`namespace/name:port`).
    pub fn service(&self, key: &str) -> Option<&Service> {
        self.services.get(key)
    }

    /// The first service (by key) on this cluster IP and port.
    pub fn service_by_cluster_ip(&self, ip: IpAddr, port: u16) -> Option<&Service> {
        self.services_by_cluster_ip(ip, port).next()
    }

    /// Every service on this cluster IP and port (e.g. DNS over UDP and TCP).
    pub fn services_by_cluster_ip(&self, ip: IpAddr, port: u16) -> impl Iterator<Item = &Service> {
        let start = self
            .by_cluster_ip
            .partition_point(|(address, _)| *address < (ip, port));
        self.by_cluster_ip[start..]
            .iter()
            .take_while(move |(address, _)| *address == (ip, port))
            .filter_map(|(_, key)| self.services.get(key))
    }

    /// The service owning a `KUBE-SVC-*` or `KUBE-SEP-*` chain.
    pub fn service_by_chain(&self, chain: &str) -> Option<&Service> {
        let at = self
            .by_svc_chain
            .binary_search_by(|(name, _)| (**name).cmp(chain))
            .ok()?;
        self.services.get(&self.by_svc_chain[at].1)
    }

    /// A Kubernetes or VPC CNI chain by name.
    pub fn chain(&self, name: &str) -> Option<&KubeChain> {
        self.chains.get(name)
    }

    fn index_chains(&mut self, block: &TableBlock) {
        for chain in &block.chains {
            let Some(kind) = chain_kind(&chain.name) else {
                continue;
            };
            match kind {
                KubeChainKind::AwsSnat if !self.vpc_cni.snat_chains.contains(&chain.name) => {
                    self.vpc_cni.snat_chains.push(chain.name.clone());
                }
                KubeChainKind::AwsConnmark
                    if !self.vpc_cni.connmark_chains.contains(&chain.name) =>
                {
                    self.vpc_cni.connmark_chains.push(chain.name.clone());
                }
                _ => {}
            }
            let entry = self
                .chains
                .entry(chain.name.clone())
                .or_insert_with(|| KubeChain {
                    name: chain.name.clone(),
                    kind,
                    tables: Vec::new(),
                    rule_count: 0,
                    service: None,
                });
            entry.tables.push(block.table.clone());
            entry.rule_count += chain.rules.len();
            if matches!(entry.kind, KubeChainKind::AwsSnat) {
                read_cni_snat(&mut self.vpc_cni, &chain.name, &chain.rules);
            }
        }
    }

    fn service_entry(&mut self, key: &str) -> Option<&mut Service> {
        split_service_key(key)?;
        if !self.services.contains_key(key) {
            // One buffer for the key; the parts are slices of it.
            let shared = SharedText::from(key);
            let (namespace, name, port_name) = split_service_key(&shared)?;
            let service = Service {
                namespace: shared.sub(namespace),
                name: shared.sub(name),
                port_name: port_name.map(|port| shared.sub(port)),
                cluster_ip: None,
                protocol: None,
                port: None,
                svc_chain: None,
                external_ips: Vec::new(),
                endpoints: Vec::new(),
                no_endpoints_line: None,
                lines: Vec::new(),
            };
            self.services.insert(shared, service);
        }
        self.services.get_mut(key)
    }

    /// The shared key of the service `key`, or a buffer of its own when no
    /// service has it.
    fn service_key(&self, key: &str) -> SharedText {
        self.services
            .get_key_value(key)
            .map_or_else(|| SharedText::from(key), |(shared, _)| shared.clone())
    }

    fn read_nat(&mut self, block: &TableBlock) {
        if let Some(services) = block.chain("KUBE-SERVICES") {
            for rule in &services.rules {
                let Some(comment) = rule.comment() else {
                    continue;
                };
                let (key, kind) = split_comment(comment);
                let destination = rule
                    .destination()
                    .filter(|d| !d.negated)
                    .map(|d| d.value.addr);
                let port = first_dport(rule);
                let protocol = rule.protocol().cloned();
                let jump = rule.jump_chain_name().cloned();
                let line = rule.line;
                match kind {
                    "cluster IP" => {
                        let Some(service) = self.service_entry(key) else {
                            continue;
                        };
                        service.cluster_ip = destination.or(service.cluster_ip);
                        service.port = port.or(service.port);
                        service.protocol = protocol.or(service.protocol.take());
                        if jump.as_deref().is_some_and(|j| {
                            j.starts_with("KUBE-SVC-") || j.starts_with("KUBE-SVL-")
                        }) {
                            service.svc_chain = jump;
                        }
                        service.lines.push(line);
                    }
                    "external IP" | "loadbalancer IP" => {
                        let Some(service) = self.service_entry(key) else {
                            continue;
                        };
                        if let Some(ip) = destination {
                            service.external_ips.push(ExternalIp {
                                ip,
                                kind: kind.to_owned(),
                                line,
                            });
                        }
                        service.lines.push(line);
                    }
                    _ => {}
                }
            }
        }
        // Endpoints: walk each service chain in rule order.
        let svc_chains: Vec<(SharedText, ChainName)> = self
            .services
            .iter()
            .filter_map(|(key, s)| Some((key.clone(), s.svc_chain.clone()?)))
            .collect();
        for (key, chain_name) in svc_chains {
            let Some(chain) = block.chain(&chain_name) else {
                continue;
            };
            let mut endpoints = Vec::new();
            let mut remaining = 1.0f64;
            for rule in &chain.rules {
                let Some(sep) = rule
                    .jump_chain_name()
                    .filter(|c| c.starts_with("KUBE-SEP-"))
                else {
                    continue;
                };
                let probability = rule.matches.iter().find_map(|m| match m {
                    Match::Statistic(StatisticMatch::Random {
                        negated: false,
                        probability,
                    }) => Some(*probability),
                    _ => None,
                });
                let affinity = rule.matches.iter().any(|m| matches!(m, Match::Recent(_)));
                if affinity {
                    // Affinity rules come first and do not consume share.
                    if endpoints.iter().any(|e: &Endpoint| &e.chain == sep) {
                        continue;
                    }
                }
                let share = if affinity {
                    0.0
                } else {
                    remaining * probability.unwrap_or(1.0)
                };
                if !affinity {
                    remaining -= share;
                }
                let (address, port, dnat_line) = endpoint_target(block, sep);
                endpoints.push(Endpoint {
                    chain: sep.clone(),
                    address,
                    port,
                    probability,
                    share,
                    jump_line: rule.line,
                    dnat_line,
                    affinity,
                });
            }
            // An affinity-only entry is followed by the real jump; merge them.
            let mut merged: Vec<Endpoint> = Vec::with_capacity(endpoints.len());
            for endpoint in endpoints {
                match merged.iter_mut().find(|e| e.chain == endpoint.chain) {
                    Some(existing) => {
                        existing.affinity = true;
                        existing.share = endpoint.share;
                        existing.probability = endpoint.probability;
                        existing.jump_line = endpoint.jump_line;
                    }
                    None => merged.push(endpoint),
                }
            }
            if let Some(service) = self.services.get_mut(&key) {
                service.endpoints = merged;
            }
        }
        if let Some(node_ports) = block.chain("KUBE-NODEPORTS") {
            for rule in &node_ports.rules {
                let Some(comment) = rule.comment() else {
                    continue;
                };
                let (key, _) = split_comment(comment);
                if split_service_key(key).is_none() {
                    continue;
                }
                let Some(port) = first_dport(rule) else {
                    continue;
                };
                let localhost_only = rule
                    .destination()
                    .is_some_and(|d| !d.negated && d.value.addr.is_loopback());
                self.node_ports.push(NodePort {
                    service: self.service_key(key),
                    protocol: rule.protocol().cloned(),
                    port,
                    target_chain: rule.jump_chain_name().cloned(),
                    localhost_only,
                    no_endpoints: false,
                    line: rule.line,
                });
            }
        }
    }

    fn read_filter(&mut self, block: &TableBlock) {
        for chain_name in ["KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES"] {
            let Some(chain) = block.chain(chain_name) else {
                continue;
            };
            for rule in &chain.rules {
                let Some(comment) = rule.comment() else {
                    continue;
                };
                let (key, kind) = split_comment(comment);
                if kind != "has no endpoints" {
                    continue;
                }
                let destination = rule
                    .destination()
                    .filter(|d| !d.negated)
                    .map(|d| d.value.addr);
                let port = first_dport(rule);
                let protocol = rule.protocol().cloned();
                let line = rule.line;
                let node_port = chain_name == "KUBE-EXTERNAL-SERVICES"
                    && rule.matches.iter().any(|m| {
                        matches!(m, Match::Addrtype(a) if a.dst_type.as_ref().is_some_and(|t| !t.negated && t.value.iter().any(|v| v == "LOCAL")))
                    });
                if let (true, Some(port)) = (node_port, port) {
                    self.node_ports.push(NodePort {
                        service: self.service_key(key),
                        protocol: protocol.clone(),
                        port,
                        target_chain: None,
                        localhost_only: false,
                        no_endpoints: true,
                        line,
                    });
                }
                let Some(service) = self.service_entry(key) else {
                    continue;
                };
                if service.no_endpoints_line.is_none() {
                    service.no_endpoints_line = Some(line);
                }
                if chain_name == "KUBE-SERVICES" && service.cluster_ip.is_none() {
                    service.cluster_ip = destination;
                    service.port = port;
                    service.protocol = protocol;
                }
                service.lines.push(line);
            }
        }
    }
}

/// Splits `ns/name:port cluster IP` into the service key and the rest.
fn split_comment(comment: &str) -> (&str, &str) {
    match comment.split_once(' ') {
        Some((key, rest)) => (key, rest),
        None => (comment, ""),
    }
}

fn split_service_key(key: &str) -> Option<(&str, &str, Option<&str>)> {
    let (namespace, rest) = key.split_once('/')?;
    if namespace.is_empty() || rest.is_empty() {
        return None;
    }
    Some(match rest.split_once(':') {
        Some((name, port)) => (namespace, name, Some(port)),
        None => (namespace, rest, None),
    })
}

fn first_dport(rule: &Rule) -> Option<u16> {
    rule.matches.iter().find_map(|m| match m {
        Match::Tcp(t) => t
            .dport
            .as_ref()
            .filter(|p| !p.negated)
            .map(|p| p.value.first),
        Match::Udp(u) => u
            .dport
            .as_ref()
            .filter(|p| !p.negated)
            .map(|p| p.value.first),
        Match::Multiport(mp) if !mp.negated => mp.ports.first().map(|p| p.first),
        _ => None,
    })
}

fn endpoint_target(block: &TableBlock, sep: &str) -> (Option<IpAddr>, Option<u16>, Option<usize>) {
    let Some(chain) = block.chain(sep) else {
        return (None, None, None);
    };
    for rule in &chain.rules {
        if let Some(Target::Dnat(nat)) = &rule.target {
            let range = nat.to.as_ref();
            return (
                range.and_then(|r| r.addr),
                range.and_then(|r| r.ports).map(|p| p.first),
                Some(rule.line),
            );
        }
    }
    (None, None, None)
}

fn chain_kind(name: &str) -> Option<KubeChainKind> {
    Some(match name {
        "KUBE-SERVICES" => KubeChainKind::Services,
        "KUBE-NODEPORTS" => KubeChainKind::NodePorts,
        _ if name.starts_with("KUBE-SVC-") => KubeChainKind::Service,
        _ if name.starts_with("KUBE-SVL-") => KubeChainKind::ServiceLocal,
        _ if name.starts_with("KUBE-SEP-") => KubeChainKind::Endpoint,
        _ if name.starts_with("KUBE-EXT-") || name.starts_with("KUBE-XLB-") => {
            KubeChainKind::External
        }
        _ if name.starts_with("KUBE-FW-") => KubeChainKind::Firewall,
        _ if name.starts_with("KUBE-") => KubeChainKind::KubeOther,
        _ if name.starts_with("AWS-SNAT-CHAIN-") => KubeChainKind::AwsSnat,
        _ if name.starts_with("AWS-CONNMARK-CHAIN-") => KubeChainKind::AwsConnmark,
        _ => return None,
    })
}

fn read_cni_snat(cni: &mut VpcCni, chain: &ChainName, rules: &[Rule]) {
    for rule in rules {
        match &rule.target {
            Some(Target::Snat(nat)) => cni.snat_rules.push(CniSnat {
                chain: chain.clone(),
                to_source: nat.to.as_ref().and_then(|r| r.addr),
                random: nat.random,
                random_fully: nat.random_fully,
                excluded_out_interface: rule
                    .out_interface()
                    .filter(|i| i.negated)
                    .map(|i| i.value.clone()),
                line: rule.line,
            }),
            // `-d CIDR … -j RETURN` (current) and `! -d CIDR … -j AWS-SNAT-CHAIN-n`
            // (older nodes) both mean: traffic to CIDR is not SNATed.
            Some(Target::Return) => {
                if let Some(Neg {
                    negated: false,
                    value,
                }) = rule.destination()
                {
                    cni.exclusions.push(exclusion(chain, value, rule));
                }
            }
            Some(Target::Jump { chain: next }) if next.starts_with("AWS-SNAT-CHAIN-") => {
                if let Some(Neg {
                    negated: true,
                    value,
                }) = rule.destination()
                {
                    cni.exclusions.push(exclusion(chain, value, rule));
                }
            }
            _ => {}
        }
    }
}

fn exclusion(chain: &ChainName, cidr: IpNet, rule: &Rule) -> CniExclusion {
    CniExclusion {
        chain: chain.clone(),
        cidr,
        comment: rule.comment().map(str::to_owned),
        line: rule.line,
    }
}
