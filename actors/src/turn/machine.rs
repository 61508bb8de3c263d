//! The turn's pure core. No actix, no tokio, no IO: the shell passes in
//! what the model said and what the tools did, with the wall time each
//! command took.
//!
//! ```text
//! Idle --Start--> Sampling --Completed(no calls)--> Done (TurnCompleted)
//!                   |   ^
//!        Completed  |   | every call answered
//!        with calls v   |
//!                 RunningTools
//! Sampling --Failed / stream lost / a call of an unknown kind--> Done (TurnFailed)
//! any --Interrupt--> Done (no turn event)
//! ```
//!
//! The calls a response may hold: `exec_command` (a process session that
//! may outlive its first answer), `write_stdin`, the legacy `shell`,
//! `apply_patch` (as a function or a freeform call), the MCP resource
//! tools, and MCP tools by qualified name or by namespace. Every call gets
//! an output the model reads, even one that cannot run; an item of a kind
//! this machine cannot answer fails the turn loudly rather than leaving the
//! model waiting.
//!
//! Items started and not finished when the turn ends are completed as
//! `failed` first, so a consumer never sees an item left in progress.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::Value;

use super::approval::{self, ApprovalDecision, ApprovalRequest, ApprovalSubject, Gate, TurnPolicy};
use super::exec_tool::{
    self, CallRefused, CommandCall, EXEC_COMMAND, LEGACY_SHELL, ProcessState, WRITE_STDIN,
    aggregated_output, exec_command_spec, write_stdin_spec,
};
use super::tools::{
    self, APPLY_PATCH, ResourceRequest, apply_patch_spec, resource_call, resource_specs,
};
use super::{
    FileChangeEntry, ItemDetails, ItemStatus, McpTool, ThreadItem, TurnConfig, TurnEvent,
    TurnOutcome,
};
use crate::apply_patch::{Hunk, parse_patch};
use crate::model_stream::{
    CustomToolCallOutput, FunctionCallOutput, ModelRequest, ModelResponse, ResponseItem,
    StreamEvent, TokenUsage, ToolSpec,
};
use crate::sandbox_process::{CommandExit, ProcessChunk};

/// What an MCP tool call returned, reduced to what the turn shows.
#[derive(Debug, Clone, PartialEq)]
pub struct McpOutcome {
    /// The content blocks, as JSON.
    pub content: Vec<Value>,
    /// `structuredContent`, when the tool gave one.
    pub structured_content: Option<Value>,
    /// The tool reported an error.
    pub is_error: bool,
}

/// Everything that can happen during a turn.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A warning to show as an `error` item (a server that could not
    /// start, a sandbox mode that fell back). Allowed before `Start`.
    Warning(String),
    /// Begin, with the user's prompt.
    Start {
        /// The prompt.
        prompt: String,
        /// Images attached to it (`-i`), as `data:` URLs.
        images: Vec<String>,
    },
    /// The model stream reported.
    Stream(StreamEvent),
    /// The model stream went away without a final report.
    StreamLost,
    /// A command run to its end (the legacy `shell` tool) finished, or
    /// could not start.
    CommandDone {
        /// The call it answers.
        call_id: String,
        /// Its exit, or why it did not run.
        result: Result<CommandExit, String>,
        /// How long it took.
        wall: Duration,
    },
    /// A process session answered: the first answer of `exec_command`, or
    /// the answer to a `write_stdin`.
    ProcessOutput {
        /// The call it answers.
        call_id: String,
        /// The session; `None` when the command could not start.
        session_id: Option<u64>,
        /// What it wrote since the last answer, and its exit once it ended.
        result: Result<ProcessChunk, String>,
        /// How long the call took.
        wall: Duration,
    },
    /// A patch was applied, or refused.
    PatchDone {
        /// The call it answers.
        call_id: String,
        /// The summary the model reads, or why nothing changed.
        result: Result<String, String>,
    },
    /// A resource request answered.
    ResourcesDone {
        /// The call it answers.
        call_id: String,
        /// The answer, as JSON, or why there is none.
        result: Result<Value, String>,
    },
    /// An MCP tool call finished.
    McpDone {
        /// The call it answers.
        call_id: String,
        /// The result, or why there is none.
        result: Result<McpOutcome, String>,
    },
    /// The user answered an approval request.
    Approval {
        /// The call it answers.
        call_id: String,
        /// The answer.
        decision: ApprovalDecision,
    },
    /// The admin's requirements changed: this policy applies from the next
    /// call on.
    Policy(TurnPolicy),
    /// The MCP tools on offer changed (a server stopped, started, or
    /// re-judged its tools): the next request offers these.
    McpTools(Vec<McpTool>),
    /// What a running command has written so far, just before an
    /// interrupt: its item keeps it when the turn ends.
    Progress {
        /// The call.
        call_id: String,
        /// The output so far, in arrival order.
        output: String,
    },
    /// Ctrl-C.
    Interrupt,
}

/// What the shell must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Show this to the user.
    Emit(TurnEvent),
    /// Start a model stream for this request.
    Sample(ModelRequest),
    /// Run a command in the sandbox to its end.
    RunCommand {
        /// The call it answers.
        call_id: String,
        /// The argv.
        argv: Vec<String>,
        /// Where.
        cwd: std::path::PathBuf,
        /// For how long at most.
        timeout: Duration,
        /// Approved to run outside the sandbox.
        escalated: bool,
    },
    /// Start a command as a process session and answer with what it wrote
    /// within `wait` ([`Input::ProcessOutput`]).
    StartProcess {
        /// The call it answers.
        call_id: String,
        /// The argv.
        argv: Vec<String>,
        /// Where.
        cwd: std::path::PathBuf,
        /// Its longest life.
        timeout: Duration,
        /// How long to wait before the first answer.
        wait: Duration,
        /// Approved to run outside the sandbox.
        escalated: bool,
    },
    /// Write to (or only poll) a process session.
    WriteStdin {
        /// The call it answers.
        call_id: String,
        /// The session.
        session_id: u64,
        /// What to write.
        chars: String,
        /// How long to wait for output.
        wait: Duration,
    },
    /// Apply a patch where the sandbox lets commands write.
    ApplyPatch {
        /// The call it answers.
        call_id: String,
        /// The patch text.
        input: String,
        /// The directory its paths are relative to.
        cwd: std::path::PathBuf,
        /// Approved to write outside the sandbox.
        escalated: bool,
    },
    /// Ask MCP servers for resources.
    Resources {
        /// The call it answers.
        call_id: String,
        /// What to ask.
        request: ResourceRequest,
    },
    /// Call an MCP tool.
    CallTool {
        /// The call it answers.
        call_id: String,
        /// The server.
        server: String,
        /// The tool's MCP name.
        tool: String,
        /// The arguments.
        arguments: Option<serde_json::Map<String, Value>>,
        /// The approval gate let it through (a call of a tool the turn
        /// does not know is not: the session checks whether it needs one).
        approved: bool,
    },
    /// Ask the user; the answer comes back as [`Input::Approval`].
    AskApproval(ApprovalRequest),
    /// The turn is over.
    Finish(TurnOutcome),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    Sampling,
    RunningTools,
    Done,
}

/// A call the turn is waiting on.
#[derive(Debug)]
struct Pending {
    call_id: String,
    /// A freeform call: its output is a `custom_tool_call_output`.
    custom: bool,
    /// The output once known.
    output: Option<String>,
    /// The item shown for it, if any.
    item: Option<ThreadItem>,
    /// For commands: what runs and how its output is shown.
    command: Option<CommandCall>,
    /// For `write_stdin`: the session and the output budget.
    stdin: Option<(u64, usize)>,
    /// What runs once the user approves.
    awaiting: Option<Awaiting>,
}

impl Pending {
    fn new(call_id: String, custom: bool) -> Self {
        Pending {
            call_id,
            custom,
            output: None,
            item: None,
            command: None,
            stdin: None,
            awaiting: None,
        }
    }
}

/// A call held for an approval.
#[derive(Debug)]
enum Awaiting {
    Command,
    Patch {
        input: String,
        key: String,
    },
    Tool {
        server: String,
        tool: String,
        arguments: Option<serde_json::Map<String, Value>>,
    },
}

/// Where a qualified MCP tool name goes.
#[derive(Debug, Clone)]
struct Route {
    server: String,
    tool: String,
    needs_approval: bool,
}

/// A process session that outlived its call, with its item still open.
#[derive(Debug)]
struct Running {
    item: ThreadItem,
    output: String,
    /// The time its calls waited on it so far.
    wall: Duration,
}

/// One call of a response, whatever its form.
#[derive(Debug, Clone)]
struct Call {
    call_id: String,
    name: String,
    namespace: Option<String>,
    /// JSON arguments (a function call) or raw text (a freeform call).
    input: String,
    custom: bool,
}

/// The state of one turn.
#[derive(Debug)]
pub struct Machine {
    config: TurnConfig,
    phase: Phase,
    history: Vec<ResponseItem>,
    tools: Vec<ToolSpec>,
    routes: BTreeMap<String, Route>,
    pending: Vec<Pending>,
    /// Process sessions started by this turn and still running.
    running: BTreeMap<u64, Running>,
    /// Calls approved for the whole session.
    approved: BTreeSet<String>,
    next_item: u64,
    next_chunk: u64,
    usage: TokenUsage,
    last_message: Option<String>,
}

impl Machine {
    /// A turn that has not started. The conversation is `config.history`
    /// (a resumed session, or the turns before), or else opens with the
    /// instructions.
    pub fn new(config: TurnConfig) -> Self {
        let (tools, routes) = offer(&config.mcp_tools, !config.mcp_servers.is_empty());
        let history = if config.history.is_empty() {
            vec![ResponseItem::developer_text(config.instructions.clone())]
        } else {
            config.history.clone()
        };
        Machine {
            history,
            approved: config.session_approvals.clone(),
            config,
            phase: Phase::Idle,
            tools,
            routes,
            pending: Vec::new(),
            running: BTreeMap::new(),
            next_item: 0,
            next_chunk: 0,
            usage: TokenUsage::default(),
            last_message: None,
        }
    }

    /// What the turn was set up with (its policy as last updated).
    pub fn config(&self) -> &TurnConfig {
        &self.config
    }

    /// The conversation so far.
    pub fn history(&self) -> &[ResponseItem] {
        &self.history
    }

    /// Every call approved for the whole session so far (earlier turns'
    /// and this one's), for the next turn.
    pub fn session_approvals(&self) -> &BTreeSet<String> {
        &self.approved
    }

    /// Advances the turn.
    pub fn step(&mut self, input: Input) -> Vec<Effect> {
        match (self.phase, input) {
            (Phase::Done, _) => Vec::new(),
            (_, Input::Warning(message)) => {
                let item = self.item(ItemDetails::Error { message });
                vec![Effect::Emit(TurnEvent::ItemCompleted(item))]
            }
            (_, Input::Interrupt) => self.interrupt(),
            (_, Input::Progress { call_id, output }) => {
                let item = self
                    .pending
                    .iter_mut()
                    .find(|p| p.call_id == call_id)
                    .and_then(|p| p.item.as_mut());
                if let Some(ThreadItem {
                    details:
                        ItemDetails::CommandExecution {
                            aggregated_output, ..
                        },
                    ..
                }) = item
                {
                    *aggregated_output = output;
                }
                Vec::new()
            }
            (_, Input::Policy(policy)) => {
                self.policy(policy);
                Vec::new()
            }
            (_, Input::McpTools(tools)) => {
                (self.tools, self.routes) = offer(&tools, !self.config.mcp_servers.is_empty());
                self.config.mcp_tools = tools;
                Vec::new()
            }
            (Phase::RunningTools, Input::Approval { call_id, decision }) => {
                self.approval(&call_id, decision)
            }
            (Phase::Idle, Input::Start { prompt, images }) => {
                let mut message = ResponseItem::user_text(prompt);
                if let ResponseItem::Message(message) = &mut message {
                    message.content.extend(images.into_iter().map(|image_url| {
                        crate::model_stream::ContentItem::InputImage { image_url }
                    }));
                }
                self.history.push(message);
                let mut effects = vec![Effect::Emit(TurnEvent::TurnStarted)];
                effects.extend(self.sample());
                effects
            }
            (
                Phase::Sampling,
                Input::Stream(StreamEvent::Retrying {
                    attempt,
                    max,
                    error,
                    ..
                }),
            ) => vec![Effect::Emit(TurnEvent::Error {
                message: format!("Reconnecting... {attempt}/{max} ({error})"),
            })],
            (Phase::Sampling, Input::Stream(StreamEvent::Delta(text))) => {
                vec![Effect::Emit(TurnEvent::TextDelta { text })]
            }
            (Phase::Sampling, Input::Stream(StreamEvent::Completed(response))) => {
                self.completed(response)
            }
            (Phase::Sampling, Input::Stream(StreamEvent::Failed(error))) => {
                self.fail(error.to_string())
            }
            (Phase::Sampling, Input::StreamLost) => {
                self.fail("the model stream stopped before the response completed".to_owned())
            }
            (
                Phase::RunningTools,
                Input::CommandDone {
                    call_id,
                    result,
                    wall,
                },
            ) => self.command_done(&call_id, result, wall),
            (
                Phase::RunningTools,
                Input::ProcessOutput {
                    call_id,
                    session_id,
                    result,
                    wall,
                },
            ) => self.process_output(&call_id, session_id, result, wall),
            (Phase::RunningTools, Input::PatchDone { call_id, result }) => {
                self.patch_done(&call_id, result)
            }
            (Phase::RunningTools, Input::ResourcesDone { call_id, result }) => {
                let output = match result {
                    Ok(value) => value.to_string(),
                    Err(reason) => format!("resource request failed: {reason}"),
                };
                self.answer(&call_id, output, None)
            }
            (Phase::RunningTools, Input::McpDone { call_id, result }) => {
                self.mcp_done(&call_id, result)
            }
            // Stale or out of order.
            (Phase::Idle | Phase::Sampling | Phase::RunningTools, _) => Vec::new(),
        }
    }

    fn sample(&mut self) -> Vec<Effect> {
        self.phase = Phase::Sampling;
        vec![Effect::Sample(ModelRequest {
            model: self.config.model.clone(),
            input: self.history.clone(),
            tools: self.tools.clone(),
            output_schema: self.config.output_schema.clone(),
            reasoning_effort: self.config.reasoning_effort.clone(),
            thread_id: self.config.thread_id.clone(),
        })]
    }

    fn item(&mut self, details: ItemDetails) -> ThreadItem {
        let id = format!("item_{}", self.next_item);
        self.next_item += 1;
        ThreadItem { id, details }
    }

    fn completed(&mut self, response: ModelResponse) -> Vec<Effect> {
        self.usage += response.usage;
        let mut effects = Vec::new();
        let mut calls = Vec::new();
        let mut unknown_calls = Vec::new();
        let mut unshown = Vec::new();
        let mut answered = false;
        for item in response.items {
            match &item {
                ResponseItem::Reasoning(reasoning) => {
                    let text = reasoning.summary_text();
                    if !text.trim().is_empty() {
                        let item = self.item(ItemDetails::Reasoning { text });
                        effects.push(Effect::Emit(TurnEvent::ItemCompleted(item)));
                    }
                }
                ResponseItem::Message(_) => {
                    if let Some(text) = item.assistant_message_text() {
                        answered = true;
                        self.last_message = Some(text.clone());
                        let item = self.item(ItemDetails::AgentMessage { text });
                        effects.push(Effect::Emit(TurnEvent::ItemCompleted(item)));
                    }
                }
                ResponseItem::FunctionCall(call) => calls.push(Call {
                    call_id: call.call_id.clone(),
                    name: call.name.clone(),
                    namespace: call.namespace.clone(),
                    input: call.arguments.clone(),
                    custom: false,
                }),
                ResponseItem::CustomToolCall(call) => calls.push(Call {
                    call_id: call.call_id.clone(),
                    name: call.name.clone(),
                    namespace: None,
                    input: call.input.clone(),
                    custom: true,
                }),
                ResponseItem::Other(value) => {
                    let kind = value
                        .get("type")
                        .and_then(Value::as_str)
                        .unwrap_or("an item without a type")
                        .to_owned();
                    if value.get("call_id").is_some() {
                        unknown_calls.push(kind);
                    } else {
                        unshown.push(kind);
                    }
                }
                ResponseItem::FunctionCallOutput(_) | ResponseItem::CustomToolCallOutput(_) => {}
            }
            self.history.push(item);
        }
        if !unknown_calls.is_empty() {
            // The model waits for an answer this client cannot give.
            let mut failed = self.fail(format!(
                "the model called a kind of tool this client does not run ({}); the turn \
                 cannot go on",
                unknown_calls.join(", ")
            ));
            effects.append(&mut failed);
            return effects;
        }
        // Answers and approvals are matched by call id: two calls with one
        // id could have one's answer applied to the other.
        let mut ids: Vec<&str> = calls.iter().map(|call| call.call_id.as_str()).collect();
        ids.sort_unstable();
        if let Some(pair) = ids.windows(2).find(|pair| pair[0] == pair[1]) {
            let message = format!(
                "the model gave two calls the same id ({}); the turn cannot go on",
                pair[0]
            );
            let mut failed = self.fail(message);
            effects.append(&mut failed);
            return effects;
        }
        if calls.is_empty() {
            if !answered && !unshown.is_empty() {
                let item = self.item(ItemDetails::Error {
                    message: format!(
                        "the model's answer holds only items this client does not show ({})",
                        unshown.join(", ")
                    ),
                });
                effects.push(Effect::Emit(TurnEvent::ItemCompleted(item)));
            }
            self.phase = Phase::Done;
            effects.push(Effect::Emit(TurnEvent::TurnCompleted { usage: self.usage }));
            effects.push(Effect::Finish(TurnOutcome::Completed {
                last_message: self.last_message.clone(),
                usage: self.usage,
            }));
            return effects;
        }
        self.phase = Phase::RunningTools;
        for call in calls {
            effects.extend(self.dispatch(call));
        }
        // Every call may have been answered on the spot (refused, unknown).
        effects.extend(self.maybe_continue());
        effects
    }

    /// Starts one call, or answers it at once when it cannot run.
    fn dispatch(&mut self, call: Call) -> Vec<Effect> {
        if call.custom {
            return match call.name.as_str() {
                APPLY_PATCH => self.apply_patch(call.call_id, true, &call.input),
                other => self.refuse(
                    call.call_id,
                    true,
                    format!("unsupported call: no freeform tool is named {other}"),
                ),
            };
        }
        if call.namespace.is_none() {
            let cwd = self.config.cwd.clone();
            let timeout = self.config.command_timeout;
            match call.name.as_str() {
                EXEC_COMMAND => {
                    let parsed = exec_tool::exec_command_call(&call.input, &cwd, timeout);
                    return self.command(call.call_id, parsed);
                }
                LEGACY_SHELL => {
                    let parsed = exec_tool::shell_call(&call.input, &cwd, timeout);
                    return self.command(call.call_id, parsed);
                }
                WRITE_STDIN => return self.write_stdin(call.call_id, &call.input),
                APPLY_PATCH => {
                    return match tools::patch_input(&call.input) {
                        Ok(input) => self.apply_patch(call.call_id, false, &input),
                        Err(refused) => self.refuse(call.call_id, false, refused.text()),
                    };
                }
                name => {
                    if let Some(request) = resource_call(name, &call.input) {
                        return match request {
                            Ok(request) => {
                                self.pending.push(Pending::new(call.call_id.clone(), false));
                                vec![Effect::Resources {
                                    call_id: call.call_id,
                                    request,
                                }]
                            }
                            Err(refused) => self.refuse(call.call_id, false, refused.text()),
                        };
                    }
                }
            }
        }
        self.mcp_call(call)
    }

    /// A command call: the gate, then to the end or as a process session.
    fn command(
        &mut self,
        call_id: String,
        parsed: Result<CommandCall, CallRefused>,
    ) -> Vec<Effect> {
        let command = match parsed {
            Ok(command) => command,
            Err(refused) => return self.refuse(call_id, false, refused.text()),
        };
        match approval::command_gate(&self.config.policy, &command, &self.approved) {
            Gate::Run { escalated } => self.run_command(call_id, command, escalated),
            Gate::Ask(reason) => {
                let request = ApprovalRequest {
                    call_id: call_id.clone(),
                    subject: ApprovalSubject::Command {
                        command: command.display.clone(),
                        cwd: command.cwd.clone(),
                    },
                    reason,
                };
                let mut pending = Pending::new(call_id, false);
                pending.command = Some(command);
                pending.awaiting = Some(Awaiting::Command);
                self.pending.push(pending);
                vec![Effect::AskApproval(request)]
            }
            Gate::Refuse(text) => {
                let item = self.item(command_item(&command, ItemStatus::Declined));
                self.answered(call_id, false, text);
                vec![Effect::Emit(TurnEvent::ItemCompleted(item))]
            }
        }
    }

    /// Starts a command now.
    fn run_command(
        &mut self,
        call_id: String,
        command: CommandCall,
        escalated: bool,
    ) -> Vec<Effect> {
        let item = self.item(command_item(&command, ItemStatus::InProgress));
        let run = match command.yield_time {
            Some(wait) => Effect::StartProcess {
                call_id: call_id.clone(),
                argv: command.argv.clone(),
                cwd: command.cwd.clone(),
                timeout: command.timeout,
                wait,
                escalated,
            },
            None => Effect::RunCommand {
                call_id: call_id.clone(),
                argv: command.argv.clone(),
                cwd: command.cwd.clone(),
                timeout: command.timeout,
                escalated,
            },
        };
        let effects = vec![Effect::Emit(TurnEvent::ItemStarted(item.clone())), run];
        match self.pending.iter_mut().find(|p| p.call_id == call_id) {
            Some(pending) => {
                pending.item = Some(item);
                pending.awaiting = None;
            }
            None => {
                let mut pending = Pending::new(call_id, false);
                pending.item = Some(item);
                pending.command = Some(command);
                self.pending.push(pending);
            }
        }
        effects
    }

    /// `write_stdin`: no gate (the process was already allowed to run).
    fn write_stdin(&mut self, call_id: String, arguments: &str) -> Vec<Effect> {
        let call = match exec_tool::write_stdin_call(arguments) {
            Ok(call) => call,
            Err(refused) => return self.refuse(call_id, false, refused.text()),
        };
        let mut pending = Pending::new(call_id.clone(), false);
        pending.stdin = Some((call.session_id, call.output_budget));
        self.pending.push(pending);
        vec![Effect::WriteStdin {
            call_id,
            session_id: call.session_id,
            chars: call.chars,
            wait: call.wait,
        }]
    }

    /// `apply_patch`: parsed here (a malformed patch is answered at once),
    /// applied by the shell where the sandbox lets commands write.
    fn apply_patch(&mut self, call_id: String, custom: bool, input: &str) -> Vec<Effect> {
        let patch = match parse_patch(input) {
            Ok(patch) => patch,
            Err(err) => return self.refuse(call_id, custom, err.to_string()),
        };
        let cwd = &self.config.cwd;
        let changes: Vec<FileChangeEntry> = patch
            .hunks
            .iter()
            .map(|hunk| FileChangeEntry {
                path: cwd.join(hunk.path()),
                kind: match hunk {
                    Hunk::Add { .. } => "add",
                    Hunk::Delete { .. } => "delete",
                    Hunk::Update { .. } => "update",
                },
            })
            .collect();
        // Every file it writes, renames included, made absolute.
        let written: Vec<std::path::PathBuf> = patch
            .hunks
            .iter()
            .flat_map(|hunk| {
                let moved = match hunk {
                    Hunk::Update {
                        move_to: Some(to), ..
                    } => Some(to.as_path()),
                    _ => None,
                };
                std::iter::once(hunk.path()).chain(moved)
            })
            .map(|path| codex_transports::lexical_absolute(&cwd.join(path)))
            .collect();
        let gate = approval::patch_gate(&self.config.policy, cwd, &written, &self.approved);
        let item = self.item(ItemDetails::FileChange {
            changes: changes.clone(),
            status: ItemStatus::InProgress,
        });
        let mut pending = Pending::new(call_id.clone(), custom);
        pending.item = Some(item.clone());
        match gate {
            Gate::Run { escalated } => {
                self.pending.push(pending);
                vec![
                    Effect::Emit(TurnEvent::ItemStarted(item)),
                    Effect::ApplyPatch {
                        call_id,
                        input: input.to_owned(),
                        cwd: self.config.cwd.clone(),
                        escalated,
                    },
                ]
            }
            Gate::Ask(reason) => {
                pending.awaiting = Some(Awaiting::Patch {
                    input: input.to_owned(),
                    key: approval::patch_key(&written),
                });
                self.pending.push(pending);
                vec![Effect::AskApproval(ApprovalRequest {
                    call_id,
                    subject: ApprovalSubject::Patch {
                        changes,
                        patch: input.to_owned(),
                    },
                    reason,
                })]
            }
            Gate::Refuse(text) => self.refuse(call_id, custom, text),
        }
    }

    /// An MCP tool, by qualified name or by namespace.
    fn mcp_call(&mut self, call: Call) -> Vec<Effect> {
        let offered = match &call.namespace {
            Some(namespace) => namespace.strip_prefix("mcp__").and_then(|server| {
                self.routes
                    .values()
                    .find(|route| route.server == server && route.tool == call.name)
                    .cloned()
            }),
            None => self.routes.get(&call.name).cloned(),
        };
        // A tool not on offer still goes to its server, whose refusal names
        // the rule; the session itself checks whether it needs approval.
        let (server, tool, gate) = match offered {
            Some(route) => {
                let gate = approval::tool_gate(
                    &self.config.policy,
                    &route.server,
                    &route.tool,
                    route.needs_approval,
                    &self.approved,
                );
                (route.server, route.tool, Some(gate))
            }
            None => {
                let unoffered = match &call.namespace {
                    Some(namespace) => namespace.strip_prefix("mcp__").and_then(|server| {
                        self.config
                            .mcp_servers
                            .iter()
                            .any(|s| s == server)
                            .then(|| (server.to_owned(), call.name.clone()))
                    }),
                    None => unoffered_route(&self.config.mcp_servers, &call.name),
                };
                match unoffered {
                    Some((server, tool)) => (server, tool, None),
                    None => {
                        let name = match &call.namespace {
                            Some(namespace) => format!("{namespace}.{}", call.name),
                            None => call.name.clone(),
                        };
                        return self.refuse(
                            call.call_id,
                            false,
                            format!("unsupported call: {name}"),
                        );
                    }
                }
            }
        };
        let parsed: Result<Value, _> = if call.input.trim().is_empty() {
            Ok(Value::Object(Default::default()))
        } else {
            serde_json::from_str(&call.input)
        };
        let (arguments, problem) = match parsed {
            Ok(Value::Object(map)) => (Some(map), None),
            Ok(Value::Null) => (None, None),
            Ok(other) => (
                None,
                Some(format!(
                    "failed to parse function arguments: expected a JSON object, found {other}"
                )),
            ),
            Err(err) => (
                None,
                Some(format!("failed to parse function arguments: {err}")),
            ),
        };
        let shown = arguments.clone().map_or(Value::Null, Value::Object);
        if let Some(problem) = problem {
            let item = self.item(ItemDetails::McpToolCall {
                server,
                tool,
                arguments: Value::String(call.input.clone()),
                result: None,
                error: Some(problem.clone()),
                status: ItemStatus::Failed,
            });
            self.answered(call.call_id, false, problem);
            return vec![Effect::Emit(TurnEvent::ItemCompleted(item))];
        }
        match gate {
            None => self.call_tool(call.call_id, server, tool, arguments, false),
            Some(Gate::Run { .. }) => self.call_tool(call.call_id, server, tool, arguments, true),
            Some(Gate::Ask(reason)) => {
                let request = ApprovalRequest {
                    call_id: call.call_id.clone(),
                    subject: ApprovalSubject::Tool {
                        server: server.clone(),
                        tool: tool.clone(),
                        arguments: shown,
                    },
                    reason,
                };
                let mut pending = Pending::new(call.call_id, false);
                pending.awaiting = Some(Awaiting::Tool {
                    server,
                    tool,
                    arguments,
                });
                self.pending.push(pending);
                vec![Effect::AskApproval(request)]
            }
            Some(Gate::Refuse(text)) => {
                let item = self.item(ItemDetails::McpToolCall {
                    server,
                    tool,
                    arguments: shown,
                    result: None,
                    error: Some(text.clone()),
                    status: ItemStatus::Failed,
                });
                self.answered(call.call_id, false, format!("tool call failed: {text}"));
                vec![Effect::Emit(TurnEvent::ItemCompleted(item))]
            }
        }
    }

    /// Calls an MCP tool now.
    fn call_tool(
        &mut self,
        call_id: String,
        server: String,
        tool: String,
        arguments: Option<serde_json::Map<String, Value>>,
        approved: bool,
    ) -> Vec<Effect> {
        let item = self.item(ItemDetails::McpToolCall {
            server: server.clone(),
            tool: tool.clone(),
            arguments: arguments.clone().map_or(Value::Null, Value::Object),
            result: None,
            error: None,
            status: ItemStatus::InProgress,
        });
        match self.pending.iter_mut().find(|p| p.call_id == call_id) {
            Some(pending) => {
                pending.item = Some(item.clone());
                pending.awaiting = None;
            }
            None => {
                let mut pending = Pending::new(call_id.clone(), false);
                pending.item = Some(item.clone());
                self.pending.push(pending);
            }
        }
        vec![
            Effect::Emit(TurnEvent::ItemStarted(item)),
            Effect::CallTool {
                call_id,
                server,
                tool,
                arguments,
                approved,
            },
        ]
    }

    /// The user answered an approval request.
    fn approval(&mut self, call_id: &str, decision: ApprovalDecision) -> Vec<Effect> {
        let Some(index) = self
            .pending
            .iter()
            .position(|p| p.call_id == call_id && p.awaiting.is_some())
        else {
            return Vec::new();
        };
        let (awaiting, command) = {
            let pending = &mut self.pending[index];
            (pending.awaiting.take(), pending.command.clone())
        };
        let Some(awaiting) = awaiting else {
            return Vec::new();
        };
        let for_session = decision == ApprovalDecision::ApproveForSession;
        match (decision, awaiting) {
            (
                ApprovalDecision::Approve | ApprovalDecision::ApproveForSession,
                Awaiting::Command,
            ) => {
                let Some(command) = command else {
                    return Vec::new();
                };
                if for_session {
                    self.approved.insert(approval::command_key(&command));
                }
                // The gate refused what requirements forbid before asking;
                // an approval lets an escalated command leave the sandbox.
                let escalated = command.escalation;
                self.run_command(call_id.to_owned(), command, escalated)
            }
            (
                ApprovalDecision::Approve | ApprovalDecision::ApproveForSession,
                Awaiting::Tool {
                    server,
                    tool,
                    arguments,
                },
            ) => {
                if for_session {
                    self.approved.insert(approval::tool_key(&server, &tool));
                }
                self.call_tool(call_id.to_owned(), server, tool, arguments, true)
            }
            (
                ApprovalDecision::Approve | ApprovalDecision::ApproveForSession,
                Awaiting::Patch { input, key },
            ) => {
                if for_session {
                    self.approved.insert(key);
                }
                let item = self.pending.get(index).and_then(|p| p.item.clone());
                let mut effects: Vec<Effect> = item
                    .map(|item| Effect::Emit(TurnEvent::ItemStarted(item)))
                    .into_iter()
                    .collect();
                effects.push(Effect::ApplyPatch {
                    call_id: call_id.to_owned(),
                    input,
                    cwd: self.config.cwd.clone(),
                    escalated: true,
                });
                effects
            }
            (ApprovalDecision::Abort, _) => self.interrupt(),
            (decision @ (ApprovalDecision::Deny | ApprovalDecision::NoOneToAsk), awaiting) => {
                let text = match decision {
                    ApprovalDecision::NoOneToAsk => format!(
                        "this call needs the user's approval, but nobody can give it in this \
                         session (approval policy {}); it was not run",
                        self.config.policy.approval
                    ),
                    _ => "the user declined this call; it was not run. Do something else, or \
                          ask the user what to do differently."
                        .to_owned(),
                };
                let started = self.pending.get(index).and_then(|p| p.item.clone());
                let details = match awaiting {
                    Awaiting::Patch { .. } => ItemDetails::FileChange {
                        changes: match started.as_ref().map(|item| &item.details) {
                            Some(ItemDetails::FileChange { changes, .. }) => changes.clone(),
                            _ => Vec::new(),
                        },
                        status: ItemStatus::Declined,
                    },
                    Awaiting::Command => match &command {
                        Some(command) => command_item(command, ItemStatus::Declined),
                        None => ItemDetails::Error {
                            message: text.clone(),
                        },
                    },
                    Awaiting::Tool {
                        server,
                        tool,
                        arguments,
                    } => ItemDetails::McpToolCall {
                        server,
                        tool,
                        arguments: arguments.map_or(Value::Null, Value::Object),
                        result: None,
                        error: Some(text.clone()),
                        status: ItemStatus::Declined,
                    },
                };
                // A patch's item was numbered when it asked; others are new.
                let item = match started {
                    Some(started) if matches!(details, ItemDetails::FileChange { .. }) => {
                        ThreadItem {
                            id: started.id,
                            details,
                        }
                    }
                    _ => self.item(details),
                };
                if let Some(pending) = self.pending.get_mut(index) {
                    pending.output = Some(text);
                }
                let mut effects = vec![Effect::Emit(TurnEvent::ItemCompleted(item))];
                effects.extend(self.maybe_continue());
                effects
            }
        }
    }

    /// Ends the turn now (Ctrl-C, Esc, or an approval answered "abort").
    fn interrupt(&mut self) -> Vec<Effect> {
        let mut effects = self.reconcile();
        self.phase = Phase::Done;
        effects.push(Effect::Finish(TurnOutcome::Interrupted));
        effects
    }

    /// A new policy: from the next call on. The model is told when the
    /// sandbox or the approval policy changed under it.
    fn policy(&mut self, policy: TurnPolicy) {
        let old = &self.config.policy;
        if old.sandbox_mode != policy.sandbox_mode || old.approval != policy.approval {
            self.history.push(ResponseItem::developer_text(format!(
                "The administrator's requirements changed during this turn: commands now run \
                 in a `{}` sandbox, and the approval policy is `{}`.",
                policy.sandbox_mode, policy.approval
            )));
        }
        self.config.policy = policy;
    }

    /// Records an output for a call that never ran.
    fn answered(&mut self, call_id: String, custom: bool, output: String) {
        let mut pending = Pending::new(call_id, custom);
        pending.output = Some(output);
        self.pending.push(pending);
    }

    /// Answers a call that never ran, and goes on when nothing else waits.
    fn refuse(&mut self, call_id: String, custom: bool, output: String) -> Vec<Effect> {
        self.answered(call_id, custom, output);
        Vec::new()
    }

    /// Sets the output of a pending call, completes its item with
    /// `finished` when given, and goes on when nothing else waits.
    fn answer(
        &mut self,
        call_id: &str,
        output: String,
        finished: Option<ItemDetails>,
    ) -> Vec<Effect> {
        let Some(pending) = self
            .pending
            .iter_mut()
            .find(|p| p.call_id == call_id && p.output.is_none())
        else {
            return Vec::new();
        };
        pending.output = Some(output);
        let mut effects = Vec::new();
        if let (Some(item), Some(details)) = (pending.item.take(), finished) {
            effects.push(Effect::Emit(TurnEvent::ItemCompleted(ThreadItem {
                id: item.id,
                details,
            })));
        }
        effects.extend(self.maybe_continue());
        effects
    }

    fn command_done(
        &mut self,
        call_id: &str,
        result: Result<CommandExit, String>,
        wall: Duration,
    ) -> Vec<Effect> {
        let chunk_id = self.chunk_id();
        let Some(command) = self
            .pending
            .iter()
            .find(|p| p.call_id == call_id && p.output.is_none())
            .and_then(|p| p.command.clone())
        else {
            return Vec::new();
        };
        let (output, finished) = match &result {
            Ok(exit) => (
                exec_tool::command_output(&command, exit, wall, &chunk_id),
                ItemDetails::CommandExecution {
                    command: command.display.clone(),
                    cwd: command.cwd.clone(),
                    aggregated_output: aggregated_output(exit),
                    exit_code: Some(exit.exit_code),
                    duration: Some(wall),
                    status: exit_status(exit.exit_code),
                },
            ),
            Err(reason) => (
                format!("execution error: {reason}"),
                ItemDetails::CommandExecution {
                    command: command.display.clone(),
                    cwd: command.cwd.clone(),
                    aggregated_output: reason.clone(),
                    exit_code: None,
                    duration: Some(wall),
                    status: ItemStatus::Failed,
                },
            ),
        };
        self.answer(call_id, output, Some(finished))
    }

    /// A process session answered `exec_command` or `write_stdin`.
    fn process_output(
        &mut self,
        call_id: &str,
        session_id: Option<u64>,
        result: Result<ProcessChunk, String>,
        wall: Duration,
    ) -> Vec<Effect> {
        let chunk_id = self.chunk_id();
        let Some(index) = self
            .pending
            .iter()
            .position(|p| p.call_id == call_id && p.output.is_none())
        else {
            return Vec::new();
        };
        let (command, stdin) = {
            let pending = &self.pending[index];
            (pending.command.clone(), pending.stdin)
        };
        let chunk = match result {
            Ok(chunk) => chunk,
            Err(reason) => {
                let output = match stdin {
                    Some((id, _)) => format!("write_stdin failed for session {id}: {reason}"),
                    None => format!("execution error: {reason}"),
                };
                let finished = command.map(|command| ItemDetails::CommandExecution {
                    command: command.display.clone(),
                    cwd: command.cwd.clone(),
                    aggregated_output: reason,
                    exit_code: None,
                    duration: Some(wall),
                    status: ItemStatus::Failed,
                });
                return self.answer(call_id, output, finished);
            }
        };
        let exited = match &chunk.exit {
            Some(Ok(exit)) => Some(exit.exit_code),
            Some(Err(_)) => Some(-1),
            None => None,
        };
        if let Some(Err(reason)) = &chunk.exit {
            let finished = command.map(|command| ItemDetails::CommandExecution {
                command: command.display.clone(),
                cwd: command.cwd.clone(),
                aggregated_output: reason.clone(),
                exit_code: None,
                duration: Some(wall),
                status: ItemStatus::Failed,
            });
            return self.answer(call_id, format!("execution error: {reason}"), finished);
        }
        match (command, stdin) {
            // The first answer of `exec_command`.
            (Some(command), _) => {
                let state = match (exited, session_id) {
                    (Some(code), _) => ProcessState::Exited(code),
                    (None, Some(id)) => ProcessState::Running(id),
                    (None, None) => ProcessState::Exited(-1),
                };
                let output = exec_tool::process_output(
                    &chunk.output,
                    state,
                    wall,
                    &chunk_id,
                    command.output_budget,
                );
                match (exited, session_id) {
                    (None, Some(id)) => {
                        // It runs on: its item stays open until it ends.
                        let item = self.pending.get_mut(index).and_then(|p| p.item.take());
                        if let Some(item) = item {
                            self.running.insert(
                                id,
                                Running {
                                    item,
                                    output: chunk.output.clone(),
                                    wall,
                                },
                            );
                        }
                        self.answer(call_id, output, None)
                    }
                    _ => {
                        let finished = ItemDetails::CommandExecution {
                            command: command.display.clone(),
                            cwd: command.cwd.clone(),
                            aggregated_output: chunk.output.clone(),
                            exit_code: exited,
                            duration: Some(wall),
                            status: exit_status(exited.unwrap_or(-1)),
                        };
                        self.answer(call_id, output, Some(finished))
                    }
                }
            }
            // A `write_stdin` answer: its process's item closes when it ends.
            (None, Some((id, budget))) => {
                let state = match exited {
                    Some(code) => ProcessState::Exited(code),
                    None => ProcessState::Running(id),
                };
                let output =
                    exec_tool::process_output(&chunk.output, state, wall, &chunk_id, budget);
                let mut effects = Vec::new();
                if let Some(running) = self.running.get_mut(&id) {
                    running.output.push_str(&chunk.output);
                    running.wall += wall;
                }
                if let Some(code) = exited
                    && let Some(Running {
                        mut item,
                        output,
                        wall,
                    }) = self.running.remove(&id)
                {
                    if let ItemDetails::CommandExecution {
                        aggregated_output,
                        exit_code,
                        duration,
                        status,
                        ..
                    } = &mut item.details
                    {
                        *aggregated_output = output;
                        *exit_code = Some(code);
                        *duration = Some(wall);
                        *status = exit_status(code);
                    }
                    effects.push(Effect::Emit(TurnEvent::ItemCompleted(item)));
                }
                effects.extend(self.answer(call_id, output, None));
                effects
            }
            (None, None) => Vec::new(),
        }
    }

    fn patch_done(&mut self, call_id: &str, result: Result<String, String>) -> Vec<Effect> {
        let changes = self
            .pending
            .iter()
            .find(|p| p.call_id == call_id)
            .and_then(|p| p.item.as_ref())
            .and_then(|item| match &item.details {
                ItemDetails::FileChange { changes, .. } => Some(changes.clone()),
                _ => None,
            })
            .unwrap_or_default();
        let (output, status) = match result {
            Ok(summary) => (summary, ItemStatus::Completed),
            Err(reason) => (reason, ItemStatus::Failed),
        };
        self.answer(
            call_id,
            output,
            Some(ItemDetails::FileChange { changes, status }),
        )
    }

    fn mcp_done(&mut self, call_id: &str, result: Result<McpOutcome, String>) -> Vec<Effect> {
        let Some(pending) = self
            .pending
            .iter_mut()
            .find(|p| p.call_id == call_id && p.output.is_none())
        else {
            return Vec::new();
        };
        let mut effects = Vec::new();
        let output = match &result {
            Ok(outcome) => mcp_output(outcome),
            Err(reason) => format!("tool call failed: {reason}"),
        };
        pending.output = Some(output);
        if let Some(ThreadItem {
            id,
            details:
                ItemDetails::McpToolCall {
                    server,
                    tool,
                    arguments,
                    ..
                },
        }) = pending.item.take()
        {
            let (result, error, status) = match result {
                Ok(outcome) if outcome.is_error => {
                    let message = mcp_output(&outcome);
                    (Some(outcome), Some(message), ItemStatus::Failed)
                }
                Ok(outcome) => (Some(outcome), None, ItemStatus::Completed),
                Err(reason) => (None, Some(reason), ItemStatus::Failed),
            };
            effects.push(Effect::Emit(TurnEvent::ItemCompleted(ThreadItem {
                id,
                details: ItemDetails::McpToolCall {
                    server,
                    tool,
                    arguments,
                    result,
                    error,
                    status,
                },
            })));
        }
        effects.extend(self.maybe_continue());
        effects
    }

    /// Once every call has its output: the outputs join the history, in
    /// call order, and the model is asked again.
    fn maybe_continue(&mut self) -> Vec<Effect> {
        if self.phase != Phase::RunningTools || self.pending.iter().any(|p| p.output.is_none()) {
            return Vec::new();
        }
        for pending in std::mem::take(&mut self.pending) {
            let output = pending.output.unwrap_or_default();
            self.history.push(if pending.custom {
                ResponseItem::CustomToolCallOutput(CustomToolCallOutput {
                    call_id: pending.call_id,
                    output,
                })
            } else {
                ResponseItem::FunctionCallOutput(FunctionCallOutput {
                    call_id: pending.call_id,
                    output,
                })
            });
        }
        self.sample()
    }

    fn fail(&mut self, message: String) -> Vec<Effect> {
        let mut effects = self.reconcile();
        self.phase = Phase::Done;
        effects.push(Effect::Emit(TurnEvent::TurnFailed {
            message: message.clone(),
        }));
        effects.push(Effect::Finish(TurnOutcome::Failed { message }));
        effects
    }

    /// Completes, as failed, every item still in progress, the open items
    /// of process sessions included.
    fn reconcile(&mut self) -> Vec<Effect> {
        let mut items: Vec<ThreadItem> = self
            .pending
            .iter_mut()
            .filter_map(|pending| pending.item.take())
            .collect();
        items.extend(
            std::mem::take(&mut self.running)
                .into_values()
                .map(|running| {
                    let mut item = running.item;
                    if let ItemDetails::CommandExecution {
                        aggregated_output, ..
                    } = &mut item.details
                    {
                        *aggregated_output = running.output;
                    }
                    item
                }),
        );
        items
            .into_iter()
            .map(|mut item| {
                match &mut item.details {
                    ItemDetails::CommandExecution { status, .. }
                    | ItemDetails::McpToolCall { status, .. }
                    | ItemDetails::FileChange { status, .. } => *status = ItemStatus::Failed,
                    ItemDetails::AgentMessage { .. }
                    | ItemDetails::Reasoning { .. }
                    | ItemDetails::Error { .. } => {}
                }
                Effect::Emit(TurnEvent::ItemCompleted(item))
            })
            .collect()
    }

    fn chunk_id(&mut self) -> String {
        self.next_chunk += 1;
        let mixed = (self.config.seed ^ self.next_chunk.wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .wrapping_mul(0xBF58_476D_1CE4_E5B9);
        format!("{:06x}", (mixed >> 40) & 0xFF_FFFF)
    }
}

/// A command's item before it ends.
fn command_item(command: &CommandCall, status: ItemStatus) -> ItemDetails {
    ItemDetails::CommandExecution {
        command: command.display.clone(),
        cwd: command.cwd.clone(),
        aggregated_output: String::new(),
        exit_code: None,
        duration: None,
        status,
    }
}

fn exit_status(code: i32) -> ItemStatus {
    if code == 0 {
        ItemStatus::Completed
    } else {
        ItemStatus::Failed
    }
}

/// The tools offered to the model (`exec_command`, `write_stdin`,
/// `apply_patch`, the resource tools when the session has servers, and
/// every MCP tool), and where each qualified MCP name goes.
fn offer(mcp_tools: &[McpTool], has_servers: bool) -> (Vec<ToolSpec>, BTreeMap<String, Route>) {
    let mut tools = vec![exec_command_spec(), write_stdin_spec(), apply_patch_spec()];
    if has_servers {
        tools.extend(resource_specs());
    }
    tools.extend(mcp_tools.iter().map(|tool| tool.spec.clone()));
    let routes = mcp_tools
        .iter()
        .map(|tool| {
            (
                tool.qualified.clone(),
                Route {
                    server: tool.server.clone(),
                    tool: tool.tool.clone(),
                    needs_approval: tool.needs_approval,
                },
            )
        })
        .collect();
    (tools, routes)
}

/// The text the model reads for an MCP result: text blocks joined, any
/// other block as JSON; an error result says so first.
fn mcp_output(outcome: &McpOutcome) -> String {
    let parts: Vec<String> = outcome
        .content
        .iter()
        .map(|block| match block.get("type").and_then(Value::as_str) {
            Some("text") => block
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            _ => block.to_string(),
        })
        .collect();
    let mut text = parts.join("\n");
    if text.is_empty()
        && let Some(structured) = &outcome.structured_content
    {
        text = structured.to_string();
    }
    if outcome.is_error {
        format!("tool error: {text}")
    } else {
        text
    }
}

/// The server and tool that `name` (`mcp__<server>__<tool>`) means, for a
/// tool not on offer. The longest server name that fits wins, so a server
/// named `a__b` is not mistaken for `a`.
fn unoffered_route(servers: &[String], name: &str) -> Option<(String, String)> {
    let rest = name.strip_prefix("mcp__")?;
    servers
        .iter()
        .filter_map(|server| {
            let tool = rest.strip_prefix(server.as_str())?.strip_prefix("__")?;
            (!tool.is_empty()).then(|| (server.clone(), tool.to_owned()))
        })
        .max_by_key(|(server, _)| server.len())
}

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;
