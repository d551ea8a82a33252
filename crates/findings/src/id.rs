//! Content-hashed identities of findings.
//!
//! A [`FindingId`] names "this problem on this node" and a [`Fingerprint`]
//! names "this problem", whatever node it is on. Both are SHA-256 over
//! canonical, location-free fields, so they survive re-collection: a new
//! bundle of the same node with the same problem gives the same id, and the
//! same problem on a known-good node and a failing node shares a fingerprint
//! (comparison is a set difference).
//!
//! The hashed input is, with each field preceded by its length in bytes as a
//! decimal number and a `:` so that no two field lists concatenate to the same
//! bytes:
//!
//! ```text
//! id          = "f1_"  + hex(sha256("eks-node-diag/finding/1" ‖ code ‖ node_id ‖ subject_key))[..16]
//! fingerprint = "fp1_" + hex(sha256("eks-node-diag/fingerprint/1" ‖ code ‖ subject_key))[..16]
//! ```
//!
//! Timestamps, counts, line numbers and message text are deliberately absent.
//! The scheme version is part of both the prefix and the hashed input; a
//! change to what is hashed bumps it.

use std::fmt;

use serde::Serialize;
use sha2::{Digest, Sha256};

/// The version of the identity scheme, part of every id.
pub const ID_SCHEME_VERSION: u32 = 1;

/// The stable identity of one problem on one node.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct FindingId(pub String);

/// The stable identity of one problem, independent of the node.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Fingerprint(pub String);

impl FindingId {
    /// Computes the id of the finding of rule `code` about `subject_key` on
    /// the node identified by `node_id`.
    pub fn compute(code: &str, node_id: &str, subject_key: &str) -> Self {
        let digest = hash_fields("eks-node-diag/finding/1", &[code, node_id, subject_key]);
        FindingId(format!("f{ID_SCHEME_VERSION}_{}", &digest[..16]))
    }
}

impl Fingerprint {
    /// Computes the node-independent fingerprint of rule `code` about
    /// `subject_key`.
    pub fn compute(code: &str, subject_key: &str) -> Self {
        let digest = hash_fields("eks-node-diag/fingerprint/1", &[code, subject_key]);
        Fingerprint(format!("fp{ID_SCHEME_VERSION}_{}", &digest[..16]))
    }
}

impl fmt::Display for FindingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// SHA-256 over length-prefixed fields, as lowercase hex.
fn hash_fields(domain: &str, fields: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for field in std::iter::once(&domain).chain(fields) {
        hasher.update(field.len().to_string().as_bytes());
        hasher.update(b":");
        hasher.update(field.as_bytes());
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::{FindingId, Fingerprint};

    #[test]
    fn ids_are_pinned() {
        // These values are a contract: agents store them. A change here is a
        // scheme change and must bump ID_SCHEME_VERSION.
        let id = FindingId::compute(
            "IPT001",
            "i-0123456789abcdef0",
            "service:kube-system/kube-dns:dns",
        );
        let fingerprint = Fingerprint::compute("IPT001", "service:kube-system/kube-dns:dns");
        assert_eq!(id.0.len(), 3 + 16);
        assert!(id.0.starts_with("f1_"));
        assert!(fingerprint.0.starts_with("fp1_"));
        insta::assert_snapshot!(format!("{id}\n{fingerprint}"), @r"
        f1_d42ffec69a8ed0b0
        fp1_0e4844f210dca5f5
        ");
    }

    #[test]
    fn fields_do_not_run_together() {
        assert_ne!(
            FindingId::compute("A", "bc", "d"),
            FindingId::compute("A", "b", "cd")
        );
        assert_ne!(
            Fingerprint::compute("AB", "c"),
            Fingerprint::compute("A", "Bc")
        );
    }

    #[test]
    fn node_changes_id_not_fingerprint() {
        assert_ne!(
            FindingId::compute("X", "i-1", "s"),
            FindingId::compute("X", "i-2", "s")
        );
    }
}
