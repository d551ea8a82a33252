//! The `eks-node-diag` binary: tracing to stderr, then [`mcp_server::cli`].

use std::process::ExitCode;

fn main() -> ExitCode {
    mcp_server::cli::main()
}
