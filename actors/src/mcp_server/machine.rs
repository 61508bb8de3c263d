//! The MCP server actor's pure core: phases, tool filtering and failure
//! reasons. No actix, no async runtime, no IO; time arrives as an argument.
//!
//! One incarnation goes `Connecting → Ready → Closed`. Every way out of
//! `Connecting` or `Ready` is a failure with a reason the supervisor (and
//! `codex mcp tools`) can show; a requested stop comes from the supervisor
//! and never reaches the machine.
//!
//! The machine keeps every tool the server listed and judges them against
//! the policy in force ([`Judge`]): the tool filters of the user and the
//! admin, and the tool locks. A new policy snapshot is one more input, so a
//! live server re-judges its tools without reconnecting.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::ToolApprovals;
use crate::policy::{DisabledReason, StopReason, ToolLock, ToolRules, Withheld, WithheldTool};

/// A tool as the server listed it, reduced to what the session needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolInfo {
    /// The raw MCP tool name.
    pub name: String,
    /// Its description, if any.
    pub description: Option<String>,
    /// The JSON schema of its arguments.
    pub input_schema: serde_json::Value,
    /// The canonical definition a tool lock pins (name, title,
    /// description, schemas, annotations).
    pub definition: serde_json::Value,
}

impl ToolInfo {
    /// Whether the server annotates the tool `readOnlyHint: true`.
    pub fn read_only(&self) -> bool {
        self.definition
            .get("annotations")
            .and_then(|annotations| annotations.get("readOnlyHint"))
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false)
    }
}

/// Why an incarnation ended abnormally.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerFailure {
    /// The admission function refused the server when it was (re)started:
    /// it is disabled, not failed.
    #[error("not admitted: {0}")]
    NotAdmitted(DisabledReason),
    /// `initialize` plus the first `tools/list` did not finish in time.
    #[error(
        "MCP client for `{server}` timed out after {} seconds. Add or adjust `startup_timeout_sec` in your config.toml{}",
        after.as_secs_f64(),
        tail_suffix(stderr_tail)
    )]
    StartupTimeout {
        /// The server.
        server: String,
        /// The bound that was hit.
        after: Duration,
        /// The end of the server's stderr.
        stderr_tail: String,
    },
    /// Spawning, connecting or the handshake failed.
    #[error(
        "MCP client for `{server}` failed to start: {message}{}",
        tail_suffix(stderr_tail)
    )]
    Startup {
        /// The server.
        server: String,
        /// What failed.
        message: String,
        /// The end of the server's stderr.
        stderr_tail: String,
    },
    /// The HTTP server asks for a login the user has not done (or that no
    /// longer works).
    #[error("The `{server}` MCP server is not logged in. Run `codex mcp login {server}`.")]
    NotLoggedIn {
        /// The server.
        server: String,
    },
    /// The transport closed (the process exited, or the connection dropped).
    #[error("MCP server `{server}` exited: {status}{}", tail_suffix(stderr_tail))]
    Closed {
        /// The server.
        server: String,
        /// Exit status or close reason.
        status: String,
        /// The end of the server's stderr.
        stderr_tail: String,
    },
    /// A liveness ping went unanswered.
    #[error("MCP server `{server}` did not answer a ping within {} s", after.as_secs_f64())]
    Unresponsive {
        /// The server.
        server: String,
        /// The ping timeout.
        after: Duration,
    },
}

fn tail_suffix(tail: &str) -> String {
    let tail = tail.trim_end();
    if tail.is_empty() {
        String::new()
    } else {
        format!("\nstderr:\n{tail}")
    }
}

/// Where an incarnation is.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// Spawning, handshaking, listing tools.
    Connecting,
    /// Serving calls.
    Ready,
    /// Done: stopped or failed.
    Closed,
}

/// Everything that can happen to an incarnation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Input {
    /// Handshake and tool listing succeeded.
    Connected {
        /// Every tool the server listed (all pages).
        tools: Vec<ToolInfo>,
    },
    /// Handshake or tool listing failed.
    ConnectFailed(ServerFailure),
    /// The transport closed under a ready server.
    TransportClosed {
        /// Exit status or close reason.
        status: String,
        /// The end of the server's stderr.
        stderr_tail: String,
    },
    /// A ping was answered.
    PingAnswered,
    /// A ping went unanswered.
    PingFailed,
    /// Time to ping.
    PingDue,
    /// The server listed its tools again (after `tools/list_changed`).
    ToolsListed {
        /// Every tool it listed.
        tools: Vec<ToolInfo>,
    },
    /// A new policy is in force.
    Policy(Judge),
}

/// What the shell must do.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Effect {
    /// Tell the supervisor and the session the server is ready with these
    /// tools, after `elapsed`.
    Ready {
        /// The tools offered: every filter lets them through and every
        /// lock pins them.
        tools: Vec<ToolInfo>,
        /// The tools an admin rule forbids or a lock withholds.
        withheld: Vec<WithheldTool>,
        /// Time since the incarnation started.
        elapsed: Duration,
    },
    /// The server's tools changed while it is ready.
    ToolsChanged {
        /// The tools offered now.
        tools: Vec<ToolInfo>,
        /// The tools withheld now.
        withheld: Vec<WithheldTool>,
    },
    /// The tools were judged under a new policy version (after any
    /// `ToolsChanged` it caused).
    Judged {
        /// The policy version.
        version: u64,
    },
    /// Send a ping bounded by this timeout.
    Ping(Duration),
    /// Record the failure and stop the actor.
    Fail(ServerFailure),
}

/// Per-server settings the machine needs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MachineConfig {
    /// The server's name.
    pub(crate) server: String,
    /// How long a ping may take.
    pub(crate) ping_timeout: Duration,
}

/// The policy a server's tools are judged by: one policy snapshot's view
/// of this server.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Judge {
    /// The snapshot's version.
    pub(crate) version: u64,
    /// The user's and the admin's tool filters, or why the server may not
    /// run under this policy (then nothing is offered).
    pub(crate) rules: Result<ToolRules, StopReason>,
    /// The tool locks in force.
    pub(crate) locks: Arc<Vec<ToolLock>>,
    /// Which of the server's tools a model's call may run unasked.
    pub(crate) approvals: ToolApprovals,
}

/// What a policy says of one listed tool.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Verdict {
    /// Offered and callable.
    Offered,
    /// An admin rule forbids it or a lock withholds it.
    Withheld(Withheld),
    /// The user's own filter hides it.
    Hidden,
}

impl Judge {
    /// The verdict on one listed tool of `server`.
    pub(crate) fn tool(&self, server: &str, tool: &ToolInfo) -> Verdict {
        let rules = match &self.rules {
            Ok(rules) => rules,
            Err(_) => return Verdict::Hidden,
        };
        if let Some(refusal) = rules.refusal(&tool.name) {
            return if refusal.by_admin() {
                Verdict::Withheld(Withheld::Forbidden(refusal))
            } else {
                Verdict::Hidden
            };
        }
        match self
            .locks
            .iter()
            .find_map(|lock| lock.withholds(server, &tool.name, &tool.definition))
        {
            Some(why) => Verdict::Withheld(why),
            None => Verdict::Offered,
        }
    }
}

/// The state machine of one incarnation.
#[derive(Debug)]
pub(crate) struct Machine {
    config: MachineConfig,
    judge: Judge,
    phase: Phase,
    started_at: Instant,
    ping_in_flight: bool,
    /// Every tool the server listed last, as listed.
    listed: Vec<ToolInfo>,
    /// What is offered and withheld now.
    judged: (Vec<ToolInfo>, Vec<WithheldTool>),
}

impl Machine {
    /// A machine for an incarnation that started at `now`, judging tools
    /// by `judge` until a new policy arrives.
    pub(crate) fn new(config: MachineConfig, judge: Judge, now: Instant) -> Self {
        Machine {
            config,
            judge,
            phase: Phase::Connecting,
            started_at: now,
            ping_in_flight: false,
            listed: Vec::new(),
            judged: (Vec::new(), Vec::new()),
        }
    }

    /// The policy version the tools were last judged under.
    pub(crate) fn version(&self) -> u64 {
        self.judge.version
    }

    /// Every tool the server listed last.
    pub(crate) fn listed(&self) -> &[ToolInfo] {
        &self.listed
    }

    /// Why the policy in force refuses the server, if it does.
    pub(crate) fn refused(&self) -> Option<&StopReason> {
        self.judge.rules.as_ref().err()
    }

    /// The approval modes in force.
    pub(crate) fn approvals(&self) -> &ToolApprovals {
        &self.judge.approvals
    }

    /// Judges `tools` (a new listing) and keeps the result.
    fn judge_listing(&mut self, tools: Vec<ToolInfo>) -> (Vec<ToolInfo>, Vec<WithheldTool>) {
        self.listed = tools;
        self.judged = judge_tools(&self.config.server, &self.judge, &self.listed);
        self.judged.clone()
    }

    /// The current phase.
    #[cfg(test)]
    pub(crate) fn phase(&self) -> &Phase {
        &self.phase
    }

    /// Advances the machine.
    pub(crate) fn step(&mut self, input: Input, now: Instant) -> Vec<Effect> {
        match (&self.phase, input) {
            (Phase::Closed, _) => Vec::new(),
            (_, Input::Policy(judge)) => self.policy(judge),
            (Phase::Connecting, Input::Connected { tools }) => {
                self.phase = Phase::Ready;
                let (tools, withheld) = self.judge_listing(tools);
                vec![Effect::Ready {
                    tools,
                    withheld,
                    elapsed: now.saturating_duration_since(self.started_at),
                }]
            }
            (Phase::Ready, Input::ToolsListed { tools }) => {
                let (tools, withheld) = self.judge_listing(tools);
                vec![Effect::ToolsChanged { tools, withheld }]
            }
            (Phase::Connecting | Phase::Ready, Input::ConnectFailed(failure)) => {
                self.phase = Phase::Closed;
                vec![Effect::Fail(failure)]
            }
            (
                Phase::Connecting | Phase::Ready,
                Input::TransportClosed {
                    status,
                    stderr_tail,
                },
            ) => {
                self.phase = Phase::Closed;
                vec![Effect::Fail(ServerFailure::Closed {
                    server: self.config.server.clone(),
                    status,
                    stderr_tail,
                })]
            }
            (Phase::Ready, Input::PingDue) if !self.ping_in_flight => {
                self.ping_in_flight = true;
                vec![Effect::Ping(self.config.ping_timeout)]
            }
            (Phase::Ready, Input::PingFailed) => {
                self.phase = Phase::Closed;
                vec![Effect::Fail(ServerFailure::Unresponsive {
                    server: self.config.server.clone(),
                    after: self.config.ping_timeout,
                })]
            }
            (Phase::Ready, Input::PingAnswered) => {
                self.ping_in_flight = false;
                Vec::new()
            }
            // Late or out-of-order news changes nothing.
            (Phase::Ready, Input::PingDue | Input::Connected { .. })
            | (
                Phase::Connecting,
                Input::PingDue
                | Input::PingFailed
                | Input::PingAnswered
                | Input::ToolsListed { .. },
            ) => Vec::new(),
        }
    }

    /// A new policy: the tools listed last are judged again; what changed is
    /// reported while ready (a connecting incarnation reports its first
    /// judgement as `Ready`).
    fn policy(&mut self, judge: Judge) -> Vec<Effect> {
        if judge.version <= self.judge.version {
            return Vec::new();
        }
        self.judge = judge;
        let version = self.judge.version;
        if self.phase != Phase::Ready {
            return Vec::new();
        }
        let judged = judge_tools(&self.config.server, &self.judge, &self.listed);
        let mut effects = Vec::new();
        if judged != self.judged {
            self.judged = judged.clone();
            let (tools, withheld) = judged;
            effects.push(Effect::ToolsChanged { tools, withheld });
        }
        effects.push(Effect::Judged { version });
        effects
    }
}

/// Splits a server's tools into those offered and those withheld: a tool
/// any filter removes is out (silently for the user's own filter, as a
/// [`Withheld::Forbidden`] for an admin's), then a tool any lock does not
/// pin as listed is withheld. Under a policy that refuses the server,
/// nothing is offered.
pub(crate) fn judge_tools(
    server: &str,
    judge: &Judge,
    tools: &[ToolInfo],
) -> (Vec<ToolInfo>, Vec<WithheldTool>) {
    let mut offered = Vec::new();
    let mut withheld = Vec::new();
    for tool in tools {
        match judge.tool(server, tool) {
            Verdict::Offered => offered.push(tool.clone()),
            Verdict::Withheld(why) => withheld.push(WithheldTool {
                name: tool.name.clone(),
                why,
            }),
            Verdict::Hidden => {}
        }
    }
    (offered, withheld)
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Connecting => "connecting",
            Phase::Ready => "ready",
            Phase::Closed => "closed",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    fn tool(name: &str) -> ToolInfo {
        tool_described(name, "")
    }

    fn tool_described(name: &str, description: &str) -> ToolInfo {
        ToolInfo {
            name: name.to_owned(),
            description: Some(description.to_owned()),
            input_schema: serde_json::json!({"type": "object"}),
            definition: crate::policy::tool_definition(&serde_json::json!({
                "name": name, "description": description,
            })),
        }
    }

    fn rules() -> ToolRules {
        use crate::policy::{FilterOrigin, RequirementSource, ToolFilter};
        ToolRules::new([
            (
                FilterOrigin::User,
                ToolFilter {
                    enabled: None,
                    disabled: Some(vec!["rm".to_owned()]),
                },
            ),
            (
                FilterOrigin::Rule {
                    source: RequirementSource::EnvBase64,
                    rule: "mcp_server_allowlist.docs".to_owned(),
                },
                ToolFilter {
                    enabled: None,
                    disabled: Some(vec!["delete_repository".to_owned()]),
                },
            ),
        ])
    }

    fn config() -> MachineConfig {
        MachineConfig {
            server: "docs".to_owned(),
            ping_timeout: Duration::from_secs(5),
        }
    }

    fn judge(version: u64, rules: ToolRules) -> Judge {
        Judge {
            version,
            rules: Ok(rules),
            locks: Arc::new(Vec::new()),
            approvals: ToolApprovals::default(),
        }
    }

    /// Feeds inputs one second apart and renders the effects, one per line.
    #[track_caller]
    fn check(inputs: Vec<Input>, expect: Expect) {
        let start = Instant::now();
        let mut machine = Machine::new(config(), judge(1, rules()), start);
        let mut out = String::new();
        for (i, input) in inputs.into_iter().enumerate() {
            let label = format!("{input:?}");
            let label = label.split([' ', '(']).next().unwrap_or("").to_owned();
            let now = start + Duration::from_secs(i as u64 + 1);
            for effect in machine.step(input, now) {
                let text = match effect {
                    Effect::Ready {
                        tools,
                        withheld,
                        elapsed,
                    } => {
                        let names: Vec<_> = tools.iter().map(|t| t.name.as_str()).collect();
                        let held: Vec<_> = withheld.iter().map(|w| w.name.as_str()).collect();
                        format!("ready {names:?} withheld {held:?} after {elapsed:?}")
                    }
                    Effect::ToolsChanged { tools, withheld } => {
                        let names: Vec<_> = tools.iter().map(|t| t.name.as_str()).collect();
                        let held: Vec<_> = withheld
                            .iter()
                            .map(|w| format!("{} ({})", w.name, w.why.state()))
                            .collect();
                        format!("tools {names:?} withheld {held:?}")
                    }
                    other => format!("{other:?}"),
                };
                out.push_str(&format!("{label} -> {text}\n"));
            }
            out.push_str(&format!("  phase: {}\n", machine.phase()));
        }
        expect.assert_eq(&out);
    }

    #[test]
    fn connect_filter_ping_and_crash() {
        check(
            vec![
                Input::PingDue,
                Input::Connected {
                    tools: vec![
                        tool("echo"),
                        tool("rm"),
                        tool("add"),
                        tool("delete_repository"),
                    ],
                },
                Input::PingDue,
                Input::PingDue,
                Input::PingAnswered,
                Input::TransportClosed {
                    status: "exit status: 3".to_owned(),
                    stderr_tail: "boom".to_owned(),
                },
                Input::PingDue,
            ],
            expect![[r#"
                  phase: connecting
                Connected -> ready ["echo", "add"] withheld ["delete_repository"] after 2s
                  phase: ready
                PingDue -> Ping(5s)
                  phase: ready
                  phase: ready
                  phase: ready
                TransportClosed -> Fail(Closed { server: "docs", status: "exit status: 3", stderr_tail: "boom" })
                  phase: closed
                  phase: closed
            "#]],
        );
    }

    #[test]
    fn unanswered_ping_fails() {
        check(
            vec![
                Input::Connected { tools: Vec::new() },
                Input::PingDue,
                Input::PingFailed,
            ],
            expect![[r#"
                Connected -> ready [] withheld [] after 1s
                  phase: ready
                PingDue -> Ping(5s)
                  phase: ready
                PingFailed -> Fail(Unresponsive { server: "docs", after: 5s })
                  phase: closed
            "#]],
        );
    }

    #[test]
    fn failure_messages_quote_stderr() {
        let failure = ServerFailure::StartupTimeout {
            server: "docs".to_owned(),
            after: Duration::from_millis(1500),
            stderr_tail: "loading...\n".to_owned(),
        };
        assert_eq!(
            failure.to_string(),
            "MCP client for `docs` timed out after 1.5 seconds. Add or adjust \
             `startup_timeout_sec` in your config.toml\nstderr:\nloading..."
        );
    }

    #[test]
    fn locks_withhold_changed_and_new_tools_and_reapply_on_change() {
        use crate::policy::{LockOrigin, LockedTool, ToolLock, render_lock};
        use std::collections::BTreeMap;
        let pinned = BTreeMap::from([(
            "docs".to_owned(),
            BTreeMap::from([
                (
                    "echo".to_owned(),
                    LockedTool::pin(&tool_described("echo", "Echoes").definition),
                ),
                (
                    "add".to_owned(),
                    LockedTool::pin(&tool_described("add", "Adds").definition),
                ),
            ]),
        )]);
        let lock = ToolLock::parse(
            LockOrigin::User {
                path: "/lock".into(),
                allow_new: false,
            },
            &render_lock(&pinned),
        )
        .expect("lock");
        let locked = Judge {
            locks: Arc::new(vec![lock]),
            ..judge(1, rules())
        };
        let start = Instant::now();
        let mut machine = Machine::new(config(), locked, start);
        let listed = |echo: &str| {
            vec![
                tool_described("echo", echo),
                tool_described("add", "Adds"),
                tool_described("extra", "New"),
            ]
        };
        let effects = machine.step(
            Input::Connected {
                tools: listed("Echoes"),
            },
            start,
        );
        let Effect::Ready {
            tools, withheld, ..
        } = &effects[0]
        else {
            panic!("{effects:?}");
        };
        assert_eq!(
            tools.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            ["echo", "add"]
        );
        assert_eq!(withheld.len(), 1);
        assert_eq!(withheld[0].why.state(), "unpinned");
        // The server changes `echo` and says so: the lock applies again.
        let effects = machine.step(
            Input::ToolsListed {
                tools: listed("Echoes, and reads ~/.ssh"),
            },
            start,
        );
        let Effect::ToolsChanged { tools, withheld } = &effects[0] else {
            panic!("{effects:?}");
        };
        assert_eq!(
            tools.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            ["add"]
        );
        let states: Vec<(&str, &str)> = withheld
            .iter()
            .map(|w| (w.name.as_str(), w.why.state()))
            .collect();
        assert_eq!(states, [("echo", "changed"), ("extra", "unpinned")]);
    }

    #[test]
    fn a_new_policy_rejudges_without_reconnecting() {
        use crate::policy::{FilterOrigin, RequirementSource, ToolFilter};
        let admin_disables = |tool: &str| {
            ToolRules::new([(
                FilterOrigin::Rule {
                    source: RequirementSource::EnvBase64,
                    rule: "mcp_server_allowlist.docs".to_owned(),
                },
                ToolFilter {
                    enabled: None,
                    disabled: Some(vec![tool.to_owned()]),
                },
            )])
        };
        check(
            vec![
                Input::Connected {
                    tools: vec![tool("echo"), tool("add")],
                },
                Input::Policy(judge(2, admin_disables("echo"))),
                Input::Policy(judge(3, admin_disables("echo"))),
                // A snapshot older than the one in force is ignored.
                Input::Policy(judge(2, ToolRules::default())),
                Input::Policy(Judge {
                    rules: Err(StopReason::Removed),
                    ..judge(4, ToolRules::default())
                }),
                Input::Policy(judge(5, ToolRules::default())),
            ],
            expect![[r#"
                Connected -> ready ["echo", "add"] withheld [] after 1s
                  phase: ready
                Policy -> tools ["add"] withheld ["echo (forbidden)"]
                Policy -> Judged { version: 2 }
                  phase: ready
                Policy -> Judged { version: 3 }
                  phase: ready
                  phase: ready
                Policy -> tools [] withheld []
                Policy -> Judged { version: 4 }
                  phase: ready
                Policy -> tools ["echo", "add"] withheld []
                Policy -> Judged { version: 5 }
                  phase: ready
            "#]],
        );
    }
}
