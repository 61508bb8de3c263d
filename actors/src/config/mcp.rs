//! `[mcp_servers.NAME]` tables: validation into [`McpServerConfig`].
//!
//! The rules follow Codex: `command` means stdio, `url` means streamable
//! HTTP, an explicit `transport` may choose `sse`; fields of the other
//! transport are errors; unknown keys are reported as warnings.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use codex_transports::{CanonicalUrl, HttpConfig, StdioConfig, TransportConfig, TransportKind};

use super::fields::{FieldProblem, Fields, entry, type_name};

/// The most restarts `max_restarts` may allow in its window.
const MAX_RESTARTS: i64 = 10_000;

/// One configured MCP server, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct McpServerConfig {
    /// How to reach it.
    pub transport: TransportConfig,
    /// `enabled = false` in config: the user turned it off.
    pub enabled: bool,
    /// A failure to start fails the whole session.
    pub required: bool,
    /// Bound on `initialize` plus the first `tools/list`.
    pub startup_timeout: Option<Duration>,
    /// Bound on each tool call.
    pub tool_timeout: Option<Duration>,
    /// Only these tools are exposed, when set.
    pub enabled_tools: Option<Vec<String>>,
    /// These tools are hidden, applied after `enabled_tools`.
    pub disabled_tools: Option<Vec<String>>,
    /// How the session restarts this server when it crashes.
    pub restart: RestartPolicy,
    /// Run this stdio server inside the sandbox (`sandbox = "read-only"` or
    /// `"workspace-write"`); `None` runs it as a plain process.
    pub sandbox: Option<super::SandboxMode>,
    /// How `codex mcp login` logs in to this HTTP server.
    pub oauth: OAuthSettings,
    /// `default_tools_approval_mode` and `[mcp_servers.NAME.tools.TOOL]
    /// approval_mode`: whether a call the model makes needs approval.
    pub approvals: ToolApprovals,
    /// When the server starts: with the session, or on its first call
    /// (`startup`, else the top-level `mcp_startup`).
    pub startup: Startup,
}

/// When a server starts (`startup` per server, `mcp_startup` for all).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Startup {
    /// With the session: a turn waits for its first attempt.
    #[default]
    Eager,
    /// On its first call, when a tool lock in force pins its tools (which
    /// the model is offered meanwhile); else eagerly. A `required` server
    /// is always eager.
    Lazy,
}

impl std::str::FromStr for Startup {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "eager" => Ok(Startup::Eager),
            "lazy" => Ok(Startup::Lazy),
            other => Err(format!(
                "unknown startup {other:?} (expected eager or lazy)"
            )),
        }
    }
}

impl std::fmt::Display for Startup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Startup::Eager => "eager",
            Startup::Lazy => "lazy",
        })
    }
}

/// How calls to a server's tools are approved (Codex's
/// `default_tools_approval_mode` and per-tool `approval_mode`). This
/// concerns the calls the model makes; a user's own `codex mcp call` needs
/// no approval.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolApprovals {
    /// `default_tools_approval_mode`, when set.
    pub default: Option<ApprovalMode>,
    /// `tools.TOOL.approval_mode`, by tool.
    pub tools: BTreeMap<String, ApprovalMode>,
}

impl ToolApprovals {
    /// Whether a model's call to `tool` needs approval, given whether the
    /// server annotates it `readOnlyHint: true`. The tool's own mode wins
    /// over the server's default; without either, only read-only tools run
    /// unasked.
    pub fn needs_approval(&self, tool: &str, read_only: bool) -> bool {
        match self.tools.get(tool).or(self.default.as_ref()) {
            Some(ApprovalMode::Approve) => false,
            Some(ApprovalMode::Prompt) => true,
            Some(ApprovalMode::Auto | ApprovalMode::Writes) | None => !read_only,
        }
    }
}

/// One approval mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalMode {
    /// Read-only tools (by their annotation) run; others need approval.
    Auto,
    /// Every call needs approval.
    Prompt,
    /// Calls that may write need approval (the same test as `auto`: a tool
    /// not annotated read-only may write).
    Writes,
    /// Calls run without approval.
    Approve,
}

impl std::str::FromStr for ApprovalMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "auto" => Ok(ApprovalMode::Auto),
            "prompt" => Ok(ApprovalMode::Prompt),
            "writes" => Ok(ApprovalMode::Writes),
            "approve" => Ok(ApprovalMode::Approve),
            other => Err(format!(
                "unknown approval mode {other:?} (expected auto, prompt, writes or approve)"
            )),
        }
    }
}

impl std::fmt::Display for ApprovalMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ApprovalMode::Auto => "auto",
            ApprovalMode::Prompt => "prompt",
            ApprovalMode::Writes => "writes",
            ApprovalMode::Approve => "approve",
        })
    }
}

/// OAuth settings of an HTTP server: `scopes`, `oauth_client_id` (or
/// `oauth.client_id`), `oauth_client_secret_env_var` (or
/// `oauth.client_secret_env_var`) and `oauth_resource`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OAuthSettings {
    /// The scopes to ask for (`--scopes` wins).
    pub scopes: Option<Vec<String>>,
    /// A client registered beforehand at the authorization server.
    pub client_id: Option<String>,
    /// The variable that holds that client's secret (never in config).
    pub client_secret_env_var: Option<String>,
    /// The RFC 8707 resource, when the server's metadata does not say.
    pub resource: Option<String>,
    /// A client ID metadata document (an HTTPS URL the user hosts), used as
    /// the client id where the authorization server supports them.
    pub client_metadata_url: Option<String>,
}

impl McpServerConfig {
    /// A server reached through `transport`, with every other setting at its
    /// default (what `codex mcp add` writes).
    pub fn new(transport: TransportConfig) -> Self {
        McpServerConfig {
            transport,
            enabled: true,
            required: false,
            startup_timeout: None,
            tool_timeout: None,
            enabled_tools: None,
            disabled_tools: None,
            restart: RestartPolicy::default(),
            sandbox: None,
            oauth: OAuthSettings::default(),
            approvals: ToolApprovals::default(),
            startup: Startup::Eager,
        }
    }

    /// Whether `other` starts the same way: everything but the tool
    /// filters, approval modes and startup, which apply to a running server
    /// without a restart.
    pub fn same_launch(&self, other: &McpServerConfig) -> bool {
        let strip = |config: &McpServerConfig| McpServerConfig {
            enabled_tools: None,
            disabled_tools: None,
            approvals: ToolApprovals::default(),
            startup: Startup::Eager,
            ..config.clone()
        };
        strip(self) == strip(other)
    }
}

/// Per-server restart settings (`restart`, `max_restarts`,
/// `restart_window_sec`, `restart_backoff_ms`, `restart_backoff_max_ms`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RestartPolicy {
    /// `permanent` (default), `transient` or `temporary`.
    pub kind: codex_runtime::Restart,
    /// More restarts than this within `window` mark the server failed.
    pub max_restarts: u32,
    /// The sliding window for `max_restarts`.
    pub window: Duration,
    /// The first backoff delay; it doubles up to `backoff_max`.
    pub backoff_initial: Duration,
    /// The largest backoff delay.
    pub backoff_max: Duration,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        RestartPolicy {
            kind: codex_runtime::Restart::Permanent,
            max_restarts: 3,
            window: Duration::from_secs(60),
            backoff_initial: Duration::from_millis(200),
            backoff_max: Duration::from_secs(10),
        }
    }
}

/// Keys Codex accepts that this runtime parses but does not act on.
const ACCEPTED_IGNORED: &[&str] = &[
    "name",
    "description",
    "supports_parallel_tool_calls",
    "environment_id",
    "auth",
];

const STDIO_ONLY: &[&str] = &["args", "env", "env_vars", "cwd", "sandbox"];
const HTTP_ONLY: &[&str] = &[
    "bearer_token_env_var",
    "http_headers",
    "env_http_headers",
    "scopes",
    "oauth",
    "oauth_client_id",
    "oauth_client_secret_env_var",
    "oauth_client_metadata_url",
    "oauth_resource",
];
const COMMON: &[&str] = &[
    "transport",
    "startup",
    "enabled",
    "required",
    "startup_timeout_sec",
    "startup_timeout_ms",
    "tool_timeout_sec",
    "enabled_tools",
    "disabled_tools",
    "default_tools_approval_mode",
    "tools",
    "restart",
    "max_restarts",
    "restart_window_sec",
    "restart_backoff_ms",
    "restart_backoff_max_ms",
];

/// Validates one server table, whose `startup` defaults to eager. Returns
/// the config and the paths of keys it ignored (for warnings), or the
/// first problem found.
#[cfg(test)]
pub(crate) fn resolve_server(
    name: &str,
    value: &toml::Value,
) -> Result<(McpServerConfig, Vec<Vec<String>>), FieldProblem> {
    resolve_server_in(name, value, Startup::Eager)
}

/// [`resolve_server`], where `startup` defaults to `default_startup` (the
/// top-level `mcp_startup`).
pub(crate) fn resolve_server_in(
    name: &str,
    value: &toml::Value,
    default_startup: Startup,
) -> Result<(McpServerConfig, Vec<Vec<String>>), FieldProblem> {
    let base = ["mcp_servers", name];
    let fields = Fields::new(&base);
    let Some(table) = value.as_table() else {
        return Err(fields.problem(&[], format!("expected a table, found {}", type_name(value))));
    };
    let kind = transport_kind(&fields, table)?;
    let wrong_side: &[&str] = match kind {
        TransportKind::Stdio => HTTP_ONLY,
        TransportKind::StreamableHttp | TransportKind::Sse => STDIO_ONLY,
    };
    let wrong_key = match kind {
        TransportKind::Stdio => "url",
        TransportKind::StreamableHttp | TransportKind::Sse => "command",
    };
    for key in std::iter::once(&wrong_key)
        .chain(wrong_side)
        .chain(&["bearer_token"])
    {
        if entry(table, key).is_some() {
            let hint = if *key == "bearer_token" {
                " (set bearer_token_env_var instead)"
            } else {
                ""
            };
            return Err(fields.problem(&[key], format!("{key} is not supported for {kind}{hint}")));
        }
    }

    let transport = match kind {
        TransportKind::Stdio => TransportConfig::Stdio(StdioConfig {
            command: fields.string(table, "command")?.unwrap_or_default(),
            args: fields.strings(table, "args")?.unwrap_or_default(),
            env: fields.string_map(table, "env")?.unwrap_or_default(),
            env_vars: fields.strings(table, "env_vars")?.unwrap_or_default(),
            cwd: fields
                .string(table, "cwd")?
                .filter(|cwd| !cwd.is_empty())
                .map(PathBuf::from),
        }),
        TransportKind::StreamableHttp | TransportKind::Sse => {
            let url = fields.string(table, "url")?.unwrap_or_default();
            let canonical_url = CanonicalUrl::parse(&url)
                .map_err(|err| fields.problem(&["url"], err.to_string()))?;
            let http = HttpConfig {
                url,
                canonical_url,
                bearer_token_env_var: fields.string(table, "bearer_token_env_var")?,
                http_headers: fields
                    .string_map(table, "http_headers")?
                    .unwrap_or_default(),
                env_http_headers: fields
                    .string_map(table, "env_http_headers")?
                    .unwrap_or_default(),
            };
            if kind == TransportKind::Sse {
                TransportConfig::Sse(http)
            } else {
                TransportConfig::StreamableHttp(http)
            }
        }
    };
    if let TransportConfig::Stdio(stdio) = &transport
        && stdio.command.is_empty()
    {
        return Err(fields.problem(&["command"], "command must not be empty".to_owned()));
    }

    let startup_timeout = match fields.seconds(table, "startup_timeout_sec")? {
        Some(duration) => Some(duration),
        None => fields.millis(table, "startup_timeout_ms")?,
    };
    let config = McpServerConfig {
        transport,
        enabled: fields.boolean(table, "enabled")?.unwrap_or(true),
        required: fields.boolean(table, "required")?.unwrap_or(false),
        startup_timeout,
        tool_timeout: fields.seconds(table, "tool_timeout_sec")?,
        enabled_tools: fields.strings(table, "enabled_tools")?,
        disabled_tools: fields.strings(table, "disabled_tools")?,
        restart: restart_policy(&fields, table)?,
        sandbox: server_sandbox(&fields, table)?,
        oauth: oauth_settings(&fields, table)?,
        approvals: tool_approvals(&fields, table)?,
        startup: fields
            .string(table, "startup")?
            .map(|text| {
                text.parse::<Startup>()
                    .map_err(|err| fields.problem(&["startup"], err))
            })
            .transpose()?
            .unwrap_or(default_startup),
    };

    let ignored = table
        .keys()
        .filter(|key| {
            let key = key.as_str();
            !(COMMON.contains(&key)
                || STDIO_ONLY.contains(&key)
                || HTTP_ONLY.contains(&key)
                || ACCEPTED_IGNORED.contains(&key)
                || key == "command"
                || key == "url")
        })
        .map(|key| fields.path(&[key]))
        .collect();
    Ok((config, ignored))
}

/// `default_tools_approval_mode` and `[tools.TOOL] approval_mode`.
fn tool_approvals(fields: &Fields, table: &toml::Table) -> Result<ToolApprovals, FieldProblem> {
    let mode = |fields: &Fields, table: &toml::Table, key: &str| {
        fields
            .string(table, key)?
            .map(|text| {
                text.parse::<ApprovalMode>()
                    .map_err(|err| fields.problem(&[key], format!("{key}: {err}")))
            })
            .transpose()
    };
    let default = mode(fields, table, "default_tools_approval_mode")?;
    let mut tools = BTreeMap::new();
    match entry(table, "tools") {
        None => {}
        Some(toml::Value::Table(entries)) => {
            for (tool, entry) in entries {
                let inner = fields.nested(&["tools", tool]);
                let Some(entry) = entry.as_table() else {
                    return Err(
                        inner.problem(&[], format!("expected a table, found {}", type_name(entry)))
                    );
                };
                if let Some(approval) = mode(&inner, entry, "approval_mode")? {
                    tools.insert(tool.clone(), approval);
                }
            }
        }
        Some(other) => {
            return Err(fields.problem(
                &["tools"],
                format!("tools: expected a table, found {}", type_name(other)),
            ));
        }
    }
    Ok(ToolApprovals { default, tools })
}

fn oauth_settings(fields: &Fields, table: &toml::Table) -> Result<OAuthSettings, FieldProblem> {
    let nested = match entry(table, "oauth") {
        None => None,
        Some(toml::Value::Table(nested)) => Some(nested),
        Some(other) => {
            return Err(fields.problem(
                &["oauth"],
                format!("expected a table, found {}", type_name(other)),
            ));
        }
    };
    let either = |flat: &str, key: &str| -> Result<Option<String>, FieldProblem> {
        match fields.string(table, flat)? {
            Some(value) => Ok(Some(value)),
            None => match nested {
                Some(nested) => fields.nested(&["oauth"]).string(nested, key),
                None => Ok(None),
            },
        }
    };
    Ok(OAuthSettings {
        scopes: fields.strings(table, "scopes")?,
        client_id: either("oauth_client_id", "client_id")?,
        client_secret_env_var: either("oauth_client_secret_env_var", "client_secret_env_var")?,
        resource: fields.string(table, "oauth_resource")?,
        client_metadata_url: either("oauth_client_metadata_url", "client_metadata_url")?,
    })
}

fn server_sandbox(
    fields: &Fields,
    table: &toml::Table,
) -> Result<Option<super::SandboxMode>, FieldProblem> {
    use super::SandboxMode;
    match fields.string(table, "sandbox")?.as_deref() {
        None | Some("danger-full-access") => Ok(None),
        Some("read-only") => Ok(Some(SandboxMode::ReadOnly)),
        Some("workspace-write") => Ok(Some(SandboxMode::WorkspaceWrite)),
        Some(other) => Err(fields.problem(
            &["sandbox"],
            format!(
                "sandbox: unknown value {other:?} (expected read-only, workspace-write or danger-full-access)"
            ),
        )),
    }
}

fn restart_policy(fields: &Fields, table: &toml::Table) -> Result<RestartPolicy, FieldProblem> {
    let defaults = RestartPolicy::default();
    let kind = match fields.string(table, "restart")?.as_deref() {
        None => defaults.kind,
        Some("permanent") => codex_runtime::Restart::Permanent,
        Some("transient") => codex_runtime::Restart::Transient,
        Some("temporary") => codex_runtime::Restart::Temporary,
        Some(other) => {
            return Err(fields.problem(
                &["restart"],
                format!(
                    "restart: unknown value {other:?} (expected permanent, transient or temporary)"
                ),
            ));
        }
    };
    let millis = |key: &str, default: Duration| -> Result<Duration, FieldProblem> {
        Ok(fields.millis(table, key)?.unwrap_or(default))
    };
    Ok(RestartPolicy {
        kind,
        max_restarts: match fields.integer(table, "max_restarts")? {
            Some(n) if n <= MAX_RESTARTS => n as u32,
            Some(n) => {
                return Err(fields.problem(
                    &["max_restarts"],
                    format!("max_restarts: {n} is out of range (0 to {MAX_RESTARTS})"),
                ));
            }
            None => defaults.max_restarts,
        },
        window: fields
            .seconds(table, "restart_window_sec")?
            .unwrap_or(defaults.window),
        backoff_initial: millis("restart_backoff_ms", defaults.backoff_initial)?,
        backoff_max: millis("restart_backoff_max_ms", defaults.backoff_max)?,
    })
}

fn transport_kind(fields: &Fields, table: &toml::Table) -> Result<TransportKind, FieldProblem> {
    let explicit = match fields.string(table, "transport")? {
        Some(text) => Some(
            text.parse::<TransportKind>()
                .map_err(|err| fields.problem(&["transport"], err.to_string()))?,
        ),
        None => None,
    };
    let has_command = entry(table, "command").is_some();
    let has_url = entry(table, "url").is_some();
    match (explicit, has_command, has_url) {
        (Some(kind), _, _) => {
            let needed = if kind.is_remote() { "url" } else { "command" };
            if entry(table, needed).is_some() {
                Ok(kind)
            } else {
                Err(fields.problem(&["transport"], format!("transport {kind} needs `{needed}`")))
            }
        }
        (None, true, _) => Ok(TransportKind::Stdio),
        (None, false, true) => Ok(TransportKind::StreamableHttp),
        (None, false, false) => {
            // Say why, and name a likely typo.
            let typo = table.keys().find_map(|key| {
                ["command", "url"]
                    .into_iter()
                    .find(|known| strsim::damerau_levenshtein(key, known) <= 2)
                    .map(|known| (key, known))
            });
            let message = match typo {
                Some((key, known)) => format!(
                    "needs `command` (a stdio server) or `url` (an HTTP server); `{key}` is not a \
                     known key: did you mean `{known}`?"
                ),
                None => "needs `command` (a stdio server) or `url` (an HTTP server)".to_owned(),
            };
            match typo {
                Some((key, _)) => Err(fields.problem(&[key.as_str()], message)),
                None => Err(fields.problem(&[], message)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    /// Resolves `[mcp_servers.s]` from `toml` and renders the outcome.
    #[track_caller]
    fn check(toml: &str, expect: Expect) {
        let table: toml::Table = toml.parse().expect("valid toml");
        let rendered = match resolve_server("s", &toml::Value::Table(table)) {
            Ok((config, ignored)) => {
                let mut out = format!("{config:?}");
                for path in ignored {
                    out.push_str(&format!("\nignored: {}", path.join(".")));
                }
                out
            }
            Err(problem) => format!("error at {}: {}", problem.path.join("."), problem.message),
        };
        expect.assert_eq(&rendered);
    }

    #[test]
    fn stdio_and_http_shapes() {
        check(
            r#"command = "docs"
args = ["--port", "4000"]
env = { TOKEN = "x" }
env_vars = ["HOME2"]
cwd = "/srv"
startup_timeout_ms = 2500
tool_timeout_sec = 1.5
enabled_tools = ["a"]"#,
            expect![[
                r#"McpServerConfig { transport: Stdio(StdioConfig { command: "docs", args: ["--port", "4000"], env: {"TOKEN": "x"}, env_vars: ["HOME2"], cwd: Some("/srv") }), enabled: true, required: false, startup_timeout: Some(2.5s), tool_timeout: Some(1.5s), enabled_tools: Some(["a"]), disabled_tools: None, restart: RestartPolicy { kind: Permanent, max_restarts: 3, window: 60s, backoff_initial: 200ms, backoff_max: 10s }, sandbox: None, oauth: OAuthSettings { scopes: None, client_id: None, client_secret_env_var: None, resource: None, client_metadata_url: None }, approvals: ToolApprovals { default: None, tools: {} }, startup: Eager }"#
            ]],
        );
        check(
            r#"url = "https://H/mcp"
bearer_token_env_var = "TOK"
enabled = false
required = true
startup_timeout_sec = 3
startup_timeout_ms = 1"#,
            expect![[
                r#"McpServerConfig { transport: StreamableHttp(HttpConfig { url: "https://H/mcp", canonical_url: CanonicalUrl { url: Url { scheme: "https", cannot_be_a_base: false, username: "", password: None, host: Some(Domain("h")), port: None, path: "/mcp", query: None, fragment: None }, has_userinfo: false }, bearer_token_env_var: Some("TOK"), http_headers: {}, env_http_headers: {} }), enabled: false, required: true, startup_timeout: Some(3s), tool_timeout: None, enabled_tools: None, disabled_tools: None, restart: RestartPolicy { kind: Permanent, max_restarts: 3, window: 60s, backoff_initial: 200ms, backoff_max: 10s }, sandbox: None, oauth: OAuthSettings { scopes: None, client_id: None, client_secret_env_var: None, resource: None, client_metadata_url: None }, approvals: ToolApprovals { default: None, tools: {} }, startup: Eager }"#
            ]],
        );
    }

    #[test]
    fn explicit_transport() {
        check(
            r#"transport = "sse"
url = "http://127.0.0.1:1/sse""#,
            expect![[
                r#"McpServerConfig { transport: Sse(HttpConfig { url: "http://127.0.0.1:1/sse", canonical_url: CanonicalUrl { url: Url { scheme: "http", cannot_be_a_base: false, username: "", password: None, host: Some(Ipv4(127.0.0.1)), port: Some(1), path: "/sse", query: None, fragment: None }, has_userinfo: false }, bearer_token_env_var: None, http_headers: {}, env_http_headers: {} }), enabled: true, required: false, startup_timeout: None, tool_timeout: None, enabled_tools: None, disabled_tools: None, restart: RestartPolicy { kind: Permanent, max_restarts: 3, window: 60s, backoff_initial: 200ms, backoff_max: 10s }, sandbox: None, oauth: OAuthSettings { scopes: None, client_id: None, client_secret_env_var: None, resource: None, client_metadata_url: None }, approvals: ToolApprovals { default: None, tools: {} }, startup: Eager }"#
            ]],
        );
        check(
            r#"transport = "websocket"
url = "http://h/""#,
            expect![[
                r#"error at mcp_servers.s.transport: unknown transport "websocket" (expected one of stdio, streamable_http, sse)"#
            ]],
        );
        check(
            r#"transport = "stdio"
url = "http://h/""#,
            expect!["error at mcp_servers.s.transport: transport stdio needs `command`"],
        );
        check(
            r#"transport = "sse"
command = "x"
url = "http://h/""#,
            expect!["error at mcp_servers.s.command: command is not supported for sse"],
        );
    }

    #[test]
    fn codex_validation_errors() {
        check(
            "command = \"a\"\nurl = \"http://h/\"",
            expect!["error at mcp_servers.s.url: url is not supported for stdio"],
        );
        check(
            "enabled = true",
            expect![
                "error at mcp_servers.s: needs `command` (a stdio server) or `url` (an HTTP server)"
            ],
        );
        check(
            "command = \"a\"\nhttp_headers = {}",
            expect!["error at mcp_servers.s.http_headers: http_headers is not supported for stdio"],
        );
        check(
            "url = \"http://h/\"\nenv = {}",
            expect!["error at mcp_servers.s.env: env is not supported for streamable_http"],
        );
        check(
            "url = \"http://h/\"\nbearer_token = \"x\"",
            expect![
                "error at mcp_servers.s.bearer_token: bearer_token is not supported for streamable_http (set bearer_token_env_var instead)"
            ],
        );
        check(
            "command = \"a\"\nbearer_token = \"x\"",
            expect![
                "error at mcp_servers.s.bearer_token: bearer_token is not supported for stdio (set bearer_token_env_var instead)"
            ],
        );
    }

    #[test]
    fn type_errors_name_the_field() {
        check(
            "command = \"a\"\nargs = [\"x\", 1]",
            expect![
                "error at mcp_servers.s.args: args: expected an array of strings, found an integer"
            ],
        );
        check(
            "command = 3",
            expect!["error at mcp_servers.s.command: command: expected a string, found an integer"],
        );
        check(
            "command = \"a\"\nenv = { K = 1 }",
            expect!["error at mcp_servers.s.env.K: env.K: expected a string, found an integer"],
        );
        check(
            "command = \"a\"\ntool_timeout_sec = -1",
            expect![
                "error at mcp_servers.s.tool_timeout_sec: tool_timeout_sec: -1 is out of range (0 to 604800 seconds)"
            ],
        );
        check(
            "command = \"a\"\ntool_timeout_sec = nan",
            expect![
                "error at mcp_servers.s.tool_timeout_sec: tool_timeout_sec: NaN is out of range (0 to 604800 seconds)"
            ],
        );
        check(
            "command = \"\"",
            expect!["error at mcp_servers.s.command: command must not be empty"],
        );
        check(
            "url = \"ftp://h/\"",
            expect![[
                r#"error at mcp_servers.s.url: unsupported url scheme "ftp" in "ftp://h/" (expected http or https)"#
            ]],
        );
    }

    #[test]
    fn unknown_keys_are_reported_not_fatal() {
        check(
            "command = \"a\"\ntype = \"stdio\"\ndescription = \"ok\"",
            expect![[r#"
                McpServerConfig { transport: Stdio(StdioConfig { command: "a", args: [], env: {}, env_vars: [], cwd: None }), enabled: true, required: false, startup_timeout: None, tool_timeout: None, enabled_tools: None, disabled_tools: None, restart: RestartPolicy { kind: Permanent, max_restarts: 3, window: 60s, backoff_initial: 200ms, backoff_max: 10s }, sandbox: None, oauth: OAuthSettings { scopes: None, client_id: None, client_secret_env_var: None, resource: None, client_metadata_url: None }, approvals: ToolApprovals { default: None, tools: {} }, startup: Eager }
                ignored: mcp_servers.s.type"#]],
        );
    }

    #[test]
    fn oauth_settings_in_either_spelling_and_only_over_http() {
        let settings = |toml: &str| {
            let table: toml::Table = toml.parse().expect("valid toml");
            resolve_server("s", &toml::Value::Table(table)).map(|(config, _)| config.oauth)
        };
        let flat = settings(
            "url = \"https://h/mcp\"\nscopes = [\"a\", \"b\"]\noauth_client_id = \"c\"\noauth_client_secret_env_var = \"S\"\noauth_resource = \"https://h\"\n",
        )
        .expect("valid");
        assert_eq!(flat.scopes, Some(vec!["a".to_owned(), "b".to_owned()]));
        assert_eq!(flat.client_id.as_deref(), Some("c"));
        assert_eq!(flat.client_secret_env_var.as_deref(), Some("S"));
        assert_eq!(flat.resource.as_deref(), Some("https://h"));
        let nested = settings(
            "url = \"https://h/mcp\"\noauth = { client_id = \"c\", client_metadata_url = \"https://me/client.json\" }\n",
        )
        .expect("valid");
        assert_eq!(nested.client_id.as_deref(), Some("c"));
        assert_eq!(
            nested.client_metadata_url.as_deref(),
            Some("https://me/client.json")
        );
        let stdio = settings("command = \"x\"\nscopes = [\"a\"]\n").expect_err("refused");
        assert_eq!(stdio.message, "scopes is not supported for stdio");
        let wrong = settings("url = \"https://h/mcp\"\noauth = 3\n").expect_err("refused");
        assert_eq!(wrong.message, "expected a table, found an integer");
    }
}
