//! Fuzzes the dmesg parser: any bytes must parse or fail cleanly, events
//! must be recognised without panics, and the plain rendering must parse.

#![no_main]

use libfuzzer_sys::fuzz_target;
use node_artifacts::dmesg;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = dmesg::parse_bytes(data) {
        let _ = dmesg::events(&parsed.value);
        let rendered = parsed.value.render_plain();
        let _ = dmesg::parse(&rendered);
    }
});
