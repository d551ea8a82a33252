//! Splitting a rule line into arguments the way `iptables-restore` does.
//!
//! Arguments are separated by spaces or tabs. A `"` opens or closes a quoted
//! section (it may start mid-argument); inside quotes `\x` stands for `x`.
//! Unquoted arguments borrow from the input; only quoted ones allocate.

use std::borrow::Cow;

use memchr::{memchr, memchr3};

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
///
/// Works on bytes: the separators, `"` and `\` are ASCII, so every place the
/// loop slices at is a character boundary. A token that is one quoted
/// section without escapes (a kube-proxy comment) borrows the text between
/// its quotes; only mixed or escaped arguments allocate.
pub(crate) fn tokenize<'a>(line: &'a str, out: &mut Vec<Tok<'a>>) -> Result<(), &'static str> {
    out.clear();
    let bytes = line.as_bytes();
    let n = bytes.len();
    let mut i = 0;
    while i < n {
        while i < n && is_separator(bytes[i]) {
            i += 1;
        }
        if i == n {
            break;
        }
        let start = i;
        i += argument_end(&bytes[i..]);
        if i == n || bytes[i] != b'"' {
            out.push(Tok {
                text: Cow::Borrowed(&line[start..i]),
                quoted: false,
            });
            continue;
        }
        if i == start
            && let Some(close) = memchr(b'"', &bytes[i + 1..]).map(|at| i + 1 + at)
            && memchr(b'\\', &bytes[i + 1..close]).is_none()
            && bytes.get(close + 1).is_none_or(|&b| is_separator(b))
        {
            out.push(Tok {
                text: Cow::Borrowed(&line[i + 1..close]),
                quoted: true,
            });
            i = close + 1;
            continue;
        }
        let (text, end) = quoted_argument(line, start, i)?;
        out.push(Tok {
            text: Cow::Owned(text),
            quoted: true,
        });
        i = end;
    }
    Ok(())
}

/// Reads an argument that holds a quoted section starting at `quote`
/// (`start` is where the argument begins). Returns the argument with quotes
/// removed and escapes resolved, and the offset just past it.
fn quoted_argument(
    line: &str,
    start: usize,
    quote: usize,
) -> Result<(String, usize), &'static str> {
    let bytes = line.as_bytes();
    let mut text = String::with_capacity(line.len() - start);
    text.push_str(&line[start..quote]);
    let mut in_quote = false;
    // Start of the literal run not yet copied into `text`.
    let mut run = quote;
    let mut i = quote;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                text.push_str(&line[run..i]);
                in_quote = !in_quote;
                run = i + 1;
            }
            b'\\' if in_quote => {
                text.push_str(&line[run..i]);
                if i + 1 == bytes.len() {
                    return Err("unterminated quote");
                }
                // The escaped character (of any length) starts the next run.
                run = i + 1;
                i += 1;
            }
            b if !in_quote && is_separator(b) => break,
            _ => {}
        }
        i += 1;
    }
    if in_quote {
        return Err("unterminated quote");
    }
    text.push_str(&line[run..i]);
    Ok((text, i))
}

/// Offset of the first space, tab or `"` in `bytes` (its length if none).
///
/// Looks at eight bytes per step with the SWAR zero-byte test: a byte of
/// `word ^ SPACES` is zero exactly where `word` holds a space. The test can
/// flag a byte above a real match (a borrow), never below one, so the lowest
/// flagged byte is the first match. Half the cost of a byte loop on rules.
fn argument_end(bytes: &[u8]) -> usize {
    const fn zero_bytes(word: u64) -> u64 {
        word.wrapping_sub(0x0101_0101_0101_0101) & !word & 0x8080_8080_8080_8080
    }
    const SPACES: u64 = u64::from_ne_bytes([b' '; 8]);
    const TABS: u64 = u64::from_ne_bytes([b'\t'; 8]);
    const QUOTES: u64 = u64::from_ne_bytes([b'"'; 8]);
    let mut offset = 0;
    while let Some(chunk) = bytes[offset..].first_chunk::<8>() {
        let word = u64::from_le_bytes(*chunk);
        let found = zero_bytes(word ^ SPACES) | zero_bytes(word ^ TABS) | zero_bytes(word ^ QUOTES);
        if found != 0 {
            // Little-endian: the first byte is the lowest.
            return offset + (found.trailing_zeros() / 8) as usize;
        }
        offset += 8;
    }
    offset
        + bytes[offset..]
            .iter()
            .position(|&b| CLASS[usize::from(b)] & (SEPARATOR | QUOTE) != 0)
            .unwrap_or(bytes.len() - offset)
}

fn is_separator(byte: u8) -> bool {
    CLASS[usize::from(byte)] & SEPARATOR != 0
}

/// Byte classes, looked up once per byte in the splitter and printers (a
/// table load beats a chain of comparisons on the parser's hottest loops).
const CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    table[b' ' as usize] = SEPARATOR | NEEDS_QUOTES;
    table[b'\t' as usize] = SEPARATOR | NEEDS_QUOTES;
    table[b'"' as usize] = QUOTE | NEEDS_QUOTES | ESCAPED;
    table[b'\\' as usize] = NEEDS_QUOTES | ESCAPED;
    table[b'\'' as usize] = NEEDS_QUOTES | ESCAPED;
    let mut b = 0;
    while b < 256 {
        if (b as u8).is_ascii_alphanumeric() || b == b'_' as usize || b == b'-' as usize {
            table[b] |= SAVE_BARE;
        }
        b += 1;
    }
    table
};
/// Space or tab: separates arguments.
const SEPARATOR: u8 = 1;
/// `"`: opens or closes a quoted section.
const QUOTE: u8 = 2;
/// A byte that makes [`push_arg`] quote its value.
const NEEDS_QUOTES: u8 = 4;
/// A byte that [`push_save_string`] prints without quotes.
const SAVE_BARE: u8 = 8;
/// A byte that takes a backslash inside quotes.
const ESCAPED: u8 = 16;

/// Appends ` value`, quoting it only when `iptables-restore` would otherwise
/// split or misread it.
pub(crate) fn push_arg(out: &mut String, value: &str) {
    out.push(' ');
    let (any, _) = classes(value);
    let needs_quotes = value.is_empty()
        || any & NEEDS_QUOTES != 0
        || value == "!"
        || (value.starts_with('-') && value.len() > 1 && !is_numberish(value));
    if needs_quotes {
        push_quoted(out, value, any & ESCAPED != 0);
    } else {
        out.push_str(value);
    }
}

/// Appends ` value` the way `xtables_save_string` prints strings (comments,
/// log prefixes): bare when it is only `[A-Za-z0-9_-]`, else quoted with
/// `"`, `\` and `'` escaped.
pub(crate) fn push_save_string(out: &mut String, value: &str) {
    out.push(' ');
    let (any, all) = classes(value);
    // iptables-save would also print a value starting with `-` bare, which
    // iptables-restore then reads as an option; quote it so the canonical
    // form always parses back.
    let bare = !value.is_empty() && !value.starts_with('-') && all & SAVE_BARE != 0;
    if bare {
        out.push_str(value);
    } else {
        push_quoted(out, value, any & ESCAPED != 0);
    }
}

/// The classes of `value`'s bytes in one pass: those any byte has, and
/// those every byte has.
fn classes(value: &str) -> (u8, u8) {
    value.bytes().fold((0, u8::MAX), |(any, all), byte| {
        let class = CLASS[usize::from(byte)];
        (any | class, all & class)
    })
}

/// Appends `value` in double quotes; `escapes` tells whether it holds a
/// byte that needs a backslash.
fn push_quoted(out: &mut String, value: &str, escapes: bool) {
    out.push('"');
    let mut rest = value;
    if escapes {
        // The escaped characters are all ASCII, so `at` is a character boundary.
        while let Some(at) = memchr3(b'"', b'\\', b'\'', rest.as_bytes()) {
            out.push_str(&rest[..at]);
            out.push('\\');
            out.push_str(&rest[at..at + 1]);
            rest = &rest[at + 1..];
        }
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
        check(r#"--comment "abc\"#, Err("unterminated quote"));
        check(r#""a"b "c"#, Err("unterminated quote"));
        check(r#""a"b"#, Ok(&[("ab", true)]));
        check(r#""a b"	"c""#, Ok(&[("a b", true), ("c", true)]));
        check(r#""\é\\x" a\b"#, Ok(&[("é\\x", true), ("a\\b", false)]));
        check(r#"""x"#, Ok(&[("x", true)]));
        check("", Ok(&[]));
        check("   ", Ok(&[]));
    }

    /// The straightforward char-by-char splitter the byte loop replaced,
    /// kept as the oracle for [`tokenize`].
    fn reference_tokenize(line: &str) -> Result<Vec<(String, bool)>, &'static str> {
        let mut out = Vec::new();
        let mut chars = line.chars().peekable();
        loop {
            while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
            if chars.peek().is_none() {
                return Ok(out);
            }
            let mut text = String::new();
            let mut quoted = false;
            let mut in_quote = false;
            while let Some(c) = chars.next() {
                match c {
                    '"' => {
                        quoted = true;
                        in_quote = !in_quote;
                    }
                    '\\' if in_quote => text.push(chars.next().ok_or("unterminated quote")?),
                    ' ' | '\t' if !in_quote => break,
                    c => text.push(c),
                }
            }
            if in_quote {
                return Err("unterminated quote");
            }
            out.push((text, quoted));
        }
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_reference(line in r#"([ \t"\\a-]|é|-A|--x){0,24}"#) {
            let mut toks = Vec::new();
            let got = tokenize(&line, &mut toks).map(|()| {
                toks.iter().map(|t| (t.text.to_string(), t.quoted)).collect::<Vec<_>>()
            });
            proptest::prop_assert_eq!(got, reference_tokenize(&line));
        }
    }

    proptest::proptest! {
        #[test]
        fn argument_end_finds_the_first_separator(bytes in proptest::collection::vec(
            proptest::sample::select(vec![b' ', b'\t', b'"', b'a', 0x80, 0xff, 0x00, 0x21, 0x1f]),
            0..40,
        )) {
            let expect = bytes
                .iter()
                .position(|&b| matches!(b, b' ' | b'\t' | b'"'))
                .unwrap_or(bytes.len());
            proptest::prop_assert_eq!(argument_end(&bytes), expect);
        }
    }

    #[test]
    fn byte_classes() {
        for b in 0..=255u8 {
            let class = CLASS[usize::from(b)];
            assert_eq!(class & SEPARATOR != 0, b == b' ' || b == b'\t', "{b}");
            assert_eq!(class & QUOTE != 0, b == b'"', "{b}");
            assert_eq!(
                class & NEEDS_QUOTES != 0,
                matches!(b, b' ' | b'\t' | b'"' | b'\\' | b'\''),
                "{b}"
            );
            assert_eq!(
                class & ESCAPED != 0,
                matches!(b, b'"' | b'\\' | b'\''),
                "{b}"
            );
            assert_eq!(
                class & SAVE_BARE != 0,
                b.is_ascii_alphanumeric() || b == b'_' || b == b'-',
                "{b}"
            );
        }
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
