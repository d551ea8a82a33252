//! The MCP server and command line over the node diagnostics libraries.
//!
//! # Overview
//!
//! - [`server::DiagServer`]: the rmcp server (tools, resources, prompts).
//! - [`state::Engine`]: bundle directories, the persisted store directory
//!   and the loaded snapshots ([`store::SnapshotStore`]: bounded LRU,
//!   single-flight loads).
//! - [`query`]: tool bodies over a loaded snapshot; [`dto`]: their wire types;
//!   [`page`]: cursors and the response budget.
//! - [`cli`]: the `eks-node-diag` subcommands; [`aws`]: collection through
//!   `ssm-exec`.
//!
//! A key design decision is that this crate is glue: parsing lives in
//! `node-artifacts`, rules in `findings`, AWS in `ssm-exec`, bundle IO in
//! `node-bundle`. It is the only crate that knows MCP and JSON Schema, and
//! it writes nothing to stdout but protocol frames (in `serve`) or the
//! requested output (other subcommands); logs go to stderr.

pub mod aws;
pub mod cli;
pub mod dto;
pub mod page;
pub mod query;
pub mod server;
pub mod state;
pub mod store;

pub use server::DiagServer;
pub use state::{Engine, Sources};
