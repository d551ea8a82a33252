//! What a check run is given besides the snapshot: identity, time,
//! thresholds and suppressions.

use std::collections::BTreeSet;

use node_artifacts::journald::Journal;
use node_artifacts::snapshot::{Artifact, NodeSnapshot};
use node_artifacts::time::Timestamp;

use crate::finding::{FindingBuilder, Subject};
use crate::journal_index::{Candidates, LazyJournalIndex, Needles};
use crate::rule::RuleMeta;

/// The caller's side of a check run.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The node identity hashed into finding ids. Defaults to the snapshot's
    /// instance id, then its node name, then its snapshot id.
    pub node_id: Option<String>,
    /// The time rules treat as "now". Defaults to the snapshot's collection
    /// time; never the clock of the machine running the check.
    pub reference_time: Option<Timestamp>,
    /// Numeric thresholds of the rules.
    pub thresholds: Thresholds,
    /// Findings to drop, by code or fingerprint. Nothing is ever suppressed
    /// implicitly (for example by being seen often).
    pub suppress: Suppressions,
}

/// Explicit suppressions.
#[derive(Debug, Clone, Default)]
pub struct Suppressions {
    /// Rule codes to drop entirely (`CTK004`).
    pub codes: BTreeSet<String>,
    /// Fingerprints to drop (`fp1_…`): one problem, on every node.
    pub fingerprints: BTreeSet<String>,
}

/// The numbers rules compare against. Each rule's documentation names the
/// thresholds it uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// Conntrack usage ratio that is high (0.90).
    pub conntrack_usage_high: f64,
    /// Conntrack usage ratio that is critical (0.98).
    pub conntrack_usage_critical: f64,
    /// Unreplied UDP flows to the cluster DNS service that signal the DNS
    /// conntrack race or a dead DNS backend (20).
    pub dns_unreplied_flows: usize,
    /// Share of all conntrack entries one destination may hold (0.5), when
    /// the table holds at least `conntrack_dominant_min_entries`.
    pub conntrack_dominant_share: f64,
    /// Minimum table size for the dominance rule (1,000).
    pub conntrack_dominant_min_entries: usize,
    /// Share of TCP entries in TIME_WAIT that is a flood (0.5), with at least
    /// `time_wait_min_entries` of them.
    pub time_wait_share: f64,
    /// Minimum TIME_WAIT entries for the flood rule (5,000).
    pub time_wait_min_entries: usize,
    /// Rules in the iptables ruleset past which kube-proxy syncs slow down
    /// (20,000).
    pub ruleset_large_rules: usize,
    /// `nf_conntrack_max` below which the table is small for a Kubernetes
    /// node (131,072).
    pub conntrack_max_min: u64,
    /// Narrowest acceptable `ip_local_port_range` width (16,384 ports).
    pub local_port_range_min_width: u32,
    /// kubelet starts within `restart_window_minutes` that count as
    /// restarting repeatedly (5).
    pub kubelet_restarts: usize,
    /// The window for restart counting (20 minutes, node-problem-detector's).
    pub restart_window_minutes: i64,
    /// containerd error lines within ten minutes that make a burst (50).
    pub containerd_error_burst: usize,
    /// Segfaults that make a storm (10).
    pub segfault_storm: usize,
    /// Minutes before collection within which a `cni plugin not initialized`
    /// message means the CNI is still not ready (10).
    pub cni_not_ready_recent_minutes: i64,
    /// Failures of one probe of one container before they are reported (3,
    /// kubelet's default `failureThreshold`).
    pub probe_failures_min: usize,
    /// Conntrack entries kube-proxy sets per CPU (32,768, its
    /// `conntrack.maxPerCore` default); `nf_conntrack_max` below this times
    /// the CPU count is low.
    pub conntrack_max_per_core: u64,
    /// Filesystem space or inode use, in percent, that is high (90).
    pub filesystem_use_high: u8,
    /// Filesystem space or inode use, in percent, that is critical (97).
    pub filesystem_use_critical: u8,
    /// Neighbour entries needed per pod: `gc_thresh3` below this times
    /// `maxPods` is small (4).
    pub neigh_entries_per_pod: u64,
    /// Martian-source messages on one interface from which KRN009 is
    /// medium rather than low (100).
    pub martian_source_medium: usize,
    /// `unregister_netdevice: waiting for …` messages for one device within
    /// `unregister_netdevice_window_minutes` that are frequent (3,
    /// node-problem-detector's `FrequentUnregisterNetDevice`).
    pub unregister_netdevice_frequent: usize,
    /// The window for counting `unregister_netdevice` waits (20 minutes).
    pub unregister_netdevice_window_minutes: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            conntrack_usage_high: 0.90,
            conntrack_usage_critical: 0.98,
            dns_unreplied_flows: 20,
            conntrack_dominant_share: 0.5,
            conntrack_dominant_min_entries: 1_000,
            time_wait_share: 0.5,
            time_wait_min_entries: 5_000,
            ruleset_large_rules: 20_000,
            conntrack_max_min: 131_072,
            local_port_range_min_width: 16_384,
            kubelet_restarts: 5,
            restart_window_minutes: 20,
            containerd_error_burst: 50,
            segfault_storm: 10,
            cni_not_ready_recent_minutes: 10,
            probe_failures_min: 3,
            conntrack_max_per_core: 32_768,
            filesystem_use_high: 90,
            filesystem_use_critical: 97,
            neigh_entries_per_pod: 4,
            martian_source_medium: 100,
            unregister_netdevice_frequent: 3,
            unregister_netdevice_window_minutes: 20,
        }
    }
}

/// What a rule sees: the snapshot plus the resolved context, and the
/// indexes the rules of one run share.
#[derive(Debug)]
#[non_exhaustive]
pub struct RuleContext<'a> {
    /// The snapshot under check.
    pub snapshot: &'a NodeSnapshot,
    /// The resolved node identity.
    pub node_id: &'a str,
    /// The resolved reference time.
    pub now: Option<Timestamp>,
    /// Thresholds.
    pub thresholds: &'a Thresholds,
    /// The journal index of the run, built by the first rule that needs it.
    journal_index: LazyJournalIndex,
}

impl<'a> RuleContext<'a> {
    /// The context of one run over `snapshot`.
    pub fn new(
        snapshot: &'a NodeSnapshot,
        node_id: &'a str,
        now: Option<Timestamp>,
        thresholds: &'a Thresholds,
    ) -> Self {
        Self {
            snapshot,
            node_id,
            now,
            thresholds,
            journal_index: LazyJournalIndex::default(),
        }
    }

    /// The same context without the journal index: rules visit every
    /// journal entry (the reference the index's tests compare with).
    #[cfg(test)]
    pub(crate) fn unindexed(mut self) -> Self {
        self.journal_index = LazyJournalIndex::unindexed();
        self
    }

    /// Builds the indexes the rules of this run share now, rather than in
    /// the first rule that needs them (for timing them apart).
    pub fn prepare(&self) {
        self.journal_index.get(self.snapshot);
    }

    /// The position in `journal` of the first entry of its last boot.
    pub(crate) fn boot_start(&self, journal: &Artifact<Journal>) -> usize {
        self.journal_index
            .get(self.snapshot)
            .boot_start(self.snapshot, journal)
    }

    /// The entries of `journal` that mention one of `needles` (a prefilter:
    /// see [`crate::journal_index`]), in journal order.
    pub(crate) fn journal_entries(
        &self,
        journal: &'a Artifact<Journal>,
        needles: &'static Needles,
    ) -> Candidates<'_> {
        self.journal_index
            .get(self.snapshot)
            .entries(self.snapshot, journal, needles)
    }

    /// Starts a finding of `meta` about `subject` on this node.
    pub fn finding(&self, meta: &'static RuleMeta, subject: Subject) -> FindingBuilder {
        FindingBuilder::new(meta, self.node_id, subject)
    }
}
