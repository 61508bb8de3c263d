//! Admin policy as plain functions: requirements, [`admit`], and
//! [`Constrained`] values.
//!
//! Nothing here starts an actor or reads the environment; the CLI calls these
//! directly for `codex mcp list`, and the policy actor
//! (`crate::policy_actor`) calls the same functions on every new snapshot.

mod admit;
pub mod command_rules;
mod constrained;
mod decision;
mod effective;
mod launch;
mod lock;
mod matcher;
mod requirements;
mod schema;
mod tools;

pub use admit::{
    Admission, DisabledReason, LaunchError, PolicyCause, RuleFamily, RuleMatch, admit, stricter,
};
pub use constrained::{Constrained, ConstraintError};
pub use decision::{AuditEvent, StopReason, audit};
pub use effective::{
    AllowedSet, EffectiveConfig, McpServer, McpServers, allowed_set, apply_requirements,
    constrain_servers, fallback_warning,
};
pub use launch::{
    DEFAULT_SEARCH_PATH, LaunchContext, env_is_denied, resolve_program_for, search_path,
};
pub use lock::{
    LOCK_FILE, LockError, LockOrigin, LockState, LockedTool, ToolLock, Withheld, WithheldTool,
    canonical, digest, render_lock, tool_definition, tool_locks,
};
pub use matcher::{Pattern, UrlMatcher, ValueMatcher};
pub use requirements::{
    AllowRule, DenyRule, LoadedRequirements, REQUIREMENTS_BASE64_ENV, REQUIREMENTS_FILE_ENV,
    RequirementSource, Requirements, RequirementsError, RequirementsLayer, RequirementsSources,
    Residency, RuleIdentity, RuleName, SYSTEM_REQUIREMENTS_FILE, load_requirements,
    parse_requirements,
};
pub use schema::requirements_schema;
pub use tools::{FilterOrigin, ToolFilter, ToolRefusal, ToolRules};
