//! Integration tests of `node-artifacts`, one module per source.

mod layout;
