//! `requirements.toml`.
#![no_main]

use codex_actors::config::Origin;
use codex_actors::policy::{RequirementSource, parse_requirements};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_requirements(RequirementSource::EnvBase64, Origin::EnvVar("fuzz"), text);
    }
});
