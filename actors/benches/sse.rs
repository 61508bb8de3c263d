//! SSE parse throughput of the model stream: a realistic Responses API
//! stream (text deltas, reasoning, a function call with large arguments,
//! the completed message) framed by `sse-stream` and turned into
//! [`WireEvent`]s by `parse_responses_event`, fed in 8 KiB chunks as a
//! socket would deliver them.
//!
//! ```sh
//! cargo bench -p codex-actors --bench sse
//! ```

use bytes::Bytes;
use codex_actors::model_stream::{WireEvent, parse_responses_event};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::StreamExt as _;
use serde_json::json;

fn stream_bytes() -> Vec<u8> {
    let mut events = vec![json!({"type": "response.created", "response": {"id": "r1"}})];
    for n in 0..2000 {
        events.push(
            json!({"type": "response.output_text.delta", "item_id": "m1",
                           "output_index": 1, "content_index": 0,
                           "delta": format!("token {n} of the answer ")}),
        );
    }
    events.push(json!({"type": "response.output_item.done", "item": {
        "type": "reasoning", "id": "rs1",
        "summary": [{"type": "summary_text", "text": "x".repeat(2000)}],
        "encrypted_content": "e".repeat(8000)}}));
    events.push(json!({"type": "response.output_item.done", "item": {
        "type": "function_call", "id": "fc1", "call_id": "c1", "name": "exec_command",
        "arguments": json!({"cmd": "y".repeat(16000)}).to_string()}}));
    events.push(json!({"type": "response.output_item.done", "item": {
        "type": "message", "id": "m1", "role": "assistant",
        "content": [{"type": "output_text", "text": "z".repeat(40000), "annotations": []}]}}));
    events.push(
        json!({"type": "response.completed", "response": {"id": "r1",
        "usage": {"input_tokens": 1, "output_tokens": 1}}}),
    );
    let mut out = String::new();
    for event in events {
        out.push_str(&format!(
            "event: {}\ndata: {event}\n\n",
            event["type"].as_str().unwrap_or("")
        ));
    }
    out.into_bytes()
}

fn parse(bytes: &[u8]) -> usize {
    let chunks: Vec<Result<Bytes, std::io::Error>> = bytes
        .chunks(8192)
        .map(|chunk| Ok(Bytes::copy_from_slice(chunk)))
        .collect();
    let stream = sse_stream::SseStream::from_bytes_stream(futures::stream::iter(chunks));
    futures::executor::block_on(stream.fold(0, |done, sse| async move {
        let event = sse
            .ok()
            .and_then(|sse| sse.data)
            .and_then(|data| parse_responses_event(&data));
        done + usize::from(matches!(event, Some(WireEvent::ItemDone(_))))
    }))
}

fn bench(c: &mut Criterion) {
    let bytes = stream_bytes();
    assert_eq!(parse(&bytes), 3);
    let mut group = c.benchmark_group("sse");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("responses_stream", |b| b.iter(|| parse(&bytes)));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
