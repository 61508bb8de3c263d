//! Filesystem and network enforcement per mode, checked against the real kernel.

use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;

use codex_sandbox::{SandboxLauncher, SandboxMode, SandboxPolicy};
use pretty_assertions::assert_eq;

use crate::util::{launcher, run_sh, run_with, scratch, sh};

#[tokio::test]
async fn workspace_write_allows_roots_and_denies_the_rest() {
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
    let outcome = run_sh(SandboxMode::WorkspaceWrite, &script, cwd.path()).await;
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

#[tokio::test]
async fn add_dir_makes_an_extra_root_writable() {
    let cwd = scratch();
    let extra = scratch();
    let mut policy = SandboxPolicy::new(SandboxMode::WorkspaceWrite);
    policy.writable_roots = vec![extra.path().to_path_buf()];
    let script = format!("echo x > {}/added.txt", extra.path().display());
    let outcome = run_with(&policy, sh(&script, cwd.path())).await;
    assert_eq!(outcome.exit_code, 0, "{outcome:?}");
    assert!(extra.path().join("added.txt").exists());
}

#[tokio::test]
async fn read_only_denies_every_write_but_sink_devices() {
    let cwd = scratch();
    let in_tmp = tempfile::tempdir_in("/tmp").unwrap();
    let script = format!(
        "echo x > /dev/null && echo null-ok; \
         head -c 1 /dev/zero > /dev/null && echo zero-ok; \
         echo x > file.txt || echo cwd-denied; \
         echo x > {}/t.txt || echo tmp-denied",
        in_tmp.path().display()
    );
    let outcome = run_sh(SandboxMode::ReadOnly, &script, cwd.path()).await;
    assert_eq!(
        outcome.stdout.text(),
        "null-ok\nzero-ok\ncwd-denied\ntmp-denied\n"
    );
    assert!(!cwd.path().join("file.txt").exists());
    assert!(!in_tmp.path().join("t.txt").exists());
}

#[tokio::test]
async fn git_and_codex_stay_read_only_under_workspace_write() {
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
    let outcome = run_sh(SandboxMode::WorkspaceWrite, script, cwd.path()).await;
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
    // The read-only bind lived in the helper's own mount namespace only.
    fs::write(cwd.path().join(".git/HEAD"), "changed outside\n").unwrap();
}

#[tokio::test]
async fn unprivileged_user_gets_the_same_protection() {
    // setpriv drops to nobody before the helper starts, so the helper takes
    // the user-namespace path for its mount namespace.
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
    let helper = env!("CARGO_BIN_EXE_codex-sandbox-helper");
    let reachable = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "test",
            "-x",
            helper,
            "-a",
            "-w",
        ])
        .arg(cwd.path())
        .status()
        .is_ok_and(|status| status.success());
    if !reachable {
        eprintln!(
            "skipped: uid 65534 cannot reach {helper} or write {}",
            cwd.path().display()
        );
        return;
    }
    let launcher = SandboxLauncher::new(
        "setpriv",
        ["--reuid=65534", "--regid=65534", "--clear-groups", helper],
    );
    let script = "id -u; echo x > file.txt && echo wrote-file; \
                  echo x > .git/HEAD || echo head-denied";
    let spec = sh(script, cwd.path());
    let policy = SandboxPolicy::new(SandboxMode::WorkspaceWrite);
    let outcome = codex_sandbox::run(&spec, &policy, &launcher).await.unwrap();
    assert_eq!(
        outcome.stdout.text(),
        "65534\nwrote-file\nhead-denied\n",
        "{}",
        outcome.stderr.text()
    );
    assert_eq!(
        fs::read_to_string(cwd.path().join(".git/HEAD")).unwrap(),
        "head\n"
    );
}

#[tokio::test]
async fn tcp_connect_follows_the_network_policy() {
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
        let outcome = run_with(&policy, spec).await;
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

#[tokio::test]
async fn helper_failures_have_distinct_exit_codes() {
    let cwd = scratch();
    let spec = codex_sandbox::CommandSpec::new(
        vec!["codex-no-such-command".into()],
        cwd.path().to_path_buf(),
        codex_sandbox::ShellEnvironmentPolicy::default().apply(std::env::vars_os()),
    );
    let outcome = run_with(&SandboxPolicy::new(SandboxMode::ReadOnly), spec).await;
    assert_eq!(outcome.exit_code, codex_sandbox::HELPER_NOT_FOUND);
    assert!(
        outcome
            .stderr
            .text()
            .starts_with("codex-sandbox: failed to execute `codex-no-such-command`")
    );

    let out = std::process::Command::new(launcher().helper)
        .args(["--mode", "read-only"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(codex_sandbox::HELPER_SETUP_FAILED));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "codex-sandbox: bad sandbox helper arguments: missing `-- COMMAND` (at \"\")\n"
    );
}
