//! End to end with a third-party client: the Python `mcp` SDK's Streamable
//! HTTP client, with a bearer token, an API key header and a JWT.

use std::path::PathBuf;
use std::process::Command;

use crate::common::*;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/python_client.py");

fn python() -> Option<PathBuf> {
    match std::env::var_os("EKS_NODE_DIAG_TEST_VENV") {
        Some(venv) => Some(PathBuf::from(venv).join("bin/python")),
        None if std::env::var_os("CI").is_some() => {
            panic!("EKS_NODE_DIAG_TEST_VENV is unset on CI; run ./scripts/test")
        }
        None => {
            eprintln!(
                "skipping Python MCP SDK test: EKS_NODE_DIAG_TEST_VENV is unset (./scripts/test sets it)"
            );
            None
        }
    }
}

async fn run_client(url: &str, header: &str, value: &str) -> serde_json::Value {
    let py = python().expect("checked by caller");
    let (url, header, value) = (url.to_owned(), header.to_owned(), value.to_owned());
    let out = tokio::task::spawn_blocking(move || {
        Command::new(py)
            .arg(SCRIPT)
            .arg(url)
            .arg(header)
            .arg(value)
            .output()
            .expect("python runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python client failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_lists_and_calls_with_each_credential_kind() {
    if python().is_none() {
        return;
    }
    let s = start(config()).await;
    let v = run_client(&s.url, "authorization", &format!("Bearer {OPERATOR}")).await;
    assert_eq!(
        v["tools"],
        serde_json::json!(["collect_logs", "read_status", "sleep"]),
        "{v}"
    );
    assert_eq!(v["call"], "snapshot sha256:py is fine", "{v}");

    let v = run_client(&s.url, "x-api-key", READER).await;
    assert_eq!(
        v["tools"],
        serde_json::json!(["read_status", "sleep"]),
        "{v}"
    );

    let v = run_client(&s.url, "x-api-key", "wrong-key-wrong-key-wrong").await;
    assert_eq!(v["error"], "unauthorized", "{v}");
}
