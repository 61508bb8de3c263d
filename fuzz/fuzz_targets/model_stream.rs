//! The model's streams: each line a Responses `data:` payload, and the
//! same lines fed to the Chat Completions accumulator.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut chat = codex_actors::model_stream::ChatAccumulator::default();
    for line in text.split('\n') {
        let _ = codex_actors::model_stream::parse_responses_event(line);
        let _ = chat.feed(line);
    }
});
