//! Integration tests of the Streamable HTTP layer over real loopback sockets.

#![allow(clippy::unwrap_used, clippy::print_stderr, reason = "test helpers")]

mod auth;
mod common;
mod jwt;
mod limits;
mod load;
mod python;
mod tls;
