//! The MCP server actor's actix shell: connects through a transport plugin,
//! feeds what happens into the [`Machine`], and carries out its effects.
//!
//! The only file of this actor kind that knows actix.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use codex_runtime::{ActorError, ChildContext};
use codex_sandbox::{CommandSpec, SandboxPolicy};
use codex_transports::{
    ChildProcess, ConnectContext, ConnectError, Connection, McpClient, StdioLaunch, TransportConfig,
};
use rmcp::model::{
    CallToolResult, ClientRequest, DiscoverRequest, DiscoverRequestParams, PingRequest,
};
use rmcp::service::{NotificationContext, Peer, RoleClient};
use tokio::sync::mpsc;

use tokio::sync::watch;

use super::machine::{Effect, Input, Machine, MachineConfig, ServerFailure, ToolInfo};
use super::{Caller, Live, ServerEvent, ServerSetup, ToolCallError};
use crate::audit_log::{AuditEntry, ProcessChange, ProcessEvent};
use crate::config::SandboxMode;
use crate::policy::LaunchError;
use crate::policy_actor::PolicySnapshot;

/// One incarnation of one MCP server.
pub(crate) struct McpServerActor {
    setup: Arc<ServerSetup>,
    cx: ChildContext,
    machine: Machine,
    peer: Option<Peer<RoleClient>>,
    process: Option<ChildProcess>,
    /// The sandbox this incarnation runs in (config and requirements).
    sandbox: Option<SandboxMode>,
    /// What a stdio server runs, as admission resolved it.
    launch: Option<Result<CommandSpec, LaunchError>>,
    /// The connection calls go to, once ready.
    live: Option<Live>,
    /// New policy snapshots, until the actor starts following them.
    policy: Option<watch::Receiver<Arc<PolicySnapshot>>>,
    /// Signals `notifications/tools/list_changed`.
    tools_changed: Option<mpsc::Receiver<()>>,
    /// The resolved program of a stdio server, for the audit log.
    executable: Option<std::path::PathBuf>,
    /// Its SHA-256, when a rule pinned it.
    pinned_digest: Option<String>,
}

impl McpServerActor {
    pub(crate) fn new(
        setup: Arc<ServerSetup>,
        cx: ChildContext,
        sandbox: Option<SandboxMode>,
        launch: Option<Result<CommandSpec, LaunchError>>,
    ) -> Self {
        // Subscribed before reading, so no snapshot falls in between.
        let policy = setup.policy.subscribe();
        let judge = setup.judge(&policy.borrow());
        let machine = Machine::new(
            MachineConfig {
                server: setup.name.clone(),
                ping_timeout: setup.timing.ping_timeout,
            },
            judge,
            now(),
        );
        let program = launch
            .as_ref()
            .and_then(|launch| launch.as_ref().ok())
            .and_then(|spec| spec.program.as_ref());
        let executable = program.map(|p| p.path().to_owned());
        let pinned_digest = program.and_then(|p| p.digest()).map(str::to_owned);
        McpServerActor {
            setup,
            cx,
            machine,
            peer: None,
            process: None,
            sandbox,
            launch,
            live: None,
            policy: Some(policy),
            tools_changed: None,
            executable,
            pinned_digest,
        }
    }

    /// Publishes what a ready incarnation offers under the policy its
    /// tools were last judged by, for direct calls.
    fn go_live(&mut self, tools: &[ToolInfo], withheld: &[crate::policy::WithheldTool]) {
        let Some(peer) = self.peer.clone() else {
            return;
        };
        let live = Live {
            server: self.setup.name.clone(),
            peer,
            listed: Arc::new(
                self.machine
                    .listed()
                    .iter()
                    .map(|tool| (tool.name.clone(), tool.clone()))
                    .collect(),
            ),
            offered: Arc::new(tools.iter().map(|t| t.name.clone()).collect()),
            withheld: Arc::new(
                withheld
                    .iter()
                    .map(|w| (w.name.clone(), w.why.clone()))
                    .collect::<BTreeMap<_, _>>(),
            ),
            refused: self.machine.refused().cloned(),
            approvals: Arc::new(self.machine.approvals().clone()),
            version: self.machine.version(),
            policy: self.setup.policy.clone(),
            timeout: self.setup.tool_timeout(),
            incarnation: self.cx.incarnation().0,
        };
        self.setup.live.set(live.clone());
        self.live = Some(live);
    }

    fn deliver(&mut self, input: Input, ctx: &mut Context<Self>) {
        for effect in self.machine.step(input, now()) {
            self.perform(effect, ctx);
        }
    }

    fn perform(&mut self, effect: Effect, ctx: &mut Context<Self>) {
        match effect {
            Effect::Ready {
                tools,
                withheld,
                elapsed,
            } => {
                self.go_live(&tools, &withheld);
                self.cx.ready();
                self.setup.publish(ServerEvent::Ready {
                    server: self.setup.name.clone(),
                    incarnation: self.cx.incarnation().0,
                    tools,
                    withheld,
                    elapsed,
                    pid: self.process.as_ref().map(ChildProcess::pid),
                    protocol_version: self
                        .peer
                        .as_ref()
                        .and_then(|peer| peer.peer_info())
                        .map(|info| info.protocol_version.as_str().to_owned()),
                });
                // From now on, a changed tool list is listed and judged
                // again, and so is every new policy.
                if let Some(changed) = self.tools_changed.take() {
                    ctx.add_stream(tokio_stream_of(changed));
                }
                if let Some(policy) = self.policy.take() {
                    ctx.add_stream(policy_stream(policy));
                }
            }
            Effect::Judged { version } => {
                if let Some(live) = &mut self.live
                    && live.version != version
                {
                    live.version = version;
                    live.refused = self.machine.refused().cloned();
                    live.approvals = Arc::new(self.machine.approvals().clone());
                    self.setup.live.set(live.clone());
                }
            }
            Effect::ToolsChanged { tools, withheld } => {
                self.go_live(&tools, &withheld);
                self.setup.publish(ServerEvent::ToolsChanged {
                    server: self.setup.name.clone(),
                    incarnation: self.cx.incarnation().0,
                    tools,
                    withheld,
                });
            }
            Effect::Ping(timeout) => {
                let Some(peer) = self.peer.clone() else {
                    return;
                };
                let ping = async move {
                    // 2026-07-28 has no `ping`: a fresh `server/discover`
                    // (never the cached one) shows the server answers.
                    let modern = peer
                        .peer_info()
                        .is_some_and(|info| !info.protocol_version.has_initialize());
                    let request = if modern {
                        ClientRequest::DiscoverRequest(DiscoverRequest::new(
                            DiscoverRequestParams {},
                        ))
                    } else {
                        ClientRequest::PingRequest(PingRequest::default())
                    };
                    tokio::time::timeout(timeout, peer.send_request(request)).await
                };
                ctx.spawn(ping.into_actor(self).map(|result, act, ctx| {
                    let input = match result {
                        Ok(Ok(_)) => Input::PingAnswered,
                        Ok(Err(_)) | Err(_) => Input::PingFailed,
                    };
                    act.deliver(input, ctx);
                }));
            }
            Effect::Fail(failure) => {
                tracing::warn!(server = %self.setup.name, "{failure}");
                self.setup.live.clear(self.cx.incarnation().0);
                self.live = None;
                self.setup.publish(ServerEvent::Failed {
                    server: self.setup.name.clone(),
                    incarnation: self.cx.incarnation().0,
                    failure: failure.clone(),
                });
                self.cx.fail(ActorError::custom(failure));
                ctx.stop();
            }
        }
    }

    fn stderr_tail(&self) -> String {
        self.process
            .as_ref()
            .map(|p| p.stderr().last_lines(20).join("\n"))
            .unwrap_or_default()
    }
}

impl Actor for McpServerActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.setup.publish(ServerEvent::Starting {
            server: self.setup.name.clone(),
            incarnation: self.cx.incarnation().0,
        });
        let setup = Arc::clone(&self.setup);
        let sandbox = self.sandbox;
        let launch = self.launch.take();
        let program = Program {
            incarnation: self.cx.incarnation().0,
            executable: self.executable.clone(),
            digest: self.pinned_digest.clone(),
        };
        // Calls that arrive while connecting wait in the mailbox.
        ctx.wait(
            connect(setup, sandbox, launch, program)
                .into_actor(self)
                .map(|result, act, ctx| match result {
                    Ok((client, tools, changed)) => {
                        act.peer = Some(client.service.peer().clone());
                        act.process = client.process.clone();
                        act.tools_changed = Some(changed);
                        let process = client.process;
                        let service = client.service;
                        let health = client.health;
                        let watch = async move {
                            let quit = service.waiting().await;
                            if let Some(problem) = health.problem() {
                                return problem;
                            }
                            match &process {
                                Some(process) => match process.exited().await {
                                    Some(status) => status.to_string(),
                                    None => "the process could not be waited for".to_owned(),
                                },
                                None => match quit {
                                    Ok(reason) => format!("connection closed ({reason:?})"),
                                    Err(err) => format!("connection task failed: {err}"),
                                },
                            }
                        };
                        ctx.spawn(watch.into_actor(act).map(|status, act, ctx| {
                            let stderr_tail = act.stderr_tail();
                            act.deliver(
                                Input::TransportClosed {
                                    status,
                                    stderr_tail,
                                },
                                ctx,
                            );
                        }));
                        act.deliver(Input::Connected { tools }, ctx);
                        let every = act.setup.timing.ping_interval;
                        ctx.run_interval(every, |act, ctx| act.deliver(Input::PingDue, ctx));
                    }
                    Err((failure, process)) => {
                        // A process that died in the handshake still
                        // started; `stopping` records its end.
                        act.process = process;
                        act.deliver(Input::ConnectFailed(failure), ctx);
                    }
                }),
        );
    }

    fn stopping(&mut self, _ctx: &mut Context<Self>) -> Running {
        self.setup.live.clear(self.cx.incarnation().0);
        // The transport's drop kills the tree too; doing it here makes the
        // kill happen before the supervisor reports the child stopped.
        if let Some(process) = &self.process {
            let _ = process.kill_group();
            let status = process
                .try_exit_status()
                .flatten()
                .map_or_else(|| "killed".to_owned(), |status| status.to_string());
            let stopped = ProcessEvent {
                server: self.setup.name.clone(),
                incarnation: self.cx.incarnation().0,
                pid: process.pid(),
                change: ProcessChange::Stopped { status },
            };
            self.setup
                .audit
                .record(AuditEntry::Process(stopped.clone()));
            self.setup.publish(ServerEvent::Process(stopped));
        }
        Running::Stop
    }
}

/// Our rmcp client handler: announces what `client_config` says, and
/// reports `notifications/tools/list_changed`.
#[derive(Debug, Clone)]
struct NotifyingHandler {
    info: rmcp::model::ClientConfig,
    tools_changed: mpsc::Sender<()>,
}

impl rmcp::ClientHandler for NotifyingHandler {
    fn get_info(&self) -> rmcp::model::ClientConfig {
        self.info.clone()
    }

    fn on_tool_list_changed(
        &self,
        _context: NotificationContext<RoleClient>,
    ) -> impl Future<Output = ()> + Send + '_ {
        // One pending signal is enough (a flood of them coalesces); the
        // actor may be gone, and then nobody needs to know.
        let _ = self.tools_changed.try_send(());
        std::future::ready(())
    }
}

/// A stream of the list-changed signals, as inputs.
fn tokio_stream_of(
    mut changed: mpsc::Receiver<()>,
) -> impl futures::Stream<Item = ToolsListChanged> {
    futures::stream::poll_fn(move |cx| changed.poll_recv(cx).map(|o| o.map(|()| ToolsListChanged)))
}

/// `notifications/tools/list_changed` arrived.
#[derive(Debug)]
struct ToolsListChanged;

/// A new policy snapshot is in force.
#[derive(Debug)]
struct PolicyChanged(Arc<PolicySnapshot>);

/// Every new snapshot, as inputs; several published in a burst arrive as
/// the latest.
fn policy_stream(
    policy: watch::Receiver<Arc<PolicySnapshot>>,
) -> impl futures::Stream<Item = PolicyChanged> {
    futures::stream::unfold(policy, |mut policy| async move {
        policy.changed().await.ok()?;
        let snapshot = Arc::clone(&policy.borrow_and_update());
        Some((PolicyChanged(snapshot), policy))
    })
}

impl StreamHandler<PolicyChanged> for McpServerActor {
    fn handle(&mut self, PolicyChanged(snapshot): PolicyChanged, ctx: &mut Context<Self>) {
        let judge = self.setup.judge(&snapshot);
        self.deliver(Input::Policy(judge), ctx);
    }

    /// The policy actor's channel closes only when the session ends.
    fn finished(&mut self, _ctx: &mut Context<Self>) {}
}

impl StreamHandler<ToolsListChanged> for McpServerActor {
    fn handle(&mut self, _: ToolsListChanged, ctx: &mut Context<Self>) {
        let Some(peer) = self.peer.clone() else {
            return;
        };
        let timeout = self.setup.startup_timeout();
        let list = async move { tokio::time::timeout(timeout, peer.list_all_tools()).await };
        ctx.spawn(list.into_actor(self).map(|result, act, ctx| match result {
            Ok(Ok(tools)) => act.deliver(
                Input::ToolsListed {
                    tools: tools.into_iter().map(tool_info).collect(),
                },
                ctx,
            ),
            // A server that cannot list its tools any more keeps the old
            // list; the next ping tells whether it is alive.
            Ok(Err(err)) => tracing::warn!(server = %act.setup.name, "tools/list failed: {err}"),
            Err(_) => tracing::warn!(server = %act.setup.name, "tools/list timed out"),
        }));
    }

    /// The connection is gone; the actor learns it from the transport.
    fn finished(&mut self, _ctx: &mut Context<Self>) {}
}

/// What the session keeps of a listed tool.
fn tool_info(tool: rmcp::model::Tool) -> ToolInfo {
    let definition = crate::policy::tool_definition(
        &serde_json::to_value(&tool).unwrap_or(serde_json::Value::Null),
    );
    ToolInfo {
        name: tool.name.into_owned(),
        description: tool.description.map(|d| d.into_owned()),
        input_schema: serde_json::Value::Object(tool.input_schema.as_ref().clone()),
        definition,
    }
}

/// A connected client, its tools, and the list-changed signals.
type Connected = (
    McpClient<NotifyingHandler>,
    Vec<ToolInfo>,
    mpsc::Receiver<()>,
);

/// What a stdio server runs, for [`ServerEvent::ProcessStarted`].
struct Program {
    incarnation: u64,
    executable: Option<std::path::PathBuf>,
    /// Its SHA-256 when a rule pinned it (the bytes that were executed).
    digest: Option<String>,
}

/// Connects, handshakes and lists every tool, all under the startup
/// timeout. A stdio server's process is announced as soon as it is
/// spawned, and handed back on failure so that its end is recorded too.
async fn connect(
    setup: Arc<ServerSetup>,
    sandbox: Option<SandboxMode>,
    launch: Option<Result<CommandSpec, LaunchError>>,
    program: Program,
) -> Result<Connected, (ServerFailure, Option<ChildProcess>)> {
    let timeout = setup.startup_timeout();
    // An unpinned program is hashed for the audit log (only when there is
    // one), alongside the spawn.
    let audits = setup
        .policy
        .current()
        .requirements
        .as_ref()
        .is_some_and(|r| r.layers.iter().any(|layer| layer.audit_log.is_some()));
    let hashing = match (&program.executable, &program.digest) {
        (Some(path), None) if audits => {
            let path = path.clone();
            Some(tokio::task::spawn_blocking(move || {
                codex_sandbox::sha256_file(&path).ok()
            }))
        }
        _ => None,
    };
    let started = Instant::now();
    let connection = open(&setup, sandbox, launch, timeout)
        .await
        .map_err(|failure| (failure, None))?;
    let process = connection.process.clone();
    if let Some(spawned) = &process {
        let digest = match hashing {
            Some(task) => task.await.ok().flatten(),
            None => program.digest,
        };
        let started = ProcessEvent {
            server: setup.name.clone(),
            incarnation: program.incarnation,
            pid: spawned.pid(),
            change: ProcessChange::Started {
                executable: program.executable,
                sha256: digest,
            },
        };
        setup.audit.record(AuditEntry::Process(started.clone()));
        setup.publish(ServerEvent::Process(started));
    }
    let (tools_changed, changed) = mpsc::channel(1);
    let handler = NotifyingHandler {
        info: codex_transports::client_config(),
        tools_changed,
    };
    let remaining = timeout.saturating_sub(started.elapsed());
    let failed = |failure| (failure, process.clone());
    let client = codex_transports::initialize(
        handler,
        connection,
        &setup.name,
        remaining,
        codex_transports::Lifecycle::Negotiate,
    )
    .await
    .map_err(|err| failed(startup_failure(&setup.name, timeout, err)))?;
    let remaining = timeout.saturating_sub(started.elapsed());
    let peer = client.service.peer().clone();
    let tools = match tokio::time::timeout(remaining, peer.list_all_tools()).await {
        Ok(Ok(tools)) => tools,
        Ok(Err(err)) => {
            // A guard's reason (a message past the limit) says more than
            // the closed connection it caused.
            let message = client
                .health
                .problem()
                .unwrap_or_else(|| format!("tools/list failed: {err}"));
            return Err(failed(ServerFailure::Startup {
                server: setup.name.clone(),
                message,
                stderr_tail: tail_of(&client),
            }));
        }
        Err(_) if client.health.problem().is_some() => {
            return Err(failed(ServerFailure::Startup {
                server: setup.name.clone(),
                message: client.health.problem().unwrap_or_default(),
                stderr_tail: tail_of(&client),
            }));
        }
        Err(_) => {
            return Err(failed(ServerFailure::StartupTimeout {
                server: setup.name.clone(),
                after: timeout,
                stderr_tail: tail_of(&client),
            }));
        }
    };
    let tools = tools.into_iter().map(tool_info).collect();
    Ok((client, tools, changed))
}

/// Opens the transport (spawning a stdio server) within `timeout`.
async fn open(
    setup: &ServerSetup,
    sandbox: Option<SandboxMode>,
    launch: Option<Result<CommandSpec, LaunchError>>,
    timeout: Duration,
) -> Result<Connection, ServerFailure> {
    let startup = |message: String| ServerFailure::Startup {
        server: setup.name.clone(),
        message,
        stderr_tail: String::new(),
    };
    let mut context = ConnectContext::new(
        setup.name.clone(),
        setup.cwd.clone(),
        setup.env.as_ref().clone(),
    );
    context.credentials = setup.credentials.clone();
    match (&setup.config.transport, launch) {
        (TransportConfig::Stdio(_), Some(Ok(spec))) => {
            context = context.with_launch(StdioLaunch {
                spec,
                sandbox: sandbox
                    .map(|mode| server_sandbox(setup, mode))
                    .transpose()
                    .map_err(startup)?,
            });
        }
        (TransportConfig::Stdio(_), Some(Err(err))) => return Err(startup(err.to_string())),
        (TransportConfig::Stdio(_), None) => {
            return Err(startup("admission resolved no launch".to_owned()));
        }
        (TransportConfig::StreamableHttp(_) | TransportConfig::Sse(_), _) => {
            if let Some(mode) = sandbox {
                return Err(startup(format!(
                    "must run in a {mode} sandbox, but only stdio servers can be sandboxed"
                )));
            }
        }
    }
    let plugin = setup
        .registry
        .get(setup.config.transport.kind())
        .map_err(|err| startup(err.to_string()))?;
    match tokio::time::timeout(timeout, plugin.connect(&setup.config.transport, &context)).await {
        Ok(Ok(connection)) => Ok(connection),
        Ok(Err(err)) => Err(startup_failure(&setup.name, timeout, err)),
        Err(_) => Err(ServerFailure::StartupTimeout {
            server: setup.name.clone(),
            after: timeout,
            stderr_tail: String::new(),
        }),
    }
}

/// The sandbox a server runs in. Its writable roots come from the session
/// (its working directory and `/tmp`), never from the server's own `cwd`
/// or the process `TMPDIR`.
fn server_sandbox(setup: &ServerSetup, mode: SandboxMode) -> Result<SandboxPolicy, String> {
    let mode = match mode {
        SandboxMode::ReadOnly => codex_sandbox::SandboxMode::ReadOnly,
        SandboxMode::WorkspaceWrite => codex_sandbox::SandboxMode::WorkspaceWrite,
        SandboxMode::DangerFullAccess | SandboxMode::ExternalSandbox => {
            codex_sandbox::SandboxMode::DangerFullAccess
        }
    };
    let mut policy = SandboxPolicy::new(mode);
    if mode == codex_sandbox::SandboxMode::WorkspaceWrite {
        policy.writable_roots = vec![setup.cwd.clone()];
    }
    Ok(policy)
}

fn tail_of<H: rmcp::ClientHandler>(client: &McpClient<H>) -> String {
    client
        .process
        .as_ref()
        .map(|p| p.stderr().last_lines(20).join("\n"))
        .unwrap_or_default()
}

fn startup_failure(server: &str, timeout: Duration, err: ConnectError) -> ServerFailure {
    if err.auth_challenge().is_some() {
        return ServerFailure::NotLoggedIn {
            server: server.to_owned(),
        };
    }
    match err {
        ConnectError::HandshakeTimeout { stderr_tail, .. } => ServerFailure::StartupTimeout {
            server: server.to_owned(),
            after: timeout,
            stderr_tail,
        },
        ConnectError::Limit { problem, .. } => ServerFailure::Startup {
            server: server.to_owned(),
            message: problem,
            stderr_tail: String::new(),
        },
        ConnectError::Initialize {
            source,
            stderr_tail,
            ..
        } => ServerFailure::Startup {
            server: server.to_owned(),
            message: source.to_string(),
            stderr_tail,
        },
        other => ServerFailure::Startup {
            server: server.to_owned(),
            message: other.to_string(),
            stderr_tail: String::new(),
        },
    }
}

fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

impl Handler<CallTool> for McpServerActor {
    type Result = ResponseFuture<Result<CallToolResult, ToolCallError>>;

    fn handle(&mut self, msg: CallTool, _: &mut Context<Self>) -> Self::Result {
        match self.live.clone() {
            Some(live) => Box::pin(live.call(msg.tool, msg.arguments, msg.caller)),
            None => {
                let server = self.setup.name.clone();
                Box::pin(async move { Err(ToolCallError::NotConnected { server }) })
            }
        }
    }
}

/// Calls one tool.
#[derive(Debug, Message)]
#[rtype(result = "Result<CallToolResult, ToolCallError>")]
pub(crate) struct CallTool {
    pub(crate) tool: String,
    pub(crate) arguments: Option<serde_json::Map<String, serde_json::Value>>,
    pub(crate) caller: Caller,
}
