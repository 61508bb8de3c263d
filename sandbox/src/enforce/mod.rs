//! The helper side: apply a [`HelperRequest`] to the current process, then exec the command.
//!
//! Order: private mount namespace with read-only binds (needs privileges that
//! `no_new_privs` and Landlock would take away), then `no_new_privs`, then
//! Landlock, then seccomp, then `execvp`. Any failure stops before the exec:
//! the command never runs with less isolation than requested.

mod landlock_rules;
mod mounts;
mod seccomp_filter;

use std::convert::Infallible;
use std::ffi::OsString;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

use crate::SandboxError;
use crate::helper_args::HelperRequest;
use crate::policy::SandboxMode;

/// Exit status of the helper when the sandbox could not be set up or its
/// arguments were bad. The command did not run.
pub const HELPER_SETUP_FAILED: i32 = 125;
/// Exit status of the helper when the command exists but could not be executed.
pub const HELPER_EXEC_FAILED: i32 = 126;
/// Exit status of the helper when the command was not found.
pub const HELPER_NOT_FOUND: i32 = 127;

/// Entry point of the helper mode: sandboxes the current process as the
/// arguments say, then replaces it with the command.
///
/// `args` are the arguments after the helper's own leading arguments (those
/// given as [`SandboxLauncher::helper_args`](crate::SandboxLauncher)), in the
/// format produced by the launcher. Call this early in `main`, before any
/// threads are started (no tokio runtime), so the restrictions cover the
/// whole process.
///
/// Never returns. On failure it prints `codex-sandbox: <error>` to stderr and
/// exits with [`HELPER_SETUP_FAILED`] (125), [`HELPER_EXEC_FAILED`] (126) or
/// [`HELPER_NOT_FOUND`] (127).
pub fn exec_sandboxed_main<I>(args: I) -> !
where
    I: IntoIterator<Item = OsString>,
{
    let err = match HelperRequest::parse(args).and_then(|request| apply_and_exec(&request)) {
        Ok(never) => match never {},
        Err(err) => err,
    };
    eprintln!("codex-sandbox: {err}");
    let code = match &err {
        SandboxError::Exec { source, .. } if source.kind() == io::ErrorKind::NotFound => {
            HELPER_NOT_FOUND
        }
        SandboxError::Exec { .. } => HELPER_EXEC_FAILED,
        _ => HELPER_SETUP_FAILED,
    };
    std::process::exit(code)
}

fn apply_and_exec(request: &HelperRequest) -> Result<Infallible, SandboxError> {
    match request.mode {
        SandboxMode::DangerFullAccess => {}
        SandboxMode::ReadOnly | SandboxMode::WorkspaceWrite => {
            if !request.read_only_subpaths.is_empty() {
                mounts::bind_read_only(&request.read_only_subpaths)?;
            }
            set_no_new_privs()?;
            landlock_rules::restrict_self(request)?;
            if !request.network {
                seccomp_filter::deny_network()?;
            }
        }
    }
    let (program, args) = request
        .command
        .split_first()
        .ok_or(SandboxError::EmptyCommand)?;
    let source = Command::new(program).args(args).exec();
    Err(SandboxError::Exec {
        program: program.clone(),
        source,
    })
}

fn set_no_new_privs() -> Result<(), SandboxError> {
    // SAFETY: PR_SET_NO_NEW_PRIVS takes integer arguments only.
    let rc = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    if rc != 0 {
        return Err(SandboxError::Setup {
            step: "prctl(PR_SET_NO_NEW_PRIVS)",
            path: None,
            source: io::Error::last_os_error(),
        });
    }
    Ok(())
}
