//! The transcript from the pull request that introduced the allowlist:
//! allow only `hello_world` and `docs` is disabled; change the rule to
//! `hello-world-mcp-v2` and both are disabled; remove requirements and both
//! are enabled. Run once per allowlist spelling and per env source.

use codex_integration_tests::TestEnv;
use pretty_assertions::assert_eq;

const CONFIG: &str = r#"[mcp_servers.hello_world]
command = "hello-world-mcp"

[mcp_servers.docs]
command = "docs-mcp"
"#;

const SEED_SPELLING: &str = "[mcp_server_allowlist.hello_world]\ncommand = \"hello-world-mcp\"\n";
const CODEX_SPELLING: &str = "[mcp_servers.hello_world.identity]\ncommand = \"hello-world-mcp\"\n";

fn statuses(env: &TestEnv) -> Vec<(String, String)> {
    let run = env.codex(&["mcp", "list", "--json"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let servers: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    servers
        .as_array()
        .expect("array")
        .iter()
        .map(|s| {
            let status = match s["disabled_reason"].as_str() {
                Some(reason) => format!("disabled: {reason}"),
                None if s["enabled"] == true => "enabled".to_owned(),
                None => "disabled".to_owned(),
            };
            (s["name"].as_str().expect("name").to_owned(), status)
        })
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[test]
fn seed_transcript_with_base64_source() {
    for spelling in [SEED_SPELLING, CODEX_SPELLING] {
        let mut env = TestEnv::new();
        env.write_config(CONFIG);
        env.requirements_base64(spelling);
        let src = "requirements (CODEX_REQUIREMENTS_TOML_BASE64)";
        assert_eq!(
            statuses(&env),
            pairs(&[
                (
                    "docs",
                    &format!("disabled: {src}: \"docs\" is not in the allowlist")
                ),
                ("hello_world", "enabled"),
            ])
        );

        env.requirements_base64(&spelling.replace("hello-world-mcp", "hello-world-mcp-v2"));
        assert_eq!(
            statuses(&env),
            pairs(&[
                (
                    "docs",
                    &format!("disabled: {src}: \"docs\" is not in the allowlist")
                ),
                (
                    "hello_world",
                    &format!(
                        "disabled: {src}: command \"hello-world-mcp\" does not match allowed \"hello-world-mcp-v2\""
                    )
                ),
            ])
        );

        env.remove_var("CODEX_REQUIREMENTS_TOML_BASE64");
        assert_eq!(
            statuses(&env),
            pairs(&[("docs", "enabled"), ("hello_world", "enabled")])
        );
    }
}

#[test]
fn seed_transcript_text_tables() {
    let mut env = TestEnv::new();
    env.write_config(CONFIG);
    let path = env.requirements_file(SEED_SPELLING);
    let first = env.codex(&["mcp", "list"]);
    std::fs::write(
        &path,
        CODEX_SPELLING.replace("hello-world-mcp", "hello-world-mcp-v2"),
    )
    .expect("rewrite");
    let second = env.codex(&["mcp", "list"]);
    env.remove_var("CODEX_REQUIREMENTS_FILE");
    let third = env.codex(&["mcp", "list"]);
    insta::assert_snapshot!(
        "seed_transcript_text_tables",
        format!(
            "{}\n{}\n{}",
            first.transcript(),
            second.transcript(),
            third.transcript()
        )
    );
}
