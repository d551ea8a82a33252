//! Rules about kernel messages (prefix `KRN`): the typed events of the
//! node's kernel log ([`node_artifacts::dmesg::KernelEvent`]), read once
//! from `snapshot.kernel` (copies of the same messages in other files are
//! not counted again).

mod block_io_error;
mod conntrack_table_full;
mod cpu_hard_lockup;
mod cpu_soft_lockup;
mod ena_tx_timeout_or_reset;
mod filesystem_error;
mod filesystem_remounted_read_only;
mod hardware_error;
mod kernel_crashed;
mod martian_packets;
mod neighbour_table_overflow;
mod netdevice_unregister_stuck;
mod process_oom_killed;
#[cfg(test)]
mod scenarios;
mod segfault_storm;
mod syn_flooding;
mod task_hung;
mod util;

use crate::codes::Rule;
use crate::journal_index::Needles;

/// The journal needles of the group's rules (see [`crate::journal_index`]).
pub(crate) static JOURNAL_NEEDLES: &[&Needles] = &[&util::POD_NEEDLES, &util::OOM_NEEDLES];

/// The group's rules, sorted by code.
pub(crate) static RULES: &[&Rule] = &[
    &process_oom_killed::RULE,
    &task_hung::RULE,
    &cpu_soft_lockup::RULE,
    &cpu_hard_lockup::RULE,
    &kernel_crashed::RULE,
    &conntrack_table_full::RULE,
    &neighbour_table_overflow::RULE,
    &syn_flooding::RULE,
    &martian_packets::RULE,
    &ena_tx_timeout_or_reset::RULE,
    &filesystem_error::RULE,
    &filesystem_remounted_read_only::RULE,
    &block_io_error::RULE,
    &netdevice_unregister_stuck::RULE,
    &segfault_storm::RULE,
    &hardware_error::RULE,
];

/// Pairs of codes whose findings explain one another.
pub(crate) static RELATED: &[(&str, &str)] = &[
    // The table is full (CTK001) and the kernel drops packets (KRN006).
    ("CTK001", "KRN006"),
    // Block I/O errors cause filesystem errors and read-only remounts.
    ("KRN011", "KRN013"),
    ("KRN012", "KRN013"),
    ("KRN011", "KRN012"),
];
