//! Shared helpers for the end-to-end tests.

use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use codex_sandbox::{
    CommandSpec, ExecOutcome, SandboxLauncher, SandboxMode, SandboxPolicy, ShellEnvironmentPolicy,
    SpawnRoute,
};
use tempfile::TempDir;
use tokio::io::unix::AsyncFd;

/// The launcher for this crate's helper binary, taking `route`.
pub(crate) fn launcher(route: SpawnRoute) -> SandboxLauncher {
    SandboxLauncher::new(
        env!("CARGO_BIN_EXE_codex-sandbox-helper"),
        Vec::<String>::new(),
    )
    .with_route(route)
}

/// Defines each listed `async fn name(route: SpawnRoute)` of the enclosing
/// module as two tests, `helper_route::name` and `pre_exec_route::name`, so
/// that every check runs once per [`SpawnRoute`].
macro_rules! for_both_routes {
    ($($name:ident),* $(,)?) => {
        mod helper_route {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(codex_sandbox::SpawnRoute::Helper).await
                }
            )*
        }
        mod pre_exec_route {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(codex_sandbox::SpawnRoute::PreExec).await
                }
            )*
        }
    };
}
pub(crate) use for_both_routes;

/// A fresh directory outside every default writable root: under cargo's
/// target dir, or `/var/tmp` when that is under `/tmp` or `$TMPDIR`.
pub(crate) fn scratch() -> TempDir {
    let tmpdir = std::env::var_os("TMPDIR").map(std::path::PathBuf::from);
    let writable = |path: &Path| {
        path.starts_with("/tmp") || tmpdir.as_deref().is_some_and(|t| path.starts_with(t))
    };
    let base = [
        Path::new(env!("CARGO_TARGET_TMPDIR")),
        Path::new("/var/tmp"),
    ]
    .into_iter()
    .find(|base| !writable(base))
    .expect("a scratch base outside /tmp and $TMPDIR");
    tempfile::tempdir_in(base).unwrap()
}

/// `sh -c script` in `cwd` with the inherited environment.
pub(crate) fn sh(script: &str, cwd: &Path) -> CommandSpec {
    let env = ShellEnvironmentPolicy::default().apply(std::env::vars_os());
    CommandSpec::new(
        vec!["sh".into(), "-c".into(), script.into()],
        cwd.to_path_buf(),
        env,
    )
}

/// Runs `script` in `cwd` under a fresh policy of `mode`, taking `route`.
pub(crate) async fn run_sh(
    route: SpawnRoute,
    mode: SandboxMode,
    script: &str,
    cwd: &Path,
) -> ExecOutcome {
    run_with(route, &SandboxPolicy::new(mode), sh(script, cwd)).await
}

/// Runs `spec` under `policy` with the test launcher, taking `route`.
pub(crate) async fn run_with(
    route: SpawnRoute,
    policy: &SandboxPolicy,
    spec: CommandSpec,
) -> ExecOutcome {
    codex_sandbox::run(&spec, policy, &launcher(route))
        .await
        .unwrap()
}

/// Waits (generously) until process `pid` has exited, whoever its parent is.
pub(crate) async fn wait_gone(pid: i32) {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0u32) };
    if fd < 0 {
        // Already gone and reaped.
        assert_eq!(
            std::io::Error::last_os_error().raw_os_error(),
            Some(libc::ESRCH)
        );
        return;
    }
    // SAFETY: the kernel just returned this descriptor; we own it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    // SAFETY: the AsyncFd owns the OwnedFd, so it stays open and unchanged.
    let fd = unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }.unwrap();
    tokio::time::timeout(Duration::from_secs(20), fd.readable())
        .await
        .unwrap_or_else(|_| panic!("process {pid} is still alive"))
        .unwrap()
        .retain_ready();
}
