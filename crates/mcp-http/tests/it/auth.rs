//! Static keys, grants, Host checks, health and readiness, audit.

use std::sync::Arc;

use mcp_http::{Check, HttpConfig, Readiness, ServeError};
use rmcp::model::CallToolRequestParams;
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn no_credentials_is_401_with_challenge() {
    let s = start(config()).await;
    let r = post(&s.url, INIT.into(), &[]).await;
    assert_eq!(r.status(), 401);
    let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    let r = post(
        &s.url,
        INIT.into(),
        &[("authorization", "Bearer not-a-key-0123456789")],
    )
    .await;
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    let r = post(
        &s.url,
        INIT.into(),
        &[("x-api-key", "wrong-wrong-wrong-wrong")],
    )
    .await;
    assert_eq!(r.status(), 401);
    let r = post(
        &s.url,
        INIT.into(),
        &[("authorization", &format!("Basic {OPERATOR}"))],
    )
    .await;
    assert_eq!(r.status(), 401);
    assert!(
        client(&s.url, &[]).await.is_err(),
        "rmcp client without credentials must fail"
    );
}

#[tokio::test]
async fn bearer_and_api_key_each_work() {
    let s = start(config()).await;
    let c = bearer_client(&s.url, OPERATOR).await;
    let tools = c.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), 3);
    c.cancel().await.unwrap();

    let c = client(&s.url, &[("x-api-key", OPERATOR)])
        .await
        .expect("api key client");
    let list = c.list_tools(None).await.unwrap();
    assert_eq!(tool_names(&list), ["collect_logs", "read_status", "sleep"]);
    let r = c
        .call_tool(CallToolRequestParams::new("collect_logs"))
        .await
        .unwrap();
    assert_ne!(r.is_error, Some(true));
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn api_key_header_name_is_configurable() {
    let mut cfg = config();
    cfg.auth.api_key_header = http::HeaderName::from_static("x-devops-agent-key");
    let s = start(cfg).await;
    assert_eq!(
        post(&s.url, INIT.into(), &[("x-devops-agent-key", READER)])
            .await
            .status(),
        200
    );
    // The default header name is no longer accepted.
    assert_eq!(
        post(&s.url, INIT.into(), &[("x-api-key", READER)])
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn read_only_credential_neither_sees_nor_calls_node_touching_tools() {
    let s = start(config()).await;
    let c = bearer_client(&s.url, READER).await;
    let list = c.list_tools(None).await.unwrap();
    assert_eq!(tool_names(&list), ["read_status", "sleep"]);
    let r = c
        .call_tool(CallToolRequestParams::new("collect_logs"))
        .await
        .unwrap();
    assert_eq!(r.is_error, Some(true));
    let text = serde_json::to_string(&r.content).unwrap();
    assert!(
        text.contains("collect_logs") && text.contains("read-only") && text.contains("collect"),
        "{text}"
    );
    let ok = c
        .call_tool(
            CallToolRequestParams::new("read_status").with_arguments(
                json!({"snapshot_id": "sha256:abc"})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
        )
        .await
        .unwrap();
    assert_ne!(ok.is_error, Some(true));
    c.cancel().await.unwrap();

    // The same over the stateless 2026-07-28 era.
    let r = post(
        &s.url,
        stateless(
            "tools/call",
            json!({"name": "collect_logs", "arguments": {}}),
        ),
        &[
            ("authorization", &format!("Bearer {READER}")),
            ("x-stateless", "1"),
        ],
    )
    .await;
    assert_eq!(r.status(), 200);
    let v = reply_json(r).await;
    assert_eq!(v["result"]["isError"], true, "{v}");
    let r = post(
        &s.url,
        stateless("tools/list", json!({})),
        &[
            ("authorization", &format!("Bearer {READER}")),
            ("x-stateless", "1"),
        ],
    )
    .await;
    let v = reply_json(r).await;
    let names: Vec<_> = v["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{v}");
    assert!(!names.contains(&"collect_logs"));
}

#[tokio::test]
async fn wrong_host_is_403() {
    let s = start(config()).await;
    let auth = format!("Bearer {OPERATOR}");
    let r = post(
        &s.url,
        INIT.into(),
        &[("authorization", &auth), ("host", "evil.example.com")],
    )
    .await;
    assert_eq!(r.status(), 403);
    // Refused before authentication: no credentials needed to see it.
    let r = post(&s.url, INIT.into(), &[("host", "evil.example.com")]).await;
    assert_eq!(r.status(), 403);
    let r = post(
        &s.url,
        INIT.into(),
        &[
            ("authorization", &auth),
            ("host", &format!("localhost:{}", s.addr.port())),
        ],
    )
    .await;
    assert_eq!(r.status(), 200);

    let mut cfg = config();
    cfg.allowed_hosts = vec!["diag.example.com".into()];
    let s = start(cfg).await;
    let r = post(
        &s.url,
        INIT.into(),
        &[("authorization", &auth), ("host", "diag.example.com")],
    )
    .await;
    assert_eq!(r.status(), 200);
    let r = post(&s.url, INIT.into(), &[("authorization", &auth)]).await;
    assert_eq!(r.status(), 403, "127.0.0.1 is no longer allowed");
}

#[tokio::test]
async fn healthz_and_readyz_need_no_credentials() {
    let mut cfg = config();
    cfg.readiness = Some(Arc::new(|| {
        Box::pin(async {
            Readiness::from_checks(vec![
                Check {
                    name: "aws".into(),
                    ok: false,
                    detail: "no credentials".into(),
                },
                Check {
                    name: "snapshot_store".into(),
                    ok: true,
                    detail: "/var/lib/x".into(),
                },
            ])
        })
    }));
    let s = start(cfg).await;
    let base = format!("http://{}", s.addr);
    let r = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(r.status(), 200);
    let r = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(r.status(), 503);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["ready"], false);
    assert_eq!(v["checks"][0]["name"], "aws");
    // No OAuth configured: no metadata document.
    let r = reqwest::get(format!("{base}/.well-known/oauth-protected-resource"))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn refuses_public_address_without_auth() {
    let cfg = HttpConfig::new("0.0.0.0:0".parse().unwrap());
    let err = mcp_http::bind(cfg.clone(), Fixture::new).unwrap_err();
    assert!(matches!(err, ServeError::NoAuth(_)), "{err}");
    let mut insecure = cfg;
    insecure.insecure_no_auth = true;
    assert!(mcp_http::bind(insecure, Fixture::new).is_ok());
    // Loopback without auth is allowed: every caller is anonymous with all grants.
    let s = start(HttpConfig::new("127.0.0.1:0".parse().unwrap())).await;
    let c = client(&s.url, &[]).await.unwrap();
    assert_eq!(c.list_tools(None).await.unwrap().tools.len(), 3);
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn every_call_is_audited_with_secrets_redacted() {
    let s = start(config()).await;
    let c = bearer_client(&s.url, OPERATOR).await;
    c.call_tool(
        CallToolRequestParams::new("read_status").with_arguments(
            json!({"snapshot_id": "sha256:feed", "api_token": "hunter2-hunter2"})
                .as_object()
                .unwrap()
                .clone(),
        ),
    )
    .await
    .unwrap();
    c.cancel().await.unwrap();
    let r = bearer_client(&s.url, READER).await;
    r.call_tool(CallToolRequestParams::new("collect_logs"))
        .await
        .unwrap();
    r.cancel().await.unwrap();

    let raw = s.audit.lock().unwrap().join("\n");
    assert!(!raw.contains("hunter2"), "secret leaked into audit: {raw}");
    assert!(
        !raw.contains(OPERATOR) && !raw.contains(READER),
        "credential leaked into audit"
    );
    let lines = s.audit_lines();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let ok = &lines[0];
    assert_eq!(ok["caller"], "operator");
    assert_eq!(ok["caller_kind"], "bearer");
    assert_eq!(ok["tool"], "read_status");
    assert_eq!(ok["snapshot_id"], "sha256:feed");
    assert_eq!(ok["arguments"]["api_token"], "***");
    assert_eq!(ok["outcome"], "ok");
    assert!(ok["response_bytes"].as_u64().unwrap() > 10);
    assert!(ok["duration_ms"].as_f64().is_some());
    assert!(ok["time"].as_str().unwrap().ends_with('Z'));
    let denied = &lines[1];
    assert_eq!(denied["caller"], "reader");
    assert_eq!(denied["outcome"], "denied");
}

#[tokio::test]
async fn json_or_sse_replies() {
    let auth = format!("Bearer {READER}");
    let s = start(config()).await;
    let r = post(&s.url, INIT.into(), &[("authorization", &auth)]).await;
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let mut cfg = config();
    cfg.json_response = true;
    cfg.stateful_sessions = false;
    let s = start(cfg).await;
    let r = post(&s.url, INIT.into(), &[("authorization", &auth)]).await;
    assert_eq!(r.headers()["content-type"], "application/json");
    assert!(
        r.headers().get("mcp-session-id").is_none(),
        "stateless: no session"
    );
    let r = post(
        &s.url,
        stateless("tools/list", json!({})),
        &[("authorization", &auth), ("x-stateless", "1")],
    )
    .await;
    assert_eq!(r.headers()["content-type"], "application/json");
    let v = reply_json(r).await;
    assert_eq!(v["result"]["tools"].as_array().unwrap().len(), 2, "{v}");
}

#[tokio::test]
async fn foreign_browser_origin_is_refused() {
    let mut cfg = config();
    cfg.allowed_origins = vec!["https://console.example.com".into()];
    let s = start(cfg).await;
    let auth = format!("Bearer {READER}");
    let r = post(
        &s.url,
        INIT.into(),
        &[
            ("authorization", &auth),
            ("origin", "https://evil.example.com"),
        ],
    )
    .await;
    assert_eq!(r.status(), 403);
    let r = post(
        &s.url,
        INIT.into(),
        &[
            ("authorization", &auth),
            ("origin", "https://console.example.com"),
        ],
    )
    .await;
    assert_eq!(r.status(), 200);
    // Non-browser clients send no Origin.
    let r = post(&s.url, INIT.into(), &[("authorization", &auth)]).await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn failed_attempts_are_rate_limited_per_peer() {
    let mut cfg = config();
    cfg.limits.per_client_rate = 3;
    let s = start(cfg).await;
    for _ in 0..3 {
        let r = post(
            &s.url,
            INIT.into(),
            &[("authorization", "Bearer guess-guess-guess-guess")],
        )
        .await;
        assert_eq!(r.status(), 401);
    }
    let r = post(
        &s.url,
        INIT.into(),
        &[("authorization", "Bearer guess-guess-guess-guess")],
    )
    .await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    // A valid key from the same peer still gets in: its own budget.
    let r = post(
        &s.url,
        INIT.into(),
        &[("authorization", &format!("Bearer {READER}"))],
    )
    .await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn collect_only_credential_sees_only_node_touching_tools_and_no_resources() {
    let s = start(config()).await;
    let c = bearer_client(&s.url, COLLECTOR).await;
    assert_eq!(
        tool_names(&c.list_tools(None).await.unwrap()),
        ["collect_logs"]
    );
    assert!(c.list_resources(None).await.unwrap().resources.is_empty());
    let read = c
        .read_resource(rmcp::model::ReadResourceRequestParams::new(
            "snapshot://sha256:feed",
        ))
        .await;
    assert!(read.is_err(), "{read:?}");
    c.cancel().await.unwrap();

    let r = bearer_client(&s.url, READER).await;
    assert_eq!(r.list_resources(None).await.unwrap().resources.len(), 1);
    r.read_resource(rmcp::model::ReadResourceRequestParams::new(
        "snapshot://sha256:feed",
    ))
    .await
    .unwrap();
    r.cancel().await.unwrap();
}
