//! The JSON twins of turn events: `codex exec --json` writes one per line,
//! in Codex's schema (`thread.started`, `turn.started`, `item.*`,
//! `turn.completed` with five usage fields, `turn.failed`, `error`).
//!
//! Each line is an [`ExecEvent`], serialized by serde: the same types give
//! `codex debug schema exec-events` its JSON Schema, so the schema cannot
//! drift from what is printed.

use codex_actors::model_stream::TokenUsage;
use codex_actors::turn::{ItemDetails, ThreadItem, TurnEvent};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

/// One line of `codex exec --json`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(tag = "type")]
#[schemars(title = "codex exec --json event")]
pub(crate) enum ExecEvent {
    /// The first line: the thread (session) the run belongs to.
    #[serde(rename = "thread.started")]
    ThreadStarted {
        /// The thread id (a UUID); `codex exec resume` takes it.
        thread_id: String,
    },
    /// The turn began.
    #[serde(rename = "turn.started")]
    TurnStarted,
    /// An item began (a command, a tool call, a patch).
    #[serde(rename = "item.started")]
    ItemStarted {
        /// The item as it starts.
        item: ExecItem,
    },
    /// An item reached its final state.
    #[serde(rename = "item.completed")]
    ItemCompleted {
        /// The item as it ended.
        item: ExecItem,
    },
    /// The turn completed.
    #[serde(rename = "turn.completed")]
    TurnCompleted {
        /// Tokens used over the whole turn.
        usage: Usage,
    },
    /// The turn failed; the run exits 1.
    #[serde(rename = "turn.failed")]
    TurnFailed {
        /// Why.
        error: Message,
    },
    /// A non-fatal notice (a retried request), or, as the last line, a
    /// fatal problem outside a turn.
    #[serde(rename = "error")]
    Error {
        /// What happened.
        message: String,
    },
}

/// One item, with its `item_N` id first.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct ExecItem {
    /// `item_0`, `item_1`, ...: one counter over every kind of item.
    id: String,
    /// What it is.
    #[serde(flatten)]
    kind: ItemKind,
}

/// The kinds of items.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ItemKind {
    /// The model's answer.
    AgentMessage {
        /// Its text (a JSON document under `--output-schema`).
        text: String,
    },
    /// A reasoning summary.
    Reasoning {
        /// The summary.
        text: String,
    },
    /// A command the model ran.
    CommandExecution {
        /// As shown: `/bin/bash -lc '<cmd>'`.
        command: String,
        /// stdout and stderr, in the order they arrived.
        aggregated_output: String,
        /// Set once it ended.
        exit_code: Option<i32>,
        /// Where it stands.
        status: Status,
    },
    /// Files an `apply_patch` call changes.
    FileChange {
        /// Each file and how.
        changes: Vec<FileChange>,
        /// Where it stands.
        status: Status,
    },
    /// A call of an MCP tool.
    McpToolCall {
        /// The server.
        server: String,
        /// The tool's MCP name.
        tool: String,
        /// The arguments as the model gave them.
        arguments: Value,
        /// The result, once there is one.
        result: Option<McpResult>,
        /// Why it failed, when it did.
        error: Option<Message>,
        /// Where it stands.
        status: Status,
    },
    /// A warning, such as a server that could not start.
    Error {
        /// What happened.
        message: String,
    },
}

/// Where an item stands.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Status {
    /// Running.
    InProgress,
    /// Done (exit 0, or a tool result).
    Completed,
    /// Ended badly (non-zero exit, tool error, interrupted).
    Failed,
    /// Refused before it ran.
    Declined,
}

/// One file of a patch.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct FileChange {
    /// The file.
    path: String,
    /// How.
    kind: ChangeKind,
}

/// How a patch changes a file.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ChangeKind {
    /// Created.
    Add,
    /// Removed.
    Delete,
    /// Changed (or moved).
    Update,
}

/// An MCP tool's result.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct McpResult {
    /// The content blocks, as the server sent them.
    content: Vec<Value>,
    /// The structured result, when the tool has one.
    structured_content: Option<Value>,
}

/// `{"message": ...}`.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct Message {
    /// The text.
    message: String,
}

/// Codex's five token counts.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct Usage {
    /// Input tokens, cached ones included.
    input_tokens: u64,
    /// Input tokens read from the prompt cache.
    cached_input_tokens: u64,
    /// Input tokens written to the prompt cache.
    cache_write_input_tokens: u64,
    /// Output tokens, reasoning included.
    output_tokens: u64,
    /// Output tokens spent on reasoning.
    reasoning_output_tokens: u64,
}

/// `{"type":"thread.started","thread_id":...}`: always the first line.
pub(crate) fn thread_started(thread_id: &str) -> Value {
    line(&ExecEvent::ThreadStarted {
        thread_id: thread_id.to_owned(),
    })
}

/// A fatal problem outside a turn (a required server failed to start).
pub(crate) fn error(message: &str) -> Value {
    line(&ExecEvent::Error {
        message: message.to_owned(),
    })
}

/// One turn event's line; `None` for live text, which exec does not print
/// (the complete message follows as an item).
pub(crate) fn event(event: &TurnEvent) -> Option<Value> {
    from_turn(event).map(|event| line(&event))
}

fn line(event: &ExecEvent) -> Value {
    // Plain data: serialization cannot fail.
    serde_json::to_value(event).unwrap_or(Value::Null)
}

fn from_turn(event: &TurnEvent) -> Option<ExecEvent> {
    Some(match event {
        TurnEvent::TextDelta { .. } => return None,
        TurnEvent::TurnStarted => ExecEvent::TurnStarted,
        TurnEvent::ItemStarted(item) => ExecEvent::ItemStarted {
            item: self::item(item),
        },
        TurnEvent::ItemCompleted(item) => ExecEvent::ItemCompleted {
            item: self::item(item),
        },
        TurnEvent::Error { message } => ExecEvent::Error {
            message: message.clone(),
        },
        TurnEvent::TurnCompleted { usage } => ExecEvent::TurnCompleted {
            usage: self::usage(usage),
        },
        TurnEvent::TurnFailed { message } => ExecEvent::TurnFailed {
            error: Message {
                message: message.clone(),
            },
        },
    })
}

fn usage(usage: &TokenUsage) -> Usage {
    Usage {
        input_tokens: usage.input_tokens,
        cached_input_tokens: usage.cached_input_tokens,
        cache_write_input_tokens: usage.cache_write_input_tokens,
        output_tokens: usage.output_tokens,
        reasoning_output_tokens: usage.reasoning_output_tokens,
    }
}

fn status(status: codex_actors::turn::ItemStatus) -> Status {
    use codex_actors::turn::ItemStatus;
    match status {
        ItemStatus::InProgress => Status::InProgress,
        ItemStatus::Completed => Status::Completed,
        ItemStatus::Failed => Status::Failed,
        ItemStatus::Declined => Status::Declined,
    }
}

fn item(item: &ThreadItem) -> ExecItem {
    let kind = match &item.details {
        ItemDetails::AgentMessage { text } => ItemKind::AgentMessage { text: text.clone() },
        ItemDetails::Reasoning { text } => ItemKind::Reasoning { text: text.clone() },
        ItemDetails::CommandExecution {
            command,
            aggregated_output,
            exit_code,
            status: state,
            ..
        } => ItemKind::CommandExecution {
            command: command.clone(),
            aggregated_output: aggregated_output.clone(),
            exit_code: *exit_code,
            status: status(*state),
        },
        ItemDetails::McpToolCall {
            server,
            tool,
            arguments,
            result,
            error,
            status: state,
        } => ItemKind::McpToolCall {
            server: server.clone(),
            tool: tool.clone(),
            arguments: arguments.clone(),
            result: result.as_ref().map(|result| McpResult {
                content: result.content.clone(),
                structured_content: result.structured_content.clone(),
            }),
            error: error.as_ref().map(|message| Message {
                message: message.clone(),
            }),
            status: status(*state),
        },
        ItemDetails::FileChange {
            changes,
            status: state,
        } => ItemKind::FileChange {
            changes: changes
                .iter()
                .map(|change| FileChange {
                    path: change.path.display().to_string(),
                    kind: match change.kind {
                        "add" => ChangeKind::Add,
                        "delete" => ChangeKind::Delete,
                        _ => ChangeKind::Update,
                    },
                })
                .collect(),
            status: status(*state),
        },
        ItemDetails::Error { message } => ItemKind::Error {
            message: message.clone(),
        },
    };
    ExecItem {
        id: item.id.clone(),
        kind,
    }
}

/// The JSON Schema (draft 2020-12) of one line.
pub(crate) fn schema() -> Value {
    serde_json::to_value(schemars::schema_for!(ExecEvent)).unwrap_or(Value::Null)
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
        }))
        .expect("a line");
        assert_eq!(
            line.to_string(),
            r#"{"type":"item.completed","item":{"id":"item_3","type":"command_execution","command":"/bin/bash -lc ls","aggregated_output":"a\n","exit_code":0,"status":"completed"}}"#
        );
        let done = event(&TurnEvent::TurnCompleted {
            usage: TokenUsage::default(),
        })
        .expect("a line");
        assert_eq!(done["usage"].as_object().map(|u| u.len()), Some(5));
    }
}
