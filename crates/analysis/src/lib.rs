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
//! ```
//! use std::collections::BTreeMap;
//!
//! use analysis::trace::{Flow, FlowProtocol, Outcome, TraceOptions};
//! use node_artifacts::shared::FileBytes;
//! use node_artifacts::snapshot::{NodeSnapshot, SnapshotInput};
//!
//! let rules = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
//! let routes = "default via 10.0.0.1 dev eth0\n\
//!               local 10.0.0.10 dev eth0 table local proto kernel scope host src 10.0.0.10\n";
//! let mut files = BTreeMap::new();
//! files.insert("networking/iptables-save.txt".to_owned(), FileBytes::from(rules));
//! files.insert("networking/iproute.txt".to_owned(), FileBytes::from(routes));
//! let snapshot = NodeSnapshot::build(SnapshotInput {
//!     name: None,
//!     files: &files,
//!     rejected: &[],
//!     newest_file_time: None,
//! });
//!
//! let flow = Flow::new("10.0.5.5".parse()?, 443, FlowProtocol::Tcp)
//!     .from_src("10.0.9.9".parse()?)
//!     .in_iface("eth0");
//! let trace = analysis::trace::trace(&snapshot, &flow, TraceOptions::default());
//! // Not for this node, so forwarded: the FORWARD policy drops it.
//! match &trace.branches[0].outcome {
//!     Outcome::Dropped { rule } => assert_eq!(rule.text, ":FORWARD DROP"),
//!     other => panic!("{other:?}"),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Nothing here reads files, the clock or the network: callers pass a
//! [`NodeSnapshot`](node_artifacts::snapshot::NodeSnapshot) and, for compare
//! and timeline, the findings [`Report`](findings::Report) of it.

pub mod compare;
pub mod timeline;
pub mod trace;
