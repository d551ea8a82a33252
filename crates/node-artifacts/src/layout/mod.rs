//! The layout of an EKS node log bundle: what each file is, who the node is,
//! the snapshot id, and the coverage report.
//!
//! A bundle is the folder `eks-log-collector.sh` fills and packs as
//! `eks_<instance-id>_<YYYY-MM-DD_HHMM-UTC>_<version>.tar.gz`. Reading it
//! from disk is `node_bundle`'s job; this module is sans-IO and works on
//! root-relative paths (`networking/conntrack.txt`) and contents the caller
//! hands in.
//!
//! ```text
//! eks_i-0123456789abcdef0_2025-11-20_0930-UTC_0.7.9/   bundle root (stripped by the reader)
//! ├── kernel/dmesg.boot                                 → ArtifactKind::DmesgBoot
//! ├── networking/iptables-save.txt                      → ArtifactKind::IptablesSave
//! ├── networking/iptables-nat.txt                       → ArtifactKind::IptablesList { table: Some(Nat) }
//! ├── system/instance-id.txt                            → ArtifactKind::InstanceId (and metadata)
//! ├── system/top.txt                                    → ArtifactKind::Recognised { "top snapshot" }
//! └── notes.txt                                         → ArtifactKind::Unknown
//! ```
//!
//! - [`classify`] maps a path to an [`ArtifactKind`] through the one table
//!   [`KIND_TABLE`].
//! - [`metadata_from`] reads [`BundleMetadata`] (instance, region, zone,
//!   collection time, collector version, node name).
//! - [`snapshot_id`] derives the content-addressed id of a file set.
//! - [`Coverage`] is the report of what became of every file.

mod coverage;
mod kind;
mod metadata;
mod snapshot_id;

pub use coverage::{Coverage, CoverageStatus, CoverageTotals, FileCoverage};
pub use kind::{ArtifactKind, IptablesTable, KIND_TABLE, classify};
pub use metadata::{
    ArchiveName, BundleMetadata, CollectionTimeSource, NodeNameSource, metadata_from,
    node_name_from, parse_archive_name,
};
pub use snapshot_id::snapshot_id;

/// The directories the collector creates at the bundle root.
///
/// A reader uses them to find the root inside an archive whose entries sit
/// under one or more wrapping folders.
pub const COLLECTOR_DIRECTORIES: &[&str] = &[
    "cni",
    "containerd",
    "docker",
    "gpu",
    "ipamd",
    "kernel",
    "kubelet",
    "modinfo",
    "networking",
    "nodeadm",
    "sandbox-image",
    "storage",
    "sysctls",
    "system",
    "var_log",
];
