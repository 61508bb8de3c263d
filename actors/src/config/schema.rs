//! The shape of `config.toml` as types, for its JSON Schema (`codex debug
//! schema config`) and for the loader's unknown-key warnings: a key the
//! schema does not know is reported, with the closest key it does know.
//! One list of keys serves both, so the warnings and the schema cannot
//! disagree; a test loads a file with every key through the parser.

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

/// One schema object of `config.toml`, as far as the unknown-key check
/// needs it: its keys, what other keys may be, and the alternatives it
/// stands for. The tree is `schema_keys.rs`, generated from the checked-in
/// schema (a test holds the two equal), so no command parses JSON to check
/// a config.
#[derive(Debug)]
pub(crate) struct KeyNode {
    /// The alternatives this object stands for (`anyOf`, without `null`):
    /// a table is checked against each.
    any_of: &'static [u16],
    /// Its keys, sorted bytewise, each with the node of its value
    /// (`None`: the value may hold any keys).
    keys: &'static [(&'static str, Option<u16>)],
    /// Keys it does not name.
    other: OtherKeys,
}

/// What a table may hold besides the keys its schema names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OtherKeys {
    /// Anything (`additionalProperties` absent or `true`).
    Any,
    /// Nothing: another key is reported (`additionalProperties: false`).
    Denied,
    /// Keys whose values follow this node (a map's values).
    Follow(u16),
}

// Generated: rustfmt leaves it as the generator wrote it.
#[rustfmt::skip]
#[path = "schema_keys.rs"]
mod keys;

/// A key the schema does not know, where it is, and the closest known key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnknownKey {
    /// The key's path, e.g. `["mcp_servers", "docs", "comand"]`.
    pub(crate) path: Vec<String>,
    /// The closest known key at that place, when one is close.
    pub(crate) suggestion: Option<String>,
}

/// Every key of `table` the config schema does not know.
pub(crate) fn unknown_keys(table: &toml::Table) -> Vec<UnknownKey> {
    let mut found = Vec::new();
    walk_table(&keys::NODES, 0, table, &mut Vec::new(), &mut found);
    found
}

fn walk_table<'t>(
    nodes: &[KeyNode],
    node: u16,
    table: &'t toml::Table,
    path: &mut Vec<&'t str>,
    found: &mut Vec<UnknownKey>,
) {
    // A broken tree (never generated so) lets every key through.
    let Some(node) = nodes.get(usize::from(node)) else {
        return;
    };
    if !node.any_of.is_empty() {
        for &option in node.any_of {
            walk_table(nodes, option, table, path, found);
        }
        return;
    }
    for (key, inner) in table {
        let next = match node
            .keys
            .binary_search_by(|(known, _)| known.cmp(&key.as_str()))
        {
            Ok(at) => node.keys[at].1,
            Err(_) => match node.other {
                OtherKeys::Any => None,
                OtherKeys::Follow(values) => Some(values),
                OtherKeys::Denied => {
                    found.push(UnknownKey {
                        path: path
                            .iter()
                            .chain([&key.as_str()])
                            .map(|part| (*part).to_owned())
                            .collect(),
                        suggestion: super::fields::closest(
                            key,
                            node.keys.iter().map(|(known, _)| *known),
                        ),
                    });
                    None
                }
            },
        };
        if let (Some(next), toml::Value::Table(inner)) = (next, inner) {
            path.push(key);
            walk_table(nodes, next, inner, path, found);
            path.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unknown(text: &str) -> Vec<(String, Option<String>)> {
        let table: toml::Table = text.parse().expect("toml");
        unknown_keys(&table)
            .into_iter()
            .map(|key| (key.path.join("."), key.suggestion))
            .collect()
    }

    #[test]
    fn the_checked_in_schema_is_the_generated_one() {
        let checked_in: Value =
            serde_json::from_str(include_str!("../../../docs/schemas/config.schema.json"))
                .expect("the checked-in schema is JSON");
        assert_eq!(
            checked_in,
            config_schema(),
            "docs/schemas/config.schema.json is stale: write it with `codex debug schema \
             config`, then the key tree with `UPDATE_EXPECT=1 cargo test -p codex-actors \
             key_tree`"
        );
    }

    /// The key tree is the checked-in schema's: `UPDATE_EXPECT=1` writes
    /// `schema_keys.rs` again.
    #[test]
    fn the_key_tree_is_generated_from_the_checked_in_schema() {
        let schema: Value =
            serde_json::from_str(include_str!("../../../docs/schemas/config.schema.json"))
                .expect("the checked-in schema is JSON");
        let mut tree = TreeWriter {
            root: &schema,
            nodes: Vec::new(),
            defs: BTreeMap::new(),
        };
        // The root first: the walk starts at node 0.
        let root = tree.reserve();
        let text = tree.body(&schema);
        tree.nodes[usize::from(root)] = Some(text);
        assert!(tree.nodes.len() > 10, "{} nodes", tree.nodes.len());
        expect_test::expect_file!["schema_keys.rs"].assert_eq(&tree.source());
    }

    /// `schema`, or the definition its `$ref` names.
    fn resolved<'v>(root: &'v Value, schema: &'v Value) -> &'v Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) => &root["$defs"][reference.trim_start_matches("#/$defs/")],
            None => schema,
        }
    }

    /// The alternatives of `schema` (`anyOf`), when it has any: then, as
    /// in the walk, its own keys do not count.
    fn alternatives(schema: &Value) -> Option<&Vec<Value>> {
        schema
            .get("anyOf")
            .and_then(Value::as_array)
            .filter(|options| !options.is_empty())
    }

    /// Whether the walk passes `schema` by: `null`, after its reference.
    fn is_null(root: &Value, schema: &Value) -> bool {
        resolved(root, schema).get("type") == Some(&Value::from("null"))
    }

    /// Whether `schema` (in `root`) says anything about the keys of a
    /// table. `visiting` holds the definitions on the way here, so a
    /// definition that refers to itself ends the search.
    fn structured<'v>(root: &'v Value, schema: &'v Value, visiting: &mut Vec<&'v str>) -> bool {
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            if visiting.contains(&reference) {
                return false;
            }
            visiting.push(reference);
            let found = structured(root, resolved(root, schema), visiting);
            visiting.pop();
            return found;
        }
        if let Some(options) = alternatives(schema) {
            return options
                .iter()
                .any(|option| !is_null(root, option) && structured(root, option, visiting));
        }
        schema.get("properties").is_some()
            || schema.get("additionalProperties").is_some_and(|other| {
                *other == Value::Bool(false) || structured(root, other, visiting)
            })
    }

    /// Writes the key tree of a JSON Schema as Rust.
    struct TreeWriter<'a> {
        root: &'a Value,
        /// Each node's Rust text, by index (a definition's is `None` while
        /// it is being written).
        nodes: Vec<Option<String>>,
        /// Definitions already given an index.
        defs: BTreeMap<String, u16>,
    }

    impl TreeWriter<'_> {
        /// The index of `schema`'s node, or `None` when it lets its value
        /// hold any keys.
        fn node(&mut self, schema: &Value) -> Option<u16> {
            let Some(reference) = schema.get("$ref").and_then(Value::as_str) else {
                if !structured(self.root, schema, &mut Vec::new()) {
                    return None;
                }
                // The same inline schema in two places (a profile repeats
                // the top-level keys) is one node.
                let text = self.body(schema);
                if let Some(index) = self
                    .nodes
                    .iter()
                    .position(|node| node.as_deref() == Some(text.as_str()))
                {
                    return u16::try_from(index).ok();
                }
                let index = self.reserve();
                self.nodes[usize::from(index)] = Some(text);
                return Some(index);
            };
            let name = reference
                .strip_prefix("#/$defs/")
                .expect("a local reference");
            if let Some(&index) = self.defs.get(name) {
                return Some(index);
            }
            let definition = &self.root["$defs"][name];
            assert!(definition.is_object(), "no definition {name}");
            if !structured(self.root, definition, &mut Vec::new()) {
                return None;
            }
            // Indexed before its body is written: a definition may refer
            // to itself.
            let index = self.reserve();
            self.defs.insert(name.to_owned(), index);
            let text = self.body(definition);
            self.nodes[usize::from(index)] = Some(text);
            Some(index)
        }

        fn reserve(&mut self) -> u16 {
            self.nodes.push(None);
            u16::try_from(self.nodes.len() - 1).expect("fewer than 65536 nodes")
        }

        fn body(&mut self, schema: &Value) -> String {
            let root = self.root;
            let (any_of, keys, other) = match alternatives(schema) {
                // As in the walk: a table is checked against each
                // alternative and not against the object's own keys. One
                // that lets any key through finds nothing, so it is left
                // out, as is `null`.
                Some(options) => {
                    let any_of: Vec<String> = options
                        .iter()
                        .filter(|option| !is_null(root, option))
                        .filter_map(|option| self.node(option))
                        .map(|index| index.to_string())
                        .collect();
                    (any_of, Vec::new(), "OtherKeys::Any".to_owned())
                }
                None => (Vec::new(), self.keys(schema), self.other(schema)),
            };
            let mut text = String::from("    KeyNode {\n");
            text += &format!("        any_of: &[{}],\n", any_of.join(", "));
            if keys.is_empty() {
                text += "        keys: &[],\n";
            } else {
                text += "        keys: &[\n";
                for key in keys {
                    text += &format!("            {key},\n");
                }
                text += "        ],\n";
            }
            text += &format!("        other: {other},\n    }},\n");
            text
        }

        /// `schema`'s keys as Rust, sorted bytewise.
        fn keys(&mut self, schema: &Value) -> Vec<String> {
            let mut keys: Vec<(&String, &Value)> = schema
                .get("properties")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .collect();
            keys.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            keys.into_iter()
                .map(|(key, value)| match self.node(value) {
                    Some(index) => format!("({key:?}, Some({index}))"),
                    None => format!("({key:?}, None)"),
                })
                .collect()
        }

        /// What `schema` says of the keys it does not name, as Rust.
        fn other(&mut self, schema: &Value) -> String {
            match schema.get("additionalProperties") {
                Some(Value::Bool(false)) => "OtherKeys::Denied".to_owned(),
                Some(values @ Value::Object(_)) => match self.node(values) {
                    Some(index) => format!("OtherKeys::Follow({index})"),
                    None => "OtherKeys::Any".to_owned(),
                },
                _ => "OtherKeys::Any".to_owned(),
            }
        }

        fn source(&self) -> String {
            let mut text = String::from(
                "//! The key tree of `config.toml`: generated from\n\
                 //! `docs/schemas/config.schema.json` by the test\n\
                 //! `the_key_tree_is_generated_from_the_checked_in_schema`\n\
                 //! (`UPDATE_EXPECT=1` writes it again). Do not edit.\n\n\
                 use super::{KeyNode, OtherKeys};\n\n",
            );
            text += &format!(
                "/// Every node; the first is the root.\n\
                 pub(super) static NODES: [KeyNode; {}] = [\n",
                self.nodes.len()
            );
            for (index, node) in self.nodes.iter().enumerate() {
                text += &format!("    // {index}\n");
                text += node.as_deref().expect("every node written");
            }
            text += "];\n";
            text
        }
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
