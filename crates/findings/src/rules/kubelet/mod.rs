//! Rules about kubelet and container runtime journals (prefix `JRN`) and the
//! VPC CNI logs and settings (prefix `CNI`).

mod cni_not_initialized;
mod node_condition_reported;
mod pleg_not_healthy;
mod pod_sandbox_creation_failing;
mod pods_evicted_under_pressure;
mod util;
mod vpc_cni_ip_addresses_exhausted;

use crate::codes::Rule;

/// The group's rules, sorted by code.
pub(crate) static RULES: &[&Rule] = &[
    &vpc_cni_ip_addresses_exhausted::RULE,
    &pleg_not_healthy::RULE,
    &pods_evicted_under_pressure::RULE,
    &cni_not_initialized::RULE,
    &pod_sandbox_creation_failing::RULE,
    &node_condition_reported::RULE,
];

/// Pairs of codes whose findings explain one another.
pub(crate) static RELATED: &[(&str, &str)] = &[
    ("CNI001", "JRN009"),
    ("JRN001", "JRN011"),
    ("JRN006", "JRN011"),
    ("JRN008", "JRN009"),
];
