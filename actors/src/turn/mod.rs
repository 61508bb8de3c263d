//! One agent turn: ask the model, run the tools it calls, give it their
//! outputs, and ask again until it answers without calling a tool.
//!
//! [`Machine`] is the pure core (`step(input) -> effects`): it owns the
//! history, decides which tool each call means, formats every output the
//! model reads and every [`TurnEvent`] the user sees. The session is its
//! shell (`Session::run_turn`): it starts model-stream actors, runs
//! commands through sandbox-process actors and calls MCP servers, and feeds
//! what happens back in.
//!
//! Tools on offer:
//! - `exec_command`, with the parameters Codex 0.169 offers, run through
//!   the sandbox as `/bin/bash -lc CMD` (`login = false`: `-c`);
//! - a legacy `shell` call (`command: string[]`) is accepted too;
//! - every tool of every ready MCP server, as `mcp__<server>__<tool>`.
//!
//! A tool error, a timeout, bad JSON arguments or an unknown tool becomes an
//! output the model reads: it never fails the turn.
//!
//! Every call passes the approval gate first (`approval.rs`): the admin's
//! command rules, the approval policy and each MCP tool's approval mode.
//! A call that needs an answer waits for [`Input::Approval`]; a headless
//! run answers [`ApprovalDecision::NoOneToAsk`].

mod approval;
mod exec_tool;
mod machine;
mod tools;

use std::path::PathBuf;
use std::time::Duration;

pub use approval::{
    ApprovalDecision, ApprovalReason, ApprovalRequest, ApprovalSubject, TurnPolicy,
};
pub use exec_tool::{
    EXEC_COMMAND, LEGACY_SHELL, WRITE_STDIN, exec_command_spec, shell_quote, write_stdin_spec,
};
pub use machine::{Effect, Input, Machine, McpOutcome};
pub use tools::{
    APPLY_PATCH, LIST_RESOURCE_TEMPLATES, LIST_RESOURCES, READ_RESOURCE, ResourceRequest,
    apply_patch_spec, resource_specs,
};

use crate::model_stream::{TokenUsage, ToolSpec};

/// What a turn needs to know up front.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnConfig {
    /// The model's name.
    pub model: String,
    /// `model_reasoning_effort`.
    pub reasoning_effort: Option<String>,
    /// The thread's id.
    pub thread_id: String,
    /// This turn's id (a UUID): in the rollout and in `notify`.
    pub turn_id: String,
    /// Instructions that open the conversation (a developer message).
    pub instructions: String,
    /// The working directory: commands run here unless `workdir` says
    /// otherwise.
    pub cwd: PathBuf,
    /// MCP tools on offer: the name the model sees, the server and the
    /// tool's own name, and what the model is told about it.
    pub mcp_tools: Vec<McpTool>,
    /// Every MCP server of the session. A call to `mcp__<server>__<tool>`
    /// that is not on offer (a tool an admin forbids or a lock withholds)
    /// still goes to its server, whose refusal, naming the rule, becomes
    /// the output the model reads.
    pub mcp_servers: Vec<String>,
    /// `--output-schema`.
    pub output_schema: Option<serde_json::Value>,
    /// How long a command may run when the call does not say.
    pub command_timeout: Duration,
    /// Drives chunk ids; any value.
    pub seed: u64,
    /// The approval policy, sandbox and command rules in force when the
    /// turn starts ([`Input::Policy`] replaces them).
    pub policy: TurnPolicy,
    /// Calls the user approved for the whole session in earlier turns.
    pub session_approvals: std::collections::BTreeSet<String>,
    /// The conversation so far (a resumed session, or earlier turns),
    /// instructions included; empty for a new conversation, which then
    /// opens with `instructions`.
    pub history: Vec<crate::model_stream::ResponseItem>,
}

/// One MCP tool as offered to the model.
#[derive(Debug, Clone, PartialEq)]
pub struct McpTool {
    /// `mcp__<server>__<tool>`.
    pub qualified: String,
    /// The server.
    pub server: String,
    /// The tool's MCP name.
    pub tool: String,
    /// Its description and input schema, under `qualified`.
    pub spec: ToolSpec,
    /// Whether a call needs the user's approval: it is not annotated
    /// read-only, or its approval mode says so.
    pub needs_approval: bool,
}

/// What the user sees of a turn (exec's JSONL events).
#[derive(Debug, Clone, PartialEq)]
pub enum TurnEvent {
    /// The turn began.
    TurnStarted,
    /// Answer text as it streams in (a live view shows it; the complete
    /// message follows as an item, and a retry starts the text again).
    TextDelta {
        /// The new text.
        text: String,
    },
    /// An item began.
    ItemStarted(ThreadItem),
    /// An item reached its final state.
    ItemCompleted(ThreadItem),
    /// A non-fatal problem, such as a retried model request.
    Error {
        /// What happened.
        message: String,
    },
    /// The turn completed.
    TurnCompleted {
        /// Tokens used over the whole turn.
        usage: TokenUsage,
    },
    /// The turn failed.
    TurnFailed {
        /// Why.
        message: String,
    },
}

/// One item of a turn, with its `item_N` id.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadItem {
    /// `item_0`, `item_1`, ...: one counter over every kind of item.
    pub id: String,
    /// What it is.
    pub details: ItemDetails,
}

/// The kinds of items.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemDetails {
    /// The model's answer.
    AgentMessage {
        /// Its text (a JSON document under `--output-schema`).
        text: String,
    },
    /// A reasoning summary.
    Reasoning {
        /// The summary text.
        text: String,
    },
    /// A command the model ran.
    CommandExecution {
        /// As shown: `/bin/bash -lc '<cmd>'`.
        command: String,
        /// Where it runs.
        cwd: PathBuf,
        /// stdout and stderr, in the order they arrived.
        aggregated_output: String,
        /// Set once it ended.
        exit_code: Option<i32>,
        /// How long it ran, once it ended.
        duration: Option<Duration>,
        /// Where it stands.
        status: ItemStatus,
    },
    /// Files a patch changes (`apply_patch`).
    FileChange {
        /// Each file and how.
        changes: Vec<FileChangeEntry>,
        /// Where it stands.
        status: ItemStatus,
    },
    /// A call of an MCP tool.
    McpToolCall {
        /// The server.
        server: String,
        /// The tool's MCP name.
        tool: String,
        /// The arguments as the model gave them.
        arguments: serde_json::Value,
        /// The result, once there is one.
        result: Option<McpOutcome>,
        /// Why it failed, when it did.
        error: Option<String>,
        /// Where it stands.
        status: ItemStatus,
    },
    /// A warning, such as a server that could not start.
    Error {
        /// What happened.
        message: String,
    },
}

/// One file of a patch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChangeEntry {
    /// The file (resolved against the working directory).
    pub path: PathBuf,
    /// `add`, `delete` or `update`.
    pub kind: &'static str,
}

/// Where a command or tool call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemStatus {
    /// Running.
    InProgress,
    /// Done (exit 0, or a tool result).
    Completed,
    /// Ended badly (non-zero exit, tool error, interrupted).
    Failed,
    /// Refused before it ran.
    Declined,
}

impl ItemStatus {
    /// The JSONL spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::InProgress => "in_progress",
            ItemStatus::Completed => "completed",
            ItemStatus::Failed => "failed",
            ItemStatus::Declined => "declined",
        }
    }
}

/// How a turn ended.
#[derive(Debug, Clone, PartialEq)]
pub enum TurnOutcome {
    /// The model answered without calling a tool.
    Completed {
        /// The last agent message, if any.
        last_message: Option<String>,
        /// Tokens used.
        usage: TokenUsage,
    },
    /// The model request failed for good.
    Failed {
        /// Why.
        message: String,
    },
    /// The turn was cancelled (Ctrl-C).
    Interrupted,
}
