//! Splitting a rule line into arguments the way `iptables-restore` does.
//!
//! Arguments are separated by spaces or tabs. A `"` opens or closes a quoted
//! section (it may start mid-argument); inside quotes `\x` stands for `x`.
//! Unquoted arguments borrow from the input; only quoted ones allocate.

use std::borrow::Cow;

/// One argument of a rule line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tok<'a> {
    /// The argument with quotes removed and escapes resolved.
    pub(crate) text: Cow<'a, str>,
    /// Whether any part of it was quoted (so `"-x"` or `"!"` is a value).
    pub(crate) quoted: bool,
}

impl Tok<'_> {
    /// Whether this token is an option name (`-s`, `--dport`).
    pub(crate) fn is_option(&self) -> bool {
        !self.quoted && self.text.len() > 1 && self.text.starts_with('-')
    }

    /// Whether this token is a bare `!`.
    pub(crate) fn is_bang(&self) -> bool {
        !self.quoted && self.text == "!"
    }
}

/// Splits `line` into `out` (which is cleared first).
pub(crate) fn tokenize<'a>(line: &'a str, out: &mut Vec<Tok<'a>>) -> Result<(), &'static str> {
    out.clear();
    let bytes = line.as_bytes();
    let mut i = 0;
    let n = bytes.len();
    while i < n {
        while i < n && (bytes[i] == b' ' || bytes[i] == b'\t') {
            i += 1;
        }
        if i == n {
            break;
        }
        let start = i;
        while i < n && bytes[i] != b' ' && bytes[i] != b'\t' && bytes[i] != b'"' {
            i += 1;
        }
        if i == n || bytes[i] != b'"' {
            out.push(Tok {
                text: Cow::Borrowed(&line[start..i]),
                quoted: false,
            });
            continue;
        }
        // Slow path: the argument holds a quoted section.
        let mut text = String::with_capacity(16);
        text.push_str(&line[start..i]);
        let mut in_quote = false;
        let mut rest = line[i..].char_indices();
        let mut end = n;
        while let Some((offset, c)) = rest.next() {
            match c {
                '"' => in_quote = !in_quote,
                '\\' if in_quote => match rest.next() {
                    Some((_, escaped)) => text.push(escaped),
                    None => return Err("unterminated quote"),
                },
                ' ' | '\t' if !in_quote => {
                    end = i + offset;
                    break;
                }
                c => text.push(c),
            }
        }
        if in_quote {
            return Err("unterminated quote");
        }
        out.push(Tok {
            text: Cow::Owned(text),
            quoted: true,
        });
        i = end;
    }
    Ok(())
}

/// Appends ` value`, quoting it only when `iptables-restore` would otherwise
/// split or misread it.
pub(crate) fn push_arg(out: &mut String, value: &str) {
    out.push(' ');
    let needs_quotes = value.is_empty()
        || value
            .bytes()
            .any(|b| matches!(b, b' ' | b'\t' | b'"' | b'\\' | b'\''))
        || value == "!"
        || (value.starts_with('-') && value.len() > 1 && !is_numberish(value));
    if needs_quotes {
        push_quoted(out, value);
    } else {
        out.push_str(value);
    }
}

/// Appends ` value` the way `xtables_save_string` prints strings (comments,
/// log prefixes): bare when it is only `[A-Za-z0-9_-]`, else quoted with
/// `"`, `\` and `'` escaped.
pub(crate) fn push_save_string(out: &mut String, value: &str) {
    out.push(' ');
    // iptables-save would also print a value starting with `-` bare, which
    // iptables-restore then reads as an option; quote it so the canonical
    // form always parses back.
    let bare = !value.is_empty()
        && !value.starts_with('-')
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        out.push_str(value);
    } else {
        push_quoted(out, value);
    }
}

fn push_quoted(out: &mut String, value: &str) {
    out.push('"');
    let mut rest = value;
    while let Some(at) = rest.find(['"', '\\', '\'']) {
        out.push_str(&rest[..at]);
        out.push('\\');
        // The escaped characters are all one byte long.
        out.push_str(&rest[at..at + 1]);
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
    out.push('"');
}

fn is_numberish(value: &str) -> bool {
    value[1..].bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, expect: Result<&[(&str, bool)], &str>) {
        let mut out = Vec::new();
        let got = tokenize(input, &mut out).map(|()| {
            out.iter()
                .map(|t| (t.text.to_string(), t.quoted))
                .collect::<Vec<_>>()
        });
        let expect = expect.map(|e| {
            e.iter()
                .map(|(s, q)| ((*s).to_owned(), *q))
                .collect::<Vec<_>>()
        });
        assert_eq!(got, expect);
    }

    #[test]
    fn tokenizes() {
        check(
            "-A X  -j\tY",
            Ok(&[("-A", false), ("X", false), ("-j", false), ("Y", false)]),
        );
        check(
            r#"--comment "a b""#,
            Ok(&[("--comment", false), ("a b", true)]),
        );
        check(
            r#"--comment "\"""#,
            Ok(&[("--comment", false), ("\"", true)]),
        );
        check(r#"x"y z"w"#, Ok(&[("xy zw", true)]));
        check(r#""""#, Ok(&[("", true)]));
        check(r#"--comment "abc"#, Err("unterminated quote"));
        check("", Ok(&[]));
        check("   ", Ok(&[]));
    }

    #[test]
    fn quoting() {
        let mut out = String::new();
        push_save_string(&mut out, "ns/svc:p80 cluster IP");
        push_save_string(&mut out, "abc-_9");
        push_save_string(&mut out, r#"a"b\c"#);
        push_arg(&mut out, "10.0.0.1");
        push_arg(&mut out, "a b");
        assert_eq!(
            out,
            r#" "ns/svc:p80 cluster IP" abc-_9 "a\"b\\c" 10.0.0.1 "a b""#
        );
    }
}
