//! The session's pure core: every configured server's status, which
//! supervisor subtree serves it, and who waits for startup. No actix, no
//! async runtime, no IO.
//!
//! The machine is the one source of truth for routes: a server is served
//! by the subtree whose child id its entry holds, and by nothing else. The
//! shell only resolves child ids to handles.
//!
//! Inputs come from three places: the policy actor's orders ([`Apply`]),
//! the server actors' reports ([`ServerEvent`]), and the supervisor's
//! lifecycle events about server subtrees, which the shell digests into
//! [`Subtree`] news.

use std::collections::BTreeMap;

use codex_runtime::ChildId;

use super::{ServerState, ServerStatus, SessionEvent};
use crate::audit_log::AuditEntry;
use crate::config::{McpServerConfig, Startup};
use crate::mcp_server::{ServerEvent, ServerFailure, ToolInfo, Unavailable};
use crate::policy::{Admission, StopReason, WithheldTool};
use crate::policy_actor::Apply;

/// When a startup waiter is satisfied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Settled {
    /// No server is starting or restarting.
    Final,
    /// Every server has finished its first attempt: it is ready, failed,
    /// disabled, or waiting to restart.
    FirstAttempt,
}

/// What the supervisor said about one server's subtree.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Subtree {
    /// The subtree's supervisor gave up after this many restarts.
    Escalated {
        /// Restarts within the window.
        restarts: u32,
    },
    /// The server actor's incarnation failed with this reason.
    ServerFailed(String),
    /// The server actor's start function refused (it was not admitted).
    StartRefused(String),
    /// The server actor stopped and will not be restarted by its policy
    /// (temporary, or transient after a clean exit).
    ServerStopped,
}

/// Everything that can happen to the session.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Input {
    /// The policy actor's orders.
    Apply(Apply),
    /// A server actor reported.
    Server(ServerEvent),
    /// The supervisor reported on a server's subtree.
    Subtree {
        /// The subtree.
        child: ChildId,
        /// What happened.
        news: Subtree,
    },
    /// Starting a subtree failed.
    StartFailed {
        /// The subtree.
        child: ChildId,
        /// Why.
        reason: String,
    },
    /// A call needs a lazy server: start it, and release `waiter` once its
    /// first attempt is over (at once when it is not lazy).
    Wake {
        /// The server.
        server: String,
        /// The waiter's number.
        waiter: u64,
    },
    /// Someone waits until servers settle.
    Await {
        /// The waiter's number.
        waiter: u64,
        /// Until when.
        mode: Settled,
    },
}

/// What the shell must do.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Effect {
    /// Tell subscribers.
    Publish(SessionEvent),
    /// Start a subtree for `server` under `child`, with the policy's
    /// verdict for its first incarnation.
    Start {
        /// The server.
        server: String,
        /// The subtree's child id (new for every start).
        child: ChildId,
        /// Its config.
        config: Box<McpServerConfig>,
        /// The verdict the first incarnation uses.
        admission: Box<Admission>,
    },
    /// Stop and forget a subtree (its processes are killed).
    Stop {
        /// The subtree.
        child: ChildId,
    },
    /// Record a decision.
    Audit(AuditEntry),
    /// Release a waiter.
    Wake(u64),
}

#[derive(Debug)]
struct Entry {
    config: McpServerConfig,
    state: ServerState,
    /// The subtree serving it, while one exists (or is being started).
    child: Option<ChildId>,
    tools: Vec<ToolInfo>,
    withheld: Vec<WithheldTool>,
    pid: Option<u32>,
    /// The incarnation that became ready last.
    incarnation: Option<u64>,
    protocol_version: Option<String>,
    last_failure: Option<String>,
    /// The current start has had an outcome (ready, failed or refused).
    tried: bool,
    /// A lazy server's verdict, kept for its first call.
    waiting: Option<Admission>,
}

impl Entry {
    fn new(config: McpServerConfig) -> Self {
        Entry {
            config,
            state: ServerState::Starting,
            child: None,
            tools: Vec::new(),
            withheld: Vec::new(),
            pid: None,
            incarnation: None,
            protocol_version: None,
            last_failure: None,
            tried: false,
            waiting: None,
        }
    }

    fn clear_live(&mut self) {
        self.tools.clear();
        self.withheld.clear();
        self.pid = None;
        self.protocol_version = None;
    }
}

/// The state of the session.
#[derive(Debug, Default)]
pub(crate) struct Machine {
    servers: BTreeMap<String, Entry>,
    next_child: u64,
    waiters: Vec<(u64, Settled)>,
    /// Callers waiting for one lazy server's first attempt.
    wakes: Vec<(u64, String)>,
}

impl Machine {
    pub(crate) fn new() -> Self {
        Machine::default()
    }

    /// Advances the session.
    pub(crate) fn step(&mut self, input: Input) -> Vec<Effect> {
        let mut effects = match input {
            Input::Apply(apply) => self.apply(apply),
            Input::Server(event) => self.server_event(event),
            Input::Subtree { child, news } => self.subtree(&child, news),
            Input::StartFailed { child, reason } => {
                if let Some((_, entry)) = self.by_child(&child) {
                    entry.child = None;
                    entry.tried = true;
                    entry.state = ServerState::Failed(reason);
                }
                Vec::new()
            }
            Input::Await { waiter, mode } => {
                self.waiters.push((waiter, mode));
                Vec::new()
            }
            Input::Wake { server, waiter } => {
                self.wakes.push((waiter, server.clone()));
                self.wake(&server)
            }
        };
        effects.extend(self.settle());
        effects
    }

    /// Every configured server's status, sorted by name.
    pub(crate) fn statuses(&self) -> Vec<ServerStatus> {
        self.servers
            .iter()
            .map(|(name, entry)| ServerStatus {
                name: name.clone(),
                state: entry.state.clone(),
                required: entry.config.required,
                startup: entry.config.startup,
                tools: entry.tools.clone(),
                withheld: entry.withheld.clone(),
                pid: entry.pid,
                incarnation: entry.incarnation,
                protocol_version: entry.protocol_version.clone(),
            })
            .collect()
    }

    /// The subtree that serves `server`, or why none does.
    pub(crate) fn route(&self, server: &str) -> Result<&ChildId, Unavailable> {
        let Some(entry) = self.servers.get(server) else {
            return Err(Unavailable::NotConfigured);
        };
        match (&entry.state, &entry.child) {
            (ServerState::Lazy, None) => Err(Unavailable::Lazy),
            (ServerState::Disabled(reason), _) => Err(Unavailable::Disabled(reason.clone())),
            (ServerState::Failed(reason), _) => Err(Unavailable::Failed(reason.clone())),
            (_, Some(child)) => Ok(child),
            (_, None) => Err(Unavailable::NotStarted),
        }
    }

    /// Every server that has a subtree, with its child id.
    pub(crate) fn routes(&self) -> impl Iterator<Item = (&str, &ChildId)> {
        self.servers
            .iter()
            .filter_map(|(name, entry)| entry.child.as_ref().map(|child| (name.as_str(), child)))
    }

    fn by_child(&mut self, child: &ChildId) -> Option<(&String, &mut Entry)> {
        self.servers
            .iter_mut()
            .find(|(_, entry)| entry.child.as_ref() == Some(child))
    }

    fn new_child(&mut self) -> ChildId {
        self.next_child += 1;
        ChildId::new(format!("mcp:{}", self.next_child))
    }

    /// Brings the servers in line with the policy's verdicts: stops what
    /// may not run or left config, restarts what must launch differently,
    /// starts what is allowed and has no subtree.
    fn apply(&mut self, apply: Apply) -> Vec<Effect> {
        let mut effects = Vec::new();
        let removed: Vec<String> = self
            .servers
            .keys()
            .filter(|name| !apply.servers.contains_key(*name))
            .cloned()
            .collect();
        for name in removed {
            if let Some(entry) = self.servers.remove(&name)
                && let Some(child) = entry.child
            {
                effects.push(Effect::Stop { child });
                effects.push(Effect::Publish(SessionEvent::ServerStopped {
                    server: name,
                    reason: StopReason::Removed,
                }));
            }
        }
        for (name, server) in apply.servers {
            let restart = apply.restart.contains(&name);
            let mut start = None;
            let entry = self
                .servers
                .entry(name.clone())
                .or_insert_with(|| Entry::new(server.config.clone()));
            match server.admission {
                Admission::Disabled(reason) => {
                    let reason = StopReason::Disabled(reason);
                    if let Some(child) = entry.child.take() {
                        effects.push(Effect::Stop { child });
                        effects.push(Effect::Publish(SessionEvent::ServerStopped {
                            server: name.clone(),
                            reason: reason.clone(),
                        }));
                    }
                    entry.clear_live();
                    entry.config = server.config;
                    entry.state = ServerState::Disabled(reason);
                    entry.waiting = None;
                }
                admission @ Admission::Allowed { .. } => {
                    let changed = restart || !entry.config.same_launch(&server.config);
                    if entry.child.is_some() && changed {
                        if let Some(child) = entry.child.take() {
                            effects.push(Effect::Stop { child });
                        }
                        effects.push(Effect::Publish(SessionEvent::ServerStopped {
                            server: name.clone(),
                            reason: StopReason::Changed,
                        }));
                    }
                    entry.config = server.config.clone();
                    let lazy = server.config.startup == Startup::Lazy
                        && !server.config.required
                        && apply.pinned.contains(&name);
                    if entry.child.is_none() && lazy {
                        // Not started until a call needs it; its tools are
                        // offered from the lock meanwhile.
                        entry.clear_live();
                        entry.state = ServerState::Lazy;
                        entry.waiting = Some(admission);
                    } else if entry.child.is_none() {
                        entry.waiting = None;
                        start = Some((server.config, admission));
                    }
                }
            }
            if let Some((config, admission)) = start {
                effects.push(self.start(name, config, admission));
            }
        }
        effects.push(Effect::Publish(SessionEvent::PolicyApplied {
            version: apply.version,
        }));
        effects
    }

    /// Starts `server` under a new subtree.
    fn start(&mut self, server: String, config: McpServerConfig, admission: Admission) -> Effect {
        let child = self.new_child();
        if let Some(entry) = self.servers.get_mut(&server) {
            entry.child = Some(child.clone());
            entry.state = ServerState::Starting;
            entry.tried = false;
            entry.last_failure = None;
            entry.waiting = None;
            entry.clear_live();
        }
        Effect::Start {
            server,
            child,
            config: Box::new(config),
            admission: Box::new(admission),
        }
    }

    /// A lazy server's first call: it starts now, with the verdict it was
    /// admitted under (a newer policy reached it through `apply`).
    fn wake(&mut self, server: &str) -> Vec<Effect> {
        let Some(entry) = self.servers.get_mut(server) else {
            return Vec::new();
        };
        match (&entry.state, entry.waiting.take()) {
            (ServerState::Lazy, Some(admission)) => {
                let config = entry.config.clone();
                vec![self.start(server.to_owned(), config, admission)]
            }
            _ => Vec::new(),
        }
    }

    fn server_event(&mut self, event: ServerEvent) -> Vec<Effect> {
        let mut effects = Vec::new();
        let server = match &event {
            ServerEvent::Starting { server, .. }
            | ServerEvent::Ready { server, .. }
            | ServerEvent::ToolsChanged { server, .. }
            | ServerEvent::Failed { server, .. } => server.clone(),
            ServerEvent::Process(process) => process.server.clone(),
        };
        if let Some(entry) = self.servers.get_mut(&server)
            && entry.child.is_some()
        {
            match &event {
                // A restart keeps its last failure until it is ready:
                // "starting" would hide why it restarts, and a one-shot
                // command would read a failed first attempt as pending.
                ServerEvent::Starting { .. } => {
                    if !matches!(
                        entry.state,
                        ServerState::Failed(_) | ServerState::Restarting { .. }
                    ) {
                        entry.state = ServerState::Starting;
                    }
                }
                ServerEvent::Ready {
                    tools,
                    withheld,
                    elapsed,
                    pid,
                    protocol_version,
                    incarnation,
                    ..
                } => {
                    entry.state = ServerState::Ready { elapsed: *elapsed };
                    entry.incarnation = Some(*incarnation);
                    entry.tools = tools.clone();
                    entry.withheld = withheld.clone();
                    entry.pid = *pid;
                    entry.protocol_version = protocol_version.clone();
                    entry.last_failure = None;
                    entry.tried = true;
                    effects.extend(withheld_audit(&server, withheld));
                }
                ServerEvent::ToolsChanged {
                    tools, withheld, ..
                } => {
                    if matches!(entry.state, ServerState::Ready { .. }) {
                        entry.tools = tools.clone();
                        entry.withheld = withheld.clone();
                        effects.extend(withheld_audit(&server, withheld));
                    }
                }
                // A restart the policy refused: the server is disabled, not
                // failed, and its subtree stops trying.
                ServerEvent::Failed {
                    failure: ServerFailure::NotAdmitted(reason),
                    ..
                } => {
                    if let Some(child) = entry.child.take() {
                        effects.push(Effect::Stop { child });
                    }
                    entry.clear_live();
                    entry.tried = true;
                    entry.state = ServerState::Disabled(StopReason::Disabled(reason.clone()));
                }
                ServerEvent::Failed { failure, .. } => {
                    // The supervisor may report the give-up before this
                    // event arrives; a server that gave up stays failed.
                    if !matches!(entry.state, ServerState::Failed(_)) {
                        let text = failure.to_string();
                        entry.state = ServerState::Restarting {
                            last_failure: text.clone(),
                        };
                        entry.clear_live();
                        entry.last_failure = Some(text);
                        entry.tried = true;
                    }
                }
                ServerEvent::Process(_) => {}
            }
        }
        effects.push(Effect::Publish(SessionEvent::Server(event)));
        effects
    }

    /// Supervisor news about a server's subtree.
    fn subtree(&mut self, child: &ChildId, news: Subtree) -> Vec<Effect> {
        let Some((name, entry)) = self.by_child(child) else {
            return Vec::new();
        };
        let name = name.clone();
        if matches!(entry.state, ServerState::Disabled(_)) {
            return Vec::new();
        }
        if let Subtree::ServerFailed(reason) = &news {
            // The supervisor reports an incarnation's exit before its own
            // escalation, so the failure text is known when it gives up.
            entry.last_failure = Some(reason.clone());
            return Vec::new();
        }
        let last = entry
            .last_failure
            .clone()
            .unwrap_or_else(|| "the server stopped".to_owned());
        let gave_up = match news {
            Subtree::Escalated { restarts } => {
                let plural = if restarts == 1 { "" } else { "s" };
                format!("gave up after {restarts} failure{plural}: {last}")
            }
            Subtree::StartRefused(reason) => reason,
            // A permanent server is only stopped for good by an escalation,
            // which reports itself next; others stop here.
            Subtree::ServerStopped
                if entry.state.is_pending()
                    && entry.config.restart.kind != codex_runtime::Restart::Permanent =>
            {
                last
            }
            Subtree::ServerStopped | Subtree::ServerFailed(_) => return Vec::new(),
        };
        entry.state = ServerState::Failed(gave_up.clone());
        entry.tried = true;
        entry.clear_live();
        vec![Effect::Publish(SessionEvent::ServerGaveUp {
            server: name,
            reason: gave_up,
        })]
    }

    /// Releases the waiters whose condition holds.
    fn settle(&mut self) -> Vec<Effect> {
        let all_settled = self.servers.values().all(|e| !e.state.is_pending());
        let all_tried = self
            .servers
            .values()
            .all(|e| e.tried || !e.state.is_pending());
        let mut woken = Vec::new();
        let servers = &self.servers;
        self.wakes.retain(|(waiter, server)| {
            let done = servers
                .get(server)
                .is_none_or(|entry| entry.tried || !entry.state.is_pending());
            if done {
                woken.push(Effect::Wake(*waiter));
            }
            !done
        });
        self.waiters.retain(|(waiter, mode)| {
            let done = match mode {
                Settled::Final => all_settled,
                Settled::FirstAttempt => all_tried,
            };
            if done {
                woken.push(Effect::Wake(*waiter));
            }
            !done
        });
        woken
    }
}

/// The audit lines of the tools a server withholds.
fn withheld_audit<'a>(
    server: &'a str,
    withheld: &'a [WithheldTool],
) -> impl Iterator<Item = Effect> + 'a {
    withheld.iter().map(move |tool| {
        Effect::Audit(AuditEntry::ToolWithheld {
            server: server.to_owned(),
            tool: tool.clone(),
        })
    })
}

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;
