//! Shared fixtures: a small rmcp server with one tool of each class, a
#![allow(dead_code, unreachable_pub)]
//! server launcher on 127.0.0.1:0, and raw and rmcp clients.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mcp_http::{AuditSink, Grants, HttpConfig, ServeError, StaticKey};
use rmcp::handler::server::{router::tool::ToolRouter, wrapper::Parameters};
use rmcp::model::{ServerCapabilities, ServerConfig};
use rmcp::service::RunningService;
use rmcp::transport::streamable_http_client::{
    StreamableHttpClientTransport, StreamableHttpClientTransportConfig,
};
use rmcp::{RoleClient, ServerHandler, ServiceExt, schemars, tool, tool_handler, tool_router};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const READER: &str = "reader-secret-0123456789";
pub const OPERATOR: &str = "operator-secret-0123456789";
pub const COLLECTOR: &str = "collector-secret-0123456789";

/// Arguments of `read_status`.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
pub struct StatusArgs {
    /// Snapshot to read.
    pub snapshot_id: String,
    /// A secret-looking argument, to check redaction.
    #[serde(default)]
    pub api_token: Option<String>,
}

/// Arguments of `sleep`.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
pub struct SleepArgs {
    /// How long to sleep.
    pub ms: u64,
}

/// The test fixture server: the layer under test is generic, the real tools
/// are wired in by the binary.
#[derive(Debug, Clone)]
pub struct Fixture {
    tool_router: ToolRouter<Self>,
}

impl Fixture {
    pub fn new() -> Self {
        Self {
            tool_router: Self::tool_router(),
        }
    }
}

#[tool_router]
impl Fixture {
    #[tool(
        name = "read_status",
        description = "Reads a snapshot",
        annotations(read_only_hint = true)
    )]
    async fn read_status(&self, Parameters(args): Parameters<StatusArgs>) -> String {
        format!("snapshot {} is fine", args.snapshot_id)
    }

    #[tool(
        name = "sleep",
        description = "Sleeps",
        annotations(read_only_hint = true)
    )]
    async fn sleep(&self, Parameters(args): Parameters<SleepArgs>) -> String {
        tokio::time::sleep(Duration::from_millis(args.ms)).await;
        "slept".to_owned()
    }

    #[tool(
        name = "collect_logs",
        description = "Starts an SSM command on a node",
        annotations(read_only_hint = false)
    )]
    async fn collect_logs(&self) -> String {
        "collection started".to_owned()
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Fixture {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .build(),
        )
    }

    async fn list_resources(
        &self,
        _request: Option<rmcp::model::PaginatedRequestParams>,
        _context: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<rmcp::model::ListResourcesResult, rmcp::ErrorData> {
        let mut r = rmcp::model::ListResourcesResult::default();
        r.resources.push(rmcp::model::Resource::new(
            "snapshot://sha256:feed",
            "snapshot",
        ));
        Ok(r)
    }

    async fn read_resource(
        &self,
        request: rmcp::model::ReadResourceRequestParams,
        _context: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<rmcp::model::ReadResourceResponse, rmcp::ErrorData> {
        Ok(rmcp::model::ReadResourceResponse::Complete(
            rmcp::model::ReadResourceResult::new(vec![rmcp::model::ResourceContents::text(
                "snapshot body",
                request.uri,
            )]),
        ))
    }
}

/// Loopback config with a read-only and an all-grants key.
pub fn config() -> HttpConfig {
    let mut c = HttpConfig::new("127.0.0.1:0".parse().unwrap());
    c.auth.keys = vec![
        StaticKey::new("reader", READER, Grants::READ_ONLY).unwrap(),
        StaticKey::new("operator", OPERATOR, Grants::ALL).unwrap(),
        StaticKey::new(
            "collector",
            COLLECTOR,
            Grants {
                read_only: false,
                node_touching: true,
            },
        )
        .unwrap(),
    ];
    c.shutdown_grace = Duration::from_secs(5);
    c
}

pub struct Running {
    pub addr: SocketAddr,
    pub url: String,
    pub audit: Arc<Mutex<Vec<String>>>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ServeError>>>,
}

impl Running {
    pub fn audit_lines(&self) -> Vec<Value> {
        self.audit
            .lock()
            .unwrap()
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Triggers shutdown and waits for the server to return.
    pub async fn stop(mut self) -> Result<(), ServeError> {
        let _ = self.shutdown.take().map(|s| s.send(()));
        let task = self.task.take().unwrap();
        tokio::time::timeout(Duration::from_secs(15), task)
            .await
            .expect("server stops")
            .expect("join")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.shutdown.take().map(|s| s.send(()));
    }
}

pub async fn start(mut config: HttpConfig) -> Running {
    let audit = Arc::new(Mutex::new(Vec::new()));
    let sink = audit.clone();
    config.audit = AuditSink::Func(Arc::new(move |line: &str| {
        sink.lock().unwrap().push(line.to_owned())
    }));
    let bound = mcp_http::bind(config, Fixture::new).expect("bind");
    let addr = bound.local_addr();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(bound.run(async move {
        let _ = rx.await;
    }));
    Running {
        addr,
        url: format!("http://{addr}/mcp"),
        audit,
        shutdown: Some(tx),
        task: Some(task),
    }
}

/// An rmcp Streamable HTTP client sending `headers`.
pub async fn client(
    url: &str,
    headers: &[(&'static str, &str)],
) -> Result<RunningService<RoleClient, ()>, String> {
    let headers: HashMap<_, _> = headers
        .iter()
        .map(|(k, v)| {
            (
                http::HeaderName::from_static(k),
                http::HeaderValue::from_str(v).unwrap(),
            )
        })
        .collect();
    let transport = StreamableHttpClientTransport::with_client(
        reqwest::Client::new(),
        StreamableHttpClientTransportConfig::with_uri(url.to_owned()).custom_headers(headers),
    );
    ().serve(transport).await.map_err(|e| e.to_string())
}

pub async fn bearer_client(url: &str, token: &str) -> RunningService<RoleClient, ()> {
    client(url, &[("authorization", &format!("Bearer {token}"))])
        .await
        .expect("client connects")
}

pub const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"test","version":"1.0"}}}"#;

/// A stateless (protocol 2026-07-28) JSON-RPC request body.
pub fn stateless(method: &str, params: Value) -> String {
    let mut params = params;
    params["_meta"] = serde_json::json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "test", "version": "1.0"},
        "io.modelcontextprotocol/clientCapabilities": {}
    });
    serde_json::json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params}).to_string()
}

/// POSTs `body` to `/mcp` with the usual MCP headers plus `headers`.
pub async fn post(url: &str, body: String, headers: &[(&str, &str)]) -> reqwest::Response {
    let body_copy = body.clone();
    let mut req = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body);
    if body_is_stateless(headers) {
        // 2026-07-28 standard headers (SEP-2243) mirror the body.
        let v: Value = serde_json::from_str(&body_copy).unwrap_or_default();
        req = req.header("mcp-protocol-version", "2026-07-28");
        if let Some(m) = v["method"].as_str() {
            req = req.header("mcp-method", m);
        }
        if let Some(n) = v["params"]["name"].as_str() {
            req = req.header("mcp-name", n);
        }
    }
    for (k, v) in headers {
        if *k != "x-stateless" {
            req = req.header(*k, *v);
        }
    }
    req.send().await.expect("request sent")
}

fn body_is_stateless(headers: &[(&str, &str)]) -> bool {
    headers.iter().any(|(k, _)| *k == "x-stateless")
}

/// The JSON-RPC message in a JSON or SSE reply.
pub async fn reply_json(response: reqwest::Response) -> Value {
    let text = response.text().await.unwrap();
    if let Ok(v) = serde_json::from_str(&text) {
        return v;
    }
    text.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .find(|v| v.get("id").is_some())
        .unwrap_or_else(|| panic!("no JSON-RPC reply in {text:?}"))
}

pub fn tool_names(list: &rmcp::model::ListToolsResult) -> Vec<String> {
    let mut names: Vec<String> = list.tools.iter().map(|t| t.name.to_string()).collect();
    names.sort();
    names
}
