//! The MCP server and command line over the node diagnostics libraries.
//!
//! This crate is empty until the MCP server issue lands. It will wire
//! `node-artifacts`, `findings` and `ssm-exec` up as MCP tools (rmcp) and as
//! the `eks-node-diag` command line. It holds no parsing or rule logic of its
//! own, and it is the only crate that knows MCP.
