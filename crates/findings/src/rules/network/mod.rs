//! Rules about node configuration and networking: sysctl, routes, ENA, VPC CNI, DNS (prefix `NET`, and `CNI` for the VPC CNI).

use crate::codes::Rule;

/// The group's rules, sorted by code.
pub(crate) static RULES: &[&Rule] = &[];

/// Pairs of codes whose findings explain one another.
pub(crate) static RELATED: &[(&str, &str)] = &[];
