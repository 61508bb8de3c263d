//! `codex mcp-server` against the mock model: the official MCP Inspector
//! and our own `codex mcp call` as clients, and a raw JSON-RPC client for
//! what needs precise timing (concurrent calls, cancellation, elicitation
//! answers, closing stdin).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use codex_integration_tests::{McpDeps, codex_bin, processes_with, test_server_bin, wait_gone};
use codex_test_mcp_server::mock_model::{Release, Reply, ev};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::sync::mpsc;

use crate::exec::{Exec, Sleeper};
use crate::hostile::mkfifo;

/// How long any one wait may take.
const WAIT: Duration = Duration::from_secs(60);

/// `codex mcp-server` as a child, spoken to in raw newline-delimited
/// JSON-RPC.
struct Server {
    child: tokio::process::Child,
    stdin: Option<tokio::process::ChildStdin>,
    lines: mpsc::UnboundedReceiver<Value>,
    /// Messages read while waiting for others.
    seen: Vec<Value>,
    next_id: u64,
    stderr: tokio::task::JoinHandle<String>,
}

impl Server {
    /// Starts the server in `exec`'s world and completes the handshake,
    /// declaring the elicitation capability when `elicitation`.
    async fn start(exec: &Exec, elicitation: bool) -> Server {
        let mut command = tokio::process::Command::from(exec.env.command(&["mcp-server"]));
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("spawn codex mcp-server");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut stdout = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = stdout.next_line().await {
                // stdout is the protocol: every line must be a message.
                let value = serde_json::from_str(&line)
                    .unwrap_or_else(|_| json!({"not JSON on stdout": line}));
                if tx.send(value).is_err() {
                    return;
                }
            }
        });
        let mut stderr = child.stderr.take().expect("stderr");
        let stderr = tokio::spawn(async move {
            let mut text = String::new();
            let _ = tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut text).await;
            text
        });
        let mut server = Server {
            stdin: child.stdin.take(),
            child,
            lines,
            seen: Vec::new(),
            next_id: 1,
            stderr,
        };
        let capabilities = if elicitation {
            json!({"elicitation": {}})
        } else {
            json!({})
        };
        let id = server
            .request(
                "initialize",
                json!({
                    "protocolVersion": "2025-11-25",
                    "capabilities": capabilities,
                    "clientInfo": {"name": "e2e", "version": "1"}
                }),
            )
            .await;
        let answer = server.response(id).await;
        assert_eq!(
            answer["result"]["protocolVersion"], "2025-11-25",
            "{answer}"
        );
        server
            .send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        server
    }

    async fn send(&mut self, message: Value) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        let mut line = message.to_string();
        line.push('\n');
        stdin.write_all(line.as_bytes()).await.expect("write");
        stdin.flush().await.expect("flush");
    }

    /// Sends a request; returns its id.
    async fn request(&mut self, method: &str, params: Value) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        id
    }

    /// Calls `tool` with `arguments` and a progress token; returns the id.
    async fn call(&mut self, tool: &str, arguments: Value) -> u64 {
        let token = format!("progress-{}", self.next_id);
        self.request(
            "tools/call",
            json!({"name": tool, "arguments": arguments, "_meta": {"progressToken": token}}),
        )
        .await
    }

    /// Calls `codex-reply` on `thread` with `prompt`; returns the id.
    async fn reply(&mut self, thread: &str, prompt: &str) -> u64 {
        self.call("codex-reply", json!({"threadId": thread, "prompt": prompt}))
            .await
    }

    /// The first message `pick` accepts, read or already seen; the others
    /// stay seen.
    async fn wait(&mut self, what: &str, mut pick: impl FnMut(&Value) -> bool) -> Value {
        if let Some(index) = self.seen.iter().position(&mut pick) {
            return self.seen.remove(index);
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(message)) => {
                    assert!(
                        message.get("not JSON on stdout").is_none(),
                        "stdout carried something else than the protocol: {message}"
                    );
                    if pick(&message) {
                        return message;
                    }
                    self.seen.push(message);
                }
                Ok(None) => panic!(
                    "the server closed stdout while waiting for {what}; seen: {:#?}",
                    self.seen
                ),
                Err(_) => panic!("no {what} within {WAIT:?}; seen: {:#?}", self.seen),
            }
        }
    }

    /// The response to request `id`.
    async fn response(&mut self, id: u64) -> Value {
        self.wait(&format!("response {id}"), |m| {
            m["id"] == id && (m.get("result").is_some() || m.get("error").is_some())
        })
        .await
    }

    /// The result of call `id`.
    async fn result(&mut self, id: u64) -> Value {
        let response = self.response(id).await;
        assert!(response.get("result").is_some(), "{response}");
        response["result"].clone()
    }

    /// The thread id the `codex/event` notifications of call `id` name.
    async fn thread_of(&mut self, id: u64) -> String {
        let event = self
            .wait("thread.started", |m| {
                m["method"] == "codex/event"
                    && m["params"]["_meta"]["requestId"] == id
                    && m["params"]["type"] == "thread.started"
            })
            .await;
        event["params"]["_meta"]["threadId"]
            .as_str()
            .expect("thread id")
            .to_owned()
    }

    /// Every message seen so far that `pick` accepts.
    fn seen_where(&self, pick: impl Fn(&Value) -> bool) -> Vec<Value> {
        self.seen.iter().filter(|m| pick(m)).cloned().collect()
    }

    /// Closes stdin and waits for the server to exit; returns its exit
    /// code and stderr.
    async fn close(mut self) -> (Option<i32>, String) {
        drop(self.stdin.take());
        let status = tokio::time::timeout(WAIT, self.child.wait())
            .await
            .expect("the server exits after stdin closes")
            .expect("wait");
        let stderr = tokio::time::timeout(WAIT, self.stderr)
            .await
            .expect("stderr closes")
            .unwrap_or_default();
        (status.code(), stderr)
    }
}

fn answer(id: &str, text: &str) -> Reply {
    Reply::sse(vec![ev::message(id, text), ev::completed(id)])
}

fn text_of(result: &Value) -> &str {
    result["content"][0]["text"].as_str().unwrap_or_default()
}

/// A `[mcp_servers.NAME]` table running our test server as `--name NAME`.
fn test_server(name: &str) -> String {
    format!(
        "[mcp_servers.{name}]\ncommand = {:?}\nargs = [\"--name\", {name:?}]\n",
        test_server_bin().display().to_string()
    )
}

/// How the inspector reaches the server.
enum Target<'a> {
    /// It starts `codex mcp-server` in `exec`'s world for each run.
    Stdio(&'a Exec),
    /// A server listening at this URL.
    Http(&'a str),
}

/// Runs the MCP Inspector's CLI (`--cli`) against `target`; returns its
/// stdout as JSON.
async fn inspector(deps: &McpDeps, exec: &Exec, target: &Target<'_>, args: &[&str]) -> Value {
    let path = format!(
        "{}:{}",
        deps.node_bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let work = exec.env.work_dir();
    let mut command = tokio::process::Command::new(deps.node());
    command.arg(deps.inspector()).arg("--cli");
    match target {
        Target::Stdio(exec) => {
            command
                .args([
                    "-e",
                    &format!("CODEX_HOME={}", exec.env.codex_home().display()),
                ])
                .args(["-e", &format!("OPENAI_BASE_URL={}", exec.model.base_url())])
                .args(["-e", "CODEX_API_KEY=sk-test"])
                .args(["--cwd", &work.display().to_string()])
                .arg(codex_bin())
                .arg("mcp-server");
        }
        Target::Http(url) => {
            command.arg(url).args(["--transport", "http"]);
        }
    }
    command
        .args(args)
        .env_clear()
        .env("PATH", path)
        .env("HOME", exec.env.root().join("home"))
        .current_dir(&work)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(WAIT, command.output())
        .await
        .expect("the inspector finishes")
        .expect("run the inspector");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "inspector {args:?} failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|err| panic!("not JSON ({err}): {stdout}"))
}

/// The inspector's scenario: `tools/list`, a `codex` call, then a
/// `codex-reply` with the thread id it returned.
async fn inspector_scenario(deps: &McpDeps, exec: &Exec, target: &Target<'_>) {
    let listed = inspector(deps, exec, target, &["--method", "tools/list"]).await;
    let tools = listed["tools"].as_array().expect("tools");
    let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, ["codex", "codex-reply"]);
    for tool in tools {
        assert_eq!(
            tool["outputSchema"]["required"],
            json!(["threadId", "content"])
        );
    }
    assert_eq!(tools[0]["inputSchema"]["required"], json!(["prompt"]));
    // Every argument Codex's `codex` tool takes is declared: the schema
    // admits no others.
    let declared: Vec<&str> = tools[0]["inputSchema"]["properties"]
        .as_object()
        .expect("properties")
        .keys()
        .map(String::as_str)
        .collect();
    for name in [
        "prompt",
        "model",
        "profile",
        "cwd",
        "approval-policy",
        "sandbox",
        "config",
        "base-instructions",
        "developer-instructions",
        "compact-prompt",
    ] {
        assert!(declared.contains(&name), "{name}: {declared:?}");
    }

    let first = inspector(
        deps,
        exec,
        target,
        &[
            "--method",
            "tools/call",
            "--tool-name",
            "codex",
            "--tool-arg",
            "prompt=say something",
        ],
    )
    .await;
    assert_eq!(first["isError"], false, "{first}");
    assert_eq!(text_of(&first), "first answer");
    assert_eq!(first["structuredContent"]["content"], "first answer");
    let thread_id = first["structuredContent"]["threadId"]
        .as_str()
        .expect("thread id")
        .to_owned();

    let second = inspector(
        deps,
        exec,
        target,
        &[
            "--method",
            "tools/call",
            "--tool-name",
            "codex-reply",
            "--tool-arg",
            &format!("threadId={thread_id}"),
            "prompt=and more",
        ],
    )
    .await;
    assert_eq!(second["isError"], false, "{second}");
    assert_eq!(text_of(&second), "second answer");
    assert_eq!(second["structuredContent"]["threadId"], thread_id.as_str());
    let requests = exec.model.requests();
    assert_eq!(requests.len(), 2);
    let history = requests[1].body["input"].to_string();
    for said in ["say something", "first answer", "and more"] {
        assert!(history.contains(said), "{said} missing from {history}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inspector_lists_calls_and_replies() {
    let Some(deps) = McpDeps::locate("the_inspector_lists_calls_and_replies") else {
        return;
    };
    let exec = Exec::with_config(
        vec![answer("m1", "first answer"), answer("m2", "second answer")],
        "",
    )
    .await;
    // Each inspector run starts a new server: the reply resumes the thread
    // from its rollout.
    inspector_scenario(&deps, &exec, &Target::Stdio(&exec)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inspector_does_the_same_over_http() {
    let Some(deps) = McpDeps::locate("the_inspector_does_the_same_over_http") else {
        return;
    };
    let exec = Exec::with_config(
        vec![answer("m1", "first answer"), answer("m2", "second answer")],
        "",
    )
    .await;
    let mut command =
        tokio::process::Command::from(exec.env.command(&["mcp-server", "--listen", "127.0.0.1:0"]));
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut server = command.spawn().expect("spawn codex mcp-server --listen");
    let mut stderr = BufReader::new(server.stderr.take().expect("stderr")).lines();
    let url = tokio::time::timeout(WAIT, async {
        while let Ok(Some(line)) = stderr.next_line().await {
            if let Some(url) = line.strip_prefix("codex mcp-server: listening on ") {
                return url.to_owned();
            }
        }
        panic!("the server ended without listening");
    })
    .await
    .expect("the server listens");
    // One server for all three: the reply continues the live thread.
    inspector_scenario(&deps, &exec, &Target::Http(&url)).await;
    let pid = server.id().expect("running");
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(i32::try_from(pid).expect("pid")).expect("pid"),
        rustix::process::Signal::TERM,
    )
    .expect("SIGTERM");
    let status = tokio::time::timeout(WAIT, server.wait())
        .await
        .expect("the server stops on SIGTERM")
        .expect("wait");
    assert_eq!(status.code(), Some(0));
    // Over HTTP, stdout carries nothing at all.
    let mut stdout = String::new();
    tokio::io::AsyncReadExt::read_to_string(
        &mut server.stdout.take().expect("stdout"),
        &mut stdout,
    )
    .await
    .expect("read stdout");
    assert_eq!(stdout, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_calls_our_server() {
    let exec = Exec::with_config(vec![answer("m1", "hello from inside")], "").await;
    // The inner server has a home of its own: the outer config would
    // otherwise configure it to start itself again.
    let inner_home = exec.env.root().join("inner-home");
    std::fs::create_dir_all(&inner_home).expect("inner home");
    std::fs::write(inner_home.join("config.toml"), "model = \"gpt-5-codex\"\n").expect("config");
    exec.env.write_config(&format!(
        "[mcp_servers.inner]\ncommand = {:?}\nargs = [\"mcp-server\"]\n\
         env = {{ CODEX_HOME = {:?}, OPENAI_BASE_URL = {:?}, CODEX_API_KEY = \"sk-test\" }}\n",
        codex_bin().display().to_string(),
        inner_home.display().to_string(),
        exec.model.base_url(),
    ));
    let env = &exec.env;
    let run = tokio::task::block_in_place(|| {
        env.codex(&[
            "mcp",
            "call",
            "inner",
            "codex",
            "--args",
            r#"{"prompt": "who is there?"}"#,
        ])
    });
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(run.stdout, "hello from inside\n");
    let requests = exec.model.requests();
    assert_eq!(requests.len(), 1);
    assert!(
        requests[0].body["input"]
            .to_string()
            .contains("who is there?")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_calls_at_once_all_complete() {
    const CALLS: usize = 8;
    let release = Release::new();
    let exec = Exec::with_config(
        (0..CALLS)
            .map(|n| answer(&format!("m{n}"), "done").held(&release))
            .collect(),
        "",
    )
    .await;
    let mut server = Server::start(&exec, true).await;
    let mut ids = Vec::new();
    for n in 0..CALLS {
        ids.push(
            server
                .call("codex", json!({"prompt": format!("task {n}")}))
                .await,
        );
    }
    // Every turn is waiting on the model at the same time.
    tokio::time::timeout(WAIT, exec.model.wait_for_requests(CALLS))
        .await
        .expect("all eight turns reach the model");
    // A reply to a thread that is running a turn answers at once.
    let busy_thread = server.thread_of(ids[0]).await;
    let busy = server.reply(&busy_thread, "too soon").await;
    let busy = server.result(busy).await;
    assert_eq!(busy["isError"], true, "{busy}");
    assert!(text_of(&busy).contains("is running a turn"), "{busy}");
    release.open();
    let mut threads = std::collections::BTreeSet::new();
    for &id in &ids {
        let result = server.result(id).await;
        assert_eq!(result["isError"], false, "{result}");
        assert_eq!(text_of(&result), "done");
        let thread = result["structuredContent"]["threadId"]
            .as_str()
            .expect("thread");
        threads.insert(thread.to_owned());
    }
    assert_eq!(threads.len(), CALLS, "every call has its own thread");
    // Each call's events name it, and its progress token got progress.
    let events = server.seen_where(|m| m["method"] == "codex/event");
    for id in ids {
        assert!(
            events
                .iter()
                .any(|e| e["params"]["_meta"]["requestId"] == id
                    && e["params"]["type"] == "turn.completed"),
            "no turn.completed event for request {id}"
        );
    }
    let progress = server.seen_where(|m| m["method"] == "notifications/progress");
    assert!(
        progress
            .iter()
            .any(|p| p["params"]["progressToken"] == "progress-2"),
        "{progress:#?}"
    );
    let (code, stderr) = server.close().await;
    assert_eq!(code, Some(0), "{stderr}");
}

/// Each thread runs a session of its own, with its own servers: a server
/// that dies in one thread's turn is that session's to restart. The turn
/// goes on (the model sees the failed call), and a turn running at the
/// same time in another thread goes on with its own server untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_crashing_in_one_thread_leaves_the_others_running() {
    let server_name = format!("mcp-server-isolation-{}", std::process::id());
    let tool = |tool: &str| format!("mcp__{server_name}__{tool}");
    let release = Release::new();
    let exec = Exec::with_config(
        vec![
            // Thread A's first request: answered once B is done.
            Reply::sse(vec![
                ev::function_call("a1", &tool("echo"), &json!({"text": "still here"})),
                ev::completed("ra1"),
            ])
            .held(&release),
            // Thread B: its server exits in the middle of the call.
            Reply::sse(vec![
                ev::function_call("b1", &tool("crash"), &json!({})),
                ev::completed("rb1"),
            ]),
            answer("rb2", "b carried on"),
            // Thread A again, after its echo.
            answer("ra2", "a finished"),
        ],
        "",
    )
    .await;
    // Every start of the server, in any thread, writes a line to a FIFO,
    // which a thread of the test reads as it comes. Opened read-write, the
    // FIFO always has a reader and never ends; a `done` line from the test
    // stops the reading.
    let starts_file = exec.env.root().join("server-starts");
    mkfifo(&starts_file);
    let fifo = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&starts_file)
        .expect("open the FIFO");
    let (start_tx, mut starts) = mpsc::unbounded_channel();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(fifo)) {
            match line {
                Ok(line) if line != "done" => {
                    if start_tx.send(line).is_err() {
                        return;
                    }
                }
                _ => return,
            }
        }
    });
    let launcher = format!(
        "echo started >> {}; exec {} --name {server_name}",
        starts_file.display(),
        test_server_bin().display()
    );
    exec.env.write_config(&format!(
        "model = \"gpt-5-codex\"\n[mcp_servers.{server_name}]\ncommand = \"/bin/sh\"\n\
         args = {}\ndefault_tools_approval_mode = \"approve\"\n",
        serde_json::to_string(&["-c", &launcher]).expect("args")
    ));
    let mut server = Server::start(&exec, true).await;
    let a = server.call("codex", json!({"prompt": "thread a"})).await;
    tokio::time::timeout(WAIT, exec.model.wait_for_requests(1))
        .await
        .expect("thread a reaches the model");
    let b = server.call("codex", json!({"prompt": "thread b"})).await;
    let b_result = server.result(b).await;
    assert_eq!(b_result["isError"], false, "{b_result}");
    assert_eq!(text_of(&b_result), "b carried on");
    let requests = exec.model.requests();
    let crashed = requests[2].function_call_output("b1").expect("b1 output");
    assert!(!crashed.is_empty(), "the model is told the call failed");
    release.open();
    let a_result = server.result(a).await;
    assert_eq!(a_result["isError"], false, "{a_result}");
    assert_eq!(text_of(&a_result), "a finished");
    let requests = exec.model.requests();
    assert_eq!(
        requests[3].function_call_output("a1").as_deref(),
        Some("still here"),
        "thread a's server answered after thread b's died"
    );
    assert_ne!(
        server.thread_of(a).await,
        server.thread_of(b).await,
        "two threads"
    );
    // Thread a's server, thread b's, and b's again once its supervisor
    // restarts it (after a backoff).
    for start in ["thread a's", "thread b's", "thread b's restart"] {
        tokio::time::timeout(WAIT, starts.recv())
            .await
            .unwrap_or_else(|_| panic!("no {start} server start within {WAIT:?}"))
            .expect("the FIFO reader runs");
    }
    let (code, stderr) = server.close().await;
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(processes_with(&server_name), 0);
    // Every start wrote its line before its server ran, so all are ahead
    // of this one: thread a's server was never restarted.
    std::fs::write(&starts_file, "done\n").expect("write to the FIFO");
    reader.join().expect("the FIFO reader");
    assert_eq!(starts.try_recv().ok(), None, "a fourth start");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_calls_are_error_results() {
    let exec = Exec::with_config(Vec::new(), "").await;
    let mut server = Server::start(&exec, true).await;
    let cases = [
        (
            "codex",
            json!({}),
            "invalid arguments: `prompt` is required",
        ),
        (
            "codex",
            json!({"prompt": "x", "sandbox": "wide-open"}),
            "invalid arguments: `sandbox`: unknown sandbox \"wide-open\"",
        ),
        (
            "codex",
            json!({"prompt": "x", "config": {"model": null}}),
            "invalid arguments: `config.model`: null is not a config value",
        ),
        (
            "codex",
            json!({"prompt": "x", "cwd": "no-such-dir"}),
            "cwd [TMP]/work/no-such-dir",
        ),
        (
            "codex",
            json!({"prompt": "x", "cwd": "/"}),
            "cwd / is outside the server's directory",
        ),
        (
            "codex",
            json!({"prompt": "x", "config": {"notify": ["sh", "-c", "true"]}}),
            "invalid arguments: `config.notify`: a caller may set only model",
        ),
        (
            "codex-reply",
            json!({"threadId": "0199a213-81c0-7800-8aa1-bbab2a035a53", "prompt": "x"}),
            "no session 0199a213-81c0-7800-8aa1-bbab2a035a53",
        ),
    ];
    let root = exec.env.root().display().to_string();
    for (tool, arguments, expected) in cases {
        let id = server.call(tool, arguments.clone()).await;
        let result = server.result(id).await;
        assert_eq!(result["isError"], true, "{arguments}: {result}");
        let text = text_of(&result).replace(&root, "[TMP]");
        assert!(text.starts_with(expected), "{arguments}: {text}");
    }
    let id = server.call("codex-exec", json!({"prompt": "x"})).await;
    let response = server.response(id).await;
    assert_eq!(response["error"]["code"], -32602, "{response}");
    assert!(exec.model.requests().is_empty());
    let (code, stderr) = server.close().await;
    assert_eq!(code, Some(0), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_call_gets_a_result_and_closing_stdin_leaves_nothing() {
    let marker = format!("97{}", std::process::id() % 1000);
    let server_name = format!("mcp-server-cancel-{}", std::process::id());
    let exec = Exec::with_config(
        vec![Sleeper::reply(&marker)],
        &format!(
            "sandbox_mode = \"workspace-write\"\n{}",
            test_server(&server_name)
        ),
    )
    .await;
    let sleeper = Sleeper::listen(&exec.env);
    let mut server = Server::start(&exec, true).await;
    let id = server
        .call("codex", json!({"prompt": "sleep a while"}))
        .await;
    sleeper.running().await;
    assert_eq!(
        processes_with(&server_name),
        1,
        "the session's MCP server runs"
    );
    server
        .send(json!({
            "jsonrpc": "2.0",
            "method": "notifications/cancelled",
            "params": {"requestId": id, "reason": "changed my mind"}
        }))
        .await;
    let result = server.result(id).await;
    assert_eq!(result["isError"], true, "{result}");
    assert_eq!(
        text_of(&result),
        "the turn was interrupted: the call was cancelled"
    );
    assert!(
        result["structuredContent"]["threadId"].is_string(),
        "{result}"
    );
    // The cancelled turn's command stops with it, while the server and the
    // session's MCP server run on. (The kill lands after the result; the
    // wait is on the command's exit itself.)
    let sleep = format!("sleep {marker}");
    tokio::task::spawn_blocking(move || wait_gone(&sleep, WAIT))
        .await
        .expect("wait");
    assert_eq!(processes_with(&format!("sleep {marker}")), 0);
    assert_eq!(processes_with(&server_name), 1);
    let (code, stderr) = server.close().await;
    assert_eq!(code, Some(0), "{stderr}");
    // Nothing the session started outlives the server.
    assert_eq!(processes_with(&format!("sleep {marker}")), 0);
    assert_eq!(processes_with(&server_name), 0);
}

/// The model asks to run `echo approved-run` outside the sandbox, which
/// the default `on-request` policy puts to the client; then it answers.
fn escalation_script() -> Vec<Reply> {
    vec![
        Reply::sse(vec![
            ev::function_call(
                "c1",
                "exec_command",
                &json!({
                    "cmd": "echo approved-run",
                    "sandbox_permissions": "require_escalated",
                    "justification": "to test approvals"
                }),
            ),
            ev::completed("r1"),
        ]),
        answer("m2", "after the approval"),
    ]
}

/// Runs the escalation script with the client answering each elicitation
/// with `answer` (or never, when `None`); returns the output the model
/// read for the command, and the elicitation's params.
async fn approval_round(
    answer: Option<Value>,
    elicitation: bool,
    config: &str,
) -> (String, Option<Value>) {
    let exec = Exec::with_config(escalation_script(), config).await;
    let mut server = Server::start(&exec, elicitation).await;
    let id = server.call("codex", json!({"prompt": "run it"})).await;
    let mut asked = None;
    if elicitation {
        let request = server
            .wait("an elicitation", |m| m["method"] == "elicitation/create")
            .await;
        if let Some(answer) = answer {
            server
                .send(json!({"jsonrpc": "2.0", "id": request["id"], "result": answer}))
                .await;
        }
        asked = Some(request["params"].clone());
    }
    let result = server.result(id).await;
    assert_eq!(result["isError"], false, "{result}");
    assert_eq!(text_of(&result), "after the approval");
    let requests = exec.model.requests();
    assert_eq!(requests.len(), 2);
    let output = requests[1]
        .function_call_output("c1")
        .expect("the model read the command's output");
    let (code, stderr) = server.close().await;
    assert_eq!(code, Some(0), "{stderr}");
    (output, asked)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_elicitation_answered_with_decline_denies_the_command() {
    let (output, asked) = approval_round(Some(json!({"action": "decline"})), true, "").await;
    assert!(output.contains("the user declined this call"), "{output}");
    let asked = asked.expect("asked");
    assert_eq!(asked["mode"], "form");
    assert_eq!(asked["codex_elicitation"], "exec-approval");
    assert_eq!(asked["codex_call_id"], "c1");
    assert!(
        asked["codex_command"]
            .as_str()
            .is_some_and(|c| c.contains("echo approved-run")),
        "{asked}"
    );
    assert!(
        asked["codex_cwd"]
            .as_str()
            .is_some_and(|c| c.ends_with("/work"))
    );
    assert!(
        asked["message"]
            .as_str()
            .is_some_and(|m| m.contains("to test approvals")),
        "{asked}"
    );
    assert_eq!(
        asked["requestedSchema"]["properties"]["decision"]["enum"],
        json!(["approve", "approve_for_session", "deny"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_elicitation_answered_with_approve_runs_the_command() {
    let (output, _) = approval_round(
        Some(json!({"action": "accept", "content": {"decision": "approve"}})),
        true,
        "",
    )
    .await;
    assert!(output.contains("approved-run"), "{output}");
    assert!(output.contains("exited with code 0"), "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_elicitation_is_denied_after_the_timeout() {
    let (output, asked) = approval_round(None, true, "mcp_server_approval_timeout_sec = 1\n").await;
    assert!(asked.is_some());
    assert!(output.contains("the user declined this call"), "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_elicitation_is_never_asked() {
    let (output, asked) = approval_round(None, false, "").await;
    assert!(asked.is_none());
    assert!(output.contains("the user declined this call"), "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_cannot_loosen_the_sandbox_past_requirements() {
    let touch = |id: &str, file: &str| {
        Reply::sse(vec![
            ev::function_call(id, "exec_command", &json!({"cmd": format!("touch {file}")})),
            ev::completed(id),
        ])
    };
    let mut exec = Exec::with_config(
        vec![
            touch("c1", "by-config"),
            answer("m1", "tried"),
            touch("c2", "by-argument"),
            answer("m2", "tried again"),
        ],
        "",
    )
    .await;
    exec.env
        .requirements_file("allowed_sandbox_modes = [\"read-only\"]\n");
    let mut server = Server::start(&exec, true).await;
    let by_config = server
        .call(
            "codex",
            json!({"prompt": "write", "config": {"sandbox_mode": "danger-full-access"}}),
        )
        .await;
    let result = server.result(by_config).await;
    assert_eq!(text_of(&result), "tried", "{result}");
    let by_argument = server
        .call(
            "codex",
            json!({"prompt": "write", "sandbox": "danger-full-access", "approval-policy": "never"}),
        )
        .await;
    let result = server.result(by_argument).await;
    assert_eq!(text_of(&result), "tried again", "{result}");

    for (file, call, request) in [("by-config", "c1", 1), ("by-argument", "c2", 3)] {
        assert!(
            !exec.env.work_dir().join(file).exists(),
            "{file} was written outside read-only"
        );
        let requests = exec.model.requests();
        let opening = requests[request - 1].body["input"].to_string();
        assert!(
            opening.contains("<sandbox_mode>read-only</sandbox_mode>"),
            "{opening}"
        );
        let output = requests[request]
            .function_call_output(call)
            .expect("the command's output");
        assert!(!output.contains("exited with code 0"), "{output}");
    }
    // Each call was told, as an event, that it fell back.
    let warnings = server.seen_where(|m| {
        m["method"] == "codex/event"
            && m["params"]["item"]["type"] == "error"
            && m["params"]["item"]["message"]
                .as_str()
                .is_some_and(|t| t.contains("`sandbox_mode` is disallowed by requirements"))
    });
    let calls: Vec<&Value> = warnings
        .iter()
        .map(|w| &w["params"]["_meta"]["requestId"])
        .collect();
    assert_eq!(
        calls,
        [&json!(by_config), &json!(by_argument)],
        "{warnings:#?}"
    );
    let (code, stderr) = server.close().await;
    assert_eq!(code, Some(0), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instructions_open_the_thread_and_replies_continue_it_live() {
    let exec = Exec::with_config(vec![answer("m1", "one"), answer("m2", "two")], "").await;
    let mut server = Server::start(&exec, true).await;
    let first = server
        .call(
            "codex",
            json!({
                "prompt": "first",
                "base-instructions": "You are a terse test agent.",
                "developer-instructions": "Always answer in one word."
            }),
        )
        .await;
    let first = server.result(first).await;
    let thread = first["structuredContent"]["threadId"]
        .as_str()
        .expect("thread")
        .to_owned();
    let second = server
        .call(
            "codex-reply",
            json!({"conversationId": thread, "prompt": "second"}),
        )
        .await;
    let second = server.result(second).await;
    assert_eq!(text_of(&second), "two", "{second}");
    let requests = exec.model.requests();
    let opening = &requests[0].body["input"][0];
    assert_eq!(opening["role"], "developer", "{opening}");
    assert_eq!(
        opening["content"][0]["text"],
        "You are a terse test agent.\n\nAlways answer in one word."
    );
    // The reply continues the live thread: same opening, then the turns.
    assert_eq!(&requests[1].body["input"][0], opening);
    assert!(requests[1].body["input"].to_string().contains("first"));
    let sessions = exec.env.codex_home().join("sessions");
    assert!(
        rollout_mentions(&sessions, &thread),
        "the thread is recorded"
    );
    let (code, stderr) = server.close().await;
    assert_eq!(code, Some(0), "{stderr}");
}

/// Whether a rollout file under `dir` has `thread` in its name.
fn rollout_mentions(dir: &Path, thread: &str) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let path = entry.path();
        if path.is_dir() {
            rollout_mentions(&path, thread)
        } else {
            path.to_string_lossy().contains(thread)
        }
    })
}

#[test]
fn listen_serves_loopback_only() {
    let env = codex_integration_tests::TestEnv::new();
    let run = env.codex(&["mcp-server", "--listen", "0.0.0.0:0"]);
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert_eq!(
        run.stderr,
        "Error: --listen 0.0.0.0:0: only a loopback address (127.0.0.1 or [::1]) is served: \
         whoever connects runs commands as you\n"
    );
    assert_eq!(run.stdout, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_threads_past_the_bound_stop_and_resume_from_their_rollout() {
    // The server keeps 16 threads live; each session runs one MCP server.
    const LIVE: usize = 16;
    let server_name = format!("mcp-server-evict-{}", std::process::id());
    let exec = Exec::with_config(
        (0..=LIVE + 1)
            .map(|n| answer(&format!("m{n}"), &format!("answer {n}")))
            .collect(),
        &test_server(&server_name),
    )
    .await;
    let mut server = Server::start(&exec, true).await;
    let mut threads = Vec::new();
    for n in 0..=LIVE {
        let id = server
            .call("codex", json!({"prompt": format!("task {n}")}))
            .await;
        let result = server.result(id).await;
        assert_eq!(text_of(&result), format!("answer {n}"), "{result}");
        threads.push(
            result["structuredContent"]["threadId"]
                .as_str()
                .expect("thread")
                .to_owned(),
        );
    }
    // The 17th thread stopped the session of the first, and its server.
    assert_eq!(processes_with(&server_name), LIVE);
    let reply = server.reply(&threads[0], "back to task 0").await;
    let result = server.result(reply).await;
    assert_eq!(result["isError"], false, "{result}");
    assert_eq!(result["structuredContent"]["threadId"], threads[0].as_str());
    let requests = exec.model.requests();
    let resumed = requests.last().expect("the reply's request").body["input"].to_string();
    assert!(
        resumed.contains("task 0") && resumed.contains("answer 0"),
        "{resumed}"
    );
    assert_eq!(processes_with(&server_name), LIVE);
    let (code, stderr) = server.close().await;
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(processes_with(&server_name), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_after_a_restart_runs_with_the_callers_config_and_profile() {
    let exec = Exec::with_config(
        vec![
            answer("m1", "one"),
            answer("m2", "two"),
            answer("m3", "three"),
            answer("m4", "four"),
        ],
        "[profiles.careful]\nmodel_reasoning_effort = \"high\"\n",
    )
    .await;
    let mut server = Server::start(&exec, true).await;
    let mut threads = Vec::new();
    for arguments in [
        json!({"prompt": "first", "config": {"model": "config-model"}, "profile": "careful"}),
        json!({"prompt": "first", "model": "argument-model"}),
    ] {
        let id = server.call("codex", arguments).await;
        let result = server.result(id).await;
        assert_eq!(result["isError"], false, "{result}");
        threads.push(
            result["structuredContent"]["threadId"]
                .as_str()
                .expect("thread")
                .to_owned(),
        );
    }
    let (code, stderr) = server.close().await;
    assert_eq!(code, Some(0), "{stderr}");

    // A new server knows the threads only from their rollouts.
    let mut server = Server::start(&exec, true).await;
    for thread in &threads {
        let reply = server.reply(thread, "second").await;
        let reply = server.result(reply).await;
        assert_eq!(reply["isError"], false, "{reply}");
    }
    let requests = exec.model.requests();
    let seen: Vec<(String, String)> = requests
        .iter()
        .map(|request| {
            (
                request.body["model"].as_str().unwrap_or("").to_owned(),
                request.body["reasoning"]["effort"]
                    .as_str()
                    .unwrap_or("-")
                    .to_owned(),
            )
        })
        .collect();
    let careful = ("config-model".to_owned(), "high".to_owned());
    let argument = ("argument-model".to_owned(), "-".to_owned());
    assert_eq!(seen, [careful.clone(), argument.clone(), careful, argument]);
    assert!(requests[3].body["input"].to_string().contains("first"));
    let (code, stderr) = server.close().await;
    assert_eq!(code, Some(0), "{stderr}");
}
