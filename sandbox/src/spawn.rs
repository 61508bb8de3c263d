//! [`PreparedCommand`]: a command ready to spawn, sandboxed on the pre-exec
//! route, tagged, and tied to this process. The one place that installs
//! `pre_exec` hooks, shared by [`SandboxedChild`](crate::SandboxedChild)
//! and by callers that need their own stdio (stdio MCP servers).

use std::process::Command;
use std::sync::Arc;

use crate::SandboxError;
use crate::launcher::{CommandSpec, SandboxLauncher, SpawnRoute};
use crate::policy::SandboxPolicy;
use crate::tree::{ProcessTag, TAG_ENV};

/// `spec` under `policy`, ready to spawn: a cleared environment holding
/// exactly `spec.env` (plus [`TAG_ENV`], and
/// `CODEX_SANDBOX_NETWORK_DISABLED=1` when the network is off), the
/// working directory, and, in the forked child, the sandbox applied right
/// before the exec (pre-exec route) or the helper as the program (helper
/// route). The caller sets stdio and the process group, then spawns the
/// [`Command`] from [`into_parts`](Self::into_parts).
///
/// # Drop
///
/// The command holds the prepared sandbox (an open Landlock ruleset,
/// close-on-exec); drop the command right after spawning to close it.
#[derive(Debug)]
pub struct PreparedCommand {
    command: Command,
    tag: ProcessTag,
}

impl PreparedCommand {
    /// Prepares `spec`. With `die_with_parent`, the child gets
    /// `PR_SET_PDEATHSIG(SIGKILL)`, which fires when the *thread* that
    /// spawned it exits: only for spawns from long-lived threads.
    ///
    /// # Errors
    ///
    /// The launcher's refusals (a missing mechanism, a bad writable root,
    /// an empty or relative command) and sandbox preparation failures.
    pub fn new(
        spec: &CommandSpec,
        policy: &SandboxPolicy,
        launcher: &SandboxLauncher,
        die_with_parent: bool,
    ) -> Result<Self, SandboxError> {
        let (mut command, prepared) = launcher.command_for_route(spec, policy)?;
        let tag = ProcessTag::new();
        command.env(TAG_ENV, tag.as_str());
        let parent = std::process::id();
        if die_with_parent {
            // SAFETY: the closure runs between fork and exec and only makes
            // async-signal-safe system calls (prctl, getppid); it allocates
            // nothing and touches no locks.
            unsafe {
                std::os::unix::process::CommandExt::pre_exec(&mut command, move || {
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    // The parent may have died before the prctl took effect.
                    if libc::getppid() as u32 != parent {
                        return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
                    }
                    Ok(())
                });
            }
        }
        // A pinned script is read by its interpreter from /proc/self/fd/N,
        // so that descriptor must survive the exec in the child only.
        let inherited = match launcher.route {
            SpawnRoute::PreExec | SpawnRoute::Helper => spec
                .program
                .as_ref()
                .and_then(crate::executable::Executable::inherited_fd),
        };
        if let Some(fd) = inherited {
            // SAFETY: fcntl on a descriptor number with integer arguments is
            // async-signal-safe; the descriptor is open in the child (it was
            // inherited across the fork and is only closed at exec).
            unsafe {
                std::os::unix::process::CommandExt::pre_exec(&mut command, move || {
                    if libc::fcntl(fd, libc::F_SETFD, 0) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        // The pre-exec route: the sandbox was prepared in this process; the
        // child applies it after the working directory, stdio and process
        // group are set up (std does those first) and right before it
        // executes the command.
        if let Some(prepared) = prepared.map(Arc::new) {
            // SAFETY: `Prepared::apply_or_exit` is async-signal-safe: it only
            // makes system calls (unshare, open/write/close on /proc/self,
            // mount, prctl, landlock_restrict_self, seccomp, write, _exit) on
            // memory prepared before the fork, allocates nothing and takes no
            // locks. On failure it exits with 125 instead of returning, so the
            // command never runs unsandboxed. The Arc is only read (its
            // refcount is not touched in the child).
            unsafe {
                std::os::unix::process::CommandExt::pre_exec(&mut command, move || {
                    prepared.apply_or_exit();
                    Ok(())
                });
            }
        }
        Ok(PreparedCommand { command, tag })
    }

    /// The command, to set stdio and the process group.
    pub fn command_mut(&mut self) -> &mut Command {
        &mut self.command
    }

    /// The tag every process of this spawn carries.
    pub fn tag(&self) -> &ProcessTag {
        &self.tag
    }

    /// The command to spawn, and its tag.
    pub fn into_parts(self) -> (Command, ProcessTag) {
        (self.command, self.tag)
    }
}
