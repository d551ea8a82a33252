//! Rules about node configuration and networking: sysctl, routes, ENA,
//! DNS, IPVS and the node's filesystems (prefix `NET`).

mod conntrack_max_too_low;
mod default_route_missing;
mod ena_allowance_exceeded;
mod filesystem_nearly_full;
mod filesystem_read_only;
mod ipvs_service_without_real_servers;
mod local_port_range_narrow;
mod neighbour_table_too_small;
mod resolv_conf_misconfigured;
mod strict_rp_filter_on_secondary_eni;
mod util;

use crate::codes::Rule;

/// The group's rules, sorted by code.
pub(crate) static RULES: &[&Rule] = &[
    &conntrack_max_too_low::RULE,
    &local_port_range_narrow::RULE,
    &strict_rp_filter_on_secondary_eni::RULE,
    &default_route_missing::RULE,
    &ena_allowance_exceeded::RULE,
    &resolv_conf_misconfigured::RULE,
    &neighbour_table_too_small::RULE,
    &filesystem_nearly_full::RULE,
    &filesystem_read_only::RULE,
    &ipvs_service_without_real_servers::RULE,
];

/// Pairs of codes whose findings explain one another: a low
/// `nf_conntrack_max` explains a full conntrack table.
pub(crate) static RELATED: &[(&str, &str)] = &[("NET001", "CTK001")];
