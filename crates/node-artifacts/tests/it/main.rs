//! Integration tests of `node-artifacts`: one binary, one module per artifact source.

mod conntrack;
mod dmesg;
mod extra;
mod iptables;
mod journald;
mod layout;
