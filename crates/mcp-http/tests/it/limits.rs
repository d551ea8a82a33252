//! Body size, rate, concurrency, per-call timeout, graceful shutdown.

use std::time::{Duration, Instant};

use rmcp::model::CallToolRequestParams;
use serde_json::json;

use crate::common::*;

fn op() -> String {
    format!("Bearer {OPERATOR}")
}

#[tokio::test]
async fn oversized_body_is_413() {
    let mut cfg = config();
    cfg.limits.max_body_bytes = 2048;
    let s = start(cfg).await;
    let big = stateless(
        "tools/call",
        json!({"name": "read_status", "arguments": {"snapshot_id": "x".repeat(4096)}}),
    );
    let r = post(
        &s.url,
        big,
        &[("authorization", &op()), ("x-stateless", "1")],
    )
    .await;
    assert_eq!(r.status(), 413);
    // A normal request still works afterwards.
    let r = post(&s.url, INIT.into(), &[("authorization", &op())]).await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn rate_limit_is_429_with_retry_after_per_caller() {
    let mut cfg = config();
    cfg.limits.per_client_rate = 5;
    let s = start(cfg).await;
    for i in 0..5 {
        let r = post(&s.url, INIT.into(), &[("authorization", &op())]).await;
        assert_eq!(r.status(), 200, "request {i}");
    }
    let r = post(&s.url, INIT.into(), &[("authorization", &op())]).await;
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=12).contains(&retry), "retry-after {retry}");
    // Another caller has its own budget.
    let r = post(
        &s.url,
        INIT.into(),
        &[("authorization", &format!("Bearer {READER}"))],
    )
    .await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn concurrency_limit_is_503() {
    let mut cfg = config();
    cfg.limits.max_concurrent = 1;
    let s = start(cfg).await;
    let url = s.url.clone();
    let slow = tokio::spawn(async move {
        let r = post(
            &url,
            stateless(
                "tools/call",
                json!({"name": "sleep", "arguments": {"ms": 1500}}),
            ),
            &[("authorization", &op()), ("x-stateless", "1")],
        )
        .await;
        let status = r.status();
        (status, reply_json(r).await)
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    let r = post(&s.url, INIT.into(), &[("authorization", &op())]).await;
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "1");
    let (status, v) = slow.await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(v["result"]["content"][0]["text"], "slept", "{v}");
    // The permit is released once the slow reply is sent.
    let r = post(&s.url, INIT.into(), &[("authorization", &op())]).await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn slow_call_is_cut_by_timeout_as_tool_error() {
    let mut cfg = config();
    cfg.limits.call_timeout = Duration::from_millis(300);
    let s = start(cfg).await;
    let c = bearer_client(&s.url, OPERATOR).await;
    let started = Instant::now();
    let r = c
        .call_tool(
            CallToolRequestParams::new("sleep")
                .with_arguments(json!({"ms": 10_000}).as_object().unwrap().clone()),
        )
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(r.is_error, Some(true));
    assert!(
        serde_json::to_string(&r.content)
            .unwrap()
            .contains("did not finish")
    );
    // The server is fine afterwards.
    let ok = c
        .call_tool(
            CallToolRequestParams::new("sleep")
                .with_arguments(json!({"ms": 1}).as_object().unwrap().clone()),
        )
        .await
        .unwrap();
    assert_ne!(ok.is_error, Some(true));
    c.cancel().await.unwrap();
    let outcomes: Vec<_> = s
        .audit_lines()
        .iter()
        .map(|l| l["outcome"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(outcomes, ["timeout", "ok"]);
}

#[tokio::test]
async fn graceful_shutdown_lets_calls_in_flight_finish() {
    let s = start(config()).await;
    let url = s.url.clone();
    let call = tokio::spawn(async move {
        let r = post(
            &url,
            stateless(
                "tools/call",
                json!({"name": "sleep", "arguments": {"ms": 800}}),
            ),
            &[("authorization", &op()), ("x-stateless", "1")],
        )
        .await;
        reply_json(r).await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let addr = s.addr;
    let stopped = tokio::spawn(s.stop());
    let v = call.await.unwrap();
    assert_eq!(v["result"]["content"][0]["text"], "slept", "{v}");
    stopped.await.unwrap().expect("clean shutdown");
    // No longer accepting connections.
    assert!(
        reqwest::get(format!("http://{addr}/healthz"))
            .await
            .is_err()
    );
}
