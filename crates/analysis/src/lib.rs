//! Evidence chains over a node snapshot: what turns findings into a root
//! cause.
//!
//! Three sans-IO entry points, each returning plain, JSON-serialisable data
//! with a readable `Display` rendering:
//!
//! - [`trace::trace`]: walks a flow through the node's iptables as the kernel
//!   would (raw → mangle → nat → routing → filter → POSTROUTING), branching on
//!   kube-proxy's `statistic` probabilities, and says per branch where the
//!   packet ends and why.
//! - [`compare::compare`]: the differences between a failing node and a
//!   known-good one, most significant first, within a size budget.
//! - [`timeline::timeline`]: kernel, journal, container, CNI and finding
//!   events of one window merged in time order and grouped into incidents.
//!
//! Nothing here reads files, the clock or the network: callers pass a
//! [`NodeSnapshot`](node_artifacts::snapshot::NodeSnapshot) and, for compare
//! and timeline, the findings [`Report`](findings::Report) of it.

pub mod compare;
pub mod timeline;
pub mod trace;
