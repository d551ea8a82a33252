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

async fn run_client(url: &str, header: &str, value: &str, era: &str) -> serde_json::Value {
    let py = python().expect("checked by caller");
    let args = [SCRIPT, url, header, value, era].map(str::to_owned);
    let out = tokio::task::spawn_blocking(move || {
        Command::new(py).args(args).output().expect("python runs")
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
    // Both protocol eras, with a bearer key and an API key header.
    for era in ["session", "stateless"] {
        let v = run_client(&s.url, "authorization", &format!("Bearer {OPERATOR}"), era).await;
        assert_eq!(
            v["tools"],
            serde_json::json!(["collect_logs", "read_status", "sleep"]),
            "{era}: {v}"
        );
        assert_eq!(v["call"], "snapshot sha256:py is fine", "{era}: {v}");

        let v = run_client(&s.url, "x-api-key", READER, era).await;
        assert_eq!(
            v["tools"],
            serde_json::json!(["read_status", "sleep"]),
            "{era}: {v}"
        );
    }

    // The SDK surfaces the 401 as an error response (its message carries no status).
    let v = run_client(&s.url, "x-api-key", "wrong-key-wrong-key-wrong", "session").await;
    assert!(v["error"].is_string() && v["tools"].is_null(), "{v}");
    // Only the authenticated runs' calls reached a tool.
    assert_eq!(s.audit_lines().len(), 4);

    // An OAuth access token from a test issuer.
    let key = crate::jwt::Key::ec("py-1");
    let issuer = crate::jwt::Issuer::start(vec![key.jwk()]).await;
    let mut cfg = config();
    cfg.auth.oauth = Some(issuer.oauth());
    let s = start(cfg).await;
    let token = key.sign(&crate::jwt::claims(
        "eks-node-diag/read eks-node-diag/collect",
    ));
    let v = run_client(
        &s.url,
        "authorization",
        &format!("Bearer {token}"),
        "session",
    )
    .await;
    assert_eq!(
        v["tools"],
        serde_json::json!(["collect_logs", "read_status", "sleep"]),
        "{v}"
    );
    assert_eq!(s.audit_lines()[0]["caller"], "devops-agent-client");
}
