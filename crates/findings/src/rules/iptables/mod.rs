//! Rules about iptables and kube-proxy (prefix `IPT`, and `KPX` for kube-proxy's own log).

use crate::codes::Rule;

/// The group's rules, sorted by code.
pub(crate) static RULES: &[&Rule] = &[];

/// Pairs of codes whose findings explain one another.
pub(crate) static RELATED: &[(&str, &str)] = &[];
