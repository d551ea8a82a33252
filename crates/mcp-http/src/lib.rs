//! Remote MCP serving over Streamable HTTP, safe to expose: TLS, authentication
//! (named static keys, OAuth 2.0 JWT access tokens), authorization by tool
//! class, an audit line per tool call, and request limits.
//!
//! This crate is generic over any [`rmcp::ServerHandler`]; the binary wires the
//! real server in with `eks-node-diag serve --http ADDR`:
//!
//! ```no_run
//! # use mcp_http::{HttpConfig, serve};
//! # #[derive(Clone)] struct MyServer;
//! # impl rmcp::ServerHandler for MyServer {}
//! # async fn run() -> Result<(), mcp_http::ServeError> {
//! let config = HttpConfig::new("127.0.0.1:8080".parse().expect("addr"));
//! serve(config, || MyServer, async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```
//!
//! Design decisions:
//! - rmcp's `StreamableHttpService` does the protocol (both eras: 2025-xx
//!   sessions, 2026-07-28 stateless), `Host`/`Origin` checks and the body
//!   limit (413); this crate adds what rmcp leaves to the application.
//! - Authentication is an axum middleware in front of `/mcp` only; it puts a
//!   [`Caller`] into the request extensions, which rmcp hands to the handler
//!   inside `http::request::Parts`. Authorization happens in [`GrantFilter`],
//!   where the tool list and tool annotations are known.
//! - Tools are classified by their own `readOnlyHint` annotation; an
//!   unannotated tool is node-touching (fail closed).

mod audit;
mod auth;
mod grant;
mod jwt;
mod limits;
mod server;

pub use audit::{AuditOutcome, AuditRecord, AuditSink, is_secret_key, redact};
pub use auth::{AuthConfig, AuthConfigError, MIN_SECRET_LEN, StaticKey};
pub use grant::{
    Caller, CallerKind, FilterSettings, GrantFilter, Grants, InFlight, ToolClass, caller_of,
};
pub use jwt::{JwtError, OAuthConfig, TokenIdentity};
pub use limits::Limits;
pub use server::{
    Bound, Check, HttpConfig, Readiness, ReadinessCheck, ServeError, TlsFiles, bind, serve,
};

/// Installs rustls' aws-lc-rs crypto provider as the process default unless
/// one is installed already (several providers may be compiled in).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}
