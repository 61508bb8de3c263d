//! [`SandboxMode`], [`SandboxPolicy`] and the resolution of writable roots.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::SandboxError;

/// How much a command may do, with Codex's three spellings.
///
/// | Mode | Filesystem | Network |
/// |---|---|---|
/// | `read-only` | read everything; write only `/dev/null`, `/dev/zero`, `/dev/full` | blocked |
/// | `workspace-write` | also write the writable roots, except `.git`, `.codex`, `.agents` inside them | blocked unless `network_access` |
/// | `danger-full-access` | no sandbox | allowed |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SandboxMode {
    /// `read-only`.
    ReadOnly,
    /// `workspace-write`.
    WorkspaceWrite,
    /// `danger-full-access`.
    DangerFullAccess,
}

impl SandboxMode {
    /// The kebab-case spelling used on the command line and in config.
    pub fn as_str(self) -> &'static str {
        match self {
            SandboxMode::ReadOnly => "read-only",
            SandboxMode::WorkspaceWrite => "workspace-write",
            SandboxMode::DangerFullAccess => "danger-full-access",
        }
    }
}

impl fmt::Display for SandboxMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SandboxMode {
    type Err = SandboxError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "read-only" => Ok(SandboxMode::ReadOnly),
            "workspace-write" => Ok(SandboxMode::WorkspaceWrite),
            "danger-full-access" => Ok(SandboxMode::DangerFullAccess),
            other => Err(SandboxError::UnknownMode {
                value: other.to_owned(),
            }),
        }
    }
}

/// A sandbox mode plus the knobs of `[sandbox_workspace_write]`.
///
/// The knobs other than `mode` only matter under
/// [`SandboxMode::WorkspaceWrite`]. The working directory is not part of the
/// policy: it comes with each command and is always a writable root under
/// `workspace-write`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxPolicy {
    /// The mode.
    pub mode: SandboxMode,
    /// Extra writable roots (`writable_roots` in config, `--add-dir` on the
    /// command line). They must be absolute and exist.
    pub writable_roots: Vec<PathBuf>,
    /// Allow network access under `workspace-write`.
    pub network_access: bool,
    /// A temporary directory to make writable too (the caller's `$TMPDIR`,
    /// when it chooses to honour it). This crate never reads the process
    /// environment for it: a variable of the user's must not widen what a
    /// server forced into a sandbox may write.
    pub tmpdir: Option<PathBuf>,
    /// Do not make `/tmp` writable.
    pub exclude_slash_tmp: bool,
}

/// One writable directory and the paths below it that stay read-only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WritableRoot {
    /// The writable directory.
    pub root: PathBuf,
    /// Existing paths inside `root` that stay read-only (`.git`, the gitdir a
    /// `.git` file points to, `.codex`, `.agents`).
    pub read_only_subpaths: Vec<PathBuf>,
}

/// Names inside a writable root that stay read-only when they exist.
pub const PROTECTED_NAMES: [&str; 3] = [".git", ".codex", ".agents"];

impl SandboxPolicy {
    /// A policy with the given mode and the defaults of
    /// `[sandbox_workspace_write]`: no extra roots, no network, `/tmp`
    /// writable, no temporary directory of the caller's.
    pub fn new(mode: SandboxMode) -> Self {
        SandboxPolicy {
            mode,
            writable_roots: Vec::new(),
            network_access: false,
            tmpdir: None,
            exclude_slash_tmp: false,
        }
    }

    /// Whether commands may use the network (any socket family).
    pub fn has_network_access(&self) -> bool {
        match self.mode {
            SandboxMode::ReadOnly => false,
            SandboxMode::WorkspaceWrite => self.network_access,
            SandboxMode::DangerFullAccess => true,
        }
    }

    /// Whether commands run without any isolation.
    pub fn is_unrestricted(&self) -> bool {
        self.mode == SandboxMode::DangerFullAccess
    }

    /// The writable roots for a command running in `cwd`, in Codex's order:
    /// extra roots, `cwd`, `/tmp`, then [`tmpdir`](Self::tmpdir).
    ///
    /// Empty for `read-only` and `danger-full-access`. Duplicate roots are
    /// dropped. A missing extra root or cwd is an error; a missing `/tmp` or
    /// `tmpdir` is skipped.
    pub fn writable_roots_for(&self, cwd: &Path) -> Result<Vec<WritableRoot>, SandboxError> {
        match self.mode {
            SandboxMode::ReadOnly | SandboxMode::DangerFullAccess => return Ok(Vec::new()),
            SandboxMode::WorkspaceWrite => {}
        }
        let mut roots: Vec<PathBuf> = Vec::new();
        for path in self
            .writable_roots
            .iter()
            .chain(std::iter::once(&cwd.to_path_buf()))
        {
            if !path.is_absolute() {
                return Err(SandboxError::RelativePath {
                    what: "writable root",
                    path: path.clone(),
                });
            }
            if !path.is_dir() {
                return Err(SandboxError::MissingWritableRoot { path: path.clone() });
            }
            roots.push(path.clone());
        }
        let slash_tmp = Path::new("/tmp");
        if !self.exclude_slash_tmp && slash_tmp.is_dir() {
            roots.push(slash_tmp.to_path_buf());
        }
        if let Some(tmpdir) = &self.tmpdir
            && tmpdir.is_absolute()
            && tmpdir.is_dir()
        {
            roots.push(tmpdir.to_path_buf());
        }
        let mut seen = Vec::new();
        let mut out = Vec::new();
        for root in roots {
            let key = fs::canonicalize(&root).unwrap_or_else(|_| root.clone());
            if seen.contains(&key) {
                continue;
            }
            seen.push(key);
            let read_only_subpaths = protected_subpaths(&root);
            out.push(WritableRoot {
                root,
                read_only_subpaths,
            });
        }
        Ok(out)
    }
}

/// The existing protected paths inside `root`.
fn protected_subpaths(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for name in PROTECTED_NAMES {
        let path = root.join(name);
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_file() && name == ".git" {
            // A worktree or submodule: `.git` is a `gitdir: <path>` pointer,
            // and the directory it names is protected too.
            if let Some(gitdir) = read_gitdir_pointer(&path, root) {
                out.push(path);
                out.push(gitdir);
                continue;
            }
        }
        if meta.is_dir() || meta.is_file() || path.exists() {
            out.push(path);
        }
    }
    out
}

/// Reads a `gitdir: <path>` file and returns the directory it names, if it exists.
fn read_gitdir_pointer(dot_git: &Path, root: &Path) -> Option<PathBuf> {
    let text = fs::read_to_string(dot_git).ok()?;
    let target = text.lines().next()?.strip_prefix("gitdir:")?.trim();
    let target = Path::new(target);
    let target = if target.is_absolute() {
        target.to_path_buf()
    } else {
        root.join(target)
    };
    target.is_dir().then_some(target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn mode_spellings_round_trip() {
        for mode in [
            SandboxMode::ReadOnly,
            SandboxMode::WorkspaceWrite,
            SandboxMode::DangerFullAccess,
        ] {
            assert_eq!(mode.to_string().parse::<SandboxMode>().unwrap(), mode);
        }
        let err = "workspace_write".parse::<SandboxMode>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown sandbox mode `workspace_write` (expected `read-only`, `workspace-write` or `danger-full-access`)"
        );
    }

    #[test]
    fn network_access_follows_mode() {
        let mut policy = SandboxPolicy::new(SandboxMode::WorkspaceWrite);
        assert!(!policy.has_network_access());
        policy.network_access = true;
        assert!(policy.has_network_access());
        policy.mode = SandboxMode::ReadOnly;
        assert!(!policy.has_network_access());
        assert!(SandboxPolicy::new(SandboxMode::DangerFullAccess).has_network_access());
    }

    #[test]
    fn writable_roots_order_and_protection() {
        let cwd = tempfile::tempdir().unwrap();
        let extra = tempfile::tempdir().unwrap();
        let tmpdir = tempfile::tempdir().unwrap();
        fs::create_dir(cwd.path().join(".git")).unwrap();
        fs::create_dir(cwd.path().join(".codex")).unwrap();
        let gitdir = extra.path().join("real-gitdir");
        fs::create_dir(&gitdir).unwrap();
        fs::write(
            extra.path().join(".git"),
            format!("gitdir: {}\n", gitdir.display()),
        )
        .unwrap();

        let mut policy = SandboxPolicy::new(SandboxMode::WorkspaceWrite);
        policy.writable_roots = vec![extra.path().to_path_buf()];
        policy.tmpdir = Some(tmpdir.path().to_path_buf());
        let roots = policy.writable_roots_for(cwd.path()).unwrap();
        assert_eq!(
            roots,
            vec![
                WritableRoot {
                    root: extra.path().to_path_buf(),
                    read_only_subpaths: vec![extra.path().join(".git"), gitdir],
                },
                WritableRoot {
                    root: cwd.path().to_path_buf(),
                    read_only_subpaths: vec![cwd.path().join(".git"), cwd.path().join(".codex")],
                },
                WritableRoot {
                    root: PathBuf::from("/tmp"),
                    read_only_subpaths: protected_subpaths(Path::new("/tmp")),
                },
                WritableRoot {
                    root: tmpdir.path().to_path_buf(),
                    read_only_subpaths: vec![],
                },
            ]
        );

        policy.exclude_slash_tmp = true;
        policy.tmpdir = None;
        policy.writable_roots = vec![cwd.path().to_path_buf()];
        let roots = policy.writable_roots_for(cwd.path()).unwrap();
        assert_eq!(roots.len(), 1, "duplicates are dropped: {roots:?}");
    }

    #[test]
    fn missing_or_relative_roots_are_errors() {
        let cwd = tempfile::tempdir().unwrap();
        let mut policy = SandboxPolicy::new(SandboxMode::WorkspaceWrite);
        policy.writable_roots = vec![PathBuf::from("relative")];
        assert!(matches!(
            policy.writable_roots_for(cwd.path()),
            Err(SandboxError::RelativePath { .. })
        ));
        policy.writable_roots = vec![cwd.path().join("missing")];
        assert!(matches!(
            policy.writable_roots_for(cwd.path()),
            Err(SandboxError::MissingWritableRoot { .. })
        ));
        let read_only = SandboxPolicy::new(SandboxMode::ReadOnly);
        assert_eq!(read_only.writable_roots_for(cwd.path()).unwrap(), vec![]);
    }
}
