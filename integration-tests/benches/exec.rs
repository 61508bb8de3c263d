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
//!
//! A custom harness (`harness = false`). Under `cargo bench` (which passes
//! `--bench`) it measures; otherwise it runs one iteration of each as a
//! smoke test. Optional arguments `exec`, `hops` select figures.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use codex_actors::config::{ModelSettings, ProviderSettings, WireApi};
use codex_actors::model_stream::resolve_provider;
use codex_actors::session::{Session, TurnRuntime};
use codex_actors::turn::{self, Input, TurnConfig, TurnOutcome};
use codex_integration_tests::TestEnv;
use codex_integration_tests::bench::{load_average, ms, pct, profile_bin, ratio, sorted, us};
use codex_test_mcp_server::mock_model::{MockModel, Reply, ev};
use serde_json::json;
use tokio_util::sync::CancellationToken;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let full = args.iter().any(|a| a == "--bench");
    let picked: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wants = |name: &str| picked.is_empty() || picked.contains(&name);
    println!(
        "exec bench ({}), {} cores, load average {}",
        if full { "full" } else { "smoke" },
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );
    let (exec, hops) = (wants("exec"), wants("hops"));
    codex_runtime::block_on(move || async move {
        if exec {
            bench_exec(if full { 15 } else { 1 }).await;
        }
        if hops {
            bench_hops(if full { 15 } else { 1 }).await;
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
    let mut command = Command::new(bin);
    command
        .args(["exec", "--skip-git-repo-check", "--json", "say hi"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", env.root().join("home"))
        .env("CODEX_HOME", env.codex_home())
        .env("MOCK_API_KEY", "dummy")
        .current_dir(env.work_dir())
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    let started = Instant::now();
    let output = command.output().expect("run exec");
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("\"turn.completed\""),
        "{} did not complete its turn: {stdout}",
        bin.display()
    );
    elapsed
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

async fn bench_hops(runs: usize) {
    const HOPS: usize = 20;
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
        sandbox: codex_sandbox::SandboxPolicy::new(codex_sandbox::SandboxMode::DangerFullAccess),
        sandbox_mode: codex_actors::config::SandboxMode::DangerFullAccess,
        approval: codex_actors::config::ApprovalPolicy::Never,
        command_env: Default::default(),
    };
    let tools = session.mcp_tools().await.expect("tools");
    let turn = |hops: usize| {
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
        model.push(replies);
        let config = TurnConfig {
            model: model_name.clone(),
            reasoning_effort: None,
            thread_id: "bench".to_owned(),
            instructions: "bench".to_owned(),
            cwd: env.work_dir(),
            mcp_tools: tools.clone(),
            mcp_servers: vec!["mini".to_owned()],
            output_schema: None,
            command_timeout: Duration::from_secs(10),
            seed: 1,
            policy: codex_actors::session::turn_policy(&session.policy(), &runtime),
            session_approvals: Default::default(),
            history: Vec::new(),
        };
        let session = &session;
        let runtime = &runtime;
        async move {
            let mut machine = turn::Machine::new(config);
            let cancel = CancellationToken::new();
            let started = Instant::now();
            let outcome = session
                .run_turn(
                    &mut machine,
                    vec![Input::Start {
                        prompt: "go".to_owned(),
                    }],
                    runtime,
                    &codex_actors::session::no_one_to_ask,
                    &cancel,
                    &mut |_| {},
                )
                .await;
            assert!(
                matches!(outcome, TurnOutcome::Completed { .. }),
                "{outcome:?}"
            );
            started.elapsed()
        }
    };
    let (mut none, mut many, mut direct) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        none.push(turn(0).await);
        many.push(turn(HOPS).await);
        let started = Instant::now();
        for _ in 0..HOPS {
            session
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
    session.shutdown().await;
}
