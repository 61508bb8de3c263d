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
mod source;
mod tools;

pub(crate) use admit::stricter;
pub use admit::{
    Admission, DisabledReason, LaunchError, PolicyCause, Purpose, RuleFamily, RuleMatch, admit,
    admit_for,
};
pub use constrained::{Constrained, ConstraintError};
pub use decision::{AuditEvent, StopReason, audit};
pub use effective::{
    AllowedSet, EffectiveConfig, McpServer, McpServers, apply_requirements, fallback_warning,
};
pub(crate) use effective::{allowed_set, constrain_servers};
pub use launch::{DEFAULT_SEARCH_PATH, LaunchContext, resolve_program_for, search_path};
pub(crate) use lock::tool_definition;
pub use lock::{
    LOCK_FILE, LockError, LockOrigin, LockState, LockedTool, ToolLock, Withheld, WithheldTool,
    canonical, digest, render_lock, tool_locks,
};
pub use matcher::{Pattern, UrlMatcher, ValueMatcher};
pub use requirements::{
    AllowRule, DenyRule, LoadedRequirements, Requirements, RequirementsError, RequirementsLayer,
    Residency, RuleIdentity, RuleName, load_requirements, parse_requirements,
};
pub use schema::requirements_schema;
pub use source::{
    REQUIREMENTS_BASE64_ENV, REQUIREMENTS_FILE_ENV, RequirementSource, RequirementsSources,
    SYSTEM_REQUIREMENTS_FILE,
};
pub use tools::{FilterOrigin, ToolFilter, ToolRefusal, ToolRules};
