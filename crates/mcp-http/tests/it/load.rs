//! A bounded load test on loopback (small by default; the full 200 × 50 run
//! is `cargo run --release -p mcp-http --example load`).

use std::time::Duration;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sessions_without_errors() {
    let mut cfg = config();
    cfg.limits.per_client_rate = 0;
    cfg.limits.max_concurrent = 0;
    let s = start(cfg).await;
    let report = mcp_http_load::run(&s.url, OPERATOR, 20, 10).await;
    assert_eq!(report.errors, 0, "{report:?}");
    assert_eq!(report.calls, 200);
    assert!(report.p99 < Duration::from_secs(10), "{report:?}");
}

#[path = "../../examples/load/client.rs"]
mod mcp_http_load;
