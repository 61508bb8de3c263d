//! `codex sandbox linux` against the real kernel: Landlock for files,
//! seccomp for the network, a private mount namespace for `.git`, and
//! requirements that constrain the mode.

use std::net::TcpListener;

use codex_integration_tests::TestEnv;
use pretty_assertions::assert_eq;

fn sh(env: &TestEnv, mode: &[&str], script: &str) -> codex_integration_tests::Run {
    let mut args = vec!["sandbox", "linux"];
    args.extend(mode);
    args.extend(["--", "sh", "-c", script]);
    env.codex(&args)
}

#[test]
fn read_only_denies_every_write() {
    let env = TestEnv::new();
    let run = sh(&env, &["-s", "read-only"], "echo x > file");
    assert_ne!(run.code, 0, "{}", run.transcript());
    assert!(!env.work_dir().join("file").exists());
}

#[test]
fn workspace_write_allows_the_cwd_only() {
    let env = TestEnv::new();
    let outside = codex_integration_tests::outside_writable_roots("ww");
    let target = outside.join("escape");
    let run = sh(
        &env,
        &["--full-auto"],
        &format!("echo in > inside && echo out > {}", target.display()),
    );
    assert_ne!(run.code, 0, "{}", run.transcript());
    assert_eq!(
        std::fs::read_to_string(env.work_dir().join("inside"))
            .ok()
            .as_deref(),
        Some("in\n")
    );
    assert!(!target.exists(), "wrote outside the writable roots");
    // --add-dir makes it writable.
    let add = outside.to_string_lossy().into_owned();
    let run = sh(
        &env,
        &["--full-auto", "--add-dir", &add],
        &format!("echo out > {}", target.display()),
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(target.exists());
    let _ = std::fs::remove_dir_all(outside);
}

#[test]
fn dot_git_stays_read_only_under_workspace_write() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.work_dir().join(".git")).expect("git dir");
    let run = sh(&env, &["--full-auto"], "echo x > .git/config");
    assert_ne!(run.code, 0, "{}", run.transcript());
    assert!(!env.work_dir().join(".git/config").exists());
    let run = sh(&env, &["--full-auto"], "echo x > tracked.txt");
    assert_eq!(run.code, 0, "{}", run.transcript());
}

#[test]
fn network_is_off_unless_allowed() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let connect = format!(
        "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", {port}), timeout=10)'"
    );
    let env = TestEnv::new();
    let denied = sh(&env, &["--full-auto"], &connect);
    assert_ne!(denied.code, 0, "{}", denied.transcript());
    let allowed = sh(&env, &["-s", "danger-full-access"], &connect);
    assert_eq!(allowed.code, 0, "{}", allowed.transcript());
    env.write_config("[sandbox_workspace_write]\nnetwork_access = true\n");
    let enabled = sh(&env, &["--full-auto"], &connect);
    assert_eq!(enabled.code, 0, "{}", enabled.transcript());
}

#[test]
fn exit_codes_pass_through() {
    let env = TestEnv::new();
    assert_eq!(sh(&env, &[], "exit 7").code, 7);
    assert_eq!(sh(&env, &[], "kill -TERM $$").code, 128 + 15);
}

#[test]
fn disallowed_mode_falls_back_with_a_warning_naming_the_source() {
    let mut env = TestEnv::new();
    env.requirements_file("allowed_sandbox_modes = [\"read-only\"]\n");
    let run = sh(&env, &["-s", "danger-full-access"], "echo x > file");
    assert_ne!(run.code, 0, "fell back to read-only: {}", run.transcript());
    assert!(
        run.stderr.starts_with(
            "warning: Configured value for `sandbox_mode` is disallowed by requirements; \
             falling back to required value read-only. Details: invalid value for \
             `sandbox_mode`: `danger-full-access` is not in the allowed set [read-only] \
             (set by [TMP]/requirements.toml)\n"
        ),
        "{}",
        run.stderr
    );
    // The same from config.
    env.write_config("sandbox_mode = \"workspace-write\"\n");
    let run = sh(&env, &[], "echo x > file");
    assert_ne!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("`workspace-write` is not in the allowed set"),
        "{}",
        run.stderr
    );
}

#[test]
fn shell_environment_policy_filters() {
    let env = TestEnv::new();
    env.write_config(
        "[shell_environment_policy]\ninherit = \"core\"\nset = { FROM_POLICY = \"yes\" }\n",
    );
    let mut command = env.command(&["sandbox", "linux", "--", "env"]);
    command.env("SECRET_API_TOKEN", "leak");
    let output = command.output().expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(stdout.contains("FROM_POLICY=yes\n"), "{stdout}");
    assert!(stdout.contains("PATH="), "{stdout}");
    assert!(!stdout.contains("SECRET_API_TOKEN"), "{stdout}");
}
