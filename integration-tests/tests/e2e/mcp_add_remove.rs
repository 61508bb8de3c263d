//! `codex mcp add` and `remove`: messages, exit codes, and in-place edits
//! that keep the rest of config.toml as the user wrote it.

use codex_integration_tests::TestEnv;
use pretty_assertions::assert_eq;

const EXISTING: &str = "# Personal settings.\nmodel = \"o3\"  # keep this comment\n\n\
                        [mcp_servers.old]  # an old server\ncommand = \"old\"\n";

#[test]
fn add_and_remove_round_trip() {
    let env = TestEnv::new();
    env.write_config(EXISTING);
    let add = env.codex(&[
        "mcp",
        "add",
        "docs",
        "--env",
        "TOKEN=a=b",
        "--env",
        "APP=x",
        "--",
        "docs-server",
        "--port",
        "4000",
    ]);
    let add_http = env.codex(&[
        "mcp",
        "add",
        "web",
        "--url",
        "https://example.com/mcp",
        "--bearer-token-env-var",
        "TOK",
    ]);
    let after_add = env.read_config();
    let remove = env.codex(&["mcp", "remove", "docs"]);
    let remove_again = env.codex(&["mcp", "remove", "docs"]);
    let remove_web = env.codex(&["mcp", "remove", "web"]);
    let remove_old = env.codex(&["mcp", "remove", "old"]);
    insta::assert_snapshot!(
        "add_and_remove_round_trip",
        [
            add.transcript(),
            add_http.transcript(),
            format!("--- config.toml after add\n{after_add}"),
            remove.transcript(),
            remove_again.transcript(),
            remove_web.transcript(),
            remove_old.transcript(),
        ]
        .join("\n")
    );
    assert_eq!(remove_again.code, 0);
    assert_eq!(
        env.read_config(),
        "# Personal settings.\nmodel = \"o3\"  # keep this comment\n"
    );
}

#[test]
fn added_server_is_listed_like_a_handwritten_one() {
    let env = TestEnv::new();
    let run = env.codex(&[
        "mcp",
        "add",
        "docs",
        "--env",
        "K=v",
        "--",
        "docs-server",
        "-x",
    ]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let get = env.codex(&["mcp", "get", "docs"]);
    assert!(
        get.stdout.contains("  command: docs-server\n  args: -x\n"),
        "{}",
        get.stdout
    );
    assert!(get.stdout.contains("  env: K=*****\n"), "{}", get.stdout);
}

#[test]
fn add_overwrites_an_existing_name() {
    let env = TestEnv::new();
    env.write_config("[mcp_servers.docs]\ncommand = \"first\"\nargs = [\"a\"]\n");
    assert_eq!(env.codex(&["mcp", "add", "docs", "--", "second"]).code, 0);
    assert_eq!(
        env.read_config(),
        "[mcp_servers.docs]\ncommand = \"second\"\n"
    );
}

#[test]
fn add_disabled_by_requirements_still_writes_and_says_why() {
    let mut env = TestEnv::new();
    env.requirements_file("[mcp_server_allowlist.docs]\ncommand = \"docs-server\"\n");
    let run = env.codex(&["mcp", "add", "docs", "--", "evil-server"]);
    insta::assert_snapshot!("add_disabled_by_requirements", run.transcript());
    assert!(env.read_config().contains("command = \"evil-server\""));
}

#[test]
fn add_rejects_bad_names_and_shapes() {
    let env = TestEnv::new();
    let runs = [
        env.codex(&["mcp", "add", "bad.name", "--", "x"]),
        env.codex(&["mcp", "add", "docs", "--env", "NOEQUALS", "--", "x"]),
        env.codex(&["mcp", "add", "docs"]),
        env.codex(&["mcp", "add", "docs", "--url", "https://h/", "--", "x"]),
        env.codex(&["mcp", "add", "docs", "--command", "x"]),
        env.codex(&[
            "mcp",
            "add",
            "docs",
            "--bearer-token-env-var",
            "T",
            "--",
            "x",
        ]),
        env.codex(&["mcp", "add", "docs", "--url", "ftp://h/"]),
        env.codex(&["mcp", "remove", "bad name"]),
    ];
    let codes: Vec<i32> = runs.iter().map(|r| r.code).collect();
    assert_eq!(codes, [1, 2, 2, 2, 2, 2, 1, 1]);
    for run in &runs {
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
    assert_eq!(
        runs[0].stderr,
        "Error: invalid server name 'bad.name' (use letters, numbers, '-', '_')\n"
    );
    assert!(
        runs[1]
            .stderr
            .contains("environment entries must be in KEY=VALUE form")
    );
    assert!(
        runs[4]
            .stderr
            .contains("unexpected argument '--command' found")
    );
    assert!(!env.codex_home().join("config.toml").exists());
}

#[test]
fn login_and_logout_messages() {
    // A real login is in `oauth.rs`; these are the refusals and logout.
    let env = TestEnv::new();
    env.write_config(
        "[mcp_servers.local]\ncommand = \"x\"\n[mcp_servers.web]\nurl = \"https://h/\"\n",
    );
    let runs = [
        env.codex(&["mcp", "login", "local"]),
        env.codex(&["mcp", "login", "nope"]),
        env.codex(&["mcp", "logout", "web"]),
        env.codex(&["mcp", "logout", "local"]),
        env.codex(&["mcp", "logout", "nope"]),
    ];
    let transcript: Vec<String> = runs.iter().map(|r| r.transcript()).collect();
    insta::assert_snapshot!("login_logout", transcript.join("\n"));
}
