//! Session benchmarks, against real test-server processes over stdio: (1)
//! tool-call round trip through `Session::call` versus a raw rmcp client,
//! (2) time to all-ready for 1, 10 and 50 servers, (3) `kill -9` to
//! restarted-and-re-listed with zero backoff, (4) a requirements-file write
//! to the tool being refused and to the server's process being stopped.
//!
//! A custom harness (`harness = false`) that prints percentiles. Under
//! `cargo bench` (which passes `--bench`) it runs the full measurement;
//! otherwise (`cargo test --all-targets`) it runs a few iterations of each
//! figure as a smoke test and takes a second or two. Optional arguments
//! `roundtrip`, `startup`, `crash`, `policy` select figures.
//!
//! Needs `target/<profile>/codex-test-mcp-server`; when it is missing the
//! harness builds it with `cargo build -p codex-test-mcp-server` for the
//! same profile.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use codex_actors::mcp_server::ServerEvent;
use codex_actors::session::{ServerState, Session, SessionEvent};
use codex_integration_tests::TestEnv;
use codex_integration_tests::bench::{
    Selection, banner, load_average, ms, pct, profile_bin, ratio, sorted, us,
};
use codex_transports::{
    ConnectContext, StdioConfig, TransportConfig, TransportPluginExt as _, TransportRegistry,
};
use rmcp::model::CallToolRequestParams;
use rustix::process::{Pid, Signal};
use tokio::sync::broadcast;

const DEADLINE: Duration = Duration::from_secs(60);

/// How much work each figure does.
#[derive(Debug, Clone, Copy)]
struct Plan {
    warmup_calls: usize,
    call_pairs: usize,
    startup_sizes: &'static [usize],
    startup_runs: usize,
    crash_iterations: usize,
    policy_iterations: usize,
}

const FULL: Plan = Plan {
    warmup_calls: 300,
    call_pairs: 5000,
    startup_sizes: &[1, 10, 50],
    startup_runs: 9,
    crash_iterations: 30,
    policy_iterations: 30,
};

const SMOKE: Plan = Plan {
    warmup_calls: 5,
    call_pairs: 20,
    startup_sizes: &[1, 3],
    startup_runs: 1,
    crash_iterations: 2,
    policy_iterations: 2,
};

fn main() {
    let selection = Selection::from_args();
    let (full, wants) = (selection.full, |name: &str| selection.wants(name));
    let plan = if full { FULL } else { SMOKE };
    let server = test_server_bin();
    println!(
        "{}, test server {}",
        banner("session", full),
        server.display()
    );
    println!("load average at start: {}", load_average());
    let (roundtrip, startup, crash) = (wants("roundtrip"), wants("startup"), wants("crash"));
    let policy = wants("policy");
    codex_runtime::block_on(move || async move {
        if roundtrip {
            bench_roundtrip(&server, plan).await;
        }
        if startup {
            bench_startup(&server, plan).await;
        }
        if crash {
            bench_crash(&server, plan).await;
        }
        if policy {
            for debounce in [
                Duration::ZERO,
                codex_actors::session::DEFAULT_WATCH_DEBOUNCE,
            ] {
                bench_policy(&server, plan, debounce).await;
            }
        }
    })
    .expect("actix runtime");
    println!("\nload average at end: {}", load_average());
}

// ---------------------------------------------------------------- helpers

/// The test server next to this bench's profile directory, built on demand.
fn test_server_bin() -> PathBuf {
    profile_bin("codex-test-mcp-server", "codex-test-mcp-server")
}

fn server_toml(server: &Path, name: &str, extra: &str) -> String {
    format!(
        "[mcp_servers.{name}]\ncommand = {:?}\n{extra}\n",
        server.display().to_string()
    )
}

fn echo_args() -> Option<serde_json::Map<String, serde_json::Value>> {
    serde_json::json!({"text": "ping"}).as_object().cloned()
}

fn kill9(pid: u32) {
    let pid = Pid::from_raw(pid as i32).expect("pid");
    rustix::process::kill_process(pid, Signal::KILL).expect("kill -9");
}

/// Waits until every process group in `pgids` is gone (killed and reaped),
/// then a little longer, so that one run's teardown does not eat into the
/// next run's measurement.
async fn settle(pgids: impl IntoIterator<Item = u32>) {
    let deadline = Instant::now() + Duration::from_secs(10);
    for pgid in pgids {
        let Some(pid) = Pid::from_raw(pgid as i32) else {
            continue;
        };
        while rustix::process::test_kill_process_group(pid).is_ok() {
            assert!(
                Instant::now() < deadline,
                "process group {pgid} outlived its session"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
}

/// Waits for the first event that `pick` maps to `Some`.
async fn wait_for<T>(
    events: &mut broadcast::Receiver<SessionEvent>,
    what: &str,
    pick: impl FnMut(&SessionEvent) -> Option<T>,
) -> T {
    codex_integration_tests::wait_for_event(events, DEADLINE, what, pick).await
}

// ------------------------------------------------------ (1) round trip

/// How a bare rmcp client outside any session connects: the launch the
/// server would run as a plain process, no policy.
fn raw_context(name: &str, config: &TransportConfig, cwd: &Path) -> ConnectContext {
    let vars: BTreeMap<String, String> = std::env::vars().collect();
    let mut context = ConnectContext::new(name, cwd.to_owned(), vars.clone());
    if let TransportConfig::Stdio(stdio) = config {
        context.launch =
            Some(codex_transports::StdioLaunch::unchecked(stdio, cwd, &vars).expect("launch"));
    }
    context
}

/// `Session::call` (A) versus rmcp's `peer.call_tool` (B), each against its
/// own test-server process, alternating A-B / B-A so that noise and any
/// ordering effect hit both.
async fn bench_roundtrip(server: &Path, plan: Plan) {
    let env = TestEnv::new();
    env.write_config(&server_toml(server, "bench", ""));
    let session = Session::start(env.session_options(), None)
        .await
        .expect("start");
    session.wait_startup().await.expect("startup");

    let registry = TransportRegistry::default();
    let config = TransportConfig::Stdio(StdioConfig {
        command: server.display().to_string(),
        args: Vec::new(),
        env: BTreeMap::new(),
        env_vars: Vec::new(),
        cwd: None,
    });
    let context = raw_context("raw", &config, &env.work_dir());
    let plugin = registry.get(config.kind()).expect("stdio plugin");
    let client = plugin
        .connect_and_initialize(&config, &context, DEADLINE)
        .await
        .expect("raw connect");
    let peer = client.service.peer().clone();

    let via_session = || async {
        let started = Instant::now();
        let result = session
            .call("bench", "echo", echo_args())
            .await
            .expect("session call");
        let elapsed = started.elapsed();
        assert_ne!(result.is_error, Some(true));
        elapsed
    };
    let via_rmcp = || async {
        let started = Instant::now();
        let params = CallToolRequestParams::new("echo");
        let params = match echo_args() {
            Some(arguments) => params.with_arguments(arguments),
            None => params,
        };
        let result = peer.call_tool(params).await.expect("raw call");
        let elapsed = started.elapsed();
        assert_ne!(result.is_error, Some(true));
        elapsed
    };

    for _ in 0..plan.warmup_calls {
        via_session().await;
        via_rmcp().await;
    }
    let mut a = Vec::with_capacity(plan.call_pairs);
    let mut b = Vec::with_capacity(plan.call_pairs);
    let started = Instant::now();
    for i in 0..plan.call_pairs {
        if i % 2 == 0 {
            a.push(via_session().await);
            b.push(via_rmcp().await);
        } else {
            b.push(via_rmcp().await);
            a.push(via_session().await);
        }
    }
    let wall = started.elapsed();
    // Adjacent calls share the machine's state: the median of the per-pair
    // difference is the least noisy estimate of the session's overhead.
    let mut diffs: Vec<f64> = a
        .iter()
        .zip(&b)
        .map(|(a, b)| a.as_secs_f64() - b.as_secs_f64())
        .collect();
    diffs.sort_unstable_by(f64::total_cmp);
    let paired = diffs[diffs.len() / 2];
    let (a, b) = (sorted(a), sorted(b));
    println!(
        "\n(1) tool-call round trip, echo over stdio, {} interleaved pairs ({} warm-up each), {:.1} s",
        plan.call_pairs,
        plan.warmup_calls,
        wall.as_secs_f64()
    );
    println!(
        "{:<22} {:>10} {:>10} {:>10} {:>10}",
        "path", "p10", "p50", "p90", "p99"
    );
    for (name, samples) in [("Session::call", &a), ("rmcp peer.call_tool", &b)] {
        println!(
            "{:<22} {:>10} {:>10} {:>10} {:>10}",
            name,
            us(pct(samples, 0.10)),
            us(pct(samples, 0.50)),
            us(pct(samples, 0.90)),
            us(pct(samples, 0.99))
        );
    }
    println!(
        "ratio Session/rmcp    p50 {:.3}×   p90 {:.3}×   (target ≤ 1.05× at p50)",
        ratio(pct(&a, 0.5), pct(&b, 0.5)),
        ratio(pct(&a, 0.9), pct(&b, 0.9))
    );
    println!(
        "p50 difference        {}   median paired difference {:.1} µs ({:.3}× of rmcp p50)",
        us(pct(&a, 0.5).saturating_sub(pct(&b, 0.5))),
        paired * 1e6,
        1.0 + paired / pct(&b, 0.5).as_secs_f64()
    );

    // Secondary: blocks of BLOCK back-to-back calls, A block then B block
    // (order swapped every round), the first call of each block dropped.
    // The server process stays hot within a block, so the fixed cost of
    // the session's hops stands out against a shorter round trip.
    const BLOCK: usize = 16;
    let mut a = Vec::with_capacity(plan.call_pairs);
    let mut b = Vec::with_capacity(plan.call_pairs);
    for round in 0..plan.call_pairs.div_ceil(BLOCK) {
        for side in [round % 2, 1 - round % 2] {
            for k in 0..=BLOCK {
                let t = if side == 0 {
                    via_session().await
                } else {
                    via_rmcp().await
                };
                match (k, side) {
                    (0, _) => {}
                    (_, 0) => a.push(t),
                    _ => b.push(t),
                }
            }
        }
    }
    let (a, b) = (sorted(a), sorted(b));
    println!(
        "\n(1b) same, back-to-back blocks of {BLOCK} (server kept hot), {} calls each",
        a.len()
    );
    for (name, samples) in [("Session::call", &a), ("rmcp peer.call_tool", &b)] {
        println!(
            "{:<22} {:>10} {:>10} {:>10} {:>10}",
            name,
            us(pct(samples, 0.10)),
            us(pct(samples, 0.50)),
            us(pct(samples, 0.90)),
            us(pct(samples, 0.99))
        );
    }
    println!(
        "ratio Session/rmcp    p50 {:.3}×   p90 {:.3}×   p50 difference {}",
        ratio(pct(&a, 0.5), pct(&b, 0.5)),
        ratio(pct(&a, 0.9), pct(&b, 0.9)),
        us(pct(&a, 0.5).saturating_sub(pct(&b, 0.5)))
    );

    drop(peer);
    let _ = client.service.cancel().await;
    session.shutdown().await;
}

// ------------------------------------------------------ (2) all-ready

/// One startup measurement.
#[derive(Debug, Clone, Copy)]
struct Startup {
    /// `Session::start` returned (every server's subtree started).
    started: Duration,
    /// `wait_startup()` returned.
    ready: Duration,
}

/// `Session::start` to `wait_startup()` returning, for each size, sizes
/// interleaved run by run; one untimed warm-up run of the largest size.
/// Each session run is followed by the floor for the same size: that many
/// raw rmcp clients connecting, initialising and listing tools
/// concurrently, with no actors.
async fn bench_startup(server: &Path, plan: Plan) {
    let mut times: BTreeMap<usize, Vec<Startup>> = BTreeMap::new();
    let mut floors: BTreeMap<usize, Vec<Duration>> = BTreeMap::new();
    let largest = plan.startup_sizes.iter().copied().max().unwrap_or(1);
    startup_once(server, largest).await;
    raw_startup_once(server, largest).await;
    for _ in 0..plan.startup_runs {
        for &n in plan.startup_sizes {
            times
                .entry(n)
                .or_default()
                .push(startup_once(server, n).await);
            floors
                .entry(n)
                .or_default()
                .push(raw_startup_once(server, n).await);
        }
    }
    println!(
        "\n(2) time to all-ready (Session::start → wait_startup), stdio test servers, {} runs per size",
        plan.startup_runs
    );
    println!(
        "{:>8} {:>10} {:>10} {:>10} {:>16} {:>18}",
        "servers", "min", "median", "max", "start() median", "raw floor median"
    );
    let mut medians = BTreeMap::new();
    for (n, samples) in times {
        let started = pct(&sorted(samples.iter().map(|s| s.started).collect()), 0.5);
        let samples = sorted(samples.iter().map(|s| s.ready).collect());
        let floor = pct(&sorted(floors.remove(&n).unwrap_or_default()), 0.5);
        let median = pct(&samples, 0.5);
        medians.insert(n, (median, floor));
        println!(
            "{:>8} {:>10} {:>10} {:>10} {:>16} {:>18}",
            n,
            ms(samples[0]),
            ms(median),
            ms(samples[samples.len() - 1]),
            ms(started),
            ms(floor)
        );
    }
    if let (Some((&small, &(one, one_raw))), Some((&big, &(many, many_raw)))) =
        (medians.first_key_value(), medians.last_key_value())
    {
        println!(
            "ratio {big}/{small} at the median: session {:.2}×, raw floor {:.2}×   (target ≤ 3× for 50/1)",
            ratio(many, one),
            ratio(many_raw, one_raw)
        );
    }
}

async fn startup_once(server: &Path, n: usize) -> Startup {
    let env = TestEnv::new();
    let config: String = (0..n)
        .map(|i| server_toml(server, &format!("s{i:02}"), ""))
        .collect();
    env.write_config(&config);
    let options = env.session_options();
    let t0 = Instant::now();
    let session = Session::start(options, None).await.expect("start");
    let started = t0.elapsed();
    let statuses = session.wait_startup().await.expect("startup");
    let ready = t0.elapsed();
    let up = statuses
        .iter()
        .filter(|s| matches!(s.state, ServerState::Ready { .. }))
        .count();
    assert_eq!(up, n, "not every server is ready: {statuses:?}");
    session.shutdown().await;
    settle(statuses.iter().filter_map(|s| s.pid)).await;
    Startup { started, ready }
}

/// `n` raw clients spawned at once: connect, `initialize`, `tools/list`.
async fn raw_startup_once(server: &Path, n: usize) -> Duration {
    let env = TestEnv::new();
    let config = TransportConfig::Stdio(StdioConfig {
        command: server.display().to_string(),
        args: Vec::new(),
        env: BTreeMap::new(),
        env_vars: Vec::new(),
        cwd: None,
    });
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let config = config.clone();
            let context = raw_context(&format!("raw{i}"), &config, &env.work_dir());
            tokio::spawn(async move {
                let registry = TransportRegistry::default();
                let client = registry
                    .connect_and_initialize(&config, &context, DEADLINE)
                    .await
                    .expect("raw connect");
                let tools = client
                    .service
                    .peer()
                    .list_all_tools()
                    .await
                    .expect("raw tools/list");
                assert!(!tools.is_empty());
                client
            })
        })
        .collect();
    let mut clients = Vec::with_capacity(n);
    for task in tasks {
        clients.push(task.await.expect("raw task"));
    }
    let elapsed = t0.elapsed();
    let pids: Vec<u32> = clients
        .iter()
        .filter_map(|c| c.process.as_ref().map(|p| p.pid()))
        .collect();
    for client in clients {
        let _ = client.service.cancel().await;
    }
    settle(pids).await;
    elapsed
}

// ------------------------------------------------------ (3) crash → ready

/// `kill -9` of the server's pid until the next `ServerReady` for it (which
/// carries the re-listed tools), with zero restart backoff. Also splits the
/// time at the `ServerFailed` event (failure noticed).
async fn bench_crash(server: &Path, plan: Plan) {
    let env = TestEnv::new();
    let extra = format!(
        "restart_backoff_ms = 0\nrestart_backoff_max_ms = 0\nmax_restarts = {}\n",
        plan.crash_iterations + 10
    );
    env.write_config(&server_toml(server, "crashy", &extra));
    let session = Session::start(env.session_options(), None)
        .await
        .expect("start");
    let statuses = session.wait_startup().await.expect("startup");
    let mut pid = statuses[0].pid.expect("stdio pid");
    let mut incarnation = 1;
    let mut total = Vec::new();
    let mut noticed = Vec::new();
    let mut connect = Vec::new();
    for _ in 0..plan.crash_iterations {
        let mut events = session.subscribe();
        let started = Instant::now();
        kill9(pid);
        wait_for(&mut events, "ServerFailed", |e| match e {
            SessionEvent::Server(ServerEvent::Failed { server, .. }) if server == "crashy" => {
                Some(())
            }
            _ => None,
        })
        .await;
        let failed_at = started.elapsed();
        let (next, next_pid, tools, elapsed) =
            wait_for(&mut events, "a restarted server", |e| match e {
                SessionEvent::Server(ServerEvent::Ready {
                    server,
                    incarnation: inc,
                    tools,
                    elapsed,
                    pid: Some(pid),
                    ..
                }) if server == "crashy" && *inc > incarnation => {
                    Some((*inc, *pid, tools.len(), *elapsed))
                }
                _ => None,
            })
            .await;
        total.push(started.elapsed());
        noticed.push(failed_at);
        connect.push(elapsed);
        assert!(tools > 0, "the restarted server listed no tools");
        assert_ne!(next_pid, pid);
        incarnation = next;
        pid = next_pid;
    }
    // The restarted server serves.
    let result = session
        .call("crashy", "echo", echo_args())
        .await
        .expect("call after restarts");
    assert_ne!(result.is_error, Some(true));
    session.shutdown().await;

    println!(
        "\n(3) kill -9 → next ServerReady (tools re-listed), backoff 0, {} iterations",
        plan.crash_iterations
    );
    println!("{:<36} {:>10} {:>10} {:>10}", "", "min", "median", "p90");
    for (name, samples) in [
        ("kill → ServerReady (total)", total),
        ("kill → ServerFailed (noticed)", noticed),
        ("incarnation start → ready (elapsed)", connect),
    ] {
        let samples = sorted(samples);
        println!(
            "{:<36} {:>10} {:>10} {:>10}",
            name,
            ms(samples[0]),
            ms(pct(&samples, 0.5)),
            ms(pct(&samples, 0.9))
        );
    }
}

// ------------------------------------------- (4) a policy change, live

/// One server, allowed; each iteration writes a requirements file that (a)
/// adds `disabled_tools = ["echo"]`, timed until a call of `echo` is
/// refused, then (b) drops the server from the allowlist, timed until its
/// process is stopped; then allows it again and waits for it to be back.
async fn bench_policy(server: &Path, plan: Plan, debounce: Duration) {
    use codex_actors::audit_log::{ProcessChange, ProcessEvent};
    use codex_actors::mcp_server::ToolCallError;
    let mut env = TestEnv::new();
    env.write_config(&server_toml(server, "mini", ""));
    let allow = |extra: &str| {
        format!(
            "[mcp_server_allowlist.mini]\ncommand = {:?}\n{extra}\n",
            server.display().to_string()
        )
    };
    let requirements = env.requirements_file(&allow(""));
    let mut options = env.session_options();
    options.requirements.env_file = Some(requirements.clone());
    options.watch_debounce = debounce;
    let session = Session::start(options, None).await.expect("session");
    session.wait_startup().await.expect("startup");
    let mut refused = Vec::new();
    let mut stopped = Vec::new();
    for _ in 0..plan.policy_iterations {
        let mut events = session.subscribe();
        // (a) A tool withdrawn: polled on the call path, which checks the
        // snapshot each call runs under.
        let started = Instant::now();
        std::fs::write(&requirements, allow("disabled_tools = [\"echo\"]")).expect("write");
        loop {
            match session.call("mini", "echo", echo_args()).await {
                Err(ToolCallError::Refused { .. }) => break,
                Ok(_) => tokio::task::yield_now().await,
                Err(other) => panic!(
                    "unexpected: {other} after {:?}; {:?}",
                    started.elapsed(),
                    session.statuses().await
                ),
            }
            assert!(started.elapsed() < DEADLINE, "never refused");
        }
        refused.push(started.elapsed());
        // (b) The server dropped: until its process is stopped.
        let started = Instant::now();
        std::fs::write(
            &requirements,
            "[mcp_server_allowlist.other]\ncommand = \"/bin/true\"\n",
        )
        .expect("write");
        wait_for(&mut events, "the process stopped", |e| match e {
            SessionEvent::Server(ServerEvent::Process(ProcessEvent {
                change: ProcessChange::Stopped { .. },
                ..
            })) => Some(()),
            _ => None,
        })
        .await;
        stopped.push(started.elapsed());
        // Allowed again, for the next iteration.
        std::fs::write(&requirements, allow("")).expect("write");
        wait_for(&mut events, "mini back", |e| match e {
            SessionEvent::Server(ServerEvent::Ready { server, .. }) if server == "mini" => Some(()),
            _ => None,
        })
        .await;
    }
    session.shutdown().await;
    let refused = sorted(refused);
    let stopped = sorted(stopped);
    println!(
        "\n(4) policy change, debounce {} ms, {} iterations",
        debounce.as_millis(),
        plan.policy_iterations
    );
    println!(
        "  write -> tool refused:    p50 {} p90 {}",
        ms(pct(&refused, 0.5)),
        ms(pct(&refused, 0.9))
    );
    println!(
        "  write -> server stopped:  p50 {} p90 {}",
        ms(pct(&stopped, 0.5)),
        ms(pct(&stopped, 0.9))
    );
}
