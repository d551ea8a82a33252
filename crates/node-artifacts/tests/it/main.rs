//! Integration tests of `node-artifacts`, one module per artifact source.

mod dmesg;
mod extra;
mod layout;
mod iptables;
//! The node-artifacts integration tests: one binary, one module per source.

mod conntrack;
//! The crate's one integration-test binary: one module per parser.

mod journald;
