//! `codex exec` benchmarks (issue 8), against the local mock model:
//!
//! 1. `exec`: wall time of a one-turn `exec --json` with 0 and 10 small
//!    stdio MCP servers, ours and real Codex 0.169 side by side on the same
//!    mock, config and servers, runs alternating so noise hits both.
//!    Real Codex is looked for under `target/codex-peer` (installed by
//!    `scripts/bench.sh`); without it the comparison is skipped, loudly.
//! 2. `hops`: the cost of one tool-call hop inside a turn (a model request
//!    that calls an MCP tool, the call, and the next request), in process,
//!    as the difference between turns with 20 hops and with none.
//! 3. `lazy` (issue 16): one turn with 10 stdio servers under
//!    `mcp_startup = "lazy"` after `codex mcp lock`, against real Codex
//!    (which starts all 10); first checks that the first request offers
//!    every server's tools.
//! 4. `rollout`: the same 20-hop turn with and without its rollout,
//!    alternating, in one session.
//! 5. `resume`: reading and repairing a 1,000-item rollout in process, and
//!    `exec resume` of it against a fresh `exec`, as whole processes.
//!
//! A custom harness (`harness = false`). Under `cargo bench` (which passes
//! `--bench`) it measures; otherwise it runs one iteration of each as a
//! smoke test. Optional arguments (`exec`, `hops`, `lazy`, `rollout`,
//! `resume`) select figures.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use codex_actors::config::{ModelSettings, ProviderSettings, WireApi};
use codex_actors::model_stream::resolve_provider;
use codex_actors::session::{Session, ThreadRecord, TurnRuntime};
use codex_actors::turn::{self, Input, TurnConfig, TurnOutcome};
use codex_integration_tests::TestEnv;
use codex_integration_tests::bench::{
    self, Selection, banner, load_average, ms, pct, profile_bin, ratio, sorted, us,
};
use codex_test_mcp_server::mock_model::{MockModel, Reply, ev};
use serde_json::json;
use tokio_util::sync::CancellationToken;

fn main() {
    let selection = Selection::from_args();
    let (full, wants) = (selection.full, |name: &str| selection.wants(name));
    println!("{}, load average {}", banner("exec", full), load_average());
    let (exec, hops, lazy) = (wants("exec"), wants("hops"), wants("lazy"));
    let (rollout, resume) = (wants("rollout"), wants("resume"));
    codex_runtime::block_on(move || async move {
        if exec {
            bench_exec(if full { 15 } else { 1 }).await;
        }
        if hops {
            bench_hops(if full { 15 } else { 1 }).await;
        }
        if lazy {
            bench_lazy(if full { 15 } else { 1 }).await;
        }
        if rollout {
            bench_rollout(if full { 40 } else { 1 }).await;
        }
        if resume {
            bench_resume(if full { 15 } else { 1 }).await;
        }
    })
    .expect("actix runtime");
    println!("\nload average at end: {}", load_average());
}

/// Real Codex's native binary, if `scripts/bench.sh` installed it.
fn peer_codex() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    let bin = root.join(
        "target/codex-peer/node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex",
    );
    bin.exists().then_some(bin)
}

/// The config both binaries read: the mock as a custom provider, and
/// `servers` copies of our test server.
fn config(model: &MockModel, servers: usize, test_server: &Path) -> String {
    let mut text = format!(
        "model = \"gpt-5-codex\"\nmodel_provider = \"mock\"\n\n[model_providers.mock]\nname = \"mock\"\n\
         base_url = {:?}\nwire_api = \"responses\"\nenv_key = \"MOCK_API_KEY\"\n",
        model.base_url()
    );
    for n in 0..servers {
        text.push_str(&format!(
            "\n[mcp_servers.s{n}]\ncommand = {:?}\n",
            test_server.display().to_string()
        ));
    }
    text
}

/// One `exec --json` run; returns its wall time, asserting it completed.
fn run_exec(bin: &Path, env: &TestEnv) -> Duration {
    bench::run_exec(bin, env, &["--json", "say hi"])
}

async fn bench_exec(runs: usize) {
    let ours = profile_bin("codex-cli", "codex");
    let test_server = profile_bin("codex-test-mcp-server", "codex-test-mcp-server");
    let peer = peer_codex();
    println!(
        "\n(1) one-turn `exec --json` wall time, {runs} runs per binary and size, alternating"
    );
    match &peer {
        Some(peer) => println!("real Codex: {}", peer.display()),
        None => println!(
            "SKIPPED real Codex: not installed under target/codex-peer (run scripts/bench.sh)"
        ),
    }
    let model = MockModel::start(Vec::new()).await.expect("mock model");
    model.answer_forever(Reply::sse(vec![
        ev::created("r"),
        ev::message("m", "hi"),
        ev::completed("r"),
    ]));
    for servers in [0, 10] {
        let env = TestEnv::new();
        env.write_config(&config(&model, servers, &test_server));
        let (mut a, mut b) = (Vec::new(), Vec::new());
        // Both run in blocking threads: the mock answers on this runtime.
        let (ours, peer, env) = (ours.clone(), peer.clone(), Arc::new(env));
        for round in 0..runs + 1 {
            let (o, p, e) = (ours.clone(), peer.clone(), Arc::clone(&env));
            let (t_ours, t_peer) = tokio::task::spawn_blocking(move || {
                let first = run_exec(&o, &e);
                let second = p.as_deref().map(|p| run_exec(p, &e));
                (first, second)
            })
            .await
            .expect("runs");
            // The first round warms caches for both.
            if round > 0 {
                a.push(t_ours);
                b.extend(t_peer);
            }
        }
        let a = sorted(a);
        print!(
            "  {servers:>2} servers: ours p50 {} (min {})",
            ms(pct(&a, 0.5)),
            ms(a[0])
        );
        if !b.is_empty() {
            let b = sorted(b);
            print!(
                ", Codex 0.169 p50 {} (min {}), ratio {:.3}×",
                ms(pct(&b, 0.5)),
                ms(b[0]),
                ratio(pct(&a, 0.5), pct(&b, 0.5))
            );
        }
        println!();
    }
}

/// A session in this process with one test server and the mock model,
/// for figures measured inside `Session::run_turn`.
struct InProcess {
    env: TestEnv,
    session: Session,
    model: MockModel,
    model_name: String,
    runtime: TurnRuntime,
    tools: Vec<codex_actors::turn::McpTool>,
}

impl InProcess {
    async fn start() -> InProcess {
        let test_server = profile_bin("codex-test-mcp-server", "codex-test-mcp-server");
        let env = TestEnv::new();
        env.write_config(&format!(
            "[mcp_servers.mini]\ncommand = {:?}\ndefault_tools_approval_mode = \"approve\"\n",
            test_server.display().to_string()
        ));
        let session = Session::start(env.session_options(), None)
            .await
            .expect("session");
        session.wait_startup().await.expect("startup");
        let model = MockModel::start(Vec::new()).await.expect("mock model");
        let mut settings = ModelSettings {
            model: Some("gpt-5-codex".to_owned()),
            model_provider: Some("mock".to_owned()),
            ..ModelSettings::default()
        };
        settings.providers.insert(
            "mock".to_owned(),
            ProviderSettings {
                base_url: Some(model.base_url()),
                wire_api: Some(WireApi::Responses),
                ..ProviderSettings::default()
            },
        );
        let (model_name, provider) = resolve_provider(&settings, &|_| None).expect("provider");
        let runtime = TurnRuntime {
            provider: Arc::new(provider),
            sandbox: codex_sandbox::SandboxPolicy::new(
                codex_sandbox::SandboxMode::DangerFullAccess,
            ),
            sandbox_mode: codex_actors::config::SandboxMode::DangerFullAccess,
            approval: codex_actors::config::ApprovalPolicy::Never,
            command_env: Default::default(),
        };
        let tools = session.mcp_tools().await.expect("tools");
        InProcess {
            env,
            session,
            model,
            model_name,
            runtime,
            tools,
        }
    }

    /// One turn of `hops` MCP calls, recorded in `record` when given;
    /// returns its wall time.
    async fn turn(&self, hops: usize, record: Option<&mut ThreadRecord>) -> Duration {
        let mut replies: Vec<Reply> = (0..hops)
            .map(|n| {
                Reply::sse(vec![
                    ev::function_call(&format!("c{n}"), "mcp__mini__echo", &json!({"text": "x"})),
                    ev::completed("r"),
                ])
            })
            .collect();
        replies.push(Reply::sse(vec![
            ev::message("m", "done"),
            ev::completed("r"),
        ]));
        self.model.push(replies);
        let config = TurnConfig {
            model: self.model_name.clone(),
            reasoning_effort: None,
            thread_id: "bench".to_owned(),
            turn_id: "turn-1".to_owned(),
            instructions: "bench".to_owned(),
            cwd: self.env.work_dir(),
            mcp_tools: self.tools.clone(),
            mcp_servers: vec!["mini".to_owned()],
            output_schema: None,
            command_timeout: Duration::from_secs(10),
            seed: 1,
            policy: codex_actors::session::turn_policy(&self.session.policy(), &self.runtime),
            session_approvals: Default::default(),
            history: Vec::new(),
        };
        let mut machine = turn::Machine::new(config);
        let cancel = CancellationToken::new();
        let started = Instant::now();
        let outcome = self
            .session
            .run_turn(
                &mut machine,
                vec![Input::Start {
                    prompt: "go".to_owned(),
                    images: Vec::new(),
                }],
                &self.runtime,
                codex_actors::session::TurnIo {
                    approver: &codex_actors::session::no_one_to_ask,
                    cancel: &cancel,
                    on_event: &mut |_| {},
                    record,
                },
            )
            .await;
        assert!(
            matches!(outcome, TurnOutcome::Completed { .. }),
            "{outcome:?}"
        );
        started.elapsed()
    }
}

async fn bench_hops(runs: usize) {
    const HOPS: usize = 20;
    let bench = InProcess::start().await;
    let (mut none, mut many, mut direct) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        none.push(bench.turn(0, None).await);
        many.push(bench.turn(HOPS, None).await);
        let started = Instant::now();
        for _ in 0..HOPS {
            bench
                .session
                .call("mini", "echo", json!({"text": "x"}).as_object().cloned())
                .await
                .expect("call");
        }
        direct.push(started.elapsed() / HOPS as u32);
    }
    let (none, many, direct) = (sorted(none), sorted(many), sorted(direct));
    let per_hop = pct(&many, 0.5).saturating_sub(pct(&none, 0.5)) / HOPS as u32;
    println!("\n(2) tool-call hops inside a turn, {runs} runs");
    println!(
        "  turn with no tool call p50 {}, with {HOPS} hops p50 {}",
        ms(pct(&none, 0.5)),
        ms(pct(&many, 0.5))
    );
    println!(
        "  per hop (model request + MCP call + next request): {}; the MCP call alone: {}",
        us(per_hop),
        us(pct(&direct, 0.5))
    );
    bench.session.shutdown().await;
}

/// (3) Ten lazy servers after `codex mcp lock`: nothing starts before the
/// first request, which offers every server's tools from the lock.
async fn bench_lazy(runs: usize) {
    let ours = profile_bin("codex-cli", "codex");
    let test_server = profile_bin("codex-test-mcp-server", "codex-test-mcp-server");
    let peer = peer_codex();
    println!(
        "\n(3) one-turn `exec --json`, 10 stdio servers, mcp_startup = \"lazy\" after `mcp lock`"
    );
    let lazy_env = |model: &MockModel| {
        let env = TestEnv::new();
        let config =
            config(model, 10, &test_server).replacen('\n', "\nmcp_startup = \"lazy\"\n", 1);
        env.write_config(&config);
        let lock = bench::codex_command(&ours, &env, &["mcp", "lock"])
            .output()
            .expect("mcp lock");
        assert!(
            lock.status.success(),
            "{}",
            String::from_utf8_lossy(&lock.stderr)
        );
        env
    };
    // Every server's tools are in the first request.
    let check = MockModel::start(vec![Reply::sse(vec![
        ev::message("m", "hi"),
        ev::completed("r"),
    ])])
    .await
    .expect("mock model");
    let env = lazy_env(&check);
    let o = ours.clone();
    tokio::task::spawn_blocking(move || run_exec(&o, &env))
        .await
        .expect("check run");
    let offered = check.requests()[0].tool_names();
    let servers = (0..10)
        .filter(|n| {
            offered
                .iter()
                .any(|t| t.starts_with(&format!("mcp__s{n}__")))
        })
        .count();
    assert_eq!(
        servers, 10,
        "every lazy server's tools are offered: {offered:?}"
    );
    println!(
        "  first request offers tools of {servers} of 10 servers ({} tools)",
        offered.len()
    );

    let model = MockModel::start(Vec::new()).await.expect("mock model");
    model.answer_forever(Reply::sse(vec![
        ev::created("r"),
        ev::message("m", "hi"),
        ev::completed("r"),
    ]));
    let env = Arc::new(lazy_env(&model));
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for round in 0..runs + 1 {
        let (o, p, e) = (ours.clone(), peer.clone(), Arc::clone(&env));
        let (t_ours, t_peer) = tokio::task::spawn_blocking(move || {
            (run_exec(&o, &e), p.as_deref().map(|p| run_exec(p, &e)))
        })
        .await
        .expect("runs");
        if round > 0 {
            a.push(t_ours);
            b.extend(t_peer);
        }
    }
    let a = sorted(a);
    print!("  ours p50 {} (min {})", ms(pct(&a, 0.5)), ms(a[0]));
    if !b.is_empty() {
        let b = sorted(b);
        print!(
            ", Codex 0.169 (starts all 10) p50 {} (min {}), ratio {:.3}×",
            ms(pct(&b, 0.5)),
            ms(b[0]),
            ratio(pct(&a, 0.5), pct(&b, 0.5))
        );
    }
    println!();
}

/// (4) What recording the rollout costs a turn: the same 20-hop turn with
/// and without a recorder, alternating, in one session.
async fn bench_rollout(runs: usize) {
    const HOPS: usize = 20;
    let bench = InProcess::start().await;
    let sessions = bench.env.codex_home().join("sessions");
    let id = "0199a213-81c0-7800-8aa1-bbab2a035a53";
    let (path, file) =
        codex_actors::rollout::create_rollout(&sessions, std::time::SystemTime::now(), id)
            .expect("rollout");
    let recorder = bench
        .session
        .record(file, path.clone(), id.to_owned())
        .await
        .expect("recorder");
    let mut record = ThreadRecord {
        recorder,
        usage: Default::default(),
    };
    let (mut off, mut on) = (Vec::new(), Vec::new());
    for round in 0..runs + 1 {
        let (plain, recorded) = if round % 2 == 0 {
            let plain = bench.turn(HOPS, None).await;
            (plain, bench.turn(HOPS, Some(&mut record)).await)
        } else {
            let recorded = bench.turn(HOPS, Some(&mut record)).await;
            (bench.turn(HOPS, None).await, recorded)
        };
        if round > 0 {
            off.push(plain);
            on.push(recorded);
        }
    }
    let (off, on) = (sorted(off), sorted(on));
    bench.session.shutdown().await;
    let lines = std::fs::read_to_string(&path).map_or(0, |t| t.lines().count());
    println!("\n(4) a {HOPS}-hop turn with and without its rollout, {runs} pairs");
    println!(
        "  without p50 {}, recorded p50 {}: {:+.1} % ({lines} lines written)",
        ms(pct(&off, 0.5)),
        ms(pct(&on, 0.5)),
        (ratio(pct(&on, 0.5), pct(&off, 0.5)) - 1.0) * 100.0
    );
}

/// (5) What resuming a 1,000-item session costs: reading and repairing it
/// in process, and `exec resume` against a fresh `exec` as whole processes.
async fn bench_resume(runs: usize) {
    use codex_actors::rollout::{
        RolloutItem, SessionMeta, file_name, read_rollout, render_line, resume_history, session_dir,
    };
    let ours = profile_bin("codex-cli", "codex");
    let model = MockModel::start(Vec::new()).await.expect("mock model");
    model.answer_forever(Reply::sse(vec![
        ev::created("r"),
        ev::message("m", "hi"),
        ev::completed("r"),
    ]));
    let env = TestEnv::new();
    env.write_config(&config(&model, 0, Path::new("unused")));
    let id = "0199a213-81c0-7800-8aa1-bbab2a035a53";
    let now = std::time::SystemTime::now();
    let dir = session_dir(&env.codex_home().join("sessions"), now);
    std::fs::create_dir_all(&dir).expect("sessions dir");
    let path = dir.join(file_name(now, id));
    let mut text = render_line(
        &RolloutItem::SessionMeta(SessionMeta {
            id: id.to_owned(),
            timestamp: String::new(),
            cwd: env.work_dir(),
            originator: "codex_exec".to_owned(),
            cli_version: "bench".to_owned(),
            source: "exec".to_owned(),
            model_provider: Some("mock".to_owned()),
            base_instructions: None,
            git: None,
            caller: Default::default(),
        }),
        now,
    );
    text.push('\n');
    let output = "x".repeat(1000);
    for n in 0..250 {
        for item in [
            json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": format!("question {n}")}]}),
            json!({"type": "function_call", "call_id": format!("c{n}"), "name": "exec_command", "arguments": "{\"cmd\":\"ls\"}"}),
            json!({"type": "function_call_output", "call_id": format!("c{n}"), "output": output}),
            json!({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": format!("answer {n}")}]}),
        ] {
            text.push_str(&render_line(&RolloutItem::ResponseItem(item), now));
            text.push('\n');
        }
    }
    let mut parse = Vec::new();
    for _ in 0..runs.max(5) {
        std::fs::write(&path, &text).expect("write rollout");
        let started = Instant::now();
        let rollout = read_rollout(&path).expect("read");
        let (history, _) = resume_history(&rollout);
        parse.push(started.elapsed());
        assert_eq!(history.len(), 1000);
    }
    let parse = sorted(parse);
    let env = Arc::new(env);
    let (mut fresh, mut resumed) = (Vec::new(), Vec::new());
    for round in 0..runs + 1 {
        std::fs::write(&path, &text).expect("write rollout");
        let (o, e) = (ours.clone(), Arc::clone(&env));
        let (f, r) = tokio::task::spawn_blocking(move || {
            let fresh = bench::run_exec(&o, &e, &["--ephemeral", "--json", "go on"]);
            let resumed = bench::run_exec(&o, &e, &["resume", id, "--json", "go on"]);
            (fresh, resumed)
        })
        .await
        .expect("runs");
        if round > 0 {
            fresh.push(f);
            resumed.push(r);
        }
    }
    let (fresh, resumed) = (sorted(fresh), sorted(resumed));
    println!(
        "\n(5) resuming a 1,000-item session ({} KiB)",
        text.len() / 1024
    );
    println!(
        "  read + repair in process p50 {}; whole process: fresh exec p50 {}, exec resume p50 {} \
         ({:+} ms)",
        us(pct(&parse, 0.5)),
        ms(pct(&fresh, 0.5)),
        ms(pct(&resumed, 0.5)),
        pct(&resumed, 0.5).as_millis() as i64 - pct(&fresh, 0.5).as_millis() as i64
    );
}
