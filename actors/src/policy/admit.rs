//! [`admit`]: the one function that decides whether a server may run, and
//! what exactly runs.
//!
//! Every path that spawns or connects to an MCP server (startup, restart,
//! probes, hot reload, `mcp tools`, `mcp call`, `exec`) asks this function
//! first and acts only on [`Admission::Allowed`]. For a stdio server the
//! verdict for [`Purpose::Launch`] carries the launch (`CommandSpec`): the
//! resolved program, the argv, the resolved cwd and the exact environment.
//! The stdio plugin runs that and nothing else.
//!
//! The decision, in order:
//! 1. the server is resolved ([`launch`](super::launch)) when a check below
//!    or the launch needs it: under any allowlist a bare command is looked
//!    up only on the admin's search path;
//! 2. every denylist of every layer, matched by **what runs**: a command
//!    rule matches the resolved executable whatever the spelling, a URL rule
//!    matches every spelling of the endpoint; a matching entry disables;
//! 3. every layer that has an allowlist: the name must be covered by an
//!    entry (or `"*"`) whose identity matches **exactly** (the configured
//!    command as written, args and URL by their matchers), and whose
//!    further checks pass: `cwd` (a server that sets one needs a rule that
//!    names it), the environment (the built-in denylist, then `allowed_env`),
//!    and `sha256` (the file is opened, hashed, and later started from that
//!    same open file). An empty allowlist disables everything;
//! 4. finally the user's own `enabled = false`.
//!
//! A stdio server is resolved only as far as a rule or the launch needs:
//! a deny rule that covers its name and arguments but spells the command
//! otherwise, a `cwd`, a pinned digest or the launch itself resolves it,
//! once. A verdict for
//! display ([`Purpose::Verdict`], `mcp list`) builds no launch, so an
//! allowlist that compares commands as written resolves nothing.

use std::cell::OnceCell;
use std::fmt;
use std::path::PathBuf;

use codex_sandbox::{CommandSpec, Executable};
use codex_transports::{
    CanonicalUrl, Identity, ResolveError, StdioConfig, TransportConfig, TransportKind,
    lexical_absolute, resolve_program,
};

use super::launch::{LaunchContext, Resolved, canonical_dir, env_is_denied, resolve, search_path};
use super::requirements::{AllowRule, Requirements, RequirementsLayer, RuleIdentity, RuleName};
use super::source::RequirementSource;
use super::tools::{FilterOrigin, ToolFilter, ToolRules};
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
        /// For a stdio server: exactly what runs, or why it cannot.
        /// `None` for a remote server, and for any server admitted for
        /// [`Purpose::Verdict`].
        launch: Option<Result<CommandSpec, LaunchError>>,
        /// The tool filters of the user and of every matched entry.
        tools: ToolRules,
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

/// Why an admitted stdio server cannot be launched (it then fails to
/// start with this reason; it is not disabled).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LaunchError {
    /// The command cannot be found or run.
    #[error(transparent)]
    Program(#[from] ResolveError),
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
    /// Requirements have not been loaded yet: a session's policy starts
    /// closed.
    NotLoaded,
    /// The name breaks Codex's rule `^[A-Za-z0-9_-]+$`. Only this server is
    /// disabled; the rest of the config still works.
    InvalidName {
        /// The name as configured.
        name: String,
    },
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
            DisabledReason::NotLoaded
            | DisabledReason::InvalidName { .. }
            | DisabledReason::Requirements { .. } => Some(self.to_string()),
        }
    }
}

impl fmt::Display for DisabledReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DisabledReason::ByUser => f.write_str("disabled in config (enabled = false)"),
            DisabledReason::NotLoaded => f.write_str("requirements are not loaded yet"),
            DisabledReason::InvalidName { name } => write!(
                f,
                "invalid server name {name:?}: names use only letters, digits, '-' and '_' \
                 (rename it, for example to {:?})",
                suggested_name(name)
            ),
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
        /// From the entry, one matcher per argument, as text.
        allowed: Vec<String>,
        /// From config.
        actual: Vec<String>,
    },
    /// The URL does not match.
    UrlMismatch {
        /// From the entry (a matcher, as text).
        allowed: String,
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
    /// A variable the entry's `allowed_env` does not list.
    EnvNotListed {
        /// The variable.
        var: String,
        /// `env` or `env_vars`.
        field: &'static str,
    },
    /// The server sets a `cwd` and the entry names none.
    CwdNotAllowed {
        /// The server's resolved cwd.
        cwd: PathBuf,
    },
    /// The server's resolved cwd is not the entry's.
    CwdMismatch {
        /// From the entry.
        allowed: PathBuf,
        /// The server's resolved cwd.
        actual: PathBuf,
    },
    /// The executable does not hash to a pinned digest.
    HashMismatch {
        /// The resolved file.
        path: PathBuf,
        /// Its SHA-256.
        actual: String,
    },
    /// The entry pins a digest, and the executable cannot be read.
    HashUnverifiable {
        /// The command.
        command: String,
        /// Why.
        reason: String,
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
                write!(
                    f,
                    "args {actual:?} do not match allowed [{}]",
                    allowed.join(", ")
                )
            }
            PolicyCause::UrlMismatch { allowed, actual } => write!(
                f,
                "url {:?} does not match allowed {allowed}",
                actual.redacted()
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
            PolicyCause::EnvNotListed { var, field } => write!(
                f,
                "{field} sets {var}, which the rule's allowed_env does not list"
            ),
            PolicyCause::CwdNotAllowed { cwd } => write!(
                f,
                "cwd {:?} is set, but the rule does not name a cwd",
                cwd.display().to_string()
            ),
            PolicyCause::CwdMismatch { allowed, actual } => write!(
                f,
                "cwd {:?} does not match allowed {:?}",
                actual.display().to_string(),
                allowed.display().to_string()
            ),
            PolicyCause::HashMismatch { path, actual } => write!(
                f,
                "{} has sha256 {actual}, which the rule does not pin",
                path.display()
            ),
            PolicyCause::HashUnverifiable { command, reason } => write!(
                f,
                "the rule pins a sha256, but {command:?} cannot be hashed: {reason}"
            ),
        }
    }
}

/// A name that follows the rule, for the message that suggests a rename:
/// every other character becomes `_`.
fn suggested_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() {
        "server".to_owned()
    } else {
        cleaned
    }
}

/// What a verdict is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Starting the server: an admitted stdio server carries its launch.
    Launch,
    /// Showing the verdict only (`mcp list`, `mcp get`). The decision is
    /// the same, but an admitted stdio server carries no launch
    /// (`launch: None`), so nothing can be started from it.
    Verdict,
}

/// Decides whether server `name`, configured as `server`, may run in `ctx`,
/// and for a stdio server, exactly what runs.
///
/// A name outside `^[A-Za-z0-9_-]+$` disables that server before anything
/// else is looked at: a name is part of tool names and requirements keys,
/// so an odd one could be read two ways.
pub fn admit(
    name: &str,
    server: &McpServerConfig,
    requirements: &Requirements,
    ctx: &LaunchContext,
) -> Admission {
    admit_for(name, server, requirements, ctx, Purpose::Launch)
}

/// [`admit`], for `purpose`: the verdict is the same for both.
pub fn admit_for(
    name: &str,
    server: &McpServerConfig,
    requirements: &Requirements,
    ctx: &LaunchContext,
    purpose: Purpose,
) -> Admission {
    admit_in(name, server, &Pass::new(requirements, ctx), purpose)
}

/// What admission reads for every server of a map, prepared once: the
/// requirements and the launch context, every allowlist indexed by name,
/// and the admin's search path.
pub(crate) struct Pass<'a> {
    requirements: &'a Requirements,
    ctx: &'a LaunchContext,
    /// One per layer, in layer order; `None` where a layer has no allowlist.
    allowlists: Vec<Option<Allowlist<'a>>>,
    /// Where a bare command is looked up, when any layer has an allowlist.
    admin_search: Option<Vec<PathBuf>>,
}

impl<'a> Pass<'a> {
    pub(crate) fn new(requirements: &'a Requirements, ctx: &'a LaunchContext) -> Self {
        let allowlists: Vec<Option<Allowlist<'a>>> = requirements
            .layers
            .iter()
            .map(|layer| layer.allowlist.as_deref().map(Allowlist::new))
            .collect();
        let admin_search = allowlists
            .iter()
            .any(Option::is_some)
            .then(|| search_path(requirements));
        Self {
            requirements,
            ctx,
            allowlists,
            admin_search,
        }
    }
}

/// One layer's allowlist, its entries by the name they cover.
struct Allowlist<'a> {
    /// The names entries cover exactly, sorted; `by_name[i]` covers `names[i]`.
    names: Vec<&'a str>,
    /// Entries that cover one name, by that name and then as written.
    by_name: Vec<&'a AllowRule>,
    /// The `"*"` entries, as written.
    any_name: Vec<&'a AllowRule>,
}

impl<'a> Allowlist<'a> {
    fn new(rules: &'a [AllowRule]) -> Self {
        let mut named = Vec::new();
        let mut any_name = Vec::new();
        for rule in rules {
            match &rule.name {
                RuleName::Exact(name) => named.push((name.as_str(), rule)),
                RuleName::Any => any_name.push(rule),
            }
        }
        // Stable: entries for one name keep the order they were written in.
        named.sort_by_key(|&(name, _)| name);
        let (names, by_name) = named.into_iter().unzip();
        Self {
            names,
            by_name,
            any_name,
        }
    }

    /// Whether the allowlist has no entries at all.
    fn is_empty(&self) -> bool {
        self.by_name.is_empty() && self.any_name.is_empty()
    }

    /// The entries that cover `name` exactly, as written.
    fn named(&self, name: &str) -> &[&'a AllowRule] {
        let start = self.names.partition_point(|&n| n < name);
        let len = self.names[start..]
            .iter()
            .take_while(|&&n| n == name)
            .count();
        &self.by_name[start..start + len]
    }
}

/// [`admit_for`] within a prepared pass.
pub(crate) fn admit_in(
    name: &str,
    server: &McpServerConfig,
    pass: &Pass<'_>,
    purpose: Purpose,
) -> Admission {
    let requirements = pass.requirements;
    if !crate::config::valid_server_name(name) {
        return Admission::Disabled(DisabledReason::InvalidName {
            name: name.to_owned(),
        });
    }
    let identity = server.transport.identity();
    let resolved = match &server.transport {
        TransportConfig::Stdio(stdio) => Some(Lazy::new(stdio, pass)),
        TransportConfig::StreamableHttp(_) | TransportConfig::Sse(_) => None,
    };
    for layer in requirements.layers.iter() {
        if let Some(rule) = layer.denylist.iter().find(|rule| {
            rule.name.covers(name)
                && rule
                    .identity
                    .as_ref()
                    .is_none_or(|wanted| denies(wanted, &identity, resolved.as_ref()))
        }) {
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
    let mut pinned: Option<Executable> = None;
    let mut filters = vec![(
        FilterOrigin::User,
        ToolFilter {
            enabled: server.enabled_tools.clone(),
            disabled: server.disabled_tools.clone(),
        },
    )];
    for (layer, allowlist) in requirements.layers.iter().zip(&pass.allowlists) {
        let Some(allowlist) = allowlist else {
            continue;
        };
        let candidate = Candidate {
            name,
            transport: &server.transport,
            identity: &identity,
            resolved: resolved.as_ref(),
        };
        match check_allowlist(allowlist, &candidate, &mut pinned) {
            Ok(rule) => {
                sandbox = stricter(sandbox, rule.sandbox);
                matched.push(RuleMatch {
                    source: layer.source.clone(),
                    rule: rule.key.clone(),
                });
                filters.push((
                    FilterOrigin::Rule {
                        source: layer.source.clone(),
                        rule: rule.key.clone(),
                    },
                    rule.tools.clone(),
                ));
            }
            Err(cause) => return disabled(layer, cause),
        }
    }
    if !server.enabled {
        return Admission::Disabled(DisabledReason::ByUser);
    }
    let launch = match purpose {
        Purpose::Launch => resolved.map(|lazy| {
            let stdio = lazy.stdio;
            launch(stdio, lazy.into_resolved(), pinned)
        }),
        Purpose::Verdict => None,
    };
    Admission::Allowed {
        matched,
        sandbox,
        launch,
        tools: ToolRules::new(filters),
    }
}

/// The stricter of two sandbox demands: read-only over workspace-write over
/// none. Anything looser than read-only or workspace-write counts as none.
pub(crate) fn stricter(a: Option<SandboxMode>, b: Option<SandboxMode>) -> Option<SandboxMode> {
    let rank = |mode: Option<SandboxMode>| match mode {
        Some(SandboxMode::ReadOnly) => 2,
        Some(SandboxMode::WorkspaceWrite) => 1,
        Some(SandboxMode::DangerFullAccess | SandboxMode::ExternalSandbox) | None => 0,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// The command spec that runs `stdio`, as resolved.
fn launch(
    stdio: &StdioConfig,
    resolved: Resolved,
    pinned: Option<Executable>,
) -> Result<CommandSpec, LaunchError> {
    let program = resolved.program?;
    let argv = std::iter::once(program.found.clone().into_os_string())
        .chain(stdio.args.iter().map(Into::into))
        .collect();
    let mut spec = CommandSpec::new(
        argv,
        resolved.cwd,
        resolved
            .env
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect(),
    );
    spec.program = Some(pinned.unwrap_or_else(|| Executable::at(program.real)));
    Ok(spec)
}

fn disabled(layer: &RequirementsLayer, cause: PolicyCause) -> Admission {
    Admission::Disabled(DisabledReason::Requirements {
        source: layer.source.clone(),
        cause,
    })
}

/// A stdio server's resolution, made the first time a rule or the launch
/// asks for it, and then kept: what the rules judged is what runs.
struct Lazy<'a> {
    stdio: &'a StdioConfig,
    pass: &'a Pass<'a>,
    resolved: OnceCell<Resolved>,
}

impl<'a> Lazy<'a> {
    fn new(stdio: &'a StdioConfig, pass: &'a Pass<'a>) -> Self {
        Self {
            stdio,
            pass,
            resolved: OnceCell::new(),
        }
    }

    fn get(&self) -> &Resolved {
        self.resolved.get_or_init(|| self.resolve())
    }

    fn into_resolved(mut self) -> Resolved {
        match self.resolved.take() {
            Some(resolved) => resolved,
            None => self.resolve(),
        }
    }

    /// Under any allowlist a bare command is looked up only on the admin's
    /// search path.
    fn resolve(&self) -> Resolved {
        resolve(self.stdio, self.pass.ctx, self.pass.admin_search.as_deref())
    }
}

/// Whether a deny rule's identity covers the server: by what runs.
fn denies(wanted: &RuleIdentity, identity: &Identity, resolved: Option<&Lazy<'_>>) -> bool {
    match (wanted, identity) {
        (RuleIdentity::Url(matcher), Identity::Url(url)) => matcher.denies(url),
        (RuleIdentity::Command { command, args }, Identity::Command(actual)) => {
            let args_match = args.as_ref().is_none_or(|matchers| {
                matchers.len() == actual.args.len()
                    && matchers.iter().zip(&actual.args).all(|(m, a)| m.matches(a))
            });
            args_match && same_program(command, &actual.command, resolved)
        }
        (RuleIdentity::Url(_), Identity::Command(_))
        | (RuleIdentity::Command { .. }, Identity::Url(_)) => false,
    }
}

/// Whether the deny rule's `command` names the program the server runs:
/// the same resolved file, or the same spelling when nothing resolves.
fn same_program(rule: &str, configured: &str, resolved: Option<&Lazy<'_>>) -> bool {
    if rule == configured {
        return true;
    }
    let Some(resolved) = resolved.map(Lazy::get) else {
        return false;
    };
    let rule_real = resolve_program(rule, &resolved.search, &resolved.cwd)
        .map(|p| p.real)
        .unwrap_or_else(|_| lexical_absolute(&resolved.cwd.join(rule)));
    match &resolved.program {
        Ok(program) => program.real == rule_real || program.found == rule_real,
        Err(_) => {
            configured.contains('/')
                && lexical_absolute(&resolved.cwd.join(configured)) == rule_real
        }
    }
}

/// The server as the allowlist sees it.
struct Candidate<'a> {
    name: &'a str,
    transport: &'a TransportConfig,
    identity: &'a Identity,
    resolved: Option<&'a Lazy<'a>>,
}

/// The matching entry, or the most helpful reason none matched. A rule
/// that pins a digest leaves the opened executable in `pinned`.
fn check_allowlist<'r>(
    allowlist: &Allowlist<'r>,
    candidate: &Candidate<'_>,
    pinned: &mut Option<Executable>,
) -> Result<&'r AllowRule, PolicyCause> {
    if allowlist.is_empty() {
        return Err(PolicyCause::EmptyAllowlist);
    }
    if let Identity::Url(url) = candidate.identity
        && url.has_userinfo()
    {
        return Err(PolicyCause::UserinfoInUrl {
            url: Box::new(url.clone()),
        });
    }
    let kind = candidate.transport.kind();
    // Entries that name the server exactly are the admin's word on it; a
    // `"*"` entry speaks only for names that have none, so it cannot undo
    // a named entry's `cwd`, `allowed_env` or `sha256`.
    let named_exactly = allowlist.named(candidate.name);
    let by_name = if named_exactly.is_empty() {
        &allowlist.any_name
    } else {
        named_exactly
    };
    let identity_matches: Vec<&AllowRule> = by_name
        .iter()
        .copied()
        .filter(|rule| identity_mismatch(&rule.identity, candidate.identity, kind).is_none())
        .collect();
    let mut first_failure = None;
    for rule in &identity_matches {
        match further_checks(rule, candidate, pinned) {
            Ok(()) => return Ok(rule),
            Err(cause) => {
                first_failure.get_or_insert(cause);
            }
        }
    }
    if let Some(cause) = first_failure {
        return Err(cause);
    }
    // Explain against the entries written for this very name; a `"*"` entry
    // that does not match says nothing more useful than "not listed".
    let name = candidate.name;
    let same_family = named_exactly
        .iter()
        .find(|rule| family(&rule.identity) == family_of(kind));
    match same_family.or_else(|| named_exactly.first()) {
        Some(rule) => Err(
            identity_mismatch(&rule.identity, candidate.identity, kind).unwrap_or(
                PolicyCause::NotInAllowlist {
                    name: name.to_owned(),
                },
            ),
        ),
        None => Err(PolicyCause::NotInAllowlist {
            name: name.to_owned(),
        }),
    }
}

/// `cwd`, the environment and `sha256`, for a rule whose identity matched.
fn further_checks(
    rule: &AllowRule,
    candidate: &Candidate<'_>,
    pinned: &mut Option<Executable>,
) -> Result<(), PolicyCause> {
    let Some(lazy) = candidate.resolved else {
        return Ok(());
    };
    let stdio = lazy.stdio;
    match (&rule.cwd, &stdio.cwd) {
        (Some(allowed), _) => {
            let allowed = canonical_dir(allowed);
            let actual = &lazy.get().cwd;
            if allowed != *actual {
                return Err(PolicyCause::CwdMismatch {
                    allowed,
                    actual: actual.clone(),
                });
            }
        }
        (None, Some(_)) => {
            return Err(PolicyCause::CwdNotAllowed {
                cwd: lazy.get().cwd.clone(),
            });
        }
        (None, None) => {}
    }
    let literal = stdio.env.keys().map(|var| (var, "env"));
    let passed = stdio.env_vars.iter().map(|var| (var, "env_vars"));
    for (var, field) in literal.chain(passed) {
        if env_is_denied(var) {
            return Err(PolicyCause::EnvNotPermitted {
                var: var.clone(),
                field,
            });
        }
        if let Some(allowed) = &rule.allowed_env
            && !allowed.contains(var)
        {
            return Err(PolicyCause::EnvNotListed {
                var: var.clone(),
                field,
            });
        }
    }
    if let Some(digests) = &rule.sha256 {
        let program = lazy
            .get()
            .program
            .as_ref()
            .map_err(|err| PolicyCause::HashUnverifiable {
                command: stdio.command.clone(),
                reason: err.to_string(),
            })?;
        let exe = match pinned.take() {
            Some(exe) if exe.path() == program.real => exe,
            _ => Executable::open_pinned(&program.real).map_err(|err| {
                PolicyCause::HashUnverifiable {
                    command: stdio.command.clone(),
                    reason: err.to_string(),
                }
            })?,
        };
        let digest = exe.digest().unwrap_or_default().to_owned();
        let ok = digests.contains(&digest);
        *pinned = Some(exe);
        if !ok {
            return Err(PolicyCause::HashMismatch {
                path: program.real.clone(),
                actual: digest,
            });
        }
    }
    Ok(())
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

/// `None` when `actual` satisfies `wanted` exactly, else what differs.
fn identity_mismatch(
    wanted: &RuleIdentity,
    actual: &Identity,
    kind: TransportKind,
) -> Option<PolicyCause> {
    match (wanted, actual) {
        (RuleIdentity::Command { command, args }, Identity::Command(stdio)) => {
            if *command != stdio.command {
                return Some(PolicyCause::CommandMismatch {
                    allowed: command.clone(),
                    actual: stdio.command.clone(),
                });
            }
            let matchers = args.as_ref()?;
            let ok = matchers.len() == stdio.args.len()
                && matchers.iter().zip(&stdio.args).all(|(m, a)| m.matches(a));
            (!ok).then(|| PolicyCause::ArgsMismatch {
                allowed: matchers.iter().map(ToString::to_string).collect(),
                actual: stdio.args.clone(),
            })
        }
        (RuleIdentity::Url(matcher), Identity::Url(url)) => {
            // Userinfo is compared away: `https://x@host/` is the same
            // endpoint as `https://host/` for a denylist, and is refused
            // separately by allowlists.
            (!matcher.matches(url)).then(|| PolicyCause::UrlMismatch {
                allowed: matcher.to_string(),
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

#[cfg(test)]
mod tests;
