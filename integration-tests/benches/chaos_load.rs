//! The load figure of `codex debug chaos`: 10,000 tool calls over 20 stdio
//! servers, concurrency 20, about 1 % of calls hit by a fault (kill, drop,
//! corrupt, delay). Prints the wall time of the workload and the calls per
//! second, for `BENCHMARKS.md`.
//!
//! A custom harness (`harness = false`). Under `cargo bench` (which passes
//! `--bench`) it runs the full scenario three times; otherwise
//! (`cargo test --all-targets`) it runs 200 calls once as a smoke test.
//! Uses the `codex` and `codex-test-mcp-server` binaries of the bench's
//! profile, building them when missing.

use codex_integration_tests::TestEnv;
use codex_integration_tests::bench::{load_average, profile_bin};
use codex_integration_tests::load;
use serde_json::Value;

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    profile_bin("codex-cli", "codex");
    let server = profile_bin("codex-test-mcp-server", "codex-test-mcp-server");
    let (calls, runs) = if full { (load::CALLS, 3) } else { (200, 1) };
    println!(
        "chaos load: {calls} calls over {} servers, concurrency {}, ~1 % faults; load average {}",
        load::SERVERS,
        load::CONCURRENCY,
        load_average()
    );
    for run in 1..=runs {
        let env = TestEnv::new();
        env.write_config(&load::config(&server));
        let plan = env.write_file("plan.toml", &load::plan());
        let plan = plan.display().to_string();
        let calls_arg = calls.to_string();
        let concurrency = load::CONCURRENCY.to_string();
        // `env.command` runs the `codex` of this bench's profile (built
        // above when it was missing).
        let output = env
            .command(&[
                "debug",
                "chaos",
                "--json",
                "--plan",
                &plan,
                "--calls",
                &calls_arg,
                "--concurrency",
                &concurrency,
            ])
            .output()
            .expect("run codex debug chaos");
        let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
            panic!(
                "no report ({err}): {}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
        let wall_ms = report["wall_ms"].as_u64().unwrap_or(0);
        let rate = if wall_ms > 0 {
            calls as f64 / (wall_ms as f64 / 1000.0)
        } else {
            0.0
        };
        println!(
            "run {run}: wall {:.2} s, {rate:.0} calls/s, calls {}, injected {}, skipped {}, leftover {}, leaked fds {}",
            wall_ms as f64 / 1000.0,
            report["calls"],
            report["injected"].as_array().map_or(0, Vec::len),
            report["skipped"].as_array().map_or(0, Vec::len),
            report["leftover_processes"],
            report["leaked_fds"],
        );
        assert_eq!(report["calls"]["unaccounted"], 0);
    }
}
