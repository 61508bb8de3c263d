//! `codex mcp-server` benchmarks (issue 20), against the local mock model:
//!
//! 1. `latency`: time from sending `tools/call codex` to its result, for a
//!    one-turn prompt, against whole-process `codex exec --json` of the
//!    same turn on the same mock and config, alternating call by call;
//!    the figure is the ratio of the medians.
//! 2. `memory`: the server's resident memory (`VmRSS`) grown per idle
//!    session, over 15 threads left live after their turn (16 are kept).
//!
//! A custom harness (`harness = false`). Under `cargo bench` (which passes
//! `--bench`) it measures; otherwise it runs one iteration of each as a
//! smoke test. Optional arguments (`latency`, `memory`) select figures.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use codex_integration_tests::TestEnv;
use codex_integration_tests::bench::{
    Selection, banner, codex_command, load_average, ms, pct, profile_bin, ratio, run_exec, sorted,
};
use codex_test_mcp_server::mock_model::{MockModel, Reply, ev};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

/// How long any one answer may take.
const DEADLINE: Duration = Duration::from_secs(60);

fn main() {
    let selection = Selection::from_args();
    let (full, wants) = (selection.full, |name: &str| selection.wants(name));
    println!(
        "{}, load average {}",
        banner("mcp-server", full),
        load_average()
    );
    let (latency, memory) = (wants("latency"), wants("memory"));
    codex_runtime::block_on(move || async move {
        if latency {
            bench_latency(if full { 30 } else { 1 }).await;
        }
        if memory {
            bench_memory(if full { 15 } else { 2 }).await;
        }
    })
    .expect("actix runtime");
    println!("\nload average at end: {}", load_average());
}

/// The mock as a custom provider, answering every request with one text
/// message.
async fn world() -> (MockModel, TestEnv) {
    let model = MockModel::start(Vec::new()).await.expect("mock model");
    model.answer_forever(Reply::sse(vec![
        ev::created("r"),
        ev::message("m", "hi"),
        ev::completed("r"),
    ]));
    let env = TestEnv::new();
    env.write_config(&format!(
        "model = \"gpt-5-codex\"\nmodel_provider = \"mock\"\n\n[model_providers.mock]\n\
         name = \"mock\"\nbase_url = {:?}\nwire_api = \"responses\"\nenv_key = \"MOCK_API_KEY\"\n",
        model.base_url()
    ));
    (model, env)
}

/// `codex mcp-server`, spoken to in raw JSON-RPC.
struct Server {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    next_id: u64,
}

impl Server {
    async fn start(bin: &Path, env: &TestEnv) -> Server {
        let mut child = tokio::process::Command::from(codex_command(bin, env, &["mcp-server"]))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn codex mcp-server");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut server = Server {
            child,
            stdin,
            stdout,
            next_id: 1,
        };
        server
            .request(
                "initialize",
                json!({
                    "protocolVersion": "2025-11-25",
                    "capabilities": {},
                    "clientInfo": {"name": "bench", "version": "1"}
                }),
            )
            .await;
        server
            .send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        server
    }

    async fn send(&mut self, message: &Value) {
        let mut line = message.to_string();
        line.push('\n');
        self.stdin
            .write_all(line.as_bytes())
            .await
            .expect("write to the server");
    }

    /// Sends a request and returns its result, skipping notifications.
    async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        let answer = async {
            loop {
                let line = self
                    .stdout
                    .next_line()
                    .await
                    .expect("read the server")
                    .expect("the server answers");
                let message: Value = serde_json::from_str(&line).expect("JSON");
                if message["id"] == id {
                    return message;
                }
            }
        };
        let message = tokio::time::timeout(DEADLINE, answer)
            .await
            .expect("an answer in time");
        assert!(message.get("result").is_some(), "{message}");
        message["result"].clone()
    }

    /// One `codex` call of "say hi", asserting it answered.
    async fn call(&mut self) -> Duration {
        let started = Instant::now();
        let result = self
            .request(
                "tools/call",
                json!({"name": "codex", "arguments": {"prompt": "say hi"}}),
            )
            .await;
        let elapsed = started.elapsed();
        assert_eq!(result["isError"], false, "{result}");
        assert_eq!(result["structuredContent"]["content"], "hi", "{result}");
        elapsed
    }

    /// The server's resident memory, in KiB.
    fn rss_kib(&self) -> u64 {
        let pid = self.child.id().expect("running");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }

    async fn stop(mut self) {
        drop(self.stdin);
        let _ = tokio::time::timeout(DEADLINE, self.child.wait()).await;
    }
}

async fn bench_latency(runs: usize) {
    let bin = profile_bin("codex-cli", "codex");
    let (_model, env) = world().await;
    let env = Arc::new(env);
    let mut server = Server::start(&bin, &env).await;
    println!(
        "\n(1) one-turn prompt: `tools/call codex` to its result, against whole-process \
         `exec --json`, {runs} pairs, alternating"
    );
    let (mut calls, mut execs) = (Vec::new(), Vec::new());
    // The first round warms both up and is not counted.
    for round in 0..=runs {
        let call = server.call().await;
        let (b, e) = (bin.clone(), Arc::clone(&env));
        let exec = tokio::task::spawn_blocking(move || run_exec(&b, &e, &["--json", "say hi"]))
            .await
            .expect("exec run");
        if round > 0 {
            calls.push(call);
            execs.push(exec);
        }
    }
    server.stop().await;
    let (calls, execs) = (sorted(calls), sorted(execs));
    println!(
        "  tools/call p50 {} (min {}), exec p50 {} (min {}), ratio {:.3}× (goal ≤ 1.2×)",
        ms(pct(&calls, 0.5)),
        ms(calls[0]),
        ms(pct(&execs, 0.5)),
        ms(execs[0]),
        ratio(pct(&calls, 0.5), pct(&execs, 0.5))
    );
}

async fn bench_memory(sessions: usize) {
    let bin = profile_bin("codex-cli", "codex");
    let (_model, env) = world().await;
    let mut server = Server::start(&bin, &env).await;
    // One call first: what every call shares (the runtime, the HTTP
    // client, allocator arenas) is then counted in the baseline.
    server.call().await;
    let before = server.rss_kib();
    for _ in 0..sessions {
        server.call().await;
    }
    let after = server.rss_kib();
    server.stop().await;
    println!("\n(2) resident memory per idle session, {sessions} threads left live");
    println!(
        "  VmRSS {before} KiB after one call, {after} KiB with {} idle sessions: {:.0} KiB per \
         idle session",
        sessions + 1,
        after.saturating_sub(before) as f64 / sessions as f64
    );
}
