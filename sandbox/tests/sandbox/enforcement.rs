//! Filesystem and network enforcement per mode, checked against the real kernel.

use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;

use codex_sandbox::{SandboxError, SandboxLauncher, SandboxMode, SandboxPolicy, SpawnRoute};
use pretty_assertions::assert_eq;

use crate::util::{for_both_routes, launcher, run_sh, run_with, scratch, sh};

for_both_routes!(
    workspace_write_allows_roots_and_denies_the_rest,
    add_dir_makes_an_extra_root_writable,
    read_only_denies_every_write_but_sink_devices,
    git_and_codex_stay_read_only_under_workspace_write,
    tcp_connect_follows_the_network_policy,
    udp_and_inet_sockets_are_denied_without_network,
    exec_failures_are_reported,
    the_command_inherits_no_landlock_descriptor,
);

async fn workspace_write_allows_roots_and_denies_the_rest(route: SpawnRoute) {
    let cwd = scratch();
    let outside = scratch();
    let in_tmp = tempfile::tempdir_in("/tmp").unwrap();
    let script = format!(
        "echo in > inside.txt && echo wrote-cwd; \
         echo tmp > {tmp}/t.txt && echo wrote-tmp; \
         echo out > {out}/outside.txt || echo outside-denied",
        tmp = in_tmp.path().display(),
        out = outside.path().display(),
    );
    let outcome = run_sh(route, SandboxMode::WorkspaceWrite, &script, cwd.path()).await;
    assert_eq!(
        outcome.stdout.text(),
        "wrote-cwd\nwrote-tmp\noutside-denied\n"
    );
    assert!(
        outcome.stderr.text().contains("Permission denied"),
        "{outcome:?}"
    );
    assert_eq!(
        fs::read_to_string(cwd.path().join("inside.txt")).unwrap(),
        "in\n"
    );
    assert_eq!(
        fs::read_to_string(in_tmp.path().join("t.txt")).unwrap(),
        "tmp\n"
    );
    assert!(!outside.path().join("outside.txt").exists());
}

async fn add_dir_makes_an_extra_root_writable(route: SpawnRoute) {
    let cwd = scratch();
    let extra = scratch();
    let mut policy = SandboxPolicy::new(SandboxMode::WorkspaceWrite);
    policy.writable_roots = vec![extra.path().to_path_buf()];
    let script = format!("echo x > {}/added.txt", extra.path().display());
    let outcome = run_with(route, &policy, sh(&script, cwd.path())).await;
    assert_eq!(outcome.exit_code, 0, "{outcome:?}");
    assert!(extra.path().join("added.txt").exists());
}

async fn read_only_denies_every_write_but_sink_devices(route: SpawnRoute) {
    let cwd = scratch();
    let in_tmp = tempfile::tempdir_in("/tmp").unwrap();
    let script = format!(
        "echo x > /dev/null && echo null-ok; \
         head -c 1 /dev/zero > /dev/null && echo zero-ok; \
         echo x > file.txt || echo cwd-denied; \
         echo x > {}/t.txt || echo tmp-denied",
        in_tmp.path().display()
    );
    let outcome = run_sh(route, SandboxMode::ReadOnly, &script, cwd.path()).await;
    assert_eq!(
        outcome.stdout.text(),
        "null-ok\nzero-ok\ncwd-denied\ntmp-denied\n"
    );
    assert!(!cwd.path().join("file.txt").exists());
    assert!(!in_tmp.path().join("t.txt").exists());
}

async fn git_and_codex_stay_read_only_under_workspace_write(route: SpawnRoute) {
    let cwd = scratch();
    fs::create_dir(cwd.path().join(".git")).unwrap();
    fs::write(cwd.path().join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    fs::create_dir(cwd.path().join(".codex")).unwrap();
    let script = "echo new > file.txt && echo wrote-file; \
                  echo x > .git/HEAD || echo head-denied; \
                  touch .git/new || echo create-denied; \
                  mv .git moved || echo rename-denied; \
                  umount .git || echo umount-denied; \
                  echo x > .codex/config.toml || echo codex-denied";
    let outcome = run_sh(route, SandboxMode::WorkspaceWrite, script, cwd.path()).await;
    assert_eq!(
        outcome.stdout.text(),
        "wrote-file\nhead-denied\ncreate-denied\nrename-denied\numount-denied\ncodex-denied\n",
        "{}",
        outcome.stderr.text()
    );
    assert!(
        outcome.stderr.text().contains("Read-only file system"),
        "{outcome:?}"
    );
    assert_eq!(
        fs::read_to_string(cwd.path().join(".git/HEAD")).unwrap(),
        "ref: refs/heads/main\n"
    );
    // The read-only bind lived in the sandboxed process's own mount namespace only.
    fs::write(cwd.path().join(".git/HEAD"), "changed outside\n").unwrap();
}

const AS_NOBODY: [&str; 3] = ["--reuid=65534", "--regid=65534", "--clear-groups"];
const UNPRIVILEGED_SCRIPT: &str = "id -u; echo x > file.txt && echo wrote-file; \
                                   echo x > .git/HEAD || echo head-denied";
const UNPRIVILEGED_EXPECTED: &str = "65534\nwrote-file\nhead-denied\n";
/// Names the checkout for [`pre_exec_route_as_nobody_inner`].
const UNPRIVILEGED_CWD_VAR: &str = "CODEX_SANDBOX_TEST_UNPRIVILEGED_CWD";

/// A checkout with a `.git` that uid 65534 may write to, provided uid 65534
/// can execute `program`; `None` (test skipped) when it cannot.
fn checkout_for_nobody(program: &str) -> Option<tempfile::TempDir> {
    let cwd = scratch();
    fs::create_dir(cwd.path().join(".git")).unwrap();
    fs::write(cwd.path().join(".git/HEAD"), "head\n").unwrap();
    for dir in [cwd.path(), &cwd.path().join(".git")] {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o777)).unwrap();
    }
    fs::set_permissions(
        cwd.path().join(".git/HEAD"),
        fs::Permissions::from_mode(0o666),
    )
    .unwrap();
    // The checkout may sit where nobody cannot reach it; then there is
    // nothing to test here (the root path is covered above).
    let reachable = std::process::Command::new("setpriv")
        .args(AS_NOBODY)
        .args(["test", "-x", program, "-a", "-w"])
        .arg(cwd.path())
        .status()
        .is_ok_and(|status| status.success());
    if !reachable {
        eprintln!(
            "skipped: uid 65534 cannot reach {program} or write {}",
            cwd.path().display()
        );
        return None;
    }
    Some(cwd)
}

#[tokio::test]
async fn unprivileged_user_gets_the_same_protection() {
    // setpriv drops to nobody before the helper starts, so the helper takes
    // the user-namespace path for its mount namespace.
    let helper = env!("CARGO_BIN_EXE_codex-sandbox-helper");
    let Some(cwd) = checkout_for_nobody(helper) else {
        return;
    };
    let launcher = SandboxLauncher::new("setpriv", AS_NOBODY.into_iter().chain([helper]))
        .with_route(SpawnRoute::Helper);
    let spec = sh(UNPRIVILEGED_SCRIPT, cwd.path());
    let policy = SandboxPolicy::new(SandboxMode::WorkspaceWrite);
    let outcome = codex_sandbox::run(&spec, &policy, &launcher).await.unwrap();
    assert_eq!(
        outcome.stdout.text(),
        UNPRIVILEGED_EXPECTED,
        "{}",
        outcome.stderr.text()
    );
    assert_eq!(
        fs::read_to_string(cwd.path().join(".git/HEAD")).unwrap(),
        "head\n"
    );
}

#[test]
fn unprivileged_parent_gets_the_same_protection_on_the_pre_exec_route() {
    // The pre-exec route sandboxes in a child of the spawning process, so
    // that process itself must be unprivileged: run this test binary again as
    // nobody, with only the inner test below selected. The forked child then
    // takes the user-namespace path (uid/gid map writes between fork and exec).
    let exe = std::env::current_exe().unwrap();
    let Some(cwd) = checkout_for_nobody(exe.to_str().unwrap()) else {
        return;
    };
    let out = std::process::Command::new("setpriv")
        .args(AS_NOBODY)
        .arg(&exe)
        .args([
            "enforcement::pre_exec_route_as_nobody_inner",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(UNPRIVILEGED_CWD_VAR, cwd.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        fs::read_to_string(cwd.path().join(".git/HEAD")).unwrap(),
        "head\n"
    );
    assert!(cwd.path().join("file.txt").exists());
}

/// Run by the test above as uid 65534; does nothing when run otherwise.
#[tokio::test]
#[ignore = "run as nobody by unprivileged_parent_gets_the_same_protection_on_the_pre_exec_route"]
async fn pre_exec_route_as_nobody_inner() {
    let Some(cwd) = std::env::var_os(UNPRIVILEGED_CWD_VAR) else {
        return;
    };
    // SAFETY: getuid has no preconditions and cannot fail.
    assert_eq!(unsafe { libc::getuid() }, 65534);
    let spec = sh(UNPRIVILEGED_SCRIPT, std::path::Path::new(&cwd));
    let policy = SandboxPolicy::new(SandboxMode::WorkspaceWrite);
    let outcome = codex_sandbox::run(&spec, &policy, &launcher(SpawnRoute::PreExec))
        .await
        .unwrap();
    assert_eq!(
        outcome.stdout.text(),
        UNPRIVILEGED_EXPECTED,
        "{}",
        outcome.stderr.text()
    );
}

async fn tcp_connect_follows_the_network_policy(route: SpawnRoute) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let script = format!("exec 3<>/dev/tcp/127.0.0.1/{port} && echo connected");
    let mut networked = SandboxPolicy::new(SandboxMode::WorkspaceWrite);
    networked.network_access = true;
    let rows = [
        (SandboxPolicy::new(SandboxMode::ReadOnly), false),
        (SandboxPolicy::new(SandboxMode::WorkspaceWrite), false),
        (networked, true),
        (SandboxPolicy::new(SandboxMode::DangerFullAccess), true),
    ];
    let cwd = scratch();
    for (policy, connects) in rows {
        let mut spec = sh(&script, cwd.path());
        spec.argv[0] = "bash".into();
        let outcome = run_with(route, &policy, spec).await;
        let got = (outcome.exit_code == 0, outcome.stdout.text());
        let expected = if connects {
            (true, "connected\n".to_string())
        } else {
            (false, String::new())
        };
        assert_eq!(got, expected, "{policy:?}: {}", outcome.stderr.text());
        if !connects {
            assert!(
                outcome.stderr.text().contains("Operation not permitted"),
                "{policy:?}: {outcome:?}"
            );
        }
    }
}

/// The helper reports exec failures as exit codes 127/126; the pre-exec
/// route, like `danger-full-access`, as a spawn error.
async fn exec_failures_are_reported(route: SpawnRoute) {
    let cwd = scratch();
    let spec = codex_sandbox::CommandSpec::new(
        vec!["codex-no-such-command".into()],
        cwd.path().to_path_buf(),
        codex_sandbox::ShellEnvironmentPolicy::default().apply(std::env::vars_os()),
    );
    let policy = SandboxPolicy::new(SandboxMode::ReadOnly);
    let result = codex_sandbox::run(&spec, &policy, &launcher(route)).await;
    match route {
        SpawnRoute::Helper => {
            let outcome = result.unwrap();
            assert_eq!(outcome.exit_code, codex_sandbox::HELPER_NOT_FOUND);
            assert!(
                outcome
                    .stderr
                    .text()
                    .starts_with("codex-sandbox: failed to execute `codex-no-such-command`")
            );
        }
        SpawnRoute::PreExec => match result {
            Err(SandboxError::Spawn { program, source }) => {
                assert_eq!(program, std::path::Path::new("codex-no-such-command"));
                assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
            }
            other => panic!("expected a spawn error, got {other:?}"),
        },
    }
}

#[test]
fn helper_rejects_bad_arguments() {
    let out = std::process::Command::new(launcher(SpawnRoute::Helper).helper)
        .args(["--mode", "read-only"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(codex_sandbox::HELPER_SETUP_FAILED));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "codex-sandbox: bad sandbox helper arguments: missing `-- COMMAND` (at \"\")\n"
    );
}

/// Not only TCP (which Landlock also blocks): seccomp refuses every
/// non-`AF_UNIX` socket, while `AF_UNIX` keeps working.
async fn udp_and_inet_sockets_are_denied_without_network(route: SpawnRoute) {
    if std::process::Command::new("python3")
        .args(["-c", ""])
        .status()
        .is_err()
    {
        eprintln!("skipped: no python3");
        return;
    }
    let cwd = scratch();
    let script = "import socket\n\
                  for family, kind in [(socket.AF_INET, socket.SOCK_DGRAM), \
                  (socket.AF_INET6, socket.SOCK_STREAM), (socket.AF_UNIX, socket.SOCK_STREAM)]:\n\
                  \ttry:\n\
                  \t\tsocket.socket(family, kind).close(); print('ok')\n\
                  \texcept OSError as e:\n\
                  \t\tprint(e.errno)\n";
    let spec = codex_sandbox::CommandSpec::new(
        vec!["python3".into(), "-c".into(), script.into()],
        cwd.path().to_path_buf(),
        codex_sandbox::ShellEnvironmentPolicy::default().apply(std::env::vars_os()),
    );
    let outcome = run_with(
        route,
        &SandboxPolicy::new(SandboxMode::WorkspaceWrite),
        spec,
    )
    .await;
    assert_eq!(
        outcome.stdout.text(),
        format!("{eperm}\n{eperm}\nok\n", eperm = libc::EPERM),
        "{}",
        outcome.stderr.text()
    );
}

/// The Landlock ruleset descriptor is close-on-exec: the command never
/// holds an `anon_inode:landlock-ruleset` (it could not add rules to its own
/// domain with it, but it has no business holding it either).
async fn the_command_inherits_no_landlock_descriptor(route: SpawnRoute) {
    let cwd = scratch();
    let outcome = run_sh(
        route,
        SandboxMode::WorkspaceWrite,
        "for fd in /proc/$$/fd/*; do echo \"$fd $(readlink \"$fd\")\"; done",
        cwd.path(),
    )
    .await;
    let links = outcome.stdout.text();
    // Its stdio are there (so the listing worked), the ruleset is not.
    assert!(links.contains("/fd/1 pipe:"), "{outcome:?}");
    assert!(!links.contains("landlock"), "{links}");
}
