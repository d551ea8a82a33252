//! Small helpers shared by the line-oriented parsers of the "extra" node
//! artifacts (sysctl, ip route, ethtool, …).

use crate::diag::{Diagnostic, Unparsed};

/// Builds an [`Unparsed`] line and records its diagnostic in `diagnostics`.
pub(crate) fn keep_unparsed(
    diagnostics: &mut Vec<Diagnostic>,
    line: usize,
    raw: &str,
    reason: impl Into<String>,
) -> Unparsed {
    let unparsed = Unparsed {
        line,
        raw: raw.to_owned(),
        reason: reason.into(),
    };
    diagnostics.push(unparsed.diagnostic());
    unparsed
}

/// Splits `s` on runs of ASCII whitespace (space and tab), without
/// allocating.
pub(crate) fn fields(s: &str) -> impl Iterator<Item = &str> {
    s.split([' ', '\t']).filter(|f| !f.is_empty())
}

/// Parses a decimal `u64` made only of ASCII digits (no sign, no spaces).
pub(crate) fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::{fields, parse_u64};

    #[test]
    fn helpers() {
        assert_eq!(fields(" a\t b  c ").collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(parse_u64("42"), Some(42));
        assert_eq!(parse_u64("+42"), None);
        assert_eq!(parse_u64(""), None);
        assert_eq!(parse_u64("18446744073709551616"), None);
    }
}
