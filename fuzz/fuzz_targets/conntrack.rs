//! Fuzzes every conntrack entry point on arbitrary bytes: nothing may panic,
//! every non-blank line must be accounted for, and every parsed entry must
//! re-render to text that parses back to the same entry.

#![no_main]

use libfuzzer_sys::fuzz_target;
use node_artifacts::conntrack;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = conntrack::parse_count(&text);
    let _ = conntrack::aggregate(&text);
    let Ok(parsed) = conntrack::parse(&text) else {
        return;
    };
    assert_eq!(parsed.diagnostics.len(), parsed.value.unparsed.len());
    for entry in &parsed.value.table.entries {
        let rendered = entry.to_string();
        let again = conntrack::parse(&rendered).expect("a rendered entry is conntrack output");
        assert!(again.diagnostics.is_empty(), "{rendered}");
        let mut expect = entry.clone();
        expect.line = 1;
        assert_eq!(again.value.table.entries, vec![expect], "{rendered}");
    }
});
