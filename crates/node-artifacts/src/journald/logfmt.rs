//! logfmt messages as containerd (logrus) writes them, and the Go-quoted
//! string leaf that klog's structured pairs share.
//!
//! ```text
//! time="2025-01-15T10:00:03.512873411Z" level=error msg="PullImage \"…\" failed" error="rpc error: code = NotFound …"
//! └ RFC 3339, nanoseconds ───────────┘ └ level ┘ └ msg, Go-quoted ────────┘ └ any other pair, in order ───────┘
//! ```
//!
//! Grammar: `pair { " " pair }`, `pair = key "=" ( quoted | bare )`, where
//! `quoted` is a Go `strconv.Quote` string and `bare` runs to the next space.

use std::borrow::Cow;

use crate::journald::model::{KeyValue, Level, Logfmt};
use crate::journald::{Interner, clock};
use crate::shared::SharedText;

/// Parses a whole message as logfmt; `None` unless every token is a pair
/// and at least one of `time`, `level`, `msg` is present.
///
/// Values are slices of `message` where there was nothing to unescape.
pub(super) fn parse(message: &SharedText, interner: &mut Interner) -> Option<Logfmt> {
    let bytes = message.as_bytes();
    // Cheap screen: logrus lines carry `level=` or `msg=`.
    memchr::memmem::find(bytes, b"level=").or_else(|| memchr::memmem::find(bytes, b"msg="))?;
    let mut logfmt = Logfmt {
        time: None,
        level: None,
        msg: None,
        pairs: Vec::new(),
    };
    let mut position = 0usize;
    while position < bytes.len() {
        if bytes[position] == b' ' {
            position += 1;
            continue;
        }
        let (pair, next) = pair(message, position, interner)?;
        position = next;
        match &*pair.key {
            "time" if logfmt.time.is_none() => match clock::rfc3339(pair.value.as_bytes()) {
                Some((at, _)) => logfmt.time = Some(at),
                None => logfmt.pairs.push(pair),
            },
            "level" if logfmt.level.is_none() => logfmt.level = Some(Level::from_name(&pair.value)),
            "msg" if logfmt.msg.is_none() => logfmt.msg = Some(pair.value),
            _ => logfmt.pairs.push(pair),
        }
    }
    (logfmt.level.is_some() || logfmt.msg.is_some()).then_some(logfmt)
}

/// One `key=value` pair starting at `start`; returns it and the position
/// after it.
fn pair(message: &SharedText, start: usize, interner: &mut Interner) -> Option<(KeyValue, usize)> {
    let bytes = message.as_bytes();
    let key_end = start
        + bytes[start..]
            .iter()
            .position(|&byte| byte == b'=' || byte == b' ' || byte == b'"')?;
    if key_end == start || bytes[key_end] != b'=' {
        return None;
    }
    let key = interner.word(std::str::from_utf8(&bytes[start..key_end]).ok()?);
    let value_start = key_end + 1;
    let (value, next) = if bytes.get(value_start) == Some(&b'"') {
        go_quoted(bytes, value_start)?
    } else {
        let end =
            memchr::memchr(b' ', &bytes[value_start..]).map_or(bytes.len(), |i| value_start + i);
        (
            Cow::Borrowed(std::str::from_utf8(&bytes[value_start..end]).ok()?),
            end,
        )
    };
    let value = piece(message, value);
    Some((KeyValue { key, value }, next))
}

/// A parsed piece of `message` as shared text: a slice of it when borrowed
/// from it, its own buffer when unescaping made new text.
pub(super) fn piece(message: &SharedText, text: Cow<'_, str>) -> SharedText {
    match text {
        Cow::Borrowed(slice) => message.sub(slice),
        Cow::Owned(owned) => SharedText::from(owned),
    }
}

/// A Go-quoted string (`strconv.Quote`, also `%q`) starting at the opening
/// quote at `start`: returns the unescaped text (borrowed from `bytes` when
/// there was nothing to unescape) and the position after the closing quote.
pub(super) fn go_quoted(bytes: &[u8], start: usize) -> Option<(Cow<'_, str>, usize)> {
    if bytes.get(start) != Some(&b'"') {
        return None;
    }
    let body_start = start + 1;
    let close_or_escape = memchr::memchr2(b'"', b'\\', &bytes[body_start..])? + body_start;
    if bytes[close_or_escape] == b'"' {
        // The common case: no escapes, no copy.
        let text = std::str::from_utf8(&bytes[body_start..close_or_escape]).ok()?;
        return Some((Cow::Borrowed(text), close_or_escape + 1));
    }
    let mut out: Vec<u8> = Vec::with_capacity(close_or_escape - body_start + 16);
    out.extend_from_slice(&bytes[body_start..close_or_escape]);
    let mut position = close_or_escape;
    loop {
        let byte = *bytes.get(position)?;
        match byte {
            b'"' => break,
            b'\\' => {
                let escape = *bytes.get(position + 1)?;
                position += 2;
                match escape {
                    b'n' => out.push(b'\n'),
                    b't' => out.push(b'\t'),
                    b'r' => out.push(b'\r'),
                    b'a' => out.push(0x07),
                    b'b' => out.push(0x08),
                    b'f' => out.push(0x0c),
                    b'v' => out.push(0x0b),
                    b'\\' | b'"' | b'\'' => out.push(escape),
                    b'x' => {
                        let hex = bytes.get(position..position + 2)?;
                        out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
                        position += 2;
                    }
                    b'u' | b'U' => {
                        let width = if escape == b'u' { 4 } else { 8 };
                        let hex = bytes.get(position..position + width)?;
                        let code = u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
                        let character = char::from_u32(code)?;
                        let mut buffer = [0u8; 4];
                        out.extend_from_slice(character.encode_utf8(&mut buffer).as_bytes());
                        position += width;
                    }
                    b'0'..=b'7' => {
                        let octal = bytes.get(position - 1..position + 2)?;
                        out.push(u8::from_str_radix(std::str::from_utf8(octal).ok()?, 8).ok()?);
                        position += 2;
                    }
                    _ => return None,
                }
            }
            _ => {
                let run_end = memchr::memchr2(b'"', b'\\', &bytes[position..])? + position;
                out.extend_from_slice(&bytes[position..run_end]);
                position = run_end;
            }
        }
    }
    Some((Cow::Owned(String::from_utf8(out).ok()?), position + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_quoted(input: &str, expect: Option<(&str, usize)>) {
        let got = go_quoted(input.as_bytes(), 0);
        assert_eq!(got.as_ref().map(|(s, n)| (&**s, *n)), expect, "{input}");
    }

    #[test]
    fn go_quoted_table() {
        check_quoted(r#""plain" rest"#, Some(("plain", 7)));
        check_quoted(r#""a \"b\" \\ c\n""#, Some(("a \"b\" \\ c\n", 16)));
        check_quoted(r#""\x41\u00e9\U0001F600\101""#, Some(("Aé😀A", 26)));
        check_quoted(r#""unterminated"#, None);
        check_quoted(r#""bad \q""#, None);
        check_quoted(r#""\x4""#, None);
        check_quoted("no quote", None);
    }

    #[track_caller]
    fn check(input: &str, expect: Option<&str>) {
        let got = parse(&SharedText::from(input), &mut Interner::default())
            .map(|logfmt| format!("{logfmt:?}"));
        assert_eq!(got.as_deref(), expect, "{input}");
    }

    #[test]
    fn logfmt_table() {
        check(
            r#"time="2025-01-15T10:00:03.512873411Z" level=error msg="failed \"x\"" error="rpc error: code = NotFound""#,
            Some(
                r#"Logfmt { time: Some(Timestamp(1736935203512873)), level: Some(Error), msg: Some("failed \"x\""), pairs: [KeyValue { key: "error", value: "rpc error: code = NotFound" }] }"#,
            ),
        );
        check(
            "level=info msg=started n=3",
            Some(
                r#"Logfmt { time: None, level: Some(Info), msg: Some("started"), pairs: [KeyValue { key: "n", value: "3" }] }"#,
            ),
        );
        check(
            "time=yesterday level=warning",
            Some(
                r#"Logfmt { time: None, level: Some(Warning), msg: None, pairs: [KeyValue { key: "time", value: "yesterday" }] }"#,
            ),
        );
        check(
            "Started containerd.service - containerd container runtime.",
            None,
        );
        check("level=info but then free text", None);
        check("a=1 b=2", None);
        check(r#"level=info msg="unterminated"#, None);
    }
}
