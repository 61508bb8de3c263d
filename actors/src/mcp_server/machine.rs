//! The MCP server actor's pure core: phases, tool filtering and failure
//! reasons. No actix, no async runtime, no IO; time arrives as an argument.
//!
//! One incarnation goes `Connecting → Ready → Closed`. Every way out of
//! `Connecting` or `Ready` is a failure with a reason the supervisor (and
//! `codex mcp tools`) can show; a requested stop comes from the supervisor
//! and never reaches the machine.

use std::fmt;
use std::time::{Duration, Instant};

/// A tool as the server listed it, reduced to what the session needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolInfo {
    /// The raw MCP tool name.
    pub name: String,
    /// Its description, if any.
    pub description: Option<String>,
    /// The JSON schema of its arguments.
    pub input_schema: serde_json::Value,
}

/// Why an incarnation ended abnormally.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerFailure {
    /// The admission function refused the server when it was (re)started.
    #[error("not admitted: {reason}")]
    NotAdmitted {
        /// The reason, as `codex mcp list` shows it.
        reason: String,
    },
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
pub enum Input {
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
}

/// What the shell must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Tell the supervisor and the session the server is ready with these
    /// (filtered) tools, after `elapsed`.
    Ready {
        /// Tools after `enabled_tools` / `disabled_tools`.
        tools: Vec<ToolInfo>,
        /// Time since the incarnation started.
        elapsed: Duration,
    },
    /// Send a ping bounded by this timeout.
    Ping(Duration),
    /// Record the failure and stop the actor.
    Fail(ServerFailure),
}

/// Per-server settings the machine needs.
#[derive(Debug, Clone, PartialEq)]
pub struct MachineConfig {
    /// The server's name.
    pub server: String,
    /// `enabled_tools`.
    pub enabled_tools: Option<Vec<String>>,
    /// `disabled_tools`.
    pub disabled_tools: Option<Vec<String>>,
    /// How long a ping may take.
    pub ping_timeout: Duration,
}

/// The state machine of one incarnation.
#[derive(Debug)]
pub struct Machine {
    config: MachineConfig,
    phase: Phase,
    started_at: Instant,
    ping_in_flight: bool,
}

impl Machine {
    /// A machine for an incarnation that started at `now`.
    pub fn new(config: MachineConfig, now: Instant) -> Self {
        Machine {
            config,
            phase: Phase::Connecting,
            started_at: now,
            ping_in_flight: false,
        }
    }

    /// The current phase.
    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    /// Advances the machine.
    pub fn step(&mut self, input: Input, now: Instant) -> Vec<Effect> {
        match (&self.phase, input) {
            (Phase::Closed, _) => Vec::new(),
            (Phase::Connecting, Input::Connected { tools }) => {
                self.phase = Phase::Ready;
                vec![Effect::Ready {
                    tools: filter_tools(
                        tools,
                        self.config.enabled_tools.as_deref(),
                        self.config.disabled_tools.as_deref(),
                    ),
                    elapsed: now.saturating_duration_since(self.started_at),
                }]
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
            | (Phase::Connecting, Input::PingDue | Input::PingFailed | Input::PingAnswered) => {
                Vec::new()
            }
        }
    }
}

/// Applies `enabled_tools` (when set, only those) and then `disabled_tools`,
/// comparing raw MCP tool names.
pub fn filter_tools(
    tools: Vec<ToolInfo>,
    enabled: Option<&[String]>,
    disabled: Option<&[String]>,
) -> Vec<ToolInfo> {
    tools
        .into_iter()
        .filter(|tool| enabled.is_none_or(|list| list.contains(&tool.name)))
        .filter(|tool| !disabled.is_some_and(|list| list.contains(&tool.name)))
        .collect()
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
        ToolInfo {
            name: name.to_owned(),
            description: None,
            input_schema: serde_json::json!({"type": "object"}),
        }
    }

    fn config() -> MachineConfig {
        MachineConfig {
            server: "docs".to_owned(),
            enabled_tools: None,
            disabled_tools: Some(vec!["rm".to_owned()]),
            ping_timeout: Duration::from_secs(5),
        }
    }

    /// Feeds inputs one second apart and renders the effects, one per line.
    #[track_caller]
    fn check(inputs: Vec<Input>, expect: Expect) {
        let start = Instant::now();
        let mut machine = Machine::new(config(), start);
        let mut out = String::new();
        for (i, input) in inputs.into_iter().enumerate() {
            let label = format!("{input:?}");
            let label = label.split([' ', '(']).next().unwrap_or("").to_owned();
            let now = start + Duration::from_secs(i as u64 + 1);
            for effect in machine.step(input, now) {
                let text = match effect {
                    Effect::Ready { tools, elapsed } => {
                        let names: Vec<_> = tools.iter().map(|t| t.name.as_str()).collect();
                        format!("ready {names:?} after {elapsed:?}")
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
                    tools: vec![tool("echo"), tool("rm"), tool("add")],
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
                Connected -> ready ["echo", "add"] after 2s
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
                Connected -> ready [] after 1s
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
    fn tool_filters() {
        let tools = || vec![tool("a"), tool("b"), tool("c")];
        let names = |tools: Vec<ToolInfo>| tools.into_iter().map(|t| t.name).collect::<Vec<_>>();
        let list = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(names(filter_tools(tools(), None, None)), ["a", "b", "c"]);
        assert_eq!(
            names(filter_tools(tools(), Some(&list(&["a", "c"])), None)),
            ["a", "c"]
        );
        assert_eq!(
            names(filter_tools(tools(), None, Some(&list(&["b"])))),
            ["a", "c"]
        );
        assert_eq!(
            names(filter_tools(
                tools(),
                Some(&list(&["a", "b"])),
                Some(&list(&["a"]))
            )),
            ["b"]
        );
    }
}
