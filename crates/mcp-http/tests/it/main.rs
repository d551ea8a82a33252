//! Integration tests of the Streamable HTTP layer over real loopback sockets.

mod auth;
mod common;
mod jwt;
mod limits;
mod load;
mod python;
