//! Fault plans (`codex debug chaos --plan`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(plan) = codex_actors::chaos::FaultPlan::parse("fuzz", text) {
            let _ = plan.check(&Default::default());
        }
    }
});
