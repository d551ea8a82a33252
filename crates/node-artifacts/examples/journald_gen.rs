//! Writes a generated journal to stdout, for profiling the parser on a file:
//! `cargo run --release -p node-artifacts --example journald_gen -- short 500000 > kubelet.log`.

use std::io::Write as _;

fn main() {
    let mut args = std::env::args().skip(1);
    let kind = args.next().unwrap_or_else(|| "short".to_owned());
    let count: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(500_000);
    let bytes = match kind.as_str() {
        "export" => fixture_gen::journald::export(count, 42),
        _ => fixture_gen::journald::kubelet_short(count, 42).into_bytes(),
    };
    let _ = std::io::stdout().lock().write_all(&bytes);
}
