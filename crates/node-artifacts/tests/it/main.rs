//! Integration tests of `node-artifacts`, one module per artifact source.

mod extra;
mod layout;
