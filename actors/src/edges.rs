//! Property tests over every parser of outside text and every number read
//! from config or plans: whatever the input, each returns a value or a
//! located error, never panics, and no duration it accepts is past
//! [`MAX_DURATION`] (so no deadline arithmetic downstream can overflow).

use proptest::prelude::*;

use crate::chaos::FaultPlan;
use crate::config::{LoadOptions, MAX_DURATION, Origin, load_config};
use crate::policy::{LockOrigin, RequirementSource, ToolLock, parse_requirements};

/// Numbers as TOML spells them, from ordinary to absurd.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| format!("{f:?}")),
        Just("inf".to_owned()),
        Just("-inf".to_owned()),
        Just("nan".to_owned()),
        Just("1e300".to_owned()),
        Just("1e19".to_owned()),
        Just("18446744073709551615".to_owned()),
        Just("-1".to_owned()),
        Just("0".to_owned()),
        Just("0.0001".to_owned()),
    ]
}

/// Every numeric key of a server, a provider and the top level.
const SERVER_KEYS: [&str; 7] = [
    "startup_timeout_sec",
    "startup_timeout_ms",
    "tool_timeout_sec",
    "restart_window_sec",
    "restart_backoff_ms",
    "restart_backoff_max_ms",
    "max_restarts",
];
const PROVIDER_KEYS: [&str; 3] = [
    "request_max_retries",
    "stream_max_retries",
    "stream_idle_timeout_ms",
];
const TOP_KEYS: [&str; 3] = [
    "watch_debounce_ms",
    "mcp_oauth_callback_port",
    "mcp_server_approval_timeout_sec",
];
const PLAN_KEYS: [&str; 3] = ["ping_interval_ms", "ping_timeout_ms", "pace_ms"];

fn load(text: &str) -> Result<crate::config::ConfigSnapshot, crate::config::ConfigError> {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("config.toml"), text).expect("write");
    load_config(&LoadOptions {
        codex_home: dir.path().to_owned(),
        cwd: dir.path().to_owned(),
        overrides: Vec::new(),
        user_config: true,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn config_numbers_are_bounded_or_refused(
        key in 0..SERVER_KEYS.len() + PROVIDER_KEYS.len() + TOP_KEYS.len(),
        value in number(),
    ) {
        let text = if key < SERVER_KEYS.len() {
            format!("[mcp_servers.s]\ncommand = \"x\"\n{} = {value}\n", SERVER_KEYS[key])
        } else if key < SERVER_KEYS.len() + PROVIDER_KEYS.len() {
            format!(
                "[model_providers.p]\nbase_url = \"http://h\"\n{} = {value}\n",
                PROVIDER_KEYS[key - SERVER_KEYS.len()]
            )
        } else {
            format!("{} = {value}\n", TOP_KEYS[key - SERVER_KEYS.len() - PROVIDER_KEYS.len()])
        };
        match load(&text) {
            Ok(snapshot) => {
                if let Some(server) = snapshot.mcp_servers.get("s") {
                    for duration in [
                        server.startup_timeout,
                        server.tool_timeout,
                        Some(server.restart.window),
                        Some(server.restart.backoff_initial),
                        Some(server.restart.backoff_max),
                    ]
                    .into_iter()
                    .flatten()
                    {
                        prop_assert!(duration <= MAX_DURATION, "{text}: {duration:?}");
                    }
                }
                for provider in snapshot.model.providers.values() {
                    if let Some(idle) = provider.stream_idle_timeout {
                        prop_assert!(idle <= MAX_DURATION, "{text}");
                    }
                }
                if let Some(timeout) = snapshot.mcp_server_approval_timeout {
                    prop_assert!(timeout <= MAX_DURATION, "{text}: {timeout:?}");
                }
            }
            Err(err) => prop_assert!(err.to_string().contains(':'), "unlocated: {err}"),
        }
    }

    #[test]
    fn plan_numbers_are_bounded_or_refused(
        key in 0..PLAN_KEYS.len() + 4,
        value in number(),
    ) {
        let text = match key {
            k if k < PLAN_KEYS.len() => format!("{} = {value}\n", PLAN_KEYS[k]),
            k if k == PLAN_KEYS.len() => format!(
                "[[workload]]\ncommand = [\"true\"]\ntimeout_ms = {value}\n"
            ),
            k if k == PLAN_KEYS.len() + 1 => format!(
                "[[fault]]\ntarget = \"stdio\"\nwhen = {{ at_ms = {value} }}\naction = \"exit\"\n"
            ),
            k if k == PLAN_KEYS.len() + 2 => format!(
                "[[fault]]\ntarget = \"model\"\nwhen = {{ every_calls = 1 }}\naction = \"delay\"\ndelay_ms = {value}\n"
            ),
            _ => format!(
                "[[fault]]\ntarget = \"model\"\nwhen = {{ probability = {value} }}\naction = \"drop\"\n"
            ),
        };
        match FaultPlan::parse("plan.toml", &text) {
            Ok(plan) => {
                for duration in [plan.ping_interval, plan.ping_timeout, plan.pace]
                    .into_iter()
                    .flatten()
                {
                    prop_assert!(duration <= MAX_DURATION, "{text}");
                }
            }
            Err(err) => prop_assert!(err.to_string().starts_with("plan.toml:"), "{err}"),
        }
    }

    #[test]
    fn no_parser_panics_on_any_text(text in any::<String>()) {
        let _ = parse_requirements(RequirementSource::EnvBase64, Origin::EnvVar("fuzz"), &text);
        let _ = FaultPlan::parse("fuzz", &text);
        let _ = ToolLock::parse(
            LockOrigin::User { path: "fuzz".into(), allow_new: false },
            &text,
        );
        let _ = crate::rollout::parse_rollout(text.as_bytes());
        let _ = crate::apply_patch::parse_patch(&text);
        let _ = crate::policy::command_rules::parse_script(&text);
        let _ = crate::model_stream::parse_responses_event(&text);
        let _ = load(&text);
    }

    #[test]
    fn no_parser_panics_on_toml_shaped_text(
        lines in proptest::collection::vec(
            (
                prop_oneof![
                    Just("[mcp_servers.a]"), Just("[mcp_server_allowlist.a]"), Just("[[fault]]"),
                    Just("[[workload]]"), Just("[rules]"), Just("[profiles.p]"), Just(""),
                ],
                "[a-z_]{1,20}",
                prop_oneof![number(), Just("\"x\"".to_owned()), Just("[]".to_owned()),
                    Just("{}".to_owned()), Just("true".to_owned())],
            ),
            0..12,
        ),
    ) {
        let text: String = lines
            .iter()
            .map(|(table, key, value)| format!("{table}\n{key} = {value}\n"))
            .collect();
        let _ = parse_requirements(RequirementSource::EnvBase64, Origin::EnvVar("fuzz"), &text);
        let _ = FaultPlan::parse("fuzz", &text);
        let _ = load(&text);
    }
}
