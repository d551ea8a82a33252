//! The findings engine: rules over a node snapshot that produce findings with
//! severity levels, content-hashed stable ids and evidence pointing back into
//! the artifacts.
//!
//! # Overview
//!
//! - [`Severity`]: `info < low < medium < high < critical`.
//! - [`FindingId`] and [`Fingerprint`]: versioned SHA-256 identities (see
//!   [`id`]); the same problem on the same node keeps its id across
//!   collections, and shares its fingerprint with the same problem elsewhere.
//! - [`Finding`]: title, summary, subject, occurrences, first and last seen,
//!   evidence (artifact path, lines, excerpt), related findings.
//! - [`rule::RuleMeta`] and [`declare_rule!`]: one rule per file, with its
//!   documentation available at run time.
//!
//! The crate is sans-IO and deterministic: the reference time and thresholds
//! come in through the context, never from the machine running the check.

pub mod codes;
pub mod context;
pub mod engine;
pub mod finding;
pub mod id;
pub(crate) mod journal_index;
pub mod render;
pub mod report;
pub mod rule;
pub mod severity;

mod rules;

pub use codes::{Need, Rule};
pub use context::{Context, RuleContext, Suppressions, Thresholds};
pub use engine::check;
pub use finding::{Evidence, Finding, FindingBuilder, Subject};
pub use id::{FindingId, Fingerprint};
pub use report::{NotEvaluated, Report};
pub use rule::{Group, RuleMeta};
pub use severity::Severity;
