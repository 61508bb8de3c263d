//! The TOML tree `actors` builds from the parser's events: whatever it
//! reads, `toml` must read the same (tree and key order), and nothing
//! `toml` refuses may be read.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        codex_actors::config::check_toml_tree(text);
    }
});
