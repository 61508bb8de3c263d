//! Admin requirements: where they come from and what they say.
//!
//! Three sources, each optional, each a [`RequirementsLayer`]:
//! - the system file `/etc/codex/requirements.toml`;
//! - a file named by `CODEX_REQUIREMENTS_FILE`;
//! - a document in `CODEX_REQUIREMENTS_TOML_BASE64`.
//!
//! Layers never merge into one document. Each keeps its own rules and the
//! policy consults all of them, so a layer can only ever tighten: an
//! allowlist in any layer must allow a server, and every denylist applies.
//! That is what makes the environment sources safe to offer.

use std::cell::RefCell;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use codex_transports::CanonicalUrl;

use super::command_rules::{Decision, PatternToken, PrefixRule};
use super::matcher::{Pattern, UrlMatcher, ValueMatcher};
use super::source::{
    REQUIREMENTS_BASE64_ENV, REQUIREMENTS_FILE_ENV, RequirementSource, RequirementsSources,
};
use super::tools::ToolFilter;

use crate::config::{
    ApprovalPolicy, Diagnostic, DiagnosticKind, Location, Origin, Read, SandboxMode, SyntaxError,
    TomlLayer, closest, entry, read, read_optional, type_name,
};

impl RequirementsLayer {
    /// Whether the layer requires nothing (an empty document).
    pub fn is_empty(&self) -> bool {
        self.allowlist.is_none()
            && self.denylist.is_empty()
            && self.allowed_sandbox_modes.is_none()
            && self.allowed_approval_policies.is_none()
            && self.search_path.is_none()
            && self.tools_lock.is_none()
            && self.audit_log.is_none()
            && self.enforce_residency.is_none()
            && self.command_rules.is_empty()
    }
}

/// Which server names a rule covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RuleName {
    /// Exactly this name (no case folding).
    Exact(String),
    /// `"*"`: any name.
    Any,
}

impl RuleName {
    fn parse(key: &str) -> RuleName {
        if key == "*" {
            RuleName::Any
        } else {
            RuleName::Exact(key.to_owned())
        }
    }

    /// Whether this rule covers `name`.
    pub fn covers(&self, name: &str) -> bool {
        match self {
            RuleName::Exact(exact) => exact == name,
            RuleName::Any => true,
        }
    }
}

/// The transport identity a rule requires.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RuleIdentity {
    /// A stdio server with this command, and these args if given.
    Command {
        /// An allowlist compares it byte for byte with the configured
        /// `command`; a denylist with what the command resolves to.
        command: String,
        /// When present, one matcher per argument, in order: the server
        /// must have exactly as many arguments.
        args: Option<Vec<ValueMatcher>>,
    },
    /// An HTTP server (streamable or SSE) whose canonical URL matches.
    Url(UrlMatcher),
}

/// One allowlist entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowRule {
    /// The names it covers.
    pub name: RuleName,
    /// What a covered server must be.
    pub identity: RuleIdentity,
    /// The sandbox the server must run in (stdio rules only); a server
    /// configured looser is started in this sandbox anyway.
    pub sandbox: Option<SandboxMode>,
    /// `cwd`: the server's resolved working directory must be this one.
    /// Without it, a server may not set a `cwd` at all.
    pub cwd: Option<PathBuf>,
    /// `allowed_env`: the only variables the server may set (through `env`
    /// or `env_vars`). The built-in denylist applies either way.
    pub allowed_env: Option<Vec<String>>,
    /// `sha256`: the resolved executable (for a `#!` script, the script)
    /// must hash to one of these (lower-case hex).
    pub sha256: Option<Vec<String>>,
    /// `enabled_tools` / `disabled_tools`: the tools the admin lets this
    /// server offer (intersected with the user's and every other layer's).
    pub tools: ToolFilter,
    /// The rule's key path, e.g. `mcp_server_allowlist.docs`.
    pub key: String,
}

/// One denylist entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DenyRule {
    /// The names it covers.
    pub name: RuleName,
    /// When present, only servers with this identity are denied.
    pub identity: Option<RuleIdentity>,
    /// The rule's key path, e.g. `mcp_server_denylist."*"`.
    pub key: String,
}

/// Everything one source says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequirementsLayer {
    /// Where it came from.
    pub source: RequirementSource,
    /// `None` when the source has no allowlist at all; `Some(vec![])` when
    /// it has an empty one, which disables every server.
    pub allowlist: Option<Vec<AllowRule>>,
    /// Entries that disable what they match.
    pub denylist: Vec<DenyRule>,
    /// `allowed_sandbox_modes`; the first is the default.
    pub allowed_sandbox_modes: Option<Vec<SandboxMode>>,
    /// `allowed_approval_policies`; the first is the default.
    pub allowed_approval_policies: Option<Vec<ApprovalPolicy>>,
    /// `mcp_server_search_path`: where the bare command of a server is
    /// looked up under an allowlist (absolute directories).
    pub search_path: Option<Vec<PathBuf>>,
    /// `mcp_tools_lock`: the tool lock that applies instead of the user's.
    pub tools_lock: Option<PathBuf>,
    /// `audit_log`: where every policy decision is appended, one JSON line
    /// each.
    pub audit_log: Option<PathBuf>,
    /// `enforce_residency`: where model requests must be served.
    pub enforce_residency: Option<Residency>,
    /// `[rules] prefix_rules`: the admin's command policy.
    pub command_rules: Vec<PrefixRule>,
}

/// A data residency the admin requires of model requests
/// (`enforce_residency`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Residency {
    /// `"us"`.
    Us,
}

impl Residency {
    /// The header every model request carries.
    pub const HEADER: &'static str = "x-openai-internal-codex-residency";

    /// The header's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Residency::Us => "us",
        }
    }
}

impl Requirements {
    /// Every layer's command rules, the highest-priority layer's first.
    /// They all apply; the most restrictive decision wins.
    pub fn command_rules(&self) -> Vec<PrefixRule> {
        self.layers
            .iter()
            .flat_map(|layer| layer.command_rules.iter().cloned())
            .collect()
    }

    /// The residency any layer requires (the highest-priority one).
    pub fn residency(&self) -> Option<Residency> {
        self.layers.iter().find_map(|layer| layer.enforce_residency)
    }
}

/// Every layer that was found, highest priority first (system file, env
/// file, env document). Priority only orders messages and defaults: every
/// layer is enforced.
///
/// Cloning shares the layers: the server map's normalizer, every policy
/// snapshot and the session hold the same rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirements {
    /// The layers.
    pub layers: Arc<Vec<RequirementsLayer>>,
}

impl Requirements {
    /// No requirements at all: nothing is filtered.
    pub fn none() -> Self {
        Requirements::default()
    }

    /// Only `layer`.
    pub fn single(layer: RequirementsLayer) -> Self {
        Requirements {
            layers: Arc::new(vec![layer]),
        }
    }

    /// Adds a layer with the lowest priority so far.
    pub fn push(&mut self, layer: RequirementsLayer) {
        Arc::make_mut(&mut self.layers).push(layer);
    }
}

/// Requirements plus the warnings found while reading them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedRequirements {
    /// The layers.
    pub requirements: Requirements,
    /// Unknown keys and similar findings, each with its location.
    pub warnings: Vec<Diagnostic>,
}

/// Why requirements could not be loaded. Every variant is fatal: a session
/// never starts with half a policy.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequirementsError {
    /// A requirements file exists but could not be read.
    #[error("failed to read requirements file {}: {error}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The variable is not valid base64, or does not decode to UTF-8.
    #[error("{REQUIREMENTS_BASE64_ENV}: {problem}")]
    Encoding {
        /// What is wrong.
        problem: String,
    },
    /// A document is not valid TOML.
    #[error("invalid requirements: {0}")]
    Syntax(#[from] SyntaxError),
    /// A document is TOML but says something impossible.
    #[error("invalid requirements: {location}: {key}: {message}")]
    Invalid {
        /// Where.
        location: Location,
        /// The key concerned.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// Two layers leave no value in common for a setting.
    #[error("requirements conflict: no value of `{field}` is allowed by every source ({sources})")]
    Conflict {
        /// The setting.
        field: &'static str,
        /// The sources that disagree.
        sources: String,
    },
}

/// Reads every source in `sources`. A missing source is fine; a malformed or
/// unreadable one is an error that names it.
pub fn load_requirements(
    sources: &RequirementsSources,
) -> Result<LoadedRequirements, RequirementsError> {
    let mut requirements = Requirements::none();
    let mut warnings = Vec::new();
    let files = std::iter::once(RequirementSource::SystemFile(sources.system_file.clone()))
        .chain(sources.env_file.clone().map(RequirementSource::EnvFile));
    for source in files {
        let (RequirementSource::SystemFile(path) | RequirementSource::EnvFile(path)) = &source
        else {
            continue;
        };
        let text = read_optional(path).map_err(|error| RequirementsError::Read {
            path: path.clone(),
            error,
        })?;
        match text {
            Some(text) => {
                let doc = TomlLayer::parse(Origin::File(path.clone()), text)?;
                requirements.push(parse_layer(source, &doc, &mut warnings)?);
            }
            // The system file is optional; a file someone named is not: a
            // mistyped path would turn every requirement off unseen.
            None if matches!(source, RequirementSource::EnvFile(_)) => {
                return Err(RequirementsError::Read {
                    path: path.clone(),
                    error: std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        format!("{REQUIREMENTS_FILE_ENV} names it, but there is no such file"),
                    ),
                });
            }
            None => {}
        }
    }
    if let Some(encoded) = &sources.env_base64 {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|err| RequirementsError::Encoding {
                problem: format!("invalid base64: {err}"),
            })?;
        let text = String::from_utf8(bytes).map_err(|err| RequirementsError::Encoding {
            problem: format!("decoded document is not UTF-8: {err}"),
        })?;
        let doc = TomlLayer::parse(Origin::EnvVar(REQUIREMENTS_BASE64_ENV), text)?;
        requirements.push(parse_layer(
            RequirementSource::EnvBase64,
            &doc,
            &mut warnings,
        )?);
    }
    Ok(LoadedRequirements {
        requirements,
        warnings,
    })
}

/// Parses one requirements document. Exposed for tests and tools that hold
/// a document in memory.
pub fn parse_requirements(
    source: RequirementSource,
    origin: Origin,
    text: &str,
) -> Result<(RequirementsLayer, Vec<Diagnostic>), RequirementsError> {
    let doc = TomlLayer::parse(origin, text.to_owned())?;
    let mut warnings = Vec::new();
    let layer = parse_layer(source, &doc, &mut warnings)?;
    Ok((layer, warnings))
}

/// The keys a requirements document has at its top.
const TOP_KEYS: &[&str] = &[
    "allowed_approval_policies",
    "allowed_sandbox_modes",
    "audit_log",
    "enforce_residency",
    "mcp_server_allowlist",
    "mcp_server_denylist",
    "mcp_server_search_path",
    "mcp_servers",
    "mcp_tools_lock",
    "rules",
];

/// The keys of a `[mcp_servers.NAME]` rule besides [`RULE_EXTRAS`].
const SERVER_RULE_KEYS: &[&str] = &["identity", "sandbox", "description"];

/// The keys that say what a rule matches.
const IDENTITY_KEYS: &[&str] = &["command", "url", "args"];

/// The keys a rule table may hold beside its identity, read by
/// `Parser::rule_extras`.
const RULE_EXTRAS: &[&str] = &[
    "cwd",
    "allowed_env",
    "sha256",
    "enabled_tools",
    "disabled_tools",
];

fn parse_layer(
    source: RequirementSource,
    doc: &TomlLayer,
    warnings: &mut Vec<Diagnostic>,
) -> Result<RequirementsLayer, RequirementsError> {
    let parser = Parser {
        doc,
        warnings: RefCell::new(warnings),
    };
    let mut layer = RequirementsLayer {
        source,
        allowlist: None,
        denylist: Vec::new(),
        allowed_sandbox_modes: None,
        allowed_approval_policies: None,
        search_path: None,
        tools_lock: None,
        audit_log: None,
        enforce_residency: None,
        command_rules: Vec::new(),
    };
    for (key, value) in &doc.table {
        match key.as_str() {
            "mcp_servers" => {
                let rules = layer.allowlist.get_or_insert_with(Vec::new);
                for (name, rule) in parser.table(&[key], value)? {
                    rules.push(parser.identity_rule(name, rule)?);
                }
            }
            "mcp_server_allowlist" => {
                let rules = layer.allowlist.get_or_insert_with(Vec::new);
                for (name, rule) in parser.table(&[key], value)? {
                    let path = [key.as_str(), name.as_str()];
                    let fields = parser.table(&path, rule)?;
                    let sandbox = parser.rule_sandbox(&path, entry(fields, "sandbox"))?;
                    let extra = parser.rule_extras(&path, fields)?;
                    let identity = parser.rule_identity(&path, fields, |key| {
                        key == "sandbox" || RULE_EXTRAS.contains(&key)
                    })?;
                    let identity = identity.ok_or_else(|| {
                        parser.invalid(
                            &path,
                            &format!(
                                "an allowlist entry needs `command` or `url`{}",
                                Parser::identity_hint(fields)
                            ),
                        )
                    })?;
                    rules.push(parser.allow_rule(
                        &path,
                        name,
                        identity,
                        sandbox,
                        extra,
                        rule_key(key, name),
                    )?);
                }
            }
            "mcp_tools_lock" | "audit_log" => {
                let text = parser.string(&[key], value)?;
                let path = PathBuf::from(&text);
                if !path.is_absolute() {
                    return Err(
                        parser.invalid(&[key], &format!("{text:?} is not an absolute path"))
                    );
                }
                if key == "audit_log" {
                    layer.audit_log = Some(path);
                } else {
                    layer.tools_lock = Some(path);
                }
            }
            "mcp_server_search_path" => {
                let dirs: Vec<String> = parser.values(key, value)?;
                let mut search = Vec::new();
                for dir in dirs {
                    let path = PathBuf::from(&dir);
                    if !path.is_absolute() {
                        return Err(parser
                            .invalid(&[key], &format!("{dir:?} is not an absolute directory")));
                    }
                    search.push(path);
                }
                layer.search_path = Some(search);
            }
            "mcp_server_denylist" => {
                for (name, entry) in parser.table(&[key], value)? {
                    let path = [key.as_str(), name.as_str()];
                    let fields = parser.table(&path, entry)?;
                    layer.denylist.push(DenyRule {
                        name: RuleName::parse(name),
                        identity: parser.rule_identity(&path, fields, |_| false)?,
                        key: rule_key(key, name),
                    });
                }
            }
            "allowed_sandbox_modes" => {
                let modes: Vec<SandboxMode> = parser.values(key, value)?;
                if !modes.contains(&SandboxMode::ReadOnly) {
                    return Err(parser.invalid(
                        &[key],
                        &format!(
                            "must include 'read-only' to allow any sandbox policy (found [{}])",
                            join(&modes)
                        ),
                    ));
                }
                layer.allowed_sandbox_modes = Some(modes);
            }
            "rules" => {
                let source = layer.source.to_string();
                for (inner, rules) in parser.table(&[key], value)? {
                    match inner.as_str() {
                        "prefix_rules" => {
                            layer.command_rules =
                                parser.prefix_rules(&[key, inner], rules, &source)?;
                        }
                        other => parser.unknown(&[key, other], ["prefix_rules"].iter()),
                    }
                }
            }
            "enforce_residency" => {
                layer.enforce_residency = match parser.string(&[key], value)?.as_str() {
                    "us" => Some(Residency::Us),
                    other => {
                        return Err(parser.invalid(
                            &[key],
                            &format!("unknown residency {other:?} (expected \"us\")"),
                        ));
                    }
                };
            }
            "allowed_approval_policies" => {
                let policies: Vec<ApprovalPolicy> = parser.values(key, value)?;
                if policies.is_empty() {
                    return Err(
                        parser.invalid(&[key], "field `allowed_approval_policies` cannot be empty")
                    );
                }
                layer.allowed_approval_policies = Some(policies);
            }
            _ => parser.unknown(&[key], TOP_KEYS.iter()),
        }
    }
    Ok(layer)
}

fn rule_key(table: &str, name: &str) -> String {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        [table, ".", name].concat()
    } else {
        format!("{table}.{name:?}")
    }
}

pub(crate) fn join<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

struct Parser<'a> {
    doc: &'a TomlLayer,
    warnings: RefCell<&'a mut Vec<Diagnostic>>,
}

impl Parser<'_> {
    fn invalid(&self, path: &[&str], message: &str) -> RequirementsError {
        RequirementsError::Invalid {
            location: self.doc.locate(path),
            key: path.join("."),
            message: message.to_owned(),
        }
    }

    /// Warns that the last key of `path` is not one of `known`, and names
    /// the closest of them when it looks like a typo.
    fn unknown<'k>(&self, path: &[&str], known: impl Iterator<Item = &'k &'k str>) {
        let key = path.last().copied().unwrap_or_default();
        let hint = closest(key, known.copied())
            .map(|known| format!("; did you mean `{known}`?"))
            .unwrap_or_default();
        self.warn(
            path,
            format!(
                "unknown requirements key `{}` (ignored{hint})",
                path.join(".")
            ),
        );
    }

    /// What to add to "needs `command` or `url`" when a key of `fields`
    /// looks like a misspelling of one of them.
    fn identity_hint(fields: &toml::Table) -> String {
        fields
            .keys()
            .filter(|key| !IDENTITY_KEYS.contains(&key.as_str()))
            .find_map(|key| {
                closest(key, ["command", "url"].into_iter())
                    .map(|known| format!("; `{key}` is not a known key: did you mean `{known}`?"))
            })
            .unwrap_or_default()
    }

    fn warn(&self, path: &[&str], message: String) {
        self.warnings.borrow_mut().push(Diagnostic {
            location: self.doc.locate(path),
            message,
            kind: DiagnosticKind::Requirements,
        });
    }

    /// `value` read as `T`, or an error at `path` that says what it is.
    fn read<'v, T: Read<'v>>(
        &self,
        path: &[&str],
        value: &'v toml::Value,
    ) -> Result<T, RequirementsError> {
        read(value).map_err(|message| self.invalid(path, &message))
    }

    fn table<'v>(
        &self,
        path: &[&str],
        value: &'v toml::Value,
    ) -> Result<&'v toml::Table, RequirementsError> {
        self.read(path, value)
    }

    fn string(&self, path: &[&str], value: &toml::Value) -> Result<String, RequirementsError> {
        self.read::<&str>(path, value).map(str::to_owned)
    }

    /// An array of strings, each parsed as `T`.
    fn values<T: std::str::FromStr>(
        &self,
        key: &str,
        value: &toml::Value,
    ) -> Result<Vec<T>, RequirementsError>
    where
        T::Err: fmt::Display,
    {
        self.read::<&[toml::Value]>(&[key], value)?
            .iter()
            .map(|item| {
                self.read::<&str>(&[key], item)?
                    .parse::<T>()
                    .map_err(|err| self.invalid(&[key], &err.to_string()))
            })
            .collect()
    }

    /// `prefix_rules = [{ pattern = [...], decision = "...", justification =
    /// "..." }, ...]`. A pattern element is `{ token = "git" }`, `{ any_of =
    /// ["-rf", "-fr"] }`, or the short forms `"git"` and `["-rf", "-fr"]`.
    fn prefix_rules(
        &self,
        path: &[&str],
        value: &toml::Value,
        source: &str,
    ) -> Result<Vec<PrefixRule>, RequirementsError> {
        let items = value
            .as_array()
            .ok_or_else(|| self.invalid(path, "expected an array of rules"))?;
        let mut rules = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let position = index.to_string();
            let mut at = path.to_vec();
            at.push(&position);
            let fields = self.table(&at, item)?;
            let mut pattern = Vec::new();
            let mut decision = None;
            let mut justification = None;
            for (key, value) in fields {
                match key.as_str() {
                    "pattern" => {
                        let elements = value
                            .as_array()
                            .ok_or_else(|| self.invalid(&at, "`pattern` must be an array"))?;
                        for element in elements {
                            pattern.push(self.pattern_token(&at, element)?);
                        }
                    }
                    "decision" => {
                        decision = Some(match self.string(&at, value)?.as_str() {
                            "allow" => Decision::Allow,
                            "prompt" => Decision::Prompt,
                            "forbidden" => Decision::Forbidden,
                            other => {
                                return Err(self.invalid(
                                    &at,
                                    &format!(
                                        "unknown decision {other:?} (expected allow, prompt or forbidden)"
                                    ),
                                ));
                            }
                        });
                    }
                    "justification" => justification = Some(self.string(&at, value)?),
                    other => self.warn(
                        &at,
                        format!("unknown key `{other}` in a prefix rule (ignored)"),
                    ),
                }
            }
            let decision =
                decision.ok_or_else(|| self.invalid(&at, "a prefix rule needs a `decision`"))?;
            let rule = PrefixRule {
                pattern,
                decision,
                justification,
                source: source.to_owned(),
            };
            rule.validate()
                .map_err(|err| self.invalid(&at, &err.to_string()))?;
            rules.push(rule);
        }
        Ok(rules)
    }

    fn pattern_token(
        &self,
        path: &[&str],
        value: &toml::Value,
    ) -> Result<PatternToken, RequirementsError> {
        let alternatives = |items: &Vec<toml::Value>| -> Result<PatternToken, RequirementsError> {
            items
                .iter()
                .map(|item| self.string(path, item))
                .collect::<Result<Vec<_>, _>>()
                .map(PatternToken::AnyOf)
        };
        match value {
            toml::Value::String(token) => Ok(PatternToken::Token(token.clone())),
            toml::Value::Array(items) => alternatives(items),
            toml::Value::Table(table) => match (entry(table, "token"), entry(table, "any_of")) {
                (Some(token), None) => Ok(PatternToken::Token(self.string(path, token)?)),
                (None, Some(toml::Value::Array(items))) => alternatives(items),
                _ => Err(self.invalid(
                    path,
                    "a pattern element is { token = \"...\" } or { any_of = [\"...\", ...] }",
                )),
            },
            other => Err(self.invalid(
                path,
                &format!(
                    "a pattern element is a string, a list or a table, not {}",
                    type_name(other)
                ),
            )),
        }
    }

    /// `[mcp_servers.NAME]` with its `identity` sub-table (Codex's spelling).
    /// `cwd`, `allowed_env` and `sha256` may sit in either table.
    fn identity_rule(
        &self,
        name: &str,
        entry: &toml::Value,
    ) -> Result<AllowRule, RequirementsError> {
        let path = ["mcp_servers", name];
        let fields = self.table(&path, entry)?;
        let mut extra = self.rule_extras(&path, fields)?;
        let mut identity = None;
        let mut sandbox = None;
        for (key, value) in fields {
            match key.as_str() {
                "identity" => {
                    let id_path = ["mcp_servers", name, "identity"];
                    let id_fields = self.table(&id_path, value)?;
                    extra = extra.merge(self.rule_extras(&id_path, id_fields)?);
                    identity = Some(
                        self.rule_identity(&id_path, id_fields, |key| RULE_EXTRAS.contains(&key))?
                            .ok_or_else(|| {
                                self.invalid(
                                    &id_path,
                                    &format!(
                                        "an identity needs `command` or `url`{}",
                                        Self::identity_hint(id_fields)
                                    ),
                                )
                            })?,
                    );
                }
                "sandbox" => {
                    sandbox = self.rule_sandbox(&path, Some(value))?;
                }
                // Accepted by Codex as a human note.
                "description" => {}
                key if RULE_EXTRAS.contains(&key) => {}
                other => self.unknown(
                    &["mcp_servers", name, other],
                    SERVER_RULE_KEYS.iter().chain(RULE_EXTRAS),
                ),
            }
        }
        let identity = identity.ok_or_else(|| self.invalid(&path, "missing field `identity`"))?;
        let key = format!("{}.identity", rule_key("mcp_servers", name));
        self.allow_rule(&path, name, identity, sandbox, extra, key)
    }

    fn allow_rule(
        &self,
        path: &[&str],
        name: &str,
        identity: RuleIdentity,
        sandbox: Option<SandboxMode>,
        extra: RuleExtras,
        key: String,
    ) -> Result<AllowRule, RequirementsError> {
        if matches!(identity, RuleIdentity::Url(_)) {
            let stdio_only = [
                ("sandbox", sandbox.is_some()),
                ("cwd", extra.cwd.is_some()),
                ("allowed_env", extra.allowed_env.is_some()),
                ("sha256", extra.sha256.is_some()),
            ];
            if let Some((field, _)) = stdio_only.iter().find(|(_, set)| *set) {
                return Err(self.invalid(
                    path,
                    &format!("`{field}` goes with `command`: it means nothing for a remote server"),
                ));
            }
        }
        Ok(AllowRule {
            name: RuleName::parse(name),
            identity,
            sandbox,
            cwd: extra.cwd,
            allowed_env: extra.allowed_env,
            sha256: extra.sha256,
            tools: extra.tools,
            key,
        })
    }

    /// Parses the [`RULE_EXTRAS`] of `fields` (`cwd`, `allowed_env`,
    /// `sha256`, `enabled_tools`, `disabled_tools`), which
    /// [`Parser::rule_identity`] is then told to pass over.
    fn rule_extras(
        &self,
        path: &[&str],
        fields: &toml::Table,
    ) -> Result<RuleExtras, RequirementsError> {
        let at = |key: &'static str| {
            let mut full = path.to_vec();
            full.push(key);
            full
        };
        let cwd = match entry(fields, "cwd") {
            None => None,
            Some(value) => {
                let text = self.string(&at("cwd"), value)?;
                let dir = PathBuf::from(&text);
                if !dir.is_absolute() {
                    return Err(self.invalid(
                        &at("cwd"),
                        &format!("{text:?} is not an absolute directory"),
                    ));
                }
                Some(codex_transports::lexical_absolute(&dir))
            }
        };
        let strings = |key: &'static str, value: &toml::Value| -> Result<Vec<String>, _> {
            self.read(&at(key), value)
        };
        let allowed_env = entry(fields, "allowed_env")
            .map(|value| strings("allowed_env", value))
            .transpose()?;
        let sha256 = match entry(fields, "sha256") {
            None => None,
            Some(value) => {
                let digests = strings("sha256", value)?;
                for digest in &digests {
                    let hex = digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit());
                    if !hex {
                        return Err(self.invalid(
                            &at("sha256"),
                            &format!("{digest:?} is not a SHA-256 digest (64 hex digits)"),
                        ));
                    }
                }
                Some(digests.iter().map(|d| d.to_ascii_lowercase()).collect())
            }
        };
        let tools = ToolFilter {
            enabled: entry(fields, "enabled_tools")
                .map(|value| strings("enabled_tools", value))
                .transpose()?,
            disabled: entry(fields, "disabled_tools")
                .map(|value| strings("disabled_tools", value))
                .transpose()?,
        };
        Ok(RuleExtras {
            cwd,
            allowed_env,
            sha256,
            tools,
        })
    }

    /// `sandbox = "read-only" | "workspace-write"` on an allowlist entry.
    fn rule_sandbox(
        &self,
        path: &[&str],
        value: Option<&toml::Value>,
    ) -> Result<Option<SandboxMode>, RequirementsError> {
        let mut at = path.to_vec();
        at.push("sandbox");
        let Some(value) = value else {
            return Ok(None);
        };
        match self.string(&at, value)?.as_str() {
            "read-only" => Ok(Some(SandboxMode::ReadOnly)),
            "workspace-write" => Ok(Some(SandboxMode::WorkspaceWrite)),
            other => Err(self.invalid(
                &at,
                &format!("unknown sandbox {other:?} (expected read-only or workspace-write)"),
            )),
        }
    }

    /// `command` (+ `args`) or `url` from a rule table; `None` if neither.
    /// `url` and each `args` element may be a matcher table. Keys that
    /// `read_elsewhere` accepts are passed over; any other key is warned
    /// about.
    fn rule_identity(
        &self,
        path: &[&str],
        fields: &toml::Table,
        read_elsewhere: impl Fn(&str) -> bool,
    ) -> Result<Option<RuleIdentity>, RequirementsError> {
        fn at<'k>(path: &[&'k str], key: &'k str) -> Vec<&'k str> {
            let mut full = path.to_vec();
            full.push(key);
            full
        }
        let mut command = None;
        let mut url = None;
        let mut args = None;
        for (key, value) in fields {
            match key.as_str() {
                "command" => command = Some(self.string(&at(path, key), value)?),
                "url" => url = Some(self.url_matcher(&at(path, key), value)?),
                "args" => {
                    let items = value.as_array().ok_or_else(|| {
                        self.invalid(&at(path, key), "expected an array of strings or matchers")
                    })?;
                    args = Some(
                        items
                            .iter()
                            .map(|item| self.value_matcher(&at(path, key), item))
                            .collect::<Result<Vec<_>, _>>()?,
                    );
                }
                other if read_elsewhere(other) => {}
                other => self.unknown(
                    &at(path, other),
                    IDENTITY_KEYS
                        .iter()
                        .chain(RULE_EXTRAS)
                        .filter(|known| IDENTITY_KEYS.contains(known) || read_elsewhere(known)),
                ),
            }
        }
        match (command, url, args) {
            (Some(_), Some(_), _) => {
                Err(self.invalid(path, "a rule names either `command` or `url`, not both"))
            }
            (None, Some(_), Some(_)) => {
                Err(self.invalid(&at(path, "args"), "`args` goes with `command`, not `url`"))
            }
            (Some(command), None, args) => Ok(Some(RuleIdentity::Command { command, args })),
            (None, Some(url), None) => Ok(Some(RuleIdentity::Url(url))),
            (None, None, Some(_)) => Err(self.invalid(&at(path, "args"), "`args` needs `command`")),
            (None, None, None) => Ok(None),
        }
    }

    /// A plain string, or `{ match = "exact" | "prefix", value = ... }`, or
    /// `{ match = "regex", expression = ... }`: (kind, text).
    fn matcher_parts(
        &self,
        path: &[&str],
        value: &toml::Value,
    ) -> Result<(String, String), RequirementsError> {
        let table = match value {
            toml::Value::String(text) => return Ok(("exact".to_owned(), text.clone())),
            toml::Value::Table(table) => table,
            other => {
                return Err(self.invalid(
                    path,
                    &format!(
                        "expected a string or a matcher table, found {}",
                        type_name(other)
                    ),
                ));
            }
        };
        let kind = match entry(table, "match") {
            Some(kind) => self.string(path, kind)?,
            None => return Err(self.invalid(path, "a matcher table needs `match`")),
        };
        let key = match kind.as_str() {
            "exact" | "prefix" => "value",
            "regex" => "expression",
            other => {
                return Err(self.invalid(
                    path,
                    &format!("unknown matcher {other:?} (expected exact, prefix or regex)"),
                ));
            }
        };
        for extra in table.keys().filter(|k| *k != "match" && *k != key) {
            self.warn(
                path,
                format!(
                    "unknown matcher key `{extra}` in {} (ignored)",
                    path.join(".")
                ),
            );
        }
        let text = match table.get(key) {
            Some(text) => self.string(path, text)?,
            None => {
                return Err(self.invalid(path, &format!("a `{kind}` matcher needs `{key}`")));
            }
        };
        Ok((kind, text))
    }

    fn pattern(&self, path: &[&str], expression: &str) -> Result<Pattern, RequirementsError> {
        Pattern::new(expression).map_err(|err| {
            self.invalid(
                path,
                &format!(
                    "invalid regex for server `{}`: {err}",
                    path.get(1).unwrap_or(&"?")
                ),
            )
        })
    }

    fn value_matcher(
        &self,
        path: &[&str],
        value: &toml::Value,
    ) -> Result<ValueMatcher, RequirementsError> {
        let (kind, text) = self.matcher_parts(path, value)?;
        Ok(match kind.as_str() {
            "prefix" => ValueMatcher::Prefix(text),
            "regex" => ValueMatcher::Regex(self.pattern(path, &text)?),
            _ => ValueMatcher::Exact(text),
        })
    }

    fn url_matcher(
        &self,
        path: &[&str],
        value: &toml::Value,
    ) -> Result<UrlMatcher, RequirementsError> {
        let (kind, text) = self.matcher_parts(path, value)?;
        if kind == "regex" {
            return Ok(UrlMatcher::Regex(self.pattern(path, &text)?));
        }
        let canonical =
            CanonicalUrl::parse(&text).map_err(|err| self.invalid(path, &err.to_string()))?;
        Ok(if kind == "prefix" {
            UrlMatcher::Prefix(canonical)
        } else {
            UrlMatcher::Exact(canonical)
        })
    }
}

/// The checks of an allowlist entry besides its identity.
#[derive(Debug, Default)]
struct RuleExtras {
    cwd: Option<PathBuf>,
    allowed_env: Option<Vec<String>>,
    sha256: Option<Vec<String>>,
    tools: ToolFilter,
}

impl RuleExtras {
    /// Fields set in `other` (the identity table) win.
    fn merge(self, other: RuleExtras) -> RuleExtras {
        RuleExtras {
            cwd: other.cwd.or(self.cwd),
            allowed_env: other.allowed_env.or(self.allowed_env),
            sha256: other.sha256.or(self.sha256),
            tools: ToolFilter {
                enabled: other.tools.enabled.or(self.tools.enabled),
                disabled: other.tools.disabled.or(self.tools.disabled),
            },
        }
    }
}

#[cfg(test)]
mod tests;
