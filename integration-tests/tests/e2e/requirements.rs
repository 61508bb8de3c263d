//! `codex requirements show` and `explain`.

use codex_integration_tests::TestEnv;

const CONFIG: &str = r#"
sandbox_mode = "danger-full-access"

[mcp_servers.hello_world]
command = "hello-world-mcp"

[mcp_servers.docs]
command = "docs-mcp"

[mcp_servers.web]
url = "https://mcp.example.com/mcp?key=abc"

[mcp_servers.evil]
command = "/tmp/evil"
"#;

fn env() -> TestEnv {
    let mut env = TestEnv::new();
    env.write_config(CONFIG);
    env.requirements_file(
        r#"
allowed_sandbox_modes = ["read-only", "workspace-write"]

[mcp_server_allowlist.hello_world]
command = "hello-world-mcp"

[mcp_servers.web.identity]
url = "https://mcp.example.com/mcp"

[mcp_server_allowlist."*"]
command = "/tmp/evil"

[mcp_server_denylist.evil]
"#,
    );
    env.requirements_base64(
        "allowed_approval_policies = [\"on-request\", \"never\"]\n\
         [mcp_server_allowlist.hello_world]\ncommand = \"hello-world-mcp\"\n",
    );
    env
}

#[test]
fn show_text_and_json() {
    let env = env();
    insta::assert_snapshot!(
        "show_text",
        env.codex(&["requirements", "show"]).transcript()
    );
    insta::assert_snapshot!(
        "show_json",
        env.codex(&["requirements", "show", "--json"]).transcript()
    );
}

#[test]
fn show_without_requirements() {
    let env = TestEnv::new();
    insta::assert_snapshot!(
        "show_none",
        env.codex(&["requirements", "show"]).transcript()
    );
}

#[test]
fn explain_each_verdict() {
    let env = env();
    let runs: Vec<String> = ["hello_world", "docs", "web", "evil", "missing"]
        .iter()
        .map(|name| env.codex(&["requirements", "explain", name]).transcript())
        .collect();
    insta::assert_snapshot!("explain", runs.join("\n"));
}

#[test]
fn command_rules_are_shown_and_explained() {
    let mut env = TestEnv::new();
    env.requirements_file(
        r#"
enforce_residency = "us"

[rules]
prefix_rules = [
  { pattern = ["git", "push"], decision = "forbidden", justification = "CI pushes." },
  { pattern = ["rm", ["-rf", "-fr"]], decision = "prompt" },
  { pattern = ["make"], decision = "allow" },
]
"#,
    );
    insta::assert_snapshot!(
        "rules_show",
        env.codex(&["requirements", "show"]).transcript()
    );
    let explain = |command: &str| {
        env.codex(&["requirements", "explain", "--command", command])
            .transcript()
    };
    insta::assert_snapshot!(
        "rules_explain",
        [
            explain("cd src && sudo git push origin"),
            explain("rm -fr build; make"),
            explain("make check"),
            explain("ls"),
        ]
        .join("\n")
    );
}
