//! `apply_patch` patches.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = codex_actors::apply_patch::parse_patch(text);
    }
});
