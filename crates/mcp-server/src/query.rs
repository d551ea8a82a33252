//! Tool bodies over a loaded snapshot: filter the library's query surfaces
//! (the iptables ruleset and its `KubeView`, the conntrack table and its
//! indexes, the log models) and convert to DTOs. Matching logic (CIDR
//! containment, port ranges, aggregates) lives in `node-artifacts`; this
//! module only chooses, converts and pages.

use std::net::IpAddr;

use node_artifacts::iptables::kube::Service;
use node_artifacts::iptables::{Rule, Ruleset};
use node_artifacts::layout::CoverageStatus;
use node_artifacts::shared::FileBytes;
use node_artifacts::time::Timestamp;
use regex::RegexBuilder;
use serde_json::Value;

use crate::dto::*;
use crate::page::{paginate, paginate_with};
use crate::state::Loaded;

/// Longest message text a log entry returns.
const MAX_TEXT_CHARS: usize = 1_000;

fn to_value<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn clamp(limit: Option<usize>, default: usize, max: usize) -> usize {
    limit.unwrap_or(default).clamp(1, max)
}

fn parse_ip(text: &str) -> Result<IpAddr, String> {
    let text = text.trim();
    let host = text.split('/').next().unwrap_or(text);
    host.parse().map_err(|_| {
        format!("`{text}` is not an IP address; pass one such as 10.0.1.23 or fd00::1")
    })
}

fn ipv6(family: Option<&str>) -> Result<bool, String> {
    match family.map(str::trim) {
        None | Some("") | Some("ipv4") | Some("v4") | Some("4") => Ok(false),
        Some("ipv6") | Some("v6") | Some("6") => Ok(true),
        Some(other) => Err(format!("unknown family `{other}`; use ipv4 or ipv6")),
    }
}

/// get_snapshot_summary.
pub fn summary(loaded: &Loaded) -> SnapshotSummary {
    let snapshot = &loaded.snapshot;
    let artifacts = snapshot
        .coverage
        .files
        .iter()
        .map(|row| {
            let (lines, unparsed_lines, parser) = match &row.status {
                CoverageStatus::Parsed {
                    parser,
                    lines,
                    unparsed_lines,
                } => (*lines, *unparsed_lines, Some(parser.clone())),
                _ => (loaded.files.lines(&row.path).unwrap_or(0), 0, None),
            };
            ArtifactItem {
                path: row.path.clone(),
                kind: row.kind.name().to_owned(),
                bytes: row.bytes,
                lines,
                unparsed_lines,
                parser,
            }
        })
        .collect();
    let mut by_severity = serde_json::Map::new();
    for count in &loaded.report.counts {
        by_severity.insert(count.severity.to_string(), count.count.into());
    }
    SnapshotSummary {
        snapshot_id: snapshot.id.clone(),
        metadata: to_value(&snapshot.metadata),
        coverage_totals: to_value(&snapshot.coverage.totals),
        artifacts,
        failures: to_value(&snapshot.failures),
        rules_not_evaluated: to_value(&loaded.report.not_evaluated),
        rules_evaluated: loaded.report.rules_evaluated,
        findings_by_severity: Value::Object(by_severity),
        kube_services: loaded.snapshot.kube_view().map(|kube| KubeCounts {
            services: kube.services().count(),
            without_endpoints: kube.services_without_endpoints().count(),
        }),
        conntrack_entries: snapshot
            .conntrack
            .as_ref()
            .map(|dump| dump.value.table.len()),
    }
}

/// explain_rule.
pub fn explain(code: &str) -> Result<RuleExplanation, String> {
    let rule = findings::codes::by_code(code)
        .or_else(|| findings::codes::by_name(&code.to_ascii_lowercase()))
        .ok_or_else(|| {
            let codes: Vec<&str> = findings::codes::all()
                .iter()
                .map(|rule| rule.meta.code)
                .collect();
            format!("unknown rule `{code}`; known codes: {}", codes.join(", "))
        })?;
    Ok(RuleExplanation {
        code: rule.meta.code.to_owned(),
        name: rule.meta.kebab_name(),
        group: rule.meta.group.to_string(),
        default_severity: rule.meta.default_severity.to_string(),
        needs: rule
            .needs
            .iter()
            .map(|need| need.name().to_owned())
            .collect(),
        doc: rule.meta.doc.to_owned(),
    })
}

fn rule_target_is(rule: &Rule, target: &str) -> bool {
    let text = rule.text();
    let mut tokens = text.split_whitespace();
    while let Some(token) = tokens.next() {
        if matches!(token, "-j" | "-g" | "--jump" | "--goto") {
            return tokens
                .next()
                .is_some_and(|t| t.eq_ignore_ascii_case(target));
        }
    }
    false
}

fn rule_has_address(rule: &Rule, addr: IpAddr) -> bool {
    [rule.source(), rule.destination()]
        .into_iter()
        .flatten()
        .any(|net| !net.negated && net.value.contains(addr))
}

fn rule_has_port(rule: &Rule, port: u16) -> bool {
    [rule.dports(), rule.sports()]
        .iter()
        .any(|filter| filter.is_constrained() && filter.matches_port(port))
}

/// query_iptables.
pub fn iptables(
    loaded: &Loaded,
    params: &QueryIptablesParams,
    budget: usize,
) -> Result<IptablesPage, String> {
    let v6 = ipv6(params.family.as_deref())?;
    let artifact = if v6 {
        &loaded.snapshot.ip6tables
    } else {
        &loaded.snapshot.iptables
    };
    let Some(artifact) = artifact else {
        return Err(format!(
            "snapshot {} has no {} ruleset; get_snapshot_summary lists the artifacts it has",
            loaded.snapshot.id,
            if v6 {
                "ip6tables-save"
            } else {
                "iptables-save"
            }
        ));
    };
    let address = params.address.as_deref().map(parse_ip).transpose()?;
    let view = params.view.as_deref().map(str::trim).unwrap_or("rules");
    let key = format!(
        "query_iptables|{}|{view}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
        loaded.snapshot.id,
        params.family,
        params.table,
        params.chain,
        params.target,
        params.address,
        params.port,
        params.comment,
        params.service,
        params.without_endpoints
    );
    let limit = clamp(params.limit, 50, 500);
    match view {
        "rules" => {
            let rules = matching_rules(&artifact.value, &artifact.path, params, address);
            let (rules, page) = paginate(&rules, params.cursor.as_deref(), &key, limit, budget)
                .map_err(|bad| bad.0.to_owned())?;
            Ok(IptablesPage {
                snapshot_id: loaded.snapshot.id.clone(),
                artifact: artifact.path.clone(),
                view: view.to_owned(),
                rules,
                services: Vec::new(),
                page,
            })
        }
        "kube_services" => {
            if v6 {
                return Err(
                    "the kube_services view covers the IPv4 ruleset; drop `family`".to_owned(),
                );
            }
            let Some(kube) = loaded.snapshot.kube_view() else {
                return Err("no iptables ruleset to build the service view from".to_owned());
            };
            let wanted = params.service.as_deref().map(str::trim);
            let candidates: Box<dyn Iterator<Item = &Service>> =
                if params.without_endpoints == Some(true) {
                    Box::new(kube.services_without_endpoints())
                } else {
                    Box::new(kube.services())
                };
            let services: Vec<Value> = candidates
                .filter(|service| {
                    wanted.is_none_or(|wanted| {
                        let base = format!("{}/{}", service.namespace, service.name);
                        wanted == base || wanted == service.key() || wanted == service.name
                    })
                })
                .filter(|service| {
                    address.is_none_or(|addr| {
                        service.cluster_ip == Some(addr)
                            || service.endpoints.iter().any(|e| e.address == Some(addr))
                    })
                })
                .filter(|service| {
                    params.port.is_none_or(|port| {
                        service.port == Some(port)
                            || service.endpoints.iter().any(|e| e.port == Some(port))
                    })
                })
                .map(|service| {
                    let mut value = to_value(service);
                    if let Value::Object(map) = &mut value {
                        map.insert("key".to_owned(), Value::String(service.key()));
                        map.insert(
                            "ref_artifact".to_owned(),
                            Value::String(artifact.path.clone()),
                        );
                    }
                    value
                })
                .collect();
            if services.is_empty()
                && let Some(wanted) = wanted
                && params.cursor.is_none()
            {
                return Err(format!(
                    "no service `{wanted}` in kube-proxy's rules; call query_iptables with view=kube_services and no `service` to list them (keys look like namespace/name:port-name)"
                ));
            }
            let (services, page) =
                paginate(&services, params.cursor.as_deref(), &key, limit, budget)
                    .map_err(|bad| bad.0.to_owned())?;
            Ok(IptablesPage {
                snapshot_id: loaded.snapshot.id.clone(),
                artifact: artifact.path.clone(),
                view: view.to_owned(),
                rules: Vec::new(),
                services,
                page,
            })
        }
        other => Err(format!(
            "unknown view `{other}`; use rules or kube_services"
        )),
    }
}

fn matching_rules(
    ruleset: &Ruleset,
    path: &str,
    params: &QueryIptablesParams,
    address: Option<IpAddr>,
) -> Vec<IptablesRuleItem> {
    let table = params.table.as_deref().map(str::trim);
    let chain = params.chain.as_deref().map(str::trim);
    let target = params.target.as_deref().map(str::trim);
    let comment = params
        .comment
        .as_deref()
        .map(|c| c.trim().to_ascii_lowercase());
    ruleset
        .rules()
        .filter(|(block, _)| table.is_none_or(|t| block.table.name().eq_ignore_ascii_case(t)))
        .filter(|(_, rule)| chain.is_none_or(|c| rule.chain.as_str() == c))
        .filter(|(_, rule)| target.is_none_or(|t| rule_target_is(rule, t)))
        .filter(|(_, rule)| address.is_none_or(|a| rule_has_address(rule, a)))
        .filter(|(_, rule)| params.port.is_none_or(|p| rule_has_port(rule, p)))
        .filter(|(_, rule)| {
            comment.as_deref().is_none_or(|c| {
                rule.comment()
                    .is_some_and(|text| text.to_ascii_lowercase().contains(c))
            })
        })
        .map(|(block, rule)| IptablesRuleItem {
            reference: format!("{path}:{}", rule.line),
            table: block.table.name().to_owned(),
            chain: rule.chain.as_str().to_owned(),
            counters: rule.counters.as_ref().map(to_value),
            text: rule.text().into_owned(),
        })
        .collect()
}

/// query_conntrack.
pub fn conntrack(
    loaded: &Loaded,
    params: &QueryConntrackParams,
    budget: usize,
) -> Result<ConntrackPage, String> {
    let v6 = ipv6(params.family.as_deref())?;
    let artifact = if v6 {
        &loaded.snapshot.conntrack6
    } else {
        &loaded.snapshot.conntrack
    };
    let Some(artifact) = artifact else {
        return Err(format!(
            "snapshot {} has no {} artifact; get_snapshot_summary lists the artifacts it has",
            loaded.snapshot.id,
            if v6 { "conntrack6" } else { "conntrack" }
        ));
    };
    let table = &artifact.value.table;
    let address = params.address.as_deref().map(parse_ip).transpose()?;
    let protocol = params
        .protocol
        .as_deref()
        .map(|p| p.trim().to_ascii_lowercase());
    let state = params
        .state
        .as_deref()
        .map(|s| s.trim().to_ascii_uppercase());
    let matching: Vec<&node_artifacts::conntrack::Entry> = table
        .entries
        .iter()
        .filter(|entry| {
            address.is_none_or(|a| {
                [
                    entry.original.src,
                    entry.original.dst,
                    entry.reply.src,
                    entry.reply.dst,
                ]
                .contains(&a)
            })
        })
        .filter(|entry| {
            params.port.is_none_or(|port| {
                [entry.original, entry.reply]
                    .iter()
                    .any(|tuple| match tuple.l4 {
                        node_artifacts::conntrack::L4::Ports { sport, dport } => {
                            sport == port || dport == port
                        }
                        _ => false,
                    })
            })
        })
        .filter(|entry| {
            protocol
                .as_deref()
                .is_none_or(|p| entry.protocol.to_string().eq_ignore_ascii_case(p))
        })
        .filter(|entry| {
            state.as_deref().is_none_or(|s| {
                entry
                    .state
                    .as_ref()
                    .is_some_and(|state| state.to_string().eq_ignore_ascii_case(s))
            })
        })
        .filter(|entry| params.unreplied.is_none_or(|u| entry.flags.unreplied == u))
        .collect();
    let key = format!(
        "query_conntrack|{}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
        loaded.snapshot.id,
        params.family,
        params.address,
        params.port,
        protocol,
        state,
        params.unreplied
    );
    let (entries, page) = paginate_with(
        matching.len(),
        params.cursor.as_deref(),
        &key,
        clamp(params.limit, 50, 500),
        budget,
        |index| ConntrackItem {
            reference: format!("{}:{}", artifact.path, matching[index].line),
            text: matching[index].to_string(),
        },
    )
    .map_err(|bad| bad.0.to_owned())?;
    let by_protocol: serde_json::Map<String, Value> = table
        .counts_by_protocol()
        .iter()
        .map(|(protocol, count)| (protocol.to_string(), (*count).into()))
        .collect();
    let by_state: serde_json::Map<String, Value> = table
        .counts_by_state()
        .iter()
        .map(|(state, count)| (state.to_string(), (*count).into()))
        .collect();
    let top: Vec<Value> = table
        .top_destinations(10)
        .iter()
        .map(|(endpoint, count)| serde_json::json!({"destination": endpoint.to_string(), "flows": count}))
        .collect();
    let statistics = artifact.value.stats.as_ref().map(|stats| {
        Value::Object(
            stats
                .totals
                .iter()
                .map(|(name, value)| (name.clone(), (*value).into()))
                .collect(),
        )
    });
    Ok(ConntrackPage {
        snapshot_id: loaded.snapshot.id.clone(),
        artifact: artifact.path.clone(),
        table_entries: table.len(),
        by_protocol: Value::Object(by_protocol),
        by_state: Value::Object(by_state),
        unreplied: table.unreplied_count(),
        top_destinations: Value::Array(top),
        statistics,
        entries,
        page,
    })
}

/// One searchable entry: where it is, when, and its text.
struct LogLine<'a> {
    line: usize,
    time: Option<Timestamp>,
    text: std::borrow::Cow<'a, str>,
}

fn parse_time(text: Option<&str>, what: &str) -> Result<Option<Timestamp>, String> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|datetime| Some(Timestamp::from_datetime(datetime)))
        .map_err(|_| {
            format!("`{what}` must be an RFC 3339 time such as 2025-11-22T03:00:00Z, not `{text}`")
        })
}

/// search_logs.
pub fn search_logs(
    loaded: &Loaded,
    params: &SearchLogsParams,
    budget: usize,
) -> Result<LogPage, String> {
    // The regex crate guarantees linear-time matching; the size limit bounds
    // the compiled program a hostile pattern can ask for.
    let regex = RegexBuilder::new(&params.pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|error| format!("invalid regular expression: {error}; fix the pattern (Rust regex syntax, no look-around or backreferences)"))?;
    let since = parse_time(params.since.as_deref(), "since")?;
    let until = parse_time(params.until.as_deref(), "until")?;
    let wanted: Vec<String> = params
        .sources
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    for source in &wanted {
        let known = ["kernel", "journal", "containers", "cni"].contains(&source.as_str())
            || loaded.files.contains(source);
        if !known {
            return Err(format!(
                "unknown log source `{source}`; use kernel, journal, containers, cni or an artifact path from get_snapshot_summary"
            ));
        }
    }
    let include = |class: &str, path: &str| {
        wanted.is_empty() || wanted.iter().any(|w| w == class || w == path)
    };

    let snapshot = &loaded.snapshot;
    let mut sources: Vec<(&'static str, &str, Vec<LogLine<'_>>)> = Vec::new();
    if let Some(kernel) = &snapshot.kernel
        && include("kernel", &kernel.log.path)
    {
        let records = &kernel.log.value.records;
        let lines = records
            .iter()
            .zip(records.messages())
            .map(|(record, message)| LogLine {
                line: record.lines.first,
                time: record.wall_time,
                text: message.into(),
            })
            .collect();
        sources.push(("kernel", &kernel.log.path, lines));
    }
    for journal in &snapshot.journals {
        if !include("journal", &journal.path) {
            continue;
        }
        // Views read the journal's compact store: nothing is materialised.
        let lines = journal
            .value
            .views()
            .map(|entry| {
                let message = entry.text().unwrap_or("");
                let text = match entry.identifier() {
                    Some(identifier) => format!("{identifier}: {message}").into(),
                    None => message.into(),
                };
                LogLine {
                    line: entry.lines().first,
                    time: entry.time().map(|t| t.at),
                    text,
                }
            })
            .collect();
        sources.push(("journal", &journal.path, lines));
    }
    for log in &snapshot.container_logs {
        if !include("containers", &log.path) {
            continue;
        }
        let lines = log
            .value
            .entries
            .iter()
            .map(|entry| LogLine {
                line: entry.line,
                time: Some(entry.time),
                text: entry.message.as_str().into(),
            })
            .collect();
        sources.push(("containers", &log.path, lines));
    }
    for log in &snapshot.cni_logs {
        if !include("cni", &log.path) {
            continue;
        }
        let lines = log
            .value
            .entries
            .iter()
            .map(|entry| {
                let mut text = format!(
                    "{} {}",
                    entry.level.as_deref().unwrap_or("-"),
                    entry.msg.as_deref().unwrap_or("")
                );
                for (key, value) in &entry.fields {
                    text.push_str(&format!(" {key}={value}"));
                }
                LogLine {
                    line: entry.line,
                    time: entry.time,
                    text: text.into(),
                }
            })
            .collect();
        sources.push(("cni", &log.path, lines));
    }

    let mut hits = Vec::new();
    for (class, path, lines) in &sources {
        for line in lines {
            if since.is_some_and(|since| line.time.is_none_or(|t| t < since))
                || until.is_some_and(|until| line.time.is_none_or(|t| t > until))
            {
                continue;
            }
            if regex.is_match(&line.text) {
                hits.push(LogItem {
                    reference: format!("{path}:{}", line.line),
                    source: (*class).to_owned(),
                    time: line.time.map(|t| t.to_string()),
                    text: truncate_chars(&line.text, MAX_TEXT_CHARS),
                });
            }
        }
    }
    let key = format!(
        "search_logs|{}|{}|{:?}|{:?}|{:?}",
        snapshot.id, params.pattern, wanted, params.since, params.until
    );
    let (entries, page) = paginate(
        &hits,
        params.cursor.as_deref(),
        &key,
        clamp(params.limit, 50, 500),
        budget,
    )
    .map_err(|bad| bad.0.to_owned())?;
    Ok(LogPage {
        snapshot_id: snapshot.id.clone(),
        searched: sources
            .iter()
            .map(|(_, path, _)| (*path).to_owned())
            .collect(),
        entries,
        page,
    })
}

fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// read_artifact_lines.
pub fn read_lines(
    loaded: &Loaded,
    params: &ReadArtifactLinesParams,
    budget: usize,
) -> Result<ArtifactLines, String> {
    const MAX_LINES: usize = 500;
    let reference = params.artifact.trim();
    let (path, anchor) = match loaded.files.contains(reference) {
        true => (reference, None),
        false => match reference.rsplit_once(':') {
            Some((path, line)) if line.parse::<usize>().is_ok() && loaded.files.contains(path) => {
                (path, line.parse::<usize>().ok())
            }
            _ => {
                return Err(format!(
                    "no artifact `{reference}` in snapshot {}; pass a path from get_snapshot_summary's artifacts or an `artifact:line` reference",
                    loaded.snapshot.id
                ));
            }
        },
    };
    let content = loaded
        .files
        .read(path)
        .map_err(|error| reread_error(path, &error))?
        .unwrap_or_else(|| FileBytes::from(&b""[..]));
    let text = String::from_utf8_lossy(content.as_bytes());
    let all: Vec<&str> = text.lines().collect();
    let total = all.len();
    let start = params
        .start_line
        .or(anchor.map(|line| line.saturating_sub(5)))
        .unwrap_or(1)
        .max(1);
    if start > total.max(1) {
        return Err(format!(
            "start_line {start} is past the end: {path} has {total} lines"
        ));
    }
    let requested_end = params.end_line.unwrap_or(start + 20);
    if requested_end < start {
        return Err(format!(
            "end_line {requested_end} is before start_line {start}"
        ));
    }
    let mut end = requested_end.min(total).min(start + MAX_LINES - 1);
    let mut truncated = end < requested_end.min(total);
    let mut lines = Vec::new();
    let mut used = 0;
    for (index, line) in all.iter().enumerate().take(end).skip(start - 1) {
        let line = format!("{}: {}", index + 1, truncate_chars(line, 4_000));
        if !lines.is_empty() && used + line.len() > budget {
            end = index;
            truncated = true;
            break;
        }
        used += line.len();
        lines.push(line);
    }
    Ok(ArtifactLines {
        snapshot_id: loaded.snapshot.id.clone(),
        artifact: path.to_owned(),
        total_lines: total,
        start_line: start,
        end_line: end.max(start),
        lines,
        truncated,
    })
}

/// What a client is told when a released artifact cannot be read again:
/// that the bundle changed (a root-relative path only), or a failure
/// without the server's paths, which go to the log.
pub fn reread_error(path: &str, error: &node_bundle::BundleError) -> String {
    tracing::warn!(error = %error, path, "an artifact could not be read again");
    match error {
        node_bundle::BundleError::Changed { .. } => error.to_string(),
        _ => format!("{path} could not be read again from the bundle (see the server log)"),
    }
}
