//! Integration tests of the mcp-server crate (one binary).

mod cli;
mod e2e;
mod protocol;
