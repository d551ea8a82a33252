//! Rules about iptables and kube-proxy (prefix `IPT`, and `KPX` for kube-proxy's own log).

mod service_without_endpoints;

use crate::codes::Rule;

/// The group's rules, sorted by code.
pub(crate) static RULES: &[&Rule] = &[&service_without_endpoints::RULE];

/// Pairs of codes whose findings explain one another.
pub(crate) static RELATED: &[(&str, &str)] = &[];
