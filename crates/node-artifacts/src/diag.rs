//! The shared shape of a parse result: a value plus diagnostics.
//!
//! Every parser in this crate returns [`Parsed<T>`]. Lines the parser did not
//! understand are kept inside the model as [`Unparsed`] (so rendering stays
//! lossless) and are also reported as [`Diagnostic`]s so a caller can count
//! and show them without walking the model.

use serde::Serialize;

/// A parsed artifact together with what the parser could not understand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Parsed<T> {
    /// The typed model.
    pub value: T,
    /// One entry per line (or record) that was not fully understood.
    pub diagnostics: Vec<Diagnostic>,
}

impl<T> Parsed<T> {
    /// Wraps a value that produced no diagnostics.
    pub fn clean(value: T) -> Self {
        Self {
            value,
            diagnostics: Vec::new(),
        }
    }

    /// Transforms the value, keeping the diagnostics.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Parsed<U> {
        Parsed {
            value: f(self.value),
            diagnostics: self.diagnostics,
        }
    }
}

/// A problem found while parsing, located by its 1-based input line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// 1-based line number in the input.
    pub line: usize,
    /// Why the line was not understood, in lowercase without a trailing period.
    pub reason: String,
}

/// An input line kept verbatim because it could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unparsed {
    /// 1-based line number in the input.
    pub line: usize,
    /// The line exactly as it appeared, without its line terminator.
    pub raw: String,
    /// Why the line was not understood.
    pub reason: String,
}

impl Unparsed {
    /// The diagnostic that reports this line.
    pub fn diagnostic(&self) -> Diagnostic {
        Diagnostic {
            line: self.line,
            reason: self.reason.clone(),
        }
    }
}

/// Iterates over the lines of `input` as `(line_no, line)` with 1-based
/// numbers, splitting on `\n` and stripping one trailing `\r`.
///
/// Unlike [`str::lines`], a final line without a terminator is yielded and an
/// input ending in `\n` does not yield an extra empty line, which is what
/// byte-exact rendering needs.
pub fn numbered_lines(input: &str) -> impl Iterator<Item = (usize, &str)> {
    let body = input.strip_suffix('\n').unwrap_or(input);
    let mut lines = if input.is_empty() {
        None
    } else {
        Some(body.split('\n'))
    };
    let mut line_no = 0usize;
    std::iter::from_fn(move || {
        let line = lines.as_mut()?.next()?;
        line_no += 1;
        Some((line_no, line.strip_suffix('\r').unwrap_or(line)))
    })
}

#[cfg(test)]
mod tests {
    use super::numbered_lines;

    #[track_caller]
    fn check(input: &str, expect: &[(usize, &str)]) {
        let got: Vec<_> = numbered_lines(input).collect();
        assert_eq!(got, expect);
    }

    #[test]
    fn numbered_lines_edges() {
        check("", &[]);
        check("\n", &[(1, "")]);
        check("a", &[(1, "a")]);
        check("a\n", &[(1, "a")]);
        check("a\r\nb", &[(1, "a"), (2, "b")]);
        check("a\n\nb\n", &[(1, "a"), (2, ""), (3, "b")]);
    }
}
