//! Rules about kubelet and container runtime journals (prefix `JRN`) and the
//! VPC CNI logs and settings (prefix `CNI`).

mod api_server_unauthorized;
mod certificate_errors;
mod cni_not_initialized;
mod container_probes_failing;
mod containerd_error_burst;
mod image_pull_failing;
mod kubelet_restarting_repeatedly;
mod node_condition_reported;
mod node_status_update_failing;
mod pleg_not_healthy;
mod pod_sandbox_creation_failing;
mod pods_evicted_under_pressure;
#[cfg(test)]
mod robustness;
#[cfg(test)]
mod scenarios;
mod util;
mod vpc_cni_ip_addresses_exhausted;
mod vpc_cni_warm_pool_misfit;

use crate::codes::Rule;
use crate::journal_index::Needles;

/// The group's rules, sorted by code.
pub(crate) static RULES: &[&Rule] = &[
    &vpc_cni_ip_addresses_exhausted::RULE,
    &vpc_cni_warm_pool_misfit::RULE,
    &pleg_not_healthy::RULE,
    &kubelet_restarting_repeatedly::RULE,
    &node_status_update_failing::RULE,
    &certificate_errors::RULE,
    &api_server_unauthorized::RULE,
    &pods_evicted_under_pressure::RULE,
    &image_pull_failing::RULE,
    &cni_not_initialized::RULE,
    &pod_sandbox_creation_failing::RULE,
    &containerd_error_burst::RULE,
    &node_condition_reported::RULE,
    &container_probes_failing::RULE,
];

/// Pairs of codes whose findings explain one another.
/// The journal needles of the group's rules (see [`crate::journal_index`]).
pub(crate) static JOURNAL_NEEDLES: &[&Needles] = &[
    &pleg_not_healthy::NEEDLES,
    &kubelet_restarting_repeatedly::NEEDLES,
    &node_status_update_failing::NEEDLES,
    &certificate_errors::NEEDLES,
    &api_server_unauthorized::NEEDLES,
    &pods_evicted_under_pressure::NEEDLES,
    &pods_evicted_under_pressure::EVENT_NEEDLES,
    &image_pull_failing::NEEDLES,
    &cni_not_initialized::NEEDLES,
    &cni_not_initialized::READY_NEEDLES,
    &pod_sandbox_creation_failing::NEEDLES,
    &node_condition_reported::NEEDLES,
    &container_probes_failing::NEEDLES,
];

pub(crate) static RELATED: &[(&str, &str)] = &[
    ("CNI001", "CNI002"),
    ("CTK001", "JRN012"),
    ("CNI001", "JRN009"),
    ("JRN001", "JRN011"),
    ("JRN002", "JRN003"),
    ("JRN004", "JRN003"),
    ("JRN005", "JRN003"),
    ("JRN006", "JRN011"),
    ("JRN008", "JRN009"),
    ("JRN009", "JRN010"),
    ("JRN011", "JRN012"),
];
