//! The interactive chat's figures (issue 19), on a real pseudo-terminal
//! read through a `vt100` parser, against the local mock model:
//!
//! 1. `first-frame`: from spawning `codex` (no MCP server) to its first
//!    frame on the terminal (the composer's placeholder is on screen).
//! 2. `keystroke`: while an answer streams at 200 deltas per second, from
//!    writing one key to the terminal to the screen showing it in the
//!    composer. This includes the PTY and the parser on our side, so it
//!    is an upper bound on the chat's own latency.
//! 3. `idle`: CPU time the chat uses while nothing happens (5 s after its
//!    first frame), from `/proc/PID/stat`.
//!
//! A custom harness (`harness = false`). Under `cargo bench` (which passes
//! `--bench`) it measures; otherwise it runs one small iteration of each.

use std::time::{Duration, Instant};

use codex_integration_tests::TestEnv;
use codex_integration_tests::bench::{
    Selection, banner, load_average, ms, pct, profile_bin, sorted,
};
use codex_integration_tests::pty::Pty;
use codex_test_mcp_server::mock_model::{MockModel, Reply, ev};

const PATIENCE: Duration = Duration::from_secs(60);

fn main() {
    let full = Selection::from_args().full;
    println!("{}, load average {}", banner("tui", full), load_average());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        first_frame(if full { 30 } else { 2 }).await;
        keystroke(if full { 200 } else { 10 }).await;
        idle(if full { 5 } else { 1 }).await;
    });
}

/// A test environment whose config points at `model`.
fn env(model: &MockModel) -> TestEnv {
    let mut env = TestEnv::new();
    env.write_config("model = \"gpt-5-codex\"\n");
    env.set_var("OPENAI_BASE_URL", model.base_url());
    env.set_var("CODEX_API_KEY", "sk-test");
    env
}

/// `codex ARGS` of this bench's profile, on a pseudo-terminal.
fn chat(env: &TestEnv, args: &[&str]) -> Pty {
    let codex = profile_bin("codex-cli", "codex");
    let template = env.command(args);
    let mut command = std::process::Command::new(codex);
    command.args(template.get_args());
    for (name, value) in template.get_envs() {
        if let Some(value) = value {
            command.env(name, value);
        }
    }
    if let Some(dir) = template.get_current_dir() {
        command.current_dir(dir);
    }
    Pty::start(command, PATIENCE)
}

const READY: &str = "Ask Codex to do anything";

async fn first_frame(runs: usize) {
    let model = MockModel::start(Vec::new()).await.expect("mock model");
    let env = env(&model);
    let mut samples = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let mut pty = chat(&env, &[]);
        pty.wait_for(READY);
        samples.push(started.elapsed());
        pty.send(b"\x04");
        pty.exit_code();
    }
    let samples = sorted(samples);
    println!(
        "first frame, no MCP server ({runs} runs): median {}, p90 {}, min {}",
        ms(pct(&samples, 0.5)),
        ms(pct(&samples, 0.9)),
        ms(samples[0])
    );
}

async fn keystroke(keys: usize) {
    // 200 deltas per second for longer than the keys take.
    let deltas: Vec<serde_json::Value> = (0..(keys * 4).max(400))
        .map(|n| ev::text_delta(&format!("token{n} ")))
        .collect();
    let model = MockModel::start(vec![Reply::slow(deltas, Duration::from_millis(5))])
        .await
        .expect("mock model");
    let env = env(&model);
    let mut pty = chat(&env, &[]);
    pty.wait_for(READY);
    pty.typed("stream please\r");
    pty.wait_for("token3 ");
    let mut typed = String::new();
    let mut samples = Vec::new();
    for n in 0..keys {
        // Letters cycle so that each key changes the composer's line.
        let key = char::from(b'a' + (n % 26) as u8);
        typed.push(key);
        let expected = format!("› {typed}");
        let started = Instant::now();
        pty.send(&[key as u8]);
        pty.wait_until("the key in the composer", |screen| {
            screen.lines().any(|line| line.trim_end() == expected)
        });
        samples.push(started.elapsed());
        if typed.len() >= 60 {
            // Clear the composer (Ctrl-U) and wait for it to be empty.
            pty.send(b"\x15");
            pty.wait_until("an empty composer", |screen| {
                !screen.lines().any(|line| line.starts_with("› a"))
            });
            typed.clear();
        }
    }
    let streaming = pty.screen().contains("esc to interrupt");
    let samples = sorted(samples);
    println!(
        "keystroke to redraw at 200 deltas/s ({keys} keys, still streaming: {streaming}): \
         median {}, p99 {}, max {}",
        ms(pct(&samples, 0.5)),
        ms(pct(&samples, 0.99)),
        ms(samples[samples.len() - 1])
    );
    pty.send(b"\x1b");
    pty.wait_for("Interrupted");
    // Ctrl-U empties the composer, so that Ctrl-D quits.
    pty.send(b"\x15\x04");
    pty.exit_code();
}

/// utime + stime of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name, which is in parentheses.
    let after = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |n: usize| {
        fields
            .get(n)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the whole line (11 and 12 here).
    field(11) + field(12)
}

async fn idle(seconds: u64) {
    let model = MockModel::start(Vec::new()).await.expect("mock model");
    let env = env(&model);
    let mut pty = chat(&env, &[]);
    pty.wait_for(READY);
    let pid = pty.pid().expect("a pid");
    // Let start-up settle first.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = cpu_ticks(pid);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let used = cpu_ticks(pid) - before;
    let wall = started.elapsed();
    // Clock ticks are 1/100 s on Linux.
    let cpu = Duration::from_millis(used * 10);
    println!(
        "idle for {}: {} of CPU ({:.2}% of one core)",
        ms(wall),
        ms(cpu),
        100.0 * cpu.as_secs_f64() / wall.as_secs_f64()
    );
    pty.send(b"\x04");
    pty.exit_code();
}
