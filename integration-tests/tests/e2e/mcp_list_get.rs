//! `codex mcp list` and `codex mcp get`, in text and JSON, snapshotted.

use codex_integration_tests::TestEnv;

const CONFIG: &str = r#"
[mcp_servers.docs]
command = "docs-server"
args = ["--port", "4000"]
env = { TOKEN = "secret-value", APP_TOKEN = "other-secret" }
env_vars = ["PASSTHROUGH"]
cwd = "/srv/docs"
startup_timeout_sec = 10
tool_timeout_sec = 1.5
enabled_tools = ["search", "fetch"]
disabled_tools = []

[mcp_servers.off]
command = "off-server"
enabled = false

[mcp_servers.web]
url = "https://Web.Example.com:443/mcp"
bearer_token_env_var = "WEB_TOKEN"
http_headers = { "X-Static" = "static-secret" }
env_http_headers = { "X-From-Env" = "HEADER_VAR" }

[mcp_servers.legacy]
transport = "sse"
url = "http://127.0.0.1:9/sse"

[mcp_servers.creds]
url = "https://bot:hunter2@tracker.example.com/mcp"
"#;

const REQUIREMENTS: &str = r#"
[mcp_servers.docs.identity]
command = "docs-server"
cwd = "/srv/docs"

[mcp_servers.off.identity]
command = "off-server"

[mcp_server_allowlist.web]
url = "https://web.example.com/mcp"

[mcp_server_allowlist.creds]
url = "https://tracker.example.com/mcp"
"#;

fn env() -> TestEnv {
    let mut env = TestEnv::new();
    env.write_config(CONFIG);
    env.requirements_file(REQUIREMENTS);
    env
}

#[test]
fn list_text() {
    let run = env().codex(&["mcp", "list"]);
    assert!(!run.stdout.contains("secret"), "{}", run.stdout);
    assert!(!run.stdout.contains("hunter2"), "{}", run.stdout);
    insta::assert_snapshot!("list_text", run.transcript());
}

#[test]
fn list_json() {
    let run = env().codex(&["mcp", "list", "--json"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let parsed: serde_json::Value = serde_json::from_str(&run.stdout).expect("valid json");
    assert_eq!(parsed.as_array().map(Vec::len), Some(5));
    insta::assert_snapshot!("list_json", run.transcript());
}

#[test]
fn list_empty() {
    let env = TestEnv::new();
    insta::assert_snapshot!("list_empty", env.codex(&["mcp", "list"]).transcript());
    insta::assert_snapshot!(
        "list_empty_json",
        env.codex(&["mcp", "list", "--json"]).transcript()
    );
}

#[test]
fn get_text() {
    let env = env();
    let runs: Vec<String> = ["docs", "web", "legacy", "off", "creds"]
        .iter()
        .map(|name| env.codex(&["mcp", "get", name]).transcript())
        .collect();
    insta::assert_snapshot!("get_text", runs.join("\n"));
}

#[test]
fn get_json() {
    let env = env();
    let runs: Vec<String> = ["docs", "web", "off"]
        .iter()
        .map(|name| env.codex(&["mcp", "get", name, "--json"]).transcript())
        .collect();
    insta::assert_snapshot!("get_json", runs.join("\n"));
}

#[test]
fn get_unknown_server() {
    let run = env().codex(&["mcp", "get", "nope"]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stderr, "Error: No MCP server named 'nope' found.\n");
    // A name typed with a newline stays on the error's one line.
    let run = env().codex(&["mcp", "get", "no\npe"]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stderr, "Error: No MCP server named 'no\\npe' found.\n");
}

#[test]
fn list_pipes_into_a_closed_reader() {
    use std::io::Read as _;
    use std::process::Stdio;
    let env = env();
    let mut child = env
        .command(&["mcp", "list"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let status = child.wait().expect("wait");
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        pipe.read_to_string(&mut stderr).expect("read stderr");
    }
    assert!(status.success(), "broken pipe is not a failure: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// `--profile NAME` layers `$CODEX_HOME/NAME.config.toml` over config.toml
/// (Codex's profile-v2), for `mcp` as for every command; the same name kept
/// as a `[profiles.NAME]` table too is refused with where to move it.
#[test]
fn a_profile_file_adds_its_servers_under_the_flag() {
    let env = TestEnv::new();
    env.write_config("[mcp_servers.base]\ncommand = \"base-server\"\n");
    std::fs::write(
        env.codex_home().join("work.config.toml"),
        "[mcp_servers.extra]\ncommand = \"extra-server\"\n",
    )
    .expect("profile file");
    let plain = env.codex(&["mcp", "list", "--json"]);
    assert_eq!(plain.code, 0, "{}", plain.transcript());
    assert!(!plain.stdout.contains("extra"), "{}", plain.stdout);
    for flag in [["-p", "work"], ["--profile", "work"]] {
        let run = env.codex(&["mcp", "list", "--json", flag[0], flag[1]]);
        assert_eq!(run.code, 0, "{}", run.transcript());
        assert!(
            run.stdout.contains("\"base\"") && run.stdout.contains("\"extra\""),
            "{}",
            run.stdout
        );
    }

    env.write_config(
        "[mcp_servers.base]\ncommand = \"base-server\"\n[profiles.work]\nmodel = \"o3\"\n",
    );
    let run = env.codex(&["mcp", "list", "-p", "work"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("--profile `work` cannot be used while")
            && run.stderr.contains("work.config.toml"),
        "{}",
        run.stderr
    );
    let run = env.codex(&["mcp", "list", "-p", "nope"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr
            .starts_with("Error: --profile nope: profile: config profile `nope` not found"),
        "{}",
        run.stderr
    );
}
