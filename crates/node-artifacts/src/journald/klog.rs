//! klog headers (kubelet and other Kubernetes components) inside `MESSAGE`.
//!
//! ```text
//! E0115 10:00:00.123456    2871 pod_workers.go:1298] "Error syncing pod, skipping" err="…" pod="kube-system/coredns-5d8f" podUID="…"
//! │└MMDD└ hh:mm:ss.uuuuuu┘ └tid┘ └ file ────────┘└line┘ └ structured: a quoted message, then key=value pairs ─────────────
//! I0115 10:00:00.123456    2871 server.go:725] Version: v1.31.2-eks-7f9249a        <- the older unstructured form
//! ```
//!
//! Grammar:
//! `klog = L MMDD " " hh ":" mm ":" ss "." uuuuuu " "+ tid " " file ":" line "]" [ " " kmsg ]`,
//! `kmsg = quoted { " " key "=" kvalue } | text`, with
//! `kvalue = quoted | "<" NL lines NL " >" | "[" … "]" | "{" … "}" | bare`.
//! When the structured form does not parse to the end of the message, the
//! whole text after `] ` is kept as an unstructured message.

use std::borrow::Cow;

use crate::journald::logfmt::{go_quoted, piece};
use crate::journald::model::{KeyValue, Klog, KlogSeverity};
use crate::journald::{Interner, clock};
use crate::shared::SharedText;

/// The header of a klog line, up to the message.
pub(super) struct Header {
    pub(super) severity: KlogSeverity,
    pub(super) month: u8,
    pub(super) day: u8,
    pub(super) time_of_day_us: u64,
    thread_id: u64,
    /// Where the source file name is in the line.
    file: (usize, usize),
    line: u32,
    /// Where the message starts.
    body_start: usize,
}

/// Reads the header of a klog line; `None` when it does not match (exactly
/// when [`parse`] gives `None`: the message after it always parses).
pub(super) fn header(bytes: &[u8]) -> Option<Header> {
    if bytes.len() < 23 {
        return None;
    }
    let severity = match bytes[0] {
        b'I' => KlogSeverity::Info,
        b'W' => KlogSeverity::Warning,
        b'E' => KlogSeverity::Error,
        b'F' => KlogSeverity::Fatal,
        _ => return None,
    };
    let month = clock::digits::<2>(&bytes[1..3])? as u8;
    let day = clock::digits::<2>(&bytes[3..5])? as u8;
    if bytes[5] != b' ' || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let (hour, minute, second) = clock::clock(&bytes[6..14])?;
    if bytes[14] != b'.' {
        return None;
    }
    let micros = clock::digits::<6>(&bytes[15..21])?;
    let mut position = 21;
    let spaces = bytes[position..]
        .iter()
        .take_while(|&&byte| byte == b' ')
        .count();
    if spaces == 0 {
        return None;
    }
    position += spaces;
    let thread_end = position + bytes[position..].iter().position(|&byte| byte == b' ')?;
    let thread_id = clock::parse_u64(&bytes[position..thread_end])?;
    position = thread_end + 1;
    let bracket = position + memchr::memchr(b']', &bytes[position..])?;
    let location = &bytes[position..bracket];
    let colon = memchr::memrchr(b':', location)?;
    let file = std::str::from_utf8(&location[..colon]).ok()?;
    if file.is_empty() || file.contains(' ') {
        return None;
    }
    let line = u32::try_from(clock::parse_u64(&location[colon + 1..])?).ok()?;
    let body_start = match bytes.get(bracket + 1) {
        None => bracket + 1,
        Some(b' ') => bracket + 2,
        Some(_) => return None,
    };
    let time_of_day_us = (u64::from(hour) * 3_600 + u64::from(minute) * 60 + u64::from(second))
        * 1_000_000
        + u64::from(micros);
    Some(Header {
        severity,
        month,
        day,
        time_of_day_us,
        thread_id,
        file: (position, position + colon),
        line,
        body_start,
    })
}

/// Parses a klog line; `None` when the header does not match. The message
/// and values are slices of `message` where there was nothing to unescape.
pub(super) fn parse(message: &SharedText, interner: &mut Interner) -> Option<Klog> {
    let header = header(message.as_bytes())?;
    let body = message.get(header.body_start..)?;
    let file = message.get(header.file.0..header.file.1)?;
    let (msg, structured, kv) = match structured(message, body, interner) {
        Some((msg, kv)) => (msg, true, kv),
        None => (message.sub(body), false, Vec::new()),
    };
    Some(Klog {
        severity: header.severity,
        month: header.month,
        day: header.day,
        time_of_day_us: header.time_of_day_us,
        at: None,
        thread_id: header.thread_id,
        file: interner.word(file),
        line: header.line,
        msg,
        structured,
        kv,
    })
}

/// The structured form: a quoted message and `key=value` pairs to the end.
fn structured(
    message: &SharedText,
    body: &str,
    interner: &mut Interner,
) -> Option<(SharedText, Vec<KeyValue>)> {
    let body = body.as_bytes();
    let (msg, mut position) = go_quoted(body, 0)?;
    let msg = piece(message, msg);
    let mut kv = Vec::new();
    while position < body.len() {
        if body[position] != b' ' {
            return None;
        }
        position += 1;
        let key_end = position
            + body[position..].iter().position(|&byte| {
                !(byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b'-' | b'/'))
            })?;
        if key_end == position || body[key_end] != b'=' {
            return None;
        }
        let key = interner.word(std::str::from_utf8(&body[position..key_end]).ok()?);
        let (value, next) = value(body, key_end + 1)?;
        kv.push(KeyValue {
            key,
            value: piece(message, value),
        });
        position = next;
    }
    Some((msg, kv))
}

/// One structured value starting at `start`.
fn value(body: &[u8], start: usize) -> Option<(Cow<'_, str>, usize)> {
    match body.get(start) {
        Some(b'"') => go_quoted(body, start),
        // klog writes multi-line strings as `key=<` NL tab-indented lines NL ` >`.
        Some(b'<') if body.get(start + 1) == Some(&b'\n') => {
            let end = start + memchr::memmem::find(&body[start..], b"\n >")?;
            let lines: Vec<&str> = std::str::from_utf8(&body[start + 2..end])
                .ok()?
                .split('\n')
                .map(|line| line.strip_prefix('\t').unwrap_or(line))
                .collect();
            Some((Cow::Owned(lines.join("\n")), end + 3))
        }
        Some(open @ (b'[' | b'{')) => {
            let close = if *open == b'[' { b']' } else { b'}' };
            let mut depth = 0usize;
            for (offset, &byte) in body[start..].iter().enumerate() {
                if byte == *open {
                    depth += 1;
                } else if byte == close {
                    depth -= 1;
                    if depth == 0 {
                        let end = start + offset + 1;
                        return Some((
                            Cow::Borrowed(std::str::from_utf8(&body[start..end]).ok()?),
                            end,
                        ));
                    }
                }
            }
            None
        }
        Some(_) => {
            let end = memchr::memchr(b' ', &body[start..]).map_or(body.len(), |i| start + i);
            Some((
                Cow::Borrowed(std::str::from_utf8(&body[start..end]).ok()?),
                end,
            ))
        }
        None => Some((Cow::Borrowed(""), start)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, expect: Option<&str>) {
        let got = parse(&SharedText::from(input), &mut Interner::default())
            .map(|klog| format!("{klog:?}"));
        assert_eq!(got.as_deref(), expect, "{input}");
    }

    #[test]
    fn klog_table() {
        check(
            r#"E0115 10:00:00.123456    2871 kubelet.go:2412] "Skipping pod synchronization" err="PLEG is not healthy: pleg was last seen active 3m10.1s ago; threshold is 3m0s""#,
            Some(
                r#"Klog { severity: Error, month: 1, day: 15, time_of_day_us: 36000123456, at: None, thread_id: 2871, file: "kubelet.go", line: 2412, msg: "Skipping pod synchronization", structured: true, kv: [KeyValue { key: "err", value: "PLEG is not healthy: pleg was last seen active 3m10.1s ago; threshold is 3m0s" }] }"#,
            ),
        );
        check(
            r#"I1231 23:59:59.000001 7 server.go:725] Version: v1.31.2-eks-7f9249a"#,
            Some(
                r#"Klog { severity: Info, month: 12, day: 31, time_of_day_us: 86399000001, at: None, thread_id: 7, file: "server.go", line: 725, msg: "Version: v1.31.2-eks-7f9249a", structured: false, kv: [] }"#,
            ),
        );
        check(
            "W0115 10:00:00.000000 7 a.go:1] \"m\" pods=[a b] n=3 cfg={x:{y:1}} text=<\n\tline one\n\tline two\n >",
            Some(
                r#"Klog { severity: Warning, month: 1, day: 15, time_of_day_us: 36000000000, at: None, thread_id: 7, file: "a.go", line: 1, msg: "m", structured: true, kv: [KeyValue { key: "pods", value: "[a b]" }, KeyValue { key: "n", value: "3" }, KeyValue { key: "cfg", value: "{x:{y:1}}" }, KeyValue { key: "text", value: "line one\nline two" }] }"#,
            ),
        );
        // A quoted start that is not the structured form stays verbatim.
        check(
            r#"I0115 10:00:00.000000 7 a.go:1] "quoted" then prose"#,
            Some(
                r#"Klog { severity: Info, month: 1, day: 15, time_of_day_us: 36000000000, at: None, thread_id: 7, file: "a.go", line: 1, msg: "\"quoted\" then prose", structured: false, kv: [] }"#,
            ),
        );
        check("E1315 10:00:00.123456 1 a.go:1] bad month", None);
        check("Error syncing pod", None);
        check("I0115 10:00:00.123456 x a.go:1] bad tid", None);
        check("I0115 10:00:00.123456 1 a.go] no line", None);
        check("I0115 10:00:00.123456 1 a.go:1]x", None);
    }
}
