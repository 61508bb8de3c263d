//! The policy actor's pure core: what a new evaluation of the sources
//! changes. No actix, no async runtime, no IO: the shell loads the files
//! and calls the admission function, and hands the result in.
//!
//! Verdicts are compared whole (the config, the rules that matched, the
//! resolved launch, the sandbox demand and the tool filters), not configs:
//! - a server whose admitted launch changed (its launch config, the
//!   resolved program, argv, cwd, environment, the pinned file, or the
//!   sandbox it must run in) is restarted;
//! - a server whose tool filters changed keeps running: the new snapshot
//!   reaches it and it re-judges its tools;
//! - every verdict that differs from the last one is audited once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use super::{Apply, PolicySnapshot, RestartVerdict};
use crate::policy::{Admission, AuditEvent, McpServer, McpServers, Requirements, ToolLock, audit};

/// Everything one reading of the sources says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Evaluation {
    /// The requirements in force.
    pub(crate) requirements: Requirements,
    /// The tool locks in force.
    pub(crate) locks: Vec<ToolLock>,
    /// Every configured server, admitted.
    pub(crate) servers: McpServers,
    /// The files whose changes call for a new evaluation.
    pub(crate) watch: BTreeSet<PathBuf>,
}

/// Everything that can happen to the policy.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Input {
    /// The sources were read and every server admitted.
    Evaluated(Box<Evaluation>),
    /// A source could not be read or parsed; the last good policy stays.
    LoadFailed {
        /// The error, with its file, line and column.
        message: String,
    },
    /// An incarnation was admitted as it restarted.
    Restarted(Box<RestartVerdict>),
}

/// What the shell must do.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Effect {
    /// Make this the snapshot in force.
    Publish(Arc<PolicySnapshot>),
    /// Order the session to bring its servers in line.
    Apply(Apply),
    /// Record a verdict that changed.
    Audit(AuditEvent),
    /// Tell the user a source failed and the last good policy stays.
    Warn(String),
    /// Watch exactly these files from now on.
    Watch(BTreeSet<PathBuf>),
}

/// The policy in force and what is watched.
#[derive(Debug)]
pub(crate) struct Machine {
    current: Arc<PolicySnapshot>,
    watched: BTreeSet<PathBuf>,
}

impl Machine {
    /// A policy that continues from `current` (the closed snapshot for a
    /// new session), watching nothing yet.
    pub(crate) fn resume(current: Arc<PolicySnapshot>) -> Self {
        Machine {
            current,
            watched: BTreeSet::new(),
        }
    }

    /// The snapshot in force.
    #[cfg(test)]
    pub(crate) fn current(&self) -> &Arc<PolicySnapshot> {
        &self.current
    }

    /// Advances the policy.
    pub(crate) fn step(&mut self, input: Input) -> Vec<Effect> {
        match input {
            Input::Evaluated(evaluation) => self.evaluated(*evaluation),
            Input::LoadFailed { message } => vec![Effect::Warn(message)],
            Input::Restarted(verdict) => self.restarted(*verdict),
        }
    }

    fn evaluated(&mut self, evaluation: Evaluation) -> Vec<Effect> {
        let Evaluation {
            requirements,
            locks,
            servers,
            watch,
        } = evaluation;
        let mut effects = Vec::new();
        if watch != self.watched {
            self.watched = watch.clone();
            effects.push(Effect::Watch(watch));
        }
        // A requirements file that held rules and now reads empty is being
        // rewritten in place (truncated, not yet written): loosening the
        // policy for that moment would admit what the admin forbids. The
        // last good policy stays until it has content again, or is removed.
        if let Some(emptied) = emptied_layer(self.current.requirements.as_ref(), &requirements) {
            effects.push(Effect::Warn(format!(
                "requirements file {emptied} is empty (being rewritten?); remove the file to \
                 drop its requirements"
            )));
            return effects;
        }
        let previous = &self.current.servers;
        let restart: BTreeSet<String> = servers
            .iter()
            .filter(|(name, next)| {
                previous
                    .get(*name)
                    .is_some_and(|before| launch_changed(before, next))
            })
            .map(|(name, _)| name.clone())
            .collect();
        let changed: McpServers = servers
            .iter()
            .filter(|(name, next)| previous.get(*name) != Some(*next))
            .map(|(name, next)| (name.clone(), next.clone()))
            .collect();
        let same = self.current.version > 0
            && self.current.requirements.as_ref() == Some(&requirements)
            && *self.current.locks == locks
            && self.current.servers == servers;
        if !same {
            self.current = Arc::new(PolicySnapshot {
                version: self.current.version + 1,
                requirements: Some(requirements),
                locks: Arc::new(locks),
                servers: servers.clone(),
            });
            effects.push(Effect::Publish(Arc::clone(&self.current)));
        }
        effects.extend(audit(&changed).into_iter().map(Effect::Audit));
        let pinned = pinned(&self.current.locks, &servers);
        effects.push(Effect::Apply(Apply {
            version: self.current.version,
            servers,
            restart,
            pinned,
        }));
        effects
    }

    /// A restart reached its own verdict (the file it runs may have changed
    /// since the last evaluation). It is recorded when it differs; a stale
    /// one, for a config the policy no longer holds, is ignored.
    fn restarted(&mut self, verdict: RestartVerdict) -> Vec<Effect> {
        let Some(known) = self.current.servers.get(&verdict.server) else {
            return Vec::new();
        };
        if known.config != verdict.server_config || known.admission == verdict.admission {
            return Vec::new();
        }
        let server = McpServer {
            config: verdict.server_config,
            admission: verdict.admission,
        };
        let mut servers = self.current.servers.clone();
        servers.insert(verdict.server.clone(), server.clone());
        self.current = Arc::new(PolicySnapshot {
            version: self.current.version + 1,
            requirements: self.current.requirements.clone(),
            locks: Arc::clone(&self.current.locks),
            servers,
        });
        let mut effects = vec![Effect::Publish(Arc::clone(&self.current))];
        let single = BTreeMap::from([(verdict.server, server)]);
        effects.extend(audit(&single).into_iter().map(Effect::Audit));
        effects
    }
}

/// Whether a server allowed before and after must be started again: what
/// it launches, or how, is different. Tool filters are not part of it.
fn launch_changed(before: &McpServer, after: &McpServer) -> bool {
    match (&before.admission, &after.admission) {
        (
            Admission::Allowed {
                sandbox: sandbox_before,
                launch: launch_before,
                ..
            },
            Admission::Allowed {
                sandbox: sandbox_after,
                launch: launch_after,
                ..
            },
        ) => {
            !before.config.same_launch(&after.config)
                || sandbox_before != sandbox_after
                || launch_before != launch_after
        }
        _ => false,
    }
}

/// The source of a layer that had requirements before and has none now,
/// in the same place.
fn emptied_layer(
    before: Option<&crate::policy::Requirements>,
    after: &crate::policy::Requirements,
) -> Option<crate::policy::RequirementSource> {
    let before = before?;
    after.layers.iter().find_map(|layer| {
        let was = before
            .layers
            .iter()
            .find(|old| old.source == layer.source)?;
        (layer.is_empty() && !was.is_empty()).then(|| layer.source.clone())
    })
}

/// The servers whose tools every lock in force pins (none without a lock).
fn pinned(locks: &[crate::policy::ToolLock], servers: &McpServers) -> BTreeSet<String> {
    if locks.is_empty() {
        return BTreeSet::new();
    }
    servers
        .keys()
        .filter(|name| {
            locks
                .iter()
                .all(|lock| lock.server(name).is_some_and(|pins| !pins.is_empty()))
        })
        .cloned()
        .collect()
}

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;
