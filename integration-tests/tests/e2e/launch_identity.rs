//! Launch identity: what the admin allowed is exactly what runs. Each
//! bypass an adversarial user would try, through the real binary.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use codex_integration_tests::{TestEnv, processes_with, test_server_bin};
use pretty_assertions::assert_eq;
use serde_json::Value;

/// `mcp get NAME --json`'s `disabled_detail.kind`, or `enabled`.
fn verdict(env: &TestEnv, name: &str) -> String {
    let run = env.codex(&["mcp", "get", name, "--json"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let json: Value = serde_json::from_str(&run.stdout).expect("json");
    json["disabled_detail"]["kind"]
        .as_str()
        .unwrap_or("enabled")
        .to_owned()
}

/// The whole `disabled_reason` of one server.
fn reason(env: &TestEnv, name: &str) -> String {
    let run = env.codex(&["mcp", "get", name, "--json"]);
    let json: Value = serde_json::from_str(&run.stdout).expect("json");
    json["disabled_reason"].as_str().unwrap_or("").to_owned()
}

/// Writes an executable script.
fn script(path: &Path, body: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("dir");
    }
    std::fs::write(path, body).expect("write script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

fn quoted(path: &Path) -> String {
    format!("{:?}", path.display().to_string())
}

#[test]
fn cwd_is_part_of_the_identity() {
    let mut env = TestEnv::new();
    // The user's folder holds a module named like the allowed one.
    let evil = env.root().join("evil");
    let marker = env.root().join("pwned");
    std::fs::create_dir_all(&evil).expect("dir");
    std::fs::write(
        evil.join("mcp_server_time.py"),
        format!("open({:?}, 'w').write('x')\n", marker.display().to_string()),
    )
    .expect("module");
    env.write_config(&format!(
        "[mcp_servers.time]\ncommand = \"python3\"\nargs = [\"-m\", \"mcp_server_time\"]\ncwd = {}\n",
        quoted(&evil)
    ));
    env.requirements_file(
        "[mcp_server_allowlist.time]\ncommand = \"python3\"\nargs = [\"-m\", \"mcp_server_time\"]\n",
    );
    assert_eq!(verdict(&env, "time"), "cwd_not_allowed");
    let run = env.codex(&["mcp", "tools"]);
    assert!(
        run.stdout.contains("time: disabled"),
        "{}",
        run.transcript()
    );
    assert!(!marker.exists(), "the user's module ran");

    // A rule that names a cwd admits that cwd only.
    let approved = env.root().join("approved");
    std::fs::create_dir_all(&approved).expect("dir");
    env.requirements_file(&format!(
        "[mcp_server_allowlist.time]\ncommand = \"python3\"\nargs = [\"-m\", \"mcp_server_time\"]\ncwd = {}\n",
        quoted(&approved)
    ));
    assert_eq!(verdict(&env, "time"), "cwd_mismatch");
    env.write_config(&format!(
        "[mcp_servers.time]\ncommand = \"python3\"\nargs = [\"-m\", \"mcp_server_time\"]\ncwd = {}\n",
        quoted(&approved)
    ));
    assert_eq!(verdict(&env, "time"), "enabled");
}

#[test]
fn the_users_path_never_chooses_what_an_allowed_server_runs() {
    let mut env = TestEnv::new();
    let admin = env.root().join("admin-bin");
    let evil = env.root().join("evil-bin");
    let marker = env.root().join("pwned");
    let pwn = format!("#!/bin/sh\necho pwned > {}\nexit 1\n", quoted(&marker));
    // The admin's server is a script whose interpreter is found on PATH.
    // An interpreter that drops the script path it is given and runs the
    // test server.
    script(
        &admin.join("mcp-interp"),
        &format!(
            "#!/bin/sh\nshift\nexec {} \"$@\"\n",
            quoted(&test_server_bin())
        ),
    );
    script(&admin.join("time-mcp"), "#!/usr/bin/env mcp-interp\n");
    // The user's PATH shadows both the command and the interpreter.
    script(&evil.join("time-mcp"), &pwn);
    script(&evil.join("mcp-interp"), &pwn);
    env.write_config("[mcp_servers.time]\ncommand = \"time-mcp\"\n");
    env.requirements_file(&format!(
        "mcp_server_search_path = [{}, \"/usr/bin\", \"/bin\"]\n\
         [mcp_server_allowlist.time]\ncommand = \"time-mcp\"\n",
        quoted(&admin)
    ));
    env.set_var(
        "PATH",
        format!(
            "{}:{}",
            evil.display(),
            std::env::var("PATH").unwrap_or_default()
        ),
    );
    let run = env.codex(&["mcp", "tools", "--json"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let json: Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(json[0]["status"], "ready", "{}", run.transcript());
    assert!(!marker.exists(), "the user's PATH chose a program");
    // `explain` says what runs.
    let run = env.codex(&["requirements", "explain", "time"]);
    assert!(
        run.stdout.contains("runs: [TMP]/admin-bin/time-mcp"),
        "{}",
        run.stdout
    );
}

#[test]
fn the_environment_cannot_change_the_program() {
    let mut env = TestEnv::new();
    let bin = test_server_bin();
    let mut config = String::new();
    let cases = [
        ("npm", "Npm_config_registry", "https://evil.example/"),
        ("uv", "UV_INDEX", "https://evil.example/simple"),
        ("py", "PYTHONUSERBASE", "/tmp/evil"),
        ("jdk", "JDK_JAVA_OPTIONS", "-javaagent:/tmp/evil.jar"),
        ("home", "HOME", "/tmp/evil-home"),
        ("preload", "ld_preload", "/tmp/evil.so"),
    ];
    for (name, var, value) in cases {
        config.push_str(&format!(
            "[mcp_servers.{name}]\ncommand = {}\nenv = {{ {var} = {value:?} }}\n",
            quoted(&bin)
        ));
    }
    config.push_str(&format!(
        "[mcp_servers.listed]\ncommand = {}\nenv = {{ API_KEY = \"k\", OTHER = \"o\" }}\n",
        quoted(&bin)
    ));
    env.write_config(&config);
    env.requirements_file(&format!(
        "[mcp_server_allowlist.\"*\"]\ncommand = {}\n\
         [mcp_server_allowlist.listed]\ncommand = {}\nallowed_env = [\"API_KEY\"]\n",
        quoted(&bin),
        quoted(&bin)
    ));
    for (name, var, _) in cases {
        assert_eq!(verdict(&env, name), "env_not_permitted", "{name}");
        assert!(
            reason(&env, name).contains(var),
            "{name}: {}",
            reason(&env, name)
        );
    }
    assert_eq!(verdict(&env, "listed"), "env_not_listed");
    assert!(reason(&env, "listed").contains("OTHER"));
    // `explain` names the variable.
    let run = env.codex(&["requirements", "explain", "npm"]);
    assert!(run.stdout.contains("Npm_config_registry"), "{}", run.stdout);
}

#[test]
fn a_deny_rule_matches_every_spelling_of_what_runs() {
    let mut env = TestEnv::new();
    env.set_var("PATH", "/usr/bin:/bin");
    env.write_config(
        "[mcp_servers.dots]\ncommand = \"/usr/bin/../bin/python3\"\n\
         [mcp_servers.bin]\ncommand = \"/bin/python3\"\n\
         [mcp_servers.bare]\ncommand = \"python3\"\n\
         [mcp_servers.real]\ncommand = \"/usr/bin/python3.11\"\n\
         [mcp_servers.other]\ncommand = \"/usr/bin/env\"\n\
         [mcp_servers.slash]\nurl = \"https://evil.example/mcp/\"\n\
         [mcp_servers.escaped]\nurl = \"https://evil.example/%6Dcp\"\n\
         [mcp_servers.doubled]\nurl = \"https://evil.example//mcp\"\n\
         [mcp_servers.query]\nurl = \"https://evil.example/mcp?x=1\"\n\
         [mcp_servers.dot]\nurl = \"https://evil.example./mcp\"\n\
         [mcp_servers.mapped]\nurl = \"http://[::ffff:203.0.113.5]/mcp\"\n\
         [mcp_servers.fine]\nurl = \"https://good.example/mcp\"\n",
    );
    env.requirements_file(
        "[mcp_server_denylist.\"*\"]\ncommand = \"/usr/bin/python3\"\n\
         [mcp_server_denylist.mapped]\nurl = \"http://203.0.113.5/mcp\"\n",
    );
    // A second `"*"` rule needs a table of its own: a second source.
    env.requirements_base64("[mcp_server_denylist.\"*\"]\nurl = \"https://evil.example/mcp\"\n");
    for name in ["dots", "bin", "bare", "real"] {
        assert_eq!(verdict(&env, name), "denied", "{name}");
    }
    assert_eq!(verdict(&env, "other"), "enabled");
    for name in ["slash", "escaped", "doubled", "query", "dot", "mapped"] {
        assert_eq!(verdict(&env, name), "denied", "{name}");
    }
    assert_eq!(verdict(&env, "fine"), "enabled");
}

#[test]
fn tmpdir_never_widens_a_sandbox_the_admin_forces() {
    let mut env = TestEnv::new();
    let bin = test_server_bin();
    env.write_config(&format!("[mcp_servers.fs]\ncommand = {}\n", quoted(&bin)));
    env.requirements_file(&format!(
        "[mcp_server_allowlist.fs]\ncommand = {}\nsandbox = \"workspace-write\"\n",
        quoted(&bin)
    ));
    // A directory outside every root the sandbox may write (the temp root
    // of the test is under /tmp, which workspace-write allows).
    let home = codex_integration_tests::outside_writable_roots("tmpdir-widening");
    env.set_var("TMPDIR", &home);
    let target = home.join("written");
    let args = format!("{{\"path\": {}, \"text\": \"x\"}}", quoted(&target));
    let run = env.codex(&["mcp", "call", "fs", "write_file", "--args", &args]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(!target.exists(), "TMPDIR made $HOME writable");
    // The workspace itself stays writable.
    let inside = env.work_dir().join("written");
    let args = format!("{{\"path\": {}, \"text\": \"x\"}}", quoted(&inside));
    let run = env.codex(&["mcp", "call", "fs", "write_file", "--args", &args]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(inside.exists());
}

#[test]
fn nothing_a_server_starts_outlives_codex() {
    let env = TestEnv::new();
    // A unique duration marks the orphan.
    let secs = format!("300.{}", std::process::id());
    env.write_config(&format!(
        "[mcp_servers.leaky]\ncommand = {}\nargs = [\"--orphan-sleep\", {secs:?}]\n",
        quoted(&test_server_bin())
    ));
    let run = env.codex(&["mcp", "tools"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(
        processes_with(&format!("sleep {secs}")),
        0,
        "the setsid orphan survived"
    );
}

#[test]
fn secrets_are_masked_unless_asked_for() {
    let env = TestEnv::new();
    env.write_config(
        "[mcp_servers.local]\ncommand = \"srv\"\nenv = { TOKEN = \"tok-secret\" }\n\
         [mcp_servers.remote]\nurl = \"https://bot:pw-secret@h.example/mcp\"\n\
         http_headers = { Authorization = \"Bearer hdr-secret\" }\n",
    );
    for args in [
        vec!["mcp", "list", "--json"],
        vec!["mcp", "get", "local", "--json"],
        vec!["mcp", "get", "remote", "--json"],
        vec!["mcp", "list"],
        vec!["mcp", "get", "local"],
        vec!["mcp", "get", "remote"],
    ] {
        let run = env.codex(&args);
        for secret in ["tok-secret", "pw-secret", "hdr-secret"] {
            assert!(!run.stdout.contains(secret), "{args:?} printed {secret}");
        }
    }
    let run = env.codex(&["mcp", "list", "--json", "--show-secrets"]);
    for secret in ["tok-secret", "pw-secret", "hdr-secret"] {
        assert!(run.stdout.contains(secret), "--show-secrets hid {secret}");
    }
}

#[test]
fn codex_matcher_forms_are_enforced() {
    let mut env = TestEnv::new();
    env.write_config(
        "[mcp_servers.web]\nurl = \"https://mcp.example.com/v1/mcp\"\n\
         [mcp_servers.web2]\nurl = \"https://mcp.example.com.evil.net/mcp\"\n\
         [mcp_servers.hello]\ncommand = \"hello\"\nargs = [\"--server\", \"abc\"]\n\
         [mcp_servers.hello2]\ncommand = \"hello\"\nargs = [\"--server\", \"abc1\"]\n\
         [mcp_servers.hello3]\ncommand = \"hello\"\nargs = [\"--server\", \"abc\", \"--extra\"]\n",
    );
    env.requirements_file(
        "[mcp_servers.web.identity]\nurl = { match = \"prefix\", value = \"https://mcp.example.com\" }\n\
         [mcp_servers.web2.identity]\nurl = { match = \"prefix\", value = \"https://mcp.example.com\" }\n\
         [mcp_servers.hello.identity]\ncommand = \"hello\"\n\
         args = [{ match = \"exact\", value = \"--server\" }, { match = \"regex\", expression = \"[a-z]+\" }]\n\
         [mcp_servers.hello2.identity]\ncommand = \"hello\"\n\
         args = [{ match = \"exact\", value = \"--server\" }, { match = \"regex\", expression = \"[a-z]+\" }]\n\
         [mcp_servers.hello3.identity]\ncommand = \"hello\"\n\
         args = [{ match = \"exact\", value = \"--server\" }, { match = \"regex\", expression = \"[a-z]+\" }]\n",
    );
    assert_eq!(verdict(&env, "web"), "enabled");
    assert_eq!(verdict(&env, "web2"), "url_mismatch");
    assert_eq!(verdict(&env, "hello"), "enabled");
    assert_eq!(verdict(&env, "hello2"), "args_mismatch");
    assert_eq!(verdict(&env, "hello3"), "args_mismatch");
    // An invalid regex is an error naming the server and the source.
    env.requirements_file(
        "[mcp_servers.hello.identity]\ncommand = \"hello\"\nargs = [{ match = \"regex\", expression = \"(\" }]\n",
    );
    let run = env.codex(&["mcp", "list"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("[TMP]/requirements.toml:3:")
            && run.stderr.contains("invalid regex for server `hello`"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_odd_server_name_disables_only_that_server() {
    let env = TestEnv::new();
    env.write_config(
        "[mcp_servers.ok]\ncommand = \"a\"\n\n[mcp_servers.\"x/server\"]\ncommand = \"b\"\n",
    );
    let run = env.codex(&["mcp", "list", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let list: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(list[0]["name"], "ok");
    assert_eq!(list[0]["enabled"], true);
    assert_eq!(list[1]["name"], "x/server");
    assert_eq!(list[1]["enabled"], false);
    assert_eq!(list[1]["disabled_detail"]["kind"], "invalid_name");
    assert_eq!(
        list[1]["disabled_reason"],
        "invalid server name \"x/server\": names use only letters, digits, '-' and '_' \
         (rename it, for example to \"x_server\")"
    );
    // The same from a `-c` layer: one server disabled, the command works.
    let env = TestEnv::new();
    let run = env.codex(&["mcp", "list", "-c", "mcp_servers.\"a b\".command=\"x\""]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("disabled (1)")
            && run.stdout.contains("(1) a b: invalid server name \"a b\"")
            && run.stdout.contains("\"a_b\""),
        "{}",
        run.stdout
    );
    let run = env.codex(&[
        "mcp",
        "get",
        "a b",
        "-c",
        "mcp_servers.\"a b\".command=\"x\"",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // And from a trusted project layer.
    let env = TestEnv::new();
    env.write_config(&format!(
        "[projects.{:?}]\ntrust_level = \"trusted\"\n",
        env.work_dir().display().to_string()
    ));
    env.write_file(
        "work/.codex/config.toml",
        "[mcp_servers.\"p.q\"]\ncommand = \"x\"\n",
    );
    let run = env.codex(&["mcp", "list"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("(1) p.q: invalid server name \"p.q\""),
        "{}",
        run.stdout
    );
}

/// A copy of the test server in an admin folder, and its digest.
fn pinned_server(env: &TestEnv) -> (PathBuf, String) {
    let dir = env.root().join("opt");
    std::fs::create_dir_all(&dir).expect("dir");
    let copy = dir.join("pinned-mcp");
    std::fs::copy(test_server_bin(), &copy).expect("copy");
    let digest = codex_sandbox::sha256_file(&copy).expect("hash");
    (copy, digest)
}

#[test]
fn hash_pinning_runs_only_the_pinned_file() {
    let mut env = TestEnv::new();
    let (copy, digest) = pinned_server(&env);
    env.write_config(&format!(
        "[mcp_servers.pinned]\ncommand = {}\n",
        quoted(&copy)
    ));
    // `requirements pin` prints the rule to paste.
    let run = env.codex(&["requirements", "pin", "pinned"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout.contains(&format!("sha256 = [\"{digest}\"]")),
        "{}",
        run.stdout
    );
    // The run's output shows the temp root as `[TMP]`; put it back.
    let root = env.root().display().to_string();
    let rule: String = run
        .stdout
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.replace("[TMP]", &root))
        .collect::<Vec<_>>()
        .join("\n");
    // An update is rolled out by listing the new digest next to the old.
    env.requirements_file(&rule.replace(
        &format!("[\"{digest}\"]"),
        &format!("[\"{}\", \"{digest}\"]", "0".repeat(64)),
    ));
    let run = env.codex(&["mcp", "tools", "--json"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    // A changed file never runs.
    let mut bytes = std::fs::read(&copy).expect("read");
    bytes.extend_from_slice(b"tampered");
    std::fs::write(&copy, bytes).expect("tamper");
    assert_eq!(verdict(&env, "pinned"), "sha256_mismatch");
    let run = env.codex(&["mcp", "tools", "--json"]);
    let json: Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(json[0]["status"], "disabled", "{}", run.transcript());
}

#[test]
fn a_pinned_script_runs_from_its_open_file() {
    let mut env = TestEnv::new();
    let dir = env.root().join("opt");
    let server = dir.join("wrapper-mcp");
    script(
        &server,
        &format!("#!/bin/sh\nexec {} \"$@\"\n", quoted(&test_server_bin())),
    );
    let digest = codex_sandbox::sha256_file(&server).expect("hash");
    env.write_config(&format!(
        "[mcp_servers.wrapped]\ncommand = {}\n",
        quoted(&server)
    ));
    env.requirements_file(&format!(
        "[mcp_server_allowlist.wrapped]\ncommand = {}\nsha256 = [\"{digest}\"]\n",
        quoted(&server)
    ));
    let run = env.codex(&[
        "mcp",
        "call",
        "wrapped",
        "echo",
        "--args",
        "{\"text\": \"pinned\"}",
    ]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(run.stdout, "pinned\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_swapped_after_admission_is_not_what_runs() {
    use codex_actors::config::{McpServerConfig, Origin};
    use codex_actors::policy::{
        Admission, LaunchContext, RequirementSource, Requirements, admit, parse_requirements,
    };
    use codex_transports::{
        ConnectContext, StdioConfig, StdioLaunch, TransportConfig, TransportRegistry,
    };

    let env = TestEnv::new();
    let (copy, digest) = pinned_server(&env);
    let config = McpServerConfig::new(TransportConfig::Stdio(StdioConfig {
        command: copy.display().to_string(),
        args: Vec::new(),
        env: Default::default(),
        env_vars: Vec::new(),
        cwd: None,
    }));
    let (layer, _) = parse_requirements(
        RequirementSource::EnvBase64,
        Origin::EnvVar("test"),
        &format!(
            "[mcp_server_allowlist.pinned]\ncommand = {}\nsha256 = [\"{digest}\"]\n",
            quoted(&copy)
        ),
    )
    .expect("requirements");
    let mut requirements = Requirements::none();
    requirements.push(layer);
    let ctx = LaunchContext {
        cwd: env.work_dir(),
        env: std::env::vars().collect(),
    };
    let Admission::Allowed {
        launch: Some(Ok(spec)),
        ..
    } = admit("pinned", &config, &requirements, &ctx)
    else {
        panic!("the pinned file is admitted");
    };
    // After the check, the file at that path is replaced by another.
    let marker = env.root().join("pwned");
    let swap = env.root().join("opt/swap");
    script(
        &swap,
        &format!("#!/bin/sh\necho pwned > {}\n", quoted(&marker)),
    );
    std::fs::rename(&swap, &copy).expect("swap the file");
    // What starts is the file that was hashed: the test server answers.
    let context =
        ConnectContext::new("pinned", env.work_dir(), ctx.env.clone()).with_launch(StdioLaunch {
            spec,
            sandbox: None,
        });
    let client = TransportRegistry::default()
        .connect_and_initialize(
            &config.transport,
            &context,
            std::time::Duration::from_secs(30),
        )
        .await
        .expect("the pinned test server initialises");
    let info = client.service.peer().peer_info().expect("server info");
    assert_eq!(
        info.server_info.as_ref().map(|i| i.name.as_str()),
        Some("codex-test-mcp-server")
    );
    assert!(!marker.exists(), "the swapped file ran");
    drop(client);
}
