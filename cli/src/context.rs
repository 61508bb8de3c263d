//! Loading what every command needs: config, requirements, and the effective
//! result of applying one to the other. This is the only place the binary
//! reads `CODEX_HOME`, `HOME` and the requirements variables.

use std::path::{Path, PathBuf};

use codex_actors::config::{ConfigSnapshot, LoadOptions, load_config, resolve_codex_home};
use codex_actors::policy::{
    EffectiveConfig, LaunchContext, Purpose, Requirements, RequirementsSources, apply_requirements,
    load_requirements,
};

use crate::args::ConfigOverrides;
use crate::error::CliError;

/// Config and requirements, loaded and applied.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) codex_home: PathBuf,
    /// The config but its servers, which moved into `effective` with their
    /// admission: no command reads a server that was not admitted.
    pub(crate) config: ConfigSnapshot,
    pub(crate) requirements: Requirements,
    pub(crate) effective: EffectiveConfig,
    /// Where servers would be launched from: this cwd and environment.
    pub(crate) launch: LaunchContext,
}

/// What [`load_verdicts`] returns: a [`Loaded`] whose servers were admitted
/// for the verdict alone and carry no launch. It reads as a `Loaded` but is
/// not one, so it cannot be handed to a session (`session::preloaded`).
#[derive(Debug)]
pub(crate) struct Verdicts(Loaded);

impl std::ops::Deref for Verdicts {
    type Target = Loaded;

    fn deref(&self) -> &Loaded {
        &self.0
    }
}

/// Loads everything for the current directory, printing non-fatal
/// findings to stderr once.
pub(crate) fn load(overrides: &ConfigOverrides) -> Result<Loaded, CliError> {
    load_at(overrides, &current_dir())
}

/// Like [`load`], for a command that shows verdicts and starts nothing
/// (`mcp list`, `mcp get`): an admitted stdio server is resolved only as
/// far as a rule needs and carries no launch ([`Purpose::Verdict`]).
pub(crate) fn load_verdicts(overrides: &ConfigOverrides) -> Result<Verdicts, CliError> {
    load_for(overrides, &current_dir(), Purpose::Verdict).map(Verdicts)
}

fn current_dir() -> PathBuf {
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
}

/// Like [`load`], with project layers searched from `cwd`.
pub(crate) fn load_at(overrides: &ConfigOverrides, cwd: &Path) -> Result<Loaded, CliError> {
    load_for(overrides, cwd, Purpose::Launch)
}

fn load_for(overrides: &ConfigOverrides, cwd: &Path, purpose: Purpose) -> Result<Loaded, CliError> {
    let strict = overrides.strict_config;
    let user_config = !overrides.ignore_user_config;
    let overrides = overrides.parse()?;
    let cwd = cwd.to_owned();
    let codex_home = codex_home()?;

    let sources = requirement_sources();
    let loaded_requirements = load_requirements(&sources)?;
    let launch = launch_context(&cwd);
    let mut config = load_config(&LoadOptions {
        codex_home: codex_home.clone(),
        cwd,
        overrides,
        user_config,
    })?;
    if strict {
        config.refuse_unknown_keys()?;
    }
    let effective = apply_requirements(
        &mut config,
        &loaded_requirements.requirements,
        &launch,
        purpose,
    )?;

    for diagnostic in loaded_requirements
        .warnings
        .iter()
        .chain(&config.diagnostics)
    {
        crate::terminal::err(&format!("warning: {diagnostic}"));
    }
    for warning in &effective.warnings {
        crate::terminal::err(&format!("warning: {warning}"));
    }
    Ok(Loaded {
        codex_home,
        config,
        requirements: loaded_requirements.requirements,
        effective,
        launch,
    })
}

/// Where requirements come from. A relative `CODEX_REQUIREMENTS_FILE` is
/// the process's own: resolved against the directory `codex` started in,
/// never a session's (`-C`, or an MCP client's `cwd`), so no working
/// directory can swap the admin's file for another or for none.
pub(crate) fn requirement_sources() -> RequirementsSources {
    let start = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    RequirementsSources::from_env(|name| std::env::var_os(name), &start)
}

/// The process environment (UTF-8 variables), as servers would inherit it.
pub(crate) fn process_env() -> std::collections::BTreeMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// Servers launched from `cwd` with this process's environment.
pub(crate) fn launch_context(cwd: &Path) -> LaunchContext {
    LaunchContext {
        cwd: cwd.to_owned(),
        env: process_env(),
    }
}

/// The directory a command works in: `-C DIR` (which must exist) with
/// symlinks resolved, else the process's own.
pub(crate) fn working_dir(cd: Option<&Path>) -> Result<PathBuf, CliError> {
    match cd {
        Some(dir) => absolute_dir(dir),
        None => std::env::current_dir().map_err(|source| CliError::Cwd { source }),
    }
}

/// `dir`, which must exist, with symlinks resolved.
pub(crate) fn absolute_dir(dir: &Path) -> Result<PathBuf, CliError> {
    dir.canonicalize().map_err(|source| CliError::Directory {
        path: dir.to_owned(),
        source,
    })
}

/// `CODEX_HOME`, or `~/.codex`.
pub(crate) fn codex_home() -> Result<PathBuf, CliError> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let codex_home_var = std::env::var_os("CODEX_HOME").map(PathBuf::from);
    Ok(resolve_codex_home(
        codex_home_var.as_deref(),
        home.as_deref(),
    )?)
}

/// Codex's rule for server names.
pub(crate) fn validate_name(name: &str) -> Result<(), CliError> {
    if codex_actors::config::valid_server_name(name) {
        Ok(())
    } else {
        Err(CliError::InvalidName {
            name: name.to_owned(),
        })
    }
}

/// The user's config file.
pub(crate) fn user_config_path(codex_home: &Path) -> PathBuf {
    codex_home.join("config.toml")
}
