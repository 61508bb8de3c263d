//! The shape of `requirements.toml` as types, for its JSON Schema (`codex
//! debug schema requirements`). The parser (`requirements.rs`) is the
//! authority; a test validates every example document against this
//! schema and loads it through the parser, so the two cannot drift apart
//! unnoticed.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde_json::Value;

/// An admin's `requirements.toml`.
#[derive(JsonSchema)]
#[schemars(title = "codex requirements.toml", deny_unknown_fields)]
#[allow(dead_code)]
struct RequirementsFile {
    /// The MCP allowlist in Codex's spelling: each entry has an
    /// `identity`. `"*"` stands for any name without an entry of its own.
    mcp_servers: Option<BTreeMap<String, CodexEntry>>,
    /// The MCP allowlist, flat: `command` or `url` on the entry. An empty
    /// table allows no server.
    mcp_server_allowlist: Option<BTreeMap<String, AllowEntry>>,
    /// Servers denied by name, and optionally by identity.
    mcp_server_denylist: Option<BTreeMap<String, DenyEntry>>,
    /// Sandbox modes users may choose; must include `read-only`. The first
    /// is the default.
    #[schemars(length(min = 1))]
    allowed_sandbox_modes: Option<Vec<SandboxMode>>,
    /// Approval policies users may choose. The first is the default.
    #[schemars(length(min = 1))]
    allowed_approval_policies: Option<Vec<ApprovalPolicy>>,
    /// Where a bare command of an allowed server is looked up (absolute
    /// directories), and the `PATH` it gets.
    mcp_server_search_path: Option<Vec<String>>,
    /// A tool lock (absolute path) that replaces the user's.
    mcp_tools_lock: Option<String>,
    /// Where every decision is appended as a JSON line (absolute path).
    audit_log: Option<String>,
    /// Send every model request with this residency.
    enforce_residency: Option<Residency>,
    /// Command rules.
    rules: Option<Rules>,
}

#[derive(JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[allow(dead_code)]
enum SandboxMode {
    ReadOnly,
    WorkspaceWrite,
    DangerFullAccess,
    ExternalSandbox,
}

#[derive(JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[allow(dead_code)]
enum ApprovalPolicy {
    Untrusted,
    OnFailure,
    OnRequest,
    Never,
}

#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum Residency {
    Us,
}

/// The sandbox an allowed stdio server must run in.
#[derive(JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[allow(dead_code)]
enum ServerSandbox {
    ReadOnly,
    WorkspaceWrite,
}

/// A string matched exactly, or a matcher.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum ValueMatcher {
    Exact(String),
    Matcher(Matcher),
}

/// `{ match = "exact" | "prefix", value = ... }` or
/// `{ match = "regex", expression = ... }` (anchored; `regex-lite` syntax, as Codex).
#[derive(JsonSchema)]
#[serde(tag = "match", rename_all = "lowercase")]
#[allow(dead_code)]
enum Matcher {
    Exact { value: String },
    Prefix { value: String },
    Regex { expression: String },
}

/// An allowlist entry, flat (`mcp_server_allowlist.NAME`): exactly one of
/// `command` and `url`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
struct AllowEntry {
    /// The program, as configured.
    command: Option<String>,
    /// The server's URL (`http` or `https`).
    url: Option<ValueMatcher>,
    /// The arguments, each exact or a matcher; the count must match.
    args: Option<Vec<ValueMatcher>>,
    /// The sandbox it must run in.
    sandbox: Option<ServerSandbox>,
    /// The working directory it must run in (absolute).
    cwd: Option<String>,
    /// The only variables it may be given.
    allowed_env: Option<Vec<String>>,
    /// SHA-256 digests its executable must have (64 hex digits).
    sha256: Option<Vec<String>>,
    /// Only these tools.
    enabled_tools: Option<Vec<String>>,
    /// Not these tools.
    disabled_tools: Option<Vec<String>>,
}

/// An allowlist entry in Codex's spelling (`mcp_servers.NAME`).
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
struct CodexEntry {
    /// What the server is.
    identity: Identity,
    /// The sandbox it must run in.
    sandbox: Option<ServerSandbox>,
    /// Free text.
    description: Option<Value>,
    cwd: Option<String>,
    allowed_env: Option<Vec<String>>,
    sha256: Option<Vec<String>>,
    enabled_tools: Option<Vec<String>>,
    disabled_tools: Option<Vec<String>>,
}

/// `mcp_servers.NAME.identity`: exactly one of `command` and `url`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
struct Identity {
    command: Option<String>,
    url: Option<ValueMatcher>,
    args: Option<Vec<ValueMatcher>>,
    cwd: Option<String>,
    allowed_env: Option<Vec<String>>,
    sha256: Option<Vec<String>>,
    enabled_tools: Option<Vec<String>>,
    disabled_tools: Option<Vec<String>>,
}

/// A denylist entry: the name alone, or the name and an identity.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
struct DenyEntry {
    command: Option<String>,
    url: Option<ValueMatcher>,
    args: Option<Vec<ValueMatcher>>,
}

/// `[rules]`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
struct Rules {
    /// Command prefixes and what to do with them.
    prefix_rules: Option<Vec<PrefixRule>>,
}

/// One prefix rule.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
struct PrefixRule {
    /// The command's first words; each a word, or its alternatives.
    #[schemars(length(min = 1))]
    pattern: Vec<PatternToken>,
    /// What a matching command gets.
    decision: Decision,
    /// Shown with the decision.
    justification: Option<String>,
}

#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum PatternToken {
    Word(String),
    AnyOf(Vec<String>),
    Token { token: String },
    AnyOfTable { any_of: Vec<String> },
}

#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum Decision {
    Allow,
    Prompt,
    Forbidden,
}

/// The JSON Schema (draft 2020-12) of `requirements.toml`.
pub fn requirements_schema() -> Value {
    serde_json::to_value(schemars::schema_for!(RequirementsFile)).unwrap_or(Value::Null)
}
