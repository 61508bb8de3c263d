//! The configuration as requirements allow it: [`EffectiveConfig`].
//!
//! This is where config and requirements meet. The server map is a
//! [`Constrained`] whose normalizer is [`admit`]; sandbox mode and approval
//! policy are [`Constrained`] by the intersection of every layer's allowed
//! set, and a configured value outside it falls back to the first allowed
//! value with a warning.

use std::collections::BTreeMap;

use super::admit::{Admission, Pass, Purpose, admit_in};
use super::constrained::{Constrained, ConstraintError};
use super::launch::LaunchContext;
use super::requirements::{Requirements, RequirementsError, RequirementsLayer, join};
use crate::config::{ApprovalPolicy, ConfigSnapshot, McpServerConfig, SandboxMode};

/// One configured server with its verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct McpServer {
    /// As configured.
    pub config: McpServerConfig,
    /// As decided by [`admit`](super::admit).
    pub admission: Admission,
}

/// Every configured server, by name.
pub type McpServers = BTreeMap<String, McpServer>;

/// Configuration after requirements were applied.
#[derive(Debug, Clone)]
pub struct EffectiveConfig {
    /// Servers, each with its admission. `set` re-admits every entry.
    pub mcp_servers: Constrained<McpServers>,
    /// The sandbox mode in force.
    pub sandbox_mode: Constrained<SandboxMode>,
    /// The approval policy in force.
    pub approval_policy: Constrained<ApprovalPolicy>,
    /// Fallbacks applied, one sentence each.
    pub warnings: Vec<String>,
}

/// The set of values every layer allows for one setting, in the order of the
/// highest-priority layer that sets it, with the sources that set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedSet<T> {
    /// Allowed by every layer that has an opinion.
    pub values: Vec<T>,
    /// Those layers, as text for messages.
    pub sources: String,
}

/// Intersects one setting across layers; `Ok(None)` when no layer sets it.
pub(crate) fn allowed_set<T: Copy + PartialEq>(
    requirements: &Requirements,
    field: &'static str,
    get: impl Fn(&RequirementsLayer) -> Option<&Vec<T>>,
) -> Result<Option<AllowedSet<T>>, RequirementsError> {
    let mut result: Option<AllowedSet<T>> = None;
    for layer in requirements.layers.iter() {
        let Some(values) = get(layer) else {
            continue;
        };
        result = Some(match result {
            None => AllowedSet {
                values: values.clone(),
                sources: layer.source.to_string(),
            },
            Some(set) => AllowedSet {
                values: set
                    .values
                    .into_iter()
                    .filter(|value| values.contains(value))
                    .collect(),
                sources: format!("{}, {}", set.sources, layer.source),
            },
        });
    }
    match result {
        Some(set) if set.values.is_empty() => Err(RequirementsError::Conflict {
            field,
            sources: set.sources,
        }),
        other => Ok(other),
    }
}

/// Applies `requirements` to `config`, for servers launched in `context`;
/// each server is admitted for `purpose`.
///
/// The servers move out of `config` into the result: from here on a server
/// is only seen with its admission, and the configs are not copied.
pub fn apply_requirements(
    config: &mut ConfigSnapshot,
    requirements: &Requirements,
    context: &LaunchContext,
    purpose: Purpose,
) -> Result<EffectiveConfig, RequirementsError> {
    let mut warnings = Vec::new();
    let sandbox_mode = constrain(
        "sandbox_mode",
        allowed_set(requirements, "allowed_sandbox_modes", |l| {
            l.allowed_sandbox_modes.as_ref()
        })?,
        config.sandbox_mode,
        SandboxMode::ReadOnly,
        &mut warnings,
    );
    let approval_policy = constrain(
        "approval_policy",
        allowed_set(requirements, "allowed_approval_policies", |l| {
            l.allowed_approval_policies.as_ref()
        })?,
        config.approval_policy,
        ApprovalPolicy::OnRequest,
        &mut warnings,
    );
    Ok(EffectiveConfig {
        mcp_servers: constrain_servers(
            std::mem::take(&mut config.mcp_servers),
            requirements,
            context,
            purpose,
        ),
        sandbox_mode,
        approval_policy,
        warnings,
    })
}

/// The server map as a [`Constrained`] whose normalizer re-admits entries
/// for `purpose`.
pub(crate) fn constrain_servers(
    servers: BTreeMap<String, McpServerConfig>,
    requirements: &Requirements,
    context: &LaunchContext,
    purpose: Purpose,
) -> Constrained<McpServers> {
    let requirements = requirements.clone();
    let context = context.clone();
    let initial = servers
        .into_iter()
        .map(|(name, config)| {
            let server = McpServer {
                config,
                admission: Admission::Allowed {
                    matched: Vec::new(),
                    sandbox: None,
                    launch: None,
                    tools: Default::default(),
                },
            };
            (name, server)
        })
        .collect();
    Constrained::normalized(initial, move |mut servers: McpServers| {
        // In place: the map keeps its nodes, only verdicts change.
        let pass = Pass::new(&requirements, &context);
        for (name, server) in &mut servers {
            server.admission = admit_in(name, &server.config, &pass, purpose);
        }
        servers
    })
}

/// Builds the constrained setting and applies the configured value, falling
/// back (with a warning) when requirements refuse it.
fn constrain<T>(
    field: &'static str,
    allowed: Option<AllowedSet<T>>,
    configured: Option<T>,
    default: T,
    warnings: &mut Vec<String>,
) -> Constrained<T>
where
    T: Copy + PartialEq + std::fmt::Display + Send + Sync + 'static,
{
    let Some(allowed) = allowed else {
        return Constrained::allow_any(configured.unwrap_or(default));
    };
    let first = allowed.values[0];
    let validator = move |candidate: &T| {
        if allowed.values.contains(candidate) {
            Ok(())
        } else {
            Err(ConstraintError::InvalidValue {
                field_name: field,
                candidate: candidate.to_string(),
                allowed: join(&allowed.values),
                requirement_source: allowed.sources.clone(),
            })
        }
    };
    let mut constrained = match Constrained::new(first, validator) {
        Ok(constrained) => constrained,
        // The first allowed value always validates; keep the type honest.
        Err(_) => return Constrained::allow_any(first),
    };
    if let Some(candidate) = configured
        && let Err(err) = constrained.set(candidate)
    {
        warnings.push(fallback_warning(field, first, &err));
    }
    constrained
}

/// The warning printed when a configured or requested value is refused.
pub fn fallback_warning<T: std::fmt::Display>(
    field: &str,
    fallback: T,
    err: &ConstraintError,
) -> String {
    format!(
        "Configured value for `{field}` is disallowed by requirements; falling back to \
         required value {fallback}. Details: {err}"
    )
}
