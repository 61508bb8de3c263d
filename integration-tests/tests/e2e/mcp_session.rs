//! `codex mcp tools` and `codex mcp call`: real sessions against our test
//! server, through the binary.

use codex_integration_tests::{TestEnv, redact_timings, test_server_bin};
use pretty_assertions::assert_eq;

fn server(name: &str, extra: &str) -> String {
    format!(
        "[mcp_servers.{name}]\ncommand = {:?}\n{extra}\n",
        test_server_bin().display().to_string()
    )
}

fn tools_env() -> TestEnv {
    let mut env = TestEnv::new();
    let config = [
        server("test", ""),
        server(
            "crashy",
            "args = [\"--crash-on-init\"]\nmax_restarts = 2\nrestart_backoff_ms = 10",
        ),
        server(
            "filtered",
            "enabled_tools = [\"echo\", \"add\", \"crash\"]\ndisabled_tools = [\"crash\"]",
        ),
        server("off", "enabled = false"),
        server("blocked", ""),
    ]
    .concat();
    env.write_config(&config);
    let bin = test_server_bin().display().to_string();
    env.requirements_file(&format!(
        "[mcp_server_allowlist.\"*\"]\ncommand = {bin:?}\n[mcp_server_denylist.blocked]\n"
    ));
    env
}

#[test]
fn tools_reports_every_server() {
    let env = tools_env();
    let run = env.codex(&["mcp", "tools"]);
    assert_eq!(run.code, 1, "crashy never starts: {}", run.transcript());
    insta::assert_snapshot!("tools_text", redact_timings(&run.transcript()));
}

#[test]
fn tools_json_and_single_server() {
    let env = tools_env();
    let run = env.codex(&["mcp", "tools", "filtered", "--json"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    let servers = json.as_array().expect("array");
    assert_eq!(servers.len(), 1);
    assert_eq!(servers[0]["status"], "ready");
    let names: Vec<&str> = servers[0]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .map(|t| t["qualified_name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["mcp__filtered__add", "mcp__filtered__echo"]);
    let missing = env.codex(&["mcp", "tools", "nope"]);
    assert_eq!(missing.code, 1);
    assert_eq!(missing.stderr, "Error: No MCP server named 'nope' found.\n");
}

#[test]
fn calls_route_through_the_session() {
    let env = tools_env();
    let echo = env.codex(&[
        "mcp",
        "call",
        "test",
        "echo",
        "--args",
        r#"{"text": "hi there"}"#,
    ]);
    assert_eq!(
        (echo.code, echo.stdout.as_str()),
        (0, "hi there\n"),
        "{}",
        echo.transcript()
    );
    let add = env.codex(&[
        "mcp",
        "call",
        "test",
        "add",
        "--args",
        r#"{"a": 2, "b": 40}"#,
        "--json",
    ]);
    let json: serde_json::Value = serde_json::from_str(&add.stdout).expect("json");
    assert_eq!(json["content"][0]["text"], "42");

    let runs = [
        env.codex(&["mcp", "call", "filtered", "crash"]),
        env.codex(&["mcp", "call", "test", "no_such_tool"]),
        env.codex(&["mcp", "call", "blocked", "echo"]),
        env.codex(&["mcp", "call", "off", "echo"]),
        env.codex(&["mcp", "call", "nope", "echo"]),
    ];
    for run in &runs {
        assert_eq!(run.code, 1, "{}", run.transcript());
    }
    insta::assert_snapshot!(
        "call_errors",
        runs.iter()
            .map(|r| r.transcript())
            .collect::<Vec<_>>()
            .join("\n")
    );
    for args in [r#"{"a": "#, "[1, 2]"] {
        let bad = env.codex(&["mcp", "call", "test", "add", "--args", args]);
        assert_eq!(bad.code, 2, "{}", bad.transcript());
    }
}

#[test]
fn startup_and_tool_timeouts_are_errors_not_hangs() {
    let env = TestEnv::new();
    env.write_config(&[
        server(
            "slow",
            "args = [\"--slow-init-ms\", \"60000\"]\nstartup_timeout_sec = 0.5\nmax_restarts = 0",
        ),
        server("sleepy", "tool_timeout_sec = 0.5"),
    ]
    .concat());
    let started = std::time::Instant::now();
    let tools = env.codex(&["mcp", "tools", "slow"]);
    assert_eq!(tools.code, 1, "{}", tools.transcript());
    // Reported after its first attempt, whether or not the supervisor has
    // given up on it yet.
    assert!(
        tools.stdout.starts_with("slow: failed: ")
            && tools
                .stdout
                .contains("MCP client for `slow` timed out after 0.5 seconds"),
        "{}",
        tools.stdout
    );
    let call = env.codex(&[
        "mcp",
        "call",
        "sleepy",
        "sleep",
        "--args",
        r#"{"ms": 60000}"#,
    ]);
    assert_eq!(call.code, 1, "{}", call.transcript());
    assert_eq!(
        call.stderr,
        "Error: timed out awaiting tools/call after 500ms (tool 'sleep' on MCP server 'sleepy')\n"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "no hang"
    );
}

#[test]
fn a_required_server_that_fails_fails_the_session() {
    let env = TestEnv::new();
    env.write_config(&server(
        "must",
        "args = [\"--crash-on-init\"]\nrequired = true\nmax_restarts = 0",
    ));
    let run = env.codex(&["mcp", "tools"]);
    assert_eq!(run.code, 1);
    // Reported after its first attempt (whether the supervisor has given
    // up on it yet or not).
    assert!(
        run.stderr
            .starts_with("Error: required MCP servers failed to initialize: must: ")
            && run.stderr.contains("MCP client for `must` failed to start"),
        "{}",
        run.stderr
    );
}

fn write_args(path: &std::path::Path) -> String {
    serde_json::json!({"path": path.display().to_string(), "text": "x"}).to_string()
}

#[test]
fn a_sandboxed_server_cannot_write_outside_its_roots() {
    let env = TestEnv::new();
    env.write_config(&server("fs", "sandbox = \"workspace-write\""));
    let outside = codex_integration_tests::outside_writable_roots("mcp-ww").join("escape.txt");
    let inside = env.work_dir().join("inside.txt");

    let denied = env.codex(&[
        "mcp",
        "call",
        "fs",
        "write_file",
        "--args",
        &write_args(&outside),
    ]);
    assert_eq!(denied.code, 1, "{}", denied.transcript());
    assert!(denied.stdout.contains("cannot write"), "{}", denied.stdout);
    assert!(
        !outside.exists(),
        "the sandboxed server wrote outside its roots"
    );

    let allowed = env.codex(&[
        "mcp",
        "call",
        "fs",
        "write_file",
        "--args",
        &write_args(&inside),
    ]);
    assert_eq!(allowed.code, 0, "{}", allowed.transcript());
    assert!(inside.exists());
    let get = env.codex(&["mcp", "get", "fs"]);
    assert!(
        get.stdout.contains("  sandbox: workspace-write\n"),
        "{}",
        get.stdout
    );
}

#[test]
fn requirements_can_demand_a_sandbox_the_config_lacks() {
    let mut env = TestEnv::new();
    env.write_config(&server("fs", ""));
    env.requirements_file(&format!(
        "[mcp_server_allowlist.fs]\ncommand = {:?}\nsandbox = \"read-only\"\n",
        test_server_bin().display().to_string()
    ));
    let inside = env.work_dir().join("inside.txt");
    let run = env.codex(&[
        "mcp",
        "call",
        "fs",
        "write_file",
        "--args",
        &write_args(&inside),
    ]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(!inside.exists(), "read-only was demanded by requirements");
    // The same server without the demand writes fine.
    env.remove_var("CODEX_REQUIREMENTS_FILE");
    let run = env.codex(&[
        "mcp",
        "call",
        "fs",
        "write_file",
        "--args",
        &write_args(&inside),
    ]);
    assert_eq!(run.code, 0, "{}", run.transcript());
}

#[test]
fn startup_progress_goes_to_a_terminal_only() {
    let env = TestEnv::new();
    env.write_config(
        &[
            server("one", ""),
            server("slow", "args = [\"--slow-init-ms\", \"3000\"]"),
        ]
        .concat(),
    );
    let piped = env.codex(&["mcp", "tools"]);
    assert_eq!(piped.code, 0, "{}", piped.transcript());
    assert_eq!(
        piped.stderr, "",
        "no progress when stderr is not a terminal"
    );
    // On a terminal, a slow start is announced once (after 2 s), and each
    // server's status is printed once.
    let tty = env.codex_in_terminal(&["mcp", "tools"]);
    assert_eq!(tty.code, 0, "{}", tty.transcript());
    let waiting: Vec<&str> = tty
        .stdout
        .lines()
        .filter(|line| line.starts_with("waiting for MCP servers to start"))
        .collect();
    assert_eq!(waiting.len(), 1, "{}", tty.stdout);
    // `slow` is always waited for; `one` too if a loaded machine kept it
    // from being ready within the first 2 s, and never once it was ready.
    let names: Vec<&str> = waiting[0]
        .rsplit_once(": ")
        .map(|(_, names)| names.split(", ").collect())
        .unwrap_or_default();
    let line_of = |prefix: &str| tty.stdout.lines().position(|l| l.starts_with(prefix));
    let one_ready_first = line_of("one: ready in") < line_of("waiting for MCP servers");
    assert!(
        names == ["slow"] || (names == ["one", "slow"] && !one_ready_first),
        "{}",
        tty.stdout
    );
    for server in ["one", "slow"] {
        let ready = tty
            .stdout
            .lines()
            .filter(|line| line.starts_with(&format!("{server}: ready in ")))
            .count();
        assert_eq!(ready, 1, "{server}:\n{}", tty.stdout);
    }
}

#[test]
fn each_server_speaks_the_newest_revision_it_knows() {
    let web = codex_integration_tests::HttpTestServer::start(&["--legacy"]);
    let env = TestEnv::new();
    env.write_config(&format!(
        "{}{}[mcp_servers.old_web]\nurl = {:?}\n",
        server("modern", ""),
        server("old", "args = [\"--legacy\"]"),
        web.url
    ));
    let run = env.codex(&["mcp", "tools", "--json"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let servers: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    let versions: Vec<(String, String)> = servers
        .as_array()
        .expect("array")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or_default().to_owned(),
                s["protocol_version"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    assert_eq!(
        versions,
        [
            ("modern".to_owned(), "2026-07-28".to_owned()),
            ("old".to_owned(), "2025-11-25".to_owned()),
            ("old_web".to_owned(), "2025-11-25".to_owned()),
        ]
    );
    // Calls work on both wires.
    for name in ["modern", "old", "old_web"] {
        let call = env.codex(&["mcp", "call", name, "echo", "--args", r#"{"text": "hi"}"#]);
        assert_eq!(
            (call.code, call.stdout.as_str()),
            (0, "hi\n"),
            "{name}: {}",
            call.transcript()
        );
    }
}

#[test]
fn a_qualified_tool_name_is_accepted_and_a_typo_gets_a_suggestion() {
    let env = TestEnv::new();
    env.write_config(&server("test", ""));
    let run = env.codex(&[
        "mcp",
        "call",
        "test",
        "mcp__test__echo",
        "--args",
        "{\"text\":\"qualified\"}",
    ]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(run.stdout, "qualified\n");
    let run = env.codex(&["mcp", "call", "test", "ecko", "--args", "{\"text\":\"x\"}"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("Did you mean `echo`?"),
        "{}",
        run.stderr
    );
}

/// `mcp call` on a server that did not start says why, not only that it
/// is not connected.
#[test]
fn a_call_to_a_server_that_did_not_start_gives_the_reason() {
    let env = TestEnv::new();
    env.write_config("[mcp_servers.gone]\ncommand = \"/nonexistent/mcp-server\"\n");
    let run = env.codex(&["mcp", "call", "gone", "echo"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr
            .starts_with("Error: MCP server 'gone' did not start: ")
            && run.stderr.contains("/nonexistent/mcp-server"),
        "{}",
        run.stderr
    );
}

/// `--ignore-user-config`: config.toml is not read, by the loader nor by a
/// running session's policy actor; `-c` still is, and the admin's
/// requirements still judge what `-c` asks for.
#[test]
fn ignore_user_config_reads_only_the_command_line() {
    let env = tools_env();
    let bin = test_server_bin().display().to_string();
    let list = env.codex(&["mcp", "list", "--json", "--ignore-user-config"]);
    assert_eq!(list.code, 0, "{}", list.transcript());
    assert_eq!(list.stdout.trim(), "[]", "{}", list.transcript());
    let tools = env.codex(&[
        "mcp",
        "tools",
        "--json",
        "--ignore-user-config",
        "-c",
        &format!("mcp_servers.only.command={bin:?}"),
        "-c",
        &format!("mcp_servers.blocked.command={bin:?}"),
    ]);
    assert_eq!(tools.code, 0, "{}", tools.transcript());
    let json: serde_json::Value = serde_json::from_str(&tools.stdout).expect("json");
    let statuses: Vec<(&str, &str)> = json
        .as_array()
        .expect("array")
        .iter()
        .map(|server| {
            (
                server["name"].as_str().expect("name"),
                server["status"].as_str().expect("status"),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [("blocked", "disabled"), ("only", "ready")],
        "{}",
        tools.transcript()
    );
    // What edits config.toml does not go with a flag that leaves it unread.
    let before = std::fs::read_to_string(env.codex_home().join("config.toml")).expect("config");
    for args in [
        &["mcp", "add", "--ignore-user-config", "x", "--", "true"][..],
        &["mcp", "remove", "test", "--ignore-user-config"],
    ] {
        let run = env.codex(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.transcript());
        assert!(
            run.stderr.contains("--ignore-user-config"),
            "{}",
            run.stderr
        );
    }
    let after = std::fs::read_to_string(env.codex_home().join("config.toml")).expect("config");
    assert_eq!(before, after);
}
