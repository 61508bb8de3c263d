//! The session as the shell of a turn: it performs the [`turn::Machine`]'s
//! effects (model streams, sandboxed commands, MCP calls, approval
//! requests) concurrently and feeds their results back, until the turn
//! finishes or is cancelled.
//!
//! The policy in force follows the turn: when the admin's requirements
//! change, the turn gets the new approval policy, sandbox and command
//! rules for its next call, and when a server stops or re-judges its tools,
//! the next model request offers what is callable now.

use std::collections::{BTreeMap, VecDeque};
use std::ffi::OsString;
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt as _;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{CommandError, PolicySnapshot, Session, SessionError, SessionEvent};
use crate::config::{ApprovalPolicy, SandboxMode};
use crate::mcp_server::{Caller, ServerEvent, ToolCallError};
use crate::model_stream::{
    ModelProvider, ModelRequest, ModelStreamActor, StreamEvent, chat_body, responses_body,
};
use crate::policy::allowed_set;
use crate::turn::{
    self, ApprovalDecision, ApprovalRequest, Effect, Input, McpOutcome, McpTool, TurnEvent,
    TurnOutcome, TurnPolicy,
};

/// What commands and model requests of a turn run with.
#[derive(Debug, Clone)]
pub struct TurnRuntime {
    /// The model provider.
    pub provider: Arc<ModelProvider>,
    /// The sandbox commands should run in, as the user asked for it; the
    /// admin's requirements in force may make it stricter.
    pub sandbox: codex_sandbox::SandboxPolicy,
    /// The sandbox mode of `sandbox`, in config terms.
    pub sandbox_mode: SandboxMode,
    /// The approval policy the front end wants (`never` for `codex exec`);
    /// requirements may refuse it, and then one they allow applies.
    pub approval: ApprovalPolicy,
    /// The environment of every command (`shell_environment_policy`
    /// applied to the parent environment).
    pub command_env: BTreeMap<OsString, OsString>,
}

/// Answers approval requests: the user at a terminal, an MCP client, or
/// nobody ([`no_one_to_ask`]) in a headless run.
pub type Approver = dyn Fn(ApprovalRequest) -> BoxFuture<'static, ApprovalDecision> + Send + Sync;

/// The approver of a headless run: every request is answered
/// [`ApprovalDecision::NoOneToAsk`].
pub fn no_one_to_ask(_: ApprovalRequest) -> BoxFuture<'static, ApprovalDecision> {
    Box::pin(std::future::ready(ApprovalDecision::NoOneToAsk))
}

/// What the requirements in `snapshot` leave of what the front end wants:
/// the wanted value when every layer allows it, else the first value they
/// all allow.
pub fn turn_policy(snapshot: &PolicySnapshot, runtime: &TurnRuntime) -> TurnPolicy {
    let requirements = snapshot.requirements.clone().unwrap_or_default();
    let modes = allowed_set(&requirements, "allowed_sandbox_modes", |layer| {
        layer.allowed_sandbox_modes.as_ref()
    })
    .ok()
    .flatten()
    .map(|set| set.values);
    let policies = allowed_set(&requirements, "allowed_approval_policies", |layer| {
        layer.allowed_approval_policies.as_ref()
    })
    .ok()
    .flatten()
    .map(|set| set.values);
    TurnPolicy {
        approval: pick(runtime.approval, policies.as_deref()),
        sandbox_mode: pick(runtime.sandbox_mode, modes.as_deref()),
        command_rules: requirements.command_rules(),
        escalation_allowed: modes
            .is_none_or(|modes| modes.contains(&SandboxMode::DangerFullAccess)),
    }
}

/// `wanted` when `allowed` has it (or there is no list), else the first
/// allowed value.
fn pick<T: Copy + PartialEq>(wanted: T, allowed: Option<&[T]>) -> T {
    match allowed {
        Some(values) if !values.contains(&wanted) => values.first().copied().unwrap_or(wanted),
        _ => wanted,
    }
}

/// The sandbox a command runs in: the user's, at the mode in force, or none
/// after an approved escalation.
fn command_sandbox(
    runtime: &TurnRuntime,
    policy: &TurnPolicy,
    escalated: bool,
) -> codex_sandbox::SandboxPolicy {
    let mode = if escalated {
        codex_sandbox::SandboxMode::DangerFullAccess
    } else {
        match policy.sandbox_mode {
            SandboxMode::ReadOnly => codex_sandbox::SandboxMode::ReadOnly,
            SandboxMode::WorkspaceWrite => codex_sandbox::SandboxMode::WorkspaceWrite,
            SandboxMode::DangerFullAccess | SandboxMode::ExternalSandbox => runtime.sandbox.mode,
        }
    };
    codex_sandbox::SandboxPolicy {
        mode,
        ..runtime.sandbox.clone()
    }
}

impl Session {
    /// The tools of every ready server, as the model is offered them.
    pub async fn mcp_tools(&self) -> Result<Vec<McpTool>, SessionError> {
        let policy = self.policy();
        let statuses = self.statuses().await?;
        let qualified = self.tools().await?;
        let mut tools = Vec::new();
        for status in &statuses {
            for info in &status.tools {
                let Some(name) = qualified
                    .iter()
                    .find(|q| q.server == status.name && q.tool == info.name)
                else {
                    continue;
                };
                let needs_approval = policy.verdict(&status.name).is_none_or(|verdict| {
                    verdict
                        .config
                        .approvals
                        .needs_approval(&info.name, info.read_only())
                });
                tools.push(McpTool {
                    qualified: name.qualified.clone(),
                    server: status.name.clone(),
                    tool: info.name.clone(),
                    spec: crate::model_stream::ToolSpec {
                        name: name.qualified.clone(),
                        description: info.description.clone().unwrap_or_default(),
                        parameters: info.input_schema.clone(),
                    },
                    needs_approval,
                });
            }
        }
        Ok(tools)
    }

    /// Starts a model-stream actor for `request`, as a temporary child of
    /// the session. Its [`StreamEvent`]s arrive on the returned channel,
    /// which closes after the final one (or if the actor dies first).
    ///
    /// The requirements in force at the moment of the request apply to it:
    /// `enforce_residency` adds its header, whatever the config says.
    pub async fn sample(
        &self,
        provider: Arc<ModelProvider>,
        request: &ModelRequest,
    ) -> Result<mpsc::UnboundedReceiver<StreamEvent>, SessionError> {
        let residency = self
            .policy()
            .requirements
            .as_ref()
            .and_then(|requirements| requirements.residency());
        let provider = match residency {
            Some(residency) => Arc::new(
                provider.with_required_header(crate::policy::Residency::HEADER, residency.as_str()),
            ),
            None => provider,
        };
        let body = match provider.wire_api {
            crate::config::WireApi::Responses => responses_body(request),
            crate::config::WireApi::Chat => chat_body(request),
        };
        let body = bytes::Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
        let (tx, rx) = mpsc::unbounded_channel();
        let n = self
            .next_command
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let client = self.http.clone();
        let thread_id = request.thread_id.clone();
        let mut seed = Some((tx, body));
        let spec = codex_runtime::ChildSpec::new(format!("model:{n}"), move |cx| {
            let Some((tx, body)) = seed.take() else {
                return Err(codex_runtime::ActorError::custom(SessionError::Stopped));
            };
            Ok(cx.start(ModelStreamActor::new(
                client.clone(),
                Arc::clone(&provider),
                body,
                thread_id.clone(),
                tx,
                jitter_seed(n),
            )))
        })
        .restart(codex_runtime::Restart::Temporary)
        .shutdown(codex_runtime::Shutdown::BrutalKill);
        self.root
            .handle()
            .start_child(spec)
            .await
            .map_err(|_| SessionError::Stopped)?;
        Ok(rx)
    }

    /// Runs `machine` from `inputs` (warnings, then `Start`) until the turn
    /// finishes or `cancel` fires, reporting every event to `on_event` and
    /// every approval request to `approver`. Calls of one response run
    /// concurrently.
    pub async fn run_turn(
        &self,
        machine: &mut turn::Machine,
        inputs: Vec<Input>,
        runtime: &TurnRuntime,
        approver: &Approver,
        cancel: &CancellationToken,
        on_event: &mut (dyn FnMut(TurnEvent) + Send),
    ) -> TurnOutcome {
        let mut policy = turn_policy(&self.policy(), runtime);
        let mut queue: VecDeque<Input> = inputs.into();
        queue.push_front(Input::Policy(policy.clone()));
        let mut policy_changes = self.policy_changes();
        let mut events = self.subscribe();
        let mut running: FuturesUnordered<BoxFuture<'_, Vec<Input>>> = FuturesUnordered::new();
        // Retry notices arrive here as they happen; final reports come back
        // from `running`.
        let (live, mut notices) = mpsc::unbounded_channel();
        let mut outcome = None;
        loop {
            while let Some(input) = queue.pop_front() {
                for effect in machine.step(input) {
                    match effect {
                        Effect::Emit(event) => on_event(event),
                        Effect::Finish(done) => outcome = Some(done),
                        Effect::Sample(request) => running.push(self.stream_inputs(
                            Arc::clone(&runtime.provider),
                            request,
                            live.clone(),
                        )),
                        Effect::RunCommand {
                            call_id,
                            argv,
                            cwd,
                            timeout,
                            escalated,
                        } => {
                            let mut spec = codex_sandbox::CommandSpec::new(
                                argv.into_iter().map(OsString::from).collect(),
                                cwd,
                                runtime.command_env.clone(),
                            );
                            spec.timeout = timeout;
                            let policy = command_sandbox(runtime, &policy, escalated);
                            running.push(Box::pin(async move {
                                let started = Instant::now();
                                let result = self
                                    .run_command(spec, policy)
                                    .await
                                    .map_err(|err: CommandError| err.to_string());
                                vec![Input::CommandDone {
                                    call_id,
                                    result,
                                    wall: started.elapsed(),
                                }]
                            }));
                        }
                        Effect::AskApproval(request) => {
                            let call_id = request.call_id.clone();
                            let answer = approver(request);
                            running.push(Box::pin(async move {
                                vec![Input::Approval {
                                    call_id,
                                    decision: answer.await,
                                }]
                            }));
                        }
                        Effect::CallTool {
                            call_id,
                            server,
                            tool,
                            arguments,
                            approved,
                        } => running.push(Box::pin(async move {
                            let result = self
                                .call_as(&server, &tool, arguments, Caller::Model { approved })
                                .await
                                .map(|result| McpOutcome {
                                    content: result
                                        .content
                                        .iter()
                                        .map(|block| {
                                            serde_json::to_value(block)
                                                .unwrap_or(serde_json::Value::Null)
                                        })
                                        .collect(),
                                    structured_content: result.structured_content.clone(),
                                    is_error: result.is_error == Some(true),
                                })
                                .map_err(|err: ToolCallError| err.to_string());
                            vec![Input::McpDone { call_id, result }]
                        })),
                    }
                }
            }
            if let Some(outcome) = outcome {
                return outcome;
            }
            if running.is_empty() && notices.is_empty() {
                // The machine waits only while something runs; anything
                // else is a bug, reported rather than hung on.
                return TurnOutcome::Failed {
                    message: "the turn stopped waiting on nothing (internal error)".to_owned(),
                };
            }
            tokio::select! {
                biased;
                () = cancel.cancelled() => queue.push_back(Input::Interrupt),
                Ok(()) = policy_changes.changed() => {
                    let snapshot = std::sync::Arc::clone(&policy_changes.borrow_and_update());
                    policy = turn_policy(&snapshot, runtime);
                    queue.push_back(Input::Warning(format!(
                        "the administrator's requirements changed (policy version {}); they \
                         apply from the next call",
                        snapshot.version
                    )));
                    queue.push_back(Input::Policy(policy.clone()));
                }
                Ok(event) = events.recv() => {
                    if let Some(warning) = warning_of(&event) {
                        queue.push_back(Input::Warning(warning));
                    }
                    if offers_change(&event)
                        && let Ok(tools) = self.mcp_tools().await
                    {
                        queue.push_back(Input::McpTools(tools));
                    }
                }
                Some(notice) = notices.recv() => queue.push_back(notice),
                Some(inputs) = running.next() => queue.extend(inputs),
            }
        }
    }

    /// One model request for the turn: retry notices go to `live` as they
    /// come; the future resolves to the final report (or `StreamLost`).
    fn stream_inputs(
        &self,
        provider: Arc<ModelProvider>,
        request: ModelRequest,
        live: mpsc::UnboundedSender<Input>,
    ) -> BoxFuture<'_, Vec<Input>> {
        Box::pin(async move {
            let mut rx = match self.sample(provider, &request).await {
                Ok(rx) => rx,
                Err(_) => return vec![Input::StreamLost],
            };
            while let Some(event) = rx.recv().await {
                if matches!(event, StreamEvent::Retrying { .. }) {
                    let _ = live.send(Input::Stream(event));
                } else {
                    return vec![Input::Stream(event)];
                }
            }
            vec![Input::StreamLost]
        })
    }
}

/// What the user is told, during a turn, of a session event.
fn warning_of(event: &SessionEvent) -> Option<String> {
    match event {
        SessionEvent::ServerStopped { server, reason } => {
            Some(format!("MCP server '{server}' stopped: {reason}"))
        }
        SessionEvent::SourceFailed { message } => Some(format!(
            "{message}; the last good configuration and requirements stay in force"
        )),
        _ => None,
    }
}

/// Whether a session event may change which MCP tools a turn offers.
fn offers_change(event: &SessionEvent) -> bool {
    matches!(
        event,
        SessionEvent::Server(ServerEvent::Ready { .. } | ServerEvent::ToolsChanged { .. })
            | SessionEvent::Server(ServerEvent::Failed { .. })
            | SessionEvent::ServerStopped { .. }
            | SessionEvent::ServerGaveUp { .. }
    )
}

/// A different jitter seed per request and per process.
fn jitter_seed(n: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(std::process::id())
}
