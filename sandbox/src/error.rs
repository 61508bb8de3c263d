//! [`SandboxError`]: the one error type of this crate.

use std::ffi::OsString;
use std::io;
use std::path::PathBuf;

use crate::policy::SandboxMode;
use crate::probe::Mechanism;

/// Everything that can go wrong when a command is sandboxed, spawned or awaited.
///
/// A command that runs and exits non-zero (or is denied by the sandbox, or
/// times out) is *not* an error: it is an [`ExecOutcome`](crate::ExecOutcome).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// A sandbox mode string was not one of the three known spellings.
    #[error(
        "unknown sandbox mode `{value}` (expected `read-only`, `workspace-write` or `danger-full-access`)"
    )]
    UnknownMode {
        /// The string that was given.
        value: String,
    },

    /// An `inherit` value of the shell environment policy was not `all`, `core` or `none`.
    #[error(
        "unknown shell_environment_policy.inherit `{value}` (expected `all`, `core` or `none`)"
    )]
    UnknownEnvInherit {
        /// The string that was given.
        value: String,
    },

    /// A kernel mechanism that the requested mode needs is missing, so the
    /// command is refused instead of being run with weaker isolation.
    #[error(
        "sandbox mode `{mode}` needs {mechanism}, which this system does not provide: refusing to run"
    )]
    Unsupported {
        /// The mode that was requested.
        mode: SandboxMode,
        /// The missing mechanism.
        mechanism: Mechanism,
    },

    /// A path that must be absolute was relative.
    #[error("{what} `{}` must be an absolute path", path.display())]
    RelativePath {
        /// What the path is for ("writable root", "working directory", ...).
        what: &'static str,
        /// The offending path.
        path: PathBuf,
    },

    /// A writable root (the cwd or an `--add-dir`) does not exist.
    #[error("sandbox expected writable root `{}`, but it does not exist", path.display())]
    MissingWritableRoot {
        /// The missing directory.
        path: PathBuf,
    },

    /// The command's argv was empty.
    #[error("the command to run is empty")]
    EmptyCommand,

    /// A pinned program can only be started on the pre-exec route.
    #[error("a hash-pinned program can only be started on the pre-exec route")]
    PinnedNeedsPreExec,

    /// The helper's arguments could not be parsed.
    #[error("bad sandbox helper arguments: {problem} (at {arg:?})")]
    HelperArgs {
        /// The argument at which parsing stopped (empty when arguments ran out).
        arg: OsString,
        /// What was wrong.
        problem: &'static str,
    },

    /// A system call that sets up isolation failed inside the helper.
    #[error("sandbox setup failed: {step}{}: {source}", path.as_ref().map(|p| format!(" `{}`", p.display())).unwrap_or_default())]
    Setup {
        /// The step that failed, e.g. "unshare(CLONE_NEWNS)".
        step: &'static str,
        /// The path involved, when there is one.
        path: Option<PathBuf>,
        /// The OS error.
        source: io::Error,
    },

    /// Building or enforcing the Landlock ruleset failed.
    #[error("sandbox setup failed: landlock: {source}")]
    Landlock {
        /// The error from the landlock crate.
        #[from]
        source: landlock::RulesetError,
    },

    /// The kernel accepted the Landlock calls but enforced none of the rules.
    #[error("sandbox setup failed: landlock was not able to enforce any sandbox rule")]
    LandlockNotEnforced,

    /// Building or installing the seccomp filter failed.
    #[error("sandbox setup failed: seccomp: {source}")]
    Seccomp {
        /// The error from seccompiler.
        #[from]
        source: seccompiler::Error,
    },

    /// The helper could not `execvp` the target command after sandboxing itself.
    #[error("failed to execute `{}`: {source}", program.to_string_lossy())]
    Exec {
        /// The program that could not be executed.
        program: OsString,
        /// The OS error.
        source: io::Error,
    },

    /// The process (the helper, or the command itself under `danger-full-access`) could not be spawned.
    #[error("failed to spawn `{}`: {source}", program.display())]
    Spawn {
        /// The program that was spawned.
        program: PathBuf,
        /// The OS error.
        source: io::Error,
    },

    /// Waiting for the process failed.
    #[error("failed to wait for process {pid}: {source}")]
    Wait {
        /// The process id.
        pid: u32,
        /// The OS error.
        source: io::Error,
    },

    /// [`SandboxedChild::spawn`](crate::SandboxedChild::spawn) was called outside a tokio runtime.
    #[error("spawning a sandboxed process needs a tokio runtime (call it from within one)")]
    NoRuntime,
}
