//! Every input the fuzzers once crashed on (and the seed examples), kept
//! under `fuzz/regressions/TARGET/` and run through the same parser as the
//! fuzz target of that name: none may panic again.

use std::path::PathBuf;

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions")
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|entry| {
            let path = entry.path();
            let bytes = std::fs::read(&path).expect("a regression input");
            (path, bytes)
        })
        .collect()
}

fn text(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes).ok()
}

#[test]
fn no_regression_input_panics() {
    for (_, bytes) in inputs("config") {
        if let Some(text) = text(&bytes) {
            let mut parts = text.split('\0');
            let file = parts.next().unwrap_or_default();
            let overrides: Vec<crate::config::ConfigOverride> =
                parts.filter_map(|raw| raw.parse().ok()).collect();
            let _ = crate::config::parse_config(file, &overrides);
        }
    }
    for (_, bytes) in inputs("toml_tree") {
        if let Some(text) = text(&bytes) {
            crate::config::tree_law::same_as_toml(text);
        }
    }
    for (_, bytes) in inputs("requirements") {
        if let Some(text) = text(&bytes) {
            let _ = crate::policy::parse_requirements(
                crate::policy::RequirementSource::EnvBase64,
                crate::config::Origin::EnvVar("regression"),
                text,
            );
        }
    }
    for (_, bytes) in inputs("fault_plan") {
        if let Some(plan) = text(&bytes).and_then(|t| crate::chaos::FaultPlan::parse("r", t).ok()) {
            let _ = plan.check(&Default::default());
        }
    }
    for (_, bytes) in inputs("model_stream") {
        if let Some(text) = text(&bytes) {
            let mut chat = crate::model_stream::ChatAccumulator::default();
            for line in text.split('\n') {
                let _ = crate::model_stream::parse_responses_event(line);
                let _ = chat.feed(line);
            }
        }
    }
    for (_, bytes) in inputs("apply_patch") {
        if let Some(text) = text(&bytes) {
            let _ = crate::apply_patch::parse_patch(text);
        }
    }
    for (_, bytes) in inputs("rollout") {
        if let Ok(rollout) = crate::rollout::parse_rollout(&bytes) {
            let _ = crate::rollout::resume_history(&rollout);
        }
    }
    for (_, bytes) in inputs("oauth_discovery") {
        if let Some(text) = text(&bytes) {
            use codex_transports::oauth::{AuthServer, Challenge, ProtectedResource};
            let (header, body) = text.split_once('\n').unwrap_or((text, ""));
            let _ = Challenge::parse(header);
            if let Ok(doc) = serde_json::from_str::<serde_json::Value>(body) {
                let _ = ProtectedResource::from_document(&doc, "https://h/mcp", "https://h/prm");
                let _ = AuthServer::from_document(&doc, "https://h", "https://h/as");
            }
        }
    }
}

#[test]
fn the_seed_examples_parse() {
    let config = inputs("config");
    assert!(
        !config.is_empty(),
        "fuzz/regressions/config has the example"
    );
    for (path, bytes) in config {
        let text = text(&bytes).expect("UTF-8");
        crate::config::parse_config(text, &[])
            .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    }
}
