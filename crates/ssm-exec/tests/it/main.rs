//! Integration tests of `ssm-exec`: the SSM document's security contract,
//! every SSM state sequence against aws-smithy-mocks, and the wire format
//! against moto's server.

// clippy.toml allows unwrap and printing inside `#[test]` functions only; the
// helpers here are test code too, where a panic is a test failure and the
// skip note goes to stderr.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod document;
mod mocks;
mod moto;
mod script;
mod support;
