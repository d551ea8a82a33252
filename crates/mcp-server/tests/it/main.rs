//! Integration tests of the mcp-server crate (one binary).

#![allow(clippy::unwrap_used, reason = "test helpers fail loudly by design")]

mod cli;
mod e2e;
mod protocol;
