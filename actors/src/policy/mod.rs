//! Admin policy as plain functions: requirements, [`admit`], and
//! [`Constrained`] values.
//!
//! Nothing here starts an actor or reads the environment; the CLI calls these
//! directly for `codex mcp list`, and the session calls the same functions
//! on every new snapshot ([`plan`] says what to stop and start). The
//! [`AdmissionGate`] holds the requirements in force for restarts.

mod admit;
mod constrained;
mod effective;
mod gate;
mod launch;
mod lock;
mod matcher;
mod plan;
mod requirements;
mod tools;

pub use admit::{
    Admission, DisabledReason, LaunchError, PolicyCause, RuleFamily, RuleMatch, admit, stricter,
};
pub use constrained::{Constrained, ConstraintError};
pub use effective::{
    AllowedSet, EffectiveConfig, McpServer, McpServers, allowed_set, apply_requirements,
    constrain_servers, fallback_warning,
};
pub use gate::AdmissionGate;
pub use launch::{
    DEFAULT_SEARCH_PATH, LaunchContext, env_is_denied, resolve_program_for, search_path,
};
pub use lock::{
    LOCK_FILE, LockError, LockOrigin, LockState, LockedTool, ToolLock, Withheld, WithheldTool,
    canonical, digest, render_lock, tool_definition, tool_locks,
};
pub use matcher::{Pattern, UrlMatcher, ValueMatcher};
pub use plan::{AuditEvent, Plan, StopReason, audit, plan};
pub use requirements::{
    AllowRule, DenyRule, LoadedRequirements, REQUIREMENTS_BASE64_ENV, REQUIREMENTS_FILE_ENV,
    RequirementSource, Requirements, RequirementsError, RequirementsLayer, RequirementsSources,
    RuleIdentity, RuleName, SYSTEM_REQUIREMENTS_FILE, load_requirements, parse_requirements,
};
pub use tools::{FilterOrigin, ToolFilter, ToolRefusal, ToolRules};
