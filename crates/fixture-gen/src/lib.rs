//! Deterministic generators of large, realistic node artifacts.
//!
//! Benchmarks and tests need inputs far larger than the repository should
//! hold (a kube-proxy ruleset for 5,000 services, a million conntrack entries,
//! a million dmesg lines). Each module here writes one such artifact as text,
//! from a seed and a size, so that the same call always yields the same bytes.
//! Nothing here parses; the generators only write what real tools write.

pub mod bundle;
pub mod conntrack;
pub mod dmesg;
pub mod extra;
pub mod iptables;
pub mod journald;
pub mod rng;
