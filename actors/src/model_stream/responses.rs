//! The Responses API wire format: the request body, and the stream events
//! this runtime acts on. Pure functions over JSON.

use serde_json::{Value, json};

use super::machine::WireEvent;
use super::{ModelRequest, ResponseItem, TokenUsage};

/// The body of `POST {base_url}/responses`, with the keys Codex sends.
pub fn responses_body(request: &ModelRequest) -> Value {
    // Freeform tools go out as custom tools with their grammar to the
    // models trained on them (GPT-5 class), as functions to the others.
    let freeform = freeform_models(&request.model);
    let tools: Vec<Value> = request
        .tools
        .iter()
        .map(|tool| match &tool.freeform {
            Some(grammar) if freeform => json!({
                "type": "custom",
                "name": tool.name,
                "description": tool.description,
                "format": { "type": "grammar", "syntax": "lark", "definition": grammar },
            }),
            _ => json!({
                "type": "function",
                "name": tool.name,
                "description": tool.description,
                "strict": false,
                "parameters": tool.function_parameters(),
            }),
        })
        .collect();
    let mut body = json!({
        "model": request.model,
        "input": request.input.iter().map(ResponseItem::to_value).collect::<Vec<_>>(),
        "tools": tools,
        "tool_choice": "auto",
        "parallel_tool_calls": true,
        "store": false,
        "stream": true,
        "prompt_cache_key": request.thread_id,
        "client_metadata": { "originator": "codex_exec" },
    });
    if reasons(&request.model) || request.reasoning_effort.is_some() {
        let mut reasoning = json!({ "summary": "auto" });
        if let Some(effort) = &request.reasoning_effort {
            reasoning["effort"] = Value::String(effort.clone());
        }
        body["reasoning"] = reasoning;
        body["include"] = json!(["reasoning.encrypted_content"]);
    }
    if let Some(schema) = &request.output_schema {
        body["text"] = json!({
            "format": {
                "type": "json_schema",
                "name": "codex_output_schema",
                "schema": schema,
                "strict": true,
            }
        });
    }
    body
}

/// Whether `model` takes freeform (custom) tools.
fn freeform_models(model: &str) -> bool {
    let model = model.to_ascii_lowercase();
    model.starts_with("gpt-5") || model.contains("codex")
}

/// Whether `model` is a reasoning model, which takes `reasoning` and
/// returns encrypted reasoning to send back. Other models reject the keys.
fn reasons(model: &str) -> bool {
    let model = model.to_ascii_lowercase();
    ["gpt-5", "o1", "o3", "o4", "codex"]
        .iter()
        .any(|family| model.starts_with(family))
}

/// The event in one SSE `data:` payload, or `None` for events that change
/// nothing (`response.created`, keep-alives, unparsable data).
pub fn parse_responses_event(data: &str) -> Option<WireEvent> {
    let event: Value = serde_json::from_str(data).ok()?;
    match event.get("type")?.as_str()? {
        "response.output_text.delta" => Some(WireEvent::TextDelta(
            event.get("delta")?.as_str()?.to_owned(),
        )),
        "response.output_item.done" => Some(WireEvent::ItemDone(ResponseItem::from_value(
            event.get("item")?.clone(),
        ))),
        "response.completed" => {
            let response = event.get("response");
            Some(WireEvent::Completed {
                id: response
                    .and_then(|r| r.get("id"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                usage: response
                    .and_then(|r| r.get("usage"))
                    .map(usage)
                    .unwrap_or_default(),
            })
        }
        "response.failed" => {
            let error = event.get("response").and_then(|r| r.get("error"));
            Some(WireEvent::Failed {
                code: error
                    .and_then(|e| e.get("code"))
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                message: error
                    .and_then(|e| e.get("message"))
                    .and_then(Value::as_str)
                    .unwrap_or("response.failed")
                    .to_owned(),
            })
        }
        "response.incomplete" => {
            let reason = event
                .get("response")
                .and_then(|r| r.get("incomplete_details"))
                .and_then(|d| d.get("reason"))
                .and_then(Value::as_str)
                .unwrap_or("unknown");
            Some(WireEvent::Failed {
                code: Some(reason.to_owned()),
                message: format!("response incomplete: {reason}"),
            })
        }
        "error" => Some(WireEvent::Failed {
            code: event.get("code").and_then(Value::as_str).map(str::to_owned),
            message: event
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("error event")
                .to_owned(),
        }),
        _ => None,
    }
}

/// `response.usage` in our five fields.
fn usage(usage: &Value) -> TokenUsage {
    let n = |value: Option<&Value>| value.and_then(Value::as_u64).unwrap_or(0);
    let input_details = usage.get("input_tokens_details");
    TokenUsage {
        input_tokens: n(usage.get("input_tokens")),
        cached_input_tokens: n(input_details.and_then(|d| d.get("cached_tokens"))),
        cache_write_input_tokens: n(input_details.and_then(|d| {
            d.get("cache_write_tokens")
                .or_else(|| d.get("cache_creation_tokens"))
        })),
        output_tokens: n(usage.get("output_tokens")),
        reasoning_output_tokens: n(usage
            .get("output_tokens_details")
            .and_then(|d| d.get("reasoning_tokens"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model_stream::ToolSpec;

    #[test]
    fn the_body_has_the_keys_codex_sends() {
        let request = ModelRequest {
            model: "gpt-5-codex".to_owned(),
            input: vec![ResponseItem::user_text("hi")],
            tools: vec![ToolSpec {
                name: "exec_command".to_owned(),
                description: "Runs a command".to_owned(),
                parameters: json!({"type": "object"}),
                freeform: None,
            }],
            output_schema: Some(json!({"type": "object"})),
            reasoning_effort: None,
            thread_id: "t-1".to_owned(),
        };
        let body = responses_body(&request);
        let mut keys: Vec<&str> = body
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "client_metadata",
                "include",
                "input",
                "model",
                "parallel_tool_calls",
                "prompt_cache_key",
                "reasoning",
                "store",
                "stream",
                "text",
                "tool_choice",
                "tools"
            ]
        );
        assert_eq!(body["text"]["format"]["name"], "codex_output_schema");
        assert_eq!(body["tools"][0]["strict"], false);
        let plain = responses_body(&ModelRequest {
            model: "gpt-4.1".to_owned(),
            ..request
        });
        assert!(plain.get("reasoning").is_none() && plain.get("include").is_none());
    }

    #[test]
    fn events_that_matter() {
        assert_eq!(
            parse_responses_event(
                r#"{"type":"response.completed","response":{"id":"r1","usage":{"input_tokens":10,"input_tokens_details":{"cached_tokens":4},"output_tokens":3,"output_tokens_details":{"reasoning_tokens":1},"total_tokens":13}}}"#
            ),
            Some(WireEvent::Completed {
                id: "r1".to_owned(),
                usage: TokenUsage {
                    input_tokens: 10,
                    cached_input_tokens: 4,
                    cache_write_input_tokens: 0,
                    output_tokens: 3,
                    reasoning_output_tokens: 1,
                },
            })
        );
        assert_eq!(
            parse_responses_event(
                r#"{"type":"response.failed","response":{"error":{"code":"server_error","message":"boom"}}}"#
            ),
            Some(WireEvent::Failed {
                code: Some("server_error".to_owned()),
                message: "boom".to_owned()
            })
        );
        assert_eq!(
            parse_responses_event(r#"{"type":"response.output_text.delta","delta":"x"}"#),
            Some(WireEvent::TextDelta("x".to_owned()))
        );
        assert_eq!(
            parse_responses_event(r#"{"type":"response.reasoning_text.delta","delta":"x"}"#),
            None
        );
        assert_eq!(parse_responses_event("not json"), None);
    }
}
