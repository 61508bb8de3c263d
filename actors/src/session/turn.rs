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
use crate::mcp_server::{Caller, ResourceQuery, ServerEvent, ToolCallError};
use crate::model_stream::{
    ModelProvider, ModelRequest, ModelStreamActor, StreamEvent, chat_body, responses_body,
};
use crate::policy::allowed_set;
use crate::rollout::{Recorder, RolloutWriter, TurnContext, TurnLog};
use crate::sandbox_process::CommandEvent;
use crate::turn::{
    self, ApprovalDecision, ApprovalRequest, Effect, Input, McpOutcome, McpTool, ResourceRequest,
    TurnEvent, TurnOutcome, TurnPolicy,
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

/// What a turn talks to besides the session.
pub struct TurnIo<'a> {
    /// Answers approval requests.
    pub approver: &'a Approver,
    /// Fires on Ctrl-C (or the client's cancel): the turn is interrupted.
    pub cancel: &'a CancellationToken,
    /// Sees every event of the turn, in order.
    pub on_event: &'a mut (dyn FnMut(TurnEvent) + Send),
    /// Where the thread is recorded; `None` keeps nothing (`--ephemeral`).
    pub record: Option<&'a mut ThreadRecord>,
}

impl std::fmt::Debug for TurnIo<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnIo")
            .field("cancelled", &self.cancel.is_cancelled())
            .field("record", &self.record)
            .finish_non_exhaustive()
    }
}

/// A recorded thread: its rollout, and the tokens its turns used so far.
#[derive(Debug, Clone)]
pub struct ThreadRecord {
    /// The rollout's writer.
    pub recorder: Recorder,
    /// Tokens used by the thread's turns so far (`total_token_usage`).
    pub usage: crate::model_stream::TokenUsage,
}

/// The settings a turn runs with, as its rollout records them: the policy
/// in force when it starts, after the admin's requirements.
fn turn_context(
    config: &turn::TurnConfig,
    policy: &TurnPolicy,
    runtime: &TurnRuntime,
) -> TurnContext {
    let mut sandbox = serde_json::json!({ "mode": policy.sandbox_mode.to_string() });
    if policy.sandbox_mode == SandboxMode::WorkspaceWrite {
        sandbox["writable_roots"] = serde_json::json!(runtime.sandbox.writable_roots);
        sandbox["network_access"] = runtime.sandbox.network_access.into();
        sandbox["exclude_slash_tmp"] = runtime.sandbox.exclude_slash_tmp.into();
    }
    TurnContext {
        turn_id: config.turn_id.clone(),
        cwd: config.cwd.clone(),
        approval_policy: policy.approval.to_string(),
        sandbox_policy: sandbox,
        model: config.model.clone(),
        effort: config.reasoning_effort.clone(),
        summary: "auto".to_owned(),
    }
}

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
        writable_roots: runtime.sandbox.writable_roots.clone(),
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
    // An answer that arrives after the requirements tightened does not
    // leave the sandbox.
    let mode = if escalated && policy.escalation_allowed {
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
                        freeform: None,
                    },
                    needs_approval,
                });
            }
        }
        Ok(tools)
    }

    /// Answers a model's resource request: one server's page, or the first
    /// page of every ready server (each resource tagged with its server,
    /// and each server's next cursor).
    pub async fn resources(&self, request: ResourceRequest) -> Result<serde_json::Value, String> {
        let (server, query) = match request {
            ResourceRequest::List { server, cursor } => (server, ResourceQuery::List { cursor }),
            ResourceRequest::Templates { server, cursor } => {
                (server, ResourceQuery::Templates { cursor })
            }
            ResourceRequest::Read { server, uri } => (Some(server), ResourceQuery::Read { uri }),
        };
        if let Some(server) = server {
            return self.server_resources(&server, query).await;
        }
        let statuses = self.statuses().await.map_err(|err| err.to_string())?;
        let key = match query {
            ResourceQuery::Templates { .. } => "resourceTemplates",
            ResourceQuery::List { .. } | ResourceQuery::Read { .. } => "resources",
        };
        let mut all = Vec::new();
        let mut cursors = serde_json::Map::new();
        let mut failures = serde_json::Map::new();
        for status in statuses
            .iter()
            .filter(|s| matches!(s.state, super::ServerState::Ready { .. }))
        {
            match self.server_resources(&status.name, query.clone()).await {
                Ok(page) => {
                    for mut entry in page[key].as_array().cloned().unwrap_or_default() {
                        if let serde_json::Value::Object(map) = &mut entry {
                            map.insert("server".to_owned(), status.name.clone().into());
                        }
                        all.push(entry);
                    }
                    if let Some(cursor) = page.get("nextCursor").filter(|c| !c.is_null()) {
                        cursors.insert(status.name.clone(), cursor.clone());
                    }
                }
                Err(reason) => {
                    failures.insert(status.name.clone(), reason.into());
                }
            }
        }
        let mut answer = serde_json::json!({ key: all });
        if !cursors.is_empty() {
            answer["nextCursors"] = serde_json::Value::Object(cursors);
        }
        if !failures.is_empty() {
            answer["errors"] = serde_json::Value::Object(failures);
        }
        Ok(answer)
    }

    async fn server_resources(
        &self,
        server: &str,
        query: ResourceQuery,
    ) -> Result<serde_json::Value, String> {
        match self.serving(server).await {
            Ok(handle) => handle.resources(query).await.map_err(|err| err.to_string()),
            Err(why) => Err(format!("MCP server '{server}' is not running: {why}")),
        }
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
            .next_child
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

    /// Starts recording a thread into `file` (a rollout opened to append,
    /// at `path`): its writer is a temporary child of the session, which
    /// writes whatever was recorded before the session stops.
    pub async fn record(
        &self,
        file: std::fs::File,
        path: std::path::PathBuf,
        thread_id: String,
    ) -> Result<Recorder, SessionError> {
        let (recorder, inbox, problems) = crate::rollout::recorder(path, thread_id);
        let n = self
            .next_child
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut seed = Some((file, inbox));
        let spec = codex_runtime::ChildSpec::new(format!("rollout:{n}"), move |cx| {
            let Some((file, inbox)) = seed.take() else {
                return Err(codex_runtime::ActorError::custom(SessionError::Stopped));
            };
            Ok(cx.start(RolloutWriter::new(file, inbox, Arc::clone(&problems))))
        })
        .restart(codex_runtime::Restart::Temporary)
        .shutdown(codex_runtime::Shutdown::Timeout(
            std::time::Duration::from_secs(5),
        ));
        self.root
            .handle()
            .start_child(spec)
            .await
            .map_err(|_| SessionError::Stopped)?;
        Ok(recorder)
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
        io: TurnIo<'_>,
    ) -> TurnOutcome {
        let TurnIo {
            approver,
            cancel,
            on_event,
            record,
        } = io;
        let mut policy = turn_policy(&self.policy(), runtime);
        let mut log = record.map(|record| {
            let prompt = inputs.iter().find_map(|input| match input {
                Input::Start { prompt, .. } => Some(prompt.as_str()),
                _ => None,
            });
            let context = turn_context(machine.config(), &policy, runtime);
            // What the turn started from is on disk already; what the
            // machine opened the conversation with (the instructions) is not.
            let (log, lines) = TurnLog::begin(
                context,
                machine.config().history.len(),
                prompt.unwrap_or_default(),
                record.usage,
            );
            record.recorder.record_all(lines);
            (record, log)
        });

        // Which call each running command answers (by command id), and what
        // it wrote so far: an interrupted command keeps its output.
        let progress: Arc<std::sync::Mutex<Progress>> = Arc::default();
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
                        Effect::Emit(event) => {
                            if let Some((record, log)) = &mut log {
                                record.recorder.record_all(log.event(&event));
                            }
                            on_event(event);
                        }
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
                            let progress = Arc::clone(&progress);
                            running.push(Box::pin(async move {
                                let started = Instant::now();
                                let mut on_id = |id| lock(&progress).watch(id, &call_id);
                                let result = self
                                    .run_command_as(spec, policy, &mut on_id)
                                    .await
                                    .map_err(|err: CommandError| err.to_string());
                                vec![Input::CommandDone {
                                    call_id,
                                    result,
                                    wall: started.elapsed(),
                                }]
                            }));
                        }
                        Effect::StartProcess {
                            call_id,
                            argv,
                            cwd,
                            timeout,
                            wait,
                            escalated,
                        } => {
                            let mut spec = codex_sandbox::CommandSpec::new(
                                argv.into_iter().map(OsString::from).collect(),
                                cwd,
                                runtime.command_env.clone(),
                            );
                            spec.timeout = timeout;
                            let sandbox = command_sandbox(runtime, &policy, escalated);
                            let progress = Arc::clone(&progress);
                            running.push(Box::pin(async move {
                                let started = Instant::now();
                                let mut on_id = |id| lock(&progress).watch(id, &call_id);
                                let (session_id, result) = match self
                                    .start_process_as(spec, sandbox, wait, &mut on_id)
                                    .await
                                {
                                    Ok((id, chunk)) => (Some(id), Ok(chunk)),
                                    Err(err) => (None, Err(err.to_string())),
                                };
                                vec![Input::ProcessOutput {
                                    call_id,
                                    session_id,
                                    result,
                                    wall: started.elapsed(),
                                }]
                            }));
                        }
                        Effect::WriteStdin {
                            call_id,
                            session_id,
                            chars,
                            wait,
                        } => running.push(Box::pin(async move {
                            let started = Instant::now();
                            let result = self
                                .poll_process(session_id, Some(chars), wait)
                                .await
                                .map_err(|err| err.to_string());
                            vec![Input::ProcessOutput {
                                call_id,
                                session_id: Some(session_id),
                                result,
                                wall: started.elapsed(),
                            }]
                        })),
                        Effect::ApplyPatch {
                            call_id,
                            input,
                            cwd,
                            escalated,
                        } => {
                            let sandbox = command_sandbox(runtime, &policy, escalated);
                            running.push(Box::pin(async move {
                                let result = tokio::task::spawn_blocking(move || {
                                    apply_in_sandbox(&input, &cwd, &sandbox)
                                })
                                .await
                                .unwrap_or_else(|err| Err(format!("apply_patch failed: {err}")));
                                vec![Input::PatchDone { call_id, result }]
                            }));
                        }
                        Effect::Resources { call_id, request } => {
                            running.push(Box::pin(async move {
                                let result = self.resources(request).await;
                                vec![Input::ResourcesDone { call_id, result }]
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
            if let Some((record, log)) = &mut log {
                record.recorder.record_all(log.history(machine.history()));
            }
            if let Some(outcome) = outcome {
                if let Some((record, log)) = log {
                    record.recorder.record_all(log.end(&outcome));
                    record.usage = *log.total();
                }
                return outcome;
            }
            if running.is_empty() && notices.is_empty() {
                // The machine waits only while something runs; anything
                // else is a bug, reported rather than hung on.
                outcome = Some(TurnOutcome::Failed {
                    message: "the turn stopped waiting on nothing (internal error)".to_owned(),
                });
                continue;
            }
            tokio::select! {
                biased;
                () = cancel.cancelled() => {
                    for (call_id, output) in lock(&progress).outputs() {
                        queue.push_back(Input::Progress { call_id, output });
                    }
                    queue.push_back(Input::Interrupt);
                }
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
                    if let SessionEvent::Command(CommandEvent::Output { id, text, .. }) = &event {
                        lock(&progress).output(*id, text);
                    }
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
                if matches!(event, StreamEvent::Retrying { .. } | StreamEvent::Delta(_)) {
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

/// Applies a patch where the sandbox lets commands write: nowhere under
/// `read-only`, under the writable roots (never into their protected
/// `.git`, `.codex` or `.agents`) under `workspace-write`, anywhere under
/// `danger-full-access`. Paths are resolved beneath the root they belong
/// to by the kernel (`openat2`), so neither `..` nor a symbolic link leaves
/// it; a patch that cannot be applied whole changes nothing.
fn apply_in_sandbox(
    input: &str,
    cwd: &std::path::Path,
    sandbox: &codex_sandbox::SandboxPolicy,
) -> Result<String, String> {
    use crate::apply_patch::{WritePolicy, apply, parse_patch, plan};
    let patch = parse_patch(input).map_err(|err| err.to_string())?;
    let (policy, protected) = match sandbox.mode {
        codex_sandbox::SandboxMode::DangerFullAccess => (WritePolicy::Anywhere, Vec::new()),
        codex_sandbox::SandboxMode::ReadOnly | codex_sandbox::SandboxMode::WorkspaceWrite => {
            let roots = sandbox
                .writable_roots_for(cwd)
                .map_err(|err| format!("apply_patch cannot tell where it may write: {err}"))?;
            let protected: Vec<std::path::PathBuf> = roots
                .iter()
                .flat_map(|root| root.read_only_subpaths.iter())
                .map(|path| path.canonicalize().unwrap_or_else(|_| path.clone()))
                .collect();
            (
                WritePolicy::Within(roots.into_iter().map(|root| root.root).collect()),
                protected,
            )
        }
    };
    let planned = plan(&patch, cwd, &policy).map_err(|err| err.to_string())?;
    for change in planned.changes() {
        for path in std::iter::once(&change.path).chain(change.move_to.iter()) {
            let real = real_path(path);
            if let Some(guard) = protected.iter().find(|guard| real.starts_with(guard)) {
                return Err(format!(
                    "The patch tries to write {}, inside {}, which stays read-only in the \
                     sandbox; nothing was changed",
                    path.display(),
                    guard.display()
                ));
            }
        }
    }
    apply(&planned)
        .map(|applied| applied.summary())
        .map_err(|err| err.to_string())
}

/// `path` with its deepest existing ancestor's symbolic links resolved.
fn real_path(path: &std::path::Path) -> std::path::PathBuf {
    let mut existing = path;
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent;
            }
            _ => break,
        }
    }
    let mut real = existing
        .canonicalize()
        .unwrap_or_else(|_| existing.to_owned());
    for name in rest.iter().rev() {
        real.push(name);
    }
    real
}

/// The output of the commands a turn runs, kept for an interrupt.
#[derive(Debug, Default)]
struct Progress {
    calls: BTreeMap<u64, String>,
    outputs: BTreeMap<String, String>,
}

/// How much of a running command's output is kept for an interrupt.
const PROGRESS_BYTES: usize = 64 * 1024;

impl Progress {
    fn watch(&mut self, id: u64, call_id: &str) {
        self.calls.insert(id, call_id.to_owned());
    }

    fn output(&mut self, id: u64, text: &str) {
        let Some(call_id) = self.calls.get(&id) else {
            return;
        };
        let kept = self.outputs.entry(call_id.clone()).or_default();
        kept.push_str(text);
        if kept.len() > PROGRESS_BYTES {
            let mut cut = kept.len() - PROGRESS_BYTES;
            while !kept.is_char_boundary(cut) {
                cut += 1;
            }
            kept.drain(..cut);
        }
    }

    fn outputs(&mut self) -> Vec<(String, String)> {
        std::mem::take(&mut self.outputs).into_iter().collect()
    }
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
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
