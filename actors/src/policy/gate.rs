//! [`AdmissionGate`]: the latest requirements, shared by the session and
//! every start function, so that a restart is admitted against the policy
//! in force when it happens, not the one in force when the server was
//! first started.

use std::sync::{Arc, RwLock};

use super::admit::{Admission, DisabledReason, admit};
use super::launch::LaunchContext;
use super::lock::ToolLock;
use super::requirements::Requirements;
use crate::config::McpServerConfig;

/// Shared, replaceable requirements, and where the session launches
/// servers from. Starts closed: until the session has loaded requirements
/// once, it admits nothing.
#[derive(Debug, Clone)]
pub struct AdmissionGate {
    requirements: Arc<RwLock<Option<Requirements>>>,
    locks: Arc<RwLock<Arc<Vec<ToolLock>>>>,
    context: Arc<LaunchContext>,
}

impl AdmissionGate {
    /// A gate for servers launched in `context` that refuses every server
    /// until [`replace`](Self::replace) gives it requirements.
    pub fn closed(context: LaunchContext) -> Self {
        AdmissionGate {
            requirements: Arc::new(RwLock::new(None)),
            locks: Arc::new(RwLock::new(Arc::new(Vec::new()))),
            context: Arc::new(context),
        }
    }

    /// Replaces the tool locks in force (first load and hot reload).
    pub fn replace_locks(&self, locks: Vec<ToolLock>) {
        match self.locks.write() {
            Ok(mut guard) => *guard = Arc::new(locks),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(locks),
        }
    }

    /// The tool locks in force.
    pub fn tool_locks(&self) -> Arc<Vec<ToolLock>> {
        match self.locks.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Where servers are launched from.
    pub fn context(&self) -> &LaunchContext {
        &self.context
    }

    /// Replaces the requirements (first load and hot reload).
    pub fn replace(&self, requirements: Requirements) {
        match self.requirements.write() {
            Ok(mut guard) => *guard = Some(requirements),
            Err(poisoned) => *poisoned.into_inner() = Some(requirements),
        }
    }

    /// Whether the requirements in force name an audit log.
    pub fn audits(&self) -> bool {
        let guard = match self.requirements.read() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        guard.as_ref().is_some_and(|requirements| {
            requirements
                .layers
                .iter()
                .any(|layer| layer.audit_log.is_some())
        })
    }

    /// The verdict of [`admit`] under the current requirements.
    pub fn admit(&self, name: &str, config: &McpServerConfig) -> Admission {
        let guard = match self.requirements.read() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        match guard.as_ref() {
            Some(requirements) => admit(name, config, requirements, &self.context),
            None => Admission::Disabled(DisabledReason::NotLoaded),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use codex_transports::{StdioConfig, TransportConfig};

    #[test]
    fn a_new_gate_is_closed_until_requirements_arrive() {
        let config = McpServerConfig::new(TransportConfig::Stdio(StdioConfig {
            command: "srv".to_owned(),
            args: Vec::new(),
            env: Default::default(),
            env_vars: Vec::new(),
            cwd: None,
        }));
        let gate = AdmissionGate::closed(LaunchContext {
            cwd: "/".into(),
            env: Default::default(),
        });
        assert_eq!(
            gate.admit("s", &config),
            Admission::Disabled(DisabledReason::NotLoaded)
        );
        gate.replace(Requirements::none());
        assert!(gate.admit("s", &config).is_allowed());
    }
}
