//! Lossless, typed parsers for what lives on an Amazon EKS worker node.
//!
//! # Overview
//!
//! One module per artifact source, each with a public `parse` entry point that
//! takes the captured text and returns a [`Parsed`] model:
//!
//! - [`iptables`]: `iptables-save` / `ip6tables-save` rulesets.
//! - [`conntrack`]: `conntrack -L`/`-E`/`-S`, `/proc/net/nf_conntrack` and
//!   `/proc/net/stat/nf_conntrack`.
//! - [`dmesg`]: `dmesg` in its textual forms and `/dev/kmsg` records, with
//!   typed kernel events.
//! - [`journald`]: `journalctl` export, JSON and text output, with the klog,
//!   logfmt and JSON messages inside entries understood.
//! - [`layout`]: the node bundle's layout: which file is which
//!   ([`layout::classify`]), the node's identity ([`layout::metadata_from`]),
//!   the content-derived [`layout::snapshot_id`] and the [`layout::Coverage`]
//!   report.
//!
//! The rest of the EKS node log bundle that the findings need:
//!
//! - [`sysctl`]: `sysctl --all` (conntrack limits, port range, `rp_filter`, …).
//! - [`iproute`]: `ip route show table all` and `ip rule show`.
//! - [`resolv`]: the node's resolver configuration, `resolv.conf`.
//! - [`ethtool`]: `ethtool -S` per interface, with the ENA allowance counters.
//! - [`ipvs`]: `ipvsadm --save`/`--list` and ([`ipvs::ipset`]) `ipset --list`/`--save`.
//! - [`iptables_list`]: `iptables -nvL` listings with per-rule counters.
//! - [`vpc_cni`]: the aws-node environment, ipamd ENI introspection, the CNI
//!   config list and the VPC CNI JSON logs.
//! - [`kubelet_config`]: `KubeletConfiguration` JSON with parsed quantities.
//! - [`storage`]: `mount`, `df -h` and `df --inodes` output.
//! - [`ps`]: `ps` listings with a header line.
//! - [`procstat`]: `/proc/stat`, with the boot time (`btime`).
//!
//! [`shared`] holds file contents once ([`shared::FileBytes`]) and the text
//! slices models keep of them ([`shared::SharedText`]), so a journal's
//! messages are not a second copy of the journal.
//!
//! # Design decisions
//!
//! A key design decision is that **parsing a line-oriented artifact does not
//! fail as a whole**. A parser returns `Err` only when the input is not that
//! format at all; otherwise every input line ends up either in the typed model
//! or as an [`Unparsed`] line carrying its 1-based number and the reason, and
//! the same facts are listed in [`Parsed::diagnostics`]. Rules downstream can
//! then run on partial evidence and say how much of it was understood.
//!
//! The crate is sans-IO and deterministic: parsers take `&str` or `&[u8]` and
//! never read files, clocks or the environment. Reading bundles from disk is
//! the caller's job, so the same code serves a CLI, an MCP server, a test and
//! a fuzzer.
//!
//! Model types are plain owned data with public fields and derive
//! [`serde::Serialize`], because the data is the product: it crosses async
//! tasks in the server and is rendered as JSON for agents.

pub mod conntrack;
pub mod cri;
pub mod diag;
pub mod dmesg;
pub mod ethtool;
pub mod iproute;
pub mod iptables;
pub mod iptables_list;
pub mod ipvs;
pub mod journald;
pub mod kubelet_config;
pub mod layout;
pub mod procstat;
pub mod ps;
pub mod resolv;
pub mod shared;
pub mod snapshot;
pub mod storage;
pub mod sysctl;
pub mod time;
pub mod vpc_cni;

mod line_util;

pub use diag::{Diagnostic, Parsed, Unparsed};
