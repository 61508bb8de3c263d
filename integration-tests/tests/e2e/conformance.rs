//! The official MCP conformance suite (`@modelcontextprotocol/conformance`
//! 0.2.0-alpha.12, client mode) against `codex debug conformance-client`:
//! every client scenario of the 2025-11-25 and 2026-07-28 requirement
//! sets, auth included, each on the wire it belongs to (and
//! `json-schema-2020-12-preservation`, which is in neither set yet, on
//! both). Extensions are not scored by the suite and not run here. Results
//! and reasons are in CONFORMANCE.md.
//!
//! The suite runs under Node 22 from `scripts/install-test-deps.sh`; see
//! [`McpDeps::locate`] for what happens when it is missing.

use std::process::Stdio;
use std::time::Duration;

use codex_integration_tests::{McpDeps, TestEnv, codex_bin};
use serde_json::Value;
use tokio::process::Command;

/// The suite's limit for our client, in milliseconds (its default is 30 s).
const CLIENT_TIMEOUT_MS: u32 = 60_000;
/// One suite run, start-up included.
const SUITE_TIMEOUT: Duration = Duration::from_secs(120);

/// The wire a scenario is run on.
const WIRE_2025: Option<&str> = None;
const WIRE_2026: Option<&str> = Some("2026-07-28");

/// The 2025-11-25 requirement set (plus the preservation scenario).
const SCENARIOS_2025: [&str; 5] = [
    "initialize",
    "tools_call",
    "elicitation-sep1034-client-defaults",
    "sse-retry",
    "json-schema-2020-12-preservation",
];
const AUTH_2025: [&str; 14] = [
    "auth/metadata-default",
    "auth/metadata-var1",
    "auth/metadata-var2",
    "auth/metadata-var3",
    "auth/basic-cimd",
    "auth/scope-from-www-authenticate",
    "auth/scope-from-scopes-supported",
    "auth/scope-omitted-when-undefined",
    "auth/scope-step-up",
    "auth/scope-retry-limit",
    "auth/token-endpoint-auth-basic",
    "auth/token-endpoint-auth-post",
    "auth/token-endpoint-auth-none",
    "auth/pre-registration",
];
/// The 2026-07-28 requirement set (plus the preservation scenario).
const SCENARIOS_2026: [&str; 8] = [
    "tools_call",
    "request-metadata",
    "sep-2322-client-request-state",
    "http-standard-headers",
    "http-custom-headers",
    "http-invalid-tool-headers",
    "json-schema-ref-no-deref",
    "json-schema-2020-12-preservation",
];
const AUTH_2026_ONLY: [&str; 11] = [
    "auth/resource-mismatch",
    "auth/offline-access-scope",
    "auth/offline-access-not-supported",
    "auth/authorization-server-migration",
    "auth/iss-supported",
    "auth/iss-not-advertised",
    "auth/iss-supported-missing",
    "auth/iss-wrong-issuer",
    "auth/iss-unexpected",
    "auth/iss-normalized",
    "auth/metadata-issuer-mismatch",
];

#[tokio::test]
async fn scenarios_of_2025_11_25() {
    check_all(&SCENARIOS_2025, WIRE_2025).await;
}

#[tokio::test]
async fn auth_scenarios_of_2025_11_25() {
    check_all(&AUTH_2025, WIRE_2025).await;
}

#[tokio::test]
async fn scenarios_of_2026_07_28() {
    check_all(&SCENARIOS_2026, WIRE_2026).await;
}

#[tokio::test]
async fn auth_scenarios_of_2026_07_28() {
    let all: Vec<&str> = AUTH_2025.iter().chain(&AUTH_2026_ONLY).copied().collect();
    check_all(&all, WIRE_2026).await;
}

/// Runs every scenario on `wire` and asserts that the suite passed each,
/// reporting every failure at once.
async fn check_all(scenarios: &[&str], wire: Option<&str>) {
    let Some(deps) = McpDeps::locate(&format!("conformance {scenarios:?}")) else {
        return;
    };
    let mut failures = Vec::new();
    for scenario in scenarios {
        let outcome = run_suite(&deps, scenario, wire).await;
        if !outcome.passed() {
            failures.push(format!(
                "{scenario} ({}):\n{}",
                wire.unwrap_or("2025-11-25"),
                outcome.report()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
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
    /// succeeded (INFO and SKIPPED are not grades).
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

async fn run_suite(deps: &McpDeps, scenario: &str, wire: Option<&str>) -> Outcome {
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
    let mut command = Command::new(deps.node());
    command
        .arg(deps.conformance())
        .args(["client", "--command"])
        .arg(format!("{codex} debug conformance-client"))
        .args(["--scenario", scenario])
        .args(["--timeout", &CLIENT_TIMEOUT_MS.to_string()]);
    if let Some(wire) = wire {
        command.args(["--spec-version", wire]);
    }
    let child = command
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
    assert!(
        !text.contains("SKIPPED: scenario"),
        "the suite skipped {scenario} on {wire:?}: a scenario must never be skipped silently\n{text}"
    );
    Outcome {
        success: output.status.success(),
        checks: saved_checks(&results, scenario, &text),
        output: text,
    }
}

/// The `checks.json` the suite saved under `results/<scenario>-<time>/`
/// (`results/auth/<name>-<time>/` for `auth/<name>`).
fn saved_checks(results: &std::path::Path, scenario: &str, output: &str) -> Vec<Value> {
    let parent = match scenario.split_once('/') {
        Some((folder, _)) => results.join(folder),
        None => results.to_owned(),
    };
    let dirs: Vec<_> = std::fs::read_dir(&parent)
        .unwrap_or_else(|e| panic!("{}: {e}\n{output}", parent.display()))
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
