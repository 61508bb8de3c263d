//! The session actor: the single owner of every server's status and of the
//! routing table. It watches the session and runtime event buses and keeps
//! state consistent with them; [`Session`](super::Session) drives it.
//!
//! The only file of the session kind that knows actix.

use std::collections::{BTreeMap, HashMap};

use actix::prelude::*;
use codex_runtime::{ActorError, ChildId, Event, EventKind, Exit};
use tokio::sync::{broadcast, oneshot};

use super::{ServerState, ServerStatus, SessionEvent};
use crate::audit_log::AuditEntry;
use crate::config::McpServerConfig;
use crate::mcp_server::{McpServerHandle, ToolInfo};
use crate::policy::{Admission, McpServers, StopReason, WithheldTool};
use crate::sink::EventSink;

#[derive(Debug)]
struct Entry {
    config: McpServerConfig,
    state: ServerState,
    /// A supervisor subtree exists (or is being started) for it.
    running: bool,
    handle: Option<McpServerHandle>,
    tools: Vec<ToolInfo>,
    withheld: Vec<WithheldTool>,
    pid: Option<u32>,
    protocol_version: Option<String>,
    last_failure: Option<String>,
    /// The current start has had an outcome (ready or failed).
    tried: bool,
}

/// Holds statuses and routes.
pub(crate) struct SessionActor {
    servers: BTreeMap<String, Entry>,
    /// The supervisor child id of each started server's subtree, to find
    /// the server a runtime event is about.
    subtrees: HashMap<ChildId, String>,
    waiters: Vec<(Settled, oneshot::Sender<()>)>,
    /// Reports from server actors.
    internal: broadcast::Sender<SessionEvent>,
    /// Subscribers; every event is forwarded here after it was applied, so
    /// a subscriber that sees `ServerReady` can call the server at once.
    events: broadcast::Sender<SessionEvent>,
    runtime_events: Option<broadcast::Receiver<Event>>,
    /// Where audit lines go.
    audit: EventSink<AuditEntry>,
}

impl SessionActor {
    pub(crate) fn new(
        internal: broadcast::Sender<SessionEvent>,
        events: broadcast::Sender<SessionEvent>,
        runtime_events: broadcast::Receiver<Event>,
        audit: EventSink<AuditEntry>,
    ) -> Self {
        SessionActor {
            audit,
            internal,
            servers: BTreeMap::new(),
            subtrees: HashMap::new(),
            waiters: Vec::new(),
            events,
            runtime_events: Some(runtime_events),
        }
    }

    fn settle_waiters(&mut self) {
        let all_settled = self.servers.values().all(|e| !e.state.is_pending());
        let all_tried = self
            .servers
            .values()
            .all(|e| e.tried || !e.state.is_pending());
        let (done, waiting) =
            std::mem::take(&mut self.waiters)
                .into_iter()
                .partition(|(mode, _)| match mode {
                    Settled::Final => all_settled,
                    Settled::FirstAttempt => all_tried,
                });
        self.waiters = waiting;
        for (_, waiter) in done {
            let _ = waiter.send(());
        }
    }

    fn observe(&mut self, event: SessionEvent) {
        self.apply(event.clone());
        let _ = self.events.send(event);
        self.settle_waiters();
    }

    fn apply(&mut self, event: SessionEvent) {
        self.audit_event(&event);
        match event {
            SessionEvent::ServerStarting { server, .. } => {
                if let Some(entry) = self.servers.get_mut(&server)
                    && entry.running
                    && !matches!(entry.state, ServerState::Failed(_))
                {
                    entry.state = ServerState::Starting;
                }
            }
            SessionEvent::ServerReady {
                server,
                tools,
                withheld,
                elapsed,
                pid,
                protocol_version,
                ..
            } => {
                if let Some(entry) = self.servers.get_mut(&server)
                    && entry.running
                {
                    entry.state = ServerState::Ready { elapsed };
                    entry.tools = tools;
                    entry.withheld = withheld;
                    entry.pid = pid;
                    entry.protocol_version = protocol_version;
                    entry.last_failure = None;
                    entry.tried = true;
                }
            }
            SessionEvent::ToolsChanged {
                server,
                tools,
                withheld,
                ..
            } => {
                if let Some(entry) = self.servers.get_mut(&server)
                    && entry.running
                    && matches!(entry.state, ServerState::Ready { .. })
                {
                    entry.tools = tools;
                    entry.withheld = withheld;
                }
            }
            SessionEvent::ServerFailed {
                server, failure, ..
            } => {
                // The runtime bus may report the give-up before this event
                // arrives; a server that gave up stays failed.
                if let Some(entry) = self.servers.get_mut(&server)
                    && entry.running
                    && !matches!(entry.state, ServerState::Failed(_))
                {
                    let text = failure.to_string();
                    entry.state = ServerState::Restarting {
                        last_failure: text.clone(),
                    };
                    entry.tools.clear();
                    entry.withheld.clear();
                    entry.pid = None;
                    entry.protocol_version = None;
                    entry.last_failure = Some(text);
                    entry.tried = true;
                }
            }
            SessionEvent::ServerGaveUp { .. }
            | SessionEvent::ServerStopped { .. }
            | SessionEvent::ProcessStarted { .. }
            | SessionEvent::ProcessStopped { .. }
            | SessionEvent::Admission(_)
            | SessionEvent::ConfigError { .. }
            | SessionEvent::Reloaded
            | SessionEvent::CommandOutput { .. }
            | SessionEvent::CommandExited { .. } => {}
        }
    }

    /// The audit lines a server event makes: the tools it withholds.
    /// (Process starts and stops go to the audit log from the server
    /// actor itself.)
    fn audit_event(&self, event: &SessionEvent) {
        if let SessionEvent::ServerReady {
            server, withheld, ..
        }
        | SessionEvent::ToolsChanged {
            server, withheld, ..
        } = event
        {
            for tool in withheld {
                self.audit.report(AuditEntry::ToolWithheld {
                    server: server.clone(),
                    tool: tool.name.clone(),
                    state: tool.why.state().to_owned(),
                    reason: tool.why.to_string(),
                });
            }
        }
    }

    /// Runtime events of a server's subtree: the sub-supervisor (path
    /// `[root, subtree]`) or the server actor under it (`[root, subtree,
    /// server]`).
    fn observe_runtime(&mut self, event: Event) {
        let (subtree, is_inner) = match event.path.segments() {
            [_root, subtree] => (subtree, false),
            [_root, subtree, _server] => (subtree, true),
            _ => return,
        };
        let Some(name) = self.subtrees.get(subtree).cloned() else {
            return;
        };
        let name = name.as_str();
        let Some(entry) = self.servers.get_mut(name) else {
            return;
        };
        if !entry.running {
            return;
        }
        // The runtime bus orders an incarnation's exit before its
        // supervisor's escalation, so the failure text is always known here.
        if let (EventKind::Exited(Exit::Failed(error)), true) = (&event.kind, is_inner) {
            entry.last_failure = Some(error.to_string());
        }
        let last = entry
            .last_failure
            .clone()
            .unwrap_or_else(|| "the server stopped".to_owned());
        let gave_up = match (&event.kind, is_inner) {
            (EventKind::Escalated { restarts }, false) => {
                let plural = if *restarts == 1 { "" } else { "s" };
                Some(format!("gave up after {restarts} failure{plural}: {last}"))
            }
            // A start function that refused (not admitted).
            (EventKind::Exited(Exit::Failed(ActorError::ChildStartFailed { source, .. })), _) => {
                Some(source.to_string())
            }
            // A permanent server is only stopped for good by an escalation,
            // which reports itself next; others (temporary, transient after a
            // clean exit) stop here.
            (EventKind::Stopped, true)
                if entry.state.is_pending()
                    && entry.config.restart.kind != codex_runtime::Restart::Permanent =>
            {
                Some(last)
            }
            _ => None,
        };
        if let Some(reason) = gave_up {
            entry.state = ServerState::Failed(reason.clone());
            entry.tried = true;
            entry.tools.clear();
            entry.withheld.clear();
            let _ = self.events.send(SessionEvent::ServerGaveUp {
                server: name.to_owned(),
                reason,
            });
        }
        self.settle_waiters();
    }
}

impl Actor for SessionActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let addr = ctx.address();
        let mut session_rx = self.internal.subscribe();
        let session_addr = addr.clone();
        tokio::spawn(async move {
            loop {
                match session_rx.recv().await {
                    Ok(event) => session_addr.do_send(Observed(event)),
                    Err(broadcast::error::RecvError::Lagged(skipped)) => {
                        tracing::warn!(skipped, "session events lagged");
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        });
        if let Some(mut runtime_rx) = self.runtime_events.take() {
            tokio::spawn(async move {
                loop {
                    match runtime_rx.recv().await {
                        Ok(event) => addr.do_send(ObservedRuntime(event)),
                        Err(broadcast::error::RecvError::Lagged(skipped)) => {
                            tracing::warn!(skipped, "runtime events lagged");
                        }
                        Err(broadcast::error::RecvError::Closed) => break,
                    }
                }
            });
        }
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct Observed(SessionEvent);

impl Handler<Observed> for SessionActor {
    type Result = ();

    fn handle(&mut self, Observed(event): Observed, _: &mut Context<Self>) {
        self.observe(event);
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct ObservedRuntime(Event);

impl Handler<ObservedRuntime> for SessionActor {
    type Result = ();

    fn handle(&mut self, ObservedRuntime(event): ObservedRuntime, _: &mut Context<Self>) {
        self.observe_runtime(event);
    }
}

/// When a startup waiter is satisfied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Settled {
    /// No server is starting or restarting.
    Final,
    /// Every server has finished its first attempt: it is ready, failed,
    /// disabled, or waiting to restart.
    FirstAttempt,
}

/// Resolves once servers have settled as asked.
#[derive(Debug, Message)]
#[rtype(result = "oneshot::Receiver<()>")]
pub(crate) struct AwaitStartup(pub(crate) Settled);

impl Handler<AwaitStartup> for SessionActor {
    type Result = MessageResult<AwaitStartup>;

    fn handle(&mut self, AwaitStartup(mode): AwaitStartup, _: &mut Context<Self>) -> Self::Result {
        let (tx, rx) = oneshot::channel();
        self.waiters.push((mode, tx));
        self.settle_waiters();
        MessageResult(rx)
    }
}

/// Every server's status.
#[derive(Debug, Message)]
#[rtype(result = "Vec<ServerStatus>")]
pub(crate) struct Snapshot;

impl Handler<Snapshot> for SessionActor {
    type Result = MessageResult<Snapshot>;

    fn handle(&mut self, _: Snapshot, _: &mut Context<Self>) -> Self::Result {
        MessageResult(
            self.servers
                .iter()
                .map(|(name, entry)| ServerStatus {
                    name: name.clone(),
                    state: entry.state.clone(),
                    required: entry.config.required,
                    tools: entry.tools.clone(),
                    withheld: entry.withheld.clone(),
                    pid: entry.pid,
                    protocol_version: entry.protocol_version.clone(),
                })
                .collect(),
        )
    }
}

/// The handle of a running server, or why there is none.
#[derive(Debug, Message)]
#[rtype(result = "Result<McpServerHandle, String>")]
pub(crate) struct Route {
    pub(crate) server: String,
}

impl Handler<Route> for SessionActor {
    type Result = MessageResult<Route>;

    fn handle(&mut self, msg: Route, _: &mut Context<Self>) -> Self::Result {
        MessageResult(match self.servers.get(&msg.server) {
            None => Err("no such server is configured".to_owned()),
            Some(entry) => match (&entry.state, &entry.handle) {
                (ServerState::Disabled(reason), _) => Err(format!("disabled: {reason}")),
                (ServerState::Failed(reason), _) => Err(format!("failed: {reason}")),
                (_, Some(handle)) => Ok(handle.clone()),
                (_, None) => Err("not started".to_owned()),
            },
        })
    }
}

/// The configs of servers that have a live supervisor subtree.
#[derive(Debug, Message)]
#[rtype(result = "BTreeMap<String, McpServerConfig>")]
pub(crate) struct RunningConfigs;

impl Handler<RunningConfigs> for SessionActor {
    type Result = MessageResult<RunningConfigs>;

    fn handle(&mut self, _: RunningConfigs, _: &mut Context<Self>) -> Self::Result {
        MessageResult(
            self.servers
                .iter()
                .filter(|(_, e)| e.running)
                .map(|(n, e)| (n.clone(), e.config.clone()))
                .collect(),
        )
    }
}

/// A server was stopped on purpose.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct MarkStopped {
    pub(crate) server: String,
    pub(crate) reason: StopReason,
}

impl Handler<MarkStopped> for SessionActor {
    type Result = ();

    fn handle(&mut self, msg: MarkStopped, _: &mut Context<Self>) {
        if let Some(entry) = self.servers.get_mut(&msg.server) {
            entry.running = false;
            entry.handle = None;
            entry.pid = None;
            entry.protocol_version = None;
            entry.tools.clear();
            entry.withheld.clear();
            entry.state = ServerState::Disabled(msg.reason.clone());
        }
        let _ = self.events.send(SessionEvent::ServerStopped {
            server: msg.server,
            reason: msg.reason,
        });
        self.settle_waiters();
    }
}

/// The admitted view after a reload: entries for every configured server,
/// with those about to start marked running (so their first events count).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct ApplyAdmitted {
    pub(crate) admitted: McpServers,
    /// The servers about to start, with their subtree's child id.
    pub(crate) starting: Vec<(String, ChildId)>,
}

impl Handler<ApplyAdmitted> for SessionActor {
    type Result = ();

    fn handle(&mut self, msg: ApplyAdmitted, _: &mut Context<Self>) {
        self.servers
            .retain(|name, _| msg.admitted.contains_key(name));
        self.subtrees
            .retain(|_, name| msg.admitted.contains_key(name));
        for (name, id) in &msg.starting {
            self.subtrees.insert(id.clone(), name.clone());
        }
        for (name, server) in msg.admitted {
            let starting = msg.starting.iter().any(|(n, _)| *n == name);
            let entry = self.servers.entry(name).or_insert_with(|| Entry {
                config: server.config.clone(),
                state: ServerState::Starting,
                running: false,
                handle: None,
                tools: Vec::new(),
                withheld: Vec::new(),
                pid: None,
                protocol_version: None,
                last_failure: None,
                tried: false,
            });
            if starting {
                entry.config = server.config;
                entry.running = true;
                entry.tried = false;
                entry.handle = None;
                entry.state = ServerState::Starting;
            } else if !entry.running {
                entry.config = server.config;
                entry.state = match &server.admission {
                    Admission::Allowed { .. } => ServerState::Starting,
                    Admission::Disabled(reason) => {
                        ServerState::Disabled(StopReason::Disabled(reason.clone()))
                    }
                };
            }
        }
        self.settle_waiters();
    }
}

/// A server's subtree was started.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct MarkStarted {
    pub(crate) server: String,
    pub(crate) handle: Result<McpServerHandle, String>,
}

impl Handler<MarkStarted> for SessionActor {
    type Result = ();

    fn handle(&mut self, msg: MarkStarted, _: &mut Context<Self>) {
        let Some(entry) = self.servers.get_mut(&msg.server) else {
            return;
        };
        match msg.handle {
            Ok(handle) => entry.handle = Some(handle),
            Err(reason) => {
                entry.running = false;
                entry.handle = None;
                entry.state = ServerState::Failed(reason);
            }
        }
        self.settle_waiters();
    }
}
