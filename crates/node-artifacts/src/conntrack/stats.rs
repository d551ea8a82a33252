//! Leaf parsers for conntrack statistics lines.
//!
//! ```text
//! conntrack -S:                 cpu=0   \tfound=13 invalid=11258 insert=1 …
//! /proc/net/stat/nf_conntrack:  entries  searched found new … search_restart
//!                               00000021  00000000 00000000 00000000 …
//! ```

use super::line::{dec_u32, dec_u64, hex_u64};
use super::model::{CpuStats, StatsForm};

/// Parses a `conntrack -S` row (`cpu=N name=value …`).
pub(crate) fn parse_cpu_row(tokens: &[&str], line: usize) -> Result<CpuStats, String> {
    let Some(cpu) = tokens.first().and_then(|token| token.strip_prefix("cpu=")) else {
        return Err("statistics row lacks cpu=".to_owned());
    };
    let cpu = dec_u32(cpu).ok_or_else(|| format!("invalid cpu value `{cpu}`"))?;
    let mut counters = Vec::with_capacity(tokens.len() - 1);
    for token in &tokens[1..] {
        let Some((name, value)) = token.split_once('=') else {
            return Err(format!("unexpected token `{token}` in statistics row"));
        };
        let value = dec_u64(value).ok_or_else(|| format!("invalid {name} value `{value}`"))?;
        counters.push((name.to_owned(), value));
    }
    Ok(CpuStats {
        line,
        cpu,
        form: StatsForm::ConntrackS,
        counters,
    })
}

/// Whether `tokens` are the `/proc/net/stat/nf_conntrack` header.
pub(crate) fn is_proc_header(tokens: &[&str]) -> bool {
    tokens.first() == Some(&"entries")
        && tokens.len() > 1
        && tokens.iter().all(|token| {
            token
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit())
        })
}

/// Parses a hexadecimal `/proc/net/stat/nf_conntrack` row under `names`.
pub(crate) fn parse_proc_row(
    tokens: &[&str],
    names: &[String],
    cpu: u32,
    line: usize,
) -> Result<CpuStats, String> {
    if tokens.len() != names.len() {
        return Err(format!(
            "statistics row has {} columns, header has {}",
            tokens.len(),
            names.len()
        ));
    }
    let mut counters = Vec::with_capacity(names.len());
    for (name, token) in names.iter().zip(tokens) {
        let value = hex_u64(token).ok_or_else(|| format!("invalid hex {name} value `{token}`"))?;
        counters.push((name.clone(), value));
    }
    Ok(CpuStats {
        line,
        cpu,
        form: StatsForm::ProcNetStat,
        counters,
    })
}
