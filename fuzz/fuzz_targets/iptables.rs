//! Fuzzes the iptables-save parser: it must never panic, must render any
//! input it accepts back byte for byte, and must accept its own rendering
//! with the same model; the Kubernetes view must build on anything parsed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use node_artifacts::iptables::{self, kube::KubeView};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(parsed) = iptables::parse(&text) {
        let rendered = parsed.value.render();
        assert_eq!(rendered, text.as_ref(), "render is not byte-exact");
        let again = iptables::parse(&rendered).expect("rendering must parse");
        assert_eq!(again, parsed, "re-parse differs");
        for (_, rule) in parsed.value.rules() {
            let _ = rule.to_canonical_string();
        }
        let _ = KubeView::new(&parsed.value);
    }
});
