//! Rules about the conntrack table and its statistics (prefix `CTK`).

mod conntrack_destination_dominant;
mod conntrack_insert_failures;
mod conntrack_table_near_capacity;
mod dns_flows_unreplied;
mod time_wait_flood;

use crate::codes::Rule;

/// The group's rules, sorted by code.
pub(crate) static RULES: &[&Rule] = &[
    &conntrack_table_near_capacity::RULE,
    &conntrack_insert_failures::RULE,
    &dns_flows_unreplied::RULE,
    &conntrack_destination_dominant::RULE,
    &time_wait_flood::RULE,
];

/// Pairs of codes whose findings explain one another.
pub(crate) static RELATED: &[(&str, &str)] = &[
    ("CTK001", "CTK002"),
    ("CTK001", "CTK003"),
    ("CTK001", "CTK004"),
    ("CTK001", "CTK005"),
    ("CTK002", "CTK003"),
    ("CTK003", "CTK004"),
    ("CTK003", "IPT001"),
];
