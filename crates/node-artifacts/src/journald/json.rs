//! `journalctl -o json` / `json-pretty` / a JSON array of entries, and
//! JSON-lines application logs (VPC CNI ipamd and plugin).
//!
//! ```text
//! {"__REALTIME_TIMESTAMP":"1719834246841951","MESSAGE":[85,110,97],"COREDUMP_PROC_MOUNTINFO":null,"_PID":"3717"}
//!                                             └ bytes ──────┘                    └ too large ┘
//! {"level":"error","ts":"2025-11-20T09:01:02.123Z","caller":"ipamd/ipamd.go:123","msg":"…"}   (ipamd.log)
//! ```
//!
//! Objects are read one at a time with `serde_json`'s stream deserializer so
//! that each entry knows its input lines and a broken object costs only its
//! own lines.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use crate::diag::{Diagnostic, Parsed};
use crate::journald::model::{
    Entry, Field, Inner, JournalFormat, JsonMessage, Level, LineSpan, Message, NamedField, WallTime,
};
use crate::journald::{Draft, Interner, bytes_field, clock, lift, lines, unparsed};
use crate::time::Timestamp;

pub(super) fn parse(input: &[u8], format: JournalFormat) -> Parsed<Draft> {
    let mut journal = empty(format);
    let mut diagnostics = Vec::new();
    let mut cursor = Cursor {
        input,
        position: 0,
        line_no: 1,
    };
    let in_array = format == JournalFormat::JsonArray;
    // In `-o json` every line is an object, so a broken one costs one line;
    // in the multi-line forms the parser resynchronises at the next line
    // that opens an object.
    let one_line = format == JournalFormat::Json;
    if in_array {
        cursor.skip_whitespace();
        if cursor.peek() == Some(b'[') {
            cursor.advance(1);
        }
    }
    let mut closed = false;
    let mut interner = Interner::default();
    loop {
        cursor.skip_whitespace();
        if in_array {
            while matches!(cursor.peek(), Some(b',')) {
                cursor.advance(1);
                cursor.skip_whitespace();
            }
            if !closed && cursor.peek() == Some(b']') {
                closed = true;
                cursor.advance(1);
                continue;
            }
        }
        let Some(first) = cursor.peek() else { break };
        if first != b'{' {
            cursor.skip_broken(
                "not a JSON object",
                one_line,
                &mut journal,
                &mut diagnostics,
            );
            continue;
        }
        let rest = &input[cursor.position..];
        let mut stream = serde_json::Deserializer::from_slice(rest).into_iter::<OrderedObject>();
        match stream.next() {
            Some(Ok(object)) => {
                let consumed = stream.byte_offset();
                let first_line = cursor.line_no;
                // The span ends on the line of the closing brace.
                cursor.advance(consumed.saturating_sub(1));
                let last_line = cursor.line_no;
                cursor.advance(1);
                interner.begin_entry();
                let raw = object
                    .0
                    .into_iter()
                    .map(|(name, value)| match value {
                        Value::String(text) => interner.text_field(name.as_bytes(), &text),
                        other => NamedField {
                            name: interner.name(name.as_bytes()),
                            value: value_to_field(other),
                        },
                    })
                    .collect();
                journal.entries.push(lift(
                    raw,
                    LineSpan {
                        first: first_line,
                        last: last_line,
                    },
                    interner.repeated(),
                    &mut interner,
                ));
            }
            Some(Err(error)) => {
                let reason = format!("not a JSON object: {error}");
                cursor.skip_broken(&reason, one_line, &mut journal, &mut diagnostics);
            }
            None => break,
        }
    }
    Parsed {
        value: journal,
        diagnostics,
    }
}

pub(super) fn parse_log(input: &[u8]) -> Parsed<Draft> {
    let mut journal = empty(JournalFormat::JsonLog);
    let mut diagnostics = Vec::new();
    for (line_no, line) in lines(input) {
        let trimmed = line.trim_ascii();
        if trimmed.is_empty() {
            unparsed(
                line_no,
                line,
                "blank line",
                &mut journal.unparsed,
                &mut diagnostics,
            );
            continue;
        }
        let object = match serde_json::from_slice::<OrderedObject>(trimmed) {
            Ok(object) => object,
            Err(error) => {
                let reason = format!("not a JSON object: {error}");
                unparsed(
                    line_no,
                    line,
                    reason,
                    &mut journal.unparsed,
                    &mut diagnostics,
                );
                continue;
            }
        };
        let message = json_message(object);
        let lines = LineSpan {
            first: line_no,
            last: line_no,
        };
        let mut entry = Entry::empty(lines);
        entry.time = message.message.ts.map(|at| WallTime {
            at,
            precision: message.precision,
            year_inferred: false,
        });
        entry.message = Some(match std::str::from_utf8(line) {
            Ok(text) => Message::Text(text.into()),
            Err(_) => Message::Binary(line.to_vec()),
        });
        entry.inner = Some(Inner::Json(message.message));
        journal.entries.push(entry);
    }
    Parsed {
        value: journal,
        diagnostics,
    }
}

/// A JSON object inside a journal `MESSAGE`, when it looks like a log
/// record (has a level or a message).
pub(super) fn parse_message(message: &str) -> Option<JsonMessage> {
    let object = serde_json::from_str::<OrderedObject>(message).ok()?;
    let parsed = json_message(object).message;
    (parsed.level.is_some() || parsed.msg.is_some()).then_some(parsed)
}

fn empty(format: JournalFormat) -> Draft {
    Draft::new(format)
}

struct ParsedMessage {
    message: JsonMessage,
    precision: crate::journald::Precision,
}

fn json_message(object: OrderedObject) -> ParsedMessage {
    let mut message = JsonMessage {
        level: None,
        ts: None,
        caller: None,
        msg: None,
        fields: Vec::new(),
    };
    let mut precision = crate::journald::Precision::Second;
    for (key, value) in object.0 {
        let keep = match (key.as_str(), value) {
            ("level" | "lvl" | "severity", Value::String(level)) if message.level.is_none() => {
                message.level = Some(Level::from_name(&level));
                None
            }
            ("ts" | "time" | "timestamp", value) if message.ts.is_none() => match read_ts(&value) {
                Some((at, written)) => {
                    message.ts = Some(at);
                    precision = written;
                    None
                }
                None => Some(value),
            },
            ("caller", Value::String(caller)) if message.caller.is_none() => {
                message.caller = Some(caller);
                None
            }
            ("msg" | "message", Value::String(msg)) if message.msg.is_none() => {
                message.msg = Some(msg);
                None
            }
            (_, value) => Some(value),
        };
        if let Some(value) = keep {
            message.fields.push((key, value));
        }
    }
    ParsedMessage { message, precision }
}

/// A `ts` value: RFC 3339 text, or epoch seconds as a number (zap's default).
fn read_ts(value: &Value) -> Option<(Timestamp, crate::journald::Precision)> {
    match value {
        Value::String(text) => clock::rfc3339(text.as_bytes()),
        Value::Number(number) => {
            let seconds = number.as_f64()?;
            if !seconds.is_finite() || seconds.abs() > 1e13 {
                return None;
            }
            Some((
                Timestamp((seconds * 1e6).round() as i64),
                crate::journald::Precision::Microsecond,
            ))
        }
        _ => None,
    }
}

/// A journal JSON value as a [`Field`]: a string is text, an array of
/// numbers is bytes (text when they are clean UTF-8), any other array is a
/// repeated field, and `null` stays `null`. Numbers, booleans and objects do
/// not occur in journalctl output; they are kept as their JSON text.
fn value_to_field(value: Value) -> Field {
    match value {
        Value::String(text) => Field::Text(text.into()),
        Value::Null => Field::Null,
        Value::Array(items) => {
            let bytes: Option<Vec<u8>> = items
                .iter()
                .map(|item| item.as_u64().and_then(|n| u8::try_from(n).ok()))
                .collect();
            match bytes {
                Some(bytes) if !bytes.is_empty() => bytes_field(bytes),
                _ => Field::Array(items.into_iter().map(value_to_field).collect()),
            }
        }
        other @ (Value::Bool(_) | Value::Number(_) | Value::Object(_)) => {
            Field::Text(other.to_string().into())
        }
    }
}

/// A JSON object with its members in input order (a `serde_json::Map`
/// without `preserve_order` would sort them).
struct OrderedObject(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for OrderedObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = OrderedObject;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedObject, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(32));
                while let Some(member) = map.next_entry::<String, Value>()? {
                    members.push(member);
                }
                Ok(OrderedObject(members))
            }
        }
        deserializer.deserialize_map(ObjectVisitor)
    }
}

/// A position in the input with its 1-based line number.
struct Cursor<'a> {
    input: &'a [u8],
    position: usize,
    line_no: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.input.get(self.position).copied()
    }

    fn advance(&mut self, count: usize) {
        let end = (self.position + count).min(self.input.len());
        self.line_no += memchr::memchr_iter(b'\n', &self.input[self.position..end]).count();
        self.position = end;
    }

    fn skip_whitespace(&mut self) {
        while let Some(byte) = self.peek() {
            if !byte.is_ascii_whitespace() {
                break;
            }
            self.advance(1);
        }
    }

    /// Keeps the current line (and, unless `one_line`, every following line
    /// up to the next one that starts with `{`) as unparsed.
    fn skip_broken(
        &mut self,
        reason: &str,
        one_line: bool,
        journal: &mut Draft,
        diagnostics: &mut Vec<Diagnostic>,
    ) {
        let mut first = true;
        loop {
            let rest = &self.input[self.position..];
            if rest.is_empty() || (one_line && !first) {
                return;
            }
            if !first && rest.trim_ascii_start().first() == Some(&b'{') {
                let indent = rest.len() - rest.trim_ascii_start().len();
                let newline_in_indent = memchr::memchr(b'\n', &rest[..indent]);
                if newline_in_indent.is_none() {
                    return;
                }
            }
            let line_end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
            let line = rest[..line_end]
                .strip_suffix(b"\r")
                .unwrap_or(&rest[..line_end]);
            let why = if first {
                reason
            } else {
                "inside a broken JSON object"
            };
            unparsed(self.line_no, line, why, &mut journal.unparsed, diagnostics);
            first = false;
            self.advance(line_end + 1);
        }
    }
}
