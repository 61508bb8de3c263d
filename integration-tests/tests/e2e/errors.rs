//! Bad input of every kind gets a clear error naming where, exit 1 (2 for
//! usage), no panic and no backtrace.

use codex_integration_tests::{Run, TestEnv};

fn assert_clean_failure(run: &Run, code: i32) {
    assert_eq!(run.code, code, "{}", run.transcript());
    for noise in ["panicked", "backtrace", "RUST_BACKTRACE", "Location:"] {
        assert!(!run.stderr.contains(noise), "{}", run.stderr);
    }
    assert!(run.stdout.is_empty(), "nothing on stdout: {}", run.stdout);
}

#[test]
fn malformed_inputs() {
    let mut cases: Vec<(&str, Run)> = Vec::new();

    let env = TestEnv::new();
    env.write_config("[mcp_servers.docs]\ncommand = \"docs\"\nargs = [\"unterminated\n");
    cases.push(("config syntax", env.codex(&["mcp", "list"])));

    let env = TestEnv::new();
    env.write_config("[mcp_servers.docs]\ncommand = \"docs\"\nurl = \"https://h/\"\n");
    cases.push(("both command and url", env.codex(&["mcp", "list"])));

    let env = TestEnv::new();
    env.write_config("[mcp_servers.docs]\nenabled = true\n");
    cases.push(("neither command nor url", env.codex(&["mcp", "list"])));

    let env = TestEnv::new();
    env.write_config("[mcp_servers.web]\nurl = \"https://h/\"\nenv = { A = \"b\" }\n");
    cases.push(("stdio field on http", env.codex(&["mcp", "get", "web"])));

    let env = TestEnv::new();
    cases.push((
        "override without =",
        env.codex(&["mcp", "list", "-c", "novalue"]),
    ));
    cases.push((
        "override empty key",
        env.codex(&["-c", "=1", "mcp", "list"]),
    ));
    cases.push((
        "override breaks a server",
        env.codex(&["mcp", "list", "-c", "mcp_servers.x.enabled=true"]),
    ));
    cases.push((
        "override with a wrong type",
        env.codex(&["mcp", "list", "-c", "mcp_servers.x.command=[1]"]),
    ));

    let mut env = TestEnv::new();
    env.requirements_file("[mcp_server_allowlist.docs\ncommand = \"x\"\n");
    cases.push(("requirements syntax", env.codex(&["mcp", "list"])));

    let mut env = TestEnv::new();
    env.requirements_file("[mcp_servers.docs]\ncommand = \"x\"\n");
    cases.push((
        "requirements rule without identity",
        env.codex(&["mcp", "list"]),
    ));

    let mut env = TestEnv::new();
    env.set_var("CODEX_REQUIREMENTS_TOML_BASE64", "not base64!");
    cases.push(("requirements base64", env.codex(&["mcp", "list"])));

    let mut env = TestEnv::new();
    env.requirements_base64("allowed_sandbox_modes = [\"workspace-write\"]\n");
    cases.push((
        "requirements missing read-only",
        env.codex(&["mcp", "list"]),
    ));

    let mut env = TestEnv::new();
    env.requirements_file("allowed_approval_policies = [\"never\"]\n");
    env.requirements_base64("allowed_approval_policies = [\"on-request\"]\n");
    cases.push(("requirements conflict", env.codex(&["mcp", "list"])));

    let mut env = TestEnv::new();
    env.set_var("CODEX_HOME", "/definitely/not/here");
    cases.push(("CODEX_HOME missing", env.codex(&["mcp", "list"])));

    let mut transcript = String::new();
    for (name, run) in &cases {
        assert_clean_failure(run, 1);
        transcript.push_str(&format!("## {name}\n{}\n", run.stderr));
    }
    insta::assert_snapshot!("malformed_inputs", transcript);
}

#[test]
fn broken_config_is_never_rewritten() {
    let env = TestEnv::new();
    env.write_config("model = \n");
    let add = env.codex(&["mcp", "add", "docs", "--", "x"]);
    assert_clean_failure(&add, 1);
    assert_eq!(env.read_config(), "model = \n");
}

#[test]
fn usage_errors_exit_2() {
    let env = TestEnv::new();
    for args in [
        &["mcp"][..],
        &["mcp", "list", "--bogus"],
        &["mcp", "get"],
        &["mcp", "nonsense"],
        &["-m", "o3", "mcp", "list"],
        &["requirements", "explain"],
    ] {
        let run = env.codex(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.transcript());
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
}

#[test]
fn unknown_keys_warn_but_do_not_fail() {
    let mut env = TestEnv::new();
    env.write_config("[mcp_servers.docs]\ncommand = \"docs\"\ntype = \"stdio\"\n");
    env.requirements_file(
        "allowed_web_search_modes = []\n[mcp_server_allowlist.docs]\ncommand = \"docs\"\nhash = \"x\"\n",
    );
    let run = env.codex(&["mcp", "list"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    insta::assert_snapshot!("unknown_keys_warn", run.stderr);
}

#[test]
fn disallowed_sandbox_mode_falls_back_with_a_warning() {
    let mut env = TestEnv::new();
    env.write_config("sandbox_mode = \"danger-full-access\"\n");
    env.requirements_file("allowed_sandbox_modes = [\"read-only\", \"workspace-write\"]\n");
    let run = env.codex(&["requirements", "show", "--json"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(json["effective"]["sandbox_mode"], "read-only");
    assert_eq!(
        run.stderr,
        "warning: Configured value for `sandbox_mode` is disallowed by requirements; falling \
         back to required value read-only. Details: invalid value for `sandbox_mode`: \
         `danger-full-access` is not in the allowed set [read-only, workspace-write] (set by \
         [TMP]/requirements.toml)\n"
    );
}
