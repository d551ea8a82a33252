//! Prints, for each iptables-save file given, how many lines parsed, how many
//! rules needed their text kept, and the diagnostics.
#![allow(clippy::print_stdout, reason = "an example reports on stdout")]

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for path in std::env::args().skip(1) {
        let text = std::fs::read_to_string(&path)?;
        match node_artifacts::iptables::parse(&text) {
            Err(e) => println!("{path}: {e}"),
            Ok(parsed) => {
                let rules: Vec<_> = parsed.value.rules().map(|(_, r)| r).collect();
                let raw = rules.iter().filter(|r| r.raw.is_some()).count();
                println!(
                    "{path}: {} lines, {} rules, {} kept raw, {} diagnostics, render exact: {}",
                    parsed.value.line_count(),
                    rules.len(),
                    raw,
                    parsed.diagnostics.len(),
                    parsed.value.render() == text
                );
                for d in parsed.diagnostics.iter().take(8) {
                    println!("  line {}: {}", d.line, d.reason);
                }
                for r in rules.iter().filter(|r| r.raw.is_some()).take(6) {
                    println!("  raw  {}", r.raw.as_deref().unwrap_or(""));
                    println!(
                        "  canon{}",
                        r.to_canonical_string()
                            .strip_prefix("")
                            .map(|s| format!(" {s}"))
                            .unwrap_or_default()
                    );
                }
            }
        }
    }
    Ok(())
}
