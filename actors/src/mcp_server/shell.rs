//! The MCP server actor's actix shell: connects through a transport plugin,
//! feeds what happens into the [`Machine`], and carries out its effects.
//!
//! The only file of this actor kind that knows actix.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use codex_runtime::{ActorError, ChildContext};
use codex_sandbox::{CommandSpec, SandboxPolicy};
use codex_transports::{
    ChildProcess, ConnectContext, ConnectError, McpClient, StdioConfig, TransportConfig,
    TransportPluginExt as _,
};
use rmcp::model::{CallToolResult, ClientRequest, PingRequest};
use rmcp::service::{Peer, RoleClient};

use super::machine::{Effect, Input, Machine, MachineConfig, ServerFailure, ToolInfo};
use super::{CallTool, Live, ServerEvent, ServerSetup, ToolCallError};
use crate::config::SandboxMode;

/// One incarnation of one MCP server.
pub(crate) struct McpServerActor {
    setup: Arc<ServerSetup>,
    cx: ChildContext,
    machine: Machine,
    peer: Option<Peer<RoleClient>>,
    process: Option<ChildProcess>,
    /// The sandbox this incarnation runs in (config and requirements).
    sandbox: Option<SandboxMode>,
    /// The connection calls go to, once ready.
    live: Option<Live>,
}

impl McpServerActor {
    pub(crate) fn new(
        setup: Arc<ServerSetup>,
        cx: ChildContext,
        sandbox: Option<SandboxMode>,
    ) -> Self {
        let machine = Machine::new(
            MachineConfig {
                server: setup.name.clone(),
                enabled_tools: setup.config.enabled_tools.clone(),
                disabled_tools: setup.config.disabled_tools.clone(),
                ping_timeout: setup.timing.ping_timeout,
            },
            now(),
        );
        McpServerActor {
            setup,
            cx,
            machine,
            peer: None,
            process: None,
            sandbox,
            live: None,
        }
    }

    fn deliver(&mut self, input: Input, ctx: &mut Context<Self>) {
        for effect in self.machine.step(input, now()) {
            self.perform(effect, ctx);
        }
    }

    fn perform(&mut self, effect: Effect, ctx: &mut Context<Self>) {
        match effect {
            Effect::Ready { tools, elapsed } => {
                if let Some(peer) = self.peer.clone() {
                    let live = Live {
                        server: self.setup.name.clone(),
                        peer,
                        tools: Arc::new(tools.iter().map(|t| t.name.clone()).collect()),
                        filtered: self.setup.config.enabled_tools.is_some()
                            || self.setup.config.disabled_tools.is_some(),
                        timeout: self.setup.tool_timeout(),
                        incarnation: self.cx.incarnation().0,
                    };
                    self.setup.live.set(live.clone());
                    self.live = Some(live);
                }
                self.cx.ready();
                self.setup.publish(ServerEvent::Ready {
                    server: self.setup.name.clone(),
                    incarnation: self.cx.incarnation().0,
                    tools,
                    elapsed,
                    pid: self.process.as_ref().map(ChildProcess::pid),
                });
            }
            Effect::Ping(timeout) => {
                let Some(peer) = self.peer.clone() else {
                    return;
                };
                let ping = async move {
                    let request = ClientRequest::PingRequest(PingRequest::default());
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
        // Calls that arrive while connecting wait in the mailbox.
        ctx.wait(
            connect(setup, sandbox)
                .into_actor(self)
                .map(|result, act, ctx| match result {
                    Ok((client, tools)) => {
                        act.peer = Some(client.service.peer().clone());
                        act.process = client.process.clone();
                        let process = client.process;
                        let service = client.service;
                        let watch = async move {
                            let quit = service.waiting().await;
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
                    Err(failure) => act.deliver(Input::ConnectFailed(failure), ctx),
                }),
        );
    }

    fn stopping(&mut self, _ctx: &mut Context<Self>) -> Running {
        self.setup.live.clear(self.cx.incarnation().0);
        // The transport's drop kills the group too; doing it here makes the
        // kill happen before the supervisor reports the child stopped.
        if let Some(process) = &self.process {
            let _ = process.kill_group();
        }
        Running::Stop
    }
}

/// Connects, handshakes and lists every tool, all under the startup timeout.
async fn connect(
    setup: Arc<ServerSetup>,
    sandbox: Option<SandboxMode>,
) -> Result<(McpClient, Vec<ToolInfo>), ServerFailure> {
    let timeout = setup.startup_timeout();
    let transport = match sandbox {
        None => setup.config.transport.clone(),
        Some(mode) => {
            sandboxed_transport(&setup, mode).map_err(|message| ServerFailure::Startup {
                server: setup.name.clone(),
                message,
                stderr_tail: String::new(),
            })?
        }
    };
    let context = ConnectContext::new(
        setup.name.clone(),
        setup.cwd.clone(),
        setup.env.as_ref().clone(),
    );
    let plugin = setup
        .registry
        .get(setup.config.transport.kind())
        .map_err(|err| ServerFailure::Startup {
            server: setup.name.clone(),
            message: err.to_string(),
            stderr_tail: String::new(),
        })?;
    let started = Instant::now();
    let client = plugin
        .connect_and_initialize(&transport, &context, timeout)
        .await
        .map_err(|err| startup_failure(&setup.name, timeout, err))?;
    let remaining = timeout.saturating_sub(started.elapsed());
    let peer = client.service.peer().clone();
    let tools = match tokio::time::timeout(remaining, peer.list_all_tools()).await {
        Ok(Ok(tools)) => tools,
        Ok(Err(err)) => {
            return Err(ServerFailure::Startup {
                server: setup.name.clone(),
                message: format!("tools/list failed: {err}"),
                stderr_tail: tail_of(&client),
            });
        }
        Err(_) => {
            return Err(ServerFailure::StartupTimeout {
                server: setup.name.clone(),
                after: timeout,
                stderr_tail: tail_of(&client),
            });
        }
    };
    let tools = tools
        .into_iter()
        .map(|tool| ToolInfo {
            name: tool.name.into_owned(),
            description: tool.description.map(|d| d.into_owned()),
            input_schema: serde_json::Value::Object(tool.input_schema.as_ref().clone()),
        })
        .collect();
    Ok((client, tools))
}

/// The stdio transport rewritten to start through the sandbox helper. The
/// identity the policy admitted is the original command; only the process
/// that runs it changes.
fn sandboxed_transport(setup: &ServerSetup, mode: SandboxMode) -> Result<TransportConfig, String> {
    let TransportConfig::Stdio(stdio) = &setup.config.transport else {
        return Err("only stdio servers can run in a sandbox".to_owned());
    };
    let launcher = setup.sandbox_launcher.as_ref().ok_or_else(|| {
        format!("must run in a {mode} sandbox, but no sandbox helper is available")
    })?;
    let cwd = match &stdio.cwd {
        Some(cwd) if cwd.is_absolute() => cwd.clone(),
        Some(cwd) => setup.cwd.join(cwd),
        None => setup.cwd.clone(),
    };
    let policy = SandboxPolicy::new(match mode {
        SandboxMode::ReadOnly => codex_sandbox::SandboxMode::ReadOnly,
        SandboxMode::WorkspaceWrite => codex_sandbox::SandboxMode::WorkspaceWrite,
        SandboxMode::DangerFullAccess | SandboxMode::ExternalSandbox => {
            codex_sandbox::SandboxMode::DangerFullAccess
        }
    });
    let argv = std::iter::once(&stdio.command)
        .chain(&stdio.args)
        .map(std::ffi::OsString::from)
        .collect();
    let spec = CommandSpec::new(argv, cwd.clone(), Default::default());
    let command = launcher
        .command(&spec, &policy)
        .map_err(|err| format!("cannot sandbox it: {err}"))?;
    let text = |s: &std::ffi::OsStr| s.to_string_lossy().into_owned();
    Ok(TransportConfig::Stdio(StdioConfig {
        command: text(command.get_program()),
        args: command.get_args().map(text).collect(),
        env: stdio.env.clone(),
        env_vars: stdio.env_vars.clone(),
        cwd: Some(cwd),
    }))
}

fn tail_of(client: &McpClient) -> String {
    client
        .process
        .as_ref()
        .map(|p| p.stderr().last_lines(20).join("\n"))
        .unwrap_or_default()
}

fn startup_failure(server: &str, timeout: Duration, err: ConnectError) -> ServerFailure {
    match err {
        ConnectError::HandshakeTimeout { stderr_tail, .. } => ServerFailure::StartupTimeout {
            server: server.to_owned(),
            after: timeout,
            stderr_tail,
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
            Some(live) => Box::pin(live.call(msg.tool, msg.arguments)),
            None => {
                let server = self.setup.name.clone();
                Box::pin(async move { Err(ToolCallError::NotConnected { server }) })
            }
        }
    }
}
