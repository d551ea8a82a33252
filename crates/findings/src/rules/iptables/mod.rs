//! Rules about iptables and kube-proxy (prefix `IPT`, and `KPX` for kube-proxy's own log).

mod critical_port_blocked;
mod foreign_jump_to_kube_proxy_chain;
mod forward_policy_drop;
mod incompatible_nft_table;
mod kube_proxy_sync_failing;
mod kube_services_chain_missing;
mod ruleset_large;
mod service_port_not_programmed;
mod service_without_endpoints;
mod stale_service_endpoint;
pub(crate) mod util;
mod vpc_cni_snat_inconsistent;

use crate::codes::Rule;

/// The group's rules, sorted by code.
pub(crate) static RULES: &[&Rule] = &[
    &service_without_endpoints::RULE,
    &kube_services_chain_missing::RULE,
    &critical_port_blocked::RULE,
    &forward_policy_drop::RULE,
    &vpc_cni_snat_inconsistent::RULE,
    &incompatible_nft_table::RULE,
    &ruleset_large::RULE,
    &foreign_jump_to_kube_proxy_chain::RULE,
    &kube_proxy_sync_failing::RULE,
    &stale_service_endpoint::RULE,
    &service_port_not_programmed::RULE,
];

/// Pairs of codes whose findings explain one another.
pub(crate) static RELATED: &[(&str, &str)] = &[
    ("IPT008", "KPX001"),
    ("IPT008", "KPX002"),
    ("IPT008", "KPX003"),
    ("KPX001", "KPX002"),
    ("KPX001", "KPX003"),
];
