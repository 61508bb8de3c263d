//! Process isolation (Landlock, seccomp, mount namespaces) and process control
//! for the commands the agent runs. Linux only. This crate depends on no other
//! crate of ours.
//!
//! # Overview
//!
//! * [`SandboxPolicy`] says what a command may do: a [`SandboxMode`]
//!   (`read-only`, `workspace-write`, `danger-full-access`, spelled as in
//!   Codex) plus extra writable roots and network access.
//! * [`CommandSpec`] is one command: argv, cwd, the exact environment (built
//!   by a [`ShellEnvironmentPolicy`]) and a timeout (10 s by default).
//! * [`SandboxLauncher`] names the *helper* (a program that calls
//!   [`exec_sandboxed_main`]) and the [`SpawnRoute`] that spawns take. A
//!   restricted command is sandboxed on one of two routes, which enforce
//!   exactly the same steps (below) with the same code:
//!   * **pre-exec** ([`SpawnRoute::PreExec`], the default for
//!     [`SandboxedChild`], [`run`] and [`run_streaming`]): the parent
//!     prepares everything that allocates or touches the filesystem (the
//!     Landlock ruleset with its rules, the compiled seccomp program, every C
//!     string and uid/gid map line of the mount steps); the forked child then
//!     applies it with raw, async-signal-safe system calls in a
//!     `CommandExt::pre_exec` closure and `execvp`s `CMD` directly. If any
//!     step fails the child writes `codex-sandbox: sandbox setup failed: ...`
//!     to stderr and `_exit`s with [`HELPER_SETUP_FAILED`] (125); it never
//!     runs unsandboxed. The ruleset descriptor is close-on-exec and the
//!     parent closes it right after the spawn. A command that cannot be
//!     executed is a [`SandboxError::Spawn`], as under `danger-full-access`.
//!   * **helper** ([`SpawnRoute::Helper`], and always
//!     [`SandboxLauncher::command`]): the command is started as
//!     `helper [helper_args] --mode ... -- CMD...`; the helper, a fresh
//!     single-threaded process, prepares and applies the same sandbox to
//!     itself and then `execvp`s `CMD` (exit codes 125/126/127 on failure).
//!     Because the result is a plain argv, callers can spawn it themselves:
//!     `codex sandbox linux` and sandboxed MCP servers (whose command and
//!     arguments are rewritten from `get_program()`/`get_args()`) do.
//!
//!   `danger-full-access` runs `CMD` directly on both routes.
//! * [`run`], [`run_streaming`] and [`SandboxedChild`] spawn the command in
//!   its own process group, kill the whole group on timeout (exit code 124)
//!   or on drop, and keep at most 1 MiB per stream ([`CapturedOutput`]).
//! * [`Executable`] is a resolved program; [`Executable::open_pinned`]
//!   opens and hashes it, and the command is then started from that open
//!   file (`/proc/self/fd/N`), so it cannot be swapped after the check.
//! * [`PreparedCommand`] is a command ready to spawn on the pre-exec route
//!   with its own stdio (stdio MCP servers use it).
//! * [`ProcessTag`], [`become_subreaper`], [`kill_descendants`] and
//!   [`reap_adopted`]: every spawn is tagged, and killing a command kills
//!   its whole tree, `setsid` grandchildren included.
//! * [`probe`] reports which kernel mechanisms exist ([`Support`]). A
//!   restricted mode whose mechanism is missing is refused with
//!   [`SandboxError::Unsupported`]; nothing ever runs unsandboxed silently.
//!
//! # Enforcement (in the pre-exec child or the helper, in this order)
//!
//! 1. If a writable root contains `.git`, `.codex` or `.agents` (or `.git` is
//!    a `gitdir:` file, the directory it names): a private mount namespace
//!    (`unshare(CLONE_NEWNS)` as root, `CLONE_NEWUSER|CLONE_NEWNS` otherwise,
//!    mapping the caller's own uid and gid) in which those paths are
//!    bind-mounted onto themselves read-only. Unprivileged parents take the
//!    pre-exec route too: the map writes are plain `open`/`write`/`close` of
//!    prebuilt lines.
//! 2. `PR_SET_NO_NEW_PRIVS`.
//! 3. Landlock (best effort, refused if not enforced at all): read and execute
//!    everywhere; write only `/dev/null`, `/dev/zero`, `/dev/full` and the
//!    writable roots; TCP bind/connect denied when the network is off.
//! 4. When the network is off, seccomp: `socket`/`socketpair` for any family
//!    but `AF_UNIX`, and io_uring, fail with `EPERM`.
//!
//! # Cost
//!
//! `benches/spawn.rs` spawns `true` (spawn, wait, output capture). The helper
//! route pays one extra `execve` and the helper's dynamic loading, about
//! 1 ms on our VMs, so it takes roughly twice as long as a plain spawn. The
//! pre-exec route has no extra exec: it adds the policy resolution and the
//! ruleset construction in the parent and a handful of system calls in the
//! child, about 1.2x a plain spawn. A mount namespace is created only when
//! there is something to protect.
//!
//! # Known gaps
//!
//! * A protected name that does not exist when the command starts (e.g. a
//!   `.codex` not yet created) is not protected: a bind mount needs an
//!   existing mount point. Codex's bubblewrap pipeline can mask it; Landlock
//!   cannot.
//! * When `.git` is a symlink, the directory it points to is made read-only,
//!   but the symlink itself lives in a writable directory and can be replaced.
//! * UDP and other non-`AF_UNIX` traffic is blocked only by seccomp, so only
//!   when seccomp is available (it is required for network-off modes).
//!   32-bit (`int 0x80`) syscalls kill a command whose network is off.
//! * A descendant that leaves the process group (`setsid`) and also scrubs
//!   its environment of [`TAG_ENV`] is found only while its parent chain
//!   reaches the command, or, once orphaned, at the owner's final
//!   [`kill_descendants`].
//!
//! # Example
//!
//! ```
//! use codex_sandbox::{CommandSpec, SandboxLauncher, SandboxMode, SandboxPolicy, ShellEnvironmentPolicy};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), codex_sandbox::SandboxError> {
//! let env = ShellEnvironmentPolicy::default().apply(std::env::vars_os());
//! let spec = CommandSpec::new(vec!["echo".into(), "hi".into()], "/", env);
//! // The `codex` binary passes its own path and hidden subcommand here.
//! let launcher = SandboxLauncher::new("/usr/local/bin/codex", ["debug", "sandbox-exec"]);
//! let policy = SandboxPolicy::new(SandboxMode::DangerFullAccess);
//! let outcome = codex_sandbox::run(&spec, &policy, &launcher).await?;
//! assert_eq!((outcome.exit_code, outcome.stdout.text().as_str()), (0, "hi\n"));
//! # Ok(())
//! # }
//! ```

// This is the one crate allowed to use `unsafe`: namespaces, prctl, mount,
// Landlock, seccomp, pre-exec closures and pidfd have no safe std wrappers.
// Every block carries a `// SAFETY:` comment.
#![allow(unsafe_code)]

mod enforce;
mod env_policy;
mod error;
mod executable;
pub mod files;
mod helper_args;
mod launcher;
mod output;
mod policy;
mod probe;
mod process;
mod spawn;
mod tree;

pub use enforce::{HELPER_EXEC_FAILED, HELPER_NOT_FOUND, HELPER_SETUP_FAILED, exec_sandboxed_main};
pub use env_policy::{CORE_ENV_VARS, DEFAULT_EXCLUDES, EnvInherit, ShellEnvironmentPolicy};
pub use error::SandboxError;
pub use executable::{Executable, sha256_file};
pub use launcher::{
    CommandSpec, DEFAULT_TIMEOUT, NETWORK_DISABLED_ENV_VAR, SandboxLauncher, SpawnRoute,
};
pub use output::{CapturedOutput, OUTPUT_MAX_BYTES};
pub use policy::{PROTECTED_NAMES, SandboxMode, SandboxPolicy, WritableRoot};
pub use probe::{Mechanism, Support, probe};
pub use process::{
    ExecOutcome, IO_DRAIN_TIMEOUT, MAX_STREAMED_CHUNKS, OutputChunk, OutputStream, SandboxedChild,
    TIMEOUT_EXIT_CODE, run, run_streaming,
};
pub use spawn::PreparedCommand;
pub use tree::{
    ProcessTag, TAG_ENV, become_subreaper, is_subreaper, kill_descendants, leftover_processes,
    let_go, reap_adopted, register_owned, release_owned,
};
