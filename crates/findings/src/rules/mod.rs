//! The rule catalogue, one group per artifact area, one rule per file.
//!
//! A group's `mod.rs` lists its rules in a sorted `RULES` slice and the pairs
//! of codes whose findings explain one another in `RELATED`. The registry
//! ([`crate::codes`]) joins the groups.

pub(crate) mod conntrack;
pub(crate) mod duration;
pub(crate) mod evidence;
pub(crate) mod iptables;
pub(crate) mod kernel;
pub(crate) mod kubelet;
pub(crate) mod network;

use std::sync::OnceLock;

use crate::codes::Rule;
use crate::journal_index::Needles;

/// Every rule's journal needles, the sets the shared journal index is built
/// for ([`crate::journal_index`]).
pub(crate) fn journal_needles() -> &'static [&'static Needles] {
    static ALL: OnceLock<Vec<&'static Needles>> = OnceLock::new();
    ALL.get_or_init(|| [kernel::JOURNAL_NEEDLES, kubelet::JOURNAL_NEEDLES].concat())
}

/// One group of rules.
pub(crate) struct Group {
    pub(crate) rules: &'static [&'static Rule],
    pub(crate) related: &'static [(&'static str, &'static str)],
}

/// Every group.
pub(crate) static GROUPS: &[Group] = &[
    Group {
        rules: conntrack::RULES,
        related: conntrack::RELATED,
    },
    Group {
        rules: iptables::RULES,
        related: iptables::RELATED,
    },
    Group {
        rules: kernel::RULES,
        related: kernel::RELATED,
    },
    Group {
        rules: kubelet::RULES,
        related: kubelet::RELATED,
    },
    Group {
        rules: network::RULES,
        related: network::RELATED,
    },
];
