//! Integration tests of `node-artifacts`, one module per artifact source.

mod dmesg;
mod extra;
mod layout;
mod iptables;
