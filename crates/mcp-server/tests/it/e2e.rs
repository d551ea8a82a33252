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

/// `serve --http` with two static credentials: the read-only one does not
/// see the node-touching tool, the other does, and both chain
/// take_snapshot → list_findings over Streamable HTTP.
#[test]
fn python_sdk_client_over_http_sees_only_its_grant() {
    let Some(venv) = std::env::var_os("EKS_NODE_DIAG_TEST_VENV") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "EKS_NODE_DIAG_TEST_VENV must be set in CI (scripts/test sets it)"
        );
        eprintln!("skipping: EKS_NODE_DIAG_TEST_VENV is not set (run ./scripts/test)");
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // Kill the server whatever happens below.
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _server = Kill(
        Command::new(env!("CARGO_BIN_EXE_eks-node-diag"))
            .args([
                "serve",
                "--http",
                &format!("127.0.0.1:{port}"),
                "--keys-env",
                "TEST_KEYS",
                "--bundles",
            ])
            .arg(bundles_dir())
            .env(
                "TEST_KEYS",
                "reader:read:reader-secret-0123456789\nadmin:all:admin-secret-0123456789",
            )
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("the server starts"),
    );
    let ready = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(ready, "the HTTP server did not start listening");

    let python = std::path::Path::new(&venv).join("bin/python");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/http_client.py");
    let url = format!("http://127.0.0.1:{port}/mcp");
    let run = |token: &str| -> Value {
        let output = Command::new(&python)
            .args([script, &url, token])
            .output()
            .expect("python runs");
        assert!(
            output.status.success(),
            "client failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("one JSON object")
    };
    let reader = run("reader-secret-0123456789");
    let admin = run("admin-secret-0123456789");
    let has = |result: &Value, tool: &str| {
        result["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == tool)
    };
    assert!(
        has(&reader, "list_findings") && !has(&reader, "collect_node_snapshot"),
        "{reader}"
    );
    assert!(has(&admin, "collect_node_snapshot"), "{admin}");
    assert_eq!(reader["snapshot_id"], admin["snapshot_id"]);
    assert!(
        reader["critical"]
            .as_array()
            .unwrap()
            .iter()
            .any(|code| code == "IPT001"),
        "{reader}"
    );
}
