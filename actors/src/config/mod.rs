//! The user's configuration: `$CODEX_HOME/config.toml`, trusted project
//! layers and `-c` overrides, merged into one [`ConfigSnapshot`].
//!
//! Layers, lowest to highest (higher wins, tables merge key by key):
//! 1. `$CODEX_HOME/config.toml`;
//! 2. each `.codex/config.toml` from the project root down to the cwd, only
//!    when the project is marked trusted in the user config;
//! 3. `-c key=value` overrides, in order.
//!
//! Loading is a pure function of the files it reads: no actor, no global.

mod edit;
mod fields;
mod layer;
mod mcp;
mod model;
mod overrides;
mod sandbox_settings;
mod schema;
mod settings;
mod tree;
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) mod tree_law;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub use edit::{EditError, remove_server, write_server};
pub use layer::{Location, Origin, SyntaxError};
pub use mcp::{
    ApprovalMode, McpServerConfig, OAuthSettings, RestartPolicy, Startup, ToolApprovals,
};
pub use model::{ModelSettings, ProviderSettings};
pub use overrides::{ConfigOverride, OverrideError};
pub use sandbox_settings::WorkspaceWriteSettings;
pub use settings::{ApprovalPolicy, SandboxMode, UnknownValue, WireApi};

pub use fields::MAX_DURATION;
pub(crate) use fields::{FieldProblem, Read, closest, entry, get, read, type_name};
pub use layer::MAX_CONFIG_BYTES;
pub(crate) use layer::{LineIndex, TomlLayer, merge_into, read_optional, read_text};
#[cfg(test)]
pub(crate) use mcp::resolve_server;
pub use schema::config_schema;

/// The fuzzer's check of the TOML tree (`fuzz/fuzz_targets/toml_tree.rs`):
/// panics unless `text` is read as `toml` itself reads it.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub fn check_toml_tree(text: &str) {
    tree_law::same_as_toml(text);
}

/// What [`load_config`] needs to know. There is deliberately no `Default`:
/// every caller decides where config lives.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// The resolved `CODEX_HOME`.
    pub codex_home: PathBuf,
    /// The directory project layers are searched from.
    pub cwd: PathBuf,
    /// `-c` overrides, in command-line order.
    pub overrides: Vec<ConfigOverride>,
    /// Whether `$CODEX_HOME/config.toml` is read (`--ignore-user-config`
    /// turns it off; projects are then trusted by `-c` alone).
    pub user_config: bool,
}

/// The merged, validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigSnapshot {
    /// Every configured server, by name (sorted bytewise).
    pub mcp_servers: BTreeMap<String, McpServerConfig>,
    /// `sandbox_mode`, when configured.
    pub sandbox_mode: Option<SandboxMode>,
    /// `approval_policy`, when configured.
    pub approval_policy: Option<ApprovalPolicy>,
    /// `[sandbox_workspace_write]`.
    pub sandbox_workspace_write: WorkspaceWriteSettings,
    /// `[shell_environment_policy]`, with Codex's defaults.
    pub shell_environment_policy: codex_sandbox::ShellEnvironmentPolicy,
    /// `model`, `model_provider` and `[model_providers]`.
    pub model: ModelSettings,
    /// `mcp_tools_lock_new = "allow"`: tools the user's lock does not know
    /// are offered anyway (never under an admin's lock).
    pub tools_lock_allows_new: bool,
    /// `mcp_oauth_callback_port`: where `codex mcp login` listens for the
    /// browser's redirect (an ephemeral port when unset).
    pub oauth_callback_port: Option<u16>,
    /// `watch_debounce_ms`: how long a changed config, requirements or lock
    /// file must be quiet before a running session reads it again.
    pub watch_debounce: Option<std::time::Duration>,
    /// `mcp_startup`: when servers without their own `startup` start.
    pub mcp_startup: Startup,
    /// `mcp_server_approval_timeout_sec`: how long `codex mcp-server` waits
    /// for its client's answer to an approval request before denying.
    pub mcp_server_approval_timeout: Option<std::time::Duration>,
    /// `notify`: a program and its arguments, run after each completed
    /// turn with one more argument, a JSON description of the turn.
    pub notify: Option<Vec<String>>,
    /// `$CODEX_HOME/config.toml`, whether or not it exists.
    pub user_config_path: PathBuf,
    /// The layers that were applied, lowest first.
    pub layers: Vec<Origin>,
    /// Things worth telling the user that did not stop loading.
    pub diagnostics: Vec<Diagnostic>,
}

/// A non-fatal finding, such as an unknown key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where it was found.
    pub location: Location,
    /// What was found.
    pub message: String,
    /// What kind of finding it is.
    pub kind: DiagnosticKind,
}

/// What a [`Diagnostic`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiagnosticKind {
    /// A key this version does not know, ignored (`--strict-config`
    /// refuses it).
    UnknownKey,
    /// A project's config, not loaded because the project is not trusted.
    UntrustedProject,
    /// A finding in a requirements file: never fatal, so that an admin's
    /// slip cannot stop every user.
    Requirements,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

impl ConfigSnapshot {
    /// `--strict-config`: fails when the config has keys this version
    /// does not know, naming each with its place.
    ///
    /// # Errors
    ///
    /// [`UnknownKeys`], when there is at least one.
    pub fn refuse_unknown_keys(&self) -> Result<(), UnknownKeys> {
        let unknown: Vec<String> = self
            .diagnostics
            .iter()
            .filter(|diagnostic| diagnostic.kind == DiagnosticKind::UnknownKey)
            .map(ToString::to_string)
            .collect();
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(UnknownKeys(unknown))
        }
    }
}

/// Keys this version does not know, each with its place: an error only
/// under `--strict-config`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "--strict-config: the config has keys this version does not know:\n  {}",
    .0.join("\n  ")
)]
pub struct UnknownKeys(pub Vec<String>);

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A file exists but could not be read.
    #[error("failed to read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A document is not valid TOML.
    #[error(transparent)]
    Syntax(#[from] SyntaxError),
    /// A `-c` argument is malformed.
    #[error(transparent)]
    Override(#[from] OverrideError),
    /// A value is of the wrong shape or contradicts another.
    #[error("{location}: {subject}: {message}")]
    Invalid {
        /// The highest layer that set the offending key.
        location: Location,
        /// The table or key concerned, e.g. `mcp_servers.docs`.
        subject: String,
        /// What is wrong.
        message: String,
    },
    /// `CODEX_HOME` is set to something unusable.
    #[error("CODEX_HOME points to {value:?}, but that path {problem}")]
    CodexHome {
        /// The variable's value.
        value: PathBuf,
        /// `does not exist` or `is not a directory`.
        problem: &'static str,
    },
}

/// Resolves `CODEX_HOME` as Codex does: the variable when set and non-empty
/// (it must be an existing directory), else `~/.codex`.
pub fn resolve_codex_home(
    env_value: Option<&Path>,
    home_dir: Option<&Path>,
) -> Result<PathBuf, ConfigError> {
    match env_value.filter(|value| !value.as_os_str().is_empty()) {
        Some(value) => match std::fs::metadata(value) {
            Ok(meta) if meta.is_dir() => Ok(value.canonicalize().unwrap_or_else(|_| value.into())),
            Ok(_) => Err(ConfigError::CodexHome {
                value: value.into(),
                problem: "is not a directory",
            }),
            Err(_) => Err(ConfigError::CodexHome {
                value: value.into(),
                problem: "does not exist",
            }),
        },
        None => Ok(home_dir.unwrap_or(Path::new("/")).join(".codex")),
    }
}

/// Loads and merges every layer, then validates the result.
pub fn load_config(options: &LoadOptions) -> Result<ConfigSnapshot, ConfigError> {
    let user_config_path = options.codex_home.join("config.toml");
    let mut layers = Vec::new();
    let mut diagnostics = Vec::new();
    if options.user_config
        && let Some(layer) = read_layer(&user_config_path)?
    {
        layers.push(layer);
    }
    // `--profile NAME` with a profile file: that file is the profile, a
    // layer right above the user's, and the flag selects no
    // `[profiles.NAME]` table.
    let profile_file = profile_file(options, &layers)?;
    let from_file = profile_file.is_some();
    layers.extend(profile_file);
    let override_layers: Vec<TomlLayer> = options
        .overrides
        .iter()
        .filter(|o| !(from_file && o.profile_flag().is_some()))
        .map(|o| TomlLayer::from_table(o.origin(), o.to_table()))
        .collect();

    // Trust comes from the user file and the command line, never from a
    // project layer itself: their `[projects]` tables, merged.
    let trust = merged_keys(layers.iter().chain(&override_layers), &["projects"]);
    let projects = match trust.get("projects") {
        Some(toml::Value::Table(projects)) => projects,
        // Not a table: it replaced what lower layers said.
        _ => &toml::Table::new(),
    };
    for (dir, path) in project_config_files(&options.cwd, &options.codex_home) {
        match project_trust(projects, &dir) {
            Some(true) => {
                if let Some(layer) = read_layer(&path)? {
                    layers.push(layer);
                }
            }
            trusted => {
                let Ok(Some(_)) = read_optional(&path) else {
                    continue;
                };
                let why = if trusted == Some(false) {
                    "is marked as untrusted"
                } else {
                    "is not marked as trusted"
                };
                diagnostics.push(Diagnostic {
                    kind: DiagnosticKind::UntrustedProject,
                    location: Location {
                        origin: Origin::File(path.clone()),
                        line: 0,
                        column: 0,
                    },
                    message: if options.user_config {
                        format!(
                            "project config ignored: {} {why} in {}. To load it, add \
                             [projects.\"{}\"] trust_level = \"trusted\" to that file.",
                            dir.display(),
                            user_config_path.display(),
                            dir.display()
                        )
                    } else {
                        format!(
                            "project config ignored: {} is not trusted, {} being unread \
                             (--ignore-user-config). To load it, add -c 'projects.\"{}\".\
                             trust_level=\"trusted\"'.",
                            dir.display(),
                            user_config_path.display(),
                            dir.display()
                        )
                    },
                });
            }
        }
    }
    let tables = if from_file {
        ProfileTables::Ignored
    } else {
        ProfileTables::Selected
    };
    build(
        layers,
        override_layers,
        diagnostics,
        user_config_path,
        tables,
    )
}

/// A config from the text of one `config.toml` and `-c` overrides, with no
/// other file read: what the fuzzer drives, and a quick check of a text.
///
/// # Errors
///
/// As [`load_config`].
pub fn parse_config(
    text: &str,
    overrides: &[ConfigOverride],
) -> Result<ConfigSnapshot, ConfigError> {
    let path = PathBuf::from("config.toml");
    let layer = TomlLayer::parse(Origin::File(path.clone()), text.to_owned())?;
    let override_layers = overrides
        .iter()
        .map(|o| TomlLayer::from_table(o.origin(), o.to_table()))
        .collect();
    build(
        vec![layer],
        override_layers,
        Vec::new(),
        path,
        ProfileTables::Selected,
    )
}

/// Merges the file layers, the profile they select and the overrides, and
/// validates the result.
fn build(
    mut layers: Vec<TomlLayer>,
    override_layers: Vec<TomlLayer>,
    mut diagnostics: Vec<Diagnostic>,
    user_config_path: PathBuf,
    tables: ProfileTables,
) -> Result<ConfigSnapshot, ConfigError> {
    // The profile is chosen by every layer; it goes above the files and
    // below the overrides.
    if tables == ProfileTables::Selected {
        let selection = merged_keys(
            layers.iter().chain(&override_layers),
            &["profile", "profiles"],
        );
        let profile = profile_layer(
            &selection,
            &layers,
            &override_layers,
            user_config_path.parent(),
        )?;
        layers.extend(profile);
    }
    layers.extend(override_layers);
    let merged = merged(&layers);
    let invalid = |path: &[String], message: String| {
        let subject_len = path.len().min(2);
        ConfigError::Invalid {
            location: locate(&layers, path),
            subject: path[..subject_len].join("."),
            message,
        }
    };

    let at = |key: &str, message: String| invalid(&[key.to_owned()], message);
    let setting = |key: &str| get::<&str>(&merged, key).map_err(|message| at(key, message));
    // An integer from `range`, when set.
    let integer = |key: &str, range: std::ops::RangeInclusive<i64>, unit: &str| match get::<i64>(
        &merged, key,
    )
    .map_err(|message| at(key, message))?
    {
        Some(n) if !range.contains(&n) => Err(at(
            key,
            format!(
                "{n} is out of range ({} to {} {unit})",
                range.start(),
                range.end()
            ),
        )),
        n => Ok(n),
    };
    let mcp_startup = setting("mcp_startup")?
        .map(str::parse::<Startup>)
        .transpose()
        .map_err(|err| invalid(&["mcp_startup".to_owned()], err))?
        .unwrap_or(Startup::Eager);
    let mut mcp_servers = BTreeMap::new();
    let servers = get::<&toml::Table>(&merged, "mcp_servers")
        .map_err(|message| at("mcp_servers", message))?;
    for (name, value) in servers.into_iter().flatten() {
        // An odd name is not an error here: admission disables that one
        // server and says why, so the rest of the config works. Unknown
        // keys are reported once, for the whole file, below.
        let (config, _) = mcp::resolve_server_in(name, value, mcp_startup)
            .map_err(|problem| invalid(&problem.path, problem.message))?;
        mcp_servers.insert(name.clone(), config);
    }

    let sandbox_mode = setting("sandbox_mode")?
        .map(|s| s.parse::<SandboxMode>())
        .transpose()
        .map_err(|err| invalid(&["sandbox_mode".to_owned()], err.to_string()))?;
    let approval_policy = setting("approval_policy")?
        .map(|s| s.parse::<ApprovalPolicy>())
        .transpose()
        .map_err(|err| invalid(&["approval_policy".to_owned()], err.to_string()))?;

    let field_error = |problem: FieldProblem| invalid(&problem.path, problem.message);
    let sandbox_workspace_write =
        sandbox_settings::workspace_write(merged.get("sandbox_workspace_write"))
            .map_err(field_error)?;
    let shell_environment_policy =
        sandbox_settings::shell_environment_policy(merged.get("shell_environment_policy"))
            .map_err(field_error)?;
    let tools_lock_allows_new = match setting("mcp_tools_lock_new")? {
        None | Some("withhold") => false,
        Some("allow") => true,
        Some(other) => {
            return Err(invalid(
                &["mcp_tools_lock_new".to_owned()],
                format!("unknown value {other:?} (expected allow or withhold)"),
            ));
        }
    };
    let oauth_callback_port = get::<i64>(&merged, "mcp_oauth_callback_port")
        .map_err(|message| at("mcp_oauth_callback_port", message))?
        .map(|port| {
            u16::try_from(port).map_err(|_| {
                at(
                    "mcp_oauth_callback_port",
                    format!("{port} is not a port number"),
                )
            })
        })
        .transpose()?;
    let watch_debounce = integer(
        "watch_debounce_ms",
        0..=MAX_WATCH_DEBOUNCE_MS,
        "milliseconds",
    )?
    .map(|ms| std::time::Duration::from_millis(ms.unsigned_abs()));
    let mcp_server_approval_timeout = integer(
        "mcp_server_approval_timeout_sec",
        1..=MAX_APPROVAL_TIMEOUT_SEC,
        "seconds",
    )?
    .map(|secs| std::time::Duration::from_secs(secs.unsigned_abs()));
    let notify = match merged.get("notify") {
        None => None,
        Some(toml::Value::Array(items)) => {
            let argv: Option<Vec<String>> = items
                .iter()
                .map(|item| item.as_str().map(str::to_owned))
                .collect();
            match argv {
                Some(argv) if !argv.is_empty() => Some(argv),
                Some(_) => {
                    return Err(invalid(
                        &["notify".to_owned()],
                        "expected a program and its arguments, found an empty array".to_owned(),
                    ));
                }
                None => {
                    return Err(invalid(
                        &["notify".to_owned()],
                        "expected an array of strings".to_owned(),
                    ));
                }
            }
        }
        Some(other) => {
            return Err(invalid(
                &["notify".to_owned()],
                format!("expected an array of strings, found {}", type_name(other)),
            ));
        }
    };
    let (model, _) = model::model_settings(&merged).map_err(field_error)?;
    // Every key the schema does not know, with the closest it does.
    for unknown in schema::unknown_keys(&merged) {
        let path = &unknown.path;
        // Keys are the file's text: a newline or an escape in one must not
        // make a line of its own where the message is shown.
        let key = layer::escape_invisible(path.last().map_or("", String::as_str));
        let table = path[..path.len().saturating_sub(1)].join(".");
        let table = layer::escape_invisible(&table);
        let place = if table.is_empty() {
            String::new()
        } else {
            format!(" in {table}")
        };
        let hint = unknown
            .suggestion
            .map(|known| format!("; did you mean `{known}`?"))
            .unwrap_or_default();
        diagnostics.push(Diagnostic {
            kind: DiagnosticKind::UnknownKey,
            location: locate(&layers, path),
            message: format!("unknown key `{key}`{place} (ignored{hint})"),
        });
    }

    Ok(ConfigSnapshot {
        mcp_servers,
        sandbox_mode,
        approval_policy,
        sandbox_workspace_write,
        shell_environment_policy,
        model,
        tools_lock_allows_new,
        oauth_callback_port,
        watch_debounce,
        mcp_startup,
        mcp_server_approval_timeout,
        notify,
        user_config_path,
        layers: layers.into_iter().map(|layer| layer.origin).collect(),
        diagnostics,
    })
}

/// Whether `profile = "NAME"` selects a `[profiles.NAME]` table. Not when
/// `--profile` found its profile file: the flag chose, and the file is the
/// profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProfileTables {
    Selected,
    Ignored,
}

/// The file a profile is kept in since Codex's profile-v2:
/// `$CODEX_HOME/NAME.config.toml`. A name that is not a plain word (letters,
/// digits, `-`, `_`, `.` but not leading) has none, so `-p` never reaches
/// outside `CODEX_HOME`.
pub fn profile_path(codex_home: &Path, name: &str) -> Option<PathBuf> {
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    plain.then(|| codex_home.join(format!("{name}.config.toml")))
}

/// `--profile NAME`'s name and the path of its file, when the flag names
/// one.
fn flag_profile_path(options: &LoadOptions) -> Option<(&str, PathBuf)> {
    let name = options
        .overrides
        .iter()
        .rev()
        .find_map(ConfigOverride::profile_flag)?;
    Some((name, profile_path(&options.codex_home, name)?))
}

/// `--profile NAME`'s file, read, when it exists. The same name kept the
/// old way too (`profile = "NAME"` or `[profiles.NAME]` in the user's
/// config) is an error that says where to move it, as in Codex: two
/// definitions would leave the user guessing which one applies.
fn profile_file(
    options: &LoadOptions,
    user: &[TomlLayer],
) -> Result<Option<TomlLayer>, ConfigError> {
    let Some((name, path)) = flag_profile_path(options) else {
        return Ok(None);
    };
    let Some(layer) = read_layer(&path)? else {
        return Ok(None);
    };
    for base in user {
        let legacy = match base.table.get("profile") {
            Some(toml::Value::String(selected)) if selected == name => Some(vec!["profile"]),
            _ => base
                .table
                .get("profiles")
                .and_then(|profiles| profiles.get(name))
                .map(|_| vec!["profiles", name]),
        };
        if let Some(keys) = legacy {
            return Err(ConfigError::Invalid {
                location: base.locate(&keys),
                subject: keys.join("."),
                message: format!(
                    "--profile `{name}` cannot be used while {} also defines profile `{name}` \
                     the old way; move those settings into {} and remove them here",
                    base.origin,
                    path.display()
                ),
            });
        }
    }
    Ok(Some(layer))
}

/// The profile `profile = "NAME"` selects (`-p NAME` sets it too, when
/// there is no profile file): its `[profiles.NAME]` table, as a layer above
/// the files and below `-c`.
fn profile_layer(
    merged: &toml::Table,
    files: &[TomlLayer],
    overrides: &[TomlLayer],
    codex_home: Option<&Path>,
) -> Result<Option<TomlLayer>, ConfigError> {
    let all: Vec<&TomlLayer> = files.iter().chain(overrides).collect();
    let located = |path: &[&str]| {
        let path: Vec<String> = path.iter().map(|key| (*key).to_owned()).collect();
        let layers: Vec<TomlLayer> = all.iter().map(|layer| (*layer).clone()).collect();
        locate(&layers, &path)
    };
    let name = match merged.get("profile") {
        None => return Ok(None),
        Some(toml::Value::String(name)) => name.clone(),
        Some(other) => {
            return Err(ConfigError::Invalid {
                location: located(&["profile"]),
                subject: "profile".to_owned(),
                message: format!("expected a string, found {}", type_name(other)),
            });
        }
    };
    match merged
        .get("profiles")
        .and_then(|profiles| profiles.get(&name))
    {
        Some(toml::Value::Table(table)) => Ok(Some(TomlLayer::from_table(
            Origin::Profile(name),
            table.clone(),
        ))),
        Some(other) => Err(ConfigError::Invalid {
            location: located(&["profiles", &name]),
            subject: format!("profiles.{name}"),
            message: format!("expected a table, found {}", type_name(other)),
        }),
        None => {
            let mut known: Vec<&String> = merged
                .get("profiles")
                .and_then(toml::Value::as_table)
                .map(|profiles| profiles.keys().collect())
                .unwrap_or_default();
            known.sort();
            let known = if known.is_empty() {
                "no profile is defined".to_owned()
            } else {
                format!(
                    "defined: {}",
                    known
                        .iter()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            // Where `--profile` would have found it since profile-v2.
            let file = overrides
                .iter()
                .any(|layer| matches!(layer.origin, Origin::ProfileFlag(_)))
                .then(|| codex_home.and_then(|home| profile_path(home, &name)))
                .flatten()
                .map(|path| format!("; no {}", path.display()))
                .unwrap_or_default();
            Err(ConfigError::Invalid {
                location: located(&["profile"]),
                subject: "profile".to_owned(),
                message: format!("config profile `{name}` not found ({known}{file})"),
            })
        }
    }
}

/// `layers` merged, lowest first; a single layer is used as it is, not
/// copied.
fn merged(layers: &[TomlLayer]) -> Cow<'_, toml::Table> {
    if let [only] = layers {
        return Cow::Borrowed(&only.table);
    }
    let mut merged = toml::Table::new();
    for layer in layers {
        merge_into(&mut merged, &layer.table);
    }
    Cow::Owned(merged)
}

/// `layers` merged, lowest first, but only their `keys`: what choosing a
/// profile or trusting a project needs, without copying the rest.
fn merged_keys<'a>(layers: impl IntoIterator<Item = &'a TomlLayer>, keys: &[&str]) -> toml::Table {
    let mut merged = toml::Table::new();
    for layer in layers {
        let entries = keys
            .iter()
            .filter_map(|key| layer.table.get_key_value(*key));
        merge_into(&mut merged, entries);
    }
    merged
}

/// The longest `watch_debounce_ms`: a policy change must reach a running
/// session within about a second, so a user cannot delay a tightening.
pub const MAX_WATCH_DEBOUNCE_MS: i64 = 1000;

/// The longest `mcp_server_approval_timeout_sec`: a day.
pub const MAX_APPROVAL_TIMEOUT_SEC: i64 = 86_400;

/// Every file [`load_config`] may read for `options`: the user's
/// `config.toml`, the `--profile` file, then each project layer from the
/// project root down to the cwd, trusted or not (trust is itself config,
/// and may change). What a session watches.
pub fn config_files(options: &LoadOptions) -> Vec<PathBuf> {
    let profile = flag_profile_path(options).map(|(_, path)| path);
    let user = options
        .user_config
        .then(|| options.codex_home.join("config.toml"));
    user.into_iter()
        .chain(profile)
        .chain(
            project_config_files(&options.cwd, &options.codex_home)
                .into_iter()
                .map(|(_, path)| path),
        )
        .collect()
}

/// Codex's rule for server names: `^[A-Za-z0-9_-]+$`. A name is part of
/// tool names (`mcp__<server>__<tool>`) and of requirements keys, so
/// anything else could be read two ways.
pub fn valid_server_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn read_layer(path: &Path) -> Result<Option<TomlLayer>, ConfigError> {
    let text = read_optional(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    text.map(|text| TomlLayer::parse(Origin::File(path.to_owned()), text))
        .transpose()
        .map_err(ConfigError::from)
}

/// The location of `path` in the highest layer that sets it, falling back
/// to the deepest prefix some layer sets.
fn locate(layers: &[TomlLayer], path: &[String]) -> Location {
    let keys: Vec<&str> = path.iter().map(String::as_str).collect();
    for depth in (1..=keys.len()).rev() {
        if let Some(layer) = layers.iter().rev().find(|l| l.defines(&keys[..depth])) {
            return layer.locate(&keys);
        }
    }
    Location {
        origin: layers
            .last()
            .map_or(Origin::Override(String::new()), |l| l.origin.clone()),
        line: 0,
        column: 0,
    }
}

/// `(dir, dir/.codex/config.toml)` from the project root down to `cwd`.
/// The root is the nearest ancestor holding `.git`; without one, only `cwd`.
/// The `.codex` folder that is `CODEX_HOME` itself is skipped.
fn project_config_files(cwd: &Path, codex_home: &Path) -> Vec<(PathBuf, PathBuf)> {
    let cwd = cwd.canonicalize().unwrap_or_else(|_| cwd.to_owned());
    let root = cwd
        .ancestors()
        .find(|dir| dir.join(".git").exists())
        .unwrap_or(&cwd);
    let codex_home = codex_home
        .canonicalize()
        .unwrap_or_else(|_| codex_home.to_owned());
    let mut dirs: Vec<&Path> = cwd
        .ancestors()
        .take_while(|dir| dir.starts_with(root))
        .collect();
    dirs.reverse();
    dirs.into_iter()
        .filter(|dir| dir.join(".codex") != codex_home)
        .map(|dir| (dir.to_owned(), dir.join(".codex").join("config.toml")))
        .collect()
}

/// The trust of `dir`: the nearest ancestor listed under `[projects]` decides.
fn project_trust(projects: &toml::Table, dir: &Path) -> Option<bool> {
    dir.ancestors().find_map(|ancestor| {
        let entry = projects.get(ancestor.to_str()?)?.as_table()?;
        match entry.get("trust_level")?.as_str()? {
            "trusted" => Some(true),
            _ => Some(false),
        }
    })
}

#[cfg(test)]
mod tests;
