//! Load client: `sessions` concurrent rmcp Streamable HTTP sessions, each
//! making `calls` sequential `read_status` tool calls; latency percentiles.

#![allow(dead_code, unreachable_pub)]

use std::time::{Duration, Instant};

use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::streamable_http_client::{
    StreamableHttpClientTransport, StreamableHttpClientTransportConfig,
};

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Report {
    /// Tool calls attempted.
    pub calls: usize,
    /// Failed calls (transport or protocol errors, tool errors, failed sessions).
    pub errors: usize,
    /// Median call latency.
    pub p50: Duration,
    /// 99th percentile call latency.
    pub p99: Duration,
    /// Slowest call.
    pub max: Duration,
    /// Wall time of the whole run.
    pub elapsed: Duration,
}

/// Runs the load and returns the report.
pub async fn run(url: &str, token: &str, sessions: usize, calls: usize) -> Report {
    let started = Instant::now();
    let http = reqwest::Client::new();
    let mut tasks = Vec::with_capacity(sessions);
    for i in 0..sessions {
        let config = StreamableHttpClientTransportConfig::with_uri(url.to_owned())
            .auth_header(token.to_owned());
        let http = http.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(calls);
            let mut errors = 0;
            let transport = StreamableHttpClientTransport::with_client(http, config);
            let Ok(client) = ().serve(transport).await else {
                return (latencies, calls);
            };
            for j in 0..calls {
                let args = serde_json::json!({"snapshot_id": format!("sha256:{i:04}{j:04}")});
                let t = Instant::now();
                let request = CallToolRequestParams::new("read_status")
                    .with_arguments(args.as_object().cloned().unwrap_or_default());
                match client.call_tool(request).await {
                    Ok(r) if r.is_error != Some(true) => latencies.push(t.elapsed()),
                    _ => errors += 1,
                }
            }
            let _ = client.cancel().await;
            (latencies, errors)
        }));
    }
    let mut all = Vec::with_capacity(sessions * calls);
    let mut errors = 0;
    for task in tasks {
        match task.await {
            Ok((l, e)) => {
                all.extend(l);
                errors += e;
            }
            Err(_) => errors += calls,
        }
    }
    all.sort();
    let pct = |p: f64| {
        if all.is_empty() {
            Duration::ZERO
        } else {
            all[((all.len() - 1) as f64 * p).round() as usize]
        }
    };
    Report {
        calls: sessions * calls,
        errors,
        p50: pct(0.50),
        p99: pct(0.99),
        max: all.last().copied().unwrap_or_default(),
        elapsed: started.elapsed(),
    }
}
