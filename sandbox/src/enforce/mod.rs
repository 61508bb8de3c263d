//! Applying a [`HelperRequest`] to a process: prepared once, then enforced
//! with raw system calls.
//!
//! [`Prepared::new`] does everything that allocates or reads the filesystem:
//! it creates and fills the Landlock ruleset (keeping its close-on-exec
//! descriptor), compiles the seccomp program and builds every C string of
//! the mount steps. [`Prepared::apply`] then only makes system calls on that
//! memory, in this order: private mount namespace with read-only binds
//! (needs privileges that `no_new_privs` and Landlock would take away),
//! `no_new_privs`, Landlock, seccomp. It is async-signal-safe, so it can run
//! in a forked child of our multithreaded parent (the pre-exec route of
//! [`SandboxedChild`](crate::SandboxedChild)); the helper
//! ([`exec_sandboxed_main`]) runs the very same code in its own process.
//!
//! Any failure stops before the exec: the command never runs with less
//! isolation than requested.

mod landlock_rules;
mod mounts;
mod seccomp_filter;

use std::convert::Infallible;
use std::ffi::{CStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

use crate::SandboxError;
use crate::helper_args::HelperRequest;
use crate::policy::SandboxMode;

use mounts::MountPlan;

/// Exit status of the helper (or of a pre-exec child) when the sandbox could
/// not be set up or the helper's arguments were bad. The command did not run.
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
    if let Some(prepared) = Prepared::new(request)? {
        prepared.apply().map_err(StepFailure::into_error)?;
        // The ruleset descriptor is close-on-exec; closing it now is tidier.
        drop(prepared);
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

/// Everything needed to sandbox a process, built before the fork.
///
/// Dropping it closes the Landlock ruleset descriptor (which is
/// close-on-exec, so the command never inherits it either way).
#[derive(Debug)]
pub(crate) struct Prepared {
    mounts: Option<MountPlan>,
    landlock: OwnedFd,
    seccomp: Option<&'static [libc::sock_filter]>,
}

impl Prepared {
    /// Prepares `request`; `None` for `danger-full-access`, where nothing is applied.
    pub(crate) fn new(request: &HelperRequest) -> Result<Option<Self>, SandboxError> {
        match request.mode {
            SandboxMode::DangerFullAccess => return Ok(None),
            SandboxMode::ReadOnly | SandboxMode::WorkspaceWrite => {}
        }
        let mounts = if request.read_only_subpaths.is_empty() {
            None
        } else {
            Some(MountPlan::new(&request.read_only_subpaths)?)
        };
        let landlock = landlock_rules::build_ruleset(request)?;
        let seccomp = if request.network {
            None
        } else {
            Some(seccomp_filter::network_filter()?)
        };
        Ok(Some(Prepared {
            mounts,
            landlock,
            seccomp,
        }))
    }

    /// Sandboxes the calling process: mounts, `no_new_privs`, Landlock, seccomp.
    ///
    /// Async-signal-safe: only system calls on memory owned by `self`, no
    /// allocation and no locks, so it may run between `fork` and `exec` of a
    /// multithreaded parent. Landlock and seccomp apply to the calling thread
    /// only, so the caller must be single-threaded (a forked child is).
    pub(crate) fn apply(&self) -> Result<(), StepFailure<'_>> {
        if let Some(mounts) = &self.mounts {
            mounts.apply()?;
        }
        // SAFETY: PR_SET_NO_NEW_PRIVS takes integer arguments only; prctl is
        // a plain system call (async-signal-safe).
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
            return Err(StepFailure::new(
                "prctl(PR_SET_NO_NEW_PRIVS)",
                None,
                errno(),
            ));
        }
        // SAFETY: landlock_restrict_self takes the ruleset descriptor (owned
        // by `self`, so open) and flags 0; it reads no user memory and is a
        // plain system call (async-signal-safe).
        let rc = unsafe {
            libc::syscall(
                libc::SYS_landlock_restrict_self,
                self.landlock.as_raw_fd(),
                0u32,
            )
        };
        if rc != 0 {
            return Err(StepFailure::new("landlock_restrict_self", None, errno()));
        }
        if let Some(program) = self.seccomp {
            let fprog = libc::sock_fprog {
                // Checked when compiling: 1..=u16::MAX instructions.
                len: program.len() as libc::c_ushort,
                filter: program.as_ptr().cast_mut(),
            };
            // SAFETY: `fprog` is a live stack value pointing at a 'static
            // program of `len` instructions; the kernel copies the program and
            // never writes through the pointer. seccomp is a plain system
            // call (async-signal-safe). no_new_privs is already set.
            let rc = unsafe {
                libc::syscall(
                    libc::SYS_seccomp,
                    libc::SECCOMP_SET_MODE_FILTER,
                    0u32,
                    &fprog as *const libc::sock_fprog,
                )
            };
            if rc != 0 {
                return Err(StepFailure::new(
                    "seccomp(SECCOMP_SET_MODE_FILTER)",
                    None,
                    errno(),
                ));
            }
        }
        Ok(())
    }

    /// [`apply`](Self::apply) for a forked child: on failure, writes
    /// `codex-sandbox: sandbox setup failed: STEP [`PATH`]: os error N` to
    /// stderr and `_exit`s with [`HELPER_SETUP_FAILED`], so the command
    /// never runs unsandboxed. Async-signal-safe, like `apply`.
    pub(crate) fn apply_or_exit(&self) {
        if let Err(failure) = self.apply() {
            failure.report();
            // SAFETY: _exit is async-signal-safe and ends the child at once,
            // without running atexit handlers or destructors inherited from
            // the parent.
            unsafe { libc::_exit(HELPER_SETUP_FAILED) }
        }
    }
}

/// Which step of [`Prepared::apply`] failed, without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StepFailure<'a> {
    step: &'static str,
    path: Option<&'a CStr>,
    errno: i32,
}

impl<'a> StepFailure<'a> {
    fn new(step: &'static str, path: Option<&'a CStr>, errno: i32) -> Self {
        StepFailure { step, path, errno }
    }

    fn into_error(self) -> SandboxError {
        SandboxError::Setup {
            step: self.step,
            path: self
                .path
                .map(|p| PathBuf::from(std::ffi::OsStr::from_bytes(p.to_bytes()))),
            source: io::Error::from_raw_os_error(self.errno),
        }
    }

    /// Writes the failure to fd 2 with `write(2)` only (async-signal-safe).
    fn report(&self) {
        let mut digits = [0u8; 12];
        let errno = format_decimal(self.errno, &mut digits);
        let path = self.path.map(CStr::to_bytes);
        let parts: [&[u8]; 8] = [
            b"codex-sandbox: sandbox setup failed: ",
            self.step.as_bytes(),
            if path.is_some() { b" `" } else { b"" },
            path.unwrap_or(b""),
            if path.is_some() { b"`" } else { b"" },
            b": os error ",
            errno,
            b"\n",
        ];
        for part in parts {
            // SAFETY: write is async-signal-safe; `part` is live for the
            // call. A failed or short write only loses the message, the exit
            // status still says what happened.
            unsafe {
                libc::write(libc::STDERR_FILENO, part.as_ptr().cast(), part.len());
            }
        }
    }
}

/// The calling thread's `errno`, read without allocating.
fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// `n` in decimal into `buf`, without allocating; returns the used tail.
fn format_decimal(n: i32, buf: &mut [u8; 12]) -> &[u8] {
    let negative = n < 0;
    let mut value = n.unsigned_abs();
    let mut start = buf.len();
    loop {
        start -= 1;
        buf[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    if negative {
        start -= 1;
        buf[start] = b'-';
    }
    &buf[start..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn decimal_formatting() {
        let mut buf = [0u8; 12];
        for n in [0, 7, 13, 4095, i32::MAX, i32::MIN, -1] {
            assert_eq!(format_decimal(n, &mut buf), n.to_string().as_bytes());
        }
    }

    #[test]
    fn ruleset_descriptor_is_close_on_exec() {
        let request = HelperRequest {
            mode: SandboxMode::ReadOnly,
            writable_roots: Vec::new(),
            read_only_subpaths: Vec::new(),
            network: false,
            command: vec!["true".into()],
        };
        let prepared = Prepared::new(&request).unwrap().unwrap();
        // SAFETY: F_GETFD on a descriptor we own returns plain integers.
        let flags = unsafe { libc::fcntl(prepared.landlock.as_raw_fd(), libc::F_GETFD) };
        assert_eq!(flags & libc::FD_CLOEXEC, libc::FD_CLOEXEC);
        assert!(prepared.seccomp.is_some_and(|p| !p.is_empty()));
        assert!(prepared.mounts.is_none());
    }

    #[test]
    fn a_failing_step_exits_125_with_a_message_and_never_execs() {
        // A protected path that vanished between preparation and the fork:
        // the bind fails in the child, which must not run the command.
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join(".git");
        std::fs::create_dir(&gone).unwrap();
        let request = HelperRequest {
            mode: SandboxMode::WorkspaceWrite,
            writable_roots: vec![dir.path().to_path_buf()],
            read_only_subpaths: vec![gone.clone()],
            network: false,
            command: vec!["true".into()],
        };
        let prepared = Prepared::new(&request).unwrap().unwrap();
        std::fs::remove_dir(&gone).unwrap();
        let marker = dir.path().join("ran");
        let mut command = Command::new("sh");
        command.arg("-c").arg(format!("touch {}", marker.display()));
        // SAFETY: apply_or_exit is async-signal-safe (see its docs).
        unsafe {
            command.pre_exec(move || {
                prepared.apply_or_exit();
                Ok(())
            });
        }
        let out = command.output().unwrap();
        assert_eq!(out.status.code(), Some(HELPER_SETUP_FAILED));
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!(
                "codex-sandbox: sandbox setup failed: mount(MS_BIND) `{}`: os error {}\n",
                gone.display(),
                libc::ENOENT
            )
        );
        assert!(!marker.exists(), "the command ran");
    }
}
