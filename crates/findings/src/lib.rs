//! The findings engine: rules over a node snapshot that produce findings with
//! severity levels, content-hashed stable ids and evidence pointing back into
//! the artifacts.
//!
//! This crate is empty until the findings issue lands. It will hold the rule
//! registry (one rule per file, ruff/clippy style), `Severity`, `FindingId`
//! (a versioned SHA-256 over rule code, canonical subject and node identity),
//! and `check(&NodeSnapshot, &Context) -> Report`. It is sans-IO and
//! deterministic: the reference time and thresholds come in through the
//! context, never from the machine running the check.
