//! [`admit`]: the one function that decides whether a server may run.
//!
//! Every path that spawns or connects to an MCP server (startup, restart,
//! probes, hot reload, `mcp tools`, `mcp call`) asks this function first and
//! acts only on [`Admission::Allowed`].
//!
//! The decision, in order:
//! 1. every denylist of every layer: a matching entry disables (deny wins);
//! 2. every layer that has an allowlist: the server's name must be covered
//!    by an entry (or a `"*"` entry) whose identity matches the server's
//!    transport identity; an empty allowlist disables everything;
//! 3. under an allowlist, environment variables that would let a user run
//!    other code inside an allowed program (`LD_PRELOAD`, `NODE_OPTIONS`,
//!    ...) disable the server;
//! 4. finally the user's own `enabled = false`.

use std::fmt;

use codex_transports::{CanonicalUrl, Identity, StdioIdentity, TransportConfig, TransportKind};

use super::requirements::{
    AllowRule, DenyRule, RequirementSource, Requirements, RequirementsLayer, RuleIdentity, RuleName,
};
use crate::config::{McpServerConfig, SandboxMode};

/// The verdict for one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// The server may be started. `matched` lists the allowlist entry that
    /// admitted it in each layer that has an allowlist (empty when no layer
    /// has one).
    Allowed {
        /// One entry per layer with an allowlist.
        matched: Vec<RuleMatch>,
        /// The strictest sandbox any matched entry demands.
        sandbox: Option<SandboxMode>,
    },
    /// The server stays in config but is not started.
    Disabled(DisabledReason),
}

impl Admission {
    /// Whether the server may be started.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Admission::Allowed { .. })
    }

    /// The reason, when disabled.
    pub fn disabled_reason(&self) -> Option<&DisabledReason> {
        match self {
            Admission::Allowed { .. } => None,
            Admission::Disabled(reason) => Some(reason),
        }
    }
}

/// An allowlist entry that admitted a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleMatch {
    /// The layer.
    pub source: RequirementSource,
    /// The entry's key path.
    pub rule: String,
}

/// Why a server is disabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisabledReason {
    /// `enabled = false` in the user's config.
    ByUser,
    /// Requirements have not been loaded yet: a session's gate starts
    /// closed.
    NotLoaded,
    /// An admin requirement.
    Requirements {
        /// The layer that disabled it.
        source: RequirementSource,
        /// What failed.
        cause: PolicyCause,
    },
}

impl DisabledReason {
    /// The text after `disabled: ` in `mcp list`, or `None` for a plain
    /// user-disabled server (shown as just `disabled`, as Codex does).
    pub fn status_text(&self) -> Option<String> {
        match self {
            DisabledReason::ByUser => None,
            DisabledReason::NotLoaded | DisabledReason::Requirements { .. } => {
                Some(self.to_string())
            }
        }
    }
}

impl fmt::Display for DisabledReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DisabledReason::ByUser => f.write_str("disabled in config (enabled = false)"),
            DisabledReason::NotLoaded => f.write_str("requirements are not loaded yet"),
            DisabledReason::Requirements { source, cause } => {
                write!(f, "requirements ({source}): {cause}")
            }
        }
    }
}

/// The part of a requirement that a server failed.
///
/// Deliberately exhaustive: every consumer (the CLI's JSON, audit events)
/// must decide how to show a new cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyCause {
    /// No allowlist entry covers the name.
    NotInAllowlist {
        /// The server's name.
        name: String,
    },
    /// The layer has an allowlist with no entries.
    EmptyAllowlist,
    /// The entry is for the other transport family.
    TransportMismatch {
        /// The entry's family.
        allowed: RuleFamily,
        /// The server's transport.
        actual: TransportKind,
    },
    /// Same family, different program.
    CommandMismatch {
        /// From the entry.
        allowed: String,
        /// From config.
        actual: String,
    },
    /// Same program, different arguments.
    ArgsMismatch {
        /// From the entry.
        allowed: Vec<String>,
        /// From config.
        actual: Vec<String>,
    },
    /// Different canonical URL.
    UrlMismatch {
        /// From the entry.
        allowed: Box<CanonicalUrl>,
        /// From config.
        actual: Box<CanonicalUrl>,
    },
    /// The configured URL has `user:pass@`, which is never allowed.
    UserinfoInUrl {
        /// The URL, credentials removed.
        url: Box<CanonicalUrl>,
    },
    /// A denylist entry matched.
    Denied {
        /// The entry's key path.
        rule: String,
    },
    /// A variable that changes what an allowed program runs.
    EnvNotPermitted {
        /// The variable.
        var: String,
        /// `env` (a literal) or `env_vars` (passed through).
        field: &'static str,
    },
}

/// The transport family an allowlist entry names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleFamily {
    /// A `command` entry: stdio.
    Command,
    /// A `url` entry: streamable HTTP or SSE.
    Url,
}

impl fmt::Display for PolicyCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyCause::NotInAllowlist { name } => write!(f, "{name:?} is not in the allowlist"),
            PolicyCause::EmptyAllowlist => {
                f.write_str("the allowlist is empty, so every MCP server is disabled")
            }
            PolicyCause::TransportMismatch { allowed, actual } => {
                let allowed = match allowed {
                    RuleFamily::Command => "stdio (command)",
                    RuleFamily::Url => "http (url)",
                };
                write!(f, "transport {actual} does not match allowed {allowed}")
            }
            PolicyCause::CommandMismatch { allowed, actual } => {
                write!(f, "command {actual:?} does not match allowed {allowed:?}")
            }
            PolicyCause::ArgsMismatch { allowed, actual } => {
                write!(f, "args {actual:?} do not match allowed {allowed:?}")
            }
            PolicyCause::UrlMismatch { allowed, actual } => write!(
                f,
                "url {:?} does not match allowed {:?}",
                actual.redacted(),
                allowed.redacted()
            ),
            PolicyCause::UserinfoInUrl { url } => write!(
                f,
                "url {:?} carries a user name or password, which is never allowed",
                url.redacted()
            ),
            PolicyCause::Denied { rule } => write!(f, "denied by {rule}"),
            PolicyCause::EnvNotPermitted { var, field } => write!(
                f,
                "{field} sets {var}, which can change what an allowed server runs"
            ),
        }
    }
}

/// Decides whether server `name`, configured as `server`, may run.
pub fn admit(name: &str, server: &McpServerConfig, requirements: &Requirements) -> Admission {
    let identity = server.transport.identity();
    for layer in &requirements.layers {
        if let Some(rule) = layer
            .denylist
            .iter()
            .find(|rule| deny_matches(rule, name, &identity, server.transport.kind()))
        {
            return disabled(
                layer,
                PolicyCause::Denied {
                    rule: rule.key.clone(),
                },
            );
        }
    }
    let mut matched = Vec::new();
    let mut sandbox = None;
    for layer in &requirements.layers {
        let Some(allowlist) = &layer.allowlist else {
            continue;
        };
        match check_allowlist(allowlist, name, &server.transport, &identity) {
            Ok(rule) => {
                sandbox = stricter(sandbox, rule.sandbox);
                matched.push(RuleMatch {
                    source: layer.source.clone(),
                    rule: rule.key.clone(),
                });
            }
            Err(cause) => return disabled(layer, cause),
        }
    }
    if let (Some(first), TransportConfig::Stdio(stdio)) = (matched.first(), &server.transport) {
        let literal = stdio.env.keys().map(|var| (var, "env"));
        let passed = stdio.env_vars.iter().map(|var| (var, "env_vars"));
        if let Some((var, field)) = literal
            .chain(passed)
            .find(|(var, _)| env_is_dangerous(var, &stdio.command))
        {
            return Admission::Disabled(DisabledReason::Requirements {
                source: first.source.clone(),
                cause: PolicyCause::EnvNotPermitted {
                    var: var.clone(),
                    field,
                },
            });
        }
    }
    if !server.enabled {
        return Admission::Disabled(DisabledReason::ByUser);
    }
    Admission::Allowed { matched, sandbox }
}

/// The stricter of two sandbox demands: read-only over workspace-write over
/// none. Anything looser than read-only or workspace-write counts as none.
pub fn stricter(a: Option<SandboxMode>, b: Option<SandboxMode>) -> Option<SandboxMode> {
    let rank = |mode: Option<SandboxMode>| match mode {
        Some(SandboxMode::ReadOnly) => 2,
        Some(SandboxMode::WorkspaceWrite) => 1,
        Some(SandboxMode::DangerFullAccess | SandboxMode::ExternalSandbox) | None => 0,
    };
    if rank(b) > rank(a) { b } else { a }
}

fn disabled(layer: &RequirementsLayer, cause: PolicyCause) -> Admission {
    Admission::Disabled(DisabledReason::Requirements {
        source: layer.source.clone(),
        cause,
    })
}

fn deny_matches(rule: &DenyRule, name: &str, identity: &Identity, kind: TransportKind) -> bool {
    rule.name.covers(name)
        && rule
            .identity
            .as_ref()
            .is_none_or(|wanted| identity_mismatch(wanted, identity, kind).is_none())
}

/// The matching entry, or the most helpful reason none matched.
fn check_allowlist<'r>(
    allowlist: &'r [AllowRule],
    name: &str,
    transport: &TransportConfig,
    identity: &Identity,
) -> Result<&'r AllowRule, PolicyCause> {
    if allowlist.is_empty() {
        return Err(PolicyCause::EmptyAllowlist);
    }
    if let Identity::Url(url) = identity
        && url.has_userinfo()
    {
        return Err(PolicyCause::UserinfoInUrl {
            url: Box::new(url.clone()),
        });
    }
    let kind = transport.kind();
    if let Some(rule) = allowlist.iter().find(|rule| {
        rule.name.covers(name) && identity_mismatch(&rule.identity, identity, kind).is_none()
    }) {
        return Ok(rule);
    }
    // Explain against the entries written for this very name; a `"*"` entry
    // that does not match says nothing more useful than "not listed".
    let named = || {
        allowlist
            .iter()
            .filter(|rule| rule.name == RuleName::Exact(name.to_owned()))
    };
    let same_family = named().find(|rule| family(&rule.identity) == family_of(transport.kind()));
    match same_family.or_else(|| named().next()) {
        Some(rule) => Err(identity_mismatch(&rule.identity, identity, kind).unwrap_or(
            PolicyCause::NotInAllowlist {
                name: name.to_owned(),
            },
        )),
        None => Err(PolicyCause::NotInAllowlist {
            name: name.to_owned(),
        }),
    }
}

fn family(identity: &RuleIdentity) -> RuleFamily {
    match identity {
        RuleIdentity::Command { .. } => RuleFamily::Command,
        RuleIdentity::Url(_) => RuleFamily::Url,
    }
}

fn family_of(kind: TransportKind) -> RuleFamily {
    if kind.is_remote() {
        RuleFamily::Url
    } else {
        RuleFamily::Command
    }
}

/// `None` when `actual` satisfies `wanted`, else what differs.
fn identity_mismatch(
    wanted: &RuleIdentity,
    actual: &Identity,
    kind: TransportKind,
) -> Option<PolicyCause> {
    match (wanted, actual) {
        (
            RuleIdentity::Command { command, args },
            Identity::Command(StdioIdentity {
                command: actual_command,
                args: actual_args,
            }),
        ) => {
            if command != actual_command {
                Some(PolicyCause::CommandMismatch {
                    allowed: command.clone(),
                    actual: actual_command.clone(),
                })
            } else {
                match args {
                    Some(args) if args != actual_args => Some(PolicyCause::ArgsMismatch {
                        allowed: args.clone(),
                        actual: actual_args.clone(),
                    }),
                    Some(_) | None => None,
                }
            }
        }
        (RuleIdentity::Url(allowed), Identity::Url(url)) => {
            // Userinfo is compared away: `https://x@host/` is the same
            // endpoint as `https://host/` for a denylist, and is refused
            // separately by allowlists.
            (allowed.as_str() != url.as_str()).then(|| PolicyCause::UrlMismatch {
                allowed: Box::new(allowed.clone()),
                actual: Box::new(url.clone()),
            })
        }
        (RuleIdentity::Command { .. }, Identity::Url(_)) => Some(PolicyCause::TransportMismatch {
            allowed: RuleFamily::Command,
            actual: kind,
        }),
        (RuleIdentity::Url(_), Identity::Command(_)) => Some(PolicyCause::TransportMismatch {
            allowed: RuleFamily::Url,
            actual: kind,
        }),
    }
}

/// Variables that make an allowed program load or run something else.
const DANGEROUS_ENV: &[&str] = &[
    "BASH_ENV",
    "ENV",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "NODE_OPTIONS",
    "NODE_PATH",
    "PERL5LIB",
    "PERL5OPT",
    "PIP_EXTRA_INDEX_URL",
    "PIP_INDEX_URL",
    "PYTHONHOME",
    "PYTHONPATH",
    "PYTHONSTARTUP",
    "RUBYLIB",
    "RUBYOPT",
    "UV_EXTRA_INDEX_URL",
    "UV_INDEX_URL",
];
const DANGEROUS_ENV_PREFIXES: &[&str] =
    &["LD_", "DYLD_", "BASH_FUNC_", "npm_config_", "NPM_CONFIG_"];

fn env_is_dangerous(var: &str, command: &str) -> bool {
    DANGEROUS_ENV.contains(&var)
        || DANGEROUS_ENV_PREFIXES
            .iter()
            .any(|prefix| var.starts_with(prefix))
        // A bare command is looked up on PATH: changing PATH changes the program.
        || (var == "PATH" && !command.contains('/'))
}

#[cfg(test)]
mod tests;
