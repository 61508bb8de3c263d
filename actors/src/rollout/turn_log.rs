//! What one turn leaves in its rollout, decided without I/O: the settings
//! it ran with, every history item it added (each once, in order), and the
//! events Codex persists (the user's message, the agent's messages, token
//! counts, the turn's start and end). Deltas and tool progress are not
//! kept: the history items already hold every call and its output.

use serde_json::{Value, json};

use super::format::{RolloutItem, TurnContext};
use crate::model_stream::{ResponseItem, TokenUsage};
use crate::turn::{ItemDetails, TurnEvent, TurnOutcome};

/// One turn's log.
#[derive(Debug)]
pub struct TurnLog {
    turn_id: String,
    /// History items already recorded.
    written: usize,
    /// Tokens of the turns before, for `total_token_usage`.
    total: TokenUsage,
}

impl TurnLog {
    /// A turn starting with `history_len` items already on disk (a resumed
    /// conversation, or the turns before this one) and `total` tokens used
    /// before it. Returns the lines that open it.
    pub fn begin(
        context: TurnContext,
        history_len: usize,
        prompt: &str,
        total: TokenUsage,
    ) -> (TurnLog, Vec<RolloutItem>) {
        let turn_id = context.turn_id.clone();
        let lines = vec![
            RolloutItem::EventMsg(json!({
                "type": "task_started",
                "turn_id": turn_id,
                "model_context_window": Value::Null,
            })),
            RolloutItem::TurnContext(context),
            RolloutItem::EventMsg(json!({
                "type": "user_message",
                "message": prompt,
                "images": [],
            })),
        ];
        (
            TurnLog {
                turn_id,
                written: history_len,
                total,
            },
            lines,
        )
    }

    /// The history items added since the last call.
    pub fn history(&mut self, history: &[ResponseItem]) -> Vec<RolloutItem> {
        let new = history.get(self.written..).unwrap_or_default();
        self.written = history.len().max(self.written);
        new.iter()
            .map(|item| RolloutItem::ResponseItem(item.to_value()))
            .collect()
    }

    /// What an event of the turn adds.
    pub fn event(&mut self, event: &TurnEvent) -> Vec<RolloutItem> {
        match event {
            TurnEvent::ItemCompleted(item) => match &item.details {
                ItemDetails::AgentMessage { text } => vec![RolloutItem::EventMsg(json!({
                    "type": "agent_message",
                    "message": text,
                }))],
                _ => Vec::new(),
            },
            TurnEvent::TurnCompleted { usage } => {
                self.total += *usage;
                vec![RolloutItem::EventMsg(json!({
                    "type": "token_count",
                    "info": {
                        "total_token_usage": usage_value(&self.total),
                        "last_token_usage": usage_value(usage),
                        "model_context_window": Value::Null,
                    },
                    "rate_limits": Value::Null,
                }))]
            }
            TurnEvent::TurnFailed { message } => vec![RolloutItem::EventMsg(json!({
                "type": "error",
                "message": message,
            }))],
            // Deltas are a live view; the completed message is recorded.
            TurnEvent::TurnStarted
            | TurnEvent::ItemStarted(_)
            | TurnEvent::TextDelta { .. }
            | TurnEvent::Error { .. } => Vec::new(),
        }
    }

    /// The line that closes the turn.
    pub fn end(&self, outcome: &TurnOutcome) -> Vec<RolloutItem> {
        match outcome {
            TurnOutcome::Completed { last_message, .. } => vec![RolloutItem::EventMsg(json!({
                "type": "task_complete",
                "turn_id": self.turn_id,
                "last_agent_message": last_message,
            }))],
            TurnOutcome::Interrupted => vec![RolloutItem::EventMsg(json!({
                "type": "turn_aborted",
                "turn_id": self.turn_id,
                "reason": "interrupted",
            }))],
            // The `error` line already says why.
            TurnOutcome::Failed { .. } => Vec::new(),
        }
    }

    /// Tokens used by every turn so far.
    pub fn total(&self) -> &TokenUsage {
        &self.total
    }
}

/// Codex's token-usage object.
fn usage_value(usage: &TokenUsage) -> Value {
    json!({
        "input_tokens": usage.input_tokens,
        "cached_input_tokens": usage.cached_input_tokens,
        "output_tokens": usage.output_tokens,
        "reasoning_output_tokens": usage.reasoning_output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::turn::ThreadItem;

    fn context() -> TurnContext {
        TurnContext {
            turn_id: "t1".to_owned(),
            cwd: "/w".into(),
            approval_policy: "never".to_owned(),
            sandbox_policy: json!({"mode": "read-only"}),
            model: "gpt-5".to_owned(),
            effort: None,
            summary: "auto".to_owned(),
        }
    }

    #[test]
    fn each_history_item_is_written_once_in_order() {
        let (mut log, opening) = TurnLog::begin(context(), 1, "hi", TokenUsage::default());
        assert_eq!(opening.len(), 3);
        let history = vec![
            ResponseItem::developer_text("old"),
            ResponseItem::user_text("hi"),
            ResponseItem::assistant_text("hello"),
        ];
        let lines = log.history(&history[..2]);
        assert_eq!(
            lines,
            vec![RolloutItem::ResponseItem(history[1].to_value())]
        );
        let lines = log.history(&history);
        assert_eq!(
            lines,
            vec![RolloutItem::ResponseItem(history[2].to_value())]
        );
        assert!(log.history(&history).is_empty());
    }

    #[test]
    fn usage_accumulates_across_turns() {
        let before = TokenUsage {
            input_tokens: 10,
            output_tokens: 2,
            ..TokenUsage::default()
        };
        let (mut log, _) = TurnLog::begin(context(), 0, "hi", before);
        let usage = TokenUsage {
            input_tokens: 5,
            output_tokens: 1,
            ..TokenUsage::default()
        };
        let lines = log.event(&TurnEvent::TurnCompleted { usage });
        let [RolloutItem::EventMsg(value)] = lines.as_slice() else {
            panic!("{lines:?}");
        };
        assert_eq!(value["info"]["total_token_usage"]["input_tokens"], 15);
        assert_eq!(value["info"]["last_token_usage"]["total_tokens"], 6);
        assert_eq!(log.total().output_tokens, 3);
    }

    #[test]
    fn agent_messages_and_the_end_are_events() {
        let (mut log, _) = TurnLog::begin(context(), 0, "hi", TokenUsage::default());
        let message = TurnEvent::ItemCompleted(ThreadItem {
            id: "item_0".to_owned(),
            details: ItemDetails::AgentMessage {
                text: "done".to_owned(),
            },
        });
        assert_eq!(log.event(&message).len(), 1);
        let end = log.end(&TurnOutcome::Interrupted);
        let [RolloutItem::EventMsg(value)] = end.as_slice() else {
            panic!("{end:?}");
        };
        assert_eq!(value["type"], "turn_aborted");
        assert_eq!(value["turn_id"], "t1");
    }
}
