//! The HTTP server: routes, the guard middleware in front of `/mcp`, TLS,
//! graceful shutdown.
//!
//! ```text
//! GET  /healthz                                   200 "ok"            (no auth, no Host check)
//! GET  /readyz                                    200 | 503 + JSON    (no auth, no Host check)
//! GET  /.well-known/oauth-protected-resource[/*]  RFC 9728 metadata   (OAuth only, no auth)
//! *    /mcp                                       guard → rmcp StreamableHttpService
//! guard = Host check (403) → authentication (401/403) → rate (429) → concurrency (503)
//! ```

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::StreamExt;
use futures::future::BoxFuture;
use http::{HeaderValue, Method, StatusCode, header};
use rmcp::ServerHandler;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::audit::AuditSink;
use crate::auth::{AuthConfig, AuthFailure, Authenticator};
use crate::grant::{FilterSettings, GrantFilter, InFlight};
use crate::jwt::JwtError;
use crate::limits::{Limits, RateLimiter};

/// PEM files for TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Certificate chain (leaf first).
    pub cert: std::path::PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key: std::path::PathBuf,
}

/// One readiness check result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked (`aws`, `snapshot_store`).
    pub name: String,
    /// Whether it works.
    pub ok: bool,
    /// A short human-readable note; must not contain secrets.
    pub detail: String,
}

/// The answer of `/readyz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Readiness {
    /// Ready to serve: all checks passed.
    pub ready: bool,
    /// Individual checks.
    pub checks: Vec<Check>,
}

impl Readiness {
    /// Readiness from checks: ready when all are ok.
    pub fn from_checks(checks: Vec<Check>) -> Self {
        Self {
            ready: checks.iter().all(|c| c.ok),
            checks,
        }
    }
}

/// A readiness callback supplied by the caller of [`serve`].
pub type ReadinessCheck = Arc<dyn Fn() -> BoxFuture<'static, Readiness> + Send + Sync>;

/// Server settings.
#[derive(Clone)]
pub struct HttpConfig {
    /// Address to listen on.
    pub addr: SocketAddr,
    /// Accepted `Host` names or `host:port` authorities for `/mcp`; `*` accepts any.
    pub allowed_hosts: Vec<String>,
    /// Accepted browser `Origin`s (`scheme://host[:port]`); empty accepts requests
    /// without checking (non-browser clients send no `Origin`).
    pub allowed_origins: Vec<String>,
    /// Serve HTTPS with these files; `None` serves plain HTTP (behind a TLS-terminating load balancer).
    pub tls: Option<TlsFiles>,
    /// Authentication.
    pub auth: AuthConfig,
    /// Limits.
    pub limits: Limits,
    /// Prefer `application/json` replies over SSE for plain request/response.
    pub json_response: bool,
    /// Keep MCP sessions for protocol versions before 2026-07-28 (2026-07-28
    /// requests are always stateless). Without sessions, replicas behind a
    /// load balancer need no stickiness.
    pub stateful_sessions: bool,
    /// Start on a non-loopback address without authentication (logs a warning).
    pub insecure_no_auth: bool,
    /// Where audit lines go.
    pub audit: AuditSink,
    /// `/readyz` callback; without it `/readyz` answers ready.
    pub readiness: Option<ReadinessCheck>,
    /// How long shutdown waits for tool calls in flight.
    pub shutdown_grace: Duration,
}

impl std::fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpConfig")
            .field("addr", &self.addr)
            .field("allowed_hosts", &self.allowed_hosts)
            .field("allowed_origins", &self.allowed_origins)
            .field("tls", &self.tls)
            .field("auth", &self.auth)
            .field("limits", &self.limits)
            .field("json_response", &self.json_response)
            .field("stateful_sessions", &self.stateful_sessions)
            .field("insecure_no_auth", &self.insecure_no_auth)
            .finish_non_exhaustive()
    }
}

impl HttpConfig {
    /// Defaults for `addr`: loopback `Host` names only, no TLS, no auth, default limits.
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            allowed_hosts: vec![
                "localhost".into(),
                "127.0.0.1".into(),
                "::1".into(),
                "[::1]".into(),
            ],
            allowed_origins: Vec::new(),
            tls: None,
            auth: AuthConfig::default(),
            limits: Limits::default(),
            json_response: false,
            stateful_sessions: true,
            insecure_no_auth: false,
            audit: AuditSink::Tracing,
            readiness: None,
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// Non-loopback address without authentication and without `insecure_no_auth`.
    #[error(
        "refusing to serve on non-loopback {0} without authentication (configure keys or OAuth, or pass --insecure-no-auth on a trusted network)"
    )]
    NoAuth(SocketAddr),
    /// `allowed_hosts` is empty.
    #[error("allowed hosts is empty (use `*` to accept any Host header)")]
    NoAllowedHosts,
    /// Bad OAuth settings.
    #[error("oauth: {0}")]
    OAuth(#[from] JwtError),
    /// TLS files could not be loaded.
    #[error("tls: {0}")]
    Tls(std::io::Error),
    /// Binding or serving failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// Underlying error.
        source: std::io::Error,
    },
}

struct Guard {
    auth: Authenticator,
    allowed_hosts: Vec<String>,
    any_host: bool,
    rate: RateLimiter,
    concurrency: Option<Arc<Semaphore>>,
    metadata_url: Option<String>,
}

impl Guard {
    fn host_allowed(&self, req: &Request) -> bool {
        if self.any_host {
            return true;
        }
        let authority = req
            .uri()
            .authority()
            .map(|a| a.as_str().to_owned())
            .or_else(|| {
                req.headers()
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .map(str::to_owned)
            });
        let Some(authority) = authority else {
            return false;
        };
        let authority = authority.to_ascii_lowercase();
        let host = match authority.rsplit_once(':') {
            Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h,
            _ => authority.as_str(),
        };
        self.allowed_hosts
            .iter()
            .any(|a| a.eq_ignore_ascii_case(&authority) || a.eq_ignore_ascii_case(host))
    }

    fn challenge(&self, error: Option<&str>) -> HeaderValue {
        let mut value = String::from("Bearer realm=\"eks-node-diag\"");
        if let Some(url) = &self.metadata_url {
            value.push_str(&format!(", resource_metadata=\"{url}\""));
        }
        if let Some(error) = error {
            value.push_str(&format!(", error=\"{error}\""));
        }
        HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
    }
}

fn json_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = serde_json::json!({ "error": error, "error_description": description });
    (status, axum::Json(body)).into_response()
}

fn too_many(wait: Duration) -> Response {
    let secs = wait.as_secs_f64().ceil().max(1.0);
    let mut response = json_error(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "too many requests for this caller",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs as u64));
    response
}

async fn guard(State(g): State<Arc<Guard>>, mut req: Request, next: Next) -> Response {
    if !g.host_allowed(&req) {
        return json_error(
            StatusCode::FORBIDDEN,
            "forbidden_host",
            "Host header is not in the allowed hosts",
        );
    }
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let caller = match g.auth.authenticate(req.headers(), peer).await {
        Ok(caller) => caller,
        Err(failure) => {
            tracing::info!(peer = ?peer, reason = %failure, "request not authenticated");
            // Failed attempts count against the peer address, which bounds
            // credential guessing and JWKS refetches by unknown `kid`s.
            if let Some(peer) = peer
                && let Err(wait) = g.rate.check(&format!("unauthenticated@{}", peer.ip()))
            {
                return too_many(wait);
            }
            let (status, error, text) = match failure {
                AuthFailure::Missing => (StatusCode::UNAUTHORIZED, None, "credentials required"),
                AuthFailure::Invalid(_) => (
                    StatusCode::UNAUTHORIZED,
                    Some("invalid_token"),
                    "invalid credentials",
                ),
                AuthFailure::InsufficientScope => (
                    StatusCode::FORBIDDEN,
                    Some("insufficient_scope"),
                    "token grants none of this server's scopes",
                ),
            };
            let mut response = json_error(status, error.unwrap_or("unauthorized"), text);
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, g.challenge(error));
            return response;
        }
    };
    if let Err(wait) = g.rate.check(&caller.name) {
        return too_many(wait);
    }
    // Standalone GET streams live as long as the session: they don't count.
    let permit = match (&g.concurrency, req.method() == Method::GET) {
        (Some(sem), false) => match sem.clone().try_acquire_owned() {
            Ok(p) => Some(p),
            Err(_) => {
                let mut response = json_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "overloaded",
                    "too many concurrent requests",
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(1u64));
                return response;
            }
        },
        _ => None,
    };
    req.extensions_mut().insert(caller);
    let response = next.run(req).await;
    match permit {
        None => response,
        Some(permit) => {
            // Hold the permit until the body (JSON or SSE) is fully sent.
            let (parts, body) = response.into_parts();
            let stream = body.into_data_stream().map(move |chunk| {
                let _hold = &permit;
                chunk
            });
            Response::from_parts(parts, Body::from_stream(stream))
        }
    }
}

async fn healthz() -> &'static str {
    "ok"
}

/// A server bound to its address, not yet serving.
pub struct Bound {
    listener: std::net::TcpListener,
    local_addr: SocketAddr,
    router: Router,
    tls: Option<TlsFiles>,
    ct: CancellationToken,
    in_flight: Arc<InFlight>,
    grace: Duration,
}

impl std::fmt::Debug for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bound")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

/// Binds the listener and builds the routes; serve with [`Bound::run`].
pub fn bind<S, F>(config: HttpConfig, make_service: F) -> Result<Bound, ServeError>
where
    S: ServerHandler + Clone,
    F: Fn() -> S + Send + Sync + 'static,
{
    if !config.auth.is_configured() {
        if config.insecure_no_auth {
            tracing::warn!(addr = %config.addr, "serving WITHOUT authentication (--insecure-no-auth): every client may call every tool");
        } else if !config.addr.ip().is_loopback() {
            return Err(ServeError::NoAuth(config.addr));
        }
    }
    if config.allowed_hosts.is_empty() {
        return Err(ServeError::NoAllowedHosts);
    }
    let any_host = config.allowed_hosts.iter().any(|h| h == "*");
    let auth = Authenticator::new(&config.auth)?;
    let metadata = config
        .auth
        .oauth
        .as_ref()
        .map(|o| (o.metadata(), o.metadata_url()));
    let ct = CancellationToken::new();

    let mut rmcp_config = StreamableHttpServerConfig::default()
        .with_json_response(config.json_response)
        .with_legacy_session_mode(config.stateful_sessions)
        .with_max_request_body_bytes(config.limits.max_body_bytes)
        .with_cancellation_token(ct.child_token());
    rmcp_config = if any_host {
        rmcp_config.disable_allowed_hosts()
    } else {
        rmcp_config.with_allowed_hosts(config.allowed_hosts.clone())
    };
    if !config.allowed_origins.is_empty() {
        rmcp_config = rmcp_config.with_allowed_origins(config.allowed_origins.clone());
    }
    let in_flight = Arc::new(InFlight::default());
    let settings = FilterSettings {
        call_timeout: config.limits.call_timeout,
        audit: config.audit.clone(),
        in_flight: in_flight.clone(),
    };
    let mcp = StreamableHttpService::new(
        move || Ok(GrantFilter::new(make_service(), settings.clone())),
        Arc::new(LocalSessionManager::default()),
        rmcp_config,
    );
    let guard_state = Arc::new(Guard {
        auth,
        allowed_hosts: config.allowed_hosts.clone(),
        any_host,
        rate: RateLimiter::new(config.limits.per_client_rate),
        concurrency: (config.limits.max_concurrent > 0)
            .then(|| Arc::new(Semaphore::new(config.limits.max_concurrent))),
        metadata_url: metadata.as_ref().map(|(_, url)| url.clone()),
    });
    let readiness = config.readiness.clone();
    let mut router = Router::new()
        .nest_service("/mcp", mcp)
        // route_layer: unknown paths stay 404 instead of asking for credentials.
        .route_layer(axum::middleware::from_fn_with_state(guard_state, guard))
        .route("/healthz", get(healthz))
        .route(
            "/readyz",
            get(move || {
                let readiness = readiness.clone();
                async move {
                    let r = match readiness {
                        Some(check) => check().await,
                        None => Readiness::from_checks(Vec::new()),
                    };
                    let status = if r.ready {
                        StatusCode::OK
                    } else {
                        StatusCode::SERVICE_UNAVAILABLE
                    };
                    (status, axum::Json(r))
                }
            }),
        );
    if let Some((doc, _)) = metadata {
        let doc = Arc::new(doc);
        let doc2 = doc.clone();
        router = router
            .route(
                "/.well-known/oauth-protected-resource",
                get(move || async move { axum::Json((*doc).clone()) }),
            )
            .route(
                "/.well-known/oauth-protected-resource/{*rest}",
                get(move || async move { axum::Json((*doc2).clone()) }),
            );
    }

    let listener = std::net::TcpListener::bind(config.addr).map_err(|source| ServeError::Io {
        context: format!("bind {}", config.addr),
        source,
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|source| ServeError::Io {
            context: "set_nonblocking".into(),
            source,
        })?;
    let local_addr = listener.local_addr().map_err(|source| ServeError::Io {
        context: "local_addr".into(),
        source,
    })?;
    Ok(Bound {
        listener,
        local_addr,
        router,
        tls: config.tls,
        ct,
        in_flight,
        grace: config.shutdown_grace,
    })
}

impl Bound {
    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` completes, then stops accepting connections,
    /// lets tool calls in flight finish (up to the grace period), ends the MCP
    /// sessions and returns.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), ServeError> {
        let Self {
            listener,
            local_addr,
            router,
            tls,
            ct,
            in_flight,
            grace,
        } = self;
        let handle = axum_server::Handle::new();
        let server = axum_server::from_tcp(listener)
            .map_err(|source| ServeError::Io {
                context: "listen".into(),
                source,
            })?
            .handle(handle.clone());
        let make = router.into_make_service_with_connect_info::<SocketAddr>();
        let mut serving: BoxFuture<'static, std::io::Result<()>> = match tls {
            Some(files) => {
                crate::install_crypto_provider();
                let tls =
                    axum_server::tls_rustls::RustlsConfig::from_pem_file(&files.cert, &files.key)
                        .await
                        .map_err(ServeError::Tls)?;
                Box::pin(
                    server
                        .acceptor(axum_server::tls_rustls::RustlsAcceptor::new(tls))
                        .serve(make),
                )
            }
            None => Box::pin(server.serve(make)),
        };
        tracing::info!(addr = %local_addr, "serving MCP over Streamable HTTP at /mcp");
        tokio::select! {
            result = &mut serving => {
                return result.map_err(|source| ServeError::Io { context: "serve".into(), source });
            }
            () = shutdown => {}
        }
        tracing::info!(
            in_flight = in_flight.count(),
            "shutting down: waiting for tool calls in flight"
        );
        handle.graceful_shutdown(Some(grace));
        if tokio::time::timeout(grace, in_flight.wait_idle())
            .await
            .is_err()
        {
            tracing::warn!(
                in_flight = in_flight.count(),
                "grace period over: cancelling tool calls"
            );
        }
        // Let finished calls' responses drain before ending the sessions' streams.
        let drain_until = tokio::time::Instant::now() + Duration::from_millis(500);
        while handle.connection_count() > 0 && tokio::time::Instant::now() < drain_until {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        ct.cancel();
        serving.await.map_err(|source| ServeError::Io {
            context: "serve".into(),
            source,
        })
    }
}

/// Binds and serves until `shutdown` completes (see [`bind`] and [`Bound::run`]).
pub async fn serve<S, F>(
    config: HttpConfig,
    make_service: F,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError>
where
    S: ServerHandler + Clone,
    F: Fn() -> S + Send + Sync + 'static,
{
    bind(config, make_service)?.run(shutdown).await
}
