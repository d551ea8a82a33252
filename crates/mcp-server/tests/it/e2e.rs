//! End-to-end test with a real third-party MCP client: the Python `mcp` SDK
//! (installed by `scripts/test` into `$EKS_NODE_DIAG_TEST_VENV`) spawns
//! `eks-node-diag serve` over stdio and drives it.

use std::process::Command;

use serde_json::Value;

use crate::protocol::bundles_dir;

#[test]
fn python_sdk_client_drives_the_server_over_stdio() {
    let Some(venv) = std::env::var_os("EKS_NODE_DIAG_TEST_VENV") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "EKS_NODE_DIAG_TEST_VENV must be set in CI (scripts/test sets it)"
        );
        eprintln!("skipping: EKS_NODE_DIAG_TEST_VENV is not set (run ./scripts/test)");
        return;
    };
    let python = std::path::Path::new(&venv).join("bin/python");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/client.py");
    let output = Command::new(python)
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_eks-node-diag"))
        .arg(bundles_dir())
        .env("RUST_LOG", "warn")
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "client failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: Value = serde_json::from_slice(&output.stdout).expect("one JSON object");
    assert_eq!(result["server"], "eks-node-diag");
    let tools: Vec<&str> = result["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    for tool in [
        "list_snapshots",
        "take_snapshot",
        "list_findings",
        "get_finding",
        "search_logs",
        "read_artifact_lines",
    ] {
        assert!(tools.contains(&tool), "{tools:?}");
    }
    assert!(result["snapshot_id"].as_str().unwrap().starts_with("s1_"));
    assert!(result["findings_total"].as_u64().unwrap() >= 1);
    assert!(
        result["first_finding"]["id"]
            .as_str()
            .unwrap()
            .starts_with("f1_")
    );
    let evidence = result["evidence"].as_array().unwrap();
    assert!(!evidence.is_empty());
    assert!(evidence[0]["artifact"].is_string() && evidence[0]["line"].is_u64());
    assert_eq!(result["bad_is_error"], true);
}
