//! In-process protocol tests: an rmcp client talks to the server over
//! `tokio::io::duplex`, exercising every tool, resource and prompt, bad
//! arguments and pagination.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;

use mcp_server::{DiagServer, Engine, Sources};
use rmcp::model::{
    CallToolRequestParams, CallToolResult, GetPromptRequestParams, ReadResourceRequestParams,
};
use rmcp::service::RunningService;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};

pub(crate) type Client = RunningService<RoleClient, ()>;

pub(crate) fn bundles_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/bundles"
    ))
}

pub(crate) async fn start_with(sources: Sources, budget: usize, capacity: usize) -> Client {
    let engine = Arc::new(Engine::new(sources, NonZeroUsize::new(capacity).unwrap()));
    let server = DiagServer::new(engine, budget, None);
    let (server_io, client_io) = tokio::io::duplex(1 << 20);
    tokio::spawn(async move {
        let running = server.serve(server_io).await.expect("server starts");
        let _ = running.waiting().await;
    });
    ().serve(client_io).await.expect("client connects")
}

pub(crate) async fn start() -> Client {
    start_with(
        Sources {
            bundle_dirs: vec![bundles_dir()],
            ..Sources::default()
        },
        mcp_server::server::DEFAULT_BUDGET,
        8,
    )
    .await
}

pub(crate) async fn call(client: &Client, name: &'static str, args: Value) -> CallToolResult {
    let Value::Object(args) = args else {
        panic!("arguments must be an object")
    };
    client
        .call_tool(CallToolRequestParams::new(name).with_arguments(args))
        .await
        .unwrap_or_else(|error| panic!("{name}: protocol error {error}"))
}

#[track_caller]
pub(crate) fn ok(result: &CallToolResult) -> Value {
    assert_ne!(
        result.is_error,
        Some(true),
        "tool error: {:?}",
        result.content
    );
    result
        .structured_content
        .clone()
        .expect("structured content")
}

#[track_caller]
pub(crate) fn tool_error(result: &CallToolResult) -> String {
    assert_eq!(
        result.is_error,
        Some(true),
        "expected a tool error, got {:?}",
        result.structured_content
    );
    serde_json::to_string(&result.content).unwrap()
}

pub(crate) async fn take(client: &Client, bundle: &str) -> String {
    let taken = ok(&call(client, "take_snapshot", json!({"bundle": bundle})).await);
    taken["snapshot_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn tools_list_is_golden() {
    let client = start().await;
    let mut tools = client.list_all_tools().await.unwrap();
    tools.sort_by(|a, b| a.name.cmp(&b.name));
    for tool in &tools {
        assert!(tool.name.len() <= 40, "{} is too long", tool.name);
        assert!(
            tool.name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_'),
            "{}",
            tool.name
        );
        let annotations = tool.annotations.as_ref().expect("annotations");
        assert!(annotations.read_only_hint.is_some() && annotations.open_world_hint.is_some());
        assert!(
            tool.output_schema.is_some(),
            "{} has no output schema",
            tool.name
        );
    }
    insta::assert_snapshot!("tools_list", serde_json::to_string_pretty(&tools).unwrap());
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn list_take_summary_findings_and_finding() {
    let client = start().await;
    let listed = ok(&call(&client, "list_snapshots", json!({})).await);
    let bundles = listed["bundles"].as_array().unwrap();
    let names: Vec<&str> = bundles
        .iter()
        .map(|b| b["bundle"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"dns-no-endpoints"), "{names:?}");
    assert!(
        !names.contains(&"tools"),
        "the tools folder is not a bundle"
    );
    assert_eq!(listed["aws_collection_enabled"], false);
    let dns = bundles
        .iter()
        .find(|b| b["bundle"] == "dns-no-endpoints")
        .unwrap();
    assert_eq!(dns["loaded"], false);
    assert_eq!(dns["instance_id"], "i-05f3a9b1c2d4e6f78");

    let id = take(&client, "dns-no-endpoints").await;
    assert!(id.starts_with("s1_"), "{id}");
    let relisted = ok(&call(&client, "list_snapshots", json!({})).await);
    let dns = relisted["bundles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["bundle"] == "dns-no-endpoints")
        .unwrap()
        .clone();
    assert_eq!(dns["snapshot_id"], id.as_str());
    assert_eq!(dns["loaded"], true);
    assert!(dns["coverage"]["files"].as_u64().unwrap() > 10);

    let summary = ok(&call(&client, "get_snapshot_summary", json!({"snapshot_id": id})).await);
    assert!(
        summary["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["path"] == "networking/iptables-save.txt")
    );
    assert!(summary["rules_evaluated"].as_u64().unwrap() >= 1);
    assert!(
        summary["kube_services"]["without_endpoints"]
            .as_u64()
            .unwrap()
            >= 1
    );

    // Findings: conntrack-exhaustion triggers at least CTK001 (other
    // scenarios gain findings as rules are added).
    let id = take(&client, "conntrack-exhaustion").await;
    let page = ok(&call(&client, "list_findings", json!({"snapshot_id": id})).await);
    let findings = page["findings"].as_array().unwrap();
    assert!(!findings.is_empty(), "conntrack-exhaustion has findings");
    let order = ["critical", "high", "medium", "low", "info"];
    let ranks: Vec<usize> = findings
        .iter()
        .map(|f| order.iter().position(|s| *s == f["severity"]).unwrap())
        .collect();
    assert!(
        ranks.windows(2).all(|w| w[0] <= w[1]),
        "most severe first: {ranks:?}"
    );

    let first = &findings[0];
    let detail = ok(&call(
        &client,
        "get_finding",
        json!({"snapshot_id": id, "finding_id": first["id"]}),
    )
    .await);
    assert_eq!(detail["finding"]["id"], first["id"]);
    assert!(
        detail["rule_doc"]
            .as_str()
            .unwrap()
            .contains("## What it does")
    );
    let refs = detail["evidence_refs"].as_array().unwrap();
    assert!(!refs.is_empty());

    // An evidence reference reads back through read_artifact_lines.
    let lines = ok(&call(
        &client,
        "read_artifact_lines",
        json!({"snapshot_id": id, "artifact": refs[0]}),
    )
    .await);
    let (_, line) = refs[0].as_str().unwrap().rsplit_once(':').unwrap();
    let line: usize = line.parse().unwrap();
    assert!(lines["start_line"].as_u64().unwrap() as usize <= line.max(1));
    assert!(
        lines["lines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l.as_str().unwrap().starts_with(&format!("{line}: ")))
    );

    let code = first["code"].as_str().unwrap();
    let rule = ok(&call(&client, "explain_rule", json!({"code": code})).await);
    assert_eq!(rule["code"], code);
    let by_code = ok(&call(
        &client,
        "list_findings",
        json!({"snapshot_id": id, "code": code}),
    )
    .await);
    assert!(
        by_code["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["code"] == code)
    );
    let critical_only = ok(&call(
        &client,
        "list_findings",
        json!({"snapshot_id": id, "min_severity": "critical"}),
    )
    .await);
    assert!(
        critical_only["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["severity"] == "critical")
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn bad_arguments_are_tool_errors_that_say_what_to_call() {
    let client = start().await;
    let message = tool_error(
        &call(
            &client,
            "get_snapshot_summary",
            json!({"snapshot_id": "s1_nope"}),
        )
        .await,
    );
    assert!(message.contains("list_snapshots"), "{message}");
    let message = tool_error(&call(&client, "take_snapshot", json!({"bundle": "/etc"})).await);
    assert!(message.contains("list_snapshots"), "{message}");
    let message = tool_error(&call(&client, "explain_rule", json!({"code": "XYZ999"})).await);
    assert!(message.contains("known codes"), "{message}");
    let message = tool_error(
        &call(
            &client,
            "collect_node_snapshot",
            json!({"node": "i-0123456789abcdef0"}),
        )
        .await,
    );
    assert!(message.contains("not configured"), "{message}");

    let id = take(&client, "healthy").await;
    let message = tool_error(
        &call(
            &client,
            "search_logs",
            json!({"snapshot_id": id, "pattern": "(unclosed"}),
        )
        .await,
    );
    assert!(message.contains("invalid regular expression"), "{message}");
    let message = tool_error(
        &call(
            &client,
            "search_logs",
            json!({"snapshot_id": id, "pattern": "x", "since": "yesterday"}),
        )
        .await,
    );
    assert!(message.contains("RFC 3339"), "{message}");
    let message = tool_error(
        &call(
            &client,
            "list_findings",
            json!({"snapshot_id": id, "min_severity": "urgent"}),
        )
        .await,
    );
    assert!(message.contains("critical"), "{message}");
    let message = tool_error(
        &call(
            &client,
            "list_findings",
            json!({"snapshot_id": id, "cursor": "garbage"}),
        )
        .await,
    );
    assert!(message.contains("cursor"), "{message}");
    let message = tool_error(
        &call(
            &client,
            "get_finding",
            json!({"snapshot_id": id, "finding_id": "f1_nope"}),
        )
        .await,
    );
    assert!(message.contains("list_findings"), "{message}");
    let message = tool_error(
        &call(
            &client,
            "query_iptables",
            json!({"snapshot_id": id, "address": "not-an-ip"}),
        )
        .await,
    );
    assert!(message.contains("IP address"), "{message}");
    let message = tool_error(
        &call(
            &client,
            "read_artifact_lines",
            json!({"snapshot_id": id, "artifact": "../../etc/passwd"}),
        )
        .await,
    );
    assert!(message.contains("get_snapshot_summary"), "{message}");

    // A missing required argument is a protocol error (the request cannot
    // be processed at all).
    let missing = client
        .call_tool(CallToolRequestParams::new("get_finding").with_arguments(serde_json::Map::new()))
        .await;
    assert!(missing.is_err() || missing.unwrap().is_error == Some(true));
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn iptables_rules_and_kube_services() {
    let client = start().await;
    let id = take(&client, "dns-no-endpoints").await;
    let without = ok(&call(
        &client,
        "query_iptables",
        json!({"snapshot_id": id, "view": "kube_services", "without_endpoints": true}),
    )
    .await);
    let services = without["services"].as_array().unwrap();
    assert!(
        services
            .iter()
            .any(|s| s["namespace"] == "kube-system" && s["name"] == "kube-dns"),
        "{services:?}"
    );

    let dns = ok(&call(
        &client,
        "query_iptables",
        json!({"snapshot_id": id, "view": "kube_services", "service": "kube-system/kube-dns"}),
    )
    .await);
    assert!(!dns["services"].as_array().unwrap().is_empty());

    let rejects = ok(&call(
        &client,
        "query_iptables",
        json!({"snapshot_id": id, "table": "filter", "target": "reject", "comment": "kube-dns"}),
    )
    .await);
    let rules = rejects["rules"].as_array().unwrap();
    assert!(!rules.is_empty());
    assert!(
        rules
            .iter()
            .all(|r| r["table"] == "filter" && r["text"].as_str().unwrap().contains("REJECT"))
    );
    assert!(
        rules[0]["ref"]
            .as_str()
            .unwrap()
            .starts_with("networking/iptables-save.txt:")
    );

    // Address by CIDR containment and port through ranges.
    let by_address = ok(&call(
        &client,
        "query_iptables",
        json!({"snapshot_id": id, "address": "172.20.0.10", "port": 53}),
    )
    .await);
    let rules = by_address["rules"].as_array().unwrap();
    assert!(!rules.is_empty());
    assert!(
        rules
            .iter()
            .all(|r| r["text"].as_str().unwrap().contains("53"))
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn conntrack_filters_and_aggregates() {
    let client = start().await;
    let id = take(&client, "conntrack-exhaustion").await;
    let all = ok(&call(
        &client,
        "query_conntrack",
        json!({"snapshot_id": id, "limit": 5}),
    )
    .await);
    assert!(all["table_entries"].as_u64().unwrap() > 0);
    assert!(!all["by_protocol"].as_object().unwrap().is_empty());
    assert_eq!(
        all["entries"].as_array().unwrap().len().min(5),
        all["page"]["returned"].as_u64().unwrap() as usize
    );
    let unreplied = ok(&call(
        &client,
        "query_conntrack",
        json!({"snapshot_id": id, "unreplied": true, "limit": 500}),
    )
    .await);
    assert!(
        unreplied["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["text"].as_str().unwrap().contains("UNREPLIED"))
    );
    assert_eq!(
        unreplied["page"]["total"].as_u64().unwrap(),
        all["unreplied"].as_u64().unwrap()
    );
    let tcp = ok(&call(
        &client,
        "query_conntrack",
        json!({"snapshot_id": id, "protocol": "tcp", "state": "established", "limit": 3}),
    )
    .await);
    for entry in tcp["entries"].as_array().unwrap() {
        let text = entry["text"].as_str().unwrap();
        assert!(
            text.starts_with("tcp") && text.contains("ESTABLISHED"),
            "{text}"
        );
    }
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn search_logs_with_sources_and_time_window() {
    let client = start().await;
    let id = take(&client, "memory-pressure").await;
    let hits = ok(&call(
        &client,
        "search_logs",
        json!({"snapshot_id": id, "pattern": "(?i)out of memory|oom", "sources": ["kernel"]}),
    )
    .await);
    let entries = hits["entries"].as_array().unwrap();
    assert!(!entries.is_empty());
    assert!(entries.iter().all(|e| e["source"] == "kernel"));
    let reference = entries[0]["ref"].as_str().unwrap();
    assert!(reference.starts_with("kernel/"), "{reference}");

    // A window that ends before the first hit's time excludes it.
    let time = entries[0]["time"].as_str().unwrap().to_owned();
    let before = ok(&call(
        &client,
        "search_logs",
        json!({"snapshot_id": id, "pattern": "(?i)out of memory|oom", "sources": ["kernel"], "until": "2000-01-01T00:00:00Z"}),
    )
    .await);
    assert_eq!(before["page"]["total"], 0);
    let window = ok(&call(
        &client,
        "search_logs",
        json!({"snapshot_id": id, "pattern": "(?i)out of memory|oom", "sources": ["kernel"], "since": time, "until": time}),
    )
    .await);
    assert!(window["page"]["total"].as_u64().unwrap() >= 1);

    let journal = ok(&call(
        &client,
        "search_logs",
        json!({"snapshot_id": id, "pattern": "kubelet", "sources": ["journal"], "limit": 3}),
    )
    .await);
    assert!(
        journal["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["source"] == "journal")
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn pagination_walks_every_item_once_within_budget() {
    // A small budget forces budget cuts as well as limit cuts.
    let client = start_with(
        Sources {
            bundle_dirs: vec![bundles_dir()],
            ..Sources::default()
        },
        2048,
        8,
    )
    .await;
    let id = take(&client, "conntrack-exhaustion").await;
    let mut cursor: Option<String> = None;
    let mut seen = Vec::new();
    let mut total = None;
    let mut any_truncated = false;
    for _ in 0..10_000 {
        let mut args = json!({"snapshot_id": id, "limit": 40});
        if let Some(cursor) = &cursor {
            args["cursor"] = json!(cursor);
        }
        let page = ok(&call(&client, "query_conntrack", args).await);
        total = page["page"]["total"].as_u64();
        any_truncated |= page["page"]["truncated"] == true;
        let text = serde_json::to_string(&page["entries"]).unwrap();
        assert!(
            page["page"]["returned"] == 1 || text.len() <= 2048,
            "page over budget"
        );
        seen.extend(
            page["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["ref"].as_str().unwrap().to_owned()),
        );
        match page["page"]["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert!(any_truncated, "the small budget cut at least one page");
    assert_eq!(seen.len() as u64, total.unwrap());
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "no entry twice");

    // A cursor with other filters is refused.
    let first = ok(&call(
        &client,
        "query_conntrack",
        json!({"snapshot_id": id, "limit": 2}),
    )
    .await);
    let cursor = first["page"]["next_cursor"].as_str().unwrap();
    let message = tool_error(
        &call(
            &client,
            "query_conntrack",
            json!({"snapshot_id": id, "limit": 2, "protocol": "udp", "cursor": cursor}),
        )
        .await,
    );
    assert!(message.contains("other arguments"), "{message}");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn resources_and_templates() {
    let client = start().await;
    let id = take(&client, "healthy").await;
    let templates = client.list_all_resource_templates().await.unwrap();
    let uris: Vec<&str> = templates.iter().map(|t| t.uri_template.as_str()).collect();
    assert!(
        uris.contains(&"eks-node-diag://snapshots/{id}/artifacts/{path}"),
        "{uris:?}"
    );
    assert!(uris.contains(&"eks-node-diag://snapshots/{id}/report"));

    let resources = client.list_all_resources().await.unwrap();
    let report_uri = format!("eks-node-diag://snapshots/{id}/report");
    assert!(resources.iter().any(|r| r.uri == report_uri));
    let report = client
        .read_resource(ReadResourceRequestParams::new(report_uri.clone()))
        .await
        .unwrap();
    let text = serde_json::to_value(&report.contents[0]).unwrap();
    let report: Value = serde_json::from_str(text["text"].as_str().unwrap()).unwrap();
    assert_eq!(report["snapshot_id"], id.as_str());

    let artifact_uri = format!("eks-node-diag://snapshots/{id}/artifacts/system/instance-id.txt");
    assert!(resources.iter().any(|r| r.uri == artifact_uri));
    let artifact = client
        .read_resource(ReadResourceRequestParams::new(artifact_uri))
        .await
        .unwrap();
    let text = serde_json::to_value(&artifact.contents[0]).unwrap();
    assert!(
        text["text"]
            .as_str()
            .unwrap()
            .starts_with("i-0a1b2c3d4e5f60718")
    );

    let missing = client
        .read_resource(ReadResourceRequestParams::new(format!(
            "eks-node-diag://snapshots/{id}/artifacts/nope.txt"
        )))
        .await;
    assert!(missing.is_err());
    let unknown = client
        .read_resource(ReadResourceRequestParams::new(
            "eks-node-diag://snapshots/s1_unknown/report",
        ))
        .await;
    assert!(unknown.is_err());
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn prompts_name_the_tools_to_chain() {
    let client = start().await;
    let prompts = client.list_all_prompts().await.unwrap();
    let names: Vec<&str> = prompts.iter().map(|p| p.name.as_str()).collect();
    for expected in [
        "investigate_dns_failures",
        "investigate_node_not_ready",
        "investigate_pod_network",
        "investigate_memory_pressure",
    ] {
        assert!(names.contains(&expected), "{names:?}");
        let prompt = client
            .get_prompt(GetPromptRequestParams::new(expected))
            .await
            .unwrap();
        let text = serde_json::to_string(&prompt.messages).unwrap();
        for tool in [
            "list_snapshots",
            "take_snapshot",
            "list_findings",
            "search_logs",
        ] {
            assert!(text.contains(tool), "{expected} does not name {tool}");
        }
    }
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn hundred_concurrent_calls_parse_once() {
    let client = Arc::new(start().await);
    let mut tasks = Vec::new();
    for i in 0..100 {
        let client = Arc::clone(&client);
        tasks.push(tokio::spawn(async move {
            match i % 4 {
                0 => ok(&call(&client, "take_snapshot", json!({"bundle": "dns-no-endpoints"})).await)["snapshot_id"].clone(),
                1 => ok(&call(&client, "list_snapshots", json!({})).await)["aws_collection_enabled"].clone(),
                2 => ok(&call(&client, "take_snapshot", json!({"bundle": "healthy"})).await)["snapshot_id"].clone(),
                _ => ok(&call(&client, "explain_rule", json!({"code": "CTK001"})).await)["code"].clone(),
            }
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap());
    }
    let dns: Vec<&Value> = ids.iter().step_by(4).collect();
    assert!(
        dns.windows(2).all(|w| w[0] == w[1]),
        "one id for one bundle"
    );
}

#[tokio::test]
async fn evicted_and_persisted_ids_resolve_again() {
    let store = tempfile::tempdir().unwrap();
    let sources = Sources {
        bundle_dirs: vec![bundles_dir()],
        store_dir: Some(store.path().to_path_buf()),
        ..Sources::default()
    };
    // Capacity 1: taking a second bundle evicts the first.
    let client = start_with(sources.clone(), 32 * 1024, 1).await;
    let healthy = take(&client, "healthy").await;
    let _dns = take(&client, "dns-no-endpoints").await;
    let summary = ok(&call(
        &client,
        "get_snapshot_summary",
        json!({"snapshot_id": healthy}),
    )
    .await);
    assert_eq!(summary["snapshot_id"], healthy.as_str());
    client.cancel().await.unwrap();

    // A new server over the same store directory resolves the id without a
    // take_snapshot.
    let restarted = start_with(sources, 32 * 1024, 4).await;
    let summary = ok(&call(
        &restarted,
        "get_snapshot_summary",
        json!({"snapshot_id": healthy}),
    )
    .await);
    assert_eq!(summary["snapshot_id"], healthy.as_str());
    restarted.cancel().await.unwrap();
}

#[tokio::test]
async fn trace_compare_and_timeline_chain_from_snapshot_ids() {
    let client = start().await;
    let failing = take(&client, "dns-no-endpoints").await;
    let good = take(&client, "healthy").await;

    let trace = ok(&call(
        &client,
        "trace_packet",
        json!({"snapshot_id": failing, "dst": "172.20.0.10", "dport": 53, "protocol": "udp",
               "src": "10.0.70.200", "in_iface": "eni5e6f7a8b9c0"}),
    )
    .await);
    let text = trace["text"].as_str().unwrap();
    assert!(
        text.contains("has no endpoints") && text.contains("REJECT"),
        "{text}"
    );
    assert_eq!(trace["snapshot_id"], failing.as_str());

    let error = tool_error(
        &call(
            &client,
            "trace_packet",
            json!({"snapshot_id": failing, "dst": "kube-dns", "dport": 53, "protocol": "udp"}),
        )
        .await,
    );
    assert!(error.contains("not an IP address"), "{error}");

    let comparison = ok(&call(
        &client,
        "compare_snapshots",
        json!({"snapshot_id": failing, "known_good_snapshot_id": good}),
    )
    .await);
    let top = &comparison["result"]["top"][0];
    assert!(
        top.to_string().contains("kube-system/kube-dns:dns"),
        "{comparison}"
    );

    let timeline = ok(&call(&client, "build_timeline", json!({"snapshot_id": failing})).await);
    assert_eq!(timeline["result"]["window"], "the hour before collection");
    let error = tool_error(
        &call(
            &client,
            "build_timeline",
            json!({"snapshot_id": failing, "incident_time": "2025-11-22T03:00:00Z", "start": "2025-11-22T02:00:00Z"}),
        )
        .await,
    );
    assert!(error.contains("either incident_time"), "{error}");
    client.cancel().await.unwrap();
}

/// A large artifact is released after the parse and read again from the
/// bundle for `read_artifact_lines` and resources; a bundle changed on disk
/// since the load is refused, not shown.
#[tokio::test]
async fn released_artifacts_read_again_from_the_bundle() {
    let scratch = tempfile::tempdir().unwrap();
    let name = "eks_i-0123456789abcdef0_2025-11-20_0930-UTC_0.7.9";
    let root = scratch.path().join(name);
    let flow = "ipv4     2 tcp      6 431999 ESTABLISHED src=10.0.1.23 dst=10.0.2.44 sport=43512 dport=443 src=10.0.2.44 dst=10.0.1.23 sport=443 dport=43512 [ASSURED] mark=0 zone=0 use=2\n";
    let table = flow.repeat((node_bundle::KEEP_BELOW as usize) / flow.len() + 100);
    let conntrack = root.join("networking/conntrack.txt");
    std::fs::create_dir_all(conntrack.parent().unwrap()).unwrap();
    std::fs::write(&conntrack, &table).unwrap();
    std::fs::create_dir_all(root.join("system")).unwrap();
    std::fs::write(root.join("system/instance-id.txt"), "i-0123456789abcdef0\n").unwrap();

    let client = start_with(
        Sources {
            bundle_dirs: vec![scratch.path().to_owned()],
            ..Sources::default()
        },
        mcp_server::server::DEFAULT_BUDGET,
        8,
    )
    .await;
    let id = take(&client, name).await;
    let lines = ok(&call(
        &client,
        "read_artifact_lines",
        json!({"snapshot_id": id, "artifact": "networking/conntrack.txt:5000"}),
    )
    .await);
    assert_eq!(lines["total_lines"], table.lines().count());
    let shown = lines["lines"].as_array().unwrap();
    assert!(
        shown
            .iter()
            .any(|l| l.as_str().unwrap() == format!("5000: {}", flow.trim_end())),
        "{shown:?}"
    );
    let resource = client
        .read_resource(ReadResourceRequestParams::new(format!(
            "eks-node-diag://snapshots/{id}/artifacts/networking/conntrack.txt"
        )))
        .await
        .unwrap();
    assert!(format!("{resource:?}").contains("ESTABLISHED src=10.0.1.23"));

    std::fs::write(&conntrack, table.replace("43512", "43513")).unwrap();
    let error = tool_error(
        &call(
            &client,
            "read_artifact_lines",
            json!({"snapshot_id": id, "artifact": "networking/conntrack.txt:5000"}),
        )
        .await,
    );
    assert!(
        error.contains("changed since the bundle was read"),
        "{error}"
    );

    // The bundle gone from disk: an error that names no server path.
    std::fs::remove_dir_all(&root).unwrap();
    let error = tool_error(
        &call(
            &client,
            "read_artifact_lines",
            json!({"snapshot_id": id, "artifact": "networking/conntrack.txt:5000"}),
        )
        .await,
    );
    assert!(error.contains("could not be read again"), "{error}");
    let scratch_path = scratch.path().to_string_lossy().into_owned();
    assert!(!error.contains(&scratch_path), "{error}");
    client.cancel().await.unwrap();
}
