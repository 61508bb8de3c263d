//! What a stdio server would run, resolved before admission decides: the
//! program, the working directory and the exact environment.
//!
//! Under an allowlist (any layer has one), a bare command is looked up only
//! in the admin's search path (`mcp_server_search_path`, by default
//! `/usr/local/bin:/usr/bin:/bin`), and the server's `PATH` is that list:
//! the user's `PATH` never chooses what an allowed server runs, nor the
//! interpreter behind a `#!/usr/bin/env node`. Without any allowlist, the
//! `PATH` the server gets is used, as a shell would.
//!
//! The environment policy lives here too: the built-in denylist of
//! variables that change what an allowed program runs, matched
//! case-insensitively and by family.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use codex_transports::{
    ResolveError, ResolvedProgram, StdioConfig, lexical_absolute, passthrough_env, resolve_program,
};

use super::requirements::Requirements;

/// Where servers are launched from: the session's working directory and
/// its parent environment. Admission reads nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchContext {
    /// A server's cwd when it sets none, and the base of a relative one.
    pub cwd: PathBuf,
    /// The environment `codex` was started with (passthrough variables,
    /// `env_vars`, `PATH` when no allowlist applies).
    pub env: BTreeMap<String, String>,
}

/// The admin search path when no layer sets `mcp_server_search_path`.
pub const DEFAULT_SEARCH_PATH: [&str; 3] = ["/usr/local/bin", "/usr/bin", "/bin"];

/// The search path in force: the first layer that sets one, reduced to the
/// directories every layer that sets one allows (layers only tighten).
pub fn search_path(requirements: &Requirements) -> Vec<PathBuf> {
    let mut result: Option<Vec<PathBuf>> = None;
    for layer in requirements.layers.iter() {
        let Some(dirs) = &layer.search_path else {
            continue;
        };
        result = Some(match result {
            None => dirs.clone(),
            Some(kept) => kept.into_iter().filter(|d| dirs.contains(d)).collect(),
        });
    }
    result.unwrap_or_else(|| DEFAULT_SEARCH_PATH.iter().map(PathBuf::from).collect())
}

/// The program `stdio` would run under `requirements` in `ctx`: what
/// admission resolves, without judging it (for `requirements pin`).
///
/// # Errors
///
/// When it cannot be found.
pub fn resolve_program_for(
    stdio: &StdioConfig,
    requirements: &Requirements,
    ctx: &LaunchContext,
) -> Result<ResolvedProgram, ResolveError> {
    let under_allowlist = requirements.layers.iter().any(|l| l.allowlist.is_some());
    let search = search_path(requirements);
    resolve(stdio, ctx, under_allowlist.then_some(search.as_slice())).program
}

/// A stdio server, resolved.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    /// The program, or why it cannot be found.
    pub(crate) program: Result<ResolvedProgram, ResolveError>,
    /// The working directory: absolute, symlinks resolved when it exists.
    pub(crate) cwd: PathBuf,
    /// The exact environment the server gets.
    pub(crate) env: BTreeMap<String, String>,
    /// The directories a bare command is looked up in.
    pub(crate) search: Vec<PathBuf>,
}

/// Resolves `stdio` in `ctx`; `admin_search` is the admin's search path when
/// an allowlist applies.
pub(crate) fn resolve(
    stdio: &StdioConfig,
    ctx: &LaunchContext,
    admin_search: Option<&[PathBuf]>,
) -> Resolved {
    let cwd = canonical_dir(&match &stdio.cwd {
        Some(dir) => ctx.cwd.join(dir),
        None => ctx.cwd.clone(),
    });
    let mut env = BTreeMap::new();
    for name in passthrough_env() {
        if admin_search.is_some() && *name == "PATH" {
            continue;
        }
        if let Some(value) = ctx.env.get(*name) {
            env.insert((*name).to_owned(), value.clone());
        }
    }
    for name in &stdio.env_vars {
        if let Some(value) = ctx.env.get(name) {
            env.insert(name.clone(), value.clone());
        }
    }
    env.extend(stdio.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    let search: Vec<PathBuf> = match admin_search {
        Some(dirs) => {
            // The server's PATH is the admin's list, unless the config set
            // one, which the environment policy then judges.
            if !env.contains_key("PATH") {
                let joined = std::env::join_paths(dirs)
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default();
                env.insert("PATH".to_owned(), joined);
            }
            dirs.to_vec()
        }
        None => env
            .get("PATH")
            .map(|path| std::env::split_paths(path).collect())
            .unwrap_or_default(),
    };
    let program = resolve_program(&stdio.command, &search, &cwd);
    Resolved {
        program,
        cwd,
        env,
        search,
    }
}

/// `dir` made absolute, with symlinks resolved when it exists.
pub(crate) fn canonical_dir(dir: &Path) -> PathBuf {
    codex_transports::canonical(dir).unwrap_or_else(|| lexical_absolute(dir))
}

/// Families of variables that make an allowed program load or run
/// something else. `*` ends a prefix; names compare case-insensitively
/// (npm, for one, reads `npm_config_*` in any case).
const DENIED_ENV: &[&str] = &[
    // Loaders and preloads.
    "LD_*",
    "DYLD_*",
    "GCONV_PATH",
    // Interpreter and runtime options.
    "NODE_*",
    "PYTHON*",
    "PERL*",
    "RUBY*",
    "JAVA_*",
    "JDK_*",
    "_JAVA_OPTIONS",
    "CLASSPATH",
    // Package-manager sources.
    "NPM_CONFIG_*",
    "YARN_*",
    "PNPM_*",
    "PIP_*",
    "UV_*",
    "POETRY_*",
    "GEM_*",
    "BUNDLE_*",
    "CARGO_*",
    "GOFLAGS",
    "GOPROXY",
    // Shells.
    "BASH_ENV",
    "BASH_FUNC_*",
    "ENV",
    "SHELLOPTS",
    "PS4",
    "IFS",
    // Where programs and their configuration are found.
    "PATH",
    "HOME",
    "XDG_*",
    "GIT_*",
];

/// Whether setting `var` could change what an allowed program runs.
pub(crate) fn env_is_denied(var: &str) -> bool {
    let upper = var.to_ascii_uppercase();
    DENIED_ENV
        .iter()
        .any(|pattern| match pattern.strip_suffix('*') {
            Some(prefix) => upper.starts_with(prefix),
            None => upper == *pattern,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_denylist_matches_families_in_any_case() {
        for var in [
            "LD_PRELOAD",
            "ld_audit",
            "Npm_config_registry",
            "UV_INDEX",
            "PYTHONUSERBASE",
            "JDK_JAVA_OPTIONS",
            "HOME",
            "path",
            "XDG_CONFIG_HOME",
            "GIT_SSH_COMMAND",
            "BASH_FUNC_ls%%",
        ] {
            assert!(env_is_denied(var), "{var}");
        }
        for var in [
            "GITHUB_TOKEN",
            "API_KEY",
            "LANG",
            "TERM",
            "NODEJS_NAME_IS_FINE",
        ] {
            assert!(!env_is_denied(var), "{var}");
        }
    }

    #[test]
    fn an_allowlist_replaces_path_and_ignores_the_users() {
        let dir = tempfile::tempdir().unwrap();
        let evil = dir.path().join("evil");
        std::fs::create_dir(&evil).unwrap();
        let shadow = evil.join("sh");
        std::fs::write(&shadow, "#!/bin/true\n").unwrap();
        std::fs::set_permissions(
            &shadow,
            <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755),
        )
        .unwrap();
        let ctx = LaunchContext {
            cwd: dir.path().to_owned(),
            env: BTreeMap::from([(
                "PATH".to_owned(),
                format!("{}:/usr/bin:/bin", evil.display()),
            )]),
        };
        let stdio = StdioConfig {
            command: "sh".to_owned(),
            args: Vec::new(),
            env: BTreeMap::new(),
            env_vars: Vec::new(),
            cwd: None,
        };
        let open = resolve(&stdio, &ctx, None);
        assert_eq!(open.program.expect("found").found, shadow);
        let admin = [PathBuf::from("/usr/bin"), PathBuf::from("/bin")];
        let locked = resolve(&stdio, &ctx, Some(&admin));
        assert_eq!(
            locked.program.expect("found").found,
            Path::new("/usr/bin/sh")
        );
        assert_eq!(
            locked.env.get("PATH").map(String::as_str),
            Some("/usr/bin:/bin")
        );
    }
}
