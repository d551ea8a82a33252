//! Audit: one JSON line per tool call.
//!
//! ```text
//! {"time":"2026-11-26T07:30:00.123456Z","caller":"devops-agent","caller_kind":"api_key",
//!  "tool":"list_findings","arguments":{"snapshot_id":"sha256:…","api_token":"***"},
//!  "snapshot_id":"sha256:…","duration_ms":12.5,"outcome":"ok","response_bytes":2048}
//! ```
//!
//! Argument values under a key that contains `token`, `secret`, `password` or
//! `key` (case-insensitive, at any depth) are replaced by `"***"`. Lines go to
//! the `tracing` target `audit` at INFO (message = the JSON line) unless the
//! server was given another [`AuditSink`].

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::grant::{Caller, CallerKind};

/// How a tool call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    /// The tool answered normally.
    Ok,
    /// The tool answered with a tool-level error (`isError: true`).
    ToolError,
    /// The tool answered with a JSON-RPC error.
    ProtocolError,
    /// The caller's grants do not cover the tool.
    Denied,
    /// The call exceeded the per-call timeout and was cancelled.
    Timeout,
}

/// One audit line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    /// When the line was written (RFC 3339, UTC).
    pub time: String,
    /// Key name or token subject; `null` without authentication layer.
    pub caller: Option<String>,
    /// How the caller authenticated.
    pub caller_kind: Option<CallerKind>,
    /// Tool name as requested.
    pub tool: String,
    /// Arguments with secrets redacted.
    pub arguments: Value,
    /// The `snapshot_id` argument, when present.
    pub snapshot_id: Option<String>,
    /// Wall-clock duration of the call in milliseconds.
    pub duration_ms: f64,
    /// How the call ended.
    pub outcome: AuditOutcome,
    /// Size of the serialized answer in bytes.
    pub response_bytes: usize,
}

impl AuditRecord {
    /// Builds a record, redacting secrets in `arguments`.
    pub fn new(
        caller: Option<&Caller>,
        tool: &str,
        arguments: Option<&Map<String, Value>>,
        duration: Duration,
        outcome: AuditOutcome,
        response_bytes: usize,
    ) -> Self {
        let arguments = arguments.map_or(Value::Null, |a| redact(&Value::Object(a.clone())));
        let snapshot_id = arguments
            .get("snapshot_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let time = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        Self {
            time,
            caller: caller.map(|c| c.name.clone()),
            caller_kind: caller.map(|c| c.kind),
            tool: tool.to_owned(),
            arguments,
            snapshot_id,
            duration_ms: duration.as_secs_f64() * 1000.0,
            outcome,
            response_bytes,
        }
    }

    /// The record as one JSON line (no trailing newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"audit_error\":\"{e}\"}}"))
    }
}

/// Whether an argument name looks like it carries a secret.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["token", "secret", "password", "key"]
        .iter()
        .any(|w| k.contains(w))
}

/// Replaces the values of secret-looking keys by `"***"`, at any depth.
pub fn redact(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if is_secret_key(k) {
                        Value::String("***".to_owned())
                    } else {
                        redact(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}

/// Where audit lines go.
#[derive(Clone, Default)]
pub enum AuditSink {
    /// `tracing` target `audit`, level INFO, the JSON line as message.
    #[default]
    Tracing,
    /// A function called with each JSON line (a file writer, a test buffer).
    Func(Arc<dyn Fn(&str) + Send + Sync>),
}

impl std::fmt::Debug for AuditSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Tracing => f.write_str("Tracing"),
            Self::Func(_) => f.write_str("Func(..)"),
        }
    }
}

impl AuditSink {
    /// Writes one record.
    pub fn write(&self, record: &AuditRecord) {
        let line = record.to_line();
        match self {
            Self::Tracing => tracing::info!(target: "audit", "{line}"),
            Self::Func(f) => f(&line),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redacts_secret_keys_at_any_depth() {
        let v = json!({
            "snapshot_id": "s1",
            "api_token": "t",
            "nested": {"Password": "p", "keep": 1, "list": [{"secret_ref": "x"}]},
            "primary_key": "k",
        });
        assert_eq!(
            redact(&v),
            json!({
                "snapshot_id": "s1",
                "api_token": "***",
                "nested": {"Password": "***", "keep": 1, "list": [{"secret_ref": "***"}]},
                "primary_key": "***",
            })
        );
    }

    fn json_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            any::<i64>().prop_map(Value::from),
            "[a-z0-9]{0,8}".prop_map(Value::from),
            Just(Value::Null),
        ];
        let key = prop_oneof![
            "[a-z_]{1,8}",
            Just("api_key".to_owned()),
            Just("Token".to_owned()),
            Just("db_password".to_owned())
        ];
        leaf.prop_recursive(4, 64, 6, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map(key.clone(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Every value under a secret-looking key is gone, everything else is kept.
    fn check_redacted(before: &Value, after: &Value) {
        match (before, after) {
            (Value::Object(b), Value::Object(a)) => {
                assert_eq!(b.len(), a.len());
                for (k, v) in b {
                    if is_secret_key(k) {
                        assert_eq!(a[k], Value::String("***".into()));
                    } else {
                        check_redacted(v, &a[k]);
                    }
                }
            }
            (Value::Array(b), Value::Array(a)) => {
                assert_eq!(b.len(), a.len());
                b.iter().zip(a).for_each(|(b, a)| check_redacted(b, a));
            }
            (b, a) => assert_eq!(b, a),
        }
    }

    proptest::proptest! {
        #[test]
        fn redaction_removes_exactly_the_secrets(v in json_value()) {
            check_redacted(&v, &redact(&v));
        }
    }

    #[test]
    fn record_carries_snapshot_id() {
        let args = json!({"snapshot_id": "sha256:ab", "token": "x"});
        let r = AuditRecord::new(
            None,
            "t",
            args.as_object(),
            Duration::from_millis(5),
            AuditOutcome::Ok,
            10,
        );
        assert_eq!(r.snapshot_id.as_deref(), Some("sha256:ab"));
        assert!(!r.to_line().contains("\"x\""));
    }
}
