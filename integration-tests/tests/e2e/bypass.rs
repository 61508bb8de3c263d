//! The bypass catalogue (`peers-policy.md` section 4) from the user's side:
//! every runtime input the user controls (config, `-c`, project layers, the
//! environment) fails to loosen what requirements say.

use codex_integration_tests::TestEnv;
use pretty_assertions::assert_eq;

const ALLOW_HELLO: &str = "[mcp_server_allowlist.hello_world]\ncommand = \"hello-world-mcp\"\n";

fn status(env: &TestEnv, name: &str, extra: &[&str]) -> String {
    let mut args = vec!["mcp", "get", name, "--json"];
    args.extend(extra);
    let run = env.codex(&args);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    match json["disabled_detail"]["kind"].as_str() {
        Some(kind) => kind.to_owned(),
        None => "enabled".to_owned(),
    }
}

#[test]
fn s1_command_line_overrides_cannot_loosen() {
    let mut env = TestEnv::new();
    env.write_config("[mcp_servers.hello_world]\ncommand = \"hello-world-mcp\"\n[mcp_servers.docs]\ncommand = \"docs\"\n");
    env.requirements_file(ALLOW_HELLO);
    // Requirements keys given as config overrides are just unknown config.
    assert_eq!(
        status(
            &env,
            "docs",
            &["-c", "mcp_server_allowlist.docs.command=\"docs\""]
        ),
        "not_in_allowlist"
    );
    // B1 through -c: swap the command of the allowed name.
    assert_eq!(
        status(
            &env,
            "hello_world",
            &["-c", "mcp_servers.hello_world.command=\"/tmp/evil\""]
        ),
        "command_mismatch"
    );
    // A -c that bolts a URL onto the allowed name is a config error, not a
    // way around the allowlist.
    let run = env.codex(&[
        "mcp",
        "list",
        "-c",
        "mcp_servers.hello_world.url=\"https://evil.example/mcp\"",
    ]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("url is not supported for stdio"),
        "{}",
        run.stderr
    );
}

#[test]
fn s2_env_sources_only_add_restrictions() {
    let mut env = TestEnv::new();
    env.write_config("[mcp_servers.hello_world]\ncommand = \"hello-world-mcp\"\n[mcp_servers.evil]\ncommand = \"/tmp/evil\"\n");
    env.requirements_file(ALLOW_HELLO);
    // A second source that allows `evil` does not widen the first.
    env.requirements_base64("[mcp_server_allowlist.evil]\ncommand = \"/tmp/evil\"\n");
    assert_eq!(status(&env, "evil", &[]), "not_in_allowlist");
    // An empty env document adds nothing and removes nothing.
    env.requirements_base64("");
    assert_eq!(status(&env, "evil", &[]), "not_in_allowlist");
    assert_eq!(status(&env, "hello_world", &[]), "enabled");
}

#[test]
fn s3_s4_b6_project_layers_cannot_loosen() {
    let mut env = TestEnv::new();
    let work = env.work_dir();
    std::fs::create_dir_all(work.join(".git")).expect("git dir");
    env.write_config(&format!(
        "[mcp_servers.hello_world]\ncommand = \"hello-world-mcp\"\n\
         [projects.\"{}\"]\ntrust_level = \"trusted\"\n",
        work.display()
    ));
    env.requirements_file(ALLOW_HELLO);
    // The trusted project redefines the allowed name: the definition that
    // would be launched is the project's, and it is judged.
    env.write_file(
        "work/.codex/config.toml",
        "[mcp_servers.hello_world]\ncommand = \"./node_modules/.bin/hello-world-mcp\"\n",
    );
    // Requirements-looking files in the project are not sources.
    env.write_file(
        "work/.codex/requirements.toml",
        "[mcp_server_allowlist.hello_world]\ncommand = \"./node_modules/.bin/hello-world-mcp\"\n",
    );
    assert_eq!(status(&env, "hello_world", &[]), "command_mismatch");
}

#[test]
fn s11_empty_allowlist_is_a_kill_switch() {
    let mut env = TestEnv::new();
    env.write_config("[mcp_servers.a]\ncommand = \"a\"\n[mcp_servers.b]\nurl = \"https://b/\"\n");
    env.requirements_file("mcp_servers = {}\n");
    assert_eq!(status(&env, "a", &[]), "empty_allowlist");
    assert_eq!(status(&env, "b", &[]), "empty_allowlist");
}

#[test]
fn u5_userinfo_and_u1_case_through_the_binary() {
    let mut env = TestEnv::new();
    env.write_config(
        "[mcp_servers.docs]\nurl = \"https://MCP.example.com:443/mcp\"\n\
         [mcp_servers.sneaky]\nurl = \"https://mcp.example.com@evil.example/mcp\"\n",
    );
    env.requirements_file(
        "[mcp_servers.docs.identity]\nurl = \"https://mcp.example.com/mcp\"\n\
         [mcp_server_allowlist.\"*\"]\nurl = \"https://evil.example/mcp\"\n",
    );
    assert_eq!(status(&env, "docs", &[]), "enabled");
    assert_eq!(status(&env, "sneaky", &[]), "userinfo_in_url");
}
