//! Go's `time.Duration` text (`3m10.224s`, `1h2m`, `81.203411ms`), as
//! kubelet and kube-proxy print it in their logs.

/// Parses a Go duration (`3m10.224s`, `1h2m`, `500ms`) into seconds.
pub(crate) fn go_duration_seconds(text: &str) -> Option<f64> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" | "μs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        total += number * scale;
        rest = &rest[unit_len..];
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::go_duration_seconds;

    #[track_caller]
    fn check(input: &str, expect: Option<f64>) {
        let got = go_duration_seconds(input);
        match (got, expect) {
            (Some(got), Some(expect)) => assert!((got - expect).abs() < 1e-9, "{input}: {got}"),
            (got, expect) => assert_eq!(got, expect, "{input}"),
        }
    }

    #[test]
    fn go_durations() {
        check("3m10.224s", Some(190.224));
        check("3m0s", Some(180.0));
        check("1h2m", Some(3720.0));
        check("500ms", Some(0.5));
        check("", None);
        check("3x", None);
        check("abc", None);
    }

    #[test]
    fn kube_proxy_durations() {
        check("81.203411ms", Some(0.081_203_411));
        check("1.5s", Some(1.5));
        check("2m3.5s", Some(123.5));
        check("12parsecs", None);
    }
}
