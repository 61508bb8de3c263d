//! The two tools the server offers, as `tools/list` shows them, and their
//! arguments read from the client's JSON.
//!
//! Every argument is untrusted: each text has a size bound, each enum its
//! spellings, and the `config` object becomes `-c` overrides key by key
//! (dotted TOML paths with TOML values), so it goes through exactly the
//! loader and the requirements that `-c` goes through. An unknown argument
//! is an error naming the known ones, so a typo (`approval_policy` for
//! `approval-policy`) is not silently ignored; Codex's `compact-prompt` is
//! accepted and ignored (this server does not compact).

use std::path::PathBuf;
use std::sync::Arc;

use codex_actors::config::{ApprovalPolicy, SandboxMode};
use codex_actors::rollout::CallerSettings;
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde_json::{Map, Value, json};

/// The tool that starts a thread and runs its first turn.
pub(super) const CODEX: &str = "codex";
/// The tool that runs the next turn of a thread.
pub(super) const CODEX_REPLY: &str = "codex-reply";

/// The largest prompt or instructions text, in bytes.
const MAX_TEXT_BYTES: usize = 1 << 20;
/// The largest short value (a model or profile name), in bytes.
const MAX_NAME_BYTES: usize = 256;
/// The longest `cwd`, in bytes.
const MAX_PATH_BYTES: usize = 4096;
/// The most overrides one `config` object may hold.
const MAX_CONFIG_ENTRIES: usize = 256;
/// How deeply `config` may nest.
const MAX_CONFIG_DEPTH: usize = 8;
/// The longest thread id (ours are 36-character UUIDs).
const MAX_THREAD_ID_BYTES: usize = 64;

/// Arguments of `codex`.
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct StartArgs {
    /// The first user message.
    pub(super) prompt: String,
    /// `model`.
    pub(super) model: Option<String>,
    /// `profile`.
    pub(super) profile: Option<String>,
    /// `cwd`, as given (relative to the server's working directory).
    pub(super) cwd: Option<PathBuf>,
    /// `approval-policy`.
    pub(super) approval: Option<ApprovalPolicy>,
    /// `sandbox`.
    pub(super) sandbox: Option<SandboxMode>,
    /// `config`, as `-c` overrides (`key=value`).
    pub(super) config: Vec<String>,
    /// `base-instructions`: replaces the instructions the thread opens with.
    pub(super) base_instructions: Option<String>,
    /// `developer-instructions`: added to them.
    pub(super) developer_instructions: Option<String>,
}

/// Arguments of `codex-reply`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ReplyArgs {
    /// The thread to continue (`threadId`, or the older `conversationId`).
    pub(super) thread_id: String,
    /// The next user message.
    pub(super) prompt: String,
}

/// A call of one of the tools.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Call {
    /// `codex`.
    Start(StartArgs),
    /// `codex-reply`.
    Reply(ReplyArgs),
}

/// Why a call's arguments cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum ArgsError {
    /// Neither of our tools.
    #[error("unknown tool `{0}`: this server offers `codex` and `codex-reply`")]
    UnknownTool(String),
    /// A required argument is absent.
    #[error("`{0}` is required")]
    Missing(&'static str),
    /// An argument of the wrong JSON type.
    #[error("`{field}` must be {expected}")]
    WrongType {
        /// The argument.
        field: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// An argument the tool does not take.
    #[error("unknown argument `{name}` (`{tool}` takes {known})")]
    UnknownArgument {
        /// The tool.
        tool: &'static str,
        /// The argument given.
        name: String,
        /// The ones it takes.
        known: &'static str,
    },
    /// A text past its size bound.
    #[error("`{field}` is too long ({len} bytes; at most {max})")]
    TooLong {
        /// The argument.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// A value that is not one of the setting's spellings.
    #[error("`{field}`: {problem}")]
    Invalid {
        /// The argument.
        field: &'static str,
        /// Why.
        problem: String,
    },
    /// An entry of `config` that cannot be an override.
    #[error("`config.{key}`: {problem}")]
    Config {
        /// The dotted key.
        key: String,
        /// Why.
        problem: String,
    },
}

/// The tools, in the order `tools/list` shows them.
pub(super) fn list() -> Vec<Tool> {
    vec![
        Tool::new(
            CODEX,
            "Run a Codex session: start a new thread with `prompt` and run one agent turn. \
             Returns the agent's last message and the thread id; continue the thread with \
             `codex-reply`. Progress arrives as `codex/event` notifications, and approvals the \
             policy asks for as elicitations.",
            object(&json!({
                "type": "object",
                "properties": {
                    "prompt": {
                        "type": "string",
                        "description": "The first user message of the thread."
                    },
                    "model": {
                        "type": "string",
                        "description": "The model, e.g. `gpt-5-codex`, over config's."
                    },
                    "profile": {
                        "type": "string",
                        "description": "A profile: `$CODEX_HOME/NAME.config.toml`, or else the `[profiles.NAME]` table of config.toml."
                    },
                    "cwd": {
                        "type": "string",
                        "description": "The working directory, absolute or relative to the \
                                        server's."
                    },
                    "approval-policy": {
                        "type": "string",
                        "enum": ["untrusted", "on-failure", "on-request", "never"],
                        "description": "When commands need the client's approval (asked as \
                                        an elicitation)."
                    },
                    "sandbox": {
                        "type": "string",
                        "enum": ["read-only", "workspace-write", "danger-full-access"],
                        "description": "The sandbox commands run in. The administrator's \
                                        requirements may allow less."
                    },
                    "config": {
                        "type": "object",
                        "additionalProperties": true,
                        "description": "Config overrides, as `-c` takes them: \
                                        {\"model_reasoning_effort\": \"high\"}. The \
                                        administrator's requirements still apply."
                    },
                    "base-instructions": {
                        "type": "string",
                        "description": "Instructions to open the thread with instead of the \
                                        default ones."
                    },
                    "developer-instructions": {
                        "type": "string",
                        "description": "More instructions, added to the opening ones."
                    },
                    "compact-prompt": {
                        "type": "string",
                        "description": "Codex's prompt for compacting a long thread; accepted, \
                                        but this server does not compact threads."
                    }
                },
                "required": ["prompt"],
                "additionalProperties": false
            })),
        )
        .with_title("Codex")
        .with_raw_output_schema(output_schema())
        .with_annotations(annotations("Codex")),
        Tool::new(
            CODEX_REPLY,
            "Continue a Codex thread with the next user message and run one agent turn. \
             Works for any recorded thread, also after the server restarted.",
            object(&json!({
                "type": "object",
                "properties": {
                    "threadId": {
                        "type": "string",
                        "description": "The thread id a `codex` call returned."
                    },
                    "conversationId": {
                        "type": "string",
                        "description": "The older name of `threadId`."
                    },
                    "prompt": {
                        "type": "string",
                        "description": "The next user message."
                    }
                },
                "required": ["threadId", "prompt"],
                "additionalProperties": false
            })),
        )
        .with_title("Codex reply")
        .with_raw_output_schema(output_schema())
        .with_annotations(annotations("Codex reply")),
    ]
}

/// What both tools return in `structuredContent`.
fn output_schema() -> Arc<JsonObject> {
    object(&json!({
        "type": "object",
        "properties": {
            "threadId": {
                "type": "string",
                "description": "The thread, for `codex-reply`."
            },
            "content": {
                "type": "string",
                "description": "The agent's last message."
            }
        },
        "required": ["threadId", "content"]
    }))
}

fn annotations(title: &str) -> ToolAnnotations {
    let mut annotations = ToolAnnotations::with_title(title);
    annotations.read_only_hint = Some(false);
    annotations.destructive_hint = Some(true);
    annotations.open_world_hint = Some(true);
    annotations
}

fn object(value: &Value) -> Arc<JsonObject> {
    Arc::new(value.as_object().cloned().unwrap_or_default())
}

/// Reads a call of `tool` with `arguments`.
pub(super) fn parse(tool: &str, arguments: Option<&JsonObject>) -> Result<Call, ArgsError> {
    let empty = Map::new();
    let arguments = arguments.unwrap_or(&empty);
    match tool {
        CODEX => parse_start(arguments).map(Call::Start),
        CODEX_REPLY => parse_reply(arguments).map(Call::Reply),
        other => Err(ArgsError::UnknownTool(bounded_name(other))),
    }
}

fn parse_start(arguments: &JsonObject) -> Result<StartArgs, ArgsError> {
    const KNOWN: &str = "prompt, model, profile, cwd, approval-policy, sandbox, config, \
                         base-instructions, developer-instructions, compact-prompt";
    let mut args = StartArgs::default();
    let mut prompt = None;
    for (name, value) in arguments {
        match name.as_str() {
            "prompt" => prompt = Some(text(value, "prompt", MAX_TEXT_BYTES)?),
            "model" => args.model = Some(text(value, "model", MAX_NAME_BYTES)?),
            "profile" => args.profile = Some(text(value, "profile", MAX_NAME_BYTES)?),
            "cwd" => args.cwd = Some(PathBuf::from(text(value, "cwd", MAX_PATH_BYTES)?)),
            "approval-policy" => {
                let spelled = text(value, "approval-policy", MAX_NAME_BYTES)?;
                args.approval = Some(spelled.parse().map_err(
                    |err: codex_actors::config::UnknownValue| ArgsError::Invalid {
                        field: "approval-policy",
                        problem: err.to_string(),
                    },
                )?);
            }
            "sandbox" => {
                let spelled = text(value, "sandbox", MAX_NAME_BYTES)?;
                args.sandbox = Some(sandbox_mode(&spelled)?);
            }
            "config" => args.config = config_overrides(value)?,
            "base-instructions" => {
                args.base_instructions = Some(text(value, "base-instructions", MAX_TEXT_BYTES)?);
            }
            "developer-instructions" => {
                args.developer_instructions =
                    Some(text(value, "developer-instructions", MAX_TEXT_BYTES)?);
            }
            // Codex's; this server does not compact a thread.
            "compact-prompt" => {
                text(value, "compact-prompt", MAX_TEXT_BYTES)?;
            }
            other => {
                return Err(ArgsError::UnknownArgument {
                    tool: CODEX,
                    name: bounded_name(other),
                    known: KNOWN,
                });
            }
        }
    }
    args.prompt = prompt.ok_or(ArgsError::Missing("prompt"))?;
    Ok(args)
}

fn parse_reply(arguments: &JsonObject) -> Result<ReplyArgs, ArgsError> {
    let mut thread_id = None;
    let mut prompt = None;
    for (name, value) in arguments {
        match name.as_str() {
            "threadId" => thread_id = Some(text(value, "threadId", MAX_THREAD_ID_BYTES)?),
            // The older name; `threadId` wins when both are given.
            "conversationId" => {
                let id = text(value, "conversationId", MAX_THREAD_ID_BYTES)?;
                thread_id.get_or_insert(id);
            }
            "prompt" => prompt = Some(text(value, "prompt", MAX_TEXT_BYTES)?),
            other => {
                return Err(ArgsError::UnknownArgument {
                    tool: CODEX_REPLY,
                    name: bounded_name(other),
                    known: "threadId (or conversationId), prompt",
                });
            }
        }
    }
    let thread_id = thread_id.ok_or(ArgsError::Missing("threadId"))?;
    let valid = !thread_id.is_empty()
        && thread_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !valid {
        return Err(ArgsError::Invalid {
            field: "threadId",
            problem: format!("{thread_id:?} is not a thread id"),
        });
    }
    Ok(ReplyArgs {
        thread_id,
        prompt: prompt.ok_or(ArgsError::Missing("prompt"))?,
    })
}

/// The modes a client may ask for (`external-sandbox` is the host's to
/// choose, not a caller's).
fn sandbox_mode(spelled: &str) -> Result<SandboxMode, ArgsError> {
    match spelled.parse::<SandboxMode>() {
        Ok(
            mode @ (SandboxMode::ReadOnly
            | SandboxMode::WorkspaceWrite
            | SandboxMode::DangerFullAccess),
        ) => Ok(mode),
        Ok(SandboxMode::ExternalSandbox) | Err(_) => Err(ArgsError::Invalid {
            field: "sandbox",
            problem: format!(
                "unknown sandbox {:?} (expected one of read-only, workspace-write, \
                 danger-full-access)",
                bounded_name(spelled)
            ),
        }),
    }
}

fn text(value: &Value, field: &'static str, max: usize) -> Result<String, ArgsError> {
    let Value::String(text) = value else {
        return Err(ArgsError::WrongType {
            field,
            expected: "a string",
        });
    };
    if text.len() > max {
        return Err(ArgsError::TooLong {
            field,
            len: text.len(),
            max,
        });
    }
    Ok(text.clone())
}

/// A name from the client, cut short for an error message.
fn bounded_name(name: &str) -> String {
    match name.char_indices().nth(64) {
        Some((end, _)) => format!("{}…", &name[..end]),
        None => name.to_owned(),
    }
}

/// The config keys a caller may set. The rest (commands to run such as
/// `notify`, MCP servers, providers and where their keys go, writable
/// roots) are the host's: its own `config.toml` and `-c`.
pub(super) const CALLER_KEYS: &[&str] = &[
    "model",
    "model_reasoning_effort",
    "model_reasoning_summary",
    "model_verbosity",
    "approval_policy",
    "sandbox_mode",
];

/// A caller's settings as a rollout recorded them, kept only where a call
/// could have set them: each override must parse and name one of
/// [`CALLER_KEYS`], and a profile must be a short name. The notes say
/// what was dropped.
pub(super) fn checked_caller(recorded: &CallerSettings) -> (CallerSettings, Vec<String>) {
    let mut notes = Vec::new();
    let config = recorded
        .config
        .iter()
        .filter(|raw| {
            let allowed = raw
                .parse::<codex_actors::config::ConfigOverride>()
                .is_ok_and(|parsed| {
                    parsed
                        .path()
                        .first()
                        .is_some_and(|key| CALLER_KEYS.contains(&key.as_str()))
                });
            if !allowed {
                notes.push(format!(
                    "the thread's recorded setting `{}` is not one a caller may set; ignored",
                    bounded_name(raw)
                ));
            }
            allowed
        })
        .cloned()
        .collect();
    let profile = recorded.profile.clone().filter(|name| {
        let short = name.len() <= MAX_NAME_BYTES;
        if !short {
            notes.push("the thread's recorded profile is too long; ignored".to_owned());
        }
        short
    });
    (CallerSettings { config, profile }, notes)
}

/// `config` as `-c` overrides: one `dotted.key=value` per leaf, nested
/// objects flattened into dotted keys, each value TOML. Only
/// [`CALLER_KEYS`] are accepted.
pub(super) fn config_overrides(config: &Value) -> Result<Vec<String>, ArgsError> {
    let Value::Object(table) = config else {
        return Err(ArgsError::WrongType {
            field: "config",
            expected: "an object",
        });
    };
    let mut out = Vec::new();
    flatten(&mut Vec::new(), table, &mut out)?;
    if let Some(key) = table
        .keys()
        .find(|key| !CALLER_KEYS.contains(&key.as_str()))
    {
        return Err(ArgsError::Config {
            key: bounded_name(key),
            problem: format!(
                "a caller may set only {}; the rest is the server's own config",
                CALLER_KEYS.join(", ")
            ),
        });
    }
    Ok(out)
}

fn flatten(
    path: &mut Vec<String>,
    table: &Map<String, Value>,
    out: &mut Vec<String>,
) -> Result<(), ArgsError> {
    for (key, value) in table {
        path.push(key.clone());
        let dotted = || {
            path.iter()
                .map(|k| bounded_name(k))
                .collect::<Vec<_>>()
                .join(".")
        };
        if key.is_empty() || key.len() > MAX_NAME_BYTES || key.contains('=') {
            return Err(ArgsError::Config {
                key: dotted(),
                problem: "a key must be 1 to 256 bytes without `=`".to_owned(),
            });
        }
        if path.len() > MAX_CONFIG_DEPTH {
            return Err(ArgsError::Config {
                key: dotted(),
                problem: format!("nested deeper than {MAX_CONFIG_DEPTH} levels"),
            });
        }
        match value {
            Value::Object(inner) if !inner.is_empty() => flatten(path, inner, out)?,
            leaf => {
                if out.len() == MAX_CONFIG_ENTRIES {
                    return Err(ArgsError::Config {
                        key: dotted(),
                        problem: format!("more than {MAX_CONFIG_ENTRIES} overrides"),
                    });
                }
                let value = toml_value(leaf, 0).map_err(|problem| ArgsError::Config {
                    key: dotted(),
                    problem,
                })?;
                let keys: Vec<String> = path.iter().map(|k| toml_key(k)).collect();
                out.push(format!("{}={value}", keys.join(".")));
            }
        }
        path.pop();
    }
    Ok(())
}

/// A key as TOML spells it: bare when it can be, else quoted.
fn toml_key(key: &str) -> String {
    let bare = key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        key.to_owned()
    } else {
        toml::Value::String(key.to_owned()).to_string()
    }
}

fn toml_value(value: &Value, depth: usize) -> Result<toml::Value, String> {
    if depth > MAX_CONFIG_DEPTH {
        return Err(format!("nested deeper than {MAX_CONFIG_DEPTH} levels"));
    }
    Ok(match value {
        Value::Null => return Err("null is not a config value".to_owned()),
        Value::Bool(b) => toml::Value::Boolean(*b),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => toml::Value::Integer(i),
            (None, Some(f)) if n.is_f64() => toml::Value::Float(f),
            _ => return Err(format!("{n} is out of range")),
        },
        Value::String(s) => toml::Value::String(s.clone()),
        Value::Array(items) => toml::Value::Array(
            items
                .iter()
                .map(|item| toml_value(item, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(table) => toml::Value::Table(
            table
                .iter()
                .map(|(k, v)| Ok((k.clone(), toml_value(v, depth + 1)?)))
                .collect::<Result<_, String>>()?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    #[track_caller]
    fn check_config(config: Value, expected: &[&str]) {
        let overrides = config_overrides(&config).expect("valid config");
        assert_eq!(overrides, expected);
        for raw in &overrides {
            raw.parse::<codex_actors::config::ConfigOverride>()
                .unwrap_or_else(|err| panic!("{raw}: {err}"));
        }
    }

    #[test]
    fn a_recorded_caller_keeps_only_what_a_call_may_set() {
        let recorded = CallerSettings {
            config: vec![
                "model=\"m\"".to_owned(),
                "model_reasoning_effort=\"high\"".to_owned(),
                "notify=[\"sh\", \"-c\", \"evil\"]".to_owned(),
                "mcp_servers.x.command=\"evil\"".to_owned(),
                "not an override".to_owned(),
            ],
            profile: Some("fast".to_owned()),
        };
        let (kept, notes) = checked_caller(&recorded);
        assert_eq!(
            kept,
            CallerSettings {
                config: vec![
                    "model=\"m\"".to_owned(),
                    "model_reasoning_effort=\"high\"".to_owned()
                ],
                profile: Some("fast".to_owned()),
            }
        );
        assert_eq!(notes.len(), 3, "{notes:?}");
        assert!(notes[0].contains("notify"), "{notes:?}");
        let (kept, notes) = checked_caller(&CallerSettings {
            config: Vec::new(),
            profile: Some("p".repeat(MAX_NAME_BYTES + 1)),
        });
        assert_eq!(kept, CallerSettings::default());
        assert_eq!(notes.len(), 1);
    }

    #[test]
    fn config_becomes_dotted_overrides() {
        check_config(
            json!({"sandbox_mode": "danger-full-access"}),
            &["sandbox_mode=\"danger-full-access\""],
        );
        check_config(
            json!({"model": "o3", "model_reasoning_effort": "high"}),
            &["model=\"o3\"", "model_reasoning_effort=\"high\""],
        );
    }

    #[test]
    fn a_caller_cannot_set_what_runs_or_where_keys_go() {
        for config in [
            json!({"notify": ["sh", "-c", "touch /tmp/x"]}),
            json!({"model_providers": {"x": {"base_url": "http://evil", "env_key": "HOME"}}}),
            json!({"sandbox_workspace_write": {"writable_roots": ["/"]}}),
            json!({"mcp_servers": {"x": {"command": "sh"}}}),
        ] {
            let err = config_overrides(&config).expect_err("refused").to_string();
            assert!(err.contains("a caller may set only model"), "{err}");
        }
    }

    #[test]
    fn a_parsed_override_keeps_the_value() {
        let raw = &config_overrides(&json!({"model": "a \"quoted\" = name\nx"})).expect("valid")[0];
        let parsed: codex_actors::config::ConfigOverride = raw.parse().expect("override");
        assert_eq!(parsed.path(), ["model"]);
        assert_eq!(
            parsed.value(),
            &toml::Value::String("a \"quoted\" = name\nx".to_owned())
        );
    }

    #[test]
    fn bad_config_is_an_error_naming_the_key() {
        let cases = [
            (json!("x"), "`config` must be an object"),
            (json!({"a": null}), "`config.a`: null is not a config value"),
            (
                json!({"a": {"b=c": 1}}),
                "`config.a.b=c`: a key must be 1 to 256 bytes without `=`",
            ),
            (
                json!({"": 1}),
                "`config.`: a key must be 1 to 256 bytes without `=`",
            ),
            (
                json!({"a": 18446744073709551615u64}),
                "`config.a`: 18446744073709551615 is out of range",
            ),
            (
                json!({"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":1}}}}}}}}}),
                "`config.a.b.c.d.e.f.g.h.i`: nested deeper than 8 levels",
            ),
        ];
        for (config, expected) in cases {
            let err = config_overrides(&config).expect_err("invalid");
            assert_eq!(err.to_string(), expected);
        }
        let many: Map<String, Value> = (0..=MAX_CONFIG_ENTRIES)
            .map(|n| (format!("k{n}"), json!(n)))
            .collect();
        assert!(matches!(
            config_overrides(&Value::Object(many)),
            Err(ArgsError::Config { .. })
        ));
    }

    fn args(value: Value) -> JsonObject {
        value.as_object().cloned().expect("object")
    }

    #[test]
    fn codex_arguments() {
        let call = parse(
            CODEX,
            Some(&args(json!({
                "prompt": "hi",
                "model": "o3",
                "profile": "fast",
                "cwd": "sub",
                "approval-policy": "on-request",
                "sandbox": "workspace-write",
                "config": {"model_reasoning_effort": "high"},
                "base-instructions": "be brief",
                "developer-instructions": "use rust",
                "compact-prompt": "ignored"
            }))),
        )
        .expect("valid");
        assert_eq!(
            call,
            Call::Start(StartArgs {
                prompt: "hi".to_owned(),
                model: Some("o3".to_owned()),
                profile: Some("fast".to_owned()),
                cwd: Some(PathBuf::from("sub")),
                approval: Some(ApprovalPolicy::OnRequest),
                sandbox: Some(SandboxMode::WorkspaceWrite),
                config: vec!["model_reasoning_effort=\"high\"".to_owned()],
                base_instructions: Some("be brief".to_owned()),
                developer_instructions: Some("use rust".to_owned()),
            })
        );
    }

    #[test]
    fn reply_arguments_accept_the_old_name() {
        let expected = Call::Reply(ReplyArgs {
            thread_id: "0199a213-81c0-7800-8aa1-bbab2a035a53".to_owned(),
            prompt: "more".to_owned(),
        });
        for name in ["threadId", "conversationId"] {
            let call = parse(
                CODEX_REPLY,
                Some(&args(
                    json!({name: "0199a213-81c0-7800-8aa1-bbab2a035a53", "prompt": "more"}),
                )),
            )
            .expect("valid");
            assert_eq!(call, expected);
        }
    }

    #[test]
    fn invalid_arguments_say_what_is_wrong() {
        let cases = [
            (CODEX, json!({}), "`prompt` is required"),
            (CODEX, json!({"prompt": 3}), "`prompt` must be a string"),
            (
                CODEX,
                json!({"prompt": "x", "approval_policy": "never"}),
                "unknown argument `approval_policy` (`codex` takes prompt, model, profile, cwd, \
                 approval-policy, sandbox, config, base-instructions, developer-instructions, \
                 compact-prompt)",
            ),
            (
                CODEX,
                json!({"prompt": "x", "sandbox": "external-sandbox"}),
                "`sandbox`: unknown sandbox \"external-sandbox\" (expected one of read-only, \
                 workspace-write, danger-full-access)",
            ),
            (
                CODEX,
                json!({"prompt": "x", "approval-policy": "always"}),
                "`approval-policy`: unknown approval_policy \"always\" (expected one of \
                 untrusted, on-failure, on-request, never)",
            ),
            (
                CODEX_REPLY,
                json!({"prompt": "x"}),
                "`threadId` is required",
            ),
            (
                CODEX_REPLY,
                json!({"threadId": "../../etc", "prompt": "x"}),
                "`threadId`: \"../../etc\" is not a thread id",
            ),
            (
                "codex-exec",
                json!({}),
                "unknown tool `codex-exec`: this server offers `codex` and `codex-reply`",
            ),
        ];
        for (tool, arguments, expected) in cases {
            let err = parse(tool, Some(&args(arguments))).expect_err("invalid");
            assert_eq!(err.to_string(), expected);
        }
        let long = "x".repeat(MAX_TEXT_BYTES + 1);
        assert_eq!(
            parse(CODEX, Some(&args(json!({"prompt": long})))),
            Err(ArgsError::TooLong {
                field: "prompt",
                len: MAX_TEXT_BYTES + 1,
                max: MAX_TEXT_BYTES
            })
        );
    }

    #[test]
    fn both_tools_declare_the_output_schema() {
        let tools = list();
        let names: Vec<&str> = tools.iter().map(|tool| tool.name.as_ref()).collect();
        assert_eq!(names, [CODEX, CODEX_REPLY]);
        for tool in &tools {
            let schema = tool.output_schema.as_deref().expect("output schema");
            assert_eq!(schema["required"], json!(["threadId", "content"]));
        }
    }
}
