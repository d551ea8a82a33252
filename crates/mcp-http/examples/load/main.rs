//! The bounded load test at full size: a server on 127.0.0.1 with the test
//! fixture handler and static-key auth, 200 concurrent sessions × 50 calls
//! (override with `LOAD_SESSIONS` / `LOAD_CALLS`). Prints one JSON line.
//! Peak memory: `/usr/bin/time -v target/release/examples/load` (server and
//! clients share the process).
#![allow(clippy::print_stdout, clippy::unwrap_used)]

mod client;
#[path = "../../tests/it/common.rs"]
mod common;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let sessions = env_or("LOAD_SESSIONS", 200);
    let calls = env_or("LOAD_CALLS", 50);
    let mut cfg = common::config();
    cfg.limits.per_client_rate = 0;
    cfg.limits.max_concurrent = 0;
    let server = common::start(cfg).await;
    let report = client::run(&server.url, common::OPERATOR, sessions, calls).await;
    let audit_lines = server.audit.lock().unwrap().len();
    server.stop().await.unwrap();
    println!(
        "{}",
        serde_json::json!({
            "sessions": sessions,
            "calls": report.calls,
            "errors": report.errors,
            "audit_lines": audit_lines,
            "p50_ms": report.p50.as_secs_f64() * 1e3,
            "p99_ms": report.p99.as_secs_f64() * 1e3,
            "max_ms": report.max.as_secs_f64() * 1e3,
            "elapsed_s": report.elapsed.as_secs_f64(),
            "calls_per_s": report.calls as f64 / report.elapsed.as_secs_f64(),
        })
    );
}
