//! The shape of `config.toml` as types, for its JSON Schema (`codex debug
//! schema config`) and for the loader's unknown-key warnings: a key the
//! schema does not know is reported, with the closest key it does know.
//! One list of keys serves both, so the warnings and the schema cannot
//! disagree; a test loads a file with every key through the parser.

use std::borrow::Cow;
use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde_json::Value;

/// `$CODEX_HOME/config.toml` (and `.codex/config.toml` in a trusted
/// project).
#[derive(JsonSchema)]
#[schemars(title = "codex config.toml", deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct ConfigFile {
    /// The model, e.g. `gpt-5-codex`.
    model: Option<String>,
    /// The provider id: a built-in one (`openai`, `ollama`, `lmstudio`) or
    /// a `[model_providers.ID]` table.
    model_provider: Option<String>,
    /// The reasoning effort, e.g. `low`, `medium`, `high`.
    model_reasoning_effort: Option<String>,
    /// Where the built-in OpenAI provider sends requests.
    openai_base_url: Option<String>,
    /// The sandbox for commands.
    sandbox_mode: Option<SandboxModeName>,
    /// When commands need approval.
    approval_policy: Option<ApprovalPolicyName>,
    /// Settings of the `workspace-write` sandbox.
    sandbox_workspace_write: Option<WorkspaceWrite>,
    /// Which variables commands get.
    shell_environment_policy: Option<ShellEnvironmentPolicy>,
    /// MCP servers, by name (`[A-Za-z0-9_-]+`).
    mcp_servers: Option<BTreeMap<String, McpServer>>,
    /// Model providers, by id.
    model_providers: Option<BTreeMap<String, ModelProvider>>,
    /// The profile to use unless `-p` names one.
    profile: Option<String>,
    /// Profiles: tables of top-level keys, used with `-p NAME`.
    profiles: Option<BTreeMap<String, Profile>>,
    /// Trust of project directories (their `.codex/config.toml`).
    projects: Option<BTreeMap<String, Project>>,
    /// `allow` offers tools the user's tool lock does not know.
    mcp_tools_lock_new: Option<LockNew>,
    /// Where `codex mcp login` listens for the OAuth redirect.
    #[schemars(range(min = 0, max = 65535))]
    mcp_oauth_callback_port: Option<u16>,
    /// How long a changed config, requirements or lock file must be quiet
    /// before a session reads it again.
    #[schemars(range(min = 0, max = 1000))]
    watch_debounce_ms: Option<u64>,
    /// A program and its arguments, run after each completed turn with a
    /// JSON description of it.
    notify: Option<Vec<String>>,
    /// When servers without their own `startup` start.
    mcp_startup: Option<StartupName>,
    /// How long `codex mcp-server` waits for its client's answer to an
    /// approval request (an elicitation) before denying the call.
    #[schemars(range(min = 1, max = 86400))]
    mcp_server_approval_timeout_sec: Option<u64>,
}

/// A `[profiles.NAME]` table: any top-level key.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
struct Profile {
    model: Option<String>,
    model_provider: Option<String>,
    model_reasoning_effort: Option<String>,
    openai_base_url: Option<String>,
    sandbox_mode: Option<SandboxModeName>,
    approval_policy: Option<ApprovalPolicyName>,
    sandbox_workspace_write: Option<WorkspaceWrite>,
    shell_environment_policy: Option<ShellEnvironmentPolicy>,
    mcp_servers: Option<BTreeMap<String, McpServer>>,
    model_providers: Option<BTreeMap<String, ModelProvider>>,
    notify: Option<Vec<String>>,
    mcp_startup: Option<StartupName>,
}

/// `[projects."/path"]`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
struct Project {
    /// `trusted` loads the project's `.codex/config.toml`.
    trust_level: Option<TrustLevel>,
}

#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum TrustLevel {
    Trusted,
    Untrusted,
}

#[derive(JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[allow(dead_code)]
enum SandboxModeName {
    ReadOnly,
    WorkspaceWrite,
    DangerFullAccess,
    ExternalSandbox,
}

#[derive(JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[allow(dead_code)]
enum ApprovalPolicyName {
    Untrusted,
    OnFailure,
    OnRequest,
    Never,
}

#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum StartupName {
    Eager,
    Lazy,
}

#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum LockNew {
    Allow,
    Withhold,
}

/// `[sandbox_workspace_write]`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
struct WorkspaceWrite {
    /// More writable directories.
    writable_roots: Option<Vec<String>>,
    /// Network access for commands.
    network_access: Option<bool>,
    /// Do not make `$TMPDIR` writable.
    exclude_tmpdir_env_var: Option<bool>,
    /// Do not make `/tmp` writable.
    exclude_slash_tmp: Option<bool>,
}

/// `[shell_environment_policy]`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
struct ShellEnvironmentPolicy {
    /// Which variables to start from.
    inherit: Option<Inherit>,
    /// Keep `*KEY*`, `*SECRET*` and `*TOKEN*` variables.
    ignore_default_excludes: Option<bool>,
    /// Patterns of variables to drop.
    exclude: Option<Vec<String>>,
    /// Variables to set.
    set: Option<BTreeMap<String, String>>,
    /// Only these patterns survive.
    include_only: Option<Vec<String>>,
}

#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum Inherit {
    All,
    Core,
    None,
}

/// `[model_providers.ID]`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
struct ModelProvider {
    /// Shown in messages.
    name: Option<String>,
    /// The API's base URL, e.g. `http://127.0.0.1:8000/v1`.
    base_url: Option<String>,
    /// The variable holding the API key.
    env_key: Option<String>,
    /// Said when `env_key` is missing.
    env_key_instructions: Option<String>,
    /// `responses` (default) or `chat`.
    wire_api: Option<WireApiName>,
    /// Added to every request's URL.
    query_params: Option<BTreeMap<String, String>>,
    /// Added to every request.
    http_headers: Option<BTreeMap<String, String>>,
    /// Headers whose values come from variables.
    env_http_headers: Option<BTreeMap<String, String>>,
    #[schemars(range(min = 0, max = 100))]
    request_max_retries: Option<u32>,
    #[schemars(range(min = 0, max = 100))]
    stream_max_retries: Option<u32>,
    #[schemars(range(min = 0, max = 604_800_000))]
    stream_idle_timeout_ms: Option<u64>,
    requires_openai_auth: Option<bool>,
    experimental_bearer_token: Option<String>,
}

#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum WireApiName {
    Responses,
    Chat,
}

/// `[mcp_servers.NAME]`: `command` (stdio) or `url` (streamable HTTP, or
/// legacy SSE with `transport = "sse"`).
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
struct McpServer {
    /// The program of a stdio server.
    command: Option<String>,
    /// Its arguments.
    args: Option<Vec<String>>,
    /// Variables set for it.
    env: Option<BTreeMap<String, String>>,
    /// Variables passed through from the environment.
    env_vars: Option<Vec<String>>,
    /// Its working directory.
    cwd: Option<String>,
    /// Run it inside this sandbox.
    sandbox: Option<SandboxModeName>,
    /// The URL of an HTTP server.
    url: Option<String>,
    /// `stdio`, `streamable_http` or `sse`; usually implied.
    transport: Option<TransportName>,
    /// The variable holding a bearer token.
    bearer_token_env_var: Option<String>,
    /// Headers sent to it.
    http_headers: Option<BTreeMap<String, String>>,
    /// Headers whose values come from variables.
    env_http_headers: Option<BTreeMap<String, String>>,
    /// OAuth scopes for `codex mcp login`.
    scopes: Option<Vec<String>>,
    /// OAuth client settings, nested.
    oauth: Option<OAuth>,
    oauth_client_id: Option<String>,
    oauth_client_secret_env_var: Option<String>,
    oauth_client_metadata_url: Option<String>,
    oauth_resource: Option<String>,
    /// `false` turns it off.
    enabled: Option<bool>,
    /// A failure to start fails the session.
    required: Option<bool>,
    /// `eager` or `lazy`.
    startup: Option<StartupName>,
    #[schemars(range(min = 0.0, max = 604_800.0))]
    startup_timeout_sec: Option<f64>,
    #[schemars(range(min = 0, max = 604_800_000))]
    startup_timeout_ms: Option<u64>,
    #[schemars(range(min = 0.0, max = 604_800.0))]
    tool_timeout_sec: Option<f64>,
    /// Only these tools.
    enabled_tools: Option<Vec<String>>,
    /// Not these tools.
    disabled_tools: Option<Vec<String>>,
    /// Whether a model's call needs approval.
    default_tools_approval_mode: Option<ApprovalModeName>,
    /// Per-tool settings.
    tools: Option<BTreeMap<String, ToolSettings>>,
    /// `permanent`, `transient` or `temporary`.
    restart: Option<RestartName>,
    #[schemars(range(min = 0, max = 10_000))]
    max_restarts: Option<u32>,
    #[schemars(range(min = 0.0, max = 604_800.0))]
    restart_window_sec: Option<f64>,
    #[schemars(range(min = 0, max = 604_800_000))]
    restart_backoff_ms: Option<u64>,
    #[schemars(range(min = 0, max = 604_800_000))]
    restart_backoff_max_ms: Option<u64>,
    /// Accepted for Codex compatibility; not used.
    name: Option<Value>,
    /// Accepted for Codex compatibility; not used.
    description: Option<Value>,
    /// Accepted for Codex compatibility; not used.
    supports_parallel_tool_calls: Option<Value>,
    /// Accepted for Codex compatibility; not used.
    environment_id: Option<Value>,
    /// Accepted for Codex compatibility; not used.
    auth: Option<Value>,
}

#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
enum TransportName {
    Stdio,
    StreamableHttp,
    Sse,
}

#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum RestartName {
    Permanent,
    Transient,
    Temporary,
}

#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum ApprovalModeName {
    Auto,
    Prompt,
    Writes,
    Approve,
}

/// `[mcp_servers.NAME.oauth]`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
struct OAuth {
    client_id: Option<String>,
    client_secret_env_var: Option<String>,
    client_metadata_url: Option<String>,
}

/// `[mcp_servers.NAME.tools.TOOL]`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
struct ToolSettings {
    approval_mode: Option<ApprovalModeName>,
}

/// The JSON Schema (draft 2020-12) of `config.toml`.
pub fn config_schema() -> Value {
    serde_json::to_value(schemars::schema_for!(ConfigFile)).unwrap_or(Value::Null)
}

/// The checked-in config schema, read as far as the unknown-key check
/// needs: keys, nesting and references, borrowed from the file's text
/// (descriptions and types are skipped, not built).
pub(crate) fn checked_in_config_schema() -> &'static KeyTree<'static> {
    static SCHEMA: std::sync::LazyLock<KeyTree<'static>> = std::sync::LazyLock::new(|| {
        // A test holds the file equal to what `config_schema` generates
        // and parseable, so the empty tree (every key allowed) never
        // shows outside a broken build.
        serde_json::from_str(include_str!("../../../docs/schemas/config.schema.json"))
            .unwrap_or_default()
    });
    &SCHEMA
}

/// The part of a JSON Schema that says which keys a table may hold: the
/// root schema object and its `$defs`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(transparent)]
pub(crate) struct KeyTree<'a>(#[serde(borrow)] Node<'a>);

/// One schema object: its keys, what other keys may be, the alternatives
/// it stands for, or a reference to a definition (and, at the root, the
/// definitions).
#[derive(Debug, Default, serde::Deserialize)]
struct Node<'a> {
    #[serde(rename = "$ref", borrow, default)]
    reference: Option<Cow<'a, str>>,
    #[serde(rename = "$defs", borrow, default)]
    defs: BTreeMap<Cow<'a, str>, Node<'a>>,
    #[serde(rename = "anyOf", borrow, default)]
    any_of: Vec<Node<'a>>,
    #[serde(borrow, default)]
    properties: Option<BTreeMap<Cow<'a, str>, Node<'a>>>,
    #[serde(rename = "additionalProperties", borrow, default)]
    additional: Option<Additional<'a>>,
    #[serde(rename = "type", default)]
    kind: NullType,
}

/// `additionalProperties`: `false`, or the schema every other key follows.
///
/// Read by hand rather than as an untagged enum: serde buffers an untagged
/// value whole before it tries each variant, and a schema's nested
/// `additionalProperties` would be buffered once per level.
#[derive(Debug)]
enum Additional<'a> {
    Allowed(bool),
    Schema(Box<Node<'a>>),
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for Additional<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor<'a>(std::marker::PhantomData<Node<'a>>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visitor<'a> {
            type Value = Additional<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a boolean or a schema object")
            }
            fn visit_bool<E>(self, allowed: bool) -> Result<Self::Value, E> {
                Ok(Additional::Allowed(allowed))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                let node = serde::Deserialize::deserialize(
                    serde::de::value::MapAccessDeserializer::new(map),
                )?;
                Ok(Additional::Schema(Box::new(node)))
            }
        }
        deserializer.deserialize_any(Visitor(std::marker::PhantomData))
    }
}

/// `type`, read only as far as the walk needs: whether it is exactly
/// `"null"` (a list of types never is).
#[derive(Debug, Default)]
struct NullType(bool);

impl<'de> serde::Deserialize<'de> for NullType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = NullType;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a type name or a list of them")
            }
            fn visit_str<E>(self, name: &str) -> Result<Self::Value, E> {
                Ok(NullType(name == "null"))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut names: A,
            ) -> Result<Self::Value, A::Error> {
                while names.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(NullType(false))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl Node<'_> {
    fn is_null(&self) -> bool {
        self.kind.0
    }
}

impl<'a> KeyTree<'a> {
    /// Follows a `$ref` into `$defs`.
    fn resolve<'n>(&'n self, node: &'n Node<'a>) -> &'n Node<'a> {
        node.reference
            .as_deref()
            .and_then(|reference| reference.strip_prefix("#/$defs/"))
            .and_then(|name| self.0.defs.get(name))
            .unwrap_or(node)
    }
}

/// A key the schema does not know, where it is, and the closest known key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnknownKey {
    /// The key's path, e.g. `["mcp_servers", "docs", "comand"]`.
    pub(crate) path: Vec<String>,
    /// The closest known key at that place, when one is close.
    pub(crate) suggestion: Option<String>,
}

/// Every key of `table` the schema does not know.
pub(crate) fn unknown_keys(schema: &KeyTree<'_>, table: &toml::Table) -> Vec<UnknownKey> {
    let mut found = Vec::new();
    walk_table(schema, &schema.0, table, &mut Vec::new(), &mut found);
    found
}

fn walk_table(
    tree: &KeyTree<'_>,
    node: &Node<'_>,
    table: &toml::Table,
    path: &mut Vec<String>,
    found: &mut Vec<UnknownKey>,
) {
    let node = tree.resolve(node);
    // `Option<T>` is `anyOf [T, null]` (or `T` with a null type).
    if !node.any_of.is_empty() {
        for option in &node.any_of {
            let option = tree.resolve(option);
            if !option.is_null() {
                walk_table(tree, option, table, path, found);
            }
        }
        return;
    }
    for (key, inner) in table {
        let known = node
            .properties
            .as_ref()
            .and_then(|properties| properties.get(key.as_str()));
        let next = match (known, &node.additional) {
            (Some(property), _) => Some(property),
            (None, Some(Additional::Allowed(false))) => {
                found.push(UnknownKey {
                    path: path.iter().cloned().chain([key.clone()]).collect(),
                    suggestion: node.properties.as_ref().and_then(|properties| {
                        closest(key, properties.keys().map(|known| known.as_ref()))
                    }),
                });
                None
            }
            (None, Some(Additional::Schema(map))) => Some(&**map),
            (None, _) => None,
        };
        if let (Some(next), toml::Value::Table(inner)) = (next, inner) {
            path.push(key.clone());
            walk_table(tree, next, inner, path, found);
            path.pop();
        }
    }
}

/// The known key closest to `key`, when it is close enough to be a typo.
fn closest<'a>(key: &str, known: impl Iterator<Item = &'a str>) -> Option<String> {
    known
        .map(|candidate| (strsim::damerau_levenshtein(key, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= 2.max(candidate.len() / 4))
        .min()
        .map(|(_, candidate)| candidate.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unknown(text: &str) -> Vec<(String, Option<String>)> {
        let table: toml::Table = text.parse().expect("toml");
        unknown_keys(checked_in_config_schema(), &table)
            .into_iter()
            .map(|key| (key.path.join("."), key.suggestion))
            .collect()
    }

    #[test]
    fn the_checked_in_schema_is_the_generated_one() {
        let checked_in: Value =
            serde_json::from_str(include_str!("../../../docs/schemas/config.schema.json"))
                .expect("the checked-in schema is JSON");
        let tree = checked_in_config_schema();
        assert!(
            !tree.0.defs.is_empty() && tree.0.properties.is_some(),
            "the key tree reads the checked-in schema"
        );
        assert_eq!(
            checked_in,
            config_schema(),
            "docs/schemas/config.schema.json is stale: run `codex debug schema config`"
        );
    }

    #[test]
    fn typos_are_found_with_the_closest_key() {
        assert_eq!(
            unknown(
                "modle = \"x\"\n[mcp_servers.a]\ncomand = \"x\"\n[profiles.p]\nmodel = \"m\"\nsanbox_mode = \"read-only\"\n"
            ),
            vec![
                ("modle".to_owned(), Some("model".to_owned())),
                (
                    "mcp_servers.a.comand".to_owned(),
                    Some("command".to_owned())
                ),
                (
                    "profiles.p.sanbox_mode".to_owned(),
                    Some("sandbox_mode".to_owned())
                ),
            ]
        );
        assert_eq!(
            unknown("zzz_quux = 1\n"),
            vec![("zzz_quux".to_owned(), None)]
        );
        assert!(unknown("[mcp_servers.a]\ncommand = \"x\"\n[mcp_servers.a.tools.t]\napproval_mode = \"auto\"\n").is_empty());
    }
}
