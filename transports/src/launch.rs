//! [`StdioLaunch`]: exactly what a stdio server runs, [`resolve_program`],
//! the mechanism that finds it, and [`stdio_environment`], how a launch's
//! environment is usually built: first the [`PASSTHROUGH_ENV`] variables,
//! then the config's `env_vars`, then its literal `env`.
//!
//! Admission (in `codex-actors`) decides the policy: which directories a
//! bare command is looked up in, which environment the server gets, whether
//! the file is pinned by hash, whether it runs in a sandbox. The result is
//! a [`StdioLaunch`] that the stdio plugin executes as is: no `PATH` lookup
//! and no environment of its own at spawn time.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Component, Path, PathBuf};

use codex_sandbox::{CommandSpec, Executable, SandboxPolicy};

use crate::config::StdioConfig;

/// Variables copied from the parent environment into every stdio server's
/// environment, when set there.
pub const PASSTHROUGH_ENV: [&str; 11] = [
    "HOME",
    "LOGNAME",
    "PATH",
    "SHELL",
    "USER",
    "__CF_USER_TEXT_ENCODING",
    "LANG",
    "LC_ALL",
    "TERM",
    "TMPDIR",
    "TZ",
];

/// The environment a stdio server gets, built from the parent snapshot.
///
/// ```
/// use std::collections::BTreeMap;
/// use codex_transports::{StdioConfig, stdio_environment};
///
/// let parent = BTreeMap::from([
///     ("PATH".to_owned(), "/bin".to_owned()),
///     ("SECRET".to_owned(), "s".to_owned()),
///     ("TOKEN".to_owned(), "t".to_owned()),
/// ]);
/// let config = StdioConfig {
///     command: "srv".into(),
///     args: vec![],
///     env: BTreeMap::from([("PATH".to_owned(), "/opt/bin".to_owned())]),
///     env_vars: vec!["TOKEN".into(), "UNSET".into()],
///     cwd: None,
/// };
/// let env = stdio_environment(&config, &parent);
/// assert_eq!(env.get("PATH").map(String::as_str), Some("/opt/bin"));
/// assert_eq!(env.get("TOKEN").map(String::as_str), Some("t"));
/// assert!(!env.contains_key("SECRET") && !env.contains_key("UNSET"));
/// ```
pub fn stdio_environment(
    config: &StdioConfig,
    parent: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    let inherited = PASSTHROUGH_ENV
        .iter()
        .copied()
        .chain(config.env_vars.iter().map(String::as_str));
    for name in inherited {
        if let Some(value) = parent.get(name) {
            env.insert(name.to_owned(), value.clone());
        }
    }
    env.extend(config.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    env
}

/// Exactly what a stdio server runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StdioLaunch {
    /// The program (resolved, possibly pinned), `argv` (`argv[0]` is the
    /// name the program sees), the working directory and the exact
    /// environment.
    pub spec: CommandSpec,
    /// The sandbox it runs in, if any.
    pub sandbox: Option<SandboxPolicy>,
}

impl StdioLaunch {
    /// A launch for `config` as a plain process would start it, without any
    /// policy: the program looked up on the `PATH` the child would get, the
    /// environment from [`stdio_environment`].
    /// For tests and tools that connect outside a session; sessions launch
    /// only what admission resolved.
    ///
    /// # Errors
    ///
    /// When the program cannot be found.
    pub fn unchecked(
        config: &StdioConfig,
        cwd: &Path,
        parent_env: &BTreeMap<String, String>,
    ) -> Result<StdioLaunch, ResolveError> {
        let env = stdio_environment(config, parent_env);
        let cwd = match &config.cwd {
            Some(dir) => cwd.join(dir),
            None => cwd.to_owned(),
        };
        let search: Vec<PathBuf> = env
            .get("PATH")
            .map(|path| std::env::split_paths(path).collect())
            .unwrap_or_default();
        let program = resolve_program(&config.command, &search, &cwd)?;
        let argv = std::iter::once(program.found.clone().into_os_string())
            .chain(config.args.iter().map(OsString::from))
            .collect();
        let mut spec = CommandSpec::new(
            argv,
            cwd,
            env.into_iter()
                .map(|(k, v)| (OsString::from(k), OsString::from(v)))
                .collect(),
        );
        spec.program = Some(Executable::at(program.real));
        Ok(StdioLaunch {
            spec,
            sandbox: None,
        })
    }
}

/// Where a command was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedProgram {
    /// The absolute path it was found at (a symlink stays a symlink): what
    /// the program sees as `argv[0]`.
    pub found: PathBuf,
    /// The same with every symlink resolved: the file that runs.
    pub real: PathBuf,
}

/// Why a command cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// A bare command is in none of the directories searched.
    #[error("`{command}` was not found on the search path ({})", join(searched))]
    NotFound {
        /// The command as configured.
        command: String,
        /// The directories searched, in order.
        searched: Vec<PathBuf>,
    },
    /// A path names nothing runnable.
    #[error("`{}` does not exist or is not an executable file", path.display())]
    NotExecutable {
        /// The path, made absolute.
        path: PathBuf,
    },
}

fn join(dirs: &[PathBuf]) -> String {
    if dirs.is_empty() {
        return "an empty search path".to_owned();
    }
    dirs.iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Finds `command`: a bare name in the first of `search` that holds an
/// executable file of that name (relative entries of `search` are
/// skipped: the current directory never chooses a program); a path with a
/// `/` made absolute against `cwd`. Symlinks are then resolved.
///
/// # Errors
///
/// [`ResolveError`] when nothing runnable is found.
pub fn resolve_program(
    command: &str,
    search: &[PathBuf],
    cwd: &Path,
) -> Result<ResolvedProgram, ResolveError> {
    if command.contains('/') {
        let path = lexical_absolute(&cwd.join(command));
        return match runnable(&path) {
            Some(real) => Ok(ResolvedProgram { found: path, real }),
            None => Err(ResolveError::NotExecutable { path }),
        };
    }
    // Each directory once, in order (a `PATH` often repeats some).
    let mut searched: Vec<PathBuf> = Vec::new();
    for dir in search.iter().filter(|dir| dir.is_absolute()) {
        if !searched.contains(dir) {
            searched.push(dir.clone());
        }
    }
    for dir in &searched {
        // Most candidates are not there: `runnable`'s first `lstat` says
        // so, before anything is resolved.
        let path = dir.join(command);
        if let Some(real) = runnable(&path) {
            return Ok(ResolvedProgram { found: path, real });
        }
    }
    Err(ResolveError::NotFound {
        command: command.to_owned(),
        searched,
    })
}

/// How long an answer about a path (a directory's real path, whether a
/// candidate is runnable) is trusted without asking the file system again.
const RESOLVED_FRESH: std::time::Duration = std::time::Duration::from_secs(1);

/// The resolved path of `path` when it is an executable regular file,
/// remembered for [`RESOLVED_FRESH`]: a hundred servers that run `python3`
/// look it up once, not a hundred times.
fn runnable(path: &Path) -> Option<PathBuf> {
    static RUNNABLE: FreshPaths = FreshPaths::new();
    RUNNABLE.get_or_resolve(path, || resolve_runnable(path))
}

/// [`runnable`], asking the file system. It resolves as `realpath` would,
/// but a directory once (see [`canonical`]) and then one `lstat` per name
/// and one `readlink` per link, instead of a `readlink` for every
/// component of every candidate.
fn resolve_runnable(path: &Path) -> Option<PathBuf> {
    let mut path = path.to_owned();
    // Linux gives up on a chain of more than 40 links; so do we.
    for _ in 0..40 {
        let meta = std::fs::symlink_metadata(&path).ok()?;
        let dir = canonical(path.parent()?)?;
        if !meta.file_type().is_symlink() {
            let real = dir.join(path.file_name()?);
            let runs = meta.is_file() && meta.permissions().mode() & 0o111 != 0;
            return runs.then_some(real);
        }
        let target = std::fs::read_link(&path).ok()?;
        if target.components().any(|c| c == Component::ParentDir) {
            // `..` after a link is the kernel's to resolve, not ours.
            path = std::fs::canonicalize(&path).ok()?;
            continue;
        }
        path = dir.join(target);
    }
    None
}

/// `dir` with every symlink resolved (`realpath`), or `None` when it does
/// not exist. Each directory is resolved once per `RESOLVED_FRESH`: a
/// `mcp list` of a hundred servers in one directory resolves it once, and
/// a long session still sees a link that changed.
pub fn canonical(dir: &Path) -> Option<PathBuf> {
    static CANONICAL: FreshPaths = FreshPaths::new();
    CANONICAL.get_or_resolve(dir, || std::fs::canonicalize(dir).ok())
}

/// Answers about paths, each trusted for [`RESOLVED_FRESH`]. Keyed by
/// the path's bytes: `Path`'s own order compares component by component,
/// which cost 2 % of `mcp list`; two spellings of one path are at worst two
/// entries.
struct FreshPaths(std::sync::Mutex<BTreeMap<std::ffi::OsString, Answer>>);

/// One remembered answer, and when it was found.
struct Answer {
    real: Option<PathBuf>,
    checked: std::time::Instant,
}

impl FreshPaths {
    /// More paths than any config names: past this the map starts over,
    /// so a long session's cache stays small.
    const MAX_ENTRIES: usize = 4096;

    const fn new() -> Self {
        FreshPaths(std::sync::Mutex::new(BTreeMap::new()))
    }

    /// The remembered answer for `path` while fresh, else `resolve`'s
    /// (asked without the lock held, and remembered).
    fn get_or_resolve(
        &self,
        path: &Path,
        resolve: impl FnOnce() -> Option<PathBuf>,
    ) -> Option<PathBuf> {
        self.get_or_resolve_at(path, std::time::Instant::now(), resolve)
    }

    /// [`Self::get_or_resolve`] as if it were `now`.
    fn get_or_resolve_at(
        &self,
        path: &Path,
        now: std::time::Instant,
        resolve: impl FnOnce() -> Option<PathBuf>,
    ) -> Option<PathBuf> {
        let lock = || {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if let Some(known) = lock().get(path.as_os_str())
            && now.duration_since(known.checked) < RESOLVED_FRESH
        {
            return known.real.clone();
        }
        let real = resolve();
        let mut cache = lock();
        if cache.len() >= Self::MAX_ENTRIES {
            cache.clear();
        }
        cache.insert(
            path.as_os_str().to_owned(),
            Answer {
                real: real.clone(),
                checked: now,
            },
        );
        real
    }
}

/// `path` with `.` and `..` removed lexically (it is absolute already).
pub fn lexical_absolute(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The variables a stdio server may receive from the parent environment
/// without being configured to.
pub fn passthrough_env() -> &'static [&'static str] {
    &PASSTHROUGH_ENV
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_answers_are_remembered_while_fresh() {
        let cache = FreshPaths::new();
        let start = std::time::Instant::now();
        let path = Path::new("/bin/tool");
        let asked = std::cell::Cell::new(0);
        let ask = |answer: Option<&str>| {
            asked.set(asked.get() + 1);
            answer.map(PathBuf::from)
        };
        assert_eq!(cache.get_or_resolve_at(path, start, || ask(None)), None);
        // Within the window the first answer stands, even a miss.
        let soon = start + RESOLVED_FRESH / 2;
        assert_eq!(
            cache.get_or_resolve_at(path, soon, || ask(Some("/x"))),
            None
        );
        assert_eq!(asked.get(), 1);
        // After it, the file system is asked again.
        let later = start + RESOLVED_FRESH;
        assert_eq!(
            cache.get_or_resolve_at(path, later, || ask(Some("/usr/bin/tool"))),
            Some(PathBuf::from("/usr/bin/tool"))
        );
        assert_eq!(asked.get(), 2);
        // Other paths have their own answers.
        assert_eq!(
            cache.get_or_resolve_at(Path::new("/bin/other"), later, || ask(Some("/o"))),
            Some(PathBuf::from("/o"))
        );
        assert_eq!(asked.get(), 3);
    }

    #[test]
    fn bare_names_use_only_absolute_search_entries() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let tool = bin.join("tool");
        std::fs::write(&tool, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink(&tool, bin.join("alias")).unwrap();
        let found = resolve_program("alias", &[PathBuf::from("rel"), bin.clone()], dir.path())
            .expect("found");
        assert_eq!(found.found, bin.join("alias"));
        assert_eq!(found.real, tool.canonicalize().unwrap());
        // A relative search entry, such as an empty PATH element, is never
        // searched, even when the cwd holds the program.
        assert!(matches!(
            resolve_program("tool", &[PathBuf::from("bin")], dir.path()),
            Err(ResolveError::NotFound { .. })
        ));
        // Paths are taken relative to the cwd, with dot segments removed.
        let found = resolve_program("./bin/../bin/tool", &[], dir.path()).expect("found");
        assert_eq!(found.found, bin.join("tool"));
        // Not executable.
        let data = bin.join("data");
        std::fs::write(&data, "x").unwrap();
        assert!(matches!(
            resolve_program(data.to_str().unwrap(), &[], dir.path()),
            Err(ResolveError::NotExecutable { .. })
        ));
    }

    #[test]
    fn links_resolve_as_realpath_does() {
        let dir = tempfile::tempdir().unwrap();
        let real_dir = dir.path().join("real");
        let lib = real_dir.join("lib");
        std::fs::create_dir_all(&lib).unwrap();
        let tool = lib.join("tool-1.2");
        std::fs::write(&tool, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        // bin -> real (a linked directory); bin/tool -> lib/tool-1.2
        // (relative); other -> ../real/bin/tool (`..` in a link target);
        // loop -> loop.
        std::os::unix::fs::symlink(&real_dir, dir.path().join("bin")).unwrap();
        std::os::unix::fs::symlink("lib/tool-1.2", real_dir.join("tool")).unwrap();
        let up = dir.path().join("up");
        std::fs::create_dir(&up).unwrap();
        std::os::unix::fs::symlink("../bin/tool", up.join("other")).unwrap();
        std::os::unix::fs::symlink("loop", up.join("loop")).unwrap();
        let expected = tool.canonicalize().unwrap();
        for (command, search) in [("tool", dir.path().join("bin")), ("other", up.clone())] {
            let found =
                resolve_program(command, std::slice::from_ref(&search), dir.path()).expect("found");
            assert_eq!(found.real, expected, "{command}");
            assert_eq!(found.real, found.found.canonicalize().unwrap(), "{command}");
        }
        assert!(matches!(
            resolve_program("loop", &[up], dir.path()),
            Err(ResolveError::NotFound { .. })
        ));
    }
}
