//! The JSON twins of turn events: `codex exec --json` writes one per line,
//! in Codex's schema (`thread.started`, `turn.started`, `item.*`,
//! `turn.completed` with five usage fields, `turn.failed`, `error`).

use codex_actors::model_stream::TokenUsage;
use codex_actors::turn::{ItemDetails, ThreadItem, TurnEvent};
use serde_json::{Value, json};

/// `{"type":"thread.started","thread_id":...}`: always the first line.
pub(crate) fn thread_started(thread_id: &str) -> Value {
    json!({ "type": "thread.started", "thread_id": thread_id })
}

/// A fatal problem outside a turn (a required server failed to start).
pub(crate) fn error(message: &str) -> Value {
    json!({ "type": "error", "message": message })
}

/// One turn event.
pub(crate) fn event(event: &TurnEvent) -> Value {
    match event {
        TurnEvent::TurnStarted => json!({ "type": "turn.started" }),
        TurnEvent::ItemStarted(item) => json!({ "type": "item.started", "item": self::item(item) }),
        TurnEvent::ItemCompleted(item) => {
            json!({ "type": "item.completed", "item": self::item(item) })
        }
        TurnEvent::Error { message } => error(message),
        TurnEvent::TurnCompleted { usage } => {
            json!({ "type": "turn.completed", "usage": self::usage(usage) })
        }
        TurnEvent::TurnFailed { message } => {
            json!({ "type": "turn.failed", "error": { "message": message } })
        }
    }
}

fn usage(usage: &TokenUsage) -> Value {
    json!({
        "input_tokens": usage.input_tokens,
        "cached_input_tokens": usage.cached_input_tokens,
        "cache_write_input_tokens": usage.cache_write_input_tokens,
        "output_tokens": usage.output_tokens,
        "reasoning_output_tokens": usage.reasoning_output_tokens,
    })
}

fn item(item: &ThreadItem) -> Value {
    let mut value = match &item.details {
        ItemDetails::AgentMessage { text } => json!({ "type": "agent_message", "text": text }),
        ItemDetails::Reasoning { text } => json!({ "type": "reasoning", "text": text }),
        ItemDetails::CommandExecution {
            command,
            aggregated_output,
            exit_code,
            status,
            ..
        } => json!({
            "type": "command_execution",
            "command": command,
            "aggregated_output": aggregated_output,
            "exit_code": exit_code,
            "status": status.as_str(),
        }),
        ItemDetails::McpToolCall {
            server,
            tool,
            arguments,
            result,
            error,
            status,
        } => json!({
            "type": "mcp_tool_call",
            "server": server,
            "tool": tool,
            "arguments": arguments,
            "result": result.as_ref().map(|result| json!({
                "content": result.content,
                "structured_content": result.structured_content,
            })),
            "error": error.as_ref().map(|message| json!({ "message": message })),
            "status": status.as_str(),
        }),
        ItemDetails::FileChange { changes, status } => json!({
            "type": "file_change",
            "changes": changes.iter().map(|change| json!({
                "path": change.path.display().to_string(),
                "kind": change.kind,
            })).collect::<Vec<_>>(),
            "status": status.as_str(),
        }),
        ItemDetails::Error { message } => json!({ "type": "error", "message": message }),
    };
    if let Value::Object(map) = &mut value {
        // `id` first, as Codex prints it.
        let mut ordered = serde_json::Map::new();
        ordered.insert("id".to_owned(), Value::String(item.id.clone()));
        ordered.extend(std::mem::take(map));
        *map = ordered;
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use codex_actors::turn::ItemStatus;

    #[test]
    fn items_have_their_id_first_and_fields_flattened() {
        let line = event(&TurnEvent::ItemCompleted(ThreadItem {
            id: "item_3".to_owned(),
            details: ItemDetails::CommandExecution {
                command: "/bin/bash -lc ls".to_owned(),
                cwd: "/w".into(),
                aggregated_output: "a\n".to_owned(),
                exit_code: Some(0),
                duration: Some(std::time::Duration::from_millis(3)),
                status: ItemStatus::Completed,
            },
        }));
        assert_eq!(
            line.to_string(),
            r#"{"type":"item.completed","item":{"id":"item_3","type":"command_execution","command":"/bin/bash -lc ls","aggregated_output":"a\n","exit_code":0,"status":"completed"}}"#
        );
        let done = event(&TurnEvent::TurnCompleted {
            usage: TokenUsage::default(),
        });
        assert_eq!(done["usage"].as_object().map(|u| u.len()), Some(5));
    }
}
