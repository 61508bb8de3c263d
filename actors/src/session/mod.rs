//! The session: the root of the actor tree.
//!
//! ```text
//! session (root, one_for_one; ends when `state` ends)
//! ├── audit            the audit log, first in, last out
//! ├── state            the session actor: statuses, routes, startup waits
//! ├── policy           the policy actor's subtree (one_for_all)
//! │   ├── policy       the requirements, locks and verdicts in force
//! │   └── source:N     one config-source actor per watched file
//! ├── servers          every MCP server's own subtree, `mcp:N`
//! └── cmd:N, model:N   sandboxed commands and model requests of turns
//! ```
//!
//! [`Session::start`] starts the tree; the policy actor reads config and
//! requirements (or takes them [`Preloaded`]), admits every server and
//! orders the session actor to start the admitted ones, all at once. From
//! then on every session watches its sources: a change re-admits every
//! server, and the policy in force applies at once to running servers and
//! to every call. The session routes calls to the owning server, runs
//! sandboxed commands and model requests for turns, and shuts down in
//! order.
//!
//! Must run inside an actix `System` on a multi-threaded tokio runtime
//! (see `codex_runtime::block_on`).

mod commands;
#[cfg(test)]
mod laws;
mod machine;
#[cfg(test)]
mod panic_tests;
mod registry;
mod shell;
mod turn;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use codex_runtime::{
    ActorError, AutoShutdown, ChildHandle, ChildSpec, EventBus, Restart, RootSupervisor, Strategy,
    Supervisor, SupervisorConfig,
};
use codex_transports::TransportRegistry;
use rmcp::model::CallToolResult;
use tokio::sync::{broadcast, oneshot, watch};

pub use crate::policy_actor::{DEFAULT_WATCH_DEBOUNCE, PolicyError, PolicySnapshot, Preloaded};
pub use registry::{MAX_TOOL_NAME, QualifiedTool, qualify};
pub use turn::{Approver, ThreadRecord, TurnIo, TurnRuntime, no_one_to_ask, turn_policy};

use crate::audit_log::{AuditEntry, AuditLogActor, AuditReport, AuditSink, audit_channel};
use crate::mcp_server::{Caller, ServerEvent, Timing, ToolCallError, ToolInfo, Unavailable};
use crate::policy::{AuditEvent, LaunchContext, RequirementsSources, StopReason, WithheldTool};
use crate::policy_actor::{
    Orders, PolicyActor, PolicyInit, PolicySources, PolicyView, Reload, Restarted,
};
use crate::sandbox_process::CommandEvent;
use crate::sink::EventSink;
use machine::Settled;
use shell::{
    ApplyOrders, AwaitStartup, Route, Routes, SERVERS, ServerKit, SessionActor, SessionParts,
    Snapshot, Wake,
};

/// Something that happened in the session, for the CLI, tests and logs.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionEvent {
    /// A server actor reported (starting, ready, tools changed, a process
    /// started or stopped, a failure). Published after the session applied
    /// it: a subscriber that sees `Ready` can call at once.
    Server(ServerEvent),
    /// The server exhausted its restarts and stays failed.
    ServerGaveUp {
        /// The server.
        server: String,
        /// The last failure.
        reason: String,
    },
    /// The server was stopped on purpose (policy, config change).
    ServerStopped {
        /// The server.
        server: String,
        /// Why.
        reason: StopReason,
    },
    /// A verdict that changed.
    Admission(AuditEvent),
    /// A config, requirements or lock file failed to load; the last good
    /// policy stays in force.
    SourceFailed {
        /// The error, with file, line and column.
        message: String,
    },
    /// The servers were brought in line with a policy snapshot.
    PolicyApplied {
        /// The snapshot's version.
        version: u64,
    },
    /// A sandboxed command wrote output or ended.
    Command(CommandEvent),
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
    /// Admitted, not started: it starts on its first call (`startup =
    /// "lazy"` with its tools pinned by a lock in force).
    Lazy,
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
    /// When config says it starts (it is eager anyway when required, or
    /// when no lock in force pins its tools).
    pub startup: crate::config::Startup,
    /// Its tools when ready; a lazy server's as the locks pin them.
    pub tools: Vec<ToolInfo>,
    /// Its tools that an admin rule forbids or a lock withholds.
    pub withheld: Vec<WithheldTool>,
    /// The live process (and process group leader), for a ready stdio server.
    pub pid: Option<u32>,
    /// The number of the incarnation that became ready last (1 for the
    /// first start): `incarnation - 1` restarts succeeded.
    pub incarnation: Option<u64>,
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
    pub overrides: Vec<crate::config::ConfigOverride>,
    /// Whether `$CODEX_HOME/config.toml` is read (`--ignore-user-config`
    /// turns it off).
    pub user_config: bool,
    /// `--strict-config`: a config read again with keys this version does
    /// not know is refused like any config that fails to load, and the last
    /// good policy stays in force.
    pub strict_config: bool,
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
    /// How long a watched file must be quiet before it is read again
    /// (`watch_debounce_ms` in config; [`DEFAULT_WATCH_DEBOUNCE`]).
    pub watch_debounce: Duration,
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
    /// No process session has that id (it ended, or never was).
    #[error("no running process has session id {0}")]
    UnknownProcess(u64),
    /// Too many process sessions run already.
    #[error("{0} processes are still running; wait for one to end (write_stdin) first")]
    TooManyProcesses(usize),
}

/// Why a session could not start or reload.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// Config, requirements or a tool lock could not be loaded.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// A `required = true` server did not start.
    #[error("required MCP servers failed to initialize: {0}")]
    RequiredFailed(String),
    /// The session actor is gone.
    #[error("the session has stopped")]
    Stopped,
    /// The TLS client could not be set up.
    #[error("cannot set up TLS: {0}")]
    Tls(#[source] rustls::Error),
}

/// A running session. Dropping it does not stop it; call
/// [`Session::shutdown`].
#[derive(Debug)]
pub struct Session {
    actor: ChildHandle<SessionActor>,
    policy: ChildHandle<PolicyActor>,
    view: PolicyView,
    root: RootSupervisor,
    routes: watch::Receiver<Routes>,
    events: broadcast::Sender<SessionEvent>,
    http: codex_transports::HttpClient,
    options: SessionOptions,
    next_command: AtomicU64,
    /// Numbers model requests and session writers (`model:N`,
    /// `rollout:N`); commands have their own numbers, which the model sees.
    next_child: AtomicU64,
    /// Process sessions still running, by id.
    processes: commands::Processes,
    /// Reaps orphans this process adopted, when it is a subreaper.
    reaper: Option<tokio::task::JoinHandle<()>>,
    /// The audit log.
    audit: AuditSink,
    /// What the audit files missed.
    audit_report: Arc<Mutex<Vec<AuditReport>>>,
}

/// How often adopted orphans that died are reaped.
const REAP_INTERVAL: Duration = Duration::from_secs(2);

impl Session {
    /// Starts the tree: the audit log, the session actor, the policy actor
    /// (which loads config and requirements, or takes `preloaded`, and
    /// starts watching them) and then every admitted server, at once.
    /// Returns when the first policy is in force and every admitted
    /// server's start was ordered; [`wait_startup`](Self::wait_startup)
    /// waits for them.
    ///
    /// # Errors
    ///
    /// The first load failing (config, requirements, a lock), or TLS.
    pub async fn start(
        options: SessionOptions,
        preloaded: Option<Preloaded>,
    ) -> Result<Session, SessionError> {
        let http = codex_transports::HttpClient::new().map_err(SessionError::Tls)?;
        let (events, _) = broadcast::channel(4096);
        let bus = EventBus::new(4096);
        let audit_report = Arc::new(Mutex::new(Vec::new()));
        let (audit, inbox) = audit_channel();
        let (audit_spec, _) = ChildSpec::actor("audit", {
            let report = Arc::clone(&audit_report);
            move |_| Ok(AuditLogActor::new(Arc::clone(&inbox), Arc::clone(&report)))
        });
        let context = Arc::new(LaunchContext {
            cwd: options.cwd.clone(),
            env: options.env.clone(),
        });
        let (publish, snapshots) = watch::channel(Arc::new(PolicySnapshot::closed()));
        let (routes_tx, routes) = watch::channel(Routes::default());

        // Every server subtree lives under one supervisor of its own.
        let (servers_spec, servers) =
            ChildSpec::supervisor(SERVERS, SupervisorConfig::default(), Vec::new);

        // The policy actor and its handle come first: the view servers read
        // reports restart verdicts to it.
        let init_cell: Arc<OnceLock<Arc<PolicyInit>>> = Arc::new(OnceLock::new());
        let (policy_spec, policy) = ChildSpec::actor("policy", {
            let init_cell = Arc::clone(&init_cell);
            move |_| match init_cell.get() {
                Some(init) => Ok(PolicyActor::new(Arc::clone(init))),
                None => Err(ActorError::custom(SessionError::Stopped)),
            }
        });
        let view = PolicyView::new(
            snapshots,
            Arc::clone(&context),
            EventSink::new({
                let policy = policy.clone();
                move |verdict| {
                    let _ = policy.try_send(Restarted(verdict));
                }
            }),
        );

        let kit = ServerKit {
            registry: options
                .transports
                .clone()
                .unwrap_or_else(|| Arc::new(TransportRegistry::default())),
            cwd: options.cwd.clone(),
            env: Arc::new(options.env.clone()),
            policy: view.clone(),
            audit: audit.clone(),
            credentials: Some(
                options
                    .codex_home
                    .join(codex_transports::oauth::CREDENTIALS_FILE),
            ),
            timing: options.timing,
        };
        let mut seed = Some(SessionActor::new(SessionParts {
            kit,
            supervisor: servers,
            routes: routes_tx,
            events: events.clone(),
            runtime_events: bus.subscribe(),
        }));
        let (state, actor) = ChildSpec::actor("state", move |_| {
            seed.take()
                .ok_or_else(|| ActorError::custom(SessionError::Stopped))
        });

        let (first_tx, first) = oneshot::channel();
        let subtree = Arc::new(OnceLock::new());
        let orders: Orders = {
            let actor = actor.clone();
            Arc::new(move |apply| {
                let actor = actor.clone();
                Box::pin(async move {
                    match actor.send(ApplyOrders(apply)).await {
                        Ok(done) => done.await.is_ok(),
                        Err(_) => false,
                    }
                })
            })
        };
        let _ = init_cell.set(Arc::new(PolicyInit {
            sources: PolicySources {
                codex_home: options.codex_home.clone(),
                cwd: options.cwd.clone(),
                overrides: options.overrides.clone(),
                user_config: options.user_config,
                strict_config: options.strict_config,
                requirements: options.requirements.clone(),
                only: options.only.clone(),
                tool_locks: options.tool_locks,
                context,
                debounce: options.watch_debounce,
            },
            publish,
            orders,
            audit: audit.clone(),
            decisions: EventSink::new({
                let events = events.clone();
                move |event| {
                    let _ = events.send(SessionEvent::Admission(event));
                }
            }),
            warnings: EventSink::new({
                let events = events.clone();
                move |message| {
                    let _ = events.send(SessionEvent::SourceFailed { message });
                }
            }),
            subtree: Arc::clone(&subtree),
            preloaded: Mutex::new(preloaded),
            first: Mutex::new(Some(first_tx)),
            next_source: AtomicU64::new(1),
        }));
        // The policy's subtree is built once: if it ever gives up, the
        // session ends (significant) rather than run without a policy.
        let mut policy_spec = Some(policy_spec.restart(Restart::Permanent));
        let (policy_tree, policy_supervisor) = ChildSpec::supervisor(
            "policy",
            SupervisorConfig::default().strategy(Strategy::OneForAll),
            move || policy_spec.take().into_iter().collect(),
        );
        let _ = subtree.set(policy_supervisor);

        let config = SupervisorConfig::default().auto_shutdown(AutoShutdown::AnySignificant);
        let root = Supervisor::start(
            "session",
            config,
            &bus,
            vec![
                audit_spec.restart(Restart::Permanent),
                state.restart(Restart::Temporary).significant(true),
                policy_tree.restart(Restart::Temporary).significant(true),
                servers_spec.restart(Restart::Permanent),
            ],
        );
        root.ready().await.map_err(|_| SessionError::Stopped)?;
        let session = Session {
            actor,
            policy,
            view,
            root,
            routes,
            events,
            http,
            options,
            next_command: AtomicU64::new(1),
            next_child: AtomicU64::new(1),
            processes: commands::Processes::default(),
            audit,
            audit_report,
            // Orphans of servers re-parented to this process become its
            // zombies when they die; nobody else waits for them.
            reaper: codex_sandbox::is_subreaper().then(|| {
                tokio::spawn(async {
                    // The first reap after one interval: a session that
                    // ends sooner has adopted nothing worth a `/proc` scan.
                    let mut every = tokio::time::interval_at(
                        tokio::time::Instant::now() + REAP_INTERVAL,
                        REAP_INTERVAL,
                    );
                    loop {
                        every.tick().await;
                        codex_sandbox::reap_adopted();
                    }
                })
            }),
        };
        let failure = match first.await {
            Ok(Ok(())) => return Ok(session),
            Ok(Err(err)) => SessionError::Policy(err),
            Err(_) => SessionError::Stopped,
        };
        // Nothing of a session that failed to start outlives it.
        session.shutdown().await;
        Err(failure)
    }

    /// Waits until no server is starting or restarting, then fails if a
    /// `required` server failed.
    pub async fn wait_startup(&self) -> Result<Vec<ServerStatus>, SessionError> {
        shell::ask(&self.actor, AwaitStartup(Settled::Final))
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
        shell::ask(&self.actor, AwaitStartup(Settled::FirstAttempt))
            .await?
            .await
            .map_err(|_| SessionError::Stopped)?;
        self.statuses().await
    }

    /// Every configured server with its state, sorted by name. A lazy
    /// server's tools are the ones the locks in force pin, judged by the
    /// policy in force.
    pub async fn statuses(&self) -> Result<Vec<ServerStatus>, SessionError> {
        let mut statuses = shell::ask(&self.actor, Snapshot).await?;
        let policy = self.policy();
        for status in &mut statuses {
            if status.state == ServerState::Lazy {
                (status.tools, status.withheld) =
                    crate::mcp_server::pinned_tools(&policy, &status.name);
            }
        }
        Ok(statuses)
    }

    /// The policy in force.
    pub fn policy(&self) -> Arc<PolicySnapshot> {
        self.view.current()
    }

    /// A receiver that wakes on every new policy snapshot.
    pub fn policy_changes(&self) -> watch::Receiver<Arc<PolicySnapshot>> {
        self.view.subscribe()
    }

    /// The tool registry over every ready or lazy server.
    pub async fn tools(&self) -> Result<Vec<QualifiedTool>, SessionError> {
        let statuses = self.statuses().await?;
        let map = statuses
            .iter()
            .filter(|s| matches!(s.state, ServerState::Ready { .. } | ServerState::Lazy))
            .map(|s| {
                (
                    s.name.clone(),
                    s.tools.iter().map(|t| t.name.clone()).collect(),
                )
            })
            .collect();
        Ok(qualify(&map))
    }

    /// The user's own call of `tool` on `server` (`codex mcp call`, a
    /// chaos workload), under the policy in force at the moment of the
    /// call. No approval applies to the user's calls.
    pub async fn call(
        &self,
        server: &str,
        tool: &str,
        arguments: Option<serde_json::Map<String, serde_json::Value>>,
    ) -> Result<CallToolResult, ToolCallError> {
        self.call_as(server, tool, arguments, Caller::User).await
    }

    /// A call for `caller`, under the policy in force at the moment of the
    /// call: a model's call of a tool that needs approval runs only when
    /// `caller` says it was approved.
    pub async fn call_as(
        &self,
        server: &str,
        tool: &str,
        arguments: Option<serde_json::Map<String, serde_json::Value>>,
        caller: Caller,
    ) -> Result<CallToolResult, ToolCallError> {
        let result = match self.serving(server).await {
            Ok(handle) => handle.call(tool, arguments, caller).await,
            Err(why) => Err(ToolCallError::Unavailable {
                server: server.to_owned(),
                why,
            }),
        };
        if let Err(ToolCallError::Refused { server, tool, why }) = &result {
            self.audit.record(AuditEntry::CallRefused {
                server: server.clone(),
                tool: tool.clone(),
                why: why.clone(),
            });
        }
        result
    }

    /// The handle that serves `server` now, or why none does. A lazy
    /// server starts here, for its first call, which waits for its first
    /// attempt (bounded by its startup timeout) and then goes through like
    /// any other: its real tools are judged against the lock first.
    pub(crate) async fn serving(
        &self,
        server: &str,
    ) -> Result<crate::mcp_server::McpServerHandle, Unavailable> {
        let direct = self.routes.borrow().get(server).cloned();
        let handle = match direct {
            Some(handle) if handle.is_live() => return Ok(handle),
            _ => self.route(server).await,
        };
        match handle {
            Err(Unavailable::Lazy) => {
                if let Ok(started) = shell::ask(&self.actor, Wake(server.to_owned())).await {
                    let _ = started.await;
                }
                self.route(server).await
            }
            other => other,
        }
    }

    /// The subtree serving `server`, or why there is none.
    async fn route(&self, server: &str) -> Result<crate::mcp_server::McpServerHandle, Unavailable> {
        shell::ask(
            &self.actor,
            Route {
                server: server.to_owned(),
            },
        )
        .await
        .unwrap_or(Err(Unavailable::SessionStopped))
    }

    /// Calls a tool by its qualified name (`mcp__server__tool`).
    pub async fn call_qualified(
        &self,
        qualified: &str,
        arguments: Option<serde_json::Map<String, serde_json::Value>>,
    ) -> Result<CallToolResult, ToolCallError> {
        let tools = self.tools().await.map_err(|_| ToolCallError::Unavailable {
            server: String::new(),
            why: Unavailable::SessionStopped,
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
        self.events.subscribe()
    }

    /// Reads config, requirements and locks now, without waiting for a
    /// watch, and applies the result: servers no longer admitted stop
    /// (process group included), newly admitted ones start, ones whose
    /// launch changed restart, and live ones re-judge their tools. Returns
    /// once that is done.
    ///
    /// # Errors
    ///
    /// A source that fails to load; the last good policy then stays in
    /// force (and a [`SessionEvent::SourceFailed`] says why).
    pub async fn reload(&self) -> Result<(), SessionError> {
        let (tx, rx) = oneshot::channel();
        self.policy
            .send(Reload(tx))
            .await
            .map_err(|_| SessionError::Stopped)?;
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(SessionError::Policy(err)),
            Err(_) => Err(SessionError::Stopped),
        }
    }

    /// What the audit files missed so far (a file that cannot be written
    /// counts its lines as dropped; nothing is lost silently).
    pub fn audit_report(&self) -> Vec<AuditReport> {
        self.audit_report
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Stops every server in reverse start order, then the rest of the
    /// tree. Each server's process group is killed on the way.
    pub async fn shutdown(&self) {
        let _ = self.root.shutdown().await;
        if let Some(reaper) = &self.reaper {
            reaper.abort();
        }
    }
}
