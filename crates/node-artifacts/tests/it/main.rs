//! The integration tests of `node-artifacts`: one binary, one module per parser.

mod dmesg;
