//! The node-artifacts integration tests: one binary, one module per source.

mod conntrack;
