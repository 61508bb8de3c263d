//! `codex exec` against a local mock of the model API that speaks the real
//! wire formats. Each test scripts the model's replies, drives the real
//! binary, and asserts the exact JSONL it prints and the requests it sent.

use std::process::Stdio;
use std::time::Duration;

use codex_integration_tests::{Run, TestEnv, processes_with, test_server_bin};
use codex_test_mcp_server::mock_model::{MockModel, RecordedRequest, Reply, ev};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

/// A test world: a `CODEX_HOME` whose config points at a mock model.
pub(crate) struct Exec {
    pub(crate) env: TestEnv,
    pub(crate) model: MockModel,
}

impl Exec {
    async fn new(replies: Vec<Reply>) -> Exec {
        Exec::with_config(replies, "").await
    }

    /// `extra` is appended to the config (MCP servers, providers).
    pub(crate) async fn with_config(replies: Vec<Reply>, extra: &str) -> Exec {
        let model = MockModel::start(replies).await.expect("mock model");
        let mut env = TestEnv::new();
        env.write_config(&format!("model = \"gpt-5-codex\"\n{extra}"));
        env.set_var("OPENAI_BASE_URL", model.base_url());
        env.set_var("CODEX_API_KEY", "sk-test");
        Exec { env, model }
    }

    /// Runs `codex exec ARGS` (with `--skip-git-repo-check`), feeding
    /// `stdin` when given; stdin is otherwise empty.
    pub(crate) async fn run(&self, args: &[&str], stdin: Option<&str>) -> Run {
        let mut all = vec!["exec", "--skip-git-repo-check"];
        all.extend_from_slice(args);
        let mut command = tokio::process::Command::from(self.env.command(&all));
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn codex");
        let mut input = child.stdin.take().expect("stdin");
        input
            .write_all(stdin.unwrap_or_default().as_bytes())
            .await
            .expect("write stdin");
        drop(input);
        let output = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
            .await
            .expect("codex exec finishes")
            .expect("wait");
        self.env.run_from_output(output)
    }
}

/// A command that says it runs through a FIFO in the workspace (the
/// sandbox lets it write there), then becomes `sleep MARKER`: a test
/// waits for that word instead of for time to pass.
pub(crate) struct Sleeper {
    ready: tokio::net::unix::pipe::Receiver,
}

impl Sleeper {
    /// The model turn that runs the command.
    pub(crate) fn reply(marker: &str) -> Reply {
        Reply::sse(vec![
            ev::function_call(
                "c1",
                "exec_command",
                &json!({"cmd": format!("echo running > ready.fifo; exec sleep {marker}")}),
            ),
            ev::completed("r1"),
        ])
    }

    /// Makes the FIFO in `env`'s workspace and opens it read-write, so the
    /// reader sees no end of file before the writer.
    pub(crate) fn listen(env: &TestEnv) -> Sleeper {
        let fifo = env.work_dir().join("ready.fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo");
        assert!(made.success());
        let ready = tokio::net::unix::pipe::OpenOptions::new()
            .read_write(true)
            .open_receiver(&fifo)
            .expect("open the FIFO");
        Sleeper { ready }
    }

    /// Waits (a minute at most) for the command's word that it runs.
    pub(crate) async fn running(self) {
        let mut line = String::new();
        tokio::time::timeout(
            Duration::from_secs(60),
            BufReader::new(self.ready).read_line(&mut line),
        )
        .await
        .expect("the command starts")
        .expect("read the FIFO");
        assert_eq!(line, "running\n");
    }
}

/// The JSONL lines of a run, with the thread id replaced.
pub(crate) fn events(run: &Run) -> Vec<Value> {
    run.stdout
        .lines()
        .map(|line| {
            let mut value: Value = serde_json::from_str(line)
                .unwrap_or_else(|err| panic!("not JSON ({err}): {line}\n{}", run.transcript()));
            if value["type"] == "thread.started" {
                assert!(value["thread_id"].as_str().is_some_and(|id| id.len() == 36));
                value["thread_id"] = json!("[THREAD]");
            }
            value
        })
        .collect()
}

/// The JSONL as text, one event per line, for exact comparison.
fn transcript(run: &Run) -> String {
    events(run)
        .iter()
        .map(|event| format!("{event}\n"))
        .collect()
}

fn mcp_server(name: &str, extra: &str) -> String {
    format!(
        "[mcp_servers.{name}]\ncommand = {:?}\n{extra}\n",
        test_server_bin().display().to_string()
    )
}

/// The `Output:` part of an `exec_command` output.
fn command_output_text(output: &str) -> &str {
    output.split_once("Output:\n").map_or("", |(_, rest)| rest)
}

fn input_types(request: &RecordedRequest) -> Vec<String> {
    request.body["input"]
        .as_array()
        .expect("input")
        .iter()
        .map(|item| {
            let kind = item["type"].as_str().unwrap_or("?");
            match item["role"].as_str() {
                Some(role) => format!("{kind}:{role}"),
                None => kind.to_owned(),
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_answer() {
    let exec = Exec::new(vec![Reply::sse(vec![
        ev::created("r1"),
        ev::reasoning("rs1", "Looking at the question"),
        ev::text_delta("Hel"),
        ev::message("m1", "Hello there"),
        ev::completed_with("r1", 120, 20, 12),
    ])])
    .await;
    let run = exec.run(&["--json", "say hello"], None).await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(
        transcript(&run),
        concat!(
            r#"{"type":"thread.started","thread_id":"[THREAD]"}"#,
            "\n",
            r#"{"type":"turn.started"}"#,
            "\n",
            r#"{"type":"item.completed","item":{"id":"item_0","type":"reasoning","text":"Looking at the question"}}"#,
            "\n",
            r#"{"type":"item.completed","item":{"id":"item_1","type":"agent_message","text":"Hello there"}}"#,
            "\n",
            r#"{"type":"turn.completed","usage":{"input_tokens":120,"cached_input_tokens":20,"cache_write_input_tokens":0,"output_tokens":12,"reasoning_output_tokens":1}}"#,
            "\n",
        )
    );
    let requests = exec.model.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.path, "/v1/responses");
    assert_eq!(request.header("authorization"), Some("Bearer sk-test"));
    assert_eq!(request.header("originator"), Some("codex_exec"));
    assert_eq!(request.body["stream"], true);
    assert_eq!(request.body["store"], false);
    assert_eq!(request.body["tool_choice"], "auto");
    assert_eq!(request.body["parallel_tool_calls"], true);
    assert_eq!(request.body["reasoning"]["summary"], "auto");
    assert_eq!(
        request.tool_names(),
        ["exec_command", "write_stdin", "apply_patch"]
    );
    // GPT-5 models get apply_patch as a freeform tool with its grammar.
    let patch_tool = &request.body["tools"][2];
    assert_eq!(patch_tool["type"], "custom");
    assert_eq!(patch_tool["format"]["syntax"], "lark");
    assert_eq!(input_types(request), ["message:developer", "message:user"]);
    assert_eq!(request.body["input"][1]["content"][0]["text"], "say hello");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_then_an_answer() {
    let exec = Exec::new(vec![
        Reply::sse(vec![
            ev::function_call(
                "call_1",
                "exec_command",
                &json!({"cmd": "echo out; echo err >&2; exit 3"}),
            ),
            ev::completed("r1"),
        ]),
        Reply::sse(vec![ev::message("m1", "It exited 3."), ev::completed("r2")]),
    ])
    .await;
    let run = exec.run(&["--json", "run it"], None).await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    let command = r#"/bin/bash -lc 'echo out; echo err >&2; exit 3'"#;
    let started = json!({"type": "item.started", "item": {
        "id": "item_0", "type": "command_execution", "command": command,
        "aggregated_output": "", "exit_code": null, "status": "in_progress"}});
    let events = events(&run);
    assert_eq!(events[2], started);
    // stdout and stderr in the order they arrived (two pipes: either).
    let output = events[3]["item"]["aggregated_output"].clone();
    assert!(output == "out\nerr\n" || output == "err\nout\n", "{output}");
    let completed = json!({"type": "item.completed", "item": {
        "id": "item_0", "type": "command_execution", "command": command,
        "aggregated_output": output, "exit_code": 3, "status": "failed"}});
    assert_eq!(events[3], completed);
    assert_eq!(
        events[4]["item"],
        json!({"id": "item_1", "type": "agent_message", "text": "It exited 3."})
    );
    assert_eq!(events[5]["type"], "turn.completed");
    assert_eq!(events.len(), 6);

    let requests = exec.model.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        input_types(&requests[1]),
        [
            "message:developer",
            "message:user",
            "function_call",
            "function_call_output"
        ]
    );
    let output = requests[1]
        .function_call_output("call_1")
        .expect("the output of call_1");
    let lines: Vec<&str> = output.lines().collect();
    assert!(lines[0].starts_with("Chunk ID: "), "{output}");
    assert!(lines[1].starts_with("Wall time: ") && lines[1].ends_with(" seconds"));
    assert_eq!(lines[2], "Process exited with code 3");
    assert_eq!(lines[3], "Original token count: 2");
    let text = command_output_text(&output);
    assert!(text == "out\nerr\n" || text == "err\nout\n", "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mcp_tool_call_and_parallel_calls() {
    let exec = Exec::with_config(
        vec![
            Reply::sse(vec![
                ev::function_call("c1", "mcp__mini__echo", &json!({"text": "ping"})),
                ev::function_call("c2", "mcp__mini__sleep", &json!({"ms": 300})),
                ev::function_call(
                    "c3",
                    "exec_command",
                    &json!({"cmd": "sleep 0.3; echo slept"}),
                ),
                ev::completed("r1"),
            ]),
            Reply::sse(vec![ev::message("m1", "all done"), ev::completed("r2")]),
        ],
        &mcp_server("mini", "default_tools_approval_mode = \"approve\""),
    )
    .await;
    let started = std::time::Instant::now();
    let run = exec.run(&["--json", "use the tools"], None).await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    let events = events(&run);
    let kinds: Vec<String> = events
        .iter()
        .map(|e| match e["item"]["id"].as_str() {
            Some(id) => format!(
                "{} {id} {}",
                e["type"].as_str().unwrap_or(""),
                e["item"]["status"].as_str().unwrap_or("")
            ),
            None => e["type"].as_str().unwrap_or("").to_owned(),
        })
        .collect();
    // The three calls start together; completion order is the tools'.
    assert_eq!(
        &kinds[..5],
        [
            "thread.started",
            "turn.started",
            "item.started item_0 in_progress",
            "item.started item_1 in_progress",
            "item.started item_2 in_progress"
        ]
    );
    let echo = events
        .iter()
        .find(|e| e["type"] == "item.completed" && e["item"]["id"] == "item_0")
        .expect("echo completes");
    assert_eq!(
        echo["item"],
        json!({"id": "item_0", "type": "mcp_tool_call", "server": "mini", "tool": "echo",
               "arguments": {"text": "ping"},
               "result": {"content": [{"type": "text", "text": "ping"}], "structured_content": null},
               "error": null, "status": "completed"})
    );
    // Run one after another, the sleeps would take 0.6 s or more.
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    let requests = exec.model.requests();
    let tools = requests[0].tool_names();
    assert!(tools.contains(&"mcp__mini__echo".to_owned()), "{tools:?}");
    assert_eq!(
        requests[1].function_call_output("c1").as_deref(),
        Some("ping")
    );
    assert!(
        command_output_text(&requests[1].function_call_output("c3").expect("c3")).contains("slept")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_and_rate_limits_are_retried() {
    let exec = Exec::new(vec![
        Reply::status(500, "upstream broke"),
        Reply::status(429, "slow down").with_header("retry-after", "1"),
        Reply::sse(vec![ev::message("m1", "finally"), ev::completed("r1")]),
    ])
    .await;
    let started = std::time::Instant::now();
    let run = exec.run(&["--json", "hi"], None).await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was honoured"
    );
    let events = events(&run);
    let errors: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "error")
        .map(|e| e["message"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        errors,
        [
            "Reconnecting... 1/4 (unexpected status 500: upstream broke)",
            "Reconnecting... 2/4 (unexpected status 429: slow down)"
        ]
    );
    assert_eq!(events.last().expect("last")["type"], "turn.completed");
    assert_eq!(exec.model.requests().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_request_is_not_retried() {
    let exec = Exec::new(vec![Reply::status(400, "invalid input")]).await;
    let run = exec.run(&["--json", "hi"], None).await;
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert_eq!(
        transcript(&run),
        concat!(
            r#"{"type":"thread.started","thread_id":"[THREAD]"}"#,
            "\n",
            r#"{"type":"turn.started"}"#,
            "\n",
            // As in Codex: an `error` line, then `turn.failed`.
            r#"{"type":"error","message":"unexpected status 400: invalid input"}"#,
            "\n",
            r#"{"type":"turn.failed","error":{"message":"unexpected status 400: invalid input"}}"#,
            "\n",
        )
    );
    assert_eq!(exec.model.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_stream_and_a_stalled_stream_are_sent_again() {
    let provider = r#"model_provider = "mock"
[model_providers.mock]
base_url = "BASE"
stream_idle_timeout_ms = 3000
stream_max_retries = 2
"#;
    let model = MockModel::start(vec![
        // Cut before response.completed.
        Reply::sse(vec![ev::message("m0", "partial")]),
        // Stalls past the idle timeout.
        Reply::stall(vec![ev::created("r2")]),
        Reply::sse(vec![ev::message("m1", "whole"), ev::completed("r3")]),
    ])
    .await
    .expect("mock");
    let mut env = TestEnv::new();
    env.write_config(&provider.replace("BASE", &model.base_url()));
    env.remove_var("OPENAI_BASE_URL");
    let exec = Exec { env, model };
    let run = exec.run(&["--json", "hi"], None).await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    let events = events(&run);
    let errors: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "error")
        .map(|e| e["message"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        errors,
        [
            "Reconnecting... 1/2 (stream closed before response.completed)",
            "Reconnecting... 2/2 (idle timeout waiting for SSE after 3 s)"
        ]
    );
    // The partial message of the cut attempt is never shown.
    let messages: Vec<&Value> = events
        .iter()
        .filter(|e| e["item"]["type"] == "agent_message")
        .collect();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["item"]["text"], "whole");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_run_out_into_a_clean_failure() {
    let provider = r#"model_provider = "mock"
[model_providers.mock]
base_url = "BASE"
request_max_retries = 1
"#;
    let model = MockModel::start(vec![
        Reply::status(503, "down"),
        Reply::status(503, "still down"),
    ])
    .await
    .expect("mock");
    let env = TestEnv::new();
    env.write_config(&provider.replace("BASE", &model.base_url()));
    let exec = Exec { env, model };
    let run = exec.run(&["--json", "hi"], None).await;
    assert_eq!(run.code, 1, "{}", run.transcript());
    let events = events(&run);
    let message =
        "exceeded retry limit after 2 attempts; last error: unexpected status 503: still down";
    assert_eq!(
        events[events.len() - 2..],
        [
            json!({"type": "error", "message": message}),
            json!({"type": "turn.failed", "error": {"message": message}})
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_startup_is_reported_and_waited_for() {
    let extra = [
        mcp_server("slow", "args = [\"--slow-init-ms\", \"3000\"]"),
        mcp_server("blocked", ""),
        "[mcp_servers.missing]\ncommand = \"/nonexistent/mcp-server\"\n".to_owned(),
        mcp_server("off", "enabled = false"),
    ]
    .concat();
    let mut exec = Exec::with_config(
        vec![Reply::sse(vec![
            ev::message("m1", "ok"),
            ev::completed("r1"),
        ])],
        &extra,
    )
    .await;
    exec.env
        .requirements_file("[mcp_server_denylist.blocked]\n");
    let run = exec.run(&["--json", "hi"], None).await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    let events = events(&run);
    let warnings: Vec<String> = events
        .iter()
        .take_while(|e| e["type"] != "turn.started")
        .filter(|e| e["item"]["type"] == "error")
        .map(|e| e["item"]["message"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    assert_eq!(
        warnings[0],
        "MCP server 'blocked' is disabled: requirements ([TMP]/requirements.toml): denied by mcp_server_denylist.blocked"
    );
    assert!(
        warnings[1].starts_with("MCP server 'missing' failed to start: ")
            && warnings[1].contains("/nonexistent/mcp-server"),
        "{}",
        warnings[1]
    );
    let tools = exec.model.requests()[0].tool_names();
    assert!(tools.contains(&"mcp__slow__echo".to_owned()), "{tools:?}");
    assert!(
        !tools
            .iter()
            .any(|t| t.contains("blocked") || t.contains("off")),
        "{tools:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_required_server_that_fails_ends_the_run() {
    let exec = Exec::with_config(
        vec![],
        "[mcp_servers.needed]\ncommand = \"/nonexistent/needed\"\nrequired = true\n",
    )
    .await;
    let run = exec.run(&["--json", "hi"], None).await;
    assert_eq!(run.code, 1, "{}", run.transcript());
    let events = events(&run);
    assert_eq!(events[1]["item"]["type"], "error");
    assert_eq!(
        events.last().expect("last"),
        &json!({"type": "error", "message": "required MCP servers failed to initialize: needed"})
    );
    assert!(exec.model.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_timeout_becomes_an_output() {
    let exec = Exec::with_config(
        vec![
            Reply::sse(vec![
                ev::function_call("c1", "mcp__mini__sleep", &json!({"ms": 5000})),
                ev::completed("r1"),
            ]),
            Reply::sse(vec![ev::message("m1", "it timed out"), ev::completed("r2")]),
        ],
        &mcp_server(
            "mini",
            "tool_timeout_sec = 0.3\ndefault_tools_approval_mode = \"approve\"",
        ),
    )
    .await;
    let run = exec.run(&["--json", "sleep"], None).await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    let output = exec.model.requests()[1]
        .function_call_output("c1")
        .expect("output");
    assert!(
        output.starts_with("tool call failed: timed out awaiting tools/call after 300ms"),
        "{output}"
    );
    let item = events(&run)
        .into_iter()
        .find(|e| e["type"] == "item.completed" && e["item"]["type"] == "mcp_tool_call")
        .expect("tool item");
    assert_eq!(item["item"]["status"], "failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_message_file_schema_and_stdin() {
    let schema = json!({
        "type": "object",
        "properties": {"answer": {"type": "string"}},
        "required": ["answer"],
        "additionalProperties": false
    });
    let exec = Exec::new(vec![Reply::sse(vec![
        ev::message("m1", r#"{"answer":"42"}"#),
        ev::completed("r1"),
    ])])
    .await;
    let schema_path = exec.env.write_file("schema.json", &schema.to_string());
    let out = exec.env.root().join("last.txt");
    let run = exec
        .run(
            &[
                "--output-schema",
                schema_path.to_str().expect("utf-8"),
                "-o",
                out.to_str().expect("utf-8"),
                "-",
            ],
            Some("What is the answer?"),
        )
        .await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    // Human mode: only the final message on stdout.
    assert_eq!(run.stdout, "{\"answer\":\"42\"}\n");
    assert!(
        run.stderr.contains("Reading prompt from stdin..."),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&out).expect("-o file"),
        r#"{"answer":"42"}"#
    );
    let request = &exec.model.requests()[0];
    assert_eq!(
        request.body["text"]["format"],
        json!({"type": "json_schema", "name": "codex_output_schema", "schema": schema, "strict": true})
    );
    assert_eq!(
        request.body["input"][1]["content"][0]["text"],
        "What is the answer?"
    );

    // `-o` is never written through a link (Codex opens it O_NOFOLLOW).
    let exec = Exec::new(vec![Reply::sse(vec![
        ev::message("m", "planted"),
        ev::completed("r"),
    ])])
    .await;
    let target = exec.env.write_file("target.txt", "SAFE");
    let link = exec.env.root().join("link.txt");
    std::os::unix::fs::symlink(&target, &link).expect("link");
    let run = exec
        .run(&["-o", link.to_str().expect("utf-8"), "hi"], None)
        .await;
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stderr.contains("link.txt"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&target).expect("target"), "SAFE");

    // A prompt plus piped context.
    let exec = Exec::new(vec![Reply::sse(vec![
        ev::message("m", "ok"),
        ev::completed("r"),
    ])])
    .await;
    let run = exec.run(&["summarise"], Some("line one\n")).await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(
        exec.model.requests()[0].body["input"][1]["content"][0]["text"],
        "summarise\n\n<stdin>\nline one\n</stdin>"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_and_config_errors_exit_1() {
    let exec = Exec::new(Vec::new()).await;
    let run = exec.run(&[], None).await;
    assert_eq!(run.code, 1);
    // The note comes before the read, so a pipe left open never blocks
    // silently.
    assert_eq!(
        run.stderr,
        "Reading prompt from stdin...\nError: No prompt provided via stdin.\n"
    );

    let mut exec = Exec::new(Vec::new()).await;
    exec.env.remove_var("CODEX_API_KEY");
    let run = exec.run(&["hi"], None).await;
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("\nError: Missing environment variable: `OPENAI_API_KEY`."),
        "{}",
        run.stderr
    );

    let run = exec
        .run(&["--output-schema", "/nonexistent/schema.json", "hi"], None)
        .await;
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("--output-schema /nonexistent/schema.json"),
        "{}",
        run.stderr
    );

    // Outside a git repository without the flag.
    let mut command = exec.env.command(&["exec", "hi"]);
    let output = command.output().expect("run");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "Error: Not inside a trusted directory and --skip-git-repo-check was not specified.\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chat_completions_wire_api() {
    let model = MockModel::start(vec![
        Reply::Chat(vec![
            ev::chat_tool_fragment(0, Some("call_a"), Some("exec_command"), ""),
            ev::chat_tool_fragment(0, None, None, r#"{"cmd":"ec"#),
            ev::chat_tool_fragment(0, None, None, r#"ho chat"}"#),
            ev::chat_finish("tool_calls"),
        ]),
        Reply::Chat(vec![
            ev::chat_text("Done "),
            ev::chat_text("via chat."),
            ev::chat_finish("stop"),
        ]),
    ])
    .await
    .expect("mock");
    let env = TestEnv::new();
    env.write_config(&format!(
        "model = \"llama3\"\nmodel_provider = \"local\"\n[model_providers.local]\nbase_url = {:?}\nwire_api = \"chat\"\n",
        model.base_url()
    ));
    let exec = Exec { env, model };
    let run = exec.run(&["--json", "hi"], None).await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    let events = events(&run);
    let command = events
        .iter()
        .find(|e| e["type"] == "item.completed" && e["item"]["type"] == "command_execution")
        .expect("command item");
    assert_eq!(command["item"]["aggregated_output"], "chat\n");
    assert_eq!(events[events.len() - 2]["item"]["text"], "Done via chat.");
    let requests = exec.model.requests();
    assert_eq!(requests[0].path, "/v1/chat/completions");
    assert_eq!(requests[0].body["messages"][0]["role"], "system");
    let tool_message = &requests[1].body["messages"][3];
    assert_eq!(tool_message["role"], "tool");
    assert_eq!(tool_message["tool_call_id"], "call_a");
    assert_eq!(
        requests[1].body["messages"][2]["tool_calls"][0]["function"]["arguments"],
        r#"{"cmd":"echo chat"}"#
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_exits_130_and_leaves_no_child() {
    a_signal_ends_the_run_and_leaves_no_child(rustix::process::Signal::INT, 130, "98").await;
}

/// What a CI job's cancel and `timeout` send, and a closed terminal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_and_sighup_exit_and_leave_no_child() {
    a_signal_ends_the_run_and_leaves_no_child(rustix::process::Signal::TERM, 143, "97").await;
    a_signal_ends_the_run_and_leaves_no_child(rustix::process::Signal::HUP, 129, "96").await;
}

async fn a_signal_ends_the_run_and_leaves_no_child(
    signal: rustix::process::Signal,
    code: i32,
    prefix: &str,
) {
    let marker = format!("{prefix}{}", std::process::id() % 1000);
    let server_name = format!("signal-{code}-server-{}", std::process::id());
    let exec = Exec::with_config(
        vec![Sleeper::reply(&marker)],
        &format!(
            "sandbox_mode = \"workspace-write\"\n{}",
            mcp_server("mini", &format!("args = [\"--name\", {server_name:?}]"))
        ),
    )
    .await;
    let sleeper = Sleeper::listen(&exec.env);
    let mut command = tokio::process::Command::from(exec.env.command(&[
        "exec",
        "--skip-git-repo-check",
        "--json",
        "sleep a while",
    ]));
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn");
    let pid = child.id().expect("pid");
    // Wait for the command's own word that it runs, then interrupt codex
    // as a terminal would.
    sleeper.running().await;
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(i32::try_from(pid).expect("pid")).expect("pid"),
        signal,
    )
    .expect("signal");
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("codex exits")
        .expect("wait");
    assert_eq!(status.code(), Some(code), "{signal:?}");
    // Nothing of the turn outlives codex: no sleep, no MCP server.
    assert_eq!(processes_with(&format!("sleep {marker}")), 0);
    assert_eq!(processes_with(&server_name), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_obeys_requirements_and_confines_commands() {
    let mut exec = Exec::new(vec![
        Reply::sse(vec![
            ev::function_call("c1", "exec_command", &json!({"cmd": "touch made-here"})),
            ev::completed("r1"),
        ]),
        Reply::sse(vec![
            ev::message("m1", "could not write"),
            ev::completed("r2"),
        ]),
    ])
    .await;
    exec.env
        .requirements_file("allowed_sandbox_modes = [\"read-only\"]\n");
    let run = exec
        .run(&["--json", "-s", "workspace-write", "write a file"], None)
        .await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    let events = events(&run);
    assert_eq!(events[1]["type"], "item.completed");
    let warning = events[1]["item"]["message"].as_str().unwrap_or("");
    assert!(
        warning.starts_with(
            "Configured value for `sandbox_mode` is disallowed by requirements; falling back to required value read-only."
        ),
        "{warning}"
    );
    let command = events
        .iter()
        .find(|e| e["type"] == "item.completed" && e["item"]["type"] == "command_execution")
        .expect("command");
    assert_eq!(command["item"]["status"], "failed");
    assert!(!exec.env.work_dir().join("made-here").exists());
    let developer = exec.model.requests()[0].body["input"][0]["content"][0]["text"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert!(
        developer.contains("<sandbox_mode>read-only</sandbox_mode>"),
        "{developer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn human_mode_keeps_stdout_for_the_answer() {
    let exec = Exec::new(vec![
        Reply::sse(vec![
            ev::function_call("c1", "exec_command", &json!({"cmd": "echo progress"})),
            ev::completed("r1"),
        ]),
        Reply::sse(vec![ev::message("m1", "The answer."), ev::completed("r2")]),
    ])
    .await;
    let run = exec.run(&["--color", "never", "go"], None).await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(run.stdout, "The answer.\n");
    for expected in [
        "model: gpt-5-codex",
        "sandbox: read-only",
        "exec\n/bin/bash -lc 'echo progress' in [TMP]/work",
        "succeeded in ",
        "ms:\nprogress\n\n",
        "codex\nThe answer.",
        "tokens used",
    ] {
        assert!(
            run.stderr.contains(expected),
            "missing {expected:?} in\n{}",
            run.stderr
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_images_and_notify() {
    let notified = tempfile::tempdir().expect("tempdir");
    // The notify program writes its last argument to a file.
    let script = notified.path().join("notify.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nprintf '%s' \"$1\" > \"$0.json.tmp\" && mv \"$0.json.tmp\" \"$0.json\"\n",
    )
    .expect("script");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let exec = Exec::with_config(
        vec![Reply::sse(vec![
            ev::message("m1", "seen"),
            ev::completed("r1"),
        ])],
        &format!(
            "notify = [{:?}]\n[profiles.fast]\nmodel = \"o3\"\nmodel_reasoning_effort = \"low\"\n",
            script.display().to_string()
        ),
    )
    .await;
    std::fs::write(
        exec.env.work_dir().join("shot.png"),
        b"\x89PNG\r\n\x1a\nrest",
    )
    .expect("png");
    let run = exec
        .run(
            &["-p", "fast", "-i", "shot.png", "--json", "look at this"],
            None,
        )
        .await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    let request = &exec.model.requests()[0];
    assert_eq!(request.body["model"], "o3", "the profile's model");
    assert_eq!(request.body["reasoning"]["effort"], "low");
    let user = &request.body["input"][1];
    assert_eq!(user["content"][0]["text"], "look at this");
    assert_eq!(user["content"][1]["type"], "input_image");
    assert!(
        user["content"][1]["image_url"]
            .as_str()
            .is_some_and(|url| url.starts_with("data:image/png;base64,")),
        "{user}"
    );
    // notify ran with the turn's description (fire and forget: wait for
    // the file it writes).
    let written = notified.path().join("notify.sh.json");
    let text = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let Ok(text) = std::fs::read_to_string(&written) {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("notify ran");
    let payload: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(payload["type"], "agent-turn-complete");
    assert_eq!(payload["input-messages"], json!(["look at this"]));
    assert_eq!(payload["last-assistant-message"], "seen");
    assert_eq!(payload["cwd"], exec.env.work_dir().display().to_string());
    assert!(
        payload["thread-id"]
            .as_str()
            .is_some_and(|id| id.len() == 36)
    );
    assert!(payload["turn-id"].as_str().is_some_and(|id| id.len() == 36));

    // An unknown profile, and an image that is not one: clear errors.
    let run = exec.run(&["-p", "nope", "hi"], None).await;
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("config profile `nope` not found (defined: fast; no ")
            && run.stderr.contains("nope.config.toml)"),
        "{}",
        run.stderr
    );
    exec.env.write_file("work/notes.txt", "text");
    let run = exec.run(&["-i", "notes.txt", "hi"], None).await;
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("not a PNG, JPEG, GIF or WebP image"),
        "{}",
        run.stderr
    );
}
