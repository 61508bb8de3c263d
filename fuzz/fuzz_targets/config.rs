//! `config.toml` and `-c` overrides: the text up to the first NUL is the
//! file, each NUL-separated part after it an override.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.split('\0');
    let file = parts.next().unwrap_or_default();
    let overrides: Vec<codex_actors::config::ConfigOverride> =
        parts.filter_map(|raw| raw.parse().ok()).collect();
    let _ = codex_actors::config::parse_config(file, &overrides);
});
