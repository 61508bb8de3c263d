//! The official MCP conformance suite (`@modelcontextprotocol/conformance`
//! 0.1.16, client mode) against `codex debug conformance-client`, one test
//! per applicable scenario. The `auth/*` scenarios are not applicable: the
//! runtime has no OAuth yet (see CONFORMANCE.md).
//!
//! The suite runs under Node 22 from `scripts/install-test-deps.sh`; see
//! [`McpDeps::locate`] for what happens when it is missing.

use std::io::Write as _;
use std::process::Stdio;
use std::time::Duration;

use codex_integration_tests::{McpDeps, TestEnv, codex_bin};
use serde_json::Value;
use tokio::process::Command;

/// The suite's limit for our client, in milliseconds (its default is 30 s).
const CLIENT_TIMEOUT_MS: u32 = 60_000;
/// The whole suite run, start-up included.
const SUITE_TIMEOUT: Duration = Duration::from_secs(180);

/// The check that grades reconnection timing in `sse-retry`: reconnecting
/// more than 200 ms after the server's 500 ms `retry` is a warning, which
/// fails the run. On two busy cores that can happen to a correct client, so
/// a late (never an early) reconnection gets one more run.
const SSE_RETRY_TIMING: &str = "client-sse-retry-timing";

#[tokio::test]
async fn initialize() {
    check("initialize").await;
}

#[tokio::test]
async fn tools_call() {
    check("tools_call").await;
}

#[tokio::test]
async fn elicitation_sep1034_client_defaults() {
    check("elicitation-sep1034-client-defaults").await;
}

#[tokio::test]
async fn sse_retry() {
    check("sse-retry").await;
}

/// Runs `scenario` and asserts that the suite passed it.
async fn check(scenario: &str) {
    let Some(deps) = McpDeps::locate(&format!("conformance {scenario}")) else {
        return;
    };
    let first = run_suite(&deps, scenario).await;
    let outcome = if !first.passed() && first.only_late_reconnection() {
        // Straight to the stderr handle: the harness hides `eprintln!` of
        // passing tests, and a retry must never be silent.
        let _ = writeln!(
            std::io::stderr(),
            "conformance {scenario}: reconnection was late on a busy machine, running once more\n{}",
            first.report()
        );
        run_suite(&deps, scenario).await
    } else {
        first
    };
    assert!(
        outcome.passed(),
        "conformance scenario {scenario} failed\n{}",
        outcome.report()
    );
}

/// One run of the suite for one scenario.
#[derive(Debug)]
struct Outcome {
    success: bool,
    output: String,
    checks: Vec<Value>,
}

impl Outcome {
    /// The suite exited 0, printed its verdict, and every graded check
    /// succeeded.
    fn passed(&self) -> bool {
        self.success
            && self.output.contains("OVERALL: PASSED")
            && self.checks.iter().any(|c| status(c) == "SUCCESS")
            && self.failing().next().is_none()
    }

    fn failing(&self) -> impl Iterator<Item = &Value> {
        self.checks
            .iter()
            .filter(|c| matches!(status(c), "FAILURE" | "WARNING"))
    }

    fn only_late_reconnection(&self) -> bool {
        let failing: Vec<&Value> = self.failing().collect();
        failing.len() == 1
            && failing[0]["id"] == SSE_RETRY_TIMING
            && failing[0]["details"]["tooEarly"] == false
    }

    fn report(&self) -> String {
        let failing: Vec<String> = self.failing().map(Value::to_string).collect();
        format!(
            "failing checks: {failing:#?}\n--- suite output\n{}",
            self.output
        )
    }
}

fn status(check: &Value) -> &str {
    check["status"].as_str().unwrap_or_default()
}

async fn run_suite(deps: &McpDeps, scenario: &str) -> Outcome {
    let env = TestEnv::new();
    let codex = codex_bin();
    let codex = codex.to_str().expect("UTF-8 path to codex");
    // The suite splits --command on spaces and runs it through a shell.
    assert!(
        !codex.contains(char::is_whitespace),
        "the suite cannot run a command whose path has spaces: {codex}"
    );
    let results = env.root().join("results");
    let mut path = std::ffi::OsString::from(deps.node_bin_dir());
    path.push(":");
    path.push(std::env::var_os("PATH").unwrap_or_default());
    let child = Command::new(deps.node())
        .arg(deps.conformance())
        .args(["client", "--command"])
        .arg(format!("{codex} debug conformance-client"))
        .args(["--scenario", scenario])
        .args(["--timeout", &CLIENT_TIMEOUT_MS.to_string()])
        .arg("--output-dir")
        .arg(&results)
        .env_clear()
        .env("PATH", path)
        .env("HOME", env.root().join("home"))
        .env("CODEX_HOME", env.codex_home())
        .env("RUST_BACKTRACE", "0")
        .current_dir(env.work_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the conformance suite");
    let output = tokio::time::timeout(SUITE_TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("the conformance suite ran longer than {SUITE_TIMEOUT:?}"))
        .expect("wait for the conformance suite");
    let text = format!(
        "exit: {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Outcome {
        success: output.status.success(),
        checks: saved_checks(&results, &text),
        output: text,
    }
}

/// The `checks.json` the suite saved under `results/<scenario>-<time>/`.
fn saved_checks(results: &std::path::Path, output: &str) -> Vec<Value> {
    let dirs: Vec<_> = std::fs::read_dir(results)
        .unwrap_or_else(|e| panic!("{}: {e}\n{output}", results.display()))
        .map(|entry| entry.expect("read results dir").path())
        .collect();
    assert_eq!(
        dirs.len(),
        1,
        "one result folder expected: {dirs:?}\n{output}"
    );
    let text = std::fs::read_to_string(dirs[0].join("checks.json"))
        .unwrap_or_else(|e| panic!("checks.json: {e}\n{output}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("checks.json: {e}\n{text}"))
}
