//! `codex demo`: the README's main command, offline, end to end.

use codex_integration_tests::TestEnv;
use serde_json::Value;

#[test]
fn the_demo_runs_every_step_and_says_what_happened() {
    let env = TestEnv::new();
    let run = env.codex(&["demo"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let mut settings = insta::Settings::clone_current();
    for (pattern, replacement) in [
        (r"/[^ ]*codex-demo-[A-Za-z0-9]+", "[DEMO]"),
        (r"pid \d+", "pid [PID]"),
        (r"\d+\.\d+ ?s\b", "[T]s"),
        (r"\d+ ms", "[T] ms"),
    ] {
        settings.add_filter(pattern, replacement);
    }
    settings.bind(|| insta::assert_snapshot!("demo_text", run.transcript()));
}

#[test]
fn the_demo_record_is_machine_readable() {
    let env = TestEnv::new();
    let run = env.codex(&["demo", "--json"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let record: Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(record["ok"], true);
    let steps: Vec<&str> = record["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["step"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(steps, ["admission", "start", "turn", "restart", "policy"]);
    let step = |name: &str| {
        record["steps"]
            .as_array()
            .and_then(|steps| steps.iter().find(|s| s["step"] == name))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let shady = step("admission")["servers"]
        .as_array()
        .and_then(|servers| servers.iter().find(|s| s["server"] == "shady"))
        .cloned()
        .expect("shady");
    assert_eq!(shady["state"], "disabled");
    assert!(
        shady["reason"]
            .as_str()
            .is_some_and(|r| r.ends_with("\"shady\" is not in the allowlist")),
        "{shady}"
    );
    let turn = step("turn");
    assert_eq!(turn["write_blocked"], true, "{turn:#}");
    assert_eq!(turn["requests"], 2);
    let restart = step("restart");
    assert_ne!(restart["old_pid"], restart["new_pid"]);
    assert_eq!(restart["tools"], 8);
    // The demo's temporary home is gone, and so is every process.
    let home = record["home"].as_str().expect("home");
    assert!(
        !std::path::Path::new(home).exists(),
        "{home} was left behind"
    );
}
