//! Transcript tests of the session machine: inputs in, effects out, one
//! per line, and the statuses after.

use std::collections::BTreeMap;
use std::time::Duration;

use codex_runtime::ChildId;
use expect_test::{Expect, expect};

use super::*;
use crate::config::resolve_server;
use crate::policy::{DisabledReason, LaunchContext, Purpose, Requirements, constrain_servers};

fn servers(config: &str) -> crate::policy::McpServers {
    let table: toml::Table = config.parse().expect("toml");
    let configs = table
        .iter()
        .map(|(name, value)| (name.clone(), resolve_server(name, value).expect("server").0))
        .collect();
    let ctx = LaunchContext {
        cwd: "/".into(),
        env: Default::default(),
    };
    constrain_servers(configs, &Requirements::none(), &ctx, Purpose::Launch).into_inner()
}

fn apply(version: u64, servers: crate::policy::McpServers, restart: &[&str]) -> Input {
    Input::Apply(Apply {
        version,
        servers,
        restart: restart.iter().map(|s| (*s).to_owned()).collect(),
        pinned: Default::default(),
    })
}

fn disable(mut servers: crate::policy::McpServers, name: &str) -> crate::policy::McpServers {
    if let Some(server) = servers.get_mut(name) {
        server.admission = Admission::Disabled(DisabledReason::ByUser);
    }
    servers
}

fn ready(server: &str, incarnation: u64) -> Input {
    Input::Server(ServerEvent::Ready {
        server: server.to_owned(),
        incarnation,
        tools: Vec::new(),
        withheld: Vec::new(),
        elapsed: Duration::from_millis(5),
        pid: Some(100 + incarnation as u32),
        protocol_version: None,
    })
}

fn failed(server: &str, failure: ServerFailure) -> Input {
    Input::Server(ServerEvent::Failed {
        server: server.to_owned(),
        incarnation: 2,
        failure,
    })
}

fn render(effect: &Effect) -> String {
    match effect {
        Effect::Publish(SessionEvent::Server(event)) => match event {
            ServerEvent::Ready { server, .. } => format!("publish {server} ready"),
            ServerEvent::Failed { server, .. } => format!("publish {server} failed"),
            other => format!("publish {other:?}"),
        },
        Effect::Publish(SessionEvent::ServerStopped { server, reason }) => {
            format!("publish {server} stopped: {reason}")
        }
        Effect::Publish(SessionEvent::ServerGaveUp { server, reason }) => {
            format!("publish {server} gave up: {reason}")
        }
        Effect::Publish(SessionEvent::PolicyApplied { version }) => {
            format!("publish policy v{version} applied")
        }
        Effect::Publish(other) => format!("publish {other:?}"),
        Effect::Start { server, child, .. } => format!("start {server} as {}", child.as_str()),
        Effect::Stop { child } => format!("stop {}", child.as_str()),
        Effect::Audit(entry) => format!("audit {entry:?}"),
        Effect::Wake(waiter) => format!("wake {waiter}"),
    }
}

fn state(status: &ServerStatus) -> String {
    match &status.state {
        ServerState::Disabled(reason) => format!("disabled ({reason})"),
        ServerState::Starting => "starting".to_owned(),
        ServerState::Ready { .. } => "ready".to_owned(),
        ServerState::Restarting { .. } => "restarting".to_owned(),
        ServerState::Failed(reason) => format!("failed ({reason})"),
        ServerState::Lazy => "lazy".to_owned(),
    }
}

#[track_caller]
fn check(inputs: Vec<Input>, expect: Expect) {
    let mut machine = Machine::new();
    let mut out = String::new();
    for input in inputs {
        for effect in machine.step(input) {
            out.push_str(&format!("{}\n", render(&effect)));
        }
        let statuses: Vec<String> = machine
            .statuses()
            .iter()
            .map(|s| format!("{}={}", s.name, state(s)))
            .collect();
        out.push_str(&format!("  [{}]\n", statuses.join(" ")));
    }
    expect.assert_eq(&out);
}

const TWO: &str = "[a]\ncommand = \"/bin/sh\"\n[b]\ncommand = \"/bin/sh\"\n";

#[test]
fn orders_start_stop_and_restart_servers() {
    let edited = "[a]\ncommand = \"/bin/sh\"\nargs = [\"-e\"]\n[b]\ncommand = \"/bin/sh\"\n";
    check(
        vec![
            apply(1, servers(TWO), &[]),
            Input::Await {
                waiter: 1,
                mode: Settled::Final,
            },
            ready("a", 1),
            ready("b", 1),
            // The policy stops `b`; nothing restarts `a`.
            apply(2, disable(servers(TWO), "b"), &[]),
            // `a`'s launch changed: a new subtree, under a new id.
            apply(3, disable(servers(edited), "b"), &[]),
            // The policy says `a` must launch differently although its
            // config did not change (a new search path, say).
            apply(4, disable(servers(edited), "b"), &["a"]),
            // `b` allowed again, `a` removed from config.
            apply(5, servers("[b]\ncommand = \"/bin/sh\"\n"), &[]),
        ],
        expect![[r#"
            start a as mcp:1
            start b as mcp:2
            publish policy v1 applied
              [a=starting b=starting]
              [a=starting b=starting]
            publish a ready
              [a=ready b=starting]
            publish b ready
            wake 1
              [a=ready b=ready]
            stop mcp:2
            publish b stopped: disabled in config (enabled = false)
            publish policy v2 applied
              [a=ready b=disabled (disabled in config (enabled = false))]
            stop mcp:1
            publish a stopped: its config or admitted launch changed
            start a as mcp:3
            publish policy v3 applied
              [a=starting b=disabled (disabled in config (enabled = false))]
            stop mcp:3
            publish a stopped: its config or admitted launch changed
            start a as mcp:4
            publish policy v4 applied
              [a=starting b=disabled (disabled in config (enabled = false))]
            stop mcp:4
            publish a stopped: removed from config
            start b as mcp:5
            publish policy v5 applied
              [b=starting]
        "#]],
    );
}

#[test]
fn a_refused_restart_shows_disabled_and_stops_trying() {
    check(
        vec![
            apply(1, servers("[a]\ncommand = \"/bin/sh\"\n"), &[]),
            ready("a", 1),
            failed(
                "a",
                ServerFailure::NotAdmitted(DisabledReason::InvalidName {
                    name: "a".to_owned(),
                }),
            ),
            // The supervisor's own report of the refused start comes later
            // and changes nothing.
            Input::Subtree {
                child: ChildId::new("mcp:1"),
                news: Subtree::StartRefused("not admitted".to_owned()),
            },
        ],
        expect![[r#"
            start a as mcp:1
            publish policy v1 applied
              [a=starting]
            publish a ready
              [a=ready]
            stop mcp:1
            publish a failed
              [a=disabled (invalid server name "a": names use only letters, digits, '-' and '_' (rename it, for example to "a"))]
              [a=disabled (invalid server name "a": names use only letters, digits, '-' and '_' (rename it, for example to "a"))]
        "#]],
    );
}

#[test]
fn escalation_fails_a_server_for_good_with_the_last_failure() {
    let crash = ServerFailure::Closed {
        server: "a".to_owned(),
        status: "exit status: 3".to_owned(),
        stderr_tail: String::new(),
    };
    check(
        vec![
            apply(1, servers("[a]\ncommand = \"/bin/sh\"\n"), &[]),
            Input::Await {
                waiter: 7,
                mode: Settled::FirstAttempt,
            },
            failed("a", crash),
            Input::Subtree {
                child: ChildId::new("mcp:1"),
                news: Subtree::ServerFailed("exit status: 3".to_owned()),
            },
            Input::Subtree {
                child: ChildId::new("mcp:1"),
                news: Subtree::Escalated { restarts: 3 },
            },
            // News about an unknown subtree is ignored.
            Input::Subtree {
                child: ChildId::new("source:1"),
                news: Subtree::ServerStopped,
            },
        ],
        expect![[r#"
            start a as mcp:1
            publish policy v1 applied
              [a=starting]
              [a=starting]
            publish a failed
            wake 7
              [a=restarting]
              [a=restarting]
            publish a gave up: gave up after 3 failures: exit status: 3
              [a=failed (gave up after 3 failures: exit status: 3)]
              [a=failed (gave up after 3 failures: exit status: 3)]
        "#]],
    );
}

#[test]
fn routes_follow_the_machine() {
    let mut machine = Machine::new();
    machine.step(apply(1, servers(TWO), &[]));
    machine.step(apply(2, disable(servers(TWO), "b"), &[]));
    let routes: BTreeMap<&str, &str> = machine
        .routes()
        .map(|(name, child)| (name, child.as_str()))
        .collect();
    assert_eq!(routes, BTreeMap::from([("a", "mcp:1")]));
    assert_eq!(machine.route("a").map(ChildId::as_str), Ok("mcp:1"));
    assert!(matches!(machine.route("b"), Err(Unavailable::Disabled(_))));
    assert_eq!(machine.route("c"), Err(Unavailable::NotConfigured));
}

#[test]
fn a_lazy_server_waits_for_its_first_call() {
    let config = "[a]\ncommand = \"/bin/sh\"\nstartup = \"lazy\"\n\
                  [b]\ncommand = \"/bin/sh\"\nstartup = \"lazy\"\n\
                  [c]\ncommand = \"/bin/sh\"\nstartup = \"lazy\"\nrequired = true\n";
    let pinned = |version| {
        Input::Apply(Apply {
            version,
            servers: servers(config),
            restart: Default::default(),
            // `b` has no pins: it starts with the session.
            pinned: ["a", "c"].iter().map(|s| (*s).to_owned()).collect(),
        })
    };
    check(
        vec![
            pinned(1),
            Input::Await {
                waiter: 1,
                mode: Settled::FirstAttempt,
            },
            ready("b", 1),
            ready("c", 1),
            Input::Wake {
                server: "a".to_owned(),
                waiter: 2,
            },
            // A second caller while it starts waits for the same start.
            Input::Wake {
                server: "a".to_owned(),
                waiter: 3,
            },
            ready("a", 1),
            // A new policy leaves the started server alone.
            pinned(2),
            // Waking a server that runs answers at once.
            Input::Wake {
                server: "a".to_owned(),
                waiter: 4,
            },
        ],
        expect![[r#"
            start b as mcp:1
            start c as mcp:2
            publish policy v1 applied
              [a=lazy b=starting c=starting]
              [a=lazy b=starting c=starting]
            publish b ready
              [a=lazy b=ready c=starting]
            publish c ready
            wake 1
              [a=lazy b=ready c=ready]
            start a as mcp:3
              [a=starting b=ready c=ready]
              [a=starting b=ready c=ready]
            publish a ready
            wake 2
            wake 3
              [a=ready b=ready c=ready]
            publish policy v2 applied
              [a=ready b=ready c=ready]
            wake 4
              [a=ready b=ready c=ready]
        "#]],
    );
}
