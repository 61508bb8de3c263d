//! Fault injection through the real binary: `codex debug chaos` over a
//! matrix of fault kinds and transports, determinism, escalation, and the
//! model stream behind `codex debug fault-proxy` under `codex exec`.

use std::process::Stdio;
use std::time::Duration;

use codex_integration_tests::{HttpTestServer, Run, TestEnv, test_server_bin};
use codex_test_mcp_server::mock_model::{MockModel, Reply, ev};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, BufReader};

use crate::exec::{Exec, events};

/// Calls per matrix cell; faults fire every tenth call.
const CALLS: u64 = 60;
const EVERY: u64 = 10;

/// How a server is reached in a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Stdio,
    Http,
}

/// One matrix cell: a fault kind, its plan lines, whether the calls it
/// hits fail, and whether it kills the connection (so supervision must
/// restart the server).
struct Cell {
    name: &'static str,
    fault: &'static str,
    fails: Fails,
    restarts: bool,
}

/// What happens to the calls a fault hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fails {
    /// They fail.
    Yes,
    /// No call fails.
    No,
    /// Some may (the cell also does something else).
    Some,
}

const STDIO_CELLS: [Cell; 12] = [
    Cell {
        name: "kill",
        fault: "action = \"kill\"",
        fails: Fails::Yes,
        restarts: true,
    },
    Cell {
        name: "kill TERM",
        fault: "action = \"kill\"\nsignal = \"TERM\"",
        fails: Fails::Yes,
        restarts: true,
    },
    Cell {
        name: "hang",
        fault: "action = \"hang\"",
        fails: Fails::Yes,
        restarts: true,
    },
    Cell {
        name: "exit",
        fault: "action = \"exit\"",
        fails: Fails::Yes,
        restarts: true,
    },
    Cell {
        name: "stderr_flood",
        fault: "action = \"stderr_flood\"\nbytes = 4194304",
        fails: Fails::No,
        restarts: false,
    },
    Cell {
        name: "delay",
        fault: "action = \"delay\"\ndelay_ms = [50, 150]",
        fails: Fails::No,
        restarts: false,
    },
    Cell {
        name: "drop",
        fault: "action = \"drop\"",
        fails: Fails::Yes,
        restarts: false,
    },
    Cell {
        name: "corrupt",
        fault: "action = \"corrupt\"",
        fails: Fails::Yes,
        restarts: false,
    },
    Cell {
        name: "garbage_line",
        fault: "action = \"garbage_line\"",
        fails: Fails::No,
        restarts: false,
    },
    Cell {
        name: "close",
        fault: "action = \"close\"",
        fails: Fails::Yes,
        restarts: true,
    },
    Cell {
        name: "oversize",
        fault: "action = \"oversize\"",
        fails: Fails::Yes,
        restarts: false,
    },
    Cell {
        name: "slow_start",
        fault: "action = \"slow_start\"\ndelay_ms = 300",
        // The cell also kills the server (a slow start shows on a restart).
        fails: Fails::Some,
        restarts: false,
    },
];

const HTTP_CELLS: [Cell; 12] = [
    Cell {
        name: "delay",
        fault: "action = \"delay\"\ndelay_ms = [50, 150]",
        fails: Fails::No,
        restarts: false,
    },
    Cell {
        name: "drop",
        fault: "action = \"drop\"",
        fails: Fails::Yes,
        restarts: false,
    },
    Cell {
        name: "corrupt",
        fault: "action = \"corrupt\"",
        fails: Fails::Yes,
        restarts: false,
    },
    Cell {
        name: "garbage_line",
        fault: "action = \"garbage_line\"",
        fails: Fails::No,
        restarts: false,
    },
    Cell {
        name: "close",
        fault: "action = \"close\"",
        fails: Fails::Yes,
        restarts: false,
    },
    Cell {
        name: "oversize",
        fault: "action = \"oversize\"",
        fails: Fails::Yes,
        restarts: false,
    },
    Cell {
        name: "http_status 500",
        fault: "action = \"http_status\"\nstatus = 500",
        fails: Fails::Yes,
        restarts: false,
    },
    Cell {
        name: "http_status 429",
        fault: "action = \"http_status\"\nstatus = 429\nretry_after_s = 1",
        fails: Fails::Yes,
        restarts: false,
    },
    Cell {
        name: "reset",
        fault: "action = \"reset\"",
        fails: Fails::Yes,
        restarts: false,
    },
    Cell {
        name: "truncate",
        fault: "action = \"truncate\"",
        fails: Fails::Yes,
        restarts: false,
    },
    Cell {
        name: "stall",
        fault: "action = \"stall\"",
        fails: Fails::Yes,
        restarts: false,
    },
    Cell {
        name: "slow_start",
        fault: "action = \"slow_start\"\ndelay_ms = 300",
        fails: Fails::No,
        restarts: false,
    },
];

fn plan(fault: &str, extra_faults: &str) -> String {
    plan_with(fault, extra_faults, Patience::Short)
}

/// How long calls and pings may take before they count as failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Patience {
    /// 1 s: faults that hang a call cost little.
    Short,
    /// 5 s: for cells where no call may fail, so that a slow moment of a
    /// loaded machine is not taken for a fault.
    Long,
}

impl Patience {
    fn seconds(self) -> u64 {
        match self {
            Patience::Short => 1,
            Patience::Long => 5,
        }
    }
}

fn plan_with(fault: &str, extra_faults: &str, patience: Patience) -> String {
    let ping_timeout_ms = patience.seconds() * 1000;
    format!(
        "seed = 42\nping_interval_ms = 200\nping_timeout_ms = {ping_timeout_ms}\npace_ms = 15\n\
         [[workload]]\nserver = \"s\"\ntool = \"echo\"\nargs = {{ text = \"hi\" }}\n\
         [[fault]]\ntarget = \"s\"\nwhen = {{ every_calls = {EVERY} }}\n{fault}\n{extra_faults}"
    )
}

/// Runs `codex debug chaos` with `plan` and returns the run, its JSON
/// report, and the processes that carry its tags after it exited.
fn chaos(env: &TestEnv, plan: &str, args: &[&str]) -> (Run, Value, usize) {
    let path = env.write_file("plan.toml", plan);
    let path = path.display().to_string();
    let mut all = vec!["debug", "chaos", "--plan", path.as_str(), "--json"];
    all.extend_from_slice(args);
    let child = env
        .command(&all)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn codex");
    let pid = child.id();
    let output = child.wait_with_output().expect("wait");
    let run = env.run_from_output(output);
    let report: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|err| panic!("report is not JSON ({err}):\n{}", run.transcript()));
    (run, report, tagged_by(pid))
}

/// Live processes whose environment carries a tag of process `pid`.
fn tagged_by(pid: u32) -> usize {
    let needle = format!("{}={pid}.", codex_sandbox::TAG_ENV);
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .flatten()
        .filter(|entry| {
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            let zombie = stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
            !zombie
                && std::fs::read(entry.path().join("environ")).is_ok_and(|environ| {
                    environ
                        .split(|&b| b == 0)
                        .any(|e| e.starts_with(needle.as_bytes()))
                })
        })
        .count()
}

fn server_config(transport: Transport, url: Option<&str>) -> String {
    server_config_with(transport, url, Patience::Short)
}

fn server_config_with(transport: Transport, url: Option<&str>, patience: Patience) -> String {
    let common = format!(
        "restart_backoff_ms = 10\nmax_restarts = 100\ntool_timeout_sec = {}\n",
        patience.seconds()
    );
    match transport {
        Transport::Stdio => format!(
            "[mcp_servers.s]\ncommand = {:?}\n{common}",
            test_server_bin().display().to_string()
        ),
        Transport::Http => format!(
            "[mcp_servers.s]\nurl = {:?}\n{common}",
            url.expect("an HTTP server")
        ),
    }
}

/// Checks one cell; returns a description of what went wrong, if anything.
fn check_cell(transport: Transport, cell: &Cell) -> Option<String> {
    let web = (transport == Transport::Http).then(|| HttpTestServer::start(&[]));
    let env = TestEnv::new();
    let patience = if cell.fails == Fails::No {
        Patience::Long
    } else {
        Patience::Short
    };
    env.write_config(&server_config_with(
        transport,
        web.as_ref().map(|w| w.url.as_str()),
        patience,
    ));
    // A slow start shows only on a restart, so that cell also kills.
    let extra = if cell.name == "slow_start" && transport == Transport::Stdio {
        "[[fault]]\ntarget = \"s\"\nwhen = { every_calls = 25 }\naction = \"kill\"\n"
    } else {
        ""
    };
    let calls = CALLS.to_string();
    let (run, report, tagged) = chaos(
        &env,
        &plan_with(cell.fault, extra, patience),
        &["--calls", &calls, "--concurrency", "2"],
    );
    let server = &report["servers"]["s"];
    let mut problems = Vec::new();
    if run.code != 0 {
        problems.push(format!("exit {}: {}", run.code, run.stderr.trim()));
    }
    if report["calls"]["issued"] != CALLS {
        problems.push(format!("issued {}", report["calls"]["issued"]));
    }
    let answered = report["calls"]["ok"].as_u64().unwrap_or(0)
        + report["calls"]["error"].as_u64().unwrap_or(0);
    if report["calls"]["unaccounted"] != 0 || answered != CALLS {
        problems.push(format!("calls {}", report["calls"]));
    }
    if report["leftover_processes"] != 0 || tagged != 0 {
        problems.push(format!(
            "left over: {} (reported), {tagged} (scanned)",
            report["leftover_processes"]
        ));
    }
    if report["leaked_fds"] != 0 {
        problems.push(format!("leaked fds: {}", report["leaked_fds"]));
    }
    let fired = report["injected"].as_array().map_or(0, Vec::len)
        + report["skipped"].as_array().map_or(0, Vec::len);
    if fired < (CALLS / EVERY) as usize {
        problems.push(format!("only {fired} faults fired"));
    }
    let errors = report["calls"]["error"].as_u64().unwrap_or(0);
    match cell.fails {
        Fails::Yes if errors < CALLS / EVERY => {
            problems.push(format!("only {errors} calls failed"));
        }
        Fails::No if errors > 0 => problems.push(format!("{errors} calls failed")),
        _ => {}
    }
    if server["state"] != "ready" {
        problems.push(format!("ends {}", server["state"]));
    }
    let restarts = server["restarts"].as_u64().unwrap_or(0);
    if cell.restarts && restarts == 0 {
        problems.push("never restarted".to_owned());
    }
    if cell.name == "slow_start"
        && transport == Transport::Stdio
        && server["recover_ms"]["p50"]
            .as_u64()
            .is_none_or(|ms| ms < 250)
    {
        problems.push(format!("recovered too fast for a slow start: {server}"));
    }
    if problems.is_empty() {
        None
    } else {
        Some(format!(
            "{transport:?} {}: {}",
            cell.name,
            problems.join("; ")
        ))
    }
}

/// Runs every cell, a few at a time (they mostly wait on timeouts).
fn matrix(transport: Transport, cells: &'static [Cell; 12]) {
    let failures: Vec<String> = std::thread::scope(|scope| {
        let mut failures = Vec::new();
        for chunk in cells.chunks(4) {
            let handles: Vec<_> = chunk
                .iter()
                .map(|cell| scope.spawn(move || check_cell(transport, cell)))
                .collect();
            failures.extend(handles.into_iter().filter_map(|h| h.join().expect("cell")));
        }
        failures
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn twelve_fault_kinds_over_stdio() {
    matrix(Transport::Stdio, &STDIO_CELLS);
}

#[test]
fn twelve_fault_kinds_over_streamable_http() {
    matrix(Transport::Http, &HTTP_CELLS);
}

#[test]
fn the_same_seed_injects_the_same_faults() {
    let env = TestEnv::new();
    env.write_config(&server_config(Transport::Stdio, None));
    let plan = "seed = 7\n[[workload]]\nserver = \"s\"\ntool = \"echo\"\nargs = { text = \"x\" }\n\
                [[fault]]\ntarget = \"s\"\nwhen = { probability = 0.1 }\naction = \"delay\"\ndelay_ms = [1, 20]\n\
                [[fault]]\ntarget = \"stdio\"\nwhen = { every_calls = 17 }\naction = \"garbage_line\"\n";
    let (first, one, _) = chaos(&env, plan, &["--calls", "100", "--concurrency", "4"]);
    let (_, two, _) = chaos(&env, plan, &["--calls", "100", "--concurrency", "1"]);
    assert_eq!(first.code, 0, "{}", first.transcript());
    assert!(
        one["injected"]
            .as_array()
            .is_some_and(|list| list.len() > 5),
        "{}",
        one["injected"]
    );
    assert_eq!(one["injected"], two["injected"]);
    let other = plan.replace("seed = 7", "seed = 8");
    let (_, three, _) = chaos(&env, &other, &["--calls", "100"]);
    assert_ne!(one["injected"], three["injected"]);
}

#[test]
fn supervision_escalates_as_configured() {
    let env = TestEnv::new();
    env.write_config(&format!(
        "[mcp_servers.s]\ncommand = {:?}\nrestart_backoff_ms = 10\nmax_restarts = 1\nrestart_window_sec = 60\n",
        test_server_bin().display().to_string()
    ));
    let (run, report, tagged) = chaos(
        &env,
        &plan("action = \"kill\"", "").replace("every_calls = 10", "every_calls = 5"),
        &["--calls", "60", "--concurrency", "1"],
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
    let server = &report["servers"]["s"];
    assert_eq!(server["escalated"], true, "{report:#}");
    assert_eq!(server["state"], "failed", "{report:#}");
    assert_eq!(server["restarts"], 1, "{report:#}");
    assert_eq!(report["calls"]["unaccounted"], 0);
    assert_eq!(
        (report["leftover_processes"].clone(), tagged),
        (Value::from(0), 0)
    );
}

#[test]
fn a_bad_plan_is_located() {
    let env = TestEnv::new();
    env.write_config(&server_config(Transport::Stdio, None));
    let path = env.write_file(
        "plan.toml",
        "[[fault]]\ntarget = \"s\"\nwhen = { every_calls = 1 }\naction = \"reset\"\n",
    );
    let run = env.codex(&["debug", "chaos", "--plan", &path.display().to_string()]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert_eq!(
        run.stderr,
        "Error: [TMP]/plan.toml:2:10: action \"reset\" does not apply to a stdio server (s)\n"
    );
}

/// `codex debug fault-proxy` in front of `model`, killed on drop.
struct Proxy {
    url: String,
    child: tokio::process::Child,
}

impl Proxy {
    async fn start(env: &TestEnv, model: &MockModel, plan: &str) -> Proxy {
        let path = env.write_file("model-plan.toml", plan);
        let mut command = tokio::process::Command::from(env.command(&[
            "debug",
            "fault-proxy",
            "--plan",
            &path.display().to_string(),
            "--upstream",
            &model.base_url(),
        ]));
        command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("spawn the proxy");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        tokio::time::timeout(
            Duration::from_secs(30),
            BufReader::new(stdout).read_line(&mut line),
        )
        .await
        .expect("the proxy prints its address")
        .expect("read");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected line {line:?}"))
            .to_owned();
        Proxy { url, child }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// `codex exec` against the mock model through a fault proxy.
async fn exec_through(plan: &str, replies: Vec<Reply>, provider: &str) -> (Run, Vec<Value>, usize) {
    let model = MockModel::start(replies).await.expect("mock");
    let env = TestEnv::new();
    let proxy = Proxy::start(&env, &model, plan).await;
    env.write_config(&format!(
        "model_provider = \"mock\"\n[model_providers.mock]\nbase_url = \"{}/v1\"\n{provider}",
        proxy.url
    ));
    let exec = Exec { env, model };
    let run = exec.run(&["--json", "hi"], None).await;
    let events = events(&run);
    let reached = exec.model.requests().len();
    drop(proxy);
    (run, events, reached)
}

fn model_fault(when: &str, fault: &str) -> String {
    format!("seed = 1\n[[fault]]\ntarget = \"model\"\nwhen = {{ {when} }}\n{fault}\n")
}

/// The retry notices among the `error` lines (a failed turn's own error
/// line comes last, before `turn.failed`).
fn reconnects(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["type"] == "error")
        .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
        .filter(|message| message.starts_with("Reconnecting"))
        .collect()
}

fn answer() -> Reply {
    Reply::sse(vec![ev::message("m", "fine"), ev::completed("r")])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_model_stream_is_retried_through_http_faults() {
    let provider =
        "stream_idle_timeout_ms = 1000\nstream_max_retries = 3\nrequest_max_retries = 3\n";
    // Each fault hits the first request only; the retry goes through.
    let cases = [
        (
            "action = \"http_status\"\nstatus = 500",
            "unexpected status 500",
        ),
        (
            "action = \"http_status\"\nstatus = 429\nretry_after_s = 1",
            "unexpected status 429",
        ),
        ("action = \"reset\"", ""),
        ("action = \"truncate\"", ""),
        ("action = \"stall\"", "idle timeout"),
        ("action = \"garbage_line\"", ""),
    ];
    for (fault, why) in cases {
        // The stall and truncate faults let the first answer through in
        // part, so the model is asked twice for them.
        let replies = vec![answer(), answer()];
        let (run, events, _) =
            exec_through(&model_fault("after_calls = 0", fault), replies, provider).await;
        assert_eq!(run.code, 0, "{fault}: {}", run.transcript());
        let last = events.last().expect("events");
        assert_eq!(
            last["type"],
            "turn.completed",
            "{fault}: {}",
            run.transcript()
        );
        if fault.contains("garbage_line") {
            // A line that is not an event is skipped; nothing to retry.
            continue;
        }
        let errors = reconnects(&events);
        assert_eq!(errors.len(), 1, "{fault}: {errors:?}");
        assert!(
            errors[0].starts_with("Reconnecting... 1/3") && errors[0].contains(why),
            "{fault}: {errors:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_that_keeps_failing_ends_the_turn_cleanly() {
    let started = std::time::Instant::now();
    let (run, events, reached) = exec_through(
        &model_fault("every_calls = 1", "action = \"http_status\"\nstatus = 503"),
        vec![answer()],
        "request_max_retries = 2\n",
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert_eq!(reached, 0, "no request got through");
    let last = events.last().expect("events");
    assert_eq!(last["type"], "turn.failed", "{}", run.transcript());
    assert!(
        last["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("exceeded retry limit after 3 attempts")),
        "{last}"
    );
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn ten_thousand_calls_over_twenty_servers_lose_none() {
    use codex_integration_tests::load;
    let env = TestEnv::new();
    env.write_config(&load::config(&test_server_bin()));
    let calls = load::CALLS.to_string();
    let concurrency = load::CONCURRENCY.to_string();
    let (run, report, tagged) = chaos(
        &env,
        &load::plan(),
        &["--calls", &calls, "--concurrency", &concurrency],
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(report["calls"]["issued"], load::CALLS);
    assert_eq!(report["calls"]["unaccounted"], 0, "{}", report["calls"]);
    let fired = report["injected"].as_array().map_or(0, Vec::len)
        + report["skipped"].as_array().map_or(0, Vec::len);
    // About 1 % of 10,000.
    assert!((50..=160).contains(&fired), "{fired} faults");
    assert_eq!(report["leftover_processes"], 0);
    assert_eq!(tagged, 0);
    assert_eq!(report["leaked_fds"], 0);
    let servers = report["servers"].as_object().expect("servers");
    assert_eq!(servers.len(), load::SERVERS);
    assert!(
        servers.values().all(|s| s["state"] == "ready"),
        "{report:#}"
    );
}

#[test]
fn a_sandboxed_command_that_hangs_is_killed_at_its_timeout() {
    let env = TestEnv::new();
    env.write_config("sandbox_mode = \"workspace-write\"\n");
    let plan = "seed = 3\npace_ms = 50\n\
                [[workload]]\ncommand = [\"echo\", \"hi\"]\ntimeout_ms = 3000\n\
                [[fault]]\ntarget = \"sandbox\"\nwhen = { every_calls = 4 }\naction = \"hang\"\n";
    let started = std::time::Instant::now();
    let (run, report, tagged) = chaos(&env, plan, &["--calls", "8", "--concurrency", "2"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let issued = report["calls"]["issued"].as_u64().unwrap_or(0);
    assert_eq!(issued, 8, "{report:#}");
    let hung = report["injected"].as_array().map_or(0, Vec::len) as u64;
    assert_eq!(hung, issued / 4, "{report:#}");
    // Each hung command ends as an error at its timeout; the rest succeed.
    assert_eq!(report["calls"]["error"], hung, "{report:#}");
    assert_eq!(report["calls"]["ok"], issued - hung, "{report:#}");
    assert_eq!(report["calls"]["unaccounted"], 0);
    assert_eq!(
        (report["leftover_processes"].clone(), tagged),
        (Value::from(0), 0)
    );
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_endpoint_fails_the_turn_naming_the_timeout() {
    // The proxy takes every request and never answers: no header, no byte.
    let started = std::time::Instant::now();
    let (run, events, reached) = exec_through(
        &model_fault("every_calls = 1", "action = \"drop\""),
        vec![answer()],
        "stream_idle_timeout_ms = 400\nrequest_max_retries = 1\nstream_max_retries = 1\n",
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert_eq!(reached, 0);
    let errors = reconnects(&events);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("Reconnecting... 1/1") && errors[0].contains("no response"),
        "{errors:?}"
    );
    let last = events.last().expect("events");
    assert_eq!(last["type"], "turn.failed", "{}", run.transcript());
    let message = last["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("no response from the model endpoint within 0.4 s"),
        "{message}"
    );
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_first_byte_waits_up_to_the_idle_timeout_and_no_longer() {
    // Slower than nothing, faster than the timeout: no retry.
    let (run, events, _) = exec_through(
        &model_fault("every_calls = 1", "action = \"delay\"\ndelay_ms = 300"),
        vec![answer()],
        "stream_idle_timeout_ms = 3000\n",
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(reconnects(&events).is_empty(), "{}", run.transcript());
    // Slower than the timeout, once: one retry, then the answer.
    let (run, events, _) = exec_through(
        &model_fault("after_calls = 0", "action = \"delay\"\ndelay_ms = 6000"),
        vec![answer(), answer()],
        // Room for the retry's own first byte on a loaded machine.
        "stream_idle_timeout_ms = 2500\nrequest_max_retries = 2\n",
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    let errors = reconnects(&events);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("no response"), "{errors:?}");
    assert_eq!(events.last().expect("events")["type"], "turn.completed");
}

#[test]
fn the_report_counts_every_restart_every_time() {
    // A kill every 40 calls over 400 calls: the last at call 400, as the
    // load ends. The report must count each one, run after run. Calls that
    // find the server restarting wait for it, so every kill finds a live
    // process, however fast the calls come (an optimised build issues the
    // next 40 within a restart). Backoff is capped so ten restarts in a
    // row stay quick.
    let env = TestEnv::new();
    env.write_config(&format!(
        "{}restart_backoff_max_ms = 40\n",
        server_config(Transport::Stdio, None)
    ));
    let plan = "seed = 7\n[[workload]]\nserver = \"s\"\ntool = \"echo\"\nargs = { text = \"x\" }\n\
                [[fault]]\ntarget = \"s\"\nwhen = { every_calls = 40 }\naction = \"kill\"\n";
    for run_number in 0..6 {
        let (run, report, tagged) = chaos(&env, plan, &["--calls", "400", "--concurrency", "2"]);
        assert_eq!(run.code, 0, "run {run_number}: {}", run.transcript());
        let kills = report["injected"].as_array().map_or(0, |faults| {
            faults.iter().filter(|f| f["action"] == "kill").count()
        });
        assert_eq!(kills, 10, "run {run_number}: {report:#}");
        assert_eq!(report["skipped"], json!([]), "run {run_number}: {report:#}");
        assert_eq!(
            report["servers"]["s"]["restarts"], kills,
            "run {run_number}: {report:#}"
        );
        assert_eq!(
            report["servers"]["s"]["state"], "ready",
            "run {run_number}: {report:#}"
        );
        assert_eq!(tagged, 0);
    }
}
