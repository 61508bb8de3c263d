//! Rollout files (`exec resume` reads them back), and the history a resume
//! sends.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(rollout) = codex_actors::rollout::parse_rollout(data) {
        let _ = codex_actors::rollout::resume_history(&rollout);
    }
});
