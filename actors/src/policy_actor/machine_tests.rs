//! Transcript tests of the policy machine: a list of evaluations in, the
//! effects out, one per line.

use std::collections::BTreeSet;
use std::path::PathBuf;

use expect_test::{Expect, expect};

use super::*;
use crate::config::{Origin, resolve_server};
use crate::policy::{
    LaunchContext, Purpose, RequirementSource, Requirements, constrain_servers, parse_requirements,
};

const TWO: &str = "[a]\ncommand = \"/bin/sh\"\n[b]\ncommand = \"/bin/sh\"\nargs = [\"-e\"]\n";

fn requirements(text: &str) -> Requirements {
    let mut reqs = Requirements::none();
    if !text.is_empty() {
        let (layer, _) =
            parse_requirements(RequirementSource::EnvBase64, Origin::EnvVar("test"), text)
                .expect("requirements");
        reqs.push(layer);
    }
    reqs
}

fn evaluation(config: &str, requirements_text: &str) -> Evaluation {
    let table: toml::Table = config.parse().expect("toml");
    let configs = table
        .iter()
        .map(|(name, value)| (name.clone(), resolve_server(name, value).expect("server").0))
        .collect();
    let requirements = requirements(requirements_text);
    let ctx = LaunchContext {
        cwd: "/".into(),
        env: Default::default(),
    };
    Evaluation {
        servers: constrain_servers(configs, &requirements, &ctx, Purpose::Launch).into_inner(),
        requirements,
        locks: Vec::new(),
        watch: BTreeSet::from([PathBuf::from("/home/u/.codex/config.toml")]),
    }
}

fn render(effect: &Effect) -> String {
    match effect {
        Effect::Publish(snapshot) => format!("publish v{}", snapshot.version),
        Effect::Apply(apply) => {
            let verdicts: Vec<String> = apply
                .servers
                .iter()
                .map(|(name, server)| match &server.admission {
                    Admission::Allowed { .. } => format!("{name}=allowed"),
                    Admission::Disabled(_) => format!("{name}=disabled"),
                })
                .collect();
            format!(
                "apply v{} [{}] restart {:?}",
                apply.version,
                verdicts.join(" "),
                apply.restart
            )
        }
        Effect::Audit(event) => format!("audit {} allowed={}", event.server, event.allowed),
        Effect::Warn(message) => format!("warn {message}"),
        Effect::Watch(paths) => format!("watch {paths:?}"),
    }
}

#[track_caller]
fn check(inputs: Vec<Input>, expect: Expect) {
    let mut machine = Machine::resume(Arc::new(PolicySnapshot::closed()));
    let mut out = String::new();
    for input in inputs {
        let label = match &input {
            Input::Evaluated(_) => "evaluated".to_owned(),
            Input::LoadFailed { .. } => "load failed".to_owned(),
            Input::Restarted(verdict) => format!("restarted {}", verdict.server),
        };
        out.push_str(&format!("{label}\n"));
        for effect in machine.step(input) {
            out.push_str(&format!("  {}\n", render(&effect)));
        }
    }
    expect.assert_eq(&out);
}

#[test]
fn first_evaluation_publishes_audits_everything_and_orders() {
    check(
        vec![
            Input::Evaluated(Box::new(evaluation(TWO, ""))),
            Input::Evaluated(Box::new(evaluation(TWO, ""))),
        ],
        expect![[r#"
            evaluated
              watch {"/home/u/.codex/config.toml"}
              publish v1
              audit a allowed=true
              audit b allowed=true
              apply v1 [a=allowed b=allowed] restart {}
            evaluated
              apply v1 [a=allowed b=allowed] restart {}
        "#]],
    );
}

#[test]
fn tightening_disables_and_loosening_allows_again() {
    let only_a = "[mcp_server_allowlist.a]\ncommand = \"/bin/sh\"\n";
    check(
        vec![
            Input::Evaluated(Box::new(evaluation(TWO, ""))),
            Input::Evaluated(Box::new(evaluation(TWO, only_a))),
            Input::Evaluated(Box::new(evaluation(TWO, ""))),
        ],
        expect![[r#"
            evaluated
              watch {"/home/u/.codex/config.toml"}
              publish v1
              audit a allowed=true
              audit b allowed=true
              apply v1 [a=allowed b=allowed] restart {}
            evaluated
              publish v2
              audit a allowed=true
              audit b allowed=false
              apply v2 [a=allowed b=disabled] restart {"a"}
            evaluated
              publish v3
              audit a allowed=true
              audit b allowed=true
              apply v3 [a=allowed b=allowed] restart {"a"}
        "#]],
    );
}

#[test]
fn new_tool_rules_reach_a_running_server_without_a_restart() {
    let allow = "[mcp_server_allowlist.a]\ncommand = \"/bin/sh\"\n";
    let no_echo = "[mcp_server_allowlist.a]\ncommand = \"/bin/sh\"\ndisabled_tools = [\"echo\"]\n";
    check(
        vec![
            Input::Evaluated(Box::new(evaluation("[a]\ncommand = \"/bin/sh\"\n", allow))),
            Input::Evaluated(Box::new(evaluation(
                "[a]\ncommand = \"/bin/sh\"\n",
                no_echo,
            ))),
            // The user's own filter is not a launch change either.
            Input::Evaluated(Box::new(evaluation(
                "[a]\ncommand = \"/bin/sh\"\nenabled_tools = [\"add\"]\n",
                no_echo,
            ))),
        ],
        expect![[r#"
            evaluated
              watch {"/home/u/.codex/config.toml"}
              publish v1
              audit a allowed=true
              apply v1 [a=allowed] restart {}
            evaluated
              publish v2
              audit a allowed=true
              apply v2 [a=allowed] restart {}
            evaluated
              publish v3
              audit a allowed=true
              apply v3 [a=allowed] restart {}
        "#]],
    );
}

#[test]
fn a_changed_launch_restarts() {
    let plain = "[mcp_server_allowlist.a]\ncommand = \"/bin/sh\"\n";
    let sandboxed = "[mcp_server_allowlist.a]\ncommand = \"/bin/sh\"\nsandbox = \"read-only\"\n";
    check(
        vec![
            Input::Evaluated(Box::new(evaluation("[a]\ncommand = \"/bin/sh\"\n", plain))),
            Input::Evaluated(Box::new(evaluation(
                "[a]\ncommand = \"/bin/sh\"\n",
                sandboxed,
            ))),
            Input::Evaluated(Box::new(evaluation(
                "[a]\ncommand = \"/bin/sh\"\ntool_timeout_sec = 5\n",
                sandboxed,
            ))),
        ],
        expect![[r#"
            evaluated
              watch {"/home/u/.codex/config.toml"}
              publish v1
              audit a allowed=true
              apply v1 [a=allowed] restart {}
            evaluated
              publish v2
              audit a allowed=true
              apply v2 [a=allowed] restart {"a"}
            evaluated
              publish v3
              audit a allowed=true
              apply v3 [a=allowed] restart {"a"}
        "#]],
    );
}

#[test]
fn a_failed_load_keeps_the_last_good_policy() {
    let mut machine = Machine::resume(Arc::new(PolicySnapshot::closed()));
    machine.step(Input::Evaluated(Box::new(evaluation(TWO, ""))));
    let before = Arc::clone(machine.current());
    let effects = machine.step(Input::LoadFailed {
        message: "requirements.toml:3:1: expected `=`".to_owned(),
    });
    assert_eq!(
        effects,
        vec![Effect::Warn(
            "requirements.toml:3:1: expected `=`".to_owned()
        )]
    );
    assert_eq!(machine.current(), &before);
}

#[test]
fn restart_verdicts_are_recorded_when_they_differ() {
    let first = evaluation(TWO, "");
    let a = first.servers["a"].clone();
    let refused = Admission::Disabled(crate::policy::DisabledReason::NotLoaded);
    check(
        vec![
            Input::Evaluated(Box::new(first)),
            Input::Restarted(Box::new(RestartVerdict {
                server: "a".to_owned(),
                server_config: a.config.clone(),
                admission: a.admission.clone(),
            })),
            Input::Restarted(Box::new(RestartVerdict {
                server: "a".to_owned(),
                server_config: a.config.clone(),
                admission: refused.clone(),
            })),
            // A verdict for a config the policy no longer holds is stale.
            Input::Restarted(Box::new(RestartVerdict {
                server: "a".to_owned(),
                server_config: crate::config::McpServerConfig {
                    required: true,
                    ..a.config
                },
                admission: a.admission,
            })),
        ],
        expect![[r#"
            evaluated
              watch {"/home/u/.codex/config.toml"}
              publish v1
              audit a allowed=true
              audit b allowed=true
              apply v1 [a=allowed b=allowed] restart {}
            restarted a
            restarted a
              publish v2
              audit a allowed=false
            restarted a
        "#]],
    );
}

#[test]
fn an_odd_name_disables_only_that_server() {
    check(
        vec![Input::Evaluated(Box::new(evaluation(
            "[\"my.server\"]\ncommand = \"/bin/sh\"\n[ok]\ncommand = \"/bin/sh\"\n",
            "",
        )))],
        expect![[r#"
            evaluated
              watch {"/home/u/.codex/config.toml"}
              publish v1
              audit my.server allowed=false
              audit ok allowed=true
              apply v1 [my.server=disabled ok=allowed] restart {}
        "#]],
    );
}

#[test]
fn a_requirements_file_read_empty_mid_rewrite_loosens_nothing() {
    let mut machine = Machine::resume(Arc::new(PolicySnapshot::closed()));
    let allow_a = "[mcp_server_allowlist.a]\ncommand = \"/bin/sh\"\n";
    machine.step(Input::Evaluated(Box::new(evaluation(TWO, allow_a))));
    let before = Arc::clone(machine.current());
    assert!(matches!(
        before.servers["b"].admission,
        crate::policy::Admission::Disabled(_)
    ));
    // The same source, read while truncated: an empty layer.
    let mut emptied = evaluation(TWO, "");
    let (layer, _) = parse_requirements(RequirementSource::EnvBase64, Origin::EnvVar("test"), "")
        .expect("an empty document parses");
    emptied.requirements.push(layer);
    let effects = machine.step(Input::Evaluated(Box::new(emptied)));
    assert!(
        matches!(effects.as_slice(), [Effect::Warn(message)] if message.contains("is empty")),
        "{effects:?}"
    );
    assert_eq!(machine.current(), &before, "b stays disabled");
    // Removing the source does drop its requirements.
    machine.step(Input::Evaluated(Box::new(evaluation(TWO, ""))));
    assert!(matches!(
        machine.current().servers["b"].admission,
        crate::policy::Admission::Allowed { .. }
    ));
}
