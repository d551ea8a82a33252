//! Peak-memory probe for the iptables parser.
//!
//! `iptables_mem --write FILE [SERVICES ENDPOINTS]` writes the generated
//! kube-proxy ruleset; `iptables_mem FILE [--parse-only]` reads and parses it, then
//! builds the Kubernetes view (unless `--parse-only`), so `/usr/bin/time -v` reports the peak resident size
//! of reading plus parsing.
#![allow(clippy::print_stdout, reason = "an example reports on stdout")]

use node_artifacts::iptables::{self, kube::KubeView};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag, path, rest @ ..] if flag == "--write" => {
            let services = rest.first().map_or(Ok(5_000), |s| s.parse())?;
            let endpoints = rest.get(1).map_or(Ok(3), |s| s.parse())?;
            std::fs::write(path, fixture_gen::iptables::kube_proxy_ruleset(services, endpoints))?;
        }
        [path, rest @ ..] => {
            let text = std::fs::read_to_string(path)?;
            let parsed = iptables::parse(&text)?;
            if rest.first().is_some_and(|a| a == "--parse-only") {
                println!("{} bytes, {} lines", text.len(), parsed.value.line_count());
                return Ok(());
            }
            let view = KubeView::new(&parsed.value);
            println!(
                "{} bytes, {} lines, {} rules, {} diagnostics, {} services",
                text.len(),
                parsed.value.line_count(),
                parsed.value.rules().count(),
                parsed.diagnostics.len(),
                view.services.len()
            );
        }
        _ => return Err("usage: iptables_mem --write FILE [SERVICES ENDPOINTS] | iptables_mem FILE [--parse-only]".into()),
    }
    Ok(())
}
