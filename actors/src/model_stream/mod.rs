//! The model-stream actor: one per model request, supervised by the
//! session.
//!
//! A [`ModelRequest`] (the whole conversation as [`ResponseItem`]s, plus the
//! tools on offer) goes to a [`ModelProvider`] over one of two wire APIs:
//! - the OpenAI Responses API, `POST {base_url}/responses` with
//!   `stream: true`; the `response.output_item.done` items are
//!   authoritative and `response.completed` carries the usage;
//! - Chat Completions (`wire_api = "chat"`, for Ollama, vLLM, LM Studio),
//!   `POST {base_url}/chat/completions`; tool-call fragments are joined by
//!   their `index`.
//!
//! The actor reports [`StreamEvent`]s on a channel: a
//! [`StreamEvent::Retrying`] notice before each retry, then exactly one
//! [`StreamEvent::Completed`] or [`StreamEvent::Failed`]. If the actor dies
//! without either, the channel closes, so a turn can never hang on it.
//!
//! Retries follow Codex (see `machine`): 429, 5xx and transport errors
//! are retried before the stream starts, up to `request_max_retries`; a
//! stream that breaks, stalls past the idle timeout, or ends without
//! `response.completed` is sent again, up to `stream_max_retries`; other 4xx
//! answers fail at once. Delays start at 200 ms and double, with ±10 %
//! jitter, unless the server says how long to wait.

mod chat;
mod items;
mod machine;
mod provider;
mod responses;
mod shell;

use std::time::Duration;

pub use items::{
    ContentItem, CustomToolCall, CustomToolCallOutput, FunctionCall, FunctionCallOutput, Message,
    Reasoning, ResponseItem, SummaryText,
};
pub use machine::{Effect, Input, MAX_SERVER_DELAY, Machine, RetryPolicy, WireEvent};
pub use provider::{DEFAULT_MODEL, ModelProvider, ProviderError, Secret, resolve_provider};
pub(crate) use shell::ModelStreamActor;

pub use chat::{ChatAccumulator, chat_body};
pub use responses::{parse_responses_event, responses_body};

/// One request to the model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRequest {
    /// The model's name.
    pub model: String,
    /// The whole conversation so far.
    pub input: Vec<ResponseItem>,
    /// The function tools on offer.
    pub tools: Vec<ToolSpec>,
    /// A JSON Schema the final answer must follow (`--output-schema`).
    pub output_schema: Option<serde_json::Value>,
    /// `model_reasoning_effort`, when configured.
    pub reasoning_effort: Option<String>,
    /// The thread's id: the prompt cache key and the session header.
    pub thread_id: String,
}

/// A tool as the model sees it: a function with JSON arguments, or a
/// freeform tool whose input is text in a grammar.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    /// The name the model calls it by.
    pub name: String,
    /// What it does.
    pub description: String,
    /// The JSON Schema of its arguments (a function tool).
    pub parameters: serde_json::Value,
    /// A Lark grammar: the tool is offered as a freeform (custom) tool where
    /// the API supports it, and otherwise as a function with one string
    /// `input`.
    pub freeform: Option<String>,
}

impl ToolSpec {
    /// The arguments' schema when the tool is offered as a function: its
    /// own, or one string `input` for a freeform tool.
    pub fn function_parameters(&self) -> serde_json::Value {
        match &self.freeform {
            None => self.parameters.clone(),
            Some(_) => serde_json::json!({
                "type": "object",
                "properties": { "input": { "type": "string", "description": "The whole input text." } },
                "required": ["input"],
                "additionalProperties": false,
            }),
        }
    }
}

/// Token counts of one response, or summed over a turn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenUsage {
    /// Input tokens, cached ones included.
    pub input_tokens: u64,
    /// Input tokens read from the prompt cache.
    pub cached_input_tokens: u64,
    /// Input tokens written to the prompt cache.
    pub cache_write_input_tokens: u64,
    /// Output tokens, reasoning included.
    pub output_tokens: u64,
    /// Output tokens spent on reasoning.
    pub reasoning_output_tokens: u64,
}

impl std::ops::AddAssign for TokenUsage {
    fn add_assign(&mut self, other: TokenUsage) {
        self.input_tokens += other.input_tokens;
        self.cached_input_tokens += other.cached_input_tokens;
        self.cache_write_input_tokens += other.cache_write_input_tokens;
        self.output_tokens += other.output_tokens;
        self.reasoning_output_tokens += other.reasoning_output_tokens;
    }
}

/// A finished response.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelResponse {
    /// The response id (empty for Chat Completions).
    pub id: String,
    /// Every output item, in order.
    pub items: Vec<ResponseItem>,
    /// Its token usage.
    pub usage: TokenUsage,
}

/// What a model stream reports.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// The request failed in a way worth retrying; it is sent again after
    /// `after`. Non-fatal: exec shows it as `Reconnecting... {attempt}/{max}`.
    Retrying {
        /// This retry's number, from 1.
        attempt: u32,
        /// How many retries this layer allows.
        max: u32,
        /// The wait before it.
        after: Duration,
        /// What went wrong.
        error: ModelError,
    },
    /// Answer text as it arrives (for a live view; not part of the
    /// history until the item is complete).
    Delta(String),
    /// The response, complete.
    Completed(ModelResponse),
    /// The request failed for good.
    Failed(ModelError),
}

/// Why a model request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The server answered with a non-success status.
    #[error("unexpected status {status}: {message}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The error message from the body, or the start of the body.
        message: String,
        /// How long the server asked us to wait (`Retry-After`).
        retry_after: Option<Duration>,
    },
    /// The request could not be sent, or the connection failed before an
    /// answer; the text names the URL and why.
    #[error("{0}")]
    Transport(String),
    /// The server accepted the request but sent no response headers within
    /// `stream_idle_timeout_ms`.
    #[error("no response from the model endpoint within {} s (stream_idle_timeout_ms)", .0.as_secs_f64())]
    NoResponse(Duration),
    /// The event stream broke.
    #[error("stream error: {0}")]
    Stream(String),
    /// The event stream ended without `response.completed`.
    #[error("stream closed before response.completed")]
    Incomplete,
    /// No event arrived within `stream_idle_timeout_ms`.
    #[error("idle timeout waiting for SSE after {} s", .0.as_secs_f64())]
    IdleTimeout(Duration),
    /// `response.failed` (or `response.incomplete`) ended the stream.
    #[error("{message}")]
    Failed {
        /// The error code, such as `server_error` or `rate_limit_exceeded`.
        code: Option<String>,
        /// The server's message.
        message: String,
    },
    /// The conversation no longer fits the model's context window.
    #[error("the model's context window is exhausted: {0}")]
    ContextWindowExceeded(String),
    /// The account's quota or plan does not allow the request.
    #[error("quota exceeded: {0}")]
    QuotaExceeded(String),
    /// Retries ran out; `last` is the final failure.
    #[error("exceeded retry limit after {attempts} attempts; last error: {last}")]
    RetryLimit {
        /// Requests sent in all.
        attempts: u32,
        /// The last failure.
        last: Box<ModelError>,
    },
    /// The model stream stopped before it finished (the session shut down).
    #[error("the model stream stopped before the response completed")]
    Stopped,
}
