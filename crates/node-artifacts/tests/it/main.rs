//! Integration tests of `node-artifacts`, one module per artifact source.

mod iptables;
