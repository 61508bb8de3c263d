//! The conversation as the Responses API sees it: [`ResponseItem`]s.
//!
//! These are wire types: they serialize to exactly what goes into a
//! request's `input` and deserialize from a stream's `output_item.done`.
//! Server-assigned `id`s are read but never sent back (with `store: false`
//! the server keeps nothing they could refer to). An item of a type this
//! runtime does not know is kept verbatim, so nothing the model said is
//! lost from the history.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One item of the conversation.
#[derive(Debug, Clone, PartialEq)]
pub enum ResponseItem {
    /// A message from the user, the developer or the assistant.
    Message(Message),
    /// The model's reasoning: a summary, and an opaque encrypted form that
    /// must be sent back for the model to continue it.
    Reasoning(Reasoning),
    /// The model asks for a function tool to run.
    FunctionCall(FunctionCall),
    /// The output of a function tool, for the model.
    FunctionCallOutput(FunctionCallOutput),
    /// The model calls a freeform (custom) tool with raw text.
    CustomToolCall(CustomToolCall),
    /// The output of a freeform tool, for the model.
    CustomToolCallOutput(CustomToolCallOutput),
    /// Any other item, exactly as received.
    Other(Value),
}

/// `{"type": "message", "role": ..., "content": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// `user`, `developer`, `system` or `assistant`.
    pub role: String,
    /// The parts.
    pub content: Vec<ContentItem>,
}

/// A part of a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentItem {
    /// Text the user or developer wrote.
    InputText {
        /// The text.
        text: String,
    },
    /// Text the model wrote.
    OutputText {
        /// The text.
        text: String,
    },
    /// An image the user attached (`-i`), as a `data:` URL.
    InputImage {
        /// `data:<mime>;base64,...`.
        image_url: String,
    },
    /// The model declined to answer.
    Refusal {
        /// Why.
        refusal: String,
    },
}

/// `{"type": "reasoning", "summary": [...], "encrypted_content": ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reasoning {
    /// The summary parts.
    #[serde(default)]
    pub summary: Vec<SummaryText>,
    /// Raw reasoning text (open-weight models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Vec<Value>>,
    /// The opaque form to send back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_content: Option<String>,
}

/// `{"type": "summary_text", "text": ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryText {
    /// Always `summary_text`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The text.
    pub text: String,
}

/// `{"type": "function_call", "call_id": ..., "name": ..., "arguments":
/// "<json>"}`, with a `namespace` when the model calls a tool of a group
/// (Codex's MCP namespaces: `namespace = "mcp__server"`, `name = "tool"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionCall {
    /// Pairs the call with its output.
    pub call_id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments, a JSON document as a string (it may not parse).
    pub arguments: String,
    /// The tool's group, when the model names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// `{"type": "custom_tool_call", "call_id": ..., "name": ..., "input": "..."}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomToolCall {
    /// Pairs the call with its output.
    pub call_id: String,
    /// The tool's name.
    pub name: String,
    /// The raw input text.
    pub input: String,
}

/// `{"type": "custom_tool_call_output", "call_id": ..., "output": "..."}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomToolCallOutput {
    /// The call this answers.
    pub call_id: String,
    /// What the model reads.
    pub output: String,
}

/// `{"type": "function_call_output", "call_id": ..., "output": "..."}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionCallOutput {
    /// The call this answers.
    pub call_id: String,
    /// What the model reads.
    pub output: String,
}

impl ResponseItem {
    /// A user message with one text part.
    pub fn user_text(text: impl Into<String>) -> Self {
        ResponseItem::Message(Message {
            role: "user".to_owned(),
            content: vec![ContentItem::InputText { text: text.into() }],
        })
    }

    /// A developer message with one text part.
    pub fn developer_text(text: impl Into<String>) -> Self {
        ResponseItem::Message(Message {
            role: "developer".to_owned(),
            content: vec![ContentItem::InputText { text: text.into() }],
        })
    }

    /// An assistant message with one text part.
    pub fn assistant_text(text: impl Into<String>) -> Self {
        ResponseItem::Message(Message {
            role: "assistant".to_owned(),
            content: vec![ContentItem::OutputText { text: text.into() }],
        })
    }

    /// Parses an item from the wire. Never fails: an item this runtime
    /// cannot read is kept as [`ResponseItem::Other`].
    pub fn from_value(value: Value) -> Self {
        let parsed = match value.get("type").and_then(Value::as_str) {
            Some("message") => serde_json::from_value(value.clone()).map(ResponseItem::Message),
            Some("reasoning") => serde_json::from_value(value.clone()).map(ResponseItem::Reasoning),
            Some("function_call") => {
                serde_json::from_value(value.clone()).map(ResponseItem::FunctionCall)
            }
            Some("function_call_output") => {
                serde_json::from_value(value.clone()).map(ResponseItem::FunctionCallOutput)
            }
            Some("custom_tool_call") => {
                serde_json::from_value(value.clone()).map(ResponseItem::CustomToolCall)
            }
            Some("custom_tool_call_output") => {
                serde_json::from_value(value.clone()).map(ResponseItem::CustomToolCallOutput)
            }
            _ => return ResponseItem::Other(strip_id(value)),
        };
        parsed.unwrap_or_else(|_| ResponseItem::Other(strip_id(value)))
    }

    /// The item as it goes into a request's `input`.
    pub fn to_value(&self) -> Value {
        let (kind, body) = match self {
            ResponseItem::Message(message) => ("message", serde_json::to_value(message)),
            ResponseItem::Reasoning(reasoning) => ("reasoning", serde_json::to_value(reasoning)),
            ResponseItem::FunctionCall(call) => ("function_call", serde_json::to_value(call)),
            ResponseItem::FunctionCallOutput(output) => {
                ("function_call_output", serde_json::to_value(output))
            }
            ResponseItem::CustomToolCall(call) => ("custom_tool_call", serde_json::to_value(call)),
            ResponseItem::CustomToolCallOutput(output) => {
                ("custom_tool_call_output", serde_json::to_value(output))
            }
            ResponseItem::Other(value) => return value.clone(),
        };
        // Plain structs of strings and values always serialize.
        match body.unwrap_or(Value::Null) {
            Value::Object(fields) => {
                // `type` first, as the API writes it.
                let mut map = serde_json::Map::with_capacity(fields.len() + 1);
                map.insert("type".to_owned(), Value::String(kind.to_owned()));
                map.extend(fields);
                Value::Object(map)
            }
            other => other,
        }
    }

    /// The text of an assistant message (its output text parts joined).
    pub fn assistant_message_text(&self) -> Option<String> {
        match self {
            ResponseItem::Message(message) if message.role == "assistant" => Some(
                message
                    .content
                    .iter()
                    .filter_map(|part| match part {
                        ContentItem::OutputText { text } => Some(text.as_str()),
                        ContentItem::InputText { .. }
                        | ContentItem::InputImage { .. }
                        | ContentItem::Refusal { .. } => None,
                    })
                    .collect(),
            ),
            ResponseItem::Message(_)
            | ResponseItem::Reasoning(_)
            | ResponseItem::FunctionCall(_)
            | ResponseItem::FunctionCallOutput(_)
            | ResponseItem::CustomToolCall(_)
            | ResponseItem::CustomToolCallOutput(_)
            | ResponseItem::Other(_) => None,
        }
    }
}

impl Reasoning {
    /// The summary parts joined by newlines (what exec shows).
    pub fn summary_text(&self) -> String {
        self.summary
            .iter()
            .map(|part| part.text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Drops the server-assigned `id`, which must not be sent back.
fn strip_id(mut value: Value) -> Value {
    if let Value::Object(map) = &mut value {
        map.remove("id");
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn known_items_round_trip_without_their_ids() {
        let wire = json!({
            "type": "function_call", "id": "fc_1", "call_id": "call_1",
            "name": "exec_command", "arguments": "{\"cmd\":\"ls\"}", "status": "completed"
        });
        let item = ResponseItem::from_value(wire);
        assert_eq!(
            item.to_value(),
            json!({"type": "function_call", "call_id": "call_1",
                   "name": "exec_command", "arguments": "{\"cmd\":\"ls\"}"})
        );
        let message = ResponseItem::from_value(json!({
            "type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": "hi", "annotations": []}]
        }));
        assert_eq!(message.assistant_message_text().as_deref(), Some("hi"));
        assert_eq!(
            message.to_value(),
            json!({"type": "message", "role": "assistant",
                   "content": [{"type": "output_text", "text": "hi"}]})
        );
    }

    #[test]
    fn namespaced_and_custom_calls_round_trip() {
        let wire = json!({"type": "function_call", "call_id": "c", "name": "echo",
                          "namespace": "mcp__mini", "arguments": "{}"});
        let item = ResponseItem::from_value(wire.clone());
        assert!(
            matches!(&item, ResponseItem::FunctionCall(call) if call.namespace.as_deref() == Some("mcp__mini"))
        );
        assert_eq!(item.to_value(), wire);
        let custom = json!({"type": "custom_tool_call", "call_id": "p", "name": "apply_patch",
                            "input": "*** Begin Patch\n*** End Patch"});
        let item = ResponseItem::from_value(custom.clone());
        assert!(matches!(item, ResponseItem::CustomToolCall(_)));
        assert_eq!(item.to_value(), custom);
    }

    #[test]
    fn unknown_items_are_kept_verbatim() {
        let wire = json!({"type": "web_search_call", "id": "ws_1", "action": {"query": "x"}});
        let item = ResponseItem::from_value(wire);
        assert_eq!(
            item.to_value(),
            json!({"type": "web_search_call", "action": {"query": "x"}})
        );
        // A known type with an unexpected shape is kept too.
        let odd = json!({"type": "message", "role": "assistant", "content": "plain"});
        assert_eq!(ResponseItem::from_value(odd.clone()).to_value(), odd);
    }
}
