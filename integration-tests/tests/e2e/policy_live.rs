//! The policy actor through the real binary: admin requirements changed
//! while a `codex exec` turn runs apply to the turn's next call (the turn is
//! held open by a mock reply the test releases, not by timing), and every
//! requirement key Codex 0.169 enforces is enforced by ours.

use std::process::Stdio;
use std::time::Duration;

use codex_integration_tests::{Run, TestEnv, test_server_bin};
use codex_test_mcp_server::mock_model::{MockModel, Release, Reply, ev};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, BufReader};

/// Long enough for a slow CI machine; nothing here waits this long when it
/// works.
const PATIENCE: Duration = Duration::from_secs(60);

/// The test server as `mini`; the model may call its tools unasked.
fn mini(extra: &str) -> String {
    format!(
        "[mcp_servers.mini]\ncommand = {:?}\ndefault_tools_approval_mode = \"approve\"\n{extra}\n",
        test_server_bin().display().to_string()
    )
}

/// An allowlist entry for `mini`.
fn allow_mini(extra: &str) -> String {
    format!(
        "[mcp_server_allowlist.mini]\ncommand = {:?}\n{extra}\n",
        test_server_bin().display().to_string()
    )
}

/// A model that calls `mini.echo` twice: once at once, once more when the
/// test releases the second answer, then says it is done.
fn two_echoes(release: &Release) -> Vec<Reply> {
    vec![
        Reply::sse(vec![
            ev::function_call("c1", "mcp__mini__echo", &json!({"text": "one"})),
            ev::completed("r1"),
        ]),
        Reply::sse(vec![
            ev::function_call("c2", "mcp__mini__echo", &json!({"text": "two"})),
            ev::completed("r2"),
        ])
        .held(release),
        Reply::sse(vec![ev::message("m1", "done"), ev::completed("r3")]),
    ]
}

/// A `codex exec --json` run whose events the test reads as they come.
struct LiveTurn {
    env: TestEnv,
    model: MockModel,
    child: tokio::process::Child,
    lines: tokio::sync::mpsc::UnboundedReceiver<Value>,
    seen: Vec<Value>,
}

impl LiveTurn {
    async fn start(config: &str, requirements: &str, replies: Vec<Reply>) -> LiveTurn {
        let model = MockModel::start(replies).await.expect("mock model");
        let mut env = TestEnv::new();
        env.write_config(&format!(
            "model = \"gpt-5-codex\"\nwatch_debounce_ms = 20\n{config}"
        ));
        env.requirements_file(requirements);
        env.set_var("OPENAI_BASE_URL", model.base_url());
        env.set_var("CODEX_API_KEY", "sk-test");
        let mut command = tokio::process::Command::from(env.command(&[
            "exec",
            "--skip-git-repo-check",
            "--json",
            "go",
        ]));
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("spawn codex");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                let value = serde_json::from_str(&line).unwrap_or(Value::String(line));
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        LiveTurn {
            env,
            model,
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for the event `pick` accepts.
    async fn event(&mut self, what: &str, pick: impl Fn(&Value) -> bool) -> Value {
        let wait = async {
            while let Some(event) = self.lines.recv().await {
                self.seen.push(event.clone());
                if pick(&event) {
                    return Some(event);
                }
            }
            None
        };
        match tokio::time::timeout(PATIENCE, wait).await {
            Ok(Some(event)) => event,
            _ => panic!("no event: {what}; seen: {:#?}", self.seen),
        }
    }

    /// Waits for the warning that says the requirements changed.
    async fn policy_changed(&mut self) {
        self.event("the requirements change", |e| {
            e["item"]["type"] == "error"
                && e["item"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("requirements changed"))
        })
        .await;
    }

    async fn finish(mut self) -> (Run, MockModel, Vec<Value>) {
        let output = tokio::time::timeout(PATIENCE, self.child.wait_with_output())
            .await
            .expect("codex exec finishes")
            .expect("wait");
        let mut seen = self.seen;
        while let Ok(event) = self.lines.try_recv() {
            seen.push(event);
        }
        (self.env.run_from_output(output), self.model, seen)
    }
}

/// The output of call `id` the model read, from the request after it.
fn output_of(model: &MockModel, request: usize, id: &str) -> String {
    model.requests()[request]
        .function_call_output(id)
        .unwrap_or_else(|| panic!("request {request} has the output of {id}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_server_from_the_allowlist_stops_its_next_call() {
    let release = Release::new();
    let mut turn = LiveTurn::start(&mini(""), &allow_mini(""), two_echoes(&release)).await;
    turn.model.wait_for_requests(2).await;
    std::fs::write(
        turn.env.root().join("requirements.toml"),
        "[mcp_server_allowlist.other]\ncommand = \"/bin/true\"\n",
    )
    .expect("write requirements");
    turn.policy_changed().await;
    release.open();
    let (run, model, _) = turn.finish().await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(output_of(&model, 1, "c1"), "one");
    let refused = output_of(&model, 2, "c2");
    assert!(
        refused.contains("\"mini\" is not in the allowlist"),
        "the model reads why: {refused}"
    );
    assert!(
        !model.requests()[2]
            .tool_names()
            .contains(&"mcp__mini__echo".to_owned()),
        "the next request no longer offers the tool"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_tools_added_to_a_rule_refuse_the_next_call() {
    let release = Release::new();
    let mut turn = LiveTurn::start(&mini(""), &allow_mini(""), two_echoes(&release)).await;
    turn.model.wait_for_requests(2).await;
    std::fs::write(
        turn.env.root().join("requirements.toml"),
        allow_mini("disabled_tools = [\"echo\"]"),
    )
    .expect("write requirements");
    turn.policy_changed().await;
    release.open();
    let (run, model, _) = turn.finish().await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    let refused = output_of(&model, 2, "c2");
    assert!(
        refused.contains("disabled_tools lists it"),
        "the rule is named: {refused}"
    );
    let offered = model.requests()[2].tool_names();
    assert!(
        !offered.contains(&"mcp__mini__echo".to_owned()),
        "{offered:?}"
    );
    assert!(
        offered.contains(&"mcp__mini__add".to_owned()),
        "{offered:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_admin_lock_withholds_the_tool_it_no_longer_pins() {
    // The admin's lock, made with `codex mcp lock` and moved into place.
    let env = TestEnv::new();
    env.write_config(&mini(""));
    let locked = env.codex(&["mcp", "lock"]);
    assert_eq!(locked.code, 0, "{}", locked.transcript());
    let lock_text = std::fs::read_to_string(env.codex_home().join("mcp-tools.lock")).expect("lock");

    let release = Release::new();
    let lock_dir = tempfile::tempdir().expect("tempdir");
    let admin_lock = lock_dir.path().join("admin.lock");
    std::fs::write(&admin_lock, &lock_text).expect("write admin lock");
    let requirements = format!(
        "mcp_tools_lock = {:?}\n{}",
        admin_lock.display().to_string(),
        allow_mini("")
    );
    let mut turn = LiveTurn::start(&mini(""), &requirements, two_echoes(&release)).await;
    turn.model.wait_for_requests(2).await;
    // The admin takes `echo` out of the lock.
    let mut lock: Value = serde_json::from_str(&lock_text).expect("lock json");
    lock["servers"]["mini"]
        .as_object_mut()
        .expect("mini's pins")
        .remove("echo");
    std::fs::write(
        &admin_lock,
        serde_json::to_string_pretty(&lock).expect("json"),
    )
    .expect("rewrite lock");
    turn.policy_changed().await;
    release.open();
    let (run, model, _) = turn.finish().await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(output_of(&model, 1, "c1"), "one");
    let refused = output_of(&model, 2, "c2");
    assert!(refused.contains("does not pin it"), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loosened_rule_lets_the_next_call_run() {
    let release = Release::new();
    let mut turn = LiveTurn::start(
        &mini(""),
        &allow_mini("disabled_tools = [\"echo\"]"),
        two_echoes(&release),
    )
    .await;
    turn.model.wait_for_requests(2).await;
    std::fs::write(turn.env.root().join("requirements.toml"), allow_mini(""))
        .expect("write requirements");
    turn.policy_changed().await;
    release.open();
    let (run, model, _) = turn.finish().await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        output_of(&model, 1, "c1").contains("disabled_tools lists it"),
        "refused before"
    );
    assert_eq!(output_of(&model, 2, "c2"), "two", "runs after");
    assert!(
        model.requests()[2]
            .tool_names()
            .contains(&"mcp__mini__echo".to_owned())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requirements_file_that_turns_malformed_keeps_the_last_good_policy() {
    let release = Release::new();
    let mut turn = LiveTurn::start(&mini(""), &allow_mini(""), two_echoes(&release)).await;
    turn.model.wait_for_requests(2).await;
    std::fs::write(
        turn.env.root().join("requirements.toml"),
        "[mcp_server_allowlist.mini\n",
    )
    .expect("write requirements");
    let warning = turn
        .event("the parse error", |e| {
            e["item"]["type"] == "error"
                && e["item"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("requirements.toml:1:"))
        })
        .await;
    assert!(
        warning["item"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("stay in force")),
        "{warning}"
    );
    release.open();
    let (run, model, _) = turn.finish().await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(output_of(&model, 2, "c2"), "two");
}

/// `codex exec --json` with one scripted model reply per element.
async fn exec_once(
    config: &str,
    requirements: &str,
    replies: Vec<Reply>,
) -> (Run, MockModel, TestEnv) {
    let model = MockModel::start(replies).await.expect("mock model");
    let mut env = TestEnv::new();
    env.write_config(&format!("model = \"gpt-5-codex\"\n{config}"));
    if !requirements.is_empty() {
        env.requirements_file(requirements);
    }
    env.set_var("OPENAI_BASE_URL", model.base_url());
    env.set_var("CODEX_API_KEY", "sk-test");
    let mut command = tokio::process::Command::from(env.command(&[
        "exec",
        "--skip-git-repo-check",
        "--json",
        "-s",
        "workspace-write",
        "go",
    ]));
    command.stdin(Stdio::null()).kill_on_drop(true);
    let output = tokio::time::timeout(PATIENCE, command.output())
        .await
        .expect("codex exec finishes")
        .expect("run");
    let run = env.run_from_output(output);
    (run, model, env)
}

fn jsonl(run: &Run) -> Vec<Value> {
    run.stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("json line"))
        .collect()
}

const RULES: &str = r#"
[rules]
prefix_rules = [
  { pattern = [{ token = "touch" }], decision = "forbidden", justification = "Nothing is created here." },
  { pattern = [{ token = "echo" }, { any_of = ["prompt-me", "ask"] }], decision = "prompt" },
]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_rules_forbid_and_prompt_under_never() {
    let (run, model, env) = exec_once(
        "",
        RULES,
        vec![
            Reply::sse(vec![
                ev::function_call(
                    "c1",
                    "exec_command",
                    &json!({"cmd": "cd . && touch made-by-model"}),
                ),
                ev::function_call("c2", "exec_command", &json!({"cmd": "echo prompt-me"})),
                ev::function_call("c3", "exec_command", &json!({"cmd": "echo fine"})),
                ev::completed("r1"),
            ]),
            Reply::sse(vec![ev::message("m1", "ok"), ev::completed("r2")]),
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    let forbidden = output_of(&model, 1, "c1");
    assert_eq!(
        forbidden,
        "`touch made-by-model` rejected: Nothing is created here."
    );
    let prompted = output_of(&model, 1, "c2");
    assert!(
        prompted.contains("needs approval") && prompted.contains("approval policy is never"),
        "{prompted}"
    );
    assert!(output_of(&model, 1, "c3").contains("fine"));
    let declined = jsonl(&run)
        .iter()
        .filter(|e| e["type"] == "item.completed" && e["item"]["status"] == "declined")
        .count();
    assert_eq!(declined, 2, "{}", run.stdout);
    assert!(
        !env.work_dir().join("made-by-model").exists(),
        "the forbidden command never started"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_approval_policy_falls_back_and_the_model_is_told() {
    let (run, model, _) = exec_once(
        "",
        "allowed_approval_policies = [\"on-request\"]\n",
        vec![Reply::sse(vec![
            ev::message("m1", "ok"),
            ev::completed("r1"),
        ])],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    let events = jsonl(&run);
    assert_eq!(events[1]["type"], "item.completed", "{}", run.stdout);
    assert_eq!(events[1]["item"]["type"], "error");
    let warning = events[1]["item"]["message"].as_str().unwrap_or("");
    assert!(
        warning.contains("`approval_policy`") && warning.contains("on-request"),
        "{warning}"
    );
    assert_eq!(events[2]["type"], "turn.started");
    let instructions = model.requests()[0].body["input"][0]["content"][0]["text"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert!(
        instructions.contains("<approval_policy>on-request</approval_policy>"),
        "{instructions}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn residency_is_sent_on_every_request_whatever_the_config_says() {
    let (run, model, _) = exec_once(
        "",
        "enforce_residency = \"us\"\n",
        vec![
            Reply::sse(vec![
                ev::function_call("c1", "exec_command", &json!({"cmd": "true"})),
                ev::completed("r1"),
            ]),
            Reply::sse(vec![ev::message("m1", "ok"), ev::completed("r2")]),
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    let requests = model.requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(
            request.header("x-openai-internal-codex-residency"),
            Some("us")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn residency_overrides_a_configured_header() {
    let model = MockModel::start(vec![Reply::sse(vec![
        ev::message("m1", "ok"),
        ev::completed("r1"),
    ])])
    .await
    .expect("mock model");
    let mut env = TestEnv::new();
    env.write_config(&format!(
        "model = \"m\"\nmodel_provider = \"corp\"\n[model_providers.corp]\nbase_url = {:?}\n\
         http_headers = {{ \"X-OpenAI-Internal-Codex-Residency\" = \"eu\" }}\n",
        model.base_url()
    ));
    env.requirements_file("enforce_residency = \"us\"\n");
    let run = env.codex(&["exec", "--skip-git-repo-check", "--json", "hi"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let requests = model.requests();
    assert_eq!(
        requests[0].header("x-openai-internal-codex-residency"),
        Some("us")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_tools_need_approval_unless_read_only_or_approved() {
    let server = test_server_bin().display().to_string();
    let config = format!(
        "[mcp_servers.plain]\ncommand = {server:?}\n\n\
         [mcp_servers.trusted]\ncommand = {server:?}\n\
         [mcp_servers.trusted.tools.echo]\napproval_mode = \"approve\"\n"
    );
    let (run, model, _) = exec_once(
        &config,
        "",
        vec![
            Reply::sse(vec![
                ev::function_call("c1", "mcp__plain__echo", &json!({"text": "x"})),
                ev::function_call("c2", "mcp__plain__add", &json!({"a": 1, "b": 2})),
                ev::function_call("c3", "mcp__trusted__echo", &json!({"text": "y"})),
                ev::completed("r1"),
            ]),
            Reply::sse(vec![ev::message("m1", "ok"), ev::completed("r2")]),
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(
        output_of(&model, 1, "c1"),
        "tool call failed: MCP tool call requires approval, but approval policy is never"
    );
    assert_eq!(output_of(&model, 1, "c2"), "3", "readOnlyHint: true runs");
    assert_eq!(
        output_of(&model, 1, "c3"),
        "y",
        "approval_mode = approve runs"
    );

    // The user's own call needs no approval.
    let env = TestEnv::new();
    env.write_config(&format!("[mcp_servers.plain]\ncommand = {server:?}\n"));
    let call = env.codex(&[
        "mcp",
        "call",
        "plain",
        "echo",
        "--args",
        r#"{"text":"mine"}"#,
    ]);
    assert_eq!(call.code, 0, "{}", call.transcript());
    assert_eq!(call.stdout.trim(), "mine");
}
