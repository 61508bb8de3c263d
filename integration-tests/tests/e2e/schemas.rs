//! The JSON Schemas (`codex debug schema ...`, checked in under
//! `docs/schemas/`) agree with what the parsers accept and what exec
//! prints: the checked-in files are what the binary generates, every
//! example document validates and loads without a warning, and every line
//! of a recorded `codex exec --json` run validates.

use std::path::PathBuf;

use codex_integration_tests::TestEnv;
use codex_test_mcp_server::mock_model::{Reply, ev};
use serde_json::{Value, json};

use crate::exec::Exec;

fn docs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .join("docs")
}

fn schema(env: &TestEnv, which: &str) -> Value {
    let run = env.codex(&["debug", "schema", which]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    serde_json::from_str(&run.stdout).expect("a schema")
}

/// `instance` against `schema`, with every error.
#[track_caller]
fn assert_valid(schema: &Value, instance: &Value, what: &str) {
    let validator = jsonschema::validator_for(schema).expect("a valid schema");
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|err| format!("{err} at {}", err.instance_path))
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:#?}");
}

#[test]
fn the_checked_in_schemas_are_the_generated_ones() {
    let env = TestEnv::new();
    for which in ["config", "requirements", "exec-events"] {
        let generated = schema(&env, which);
        let path = docs().join(format!("schemas/{which}.schema.json"));
        let checked_in: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("checked-in schema"))
                .expect("JSON");
        assert_eq!(
            generated,
            checked_in,
            "{} is stale: run `codex debug schema {which} > {}`",
            path.display(),
            path.display()
        );
    }
}

#[test]
fn the_example_documents_validate_and_load_cleanly() {
    let mut env = TestEnv::new();
    let config_text =
        std::fs::read_to_string(docs().join("examples/config.toml")).expect("example config");
    let config: Value =
        serde_json::to_value(toml::from_str::<toml::Table>(&config_text).expect("TOML"))
            .expect("JSON");
    assert_valid(
        &schema(&env, "config"),
        &config,
        "docs/examples/config.toml",
    );
    env.write_config(&config_text);
    let run = env.codex(&["mcp", "list"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(!run.stderr.contains("unknown key"), "{}", run.stderr);

    let requirements_text = std::fs::read_to_string(docs().join("examples/requirements.toml"))
        .expect("example requirements");
    let requirements: Value =
        serde_json::to_value(toml::from_str::<toml::Table>(&requirements_text).expect("TOML"))
            .expect("JSON");
    assert_valid(
        &schema(&env, "requirements"),
        &requirements,
        "docs/examples/requirements.toml",
    );
    env.requirements_file(&requirements_text);
    let run = env.codex(&["requirements", "show"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
}

#[test]
fn a_typo_is_not_valid_and_is_named_by_the_loader() {
    let mut env = TestEnv::new();
    let schema = schema(&env, "config");
    let validator = jsonschema::validator_for(&schema).expect("schema");
    assert!(!validator.is_valid(&json!({"modle": "gpt-5"})));
    env.write_config("modle = \"gpt-5\"\n[mcp_servers.a]\ncommand = \"a\"\nenabeld = true\n");
    let run = env.codex(&["mcp", "list"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("config.toml:1:1: unknown key `modle` (ignored; did you mean `model`?)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("unknown key `enabeld` in mcp_servers.a (ignored; did you mean `enabled`?)"),
        "{}",
        run.stderr
    );
    // `--strict-config` (anywhere on the line, as Codex's) refuses both,
    // each with its place, and runs nothing.
    for args in [
        &["--strict-config", "mcp", "list"][..],
        &["mcp", "list", "--strict-config"],
        &["exec", "--strict-config", "--skip-git-repo-check", "hi"],
    ] {
        let run = env.codex(args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.transcript());
        assert!(
            run.stderr
                .contains("--strict-config: the config has keys this version does not know:\n  ")
                && run.stderr.contains("config.toml:1:1: unknown key `modle`")
                && run
                    .stderr
                    .contains("unknown key `enabeld` in mcp_servers.a"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
    }
    env.write_config("model = \"gpt-5\"\n");
    let run = env.codex(&["--strict-config", "mcp", "list"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    env.write_config("[mcp_servers.a]\ncomand = \"a\"\n");
    let run = env.codex(&["mcp", "list"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("`comand` is not a known key: did you mean `command`?"),
        "{}",
        run.stderr
    );
    let requirements = serde_json::to_value(
        toml::from_str::<toml::Table>("alowed_sandbox_modes = [\"read-only\"]\n").expect("TOML"),
    )
    .expect("JSON");
    let requirements_schema = {
        let run = env.codex(&["debug", "schema", "requirements"]);
        serde_json::from_str::<Value>(&run.stdout).expect("schema")
    };
    assert!(!jsonschema::is_valid(&requirements_schema, &requirements));
    env.requirements_file("alowed_sandbox_modes = [\"read-only\"]\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_line_exec_prints_validates() {
    let patch = "*** Begin Patch\n*** Add File: new.txt\n+x\n*** End Patch";
    let exec = Exec::with_config(
        vec![
            Reply::sse(vec![
                ev::reasoning("rs", "thinking"),
                ev::function_call("c1", "exec_command", &json!({"cmd": "echo hi"})),
                ev::function_call("c2", "mcp__mini__echo", &json!({"text": "x"})),
                ev::custom_tool_call("p1", "apply_patch", patch),
                ev::completed("r1"),
            ]),
            Reply::status(500, "a hiccup"),
            Reply::sse(vec![ev::message("m", "done"), ev::completed("r2")]),
        ],
        &format!(
            "[mcp_servers.mini]\ncommand = {:?}\ndefault_tools_approval_mode = \"approve\"\n\
             [mcp_servers.gone]\ncommand = \"/nonexistent/server\"\n",
            codex_integration_tests::test_server_bin()
                .display()
                .to_string()
        ),
    )
    .await;
    let run = exec
        .run(
            &["--sandbox", "workspace-write", "--json", "do it all"],
            None,
        )
        .await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    let schema = schema(&exec.env, "exec-events");
    let mut kinds = std::collections::BTreeSet::new();
    for line in run.stdout.lines() {
        let event: Value = serde_json::from_str(line).expect("JSON");
        assert_valid(&schema, &event, line);
        kinds.insert(format!(
            "{} {}",
            event["type"].as_str().unwrap_or_default(),
            event["item"]["type"].as_str().unwrap_or_default()
        ));
    }
    for kind in [
        "thread.started ",
        "turn.started ",
        "item.completed reasoning",
        "item.completed command_execution",
        "item.completed mcp_tool_call",
        "item.completed file_change",
        "item.completed agent_message",
        "item.completed error",
        "error ",
        "turn.completed ",
    ] {
        assert!(kinds.contains(kind), "{kind} in {kinds:?}");
    }
    // A line of another shape does not validate.
    let validator = jsonschema::validator_for(&schema).expect("schema");
    assert!(!validator.is_valid(&json!({"type": "turn.completed"})));
}
