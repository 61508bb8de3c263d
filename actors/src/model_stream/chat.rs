//! The Chat Completions wire format (`wire_api = "chat"`): the request body
//! built from the same history, and a [`ChatAccumulator`] that turns the
//! streamed chunks into the same [`WireEvent`]s the Responses API gives.
//!
//! Tool-call fragments are grouped by their `index`: OpenAI-compatible
//! servers send a call's `id` and name in its first fragment only, and
//! several calls may interleave.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::items::{
    ContentItem, CustomToolCallOutput, FunctionCall, FunctionCallOutput, Reasoning, ResponseItem,
    SummaryText,
};
use super::machine::WireEvent;
use super::{ModelRequest, TokenUsage};

/// The body of `POST {base_url}/chat/completions`.
pub fn chat_body(request: &ModelRequest) -> Value {
    let mut messages: Vec<Value> = Vec::new();
    for item in &request.input {
        match item {
            ResponseItem::Message(message) => {
                let text: String = message
                    .content
                    .iter()
                    .filter_map(|part| match part {
                        ContentItem::InputText { text } | ContentItem::OutputText { text } => {
                            Some(text.as_str())
                        }
                        ContentItem::Refusal { refusal } => Some(refusal.as_str()),
                        ContentItem::InputImage { .. } => None,
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                let role = match message.role.as_str() {
                    "developer" => "system",
                    other => other,
                };
                let images: Vec<Value> = message
                    .content
                    .iter()
                    .filter_map(|part| match part {
                        ContentItem::InputImage { image_url } => Some(json!({
                            "type": "image_url",
                            "image_url": { "url": image_url },
                        })),
                        _ => None,
                    })
                    .collect();
                if images.is_empty() {
                    messages.push(json!({ "role": role, "content": text }));
                } else {
                    // Images need Chat's content parts.
                    let mut parts = vec![json!({ "type": "text", "text": text })];
                    parts.extend(images);
                    messages.push(json!({ "role": role, "content": parts }));
                }
            }
            ResponseItem::FunctionCall(_) | ResponseItem::CustomToolCall(_) => {
                // A freeform call has no Chat form: it is shown as the
                // function with one `input` string that Chat offers instead.
                let (call_id, name, arguments) = match item {
                    ResponseItem::CustomToolCall(call) => (
                        &call.call_id,
                        &call.name,
                        json!({ "input": call.input }).to_string(),
                    ),
                    ResponseItem::FunctionCall(call) => {
                        (&call.call_id, &call.name, call.arguments.clone())
                    }
                    _ => continue,
                };
                let tool_call = json!({
                    "id": call_id,
                    "type": "function",
                    "function": { "name": name, "arguments": arguments },
                });
                // Calls of one response share one assistant message.
                match messages.last_mut() {
                    Some(last)
                        if last["role"] == "assistant" && last.get("tool_calls").is_some() =>
                    {
                        if let Some(calls) = last["tool_calls"].as_array_mut() {
                            calls.push(tool_call);
                        }
                    }
                    _ => messages.push(json!({
                        "role": "assistant",
                        "content": null,
                        "tool_calls": [tool_call],
                    })),
                }
            }
            ResponseItem::FunctionCallOutput(FunctionCallOutput { call_id, output })
            | ResponseItem::CustomToolCallOutput(CustomToolCallOutput { call_id, output }) => {
                messages.push(json!({
                    "role": "tool",
                    "tool_call_id": call_id,
                    "content": output,
                }))
            }
            // Reasoning and foreign items have no Chat Completions form.
            ResponseItem::Reasoning(_) | ResponseItem::Other(_) => {}
        }
    }
    let tools: Vec<Value> = request
        .tools
        .iter()
        .map(|tool| {
            json!({
                "type": "function",
                "function": {
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": tool.function_parameters(),
                },
            })
        })
        .collect();
    let mut body = json!({
        "model": request.model,
        "messages": messages,
        "stream": true,
        "stream_options": { "include_usage": true },
    });
    if !tools.is_empty() {
        body["tools"] = Value::Array(tools);
        body["tool_choice"] = json!("auto");
    }
    if let Some(schema) = &request.output_schema {
        body["response_format"] = json!({
            "type": "json_schema",
            "json_schema": { "name": "codex_output_schema", "schema": schema, "strict": true },
        });
    }
    body
}

/// Collects streamed chunks into whole items.
#[derive(Debug, Default)]
pub struct ChatAccumulator {
    text: String,
    reasoning: String,
    calls: BTreeMap<u64, PartialCall>,
    usage: TokenUsage,
    id: String,
    finished: bool,
}

#[derive(Debug, Default)]
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
}

impl ChatAccumulator {
    /// A new, empty accumulator.
    pub fn new() -> Self {
        ChatAccumulator::default()
    }

    /// Feeds one SSE `data:` payload. Returns the events it completes:
    /// nothing until the model finishes, then the items and `Completed`.
    pub fn feed(&mut self, data: &str) -> Vec<WireEvent> {
        let data = data.trim();
        if data.is_empty() || self.finished {
            return Vec::new();
        }
        if data == "[DONE]" {
            return self.finish();
        }
        let Ok(chunk) = serde_json::from_str::<Value>(data) else {
            return Vec::new();
        };
        if let Some(id) = chunk.get("id").and_then(Value::as_str) {
            self.id = id.to_owned();
        }
        if let Some(usage) = chunk.get("usage").filter(|u| u.is_object()) {
            let n = |key: &str| usage.get(key).and_then(Value::as_u64).unwrap_or(0);
            self.usage = TokenUsage {
                input_tokens: n("prompt_tokens"),
                cached_input_tokens: usage
                    .get("prompt_tokens_details")
                    .and_then(|d| d.get("cached_tokens"))
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
                cache_write_input_tokens: 0,
                output_tokens: n("completion_tokens"),
                reasoning_output_tokens: usage
                    .get("completion_tokens_details")
                    .and_then(|d| d.get("reasoning_tokens"))
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
            };
        }
        let Some(choice) = chunk
            .get("choices")
            .and_then(Value::as_array)
            .and_then(|c| c.first())
        else {
            return Vec::new();
        };
        let mut events = Vec::new();
        if let Some(delta) = choice.get("delta") {
            let before = self.text.len();
            self.absorb(delta);
            if self.text.len() > before {
                events.push(WireEvent::TextDelta(self.text[before..].to_owned()));
            }
        }
        match choice.get("finish_reason").and_then(Value::as_str) {
            Some("length") => {
                self.finished = true;
                events.push(WireEvent::Failed {
                    code: Some("context_length_exceeded".to_owned()),
                    message: "the model stopped at its output length limit".to_owned(),
                });
                events
            }
            // A usage chunk may still follow; items go out on `[DONE]` or
            // at the end of the stream.
            Some(_) | None => events,
        }
    }

    /// The stream ended: flushes whatever was collected.
    pub fn finish(&mut self) -> Vec<WireEvent> {
        if self.finished {
            return Vec::new();
        }
        self.finished = true;
        let mut events = Vec::new();
        if !self.reasoning.trim().is_empty() {
            events.push(WireEvent::ItemDone(ResponseItem::Reasoning(Reasoning {
                summary: vec![SummaryText {
                    kind: "summary_text".to_owned(),
                    text: std::mem::take(&mut self.reasoning),
                }],
                content: None,
                encrypted_content: None,
            })));
        }
        if !self.text.is_empty() {
            events.push(WireEvent::ItemDone(ResponseItem::assistant_text(
                std::mem::take(&mut self.text),
            )));
        }
        for (index, call) in std::mem::take(&mut self.calls) {
            if call.name.is_empty() {
                continue;
            }
            let call_id = if call.id.is_empty() {
                format!("call_{index}")
            } else {
                call.id
            };
            events.push(WireEvent::ItemDone(ResponseItem::FunctionCall(
                FunctionCall {
                    namespace: None,
                    call_id,
                    name: call.name,
                    arguments: call.arguments,
                },
            )));
        }
        events.push(WireEvent::Completed {
            id: std::mem::take(&mut self.id),
            usage: self.usage,
        });
        events
    }

    fn absorb(&mut self, delta: &Value) {
        match delta.get("content") {
            Some(Value::String(text)) => self.text.push_str(text),
            Some(Value::Array(parts)) => {
                for part in parts {
                    if let Some(text) = part.get("text").and_then(Value::as_str) {
                        self.text.push_str(text);
                    }
                }
            }
            _ => {}
        }
        let reasoning = delta
            .get("reasoning")
            .or_else(|| delta.get("reasoning_content"));
        match reasoning {
            Some(Value::String(text)) => self.reasoning.push_str(text),
            Some(Value::Object(map)) => {
                if let Some(text) = map
                    .get("text")
                    .or_else(|| map.get("content"))
                    .and_then(Value::as_str)
                {
                    self.reasoning.push_str(text);
                }
            }
            _ => {}
        }
        let Some(calls) = delta.get("tool_calls").and_then(Value::as_array) else {
            return;
        };
        for (position, fragment) in calls.iter().enumerate() {
            let index = fragment
                .get("index")
                .and_then(Value::as_u64)
                .unwrap_or(position as u64);
            let call = self.calls.entry(index).or_default();
            if let Some(id) = fragment.get("id").and_then(Value::as_str)
                && call.id.is_empty()
            {
                call.id = id.to_owned();
            }
            let function = fragment.get("function");
            if let Some(name) = function.and_then(|f| f.get("name")).and_then(Value::as_str)
                && call.name.is_empty()
            {
                call.name = name.to_owned();
            }
            if let Some(arguments) = function
                .and_then(|f| f.get("arguments"))
                .and_then(Value::as_str)
            {
                call.arguments.push_str(arguments);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleaved_tool_call_fragments_are_joined_by_index() {
        let mut acc = ChatAccumulator::new();
        let chunks = [
            r#"{"id":"c1","choices":[{"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"add","arguments":""}}]}}]}"#,
            r#"{"id":"c1","choices":[{"delta":{"tool_calls":[{"index":1,"id":"call_b","function":{"name":"echo","arguments":"{\"te"}}]}}]}"#,
            r#"{"id":"c1","choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\":1,"}}]}}]}"#,
            r#"{"id":"c1","choices":[{"delta":{"tool_calls":[{"index":1,"function":{"arguments":"xt\":\"hi\"}"}}]}}]}"#,
            r#"{"id":"c1","choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"b\":2}"}}]},"finish_reason":"tool_calls"}]}"#,
            r#"{"id":"c1","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":5}}"#,
        ];
        for chunk in chunks {
            assert!(acc.feed(chunk).is_empty());
        }
        let events = acc.feed("[DONE]");
        let calls: Vec<(String, String, String)> = events
            .iter()
            .filter_map(|event| match event {
                WireEvent::ItemDone(ResponseItem::FunctionCall(call)) => Some((
                    call.call_id.clone(),
                    call.name.clone(),
                    call.arguments.clone(),
                )),
                _ => None,
            })
            .collect();
        assert_eq!(
            calls,
            [
                (
                    "call_a".to_owned(),
                    "add".to_owned(),
                    r#"{"a":1,"b":2}"#.to_owned()
                ),
                (
                    "call_b".to_owned(),
                    "echo".to_owned(),
                    r#"{"text":"hi"}"#.to_owned()
                ),
            ]
        );
        assert!(matches!(
            events.last(),
            Some(WireEvent::Completed { usage, .. }) if usage.input_tokens == 7 && usage.output_tokens == 5
        ));
        assert!(acc.finish().is_empty());
    }

    #[test]
    fn text_and_history_round_trip() {
        let mut acc = ChatAccumulator::new();
        acc.feed(r#"{"choices":[{"delta":{"content":"Hel"}}]}"#);
        acc.feed(r#"{"choices":[{"delta":{"content":"lo"},"finish_reason":"stop"}]}"#);
        let events = acc.finish();
        assert_eq!(
            events[0],
            WireEvent::ItemDone(ResponseItem::assistant_text("Hello"))
        );
        let request = ModelRequest {
            model: "m".to_owned(),
            input: vec![
                ResponseItem::developer_text("be brief"),
                ResponseItem::user_text("hi"),
                ResponseItem::FunctionCall(FunctionCall {
                    namespace: None,
                    call_id: "1".to_owned(),
                    name: "a".to_owned(),
                    arguments: "{}".to_owned(),
                }),
                ResponseItem::FunctionCall(FunctionCall {
                    namespace: None,
                    call_id: "2".to_owned(),
                    name: "b".to_owned(),
                    arguments: "{}".to_owned(),
                }),
                ResponseItem::FunctionCallOutput(super::super::FunctionCallOutput {
                    call_id: "1".to_owned(),
                    output: "ok".to_owned(),
                }),
            ],
            tools: Vec::new(),
            output_schema: None,
            reasoning_effort: None,
            thread_id: "t".to_owned(),
        };
        let body = chat_body(&request);
        let roles: Vec<&str> = body["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .map(|m| m["role"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(roles, ["system", "user", "assistant", "tool"]);
        assert_eq!(
            body["messages"][2]["tool_calls"].as_array().map(Vec::len),
            Some(2)
        );
        assert!(body.get("tools").is_none());
    }
}
