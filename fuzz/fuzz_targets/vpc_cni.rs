//! Fuzz target: `node_artifacts::vpc_cni` must not panic on any input.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = node_artifacts::vpc_cni::parse_env_settings(&text);
    let _ = node_artifacts::vpc_cni::parse_container_info(&text);
    let _ = node_artifacts::vpc_cni::parse_enis(&text);
    let _ = node_artifacts::vpc_cni::parse_conflist(&text);
    let _ = node_artifacts::vpc_cni::parse_log(&text);
});
