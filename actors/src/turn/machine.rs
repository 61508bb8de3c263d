//! The turn's pure core. No actix, no tokio, no IO: the shell passes in
//! what the model said and what the tools did, with the wall time each
//! command took.
//!
//! ```text
//! Idle --Start--> Sampling --Completed(no calls)--> Done (TurnCompleted)
//!                   |   ^
//!        Completed  |   | every tool finished
//!        with calls v   |
//!                 RunningTools
//! Sampling --Failed / stream lost--> Done (TurnFailed)
//! any --Interrupt--> Done (no turn event)
//! ```
//!
//! Items started and not finished when the turn ends are completed as
//! `failed` first, so a consumer never sees an item left in progress.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use super::approval::{self, ApprovalDecision, ApprovalRequest, ApprovalSubject, Gate, TurnPolicy};
use super::exec_tool::{
    self, CallRefused, CommandCall, EXEC_COMMAND, LEGACY_SHELL, aggregated_output,
    exec_command_spec,
};
use super::{ItemDetails, ItemStatus, McpTool, ThreadItem, TurnConfig, TurnEvent, TurnOutcome};
use crate::model_stream::{
    FunctionCall, FunctionCallOutput, ModelRequest, ModelResponse, ResponseItem, StreamEvent,
    TokenUsage, ToolSpec,
};
use crate::sandbox_process::CommandExit;

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
    },
    /// The model stream reported.
    Stream(StreamEvent),
    /// The model stream went away without a final report.
    StreamLost,
    /// A command finished (or could not start).
    CommandDone {
        /// The call it answers.
        call_id: String,
        /// Its exit, or why it did not run.
        result: Result<CommandExit, String>,
        /// How long it took.
        wall: Duration,
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
    /// Run a command in the sandbox.
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
    /// The output once known.
    output: Option<String>,
    /// The item shown for it, if any.
    item: Option<ThreadItem>,
    /// For commands: how to format the output.
    command: Option<CommandCall>,
    /// What runs once the user approves.
    awaiting: Option<Awaiting>,
}

/// A call held for an approval.
#[derive(Debug)]
enum Awaiting {
    Command,
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

/// The state of one turn.
#[derive(Debug)]
pub struct Machine {
    config: TurnConfig,
    phase: Phase,
    history: Vec<ResponseItem>,
    tools: Vec<ToolSpec>,
    routes: BTreeMap<String, Route>,
    pending: Vec<Pending>,
    /// Calls approved for the whole session.
    approved: std::collections::BTreeSet<String>,
    next_item: u64,
    next_chunk: u64,
    usage: TokenUsage,
    last_message: Option<String>,
}

impl Machine {
    /// A turn that has not started.
    pub fn new(config: TurnConfig) -> Self {
        let (tools, routes) = offer(&config.mcp_tools);
        Machine {
            history: vec![ResponseItem::developer_text(config.instructions.clone())],
            approved: config.session_approvals.clone(),
            config,
            phase: Phase::Idle,
            tools,
            routes,
            pending: Vec::new(),
            next_item: 0,
            next_chunk: 0,
            usage: TokenUsage::default(),
            last_message: None,
        }
    }

    /// The conversation so far.
    pub fn history(&self) -> &[ResponseItem] {
        &self.history
    }

    /// Every call approved for the whole session so far (earlier turns'
    /// and this one's), for the next turn.
    pub fn session_approvals(&self) -> &std::collections::BTreeSet<String> {
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
            (_, Input::Policy(policy)) => {
                self.policy(policy);
                Vec::new()
            }
            (_, Input::McpTools(tools)) => {
                (self.tools, self.routes) = offer(&tools);
                self.config.mcp_tools = tools;
                Vec::new()
            }
            (Phase::RunningTools, Input::Approval { call_id, decision }) => {
                self.approval(&call_id, decision)
            }
            (Phase::Idle, Input::Start { prompt }) => {
                self.history.push(ResponseItem::user_text(prompt));
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
                        self.last_message = Some(text.clone());
                        let item = self.item(ItemDetails::AgentMessage { text });
                        effects.push(Effect::Emit(TurnEvent::ItemCompleted(item)));
                    }
                }
                ResponseItem::FunctionCall(call) => calls.push(call.clone()),
                ResponseItem::FunctionCallOutput(_) | ResponseItem::Other(_) => {}
            }
            self.history.push(item);
        }
        if calls.is_empty() {
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
    fn dispatch(&mut self, call: FunctionCall) -> Vec<Effect> {
        let cwd = self.config.cwd.clone();
        let timeout = self.config.command_timeout;
        let parsed = match call.name.as_str() {
            EXEC_COMMAND => Some(exec_tool::exec_command_call(&call.arguments, &cwd, timeout)),
            LEGACY_SHELL => Some(exec_tool::shell_call(&call.arguments, &cwd, timeout)),
            _ => None,
        };
        if let Some(parsed) = parsed {
            return match parsed {
                Ok(command) => {
                    match approval::command_gate(&self.config.policy, &command, &self.approved) {
                        Gate::Run { escalated } => {
                            self.run_command(call.call_id, command, escalated)
                        }
                        Gate::Ask(reason) => {
                            let request = ApprovalRequest {
                                call_id: call.call_id.clone(),
                                subject: ApprovalSubject::Command {
                                    command: command.display.clone(),
                                    cwd: command.cwd.clone(),
                                },
                                reason,
                            };
                            self.pending.push(Pending {
                                call_id: call.call_id,
                                output: None,
                                item: None,
                                command: Some(command),
                                awaiting: Some(Awaiting::Command),
                            });
                            vec![Effect::AskApproval(request)]
                        }
                        Gate::Refuse(text) => {
                            let item = self.item(ItemDetails::CommandExecution {
                                command: command.display.clone(),
                                aggregated_output: String::new(),
                                exit_code: None,
                                status: ItemStatus::Declined,
                            });
                            self.answered(call.call_id, text);
                            vec![Effect::Emit(TurnEvent::ItemCompleted(item))]
                        }
                    }
                }
                Err(refused @ CallRefused::BadArguments(_)) => {
                    self.answered(call.call_id, refused.text());
                    Vec::new()
                }
            };
        }
        let route = self.routes.get(&call.name).cloned();
        // A tool not on offer still goes to its server, whose refusal names
        // the rule; the session itself checks whether it needs approval.
        let (server, tool, gate) = match route {
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
            None => match unoffered_route(&self.config.mcp_servers, &call.name) {
                Some((server, tool)) => (server, tool, None),
                None => {
                    self.answered(call.call_id, format!("unsupported call: {}", call.name));
                    return Vec::new();
                }
            },
        };
        let parsed: Result<Value, _> = if call.arguments.trim().is_empty() {
            Ok(Value::Object(Default::default()))
        } else {
            serde_json::from_str(&call.arguments)
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
                arguments: Value::String(call.arguments.clone()),
                result: None,
                error: Some(problem.clone()),
                status: ItemStatus::Failed,
            });
            self.answered(call.call_id, problem);
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
                self.pending.push(Pending {
                    call_id: call.call_id,
                    output: None,
                    item: None,
                    command: None,
                    awaiting: Some(Awaiting::Tool {
                        server,
                        tool,
                        arguments,
                    }),
                });
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
                self.answered(call.call_id, format!("tool call failed: {text}"));
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
        let item = self.item(ItemDetails::CommandExecution {
            command: command.display.clone(),
            aggregated_output: String::new(),
            exit_code: None,
            status: ItemStatus::InProgress,
        });
        let effects = vec![
            Effect::Emit(TurnEvent::ItemStarted(item.clone())),
            Effect::RunCommand {
                call_id: call_id.clone(),
                argv: command.argv.clone(),
                cwd: command.cwd.clone(),
                timeout: command.timeout,
                escalated,
            },
        ];
        match self.pending.iter_mut().find(|p| p.call_id == call_id) {
            Some(pending) => {
                pending.item = Some(item);
                pending.awaiting = None;
            }
            None => self.pending.push(Pending {
                call_id,
                output: None,
                item: Some(item),
                command: Some(command),
                awaiting: None,
            }),
        }
        effects
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
            None => self.pending.push(Pending {
                call_id: call_id.clone(),
                output: None,
                item: Some(item.clone()),
                command: None,
                awaiting: None,
            }),
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
                // The gate says whether the approval makes it leave the
                // sandbox, and still refuses what requirements forbid.
                let escalated = command.escalation;
                let mut effects = self.run_command(call_id.to_owned(), command, escalated);
                effects.extend(self.maybe_continue());
                effects
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
                let details = match awaiting {
                    Awaiting::Command => ItemDetails::CommandExecution {
                        command: command.map(|c| c.display).unwrap_or_default(),
                        aggregated_output: String::new(),
                        exit_code: None,
                        status: ItemStatus::Declined,
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
                let item = self.item(details);
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
    fn answered(&mut self, call_id: String, output: String) {
        self.pending.push(Pending {
            call_id,
            output: Some(output),
            item: None,
            command: None,
            awaiting: None,
        });
    }

    fn command_done(
        &mut self,
        call_id: &str,
        result: Result<CommandExit, String>,
        wall: Duration,
    ) -> Vec<Effect> {
        let chunk_id = self.chunk_id();
        let Some(pending) = self
            .pending
            .iter_mut()
            .find(|p| p.call_id == call_id && p.output.is_none())
        else {
            return Vec::new();
        };
        let mut effects = Vec::new();
        let (output, finished) = match (&result, &pending.command) {
            (Ok(exit), Some(command)) => (
                exec_tool::command_output(command, exit, wall, &chunk_id),
                ItemDetails::CommandExecution {
                    command: command.display.clone(),
                    aggregated_output: aggregated_output(exit),
                    exit_code: Some(exit.exit_code),
                    status: if exit.exit_code == 0 {
                        ItemStatus::Completed
                    } else {
                        ItemStatus::Failed
                    },
                },
            ),
            (Err(reason), command) => (
                format!("execution error: {reason}"),
                ItemDetails::CommandExecution {
                    command: command
                        .as_ref()
                        .map(|c| c.display.clone())
                        .unwrap_or_default(),
                    aggregated_output: reason.clone(),
                    exit_code: None,
                    status: ItemStatus::Failed,
                },
            ),
            (Ok(_), None) => return Vec::new(),
        };
        pending.output = Some(output);
        if let Some(item) = pending.item.take() {
            effects.push(Effect::Emit(TurnEvent::ItemCompleted(ThreadItem {
                id: item.id,
                details: finished,
            })));
        }
        effects.extend(self.maybe_continue());
        effects
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
            self.history
                .push(ResponseItem::FunctionCallOutput(FunctionCallOutput {
                    call_id: pending.call_id,
                    output: pending.output.unwrap_or_default(),
                }));
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

    /// Completes, as failed, every item still in progress.
    fn reconcile(&mut self) -> Vec<Effect> {
        let mut effects = Vec::new();
        for pending in &mut self.pending {
            let Some(mut item) = pending.item.take() else {
                continue;
            };
            match &mut item.details {
                ItemDetails::CommandExecution { status, .. }
                | ItemDetails::McpToolCall { status, .. } => *status = ItemStatus::Failed,
                ItemDetails::AgentMessage { .. }
                | ItemDetails::Reasoning { .. }
                | ItemDetails::Error { .. } => {}
            }
            effects.push(Effect::Emit(TurnEvent::ItemCompleted(item)));
        }
        effects
    }

    fn chunk_id(&mut self) -> String {
        self.next_chunk += 1;
        let mixed = (self.config.seed ^ self.next_chunk.wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .wrapping_mul(0xBF58_476D_1CE4_E5B9);
        format!("{:06x}", (mixed >> 40) & 0xFF_FFFF)
    }
}

/// The tools offered to the model (`exec_command` and every MCP tool), and
/// where each qualified MCP name goes.
fn offer(mcp_tools: &[McpTool]) -> (Vec<ToolSpec>, BTreeMap<String, Route>) {
    let mut tools = vec![exec_command_spec()];
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
