//! Rules about the conntrack table and its statistics (prefix `CTK`).

mod conntrack_table_near_capacity;

use crate::codes::Rule;

/// The group's rules, sorted by code.
pub(crate) static RULES: &[&Rule] = &[&conntrack_table_near_capacity::RULE];

/// Pairs of codes whose findings explain one another.
pub(crate) static RELATED: &[(&str, &str)] = &[];
