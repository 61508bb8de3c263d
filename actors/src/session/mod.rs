//! The session: the root of the actor tree.
//!
//! [`Session::start`] loads config and requirements (or takes them
//! [`Preloaded`]), admits each server once with the policy's `admit`, and
//! starts one supervised MCP server actor per admitted server, all at once. It keeps each server's status and the
//! tool registry (`mcp__<server>__<tool>`), routes calls to the owning
//! server, applies new snapshots (hot reload), and shuts down in order.
//!
//! Must run inside an actix `System` on a multi-threaded tokio runtime
//! (see `codex_runtime::block_on`).

mod registry;
mod shell;
mod turn;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use codex_runtime::{
    ActorError, AutoShutdown, CallError, ChildHandle, ChildId, ChildSpec, EventBus, Restart,
    RootSupervisor, Supervisor, SupervisorConfig,
};
use codex_transports::TransportRegistry;
use dashmap::DashMap;
use rmcp::model::CallToolResult;
use tokio::sync::broadcast;

pub use registry::{MAX_TOOL_NAME, QualifiedTool, qualify};
pub use turn::TurnRuntime;

use crate::audit_log::{
    AuditEntry, AuditLogActor, AuditReport, Configure as ConfigureAudit, Record as AuditRecord,
};
use crate::config::{ConfigError, ConfigOverride, LoadOptions, McpServerConfig, load_config};
use crate::config_source::ConfigSourceActor;
use crate::mcp_server::{
    McpServerHandle, ServerEvent, ServerFailure, ServerSetup, Timing, ToolCallError, ToolInfo,
    server_spec,
};
use crate::policy::ToolLock;
use crate::policy::{
    AdmissionGate, AuditEvent, LaunchContext, LockError, McpServers, Requirements,
    RequirementsError, RequirementsSources, StopReason, WithheldTool, audit, constrain_servers,
    load_requirements, plan, tool_locks,
};
use crate::sandbox_process::{CommandEvent, CommandExit, SandboxProcessActor, Stream};
use crate::sink::EventSink;
use shell::{
    ApplyAdmitted, AwaitStartup, MarkStarted, MarkStopped, Route, RunningConfigs, SessionActor,
    Settled, Snapshot,
};

/// The supervisor child id of `server`'s subtree. Built here and nowhere
/// else; the session actor maps it back to the server by lookup, never by
/// parsing it.
fn server_child_id(server: &str) -> ChildId {
    ChildId::new(format!("mcp:{server}"))
}

/// Something that happened in the session, for the CLI, tests and logs.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionEvent {
    /// An incarnation began connecting.
    ServerStarting {
        /// The server.
        server: String,
        /// Its incarnation number.
        incarnation: u64,
    },
    /// An incarnation is ready with these tools.
    ServerReady {
        /// The server.
        server: String,
        /// Its incarnation number.
        incarnation: u64,
        /// The tools offered.
        tools: Vec<ToolInfo>,
        /// The tools an admin rule forbids or a lock withholds.
        withheld: Vec<WithheldTool>,
        /// Time from start to ready.
        elapsed: Duration,
        /// The server process (and process group leader), for stdio.
        pid: Option<u32>,
        /// The protocol revision agreed with it.
        protocol_version: Option<String>,
    },
    /// A ready server's tools changed (`tools/list_changed`), and were
    /// judged again.
    ToolsChanged {
        /// The server.
        server: String,
        /// Its incarnation number.
        incarnation: u64,
        /// The tools offered now.
        tools: Vec<ToolInfo>,
        /// The tools withheld now.
        withheld: Vec<WithheldTool>,
    },
    /// A stdio server's process started.
    ProcessStarted {
        /// The server.
        server: String,
        /// Its incarnation number.
        incarnation: u64,
        /// The process id.
        pid: u32,
        /// The file it runs.
        executable: Option<PathBuf>,
        /// That file's SHA-256, when pinned.
        sha256: Option<String>,
    },
    /// A stdio server's process stopped (its tree killed).
    ProcessStopped {
        /// The server.
        server: String,
        /// Its incarnation number.
        incarnation: u64,
        /// The process id.
        pid: u32,
        /// How it ended.
        status: String,
    },
    /// An incarnation ended abnormally; the supervisor may restart it.
    ServerFailed {
        /// The server.
        server: String,
        /// Its incarnation number.
        incarnation: u64,
        /// Why.
        failure: ServerFailure,
    },
    /// The server exhausted its restarts and stays failed.
    ServerGaveUp {
        /// The server.
        server: String,
        /// The last failure.
        reason: String,
    },
    /// The server was stopped on purpose (policy, config change, shutdown).
    ServerStopped {
        /// The server.
        server: String,
        /// Why.
        reason: StopReason,
    },
    /// An admission decision.
    Admission(AuditEvent),
    /// A config or requirements source failed to load; the last good
    /// snapshot stays in force.
    ConfigError {
        /// The error, with file, line and column.
        message: String,
    },
    /// A new snapshot was applied.
    Reloaded,
    /// A sandboxed command wrote output.
    CommandOutput {
        /// The command's id, from [`Session::run_command`].
        id: u64,
        /// Which stream.
        stream: Stream,
        /// The bytes, decoded lossily.
        text: String,
    },
    /// A sandboxed command ended.
    CommandExited {
        /// The command's id.
        id: u64,
        /// Its exit code (124 after a timeout).
        exit_code: i32,
        /// Whether the timeout killed it.
        timed_out: bool,
    },
}

impl From<ServerEvent> for SessionEvent {
    fn from(event: ServerEvent) -> Self {
        match event {
            ServerEvent::Starting {
                server,
                incarnation,
            } => SessionEvent::ServerStarting {
                server,
                incarnation,
            },
            ServerEvent::Ready {
                server,
                incarnation,
                tools,
                withheld,
                elapsed,
                pid,
                protocol_version,
            } => SessionEvent::ServerReady {
                server,
                incarnation,
                tools,
                withheld,
                elapsed,
                pid,
                protocol_version,
            },
            ServerEvent::ToolsChanged {
                server,
                incarnation,
                tools,
                withheld,
            } => SessionEvent::ToolsChanged {
                server,
                incarnation,
                tools,
                withheld,
            },
            ServerEvent::ProcessStarted {
                server,
                incarnation,
                pid,
                executable,
                sha256,
            } => SessionEvent::ProcessStarted {
                server,
                incarnation,
                pid,
                executable,
                sha256,
            },
            ServerEvent::ProcessStopped {
                server,
                incarnation,
                pid,
                status,
            } => SessionEvent::ProcessStopped {
                server,
                incarnation,
                pid,
                status,
            },
            ServerEvent::Failed {
                server,
                incarnation,
                failure,
            } => SessionEvent::ServerFailed {
                server,
                incarnation,
                failure,
            },
        }
    }
}

impl From<CommandEvent> for SessionEvent {
    fn from(event: CommandEvent) -> Self {
        match event {
            CommandEvent::Output { id, stream, text } => {
                SessionEvent::CommandOutput { id, stream, text }
            }
            CommandEvent::Exited {
                id,
                exit_code,
                timed_out,
            } => SessionEvent::CommandExited {
                id,
                exit_code,
                timed_out,
            },
        }
    }
}

/// Where a server stands.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerState {
    /// Not running: policy or the user disabled it, or it left config.
    Disabled(StopReason),
    /// Connecting (first start or a restart).
    Starting,
    /// Serving.
    Ready {
        /// Time from start to ready, for the latest incarnation.
        elapsed: Duration,
    },
    /// Failed; a restart may follow.
    Restarting {
        /// The failure.
        last_failure: String,
    },
    /// Failed for good (restarts exhausted, or refused at start).
    Failed(String),
}

impl ServerState {
    /// Whether startup is still in progress.
    pub fn is_pending(&self) -> bool {
        matches!(self, ServerState::Starting | ServerState::Restarting { .. })
    }
}

/// One server as the session sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerStatus {
    /// The server.
    pub name: String,
    /// Its state.
    pub state: ServerState,
    /// Whether a failure fails the session (`required = true`).
    pub required: bool,
    /// Its tools when ready.
    pub tools: Vec<ToolInfo>,
    /// Its tools that an admin rule forbids or a lock withholds.
    pub withheld: Vec<WithheldTool>,
    /// The live process (and process group leader), for a ready stdio server.
    pub pid: Option<u32>,
    /// The protocol revision agreed with a ready server.
    pub protocol_version: Option<String>,
}

/// How to start a session. No `Default`: the caller says where config lives.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// `CODEX_HOME`.
    pub codex_home: PathBuf,
    /// The working directory (project layers, relative paths, stdio cwd).
    pub cwd: PathBuf,
    /// `-c` overrides.
    pub overrides: Vec<ConfigOverride>,
    /// Where requirements come from.
    pub requirements: RequirementsSources,
    /// The parent environment, for stdio servers and header variables.
    pub env: BTreeMap<String, String>,
    /// Ping settings.
    pub timing: Timing,
    /// Only start these servers (all when empty).
    pub only: Vec<String>,
    /// How to start sandboxed stdio servers (the `codex` binary in its
    /// sandbox-helper mode).
    pub sandbox_launcher: Option<codex_sandbox::SandboxLauncher>,
    /// Apply tool locks (`codex mcp lock` turns this off to see every
    /// tool as it is now).
    pub tool_locks: bool,
    /// The transport plugins; the built-in ones when `None`. A chaos run
    /// passes `FaultInjector::registry()` here: the same plugins, behind
    /// the fault injector.
    pub transports: Option<Arc<TransportRegistry>>,
}

/// Why a sandboxed command produced no exit status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The session was built without a sandbox helper.
    #[error("no sandbox helper is available to run commands")]
    NoLauncher,
    /// The sandbox refused the command or it could not be executed.
    #[error("the command could not be started: {0}")]
    Start(String),
    /// The command's actor stopped without answering (session shutdown).
    #[error("the command was stopped before it finished")]
    Lost,
    /// A command actor was asked to run twice.
    #[error("a command runs at most once")]
    AlreadyRan,
}

/// Why a session could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// Config could not be loaded.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Requirements could not be loaded.
    #[error(transparent)]
    Requirements(#[from] RequirementsError),
    /// A `required = true` server did not start.
    #[error("required MCP servers failed to initialize: {0}")]
    RequiredFailed(String),
    /// The session actor is gone.
    #[error("the session has stopped")]
    Stopped,
    /// The TLS client could not be set up.
    #[error("cannot set up TLS: {0}")]
    Tls(String),
    /// A tool lock cannot be read.
    #[error(transparent)]
    Lock(#[from] LockError),
}

/// Config and requirements the caller already loaded, with each server's
/// admission, so that a session started right after (as `codex mcp tools`
/// does) neither reads the files nor admits the servers a second time.
#[derive(Debug, Clone)]
pub struct Preloaded {
    /// Every configured server with its admission.
    pub servers: McpServers,
    /// The requirements they were admitted under.
    pub requirements: Requirements,
    /// `mcp_tools_lock_new = "allow"` in the user's config.
    pub tools_lock_allows_new: bool,
}

/// A running session. Dropping it does not stop it; call
/// [`Session::shutdown`].
#[derive(Debug)]
pub struct Session {
    actor: ChildHandle<SessionActor>,
    root: RootSupervisor,
    shared: Shared,
    options: SessionOptions,
    /// Serializes reloads, and holds the admission decision last recorded
    /// for each server: a reload records only the decisions that changed.
    reload_lock: tokio::sync::Mutex<BTreeMap<String, AuditEvent>>,
    next_command: std::sync::atomic::AtomicU64,
    next_source: std::sync::atomic::AtomicU64,
    /// Reaps orphans this process adopted, when it is a subreaper.
    reaper: Option<tokio::task::JoinHandle<()>>,
    /// The audit log.
    audit: ChildHandle<AuditLogActor>,
    /// What the audit files missed.
    audit_report: Arc<std::sync::Mutex<Vec<AuditReport>>>,
}

/// How often adopted orphans that died are reaped.
const REAP_INTERVAL: Duration = Duration::from_secs(2);

/// What every server's setup is built from.
#[derive(Debug, Clone)]
struct Shared {
    registry: Arc<TransportRegistry>,
    env: Arc<BTreeMap<String, String>>,
    gate: AdmissionGate,
    /// What subscribers see, published after the session actor applied it.
    events: broadcast::Sender<SessionEvent>,
    /// What server actors report to the session actor.
    internal: broadcast::Sender<SessionEvent>,
    /// Running servers by name, read on every call without a mailbox hop.
    routes: Arc<DashMap<String, McpServerHandle>>,
    /// The HTTP client of model streams.
    http: codex_transports::HttpClient,
}

/// The session's tree:
///
/// ```text
/// session            root supervisor; shuts down when `state` ends
/// ├── state          the session actor (significant, temporary)
/// ├── config:N       one config-source actor per watched file (permanent)
/// ├── mcp:NAME       one sub-supervisor per started server (temporary)
/// │   └── server     the server actor, restarted per the server's policy
/// ├── cmd:N          one sandbox-process actor per command (temporary)
/// └── model:N        one model-stream actor per model request (temporary)
/// ```
impl Session {
    /// Loads config and requirements (or takes `preloaded`) and starts
    /// every admitted server, all at once. Returns when every server has
    /// been started, not when they are ready; see [`Session::wait_startup`].
    pub async fn start(
        options: SessionOptions,
        preloaded: Option<Preloaded>,
    ) -> Result<Session, SessionError> {
        let (events, _) = broadcast::channel(4096);
        let (internal, _) = broadcast::channel(4096);
        let bus = EventBus::new(4096);
        let audit_report = Arc::new(std::sync::Mutex::new(Vec::new()));
        let report = Arc::clone(&audit_report);
        // Started before any server, so it stops after all of them.
        let (audit_spec, audit) = ChildSpec::actor("audit", move |_| {
            Ok(AuditLogActor::new(Vec::new(), Arc::clone(&report)))
        });
        let audit_sink = {
            let audit = audit.clone();
            EventSink::new(move |entry| {
                let _ = audit.try_send(AuditRecord(entry));
            })
        };
        let mut seed = Some(SessionActor::new(
            internal.clone(),
            events.clone(),
            bus.subscribe(),
            audit_sink,
        ));
        let (state, actor) = ChildSpec::actor("state", move |_| {
            seed.take()
                .ok_or_else(|| ActorError::custom(SessionError::Stopped))
        });
        let state = state.restart(Restart::Temporary).significant(true);
        let config = SupervisorConfig::default().auto_shutdown(AutoShutdown::AnySignificant);
        let root = Supervisor::start(
            "session",
            config,
            &bus,
            vec![state, audit_spec.restart(Restart::Permanent)],
        );
        root.ready().await.map_err(|_| SessionError::Stopped)?;
        let session = Session {
            actor,
            root,
            shared: Shared {
                registry: options
                    .transports
                    .clone()
                    .unwrap_or_else(|| Arc::new(TransportRegistry::default())),
                env: Arc::new(options.env.clone()),
                gate: AdmissionGate::closed(LaunchContext {
                    cwd: options.cwd.clone(),
                    env: options.env.clone(),
                }),
                events,
                internal,
                routes: Arc::new(DashMap::new()),
                http: codex_transports::HttpClient::new()
                    .map_err(|err| SessionError::Tls(err.to_string()))?,
            },
            options,
            reload_lock: tokio::sync::Mutex::new(BTreeMap::new()),
            next_command: std::sync::atomic::AtomicU64::new(1),
            next_source: std::sync::atomic::AtomicU64::new(1),
            // Orphans of servers re-parented to this process become its
            // zombies when they die; nobody else waits for them.
            audit,
            audit_report,
            reaper: codex_sandbox::is_subreaper().then(|| {
                tokio::spawn(async {
                    let mut every = tokio::time::interval(REAP_INTERVAL);
                    loop {
                        every.tick().await;
                        codex_sandbox::reap_adopted();
                    }
                })
            }),
        };
        let first = match preloaded {
            Some(preloaded) => {
                let mut decided = session.reload_lock.lock().await;
                let servers = session.only(preloaded.servers);
                match session.locks(&preloaded.requirements, preloaded.tools_lock_allows_new) {
                    Ok(locks) => {
                        session
                            .apply(&mut decided, servers, preloaded.requirements, locks)
                            .await
                    }
                    Err(err) => Err(err),
                }
            }
            None => session.reload().await,
        };
        match first {
            Ok(()) => Ok(session),
            Err(err) => {
                // Nothing of a session that failed to start outlives it.
                session.shutdown().await;
                Err(err)
            }
        }
    }

    /// Waits until no server is starting or restarting, then fails if a
    /// `required` server failed.
    pub async fn wait_startup(&self) -> Result<Vec<ServerStatus>, SessionError> {
        self.ask(AwaitStartup(Settled::Final))
            .await?
            .await
            .map_err(|_| SessionError::Stopped)?;
        let statuses = self.statuses().await?;
        let failed: Vec<String> = statuses
            .iter()
            .filter(|s| s.required)
            .filter_map(|s| match &s.state {
                ServerState::Failed(reason) => Some(format!("{}: {reason}", s.name)),
                _ => None,
            })
            .collect();
        if failed.is_empty() {
            Ok(statuses)
        } else {
            Err(SessionError::RequiredFailed(failed.join("; ")))
        }
    }

    /// Waits until every server has had its first attempt (ready, failed,
    /// or disabled; a server waiting to restart counts as failed), each
    /// bounded by its own startup timeout, and returns every status. This
    /// is what `codex exec` waits for before the first model request.
    pub async fn wait_first_attempts(&self) -> Result<Vec<ServerStatus>, SessionError> {
        self.ask(AwaitStartup(Settled::FirstAttempt))
            .await?
            .await
            .map_err(|_| SessionError::Stopped)?;
        self.statuses().await
    }

    /// Every configured server with its state, sorted by name.
    pub async fn statuses(&self) -> Result<Vec<ServerStatus>, SessionError> {
        self.ask(Snapshot).await
    }

    /// The tool registry over every ready server.
    pub async fn tools(&self) -> Result<Vec<QualifiedTool>, SessionError> {
        let statuses = self.statuses().await?;
        let map = statuses
            .iter()
            .filter(|s| matches!(s.state, ServerState::Ready { .. }))
            .map(|s| {
                (
                    s.name.clone(),
                    s.tools.iter().map(|t| t.name.clone()).collect(),
                )
            })
            .collect();
        Ok(qualify(&map))
    }

    /// Calls `tool` on `server`.
    pub async fn call(
        &self,
        server: &str,
        tool: &str,
        arguments: Option<serde_json::Map<String, serde_json::Value>>,
    ) -> Result<CallToolResult, ToolCallError> {
        let direct = self
            .shared
            .routes
            .get(server)
            .map(|entry| entry.value().clone());
        if let Some(handle) = direct
            && handle.is_live()
        {
            let result = handle.call(tool, arguments).await;
            self.audit_refusal(&result);
            return result;
        }
        let route = self
            .ask(Route {
                server: server.to_owned(),
            })
            .await
            .map_err(|_| ToolCallError::Unavailable {
                server: server.to_owned(),
                reason: "the session has stopped".to_owned(),
            })?;
        let result = match route {
            Ok(handle) => handle.call(tool, arguments).await,
            Err(reason) => Err(ToolCallError::Unavailable {
                server: server.to_owned(),
                reason,
            }),
        };
        self.audit_refusal(&result);
        result
    }

    /// A refused call makes an audit line.
    fn audit_refusal(&self, result: &Result<CallToolResult, ToolCallError>) {
        if let Err(ToolCallError::Refused {
            server,
            tool,
            reason,
        }) = result
        {
            let _ = self.audit.try_send(AuditRecord(AuditEntry::CallRefused {
                server: server.clone(),
                tool: tool.clone(),
                reason: reason.clone(),
            }));
        }
    }

    /// Calls a tool by its qualified name (`mcp__server__tool`).
    pub async fn call_qualified(
        &self,
        qualified: &str,
        arguments: Option<serde_json::Map<String, serde_json::Value>>,
    ) -> Result<CallToolResult, ToolCallError> {
        let tools = self.tools().await.map_err(|_| ToolCallError::Unavailable {
            server: String::new(),
            reason: "the session has stopped".to_owned(),
        })?;
        match tools.into_iter().find(|t| t.qualified == qualified) {
            Some(tool) => self.call(&tool.server, &tool.tool, arguments).await,
            None => Err(ToolCallError::UnknownTool {
                server: String::new(),
                tool: qualified.to_owned(),
            }),
        }
    }

    /// Session events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
        self.shared.events.subscribe()
    }

    /// Reads config and requirements again and applies the difference:
    /// servers no longer admitted stop (process group included), newly
    /// admitted ones start, changed ones restart and are admitted afresh.
    /// A source that fails to load leaves everything as it was.
    pub async fn reload(&self) -> Result<(), SessionError> {
        let mut decided = self.reload_lock.lock().await;
        let loaded = self.load().and_then(|(servers, requirements, allows_new)| {
            let locks = self.locks(&requirements, allows_new)?;
            Ok((servers, requirements, locks))
        });
        let (servers, requirements, locks) = match loaded {
            Ok(loaded) => loaded,
            Err(err) => {
                let _ = self.shared.events.send(SessionEvent::ConfigError {
                    message: err.to_string(),
                });
                return Err(err);
            }
        };
        // Each server is admitted here once; the first incarnation of a
        // server started below reuses this verdict.
        let admitted =
            constrain_servers(&servers, &requirements, self.shared.gate.context()).into_inner();
        self.apply(&mut decided, admitted, requirements, locks)
            .await
    }

    /// The tool locks in force, unless this session ignores them.
    fn locks(
        &self,
        requirements: &Requirements,
        allows_new: bool,
    ) -> Result<Vec<ToolLock>, SessionError> {
        if !self.options.tool_locks {
            return Ok(Vec::new());
        }
        Ok(tool_locks(
            requirements,
            &self.options.codex_home,
            allows_new,
        )?)
    }

    /// What the audit files missed so far (a file that cannot be written
    /// counts its lines as dropped; nothing is lost silently).
    pub fn audit_report(&self) -> Vec<AuditReport> {
        self.audit_report
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Brings the running servers in line with `admitted`. Callers hold
    /// `reload_lock`, whose admission decisions `decided` are.
    async fn apply(
        &self,
        decided: &mut BTreeMap<String, AuditEvent>,
        admitted: McpServers,
        requirements: Requirements,
        locks: Vec<ToolLock>,
    ) -> Result<(), SessionError> {
        let audit_files = requirements
            .layers
            .iter()
            .filter_map(|layer| layer.audit_log.clone())
            .collect();
        let _ = self.audit.try_send(ConfigureAudit(audit_files));
        // New requirements and locks first, so restarts in flight see them.
        self.shared.gate.replace(requirements);
        self.shared.gate.replace_locks(locks);
        let events: Vec<AuditEvent> = audit(&admitted)
            .into_iter()
            .filter(|event| decided.get(&event.server) != Some(event))
            .collect();
        decided.retain(|server, _| admitted.contains_key(server));
        for event in &events {
            decided.insert(event.server.clone(), event.clone());
        }
        for event in events {
            tracing::info!(
                server = %event.server,
                identity = %event.identity,
                allowed = event.allowed,
                detail = %event.detail,
                "admission"
            );
            let _ = self.audit.try_send(AuditRecord(AuditEntry::Admission {
                server: event.server.clone(),
                identity: event.identity.clone(),
                allowed: event.allowed,
                detail: event.detail.clone(),
                sources: event.sources.clone(),
            }));
            let _ = self.shared.events.send(SessionEvent::Admission(event));
        }
        let running = self.ask(RunningConfigs).await?;
        let plan = plan(&running, &admitted);
        let supervisor = self.root.handle();
        for (name, reason) in &plan.stop {
            self.shared.routes.remove(name);
            self.ask(MarkStopped {
                server: name.clone(),
                reason: reason.clone(),
            })
            .await?;
            let id = server_child_id(name);
            let _ = supervisor.terminate_child(id.clone()).await;
            let _ = supervisor.delete_child(id).await;
        }
        self.ask(ApplyAdmitted {
            admitted: admitted.clone(),
            starting: plan
                .start
                .iter()
                .map(|name| (name.clone(), server_child_id(name)))
                .collect(),
        })
        .await?;
        for name in &plan.start {
            let Some(server) = admitted.get(name) else {
                continue;
            };
            let internal = self.shared.internal.clone();
            let setup = Arc::new(ServerSetup {
                name: name.clone(),
                config: server.config.clone(),
                registry: Arc::clone(&self.shared.registry),
                cwd: self.options.cwd.clone(),
                env: Arc::clone(&self.shared.env),
                admitted: std::sync::Mutex::new(Some(server.admission.clone())),
                gate: self.shared.gate.clone(),
                events: EventSink::new(move |event: ServerEvent| {
                    let _ = internal.send(event.into());
                }),
                audit: {
                    let audit = self.audit.clone();
                    EventSink::new(move |entry| {
                        let _ = audit.try_send(AuditRecord(entry));
                    })
                },
                credentials: Some(
                    self.options
                        .codex_home
                        .join(codex_transports::oauth::CREDENTIALS_FILE),
                ),
                timing: self.options.timing,
                sandbox_launcher: self.options.sandbox_launcher.clone(),
                live: Default::default(),
            });
            let (spec, handle) = server_spec(server_child_id(name), setup);
            let handle = match supervisor.start_child(spec).await {
                Ok(()) => {
                    self.shared.routes.insert(name.clone(), handle.clone());
                    Ok(handle)
                }
                Err(err) => Err(err.to_string()),
            };
            self.ask(MarkStarted {
                server: name.clone(),
                handle,
            })
            .await?;
        }
        let _ = self.shared.events.send(SessionEvent::Reloaded);
        Ok(())
    }

    /// Sends `msg` to the session actor.
    async fn ask<M>(&self, msg: M) -> Result<M::Result, SessionError>
    where
        M: actix::Message + Send + 'static,
        M::Result: Send,
        SessionActor: actix::Handler<M>,
    {
        self.actor.send(msg).await.map_err(|err| match err {
            CallError::NotSent(_) | CallError::Lost { .. } => SessionError::Stopped,
        })
    }

    /// Keeps only the servers `options.only` names (all when empty).
    fn only<T>(&self, mut servers: BTreeMap<String, T>) -> BTreeMap<String, T> {
        if !self.options.only.is_empty() {
            servers.retain(|name, _| self.options.only.contains(name));
        }
        servers
    }

    #[allow(clippy::type_complexity)]
    fn load(
        &self,
    ) -> Result<(BTreeMap<String, McpServerConfig>, Requirements, bool), SessionError> {
        let requirements = load_requirements(&self.options.requirements)?.requirements;
        let config = load_config(&LoadOptions {
            codex_home: self.options.codex_home.clone(),
            cwd: self.options.cwd.clone(),
            overrides: self.options.overrides.clone(),
        })?;
        Ok((
            self.only(config.mcp_servers),
            requirements,
            config.tools_lock_allows_new,
        ))
    }

    /// The files whose changes should trigger [`Session::reload`].
    pub fn watched_paths(&self) -> Vec<PathBuf> {
        let mut paths = vec![
            self.options.codex_home.join("config.toml"),
            self.options.requirements.system_file.clone(),
        ];
        paths.extend(self.options.requirements.env_file.clone());
        paths.push(self.options.cwd.join(".codex").join("config.toml"));
        paths
    }

    /// Watches every file in [`Session::watched_paths`] and reloads when
    /// one changes (debounced). Each file has a config-source actor under
    /// the session's supervisor. A malformed edit is reported as a
    /// [`SessionEvent::ConfigError`] and the last good snapshot stays.
    pub async fn watch(self: &Arc<Self>, debounce: Duration) -> Result<(), SessionError> {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let supervisor = self.root.handle();
        for path in self.watched_paths() {
            let n = self
                .next_source
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let tx = tx.clone();
            let (spec, _) = ChildSpec::actor(format!("config:{n}"), move |_| {
                Ok(ConfigSourceActor::new(path.clone(), debounce, tx.clone()))
            });
            supervisor
                .start_child(spec.restart(Restart::Permanent))
                .await
                .map_err(|_| SessionError::Stopped)?;
        }
        let session = Arc::downgrade(self);
        tokio::spawn(async move {
            while let Some(path) = rx.recv().await {
                let Some(session) = session.upgrade() else {
                    break;
                };
                tracing::info!(path = %path.display(), "config source changed");
                // Errors are published as events by `reload`.
                let _ = session.reload().await;
            }
        });
        Ok(())
    }

    /// Runs one command under the sandbox as a temporary child of the
    /// session, publishing its output as [`SessionEvent::CommandOutput`],
    /// and returns how it ended. The command's timeout is `spec.timeout`.
    pub async fn run_command(
        &self,
        spec: codex_sandbox::CommandSpec,
        policy: codex_sandbox::SandboxPolicy,
    ) -> Result<CommandExit, CommandError> {
        let launcher = self
            .options
            .sandbox_launcher
            .clone()
            .ok_or(CommandError::NoLauncher)?;
        let id = self
            .next_command
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (reply_tx, reply_rx) = tokio::sync::oneshot::channel();
        let mut reply = Some(reply_tx);
        let events = self.shared.events.clone();
        let events = EventSink::new(move |event: CommandEvent| {
            let _ = events.send(event.into());
        });
        let mut spec = Some(spec);
        let child_id = ChildId::new(format!("cmd:{id}"));
        let child = ChildSpec::new(child_id.clone(), move |cx| {
            match (spec.take(), reply.take()) {
                (Some(spec), Some(reply)) => Ok(cx.start(SandboxProcessActor::new(
                    id,
                    spec,
                    policy.clone(),
                    launcher.clone(),
                    events.clone(),
                    reply,
                ))),
                _ => Err(ActorError::custom(CommandError::AlreadyRan)),
            }
        })
        .restart(Restart::Temporary)
        .shutdown(codex_runtime::Shutdown::BrutalKill);
        let supervisor = self.root.handle();
        supervisor
            .start_child(child)
            .await
            .map_err(|err| CommandError::Start(err.to_string()))?;
        let result = reply_rx.await.map_err(|_| CommandError::Lost);
        let _ = supervisor.delete_child(child_id).await;
        result?.map_err(CommandError::Start)
    }

    /// Stops every server in reverse start order, then the root
    /// supervisor. Each server's process group is killed on the way.
    pub async fn shutdown(&self) {
        let _ = self.root.shutdown().await;
        if let Some(reaper) = &self.reaper {
            reaper.abort();
        }
    }
}
