//! The policy actor: the one owner of the admin policy in force for a
//! session, and the only actor that decides which servers run.
//!
//! It is a permanent child of the session root, started before any
//! server, in a subtree of its own together with one config-source actor
//! per file it watches (every config layer, every requirements file, every
//! tool lock in force). It owns:
//! - the requirements and the tool locks in force, published as a
//!   versioned [`PolicySnapshot`] on a `tokio::sync::watch` channel, so a
//!   server restart and a tool call read them without a mailbox round
//!   trip ([`PolicyView`]);
//! - the last verdict of [`admit`] on every
//!   configured server.
//!
//! On every change of a source it reads everything again (off the actor
//! thread: admission may hash an executable), re-admits every server,
//! compares the **full verdicts** with the last ones, and then:
//! - publishes the new snapshot: live servers re-judge their tools at
//!   once, and a call checks the snapshot it runs under, so a withdrawn
//!   tool is refused on its next call;
//! - orders the session to bring the servers in line
//!   ([`Apply`]): stop what is no longer allowed, restart what must launch
//!   differently, start what is newly allowed;
//! - writes one audit entry per changed verdict, restart-time verdicts
//!   included.
//!
//! A source that fails to parse leaves the last good policy in force and
//! is reported with its file, line and column.

mod machine;
mod shell;

/// The pure core, for the session's law tests.
#[cfg(test)]
pub(crate) mod machine_for_laws {
    pub(crate) use super::machine::{Effect, Evaluation, Input, Machine};
}

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

pub use shell::Preloaded;
pub(crate) use shell::{Orders, PolicyActor, PolicyInit, Reload, Restarted};

use crate::config::{ConfigError, ConfigOverride, McpServerConfig, UnknownKeys};
use crate::policy::{
    Admission, DisabledReason, LaunchContext, LockError, McpServer, McpServers, Requirements,
    RequirementsError, RequirementsSources, StopReason, ToolLock, ToolRules, admit,
};
use crate::sink::EventSink;

/// The debounce of the watches when config does not set
/// `watch_debounce_ms`.
pub const DEFAULT_WATCH_DEBOUNCE: Duration = Duration::from_millis(100);

/// The policy in force: what every server was admitted as, and the
/// requirements and tool locks that decided it.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicySnapshot {
    /// One more than the previous snapshot's; 0 is the closed policy a
    /// session starts with, before anything was loaded.
    pub version: u64,
    /// The requirements in force; `None` until the first load, when
    /// nothing is admitted.
    pub requirements: Option<Requirements>,
    /// The tool locks in force.
    pub locks: Arc<Vec<ToolLock>>,
    /// Every configured server with its verdict.
    pub servers: McpServers,
}

impl PolicySnapshot {
    /// The policy before anything was loaded: every server is refused.
    pub fn closed() -> Self {
        PolicySnapshot {
            version: 0,
            requirements: None,
            locks: Arc::new(Vec::new()),
            servers: BTreeMap::new(),
        }
    }

    /// The verdict on `server`, if it is configured.
    pub fn verdict(&self, server: &str) -> Option<&McpServer> {
        self.servers.get(server)
    }

    /// The tool filters in force for `server`, or why none of its tools may
    /// be called (the policy disables it, or it left config).
    pub fn tool_rules(&self, server: &str) -> Result<&ToolRules, StopReason> {
        match self.servers.get(server).map(|s| &s.admission) {
            Some(Admission::Allowed { tools, .. }) => Ok(tools),
            Some(Admission::Disabled(reason)) => Err(StopReason::Disabled(reason.clone())),
            None if self.version == 0 => Err(StopReason::Disabled(DisabledReason::NotLoaded)),
            None => Err(StopReason::Removed),
        }
    }
}

/// A reader of the policy in force: what server actors and tool calls
/// hold. Cheap to clone; reading never waits on an actor.
#[derive(Debug, Clone)]
pub struct PolicyView {
    snapshots: watch::Receiver<Arc<PolicySnapshot>>,
    context: Arc<LaunchContext>,
    restarts: EventSink<RestartVerdict>,
}

/// A verdict reached when an incarnation restarted, for the policy actor
/// to record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RestartVerdict {
    pub(crate) server: String,
    pub(crate) server_config: McpServerConfig,
    pub(crate) admission: Admission,
}

impl PolicyView {
    pub(crate) fn new(
        snapshots: watch::Receiver<Arc<PolicySnapshot>>,
        context: Arc<LaunchContext>,
        restarts: EventSink<RestartVerdict>,
    ) -> Self {
        PolicyView {
            snapshots,
            context,
            restarts,
        }
    }

    /// The snapshot in force now.
    pub fn current(&self) -> Arc<PolicySnapshot> {
        Arc::clone(&self.snapshots.borrow())
    }

    /// The version of the snapshot in force now.
    pub fn version(&self) -> u64 {
        self.snapshots.borrow().version
    }

    /// A receiver that wakes on every new snapshot.
    pub fn subscribe(&self) -> watch::Receiver<Arc<PolicySnapshot>> {
        let mut rx = self.snapshots.clone();
        rx.mark_unchanged();
        rx
    }

    /// Admits `name` for an incarnation starting now, under the
    /// requirements in force (the one admission function), and reports the
    /// verdict to the policy actor so that a changed one is audited.
    pub(crate) fn admit_restart(&self, name: &str, server_config: &McpServerConfig) -> Admission {
        let snapshot = self.current();
        let admission = match &snapshot.requirements {
            Some(requirements) => admit(name, server_config, requirements, &self.context),
            None => Admission::Disabled(DisabledReason::NotLoaded),
        };
        self.restarts.report(RestartVerdict {
            server: name.to_owned(),
            server_config: server_config.clone(),
            admission: admission.clone(),
        });
        admission
    }
}

/// What the policy actor reads: where config, requirements and locks
/// live, and which servers the session is about.
#[derive(Debug, Clone)]
pub struct PolicySources {
    /// `CODEX_HOME`.
    pub codex_home: PathBuf,
    /// The working directory (project layers, relative paths).
    pub cwd: PathBuf,
    /// `-c` overrides.
    pub overrides: Vec<ConfigOverride>,
    /// Whether `$CODEX_HOME/config.toml` is read.
    pub user_config: bool,
    /// `--strict-config`: a config with keys this version does not know
    /// fails to load.
    pub strict_config: bool,
    /// Where requirements come from.
    pub requirements: RequirementsSources,
    /// Only these servers (all when empty).
    pub only: Vec<String>,
    /// Whether tool locks apply (`codex mcp lock` turns them off).
    pub tool_locks: bool,
    /// Where servers are launched from.
    pub context: Arc<LaunchContext>,
    /// How long a watched file must be quiet before it is read again.
    pub debounce: Duration,
}

/// Orders from the policy actor to the session: the verdict on every
/// configured server, plus the servers that must be started again because
/// what they launch changed. The session stops what is not allowed,
/// starts what is allowed and not running, and restarts the rest of
/// `restart` (and any server whose config changed).
#[derive(Debug, Clone, PartialEq)]
pub struct Apply {
    /// The snapshot these orders come from.
    pub version: u64,
    /// Every configured server with its verdict.
    pub servers: McpServers,
    /// Servers whose admitted launch changed.
    pub restart: BTreeSet<String>,
    /// Servers whose tools every tool lock in force pins: a lazy one may
    /// wait for its first call, its tools offered from the pins.
    pub pinned: BTreeSet<String>,
}

/// Why config, requirements or a lock could not be loaded. The first load
/// of a session fails with it; a later one keeps the last good policy.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// Config could not be loaded.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Requirements could not be loaded.
    #[error(transparent)]
    Requirements(#[from] RequirementsError),
    /// A tool lock cannot be read.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// `--strict-config`, and the config has keys this version does not
    /// know.
    #[error(transparent)]
    StrictConfig(#[from] UnknownKeys),
    /// The loading task died (a panic in a parser would land here; none is
    /// expected).
    #[error("loading the policy failed: {0}")]
    Task(String),
}
