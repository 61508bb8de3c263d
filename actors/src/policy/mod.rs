//! Admin policy as plain functions: requirements, [`admit`], and
//! [`Constrained`] values.
//!
//! Nothing here starts an actor or reads the environment; the CLI calls these
//! directly for `codex mcp list`, and the policy actor calls the same
//! functions on every new snapshot.

mod admit;
mod constrained;
mod effective;
mod machine;
mod requirements;
mod shell;

pub use admit::{Admission, DisabledReason, PolicyCause, RuleFamily, RuleMatch, admit, stricter};
pub use constrained::{Constrained, ConstraintError};
pub use effective::{
    AllowedSet, EffectiveConfig, McpServer, McpServers, allowed_set, apply_requirements,
    constrain_servers, fallback_warning,
};
pub use machine::{AuditEvent, Plan, StopReason, audit, plan};
pub use requirements::{
    AllowRule, DenyRule, LoadedRequirements, REQUIREMENTS_BASE64_ENV, REQUIREMENTS_FILE_ENV,
    RequirementSource, Requirements, RequirementsError, RequirementsLayer, RequirementsSources,
    RuleIdentity, RuleName, SYSTEM_REQUIREMENTS_FILE, load_requirements, parse_requirements,
};
pub(crate) use shell::{Evaluate, PolicyActor};
